//! Accepting envelopes written by other devices: verify, check the author's chain,
//! store and apply — or hold them until what they follow arrives.
//!
//! Per (document, author) the envelopes form a chain: `seq` is contiguous and `prev`
//! names the previous envelope's hash. An envelope that continues the chain is applied
//! and stored with the new head in one transaction. One from further ahead waits in a
//! bounded pending set. One that repeats a known `seq` is either a duplicate (same
//! hash) or a fork (different content), which is refused and reported, never merged.
//!
//! Who may write is the membership log's call. A membership envelope's operation is
//! validated by the log at its causal position; a document envelope must be by a
//! member, or by a removed member at or below the cutoff its removal recorded. An
//! envelope by an author or under an epoch this device does not know yet is held (the
//! sender may know a newer membership) and retried whenever the membership changes (an
//! unknown author is still reported, as [`IngestError::UnknownAuthor`]); one
//! under a known epoch whose key this device lacks — it was written after this device
//! was removed — is refused with [`IngestError::NoKey`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use automerge::{AutoCommit, Change, ChangeHash};

use crate::api::{ApiError, ErrorKind, Event};
use crate::docs::DocError;
use crate::envelope::{Envelope, EnvelopeError, Kind, group_tag};
use crate::group::{GroupError, Op, OpKind, directory_doc, membership_doc};
use crate::ids::{DocId, GroupId, Hash, MemberId};

use super::engine::{State, Tx};

/// Most envelopes held while waiting for an earlier one of their chain.
const MAX_PENDING: usize = 4096;
/// Most envelopes held for an author or epoch this device does not know yet.
const MAX_UNKNOWN: usize = 1024;

/// Most changes held per document while they wait for changes they depend on. An
/// honest backlog is one member's burst that overtook another's (tens of changes);
/// 4,096 leaves room for a long offline catch-up delivered out of order while
/// keeping what a hostile member can park here in memory to a few MiB per document.
pub(super) const MAX_QUEUED_CHANGES: usize = 4096;
/// Most envelopes held, over all documents, while they wait for changes they depend on.
const MAX_WAITING_DEPS: usize = 4096;

/// Envelopes a member's device may have accepted at once from one author: a day of
/// lively chat from one person is a few hundred envelopes, and group commit packs a
/// typing burst into one, so 2,000 passes any honest burst and a catch-up of a long
/// absence, while a flood is cut off within seconds.
const RATE_BURST: f64 = 2000.0;
/// Envelopes per second an author's allowance refills by: ten times a fast typist's
/// commits, so steady honest traffic never meets the limit.
pub(super) const RATE_PER_SECOND: f64 = 200.0;
/// Envelope bytes accepted per author and hour: room for hours of text and a few
/// pasted documents (a message is at most 64 KiB), far from what fills a phone.
pub(super) const BYTES_PER_HOUR: u64 = 64 * 1024 * 1024;
/// New documents an author may create per hour: channels' segments, pads and boards
/// are made by people, a few a day; every document costs a record and a load.
pub(super) const DOCS_PER_HOUR: u32 = 100;
/// Authors whose allowances are tracked; the least recently added is forgotten first
/// (its allowance starts full again, which only a group of thousands could notice).
const MAX_TRACKED_AUTHORS: usize = 4096;
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The limits [`Quotas`] applies; constants in normal use, smaller in tests.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) burst: f64,
    pub(super) per_second: f64,
    pub(super) bytes_per_hour: u64,
    pub(super) docs_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            burst: RATE_BURST,
            per_second: RATE_PER_SECOND,
            bytes_per_hour: BYTES_PER_HOUR,
            docs_per_hour: DOCS_PER_HOUR,
        }
    }
}

/// One author's allowance: a token bucket for envelopes, and hourly windows for bytes
/// and new documents.
struct Allowance {
    tokens: f64,
    refilled: Instant,
    window: Instant,
    bytes: u64,
    docs: u32,
}

/// Per (group, author) limits on what this device accepts from other devices. In
/// memory only: a restart starts every allowance full. O(1) per envelope, and bounded
/// in the number of authors it tracks.
#[derive(Default)]
pub(crate) struct Quotas {
    pub(super) limits: Limits,
    /// Set while a welcome's history is taken in.
    pub(super) suspended: bool,
    allowances: HashMap<(GroupId, MemberId), Allowance>,
    order: VecDeque<(GroupId, MemberId)>,
}

