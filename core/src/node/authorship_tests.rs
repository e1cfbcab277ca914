//! Who may change what, enforced where envelopes arrive: a member's device crafts
//! Automerge changes under its own actor id, signed with its own key — everything a
//! device can check about the envelope is in order — that rewrite what another member
//! wrote. The receiver refuses them, shows nothing of them, and keeps applying the
//! member's honest envelopes.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};

use crate::api::Request;
use crate::docs::DocError;
use crate::envelope::{self, Envelope, Header, Kind, doc_key, group_tag};
use crate::ids::{DocId, GroupId, Hash};

use super::convergence_tests::{Replica, board, messages, setup};
use super::engine::Tx;
use super::ingest::IngestError;

/// Replica `r` makes changes with `edit` on a copy of `doc`, as itself, and seals them
/// as its next envelope there, without recording them. Changes `edit` makes under
/// another actor id are left out (so what follows them lacks its dependencies).
pub(super) fn forge(
    replica: &mut Replica,
    group: &GroupId,
    doc: DocId,
    edit: impl FnOnce(&mut AutoCommit),
) -> Vec<u8> {
    let secrets = replica.state.groups[group].secrets.clone();
    let me = secrets.member.id();
    let loaded = replica.state.doc(group, &doc).expect("doc");
    let (seq, prev) = loaded
        .head(&me)
        .map_or((1, Hash([0; 32])), |(s, h)| (s + 1, h));
    let mut fork = loaded.doc.fork();
    fork.set_actor(secrets.member.actor_id());
    let before = fork.get_heads();
    edit(&mut fork);
    fork.commit();
    let mut changes = fork.get_changes(&before);
    changes.retain(|c| c.actor_id() == &secrets.member.actor_id());
    assert!(!changes.is_empty(), "the edit changed nothing");
    let epoch = replica.state.groups[group].state.current_epoch();
    let header = Header {
        kind: Kind::Changes,
        group_tag: group_tag(group),
        doc,
        author: me,
        seq,
        prev,
        epoch,
        change_hashes: changes.iter().map(automerge::Change::hash).collect(),
    };
    let key = doc_key(&secrets.epoch_key(&epoch).expect("key"), &doc);
    let plaintext = envelope::encode_changes(&mut changes);
    Envelope::seal(header, &key, &plaintext, &secrets.member)
        .as_bytes()
        .to_vec()
}

/// Ingests one envelope and commits what the request wrote.
pub(super) fn ingest(replica: &mut Replica, bytes: &[u8]) -> Result<super::Ingested, IngestError> {
    let mut tx = Tx::default();
    let outcome = replica.state.ingest(&mut tx, bytes);
    replica.commit(tx);
    outcome
}

fn assert_refused(outcome: Result<super::Ingested, IngestError>, what: &str) {
    match outcome {
        Err(IngestError::Authorship(DocError::EditsOthersContent { what: said, .. })) => {
            assert!(
                said.contains(what),
                "refused, but for {said:?}, not {what:?}"
            );
        }
        other => panic!("expected a refusal ({what}), got {other:?}"),
    }
}

fn send(replica: &mut Replica, g: &str, text: &str, now: u64) {
    let request = Request::ChatSend {
        group: g.into(),
        channel: None,
        text: text.into(),
        reply_to: None,
    };
    replica.call(request, now).expect("send");
}

/// Ana (the founder, an admin) sends a message everyone has; returns the segment and
/// the message's key.
fn ana_says_hello(replicas: &mut [Replica], group: &GroupId) -> (DocId, String) {
    let g = group.to_string();
    send(&mut replicas[0], &g, "hello from Ana", 10);
    let from_ana = replicas[0].outbox(group);
    for r in &mut replicas[1..] {
        r.receive(&from_ana);
    }
    let segment = replicas[1]
        .state
        .directory(group)
        .expect("directory")
        .channels[0]
        .segments[0]
        .doc;
    let id = messages(&mut replicas[1], &g)[0].message.id.to_string();
    (segment, id)
}

fn message_obj(doc: &AutoCommit, id: &str) -> automerge::ObjId {
    match doc.get(ROOT, id).expect("get") {
        Some((Value::Object(ObjType::Map), obj)) => obj,
        other => panic!("no message {id}: {other:?}"),
    }
}

/// After a refusal, the forger's next honest message still reaches the receiver.
fn honest_envelope_still_applies(
    replicas: &mut [Replica],
    group: &GroupId,
    from: usize,
    to: usize,
) {
    let g = group.to_string();
    let count = messages(&mut replicas[to], &g).len();
    send(&mut replicas[from], &g, "an honest one", 50);
    let outbox = replicas[from].outbox(group);
    replicas[to].receive(&outbox);
    let after = messages(&mut replicas[to], &g);
    assert_eq!(after.len(), count + 1);
    assert!(after.iter().any(|m| m.message.text == "an honest one"));
}

