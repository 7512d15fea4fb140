/**
 * The inactivity lock's clock: activity resets it; `expired(now)` says when
 * the signed-in technician must be signed out. Minutes are configurable.
 */
export const DEFAULT_LOCK_MINUTES = 5;
export const LOCK_MINUTE_CHOICES = [1, 2, 5, 10, 15, 30];

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
}

/** A stored setting to a usable number of minutes. */
export function parseLockMinutes(raw: string | null | undefined): number {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 240 ? n : DEFAULT_LOCK_MINUTES;
}
