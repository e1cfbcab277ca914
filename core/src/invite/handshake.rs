//! The messages of the join handshake, after the joiner has a nonce from an admitter:
//! the joiner's [`JoinRequest`] and the admitter's [`Welcome`]. Encoded with postcard;
//! the network carries them over a connection already authenticated by Noise.

use serde::{Deserialize, Serialize};

use super::InviteError;
use crate::envelope::MAX_ENVELOPE_LEN;
use crate::group::{KeyGrant, MemberInfo};
use crate::ids::GroupId;

/// The largest welcome accepted: a group's whole history travels in it.
pub const MAX_WELCOME_LEN: usize = 256 * 1024 * 1024;
/// The largest join request accepted.
pub const MAX_REQUEST_LEN: usize = 4096;

/// What a joiner sends an admitter: who it will be in the group, and its proof that
/// it holds the invite's secret (see [`JoinProof`](super::JoinProof)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The group the link is for.
    pub group: GroupId,
    /// The invite's public key, derived from the link's secret.
    pub invite_key: [u8; 32],
    /// The joiner's member keys, transport key and name.
    pub member: MemberInfo,
    /// The encoded [`JoinProof`](super::JoinProof).
    pub proof: Vec<u8>,
}

/// What an admitter answers: the keys the new member may hold, wrapped to it, and
/// every envelope of the group it can open. The joiner validates all of it as it would
/// any envelope from the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The group.
    pub group: GroupId,
    /// Keys wrapped to the joiner's X25519 key.
    pub grants: Vec<KeyGrant>,
    /// The group's envelopes, the membership log's included.
    pub envelopes: Vec<Vec<u8>>,
}

impl JoinRequest {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes a request from the network.
    pub fn decode(bytes: &[u8]) -> Result<JoinRequest, InviteError> {
        if bytes.len() > MAX_REQUEST_LEN {
            return Err(InviteError::MessageTooLarge(bytes.len()));
        }
        strict(bytes)
    }
}

impl Welcome {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes a welcome from the network.
    pub fn decode(bytes: &[u8]) -> Result<Welcome, InviteError> {
        if bytes.len() > MAX_WELCOME_LEN {
            return Err(InviteError::MessageTooLarge(bytes.len()));
        }
        let welcome: Welcome = strict(bytes)?;
        if let Some(big) = welcome
            .envelopes
            .iter()
            .find(|e| e.len() > MAX_ENVELOPE_LEN)
        {
            return Err(InviteError::MessageTooLarge(big.len()));
        }
        Ok(welcome)
    }
}

/// Decodes a whole message: trailing bytes are refused.
fn strict<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, InviteError> {
    let (value, rest) =
        postcard::take_from_bytes(bytes).map_err(|e| InviteError::BadMessage(e.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(InviteError::BadMessage(format!(
            "{} trailing bytes",
            rest.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MemberId;

    #[test]
    fn messages_round_trip_and_refuse_trailing_bytes_and_garbage() {
        let request = JoinRequest {
            group: GroupId([1; 32]),
            invite_key: [2; 32],
            member: MemberInfo {
                id: MemberId([3; 32]),
                exchange: [4; 32],
                peer: [5; 32],
                name: "Bo".into(),
            },
            proof: vec![6; 192],
        };
        let bytes = request.encode();
        assert_eq!(JoinRequest::decode(&bytes), Ok(request));
        let mut longer = bytes;
        longer.push(0);
        assert!(matches!(
            JoinRequest::decode(&longer),
            Err(InviteError::BadMessage(_))
        ));
        assert!(matches!(
            JoinRequest::decode(&vec![0; MAX_REQUEST_LEN + 1]),
            Err(InviteError::MessageTooLarge(_))
        ));
        let welcome = Welcome {
            group: GroupId([1; 32]),
            grants: Vec::new(),
            envelopes: vec![vec![7; 10]],
        };
        let bytes = welcome.encode();
        assert_eq!(Welcome::decode(&bytes), Ok(welcome));
        assert!(Welcome::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(Welcome::decode(&[0xff; 3]).is_err());
    }
}
