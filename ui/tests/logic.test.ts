import { describe, expect, it } from 'vitest';
import { buildEvidence, emptyStepForm, formFromEvidence, numberFields } from '../src/lib/evidence';
import { errorText, toAppError } from '../src/lib/errors';
import { translate } from '../src/i18n/core';
import zhDict from '../src/i18n/zh-CN.json';
import enDict from '../src/i18n/en.json';
import { IdleClock, parseLockMinutes } from '../src/lib/idle';
import { lastFeedPull, lastSyncError, stoppedLanes, syncAlerts, syncSummaryState } from '../src/lib/sync';
import { recordRows, schemaName } from '../src/lib/records';
import { fromLocalInput, setTzOffsetMinutes, toLocalInput } from '../src/lib/datetime';
import { bytesToBase64 } from '../src/lib/base64';
import type { RecordView, StepEvidence, SyncStatus } from '../src/ipc/types';

/** The integers `evidence` carries in its number fields: what the tablet's grammar answers for their formatted text. */
function numbersIn(evidence: StepEvidence): Map<string, number | null> {
  const e = evidence as unknown as Record<string, unknown>;
  const form = formFromEvidence(evidence);
  return new Map(
    numberFields(evidence.step, form).map(([name]) => {
      const price = /^part_price_(\d+)$/.exec(name);
      const parts = e.parts as { price_told_cents?: number }[] | undefined;
      const value = price ? parts?.[Number(price[1])]?.price_told_cents : e[name];
      return [name, typeof value === 'number' ? value : null];
    }),
  );
}

describe('step evidence JSON', () => {
  it('lists the filled-in number fields with their kind, for the tablet to parse', () => {
    const f = { ...emptyStepForm(), riser_this_floor: ' 45.5', branch_pressure_kpa: '120', supply_at_inlet: '  ' };
    expect(numberFields('inspect', f)).toEqual([
      ['riser_this_floor', 'celsius', ' 45.5'],
      ['branch_pressure_kpa', 'whole', '120'],
    ]);
    const parts = [
      { part: 'a', price_yuan: '35.5', customer_consented: true },
      { part: 'b', price_yuan: '', customer_consented: true },
    ];
    expect(numberFields('resolve', { ...emptyStepForm(), parts })).toEqual([['part_price_0', 'yuan', '35.5']]);
    expect(numberFields('arrival', f)).toEqual([]);
  });
  it('arrival carries the booleans and photo hashes, tagged by step', () => {
    const f = { ...emptyStepForm(), body_camera_on: true, knocked_gently: true, work_id_shown: true, photos: ['ab'] };
    expect(buildEvidence('arrival', f)).toEqual({
      ok: true,
      evidence: { step: 'arrival', body_camera_on: true, knocked_gently: true, work_id_shown: true, photos: ['ab'] },
    });
  });
  it('resolve converts yuan to fen and leaves an untold price absent', () => {
    const f = {
      ...emptyStepForm(),
      action: ' replaced valve ',
      parts: [
        { part: 'valve', price_yuan: '35.5', customer_consented: true },
        { part: 'gasket', price_yuan: '', customer_consented: true },
      ],
      has_damage: true,
      damage_description: 'bent pipe',
      damage_confirmed: true,
    };
    const r = buildEvidence('resolve', f, new Map([['part_price_0', 3550]]));
    expect(r).toEqual({
      ok: true,
      evidence: {
        step: 'resolve',
        action: 'replaced valve',
        parts: [
          { part: 'valve', price_told_cents: 3550, customer_consented: true },
          { part: 'gasket', customer_consented: true },
        ],
        customer_damage: { description: 'bent pipe', customer_confirmed: true },
        photos: [],
      },
    });
  });
  it('a heat meter replacement records who was present, and reads back the same', () => {
    const f = {
      ...emptyStepForm(),
      action: '更换热量表',
      meter_replaced: true,
      meter_reader_present: true,
      customer_present: true,
      metering_centre_present: false,
      new_meter_serial: ' HM-0002 ',
    };
    const r = buildEvidence('resolve', f);
    expect(r).toEqual({
      ok: true,
      evidence: {
        step: 'resolve',
        action: '更换热量表',
        parts: [],
        meter_replacement: {
          meter_reader_present: true,
          customer_present: true,
          metering_centre_present: false,
          new_meter_serial: 'HM-0002',
        },
        photos: [],
      },
    });
    if (r.ok) expect(buildEvidence('resolve', formFromEvidence(r.evidence))).toEqual(r);
  });
  it('names the field when a price cannot be read', () => {
    const f = { ...emptyStepForm(), action: 'x', parts: [{ part: 'p', price_yuan: 'ten', customer_consented: true }] };
    expect(buildEvidence('resolve', f, new Map([['part_price_0', null]]))).toEqual({ ok: false, problem: { field: 'part_price_0' } });
  });
  it('inspect keeps only what was measured, temperatures in hundredths', () => {
    const f = { ...emptyStepForm(), findings: 'air in radiator', riser_this_floor: '45.5', zone: 'high' as const, blockage_found: 'no' as const };
    expect(buildEvidence('inspect', f, new Map([['riser_this_floor', 4550]]))).toEqual({
      ok: true,
      evidence: { step: 'inspect', findings: 'air in radiator', riser_this_floor: 4550, zone: 'high', blockage_found: false, photos: [] },
    });
    const refused = new Map<string, number | null>([['riser_this_floor', 4550], ['supply_at_inlet', null]]);
    expect(buildEvidence('inspect', { ...f, supply_at_inlet: 'hot' }, refused)).toEqual({ ok: false, problem: { field: 'supply_at_inlet' } });
  });
  it('appointment needs a readable start; the end defaults to it', () => {
    expect(buildEvidence('appointment', emptyStepForm())).toEqual({ ok: false, problem: { field: 'agreed_start' } });
    const r = buildEvidence('appointment', { ...emptyStepForm(), agreed_start: '2025-01-10T09:30', customer_confirmed: true });
    expect(r.ok).toBe(true);
    if (r.ok && r.evidence.step === 'appointment') {
      expect(r.evidence.agreed.start).toBe(r.evidence.agreed.end);
      expect(Date.parse(r.evidence.agreed.start)).toBe(fromLocalInput('2025-01-10T09:30'));
      expect(r.evidence.customer_confirmed).toBe(true);
      expect('note' in r.evidence).toBe(false);
    }
  });
  it('communicate includes paid_service_told only when answered', () => {
    expect(buildEvidence('communicate', { ...emptyStepForm(), confirmed_problem: 'cold' })).toEqual({
      ok: true,
      evidence: { step: 'communicate', confirmed_problem: 'cold' },
    });
    expect(buildEvidence('communicate', { ...emptyStepForm(), confirmed_problem: 'cold', paid_service_told: 'yes' })).toMatchObject({
      evidence: { paid_service_told: true },
    });
  });
});

