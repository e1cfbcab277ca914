//! The membership log: a DAG of operations, ordered canonically and replayed into a
//! [`GroupState`] that every device computes identically whatever the arrival order.
//!
//! Replaying works in rounds. Each round walks the operations in the canonical order
//! (causal depth, then hash) and accepts an operation when it passes the rules against
//! the state of its accepted causal past and leaves the group with an admin. Then the
//! rules that need the whole DAG mark more operations void: operations of a removed
//! member concurrent with its removal, and admissions beyond an invite's uses. Rounds
//! repeat until no operation is newly void; the void set only grows, so this ends.
//! A full replay costs time quadratic in the number of operations, which membership
//! logs (a few operations per member) keep small. Two cases avoid it: an operation that
//! descends from every other one (a local write, or arrival in causal order) is simply
//! appended, and [`MembershipLog::apply_all`] replays once for a whole batch.

use std::collections::{BTreeMap, BTreeSet};

use super::{GroupError, GroupState, Op, OpKind, concurrency, rules};
use crate::ids::{GroupId, Hash, MemberId};

/// How many operations may wait for missing heads before new ones are refused.
pub const MAX_PENDING: usize = 1024;

/// What became of an operation given to [`MembershipLog::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// The log already holds it (or it is already waiting).
    Duplicate,
    /// It waits for heads this log has not seen yet.
    Pending,
    /// It is part of the DAG and its effect is in the state.
    Accepted,
    /// It is part of the DAG but void, for the reason given. Later operations may
    /// change this: the state is always recomputed from the whole DAG.
    Void(GroupError),
}

/// An operation in the DAG, with where it sits.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) op: Op,
    depth: u64,
    /// Every operation in its causal past.
    pub(super) ancestors: BTreeSet<Hash>,
}

/// A group's membership log: holds operations by hash and computes the group state.
#[derive(Debug)]
pub struct MembershipLog {
    group: GroupId,
    create: Hash,
    base: GroupState,
    entries: BTreeMap<Hash, Entry>,
    pending: BTreeMap<Hash, Op>,
    state: GroupState,
    outcomes: BTreeMap<Hash, Result<(), GroupError>>,
}

/// One round's result.
struct Replay {
    state: GroupState,
    accepted: Vec<Hash>,
    outcomes: BTreeMap<Hash, Result<(), GroupError>>,
}

impl MembershipLog {
    /// A log holding the group's create operation.
    pub fn new(create: Op) -> Result<MembershipLog, GroupError> {
        let base = GroupState::from_create(&create)?;
        let hash = create.hash();
        let mut entries = BTreeMap::new();
        entries.insert(
            hash,
            Entry {
                op: create,
                depth: 0,
                ancestors: BTreeSet::new(),
            },
        );
        Ok(MembershipLog {
            group: base.id,
            create: hash,
            state: base.clone(),
            base,
            entries,
            pending: BTreeMap::new(),
            outcomes: BTreeMap::from([(hash, Ok(()))]),
        })
    }

    /// Takes an operation, in any arrival order, and recomputes the state.
    ///
    /// Errors are for operations that can never be part of this log (another group's,
    /// a second create, a malformed one) and for a full pending set; an operation the
    /// rules refuse is kept and reported as [`Applied::Void`].
    pub fn apply(&mut self, op: Op) -> Result<Applied, GroupError> {
        let hash = op.hash();
        let before = self.entries.len();
        let placed = self.place(op)?;
        if placed != Applied::Accepted {
            return Ok(placed);
        }
        let descends_from_all = self
            .entries
            .get(&hash)
            .is_some_and(|e| e.ancestors.len() + 1 == self.entries.len());
        if self.entries.len() == before + 1 && descends_from_all {
            self.append(hash);
        } else {
            self.recompute();
        }
        Ok(match self.outcomes.get(&hash) {
            Some(Err(e)) => Applied::Void(e.clone()),
            _ => Applied::Accepted,
        })
    }

    /// Puts an operation into the DAG or the pending set without recomputing;
    /// `Accepted` here means only "placed in the DAG".
    fn place(&mut self, op: Op) -> Result<Applied, GroupError> {
        if op.group != self.group {
            return Err(GroupError::WrongGroup);
        }
        let hash = op.hash();
        if self.entries.contains_key(&hash) || self.pending.contains_key(&hash) {
            return Ok(Applied::Duplicate);
        }
        if let OpKind::Create { .. } = op.kind {
            return Err(GroupError::DuplicateCreate);
        }
        if op.heads.is_empty() {
            return Err(GroupError::Malformed(
                "an operation other than create must name the heads its author saw".into(),
            ));
        }
        if !self.ready(&op) {
            if self.pending.len() >= MAX_PENDING {
                return Err(GroupError::PendingFull(self.pending.len()));
            }
            self.pending.insert(hash, op);
            return Ok(Applied::Pending);
        }
        self.insert(hash, op);
        self.drain_pending();
        Ok(Applied::Accepted)
    }

