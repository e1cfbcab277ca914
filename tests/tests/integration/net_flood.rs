//! A hostile peer floods an honest node for 30 s while two honest nodes keep chatting.
//!
//! The attacker is a plain libp2p node, not a member. It speaks `/plenum/sync/1` with
//! frames it writes byte by byte (garbage after a valid length prefix, a length prefix
//! over the limit, requests claiming huge vectors, a full megabyte of proofs), and
//! publishes garbage by gossipsub on the topics the honest node subscribed to (a
//! gossipsub peer announces its subscriptions to every connection, so an outsider learns
//! the topic names though it cannot derive them). Beside it: raw TCP garbage at the
//! listen port, and forged, replayed and random envelopes fed to `Node::receive` at
//! full speed. The honest chat must keep flowing, and memory stay bounded.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, MessageAuthenticity, TopicHash, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use tokio::io::AsyncWriteExt as _;

use super::net_harness::{TestNode, WAIT, found_group, peak_rss_kib};

const FLOOD: Duration = Duration::from_secs(30);
/// The whole test process (three nodes, the attacker, the tests running beside it).
const PEAK_RSS_LIMIT_KIB: u64 = 400 * 1024;
const MAX_REQUEST: usize = 1 << 20;

/// Writes the attacker's bytes as they are and reads whatever comes back.
#[derive(Clone, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Vec<u8>> {
        Err(io::Error::other("the attacker serves nothing"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        io.take(1 << 16).read_to_end(&mut buf).await?;
        Ok(buf)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&request).await?;
        io.close().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()> {
        Ok(())
    }
}

