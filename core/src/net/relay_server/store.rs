//! The blind store of `plenum relay --store`: envelopes of the groups that registered,
//! kept so that devices never online together still converge. It holds no group key
//! and opens nothing: it checks what a relay can check — the envelope's shape and
//! size, its author's signature, that it belongs to the group it was pushed for — and
//! keeps each group within its quota and the store within its number of groups.
//!
//! Who may push to and fetch a group: whoever proves a *store key* the group
//! registered. Members derive the store key from the group's epoch key, so only they
//! hold it; the relay only ever sees its public half. The first member to register a
//! group tag names its key; a later key (after a key rotation) is accepted only when
//! endorsed by the newest one registered, and the store keeps the two newest, so a
//! removed member's old key stops working after two rotations, and can vouch for no
//! key of its own once the group's next key is registered.
//!
//! Tables (one redb database, `relay.redb` in the store directory):
//!
//! | table       | key                                        | value                       |
//! |-------------|--------------------------------------------|-----------------------------|
//! | `groups`    | tag (16)                                   | postcard `GroupEntry`       |
//! | `envelopes` | tag (16) ‖ doc (16) ‖ author (32) ‖ seq BE | stored-at ms (8 LE) ‖ bytes |
//! | `snapshots` | tag (16) ‖ doc (16)                        | postcard `SnapshotRow`      |
//!
//! A snapshot (pushed by a member, with what it covers) is served to an asker that
//! allows snapshots in place of the envelopes it covers when it is smaller than they
//! are; the envelopes stay, so an asker that cannot take it asks again for them. One
//! snapshot per document: a push covering more envelopes replaces it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::envelope::{Envelope, Kind, MAX_ENVELOPE_LEN};
use crate::ids::{DocId, MemberId};
use crate::sync::{AuthorHead, VersionVector, Want};

use super::super::wire::Cover;

const GROUPS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("groups");
const ENVELOPES: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("envelopes");
const SNAPSHOTS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("snapshots");

/// Covered authors per snapshot at most (as in the snapshot format).
const MAX_COVERS: usize = 1024;

/// Store keys kept per group: the newest and the one before.
const KEYS_PER_GROUP: usize = 2;

/// A group as the store names it: its envelope group tag.
pub(crate) type Tag = [u8; 16];

/// How much the store keeps.
#[derive(Clone, Copy, Debug)]
pub struct StoreLimits {
    /// Bytes of envelopes per group.
    pub group_bytes: u64,
    /// Groups at most.
    pub max_groups: usize,
    /// How long an envelope is kept after it arrived.
    pub expiry: Duration,
}

impl Default for StoreLimits {
    /// 256 MiB per group, 1,000 groups, 90 days.
    fn default() -> StoreLimits {
        StoreLimits {
            group_bytes: 256 << 20,
            max_groups: 1000,
            expiry: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct GroupEntry {
    /// Registered store keys, oldest first.
    keys: Vec<[u8; 32]>,
    /// Bytes of envelopes held.
    bytes: u64,
}

/// A document's snapshot, and which envelopes it stands in for.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SnapshotRow {
    /// When it arrived (ms since the epoch), for expiry.
    at_ms: u64,
    covers: Vec<Cover>,
    envelope: Vec<u8>,
}

impl SnapshotRow {
    /// Envelopes it covers, all authors together.
    fn covered(&self) -> u64 {
        self.covers.iter().map(|c| c.seq).sum()
    }

    fn covered_seq(&self, author: &MemberId) -> u64 {
        self.covers
            .iter()
            .find(|c| c.author == author.0)
            .map_or(0, |c| c.seq)
    }
}

/// What a snapshot push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SnapshotPushed {
    Stored,
    /// One covering as much is held already.
    Duplicate,
    /// Malformed, forged, for another group, or covering envelopes not held here.
    Invalid,
    /// The group's quota has no room for it.
    Full,
}

/// Why the store refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Refusal {
    #[error("this relay stores for as many groups as it may ({0})")]
    Full(usize),
    #[error(
        "this key is not registered for the group, and the newest registered key did not endorse it"
    )]
    UnknownKey,
    #[error("the relay's store failed: {0}")]
    Storage(String),
}

