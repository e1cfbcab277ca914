//! Devices for the membership tests: real nodes on real stores in temporary
//! directories, exchanging the envelopes each one hands out after its commits, and
//! joining each other's groups through the handshake the network will carry.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::api::{ApiError, GroupSummary, MessageView, Request, Response};
use crate::ids::GroupId;
use crate::{IngestError, Ingested, Node, NodeConfig, Protection};

pub(super) struct Device {
    dir: tempfile::TempDir,
    pub(super) node: Node,
    out: broadcast::Receiver<Arc<Vec<u8>>>,
    /// Everything this device sealed, in order.
    pub(super) sent: Vec<Vec<u8>>,
}

impl Device {
    pub(super) fn new(name: &str) -> Device {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Node::init(
            &NodeConfig::new(dir.path().join("data")),
            name,
            Protection::KeyFile(dir.path().join("key")),
        )
        .expect("init");
        let out = node.inner.outgoing.subscribe();
        Device {
            dir,
            node,
            out,
            sent: Vec::new(),
        }
    }

    /// Stops the node and starts it again from its data directory.
    pub(super) fn restart(self) -> Device {
        let Device {
            dir, node, sent, ..
        } = self;
        drop(node);
        let node = Node::open(
            &NodeConfig::new(dir.path().join("data")),
            crate::Unlock::KeyFile(dir.path().join("key")),
        )
        .expect("reopen");
        let out = node.inner.outgoing.subscribe();
        Device {
            dir,
            node,
            out,
            sent,
        }
    }

    pub(super) fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// What this device sealed since the last call.
    pub(super) fn take_sent(&mut self) -> Vec<Vec<u8>> {
        let mut new = Vec::new();
        while let Ok(envelope) = self.out.try_recv() {
            new.push(envelope.as_ref().clone());
        }
        self.sent.extend(new.iter().cloned());
        new
    }

    pub(super) async fn call(&self, request: Request) -> Result<Response, ApiError> {
        self.node.call(request).await
    }

    pub(super) async fn receive_all(
        &self,
        envelopes: &[Vec<u8>],
    ) -> Vec<Result<Ingested, IngestError>> {
        let mut out = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            out.push(self.node.receive(e).await);
        }
        out
    }

    pub(super) async fn create_group(&self, name: &str) -> GroupId {
        match self.call(Request::GroupCreate { name: name.into() }).await {
            Ok(Response::Group(g)) => g.id,
            other => panic!("group create: {other:?}"),
        }
    }

    pub(super) async fn invite(
        &self,
        group: &GroupId,
        uses: u32,
        expires_in_ms: Option<u64>,
    ) -> String {
        match self
            .call(Request::InviteCreate {
                group: group.to_string(),
                uses: Some(uses),
                expires_in_ms,
            })
            .await
        {
            Ok(Response::Invite(i)) => i.link.expect("link"),
            other => panic!("invite create: {other:?}"),
        }
    }

    pub(super) async fn summary(&self, group: &GroupId) -> GroupSummary {
        match self
            .call(Request::GroupShow {
                group: group.to_string(),
            })
            .await
        {
            Ok(Response::Group(g)) => g,
            other => panic!("group show: {other:?}"),
        }
    }

    pub(super) async fn member_names(&self, group: &GroupId) -> Vec<String> {
        match self
            .call(Request::MemberList {
                group: group.to_string(),
            })
            .await
        {
            Ok(Response::Members(m)) => {
                let mut names: Vec<String> = m.into_iter().map(|m| m.name).collect();
                names.sort();
                names
            }
            other => panic!("member list: {other:?}"),
        }
    }

    pub(super) async fn send(&self, group: &GroupId, text: &str) -> Result<Response, ApiError> {
        self.call(Request::ChatSend {
            group: group.to_string(),
            channel: None,
            text: text.into(),
            reply_to: None,
        })
        .await
    }

    pub(super) async fn messages(&self, group: &GroupId) -> Vec<MessageView> {
        match self
            .call(Request::ChatLog {
                group: group.to_string(),
                channel: None,
                before: None,
                limit: None,
            })
            .await
        {
            Ok(Response::Messages(m)) => m,
            other => panic!("chat log: {other:?}"),
        }
    }

    pub(super) async fn texts(&self, group: &GroupId) -> Vec<String> {
        self.messages(group)
            .await
            .into_iter()
            .map(|m| m.message.text)
            .collect()
    }
}

/// Delivers to `to` everything `from` sealed since the last delivery from it, and
/// returns what became of each envelope.
pub(super) async fn deliver(from: &mut Device, to: &Device) -> Vec<Result<Ingested, IngestError>> {
    let envelopes = from.take_sent();
    to.receive_all(&envelopes).await
}

/// Gives every device everything every device sealed so far (twice, so what waited
/// for something from another device gets it).
pub(super) async fn sync_all(devices: &mut [&mut Device]) {
    for d in devices.iter_mut() {
        d.take_sent();
    }
    for _ in 0..2 {
        for i in 0..devices.len() {
            for j in 0..devices.len() {
                if i != j {
                    let sent = devices[i].sent.clone();
                    devices[j].receive_all(&sent).await;
                }
            }
        }
    }
}

/// `joiner` joins with `link`, admitted by `admitter`, through the whole handshake.
pub(super) async fn join(
    admitter: &Device,
    joiner: &Device,
    link: &str,
) -> Result<GroupSummary, ApiError> {
    let nonce = admitter.node.join_nonce()?;
    let request = joiner
        .node
        .join_request(link, admitter.node.peer_key()?, nonce)?;
    let welcome = admitter.node.admit(&request).await?;
    joiner.node.accept_welcome(&welcome).await
}