#[derive(NetworkBehaviour)]
struct Attacker {
    sync: request_response::Behaviour<RawCodec>,
    gossip: gossipsub::Behaviour,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn random(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    getrandom::fill(&mut out).expect("random");
    out
}

/// The attacker's requests, in turn.
fn hostile_request(i: u64) -> Vec<u8> {
    match i % 8 {
        // Garbage after a valid length prefix.
        0 => frame(&random(4096)),
        // A length prefix far over the limit, then some of it.
        1 => {
            let mut out = u32::MAX.to_be_bytes().to_vec();
            out.extend(random(64 * 1024));
            out
        }
        // Just over the limit.
        2 => {
            let mut out = ((MAX_REQUEST + 1) as u32).to_be_bytes().to_vec();
            out.extend(random(MAX_REQUEST + 1));
            out
        }
        // A valid hello (the node computes proofs for every group it is in).
        3 => {
            let mut body = vec![0u8];
            body.extend(random(32));
            frame(&body)
        }
        // Prove with a full megabyte of proofs (postcard: variant 1, varint length).
        4 => {
            let n: usize = (MAX_REQUEST - 8) / 32;
            let mut body = vec![1u8];
            let mut v = n;
            while v >= 0x80 {
                body.push((v as u8) | 0x80);
                v >>= 7;
            }
            body.push(v as u8);
            body.extend(random(n * 32));
            frame(&body)
        }
        // Fetch for a random group claiming four billion wants, sending none.
        5 => {
            let mut body = vec![3u8];
            body.extend(random(16));
            body.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
            frame(&body)
        }
        // Summary of a random group (never proven).
        6 => {
            let mut body = vec![2u8];
            body.extend(random(48));
            frame(&body)
        }
        // A join request that is garbage inside.
        _ => {
            let mut body = vec![5u8];
            body.extend(random(2048));
            frame(&body)
        }
    }
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    answered: AtomicU64,
    failed: AtomicU64,
    gossip_published: AtomicU64,
    dropped_by_victim: AtomicU64,
    topics_learned: AtomicU64,
    tcp_garbage_bytes: AtomicU64,
    envelopes_fed: AtomicU64,
    envelopes_accepted: AtomicU64,
}

async fn run_attacker(target: Multiaddr, victim: PeerId, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| {
            let gossip = gossipsub::Behaviour::new(
                MessageAuthenticity::Anonymous,
                gossipsub::ConfigBuilder::default()
                    .validation_mode(ValidationMode::Anonymous)
                    .max_transmit_size(2 << 20)
                    .build()
                    .expect("gossip config"),
            )
            .expect("gossip");
            Attacker {
                sync: request_response::Behaviour::with_codec(
                    RawCodec,
                    [(
                        StreamProtocol::new("/plenum/sync/1"),
                        ProtocolSupport::Outbound,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(5))
                        .with_max_concurrent_streams(256),
                ),
                gossip,
            }
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm.dial(target.clone()).expect("dial");
    let mut topics: Vec<TopicHash> = Vec::new();
    let mut in_flight = 0u64;
    let mut i = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    while !stop.load(Ordering::Relaxed) {
        tokio::select! {
            _ = tick.tick() => {
                let connected = swarm.is_connected(&victim);
                if !connected {
                    let _ = swarm.dial(target.clone());
                    continue;
                }
                while in_flight < 32 {
                    swarm.behaviour_mut().sync.send_request(&victim, hostile_request(i));
                    i += 1;
                    in_flight += 1;
                    tally.requests.fetch_add(1, Ordering::Relaxed);
                }
                for topic in &topics {
                    let data = if i.is_multiple_of(2) { random(512) } else { random(900 * 1024) };
                    if swarm.behaviour_mut().gossip.publish(topic.clone(), data).is_ok() {
                        tally.gossip_published.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(AttackerEvent::Sync(request_response::Event::Message { .. })) => {
                    in_flight = in_flight.saturating_sub(1);
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                }
                SwarmEvent::Behaviour(AttackerEvent::Sync(request_response::Event::OutboundFailure { .. })) => {
                    in_flight = in_flight.saturating_sub(1);
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                }
                SwarmEvent::Behaviour(AttackerEvent::Gossip(gossipsub::Event::Subscribed { topic, .. }))
                    if !topics.contains(&topic) =>
                {
                    topics.push(topic);
                    tally.topics_learned.fetch_add(1, Ordering::Relaxed);
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if peer_id == victim => {
                    tally.dropped_by_victim.fetch_add(1, Ordering::Relaxed);
                    in_flight = 0;
                }
                _ => {}
            }
        }
    }
}

fn tcp_port(addr: &Multiaddr) -> u16 {
    addr.iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP address")
}

async fn raw_tcp_garbage(port: u16, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(Ok(mut socket)) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Sometimes a valid multistream header first, so the garbage lands a layer deeper.
        let _ = socket
            .write_all(b"\x13/multistream/1.0.0\n\x07/noise\n")
            .await;
        let garbage = random(64 * 1024);
        if let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_secs(1), socket.write_all(&garbage)).await
        {
            tally
                .tcp_garbage_bytes
                .fetch_add(garbage.len() as u64, Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_flood_from_a_hostile_peer_does_not_stop_honest_chat() {
    let a = TestNode::spawn("Ana").await;
    let b = TestNode::spawn("Ben").await;
    let (group, link) = found_group(&a).await;
    let mut outgoing = Box::pin(b.network.node().outgoing());
    b.network
        .join(&link, WAIT, |_| {})
        .await
        .expect("Ben joins");
    b.send(&group, "a real envelope for the forger").await;
    a.wait_for_text(&group, "a real envelope for the forger")
        .await;
    let real = tokio::time::timeout(WAIT, outgoing.next())
        .await
        .expect("Ben sealed an envelope")
        .expect("outgoing");
    let rss_before = peak_rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut attacks = Vec::new();
    attacks.push(tokio::spawn(run_attacker(
        a.addr(),
        a.network.peer_id(),
        stop.clone(),
        tally.clone(),
    )));
    attacks.push(tokio::spawn(raw_tcp_garbage(
        tcp_port(&a.addr()),
        stop.clone(),
        tally.clone(),
    )));
    {
        let node = a.network.node().clone();
        let (stop, tally) = (stop.clone(), tally.clone());
        attacks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let bytes = match i % 3 {
                    0 => real.clone(),
                    1 => {
                        let mut forged = real.clone();
                        let at = (i as usize * 7919) % forged.len();
                        forged[at] ^= 0x5a;
                        forged
                    }
                    _ => random(1 + (i as usize % 4096)),
                };
                i += 1;
                // At the pace a fast LAN link delivers small envelopes (5,000 a second),
                // not as fast as this process can call itself: a flood arrives over the
                // network, and this feeder shares the test's two cores with both nodes.
                if i.is_multiple_of(50) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                tally.envelopes_fed.fetch_add(1, Ordering::Relaxed);
                if let Ok(plenum_core::Ingested::Applied(_)) = node.receive(&bytes).await {
                    tally.envelopes_accepted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let started = tokio::time::Instant::now();
    let mut sent: u32 = 0;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < FLOOD {
        let (from, to) = if sent.is_multiple_of(2) {
            (&b, &a)
        } else {
            (&a, &b)
        };
        let text = format!("honest message {sent}");
        let t0 = tokio::time::Instant::now();
        from.send(&group, &text).await;
        to.wait_for_text(&group, &text).await;
        slowest = slowest.max(t0.elapsed());
        sent += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for attack in attacks {
        let _ = tokio::time::timeout(Duration::from_secs(10), attack).await;
    }
    let peak = peak_rss_kib();
    let t = &tally;
    println!(
        "flood {FLOOD:?}: {sent} honest messages delivered, slowest {slowest:?}; attacker sent \
         {} sync requests ({} answered, {} failed), learned {} topics, published {} gossip \
         messages, was dropped by the victim {} times; {} KiB of raw TCP garbage; {} envelopes \
         fed to receive ({} accepted); peak RSS of the test process {} MiB (before the flood {} MiB)",
        t.requests.load(Ordering::Relaxed),
        t.answered.load(Ordering::Relaxed),
        t.failed.load(Ordering::Relaxed),
        t.topics_learned.load(Ordering::Relaxed),
        t.gossip_published.load(Ordering::Relaxed),
        t.dropped_by_victim.load(Ordering::Relaxed),
        t.tcp_garbage_bytes.load(Ordering::Relaxed) / 1024,
        t.envelopes_fed.load(Ordering::Relaxed),
        t.envelopes_accepted.load(Ordering::Relaxed),
        peak / 1024,
        rss_before / 1024,
    );
    assert!(
        sent >= 20,
        "only {sent} honest messages got through in {FLOOD:?}"
    );
    assert_eq!(
        t.envelopes_accepted.load(Ordering::Relaxed),
        0,
        "a forged, replayed or random envelope was applied"
    );
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "peak RSS {} MiB over {} MiB",
        peak / 1024,
        PEAK_RSS_LIMIT_KIB / 1024
    );
    // After the flood the node still answers and syncs.
    a.send(&group, "after the flood").await;
    b.wait_for_text(&group, "after the flood").await;
}

/// DESIGN §6: "a peer that sends garbage is dropped and scored down". A non-member
/// that sends nothing but malformed and over-limit frames must lose its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_peer_sending_garbage_is_dropped() {
    let a = TestNode::spawn("Ana").await;
    let _ = found_group(&a).await;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let attacker = tokio::spawn(run_attacker(
        a.addr(),
        a.network.peer_id(),
        stop.clone(),
        tally.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tally.dropped_by_victim.load(Ordering::Relaxed) == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(10), attacker).await;
    assert!(
        tally.dropped_by_victim.load(Ordering::Relaxed) > 0,
        "the node kept the connection of a peer that sent it {} malformed or over-limit \
         requests in 15 s ({} answered, {} failed)",
        tally.requests.load(Ordering::Relaxed),
        tally.answered.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
}
