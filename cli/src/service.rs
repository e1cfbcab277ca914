//! What the local API server serves: a [`Service`], and [`start_services`], the one
//! place where a node's background services (networking) start.

use std::sync::Arc;

use anyhow::Result;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use plenum_core::Node;
use plenum_core::api::{ApiError, Event, Request, Response};

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
}

impl Service for Node {
    fn call(&self, request: Request) -> BoxFuture<'static, Result<Response, ApiError>> {
        Box::pin(Node::call(self, request))
    }

    fn events(&self) -> BoxStream<'static, Event> {
        Box::pin(Node::events(self))
    }
}

/// How `plenum up` was asked to network.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetOptions {
    /// `--listen` multiaddrs, as given (parsed when networking starts).
    pub(crate) listen: Vec<String>,
    /// Whether to find peers on the local network with mDNS (`--no-mdns` turns it off).
    pub(crate) mdns: bool,
}

/// A running node's services.
pub(crate) struct Services {
    /// What the API serves.
    pub(crate) service: Arc<dyn Service>,
    /// The addresses the network listens on (multiaddrs), for `node.json` and the
    /// `listening:` lines.
    pub(crate) listen: Vec<String>,
}

/// Starts what runs alongside an unlocked node and returns what the API serves.
///
/// THE NETWORKING SEAM: libp2p networking starts here (listening on
/// `options.listen`, mDNS unless `!options.mdns`), and the returned service becomes
/// the network-aware wrapper of `node`. Until then this serves the node alone and
/// listens nowhere: an honest, offline node, with an empty listen list.
pub(crate) async fn start_services(node: Node, options: &NetOptions) -> Result<Services> {
    tracing::info!(
        listen = ?options.listen,
        mdns = options.mdns,
        "networking is not started yet: serving the node alone"
    );
    Ok(Services {
        service: Arc::new(node),
        listen: Vec::new(),
    })
}
