/** Mounts a real Svelte component into jsdom and lets its effects and promises settle. */
import { flushSync, mount, unmount, type Component } from 'svelte';
import { store } from '../../src/lib/store.svelte';
import type { AppState } from '../../src/ipc/types';

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
}

export async function render<P extends Record<string, unknown>>(component: Component<P>, props: P) {
  document.body.innerHTML = '';
  const target = document.createElement('div');
  document.body.appendChild(target);
  const instance = mount(component, { target, props });
  await settle();
  return { target, instance: instance as Record<string, unknown>, destroy: () => unmount(instance) };
}

export const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

export async function click(el: Element | null): Promise<void> {
  if (!el) throw new Error('nothing to click');
  (el as HTMLElement).click();
  await settle();
}

export function appState(over: Partial<AppState> = {}): AppState {
  return {
    enrolled: true,
    revoked_at_ms: null,
    device_id: 'D-1',
    server_url: 'https://hearth.example.cn',
    technicians: [
      { tech_id: 'T0017', name: '王建国' },
      { tech_id: 'T0023', name: '李秀英' },
    ],
    signed_in: { tech_id: 'T0017', name: '王建国' },
    tz_offset_minutes: 480,
    pin_min_digits: 6,
    pin_max_digits: 12,
    ...over,
  };
}

/** The store as the Rust side left it after sign-in. */
export function signedIn(over: Partial<AppState> = {}): void {
  store.app = appState(over);
  store.error = null;
}
