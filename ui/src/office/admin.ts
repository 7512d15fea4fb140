/**
 * The administrator's screen, the parts that are logic rather than layout:
 * the time a revocation takes effect (typed in company time) and how a
 * thermometer's calibration is shown.
 */

/** `YYYY-MM-DDTHH:mm` from a datetime-local input, read as company time (UTC+8), as RFC 3339; blank is null (now). */
export function companyInstant(local: string): string | null {
  const t = local.trim();
  if (!t) return null;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(t);
  if (!m) return null;
  return `${m[1]}T${m[2]}${m[3] ?? ':00'}+08:00`;
}

/** The body of a revocation: the effective time only when one was typed, the reason only when given. */
export function revocationBody(local: string, reason: string): { effective_at?: string; reason?: string } {
  const body: { effective_at?: string; reason?: string } = {};
  const at = companyInstant(local);
  if (at) body.effective_at = at;
  if (reason.trim()) body.reason = reason.trim();
  return body;
}

export type Calibration = 'valid' | 'expiring' | 'expired';

/** The pill's class: red for expired, amber for expiring; the text says it too. */
export function calibrationClass(c: Calibration): string {
  return c === 'expired' ? 'bad' : c === 'expiring' ? 'warn' : 'okpill';
}

/** An SVG string as an image address (the CSP allows data: images, not inline markup). */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