describe('errors', () => {
  const dict: Record<string, string> = { 'error.wrong_pin': 'Wrong PIN.', 'error.generic': 'Oops ({code})' };
  const has = (k: string) => k in dict;
  const t = (k: string, p?: Record<string, string | number>) => (dict[k] ?? k).replace('{code}', String(p?.code ?? ''));
  it('passes an AppError through and wraps anything else', () => {
    expect(toAppError({ code: 'wrong_pin', message: 'x', extra: 1 })).toEqual({ code: 'wrong_pin', message: 'x' });
    // The numbers an error's text names travel with it.
    const wrong = { code: 'wrong_pin', message: 'x', remaining_attempts: 2, tech_id: 'T0023', tech_name: '李秀英' };
    expect(toAppError(wrong)).toEqual(wrong);
    expect(toAppError(JSON.stringify(wrong))).toEqual(wrong);
    expect(toAppError('{"code":"storage","message":"disk"}')).toEqual({ code: 'storage', message: 'disk' });
    expect(toAppError('boom')).toEqual({ code: 'internal', message: 'boom' });
    expect(toAppError(new Error('bad'))).toEqual({ code: 'internal', message: 'bad' });
  });
  it('translates known codes and falls back to generic text naming the code, never the English message', () => {
    expect(errorText({ code: 'wrong_pin', message: 'x' }, has, t)).toBe('Wrong PIN.');
    expect(errorText({ code: 'brand_new', message: 'detail' }, has, t)).toBe('Oops (brand_new)');
  });
  // Issue 16 item 4: "密码错误次数过多，请稍后再试" after five wrong PINs.
  it('says whose PIN was wrong, how many tries are left, and what to do once the key is gone', () => {
    const tr = (k: string, p?: Record<string, string | number>) => translate(zhDict, enDict, k, p);
    const hasZh = (k: string) => k in zhDict;
    const wrong = errorText({ code: 'wrong_pin', message: 'x', remaining_attempts: 2, tech_id: 'T0023', tech_name: '李秀英' }, hasZh, tr);
    expect(wrong).toContain('李秀英的密码不正确');
    expect(wrong).toContain('还可以再试 2 次');
    const byId = errorText({ code: 'wrong_pin', message: 'x', remaining_attempts: 4, tech_id: 'T0023' }, hasZh, tr);
    expect(byId).toContain('T0023的密码不正确');
    const gone = errorText({ code: 'pin_locked_out', message: 'x', tech_id: 'T0017', tech_name: '王建国' }, hasZh, tr);
    expect(gone).toContain('调度中心');
    expect(gone).toContain('重新登记');
    expect(gone).toContain('王建国');
    expect(gone).not.toContain('稍后再试');
    for (const text of [wrong, byId, gone]) expect(text).not.toMatch(/\{\w+\}/);
  });
});

