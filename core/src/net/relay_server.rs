//! `plenum relay`: a circuit relay v2 server that any member can run, so devices
//! behind NATs reach each other (DESIGN §3, transport). It relays Noise-encrypted
//! streams between two peers and sees nothing of their content. It also answers
//! AutoNAT probes and helps hole punching (DCUtR runs through its circuits).
//!
//! With a store (`--store DIR`), it also keeps the envelopes of the groups that
//! registered with it (see `store`), answering their members' catch-up from them, so
//! two devices never online at the same time still converge. It holds no group key.
//!
//! Limits are set for sync rather than for the libp2p defaults (two minutes and
//! 128 KiB per circuit, made for the hole-punching handshake alone): a circuit may
//! carry a large group's catch-up, and most circuits become direct connections soon
//! anyway when NAT allows.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, autonat, connection_limits, identify, noise, ping,
    relay, rendezvous, tcp, yamux,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::NetError;
use super::behaviour::{autonat_config, identify};
use super::peers::is_loopback;
use super::store_key;
use super::wire::{self, Codec, Request, Response, Tag};
use store::{BlindStore, SnapshotPushed};

mod store;
#[cfg(test)]
mod store_key_tests;

pub use store::StoreLimits;

/// How a relay runs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Addresses to tell clients they reach the relay at, besides the non-loopback
    /// listen addresses (a relay behind a port forward names its public address here).
    pub announce: Vec<Multiaddr>,
    /// Reservations (devices reachable through this relay) at once.
    pub max_reservations: usize,
    /// Circuits (relayed connections) at once.
    pub max_circuits: usize,
    /// How long one circuit may stay open.
    pub max_circuit_duration: Duration,
    /// How many bytes one circuit may carry (both ways together).
    pub max_circuit_bytes: u64,
    /// Keep registered groups' envelopes in this directory, within these limits.
    pub store: Option<(PathBuf, StoreLimits)>,
}

