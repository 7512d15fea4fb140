import { isApiError } from './api';

/** The words for a failure: the code's own text, or the generic one with the server's message. */
export function errorText(e: unknown, t: (key: string, params?: Record<string, string>) => string, has: (key: string) => boolean): string {
  if (isApiError(e)) {
    const key = `error.${e.code}`;
    if (has(key)) return t(key);
    return t('error.generic', { message: e.message || e.code });
  }
  return t('error.generic', { message: String(e) });
}
