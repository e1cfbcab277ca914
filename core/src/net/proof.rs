//! The membership proof two peers run before any group traffic, and the names of the
//! gossip topics. Both derive from epoch keys, so a stranger learns nothing: a proof
//! is a PRF output over fresh nonces, a topic an opaque hash.
//!
//! ```text
//! A → B  Hello { nonce_a }
//! B → A  Hello { proofs(B over nonce_a), nonce_b }
//! A → B  Prove { proofs(A over nonce_b) }
//! ```
//! A proof for one epoch key `k` is `HKDF(k, "plenum peer proof v1" ‖ nonce ‖ prover
//! PeerId ‖ verifier PeerId)`: bound to both identities (a proof cannot be relayed to a
//! third peer) and to the verifier's fresh nonce (nor replayed). Each side proves with
//! the newest few epoch keys it holds per group; the verifier accepts a group when any
//! proof matches any epoch key it holds for it.

use std::collections::{BTreeSet, HashMap};

use libp2p::PeerId;

use crate::crypto::SecretKey;
use crate::envelope::group_tag;
use crate::ids::{GroupId, Hash};
use crate::node::GroupKeys;

/// Groups and epochs proved per hello, at most: bounds the work a peer can cause.
pub(super) const MAX_PROOFS: usize = 256;

fn proof(key: &SecretKey, nonce: &[u8; 32], prover: &PeerId, verifier: &PeerId) -> [u8; 32] {
    let mut info = nonce.to_vec();
    info.extend_from_slice(&prover.to_bytes());
    info.extend_from_slice(&verifier.to_bytes());
    *key.derive("plenum peer proof v1", &info).as_bytes()
}

/// This device's proofs over `nonce`, for the verifier `verifier`.
pub(super) fn prove(
    groups: &[GroupKeys],
    nonce: &[u8; 32],
    me: &PeerId,
    verifier: &PeerId,
) -> Vec<[u8; 32]> {
    groups
        .iter()
        .flat_map(|g| g.epochs.iter())
        .map(|(_, key)| proof(key, nonce, me, verifier))
        .take(MAX_PROOFS)
        .collect()
}

/// The groups `prover` proved, checked against the epoch keys this device holds.
pub(super) fn verify(
    groups: &[GroupKeys],
    proofs: &[[u8; 32]],
    nonce: &[u8; 32],
    prover: &PeerId,
    me: &PeerId,
) -> BTreeSet<GroupId> {
    let expected: HashMap<[u8; 32], GroupId> = groups
        .iter()
        .flat_map(|g| g.epochs.iter().map(move |(_, key)| (g.group, key)))
        .map(|(group, key)| (proof(key, nonce, prover, me), group))
        .collect();
    proofs
        .iter()
        .take(MAX_PROOFS)
        .filter_map(|p| expected.get(p).copied())
        .collect()
}

/// The gossip topic of one group's epoch: changes on rotation, opaque to outsiders.
pub(super) fn topic(key: &SecretKey, group: &GroupId) -> String {
    let name = key.derive("plenum gossip topic v1", group.as_bytes());
    hex::encode(&name.as_bytes()[..16])
}

/// The topics of every epoch of every group this device holds a key for, each with
/// its group.
pub(super) fn topics(groups: &[GroupKeys]) -> Vec<(String, GroupId, Hash)> {
    groups
        .iter()
        .flat_map(|g| {
            g.epochs
                .iter()
                .map(move |(epoch, key)| (topic(key, &g.group), g.group, *epoch))
        })
        .collect()
}

/// A group's wire tag.
pub(super) fn tag(group: &GroupId) -> [u8; 16] {
    group_tag(group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::identity::Keypair;

    fn keys(group: u8, epochs: &[u8]) -> GroupKeys {
        GroupKeys {
            relays: Vec::new(),
            invites: Vec::new(),
            group: GroupId([group; 32]),
            epochs: epochs
                .iter()
                .map(|e| (Hash([*e; 32]), SecretKey::from_bytes([*e; 32])))
                .collect(),
        }
    }

    #[test]
    fn a_member_proves_the_groups_both_hold_and_nothing_else() {
        let a = Keypair::generate_ed25519().public().to_peer_id();
        let b = Keypair::generate_ed25519().public().to_peer_id();
        let nonce = [7; 32];
        let mine = vec![keys(1, &[10, 11]), keys(2, &[20])];
        let theirs = vec![keys(1, &[11]), keys(3, &[30])];
        let proofs = prove(&mine, &nonce, &a, &b);
        let proved = verify(&theirs, &proofs, &nonce, &a, &b);
        assert_eq!(proved, BTreeSet::from([GroupId([1; 32])]));
    }

    #[test]
    fn a_proof_does_not_verify_for_another_nonce_or_peer() {
        let a = Keypair::generate_ed25519().public().to_peer_id();
        let b = Keypair::generate_ed25519().public().to_peer_id();
        let c = Keypair::generate_ed25519().public().to_peer_id();
        let groups = vec![keys(1, &[10])];
        let proofs = prove(&groups, &[1; 32], &a, &b);
        assert!(verify(&groups, &proofs, &[2; 32], &a, &b).is_empty());
        assert!(verify(&groups, &proofs, &[1; 32], &a, &c).is_empty());
        assert!(verify(&groups, &proofs, &[1; 32], &c, &b).is_empty());
    }

    #[test]
    fn topics_differ_per_epoch_and_group() {
        let t = topics(&[keys(1, &[10, 11]), keys(2, &[10])]);
        let names: BTreeSet<_> = t.iter().map(|(n, _, _)| n.clone()).collect();
        assert_eq!(names.len(), 3);
    }
}
