//! The one API every front end speaks: [`Request`] in, [`Response`] out, [`Event`]s
//! pushed. The CLI, the web UI (over HTTP and WebSocket) and the Tauri shells all use
//! these types; the UI's TypeScript types are generated from them.
//!
//! Wherever a request names a group, channel, pad, board or message, a unique name, the
//! full id or a unique id prefix (at least 4 hex characters) works.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::docs::{Board, CardEdit, ChannelInfo, ChatMessage, DocInfo, Splice};
use crate::group::{HistoryPolicy, Role};
use crate::ids::{DocId, GroupId, Hash, ItemId, MemberId};
use crate::import::ImportSource;
use crate::time::Timestamp;

mod status;
pub use status::{
    CatchUpCounts, DocSyncView, GroupStatus, HolePunch, PadCursor, PeerPath, PeerStatus,
    PresenceView, Reachability, RelayStatus, RelayStore, StatusView, SyncState,
};

/// Something a front end asks the node to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(optional_fields = nullable)]
#[non_exhaustive]
pub enum Request {
    /// This device's profile.
    Profile,
    /// Found a group of one; this device becomes its admin.
    GroupCreate {
        /// The group's name.
        name: String,
    },
    /// All groups on this device.
    GroupList,
    /// One group.
    GroupShow {
        /// Name or id.
        group: String,
    },
    /// Rename the group (any member may).
    GroupRename {
        /// Name or id.
        group: String,
        /// The new name.
        name: String,
    },
    /// Mute or unmute a group on this device: its new messages raise no
    /// notifications here. Nobody else sees it.
    GroupMute {
        /// Name or id.
        group: String,
        /// Whether to mute.
        muted: bool,
    },
    /// The group's members.
    MemberList {
        /// Name or id.
        group: String,
    },
    /// Remove a member (admins only). The group's key is rotated at once, so nothing
    /// written afterwards opens on the removed member's devices.
    MemberRemove {
        /// Group name or id.
        group: String,
        /// Member name, id or id prefix.
        member: String,
    },
    /// Make a member an admin or a plain member (admins only).
    MemberRole {
        /// Group name or id.
        group: String,
        /// Member name, id or id prefix.
        member: String,
        /// The new role.
        role: Role,
    },
    /// Mark a member as verified (or not) after comparing safety numbers in person.
    /// Kept on this device only.
    MemberVerify {
        /// Group name or id.
        group: String,
        /// Member name, id or id prefix.
        member: String,
        /// Verified or not.
        verified: bool,
    },
    /// Hide (or show again) everything a member wrote, for everyone (admins only).
    MemberHide {
        /// Group name or id.
        group: String,
        /// Member name, id or id prefix (also of former members).
        member: String,
        /// Hide or show.
        hidden: bool,
    },
    /// Set whether new members see the group's past chat (admins only).
    GroupSetHistory {
        /// Group name or id.
        group: String,
        /// The policy.
        policy: HistoryPolicy,
    },
    /// Set the relays the group uses (admins only): addresses ending in each relay's
    /// PeerId, as `plenum relay` prints them; empty for none. Every member's device
    /// keeps a reservation at each, and invite links lead through them.
    GroupSetRelays {
        /// Group name or id.
        group: String,
        /// The relays' multiaddrs, in order of preference.
        relays: Vec<String>,
    },
    /// Leave the group: the others are told, and everything of the group is deleted
    /// from this device.
    GroupLeave {
        /// Group name or id.
        group: String,
    },
    /// Make an invite link.
    InviteCreate {
        /// Group name or id.
        group: String,
        /// How many people it admits (1 when absent).
        uses: Option<u32>,
        /// How long it stays valid, in milliseconds (7 days when absent).
        expires_in_ms: Option<u64>,
    },
    /// The group's invites.
    InviteList {
        /// Group name or id.
        group: String,
    },
    /// Revoke an invite.
    InviteRevoke {
        /// Group name or id.
        group: String,
        /// Invite id or unique prefix.
        invite: String,
    },
    /// Open a new chat channel.
    ChannelCreate {
        /// Group name or id.
        group: String,
        /// The channel's name.
        name: String,
    },
    /// Rename a channel (any member may; names stay unique in the group).
    ChannelRename {
        /// Group name or id.
        group: String,
        /// Channel name or id.
        channel: String,
        /// The new name.
        name: String,
    },
    /// The group's channels.
    ChannelList {
        /// Group name or id.
        group: String,
    },
    /// Send a chat message.
    ChatSend {
        /// Group name or id.
        group: String,
        /// Channel name or id; `general` when absent.
        channel: Option<String>,
        /// The message.
        text: String,
        /// The message this replies to.
        reply_to: Option<String>,
    },
    /// A channel's messages, in display order: all of them, or a page of the latest
    /// ones (`limit`) before a message (`before`), for scrolling back through a long
    /// history.
    ChatLog {
        /// Group name or id.
        group: String,
        /// Channel name or id; `general` when absent.
        channel: Option<String>,
        /// Only messages shown before this one (id or unique prefix).
        #[serde(default)]
        before: Option<String>,
        /// At most this many: the latest of them.
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Edit one of your messages.
    ChatEdit {
        /// Group name or id.
        group: String,
        /// Message id or unique prefix.
        message: String,
        /// The new text.
        text: String,
    },
    /// Delete a message for everyone (its author or an admin).
    ChatDelete {
        /// Group name or id.
        group: String,
        /// Message id or unique prefix.
        message: String,
    },
    /// Add or remove a reaction.
    ChatReact {
        /// Group name or id.
        group: String,
        /// Message id or unique prefix.
        message: String,
        /// The emoji.
        emoji: String,
        /// Remove instead of add.
        #[serde(default)]
        #[ts(as = "Option<bool>", optional)]
        remove: bool,
    },
    /// Create a Markdown pad.
    PadCreate {
        /// Group name or id.
        group: String,
        /// The pad's name.
        name: String,
    },
    /// Rename a pad (any member may).
    PadRename {
        /// Group name or id.
        group: String,
        /// Pad name or id.
        pad: String,
        /// The new name.
        name: String,
    },
    /// The group's pads.
    PadList {
        /// Group name or id.
        group: String,
    },
    /// A pad's text and heads.
    PadGet {
        /// Group name or id.
        group: String,
        /// Pad name or id.
        pad: String,
    },
    /// Apply editor splices at the heads the editor saw.
    PadSplice {
        /// Group name or id.
        group: String,
        /// Pad name or id.
        pad: String,
        /// The heads (hex change hashes) the editor's positions refer to.
        heads: Vec<String>,
        /// The splices, in UTF-16 code units, applied in order.
        splices: Vec<Splice>,
    },
    /// Replace a pad's whole text (diffed, so concurrent edits elsewhere survive).
    PadWrite {
        /// Group name or id.
        group: String,
        /// Pad name or id.
        pad: String,
        /// The new text.
        text: String,
    },
    /// Create a task board.
    BoardCreate {
        /// Group name or id.
        group: String,
        /// The board's name.
        name: String,
    },
    /// Rename a board (any member may).
    BoardRename {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// The new name.
        name: String,
    },
    /// The group's boards.
    BoardList {
        /// Group name or id.
        group: String,
    },
    /// A board with its columns and cards.
    BoardShow {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
    },
    /// Add a column at the right.
    ColumnAdd {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// The column's title.
        title: String,
    },
    /// Add a card at the bottom of a column.
    CardAdd {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Column title or id.
        column: String,
        /// The card's title.
        title: String,
    },
    /// Move a card to a column, at an index in its visible order (end when absent).
    CardMove {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// Column title or id.
        column: String,
        /// Position in the column, 0 = top.
        index: Option<usize>,
    },
    /// Change a card's fields.
    CardEdit {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// What to change.
        edit: CardEdit,
    },
    /// Comment on a card.
    CardComment {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// The comment.
        text: String,
    },
    /// Archive (or restore) a card.
    CardArchive {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// Restore instead of archive.
        #[serde(default)]
        #[ts(as = "Option<bool>", optional)]
        restore: bool,
    },
    /// Add an item to a card's checklist.
    ChecklistAdd {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// The item's text.
        text: String,
    },
    /// How this device stands with its peers: per group, each known peer, how it is
    /// connected and, per document, whether both sides hold the same envelopes.
    /// Answered by a running node's network; offline it lists groups with no peers.
    Status {
        /// Only this group (name or id); all groups when absent.
        group: Option<String>,
    },
    /// Join a group with an invite link over the network: find a member, be admitted,
    /// catch up. Needs a running network (`plenum up`, or `plenum join`, which starts it).
    Join {
        /// The `plenum://join/…` link.
        link: String,
        /// How long to keep looking for a member who can admit this device.
        timeout_ms: Option<u64>,
    },
    /// Tell the group's online members what this device is doing: typing in a
    /// channel, or where its cursor is in a pad (nothing of it is stored). Needs a
    /// running network.
    Presence {
        /// Group name or id.
        group: String,
        /// The channel (name or id) being typed in, if any.
        typing_in: Option<String>,
        /// Where the cursor is in a pad, if anywhere.
        cursor: Option<PadCursor>,
    },
    /// Who in the group is online now, and what they are doing.
    PresenceList {
        /// Group name or id.
        group: String,
    },
    /// Tick or untick a checklist item.
    ChecklistCheck {
        /// Group name or id.
        group: String,
        /// Board name or id.
        board: String,
        /// Card title or id.
        card: String,
        /// Item text or id.
        item: String,
        /// Ticked or not.
        done: bool,
    },
    /// Bring in another tool's export: a WhatsApp or Telegram chat (into a channel), a
    /// Trello board (as a new board) or an Etherpad pad (as a new pad). All or nothing;
    /// importing a chat again adds only the messages not imported before. Progress
    /// arrives as [`Event::ImportProgress`].
    Import {
        /// Group name or id.
        group: String,
        /// What kind of export it is.
        source: ImportSource,
        /// The file's name: it names the chat, board or pad when nothing else does.
        file_name: String,
        /// The file's bytes, base64 (standard alphabet, padded); at most
        /// [`crate::import::MAX_IMPORT_BYTES`] once decoded.
        data: String,
        /// Chats: the channel (name or id) to import into, which must exist; when
        /// absent, a channel named after the chat, created if need be. Boards and
        /// pads: the new board's or pad's name instead of the export's.
        #[serde(default)]
        target: Option<String>,
        /// A full Telegram export: the name of the chat to import.
        #[serde(default)]
        chat: Option<String>,
        /// Minutes east of UTC of times the export writes without a zone (WhatsApp
        /// always does; Telegram's `date`): the importing device's offset. UTC when
        /// absent.
        #[serde(default)]
        utc_offset_minutes: Option<i32>,
    },
    /// Everything this device can read of a group, as files in Markdown and JSON: chat
    /// transcripts, pads, boards, members and invites, and a README explaining them.
    Export {
        /// Group name or id.
        group: String,
    },
}

/// The node's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// Done; nothing to report.
    Done,
    /// This device's profile.
    Profile(ProfileView),
    /// One group.
    Group(GroupSummary),
    /// Several groups.
    Groups(Vec<GroupSummary>),
    /// A group's members.
    Members(Vec<MemberView>),
    /// One invite.
    Invite(InviteView),
    /// A group's invites.
    Invites(Vec<InviteView>),
    /// One channel.
    Channel(ChannelInfo),
    /// Several channels.
    Channels(Vec<ChannelInfo>),
    /// One message.
    Message(MessageView),
    /// A channel's messages in display order.
    Messages(Vec<MessageView>),
    /// One pad.
    Pad(PadView),
    /// A pad's heads after a splice (hex change hashes).
    Heads(Vec<String>),
    /// Several pads or boards.
    Docs(Vec<DocInfo>),
    /// One board.
    Board(BoardView),
    /// Sync status with peers.
    Status(StatusView),
    /// Who is online.
    Presence(Vec<PresenceView>),
    /// What an import brought in.
    Imported(ImportReport),
    /// A group's export: the files to write.
    Export(ExportView),
}

