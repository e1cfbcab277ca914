//! Taking a snapshot envelope from catch-up or a welcome (`protocol-spec/snapshot.md`):
//! a compacted document in place of the envelopes that built it.
//!
//! `verify_snapshot` proves that every change in it is vouched for by its author's own
//! signed envelope. What remains is what this device checks for any envelope: that each
//! covered author may write to the document (member, or within its removal cutoff), and
//! that the changes obey the authorship rules. The rules judge a change by who wrote it,
//! so the changes this device lacks are replayed in causal order, each run of one
//! author's consecutive changes checked as if it had arrived in an envelope of that
//! author. A snapshot is taken whole or not at all; a refused one leaves the document
//! as it was.
//!
//! Afterwards each covered author's chain continues from its covered envelope, which is
//! stored as its head: the author's next envelope names it as `prev`. The envelopes
//! below it never reach this device, so the store's save of the document covers them.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::{ActorId, AutoCommit, Change, ChangeHash};

use super::{IngestError, Ingested, keep_evidence};
use crate::api::{ApiError, ErrorKind};
use crate::docs::authorship::{check_received, check_whole};
use crate::envelope::{Envelope, SnapshotError, verify_snapshot};
use crate::group::membership_doc;
use crate::identity::actor_for;
use crate::ids::{DocId, GroupId, MemberId};
use crate::node::engine::{State, Tx};

/// A covered author as this device judges it.
struct Writer {
    author: MemberId,
    is_admin: bool,
}

impl State {
    /// Takes an envelope that arrived in catch-up or a welcome: a snapshot, or any
    /// envelope [`State::ingest`] takes.
    pub(crate) fn ingest_caught_up(
        &mut self,
        tx: &mut Tx,
        bytes: &[u8],
    ) -> Result<Ingested, IngestError> {
        let envelope = Envelope::decode(bytes)?;
        if envelope.header().kind == crate::envelope::Kind::Snapshot {
            return self.ingest_snapshot(tx, envelope);
        }
        self.ingest_decoded(tx, envelope)
    }

    fn ingest_snapshot(
        &mut self,
        tx: &mut Tx,
        envelope: Envelope,
    ) -> Result<Ingested, IngestError> {
        let h = envelope.header().clone();
        let group = self.group_by_tag(h.group_tag)?;
        let doc = h.doc;
        if doc == membership_doc(&group) {
            return Err(IngestError::SnapshotRefused(SnapshotError::Malformed(
                "the membership log is never snapshotted; its envelopes are sent whole".into(),
            )));
        }
        let secrets = &self.group(&group)?.secrets;
        let verified =
            verify_snapshot(&envelope, h.group_tag, |epoch| secrets.doc_key(epoch, &doc)).map_err(
                |e| match e {
                    SnapshotError::NoKey { epoch } => IngestError::NoKey { epoch },
                    other => IngestError::SnapshotRefused(other),
                },
            )?;
        let exists = self.has_doc(&group, &doc)?;
        let mut writers: HashMap<ActorId, Writer> = HashMap::new();
        let mut advanced = Vec::new();
        for covered in verified.envelopes {
            let ch = covered.header();
            if ch.epoch != h.epoch {
                // The sender must seal under the epoch its envelopes share (see
                // `Node::durable_snapshot`), or it would open for people who may not
                // read them.
                return Err(IngestError::SnapshotRefused(SnapshotError::Malformed(
                    format!(
                        "the covered envelope of {} is sealed under another epoch than the snapshot",
                        ch.author
                    ),
                )));
            }
            self.judge_covered(&group, &doc, ch.author, ch.seq)?;
            let is_admin = self.group(&group)?.state.is_admin(&ch.author);
            writers.insert(
                actor_for(&ch.author),
                Writer {
                    author: ch.author,
                    is_admin,
                },
            );
            let local = if exists {
                self.doc(&group, &doc)?.head(&ch.author)
            } else {
                None
            };
            match local {
                Some((seq, hash)) if seq == ch.seq && hash != covered.hash() => {
                    keep_evidence(tx, group, &covered);
                    return Err(IngestError::Fork {
                        author: ch.author,
                        doc,
                        seq: ch.seq,
                    });
                }
                Some((seq, _)) if seq >= ch.seq => {}
                _ => advanced.push(covered),
            }
        }
        if advanced.is_empty() {
            return Ok(Ingested::Duplicate);
        }
        let before = if exists {
            self.doc(&group, &doc)?.doc.get_heads()
        } else {
            Vec::new()
        };
        let mut snapshot = verified.doc;
        let actor = self.me(&group)?.actor_id();
        let single = writers.values().next().filter(|_| writers.len() == 1);
        if let Some(writer) = single.filter(|_| !exists) {
            // One writer (a pad one person keeps, say): every change in the document is
            // its, so the loaded document is checked as a whole instead of rebuilt
            // change by change.
            check_whole(&mut snapshot, writer.author, writer.is_admin)
                .map_err(IngestError::Authorship)?;
            snapshot.set_actor(actor);
            let arrived: Vec<ChangeHash> = snapshot
                .get_changes_meta(&[])
                .into_iter()
                .map(|m| m.hash)
                .collect();
            self.create_doc(tx, &group, doc)?;
            self.doc(&group, &doc)?.doc = snapshot;
            return self.adopted(tx, group, doc, &before, &arrived, &advanced);
        }
        let missing = if exists {
            self.doc(&group, &doc)?.doc.get_changes_added(&mut snapshot)
        } else {
            snapshot.get_changes(&[])
        };
        let arrived: Vec<ChangeHash> = missing.iter().map(Change::hash).collect();
        let ordered = causal_order(missing);
        if exists {
            let target = &mut self.doc(&group, &doc)?.doc;
            if let Err(refused) = replay(target, &ordered, &writers) {
                self.restore(&group, &doc, &before, actor)?;
                return Err(refused);
            }
        } else {
            let mut fresh = crate::docs::new_doc(actor);
            replay(&mut fresh, &ordered, &writers)?;
            self.create_doc(tx, &group, doc)?;
            self.doc(&group, &doc)?.doc = fresh;
        }
        self.adopted(tx, group, doc, &before, &arrived, &advanced)
    }

