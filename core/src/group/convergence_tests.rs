//! Property: random operations written on three branches, delivered to three logs in
//! different random orders and with duplicates, yield the same state everywhere.

use proptest::prelude::*;
use std::collections::BTreeMap;

use super::test_support::*;
use super::*;
use crate::ids::Hash;

/// One thing a device does: write an operation, or take in another device's log.
#[derive(Clone, Debug)]
enum Step {
    Write {
        device: usize,
        author: u8,
        action: u8,
        target: u8,
        pick: usize,
        at: u64,
    },
    Sync {
        from: usize,
        to: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..10u8, 0..16u8, 1..12u8, any::<usize>(), 1_500..4_000u64).prop_map(
            |(device, author, action, target, pick, at)| Step::Write {
                device,
                author,
                action,
                target,
                pick,
                at,
            }
        ),
        1 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

/// A valid-ish operation: members to remove or promote are picked among the device's
/// members, new members from a small pool, invites among those the device knows.
fn kind(d: &Device, action: u8, target: u8, pick: usize) -> OpKind {
    let invites: Vec<Hash> = d.log.state().invites.keys().copied().collect();
    let some_invite = invites
        .get(pick % invites.len().max(1))
        .copied()
        .unwrap_or(Hash([0; 32]));
    let role_of = if pick.is_multiple_of(2) {
        Role::Admin
    } else {
        Role::Member
    };
    let members: Vec<u8> = d.log.state().members.keys().map(number).collect();
    let member = members[pick % members.len()];
    match action {
        0..=3 => add(target, role_of),
        4 => remove(member),
        5 | 6 => role(member, role_of),
        7 => OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
        8 => OpKind::SetHistory {
            policy: if pick.is_multiple_of(2) {
                HistoryPolicy::FromJoin
            } else {
                HistoryPolicy::Full
            },
        },
        9 | 10 => invite(1 + (pick % 2) as u32, 2_000 + (pick % 2_000) as u64),
        11 => OpKind::RevokeInvite {
            invite: some_invite,
        },
        12 => OpKind::SetMemberInvites {
            allowed: !pick.is_multiple_of(3),
        },
        _ => admit(some_invite, target),
    }
}

/// A small deterministic shuffle, so the seed comes from proptest and shrinks with it.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_delivery_order_with_duplicates_yields_the_same_state(
        steps in prop::collection::vec(step(), 1..60),
        seeds in prop::array::uniform3(1..u64::MAX),
        duplicates in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut base = Device::new();
        base.ok(1, add(2, Role::Admin));
        base.ok(1, add(3, Role::Member));
        let mut devices = [base.fork(), base.fork(), base];
        for s in steps {
            match s {
                Step::Write { device, author, action, target, pick, at } => {
                    let d = &mut devices[device];
                    // Mostly a member of this device's view, sometimes anyone.
                    let members: Vec<u8> = d.log.state().members.keys().map(number).collect();
                    let author = if author < 8 {
                        members[usize::from(author) % members.len()]
                    } else {
                        author
                    };
                    let op = op_at(author, &d.log.heads(), at, kind(d, action, target, pick));
                    d.log.apply(op).unwrap();
                }
                Step::Sync { from, to } => {
                    let ops: Vec<Op> = devices[from].log.ops().into_iter().cloned().collect();
                    for op in ops {
                        devices[to].log.apply(op).unwrap();
                    }
                }
            }
        }
        let mut all: Vec<Op> = Vec::new();
        for d in &devices {
            for op in d.log.ops() {
                if !all.contains(op) {
                    all.push(op.clone());
                }
            }
        }
        for pick in &duplicates {
            let again = all[pick % all.len()].clone();
            all.push(again);
        }
        let mut reference = Device::new();
        for op in devices.iter().flat_map(|d| d.log.ops()) {
            reference.log.apply(op.clone()).unwrap();
        }
        for seed in seeds {
            let mut order = all.clone();
            shuffle(&mut order, seed);
            let mut batch = MembershipLog::new(genesis()).unwrap();
            batch.apply_all(order.clone());
            prop_assert_eq!(batch.state(), reference.log.state());
            let mut log = MembershipLog::new(genesis()).unwrap();
            for op in order {
                log.apply(op).unwrap();
            }
            prop_assert_eq!(log.pending(), 0);
            prop_assert_eq!(log.state(), reference.log.state());
            prop_assert!(log.state().admin_count() >= 1);
            for op in reference.log.ops() {
                let hash = op.hash();
                prop_assert_eq!(log.outcome(&hash), reference.log.outcome(&hash));
            }
        }
    }
}
