//! Plenum's network benchmarks on loopback, against the budgets of DESIGN §6.
//!
//! Run: `cargo bench -p plenum-core --bench net` (all), or append `-- latency`,
//! `-- catchup`, `-- catchup-pad` or `-- catchup-relay`. Two in-process nodes on 127.0.0.1 (TCP, Noise, Yamux), mDNS off, real
//! redb stores in a temporary directory, every write durable. Figures and their
//! interpretation: `docs/benchmarks.md`, section "Network".

use std::io::Write;
use std::time::{Duration, Instant};

use plenum_core::api::{Event, Request, Response};
use plenum_core::net::{NetConfig, Network, RelayConfig, RelayServer, StoreLimits};
use plenum_core::{Node, NodeConfig, Protection};
use tokio_stream::StreamExt;

const MESSAGES: usize = 1_000;
const CATCH_UP: usize = 10_000;
const WAIT: Duration = Duration::from_secs(120);

#[path = "support/trace.rs"]
mod trace;

fn main() {
    let which: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run = |name: &str| which.as_deref().is_none_or(|w| w == name);
    if run("latency") {
        rt.block_on(latency());
    }
    if run("catchup") {
        rt.block_on(catch_up());
    }
    if run("catchup-pad") {
        rt.block_on(catch_up_pad());
    }
    if run("catchup-relay") {
        rt.block_on(catch_up_relay());
    }
}

/// A node for `name` in `dir`: a new profile, or the one there, opened again.
async fn spawn(dir: &tempfile::TempDir, name: &str) -> Network {
    let config = NodeConfig::new(dir.path().join(name));
    let node = if config.data_dir.exists() {
        Node::open(&config, plenum_core::Unlock::Auto).expect("open")
    } else {
        Node::init(
            &config,
            name,
            Protection::KeyFile(dir.path().join(format!("{name}.key"))),
        )
        .expect("init")
    };
    let mut net = NetConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")], false);
    net.catch_up_every = Duration::from_secs(2);
    Network::start(node, net).await.expect("network")
}

