//! Snapshots in welcomes and catch-up, between real nodes on real stores: a long chat
//! reaches a new member as one compacted document, its authors' chains continue from
//! it, and a device that took a snapshot serves one in turn.

use crate::Ingested;
use crate::api::{Request, Response};
use crate::envelope::{Envelope, Kind};
use crate::group::membership_doc;
use crate::ids::GroupId;
use crate::invite::Welcome;
use crate::sync::{VersionVector, Want};

use super::test_devices::{Device, deliver};

/// More messages than a snapshot needs to pay off, each in its own envelope.
const MESSAGES: usize = 150;

fn vector(device: &Device, group: &GroupId) -> VersionVector {
    device.node.version_vector(group).expect("version vector")
}

fn wants(of: &Device, from: &Device, group: &GroupId) -> Vec<Want> {
    vector(of, group).wants_from(&vector(from, group), &membership_doc(group))
}

fn kinds(envelopes: &[Vec<u8>]) -> Vec<Kind> {
    envelopes
        .iter()
        .map(|e| Envelope::decode(e).expect("decodes").header().kind)
        .collect()
}

async fn send_many(device: &Device, group: &GroupId, from: usize, n: usize) -> Vec<String> {
    let texts: Vec<String> = (from..from + n).map(|i| format!("message {i}")).collect();
    for text in &texts {
        device.send(group, text).await.expect("send");
    }
    texts
}

/// `joiner` joins with `link` through `admitter`; returns the welcome it took.
async fn join_keeping_welcome(admitter: &Device, joiner: &Device, link: &str) -> Welcome {
    let nonce = admitter.node.join_nonce().expect("nonce");
    let request = joiner
        .node
        .join_request(link, admitter.node.peer_key().expect("peer key"), nonce)
        .expect("join request");
    let welcome = admitter.node.admit(&request).await.expect("admitted");
    joiner
        .node
        .accept_welcome(&welcome)
        .await
        .expect("welcome accepted");
    welcome
}

/// `to` catches up from `from` with snapshots allowed, as the network does; returns
/// the envelopes moved.
async fn catch_up(to: &Device, from: &Device, group: &GroupId) -> Vec<Vec<u8>> {
    let mut moved = Vec::new();
    for _ in 0..100 {
        let wants = wants(to, from, group);
        if wants.is_empty() {
            return moved;
        }
        let (page, _) = from
            .node
            .envelopes_for(group, &wants, 1 << 20, true)
            .expect("page");
        assert!(!page.is_empty(), "wants {wants:?} answered with nothing");
        for envelope in &page {
            let outcome = to.node.receive_caught_up(envelope).await;
            assert!(
                matches!(outcome, Ok(Ingested::Applied(_))),
                "not applied: {outcome:?}"
            );
        }
        moved.extend(page);
    }
    panic!("catch-up does not end");
}

#[tokio::test]
async fn a_new_member_receives_a_long_chat_as_one_snapshot_and_continues_its_chains() {
    let ana = Device::new("Ana");
    let bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let mut texts = send_many(&ana, &group, 0, MESSAGES).await;
    let link = ana.invite(&group, 1, None).await;
    let welcome = join_keeping_welcome(&ana, &bo, &link).await;

    let welcome_kinds = kinds(&welcome.envelopes);
    assert!(
        welcome_kinds.contains(&Kind::Snapshot),
        "no snapshot in the welcome"
    );
    assert!(
        welcome.envelopes.len() < MESSAGES / 4,
        "{} envelopes for {MESSAGES} messages",
        welcome.envelopes.len()
    );
    assert_eq!(bo.texts(&group).await, texts);
    // Bo now holds what Ana held, as far as version vectors can tell.
    assert_eq!(vector(&bo, &group), vector(&ana, &group));

    // Ana's chain continues from the snapshot: her next messages reach Bo one by one.
    let mut ana = ana;
    ana.take_sent();
    texts.extend(send_many(&ana, &group, MESSAGES, 3).await);
    for outcome in deliver(&mut ana, &bo).await {
        assert!(matches!(outcome, Ok(Ingested::Applied(_))), "{outcome:?}");
    }
    assert_eq!(bo.texts(&group).await, texts);

    // What Bo took survives a restart, and Bo writes on top of it.
    let mut bo = bo.restart();
    assert_eq!(bo.texts(&group).await, texts);
    bo.send(&group, "hello from Bo").await.expect("Bo sends");
    texts.push("hello from Bo".into());
    for outcome in deliver(&mut bo, &ana).await {
        assert!(matches!(outcome, Ok(Ingested::Applied(_))), "{outcome:?}");
    }
    assert_eq!(ana.texts(&group).await, texts);
    assert_eq!(vector(&bo, &group), vector(&ana, &group));
}

