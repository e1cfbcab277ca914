//! Each operation kind's happy path and refusals, on one device.

use super::test_support::*;
use super::*;
use crate::ids::{DocId, GroupId, Hash};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// A device where 1 is admin and 2 is a member.
fn two() -> Device {
    let mut d = Device::new();
    d.ok(1, add(2, Role::Member));
    d
}

#[test]
fn admin_adds_and_nobody_else_can() {
    let mut d = two();
    assert!(d.log.state().is_member(&id(2)));
    assert_eq!(d.log.state().members[&id(2)].role, Role::Member);
    assert_eq!(
        d.refused(2, add(3, Role::Member)),
        GroupError::AdminOnly {
            author: id(2),
            action: "add members"
        }
    );
    assert_eq!(
        d.refused(9, add(3, Role::Member)),
        GroupError::NotAMember(id(9))
    );
    assert_eq!(
        d.refused(1, add(2, Role::Admin)),
        GroupError::AlreadyMember(id(2))
    );
    assert!(!d.log.state().is_member(&id(3)));
}

#[test]
fn admin_removes_recording_the_cutoff_and_a_member_cannot() {
    let mut d = two();
    d.ok(1, add(3, Role::Member));
    assert!(matches!(
        d.refused(2, remove(3)),
        GroupError::AdminOnly { .. }
    ));
    assert_eq!(d.refused(1, remove(8)), GroupError::NotAMember(id(8)));
    let cutoff = BTreeMap::from([(DocId([4; 16]), 12)]);
    d.ok(
        1,
        OpKind::Remove {
            member: id(3),
            cutoff: cutoff.clone(),
        },
    );
    assert!(!d.log.state().is_member(&id(3)));
    assert_eq!(d.log.state().cutoffs[&id(3)], cutoff);
    assert_eq!(
        d.refused(
            3,
            OpKind::Leave {
                cutoff: BTreeMap::new()
            }
        ),
        GroupError::NotAMember(id(3))
    );
}

#[test]
fn the_last_admin_cannot_be_removed_demoted_or_leave() {
    let mut d = two();
    assert_eq!(d.refused(1, remove(1)), GroupError::LastAdmin);
    assert_eq!(d.refused(1, role(1, Role::Member)), GroupError::LastAdmin);
    assert_eq!(
        d.refused(
            1,
            OpKind::Leave {
                cutoff: BTreeMap::new()
            }
        ),
        GroupError::LastAdmin
    );
    assert!(d.log.state().is_admin(&id(1)));
    // With a second admin, the first may step down.
    d.ok(1, role(2, Role::Admin));
    d.ok(1, role(1, Role::Member));
    assert!(d.log.state().is_admin(&id(2)) && !d.log.state().is_admin(&id(1)));
    assert!(matches!(
        d.refused(1, role(2, Role::Member)),
        GroupError::AdminOnly { .. }
    ));
}

#[test]
fn change_role_needs_an_admin_and_a_member() {
    let mut d = two();
    assert!(matches!(
        d.refused(2, role(2, Role::Admin)),
        GroupError::AdminOnly { .. }
    ));
    assert_eq!(
        d.refused(1, role(5, Role::Admin)),
        GroupError::NotAMember(id(5))
    );
    d.ok(1, role(2, Role::Admin));
    assert!(d.log.state().is_admin(&id(2)));
}

#[test]
fn a_member_leaves_and_then_can_do_nothing() {
    let mut d = two();
    d.ok(
        2,
        OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
    );
    assert!(!d.log.state().is_member(&id(2)));
    assert_eq!(
        d.refused(2, invite(1, 9_000)),
        GroupError::NotAMember(id(2))
    );
}

#[test]
fn only_admins_set_the_history_policy() {
    let mut d = two();
    let policy = HistoryPolicy::FromJoin;
    assert!(matches!(
        d.refused(2, OpKind::SetHistory { policy }),
        GroupError::AdminOnly { .. }
    ));
    assert_eq!(d.log.state().history, HistoryPolicy::Full);
    d.ok(1, OpKind::SetHistory { policy });
    assert_eq!(d.log.state().history, HistoryPolicy::FromJoin);
}

