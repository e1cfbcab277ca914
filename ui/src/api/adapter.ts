// The one interface every view talks to. Which implementation is behind it (the
// browser's HTTP + WebSocket, or the Tauri shell's commands) is chosen once at start-up
// in ./index.ts; components never know.
import type { Event, Health, Request, Response } from "./types";

export type ConnectionState = "connecting" | "open" | "closed";

export type InitRequest =
  | { name: string; passphrase: string }
  | { name: string; no_passphrase: true }
  | { name: string; keyring: true };

export interface Adapter {
  health(): Promise<Health>;
  init(body: InitRequest): Promise<Response>;
  unlock(passphrase: string): Promise<Health>;
  /** Applies a request; calls are sent (and applied) in the order they are made. */
  call(request: Request): Promise<Response>;
  onEvent(handler: (event: Event) => void): () => void;
  onConnection(handler: (state: ConnectionState) => void): () => void;
}

/** A request the node (or the way to it) refused: `kind` is one of the documented kinds. */
export class ApiFailure extends Error {
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.name = "ApiFailure";
    this.kind = kind;
  }
}

/** `{kind, message}` as sent by the node, or anything else thrown, as an ApiFailure. */
export function toFailure(value: unknown): ApiFailure {
  if (value instanceof ApiFailure) return value;
  if (typeof value === "object" && value !== null) {
    const v = value as { kind?: unknown; message?: unknown };
    if (typeof v.kind === "string" && typeof v.message === "string") {
      return new ApiFailure(v.kind, v.message);
    }
    if (value instanceof Error) return new ApiFailure("unavailable", value.message);
  }
  return new ApiFailure("unavailable", String(value));
}

/** A small typed event emitter for adapters. */
export class Listeners<T> {
  private handlers = new Set<(value: T) => void>();

  add(handler: (value: T) => void): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  get size(): number {
    return this.handlers.size;
  }

  emit(value: T): void {
    for (const handler of [...this.handlers]) {
      try {
        handler(value);
      } catch (e) {
        console.error("event handler failed", e);
      }
    }
  }
}

/** Narrows a response to the expected variant, or throws a clear error. */
export function expect<K extends Response["type"]>(
  response: Response,
  type: K,
): Extract<Response, { type: K }> {
  if (response.type !== type) {
    throw new ApiFailure("bad_response", `expected a ${type} answer, got ${response.type}`);
  }
  return response as Extract<Response, { type: K }>;
}
