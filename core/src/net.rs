//! The network: libp2p over TCP and QUIC (Noise, Yamux), mDNS on the LAN, gossipsub
//! for live envelopes, and one request–response protocol for the membership proof,
//! catch-up and joining. The only module that touches sockets.
//!
//! One task, the event loop, owns the libp2p `Swarm`; [`Network`] is a cheap handle
//! that sends it commands over a bounded channel. Work that reads the store or applies
//! envelopes runs in tasks the loop spawns, never on the loop itself.
//!
//! On every new connection the dialer runs the membership proof (`proof`): each side
//! learns which of its groups the other holds a key of, and nothing else. Then, per
//! shared group, each side runs catch-up (`catch_up`): it sends the root hash of its
//! version vector; equal roots end it ("in sync"); otherwise the other side answers
//! with its whole vector, and the asker fetches what it lacks in bounded pages,
//! membership log first, until nothing is missing or a round brings nothing new.
//! Catch-up also runs periodically and when gossip brings an envelope that waits on
//! something missing. Live envelopes travel by gossipsub on one topic per group and
//! epoch; the node validates each before it is forwarded.
//!
//! ```no_run
//! # async fn demo(node: plenum_core::Node) -> Result<(), Box<dyn std::error::Error>> {
//! use plenum_core::net::{NetConfig, Network};
//! let config = NetConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse()?], false);
//! let network = Network::start(node, config).await?;
//! println!("listening on {:?}", network.listen_addrs());
//! network.shutdown().await;
//! # Ok(()) }
//! ```

mod address_book;
mod behaviour;
mod catch_up;
mod event_loop;
mod join;
mod peers;
mod presence;
mod proof;
mod relay_server;
mod relays;
mod rendezvous_names;
mod serve;
mod store_key;
mod store_sync;
mod wire;

use std::time::Duration;

use futures_core::Stream;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::Node;
use crate::api::{ApiError, ErrorKind, Event, GroupSummary, Request, Response, StatusView};

pub use libp2p::Multiaddr as Address;
pub use libp2p::multiaddr::Protocol;
pub use relay_server::{RelayConfig, RelayServer, StoreLimits};

/// Commands buffered for the event loop.
const COMMAND_BUFFER: usize = 1024;
/// How long a join keeps looking for an admitter unless told otherwise.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// How the network runs.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/0`, `/ip4/0.0.0.0/udp/0/quic-v1`.
    pub listen: Vec<Multiaddr>,
    /// Find peers on the local network by mDNS.
    pub mdns: bool,
    /// Addresses to dial at start (besides those remembered from earlier runs).
    pub dial: Vec<Multiaddr>,
    /// How often catch-up runs with every connected peer even without a reason.
    pub catch_up_every: Duration,
    /// Relays to keep a reservation at (addresses ending in `/p2p/<relay PeerId>`), so
    /// peers behind other NATs reach this node through them.
    pub relays: Vec<Multiaddr>,
}