impl Quotas {
    /// Charges one envelope of `bytes` (creating a document if `new_doc`) to `author`,
    /// or refuses it, charging nothing, if that passes one of its limits.
    fn charge(
        &mut self,
        group: GroupId,
        author: MemberId,
        bytes: usize,
        new_doc: bool,
        now: Instant,
    ) -> Result<(), IngestError> {
        let limits = self.limits;
        let key = (group, author);
        if !self.allowances.contains_key(&key) {
            if self.order.len() >= MAX_TRACKED_AUTHORS
                && let Some(oldest) = self.order.pop_front()
            {
                self.allowances.remove(&oldest);
            }
            self.order.push_back(key);
            let full = Allowance {
                tokens: limits.burst,
                refilled: now,
                window: now,
                bytes: 0,
                docs: 0,
            };
            self.allowances.insert(key, full);
        }
        let Some(a) = self.allowances.get_mut(&key) else {
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(a.refilled).as_secs_f64();
        a.tokens = (a.tokens + elapsed * limits.per_second).min(limits.burst);
        a.refilled = now;
        if now.saturating_duration_since(a.window) >= HOUR {
            a.window = now;
            a.bytes = 0;
            a.docs = 0;
        }
        let over = |what| Err(IngestError::OverQuota { author, what });
        if a.tokens < 1.0 {
            return over("envelopes per second");
        }
        if a.bytes + bytes as u64 > limits.bytes_per_hour {
            return over("bytes per hour");
        }
        if new_doc && a.docs >= limits.docs_per_hour {
            return over("new documents per hour");
        }
        a.tokens -= 1.0;
        a.bytes += bytes as u64;
        a.docs += u32::from(new_doc);
        Ok(())
    }
}

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

    /// Holds an envelope by an unknown author or under an unknown epoch. The oldest
    /// goes when the set is full: a flood of unknowns cannot grow it.
    fn hold_unknown(&mut self, group: GroupId, envelope: Envelope) {
        let hash = envelope.hash();
        if self.unknown.iter().any(|(_, e)| e.hash() == hash) {
            return;
        }
        if self.unknown.len() >= MAX_UNKNOWN {
            self.unknown.pop_front();
        }
        self.unknown.push_back((group, envelope));
    }

    fn take_unknown(&mut self, group: GroupId) -> Vec<Envelope> {
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
    fn hold_for_deps(
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

    fn unqueue(&mut self, key: &ChainKey) -> Option<Envelope> {
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
    fn arrived(&mut self, group: GroupId, doc: DocId, hashes: &[ChangeHash]) {
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

    fn take_ready(&mut self) -> Option<(GroupId, Envelope)> {
        self.ready.pop_front()
    }

    /// Changes of `doc` held while they wait for changes they depend on.
    #[cfg(test)]
    pub(crate) fn queued(&self, group: &GroupId, doc: &DocId) -> usize {
        self.queued.get(&(*group, *doc)).copied().unwrap_or(0)
    }

    /// Drops everything held for a group this device no longer has.
    pub(super) fn forget_group(&mut self, group: &GroupId) {
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

/// What happened to an incoming envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Applied and stored, with this many held envelopes that it unblocked.
    Applied(usize),
    /// Already had it.
    Duplicate,
    /// Held until what it depends on arrives: an earlier envelope of its chain, or the
    /// membership operations that introduce its author or epoch.
    Pending,
}

/// Why an envelope from another device was refused. Nothing of a refused envelope is
/// applied; forks are kept as evidence.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// It does not parse, its signature does not verify, it does not decrypt, or its
    /// contents are not what its header says (another member's actor id inside, say).
    #[error("refused envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// Its group tag names no group on this device.
    #[error("envelope for a group this device is not in")]
    UnknownGroup,
    /// Its author is not a member as far as this device knows. It is held (bounded) and
    /// retried when the membership changes, since the sender may know a newer one; to
    /// the network this is "ignore", not "reject".
    #[error(
        "{author} is not a member of the group as far as this device knows; held in case its admission arrives"
    )]
    UnknownAuthor {
        /// The author.
        author: MemberId,
    },
    /// Its author was removed from the group, and it is beyond what the author had
    /// written when the removal was made.
    #[error(
        "{author} was removed from the group; its envelope {seq} in document {doc} is \
         beyond its cutoff ({cutoff}) and refused"
    )]
    AboveCutoff {
        /// The removed author.
        author: MemberId,
        /// The document.
        doc: DocId,
        /// The envelope's seq.
        seq: u64,
        /// The last seq the removal allows.
        cutoff: u64,
    },
    /// Sealed under an epoch whose key this device does not hold: it was written after
    /// this device was removed from the group (or left it).
    #[error(
        "this device holds no key for epoch {epoch}: the envelope was sealed for the \
         group's members after this device was removed"
    )]
    NoKey {
        /// The epoch.
        epoch: Hash,
    },
    /// The author signed two different envelopes for one place in its chain.
    #[error(
        "fork: {author} wrote two different envelopes with seq {seq} in document {doc}; \
         kept the first, and the second as evidence"
    )]
    Fork {
        /// The author.
        author: MemberId,
        /// The document.
        doc: DocId,
        /// The seq used twice.
        seq: u64,
    },
    /// The membership operation inside is malformed or cannot belong to this log.
    #[error("refused membership operation: {0}")]
    Op(GroupError),
    /// The membership operation inside names another author than the signer.
    #[error("the membership operation inside is not by the envelope's signer")]
    OpAuthor,
    /// The changes inside change what another member wrote, beyond what the rules
    /// allow: a message's text, someone else's reaction or comment.
    #[error("refused changes: {0}")]
    Authorship(DocError),
    /// Too many changes of this document already wait for changes they depend on, and
    /// this author added to them; refused until what they wait for arrives (catch-up
    /// offers it again).
    #[error(
        "{queued} changes of document {doc} already wait for changes they depend on, \
         or {author} has too many waiting; refused until those arrive"
    )]
    QueueFull {
        /// The author.
        author: MemberId,
        /// The document.
        doc: DocId,
        /// Changes already held for the document.
        queued: usize,
    },
    /// Its author passed one of the limits this device keeps on what it accepts from
    /// one member; not stored (catch-up offers it again later).
    #[error("{author} sent more {what} than this device accepts; refused for now")]
    OverQuota {
        /// The author.
        author: MemberId,
        /// The limit passed: "envelopes per second", "bytes per hour" or "new
        /// documents per hour".
        what: &'static str,
    },
    /// The Automerge changes inside do not apply.
    #[error("the envelope's changes do not apply: {0}")]
    Changes(String),
    /// This device failed to read or record it.
    #[error("{0}")]
    Local(ApiError),
}

