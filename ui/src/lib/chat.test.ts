import { describe, expect, it } from "vitest";
import type { MessageView } from "../api/types";
import { excerpt, mergeMessage, reactionList, reacted, unreadIndex, windowStart } from "./chat";

function m(id: string, author = "other", extra: Partial<MessageView> = {}): MessageView {
  return {
    id,
    author,
    text: `text ${id}`,
    sent_at: "2026-12-06T13:00:00.000Z",
    hlc: { time: 1, counter: 0 },
    after: null,
    reply_to: null,
    edited: false,
    edited_at: null,
    deleted: false,
    reactions: {},
    imported_author: null,
    author_name: author,
    channel: "c",
    hidden: false,
    ...extra,
  };
}

describe("chat helpers", () => {
  it("renders only the last window of a long history", () => {
    expect(windowStart(10_000, 200)).toBe(9_800);
    expect(windowStart(50, 200)).toBe(0);
  });

  it("puts the new-messages marker before the first unread message of someone else", () => {
    const list = [m("a"), m("b", "me"), m("c"), m("d")];
    expect(unreadIndex(list, "a", "me")).toBe(2);
    expect(unreadIndex(list, "d", "me")).toBe(-1);
    expect(unreadIndex(list, "gone", "me")).toBe(-1);
    expect(unreadIndex(list, null, "me")).toBe(-1);
  });

  it("replaces a known message in place and appends an unknown one", () => {
    const list = [m("a"), m("b")];
    const edited = mergeMessage(list, m("a", "other", { text: "new", edited: true }));
    expect(edited.known).toBe(true);
    expect(edited.list.map((x) => x.text)).toEqual(["new", "text b"]);
    expect(list[0]?.text).toBe("text a");
    const added = mergeMessage(list, m("c"));
    expect(added.known).toBe(false);
    expect(added.list.map((x) => x.id)).toEqual(["a", "b", "c"]);
  });

  it("knows own reactions and skips empty ones", () => {
    const msg = m("a", "other", { reactions: { "👍": ["me", "x"], "🎉": [] } });
    expect(reacted(msg, "👍", "me")).toBe(true);
    expect(reacted(msg, "🎉", "me")).toBe(false);
    expect(reactionList(msg)).toEqual([{ emoji: "👍", members: ["me", "x"] }]);
  });

  it("shortens quotes to one line", () => {
    expect(excerpt("a\n\nb")).toBe("a b");
    expect(excerpt("x".repeat(200), 10)).toBe("xxxxxxxxx…");
  });
});