impl RelayConfig {
    /// Listening on `listen`, with limits for a group relay: 1,024 reservations, 256
    /// circuits of up to 30 minutes and 256 MiB each.
    pub fn new(listen: Vec<Multiaddr>) -> RelayConfig {
        RelayConfig {
            listen,
            announce: Vec::new(),
            max_reservations: 1024,
            max_circuits: 256,
            max_circuit_duration: Duration::from_secs(30 * 60),
            max_circuit_bytes: 256 << 20,
            store: None,
        }
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    autonat: autonat::Behaviour,
    sync: request_response::Behaviour<Codec>,
    /// Members announce themselves here under invites' rendezvous names, so a joiner
    /// finds one when the inviter is offline.
    rendezvous: rendezvous::server::Behaviour,
}

/// A running relay.
pub struct RelayServer {
    peer_id: PeerId,
    addresses: Vec<Multiaddr>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RelayServer {
    /// Starts a relay with the identity `seed` (an Ed25519 secret key; keep it: groups
    /// and invite links name the relay by its PeerId) and returns once it listens.
    pub async fn start(mut seed: [u8; 32], config: RelayConfig) -> Result<RelayServer, NetError> {
        let key = Keypair::ed25519_from_bytes(&mut seed)
            .map_err(|e| NetError::Config(format!("the relay key is unusable: {e}")))?;
        let peer_id = key.public().to_peer_id();
        let store = match &config.store {
            Some((dir, limits)) => Some(Arc::new(
                BlindStore::open(dir, *limits).map_err(NetError::Config)?,
            )),
            None => None,
        };
        let mut swarm = build(key, &config)?;
        let addresses = super::listen_all(&mut swarm, &config.listen, peer_id).await?;
        // The relay tells each client where it is reachable: what the operator
        // announced, and its own addresses that other machines can reach.
        for address in config
            .announce
            .iter()
            .map(|a| a.clone().with_p2p(peer_id).unwrap_or_else(|a| a))
            .chain(addresses.iter().filter(|a| !is_loopback(a)).cloned())
        {
            swarm.add_external_address(address);
        }
        if addresses.iter().all(is_loopback) {
            // On loopback only (tests, a relay for one machine): still serve.
            for address in &addresses {
                swarm.add_external_address(address.clone());
            }
        }
        let cancel = CancellationToken::new();
        let (responses, answered) = mpsc::channel(1024);
        let server = Server {
            me: peer_id,
            store,
            nonces: HashMap::new(),
            sessions: HashMap::new(),
            registrations: HashMap::new(),
            responses,
        };
        let task = tokio::spawn(run(swarm, server, answered, cancel.clone()));
        Ok(RelayServer {
            peer_id,
            addresses,
            cancel,
            task,
        })
    }

    /// The relay's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on, each ending in `/p2p/<peer id>`: what `plenum up
    /// --relay` and a group's relay setting take.
    pub fn addresses(&self) -> &[Multiaddr] {
        &self.addresses
    }

    /// Stops the relay.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

fn build(key: Keypair, config: &RelayConfig) -> Result<Swarm<Behaviour>, NetError> {
    let config = config.clone();
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Config(e.to_string()))?
        .with_quic()
        .with_behaviour(move |key| {
            let peer = key.public().to_peer_id();
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established(Some(
                    u32::try_from(2 * config.max_reservations + config.max_circuits)
                        .unwrap_or(u32::MAX),
                ))
                .with_max_established_per_peer(Some(8))
                .with_max_pending_incoming(Some(128));
            Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                relay: relay::Behaviour::new(peer, relay_limits(&config)),
                identify: identify(key),
                ping: ping::Behaviour::new(ping::Config::new()),
                autonat: autonat::Behaviour::new(peer, autonat_config()),
                rendezvous: rendezvous::server::Behaviour::new(
                    rendezvous::server::Config::default(),
                ),
                sync: request_response::Behaviour::with_codec(
                    Codec,
                    [(wire::PROTOCOL, request_response::ProtocolSupport::Inbound)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(64),
                ),
            }
        })
        .map_err(|e| NetError::Config(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

fn relay_limits(config: &RelayConfig) -> relay::Config {
    let per_minute = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    relay::Config {
        max_reservations: config.max_reservations,
        max_reservations_per_peer: 4,
        reservation_duration: Duration::from_secs(60 * 60),
        max_circuits: config.max_circuits,
        max_circuits_per_peer: 16,
        max_circuit_duration: config.max_circuit_duration,
        max_circuit_bytes: config.max_circuit_bytes,
        ..relay::Config::default()
    }
    // A device reconnecting after sleep or a network change asks again at once.
    .reservation_rate_per_peer(per_minute(30), Duration::from_secs(10))
    .circuit_src_per_peer(per_minute(60), Duration::from_secs(5))
}

/// Nonces handed out per peer for store proofs, at most (newest kept).
const MAX_NONCES: usize = 4;
/// Groups one peer may register here while the relay runs.
const MAX_REGISTRATIONS_PER_PEER: u32 = 8;
/// Peers remembered for that count, at most.
const MAX_REGISTRANTS: usize = 4096;
/// How often expired envelopes are deleted.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

type Answer = (ResponseChannel<Response>, Response);

/// The answering side of `/plenum/sync/1` on a relay: store proofs and, for peers that
/// proved a group's store key on their connection, its envelopes.
struct Server {
    me: PeerId,
    store: Option<Arc<BlindStore>>,
    nonces: HashMap<PeerId, Vec<[u8; 32]>>,
    /// The groups each connected peer proved a store key for, with that key: a
    /// session ends when its key is no longer registered (two rotations later).
    sessions: HashMap<PeerId, HashMap<Tag, [u8; 32]>>,
    registrations: HashMap<PeerId, u32>,
    responses: mpsc::Sender<Answer>,
}

async fn run(
    mut swarm: Swarm<Behaviour>,
    mut server: Server,
    mut answered: mpsc::Receiver<Answer>,
    cancel: CancellationToken,
) {
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            event = swarm.select_next_some() => {
                if let Some((channel, response)) = server.on_event(event) {
                    let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                }
            }
            Some((channel, response)) = answered.recv() => {
                let _ = swarm.behaviour_mut().sync.send_response(channel, response);
            }
            _ = expire.tick() => server.expire(),
        }
    }
    info!("relay stopped");
}

impl Server {
    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Option<Answer> {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) => self.on_request(peer, request, channel),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.sessions.remove(&peer_id);
                self.nonces.remove(&peer_id);
                None
            }
            other => {
                on_event(other);
                None
            }
        }
    }

