//! The libp2p protocols a Plenum node speaks, composed into one behaviour.

use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    autonat, connection_limits, dcutr, identify, mdns, ping, relay, rendezvous, request_response,
};

use super::NetError;
use super::wire::{self, Codec};

/// Connections in all, and per peer: enough for a group of 200 with room for churn.
const MAX_CONNECTIONS: u32 = 256;
const MAX_CONNECTIONS_PER_PEER: u32 = 4;
/// Largest gossip message: bigger envelopes travel by catch-up only.
pub(super) const MAX_GOSSIP: usize = 1 << 20;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) limits: connection_limits::Behaviour,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) sync: request_response::Behaviour<Codec>,
    /// Reservations at the relays this node uses, and circuits through them.
    pub(super) relay_client: relay::client::Behaviour,
    /// Hole punching: a relayed connection tries to become a direct one.
    pub(super) dcutr: dcutr::Behaviour,
    /// Whether this node is reachable from outside (probes by connected peers).
    pub(super) autonat: autonat::Behaviour,
    /// Announcing itself at relays under invites' rendezvous names, and finding
    /// members there when joining.
    pub(super) rendezvous: rendezvous::client::Behaviour,
}

impl Behaviour {
    pub(super) fn new(
        key: &Keypair,
        relay_client: relay::client::Behaviour,
        use_mdns: bool,
    ) -> Result<Behaviour, NetError> {
        let peer = key.public().to_peer_id();
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(MAX_CONNECTIONS))
            .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
            .with_max_pending_incoming(Some(64))
            .with_max_pending_outgoing(Some(64));
        let mdns = if use_mdns {
            let config = mdns::Config {
                query_interval: Duration::from_secs(5),
                ..mdns::Config::default()
            };
            Some(mdns::tokio::Behaviour::new(config, peer).map_err(NetError::Transport)?)
        } else {
            None
        };
        Ok(Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            identify: identify(key),
            // A dead link (walked out of Wi-Fi range, a partition) is noticed within
            // about 20 s and its connection closed, so redial and catch-up take over.
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(10)),
            ),
            mdns: mdns.into(),
            gossipsub: gossip()?,
            sync: request_response::Behaviour::with_codec(
                Codec,
                [(wire::PROTOCOL, request_response::ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(64),
            ),
            relay_client,
            dcutr: dcutr::Behaviour::new(peer),
            autonat: autonat::Behaviour::new(peer, autonat_config()),
            rendezvous: rendezvous::client::Behaviour::new(key.clone()),
        })
    }
}

pub(super) fn identify(key: &Keypair) -> identify::Behaviour {
    identify::Behaviour::new(identify::Config::new("/plenum/1".into(), key.public()))
}

/// AutoNAT probes through connected peers. Groups meet on private networks too (a
/// camp's Wi-Fi behind its own NAT), so private addresses count.
pub(super) fn autonat_config() -> autonat::Config {
    autonat::Config {
        only_global_ips: false,
        boot_delay: Duration::from_secs(5),
        retry_interval: Duration::from_secs(30),
        ..autonat::Config::default()
    }
}

/// Gossipsub for groups of 2–10 online peers: a small mesh that still forms with two,
/// a fast heartbeat so a new peer joins the mesh within a second, anonymous messages
/// (the envelope carries the author's signature; the message reveals no PeerId) with
/// the envelope's hash as id, validation by the node before forwarding, and scoring
/// that graylists a peer after a few invalid envelopes.
fn gossip() -> Result<gossipsub::Behaviour, NetError> {
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(700))
        .mesh_n(4)
        .mesh_n_low(1)
        .mesh_n_high(8)
        .mesh_outbound_min(0)
        .gossip_lazy(4)
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP + 4096)
        .message_id_fn(|m| MessageId::from(blake3::hash(&m.data).as_bytes().to_vec()))
        .build()
        .map_err(|e| NetError::Config(e.to_string()))?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)
        .map_err(|e| NetError::Config(e.to_string()))?;
    behaviour
        .with_peer_score(
            gossipsub::PeerScoreParams::default(),
            gossipsub::PeerScoreThresholds::default(),
        )
        .map_err(NetError::Config)?;
    Ok(behaviour)
}

/// Scoring for one group topic: invalid envelopes cost a lot, nothing else does (a
/// quiet group must not look like a misbehaving mesh).
pub(super) fn topic_score() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.5,
        ..gossipsub::TopicScoreParams::default()
    }
}
