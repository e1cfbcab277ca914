//! The relays this node uses: connections to them, the reservation at each (which
//! makes this node reachable at `<relay>/p2p-circuit/p2p/<me>` from anywhere the relay
//! is), and backoff when a relay is away.
//!
//! A relay is named by an address ending in its PeerId. Where they come from — the
//! command line, the groups' settings — is the caller's business; this keeps their
//! state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// The first and the longest wait before trying a relay again.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// Relays used at once, at most.
pub(super) const MAX_RELAYS: usize = 8;

/// The PeerId an address ends with, if it does.
pub(super) fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    match address.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

/// Whether a connection's address runs through a relay.
pub(super) fn is_relayed(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::P2pCircuit)
}

/// The relay a circuit address runs through: the part before `/p2p-circuit`.
pub(super) fn relay_of(address: &Multiaddr) -> Option<Multiaddr> {
    let mut relay = Multiaddr::empty();
    for p in address.iter() {
        if p == Protocol::P2pCircuit {
            return peer_of(&relay).map(|_| relay);
        }
        relay.push(p);
    }
    None
}

#[derive(Debug)]
struct Relay {
    address: Multiaddr,
    listener: Option<ListenerId>,
    /// The circuit address, once the reservation was accepted.
    reserved: Option<Multiaddr>,
    next_try: Instant,
    wait: Duration,
}

/// What is known of each relay, by PeerId.
#[derive(Debug, Default)]
pub(super) struct Relays {
    relays: BTreeMap<PeerId, Relay>,
}

/// One relay, for the status.
#[derive(Debug, Clone)]
pub(super) struct RelayState {
    pub(super) address: Multiaddr,
    pub(super) reserved: Option<Multiaddr>,
}

impl Relays {
    /// Sets the relays to use; returns the listeners of those no longer wanted, to
    /// close, with the circuit address each had.
    pub(super) fn set(&mut self, wanted: &[Multiaddr]) -> Vec<(ListenerId, Option<Multiaddr>)> {
        let mut keep = BTreeMap::new();
        for address in wanted {
            let Some(peer) = peer_of(address) else {
                continue;
            };
            if keep.len() >= MAX_RELAYS || keep.contains_key(&peer) {
                continue;
            }
            let relay = self.relays.remove(&peer).unwrap_or_else(|| Relay {
                address: address.clone(),
                listener: None,
                reserved: None,
                next_try: Instant::now(),
                wait: RETRY_FIRST,
            });
            keep.insert(peer, relay);
        }
        let gone = std::mem::replace(&mut self.relays, keep);
        gone.into_values()
            .filter_map(|r| Some((r.listener?, r.reserved)))
            .collect()
    }

    pub(super) fn is_relay(&self, peer: &PeerId) -> bool {
        self.relays.contains_key(peer)
    }

    /// The relays to ask for a reservation now: no listener, backoff over. Each
    /// returned relay is counted as tried.
    pub(super) fn due(&mut self) -> Vec<(PeerId, Multiaddr)> {
        let now = Instant::now();
        self.relays
            .iter_mut()
            .filter(|(_, r)| r.listener.is_none() && r.next_try <= now)
            .map(|(peer, r)| {
                r.next_try = now + r.wait;
                r.wait = (r.wait * 2).min(RETRY_MAX);
                (*peer, r.address.clone())
            })
            .collect()
    }

    /// A reservation was asked for through `listener`.
    pub(super) fn listening(&mut self, peer: &PeerId, listener: ListenerId) {
        if let Some(r) = self.relays.get_mut(peer) {
            r.listener = Some(listener);
        }
    }

    /// The listener reported its circuit address: the reservation stands.
    pub(super) fn reserved(&mut self, listener: ListenerId, address: Multiaddr) -> bool {
        match self
            .relays
            .values_mut()
            .find(|r| r.listener == Some(listener))
        {
            Some(r) => {
                r.reserved = Some(address);
                r.wait = RETRY_FIRST;
                true
            }
            None => false,
        }
    }

    /// A listener closed (the relay went away or refused): try again after the wait.
    /// Returns the circuit address it had, to forget.
    pub(super) fn closed(&mut self, listener: ListenerId) -> Option<Multiaddr> {
        let r = self
            .relays
            .values_mut()
            .find(|r| r.listener == Some(listener))?;
        r.listener = None;
        r.reserved.take()
    }

    /// The circuit addresses this node is reachable at now.
    pub(super) fn circuit_addresses(&self) -> Vec<Multiaddr> {
        self.relays
            .values()
            .filter_map(|r| r.reserved.clone())
            .collect()
    }

    pub(super) fn states(&self) -> Vec<RelayState> {
        self.relays
            .values()
            .map(|r| RelayState {
                address: r.address.clone(),
                reserved: r.reserved.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay_address(port: u16) -> (PeerId, Multiaddr) {
        let peer = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let address: Multiaddr = format!("/ip4/10.0.0.1/tcp/{port}/p2p/{peer}")
            .parse()
            .unwrap();
        (peer, address)
    }

    #[test]
    fn a_circuit_address_names_its_relay() {
        let (relay, address) = relay_address(4001);
        let me = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let circuit = address
            .clone()
            .with(Protocol::P2pCircuit)
            .with(Protocol::P2p(me));
        assert!(is_relayed(&circuit));
        assert!(!is_relayed(&address));
        assert_eq!(relay_of(&circuit), Some(address.clone()));
        assert_eq!(peer_of(&circuit), Some(me));
        assert_eq!(peer_of(&address), Some(relay));
        let no_peer: Multiaddr = "/ip4/10.0.0.1/tcp/1/p2p-circuit".parse().unwrap();
        assert_eq!(relay_of(&no_peer), None);
    }

    #[test]
    fn a_relay_is_retried_with_growing_waits_until_it_listens() {
        let (peer, address) = relay_address(4001);
        let mut relays = Relays::default();
        relays.set(std::slice::from_ref(&address));
        assert_eq!(relays.due(), vec![(peer, address.clone())]);
        // Tried just now: not due again until the wait is over.
        assert!(relays.due().is_empty());
        let listener = ListenerId::next();
        relays.listening(&peer, listener);
        let circuit = address.clone().with(Protocol::P2pCircuit);
        assert!(relays.reserved(listener, circuit.clone()));
        assert_eq!(relays.circuit_addresses(), vec![circuit.clone()]);
        assert_eq!(relays.closed(listener), Some(circuit));
        assert!(relays.circuit_addresses().is_empty());
    }

    #[test]
    fn relays_no_longer_wanted_give_back_their_listeners_and_duplicates_count_once() {
        let (peer, address) = relay_address(4001);
        let (_, other) = relay_address(4002);
        let mut relays = Relays::default();
        relays.set(&[address.clone(), address, other.clone()]);
        assert_eq!(relays.states().len(), 2);
        let listener = ListenerId::next();
        relays.listening(&peer, listener);
        assert_eq!(
            relays.set(std::slice::from_ref(&other)),
            vec![(listener, None)]
        );
        assert!(!relays.is_relay(&peer));
        let unnamed: Multiaddr = "/ip4/10.0.0.1/tcp/1".parse().unwrap();
        relays.set(&[unnamed]);
        assert!(relays.states().is_empty());
    }
}
