//! What the desktop and mobile shells share: the node for the data directory, run in
//! the app's own process ([`plenum::LocalNode`], exactly as `plenum up` runs it), and
//! the Tauri commands the UI's Tauri adapter calls (`ui/src/api/tauri.ts`). Neither
//! shell implements any logic of its own beyond its platform's integrations.
//!
//! The commands mirror the local API: `plenum_health`, `plenum_init`, `plenum_unlock`,
//! `plenum_call` (one `Request`, one `Response`) and `plenum_events` (the `Event`
//! stream, on a [`Channel`]). Errors are `{kind, message}`, as over HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use plenum::LocalNode;
use plenum::wire::{Health, InitBody, WireError};
use plenum_core::api::{Event, Request, Response};
use tauri::ipc::{Channel, Invoke};
use tauri::{Manager, Runtime, State};
use tokio::sync::Notify;
use zeroize::Zeroizing;

pub mod notify;

/// The state the commands share: the node, and the order calls are applied in.
pub struct Shell {
    node: Arc<LocalNode>,
    order: CallOrder,
}

impl Shell {
    pub fn new(node: Arc<LocalNode>) -> Shell {
        Shell {
            node,
            order: CallOrder::default(),
        }
    }

    pub fn node(&self) -> &Arc<LocalNode> {
        &self.node
    }
}

/// Starts the node for `dir` in this process (as `plenum up` would, local API and
/// `node.json` included) and hands it to the commands. Call from `setup`.
pub fn start_node<R: Runtime>(
    app: &tauri::App<R>,
    dir: &std::path::Path,
    options: plenum::LocalOptions,
) -> anyhow::Result<()> {
    let node = tauri::async_runtime::block_on(LocalNode::start(
        dir,
        options,
        &plenum::PassphraseSource::from_env(),
    ))?;
    println!("api: http://{}", node.api_address());
    app.manage(Shell::new(Arc::new(node)));
    Ok(())
}

/// Closes the store and removes `node.json`, if this app runs the node. Call on
/// `RunEvent::Exit`.
pub fn stop_node<R: Runtime>(app: &tauri::AppHandle<R>) {
    tauri::async_runtime::block_on(stop(app));
}

/// [`stop_node`], from async code.
pub async fn stop<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Some(node) = app.try_state::<Shell>().map(|shell| shell.node.clone()) else {
        return;
    };
    if let Err(e) = node.stop().await {
        eprintln!("plenum: stopping the node: {e:#}");
    }
}

/// The commands, for `tauri::Builder::invoke_handler`.
pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        plenum_health,
        plenum_init,
        plenum_unlock,
        plenum_call,
        plenum_events
    ]
}

#[tauri::command]
async fn plenum_health(shell: State<'_, Shell>) -> Result<Health, WireError> {
    Ok(shell.node.health())
}

#[tauri::command]
async fn plenum_init(shell: State<'_, Shell>, body: InitBody) -> Result<Response, WireError> {
    shell.node.init(body).await
}

#[tauri::command]
async fn plenum_unlock(shell: State<'_, Shell>, passphrase: String) -> Result<Health, WireError> {
    shell.node.unlock(Zeroizing::new(passphrase)).await
}

/// One request. Tauri runs async commands concurrently, in no set order, but the pad
/// editor needs its splices applied in the order it sent them (DESIGN §2): the UI
/// numbers its calls per page (`session`, `seq` from 0) and each waits for its turn.
/// The request arrives as plain JSON and is parsed only in its turn, so a malformed
/// one answers with an error instead of leaving a gap in the numbering.
#[tauri::command]
async fn plenum_call(
    shell: State<'_, Shell>,
    session: String,
    seq: u64,
    request: serde_json::Value,
) -> Result<Response, WireError> {
    let turn = shell.order.wait_for_turn(&session, seq).await?;
    let applied = match serde_json::from_value::<Request>(request) {
        Ok(request) => shell.node.call(request).await,
        Err(e) => Err(WireError::new(
            "bad_request",
            format!("not a valid request: {e}"),
        )),
    };
    // Applied (or refused): the next call may go; this one waits to be durable.
    drop(turn);
    applied?.await.map_err(WireError::from)
}

