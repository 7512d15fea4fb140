// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { reset } from './ipcDouble';
import { render, signedIn } from './mount';
import { record } from './fixtures';
import StepRecord from '../../src/components/StepRecord.svelte';

beforeEach(() => {
  reset();
  signedIn();
});

describe('a recorded inspection', () => {
  it('prints each unit once', async () => {
    const { target } = await render(StepRecord, {
      view: {
        step: 'inspect',
        at: '2026-11-23T02:10:00Z',
        evidence: { step: 'inspect', findings: '入户阀门堵塞', riser_this_floor: 4860, branch_pressure_kpa: 120, branch_flow_litres_per_hour: 300, photos: [] },
        record: record(5, 'hearth.visit_step/1'),
        earlier: [],
      },
    });
    const text = target.textContent ?? '';
    expect(text).toContain('本层立管温度: 48.60 °C');
    expect(text).toContain('支线压力: 120 kPa');
    expect(text).toContain('支线流量: 300 L/h');
    expect(text.match(/°C/g)?.length).toBe(1);
  });
});
