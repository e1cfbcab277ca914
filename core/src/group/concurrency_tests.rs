//! The written concurrency rules, each with devices that build conflicting branches from
//! a common head and then exchange everything.

use super::test_support::*;
use super::*;
use crate::ids::Hash;
use std::collections::BTreeMap;

fn void(d: &Device, op: &Hash) -> GroupError {
    match d.log.outcome(op) {
        Some(Err(e)) => e.clone(),
        other => panic!("expected {op:?} to be void, got {other:?}"),
    }
}

/// 1 and 3 are admins, 2 is a member.
fn base() -> Device {
    let mut d = Device::new();
    d.ok(1, add(2, Role::Member));
    d.ok(1, add(3, Role::Admin));
    d
}

#[test]
fn a_removal_voids_the_removed_members_concurrent_operations_and_what_hangs_on_them() {
    let mut a = base();
    let before = a.ok(3, add(4, Role::Member));
    let mut b = a.fork();
    let removal = a.ok(1, remove(3));
    let late_add = b.ok(3, add(5, Role::Member));
    let invite_by_5 = b.ok(5, invite(1, 9_000));
    let history = b.ok(
        3,
        OpKind::SetHistory {
            policy: HistoryPolicy::FromJoin,
        },
    );
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(!state.is_member(&id(3)));
    assert!(state.is_member(&id(4)), "3's add before its removal stands");
    assert_eq!(devices[0].log.outcome(&before), Some(&Ok(())));
    assert!(!state.is_member(&id(5)));
    assert_eq!(state.history, HistoryPolicy::Full);
    let expected = GroupError::RemovedConcurrently {
        member: id(3),
        removal,
    };
    assert_eq!(void(&devices[1], &late_add), expected);
    assert_eq!(void(&devices[1], &history), expected);
    assert_eq!(
        void(&devices[1], &invite_by_5),
        GroupError::NotAMember(id(5))
    );
}

#[test]
fn a_removal_revokes_the_invites_the_removed_member_made() {
    let mut a = base();
    let old = a.ok(2, invite(3, 9_000));
    let mut b = a.fork();
    a.ok(1, remove(2));
    let concurrent = b.ok(2, invite(2, 9_000));
    let used_old = b.ok(3, admit(old, 6));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(state.invites[&old].revoked);
    assert!(!state.invites.contains_key(&concurrent));
    assert!(matches!(
        void(&devices[0], &concurrent),
        GroupError::RemovedConcurrently { .. }
    ));
    // An admission by someone else, concurrent with the removal, saw a live invite.
    assert_eq!(devices[0].log.outcome(&used_old), Some(&Ok(())));
    let mut after = devices[0].fork();
    assert_eq!(
        after.refused(3, admit(old, 7)),
        GroupError::InviteRevoked(old)
    );
}

#[test]
fn a_leave_voids_the_leavers_concurrent_operations() {
    let mut a = base();
    let mut b = a.fork();
    let leave = a.ok(
        2,
        OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
    );
    let inv = b.ok(2, invite(1, 9_000));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(!state.is_member(&id(2)));
    assert_eq!(
        void(&devices[0], &inv),
        GroupError::RemovedConcurrently {
            member: id(2),
            removal: leave
        }
    );
}

#[test]
fn two_admins_removing_each_other_are_both_out_when_an_admin_remains() {
    let mut a = base();
    a.ok(1, add(4, Role::Admin));
    let mut b = a.fork();
    let one_removes_three = a.ok(1, remove(3));
    let three_removes_one = b.ok(3, remove(1));
    let three_adds = b.ok(3, add(5, Role::Member));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(!state.is_member(&id(1)) && !state.is_member(&id(3)));
    assert!(state.is_admin(&id(4)));
    assert_eq!(devices[0].log.outcome(&one_removes_three), Some(&Ok(())));
    assert_eq!(devices[0].log.outcome(&three_removes_one), Some(&Ok(())));
    assert!(matches!(
        void(&devices[0], &three_adds),
        GroupError::RemovedConcurrently { .. }
    ));
    assert!(!state.is_member(&id(5)));
}

#[test]
fn two_last_admins_removing_each_other_leave_the_first_in_canonical_order() {
    let mut a = base();
    let mut b = a.fork();
    let by_one = a.ok(1, remove(3));
    let by_three = b.ok(3, remove(1));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert_eq!(state.admin_count(), 1);
    assert!(state.is_member(&id(2)));
    // Both removals sit at the same causal depth, so the lower hash comes first.
    let (stands, falls, admin) = if by_one < by_three {
        (by_one, by_three, 1)
    } else {
        (by_three, by_one, 3)
    };
    assert!(state.is_admin(&id(admin)));
    assert_eq!(devices[0].log.outcome(&stands), Some(&Ok(())));
    assert_eq!(void(&devices[0], &falls), GroupError::LastAdmin);
}

#[test]
fn concurrent_demotions_and_leaves_keep_one_admin() {
    for (kind_a, kind_b) in [
        (role(3, Role::Member), role(1, Role::Member)),
        (
            OpKind::Leave {
                cutoff: BTreeMap::new(),
            },
            OpKind::Leave {
                cutoff: BTreeMap::new(),
            },
        ),
        (
            role(1, Role::Member),
            OpKind::Leave {
                cutoff: BTreeMap::new(),
            },
        ),
    ] {
        let mut a = base();
        let mut b = a.fork();
        let first = a.ok(1, kind_a);
        let second = b.ok(3, kind_b);
        let mut devices = [a, b];
        let state = sync_exhaustive(&mut devices);
        assert_eq!(state.admin_count(), 1, "exactly one admin remains");
        let late = first.max(second);
        assert_eq!(void(&devices[0], &late), GroupError::LastAdmin);
    }
}

