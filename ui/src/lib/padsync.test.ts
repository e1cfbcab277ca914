import { ChangeSet, EditorState } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import type { PadView, Request, Response } from "../api/types";
import { applySplices, minimalDiff, PadSync, splicesFromChanges } from "./padsync";

describe("splicesFromChanges", () => {
  it("turns a multi-range transaction into splices that apply one after the other", () => {
    const doc = "hello world, hello moon";
    const state = EditorState.create({ doc });
    // Three changes at positions of the original text (as multiple cursors make them).
    const tr = state.update({
      changes: [
        { from: 0, to: 5, insert: "HELLO!" },
        { from: 6, to: 11, insert: "" },
        { from: 13, to: 18, insert: "bye" },
      ],
    });
    const splices = splicesFromChanges(tr.changes);
    expect(splices).toEqual([
      { pos: 0, delete: 5, insert: "HELLO!" },
      { pos: 7, delete: 5, insert: "" },
      { pos: 9, delete: 5, insert: "bye" },
    ]);
    expect(applySplices(doc, splices)).toBe(tr.state.doc.toString());
  });

  it("counts positions in UTF-16 code units, as the core does", () => {
    const doc = "a😀b";
    const changes = ChangeSet.of([{ from: 3, insert: "é" }, { from: 4, to: 4, insert: "🎉" }], doc.length);
    const splices = splicesFromChanges(changes);
    expect(splices).toEqual([
      { pos: 3, delete: 0, insert: "é" },
      { pos: 5, delete: 0, insert: "🎉" },
    ]);
    expect(applySplices(doc, splices)).toBe(changes.apply(EditorState.create({ doc }).doc).toString());
  });

  it("agrees with CodeMirror on random edits", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const doc = "The quick brown fox\njumps over the lazy dog 🦊".slice(0, 10 + rand(30));
      const points = [...new Set([rand(doc.length + 1), rand(doc.length + 1), rand(doc.length + 1), rand(doc.length + 1)])].sort((a, b) => a - b);
      const specs = [];
      for (let i = 0; i + 1 < points.length; i += 2) specs.push({ from: points[i]!, to: points[i + 1]!, insert: "xy".slice(0, rand(3)) });
      const changes = ChangeSet.of(specs, doc.length);
      const want = changes.apply(EditorState.create({ doc }).doc).toString();
      expect(applySplices(doc, splicesFromChanges(changes))).toBe(want);
    }
  });
});

describe("minimalDiff", () => {
  it("replaces only the middle that differs", () => {
    expect(minimalDiff("hello world", "hello brave world")).toEqual({ from: 6, to: 6, insert: "brave " });
    expect(minimalDiff("abcdef", "abef")).toEqual({ from: 2, to: 4, insert: "" });
    expect(minimalDiff("same", "same")).toBeNull();
    expect(minimalDiff("", "new")).toEqual({ from: 0, to: 0, insert: "new" });
  });

  it("never splits a surrogate pair", () => {
    // 😀 = D83D DE00, 😁 = D83D DE01: they share the high half.
    const d = minimalDiff("a😀b", "a😁b");
    expect(d).toEqual({ from: 1, to: 3, insert: "😁" });
    // 😀 and 🙀 (D83D DE40) share nothing but 🎀 (D83C DF80)... ends with the same low half.
    const e = minimalDiff("x\uD83D\uDE00", "x\uD83C\uDE00");
    expect(e).toEqual({ from: 1, to: 3, insert: "\uD83C\uDE00" });
    for (const [a, b] of [["a😀b", "a😁b"], ["😀", "x😀"], ["x😀", "😀"], ["😀😀", "😀"]] as const) {
      const change = minimalDiff(a, b)!;
      expect(a.slice(0, change.from) + change.insert + a.slice(change.to)).toBe(b);
    }
  });
});

describe("minimalDiff at the cursor", () => {
  const apply = (a: string, c: { from: number; to: number; insert: string }) => a.slice(0, c.from) + c.insert + a.slice(c.to);

  it("keeps the text just typed before the cursor attached to it", () => {
    // A typed "- fr" at the end; B's concurrent run was merged before it.
    const change = minimalDiff("S- fr", "S- from B- fr", 5)!;
    expect(change).toEqual({ from: 1, to: 1, insert: "- from B" });
    // Merged after it: stays at the cursor (which then stays before it).
    expect(minimalDiff("S- fr", "S- fr- from B", 5)).toEqual({ from: 5, to: 5, insert: "- from B" });
    // Without a cursor, or with the change elsewhere, the plain prefix/suffix diff.
    expect(minimalDiff("S- fr", "S- from B- fr")).toEqual({ from: 5, to: 5, insert: "om B- fr" });
    expect(minimalDiff("S- fr", "S- from B- fr", 2)).toEqual({ from: 5, to: 5, insert: "om B- fr" });
  });

  it("slides without splitting surrogate pairs and stays correct", () => {
    for (const [a, b, c] of [
      ["x😀", "x😀y😀", 3],
      ["ab😀", "ab😀😀", 4],
      ["😀😀", "😀😀😀", 4],
      ["aaa", "aaaa", 3],
    ] as const) {
      const change = minimalDiff(a, b, c)!;
      expect(apply(a, change)).toBe(b);
      const at = change.from;
      expect(at > 0 && at < a.length && /[\uDC00-\uDFFF]/.test(a.charAt(at)) && /[\uD800-\uDBFF]/.test(a.charAt(at - 1))).toBe(false);
    }
  });
});

