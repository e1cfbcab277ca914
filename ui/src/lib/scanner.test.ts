import { describe, expect, it } from "vitest";
import { canScan, inviteFromScan, scanInvite, type Camera } from "./scanner";

/** A camera whose permission answers and scanned code are given. */
function fakeCamera(permissions: string[], content: string, calls: string[] = []): Camera {
  return {
    checkPermissions: async () => {
      calls.push("check");
      return permissions.shift() ?? "denied";
    },
    requestPermissions: async () => {
      calls.push("request");
      return permissions.shift() ?? "denied";
    },
    scan: async (options) => {
      calls.push(`scan ${options.formats.join(",")}`);
      return { content };
    },
  };
}

describe("scanning an invite's QR code", () => {
  it("reads the link, asking for the camera only when it is not yet allowed", async () => {
    const calls: string[] = [];
    const link = await scanInvite(fakeCamera(["prompt", "granted"], " plenum://join/abc123\n", calls));
    expect(link).toBe("plenum://join/abc123");
    expect(calls).toEqual(["check", "request", "scan QR_CODE"]);
    const again: string[] = [];
    await scanInvite(fakeCamera(["granted"], "plenum://join/abc123", again));
    expect(again).toEqual(["check", "scan QR_CODE"]);
  });

  it("says so when the camera is refused, without scanning", async () => {
    const calls: string[] = [];
    await expect(scanInvite(fakeCamera(["denied", "denied"], "plenum://join/x", calls))).rejects.toMatchObject({
      kind: "permission",
    });
    expect(calls).not.toContain("scan QR_CODE");
  });

  it("refuses a code that is not an invite link", async () => {
    await expect(scanInvite(fakeCamera(["granted"], "https://example.org/"))).rejects.toMatchObject({
      kind: "bad_request",
    });
    expect(inviteFromScan("plenum://join/")).toBeNull();
    expect(inviteFromScan("plenum://join/a b")).toBeNull();
    expect(inviteFromScan("WIFI:S:home;;")).toBeNull();
  });

  it("offers scanning only where the plugin answers", async () => {
    expect(await canScan(null)).toBe(false);
    expect(await canScan(fakeCamera(["prompt"], ""))).toBe(true);
    const missing: Camera = {
      checkPermissions: () => Promise.reject(new Error("plugin barcode-scanner not found")),
      requestPermissions: () => Promise.reject(new Error("unreachable")),
      scan: () => Promise.reject(new Error("unreachable")),
    };
    expect(await canScan(missing)).toBe(false);
  });
});
