//! Starting networking for a node the CLI runs: `plenum up`, and `plenum join` when no
//! node is running.

use std::time::Duration;

use anyhow::{Context, Result};
use plenum_core::Node;
use plenum_core::api::GroupSummary;
use plenum_core::net::{Address, NetConfig, Network};

use crate::service::NetOptions;

/// Listen addresses when none are given: every interface, TCP and QUIC, any port.
pub(crate) const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

/// Parses `--listen` values (the defaults when there are none).
pub(crate) fn listen_addresses(given: &[String]) -> Result<Vec<Address>> {
    parse_addresses("--listen", given, &DEFAULT_LISTEN, "/ip4/0.0.0.0/tcp/0")
}

/// Parses the multiaddrs given to `flag` (`default` when there are none); a bad one is
/// an error suggesting `example`.
pub(crate) fn parse_addresses(
    flag: &str,
    given: &[String],
    default: &[&str],
    example: &str,
) -> Result<Vec<Address>> {
    let texts: Vec<&str> = if given.is_empty() {
        default.to_vec()
    } else {
        given.iter().map(String::as_str).collect()
    };
    texts
        .into_iter()
        .map(|t| {
            t.parse::<Address>()
                .with_context(|| format!("{flag} {t:?} is not a multiaddr; try {example}"))
        })
        .collect()
}

/// Parses `--relay` values: multiaddrs that end in the relay's PeerId.
pub(crate) fn relay_addresses(given: &[String]) -> Result<Vec<Address>> {
    given
        .iter()
        .map(|t| {
            let address = t.parse::<Address>().with_context(|| {
                format!("--relay {t:?} is not a multiaddr; `plenum relay` prints its addresses")
            })?;
            match address.iter().last() {
                Some(plenum_core::net::Protocol::P2p(_)) => Ok(address),
                _ => anyhow::bail!(
                    "--relay {t:?} does not end in /p2p/<the relay's id>; copy an address `plenum relay` prints"
                ),
            }
        })
        .collect()
}

/// Starts the network for `node`.
pub(crate) async fn start(node: Node, options: &NetOptions) -> Result<Network> {
    let mut config = NetConfig::new(listen_addresses(&options.listen)?, options.mdns);
    config.relays = relay_addresses(&options.relays)?;
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
    options: &NetOptions,
) -> Result<GroupSummary> {
    let network = start(node, options).await?;
    let joined = network
        .join(link, timeout, |step| eprintln!("plenum: {step}"))
        .await;
    network.shutdown().await;
    Ok(joined?)
}
