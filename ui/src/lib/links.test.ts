import { describe, expect, it } from "vitest";
import { incoming, listenForJoinLinks, takeJoinLink } from "./links.svelte";

describe("join links from the shell", () => {
  it("takes links handed over before and after it listens, once each, and nothing else", () => {
    const listeners: Array<() => void> = [];
    const target = {
      __plenumJoinLinks: ["plenum://join/early"],
      addEventListener: (_type: string, listener: () => void) => listeners.push(listener),
    };
    listenForJoinLinks(target);
    target.__plenumJoinLinks.push("https://evil.example/", "plenum://join/later");
    for (const listener of listeners) listener();
    expect(incoming.links).toEqual(["plenum://join/early", "plenum://join/later"]);
    expect(takeJoinLink()).toBe("plenum://join/early");
    expect(takeJoinLink()).toBe("plenum://join/later");
    expect(takeJoinLink()).toBeNull();
    expect(target.__plenumJoinLinks).toEqual([]);
  });
});
