//! A network lab for multi-node tests: Linux network namespaces the test creates
//! itself, joined by virtual LANs, with partitions and packet loss on demand.
//!
//! Why: LAN discovery (mDNS) and sync over real sockets cannot be tested on
//! 127.0.0.1 alone, and must never be tested on the machine's real network, where it
//! would announce test nodes to (and hear from) whatever else is there. A lab gives
//! each node its own network stack, so several nodes can use the same ports, discover
//! each other by multicast, lose packets, and be split apart, on a network that
//! exists only inside the test.
//!
//! The rules the harness keeps, and tests using it must keep too:
//! - Nothing is sent to the host machine's interfaces or to any address other than
//!   loopback and the lab's own private addresses. Every host, LAN switch and cable
//!   lives in a lab namespace; nothing is created or changed in the host namespace,
//!   and iptables rules are only ever added inside lab hosts. IPv6 is disabled in lab
//!   namespaces, so the IPv4 rules that partition hosts are the whole story.
//! - Nodes that run LAN discovery only ever run inside lab hosts ([`Host::command`]).
//! - Every wait is bounded in time ([`Proc::wait_for_line`], [`Host::run`],
//!   [`Host::ping`]).
//! - Dropping the [`Lab`] (also while a test panics) kills every process left in its
//!   namespaces and deletes them, which removes their links and rules.
//! - [`Lab::new`] checks the machine can do all this (root, `ip`, `iptables`). If it
//!   cannot, the test fails with the reason when `CI=true`, and otherwise prints the
//!   reason and gets `None`, so the test can return early.
//!
//! ```no_run
//! use std::time::Duration;
//! let Some(lab) = plenum_tests::Lab::new() else { return };
//! let (a, b) = (lab.host("a"), lab.host("b"));
//! lab.lan(&[&a, &b]);
//! assert!(a.can_reach(b.addr()));
//! b.set_loss(0.2); // b's link now drops a fifth of its packets each way
//! let mut echo = b.spawn(b.command("sh").args(["-c", "echo ready; sleep 30"]));
//! echo.wait_for_line(|l| l == "ready", Duration::from_secs(5));
//! ```

mod firewall;
mod host;
mod nat;
mod process;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use host::{Host, Lan, Ping};
pub use nat::Nat;
pub use process::Proc;

use crate::Run;

/// How long any single `ip`/`iptables` call may take before the test fails.
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// Labs made so far by this process; numbers each lab's names and addresses.
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A set of namespaces (hosts and LAN switches); all are deleted on drop.
pub struct Lab {
    prefix: String,
    index: u8,
    namespaces: Arc<Mutex<Vec<String>>>,
    hosts: Mutex<Vec<Host>>,
    lans: AtomicU32,
}

impl Lab {
    /// A new, empty lab, or `None` (after printing why) if this machine cannot run
    /// one; with `CI=true` that case panics instead, so CI never skips silently.
    pub fn new() -> Option<Lab> {
        if let Err(reason) = support() {
            let why = format!("network-namespace tests need root, `ip` and `iptables`: {reason}");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why} (CI=true, so this is a failure; scripts/test installs them)");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        Some(Lab {
            prefix: format!("pl{}x{n}", std::process::id()),
            index: u8::try_from(n % 250 + 1).expect("below 251"),
            namespaces: Arc::default(),
            hosts: Mutex::default(),
            lans: AtomicU32::new(0),
        })
    }

    /// The prefix every namespace of this lab starts with, followed by `-` (hosts)
    /// or `_` (LAN switches).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespaces of this lab that exist now, by name.
    pub fn namespaces(&self) -> Vec<String> {
        let prefix = &self.prefix;
        namespaces_now()
            .into_iter()
            .filter(|ns| {
                ns.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with(['-', '_']))
            })
            .collect()
    }

    /// A host: its own namespace with only loopback up. `name` is 1–8 lowercase
    /// letters or digits, unique in the lab.
    pub fn host(&self, name: &str) -> Host {
        assert!(
            (1..=8).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "lab host names are 1-8 lowercase letters or digits: {name:?}"
        );
        let ns = format!("{}-{name}", self.prefix);
        self.add_namespace(&ns);
        let host = Host::create(name, ns);
        self.hosts.lock().expect("hosts").push(host.clone());
        host
    }

    /// A LAN: a bridge in its own switch namespace, with `hosts` plugged in. Each gets
    /// an address `10.<lab>.<lan>.<n>/24` and a multicast route, so mDNS works on it.
    pub fn lan(&self, hosts: &[&Host]) -> Lan {
        let k = self.lans.fetch_add(1, Ordering::Relaxed);
        let subnet = u8::try_from(k).expect("at most 256 LANs per lab");
        let ns = format!("{}_lan{k}", self.prefix);
        self.add_namespace(&ns);
        let lan = Lan::create(ns, [10, self.index, subnet]);
        for host in hosts {
            lan.connect(host);
        }
        lan
    }

    /// A NAT router called `name` on `internet`, with a private LAN behind it; put
    /// hosts behind it with [`Nat::connect`].
    pub fn nat(&self, name: &str, internet: &Lan) -> Nat {
        Nat::create(self, name, internet)
    }

    /// Splits the LAN: no host in `left` can reach any host in `right`, or back,
    /// while each side still reaches its own. Undo with [`Lab::heal`].
    pub fn partition(&self, left: &[&Host], right: &[&Host]) {
        for (side, other) in [(left, right), (right, left)] {
            let addrs: Vec<_> = other.iter().map(|h| h.addr()).collect();
            for host in side {
                host.block(&addrs);
            }
        }
    }

    /// Undoes every partition and isolation in the lab (packet loss stays).
    pub fn heal(&self) {
        for host in self.hosts.lock().expect("hosts").iter() {
            host.heal();
        }
    }

    fn add_namespace(&self, ns: &str) {
        // Registered first, so a half-made namespace is still deleted on drop.
        self.namespaces
            .lock()
            .expect("namespaces")
            .push(ns.to_owned());
        must("ip", &["netns", "add", ns]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let namespaces = std::mem::take(&mut *self.namespaces.lock().unwrap_or_else(|e| {
            // A test panicked while holding the lock; the list is still right.
            e.into_inner()
        }));
        for ns in namespaces.iter().rev() {
            // Processes keep a namespace alive after it is unnamed: end them first.
            if let Ok(pids) = exec("ip", &["netns", "pids", ns]) {
                for pid in pids.stdout.split_whitespace() {
                    let _ = exec("kill", &["-KILL", pid]);
                }
            }
            let _ = exec("ip", &["netns", "del", ns]);
        }
    }
}

