//! `plenum`: the command line and headless node, and (as a library) the local node the
//! desktop and mobile shells run in their own process.
//!
//! Every command opens the profile in the data directory, sends one or more requests
//! through the same API the web UI uses, and prints the answer: for people by default,
//! as JSON with `--json`. Errors are one line on stderr; exit code 1 (2 for usage).

mod attach;
mod commands;
pub mod local;
mod network;
mod node_file;
mod output;
mod relay;
mod server;
mod service;
mod status;
mod transfer;
#[cfg(test)]
mod typescript;
mod unlock;
mod up;
pub mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use attach::RunningNode;
pub use local::{LocalNode, LocalOptions};
pub use unlock::PassphraseSource;

/// The data directory when no `--data` is given: `$PLENUM_DATA`, else the platform's
/// (e.g. ~/.local/share/plenum), exactly as the command line finds it.
pub fn data_dir_from_env() -> anyhow::Result<PathBuf> {
    unlock::data_dir(
        std::env::var_os("PLENUM_DATA")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from),
    )
}

/// Plenum: a peer-to-peer, offline-first workspace for groups.
#[derive(Parser)]
#[command(name = "plenum", version, about, long_about = None)]
struct Cli {
    /// The data directory (default: the platform's data directory, e.g. ~/.local/share/plenum).
    #[arg(long, global = true, env = "PLENUM_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Read the passphrase from this file descriptor (one line).
    #[arg(long, global = true, value_name = "N")]
    passphrase_fd: Option<u32>,
    #[command(subcommand)]
    command: commands::Command,
}

/// Runs the command line with the process's arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`plenum chat log G | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line: the outermost context, then its causes.
            let mut line = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !line.contains(&cause) {
                    line.push_str(": ");
                    line.push_str(&cause);
                }
            }
            eprintln!("plenum: {line}");
            ExitCode::FAILURE
        }
    }
}
