//! Convergence through the whole engine: three devices of one group make random edits to
//! a chat channel, a pad and a board; every edit is sealed into an envelope, stored,
//! read back from the store and opened by the other devices, delivered in random order
//! with duplicates. All typed views must end identical — also after every device
//! reloads everything from disk — and no card is ever duplicated or lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;

use crate::api::{Event, Request, Response};
use crate::docs::Splice;
use crate::identity::Profile;
use crate::ids::GroupId;
use crate::store::{Protection, Store};
use crate::time::Timestamp;

use super::engine::{State, Tx};
use super::ingest::{IngestError, Ingested};

pub(super) struct Replica {
    _dir: tempfile::TempDir,
    pub(super) state: State,
}

impl Replica {
    fn new(name: &str) -> Replica {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::init(
            &dir.path().join("data"),
            Protection::KeyFile(dir.path().join("key")),
        )
        .expect("store");
        let state =
            State::open(Arc::new(store), Profile::new(name.into(), Timestamp(0))).expect("state");
        Replica { _dir: dir, state }
    }

    /// A second device made by copying this one's data directory.
    fn copy(&self) -> Replica {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = self._dir.path();
        std::fs::copy(from.join("key"), dir.path().join("key")).expect("copy key");
        std::fs::create_dir(dir.path().join("data")).expect("data dir");
        for entry in std::fs::read_dir(from.join("data")).expect("read data dir") {
            let entry = entry.expect("entry");
            std::fs::copy(
                entry.path(),
                dir.path().join("data").join(entry.file_name()),
            )
            .expect("copy");
        }
        let store = Store::open(
            &dir.path().join("data"),
            crate::store::Unlock::KeyFile(dir.path().join("key")),
        )
        .expect("open the copy");
        let state = State::open(Arc::new(store), self.state.profile.clone()).expect("state");
        Replica { _dir: dir, state }
    }

    /// Handles a request and commits it durably, as the node's writer would.
    pub(super) fn call(
        &mut self,
        request: Request,
        now: u64,
    ) -> Result<Response, crate::api::ApiError> {
        let mut tx = Tx::default();
        let result = self.state.handle(&mut tx, request, Timestamp(now));
        self.commit(tx);
        result
    }

    pub(super) fn commit(&mut self, tx: Tx) {
        self.state.next.batches.push(tx.batch);
        self.state.seal_unsealed();
        let next = std::mem::take(&mut self.state.next);
        self.state.store.commit(&next.batches).expect("commit");
    }

    /// Ingests envelopes and commits; returns the events front ends would get.
    pub(super) fn receive(&mut self, envelopes: &[Vec<u8>]) -> Vec<Event> {
        let mut tx = Tx::default();
        for bytes in envelopes {
            let outcome = self.state.ingest(&mut tx, bytes).expect("ingest");
            assert!(matches!(
                outcome,
                Ingested::Applied(_) | Ingested::Duplicate | Ingested::Pending
            ));
        }
        let events = std::mem::take(&mut tx.events);
        self.commit(tx);
        events
    }

    /// Everything this replica has stored, read back from its store.
    pub(super) fn outbox(&self, group: &GroupId) -> Vec<Vec<u8>> {
        self.state
            .stored_envelopes(group)
            .expect("stored envelopes")
    }

    /// The envelopes this replica wrote itself, read back from its store.
    pub(super) fn own_outbox(&self, group: &GroupId) -> Vec<Vec<u8>> {
        let me = self.state.groups[group].secrets.member.id();
        self.outbox(group)
            .into_iter()
            .filter(|e| {
                crate::envelope::Envelope::decode(e)
                    .expect("decode")
                    .header()
                    .author
                    == me
            })
            .collect()
    }
}

