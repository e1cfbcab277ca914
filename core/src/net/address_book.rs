//! Peers of this device's groups and where they were reached, kept in the store so a
//! restarted node redials them, with exponential backoff while they stay away.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// Peers remembered at most.
const MAX_PEERS: usize = 256;
/// Addresses per peer at most.
const MAX_ADDRESSES: usize = 4;
/// The first retry after a failed dial, and the longest wait between two.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the store keeps (binary PeerIds and multiaddrs).
#[derive(Default, Serialize, Deserialize)]
struct Stored {
    peers: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
}

#[derive(Default)]
pub(super) struct AddressBook {
    peers: HashMap<PeerId, Entry>,
    changed: bool,
}

struct Entry {
    addresses: Vec<Multiaddr>,
    next_dial: Instant,
    backoff: Duration,
}

impl Entry {
    fn new(addresses: Vec<Multiaddr>) -> Entry {
        Entry {
            addresses,
            next_dial: Instant::now(),
            backoff: FIRST_BACKOFF,
        }
    }
}

impl AddressBook {
    /// Reads a stored book; a damaged one is ignored (it is only a cache of addresses).
    pub(super) fn decode(bytes: &[u8]) -> AddressBook {
        let stored: Stored = postcard::from_bytes(bytes).unwrap_or_default();
        let mut book = AddressBook::default();
        for (peer, addresses) in stored.peers.into_iter().take(MAX_PEERS) {
            let Ok(peer) = PeerId::from_bytes(&peer) else {
                continue;
            };
            let addresses: Vec<Multiaddr> = addresses
                .into_iter()
                .filter_map(|a| Multiaddr::try_from(a).ok())
                .take(MAX_ADDRESSES)
                .collect();
            if !addresses.is_empty() {
                book.peers.insert(peer, Entry::new(addresses));
            }
        }
        book
    }

    /// The book for the store.
    pub(super) fn encode(&self) -> Vec<u8> {
        let stored = Stored {
            peers: self
                .peers
                .iter()
                .map(|(p, e)| {
                    (
                        p.to_bytes(),
                        e.addresses.iter().map(|a| a.to_vec()).collect(),
                    )
                })
                .collect(),
        };
        postcard::to_stdvec(&stored).unwrap_or_default()
    }

    /// Remembers where a proven peer listens.
    pub(super) fn learn(&mut self, peer: PeerId, addresses: &[Multiaddr]) {
        let addresses: Vec<Multiaddr> = addresses.iter().take(MAX_ADDRESSES).cloned().collect();
        if addresses.is_empty() {
            return;
        }
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_PEERS {
            return;
        }
        let entry = self
            .peers
            .entry(peer)
            .or_insert_with(|| Entry::new(Vec::new()));
        if entry.addresses != addresses {
            entry.addresses = addresses;
            self.changed = true;
        }
    }

    /// A connection came up: the next loss of it is retried quickly again.
    pub(super) fn connected(&mut self, peer: &PeerId) {
        if let Some(entry) = self.peers.get_mut(peer) {
            entry.backoff = FIRST_BACKOFF;
        }
    }

    /// Something changed on the network (a peer appeared on the LAN): everyone away is
    /// worth trying again soon.
    pub(super) fn network_changed(&mut self) {
        let now = Instant::now();
        for entry in self.peers.values_mut() {
            entry.backoff = FIRST_BACKOFF;
            entry.next_dial = entry.next_dial.min(now + FIRST_BACKOFF);
        }
    }

    /// The peers to dial now (not connected, their backoff over); each one's backoff
    /// doubles, so a peer that stays away is tried less and less often.
    pub(super) fn due(
        &mut self,
        connected: impl Fn(&PeerId) -> bool,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let now = Instant::now();
        let mut out = Vec::new();
        for (peer, entry) in &mut self.peers {
            if connected(peer) || entry.next_dial > now {
                continue;
            }
            entry.next_dial = now + entry.backoff;
            entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
            out.push((*peer, entry.addresses.clone()));
        }
        out
    }

    /// Whether the book changed since the last call.
    pub(super) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_book_survives_encoding_and_backs_off() {
        let peer = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let mut book = AddressBook::default();
        book.learn(peer, &["/ip4/10.0.0.1/tcp/4001".parse().expect("addr")]);
        assert!(book.take_changed());
        let mut again = AddressBook::decode(&book.encode());
        assert_eq!(
            again.due(|_| false).len(),
            1,
            "dialled at once after a restart"
        );
        assert!(
            again.due(|_| false).is_empty(),
            "then not again before the backoff"
        );
        assert!(again.due(|_| true).is_empty());
        assert!(AddressBook::decode(b"garbage").due(|_| false).is_empty());
    }
}
