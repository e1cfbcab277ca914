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

use std::collections::HashSet;
use std::time::Instant;

use automerge::{AutoCommit, Change, ChangeHash};

use crate::api::{ApiError, ErrorKind, Event};
use crate::docs::DocError;
use crate::envelope::{Envelope, EnvelopeError, Kind, group_tag};
use crate::group::{GroupError, Op, OpKind, directory_doc, membership_doc};
use crate::ids::{DocId, GroupId, Hash, MemberId};

use super::engine::{State, Tx};

mod pending;
mod quotas;
mod snapshot;

#[cfg(test)]
pub(super) use pending::MAX_QUEUED_CHANGES;
pub(crate) use pending::Pending;
#[cfg(test)]
pub(super) use quotas::Limits;
pub(crate) use quotas::Quotas;

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
    /// A snapshot envelope arrived as a live envelope.
    #[error("snapshots arrive through catch-up, not as live envelopes; refused")]
    Snapshot,
    /// A snapshot from catch-up or a welcome does not verify (catch-up asks for the
    /// envelopes instead).
    #[error("refused snapshot: {0}")]
    SnapshotRefused(crate::envelope::SnapshotError),
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

/// Most envelope hashes remembered per group to count [`IngestError::NoKey`] refusals
/// once each (catch-up offers the same envelopes again every round).
const NO_KEY_REMEMBERED: usize = 4096;

/// Per group, how many distinct envelopes were refused for lack of an epoch key. In
/// memory, since the node started; bounded: past [`NO_KEY_REMEMBERED`] hashes the set
/// starts over, so an envelope offered again after that may count twice.
#[derive(Default)]
pub(crate) struct NoKeyRefusals {
    groups: std::collections::HashMap<GroupId, (u64, HashSet<Hash>)>,
}

impl NoKeyRefusals {
    fn refused(&mut self, group: GroupId, envelope: Hash) {
        let (count, seen) = self.groups.entry(group).or_default();
        if seen.len() >= NO_KEY_REMEMBERED {
            seen.clear();
        }
        if seen.insert(envelope) {
            *count += 1;
        }
    }

    /// Distinct envelopes of `group` refused so far.
    pub(crate) fn count(&self, group: &GroupId) -> u64 {
        self.groups.get(group).map_or(0, |(count, _)| *count)
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
        if envelope.header().kind == Kind::Snapshot {
            envelope.verify()?;
            return Err(IngestError::Snapshot);
        }
        self.ingest_decoded(tx, envelope)
    }

    /// The group an envelope's tag names.
    fn group_by_tag(&self, tag: [u8; 16]) -> Result<GroupId, IngestError> {
        self.groups
            .keys()
            .copied()
            .find(|g| group_tag(g) == tag)
            .ok_or(IngestError::UnknownGroup)
    }

    /// Takes a decoded envelope that is not a snapshot.
    fn ingest_decoded(&mut self, tx: &mut Tx, envelope: Envelope) -> Result<Ingested, IngestError> {
        envelope.verify()?;
        let group = self.group_by_tag(envelope.header().group_tag)?;
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
            let member = record.state.is_member(&record.secrets.member.id());
            if record.state.epochs.contains(&header.epoch) && !member {
                self.no_key.refused(group, envelope.hash());
                return Err(IngestError::NoKey {
                    epoch: header.epoch,
                });
            }
            // A rotation this device has not seen yet, or (for a member) an epoch whose
            // key did not reach it: admitted concurrently with the rotation, or wrapped
            // a key that does not open. Held until the key arrives.
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
            if stored.is_none() && self.holds_changes(&group, &header)? {
                // Below a snapshot this device took: it never held the envelope, but
                // its changes are in the document, so it is the one the snapshot
                // covered (a forked twin would carry other changes).
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

    /// Whether the document holds every change an envelope's header lists.
    fn holds_changes(
        &mut self,
        group: &GroupId,
        header: &crate::envelope::Header,
    ) -> Result<bool, ApiError> {
        if header.kind == Kind::Membership || header.change_hashes.is_empty() {
            return Ok(false);
        }
        let doc = &mut self.doc(group, &header.doc)?.doc;
        Ok(doc.get_missing_deps(&header.change_hashes).is_empty())
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
