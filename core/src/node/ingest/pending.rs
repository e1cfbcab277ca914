//! Envelopes held until what they depend on arrives: an earlier envelope of their
//! chain, the membership operations that introduce their author or epoch, or the
//! Automerge changes their changes depend on. Every set is bounded.

use std::collections::{BTreeMap, HashMap, VecDeque};

use automerge::ChangeHash;

use super::IngestError;
use crate::envelope::Envelope;
use crate::ids::{DocId, GroupId, MemberId};

/// Most envelopes held while waiting for an earlier one of their chain.
const MAX_PENDING: usize = 4096;
/// Most envelopes held for an author or epoch this device does not know yet.
const MAX_UNKNOWN: usize = 1024;

/// Most changes held per document while they wait for changes they depend on. An
/// honest backlog is one member's burst that overtook another's (tens of changes);
/// 4,096 leaves room for a long offline catch-up delivered out of order while
/// keeping what a hostile member can park here in memory to a few MiB per document.
pub(in crate::node) const MAX_QUEUED_CHANGES: usize = 4096;
/// Most envelopes held, over all documents, while they wait for changes they depend on.
const MAX_WAITING_DEPS: usize = 4096;

/// Where an envelope sits in its author's chain.
type ChainKey = (GroupId, DocId, MemberId, u64);

/// Envelopes that arrived before what they depend on.
#[derive(Default)]
pub(crate) struct Pending {
    waiting: BTreeMap<ChainKey, Envelope>,
    unknown: VecDeque<(GroupId, Envelope)>,
    /// Envelopes whose changes depend on changes this device does not have yet, with
    /// the missing change they wait for and how many changes they carry. They are not
    /// given to Automerge, whose own queue would apply them later, inside the
    /// envelope that brings the missing change — and the authorship check would
    /// judge them as that envelope's author's.
    deps: HashMap<ChainKey, (Envelope, ChangeHash, usize)>,
    /// The envelopes waiting for each missing change.
    waiting_on: HashMap<(GroupId, DocId, ChangeHash), Vec<ChainKey>>,
    /// Changes held per document, and per author over all documents.
    queued: HashMap<(GroupId, DocId), usize>,
    queued_by: HashMap<(GroupId, MemberId), usize>,
    /// Envelopes whose missing change just arrived, to try again.
    ready: VecDeque<(GroupId, Envelope)>,
}

impl Pending {
    pub(super) fn hold(&mut self, group: GroupId, envelope: Envelope) {
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

    pub(super) fn take(
        &mut self,
        group: GroupId,
        doc: DocId,
        author: MemberId,
        seq: u64,
    ) -> Option<Envelope> {
        self.waiting.remove(&(group, doc, author, seq))
    }

    /// Holds an envelope by an unknown author or under an unknown epoch. The oldest
    /// goes when the set is full: a flood of unknowns cannot grow it.
    pub(super) fn hold_unknown(&mut self, group: GroupId, envelope: Envelope) {
        let hash = envelope.hash();
        if self.unknown.iter().any(|(_, e)| e.hash() == hash) {
            return;
        }
        if self.unknown.len() >= MAX_UNKNOWN {
            self.unknown.pop_front();
        }
        self.unknown.push_back((group, envelope));
    }

    pub(super) fn take_unknown(&mut self, group: GroupId) -> Vec<Envelope> {
        let (mine, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.unknown)
            .into_iter()
            .partition(|(g, _)| *g == group);
        self.unknown = rest;
        mine.into_iter().map(|(_, e)| e).collect()
    }

    /// Holds an envelope until `missing` arrives. Refused when the author already holds
    /// [`MAX_QUEUED_CHANGES`] here, over all documents, or when the document's queue
    /// would pass that many and the author added to it: one member flooding the queue
    /// with changes whose dependencies never come cannot grow it, nor keep out another
    /// member's envelope that merely overtook what it depends on. (Per document an
    /// author has at most one envelope here: its later ones wait for it in its chain.)
    pub(super) fn hold_for_deps(
        &mut self,
        group: GroupId,
        envelope: Envelope,
        missing: ChangeHash,
    ) -> Result<(), IngestError> {
        let h = envelope.header();
        let key = (group, h.doc, h.author, h.seq);
        if self.deps.contains_key(&key) {
            return Ok(());
        }
        let changes = h.change_hashes.len();
        let queued = self.queued.get(&(group, h.doc)).copied().unwrap_or(0);
        let mine = self.queued_by.get(&(group, h.author)).copied().unwrap_or(0);
        if mine + changes > MAX_QUEUED_CHANGES
            || (queued + changes > MAX_QUEUED_CHANGES && mine > 0)
            || self.deps.len() >= MAX_WAITING_DEPS
        {
            return Err(IngestError::QueueFull {
                author: h.author,
                doc: h.doc,
                queued,
            });
        }
        *self.queued.entry((group, h.doc)).or_default() += changes;
        *self.queued_by.entry((group, h.author)).or_default() += changes;
        self.waiting_on
            .entry((group, h.doc, missing))
            .or_default()
            .push(key);
        self.deps.insert(key, (envelope, missing, changes));
        Ok(())
    }

    pub(super) fn unqueue(&mut self, key: &ChainKey) -> Option<Envelope> {
        let (envelope, missing, changes) = self.deps.remove(key)?;
        let (group, doc, author, _) = *key;
        if let Some(n) = self.queued.get_mut(&(group, doc)) {
            *n = n.saturating_sub(changes);
            if *n == 0 {
                self.queued.remove(&(group, doc));
            }
        }
        if let Some(n) = self.queued_by.get_mut(&(group, author)) {
            *n = n.saturating_sub(changes);
            if *n == 0 {
                self.queued_by.remove(&(group, author));
            }
        }
        if let Some(keys) = self.waiting_on.get_mut(&(group, doc, missing)) {
            keys.retain(|k| k != key);
            if keys.is_empty() {
                self.waiting_on.remove(&(group, doc, missing));
            }
        }
        Some(envelope)
    }

    /// Changes `hashes` of `doc` were applied: what waited for them is ready.
    pub(super) fn arrived(&mut self, group: GroupId, doc: DocId, hashes: &[ChangeHash]) {
        for hash in hashes {
            let Some(keys) = self.waiting_on.remove(&(group, doc, *hash)) else {
                continue;
            };
            for key in keys {
                if let Some(envelope) = self.unqueue(&key) {
                    self.ready.push_back((group, envelope));
                }
            }
        }
    }

    pub(super) fn take_ready(&mut self) -> Option<(GroupId, Envelope)> {
        self.ready.pop_front()
    }

    /// Changes of `doc` held while they wait for changes they depend on.
    #[cfg(test)]
    pub(crate) fn queued(&self, group: &GroupId, doc: &DocId) -> usize {
        self.queued.get(&(*group, *doc)).copied().unwrap_or(0)
    }

    /// Drops everything held for a group this device no longer has.
    pub(in crate::node) fn forget_group(&mut self, group: &GroupId) {
        self.waiting.retain(|(g, ..), _| g != group);
        self.unknown.retain(|(g, _)| g != group);
        self.deps.retain(|(g, ..), _| g != group);
        self.waiting_on.retain(|(g, ..), _| g != group);
        self.queued.retain(|(g, _), _| g != group);
        self.queued_by.retain(|(g, ..), _| g != group);
        self.ready.retain(|(g, _)| g != group);
    }

    /// How many envelopes are waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting.len() + self.unknown.len() + self.deps.len() + self.ready.len()
    }
}