#[test]
fn a_single_use_invite_admitted_on_three_branches_admits_the_lowest_hash_only() {
    let mut a = base();
    let inv = a.ok(2, invite(1, 9_000));
    let mut b = a.fork();
    let mut c = a.fork();
    let admits = [
        a.ok(1, admit(inv, 5)),
        b.ok(2, admit(inv, 6)),
        c.ok(3, admit(inv, 7)),
    ];
    // Each joiner acts on its own branch, as if its admission stood.
    let acts = [
        a.write(5, invite(1, 9_000)),
        b.write(6, invite(1, 9_000)),
        c.write(7, invite(1, 9_000)),
    ];
    let mut devices = [a, b, c];
    let state = sync_exhaustive(&mut devices);
    let winner = *admits.iter().min().unwrap();
    assert_eq!(state.invites[&inv].used, 1);
    for (i, joiner) in [5, 6, 7].into_iter().enumerate() {
        if admits[i] == winner {
            assert!(state.is_member(&id(joiner)));
            assert_eq!(devices[0].log.outcome(&acts[i]), Some(&Ok(())));
        } else {
            assert!(!state.is_member(&id(joiner)), "only one admission stands");
            assert_eq!(
                void(&devices[0], &admits[i]),
                GroupError::InviteTakenConcurrently {
                    invite: inv,
                    winner
                }
            );
            assert_eq!(
                void(&devices[0], &acts[i]),
                GroupError::NotAMember(id(joiner))
            );
        }
    }
}

#[test]
fn a_two_use_invite_admitted_on_three_branches_keeps_the_two_lowest() {
    let mut a = base();
    let inv = a.ok(2, invite(2, 9_000));
    let mut b = a.fork();
    let mut c = a.fork();
    let mut admits = [
        (a.ok(1, admit(inv, 5)), 5),
        (b.ok(2, admit(inv, 6)), 6),
        (c.ok(3, admit(inv, 7)), 7),
    ];
    let mut devices = [a, b, c];
    let state = sync_exhaustive(&mut devices);
    admits.sort();
    assert!(state.is_member(&id(admits[0].1)) && state.is_member(&id(admits[1].1)));
    assert!(!state.is_member(&id(admits[2].1)));
    assert_eq!(state.invites[&inv].used, 2);
}

#[test]
fn an_expired_invite_does_not_admit_on_any_branch() {
    let mut a = base();
    let inv = a.ok(2, invite(2, 3_000));
    let mut b = a.fork();
    let in_time = op_at(1, &a.log.heads(), 2_999, admit(inv, 5));
    let too_late = op_at(3, &b.log.heads(), 3_000, admit(inv, 6));
    let (in_time_hash, too_late_hash) = (in_time.hash(), too_late.hash());
    a.log.apply(in_time).unwrap();
    b.log.apply(too_late).unwrap();
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(state.is_member(&id(5)) && !state.is_member(&id(6)));
    assert_eq!(devices[1].log.outcome(&in_time_hash), Some(&Ok(())));
    assert!(matches!(
        void(&devices[1], &too_late_hash),
        GroupError::InviteExpired { .. }
    ));
}

#[test]
fn an_op_by_a_member_added_only_on_a_concurrent_branch_is_void() {
    // The author is a member only on another branch: not in its causal past.
    let mut a = base();
    let mut b = a.fork();
    a.ok(1, add(5, Role::Admin));
    let premature = b.write(5, add(6, Role::Member));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(state.is_admin(&id(5)) && !state.is_member(&id(6)));
    assert_eq!(void(&devices[0], &premature), GroupError::NotAMember(id(5)));
}

#[test]
fn a_removed_member_added_again_acts_normally_after_its_return() {
    let mut d = base();
    d.ok(1, remove(2));
    assert_eq!(
        d.refused(2, invite(1, 9_000)),
        GroupError::NotAMember(id(2))
    );
    d.ok(1, add(2, Role::Member));
    let mut other = d.fork();
    let after = d.ok(2, invite(1, 9_000));
    other.ok(
        1,
        OpKind::SetHistory {
            policy: HistoryPolicy::FromJoin,
        },
    );
    let mut devices = [d, other];
    let state = sync_exhaustive(&mut devices);
    assert!(state.is_member(&id(2)) && state.invites.contains_key(&after));
    assert_eq!(state.history, HistoryPolicy::FromJoin);
}

#[test]
fn two_admins_removing_the_same_member_merge_their_cutoffs() {
    let doc = |n| DocId([n; 16]);
    let cut = |pairs: &[(u8, u64)]| OpKind::Remove {
        member: id(2),
        cutoff: pairs.iter().map(|(d, s)| (doc(*d), *s)).collect(),
    };
    let mut a = base();
    let mut b = a.fork();
    let first = a.ok(1, cut(&[(1, 10), (2, 4)]));
    let second = b.ok(3, cut(&[(1, 7), (3, 5)]));
    let mut devices = [a, b];
    let state = sync_exhaustive(&mut devices);
    assert!(!state.is_member(&id(2)));
    assert_eq!(devices[0].log.outcome(&first), Some(&Ok(())));
    assert_eq!(devices[0].log.outcome(&second), Some(&Ok(())));
    let expected = [(doc(1), 10), (doc(2), 4), (doc(3), 5)]
        .into_iter()
        .collect();
    assert_eq!(state.cutoffs[&id(2)], expected);
}
