//! `plenum relay`: a circuit relay v2 server that any member can run, so devices
//! behind NATs reach each other (DESIGN §3, transport). It relays Noise-encrypted
//! streams between two peers and sees nothing of their content. It also answers
//! AutoNAT probes and helps hole punching (DCUtR runs through its circuits).
//!
//! Limits are set for sync rather than for the libp2p defaults (two minutes and
//! 128 KiB per circuit, made for the hole-punching handshake alone): a circuit may
//! carry a large group's catch-up, and most circuits become direct connections soon
//! anyway when NAT allows.

use std::num::NonZeroU32;
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, autonat, connection_limits, identify, noise, ping,
    relay, tcp, yamux,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::NetError;
use super::behaviour::{autonat_config, identify};
use super::peers::is_loopback;

/// How long to wait for the listen addresses at start.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

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
        let mut swarm = build(key, &config)?;
        for address in &config.listen {
            swarm
                .listen_on(address.clone())
                .map_err(|e| NetError::Listen {
                    address: address.clone(),
                    reason: e.to_string(),
                })?;
        }
        let mut addresses = Vec::new();
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        let mut open = config.listen.len();
        while open > 0 {
            let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .map_err(|_| NetError::Config("the listeners did not start in time".into()))?;
            match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    addresses.push(address.with_p2p(peer_id).unwrap_or_else(|a| a));
                    open -= 1;
                }
                SwarmEvent::ListenerError { error, .. }
                | SwarmEvent::ListenerClosed {
                    reason: Err(error), ..
                } => return Err(NetError::Transport(error)),
                _ => {}
            }
        }
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
        let task = tokio::spawn(run(swarm, cancel.clone()));
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

async fn run(mut swarm: Swarm<Behaviour>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            event = swarm.select_next_some() => on_event(event),
        }
    }
    info!("relay stopped");
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
