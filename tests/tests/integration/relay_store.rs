//! Store-and-forward through a blind relay (`plenum relay --store`): two devices that
//! are never online at the same time converge through envelopes the relay keeps and
//! cannot open; an outsider filling the relay's store is held to its quota while the
//! members' data stays; a key rotation reaches the relay, even after several it
//! missed, and shuts the removed out. Lab namespaces only: an internet LAN with the
//! relay, each device behind its own NAT.

use std::collections::BTreeMap;
use std::path::Path;

use plenum_tests::{LabNode, LabRelay};
use serde_json::Value;

use super::nat::{
    Internet, LISTEN, SOON, internet, texts, up_everywhere, wait_for_reservation, wait_for_text,
};

const MARKERS: [&str; 3] = ["MARKER-CHAT-4711", "MARKER-PAD-0815", "MARKER-CARD-1312"];

/// Waits until the relay holds everything of `group` this node holds.
fn wait_until_relay_holds_all(node: &LabNode, group: &str) {
    node.wait_until("the relay holds everything of the group", SOON, |n| {
        let s = n.json(&["status"]);
        let holds = s["relays"][0]["stores"]
            .as_array()
            .and_then(|stores| stores.iter().find(|st| st["group"] == group))
            .is_some_and(|st| st["holds_all_mine"] == true);
        if holds {
            Ok(())
        } else {
            Err(format!("{}", s["relays"]))
        }
    });
}

fn found_group_at(node: &LabNode, name: &str, relay: &LabRelay) -> String {
    let group = node.plenum(&["group", "create", name]).trim().to_owned();
    node.plenum(&["group", "relays", &group, "--set", relay.address()]);
    group
}

/// A storing relay, Ana, who founded "Tenants" there, and Ben, who joined and went
/// offline once the relay held everything he had.
struct Away {
    store: tempfile::TempDir,
    relay: LabRelay,
    ana: LabNode,
    ben: LabNode,
    group: String,
}

fn ben_joined_and_away(net: &Internet) -> Away {
    let store = tempfile::tempdir().expect("store dir");
    let store_arg = store.path().to_str().expect("utf-8 path").to_owned();
    let relay = LabRelay::start(&net.relay, &["--store", &store_arg]);
    let mut ana = LabNode::new(&net.homes[0], "Ana");
    ana.up_with(&LISTEN, &["--no-mdns"]);
    let mut ben = LabNode::new(&net.homes[1], "Ben");
    ben.up_with(&LISTEN, &["--no-mdns"]);
    let group = found_group_at(&ana, "Tenants", &relay);
    wait_for_reservation(&ana);
    let link = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    ben.plenum(&["join", &link, "--timeout", "60s"]);
    wait_until_relay_holds_all(&ben, &group);
    ben.stop();
    Away {
        store,
        relay,
        ana,
        ben,
        group,
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Fails unless `dir` holds files and none of them contains any of `markers`.
fn assert_no_plaintext(dir: &Path, markers: &[&str]) {
    let files = files_under(dir);
    assert!(!files.is_empty());
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        for marker in markers {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{marker} in {}",
                file.display()
            );
        }
    }
}

/// The envelopes in a relay store's database (the relay stopped), by group tag.
fn stored_envelopes(store: &Path) -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
    let db = redb::Database::open(store.join("relay.redb")).expect("open the relay's store");
    let txn = redb::ReadableDatabase::begin_read(&db).expect("read");
    let table: redb::TableDefinition<'_, &[u8], &[u8]> = redb::TableDefinition::new("envelopes");
    let table = txn.open_table(table).expect("envelopes table");
    let mut out: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for row in redb::ReadableTable::iter(&table).expect("iterate") {
        let (key, value) = row.expect("row");
        out.entry(key.value()[..16].to_vec())
            .or_default()
            .push(value.value()[8..].to_vec());
    }
    out
}

