//! Attaching to the node running for a data directory: every command but `up` first
//! looks for one (`node.json`, a live pid, a health answer with the token) and, if it
//! runs, sends its requests over the local API instead of opening the store. A shell
//! that finds one shows that node's UI and follows its events the same way.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use plenum_core::api::{Event, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::node_file::{self, NodeFile};
use crate::wire::{ErrorBody, Health, InitBody, NodeState, UnlockBody};

/// How long the health check may take before the node counts as not running.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one request may take (a large pad, a slow disk, key derivation).
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest answer read.
const MAX_ANSWER: u64 = 256 * 1024 * 1024;

/// A node running for this data directory, answering with our token.
#[derive(Clone)]
pub struct RunningNode {
    agent: ureq::Agent,
    base: String,
    authorization: String,
    pub(crate) state: NodeState,
    /// Its web UI's link, with the token.
    pub(crate) ui: String,
}

impl RunningNode {
    /// The node running for `dir`, if there is one. A `node.json` whose process is
    /// gone or does not answer is stale and ignored.
    pub fn find(dir: &Path) -> Option<RunningNode> {
        let file = NodeFile::read(dir)?;
        if !node_file::pid_alive(file.pid) {
            return None;
        }
        let config = ureq::Agent::config_builder()
            // Never through a proxy from the environment: this is 127.0.0.1.
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(CALL_TIMEOUT))
            .build();
        let mut node = RunningNode {
            agent: config.into(),
            base: format!("http://{}", file.api),
            authorization: format!("Bearer {}", file.token),
            state: NodeState::Empty,
            ui: file.ui.clone(),
        };
        let health: Health = node.health().ok()?;
        // Another process that reused the port would not know the token; one that
        // does but is not this pid would be a copied node.json.
        if health.pid != file.pid {
            return None;
        }
        node.state = health.state;
        Some(node)
    }

    fn health(&self) -> Result<Health> {
        let response = self
            .agent
            .get(format!("{}/api/health", self.base))
            .config()
            .timeout_global(Some(HEALTH_TIMEOUT))
            .build()
            .header("Authorization", &self.authorization)
            .call()?;
        answer(response)
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", &self.authorization)
            .send_json(body)
            .map_err(|e| anyhow!("the running node did not answer ({e})"))?;
        answer(response)
    }

    /// Its web UI's link, with the token.
    pub fn ui(&self) -> &str {
        &self.ui
    }

    /// Sends one request (blocking).
    pub fn call(&self, request: &Request) -> Result<Response> {
        self.post("/api/call", request)
    }

    /// Its events as they happen, over its WebSocket, from the moment this returns.
    /// While the node is locked none come; they start when it is unlocked. The stream
    /// ends when the node stops.
    pub async fn events(&self) -> Result<BoxStream<'static, Event>> {
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/api/ws", self.base.replacen("http://", "ws://", 1));
        let mut request = url
            .into_client_request()
            .context("the running node's WebSocket address")?;
        request.headers_mut().insert(
            "Authorization",
            self.authorization
                .parse()
                .context("the running node's token")?,
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| anyhow!("the running node's event stream did not open ({e})"))?;
        // Answers to requests never come: this socket sends none.
        let events = socket.filter_map(|message| async move {
            let Ok(Message::Text(text)) = message else {
                return None;
            };
            let mut value: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
            serde_json::from_value(value.get_mut("event")?.take()).ok()
        });
        Ok(events.boxed())
    }

    /// Creates the profile through the running node (its data directory is empty).
    pub(crate) fn init(&self, body: &InitBody) -> Result<Response> {
        self.post("/api/init", body)
    }

    /// Unlocks the running node.
    pub(crate) fn unlock(&self, passphrase: Zeroizing<String>) -> Result<()> {
        let _: Health = self.post("/api/unlock", &UnlockBody { passphrase })?;
        Ok(())
    }
}

/// The answer's JSON, or the error it carries as one line.
fn answer<T: DeserializeOwned>(mut response: ureq::http::Response<ureq::Body>) -> Result<T> {
    let status = response.status();
    let body = response.body_mut().with_config().limit(MAX_ANSWER);
    if status.is_success() {
        return body
            .read_json()
            .map_err(|e| anyhow!("the running node's answer is unreadable ({e})"));
    }
    match body.read_json::<ErrorBody>() {
        Ok(body) => Err(anyhow!(body.error.message)),
        Err(_) => Err(anyhow!("the running node answered {status}")),
    }
}