describe('inactivity lock', () => {
  it('expires after the configured minutes without activity', () => {
    const c = new IdleClock(5, 0);
    expect(c.expired(5 * 60_000 - 1)).toBe(false);
    expect(c.expired(5 * 60_000)).toBe(true);
    c.touch(4 * 60_000);
    expect(c.expired(5 * 60_000)).toBe(false);
    c.minutes = 1;
    expect(c.expired(5 * 60_000)).toBe(true);
  });
  it('reads the stored setting with a default of 5', () => {
    expect(parseLockMinutes(null)).toBe(5);
    expect(parseLockMinutes('10')).toBe(10);
    expect(parseLockMinutes('0')).toBe(5);
    expect(parseLockMinutes('abc')).toBe(5);
  });
});

describe('sync bar', () => {
  const base: SyncStatus = {
    pending_records: 0,
    pending_blobs: 0,
    pending_blob_bytes: 0,
    enrolled: true,
    oldest_pending_ms: null,
    last_receipt_ms: null,
    last_error: null,
    lanes: [],
    reissued_receipts: 0,
  };
  it('says synced, pending, working, retrying or stopped', () => {
    expect(syncSummaryState(base)).toBe('synced');
    expect(syncSummaryState({ ...base, pending_blobs: 2 })).toBe('pending');
    const lane = (state: SyncStatus['lanes'][number]['state']) => ({ lane: 'records', state, last_success_ms: null, last_error: null });
    expect(syncSummaryState({ ...base, lanes: [lane({ state: 'working' })] })).toBe('working');
    expect(syncSummaryState({ ...base, lanes: [lane({ state: 'backing_off', until_ms: 1, failures: 2 })] })).toBe('retrying');
    const stopped = { ...base, lanes: [lane({ state: 'working' }), lane({ state: 'stopped', code: 'conflict', message: 'm' })] };
    expect(syncSummaryState(stopped)).toBe('stopped');
    expect(stoppedLanes(stopped)).toHaveLength(1);
  });
  // Issue 16 item 6: before enrolment the bar said "已同步".
  it('says the tablet is not enrolled rather than synced', () => {
    expect(syncSummaryState({ ...base, enrolled: false })).toBe('not_enrolled');
  });
  it("takes the feed lane's own success as news of a pull", () => {
    const lane = (name: string, at: number | null) => ({ lane: name, state: { state: 'idle' as const }, last_success_ms: at, last_error: null });
    expect(lastFeedPull({ ...base, lanes: [lane('records', 5), lane('feed', 3)] })).toBe(3);
    expect(lastFeedPull(null)).toBeNull();
  });
  // Issue 16: a revoked tablet said "已停止" once per lane and the same words again as the last error.
  it('says each cause once, naming the lanes it stopped', () => {
    const revoked = { state: 'stopped' as const, code: 'device_revoked', message: 'revoked' };
    const lane = (name: string, state: SyncStatus['lanes'][number]['state']) => ({ lane: name, state, last_success_ms: null, last_error: null });
    const s: SyncStatus = {
      ...base,
      last_error: ['device_revoked', 'revoked'],
      lanes: [lane('records', revoked), lane('blobs', revoked), lane('feed', { state: 'idle' })],
    };
    expect(syncAlerts(s)).toEqual([{ lanes: ['records', 'blobs'], code: 'device_revoked', message: 'revoked' }]);
    // A failure that stopped nothing is said on its own, before the stops.
    const other = { ...s, last_error: ['server_unreachable', 'no route'] as [string, string] };
    expect(syncAlerts(other).map((a) => [a.code, a.lanes])).toEqual([
      ['server_unreachable', []],
      ['device_revoked', ['records', 'blobs']],
    ]);
    expect(syncAlerts(base)).toEqual([]);
  });
  it('reads the last error pair', () => {
    expect(lastSyncError(base)).toBeNull();
    expect(lastSyncError({ ...base, last_error: ['server_unreachable', 'no route'] })).toEqual({
      code: 'server_unreachable',
      message: 'no route',
    });
  });
});

