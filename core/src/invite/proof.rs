//! The join proof: a joiner shows an admitter that it holds the invite secret and its
//! new member key, bound to both peers and to a nonce the admitter chose.

use ed25519_dalek::{Signature, VerifyingKey};

use super::{InviteError, InviteLink};
use crate::group::MemberInfo;
use crate::identity::{self, MAX_NAME_LEN, MemberKeys, SignatureError};
use crate::ids::GroupId;

const INVITE_CONTEXT: &str = "plenum join proof v1";
const MEMBER_CONTEXT: &str = "plenum join member v1";

/// Length of an encoded [`JoinProof`].
pub const PROOF_LEN: usize = 32 + 32 + 64 + 64;

/// A joiner's answer to an admitter's challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinProof {
    /// The admitter's peer (transport) key, so the proof cannot be replayed to another.
    pub admitter_peer: [u8; 32],
    /// The nonce the admitter chose, so the proof cannot be replayed later.
    pub nonce: [u8; 32],
    invite_sig: [u8; 64],
    member_sig: [u8; 64],
}

impl JoinProof {
    /// Signs the joiner's `info` with the invite key of `link` and with `member`.
    /// Refuses when `info` does not carry `member`'s id and exchange key, or its name
    /// is longer than [`MAX_NAME_LEN`] bytes.
    pub fn create(
        link: &InviteLink,
        member: &MemberKeys,
        info: &MemberInfo,
        admitter_peer: [u8; 32],
        nonce: [u8; 32],
    ) -> Result<JoinProof, InviteError> {
        if info.id != member.id() || info.exchange != member.exchange_public() {
            return Err(InviteError::KeysMismatch);
        }
        let invite_key = link.invite_key();
        let m = message(
            &link.group,
            &invite_key.public_key(),
            info,
            &admitter_peer,
            &nonce,
        )?;
        Ok(JoinProof {
            admitter_peer,
            nonce,
            invite_sig: invite_key.sign(INVITE_CONTEXT, &m),
            member_sig: member.sign(MEMBER_CONTEXT, &m),
        })
    }

    /// Checks both signatures (strict Ed25519) for a joiner `member` of `group` holding
    /// the invite whose public key is `invite_key`. The caller checks that
    /// `admitter_peer` is its own peer key and `nonce` the one it sent.
    pub fn verify(
        &self,
        group: &GroupId,
        invite_key: &[u8; 32],
        member: &MemberInfo,
    ) -> Result<(), InviteError> {
        let m = message(group, invite_key, member, &self.admitter_peer, &self.nonce)?;
        let key = VerifyingKey::from_bytes(invite_key).map_err(|_| InviteError::BadInviteKey)?;
        key.verify_strict(
            &identity::signed_bytes(INVITE_CONTEXT, &m),
            &Signature::from_bytes(&self.invite_sig),
        )
        .map_err(|_| InviteError::InviteSignature)?;
        identity::verify(&member.id, MEMBER_CONTEXT, &m, &self.member_sig).map_err(|e| match e {
            SignatureError::BadKey(id) => InviteError::BadMemberKey(id),
            _ => InviteError::MemberSignature(member.id),
        })
    }

    /// `admitter_peer ‖ nonce ‖ invite_sig ‖ member_sig`, [`PROOF_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PROOF_LEN);
        out.extend_from_slice(&self.admitter_peer);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.invite_sig);
        out.extend_from_slice(&self.member_sig);
        out
    }

    /// Decodes [`JoinProof::encode`]'s output; anything but [`PROOF_LEN`] bytes is refused.
    pub fn decode(bytes: &[u8]) -> Result<JoinProof, InviteError> {
        let bytes: &[u8; PROOF_LEN] = bytes
            .try_into()
            .map_err(|_| InviteError::ProofLength(bytes.len()))?;
        let mut proof = JoinProof {
            admitter_peer: [0; 32],
            nonce: [0; 32],
            invite_sig: [0; 64],
            member_sig: [0; 64],
        };
        proof.admitter_peer.copy_from_slice(&bytes[..32]);
        proof.nonce.copy_from_slice(&bytes[32..64]);
        proof.invite_sig.copy_from_slice(&bytes[64..128]);
        proof.member_sig.copy_from_slice(&bytes[128..]);
        Ok(proof)
    }

    /// The signature by the invite key (for test vectors).
    #[cfg(test)]
    pub(super) fn invite_sig(&self) -> &[u8; 64] {
        &self.invite_sig
    }

    /// The signature by the member key (for test vectors).
    #[cfg(test)]
    pub(super) fn member_sig(&self) -> &[u8; 64] {
        &self.member_sig
    }
}