#[tokio::test]
async fn envelopes_below_a_snapshot_are_duplicates_not_forks() {
    let mut ana = Device::new("Ana");
    let bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    send_many(&ana, &group, 0, MESSAGES).await;
    let link = ana.invite(&group, 1, None).await;
    join_keeping_welcome(&ana, &bo, &link).await;
    // Everything Ana ever sealed, offered again (gossip repeats, a slow peer's pages).
    let sealed = {
        ana.take_sent();
        ana.sent.clone()
    };
    for outcome in bo.receive_all(&sealed).await {
        assert!(
            matches!(outcome, Ok(Ingested::Duplicate)),
            "an envelope the snapshot covered came out as {outcome:?}"
        );
    }
    let Ok(Response::Status(status)) = bo.call(Request::Status { group: None }).await else {
        panic!("no status");
    };
    assert_eq!(status.groups[0].forks, 0, "a fork was reported");
}

#[tokio::test]
async fn a_device_that_took_a_snapshot_admits_and_catches_up_others_with_one() {
    let ana = Device::new("Ana");
    let bo = Device::new("Bo");
    let cy = Device::new("Cy");
    let dee = Device::new("Dee");
    let group = ana.create_group("Tenants").await;
    let texts = send_many(&ana, &group, 0, MESSAGES).await;
    let link = ana.invite(&group, 3, None).await;
    join_keeping_welcome(&ana, &bo, &link).await;
    // Ana goes away. Bo holds no envelope of hers below the snapshot, and still
    // admits Cy with the whole history.
    drop(ana);
    let welcome = join_keeping_welcome(&bo, &cy, &link).await;
    assert!(kinds(&welcome.envelopes).contains(&Kind::Snapshot));
    assert_eq!(cy.texts(&group).await, texts);

    // And Cy, who took Bo's snapshot, admits Dee in turn.
    let welcome = join_keeping_welcome(&cy, &dee, &link).await;
    assert!(kinds(&welcome.envelopes).contains(&Kind::Snapshot));
    assert_eq!(dee.texts(&group).await, texts);
    assert_eq!(vector(&dee, &group), vector(&cy, &group));
}

#[tokio::test]
async fn catch_up_sends_a_snapshot_when_it_is_smaller_than_the_envelopes() {
    let ana = Device::new("Ana");
    let bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join_keeping_welcome(&ana, &bo, &link).await;
    catch_up(&bo, &ana, &group).await;
    catch_up(&ana, &bo, &group).await;
    // Bo is away while Ana writes a lot, in a chat Bo already holds part of.
    bo.send(&group, "before").await.expect("send");
    catch_up(&ana, &bo, &group).await;
    let mut texts = vec!["before".to_string()];
    texts.extend(send_many(&ana, &group, 0, MESSAGES).await);

    let envelopes_only: usize = {
        let (page, _) = ana
            .node
            .envelopes_for(&group, &wants(&bo, &ana, &group), usize::MAX, false)
            .expect("page");
        page.iter().map(Vec::len).sum()
    };
    let moved = catch_up(&bo, &ana, &group).await;
    assert!(kinds(&moved).contains(&Kind::Snapshot));
    let bytes: usize = moved.iter().map(Vec::len).sum();
    assert!(
        bytes * 2 < envelopes_only,
        "the snapshot moved {bytes} bytes, the envelopes would take {envelopes_only}"
    );
    assert_eq!(bo.texts(&group).await, texts);
    assert_eq!(ana.texts(&group).await, texts);
    assert_eq!(vector(&bo, &group), vector(&ana, &group));
}

#[tokio::test]
async fn a_short_tail_travels_as_envelopes() {
    let ana = Device::new("Ana");
    let bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join_keeping_welcome(&ana, &bo, &link).await;
    catch_up(&bo, &ana, &group).await;
    send_many(&ana, &group, 0, 5).await;
    let moved = catch_up(&bo, &ana, &group).await;
    // Five messages, and the month's segment entering the channel's directory entry.
    assert!((5..=6).contains(&moved.len()), "{} envelopes", moved.len());
    assert!(kinds(&moved).iter().all(|k| *k == Kind::Changes));
    assert_eq!(bo.texts(&group).await, ana.texts(&group).await);
}
