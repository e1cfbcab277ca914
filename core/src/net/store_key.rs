//! The store key: how members prove to a storing relay that they may use its store
//! for a group, without showing it anything of the group.
//!
//! Every member derives the same Ed25519 key pair from the group's current epoch key,
//! `HKDF(epoch key, "plenum store key v1" ‖ group id)` as the seed, so only holders of
//! the epoch key have it; the relay learns its public half. A proof signs the relay's
//! nonce, bound to the group tag and to both PeerIds, so it can be neither replayed
//! nor relayed. After a rotation the new key is endorsed by the previous one.

use libp2p::PeerId;

use super::wire::{self, Endorsement};
use crate::crypto::SecretKey;
use crate::identity::{self, MemberKeys};
use crate::ids::{GroupId, Hash, MemberId};

/// Signing context of a store proof.
const PROOF_CONTEXT: &str = "plenum store proof v1";
/// Signing context of an endorsement (the relay checks it too).
const ENDORSE_CONTEXT: &str = "plenum store key endorse v1";

/// The group's store key for the epoch whose key is `epoch_key`.
pub(super) fn store_key(epoch_key: &SecretKey, group: &GroupId) -> MemberKeys {
    let seed = epoch_key.derive("plenum store key v1", group.as_bytes());
    MemberKeys::from_seeds(*seed.as_bytes(), *seed.as_bytes())
}

fn proof_message(tag: &[u8; 16], nonce: &[u8; 32], relay: &PeerId, prover: &PeerId) -> Vec<u8> {
    let mut message = tag.to_vec();
    message.extend_from_slice(nonce);
    message.extend_from_slice(&relay.to_bytes());
    message.extend_from_slice(&prover.to_bytes());
    message
}

fn endorse_message(tag: &[u8; 16], new: &[u8; 32]) -> Vec<u8> {
    let mut message = tag.to_vec();
    message.extend_from_slice(new);
    message
}

/// The proof for `relay`'s nonce.
pub(super) fn prove(
    key: &MemberKeys,
    tag: &[u8; 16],
    nonce: &[u8; 32],
    relay: &PeerId,
    me: &PeerId,
) -> [u8; 64] {
    key.sign(PROOF_CONTEXT, &proof_message(tag, nonce, relay, me))
}

/// Whether `signature` proves `key` for this nonce, relay and prover.
pub(super) fn verify(
    key: &[u8; 32],
    signature: &[u8],
    tag: &[u8; 16],
    nonce: &[u8; 32],
    relay: &PeerId,
    prover: &PeerId,
) -> bool {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    identity::verify(
        &MemberId(*key),
        PROOF_CONTEXT,
        &proof_message(tag, nonce, relay, prover),
        &signature,
    )
    .is_ok()
}

/// `old` vouching for the key `new`.
pub(super) fn endorse(old: &MemberKeys, tag: &[u8; 16], new: &[u8; 32]) -> [u8; 64] {
    old.sign(ENDORSE_CONTEXT, &endorse_message(tag, new))
}

/// Whether `by` vouched for `new` with `signature`.
pub(super) fn verify_endorsement(
    by: &[u8; 32],
    signature: &[u8],
    tag: &[u8; 16],
    new: &[u8; 32],
) -> bool {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    identity::verify(
        &MemberId(*by),
        ENDORSE_CONTEXT,
        &endorse_message(tag, new),
        &signature,
    )
    .is_ok()
}

/// The store key for the current epoch, and the chain of older keys vouching for it
/// (each for the one before it, newest first): so a relay that knows any of the
/// group's last [`wire::MAX_ENDORSEMENTS`] store keys takes the current one, however
/// many rotations it missed. `epochs` are the group's epochs and keys, newest first.
pub(super) fn current_with_chain(
    epochs: &[(Hash, SecretKey)],
    group: &GroupId,
    tag: &[u8; 16],
) -> Option<(MemberKeys, Vec<Endorsement>)> {
    let keys: Vec<MemberKeys> = epochs
        .iter()
        .take(wire::MAX_ENDORSEMENTS + 1)
        .map(|(_, key)| store_key(key, group))
        .collect();
    let chain = keys
        .windows(2)
        .map(|pair| Endorsement {
            by: pair[1].id().0,
            signature: endorse(&pair[1], tag, &pair[0].id().0).to_vec(),
        })
        .collect();
    Some((keys.into_iter().next()?, chain))
}

