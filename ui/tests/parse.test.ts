import { describe, expect, it } from 'vitest';
import { formatCenti, formatFen, parseCelsiusToCenti, parseInteger, parseYuanToFen } from '../src/lib/parse';
import vectors from './number-vectors.json';

// The grammar is Rust's: every vector it generated, answered the same here.
describe('one number grammar with the tablet (hearth_domain::input)', () => {
  const cases: [string, [string, number | null][], (t: string) => number | null][] = [
    ['celsius', vectors.celsius_centi as [string, number | null][], parseCelsiusToCenti],
    ['yuan', vectors.yuan_fen as [string, number | null][], parseYuanToFen],
    ['whole', vectors.whole as [string, number | null][], parseInteger],
  ];
  for (const [name, rows, parse] of cases) {
    it.each(rows)(`${name}: %j -> %j`, (text, expected) => {
      expect(parse(text)).toBe(expected);
    });
  }
});

describe('yuan to fen', () => {
  it.each([
    ['35', 3500],
    ['35.5', 3550],
    ['35.50', 3550],
    ['0', 0],
    ['0.05', 5],
    ['.5', 50],
    [' 12.30 ', 1230],
    ['12,30', 1230],
    ['１２．５', 1250],
  ])('%s -> %i', (text, fen) => {
    expect(parseYuanToFen(text)).toBe(fen);
  });
  it.each(['', 'abc', '1.234', '-5', '1e3', '12.3.4', '¥12'])('refuses %j', (text) => {
    expect(parseYuanToFen(text)).toBeNull();
  });
  it('never goes through floating point', () => {
    // 0.1 + 0.2 style errors would give 29 or 1.15 * 100 = 114.99999
    expect(parseYuanToFen('0.29')).toBe(29);
    expect(parseYuanToFen('1.15')).toBe(115);
    expect(parseYuanToFen('4.35')).toBe(435);
  });
  it('formats fen back', () => {
    expect(formatFen(3550)).toBe('35.50');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(0)).toBe('0.00');
  });
});

describe('celsius to hundredths', () => {
  it.each([
    ['17.6', 1760],
    ['18', 1800],
    ['18.25', 1825],
    ['-3.5', -350],
    ['０.5', 50],
    ['16,8', 1680],
  ])('%s -> %i', (text, centi) => {
    expect(parseCelsiusToCenti(text)).toBe(centi);
  });
  it.each(['', '17.666', 'warm', '--1', '.'])('refuses %j', (text) => {
    expect(parseCelsiusToCenti(text)).toBeNull();
  });
  it('formats like the domain (two decimals)', () => {
    expect(formatCenti(1850)).toBe('18.50');
    expect(formatCenti(-5)).toBe('-0.05');
    expect(formatCenti(-1000)).toBe('-10.00');
  });
  it('parses integers', () => {
    expect(parseInteger('120')).toBe(120);
    expect(parseInteger('-3')).toBe(-3);
    expect(parseInteger('1.5')).toBeNull();
  });
});
