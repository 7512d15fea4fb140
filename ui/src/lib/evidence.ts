/**
 * The visit step forms as plain data, and their conversion into the domain's
 * `StepEvidence` JSON. Number fields are typed as text; `numberFields`
 * lists them, the tablet's one grammar parses them (`ipc.parseNumbers`), and
 * `buildEvidence` takes the answers, so a wrong entry is named before
 * anything is sealed. The Rust side checks the
 * rules again (required items, consent, order); this only shapes the data.
 */
import type {
  Appointment,
  NumberKind,
  FaultSide,
  InspectEvidence,
  PartReplacement,
  StepEvidence,
  VisitStep,
  Zone,
} from '../ipc/types';
import { localInputToIso, toLocalInput } from './datetime';
import { formatCenti, formatFen } from './parse';

export type TriState = '' | 'yes' | 'no';

export interface PartForm {
  part: string;
  /** Price told to the customer, in yuan as typed; empty = not told. */
  price_yuan: string;
  customer_consented: boolean;
}

export interface StepForm {
  // appointment
  agreed_start: string;
  agreed_end: string;
  customer_confirmed: boolean;
  note: string;
  // arrival
  body_camera_on: boolean;
  knocked_gently: boolean;
  work_id_shown: boolean;
  // entry
  uniform: boolean;
  badge: boolean;
  shoe_covers: boolean;
  // communicate
  confirmed_problem: string;
  paid_service_told: TriState;
  // inspect
  findings: string;
  riser_this_floor: string;
  riser_floor_above: string;
  riser_floor_below: string;
  supply_at_inlet: string;
  return_at_inlet: string;
  blockage_found: TriState;
  manifold_note: string;
  zone: '' | Zone;
  neighbours_in_zone_cold: TriState;
  branch_pressure_kpa: string;
  branch_flow_litres_per_hour: string;
  fault_side: '' | FaultSide;
  // resolve
  action: string;
  parts: PartForm[];
  has_damage: boolean;
  damage_description: string;
  damage_confirmed: boolean;
  meter_replaced: boolean;
  meter_reader_present: boolean;
  customer_present: boolean;
  metering_centre_present: boolean;
  old_meter_serial: string;
  new_meter_serial: string;
  // farewell
  cleaned_up: boolean;
  explained_care: boolean;
  thanked: boolean;
  // any step with photos
  photos: string[];
}

export function emptyStepForm(): StepForm {
  return {
    agreed_start: '',
    agreed_end: '',
    customer_confirmed: false,
    note: '',
    body_camera_on: false,
    knocked_gently: false,
    work_id_shown: false,
    uniform: false,
    badge: false,
    shoe_covers: false,
    confirmed_problem: '',
    paid_service_told: '',
    findings: '',
    riser_this_floor: '',
    riser_floor_above: '',
    riser_floor_below: '',
    supply_at_inlet: '',
    return_at_inlet: '',
    blockage_found: '',
    manifold_note: '',
    zone: '',
    neighbours_in_zone_cold: '',
    branch_pressure_kpa: '',
    branch_flow_litres_per_hour: '',
    fault_side: '',
    action: '',
    parts: [],
    has_damage: false,
    meter_replaced: false,
    meter_reader_present: false,
    customer_present: false,
    metering_centre_present: false,
    old_meter_serial: '',
    new_meter_serial: '',
    damage_description: '',
    damage_confirmed: false,
    cleaned_up: false,
    explained_care: false,
    thanked: false,
    photos: [],
  };
}

/** Which steps take photos. */
export const PHOTO_STEPS: ReadonlySet<VisitStep> = new Set(['arrival', 'inspect', 'resolve', 'farewell']);

/** A field the technician must correct; `field` is the form field's name. */
export interface FieldProblem {
  field: string;
}

export type BuildResult = { ok: true; evidence: StepEvidence } | { ok: false; problem: FieldProblem };

const tri = (v: TriState): boolean | undefined => (v === '' ? undefined : v === 'yes');
const text = (v: string): string | undefined => (v.trim() === '' ? undefined : v.trim());

/** A visit window from two datetime-local values; the end defaults to the start. */
export function appointmentFrom(start: string, end: string): Appointment | null {
  const s = localInputToIso(start);
  if (!s) return null;
  const e = end.trim() === '' ? s : localInputToIso(end);
  if (!e) return null;
  return { start: s, end: e };
}

