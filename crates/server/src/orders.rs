//! Work-order snapshots (protocol §7): the body the office writes and the
//! feed carries, who it is for, and the order a technician opened on site
//! as ingest files it. One module both ingest and the office stand on;
//! ingest never calls into the office's HTTP module.
//!
//! The snapshot bodies the office writes (and tablets receive through the
//! feed), and the answer shape of a written snapshot.

use chrono::{DateTime, Utc};
use hearth_domain::{Phone, TechnicianId, WorkOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::storage::{PutSnapshot, Scope, Snapshot, SnapshotKind};

/// Where a work order stands in the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being worked on, or done and waiting for its follow-up call.
    Open,
    /// Withdrawn by the office; it leaves every tablet.
    Cancelled,
    /// The follow-up call reached the customer; the case is closed.
    Closed,
}

impl OrderStatus {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }
}

/// How the follow-up call (回访) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Satisfied,
    Unsatisfied,
    /// Nobody answered: recorded as an attempt; the order stays in the queue.
    Unreachable,
}

impl CallOutcome {
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }

    /// Whether the call reached the customer (and so closes the case).
    pub fn reached(self) -> bool {
        !matches!(self, Self::Unreachable)
    }
}

/// The latest follow-up call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub at: DateTime<Utc>,
    pub outcome: CallOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Assigned,
    Rescheduled,
    Cancelled,
    Milestones,
    FollowUp,
    /// A technician opened the order on site (`hearth.work_order_local/1`).
    OpenedOnSite,
    /// Dispatch confirmed an order opened on site.
    Confirmed,
    /// Dispatch rejected an order opened on site (it is cancelled).
    Rejected,
}

/// One change the office made, newest last. `detail` never holds the
/// customer's name or phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The operator who did it, where the office knows (attribution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// At most this many history entries are kept (the oldest are dropped).
pub const MAX_HISTORY: usize = 200;

/// Where an order a technician opened on site came from; dispatch confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedOnSite {
    /// The tablet's `hearth.work_order_local/1` record.
    pub record_id: String,
    pub device_id: String,
    pub tech_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The body of a work-order snapshot. See the module doc of `office`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrderBody {
    pub order: WorkOrder,
    pub status: OrderStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Set for an order a technician opened on site, until and after dispatch confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_on_site: Option<OpenedOnSite>,
    /// Earlier repair or leak orders at the same home within the repeat
    /// window (重复报修), found when the order was filed or confirmed by
    /// the rule set then in force: the feed carries it to the technician.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeat_of: Vec<String>,
}

impl WorkOrderBody {
    /// A new, open order with no history yet.
    pub fn open(order: WorkOrder) -> Self {
        Self {
            order,
            status: OrderStatus::Open,
            follow_up: None,
            cancellation: None,
            history: vec![],
            opened_on_site: None,
            repeat_of: vec![],
        }
    }

    /// What repeat-repair detection needs to know about this order.
    pub fn repeat_candidate(&self) -> hearth_domain::RepeatCandidate {
        hearth_domain::RepeatCandidate {
            id: self.order.id.as_str().to_owned(),
            category: self.order.category,
            address: self.order.customer.address.clone(),
            received_at: self.order.received_at,
            cancelled: self.status == OrderStatus::Cancelled,
        }
    }

    pub fn note(&mut self, at: DateTime<Utc>, action: Action, detail: Option<String>) {
        self.note_by(at, action, detail, None);
    }

    /// A change attributed to the operator who made it.
    pub fn note_by(&mut self, at: DateTime<Utc>, action: Action, detail: Option<String>, by: Option<String>) {
        self.history.push(HistoryEntry { at, action, detail, by });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
    }
}

/// The body of a technician snapshot. `Debug` leaves out name and phone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicianBody {
    pub tech_id: TechnicianId,
    pub name: String,
    pub phone: Phone,
}

impl std::fmt::Debug for TechnicianBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TechnicianBody").field("tech_id", &self.tech_id).finish_non_exhaustive()
    }
}

/// A snapshot as the office API answers it: `{id, rev, updated_at_ms, body}`.
/// `Debug` shows only the id and rev (bodies hold customer data).
#[derive(Clone, PartialEq, Serialize)]
pub struct SnapshotView {
    pub id: String,
    pub rev: u64,
    pub updated_at_ms: i64,
    pub body: Value,
}

impl std::fmt::Debug for SnapshotView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotView").field("id", &self.id).field("rev", &self.rev).finish_non_exhaustive()
    }
}

impl From<Snapshot> for SnapshotView {
    fn from(s: Snapshot) -> Self {
        Self { id: s.id, rev: s.rev, updated_at_ms: s.updated_at_ms, body: s.body }
    }
}

/// A snapshot body this server wrote but cannot read back is our fault.
pub fn work_order_body(snapshot: &Snapshot) -> ApiResult<WorkOrderBody> {
    serde_json::from_value(snapshot.body.clone())
        .map_err(|e| ApiError::internal(format!("work order {} has an unreadable body: {e}", snapshot.id)))
}

/// Who the feed sends an order to: its technicians' devices while it is not
/// cancelled; nobody once cancelled (tablets get `work_order_removed`). An
/// order a technician opened on site stays on the tablet that opened it
/// until dispatch confirms it: no tablet can put work on another's.
pub fn work_order_scope(body: &WorkOrderBody) -> Scope {
    if body.status == OrderStatus::Cancelled {
        return Scope::default();
    }
    if let Some(origin) = body.opened_on_site.as_ref().filter(|o| o.confirmed_at.is_none()) {
        return Scope { technicians: vec![], device_id: Some(origin.device_id.clone()) };
    }
    let technicians = body.order.assigned_technicians.iter().map(|t| t.as_str().to_owned()).collect();
    Scope { technicians, device_id: None }
}

/// The snapshot that files an order a technician opened on site, from
/// their tablet's `hearth.work_order_local/1` record: open, on that tablet
/// only, awaiting dispatch's confirmation. Ingest writes it in the batch's
/// transaction, only where no order has the id (a resent record, or an
/// office order, leaves the existing one as it is).
pub fn opened_on_site_snapshot(
    order: WorkOrder,
    origin: OpenedOnSite,
    now_ms: i64,
) -> ApiResult<PutSnapshot> {
    let now = hearth_domain::time::ms_to_utc(now_ms);
    let mut body = WorkOrderBody { opened_on_site: Some(origin), ..WorkOrderBody::open(order) };
    let detail = body.opened_on_site.as_ref().map(|o| o.tech_id.clone());
    body.note(now, Action::OpenedOnSite, detail);
    Ok(PutSnapshot {
        kind: SnapshotKind::WorkOrder,
        id: body.order.id.as_str().to_owned(),
        body: serde_json::to_value(&body).map_err(ApiError::internal)?,
        scope: work_order_scope(&body),
        expected_rev: None,
        now_ms,
    })
}
