//! Builders shared by the membership tests: members with fixed ids, operations with
//! explicit heads, and a log per simulated device.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Applied, GroupError, GroupState, HistoryPolicy, MemberInfo, MembershipLog, Op, OpKind, Role,
};
use crate::identity::MemberKeys;
use crate::ids::{GroupId, Hash, MemberId};
use crate::invite::{InviteLink, InviteSecret, JoinProof, invite_public_key};
use crate::time::Timestamp;

pub(super) const GROUP: GroupId = GroupId([7; 32]);

/// The secret of every invite the tests make.
const INVITE_SECRET: [u8; 32] = [0x5e; 32];

/// Member number `n`'s keys, from fixed seeds.
pub(super) fn keys(n: u8) -> MemberKeys {
    MemberKeys::from_seeds([n; 32], [n.wrapping_add(50); 32])
}

/// The number of the test member with this id.
pub(super) fn number(member: &MemberId) -> u8 {
    static IDS: std::sync::OnceLock<std::collections::HashMap<MemberId, u8>> =
        std::sync::OnceLock::new();
    IDS.get_or_init(|| (0..=u8::MAX).map(|n| (id(n), n)).collect())
        .get(member)
        .copied()
        .unwrap_or_else(|| panic!("{member:?} is not a test member"))
}

/// Member number `n`; member 1 founds the group.
pub(super) fn id(n: u8) -> MemberId {
    keys(n).id()
}

pub(super) fn info(n: u8) -> MemberInfo {
    MemberInfo {
        id: id(n),
        exchange: keys(n).exchange_public(),
        peer: [n.wrapping_add(100); 32],
        name: format!("member {n}"),
    }
}

pub(super) fn genesis() -> Op {
    Op {
        group: GROUP,
        author: id(1),
        heads: Vec::new(),
        at: Timestamp(1_000),
        kind: OpKind::Create {
            name: "Tenants".into(),
            creator: info(1),
            history: HistoryPolicy::Full,
        },
    }
}

pub(super) fn op(author: u8, heads: &[Hash], kind: OpKind) -> Op {
    op_at(author, heads, 2_000, kind)
}

pub(super) fn op_at(author: u8, heads: &[Hash], at: u64, kind: OpKind) -> Op {
    Op {
        group: GROUP,
        author: id(author),
        heads: heads.to_vec(),
        at: Timestamp(at),
        kind,
    }
}

pub(super) fn add(n: u8, role: Role) -> OpKind {
    OpKind::Add {
        member: info(n),
        role,
    }
}

pub(super) fn remove(n: u8) -> OpKind {
    OpKind::Remove {
        member: id(n),
        cutoff: BTreeMap::new(),
    }
}

pub(super) fn role(n: u8, role: Role) -> OpKind {
    OpKind::ChangeRole {
        member: id(n),
        role,
    }
}

pub(super) fn invite(uses: u32, expires: u64) -> OpKind {
    OpKind::CreateInvite {
        invite_key: invite_public_key(&GROUP, &InviteSecret::from_bytes(INVITE_SECRET)),
        uses,
        expires: Timestamp(expires),
    }
}

pub(super) fn admit(invite: Hash, n: u8) -> OpKind {
    OpKind::Admit {
        invite,
        member: info(n),
        proof: proof(n),
    }
}

/// Member `n`'s proof that it holds the tests' invite secret.
pub(super) fn proof(n: u8) -> Vec<u8> {
    let link = InviteLink::with_secret(
        GROUP,
        InviteSecret::from_bytes(INVITE_SECRET),
        Timestamp(u64::MAX),
        Vec::new(),
    )
    .unwrap();
    JoinProof::create(&link, &keys(n), &info(n), [0; 32], [n; 32])
        .unwrap()
        .encode()
}

/// A device: its log, and a way to author operations at its own heads.
pub(super) struct Device {
    pub(super) log: MembershipLog,
}

impl Device {
    pub(super) fn new() -> Device {
        Device {
            log: MembershipLog::new(genesis()).unwrap(),
        }
    }

    /// Authors `kind` as member `author` at this device's heads, applies it, and
    /// returns the operation's hash.
    pub(super) fn write(&mut self, author: u8, kind: OpKind) -> Hash {
        let op = op(author, &self.log.heads(), kind);
        let hash = op.hash();
        self.log.apply(op).unwrap();
        hash
    }