const CELSIUS_FIELDS = ['riser_this_floor', 'riser_floor_above', 'riser_floor_below', 'supply_at_inlet', 'return_at_inlet'] as const;
const WHOLE_FIELDS = ['branch_pressure_kpa', 'branch_flow_litres_per_hour'] as const;

/** A typed number of a step form: its field name, its kind and its text. */
export type NumberField = [field: string, kind: NumberKind, text: string];

/** The parsed numbers by field name (`null`: the grammar refused the text). */
export type ParsedNumbers = ReadonlyMap<string, number | null>;

/** The step's filled-in number fields, to be parsed before `buildEvidence`. */
export function numberFields(step: VisitStep, f: StepForm): NumberField[] {
  const filled = (fields: NumberField[]) => fields.filter(([, , t]) => t.trim() !== '');
  switch (step) {
    case 'inspect':
      return filled([
        ...CELSIUS_FIELDS.map((name): NumberField => [name, 'celsius', f[name]]),
        ...WHOLE_FIELDS.map((name): NumberField => [name, 'whole', f[name]]),
      ]);
    case 'resolve':
      return filled(f.parts.map((p, i): NumberField => [`part_price_${i}`, 'yuan', p.price_yuan]));
    default:
      return [];
  }
}

export function buildEvidence(step: VisitStep, f: StepForm, numbers: ParsedNumbers = new Map()): BuildResult {
  const number = (field: string): number | null => numbers.get(field) ?? null;
  const fail = (field: string): BuildResult => ({ ok: false, problem: { field } });
  const ok = (evidence: StepEvidence): BuildResult => ({ ok: true, evidence });
  const photos = [...f.photos];
  switch (step) {
    case 'appointment': {
      const agreed = appointmentFrom(f.agreed_start, f.agreed_end);
      if (!agreed) return fail(f.agreed_start.trim() === '' ? 'agreed_start' : 'agreed_end');
      const note = text(f.note);
      return ok({ step, agreed, customer_confirmed: f.customer_confirmed, ...(note ? { note } : {}) });
    }
    case 'arrival':
      return ok({
        step,
        body_camera_on: f.body_camera_on,
        knocked_gently: f.knocked_gently,
        work_id_shown: f.work_id_shown,
        ...noteOf(f),
        photos,
      });
    case 'entry':
      return ok({ step, uniform: f.uniform, badge: f.badge, shoe_covers: f.shoe_covers, ...noteOf(f) });
    case 'communicate': {
      const told = tri(f.paid_service_told);
      return ok({ step, confirmed_problem: f.confirmed_problem.trim(), ...(told === undefined ? {} : { paid_service_told: told }) });
    }
    case 'inspect': {
      const e: InspectEvidence = { findings: f.findings.trim(), photos };
      for (const name of CELSIUS_FIELDS) {
        if (f[name].trim() === '') continue;
        const centi = number(name);
        if (centi === null) return fail(name);
        e[name] = centi;
      }
      for (const name of WHOLE_FIELDS) {
        if (f[name].trim() === '') continue;
        const n = number(name);
        if (n === null || (name === 'branch_flow_litres_per_hour' && n < 0)) return fail(name);
        e[name] = n;
      }
      const blockage = tri(f.blockage_found);
      if (blockage !== undefined) e.blockage_found = blockage;
      const cold = tri(f.neighbours_in_zone_cold);
      if (cold !== undefined) e.neighbours_in_zone_cold = cold;
      const manifold = text(f.manifold_note);
      if (manifold) e.manifold_note = manifold;
      if (f.zone) e.zone = f.zone;
      if (f.fault_side) e.fault_side = f.fault_side;
      return ok({ step, ...e });
    }
    case 'resolve': {
      const parts: PartReplacement[] = [];
      for (const [i, p] of f.parts.entries()) {
        const part: PartReplacement = { part: p.part.trim(), customer_consented: p.customer_consented };
        if (p.price_yuan.trim() !== '') {
          const fen = number(`part_price_${i}`);
          if (fen === null) return fail(`part_price_${i}`);
          part.price_told_cents = fen;
        }
        parts.push(part);
      }
      return ok({
        step,
        action: f.action.trim(),
        parts,
        ...(f.has_damage
          ? { customer_damage: { description: f.damage_description.trim(), customer_confirmed: f.damage_confirmed } }
          : {}),
        ...(f.meter_replaced
          ? {
              meter_replacement: {
                meter_reader_present: f.meter_reader_present,
                customer_present: f.customer_present,
                metering_centre_present: f.metering_centre_present,
                ...(text(f.old_meter_serial) ? { old_meter_serial: f.old_meter_serial.trim() } : {}),
                ...(text(f.new_meter_serial) ? { new_meter_serial: f.new_meter_serial.trim() } : {}),
              },
            }
          : {}),
        photos,
      });
    }
    case 'farewell':
      return ok({
        step,
        cleaned_up: f.cleaned_up,
        explained_care: f.explained_care,
        thanked: f.thanked,
        ...noteOf(f),
        photos,
      });
  }
}

