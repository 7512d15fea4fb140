/**
 * Countdown text for deadlines: time left, or how long overdue, as h:mm:ss.
 * Pure: "now" is a parameter so the Today screen ticks it every second.
 */

export type CountdownTone = 'ok' | 'soon' | 'overdue';

export interface Countdown {
  /** True once `now` is past the due time. */
  overdue: boolean;
  /** `h:mm:ss` of the remaining time, or of the time since it was due. */
  text: string;
  /** ok: plenty of time; soon: under the warning threshold; overdue: red. */
  tone: CountdownTone;
  /** Milliseconds left (negative when overdue). */
  remainingMs: number;
  /**
   * Whether seconds matter: within the last hour (or the first hour
   * overdue). Further off, a clock ticking seconds 18 h ahead is noise;
   * the screens show hours and minutes (`hours`, `minutes`) instead.
   */
  seconds: boolean;
  hours: number;
  minutes: number;
}

/** Seconds are shown only this close to (or past) the due time. */
export const SECONDS_WITHIN_MS = 60 * 60 * 1000;

/** Default: under 30 minutes left shows as "soon" (amber). */
export const DEFAULT_SOON_MS = 30 * 60 * 1000;

/** `h:mm:ss` for a non-negative duration; hours are not wrapped into days. */
export function formatHms(ms: number): string {
  const total = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** The countdown to `dueMs` seen at `nowMs`. */
export function countdown(dueMs: number, nowMs: number, soonMs: number = DEFAULT_SOON_MS): Countdown {
  const remainingMs = dueMs - nowMs;
  if (remainingMs < 0) {
    // Overdue counts up from the first whole second past due.
    const over = -remainingMs;
    return {
      overdue: true,
      text: formatHms(over),
      tone: 'overdue',
      remainingMs,
      seconds: over < SECONDS_WITHIN_MS,
      hours: Math.floor(over / 3600_000),
      minutes: Math.floor((over % 3600_000) / 60_000),
    };
  }
  // Remaining rounds up, so "0:00:00" is never shown while still on time
  // (and whole minutes round up likewise).
  const text = formatHms(Math.ceil(remainingMs / 1000) * 1000);
  const wholeMinutes = Math.ceil(remainingMs / 60_000);
  return {
    overdue: false,
    text,
    tone: remainingMs <= soonMs ? 'soon' : 'ok',
    remainingMs,
    seconds: remainingMs <= SECONDS_WITHIN_MS,
    hours: Math.floor(wholeMinutes / 60),
    minutes: wholeMinutes % 60,
  };
}

/**
 * The countdown as the screens say it: `h:mm:ss` in the last hour,
 * otherwise hours and minutes in words (`countdown.hours_minutes`).
 */
export function countdownText(c: Countdown, words: (key: string, params: Record<string, number>) => string): string {
  return c.seconds ? c.text : words('countdown.hours_minutes', { h: c.hours, m: c.minutes });
}

/** Parses an RFC 3339 time from the Rust side; NaN when unreadable. */
export function parseTime(iso: string | undefined | null): number {
  if (!iso) return Number.NaN;
  return Date.parse(iso);
}
