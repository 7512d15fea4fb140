/**
 * The only module that talks to the Rust side: one typed function per
 * command of docs/app.md. Arguments are passed with camelCase keys (Tauri 2
 * maps them to the commands' snake_case parameters); the payload structs
 * keep their serde (snake_case) field names. Every rejection is normalised
 * to an `AppError`.
 */
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { toAppError } from '../lib/errors';
import type {
  AppState,
  CustomerCopyView,
  LateNoticeInput,
  LocalOrderInput,
  NumberKind,
  PhotoRef,
  ReadingInput,
  RecordView,
  RescueSummary,
  SignoffInput,
  StepEvidence,
  SyncStatus,
  TestView,
  ThermometerView,
  TodayView,
  VisitOutcome,
  VisitView,
} from './types';

export type * from './types';

async function call<T>(command: string, args?: Record<string, unknown> | Uint8Array): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

// ---- typed numbers ---------------------------------------------------------------

/**
 * The tablet's one number grammar (`hearth_domain::input`), asked for each
 * `[kind, text]`: the integer a record carries (°C in hundredths, yuan in
 * fen) or `null` where the text is refused. The screens have no parser.
 */
export const parseNumbers = (items: [NumberKind, string][]) =>
  items.length === 0 ? Promise.resolve([]) : call<(number | null)[]>('parse_numbers', { items });

// ---- session and enrolment --------------------------------------------------

export const appState = () => call<AppState>('app_state');
export const enrolDevice = (serverUrl: string, code: string, name: string) =>
  call<AppState>('enrol_device', { serverUrl, code, name });
export const enrolTechnician = (techId: string, code: string, pin: string, pinAgain: string) =>
  call<AppState>('enrol_technician', { techId, code, pin, pinAgain });
export const signIn = (techId: string, pin: string) => call<AppState>('sign_in', { techId, pin });
export const signOut = () => call<AppState>('sign_out');

// ---- today and work orders ----------------------------------------------------

export const today = (query: string) => call<TodayView[]>('today', { query });
export const workOrder = (workOrderId: string) => call<TodayView>('work_order', { workOrderId });
export const createLocalOrder = (input: LocalOrderInput) => call<TodayView>('create_local_order', { input });
export const acceptOrder = (workOrderId: string) => call<TodayView>('accept_order', { workOrderId });

// ---- repair visit -------------------------------------------------------------

export const visit = (workOrderId: string) => call<VisitView>('visit', { workOrderId });
export const completeStep = (workOrderId: string, evidence: StepEvidence) =>
  call<VisitView>('complete_step', { workOrderId, evidence });
export const correctStep = (workOrderId: string, originalRecordId: string, reason: string, evidence: StepEvidence) =>
  call<VisitView>('correct_step', { workOrderId, originalRecordId, reason, evidence });
export const runningLate = (workOrderId: string, input: LateNoticeInput) =>
  call<VisitView>('running_late', { workOrderId, input });
export const concludeVisit = (workOrderId: string, outcome: VisitOutcome) =>
  call<VisitView>('conclude_visit', { workOrderId, outcome });
export const customerSignoff = (workOrderId: string, input: SignoffInput) =>
  call<VisitView | TestView>('customer_signoff', { workOrderId, input });

/** The customer's copy of the order's sign-off (a PDF on the tablet). */
export const customerCopy = (workOrderId: string) => call<CustomerCopyView>('customer_copy', { workOrderId });
/** Opens the customer's copy in the system's PDF app, to print or share it. */
export const openCustomerCopy = (workOrderId: string) =>
  call<CustomerCopyView>('open_customer_copy', { workOrderId });

// ---- photos -------------------------------------------------------------------

/** The photo's bytes travel as the raw request body, not as base64 JSON. */
export const putPhoto = (bytes: Uint8Array) => call<PhotoRef>('put_photo', bytes);
/** A stored photo's thumbnail as a `data:image/jpeg;base64,…` URL. */
export const photoThumbnail = (sha256: string) => call<string>('photo_thumbnail', { sha256 });

// ---- temperature test ---------------------------------------------------------

export const thermometers = () => call<ThermometerView[]>('thermometers');
export const startTemperatureTest = (
  workOrderId: string,
  witnessTechId: string,
  witnessPin: string,
  thermometerSerial: string,
) => call<TestView>('start_temperature_test', { workOrderId, witnessTechId, witnessPin, thermometerSerial });
export const temperatureTest = (workOrderId: string) => call<TestView | null>('temperature_test', { workOrderId });
export const abandonTemperatureTest = (workOrderId: string, reason: string) =>
  call<void>('abandon_temperature_test', { workOrderId, reason });
export const addReading = (workOrderId: string, input: ReadingInput) =>
  call<TestView>('add_reading', { workOrderId, input });
export const correctReading = (workOrderId: string, originalRecordId: string, reason: string, input: ReadingInput) =>
  call<TestView>('correct_reading', { workOrderId, originalRecordId, reason, input });
export const signReport = (workOrderId: string, performerPin: string, witnessPin: string, customerSideCause: string | null) =>
  call<TestView>('sign_report', { workOrderId, performerPin, witnessPin, customerSideCause });

// ---- records and sync ---------------------------------------------------------

export const records = (workOrderId?: string) =>
  call<RecordView[]>('records', { workOrderId: workOrderId ?? null });
export const voidRecord = (recordId: string, reason: string) => call<RecordView>('void_record', { recordId, reason });
export const syncStatus = () => call<SyncStatus>('sync_status');
export const syncNow = () => call<SyncStatus>('sync_now');
export const connectivityRegained = () => call<void>('connectivity_regained');
export const exportRescue = () => call<RescueSummary>('export_rescue');
/** Shows the newest rescue file in the system's file manager. */
export const revealRescueExport = () => call<void>('reveal_rescue_export');
export const saveDraft = (key: string, json: string) => call<void>('save_draft', { key, json });
export const loadDraft = (key: string) => call<string | null>('load_draft', { key });

/** Subscribes to the `sync-status` event; resolves to the unsubscribe function. */
export async function onSyncStatus(handler: (status: SyncStatus) => void): Promise<UnlistenFn> {
  try {
    return await listen<SyncStatus>('sync-status', (event) => handler(event.payload));
  } catch (e) {
    throw toAppError(e);
  }
}
