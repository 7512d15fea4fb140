/** `<input type="datetime-local">` values <-> instants. Local wall-clock time. */

const pad = (n: number) => String(n).padStart(2, '0');

/** ms -> "YYYY-MM-DDTHH:mm" in the tablet's time zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "YYYY-MM-DDTHH:mm" (seconds optional) -> ms, or null. */
export function fromLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  const ms = date.getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** "YYYY-MM-DDTHH:mm" -> RFC 3339 UTC, as chrono reads it; null when unreadable. */
export function localInputToIso(value: string): string | null {
  const ms = fromLocalInput(value);
  return ms === null ? null : new Date(ms).toISOString();
}
