// Generated from the Rust API types by cli/src/typescript.rs; do not edit.
// Regenerate: PLENUM_WRITE_UI_TYPES=1 cargo test -p plenum ui_types

/**
 * Why a request failed: a kind front ends can branch on and one line for people.
 */
export type ApiError = { 
/**
 * The kind of failure.
 */
kind: ErrorKind, 
/**
 * What went wrong and what to do about it.
 */
message: string, };

/**
 * A board with its columns and cards.
 */
export type BoardView = { 
/**
 * The board.
 */
id: DocId, 
/**
 * The column, card, comment or checklist item the request made or changed.
 */
changed: ItemId | null, 
/**
 * The board's name.
 */
name: string, 
/**
 * Columns left to right, with their cards top to bottom.
 */
columns: Array<Column>, 
/**
 * Archived cards, and cards whose column was archived or is unknown.
 */
archived: Array<Card>, };

/**
 * A card.
 */
export type Card = { 
/**
 * The card id.
 */
id: ItemId, 
/**
 * The column it is in.
 */
column: ItemId, 
/**
 * Title.
 */
title: string, 
/**
 * Description (Markdown).
 */
description: string, 
/**
 * Assigned members.
 */
assignees: Array<MemberId>, 
/**
 * Labels.
 */
labels: Array<string>, 
/**
 * Due date, `YYYY-MM-DD`.
 */
due: string | null, 
/**
 * Checklist, in order.
 */
checklist: Array<ChecklistItem>, 
/**
 * Comments, oldest first.
 */
comments: Array<Comment>, 
/**
 * Whether it is archived.
 */
archived: boolean, 
/**
 * Its fractional position in the column.
 */
position: string, };

/**
 * Changes to a card's fields; absent fields stay as they are.
 */
export type CardEdit = { 
/**
 * New title.
 */
title?: string | null, 
/**
 * New description.
 */
description?: string | null, 
/**
 * `Some(None)` removes the due date; `Some(Some(date))` sets it. In JSON: absent
 * leaves it, `null` removes it, a date sets it.
 */
due?: string | null | null, 
/**
 * Members to assign.
 */
add_assignees?: Array<MemberId>, 
/**
 * Members to unassign.
 */
remove_assignees?: Array<MemberId>, 
/**
 * Labels to add.
 */
add_labels?: Array<string>, 
/**
 * Labels to remove.
 */
remove_labels?: Array<string>, };

/**
 * Envelopes catch-up fetched since the network started: a catch-up that moves only
 * what is missing has no duplicates.
 */
export type CatchUpCounts = { 
/**
 * Envelopes received in catch-up pages.
 */
envelopes: number, 
/**
 * Their bytes.
 */
bytes: number, 
/**
 * Of them, ones this device already had.
 */
duplicates: number, };

/**
 * A chat channel.
 */
export type ChannelInfo = { 
/**
 * The channel id.
 */
id: ItemId, 
/**
 * Its name.
 */
name: string, 
/**
 * Its segment documents, oldest first.
 */
segments: Array<SegmentInfo>, };

/**
 * A checklist item.
 */
export type ChecklistItem = { 
/**
 * The item id.
 */
id: ItemId, 
/**
 * Its text.
 */
text: string, 
/**
 * Whether it is done.
 */
done: boolean, };

/**
 * A column.
 */
export type Column = { 
/**
 * The column id.
 */
id: ItemId, 
/**
 * Its title.
 */
title: string, 
/**
 * Its cards, top to bottom.
 */
cards: Array<Card>, };

/**
 * A comment on a card.
 */
export type Comment = { 
/**
 * The comment id.
 */
id: ItemId, 
/**
 * Who wrote it.
 */
author: MemberId, 
/**
 * What they wrote.
 */
text: string, 
/**
 * When.
 */
at: Timestamp, };

/**
 * A document within a group (directory, chat segment, pad, board, membership log).
 */
export type DocId = string;

/**
 * A pad or a board.
 */
export type DocInfo = { 
/**
 * The document id.
 */
id: DocId, 
/**
 * Its name.
 */
name: string, 
/**
 * When it was created.
 */
created_at: Timestamp, };

/**
 * One document's state against one peer.
 */
export type DocSyncView = { 
/**
 * The document.
 */
doc: DocId, 
/**
 * What it is, for people ("membership log", "directory", a pad's name, …).
 */
label: string, 
/**
 * How the two copies stand.
 */
state: SyncState, 
/**
 * Whether the peer holds everything this device wrote in the document ("seen by
 * the peer" for this device's messages), as of the comparison.
 */
has_all_mine: boolean, };

