// The running app's shared state: the adapter, the profile, the groups and what each
// group holds, which view is on screen, unread counts and the error notices.
import { ApiFailure, expect, toFailure, type Adapter } from "../api/adapter";
import type {
  ChannelInfo,
  DocInfo,
  Event,
  GroupSummary,
  PresenceView,
  ProfileView,
  Request,
  Response,
} from "../api/types";
import { UnreadTracker } from "./unread";

let current: Adapter | null = null;

export function setAdapter(adapter: Adapter): void {
  current = adapter;
}

export function api(): Adapter {
  if (!current) throw new Error("no adapter yet");
  return current;
}

/** Calls the node and narrows the answer to the expected variant's data. */
export async function ask<K extends Response["type"]>(
  request: Request,
  type: K,
): Promise<Extract<Response, { type: K }>> {
  return expect(await api().call(request), type);
}

export type View =
  | { kind: "chat"; channel: string }
  | { kind: "pad"; pad: string }
  | { kind: "board"; board: string }
  | { kind: "members" }
  | { kind: "status" }
  | { kind: "start" };

export interface GroupContents {
  channels: ChannelInfo[];
  pads: DocInfo[];
  boards: DocInfo[];
}

export interface Notice {
  id: number;
  message: string;
}

class Session {
  profile = $state<ProfileView | null>(null);
  groups = $state<GroupSummary[]>([]);
  contents = $state<Record<string, GroupContents>>({});
  loaded = $state(false);
  group = $state<string | null>(null);
  view = $state<View>({ kind: "start" });
  unread = $state<Record<string, number>>({});
  notices = $state<Notice[]>([]);
  connection = $state<"connecting" | "open" | "closed">("connecting");
  /** Per group, per member: what they are doing (typing, pad cursor), with when heard. */
  presence = $state<Record<string, Record<string, PresenceView & { heard: number }>>>({});
  /** Bumped on `lagged` (and reconnects): views reload what they show. */
  generation = $state(0);

  private tracker: UnreadTracker;
  private nextNotice = 1;
  private started = false;

  constructor() {
    let storage: Storage | null = null;
    try {
      storage = globalThis.localStorage ?? null;
    } catch {
      storage = null;
    }
    this.tracker = new UnreadTracker(storage, { time: Date.now(), counter: 0 });
  }

  get currentGroup(): GroupSummary | null {
    return this.groups.find((g) => g.id === this.group) ?? null;
  }

  notify(error: unknown): void {
    const failure = toFailure(error);
    // The app shows the unlock form for these (see App.svelte); no notice on top.
    if (failure.kind === "locked" || failure.kind === "no_profile") return;
    console.error(failure);
    this.notices.push({ id: this.nextNotice++, message: failure.message });
    if (this.notices.length > 5) this.notices.shift();
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  /** Subscribes once and loads everything; later calls (after an unlock) reload. */
  async start(): Promise<void> {
    if (this.started) {
      await this.reloadAll().catch((e: unknown) => this.notify(e));
      return;
    }
    this.started = true;
    api().onConnection((state) => (this.connection = state));
    api().onEvent((event) => this.onEvent(event));
    try {
      this.profile = (await ask({ type: "profile" }, "profile")).data;
      await this.reloadAll();
    } catch (e) {
      this.notify(e);
    }
  }

  async reloadAll(): Promise<void> {
    const groups = (await ask({ type: "group_list" }, "groups")).data;
    this.groups = groups;
    await Promise.all(groups.map((g) => this.reloadGroup(g.id)));
    this.loaded = true;
    if (this.group && !groups.some((g) => g.id === this.group)) {
      this.group = null;
      this.view = { kind: "start" };
    }
    if (!this.group && groups[0]) this.openGroup(groups[0].id);
  }

  async reloadGroup(group: string): Promise<void> {
    const [channels, pads, boards] = await Promise.all([
      ask({ type: "channel_list", group }, "channels"),
      ask({ type: "pad_list", group }, "docs"),
      ask({ type: "board_list", group }, "docs"),
    ]);
    this.contents[group] = { channels: channels.data, pads: pads.data, boards: boards.data };
  }

  openGroup(group: string): void {
    this.group = group;
    const general = this.contents[group]?.channels[0];
    this.view = general ? { kind: "chat", channel: general.id } : { kind: "members" };
  }

  open(group: string, view: View): void {
    this.group = group;
    this.view = view;
    if (view.kind === "chat") this.unread[unreadKey(group, view.channel)] = 0;
  }

  readMark(group: string, channel: string) {
    return this.tracker.mark(group, channel);
  }

  markRead(group: string, channel: string, last: { id: string; hlc: { time: number; counter: number } } | null): void {
    this.tracker.markRead(group, channel, last);
    this.unread[unreadKey(group, channel)] = 0;
  }

  unreadCount(group: string, channel: string): number {
    return this.unread[unreadKey(group, channel)] ?? 0;
  }

  private onEvent(event: Event): void {
    switch (event.type) {
      case "group_changed":
        void this.refreshGroups(event.group);
        break;
      case "message": {
        const group = this.groups.find((g) => g.id === event.group);
        const mine = group ? group.me === event.message.author : false;
        const onScreen =
          this.group === event.group &&
          this.view.kind === "chat" &&
          this.view.channel === event.channel &&
          !document.hidden;
        if (this.tracker.onMessage(event.group, event.channel, event.message, mine, onScreen)) {
          this.unread[unreadKey(event.group, event.channel)] = this.tracker.count(event.group, event.channel);
        }
        break;
      }
      case "presence": {
        const { type: _type, ...view } = event;
        this.setPresence(view);
        break;
      }
      case "lagged":
        this.generation++;
        this.reloadAll().catch((e: unknown) => this.notify(e));
        break;
      default:
        break;
    }
  }

  private setPresence(view: PresenceView): void {
    // Through the state proxy (not a fresh object), so views see the change.
    if (!this.presence[view.group]) this.presence[view.group] = {};
    const byMember = this.presence[view.group];
    if (byMember) byMember[view.member] = { ...view, heard: Date.now() };
  }

  /** Asks who is online in the group now (needs the network; quietly nothing without). */
  async loadPresence(group: string): Promise<void> {
    try {
      const list = (await ask({ type: "presence_list", group }, "presence")).data;
      this.presence[group] = {};
      for (const view of list) this.setPresence(view);
    } catch (e) {
      if (!(e instanceof ApiFailure && e.kind === "network")) this.notify(e);
    }
  }

  /** Tells the group what this device does now; failures (no network) are not shown. */
  sendPresence(group: string, typing_in: string | null, cursor: { pad: string; position: number } | null): void {
    api()
      .call({ type: "presence", group, typing_in, cursor })
      .catch((e: unknown) => console.debug("presence not sent", e));
  }

  /** Reloads the group list and one group's contents (after a change there). */
  async refreshGroups(changed: string): Promise<void> {
    try {
      this.groups = (await ask({ type: "group_list" }, "groups")).data;
      if (this.groups.some((g) => g.id === changed)) await this.reloadGroup(changed);
      if (!this.group && this.groups[0]) this.openGroup(this.groups[0].id);
    } catch (e) {
      if (!(e instanceof ApiFailure && e.kind === "not_found")) this.notify(e);
    }
  }
}

export function unreadKey(group: string, channel: string): string {
  return `${group}/${channel}`;
}

export const session = new Session();
