//! A group's membership log and key epochs.
//!
//! The log is a DAG of operations ([`Op`]), each naming the heads its author saw; the
//! create operation names none. An operation travels inside a
//! [`Kind::Membership`](crate::envelope::Kind::Membership) envelope, whose signature is
//! the operation's signature.
//!
//! [`MembershipLog`] is a pure state machine (no I/O): it takes operations in any
//! arrival order, holds those whose heads it has not seen yet in a bounded pending set,
//! and computes the [`GroupState`] from the DAG. It processes operations in a canonical
//! topological order (causal depth, then operation hash) and validates each against the
//! state at its causal position: the author must hold the needed role in the causal past
//! of the operation. Written rules settle concurrency (see `protocol-spec/membership.md`):
//!
//! - a removal (or leave) of M voids M's operations concurrent with it, except M's own
//!   removal of its remover; a removed or departed member's invites are revoked;
//! - an operation that would leave the group with no admin is void; between concurrent
//!   operations, the one later in the canonical order is the one that is void;
//! - an invite admitted more often than its uses across partitions keeps the admissions
//!   with the lowest operation hashes; the others are void;
//! - an invite admits only while the admitting operation's time is before its expiry.
//!
//! Key epochs: the create operation starts epoch 0; a [`OpKind::Rotate`] wraps a fresh
//! key to exactly the members in its author's view and starts the epoch named by its
//! hash ([`rotation`], [`GroupSecrets::learn_rotation`]). [`GroupState::rekey_needed`]
//! says when the current epoch's holders are not exactly the members, and a writer then
//! rotates before sealing. An `Admit`'s join proof is verified against the invite's key
//! by every device; a removal's per-document cutoffs are enforced at ingest. See
//! `protocol-spec/key-epochs.md`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, SecretKey, WrappedKey};
use crate::identity::MemberKeys;
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

mod concurrency;
mod log;
mod ops;
mod rules;
mod state;

#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod convergence_tests;
#[cfg(test)]
mod epoch_vectors_tests;
#[cfg(test)]
mod epochs_tests;
#[cfg(test)]
mod lockout_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod vectors_tests;

pub use log::{Applied, MAX_PENDING, MembershipLog};
pub use ops::{MAX_GROUP_RELAYS, MAX_RELAY_ADDRESS_LEN, Op, OpKind};
pub use state::{GroupState, Invite, Member};

/// Why a membership operation was refused or is void.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// The operation does not decode, or is not well formed.
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
    /// The author, or the member the operation is about, is not a member.
    #[error("{0} is not a member of this group")]
    NotAMember(MemberId),
    /// Only admins may do this.
    #[error("{author} is not an admin; only admins may {action}")]
    AdminOnly {
        /// Who tried.
        author: MemberId,
        /// What they tried, in words.
        action: &'static str,
    },
    /// The member to add or admit is already a member.
    #[error("{0} is already a member of this group")]
    AlreadyMember(MemberId),
    /// The operation would leave the group without an admin.
    #[error(
        "the group's last admin cannot be removed, demoted or leave; make another member admin first"
    )]
    LastAdmin,
    /// The group's admins turned off invites by members who are not admins.
    #[error("only admins may create invites in this group")]
    MemberInvitesDisabled,
    /// An invite must admit at least one person.
    #[error("an invite must allow at least one use")]
    NoUses,
    /// No invite with this hash exists in the causal past.
    #[error("invite {0} does not exist")]
    UnknownInvite(Hash),
    /// The invite was revoked, or its creator is no longer a member.
    #[error("invite {0} was revoked")]
    InviteRevoked(Hash),
    /// The invite's expiry is not after the admission's time.
    #[error("invite {invite} expired at {expires}")]
    InviteExpired {
        /// The invite.
        invite: Hash,
        /// When it expired.
        expires: Timestamp,
    },
    /// Every use of the invite was already taken.
    #[error("invite {invite} was already used {uses} time(s), its limit")]
    InviteUsedUp {
        /// The invite.
        invite: Hash,
        /// How many uses it allowed.
        uses: u32,
    },
    /// A concurrent admission with a lower hash took the invite's last use.
    #[error("invite {invite} was used by a concurrent admission ({winner})")]
    InviteTakenConcurrently {
        /// The invite.
        invite: Hash,
        /// The admission that stands.
        winner: Hash,
    },
    /// The author was removed (or left) concurrently, which voids this operation.
    #[error("{member} was removed by a concurrent operation ({removal})")]
    RemovedConcurrently {
        /// The author of the void operation.
        member: MemberId,
        /// The removal or leave that voids it.
        removal: Hash,
    },
    /// A rotation must wrap its key to exactly the members in its author's view.
    #[error(
        "a key rotation must wrap the key to every member and no one else \
         (missing: {missing:?}, not members: {strangers:?})"
    )]
    RotationRecipients {
        /// Members the key was not wrapped to.
        missing: Vec<MemberId>,
        /// Recipients who are not members.
        strangers: Vec<MemberId>,
    },
    /// A member's X25519 key is of low order, so no key can be wrapped to it.
    #[error("{0} has an unusable key-exchange key (low order); refused")]
    BadExchangeKey(MemberId),
    /// The admission's proof does not verify against the invite.
    #[error("the admission's proof is invalid: {0}")]
    BadProof(String),
    /// Too many operations wait for heads this device has not seen.
    #[error("{0} membership operations already wait for missing predecessors; catch up first")]
    PendingFull(usize),
}

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages membership, keys and policy.
    Admin,
    /// Reads and writes the group's documents.
    Member,
}

