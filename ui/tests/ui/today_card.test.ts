// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { reset } from './ipcDouble';
import { byTestId, render, signedIn } from './mount';
import { todayView } from './fixtures';
import OrderCard from '../../src/components/OrderCard.svelte';

const NOW = Date.UTC(2026, 10, 23, 2, 0);

beforeEach(() => {
  reset();
  signedIn();
});

describe('an order card on Today', () => {
  it('does not tick seconds 18 hours ahead, and shows the due time and the appointment', async () => {
    const { target } = await render(OrderCard, { item: todayView({}, NOW), now: NOW, onopen: () => {} });
    const countdown = byTestId(target, 'countdown-WO-R-1')!.textContent ?? '';
    expect(countdown).toContain('18 小时 12 分');
    expect(countdown).not.toMatch(/\d+:\d\d:\d\d/);
    // 18:12 after 10:00 Shanghai is 11-24 04:12; the appointment is 11-24 06:00–07:00.
    expect(byTestId(target, 'due-WO-R-1')!.textContent).toMatch(/11.24.*04:12/);
    expect(byTestId(target, 'appointment-WO-R-1')!.textContent).toMatch(/预约.*06:00.*07:00/);
  });

  it('ticks seconds in the last hour', async () => {
    const item = todayView({ next_deadline: { kind: 'on_site', due: new Date(NOW + 59 * 60_000 + 5_000).toISOString(), state: 'at_risk' } }, NOW);
    const { target } = await render(OrderCard, { item, now: NOW, onopen: () => {} });
    expect(byTestId(target, 'countdown-WO-R-1')!.textContent).toContain('0:59:05');
  });

  it('stops counting down after nobody was home, and says so (not in success green)', async () => {
    const next = { start: new Date(NOW + 24 * 3600_000).toISOString(), end: new Date(NOW + 25 * 3600_000).toISOString() };
    const item = todayView(
      {
        next_deadline: { kind: 'on_site', due: new Date(NOW + 30 * 60_000).toISOString(), state: 'open' },
        visit_outcome: {
          at: new Date(NOW).toISOString(),
          outcome: { kind: 'nobody_home', knocks: [], notice_placement: 'mailbox', next_appointment: next },
        },
      },
      NOW,
    );
    const { target } = await render(OrderCard, { item, now: NOW, onopen: () => {} });
    const cell = byTestId(target, 'countdown-WO-R-1')!;
    expect(cell.textContent).toContain('到访不遇');
    expect(cell.textContent).not.toContain('剩余');
    expect(cell.className).not.toContain('tone-ok');
    expect(byTestId(target, 'ended-WO-R-1')!.className).toContain('verdict-warn');
    expect(byTestId(target, 'appointment-WO-R-1')!.textContent).toMatch(/下次预约.*11.24.*10:00/);
  });
});
