//! `node.json`: how other processes find the node running for a data directory.
//!
//! `plenum up` writes it (mode 0600, atomically: a temporary file renamed over it) and
//! removes it when it stops; every other command reads it to attach. It holds the API
//! token, so only the owner of the data directory may read it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

const FILE: &str = "node.json";
const LOCK_FILE: &str = "node.lock";

/// The contents of `node.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeFile {
    /// The running node's process id.
    pub(crate) pid: u32,
    /// The API's address, `127.0.0.1:PORT`.
    pub(crate) api: String,
    /// The web UI's address with the token: open it in a browser.
    #[serde(default)]
    pub(crate) ui: String,
    /// The bearer token every request needs (64 hex digits).
    pub(crate) token: String,
    /// The network's listen addresses (multiaddrs).
    pub(crate) listen: Vec<String>,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The lock `plenum up` holds for as long as it runs, so only one node runs per data
/// directory even before its store is unlocked.
pub(crate) fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE)
}

impl NodeFile {
    /// Reads `node.json`; `None` when there is none or it is unreadable (a stale or
    /// half-written file is as good as none: the store's own lock still protects it).
    pub(crate) fn read(dir: &Path) -> Option<NodeFile> {
        let bytes = std::fs::read(path(dir)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes `node.json` atomically with mode 0600.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let target = path(dir);
        let temp = dir.join(format!(".{FILE}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&temp)
            .and_then(|mut file| {
                file.write_all(&serde_json::to_vec_pretty(self)?)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, &target));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.with_context(|| format!("cannot write {}", target.display()))
    }

    /// Removes `node.json` if it is still this node's (a newer node may have replaced it).
    pub(crate) fn remove(&self, dir: &Path) {
        if NodeFile::read(dir).is_some_and(|current| current.token == self.token) {
            let _ = std::fs::remove_file(path(dir));
        }
    }
}

/// Whether a process with this id exists (on Unix: `kill(pid, 0)`; a process of
/// another user counts as alive).
pub(crate) fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        match rustix::process::test_kill_process(pid) {
            Ok(()) => true,
            Err(e) => e != rustix::io::Errno::SRCH,
        }
    }
    #[cfg(not(unix))]
    {
        // No cheap check here; the health request decides.
        let _ = pid;
        true
    }
}

/// A fresh API token: 32 random bytes as 64 hex digits.
pub(crate) fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the token: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_atomically_private_and_read_back() {
        let dir = tempfile_dir();
        let file = NodeFile {
            pid: 42,
            api: "127.0.0.1:1234".into(),
            ui: "http://127.0.0.1:1234/#token=ab".into(),
            token: new_token().unwrap(),
            listen: vec!["/ip4/127.0.0.1/tcp/5".into()],
        };
        file.write(&dir).unwrap();
        file.write(&dir).unwrap();
        assert_eq!(NodeFile::read(&dir), Some(file.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(&dir)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        file.remove(&dir);
        assert_eq!(NodeFile::read(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tokens_are_64_hex_and_differ() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_token().unwrap());
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "plenum-node-file-{}-{}",
            std::process::id(),
            new_token().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
