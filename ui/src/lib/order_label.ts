/**
 * An order as a person reads it. An order opened on site has an id made to
 * be unique offline ("L-20261204170316-2cbbd061": when, then random); it
 * reads "现场开单 12月4日 17:03", its id kept for support in small print.
 * Dispatch's order numbers are already meant for people and stay as they are.
 */
type T = (key: string, params?: Record<string, string | number>) => string;

const LOCAL_ID = /^L-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})-[0-9a-f]+$/;

/** Whether the id is one the tablet made for an order opened on site. */
export function isLocalOrderId(id: string): boolean {
  return LOCAL_ID.test(id);
}

export function orderLabel(id: string, t: T, locale = 'zh-CN'): string {
  const m = LOCAL_ID.exec(id);
  if (!m) return id;
  const [, y, mo, d, h, mi] = m;
  // The id holds the tablet's wall clock; formatted as UTC it stays that clock.
  const wall = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)));
  const date = new Intl.DateTimeFormat(locale, {
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone: 'UTC',
  }).format(wall);
  return t('order.local_label', { date });
}
