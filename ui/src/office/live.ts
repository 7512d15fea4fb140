/**
 * Live updates for a screen: the server's event stream (GET
 * /v1/office/events) asks for a refetch, debounced, when a tablet syncs or
 * an order changes; polling every 30 s stands in whenever the stream is
 * down, and keeps going anyway because another server on the same database
 * would not tell this one's stream (docs/operations.md).
 */

export interface LiveOptions {
  /** Waits this long after an event for more before refetching (ms). */
  debounceMs?: number;
  /** Polls this often (ms). */
  pollMs?: number;
  /** For tests: the EventSource to use (none: polling only). */
  source?: (url: string) => EventSourceLike | null;
}

/** What `follow` needs of an EventSource. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (e: { data?: string }) => void): void;
  onerror: ((e: unknown) => void) | null;
  close(): void;
}

export const EVENT_NAMES = ['records', 'work_order', 'resync'] as const;

/** Calls `refetch` on events (debounced) and every `pollMs`; returns the stop function. */
export function follow(refetch: () => void, options: LiveOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 500;
  const pollMs = options.pollMs ?? 30_000;
  const open =
    options.source ??
    ((url: string) => (typeof EventSource === 'undefined' ? null : (new EventSource(url) as unknown as EventSourceLike)));
  let pending: ReturnType<typeof setTimeout> | null = null;
  const soon = () => {
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      refetch();
    }, debounceMs);
  };
  const source = open('/v1/office/events');
  if (source) {
    for (const name of EVENT_NAMES) source.addEventListener(name, soon);
    // `ready` says whether anything happened while the stream was down.
    source.addEventListener('ready', (e) => {
      if (missed(e.data)) soon();
    });
  }
  const poll = setInterval(refetch, pollMs);
  return () => {
    clearInterval(poll);
    if (pending) clearTimeout(pending);
    source?.close();
  };
}

/** Whether a `ready` event's data says events were missed (unreadable: yes). */
export function missed(data: string | undefined): boolean {
  try {
    return (JSON.parse(data ?? '') as { missed?: boolean }).missed !== false;
  } catch {
    return true;
  }
}

/** The words key and count for a complaint's working days left: due today, n left, n overdue. */
export function workingDaysText(left: number | null | undefined, overdue: boolean): { key: string; count: number } {
  if (left === null || left === undefined) return { key: 'complaints.no_deadline', count: 0 };
  if (left < 0 || overdue) return { key: 'complaints.overdue_days', count: Math.max(1, -left) };
  if (left === 0) return { key: 'complaints.due_today', count: 0 };
  return { key: 'complaints.days_left', count: left };
}
