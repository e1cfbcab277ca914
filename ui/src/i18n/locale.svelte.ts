// The language the UI speaks now: from a stored choice, else the browser's
// preferences; switchable at any time (every `t` call in a template follows).
import {
  detectLocale,
  isLocale,
  translate,
  type Locale,
  type MessageKey,
  type Params,
} from "./catalogue";

const STORAGE_KEY = "plenum.locale";

function initial(): Locale {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (isLocale(stored)) return stored;
  } catch {
    // Storage may be unavailable (private mode); fall back to the browser's choice.
  }
  return detectLocale(globalThis.navigator?.languages ?? []);
}

export const locale = $state<{ current: Locale }>({ current: initial() });

export function setLocale(next: Locale): void {
  locale.current = next;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across reloads then; the switch still applies.
  }
  globalThis.document?.documentElement.setAttribute("lang", next);
}

export function t(key: MessageKey, params?: Params): string {
  return translate(locale.current, key, params);
}