#[test]
fn overwriting_another_members_message_text_is_refused() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let (segment, id) = ana_says_hello(&mut replicas, &group);
    let before = messages(&mut replicas[2], &g);
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let m = message_obj(doc, &id);
        doc.put(&m, "text", "Ana agrees to everything")
            .expect("put");
        doc.put(&m, "edited_at", 11u64).expect("put");
    });
    assert_refused(ingest(&mut replicas[2], &forged), "edit message");
    assert_eq!(messages(&mut replicas[2], &g), before, "the view changed");
    // Not only in memory: nothing of it was stored.
    replicas[2].state.forget_all();
    assert_eq!(
        messages(&mut replicas[2], &g),
        before,
        "the stored view changed"
    );
    honest_envelope_still_applies(&mut replicas, &group, 1, 2);
}

#[test]
fn deleting_another_members_message_takes_an_admin() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let (segment, id) = ana_says_hello(&mut replicas, &group);
    let before = messages(&mut replicas[2], &g);
    // Bo is no admin: his deletion of Ana's message is refused.
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let m = message_obj(doc, &id);
        doc.put(&m, "deleted", true).expect("put");
        doc.put(&m, "text", "").expect("put");
    });
    assert_refused(
        ingest(&mut replicas[2], &forged),
        "only its author or an admin",
    );
    assert_eq!(messages(&mut replicas[2], &g), before);
    honest_envelope_still_applies(&mut replicas, &group, 1, 2);

    // Ana is: she deletes Bo's message for everyone, and Cy accepts it.
    let from_bo = replicas[1].outbox(&group);
    replicas[0].receive(&from_bo);
    let bos = messages(&mut replicas[0], &g)
        .into_iter()
        .find(|m| m.message.text == "an honest one")
        .expect("Bo's message")
        .message
        .id;
    let delete = Request::ChatDelete {
        group: g.clone(),
        message: bos.to_string(),
    };
    replicas[0].call(delete, 60).expect("admin delete");
    let from_ana = replicas[0].outbox(&group);
    replicas[2].receive(&from_ana);
    let deleted = messages(&mut replicas[2], &g)
        .into_iter()
        .find(|m| m.message.id == bos)
        .expect("still listed");
    assert!(deleted.message.deleted && deleted.message.text.is_empty());
}

#[test]
fn a_member_changes_only_its_own_reactions() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let (segment, id) = ana_says_hello(&mut replicas, &group);
    // Cy reacts as herself: Bo accepts it.
    let react = Request::ChatReact {
        group: g.clone(),
        message: id.clone(),
        emoji: "👍".into(),
        remove: false,
    };
    replicas[2].call(react, 20).expect("react");
    let from_cy = replicas[2].outbox(&group);
    replicas[1].receive(&from_cy);
    replicas[0].receive(&from_cy);
    let cy = replicas[2].state.groups[&group].secrets.member.id();
    let reactions = |r: &mut Replica| messages(r, &g)[0].message.reactions.clone();
    assert_eq!(reactions(&mut replicas[1])["👍"], [cy]);

    // Bo takes Cy's reaction away: refused.
    let before = messages(&mut replicas[0], &g);
    let key = format!("👍\u{1f}{cy}");
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let m = message_obj(doc, &id);
        let Some((_, r)) = doc.get(&m, "reactions").expect("get") else {
            panic!("no reactions")
        };
        doc.delete(&r, key.as_str()).expect("delete");
    });
    assert_refused(ingest(&mut replicas[0], &forged), "reaction");
    assert_eq!(messages(&mut replicas[0], &g), before);
    // Nor may he react in her name.
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let m = message_obj(doc, &id);
        let Some((_, r)) = doc.get(&m, "reactions").expect("get") else {
            panic!("no reactions")
        };
        doc.put(&r, format!("✊\u{1f}{cy}"), true).expect("put");
    });
    assert_refused(ingest(&mut replicas[0], &forged), "reaction");
    assert_eq!(messages(&mut replicas[0], &g), before);
    honest_envelope_still_applies(&mut replicas, &group, 1, 0);
}

