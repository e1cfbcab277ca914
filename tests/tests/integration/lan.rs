//! Nodes on a lab LAN, each in its own network namespace, driven through the real
//! `plenum` CLI: joining by link and by mDNS, chat, pads and boards syncing both
//! ways, what `plenum status` says while a peer is away, packet loss, and a
//! partition that heals. Every test runs only inside namespaces it creates.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use plenum_tests::{Host, Lab, LabNode};
use serde_json::Value;

/// How long anything that should happen promptly on a LAN may take.
const SOON: Duration = Duration::from_secs(60);

/// A group founded by `founder`; its id and an invite link admitting `uses` people.
fn found_group(founder: &LabNode, uses: u32) -> (String, String) {
    let group = founder
        .plenum(&["group", "create", "Tenants"])
        .trim()
        .to_owned();
    let uses = uses.to_string();
    let link = founder
        .plenum(&["invite", "create", &group, "--uses", &uses])
        .trim()
        .to_owned();
    assert!(link.starts_with("plenum://"), "not a link: {link}");
    (group, link)
}

/// The texts of a group's default channel, in order.
fn texts(node: &LabNode, group: &str) -> Vec<String> {
    let log = node.json(&["chat", "log", group]);
    log.as_array()
        .unwrap_or_else(|| panic!("chat log is not a list: {log}"))
        .iter()
        .map(|m| m["text"].as_str().expect("text").to_owned())
        .collect()
}

fn wait_for_text(node: &LabNode, group: &str, text: &str) {
    node.wait_until(&format!("message {text:?} arrives"), SOON, |n| {
        let have = texts(n, group);
        if have.iter().any(|t| t == text) {
            Ok(())
        } else {
            Err(format!("{have:?}"))
        }
    });
}

fn pad_text(node: &LabNode, group: &str, pad: &str) -> String {
    node.plenum(&["pad", "cat", group, pad])
}

fn write_pad(node: &LabNode, group: &str, pad: &str, text: &str) {
    let run = node.run_with_input(&["pad", "write", group, pad], text);
    assert_eq!(run.code, Some(0), "pad write failed: {}", run.stderr);
}

fn wait_for_pad(node: &LabNode, group: &str, pad: &str, text: &str) {
    node.wait_until(&format!("pad {pad} reads {text:?}"), SOON, |n| {
        let run = n.run(&["pad", "cat", group, pad]);
        if run.code == Some(0) && run.stdout == text {
            Ok(())
        } else {
            Err(format!("{run:?}"))
        }
    });
}

