//! A node serving one data directory on this machine: the store held (open, or waiting
//! for a profile or its passphrase), the network, the local API and web UI on
//! 127.0.0.1, and `node.json`, so other commands attach to it. `plenum up` runs one
//! in the foreground; the desktop and mobile shells run one in their own process and
//! call it directly ([`LocalNode::call`]) rather than over HTTP.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use plenum_core::api::{ApiError, Event, Request, Response};
use plenum_core::store::StoreError;
use plenum_core::{Node, NodeConfig, NodeError, Unlock, UnlockMethod};
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::node_file::{self, NodeFile};
use crate::server::{Host, Phase, UiFiles, router};
use crate::service::NetOptions;
use crate::unlock::PassphraseSource;
use crate::wire::{Health, InitBody, NodeState, WireError};

/// How long open WebSockets get to finish when the node stops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The UI's usual address, so its bookmark keeps working.
const DEFAULT_UI: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7419);

/// How a local node networks and where it serves.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// Where the web UI and local API listen (127.0.0.1 only). `None`: the usual port,
    /// or any free one if it is taken.
    pub ui: Option<SocketAddr>,
    /// Multiaddrs to listen on; empty: every interface.
    pub listen: Vec<String>,
    /// Find the group's devices on the LAN by mDNS.
    pub mdns: bool,
    /// Relays to be reachable through (multiaddrs ending in the relay's PeerId).
    pub relays: Vec<String>,
}

/// A node running in this process for one data directory.
pub struct LocalNode {
    host: Arc<Host>,
    dir: PathBuf,
    file: NodeFile,
    address: SocketAddr,
    /// The server's task and the data directory's lock (held until the node stops:
    /// one node per data directory, even while locked); taken by `stop`.
    running: std::sync::Mutex<Option<(JoinHandle<Result<()>>, std::fs::File)>>,
}

impl LocalNode {
    /// Takes the data directory (creating it), opens its profile when the key is at
    /// hand (a key file, or a passphrase from `passphrase`), and serves the local API.
    /// Fails when another process runs a node for it. Call within a Tokio runtime.
    pub async fn start(
        dir: &Path,
        options: LocalOptions,
        passphrase: &PassphraseSource,
    ) -> Result<LocalNode> {
        if let Some(ui) = options.ui
            && ui.ip() != Ipv4Addr::LOCALHOST
        {
            bail!(
                "--ui {ui} is not on this machine only; the UI and local API listen on 127.0.0.1 (e.g. --ui 127.0.0.1:7419)"
            );
        }
        create_private_dir(dir)?;
        let lock = hold_lock(dir)?;
        let (phase, node) = match open(dir, passphrase)? {
            Start::Empty => (Phase::Empty, None),
            Start::Locked => (Phase::Locked, None),
            // Unavailable only until `host.run` below, before anything is served.
            Start::Unlocked(node) => (Phase::Unavailable, Some(node)),
        };
        let listener = bind(options.ui).await?;
        let address = listener.local_addr().context("the API's address")?;
        let token = node_file::new_token()?;
        let file = NodeFile {
            pid: std::process::id(),
            api: address.to_string(),
            ui: format!("http://{address}/#token={token}"),
            token,
            listen: Vec::new(),
        };
        file.write(dir)?;
        let net = NetOptions {
            listen: options.listen,
            mdns: options.mdns,
            relays: options.relays,
        };
        let host = Arc::new(Host::new(
            dir.to_path_buf(),
            net,
            file.clone(),
            address.port(),
            phase,
            UiFiles::from_env(),
        ));
        if let Some(node) = node
            && let Err(e) = host.run(node).await
        {
            file.remove(dir);
            return Err(e);
        }
        let shutdown = host.shutdown.clone();
        let app = router(host.clone());
        let served = tokio::spawn(async move {
            let stopped = shutdown.clone();
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
                .context("serving the local API");
            // Whatever ended the server ends the node.
            shutdown.cancel();
            served
        });
        Ok(LocalNode {
            host,
            dir: dir.to_path_buf(),
            file,
            address,
            running: std::sync::Mutex::new(Some((served, lock))),
        })
    }

    /// Where the local API listens.
    pub fn api_address(&self) -> SocketAddr {
        self.address
    }

    /// The web UI's link, with the token.
    pub fn ui_url(&self) -> &str {
        &self.file.ui
    }

    pub fn state(&self) -> NodeState {
        self.host.state()
    }

    pub fn health(&self) -> Health {
        self.host.health()
    }

    /// Creates the profile (the data directory had none) and starts the node.
    pub async fn init(&self, body: InitBody) -> Result<Response, WireError> {
        self.host.init(body).await
    }

    /// Unlocks a profile behind a passphrase and starts the node.
    pub async fn unlock(&self, passphrase: Zeroizing<String>) -> Result<Health, WireError> {
        self.host.unlock(passphrase).await
    }

    /// Applies `request` before it returns, so requests are applied in the order of
    /// the calls; the future it returns resolves once the result is durable.
    pub async fn call(
        &self,
        request: Request,
    ) -> Result<BoxFuture<'static, Result<Response, ApiError>>, WireError> {
        self.host.call(request).await
    }

    /// The running node's events from now on (a slow reader gets `Lagged`).
    pub fn events(&self) -> Result<BoxStream<'static, Event>, WireError> {
        self.host.events()
    }

    /// Resolves when something asked the node to stop, or its server ended.
    pub async fn stopping(&self) {
        self.host.shutdown.cancelled().await;
    }

    /// Stops serving, closes the node (its store is closed when this returns) and
    /// removes `node.json`. Later calls do nothing.
    pub async fn stop(&self) -> Result<()> {
        let Some((served, lock)) = self.running.lock().ok().and_then(|mut r| r.take()) else {
            return Ok(());
        };
        let host = &self.host;
        host.shutdown.cancel();
        host.sockets.close();
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, host.sockets.wait()).await;
        // The node's last handle goes here; dropping it waits for its writer to
        // finish, so the store is closed before node.json says nobody runs.
        let phase = host.stop();
        if let Phase::Running(service) = &phase {
            service.shutdown().await;
        }
        let _ = tokio::task::spawn_blocking(move || drop(phase)).await;
        self.file.remove(&self.dir);
        let served = served
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the local API server stopped")));
        drop(lock);
        served
    }
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
    /// No profile yet: waits for init.
    Empty,
    /// Behind a passphrase nobody gave: waits for unlock.
    Locked,
    Unlocked(Node),
}

/// Opens the profile right away when its key is at hand (a key file, the system
/// keyring, or a passphrase from `--passphrase-fd` or `PLENUM_PASSPHRASE`).
fn open(dir: &Path, passphrase: &PassphraseSource) -> Result<Start> {
    let unlock = match Node::unlock_method(dir) {
        Err(NodeError::Store(StoreError::NotInitialized(_))) => return Ok(Start::Empty),
        Err(e) => return Err(e.into()),
        Ok(UnlockMethod::KeyFile(_) | UnlockMethod::Keyring) => Unlock::Auto,
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
