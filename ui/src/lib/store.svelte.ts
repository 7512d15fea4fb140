/**
 * The app's one store: session state from Rust, the current screen, the
 * error banner, sync status and local settings. Screens read it and call
 * `run()` around commands: a failure of an action on a form goes to that
 * form's `ActionError` (shown beside its button), anything else to the banner.
 */
import { untrack } from 'svelte';
import * as ipc from '../ipc';
import type { AppError, AppState, SyncStatus } from '../ipc/types';
import { setTzOffsetMinutes } from './datetime';
import type { ActionError } from './action_error.svelte';
import { toAppError } from './errors';
import { DEFAULT_LOCK_MINUTES, parseLockMinutes } from './idle';

export type Route =
  | { name: 'loading' }
  | { name: 'first_run' }
  | { name: 'technicians'; from?: 'settings' }
  | { name: 'sign_in' }
  | { name: 'today' }
  | { name: 'order'; workOrderId: string }
  | { name: 'visit'; workOrderId: string }
  | { name: 'test'; workOrderId: string }
  | { name: 'summary'; kind: 'visit' | 'test'; workOrderId: string }
  | { name: 'settings' };

const LOCK_KEY = 'hearth.lockMinutes';

function storedLockMinutes(): number {
  try {
    return parseLockMinutes(globalThis.localStorage?.getItem(LOCK_KEY));
  } catch {
    return DEFAULT_LOCK_MINUTES;
  }
}

class Store {
  app = $state<AppState | null>(null);
  route = $state<Route>({ name: 'loading' });
  error = $state<AppError | null>(null);
  sync = $state<SyncStatus | null>(null);
  busy = $state(0);
  lockMinutes = $state(storedLockMinutes());
  /** Where the inactivity lock found the technician: back there once they sign in again. */
  private resume: { techId: string; route: Route } | null = null;

  get signedIn() {
    return this.app?.signed_in ?? null;
  }

  go(route: Route): void {
    this.error = null;
    this.route = route;
  }

  showError(e: unknown): void {
    this.error = toAppError(e);
  }

  /**
   * Runs a command; on failure shows the error beside the action (`here`)
   * or, for what belongs to no form, in the banner; returns undefined then.
   */
  async run<T>(fn: () => Promise<T>, here?: ActionError): Promise<T | undefined> {
    // Untracked: calling run() from an effect must not make it depend on `busy`.
    untrack(() => this.busy++);
    try {
      const result = await fn();
      this.error = null;
      here?.clear();
      return result;
    } catch (e) {
      if (here) here.set(e);
      else this.showError(e);
      return undefined;
    } finally {
      this.busy--;
    }
  }

  /** Takes a new AppState and moves to the screen it implies. */
  applyApp(app: AppState, keepRoute = false): void {
    this.app = app;
    setTzOffsetMinutes(app.tz_offset_minutes);
    if (!app.enrolled) this.go({ name: 'first_run' });
    else if (app.technicians.length === 0) this.go({ name: 'technicians' });
    else if (!app.signed_in) this.go({ name: 'sign_in' });
    else if (this.resume && this.resume.techId === app.signed_in.tech_id) this.go(this.resume.route);
    else if (!keepRoute) this.go({ name: 'today' });
    // Only the one who was locked out goes back to their screen; anyone else starts on Today.
    if (app.signed_in) this.resume = null;
  }

  /** The inactivity lock: signs out, remembering the screen for the same technician. */
  async lock(): Promise<void> {
    const who = this.signedIn?.tech_id;
    const here = this.route;
    const returnable = !['loading', 'first_run', 'sign_in', 'technicians'].includes(here.name);
    this.resume = who && returnable ? { techId: who, route: here } : null;
    await this.signOut();
  }

  async start(): Promise<void> {
    const app = await this.run(ipc.appState);
    if (app) this.applyApp(app);
    else this.route = { name: 'first_run' };
  }

  async signOut(): Promise<void> {
    const app = await this.run(ipc.signOut);
    if (app) this.applyApp(app);
  }

  setLockMinutes(minutes: number): void {
    this.lockMinutes = parseLockMinutes(String(minutes));
    try {
      globalThis.localStorage?.setItem(LOCK_KEY, String(this.lockMinutes));
    } catch {
      /* kept for this session only */
    }
  }
}

export const store = new Store();
