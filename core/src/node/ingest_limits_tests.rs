//! Limits against insiders at ingest: a member whose device floods this one is cut off
//! by its per-author quota while other members carry on, and changes whose
//! dependencies never arrive cannot pile up without bound.

use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};

use crate::api::Request;

use super::authorship_tests::{forge, ingest};
use super::convergence_tests::{messages, setup};
use super::ingest::{IngestError, Ingested, Limits, MAX_QUEUED_CHANGES};

#[test]
fn a_member_over_its_rate_is_refused_and_others_are_not() {
    let (mut replicas, group) = setup();
    let g = group.to_string();
    // Cy's device allows any author five envelopes, with no refill during the test.
    replicas[2].state.quotas.limits = Limits {
        burst: 5.0,
        per_second: 0.0,
        ..Limits::default()
    };
    for i in 0..8 {
        let request = Request::ChatSend {
            group: g.clone(),
            channel: None,
            text: format!("flood {i}"),
            reply_to: None,
        };
        replicas[1].call(request, 10 + i).expect("send");
    }
    let bo = replicas[1].state.groups[&group].secrets.member.id();
    let by_bo = replicas[1].own_outbox(&group);
    let outcomes: Vec<_> = by_bo.iter().map(|e| ingest(&mut replicas[2], e)).collect();
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Ingested::Applied(_))))
        .count();
    assert_eq!(applied, 5, "{outcomes:?}");
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            Err(IngestError::OverQuota { author, what: "envelopes per second" }) if *author == bo
        )),
        "{outcomes:?}"
    );
    // Ana is not Bo: her message still arrives.
    let request = Request::ChatSend {
        group: g.clone(),
        channel: None,
        text: "from Ana".into(),
        reply_to: None,
    };
    replicas[0].call(request, 30).expect("send");
    let by_ana = replicas[0].own_outbox(&group);
    let outcomes: Vec<_> = by_ana.iter().map(|e| ingest(&mut replicas[2], e)).collect();
    assert!(
        outcomes.iter().all(|o| o.is_ok()),
        "Ana was limited: {outcomes:?}"
    );
    // Of Bo's eight messages at most the five accepted envelopes' show (which of his
    // envelopes came first depends on document ids), and Ana's.
    let log = messages(&mut replicas[2], &g);
    let flood = log.iter().filter(|m| m.message.author == bo).count();
    assert!(flood < 8, "all of the flood shows");
    assert!(log.iter().any(|m| m.message.text == "from Ana"));
}

#[test]
fn changes_whose_dependencies_never_come_are_held_only_up_to_a_bound() {
    let (mut replicas, group) = setup();
    let directory = replicas[1]
        .state
        .directory(&group)
        .expect("directory")
        .clone();
    let (pad, board) = (directory.pads[0].id, directory.boards[0].id);
    // Bo's changes build on a change by an actor nobody will ever send.
    let orphans = |n: usize| {
        move |doc: &mut automerge::AutoCommit| {
            let me = doc.get_actor().clone();
            doc.set_actor(ActorId::random());
            doc.put(ROOT, "ghost", 1).expect("put");
            doc.commit();
            doc.set_actor(me);
            for i in 0..n {
                doc.put(ROOT, "orphan", i as u64).expect("put");
                doc.commit();
            }
        }
    };
    let held = forge(&mut replicas[1], &group, pad, orphans(10));
    assert_eq!(ingest(&mut replicas[2], &held), Ok(Ingested::Pending));
    assert_eq!(replicas[2].state.pending.queued(&group, &pad), 10);
    // More than the bound, in another document: refused, and nothing more is held.
    let flood = forge(&mut replicas[1], &group, board, orphans(MAX_QUEUED_CHANGES));
    assert!(
        matches!(
            ingest(&mut replicas[2], &flood),
            Err(IngestError::QueueFull { .. })
        ),
        "the flood was held"
    );
    assert_eq!(replicas[2].state.pending.queued(&group, &board), 0);
    // Nothing of either shows, and the others' edits still apply.
    let request = Request::PadWrite {
        group: group.to_string(),
        pad: "pad".into(),
        text: "minutes".into(),
    };
    replicas[0].call(request, 40).expect("write");
    let from_ana = replicas[0].outbox(&group);
    replicas[2].receive(&from_ana);
    let text = match replicas[2].call(
        Request::PadGet {
            group: group.to_string(),
            pad: "pad".into(),
        },
        41,
    ) {
        Ok(crate::api::Response::Pad(p)) => p.text,
        other => panic!("pad: {other:?}"),
    };
    assert_eq!(text, "minutes");
}