/// Whether this machine can run labs; checked once per process.
fn support() -> Result<(), String> {
    static SUPPORT: OnceLock<Result<(), String>> = OnceLock::new();
    SUPPORT.get_or_init(check_support).clone()
}

fn check_support() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    if !root {
        return Err("not running as root".to_owned());
    }
    for (tool, args) in [("ip", &["-V"][..]), ("iptables", &["--version"][..])] {
        match exec(tool, args) {
            Ok(run) if run.code == Some(0) => {}
            Ok(run) => return Err(format!("`{tool}` fails: {}", run.stderr.trim())),
            Err(e) => {
                return Err(format!(
                    "`{tool}` is missing ({e}); apt-get install iproute2 iptables"
                ));
            }
        }
    }
    sweep_stale();
    // Creating a namespace and using iptables inside it is what can still fail
    // (containers without CAP_SYS_ADMIN, kernels without netfilter).
    let probe = format!("pl{}probe", std::process::id());
    let made = exec("ip", &["netns", "add", &probe]).and_then(ok);
    let result = made.and_then(|()| {
        exec(
            "ip",
            &["netns", "exec", &probe, "iptables", "-w", "10", "-S"],
        )
        .and_then(ok)
    });
    let _ = exec("ip", &["netns", "del", &probe]);
    result
}

/// Deletes namespaces left by labs of test processes that no longer exist (killed
/// before their `Drop` could run). Their processes died with them.
fn sweep_stale() {
    for ns in namespaces_now() {
        let Some(pid) = ns
            .strip_prefix("pl")
            .and_then(|rest| rest.split_once(['x', 'p']))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = exec("ip", &["netns", "del", &ns]);
        }
    }
}

/// The names of every network namespace on the machine now.
fn namespaces_now() -> Vec<String> {
    let run = must("ip", &["netns", "list"]);
    // Lines look like `name (id: 3)` or just `name`.
    run.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn ok(run: Run) -> Result<(), String> {
    match run.code {
        Some(0) => Ok(()),
        _ => Err(run.stderr.trim().to_owned()),
    }
}

/// Runs a tool to completion within [`TOOL_TIMEOUT`]; never panics (used in `Drop`).
fn exec(program: &str, args: &[&str]) -> Result<Run, String> {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + TOOL_TIMEOUT;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{program} {args:?} took longer than {TOOL_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Exited: the pipes hold what it wrote (these tools print little).
    child
        .wait_with_output()
        .map(Run::from)
        .map_err(|e| e.to_string())
}

/// Runs a tool and panics with its error output unless it succeeds.
fn must(program: &str, args: &[&str]) -> Run {
    let run = exec(program, args).unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    assert_eq!(
        run.code,
        Some(0),
        "{program} {args:?} failed: {}",
        run.stderr.trim()
    );
    run
}
