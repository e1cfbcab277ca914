// Picks the adapter once: the Tauri shell's when running inside it, else the browser's
// HTTP + WebSocket one with the token from the page's link.
import type { Adapter } from "./adapter";
import { HttpAdapter, takeToken, type SocketLike } from "./http";
import { TauriAdapter } from "./tauri";

export * from "./adapter";

/** The adapter, or null when a browser page has no token (it needs the printed link). */
export function pickAdapter(): Adapter | null {
  // A page with a token talks HTTP, even inside a shell's window (the desktop app
  // showing the UI of a node that already runs); the shell's own page has none.
  let storage: Storage | null = null;
  try {
    storage = window.sessionStorage;
  } catch {
    storage = null;
  }
  const token = takeToken(window.location, window.history, storage);
  if (!token) return "__TAURI_INTERNALS__" in window ? new TauriAdapter() : null;
  return new HttpAdapter({
    token,
    base: window.location.origin,
    fetch: window.fetch.bind(window),
    // A WebSocket has every member SocketLike names (its handlers take richer events).
    socket: (url) => new WebSocket(url) as unknown as SocketLike,
  });
}
