// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { handlers, reset } from './ipcDouble';
import { byTestId, click, render, settle, signedIn } from './mount';
import { record, todayView, visitView } from './fixtures';
import Visit from '../../src/screens/Visit.svelte';
import Order from '../../src/screens/Order.svelte';

beforeEach(() => {
  reset();
  signedIn();
  handlers.load_draft = () => null;
  handlers.save_draft = () => null;
  handlers.work_order = () => todayView();
  handlers.parse_numbers = (args) => ((args?.items as unknown[]) ?? []).map(() => null);
});

describe('the visit page shows where the work is', () => {
  it('folds the steps already done and opens the current one', async () => {
    handlers.visit = () => visitView();
    const { target } = await render(Visit, { workOrderId: 'WO-R-1' });
    for (const step of ['appointment', 'arrival', 'entry']) {
      const el = byTestId(target, `step-${step}`)!;
      expect(el.tagName, `${step} is folded`).toBe('DETAILS');
      expect((el as HTMLDetailsElement).open).toBe(false);
    }
    const current = byTestId(target, 'step-communicate')!;
    expect(current.tagName).toBe('SECTION');
    expect(current.querySelector('[data-testid="complete-step"]'), 'the current step can be done').not.toBeNull();
    // Steps still ahead are one line each: no hints, no fields.
    expect(byTestId(target, 'step-farewell')!.querySelector('.hint')).toBeNull();
    expect(byTestId(target, 'jump-current')!.textContent).toContain('四、沟通');
    // A folded step opens to show what was recorded.
    const arrival = byTestId(target, 'step-arrival') as HTMLDetailsElement;
    arrival.open = true;
    expect(arrival.textContent).toContain('完成于');
  });

  it('numbers each heading once', async () => {
    handlers.visit = () => visitView();
    const { target } = await render(Visit, { workOrderId: 'WO-R-1' });
    const headings = [...target.querySelectorAll('h2')].map((h) => h.textContent?.trim() ?? '');
    expect(headings).toContain('一、预约');
    expect(headings.filter((h) => /^\d+\./.test(h))).toEqual([]);
  });

  it('does not show a visit that ended with nobody home as a success', async () => {
    const ended = visitView({
      next_step: 'arrival',
      steps: [],
      outcome: {
        concluded: {
          at: '2026-11-23T03:00:00Z',
          outcome: { kind: 'nobody_home', knocks: [], notice_placement: 'mailbox' },
        },
        record: record(9, 'hearth.visit_outcome/1'),
      },
      may_start_another_visit: true,
    });
    handlers.visit = () => ended;
    const { target } = await render(Visit, { workOrderId: 'WO-R-1' });
    const banner = byTestId(target, 'visit-concluded')!;
    expect(banner.textContent).toContain('到访不遇');
    expect(banner.className).not.toMatch(/verdict-ok|tone-ok/);
  });
});

