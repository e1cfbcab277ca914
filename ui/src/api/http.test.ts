import { describe, expect, it, vi } from "vitest";
import { ApiFailure } from "./adapter";
import { HttpAdapter, takeToken, type SocketLike } from "./http";
import type { Event } from "./types";

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  sent: { id: number; request: { type: string } }[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.onopen?.({});
  }
  answer(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(): void {
    this.onclose?.({});
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const adapter = new HttpAdapter({
    token: "t0k",
    base: "http://127.0.0.1:7419",
    fetch: vi.fn() as unknown as typeof fetch,
    socket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => {},
  });
  return { adapter, sockets, timers };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("HttpAdapter WebSocket calls", () => {
  it("queues calls while connecting and sends them in call order with increasing ids", async () => {
    const { adapter, sockets } = setup();
    const a = adapter.call({ type: "group_list" });
    const b = adapter.call({ type: "profile" });
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.url).toBe("ws://127.0.0.1:7419/api/ws?token=t0k");
    expect(sockets[0]!.sent).toEqual([]);
    sockets[0]!.open();
    const c = adapter.call({ type: "status", group: null });
    expect(sockets[0]!.sent.map((f) => [f.id, f.request.type])).toEqual([
      [1, "group_list"],
      [2, "profile"],
      [3, "status"],
    ]);
    sockets[0]!.answer({ id: 1, response: { type: "groups", data: [] } });
    sockets[0]!.answer({ id: 2, error: { kind: "locked", message: "locked" } });
    sockets[0]!.answer({ id: 3, response: { type: "done" } });
    await expect(a).resolves.toEqual({ type: "groups", data: [] });
    await expect(b).rejects.toMatchObject({ kind: "locked", message: "locked" });
    await expect(c).resolves.toEqual({ type: "done" });
  });

  it("matches answers by id and gives an id-less error to the oldest waiting call", async () => {
    const { adapter, sockets } = setup();
    const a = adapter.call({ type: "profile" });
    const b = adapter.call({ type: "group_list" });
    sockets[0]!.open();
    sockets[0]!.answer({ id: null, error: { kind: "bad_request", message: "not a request" } });
    sockets[0]!.answer({ id: 99, response: { type: "done" } }); // not waiting: ignored
    sockets[0]!.answer({ id: 2, response: { type: "done" } });
    const err = await a.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiFailure);
    expect(err).toMatchObject({ kind: "bad_request" });
    await expect(b).resolves.toEqual({ type: "done" });
  });

  it("delivers events to subscribers until they unsubscribe", () => {
    const { adapter, sockets } = setup();
    const seen: Event[] = [];
    const off = adapter.onEvent((e) => seen.push(e));
    sockets[0]!.open();
    sockets[0]!.answer({ event: { type: "group_changed", group: "ab12" } });
    off();
    sockets[0]!.answer({ event: { type: "group_changed", group: "cd34" } });
    expect(seen).toEqual([{ type: "group_changed", group: "ab12" }]);
  });

  it("fails pending calls when the socket dies, reconnects with growing delays and asks views to reload", async () => {
    const { adapter, sockets, timers } = setup();
    const states: string[] = [];
    adapter.onConnection((s) => states.push(s));
    const seen: Event[] = [];
    adapter.onEvent((e) => seen.push(e));
    sockets[0]!.open();
    const pending = adapter.call({ type: "profile" });
    sockets[0]!.drop();
    await expect(pending).rejects.toMatchObject({ kind: "unavailable" });
    expect(timers.map((t) => t.ms)).toEqual([250]);

    timers[0]!.fn(); // first retry fails too
    sockets[1]!.drop();
    expect(timers.map((t) => t.ms)).toEqual([250, 500]);
    timers[1]!.fn();
    const later = adapter.call({ type: "group_list" });
    sockets[2]!.open();
    expect(sockets[2]!.sent.map((f) => f.id)).toEqual([2]);
    expect(seen).toEqual([{ type: "lagged", missed: 0 }]);
    sockets[2]!.answer({ id: 2, response: { type: "groups", data: [] } });
    await expect(later).resolves.toMatchObject({ type: "groups" });
    expect(states).toEqual(["closed", "connecting", "open", "closed", "connecting", "closed", "connecting", "open"]);
    // Back to the shortest delay after a successful open.
    sockets[2]!.drop();
    expect(timers.at(-1)!.ms).toBe(250);
  });

  it("caps the reconnect delay", () => {
    const { adapter, sockets, timers } = setup();
    adapter.onEvent(() => {});
    for (let i = 0; i < 10; i++) {
      sockets.at(-1)!.drop();
      timers.at(-1)!.fn();
    }
    expect(Math.max(...timers.map((t) => t.ms))).toBe(8000);
  });
});