/// Something that happened, pushed to every listening front end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A group was created, joined, renamed, or its membership or directory changed.
    GroupChanged {
        /// The group.
        group: GroupId,
    },
    /// A message was sent, edited, deleted or reacted to.
    Message {
        /// The group.
        group: GroupId,
        /// The channel.
        channel: ItemId,
        /// The message as it now is.
        message: Box<MessageView>,
    },
    /// A pad's text changed.
    PadChanged {
        /// The group.
        group: GroupId,
        /// The pad.
        pad: DocId,
    },
    /// A board changed.
    BoardChanged {
        /// The group.
        group: GroupId,
        /// The board.
        board: DocId,
    },
    /// A member came online, started or stopped typing, or moved its pad cursor.
    Presence(PresenceView),
    /// An import is under way: `done` of `total` items are in (the import commits
    /// once, when all are).
    ImportProgress {
        /// The group.
        group: GroupId,
        /// Items (messages, cards) prepared so far.
        done: u32,
        /// Items in the export.
        total: u32,
    },
    /// This listener fell behind and missed events: reload what is on screen.
    Lagged {
        /// How many events were missed.
        missed: u64,
    },
}

/// Why a request failed: a kind front ends can branch on and one line for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What went wrong and what to do about it.
    pub message: String,
}