#[test]
fn relay_store_devices_never_online_together_converge_through_the_blind_relay() {
    let Some(net) = internet(&["ana", "ben"]) else {
        return;
    };
    let Away {
        store,
        relay,
        mut ana,
        mut ben,
        group,
    } = ben_joined_and_away(&net);

    // Ana writes while Ben is away, then leaves too.
    for i in 0..5 {
        ana.plenum(&[
            "chat",
            "send",
            &group,
            &format!("{} number {i}", MARKERS[0]),
        ]);
    }
    ana.plenum(&["pad", "create", &group, "Minutes"]);
    let run = ana.run_with_input(&["pad", "write", &group, "Minutes"], MARKERS[1]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    ana.plenum(&["board", "create", &group, "Actions"]);
    ana.plenum(&["board", "column", "add", &group, "Actions", "To do"]);
    ana.plenum(&[
        "board", "card", "add", &group, "Actions", "To do", MARKERS[2],
    ]);
    wait_until_relay_holds_all(&ana, &group);
    let human = ana.plenum(&["status"]);
    assert!(
        human.contains("stores Tenants for offline members: holds everything"),
        "{human}"
    );
    ana.stop();

    // Ben comes back with nobody else online: everything comes from the relay.
    ben.up_with(&LISTEN, &["--no-mdns"]);
    wait_for_text(&ben, &group, &format!("{} number 4", MARKERS[0]));
    assert_eq!(
        texts(&ben, &group),
        (0..5)
            .map(|i| format!("{} number {i}", MARKERS[0]))
            .collect::<Vec<_>>()
    );
    ben.wait_until("the pad arrives", SOON, |n| {
        let run = n.run(&["pad", "cat", &group, "Minutes"]);
        if run.stdout.contains(MARKERS[1]) {
            Ok(())
        } else {
            Err(format!("{}{}", run.stdout, run.stderr))
        }
    });
    ben.wait_until("the card arrives", SOON, |n| {
        let run = n.run(&["board", "show", &group, "Actions"]);
        if run.stdout.contains(MARKERS[2]) {
            Ok(())
        } else {
            Err(format!("{}{}", run.stdout, run.stderr))
        }
    });
    let connected: Vec<Value> = ben.json(&["status", &group])["groups"][0]["peers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["connected"] == true)
        .collect();
    assert!(
        connected.is_empty(),
        "nobody but the relay was online: {connected:?}"
    );

    // The relay kept ciphertext only: no marker in any of its files, and nothing it
    // holds opens with the only secret it has, its own key.
    let relay_key = plenum_core::crypto::SecretKey::from_bytes(relay.secret());
    let log = relay.stop();
    assert_no_plaintext(store.path(), &MARKERS);
    let stored = stored_envelopes(store.path());
    assert_eq!(stored.len(), 1, "one group registered: {log}");
    for envelope in stored.values().flatten() {
        let envelope = plenum_core::envelope::Envelope::decode(envelope).expect("an envelope");
        envelope.verify().expect("signed by its author");
        assert!(envelope.open(&relay_key).is_err());
    }
    drop(net.lab);
}

/// Asserts that `node` caught up with fewer than half as many envelopes as the
/// `written` changes (`what`) it received, each written in its own envelope.
fn assert_caught_up_compacted(node: &LabNode, written: usize, what: &str) {
    let received = node.json(&["status"])["catch_up"]["envelopes"]
        .as_u64()
        .expect("catch-up counts");
    eprintln!("caught up with {received} envelopes for {written} {what}");
    assert!(
        received < written as u64 / 2,
        "{received} envelopes for {written} {what}"
    );
}

/// Messages in the long chat: more than a relay waits for before a snapshot.
const LONG_CHAT: usize = 80;

#[test]
fn relay_store_a_long_chat_reaches_a_returning_device_as_a_snapshot_not_message_by_message() {
    let Some(net) = internet(&["ana", "ben"]) else {
        return;
    };
    let Away {
        store,
        relay,
        mut ana,
        mut ben,
        group,
    } = ben_joined_and_away(&net);

    // One envelope per message: each send is its own call.
    for i in 0..LONG_CHAT {
        ana.plenum(&["chat", "send", &group, &format!("{} {i}", MARKERS[0])]);
    }
    wait_until_relay_holds_all(&ana, &group);
    ana.stop();

    ben.up_with(&LISTEN, &["--no-mdns"]);
    let last = format!("{} {}", MARKERS[0], LONG_CHAT - 1);
    wait_for_text(&ben, &group, &last);
    assert_eq!(
        texts(&ben, &group),
        (0..LONG_CHAT)
            .map(|i| format!("{} {i}", MARKERS[0]))
            .collect::<Vec<_>>()
    );
    // What Ben received: the relay's snapshot of the chat and the few messages written
    // after it, not one envelope per message.
    assert_caught_up_compacted(&ben, LONG_CHAT, "messages");
    relay.stop();
    assert_no_plaintext(store.path(), &MARKERS[..1]);
    drop(net.lab);
}

/// Edits of the big pad: far fewer than a relay counts to before a snapshot, but
/// together worth one many times over.
const BIG_EDITS: usize = 12;

#[test]
fn relay_store_a_pad_written_in_a_few_big_edits_reaches_a_returning_device_as_a_snapshot() {
    let Some(net) = internet(&["ana", "ben"]) else {
        return;
    };
    let Away {
        store,
        relay,
        mut ana,
        mut ben,
        group,
    } = ben_joined_and_away(&net);

    ana.plenum(&["pad", "create", &group, "Minutes"]);
    let mut text = MARKERS[1].to_owned();
    for i in 0..BIG_EDITS {
        text.push('\n');
        text.push_str(&incompressible(4096, i as u64));
        let run = ana.run_with_input(&["pad", "write", &group, "Minutes"], &text);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    wait_until_relay_holds_all(&ana, &group);
    ana.stop();

    ben.up_with(&LISTEN, &["--no-mdns"]);
    ben.wait_until("the whole pad arrives", SOON, |n| {
        let run = n.run(&["pad", "cat", &group, "Minutes"]);
        if run.stdout.trim_end() == text {
            Ok(())
        } else {
            Err(format!("{} bytes; {}", run.stdout.len(), run.stderr))
        }
    });
    // The relay's snapshot of the pad (and the pad's entry in the group), not one
    // envelope per edit.
    assert_caught_up_compacted(&ben, BIG_EDITS, "edits");
    relay.stop();
    assert_no_plaintext(store.path(), &MARKERS[1..2]);
    drop(net.lab);
}

#[test]
fn relay_store_a_rotated_key_reaches_the_relay_at_once_or_after_two_rotations_away() {
    let Some(net) = internet(&["ana", "ben", "cai", "dan"]) else {
        return;
    };
    let store = tempfile::tempdir().expect("store dir");
    let store_arg = store.path().to_str().expect("utf-8 path").to_owned();
    let relay = LabRelay::start(&net.relay, &["--store", &store_arg]);
    let mut nodes = up_everywhere(&net, &["Ana", "Ben", "Cai", "Dan"]);
    let mut dan = nodes.pop().expect("Dan");
    let mut cai = nodes.pop().expect("Cai");
    let mut ben = nodes.pop().expect("Ben");
    let mut ana = nodes.pop().expect("Ana");
    let group = found_group_at(&ana, "Tenants", &relay);
    wait_for_reservation(&ana);
    for joiner in [&ben, &cai, &dan] {
        let link = ana.plenum(&["invite", "create", &group]).trim().to_owned();
        joiner.plenum(&["join", &link, "--timeout", "60s"]);
    }
    wait_until_relay_holds_all(&ana, &group);
    ben.stop();
    cai.stop();
    dan.stop();
    let registered = |relay: &LabRelay| relay.log().matches("a store key registered").count();
    assert_eq!(registered(&relay), 1, "the group's first key");

    // A removal while connected registers the new key at once: the removed member's
    // key is no longer the newest there, which could vouch for keys of their own.
    ana.plenum(&["member", "remove", &group, "Dan"]);
    ana.wait_until(
        "the relay takes the rotated key",
        SOON,
        |_| match registered(&relay) {
            2 => Ok(()),
            n => Err(format!("{n} keys registered")),
        },
    );

    // Away from the relay, Ana removes both: two key rotations the relay never saw,
    // so it knows neither of the two newest store keys.
    ana.stop();
    ana.plenum(&["member", "remove", &group, "Ben"]);
    ana.plenum(&["member", "remove", &group, "Cai"]);
    ana.plenum(&["chat", "send", &group, MARKERS[0]]);

    ana.up_with(&LISTEN, &["--no-mdns"]);
    wait_until_relay_holds_all(&ana, &group);

    // Ben, removed, still has the old key, and only it: the relay no longer takes it.
    ben.up_with(&LISTEN, &["--no-mdns"]);
    ben.wait_until("the relay refuses Ben's old store key", SOON, |n| {
        let log = n.log();
        if log.contains("refused the store key") {
            Ok(())
        } else {
            Err(n.log_tail())
        }
    });
    let stores = &ben.json(&["status"])["relays"][0]["stores"];
    assert!(
        stores.as_array().is_none_or(|s| s.is_empty()),
        "the relay stores for a removed member: {stores}"
    );
    relay.stop();
    assert_no_plaintext(store.path(), &MARKERS[..1]);
    drop(net.lab);
}

/// `len` letters that do not compress (Automerge compresses what it stores and
/// sends), a different run of them for each `seed`.
fn incompressible(len: usize, seed: u64) -> String {
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

#[test]
fn relay_store_an_outsider_flooding_the_store_is_held_to_quotas_and_members_keep_theirs() {
    const QUOTA: usize = 256 << 10;
    let Some(net) = internet(&["ana", "ben", "mallory"]) else {
        return;
    };
    let store = tempfile::tempdir().expect("store dir");
    let store_arg = store.path().to_str().expect("utf-8 path").to_owned();
    let relay = LabRelay::start(
        &net.relay,
        &[
            "--store",
            &store_arg,
            "--quota",
            "256KiB",
            "--max-groups",
            "2",
        ],
    );
    let mut nodes = up_everywhere(&net, &["Ana", "Ben", "Mallory"]);
    let mallory = nodes.pop().expect("Mallory");
    let mut ben = nodes.pop().expect("Ben");
    let mut ana = nodes.pop().expect("Ana");
    let group = found_group_at(&ana, "Tenants", &relay);
    wait_for_reservation(&ana);
    let link = ana.plenum(&["invite", "create", &group]).trim().to_owned();
    ben.plenum(&["join", &link, "--timeout", "60s"]);
    wait_until_relay_holds_all(&ben, &group);
    ben.stop();

    // Mallory, no member of Tenants, registers groups of her own and fills them.
    let spam = found_group_at(&mallory, "Spam", &relay);
    for i in 0..8 {
        mallory.plenum(&["chat", "send", &spam, &incompressible(60_000, i)]);
    }
    let more = found_group_at(&mallory, "More spam", &relay);
    mallory.wait_until("the relay refuses more than its quota", SOON, |n| {
        if n.log().contains("quota at the relay is used up") {
            Ok(())
        } else {
            Err("no refusal yet".into())
        }
    });
    let stores = mallory.json(&["status"])["relays"][0]["stores"].clone();
    let entry = |g: &str| {
        stores
            .as_array()
            .and_then(|s| s.iter().find(|st| st["group"] == g).cloned())
    };
    assert_eq!(
        entry(&spam).map(|e| e["holds_all_mine"].clone()),
        Some(Value::Bool(false)),
        "the flood does not fit: {stores}"
    );
    assert_eq!(
        entry(&more),
        None,
        "a third group is over --max-groups: {stores}"
    );

    // The members' group is untouched: Ana writes, leaves, and Ben still gets it
    // from the relay alone.
    ana.plenum(&["chat", "send", &group, MARKERS[0]]);
    wait_until_relay_holds_all(&ana, &group);
    ana.stop();
    ben.up_with(&LISTEN, &["--no-mdns"]);
    wait_for_text(&ben, &group, MARKERS[0]);

    drop(mallory);
    relay.stop();
    let stored = stored_envelopes(store.path());
    assert_eq!(stored.len(), 2, "Tenants and Spam only");
    for envelopes in stored.values() {
        let bytes: usize = envelopes.iter().map(Vec::len).sum();
        assert!(bytes <= QUOTA, "{bytes} bytes kept for one group");
    }
    drop(net.lab);
}
