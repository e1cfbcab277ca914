//! The task that owns the `Swarm`: routes requests and responses, gossip in and out,
//! connections and discovery; everything slow is spawned.

mod presence_state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, TopicHash};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, autonat, dcutr, mdns, noise, relay, rendezvous, tcp,
    yamux,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::address_book::AddressBook;
use super::behaviour::{Behaviour, BehaviourEvent, MAX_GOSSIP, topic_score};
use super::peers::{Peers, is_loopback};
use super::presence::{self, Presence};
use super::relays::{Relays, is_relayed};
use super::wire::{Request, Response, Tag};
use super::{Command, NetConfig, NetError, Network, catch_up, proof, serve, store_sync};
use crate::api::{Event, Reachability};
use crate::envelope::Envelope;
use crate::ids::{GroupId, Hash, MemberId};
use crate::node::GroupKeys;
use crate::{IngestError, Ingested, Node};

/// Gossip envelopes being validated at once; more are ignored (catch-up repairs).
const MAX_VALIDATING: usize = 1024;
/// Protocol violations after which a peer is dropped.
const MAX_STRIKES: u32 = 16;
/// How long a dropped peer is refused.
const BAN: Duration = Duration::from_secs(600);
/// Dropped peers remembered at most.
const MAX_BANNED: usize = 1024;
/// Membership proofs one peer may have open at once.
const MAX_HELLOS: usize = 4;
/// Peers waiting to catch a group up from, at most.
const MAX_QUEUED_CATCH_UPS: usize = 64;
/// How often peers in the address book that are away are considered for a redial.
const REDIAL_EVERY: Duration = Duration::from_secs(2);
/// The first and the longest wait before dialing a LAN peer (found by mDNS) again
/// after a dial did not connect: two devices that find each other dial at once, and
/// one of those dials can fail, while mDNS announces again only every few minutes.
const LAN_RETRY_FIRST: Duration = Duration::from_secs(2);
const LAN_RETRY_MAX: Duration = Duration::from_secs(60);
/// LAN peers waiting for a retry, at most.
const MAX_LAN_RETRIES: usize = 256;
/// Pushes of single envelopes to storing relays in flight, at most; more wait for
/// the next catch-up round.
const MAX_PUSHING: usize = 64;
/// Invite names announced at one relay, at most.
const MAX_ANNOUNCED: usize = 64;
/// How long an announcement at a relay lasts, and when it is renewed.
const ANNOUNCE_TTL: u64 = rendezvous::DEFAULT_TTL;
const ANNOUNCE_RENEW: Duration = Duration::from_secs(rendezvous::DEFAULT_TTL / 2);
/// Members asked for per discovery.
const DISCOVER_LIMIT: u64 = 16;

type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

pub(super) struct EventLoop {
    swarm: Swarm<Behaviour>,
    node: Node,
    me: PeerId,
    commands: mpsc::Receiver<Command>,
    cancel: CancellationToken,
    catch_up_every: Duration,
    groups: Vec<GroupKeys>,
    /// Subscribed topics: the group, the epoch, and whether it carries presence.
    topics: HashMap<TopicHash, (GroupId, Hash, bool)>,
    tags: HashMap<Tag, GroupId>,
    peers: Peers,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, String>>>,
    /// The nonces this device answered each peer's hellos with, newest last: a peer
    /// may run two proofs at once (a join and a reconnection, say).
    hello_nonces: HashMap<PeerId, Vec<[u8; 32]>>,
    /// The peer each group is catching up from now: one at a time per group, so two
    /// peers are never asked for the same missing envelopes at once.
    catching_up: HashMap<GroupId, PeerId>,
    /// Peers waiting their turn, per group.
    catch_up_queue: HashMap<GroupId, Vec<PeerId>>,
    validating: usize,
    book: AddressBook,
    /// Requests per peer that broke the protocol (malformed, over a limit, out of turn).
    strikes: HashMap<PeerId, u32>,
    /// Peers dropped for it, until when.
    banned: HashMap<PeerId, std::time::Instant>,
    /// LAN peers not connected yet: where mDNS found them, when to dial again, and
    /// the wait after that.
    lan_retries: HashMap<PeerId, (Multiaddr, std::time::Instant, Duration)>,
    presence: HashMap<(GroupId, MemberId), (std::time::Instant, Presence)>,
    limiter: presence::Limiter,
    /// The addresses this node listens on directly, with its PeerId.
    listen: Vec<Multiaddr>,
    /// The relays given at start (`--relay`); the groups' relays come on top.
    configured_relays: Vec<Multiaddr>,
    relays: Relays,
    reachability: Reachability,
    /// Per connected relay, the groups it stores for, each with the epoch whose store
    /// key this device proved there: a rotation registers the new key at once, so the
    /// relay stops taking the removed member's key as the newest one (which vouches for
    /// the next).
    stores: HashMap<PeerId, BTreeMap<GroupId, Hash>>,
    /// Store registrations under way.
    registering: BTreeSet<(PeerId, GroupId)>,
    /// Invite names announced at each relay, and when.
    announced: HashMap<(PeerId, String), std::time::Instant>,
    /// Discoveries waiting for the connection to their relay.
    to_discover: HashMap<PeerId, Vec<String>>,
    pushing: usize,
    /// Rounds of pushing what a relay lacks under way, and per relay and group the
    /// envelopes pushed live since the last round began: enough of them start one, so
    /// the relay's snapshots keep up with a busy group, and any of them start another
    /// when a round ends, so the last round (the one that pushes snapshots) follows the
    /// last write rather than waiting for the next 64.
    pushing_missing: BTreeSet<(PeerId, GroupId)>,
    pushed_live: HashMap<(PeerId, GroupId), u64>,
    outgoing: BoxStream<Vec<u8>>,
    events: BoxStream<Event>,
}

