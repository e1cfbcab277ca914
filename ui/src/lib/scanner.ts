// Reading an invite's QR code with the phone's camera, through the mobile app's
// barcode-scanner plugin. Only the mobile shell registers the plugin: anywhere else
// (a browser tab, the desktop app, the mobile crate's host build) asking it fails,
// and the join form offers no scan button.
import * as plugin from "@tauri-apps/plugin-barcode-scanner";
import { ApiFailure } from "../api/adapter";

/** The plugin's calls this needs (a fake in the unit tests). */
export interface Camera {
  checkPermissions(): Promise<string>;
  requestPermissions(): Promise<string>;
  scan(options: { formats: plugin.Format[]; windowed: boolean }): Promise<{ content: string }>;
}

const INVITE = "plenum://join/";

/** The camera, when this page runs in a Tauri shell at all. */
export function camera(): Camera | null {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window ? plugin : null;
}

/** Whether scanning works here: the plugin answers (it does only on phones). */
export async function canScan(camera: Camera | null): Promise<boolean> {
  if (!camera) return false;
  try {
    await camera.checkPermissions();
    return true;
  } catch {
    return false;
  }
}

/** The invite link a scanned code holds, or null if it holds something else. */
export function inviteFromScan(content: string): string | null {
  const text = content.trim();
  if (!text.startsWith(INVITE) || text.length === INVITE.length || /\s/.test(text)) return null;
  return text;
}

/**
 * Asks for the camera if need be, scans one QR code and returns the invite link in
 * it. Fails with kind "permission" (camera refused), or "bad_request" (not an invite).
 */
export async function scanInvite(camera: Camera): Promise<string> {
  let permission = await camera.checkPermissions();
  if (permission !== "granted") permission = await camera.requestPermissions();
  if (permission !== "granted") throw new ApiFailure("permission", "camera refused");
  const scanned = await camera.scan({ formats: [plugin.Format.QRCode], windowed: false });
  const link = inviteFromScan(scanned.content);
  if (!link) throw new ApiFailure("bad_request", "not an invite");
  return link;
}