/// What a push did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// Envelopes stored now.
    pub(crate) stored: u32,
    /// Envelopes already held.
    pub(crate) duplicates: u32,
    /// Envelopes refused: malformed, forged, for another group, or snapshots.
    pub(crate) invalid: u32,
    /// The group's quota stopped the push.
    pub(crate) full: bool,
}

/// The blind store.
pub(crate) struct BlindStore {
    db: Database,
    limits: StoreLimits,
}

fn storage(e: impl std::fmt::Display) -> Refusal {
    Refusal::Storage(e.to_string())
}

fn envelope_key(tag: &Tag, doc: &DocId, author: &MemberId, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(72);
    key.extend_from_slice(tag);
    key.extend_from_slice(&doc.0);
    key.extend_from_slice(&author.0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The doc, author and seq of an envelope row key.
fn parse_key(key: &[u8]) -> Option<(DocId, MemberId, u64)> {
    let doc = DocId(key.get(16..32)?.try_into().ok()?);
    let author = MemberId(key.get(32..64)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(64..72)?.try_into().ok()?);
    Some((doc, author, seq))
}

/// The smallest key after every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xff);
    end.extend_from_slice(&[0xff; 72]);
    end
}

impl BlindStore {
    /// Opens (or creates) the store in `dir`.
    pub(crate) fn open(dir: &Path, limits: StoreLimits) -> Result<BlindStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the store directory {}: {e}", dir.display()))?;
        let path = dir.join("relay.redb");
        let db = Database::create(&path)
            .map_err(|e| format!("cannot open the relay store {}: {e}", path.display()))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(GROUPS).map_err(|e| e.to_string())?;
        txn.open_table(ENVELOPES).map_err(|e| e.to_string())?;
        txn.open_table(SNAPSHOTS).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        Ok(BlindStore { db, limits })
    }

    fn entry(&self, tag: &Tag) -> Result<Option<GroupEntry>, Refusal> {
        let txn = self.db.begin_read().map_err(storage)?;
        let groups = txn.open_table(GROUPS).map_err(storage)?;
        read_row(&groups, tag)
    }

    /// The store keys that may use the group `tag` now (none: an unknown group).
    pub(crate) fn keys(&self, tag: &Tag) -> Result<Vec<[u8; 32]>, Refusal> {
        Ok(self.entry(tag)?.map(|e| e.keys).unwrap_or_default())
    }

    /// Registers `key` for `tag`: a new group takes it as its first key; a known group
    /// takes it only with `endorsed_by`, its newest registered key, whose signature
    /// (checked by the caller) vouches for it. (The older of the two may be a removed
    /// member's, still good for access while members learn of the rotation, not for
    /// vouching.)
    pub(crate) fn register(
        &self,
        tag: &Tag,
        key: [u8; 32],
        endorsed_by: Option<[u8; 32]>,
    ) -> Result<(), Refusal> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut groups = txn.open_table(GROUPS).map_err(storage)?;
            let entry = match read_row::<GroupEntry>(&groups, tag)? {
                Some(entry) if entry.keys.contains(&key) => return Ok(()),
                Some(mut entry) => {
                    match endorsed_by {
                        Some(old) if entry.keys.last() == Some(&old) => {}
                        _ => return Err(Refusal::UnknownKey),
                    }
                    entry.keys.push(key);
                    let drop = entry.keys.len().saturating_sub(KEYS_PER_GROUP);
                    entry.keys.drain(..drop);
                    entry
                }
                None => {
                    if groups.len().map_err(storage)? as usize >= self.limits.max_groups {
                        return Err(Refusal::Full(self.limits.max_groups));
                    }
                    GroupEntry {
                        keys: vec![key],
                        bytes: 0,
                    }
                }
            };
            write_row(&mut groups, tag, &entry)?;
        }
        txn.commit().map_err(storage)
    }

    /// Stores `envelopes` of the group `tag`, in one transaction, until its quota.
    pub(crate) fn push(
        &self,
        tag: &Tag,
        envelopes: &[Vec<u8>],
        now_ms: u64,
    ) -> Result<Pushed, Refusal> {
        let mut pushed = Pushed::default();
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut groups = txn.open_table(GROUPS).map_err(storage)?;
            let mut entry: GroupEntry = read_row(&groups, tag)?.ok_or(Refusal::UnknownKey)?;
            let mut table = txn.open_table(ENVELOPES).map_err(storage)?;
            for bytes in envelopes {
                let Some(header) = check(tag, bytes) else {
                    pushed.invalid += 1;
                    continue;
                };
                let key = envelope_key(tag, &header.0, &header.1, header.2);
                if table.get(key.as_slice()).map_err(storage)?.is_some() {
                    pushed.duplicates += 1;
                    continue;
                }
                let size = bytes.len() as u64;
                if entry.bytes + size > self.limits.group_bytes {
                    pushed.full = true;
                    break;
                }
                let mut value = Vec::with_capacity(8 + bytes.len());
                value.extend_from_slice(&now_ms.to_le_bytes());
                value.extend_from_slice(bytes);
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(storage)?;
                entry.bytes += size;
                pushed.stored += 1;
            }
            write_row(&mut groups, tag, &entry)?;
        }
        txn.commit().map_err(storage)?;
        Ok(pushed)
    }

    /// Keeps `envelope`, a snapshot of one document of the group `tag` covering
    /// `covers`, if it checks out: a snapshot of this group, signed, within the size
    /// limit, and every covered envelope held here with that hash. It replaces the
    /// document's snapshot only by covering more.
    pub(crate) fn push_snapshot(
        &self,
        tag: &Tag,
        envelope: &[u8],
        covers: &[Cover],
        now_ms: u64,
    ) -> Result<SnapshotPushed, Refusal> {
        let Some(doc) = check_snapshot(tag, envelope, covers) else {
            return Ok(SnapshotPushed::Invalid);
        };
        let txn = self.db.begin_write().map_err(storage)?;
        let outcome = {
            let mut groups = txn.open_table(GROUPS).map_err(storage)?;
            let mut entry: GroupEntry = read_row(&groups, tag)?.ok_or(Refusal::UnknownKey)?;
            let envelopes = txn.open_table(ENVELOPES).map_err(storage)?;
            for cover in covers {
                let key = envelope_key(tag, &doc, &MemberId(cover.author), cover.seq);
                let held = envelopes.get(key.as_slice()).map_err(storage)?;
                let matches = held.is_some_and(|v| {
                    Envelope::decode(&v.value()[8..]).is_ok_and(|e| e.hash().0 == cover.head)
                });
                if !matches {
                    return Ok(SnapshotPushed::Invalid);
                }
            }
            let mut snapshots = txn.open_table(SNAPSHOTS).map_err(storage)?;
            let key = snapshot_key(tag, &doc);
            let old: Option<SnapshotRow> = read_row(&snapshots, &key)?;
            let row = SnapshotRow {
                at_ms: now_ms,
                covers: covers.to_vec(),
                envelope: envelope.to_vec(),
            };
            // The group's bytes with this snapshot in place of the old one.
            let freed = old.as_ref().map_or(0, |o| o.envelope.len() as u64);
            let bytes = entry.bytes.saturating_sub(freed) + envelope.len() as u64;
            if old.as_ref().is_some_and(|o| o.covered() >= row.covered()) {
                SnapshotPushed::Duplicate
            } else if bytes > self.limits.group_bytes {
                SnapshotPushed::Full
            } else {
                write_row(&mut snapshots, &key, &row)?;
                entry.bytes = bytes;
                write_row(&mut groups, tag, &entry)?;
                SnapshotPushed::Stored
            }
        };
        txn.commit().map_err(storage)?;
        Ok(outcome)
    }

    /// The group's version vector: per document and author, the longest run of seqs
    /// from 1 that the store holds, and the hash of its last envelope.
    pub(crate) fn vector(&self, tag: &Tag) -> Result<VersionVector, Refusal> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(ENVELOPES).map_err(storage)?;
        let mut runs: BTreeMap<(DocId, MemberId), (u64, Vec<u8>)> = BTreeMap::new();
        let mut broken: std::collections::BTreeSet<(DocId, MemberId)> = Default::default();
        let end = prefix_end(tag);
        for row in table
            .range(tag.as_slice()..end.as_slice())
            .map_err(storage)?
        {
            let (key, value) = row.map_err(storage)?;
            let Some((doc, author, seq)) = parse_key(key.value()) else {
                continue;
            };
            if broken.contains(&(doc, author)) {
                continue;
            }
            let last = runs.get(&(doc, author)).map_or(0, |(s, _)| *s);
            if seq == last + 1 {
                runs.insert((doc, author), (seq, value.value()[8..].to_vec()));
            } else {
                broken.insert((doc, author));
            }
        }
        let mut vector = VersionVector::default();
        for ((doc, author), (seq, bytes)) in runs {
            let head = Envelope::decode(&bytes)
                .map_err(|e| Refusal::Storage(format!("a stored envelope is damaged: {e}")))?
                .hash();
            vector.insert(doc, author, AuthorHead { seq, head });
        }
        Ok(vector)
    }

    /// The envelopes `wants` names, in order, up to `max_bytes` (at least one);
    /// whether every want was served in full. With `snapshots`, a document's snapshot
    /// stands in for all of its wants in this page when it covers some of what they
    /// name and is smaller than the envelopes it covers of that; the asker then wants
    /// only what is newer.
    pub(crate) fn fetch(
        &self,
        tag: &Tag,
        wants: &[Want],
        max_bytes: usize,
        snapshots: bool,
    ) -> Result<(Vec<Vec<u8>>, bool), Refusal> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(ENVELOPES).map_err(storage)?;
        let stored_snapshots = txn.open_table(SNAPSHOTS).map_err(storage)?;
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut snapshotted: Option<DocId> = None;
        for (i, want) in wants.iter().enumerate() {
            if snapshotted == Some(want.doc) {
                continue;
            }
            let first_of_doc = i == 0 || wants[i - 1].doc != want.doc;
            if snapshots && first_of_doc {
                let row: Option<SnapshotRow> = stored_snapshots
                    .get(snapshot_key(tag, &want.doc).as_slice())
                    .map_err(storage)?
                    .and_then(|v| postcard::from_bytes(v.value()).ok());
                if let Some(row) = row {
                    let of_doc: Vec<&Want> = wants[i..]
                        .iter()
                        .take_while(|w| w.doc == want.doc)
                        .collect();
                    let replaced = covered_bytes(&table, tag, &of_doc, &row)?;
                    if row.envelope.len() < replaced {
                        if !out.is_empty() && bytes + row.envelope.len() > max_bytes {
                            return Ok((out, false));
                        }
                        bytes += row.envelope.len();
                        out.push(row.envelope);
                        snapshotted = Some(want.doc);
                        continue;
                    }
                }
            }
            let from = envelope_key(tag, &want.doc, &want.author, want.after_seq + 1);
            let to = envelope_key(tag, &want.doc, &want.author, want.until_seq);
            for row in table
                .range(from.as_slice()..=to.as_slice())
                .map_err(storage)?
            {
                let (_, value) = row.map_err(storage)?;
                let envelope = &value.value()[8..];
                if !out.is_empty() && bytes + envelope.len() > max_bytes {
                    return Ok((out, false));
                }
                bytes += envelope.len();
                out.push(envelope.to_vec());
            }
        }
        Ok((out, true))
    }

    /// Bytes the group's envelopes and snapshots take.
    #[cfg(test)]
    pub(crate) fn usage(&self, tag: &Tag) -> Result<u64, Refusal> {
        Ok(self.entry(tag)?.map_or(0, |e| e.bytes))
    }

    /// Deletes envelopes older than the expiry; returns how many.
    pub(crate) fn expire(&self, now_ms: u64) -> Result<u64, Refusal> {
        let limit = u64::try_from(self.limits.expiry.as_millis()).unwrap_or(u64::MAX);
        let cutoff = now_ms.saturating_sub(limit);
        let txn = self.db.begin_write().map_err(storage)?;
        let mut removed = 0;
        {
            let mut table = txn.open_table(ENVELOPES).map_err(storage)?;
            let mut freed: BTreeMap<Tag, u64> = BTreeMap::new();
            table
                .retain(|key, value| {
                    let at = value
                        .get(..8)
                        .and_then(|b| b.try_into().ok())
                        .map_or(0, u64::from_le_bytes);
                    if at >= cutoff {
                        return true;
                    }
                    if let Some(tag) = key.get(..16).and_then(|t| Tag::try_from(t).ok()) {
                        *freed.entry(tag).or_default() += value.len() as u64 - 8;
                    }
                    removed += 1;
                    false
                })
                .map_err(storage)?;
            let mut snapshots = txn.open_table(SNAPSHOTS).map_err(storage)?;
            snapshots
                .retain(|key, value| {
                    let row: Option<SnapshotRow> = postcard::from_bytes(value).ok();
                    if row.as_ref().is_some_and(|r| r.at_ms >= cutoff) {
                        return true;
                    }
                    if let (Some(tag), Some(row)) =
                        (key.get(..16).and_then(|t| Tag::try_from(t).ok()), row)
                    {
                        *freed.entry(tag).or_default() += row.envelope.len() as u64;
                    }
                    false
                })
                .map_err(storage)?;
            let mut groups = txn.open_table(GROUPS).map_err(storage)?;
            for (tag, bytes) in freed {
                if let Some(mut entry) = read_row::<GroupEntry>(&groups, &tag)? {
                    entry.bytes = entry.bytes.saturating_sub(bytes);
                    write_row(&mut groups, &tag, &entry)?;
                }
            }
        }
        txn.commit().map_err(storage)?;
        Ok(removed)
    }
}

