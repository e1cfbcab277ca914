//! `plenum up`: run the node for a data directory in the foreground, serving the
//! local API, until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::local::{LocalNode, LocalOptions};
use crate::unlock::PassphraseSource;
use crate::wire::NodeState;

#[derive(Args)]
pub(crate) struct UpArgs {
    /// A network address to listen on, e.g. /ip4/0.0.0.0/tcp/0; repeatable.
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    no_mdns: bool,
    /// A relay to be reachable through, as `plenum relay` prints it
    /// (/ip4/…/tcp/…/p2p/<relay id>); repeatable.
    #[arg(long, value_name = "MULTIADDR")]
    relay: Vec<String>,
    /// Where the web UI and the local API listen: 127.0.0.1:PORT (default
    /// 127.0.0.1:7419, or a free port if that one is taken; port 0: any free port).
    #[arg(long, alias = "api", value_name = "ADDR")]
    ui: Option<SocketAddr>,
}

pub(crate) fn run(dir: PathBuf, args: UpArgs, passphrase: &PassphraseSource) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let options = LocalOptions {
        ui: args.ui,
        listen: args.listen,
        mdns: !args.no_mdns,
        relays: args.relay,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(serve(&dir, options, passphrase));
    // Blocking tasks (a request being applied) may still hold the node briefly.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn serve(dir: &Path, options: LocalOptions, passphrase: &PassphraseSource) -> Result<()> {
    let node = LocalNode::start(dir, options, passphrase).await?;
    match node.state() {
        NodeState::Locked => {
            eprintln!("The profile is locked: run `plenum unlock` to unlock it.");
        }
        NodeState::Empty => {
            eprintln!("No profile here yet: run `plenum init --name NAME` to create one.");
        }
        NodeState::Running => {}
    }
    println!("api: http://{}", node.api_address());
    println!("ui: {}", node.ui_url());
    let printed = std::io::stdout()
        .flush()
        .context("writing to standard output");
    if printed.is_ok() {
        tokio::select! {
            () = stop_signal() => {}
            () = node.stopping() => {}
        }
    }
    let stopped = node.stop().await;
    printed.and(stopped)
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub(crate) async fn stop_signal() {
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
