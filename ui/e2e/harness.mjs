// The end-to-end harness: real `plenum up` nodes on loopback (no LAN discovery) and
// Debian's Chromium driven by playwright-core. Everything it starts it stops, and
// every wait is bounded.
import { spawn } from "node:child_process";
import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
export const ROOT = resolve(here, "../..");
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
export const PLENUM = process.env.PLENUM_BIN ?? join(TARGET, "debug", "plenum");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(ROOT, "target", "screenshots");

/** How long any one thing may take before the test fails. */
export const WAIT_MS = 30_000;

/**
 * Starts `plenum up` on a fresh, empty data directory: the UI's first run starts
 * there. Resolves once it printed its `ui:` link.
 */
export async function startNode(name) {
  const data = await mkdtemp(join(tmpdir(), `plenum-e2e-${name}-`));
  const child = spawn(
    PLENUM,
    ["--data", data, "up", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--ui", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const url = await new Promise((resolvePromise, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`${name}: plenum up printed no ui: line in ${WAIT_MS} ms; stderr: ${stderr}`)),
      WAIT_MS,
    );
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n").find((l) => l.startsWith("ui: "));
      if (line) {
        clearTimeout(timer);
        resolvePromise(line.slice("ui: ".length).trim());
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: plenum up exited with ${code}; stderr: ${stderr}`));
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${name}: cannot start ${PLENUM} (build it with cargo build -p plenum): ${e.message}`));
    });
  });
  return {
    name,
    url,
    data,
    stderr: () => stderr,
    /** Runs a plenum command against this node (it attaches to the running one). */
    cli(args) {
      return new Promise((resolvePromise) => {
        const run = spawn(PLENUM, ["--data", data, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        run.stdout.on("data", (c) => (out += c));
        run.stderr.on("data", (c) => (out += c));
        const timer = setTimeout(() => run.kill("SIGKILL"), WAIT_MS);
        run.on("close", (code) => {
          clearTimeout(timer);
          resolvePromise(`${JSON.stringify(out)} (exit ${code})`);
        });
      });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(data, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium as this machine allows it (see the machine notes in the README). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

/** Saves a screenshot as target/screenshots/<size>-<view>.png. */
export async function screenshot(page, size, view) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${size}-${view}.png`), fullPage: false });
}

/** Polls `check` until it returns a truthy value, or fails with `what`. */
export async function eventually(what, check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fails when the page scrolls sideways (the layout must fit phone and desktop). */
export async function assertNoHorizontalScroll(page, where) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`${where}: the page scrolls sideways by ${overflow}px`);
}
