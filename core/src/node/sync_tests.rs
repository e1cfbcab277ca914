//! Catch-up between real nodes: version vectors read from their stores, the wants one
//! computes from the other's vector, and the pages of envelopes that answer them.

use std::collections::BTreeSet;

use crate::Ingested;
use crate::api::{ErrorKind, Request};
use crate::group::membership_doc;
use crate::ids::GroupId;
use crate::sync::{DocSync, VersionVector, Want};

use super::test_devices::{Device, join};

/// Ana founds a group and Bo joins it; then each catches up with the other, so both
/// start level, and what each sealed so far is taken.
async fn pair() -> (Device, Device, GroupId) {
    let mut ana = Device::new("Ana");
    let mut bo = Device::new("Bo");
    let group = ana.create_group("Tenants").await;
    let link = ana.invite(&group, 1, None).await;
    join(&ana, &bo, &link).await.expect("Bo joins");
    for _ in 0..2 {
        catch_up(&bo, &ana, &group, usize::MAX).await;
        catch_up(&ana, &bo, &group, usize::MAX).await;
    }
    assert_eq!(vector(&ana, &group), vector(&bo, &group));
    ana.take_sent();
    bo.take_sent();
    (ana, bo, group)
}

fn vector(device: &Device, group: &GroupId) -> VersionVector {
    device.node.version_vector(group).expect("version vector")
}

fn wants(of: &Device, from: &Device, group: &GroupId) -> Vec<Want> {
    vector(of, group).wants_from(&vector(from, group), &membership_doc(group))
}

/// `to` fetches from `from`, page by page of at most `max_bytes`, until it lacks
/// nothing; returns the pages.
async fn catch_up(
    to: &Device,
    from: &Device,
    group: &GroupId,
    max_bytes: usize,
) -> Vec<Vec<Vec<u8>>> {
    let mut pages = Vec::new();
    loop {
        let wants = wants(to, from, group);
        if wants.is_empty() {
            return pages;
        }
        let (page, _complete) = from
            .node
            .envelopes_for(group, &wants, max_bytes, false)
            .expect("envelopes for wants");
        assert!(
            !page.is_empty(),
            "wants {wants:?} were answered with nothing"
        );
        for result in to.receive_all(&page).await {
            assert!(
                matches!(result, Ok(Ingested::Applied(_))),
                "a fetched envelope was not applied: {result:?}"
            );
        }
        pages.push(page);
        assert!(pages.len() < 10_000, "catch-up does not end");
    }
}

async fn send_many(device: &Device, group: &GroupId, n: usize) -> Vec<String> {
    let texts: Vec<String> = (0..n).map(|i| format!("message {i}")).collect();
    for text in &texts {
        device.send(group, text).await.expect("send");
    }
    texts
}

