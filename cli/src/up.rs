//! `plenum up`: run the node for a data directory in the foreground, serving the
//! local API, until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use plenum_core::store::StoreError;
use plenum_core::{Node, NodeConfig, NodeError, Unlock, UnlockMethod};

use crate::node_file::{self, NodeFile};
use crate::server::{Host, Phase, UiFiles, router};
use crate::service::NetOptions;
use crate::unlock::PassphraseSource;

/// How long open WebSockets get to finish when the node stops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Args)]
pub(crate) struct UpArgs {
    /// A network address to listen on, e.g. /ip4/0.0.0.0/tcp/0; repeatable.
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    no_mdns: bool,
    /// Where the web UI and the local API listen: 127.0.0.1:PORT (default
    /// 127.0.0.1:7419, or a free port if that one is taken; port 0: any free port).
    #[arg(long, alias = "api", value_name = "ADDR")]
    ui: Option<SocketAddr>,
}

/// The UI's usual address, so its bookmark keeps working.
const DEFAULT_UI: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7419);

pub(crate) fn run(dir: PathBuf, args: UpArgs, passphrase: &PassphraseSource) -> Result<()> {
    if let Some(ui) = args.ui
        && ui.ip() != Ipv4Addr::LOCALHOST
    {
        bail!(
            "--ui {ui} is not on this machine only; the UI and local API listen on 127.0.0.1 (e.g. --ui 127.0.0.1:7419)"
        );
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    create_private_dir(&dir)?;
    // Held until the process ends: one node per data directory, even while locked.
    let lock = hold_lock(&dir)?;
    let net = NetOptions {
        listen: args.listen,
        mdns: !args.no_mdns,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(serve(dir, args.ui, net, passphrase));
    // Blocking tasks (a request being applied) may still hold the node briefly.
    runtime.shutdown_timeout(CLOSE_TIMEOUT);
    drop(lock);
    result
}

async fn serve(
    dir: PathBuf,
    ui: Option<SocketAddr>,
    net: NetOptions,
    passphrase: &PassphraseSource,
) -> Result<()> {
    let (phase, node) = match open(&dir, passphrase)? {
        Start::Empty => (Phase::Empty, None),
        Start::Locked => (Phase::Locked, None),
        // Unavailable only until `host.run` below, before anything is served.
        Start::Unlocked(node) => (Phase::Unavailable, Some(node)),
    };
    let listener = bind(ui).await?;
    let address = listener.local_addr().context("the API's address")?;
    let token = node_file::new_token()?;
    let file = NodeFile {
        pid: std::process::id(),
        api: address.to_string(),
        ui: format!("http://{address}/#token={token}"),
        token,
        listen: Vec::new(),
    };
    file.write(&dir)?;
    let host = Arc::new(Host::new(
        dir.clone(),
        net,
        file.clone(),
        address.port(),
        phase,
        UiFiles::from_env(),
    ));
    let served = async {
        if let Some(node) = node {
            host.run(node).await?;
        } else if host.state() == crate::wire::NodeState::Locked {
            eprintln!("The profile is locked: run `plenum unlock` to unlock it.");
        } else {
            eprintln!("No profile here yet: run `plenum init --name NAME` to create one.");
        }
        println!("api: http://{address}");
        println!("ui: {}", file.ui);
        std::io::stdout()
            .flush()
            .context("writing to standard output")?;

        let shutdown = host.shutdown.clone();
        tokio::spawn(async move {
            stop_signal().await;
            shutdown.cancel();
        });
        let stopped = host.shutdown.clone();
        axum::serve(listener, router(host.clone()))
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await
            .context("serving the local API")
    }
    .await;
    host.shutdown.cancel();
    host.sockets.close();
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, host.sockets.wait()).await;
    // The node's last handle goes here; dropping it waits for its writer to finish,
    // so the store is closed before node.json says nobody runs.
    let phase = host.stop();
    if let Phase::Running(service) = &phase {
        service.shutdown().await;
    }
    let _ = tokio::task::spawn_blocking(move || drop(phase)).await;
    file.remove(&dir);
    served
}

/// The UI's listener: where `--ui` says, else the usual port, else any free one.
async fn bind(ui: Option<SocketAddr>) -> Result<tokio::net::TcpListener> {
    let bind = |address: SocketAddr| async move {
        tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for the UI and local API"))
    };
    match ui {
        Some(address) => bind(address).await,
        None => match bind(DEFAULT_UI).await {
            Ok(listener) => Ok(listener),
            Err(_) => bind(SocketAddr::new(DEFAULT_UI.ip(), 0)).await,
        },
    }
}

/// How the node starts.
enum Start {
    /// No profile yet: waits for `/api/init`.
    Empty,
    /// Behind a passphrase nobody gave: waits for `/api/unlock`.
    Locked,
    Unlocked(Node),
}

/// Opens the profile right away when its key is at hand (a key file, or a passphrase
/// from `--passphrase-fd` or `PLENUM_PASSPHRASE`).
fn open(dir: &Path, passphrase: &PassphraseSource) -> Result<Start> {
    let unlock = match Node::unlock_method(dir) {
        Err(NodeError::Store(StoreError::NotInitialized(_))) => return Ok(Start::Empty),
        Err(e) => return Err(e.into()),
        Ok(UnlockMethod::KeyFile(_)) => Unlock::Auto,
        Ok(UnlockMethod::Passphrase) if passphrase.fd.is_some() || passphrase.env.is_some() => {
            Unlock::Passphrase(passphrase.read("Passphrase: ", false)?)
        }
        Ok(UnlockMethod::Passphrase) => return Ok(Start::Locked),
    };
    let node = Node::open(&NodeConfig::new(dir), unlock).map_err(|e| in_use(dir, e))?;
    Ok(Start::Unlocked(node))
}

/// Names the process holding the store, when `node.json` says who it is.
fn in_use(dir: &Path, e: NodeError) -> anyhow::Error {
    match (&e, NodeFile::read(dir)) {
        (NodeError::Store(StoreError::InUse(_)), Some(file)) if node_file::pid_alive(file.pid) => {
            anyhow::anyhow!(
                "a node already runs for {} (pid {}); stop it first, or use it: commands attach to it",
                dir.display(),
                file.pid
            )
        }
        _ => e.into(),
    }
}

fn hold_lock(dir: &Path) -> Result<std::fs::File> {
    let path = node_file::lock_path(dir);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = NodeFile::read(dir)
                .map(|f| format!(" (pid {})", f.pid))
                .unwrap_or_default();
            bail!(
                "a node already runs for {}{pid}; stop it first, or use it: commands attach to it",
                dir.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}
