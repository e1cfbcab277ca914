//! The membership state that results from applying operations, and the effect of each.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{GroupError, HistoryPolicy, MemberInfo, Op, OpKind, Role, rules};
use crate::ids::{DocId, GroupId, Hash, MemberId};
use crate::time::Timestamp;

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

/// An invite as the log records it: only its public key, never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Who created it.
    pub creator: MemberId,
    /// The Ed25519 public key derived from the invite secret.
    pub key: [u8; 32],
    /// How many people it may admit.
    pub uses: u32,
    /// How many it admitted.
    pub used: u32,
    /// It admits only operations whose time is before this.
    pub expires: Timestamp,
    /// Whether it was revoked (explicitly, or by its creator's removal or leave).
    pub revoked: bool,
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
    /// Invites by the hash of their `CreateInvite` operation.
    #[serde(default)]
    pub invites: BTreeMap<Hash, Invite>,
    /// Whether members who are not admins may create invites.
    #[serde(default = "allowed")]
    pub member_invites: bool,
    /// For each removed member, its last accepted seq per document, recorded by the
    /// removal for later enforcement; several removals merge, keeping the highest.
    #[serde(default)]
    pub cutoffs: BTreeMap<MemberId, BTreeMap<DocId, u64>>,
    /// Whether the current epoch's key is held by anyone but exactly the members (someone
    /// who holds it left or was removed, or a member admitted concurrently with its
    /// rotation lacks it): documents must not be sealed under it until a rotation.
    #[serde(default)]
    pub rekey_needed: bool,
    /// Members whose content admins hid from every view.
    #[serde(default)]
    pub hidden: BTreeSet<MemberId>,
    /// The names of members who left or were removed, for showing what they wrote.
    #[serde(default)]
    pub former: BTreeMap<MemberId, String>,
    /// The relays the group uses (binary multiaddrs), as the last `SetRelays` said.
    /// Not in this struct's encoding, which schema 2 fixed: the node stores it after
    /// the group record (see its `GroupRecord::encode`).
    #[serde(skip)]
    pub relays: Vec<Vec<u8>>,
}

fn allowed() -> bool {
    true
}

impl GroupState {
    /// Builds the state from the create operation.
    pub fn from_create(op: &Op) -> Result<GroupState, GroupError> {
        let OpKind::Create {
            name,
            creator,
            history,
        } = &op.kind
        else {
            return Err(GroupError::MissingCreate);
        };
        if creator.id != op.author {
            return Err(GroupError::NotAllowed(op.author));
        }
        if !op.heads.is_empty() {
            return Err(GroupError::Malformed(
                "a create operation names no heads".into(),
            ));
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
            invites: BTreeMap::new(),
            member_invites: true,
            cutoffs: BTreeMap::new(),
            rekey_needed: false,
            hidden: BTreeSet::new(),
            former: BTreeMap::new(),
            relays: Vec::new(),
        })
    }

    /// Applies the next operation of a linear log, validated against this state.
    ///
    /// Concurrent branches need the rules that only the whole DAG can settle; they go
    /// through [`MembershipLog`](super::MembershipLog).
    pub fn apply(&mut self, op: &Op) -> Result<(), GroupError> {
        rules::check(self, op)?;
        let hash = op.hash();
        self.apply_effect(op, hash);
        self.heads.retain(|h| !op.heads.contains(h));
        self.heads.push(hash);
        self.heads.sort();
        Ok(())
    }

    /// Applies an operation's effect without validating it. Effects are written so that
    /// applying concurrent operations in any canonical order is well defined: an
    /// operation about a member who is gone changes nothing.
    pub(super) fn apply_effect(&mut self, op: &Op, hash: Hash) {
        match &op.kind {
            OpKind::Create { .. } => {}
            OpKind::Add { member, role } => {
                self.members.entry(member.id).or_insert_with(|| Member {
                    info: member.clone(),
                    role: *role,
                    joined_at: op.at,
                });
            }
            OpKind::Remove { member, cutoff } => {
                self.record_cutoff(member, cutoff);
                self.depart(member);
            }
            OpKind::Leave { cutoff } => {
                self.record_cutoff(&op.author, cutoff);
                self.depart(&op.author);
            }
            OpKind::ChangeRole { member, role } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.role = *role;
                }
            }
            OpKind::SetHistory { policy } => self.history = *policy,
            OpKind::SetRelays { relays } => self.relays.clone_from(relays),
            OpKind::SetHidden { member, hidden } => {
                if *hidden {
                    self.hidden.insert(*member);
                } else {
                    self.hidden.remove(member);
                }
            }
            OpKind::SetMemberInvites { allowed } => self.member_invites = *allowed,
            OpKind::CreateInvite {
                invite_key,
                uses,
                expires,
            } => {
                self.invites.insert(
                    hash,
                    Invite {
                        creator: op.author,
                        key: *invite_key,
                        uses: *uses,
                        used: 0,
                        expires: *expires,
                        revoked: false,
                    },
                );
            }
            OpKind::RevokeInvite { invite } => {
                if let Some(i) = self.invites.get_mut(invite) {
                    i.revoked = true;
                }
            }
            OpKind::Rotate { keys } => {
                self.epochs.push(hash);
                // A rotation concurrent with a removal may have wrapped the key to the
                // removed member: then the new epoch is exposed too.
                self.rekey_needed = keys.keys().any(|m| !self.members.contains_key(m));
            }
            OpKind::Admit { invite, member, .. } => {
                if let Some(i) = self.invites.get_mut(invite) {
                    i.used = i.used.saturating_add(1);
                }
                self.members.entry(member.id).or_insert_with(|| Member {
                    info: member.clone(),
                    role: Role::Member,
                    joined_at: op.at,
                });
            }
        }
    }

    /// Records how far a departing member's writing counts. Concurrent removers may
    /// have seen different seqs: keep the highest either saw.
    fn record_cutoff(&mut self, member: &MemberId, cutoff: &BTreeMap<DocId, u64>) {
        let merged = self.cutoffs.entry(*member).or_default();
        for (doc, seq) in cutoff {
            let kept = merged.entry(*doc).or_insert(*seq);
            *kept = (*kept).max(*seq);
        }
    }

    /// A member leaves: it is no longer a member and its invites are revoked.
    fn depart(&mut self, member: &MemberId) {
        if let Some(gone) = self.members.remove(member) {
            self.former.insert(*member, gone.info.name);
            self.rekey_needed = true;
        }
        for invite in self.invites.values_mut() {
            if invite.creator == *member {
                invite.revoked = true;
            }
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

    /// How many admins the group has.
    pub fn admin_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.role == Role::Admin)
            .count()
    }
}
