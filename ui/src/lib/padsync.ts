// The pad editor's binding to the node, without the editor: local edits become
// splices sent with the heads the editor's text is at; remote changes are fetched and
// applied as one minimal change, never while local splices are still unanswered.
//
// Heads: the editor's positions refer to the text it shows. That text is the node's at
// the heads of the last `pad_get`, plus this device's own splices since — and the core
// counts a device's own later changes as seen (docs/pad.rs, effective_heads). So the
// splices always carry the heads of the last fetched text. A splice's answer carries
// the document's heads after it, which may include a remote change the editor does not
// show yet; taking those would shift positions. Instead the heads move on with each
// fetch: after remote changes, and once the editor is idle, so they never grow stale.
import type { ChangeSet } from "@codemirror/state";
import type { PadView, Request, Response, Splice } from "../api/types";

/**
 * The splices of one transaction, in order, each at its position in the text as the
 * splices before it left it. CodeMirror's positions are UTF-16 code units, as are the
 * core's; `iterChanges` reports ranges in the old text (fromA/toA) and in the new one
 * (fromB). Applied in ascending order, a change starts where it starts in the new
 * text: every earlier change is already applied, no later one yet.
 */
export function splicesFromChanges(changes: ChangeSet): Splice[] {
  const splices: Splice[] = [];
  changes.iterChanges((fromA, toA, fromB, _toB, inserted) => {
    splices.push({ pos: fromB, delete: toA - fromA, insert: inserted.toString() });
  });
  return splices;
}

/** Applies splices in order (as the core does), for tests and checks. */
export function applySplices(text: string, splices: readonly Splice[]): string {
  let out = text;
  for (const s of splices) {
    if (s.pos + s.delete > out.length) throw new Error(`splice ${s.pos}+${s.delete} past ${out.length}`);
    out = out.slice(0, s.pos) + s.insert + out.slice(s.pos + s.delete);
  }
  return out;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The one change that turns `from` into `to`: the common prefix and suffix stay, the
 * middle is replaced. Never splits a surrogate pair. null when equal.
 *
 * With `cursor`: an insertion that lands right at the cursor is often ambiguous ("ab|"
 * to "aXab" is "Xa" after "a" or "aX" before "b"...). Someone typing at the cursor
 * has their own latest text just before it, and a concurrent insertion at the same
 * place goes before or after that whole run; so the insertion is slid left as far as
 * the text allows, keeping the run attached to the cursor.
 */
export function minimalDiff(
  from: string,
  to: string,
  cursor?: number,
): { from: number; to: number; insert: string } | null {
  if (from === to) return null;
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++;
  // Stopped right after a high surrogate: its low half differs; keep the pair whole.
  if (prefix > 0 && isHigh(from.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (
    suffix < max - prefix &&
    from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)
  ) {
    suffix++;
  }
  // The suffix starts with a low surrogate whose high half differs: keep the pair whole.
  if (suffix > 0 && isLow(from.charCodeAt(from.length - suffix))) suffix--;
  let at = prefix;
  let insert = to.slice(prefix, to.length - suffix);
  const end = from.length - suffix;
  if (cursor !== undefined && at === cursor && end === at && insert.length > 0) {
    const start = at;
    while (at > 0 && from.charCodeAt(at - 1) === insert.charCodeAt(insert.length - 1)) {
      insert = from.charAt(at - 1) + insert.slice(0, -1);
      at--;
    }
    // Not between the halves of a pair: one step back right is always valid too.
    if (at > 0 && at < start && isHigh(from.charCodeAt(at - 1)) && isLow(from.charCodeAt(at))) {
      insert = insert.slice(1) + from.charAt(at);
      at++;
    }
    return { from: at, to: at, insert };
  }
  return { from: prefix, to: end, insert };
}

/** What the binding needs of the editor. */
export interface PadEditorPort {
  text(): string;
  /** Where the cursor (the main selection's head) is. */
  cursor(): number;
  /** Applies a remote change (not to be sent back as a splice, not undoable). */
  applyRemote(change: { from: number; to: number; insert: string }): void;
}

export interface PadSyncOptions {
  call: (request: Request) => Promise<Response>;
  group: string;
  pad: string;
  editor: PadEditorPort;
  onError: (error: unknown) => void;
  /** Heads are refreshed this long after the last local edit was answered (ms). */
  idleRefresh?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class PadSync {
  /** The heads of the text the editor shows (with own splices since). */
  heads: string[] = [];
  private inFlight = 0;
  /** Counts local edits, to tell whether any was made while a fetch was out. */
  private edits = 0;
  private fetching = false;
  private fetchWanted = false;
  private idle: unknown = null;
  private closed = false;
  private readonly o: Required<PadSyncOptions>;

  constructor(options: PadSyncOptions) {
    this.o = {
      idleRefresh: 1500,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  /** The text and heads the editor starts from. */
  start(view: PadView): void {
    this.heads = view.heads;
  }

  get pending(): number {
    return this.inFlight;
  }

  /** A local transaction's splices: sent at once, in order. */
  local(splices: Splice[]): void {
    if (splices.length === 0 || this.closed) return;
    this.edits++;
    this.inFlight++;
    this.cancelIdle();
    const request: Request = {
      type: "pad_splice",
      group: this.o.group,
      pad: this.o.pad,
      heads: this.heads,
      splices,
    };
    this.o
      .call(request)
      .catch((e: unknown) => {
        // The edit did not land: the editor's text is no longer the node's. Fetch it.
        this.o.onError(e);
        this.fetchWanted = true;
      })
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) {
          if (this.fetchWanted) void this.fetch();
          else this.scheduleIdle();
        }
      });
  }

  /** The node says the pad changed (someone else's edit, or an echo of ours). */
  remoteChanged(): void {
    if (this.inFlight > 0 || this.fetching) {
      this.fetchWanted = true;
      return;
    }
    void this.fetch();
  }

  close(): void {
    this.closed = true;
    this.cancelIdle();
  }

  private scheduleIdle(): void {
    this.cancelIdle();
    this.idle = this.o.setTimer(() => {
      this.idle = null;
      if (this.inFlight === 0) void this.fetch();
    }, this.o.idleRefresh);
  }

  private cancelIdle(): void {
    if (this.idle !== null) this.o.clearTimer(this.idle);
    this.idle = null;
  }

  async fetch(): Promise<void> {
    if (this.closed) return;
    if (this.fetching) {
      this.fetchWanted = true;
      return;
    }
    this.fetching = true;
    this.fetchWanted = false;
    const editsBefore = this.edits;
    let view: PadView | null = null;
    try {
      const answer = await this.o.call({ type: "pad_get", group: this.o.group, pad: this.o.pad });
      if (answer.type === "pad") view = answer.data;
    } catch (e) {
      this.o.onError(e);
    }
    this.fetching = false;
    if (this.closed || !view) return;
    if (this.edits !== editsBefore || this.inFlight > 0) {
      // Typed while the text was on its way: it misses those edits. Try again once
      // they are answered.
      this.fetchWanted = true;
      if (this.inFlight === 0) void this.fetch();
      return;
    }
    const change = minimalDiff(this.o.editor.text(), view.text, this.o.editor.cursor());
    if (change) this.o.editor.applyRemote(change);
    this.heads = view.heads;
    if (this.fetchWanted) void this.fetch();
  }
}
