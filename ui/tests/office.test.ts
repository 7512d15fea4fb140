import { describe, expect, it } from 'vitest';
import { byUrgency, clock, nextDeadline, type DeadlineStatus } from '../src/office/deadlines';

const at = (min: number) => new Date(Date.UTC(2026, 11, 4, 2, 0) + min * 60_000).toISOString();
const now = Date.UTC(2026, 11, 4, 2, 0);

describe('the office board', () => {
  it('counts down to the nearest deadline still to meet, ignoring met and reached-late ones', () => {
    const d: DeadlineStatus[] = [
      { kind: 'contact', due: at(-30), state: 'met', at: at(-40) },
      { kind: 'on_site', due: at(-10), state: 'missed', at: at(-5) },
      { kind: 'fixed', due: at(600), state: 'open' },
      { kind: 'accepted', due: at(20), state: 'at_risk' },
    ];
    expect(nextDeadline(d)?.kind).toBe('accepted');
    expect(nextDeadline([{ kind: 'on_site', due: at(-10), state: 'missed' }])?.kind).toBe('on_site');
    expect(nextDeadline([{ kind: 'fixed', due: at(1), state: 'met', at: at(0) }])).toBeNull();
  });

  it('puts the most overdue first, then the soonest, and orders without a deadline last', () => {
    const orders = [
      { id: 'none', d: null },
      { id: 'soon', d: { kind: 'on_site', due: at(5), state: 'open' } as DeadlineStatus },
      { id: 'late', d: { kind: 'on_site', due: at(-90), state: 'missed' } as DeadlineStatus },
      { id: 'later', d: { kind: 'fixed', due: at(500), state: 'open' } as DeadlineStatus },
      { id: 'just-late', d: { kind: 'contact', due: at(-1), state: 'missed' } as DeadlineStatus },
    ];
    expect(byUrgency(orders, (o) => o.d, now).map((o) => o.id)).toEqual(['late', 'just-late', 'soon', 'later', 'none']);
  });

  it('shows a duration as h:mm:ss or m:ss', () => {
    expect(clock(65_000)).toBe('1:05');
    expect(clock(-(3600_000 + 5 * 60_000 + 9_000))).toBe('1:05:09');
    expect(clock(0)).toBe('0:00');
  });
});
