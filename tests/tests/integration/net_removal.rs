//! A member removed while still connected keeps receiving the group's ciphertext
//! (catch-up serves any peer that proves an epoch key, a former member included) but
//! opens none of it: encryption, not the network, keeps a removed member out.

use std::time::Duration;

use super::net_harness::{TestNode, WAIT, found_group};
use plenum_core::api::Request;

const AFTER: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_removed_member_receives_ciphertext_but_opens_none() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let c = TestNode::spawn("Cleo").await;
    let (group, link) = found_group(&a).await;
    b.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("Ben joins");
    c.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("Cleo joins");
    // Cleo also talks to Ben, as she would on a LAN.
    c.network.dial(b.addr()).await.expect("dial Ben");
    a.send(&group, "before the removal").await;
    c.wait_for_text(&group, "before the removal").await;
    b.wait_for_text(&group, "before the removal").await;

    let cleo = c.my_member_id(&group).await;
    a.call(Request::MemberRemove {
        group: group.clone(),
        member: cleo.clone(),
    })
    .await;
    // Ben writes only once he knows of the removal: before that his writing would be
    // concurrent with it, sealed for the old members — Cleo included — by design.
    let deadline = tokio::time::Instant::now() + WAIT;
    while b.members(&group).await.iter().any(|(id, _)| *id == cleo) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ben did not learn of the removal within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused_before = c.group_status(&group).await.refused_no_key;

    let mut secret = Vec::new();
    for i in 0..AFTER {
        let (writer, text) = if i.is_multiple_of(2) {
            (&a, format!("after the removal, Ana {i}"))
        } else {
            (&b, format!("after the removal, Ben {i}"))
        };
        writer.send(&group, &text).await;
        secret.push(text);
    }
    for text in &secret {
        b.wait_for_text(&group, text).await;
        a.wait_for_text(&group, text).await;
    }

    // Cleo stays connected and keeps catching up; count what she receives and cannot open.
    let deadline = tokio::time::Instant::now() + WAIT;
    let refused = loop {
        let refused = c.group_status(&group).await.refused_no_key - refused_before;
        if refused >= AFTER as u64 || tokio::time::Instant::now() >= deadline {
            break refused;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let connected = c.network.connected().await.expect("connected");
    assert!(
        connected.contains(&a.network.peer_id()) || connected.contains(&b.network.peer_id()),
        "Cleo stayed connected to Ana or Ben"
    );
    assert!(
        refused >= AFTER as u64,
        "Cleo received {refused} envelopes she holds no key for within {WAIT:?}, expected at least {AFTER}"
    );
    let seen = c.texts(&group).await;
    for text in &secret {
        assert!(
            !seen.contains(text),
            "Cleo, removed, reads {text:?}: {seen:?}"
        );
    }
    assert!(seen.iter().any(|t| t == "before the removal"));
}
