// End to end: the real desktop app (plenum-desktop) in its real window, driven through
// tauri-driver and WebKitWebDriver, against a headless `plenum up` node on loopback.
// Ana uses the app; Bo uses the command line. Chat goes both ways, and a second launch
// with a plenum://join/… link hands the link to the running app, which joins; a new
// message raises a desktop notification while the app is not in front, also when the
// app shows a `plenum up` node's UI instead of running its own.
//
// Run under a display and a session bus, as scripts/test does:
//   xvfb-run -a dbus-run-session -- node desktop/e2e/run.mjs
// PLENUM_DESKTOP: the app (default $CARGO_TARGET_DIR/debug/plenum-desktop);
// PLENUM_BIN: plenum (as in ui/e2e). Nodes never use mDNS here: PLENUM_NO_MDNS.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PLENUM, ROOT, SCREENSHOTS, WAIT_MS, eventually, startNode } from "../../ui/e2e/harness.mjs";

const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
const APP = process.env.PLENUM_DESKTOP ?? join(TARGET, "debug", "plenum-desktop");
const PASSPHRASE = "correct horse battery staple";

/** A free port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end (bounded), resolving with its output. */
function run(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), WAIT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${err.trim()}`));
    });
  });
}

/** Whether an X window has exactly this title (the title bar, not the page's). */
async function windowTitled(title) {
  const pattern = `^${title.replace(/[()]/g, "\\$&")}$`;
  return run("xdotool", ["search", "--name", pattern]).then(
    (ids) => ids.trim() !== "",
    () => false,
  );
}

/** An element reference's id (WebKitWebDriver names the key differently from W3C's). */
function elementId(reference) {
  if (!reference || typeof reference !== "object") return null;
  const key = Object.keys(reference).find((k) => k.startsWith("element-6066-11e4-"));
  return key ? reference[key] : null;
}

/** Just enough of the WebDriver protocol, over fetch. */
class Driver {
  constructor(base) {
    this.base = base;
    this.session = null;
  }

  async send(method, path, body) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(WAIT_MS * 2),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(answer.value ?? answer)}`);
    return answer.value;
  }

  async start(application, env) {
    const value = await this.send("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application, env } } },
    });
    this.session = value.sessionId;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  /** Runs `script` (a function body) in the page; elements come back as references. */
  execute(script, ...args) {
    return this.send("POST", this.s("/execute/sync"), { script, args });
  }

  /**
   * The element the page's `find(kind, name)` helper finds, waiting for it: buttons
   * by accessible name, fields by label, lists and images by aria-label.
   */
  async find(kind, name, timeoutMs = WAIT_MS) {
    return eventually(
      `${kind} "${name}"`,
      async () => {
        const element = await this.execute(FIND, kind, name);
        return elementId(element);
      },
      timeoutMs,
    ).catch(async (e) => {
      const page = await this.execute("return location.href + ': ' + document.body.innerText").catch((f) => f.message);
      throw new Error(`${e.message}\n  the window shows ${JSON.stringify(page)}`);
    });
  }

  click(element) {
    return this.send("POST", this.s(`/element/${element}/click`), {});
  }

  type(element, text) {
    return this.send("POST", this.s(`/element/${element}/value`), { text });
  }

  value(element) {
    return this.send("GET", this.s(`/element/${element}/property/value`));
  }

  text(element) {
    return this.send("GET", this.s(`/element/${element}/text`));
  }

  async screenshot(name) {
    const png = await this.send("GET", this.s("/screenshot"));
    await mkdir(SCREENSHOTS, { recursive: true });
    await writeFile(join(SCREENSHOTS, `${name}.png`), Buffer.from(png, "base64"));
  }

  async stop() {
    if (this.session) await this.send("DELETE", this.s("")).catch(() => {});
    this.session = null;
  }
}

// Runs in the page: the first visible element of a kind with that accessible name.
const FIND = `
  const [kind, name] = arguments;
  const visible = (e) => e.getClientRects().length > 0;
  const label = (e) => (e.getAttribute("aria-label") ?? e.textContent ?? "").trim();
  let found = [];
  if (kind === "button") found = [...document.querySelectorAll("button")].filter((b) => label(b) === name);
  if (kind === "field") {
    found = [...document.querySelectorAll("label")]
      .filter((l) => l.textContent.trim().startsWith(name))
      .map((l) => (l.htmlFor ? document.getElementById(l.htmlFor) : l.querySelector("input, textarea")))
      .filter(Boolean);
  }
  if (kind === "labelled") found = [...document.querySelectorAll("[aria-label]")].filter((e) => e.getAttribute("aria-label") === name);
  if (kind === "text") found = [...document.querySelectorAll("li, p, h1, span")].filter((e) => e.textContent.includes(name));
  return found.find(visible) ?? null;
`;

