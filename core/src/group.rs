//! A group's membership log and key epochs.
//!
//! The log is a DAG of operations, each naming the heads its author saw. Every device
//! validates every operation against the state at its causal position. An operation
//! travels inside a [`Kind::Membership`](crate::envelope::Kind::Membership) envelope,
//! whose signature is the operation's signature.
//!
//! This build implements the first operation, `Create`, which makes the creator the
//! group's first admin and starts epoch 0: the epoch id is the hash of the create
//! operation, and its key is a fresh random key only the creator holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, SecretKey};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

/// Why a membership operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// The operation does not decode.
    #[error("malformed membership operation: {0}")]
    Malformed(String),
    /// The operation belongs to another group.
    #[error("membership operation for another group")]
    WrongGroup,
    /// A second create, or a create after other operations.
    #[error("the group already exists; a second create operation is refused")]
    DuplicateCreate,
    /// The first operation is not a create.
    #[error("the membership log does not start with a create operation")]
    MissingCreate,
    /// The author of the operation is not who it claims to add.
    #[error("operation author {0} is not allowed to do this")]
    NotAllowed(MemberId),
}

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages membership, keys and policy.
    Admin,
    /// Reads and writes the group's documents.
    Member,
}

/// Whether new members receive the group's past.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HistoryPolicy {
    /// New members receive past keys and see everything.
    #[default]
    Full,
    /// New members see chat from their admission on.
    FromJoin,
}

/// A member as the log records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The member's Ed25519 key.
    pub id: MemberId,
    /// The member's X25519 key, for receiving group keys.
    pub exchange: [u8; 32],
    /// The device's transport key (its network identity).
    pub peer: [u8; 32],
    /// The display name the member chose.
    pub name: String,
}

/// What an operation does.
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
}

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

    /// Decodes an operation received from the network or disk.
    pub fn decode(bytes: &[u8]) -> Result<Op, GroupError> {
        postcard::from_bytes(bytes).map_err(|e| GroupError::Malformed(e.to_string()))
    }

    /// The operation's hash; for a create (and later, rotate) operation, the epoch id.
    pub fn hash(&self) -> Hash {
        Hash(crypto::hash("plenum membership op v1", &[&self.encode()]))
    }
}

/// The id of a group's membership-log document.
pub fn membership_doc(group: &GroupId) -> DocId {
    DocId::derived(group, b"membership log")
}

/// The id of a group's directory document.
pub fn directory_doc(group: &GroupId) -> DocId {
    DocId::derived(group, b"directory")
}

/// A member in the current state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Who, as recorded.
    pub info: MemberInfo,
    /// What they may do.
    pub role: Role,
    /// When they joined.
    pub joined_at: Timestamp,
}

/// The membership state after applying the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group.
    pub id: GroupId,
    /// The name given at creation.
    pub founding_name: String,
    /// Current members.
    pub members: BTreeMap<MemberId, Member>,
    /// Key epochs in order; the last is current.
    pub epochs: Vec<Hash>,
    /// The history policy.
    pub history: HistoryPolicy,
    /// The log's heads.
    pub heads: Vec<Hash>,
}

impl GroupState {
    /// Builds the state from the create operation.
    pub fn from_create(op: &Op) -> Result<GroupState, GroupError> {
        let OpKind::Create {
            name,
            creator,
            history,
        } = &op.kind;
        if creator.id != op.author {
            return Err(GroupError::NotAllowed(op.author));
        }
        let mut members = BTreeMap::new();
        members.insert(
            creator.id,
            Member {
                info: creator.clone(),
                role: Role::Admin,
                joined_at: op.at,
            },
        );
        let hash = op.hash();
        Ok(GroupState {
            id: op.group,
            founding_name: name.clone(),
            members,
            epochs: vec![hash],
            history: *history,
            heads: vec![hash],
        })
    }

    /// Applies a later operation, validated against this state.
    pub fn apply(&mut self, op: &Op) -> Result<(), GroupError> {
        if op.group != self.id {
            return Err(GroupError::WrongGroup);
        }
        match op.kind {
            OpKind::Create { .. } => Err(GroupError::DuplicateCreate),
        }
    }

