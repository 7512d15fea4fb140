/** The translation function, pure: a dictionary, a key, `{name}` parameters. */

export type Dict = Record<string, string>;
export type Params = Record<string, string | number>;

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export function isLocale(v: unknown): v is Locale {
  return typeof v === 'string' && (LOCALES as readonly string[]).includes(v);
}

/** `{name}` in the text replaced by `params.name`; a missing key shows as the key. */
export function translate(dict: Dict, fallback: Dict, key: string, params?: Params): string {
  const text = dict[key] ?? fallback[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The language kept under `storageKey` in localStorage, or zh-CN. */
export function savedLocale(storageKey: string): Locale {
  try {
    const saved = globalThis.localStorage?.getItem(storageKey);
    if (isLocale(saved)) return saved;
  } catch {
    /* storage unavailable */
  }
  return DEFAULT_LOCALE;
}

/** Keeps `locale` under `storageKey`; without storage the choice lasts this page. */
export function saveLocale(storageKey: string, locale: Locale): void {
  try {
    globalThis.localStorage?.setItem(storageKey, locale);
  } catch {
    /* storage unavailable */
  }
}
