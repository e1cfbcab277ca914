// Import and export without a DOM: guessing an export's kind from its name, the
// request that carries a file, and the export's files as one zip download.
import type { ExportFile, ImportSource, Request } from "../api/types";

/** The largest file the node imports (core's MAX_IMPORT_BYTES). */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;

/** The kind of export a file name suggests; the user can still pick another. */
export function guessSource(fileName: string): ImportSource {
  const name = fileName.toLowerCase();
  if (name.endsWith(".etherpad") || name.endsWith(".md") || name.endsWith(".markdown")) return "etherpad";
  if (name.endsWith(".json")) return name.includes("result") ? "telegram" : "trello";
  return "whatsapp";
}

/** Standard, padded base64 of `bytes`, in chunks (one `btoa` of 32 MiB would not fit a string argument list). */
export function toBase64(bytes: Uint8Array): string {
  const chunk = 0x8000;
  let binary = "";
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** Minutes east of UTC at `when` (JavaScript's getTimezoneOffset counts west). */
export function utcOffsetMinutes(when: Date = new Date()): number {
  return -when.getTimezoneOffset() || 0; // never -0
}

/** The import request for a file, or why it cannot be sent. */
export function importRequest(
  group: string,
  source: ImportSource,
  fileName: string,
  bytes: Uint8Array,
  options: { target?: string; chat?: string; offsetMinutes?: number } = {},
): Request | { tooLarge: number } {
  if (bytes.length > MAX_IMPORT_BYTES) return { tooLarge: bytes.length };
  const target = options.target?.trim() ? options.target.trim() : null;
  const chat = options.chat?.trim() ? options.chat.trim() : null;
  return {
    type: "import",
    group,
    source,
    file_name: fileName,
    data: toBase64(bytes),
    target,
    chat,
    utc_offset_minutes: options.offsetMinutes ?? utcOffsetMinutes(),
  };
}

/** 0–100, for a progress bar. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.round((done / total) * 100));
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the zip and PNG one). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The export's files as a zip archive (stored, not compressed: text compresses well,
 * but this keeps the writer small and the archive opens everywhere), every path
 * under `folder/`.
 */
export function zipFiles(folder: string, files: ExportFile[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(`${folder}/${file.path}`);
    const data = encoder.encode(file.content);
    const crc = crc32(data);
    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true); // version needed
    l.setUint16(6, 0x0800, true); // names are UTF-8
    l.setUint16(8, 0, true); // stored
    l.setUint32(14, crc, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);
    const entry = new Uint8Array(46 + name.length);
    const c = new DataView(entry.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    entry.set(name, 46);
    parts.push(local, data);
    central.push(entry);
    offset += local.length + data.length;
  }
  const centralSize = central.reduce((n, e) => n + e.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, files.length, true);
  e.setUint16(10, files.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A folder name for a group's export: `plenum-NAME-2026-12-06`. */
export function exportFolder(groupName: string, when: Date = new Date()): string {
  const slug = groupName.replace(/[^\p{L}\p{N}_-]+/gu, "-").replace(/^-+|-+$/g, "") || "group";
  return `plenum-${slug}-${when.toISOString().slice(0, 10)}`;
}