    /// Takes many operations (a catch-up page, or the log loaded from disk) and
    /// recomputes the state once, which costs far less than one call to
    /// [`apply`](Self::apply) each. Returns what became of each, in the given order.
    pub fn apply_all(&mut self, ops: Vec<Op>) -> Vec<Result<Applied, GroupError>> {
        let mut results = Vec::with_capacity(ops.len());
        let mut placed = Vec::with_capacity(ops.len());
        for op in ops {
            let hash = op.hash();
            let result = self.place(op);
            if matches!(result, Ok(Applied::Accepted | Applied::Pending)) {
                placed.push((results.len(), hash));
            }
            results.push(result);
        }
        self.recompute();
        // Operations that waited for a head later in the batch are in the DAG now.
        for (i, hash) in placed {
            match self.outcomes.get(&hash) {
                Some(Ok(())) => results[i] = Ok(Applied::Accepted),
                Some(Err(e)) => results[i] = Ok(Applied::Void(e.clone())),
                None => {}
            }
        }
        results
    }

    /// Checks an operation this device is about to write at the log's heads, without
    /// taking it: `Ok` means [`apply`](Self::apply) will accept it.
    pub fn check_next(&self, op: &Op) -> Result<(), GroupError> {
        if op.group != self.group {
            return Err(GroupError::WrongGroup);
        }
        if op.heads != self.state.heads {
            return Err(GroupError::Malformed(
                "a new operation must name the log's current heads".into(),
            ));
        }
        rules::check(&self.state, op)?;
        let mut next = self.state.clone();
        next.apply_effect(op, op.hash());
        if next.admin_count() == 0 {
            return Err(GroupError::LastAdmin);
        }
        Ok(())
    }

    /// Whether `member` appears anywhere in the DAG, as an author or as someone added or
    /// admitted: an envelope by anyone else cannot be judged by this log (yet).
    pub fn knows(&self, member: &MemberId) -> bool {
        self.entries.values().any(|e| {
            e.op.author == *member
                || match &e.op.kind {
                    OpKind::Add { member: m, .. } | OpKind::Admit { member: m, .. } => {
                        m.id == *member
                    }
                    _ => false,
                }
        })
    }

    /// The group state the whole DAG yields.
    pub fn state(&self) -> &GroupState {
        &self.state
    }

    /// Whether the operation stands (`Ok`) or is void, if the DAG holds it.
    pub fn outcome(&self, op: &Hash) -> Option<&Result<(), GroupError>> {
        self.outcomes.get(op)
    }

    /// An operation the DAG holds, with its admission proof if it is an `Admit`.
    pub fn op(&self, hash: &Hash) -> Option<&Op> {
        self.entries.get(hash).map(|e| &e.op)
    }

    /// Every operation of the DAG in canonical order (causal depth, then hash), so a
    /// receiver given them in this order never has to hold one back.
    pub fn ops(&self) -> Vec<&Op> {
        let mut order: Vec<(u64, &Hash, &Op)> = self
            .entries
            .iter()
            .map(|(h, e)| (e.depth, h, &e.op))
            .collect();
        order.sort_by_key(|(depth, hash, _)| (*depth, **hash));
        order.into_iter().map(|(_, _, op)| op).collect()
    }

    /// The hash of the create operation.
    pub fn create_hash(&self) -> Hash {
        self.create
    }

    /// The DAG's heads: what a new operation by this device names.
    pub fn heads(&self) -> Vec<Hash> {
        self.state.heads.clone()
    }