/** The steps whose form has a free note beside its checklist. */
export const NOTE_STEPS: ReadonlySet<VisitStep> = new Set(['appointment', 'arrival', 'entry', 'farewell']);

function noteOf(f: StepForm): { note?: string } {
  const note = text(f.note);
  return note ? { note } : {};
}

// Generated types say `?: T | null` for what serde leaves out.
const triOf = (v: boolean | null | undefined): TriState => (v == null ? '' : v ? 'yes' : 'no');
const centiText = (v: number | null | undefined): string => (v == null ? '' : formatCenti(v));
const intText = (v: number | null | undefined): string => (v == null ? '' : String(v));

/**
 * The form that gives back `evidence` when built: a correction starts from
 * what the step's record says, and the technician changes only what was wrong.
 */
export function formFromEvidence(evidence: StepEvidence): StepForm {
  const f = emptyStepForm();
  switch (evidence.step) {
    case 'appointment':
      f.agreed_start = toLocalInput(Date.parse(evidence.agreed.start));
      f.agreed_end = toLocalInput(Date.parse(evidence.agreed.end));
      f.customer_confirmed = evidence.customer_confirmed;
      f.note = evidence.note ?? '';
      break;
    case 'arrival':
      f.body_camera_on = evidence.body_camera_on;
      f.knocked_gently = evidence.knocked_gently;
      f.work_id_shown = evidence.work_id_shown;
      f.note = evidence.note ?? '';
      f.photos = [...evidence.photos];
      break;
    case 'entry':
      f.uniform = evidence.uniform;
      f.badge = evidence.badge;
      f.shoe_covers = evidence.shoe_covers;
      f.note = evidence.note ?? '';
      break;
    case 'communicate':
      f.confirmed_problem = evidence.confirmed_problem;
      f.paid_service_told = triOf(evidence.paid_service_told);
      break;
    case 'inspect':
      f.findings = evidence.findings;
      f.riser_this_floor = centiText(evidence.riser_this_floor);
      f.riser_floor_above = centiText(evidence.riser_floor_above);
      f.riser_floor_below = centiText(evidence.riser_floor_below);
      f.supply_at_inlet = centiText(evidence.supply_at_inlet);
      f.return_at_inlet = centiText(evidence.return_at_inlet);
      f.blockage_found = triOf(evidence.blockage_found);
      f.manifold_note = evidence.manifold_note ?? '';
      f.zone = evidence.zone ?? '';
      f.neighbours_in_zone_cold = triOf(evidence.neighbours_in_zone_cold);
      f.branch_pressure_kpa = intText(evidence.branch_pressure_kpa);
      f.branch_flow_litres_per_hour = intText(evidence.branch_flow_litres_per_hour);
      f.fault_side = evidence.fault_side ?? '';
      f.photos = [...evidence.photos];
      break;
    case 'resolve':
      f.action = evidence.action;
      f.parts = evidence.parts.map((p) => ({
        part: p.part,
        price_yuan: p.price_told_cents == null ? '' : formatFen(p.price_told_cents),
        customer_consented: p.customer_consented,
      }));
      f.has_damage = evidence.customer_damage != null;
      f.damage_description = evidence.customer_damage?.description ?? '';
      f.damage_confirmed = evidence.customer_damage?.customer_confirmed ?? false;
      f.meter_replaced = evidence.meter_replacement != null;
      f.meter_reader_present = evidence.meter_replacement?.meter_reader_present ?? false;
      f.customer_present = evidence.meter_replacement?.customer_present ?? false;
      f.metering_centre_present = evidence.meter_replacement?.metering_centre_present ?? false;
      f.old_meter_serial = evidence.meter_replacement?.old_meter_serial ?? '';
      f.new_meter_serial = evidence.meter_replacement?.new_meter_serial ?? '';
      f.photos = [...evidence.photos];
      break;
    case 'farewell':
      f.cleaned_up = evidence.cleaned_up;
      f.explained_care = evidence.explained_care;
      f.thanked = evidence.thanked;
      f.note = evidence.note ?? '';
      f.photos = [...evidence.photos];
      break;
  }
  return f;
}
