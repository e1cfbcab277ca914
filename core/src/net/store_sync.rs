//! The member side of a storing relay (`plenum relay --store`): prove the group's
//! store key there, then push what the relay lacks. Fetching what this device lacks
//! is ordinary catch-up against the relay, which answers `Summary` and `Fetch` from its
//! store; live envelopes are pushed one by one as they are sealed. Once the relay holds
//! everything, long documents get a snapshot there too, which it serves in place of
//! their envelopes: a device catching up from the relay then receives about what it
//! would from a member.

use std::collections::HashMap;

use libp2p::PeerId;

use super::catch_up::vector;
use super::store_key;
use super::wire::{self, Request, Response};
use super::{Command, Network, proof};
use crate::api::{ApiError, ErrorKind};
use crate::group::membership_doc;
use crate::ids::{DocId, GroupId, MemberId};
use crate::node::SNAPSHOT_WORTH;
use crate::sync::{VersionVector, Want};

/// Pages per push at most; the rest goes in the next round.
const MAX_ROUNDS: usize = 1000;
/// A document gets a snapshot at a relay once the relay holds this many of its
/// envelopes beyond what the last snapshot pushed there covered (as for a member's
/// catch-up answer: 16 KiB of envelopes at 256 bytes at least each), or once those
/// envelopes weigh enough ([`tail_bytes_due`]).
pub(super) const SNAPSHOT_EVERY: u64 = 64;
/// Snapshots pushed per round at most (each costs loading and saving a document).
const SNAPSHOTS_PER_ROUND: usize = 16;

/// The last snapshot of a document pushed to a relay.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct LastSnapshot {
    /// Per author, the seq it covers.
    covers: HashMap<MemberId, u64>,
    /// Its size; `None` when the document could not be snapshotted (it spans key
    /// epochs, or is too large), so only [`SNAPSHOT_EVERY`] more envelopes try again.
    bytes: Option<usize>,
}

/// The envelopes of `doc` that `held` (per author, the latest seq) has beyond `last`.
fn tail(last: Option<&LastSnapshot>, doc: DocId, held: &[(MemberId, u64)]) -> Vec<Want> {
    held.iter()
        .map(|(author, seq)| Want {
            doc,
            author: *author,
            after_seq: last
                .and_then(|l| l.covers.get(author))
                .copied()
                .unwrap_or(0),
            until_seq: *seq,
        })
        .filter(|want| !want.is_empty())
        .collect()
}

/// How many bytes of envelopes beyond `last` make a snapshot due: half of its size (a
/// returning device then fetches at most 1.5 snapshots' worth; each snapshot pushed is
/// then about 1.5× the last, so they add up to about three times the document),
/// never under what a snapshot is worth at all, never more than a page to read. Big
/// envelopes (pipelined messages, long pad edits) thus get a snapshot long before
/// [`SNAPSHOT_EVERY`] of them. `None`: only the count decides.
fn tail_bytes_due(last: Option<&LastSnapshot>) -> Option<usize> {
    let half = match last {
        None => 0,
        Some(LastSnapshot {
            bytes: Some(bytes), ..
        }) => bytes / 2,
        Some(LastSnapshot { bytes: None, .. }) => return None,
    };
    Some(half.clamp(SNAPSHOT_WORTH, wire::PAGE_BYTES))
}

/// Per (relay, group, document), the last snapshot pushed there.
pub(super) type Pushed = HashMap<(PeerId, GroupId, DocId), LastSnapshot>;

fn refused(why: String) -> ApiError {
    ApiError::new(ErrorKind::Network, why)
}

/// Proves the group's store key to `relay`: true when it now stores for the group,
/// false when it keeps no store.
pub(super) async fn register(
    network: &Network,
    me: PeerId,
    relay: PeerId,
    group: GroupId,
) -> Result<bool, ApiError> {
    // Older epochs' keys vouch for the current one, should the relay know only one of
    // them.
    let epochs = network
        .node()
        .epoch_keys(&group, wire::MAX_ENDORSEMENTS + 1)?;
    let tag = proof::tag(&group);
    let Some((key, endorsements)) = store_key::current_with_chain(&epochs, &group, &tag) else {
        return Ok(false);
    };
    let public = key.id().0;
    let nonce = match network.request(relay, Request::StoreHello { tag }).await? {
        Response::StoreNonce(nonce) => nonce,
        Response::Refused(why) => {
            tracing::debug!(%relay, "the relay keeps no store for this group: {why}");
            return Ok(false);
        }
        _ => {
            return Err(refused(
                "the relay answered the store hello out of turn".into(),
            ));
        }
    };
    let request = Request::StoreProve {
        tag,
        key: public,
        signature: store_key::prove(&key, &tag, &nonce, &relay, &me).to_vec(),
        endorsements,
    };
    match network.request(relay, request).await? {
        Response::Proven => Ok(true),
        Response::Refused(why) => Err(refused(format!("the relay refused the store key: {why}"))),
        _ => Err(refused(
            "the relay answered the store proof out of turn".into(),
        )),
    }
}

