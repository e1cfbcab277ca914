//! What catch-up asks of a node: its groups, the durable version vector of each, and
//! pages of stored envelopes for a peer's wants (see [`crate::sync`]).
//!
//! Everything here reads the store, never the loaded documents: those may be ahead of
//! disk until the writer commits, and a peer must only be told of, or sent, envelopes
//! that survive a crash. The state lock is held only to look up the group; the reads
//! block, so call these from `spawn_blocking`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{ApiError, ErrorKind};
use crate::envelope::{Envelope, SnapshotScope, group_tag, seal_snapshot};
use crate::group::membership_doc;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::store::Store;
use crate::sync::{AuthorHead, VersionVector, Want};

use super::Node;
use super::engine::{AuthorRecord, decode, load_stored, storage_error, stored_doc_ids};

/// Fewer bytes than any envelope of one change takes (header, one change hash, nonce,
/// AEAD tag, signature): what wanted envelopes cost at least, to weigh a snapshot
/// against without reading them.
const MIN_ENVELOPE_BYTES: usize = 256;
/// Wants for a document estimated below this many bytes are served as envelopes
/// without trying a snapshot, which costs loading and saving the document.
pub(crate) const SNAPSHOT_WORTH: usize = 16 * 1024;

/// A snapshot envelope, and the chain position it takes each covered author to (its
/// covered envelope's seq and hash), in ascending author order: what a storing relay
/// must be told, as it cannot open the snapshot to see.
pub struct DurableSnapshot {
    pub envelope: Vec<u8>,
    pub covers: Vec<(MemberId, AuthorHead)>,
}

impl Node {
    /// The ids of the groups this device belongs to: those it holds and is a member of
    /// in its own view (a removed device keeps its read-only copy, but has nothing to
    /// sync: nobody can prove membership to it, nor it to them).
    pub fn group_ids(&self) -> Result<Vec<GroupId>, ApiError> {
        let state = self.lock()?;
        Ok(state
            .groups
            .iter()
            .filter(|(_, record)| record.state.is_member(&record.secrets.member.id()))
            .map(|(id, _)| *id)
            .collect())
    }

    /// The durable version vector of a group (every document incl. membership log, every
    /// author, from the store).
    pub fn version_vector(&self, group: &GroupId) -> Result<VersionVector, ApiError> {
        let store = self.store_of(group)?;
        let mut vector = VersionVector::default();
        for doc in stored_doc_ids(&store, group)? {
            for bytes in store.authors_of(group, &doc).map_err(storage_error)? {
                let author: AuthorRecord = decode("author", &bytes)?;
                if author.seq == 0 {
                    continue;
                }
                let head = AuthorHead {
                    seq: author.seq,
                    head: author.head,
                };
                vector.insert(doc, author.author, head);
            }
        }
        Ok(vector)
    }

    /// The root of [`Node::version_vector`]: what two peers compare first.
    pub fn version_root(&self, group: &GroupId) -> Result<Hash, ApiError> {
        Ok(self.version_vector(group)?.root())
    }

    /// Stored envelopes for `wants`, in the order given, each want's envelopes in seq
    /// order, stopping before the page would exceed `max_bytes` (but always at least
    /// one envelope if any). Returns the page and whether every want was fully served.
    ///
    /// "Fully served" means every envelope this device holds in the wanted ranges is in
    /// the page; what it does not hold (a range beyond its head) is not waited for. When
    /// it is false, the asker ingests the page and asks again with its new wants. Only
    /// the envelopes that go into the page are read.
    ///
    /// With `snapshots`, a document whose wanted envelopes would take more bytes than a
    /// snapshot of it is answered with the snapshot ([`Node::durable_snapshot`]) in
    /// their place; the asker then wants only what is newer.
    pub fn envelopes_for(
        &self,
        group: &GroupId,
        wants: &[Want],
        max_bytes: usize,
        snapshots: bool,
    ) -> Result<(Vec<Vec<u8>>, bool), ApiError> {
        let store = self.store_of(group)?;
        let log = membership_doc(group);
        let mut page = Vec::new();
        let mut used = 0usize;
        let mut snapshotted: Option<DocId> = None;
        for (i, want) in wants.iter().enumerate().filter(|(_, w)| !w.is_empty()) {
            if snapshotted == Some(want.doc) {
                continue;
            }
            let first_of_doc = i == 0 || wants[i - 1].doc != want.doc;
            if snapshots && first_of_doc && want.doc != log {
                let estimate: usize = wants[i..]
                    .iter()
                    .take_while(|w| w.doc == want.doc)
                    .map(|w| {
                        (w.until_seq.saturating_sub(w.after_seq) as usize)
                            .saturating_mul(MIN_ENVELOPE_BYTES)
                    })
                    .fold(0, usize::saturating_add);
                if estimate >= SNAPSHOT_WORTH
                    && let Some(DurableSnapshot {
                        envelope: snapshot, ..
                    }) = self.durable_snapshot(group, &want.doc)?
                    && snapshot.len() < estimate
                {
                    if !page.is_empty() && used.saturating_add(snapshot.len()) > max_bytes {
                        return Ok((page, false));
                    }
                    used = used.saturating_add(snapshot.len());
                    page.push(snapshot);
                    snapshotted = Some(want.doc);
                    continue;
                }
            }
            let budget = max_bytes.saturating_sub(used);
            if !page.is_empty() && budget == 0 {
                return Ok((page, false));
            }
            let read = store
                .envelopes_between(
                    group,
                    &want.doc,
                    &want.author,
                    want.after_seq,
                    want.until_seq,
                    budget,
                )
                .map_err(storage_error)?;
            for (_, envelope) in read.envelopes {
                // The store lets a first envelope through whatever its size; only an
                // empty page may take one larger than what is left.
                if !page.is_empty() && used.saturating_add(envelope.len()) > max_bytes {
                    return Ok((page, false));
                }
                used = used.saturating_add(envelope.len());
                page.push(envelope);
            }
            if read.truncated {
                return Ok((page, false));
            }
        }
        Ok((page, true))
    }

