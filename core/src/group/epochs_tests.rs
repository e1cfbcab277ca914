//! Key epochs in the membership log: who a rotation must wrap to, and when the current
//! epoch is exposed to someone who left.

use super::test_support::*;
use super::*;
use std::collections::BTreeMap;

/// A rotation by member `author` wrapping a fresh key to every member `d` knows.
fn rotate(d: &Device, author: u8) -> OpKind {
    let (op, _) = rotation(d.log.state(), id(author), d.log.heads(), Timestamp(2_000)).unwrap();
    op.kind
}

fn base() -> Device {
    let mut d = Device::new();
    d.ok(1, add(2, Role::Member));
    d.ok(1, add(3, Role::Member));
    d
}

#[test]
fn a_rotation_starts_an_epoch_named_by_its_hash() {
    let mut d = base();
    let first = d.log.state().current_epoch();
    assert_eq!(first, d.log.create_hash());
    let rotated = d.ok(2, rotate(&d, 2));
    assert_eq!(d.log.state().epochs, vec![first, rotated]);
    assert_eq!(d.log.state().current_epoch(), rotated);
}

#[test]
fn a_rotation_must_wrap_to_every_member_and_no_one_else() {
    let mut d = base();
    let before = d.fork();
    d.ok(1, add(4, Role::Member));
    // Built before 4 joined: 4 is missing.
    let stale = rotate(&before, 1);
    assert_eq!(
        d.refused(1, stale),
        GroupError::RotationRecipients {
            missing: vec![id(4)],
            strangers: vec![],
        }
    );
    let mut stranger = rotate(&d, 1);
    if let OpKind::Rotate { keys } = &mut stranger {
        let any = keys.values().next().cloned().unwrap();
        keys.insert(id(9), any);
    }
    assert!(matches!(
        d.refused(1, stranger),
        GroupError::RotationRecipients { strangers, .. } if strangers == vec![id(9)]
    ));
}

#[test]
fn a_removal_exposes_the_epoch_until_the_next_rotation() {
    let mut d = base();
    assert!(!d.log.state().rekey_needed);
    d.ok(1, remove(3));
    assert!(d.log.state().rekey_needed, "3 still holds the current key");
    let rotated = d.ok(1, rotate(&d, 1));
    assert!(!d.log.state().rekey_needed);
    let OpKind::Rotate { keys } = &d.log.op(&rotated).unwrap().kind else {
        unreachable!()
    };
    assert!(!keys.contains_key(&id(3)));
    d.ok(
        2,
        OpKind::Leave {
            cutoff: BTreeMap::new(),
        },
    );
    assert!(d.log.state().rekey_needed, "a leave exposes it too");
}

#[test]
fn a_rotation_concurrent_with_a_removal_leaves_the_epoch_exposed_in_every_order() {
    let mut a = base();
    let mut b = a.fork();
    a.ok(1, remove(3));
    // 2 rotates without having seen the removal: its key reaches 3.
    b.ok(2, rotate(&b, 2));
    let mut devices = [a, b];
    let state = sync(&mut devices);
    assert!(!state.is_member(&id(3)));
    assert_eq!(state.epochs.len(), 2);
    assert!(state.rekey_needed, "3 holds the concurrent rotation's key");
    // Any member's next rotation closes it, whatever each device saw first.
    let [mut a, b] = devices;
    a.ok(2, rotate(&a, 2));
    assert!(!a.log.state().rekey_needed);
    let mut devices = [a, b];
    assert!(!sync(&mut devices).rekey_needed);
}

#[test]
fn a_removed_members_rotation_concurrent_with_its_removal_is_void() {
    let mut a = base();
    let mut b = a.fork();
    a.ok(1, remove(3));
    let by_removed = b.ok(3, rotate(&b, 3));
    let mut devices = [a, b];
    let state = sync(&mut devices);
    assert_eq!(
        state.epochs.len(),
        1,
        "the removed member's epoch does not stand"
    );
    assert!(matches!(
        devices[0].log.outcome(&by_removed),
        Some(Err(GroupError::RemovedConcurrently { .. }))
    ));
}

#[test]
fn a_member_with_a_low_order_exchange_key_is_refused() {
    let mut d = base();
    let mut bad = info(5);
    bad.exchange = [0; 32];
    let e = d.refused(
        1,
        OpKind::Add {
            member: bad,
            role: Role::Member,
        },
    );
    assert_eq!(e, GroupError::BadExchangeKey(id(5)));
}

#[test]
fn keys_wrapped_in_a_rotation_open_only_for_their_recipient() {
    let alice = MemberKeys::generate();
    let bo = MemberKeys::generate();
    let g = create("Tenants".into(), "Ana".into(), [1; 32], Timestamp(1));
    let mut log = MembershipLog::new(g.op.clone()).unwrap();
    let founder = g.secrets.member.clone();
    for (keys, name) in [(&alice, "Alice"), (&bo, "Bo")] {
        let add = Op {
            group: g.state.id,
            author: founder.id(),
            heads: log.heads(),
            at: Timestamp(2),
            kind: OpKind::Add {
                member: MemberInfo {
                    id: keys.id(),
                    exchange: keys.exchange_public(),
                    peer: [2; 32],
                    name: name.into(),
                },
                role: Role::Member,
            },
        };
        assert_eq!(log.apply(add).unwrap(), Applied::Accepted);
    }
    let (op, key) = rotation(log.state(), founder.id(), log.heads(), Timestamp(3)).unwrap();
    let epoch = op.hash();
    let mut secrets = GroupSecrets::empty(alice.clone());
    assert!(secrets.learn_rotation(&g.state.id, epoch, &op).unwrap());
    assert_eq!(secrets.epoch_key(&epoch), Some(key));
    // Bo's wrapped key does not open with Alice's secret.
    let OpKind::Rotate { keys } = &op.kind else {
        unreachable!()
    };
    let bos = &keys[&bo.id()];
    assert!(
        crypto::unwrap_key(
            &alice.exchange_secret(),
            bos,
            &wrap_context(&g.state.id, &alice.id())
        )
        .is_err()
    );
}
