//! The joining side: find a member who holds the invite, be admitted, catch up.
//!
//! ```text
//! joiner → peer   JoinHello { invite public key }   (any reachable peer: link
//! peer → joiner   JoinNonce(nonce)                    addresses, mDNS finds)
//! joiner → peer   Join(JoinRequest signed over the nonce and both PeerIds)
//! peer → joiner   Welcome { grants, envelopes }      or Refused(why)
//! ```
//! The invite's public key names nothing to a stranger; only members, whose log holds
//! it, recognise it. Any member can admit, so the inviter need not be online.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::PeerId;
use tokio::time::Instant;

use super::peers::transport_key;
use super::relays::{peer_of, relay_of};
use super::rendezvous_names::invite_name;
use super::wire::{Request, Response};
use super::{Command, Network};
use crate::api::{
    ApiError, ErrorKind, GroupSummary, Request as ApiRequest, Response as ApiResponse,
};
use crate::invite::InviteLink;
use crate::time::Timestamp;

/// How often the joiner looks for new peers to ask.
const POLL: Duration = Duration::from_millis(300);
/// The first wait between polls: a peer on the LAN answers within milliseconds, so
/// polls start fast and back off to [`POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);

/// How long before a peer that did not admit this device is asked again: it may hold
/// the invite by now (it synced meanwhile), or its answer was lost.
const ASK_AGAIN: Duration = Duration::from_secs(3);
/// How often the joiner looks again at the link's relays for members announced there.
const DISCOVER_EVERY: Duration = Duration::from_secs(3);
/// How long one peer gets to answer a join step.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The next wait between polls: doubled, up to [`POLL`].
fn back_off(wait: Duration) -> Duration {
    (wait * 2).min(POLL)
}

fn network_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Network, message)
}

/// Refusals that no other admitter would answer differently.
fn is_final(reason: &str) -> bool {
    ["revoked", "expired", "already used", "already in the group"]
        .iter()
        .any(|w| reason.contains(w))
}

pub(super) async fn join(
    network: &Network,
    link: &str,
    timeout: Duration,
    mut progress: impl FnMut(&str) + Send,
) -> Result<GroupSummary, ApiError> {
    let parsed =
        InviteLink::parse(link).map_err(|e| ApiError::new(ErrorKind::Invalid, e.to_string()))?;
    if parsed.is_expired(Timestamp::now()) {
        return Err(ApiError::new(
            ErrorKind::Invalid,
            format!(
                "this invite expired at {}; ask for a new one",
                parsed.expires
            ),
        ));
    }
    if let ApiResponse::Groups(groups) = network.node().call(ApiRequest::GroupList).await?
        && groups.iter().any(|g| g.id == parsed.group && g.member)
    {
        return Err(ApiError::new(
            ErrorKind::Invalid,
            "this device is already in the group this invite is for",
        ));
    }
    for raw in &parsed.addresses {
        match libp2p::Multiaddr::try_from(raw.clone()) {
            Ok(address) => {
                progress(&format!("dialing {address}"));
                network.dial(address).await?;
            }
            Err(_) => progress("skipping an address in the link this version cannot read"),
        }
    }

    let invite_key = parsed.invite_key().public_key();
    // The relays the link leads through (or names): members who hold the invite
    // announce themselves there, so one is found even when the inviter is offline.
    let relays: Vec<libp2p::Multiaddr> = parsed
        .addresses
        .iter()
        .filter_map(|raw| libp2p::Multiaddr::try_from(raw.clone()).ok())
        .filter_map(|a| relay_of(&a).or_else(|| peer_of(&a).map(|_| a)))
        .collect();
    let name = invite_name(&invite_key);
    let mut last_discovery: Option<Instant> = None;
    let deadline = Instant::now() + timeout;
    let mut asked: HashMap<PeerId, Instant> = HashMap::new();
    let mut last_refusal = None;
    progress("looking for a member who can admit this device");
    let mut wait = FIRST_POLL;
    while Instant::now() < deadline {
        if last_discovery.is_none_or(|at| at.elapsed() >= DISCOVER_EVERY) {
            last_discovery = Some(Instant::now());
            for relay in &relays {
                network
                    .send(Command::Discover {
                        relay: relay.clone(),
                        name: name.clone(),
                    })
                    .await?;
            }
        }
        for peer in network.connected().await? {
            if asked.get(&peer).is_some_and(|at| at.elapsed() < ASK_AGAIN) {
                continue;
            }
            asked.insert(peer, Instant::now());
            match try_peer(network, link, peer, invite_key).await {
                Ok(Some(summary)) => {
                    progress(&format!("admitted by {peer}; catching up"));
                    network.send(Command::GroupsChanged).await?;
                    // The event loop proves the new membership to every peer and
                    // catches up; here, wait for the admitter's catch-up to finish.
                    catch_up_after_join(network, peer, &summary).await;
                    progress("caught up");
                    return Ok(summary);
                }
                Ok(None) => {}
                Err(reason) if is_final(&reason) => {
                    return Err(ApiError::new(ErrorKind::Forbidden, reason));
                }
                Err(reason) => {
                    progress(&format!("{peer} could not admit: {reason}"));
                    last_refusal = Some(reason);
                }
            }
        }
        tokio::time::sleep(wait).await;
        wait = back_off(wait);
        asked.retain(|_, at| at.elapsed() < ASK_AGAIN);
    }
    Err(network_error(match last_refusal {
        Some(reason) => format!(
            "no member admitted this device within {}: the last answer was \"{reason}\"",
            humantime::format_duration(timeout)
        ),
        None => format!(
            "nobody who can admit this device was reachable within {}: check that a \
             member's device is online on this network, or ask for a link with a \
             reachable address",
            humantime::format_duration(timeout)
        ),
    }))
}

