//! What the network layer reads from the node: the transport identity, each group's
//! epoch keys (for membership proofs and gossip topics), invites by public key, and
//! who a peer is. Crate-internal: front ends never see keys.

use crate::api::{ApiError, GroupStatus, Response, StatusView};
use crate::crypto::SecretKey;
use crate::group::directory_doc;
use crate::group::membership_doc;
use std::collections::HashMap;

use crate::ids::{DocId, GroupId, Hash, ItemId, MemberId};

use super::Node;
use super::engine::{GroupRecord, State, integrity};

/// Epoch keys a device proves membership and subscribes with, newest first: the current
/// one and a few before it, so peers a rotation behind still find each other.
const PROOF_EPOCHS: usize = 3;

/// One group as the network layer sees it.
pub(crate) struct GroupKeys {
    pub(crate) group: GroupId,
    /// The current epoch first, then older ones this device holds, at most
    /// [`PROOF_EPOCHS`].
    pub(crate) epochs: Vec<(Hash, SecretKey)>,
    /// The group's relays (binary multiaddrs).
    pub(crate) relays: Vec<Vec<u8>>,
    /// The public keys of the group's open invites (not revoked, expired or used up).
    pub(crate) invites: Vec<[u8; 32]>,
}

impl Node {
    /// The transport secret key seed (Ed25519), from which the libp2p identity derives.
    pub(crate) fn transport_seed(&self) -> Result<[u8; 32], ApiError> {
        Ok(*self.lock()?.profile.transport_seed())
    }

    /// Sets the addresses invite links carry (at most three, binary multiaddrs).
    pub(crate) fn set_invite_addresses(&self, addresses: Vec<Vec<u8>>) -> Result<(), ApiError> {
        self.lock()?.invite_addresses = addresses;
        Ok(())
    }

