/**
 * The PIN policy as the Rust side states it (`AppState.pin_min_digits`,
 * `pin_max_digits`, from the key vault): the screens never keep their own.
 */
import type { AppState } from '../ipc/types';

export interface PinPolicy {
  min: number;
  max: number;
}

/** The policy the app reported; none before the app state is known. */
export function pinPolicy(app: Pick<AppState, 'pin_min_digits' | 'pin_max_digits'> | null | undefined): PinPolicy | null {
  return app ? { min: app.pin_min_digits, max: app.pin_max_digits } : null;
}

/** Whether `pin` is a whole PIN under `policy`: only digits, within the bounds. */
export function pinFits(pin: string, policy: PinPolicy | null): boolean {
  return policy !== null && /^\d+$/.test(pin) && pin.length >= policy.min && pin.length <= policy.max;
}
