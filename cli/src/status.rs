//! `plenum status` for people: per group, each peer, how it is connected, and per
//! document whether both sides hold the same envelopes.

use std::io::Write;

use anyhow::Result;
use plenum_core::api::{HolePunch, PeerPath, Reachability, StatusView, SyncState};
use plenum_core::time::Timestamp;

fn ago(at: Timestamp) -> String {
    let now = Timestamp::now().as_millis();
    let secs = now.saturating_sub(at.as_millis()) / 1000;
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

fn state(s: &SyncState) -> String {
    match s {
        SyncState::InSync => "in sync".into(),
        SyncState::Behind { envelopes } => format!("this device is behind by {envelopes}"),
        SyncState::PeerBehind { envelopes } => format!("peer is behind by {envelopes}"),
        SyncState::Diverged {
            behind,
            peer_behind,
        } => format!("this device is behind by {behind}; peer is behind by {peer_behind}"),
        SyncState::Forked => "FORK: each holds a different envelope under one number".into(),
        SyncState::Unknown => "unknown".into(),
    }
}

pub(crate) fn print(out: &mut impl Write, view: &StatusView) -> Result<()> {
    if view.online {
        writeln!(out, "online as {}", view.peer_id.as_deref().unwrap_or("?"))?;
        for address in &view.listen {
            writeln!(out, "  listening: {address}")?;
        }
        let reachability = match view.reachability {
            Reachability::Public => "peers elsewhere can dial this device directly",
            Reachability::Private => {
                "behind NAT or a firewall: peers elsewhere reach this device through relays"
            }
            Reachability::Unknown => "not known yet whether peers elsewhere can dial this device",
        };
        writeln!(out, "  reachability: {reachability}")?;
        for relay in &view.relays {
            let state = match &relay.circuit {
                Some(circuit) => format!("reachable at {circuit}"),
                None => "no reservation (away or refused)".to_owned(),
            };
            writeln!(out, "  relay {}: {state}", relay.address)?;
            for store in &relay.stores {
                let name = view
                    .groups
                    .iter()
                    .find(|g| g.id == store.group)
                    .map_or_else(|| store.group.short(), |g| g.name.clone());
                let holds = if store.holds_all_mine {
                    "holds everything of yours"
                } else {
                    "does not hold everything of yours yet"
                };
                writeln!(out, "    stores {name} for offline members: {holds}")?;
            }
        }
        let c = &view.catch_up;
        writeln!(
            out,
            "  catch-up since start: {} envelopes ({} KiB), {} of them already here",
            c.envelopes,
            c.bytes.div_ceil(1024),
            c.duplicates
        )?;
    } else {
        writeln!(
            out,
            "offline: no node is running (start one with `plenum up`)"
        )?;
    }
    for group in &view.groups {
        writeln!(out, "{} ({})", group.name, group.id.short())?;
        if group.forks > 0 {
            writeln!(
                out,
                "  FORK: {} envelope(s) signed twice under one number (a copied data \
                 directory or restored backup writing); compare with the author",
                group.forks
            )?;
        }
        if group.peers.is_empty() {
            writeln!(out, "  no peers known")?;
        }
        for peer in &group.peers {
            let who = peer
                .name
                .clone()
                .unwrap_or_else(|| "(not a member in this log)".into());
            let how = match (peer.connected, peer.path) {
                (true, Some(PeerPath::Lan)) => "connected over the LAN".to_string(),
                (true, Some(PeerPath::Relayed)) => format!(
                    "connected through relay {}",
                    peer.relay.as_deref().map_or("?", short_relay)
                ),
                (true, _) => "connected directly".to_string(),
                (false, _) => match peer.last_seen {
                    Some(at) => format!("offline, last seen {}", ago(at)),
                    None => "never seen".to_string(),
                },
            };
            writeln!(out, "  {who} [{}]: {how}", short_peer(&peer.peer_id))?;
            if let Some(punch) = &peer.hole_punch {
                writeln!(out, "    {}", hole_punch(punch))?;
            }
            if peer.docs.is_empty() {
                writeln!(out, "    documents: unknown (never compared)")?;
            }
            for doc in &peer.docs {
                let seen = if doc.has_all_mine {
                    ""
                } else {
                    " (has not seen all of yours)"
                };
                writeln!(out, "    {}: {}{seen}", doc.label, state(&doc.state))?;
            }
            if let Some(at) = peer.compared_at {
                writeln!(out, "    compared {}", ago(at))?;
            }
        }
    }
    Ok(())
}

fn hole_punch(punch: &HolePunch) -> String {
    match (&punch.error, punch.direct) {
        (_, true) => format!("hole punching made a direct connection {}", ago(punch.at)),
        (Some(e), false) => format!("hole punching failed {}: {e}", ago(punch.at)),
        (None, false) => format!("hole punching failed {}", ago(punch.at)),
    }
}

/// A relay's address, shortened to its last `/p2p/` id's tail for the peer lines.
fn short_relay(address: &str) -> &str {
    address.rsplit('/').next().map_or(address, short_peer)
}

fn short_peer(id: &str) -> &str {
    let start = id.len().saturating_sub(8);
    id.get(start..).unwrap_or(id)
}
