//! Accepting envelopes written by other devices: verify, check the author's chain,
//! store and apply — or hold them until what they follow arrives.
//!
//! Per (document, author) the envelopes form a chain: `seq` is contiguous and `prev`
//! names the previous envelope's hash. An envelope that continues the chain is applied
//! and stored with the new head in one transaction. One from further ahead waits in a
//! bounded pending set. One that repeats a known `seq` is either a duplicate (same
//! hash) or a fork (different content), which is refused and reported, never merged.

use std::collections::BTreeMap;

use crate::api::{ApiError, ErrorKind, Event};
use crate::envelope::{Envelope, Kind, doc_key, group_tag};
use automerge::ChangeHash;

use crate::group::{directory_doc, membership_doc};
use crate::ids::{DocId, GroupId, Hash, MemberId};

use super::engine::{State, Tx};

/// Most envelopes held while waiting for an earlier one of their chain.
const MAX_PENDING: usize = 4096;

/// Envelopes that arrived ahead of their predecessor.
#[derive(Default)]
pub(crate) struct Pending {
    waiting: BTreeMap<(GroupId, DocId, MemberId, u64), Envelope>,
}

impl Pending {
    fn hold(&mut self, group: GroupId, envelope: Envelope) {
        if self.waiting.len() >= MAX_PENDING {
            // Drop the one furthest ahead: it is the least likely to become applicable soon.
            if let Some(last) = self.waiting.keys().next_back().copied() {
                self.waiting.remove(&last);
            }
        }
        let h = envelope.header();
        self.waiting
            .insert((group, h.doc, h.author, h.seq), envelope);
    }

    fn take(&mut self, group: GroupId, doc: DocId, author: MemberId, seq: u64) -> Option<Envelope> {
        self.waiting.remove(&(group, doc, author, seq))
    }

    /// How many envelopes are waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// What happened to an incoming envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ingested {
    /// Applied and stored, with this many held envelopes that it unblocked.
    Applied(usize),
    /// Already had it.
    Duplicate,
    /// Ahead of its chain; held until the gap fills.
    Pending,
}

/// Keeps the second envelope of a forked chain (same author, document and seq as one
/// this device already has, different content): it is never merged, but the group is
/// told, because it means a restored backup, a copied data directory — or a forgery by
/// someone holding the member's key.
fn keep_evidence(tx: &mut Tx, group: GroupId, envelope: &Envelope) {
    let h = envelope.header();
    let slot = crate::store::Slot::Fork(&group, &h.doc, &h.author, h.seq);
    tx.batch.put(slot, envelope.as_bytes().to_vec());
}

fn refused(message: String) -> ApiError {
    ApiError::new(ErrorKind::Integrity, message)
}

impl State {
    /// Takes an envelope from another device.
    pub(crate) fn ingest(&mut self, tx: &mut Tx, bytes: &[u8]) -> Result<Ingested, ApiError> {
        let envelope = Envelope::decode(bytes).map_err(|e| refused(e.to_string()))?;
        envelope.verify().map_err(|e| refused(e.to_string()))?;
        let tag = envelope.header().group_tag;
        let group = self
            .groups
            .keys()
            .copied()
            .find(|g| group_tag(g) == tag)
            .ok_or_else(|| refused("envelope for a group this device is not in".into()))?;
        let author = envelope.header().author;
        if !self.group(&group)?.state.is_member(&author) {
            return Err(refused(format!(
                "envelope by {author}, who is not a member of the group"
            )));
        }
        if envelope.header().kind == Kind::Membership {
            return self.ingest_create_op(tx, group, &envelope);
        }
        let (doc, mut seq) = (envelope.header().doc, envelope.header().seq);
        let outcome = self.ingest_one(tx, group, envelope)?;
        if outcome != Ingested::Applied(0) {
            return Ok(outcome);
        }
        // Each applied envelope may unblock the next of its chain.
        let mut unblocked = 0;
        while let Some(next) = self.pending.take(group, doc, author, seq + 1) {
            if self.ingest_one(tx, group, next)? != Ingested::Applied(0) {
                break;
            }
            unblocked += 1;
            seq += 1;
        }
        Ok(Ingested::Applied(unblocked))
    }

