// @vitest-environment jsdom
/**
 * The screens mounted in a DOM, the Rust side answered at the IPC boundary
 * (Tauri's own mock of `invoke`): a refused action is said beside its
 * button, with its field marked, and the banner at the top stays empty.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, tick, unmount } from 'svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { AppState, RecordView, TestView, TodayView, VisitView } from '../src/ipc/types';
import { store } from '../src/lib/store.svelte';
import ErrorBanner from '../src/components/ErrorBanner.svelte';
import PhotoInput from '../src/components/PhotoInput.svelte';
import PhotoThumb from '../src/components/PhotoThumb.svelte';
import RecordsList from '../src/components/RecordsList.svelte';
import Summary from '../src/screens/Summary.svelte';
import Test from '../src/screens/Test.svelte';
import Today from '../src/screens/Today.svelte';
import Visit from '../src/screens/Visit.svelte';

type Handler = (cmd: string, args: Record<string, unknown>) => unknown;

const ORDER = 'L-20261204170316-2cbbd061';
const APP: AppState = {
  enrolled: true,
  revoked_at_ms: null,
  device_id: 'D1',
  server_url: 'http://127.0.0.1:8080',
  technicians: [
    { tech_id: 'T0017', name: '王建国' },
    { tech_id: 'T0023', name: '李秀英' },
  ],
  signed_in: { tech_id: 'T0017', name: '王建国' },
  tz_offset_minutes: 480,
  pin_min_digits: 6,
  pin_max_digits: 12,
};

function visitView(next: VisitView['next_step']): VisitView {
  return {
    work_order_id: ORDER,
    next_step: next,
    steps: [],
    late_notice: null,
    outcome: null,
    signoff: null,
    summary: '',
    visit_number: 1,
    may_start_another_visit: false,
    earlier_visits: [],
  };
}

const THERMOMETER = { serial: 'TH-1', certificate_no: 'C-1', valid_until: '2027-06-30', usable: true, refusal: null };
const TEST: TestView = {
  test_id: 'test-1',
  work_order_id: ORDER,
  performer: { tech_id: 'T0017', name: '王建国' },
  witness: { tech_id: 'T0023', name: '李秀英' },
  thermometer: THERMOMETER,
  started_at: '2026-12-04T09:00:00+08:00',
  readings: [],
  compliance: null,
  report: null,
  signoff: null,
  summary: '',
};

function record(seq: number, schema: string): RecordView {
  return {
    seq,
    record_id: `r${seq}`,
    schema,
    work_order_id: ORDER,
    sealed_at_ms: Date.parse('2026-12-04T09:00:00Z'),
    state: 'sealed',
    flags: [],
    supersedes: null,
    reason: null,
    superseded_by: null,
    may_withdraw: true,
  };
}

/** What the Rust side answers: `handlers[cmd]`, then quiet defaults for drafts and sync. */
function answer(handlers: Record<string, Handler>) {
  mockIPC((cmd, args) => {
    const h = handlers[cmd];
    if (h) return h(cmd, (args ?? {}) as Record<string, unknown>);
    if (cmd === 'load_draft') return null;
    if (cmd === 'save_draft') return null;
    throw { code: 'internal', message: `no answer for ${cmd} in this test` };
  });
}

const refuse = (code: string, field?: string) => () => {
  throw field ? { code, message: `${code} (English detail)`, field } : { code, message: `${code} (English detail)` };
};

let target: HTMLElement;
let mounted: Record<string, unknown>[] = [];

function show<P extends Record<string, unknown>>(component: Parameters<typeof mount>[0], props: P) {
  const c = mount(component, { target, props });
  mounted.push(c);
  // The banner is mounted too: a refusal beside a button must leave it empty.
  mounted.push(mount(ErrorBanner, { target }));
  flushSync();
  return c;
}

/** Lets promises from the mocked IPC settle and the DOM update. */
async function settle() {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await tick();
  }
}

const q = <T extends Element = HTMLElement>(id: string) => target.querySelector<T & HTMLElement>(`[data-testid="${id}"]`);
function click(id: string) {
  const el = q<HTMLButtonElement>(id);
  expect(el, `[data-testid=${id}]`).not.toBeNull();
  el!.click();
}
function type(id: string, value: string) {
  const el = q<HTMLInputElement>(id);
  expect(el, `[data-testid=${id}]`).not.toBeNull();
  el!.value = value;
  el!.dispatchEvent(new Event('input', { bubbles: true }));
  el!.dispatchEvent(new Event('change', { bubbles: true }));
}