/// Whether new members receive the group's past.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
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

/// The id of a group's membership-log document.
pub fn membership_doc(group: &GroupId) -> DocId {
    DocId::derived(group, b"membership log")
}

/// The id of a group's directory document.
pub fn directory_doc(group: &GroupId) -> DocId {
    DocId::derived(group, b"directory")
}

/// The associated data that binds an epoch key wrapped in a rotation to its group and
/// recipient.
pub fn wrap_context(group: &GroupId, recipient: &MemberId) -> Vec<u8> {
    [
        b"plenum epoch key v1".as_slice(),
        group.as_bytes(),
        recipient.as_bytes(),
    ]
    .concat()
}

/// Builds a rotation by `author` at `heads`: a fresh key wrapped to every member of
/// `state`. Returns the operation and the new key (whose epoch id is the op's hash).
pub fn rotation(
    state: &GroupState,
    author: MemberId,
    heads: Vec<Hash>,
    at: Timestamp,
) -> Result<(Op, SecretKey), GroupError> {
    let key = SecretKey::random();
    let mut keys = std::collections::BTreeMap::new();
    for (id, member) in &state.members {
        let wrapped = crypto::wrap_key(&member.info.exchange, &key, &wrap_context(&state.id, id))
            .map_err(|_| GroupError::BadExchangeKey(*id))?;
        keys.insert(*id, wrapped);
    }
    let op = Op {
        group: state.id,
        author,
        heads,
        at,
        kind: OpKind::Rotate { keys },
    };
    Ok((op, key))
}

/// A key handed to a new member at admission, wrapped to its X25519 key: a whole epoch
/// key, or (for a group whose history starts at each member's join) one document's key
/// of a past epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    /// The epoch.
    pub epoch: Hash,
    /// The document, when only that document's key is granted.
    pub doc: Option<DocId>,
    /// The key, wrapped with [`grant_context`] as associated data.
    pub wrapped: WrappedKey,
}

/// The associated data of a [`KeyGrant`].
pub fn grant_context(
    group: &GroupId,
    recipient: &MemberId,
    epoch: &Hash,
    doc: Option<&DocId>,
) -> Vec<u8> {
    let mut out = b"plenum key grant v1".to_vec();
    out.extend_from_slice(group.as_bytes());
    out.extend_from_slice(recipient.as_bytes());
    out.extend_from_slice(epoch.as_bytes());
    if let Some(doc) = doc {
        out.extend_from_slice(doc.as_bytes());
    }
    out
}

/// This device's secrets for one group: its member keys and the epoch keys (or, for
/// epochs before it joined a "from join" group, single documents' keys) it holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct GroupSecrets {
    /// This device's member keys in the group.
    pub member: MemberKeys,
    epochs: Vec<(Hash, Zeroizing<[u8; 32]>)>,
    doc_keys: Vec<(Hash, DocId, Zeroizing<[u8; 32]>)>,
}

impl GroupSecrets {
    /// Secrets holding one epoch key.
    pub fn new(member: MemberKeys, epoch: Hash, key: &SecretKey) -> GroupSecrets {
        let mut secrets = GroupSecrets::empty(member);
        secrets.add_epoch(epoch, key);
        secrets
    }

