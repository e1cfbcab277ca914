// The pure parts of the chat view: pages of history, where the "New messages"
// marker goes, and folding a message event into the list.
import type { MessageView, StatusView } from "../api/types";

/**
 * How many messages one `chat_log` page holds: the latest PAGE first, and PAGE more
 * before the first loaded one for each "Show earlier", so a long history is never
 * loaded or rendered at once.
 */
export const PAGE = 200;

/** An earlier page put before the loaded messages (an id in both is kept once, the later copy). */
export function prependPage(page: readonly MessageView[], loaded: readonly MessageView[]): MessageView[] {
  const have = new Set(loaded.map((m) => m.id));
  return [...page.filter((m) => !have.has(m.id)), ...loaded];
}

/**
 * Where the "New messages" marker goes: before the first message after the read mark
 * that someone else wrote. -1 for none (nothing new, or the mark is not in the list).
 */
export function unreadIndex(messages: readonly MessageView[], markId: string | null, me: string): number {
  if (markId === null) return -1;
  const at = messages.findIndex((m) => m.id === markId);
  if (at < 0) return -1;
  for (let i = at + 1; i < messages.length; i++) {
    const m = messages[i];
    if (m && m.author !== me && !m.deleted) return i;
  }
  return -1;
}

/**
 * Folds a message (from an event or an answer) into the list in place of the one with
 * its id. A message the list does not have yet goes at the end, and `known` is false:
 * the caller then reloads the log for the core's own display order.
 */
export function mergeMessage(
  messages: readonly MessageView[],
  message: MessageView,
): { list: MessageView[]; known: boolean } {
  const at = messages.findIndex((m) => m.id === message.id);
  if (at >= 0) {
    const list = messages.slice();
    list[at] = message;
    return { list, known: true };
  }
  return { list: [...messages, message], known: false };
}

/** Whether `me` reacted with `emoji` (so a click removes the reaction). */
export function reacted(message: MessageView, emoji: string, me: string): boolean {
  return (message.reactions[emoji] ?? []).includes(me);
}

/** Reactions with at least one member, in the order the core gives them. */
export function reactionList(message: MessageView): { emoji: string; members: string[] }[] {
  return Object.entries(message.reactions)
    .map(([emoji, members]) => ({ emoji, members: members ?? [] }))
    .filter((r) => r.members.length > 0);
}

/** A one-line excerpt of a message for a reply's quote. */
export function excerpt(text: string, max = 120): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Per segment document of the group: the latest comparison (ms) at which some peer held
 * every envelope this device wrote in it.
 */
export function seenSegments(status: StatusView, group: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const peer of status.groups.find((g) => g.id === group)?.peers ?? []) {
    if (!peer.compared_at) continue;
    const at = Date.parse(peer.compared_at);
    for (const doc of peer.docs) {
      if (doc.has_all_mine && at > (seen.get(doc.doc) ?? -Infinity)) seen.set(doc.doc, at);
    }
  }
  return seen;
}

/** Whether a peer holds this (own) message: a comparison after it was sent found all of its segment. */
export function seenByPeer(message: Pick<MessageView, "segment" | "sent_at">, seen: Map<string, number>): boolean {
  const at = seen.get(message.segment);
  return at !== undefined && at >= Date.parse(message.sent_at);
}
