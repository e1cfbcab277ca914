//! The local API: HTTP + WebSocket on 127.0.0.1, for the CLI, a browser tab and the
//! desktop shell attaching to a running node. `docs/local-api.md` describes it.
//!
//! Every request passes [`guard`]: the Host header must name this server
//! (DNS rebinding); under `/api/` an Origin if present must be this server's and the
//! token must match; every answer says `Cache-Control: no-store`. Everything outside
//! `/api/` is the web UI's files ([`ui`]).

mod ui;
mod ws;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State, WebSocketUpgrade};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use plenum_core::api::{self, ApiError};
use plenum_core::store::StoreError;
use plenum_core::{Node, NodeConfig, NodeError, Protection, Unlock};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zeroize::Zeroizing;

use crate::node_file::NodeFile;
use crate::service::{NetOptions, Service, start_services};
use crate::unlock::default_key_file;
use crate::wire::{ErrorBody, Health, InitBody, NodeState, UnlockBody, WireError};
pub(crate) use ui::UiFiles;

/// The largest request body (HTTP) or message (WebSocket) accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;
/// The largest import request: a file of at most `MAX_IMPORT_BYTES`, base64-encoded
/// (4/3 of it), and the request around it. Only imports may be this large.
pub(crate) const MAX_IMPORT_BODY: usize = plenum_core::import::MAX_IMPORT_BYTES / 3 * 4 + 64 * 1024;

/// Refuses a request over [`MAX_BODY`] unless it is an import.
pub(crate) fn check_body_size(len: usize, request: &api::Request) -> Result<(), WireError> {
    if len > MAX_BODY && !matches!(request, api::Request::Import { .. }) {
        return Err(WireError::new(
            "too_large",
            format!("the request is over {} MiB", MAX_BODY >> 20),
        ));
    }
    Ok(())
}

/// Where the node is in its life; what requests go to.
#[derive(Clone)]
pub(crate) enum Phase {
    Empty,
    Locked,
    Running(Arc<dyn Service>),
    /// Starting or shutting down: requests are refused.
    Unavailable,
}

/// The state one `plenum up` shares between its requests.
pub(crate) struct Host {
    dir: PathBuf,
    net: NetOptions,
    token: String,
    /// The `Host` header values this server answers to.
    hosts: [String; 2],
    /// The `Origin` header values accepted.
    origins: [String; 2],
    node_file: Mutex<NodeFile>,
    phase: watch::Sender<Phase>,
    /// Serialises init and unlock (each takes a second of key derivation).
    transition: tokio::sync::Mutex<()>,
    /// The web UI's files.
    ui: UiFiles,
    pub(crate) shutdown: CancellationToken,
    pub(crate) sockets: TaskTracker,
}

impl Host {
    pub(crate) fn new(
        dir: PathBuf,
        net: NetOptions,
        node_file: NodeFile,
        port: u16,
        phase: Phase,
        ui: UiFiles,
    ) -> Host {
        Host {
            dir,
            net,
            token: node_file.token.clone(),
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            origins: [
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
            ],
            node_file: Mutex::new(node_file),
            phase: watch::Sender::new(phase),
            transition: tokio::sync::Mutex::new(()),
            ui,
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
        }
    }

    pub(crate) fn state(&self) -> NodeState {
        match &*self.phase.borrow() {
            Phase::Empty => NodeState::Empty,
            Phase::Locked => NodeState::Locked,
            Phase::Running(_) | Phase::Unavailable => NodeState::Running,
        }
    }

    /// The service, if the node is running.
    fn service(&self) -> Result<Arc<dyn Service>, WireError> {
        match &*self.phase.borrow() {
            Phase::Running(service) => Ok(service.clone()),
            Phase::Empty => Err(WireError::no_profile()),
            Phase::Locked => Err(WireError::locked()),
            Phase::Unavailable => Err(WireError::new(
                "unavailable",
                "the node is starting or stopping; try again",
            )),
        }
    }

    /// Starts the services of an unlocked node, records their listen addresses in
    /// `node.json` and prints them, and sends requests to them from now on.
    pub(crate) async fn run(&self, node: Node) -> anyhow::Result<()> {
        let services = start_services(node, &self.net).await?;
        {
            let mut file = self
                .node_file
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?;
            file.listen = services.listen.clone();
            file.write(&self.dir)?;
        }
        for address in &services.listen {
            println!("listening: {address}");
        }
        self.phase.send_replace(Phase::Running(services.service));
        Ok(())
    }

    /// Refuses further requests and lets go of the node.
    pub(crate) fn stop(&self) -> Phase {
        self.phase.send_replace(Phase::Unavailable)
    }

