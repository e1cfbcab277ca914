// The browser's adapter: health, init and unlock over fetch; every call over one
// WebSocket, in order (the pad's splices depend on that), events pushed on it too.
// See docs/local-api.md for the protocol.
import {
  ApiFailure,
  Listeners,
  toFailure,
  type Adapter,
  type ConnectionState,
  type InitRequest,
} from "./adapter";
import type { Event, Health, Request, Response } from "./types";

const TOKEN_KEY = "plenum.token";

/** The parts of a WebSocket this adapter uses (so tests can pass a fake). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface HttpOptions {
  token: string;
  /** Where the API is, e.g. "http://127.0.0.1:7419" (default: this page's origin). */
  base: string;
  fetch: typeof fetch;
  socket: SocketFactory;
  /** Reconnect delays grow from `minDelay` by doubling up to `maxDelay` (ms). */
  minDelay?: number;
  maxDelay?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * The token from `#token=…` (which is then removed from the address bar and kept in
 * sessionStorage, so a reload still works), or the one kept earlier.
 */
export function takeToken(
  location: { hash: string; pathname: string; search: string },
  history: { replaceState(data: unknown, unused: string, url?: string): void } | null,
  storage: Pick<Storage, "getItem" | "setItem"> | null,
): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match?.[1]) {
    const token = decodeURIComponent(match[1]);
    try {
      storage?.setItem(TOKEN_KEY, token);
    } catch {
      // Without storage a reload needs the link again; this page still works.
    }
    history?.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

interface Pending {
  id: number;
  resolve: (response: Response) => void;
  reject: (error: ApiFailure) => void;
}

export class HttpAdapter implements Adapter {
  private readonly opts: Required<HttpOptions>;
  private socket: SocketLike | null = null;
  private state: ConnectionState = "closed";
  private nextId = 1;
  /** Frames made while the socket was not open, sent in order once it is. */
  private queue: { frame: string; pending: Pending }[] = [];
  /** Sent and not yet answered, oldest first (answers come in request order). */
  private inFlight: Pending[] = [];
  private everOpened = false;
  private closedForGood = false;
  private delay: number;
  private timer: unknown = null;
  private readonly events = new Listeners<Event>();
  private readonly connection = new Listeners<ConnectionState>();

  constructor(options: HttpOptions) {
    this.opts = {
      minDelay: 250,
      maxDelay: 8000,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
    this.delay = this.opts.minDelay;
  }

  health(): Promise<Health> {
    return this.http<Health>("GET", "/api/health");
  }

  init(body: InitRequest): Promise<Response> {
    return this.http<Response>("POST", "/api/init", body);
  }

  unlock(passphrase: string): Promise<Health> {
    return this.http<Health>("POST", "/api/unlock", { passphrase });
  }

  call(request: Request): Promise<Response> {
    // A join can look for a member for minutes, and the socket answers in order: it
    // would hold up every later answer. It depends on no other request's order, so it
    // goes over its own HTTP request.
    // An import, too, takes a while, and the socket keeps bringing its progress events
    // meanwhile.
    if (request.type === "join" || request.type === "import") {
      return this.http<Response>("POST", "/api/call", request);
    }
    return new Promise<Response>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, resolve, reject };
      const frame = JSON.stringify({ id: pending.id, request });
      if (this.state === "open" && this.socket && this.queue.length === 0) {
        this.transmit(frame, pending);
      } else {
        this.queue.push({ frame, pending });
        this.ensureConnecting();
      }
    });
  }

  onEvent(handler: (event: Event) => void): () => void {
    const off = this.events.add(handler);
    this.ensureConnecting();
    return off;
  }

  onConnection(handler: (state: ConnectionState) => void): () => void {
    const off = this.connection.add(handler);
    handler(this.state);
    return off;
  }

  /** Closes the socket for good (tests, page teardown). */
  close(): void {
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.failAll("the connection to the node was closed");
    this.setState("closed");
    this.closedForGood = true;
    socket?.close();
  }

  private async http<T>(method: string, path: string, body?: unknown): Promise<T> {
    let answer: globalThis.Response;
    try {
      answer = await this.opts.fetch(this.opts.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.opts.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiFailure("unavailable", `the node does not answer: ${toFailure(e).message}`);
    }
    let json: unknown;
    try {
      json = await answer.json();
    } catch {
      throw new ApiFailure("bad_response", `the node answered ${answer.status} without JSON`);
    }
    if (!answer.ok || (typeof json === "object" && json !== null && "error" in json)) {
      const error = (json as { error?: unknown }).error;
      throw error ? toFailure(error) : new ApiFailure("unavailable", `HTTP ${answer.status}`);
    }
    return json as T;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.connection.emit(state);
  }

  private ensureConnecting(): void {
    if (this.closedForGood || this.socket || this.timer !== null) return;
    this.connect();
  }

  private connect(): void {
    this.timer = null;
    const base = this.opts.base.replace(/^http/, "ws");
    const url = `${base}/api/ws?token=${encodeURIComponent(this.opts.token)}`;
    this.setState("connecting");
    let socket: SocketLike;
    try {
      socket = this.opts.socket(url);
    } catch (e) {
      this.lost(`cannot open the connection to the node: ${toFailure(e).message}`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.delay = this.opts.minDelay;
      this.setState("open");
      const queued = this.queue;
      this.queue = [];
      for (const { frame, pending } of queued) this.transmit(frame, pending);
      if (this.everOpened) this.events.emit({ type: "lagged", missed: 0 });
      this.everOpened = true;
    };
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(ev.data);
    };
    socket.onerror = () => {
      // A close follows; that is where pending calls fail and the reconnect starts.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.lost("lost the connection to the node before it answered; try again");
    };
  }

  private transmit(frame: string, pending: Pending): void {
    this.inFlight.push(pending);
    try {
      this.socket?.send(frame);
    } catch (e) {
      this.inFlight.pop();
      pending.reject(new ApiFailure("unavailable", `could not send: ${toFailure(e).message}`));
    }
  }

  private lost(message: string): void {
    this.failAll(message);
    this.setState("closed");
    if (this.closedForGood) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.maxDelay);
    this.timer = this.opts.setTimer(() => this.connect(), wait);
  }

  private failAll(message: string): void {
    const failed = [...this.inFlight, ...this.queue.map((q) => q.pending)];
    this.inFlight = [];
    this.queue = [];
    for (const pending of failed) pending.reject(new ApiFailure("unavailable", message));
  }

  private receive(data: unknown): void {
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      console.error("the node sent a frame that is not JSON");
      return;
    }
    if (typeof frame !== "object" || frame === null) return;
    const f = frame as { id?: unknown; response?: unknown; error?: unknown; event?: unknown };
    if ("event" in f) {
      this.events.emit(f.event as Event);
      return;
    }
    if (!("response" in f) && !("error" in f)) return;
    // Answers come in request order: an answer without an id (a frame the node could
    // not read) belongs to the oldest request still waiting.
    let index = 0;
    if (typeof f.id === "number") {
      index = this.inFlight.findIndex((p) => p.id === f.id);
      if (index < 0) {
        console.error(`the node answered request ${f.id}, which is not waiting`);
        return;
      }
    } else if (this.inFlight.length === 0) {
      console.error("the node reported an error for no request", f.error);
      return;
    }
    const [pending] = this.inFlight.splice(index, 1);
    if (!pending) return;
    if ("error" in f) pending.reject(toFailure(f.error));
    else pending.resolve(f.response as Response);
  }
}