#[test]
fn admins_can_stop_members_from_inviting() {
    let mut d = two();
    d.ok(2, invite(1, 9_000));
    let off = OpKind::SetMemberInvites { allowed: false };
    assert!(matches!(
        d.refused(2, off.clone()),
        GroupError::AdminOnly { .. }
    ));
    d.ok(1, off);
    assert_eq!(
        d.refused(2, invite(1, 9_000)),
        GroupError::MemberInvitesDisabled
    );
    d.ok(1, invite(2, 9_000));
    d.ok(1, OpKind::SetMemberInvites { allowed: true });
    d.ok(2, invite(3, 9_000));
}

#[test]
fn an_invite_needs_a_use() {
    let mut d = two();
    assert_eq!(d.refused(2, invite(0, 9_000)), GroupError::NoUses);
}

#[test]
fn the_creator_or_an_admin_revokes_an_invite() {
    let mut d = two();
    d.ok(1, add(3, Role::Member));
    let by_two = d.ok(2, invite(1, 9_000));
    let by_one = d.ok(1, invite(2, 9_000));
    let revoke = |invite| OpKind::RevokeInvite { invite };
    assert!(matches!(
        d.refused(3, revoke(by_two)),
        GroupError::AdminOnly { .. }
    ));
    assert!(matches!(
        d.refused(2, revoke(by_one)),
        GroupError::AdminOnly { .. }
    ));
    d.ok(2, revoke(by_two));
    assert!(d.log.state().invites[&by_two].revoked);
    assert_eq!(
        d.refused(2, revoke(by_two)),
        GroupError::InviteRevoked(by_two)
    );
    d.ok(1, revoke(by_one));
    let unknown = Hash([3; 32]);
    assert_eq!(
        d.refused(1, revoke(unknown)),
        GroupError::UnknownInvite(unknown)
    );
}

#[test]
fn admit_consumes_a_use_and_keeps_the_proof() {
    let mut d = two();
    let inv = d.ok(2, invite(2, 9_000));
    let admission = d.ok(2, admit(inv, 5));
    let state = d.log.state();
    assert_eq!(state.members[&id(5)].role, Role::Member);
    assert_eq!(state.invites[&inv].used, 1);
    assert!(matches!(
        &d.log.op(&admission).unwrap().kind,
        OpKind::Admit { proof: p, .. } if p == &proof(5)
    ));
    assert_eq!(
        d.refused(1, admit(inv, 5)),
        GroupError::AlreadyMember(id(5))
    );
    d.ok(5, admit(inv, 6));
    assert_eq!(
        d.refused(1, admit(inv, 7)),
        GroupError::InviteUsedUp {
            invite: inv,
            uses: 2
        }
    );
    assert!(!d.log.state().is_member(&id(7)));
}

#[test]
fn revoked_expired_unknown_and_orphaned_invites_do_not_admit() {
    let mut d = two();
    let revoked = d.ok(1, invite(1, 9_000));
    d.ok(1, OpKind::RevokeInvite { invite: revoked });
    assert_eq!(
        d.refused(1, admit(revoked, 5)),
        GroupError::InviteRevoked(revoked)
    );

    let short = d.ok(1, invite(1, 1_500));
    let late = op_at(1, &d.log.heads(), 1_500, admit(short, 5));
    assert_eq!(
        d.log.apply(late).unwrap(),
        Applied::Void(GroupError::InviteExpired {
            invite: short,
            expires: Timestamp(1_500)
        })
    );
    let early = op_at(1, &d.log.heads(), 1_499, admit(short, 5));
    assert_eq!(d.log.apply(early).unwrap(), Applied::Accepted);

    let unknown = Hash([1; 32]);
    assert_eq!(
        d.refused(1, admit(unknown, 6)),
        GroupError::UnknownInvite(unknown)
    );

    // Removing a member revokes the invites it made.
    let by_two = d.ok(2, invite(3, 9_000));
    d.ok(1, remove(2));
    assert!(d.log.state().invites[&by_two].revoked);
    assert_eq!(
        d.refused(1, admit(by_two, 6)),
        GroupError::InviteRevoked(by_two)
    );
}

#[test]
fn a_linear_state_agrees_with_the_log() {
    let mut d = two();
    d.ok(1, role(2, Role::Admin));
    let inv = d.ok(2, invite(1, 9_000));
    d.ok(1, admit(inv, 4));
    d.ok(2, remove(1));
    let mut linear = GroupState::from_create(&genesis()).unwrap();
    for op in d.log.ops().into_iter().skip(1) {
        linear.apply(op).unwrap();
    }
    assert_eq!(&linear, d.log.state());
    assert_eq!(linear.apply(&genesis()), Err(GroupError::DuplicateCreate));
}