    /// Every group with the epoch keys this device holds. A group whose record is not
    /// durable yet (a welcome being committed) is left out: proving it would start a
    /// catch-up against the store's empty version vector, fetching the whole history
    /// again.
    pub(crate) fn group_keys(&self) -> Result<Vec<GroupKeys>, ApiError> {
        let state = self.lock()?;
        let now = crate::time::Timestamp::now();
        let mut out = Vec::new();
        for (id, record) in &state.groups {
            let stored = state
                .store
                .get(crate::store::Slot::Group(id))
                .map_err(super::engine::storage_error)?;
            if stored.is_none() {
                continue;
            }
            out.push(GroupKeys {
                group: *id,
                epochs: newest_epoch_keys(record, PROOF_EPOCHS),
                relays: record.state.relays.clone(),
                invites: record
                    .state
                    .invites
                    .values()
                    .filter(|i| !i.revoked && i.used < i.uses && now < i.expires)
                    .map(|i| i.key)
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Up to `at_most` epoch keys of `group` this device holds, newest first (more than
    /// [`GroupKeys`] carries: a relay that missed many rotations follows them all).
    pub(crate) fn epoch_keys(
        &self,
        group: &GroupId,
        at_most: usize,
    ) -> Result<Vec<(Hash, SecretKey)>, ApiError> {
        let state = self.lock()?;
        Ok(newest_epoch_keys(state.group(group)?, at_most))
    }

    /// The group with an open invite whose public key is `invite_key`.
    pub(crate) fn group_of_invite(
        &self,
        invite_key: &[u8; 32],
    ) -> Result<Option<GroupId>, ApiError> {
        let state = self.lock()?;
        Ok(state
            .groups
            .values()
            .find(|r| r.state.invites.values().any(|i| &i.key == invite_key))
            .map(|r| r.state.id))
    }

    /// The member of `group` whose device has transport key `peer`, with its name.
    pub(crate) fn member_by_peer(
        &self,
        group: &GroupId,
        peer: &[u8; 32],
    ) -> Result<Option<(MemberId, String)>, ApiError> {
        let state = self.lock()?;
        Ok(state.groups.get(group).and_then(|r| {
            r.state
                .members
                .values()
                .find(|m| &m.info.peer == peer)
                .map(|m| (m.info.id, m.info.name.clone()))
        }))
    }

    /// Names for the documents of `group`, for people reading the status: one read of
    /// the group's directory. Documents it does not name are absent.
    pub(crate) fn doc_labels(&self, group: &GroupId) -> Result<HashMap<DocId, String>, ApiError> {
        let mut state = self.lock()?;
        let directory = state.directory(group)?;
        let mut labels: HashMap<DocId, String> = directory
            .pads
            .iter()
            .chain(&directory.boards)
            .map(|d| (d.id, d.name.clone()))
            .collect();
        for channel in &directory.channels {
            for segment in &channel.segments {
                labels.insert(segment.doc, format!("#{}", channel.name));
            }
        }
        labels.insert(membership_doc(group), "membership log".into());
        labels.insert(directory_doc(group), "directory".into());
        Ok(labels)
    }

    /// The group a name, id or id prefix names, as every request resolves it.
    pub(crate) fn resolve_group(&self, query: &str) -> Result<GroupId, ApiError> {
        self.lock()?.resolve_group(query)
    }

    /// The channel of `group` a name, id or id prefix names.
    pub(crate) fn resolve_channel(&self, group: &GroupId, query: &str) -> Result<ItemId, ApiError> {
        Ok(self.lock()?.channel(group, query)?.id)
    }
}

/// The newest `at_most` epoch keys of a group this device holds, newest first.
fn newest_epoch_keys(record: &GroupRecord, at_most: usize) -> Vec<(Hash, SecretKey)> {
    record
        .state
        .epochs
        .iter()
        .rev()
        .filter_map(|epoch| Some((*epoch, record.secrets.epoch_key(epoch)?)))
        .take(at_most)
        .collect()
}

impl State {
    /// Each group's status as the store alone knows it: no peers. The network layer
    /// starts from this and adds what it knows of peers.
    pub(super) fn offline_status(&mut self, group: Option<&str>) -> Result<Response, ApiError> {
        let only = group.map(|g| self.resolve_group(g)).transpose()?;
        let Response::Groups(groups) = self.group_list()? else {
            return Err(integrity("the group list has an unexpected shape"));
        };
        let groups = groups
            .into_iter()
            .filter(|g| only.is_none_or(|id| id == g.id))
            .map(|g| GroupStatus {
                id: g.id,
                name: g.name,
                forks: g.forks,
                refused_no_key: self.no_key.count(&g.id),
                peers: Vec::new(),
            })
            .collect();
        Ok(Response::Status(StatusView {
            online: false,
            peer_id: None,
            listen: Vec::new(),
            groups,
            catch_up: Default::default(),
            reachability: Default::default(),
            relays: Vec::new(),
        }))
    }
}

impl Node {
    /// Waits (briefly, bounded) until everything applied so far is durable, so a
    /// version vector read from the store includes what is already on screen.
    pub(crate) async fn settle(&self) {
        for _ in 0..100 {
            match self.lock() {
                Ok(state) if !state.next.settled() => {}
                _ => return,
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// This device's member id in `group`.
    pub(crate) fn member_id(&self, group: &GroupId) -> Result<MemberId, ApiError> {
        Ok(self.lock()?.me(group)?.id())
    }

    /// The name of a current member of `group`.
    pub(crate) fn member_name(&self, group: &GroupId, member: &MemberId) -> Option<String> {
        let state = self.lock().ok()?;
        let record = state.groups.get(group)?;
        record
            .state
            .members
            .get(member)
            .map(|m| m.info.name.clone())
    }

    /// Sends an event to every listener (presence, which the node itself never sees).
    pub(crate) fn emit(&self, event: crate::api::Event) {
        let _ = self.inner.events.send(event);
    }

    /// The stored address book, if any.
    pub(crate) fn address_book(&self) -> Result<Option<Vec<u8>>, ApiError> {
        let state = self.lock()?;
        state
            .store
            .get(crate::store::Slot::AddressBook)
            .map_err(super::engine::storage_error)
    }

    /// Stores the address book (durable with the next commit).
    pub(crate) fn save_address_book(&self, bytes: Vec<u8>) -> Result<(), ApiError> {
        let applied = self.apply_with(|_, tx, _| {
            tx.batch.put(crate::store::Slot::AddressBook, bytes);
            Ok(())
        });
        applied.map(|_| ())
    }
}
