/**
 * The UI's words: zh-CN first, English selectable. `t()` reads the reactive
 * locale, so every label re-renders when the language changes; the choice is
 * kept in localStorage.
 */
import zh from './zh-CN.json';
import { wallClock } from '../lib/datetime';
import en from './en.json';
import { DEFAULT_LOCALE, saveLocale, savedLocale, translate, type Dict, type Locale, type Params } from './core';

export { LOCALES, type Locale } from './core';

const DICTS: Record<Locale, Dict> = { 'zh-CN': zh as Dict, en: en as Dict };
const STORAGE_KEY = 'hearth.locale';

const state = $state<{ locale: Locale }>({ locale: savedLocale(STORAGE_KEY) });

export function locale(): Locale {
  return state.locale;
}

export function setLocale(next: Locale): void {
  state.locale = next;
  saveLocale(STORAGE_KEY, next);
  if (typeof document !== 'undefined') document.documentElement.lang = next;
}

export function toggleLocale(): void {
  setLocale(state.locale === 'zh-CN' ? 'en' : 'zh-CN');
}

export function t(key: string, params?: Params): string {
  return translate(DICTS[state.locale], DICTS[DEFAULT_LOCALE], key, params);
}

export function hasKey(key: string): boolean {
  return key in DICTS[state.locale];
}

/** Formats a time for the current locale (24-hour clock). */
export function formatTime(ms: number, withDate = false): string {
  if (!Number.isFinite(ms)) return '—';
  const opts: Intl.DateTimeFormatOptions = withDate
    ? { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }
    : { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
  // Shifted to the tablet's zone and formatted as UTC: see lib/datetime.
  return new Intl.DateTimeFormat(state.locale, { ...opts, timeZone: 'UTC' }).format(wallClock(ms));
}

/** `t(key)` when the key exists, otherwise `fallback` (for names coming from Rust). */
export function tOr(key: string, fallback: string, params?: Params): string {
  return hasKey(key) ? t(key, params) : fallback;
}
