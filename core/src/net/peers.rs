//! What the event loop knows of each peer: connections and how they run, which groups
//! it proved, and the version vectors last compared with it — the material of
//! `plenum status`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};

use super::relays::{is_relayed, relay_of};
use crate::Node;
use crate::api::{DocSyncView, HolePunch, PeerPath, PeerStatus, SyncState};
use crate::ids::GroupId;
use crate::sync::{DocSync, VersionVector};
use crate::time::Timestamp;

/// Peers remembered: connected ones always, others up to this many (oldest dropped).
const MAX_REMEMBERED: usize = 1024;

#[derive(Default)]
pub(super) struct Peers {
    peers: HashMap<PeerId, Peer>,
}

#[derive(Clone, Default)]
struct Peer {
    connections: BTreeMap<ConnectionId, Multiaddr>,
    lan: bool,
    last_seen: Option<Timestamp>,
    proven: BTreeSet<GroupId>,
    listen: Vec<Multiaddr>,
    compared: HashMap<GroupId, (VersionVector, Timestamp)>,
    hole_punch: Option<HolePunch>,
    /// It serves circuit relay (identify says so): a relay, not a device of a group.
    relay_server: bool,
}

/// A copy of what is known, for a status answer.
pub(super) struct Snapshot {
    peers: Vec<(PeerId, Peer)>,
}

/// Whether an address is on this machine only (127.0.0.1, ::1).
pub(super) fn is_loopback(address: &Multiaddr) -> bool {
    address.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

fn is_private(address: &Multiaddr) -> Option<bool> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip.is_private() || ip.is_loopback() || ip.is_link_local()),
        Protocol::Ip6(ip) => Some(
            ip.is_loopback()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80,
        ),
        _ => None,
    })
}

impl Peers {
    /// Records a connection; true when it is the peer's first.
    pub(super) fn connected_on(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        address: Multiaddr,
    ) -> bool {
        self.trim();
        let entry = self.peers.entry(peer).or_default();
        let first = entry.connections.is_empty();
        entry.connections.insert(id, address);
        entry.last_seen = Some(Timestamp::now());
        first
    }

    pub(super) fn closed(&mut self, peer: PeerId, id: ConnectionId, last: bool) {
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.connections.remove(&id);
            entry.last_seen = Some(Timestamp::now());
            if last {
                entry.proven.clear();
            }
        }
    }

    pub(super) fn found_on_lan(&mut self, peer: PeerId, _address: &Multiaddr) {
        self.trim();
        self.peers.entry(peer).or_default().lan = true;
    }

    /// Records how a hole-punching attempt with `peer` ended.
    pub(super) fn hole_punched(&mut self, peer: PeerId, outcome: Result<(), String>) {
        let entry = self.peers.entry(peer).or_default();
        entry.hole_punch = Some(HolePunch {
            at: Timestamp::now(),
            direct: outcome.is_ok(),
            error: outcome.err(),
        });
    }

    pub(super) fn heard(&mut self, peer: PeerId) {
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.last_seen = Some(Timestamp::now());
        }
    }

    /// Sets the groups a peer proved; returns them (catch-up runs for each).
    pub(super) fn set_proven(&mut self, peer: PeerId, groups: BTreeSet<GroupId>) -> Vec<GroupId> {
        let entry = self.peers.entry(peer).or_default();
        entry.proven.extend(groups.iter().copied());
        groups.into_iter().collect()
    }

    pub(super) fn identified(&mut self, peer: PeerId, listen: Vec<Multiaddr>, relay_server: bool) {
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.listen = listen;
            entry.relay_server = relay_server;
        }
    }

    pub(super) fn listen_addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.peers
            .get(peer)
            .map(|p| p.listen.clone())
            .unwrap_or_default()
    }

    pub(super) fn proved_any(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|p| !p.proven.is_empty())
    }

    pub(super) fn proved(&self, peer: &PeerId, group: &GroupId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| p.proven.contains(group))
    }

    pub(super) fn compared(&mut self, peer: PeerId, group: GroupId, theirs: VersionVector) {
        let entry = self.peers.entry(peer).or_default();
        entry.compared.insert(group, (theirs, Timestamp::now()));
        entry.last_seen = Some(Timestamp::now());
    }

    pub(super) fn connected(&self) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, p)| !p.connections.is_empty())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The connected peers that may be devices of a group (not relays).
    pub(super) fn connected_devices(&self) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, p)| !p.connections.is_empty() && !p.relay_server)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every connected peer with each group it proved.
    pub(super) fn proven_pairs(&self) -> Vec<(PeerId, GroupId)> {
        self.peers
            .iter()
            .filter(|(_, p)| !p.connections.is_empty())
            .flat_map(|(id, p)| p.proven.iter().map(move |g| (*id, *g)))
            .collect()
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            peers: self.peers.iter().map(|(id, p)| (*id, p.clone())).collect(),
        }
    }

    /// Forgets the longest-unseen disconnected peer when the table is full.
    fn trim(&mut self) {
        if self.peers.len() < MAX_REMEMBERED {
            return;
        }
        if let Some(oldest) = self
            .peers
            .iter()
            .filter(|(_, p)| p.connections.is_empty())
            .min_by_key(|(_, p)| p.last_seen)
            .map(|(id, _)| *id)
        {
            self.peers.remove(&oldest);
        }
    }
}

