//! `plenum-desktop`: Plenum's desktop app. It runs the node for the data directory in
//! its own process — exactly as `plenum up` does, local API and `node.json` included,
//! so `plenum` commands attach to it — and shows the web UI in a window that calls the
//! node through the shell's commands (`plenum-shell`). When a node already runs for
//! that data directory (`plenum up`, or a desktop app of another user session), the
//! window shows that node's UI instead and talks to it over the local API.
//!
//! The data directory is the CLI's: `PLENUM_DATA`, else the platform's. One instance
//! runs per user: launching it again (say, for a `plenum://join/…` link) hands the
//! arguments to the running one, which shows its window and starts the join.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use plenum::{LocalNode, LocalOptions, RunningNode};
use plenum_core::api::{Event, GroupSummary, Request, Response};
use plenum_core::ids::GroupId;
use plenum_shell::Shell;
use plenum_shell::notify::Notifier;
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use tauri_plugin_notification::NotificationExt;

/// The main window's label (the capabilities name it).
const MAIN: &str = "main";

/// Join links waiting for the page to load.
#[derive(Default)]
struct PendingLinks(Mutex<Vec<String>>);

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plenum-desktop: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let dir = plenum::data_dir_from_env()?;
    let links = join_links(std::env::args().skip(1));
    let app = tauri::Builder::default()
        // First: a second launch must reach the first instance before anything starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            show(app);
            let links = join_links(argv.into_iter().skip(1));
            hand_over(app, links);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init())
        .manage(PendingLinks(Mutex::new(links)))
        .invoke_handler(plenum_shell::handler())
        .setup(move |app| {
            let url = match RunningNode::find(&dir) {
                // Another process holds the node: show its UI, through its local API,
                // and notify from its events.
                Some(node) => {
                    let ui = node.ui().parse().context("the running node's UI link")?;
                    notify_new_messages(app.handle().clone(), Source::Attached(node));
                    WebviewUrl::External(ui)
                }
                None => {
                    let options = LocalOptions {
                        ui: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                        mdns: std::env::var_os("PLENUM_NO_MDNS").is_none(),
                        listen: list_from_env("PLENUM_LISTEN"),
                        relays: list_from_env("PLENUM_RELAYS"),
                    };
                    plenum_shell::start_node(app, &dir, options)?;
                    let node = app.state::<Shell>().node().clone();
                    notify_new_messages(app.handle().clone(), Source::InProcess(node));
                    exit_on_signal(app.handle().clone());
                    WebviewUrl::App("index.html".into())
                }
            };
            let handle = app.handle().clone();
            WebviewWindowBuilder::new(app, MAIN, url)
                .title("Plenum")
                .inner_size(1100.0, 760.0)
                .min_inner_size(360.0, 560.0)
                // The unread count is in the page's title; the title bar shows it, for
                // the app's own page and an attached node's alike.
                .on_document_title_changed(|window, title| {
                    let _ = window.set_title(&title);
                })
                .on_page_load(move |window, payload| {
                    if payload.event() == PageLoadEvent::Finished {
                        deliver(&handle, &window);
                    }
                })
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("starting the app")?;
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            plenum_shell::stop_node(app);
        }
    });
    Ok(())
}

/// The node whose messages notify: the app's own, or the one it attached to.
enum Source {
    InProcess(Arc<LocalNode>),
    Attached(RunningNode),
}

/// How long a group's summary (its name, whether it is muted) is reused: a burst of
/// catch-up messages asks once, and muting takes effect within this.
const SUMMARY_TTL: Duration = Duration::from_secs(2);

