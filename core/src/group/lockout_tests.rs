//! Property: whatever members are added and removed, and however rotations interleave
//! with removals on concurrent branches, once the group has rotated as a writer must
//! (no document is sealed under an exposed epoch), no removed member holds the key the
//! group now seals under — not from any rotation, nor from the keys it was granted at
//! its admission — and every member does.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::test_support::*;
use super::*;

#[derive(Clone, Debug)]
enum Step {
    /// An admin of device `device`'s view adds member `target`.
    Add {
        device: usize,
        target: u8,
        admin: bool,
    },
    /// An admin removes a member (and, as the node does, rotates at once).
    Remove { device: usize, pick: usize },
    /// A member rotates the key.
    Rotate { device: usize, pick: usize },
    /// Device `to` takes in everything `from` has.
    Sync { from: usize, to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, 2..17u8, any::<bool>())
            .prop_map(|(device, target, admin)| Step::Add { device, target, admin }),
        2 => (0..3usize, any::<usize>()).prop_map(|(device, pick)| Step::Remove { device, pick }),
        2 => (0..3usize, any::<usize>()).prop_map(|(device, pick)| Step::Rotate { device, pick }),
        1 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

fn admins(d: &Device) -> Vec<u8> {
    let state = d.log.state();
    state
        .members
        .values()
        .filter(|m| m.role == Role::Admin)
        .map(|m| number(&m.info.id))
        .collect()
}

fn members(d: &Device) -> Vec<u8> {
    d.log.state().members.keys().map(number).collect()
}

/// Member `author` rotates at `d`'s heads; returns nothing if the log refuses.
fn rotate(d: &mut Device, author: u8) {
    let (op, _) = rotation(d.log.state(), id(author), d.log.heads(), Timestamp(3_000)).unwrap();
    d.log.apply(op).unwrap();
}

/// Every key wrapped to member `n` anywhere in the log, void operations included: what
/// a device holding `n`'s keys could open.
fn keys_of(log: &MembershipLog, n: u8) -> BTreeSet<[u8; 32]> {
    let me = id(n);
    let secret = keys(n).exchange_secret();
    log.ops()
        .into_iter()
        .filter_map(|op| match &op.kind {
            OpKind::Rotate { keys } => keys.get(&me).map(|w| (w, op)),
            _ => None,
        })
        .filter_map(|(wrapped, op)| {
            crypto::unwrap_key(&secret, wrapped, &wrap_context(&op.group, &me)).ok()
        })
        .map(|k| *k.as_bytes())
        .collect()
}

/// The epoch-0 key in this model (the founder holds it; joiners are granted it).
const FOUNDING_KEY: [u8; 32] = [0xee; 32];

/// What member `n` holds: keys wrapped to it in rotations, and keys granted to it when
/// it was added (what its adder held in its view then).
fn holdings(
    log: &MembershipLog,
    granted: &BTreeMap<u8, BTreeSet<[u8; 32]>>,
    n: u8,
) -> BTreeSet<[u8; 32]> {
    let mut held = keys_of(log, n);
    held.extend(granted.get(&n).into_iter().flatten().copied());
    held
}

/// The keys of every epoch a log holds: what a device with this view can have.
fn epoch_keys(log: &MembershipLog) -> BTreeSet<[u8; 32]> {
    let mut out = BTreeSet::from([FOUNDING_KEY]);
    for op in log.ops() {
        if let OpKind::Rotate { keys: wrapped } = &op.kind
            && let Some((someone, w)) = wrapped.iter().next()
        {
            let secret = keys(number(someone)).exchange_secret();
            if let Ok(key) = crypto::unwrap_key(&secret, w, &wrap_context(&op.group, someone)) {
                out.insert(*key.as_bytes());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn removed_members_never_hold_the_key_the_group_seals_under(
        steps in proptest::collection::vec(step(), 1..24)
    ) {
        let mut devices = [Device::new(), Device::new(), Device::new()];
        let mut ever = BTreeSet::from([1u8]);
        let mut granted = BTreeMap::from([(1u8, BTreeSet::from([FOUNDING_KEY]))]);
        for step in steps {
            match step {
                Step::Add { device, target, admin } => {
                    let d = &mut devices[device];
                    let Some(&author) = admins(d).first() else { continue };
                    let role = if admin { Role::Admin } else { Role::Member };
                    if !members(d).contains(&target) {
                        // An admitter hands over the keys of the epochs its log holds.
                        let in_view = epoch_keys(&d.log);
                        let keys: BTreeSet<[u8; 32]> = holdings(&d.log, &granted, author)
                            .intersection(&in_view)
                            .copied()
                            .collect();
                        d.write(author, add(target, role));
                        if d.log.state().is_member(&id(target)) {
                            granted.entry(target).or_default().extend(keys);
                        }
                        ever.insert(target);
                    }
                }
                Step::Remove { device, pick } => {
                    let d = &mut devices[device];
                    let (admins, members) = (admins(d), members(d));
                    let author = admins[pick % admins.len()];
                    let target = members[(pick / 7) % members.len()];
                    if target != author {
                        d.write(author, remove(target));
                        if d.log.state().rekey_needed {
                            rotate(d, author);
                        }
                    }
                }
                Step::Rotate { device, pick } => {
                    let d = &mut devices[device];
                    let members = members(d);
                    rotate(d, members[pick % members.len()]);
                }
                Step::Sync { from, to } => {
                    if from != to {
                        let (a, b) = if from < to {
                            let (l, r) = devices.split_at_mut(to);
                            (&l[from], &mut r[0])
                        } else {
                            let (l, r) = devices.split_at_mut(from);
                            (&r[0], &mut l[to])
                        };
                        b.receive(a);
                    }
                }
            }
        }
        let state = sync(&mut devices);
        // A writer rotates before sealing under an exposed epoch.
        if state.rekey_needed {
            let writer = members(&devices[0])[0];
            rotate(&mut devices[0], writer);
            let state = sync(&mut devices);
            prop_assert!(!state.rekey_needed);
        }
        let log = &devices[0].log;
        let state = log.state();
        let current = state.current_epoch();
        // The key the group now seals under, as a member unwraps it.
        let key = if current == log.create_hash() {
            FOUNDING_KEY
        } else {
            let OpKind::Rotate { keys: wrapped } = &log.op(&current).unwrap().kind else {
                panic!("the current epoch is not a rotation");
            };
            let (someone, w) = wrapped.iter().next().unwrap();
            let secret = keys(number(someone)).exchange_secret();
            *crypto::unwrap_key(&secret, w, &wrap_context(&state.id, someone))
                .unwrap()
                .as_bytes()
        };
        for n in members(&devices[0]) {
            prop_assert!(
                holdings(log, &granted, n).contains(&key),
                "member {n} lacks the current key"
            );
        }
        for gone in ever.iter().filter(|n| !state.is_member(&id(**n))) {
            prop_assert!(
                !holdings(log, &granted, *gone).contains(&key),
                "removed member {gone} holds the current key"
            );
        }
    }
}