    /// Answers at once (returned) or from a task that reads or writes the store.
    fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) -> Option<Answer> {
        let Some(store) = self.store.clone() else {
            return match request {
                Request::StoreHello { .. }
                | Request::StoreProve { .. }
                | Request::Push { .. }
                | Request::PushSnapshot { .. } => {
                    Some((channel, refused("this relay does not store envelopes")))
                }
                _ => Some((channel, refused("a relay holds no group"))),
            };
        };
        match request {
            Request::StoreHello { .. } => {
                let nonce: [u8; 32] = crate::crypto::random_array();
                let nonces = self.nonces.entry(peer).or_default();
                if nonces.len() >= MAX_NONCES {
                    nonces.remove(0);
                }
                nonces.push(nonce);
                Some((channel, Response::StoreNonce(nonce)))
            }
            Request::StoreProve {
                tag,
                key,
                signature,
                endorsements,
            } => match self.prove(&store, peer, tag, key, &signature, &endorsements) {
                Ok(()) => Some((channel, Response::Proven)),
                Err(why) => Some((channel, refused(&why))),
            },
            Request::Summary { tag, .. }
            | Request::Fetch { tag, .. }
            | Request::Push { tag, .. }
            | Request::PushSnapshot { tag, .. }
                if !self
                    .sessions
                    .get(&peer)
                    .is_some_and(|s| s.contains_key(&tag)) =>
            {
                Some((channel, refused("prove the group's store key first")))
            }
            request @ (Request::Summary { .. }
            | Request::Fetch { .. }
            | Request::Push { .. }
            | Request::PushSnapshot { .. }) => {
                let responses = self.responses.clone();
                tokio::spawn(async move {
                    let answer =
                        tokio::task::spawn_blocking(move || answer_from_store(&store, request))
                            .await
                            .unwrap_or_else(|_| {
                                Response::Refused("the relay's store failed".into())
                            });
                    let _ = responses.send((channel, answer)).await;
                });
                None
            }
            Request::Hello { .. } | Request::Prove { .. } => {
                Some((channel, refused("a relay holds no group")))
            }
            Request::JoinHello { .. } | Request::Join(_) => {
                Some((channel, refused("a relay admits no one: it holds no group")))
            }
        }
    }

    /// Checks a store proof against the nonces given to `peer`; registers the key when
    /// it is new (a new group, or endorsed along a chain from its newest registered
    /// key) and opens the session.
    fn prove(
        &mut self,
        store: &BlindStore,
        peer: PeerId,
        tag: Tag,
        key: [u8; 32],
        signature: &[u8],
        endorsements: &[wire::Endorsement],
    ) -> Result<(), String> {
        let me = self.me;
        let proven = self.nonces.get(&peer).is_some_and(|nonces| {
            nonces
                .iter()
                .any(|nonce| store_key::verify(&key, signature, &tag, nonce, &me, &peer))
        });
        if !proven {
            return Err("the store proof does not verify; say StoreHello first".into());
        }
        if endorsements.len() > wire::MAX_ENDORSEMENTS {
            return Err(format!(
                "more than {} endorsements in a store proof",
                wire::MAX_ENDORSEMENTS
            ));
        }
        let keys = store.keys(&tag).map_err(|e| e.to_string())?;
        if !keys.contains(&key) {
            if self.registrations.len() >= MAX_REGISTRANTS {
                self.registrations.clear();
            }
            let count = self.registrations.entry(peer).or_default();
            if *count >= MAX_REGISTRATIONS_PER_PEER {
                return Err("this device registered as many groups here as it may".into());
            }
            // A new group takes its first key as is; a known one each key on the way
            // from its newest, in order, so it keeps the newest two.
            let newest = keys.last().copied();
            let path = store_key::endorsed_path(&tag, &key, endorsements, |k| Some(*k) == newest);
            match path {
                Some(path) if !keys.is_empty() => {
                    for (by, new) in path {
                        store
                            .register(&tag, new, Some(by))
                            .map_err(|e| e.to_string())?;
                    }
                }
                _ => store.register(&tag, key, None).map_err(|e| e.to_string())?,
            }
            *count += 1;
            info!(%peer, "a store key registered");
            // Sessions opened with a key that fell out of the group's two end here.
            let keys = store.keys(&tag).map_err(|e| e.to_string())?;
            for sessions in self.sessions.values_mut() {
                sessions.retain(|t, k| *t != tag || keys.contains(k));
            }
        }
        self.sessions.entry(peer).or_default().insert(tag, key);
        Ok(())
    }

    fn expire(&self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        tokio::task::spawn_blocking(move || {
            match store.expire(crate::time::Timestamp::now().as_millis()) {
                Ok(0) => {}
                Ok(n) => info!(envelopes = n, "expired envelopes deleted"),
                Err(e) => warn!("cannot expire envelopes: {e}"),
            }
        });
    }
}

