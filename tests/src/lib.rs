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

mod lab_node;
mod lab_relay;
mod netns;

pub use lab_node::LabNode;
pub use lab_relay::LabRelay;
pub use netns::{Host, Lab, Lan, Nat, Ping, Proc};

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
        self.environment(&mut cmd);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Gives `cmd` this profile's clean environment (home and config directories,
    /// no data directory or passphrase from the caller's environment), for commands
    /// built elsewhere, such as inside a lab host.
    pub fn environment<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env_remove("PLENUM_DATA")
            .env_remove("PLENUM_PASSPHRASE")
            .env("HOME", self.root.path())
            .env("XDG_CONFIG_HOME", self.root.path().join("config"))
            .env("XDG_DATA_HOME", self.root.path().join("share"))
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

/// How long a test waits for a node to start, answer or stop before failing.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A `plenum up` running in the background for a profile; killed when dropped.
pub struct RunningNode {
    child: std::process::Child,
    /// The API's address as printed on the `api:` line, `127.0.0.1:PORT`.
    pub api: String,
    data: PathBuf,
    stdout: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Profile {
    /// Starts `plenum up --no-mdns --listen /ip4/127.0.0.1/tcp/0` plus `extra`, and
    /// waits (bounded) until it prints its `api:` line.
    pub fn up(&self, extra: &[&str]) -> RunningNode {
        self.up_with(extra, |_| {})
    }

    /// Like [`Profile::up`], with a chance to change the command first (environment).
    pub fn up_with(&self, extra: &[&str], adjust: impl FnOnce(&mut Command)) -> RunningNode {
        let mut args = vec!["up", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        adjust(&mut cmd);
        let mut child = cmd.spawn().expect("spawn plenum up");
        let (lines, stdout) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let err = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut err = err;
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr buffer")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut node = RunningNode {
            child,
            api: String::new(),
            data: self.data.clone(),
            stdout,
            stderr,
        };
        let line = node.wait_for_line("api: ");
        node.api = line
            .strip_prefix("api: http://")
            .unwrap_or_else(|| panic!("unexpected api line: {line}"))
            .to_owned();
        node
    }
}

impl RunningNode {
    /// Waits (bounded) for the next stdout line starting with `prefix`.
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => continue,
                Err(_) => panic!(
                    "plenum up printed no `{prefix}` line within {WAIT:?}; stderr: {}",
                    self.stderr()
                ),
            }
        }
    }

    /// What the node printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `node.json`, parsed.
    pub fn node_file(&self) -> serde_json::Value {
        let path = self.data.join("node.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("node.json is JSON")
    }

    /// The API token from `node.json`.
    pub fn token(&self) -> String {
        self.node_file()["token"]
            .as_str()
            .expect("token in node.json")
            .to_owned()
    }

    /// An HTTP request to the API with the right Host header and the token.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> HttpAnswer {
        let auth = format!("Bearer {}", self.token());
        http(
            &self.api,
            method,
            path,
            &[("Host", &self.api), ("Authorization", &auth)],
            body,
        )
    }

    /// Sends SIGINT (Ctrl-C) and waits (bounded) for the node to exit; its exit code.
    pub fn interrupt(&mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT failed");
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for plenum up") {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "plenum up did not stop within {WAIT:?} of SIGINT; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpAnswer {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection, with exactly the headers given
/// (tests need to send wrong ones), bounded by [`WAIT`].
pub fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpAnswer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the API");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if method != "GET" {
        request.push_str("Content-Type: application/json\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read answer");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}
