//! Two and three in-process nodes on 127.0.0.1 with mDNS off: real libp2p, real
//! stores. Joining by link, live chat, catch-up after being away.

use std::time::Duration;

use plenum_core::api::{Event, Request, Response, SyncState};
use plenum_core::net::{NetConfig, Network};
use plenum_core::{Node, NodeConfig, Protection};
use tempfile::TempDir;
use tokio_stream::StreamExt;

pub(super) const WAIT: Duration = Duration::from_secs(30);

pub(super) struct TestNode {
    pub(super) _dir: TempDir,
    pub(super) network: Network,
}

impl TestNode {
    pub(super) async fn spawn(name: &str) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = NodeConfig::new(dir.path().join("data"));
        let node =
            Node::init(&config, name, Protection::KeyFile(dir.path().join("key"))).expect("init");
        let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")];
        let mut net = NetConfig::new(listen, false);
        net.catch_up_every = Duration::from_secs(2);
        let network = Network::start(node, net).await.expect("network");
        TestNode { _dir: dir, network }
    }

    pub(super) async fn call(&self, request: Request) -> Response {
        self.network.call(request).await.expect("request")
    }

    pub(super) async fn send(&self, group: &str, text: &str) {
        self.call(Request::ChatSend {
            group: group.into(),
            channel: None,
            text: text.into(),
            reply_to: None,
        })
        .await;
    }

    pub(super) async fn texts(&self, group: &str) -> Vec<String> {
        match self
            .call(Request::ChatLog {
                group: group.into(),
                channel: None,
            })
            .await
        {
            Response::Messages(m) => m.into_iter().map(|m| m.message.text).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub(super) async fn wait_for_text(&self, group: &str, text: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if self.texts(group).await.iter().any(|t| t == text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{text:?} did not arrive within {WAIT:?}; have {:?}",
            self.texts(group).await
        );
    }
}

pub(super) async fn found_group(a: &TestNode) -> (String, String) {
    let Response::Group(group) = a
        .call(Request::GroupCreate {
            name: "Tenants".into(),
        })
        .await
    else {
        panic!("no group");
    };
    let Response::Invite(invite) = a
        .call(Request::InviteCreate {
            group: group.id.to_string(),
            uses: Some(5),
            expires_in_ms: None,
        })
        .await
    else {
        panic!("no invite");
    };
    (group.id.to_string(), invite.link.expect("link"))
}

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