#[test]
fn a_message_in_another_members_name_is_refused() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let (segment, id) = ana_says_hello(&mut replicas, &group);
    let ana = replicas[0].state.groups[&group].secrets.member.id();
    let before = messages(&mut replicas[2], &g);
    // Bo sends a message whose meta names Ana, and rewrites Ana's meta.
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let fake = doc
            .put_object(ROOT, crate::ids::ItemId::random().to_string(), ObjType::Map)
            .expect("put");
        let meta = format!(r#"{{"a":"{ana}","t":12,"h":[12,0]}}"#);
        doc.put(&fake, "meta", meta).expect("put");
        doc.put(&fake, "text", "I resign").expect("put");
        doc.put_object(&fake, "reactions", ObjType::Map)
            .expect("put");
    });
    assert_refused(ingest(&mut replicas[2], &forged), "in the name of");
    let forged = forge(&mut replicas[1], &group, segment, |doc| {
        let m = message_obj(doc, &id);
        let bo = "b".repeat(64);
        doc.put(&m, "meta", format!(r#"{{"a":"{bo}","t":10,"h":[10,0]}}"#))
            .expect("put");
    });
    assert_refused(ingest(&mut replicas[2], &forged), "fixed when it is sent");
    assert_eq!(messages(&mut replicas[2], &g), before);
    honest_envelope_still_applies(&mut replicas, &group, 1, 2);
}

#[test]
fn comments_are_their_authors_and_cards_everyones() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    let add = Request::CardAdd {
        group: g.clone(),
        board: "board".into(),
        column: "todo".into(),
        title: "Flyers".into(),
    };
    replicas[0].call(add, 10).expect("card");
    let comment = Request::CardComment {
        group: g.clone(),
        board: "board".into(),
        card: "Flyers".into(),
        text: "I print them on Monday".into(),
    };
    replicas[0].call(comment, 11).expect("comment");
    let from_ana = replicas[0].outbox(&group);
    for r in &mut replicas[1..] {
        r.receive(&from_ana);
    }
    let board_doc = replicas[1]
        .state
        .directory(&group)
        .expect("directory")
        .boards[0]
        .id;
    let view = board(&mut replicas[1], &g);
    let card = view.columns[0].cards[0].clone();

    // Bo edits Ana's comment: refused.
    let before = board(&mut replicas[2], &g);
    let (card_key, comment_key) = (card.id.to_string(), card.comments[0].id.to_string());
    let forged = forge(&mut replicas[1], &group, board_doc, |doc| {
        let get = |doc: &AutoCommit, obj: &automerge::ObjId, key: &str| match doc
            .get(obj, key)
            .expect("get")
        {
            Some((Value::Object(_), o)) => o,
            other => panic!("no {key}: {other:?}"),
        };
        let cards = get(doc, &ROOT, "cards");
        let c = get(doc, &cards, &card_key);
        let comments = get(doc, &c, "comments");
        let entry = get(doc, &comments, &comment_key);
        doc.put(&entry, "text", "Bo prints them").expect("put");
    });
    assert_refused(ingest(&mut replicas[2], &forged), "edit comment");
    assert_eq!(board(&mut replicas[2], &g), before);

    // Bo moves and retitles Ana's card: a board is everyone's, so Cy accepts it.
    let edit = Request::CardEdit {
        group: g.clone(),
        board: "board".into(),
        card: "Flyers".into(),
        edit: crate::docs::CardEdit {
            title: Some("Flyers (colour)".into()),
            ..Default::default()
        },
    };
    replicas[1].call(edit, 20).expect("edit");
    let mv = Request::CardMove {
        group: g.clone(),
        board: "board".into(),
        card: "Flyers (colour)".into(),
        column: "done".into(),
        index: None,
    };
    replicas[1].call(mv, 21).expect("move");
    let from_bo = replicas[1].outbox(&group);
    replicas[2].receive(&from_bo);
    let view = board(&mut replicas[2], &g);
    assert!(view.columns[0].cards.is_empty());
    assert_eq!(view.columns[1].cards[0].title, "Flyers (colour)");
    assert_eq!(
        view.columns[1].cards[0].comments[0].text,
        "I print them on Monday"
    );
}

#[test]
fn changes_that_overtook_what_they_depend_on_wait_and_are_judged_as_their_authors() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    send(&mut replicas[0], &g, "hello from Ana", 10);
    let from_ana = replicas[0].outbox(&group);
    replicas[1].receive(&from_ana);
    let id = messages(&mut replicas[1], &g)[0].message.id.to_string();
    let react = Request::ChatReact {
        group: g.clone(),
        message: id,
        emoji: "👍".into(),
        remove: false,
    };
    replicas[1].call(react, 20).expect("react");
    let bo = replicas[1].state.groups[&group].secrets.member.id();
    let by_bo = replicas[1].own_outbox(&group);
    // Bo's reaction reaches Cy before Ana's message: it waits, applied to nothing.
    replicas[2].receive(&by_bo);
    let segment = replicas[1]
        .state
        .directory(&group)
        .expect("directory")
        .channels[0]
        .segments[0]
        .doc;
    assert!(replicas[2].state.pending.queued(&group, &segment) > 0);
    assert!(messages(&mut replicas[2], &g).is_empty());
    // Ana's message arrives: both apply, and the reaction is judged as Bo's, not Ana's.
    replicas[2].receive(&from_ana);
    assert_eq!(replicas[2].state.pending.queued(&group, &segment), 0);
    assert_eq!(replicas[2].state.pending.len(), 0);
    let log = messages(&mut replicas[2], &g);
    assert_eq!(log[0].message.reactions["👍"], [bo]);
}
