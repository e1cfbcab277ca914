import { describe, expect, it } from "vitest";
import type { MessageView } from "../api/types";
import { excerpt, mergeMessage, prependPage, reactionList, reacted, seenByPeer, seenSegments, unreadIndex } from "./chat";

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
    segment: "s",
    hidden: false,
    ...extra,
  };
}

describe("chat helpers", () => {
  it("puts an earlier page before the loaded messages without doubles", () => {
    const loaded = [m("c"), m("d")];
    expect(prependPage([m("a"), m("b"), m("c")], loaded).map((x) => x.id)).toEqual(["a", "b", "c", "d"]);
    expect(prependPage([], loaded)).toEqual(loaded);
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

  it("says a message was seen by a peer only when a comparison after it found the peer has all mine", () => {
    const doc = (d: string, has_all_mine: boolean) => ({ doc: d, label: d, state: { state: "in_sync" as const }, has_all_mine });
    const peer = (compared_at: string | null, docs: ReturnType<typeof doc>[]) => ({
      peer_id: "p", member: null, name: null, connected: true, path: null, address: null, relay: null, hole_punch: null,
      last_seen: null, compared_at, docs,
    });
    const status = {
      online: true, peer_id: null, listen: [], catch_up: { envelopes: 0, bytes: 0, duplicates: 0 },
      reachability: "unknown" as const, relays: [],
      groups: [{ id: "g", name: "g", forks: 0, refused_no_key: 0, peers: [
        peer("2026-12-06T13:05:00.000Z", [doc("s", true), doc("t", false)]),
        peer("2026-12-06T13:10:00.000Z", [doc("s", false)]),
      ] }],
    };
    const seen = seenSegments(status, "g");
    const at = (sent_at: string, segment: string) => m("x", "me", { sent_at, segment });
    expect(seenByPeer(at("2026-12-06T13:00:00.000Z", "s"), seen)).toBe(true);
    expect(seenByPeer(at("2026-12-06T13:06:00.000Z", "s"), seen)).toBe(false); // sent after the comparison
    expect(seenByPeer(at("2026-12-06T13:00:00.000Z", "t"), seen)).toBe(false);
    expect(seenSegments(status, "other").size).toBe(0);
  });

  it("shortens quotes to one line", () => {
    expect(excerpt("a\n\nb")).toBe("a b");
    expect(excerpt("x".repeat(200), 10)).toBe("xxxxxxxxx…");
  });
});
