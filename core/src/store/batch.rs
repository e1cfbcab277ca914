//! A batch of writes, applied atomically by [`Store::commit`](super::Store::commit).

use super::Slot;
use crate::ids::{DocId, GroupId, MemberId};

/// Writes to apply together, in order. Several batches can be committed in one
/// transaction (group commit); a later write to the same slot wins.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub(super) ops: Vec<Op>,
}

/// One write of a batch.
#[derive(Clone, Debug)]
pub(super) enum Op {
    Put(OwnedSlot, Vec<u8>),
    Delete(OwnedSlot),
    DeleteGroup(GroupId),
}

/// A [`Slot`] that owns its ids, so a batch can outlive the ids it was built from.
#[derive(Clone, Debug)]
pub(super) enum OwnedSlot {
    Profile,
    AddressBook,
    Settings,
    Group(GroupId),
    Doc(GroupId, DocId),
    Author(GroupId, DocId, MemberId),
    Envelope(GroupId, DocId, MemberId, u64),
    Fork(GroupId, DocId, MemberId, u64),
}

impl OwnedSlot {
    fn from_slot(slot: Slot<'_>) -> OwnedSlot {
        match slot {
            Slot::Profile => OwnedSlot::Profile,
            Slot::AddressBook => OwnedSlot::AddressBook,
            Slot::Settings => OwnedSlot::Settings,
            Slot::Group(g) => OwnedSlot::Group(*g),
            Slot::Doc(g, d) => OwnedSlot::Doc(*g, *d),
            Slot::Author(g, d, a) => OwnedSlot::Author(*g, *d, *a),
            Slot::Envelope(g, d, a, seq) => OwnedSlot::Envelope(*g, *d, *a, seq),
            Slot::Fork(g, d, a, seq) => OwnedSlot::Fork(*g, *d, *a, seq),
        }
    }

    pub(super) fn as_slot(&self) -> Slot<'_> {
        match self {
            OwnedSlot::Profile => Slot::Profile,
            OwnedSlot::AddressBook => Slot::AddressBook,
            OwnedSlot::Settings => Slot::Settings,
            OwnedSlot::Group(g) => Slot::Group(g),
            OwnedSlot::Doc(g, d) => Slot::Doc(g, d),
            OwnedSlot::Author(g, d, a) => Slot::Author(g, d, a),
            OwnedSlot::Envelope(g, d, a, seq) => Slot::Envelope(g, d, a, *seq),
            OwnedSlot::Fork(g, d, a, seq) => Slot::Fork(g, d, a, *seq),
        }
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Stores `value` in `slot`, replacing what was there.
    pub fn put(&mut self, slot: Slot<'_>, value: Vec<u8>) -> &mut Self {
        self.ops.push(Op::Put(OwnedSlot::from_slot(slot), value));
        self
    }

    /// Empties `slot` (a no-op if it is empty). Deleting a group or document slot does
    /// not delete what lies under it; use [`WriteBatch::delete_group`] for that.
    pub fn delete(&mut self, slot: Slot<'_>) -> &mut Self {
        self.ops.push(Op::Delete(OwnedSlot::from_slot(slot)));
        self
    }

    /// Removes a group with all its documents, authors and envelopes.
    pub fn delete_group(&mut self, group: &GroupId) -> &mut Self {
        self.ops.push(Op::DeleteGroup(*group));
        self
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The number of writes in the batch.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}
