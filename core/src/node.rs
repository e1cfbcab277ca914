//! The node: one per data directory. Owns the store, the loaded documents and the
//! writer; front ends talk to it only through [`Node::call`] and [`Node::events`].

#[cfg(test)]
mod authorship_tests;
mod boards;
mod chat;
#[cfg(test)]
mod convergence_tests;
mod engine;
mod export;
#[cfg(test)]
mod forgery_tests;
mod groups;
mod import;
#[cfg(test)]
mod import_tests;
mod ingest;
#[cfg(test)]
mod ingest_limits_tests;
mod join;
mod membership;
#[cfg(test)]
mod membership_tests;
// Read by `net`; without the network only its offline status is used.
#[cfg_attr(not(feature = "net"), allow(dead_code))]
mod network;
mod pads;
mod resolve;
#[cfg(test)]
mod snapshot_sync_tests;
mod sync;
#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod test_devices;
mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::api::{ApiError, ErrorKind, Event, GroupSummary, Request, Response};
use crate::identity::{Profile, check_name};
use crate::invite::{JoinRequest, Welcome};
use crate::store::{Protection, Slot, Store, StoreError, Unlock, UnlockMethod, WriteBatch};
use crate::time::Timestamp;
use engine::{State, Tx, encode};
use writer::{Durable, Writer};

pub use ingest::{IngestError, Ingested};
#[cfg(feature = "net")]
pub(crate) use network::GroupKeys;
#[cfg(feature = "net")]
pub(crate) use sync::SNAPSHOT_WORTH;

/// Events buffered per listener before it is told it lagged.
const EVENT_BUFFER: usize = 1024;
/// Sealed envelopes buffered per network listener before it skips some.
const OUTGOING_BUFFER: usize = 4096;

/// Waits until a commit is durable.
async fn wait_durable(durable: Durable) -> Result<(), ApiError> {
    match durable.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ApiError::new(
            ErrorKind::Storage,
            format!("could not save: {e}"),
        )),
        Err(_) => Err(ApiError::new(
            ErrorKind::Storage,
            "the storage writer stopped",
        )),
    }
}

/// Where and how a node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The data directory (database and unlock header).
    pub data_dir: PathBuf,
    /// How long passphrase key derivation should take on this device (when creating).
    pub kdf_target: Duration,
}

