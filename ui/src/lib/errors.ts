/**
 * One error shape in the UI: `AppError {code, message, field?}`. Commands
 * reject with it already; anything else (a JS exception, a string) is
 * normalised here. The screen shows `error.<code>` translated — for a field
 * refused, which field and what it expects — and never the English
 * `message`, which the shell has logged.
 */
import type { AppError, ErrorCode } from '../ipc/types';

type Has = (key: string) => boolean;
type T = (key: string, params?: Record<string, string | number>) => string;

export function isAppError(e: unknown): e is AppError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

/** The fields an error may carry beside its code: the input at fault, and what its text names. */
const DETAIL_FIELDS = ['field', 'remaining_attempts', 'tech_id', 'tech_name', 'effective_at_ms'] as const;

function shaped(e: AppError): AppError {
  const out: AppError = { code: e.code, message: e.message };
  const from = e as Record<string, unknown>;
  const to = out as Record<string, unknown>;
  for (const field of DETAIL_FIELDS) {
    if (from[field] !== undefined && from[field] !== null) to[field] = from[field];
  }
  return out;
}

export function toAppError(e: unknown): AppError {
  if (isAppError(e)) return shaped(e);
  if (typeof e === 'string') {
    // A command may reject with the JSON text of the error.
    try {
      const parsed: unknown = JSON.parse(e);
      if (isAppError(parsed)) return shaped(parsed);
    } catch {
      /* not JSON */
    }
    return { code: 'internal', message: e };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}

/** A refusal of one field the screen checked itself, named like the Rust side's. */
export function fieldError(field: string): AppError {
  return { code: 'invalid_field', message: `${field}: not valid`, field };
}

/** `part_price_2` → `part_price`: numbered rows share one label. */
export function fieldName(field: string): string {
  return field.replace(/_\d+$/, '');
}

/** What each field expects, by the key of its words (`expect.<kind>`). */
const FIELD_EXPECTS: Record<string, string> = {
  agreed_start: 'time',
  agreed_end: 'end_time',
  next_start: 'time',
  next_end: 'end_time',
  told_at: 'time',
  new_eta: 'time',
  new_eta_ms: 'eta_after_notice',
  riser_this_floor: 'celsius',
  riser_floor_above: 'celsius',
  riser_floor_below: 'celsius',
  supply_at_inlet: 'celsius',
  return_at_inlet: 'celsius',
  celsius_text: 'celsius',
  branch_pressure_kpa: 'whole',
  branch_flow_litres_per_hour: 'flow',
  part_price: 'yuan',
  part_name: 'text',
  'customer.name': 'text',
  'customer.phone': 'phone',
  'address.community': 'text',
  'address.building': 'text',
  'address.unit': 'text',
  'address.room': 'text',
  label: 'text',
  reason: 'text',
  customer_side_cause: 'text',
  told_whom: 'text',
  tech_id: 'tech_id',
};

/** The fields an error is about, beyond the one it names: the inputs to mark. */
const CODE_FIELDS: Partial<Record<ErrorCode, string[]>> = {
  part_without_consent: ['part_consented'],
  part_price_not_told: ['part_price'],
  customer_damage_not_confirmed: ['damage_confirmed'],
  reading_out_of_range: ['celsius_text'],
  no_consent_to_enter: ['consent'],
  outlier_needs_reason: ['outlier_reason'],
  wrong_pin: ['pin'],
  pin_format: ['pin'],
  pin_locked_out: ['pin'],
  pins_differ: ['pin_again'],
  same_technician: ['witness'],
  calibration_expired: ['thermometer'],
  unknown_thermometer: ['thermometer'],
  reason_required: ['reason'],
  missing_refusal_reason: ['reason'],
  missing_next_appointment: ['next_start'],
  next_appointment_not_after_visit: ['next_start'],
  appointment_ends_before_start: ['agreed_end', 'next_end'],
  outside_visit_hours: ['agreed_start', 'agreed_end', 'next_start', 'next_end'],
  time_before_previous_step: ['agreed_start'],
  too_few_knocks: ['knocks'],
  knocks_out_of_order: ['knocks'],
  knocks_too_close: ['knocks'],
  missing_phone_attempt: ['phone_attempt'],
  phone_attempt_not_after_knocks: ['phone_attempt'],
  missing_notice_photo: ['notice_photo'],
  notice_stuck_on_door: ['notice_placement'],
};

/** The inputs to mark for `err` (its own field first, then those its code is about). */
export function fieldsOf(err: CodedError | null): string[] {
  if (!err) return [];
  const own = err.field ? [err.field, fieldName(err.field)] : [];
  return [...own, ...(CODE_FIELDS[err.code as ErrorCode] ?? [])];
}

/** An error as the sync lanes report it too: any code, translated if known. */
export interface CodedError {
  code: string;
  message: string;
  field?: string | null;
  remaining_attempts?: number;
  tech_id?: string;
  tech_name?: string;
  effective_at_ms?: number;
}

/** Parameters some texts take beyond the error itself. */
export interface ErrorContext {
  pinMin?: number;
  pinMax?: number;
  /** How a revocation's time is shown (`{time}`). */
  fmtTime?: (ms: number) => string;
}

/**
 * What an error's text may name: `{who}` (the technician's name, else their
 * id), `{remaining_attempts}`, `{time}` (when a revocation took effect), and
 * the PIN's length.
 */
export function errorParams(err: CodedError, ctx: ErrorContext = {}): Record<string, string | number> {
  const params: Record<string, string | number> = { min: ctx.pinMin ?? 6, max: ctx.pinMax ?? 12 };
  const who = err.tech_name ?? err.tech_id;
  if (who) params.who = who;
  if (err.remaining_attempts !== undefined) params.remaining_attempts = err.remaining_attempts;
  if (err.effective_at_ms !== undefined) {
    params.time = (ctx.fmtTime ?? ((ms: number) => new Date(ms).toISOString()))(err.effective_at_ms);
  }
  return params;
}

/**
 * Text for an error, with every placeholder filled: the translation of
 * `error.<code>`; a refused field named with what it expects.
 */
export function errorText(err: CodedError, has: Has, t: T, ctx: ErrorContext = {}): string {
  if (err.code === 'invalid_field' && err.field) {
    const name = fieldName(err.field);
    if (has(`field.${name}`)) {
      const expects = FIELD_EXPECTS[name];
      return t('error.invalid_field_named', {
        field: t(`field.${name}`),
        expected: t(expects ? `expect.${expects}` : 'expect.generic'),
      });
    }
  }
  const key = `error.${err.code}`;
  if (has(key)) {
    const text = t(key, errorParams(err, ctx));
    // An error without the details its full text names (whose PIN, tries
    // left) has a plain text: never an unfilled placeholder.
    if (/\{\w+\}/.test(text) && has(`${key}_plain`)) return t(`${key}_plain`, errorParams(err, ctx));
    return text;
  }
  return t('error.generic', { code: String(err.code) });
}

/** Words for a receipt's review flag; one a newer server invented reads "needs review". */
export function flagText(flag: string, has: Has, t: T): string {
  const key = `record_flag.${flag}`;
  return has(key) ? t(key) : t('record_flag.other');
}
