//! Plenum's engine benchmarks, against the budgets of DESIGN §6.
//!
//! Run all: `cargo bench -p plenum-core --bench engine`; one: append `-- chat`,
//! `-- open` or `-- pad`. Figures and their interpretation: `docs/benchmarks.md`.
//! Everything runs against real redb files in a temporary directory, with every write
//! durable (fsync) as in normal use.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::ReadDoc;
use automerge::transaction::Transactable;
use plenum_core::api::{ApiError, Request, Response};
use plenum_core::{Node, NodeConfig, Protection, Unlock};

#[path = "support/trace.rs"]
mod trace;

type Runtime = tokio::runtime::Runtime;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.first().map(String::as_str) == Some("open-child") {
        open_child(Path::new(&args[1]));
        return;
    }
    let which = args.first().cloned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run = |name: &str| which.as_deref().is_none_or(|w| w == name);
    if run("chat") {
        chat_append(&rt);
    }
    if run("open") {
        open_profile(&rt);
    }
    if run("pad") {
        pad_trace(&rt);
    }
    if run("kdf") {
        kdf();
    }
}

/// The passphrase KDF is calibrated on the device to take about one second.
fn kdf() {
    let started = Instant::now();
    let params =
        plenum_core::crypto::KdfParams::calibrate(Duration::from_secs(1)).expect("calibrate");
    let calibration = started.elapsed();
    let started = Instant::now();
    params
        .derive(b"correct horse battery staple", &[7; 16])
        .expect("derive");
    println!(
        "passphrase KDF: calibrated in {:.0} ms to Argon2id m={} MiB t={} p={}; one unlock takes {:.0} ms",
        calibration.as_secs_f64() * 1e3,
        params.m_cost / 1024,
        params.t_cost,
        params.p_cost,
        started.elapsed().as_secs_f64() * 1e3
    );
}

struct Profile {
    _root: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
}

fn new_profile() -> (Profile, Node) {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    let key = root.path().join("storage.key");
    let node = Node::init(
        &NodeConfig::new(&data),
        "Bench",
        Protection::KeyFile(key.clone()),
    )
    .expect("init");
    (
        Profile {
            _root: root,
            data,
            key,
        },
        node,
    )
}

fn call(rt: &Runtime, node: &Node, request: Request) -> Response {
    rt.block_on(node.call(request)).expect("request")
}

