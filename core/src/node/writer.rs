//! Group commit. Requests apply to the in-memory state at once and leave their writes in
//! [`NextCommit`]; one writer thread repeatedly takes everything queued, seals each
//! touched document's new local changes into one envelope, and commits it all in one
//! durable transaction. A burst of edits arriving while an fsync is in flight therefore
//! costs one fsync and one envelope per document, not one each.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use automerge::Change;
use tokio::sync::oneshot;

use crate::ids::{DocId, GroupId};
use crate::store::{Store, WriteBatch};

use super::engine::State;

/// Where the writer hands envelopes this device sealed once they are durable.
pub(super) type Outgoing = tokio::sync::broadcast::Sender<Arc<Vec<u8>>>;

/// Resolves when the writes of one request are durable, or failed to be.
pub(super) type Durable = oneshot::Receiver<Result<(), String>>;

/// Writes waiting for the next commit.
#[derive(Default)]
pub(super) struct NextCommit {
    /// Batches of finished writes (records, received envelopes, snapshots).
    pub(super) batches: Vec<WriteBatch>,
    /// Local changes not yet sealed, per document, in the order they were made.
    pub(super) unsealed: BTreeMap<(GroupId, DocId), Vec<Change>>,
    /// Documents whose in-memory state is ahead of the disk until this commit lands.
    pub(super) touched: Vec<(GroupId, DocId)>,
    /// Envelopes sealed for this commit, handed to the network once it is durable.
    pub(super) outgoing: Vec<Vec<u8>>,
    /// Whoever waits for this commit.
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
    /// Whether the writer is working through commits (and so will pick this one up).
    writer_busy: bool,
}

impl NextCommit {
    fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.unsealed.is_empty()
    }

    /// Whether everything applied so far is on disk.
    pub(super) fn settled(&self) -> bool {
        self.is_empty() && !self.writer_busy
    }

    /// Registers a waiter; returns whether the writer must be woken.
    pub(super) fn wait(&mut self) -> (Durable, bool) {
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        let wake = !self.writer_busy;
        self.writer_busy = true;
        (rx, wake)
    }
}

/// Wakes the writer thread; dropping it lets the thread finish what is queued and stop.
pub(super) struct Writer {
    wake: Option<SyncSender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(
        store: Arc<Store>,
        state: Arc<Mutex<State>>,
        outgoing: Outgoing,
    ) -> std::io::Result<Writer> {
        // One slot is enough: a pending wake-up already means "look again".
        let (wake, rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name("plenum-writer".into())
            .spawn(move || run(&store, &state, &rx, &outgoing))?;
        Ok(Writer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    pub(super) fn wake(&self) {
        if let Some(wake) = &self.wake {
            // Full means a wake-up is already pending, which is as good.
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Writer {
    /// Waits for the writer to finish, so the store is closed (and its lock released)
    /// when the node is gone.
    fn drop(&mut self) {
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(store: &Store, state: &Mutex<State>, wake: &Receiver<()>, outgoing: &Outgoing) {
    while wake.recv().is_ok() {
        loop {
            let Ok(mut guard) = state.lock() else { return };
            if guard.next.is_empty() {
                guard.next.writer_busy = false;
                let waiters = std::mem::take(&mut guard.next.waiters);
                drop(guard);
                // Requests whose edits changed nothing still wait for "durable".
                for waiter in waiters {
                    let _ = waiter.send(Ok(()));
                }
                break;
            }
            guard.seal_unsealed();
            let next = std::mem::take(&mut guard.next);
            guard.next.writer_busy = true;
            drop(guard);

            let result = store.commit(&next.batches).map_err(|e| e.to_string());
            match &result {
                Ok(()) => {
                    for envelope in next.outgoing {
                        // Nobody listening (no network) is fine: catch-up sends it later.
                        let _ = outgoing.send(Arc::new(envelope));
                    }
                }
                Err(e) => {
                    tracing::error!("commit of {} batches failed: {e}", next.batches.len());
                    if let Ok(mut guard) = state.lock() {
                        guard.forget(next.touched.iter().copied());
                    }
                }
            }
            for waiter in next.waiters {
                let _ = waiter.send(result.clone());
            }
        }
    }
}