/// Three replicas of one group with three members and a shared epoch key; replica 0
/// founded it and made a pad and a board with two columns, which the others received.
pub(super) fn setup() -> (Vec<Replica>, GroupId) {
    let mut replicas: Vec<Replica> = ["Ana", "Bo", "Cy"]
        .iter()
        .map(|n| Replica::new(n))
        .collect();
    let Response::Group(summary) = replicas[0]
        .call(Request::GroupCreate { name: "G".into() }, 1)
        .expect("create")
    else {
        panic!("group")
    };
    let group = summary.id;
    let g = group.to_string();
    replicas[0]
        .call(
            Request::PadCreate {
                group: g.clone(),
                name: "pad".into(),
            },
            2,
        )
        .expect("pad");
    replicas[0]
        .call(
            Request::BoardCreate {
                group: g.clone(),
                name: "board".into(),
            },
            3,
        )
        .expect("board");
    for column in ["todo", "done"] {
        let request = Request::ColumnAdd {
            group: g.clone(),
            board: "board".into(),
            title: column.into(),
        };
        replicas[0].call(request, 4).expect("column");
    }
    // The others join with one invite, admitted by the founder through the real
    // handshake; then everyone has everything.
    let Response::Invite(invite) = replicas[0]
        .call(
            Request::InviteCreate {
                group: g,
                uses: Some(2),
                expires_in_ms: None,
            },
            5,
        )
        .expect("invite")
    else {
        panic!("invite")
    };
    let link = invite.link.expect("the inviter has the link");
    for i in 1..3 {
        join(&mut replicas, 0, i, &link);
    }
    let founding = replicas[0].outbox(&group);
    for replica in &mut replicas[1..] {
        replica.receive(&founding);
    }
    (replicas, group)
}

/// Replica `joiner` joins with `link`, admitted by replica `admitter`.
fn join(replicas: &mut [Replica], admitter: usize, joiner: usize, link: &str) {
    let nonce = replicas[admitter].state.join_nonce();
    let peer = replicas[admitter].state.profile.transport_public();
    let request = replicas[joiner]
        .state
        .join_request(link, peer, nonce, Timestamp(6))
        .expect("join request");
    let mut tx = Tx::default();
    let (grants, docs) = replicas[admitter]
        .state
        .admit(&mut tx, &request, Timestamp(6))
        .expect("admit");
    replicas[admitter].commit(tx);
    let envelopes = replicas[admitter]
        .state
        .welcome_envelopes(&request.group, docs.as_ref())
        .expect("envelopes");
    let welcome = crate::invite::Welcome {
        group: request.group,
        grants,
        envelopes,
    };
    let mut tx = Tx::default();
    replicas[joiner]
        .state
        .accept_welcome(&mut tx, &welcome)
        .expect("welcome");
    replicas[joiner].commit(tx);
}

