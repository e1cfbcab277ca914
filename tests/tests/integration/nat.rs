//! Across NATs: devices behind their own NAT routers, which nothing outside can dial,
//! reach each other through a relay that a member runs (`plenum relay`), sync through
//! it, and say so in `plenum status`. Everything runs in lab namespaces the tests
//! create: an "internet" LAN with the relay and the routers on it, and one private
//! LAN behind each router.

use std::time::Duration;

use plenum_tests::{Host, Lab, LabNode, LabRelay, Nat};
use serde_json::Value;

/// How long anything that should happen promptly may take.
pub(super) const SOON: Duration = Duration::from_secs(60);
/// Where lab nodes listen: every interface, a fixed TCP port (so a test can try to
/// dial it directly) and QUIC.
pub(super) const LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/4002", "/ip4/0.0.0.0/udp/4002/quic-v1"];

/// An internet LAN with a relay host, and two NAT routers with a host behind each.
pub(super) struct Internet {
    pub(super) lab: Lab,
    pub(super) relay: Host,
    pub(super) nats: Vec<Nat>,
    pub(super) homes: Vec<Host>,
}

pub(super) fn internet(homes: &[&str]) -> Option<Internet> {
    let lab = Lab::new()?;
    let wan = lab.lan(&[]);
    let relay = lab.host("relay");
    wan.connect(&relay);
    let mut nats = Vec::new();
    let mut hosts = Vec::new();
    for (i, name) in homes.iter().enumerate() {
        let nat = lab.nat(&format!("router{i}"), &wan);
        let host = lab.host(name);
        nat.connect(&host);
        nats.push(nat);
        hosts.push(host);
    }
    Some(Internet {
        lab,
        relay,
        nats,
        homes: hosts,
    })
}

/// A node up on each home of `net`, named `names` in order (mDNS off).
pub(super) fn up_everywhere(net: &Internet, names: &[&str]) -> Vec<LabNode> {
    net.homes
        .iter()
        .zip(names)
        .map(|(host, name)| {
            let mut node = LabNode::new(host, name);
            node.up_with(&LISTEN, &["--no-mdns"]);
            node
        })
        .collect()
}

/// Whether a TCP connection from `from` to `to:port` opens (bounded).
pub(super) fn tcp_connects(from: &Host, to: std::net::Ipv4Addr, port: u16) -> bool {
    let script = format!("exec 3<>/dev/tcp/{to}/{port}");
    let run = from.run(
        from.command("timeout").args(["10", "bash", "-c", &script]),
        Duration::from_secs(20),
    );
    run.code == Some(0)
}

pub(super) fn status(node: &LabNode, group: &str) -> Value {
    node.json(&["status", group])
}

