//! A `plenum` node running inside a lab host: its profile, its `plenum up` process,
//! and the CLI commands a test runs against it (inside the same namespace, because
//! the local API listens on that namespace's 127.0.0.1).

use std::time::{Duration, Instant};

use crate::{Host, Proc, Profile, Run, plenum_bin};

/// How long one CLI command may take (longer than the joins tests ask for, so a
/// join that fails says why).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a node gets to start or stop.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often [`LabNode::wait_until`] looks again.
const POLL: Duration = Duration::from_millis(250);
/// The log filter nodes run with unless `RUST_LOG` says otherwise: network debug
/// output, shown when a wait fails.
const DEFAULT_LOG: &str = "plenum_core::net=debug";

/// A profile on a lab host and, while it is up, its `plenum up` process.
pub struct LabNode {
    // First, so it is killed before the profile's directory is deleted.
    proc: Option<Proc>,
    /// The lab host the node runs in.
    pub host: Host,
    /// Its profile (data directory, key file).
    pub profile: Profile,
    /// Everything earlier runs of this node printed on stderr, for failure messages.
    old_logs: String,
}

impl LabNode {
    /// A new profile called `name` on `host` (not started).
    pub fn new(host: &Host, name: &str) -> LabNode {
        LabNode {
            host: host.clone(),
            profile: Profile::new(name),
            proc: None,
            old_logs: String::new(),
        }
    }

    /// Starts the node listening on every interface over TCP, with mDNS.
    pub fn up(&mut self) {
        self.up_listening(&["/ip4/0.0.0.0/tcp/0"]);
    }

    /// Starts the node listening on `listen` (mDNS on: this is a lab host), and waits
    /// (bounded) for its `api:` line.
    pub fn up_listening(&mut self, listen: &[&str]) {
        self.up_with(listen, &[]);
    }

    /// Starts the node listening on `listen` with more `plenum up` arguments (such as
    /// `--relay ADDR` or `--no-mdns`), and waits (bounded) for its `api:` line.
    pub fn up_with(&mut self, listen: &[&str], args: &[&str]) {
        assert!(self.proc.is_none(), "{} is already up", self.host.name());
        let mut cmd = self.host.command(plenum_bin());
        cmd.arg("--data").arg(&self.profile.data).arg("up");
        for address in listen {
            cmd.args(["--listen", address]);
        }
        cmd.args(args);
        self.profile.environment(&mut cmd);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", DEFAULT_LOG);
        }
        let mut proc = self.host.spawn(&mut cmd);
        proc.wait_for_line(|l| l.starts_with("api: "), START_TIMEOUT);
        self.proc = Some(proc);
    }

    /// Stops the node with SIGINT, as Ctrl-C would, and waits (bounded) for it to exit.
    pub fn stop(&mut self) {
        let Some(mut proc) = self.proc.take() else {
            panic!("{} is not up", self.host.name());
        };
        let sent = std::process::Command::new("kill")
            .args(["-INT", &proc.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT {} failed", proc.id());
        let status = proc.wait(START_TIMEOUT);
        self.old_logs.push_str(&proc.stderr());
        assert!(
            status.is_some(),
            "{}: plenum up did not stop within {START_TIMEOUT:?} of SIGINT; stderr: {}",
            self.host.name(),
            tail(&proc.stderr())
        );
    }

    /// Runs `plenum --data DIR args…` inside the host.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.host.command(plenum_bin());
        cmd.arg("--data").arg(&self.profile.data).args(args);
        self.profile.environment(&mut cmd);
        self.host.run(&mut cmd, COMMAND_TIMEOUT)
    }

    /// Runs `plenum args…` with `input` as standard input (e.g. `pad write`).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let file = tempfile::NamedTempFile::new_in(self.profile.root()).expect("input file");
        std::fs::write(file.path(), input).expect("write input file");
        let mut cmd = self.host.command("sh");
        // `sh -c SCRIPT NAME ARGS…`: $0 is the binary, "$@" its arguments.
        cmd.args(["-c", "exec \"$0\" \"$@\" < \"$PLENUM_TEST_INPUT\""])
            .arg(plenum_bin())
            .arg("--data")
            .arg(&self.profile.data)
            .args(args)
            .env("PLENUM_TEST_INPUT", file.path());
        self.profile.environment(&mut cmd);
        self.host.run(&mut cmd, COMMAND_TIMEOUT)
    }

    /// Runs `plenum args…`, asserts it succeeded, returns standard output.
    pub fn plenum(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(0),
            "{}: plenum {args:?} failed: {}\nnode log: {}",
            self.host.name(),
            run.stderr,
            self.log_tail()
        );
        run.stdout
    }

    /// Runs `plenum --json args…`, asserts it succeeded, parses the output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.plenum(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "{}: plenum {args:?} printed invalid JSON ({e}): {out}",
                self.host.name()
            )
        })
    }

    /// Polls `check` until it gives `Ok`, for at most `timeout`. `check` explains
    /// with `Err` what it saw instead; the last explanation and the node's log end
    /// the panic message if time runs out.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&LabNode) -> Result<T, String>,
    ) -> T {
        let start = Instant::now();
        loop {
            match check(self) {
                Ok(value) => return value,
                Err(seen) if start.elapsed() >= timeout => panic!(
                    "{}: {what}: not within {timeout:?}; last seen: {seen}\nnode log: {}",
                    self.host.name(),
                    self.log_tail()
                ),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Whether `plenum up` is running.
    pub fn is_up(&self) -> bool {
        self.proc.is_some()
    }

    /// Everything the node printed on stderr, this run and earlier ones.
    pub fn log(&self) -> String {
        let mut all = self.old_logs.clone();
        if let Some(proc) = &self.proc {
            all.push_str(&proc.stderr());
        }
        all
    }

    /// The end of the node's stderr (this run, or the earlier ones when it is down).
    pub fn log_tail(&self) -> String {
        let mut all = self.old_logs.clone();
        if let Some(proc) = &self.proc {
            all.push_str(&proc.stderr());
        }
        tail(&all)
    }
}

/// The last lines of a log, enough to see what the network did last.
fn tail(log: &str) -> String {
    const LINES: usize = 60;
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(LINES);
    lines[start..].join("\n")
}
