//! `plenum relay`: run a relay for groups whose devices sit behind NATs. It relays
//! encrypted connections and sees no content; its addresses go to `plenum up --relay`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use plenum_core::net::{Address, RelayConfig, RelayServer, StoreLimits};

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
    /// Keep the envelopes of groups that register here, in this directory, so that
    /// devices never online together still converge. They stay encrypted: the relay
    /// holds no group key.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// With --store: bytes kept per group, e.g. 256MiB or 1GiB.
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "256MiB",
        requires = "store"
    )]
    quota: String,
    /// With --store: groups kept at most.
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "store")]
    max_groups: usize,
    /// With --store: how long an envelope is kept after it arrived.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "90days",
        requires = "store"
    )]
    expire: humantime::Duration,
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
    if let Some(dir) = args.store {
        let limits = StoreLimits {
            group_bytes: parse_size(&args.quota)?,
            max_groups: args.max_groups,
            expiry: args.expire.into(),
        };
        config.store = Some((dir, limits));
    }
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

/// A size such as `4096`, `500KiB`, `256MiB` or `1GiB`.
fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, ""), |i| t.split_at(i));
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => bail!("--quota {text:?}: unknown unit {other:?}; use B, KiB, MiB or GiB"),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .with_context(|| format!("--quota {text:?} is not a size; try 256MiB"))
}

fn parse_all(flag: &str, given: &[String], default: &[&str]) -> Result<Vec<Address>> {
    crate::network::parse_addresses(flag, given, default, "/ip4/0.0.0.0/tcp/4001")
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_binary_units_and_bad_ones_say_why() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("500KiB").unwrap(), 500 << 10);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12MB").unwrap_err().to_string().contains("unit"));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }
}