/**
 * The body of every error answer.
 */
export type ErrorBody = { error: WireError, };

/**
 * Kinds of [`ApiError`].
 */
export type ErrorKind = "not_found" | "ambiguous" | "invalid" | "forbidden" | "storage" | "integrity" | "network";

/**
 * Something that happened, pushed to every listening front end.
 */
export type Event = { "type": "group_changed", 
/**
 * The group.
 */
group: GroupId, } | { "type": "message", 
/**
 * The group.
 */
group: GroupId, 
/**
 * The channel.
 */
channel: ItemId, 
/**
 * The message as it now is.
 */
message: MessageView, } | { "type": "pad_changed", 
/**
 * The group.
 */
group: GroupId, 
/**
 * The pad.
 */
pad: DocId, } | { "type": "board_changed", 
/**
 * The group.
 */
group: GroupId, 
/**
 * The board.
 */
board: DocId, } | { "type": "presence" } & PresenceView | { "type": "import_progress", 
/**
 * The group.
 */
group: GroupId, 
/**
 * Items (messages, cards) prepared so far.
 */
done: number, 
/**
 * Items in the export.
 */
total: number, } | { "type": "lagged", 
/**
 * How many events were missed.
 */
missed: number, };

/**
 * One file of an export.
 */
export type ExportFile = { 
/**
 * Where it goes, relative to the export's folder.
 */
path: string, 
/**
 * Its text (UTF-8).
 */
content: string, };

/**
 * A group's export.
 */
export type ExportView = { 
/**
 * The files, by path relative to the export's folder (`/`-separated, never
 * absolute, never `..`).
 */
files: Array<ExportFile>, };

/**
 * A group: 32 random bytes chosen by its creator.
 */
export type GroupId = string;

/**
 * One group's sync state.
 */
export type GroupStatus = { 
/**
 * The group.
 */
id: GroupId, 
/**
 * Its name.
 */
name: string, 
/**
 * Forked envelopes kept as evidence (a device that wrote twice under one number,
 * e.g. a copied data directory). Non-zero means someone should look.
 */
forks: number, 
/**
 * Distinct envelopes of the group this device received and could not open because
 * it holds no key for their epoch: written after it was removed (or left). Since
 * this device started; proof that encryption, not the network, keeps a removed
 * member out.
 */
refused_no_key: number, 
/**
 * Every peer known to be in the group: connected now or seen before.
 */
peers: Array<PeerStatus>, };

/**
 * A group as listed.
 */
export type GroupSummary = { 
/**
 * The group id.
 */
id: GroupId, 
/**
 * The group's current name.
 */
name: string, 
/**
 * How many members it has.
 */
members: number, 
/**
 * This device's member id in the group.
 */
me: MemberId, 
/**
 * This device's role.
 */
role: Role, 
/**
 * Whether this device is still a member (a removed device keeps what it had,
 * read-only).
 */
member: boolean, 
/**
 * Whether new members see the group's past chat.
 */
history: HistoryPolicy, 
/**
 * Forked envelopes kept as evidence: a member's device wrote two different
 * histories (a restored backup or a copied data directory, or a stolen key).
 */
forks: number, 
/**
 * Muted on this device: its new messages raise no notifications here.
 */
muted: boolean, 
/**
 * The relays the group uses (multiaddrs).
 */
relays: Array<string>, };

/**
 * The BLAKE3 hash of an envelope, a membership operation or anything else hashed.
 */
export type Hash = string;

/**
 * `GET /api/health`.
 */
export type Health = { state: NodeState, pid: number, };

/**
 * Whether new members receive the group's past.
 */
export type HistoryPolicy = "full" | "from_join";

/**
 * A hybrid logical clock reading: wall-clock milliseconds, and a counter that orders
 * events within one millisecond (or while the wall clock lags the logical one).
 */
export type Hlc = { 
/**
 * Milliseconds since the Unix epoch.
 */
time: number, 
/**
 * Tie-breaker within one `time`.
 */
counter: number, };

/**
 * The last attempt to turn a relayed connection into a direct one (DCUtR).
 */
export type HolePunch = { 
/**
 * When it ended.
 */
at: Timestamp, 
/**
 * Whether a direct connection came of it.
 */
direct: boolean, 
/**
 * Why not, when it failed.
 */
error: string | null, };

/**
 * What an import brought in.
 */
