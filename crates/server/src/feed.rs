//! The downward feed (protocol §7) for one device: the latest snapshot of
//! each thing in `feed_seq` order, filtered to what the device may see.
//! Work orders outside the device's technicians come as removals (ids only).

use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{DeviceKeys, FeedRow, SnapshotKind};

pub const DEFAULT_LIMIT: usize = 200;
pub const MAX_LIMIT: usize = 1000;

/// The technicians whose work this device carries (live keys only).
fn technicians(keys: &DeviceKeys, now: i64) -> Vec<String> {
    let mut ids: Vec<String> = keys
        .technicians
        .iter()
        .filter(|t| t.revoked_at_ms.is_none_or(|r| r > now))
        .map(|t| t.tech_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Changes when the device's scope changes, so an old cursor is answered `reset`.
fn scope_tag(technicians: &[String]) -> String {
    let digest = Sha256::digest(technicians.join("\n").as_bytes());
    hex::encode(&digest[..6])
}

fn cursor(epoch: &str, scope: &str, feed_seq: u64) -> String {
    format!("{epoch}.{scope}.{feed_seq}")
}

fn reset() -> ApiError {
    ApiError::conflict(
        "reset",
        "the feed cannot continue from this cursor: drop server-derived data and start again",
    )
}

fn item(row: FeedRow, device_id: &str, technicians: &[String]) -> Option<FeedItem> {
    let s = row.snapshot;
    let (kind, body) = match s.kind {
        SnapshotKind::WorkOrder
            if s.scope.technicians.iter().any(|t| technicians.contains(t))
                || s.scope.device_id.as_deref() == Some(device_id) =>
        {
            (FeedKind::WorkOrder, Some(s.body))
        }
        SnapshotKind::WorkOrder => (FeedKind::WorkOrderRemoved, None),
        SnapshotKind::ReviewStatus if s.scope.device_id.as_deref() == Some(device_id) => {
            (FeedKind::ReviewStatus, Some(s.body))
        }
        SnapshotKind::ReviewStatus => return None,
        SnapshotKind::Technician => (FeedKind::Technician, Some(s.body)),
        SnapshotKind::Thermometer => (FeedKind::Thermometer, Some(s.body)),
        SnapshotKind::RuleSet => (FeedKind::RuleSet, Some(s.body)),
        SnapshotKind::KeyRevocation => (FeedKind::KeyRevocation, Some(s.body)),
    };
    Some(FeedItem { feed_seq: row.feed_seq, kind, id: s.id, rev: s.rev, body })
}

/// The whole feed of a revoked tablet: that it was revoked, from when. The
/// cursor stays where it was; the item is outside the feed's order (`feed_seq` 0).
pub fn revoked_page(device_id: &str, effective_at_ms: i64, cursor: Option<&str>) -> FeedPage {
    let item = FeedItem {
        feed_seq: 0,
        kind: FeedKind::DeviceRevocation,
        id: device_id.to_owned(),
        rev: 1,
        body: Some(serde_json::json!({"device_id": device_id, "effective_at_ms": effective_at_ms})),
    };
    FeedPage { items: vec![item], cursor: cursor.unwrap_or_default().to_owned(), has_more: false }
}

/// One page of the feed after `cursor` (None: from the beginning).
pub async fn page(
    state: &AppState,
    device_id: &str,
    cursor_text: Option<&str>,
    limit: Option<usize>,
) -> ApiResult<FeedPage> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let keys = state.storage.device_keys(device_id).await?.ok_or_else(ApiError::unauthorized)?;
    let techs = technicians(&keys, state.now_ms());
    let scope = scope_tag(&techs);
    let after = match cursor_text.filter(|c| !c.is_empty()) {
        None => 0,
        Some(text) => {
            let mut parts = text.splitn(3, '.');
            let (epoch, tag, seq) = (parts.next(), parts.next(), parts.next());
            let seq: u64 = seq.and_then(|s| s.parse().ok()).ok_or_else(|| {
                ApiError::bad_request("bad_cursor", "the cursor is not one this server gave")
            })?;
            if epoch != Some(&*state.epoch) || tag != Some(scope.as_str()) {
                return Err(reset());
            }
            seq
        }
    };
    let rows = state.storage.feed_after(after, limit).await?;
    let has_more = rows.len() == limit;
    let last = rows.last().map_or(after, |r| r.feed_seq);
    let items = rows.into_iter().filter_map(|r| item(r, device_id, &techs)).collect();
    Ok(FeedPage { items, cursor: cursor(&state.epoch, &scope, last), has_more })
}
