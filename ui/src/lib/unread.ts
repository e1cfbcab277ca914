// Unread counts per channel. The last message read in each channel is remembered (in
// localStorage); a message counts as unread when it arrives (as an event) from someone
// else, is newer than that mark by the chat's clock, and the channel is not on screen.
// Edits, reactions and deletions of older messages arrive as events too: their clock
// reading is old, so they never count.
import type { Hlc } from "../api/types";

export interface ReadMark {
  id: string;
  hlc: Hlc;
}

export type KeyValueStore = Pick<Storage, "getItem" | "setItem">;

export function hlcAfter(a: Hlc, b: Hlc): boolean {
  return a.time > b.time || (a.time === b.time && a.counter > b.counter);
}

function storageKey(group: string, channel: string): string {
  return `plenum.read.${group}.${channel}`;
}

export class UnreadTracker {
  private marks = new Map<string, ReadMark>();
  private counted = new Map<string, Set<string>>();

  /** `since`: messages of channels never read count from this reading (e.g. now). */
  constructor(
    private readonly storage: KeyValueStore | null,
    private readonly since: Hlc,
  ) {}

  mark(group: string, channel: string): ReadMark | null {
    const key = storageKey(group, channel);
    const known = this.marks.get(key);
    if (known) return known;
    try {
      const raw = this.storage?.getItem(key);
      if (raw) {
        const parsed = JSON.parse(raw) as ReadMark;
        if (typeof parsed.id === "string" && typeof parsed.hlc?.time === "number") {
          this.marks.set(key, parsed);
          return parsed;
        }
      }
    } catch {
      // A damaged or unavailable mark: count from `since`.
    }
    return null;
  }

  /** The newest message seen in the channel is `last`: nothing before it is unread. */
  markRead(group: string, channel: string, last: ReadMark | null): void {
    const key = storageKey(group, channel);
    this.counted.delete(key);
    if (!last) return;
    const current = this.mark(group, channel);
    if (current && !hlcAfter(last.hlc, current.hlc)) return;
    this.marks.set(key, { id: last.id, hlc: last.hlc });
    try {
      this.storage?.setItem(key, JSON.stringify({ id: last.id, hlc: last.hlc }));
    } catch {
      // Not remembered across reloads.
    }
  }

  /** Records a message event; true when the channel's count changed. */
  onMessage(
    group: string,
    channel: string,
    message: { id: string; hlc: Hlc; deleted: boolean },
    mine: boolean,
    onScreen: boolean,
  ): boolean {
    if (mine || onScreen || message.deleted) return false;
    const mark = this.mark(group, channel);
    if (!hlcAfter(message.hlc, mark?.hlc ?? this.since)) return false;
    const key = storageKey(group, channel);
    let set = this.counted.get(key);
    if (!set) {
      set = new Set();
      this.counted.set(key, set);
    }
    if (set.has(message.id)) return false;
    set.add(message.id);
    return true;
  }

  count(group: string, channel: string): number {
    return this.counted.get(storageKey(group, channel))?.size ?? 0;
  }
}