/// Kinds of [`ApiError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A group, channel, pad, board, card or message that does not exist.
    NotFound,
    /// A name or id prefix that matches more than one thing.
    Ambiguous,
    /// Input that is not acceptable (empty message, bad date, …).
    Invalid,
    /// Not allowed for this member.
    Forbidden,
    /// The store failed (disk full, damaged database, …).
    Storage,
    /// Data received or stored is damaged or forged.
    Integrity,
    /// Needs the network, which is not running or could not reach anyone in time.
    Network,
}

impl ApiError {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }
}

/// This device's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileView {
    /// The name others see.
    pub name: String,
    /// The transport public key (hex), from which the network identity derives.
    pub transport_key: String,
    /// When the profile was created.
    pub created_at: Timestamp,
}

/// A group as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GroupSummary {
    /// The group id.
    pub id: GroupId,
    /// The group's current name.
    pub name: String,
    /// How many members it has.
    pub members: usize,
    /// This device's member id in the group.
    pub me: MemberId,
    /// This device's role.
    pub role: Role,
    /// Whether this device is still a member (a removed device keeps what it had,
    /// read-only).
    pub member: bool,
    /// Whether new members see the group's past chat.
    pub history: HistoryPolicy,
    /// Forked envelopes kept as evidence: a member's device wrote two different
    /// histories (a restored backup or a copied data directory, or a stolen key).
    pub forks: usize,
    /// Muted on this device: its new messages raise no notifications here.
    pub muted: bool,
    /// The relays the group uses (multiaddrs).
    pub relays: Vec<String>,
}