impl From<ApiError> for IngestError {
    fn from(e: ApiError) -> IngestError {
        IngestError::Local(e)
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::Local(e) => e,
            IngestError::NoKey { .. } => ApiError::new(ErrorKind::Forbidden, e.to_string()),
            other => ApiError::new(ErrorKind::Integrity, other.to_string()),
        }
    }
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

/// Whether the device can judge an envelope's author now.
enum Author {
    Allowed,
    Unknown,
}

impl State {
    /// Takes an envelope from another device.
    pub(crate) fn ingest(&mut self, tx: &mut Tx, bytes: &[u8]) -> Result<Ingested, IngestError> {
        let envelope = Envelope::decode(bytes)?;
        envelope.verify()?;
        let tag = envelope.header().group_tag;
        let group = self
            .groups
            .keys()
            .copied()
            .find(|g| group_tag(g) == tag)
            .ok_or(IngestError::UnknownGroup)?;
        let ops_before = self.log(&group)?.len();
        let outcome = self.ingest_verified(tx, group, envelope)?;
        // A membership change may introduce the author or epoch of held envelopes.
        let mut ops = self.log(&group)?.len();
        let mut rounds = 0;
        while ops != ops_before && rounds < 64 {
            rounds += 1;
            let before = ops;
            for held in self.pending.take_unknown(group) {
                if let Err(e) = self.ingest_verified(tx, group, held) {
                    tracing::debug!("a held envelope is refused now: {e}");
                }
            }
            ops = self.log(&group)?.len();
            if ops == before {
                break;
            }
        }
        Ok(outcome)
    }

    fn ingest_verified(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: Envelope,
    ) -> Result<Ingested, IngestError> {
        let outcome = self.ingest_chain(tx, group, envelope);
        // What waited for the changes applied just now. Each envelope leaves the ready
        // list when taken and re-enters only when another missing change arrives, so
        // this ends.
        while let Some((group, ready)) = self.pending.take_ready() {
            if let Err(e) = self.ingest_chain(tx, group, ready) {
                tracing::debug!("an envelope that waited for its dependencies is refused: {e}");
            }
        }
        outcome
    }

