// The English catalogue: the source of every key. The accessible names marked
// "contract" are relied on by users' scripts and tests; change them only on purpose.
export const en = {
  "app.loading": "Connecting to the node…",
  "app.disconnected": "Lost the connection to the node; reconnecting…",
  "app.noToken":
    "This page needs the link `plenum up` printed (it ends in #token=…). Open that link again.",
  "app.language": "Language",
  "app.error": "Something went wrong: {message}",
  "app.dismiss": "Dismiss",

  "firstRun.heading": "Welcome to Plenum",
  "firstRun.intro":
    "Plenum keeps your group's chat, pads and boards on this device, encrypted, and syncs them directly with the other members' devices.",
  "firstRun.name": "Your name",
  "firstRun.nameHelp": "Other members of your groups see this name.",
  "firstRun.passphrase": "Passphrase",
  "firstRun.passphraseRepeat": "Repeat the passphrase",
  "firstRun.passphraseHelp":
    "It protects everything on this device. There is no way to recover it if you forget it.",
  "firstRun.mismatch": "The two passphrases differ.",
  "firstRun.create": "Create profile",
  "firstRun.creating": "Creating your profile (this takes a second)…",

  "unlock.heading": "Unlock Plenum",
  "unlock.intro": "This device's profile is protected by a passphrase.",
  "unlock.passphrase": "Passphrase",
  "unlock.submit": "Unlock",
  "unlock.working": "Unlocking…",

  "start.heading": "You are not in any group yet",
  "start.intro": "Found a group, or join one with an invite link from a member.",

  "group.new": "New group", // contract
  "group.name": "Group name", // contract
  "group.create": "Create", // contract
  "group.list": "Groups",
  "group.members": "{count} members",
  "group.removed": "You are no longer a member of this group; what you had stays readable here.",
  "join.open": "Join with link", // contract
  "join.link": "Invite link", // contract
  "join.submit": "Join", // contract
  "join.working": "Looking for a member who can let you in…",
  "join.help": "Paste the plenum://join/… link a member gave you.",

  "dialog.close": "Close",
  "dialog.cancel": "Cancel",

  "channel.list": "Channels",
  "channel.new": "New channel",
  "channel.name": "Channel name",
  "channel.create": "Create channel",
  "channel.unread": "{count} unread",

  "chat.messages": "Messages", // contract
  "chat.message": "Message", // contract
  "chat.send": "Send", // contract
  "chat.empty": "No messages yet. Say hello.",
  "chat.edited": "edited",
  "chat.deleted": "This message was deleted.",
  "chat.saved": "saved",
  "chat.seen": "seen by a peer",
  "chat.sending": "sending…",
  "chat.newMessages": "New messages",
  "chat.hidden": "Hidden by an admin",

  "invite.open": "Invite", // contract
  "invite.heading": "Invite someone to {group}",
  "invite.uses": "How many people it admits",
  "invite.expires": "Valid for",
  "invite.hours": "{count} hours",
  "invite.days": "{count} days",
  "invite.create": "Create invite",
  "invite.link": "Invite link", // contract
  "invite.qr": "Invite QR code", // contract
  "invite.copy": "Copy link",
  "invite.copied": "Copied",
  "invite.help":
    "Anyone with this link can join while it is valid. Give it in person or over a channel you trust.",

  "app.menu": "Menu",
  "app.retry": "Try again",
  "app.signedInAs": "You are {name}",
  "firstRun.noPassphrase": "No passphrase (shared device)",
  "firstRun.noPassphraseHelp": "The key is kept in a file on this device instead: anyone who can use this device can read everything.",
  "unlock.wrong": "That passphrase is wrong.",
  "join.noMember": "No member who can let you in was found: {message}",
  "group.readOnly": "read-only",
  "pad.list": "Pads",
  "pad.new": "New pad",
  "pad.name": "Pad name",
  "pad.create": "Create pad",
  "board.list": "Boards",
  "board.new": "New board",
  "board.name": "Board name",
  "board.create": "Create board",
  "members.heading": "Members",
  "status.heading": "Connection and sync",

  "chat.deleteConfirm": "Delete this message for everyone? Its text leaves every view and export; it stays in members' encrypted history until that part of the channel is compacted.",
  "chat.replyMissing": "a message that is not here",
  "chat.showEarlier": "Show earlier messages ({count} more)",
  "chat.imported": "imported, unverified",
  "chat.editLabel": "Edit message",
  "chat.saveEdit": "Save",
  "chat.reaction": "{emoji}: {count}, toggle yours",
  "chat.reply": "Reply",
  "chat.react": "React",
  "chat.edit": "Edit",
  "chat.delete": "Delete",
  "chat.failed": "not sent: {message}",
  "chat.typingOne": "{name} is typing…",
  "chat.typingMany": "{names} are typing…",
  "chat.replyingTo": "Replying to {name}",
  "chat.cancelReply": "Cancel reply",
  "chat.placeholder": "Message #{channel}",

  "pad.editor": "Pad", // contract
  "pad.preview": "Preview",
  "pad.here": "Also here: {names}",

  "board.moved": "Moved {card} to {column}",
  "board.keyboardHint": "Move a focused card with Alt and the arrow keys, or drag it.",
  "board.moveCard": "Move {card}",
  "board.moveLeft": "Move left",
  "board.moveRight": "Move right",
  "board.moveUp": "Move up",
  "board.moveDown": "Move down",
  "board.addCard": "Add card",
  "board.cardTitle": "Card title",
  "board.addCardSubmit": "Add",
  "board.addColumn": "Add column",
  "board.columnTitle": "Column title",
  "board.addColumnSubmit": "Add column",
  "board.archived": "Archived cards ({count})",
  "card.dueShort": "due {date}",
  "card.isArchived": "This card is archived.",
  "card.title": "Title",
  "card.description": "Description",
  "card.save": "Save title and description",
  "card.assignees": "Assigned to",
  "card.labels": "Labels",
  "card.removeLabel": "Remove label {label}",
  "card.newLabel": "New label",
  "card.addLabel": "Add label",
  "card.due": "Due date",
  "card.checklist": "Checklist",
  "card.newItem": "New checklist item",
  "card.addItem": "Add item",
  "card.comments": "Comments",
  "card.newComment": "Write a comment",
  "card.comment": "Comment",
  "card.archive": "Archive card",
  "card.restore": "Restore card",

  "card.clearDue": "Remove the due date",
} as const;

export type MessageKey = keyof typeof en;