impl Source {
    /// The node's events, once there are any (the profile exists and is unlocked).
    async fn events(&self) -> BoxStream<'static, Event> {
        loop {
            let events = match self {
                Source::InProcess(node) => node.events().map_err(|e| anyhow!(e.message)),
                Source::Attached(node) => node.events().await,
            };
            match events {
                Ok(events) => return events,
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    async fn group(&self, group: GroupId) -> Result<GroupSummary> {
        let show = Request::GroupShow {
            group: group.to_string(),
        };
        let response = match self {
            Source::InProcess(node) => {
                let applied = node.call(show).await.map_err(|e| anyhow!(e.message))?;
                applied.await?
            }
            Source::Attached(node) => {
                let node = node.clone();
                tauri::async_runtime::spawn_blocking(move || node.call(&show)).await??
            }
        };
        match response {
            Response::Group(summary) => Ok(summary),
            _ => Err(anyhow!("the node answered GroupShow with something else")),
        }
    }
}

/// Raises a desktop notification for new messages while the window is not in front
/// (see `plenum_shell::notify` for which ones and what they say). Ends with the
/// node's events: an attached node that stops takes its UI with it anyway.
fn notify_new_messages(app: AppHandle, source: Source) {
    tauri::async_runtime::spawn(async move {
        let mut events = source.events().await;
        let mut notifier = Notifier::default();
        let mut summaries: HashMap<GroupId, (Instant, GroupSummary)> = HashMap::new();
        while let Some(event) = events.next().await {
            let Event::Message { group, message, .. } = event else {
                continue;
            };
            let now = Instant::now();
            let summary = match summaries.get(&group) {
                Some((at, summary)) if now.duration_since(*at) < SUMMARY_TTL => summary.clone(),
                _ => match source.group(group).await {
                    Ok(summary) => {
                        summaries.insert(group, (now, summary.clone()));
                        summary
                    }
                    Err(_) => continue,
                },
            };
            let in_front = app
                .get_webview_window(MAIN)
                .and_then(|w| w.is_focused().ok())
                .unwrap_or(false);
            let Some(note) = notifier.consider(&summary, &message, in_front, now) else {
                continue;
            };
            let shown = app
                .notification()
                .builder()
                .title(&note.title)
                .body(&note.body)
                .show();
            if let Err(e) = shown {
                eprintln!("plenum-desktop: cannot show a notification: {e}");
            }
        }
    });
}

/// SIGTERM or Ctrl-C (a logout, `kill`, a test driver) exits the way closing the
/// window does, so the node closes its store and removes `node.json`.
fn exit_on_signal(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut terminate) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        // Stopped here: the exit request below may not reach the event loop's Exit.
        plenum_shell::stop(&app).await;
        app.exit(0);
    });
}

/// `plenum://join/…` links among the arguments.
fn join_links(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .filter(|a| a.starts_with("plenum://join/"))
        .collect()
}

/// A comma-separated list of multiaddrs from the environment: `PLENUM_LISTEN` is the
/// desktop's `--listen` (by default every interface, as for `plenum up`),
/// `PLENUM_RELAYS` its `--relay`.
fn list_from_env(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Queues links for the page and delivers them if it is there.
fn hand_over(app: &AppHandle, links: Vec<String>) {
    if links.is_empty() {
        return;
    }
    if let Ok(mut pending) = app.state::<PendingLinks>().0.lock() {
        pending.extend(links);
    }
    if let Some(window) = app.get_webview_window(MAIN) {
        deliver(app, &window);
    }
}

/// Gives the page the links waiting for it: the UI opens its join form with each
/// (`plenum-join` events; see ui/src/lib/links.ts). Works for the app's own page and
/// for an attached node's alike, as it needs no IPC permission.
fn deliver(app: &AppHandle, window: &WebviewWindow) {
    let links: Vec<String> = match app.state::<PendingLinks>().0.lock() {
        Ok(mut pending) => pending.drain(..).collect(),
        Err(_) => return,
    };
    for link in links {
        let Ok(quoted) = serde_json::to_string(&link) else {
            continue;
        };
        let script = format!(
            "(window.__plenumJoinLinks = window.__plenumJoinLinks || []).push({quoted}); window.dispatchEvent(new Event('plenum-join'));"
        );
        if let Err(e) = window.eval(script) {
            eprintln!("plenum-desktop: cannot hand the link to the page: {e}");
        }
    }
}
