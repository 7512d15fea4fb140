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