describe('nobody home: three knocks, each after the regulation\'s wait', () => {
  it('offers the next knock only 30 seconds after the last', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    try {
      vi.setSystemTime(Date.UTC(2026, 10, 23, 2, 30));
      handlers.visit = () => visitView({ next_step: 'arrival', steps: [] });
      const { target } = await render(Visit, { workOrderId: 'WO-R-1' });
      await click(byTestId(target, 'nobody-home-open'));
      const knock = () => byTestId(target, 'knock-now') as HTMLButtonElement;
      expect(knock().disabled).toBe(false);
      await click(knock());
      expect(knock().disabled, 'a second tap right away is not a second knock').toBe(true);
      expect(knock().textContent).toContain('再等 30 秒');
      vi.advanceTimersByTime(12_000);
      await settle();
      expect(knock().textContent).toContain('再等 18 秒');
      vi.advanceTimersByTime(18_000);
      await settle();
      expect(knock().disabled).toBe(false);
      expect(knock().textContent).toContain('第 2 次敲门');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a concluded visit still reaches the customer\'s copy', () => {
  it('offers the sign-off and the copy after the visit ended resolved', async () => {
    const { store } = await import('../../src/lib/store.svelte');
    const signed = visitView({
      next_step: null,
      outcome: {
        concluded: { at: '2026-11-23T05:00:00Z', outcome: { kind: 'resolved' } },
        record: record(10, 'hearth.visit_outcome/1'),
      },
      signoff: {
        signoff: {
          kind: 'signed',
          signature_png_sha256: 'a'.repeat(64),
          strokes_sha256: 'b'.repeat(64),
          summary_shown: '维修完成',
          satisfaction: 5,
        },
        record: record(9, 'hearth.customer_signoff/1'),
      } as never,
    });
    handlers.visit = () => signed;
    const { target } = await render(Visit, { workOrderId: 'WO-R-1' });
    expect(byTestId(target, 'visit-signoff')!.textContent).toContain('用户已签字确认');
    await click(byTestId(target, 'view-signoff'));
    expect(store.route).toEqual({ name: 'summary', kind: 'visit', workOrderId: 'WO-R-1' });
  });
});

describe('the order page offers only what can be done', () => {
  it('offers no "开始入户服务" on a finished order, only to read it', async () => {
    handlers.records = () => [];
    handlers.work_order = () => {
      const v = todayView();
      v.order.milestones.completed_at = '2026-11-23T05:00:00Z';
      return { ...v, next_deadline: null, visit_outcome: { at: '2026-11-23T05:00:00Z', outcome: { kind: 'resolved' } } };
    };
    const { target } = await render(Order, { workOrderId: 'WO-R-1' });
    expect(byTestId(target, 'start-visit')).toBeNull();
    expect(target.textContent).not.toContain('开始入户服务');
    expect(byTestId(target, 'view-work')!.textContent).toContain('查看入户服务记录');
  });

  it('still offers the visit on an order only the office marked completed', async () => {
    handlers.records = () => [];
    handlers.work_order = () => {
      const v = todayView();
      v.order.milestones.completed_at = '2026-11-23T05:00:00Z';
      return { ...v, next_deadline: null };
    };
    const { target } = await render(Order, { workOrderId: 'WO-R-1' });
    expect(byTestId(target, 'start-visit')).not.toBeNull();
    expect(byTestId(target, 'view-work')).toBeNull();
  });

  it('offers 撤回 only where the tablet says it would be accepted', async () => {
    handlers.records = () => [
      record(1, 'hearth.work_order_local/1', { may_withdraw: false }),
      record(2, 'hearth.visit_step/1', { may_withdraw: false }),
      record(3, 'hearth.visit_step/1', { may_withdraw: true }),
      record(4, 'hearth.customer_signoff/1', { may_withdraw: false }),
    ];
    const { target } = await render(Order, { workOrderId: 'WO-R-1' });
    const offered = [...target.querySelectorAll('[data-testid^="withdraw-"]')].map((b) => b.getAttribute('data-testid'));
    expect(offered).toEqual(['withdraw-3']);
    // The order opened here says how it can be withdrawn.
    expect(byTestId(target, 'local-order-blocked')!.textContent).toContain('逐条撤回');
  });

  it('withdraws an order opened by mistake and leaves it', async () => {
    const { store } = await import('../../src/lib/store.svelte');
    handlers.records = () => [record(1, 'hearth.work_order_local/1', { may_withdraw: true })];
    handlers.void_record = () => record(2, 'hearth.void/1', { supersedes: 'r1' });
    const { target } = await render(Order, { workOrderId: 'WO-R-1' });
    await click(byTestId(target, 'withdraw-1'));
    const reason = byTestId(target, 'withdraw-reason') as HTMLInputElement;
    reason.value = '开错了';
    reason.dispatchEvent(new Event('input'));
    await click(byTestId(target, 'withdraw-confirm'));
    expect(store.route).toEqual({ name: 'today' });
  });
});