describe("the desktop app", { timeout: 10 * 60_000 }, () => {
  let bo;
  let driver;
  let tauriDriver;
  let ana;
  let appEnv;
  let keys;
  let daemon;
  let monitor;
  let notifications = "";
  let other;

  before(async () => {
    // A notification daemon on this session bus, and a listener for what the app
    // asks it to show.
    daemon = spawn("/usr/lib/notification-daemon/notification-daemon", [], { stdio: "ignore" });
    monitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    monitor.stdout.on("data", (chunk) => {
      notifications = (notifications + chunk).slice(-100_000);
    });
    bo = await startNode("desktop-bo");
    keys = await mkdtemp(join(tmpdir(), "plenum-e2e-keys-"));
    await run(PLENUM, ["--data", bo.data, "init", "--name", "Bo", "--no-passphrase", "--key-file", join(keys, "bo.key")]);
    ana = await mkdtemp(join(tmpdir(), "plenum-e2e-desktop-ana-"));
    appEnv = {
      PLENUM_DATA: ana,
      PLENUM_NO_MDNS: "1",
      PLENUM_LISTEN: "/ip4/127.0.0.1/tcp/0",
    };
    const [port, nativePort] = [await freePort(), await freePort()];
    tauriDriver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env: { ...process.env, ...appEnv },
      stdio: ["ignore", "inherit", "inherit"],
    });
    driver = new Driver(`http://127.0.0.1:${port}`);
    await eventually("tauri-driver listening", async () => {
      await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(1000) });
      return true;
    });
    await driver.start(APP, appEnv);
  });

  after(async () => {
    await driver?.stop();
    tauriDriver?.kill("SIGTERM");
    monitor?.kill("SIGTERM");
    other?.kill("SIGTERM");
    daemon?.kill("SIGTERM");
    await bo?.stop();
    for (const dir of [ana, keys]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("first run and a group in the app; Bo joins from the command line; chat both ways", async () => {
    await driver.type(await driver.find("field", "Your name"), "Ana");
    await driver.type(await driver.find("field", "Passphrase"), PASSPHRASE);
    await driver.type(await driver.find("field", "Repeat the passphrase"), PASSPHRASE);
    await driver.click(await driver.find("button", "Create profile"));
    // Key derivation, calibrated to a second on an idle machine, comes first.
    await driver.click(await driver.find("button", "New group", 120_000));
    await driver.type(await driver.find("field", "Group name"), "Tenants union");
    await driver.click(await driver.find("button", "Create"));
    await driver.click(await driver.find("button", "Invite"));
    await driver.click(await driver.find("button", "Create invite"));
    const linkField = await driver.find("field", "Invite link");
    const link = await eventually("the invite link", async () => {
      const value = await driver.value(linkField);
      return value.startsWith("plenum://join/") ? value : null;
    });
    await driver.click(await driver.find("button", "Close"));

    await run(PLENUM, ["--data", bo.data, "join", link]);
    await run(PLENUM, ["--data", bo.data, "chat", "send", "Tenants union", "Flyers are printed"]);
    await driver.find("text", "Flyers are printed");

    await driver.type(await driver.find("field", "Message"), "Meeting Thursday 7pm");
    await driver.click(await driver.find("button", "Send"));
    await eventually("Ana's message at Bo's node", async () => {
      const log = JSON.parse(await run(PLENUM, ["--data", bo.data, "--json", "chat", "log", "Tenants union"]));
      return log.some((m) => m.text === "Meeting Thursday 7pm" && m.author_name === "Ana");
    });
    await driver.screenshot("desktop-app-chat");
  });

  test("a new message from Bo raises a notification that says who, not what", async () => {
    // Another window takes the focus: the app is no longer in front.
    other = spawn("xmessage", ["-geometry", "120x40+600+600", "elsewhere"], { stdio: "ignore" });
    await run("xdotool", ["search", "--sync", "--class", "Xmessage", "windowfocus", "--sync"]);
    await run(PLENUM, ["--data", bo.data, "chat", "send", "Tenants union", "Rent strike on Friday"]);
    await driver.find("text", "Rent strike on Friday");
    await eventually("a notification for Bo's message", () =>
      notifications.includes('string "New message from Bo"') && notifications.includes('string "Tenants union"'),
    ).catch((e) => {
      throw new Error(`${e.message}; the bus saw: ${JSON.stringify(notifications.slice(-2000))}`);
    });
    assert.ok(!notifications.includes("Rent strike"), "the notification does not carry the text");
    // A message in a channel not on screen counts as unread, in the title bar.
    await run(PLENUM, ["--data", bo.data, "channel", "create", "Tenants union", "logistics"]);
    await run(PLENUM, ["--data", bo.data, "chat", "send", "--channel", "logistics", "Tenants union", "Van at 9"]);
    await eventually('the title bar saying "(1) Plenum"', () => windowTitled("(1) Plenum"));
  });

  test("a second launch with a join link hands it to the running app, which joins", async () => {
    await run(PLENUM, ["--data", bo.data, "group", "create", "Food coop"]);
    const invite = JSON.parse(await run(PLENUM, ["--data", bo.data, "--json", "invite", "create", "Food coop"]));
    const link = invite.link;
    assert.ok(link.startsWith("plenum://join/"), JSON.stringify(invite));
    // The second instance gives its arguments to the first and exits.
    await run(APP, [link], { ...process.env, ...appEnv });
    const field = await driver.find("field", "Invite link");
    await eventually("the link in the app's join form", async () => (await driver.value(field)) === link);
    // The camera scanner is the phone app's: the desktop's join form does not offer it.
    assert.equal(await driver.execute(FIND, "button", "Scan QR code"), null);
    await driver.screenshot("desktop-app-join-link");
    await driver.click(await driver.find("button", "Join"));
    await driver.find("button", "Food coop");
    await eventually("Ana a member of the Food coop at Bo's node", async () => {
      const members = JSON.parse(await run(PLENUM, ["--data", bo.data, "--json", "member", "list", "Food coop"]));
      return members.some((m) => m.name === "Ana");
    });
  });
  test("with a node already running for the data directory, the app shows that node", async () => {
    // The driver kills the app it started (node.json stays behind, stale, as after a
    // crash). Started by hand and stopped by SIGTERM, the app closes its node and
    // removes node.json.
    await driver.stop();
    const exists = (path) => access(path).then(() => true, () => false);
    const app = spawn(APP, [], { env: { ...process.env, ...appEnv }, stdio: "ignore" });
    await eventually("the app's node.json for its new pid", async () => {
      const file = join(ana, "node.json");
      if (!(await exists(file))) return false;
      return JSON.parse(await readFile(file, "utf8")).pid === app.pid;
    });
    const exited = new Promise((r) => app.once("exit", r));
    app.kill("SIGTERM");
    await exited;
    assert.equal(await exists(join(ana, "node.json")), false, "node.json removed on SIGTERM");
    // Then plenum up takes the data directory, and the app attaches to it.
    const up = spawn(
      PLENUM,
      ["--data", ana, "up", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--ui", "127.0.0.1:0"],
      { env: { ...process.env, PLENUM_PASSPHRASE: PASSPHRASE }, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error("plenum up printed no ui: line")), WAIT_MS);
        up.stdout.on("data", (chunk) => {
          out += chunk;
          if (out.includes("\nui: ")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await driver.start(APP, appEnv);
      await driver.click(await driver.find("button", "Tenants union"));
      const href = await driver.execute("return location.href");
      assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\//, "the window shows the running node's UI");
      await driver.screenshot("desktop-app-attached");
      // Attached, the app still notifies: from the running node's events.
      const raised = () => notifications.split('string "New message from Bo"').length - 1;
      const before = raised();
      await run("xdotool", ["search", "--sync", "--class", "Xmessage", "windowfocus", "--sync"]);
      await run(PLENUM, ["--data", bo.data, "chat", "send", "Tenants union", "Banner paint at noon"]);
      await driver.find("text", "Banner paint at noon");
      await eventually("a notification from the attached app", () => raised() > before).catch((e) => {
        throw new Error(`${e.message}; the bus saw: ${JSON.stringify(notifications.slice(-2000))}`);
      });
      assert.ok(!notifications.includes("Banner paint"), "the notification does not carry the text");
      await run(PLENUM, ["--data", bo.data, "chat", "send", "--channel", "logistics", "Tenants union", "Van at 10"]);
      await eventually('the attached title bar saying "(1) Plenum"', () => windowTitled("(1) Plenum"));
    } finally {
      await driver.stop();
      const exited = new Promise((r) => up.once("exit", r));
      up.kill("SIGTERM");
      await exited;
    }
  });
});
