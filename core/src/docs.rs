//! Typed documents on Automerge: the group directory, chat segments, pads and boards.
//!
//! Nothing outside this module touches raw Automerge maps. Mutations take the document
//! and plain arguments and make exactly one Automerge change per user action; reads
//! return serde view types. Everything is pure (no clock, no I/O): callers pass the
//! time and fresh ids.
//!
//! Documents arrive from other devices, so readers never trust their shape: an entry
//! of the wrong type is skipped, never a panic.
//!
//! One Automerge rule shapes every layout here: if two devices concurrently create an
//! object at the same map key, one object wins and the other's contents vanish. So a
//! document that several devices may start from empty (a chat segment) keeps its items
//! at root-level keys of their own, and containers inside an item are created in the
//! same change as the item, by its creator.

pub mod authorship;
pub mod board;
pub mod chat;
pub mod directory;
mod fields;
mod hlc;
pub mod pad;
mod position;

use automerge::{ActorId, AutoCommit, LoadOptions, TextEncoding};

pub use board::{Board, Card, CardEdit, ChecklistItem, Column, Comment};
pub use chat::ChatMessage;
pub use directory::{ChannelInfo, Directory, DocInfo, SegmentInfo};
pub use hlc::{Hlc, HlcClock, MAX_FUTURE};
pub use pad::Splice;

use crate::ids::{ItemId, MemberId};

/// Why a document operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocError {
    /// No message with this id in the channel.
    #[error("no message {0} in this channel")]
    UnknownMessage(ItemId),
    /// Only the author may do this.
    #[error("only the author can edit this message")]
    NotAuthor,
    /// Only the author or an admin may do this.
    #[error("only the author or an admin can delete this message")]
    NotAuthorOrAdmin,
    /// The message was deleted for everyone.
    #[error("this message was deleted; it cannot be edited or reacted to")]
    Deleted,
    /// Empty text where text is needed.
    #[error("{0} cannot be empty")]
    Empty(&'static str),
    /// Text over a size limit.
    #[error("{what} is {len} bytes long; the limit is {limit}")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A due date that is not a calendar date.
    #[error("`{0}` is not a date; use YYYY-MM-DD, e.g. 2026-12-01")]
    BadDate(String),
    /// No such column.
    #[error("no column {0} on this board")]
    UnknownColumn(ItemId),
    /// No such card.
    #[error("no card {0} on this board")]
    UnknownCard(ItemId),
    /// No such checklist item.
    #[error("no checklist item {0} on this card")]
    UnknownItem(ItemId),
    /// A splice outside the text.
    #[error("edit at {pos}..{end} is outside the text, which is {len} long")]
    OutOfRange {
        /// Start (UTF-16 code units).
        pos: usize,
        /// End (UTF-16 code units).
        end: usize,
        /// Text length (UTF-16 code units).
        len: usize,
    },
    /// The editor's heads are not in this document.
    #[error("the editor's version ({0}) is unknown here; reload the pad")]
    UnknownHeads(String),
    /// An item with this id exists already.
    #[error("{0} already exists")]
    Exists(String),
    /// Changes received from another member change what someone else wrote, beyond
    /// what the rules allow (see [`authorship`]).
    #[error("{by} may not {what}")]
    EditsOthersContent {
        /// The member whose changes they are (the envelope's signer).
        by: MemberId,
        /// What the changes tried to do, naming the item and its author.
        what: String,
    },
    /// Automerge failed: the document is damaged.
    #[error("document error: {0}")]
    Automerge(String),
    /// The document's structure is not what this kind of document has.
    #[error("malformed document: {0}")]
    Malformed(String),
}

impl From<automerge::AutomergeError> for DocError {
    fn from(e: automerge::AutomergeError) -> Self {
        DocError::Automerge(e.to_string())
    }
}

/// A new, empty document written as `actor`. Text positions are UTF-16 code units,
/// which is what the web editor speaks.
pub fn new_doc(actor: ActorId) -> AutoCommit {
    AutoCommit::new_with_encoding(TextEncoding::Utf16CodeUnit).with_actor(actor)
}

/// Loads a saved document to be written as `actor`.
pub fn load_doc(bytes: &[u8], actor: ActorId) -> Result<AutoCommit, DocError> {
    let options = LoadOptions::new().text_encoding(TextEncoding::Utf16CodeUnit);
    Ok(AutoCommit::load_with_options(bytes, options)?.with_actor(actor))
}

/// Checks non-empty text under a byte limit.
fn check_text(what: &'static str, text: &str, limit: usize) -> Result<(), DocError> {
    if text.trim().is_empty() {
        return Err(DocError::Empty(what));
    }
    if text.len() > limit {
        return Err(DocError::TooLong {
            what,
            len: text.len(),
            limit,
        });
    }
    Ok(())
}
