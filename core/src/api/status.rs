//! What `Request::Status` answers: the honest state of sync with each peer.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{DocId, GroupId, ItemId, MemberId};
use crate::time::Timestamp;

/// This device's network and, per group, its peers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusView {
    /// Whether networking runs (false: an offline command answered from the store).
    pub online: bool,
    /// This device's network identity (libp2p PeerId), when online.
    pub peer_id: Option<String>,
    /// Addresses the node listens on.
    pub listen: Vec<String>,
    /// One entry per group.
    pub groups: Vec<GroupStatus>,
    /// What catch-up moved since the network started.
    pub catch_up: CatchUpCounts,
    /// Whether peers elsewhere can dial this device directly, as AutoNAT probes found.
    pub reachability: Reachability,
    /// The relays this device uses.
    pub relays: Vec<RelayStatus>,
}

/// What AutoNAT found out about this device's addresses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Not probed yet, or the probes disagree.
    #[default]
    Unknown,
    /// Peers dialed back one of this device's addresses.
    Public,
    /// Nobody could dial back: behind NAT or a firewall; peers reach it through relays.
    Private,
}

/// One relay this device uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RelayStatus {
    /// The relay's address, ending in its PeerId.
    pub address: String,
    /// Where peers reach this device through it, once the relay accepted a
    /// reservation; none while it is away or refused.
    pub circuit: Option<String>,
    /// The groups whose envelopes it stores (blind: it holds no key), for members to
    /// fetch while the others are offline.
    pub stores: Vec<RelayStore>,
}

/// One group a relay stores for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RelayStore {
    /// The group.
    pub group: GroupId,
    /// Whether, at the last comparison, it held every envelope of the group this
    /// device holds, and no push to it is under way (the last one also leaves the
    /// snapshots a returning device catches up from): safe to go offline.
    pub holds_all_mine: bool,
}

/// Envelopes catch-up fetched since the network started: a catch-up that moves only
/// what is missing has no duplicates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CatchUpCounts {
    /// Envelopes received in catch-up pages.
    pub envelopes: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Of them, ones this device already had.
    pub duplicates: u64,
}

/// One group's sync state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupStatus {
    /// The group.
    pub id: GroupId,
    /// Its name.
    pub name: String,
    /// Forked envelopes kept as evidence (a device that wrote twice under one number,
    /// e.g. a copied data directory). Non-zero means someone should look.
    pub forks: usize,
    /// Distinct envelopes of the group this device received and could not open because
    /// it holds no key for their epoch: written after it was removed (or left). Since
    /// this device started; proof that encryption, not the network, keeps a removed
    /// member out.
    pub refused_no_key: u64,
    /// Every peer known to be in the group: connected now or seen before.
    pub peers: Vec<PeerStatus>,
}

/// How a peer is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PeerPath {
    /// On the local network (found by mDNS or at a private address).
    Lan,
    /// A direct connection across networks.
    Direct,
    /// Through a relay (circuit relay v2); the relay sees only ciphertext.
    Relayed,
}

/// The last attempt to turn a relayed connection into a direct one (DCUtR).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HolePunch {
    /// When it ended.
    pub at: Timestamp,
    /// Whether a direct connection came of it.
    pub direct: bool,
    /// Why not, when it failed.
    pub error: Option<String>,
}

/// One peer of a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct PeerStatus {
    /// The peer's network identity.
    pub peer_id: String,
    /// The member this device is, when the group's log names its transport key.
    pub member: Option<MemberId>,
    /// That member's name.
    pub name: Option<String>,
    /// Connected now.
    pub connected: bool,
    /// How, when connected.
    pub path: Option<PeerPath>,
    /// The address of the connection, when connected (a direct one when there is
    /// both a direct and a relayed connection).
    pub address: Option<String>,
    /// The relay the connection runs through, when relayed.
    pub relay: Option<String>,
    /// The last hole-punching attempt with this peer, if any.
    pub hole_punch: Option<HolePunch>,
    /// When this device last heard from the peer.
    pub last_seen: Option<Timestamp>,
    /// When the version vectors were last compared.
    pub compared_at: Option<Timestamp>,
    /// Per document, from that comparison.
    pub docs: Vec<DocSyncView>,
}

/// One document's state against one peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DocSyncView {
    /// The document.
    pub doc: DocId,
    /// What it is, for people ("membership log", "directory", a pad's name, …).
    pub label: String,
    /// How the two copies stand.
    pub state: SyncState,
    /// Whether the peer holds everything this device wrote in the document ("seen by
    /// the peer" for this device's messages), as of the comparison.
    pub has_all_mine: bool,
}

/// How this device's copy of a document stands against a peer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    /// Both hold exactly the same envelopes (version vectors compared equal).
    InSync,
    /// This device lacks `envelopes` the peer holds.
    Behind {
        /// How many.
        envelopes: u64,
    },
    /// The peer lacks `envelopes` this device holds (it was away, say, while this
    /// device wrote).
    PeerBehind {
        /// How many.
        envelopes: u64,
    },
    /// Each holds envelopes the other lacks.
    Diverged {
        /// The peer's that this device lacks.
        behind: u64,
        /// This device's that the peer lacks.
        peer_behind: u64,
    },
    /// The two copies hold different envelopes under the same number of one author:
    /// a fork (a copied data directory or restored backup that wrote).
    Forked,
    /// Never compared with this peer.
    Unknown,
}

/// A cursor in a pad: a position in UTF-16 code units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PadCursor {
    /// The pad.
    pub pad: DocId,
    /// The position.
    pub position: u32,
}

/// What is known of one member's presence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceView {
    /// The group.
    pub group: GroupId,
    /// The member.
    pub member: MemberId,
    /// Its name.
    pub name: String,
    /// Heard from within the last 40 seconds.
    pub online: bool,
    /// The channel it is typing in.
    pub typing_in: Option<ItemId>,
    /// Its cursor in a pad.
    pub cursor: Option<PadCursor>,
}
