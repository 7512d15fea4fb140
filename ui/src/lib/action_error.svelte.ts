/**
 * An error that belongs to one action on a screen — a button and the
 * fields it reads — shown beside that button with its fields marked, not
 * in the banner at the top the technician has scrolled away from.
 */
import type { AppError } from '../ipc/types';
import { fieldsOf, toAppError } from './errors';

export class ActionError {
  error = $state<AppError | null>(null);

  set(e: unknown): void {
    this.error = toAppError(e);
  }

  clear(): void {
    this.error = null;
  }

  /** Whether the input named `field` is one the error is about. */
  has(field: string): boolean {
    return fieldsOf(this.error).includes(field);
  }
}
