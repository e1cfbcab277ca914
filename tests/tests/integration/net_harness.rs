//! The multi-node harness of the `net_*` tests: in-process nodes on 127.0.0.1 with
//! mDNS off, each in its own temporary directory, every wait bounded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plenum_core::api::{GroupStatus, Request, Response};
use plenum_core::net::{Address, NetConfig, Network};
use plenum_core::{Node, NodeConfig, Protection, Unlock};
use tempfile::TempDir;

/// The longest any single wait in these tests may take.
pub(super) const WAIT: Duration = Duration::from_secs(30);

pub(super) struct TestNode {
    pub(super) dir: TempDir,
    pub(super) network: Network,
}

fn net_config() -> NetConfig {
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")];
    let mut net = NetConfig::new(listen, false);
    net.catch_up_every = Duration::from_secs(2);
    net
}

impl TestNode {
    pub(super) async fn spawn(name: &str) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = NodeConfig::new(dir.path().join("data"));
        let node =
            Node::init(&config, name, Protection::KeyFile(dir.path().join("key"))).expect("init");
        let network = Network::start(node, net_config()).await.expect("network");
        TestNode { dir, network }
    }

    /// Opens the profile in `dir` (made by [`TestNode::spawn`], stopped since) and
    /// starts its network. The store may still be held for a moment by tasks of the
    /// previous run winding down, so opening is retried, bounded.
    pub(super) async fn reopen(dir: TempDir) -> TestNode {
        let config = NodeConfig::new(dir.path().join("data"));
        let key = dir.path().join("key");
        let deadline = tokio::time::Instant::now() + WAIT;
        let node = loop {
            match Node::open(&config, Unlock::KeyFile(key.clone())) {
                Ok(node) => break node,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the stopped profile did not reopen within {WAIT:?}: {e}"),
            }
        };
        let network = Network::start(node, net_config()).await.expect("network");
        TestNode { dir, network }
    }

    /// Stops the network and lets go of the node; the directory stays.
    pub(super) async fn stop(self) -> TempDir {
        self.network.shutdown().await;
        drop(self.network);
        self.dir
    }

    pub(super) fn addr(&self) -> Address {
        self.network.listen_addrs()[0].clone()
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
                before: None,
                limit: None,
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

    /// This node's status of `group` (peers compared afresh).
    pub(super) async fn group_status(&self, group: &str) -> GroupStatus {
        let Response::Status(status) = self
            .call(Request::Status {
                group: Some(group.into()),
            })
            .await
        else {
            panic!("no status");
        };
        status
            .groups
            .into_iter()
            .next()
            .expect("the group's status")
    }

    pub(super) async fn invite(&self, group: &str, uses: u32) -> String {
        let Response::Invite(invite) = self
            .call(Request::InviteCreate {
                group: group.into(),
                uses: Some(uses),
                expires_in_ms: None,
            })
            .await
        else {
            panic!("no invite");
        };
        invite.link.expect("link")
    }
}

/// Creates a group on `a` and an invite for five; returns (group id, link).
pub(super) async fn found_group(a: &TestNode) -> (String, String) {
    let Response::Group(group) = a
        .call(Request::GroupCreate {
            name: "Tenants".into(),
        })
        .await
    else {
        panic!("no group");
    };
    let id = group.id.to_string();
    let link = a.invite(&id, 5).await;
    (id, link)
}

/// Copies a directory tree (a stopped profile).
pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Peak resident memory of this whole test process (VmHWM), in KiB.
pub(super) fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

impl TestNode {
    /// Waits until every connected peer of `group` compares in sync on every document.
    pub(super) async fn wait_in_sync(&self, group: &str, peers: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            let status = self.group_status(group).await;
            let connected: Vec<_> = status.peers.iter().filter(|p| p.connected).collect();
            if connected.len() >= peers
                && connected.iter().all(|p| {
                    !p.docs.is_empty()
                        && p.docs
                            .iter()
                            .all(|d| d.state == plenum_core::api::SyncState::InSync)
                })
            {
                return;
            }
            last = Some(status);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("not in sync with {peers} peers within {WAIT:?}: {last:#?}");
    }

    /// The member ids of `group` as this node sees them, with whether each is this node.
    pub(super) async fn members(&self, group: &str) -> Vec<(String, bool)> {
        match self
            .call(Request::MemberList {
                group: group.into(),
            })
            .await
        {
            Response::Members(m) => m.into_iter().map(|m| (m.id.to_string(), m.me)).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub(super) async fn my_member_id(&self, group: &str) -> String {
        self.members(group)
            .await
            .into_iter()
            .find_map(|(id, me)| me.then_some(id))
            .expect("this node is a member")
    }
}
