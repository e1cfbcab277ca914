// End to end: two real `plenum up` nodes on loopback, each in its own browser
// context, at desktop size and at phone size. What a group does on its first day:
// Ana sets up Plenum, founds a group and invites Bo; Bo joins with the link; they
// chat, write one pad at the same time, move a card; Ana removes Bo and Bo loses
// access. Screenshots of each view go to target/screenshots/.
//
// Run: `npm --prefix ui run e2e` (PLENUM_BIN: the plenum binary, default
// $CARGO_TARGET_DIR/debug/plenum; CHROMIUM: default /usr/bin/chromium).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  VIEWPORTS,
  WAIT_MS,
  assertNoHorizontalScroll,
  eventually,
  launchBrowser,
  screenshot,
  startNode,
} from "./harness.mjs";

const GROUP = "Tenants union";
const PASSPHRASE = "correct horse battery staple";
/** How long creating a profile may take (key derivation; see firstRun). */
const KDF_WAIT_MS = 120_000;

/** On a narrow screen the sidebar is behind the "Menu" button: open it. */
async function openNav(page) {
  const menu = page.getByRole("button", { name: "Menu", exact: true });
  if ((await menu.isVisible()) && (await menu.getAttribute("aria-expanded")) !== "true") {
    await menu.click();
  }
}

/**
 * Opens the group in the sidebar (if it is not open) and then one of its items, or
 * one of its "+ New …" buttons.
 */
async function openItem(page, name) {
  await openNav(page);
  const group = page.getByRole("button", { name: GROUP });
  if ((await group.getAttribute("aria-expanded")) !== "true") await group.click();
  // Channels may carry an unread count after their name; "+ New pad" a sign before.
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = name.startsWith("New ") ? new RegExp(`${escaped}$`) : new RegExp(`^${escaped}`);
  await page.getByRole("navigation").getByRole("button", { name: pattern }).first().click();
}

async function firstRun(page, name) {
  await page.getByRole("textbox", { name: "Your name" }).fill(name);
  await page.getByLabel("Passphrase", { exact: true }).fill(PASSPHRASE);
  await page.getByLabel("Repeat the passphrase").fill(PASSPHRASE);
  await page.getByRole("button", { name: "Create profile" }).click();
  // Creating a profile derives its key with Argon2 calibrated to take a second on an
  // idle machine (the calibration runs several probes first); a loaded one takes longer.
  await page
    .getByRole("button", { name: "New group" })
    .first()
    .waitFor({ timeout: KDF_WAIT_MS })
    .catch(async (e) => {
      throw new Error(`${e.message}\n  the page shows: ${JSON.stringify(await page.locator("body").innerText())}`);
    });
}

async function sendMessage(page, text) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

function messages(page) {
  return page.getByRole("list", { name: "Messages" });
}

/** The pad's text as its editor shows it. */
async function padText(page) {
  return page
    .getByRole("textbox", { name: "Pad", exact: true })
    .evaluate((el) => Array.from(el.querySelectorAll(".cm-line"), (l) => l.textContent).join("\n"));
}