/// Pushes to `relay` every envelope of `group` it lacks. Returns how many it stored.
pub(super) async fn push_missing(
    network: &Network,
    relay: PeerId,
    group: GroupId,
) -> Result<u64, ApiError> {
    let tag = proof::tag(&group);
    let first = membership_doc(&group);
    let mut stored = 0;
    for _ in 0..MAX_ROUNDS {
        let mine = vector(network, group).await?;
        let request = Request::Summary {
            tag,
            root: *mine.root().as_bytes(),
        };
        let theirs = match network.request(relay, request).await? {
            Response::InSync => {
                // Before recording, so this round's "holds everything" includes its
                // snapshots (a catch-up's comparison may say so sooner).
                if let Err(e) = push_snapshots(network, relay, group, &mine).await {
                    tracing::debug!(%relay, "no snapshot pushed: {e}");
                }
                record(network, relay, group, mine).await;
                break;
            }
            Response::Vector(bytes) => VersionVector::from_bytes(&bytes)
                .map_err(|e| ApiError::new(ErrorKind::Integrity, format!("relay {relay}: {e}")))?,
            Response::Refused(why) => return Err(refused(why)),
            _ => return Err(refused("the relay answered the summary out of turn".into())),
        };
        let mut wants = theirs.wants_from(&mine, &first);
        record(network, relay, group, theirs).await;
        if wants.is_empty() {
            break;
        }
        wants.truncate(wire::MAX_WANTS);
        let node = network.node().clone();
        let (envelopes, _) = tokio::task::spawn_blocking(move || {
            node.envelopes_for(&group, &wants, wire::PAGE_BYTES, false)
        })
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, "reading envelopes failed"))??;
        if envelopes.is_empty() {
            break;
        }
        let (now, full) = push(network, relay, group, envelopes).await?;
        stored += now;
        if now == 0 || full {
            break; // What is left is refused there (its quota) or not held here.
        }
    }
    Ok(stored)
}

/// Pushes a snapshot of each document of which `held` (what the relay holds, all of it
/// durable here too) has enough envelopes beyond the last snapshot pushed there (see
/// [`SNAPSHOT_EVERY`]). Returns how many the relay stored.
async fn push_snapshots(
    network: &Network,
    relay: PeerId,
    group: GroupId,
    held: &VersionVector,
) -> Result<u64, ApiError> {
    let log = membership_doc(&group);
    let mut authors: HashMap<DocId, Vec<(MemberId, u64)>> = HashMap::new();
    for (doc, author, head) in held.iter().filter(|(doc, _, _)| **doc != log) {
        authors.entry(*doc).or_default().push((*author, head.seq));
    }
    let tails: Vec<(DocId, Vec<Want>, Option<usize>)> = {
        let pushed = network.snapshots_pushed.lock().map_err(|_| poisoned())?;
        authors
            .iter()
            .filter_map(|(doc, held)| {
                let last = pushed.get(&(relay, group, *doc));
                let tail = tail(last, *doc, held);
                (!tail.is_empty()).then(|| (*doc, tail, tail_bytes_due(last)))
            })
            .collect()
    };
    let node = network.node().clone();
    let due = tokio::task::spawn_blocking(move || -> Result<Vec<DocId>, ApiError> {
        let mut due = Vec::new();
        for (doc, tail, bytes_due) in tails {
            if due.len() == SNAPSHOTS_PER_ROUND {
                break;
            }
            if tail.iter().map(Want::len).sum::<u64>() >= SNAPSHOT_EVERY {
                due.push(doc);
                continue;
            }
            let Some(bytes_due) = bytes_due else { continue };
            let (envelopes, complete) = node.envelopes_for(&group, &tail, bytes_due, false)?;
            if !complete || envelopes.iter().map(Vec::len).sum::<usize>() >= bytes_due {
                due.push(doc);
            }
        }
        Ok(due)
    })
    .await
    .map_err(|_| ApiError::new(ErrorKind::Storage, "reading envelopes failed"))??;
    let mut stored = 0;
    for doc in due {
        let node = network.node().clone();
        let snapshot = tokio::task::spawn_blocking(move || node.durable_snapshot(&group, &doc))
            .await
            .map_err(|_| ApiError::new(ErrorKind::Storage, "sealing a snapshot failed"))??;
        let Some(snapshot) = snapshot else {
            let covers = authors[&doc].iter().copied().collect();
            remember(
                network,
                relay,
                group,
                doc,
                LastSnapshot {
                    covers,
                    bytes: None,
                },
            )?;
            continue;
        };
        let last = LastSnapshot {
            covers: snapshot
                .covers
                .iter()
                .map(|(author, head)| (*author, head.seq))
                .collect(),
            bytes: Some(snapshot.envelope.len()),
        };
        let request = Request::PushSnapshot {
            tag: proof::tag(&group),
            envelope: snapshot.envelope,
            covers: snapshot
                .covers
                .iter()
                .map(|(author, head)| wire::Cover {
                    author: author.0,
                    seq: head.seq,
                    head: head.head.0,
                })
                .collect(),
        };
        match network.request(relay, request).await? {
            Response::Stored {
                stored: now,
                invalid,
                full,
                ..
            } => {
                if full {
                    tracing::warn!(%relay, "the group's quota at the relay is used up");
                    break;
                }
                if invalid > 0 {
                    // Most likely it covers an envelope sealed here since the relay
                    // said it holds everything: the next round tries again.
                    tracing::debug!(%relay, %doc, "the relay refused a snapshot");
                    continue;
                }
                stored += u64::from(now);
                remember(network, relay, group, doc, last)?;
            }
            Response::Refused(why) => return Err(refused(why)),
            _ => {
                return Err(refused(
                    "the relay answered the snapshot out of turn".into(),
                ));
            }
        }
    }
    Ok(stored)
}

