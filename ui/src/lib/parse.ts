/**
 * Text the technician types, turned into the integers records carry (no
 * floats cross into records): yuan -> fen, °C -> hundredths of a degree.
 * Both return `null` for anything that is not a plain decimal number.
 *
 * The grammar is Rust's (`hearth_domain::input`): `tests/number-vectors.json`
 * is generated from it and `tests/parse.test.ts` holds this module to every
 * vector, so the screens never accept what the tablet refuses.
 */

const DECIMAL = /^([+-]?)(\d+)(?:[.,](\d*))?$/;
const LEADING_DOT = /^([+-]?)[.,](\d+)$/;

/** Splits a decimal text into sign, whole part and fraction digits. */
function splitDecimal(text: string): { negative: boolean; whole: string; fraction: string } | null {
  const cleaned = text.replace(/\s+/g, '').replace(/[。．]/g, '.').replace(/[＋]/g, '+').replace(/[－−]/g, '-');
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
  return parts.negative && value !== 0 ? -value : value;
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

/** "17.6" -> 1760 (hundredths of °C). Up to two decimals; may be negative; may end in its unit. */
export function parseCelsiusToCenti(text: string): number | null {
  const t = text.trim();
  const unit = ['℃', '°C', '°c', '°'].find((u) => t.endsWith(u));
  const value = scaled(unit ? t.slice(0, -unit.length) : t, 2);
  return value === null || value < -0x80000000 || value > 0x7fffffff ? null : value;
}

/** 1760 -> "17.60" (no unit; the screen adds "°C"). */
export function formatCenti(centi: number): string {
  return formatFen(centi);
}

/** A whole number (kPa, L/h); null if not an integer. */
export function parseInteger(text: string): number | null {
  const parts = splitDecimal(text);
  if (!parts || parts.fraction !== '' || /[.,。．]/.test(text)) return null;
  return scaled(text, 0);
}