    /// A snapshot envelope of a document as the store holds it (never changes not yet
    /// durable), sealed by this device: `None` when the document cannot be snapshotted
    /// — it is the membership log, it spans key epochs, or the snapshot would be over
    /// the envelope limit — and its envelopes are to be sent instead.
    ///
    /// The snapshot is sealed under the epoch all of the document's envelopes share, so
    /// it opens for exactly those who could open them: a member admitted with "history
    /// from join" must not read old chat through a snapshot sealed under its own epoch.
    /// An author's envelopes in a document go from its first to its latest epoch, so
    /// checking those two per author suffices. (Documents written across a rotation
    /// are sent as envelopes; see `protocol-spec/snapshot.md`.) Loading happens
    /// outside the state lock.
    pub fn durable_snapshot(
        &self,
        group: &GroupId,
        doc: &DocId,
    ) -> Result<Option<DurableSnapshot>, ApiError> {
        if *doc == membership_doc(group) {
            return Ok(None);
        }
        let (store, secrets) = {
            let state = self.lock()?;
            (state.store.clone(), state.group(group)?.secrets.clone())
        };
        let mut stored = load_stored(&store, &secrets, group, doc)?;
        let mut epoch = None;
        for (author, latest) in &stored.latest {
            let first = store
                .envelopes_between(group, doc, author, 0, latest.header().seq, 1)
                .map_err(storage_error)?;
            let Some((_, first)) = first.envelopes.first() else {
                return Ok(None);
            };
            let first = Envelope::decode(first).map_err(super::engine::integrity)?;
            for e in [first.header().epoch, latest.header().epoch] {
                if *epoch.get_or_insert(e) != e {
                    return Ok(None);
                }
            }
        }
        let Some(epoch) = epoch else {
            return Ok(None);
        };
        let Some(key) = secrets.doc_key(&epoch, doc) else {
            return Ok(None);
        };
        let mut covers: Vec<(MemberId, AuthorHead)> = stored
            .latest
            .iter()
            .map(|(author, envelope)| {
                let head = AuthorHead {
                    seq: envelope.header().seq,
                    head: envelope.hash(),
                };
                (*author, head)
            })
            .collect();
        covers.sort_by_key(|(author, _)| *author);
        let latest: Vec<Envelope> = stored.latest.into_values().collect();
        let scope = SnapshotScope {
            group_tag: group_tag(group),
            doc: *doc,
            epoch,
        };
        match seal_snapshot(
            &mut stored.loaded.doc,
            &latest,
            scope,
            &key,
            &secrets.member,
        ) {
            Ok(sealed) => Ok(Some(DurableSnapshot {
                envelope: sealed.as_bytes().to_vec(),
                covers,
            })),
            Err(e) => {
                tracing::debug!("no snapshot of {doc}, sending its envelopes: {e}");
                Ok(None)
            }
        }
    }

    /// A welcome's envelopes with each document whose envelopes outweigh a snapshot of
    /// it replaced by the snapshot: a new member receives a long chat as one compacted
    /// document, not thousands of envelopes.
    pub(super) fn compact_welcome(
        &self,
        group: &GroupId,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, ApiError> {
        let log = membership_doc(group);
        // Per document, the bytes of its envelopes here and the length of each author's
        // chain: a device that took a snapshot itself holds only the top of a chain, and
        // what it cannot send counts as at least MIN_ENVELOPE_BYTES an envelope.
        let mut bytes_of: BTreeMap<DocId, usize> = BTreeMap::new();
        let mut chains: BTreeMap<(DocId, MemberId), u64> = BTreeMap::new();
        let docs: Vec<Option<DocId>> = envelopes
            .iter()
            .map(|bytes| {
                let envelope = Envelope::decode(bytes).ok()?;
                let h = envelope.header();
                *bytes_of.entry(h.doc).or_default() += bytes.len();
                let seq = chains.entry((h.doc, h.author)).or_default();
                *seq = (*seq).max(h.seq);
                Some(h.doc)
            })
            .collect();
        let mut snapshots = BTreeMap::new();
        for (doc, bytes) in &bytes_of {
            let seqs: u64 = chains
                .iter()
                .filter(|((d, _), _)| d == doc)
                .map(|(_, seq)| *seq)
                .sum();
            let weight = (*bytes).max((seqs as usize).saturating_mul(MIN_ENVELOPE_BYTES));
            if *doc == log || weight < SNAPSHOT_WORTH {
                continue;
            }
            if let Some(snapshot) = self.durable_snapshot(group, doc)?
                && snapshot.envelope.len() < weight
            {
                snapshots.insert(*doc, snapshot.envelope);
            }
        }
        let mut out: Vec<Vec<u8>> = envelopes
            .into_iter()
            .zip(docs)
            .filter(|(_, doc)| doc.is_none_or(|d| !snapshots.contains_key(&d)))
            .map(|(bytes, _)| bytes)
            .collect();
        out.extend(snapshots.into_values());
        Ok(out)
    }

    /// The store, once `group` is known to be held here; the lock is released at once.
    fn store_of(&self, group: &GroupId) -> Result<Arc<Store>, ApiError> {
        let state = self.lock()?;
        if !state.groups.contains_key(group) {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                format!("no group {group} on this device"),
            ));
        }
        Ok(state.store.clone())
    }
}
