/**
 * The console's words: zh-CN first, English selectable, kept in
 * localStorage. Times are shown in the company's zone (UTC+8), whatever
 * the browser's zone.
 */
import { DEFAULT_LOCALE, saveLocale, savedLocale, translate, type Dict, type Locale, type Params } from '../../i18n/core';

export type { Locale } from '../../i18n/core';

/**
 * One pair of dictionaries per area of the console (`zh-CN.json` for the
 * frame and the board, `admin.zh-CN.json` for the admin screens…), merged.
 */
const files = import.meta.glob<Dict>('./*.json', { eager: true, import: 'default' });
function merged(locale: Locale): Dict {
  const suffix = `${locale}.json`;
  return Object.assign({}, ...Object.entries(files).filter(([path]) => path.endsWith(`/${suffix}`) || path.endsWith(`.${suffix}`)).map(([, d]) => d));
}
const DICTS: Record<Locale, Dict> = { 'zh-CN': merged('zh-CN'), en: merged('en') };
const STORAGE_KEY = 'hearth.office.locale';

const state = $state<{ locale: Locale }>({ locale: savedLocale(STORAGE_KEY) });
// The page says which language it is in from the start (screen readers, axe's html-lang checks), not only after a switch.
if (typeof document !== 'undefined') document.documentElement.lang = state.locale;

export function locale(): Locale {
  return state.locale;
}

export function toggleLocale(): void {
  state.locale = state.locale === 'zh-CN' ? 'en' : 'zh-CN';
  saveLocale(STORAGE_KEY, state.locale);
  document.documentElement.lang = state.locale;
}

export function t(key: string, params?: Params): string {
  return translate(DICTS[state.locale], DICTS[DEFAULT_LOCALE], key, params);
}

/** `t(key)` when the dictionary has it, otherwise `fallback` (codes from the server). */
export function tOr(key: string, fallback: string, params?: Params): string {
  return key in DICTS[state.locale] ? t(key, params) : fallback;
}

/** A time in company time (UTC+8), 24-hour, with the date. */
export function formatTime(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  return new Intl.DateTimeFormat(state.locale, {
    timeZone: 'Asia/Shanghai',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(ms);
}

export function hasKey(key: string): boolean {
  return key in DICTS[state.locale];
}
