/**
 * The office console's only way to the server: same-origin fetch with the
 * session cookie, the session's CSRF token on every change, and every
 * failure as the server's `{error, message}` (or `network` when it cannot
 * be reached).
 */

export interface ApiError {
  code: string;
  message: string;
  status: number;
}

export interface Operator {
  username: string;
  name: string;
  roles: string[];
}

export interface Session {
  operator: Operator;
  csrf_token: string;
}

let csrfToken: string | null = null;

export function isApiError(e: unknown): e is ApiError {
  return typeof e === 'object' && e !== null && 'code' in e && 'status' in e;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw { code: 'network', message: '', status: 0 } satisfies ApiError;
  }
  const text = await resp.text();
  const json = text ? parse(text) : null;
  if (!resp.ok) {
    const err = (json ?? {}) as { error?: string; message?: string };
    throw { code: err.error ?? `http_${resp.status}`, message: err.message ?? '', status: resp.status } satisfies ApiError;
  }
  return json as T;
}

/** The live session, or null when signed out (401). */
export async function currentSession(): Promise<Session | null> {
  try {
    const s = await api<Session>('GET', '/v1/office/session');
    csrfToken = s.csrf_token;
    return s;
  } catch (e) {
    if (isApiError(e) && e.status === 401) return null;
    throw e;
  }
}

export async function signIn(username: string, password: string): Promise<Session> {
  const s = await api<Session>('POST', '/v1/office/session', { username, password });
  csrfToken = s.csrf_token;
  return s;
}

export async function signOut(): Promise<void> {
  try {
    await api<unknown>('DELETE', '/v1/office/session');
  } finally {
    csrfToken = null;
  }
}

// --- Reports (manager): GET /v1/office/reports, households and tests. ---

export type ReportGroup = 'station' | 'community' | 'technician';

export interface KindTally {
  kind: string;
  met: number;
  missed: number;
  pending: number;
  rate_permille?: number;
}

export interface FollowUpTally {
  satisfied: number;
  unsatisfied: number;
  unreachable: number;
  not_called: number;
}

export interface ReportRow {
  key: string;
  label: string;
  orders: number;
  cancelled: number;
  by_category: { category: string; orders: number }[];
  deadlines: KindTally[];
  tests_compliant: number;
  tests_non_compliant: number;
  compliance_rate_permille?: number;
  follow_up: FollowUpTally;
  repeat_repairs: number;
}

export interface Report {
  period: { from: string; to: string };
  group: ReportGroup;
  rows: ReportRow[];
  total: ReportRow;
}

export function reportQuery(from: string, to: string, group: ReportGroup): string {
  return new URLSearchParams({ from, to, group }).toString();
}

export function fetchReport(from: string, to: string, group: ReportGroup): Promise<Report> {
  return api<Report>('GET', `/v1/office/reports?${reportQuery(from, to, group)}`);
}

/** The same report as CSV for Excel, header in the console's language. */
export function reportCsvUrl(from: string, to: string, group: ReportGroup, lang: string): string {
  return `/v1/office/reports?${reportQuery(from, to, group)}&format=csv&lang=${encodeURIComponent(lang)}`;
}

/** One page of a cursor-paginated list and the next page's path (RFC 8288 `Link: <…>; rel="next"`), if any. */
export interface Page<T> {
  items: T[];
  next: string | null;
  /** The board only: orders its background rebuild has still to judge (`X-Board-Rebuilding`). */
  rebuilding?: number;
}

/** The `rel="next"` target of a Link header when it is a same-origin path, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (!m) continue;
    const rels = /(?:^|;)\s*rel\s*=\s*"?([^";]*)"?/i.exec(m[2] ?? '');
    const target = m[1] ?? '';
    if ((rels?.[1] ?? '').toLowerCase().split(/\s+/).includes('next') && target.startsWith('/')) return target;
  }
  return null;
}

/** GET a list page: the array body and the next page from the Link header. */
export async function apiPage<T>(path: string): Promise<Page<T>> {
  let resp: Response;
  try {
    resp = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch {
    throw { code: 'network', message: '', status: 0 } satisfies ApiError;
  }
  const text = await resp.text();
  const json = text ? parse(text) : null;
  if (!resp.ok) {
    const err = (json ?? {}) as { error?: string; message?: string };
    throw { code: err.error ?? `http_${resp.status}`, message: err.message ?? '', status: resp.status } satisfies ApiError;
  }
  const page: Page<T> = { items: (json ?? []) as T[], next: nextLink(resp.headers.get('Link')) };
  const rebuilding = Number(resp.headers.get('X-Board-Rebuilding') ?? '');
  if (Number.isInteger(rebuilding) && rebuilding > 0) page.rebuilding = rebuilding;
  return page;
}
