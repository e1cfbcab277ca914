//! Lab hosts and the LANs they plug into.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::firewall::{self, CHAIN_IN, CHAIN_OUT, Rules};
use super::process::Proc;
use super::{TOOL_TIMEOUT, must};
use crate::Run;

/// The host's end of its LAN cable.
const IFACE: &str = "eth0";
/// Where link-local multicast (mDNS is 224.0.0.251) goes.
const MULTICAST: &str = "224.0.0.0/4";

/// A machine in the lab: its own network namespace. Cheap to clone; the [`Lab`]
/// deletes it.
///
/// [`Lab`]: super::Lab
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    name: String,
    ns: String,
    addr: OnceLock<Ipv4Addr>,
    rules: Mutex<Rules>,
}

impl Host {
    pub(super) fn create(name: &str, ns: String) -> Host {
        must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        disable_ipv6(&ns);
        for args in firewall::setup_commands() {
            iptables(&ns, &args);
        }
        Host {
            inner: Arc::new(HostInner {
                name: name.to_owned(),
                ns,
                addr: OnceLock::new(),
                rules: Mutex::default(),
            }),
        }
    }

    /// The name given to [`Lab::host`](super::Lab::host).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The network namespace's name (for `ip netns exec`).
    pub fn namespace(&self) -> &str {
        &self.inner.ns
    }

    /// The host's LAN address; panics if it is not on a LAN.
    pub fn addr(&self) -> Ipv4Addr {
        *self
            .inner
            .addr
            .get()
            .unwrap_or_else(|| panic!("lab host {} is not on a LAN", self.name()))
    }

    /// `program` to be run inside this host: `ip netns exec <namespace> <program>`.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.namespace()]).arg(program);
        cmd
    }

    /// Starts `cmd` (from [`Host::command`]); the process is killed when the returned
    /// [`Proc`] is dropped, or at the latest when the lab is.
    pub fn spawn(&self, cmd: &mut Command) -> Proc {
        Proc::spawn(self.name().to_owned(), cmd)
    }

    /// Runs `cmd` (from [`Host::command`]) to completion; panics if it takes longer
    /// than `timeout`.
    pub fn run(&self, cmd: &mut Command, timeout: Duration) -> Run {
        self.spawn(cmd).finish(timeout)
    }

    /// Sends `count` pings to `to`, 50 ms apart, waiting at most a second for the
    /// last reply. (No `-w`: with a deadline ping counts replies, not requests.)
    pub fn ping(&self, to: Ipv4Addr, count: u32) -> Ping {
        let count_arg = count.to_string();
        let to_arg = to.to_string();
        let args = [
            "-n", "-q", "-c", &count_arg, "-i", "0.05", "-W", "1", &to_arg,
        ];
        let limit = Duration::from_millis(50) * count + Duration::from_secs(10);
        Ping::parse(self.run(self.command("ping").args(args), limit))
    }

    /// Whether any of three pings to `to` is answered.
    pub fn can_reach(&self, to: Ipv4Addr) -> bool {
        self.ping(to, 3).received > 0
    }

    /// Cuts the host off its LAN (everything on its LAN link is dropped, both ways),
    /// as if it walked out of Wi-Fi range. Sockets stay open; undo with [`Host::heal`].
    pub fn isolate(&self) {
        self.change_rules(|r| r.isolated = true);
    }

    /// Undoes [`Host::isolate`] and every partition involving this host.
    pub fn heal(&self) {
        self.change_rules(|r| {
            r.isolated = false;
            r.blocked.clear();
        });
    }

    /// Drops each packet on the LAN link with chance `probability`, in each direction
    /// (so a round trip survives with `(1 - p)²`). Replaces any earlier loss.
    pub fn set_loss(&self, probability: f64) {
        assert!(
            (0.0..=1.0).contains(&probability),
            "loss is a probability: {probability}"
        );
        self.change_rules(|r| r.loss = Some(probability));
    }

    /// Stops dropping packets at random.
    pub fn clear_loss(&self) {
        self.change_rules(|r| r.loss = None);
    }

    /// Takes the LAN link down, as if the cable were pulled: the kernel drops the
    /// routes and programs see the network go away. Undo with [`Host::plug`].
    pub fn unplug(&self) {
        self.addr();
        must(
            "ip",
            &["-n", self.namespace(), "link", "set", IFACE, "down"],
        );
    }

    /// Brings the LAN link back up after [`Host::unplug`], with its multicast route.
    pub fn plug(&self) {
        self.addr();
        must("ip", &["-n", self.namespace(), "link", "set", IFACE, "up"]);
        let ns = self.namespace();
        must(
            "ip",
            &["-n", ns, "route", "replace", MULTICAST, "dev", IFACE],
        );
    }

    pub(super) fn block(&self, peers: &[Ipv4Addr]) {
        self.change_rules(|r| {
            for peer in peers {
                if !r.blocked.contains(peer) {
                    r.blocked.push(*peer);
                }
            }
        });
    }

    fn change_rules(&self, change: impl FnOnce(&mut Rules)) {
        let mut rules = self.inner.rules.lock().expect("rules");
        change(&mut rules);
        for chain in [CHAIN_IN, CHAIN_OUT] {
            iptables(self.namespace(), &["-F".to_owned(), chain.to_owned()]);
        }
        for args in rules.commands(IFACE) {
            iptables(self.namespace(), &args);
        }
    }
}

