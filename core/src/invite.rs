//! Invites: the link that lets someone join a group, the key derived from it, and the
//! proof a joiner shows a member to be admitted. Pure functions, no I/O.
//!
//! The flow (the byte layouts are in `protocol-spec/invite.md`):
//!
//! 1. A member makes an [`InviteLink`] (group id, a fresh 32-byte secret, an expiry and
//!    at most three addresses) and records only the invite's public key
//!    ([`InviteKey::public_key`]) in the group's log with a `CreateInvite` operation.
//!    The link goes to the joiner as text or as a QR code.
//! 2. The joiner parses the link, reaches any online member (found through the
//!    addresses, or at the group's relays under [`InviteLink::rendezvous`]) and gets a
//!    fresh nonce from it.
//! 3. The joiner answers with a [`JoinProof`]: signatures by the invite key and by its
//!    new member key over its member keys, both peer keys and the nonce.
//! 4. The admitter checks it with [`JoinProof::verify`] against the invite key in the
//!    log and, if it holds, writes an `Admit` operation. The inviter need not be online.
//!
//! A link never carries a group key, the group's name or its member list: whoever
//! intercepts one learns the group id and can try to join, nothing more.
//!
//! ```
//! use plenum_core::group::MemberInfo;
//! use plenum_core::identity::MemberKeys;
//! use plenum_core::ids::GroupId;
//! use plenum_core::invite::{InviteLink, JoinProof};
//! use plenum_core::time::Timestamp;
//!
//! # fn main() -> Result<(), plenum_core::invite::InviteError> {
//! let link = InviteLink::new(GroupId::random(), Timestamp(1_900_000_000_000), Vec::new())?;
//! let text = link.to_link();
//! let invite_key = link.invite_key().public_key(); // what the log stores
//!
//! let received: InviteLink = text.parse()?;
//! let keys = MemberKeys::generate();
//! let info = MemberInfo {
//!     id: keys.id(),
//!     exchange: keys.exchange_public(),
//!     peer: [7; 32],
//!     name: "Bo".into(),
//! };
//! let (admitter_peer, nonce) = ([8; 32], [9; 32]);
//! let proof = JoinProof::create(&received, &keys, &info, admitter_peer, nonce)?;
//! let proof = JoinProof::decode(&proof.encode())?;
//! proof.verify(&link.group, &invite_key, &info)?;
//! # Ok(()) }
//! ```

mod handshake;
mod key;
mod link;
mod proof;
mod qr;
#[cfg(test)]
mod vectors_tests;

pub use handshake::{JoinRequest, MAX_REQUEST_LEN, MAX_WELCOME_LEN, Welcome};
pub use key::{InviteKey, invite_public_key};
pub use link::{InviteLink, InviteSecret, LINK_PREFIX, MAX_ADDRESS_LEN, MAX_ADDRESSES};
pub use proof::{JoinProof, PROOF_LEN};

/// Why an invite link, an invite key or a join proof was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum InviteError {
    /// The text does not start with `plenum://join/`.
    #[error("this is not a Plenum invite link: it should start with {LINK_PREFIX}")]
    NotAnInvite,
    /// The text is longer than any invite link can be.
    #[error("this text is {0} characters long, longer than any invite link: copy only the link")]
    TooLong(usize),
    /// The part after the prefix is not base64url without padding.
    #[error("the link is damaged: copy the whole link again")]
    BadBase64,
    /// The payload ends before its fields do.
    #[error("the link is cut short: copy the whole link again")]
    Truncated,
    /// The payload has a version this build does not know.
    #[error("this invite link (version {0}) was made by a newer Plenum; update Plenum to join")]
    UnsupportedVersion(u8),
    /// More addresses than a link may carry.
    #[error("the invite lists {0} addresses; an invite holds at most {MAX_ADDRESSES}")]
    TooManyAddresses(usize),
    /// An address of zero bytes.
    #[error("the invite has an empty address; leave it out or give a real address")]
    EmptyAddress,
    /// An address longer than a link can carry.
    #[error("an invite address is {0} bytes long; the limit is {MAX_ADDRESS_LEN}")]
    AddressTooLong(usize),
    /// The checksum does not match the payload.
    #[error("the link is damaged or was altered: copy it again")]
    ChecksumMismatch,
    /// Bytes after the checksum.
    #[error("the link has {0} unexpected bytes at its end: copy it again")]
    TrailingBytes(usize),
    /// The link does not fit in a QR code.
    #[error("the invite link does not fit in a QR code ({0}); use fewer addresses")]
    QrTooLarge(String),
    /// A join proof of the wrong length.
    #[error("a join proof is {PROOF_LEN} bytes, this one is {0}: the joiner sent a damaged proof")]
    ProofLength(usize),
    /// The joiner's display name cannot go into a proof.
    #[error("the display name is {0} bytes long; the limit is {limit}", limit = crate::identity::MAX_NAME_LEN)]
    NameTooLong(usize),
    /// The member info given to [`JoinProof::create`] is not that of the member keys.
    #[error("the member info does not belong to these member keys; build it from the same keys")]
    KeysMismatch,
    /// The invite public key is not a valid Ed25519 key.
    #[error("the invite key in the log is not a valid Ed25519 public key")]
    BadInviteKey,
    /// The joiner's member id is not a valid Ed25519 key.
    #[error("the joiner's member id {0} is not a valid Ed25519 public key")]
    BadMemberKey(crate::ids::MemberId),
    /// The invite signature does not verify.
    #[error("the joiner does not hold this invite's secret: the proof is not for this invite")]
    InviteSignature,
    /// The member signature does not verify.
    #[error(
        "the join proof was not signed by the joiner's member key {0}: do not admit this joiner"
    )]
    MemberSignature(crate::ids::MemberId),
    /// A handshake message larger than allowed.
    #[error("a join handshake message of {0} bytes is larger than allowed; refused")]
    MessageTooLarge(usize),
    /// A handshake message that does not decode.
    #[error("a damaged join handshake message: {0}")]
    BadMessage(String),
}
