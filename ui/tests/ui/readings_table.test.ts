// @vitest-environment jsdom
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { handlers, reset } from './ipcDouble';
import { byTestId, render, signedIn } from './mount';
import { record } from './fixtures';
import Test from '../../src/screens/Test.svelte';

beforeEach(() => {
  reset();
  signedIn();
});

describe('the readings table in portrait (800 × 1280)', () => {
  it('keeps "达标/不达标" on one line and scrolls sideways instead', async () => {
    handlers.temperature_test = () => ({
      test_id: 't1',
      work_order_id: 'WO-T-1',
      performer: { tech_id: 'T0017', name: '王建国' },
      witness: { tech_id: 'T0023', name: '李秀英' },
      thermometer: { serial: 'TM-2291', certificate_no: 'JD-1', valid_until: '2027-06-30' },
      started_at: '2026-11-23T02:00:00Z',
      readings: [
        {
          record: record(1, 'hearth.temperature_reading/1'),
          room_kind: 'living_room',
          label: '客厅',
          centi_celsius: 1640,
          taken_at: '2026-11-23T02:05:00Z',
          required_min: 1800,
          verdict: 'below_standard',
          shown_to_customer: true,
          superseded_by: null,
          withdrawn: false,
        },
      ],
      compliance: null,
      report: null,
      signoff: null,
      summary: '',
    });
    const { target } = await render(Test, { workOrderId: 'WO-T-1' });
    const pill = byTestId(target, 'verdict-1')!;
    expect(pill.textContent).toBe('不达标');
    expect(pill.classList.contains('pill')).toBe(true);
    expect(pill.closest('.table-scroll'), 'the table scrolls sideways when narrow').not.toBeNull();
    const css = readFileSync(join(__dirname, '../../src/styles/app.css'), 'utf8');
    expect(css).toMatch(/\.pill \{[^}]*white-space: nowrap/);
    expect(css).toMatch(/\.table-scroll \{[^}]*overflow-x: auto/);
  });
});