#[derive(Debug, Clone)]
enum Op {
    Send {
        r: usize,
        text: u8,
    },
    Edit {
        r: usize,
        pick: usize,
    },
    React {
        r: usize,
        pick: usize,
        emoji: u8,
    },
    Delete {
        r: usize,
        pick: usize,
    },
    Splice {
        r: usize,
        pos: usize,
        delete: usize,
        text: u8,
    },
    CardAdd {
        r: usize,
        column: bool,
    },
    CardMove {
        r: usize,
        pick: usize,
        column: bool,
        index: usize,
    },
    Deliver {
        from: usize,
        to: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..3usize;
    prop_oneof![
        3 => (r.clone(), any::<u8>()).prop_map(|(r, text)| Op::Send { r, text }),
        1 => (r.clone(), any::<usize>()).prop_map(|(r, pick)| Op::Edit { r, pick }),
        1 => (r.clone(), any::<usize>(), 0..3u8).prop_map(|(r, pick, emoji)| Op::React { r, pick, emoji }),
        1 => (r.clone(), any::<usize>()).prop_map(|(r, pick)| Op::Delete { r, pick }),
        3 => (r.clone(), any::<usize>(), 0..4usize, any::<u8>()).prop_map(|(r, pos, delete, text)| Op::Splice { r, pos, delete, text }),
        2 => (r.clone(), any::<bool>()).prop_map(|(r, column)| Op::CardAdd { r, column }),
        3 => (r.clone(), any::<usize>(), any::<bool>(), 0..5usize).prop_map(|(r, pick, column, index)| Op::CardMove { r, pick, column, index }),
        2 => (r.clone(), r).prop_map(|(from, to)| Op::Deliver { from, to }),
    ]
}

pub(super) fn messages(replica: &mut Replica, g: &str) -> Vec<crate::api::MessageView> {
    match replica.call(
        Request::ChatLog {
            group: g.into(),
            channel: None,
            before: None,
            limit: None,
        },
        0,
    ) {
        Ok(Response::Messages(m)) => m,
        other => panic!("chat log: {other:?}"),
    }
}

pub(super) fn board(replica: &mut Replica, g: &str) -> crate::docs::Board {
    match replica.call(
        Request::BoardShow {
            group: g.into(),
            board: "board".into(),
        },
        0,
    ) {
        Ok(Response::Board(b)) => b.board,
        other => panic!("board: {other:?}"),
    }
}

fn pad(replica: &mut Replica, g: &str) -> String {
    match replica.call(
        Request::PadGet {
            group: g.into(),
            pad: "pad".into(),
        },
        0,
    ) {
        Ok(Response::Pad(p)) => p.text,
        other => panic!("pad: {other:?}"),
    }
}

fn apply(replicas: &mut [Replica], g: &str, op: &Op, now: u64, cards_added: &mut usize) {
    let columns = ["todo", "done"];
    match *op {
        Op::Send { r, text } => {
            let request = Request::ChatSend {
                group: g.into(),
                channel: None,
                text: format!("m{text}"),
                reply_to: None,
            };
            replicas[r].call(request, now).expect("send");
        }
        Op::Edit { r, pick } | Op::Delete { r, pick } | Op::React { r, pick, .. } => {
            let list = messages(&mut replicas[r], g);
            if list.is_empty() {
                return;
            }
            let message = list[pick % list.len()].message.id.to_string();
            let request = match *op {
                Op::Edit { .. } => Request::ChatEdit {
                    group: g.into(),
                    message,
                    text: format!("edited at {now}"),
                },
                Op::Delete { .. } => Request::ChatDelete {
                    group: g.into(),
                    message,
                },
                Op::React { emoji, .. } => Request::ChatReact {
                    group: g.into(),
                    message,
                    emoji: ["👍", "✊", "❤"][emoji as usize].into(),
                    remove: false,
                },
                _ => unreachable!(),
            };
            // Editing someone else's message is refused, which is part of the test.
            let _ = replicas[r].call(request, now);
        }
        Op::Splice {
            r,
            pos,
            delete,
            text,
        } => {
            let current = pad(&mut replicas[r], g).encode_utf16().count();
            let pos = if current == 0 { 0 } else { pos % (current + 1) };
            let delete = delete.min(current - pos);
            let splice = Splice {
                pos,
                delete,
                insert: format!("<{text}>"),
            };
            let request = Request::PadSplice {
                group: g.into(),
                pad: "pad".into(),
                heads: Vec::new(),
                splices: vec![splice],
            };
            replicas[r].call(request, now).expect("splice");
        }
        Op::CardAdd { r, column } => {
            let request = Request::CardAdd {
                group: g.into(),
                board: "board".into(),
                column: columns[column as usize].into(),
                title: format!("card {now}"),
            };
            replicas[r].call(request, now).expect("card add");
            *cards_added += 1;
        }
        Op::CardMove {
            r,
            pick,
            column,
            index,
        } => {
            let view = board(&mut replicas[r], g);
            let cards: Vec<_> = view.columns.iter().flat_map(|c| c.cards.iter()).collect();
            if cards.is_empty() {
                return;
            }
            let card = cards[pick % cards.len()].id.to_string();
            let request = Request::CardMove {
                group: g.into(),
                board: "board".into(),
                card,
                column: columns[column as usize].into(),
                index: Some(index),
            };
            replicas[r].call(request, now).expect("card move");
        }
        Op::Deliver { from, to } => {
            if from != to {
                let envelopes = replicas[from].outbox(&g.parse().expect("group id"));
                replicas[to].receive(&envelopes);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, timeout: 60_000, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_through_seal_store_open(ops in prop::collection::vec(op(), 1..40), seed in any::<u64>()) {
        let (mut replicas, group) = setup();
        let g = group.to_string();
        let mut cards_added = 0;
        for (i, op) in ops.iter().enumerate() {
            apply(&mut replicas, &g, op, 10_000 + i as u64 * 1000, &mut cards_added);
        }
        // Everything to everyone: in a shuffled order, every envelope twice.
        let mut all: Vec<Vec<u8>> = replicas.iter().flat_map(|r| r.outbox(&group)).collect();
        all.extend(all.clone());
        let mut rng = seed;
        for i in (1..all.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            all.swap(i, (rng >> 33) as usize % (i + 1));
        }
        for replica in &mut replicas {
            replica.receive(&all);
            prop_assert_eq!(replica.state.pending.len(), 0, "envelopes left waiting");
        }
        let expected = (messages(&mut replicas[0], &g), board(&mut replicas[0], &g), pad(&mut replicas[0], &g));
        let ids: BTreeSet<_> = expected.1.columns.iter().flat_map(|c| c.cards.iter().map(|c| c.id)).collect();
        let total: usize = expected.1.columns.iter().map(|c| c.cards.len()).sum();
        prop_assert_eq!(total, cards_added, "a card was duplicated or lost");
        prop_assert_eq!(ids.len(), cards_added);
        for reload in [false, true] {
            for replica in &mut replicas {
                if reload {
                    // Drop every loaded document: what follows is read back from disk.
                    replica.state.forget_all();
                }
                prop_assert_eq!(&messages(replica, &g), &expected.0);
                prop_assert_eq!(&board(replica, &g), &expected.1);
                prop_assert_eq!(&pad(replica, &g), &expected.2);
            }
        }
    }
}

#[test]
fn the_setup_really_shares_one_group() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    replicas[1]
        .call(
            Request::ChatSend {
                group: g.clone(),
                channel: None,
                text: "from Bo".into(),
                reply_to: None,
            },
            5,
        )
        .unwrap();
    let from_bo = replicas[1].outbox(&group);
    let events = replicas[2].receive(&from_bo);
    let log = messages(&mut replicas[2], &g);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].author_name, "Bo");
    // A replica that has not received it does not show it.
    assert!(messages(&mut replicas[0], &g).is_empty());
    // Receiving told the front ends: the directory changed (a new segment) and a
    // message arrived, with its text.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::GroupChanged { .. })),
        "{events:?}"
    );
    let arrived: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some(message.message.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(arrived, ["from Bo"]);

    // A reaction from Cy reaches Bo as an event for that one message.
    let id = log[0].message.id.to_string();
    let react = Request::ChatReact {
        group: g.clone(),
        message: id,
        emoji: "✊".into(),
        remove: false,
    };
    replicas[2].call(react, 6).unwrap();
    let from_cy = replicas[2].outbox(&group);
    let events = replicas[1].receive(&from_cy);
    let reacted: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => {
                Some(message.message.reactions.get("✊").map_or(0, Vec::len))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reacted, [1]);
    // Edits to a pad and a board announce themselves too.
    replicas[0]
        .call(
            Request::PadWrite {
                group: g,
                pad: "pad".into(),
                text: "agenda".into(),
            },
            7,
        )
        .unwrap();
    let from_ana = replicas[0].outbox(&group);
    let events = replicas[1].receive(&from_ana);
    assert!(
        events.iter().any(|e| matches!(e, Event::PadChanged { .. })),
        "{events:?}"
    );
}

#[test]
fn an_envelope_carrying_another_members_changes_is_refused() {
    use crate::envelope::{self, Envelope, EnvelopeError, Header, Kind, doc_key, group_tag};

    let (mut replicas, group) = setup();
    let g = group.to_string();
    // Bo makes a change under Ana's actor id and signs the envelope with his own key.
    let ana_actor = replicas[0].state.groups[&group].secrets.member.actor_id();
    let bo = replicas[1].state.groups[&group].secrets.clone();
    let directory = crate::group::directory_doc(&group);
    let mut forged_doc = replicas[1]
        .state
        .doc(&group, &directory)
        .expect("directory")
        .doc
        .fork();
    forged_doc.set_actor(ana_actor);
    crate::docs::directory::rename(&mut forged_doc, "Taken over").expect("rename");
    let mut changes = vec![forged_doc.get_last_local_change().expect("change")];
    let epoch = replicas[1].state.groups[&group].state.current_epoch();
    let header = Header {
        kind: Kind::Changes,
        group_tag: group_tag(&group),
        doc: directory,
        author: bo.member.id(),
        seq: 1,
        prev: crate::ids::Hash([0; 32]),
        epoch,
        change_hashes: changes.iter().map(automerge::Change::hash).collect(),
    };
    let key = doc_key(&bo.epoch_key(&epoch).expect("key"), &directory);
    let forged = Envelope::seal(
        header,
        &key,
        &envelope::encode_changes(&mut changes),
        &bo.member,
    );

    let mut tx = Tx::default();
    let err = replicas[2]
        .state
        .ingest(&mut tx, forged.as_bytes())
        .expect_err("forged envelope accepted");
    assert!(
        matches!(
            err,
            IngestError::Envelope(EnvelopeError::ForeignActor { .. })
        ),
        "{err}"
    );
    replicas[2].commit(tx);
    let Response::Group(summary) = replicas[2]
        .call(Request::GroupShow { group: g }, 9)
        .expect("show")
    else {
        panic!("group")
    };
    assert_eq!(summary.name, "G", "the forged rename must not apply");
}

#[test]
fn a_forked_chain_is_refused_kept_as_evidence_and_shown() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    // Bo's device is copied: both copies send a different first message into the same
    // segment, each as Bo's seq 1 there.
    let mut copy = replicas[1].copy();
    let send = |text: &str| Request::ChatSend {
        group: g.clone(),
        channel: None,
        text: text.into(),
        reply_to: None,
    };
    replicas[1]
        .call(send("from the original"), 20)
        .expect("send");
    copy.call(send("from the copy"), 20).expect("send");

