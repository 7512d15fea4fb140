/** What the sync bar says, derived from `SyncStatus`. */
import type { LaneStatus, SyncStatus } from '../ipc/types';

export type SyncSummaryState = 'stopped' | 'working' | 'retrying' | 'pending' | 'synced';

export function syncSummaryState(s: SyncStatus): SyncSummaryState {
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
