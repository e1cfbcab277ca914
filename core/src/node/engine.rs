//! The node's state machine: groups, loaded documents, and the edit pipeline
//! (Automerge changes → envelope → write batch). Synchronous; the [`Node`](super::Node)
//! serialises access behind one lock so edits apply in request order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use automerge::{AutoCommit, ReadDoc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::api::{ApiError, ErrorKind, Event};
use crate::crypto::SecretKey;
use crate::docs::{self, ChatMessage, Directory, DocError, Hlc, HlcClock};
use crate::envelope::{self, Envelope, Header, Kind, doc_key, group_tag};
use crate::group::{GroupSecrets, GroupState, MembershipLog, directory_doc};
use crate::identity::{MemberKeys, Profile};
use crate::ids::{DocId, GroupId, Hash, ItemId, MemberId};
use crate::store::{Slot, Store, StoreError, WriteBatch};

use super::ingest::{Pending, Quotas};
use super::join::PendingJoin;
use super::writer::NextCommit;

/// Changes since the last snapshot that trigger a new one: at least this many, and at
/// least as many as the snapshot already covers, so full saves happen O(log n) times
/// over a document's life and loading replays at most half its changes. (Changes, not
/// envelopes: group commit packs a burst of changes into one envelope.)
const SNAPSHOT_MIN_TAIL: u64 = 512;
/// Envelope hashes remembered per loaded document for duplicate detection.
const MAX_RECENT: usize = 65_536;

/// What the store keeps per group.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct GroupRecord {
    pub(super) state: GroupState,
    pub(super) secrets: GroupSecrets,
    pub(super) verified: BTreeSet<MemberId>,
    /// The secrets of invites this device made, by invite id, so it can show their
    /// links and QR codes again.
    pub(super) invite_secrets: BTreeMap<Hash, Zeroizing<[u8; 32]>>,
}

/// What group records hold beyond their schema-2 layout, stored after it: old
/// records end where the layout ends, so they read with every field here empty, and
/// no migration rewrites them. New fields are appended here, each defaulting.
#[derive(Default, Serialize, Deserialize)]
struct GroupRecordTail {
    /// `GroupState::relays`.
    relays: Vec<Vec<u8>>,
}

impl GroupRecord {
    /// The stored form: the schema-2 layout, then [`GroupRecordTail`].
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut bytes = encode(self);
        bytes.extend(encode(&GroupRecordTail {
            relays: self.state.relays.clone(),
        }));
        bytes
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<GroupRecord, ApiError> {
        let damaged = |e: postcard::Error| {
            ApiError::new(
                ErrorKind::Integrity,
                format!("stored group record is damaged ({e})"),
            )
        };
        let (mut record, rest): (GroupRecord, _) =
            postcard::take_from_bytes(bytes).map_err(damaged)?;
        if !rest.is_empty() {
            let tail: GroupRecordTail = postcard::from_bytes(rest).map_err(damaged)?;
            record.state.relays = tail.relays;
        }
        Ok(record)
    }

    pub(super) fn new(state: GroupState, secrets: GroupSecrets) -> GroupRecord {
        GroupRecord {
            state,
            secrets,
            verified: BTreeSet::new(),
            invite_secrets: BTreeMap::new(),
        }
    }
}

/// Settings of this device alone: never sent, never part of a group's documents.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(super) struct DeviceSettings {
    /// Groups whose new messages this device does not notify about.
    pub(super) muted: BTreeSet<GroupId>,
}

/// What the store keeps per document: a compacted Automerge save and, per author, the
/// last seq it covers; envelopes above those are replayed on load.
#[derive(Serialize, Deserialize)]
struct DocRecord {
    id: DocId,
    snapshot: Vec<u8>,
    covered: BTreeMap<MemberId, u64>,
}

/// An author's latest envelope in one document.
#[derive(Serialize, Deserialize)]
pub(super) struct AuthorRecord {
    pub(super) author: MemberId,
    pub(super) seq: u64,
    pub(super) head: Hash,
}

