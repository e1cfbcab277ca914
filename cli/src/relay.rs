//! `plenum relay`: run a relay for groups whose devices sit behind NATs. It relays
//! encrypted connections and sees no content; its addresses go to `plenum up --relay`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use plenum_core::net::{Address, RelayConfig, RelayServer};

/// Where a relay listens when not told: a fixed port, so its address stays the same
/// across restarts (groups and invite links keep it).
const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"];

#[derive(Args)]
pub(crate) struct RelayArgs {
    /// A network address to listen on (default /ip4/0.0.0.0/tcp/4001 and QUIC on
    /// udp/4001); repeatable.
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// An address clients reach this relay at besides those it listens on (its public
    /// address behind a port forward); repeatable.
    #[arg(long, value_name = "MULTIADDR")]
    announce: Vec<String>,
    /// The relay's identity (a 32-byte secret; created if missing). Keep it: groups
    /// name the relay by it. Default: relay.key in the data directory.
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
}

pub(crate) fn run(dir: &Path, args: RelayArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let listen = parse_all("--listen", &args.listen, &DEFAULT_LISTEN)?;
    let mut config = RelayConfig::new(listen);
    config.announce = parse_all("--announce", &args.announce, &[])?;
    let key_path = args.key.unwrap_or_else(|| dir.join("relay.key"));
    let key = load_or_create_key(&key_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let relay = RelayServer::start(*key, config)
            .await
            .context("starting the relay")?;
        for address in relay.addresses() {
            println!("relay: {address}");
        }
        std::io::stdout()
            .flush()
            .context("writing to standard output")?;
        crate::up::stop_signal().await;
        relay.shutdown().await;
        Ok::<(), anyhow::Error>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn parse_all(flag: &str, given: &[String], default: &[&str]) -> Result<Vec<Address>> {
    let texts: Vec<&str> = if given.is_empty() {
        default.to_vec()
    } else {
        given.iter().map(String::as_str).collect()
    };
    texts
        .into_iter()
        .map(|t| {
            t.parse::<Address>().with_context(|| {
                format!("{flag} {t:?} is not a multiaddr; try /ip4/0.0.0.0/tcp/4001")
            })
        })
        .collect()
}

/// The relay's identity (an Ed25519 seed) from `path`, made (mode 0600) the first time.
fn load_or_create_key(path: &Path) -> Result<zeroize::Zeroizing<[u8; 32]>> {
    let seed = match std::fs::read(path) {
        Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            anyhow::anyhow!(
                "{} is not a relay key ({} bytes, not 32); point --key elsewhere, or move it away to make a new identity (groups using this relay must then be given its new address)",
                path.display(),
                bytes.len()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed: [u8; 32] = plenum_core::crypto::random_array();
            write_private(path, &seed)?;
            seed
        }
        Err(e) => bail!("cannot read the relay key {}: {e}", path.display()),
    };
    Ok(zeroize::Zeroizing::new(seed))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the relay key {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the relay key {}", path.display()))
}
