/**
 * Orders a test's readings for the table: each correction is shown right
 * after the reading it supersedes (never instead of it). `n` is the 1-based
 * position in the order the readings were taken (stable, used in test ids).
 */
import type { ReadingView } from '../ipc/types';

export interface ReadingRow {
  n: number;
  reading: ReadingView;
  /** `n` of the reading this one corrects. */
  correctsN?: number;
  /** The reading was replaced by a correction, or withdrawn. */
  superseded: boolean;
  /** Withdrawn without a replacement (the test was given up). */
  withdrawn: boolean;
}

export function readingRows(readings: ReadingView[]): ReadingRow[] {
  const byId = new Map<string, number>();
  readings.forEach((r, i) => byId.set(r.record.record_id, i + 1));
  const rows: ReadingRow[] = readings.map((r, i) => {
    const target = r.record.supersedes ? byId.get(r.record.supersedes) : undefined;
    return { n: i + 1, reading: r, correctsN: target, superseded: Boolean(r.superseded_by), withdrawn: r.withdrawn };
  });
  const corrections = new Map<number, ReadingRow[]>();
  const top: ReadingRow[] = [];
  for (const row of rows) {
    if (row.correctsN !== undefined) {
      const list = corrections.get(row.correctsN) ?? [];
      list.push(row);
      corrections.set(row.correctsN, list);
    } else {
      top.push(row);
    }
  }
  const out: ReadingRow[] = [];
  const emit = (row: ReadingRow) => {
    out.push(row);
    for (const c of corrections.get(row.n) ?? []) emit(c);
  };
  top.forEach(emit);
  return out;
}

/** Readings that still count (not replaced by a correction). */
export function currentReadings(readings: ReadingView[]): ReadingView[] {
  return readings.filter((r) => !r.superseded_by);
}

/**
 * A reading's room as the table shows it: the kind, then the label the
 * testers typed when it says more ("卧室 · 主卧"); a label that only repeats
 * the kind (the default) is not shown twice.
 */
export function roomDisplayName(kindName: string, label: string): string {
  const own = label.trim();
  return own === '' || own === kindName ? kindName : `${kindName} · ${own}`;
}
