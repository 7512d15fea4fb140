/**
 * The types that cross IPC. They are generated from Rust by ts-rs into
 * ./bindings/ (`cargo test -p hearth-tablet --features ts export_bindings`);
 * this module re-exports them and adds the lists the screens iterate over,
 * typed against the generated unions so a new variant fails the check.
 */
import type {
  ErrorCode,
  NoticePlacement,
  ReviewFlag,
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

/** Every error code of the Rust side: each must have its words in both languages (tests/i18n). */
export const ERROR_CODES = all<ErrorCode>()([
  'not_enrolled',
  'already_enrolled',
  'bad_server_url',
  'server_unreachable',
  'enrol_unreachable',
  'connection_interrupted',
  'server_busy',
  'bad_answer',
  'server_refused',
  'bad_code',
  'pin_format',
  'pins_differ',
  'wrong_pin',
  'pin_locked_out',
  'unknown_technician',
  'not_signed_in',
  'technician_revoked',
  'device_revoked',
  'unknown_work_order',
  'unreadable_work_order',
  'already_accepted',
  'rule_set_unreadable',
  'outside_visit_hours',
  'appointment_ends_before_start',
  'step_out_of_order',
  'step_already_completed',
  'missing_evidence',
  'part_without_consent',
  'part_price_not_told',
  'customer_damage_not_confirmed',
  'time_before_previous_step',
  'visit_concluded',
  'not_all_steps_done',
  'outcome_not_allowed',
  'missing_next_appointment',
  'next_appointment_not_after_visit',
  'too_few_knocks',
  'knocks_out_of_order',
  'knocks_too_close',
  'missing_phone_attempt',
  'phone_attempt_not_after_knocks',
  'missing_notice_photo',
  'notice_stuck_on_door',
  'missing_refusal_reason',
  'missing_customer_signoff',
  'signoff_before_resolve',
  'signoff_already_recorded',
  'step_not_done',
  'correction_too_late',
  'missing_co_signer',
  'unexpected_signer',
  'same_technician',
  'calibration_expired',
  'unknown_thermometer',
  'no_consent_to_enter',
  'reading_out_of_range',
  'reading_from_another_test',
  'reading_before_test_start',
  'outlier_needs_reason',
  'no_readings',
  'no_living_room_reading',
  'report_readings_mismatch',
  'verdict_mismatch',
  'no_test',
  'test_already_started',
  'report_signed',
  'report_not_signed',
  'not_a_tester',
  'unsupported_photo',
  'photo_too_large',
  'photo_unreadable',
  'unknown_photo',
  'no_signoff',
  'signature_gone',
  'blob_removed',
  'font_missing',
  'no_viewer',
  'reason_required',
  'record_final',
  'record_bound',
  'record_corrected',
  'order_has_records',
  'void_breaks_visit',
  'no_rescue_export',
  'invalid_field',
  'storage',
  'internal',
]);

/** Every review flag the server can attach that the tablet shows. */
export const REVIEW_FLAGS = all<ReviewFlag>()([
  'device_key_revoked',
  'technician_key_revoked',
  'required_signer_missing',
  'signer_repeated',
  'unknown_schema',
  'unknown_work_order',
  'not_assigned',
  'clock_suspect',
  'unbound_reference',
  'invalid_data',
  'unknown_thermometer',
  'report_readings_mismatch',
  'verdict_mismatch',
  'reading_flagged',
  'calibration_expired',
  'reading_out_of_range',
  'no_consent_to_enter',
  'outlier_needs_reason',
  'no_readings',
  'no_living_room_reading',
  'reading_before_test_start',
  'reading_from_another_test',
  'missing_evidence',
  'part_without_consent',
  'part_price_not_told',
  'customer_damage_not_confirmed',
]);
