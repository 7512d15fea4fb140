/** Views as the Rust side answers them, for the component tests. */
import type { RecordView, StepView, TodayView, VisitView } from '../../src/ipc/types';

export function record(seq: number, schema: string, over: Partial<RecordView> = {}): RecordView {
  return {
    seq,
    record_id: `r${seq}`,
    schema,
    work_order_id: 'WO-R-1',
    sealed_at_ms: Date.UTC(2026, 10, 23, 2, seq),
    state: 'sealed',
    flags: [],
    supersedes: null,
    reason: null,
    superseded_by: null,
    may_withdraw: false,
    ...over,
  };
}

const at = (min: number) => new Date(Date.UTC(2026, 10, 23, 2, min)).toISOString();

export const doneSteps: StepView[] = [
  {
    step: 'appointment',
    at: at(1),
    evidence: { step: 'appointment', agreed: { start: at(60), end: at(120) }, customer_confirmed: true },
    record: record(1, 'hearth.visit_step/1'),
    earlier: [],
  },
  {
    step: 'arrival',
    at: at(2),
    evidence: { step: 'arrival', body_camera_on: true, knocked_gently: true, work_id_shown: true, photos: [] },
    record: record(2, 'hearth.visit_step/1'),
    earlier: [],
  },
  {
    step: 'entry',
    at: at(3),
    evidence: { step: 'entry', uniform: true, badge: true, shoe_covers: true },
    record: record(3, 'hearth.visit_step/1'),
    earlier: [],
  },
];

export function visitView(over: Partial<VisitView> = {}): VisitView {
  return {
    work_order_id: 'WO-R-1',
    next_step: 'communicate',
    steps: doneSteps,
    late_notice: null,
    outcome: null,
    signoff: null,
    summary: '',
    visit_number: 1,
    may_start_another_visit: false,
    earlier_visits: [],
    ...over,
  };
}

export function todayView(over: Partial<TodayView> = {}, now = Date.UTC(2026, 10, 23, 2, 0)): TodayView {
  return {
    order: {
      id: 'WO-R-1',
      category: 'repair',
      priority: 'normal',
      customer: {
        name: '赵大妈',
        phone: '13935100002',
        address: { community: '阳光花园', building: '3号楼', unit: '2单元', room: '601' },
      },
      fault_description: '暖气不热',
      appointment: { start: new Date(now + 20 * 3600_000).toISOString(), end: new Date(now + 21 * 3600_000).toISOString() },
      received_at: new Date(now).toISOString(),
      assigned_technicians: ['T0017'],
      milestones: { running_late: false, accepted_at: new Date(now).toISOString() },
    },
    next_deadline: { kind: 'fixed', due: new Date(now + 18 * 3600_000 + 12 * 60_000).toISOString(), state: 'open' },
    overdue: false,
    kind: 'repair',
    repeat_of: [],
    visit_outcome: null,
    ...over,
  } as TodayView;
}