impl NodeConfig {
    /// Defaults for a data directory: key derivation calibrated to about one second.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeConfig {
        NodeConfig {
            data_dir: data_dir.into(),
            kdf_target: Duration::from_secs(1),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store refused (not initialised, wrong passphrase, in use, damaged, …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A name given to `init` is not acceptable.
    #[error("{0}")]
    InvalidName(String),
    /// The profile record is missing or damaged.
    #[error("{0}")]
    Profile(String),
    /// The writer thread could not start.
    #[error("could not start the storage writer: {0}")]
    Io(#[from] std::io::Error),
}

/// A running Plenum node. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<Mutex<State>>,
    writer: Writer,
    events: broadcast::Sender<Event>,
    outgoing: broadcast::Sender<Arc<Vec<u8>>>,
}

impl Node {
    /// Creates a new profile in `config.data_dir` and starts its node.
    pub fn init(
        config: &NodeConfig,
        name: &str,
        protection: Protection,
    ) -> Result<Node, NodeError> {
        let name =
            check_name("display", name).map_err(|e| NodeError::InvalidName(e.to_string()))?;
        let store = Store::init(&config.data_dir, protection)?;
        let profile = Profile::new(name, Timestamp::now());
        let mut batch = WriteBatch::default();
        batch.put(Slot::Profile, encode(&profile));
        store.commit(&[batch])?;
        Self::start(store, profile)
    }

    /// How the profile in `dir` is unlocked.
    pub fn unlock_method(dir: &Path) -> Result<UnlockMethod, NodeError> {
        Ok(Store::unlock_method(dir)?)
    }

    /// Unlocks the profile in `config.data_dir` and starts its node.
    pub fn open(config: &NodeConfig, unlock: Unlock) -> Result<Node, NodeError> {
        let store = Store::open(&config.data_dir, unlock)?;
        let bytes = store.get(Slot::Profile)?.ok_or_else(|| {
            NodeError::Profile("the data directory has no profile record; run `plenum init`".into())
        })?;
        let profile: Profile = postcard::from_bytes(&bytes)
            .map_err(|e| NodeError::Profile(format!("the profile record is damaged ({e})")))?;
        Self::start(store, profile)
    }

    fn start(store: Store, profile: Profile) -> Result<Node, NodeError> {
        let store = Arc::new(store);
        let state =
            State::open(store.clone(), profile).map_err(|e| NodeError::Profile(e.message))?;
        let state = Arc::new(Mutex::new(state));
        let (outgoing, _) = broadcast::channel(OUTGOING_BUFFER);
        let writer = Writer::start(store, state.clone(), outgoing.clone())?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(Node {
            inner: Arc::new(Inner {
                state,
                writer,
                events,
                outgoing,
            }),
        })
    }

    /// Carries out a request.
    ///
    /// The request is applied before this returns, in call order (so a front end may
    /// pipeline requests: call several times, then await the futures); the future
    /// resolves once the change is durable on disk. Applying may read from disk, so
    /// call this from a thread that may block briefly.
    pub fn call(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, ApiError>> + Send + 'static {
        let applied = self.apply(request);
        async move {
            let (response, durable) = applied?;
            if let Some(durable) = durable {
                wait_durable(durable).await?;
            }
            Ok(response)
        }
    }

    /// Takes an envelope written by another device of one of this device's groups:
    /// verified, checked against its author's chain and the membership, stored and
    /// applied — or held until what it depends on arrives. Resolves once it is durable.
    pub fn receive(
        &self,
        envelope: &[u8],
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send + 'static + use<> {
        self.receive_from(envelope, State::ingest)
    }

    /// [`Node::receive`] for what catch-up and welcomes bring, which may also be
    /// snapshot envelopes (never accepted live: see `protocol-spec/snapshot.md`).
    pub fn receive_caught_up(
        &self,
        envelope: &[u8],
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send + 'static + use<> {
        self.receive_from(envelope, State::ingest_caught_up)
    }

    fn receive_from(
        &self,
        envelope: &[u8],
        ingest: fn(&mut State, &mut Tx, &[u8]) -> Result<Ingested, IngestError>,
    ) -> impl Future<Output = Result<Ingested, IngestError>> + Send + 'static + use<> {
        let mut outcome = None;
        let applied = self.apply_with(|state, tx, _| {
            outcome = Some(ingest(state, tx, envelope));
            Ok(())
        });
        async move {
            let (_, durable) = applied?;
            let outcome = outcome.unwrap_or(Err(IngestError::UnknownGroup));
            if let Some(durable) = durable {
                // A refused envelope may still leave evidence (a fork) to commit.
                wait_durable(durable).await?;
            }
            outcome
        }
    }

    /// Envelopes this device sealed, each once it is durable: what the network
    /// publishes. A listener that falls behind skips what it missed (catch-up on the
    /// next connection sends it).
    pub fn outgoing(&self) -> impl Stream<Item = Vec<u8>> + Send + 'static {
        BroadcastStream::new(self.inner.outgoing.subscribe())
            .filter_map(|item| item.ok().map(|e| e.as_ref().clone()))
    }

    /// This device's transport public key, which joiners bind their proofs to.
    pub fn peer_key(&self) -> Result<[u8; 32], ApiError> {
        Ok(self.lock()?.profile.transport_public())
    }

    /// A fresh nonce for a joiner to sign (step 1 of the join handshake).
    pub fn join_nonce(&self) -> Result<[u8; 32], ApiError> {
        Ok(self.lock()?.join_nonce())
    }

    /// Starts joining with an invite link (step 2): makes this device's member keys for
    /// the group and the request for the admitter with transport key `admitter_peer`,
    /// which sent `nonce`.
    pub fn join_request(
        &self,
        link: &str,
        admitter_peer: [u8; 32],
        nonce: [u8; 32],
    ) -> Result<JoinRequest, ApiError> {
        self.lock()?
            .join_request(link, admitter_peer, nonce, Timestamp::now())
    }

