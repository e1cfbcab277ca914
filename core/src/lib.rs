//! Plenum's engine: a peer-to-peer, offline-first group workspace.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod crypto;
pub mod docs;
pub mod envelope;
pub mod group;
pub mod identity;
pub mod ids;
mod node;
pub mod store;
pub mod time;

pub use node::{Node, NodeConfig, NodeError};
pub use store::{Protection, Unlock, UnlockMethod};