export type ImportReport = { 
/**
 * Where it came from.
 */
source: ImportSource, 
/**
 * The channel it went into (chats).
 */
channel: ItemId | null, 
/**
 * The board or pad it made.
 */
doc: DocId | null, 
/**
 * The name of that channel, board or pad.
 */
name: string, 
/**
 * Messages, or cards, added.
 */
added: number, 
/**
 * Messages found already imported, and so left alone.
 */
already: number, 
/**
 * Entries of the export that were not messages (joins, leaves, notices) or were
 * deleted messages.
 */
skipped: number, };

/**
 * Where an import comes from.
 */
export type ImportSource = "whatsapp" | "telegram" | "trello" | "etherpad";

/**
 * `POST /api/init`: create the profile in the running node's empty data directory.
 */
export type InitBody = { name: string, 
/**
 * Keep the storage key in a key file instead of behind a passphrase.
 */
no_passphrase?: boolean, 
/**
 * Where the key file goes (with `no_passphrase`; default: the node's config dir).
 */
key_file?: string, 
/**
 * Keep the storage key in the system keyring instead (no passphrase, no file).
 */
keyring?: boolean, 
/**
 * The passphrase (without `no_passphrase`).
 */
passphrase?: string, 
/**
 * How long unlocking should take, in milliseconds (default 1000).
 */
kdf_ms?: number, };

/**
 * An invite as listed.
 */
export type InviteView = { 
/**
 * The invite id (the hash of the operation that created it).
 */
id: Hash, 
/**
 * Who made it.
 */
creator: MemberId, 
/**
 * Their name, while they are a member.
 */
creator_name: string | null, 
/**
 * How many people it may admit.
 */
uses: number, 
/**
 * How many it admitted.
 */
used: number, 
/**
 * When it stops admitting.
 */
expires: Timestamp, 
/**
 * Whether it was revoked (or its creator left or was removed).
 */
revoked: boolean, 
/**
 * Whether it has expired.
 */
expired: boolean, 
/**
 * The link, on the device that made it.
 */
link: string | null, };

/**
 * A chat message, card, column, checklist item or comment.
 */
export type ItemId = string;

/**
 * A member of one group: its Ed25519 member public key.
 */
export type MemberId = string;

/**
 * A member as listed.
 */
export type MemberView = { 
/**
 * The member id.
 */
id: MemberId, 
/**
 * The member's display name.
 */
name: string, 
/**
 * Admin or member.
 */
role: Role, 
/**
 * Whether this device has compared safety numbers with them.
 */
verified: boolean, 
/**
 * Whether this is this device.
 */
me: boolean, 
/**
 * When they joined.
 */
joined_at: Timestamp, 
/**
 * Whether admins hid their content.
 */
hidden: boolean, 
/**
 * Their safety number: compare it in person with what their device shows for
 * itself before marking them verified.
 */
safety_number: string, };

/**
 * A chat message with its author's name and channel.
 */
export type MessageView = { 
/**
 * The author's display name in the group.
 */
author_name: string, 
/**
 * The channel.
 */
channel: ItemId, 
/**
 * The segment document it is in: a peer whose status says it holds all of this
 * device's envelopes of that document ([`DocSyncView::has_all_mine`]) has seen it.
 */
segment: DocId, 
/**
 * Whether an admin hid its author's content (the text is then left out).
 */
hidden: boolean, 
/**
 * The message id.
 */
id: ItemId, 
/**
 * The author's member id (the envelope's signer).
 */
author: MemberId, 
/**
 * The text; empty once deleted for everyone.
 */
text: string, 
/**
 * When the author sent it, by the author's clock.
 */
sent_at: Timestamp, 
/**
 * The hybrid-logical-clock reading that orders it.
 */
hlc: Hlc, 
/**
 * The last message the author saw when sending.
 */
after: ItemId | null, 
/**
 * The message this replies to.
 */
reply_to: ItemId | null, 
/**
 * Whether the author edited it.
 */
edited: boolean, 
/**
 * When it was last edited.
 */
edited_at: Timestamp | null, 
/**
 * Whether it was deleted for everyone.
 */
deleted: boolean, 
/**
 * Reactions: emoji → who reacted.
 */
reactions: { [key in string]: Array<MemberId> }, 
/**
 * For imported messages, the original author's name (unverified).
 */
imported_author: string | null, };

/**
 * Where a running node is in its life.
 */
export type NodeState = "empty" | "locked" | "running";

/**
 * A cursor in a pad: a position in UTF-16 code units.
 */