    /// Admits a joiner (step 3): resolves with the welcome to send it once the
    /// admission is durable.
    pub fn admit(
        &self,
        request: &JoinRequest,
    ) -> impl Future<Output = Result<Welcome, ApiError>> + Send + 'static {
        let applied = self.apply_with(|state, tx, now| state.admit(tx, request, now));
        let node = self.clone();
        let group = request.group;
        async move {
            let ((grants, docs), durable) = applied?;
            if let Some(durable) = durable {
                wait_durable(durable).await?;
            }
            let envelopes = node.lock()?.welcome_envelopes(&group, docs.as_ref())?;
            let envelopes = node.compact_welcome(&group, envelopes)?;
            Ok(Welcome {
                group,
                grants,
                envelopes,
            })
        }
    }

    /// Takes the welcome of a join this device started (step 4): resolves with the
    /// group once everything in it is validated and durable.
    pub fn accept_welcome(
        &self,
        welcome: &Welcome,
    ) -> impl Future<Output = Result<GroupSummary, ApiError>> + Send + 'static {
        let applied = self.apply_with(|state, tx, _| {
            let group = state.accept_welcome(tx, welcome)?;
            state.handle(
                tx,
                Request::GroupShow {
                    group: group.to_string(),
                },
                Timestamp::now(),
            )
        });
        async move {
            let (response, durable) = applied?;
            if let Some(durable) = durable {
                wait_durable(durable).await?;
            }
            match response {
                Response::Group(summary) => Ok(summary),
                _ => Err(ApiError::new(
                    ErrorKind::Integrity,
                    "joined, but the group does not show",
                )),
            }
        }
    }

    /// Everything that changes from now on, for as long as the stream is held. A slow
    /// listener gets [`Event::Lagged`] and should reload what it shows.
    pub fn events(&self) -> impl Stream<Item = Event> + Send + 'static {
        BroadcastStream::new(self.inner.events.subscribe()).map(|item| match item {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(missed)) => Event::Lagged { missed },
        })
    }

    fn apply(&self, request: Request) -> Result<(Response, Option<Durable>), ApiError> {
        self.apply_with(|state, tx, now| state.handle(tx, request, now))
    }

    /// Runs `work` on the state and queues its writes for the next commit.
    fn apply_with<R>(
        &self,
        work: impl FnOnce(&mut State, &mut Tx, Timestamp) -> Result<R, ApiError>,
    ) -> Result<(R, Option<Durable>), ApiError> {
        let mut state = self.lock()?;
        let mut tx = Tx {
            progress: Some(self.inner.events.clone()),
            ..Tx::default()
        };
        // Work that fails halfway may already have changed documents in memory (a new
        // pad before its directory entry was refused, say); those changes are
        // committed like any other, so memory and disk never disagree.
        let result = work(&mut state, &mut tx, Timestamp::now());
        let mut durable = None;
        if !tx.batch.is_empty() || !tx.touched.is_empty() {
            state.next.batches.push(tx.batch);
            state.next.touched.append(&mut tx.touched);
            state.next.outgoing.append(&mut tx.outgoing);
            let (done, wake) = state.next.wait();
            if wake {
                self.inner.writer.wake();
            }
            durable = Some(done);
        }
        drop(state);
        let response = result?;
        for event in tx.events {
            // No listeners is fine: events are only for whoever is watching.
            let _ = self.inner.events.send(event);
        }
        Ok((response, durable))
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, ApiError> {
        self.inner.state.lock().map_err(|_| {
            ApiError::new(
                ErrorKind::Storage,
                "the node's state is poisoned by an earlier crash; restart Plenum",
            )
        })
    }
}

