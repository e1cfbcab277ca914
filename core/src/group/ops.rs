//! The operations of the membership log and their canonical encoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{GroupError, HistoryPolicy, MemberInfo, Role};
use crate::crypto::{self, WrappedKey};
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

/// What an operation does.
///
/// New variants are appended at the end: postcard encodes the variant's index, and the
/// operation hash covers the encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// Founds the group: the author becomes its first admin; starts epoch 0.
    Create {
        /// The group's initial name (the directory document holds renames).
        name: String,
        /// The founder.
        creator: MemberInfo,
        /// The history policy.
        history: HistoryPolicy,
    },
    /// Adds a member directly (admins only).
    Add {
        /// Who joins.
        member: MemberInfo,
        /// With which role.
        role: Role,
    },
    /// Removes a member (admins only).
    Remove {
        /// Who leaves the group.
        member: MemberId,
        /// The removed member's last accepted seq per document, as the remover saw it;
        /// anything of theirs above it is to be rejected.
        cutoff: BTreeMap<DocId, u64>,
    },
    /// Changes a member's role (admins only).
    ChangeRole {
        /// Whose role.
        member: MemberId,
        /// The new role.
        role: Role,
    },
    /// The author leaves the group.
    Leave {
        /// The author's own last seq per document, as it leaves: anything of its above
        /// this is to be rejected, and what it wrote up to here still counts when it
        /// arrives after the leave.
        cutoff: BTreeMap<DocId, u64>,
    },
    /// Sets the history policy (admins only).
    SetHistory {
        /// The new policy.
        policy: HistoryPolicy,
    },
    /// Creates an invite (any member, unless the group disabled member invites).
    CreateInvite {
        /// The Ed25519 public key derived from the invite secret.
        invite_key: [u8; 32],
        /// How many people the invite may admit.
        uses: u32,
        /// The invite admits only operations whose time is before this.
        expires: Timestamp,
    },
    /// Revokes an invite (admins, or the invite's creator).
    RevokeInvite {
        /// The hash of the `CreateInvite` operation.
        invite: Hash,
    },
    /// Admits a joiner who holds an invite (any member); consumes one use.
    Admit {
        /// The hash of the `CreateInvite` operation.
        invite: Hash,
        /// The joiner.
        member: MemberInfo,
        /// The joiner's [`JoinProof`](crate::invite::JoinProof), which every device
        /// verifies against the invite's key.
        proof: Vec<u8>,
    },
    /// Allows or forbids invites by members who are not admins (admins only).
    SetMemberInvites {
        /// Whether members may create invites.
        allowed: bool,
    },
    /// Starts a new key epoch (any member): a fresh group key, wrapped to the X25519 key
    /// of every member in the author's view and to no one else. The epoch id is this
    /// operation's hash.
    Rotate {
        /// The new epoch key wrapped to each member (see [`super::wrap_context`]).
        keys: BTreeMap<MemberId, WrappedKey>,
    },
    /// Hides (or shows again) everything a member wrote, in every member's views
    /// (admins only). The content stays in the documents; views leave it out.
    SetHidden {
        /// Whose content.
        member: MemberId,
        /// Hidden or shown.
        hidden: bool,
    },
    /// Sets the relays the group uses (admins only): binary multiaddrs ending in each
    /// relay's PeerId, at most [`MAX_GROUP_RELAYS`]. Members keep reservations there,
    /// and invite links lead through them.
    SetRelays {
        /// The relays, in order of preference; empty: none.
        relays: Vec<Vec<u8>>,
    },
}

/// Relays a group names, at most.
pub const MAX_GROUP_RELAYS: usize = 4;
/// Longest relay address, in bytes (as for invite addresses).
pub const MAX_RELAY_ADDRESS_LEN: usize = 255;

/// One signed entry of the membership log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The group.
    pub group: GroupId,
    /// Who wrote it (also the envelope's signer).
    pub author: MemberId,
    /// The log heads the author saw.
    pub heads: Vec<Hash>,
    /// When, by the author's clock.
    pub at: Timestamp,
    /// What it does.
    pub kind: OpKind,
}

impl Op {
    /// The canonical encoding (postcard), which is the envelope's plaintext.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data to a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes an operation received from the network or disk; trailing bytes are
    /// refused, so one operation has one encoding.
    pub fn decode(bytes: &[u8]) -> Result<Op, GroupError> {
        let (op, rest) =
            postcard::take_from_bytes(bytes).map_err(|e| GroupError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(GroupError::Malformed(format!(
                "{} trailing bytes after the operation",
                rest.len()
            )));
        }
        Ok(op)
    }

    /// The operation's hash; for a create or rotate operation, the epoch id.
    pub fn hash(&self) -> Hash {
        Hash(crypto::hash("plenum membership op v1", &[&self.encode()]))
    }

    /// The member this operation removes from the group, if it removes one.
    pub fn removes(&self) -> Option<MemberId> {
        match &self.kind {
            OpKind::Remove { member, .. } => Some(*member),
            OpKind::Leave { .. } => Some(self.author),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_hashes_differ() {
        let info = MemberInfo {
            id: MemberId([2; 32]),
            exchange: [3; 32],
            peer: [4; 32],
            name: "Bo".into(),
        };
        let kinds = vec![
            OpKind::Add {
                member: info.clone(),
                role: Role::Member,
            },
            OpKind::Remove {
                member: info.id,
                cutoff: BTreeMap::from([(DocId([1; 16]), 7)]),
            },
            OpKind::ChangeRole {
                member: info.id,
                role: Role::Admin,
            },
            OpKind::Leave {
                cutoff: BTreeMap::from([(DocId([1; 16]), 3)]),
            },
            OpKind::SetHistory {
                policy: HistoryPolicy::FromJoin,
            },
            OpKind::CreateInvite {
                invite_key: [9; 32],
                uses: 1,
                expires: Timestamp(10),
            },
            OpKind::RevokeInvite {
                invite: Hash([5; 32]),
            },
            OpKind::Admit {
                invite: Hash([5; 32]),
                member: info,
                proof: vec![1, 2, 3],
            },
            OpKind::SetMemberInvites { allowed: false },
            OpKind::SetHidden {
                member: MemberId([2; 32]),
                hidden: true,
            },
            OpKind::SetRelays {
                relays: vec![vec![4, 10, 0, 0, 1]],
            },
            OpKind::Rotate {
                keys: BTreeMap::from([(
                    MemberId([2; 32]),
                    WrappedKey {
                        ephemeral: [6; 32],
                        sealed: vec![7; 56],
                    },
                )]),
            },
        ];
        let mut hashes = std::collections::BTreeSet::new();
        for kind in kinds {
            let op = Op {
                group: GroupId([1; 32]),
                author: MemberId([1; 32]),
                heads: vec![Hash([8; 32])],
                at: Timestamp(5),
                kind,
            };
            assert_eq!(Op::decode(&op.encode()).unwrap(), op);
            assert!(hashes.insert(op.hash()));
        }
    }
}