fn remember(
    network: &Network,
    relay: PeerId,
    group: GroupId,
    doc: DocId,
    last: LastSnapshot,
) -> Result<(), ApiError> {
    let mut pushed = network.snapshots_pushed.lock().map_err(|_| poisoned())?;
    pushed.insert((relay, group, doc), last);
    Ok(())
}

fn poisoned() -> ApiError {
    ApiError::new(ErrorKind::Storage, "the network's snapshot record broke")
}

/// Records what the relay holds, for the status.
async fn record(network: &Network, relay: PeerId, group: GroupId, theirs: VersionVector) {
    let _ = network
        .send(Command::Compared {
            peer: relay,
            group,
            theirs,
        })
        .await;
}

/// Pushes `envelopes` to `relay`; returns how many it stored and whether the group's
/// quota there is used up.
pub(super) async fn push(
    network: &Network,
    relay: PeerId,
    group: GroupId,
    envelopes: Vec<Vec<u8>>,
) -> Result<(u64, bool), ApiError> {
    let request = Request::Push {
        tag: proof::tag(&group),
        envelopes,
    };
    match network.request(relay, request).await? {
        Response::Stored {
            stored,
            invalid,
            full,
            ..
        } => {
            if invalid > 0 {
                tracing::warn!(%relay, invalid, "the relay refused envelopes as invalid");
            }
            if full {
                tracing::warn!(%relay, "the group's quota at the relay is used up");
            }
            Ok((u64::from(stored), full))
        }
        Response::Refused(why) => Err(refused(why)),
        _ => Err(refused("the relay answered the push out of turn".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(covers: &[(MemberId, u64)], bytes: Option<usize>) -> LastSnapshot {
        LastSnapshot {
            covers: covers.iter().copied().collect(),
            bytes,
        }
    }

    #[test]
    fn the_tail_is_what_each_author_wrote_beyond_the_last_snapshot() {
        let (doc, ana, ben, cai) = (
            DocId::random(),
            MemberId::random(),
            MemberId::random(),
            MemberId::random(),
        );
        let last = snapshot(&[(ana, 10), (ben, 3)], Some(4096));
        let held = [(ana, 12), (ben, 3), (cai, 2)];
        let tail = tail(Some(&last), doc, &held);
        let ranges: Vec<_> = tail
            .iter()
            .map(|w| (w.author, w.after_seq, w.until_seq))
            .collect();
        assert_eq!(ranges, vec![(ana, 10, 12), (cai, 0, 2)]);
        assert!(tail.iter().all(|w| w.doc == doc));
        // Without a snapshot there, everything is tail.
        assert_eq!(super::tail(None, doc, &held).len(), 3);
    }

    #[test]
    fn a_tail_of_half_the_last_snapshot_makes_the_next_one_due() {
        // No snapshot there yet: as soon as the envelopes are worth one.
        assert_eq!(tail_bytes_due(None), Some(SNAPSHOT_WORTH));
        let ana = MemberId::random();
        // A large document: half its last snapshot.
        let big = snapshot(&[(ana, 100)], Some(600_000));
        assert_eq!(tail_bytes_due(Some(&big)), Some(300_000));
        // A small one: never for less than a snapshot is worth.
        let small = snapshot(&[(ana, 3)], Some(2_000));
        assert_eq!(tail_bytes_due(Some(&small)), Some(SNAPSHOT_WORTH));
        // A huge one: never more than a page to read to find out.
        let huge = snapshot(&[(ana, 3)], Some(40 << 20));
        assert_eq!(tail_bytes_due(Some(&huge)), Some(wire::PAGE_BYTES));
        // One that could not be snapshotted: only the count tries again.
        assert_eq!(tail_bytes_due(Some(&snapshot(&[(ana, 3)], None))), None);
    }
}