impl State {
    fn handle(
        &mut self,
        tx: &mut Tx,
        request: Request,
        now: Timestamp,
    ) -> Result<Response, ApiError> {
        use Request as R;
        match request {
            R::Profile => Ok(self.profile_view()),
            R::GroupCreate { name } => self.group_create(tx, &name, now),
            R::GroupList => self.group_list(),
            R::GroupShow { group } => self.group_show(&group),
            R::GroupRename { group, name } => self.group_rename(tx, &group, &name),
            R::GroupMute { group, muted } => self.group_mute(tx, &group, muted),
            R::MemberList { group } => self.member_list(&group),
            R::MemberRemove { group, member } => self.member_remove(tx, &group, &member, now),
            R::MemberRole {
                group,
                member,
                role,
            } => self.member_role(tx, &group, &member, role, now),
            R::MemberVerify {
                group,
                member,
                verified,
            } => self.member_verify(tx, &group, &member, verified),
            R::MemberHide {
                group,
                member,
                hidden,
            } => self.member_hide(tx, &group, &member, hidden, now),
            R::GroupSetHistory { group, policy } => self.set_history(tx, &group, policy, now),
            R::GroupSetRelays { group, relays } => self.set_relays(tx, &group, &relays, now),
            R::GroupLeave { group } => self.group_leave(tx, &group, now),
            R::InviteCreate {
                group,
                uses,
                expires_in_ms,
            } => self.invite_create(
                tx,
                &group,
                uses.unwrap_or(1),
                expires_in_ms.unwrap_or(membership::DEFAULT_INVITE_LIFETIME_MS),
                now,
            ),
            R::InviteList { group } => self.invite_list(&group, now),
            R::InviteRevoke { group, invite } => self.invite_revoke(tx, &group, &invite, now),
            R::ChannelCreate { group, name } => self.channel_create(tx, &group, &name, now),
            R::ChannelList { group } => self.channel_list(&group),
            R::ChannelRename {
                group,
                channel,
                name,
            } => self.channel_rename(tx, &group, &channel, &name),
            R::ChatSend {
                group,
                channel,
                text,
                reply_to,
            } => self.chat_send(
                tx,
                &group,
                channel.as_deref(),
                &text,
                reply_to.as_deref(),
                now,
            ),
            R::ChatLog {
                group,
                channel,
                before,
                limit,
            } => self.chat_log(&group, channel.as_deref(), before.as_deref(), limit),
            R::ChatEdit {
                group,
                message,
                text,
            } => self.chat_edit(tx, &group, &message, &text, now),
            R::ChatDelete { group, message } => self.chat_delete(tx, &group, &message, now),
            R::ChatReact {
                group,
                message,
                emoji,
                remove,
            } => self.chat_react(tx, &group, &message, &emoji, !remove),
            R::PadCreate { group, name } => self.pad_create(tx, &group, &name, now),
            R::PadList { group } => self.pad_list(&group),
            R::PadRename { group, pad, name } => self.pad_rename(tx, &group, &pad, &name),
            R::PadGet { group, pad } => self.pad_get(&group, &pad),
            R::PadSplice {
                group,
                pad,
                heads,
                splices,
            } => self.pad_splice(tx, &group, &pad, &heads, &splices),
            R::PadWrite { group, pad, text } => self.pad_write(tx, &group, &pad, &text),
            R::BoardCreate { group, name } => self.board_create(tx, &group, &name, now),
            R::BoardList { group } => self.board_list(&group),
            R::BoardRename { group, board, name } => self.board_rename(tx, &group, &board, &name),
            R::BoardShow { group, board } => self.board_show(&group, &board),
            R::ColumnAdd {
                group,
                board,
                title,
            } => self.column_add(tx, &group, &board, &title, now),
            R::CardAdd {
                group,
                board,
                column,
                title,
            } => self.card_add(tx, &group, &board, &column, &title, now),
            R::CardMove {
                group,
                board,
                card,
                column,
                index,
            } => self.card_move(tx, &group, &board, &card, &column, index),
            R::CardEdit {
                group,
                board,
                card,
                edit,
            } => self.card_edit(tx, &group, &board, &card, &edit),
            R::CardComment {
                group,
                board,
                card,
                text,
            } => self.card_comment(tx, &group, &board, &card, &text, now),
            R::CardArchive {
                group,
                board,
                card,
                restore,
            } => self.card_archive(tx, &group, &board, &card, !restore),
            R::ChecklistAdd {
                group,
                board,
                card,
                text,
            } => self.checklist_add(tx, &group, &board, &card, &text),
            R::Status { group } => self.offline_status(group.as_deref()),
            R::Join { .. } | R::Presence { .. } | R::PresenceList { .. } => Err(ApiError::new(
                ErrorKind::Network,
                "this needs the network: start the node with `plenum up` (or use `plenum join`)",
            )),
            R::ChecklistCheck {
                group,
                board,
                card,
                item,
                done,
            } => self.checklist_check(tx, &group, &board, &card, &item, done),
            R::Import {
                group,
                source,
                file_name,
                data,
                target,
                chat,
                utc_offset_minutes,
            } => self.import(
                tx,
                &import::ImportArgs {
                    group: &group,
                    source,
                    file_name: &file_name,
                    data: &data,
                    target: target.as_deref(),
                    chat: chat.as_deref(),
                    utc_offset_minutes: utc_offset_minutes.unwrap_or(0),
                },
                now,
            ),
            R::Export { group } => self.export(&group, now),
        }
    }
}
