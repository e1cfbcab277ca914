//! `plenum relay` running inside a lab host.

use std::time::Duration;

use crate::{Host, Proc, plenum_bin};

/// How long a relay gets to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A relay process and the addresses it printed; killed when dropped.
pub struct LabRelay {
    proc: Proc,
    /// Where it listens, each ending in `/p2p/<relay id>`.
    pub addresses: Vec<String>,
    /// Its data directory (its key lives there).
    _dir: tempfile::TempDir,
}

impl LabRelay {
    /// Starts `plenum relay` on `host`, listening on TCP port 4001 of its LAN address,
    /// with `args` added (`--store DIR`, quotas), and waits for its addresses.
    pub fn start(host: &Host, args: &[&str]) -> LabRelay {
        let dir = tempfile::tempdir().expect("relay directory");
        let listen = format!("/ip4/{}/tcp/4001", host.addr());
        let mut cmd = host.command(plenum_bin());
        cmd.arg("--data")
            .arg(dir.path())
            .args(["relay", "--listen", &listen])
            .args(args);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info,plenum_core::net=debug");
        }
        let mut proc = host.spawn(&mut cmd);
        let first = proc.wait_for_line(|l| l.starts_with("relay: "), START_TIMEOUT);
        let addresses = vec![first.trim_start_matches("relay: ").to_owned()];
        LabRelay {
            proc,
            addresses,
            _dir: dir,
        }
    }

    /// Stops the relay (SIGKILL; its store is redb, which survives that).
    pub fn stop(self) -> String {
        let log = self.proc.stderr();
        drop(self.proc);
        log
    }

    /// The relay's secret identity key (the only secret it holds).
    pub fn secret(&self) -> [u8; 32] {
        let bytes = std::fs::read(self._dir.path().join("relay.key")).expect("relay key");
        bytes.as_slice().try_into().expect("32 bytes")
    }

    /// The relay's address for `--relay`.
    pub fn address(&self) -> &str {
        &self.addresses[0]
    }

    /// What the relay logged so far.
    pub fn log(&self) -> String {
        self.proc.stderr()
    }
}