    pub(crate) fn health(&self) -> Health {
        Health {
            state: self.state(),
            pid: std::process::id(),
        }
    }

    /// Applies `request` (in the order of the calls) and returns the answer's future,
    /// which resolves once the result is durable.
    pub(crate) async fn call(
        &self,
        request: api::Request,
    ) -> Result<BoxFuture<'static, Result<api::Response, ApiError>>, WireError> {
        let service = self.service()?;
        tokio::task::spawn_blocking(move || service.call(request))
            .await
            .map_err(|_| internal("the request"))
    }

    /// The running node's events, from now on.
    pub(crate) fn events(&self) -> Result<BoxStream<'static, api::Event>, WireError> {
        Ok(self.service()?.events())
    }

    /// Creates the profile in the empty data directory and starts the node.
    pub(crate) async fn init(&self, body: InitBody) -> Result<api::Response, WireError> {
        let _transition = self.transition.lock().await;
        if self.state() != NodeState::Empty {
            return Err(node_error(
                StoreError::AlreadyInitialized(self.dir.clone()).into(),
            ));
        }
        let config = NodeConfig {
            data_dir: self.dir.clone(),
            kdf_target: Duration::from_millis(body.kdf_ms.unwrap_or(1000)),
        };
        let protection = match (body.no_passphrase, body.passphrase) {
            (_, None) if body.keyring => Protection::Keyring,
            (true, None) => {
                let path = match body.key_file {
                    Some(path) => path,
                    None => default_key_file(&self.dir)
                        .map_err(|e| WireError::new("invalid", e.to_string()))?,
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        WireError::new(
                            "storage",
                            format!("cannot create {} for the key file: {e}", parent.display()),
                        )
                    })?;
                }
                Protection::KeyFile(path)
            }
            (false, Some(passphrase)) if !passphrase.trim().is_empty() => Protection::Passphrase {
                passphrase,
                kdf_target: config.kdf_target,
            },
            (false, Some(_)) => {
                return Err(WireError::new(
                    "invalid",
                    "the passphrase is empty; choose one, or use no_passphrase",
                ));
            }
            _ => {
                return Err(WireError::new(
                    "bad_request",
                    "give either a passphrase or \"no_passphrase\": true",
                ));
            }
        };
        let name = body.name;
        let (node, profile) = tokio::task::spawn_blocking(move || {
            let node = Node::init(&config, &name, protection).map_err(node_error)?;
            let profile = Service::call(&node, api::Request::Profile);
            Ok::<_, WireError>((node, profile))
        })
        .await
        .map_err(|_| internal("creating the profile"))??;
        let profile = profile.await?;
        self.run(node)
            .await
            .map_err(|e| WireError::new("storage", format!("{e:#}")))?;
        Ok(profile)
    }

    /// Unlocks a profile behind a passphrase and starts the node.
    pub(crate) async fn unlock(&self, passphrase: Zeroizing<String>) -> Result<Health, WireError> {
        let _transition = self.transition.lock().await;
        match self.state() {
            NodeState::Locked => {}
            NodeState::Empty => return Err(WireError::no_profile()),
            NodeState::Running => {
                return Err(WireError::new(
                    "conflict",
                    "the running node is already unlocked",
                ));
            }
        }
        let config = NodeConfig::new(&self.dir);
        let node = tokio::task::spawn_blocking(move || {
            Node::open(&config, Unlock::Passphrase(passphrase)).map_err(node_error)
        })
        .await
        .map_err(|_| internal("unlocking"))??;
        self.run(node)
            .await
            .map_err(|e| WireError::new("storage", format!("{e:#}")))?;
        Ok(self.health())
    }

    /// The Host check every request passes, and the Origin and token checks of the
    /// API's.
    fn admit(&self, request: &Request) -> Result<(), WireError> {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !host.is_some_and(|h| self.hosts.iter().any(|ok| ok == h)) {
            return Err(WireError::new(
                "forbidden",
                format!("this server answers only to Host {}", self.hosts[0]),
            ));
        }
        if !request.uri().path().starts_with("/api/") {
            return Ok(());
        }
        if let Some(origin) = headers.get(header::ORIGIN)
            && !origin
                .to_str()
                .is_ok_and(|o| self.origins.iter().any(|ok| ok == o))
        {
            return Err(WireError::new(
                "forbidden",
                "requests from other web pages are refused",
            ));
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        // Browsers cannot set headers on a WebSocket, so it may carry the token in
        // the query instead.
        let query = (request.uri().path() == "/api/ws")
            .then(|| request.uri().query())
            .flatten()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
        match bearer.or(query) {
            Some(token) if same_secret(token.as_bytes(), self.token.as_bytes()) => Ok(()),
            _ => Err(WireError::unauthorized()),
        }
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The router `plenum up` serves.
pub(crate) fn router(host: Arc<Host>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/call", post(call))
        .route("/api/init", post(init))
        .route("/api/unlock", post(unlock))
        .route("/api/ws", get(websocket))
        .route("/api/{*rest}", any(not_found))
        .fallback(ui::serve)
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BODY))
        .layer(from_fn_with_state(host.clone(), guard))
        .with_state(host)
}

