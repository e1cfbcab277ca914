import { describe, expect, it } from "vitest";
import { qrPath } from "./qr";

describe("qrPath", () => {
  it("draws the finder patterns of a real QR code with a quiet zone", () => {
    const { size, path } = qrPath("plenum://join/abc123");
    // Version 2 at level M holds this link: 25 modules, plus 2 × 2 quiet zone.
    expect(size).toBe(29);
    // The top-left finder pattern's first row is 7 dark modules starting at the margin.
    expect(path.startsWith("M2 2h7v1h-7z")).toBe(true);
    expect(qrPath("plenum://join/abc123").path).toBe(path);
    expect(qrPath("plenum://join/other").path).not.toBe(path);
  });
});
