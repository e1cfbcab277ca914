// The Tauri shells' adapter: the shell runs the node in-process and forwards the same
// API as commands; events arrive on a Channel. Errors arrive as {kind, message}.
import { Channel, invoke } from "@tauri-apps/api/core";
import { Listeners, toFailure, type Adapter, type ConnectionState, type InitRequest } from "./adapter";
import type { Event, Health, Request, Response } from "./types";

async function run<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toFailure(e);
  }
}

export class TauriAdapter implements Adapter {
  private readonly events = new Listeners<Event>();
  private subscribed = false;
  // Tauri runs commands concurrently; the shell applies this page's calls in the
  // order of these numbers (the pad editor relies on it).
  private readonly session = crypto.randomUUID();
  private seq = 0;

  health(): Promise<Health> {
    return run<Health>("plenum_health");
  }

  init(body: InitRequest): Promise<Response> {
    return run<Response>("plenum_init", { body });
  }

  unlock(passphrase: string): Promise<Health> {
    return run<Health>("plenum_unlock", { passphrase });
  }

  call(request: Request): Promise<Response> {
    return run<Response>("plenum_call", { session: this.session, seq: this.seq++, request });
  }

  onEvent(handler: (event: Event) => void): () => void {
    const off = this.events.add(handler);
    if (!this.subscribed) {
      this.subscribed = true;
      const channel = new Channel<Event>();
      channel.onmessage = (event) => this.events.emit(event);
      run<void>("plenum_events", { channel }).catch((e: unknown) => {
        this.subscribed = false;
        console.error("cannot subscribe to the node's events", e);
      });
    }
    return off;
  }

  onConnection(handler: (state: ConnectionState) => void): () => void {
    // The node runs in the shell's own process: there is no connection to lose.
    handler("open");
    return () => {};
  }
}