    /// Secrets holding no key yet: a joiner's, before its grants arrive.
    pub fn empty(member: MemberKeys) -> GroupSecrets {
        GroupSecrets {
            member,
            epochs: Vec::new(),
            doc_keys: Vec::new(),
        }
    }

    /// The key of `epoch`, if this device holds it.
    pub fn epoch_key(&self, epoch: &Hash) -> Option<SecretKey> {
        self.epochs
            .iter()
            .find(|(id, _)| id == epoch)
            .map(|(_, k)| SecretKey::from_bytes(**k))
    }

    /// Whether this device holds the key of `epoch` itself.
    pub fn has_epoch(&self, epoch: &Hash) -> bool {
        self.epochs.iter().any(|(id, _)| id == epoch)
    }

    /// Every epoch whose key this device holds.
    pub fn epochs(&self) -> impl Iterator<Item = &Hash> {
        self.epochs.iter().map(|(id, _)| id)
    }

    /// The key for `doc`'s envelopes sealed under `epoch`: derived from the epoch key,
    /// or granted for that document alone.
    pub fn doc_key(&self, epoch: &Hash, doc: &DocId) -> Option<SecretKey> {
        if let Some(key) = self.epoch_key(epoch) {
            return Some(crate::envelope::doc_key(&key, doc));
        }
        self.doc_keys
            .iter()
            .find(|(e, d, _)| e == epoch && d == doc)
            .map(|(_, _, k)| SecretKey::from_bytes(**k))
    }

    /// Records an epoch key.
    pub fn add_epoch(&mut self, epoch: Hash, key: &SecretKey) {
        if !self.has_epoch(&epoch) {
            self.epochs.push((epoch, Zeroizing::new(*key.as_bytes())));
        }
    }

    /// Takes this member's key from a rotation, if it wraps one to this member.
    pub fn learn_rotation(
        &mut self,
        group: &GroupId,
        epoch: Hash,
        op: &Op,
    ) -> Result<bool, CryptoError> {
        let OpKind::Rotate { keys } = &op.kind else {
            return Ok(false);
        };
        let me = self.member.id();
        let Some(wrapped) = keys.get(&me) else {
            return Ok(false);
        };
        if self.has_epoch(&epoch) {
            return Ok(false);
        }
        let key = crypto::unwrap_key(
            &self.member.exchange_secret(),
            wrapped,
            &wrap_context(group, &me),
        )?;
        self.add_epoch(epoch, &key);
        Ok(true)
    }

    /// Wraps what this device holds for a new member: every epoch key, or under a
    /// "from join" policy only the keys of `docs` in each epoch (the caller then rotates,
    /// so the joiner gets the new epoch's key from the rotation).
    pub fn grants_for(
        &self,
        group: &GroupId,
        joiner: &MemberInfo,
        docs: Option<&[DocId]>,
    ) -> Result<Vec<KeyGrant>, CryptoError> {
        let mut grants = Vec::new();
        for (epoch, key) in &self.epochs {
            let key = SecretKey::from_bytes(**key);
            let mut grant = |doc: Option<&DocId>, key: &SecretKey| -> Result<(), CryptoError> {
                let context = grant_context(group, &joiner.id, epoch, doc);
                grants.push(KeyGrant {
                    epoch: *epoch,
                    doc: doc.copied(),
                    wrapped: crypto::wrap_key(&joiner.exchange, key, &context)?,
                });
                Ok(())
            };
            match docs {
                None => grant(None, &key)?,
                Some(docs) => {
                    for doc in docs {
                        grant(Some(doc), &crate::envelope::doc_key(&key, doc))?;
                    }
                }
            }
        }
        Ok(grants)
    }

    /// Takes the keys granted to this member at its admission.
    pub fn accept_grants(
        &mut self,
        group: &GroupId,
        grants: &[KeyGrant],
    ) -> Result<(), CryptoError> {
        let me = self.member.id();
        for grant in grants {
            let context = grant_context(group, &me, &grant.epoch, grant.doc.as_ref());
            let key = crypto::unwrap_key(&self.member.exchange_secret(), &grant.wrapped, &context)?;
            match grant.doc {
                None => self.add_epoch(grant.epoch, &key),
                Some(doc) => {
                    if self.doc_key(&grant.epoch, &doc).is_none() {
                        self.doc_keys
                            .push((grant.epoch, doc, Zeroizing::new(*key.as_bytes())));
                    }
                }
            }
        }
        Ok(())
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
