//! The JSON the local API speaks beyond `Request`/`Response`/`Event`: errors, the
//! host-level bodies (init, unlock, health) and the WebSocket frames. Both the server
//! (`plenum up`) and the attaching client (every other command) use these types.

use std::path::PathBuf;

use plenum_core::api::{ApiError, Event, Request, Response};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use zeroize::Zeroizing;

/// An error as it travels: `{"error": {"kind": .., "message": ..}}`. `kind` is one of
/// the core's `ErrorKind`s or a host-level kind (see `docs/local-api.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WireError {
    pub kind: String,
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, TS)]
pub(crate) struct ErrorBody {
    pub(crate) error: WireError,
}

impl WireError {
    pub fn new(kind: &str, message: impl Into<String>) -> WireError {
        WireError {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    /// The request needs the token, and this one had none or a wrong one.
    pub(crate) fn unauthorized() -> WireError {
        WireError::new(
            "unauthorized",
            "missing or wrong token; it is in node.json in the data directory",
        )
    }

    /// The data directory has no profile yet.
    pub(crate) fn no_profile() -> WireError {
        WireError::new(
            "no_profile",
            "no profile here yet: run `plenum init --name NAME` (the running node creates it)",
        )
    }

    /// The profile is behind a passphrase nobody has given yet.
    pub(crate) fn locked() -> WireError {
        WireError::new("locked", "the running node is locked: run `plenum unlock`")
    }
}

impl From<ApiError> for WireError {
    fn from(e: ApiError) -> WireError {
        // ErrorKind serialises as its snake_case name; the round trip keeps kinds the
        // core adds later without this crate listing them.
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "storage".to_owned());
        WireError {
            kind,
            message: e.message,
        }
    }
}

/// `POST /api/init`: create the profile in the running node's empty data directory.
#[derive(Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct InitBody {
    pub name: String,
    /// Keep the storage key in a key file instead of behind a passphrase.
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub no_passphrase: bool,
    /// Where the key file goes (with `no_passphrase`; default: the node's config dir).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Keep the storage key in the system keyring instead (no passphrase, no file).
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub keyring: bool,
    /// The passphrase (without `no_passphrase`).
    #[serde(default)]
    #[ts(as = "Option<String>")]
    pub passphrase: Option<Zeroizing<String>>,
    /// How long unlocking should take, in milliseconds (default 1000).
    #[serde(default)]
    pub kdf_ms: Option<u64>,
}

/// `POST /api/unlock`.
#[derive(Serialize, Deserialize, TS)]
pub(crate) struct UnlockBody {
    #[ts(as = "String")]
    pub(crate) passphrase: Zeroizing<String>,
}

/// Where a running node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// The data directory has no profile; only `/api/init` works.
    Empty,
    /// The profile waits for its passphrase; only `/api/unlock` works.
    Locked,
    /// Unlocked: every request works.
    Running,
}

/// `GET /api/health`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct Health {
    pub state: NodeState,
    pub pid: u32,
}

/// A request on the WebSocket.
#[derive(Deserialize, TS)]
pub(crate) struct WsRequest {
    pub(crate) id: u64,
    pub(crate) request: Request,
}

/// What the server sends on the WebSocket: the answer to request `id` (in request
/// order), or an event.
#[derive(Serialize, TS)]
#[serde(untagged)]
pub(crate) enum WsOutgoing {
    Response { id: Option<u64>, response: Response },
    Error { id: Option<u64>, error: WireError },
    Event { event: Event },
}
