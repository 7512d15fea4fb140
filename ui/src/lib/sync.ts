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

/**
 * What the bar says went wrong, each cause once: lanes stopped for the same
 * reason are named together (a revoked tablet stops records, photos and
 * orders for one reason, said once), and the latest failure is added only
 * when no stopped lane already says it. `lanes` is empty for a failure
 * that stopped nothing (the lanes retry).
 */
export interface SyncAlert {
  lanes: string[];
  code: string;
  message: string;
}

export function syncAlerts(s: SyncStatus): SyncAlert[] {
  const alerts: SyncAlert[] = [];
  for (const lane of stoppedLanes(s)) {
    const same = alerts.find((a) => a.code === lane.state.code);
    if (same) same.lanes.push(lane.lane);
    else alerts.push({ lanes: [lane.lane], code: lane.state.code, message: lane.state.message });
  }
  const last = lastSyncError(s);
  if (last && !alerts.some((a) => a.code === last.code)) alerts.unshift({ lanes: [], ...last });
  return alerts;
}

/** Errors whose own words say what to do: no "contact support" beside them. */
export const SELF_EXPLAINING_STOPS = new Set(['device_revoked', 'technician_revoked']);

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
