/**
 * One error shape in the UI: `AppError {code, message}`. Commands reject with
 * it already; anything else (a JS exception, a string) is normalised here.
 * The screen shows `error.<code>` translated, or a generic text plus the
 * English message for a code the UI does not know.
 */
import type { AppError } from '../ipc/types';

export function isAppError(e: unknown): e is AppError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

export function toAppError(e: unknown): AppError {
  if (isAppError(e)) return { code: e.code, message: e.message };
  if (typeof e === 'string') {
    // A command may reject with the JSON text of the error.
    try {
      const parsed: unknown = JSON.parse(e);
      if (isAppError(parsed)) return { code: parsed.code, message: parsed.message };
    } catch {
      /* not JSON */
    }
    return { code: 'internal', message: e };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}

/** Text for an error: the translation of `error.<code>` if there is one. */
export function errorText(
  err: AppError,
  has: (key: string) => boolean,
  t: (key: string, params?: Record<string, string | number>) => string,
): string {
  const key = `error.${err.code}`;
  if (has(key)) return t(key);
  return t('error.generic', { message: err.message });
}
