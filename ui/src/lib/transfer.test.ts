import { describe, expect, it } from "vitest";
import { crc32, exportFolder, guessSource, importRequest, MAX_IMPORT_BYTES, percent, toBase64, zipFiles } from "./transfer";

describe("guessSource", () => {
  it("goes by the file name", () => {
    expect(guessSource("WhatsApp Chat with Tenants.zip")).toBe("whatsapp");
    expect(guessSource("_chat.txt")).toBe("whatsapp");
    expect(guessSource("result.json")).toBe("telegram");
    expect(guessSource("rent-strike.json")).toBe("trello");
    expect(guessSource("minutes.etherpad")).toBe("etherpad");
    expect(guessSource("Demands.MD")).toBe("etherpad");
  });
});

describe("importRequest", () => {
  it("carries the file base64-encoded with the options", () => {
    const bytes = new TextEncoder().encode("31/12/2021, 20:00 - Ana: ok\n");
    const request = importRequest("g1", "whatsapp", "chat.txt", bytes, { target: " general ", offsetMinutes: 120 });
    expect(request).toEqual({
      type: "import",
      group: "g1",
      source: "whatsapp",
      file_name: "chat.txt",
      data: btoa("31/12/2021, 20:00 - Ana: ok\n"),
      target: "general",
      chat: null,
      utc_offset_minutes: 120,
    });
  });
  it("refuses a file over the node's limit before encoding it", () => {
    const big = new Uint8Array(MAX_IMPORT_BYTES + 1);
    expect(importRequest("g1", "whatsapp", "x.txt", big)).toEqual({ tooLarge: MAX_IMPORT_BYTES + 1 });
  });
  it("encodes large files in chunks", () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    const decoded = Uint8Array.from(atob(toBase64(bytes)), (c) => c.charCodeAt(0));
    expect(decoded).toEqual(bytes);
  });
});

describe("percent", () => {
  it("rounds and bounds", () => {
    expect(percent(0, 2500)).toBe(0);
    expect(percent(1000, 2500)).toBe(40);
    expect(percent(2500, 2500)).toBe(100);
    expect(percent(0, 0)).toBe(100);
  });
});

describe("zipFiles", () => {
  it("writes a stored zip with UTF-8 names and correct checksums", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const zip = zipFiles("plenum-x", [
      { path: "README.md", content: "# Plenum export\n" },
      { path: "chat/Küche.md", content: "- [20:00] **Ana**: ok\n" },
    ]);
    const view = new DataView(zip.buffer);
    expect(view.getUint32(0, true)).toBe(0x04034b50);
    const end = zip.length - 22;
    expect(view.getUint32(end, true)).toBe(0x06054b50);
    expect(view.getUint16(end + 10, true)).toBe(2);
    const centralAt = view.getUint32(end + 16, true);
    expect(view.getUint32(centralAt, true)).toBe(0x02014b50);
    const nameLength = view.getUint16(26, true);
    const name = new TextDecoder().decode(zip.subarray(30, 30 + nameLength));
    expect(name).toBe("plenum-x/README.md");
    const size = view.getUint32(18, true);
    const content = new TextDecoder().decode(zip.subarray(30 + nameLength, 30 + nameLength + size));
    expect(content).toBe("# Plenum export\n");
    expect(view.getUint32(14, true)).toBe(crc32(new TextEncoder().encode(content)));
  });
  it("names the folder after the group and the day", () => {
    expect(exportFolder("Tenants union", new Date("2026-12-06T10:00:00Z"))).toBe("plenum-Tenants-union-2026-12-06");
    expect(exportFolder("//", new Date("2026-12-06T10:00:00Z"))).toBe("plenum-group-2026-12-06");
  });
});