/** The error said beside the action: its code, its words, and no banner. */
function expectBeside(id: string, code: string) {
  const note = q(id);
  expect(note, `an error at [data-testid=${id}]`).not.toBeNull();
  expect(note!.dataset.code).toBe(code);
  expect(note!.getAttribute('role')).toBe('alert');
  expect(note!.textContent).not.toMatch(/[{}]|English detail/);
  expect(q('error-banner'), 'the banner at the top stays empty').toBeNull();
  return note!.textContent!.trim();
}

beforeEach(() => {
  target = document.createElement('main');
  document.body.appendChild(target);
  store.app = APP;
  store.error = null;
});
afterEach(() => {
  for (const c of mounted) unmount(c);
  mounted = [];
  target.remove();
  clearMocks();
  store.error = null;
});

describe('errors where the technician is looking', () => {
  it('says a part replaced without consent beside "complete", marking that part’s consent box', async () => {
    answer({ visit: () => visitView('resolve'), parse_numbers: () => [3500], complete_step: refuse('part_without_consent') });
    show(Visit, { workOrderId: ORDER });
    await settle();
    type('field-action', '更换阀芯');
    click('add-part');
    flushSync();
    type('field-part_name_0', '阀芯');
    type('field-part_price_0', '35');
    click('complete-step');
    await settle();
    expect(expectBeside('step-error', 'part_without_consent')).toBe('更换配件须征得用户同意。');
    expect(q('check-part_consented_0')!.getAttribute('aria-invalid')).toBe('true');
    expect(q('check-part_consented_0')!.closest('label')!.classList.contains('invalid')).toBe(true);
  });

  it('names an empty appointment time and what it expects, marking the field', async () => {
    answer({ visit: () => visitView('appointment'), work_order: refuse('unknown_work_order') });
    show(Visit, { workOrderId: ORDER });
    await settle();
    click('complete-step');
    await settle();
    const text = expectBeside('step-error', 'invalid_field');
    expect(text).toContain('预约开始时间');
    expect(text).toContain('请选择日期和时间');
    expect(q('field-agreed_start-day')!.getAttribute('aria-invalid')).toBe('true');
  });

  it('names "abc" in a measurement and opens the folded measurements to show the marked field', async () => {
    answer({ visit: () => visitView('inspect'), parse_numbers: () => [null] });
    show(Visit, { workOrderId: ORDER });
    await settle();
    type('field-findings', '立管温度偏低');
    type('field-riser_this_floor', 'abc');
    click('complete-step');
    await settle();
    const text = expectBeside('step-error', 'invalid_field');
    expect(text).toContain('本层立管温度');
    expect(text).toContain('17.6');
    const field = q('field-riser_this_floor')!;
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(field.closest('details')!.open).toBe(true);
  });

  it('says a reading of 99 °C beside "add reading", marking the reading', async () => {
    answer({ temperature_test: () => TEST, parse_numbers: () => [9900], add_reading: refuse('reading_out_of_range') });
    show(Test, { workOrderId: ORDER });
    await settle();
    type('room-label', '客厅');
    type('reading-celsius', '99');
    const consent = q<HTMLInputElement>('consent')!;
    consent.click();
    await settle();
    click('add-reading');
    await settle();
    expect(expectBeside('reading-error', 'reading_out_of_range')).toBe('读数超出合理范围，请重新测量。');
    expect(q('reading-celsius')!.getAttribute('aria-invalid')).toBe('true');
  });

  it('says a wrong co-sign PIN beside "sign", marking the PINs', async () => {
    const reading = {
      record: record(2, 'hearth.temperature_reading/1'),
      room_kind: 'living_room',
      label: '客厅',
      centi_celsius: 1760,
      taken_at: '2026-12-04T09:10:00+08:00',
      required_min: 1800,
      verdict: 'below_standard',
      shown_to_customer: true,
      outlier_reason: null,
      superseded_by: null,
      withdrawn: false,
    } as TestView['readings'][number];
    // The Rust side names whose PIN it was and the tries left (issue 16 item 4).
    const wrongPin = () => {
      throw { code: 'wrong_pin', message: 'wrong PIN (English detail)', remaining_attempts: 3, tech_id: 'T0023', tech_name: '李秀英' };
    };
    answer({ temperature_test: () => ({ ...TEST, readings: [reading] }), sign_report: wrongPin });
    show(Test, { workOrderId: ORDER });
    await settle();
    type('performer-pin', '123456');
    type('witness-pin-sign', '654321');
    flushSync();
    click('sign-report');
    await settle();
    const said = expectBeside('sign-error', 'wrong_pin');
    expect(said).toContain('李秀英的密码不正确');
    expect(said).toContain('还可以再试 3 次');
    expect(q('performer-pin')!.getAttribute('aria-invalid')).toBe('true');
    expect(q('witness-pin-sign')!.getAttribute('aria-invalid')).toBe('true');
  });

  it('says a refused withdrawal in the withdrawal’s own row', async () => {
    answer({ records: () => [record(1, 'hearth.visit_step/1')], void_record: refuse('void_breaks_visit') });
    show(RecordsList, { workOrderId: ORDER });
    await settle();
    click('withdraw-1');
    flushSync();
    type('withdraw-reason', '录错了');
    click('withdraw-confirm');
    await settle();
    expect(expectBeside('withdraw-error', 'void_breaks_visit')).toBe('只能撤回最后完成的步骤；之前的步骤请更正。');
  });

  it('names a phone of "123" and what a phone must be, marking the phone', async () => {
    answer({
      today: () => [] as TodayView[],
      create_local_order: refuse('invalid_field', 'customer.phone'),
    });
    show(Today, {});
    await settle();
    click('new-order');
    flushSync();
    const fill: [string, string][] = [
      ['new-customer-name', '王女士'],
      ['new-customer-phone', '123'],
      ['new-community', '阳光花园'],
      ['new-building', '3'],
      ['new-unit', '2'],
      ['new-room', '301'],
    ];
    for (const [id, v] of fill) type(id, v);
    flushSync();
    click('new-order-submit');
    await settle();
    const text = expectBeside('new-order-error', 'invalid_field');
    expect(text).toContain('联系电话');
    expect(text).toContain('7–15 位数字');
    expect(q('new-customer-phone')!.getAttribute('aria-invalid')).toBe('true');
    expect(q('new-customer-name')!.getAttribute('aria-invalid')).toBeNull();
  });

  it('names the first empty field of an empty running-late form', async () => {
    answer({ visit: () => visitView('arrival') });
    show(Visit, { workOrderId: ORDER });
    await settle();
    click('late-open');
    flushSync();
    click('late-submit');
    await settle();
    const text = expectBeside('late-error', 'invalid_field');
    expect(text).toContain('告知了谁');
    expect(text).not.toContain('{message}');
    expect(q('late-told-whom')!.getAttribute('aria-invalid')).toBe('true');
  });
});

