//! Joining fails with an error that says what happened: a revoked invite, a used-up
//! one, an expired one, or nobody reachable who could admit.

use std::time::Duration;

use plenum_core::api::{ErrorKind, Request, Response};

use super::net_harness::{TestNode, WAIT};

async fn group_and_invite(
    a: &TestNode,
    uses: u32,
    expires_in_ms: Option<u64>,
) -> (String, Response) {
    let Response::Group(group) = a
        .call(Request::GroupCreate {
            name: "Tenants".into(),
        })
        .await
    else {
        panic!("no group");
    };
    let invite = a
        .call(Request::InviteCreate {
            group: group.id.to_string(),
            uses: Some(uses),
            expires_in_ms,
        })
        .await;
    (group.id.to_string(), invite)
}

fn link_of(invite: &Response) -> String {
    let Response::Invite(invite) = invite else {
        panic!("no invite: {invite:?}");
    };
    invite.link.clone().expect("link")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_invite_is_refused_with_that_reason() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, invite) = group_and_invite(&a, 1, None).await;
    let Response::Invite(view) = &invite else {
        panic!()
    };
    a.call(Request::InviteRevoke {
        group,
        invite: view.id.to_string(),
    })
    .await;
    let err = b
        .network
        .join(&link_of(&invite), WAIT, |_| {})
        .await
        .expect_err("a revoked invite admits nobody");
    assert!(err.message.contains("revoked"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_single_use_invite_is_refused_to_the_second_joiner() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let c = TestNode::spawn("Cam").await;
    let (_, invite) = group_and_invite(&a, 1, None).await;
    let link = link_of(&invite);
    b.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("first joiner");
    let err = c
        .network
        .join(&link, WAIT, |_| {})
        .await
        .expect_err("single use");
    assert!(err.message.contains("already used"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invite_is_refused_before_any_network_traffic() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (_, invite) = group_and_invite(&a, 1, Some(1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = b
        .network
        .join(&link_of(&invite), WAIT, |_| {})
        .await
        .expect_err("expired");
    assert!(err.message.contains("expired"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_reachable_ends_after_the_timeout_with_a_clear_error() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (_, invite) = group_and_invite(&a, 1, None).await;
    let link = link_of(&invite);
    a.network.shutdown().await;
    let err = b
        .network
        .join(&link, Duration::from_secs(2), |_| {})
        .await
        .expect_err("nobody to ask");
    assert_eq!(err.kind, ErrorKind::Network);
    assert!(err.message.contains("nobody who can admit"), "{err:?}");
}