describe("HttpAdapter HTTP", () => {
  it("sends the token and turns error bodies into ApiFailures", async () => {
    const fetch = vi.fn(async () =>
      new Response(JSON.stringify({ error: { kind: "wrong_passphrase", message: "wrong" } }), { status: 403 }),
    );
    const adapter = new HttpAdapter({
      token: "abc",
      base: "http://127.0.0.1:1",
      fetch: fetch as unknown as typeof globalThis.fetch,
      socket: () => new FakeSocket(""),
    });
    await expect(adapter.unlock("pw")).rejects.toMatchObject({ kind: "wrong_passphrase", message: "wrong" });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://127.0.0.1:1/api/unlock");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer abc");
    expect(JSON.parse(String(init.body))).toEqual({ passphrase: "pw" });
  });
});

describe("HttpAdapter join", () => {
  it("sends a join over its own HTTP request, not the ordered socket", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ type: "done" }), { status: 200 }));
    const sockets: FakeSocket[] = [];
    const adapter = new HttpAdapter({
      token: "abc",
      base: "http://127.0.0.1:1",
      fetch: fetch as unknown as typeof globalThis.fetch,
      socket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
    });
    await expect(adapter.call({ type: "join", link: "plenum://join/x", timeout_ms: null })).resolves.toEqual({ type: "done" });
    expect(sockets).toHaveLength(0);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://127.0.0.1:1/api/call");
    expect(JSON.parse(String(init.body))).toEqual({ type: "join", link: "plenum://join/x", timeout_ms: null });
  });
});

describe("HttpAdapter import", () => {
  it("sends an import over its own HTTP request, so the socket keeps bringing progress", async () => {
    const report = { type: "imported", data: { source: "whatsapp", channel: "c", doc: null, name: "Kitchen", added: 1, already: 0, skipped: 0 } };
    const fetch = vi.fn(async () => new Response(JSON.stringify(report), { status: 200 }));
    const sockets: FakeSocket[] = [];
    const adapter = new HttpAdapter({
      token: "abc",
      base: "http://127.0.0.1:1",
      fetch: fetch as unknown as typeof globalThis.fetch,
      socket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
    });
    const request = {
      type: "import" as const,
      group: "g",
      source: "whatsapp" as const,
      file_name: "chat.txt",
      data: "eA==",
      target: null,
      chat: null,
      utc_offset_minutes: 0,
    };
    await expect(adapter.call(request)).resolves.toEqual(report);
    expect(sockets).toHaveLength(0);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://127.0.0.1:1/api/call");
    expect(JSON.parse(String(init.body))).toEqual(request);
  });
});

describe("takeToken", () => {
  it("takes the token from the fragment, removes it from the address and keeps it", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const replaced: (string | undefined)[] = [];
    const history = { replaceState: (_d: unknown, _u: string, url?: string) => void replaced.push(url) };
    expect(takeToken({ hash: "#token=deadbeef", pathname: "/", search: "" }, history, storage)).toBe("deadbeef");
    expect(replaced).toEqual(["/"]);
    // After a reload the fragment is gone; the kept token still works.
    expect(takeToken({ hash: "", pathname: "/", search: "" }, history, storage)).toBe("deadbeef");
    expect(takeToken({ hash: "", pathname: "/", search: "" }, history, null)).toBeNull();
  });
});