pub(super) struct LoadedDoc {
    pub(super) doc: AutoCommit,
    /// For chat segments: the last message in display order, once someone has sent
    /// here since loading (`Some(None)`: the segment is empty).
    pub(super) chat_tail: Option<Option<(Hlc, ItemId)>>,
    /// For chat segments: the messages as last read, and the heads they were read at.
    /// Reading a long segment walks all of it (a 100k-message channel took a second
    /// per `chat log`); any change moves the heads, so a stale read is never served.
    pub(super) chat_read: Option<(Vec<automerge::ChangeHash>, Arc<Vec<ChatMessage>>)>,
    authors: HashMap<MemberId, (u64, Hash)>,
    /// Hashes of envelopes recorded since loading, which may not be committed yet: a
    /// duplicate arriving before its first copy is on disk must not look like a fork.
    recent: HashMap<(MemberId, u64), Hash>,
    /// Changes in the document, and those of them not in the stored snapshot.
    changes: u64,
    tail: u64,
}

/// Raw change bytes sealed into one envelope at most (unless one change is larger):
/// an import's burst of thousands of changes becomes several envelopes, each well
/// under the envelope and gossip limits.
const MAX_BURST_BYTES: usize = 512 * 1024;

/// Splits a document's unsealed changes into bursts of at most
/// [`envelope::MAX_CHANGES`] changes and about [`MAX_BURST_BYTES`], in order.
pub(super) fn bursts(changes: &mut [automerge::Change]) -> Vec<&mut [automerge::Change]> {
    let mut ends = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for (i, change) in changes.iter().enumerate() {
        let len = change.raw_bytes().len();
        if count > 0 && (count == envelope::MAX_CHANGES || bytes + len > MAX_BURST_BYTES) {
            ends.push(i);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += len;
    }
    let mut out = Vec::new();
    let mut rest = changes;
    let mut at = 0;
    for end in ends {
        let (head, tail) = rest.split_at_mut(end - at);
        out.push(head);
        rest = tail;
        at = end;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The changes made since `before`. Usually one local change sits directly on top of
/// `before`; fetching it by hash is O(its size), where Automerge's `get_changes` walks
/// the whole history to build a clock, which made every edit O(document).
fn new_changes(doc: &mut AutoCommit, before: &[automerge::ChangeHash]) -> Vec<automerge::Change> {
    let after = doc.get_heads();
    if after == before {
        return Vec::new();
    }
    if let [fresh] = after
        .iter()
        .filter(|h| !before.contains(h))
        .collect::<Vec<_>>()
        .as_slice()
        && let Some(change) = doc.get_change_by_hash(fresh)
        && change.deps().iter().all(|d| before.contains(d))
        && after.iter().all(|h| h == *fresh || before.contains(h))
    {
        return vec![change];
    }
    doc.get_changes(before)
}

impl LoadedDoc {
    /// The hash of `author`'s envelope `seq`, if it was recorded since loading.
    pub(super) fn recent(&self, author: &MemberId, seq: u64) -> Option<Hash> {
        self.recent.get(&(*author, seq)).copied()
    }

    /// The latest (seq, envelope hash) of `author` in this document.
    pub(super) fn head(&self, author: &MemberId) -> Option<(u64, Hash)> {
        self.authors.get(author).copied()
    }

    /// Appends an envelope (already applied to `doc`) to its author's log: the envelope,
    /// the author's new head and, when the tail is long, a fresh snapshot all go into
    /// `tx`, so they commit atomically.
    pub(super) fn record(&mut self, batch: &mut WriteBatch, group: &GroupId, sealed: &Envelope) {
        let header = sealed.header();
        let (doc, author, seq) = (header.doc, header.author, header.seq);
        self.authors.insert(author, (seq, sealed.hash()));
        if self.recent.len() >= MAX_RECENT {
            // Long committed by now: the store answers for these.
            self.recent.clear();
        }
        self.recent.insert((author, seq), sealed.hash());
        // A membership envelope carries no Automerge change but still counts once.
        let changes = header.change_hashes.len().max(1) as u64;
        self.changes += changes;
        self.tail += changes;
        batch.put(
            Slot::Envelope(group, &doc, &author, seq),
            sealed.as_bytes().to_vec(),
        );
        let record = AuthorRecord {
            author,
            seq,
            head: sealed.hash(),
        };
        batch.put(Slot::Author(group, &doc, &author), encode(&record));
        if self.tail >= SNAPSHOT_MIN_TAIL.max(self.changes / 2) {
            let covered = self.authors.iter().map(|(a, (s, _))| (*a, *s)).collect();
            let snapshot = DocRecord {
                id: doc,
                snapshot: self.doc.save(),
                covered,
            };
            batch.put(Slot::Doc(group, &doc), encode(&snapshot));
            self.tail = 0;
        }
    }
}

impl LoadedDoc {
    /// Records a snapshot applied to `doc` (its missing changes were merged in): each
    /// covered author whose chain it advances gets its covered envelope as head, and
    /// the store a fresh save covering every author — this device will never hold the
    /// envelopes below the covered ones, so loading must not look for them.
    pub(super) fn adopt_snapshot(
        &mut self,
        batch: &mut WriteBatch,
        group: &GroupId,
        doc: &DocId,
        advanced: &[Envelope],
    ) {
        for envelope in advanced {
            let h = envelope.header();
            self.authors.insert(h.author, (h.seq, envelope.hash()));
            self.recent.insert((h.author, h.seq), envelope.hash());
            batch.put(
                Slot::Envelope(group, doc, &h.author, h.seq),
                envelope.as_bytes().to_vec(),
            );
            let record = AuthorRecord {
                author: h.author,
                seq: h.seq,
                head: envelope.hash(),
            };
            batch.put(Slot::Author(group, doc, &h.author), encode(&record));
        }
        self.changes = self.doc.stats().num_changes;
        self.tail = 0;
        let snapshot = DocRecord {
            id: *doc,
            snapshot: self.doc.save(),
            covered: self.authors.iter().map(|(a, (s, _))| (*a, *s)).collect(),
        };
        batch.put(Slot::Doc(group, doc), encode(&snapshot));
    }
}

/// One request's effects: its writes (committed atomically, together with the sealing
/// of its local changes), the documents it changed, and the events to emit.
#[derive(Default)]
pub(super) struct Tx {
    pub(super) batch: WriteBatch,
    pub(super) touched: Vec<(GroupId, DocId)>,
    pub(super) events: Vec<Event>,
    /// Envelopes this device sealed, to hand to the network once durable.
    pub(super) outgoing: Vec<Vec<u8>>,
    /// Where progress of long work (imports) goes at once, before the request ends.
    pub(super) progress: Option<tokio::sync::broadcast::Sender<Event>>,
}

pub(super) struct State {
    pub(super) store: Arc<Store>,
    pub(super) profile: Profile,
    pub(super) groups: BTreeMap<GroupId, GroupRecord>,
    docs: HashMap<(GroupId, DocId), LoadedDoc>,
    /// Directory views, dropped whenever a directory document changes: nearly every
    /// request resolves names through them.
    pub(super) directories: HashMap<GroupId, Directory>,
    pub(super) pending: Pending,
    /// Limits on what this device accepts from each other member.
    pub(super) quotas: Quotas,
    pub(super) clock: HlcClock,
    pub(super) next: NextCommit,
    /// Membership logs, loaded from their envelopes on first use.
    pub(super) logs: HashMap<GroupId, MembershipLog>,
    /// Joins this device started and has not been welcomed into yet.
    pub(super) joins: HashMap<GroupId, PendingJoin>,
    /// Nonces this device handed to joiners, newest last.
    pub(super) nonces: VecDeque<[u8; 32]>,
    /// Where the network listens (binary multiaddrs, at most three): what invite
    /// links carry so a joiner knows where to knock.
    pub(super) invite_addresses: Vec<Vec<u8>>,
    /// Envelopes refused for lack of an epoch key, per group.
    pub(super) no_key: super::ingest::NoKeyRefusals,
    /// This device's own settings, read from the store on first use.
    pub(super) settings: Option<DeviceSettings>,
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    postcard::to_allocvec(value).unwrap_or_default()
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    what: &str,
    bytes: &[u8],
) -> Result<T, ApiError> {
    postcard::from_bytes(bytes).map_err(|e| {
        ApiError::new(
            ErrorKind::Integrity,
            format!("stored {what} record is damaged ({e})"),
        )
    })
}

/// The ids of the documents of `group` on disk (not those made in memory and waiting
/// for the next commit).
pub(super) fn stored_doc_ids(store: &Store, group: &GroupId) -> Result<Vec<DocId>, ApiError> {
    let mut ids = Vec::new();
    for bytes in store.docs_of(group).map_err(storage_error)? {
        let doc: DocRecord = decode("document", &bytes)?;
        ids.push(doc.id);
    }
    Ok(ids)
}

pub(super) fn storage_error(e: StoreError) -> ApiError {
    ApiError::new(ErrorKind::Storage, e.to_string())
}

pub(super) fn doc_error(e: DocError) -> ApiError {
    let kind = match &e {
        DocError::Automerge(_) | DocError::Malformed(_) => ErrorKind::Integrity,
        DocError::NotAuthor | DocError::NotAuthorOrAdmin | DocError::EditsOthersContent { .. } => {
            ErrorKind::Forbidden
        }
        DocError::UnknownMessage(_)
        | DocError::UnknownCard(_)
        | DocError::UnknownColumn(_)
        | DocError::UnknownItem(_) => ErrorKind::NotFound,
        _ => ErrorKind::Invalid,
    };
    ApiError::new(kind, e.to_string())
}

pub(super) fn integrity(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorKind::Integrity,
        format!("stored data failed its integrity check: {e}"),
    )
}

/// A document as the store holds it: what survives a crash, never changes waiting for
/// the next commit.
pub(super) struct StoredDoc {
    pub(super) loaded: LoadedDoc,
    /// Per author, its latest envelope in the document: what a snapshot of it covers.
    pub(super) latest: HashMap<MemberId, Envelope>,
}

/// Reads a document from the store: its compacted save, then every envelope above
/// what the save covers. Needs only the store and the group's keys, so a snapshot
/// can be built from it without holding the node's state lock.
pub(super) fn load_stored(
    store: &Store,
    secrets: &GroupSecrets,
    group: &GroupId,
    doc: &DocId,
) -> Result<StoredDoc, ApiError> {
    let bytes = store
        .get(Slot::Doc(group, doc))
        .map_err(storage_error)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("no document {doc} in group {group}"),
            )
        })?;
    let stored: DocRecord = decode("document", &bytes)?;
    let actor = secrets.member.actor_id();
    let mut automerge = if stored.snapshot.is_empty() {
        docs::new_doc(actor)
    } else {
        docs::load_doc(&stored.snapshot, actor).map_err(doc_error)?
    };
    let mut authors = HashMap::new();
    let mut latest = HashMap::new();
    let mut changes = Vec::new();
    let mut tail = 0;
    for bytes in store.authors_of(group, doc).map_err(storage_error)? {
        let author: AuthorRecord = decode("author", &bytes)?;
        authors.insert(author.author, (author.seq, author.head));
        let covered = stored.covered.get(&author.author).copied().unwrap_or(0);
        let mut last = None;
        for (_, bytes) in store
            .envelopes(group, doc, &author.author, covered)
            .map_err(storage_error)?
        {
            let envelope = Envelope::decode(&bytes).map_err(integrity)?;
            if envelope.header().kind == Kind::Membership {
                // The membership log is validated into the group state, not Automerge.
                continue;
            }
            let epoch = envelope.header().epoch;
            let key = secrets.epoch_key(&epoch).ok_or_else(|| {
                integrity(format!("no key for epoch {epoch} of a stored envelope"))
            })?;
            // The store authenticates what it returns, and envelopes were verified
            // when they arrived, so the signature is not checked again here.
            let opened = envelope
                .open_stored_changes(&doc_key(&key, doc))
                .map_err(integrity)?;
            tail += opened.len() as u64;
            changes.extend(opened);
            last = Some(envelope);
        }
        // The last envelope replayed is what the document holds of this author, even
        // if a commit landed since its author record was read.
        let last = match last {
            Some(envelope) => Some(envelope),
            None => store
                .get(Slot::Envelope(group, doc, &author.author, author.seq))
                .map_err(storage_error)?
                .map(|bytes| Envelope::decode(&bytes).map_err(integrity))
                .transpose()?,
        };
        if let Some(envelope) = last {
            latest.insert(author.author, envelope);
        }
    }
    automerge.apply_changes(changes).map_err(integrity)?;
    let loaded = LoadedDoc {
        changes: automerge.stats().num_changes,
        doc: automerge,
        chat_tail: None,
        chat_read: None,
        authors,
        recent: HashMap::new(),
        tail,
    };
    Ok(StoredDoc { loaded, latest })
}