/// Every card title anywhere under a board's JSON.
fn card_titles(board: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![board];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::Array(cards)) = map.get("cards") {
                    for card in cards {
                        if let Some(title) = card["title"].as_str() {
                            out.insert(title.to_owned());
                        }
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

fn wait_for_cards(node: &LabNode, group: &str, board: &str, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
    node.wait_until(&format!("board {board} shows {want:?}"), SOON, |n| {
        let run = n.run(&["--json", "board", "show", group, board]);
        if run.code != Some(0) {
            return Err(format!("{run:?}"));
        }
        let view: Value = serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
        let have = card_titles(&view);
        if have == want {
            Ok(())
        } else {
            Err(format!("{have:?} in {view}"))
        }
    });
}

/// The status entry for the peer called `name` in `group`, if listed.
fn peer_status(node: &LabNode, group: &str, name: &str) -> Result<Value, String> {
    let status = node.json(&["status", group]);
    let peers = status["groups"][0]["peers"].clone();
    peers
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
        .ok_or_else(|| format!("no peer {name:?} in {status}"))
}

/// Each document's label and state (`in_sync`, `peer_behind`, …) with its count.
fn doc_states(peer: &Value) -> Vec<(String, String, Option<u64>)> {
    peer["docs"]
        .as_array()
        .map(|docs| {
            docs.iter()
                .map(|d| {
                    (
                        d["label"].as_str().unwrap_or("?").to_owned(),
                        d["state"]["state"].as_str().unwrap_or("?").to_owned(),
                        d["state"]["envelopes"].as_u64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `node` sees `name` connected over the LAN with every document in sync.
fn wait_in_sync(node: &LabNode, group: &str, name: &str) {
    node.wait_until(
        &format!("{name} connected over the LAN, all in sync"),
        SOON,
        |n| {
            let peer = peer_status(n, group, name)?;
            let docs = doc_states(&peer);
            let ok = peer["connected"] == true
                && peer["path"] == "lan"
                && !docs.is_empty()
                && docs.iter().all(|(_, state, _)| state == "in_sync");
            if ok { Ok(()) } else { Err(peer.to_string()) }
        },
    );
}

#[test]
fn lan_two_nodes_join_sync_everything_and_status_tracks_an_absent_peer() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    let mut ana = LabNode::new(&a, "Ana");
    let mut ben = LabNode::new(&b, "Ben");
    ana.up();
    ben.up();
    let (group, link) = found_group(&ana, 1);
    let started = Instant::now();
    ben.plenum(&["join", &link, "--timeout", "60s"]);
    eprintln!("joined in {:?}", started.elapsed());

    // Chat, both ways.
    ana.plenum(&["chat", "send", &group, "hello Ben"]);
    wait_for_text(&ben, &group, "hello Ben");
    ben.plenum(&["chat", "send", &group, "hello Ana"]);
    wait_for_text(&ana, &group, "hello Ana");

    // A pad, written on one side and then on the other.
    ana.plenum(&["pad", "create", &group, "Agenda"]);
    let first = "# Agenda\n- rent\n";
    write_pad(&ana, &group, "Agenda", first);
    wait_for_pad(&ben, &group, "Agenda", first);
    let second = "# Agenda\n- rent\n- repairs\n";
    write_pad(&ben, &group, "Agenda", second);
    wait_for_pad(&ana, &group, "Agenda", second);
    assert_eq!(
        pad_text(&ana, &group, "Agenda"),
        pad_text(&ben, &group, "Agenda")
    );

    // A board, a card added on each side.
    ana.plenum(&["board", "create", &group, "Chores"]);
    ana.plenum(&["board", "column", "add", &group, "Chores", "To do"]);
    ben.wait_until("board Chores arrives", SOON, |n| {
        let run = n.run(&["board", "show", &group, "Chores"]);
        if run.code == Some(0) && run.stdout.contains("To do") {
            Ok(())
        } else {
            Err(format!("{run:?}"))
        }
    });
    ana.plenum(&[
        "board",
        "card",
        "add",
        &group,
        "Chores",
        "To do",
        "Buy bulbs",
    ]);
    ben.plenum(&[
        "board",
        "card",
        "add",
        &group,
        "Chores",
        "To do",
        "Fix the boiler",
    ]);
    for node in [&ana, &ben] {
        wait_for_cards(node, &group, "Chores", &["Buy bulbs", "Fix the boiler"]);
    }

    wait_in_sync(&ana, &group, "Ben");
    wait_in_sync(&ben, &group, "Ana");

    // Ben goes away; Ana writes five messages he does not have.
    ben.stop();
    let away: Vec<String> = (1..=5).map(|i| format!("while Ben was away {i}")).collect();
    for text in &away {
        ana.plenum(&["chat", "send", &group, text]);
    }
    ana.wait_until("Ben offline and 5 messages behind", SOON, |n| {
        let peer = peer_status(n, &group, "Ben")?;
        let docs = doc_states(&peer);
        let chat: Vec<_> = docs.iter().filter(|(l, _, _)| l.starts_with('#')).collect();
        let others_in_sync = docs
            .iter()
            .filter(|(l, _, _)| !l.starts_with('#'))
            .all(|(_, s, _)| s == "in_sync");
        let ok = peer["connected"] == false
            && chat.len() == 1
            && chat[0].1 == "peer_behind"
            && chat[0].2 == Some(5)
            && others_in_sync;
        if ok { Ok(()) } else { Err(peer.to_string()) }
    });
    let human = ana.plenum(&["status", &group]);
    assert!(
        human.contains("peer is behind by 5"),
        "human status: {human}"
    );

    // Back: Ben catches up with all five and both say in sync again.
    ben.up();
    ben.wait_until("Ben catches up on all five", SOON, |n| {
        let have = texts(n, &group);
        if away.iter().all(|t| have.contains(t)) {
            Ok(())
        } else {
            Err(format!("{have:?}"))
        }
    });
    wait_in_sync(&ana, &group, "Ben");
    let human = ana.plenum(&["status", &group]);
    assert!(!human.contains("behind"), "human status: {human}");
    assert!(human.contains("in sync"), "human status: {human}");
}

#[test]
fn lan_a_joiner_whose_link_is_useless_finds_the_inviter_by_mdns() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    let mut ana = LabNode::new(&a, "Ana");
    // Invited while listening on loopback only: the link's one address is a's
    // 127.0.0.1, which from b is b's own loopback, where nobody listens for Ana.
    ana.up_listening(&["/ip4/127.0.0.1/tcp/0"]);
    let (group, link) = found_group(&ana, 1);
    let parsed = plenum_core::invite::InviteLink::parse(&link).expect("the link parses");
    let addresses: Vec<String> = parsed
        .addresses
        .iter()
        .map(|raw| {
            plenum_core::net::Address::try_from(raw.clone())
                .expect("a multiaddr")
                .to_string()
        })
        .collect();
    assert!(
        !addresses.is_empty() && addresses.iter().all(|a| a.starts_with("/ip4/127.0.0.1/")),
        "the link should carry only loopback: {addresses:?}"
    );
    ana.stop();
    ana.up();
    ana.plenum(&["chat", "send", &group, "found you on the LAN"]);

    let mut ben = LabNode::new(&b, "Ben");
    ben.up();
    let started = Instant::now();
    let run = ben.run(&["join", &link, "--timeout", "60s"]);
    assert_eq!(
        run.code,
        Some(0),
        "join over mDNS failed after {:?}: {}\nBen's log: {}\nAna's log: {}",
        started.elapsed(),
        run.stderr,
        ben.log_tail(),
        ana.log_tail()
    );
    eprintln!("joined by mDNS in {:?}", started.elapsed());
    wait_for_text(&ben, &group, "found you on the LAN");
    let peer = ben.wait_until("Ana listed as connected", SOON, |n| {
        let peer = peer_status(n, &group, "Ana")?;
        if peer["connected"] == true {
            Ok(peer)
        } else {
            Err(peer.to_string())
        }
    });
    assert_eq!(peer["path"], "lan", "{peer}");
    let address = peer["address"].as_str().unwrap_or_default();
    assert!(
        address.contains(&a.addr().to_string()),
        "connected to Ana's LAN address, not {address}"
    );
}

#[test]
fn lan_a_thousand_messages_all_arrive_through_ten_percent_loss() {
    let Some(lab) = Lab::new() else { return };
    let (a, b) = (lab.host("a"), lab.host("b"));
    lab.lan(&[&a, &b]);
    let mut ana = LabNode::new(&a, "Ana");
    let mut ben = LabNode::new(&b, "Ben");
    ana.up();
    ben.up();
    let (group, link) = found_group(&ana, 1);
    ben.plenum(&["join", &link, "--timeout", "60s"]);
    b.set_loss(0.1);

    let started = Instant::now();
    // One shell loop inside a's namespace: a thousand CLI runs without a thousand
    // round trips through the test.
    let script = r#"i=1; while [ $i -le 1000 ]; do "$0" --data "$1" chat send "$2" "message $i" >/dev/null || exit 1; i=$((i+1)); done"#;
    let mut cmd = a.command("sh");
    cmd.args(["-c", script])
        .arg(plenum_tests::plenum_bin())
        .arg(&ana.profile.data)
        .arg(&group);
    ana.profile.environment(&mut cmd);
    let sent = a.run(&mut cmd, Duration::from_secs(300));
    assert_eq!(sent.code, Some(0), "sending failed: {}", sent.stderr);
    eprintln!("sent 1000 in {:?}", started.elapsed());

    let count = |n: &LabNode| texts(n, &group).len();
    let sent_count = count(&ana);
    assert_eq!(sent_count, 1000, "Ana's own log");
    ben.wait_until("all 1000 reach Ben", Duration::from_secs(240), |n| {
        let have: BTreeSet<String> = texts(n, &group).into_iter().collect();
        if have.len() == 1000 {
            Ok(())
        } else {
            let missing: Vec<_> = (1..=1000)
                .map(|i| format!("message {i}"))
                .filter(|t| !have.contains(t))
                .take(20)
                .collect();
            Err(format!("{} of 1000; first missing {missing:?}", have.len()))
        }
    });
    assert_eq!(count(&ben), 1000, "no duplicates at Ben");
    eprintln!(
        "all 1000 at Ben {:?} after the first was sent",
        started.elapsed()
    );
}

#[test]
fn lan_five_nodes_split_write_heal_and_converge_without_duplicates() {
    let Some(lab) = Lab::new() else { return };
    let hosts: Vec<Host> = ["a", "b", "c", "d", "e"].map(|n| lab.host(n)).into();
    lab.lan(&hosts.iter().collect::<Vec<_>>());
    let names = ["Ana", "Ben", "Cai", "Dee", "Eli"];
    let mut nodes: Vec<LabNode> = hosts
        .iter()
        .zip(names)
        .map(|(h, n)| LabNode::new(h, n))
        .collect();
    for node in &mut nodes {
        node.up();
    }
    let (group, link) = found_group(&nodes[0], 4);
    for node in &nodes[1..] {
        node.plenum(&["join", &link, "--timeout", "60s"]);
    }
    nodes[0].plenum(&["chat", "send", &group, "all five of us"]);
    for node in &nodes {
        wait_for_text(node, &group, "all five of us");
    }

    // What catch-up has moved so far, to compare with after the heal.
    let moved = |node: &LabNode| {
        let counts = &node.json(&["status"])["catch_up"];
        (
            counts["envelopes"].as_u64().expect("envelopes"),
            counts["duplicates"].as_u64().expect("duplicates"),
        )
    };
    let before_split: Vec<(u64, u64)> = nodes.iter().map(moved).collect();

    let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|i| &hosts[i]);
    lab.partition(&[a, b], &[c, d, e]);
    let mut all = vec!["all five of us".to_owned()];
    for (writer, side) in [(0, "left"), (2, "right")] {
        for i in 1..=3 {
            let text = format!("{side} side {i}");
            nodes[writer].plenum(&["chat", "send", &group, &text]);
            all.push(text);
        }
    }
    // Each side has its own three; the other side's have not crossed, though they
    // had time to (on this LAN a message crosses in well under a second).
    let mut checks: Vec<(usize, &str, &str)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (own, other) = if i < 2 {
            ("left", "right")
        } else {
            ("right", "left")
        };
        node.wait_until(&format!("{own} side's messages"), SOON, |n| {
            let have = texts(n, &group);
            let mine = have.iter().filter(|t| t.starts_with(own)).count();
            if mine == 3 {
                Ok(())
            } else {
                Err(format!("{have:?}"))
            }
        });
        checks.push((i, own, other));
    }
    std::thread::sleep(Duration::from_secs(3));
    for (i, _, other) in checks {
        let have = texts(&nodes[i], &group);
        assert!(
            !have.iter().any(|t| t.starts_with(other)),
            "{} has the other side's messages during the partition: {have:?}",
            names[i]
        );
    }

    // Long enough for the connections across the split to be found dead (ping), as
    // when people walk out of range: after the heal, redial and catch-up repair it,
    // not TCP retransmitting buffered gossip.
    for (i, node) in nodes.iter().enumerate() {
        let across: Vec<&str> = if i < 2 {
            names[2..].to_vec()
        } else {
            names[..2].to_vec()
        };
        node.wait_until(
            "the other side's connections to close",
            Duration::from_secs(90),
            |n| {
                let status = n.json(&["status"]);
                let still: Vec<String> = status["groups"][0]["peers"]
                    .as_array()
                    .expect("peers")
                    .iter()
                    .filter(|p| {
                        p["connected"] == true && across.contains(&p["name"].as_str().unwrap_or(""))
                    })
                    .map(|p| p["name"].to_string())
                    .collect();
                if still.is_empty() {
                    Ok(())
                } else {
                    Err(format!("still connected to {still:?}"))
                }
            },
        );
    }

    // Counted from here: during the split a node may rightly fetch its own side's
    // messages by catch-up (one that reached it first through a new connection, or
    // after a later one it held back).
    let before: Vec<(u64, u64)> = nodes.iter().map(moved).collect();
    eprintln!("catch-up during the split: {before_split:?} → {before:?}");
    lab.heal();
    let want: BTreeSet<String> = all.iter().cloned().collect();
    let started = Instant::now();
    for (i, node) in nodes.iter().enumerate() {
        node.wait_until(
            "everything from both sides",
            Duration::from_secs(120),
            |n| {
                let have = texts(n, &group);
                let set: BTreeSet<String> = have.iter().cloned().collect();
                if set == want {
                    Ok(())
                } else {
                    Err(format!("{have:?}"))
                }
            },
        );
        let have = texts(node, &group);
        assert_eq!(
            have.len(),
            all.len(),
            "{} holds duplicates: {have:?}",
            names[i]
        );
    }
    eprintln!("converged {:?} after healing", started.elapsed());
    // Catch-up moved exactly what was missing: each left node lacked the right side's
    // three messages, each right node the left side's three, and nothing came twice.
    let after: Vec<(u64, u64)> = nodes.iter().map(moved).collect();
    let envelopes: u64 = after.iter().zip(&before).map(|(a, b)| a.0 - b.0).sum();
    let duplicates: u64 = after
        .iter()
        .zip(&before_split)
        .map(|(a, b)| a.1 - b.1)
        .sum();
    assert_eq!(
        envelopes,
        2 * 3 + 3 * 3,
        "envelopes moved by catch-up after the heal: {before:?} → {after:?}"
    );
    assert_eq!(
        duplicates, 0,
        "catch-up fetched nothing twice, during the split or after: {before_split:?} → {after:?}"
    );
}

#[test]
fn lan_a_joiner_asks_again_a_member_that_lacked_the_invite_at_first() {
    let Some(lab) = Lab::new() else { return };
    let (a, b, c) = (lab.host("a"), lab.host("b"), lab.host("c"));
    lab.lan(&[&a, &b, &c]);
    let mut ana = LabNode::new(&a, "Ana");
    let mut cai = LabNode::new(&c, "Cai");
    ana.up();
    cai.up();
    let (group, first) = found_group(&ana, 1);
    cai.plenum(&["join", &first, "--timeout", "60s"]);

    // Ana makes an invite while cut off: Cai does not hold it yet.
    lab.partition(&[&a], &[&b, &c]);
    let link = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    let mut ben = LabNode::new(&b, "Ben");
    ben.up();
    let mut cmd = b.command(plenum_tests::plenum_bin());
    cmd.arg("--data")
        .arg(&ben.profile.data)
        .args(["join", &link, "--timeout", "60s"]);
    ben.profile.environment(&mut cmd);
    let join = b.spawn(&mut cmd);
    // Ben finds Cai by mDNS and asks; Cai has no such invite yet.
    std::thread::sleep(Duration::from_secs(5));
    // Now Ana reaches Cai (not Ben): Cai learns the invite and can admit Ben.
    lab.heal();
    lab.partition(&[&a], &[&b]);
    cai.wait_until("Cai holds Ana's new invite", SOON, |n| {
        let out = n.plenum(&["invite", "list", &group]);
        if out.lines().filter(|l| l.contains("active")).count() == 1 {
            Ok(())
        } else {
            Err(out)
        }
    });
    let run = join.finish(Duration::from_secs(90));
    assert_eq!(
        run.code,
        Some(0),
        "Ben was not admitted by Cai once Cai held the invite: {}\nBen's log: {}",
        run.stderr,
        ben.log_tail()
    );
}