export type PadCursor = { 
/**
 * The pad.
 */
pad: DocId, 
/**
 * The position.
 */
position: number, };

/**
 * A pad's current state.
 */
export type PadView = { 
/**
 * The pad.
 */
id: DocId, 
/**
 * Its name.
 */
name: string, 
/**
 * The Markdown text.
 */
text: string, 
/**
 * The heads the text is at (hex), for the editor's next splices.
 */
heads: Array<string>, };

/**
 * How a peer is reached.
 */
export type PeerPath = "lan" | "direct" | "relayed";

/**
 * One peer of a group.
 */
export type PeerStatus = { 
/**
 * The peer's network identity.
 */
peer_id: string, 
/**
 * The member this device is, when the group's log names its transport key.
 */
member: MemberId | null, 
/**
 * That member's name.
 */
name: string | null, 
/**
 * Connected now.
 */
connected: boolean, 
/**
 * How, when connected.
 */
path: PeerPath | null, 
/**
 * The address of the connection, when connected (a direct one when there is
 * both a direct and a relayed connection).
 */
address: string | null, 
/**
 * The relay the connection runs through, when relayed.
 */
relay: string | null, 
/**
 * The last hole-punching attempt with this peer, if any.
 */
hole_punch: HolePunch | null, 
/**
 * When this device last heard from the peer.
 */
last_seen: Timestamp | null, 
/**
 * When the version vectors were last compared.
 */
compared_at: Timestamp | null, 
/**
 * Per document, from that comparison.
 */
docs: Array<DocSyncView>, };

/**
 * What is known of one member's presence.
 */
export type PresenceView = { 
/**
 * The group.
 */
group: GroupId, 
/**
 * The member.
 */
member: MemberId, 
/**
 * Its name.
 */
name: string, 
/**
 * Heard from within the last 40 seconds.
 */
online: boolean, 
/**
 * The channel it is typing in.
 */
typing_in: ItemId | null, 
/**
 * Its cursor in a pad.
 */
cursor: PadCursor | null, };

/**
 * This device's profile.
 */
export type ProfileView = { 
/**
 * The name others see.
 */
name: string, 
/**
 * The transport public key (hex), from which the network identity derives.
 */
transport_key: string, 
/**
 * When the profile was created.
 */
created_at: Timestamp, };

/**
 * What AutoNAT found out about this device's addresses.
 */
export type Reachability = "unknown" | "public" | "private";

/**
 * One relay this device uses.
 */
export type RelayStatus = { 
/**
 * The relay's address, ending in its PeerId.
 */
address: string, 
/**
 * Where peers reach this device through it, once the relay accepted a
 * reservation; none while it is away or refused.
 */
circuit: string | null, 
/**
 * The groups whose envelopes it stores (blind: it holds no key), for members to
 * fetch while the others are offline.
 */
stores: Array<RelayStore>, };

/**
 * One group a relay stores for.
 */
export type RelayStore = { 
/**
 * The group.
 */
group: GroupId, 
/**
 * Whether, at the last comparison, it held every envelope of the group this
 * device holds, and no push to it is under way (the last one also leaves the
 * snapshots a returning device catches up from): safe to go offline.
 */
holds_all_mine: boolean, };

/**
 * Something a front end asks the node to do.
 */