impl EventLoop {
    pub(super) async fn new(
        node: Node,
        config: &NetConfig,
        commands: mpsc::Receiver<Command>,
        cancel: CancellationToken,
    ) -> Result<(EventLoop, PeerId, Vec<Multiaddr>), NetError> {
        let mut seed = node.transport_seed()?;
        let key = Keypair::ed25519_from_bytes(&mut seed)
            .map_err(|e| NetError::Config(format!("the transport key is unusable: {e}")))?;
        let me = key.public().to_peer_id();
        let use_mdns = config.mdns;
        let mut swarm = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| NetError::Config(e.to_string()))?
            .with_quic()
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| NetError::Config(e.to_string()))?
            .with_behaviour(|key, relay_client| {
                Behaviour::new(key, relay_client, use_mdns)
                    .map_err(|e| Box::<dyn std::error::Error + Send + Sync>::from(e.to_string()))
            })
            .map_err(|e| NetError::Config(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
            .build();
        let listen = super::listen_all(&mut swarm, &config.listen, me).await?;
        for address in &config.dial {
            if let Err(e) = swarm.dial(address.clone()) {
                warn!(%address, "cannot dial: {e}");
            }
        }
        let book = node
            .address_book()?
            .map(|bytes| AddressBook::decode(&bytes))
            .unwrap_or_default();
        let outgoing: BoxStream<Vec<u8>> = Box::pin(node.outgoing());
        let events: BoxStream<Event> = Box::pin(node.events());
        let mut event_loop = EventLoop {
            swarm,
            node,
            me,
            commands,
            cancel,
            catch_up_every: config.catch_up_every,
            groups: Vec::new(),
            topics: HashMap::new(),
            tags: HashMap::new(),
            peers: Peers::default(),
            pending: HashMap::new(),
            hello_nonces: HashMap::new(),
            catching_up: HashMap::new(),
            catch_up_queue: HashMap::new(),
            validating: 0,
            book,
            strikes: HashMap::new(),
            banned: HashMap::new(),
            lan_retries: HashMap::new(),
            presence: HashMap::new(),
            limiter: presence::Limiter::default(),
            listen: listen.clone(),
            configured_relays: config.relays.clone(),
            relays: Relays::default(),
            reachability: Reachability::Unknown,
            stores: HashMap::new(),
            registering: BTreeSet::new(),
            announced: HashMap::new(),
            to_discover: HashMap::new(),
            pushing: 0,
            pushing_missing: BTreeSet::new(),
            pushed_live: HashMap::new(),
            outgoing,
            events,
        };
        event_loop.refresh_groups();
        Ok((event_loop, me, listen))
    }

    pub(super) async fn run(mut self, network: Network) {
        let mut tick = tokio::time::interval(self.catch_up_every);
        tick.tick().await;
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        let mut heartbeat = tokio::time::interval(presence::HEARTBEAT);
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => break,
                event = self.swarm.select_next_some() => self.on_swarm(event, &network),
                Some(command) = self.commands.recv() => self.on_command(command, &network),
                Some(envelope) = self.outgoing.next() => self.publish(&envelope, &network),
                Some(event) = self.events.next() => {
                    if matches!(event, Event::GroupChanged { .. } | Event::Lagged { .. }) {
                        self.on_groups_changed(&network);
                    }
                }
                _ = tick.tick() => self.catch_up_everyone(&network),
                _ = redial.tick() => self.redial(),
                _ = heartbeat.tick() => self.announce_everywhere(),
            }
        }
        info!("network stopped");
    }

    /// Reloads the groups and their keys; subscribes to new epochs' topics.
    fn refresh_groups(&mut self) -> bool {
        let groups = match self.node.group_keys() {
            Ok(groups) => groups,
            Err(e) => {
                warn!("cannot read the groups: {e}");
                return false;
            }
        };
        let before: BTreeSet<GroupId> = self.groups.iter().map(|g| g.group).collect();
        let after: BTreeSet<GroupId> = groups.iter().map(|g| g.group).collect();
        let mut wanted = HashMap::new();
        for (name, group, epoch) in proof::topics(&groups) {
            let topic = IdentTopic::new(name);
            wanted.insert(topic.hash(), (topic, (group, epoch, false)));
        }
        for g in &groups {
            for (epoch, key) in &g.epochs {
                let topic = IdentTopic::new(presence::topic(key, &g.group));
                wanted.insert(topic.hash(), (topic, (g.group, *epoch, true)));
            }
        }
        let gone: Vec<TopicHash> = self
            .topics
            .keys()
            .filter(|t| !wanted.contains_key(t))
            .cloned()
            .collect();
        for hash in gone {
            self.topics.remove(&hash);
            self.swarm
                .behaviour_mut()
                .gossipsub
                .unsubscribe(&IdentTopic::new(hash.into_string()));
        }
        for (hash, (topic, meaning)) in wanted {
            if self.topics.contains_key(&hash) {
                continue;
            }
            let gossip = &mut self.swarm.behaviour_mut().gossipsub;
            if let Err(e) = gossip.set_topic_params(topic.clone(), topic_score()) {
                warn!("topic scoring refused: {e}");
            }
            if let Err(e) = gossip.subscribe(&topic) {
                warn!("cannot subscribe: {e}");
                continue;
            }
            self.topics.insert(hash, meaning);
        }
        self.tags = groups
            .iter()
            .map(|g| (proof::tag(&g.group), g.group))
            .collect();
        self.groups = groups;
        self.use_relays();
        self.announce_at_relays();
        before != after
    }

    /// Uses the relays given at start and those of every group.
    fn use_relays(&mut self) {
        let mut wanted = self.configured_relays.clone();
        for g in &self.groups {
            wanted.extend(
                g.relays
                    .iter()
                    .filter_map(|r| Multiaddr::try_from(r.clone()).ok()),
            );
        }
        let mut changed = false;
        for (listener, circuit) in self.relays.set(&wanted) {
            self.swarm.remove_listener(listener);
            if let Some(circuit) = circuit {
                self.swarm.remove_external_address(&circuit);
                changed = true;
            }
        }
        if changed {
            self.update_invite_addresses();
        }
        self.reserve_at_relays();
    }

    fn on_groups_changed(&mut self, network: &Network) {
        if self.refresh_groups() {
            // A group joined or left: prove memberships again to everyone connected.
            for peer in self.peers.connected() {
                if !self.relays.is_relay(&peer) {
                    self.spawn_hello(peer, network);
                }
            }
        }
        // A group joined, or a group's relays changed: register where they store.
        for relay in self.peers.connected() {
            if self.relays.is_relay(&relay) {
                self.register_at_store(relay, network);
            }
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>, network: &Network) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                let address = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => address.clone(),
                    // A peer that came in through a relay has no address of its own
                    // here; the circuit it came through says how it is connected.
                    ConnectedPoint::Listener { local_addr, .. } if is_relayed(local_addr) => {
                        local_addr.clone()
                    }
                    ConnectedPoint::Listener { send_back_addr, .. } => send_back_addr.clone(),
                };
                debug!(%peer_id, %address, "connected");
                if self
                    .banned
                    .get(&peer_id)
                    .is_some_and(|until| std::time::Instant::now() < *until)
                {
                    self.swarm.close_connection(connection_id);
                    return;
                }
                let first = self.peers.connected_on(peer_id, connection_id, address);
                self.book.connected(&peer_id);
                if let Some(names) = self.to_discover.remove(&peer_id) {
                    for name in names {
                        self.discover(peer_id, name);
                    }
                }
                // A relay holds no group: there is nothing to prove to it, but it may
                // store for this device's groups.
                if self.relays.is_relay(&peer_id) {
                    if first {
                        self.register_at_store(peer_id, network);
                    }
                } else if first && endpoint.is_dialer() {
                    self.spawn_hello(peer_id, network);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.peers
                    .closed(peer_id, connection_id, num_established == 0);
                if num_established == 0 {
                    self.hello_nonces.remove(&peer_id);
                    self.stores.remove(&peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(?peer_id, "dial failed: {error}");
            }
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                let circuit = address.clone().with_p2p(self.me).unwrap_or(address);
                if self.relays.reserved(listener_id, circuit.clone()) {
                    info!(%circuit, "reachable through a relay");
                    self.swarm.add_external_address(circuit);
                    self.update_invite_addresses();
                    self.announce_at_relays();
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => self.on_listener_closed(listener_id, reason.err()),
            SwarmEvent::ListenerError { listener_id, error } => {
                debug!(?listener_id, "a listener failed: {error}");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour(event, network),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, event: BehaviourEvent, network: &Network) {
        match event {
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                self.book.network_changed();
                for (peer, address) in found {
                    self.peers.found_on_lan(peer, &address);
                    if peer != self.me && !self.swarm.is_connected(&peer) {
                        if self.lan_retries.len() < MAX_LAN_RETRIES {
                            let at = std::time::Instant::now() + LAN_RETRY_FIRST;
                            self.lan_retries
                                .insert(peer, (address.clone(), at, LAN_RETRY_FIRST));
                        }
                        let dial = DialOpts::peer_id(peer).addresses(vec![address]).build();
                        if let Err(e) = self.swarm.dial(dial) {
                            debug!(%peer, "cannot dial: {e}");
                        }
                    }
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Expired(gone)) => {
                for (peer, _) in gone {
                    self.lan_retries.remove(&peer);
                }
            }
            BehaviourEvent::Identify(libp2p::identify::Event::Received {
                peer_id, info, ..
            }) => {
                let addresses = reachable(&info.listen_addrs);
                let relay_server = info.protocols.contains(&relay::HOP_PROTOCOL_NAME);
                self.peers
                    .identified(peer_id, addresses.clone(), relay_server);
                if self.peers.proved_any(&peer_id) {
                    self.book.learn(peer_id, &addresses);
                }
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.validate(propagation_source, message_id, message, network),
            BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. }) => {
                self.peers.heard(peer);
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.on_request(peer, request, channel, network),
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => {
                        if let Some(reply) = self.pending.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                }
            }
            BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            }) => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            BehaviourEvent::Sync(request_response::Event::InboundFailure {
                peer, error, ..
            }) => {
                debug!(%peer, "a request from this peer failed: {error}");
                // Malformed or over-limit frames (the codec's InvalidData), not a stream
                // cut by a closing connection or a timeout.
                if matches!(&error, request_response::InboundFailure::Io(e)
                    if e.kind() == std::io::ErrorKind::InvalidData)
                {
                    self.strike(peer);
                }
            }
            BehaviourEvent::Ping(libp2p::ping::Event {
                peer,
                result: Ok(_),
                ..
            }) => self.peers.heard(peer),
            BehaviourEvent::RelayClient(relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            }) => {
                debug!(%relay_peer_id, renewal, "the relay accepted a reservation");
            }
            BehaviourEvent::RelayClient(event) => debug!("relay: {event:?}"),
            BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            }) => {
                match &result {
                    Ok(_) => info!(%remote_peer_id, "hole punching made a direct connection"),
                    Err(e) => info!(%remote_peer_id, "hole punching failed: {e}"),
                }
                self.peers.hole_punched(
                    remote_peer_id,
                    result.map(|_| ()).map_err(|e| e.to_string()),
                );
            }
            BehaviourEvent::Rendezvous(rendezvous::client::Event::Discovered {
                registrations,
                ..
            }) => {
                for registration in registrations {
                    let peer = registration.record.peer_id();
                    if peer == self.me || self.swarm.is_connected(&peer) {
                        continue;
                    }
                    debug!(%peer, "found a member at a relay; dialing");
                    let addresses = registration.record.addresses().to_vec();
                    let dial = DialOpts::peer_id(peer).addresses(addresses).build();
                    if let Err(e) = self.swarm.dial(dial) {
                        debug!(%peer, "cannot dial: {e}");
                    }
                }
            }
            BehaviourEvent::Rendezvous(event) => debug!("rendezvous: {event:?}"),
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { new, .. }) => {
                self.reachability = match new {
                    autonat::NatStatus::Public(_) => Reachability::Public,
                    autonat::NatStatus::Private => Reachability::Private,
                    autonat::NatStatus::Unknown => Reachability::Unknown,
                };
                info!(?new, "reachability changed");
            }
            BehaviourEvent::Ping(libp2p::ping::Event {
                peer,
                connection,
                result: Err(error),
            }) => {
                debug!(%peer, "ping failed, closing the connection: {error}");
                self.swarm.close_connection(connection);
            }
            _ => {}
        }
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: request_response::ResponseChannel<Response>,
        network: &Network,
    ) {
        let response = match request {
            Request::Hello { nonce } => {
                let mine = crate::crypto::random_array();
                let nonces = self.hello_nonces.entry(peer).or_default();
                if nonces.len() >= MAX_HELLOS {
                    nonces.remove(0);
                }
                nonces.push(mine);
                Response::Hello {
                    proofs: proof::prove(&self.groups, &nonce, &self.me, &peer),
                    nonce: mine,
                }
            }
            Request::Prove { proofs } => match self.hello_nonces.get(&peer) {
                Some(nonces) if !nonces.is_empty() => {
                    let mut groups = BTreeSet::new();
                    for nonce in nonces {
                        groups.extend(proof::verify(&self.groups, &proofs, nonce, &peer, &self.me));
                    }
                    self.on_proven(peer, groups, network);
                    Response::Proven
                }
                _ => {
                    self.strike(peer);
                    Response::Refused("say hello first".into())
                }
            },
            Request::Summary { tag, .. } | Request::Fetch { tag, .. } => {
                let Some(group) = self.tags.get(&tag).copied() else {
                    self.strike(peer);
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, Response::Refused("no such group here".into()));
                    return;
                };
                if !self.peers.proved(&peer, &group) {
                    self.strike(peer);
                    Response::Refused("prove membership first".into())
                } else {
                    serve::spawn(network.clone(), group, request, channel);
                    return;
                }
            }
            Request::JoinHello { .. } | Request::Join(_) => {
                serve::spawn_join(network.clone(), peer, request, channel);
                return;
            }
            // Devices keep no blind store; only relays do.
            Request::StoreHello { .. }
            | Request::StoreProve { .. }
            | Request::Push { .. }
            | Request::PushSnapshot { .. } => {
                self.strike(peer);
                Response::Refused("this is a device, not a storing relay".into())
            }
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response);
    }

    /// Counts a protocol violation; a peer with too many is disconnected and refused
    /// for a while (honest peers never break the protocol).
    fn strike(&mut self, peer: PeerId) {
        if self.strikes.len() >= MAX_BANNED {
            self.strikes.clear();
        }
        let strikes = self.strikes.entry(peer).or_default();
        *strikes += 1;
        if *strikes >= MAX_STRIKES {
            warn!(%peer, "dropping a peer that keeps breaking the protocol");
            self.strikes.remove(&peer);
            if self.banned.len() >= MAX_BANNED {
                let now = std::time::Instant::now();
                self.banned.retain(|_, until| *until > now);
            }
            if self.banned.len() < MAX_BANNED {
                self.banned.insert(peer, std::time::Instant::now() + BAN);
            }
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn on_proven(&mut self, peer: PeerId, groups: BTreeSet<GroupId>, network: &Network) {
        debug!(%peer, groups = groups.len(), "proven");
        if !groups.is_empty() {
            let addresses = self.peers.listen_addrs(&peer);
            self.book.learn(peer, &addresses);
        }
        for group in self.peers.set_proven(peer, groups) {
            self.spawn_catch_up(peer, group, network);
        }
    }

    fn on_command(&mut self, command: Command, network: &Network) {
        match command {
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::Validated {
                message,
                source,
                acceptance,
            } => {
                self.validating = self.validating.saturating_sub(1);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message, &source, acceptance);
            }
            Command::Proven { peer, groups } => self.on_proven(peer, groups, network),
            Command::StoreRegistered {
                relay,
                group,
                epoch,
            } => {
                self.registering.remove(&(relay, group));
                if let Some(epoch) = epoch
                    && self.swarm.is_connected(&relay)
                {
                    info!(%relay, "the relay stores for a group");
                    self.stores.entry(relay).or_default().insert(group, epoch);
                    self.spawn_push_missing(relay, group, network);
                    self.spawn_catch_up(relay, group, network);
                }
            }
            Command::Pushed => self.pushing = self.pushing.saturating_sub(1),
            Command::PushedMissing { relay, group } => {
                self.pushing_missing.remove(&(relay, group));
                let wrote_since = self
                    .pushed_live
                    .get(&(relay, group))
                    .is_some_and(|n| *n > 0);
                let stores = self
                    .stores
                    .get(&relay)
                    .is_some_and(|g| g.contains_key(&group));
                if wrote_since && stores && self.swarm.is_connected(&relay) {
                    self.spawn_push_missing(relay, group, network);
                }
            }
            Command::Compared {
                peer,
                group,
                theirs,
            } => self.peers.compared(peer, group, theirs),
            Command::CatchUpDone { peer, group } => {
                if self.catching_up.get(&group) == Some(&peer) {
                    self.catching_up.remove(&group);
                }
                while let Some(next) = self
                    .catch_up_queue
                    .get_mut(&group)
                    .and_then(|q| (!q.is_empty()).then(|| q.remove(0)))
                {
                    if self.spawn_catch_up(next, group, network) {
                        break;
                    }
                }
            }
            Command::CatchUp { peer, group } => {
                self.spawn_catch_up(peer, group, network);
            }
            Command::CatchingUp { group, reply } => {
                let busy = self.catching_up.contains_key(&group)
                    || self
                        .catch_up_queue
                        .get(&group)
                        .is_some_and(|q| !q.is_empty());
                let _ = reply.send(busy);
            }
            Command::GroupsChanged => self.on_groups_changed(network),
            Command::Discover { relay, name } => {
                let Some(peer) = super::relays::peer_of(&relay) else {
                    return;
                };
                if self.swarm.is_connected(&peer) {
                    self.discover(peer, name);
                } else {
                    // A join asks for the few relays of its link; relays it never
                    // reached are forgotten once there are too many.
                    if self.to_discover.len() >= super::relays::MAX_RELAYS
                        && !self.to_discover.contains_key(&peer)
                    {
                        self.to_discover.clear();
                    }
                    let names = self.to_discover.entry(peer).or_default();
                    if !names.contains(&name) && names.len() < MAX_ANNOUNCED {
                        names.push(name);
                    }
                    if let Err(e) = self.swarm.dial(relay.clone()) {
                        debug!(%relay, "cannot dial the relay: {e}");
                    }
                }
            }
            Command::Dial(address) => {
                if let Err(e) = self.swarm.dial(address.clone()) {
                    debug!(%address, "cannot dial: {e}");
                }
            }
            Command::Connected(reply) => {
                let peers = self.peers.connected_devices();
                let relays = &self.relays;
                let _ = reply.send(peers.into_iter().filter(|p| !relays.is_relay(p)).collect());
            }
            Command::NetState(reply) => {
                let _ = reply.send(super::NetState {
                    relays: self.relays.states(),
                    reachability: self.reachability,
                    stores: self
                        .stores
                        .iter()
                        .map(|(relay, groups)| (*relay, groups.keys().copied().collect()))
                        .collect(),
                    pushing: self.pushing_missing.clone(),
                });
            }
            Command::Presence {
                group,
                typing_in,
                cursor,
            } => self.announce(group, typing_in, cursor),
            Command::PresenceList { group, reply } => {
                let _ = reply.send(self.presence_of(&group));
            }
            Command::Pairs(reply) => {
                let _ = reply.send(self.peers.proven_pairs());
            }
            Command::Status(reply) => {
                let _ = reply.send(self.peers.snapshot());
            }
        }
    }

    fn spawn_hello(&self, peer: PeerId, network: &Network) {
        let network = network.clone();
        let me = self.me;
        tokio::spawn(async move {
            if let Err(e) = catch_up::hello(&network, me, peer).await {
                debug!(%peer, "membership proof failed: {e}");
            }
        });
    }

    /// Starts catching `group` up from `peer`, or queues it behind the one running;
    /// false when the peer is gone.
    fn spawn_catch_up(&mut self, peer: PeerId, group: GroupId, network: &Network) -> bool {
        if let Some(running) = self.catching_up.get(&group) {
            let queue = self.catch_up_queue.entry(group).or_default();
            if *running != peer && !queue.contains(&peer) && queue.len() < MAX_QUEUED_CATCH_UPS {
                queue.push(peer);
            }
            return true;
        }
        if !self.swarm.is_connected(&peer) {
            return false;
        }
        self.catching_up.insert(group, peer);
        let network = network.clone();
        tokio::spawn(async move {
            if let Err(e) = catch_up::run(&network, peer, group).await {
                debug!(%peer, "catch-up failed: {e}");
            }
            let _ = network.send(Command::CatchUpDone { peer, group }).await;
        });
        true
    }

    fn catch_up_everyone(&mut self, network: &Network) {
        for (peer, group) in self.peers.proven_pairs() {
            self.spawn_catch_up(peer, group, network);
        }
        let stores: Vec<(PeerId, GroupId)> = self
            .stores
            .iter()
            .flat_map(|(relay, groups)| groups.keys().map(move |g| (*relay, *g)))
            .collect();
        for (relay, group) in stores {
            self.spawn_push_missing(relay, group, network);
            self.spawn_catch_up(relay, group, network);
        }
    }

    fn discover(&mut self, relay: PeerId, name: String) {
        match rendezvous::Namespace::new(name) {
            Ok(namespace) => self.swarm.behaviour_mut().rendezvous.discover(
                Some(namespace),
                None,
                Some(DISCOVER_LIMIT),
                relay,
            ),
            Err(e) => debug!("not a rendezvous name: {e}"),
        }
    }

    /// Announces, at every relay holding a reservation of this node, the names of
    /// every open invite of its groups: a joiner whose inviter is offline finds this
    /// node there. Renewed before the announcements expire; names of invites no
    /// longer open are withdrawn.
    fn announce_at_relays(&mut self) {
        let wanted: BTreeSet<String> = self
            .groups
            .iter()
            .flat_map(|g| g.invites.iter())
            .map(super::rendezvous_names::invite_name)
            .take(MAX_ANNOUNCED)
            .collect();
        let relays: Vec<PeerId> = self
            .relays
            .states()
            .into_iter()
            .filter(|r| r.reserved.is_some())
            .filter_map(|r| super::relays::peer_of(&r.address))
            .filter(|p| self.swarm.is_connected(p))
            .collect();
        let stale: Vec<(PeerId, String)> = self
            .announced
            .keys()
            .filter(|(relay, name)| !wanted.contains(name) || !relays.contains(relay))
            .cloned()
            .collect();
        for (relay, name) in stale {
            self.announced.remove(&(relay, name.clone()));
            if let Ok(namespace) = rendezvous::Namespace::new(name) {
                self.swarm
                    .behaviour_mut()
                    .rendezvous
                    .unregister(namespace, relay);
            }
        }
        let now = std::time::Instant::now();
        for relay in relays {
            for name in &wanted {
                let key = (relay, name.clone());
                if self
                    .announced
                    .get(&key)
                    .is_some_and(|at| now.duration_since(*at) < ANNOUNCE_RENEW)
                {
                    continue;
                }
                let Ok(namespace) = rendezvous::Namespace::new(name.clone()) else {
                    continue;
                };
                match self.swarm.behaviour_mut().rendezvous.register(
                    namespace,
                    relay,
                    Some(ANNOUNCE_TTL),
                ) {
                    Ok(()) => {
                        self.announced.insert(key, now);
                    }
                    Err(e) => debug!(%relay, "cannot announce at the relay: {e}"),
                }
            }
        }
    }

    /// Registers, at the connected relay `relay`, each group that names it as one of
    /// its relays and is not registered there yet with its current epoch's key.
    fn register_at_store(&mut self, relay: PeerId, network: &Network) {
        let groups: Vec<(GroupId, Option<Hash>)> = self
            .groups
            .iter()
            .filter(|g| {
                g.relays.iter().any(|r| {
                    Multiaddr::try_from(r.clone())
                        .ok()
                        .and_then(|a| super::relays::peer_of(&a))
                        == Some(relay)
                })
            })
            .map(|g| (g.group, g.epochs.first().map(|(epoch, _)| *epoch)))
            .collect();
        for (group, epoch) in groups {
            let stored = self
                .stores
                .get(&relay)
                .and_then(|s| s.get(&group))
                .is_some_and(|registered| Some(registered) == epoch.as_ref());
            if stored || !self.registering.insert((relay, group)) {
                continue;
            }
            let network = network.clone();
            let me = self.me;
            tokio::spawn(async move {
                let stores = match store_sync::register(&network, me, relay, group).await {
                    Ok(stores) => stores,
                    Err(e) => {
                        warn!(%relay, "cannot use the relay's store: {e}");
                        false
                    }
                };
                let _ = network
                    .send(Command::StoreRegistered {
                        relay,
                        group,
                        epoch: epoch.filter(|_| stores),
                    })
                    .await;
            });
        }
    }

    fn spawn_push_missing(&mut self, relay: PeerId, group: GroupId, network: &Network) {
        if !self.pushing_missing.insert((relay, group)) {
            return; // One round at a time: the one under way does it.
        }
        self.pushed_live.remove(&(relay, group));
        let network = network.clone();
        tokio::spawn(async move {
            match store_sync::push_missing(&network, relay, group).await {
                Ok(0) => {}
                Ok(n) => debug!(%relay, envelopes = n, "pushed to the relay's store"),
                Err(e) => debug!(%relay, "push to the relay's store failed: {e}"),
            }
            let _ = network.send(Command::PushedMissing { relay, group }).await;
        });
    }

    /// Pushes a sealed envelope to the relays that store for its group.
    fn push_to_stores(&mut self, group: GroupId, envelope: &[u8], network: &Network) {
        let relays: Vec<PeerId> = self
            .stores
            .iter()
            .filter(|(_, groups)| groups.contains_key(&group))
            .map(|(relay, _)| *relay)
            .collect();
        for relay in relays {
            let live = self.pushed_live.entry((relay, group)).or_default();
            *live += 1;
            if *live >= store_sync::SNAPSHOT_EVERY {
                self.spawn_push_missing(relay, group, network);
            }
            if self.pushing >= MAX_PUSHING {
                return; // The next catch-up round pushes it.
            }
            self.pushing += 1;
            let network = network.clone();
            let envelopes = vec![envelope.to_vec()];
            tokio::spawn(async move {
                if let Err(e) = store_sync::push(&network, relay, group, envelopes).await {
                    debug!(%relay, "push to the relay's store failed: {e}");
                }
                let _ = network.send(Command::Pushed).await;
            });
        }
    }

    /// Asks each relay that has no reservation of this node for one (dialing it if
    /// needed), once its backoff is over.
    fn reserve_at_relays(&mut self) {
        for (relay, address) in self.relays.due() {
            match self
                .swarm
                .listen_on(address.clone().with(Protocol::P2pCircuit))
            {
                Ok(listener) => {
                    debug!(%relay, "asking the relay for a reservation");
                    self.relays.listening(&relay, listener);
                }
                Err(e) => warn!(%address, "cannot use this relay: {e}"),
            }
        }
    }

    fn on_listener_closed(&mut self, listener: ListenerId, error: Option<std::io::Error>) {
        if let Some(circuit) = self.relays.closed(listener) {
            info!(%circuit, "no longer reachable through this relay");
            self.swarm.remove_external_address(&circuit);
            self.update_invite_addresses();
        }
        if let Some(e) = error {
            debug!(?listener, "a listener closed: {e}");
        }
    }

    /// Invite links carry where a joiner can reach this node: through its relays
    /// first (reachable from anywhere the relay is), then its own addresses.
    fn update_invite_addresses(&self) {
        let mut addresses = self.relays.circuit_addresses();
        addresses.extend(self.listen.iter().cloned());
        if let Err(e) = self
            .node
            .set_invite_addresses(super::invite_addresses(&addresses))
        {
            warn!("cannot update the invite addresses: {e}");
        }
    }

    /// Dials the group peers that are away once their backoff is over, and saves the
    /// address book when it changed.
    fn redial(&mut self) {
        self.reserve_at_relays();
        self.announce_at_relays();
        self.retry_lan_peers();
        let swarm = &self.swarm;
        for (peer, addresses) in self.book.due(|p| swarm.is_connected(p)) {
            let dial = DialOpts::peer_id(peer).addresses(addresses).build();
            if let Err(e) = self.swarm.dial(dial) {
                debug!(%peer, "cannot redial: {e}");
            }
        }
        if self.book.take_changed()
            && let Err(e) = self.node.save_address_book(self.book.encode())
        {
            warn!("cannot save the address book: {e}");
        }
    }

    /// Dials again the LAN peers whose first dial did not connect, backing off, until
    /// they connect or mDNS says they are gone.
    fn retry_lan_peers(&mut self) {
        let now = std::time::Instant::now();
        let swarm = &self.swarm;
        self.lan_retries.retain(|peer, _| !swarm.is_connected(peer));
        let due: Vec<(PeerId, Multiaddr)> = self
            .lan_retries
            .iter_mut()
            .filter(|(_, (_, at, _))| *at <= now)
            .map(|(peer, (address, at, wait))| {
                *wait = (*wait * 2).min(LAN_RETRY_MAX);
                *at = now + *wait;
                (*peer, address.clone())
            })
            .collect();
        for (peer, address) in due {
            debug!(%peer, "dialing a LAN peer again");
            let dial = DialOpts::peer_id(peer).addresses(vec![address]).build();
            if let Err(e) = self.swarm.dial(dial) {
                debug!(%peer, "cannot dial: {e}");
            }
        }
    }

    /// Publishes an envelope this device sealed on its group's topic for that epoch.
    fn publish(&mut self, envelope: &[u8], network: &Network) {
        let Ok(parsed) = Envelope::decode(envelope) else {
            return;
        };
        let header = parsed.header();
        let Some(group) = self.tags.get(&header.group_tag).copied() else {
            // A group this device just created or joined: reload and try again.
            self.refresh_groups();
            if !self.tags.contains_key(&header.group_tag) {
                return;
            }
            return self.publish(envelope, network);
        };
        self.push_to_stores(group, envelope, network);
        if envelope.len() > MAX_GOSSIP {
            return; // Catch-up carries it.
        }
        let Some(topic) = self.groups.iter().find(|g| g.group == group).and_then(|g| {
            g.epochs
                .iter()
                .find(|(e, _)| *e == header.epoch)
                .map(|(_, key)| proof::topic(key, &group))
        }) else {
            self.refresh_groups();
            return;
        };
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(IdentTopic::new(topic), envelope.to_vec())
        {
            Ok(_) => {}
            // Nobody subscribed yet: catch-up will carry it.
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
            Err(e) => debug!("publish failed: {e}"),
        }
    }

    /// Hands a gossip envelope to the node; the verdict decides whether it is forwarded.
    fn validate(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
        network: &Network,
    ) {
        let topic = self.topics.get(&message.topic).copied();
        if let Some((group, epoch, true)) = topic {
            let acceptance = self.on_presence(group, epoch, &message.data);
            let _ = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&id, &source, acceptance);
            return;
        }
        let group = topic.map(|(g, _, _)| g);
        if self.validating >= MAX_VALIDATING || group.is_none() {
            let _ = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&id, &source, MessageAcceptance::Ignore);
            return;
        }
        self.validating += 1;
        self.peers.heard(source);
        let network = network.clone();
        tokio::spawn(async move {
            let node = network.node().clone();
            let data = message.data;
            let received = tokio::task::spawn_blocking(move || node.receive(&data)).await;
            let outcome = match received {
                Ok(future) => future.await,
                Err(_) => Err(IngestError::Local(crate::api::ApiError::new(
                    crate::api::ErrorKind::Storage,
                    "the ingest task failed",
                ))),
            };
            let acceptance = match &outcome {
                Ok(Ingested::Applied(_)) => MessageAcceptance::Accept,
                Ok(Ingested::Duplicate) => MessageAcceptance::Ignore,
                Ok(Ingested::Pending) | Err(IngestError::UnknownAuthor { .. }) => {
                    // It depends on something this device lacks: fetch it from the peer
                    // that sent it.
                    if let Some(group) = group {
                        let _ = network
                            .send(Command::CatchUp {
                                peer: source,
                                group,
                            })
                            .await;
                    }
                    MessageAcceptance::Ignore
                }
                Err(e) => acceptance_of(e),
            };
            let _ = network
                .send(Command::Validated {
                    message: id,
                    source,
                    acceptance,
                })
                .await;
        });
    }
}

/// The addresses worth redialing: loopback only when there is nothing else (a peer on
/// another machine is never at this machine's 127.0.0.1).
fn reachable(addresses: &[Multiaddr]) -> Vec<Multiaddr> {
    let outside: Vec<Multiaddr> = addresses
        .iter()
        .filter(|a| !is_loopback(a))
        .cloned()
        .collect();
    if outside.is_empty() {
        addresses.to_vec()
    } else {
        outside
    }
}

/// Forged, malformed or rule-breaking envelopes are rejected (their sender is scored
/// down); envelopes that may be fine for someone else, or later, are ignored.
fn acceptance_of(error: &IngestError) -> MessageAcceptance {
    match error {
        IngestError::Envelope(_)
        | IngestError::AboveCutoff { .. }
        | IngestError::OpAuthor
        | IngestError::Snapshot
        | IngestError::Authorship(_)
        | IngestError::Changes(_) => MessageAcceptance::Reject,
        _ => MessageAcceptance::Ignore,
    }
}
