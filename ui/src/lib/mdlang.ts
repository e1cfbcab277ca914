// Markdown for the pad editor: @lezer/markdown's parser (with GitHub's extensions) as
// a CodeMirror language, highlighted with the default style. @codemirror/lang-markdown
// would bring the HTML, CSS and JavaScript parsers along for embedded code: several
// hundred kilobytes the pad does not need.
import { defaultHighlightStyle, defineLanguageFacet, Language, LanguageSupport, syntaxHighlighting } from "@codemirror/language";
import type { Extension } from "@codemirror/state";
import { GFM, parser } from "@lezer/markdown";

const language = new Language(
  defineLanguageFacet({ commentTokens: { block: { open: "<!--", close: "-->" } } }),
  parser.configure(GFM),
  [],
  "markdown",
);

export function markdownEditing(): Extension {
  return [new LanguageSupport(language), syntaxHighlighting(defaultHighlightStyle, { fallback: true })];
}