fn group(rt: &Runtime, node: &Node) -> String {
    match call(
        rt,
        node,
        Request::GroupCreate {
            name: "Bench".into(),
        },
    ) {
        Response::Group(g) => g.id.to_string(),
        other => panic!("unexpected {other:?}"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3
}

fn send(group: &str, i: usize) -> Request {
    Request::ChatSend {
        group: group.into(),
        channel: None,
        text: format!("message number {i}"),
        reply_to: None,
    }
}

/// Pipelines `requests`, keeping at most `depth` awaiting durability, as a WebSocket
/// connection does: each request is applied by `call` in order, and its answer is
/// awaited later.
fn pipelined(rt: &Runtime, node: &Node, requests: impl Iterator<Item = Request>, depth: usize) {
    rt.block_on(async {
        let mut in_flight = VecDeque::new();
        for request in requests {
            if in_flight.len() >= depth {
                let oldest: std::pin::Pin<Box<dyn Future<Output = Result<Response, ApiError>>>> =
                    in_flight.pop_front().expect("non-empty");
                oldest.await.expect("request");
            }
            in_flight.push_back(Box::pin(node.call(request)));
        }
        for pending in in_flight {
            pending.await.expect("request");
        }
    });
}

fn chat_append(rt: &Runtime) {
    const N: usize = 10_000;
    let (_profile, node) = new_profile();
    let group = group(rt, &node);
    let mut latencies = Vec::with_capacity(N);
    let started = Instant::now();
    for i in 0..N {
        let t = Instant::now();
        call(rt, &node, send(&group, i));
        latencies.push(t.elapsed());
    }
    let total = started.elapsed();
    latencies.sort();
    println!(
        "chat append, one durable call at a time: {N} messages in {:.2} s ({:.0}/s); per call p50 {:.3} ms, p99 {:.3} ms",
        total.as_secs_f64(),
        N as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    let started = Instant::now();
    pipelined(rt, &node, (N..2 * N).map(|i| send(&group, i)), 256);
    let total = started.elapsed();
    println!(
        "chat append, pipelined (256 in flight, group commit): {N} messages in {:.2} s ({:.0}/s)",
        total.as_secs_f64(),
        N as f64 / total.as_secs_f64()
    );
}

fn open_profile(rt: &Runtime) {
    let (profile, node) = new_profile();
    let group = group(rt, &node);
    pipelined(rt, &node, (0..10_000).map(|i| send(&group, i)), 256);
    // Directory + one chat segment + 49 pads + 49 boards = 100 documents.
    for i in 0..49 {
        call(
            rt,
            &node,
            Request::PadCreate {
                group: group.clone(),
                name: format!("pad {i}"),
            },
        );
        let text = format!(
            "# Pad {i}\n\n{}\n",
            "Some notes from the meeting. ".repeat(20)
        );
        call(
            rt,
            &node,
            Request::PadWrite {
                group: group.clone(),
                pad: format!("pad {i}"),
                text,
            },
        );
        let board = format!("board {i}");
        call(
            rt,
            &node,
            Request::BoardCreate {
                group: group.clone(),
                name: board.clone(),
            },
        );
        call(
            rt,
            &node,
            Request::ColumnAdd {
                group: group.clone(),
                board: board.clone(),
                title: "To do".into(),
            },
        );
        for c in 0..5 {
            let title = format!("card {c}");
            call(
                rt,
                &node,
                Request::CardAdd {
                    group: group.clone(),
                    board: board.clone(),
                    column: "To do".into(),
                    title,
                },
            );
        }
    }
    drop(node);
    // A fresh process, so the resident memory is the node's and not this benchmark's.
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "open-child",
            profile.data.to_str().expect("utf-8 path"),
            profile.key.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn open_child(data: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let node = Node::open(&NodeConfig::new(data), Unlock::Auto).expect("open");
    let groups = call(&rt, &node, Request::GroupList);
    let ready = started.elapsed();
    let Response::Groups(groups) = groups else {
        panic!("groups")
    };
    let rss_ready = rss_mb();
    let t = Instant::now();
    let Response::Messages(log) = call(
        &rt,
        &node,
        Request::ChatLog {
            group: groups[0].id.to_string(),
            channel: None,
            before: None,
            limit: None,
        },
    ) else {
        panic!("messages")
    };
    let log_time = t.elapsed();
    println!(
        "open a profile (100 documents, {} messages), key file, no KDF: ready (open + group list) in {:.1} ms, RSS {:.1} MB",
        log.len(),
        ready.as_secs_f64() * 1e3,
        rss_ready
    );
    println!(
        "  then the full chat log of {} messages in {:.1} ms; RSS after {:.1} MB",
        log.len(),
        log_time.as_secs_f64() * 1e3,
        rss_mb()
    );
}

fn pad_trace(rt: &Runtime) {
    let trace = trace::load();
    let patches: usize = trace.txns.iter().map(Vec::len).sum();

    // Bare Automerge: the same splices, one commit per trace transaction, in memory.
    let started = Instant::now();
    let mut doc = plenum_core::docs::new_doc(automerge::ActorId::random());
    let text = doc
        .put_object(automerge::ROOT, "text", automerge::ObjType::Text)
        .expect("text");
    for txn in &trace.txns {
        for (pos, del, ins) in txn {
            doc.splice_text(&text, *pos, *del as isize, ins)
                .expect("splice");
        }
        doc.commit();
    }
    let bare = started.elapsed();
    assert_eq!(
        doc.text(&text).expect("text"),
        trace.end,
        "bare replay diverged"
    );

    // Through the Node API: sealed, signed, encrypted and durably stored, pipelined as
    // an editor's WebSocket would send them, so group commit batches the fsyncs.
    let (_profile, node) = new_profile();
    let group = group(rt, &node);
    let Response::Pad(pad) = call(
        rt,
        &node,
        Request::PadCreate {
            group: group.clone(),
            name: "paper".into(),
        },
    ) else {
        panic!("pad")
    };
    let pad_id = pad.id.to_string();
    let started = Instant::now();
    let requests = trace.requests(&group, &pad_id);
    pipelined(rt, &node, requests, 1024);
    let through_node = started.elapsed();
    let Response::Pad(done) = call(rt, &node, Request::PadGet { group, pad: pad_id }) else {
        panic!("pad")
    };
    assert_eq!(done.text, trace.end, "node replay diverged");
    println!(
        "pad trace automerge-paper ({} transactions, {patches} patches): bare Automerge {:.2} s, through the Node API {:.2} s = {:.2}x",
        trace.txns.len(),
        bare.as_secs_f64(),
        through_node.as_secs_f64(),
        through_node.as_secs_f64() / bare.as_secs_f64()
    );
}
