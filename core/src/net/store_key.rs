//! The store key: how members prove to a storing relay that they may use its store
//! for a group, without showing it anything of the group.
//!
//! Every member derives the same Ed25519 key pair from the group's current epoch key,
//! `HKDF(epoch key, "plenum store key v1" ‖ group id)` as the seed, so only holders of
//! the epoch key have it; the relay learns its public half. A proof signs the relay's
//! nonce, bound to the group tag and to both PeerIds, so it can be neither replayed
//! nor relayed. After a rotation the new key is endorsed by the previous one.

use libp2p::PeerId;

use crate::crypto::SecretKey;
use crate::identity::{self, MemberKeys};
use crate::ids::{GroupId, MemberId};

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
}