impl State {
    pub(super) fn open(store: Arc<Store>, profile: Profile) -> Result<State, ApiError> {
        let mut groups = BTreeMap::new();
        for bytes in store.groups().map_err(storage_error)? {
            let record = GroupRecord::decode(&bytes)?;
            groups.insert(record.state.id, record);
        }
        Ok(State {
            store,
            profile,
            groups,
            docs: HashMap::new(),
            directories: HashMap::new(),
            pending: Pending::default(),
            quotas: Quotas::default(),
            clock: HlcClock::default(),
            next: NextCommit::default(),
            logs: HashMap::new(),
            joins: HashMap::new(),
            nonces: VecDeque::new(),
            invite_addresses: Vec::new(),
            no_key: super::ingest::NoKeyRefusals::default(),
            settings: None,
        })
    }

    pub(super) fn group(&self, group: &GroupId) -> Result<&GroupRecord, ApiError> {
        self.groups.get(group).ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("no group {group} on this device"),
            )
        })
    }

    pub(super) fn me(&self, group: &GroupId) -> Result<MemberKeys, ApiError> {
        Ok(self.group(group)?.secrets.member.clone())
    }

    /// Drops cached documents whose last commit failed, so they reload from disk.
    pub(super) fn forget(&mut self, stale: impl IntoIterator<Item = (GroupId, DocId)>) {
        for (group, doc) in stale {
            self.docs.remove(&(group, doc));
            self.next.unsealed.remove(&(group, doc));
            self.directories.remove(&group);
            self.logs.remove(&group);
        }
    }

    /// Every envelope stored for the group, read back from the store: what a new
    /// member receives.
    pub(super) fn stored_envelopes(&self, group: &GroupId) -> Result<Vec<Vec<u8>>, ApiError> {
        let mut out = Vec::new();
        for bytes in self.store.docs_of(group).map_err(storage_error)? {
            let doc: DocRecord = decode("document", &bytes)?;
            for bytes in self
                .store
                .authors_of(group, &doc.id)
                .map_err(storage_error)?
            {
                let author: AuthorRecord = decode("author", &bytes)?;
                let envelopes = self
                    .store
                    .envelopes(group, &doc.id, &author.author, 0)
                    .map_err(storage_error)?;
                out.extend(envelopes.into_iter().map(|(_, e)| e));
            }
        }
        Ok(out)
    }

    /// The ids of every document of the group: on disk, or made in memory and waiting
    /// for the next commit.
    pub(super) fn doc_ids(&self, group: &GroupId) -> Result<BTreeSet<DocId>, ApiError> {
        let mut ids: BTreeSet<DocId> = self
            .docs
            .keys()
            .filter(|(g, _)| g == group)
            .map(|(_, d)| *d)
            .collect();
        for bytes in self.store.docs_of(group).map_err(storage_error)? {
            let doc: DocRecord = decode("document", &bytes)?;
            ids.insert(doc.id);
        }
        Ok(ids)
    }

    /// Drops the group's documents from memory, with their unsealed changes.
    pub(super) fn drop_docs_of(&mut self, group: &GroupId) {
        self.docs.retain(|(g, _), _| g != group);
        self.next.unsealed.retain(|(g, _), _| g != group);
        self.next.touched.retain(|(g, _)| g != group);
    }

    /// Drops every loaded document, so the next use reads it back from the store.
    #[cfg(test)]
    pub(super) fn forget_all(&mut self) {
        self.docs.clear();
        self.directories.clear();
    }

    /// Puts a new group (its record only; documents are added with [`State::create_doc`]).
    pub(super) fn insert_group(&mut self, tx: &mut Tx, record: GroupRecord) {
        let id = record.state.id;
        tx.batch.put(Slot::Group(&id), record.encode());
        self.groups.insert(id, record);
    }

    /// Registers a new, empty document.
    pub(super) fn create_doc(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        doc: DocId,
    ) -> Result<(), ApiError> {
        let actor = self.me(group)?.actor_id();
        let record = DocRecord {
            id: doc,
            snapshot: Vec::new(),
            covered: BTreeMap::new(),
        };
        tx.batch.put(Slot::Doc(group, &doc), encode(&record));
        let loaded = LoadedDoc {
            doc: docs::new_doc(actor),
            chat_tail: None,
            chat_read: None,
            authors: HashMap::new(),
            recent: HashMap::new(),
            changes: 0,
            tail: 0,
        };
        self.docs.insert((*group, doc), loaded);
        Ok(())
    }

    /// Whether a document exists on this device.
    pub(super) fn has_doc(&mut self, group: &GroupId, doc: &DocId) -> Result<bool, ApiError> {
        if self.docs.contains_key(&(*group, *doc)) {
            return Ok(true);
        }
        Ok(self
            .store
            .get(Slot::Doc(group, doc))
            .map_err(storage_error)?
            .is_some())
    }

    /// The document, loaded from the store on first use.
    pub(super) fn doc(&mut self, group: &GroupId, doc: &DocId) -> Result<&mut LoadedDoc, ApiError> {
        let key = (*group, *doc);
        if !self.docs.contains_key(&key) {
            let loaded = self.load(group, doc)?;
            self.docs.insert(key, loaded);
        }
        self.docs
            .get_mut(&key)
            .ok_or_else(|| integrity("document vanished from the cache"))
    }

    fn load(&self, group: &GroupId, doc: &DocId) -> Result<LoadedDoc, ApiError> {
        let secrets = &self.group(group)?.secrets;
        Ok(load_stored(&self.store, secrets, group, doc)?.loaded)
    }

    /// Runs a local edit on a document. Its Automerge changes wait in
    /// [`NextCommit`] and are sealed into the author's next envelope when the writer
    /// takes them. Changes made before `edit` fails are kept too: they are in the
    /// document.
    pub(super) fn edit<R>(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        doc_id: &DocId,
        edit: impl FnOnce(&mut AutoCommit) -> Result<R, DocError>,
    ) -> Result<R, ApiError> {
        let record = self.group(group)?;
        if !record.state.is_member(&record.secrets.member.id()) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "this device is no longer a member of the group; what it holds is read-only",
            ));
        }
        let current = record.state.current_epoch();
        if record.state.rekey_needed || !record.secrets.has_epoch(&current) {
            // Someone who holds the current key left, or this device lacks it (admitted
            // concurrently with its rotation, or wrapped a key that does not open):
            // nothing new is sealed under it; a fresh epoch reaches every member.
            self.rotate(tx, group, crate::time::Timestamp::now())?;
        }
        let loaded = self.doc(group, doc_id)?;
        let before = loaded.doc.get_heads();
        let result = edit(&mut loaded.doc);
        let changes = new_changes(&mut loaded.doc, &before);
        if !changes.is_empty() {
            self.next
                .unsealed
                .entry((*group, *doc_id))
                .or_default()
                .extend(changes);
            tx.touched.push((*group, *doc_id));
            if *doc_id == directory_doc(group) {
                self.directories.remove(group);
            }
        }
        result.map_err(doc_error)
    }

    /// Seals every document's unsealed local changes, one envelope per document, into
    /// the next commit. Called by the writer, under the state lock, just before it
    /// commits.
    pub(super) fn seal_unsealed(&mut self) {
        let unsealed = std::mem::take(&mut self.next.unsealed);
        let mut batch = WriteBatch::default();
        for ((group, doc_id), mut changes) in unsealed {
            let mut failed = None;
            for burst in bursts(&mut changes) {
                if let Err(e) = self.seal(&mut batch, &group, &doc_id, burst) {
                    failed = Some(e);
                    break;
                }
            }
            if let Some(e) = failed {
                // Unreachable in practice (the edit checked the group and loaded the
                // document); dropping the cache entry keeps memory and disk consistent.
                tracing::error!("could not seal changes to {doc_id}: {e}");
                self.forget([(group, doc_id)]);
            }
        }
        if !batch.is_empty() {
            self.next.batches.push(batch);
        }
    }

    fn seal(
        &mut self,
        batch: &mut WriteBatch,
        group: &GroupId,
        doc_id: &DocId,
        changes: &mut [automerge::Change],
    ) -> Result<(), ApiError> {
        let record = self.group(group)?;
        let me = record.secrets.member.clone();
        let epoch = record.state.current_epoch();
        let key = record.secrets.epoch_key(&epoch).ok_or_else(|| {
            integrity(format!(
                "this device lacks the key of the current epoch {epoch}"
            ))
        })?;
        let loaded = self.doc(group, doc_id)?;
        let (seq, prev) = loaded
            .head(&me.id())
            .map_or((1, Hash([0; 32])), |(s, h)| (s + 1, h));
        let header = Header {
            kind: Kind::Changes,
            group_tag: group_tag(group),
            doc: *doc_id,
            author: me.id(),
            seq,
            prev,
            epoch,
            change_hashes: changes.iter().map(automerge::Change::hash).collect(),
        };
        let plaintext = envelope::encode_changes(changes);
        let sealed = Envelope::seal(header, &doc_key(&key, doc_id), &plaintext, &me);
        loaded.record(batch, group, &sealed);
        self.next.outgoing.push(sealed.as_bytes().to_vec());
        Ok(())
    }

    /// Seals a group's create operation as the first envelope of its membership log.
    pub(super) fn seal_create_op(
        &mut self,
        tx: &mut Tx,
        group: &GroupId,
        plaintext: &[u8],
        key: &SecretKey,
    ) -> Result<(), ApiError> {
        let record = self.group(group)?;
        let me = record.secrets.member.clone();
        let epoch = record.state.current_epoch();
        let log = crate::group::membership_doc(group);
        let header = Header {
            kind: Kind::Membership,
            group_tag: group_tag(group),
            doc: log,
            author: me.id(),
            seq: 1,
            prev: Hash([0; 32]),
            epoch,
            change_hashes: Vec::new(),
        };
        let sealed = Envelope::seal(header, &doc_key(key, &log), plaintext, &me);
        let stored = DocRecord {
            id: log,
            snapshot: Vec::new(),
            covered: BTreeMap::new(),
        };
        tx.batch.put(Slot::Doc(group, &log), encode(&stored));
        tx.batch.put(
            Slot::Envelope(group, &log, &me.id(), 1),
            sealed.as_bytes().to_vec(),
        );
        let author = AuthorRecord {
            author: me.id(),
            seq: 1,
            head: sealed.hash(),
        };
        tx.batch
            .put(Slot::Author(group, &log, &me.id()), encode(&author));
        tx.outgoing.push(sealed.as_bytes().to_vec());
        Ok(())
    }
}