    /// The current epoch id.
    pub fn current_epoch(&self) -> Hash {
        // from_create always records epoch 0, so the list is never empty.
        self.epochs.last().copied().unwrap_or(Hash([0; 32]))
    }

    /// Whether `member` is currently a member.
    pub fn is_member(&self, member: &MemberId) -> bool {
        self.members.contains_key(member)
    }

    /// Whether `member` is currently an admin.
    pub fn is_admin(&self, member: &MemberId) -> bool {
        self.members
            .get(member)
            .is_some_and(|m| m.role == Role::Admin)
    }
}

/// This device's secrets for one group: its member keys and the epoch keys it holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct GroupSecrets {
    /// This device's member keys in the group.
    pub member: MemberKeys,
    epochs: Vec<(Hash, Zeroizing<[u8; 32]>)>,
}

impl GroupSecrets {
    /// Secrets holding one epoch key.
    pub fn new(member: MemberKeys, epoch: Hash, key: &SecretKey) -> GroupSecrets {
        GroupSecrets {
            member,
            epochs: vec![(epoch, Zeroizing::new(*key.as_bytes()))],
        }
    }

    /// The key of `epoch`, if this device holds it.
    pub fn epoch_key(&self, epoch: &Hash) -> Option<SecretKey> {
        self.epochs
            .iter()
            .find(|(id, _)| id == epoch)
            .map(|(_, k)| SecretKey::from_bytes(**k))
    }
}

/// Everything a new group starts with.
pub struct NewGroup {
    /// The create operation, to be sealed as the log's first envelope.
    pub op: Op,
    /// The founder's state.
    pub state: GroupState,
    /// The founder's secrets, holding the epoch-0 key.
    pub secrets: GroupSecrets,
}

/// Founds a group: fresh group id, member keys and epoch-0 key.
pub fn create(name: String, founder_name: String, peer: [u8; 32], now: Timestamp) -> NewGroup {
    let group = GroupId::random();
    let member = MemberKeys::generate();
    let creator = MemberInfo {
        id: member.id(),
        exchange: member.exchange_public(),
        peer,
        name: founder_name,
    };
    let op = Op {
        group,
        author: member.id(),
        heads: Vec::new(),
        at: now,
        kind: OpKind::Create {
            name,
            creator,
            history: HistoryPolicy::default(),
        },
    };
    // The create op names its own author as creator, so this cannot fail.
    let state = GroupState::from_create(&op).unwrap_or_else(|_| unreachable!("founder is author"));
    let secrets = GroupSecrets::new(member, state.current_epoch(), &SecretKey::random());
    NewGroup { op, state, secrets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_makes_the_founder_admin_of_epoch_zero() {
        let g = create("Tenants".into(), "Ana".into(), [5; 32], Timestamp(1));
        let me = g.secrets.member.id();
        assert!(g.state.is_admin(&me));
        assert_eq!(g.state.current_epoch(), g.op.hash());
        assert!(g.secrets.epoch_key(&g.op.hash()).is_some());
        assert_eq!(Op::decode(&g.op.encode()).unwrap(), g.op);
    }

    #[test]
    fn a_second_create_or_a_foreign_op_is_refused() {
        let g = create("Tenants".into(), "Ana".into(), [5; 32], Timestamp(1));
        let mut state = g.state.clone();
        assert_eq!(state.apply(&g.op), Err(GroupError::DuplicateCreate));
        let other = create("Other".into(), "Bo".into(), [6; 32], Timestamp(1));
        assert_eq!(state.apply(&other.op), Err(GroupError::WrongGroup));
        let mut forged = g.op.clone();
        forged.author = other.secrets.member.id();
        assert!(matches!(
            GroupState::from_create(&forged),
            Err(GroupError::NotAllowed(_))
        ));
        assert!(Op::decode(b"\xff\xff").is_err());
    }
}