/// What [`Host::ping`] saw.
#[derive(Debug)]
pub struct Ping {
    /// Echo requests sent.
    pub transmitted: u32,
    /// Replies received.
    pub received: u32,
    /// Everything ping printed, for failure messages.
    pub output: String,
}

impl Ping {
    fn parse(run: Run) -> Ping {
        // "40 packets transmitted, 19 received, 52.5% packet loss, time 2000ms"; absent
        // when ping cannot even send (no route), which counts as nothing received.
        let summary = run
            .stdout
            .lines()
            .find(|l| l.contains("packets transmitted"));
        let number = |word: &str| -> u32 {
            summary
                .and_then(|s| s.split(", ").find(|part| part.contains(word)))
                .and_then(|part| part.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Ping {
            transmitted: number("transmitted"),
            received: number("received"),
            output: format!("{}{}", run.stdout, run.stderr),
        }
    }
}

/// A LAN: a bridge in its own switch namespace. Hosts join with [`Lan::connect`].
pub struct Lan {
    ns: String,
    subnet: [u8; 3],
    next: Mutex<u8>,
}

impl Lan {
    pub(super) fn create(ns: String, subnet: [u8; 3]) -> Lan {
        must("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        disable_ipv6(&ns);
        // No STP delay before ports forward; no IGMP snooping, which would need a
        // querier before it forwarded multicast reliably.
        must(
            "ip",
            &[
                "-n",
                &ns,
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "forward_delay",
                "0",
                "mcast_snooping",
                "0",
            ],
        );
        must("ip", &["-n", &ns, "link", "set", "br0", "up"]);
        Lan {
            ns,
            subnet,
            next: Mutex::new(1),
        }
    }

    /// Plugs `host` into this LAN with the next free address. A host joins at most
    /// one LAN (a NAT router's inside link is its second, see [`super::Nat`]).
    pub fn connect(&self, host: &Host) {
        let addr = self.next_addr();
        host.inner
            .addr
            .set(addr)
            .unwrap_or_else(|_| panic!("lab host {} is already on a LAN", host.name()));
        self.plug_in(host, IFACE, addr);
    }

    fn next_addr(&self) -> Ipv4Addr {
        let n = {
            let mut next = self.next.lock().expect("next address");
            let n = *next;
            *next = n
                .checked_add(1)
                .filter(|&m| m < 255)
                .expect("254 hosts per LAN");
            n
        };
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, n)
    }

    /// Links `host` to this LAN through its interface `iface`, at `addr`.
    pub(super) fn plug_in(&self, host: &Host, iface: &str, addr: Ipv4Addr) {
        let port = format!("p{}", addr.octets()[3]);
        let (ns, sw) = (host.namespace(), self.ns.as_str());
        // Made inside the host with its peer moved straight into the switch, so no
        // link ever exists in the host machine's namespace.
        must(
            "ip",
            &[
                "-n", ns, "link", "add", iface, "type", "veth", "peer", "name", &port, "netns", sw,
            ],
        );
        must(
            "ip",
            &["-n", sw, "link", "set", &port, "master", "br0", "up"],
        );
        must(
            "ip",
            &["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", iface],
        );
        must(
            "ip",
            &["-n", ns, "link", "set", iface, "multicast", "on", "up"],
        );
        if iface == IFACE {
            must(
                "ip",
                &["-n", ns, "route", "replace", MULTICAST, "dev", IFACE],
            );
        }
        wait_forwarding(sw, &port);
    }

    /// Plugs in a host's second link (a router's inside) at the next free address.
    pub(super) fn connect_second(&self, host: &Host, iface: &str) -> Ipv4Addr {
        let addr = self.next_addr();
        self.plug_in(host, iface, addr);
        addr
    }

    /// The LAN's /24, e.g. `10.3.0.0`.
    pub fn subnet(&self) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, 0)
    }
}

/// Waits (bounded) until the bridge forwards on `port`, so the first packet a test
/// sends is not lost to a port still learning.
fn wait_forwarding(sw: &str, port: &str) {
    let deadline = Instant::now() + TOOL_TIMEOUT;
    loop {
        let run = must("bridge", &["-n", sw, "link", "show", "dev", port]);
        if run.stdout.contains("state forwarding") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bridge port {port} in {sw} not forwarding: {}",
            run.stdout
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn disable_ipv6(ns: &str) {
    for scope in ["all", "default"] {
        let key = format!("net.ipv6.conf.{scope}.disable_ipv6=1");
        must("ip", &["netns", "exec", ns, "sysctl", "-q", "-w", &key]);
    }
}

pub(super) fn iptables(ns: &str, args: &[String]) {
    let mut all = vec!["netns", "exec", ns, "iptables", "-w", "10"];
    all.extend(args.iter().map(String::as_str));
    must("ip", &all);
}
