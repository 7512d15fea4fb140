/**
 * What the board shows of an order's deadlines, as the server judged them
 * (the rules are hearth-domain's; the console only counts down to `due`).
 */

export interface DeadlineStatus {
  kind: string;
  due: string;
  state: 'open' | 'at_risk' | 'met' | 'missed';
  at?: string;
}

/** The nearest deadline still to meet: open, at risk, or missed and not reached. */
export function nextDeadline(deadlines: DeadlineStatus[]): DeadlineStatus | null {
  const pending = deadlines.filter((d) => d.state === 'open' || d.state === 'at_risk' || (d.state === 'missed' && !d.at));
  pending.sort((a, b) => Date.parse(a.due) - Date.parse(b.due));
  return pending[0] ?? null;
}

/** Milliseconds left until `due` at `now` (negative: overdue). */
export function msLeft(due: string, now: number): number {
  return Date.parse(due) - now;
}

/** "1:05:09" / "12:09" from a duration in milliseconds (sign dropped). */
export function clock(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Orders by their next deadline: overdue first (most overdue on top), then soonest; none last. */
export function byUrgency<T>(items: T[], next: (item: T) => DeadlineStatus | null, now: number): T[] {
  const key = (item: T) => {
    const d = next(item);
    return d ? msLeft(d.due, now) : Number.POSITIVE_INFINITY;
  };
  return [...items].sort((a, b) => key(a) - key(b));
}
