import { describe, expect, it } from 'vitest';
import { barLength, percentText, stack, thisMonth } from '../src/office/reportFormat';

describe('report display', () => {
  it('reads per mille as a percentage and a missing rate as a dash', () => {
    expect(percentText(667)).toBe('66.7%');
    expect(percentText(1000)).toBe('100.0%');
    expect(percentText(undefined)).toBe('—');
  });
  it('draws bars in proportion and nothing for no rate', () => {
    expect(barLength(500, 200)).toBe(100);
    expect(barLength(undefined, 200)).toBe(0);
    expect(stack([1, 1, 0, 2], 100).map((s) => s.w)).toEqual([25, 25, 0, 50]);
    expect(stack([0, 0], 100).map((s) => s.w)).toEqual([0, 0]);
  });
  it('takes this month in company time, so 16:30 UTC on the last day is already next month', () => {
    expect(thisMonth(new Date('2025-01-31T16:30:00Z'))).toEqual({ from: '2025-02-01', to: '2025-02-28' });
    expect(thisMonth(new Date('2025-01-31T15:59:00Z'))).toEqual({ from: '2025-01-01', to: '2025-01-31' });
    expect(thisMonth(new Date('2024-02-10T00:00:00Z'))).toEqual({ from: '2024-02-01', to: '2024-02-29' });
  });
});
