// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('@tauri-apps/api/core', async () => await import('./ipcDouble'));
import { handlers, reset } from './ipcDouble';
import { appState, byTestId, click, render, settle, signedIn } from './mount';
import { IdleClock } from '../../src/lib/idle';
import { normalizeServerUrl, schemeAssumed } from '../../src/lib/serverUrl';
import { store } from '../../src/lib/store.svelte';
import FirstRun from '../../src/screens/FirstRun.svelte';

beforeEach(() => {
  reset();
  signedIn();
});

describe('the inactivity lock', () => {
  it('warns in the last minute before it locks, and not before', () => {
    const clock = new IdleClock(5, 0);
    expect(clock.warning(3 * 60_000 + 59_000)).toBe(false);
    expect(clock.warning(4 * 60_000)).toBe(true);
    expect(Math.ceil(clock.remaining(4 * 60_000 + 30_500) / 1000)).toBe(30);
    expect(clock.warning(5 * 60_000), 'locked, not warning').toBe(false);
    clock.touch(4 * 60_000 + 30_000);
    expect(clock.warning(4 * 60_000 + 31_000), 'a tap puts the lock off').toBe(false);
    // A one-minute lock warns for its last half minute.
    const short = new IdleClock(1, 0);
    expect([short.warning(29_000), short.warning(31_000)]).toEqual([false, true]);
  });

  it('brings the same technician back to where they were after signing in again', async () => {
    store.route = { name: 'test', workOrderId: 'WO-T-1' };
    handlers.sign_out = () => appState({ signed_in: null });
    await store.lock();
    expect(store.route).toEqual({ name: 'sign_in' });
    handlers.sign_in = () => appState();
    store.applyApp(appState());
    expect(store.route).toEqual({ name: 'test', workOrderId: 'WO-T-1' });
  });

  it('sends anyone else to Today', async () => {
    store.route = { name: 'visit', workOrderId: 'WO-R-1' };
    handlers.sign_out = () => appState({ signed_in: null });
    await store.lock();
    store.applyApp(appState({ signed_in: { tech_id: 'T0023', name: '李秀英' } }));
    expect(store.route).toEqual({ name: 'today' });
    // And the next sign-in does not resurrect the old screen.
    store.applyApp(appState());
    expect(store.route).toEqual({ name: 'today' });
  });
});

describe('the server address at enrolment', () => {
  it('takes an address without a scheme as https://, keeps http:// when typed', () => {
    expect(normalizeServerUrl('hearth.example.cn')).toBe('https://hearth.example.cn');
    expect(normalizeServerUrl(' 10.0.0.5:8080/ ')).toBe('https://10.0.0.5:8080');
    expect(normalizeServerUrl('HTTP://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(normalizeServerUrl('https://a.cn')).toBe('https://a.cn');
    expect(schemeAssumed('a.cn')).toBe(true);
    expect(schemeAssumed('http://a.cn')).toBe(false);
  });

  it('enrols with an address typed without http://, saying which address it will use', async () => {
    store.app = appState({ enrolled: false, technicians: [], signed_in: null, server_url: null });
    let sent: unknown;
    handlers.enrol_device = (args) => {
      sent = args;
      return appState({ technicians: [], signed_in: null });
    };
    const { target } = await render(FirstRun, {});
    const fill = async (id: string, text: string) => {
      const el = byTestId(target, id) as HTMLInputElement;
      el.value = text;
      el.dispatchEvent(new Event('input'));
      await settle();
    };
    await fill('server-url', '10.0.0.5:8080');
    expect(byTestId(target, 'server-url-hint')!.textContent).toContain('https://10.0.0.5:8080');
    await fill('device-code', 'ABCD-1234');
    await fill('device-name', '平板 1');
    await click(byTestId(target, 'enrol-device'));
    // jsdom validates forms as browsers do: the submit must not be blocked.
    expect(sent).toMatchObject({ serverUrl: 'https://10.0.0.5:8080' });
  });
});
