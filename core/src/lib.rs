//! Plenum's engine: a peer-to-peer, offline-first group workspace.
//!
//! Everything a front end does goes through [`Node::call`] with an [`api::Request`];
//! what changes arrives on [`Node::events`]. Every edit becomes Automerge changes,
//! sealed into a signed, encrypted [`envelope`] and committed durably to the encrypted
//! [`store`] before the call resolves.
//!
//! ```no_run
//! use plenum_core::api::{Request, Response};
//! use plenum_core::{Node, NodeConfig, Protection};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = NodeConfig::new("/tmp/plenum-demo");
//! let protection = Protection::KeyFile("/tmp/plenum-demo.key".into());
//! let node = Node::init(&config, "Ana", protection)?;
//! let Response::Group(group) = node.call(Request::GroupCreate { name: "Tenants union".into() }).await? else {
//!     unreachable!()
//! };
//! let send = Request::ChatSend {
//!     group: group.id.to_string(),
//!     channel: None,
//!     text: "Meeting Thursday 7pm".into(),
//!     reply_to: None,
//! };
//! node.call(send).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod crypto;
pub mod docs;
pub mod envelope;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod identity;
pub mod ids;
pub mod import;
pub mod invite;
#[cfg(feature = "net")]
pub mod net;
mod node;
pub mod store;
pub mod sync;
pub mod time;

#[cfg(test)]
mod fuzz_regressions_tests;
#[cfg(test)]
mod test_vectors;

pub use node::{IngestError, Ingested, Node, NodeConfig, NodeError};
pub use store::{Protection, Unlock, UnlockMethod};
