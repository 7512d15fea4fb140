/**
 * The types that cross IPC. They are generated from Rust by ts-rs into
 * ./bindings/ (`cargo test -p hearth-tablet --features ts export_bindings`);
 * this module re-exports them and adds the lists the screens iterate over,
 * typed against the generated unions so a new variant fails the check.
 */
import type {
  NoticePlacement,
  RoomKind,
  VisitStep,
  WorkOrderCategory,
} from './bindings';

export type * from './bindings';

/** Every value of a string union, checked both ways at compile time. */
function all<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)): T[] => [...values];
}

export const WORK_ORDER_CATEGORIES = all<WorkOrderCategory>()([
  'repair',
  'leak',
  'temperature_test',
  'valve_open',
  'valve_close',
  'meter_check',
  'complaint',
  'network_burst',
]);

/** The seven steps, in the order they must be done. */
export const VISIT_STEPS = all<VisitStep>()([
  'appointment',
  'arrival',
  'entry',
  'communicate',
  'inspect',
  'resolve',
  'farewell',
]);

/** Where a nobody-home notice can be left; "on the door" last (it is refused). */
export const NOTICE_PLACEMENTS = all<NoticePlacement>()([
  'beside_door',
  'under_door',
  'mailbox',
  'unit_notice_board',
  'property_office',
  'other',
  'on_door',
]);

export const ROOM_KINDS = all<RoomKind>()(['living_room', 'bedroom', 'kitchen', 'bathroom', 'study', 'other']);