describe('records list', () => {
  const rec = (seq: number, id: string, supersedes?: string): RecordView => ({
    seq,
    record_id: id,
    schema: 'hearth.temperature_reading/1',
    work_order_id: null,
    sealed_at_ms: seq,
    state: 'sealed',
    flags: [],
    supersedes: supersedes ?? null,
    reason: null,
    superseded_by: null,
    may_withdraw: false,
  });
  it('shows corrections beside their originals', () => {
    const rows = recordRows([rec(3, 'c', 'a'), rec(1, 'a'), rec(2, 'b')]);
    expect(rows.map((r) => [r.record.record_id, r.depth])).toEqual([
      ['a', 0],
      ['c', 1],
      ['b', 0],
    ]);
  });
  it('names schemas', () => {
    expect(schemaName('hearth.visit_step/1')).toBe('visit_step');
    expect(schemaName('odd')).toBe('odd');
  });
});

describe('a correction starts from the record', () => {
  it('gives back the same evidence for every step when built from the form of a record', () => {
    const records: StepEvidence[] = [
      { step: 'appointment', agreed: { start: '2026-12-01T06:00:00.000Z', end: '2026-12-01T07:00:00.000Z' }, customer_confirmed: true, note: '下午两点' },
      { step: 'arrival', body_camera_on: true, knocked_gently: true, work_id_shown: true, note: '从后门进入', photos: ['ab'.repeat(32)] },
      { step: 'entry', uniform: true, badge: true, shoe_covers: true },
      { step: 'communicate', confirmed_problem: '卧室暖气不热', paid_service_told: false },
      {
        step: 'inspect',
        findings: '阀门堵塞',
        riser_this_floor: 4150,
        return_at_inlet: 3800,
        blockage_found: true,
        zone: 'high',
        branch_pressure_kpa: -20,
        branch_flow_litres_per_hour: 300,
        fault_side: 'customer',
        photos: [],
      },
      {
        step: 'resolve',
        action: '更换阀门',
        parts: [{ part: 'DN20 阀门', price_told_cents: 4500, customer_consented: true }],
        customer_damage: { description: '用户自行改管', customer_confirmed: true },
        photos: [],
      },
      { step: 'farewell', cleaned_up: true, explained_care: true, thanked: true, photos: [] },
    ];
    for (const evidence of records) {
      const built = buildEvidence(evidence.step, formFromEvidence(evidence), numbersIn(evidence));
      expect(built).toEqual({ ok: true, evidence });
    }
  });
});

describe('times on the tablet clock', () => {
  it('shows and reads wall-clock times in the tablet offset, not the webview zone', () => {
    setTzOffsetMinutes(480);
    // 2026-12-01 06:00 UTC is 14:00 in China, whatever zone the test runner is in.
    expect(toLocalInput(Date.UTC(2026, 11, 1, 6, 0))).toBe('2026-12-01T14:00');
    expect(fromLocalInput('2026-12-01T14:00')).toBe(Date.UTC(2026, 11, 1, 6, 0));
    setTzOffsetMinutes(0);
    expect(toLocalInput(Date.UTC(2026, 11, 1, 6, 0))).toBe('2026-12-01T06:00');
    setTzOffsetMinutes(99_999); // refused: stays as it was
    expect(toLocalInput(Date.UTC(2026, 11, 1, 6, 0))).toBe('2026-12-01T06:00');
    setTzOffsetMinutes(480);
  });
});

describe('small helpers', () => {
  it('round-trips datetime-local values', () => {
    const ms = fromLocalInput('2025-03-01T08:05');
    expect(ms).not.toBeNull();
    expect(toLocalInput(ms ?? 0)).toBe('2025-03-01T08:05');
    expect(fromLocalInput('tomorrow')).toBeNull();
  });
  it('encodes bytes as base64 in chunks', () => {
    expect(bytesToBase64(new Uint8Array([104, 105]))).toBe('aGk=');
    const big = new Uint8Array(100_000).fill(65);
    expect(bytesToBase64(big)).toBe(Buffer.from(big).toString('base64'));
  });
});
