//! The rules that only the whole DAG can settle: which accepted operations concurrent
//! branches make void. See `protocol-spec/membership.md`, "Concurrency rules".

use std::collections::BTreeMap;

use super::log::Entry;
use super::{GroupError, GroupState, OpKind};
use crate::ids::Hash;

/// The accepted operations (in canonical order) that the concurrency rules make void,
/// given the state they yield.
pub(super) fn voids(
    entries: &BTreeMap<Hash, Entry>,
    accepted: &[Hash],
    state: &GroupState,
) -> BTreeMap<Hash, GroupError> {
    let mut void = removal_voids(entries, accepted);
    void.extend(admission_voids(entries, accepted, state));
    void
}

/// Rules (a) and (b): a removal (or leave) beats the removed member's concurrent
/// operations, except the removed member's own removal of its remover: both stand.
fn removal_voids(entries: &BTreeMap<Hash, Entry>, accepted: &[Hash]) -> BTreeMap<Hash, GroupError> {
    let mut void = BTreeMap::new();
    for removal in accepted {
        let Some(r) = entries.get(removal) else {
            continue;
        };
        let Some(gone) = r.op.removes() else {
            continue;
        };
        for hash in accepted {
            let Some(e) = entries.get(hash) else {
                continue;
            };
            let concurrent =
                hash != removal && !r.ancestors.contains(hash) && !e.ancestors.contains(removal);
            let mutual = matches!(&e.op.kind,
                OpKind::Remove { member, .. } if *member == r.op.author);
            if e.op.author == gone && concurrent && !mutual {
                void.insert(
                    *hash,
                    GroupError::RemovedConcurrently {
                        member: gone,
                        removal: *removal,
                    },
                );
            }
        }
    }
    void
}

/// Rule (c): an invite admitted more often than its uses keeps the admissions with the
/// lowest hashes.
fn admission_voids(
    entries: &BTreeMap<Hash, Entry>,
    accepted: &[Hash],
    state: &GroupState,
) -> BTreeMap<Hash, GroupError> {
    let mut admits: BTreeMap<Hash, Vec<Hash>> = BTreeMap::new();
    for hash in accepted {
        if let Some(OpKind::Admit { invite, .. }) = entries.get(hash).map(|e| &e.op.kind) {
            admits.entry(*invite).or_default().push(*hash);
        }
    }
    let mut void = BTreeMap::new();
    for (invite, mut list) in admits {
        let Some(found) = state.invites.get(&invite) else {
            continue;
        };
        let uses = usize::try_from(found.uses).unwrap_or(usize::MAX);
        list.sort();
        // The last admission that stands took the invite's last use.
        let (Some(winner), Some(losers)) = (
            uses.checked_sub(1).and_then(|i| list.get(i)).copied(),
            list.get(uses..),
        ) else {
            continue;
        };
        for loser in losers {
            void.insert(
                *loser,
                GroupError::InviteTakenConcurrently { invite, winner },
            );
        }
    }
    void
}