    let original = replicas[1].outbox(&group);
    replicas[2].receive(&original);
    let copied = copy.outbox(&group);
    let mut tx = Tx::default();
    let mut refused = Vec::new();
    for bytes in &copied {
        if let Err(e) = replicas[2].state.ingest(&mut tx, bytes) {
            refused.push(e);
        }
    }
    replicas[2].commit(tx);
    assert!(
        refused
            .iter()
            .any(|e| matches!(e, IngestError::Fork { .. })),
        "{refused:?}"
    );

    let show =
        |replica: &mut Replica| match replica.call(Request::GroupShow { group: g.clone() }, 30) {
            Ok(Response::Group(summary)) => summary,
            other => panic!("group show: {other:?}"),
        };
    assert!(show(&mut replicas[2]).forks >= 1, "the fork is shown");
    assert_eq!(show(&mut replicas[0]).forks, 0);
    // The first history stands; the fork was not merged.
    let texts: Vec<String> = messages(&mut replicas[2], &g)
        .into_iter()
        .map(|m| m.message.text)
        .collect();
    assert_eq!(texts, ["from the original"]);
    // The evidence is on disk.
    replicas[2].state.forget_all();
    let kept = replicas[2].state.store.forks_of(&group).expect("forks");
    assert!(!kept.is_empty(), "no fork evidence on disk");
}

