//! "Today": the work orders assigned to this tablet's technicians, nearest
//! deadline first, overdue at the top — what a technician opens the app to.
//! Built from the feed's work-order snapshots (`{order, status, …}` as the
//! server publishes them) and the company rule set.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hearth_domain::{
    ConcludedVisit, DeadlineKind, DeadlineState, DeadlineStatus, RuleSet, WorkOrder, deadlines,
};
use serde::Serialize;
use serde_json::Value;

use crate::views::OrderKind;

/// Why a snapshot could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum TodayError {
    #[error("work order snapshot {id} cannot be read: {reason}")]
    UnreadableSnapshot { id: String, reason: String },
}

impl TodayError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnreadableSnapshot { .. } => "unreadable_work_order",
        }
    }
}

/// One line of the list (`TodayView` in the UI).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "TodayView"))]
pub struct TodayItem {
    pub order: WorkOrder,
    /// The nearest deadline the technician still has to meet, if any.
    pub next_deadline: Option<DeadlineStatus>,
    pub overdue: bool,
    /// Which screen the order opens.
    pub kind: OrderKind,
    /// Earlier repairs at this home within the repeat window (重复报修),
    /// as the office found them when it filed the order.
    pub repeat_of: Vec<String>,
    /// How the visit in progress ended (nobody home, not resolved, …), until
    /// another visit begins: the card says so instead of counting down.
    pub visit_outcome: Option<ConcludedVisit>,
}

/// The deadlines that are the technician's to meet; the follow-up call is
/// customer service's.
fn technicians_deadline(kind: DeadlineKind) -> bool {
    !matches!(kind, DeadlineKind::FollowUpCall)
}

/// Reads the feed's snapshots: orders the office cancelled or closed are not
/// work for today. A snapshot that cannot be read is an error, not a silent gap.
pub fn orders_from_feed(snapshots: &[(String, u64, Value)]) -> Result<Vec<WorkOrder>, TodayError> {
    let mut orders = Vec::with_capacity(snapshots.len());
    for (id, _rev, body) in snapshots {
        let unreadable = |reason: String| TodayError::UnreadableSnapshot { id: id.clone(), reason };
        let status = body.get("status").and_then(Value::as_str).unwrap_or("open");
        if status != "open" {
            continue;
        }
        let order =
            body.get("order").cloned().ok_or_else(|| unreadable("no order in the snapshot".into()))?;
        orders.push(serde_json::from_value(order).map_err(|e| unreadable(e.to_string()))?);
    }
    Ok(orders)
}

/// The repeat-repair flags the office put on the feed's orders, by order id
/// (orders without one are absent).
pub fn repeat_flags(snapshots: &[(String, u64, Value)]) -> HashMap<String, Vec<String>> {
    snapshots
        .iter()
        .filter_map(|(id, _rev, body)| {
            let earlier: Vec<String> = body
                .get("repeat_of")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            (!earlier.is_empty()).then(|| (id.clone(), earlier))
        })
        .collect()
}

/// Sets each item's repeat-repair flag from `flags` ([`repeat_flags`]).
pub fn flag_repeats(items: &mut [TodayItem], flags: &HashMap<String, Vec<String>>) {
    for item in items {
        if let Some(earlier) = flags.get(item.order.id.as_str()) {
            item.repeat_of = earlier.clone();
        }
    }
}

/// Sets each item's ended visit, by order id (orders absent have none).
pub fn set_visit_outcomes(items: &mut [TodayItem], mut outcomes: HashMap<String, ConcludedVisit>) {
    for item in items {
        item.visit_outcome = outcomes.remove(item.order.id.as_str());
    }
}

/// The list, nearest unmet deadline first (overdue ones are the nearest);
/// orders with every deadline met go last, oldest first.
pub fn today(orders: Vec<WorkOrder>, rules: &RuleSet, now: DateTime<Utc>) -> Vec<TodayItem> {
    let mut items: Vec<TodayItem> = orders
        .into_iter()
        .map(|order| {
            let next_deadline = deadlines(&order, rules, now)
                .into_iter()
                .filter(|d| technicians_deadline(d.kind))
                .filter(|d| {
                    matches!(
                        d.state,
                        DeadlineState::Open | DeadlineState::AtRisk | DeadlineState::Missed { at: None }
                    )
                })
                .min_by_key(|d| d.due);
            let overdue =
                matches!(next_deadline, Some(DeadlineStatus { state: DeadlineState::Missed { .. }, .. }));
            let kind = OrderKind::of(order.category);
            TodayItem { order, next_deadline, overdue, kind, repeat_of: vec![], visit_outcome: None }
        })
        .collect();
    items.sort_by(|a, b| match (&a.next_deadline, &b.next_deadline) {
        (Some(x), Some(y)) => x.due.cmp(&y.due).then_with(|| a.order.id.as_str().cmp(b.order.id.as_str())),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.order.received_at.cmp(&b.order.received_at),
    });
    items
}

/// The search box: work order id, address, customer name or fault, in any
/// part, ignoring case; an empty query keeps everything.
pub fn search(items: &[TodayItem], query: &str) -> Vec<TodayItem> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return items.to_vec();
    }
    items
        .iter()
        .filter(|i| {
            let o = &i.order;
            let a = &o.customer.address;
            [
                o.id.as_str(),
                a.community.as_str(),
                a.building.as_str(),
                a.unit.as_str(),
                a.room.as_str(),
                o.customer.name.expose(),
                o.fault_description.as_str(),
            ]
            .iter()
            .any(|field| field.to_lowercase().contains(&q))
        })
        .cloned()
        .collect()
}
