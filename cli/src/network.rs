//! Starting networking for a node the CLI runs: `plenum up`, and `plenum join` when no
//! node is running.

use std::time::Duration;

use anyhow::{Context, Result};
use plenum_core::Node;
use plenum_core::api::GroupSummary;
use plenum_core::net::{Address, NetConfig, Network};

/// Listen addresses when none are given: every interface, TCP and QUIC, any port.
pub(crate) const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

/// Parses `--listen` values (the defaults when there are none).
pub(crate) fn listen_addresses(given: &[String]) -> Result<Vec<Address>> {
    let texts: Vec<&str> = if given.is_empty() {
        DEFAULT_LISTEN.to_vec()
    } else {
        given.iter().map(String::as_str).collect()
    };
    texts
        .into_iter()
        .map(|t| {
            t.parse::<Address>().with_context(|| {
                format!("--listen {t:?} is not a multiaddr; try /ip4/0.0.0.0/tcp/0")
            })
        })
        .collect()
}

/// Starts the network for `node`.
pub(crate) async fn start(node: Node, listen: &[String], mdns: bool) -> Result<Network> {
    let config = NetConfig::new(listen_addresses(listen)?, mdns);
    Network::start(node, config)
        .await
        .context("starting the network")
}

/// Joins with `link` on a network started only for this, printing progress on stderr;
/// stops the network afterwards.
pub(crate) async fn join_once(
    node: Node,
    link: &str,
    timeout: Duration,
    listen: &[String],
    mdns: bool,
) -> Result<GroupSummary> {
    let network = start(node, listen, mdns).await?;
    let joined = network
        .join(link, timeout, |step| eprintln!("plenum: {step}"))
        .await;
    network.shutdown().await;
    Ok(joined?)
}
