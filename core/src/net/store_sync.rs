//! The member side of a storing relay (`plenum relay --store`): prove the group's
//! store key there, then push what the relay lacks. Fetching what this device lacks
//! is ordinary catch-up against the relay, which answers `Summary` and `Fetch` from its
//! store; live envelopes are pushed one by one as they are sealed.

use libp2p::PeerId;

use super::catch_up::vector;
use super::store_key::{endorse, prove, store_key};
use super::wire::{self, Endorsement, Request, Response};
use super::{Command, Network, proof};
use crate::api::{ApiError, ErrorKind};
use crate::group::membership_doc;
use crate::ids::GroupId;
use crate::sync::VersionVector;

/// Pages per push at most; the rest goes in the next round.
const MAX_ROUNDS: usize = 1000;

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
