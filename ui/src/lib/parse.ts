/**
 * Text the technician types, turned into the integers records carry (no
 * floats cross into records): yuan -> fen, °C -> hundredths of a degree.
 * Both return `null` for anything that is not a plain decimal number.
 */

const DECIMAL = /^([+-]?)(\d+)(?:[.,](\d*))?$/;
const LEADING_DOT = /^([+-]?)[.,](\d+)$/;

/** Splits a decimal text into sign, whole part and fraction digits. */
function splitDecimal(text: string): { negative: boolean; whole: string; fraction: string } | null {
  const cleaned = text.trim().replace(/\s+/g, '').replace(/[。．]/g, '.').replace(/[＋]/g, '+').replace(/[－−]/g, '-');
  const full = toAsciiDigits(cleaned);
  let m = DECIMAL.exec(full);
  if (m) return { negative: m[1] === '-', whole: m[2] ?? '0', fraction: m[3] ?? '' };
  m = LEADING_DOT.exec(full);
  if (m) return { negative: m[1] === '-', whole: '0', fraction: m[2] ?? '' };
  return null;
}

/** Full-width digits (from a Chinese IME) to ASCII. */
function toAsciiDigits(text: string): string {
  return text.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
}

/** Scales a decimal text to an integer with `places` decimals; more digits than that are refused. */
function scaled(text: string, places: number): number | null {
  const parts = splitDecimal(text);
  if (!parts) return null;
  if (parts.fraction.length > places) return null;
  const fraction = parts.fraction.padEnd(places, '0');
  const value = Number.parseInt(parts.whole + fraction, 10);
  if (!Number.isSafeInteger(value)) return null;
  return parts.negative ? -value : value;
}

/** "12.5" -> 1250 fen. Negative prices and more than two decimals are refused. */
export function parseYuanToFen(text: string): number | null {
  const fen = scaled(text, 2);
  if (fen === null || fen < 0 || fen > 0xffffffff) return null;
  return fen;
}

/** 1250 -> "12.50". */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(fen));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** "17.6" -> 1760 (hundredths of °C). Up to two decimals; may be negative. */
export function parseCelsiusToCenti(text: string): number | null {
  return scaled(text, 2);
}

/** 1760 -> "17.60" (no unit; the screen adds "°C"). */
export function formatCenti(centi: number): string {
  return formatFen(centi);
}

/** A whole number (kPa, L/h); null if not an integer. */
export function parseInteger(text: string): number | null {
  const t = toAsciiDigits(text.trim());
  if (!/^[+-]?\d+$/.test(t)) return null;
  const n = Number.parseInt(t, 10);
  return Number.isSafeInteger(n) ? n : null;
}
