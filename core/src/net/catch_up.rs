//! The asking side of the membership proof and of catch-up.
//!
//! Catch-up with one peer for one group: send the root of this device's version
//! vector; equal roots end it. Otherwise the peer answers with its vector, and this
//! side fetches what it lacks — membership log first, then every other document — in
//! pages of at most [`wire::PAGE_BYTES`], applying each page (one group commit) before
//! asking for the next, until nothing is missing or a round brings nothing new (what
//! is left waits on keys or envelopes this peer does not have). A document whose
//! missing envelopes outweigh a snapshot of it comes as one snapshot envelope instead
//! (`protocol-spec/snapshot.md`), and then only what is newer.

use std::time::Duration;

use libp2p::PeerId;

use super::wire::{self, Request, Response};
use super::{Command, Network, proof};
use crate::api::{ApiError, ErrorKind};
use crate::group::membership_doc;
use crate::ids::GroupId;
use crate::sync::{VersionVector, Want};

/// Pages per catch-up at most; a group bigger than this finishes in the next round.
const MAX_ROUNDS: usize = 10_000;
/// How long `plenum status` waits for fresh comparisons.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(3);

fn unexpected(what: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Network,
        format!("the peer answered {what} out of turn"),
    )
}

/// Runs the membership proof with `peer` as the asker; the groups it proved go to the
/// event loop, which starts catch-up for each.
pub(super) async fn hello(network: &Network, me: PeerId, peer: PeerId) -> Result<(), ApiError> {
    let groups = network.node().group_keys()?;
    let nonce = crate::crypto::random_array();
    let Response::Hello {
        proofs,
        nonce: theirs,
    } = network.request(peer, Request::Hello { nonce }).await?
    else {
        return Err(unexpected("the hello"));
    };
    let proven = proof::verify(&groups, &proofs, &nonce, &peer, &me);
    let mine = proof::prove(&groups, &theirs, &me, &peer);
    match network
        .request(peer, Request::Prove { proofs: mine })
        .await?
    {
        Response::Proven => {}
        Response::Refused(why) => {
            return Err(ApiError::new(ErrorKind::Network, why));
        }
        _ => return Err(unexpected("the proof")),
    }
    network
        .send(Command::Proven {
            peer,
            groups: proven,
        })
        .await
}

pub(super) async fn vector(network: &Network, group: GroupId) -> Result<VersionVector, ApiError> {
    let node = network.node().clone();
    tokio::task::spawn_blocking(move || node.version_vector(&group))
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, "reading the version vector failed"))?
}

/// Compares version vectors with `peer`; returns theirs (equal to mine when in sync).
pub(super) async fn compare(
    network: &Network,
    peer: PeerId,
    group: GroupId,
) -> Result<(VersionVector, VersionVector), ApiError> {
    let mine = vector(network, group).await?;
    let request = Request::Summary {
        tag: proof::tag(&group),
        root: *mine.root().as_bytes(),
    };
    let theirs = match network.request(peer, request).await? {
        Response::InSync => mine.clone(),
        Response::Vector(bytes) => VersionVector::from_bytes(&bytes)
            .map_err(|e| ApiError::new(ErrorKind::Integrity, format!("peer {peer}: {e}")))?,
        Response::Refused(why) => return Err(ApiError::new(ErrorKind::Network, why)),
        _ => return Err(unexpected("the summary")),
    };
    network
        .send(Command::Compared {
            peer,
            group,
            theirs: theirs.clone(),
        })
        .await?;
    Ok((mine, theirs))
}

/// Catches up `group` from `peer`. Returns how many envelopes were applied.
pub(super) async fn run(network: &Network, peer: PeerId, group: GroupId) -> Result<u64, ApiError> {
    let (mut mine, theirs) = compare(network, peer, group).await?;
    let first = membership_doc(&group);
    let mut applied = 0;
    // Same seq, different head: one of the two is a fork. Fetch the peer's copy so
    // this device keeps it as evidence and shows the fork (version vectors alone
    // would never ask for a seq this device already has).
    let forks: Vec<Want> = mine
        .forks_against(&theirs)
        .into_iter()
        .take(wire::MAX_WANTS)
        .map(|(doc, author, seq)| Want {
            doc,
            author,
            after_seq: seq.saturating_sub(1),
            until_seq: seq,
        })
        .collect();
    if !forks.is_empty() {
        let request = Request::Fetch {
            tag: proof::tag(&group),
            wants: forks,
            snapshots: false,
        };
        if let Response::Page { envelopes, .. } = network.request(peer, request).await? {
            apply(network, envelopes).await;
        }
    }
    // Snapshots while they help; a round they do not advance (a snapshot this device
    // refuses: an author it does not know yet, a key it lacks) is asked again for the
    // envelopes.
    let mut snapshots = true;
    for _ in 0..MAX_ROUNDS {
        let mut wants = mine.wants_from(&theirs, &first);
        if wants.is_empty() {
            break;
        }
        wants.truncate(wire::MAX_WANTS);
        let request = Request::Fetch {
            tag: proof::tag(&group),
            wants,
            snapshots,
        };
        let Response::Page { envelopes, .. } = network.request(peer, request).await? else {
            return Err(unexpected("a fetch"));
        };
        if envelopes.is_empty() {
            break;
        }
        applied += apply(network, envelopes).await;
        let now = vector(network, group).await?;
        if now.behind_by(&theirs) >= mine.behind_by(&theirs) {
            if snapshots {
                snapshots = false;
                continue;
            }
            break; // Nothing new: the rest waits on something this peer cannot give.
        }
        mine = now;
    }
    Ok(applied)
}

/// Applies a page: every envelope in order, then one wait for the group commit.
pub(super) async fn apply(network: &Network, envelopes: Vec<Vec<u8>>) -> u64 {
    let node = network.node().clone();
    let (count, bytes) = (
        envelopes.len() as u64,
        envelopes.iter().map(|e| e.len() as u64).sum::<u64>(),
    );
    let Ok(futures) = tokio::task::spawn_blocking(move || {
        envelopes
            .iter()
            .map(|e| node.receive_caught_up(e))
            .collect::<Vec<_>>()
    })
    .await
    else {
        return 0;
    };
    let (mut applied, mut duplicates) = (0, 0);
    for future in futures {
        match future.await {
            Ok(crate::Ingested::Applied(n)) => applied += 1 + n as u64,
            Ok(crate::Ingested::Duplicate) => duplicates += 1,
            _ => {}
        }
    }
    if let Ok(mut counts) = network.counts.lock() {
        counts.envelopes += count;
        counts.bytes += bytes;
        counts.duplicates += duplicates;
    }
    applied
}

/// Compares afresh with every connected peer of every group, bounded in time.
pub(super) async fn refresh_all(network: &Network) {
    let (reply, answer) = tokio::sync::oneshot::channel();
    if network.send(Command::Pairs(reply)).await.is_err() {
        return;
    }
    let Ok(pairs) = answer.await else { return };
    let comparisons = pairs
        .into_iter()
        .map(|(peer, group)| async move {
            let _ = compare(network, peer, group).await;
        })
        .collect::<Vec<_>>();
    let _ = tokio::time::timeout(
        REFRESH_TIMEOUT,
        libp2p::futures::future::join_all(comparisons),
    )
    .await;
}
