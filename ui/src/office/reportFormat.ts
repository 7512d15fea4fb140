/** Display helpers of the manager's report: no rule lives here, only how numbers read. */

/** A per-mille rate as "66.7%"; "—" when nothing was decided. */
export function percentText(permille: number | undefined): string {
  return permille === undefined ? '—' : `${(permille / 10).toFixed(1)}%`;
}

/** A bar's length for a per-mille rate on a track `width` wide (0 when there is none). */
export function barLength(permille: number | undefined, width: number): number {
  if (permille === undefined) return 0;
  return Math.round((Math.min(Math.max(permille, 0), 1000) / 1000) * width);
}

/** Lengths of stacked segments for counts on a track `width` wide (all 0 for an empty total). */
export function stack(counts: number[], width: number): { x: number; w: number }[] {
  const total = counts.reduce((a, b) => a + b, 0);
  let x = 0;
  return counts.map((c) => {
    const w = total === 0 ? 0 : Math.round((c / total) * width);
    const seg = { x, w };
    x += w;
    return seg;
  });
}

/** The first and last day of the month holding `now`, in company time (UTC+8), as YYYY-MM-DD. */
export function thisMonth(now: Date): { from: string; to: string } {
  const local = new Date(now.getTime() + 8 * 3_600_000);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const mm = String(m + 1).padStart(2, '0');
  return { from: `${y}-${mm}-01`, to: `${y}-${mm}-${String(last).padStart(2, '0')}` };
}
