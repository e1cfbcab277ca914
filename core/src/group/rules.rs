//! Validation of one operation against the state at its causal position.
//!
//! These rules see a single state; the rules that need the whole DAG (concurrent
//! removals, invites admitted on two branches) live in the log.

use super::ops::{MAX_GROUP_RELAYS, MAX_RELAY_ADDRESS_LEN};
use super::{GroupError, GroupState, MemberInfo, Op, OpKind, Role};
use crate::ids::MemberId;
use crate::invite::JoinProof;

/// Checks that `op` may be applied to `state`: the author is a member with the role the
/// operation needs, the members and invites it names exist, and the group keeps an admin.
pub(super) fn check(state: &GroupState, op: &Op) -> Result<(), GroupError> {
    if op.group != state.id {
        return Err(GroupError::WrongGroup);
    }
    if let OpKind::Create { .. } = op.kind {
        return Err(GroupError::DuplicateCreate);
    }
    if !state.is_member(&op.author) {
        return Err(GroupError::NotAMember(op.author));
    }
    let admin = |action| {
        if state.is_admin(&op.author) {
            Ok(())
        } else {
            Err(GroupError::AdminOnly {
                author: op.author,
                action,
            })
        }
    };
    match &op.kind {
        OpKind::Create { .. } => Err(GroupError::DuplicateCreate),
        OpKind::Add { member, .. } => {
            admin("add members")?;
            contributory(member)?;
            absent(state, &member.id)
        }
        OpKind::Remove { member, .. } => {
            admin("remove members")?;
            present(state, member)?;
            keeps_an_admin(state, member)
        }
        OpKind::ChangeRole { member, role } => {
            admin("change roles")?;
            present(state, member)?;
            if *role == Role::Admin {
                Ok(())
            } else {
                keeps_an_admin(state, member)
            }
        }
        OpKind::Leave { .. } => keeps_an_admin(state, &op.author),
        OpKind::SetHistory { .. } => admin("set the history policy"),
        OpKind::SetMemberInvites { .. } => admin("allow or forbid member invites"),
        OpKind::SetHidden { .. } => admin("hide a member's content"),
        OpKind::SetRelays { relays } => {
            admin("choose the group's relays")?;
            if relays.len() > MAX_GROUP_RELAYS
                || relays
                    .iter()
                    .any(|r| r.is_empty() || r.len() > MAX_RELAY_ADDRESS_LEN)
            {
                return Err(GroupError::Malformed(format!(
                    "a group names at most {MAX_GROUP_RELAYS} relays of 1 to \
                     {MAX_RELAY_ADDRESS_LEN} bytes each"
                )));
            }
            Ok(())
        }
        OpKind::CreateInvite { uses, .. } => {
            if !state.member_invites && !state.is_admin(&op.author) {
                return Err(GroupError::MemberInvitesDisabled);
            }
            if *uses == 0 {
                return Err(GroupError::NoUses);
            }
            Ok(())
        }
        OpKind::RevokeInvite { invite } => {
            let found = state
                .invites
                .get(invite)
                .ok_or(GroupError::UnknownInvite(*invite))?;
            if found.creator != op.author {
                admin("revoke invites created by others")?;
            }
            if found.revoked {
                return Err(GroupError::InviteRevoked(*invite));
            }
            Ok(())
        }
        OpKind::Admit {
            invite,
            member,
            proof,
        } => {
            let found = state
                .invites
                .get(invite)
                .ok_or(GroupError::UnknownInvite(*invite))?;
            // Only someone holding the invite's secret (and the keys it joins with)
            // could have made the proof; every device checks it, not just the admitter.
            JoinProof::decode(proof)
                .and_then(|p| p.verify(&state.id, &found.key, member))
                .map_err(|e| GroupError::BadProof(e.to_string()))?;
            if found.revoked {
                return Err(GroupError::InviteRevoked(*invite));
            }
            if op.at >= found.expires {
                return Err(GroupError::InviteExpired {
                    invite: *invite,
                    expires: found.expires,
                });
            }
            if found.used >= found.uses {
                return Err(GroupError::InviteUsedUp {
                    invite: *invite,
                    uses: found.uses,
                });
            }
            contributory(member)?;
            absent(state, &member.id)
        }
        OpKind::Rotate { keys } => {
            let missing: Vec<MemberId> = state
                .members
                .keys()
                .filter(|m| !keys.contains_key(m))
                .copied()
                .collect();
            let strangers: Vec<MemberId> = keys
                .keys()
                .filter(|m| !state.is_member(m))
                .copied()
                .collect();
            if missing.is_empty() && strangers.is_empty() {
                Ok(())
            } else {
                Err(GroupError::RotationRecipients { missing, strangers })
            }
        }
    }
}

/// Refuses a member whose X25519 key is of low order: no key could ever be wrapped to
/// it, so every later rotation would fail.
fn contributory(member: &MemberInfo) -> Result<(), GroupError> {
    let probe = x25519_dalek::StaticSecret::from([0x42; 32]);
    if probe
        .diffie_hellman(&x25519_dalek::PublicKey::from(member.exchange))
        .was_contributory()
    {
        Ok(())
    } else {
        Err(GroupError::BadExchangeKey(member.id))
    }
}

fn present(state: &GroupState, member: &MemberId) -> Result<(), GroupError> {
    if state.is_member(member) {
        Ok(())
    } else {
        Err(GroupError::NotAMember(*member))
    }
}

fn absent(state: &GroupState, member: &MemberId) -> Result<(), GroupError> {
    if state.is_member(member) {
        Err(GroupError::AlreadyMember(*member))
    } else {
        Ok(())
    }
}

/// Refuses taking `member`'s admin role (by removal, demotion or leave) when it is the
/// last admin.
fn keeps_an_admin(state: &GroupState, member: &MemberId) -> Result<(), GroupError> {
    if state.is_admin(member) && state.admin_count() <= 1 {
        Err(GroupError::LastAdmin)
    } else {
        Ok(())
    }
}
