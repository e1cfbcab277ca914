//! The network lab itself: hosts on a LAN reach each other and nothing else,
//! partitions and loss do what they say, multicast (what mDNS needs) crosses the
//! LAN, and a dropped lab leaves nothing behind. Every test here runs only inside
//! namespaces it creates.

use std::process::Command;
use std::time::Duration;

use plenum_tests::{Host, Lab};

#[test]
fn netns_hosts_on_a_lan_reach_each_other() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    assert_ne!(a.addr(), b.addr());
    for (from, to) in [(&a, &b), (&b, &a)] {
        let ping = from.ping(to.addr(), 3);
        assert_eq!(
            ping.received,
            3,
            "{} → {}: {}",
            from.name(),
            to.name(),
            ping.output
        );
    }
}

#[test]
fn netns_a_host_off_the_lan_reaches_nobody() {
    let Some(lab) = Lab::new() else { return };
    let (a, b, alone) = (lab.host("a"), lab.host("b"), lab.host("alone"));
    lab.lan(&[&a, &b]);
    // Its own loopback works, which shows the namespace is alive, just unconnected.
    let own = alone.ping("127.0.0.1".parse().expect("ip"), 3);
    assert_eq!(own.received, 3, "{}", own.output);
    let ping = alone.ping(b.addr(), 3);
    assert_eq!(
        ping.received, 0,
        "loopback-only host reached b: {}",
        ping.output
    );
    // And nobody on the LAN can reach a machine outside it, the host's included.
    assert!(!a.can_reach("10.255.255.1".parse().expect("ip")));
}

#[test]
fn netns_partition_splits_the_lan_and_heal_restores_it() {
    let Some(lab) = Lab::new() else { return };
    let hosts: Vec<Host> = ["a", "b", "c", "d", "e"].map(|n| lab.host(n)).into();
    let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|i| &hosts[i]);
    lab.lan(&[a, b, c, d, e]);
    assert!(a.can_reach(c.addr()), "before the partition");

    lab.partition(&[a, b], &[c, d, e]);
    assert!(a.can_reach(b.addr()), "a and b are on the same side");
    assert!(c.can_reach(e.addr()), "c and e are on the same side");
    assert!(!a.can_reach(c.addr()), "a reached c across the partition");
    assert!(!e.can_reach(b.addr()), "e reached b across the partition");

    lab.heal();
    assert!(a.can_reach(c.addr()), "a cannot reach c after healing");
    assert!(e.can_reach(b.addr()), "e cannot reach b after healing");
}

#[test]
fn netns_isolate_and_unplug_cut_one_host_off() {
    let Some(lab) = Lab::new() else { return };
    let (a, b, c) = (lab.host("a"), lab.host("b"), lab.host("c"));
    lab.lan(&[&a, &b, &c]);

    a.isolate();
    assert!(!b.can_reach(a.addr()), "b reached isolated a");
    assert!(b.can_reach(c.addr()), "isolating a cut off b and c too");
    a.heal();
    assert!(b.can_reach(a.addr()), "a still cut off after heal");

    c.unplug();
    assert!(!b.can_reach(c.addr()), "b reached unplugged c");
    c.plug();
    assert!(
        b.can_reach(c.addr()),
        "c still cut off after plugging back in"
    );
}

#[test]
fn netns_loss_drops_some_packets_but_not_all() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    // Half of each direction: a round trip survives a quarter of the time, so all 60
    // lost has chance 0.75^60 ≈ 3e-8 and all 60 answered 0.25^60 ≈ 8e-37.
    a.set_loss(0.5);
    let lossy = a.ping(b.addr(), 60);
    assert_eq!(lossy.transmitted, 60, "{}", lossy.output);
    assert!(
        0 < lossy.received && lossy.received < 60,
        "with 50% loss each way, got {} of 60 replies: {}",
        lossy.received,
        lossy.output
    );
    a.clear_loss();
    let clean = a.ping(b.addr(), 10);
    assert_eq!(
        clean.received, 10,
        "loss stayed after clear_loss: {}",
        clean.output
    );
}

/// The receiver joins 224.0.0.251 (mDNS's group) on port 5353, says so, and prints
/// the first datagram it gets; it gives up by itself after 10 s.
const RECEIVE: &str = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("224.0.0.251", 5353))
group = struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
s.settimeout(10)
print("listening", flush=True)
data, (sender, _) = s.recvfrom(100)
print("got", data.decode(), "from", sender, flush=True)
"#;

const SEND: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(b"hello-lan", ("224.0.0.251", 5353))
"#;

#[test]
fn netns_multicast_reaches_every_host_on_the_lan() {
    let Some(lab) = Lab::new() else { return };
    if Command::new("python3").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "python3 is missing"
        );
        eprintln!("skipping: python3 is missing");
        return;
    }
    let (a, b, c) = (lab.host("a"), lab.host("b"), lab.host("c"));
    lab.lan(&[&a, &b, &c]);
    let wait = Duration::from_secs(10);
    let mut receivers: Vec<_> = [&b, &c]
        .map(|h| h.spawn(h.command("python3").args(["-c", RECEIVE])))
        .into();
    for r in &mut receivers {
        r.wait_for_line(|l| l == "listening", wait);
    }
    let sent = a.run(a.command("python3").args(["-c", SEND]), wait);
    assert_eq!(sent.code, Some(0), "multicast send failed: {}", sent.stderr);
    let expected = format!("got hello-lan from {}", a.addr());
    for r in &mut receivers {
        r.wait_for_line(|l| l == expected, wait);
    }
}

#[test]
fn netns_dropping_a_lab_deletes_its_namespaces_and_processes() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    // A process the test forgets about: the lab must end it, not leave it running.
    let mut sleeper = a.spawn(a.command("sleep").arg("600"));
    let prefix = lab.prefix().to_owned();
    assert_eq!(lab.namespaces().len(), 3, "two hosts and a switch");
    drop(lab);

    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        !listed
            .lines()
            .any(|l| l.starts_with(&format!("{prefix}-")) || l.starts_with(&format!("{prefix}_"))),
        "namespaces of {prefix} left behind: {listed}"
    );
    assert!(
        sleeper.wait(Duration::from_secs(5)).is_some(),
        "a process in a dropped lab is still running"
    );
}

#[test]
fn netns_a_panicking_test_still_cleans_up() {
    let Some(probe) = Lab::new() else { return };
    drop(probe);
    let prefix = std::sync::Mutex::new(String::new());
    let outcome = std::panic::catch_unwind(|| {
        let lab = Lab::new().expect("labs work: one was just made");
        *prefix.lock().expect("prefix") = lab.prefix().to_owned();
        let a = lab.host("a");
        lab.lan(&[&a]);
        let _child = a.spawn(a.command("sleep").arg("600"));
        panic!("the test fails half-way");
    });
    assert!(outcome.is_err());
    let prefix = prefix.into_inner().expect("prefix");
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        !listed.lines().any(|l| l.starts_with(&format!("{prefix}-"))),
        "namespaces of {prefix} outlived the panic: {listed}"
    );
}