/// Polls `net`'s chat log of `group` until it holds `count` messages (bounded by
/// [`WAIT`]); returns how many it holds.
async fn wait_for_messages(net: &Network, group: &str, count: usize) -> usize {
    let deadline = Instant::now() + WAIT;
    loop {
        let Ok(Response::Messages(m)) = net
            .call(Request::ChatLog {
                group: group.to_owned(),
                channel: None,
                before: None,
                limit: None,
            })
            .await
        else {
            panic!("no log");
        };
        if m.len() >= count || Instant::now() >= deadline {
            return m.len();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes [`CATCH_UP`] chat messages to `group` on `a`, 256 in flight at a time.
async fn write_history(a: &Network, group: &str) {
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    for i in 0..CATCH_UP {
        in_flight.push(a.call(send(group, format!("history message number {i}"))));
        if in_flight.len() >= 256 {
            in_flight.next().await.expect("one").expect("send");
        }
    }
    while let Some(done) = in_flight.next().await {
        done.expect("send");
    }
}

/// Whether `relay` held every envelope of `group` this node holds, at the last
/// comparison.
async fn relay_holds_all(net: &Network, group: &str) -> bool {
    let Ok(Response::Status(status)) = net.call(Request::Status { group: None }).await else {
        return false;
    };
    status.relays.iter().any(|r| {
        r.stores
            .iter()
            .any(|s| s.group.to_string() == group && s.holds_all_mine)
    })
}

async fn wait_relay_holds_all(net: &Network, group: &str) -> Duration {
    let started = Instant::now();
    while !relay_holds_all(net, group).await {
        assert!(started.elapsed() < WAIT, "the relay never held everything");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// Catch-up of 10,000 messages through a blind relay: B joins and goes offline, A
/// writes 10,000 messages, the relay stores them and A goes offline, and B, back,
/// gets them from the relay's store with nobody else online.
async fn catch_up_relay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = StoreLimits {
        group_bytes: 1 << 30,
        ..StoreLimits::default()
    };
    let mut config = RelayConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")]);
    config.store = Some((dir.path().join("relay"), limits));
    let relay = RelayServer::start(plenum_core::crypto::random_array(), config)
        .await
        .expect("relay");
    let relay_address = relay.addresses()[0].to_string();
    let a = spawn(&dir, "a").await;
    let (group, link) = group_and_link(&a).await;
    a.call(Request::GroupSetRelays {
        group: group.clone(),
        relays: vec![relay_address.clone()],
    })
    .await
    .expect("set relays");
    let b = spawn(&dir, "b").await;
    b.join(&link, WAIT, |_| {}).await.expect("join");
    wait_relay_holds_all(&b, &group).await;
    b.shutdown().await;
    drop(b);

    let started = Instant::now();
    write_history(&a, &group).await;
    let written = started.elapsed();
    let stored = wait_relay_holds_all(&a, &group).await;
    println!(
        "catchup-relay: A wrote {CATCH_UP} messages in {:.2} s; the relay held them all {:.2} s later",
        written.as_secs_f64(),
        stored.as_secs_f64()
    );
    a.shutdown().await;
    drop(a);

    let lo_before = loopback_bytes();
    let started = Instant::now();
    let b = spawn(&dir, "b").await;
    let count = wait_for_messages(&b, &group, CATCH_UP).await;
    let all = started.elapsed();
    let moved = loopback_moved_since(lo_before);
    println!(
        "catchup-relay: B, alone with the relay, held {count}/{CATCH_UP} messages {:.3} s after starting; {moved}",
        all.as_secs_f64()
    );
    if let Ok(Response::Status(status)) = b.call(Request::Status { group: None }).await {
        println!("catchup-relay: B's catch-up: {:?}", status.catch_up);
    }
    assert_eq!(count, CATCH_UP, "B did not get everything within {WAIT:?}");
    b.shutdown().await;
    relay.shutdown().await;
}

async fn group_and_link(a: &Network) -> (String, String) {
    let Ok(Response::Group(group)) = a
        .call(Request::GroupCreate {
            name: "Bench".into(),
        })
        .await
    else {
        panic!("no group");
    };
    let Ok(Response::Invite(invite)) = a
        .call(Request::InviteCreate {
            group: group.id.to_string(),
            uses: Some(5),
            expires_in_ms: None,
        })
        .await
    else {
        panic!("no invite");
    };
    (group.id.to_string(), invite.link.expect("link"))
}

fn send(group: &str, text: String) -> Request {
    Request::ChatSend {
        group: group.into(),
        channel: None,
        text,
        reply_to: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Send → `Event::Message` on the peer, one message at a time; beside it the disk's
/// bare fsync in the same directory.
async fn latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = spawn(&dir, "a").await;
    let b = spawn(&dir, "b").await;
    let (group, link) = group_and_link(&a).await;
    b.join(&link, WAIT, |_| {}).await.expect("join");
    let mut events = Box::pin(b.events());
    // Warm up: gossip needs its mesh before messages flow live.
    let deadline = Instant::now() + WAIT;
    'warm: loop {
        assert!(Instant::now() < deadline, "no live message within {WAIT:?}");
        a.call(send(&group, "warm-up".into())).await.expect("send");
        let until = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(event)) = tokio::time::timeout_at(until, events.next()).await {
            if let Event::Message { message, .. } = event
                && message.message.text == "warm-up"
            {
                break 'warm;
            }
        }
    }
    let mut send_done = Vec::with_capacity(MESSAGES);
    let mut samples = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let text = format!("message {i}");
        let started = Instant::now();
        a.call(send(&group, text.clone())).await.expect("send");
        send_done.push(started.elapsed());
        let arrived = tokio::time::timeout(WAIT, async {
            while let Some(event) = events.next().await {
                if let Event::Message { message, .. } = event
                    && message.message.text == text
                {
                    return;
                }
            }
        })
        .await;
        assert!(
            arrived.is_ok(),
            "message {i} did not arrive within {WAIT:?}"
        );
        samples.push(started.elapsed());
    }
    samples.sort();
    send_done.sort();
    let fsync = fsync_p50(dir.path());
    println!(
        "latency: {MESSAGES} messages, send → peer's Event::Message p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; \
         the send call alone p50 {:.3} ms, p99 {:.3} ms; bare fsync here p50 {:.3} ms",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(samples[samples.len() - 1]),
        ms(percentile(&send_done, 0.5)),
        ms(percentile(&send_done, 0.99)),
        ms(fsync),
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// `File::sync_all` after a small write, 200 times, in `dir`.
fn fsync_p50(dir: &std::path::Path) -> Duration {
    let mut file = std::fs::File::create(dir.join("fsync-probe")).expect("probe");
    let mut samples = Vec::new();
    for _ in 0..200 {
        file.write_all(&[7u8; 128]).expect("write");
        let started = Instant::now();
        file.sync_all().expect("sync");
        samples.push(started.elapsed());
    }
    samples.sort();
    percentile(&samples, 0.5)
}

/// Bytes sent on the loopback interface so far (whole machine; includes TCP/IP headers).
fn loopback_bytes() -> Option<u64> {
    let dev = std::fs::read_to_string("/proc/net/dev").ok()?;
    let line = dev.lines().find(|l| l.trim_start().starts_with("lo:"))?;
    line.split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What went over loopback since `before` (a [`loopback_bytes`] reading), for people.
fn loopback_moved_since(before: Option<u64>) -> String {
    match (before, loopback_bytes()) {
        (Some(before), Some(after)) => format!(
            "{:.0} KB on loopback (whole machine, TCP/IP headers included)",
            (after - before) as f64 / 1e3
        ),
        _ => "bytes not measured (/proc/net/dev unreadable)".into(),
    }
}

/// A has 10k messages; B joins; time until B holds all of them.
async fn catch_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = spawn(&dir, "a").await;
    let (group, link) = group_and_link(&a).await;
    let started = Instant::now();
    write_history(&a, &group).await;
    println!(
        "catchup: A wrote {CATCH_UP} messages in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let b = spawn(&dir, "b").await;
    let lo_before = loopback_bytes();
    let started = Instant::now();
    b.join(&link, WAIT, |_| {}).await.expect("join");
    let joined = started.elapsed();
    let count = wait_for_messages(&b, &group, CATCH_UP).await;
    let all = started.elapsed();
    let moved = loopback_moved_since(lo_before);
    println!(
        "catchup: B joined in {:.3} s and held {count}/{CATCH_UP} messages after {:.3} s; {moved}",
        joined.as_secs_f64(),
        all.as_secs_f64()
    );
    assert_eq!(count, CATCH_UP, "B did not get everything within {WAIT:?}");
    println!("catchup: {}", snapshot_sizes(&a, &group).await);
    if let Ok(Response::Status(status)) = b.call(Request::Status { group: None }).await {
        println!(
            "catchup: B's catch-up after the welcome: {:?}",
            status.catch_up
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// What snapshots of the group's documents on A weigh: the compressed Automerge
/// saves plus, per author, its covered envelope — the floor for what catch-up moves.
async fn snapshot_sizes(a: &Network, group: &str) -> String {
    let Ok(Response::Status(status)) = a
        .call(Request::Status {
            group: Some(group.to_owned()),
        })
        .await
    else {
        panic!("no status");
    };
    let group = &status.groups[0];
    let docs: std::collections::BTreeSet<_> = group
        .peers
        .iter()
        .flat_map(|p| p.docs.iter().map(|d| d.doc))
        .collect();
    let mut total = 0;
    let mut count = 0;
    for doc in docs {
        if let Some(snapshot) = a
            .node()
            .durable_snapshot(&group.id, &doc)
            .expect("snapshot")
        {
            total += snapshot.envelope.len();
            count += 1;
        }
    }
    format!(
        "A's {count} snapshot envelopes (saves + covered envelopes) take {:.0} KB",
        total as f64 / 1e3
    )
}

/// A replays the automerge-paper trace into a pad; B joins; time until B's pad holds
/// the final text.
async fn catch_up_pad() {
    let trace = trace::load();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = spawn(&dir, "a").await;
    let (group, link) = group_and_link(&a).await;
    let Ok(Response::Pad(pad)) = a
        .call(Request::PadCreate {
            group: group.clone(),
            name: "paper".into(),
        })
        .await
    else {
        panic!("no pad");
    };
    let pad = pad.id.to_string();
    let started = Instant::now();
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    for request in trace.requests(&group, &pad) {
        in_flight.push(a.call(request));
        if in_flight.len() >= 1024 {
            in_flight.next().await.expect("one").expect("splice");
        }
    }
    while let Some(done) = in_flight.next().await {
        done.expect("splice");
    }
    println!(
        "catchup-pad: A replayed {} transactions of automerge-paper in {:.2} s",
        trace.txns.len(),
        started.elapsed().as_secs_f64()
    );
    let b = spawn(&dir, "b").await;
    let lo_before = loopback_bytes();
    let started = Instant::now();
    b.join(&link, WAIT, |_| {}).await.expect("join");
    let joined = started.elapsed();
    let deadline = Instant::now() + WAIT;
    let complete = loop {
        if let Ok(Response::Pad(view)) = b
            .call(Request::PadGet {
                group: group.clone(),
                pad: pad.clone(),
            })
            .await
            && view.text == trace.end
        {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all = started.elapsed();
    let moved = loopback_moved_since(lo_before);
    println!(
        "catchup-pad: B joined in {:.3} s and held the final text after {:.3} s; {moved}",
        joined.as_secs_f64(),
        all.as_secs_f64()
    );
    assert!(
        complete,
        "B's pad did not reach the final text within {WAIT:?}"
    );
    println!("catchup-pad: {}", snapshot_sizes(&a, &group).await);
    a.shutdown().await;
    b.shutdown().await;
}
