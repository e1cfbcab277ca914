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
use super::store_key::{endorse, prove, store_key};
use super::wire::{self, Endorsement, Request, Response};
use super::{Command, Network, proof};
use crate::api::{ApiError, ErrorKind};
use crate::group::membership_doc;
use crate::ids::{DocId, GroupId};
use crate::sync::VersionVector;

/// Pages per push at most; the rest goes in the next round.
const MAX_ROUNDS: usize = 1000;
/// A document gets a snapshot at a relay once the relay holds this many of its
/// envelopes beyond what the last snapshot pushed there covered (as for a member's
/// catch-up answer: 16 KiB of envelopes at 256 bytes at least each).
pub(super) const SNAPSHOT_EVERY: u64 = 64;
/// Snapshots pushed per round at most (each costs loading and saving a document).
const SNAPSHOTS_PER_ROUND: usize = 16;

/// Per (relay, group, document), the envelopes the last snapshot pushed there covers.
pub(super) type Pushed = HashMap<(PeerId, GroupId, DocId), u64>;

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
    let keys = network.node().group_keys()?;
    let Some(epochs) = keys.iter().find(|g| g.group == group).map(|g| &g.epochs) else {
        return Ok(false);
    };
    let Some((_, current)) = epochs.first() else {
        return Ok(false);
    };
    let tag = proof::tag(&group);
    let key = store_key(current, &group);
    let public = key.id().0;
    // The previous epoch's key vouches for this one, should the relay know only it.
    let endorsement = epochs.get(1).map(|(_, older)| {
        let old = store_key(older, &group);
        Endorsement {
            by: old.id().0,
            signature: endorse(&old, &tag, &public).to_vec(),
        }
    });
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
        signature: prove(&key, &tag, &nonce, &relay, &me).to_vec(),
        endorsement,
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
/// durable here too) has [`SNAPSHOT_EVERY`] envelopes more than the last snapshot
/// pushed there covered. Returns how many the relay stored.
async fn push_snapshots(
    network: &Network,
    relay: PeerId,
    group: GroupId,
    held: &VersionVector,
) -> Result<u64, ApiError> {
    let log = membership_doc(&group);
    let mut totals: HashMap<DocId, u64> = HashMap::new();
    for (doc, _, head) in held.iter().filter(|(doc, _, _)| **doc != log) {
        *totals.entry(*doc).or_default() += head.seq;
    }
    let due: Vec<DocId> = {
        let pushed = network.snapshots_pushed.lock().map_err(|_| poisoned())?;
        totals
            .iter()
            .filter(|(doc, total)| {
                let last = pushed.get(&(relay, group, **doc)).copied().unwrap_or(0);
                **total >= last + SNAPSHOT_EVERY
            })
            .map(|(doc, _)| *doc)
            .take(SNAPSHOTS_PER_ROUND)
            .collect()
    };
    let mut stored = 0;
    for doc in due {
        let node = network.node().clone();
        let snapshot = tokio::task::spawn_blocking(move || node.durable_snapshot(&group, &doc))
            .await
            .map_err(|_| ApiError::new(ErrorKind::Storage, "sealing a snapshot failed"))??;
        // None: the document spans key epochs, or is too large; its envelopes serve.
        let Some(snapshot) = snapshot else {
            remember(network, relay, group, doc, totals[&doc])?;
            continue;
        };
        let covered = snapshot.covers.iter().map(|(_, head)| head.seq).sum();
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
                remember(network, relay, group, doc, covered)?;
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
    covered: u64,
) -> Result<(), ApiError> {
    let mut pushed = network.snapshots_pushed.lock().map_err(|_| poisoned())?;
    pushed.insert((relay, group, doc), covered);
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
