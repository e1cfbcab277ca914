//! Benchmark of importing a large WhatsApp chat: a generated export of 100,000
//! messages (20 authors, about 100 messages a day over three years, some multi-line,
//! some media) parsed and imported through the public `Node` API into a real store,
//! durably, then imported again (every message already there).
//!
//! Run: `cargo bench -p plenum-core --bench import`. Figures: `docs/benchmarks.md`,
//! section "Import".

use std::fmt::Write;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use plenum_core::api::{Request, Response};
use plenum_core::import::{ImportSource, whatsapp};
use plenum_core::{Node, NodeConfig, Protection, Unlock};

const MESSAGES: usize = 100_000;

/// A WhatsApp Android export (day-first dates, 24-hour clock) of `n` messages.
fn export(n: usize) -> String {
    const NAMES: [&str; 20] = [
        "Ana", "Ben", "Carla", "Dmitri", "Esra", "Femi", "Gül", "Hiro", "Ines", "Jonas", "Kemal",
        "Lena", "Marta", "Nour", "Olu", "Pia", "Quentin", "Rosa", "Sami", "Tuan",
    ];
    const WORDS: [&str; 12] = [
        "meeting", "rent", "landlord", "flyers", "Thursday", "assembly", "repairs", "strike",
        "heating", "lawyer", "snacks", "agenda",
    ];
    let mut out = String::with_capacity(n * 70);
    let mut x: u64 = 42;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    for i in 0..n {
        let day = i / 100;
        let (y, m, d) = (2021 + day / 360, 1 + (day % 360) / 30, 1 + day % 30 % 28);
        let minute = (i % 100) * 14 / 10;
        let (hh, mm) = (8 + minute / 60, minute % 60);
        let who = NAMES[(next() % 20) as usize];
        let _ = write!(out, "{d:02}/{m:02}/{y}, {hh:02}:{mm:02} - {who}: ");
        match next() % 20 {
            0 => out.push_str("<Media omitted>"),
            1 => out.push_str("first line\nsecond line of a longer message"),
            _ => {
                for w in 0..(3 + next() % 12) {
                    if w > 0 {
                        out.push(' ');
                    }
                    out.push_str(WORDS[(next() % 12) as usize]);
                }
            }
        }
        out.push('\n');
    }
    out
}

/// The process's peak resident memory so far, in MB (Linux).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let text = export(MESSAGES);
    println!(
        "export: {MESSAGES} messages, {:.1} MB",
        text.len() as f64 / 1e6
    );
    let started = Instant::now();
    let chat = whatsapp::parse(text.as_bytes(), "WhatsApp Chat with Bench.txt").expect("parse");
    println!(
        "parse only: {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(chat.messages.len(), MESSAGES);
    drop(chat);

    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::init(
        &NodeConfig::new(dir.path().join("data")),
        "Bench",
        Protection::KeyFile(dir.path().join("key")),
    )
    .expect("init");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Response::Group(group) = rt
        .block_on(node.call(Request::GroupCreate {
            name: "Bench".into(),
        }))
        .expect("group")
    else {
        panic!("group create")
    };
    let request = Request::Import {
        group: group.id.to_string(),
        source: ImportSource::Whatsapp,
        file_name: "WhatsApp Chat with Bench.txt".into(),
        data: B64.encode(text.as_bytes()),
        target: None,
        chat: None,
        utc_offset_minutes: None,
    };
    drop(text);
    let before = peak_rss_mb();
    for run in ["first import", "again (all already there)"] {
        let started = Instant::now();
        let Response::Imported(report) = rt.block_on(node.call(request.clone())).expect("import")
        else {
            panic!("import")
        };
        println!(
            "{run}: {:.2} s, {} added, {} already there; peak RSS {:.0} MB (before imports {before:.0} MB)",
            started.elapsed().as_secs_f64(),
            report.added,
            report.already,
            peak_rss_mb()
        );
    }
    // Then the channel's last page, as the UI asks for it on opening the channel and
    // again on each new message: first (after the app starts again, so nothing of the
    // channel is in memory), again, and after one more message.
    drop(node);
    let node =
        Node::open(&NodeConfig::new(dir.path().join("data")), Unlock::Auto).expect("open again");
    let last_page = |what: &str| {
        let started = Instant::now();
        let Response::Messages(log) = rt
            .block_on(node.call(Request::ChatLog {
                group: group.id.to_string(),
                channel: Some("Bench".into()),
                before: None,
                limit: Some(50),
            }))
            .expect("log")
        else {
            panic!("log")
        };
        assert_eq!(log.len(), 50);
        println!(
            "then the channel's last 50 messages, {what}: {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    };
    last_page("first");
    last_page("again");
    rt.block_on(node.call(Request::ChatSend {
        group: group.id.to_string(),
        channel: Some("Bench".into()),
        text: "one more".into(),
        reply_to: None,
    }))
    .expect("send");
    last_page("after one more message");
    println!(
        "peak RSS after reading the channel: {:.0} MB",
        peak_rss_mb()
    );
    let store: u64 = std::fs::read_dir(dir.path().join("data"))
        .expect("data dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("store on disk: {:.1} MB", store as f64 / 1e6);
}
