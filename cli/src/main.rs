//! `plenum`: the command line and headless node.
//!
//! Every command opens the profile in the data directory, sends one or more requests
//! through the same API the web UI uses, and prints the answer: for people by default,
//! as JSON with `--json`. Errors are one line on stderr; exit code 1 (2 for usage).

mod attach;
mod commands;
mod network;
mod node_file;
mod output;
mod server;
mod service;
mod status;
#[cfg(test)]
mod typescript;
mod unlock;
mod up;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

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

fn main() -> ExitCode {
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