    fn ingest_one(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: Envelope,
    ) -> Result<Ingested, ApiError> {
        let header = envelope.header().clone();
        let key = self
            .group(&group)?
            .secrets
            .epoch_key(&header.epoch)
            .ok_or_else(|| {
                refused(format!(
                    "envelope sealed under epoch {}, whose key this device does not hold",
                    header.epoch
                ))
            })?;
        // A document this device has not seen yet (a pad someone just made) is only
        // created once an envelope for it is accepted.
        let exists = self.has_doc(&group, &header.doc)?;
        let (head, recent) = if exists {
            let loaded = self.doc(&group, &header.doc)?;
            (
                loaded.head(&header.author),
                loaded.recent(&header.author, header.seq),
            )
        } else {
            (None, None)
        };
        let (head_seq, head_hash) = head.unwrap_or((0, Hash([0; 32])));
        if header.seq <= head_seq {
            let stored = match recent {
                Some(hash) => Some(hash),
                None => {
                    self.stored_envelope_hash(&group, &header.doc, &header.author, header.seq)?
                }
            };
            if stored == Some(envelope.hash()) {
                return Ok(Ingested::Duplicate);
            }
            keep_evidence(tx, group, &envelope);
            return Err(refused(format!(
                "fork: {} wrote two different envelopes with seq {} in document {}; kept the first",
                header.author, header.seq, header.doc
            )));
        }
        if header.seq > head_seq + 1 {
            self.pending.hold(group, envelope);
            return Ok(Ingested::Pending);
        }
        if header.prev != head_hash {
            keep_evidence(tx, group, &envelope);
            return Err(refused(format!(
                "fork: envelope {} of {} does not follow the one this device has",
                header.seq, header.author
            )));
        }
        let changes = envelope
            .open_stored_changes(&doc_key(&key, &header.doc))
            .map_err(|e| refused(e.to_string()))?;
        if !exists {
            self.create_doc(tx, &group, header.doc)?;
        }
        let loaded = self.doc(&group, &header.doc)?;
        let before = loaded.doc.get_heads();
        loaded
            .doc
            .apply_changes(changes)
            .map_err(|e| refused(format!("changes do not apply: {e}")))?;
        loaded.chat_tail = None;
        loaded.record(&mut tx.batch, &group, &envelope);
        tx.touched.push((group, header.doc));
        self.announce(tx, group, header.doc, &before)?;
        Ok(Ingested::Applied(0))
    }

    /// Until groups of many land, the one membership operation a device accepts is its
    /// group's create operation, which it already knows from its group state; anything
    /// else is refused rather than half-understood.
    fn ingest_create_op(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: &Envelope,
    ) -> Result<Ingested, ApiError> {
        let h = envelope.header().clone();
        if self.stored_envelope_hash(&group, &h.doc, &h.author, h.seq)? == Some(envelope.hash()) {
            return Ok(Ingested::Duplicate);
        }
        let state = &self.group(&group)?.state;
        let founding = state.epochs.first().copied();
        let key = self.group(&group)?.secrets.epoch_key(&h.epoch);
        let op = key
            .and_then(|key| envelope.open(&doc_key(&key, &h.doc)).ok())
            .and_then(|plaintext| crate::group::Op::decode(&plaintext).ok());
        match op {
            Some(op)
                if h.doc == membership_doc(&group) && h.seq == 1 && Some(op.hash()) == founding =>
            {
                if !self.has_doc(&group, &h.doc)? {
                    self.create_doc(tx, &group, h.doc)?;
                }
                self.doc(&group, &h.doc)?
                    .record(&mut tx.batch, &group, envelope);
                tx.touched.push((group, h.doc));
                Ok(Ingested::Applied(0))
            }
            _ => Err(refused(
                "membership operations from other devices are not accepted yet".into(),
            )),
        }
    }

    /// Tells front ends what a received change touched, as local edits do.
    fn announce(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        doc: DocId,
        before: &[ChangeHash],
    ) -> Result<(), ApiError> {
        if doc == directory_doc(&group) {
            self.directories.remove(&group);
            tx.events.push(Event::GroupChanged { group });
            return Ok(());
        }
        let segment_channel = crate::docs::chat::segment_channel(&self.doc(&group, &doc)?.doc);
        if let Some(channel) = segment_channel {
            let messages =
                crate::docs::chat::changed_messages(&mut self.doc(&group, &doc)?.doc, before);
            return self.announce_messages(tx, group, channel, doc, &messages);
        }
        if !self.has_doc(&group, &directory_doc(&group))? {
            // Nothing names this document yet; the directory, when it arrives, will.
            return Ok(());
        }
        let directory = self.directory(&group)?;
        if directory.pads.iter().any(|p| p.id == doc) {
            tx.events.push(Event::PadChanged { group, pad: doc });
        } else if directory.boards.iter().any(|b| b.id == doc) {
            tx.events.push(Event::BoardChanged { group, board: doc });
        }
        Ok(())
    }

    fn stored_envelope_hash(
        &self,
        group: &GroupId,
        doc: &DocId,
        author: &MemberId,
        seq: u64,
    ) -> Result<Option<Hash>, ApiError> {
        let slot = crate::store::Slot::Envelope(group, doc, author, seq);
        let bytes = self.store.get(slot).map_err(super::engine::storage_error)?;
        Ok(bytes
            .and_then(|b| Envelope::decode(&b).ok())
            .map(|e| e.hash()))
    }
}
