import { describe, expect, it } from 'vitest';
import { overallVerdictDisplay, roomVerdictDisplay } from '../src/lib/compliance';
import { readingRows, currentReadings, roomDisplayName } from '../src/lib/readings';
import type { ReadingView } from '../src/ipc/types';

describe('verdict display', () => {
  it('colours rooms green, red and grey', () => {
    expect(roomVerdictDisplay('compliant')).toEqual({ cls: 'verdict-ok', labelKey: 'verdict.compliant' });
    expect(roomVerdictDisplay('below_standard')).toEqual({ cls: 'verdict-bad', labelKey: 'verdict.below_standard' });
    expect(roomVerdictDisplay('not_counted')).toEqual({ cls: 'verdict-none', labelKey: 'verdict.not_counted' });
  });
  it('shows the overall verdict, grey before any reading', () => {
    expect(overallVerdictDisplay('compliant').cls).toBe('verdict-ok');
    expect(overallVerdictDisplay('below_standard').cls).toBe('verdict-bad');
    expect(overallVerdictDisplay(undefined)).toEqual({ cls: 'verdict-none', labelKey: 'verdict.overall_none' });
  });
});

function reading(id: string, centi: number, extra: { supersedes?: string; superseded_by?: string } = {}): ReadingView {
  return {
    record: {
      seq: 1,
      record_id: id,
      work_order_id: 'WO1',
      schema: 'hearth.temperature_reading/1',
      sealed_at_ms: 0,
      state: 'sealed',
      flags: [],
      supersedes: extra.supersedes ?? null,
      reason: extra.supersedes ? 'misread' : null,
      superseded_by: extra.superseded_by ?? null,
      may_withdraw: false,
    },
    room_kind: 'bedroom',
    label: 'room',
    centi_celsius: centi,
    taken_at: '2025-01-10T10:00:00+08:00',
    required_min: 1800,
    verdict: centi >= 1800 ? 'compliant' : 'below_standard',
    shown_to_customer: true,
    outlier_reason: null,
    superseded_by: extra.superseded_by ?? null,
    withdrawn: false,
  };
}

describe('reading rows', () => {
  it('puts each correction right after the reading it corrects, keeping both', () => {
    const readings = [
      reading('a', 1700, { superseded_by: 'c' }),
      reading('b', 1900),
      reading('c', 1750, { supersedes: 'a' }),
    ];
    const rows = readingRows(readings);
    expect(rows.map((r) => r.n)).toEqual([1, 3, 2]);
    expect(rows[0]).toMatchObject({ superseded: true });
    expect(rows[1]).toMatchObject({ correctsN: 1, superseded: false });
    expect(currentReadings(readings).map((r) => r.record.record_id)).toEqual(['b', 'c']);
  });
  it('chains corrections of corrections', () => {
    const rows = readingRows([
      reading('a', 1700, { superseded_by: 'b' }),
      reading('b', 1710, { supersedes: 'a', superseded_by: 'c' }),
      reading('x', 2000),
      reading('c', 1720, { supersedes: 'b' }),
    ]);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 4, 3]);
  });
});

describe('a room as the readings table names it', () => {
  it('shows a label only when it says more than the room kind', () => {
    expect(roomDisplayName('客厅', '客厅')).toBe('客厅');
    expect(roomDisplayName('客厅', ' ')).toBe('客厅');
    expect(roomDisplayName('卧室', '主卧')).toBe('卧室 · 主卧');
  });
});
