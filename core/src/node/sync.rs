//! What catch-up asks of a node: its groups, the durable version vector of each, and
//! pages of stored envelopes for a peer's wants (see [`crate::sync`]).
//!
//! Everything here reads the store, never the loaded documents: those may be ahead of
//! disk until the writer commits, and a peer must only be told of, or sent, envelopes
//! that survive a crash. The state lock is held only to look up the group; the reads
//! block, so call these from `spawn_blocking`.

use std::sync::Arc;

use crate::api::{ApiError, ErrorKind};
use crate::ids::{GroupId, Hash};
use crate::store::Store;
use crate::sync::{AuthorHead, VersionVector, Want};

use super::Node;
use super::engine::{AuthorRecord, decode, storage_error, stored_doc_ids};

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
    pub fn envelopes_for(
        &self,
        group: &GroupId,
        wants: &[Want],
        max_bytes: usize,
    ) -> Result<(Vec<Vec<u8>>, bool), ApiError> {
        let store = self.store_of(group)?;
        let mut page = Vec::new();
        let mut used = 0usize;
        for want in wants.iter().filter(|w| !w.is_empty()) {
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
