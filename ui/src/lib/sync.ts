/** What the sync bar says, derived from `SyncStatus`. */
import type { LaneStatus, SyncStatus } from '../ipc/types';

export type SyncSummaryState = 'not_enrolled' | 'stopped' | 'working' | 'retrying' | 'pending' | 'synced';

export function syncSummaryState(s: SyncStatus): SyncSummaryState {
  // Nothing to sync with yet: never "synced".
  if (!s.enrolled) return 'not_enrolled';
  if (s.lanes.some((l) => l.state.state === 'stopped')) return 'stopped';
  if (s.lanes.some((l) => l.state.state === 'working')) return 'working';
  if (s.lanes.some((l) => l.state.state === 'backing_off')) return 'retrying';
  if (s.pending_records > 0 || s.pending_blobs > 0) return 'pending';
  return 'synced';
}

export function stoppedLanes(s: SyncStatus): (LaneStatus & { state: { state: 'stopped'; code: string; message: string } })[] {
  return s.lanes.filter(
    (l): l is LaneStatus & { state: { state: 'stopped'; code: string; message: string } } => l.state.state === 'stopped',
  );
}

/** The latest failure as an AppError-like pair, if any. */
export function lastSyncError(s: SyncStatus): { code: string; message: string } | null {
  if (!s.last_error) return null;
  const [code, message] = s.last_error;
  return { code, message };
}

/** When the feed last brought news down: a finished pull may have changed the orders. */
export function lastFeedPull(s: SyncStatus | null | undefined): number | null {
  return s?.lanes.find((l) => l.lane === 'feed')?.last_success_ms ?? null;
}