/// The steps from a key `known` accepts to `key` along `chain` (newest first, as
/// [`current_with_chain`] makes it), oldest first, each an (endorser, endorsed) pair;
/// `None` if no key on the chain is known or a signature on the way fails.
pub(super) fn endorsed_path(
    tag: &[u8; 16],
    key: &[u8; 32],
    chain: &[Endorsement],
    known: impl Fn(&[u8; 32]) -> bool,
) -> Option<Vec<([u8; 32], [u8; 32])>> {
    let mut path = Vec::new();
    let mut endorsed = *key;
    for link in chain.iter().take(wire::MAX_ENDORSEMENTS) {
        if !verify_endorsement(&link.by, &link.signature, tag, &endorsed) {
            return None;
        }
        path.push((link.by, endorsed));
        if known(&link.by) {
            path.reverse();
            return Some(path);
        }
        endorsed = link.by;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id()
    }

    #[test]
    fn a_proof_holds_for_its_nonce_relay_prover_and_tag_only() {
        let group = GroupId([1; 32]);
        let key = store_key(&SecretKey::from_bytes([9; 32]), &group);
        let (relay, me, other) = (peer(), peer(), peer());
        let tag = [3; 16];
        let proof = prove(&key, &tag, &[5; 32], &relay, &me);
        let public = key.id().0;
        assert!(verify(&public, &proof, &tag, &[5; 32], &relay, &me));
        assert!(!verify(&public, &proof, &tag, &[6; 32], &relay, &me));
        assert!(!verify(&public, &proof, &tag, &[5; 32], &other, &me));
        assert!(!verify(&public, &proof, &tag, &[5; 32], &relay, &other));
        assert!(!verify(&public, &proof, &[4; 16], &[5; 32], &relay, &me));
        assert!(!verify(&public, &proof[..63], &tag, &[5; 32], &relay, &me));
    }

    #[test]
    fn each_epoch_and_group_has_its_own_key_and_the_old_endorses_the_new() {
        let group = GroupId([1; 32]);
        let old = store_key(&SecretKey::from_bytes([9; 32]), &group);
        let new = store_key(&SecretKey::from_bytes([10; 32]), &group);
        let elsewhere = store_key(&SecretKey::from_bytes([9; 32]), &GroupId([2; 32]));
        assert_ne!(old.id(), new.id());
        assert_ne!(old.id(), elsewhere.id());
        let tag = [3; 16];
        let vouch = endorse(&old, &tag, &new.id().0);
        assert!(verify_endorsement(&old.id().0, &vouch, &tag, &new.id().0));
        assert!(!verify_endorsement(&new.id().0, &vouch, &tag, &new.id().0));
        assert!(!verify_endorsement(
            &old.id().0,
            &vouch,
            &tag,
            &elsewhere.id().0
        ));
    }

    #[test]
    fn a_relay_that_knows_any_older_key_follows_the_chain_to_the_current_one() {
        let group = GroupId([1; 32]);
        let tag = [3; 16];
        // Four epochs, newest first: the relay last saw the oldest.
        let epochs: Vec<(Hash, SecretKey)> = (0..4u8)
            .rev()
            .map(|i| (Hash([i; 32]), SecretKey::from_bytes([i; 32])))
            .collect();
        let (current, chain) = current_with_chain(&epochs, &group, &tag).expect("a key");
        assert_eq!(current.id(), store_key(&epochs[0].1, &group).id());
        assert_eq!(chain.len(), 3);
        let keys: Vec<[u8; 32]> = epochs
            .iter()
            .map(|(_, k)| store_key(k, &group).id().0)
            .collect();
        let current = current.id().0;

        let oldest = keys[3];
        let path = endorsed_path(&tag, &current, &chain, |k| *k == oldest).expect("a path");
        assert_eq!(
            path,
            vec![(keys[3], keys[2]), (keys[2], keys[1]), (keys[1], keys[0])]
        );
        // Knowing a newer key shortens it.
        let previous = keys[1];
        let path = endorsed_path(&tag, &current, &chain, |k| *k == previous).expect("a path");
        assert_eq!(path, vec![(keys[1], keys[0])]);
        // A key the relay never had, a broken link, or another key at the end: refused.
        assert_eq!(endorsed_path(&tag, &current, &chain, |_| false), None);
        let mut broken = chain.clone();
        broken[1].signature[0] ^= 1;
        assert_eq!(
            endorsed_path(&tag, &current, &broken, |k| *k == oldest),
            None
        );
        assert_eq!(
            endorsed_path(&tag, &keys[1], &chain, |k| *k == oldest),
            None
        );
        assert_eq!(
            endorsed_path(&[4; 16], &current, &chain, |k| *k == oldest),
            None
        );
    }
}