    /// Ingests an envelope and then what waited for it in its author's chain.
    fn ingest_chain(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: Envelope,
    ) -> Result<Ingested, IngestError> {
        if let Author::Unknown = self.judge_author(&group, &envelope)? {
            let author = envelope.header().author;
            self.pending.hold_unknown(group, envelope);
            return Err(IngestError::UnknownAuthor { author });
        }
        let h = envelope.header();
        let (doc, author, mut seq) = (h.doc, h.author, h.seq);
        let outcome = self.ingest_one(tx, group, envelope)?;
        if outcome != Ingested::Applied(0) {
            return Ok(outcome);
        }
        // Each applied envelope may unblock the next of its chain.
        let mut unblocked = 0;
        while let Some(next) = self.pending.take(group, doc, author, seq + 1) {
            match self.ingest_one(tx, group, next) {
                Ok(Ingested::Applied(0)) => {}
                Ok(_) => break,
                Err(e) => {
                    // This envelope stands; the next of its chain does not.
                    tracing::debug!("a held envelope is refused: {e}");
                    break;
                }
            }
            unblocked += 1;
            seq += 1;
        }
        Ok(Ingested::Applied(unblocked))
    }

    /// Decides whether the envelope's author may have written it, as far as this device
    /// knows the membership.
    fn judge_author(
        &mut self,
        group: &GroupId,
        envelope: &Envelope,
    ) -> Result<Author, IngestError> {
        let h = envelope.header();
        if h.kind == Kind::Membership {
            // The log validates the operation itself; it only needs to know the author.
            return Ok(if self.log(group)?.knows(&h.author) {
                Author::Allowed
            } else {
                Author::Unknown
            });
        }
        let state = &self.group(group)?.state;
        if state.is_member(&h.author) {
            return Ok(Author::Allowed);
        }
        if let Some(cutoffs) = state.cutoffs.get(&h.author) {
            let cutoff = cutoffs.get(&h.doc).copied().unwrap_or(0);
            if h.seq <= cutoff {
                return Ok(Author::Allowed);
            }
            return Err(IngestError::AboveCutoff {
                author: h.author,
                doc: h.doc,
                seq: h.seq,
                cutoff,
            });
        }
        Ok(Author::Unknown)
    }