    /// Like `write`, asserting the operation is accepted.
    pub(super) fn ok(&mut self, author: u8, kind: OpKind) -> Hash {
        let hash = self.write(author, kind);
        assert_eq!(self.log.outcome(&hash), Some(&Ok(())), "op should stand");
        hash
    }

    /// Like `write`, returning why the operation is void.
    pub(super) fn refused(&mut self, author: u8, kind: OpKind) -> GroupError {
        let hash = self.write(author, kind);
        match self.log.outcome(&hash) {
            Some(Err(e)) => e.clone(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Delivers everything `other` holds, in `other`'s canonical order.
    pub(super) fn receive(&mut self, other: &Device) {
        for op in other.log.ops() {
            let applied = self.log.apply(op.clone()).unwrap();
            assert_ne!(applied, Applied::Pending);
        }
    }

    pub(super) fn fork(&self) -> Device {
        let mut d = Device::new();
        d.receive(self);
        d
    }
}

/// Gives every device every operation, in an order no device wrote them in (newest
/// first, so most wait in the pending set), and checks they agree.
pub(super) fn sync(devices: &mut [Device]) -> GroupState {
    let mut all: Vec<Op> = Vec::new();
    for d in devices.iter() {
        all.extend(d.log.ops().into_iter().cloned());
    }
    for d in devices.iter_mut() {
        for op in all.iter().rev() {
            d.log.apply(op.clone()).unwrap();
        }
        assert_eq!(d.log.pending(), 0);
    }
    let state = devices[0].log.state().clone();
    for d in devices.iter() {
        assert_eq!(d.log.state(), &state);
    }
    state
}

/// [`sync`], and then every other delivery order of the same operations must agree
/// too: for the small, hand-built cases of the concurrency rules.
pub(super) fn sync_exhaustive(devices: &mut [Device]) -> GroupState {
    let state = sync(devices);
    every_order_agrees(devices[0].log.ops().into_iter().cloned().collect(), &state);
    state
}

/// The operations every head of the DAG descends from: the history all branches share.
fn shared_past(ops: &[Op]) -> BTreeSet<Hash> {
    let by_hash: BTreeMap<Hash, &Op> = ops.iter().map(|op| (op.hash(), op)).collect();
    let named: BTreeSet<Hash> = ops.iter().flat_map(|op| op.heads.iter().copied()).collect();
    let past = |head: &Hash| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![*head];
        while let Some(h) = stack.pop() {
            for p in by_hash
                .get(&h)
                .map(|op| op.heads.as_slice())
                .unwrap_or_default()
            {
                if seen.insert(*p) {
                    stack.push(*p);
                }
            }
        }
        seen
    };
    by_hash
        .keys()
        .filter(|h| !named.contains(h))
        .map(past)
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default()
}

/// Applies the operations to a fresh log in every possible order, one at a time, and
/// checks each order ends in `expected`. The history every branch shares goes first
/// (in the given, canonical order); every order of the branches' operations — at most
/// seven, 5,040 orders — is tried.
pub(super) fn every_order_agrees(ops: Vec<Op>, expected: &GroupState) {
    let ops: Vec<Op> = ops
        .into_iter()
        .filter(|op| !matches!(op.kind, OpKind::Create { .. }))
        .collect();
    let (prefix, mut ops): (Vec<Op>, Vec<Op>) = if ops.len() <= 8 {
        (Vec::new(), ops)
    } else {
        let shared = shared_past(&ops);
        ops.into_iter().partition(|op| shared.contains(&op.hash()))
    };
    assert!(
        ops.len() <= 8,
        "{} concurrent operations are too many to try every order",
        ops.len()
    );
    // Heap's algorithm: every permutation by one swap each.
    let n = ops.len();
    let mut counters = vec![0usize; n];
    let check = |ops: &[Op]| {
        let mut log = MembershipLog::new(genesis()).unwrap();
        for op in prefix.iter().chain(ops) {
            log.apply(op.clone()).unwrap();
        }
        assert_eq!(log.pending(), 0);
        assert_eq!(log.state(), expected);
    };
    check(&ops);
    let mut i = 0;
    while i < n {
        if counters[i] < i {
            if i % 2 == 0 {
                ops.swap(0, i);
            } else {
                ops.swap(counters[i], i);
            }
            check(&ops);
            counters[i] += 1;
            i = 0;
        } else {
            counters[i] = 0;
            i += 1;
        }
    }
}