    /// Records a snapshot whose changes are in the document now, and takes what waited
    /// for them.
    fn adopted(
        &mut self,
        tx: &mut Tx,
        group: GroupId,
        doc: DocId,
        before: &[ChangeHash],
        arrived: &[ChangeHash],
        advanced: &[Envelope],
    ) -> Result<Ingested, IngestError> {
        let loaded = self.doc(&group, &doc)?;
        loaded.chat_tail = None;
        loaded.adopt_snapshot(&mut tx.batch, &group, &doc, advanced);
        tx.touched.push((group, doc));
        self.pending.arrived(group, doc, arrived);
        self.announce(tx, group, doc, before)?;
        // The envelopes that waited for the covered ones, and what they unblock.
        let mut unblocked = 0;
        for covered in advanced {
            let ch = covered.header();
            if let Some(next) = self.pending.take(group, doc, ch.author, ch.seq + 1)
                && let Ok(Ingested::Applied(n)) = self.ingest_chain(tx, group, next)
            {
                unblocked += 1 + n;
            }
        }
        while let Some((group, ready)) = self.pending.take_ready() {
            if let Err(e) = self.ingest_chain(tx, group, ready) {
                tracing::debug!("an envelope that waited for its dependencies is refused: {e}");
            }
        }
        Ok(Ingested::Applied(unblocked))
    }

    /// A covered author may have written up to `seq` of the document: it is a member,
    /// or was removed after writing that much. An author this device does not know yet
    /// refuses the snapshot; catch-up offers it again once the membership arrives.
    fn judge_covered(
        &self,
        group: &GroupId,
        doc: &DocId,
        author: MemberId,
        seq: u64,
    ) -> Result<(), IngestError> {
        let state = &self.group(group)?.state;
        if state.is_member(&author) {
            return Ok(());
        }
        let Some(cutoffs) = state.cutoffs.get(&author) else {
            return Err(IngestError::UnknownAuthor { author });
        };
        let cutoff = cutoffs.get(doc).copied().unwrap_or(0);
        if seq <= cutoff {
            return Ok(());
        }
        Err(IngestError::AboveCutoff {
            author,
            doc: *doc,
            seq,
            cutoff,
        })
    }

    /// Puts a document back at `heads` after a refused replay (O(document), only for
    /// refusals, as in `apply_checked`).
    fn restore(
        &mut self,
        group: &GroupId,
        doc: &DocId,
        heads: &[ChangeHash],
        actor: ActorId,
    ) -> Result<(), IngestError> {
        let target = &mut self.doc(group, doc)?.doc;
        match target.fork_at(heads) {
            Ok(restored) => {
                *target = restored.with_actor(actor);
                Ok(())
            }
            Err(e) => {
                tracing::error!("could not restore {doc} after refusing a snapshot: {e}");
                self.forget([(*group, *doc)]);
                Err(ApiError::new(ErrorKind::Integrity, e.to_string()).into())
            }
        }
    }
}