/** A node that answers each call when told to, in order, like the WebSocket. */
function fakeNode(initial: string) {
  const calls: { request: Request; resolve: (r: Response) => void; reject: (e: unknown) => void }[] = [];
  let text = initial;
  let version = 0;
  return {
    calls,
    get text() {
      return text;
    },
    setRemote(next: string) {
      text = next;
      version++;
    },
    call: (request: Request) => new Promise<Response>((resolve, reject) => calls.push({ request, resolve, reject })),
    /** Answers the oldest call the way the node would. */
    answer() {
      const next = calls.shift()!;
      if (next.request.type === "pad_splice") {
        text = applySplices(text, next.request.splices);
        version++;
        next.resolve({ type: "heads", data: [`h${version}`] });
      } else if (next.request.type === "pad_get") {
        const view: PadView = { id: "p", name: "p", text, heads: [`h${version}`] };
        next.resolve({ type: "pad", data: view });
      }
    },
  };
}

function fakeEditor(text: string) {
  const editor = {
    text: text,
    remote: 0,
    port: {
      text: () => editor.text,
      cursor: () => editor.text.length,
      applyRemote: (c: { from: number; to: number; insert: string }) => {
        editor.remote++;
        editor.text = editor.text.slice(0, c.from) + c.insert + editor.text.slice(c.to);
      },
    },
  };
  return editor;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("PadSync", () => {
  it("sends splices with the heads of the fetched text and applies remote text once local ones are answered", async () => {
    const node = fakeNode("abc");
    const editor = fakeEditor("abc");
    const timers: (() => void)[] = [];
    const sync = new PadSync({
      call: node.call,
      group: "g",
      pad: "p",
      editor: editor.port,
      onError: (e) => {
        throw e;
      },
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => {},
    });
    sync.start({ id: "p", name: "p", text: "abc", heads: ["h0"] });

    editor.text = "abcd";
    sync.local([{ pos: 3, delete: 0, insert: "d" }]);
    editor.text = "abcde";
    sync.local([{ pos: 4, delete: 0, insert: "e" }]);
    expect(node.calls.map((c) => c.request.type)).toEqual(["pad_splice", "pad_splice"]);
    expect(node.calls.map((c) => (c.request as { heads: string[] }).heads)).toEqual([["h0"], ["h0"]]);

    // Someone else's edit arrives while ours are in flight: no fetch yet.
    // (At the end: this fake applies splices at current positions, not at heads.)
    node.setRemote(node.text + "Y");
    sync.remoteChanged();
    expect(node.calls).toHaveLength(2);

    node.answer();
    await settle();
    node.answer();
    await settle();
    // Now it fetches, and applies the merged text as one remote change.
    expect(node.calls.map((c) => c.request.type)).toEqual(["pad_get"]);
    node.answer();
    await settle();
    expect(editor.text).toBe("abcdeY");
    expect(editor.remote).toBe(1);
    expect(sync.heads).toEqual(["h3"]);
  });

  it("drops a fetched text that misses an edit made while it was on its way", async () => {
    const node = fakeNode("abc");
    const editor = fakeEditor("abc");
    const sync = new PadSync({ call: node.call, group: "g", pad: "p", editor: editor.port, onError: () => {}, setTimer: () => 0, clearTimer: () => {} });
    sync.start({ id: "p", name: "p", text: "abc", heads: ["h0"] });
    sync.remoteChanged(); // pad_get goes out
    editor.text = "abcZ"; // typed before it came back
    sync.local([{ pos: 3, delete: 0, insert: "Z" }]);
    node.answer(); // the pad_get: stale ("abc")
    await settle();
    expect(editor.text).toBe("abcZ");
    expect(editor.remote).toBe(0);
    node.answer(); // the splice
    await settle();
    await settle();
    expect(node.calls.map((c) => c.request.type)).toEqual(["pad_get"]);
    node.answer();
    await settle();
    expect(editor.text).toBe("abcZ");
    expect(sync.heads).toEqual(["h1"]);
  });

  it("refreshes its heads once the editor is idle", async () => {
    const node = fakeNode("");
    const editor = fakeEditor("");
    const timers: (() => void)[] = [];
    const sync = new PadSync({ call: node.call, group: "g", pad: "p", editor: editor.port, onError: () => {}, setTimer: (fn) => timers.push(fn), clearTimer: () => {} });
    sync.start({ id: "p", name: "p", text: "", heads: [] });
    editor.text = "hi";
    sync.local([{ pos: 0, delete: 0, insert: "hi" }]);
    node.answer();
    await settle();
    expect(timers).toHaveLength(1);
    timers[0]!();
    node.answer();
    await settle();
    expect(sync.heads).toEqual(["h1"]);
    expect(editor.remote).toBe(0);
  });
});