fn refused(why: &str) -> Response {
    Response::Refused(why.to_owned())
}

fn answer_from_store(store: &BlindStore, request: Request) -> Response {
    let answer = match request {
        Request::Summary { tag, root } => store.vector(&tag).map(|v| {
            if *v.root().as_bytes() == root {
                Response::InSync
            } else {
                Response::Vector(v.to_bytes())
            }
        }),
        Request::Fetch {
            tag,
            mut wants,
            snapshots,
        } => {
            wants.truncate(wire::MAX_WANTS);
            store
                .fetch(&tag, &wants, wire::PAGE_BYTES, snapshots)
                .map(|(envelopes, complete)| Response::Page {
                    envelopes,
                    complete,
                })
        }
        Request::Push { tag, envelopes } => store
            .push(&tag, &envelopes, crate::time::Timestamp::now().as_millis())
            .map(|p| Response::Stored {
                stored: p.stored,
                duplicates: p.duplicates,
                invalid: p.invalid,
                full: p.full,
            }),
        Request::PushSnapshot {
            tag,
            envelope,
            covers,
        } => {
            let now = crate::time::Timestamp::now().as_millis();
            store
                .push_snapshot(&tag, &envelope, &covers, now)
                .map(|outcome| {
                    let count = |o| u32::from(outcome == o);
                    Response::Stored {
                        stored: count(SnapshotPushed::Stored),
                        duplicates: count(SnapshotPushed::Duplicate),
                        invalid: count(SnapshotPushed::Invalid),
                        full: outcome == SnapshotPushed::Full,
                    }
                })
        }
        _ => return Response::Refused("not a store request".into()),
    };
    answer.unwrap_or_else(|e| Response::Refused(e.to_string()))
}

fn on_event(event: SwarmEvent<BehaviourEvent>) {
    match event {
        SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => match event {
            relay::Event::ReservationReqAccepted { src_peer_id, .. } => {
                info!(peer = %src_peer_id, "reservation accepted");
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => info!(from = %src_peer_id, to = %dst_peer_id, "circuit opened"),
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => debug!(from = %src_peer_id, to = %dst_peer_id, ?error, "circuit closed"),
            relay::Event::ReservationReqDenied { src_peer_id, .. } => {
                warn!(peer = %src_peer_id, "reservation denied (over a limit)");
            }
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                ..
            } => warn!(from = %src_peer_id, to = %dst_peer_id, "circuit denied"),
            other => debug!("relay: {other:?}"),
        },
        SwarmEvent::IncomingConnectionError { error, .. } => {
            debug!("incoming connection failed: {error}");
        }
        _ => {}
    }
}
