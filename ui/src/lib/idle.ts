/**
 * The inactivity lock's clock: activity resets it; `expired(now)` says when
 * the signed-in technician must be signed out. Minutes are configurable.
 */
export const DEFAULT_LOCK_MINUTES = 5;
export const LOCK_MINUTE_CHOICES = [1, 2, 5, 10, 15, 30];
/** The technician is warned this long before the lock (a temperature test has quiet minutes). */
export const LOCK_WARNING_MS = 60_000;

export class IdleClock {
  private last: number;
  constructor(
    public minutes: number,
    now: number,
  ) {
    this.last = now;
  }
  touch(now: number): void {
    this.last = now;
  }
  expired(now: number): boolean {
    return this.minutes > 0 && now - this.last >= this.minutes * 60_000;
  }
  /** Milliseconds until the lock (never negative). */
  remaining(now: number): number {
    return Math.max(0, this.last + this.minutes * 60_000 - now);
  }
  /**
   * Whether to warn now: within the last minute before the lock (the last
   * half of it when the lock itself is one minute).
   */
  warning(now: number): boolean {
    if (this.minutes <= 0 || this.expired(now)) return false;
    const warnFor = Math.min(LOCK_WARNING_MS, (this.minutes * 60_000) / 2);
    return this.remaining(now) <= warnFor;
  }
}

/** A stored setting to a usable number of minutes. */
export function parseLockMinutes(raw: string | null | undefined): number {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 240 ? n : DEFAULT_LOCK_MINUTES;
}
