/**
 * `<input type="datetime-local">` values <-> instants, and the wall clock
 * times are shown in. Both use the tablet's configured UTC offset (the
 * company's, China Standard Time by default) rather than the webview's zone,
 * so the screens, the summary the customer signs and the records agree even
 * on a device whose system zone is set differently.
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** China Standard Time until the Rust side says otherwise (`AppState.tz_offset_minutes`). */
export const DEFAULT_TZ_OFFSET_MINUTES = 480;
let offsetMinutes = DEFAULT_TZ_OFFSET_MINUTES;

export function setTzOffsetMinutes(minutes: number): void {
  if (Number.isInteger(minutes) && Math.abs(minutes) <= 14 * 60) offsetMinutes = minutes;
}

export function tzOffsetMinutes(): number {
  return offsetMinutes;
}

/** The wall clock at `ms` in the tablet's zone, as a Date whose UTC fields hold it. */
export function wallClock(ms: number): Date {
  return new Date(ms + offsetMinutes * 60_000);
}

/** ms -> "YYYY-MM-DDTHH:mm" in the tablet's zone. */
export function toLocalInput(ms: number): string {
  const d = wallClock(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** "YYYY-MM-DDTHH:mm" (seconds optional) in the tablet's zone -> ms, or null. */
export function fromLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  const ms = wall - offsetMinutes * 60_000;
  return Number.isFinite(ms) ? ms : null;
}

/** "YYYY-MM-DDTHH:mm" -> RFC 3339 UTC, as chrono reads it; null when unreadable. */
export function localInputToIso(value: string): string | null {
  const ms = fromLocalInput(value);
  return ms === null ? null : new Date(ms).toISOString();
}
