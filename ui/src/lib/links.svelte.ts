// Invite links handed to the app from outside: the desktop app opened with a
// plenum://join/… link (or handed one by a second launch). The shell pushes each onto
// `window.__plenumJoinLinks` and fires a "plenum-join" event; the join form takes
// them from here, one at a time, and asks before joining.

interface LinkWindow {
  __plenumJoinLinks?: string[];
  addEventListener(type: string, listener: () => void): void;
}

export const incoming = $state<{ links: string[] }>({ links: [] });

/** Takes the links already handed over and any that come later. */
export function listenForJoinLinks(target: LinkWindow): void {
  const drain = () => {
    const waiting = target.__plenumJoinLinks ?? [];
    target.__plenumJoinLinks = [];
    for (const link of waiting) {
      if (typeof link === "string" && link.startsWith("plenum://join/")) incoming.links.push(link);
    }
  };
  target.addEventListener("plenum-join", drain);
  drain();
}

/** The next link to offer, if any (each is offered once). */
export function takeJoinLink(): string | null {
  return incoming.links.shift() ?? null;
}