    fn ingest_one(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: Envelope,
    ) -> Result<Ingested, IngestError> {
        let header = envelope.header().clone();
        let record = self.group(&group)?;
        let Some(key) = record.secrets.doc_key(&header.epoch, &header.doc) else {
            if record.state.epochs.contains(&header.epoch) {
                return Err(IngestError::NoKey {
                    epoch: header.epoch,
                });
            }
            // A rotation this device has not seen yet.
            self.pending.hold_unknown(group, envelope);
            return Ok(Ingested::Pending);
        };
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
        let fork = IngestError::Fork {
            author: header.author,
            doc: header.doc,
            seq: header.seq,
        };
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
            return Err(fork);
        }
        if header.seq > head_seq + 1 {
            self.pending.hold(group, envelope);
            return Ok(Ingested::Pending);
        }
        if header.prev != head_hash {
            keep_evidence(tx, group, &envelope);
            return Err(fork);
        }
        // Charged only here, for what would be stored: duplicates and held envelopes
        // cost nothing, and this device's own member is never limited. A welcome's
        // history is not charged either: the admitter accepted it under its own quotas
        // as it arrived, and a member's months of writing must reach a new member whole.
        if !self.quotas.suspended && header.author != self.me(&group)?.id() {
            self.quotas.charge(
                group,
                header.author,
                envelope.as_bytes().len(),
                !exists,
                Instant::now(),
            )?;
        }
        if header.kind == Kind::Membership {
            return self.ingest_op(tx, group, &envelope, &key, exists);
        }
        let changes = envelope.open_stored_changes(&key)?;
        if let Some(missing) = self.missing_dep(&group, &header.doc, exists, &changes)? {
            self.pending.hold_for_deps(group, envelope, missing)?;
            return Ok(Ingested::Pending);
        }
        let is_admin = self.group(&group)?.state.is_admin(&header.author);
        let (before, fresh) = self.apply_checked(&group, &header, exists, changes, is_admin)?;
        if let Some(fresh) = fresh {
            self.create_doc(tx, &group, header.doc)?;
            self.doc(&group, &header.doc)?.doc = fresh;
        }
        let loaded = self.doc(&group, &header.doc)?;
        loaded.chat_tail = None;
        loaded.record(&mut tx.batch, &group, &envelope);
        tx.touched.push((group, header.doc));
        self.pending
            .arrived(group, header.doc, &header.change_hashes);
        self.announce(tx, group, header.doc, &before)?;
        Ok(Ingested::Applied(0))
    }

    /// The first change `changes` depend on that the document lacks (besides each
    /// other), if any. O(dependencies): Automerge looks each up by hash.
    fn missing_dep(
        &mut self,
        group: &GroupId,
        doc: &DocId,
        exists: bool,
        changes: &[Change],
    ) -> Result<Option<ChangeHash>, ApiError> {
        let own: HashSet<ChangeHash> = changes.iter().map(Change::hash).collect();
        let deps: Vec<ChangeHash> = changes
            .iter()
            .flat_map(|c| c.deps().iter().copied())
            .filter(|d| !own.contains(d))
            .collect();
        if deps.is_empty() || !exists {
            return Ok(deps.first().copied());
        }
        Ok(self
            .doc(group, doc)?
            .doc
            .get_missing_deps(&deps)
            .first()
            .copied())
    }

    /// Applies an envelope's changes, whose dependencies are all present, and checks
    /// them against the authorship rules; returns the heads before them. A refused
    /// envelope leaves the document as it was.
    ///
    /// Checking after applying, on the document itself, costs what the changes
    /// changed: the diff cursor set at the old heads lets Automerge log patches while
    /// it applies, where a diff between arbitrary heads scans every operation, and a
    /// fork to try them on copies the whole document. Only a refused envelope pays
    /// O(document), to rebuild the document at the old heads (`fork_at` replays its
    /// history); reloading it from the store instead would lose what this request
    /// applied or edited but has not committed yet. A document this device does not
    /// have yet is built apart and returned, to be registered only if the changes pass.
    fn apply_checked(
        &mut self,
        group: &GroupId,
        header: &crate::envelope::Header,
        exists: bool,
        changes: Vec<Change>,
        is_admin: bool,
    ) -> Result<(Vec<ChangeHash>, Option<AutoCommit>), IngestError> {
        let actor = self.me(group)?.actor_id();
        let mut fresh = None;
        let doc = if exists {
            &mut self.doc(group, &header.doc)?.doc
        } else {
            fresh.insert(crate::docs::new_doc(actor.clone()))
        };
        let before = doc.get_heads();
        doc.update_diff_cursor();
        let verdict = doc
            .apply_changes(changes.iter().cloned())
            .map_err(|e| IngestError::Changes(e.to_string()))
            .and_then(|()| {
                crate::docs::authorship::check_received(
                    doc,
                    &before,
                    &changes,
                    header.author,
                    is_admin,
                )
                .map_err(IngestError::Authorship)
            });
        doc.reset_diff_cursor();
        let Err(refused) = verdict else {
            return Ok((before, fresh));
        };
        if exists {
            match doc.fork_at(&before) {
                Ok(restored) => *doc = restored.with_actor(actor),
                Err(e) => {
                    // Unreachable: `before` were this document's heads.
                    tracing::error!(
                        "could not restore {} after refusing changes: {e}",
                        header.doc
                    );
                    self.forget([(*group, header.doc)]);
                    return Err(ApiError::new(ErrorKind::Integrity, e.to_string()).into());
                }
            }
        }
        Err(refused)
    }

    /// Opens a membership envelope and gives its operation to the group's log; the
    /// envelope is stored whatever the log decides (a void operation is still part of
    /// the DAG every device must agree on).
    fn ingest_op(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        envelope: &Envelope,
        key: &crate::crypto::SecretKey,
        exists: bool,
    ) -> Result<Ingested, IngestError> {
        let h = envelope.header();
        if h.doc != membership_doc(&group) {
            return Err(IngestError::Op(GroupError::Malformed(
                "a membership operation outside the group's membership log".into(),
            )));
        }
        let op = Op::decode(&envelope.open(key)?).map_err(IngestError::Op)?;
        if op.author != h.author {
            return Err(IngestError::OpAuthor);
        }
        let log = self.log(&group)?;
        if matches!(op.kind, OpKind::Create { .. }) {
            if op.hash() != log.create_hash() {
                return Err(IngestError::Op(GroupError::DuplicateCreate));
            }
        } else {
            log.apply(op).map_err(IngestError::Op)?;
        }
        if !exists {
            self.create_doc(tx, &group, h.doc)?;
        }
        self.doc(&group, &h.doc)?
            .record(&mut tx.batch, &group, envelope);
        tx.touched.push((group, h.doc));
        self.membership_changed(tx, &group)?;
        Ok(Ingested::Applied(0))
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
