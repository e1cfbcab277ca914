//! Two in-process nodes on 127.0.0.1 with mDNS off: real libp2p, real stores. Joining
//! by link, live chat both ways, an honest status, typing presence.

use std::time::Duration;

use plenum_core::api::{Event, Request, Response, SyncState};
use tokio_stream::StreamExt;

use super::net_harness::{TestNode, WAIT, found_group};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_by_link_then_chat_both_ways_and_status_tells_the_truth() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, link) = found_group(&a).await;
    a.send(&group, "before Ben joined").await;

    let joined = b.network.join(&link, WAIT, |_| {}).await.expect("join");
    assert_eq!(joined.id.to_string(), group);
    b.wait_for_text(&group, "before Ben joined").await;

    let mut events = Box::pin(b.network.events());
    a.send(&group, "hello Ben").await;
    let arrived = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            if let Event::Message { message, .. } = event
                && message.message.text == "hello Ben"
            {
                return;
            }
        }
    })
    .await;
    assert!(arrived.is_ok(), "the live message reached Ben as an event");
    b.send(&group, "hello Ana").await;
    a.wait_for_text(&group, "hello Ana").await;

    let Response::Status(status) = a.call(Request::Status { group: None }).await else {
        panic!("no status");
    };
    let peers = &status.groups[0].peers;
    let ben = peers
        .iter()
        .find(|p| p.name.as_deref() == Some("Ben"))
        .expect("Ben listed");
    assert!(ben.connected);
    assert!(!ben.docs.is_empty());
    assert!(
        ben.docs.iter().all(|d| d.state == SyncState::InSync),
        "in sync after the exchange: {:?}",
        ben.docs
    );
    assert!(
        ben.docs.iter().all(|d| d.has_all_mine),
        "Ben has seen everything Ana wrote"
    );
    // "Seen by a peer" for one message: its segment is among the documents Ben holds
    // all of Ana's envelopes of.
    let Response::Messages(log) = a
        .call(Request::ChatLog {
            group: group.clone(),
            channel: None,
            before: None,
            limit: Some(2),
        })
        .await
    else {
        panic!("no log");
    };
    let mine = log
        .iter()
        .find(|m| m.message.text == "hello Ben")
        .expect("the last two messages hold Ana's");
    assert!(
        ben.docs
            .iter()
            .any(|d| d.doc == mine.segment && d.has_all_mine),
        "the segment of {:?} is seen by Ben: {:?}",
        mine.message.text,
        ben.docs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_member_and_it_shows_online() {
    use plenum_core::api::PresenceView;
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, link) = found_group(&a).await;
    b.network.join(&link, WAIT, |_| {}).await.expect("join");
    let mut events = Box::pin(a.network.events());
    // The gossip mesh forms within a heartbeat or two; keep saying it until heard.
    let heard = tokio::time::timeout(WAIT, async {
        loop {
            b.call(Request::Presence {
                group: group.clone(),
                typing_in: Some("general".into()),
                cursor: None,
            })
            .await;
            let next = tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(event) = events.next().await {
                    if let Event::Presence(PresenceView {
                        name,
                        typing_in: Some(_),
                        ..
                    }) = event
                    {
                        return name;
                    }
                }
                String::new()
            })
            .await;
            if let Ok(name) = next {
                return name;
            }
        }
    })
    .await
    .expect("Ana hears that Ben is typing");
    assert_eq!(heard, "Ben");
    let Response::Presence(people) = a.call(Request::PresenceList { group }).await else {
        panic!("no presence");
    };
    assert!(people.iter().any(|p| p.name == "Ben" && p.online));
}