/// Applies `changes` (causally ordered) to `doc`, checking each run of one author's
/// consecutive changes against the authorship rules as that author's envelope.
fn replay(
    doc: &mut AutoCommit,
    changes: &[Change],
    writers: &HashMap<ActorId, Writer>,
) -> Result<(), IngestError> {
    let mut start = 0;
    while start < changes.len() {
        let actor = changes[start].actor_id();
        let end = start
            + changes[start..]
                .iter()
                .take_while(|c| c.actor_id() == actor)
                .count();
        let run = &changes[start..end];
        // `verify_snapshot` refused any change whose actor no covered author writes as.
        let writer = writers.get(actor).ok_or_else(|| {
            IngestError::SnapshotRefused(SnapshotError::Uncovered {
                actor: actor.to_hex_string(),
                count: run.len(),
            })
        })?;
        let before = doc.get_heads();
        doc.update_diff_cursor();
        let verdict = doc
            .apply_changes(run.iter().cloned())
            .map_err(|e| IngestError::Changes(e.to_string()))
            .and_then(|()| {
                check_received(doc, &before, run, writer.author, writer.is_admin)
                    .map_err(IngestError::Authorship)
            });
        doc.reset_diff_cursor();
        verdict?;
        start = end;
    }
    Ok(())
}

/// `changes` in an order where each comes after its dependencies among them,
/// keeping an author's consecutive changes together where the graph allows, so the
/// replay checks long runs rather than single changes.
fn causal_order(changes: Vec<Change>) -> Vec<Change> {
    let hashes: HashSet<ChangeHash> = changes.iter().map(Change::hash).collect();
    let mut waiting: HashMap<ChangeHash, usize> = HashMap::new();
    let mut dependents: HashMap<ChangeHash, Vec<usize>> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        let deps: Vec<&ChangeHash> = change
            .deps()
            .iter()
            .filter(|d| hashes.contains(d))
            .collect();
        waiting.insert(change.hash(), deps.len());
        for dep in deps {
            dependents.entry(*dep).or_default().push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..changes.len())
        .filter(|i| waiting.get(&changes[*i].hash()) == Some(&0))
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    let mut last_actor: Option<ActorId> = None;
    while !ready.is_empty() {
        // Prefer a ready change by the author of the last one.
        let pick = last_actor
            .as_ref()
            .and_then(|a| ready.iter().position(|i| changes[*i].actor_id() == a))
            .unwrap_or(0);
        let Some(i) = ready.remove(pick) else { break };
        last_actor = Some(changes[i].actor_id().clone());
        order.push(i);
        for &next in dependents
            .get(&changes[i].hash())
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(count) = waiting.get_mut(&changes[next].hash()) {
                *count -= 1;
                if *count == 0 {
                    ready.push_back(next);
                }
            }
        }
    }
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    #[test]
    fn causal_order_puts_dependencies_first_and_keeps_runs_together() {
        let (a, b) = (ActorId::from(vec![1u8; 16]), ActorId::from(vec![2u8; 16]));
        let mut doc = AutoCommit::new().with_actor(a);
        doc.put(ROOT, "x", 1).unwrap();
        doc.commit();
        let mut other = doc.fork().with_actor(b);
        other.put(ROOT, "y", 1).unwrap();
        other.commit();
        doc.put(ROOT, "x", 2).unwrap();
        doc.commit();
        doc.merge(&mut other).unwrap();
        doc.put(ROOT, "z", 3).unwrap();
        doc.commit();
        let mut changes = doc.get_changes(&[]);
        changes.reverse();
        let ordered = causal_order(changes);
        assert_eq!(ordered.len(), 4);
        let mut seen = HashSet::new();
        for change in &ordered {
            assert!(change.deps().iter().all(|d| seen.contains(d)));
            seen.insert(change.hash());
        }
        // a's two changes before the merge form one run; b's sits before or after it.
        let actors: Vec<&ActorId> = ordered.iter().map(Change::actor_id).collect();
        let runs = actors.windows(2).filter(|w| w[0] != w[1]).count() + 1;
        assert!(runs <= 3, "{runs} runs for {actors:?}");
        let mut replayed = AutoCommit::new();
        replayed.apply_changes(ordered).unwrap();
        assert_eq!(replayed.get_heads(), doc.get_heads());
        assert!(replayed.get(ROOT, "z").unwrap().is_some());
    }
}