/// Waits until the node holds a reservation at the relay; returns its circuit address.
pub(super) fn wait_for_reservation(node: &LabNode) -> String {
    node.wait_until("a reservation at the relay", SOON, |n| {
        let s = n.json(&["status"]);
        s["relays"][0]["circuit"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{}", s["relays"]))
    })
}

pub(super) fn texts(node: &LabNode, group: &str) -> Vec<String> {
    node.json(&["chat", "log", group])
        .as_array()
        .map(|log| {
            log.iter()
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn wait_for_text(node: &LabNode, group: &str, text: &str) {
    node.wait_until(&format!("message {text:?} arrives"), SOON, |n| {
        let have = texts(n, group);
        if have.iter().any(|t| t == text) {
            Ok(())
        } else {
            Err(format!("{have:?}"))
        }
    });
}

/// The status entry of the peer called `name`, once it is connected.
pub(super) fn connected_peer(node: &LabNode, group: &str, name: &str) -> Result<Value, String> {
    let s = status(node, group);
    s["groups"][0]["peers"]
        .as_array()
        .and_then(|peers| {
            peers
                .iter()
                .find(|p| p["name"] == name && p["connected"] == true)
        })
        .cloned()
        .ok_or_else(|| format!("{}", s["groups"][0]["peers"]))
}

#[test]
fn nat_devices_behind_their_own_nats_join_and_sync_through_a_relay() {
    let Some(net) = internet(&["ana", "ben"]) else {
        return;
    };
    let (ana_host, ben_host) = (&net.homes[0], &net.homes[1]);
    // Hole punching cannot get through these routers: the connection stays relayed,
    // and the attempt's failure must be reported.
    for nat in &net.nats {
        nat.only_replies_from(net.relay.addr());
    }
    assert!(ana_host.can_reach(net.relay.addr()) && ben_host.can_reach(net.relay.addr()));
    let relay = LabRelay::start(&net.relay, &[]);

    // Ana names the relay on her command line; Ben, a new device, knows of none.
    let mut ana = LabNode::new(ana_host, "Ana");
    ana.up_with(&LISTEN, &["--no-mdns", "--relay", relay.address()]);
    let mut ben = LabNode::new(ben_host, "Ben");
    ben.up_with(&LISTEN, &["--no-mdns"]);

    // The premise: neither can dial the other. Ana's node listens (a dial from her
    // own host opens), but nothing from Ben's side gets to it — not at her private
    // address, not at her router's public one.
    assert!(
        tcp_connects(ana_host, ana_host.addr(), 4002),
        "Ana's node listens"
    );
    assert!(
        !tcp_connects(ben_host, ana_host.addr(), 4002),
        "Ben reached Ana's private address"
    );
    assert!(!tcp_connects(ben_host, net.nats[0].router().addr(), 4002));
    assert!(!tcp_connects(ana_host, ben_host.addr(), 4002));

    let ana_circuit = wait_for_reservation(&ana);
    assert!(ana_circuit.contains("/p2p-circuit/"), "{ana_circuit}");
    let group = ana
        .plenum(&["group", "create", "Tenants"])
        .trim()
        .to_owned();
    let link = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    let first = plenum_core::invite::InviteLink::parse(&link)
        .expect("a link")
        .addresses
        .first()
        .map(|a| plenum_core::net::Address::try_from(a.clone()).expect("a multiaddr"));
    assert_eq!(
        first.map(|a| a.to_string()),
        Some(ana_circuit),
        "the link leads through the relay first"
    );

    // Ben's device knows nothing but the link; it leads through the relay.
    ben.plenum(&["join", &link, "--timeout", "60s"]);
    ana.plenum(&["chat", "send", &group, "hello from behind Ana's router"]);
    wait_for_text(&ben, &group, "hello from behind Ana's router");
    ben.plenum(&["chat", "send", &group, "and back from Ben's"]);
    wait_for_text(&ana, &group, "and back from Ben's");

    // Both say how they are connected, and what came of hole punching.
    for (node, other) in [(&ben, "Ana"), (&ana, "Ben")] {
        let peer = node.wait_until("the peer listed as connected", SOON, |n| {
            connected_peer(n, &group, other)
        });
        assert_eq!(peer["path"], "relayed", "{peer}");
        let relay_id = relay.address().rsplit('/').next().expect("relay id");
        assert!(
            peer["relay"]
                .as_str()
                .is_some_and(|r| r.ends_with(relay_id)),
            "{peer}"
        );
    }
    let punched = ana.wait_until("a hole-punching outcome", SOON, |n| {
        let peer = connected_peer(n, &group, "Ben")?;
        match peer["hole_punch"].clone() {
            Value::Null => {
                let ben_side = connected_peer(&ben, &group, "Ana")?;
                match ben_side["hole_punch"].clone() {
                    Value::Null => Err(format!("none yet: {peer}")),
                    outcome => Ok(outcome),
                }
            }
            outcome => Ok(outcome),
        }
    });
    assert_eq!(punched["direct"], false, "{punched}");
    assert!(
        punched["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{punched}"
    );
    let human = ana.plenum(&["status", &group]);
    assert!(human.contains("connected through relay"), "{human}");
    assert!(human.contains("hole punching failed"), "{human}");
    drop(net.lab);
}

#[test]
fn nat_a_groups_relay_setting_reaches_every_member_and_their_links() {
    let Some(net) = internet(&["ana", "ben", "cleo"]) else {
        return;
    };
    let relay = LabRelay::start(&net.relay, &[]);
    let mut nodes = up_everywhere(&net, &["Ana", "Ben", "Cleo"]);
    let cleo = nodes.pop().expect("Cleo");
    let ben = nodes.pop().expect("Ben");
    let ana = nodes.pop().expect("Ana");
    // No one was told of a relay: a group of one behind NAT is unreachable, and its
    // link can only carry Ana's own (private) addresses.
    let group = ana
        .plenum(&["group", "create", "Tenants"])
        .trim()
        .to_owned();
    let shown = ana.plenum(&["group", "relays", &group, "--set", relay.address()]);
    assert!(
        shown.contains(&format!("relay: {}", relay.address())),
        "{shown}"
    );
    // The group's setting alone makes Ana's node reserve at the relay.
    let circuit = wait_for_reservation(&ana);
    let link_for = |n: u32| {
        ana.plenum(&["invite", "create", &group, "--uses", &n.to_string()])
            .trim()
            .to_owned()
    };
    let link = link_for(2);
    let first = plenum_core::invite::InviteLink::parse(&link)
        .expect("a link")
        .addresses
        .first()
        .map(|a| plenum_core::net::Address::try_from(a.clone()).expect("a multiaddr"));
    assert_eq!(first.map(|a| a.to_string()), Some(circuit));

    ben.plenum(&["join", &link, "--timeout", "60s"]);
    let shown = ben.plenum(&["group", "show", &group]);
    assert!(
        shown.contains(&format!("relay: {}", relay.address())),
        "{shown}"
    );
    wait_for_reservation(&ben);
    cleo.plenum(&["join", &link, "--timeout", "60s"]);
    wait_for_reservation(&cleo);
    ben.plenum(&["chat", "send", &group, "Ben to everyone"]);
    wait_for_text(&cleo, &group, "Ben to everyone");
    wait_for_text(&ana, &group, "Ben to everyone");

    // Clearing the setting is the admins' call, and members follow it.
    let refused = ben.run(&["group", "relays", &group, "--clear"]);
    assert_ne!(refused.code, Some(0), "Ben is no admin");
    assert!(refused.stderr.contains("admin"), "{}", refused.stderr);
    ana.plenum(&["group", "relays", &group, "--clear"]);
    ben.wait_until("the relay setting cleared", SOON, |n| {
        let s = n.json(&["status"]);
        match s["relays"].as_array() {
            Some(r) if r.is_empty() => Ok(()),
            _ => Err(format!("{}", s["relays"])),
        }
    });
    drop(net.lab);
}

#[test]
fn nat_a_joiner_finds_a_member_at_the_relay_while_the_inviter_is_offline() {
    let Some(net) = internet(&["ana", "ben", "cleo"]) else {
        return;
    };
    let relay = LabRelay::start(&net.relay, &[]);
    let mut nodes = up_everywhere(&net, &["Ana", "Ben", "Cleo"]);
    let cleo = nodes.pop().expect("Cleo");
    let ben = nodes.pop().expect("Ben");
    let mut ana = nodes.pop().expect("Ana");
    let group = ana
        .plenum(&["group", "create", "Tenants"])
        .trim()
        .to_owned();
    ana.plenum(&["group", "relays", &group, "--set", relay.address()]);
    wait_for_reservation(&ana);
    let for_ben = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    ben.plenum(&["join", &for_ben, "--timeout", "60s"]);
    wait_for_reservation(&ben);
    let for_cleo = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    ben.wait_until("Ben holds Cleo's invite", SOON, |n| {
        let invites = n.json(&["invite", "list", &group]);
        match invites.as_array() {
            Some(list) if list.len() == 2 => Ok(()),
            _ => Err(format!("{invites}")),
        }
    });
    ana.plenum(&["chat", "send", &group, "Ana, before she left"]);
    wait_for_text(&ben, &group, "Ana, before she left");
    ana.stop();

    // The link leads to Ana, who is gone; the relay in it knows Ben holds the invite.
    let joined = cleo.plenum(&["join", &for_cleo, "--timeout", "60s"]);
    assert!(joined.contains("Tenants"), "{joined}");
    assert!(
        cleo.log().contains("found a member at a relay"),
        "Cleo found Ben by rendezvous: {}",
        cleo.log_tail()
    );
    wait_for_text(&cleo, &group, "Ana, before she left");
    let members = cleo.json(&["member", "list", &group]);
    let names: Vec<&str> = members
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 3, "{members}");
    cleo.plenum(&["chat", "send", &group, "Cleo is in"]);
    wait_for_text(&ben, &group, "Cleo is in");
    drop(net.lab);
}