/// Sends the node's events to the page on `channel` until the page goes away.
#[tauri::command]
async fn plenum_events(shell: State<'_, Shell>, channel: Channel<Event>) -> Result<(), WireError> {
    let mut events = shell.node.events()?;
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.next().await {
            if channel.send(event).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The next call number each page may apply, and when the page last called (a
/// count of calls), so the page gone longest is the one forgotten.
#[derive(Default)]
struct CallOrder {
    next: Mutex<Sessions>,
    changed: Notify,
}

#[derive(Default)]
struct Sessions {
    next: HashMap<String, (u64, u64)>,
    calls: u64,
}

/// Pages a shell keeps numbering for; a reload starts a new one.
const MAX_SESSIONS: usize = 64;

impl CallOrder {
    /// Waits until call `seq` of `session` is next; the turn passes on when the
    /// returned guard is dropped.
    async fn wait_for_turn(&self, session: &str, seq: u64) -> Result<Turn<'_>, WireError> {
        loop {
            let changed = self.changed.notified();
            {
                let mut sessions = self.next.lock().map_err(|_| poisoned())?;
                let Sessions { next, calls } = &mut *sessions;
                *calls += 1;
                if !next.contains_key(session)
                    && next.len() >= MAX_SESSIONS
                    && let Some(oldest) = next
                        .iter()
                        .min_by_key(|(_, (_, last))| *last)
                        .map(|(s, _)| s.clone())
                {
                    next.remove(&oldest);
                }
                let (expected, last) = next.entry(session.to_owned()).or_insert((0, 0));
                *last = *calls;
                let expected = *expected;
                if seq == expected {
                    return Ok(Turn {
                        order: self,
                        session: session.to_owned(),
                    });
                }
                if seq < expected {
                    return Err(WireError::new(
                        "bad_request",
                        format!("call {seq} of this page was already made"),
                    ));
                }
            }
            changed.await;
        }
    }
}

/// The right to apply one call; dropping it lets the next one go.
struct Turn<'a> {
    order: &'a CallOrder,
    session: String,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.order.next.lock()
            && let Some((n, _)) = sessions.next.get_mut(&self.session)
        {
            *n += 1;
        }
        self.order.changed.notify_waiters();
    }
}

fn poisoned() -> WireError {
    WireError::new("storage", "the shell's call order broke; restart the app")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn calls_take_their_turns_in_number_order_whatever_order_they_arrive_in() {
        let order = Arc::new(CallOrder::default());
        let applied = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for seq in [3u64, 1, 0, 2] {
            let (order, applied) = (order.clone(), applied.clone());
            tasks.push(tokio::spawn(async move {
                let turn = order.wait_for_turn("page", seq).await.expect("turn");
                applied.lock().expect("lock").push(seq);
                drop(turn);
            }));
        }
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("no call waits forever")
                .expect("task");
        }
        assert_eq!(*applied.lock().expect("lock"), [0, 1, 2, 3]);
        // Another page numbers from 0 on its own; a number already used is refused.
        drop(order.wait_for_turn("reloaded", 0).await.expect("turn"));
        let again = order.wait_for_turn("page", 2).await.err().expect("refused");
        assert_eq!(again.kind, "bad_request");
    }

    #[tokio::test]
    async fn many_reloads_forget_the_pages_gone_longest_not_the_one_in_use() {
        let order = CallOrder::default();
        drop(order.wait_for_turn("in use", 0).await.expect("turn"));
        for page in 0..MAX_SESSIONS * 2 {
            drop(
                order
                    .wait_for_turn(&format!("gone {page}"), 0)
                    .await
                    .expect("turn"),
            );
            // The page in use keeps calling in between.
            let seq = page as u64 + 1;
            let turn =
                tokio::time::timeout(Duration::from_secs(5), order.wait_for_turn("in use", seq))
                    .await
                    .expect("the page in use is not forgotten mid-sequence");
            drop(turn.expect("turn"));
        }
    }
}
