// Markdown for the pad preview: rendered with marked, then sanitised with DOMPurify,
// because pad text comes from other members.
import DOMPurify from "dompurify";
import { marked } from "marked";

let hooked = false;

export function renderMarkdown(text: string): string {
  if (!hooked) {
    hooked = true;
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
  }
  const html = marked.parse(text, { async: false, gfm: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ["style", "form", "input"] });
}
