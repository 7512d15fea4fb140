import { describe, expect, it } from 'vitest';
import { countdown, countdownText, DEFAULT_SOON_MS, formatHms, parseTime } from '../src/lib/countdown';

describe('formatHms', () => {
  it('pads minutes and seconds but not hours', () => {
    expect(formatHms(0)).toBe('0:00:00');
    expect(formatHms(59_999)).toBe('0:00:59');
    expect(formatHms(61_000)).toBe('0:01:01');
    expect(formatHms(2 * 3600_000 + 5 * 60_000 + 7_000)).toBe('2:05:07');
    expect(formatHms(26 * 3600_000)).toBe('26:00:00');
  });
  it('treats negative durations as zero', () => {
    expect(formatHms(-5000)).toBe('0:00:00');
  });
});

describe('countdown', () => {
  const due = Date.parse('2025-01-10T10:00:00Z');
  it('shows the time left, rounded up, and is calm with plenty left', () => {
    const c = countdown(due, due - 2 * 3600_000 - 500);
    expect(c).toMatchObject({ overdue: false, tone: 'ok', text: '2:00:01' });
  });
  it('turns amber under the threshold', () => {
    expect(countdown(due, due - DEFAULT_SOON_MS).tone).toBe('soon');
    expect(countdown(due, due - DEFAULT_SOON_MS - 1).tone).toBe('ok');
    expect(countdown(due, due - 60_000, 30_000).tone).toBe('ok');
  });
  it('is on time (not overdue) exactly at the due moment', () => {
    expect(countdown(due, due)).toMatchObject({ overdue: false, text: '0:00:00', tone: 'soon' });
  });
  it('turns red and counts how long overdue', () => {
    const c = countdown(due, due + 3_725_000);
    expect(c).toMatchObject({ overdue: true, tone: 'overdue', text: '1:02:05' });
    expect(c.remainingMs).toBe(-3_725_000);
  });
  it('ticks every second', () => {
    expect(countdown(due, due - 10_000).text).toBe('0:00:10');
    expect(countdown(due, due - 9_000).text).toBe('0:00:09');
    expect(countdown(due, due + 1_000).text).toBe('0:00:01');
  });
});

describe('countdownText', () => {
  const due = Date.parse('2025-01-10T10:00:00Z');
  const words = (key: string, p: Record<string, number>) => `${key}:${p.h}h${p.m}m`;
  it('says hours and minutes while more than an hour is left (no seconds ticking 18 h ahead)', () => {
    expect(countdownText(countdown(due, due - 18 * 3600_000 - 12 * 60_000), words)).toBe('countdown.hours_minutes:18h12m');
    // Minutes round up while time is left: 1 h 0 min 1 s left is 1 h 1 min.
    expect(countdownText(countdown(due, due - 3600_000 - 1_000), words)).toBe('countdown.hours_minutes:1h1m');
  });
  it('ticks seconds in the last hour and the first hour overdue', () => {
    expect(countdownText(countdown(due, due - 3600_000), words)).toBe('1:00:00');
    expect(countdownText(countdown(due, due - 59_000), words)).toBe('0:00:59');
    expect(countdownText(countdown(due, due + 65_000), words)).toBe('0:01:05');
    expect(countdownText(countdown(due, due + 2 * 3600_000 + 5 * 60_000), words)).toBe('countdown.hours_minutes:2h5m');
  });
});

describe('parseTime', () => {
  it('reads RFC 3339 and refuses nothing silently', () => {
    expect(parseTime('2025-01-10T10:00:00Z')).toBe(Date.UTC(2025, 0, 10, 10));
    expect(parseTime('2025-01-10T18:00:00+08:00')).toBe(Date.UTC(2025, 0, 10, 10));
    expect(Number.isNaN(parseTime(undefined))).toBe(true);
    expect(Number.isNaN(parseTime('soon'))).toBe(true);
  });
});