#[test]
fn renames_reach_every_member_and_channel_names_stay_unique() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let renames = [
        Request::GroupRename {
            group: g.clone(),
            name: "Tenants union".into(),
        },
        Request::ChannelRename {
            group: g.clone(),
            channel: "general".into(),
            name: "lobby".into(),
        },
        Request::PadRename {
            group: g.clone(),
            pad: "pad".into(),
            name: "Minutes".into(),
        },
        Request::BoardRename {
            group: g.clone(),
            board: "board".into(),
            name: "Actions".into(),
        },
    ];
    for (at, rename) in renames.into_iter().enumerate() {
        assert_eq!(replicas[1].call(rename, 10 + at as u64), Ok(Response::Done));
    }
    let from_bo = replicas[1].outbox(&group);
    let events = replicas[2].receive(&from_bo);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::GroupChanged { .. })),
        "{events:?}"
    );
    let Ok(Response::Group(summary)) =
        replicas[2].call(Request::GroupShow { group: g.clone() }, 20)
    else {
        panic!("group show")
    };
    assert_eq!(summary.name, "Tenants union");
    let list = |replica: &mut Replica, request: Request| match replica.call(request, 21) {
        Ok(Response::Channels(c)) => c.into_iter().map(|c| c.name).collect::<Vec<_>>(),
        Ok(Response::Docs(d)) => d.into_iter().map(|d| d.name).collect(),
        other => panic!("list: {other:?}"),
    };
    let g2 = g.clone();
    assert_eq!(
        list(&mut replicas[2], Request::ChannelList { group: g2.clone() }),
        ["lobby"]
    );
    assert_eq!(
        list(&mut replicas[2], Request::PadList { group: g2.clone() }),
        ["Minutes"]
    );
    assert_eq!(
        list(&mut replicas[2], Request::BoardList { group: g2 }),
        ["Actions"]
    );
    // The pad keeps its text under the new name, found by it.
    replicas[2]
        .call(
            Request::PadWrite {
                group: g.clone(),
                pad: "Minutes".into(),
                text: "agenda".into(),
            },
            22,
        )
        .expect("the pad answers to its new name");

    // Two channels may not share a name, whatever the case.
    replicas[2]
        .call(
            Request::ChannelCreate {
                group: g.clone(),
                name: "actions".into(),
            },
            23,
        )
        .expect("channel");
    let taken = replicas[2]
        .call(
            Request::ChannelRename {
                group: g.clone(),
                channel: "actions".into(),
                name: "Lobby".into(),
            },
            24,
        )
        .expect_err("a taken name");
    assert_eq!(taken.kind, crate::api::ErrorKind::Invalid, "{taken}");
    assert!(taken.message.contains("already exists"), "{taken}");
    let empty = replicas[2]
        .call(
            Request::PadRename {
                group: g,
                pad: "Minutes".into(),
                name: "  ".into(),
            },
            25,
        )
        .expect_err("an empty name");
    assert_eq!(empty.kind, crate::api::ErrorKind::Invalid, "{empty}");
}