impl NetConfig {
    /// Listening on `listen`, with or without mDNS; catch-up every 30 s.
    pub fn new(listen: Vec<Multiaddr>, mdns: bool) -> NetConfig {
        NetConfig {
            listen,
            mdns,
            dial: Vec::new(),
            catch_up_every: Duration::from_secs(30),
            relays: Vec::new(),
        }
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The node's keys or groups could not be read.
    #[error("{0}")]
    Node(#[from] ApiError),
    /// A transport (TCP, QUIC, mDNS) failed to start.
    #[error("could not start the network: {0}")]
    Transport(#[from] std::io::Error),
    /// A listen address was refused.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: Multiaddr,
        /// Why.
        reason: String,
    },
    /// A protocol configuration was refused (a bug).
    #[error("network configuration: {0}")]
    Config(String),
}

/// What the event loop is asked to do.
enum Command {
    Request {
        peer: PeerId,
        request: wire::Request,
        reply: oneshot::Sender<Result<wire::Response, String>>,
    },
    Respond {
        channel: libp2p::request_response::ResponseChannel<wire::Response>,
        response: wire::Response,
    },
    Validated {
        message: libp2p::gossipsub::MessageId,
        source: PeerId,
        acceptance: libp2p::gossipsub::MessageAcceptance,
    },
    Proven {
        peer: PeerId,
        groups: std::collections::BTreeSet<crate::ids::GroupId>,
    },
    /// A storing relay accepted the group's store key, or refused it.
    StoreRegistered {
        relay: PeerId,
        group: crate::ids::GroupId,
        /// The epoch whose store key the relay took; `None`: it stores nothing for
        /// the group.
        epoch: Option<crate::ids::Hash>,
    },
    /// A push to a storing relay ended.
    Pushed,
    /// A round of pushing what a storing relay lacks (and snapshots) ended.
    PushedMissing {
        relay: PeerId,
        group: crate::ids::GroupId,
    },
    Compared {
        peer: PeerId,
        group: crate::ids::GroupId,
        theirs: crate::sync::VersionVector,
    },
    CatchUp {
        peer: PeerId,
        group: crate::ids::GroupId,
    },
    CatchingUp {
        group: crate::ids::GroupId,
        reply: oneshot::Sender<bool>,
    },
    CatchUpDone {
        peer: PeerId,
        group: crate::ids::GroupId,
    },
    GroupsChanged,
    /// Look for members announced under `name` at the relay `relay` (dialing it
    /// first if needed), and dial those found.
    Discover {
        relay: Multiaddr,
        name: String,
    },
    Dial(Multiaddr),
    Connected(oneshot::Sender<Vec<PeerId>>),
    Status(oneshot::Sender<peers::Snapshot>),
    NetState(oneshot::Sender<NetState>),
    Pairs(oneshot::Sender<Vec<(PeerId, crate::ids::GroupId)>>),
    Presence {
        group: crate::ids::GroupId,
        typing_in: Option<crate::ids::ItemId>,
        cursor: Option<crate::api::PadCursor>,
    },
    PresenceList {
        group: crate::ids::GroupId,
        reply: oneshot::Sender<Vec<crate::api::PresenceView>>,
    },
}

/// The event loop's relays, for the status.
struct NetState {
    relays: Vec<relays::RelayState>,
    reachability: crate::api::Reachability,
    /// Per connected storing relay, the groups it stores for.
    stores: std::collections::HashMap<PeerId, std::collections::BTreeSet<crate::ids::GroupId>>,
    /// Per storing relay, the groups a round of pushing is under way for.
    pushing: std::collections::BTreeSet<(PeerId, crate::ids::GroupId)>,
}

/// A running network. Cheap to clone.
#[derive(Clone)]
pub struct Network {
    node: Node,
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    peer_id: PeerId,
    listen: Vec<Multiaddr>,
    stopped: std::sync::Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    counts: std::sync::Arc<std::sync::Mutex<crate::api::CatchUpCounts>>,
    /// Per storing relay, group and document: how many envelopes the last snapshot
    /// pushed there covered (see `store_sync::push_snapshots`).
    snapshots_pushed: std::sync::Arc<std::sync::Mutex<store_sync::Pushed>>,
}

impl Network {
    /// Starts networking for `node` on the current Tokio runtime and returns once it
    /// listens on every address in `config.listen`.
    pub async fn start(node: Node, config: NetConfig) -> Result<Network, NetError> {
        let (commands, receiver) = mpsc::channel(COMMAND_BUFFER);
        let cancel = CancellationToken::new();
        let (event_loop, peer_id, listen) =
            event_loop::EventLoop::new(node.clone(), &config, receiver, cancel.clone()).await?;
        node.set_invite_addresses(invite_addresses(&listen))?;
        let stopped = std::sync::Arc::new(tokio::sync::Mutex::new(None));
        let network = Network {
            node,
            commands,
            cancel,
            peer_id,
            listen,
            stopped: stopped.clone(),
            counts: Default::default(),
            snapshots_pushed: Default::default(),
        };
        *stopped.lock().await = Some(tokio::spawn(event_loop.run(network.clone())));
        Ok(network)
    }

    /// The node this network serves.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// This device's network identity.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on, with `/p2p/<peer id>` appended.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen.clone()
    }

    /// Dials an address (a peer found some other way than mDNS).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), ApiError> {
        self.send(Command::Dial(address)).await
    }