/// One peer: `Ok(None)` when it holds no such invite; `Err` with its refusal.
async fn try_peer(
    network: &Network,
    link: &str,
    peer: PeerId,
    invite_key: [u8; 32],
) -> Result<Option<GroupSummary>, String> {
    let step = |request| {
        let network = network.clone();
        async move {
            tokio::time::timeout(STEP_TIMEOUT, network.request(peer, request))
                .await
                .map_err(|_| "it did not answer in time".to_string())?
                .map_err(|e| e.message)
        }
    };
    let nonce = match step(Request::JoinHello { invite_key }).await? {
        Response::JoinNonce(nonce) => nonce,
        _ => return Ok(None),
    };
    let admitter = transport_key(&peer).ok_or("the peer has no Ed25519 identity")?;
    let request = network
        .node()
        .join_request(link, admitter, nonce)
        .map_err(|e| e.message)?;
    match step(Request::Join(Box::new(request))).await? {
        Response::Welcome(welcome) => network
            .node()
            .accept_welcome(&welcome)
            .await
            .map(Some)
            .map_err(|e| format!("its welcome was refused: {}", e.message)),
        Response::Refused(reason) => Err(reason),
        _ => Err("it answered out of turn".into()),
    }
}

/// Waits, bounded, until the admitter has proved the new group to this device (the
/// event loop runs that proof for every connected peer once the group is joined, and
/// starts catch-up with the same step) and the catch-ups that follow are done.
async fn catch_up_after_join(network: &Network, admitter: PeerId, summary: &GroupSummary) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let group = summary.id;
    let mut wait = FIRST_POLL;
    while Instant::now() < deadline {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if network.send(Command::Pairs(reply)).await.is_err() {
            return;
        }
        let proven = answer
            .await
            .is_ok_and(|pairs| pairs.contains(&(admitter, group)));
        if proven {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if network
                .send(Command::CatchingUp { group, reply })
                .await
                .is_err()
            {
                return;
            }
            if !answer.await.unwrap_or(false) {
                return;
            }
        }
        tokio::time::sleep(wait).await;
        wait = back_off(wait);
    }
}
