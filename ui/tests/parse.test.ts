import { describe, expect, it } from 'vitest';
import { formatCenti, formatFen } from '../src/lib/parse';

// Typed numbers are parsed by Rust (`parse_numbers`, tested there and in the
// app's end-to-end test); the screens only format what records carry.
describe('formatting record integers', () => {
  it('formats fen as yuan', () => {
    expect(formatFen(3550)).toBe('35.50');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(0)).toBe('0.00');
    expect(formatFen(-250)).toBe('-2.50');
  });
  it('formats hundredths as degrees', () => {
    expect(formatCenti(1760)).toBe('17.60');
    expect(formatCenti(-350)).toBe('-3.50');
  });
});
