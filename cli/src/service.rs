//! What the local API server serves: a [`Service`], and [`start_services`], the one
//! place where a node's background services (networking) start.

use std::sync::Arc;

use anyhow::Result;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use plenum_core::Node;
use plenum_core::api::{ApiError, Event, Request, Response};
use plenum_core::net::Network;

/// The API a running node offers its front ends: the same contract as
/// [`Node::call`] and [`Node::events`], behind a trait so that a network-aware node
/// can wrap the plain one.
pub(crate) trait Service: Send + Sync + 'static {
    /// Applies `request` before returning, so requests are applied in the order of
    /// the calls (the WebSocket relies on it), and returns a future that resolves
    /// once the result is durable. Applying may block briefly on disk reads: call it
    /// where blocking is allowed (the server uses `spawn_blocking`).
    fn call(&self, request: Request) -> BoxFuture<'static, Result<Response, ApiError>>;

    /// Everything that changes from now on; a listener that falls behind gets
    /// [`Event::Lagged`].
    fn events(&self) -> BoxStream<'static, Event>;

    /// Stops background work (the network) before the node closes.
    fn shutdown(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

impl Service for Node {
    fn call(&self, request: Request) -> BoxFuture<'static, Result<Response, ApiError>> {
        Box::pin(Node::call(self, request))
    }

    fn events(&self) -> BoxStream<'static, Event> {
        Box::pin(Node::events(self))
    }
}

impl Service for Network {
    fn call(&self, request: Request) -> BoxFuture<'static, Result<Response, ApiError>> {
        match request {
            // Network requests take their time; nothing else waits on their order.
            Request::Status { .. }
            | Request::Join { .. }
            | Request::Presence { .. }
            | Request::PresenceList { .. } => {
                let network = self.clone();
                Box::pin(async move { network.call(request).await })
            }
            // Everything else is applied now, in call order, by the node.
            other => Box::pin(self.node().call(other)),
        }
    }

    fn events(&self) -> BoxStream<'static, Event> {
        Box::pin(Network::events(self))
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let network = self.clone();
        Box::pin(async move { network.shutdown().await })
    }
}

/// How `plenum up` was asked to network.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetOptions {
    /// `--listen` multiaddrs, as given (parsed when networking starts).
    pub(crate) listen: Vec<String>,
    /// Whether to find peers on the local network with mDNS (`--no-mdns` turns it off).
    pub(crate) mdns: bool,
    /// `--relay` multiaddrs, as given.
    pub(crate) relays: Vec<String>,
}

/// A running node's services.
pub(crate) struct Services {
    /// What the API serves.
    pub(crate) service: Arc<dyn Service>,
    /// The addresses the network listens on (multiaddrs), for `node.json` and the
    /// `listening:` lines.
    pub(crate) listen: Vec<String>,
}

/// Starts what runs alongside an unlocked node — the network, listening on
/// `options.listen` (or every interface), with mDNS unless turned off — and returns
/// the network-aware service the API serves.
pub(crate) async fn start_services(node: Node, options: &NetOptions) -> Result<Services> {
    let network = crate::network::start(node, options).await?;
    let listen = network
        .listen_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(Services {
        service: Arc::new(network),
        listen,
    })
}