/// The Ed25519 transport key inside a PeerId, when it has one.
pub(super) fn transport_key(peer: &PeerId) -> Option<[u8; 32]> {
    let key = libp2p::identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    Some(key.try_into_ed25519().ok()?.to_bytes())
}

/// How a connection at `address` runs.
fn path_of(address: &Multiaddr, found_on_lan: bool) -> PeerPath {
    if is_relayed(address) {
        PeerPath::Relayed
    } else if found_on_lan || is_private(address).unwrap_or(false) {
        PeerPath::Lan
    } else {
        PeerPath::Direct
    }
}

fn state_of(sync: DocSync) -> SyncState {
    match sync {
        DocSync::InSync => SyncState::InSync,
        DocSync::Behind(n) => SyncState::Behind { envelopes: n },
        DocSync::Ahead(n) => SyncState::PeerBehind { envelopes: n },
        DocSync::Both { behind, ahead } => SyncState::Diverged {
            behind,
            peer_behind: ahead,
        },
    }
}

impl Snapshot {
    /// The version vector `peer` had for `group` at the last comparison.
    pub(super) fn compared_with(&self, peer: &PeerId, group: &GroupId) -> Option<&VersionVector> {
        self.peers
            .iter()
            .find(|(id, _)| id == peer)
            .and_then(|(_, p)| p.compared.get(group))
            .map(|(vector, _)| vector)
    }

    /// The peers of `group`: those that proved it now, those it was compared with, and
    /// members' devices seen before.
    pub(super) async fn group_peers(&self, node: &Node, group: &GroupId) -> Vec<PeerStatus> {
        let mine = node.version_vector(group).ok();
        let me = node.member_id(group).ok();
        let labels = node.doc_labels(group).unwrap_or_default();
        let mut out = Vec::new();
        for (id, peer) in &self.peers {
            let key = transport_key(id);
            let member = match key {
                Some(key) => node.member_by_peer(group, &key).ok().flatten(),
                None => None,
            };
            let compared = peer.compared.get(group);
            // A storing relay is compared too, but it is no member's device: the
            // status lists it among the relays.
            if peer.relay_server
                || (!peer.proven.contains(group) && compared.is_none() && member.is_none())
            {
                continue;
            }
            let connected = !peer.connections.is_empty();
            // A direct connection, when there is one besides a relayed one (after
            // hole punching both may be open for a while).
            let address = peer
                .connections
                .values()
                .find(|a| !is_relayed(a))
                .or_else(|| peer.connections.values().next())
                .cloned();
            let path = address.as_ref().map(|a| path_of(a, peer.lan));
            let relay = address.as_ref().and_then(relay_of);
            let mut docs = Vec::new();
            if let (Some((theirs, _)), Some(mine)) = (compared, &mine) {
                let forked: BTreeSet<_> = mine
                    .forks_against(theirs)
                    .into_iter()
                    .map(|(doc, _, _)| doc)
                    .collect();
                for (doc, sync) in mine.compare(theirs) {
                    let state = if forked.contains(&doc) {
                        SyncState::Forked
                    } else {
                        state_of(sync)
                    };
                    let has_all_mine = match (me, me.and_then(|m| mine.get(&doc, &m))) {
                        (Some(m), Some(head)) => theirs.has(&doc, &m, head.seq),
                        _ => true,
                    };
                    docs.push(DocSyncView {
                        doc,
                        label: labels
                            .get(&doc)
                            .cloned()
                            .unwrap_or_else(|| format!("document {}", doc.short())),
                        state,
                        has_all_mine,
                    });
                }
            }
            out.push(PeerStatus {
                peer_id: id.to_string(),
                member: member.as_ref().map(|(m, _)| *m),
                name: member.map(|(_, n)| n),
                connected,
                path: if connected { path } else { None },
                address: if connected {
                    address.map(|a| a.to_string())
                } else {
                    None
                },
                relay: if connected {
                    relay.map(|r| r.to_string())
                } else {
                    None
                },
                hole_punch: peer.hole_punch.clone(),
                last_seen: peer.last_seen,
                compared_at: compared.map(|(_, at)| *at),
                docs,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.peer_id.cmp(&b.peer_id)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_count_as_lan() {
        let lan: Multiaddr = "/ip4/10.1.2.3/tcp/4001".parse().expect("addr");
        let local: Multiaddr = "/ip4/127.0.0.1/udp/1/quic-v1".parse().expect("addr");
        let public: Multiaddr = "/ip4/192.0.2.1/tcp/4001".parse().expect("addr");
        assert_eq!(is_private(&lan), Some(true));
        assert_eq!(is_private(&local), Some(true));
        assert_eq!(is_private(&public), Some(false));
    }

    #[test]
    fn a_connection_through_a_relay_is_relayed_even_on_a_private_network() {
        let relayed: Multiaddr = "/ip4/10.1.2.3/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
            .parse()
            .expect("addr");
        let direct: Multiaddr = "/ip4/192.0.2.1/tcp/4001".parse().expect("addr");
        assert_eq!(path_of(&relayed, true), PeerPath::Relayed);
        assert_eq!(path_of(&direct, false), PeerPath::Direct);
        assert_eq!(path_of(&direct, true), PeerPath::Lan);
    }

    #[test]
    fn a_peer_id_gives_back_its_transport_key() {
        let key = libp2p::identity::Keypair::generate_ed25519();
        let expected = key.public().try_into_ed25519().expect("ed25519").to_bytes();
        assert_eq!(transport_key(&key.public().to_peer_id()), Some(expected));
    }
}