    /// The peers connected now.
    pub async fn connected(&self) -> Result<Vec<PeerId>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Connected(reply)).await?;
        answer.await.map_err(|_| stopped())
    }

    /// Carries out a request: network requests here, everything else by the node.
    pub async fn call(&self, request: Request) -> Result<Response, ApiError> {
        match request {
            Request::Status { group } => self.status(group.as_deref()).await.map(Response::Status),
            Request::Join { link, timeout_ms } => {
                let timeout = timeout_ms.map_or(DEFAULT_JOIN_TIMEOUT, Duration::from_millis);
                self.join(&link, timeout, |step| tracing::info!("join: {step}"))
                    .await
                    .map(Response::Group)
            }
            Request::Presence {
                group,
                typing_in,
                cursor,
            } => {
                let group = self.node.resolve_group(&group)?;
                let typing_in = typing_in
                    .map(|channel| self.node.resolve_channel(&group, &channel))
                    .transpose()?;
                self.send(Command::Presence {
                    group,
                    typing_in,
                    cursor,
                })
                .await?;
                Ok(Response::Done)
            }
            Request::PresenceList { group } => {
                let group = self.node.resolve_group(&group)?;
                let (reply, answer) = oneshot::channel();
                self.send(Command::PresenceList { group, reply }).await?;
                Ok(Response::Presence(answer.await.map_err(|_| stopped())?))
            }
            other => self.node.call(other).await,
        }
    }

    /// The node's events.
    pub fn events(&self) -> impl Stream<Item = Event> + Send + 'static {
        self.node.events()
    }

    /// The sync status: per group, each known peer and, per document, how the two
    /// copies stand. Connected peers are compared afresh first (bounded by a few
    /// seconds), so "in sync" is never a stale claim.
    pub async fn status(&self, group: Option<&str>) -> Result<StatusView, ApiError> {
        self.node.settle().await;
        catch_up::refresh_all(self).await;
        let Response::Status(mut view) = self
            .node
            .call(Request::Status {
                group: group.map(String::from),
            })
            .await?
        else {
            return Err(ApiError::new(
                ErrorKind::Integrity,
                "the status has an unexpected shape",
            ));
        };
        let (reply, answer) = oneshot::channel();
        self.send(Command::Status(reply)).await?;
        let snapshot = answer.await.map_err(|_| stopped())?;
        let (reply, answer) = oneshot::channel();
        self.send(Command::NetState(reply)).await?;
        let state = answer.await.map_err(|_| stopped())?;
        view.reachability = state.reachability;
        let mut relays = Vec::new();
        for r in state.relays {
            let peer = relays::peer_of(&r.address);
            let mut stores = Vec::new();
            for group in peer
                .and_then(|p| state.stores.get(&p))
                .into_iter()
                .flatten()
            {
                let mine = self.node.version_vector(group)?;
                // Not while a round is still pushing there: its last step is the
                // snapshots that let a returning device catch up fast.
                let holds_all_mine = peer.is_some_and(|p| {
                    !state.pushing.contains(&(p, *group))
                        && snapshot
                            .compared_with(&p, group)
                            .is_some_and(|theirs| theirs.behind_by(&mine) == 0)
                });
                stores.push(crate::api::RelayStore {
                    group: *group,
                    holds_all_mine,
                });
            }
            relays.push(crate::api::RelayStatus {
                address: r.address.to_string(),
                circuit: r.reserved.map(|a| a.to_string()),
                stores,
            });
        }
        view.relays = relays;
        view.online = true;
        view.catch_up = self.counts.lock().map(|c| *c).unwrap_or_default();
        view.peer_id = Some(self.peer_id.to_string());
        view.listen = self.listen.iter().map(ToString::to_string).collect();
        for g in &mut view.groups {
            g.peers = snapshot.group_peers(&self.node, &g.id).await;
        }
        Ok(view)
    }

    /// Joins with an invite link: asks every reachable peer (the link's addresses,
    /// peers found by mDNS) for an admitter, is admitted, and catches up. `progress`
    /// hears what is happening, for people watching.
    pub async fn join(
        &self,
        link: &str,
        timeout: Duration,
        progress: impl FnMut(&str) + Send,
    ) -> Result<GroupSummary, ApiError> {
        join::join(self, link, timeout, progress).await
    }

    /// Stops the network and waits for the event loop to end.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        if let Some(task) = self.stopped.lock().await.take() {
            let _ = task.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), ApiError> {
        self.commands.send(command).await.map_err(|_| stopped())
    }

    /// Sends a request to a peer and waits for its answer.
    async fn request(
        &self,
        peer: PeerId,
        request: wire::Request,
    ) -> Result<wire::Response, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|e| ApiError::new(ErrorKind::Network, format!("peer {peer}: {e}")))
    }
}

/// The addresses an invite link carries: up to three of `addresses`, in their order
/// except that loopback ones come last (other devices cannot reach them).
fn invite_addresses(addresses: &[Multiaddr]) -> Vec<Vec<u8>> {
    let mut sorted: Vec<&Multiaddr> = addresses.iter().collect();
    sorted.sort_by_key(|a| peers::is_loopback(a));
    sorted
        .into_iter()
        .map(|a| a.to_vec())
        .filter(|a| a.len() <= crate::invite::MAX_ADDRESS_LEN)
        .take(crate::invite::MAX_ADDRESSES)
        .collect()
}

/// How long to wait for the listen addresses at start.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Listens on every address of `listen` and waits until each reported where it
/// listens (port 0 becomes a port); the addresses come back with `/p2p/<me>`.
async fn listen_all<B: libp2p::swarm::NetworkBehaviour>(
    swarm: &mut libp2p::Swarm<B>,
    listen: &[Multiaddr],
    me: PeerId,
) -> Result<Vec<Multiaddr>, NetError> {
    use libp2p::futures::StreamExt;
    use libp2p::swarm::SwarmEvent;
    for address in listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| NetError::Listen {
                address: address.clone(),
                reason: e.to_string(),
            })?;
    }
    let mut addresses = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while addresses.len() < listen.len() {
        let event = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| NetError::Config("the listeners did not start in time".into()))?;
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                addresses.push(address.with_p2p(me).unwrap_or_else(|a| a));
            }
            SwarmEvent::ListenerError { error, .. }
            | SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => return Err(NetError::Transport(error)),
            _ => {}
        }
    }
    Ok(addresses)
}

fn stopped() -> ApiError {
    ApiError::new(ErrorKind::Network, "the network stopped")
}
