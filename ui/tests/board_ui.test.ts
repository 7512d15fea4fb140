import { describe, expect, it, vi } from 'vitest';
import { nextLink } from '../src/office/api';
import { appointmentOf, companyToday, whatChanged, type OrderSnapshot } from '../src/office/changes';
import { follow, missed, workingDaysText, type EventSourceLike } from '../src/office/live';

describe('pages by the Link header', () => {
  it('finds rel="next" among several links, in any order and case', () => {
    expect(nextLink('</v1/office/work-orders?limit=50&cursor=abc>; rel="next"')).toBe('/v1/office/work-orders?limit=50&cursor=abc');
    expect(nextLink('</a?x=1>; rel="prev", </b?x=2>; rel="next"')).toBe('/b?x=2');
    expect(nextLink('</c>; rel=NEXT')).toBe('/c');
    expect(nextLink('</d>; title="a, b"; rel="last next"')).toBe('/d');
  });
  it('has no next page without the header or a next link', () => {
    expect(nextLink(null)).toBeNull();
    expect(nextLink('')).toBeNull();
    expect(nextLink('</a>; rel="prev"')).toBeNull();
    expect(nextLink('garbage')).toBeNull();
  });
});

describe('a complaint’s working days left', () => {
  it('says due today, days left, or days overdue', () => {
    expect(workingDaysText(3, false)).toEqual({ key: 'complaints.days_left', count: 3 });
    expect(workingDaysText(0, false)).toEqual({ key: 'complaints.due_today', count: 0 });
    expect(workingDaysText(-2, true)).toEqual({ key: 'complaints.overdue_days', count: 2 });
    // Due earlier today and missed: overdue, by at least one day in the words.
    expect(workingDaysText(0, true)).toEqual({ key: 'complaints.overdue_days', count: 1 });
    expect(workingDaysText(undefined, false).key).toBe('complaints.no_deadline');
  });
});

describe('after a stale revision', () => {
  const order = (rev: number, techs: string[], status = 'open', start = '2026-12-05T01:00:00Z'): OrderSnapshot => ({
    rev,
    status,
    order: { assigned_technicians: techs, appointment: { start, end: '2026-12-05T03:00:00Z' }, milestones: {} },
  });
  it('names what someone else changed', () => {
    expect(whatChanged(order(1, ['T1']), order(2, ['T2']))).toEqual(['stale.technicians']);
    expect(whatChanged(order(1, ['T1', 'T2']), order(2, ['T2', 'T1'], 'open', '2026-12-05T02:00:00Z'))).toEqual(['stale.appointment']);
    expect(whatChanged(order(1, ['T1']), order(2, [], 'cancelled'))).toEqual(['stale.cancelled', 'stale.technicians']);
    expect(whatChanged(order(1, ['T1']), order(2, ['T1']))).toEqual(['stale.other']);
    const dispatched = order(2, ['T2']);
    dispatched.order.milestones = { dispatched_at: '2026-12-05T01:00:00Z' };
    expect(whatChanged(order(1, ['T1']), dispatched)).toEqual(['stale.technicians']);
    const arrived = order(2, ['T1']);
    arrived.order.milestones = { on_site_at: '2026-12-05T01:00:00Z' };
    expect(whatChanged(order(1, ['T1']), arrived)).toEqual(['stale.milestones']);
  });
  it('books a slot in company time', () => {
    expect(appointmentOf('2026-12-05', '09:00-11:00')).toEqual({ start: '2026-12-05T09:00:00+08:00', end: '2026-12-05T11:00:00+08:00' });
    expect(appointmentOf('', '09:00-11:00')).toBeNull();
    // 23:30 UTC is the next day in Beijing.
    expect(companyToday(Date.UTC(2026, 11, 4, 23, 30))).toBe('2026-12-05');
  });
});

describe('live updates', () => {
  class FakeSource implements EventSourceLike {
    listeners: Record<string, ((e: { data?: string }) => void)[]> = {};
    onerror = null;
    closed = false;
    addEventListener(type: string, l: (e: { data?: string }) => void) {
      (this.listeners[type] ??= []).push(l);
    }
    emit(type: string, data?: string) {
      for (const l of this.listeners[type] ?? []) l({ data });
    }
    close() {
      this.closed = true;
    }
  }

  it('refetches once for a burst of events, on a missed-ready, and by polling', () => {
    vi.useFakeTimers();
    const src = new FakeSource();
    const refetch = vi.fn();
    const stop = follow(refetch, { debounceMs: 500, pollMs: 30_000, source: () => src });
    src.emit('ready', '{"missed":false}');
    vi.advanceTimersByTime(1000);
    expect(refetch).toHaveBeenCalledTimes(0);
    src.emit('records', '{}');
    src.emit('work_order', '{}');
    src.emit('records', '{}');
    vi.advanceTimersByTime(600);
    expect(refetch).toHaveBeenCalledTimes(1);
    src.emit('ready', '{"missed":true}');
    vi.advanceTimersByTime(600);
    expect(refetch).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(30_000);
    expect(refetch).toHaveBeenCalledTimes(3);
    stop();
    expect(src.closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(refetch).toHaveBeenCalledTimes(3);
    vi.useRealTimers();
  });

  it('polls when there is no event stream', () => {
    vi.useFakeTimers();
    const refetch = vi.fn();
    const stop = follow(refetch, { pollMs: 30_000, source: () => null });
    vi.advanceTimersByTime(90_000);
    expect(refetch).toHaveBeenCalledTimes(3);
    stop();
    vi.useRealTimers();
  });

  it('treats an unreadable ready as missed', () => {
    expect(missed('{"missed":false}')).toBe(false);
    expect(missed('nope')).toBe(true);
    expect(missed(undefined)).toBe(true);
  });
});
