/**
 * The server address as typed at enrolment: "hearth.example.cn" or
 * "10.0.0.5:8080" is accepted and taken as https:// (the only scheme a
 * production server speaks); http:// is kept when typed (the demo, a LAN).
 */
export function normalizeServerUrl(typed: string): string {
  const s = typed.trim().replace(/\/+$/, '');
  if (s === '') return '';
  if (/^https?:\/\//i.test(s)) return s.replace(/^(https?):\/\//i, (_, scheme: string) => `${scheme.toLowerCase()}://`);
  return `https://${s.replace(/^\/+/, '')}`;
}

/** Whether the scheme was added for the technician (the screen says so before they tap). */
export function schemeAssumed(typed: string): boolean {
  const s = typed.trim();
  return s !== '' && !/^https?:\/\//i.test(s);
}