async fn guard(State(host): State<Arc<Host>>, request: Request, next: Next) -> Response {
    let mut response = match host.admit(&request) {
        Ok(()) => next.run(request).await,
        Err(e) => Failure(e).into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error answer: the tagged error with a fitting status.
struct Failure(WireError);

impl From<WireError> for Failure {
    fn from(e: WireError) -> Failure {
        Failure(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (status_of(&self.0.kind), Json(ErrorBody { error: self.0 })).into_response()
    }
}

pub(crate) fn status_of(kind: &str) -> StatusCode {
    match kind {
        "not_found" => StatusCode::NOT_FOUND,
        "ambiguous" | "conflict" | "no_profile" => StatusCode::CONFLICT,
        "invalid" | "bad_request" => StatusCode::BAD_REQUEST,
        "forbidden" | "wrong_passphrase" => StatusCode::FORBIDDEN,
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "locked" => StatusCode::LOCKED,
        "integrity" => StatusCode::UNPROCESSABLE_ENTITY,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Parses a JSON body, with errors in the tagged form.
fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Failure> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WireError::new(
                "too_large",
                format!(
                    "the request is over {} MiB (imports: {} MiB)",
                    MAX_BODY >> 20,
                    MAX_IMPORT_BODY >> 20
                ),
            )
        } else {
            WireError::new("bad_request", format!("cannot read the request: {e}"))
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| WireError::new("bad_request", format!("not a valid request: {e}")).into())
}

fn internal(what: &str) -> WireError {
    WireError::new("storage", format!("{what} stopped unexpectedly"))
}

async fn health(State(host): State<Arc<Host>>) -> Json<Health> {
    Json(host.health())
}

async fn not_found() -> Failure {
    Failure(WireError::new(
        "not_found",
        "no such endpoint; see docs/local-api.md",
    ))
}

/// `POST /api/call`: one request, one response.
async fn call(
    State(host): State<Arc<Host>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<api::Response>, Failure> {
    let len = body.as_ref().map_or(0, Bytes::len);
    let request: api::Request = parse(body)?;
    check_body_size(len, &request)?;
    Ok(Json(host.call(request).await?.await?))
}

fn node_error(e: NodeError) -> WireError {
    let kind = match &e {
        NodeError::InvalidName(_) => "invalid",
        NodeError::Store(StoreError::WrongPassphrase(_)) => "wrong_passphrase",
        NodeError::Store(StoreError::AlreadyInitialized(_)) => "conflict",
        NodeError::Store(StoreError::InUse(_)) => "conflict",
        _ => "storage",
    };
    WireError::new(kind, e.to_string())
}

/// `POST /api/init`: create the profile in an empty data directory and start.
async fn init(
    State(host): State<Arc<Host>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<api::Response>, Failure> {
    let body: InitBody = parse(body)?;
    Ok(Json(host.init(body).await?))
}

/// `POST /api/unlock`: unlock a profile behind a passphrase and start.
async fn unlock(
    State(host): State<Arc<Host>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Health>, Failure> {
    let body: UnlockBody = parse(body)?;
    Ok(Json(host.unlock(body.passphrase).await?))
}

/// `GET /api/ws`: the ordered channel, with events.
async fn websocket(State(host): State<Arc<Host>>, upgrade: WebSocketUpgrade) -> Response {
    // The guard already checked the token and that any Origin is this server's.
    let tracker = host.sockets.clone();
    upgrade
        .max_message_size(MAX_IMPORT_BODY)
        .on_upgrade(move |socket| tracker.track_future(ws::serve(socket, host)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn every_core_error_kind_has_a_status() {
        use plenum_core::api::ErrorKind as K;
        for (kind, status) in [
            (K::NotFound, 404),
            (K::Ambiguous, 409),
            (K::Invalid, 400),
            (K::Forbidden, 403),
            (K::Storage, 500),
            (K::Integrity, 422),
        ] {
            let wire = WireError::from(ApiError::new(kind, "x"));
            assert_eq!(status_of(&wire.kind).as_u16(), status, "{kind:?}");
        }
    }
}
