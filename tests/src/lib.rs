//! The harness the integration tests share: a `plenum` profile in a temporary
//! directory, and helpers to run the real `plenum` binary against it.
//!
//! The binary is the one `cargo build` put next to this test binary's directory
//! (`target/<profile>/plenum`); `scripts/test` builds it first.
//!
//! Multi-node network tests run their nodes inside a [`Lab`] of Linux network
//! namespaces (see the `netns` module's docs for why, and for the rules they keep).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

mod netns;

pub use netns::{Host, Lab, Lan, Ping, Proc};

/// The `plenum` binary under test.
pub fn plenum_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/integration-… → target/<profile>/plenum
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("plenum");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p plenum` (scripts/test does)",
        bin.display()
    );
    bin
}

/// A profile in its own temporary directory: the data directory, and a separate
/// config directory where `--no-passphrase` puts the key file.
pub struct Profile {
    root: TempDir,
    /// The data directory.
    pub data: PathBuf,
}

/// What a finished `plenum` run printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Profile {
    /// An empty profile directory (not initialised).
    pub fn empty() -> Profile {
        let root = tempfile::Builder::new()
            .prefix("plenum-test-")
            .tempdir()
            .expect("tempdir");
        let data = root.path().join("data");
        Profile { root, data }
    }

    /// A profile initialised without a passphrase (key file in the config directory).
    pub fn new(name: &str) -> Profile {
        let profile = Profile::empty();
        profile.ok(&["init", "--name", name, "--no-passphrase"]);
        profile
    }

    /// The temporary root (data directory, config directory, anything else a test puts).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A `plenum` command for this profile, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(plenum_bin());
        cmd.arg("--data").arg(&self.data).args(args);
        cmd.env_remove("PLENUM_DATA")
            .env_remove("PLENUM_PASSPHRASE");
        cmd.env("HOME", self.root.path())
            .env("XDG_CONFIG_HOME", self.root.path().join("config"));
        cmd.env("XDG_DATA_HOME", self.root.path().join("share"));
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `plenum` and returns what happened.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run plenum").into()
    }

    /// Runs `plenum` with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn plenum");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait for plenum").into()
    }

    /// Runs `plenum`, asserts success, returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "plenum {args:?} failed: {}", run.stderr);
        run.stdout
    }

    /// Runs `plenum --json`, asserts success, parses the output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("plenum {args:?} printed invalid JSON ({e}): {out}"))
    }

    /// Runs `plenum`, asserts it failed with exit code 1 and one helpful line on
    /// stderr and no panic; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_one_line_error(&run, args);
        run.stderr.trim_end().to_owned()
    }
}

/// Asserts a run failed the way the command contract says: exit code 1, exactly one
/// line on stderr starting with `plenum:`, no panic.
pub fn assert_one_line_error(run: &Run, what: &[&str]) {
    assert_eq!(run.code, Some(1), "plenum {what:?} should exit 1: {run:?}");
    assert!(
        !run.stderr.contains("panicked"),
        "plenum {what:?} panicked: {}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "plenum {what:?} should print one line on stderr: {:?}",
        run.stderr
    );
    assert!(
        lines[0].starts_with("plenum: "),
        "unexpected error line: {}",
        lines[0]
    );
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
