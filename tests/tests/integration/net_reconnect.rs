//! A node whose network restarts redials the peers in its stored address book and
//! catches up what it missed, with nobody dialing it.

use std::time::Duration;

use plenum_core::net::{NetConfig, Network};

use super::net_harness::{TestNode, WAIT, found_group};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_network_redials_known_peers_and_catches_up() {
    let a = TestNode::spawn("Ana").await;
    let mut b = TestNode::spawn("Ben").await;
    let (group, link) = found_group(&a).await;
    b.network.join(&link, WAIT, |_| {}).await.expect("join");
    a.send(&group, "while Ben is here").await;
    b.wait_for_text(&group, "while Ben is here").await;
    // Give the address book a moment to be saved (it is written on the redial tick).
    tokio::time::sleep(Duration::from_secs(3)).await;

    let node = b.network.node().clone();
    b.network.shutdown().await;
    a.send(&group, "while Ben is away").await;

    // A new network on a new port: A cannot know where B is now; B must dial A.
    let mut config = NetConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")], false);
    config.catch_up_every = Duration::from_secs(2);
    b.network = Network::start(node, config).await.expect("restart");
    b.wait_for_text(&group, "while Ben is away").await;
}