/// The postcard value of the row at `key`, if there is one.
fn read_row<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<T>, Refusal> {
    table
        .get(key)
        .map_err(storage)?
        .map(|v| postcard::from_bytes(v.value()).map_err(storage))
        .transpose()
}

/// Writes `value`, postcard-encoded, at `key`.
fn write_row<T: Serialize>(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    key: &[u8],
    value: &T,
) -> Result<(), Refusal> {
    let bytes = postcard::to_allocvec(value).map_err(storage)?;
    table.insert(key, bytes.as_slice()).map_err(storage)?;
    Ok(())
}

fn snapshot_key(tag: &Tag, doc: &DocId) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(tag);
    key.extend_from_slice(&doc.0);
    key
}

/// Bytes of the envelopes `wants` (all of one document) name that `snapshot` covers.
fn covered_bytes(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    tag: &Tag,
    wants: &[&Want],
    snapshot: &SnapshotRow,
) -> Result<usize, Refusal> {
    let mut bytes = 0;
    for want in wants {
        let until = want.until_seq.min(snapshot.covered_seq(&want.author));
        if until <= want.after_seq {
            continue;
        }
        let from = envelope_key(tag, &want.doc, &want.author, want.after_seq + 1);
        let to = envelope_key(tag, &want.doc, &want.author, until);
        for row in table
            .range(from.as_slice()..=to.as_slice())
            .map_err(storage)?
        {
            let (_, value) = row.map_err(storage)?;
            bytes += value.value().len() - 8;
        }
    }
    Ok(bytes)
}