#[test]
fn the_log_waits_for_missing_heads_and_refuses_what_cannot_belong() {
    let mut source = two();
    source.ok(1, add(3, Role::Member));
    let ops: Vec<Op> = source.log.ops().into_iter().cloned().collect();
    let mut d = Device::new();
    for op in ops.iter().rev() {
        let applied = d.log.apply(op.clone()).unwrap();
        assert!(matches!(
            applied,
            Applied::Pending | Applied::Duplicate | Applied::Accepted
        ));
    }
    assert_eq!(d.log.pending(), 0);
    assert_eq!(d.log.state(), source.log.state());
    assert_eq!(d.log.apply(ops[2].clone()), Ok(Applied::Duplicate));

    let mut foreign = ops[1].clone();
    foreign.group = GroupId([9; 32]);
    assert_eq!(d.log.apply(foreign), Err(GroupError::WrongGroup));
    let mut second = genesis();
    second.at = Timestamp(5);
    assert_eq!(d.log.apply(second), Err(GroupError::DuplicateCreate));
    let headless = op(1, &[], add(4, Role::Member));
    assert!(matches!(
        d.log.apply(headless),
        Err(GroupError::Malformed(_))
    ));

    for n in 0..MAX_PENDING {
        let orphan = op_at(
            1,
            &[Hash([2; 32])],
            n as u64,
            OpKind::Leave {
                cutoff: BTreeMap::new(),
            },
        );
        assert_eq!(d.log.apply(orphan), Ok(Applied::Pending));
    }
    let one_more = op_at(
        1,
        &[Hash([2; 32])],
        u64::MAX,
        OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
    );
    assert_eq!(
        d.log.apply(one_more),
        Err(GroupError::PendingFull(MAX_PENDING))
    );
}

#[test]
fn applying_a_batch_equals_applying_one_by_one() {
    let mut source = two();
    let inv = source.ok(2, invite(1, 9_000));
    source.ok(1, admit(inv, 4));
    let refused = source.write(2, remove(1));
    let mut ops: Vec<Op> = source.log.ops().into_iter().cloned().collect();
    ops.reverse();
    let mut d = Device::new();
    let results = d.log.apply_all(ops.clone());
    assert_eq!(d.log.state(), source.log.state());
    assert_eq!(d.log.outcome(&refused), source.log.outcome(&refused));
    let position = ops.iter().position(|op| op.hash() == refused).unwrap();
    assert!(matches!(
        results[position],
        Ok(Applied::Void(GroupError::AdminOnly { .. }))
    ));
    assert_eq!(
        results.last(),
        Some(&Ok(Applied::Duplicate)),
        "the create op is known"
    );
}

#[test]
fn a_long_linear_log_one_by_one_equals_the_batch() {
    let mut d = Device::new();
    for n in 2..=250u8 {
        d.ok(1, add(n, Role::Member));
    }
    assert_eq!(d.log.state().members.len(), 250);
    assert_eq!(d.log.heads().len(), 1);
    let ops: Vec<Op> = d.log.ops().into_iter().cloned().collect();
    let mut batch = Device::new();
    batch.log.apply_all(ops);
    assert_eq!(batch.log.state(), d.log.state());
}

#[test]
fn an_admission_whose_proof_was_made_without_the_invite_secret_is_void() {
    use crate::invite::{InviteLink, JoinProof};
    let mut d = two();
    let inv = d.ok(2, invite(1, 9_000));
    // A link for the same group with another secret: its proof cannot verify.
    let guessed = InviteLink::new(GROUP, Timestamp(9_000), Vec::new()).unwrap();
    let forged = JoinProof::create(&guessed, &keys(5), &info(5), [0; 32], [0; 32]).unwrap();
    let e = d.refused(
        2,
        OpKind::Admit {
            invite: inv,
            member: info(5),
            proof: forged.encode(),
        },
    );
    assert!(matches!(e, GroupError::BadProof(_)), "{e:?}");
    // A proof for another joiner does not admit this one either.
    let e = d.refused(
        2,
        OpKind::Admit {
            invite: inv,
            member: info(6),
            proof: proof(5),
        },
    );
    assert!(matches!(e, GroupError::BadProof(_)), "{e:?}");
    assert!(!d.log.state().is_member(&id(5)) && !d.log.state().is_member(&id(6)));
    assert_eq!(d.log.state().invites[&inv].used, 0);
    d.ok(2, admit(inv, 5));
}
