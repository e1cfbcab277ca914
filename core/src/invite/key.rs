//! What is derived from an invite secret: the invite key and the rendezvous name.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};

use super::{InviteLink, InviteSecret};
use crate::crypto::SecretKey;
use crate::ids::GroupId;

const KEY_CONTEXT: &str = "plenum invite key v1";
const RENDEZVOUS_CONTEXT: &str = "plenum invite rendezvous v1";

/// The Ed25519 key of one invite. Its public half is what the group's log stores; its
/// secret half signs the joiner's [`super::JoinProof`].
pub struct InviteKey(SigningKey);

impl InviteKey {
    /// `Ed25519(seed = HKDF-SHA256(secret, "plenum invite key v1" ‖ 0x00 ‖ group id))`.
    pub fn derive(group: &GroupId, secret: &InviteSecret) -> InviteKey {
        let seed = SecretKey::from_bytes(*secret.as_bytes()).derive(KEY_CONTEXT, group.as_bytes());
        InviteKey(SigningKey::from_bytes(seed.as_bytes()))
    }

    /// The public key, as `OpKind::CreateInvite { invite_key, .. }` records it.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs `context ‖ 0x00 ‖ message`, the same convention as member signatures.
    pub(super) fn sign(&self, context: &str, message: &[u8]) -> [u8; 64] {
        let mut signed = Vec::with_capacity(context.len() + 1 + message.len());
        signed.extend_from_slice(context.as_bytes());
        signed.push(0);
        signed.extend_from_slice(message);
        self.0.sign(&signed).to_bytes()
    }
}

impl fmt::Debug for InviteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InviteKey({})", hex::encode(&self.public_key()[..4]))
    }
}

/// The public key of the invite with `secret` to `group`.
pub fn invite_public_key(group: &GroupId, secret: &InviteSecret) -> [u8; 32] {
    InviteKey::derive(group, secret).public_key()
}

impl InviteLink {
    /// This invite's key.
    pub fn invite_key(&self) -> InviteKey {
        InviteKey::derive(&self.group, &self.secret)
    }

    /// The name under which members announce themselves at the group's relays for this
    /// invite, so a joiner finds whoever is online: 64 lowercase hex characters of
    /// `HKDF-SHA256(secret, "plenum invite rendezvous v1" ‖ 0x00 ‖ group id)`.
    /// It reveals neither the secret nor the invite key.
    pub fn rendezvous(&self) -> String {
        let name = SecretKey::from_bytes(*self.secret.as_bytes())
            .derive(RENDEZVOUS_CONTEXT, self.group.as_bytes());
        hex::encode(name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn invite_key_is_deterministic_and_differs_per_group_and_secret() {
        let group = GroupId([1; 32]);
        let secret = InviteSecret::from_bytes([2; 32]);
        let key = invite_public_key(&group, &secret);
        assert_eq!(key, invite_public_key(&group, &secret));
        assert_ne!(key, invite_public_key(&GroupId([3; 32]), &secret));
        assert_ne!(
            key,
            invite_public_key(&group, &InviteSecret::from_bytes([4; 32]))
        );
        let link = InviteLink::with_secret(group, secret, Timestamp(9), Vec::new()).unwrap();
        assert_eq!(link.invite_key().public_key(), key);
    }

    #[test]
    fn rendezvous_is_separate_from_the_key_and_per_group() {
        let link = InviteLink::with_secret(
            GroupId([1; 32]),
            InviteSecret::from_bytes([2; 32]),
            Timestamp(9),
            Vec::new(),
        )
        .unwrap();
        let name = link.rendezvous();
        assert_eq!(name.len(), 64);
        let same = InviteLink::with_secret(
            GroupId([1; 32]),
            InviteSecret::from_bytes([2; 32]),
            Timestamp(1),
            vec![vec![1]],
        )
        .unwrap();
        assert_eq!(name, same.rendezvous());
        assert_ne!(name, hex::encode(link.invite_key().public_key()));
        assert_ne!(name, hex::encode(link.secret.as_bytes()));
        let other = InviteLink {
            group: GroupId([5; 32]),
            ..link
        };
        assert_ne!(name, other.rendezvous());
    }
}