    /// How many operations the DAG holds, the create operation included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true: the log always holds its create operation.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many operations wait for missing heads.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn ready(&self, op: &Op) -> bool {
        op.heads.iter().all(|h| self.entries.contains_key(h))
    }

    fn insert(&mut self, hash: Hash, op: Op) {
        let mut depth = 0;
        let mut ancestors = BTreeSet::new();
        for head in &op.heads {
            if let Some(e) = self.entries.get(head) {
                depth = depth.max(e.depth.saturating_add(1));
                ancestors.insert(*head);
                ancestors.extend(e.ancestors.iter().copied());
            }
        }
        self.entries.insert(
            hash,
            Entry {
                op,
                depth,
                ancestors,
            },
        );
    }

    fn drain_pending(&mut self) {
        loop {
            let ready: Vec<Hash> = self
                .pending
                .iter()
                .filter(|(_, op)| self.ready(op))
                .map(|(h, _)| *h)
                .collect();
            if ready.is_empty() {
                return;
            }
            for hash in ready {
                if let Some(op) = self.pending.remove(&hash) {
                    self.insert(hash, op);
                }
            }
        }
    }

    /// Applies an operation that has every other one in its causal past: it comes last
    /// in canonical order, is concurrent with nothing, and so changes no earlier
    /// outcome; the result equals a full recompute.
    fn append(&mut self, hash: Hash) {
        let Some(entry) = self.entries.get(&hash) else {
            return;
        };
        let result = rules::check(&self.state, &entry.op).and_then(|()| {
            let mut next = self.state.clone();
            next.apply_effect(&entry.op, hash);
            if next.admin_count() == 0 {
                Err(GroupError::LastAdmin)
            } else {
                Ok(next)
            }
        });
        match result {
            Ok(next) => {
                self.state = next;
                self.outcomes.insert(hash, Ok(()));
            }
            Err(e) => {
                self.outcomes.insert(hash, Err(e));
            }
        }
        self.state.heads = vec![hash];
        self.state.rekey_needed = self.rekey_needed(&self.state);
    }

    fn recompute(&mut self) {
        let mut order: Vec<(u64, Hash)> = self
            .entries
            .iter()
            .filter(|(h, _)| **h != self.create)
            .map(|(h, e)| (e.depth, *h))
            .collect();
        order.sort();
        let order: Vec<Hash> = order.into_iter().map(|(_, h)| h).collect();
        let mut void = BTreeMap::new();
        let replay = loop {
            let replay = self.replay(&order, &void);
            let found = concurrency::voids(&self.entries, &replay.accepted, &replay.state);
            if found.is_empty() {
                break replay;
            }
            void.extend(found);
        };
        let mut state = replay.state;
        state.heads = self.dag_heads();
        self.outcomes = replay.outcomes;
        self.outcomes.insert(self.create, Ok(()));
        state.rekey_needed = self.rekey_needed(&state);
        self.state = state;
    }

    /// Whether the current epoch's key is held by anyone but exactly the members:
    /// someone removed holds it, or a member does not (admitted concurrently with the
    /// rotation, its admitter could not grant it). Either way a writer rotates first.
    ///
    /// The holders are the rotation's recipients (the founder, for epoch 0) and
    /// everyone added or admitted by someone who knew the epoch, i.e. by an operation
    /// that has the epoch's operation in its causal past.
    fn rekey_needed(&self, state: &GroupState) -> bool {
        let current = state.current_epoch();
        let mut holders: BTreeSet<MemberId> = match self.entries.get(&current).map(|e| &e.op.kind) {
            Some(OpKind::Rotate { keys }) => keys.keys().copied().collect(),
            Some(OpKind::Create { creator, .. }) => BTreeSet::from([creator.id]),
            _ => return state.rekey_needed,
        };
        // In causal order (depth), so an adder's own holding is settled before it hands
        // keys on: an adder that lacks the current key (admitted concurrently with the
        // rotation) cannot give it to the member it adds.
        let mut causal: Vec<(&Hash, &Entry)> = self.entries.iter().collect();
        causal.sort_by_key(|(hash, entry)| (entry.depth, **hash));
        for (hash, entry) in causal {
            // An admission made void by a concurrent branch counts too: its author saw it
            // valid and handed the joiner the keys.
            let handed_keys = match self.outcomes.get(hash) {
                Some(Ok(())) => true,
                Some(Err(e)) => matches!(
                    e,
                    GroupError::RemovedConcurrently { .. }
                        | GroupError::InviteTakenConcurrently { .. }
                ),
                None => false,
            };
            if let OpKind::Add { member, .. } | OpKind::Admit { member, .. } = &entry.op.kind
                && handed_keys
                && entry.ancestors.contains(&current)
                && holders.contains(&entry.op.author)
            {
                holders.insert(member.id);
            }
        }
        !holders.iter().eq(state.members.keys())
    }

    fn replay(&self, order: &[Hash], void: &BTreeMap<Hash, GroupError>) -> Replay {
        let mut running = self.base.clone();
        let mut accepted = Vec::new();
        let mut outcomes = BTreeMap::new();
        for hash in order {
            let Some(entry) = self.entries.get(hash) else {
                continue;
            };
            if let Some(e) = void.get(hash) {
                outcomes.insert(*hash, Err(e.clone()));
                continue;
            }
            let past = self.state_at(entry, &accepted, &running);
            let result = rules::check(&past, &entry.op).and_then(|()| {
                let mut next = running.clone();
                next.apply_effect(&entry.op, *hash);
                if next.admin_count() == 0 {
                    Err(GroupError::LastAdmin)
                } else {
                    Ok(next)
                }
            });
            match result {
                Ok(next) => {
                    running = next;
                    accepted.push(*hash);
                    outcomes.insert(*hash, Ok(()));
                }
                Err(e) => {
                    outcomes.insert(*hash, Err(e));
                }
            }
        }
        Replay {
            state: running,
            accepted,
            outcomes,
        }
    }

    /// The state of the accepted operations in `entry`'s causal past.
    fn state_at(&self, entry: &Entry, accepted: &[Hash], running: &GroupState) -> GroupState {
        // In a linear log every accepted operation is in the causal past.
        if accepted.iter().all(|h| entry.ancestors.contains(h)) {
            return running.clone();
        }
        let mut state = self.base.clone();
        for hash in accepted.iter().filter(|h| entry.ancestors.contains(h)) {
            if let Some(e) = self.entries.get(hash) {
                state.apply_effect(&e.op, *hash);
            }
        }
        state
    }

    fn dag_heads(&self) -> Vec<Hash> {
        let named: BTreeSet<Hash> = self
            .entries
            .values()
            .flat_map(|e| e.op.heads.iter().copied())
            .collect();
        self.entries
            .keys()
            .filter(|h| !named.contains(h))
            .copied()
            .collect()
    }
}
