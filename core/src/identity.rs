//! Who a device is: its profile, its transport key, and one member key pair per group.
//!
//! The transport key (Ed25519) identifies the device to the network (its libp2p
//! PeerId) and never signs content. Each group gets fresh member keys — Ed25519 to
//! sign, X25519 to receive wrapped group keys — so memberships cannot be linked across
//! groups. A member's Automerge actor id is derived from its signing key, which lets
//! every receiver check that nobody writes as somebody else.

use std::sync::OnceLock;

use automerge::ActorId;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, random_array};
use crate::ids::{GroupId, MemberId};
use crate::time::Timestamp;

/// Longest display name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A signature did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The bytes are not a valid Ed25519 public key.
    #[error("member id {0} is not a valid Ed25519 public key")]
    BadKey(MemberId),
    /// The signature does not match.
    #[error("signature by {0} does not verify")]
    Invalid(MemberId),
}

/// A display name was empty, too long, or had control characters.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NameError(String);

/// Checks and normalises a display name (of a person, group, channel, pad or board).
pub fn check_name(what: &str, name: &str) -> Result<String, NameError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(NameError(format!(
            "the {what} name is empty; give it a name"
        )));
    }
    if trimmed.len() > MAX_NAME_LEN {
        return Err(NameError(format!(
            "the {what} name is {} bytes long; the limit is {MAX_NAME_LEN}",
            trimmed.len()
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(NameError(format!(
            "the {what} name contains control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// This device's profile.
#[derive(Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The name others see.
    pub display_name: String,
    /// The Ed25519 seed of the transport key (the libp2p identity).
    transport_seed: Zeroizing<[u8; 32]>,
    /// When the profile was created.
    pub created_at: Timestamp,
}

impl Profile {
    /// A new profile with a fresh transport key.
    pub fn new(display_name: String, now: Timestamp) -> Profile {
        Profile {
            display_name,
            transport_seed: Zeroizing::new(random_array()),
            created_at: now,
        }
    }

    /// The transport key's public half (the libp2p PeerId is derived from it).
    pub fn transport_public(&self) -> [u8; 32] {
        SigningKey::from_bytes(&self.transport_seed)
            .verifying_key()
            .to_bytes()
    }

    /// The transport key's seed, for building the libp2p keypair.
    pub fn transport_seed(&self) -> &[u8; 32] {
        &self.transport_seed
    }
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

/// The Automerge actor id of a member: the first 16 bytes of a domain-separated hash of
/// its member id. Every change in an envelope must carry its signer's actor id.
pub fn actor_for(member: &MemberId) -> ActorId {
    let h = crypto::hash("plenum actor id v1", &[member.as_bytes()]);
    ActorId::from(&h[..16])
}

/// The safety number of one member of one group: six groups of five digits that two
/// people compare in person (`"04211 99231 00012 55555 10000 87654"`).
///
/// It covers the member's signing key (its id), its X25519 key and the transport key of
/// its device, so it changes whenever any of them does: matching numbers mean the keys
/// the group's log holds for this member are the ones its device really uses. See
/// `protocol-spec/keys.md`.
pub fn safety_number(
    group: &GroupId,
    member: &MemberId,
    exchange: &[u8; 32],
    peer: &[u8; 32],
) -> String {
    let h = crypto::hash(
        "plenum safety number v1",
        &[group.as_bytes(), member.as_bytes(), exchange, peer],
    );
    h[..30]
        .chunks_exact(5)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            format!("{:05}", value % 100_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Verifies a signature by `member` over `context ‖ message`.
pub fn verify(
    member: &MemberId,
    context: &str,
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), SignatureError> {
    let key =
        VerifyingKey::from_bytes(member.as_bytes()).map_err(|_| SignatureError::BadKey(*member))?;
    let sig = Signature::from_bytes(signature);
    key.verify_strict(&signed_bytes(context, message), &sig)
        .map_err(|_| SignatureError::Invalid(*member))
}

/// What an Ed25519 signature covers: `context ‖ 0x00 ‖ message`.
pub(crate) fn signed_bytes(context: &str, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(context.len() + 1 + message.len());
    out.extend_from_slice(context.as_bytes());
    out.push(0);
    out.extend_from_slice(message);
    out
}

/// One device's keys for one group.
#[derive(Clone, Serialize, Deserialize)]
pub struct MemberKeys {
    signing_seed: Zeroizing<[u8; 32]>,
    exchange_secret: Zeroizing<[u8; 32]>,
    /// The signing key, derived from the seed once: deriving it costs a scalar
    /// multiplication, and the id is asked for on every envelope and message shown.
    /// Not stored (zeroized on drop like the seed).
    #[serde(skip)]
    signing: OnceLock<SigningKey>,
}

impl MemberKeys {
    /// Fresh keys, unlinkable to any other group's.
    pub fn generate() -> MemberKeys {
        MemberKeys::from_seeds(random_array(), random_array())
    }

    /// Keys from fixed seeds: deterministic test nodes and test vectors.
    pub fn from_seeds(signing: [u8; 32], exchange: [u8; 32]) -> MemberKeys {
        MemberKeys {
            signing_seed: Zeroizing::new(signing),
            exchange_secret: Zeroizing::new(exchange),
            signing: OnceLock::new(),
        }
    }

    fn signing_key(&self) -> &SigningKey {
        self.signing
            .get_or_init(|| SigningKey::from_bytes(&self.signing_seed))
    }

    /// The member id: the Ed25519 public key.
    pub fn id(&self) -> MemberId {
        MemberId(self.signing_key().verifying_key().to_bytes())
    }

    /// The X25519 public key others wrap group keys to.
    pub fn exchange_public(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.exchange_secret()).to_bytes()
    }

    /// The X25519 secret, for unwrapping group keys.
    pub fn exchange_secret(&self) -> x25519_dalek::StaticSecret {
        x25519_dalek::StaticSecret::from(*self.exchange_secret)
    }

    /// This member's Automerge actor id.
    pub fn actor_id(&self) -> ActorId {
        actor_for(&self.id())
    }

    /// Signs `context ‖ message`. The context separates signatures of different kinds.
    pub fn sign(&self, context: &str, message: &[u8]) -> [u8; 64] {
        self.signing_key()
            .sign(&signed_bytes(context, message))
            .to_bytes()
    }
}

impl std::fmt::Debug for MemberKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemberKeys({:?})", self.id())
    }
}

#[cfg(test)]
mod vectors_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_member_and_context() {
        let keys = MemberKeys::generate();
        let sig = keys.sign("ctx", b"msg");
        assert!(verify(&keys.id(), "ctx", b"msg", &sig).is_ok());
        assert_eq!(
            verify(&keys.id(), "other", b"msg", &sig),
            Err(SignatureError::Invalid(keys.id()))
        );
        assert!(verify(&keys.id(), "ctx", b"msg2", &sig).is_err());
        assert!(verify(&MemberKeys::generate().id(), "ctx", b"msg", &sig).is_err());
    }

    #[test]
    fn actor_ids_are_per_member_and_stable() {
        let a = MemberKeys::from_seeds([1; 32], [2; 32]);
        let b = MemberKeys::from_seeds([3; 32], [2; 32]);
        assert_eq!(
            a.actor_id(),
            MemberKeys::from_seeds([1; 32], [9; 32]).actor_id()
        );
        assert_ne!(a.actor_id(), b.actor_id());
        assert_eq!(a.actor_id().to_bytes().len(), 16);
    }

    #[test]
    fn safety_numbers_are_stable_and_cover_every_key() {
        let group = GroupId([1; 32]);
        let member = MemberId([2; 32]);
        let number = safety_number(&group, &member, &[3; 32], &[4; 32]);
        assert_eq!(number, safety_number(&group, &member, &[3; 32], &[4; 32]));
        let groups: Vec<&str> = number.split(' ').collect();
        assert_eq!(groups.len(), 6, "{number}");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit())),
            "{number}"
        );
        assert_eq!(number.len(), 6 * 5 + 5);
        let others = [
            safety_number(&GroupId([9; 32]), &member, &[3; 32], &[4; 32]),
            safety_number(&group, &MemberId([9; 32]), &[3; 32], &[4; 32]),
            safety_number(&group, &member, &[9; 32], &[4; 32]),
            safety_number(&group, &member, &[3; 32], &[9; 32]),
            // The parts are length-prefixed: swapping two keys changes the number too.
            safety_number(&group, &member, &[4; 32], &[3; 32]),
        ];
        for other in &others {
            assert_ne!(other, &number);
        }
    }

    #[test]
    fn safety_number_digits_are_the_hash_in_five_byte_chunks() {
        let (group, member) = (GroupId([5; 32]), MemberId([6; 32]));
        let h = crypto::hash(
            "plenum safety number v1",
            &[group.as_bytes(), member.as_bytes(), &[7; 32], &[8; 32]],
        );
        // The first chunk, by hand: a big-endian 40-bit integer, mod 100000.
        let first = h[..5].iter().fold(0u64, |acc, &b| acc * 256 + u64::from(b)) % 100_000;
        let number = safety_number(&group, &member, &[7; 32], &[8; 32]);
        assert_eq!(&number[..5], format!("{first:05}"));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("group", "  Tenants  ").unwrap(), "Tenants");
        assert!(check_name("group", "   ").is_err());
        assert!(check_name("group", &"x".repeat(65)).is_err());
        assert!(check_name("group", "a\u{7}b").is_err());
    }
}