/// `M = group ‖ invite_key ‖ member_id ‖ exchange ‖ joiner_peer ‖ admitter_peer ‖ nonce ‖
/// name_len u8 ‖ name`.
pub(super) fn message(
    group: &GroupId,
    invite_key: &[u8; 32],
    member: &MemberInfo,
    admitter_peer: &[u8; 32],
    nonce: &[u8; 32],
) -> Result<Vec<u8>, InviteError> {
    let name = member.name.as_bytes();
    if name.len() > MAX_NAME_LEN {
        return Err(InviteError::NameTooLong(name.len()));
    }
    let mut m = Vec::with_capacity(7 * 32 + 1 + name.len());
    for part in [
        group.as_bytes(),
        invite_key,
        member.id.as_bytes(),
        &member.exchange,
        &member.peer,
        admitter_peer,
        nonce,
    ] {
        m.extend_from_slice(part);
    }
    // At most MAX_NAME_LEN (64), checked above.
    m.push(name.len() as u8);
    m.extend_from_slice(name);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invite::{InviteSecret, invite_public_key};
    use crate::time::Timestamp;

    struct Setup {
        link: InviteLink,
        keys: MemberKeys,
        info: MemberInfo,
        proof: JoinProof,
    }

    fn setup() -> Setup {
        let link = InviteLink::new(GroupId([1; 32]), Timestamp(100), Vec::new()).unwrap();
        let keys = MemberKeys::from_seeds([2; 32], [3; 32]);
        let info = MemberInfo {
            id: keys.id(),
            exchange: keys.exchange_public(),
            peer: [4; 32],
            name: "Bo".into(),
        };
        let proof = JoinProof::create(&link, &keys, &info, [5; 32], [6; 32]).unwrap();
        Setup {
            link,
            keys,
            info,
            proof,
        }
    }

    fn invite_key(s: &Setup) -> [u8; 32] {
        s.link.invite_key().public_key()
    }

    #[test]
    fn a_valid_proof_verifies_after_a_round_trip() {
        let s = setup();
        let encoded = s.proof.encode();
        assert_eq!(encoded.len(), PROOF_LEN);
        let decoded = JoinProof::decode(&encoded).unwrap();
        assert_eq!(decoded, s.proof);
        assert_eq!(
            decoded.verify(&s.link.group, &invite_key(&s), &s.info),
            Ok(())
        );
    }

    #[test]
    fn a_proof_made_with_another_secret_fails_the_invite_signature() {
        let s = setup();
        let forged = InviteLink {
            secret: InviteSecret::from_bytes([9; 32]),
            ..s.link.clone()
        };
        let proof = JoinProof::create(&forged, &s.keys, &s.info, [5; 32], [6; 32]).unwrap();
        assert_eq!(
            proof.verify(&s.link.group, &invite_key(&s), &s.info),
            Err(InviteError::InviteSignature)
        );
        // Against its own invite key it holds, so the failure above is the secret's.
        let own = invite_public_key(&forged.group, &forged.secret);
        assert_eq!(proof.verify(&s.link.group, &own, &s.info), Ok(()));
    }

    #[test]
    fn altering_any_bound_field_fails() {
        let s = setup();
        let key = invite_key(&s);
        let verify = |proof: &JoinProof, info: &MemberInfo| proof.verify(&s.link.group, &key, info);

        let mut p = s.proof.clone();
        p.nonce[0] ^= 1;
        assert_eq!(verify(&p, &s.info), Err(InviteError::InviteSignature));

        let mut p = s.proof.clone();
        p.admitter_peer[31] ^= 1;
        assert_eq!(verify(&p, &s.info), Err(InviteError::InviteSignature));

        // "Bi" has the length of "Bo", so only the name's bytes differ.
        for name in ["Bi", "Bob"] {
            let renamed = MemberInfo {
                name: name.into(),
                ..s.info.clone()
            };
            assert_eq!(
                verify(&s.proof, &renamed),
                Err(InviteError::InviteSignature)
            );
        }

        let mut other_exchange = s.info.clone();
        other_exchange.exchange[0] ^= 1;
        assert_eq!(
            verify(&s.proof, &other_exchange),
            Err(InviteError::InviteSignature)
        );

        let mut other_peer = s.info.clone();
        other_peer.peer[0] ^= 1;
        assert_eq!(
            verify(&s.proof, &other_peer),
            Err(InviteError::InviteSignature)
        );

        assert_eq!(
            s.proof.verify(&GroupId([7; 32]), &key, &s.info),
            Err(InviteError::InviteSignature)
        );

        let mut bytes = s.proof.encode();
        bytes[PROOF_LEN - 1] ^= 1;
        let p = JoinProof::decode(&bytes).unwrap();
        assert_eq!(
            verify(&p, &s.info),
            Err(InviteError::MemberSignature(s.info.id))
        );
    }

    #[test]
    fn a_proof_by_other_member_keys_fails_the_member_signature() {
        let s = setup();
        // Someone holding the invite secret, claiming `s.info` without its member key.
        let other = MemberKeys::from_seeds([8; 32], [3; 32]);
        let m = message(&s.link.group, &invite_key(&s), &s.info, &[5; 32], &[6; 32]).unwrap();
        let claimed = JoinProof {
            member_sig: other.sign(MEMBER_CONTEXT, &m),
            ..s.proof
        };
        assert_eq!(
            claimed.verify(&s.link.group, &invite_key(&s), &s.info),
            Err(InviteError::MemberSignature(s.info.id))
        );
        // The right member key over the wrong context fails too.
        let wrong_context = JoinProof {
            member_sig: s.keys.sign(INVITE_CONTEXT, &m),
            ..s.proof
        };
        assert_eq!(
            wrong_context.verify(&s.link.group, &invite_key(&s), &s.info),
            Err(InviteError::MemberSignature(s.info.id))
        );
    }

    #[test]
    fn create_refuses_info_of_other_keys_and_long_names() {
        let s = setup();
        let other = MemberKeys::generate();
        assert_eq!(
            JoinProof::create(&s.link, &other, &s.info, [5; 32], [6; 32]),
            Err(InviteError::KeysMismatch)
        );
        let wrong_exchange = MemberInfo {
            exchange: other.exchange_public(),
            ..s.info.clone()
        };
        assert_eq!(
            JoinProof::create(&s.link, &s.keys, &wrong_exchange, [5; 32], [6; 32]),
            Err(InviteError::KeysMismatch)
        );
        let long = MemberInfo {
            name: "x".repeat(65),
            ..s.info
        };
        assert_eq!(
            JoinProof::create(&s.link, &s.keys, &long, [5; 32], [6; 32]),
            Err(InviteError::NameTooLong(65))
        );
        assert_eq!(
            s.proof.verify(&s.link.group, &invite_key(&s), &long),
            Err(InviteError::NameTooLong(65))
        );
    }

    #[test]
    fn bad_keys_and_lengths_are_refused() {
        let s = setup();
        assert_eq!(
            JoinProof::decode(&[0; PROOF_LEN - 1]),
            Err(InviteError::ProofLength(PROOF_LEN - 1))
        );
        assert_eq!(
            JoinProof::decode(&[0; PROOF_LEN + 1]),
            Err(InviteError::ProofLength(PROOF_LEN + 1))
        );
        let not_a_point = (0u8..=255)
            .map(|b| [b; 32])
            .find(|k| VerifyingKey::from_bytes(k).is_err())
            .unwrap();
        assert_eq!(
            s.proof.verify(&s.link.group, &not_a_point, &s.info),
            Err(InviteError::BadInviteKey)
        );
    }
}
