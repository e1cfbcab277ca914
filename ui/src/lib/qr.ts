// The invite QR code as an SVG path (drawn inline: the page's CSP allows no data: URLs).
import qrcode from "qrcode-generator";

/** The code's size in modules (with a quiet zone of `margin`) and one path of its dark modules. */
export function qrPath(text: string, margin = 2): { size: number; path: string } {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const count = qr.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < count; row++) {
    let col = 0;
    while (col < count) {
      if (!qr.isDark(row, col)) {
        col++;
        continue;
      }
      // One rectangle per run of dark modules in the row.
      const start = col;
      while (col < count && qr.isDark(row, col)) col++;
      parts.push(`M${start + margin} ${row + margin}h${col - start}v1h-${col - start}z`);
    }
  }
  return { size: count + 2 * margin, path: parts.join("") };
}