describe('no English or machine text in the Chinese screens', () => {
  it('offers photos with a labelled button in Chinese, the camera kept, no native "Choose Files"', async () => {
    answer({});
    show(PhotoInput, { photos: [] });
    const button = q('photo-input-button')!;
    expect(button.textContent).toContain('拍照或选择照片');
    const input = q<HTMLInputElement>('photo-input')!;
    expect(input.classList.contains('visually-hidden')).toBe(true);
    expect(input.getAttribute('capture')).toBe('environment');
    expect(button.contains(input), 'the label is the button that opens the camera').toBe(true);
  });

  it('shows no hash under a photo', async () => {
    const sha = '9296a1f0c3b2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5f6b';
    answer({ photo_thumbnail: () => 'data:image/jpeg;base64,AAAA' });
    show(PhotoThumb, { sha256: sha });
    await settle();
    expect(target.textContent).not.toContain(sha.slice(0, 12));
    expect(target.querySelector('img')!.alt).toBe('第 1 张照片');
  });

  it('says where the customer’s copy is in words, not as a file path', async () => {
    answer({
      visit: () => ({ ...visitView(null), signoff: { signoff: { kind: 'refused' } } as unknown as VisitView['signoff'] }),
      customer_copy: () => ({ path: '/home/t/.local/share/hearth/copies/0193.pdf' }),
    });
    show(Summary, { kind: 'visit', workOrderId: ORDER });
    await settle();
    const where = q('customer-copy-path')!;
    expect(where.textContent).toContain('用户联保存在本平板');
    expect(target.textContent).not.toContain('/home/');
    expect(target.textContent).not.toContain('.pdf');
  });

  it('shows an order opened on site by when it was opened, not by its id', async () => {
    answer({ visit: () => visitView('appointment'), work_order: refuse('unknown_work_order') });
    show(Visit, { workOrderId: ORDER });
    await settle();
    expect(q('order-label')!.textContent).toBe('现场开单 12月4日 17:03');
    expect(target.textContent).not.toContain('2cbbd061');
  });

  it('leaves an empty time looking empty, in Chinese', async () => {
    answer({ visit: () => visitView('appointment'), work_order: refuse('unknown_work_order') });
    show(Visit, { workOrderId: ORDER });
    await settle();
    const day = q<HTMLSelectElement>('field-agreed_start-day')!;
    expect(day.selectedOptions[0]!.textContent).toBe('未选择');
    expect(target.querySelector('input[type="datetime-local"]')).toBeNull();
  });
});