export type Request = { "type": "profile" } | { "type": "group_create", 
/**
 * The group's name.
 */
name: string, } | { "type": "group_list" } | { "type": "group_show", 
/**
 * Name or id.
 */
group: string, } | { "type": "group_rename", 
/**
 * Name or id.
 */
group: string, 
/**
 * The new name.
 */
name: string, } | { "type": "group_mute", 
/**
 * Name or id.
 */
group: string, 
/**
 * Whether to mute.
 */
muted: boolean, } | { "type": "member_list", 
/**
 * Name or id.
 */
group: string, } | { "type": "member_remove", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Member name, id or id prefix.
 */
member: string, } | { "type": "member_role", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Member name, id or id prefix.
 */
member: string, 
/**
 * The new role.
 */
role: Role, } | { "type": "member_verify", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Member name, id or id prefix.
 */
member: string, 
/**
 * Verified or not.
 */
verified: boolean, } | { "type": "member_hide", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Member name, id or id prefix (also of former members).
 */
member: string, 
/**
 * Hide or show.
 */
hidden: boolean, } | { "type": "group_set_history", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The policy.
 */
policy: HistoryPolicy, } | { "type": "group_set_relays", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The relays' multiaddrs, in order of preference.
 */
relays: Array<string>, } | { "type": "group_leave", 
/**
 * Group name or id.
 */
group: string, } | { "type": "invite_create", 
/**
 * Group name or id.
 */
group: string, 
/**
 * How many people it admits (1 when absent).
 */
uses?: number | null, 
/**
 * How long it stays valid, in milliseconds (7 days when absent).
 */
expires_in_ms?: number | null, } | { "type": "invite_list", 
/**
 * Group name or id.
 */
group: string, } | { "type": "invite_revoke", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Invite id or unique prefix.
 */
invite: string, } | { "type": "channel_create", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The channel's name.
 */
name: string, } | { "type": "channel_rename", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Channel name or id.
 */
channel: string, 
/**
 * The new name.
 */
name: string, } | { "type": "channel_list", 
/**
 * Group name or id.
 */
group: string, } | { "type": "chat_send", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Channel name or id; `general` when absent.
 */
channel?: string | null, 
/**
 * The message.
 */
text: string, 
/**
 * The message this replies to.
 */
reply_to?: string | null, } | { "type": "chat_log", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Channel name or id; `general` when absent.
 */
channel?: string | null, 
/**
 * Only messages shown before this one (id or unique prefix).
 */
before?: string | null, 
/**
 * At most this many: the latest of them.
 */
limit?: number | null, } | { "type": "chat_edit", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Message id or unique prefix.
 */
message: string, 
/**
 * The new text.
 */
text: string, } | { "type": "chat_delete", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Message id or unique prefix.
 */
message: string, } | { "type": "chat_react", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Message id or unique prefix.
 */
message: string, 
/**
 * The emoji.
 */
emoji: string, 
/**
 * Remove instead of add.
 */
remove?: boolean, } | { "type": "pad_create", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The pad's name.
 */
name: string, } | { "type": "pad_rename", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Pad name or id.
 */
pad: string, 
/**
 * The new name.
 */
name: string, } | { "type": "pad_list", 
/**
 * Group name or id.
 */
group: string, } | { "type": "pad_get", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Pad name or id.
 */
pad: string, } | { "type": "pad_splice", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Pad name or id.
 */
pad: string, 
/**
 * The heads (hex change hashes) the editor's positions refer to.
 */
heads: Array<string>, 
/**
 * The splices, in UTF-16 code units, applied in order.
 */
splices: Array<Splice>, } | { "type": "pad_write", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Pad name or id.
 */
pad: string, 
/**
 * The new text.
 */
text: string, } | { "type": "board_create", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The board's name.
 */
name: string, } | { "type": "board_rename", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * The new name.
 */
name: string, } | { "type": "board_list", 
/**
 * Group name or id.
 */
group: string, } | { "type": "board_show", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, } | { "type": "column_add", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * The column's title.
 */
title: string, } | { "type": "card_add", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Column title or id.
 */
column: string, 
/**
 * The card's title.
 */
title: string, } | { "type": "card_move", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * Column title or id.
 */
column: string, 
/**
 * Position in the column, 0 = top.
 */
index?: number | null, } | { "type": "card_edit", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * What to change.
 */
edit: CardEdit, } | { "type": "card_comment", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * The comment.
 */
text: string, } | { "type": "card_archive", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * Restore instead of archive.
 */
restore?: boolean, } | { "type": "checklist_add", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * The item's text.
 */
text: string, } | { "type": "status", 
/**
 * Only this group (name or id); all groups when absent.
 */
group?: string | null, } | { "type": "join", 
/**
 * The `plenum://join/…` link.
 */
link: string, 
/**
 * How long to keep looking for a member who can admit this device.
 */
timeout_ms?: number | null, } | { "type": "presence", 
/**
 * Group name or id.
 */
group: string, 
/**
 * The channel (name or id) being typed in, if any.
 */
typing_in?: string | null, 
/**
 * Where the cursor is in a pad, if anywhere.
 */
cursor?: PadCursor | null, } | { "type": "presence_list", 
/**
 * Group name or id.
 */
group: string, } | { "type": "checklist_check", 
/**
 * Group name or id.
 */
group: string, 
/**
 * Board name or id.
 */
board: string, 
/**
 * Card title or id.
 */
card: string, 
/**
 * Item text or id.
 */
item: string, 
/**
 * Ticked or not.
 */
done: boolean, } | { "type": "import", 
/**
 * Group name or id.
 */
group: string, 
/**
 * What kind of export it is.
 */
source: ImportSource, 
/**
 * The file's name: it names the chat, board or pad when nothing else does.
 */
file_name: string, 
/**
 * The file's bytes, base64 (standard alphabet, padded); at most
 * [`crate::import::MAX_IMPORT_BYTES`] once decoded.
 */
data: string, 
/**
 * Chats: the channel (name or id) to import into, which must exist; when
 * absent, a channel named after the chat, created if need be. Boards and
 * pads: the new board's or pad's name instead of the export's.
 */
target?: string | null, 
/**
 * A full Telegram export: the name of the chat to import.
 */
chat?: string | null, 
/**
 * Minutes east of UTC of times the export writes without a zone (WhatsApp
 * always does; Telegram's `date`): the importing device's offset. UTC when
 * absent.
 */
utc_offset_minutes?: number | null, } | { "type": "export", 
/**
 * Group name or id.
 */
group: string, };

