//! The inviter goes offline before the invitee joins: any member who holds the invite
//! admits, and the joiner still gets the inviter's history.

use super::net_harness::{TestNode, WAIT, found_group};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_inviter_offline_another_member_admits_and_serves_history() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, link_for_b) = found_group(&a).await;
    a.send(&group, "written by Ana before she left").await;
    b.network
        .join(&link_for_b, WAIT, |_| {})
        .await
        .expect("Ben joins");
    b.wait_for_text(&group, "written by Ana before she left")
        .await;

    let link_for_c = a.invite(&group, 1).await;
    // Ben must hold the invite (the log's invite operation) before Ana leaves.
    b.wait_in_sync(&group, 1).await;
    a.send(&group, "Ana's last words").await;
    b.wait_for_text(&group, "Ana's last words").await;
    let _a_dir = a.stop().await;

    let c = TestNode::spawn("Cleo").await;
    // The link only carries Ana's addresses, and Ana is gone. On a LAN mDNS would find
    // Ben; here mDNS is off, so Cleo is given Ben's address by hand.
    c.network.dial(b.addr()).await.expect("dial Ben");
    let joined = c
        .network
        .join(&link_for_c, WAIT, |_| {})
        .await
        .expect("Cleo is admitted by Ben while Ana is offline");
    assert_eq!(joined.id.to_string(), group);
    c.wait_for_text(&group, "written by Ana before she left")
        .await;
    c.wait_for_text(&group, "Ana's last words").await;
    let members = c.members(&group).await;
    assert_eq!(members.len(), 3, "Ana, Ben and Cleo: {members:?}");
}

/// A long chat reaches the first joiner as a snapshot, so the member who admits the
/// next one holds none of the inviter's early envelopes — and must still hand over the
/// whole history, as a snapshot of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_a_member_who_joined_by_snapshot_admits_with_the_whole_history() {
    const MESSAGES: usize = 150;
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, link_for_b) = found_group(&a).await;
    let texts: Vec<String> = (0..MESSAGES)
        .map(|i| format!("minutes, item {i}"))
        .collect();
    for text in &texts {
        a.send(&group, text).await;
    }
    b.network
        .join(&link_for_b, WAIT, |_| {})
        .await
        .expect("Ben joins");
    let link_for_c = a.invite(&group, 1).await;
    b.wait_in_sync(&group, 1).await;
    let _a_dir = a.stop().await;
    assert_eq!(b.texts(&group).await, texts);

    let c = TestNode::spawn("Cleo").await;
    c.network.dial(b.addr()).await.expect("dial Ben");
    c.network
        .join(&link_for_c, WAIT, |_| {})
        .await
        .expect("Cleo is admitted by Ben while Ana is offline");
    c.wait_for_text(&group, "minutes, item 149").await;
    assert_eq!(
        c.texts(&group).await,
        texts,
        "Cleo lacks part of the history"
    );
    // Ben and Cleo hold the same, by their version vectors.
    c.wait_in_sync(&group, 1).await;
}