/// The document of a snapshot fit to store for `tag` with `covers`: it decodes, is at
/// most [`MAX_ENVELOPE_LEN`], is a snapshot of the group, its signature holds, and
/// `covers` names each author once, in ascending order, at most [`MAX_COVERS`].
fn check_snapshot(tag: &Tag, bytes: &[u8], covers: &[Cover]) -> Option<DocId> {
    if bytes.len() > MAX_ENVELOPE_LEN || covers.is_empty() || covers.len() > MAX_COVERS {
        return None;
    }
    if !covers.windows(2).all(|w| w[0].author < w[1].author) || covers.iter().any(|c| c.seq == 0) {
        return None;
    }
    let envelope = Envelope::decode(bytes).ok()?;
    let header = envelope.header();
    if &header.group_tag != tag || header.kind != Kind::Snapshot {
        return None;
    }
    envelope.verify().ok()?;
    Some(header.doc)
}

/// The doc, author and seq of an envelope fit to store for `tag`: it decodes, is at
/// most [`MAX_ENVELOPE_LEN`], is an author's (not a snapshot), belongs to the group,
/// and its signature holds.
fn check(tag: &Tag, bytes: &[u8]) -> Option<(DocId, MemberId, u64)> {
    if bytes.len() > MAX_ENVELOPE_LEN {
        return None;
    }
    let envelope = Envelope::decode(bytes).ok()?;
    let header = envelope.header();
    if &header.group_tag != tag || header.kind == Kind::Snapshot || header.seq == 0 {
        return None;
    }
    envelope.verify().ok()?;
    Some((header.doc, header.author, header.seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::envelope::Header;
    use crate::identity::MemberKeys;
    use crate::ids::Hash;

    const TAG: Tag = [7; 16];

    fn store(limits: StoreLimits) -> (tempfile::TempDir, BlindStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlindStore::open(dir.path(), limits).unwrap();
        (dir, store)
    }

    fn envelope(author: &MemberKeys, tag: Tag, seq: u64, text: &str) -> Vec<u8> {
        let header = Header {
            kind: Kind::Changes,
            group_tag: tag,
            doc: DocId([1; 16]),
            author: author.id(),
            seq,
            prev: Hash([0; 32]),
            epoch: Hash([2; 32]),
            change_hashes: Vec::new(),
        };
        Envelope::seal(
            header,
            &SecretKey::from_bytes([3; 32]),
            text.as_bytes(),
            author,
        )
        .as_bytes()
        .to_vec()
    }

    #[test]
    fn a_group_takes_its_first_key_and_later_ones_only_endorsed_keeping_two() {
        let (_dir, store) = store(StoreLimits::default());
        store.register(&TAG, [1; 32], None).unwrap();
        assert_eq!(store.keys(&TAG).unwrap(), vec![[1; 32]]);
        assert_eq!(
            store.register(&TAG, [2; 32], None),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            store.register(&TAG, [2; 32], Some([9; 32])),
            Err(Refusal::UnknownKey),
            "endorsed by a key the group never had"
        );
        store.register(&TAG, [2; 32], Some([1; 32])).unwrap();
        assert_eq!(
            store.register(&TAG, [3; 32], Some([1; 32])),
            Err(Refusal::UnknownKey),
            "endorsed by the older of the two keys, which one removed may hold"
        );
        store.register(&TAG, [3; 32], Some([2; 32])).unwrap();
        // Two rotations later the first key is gone.
        assert_eq!(store.keys(&TAG).unwrap(), vec![[2; 32], [3; 32]]);
        assert!(store.keys(&[8; 16]).unwrap().is_empty());
    }

    #[test]
    fn pushes_keep_valid_envelopes_of_the_group_within_its_quota() {
        let (_dir, store) = store(StoreLimits {
            group_bytes: 2_000,
            ..StoreLimits::default()
        });
        let ana = MemberKeys::generate();
        assert_eq!(
            store.push(&TAG, &[envelope(&ana, TAG, 1, "x")], 0),
            Err(Refusal::UnknownKey),
            "an unregistered group"
        );
        store.register(&TAG, [1; 32], None).unwrap();
        let mut forged = envelope(&ana, TAG, 2, "x");
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let pushed = store
            .push(
                &TAG,
                &[
                    envelope(&ana, TAG, 1, "first"),
                    envelope(&ana, TAG, 1, "first again"),
                    forged,
                    envelope(&ana, [8; 16], 2, "another group's"),
                    b"garbage".to_vec(),
                ],
                0,
            )
            .unwrap();
        assert_eq!(
            pushed,
            Pushed {
                stored: 1,
                duplicates: 1,
                invalid: 3,
                full: false
            }
        );
        let big = "x".repeat(900);
        let pushed = store
            .push(
                &TAG,
                &(2..6)
                    .map(|s| envelope(&ana, TAG, s, &big))
                    .collect::<Vec<_>>(),
                0,
            )
            .unwrap();
        assert!(pushed.full && pushed.stored < 4, "{pushed:?}");
        assert!(store.usage(&TAG).unwrap() <= 2_000);
    }

    #[test]
    fn the_vector_counts_the_run_from_one_and_fetch_serves_wanted_ranges() {
        let (_dir, store) = store(StoreLimits::default());
        store.register(&TAG, [1; 32], None).unwrap();
        let ana = MemberKeys::generate();
        let envelopes: Vec<Vec<u8>> = (1..=3)
            .map(|s| envelope(&ana, TAG, s, &format!("m{s}")))
            .chain([envelope(&ana, TAG, 5, "after a gap")])
            .collect();
        store.push(&TAG, &envelopes, 0).unwrap();
        let vector = store.vector(&TAG).unwrap();
        let head = vector.get(&DocId([1; 16]), &ana.id()).unwrap();
        assert_eq!(head.seq, 3);
        assert_eq!(head.head, Envelope::decode(&envelopes[2]).unwrap().hash());
        let want = Want {
            doc: DocId([1; 16]),
            author: ana.id(),
            after_seq: 1,
            until_seq: 3,
        };
        let (page, complete) = store.fetch(&TAG, &[want], 1 << 20, false).unwrap();
        assert_eq!(page, envelopes[1..3].to_vec());
        assert!(complete);
        let (page, complete) = store.fetch(&TAG, &[want], 1, false).unwrap();
        assert_eq!(page.len(), 1, "at least one, even over the page size");
        assert!(!complete);
    }

    /// A kind-3 envelope by `by` of document 1 (the store never opens it).
    fn snapshot(by: &MemberKeys, tag: Tag, size: usize) -> Vec<u8> {
        let header = Header {
            kind: Kind::Snapshot,
            group_tag: tag,
            doc: DocId([1; 16]),
            author: by.id(),
            seq: 1,
            prev: Hash([0; 32]),
            epoch: Hash([2; 32]),
            change_hashes: Vec::new(),
        };
        Envelope::seal(header, &SecretKey::from_bytes([3; 32]), &vec![7; size], by)
            .as_bytes()
            .to_vec()
    }

    fn cover(author: &MemberKeys, seq: u64, envelope: &[u8]) -> Cover {
        Cover {
            author: author.id().0,
            seq,
            head: Envelope::decode(envelope).unwrap().hash().0,
        }
    }

    #[test]
    fn a_snapshot_is_kept_only_for_what_the_store_holds_and_served_in_place_when_smaller() {
        let (_dir, store) = store(StoreLimits::default());
        store.register(&TAG, [1; 32], None).unwrap();
        let (ana, bo) = (MemberKeys::generate(), MemberKeys::generate());
        let long = "a long message ".repeat(20);
        let envelopes: Vec<Vec<u8>> = (1..=40)
            .map(|s| envelope(&ana, TAG, s, &format!("{long}{s}")))
            .collect();
        store.push(&TAG, &envelopes, 0).unwrap();
        let small = snapshot(&bo, TAG, 2_000);
        let at_30 = [cover(&ana, 30, &envelopes[29])];
        let push = |bytes: &[u8], covers: &[Cover]| store.push_snapshot(&TAG, bytes, covers, 0);

        // What a relay can check: held envelopes with those hashes, a snapshot of the
        // group, signed, authors in order.
        let wrong_hash = [cover(&ana, 30, &envelopes[3])];
        assert_eq!(push(&small, &wrong_hash), Ok(SnapshotPushed::Invalid));
        let not_held = [Cover {
            seq: 41,
            ..at_30[0]
        }];
        assert_eq!(push(&small, &not_held), Ok(SnapshotPushed::Invalid));
        assert_eq!(push(&envelopes[0], &at_30), Ok(SnapshotPushed::Invalid));
        assert_eq!(
            push(&snapshot(&bo, [8; 16], 2_000), &at_30),
            Ok(SnapshotPushed::Invalid)
        );
        let mut forged = small.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(push(&forged, &at_30), Ok(SnapshotPushed::Invalid));
        let twice = [at_30[0], at_30[0]];
        assert_eq!(push(&small, &twice), Ok(SnapshotPushed::Invalid));
        assert_eq!(push(&small, &at_30), Ok(SnapshotPushed::Stored));
        assert_eq!(push(&small, &at_30), Ok(SnapshotPushed::Duplicate));

        let want = |after_seq, until_seq| Want {
            doc: DocId([1; 16]),
            author: ana.id(),
            after_seq,
            until_seq,
        };
        // From the start: the snapshot instead of 40 envelopes; the asker then wants
        // 31..=40, which come as envelopes.
        let (page, complete) = store.fetch(&TAG, &[want(0, 40)], 1 << 20, true).unwrap();
        assert_eq!(page, vec![small.clone()]);
        assert!(complete);
        let (page, _) = store.fetch(&TAG, &[want(30, 40)], 1 << 20, true).unwrap();
        assert_eq!(page, envelopes[30..].to_vec());
        // Not allowed, or not smaller than what it replaces: envelopes.
        let (page, _) = store.fetch(&TAG, &[want(0, 40)], 1 << 20, false).unwrap();
        assert_eq!(page, envelopes);
        let (page, _) = store.fetch(&TAG, &[want(28, 40)], 1 << 20, true).unwrap();
        assert_eq!(page, envelopes[28..].to_vec(), "two envelopes are smaller");

        // One covering more replaces it (and its bytes in the quota); one covering less
        // does not.
        let usage = store.usage(&TAG).unwrap();
        let newer = snapshot(&bo, TAG, 2_020);
        assert_eq!(
            push(&newer, &[cover(&ana, 40, &envelopes[39])]),
            Ok(SnapshotPushed::Stored)
        );
        assert_eq!(store.usage(&TAG).unwrap(), usage + 20);
        assert_eq!(push(&small, &at_30), Ok(SnapshotPushed::Duplicate));
        let (page, _) = store.fetch(&TAG, &[want(0, 40)], 1 << 20, true).unwrap();
        assert_eq!(page, vec![newer]);
    }

    #[test]
    fn expiry_deletes_old_envelopes_and_frees_their_quota() {
        let (_dir, store) = store(StoreLimits {
            expiry: Duration::from_secs(60),
            ..StoreLimits::default()
        });
        store.register(&TAG, [1; 32], None).unwrap();
        let ana = MemberKeys::generate();
        let old = envelope(&ana, TAG, 1, "old");
        store.push(&TAG, std::slice::from_ref(&old), 1_000).unwrap();
        store
            .push(&TAG, &[envelope(&ana, TAG, 2, "new")], 100_000)
            .unwrap();
        let covers = [cover(&ana, 1, &old)];
        assert_eq!(
            store.push_snapshot(&TAG, &snapshot(&ana, TAG, 50), &covers, 1_000),
            Ok(SnapshotPushed::Stored)
        );
        let before = store.usage(&TAG).unwrap();
        assert_eq!(store.expire(100_000).unwrap(), 1);
        assert_eq!(
            store.usage(&TAG).unwrap(),
            before - (old.len() + snapshot(&ana, TAG, 50).len()) as u64,
            "the old envelope and the old snapshot"
        );
        assert!(store.vector(&TAG).unwrap().is_empty(), "seq 1 is gone");
    }

    #[test]
    fn the_store_takes_at_most_its_number_of_groups() {
        let (_dir, store) = store(StoreLimits {
            max_groups: 1,
            ..StoreLimits::default()
        });
        store.register(&TAG, [1; 32], None).unwrap();
        assert_eq!(
            store.register(&[8; 16], [2; 32], None),
            Err(Refusal::Full(1))
        );
        store.register(&TAG, [1; 32], None).unwrap();
    }
}
