// The pure parts of the chat view: the window of messages rendered, where the
// "New messages" marker goes, and folding a message event into the list.
import type { MessageView } from "../api/types";

/** How many messages are rendered at first, and how many more each "Show earlier" adds. */
export const WINDOW = 200;

/** Index of the first rendered message when `shown` of `total` are rendered. */
export function windowStart(total: number, shown: number): number {
  return Math.max(0, total - shown);
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
