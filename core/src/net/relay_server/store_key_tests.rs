//! Store keys at a real relay over real sockets: rotations reach it along a chain of
//! endorsements, only the newest key vouches, and a session ends when its key falls
//! out of the two the relay keeps. Made-up keys and a made-up group tag stand in for a
//! group's (the relay cannot tell them apart).

use std::time::Duration;

use libp2p::PeerId;

use super::{RelayConfig, RelayServer, StoreLimits};
use crate::identity::MemberKeys;
use crate::net::store_key::{endorse, prove};
use crate::net::wire::{Endorsement, Request, Response};
use crate::net::{NetConfig, Network};
use crate::node::{Node, NodeConfig};
use crate::store::Protection;

const TAG: [u8; 16] = [7; 16];
/// How long a device gets to reach the relay.
const CONNECT: Duration = Duration::from_secs(20);

fn store_key(n: u8) -> MemberKeys {
    MemberKeys::from_seeds([n; 32], [n; 32])
}

/// `by` vouching for `new`.
fn link(by: &MemberKeys, new: &MemberKeys) -> Endorsement {
    Endorsement {
        by: by.id().0,
        signature: endorse(by, &TAG, &new.id().0).to_vec(),
    }
}

async fn device(dir: &tempfile::TempDir, name: &str, relay: &RelayServer) -> Network {
    let config = NodeConfig::new(dir.path().join(name));
    let key_file = dir.path().join(format!("{name}.key"));
    let node = Node::init(&config, name, Protection::KeyFile(key_file)).expect("a profile");
    let mut net = NetConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")], false);
    net.dial = relay.addresses().to_vec();
    Network::start(node, net).await.expect("a network")
}

/// Proves `key` (with `chain`) for the tag at `relay`; the relay's answer.
async fn prove_at(
    device: &Network,
    relay: PeerId,
    key: &MemberKeys,
    chain: Vec<Endorsement>,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let nonce = loop {
        match device
            .request(relay, Request::StoreHello { tag: TAG })
            .await
        {
            Ok(Response::StoreNonce(nonce)) => break nonce,
            other if started.elapsed() > CONNECT => panic!("no nonce: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let request = Request::StoreProve {
        tag: TAG,
        key: key.id().0,
        signature: prove(key, &TAG, &nonce, &relay, &device.peer_id()).to_vec(),
        endorsements: chain,
    };
    match device.request(relay, request).await.expect("an answer") {
        Response::Proven => Ok(()),
        Response::Refused(why) => Err(why),
        other => panic!("out of turn: {other:?}"),
    }
}

/// Whether the relay answers `device` from the tag's store.
async fn served(device: &Network, relay: PeerId) -> bool {
    let request = Request::Summary {
        tag: TAG,
        root: [0; 32],
    };
    match device.request(relay, request).await.expect("an answer") {
        Response::Refused(why) => {
            assert!(why.contains("prove the group's store key"), "{why}");
            false
        }
        _ => true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotations_reach_the_relay_by_chain_and_end_the_sessions_of_dropped_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = RelayConfig::new(vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")]);
    config.store = Some((dir.path().join("relay"), StoreLimits::default()));
    let relay = RelayServer::start(crate::crypto::random_array(), config)
        .await
        .expect("relay");
    let relay_id = relay.peer_id();
    let ana = device(&dir, "ana", &relay).await;
    let ben = device(&dir, "ben", &relay).await;
    let (k0, k1, k2, k3) = (store_key(0), store_key(1), store_key(2), store_key(3));

    // The group's first key, which both hold.
    prove_at(&ana, relay_id, &k0, vec![])
        .await
        .expect("first key");
    prove_at(&ben, relay_id, &k0, vec![])
        .await
        .expect("a known key");
    assert!(served(&ben, relay_id).await);

    // Two rotations the relay missed: the chain leads it from K0 to K2, and Ben's
    // session with K0, which fell out of the two it keeps, ends.
    prove_at(&ana, relay_id, &k2, vec![link(&k1, &k2), link(&k0, &k1)])
        .await
        .expect("K2 by the chain from K0");
    assert!(!served(&ben, relay_id).await, "K0's session outlived it");
    let refused = prove_at(&ben, relay_id, &k0, vec![]).await;
    assert!(refused.is_err_and(|why| why.contains("not registered")));

    // K1, the older of the two, still grants access but vouches for nothing: someone
    // removed in the last rotation cannot push a key of their own.
    prove_at(&ben, relay_id, &k1, vec![])
        .await
        .expect("the older key");
    assert!(served(&ben, relay_id).await);
    let mallory = store_key(9);
    let refused = prove_at(&ben, relay_id, &mallory, vec![link(&k1, &mallory)]).await;
    assert!(refused.is_err(), "the older key vouched for a new one");
    // A broken chain is refused too, however good its start.
    let mut broken = vec![link(&k2, &k3)];
    broken[0].signature[0] ^= 1;
    assert!(prove_at(&ana, relay_id, &k3, broken).await.is_err());
    // An honest next rotation is taken.
    prove_at(&ana, relay_id, &k3, vec![link(&k2, &k3)])
        .await
        .expect("K3 by K2");
    assert!(!served(&ben, relay_id).await, "K1's session outlived it");

    ana.shutdown().await;
    ben.shutdown().await;
    relay.shutdown().await;
}
