/**
 * Integers from records shown as the technician reads them: fen as yuan,
 * hundredths of a degree as °C. Typed text is never parsed here: the one
 * number grammar is Rust's, asked through `ipc.parseNumbers`.
 */

/** 1250 -> "12.50". */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(fen));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** 1760 -> "17.60". */
export function formatCenti(centi: number): string {
  return formatFen(centi);
}
