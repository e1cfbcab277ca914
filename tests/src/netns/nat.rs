//! NAT routers: a lab host with one leg on an "internet" LAN and a private LAN behind
//! it, masquerading as home routers and mobile carriers do. Hosts on the private side
//! reach the internet LAN through it; nothing there can open a connection to them
//! (only replies to what they started get back in).

use std::net::Ipv4Addr;

use super::host::iptables;
use super::{Host, Lab, Lan, must};

/// The router's interface on its private LAN.
const INSIDE: &str = "in0";
/// Its interface on the internet LAN (the one every lab host has).
const OUTSIDE: &str = "eth0";

/// A NAT router and the private LAN behind it.
pub struct Nat {
    router: Host,
    lan: Lan,
    gateway: Ipv4Addr,
}

impl Nat {
    pub(super) fn create(lab: &Lab, name: &str, internet: &Lan) -> Nat {
        let router = lab.host(name);
        internet.connect(&router);
        let lan = lab.lan(&[]);
        let gateway = lan.connect_second(&router, INSIDE);
        let ns = router.namespace();
        must(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.ip_forward=1",
            ],
        );
        let rule = |args: &[&str]| router_rule(ns, args);
        rule(&[
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            OUTSIDE,
            "-j",
            "MASQUERADE",
        ]);
        // Replies come back in; nothing else from outside gets through.
        rule(&[
            "-A",
            "FORWARD",
            "-i",
            OUTSIDE,
            "-o",
            INSIDE,
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
            "-j",
            "ACCEPT",
        ]);
        rule(&["-A", "FORWARD", "-i", OUTSIDE, "-o", INSIDE, "-j", "DROP"]);
        Nat {
            router,
            lan,
            gateway,
        }
    }

    /// Puts `host` behind this router: on its private LAN, routing everything else
    /// through it.
    pub fn connect(&self, host: &Host) {
        self.lan.connect(host);
        let gateway = self.gateway.to_string();
        must(
            "ip",
            &[
                "-n",
                host.namespace(),
                "route",
                "add",
                "default",
                "via",
                &gateway,
            ],
        );
    }

    /// Lets in replies from `peer` only: whatever else arrives from outside is refused
    /// (TCP reset, ICMP unreachable), even where a mapping the router made would
    /// match — a NAT that hole punching cannot get through, refusing at once so a
    /// failed attempt is over in seconds rather than after TCP's retries.
    pub fn only_replies_from(&self, peer: Ipv4Addr) {
        let ns = self.router.namespace();
        let peer = peer.to_string();
        let rule = |args: &[&str]| router_rule(ns, args);
        rule(&[
            "-I", "FORWARD", "1", "-i", OUTSIDE, "-o", INSIDE, "!", "-s", &peer, "-j", "REJECT",
        ]);
        rule(&[
            "-I",
            "FORWARD",
            "1",
            "-i",
            OUTSIDE,
            "-o",
            INSIDE,
            "!",
            "-s",
            &peer,
            "-p",
            "tcp",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ]);
    }

    /// The router itself (its address is its public one, on the internet LAN).
    pub fn router(&self) -> &Host {
        &self.router
    }
}

fn router_rule(ns: &str, args: &[&str]) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    iptables(ns, &args);
}