/// A member as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberView {
    /// The member id.
    pub id: MemberId,
    /// The member's display name.
    pub name: String,
    /// Admin or member.
    pub role: Role,
    /// Whether this device has compared safety numbers with them.
    pub verified: bool,
    /// Whether this is this device.
    pub me: bool,
    /// When they joined.
    pub joined_at: Timestamp,
    /// Whether admins hid their content.
    pub hidden: bool,
    /// Their safety number: compare it in person with what their device shows for
    /// itself before marking them verified.
    pub safety_number: String,
}

/// An invite as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InviteView {
    /// The invite id (the hash of the operation that created it).
    pub id: Hash,
    /// Who made it.
    pub creator: MemberId,
    /// Their name, while they are a member.
    pub creator_name: Option<String>,
    /// How many people it may admit.
    pub uses: u32,
    /// How many it admitted.
    pub used: u32,
    /// When it stops admitting.
    pub expires: Timestamp,
    /// Whether it was revoked (or its creator left or was removed).
    pub revoked: bool,
    /// Whether it has expired.
    pub expired: bool,
    /// The link, on the device that made it.
    pub link: Option<String>,
}

/// A chat message with its author's name and channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct MessageView {
    /// The message.
    #[serde(flatten)]
    pub message: ChatMessage,
    /// The author's display name in the group.
    pub author_name: String,
    /// The channel.
    pub channel: ItemId,
    /// The segment document it is in: a peer whose status says it holds all of this
    /// device's envelopes of that document ([`DocSyncView::has_all_mine`]) has seen it.
    pub segment: DocId,
    /// Whether an admin hid its author's content (the text is then left out).
    pub hidden: bool,
}

/// A pad's current state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PadView {
    /// The pad.
    pub id: DocId,
    /// Its name.
    pub name: String,
    /// The Markdown text.
    pub text: String,
    /// The heads the text is at (hex), for the editor's next splices.
    pub heads: Vec<String>,
}

/// A board with its columns and cards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct BoardView {
    /// The board.
    pub id: DocId,
    /// The column, card, comment or checklist item the request made or changed.
    pub changed: Option<ItemId>,
    /// Columns, cards and archived cards.
    #[serde(flatten)]
    pub board: Board,
}

/// What an import brought in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportReport {
    /// Where it came from.
    pub source: ImportSource,
    /// The channel it went into (chats).
    pub channel: Option<ItemId>,
    /// The board or pad it made.
    pub doc: Option<DocId>,
    /// The name of that channel, board or pad.
    pub name: String,
    /// Messages, or cards, added.
    pub added: u32,
    /// Messages found already imported, and so left alone.
    pub already: u32,
    /// Entries of the export that were not messages (joins, leaves, notices) or were
    /// deleted messages.
    pub skipped: u32,
}

/// A group's export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportView {
    /// The files, by path relative to the export's folder (`/`-separated, never
    /// absolute, never `..`).
    pub files: Vec<ExportFile>,
}

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportFile {
    /// Where it goes, relative to the export's folder.
    pub path: String,
    /// Its text (UTF-8).
    pub content: String,
}
