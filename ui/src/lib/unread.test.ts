import { describe, expect, it } from "vitest";
import { UnreadTracker } from "./unread";

function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

const msg = (id: string, time: number, deleted = false) => ({ id, hlc: { time, counter: 0 }, deleted });

describe("UnreadTracker", () => {
  it("counts new messages from others once each, not own ones or ones on screen", () => {
    const u = new UnreadTracker(memory(), { time: 100, counter: 0 });
    expect(u.onMessage("g", "c", msg("a", 200), false, false)).toBe(true);
    expect(u.onMessage("g", "c", msg("a", 200), false, false)).toBe(false); // its edit
    expect(u.onMessage("g", "c", msg("b", 201), true, false)).toBe(false); // mine
    expect(u.onMessage("g", "c", msg("c", 202), false, true)).toBe(false); // on screen
    expect(u.onMessage("g", "c", msg("old", 50), false, false)).toBe(false); // old one edited
    expect(u.count("g", "c")).toBe(1);
    expect(u.count("g", "other")).toBe(0);
  });

  it("remembers the read mark across reloads and counts only after it", () => {
    const store = memory();
    const u = new UnreadTracker(store, { time: 0, counter: 0 });
    u.onMessage("g", "c", msg("a", 10), false, false);
    u.markRead("g", "c", { id: "a", hlc: { time: 10, counter: 0 } });
    expect(u.count("g", "c")).toBe(0);
    const after = new UnreadTracker(store, { time: 0, counter: 0 });
    expect(after.mark("g", "c")?.id).toBe("a");
    expect(after.onMessage("g", "c", msg("a", 10), false, false)).toBe(false);
    expect(after.onMessage("g", "c", msg("b", 11), false, false)).toBe(true);
    // An older mark never replaces a newer one.
    after.markRead("g", "c", { id: "z", hlc: { time: 5, counter: 0 } });
    expect(after.mark("g", "c")?.id).toBe("a");
  });
});