/**
 * The node's answer to a [`Request`].
 */
export type Response = { "type": "done" } | { "type": "profile", "data": ProfileView } | { "type": "group", "data": GroupSummary } | { "type": "groups", "data": Array<GroupSummary> } | { "type": "members", "data": Array<MemberView> } | { "type": "invite", "data": InviteView } | { "type": "invites", "data": Array<InviteView> } | { "type": "channel", "data": ChannelInfo } | { "type": "channels", "data": Array<ChannelInfo> } | { "type": "message", "data": MessageView } | { "type": "messages", "data": Array<MessageView> } | { "type": "pad", "data": PadView } | { "type": "heads", "data": Array<string> } | { "type": "docs", "data": Array<DocInfo> } | { "type": "board", "data": BoardView } | { "type": "status", "data": StatusView } | { "type": "presence", "data": Array<PresenceView> } | { "type": "imported", "data": ImportReport } | { "type": "export", "data": ExportView };

/**
 * What a member may do.
 */
export type Role = "admin" | "member";

/**
 * One segment of a channel: the messages of one key epoch and month.
 */
export type SegmentInfo = { 
/**
 * The segment document.
 */
doc: DocId, 
/**
 * The key epoch (hex).
 */
epoch: string, 
/**
 * The month, `YYYY-MM`; for imported history also a whole year, `YYYY`.
 */
month: string, };

/**
 * One editor edit: delete `delete` UTF-16 code units at `pos`, then insert `insert`.
 */
export type Splice = { 
/**
 * Position, in UTF-16 code units.
 */
pos: number, 
/**
 * How many UTF-16 code units to delete.
 */
delete: number, 
/**
 * What to insert.
 */
insert: string, };

/**
 * This device's network and, per group, its peers.
 */
export type StatusView = { 
/**
 * Whether networking runs (false: an offline command answered from the store).
 */
online: boolean, 
/**
 * This device's network identity (libp2p PeerId), when online.
 */
peer_id: string | null, 
/**
 * Addresses the node listens on.
 */
listen: Array<string>, 
/**
 * One entry per group.
 */
groups: Array<GroupStatus>, 
/**
 * What catch-up moved since the network started.
 */
catch_up: CatchUpCounts, 
/**
 * Whether peers elsewhere can dial this device directly, as AutoNAT probes found.
 */
reachability: Reachability, 
/**
 * The relays this device uses.
 */
relays: Array<RelayStatus>, };

/**
 * How this device's copy of a document stands against a peer's.
 */
export type SyncState = { "state": "in_sync" } | { "state": "behind", 
/**
 * How many.
 */
envelopes: number, } | { "state": "peer_behind", 
/**
 * How many.
 */
envelopes: number, } | { "state": "diverged", 
/**
 * The peer's that this device lacks.
 */
behind: number, 
/**
 * This device's that the peer lacks.
 */
peer_behind: number, } | { "state": "forked" } | { "state": "unknown" };

/**
 * Milliseconds since 1970-01-01T00:00:00Z; RFC 3339 in JSON.
 */
export type Timestamp = string;

/**
 * `POST /api/unlock`.
 */
export type UnlockBody = { passphrase: string, };

/**
 * An error as it travels: `{"error": {"kind": .., "message": ..}}`. `kind` is one of
 * the core's `ErrorKind`s or a host-level kind (see `docs/local-api.md`).
 */
export type WireError = { kind: string, message: string, };

/**
 * What the server sends on the WebSocket: the answer to request `id` (in request
 * order), or an event.
 */
export type WsOutgoing = { id: number | null, response: Response, } | { id: number | null, error: WireError, } | { event: Event, };

/**
 * A request on the WebSocket.
 */
export type WsRequest = { id: number, request: Request, };