#[tokio::test]
async fn sync_fetches_exactly_the_missing_envelopes_and_ends_level() {
    let (mut ana, bo, group) = pair().await;
    let texts = send_many(&ana, &group, 12).await;
    let sealed = ana.take_sent();
    assert!(sealed.len() >= 12);

    let (a, b) = (vector(&ana, &group), vector(&bo, &group));
    assert_ne!(a.root(), b.root());
    assert_eq!(b.behind_by(&a), sealed.len() as u64);
    assert_eq!(a.behind_by(&b), 0);
    assert!(
        b.compare(&a)
            .values()
            .all(|s| matches!(s, DocSync::InSync | DocSync::Behind(_)))
    );
    assert!(a.forks_against(&b).is_empty());
    // Bo has not seen Ana's latest message; Ana has.
    let me = ana.summary(&group).await.me;
    let (doc, head) = a
        .iter()
        .find(|(d, m, h)| **m == me && b.get(d, m) != Some(**h))
        .map(|(d, _, h)| (*d, *h))
        .expect("an entry Bo lacks");
    assert!(a.has(&doc, &me, head.seq));
    assert!(!b.has(&doc, &me, head.seq));

    let wants = b.wants_from(&a, &membership_doc(&group));
    assert!(wants.iter().all(|w| w.author == me));
    let (page, complete) = ana
        .node
        .envelopes_for(&group, &wants, usize::MAX, false)
        .unwrap();
    assert!(complete);
    // Exactly what Ana sealed since both were level, in seq order per document.
    assert_eq!(
        page.iter().collect::<BTreeSet<_>>(),
        sealed.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(page.len(), sealed.len());

    for result in bo.receive_all(&page).await {
        assert!(matches!(result, Ok(Ingested::Applied(0))), "{result:?}");
    }
    let b = vector(&bo, &group);
    assert_eq!(b, a);
    assert_eq!(b.root(), a.root());
    assert_eq!(bo.node.version_root(&group).unwrap(), a.root());
    assert!(b.wants_from(&a, &membership_doc(&group)).is_empty());
    assert_eq!(bo.texts(&group).await, texts);
}

#[tokio::test]
async fn sync_pages_are_bounded_and_together_complete() {
    let (mut ana, bo, group) = pair().await;
    let texts = send_many(&ana, &group, 15).await;
    let sealed = ana.take_sent();
    let wants = wants(&bo, &ana, &group);
    let (all, complete) = ana
        .node
        .envelopes_for(&group, &wants, usize::MAX, false)
        .unwrap();
    assert!(complete);
    assert_eq!(all.len(), sealed.len());
    let largest = all.iter().map(Vec::len).max().unwrap();

    // A page smaller than any envelope still carries one, so paging makes progress.
    let (page, complete) = ana.node.envelopes_for(&group, &wants, 1, false).unwrap();
    assert_eq!(page, all[..1]);
    assert!(!complete);
    let (page, complete) = ana.node.envelopes_for(&group, &wants, 0, false).unwrap();
    assert_eq!(page.len(), 1);
    assert!(!complete);

    // Pages of about three envelopes: never more than the limit, in order, and together
    // exactly what one unbounded page holds.
    let max_bytes = 3 * largest;
    let mut served = Vec::new();
    let mut pages = 0;
    let mut left = wants.clone();
    loop {
        let (page, complete) = ana
            .node
            .envelopes_for(&group, &left, max_bytes, false)
            .unwrap();
        assert!(page.iter().map(Vec::len).sum::<usize>() <= max_bytes);
        assert!(!page.is_empty());
        pages += 1;
        served.extend(page.iter().cloned());
        if complete {
            break;
        }
        // Continue each want after what this page carried.
        let mut taken = page.len() as u64;
        for want in &mut left {
            let step = taken.min(want.len());
            want.after_seq += step;
            taken -= step;
        }
        left.retain(|w| !w.is_empty());
    }
    assert!(pages >= 4, "{pages} pages");
    assert_eq!(served, all);

    // The same through the receiver: several pages, and then level.
    let fetched = catch_up(&bo, &ana, &group, max_bytes).await;
    assert!(fetched.len() >= 4, "{} pages", fetched.len());
    assert_eq!(fetched.concat(), all);
    assert_eq!(vector(&bo, &group).root(), vector(&ana, &group).root());
    assert_eq!(bo.texts(&group).await, texts);
}

#[tokio::test]
async fn sync_catches_up_a_new_member_membership_first_and_both_ways() {
    let mut ana = Device::new("Ana");
    let group = ana.create_group("Tenants").await;
    send_many(&ana, &group, 5).await;
    let link = ana.invite(&group, 2, None).await;
    let bo = Device::new("Bo");
    join(&ana, &bo, &link).await.expect("Bo joins");
    // Bo writes too, and Ana admits Cy, whom Bo has not heard of.
    bo.send(&group, "hello from Bo").await.unwrap();
    let cy = Device::new("Cy");
    join(&ana, &cy, &link).await.expect("Cy joins");
    ana.take_sent();

    let (a, b) = (vector(&ana, &group), vector(&bo, &group));
    let log = membership_doc(&group);
    let wanted = b.wants_from(&a, &log);
    assert_eq!(wanted.first().map(|w| w.doc), Some(log), "{wanted:?}");
    assert!(matches!(
        b.compare(&a)[&log],
        DocSync::Behind(_) | DocSync::Both { .. }
    ));
    catch_up(&bo, &ana, &group, 512).await;
    catch_up(&ana, &bo, &group, 512).await;
    assert_eq!(vector(&ana, &group).root(), vector(&bo, &group).root());
    assert_eq!(bo.member_names(&group).await, ["Ana", "Bo", "Cy"]);
    assert_eq!(
        ana.texts(&group).await.last().map(String::as_str),
        Some("hello from Bo")
    );
}

#[tokio::test]
async fn sync_lists_only_groups_this_device_belongs_to() {
    let (mut ana, bo, group) = pair().await;
    let other = ana.create_group("Choir").await;
    let mut ids = ana.node.group_ids().unwrap();
    ids.sort();
    let mut expected = vec![group, other];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(bo.node.group_ids().unwrap(), [group]);

    let unknown = GroupId::random();
    for err in [
        bo.node.version_vector(&unknown).unwrap_err(),
        bo.node
            .envelopes_for(&unknown, &[], 1024, false)
            .unwrap_err(),
    ] {
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(err.message.contains(&unknown.to_string()));
    }

    ana.call(Request::MemberRemove {
        group: group.to_string(),
        member: "Bo".into(),
    })
    .await
    .unwrap();
    let removal = ana.take_sent();
    bo.receive_all(&removal).await;
    assert!(!bo.summary(&group).await.member);
    assert!(bo.node.group_ids().unwrap().is_empty());
    // What it holds stays readable.
    assert!(!bo.node.version_vector(&group).unwrap().is_empty());
}

#[tokio::test]
async fn sync_serves_nothing_for_wants_beyond_what_is_held() {
    let (ana, bo, group) = pair().await;
    let a = vector(&ana, &group);
    let (doc, me, head) = a.iter().next().map(|(d, m, h)| (*d, *m, *h)).unwrap();
    let beyond = [
        Want {
            doc,
            author: me,
            after_seq: head.seq,
            until_seq: head.seq + 100,
        },
        Want {
            doc,
            author: me,
            after_seq: 5,
            until_seq: 2,
        },
    ];
    let (page, complete) = ana
        .node
        .envelopes_for(&group, &beyond, 1 << 20, false)
        .unwrap();
    assert!(page.is_empty());
    assert!(complete, "nothing held in the ranges is left out");
    // Bo asks for Ana's whole chain from scratch: served from the store, in seq order.
    let from_scratch = Want {
        doc,
        author: me,
        after_seq: 0,
        until_seq: head.seq,
    };
    let (page, complete) = ana
        .node
        .envelopes_for(&group, &[from_scratch], 1 << 20, false)
        .unwrap();
    assert!(complete);
    assert_eq!(page.len() as u64, head.seq);
    for result in bo.receive_all(&page).await {
        assert!(matches!(result, Ok(Ingested::Duplicate)), "{result:?}");
    }
}
