// The catalogues and the pure parts of translation: choosing a language and filling
// in a message's parameters. The reactive current language is in locale.svelte.ts.
import { de } from "./de";
import { en, type MessageKey } from "./en";
import { sv } from "./sv";

export type { MessageKey };
export const LOCALES = ["en", "sv", "de"] as const;
export type Locale = (typeof LOCALES)[number];

export const catalogues: Record<Locale, Record<MessageKey, string>> = { en, sv, de };

/** Each language's name in itself, for the language switcher. */
export const LOCALE_NAMES: Record<Locale, string> = {
  en: "English",
  sv: "Svenska",
  de: "Deutsch",
};

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/**
 * The first of the browser's (or OS's) preferred languages that Plenum speaks,
 * matching on the primary subtag ("sv-FI" → Swedish); English otherwise.
 */
export function detectLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split("-")[0];
    if (isLocale(primary)) return primary;
  }
  return "en";
}

export type Params = Record<string, string | number>;

/** The message `key` in `locale` with `{name}` placeholders filled in. */
export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const template = catalogues[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}