for (const [size, options] of Object.entries(VIEWPORTS)) {
  describe(`a group's first day (${size})`, { timeout: 10 * 60_000 }, () => {
    let browser;
    let nodes = [];
    let ana;
    let bo;
    let inviteLink = "";

    before(async () => {
      nodes = await Promise.all([startNode(`${size}-ana`), startNode(`${size}-bo`)]);
      browser = await launchBrowser();
      ana = await (await browser.newContext(options)).newPage();
      bo = await (await browser.newContext(options)).newPage();
      await ana.goto(nodes[0].url);
      await bo.goto(nodes[1].url);
    });

    after(async () => {
      await browser?.close();
      await Promise.all(nodes.map((node) => node.stop()));
    });

    test("first run, a new group and an invite", async () => {
      await ana.getByRole("heading", { name: "Welcome to Plenum" }).waitFor({ timeout: WAIT_MS });
      assert.equal(new URL(ana.url()).hash, "", "the token leaves the address bar");
      await screenshot(ana, size, "first-run");
      await firstRun(ana, "Ana");
      await ana.getByRole("button", { name: "New group" }).first().click();
      await ana.getByRole("textbox", { name: "Group name" }).fill(GROUP);
      await ana.getByRole("button", { name: "Create", exact: true }).click();
      await ana.getByRole("textbox", { name: "Message" }).waitFor({ timeout: WAIT_MS });
      await assertNoHorizontalScroll(ana, "chat");

      await ana.getByRole("button", { name: "Invite", exact: true }).click();
      await ana.getByRole("button", { name: "Create invite" }).click();
      const link = ana.getByRole("textbox", { name: "Invite link" });
      await eventually("the invite link", async () => (await link.inputValue()).startsWith("plenum://join/"));
      assert.equal(await link.getAttribute("readonly"), "", "the link is read-only");
      await ana.getByRole("img", { name: "Invite QR code" }).waitFor();
      await screenshot(ana, size, "invite");
      inviteLink = await link.inputValue();
      await ana.keyboard.press("Escape");
    });

    test("Bo joins with the link", async () => {
      await firstRun(bo, "Bo");
      await screenshot(bo, size, "start");
      await bo.getByRole("button", { name: "Join with link" }).first().click();
      await bo.getByRole("textbox", { name: "Invite link" }).fill(inviteLink);
      await bo.getByRole("button", { name: "Join", exact: true }).click();
      await bo.getByRole("textbox", { name: "Message" }).waitFor({ timeout: 60_000 });
    });

    test("chat both ways", async () => {
      await sendMessage(ana, "Meeting Thursday 7pm, room 4");
      await messages(bo).getByText("Meeting Thursday 7pm, room 4").waitFor({ timeout: WAIT_MS });
      await sendMessage(bo, "I'll bring the flyers");
      await messages(ana).getByText("I'll bring the flyers").waitFor({ timeout: WAIT_MS });
      await eventually("Ana's message saved", () =>
        messages(ana).getByText("saved").first().isVisible(),
      );
      await screenshot(ana, size, "chat");
      await assertNoHorizontalScroll(bo, "chat");
    });

    test("one pad, typed in from both sides at once", async () => {
      await openItem(ana, "New pad");
      await ana.getByRole("textbox", { name: "Pad name" }).fill("Minutes");
      await ana.getByRole("button", { name: "Create pad" }).click();
      const anaPad = ana.getByRole("textbox", { name: "Pad", exact: true });
      await anaPad.waitFor({ timeout: WAIT_MS });
      await anaPad.click();
      await ana.keyboard.type("# Minutes\n");
      await eventually("the pad reaches Bo", async () => {
        await openItem(bo, "Minutes");
        return true;
      });
      const boPad = bo.getByRole("textbox", { name: "Pad", exact: true });
      await boPad.waitFor({ timeout: WAIT_MS });
      await eventually("Bo sees the heading", async () => (await padText(bo)).includes("# Minutes")).catch(
        async (e) => {
          const [a, b] = await Promise.all([padText(ana), padText(bo)]);
          const [na, nb] = await Promise.all(nodes.map((n) => n.cli(["pad", "cat", GROUP, "Minutes"])));
          throw new Error(`${e.message}\n  Ana's editor: ${JSON.stringify(a)}, node: ${na}\n  Bo's editor: ${JSON.stringify(b)}, node: ${nb}`);
        },
      );

      // Each types a line of their own at the same time, at the end of the text.
      await anaPad.click();
      await ana.keyboard.press("Control+End");
      await boPad.click();
      await bo.keyboard.press("Control+End");
      const anaLine = "Ana: rent strike vote on Friday.";
      const boLine = "Bo: flyers are at the print shop.";
      await Promise.all([
        ana.keyboard.type(anaLine, { delay: 15 }),
        bo.keyboard.type(boLine, { delay: 15 }),
      ]);
      const final = await eventually("both pads agree", async () => {
        const [a, b] = [await padText(ana), await padText(bo)];
        return a === b && a.includes(anaLine) && a.includes(boLine) ? a : null;
      });
      assert.ok(final.startsWith("# Minutes"), final);
      await screenshot(ana, size, "pad");
      await assertNoHorizontalScroll(bo, "pad");
    });

    test("a card moved on Ana's board moves on Bo's", async () => {
      await openItem(ana, "New board");
      await ana.getByRole("textbox", { name: "Board name" }).fill("Actions");
      await ana.getByRole("button", { name: "Create board" }).click();
      for (const title of ["To do", "Done"]) {
        await ana.getByRole("button", { name: "+ Add column" }).click();
        await ana.getByRole("textbox", { name: "Column title" }).fill(title);
        await ana.getByRole("button", { name: "Add column", exact: true }).click();
        await ana.getByRole("region", { name: title }).waitFor({ timeout: WAIT_MS });
      }
      const todo = ana.getByRole("region", { name: "To do" });
      await todo.getByRole("button", { name: "Add card" }).click();
      await todo.getByRole("textbox", { name: "Card title" }).fill("Print flyers");
      await todo.getByRole("button", { name: "Add", exact: true }).click();
      const card = (page, column) =>
        page.getByRole("region", { name: column }).getByRole("listitem").filter({ hasText: "Print flyers" });
      await card(ana, "To do").waitFor({ timeout: WAIT_MS });

      await eventually("the board reaches Bo", async () => {
        await openItem(bo, "Actions");
        return true;
      });
      await card(bo, "To do").waitFor({ timeout: WAIT_MS });

      if (size === "desktop") {
        await card(ana, "To do").dragTo(ana.getByRole("region", { name: "Done" }));
      } else {
        await card(ana, "To do").getByRole("button", { name: "Move right" }).click();
      }
      await card(ana, "Done").waitFor({ timeout: WAIT_MS });
      await card(bo, "Done").waitFor({ timeout: WAIT_MS });
      assert.equal(await card(bo, "To do").count(), 0, "the card left To do on Bo's board");

      // A rename on Ana's side shows on Bo's: the board's heading follows it.
      await ana.getByRole("button", { name: "Rename board" }).click();
      await ana.getByRole("textbox", { name: "New name" }).fill("Actions this week");
      await ana.getByRole("button", { name: "Save", exact: true }).click();
      await bo.getByRole("heading", { name: "Actions this week" }).waitFor({ timeout: WAIT_MS });
      await screenshot(bo, size, "board");
      await assertNoHorizontalScroll(bo, "board");
    });

    test("Ana imports a WhatsApp chat; both see it with its authors unverified", async () => {
      await openItem(ana, "Members");
      const fixture = new URL("../../core/tests/fixtures/import/whatsapp/android-us-24h.txt", import.meta.url);
      await ana.getByLabel("File to import").setInputFiles({
        name: "WhatsApp Chat with Kitchen.txt",
        mimeType: "text/plain",
        buffer: readFileSync(fixture),
      });
      assert.equal(await ana.getByLabel("Kind of export").inputValue(), "whatsapp");
      await ana.getByRole("button", { name: "Import", exact: true }).click();
      await ana.getByRole("status").filter({ hasText: "Imported 4 messages into #Kitchen" }).waitFor({ timeout: WAIT_MS });
      await screenshot(ana, size, "import");
      // The export downloads as one zip holding the imported messages.
      const [download] = await Promise.all([
        ana.waitForEvent("download", { timeout: WAIT_MS }),
        ana.getByRole("button", { name: "Export everything" }).click(),
      ]);
      assert.match(download.suggestedFilename(), /^plenum-Tenants-union-\d{4}-\d{2}-\d{2}\.zip$/);
      const zipped = readFileSync(await download.path()).toString("utf8");
      assert.ok(zipped.includes("**+49 151 2345678 (imported, unverified)**: Who is this?"), "the transcript is in the export");
      assert.ok(zipped.includes("members.json"));
      for (const page of [ana, bo]) {
        await openItem(page, "# Kitchen");
        const row = messages(page).getByRole("listitem", { name: "+49 151 2345678" });
        await row.getByText("Who is this?").waitFor({ timeout: WAIT_MS });
        assert.ok(await row.getByText("imported, unverified").isVisible());
        await messages(page).getByText("bring snacks").waitFor({ timeout: WAIT_MS });
      }
    });

    test("Ana removes Bo, and Bo loses access", async () => {
      await openItem(ana, "Members");
      const row = ana.getByRole("listitem", { name: "Bo" });
      await row.waitFor({ timeout: WAIT_MS });
      await screenshot(ana, size, "members");
      ana.once("dialog", (dialog) => dialog.accept());
      await row.getByRole("button", { name: "Remove from group" }).click();
      await eventually("Bo gone from Ana's member list", async () => (await row.count()) === 0);

      await bo
        .getByText("You are no longer a member of this group")
        .first()
        .waitFor({ timeout: WAIT_MS });
      await openItem(bo, "# general");
      assert.equal(
        await bo.getByRole("textbox", { name: "Message" }).count(),
        0,
        "a removed member cannot write",
      );
      // What Ana writes now is sealed under a key Bo never gets.
      await openItem(ana, "# general");
      await sendMessage(ana, "Next action: Saturday");
      await eventually("Ana's message saved", async () =>
        (await messages(ana).getByRole("listitem").filter({ hasText: "Next action: Saturday" }).getByText("saved").count()) > 0,
      );
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(await messages(bo).getByText("Next action: Saturday").count(), 0);
      assert.ok(await messages(bo).getByText("Meeting Thursday 7pm, room 4").isVisible(), "Bo keeps what he had");
      await screenshot(bo, size, "removed");

      await openItem(ana, "Connection and sync");
      await ana.getByRole("heading", { name: "Connection and sync" }).waitFor({ timeout: WAIT_MS });
      await screenshot(ana, size, "status");
    });
  });
}
