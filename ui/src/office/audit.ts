/**
 * The audit log as an administrator reads it: each action named in words
 * (not `POST /v1/office/…`), and what it changed, from the states the server
 * read just before and just after (office/audit.rs on the server).
 */

/** Actions by route, most specific first; the key is `admin.audit.action.<key>`. */
const ACTIONS: [string, RegExp, string][] = [
  ['POST', /^\/v1\/office\/session$/, 'login'],
  ['DELETE', /^\/v1\/office\/session$/, 'logout'],
  ['POST', /^\/v1\/office\/work-orders$/, 'create_order'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/assign$/, 'assign'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/reschedule$/, 'reschedule'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/cancel$/, 'cancel'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/confirm$/, 'confirm'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/reject$/, 'reject'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/milestones$/, 'milestones'],
  ['POST', /^\/v1\/office\/work-orders\/[^/]+\/follow-up$/, 'follow_up'],
  ['POST', /^\/v1\/office\/complaints\/[^/]+\/answer$/, 'complaint_answer'],
  ['POST', /^\/v1\/office\/records\/[^/]+\/review$/, 'review'],
  ['POST', /^\/v1\/office\/technicians$/, 'add_technician'],
  ['POST', /^\/v1\/office\/thermometers$/, 'add_thermometer'],
  ['PUT', /^\/v1\/office\/rule-set$/, 'rule_set'],
  ['POST', /^\/v1\/office\/setup\/technicians\/[^/]+\/enrolment-code$/, 'technician_code'],
  ['POST', /^\/v1\/office\/setup\/technician-keys\/[^/]+\/revoke$/, 'revoke_technician'],
  ['POST', /^\/v1\/office\/setup\/tablets\/enrolment-code$/, 'tablet_code'],
  ['POST', /^\/v1\/office\/setup\/tablets\/[^/]+\/revoke$/, 'revoke_tablet'],
  ['POST', /^\/v1\/office\/setup\/accounts$/, 'add_account'],
  ['POST', /^\/v1\/office\/setup\/accounts\/[^/]+\/disable$/, 'disable_account'],
  ['POST', /^\/v1\/office\/setup\/accounts\/[^/]+\/enable$/, 'enable_account'],
];

/** The i18n key naming an action, or null for a route this console does not know (shown as method and path). */
export function auditActionKey(method: string, path: string): string | null {
  const hit = ACTIONS.find(([m, re]) => m === method && re.test(path));
  return hit ? `admin.audit.action.${hit[2]}` : null;
}

export interface AuditChange {
  /** Dotted path in the state, e.g. `body.status`. */
  field: string;
  before: string;
  after: string;
}

/** Fields that change with every write and say nothing to a person. */
const NOISE = new Set(['updated_at_ms']);
const MAX_TEXT = 120;

function text(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function walk(field: string, a: unknown, b: unknown, out: AuditChange[]): void {
  if (same(a, b)) return;
  // A side that is absent compares as empty, so a creation lists its fields.
  if (isObject(b) && a === undefined) a = {};
  if (isObject(a) && b === undefined) b = {};
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      if (NOISE.has(k)) continue;
      walk(field ? `${field}.${k}` : k, a[k], b[k], out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && b.length > a.length && same(a, b.slice(0, a.length))) {
    // A history that grew: show only what was added.
    for (const added of b.slice(a.length)) out.push({ field, before: '', after: `+ ${text(added)}` });
    return;
  }
  out.push({ field, before: text(a), after: text(b) });
}

/**
 * What changed between two states, field by field. A state that is absent
 * (a creation, or a subject removed) compares against nothing, so every
 * field of the other side is listed.
 */
export function auditChanges(before: unknown, after: unknown): AuditChange[] {
  const out: AuditChange[] = [];
  walk('', before ?? undefined, after ?? undefined, out);
  return out;
}
