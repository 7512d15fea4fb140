//! What crosses to the UI: the inputs commands take and the views they
//! answer with. Plain data, serialised as JSON; with the `ts` feature each
//! type is exported to TypeScript for `ui/src/ipc/bindings`.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use hearth_domain::{
    ConcludedVisit, CustomerSignoff, RoomKind, RoomVerdict, StepEvidence, TestCompliance, VisitStep,
    WorkOrderCategory,
};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A technician as the screens name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TechnicianSummary {
    pub tech_id: String,
    /// From the office's technician list; absent until the feed brought it.
    pub name: Option<String>,
}

/// Enrolment and session, for the first screens and the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppState {
    pub enrolled: bool,
    /// When the office revoked this tablet, if it did (the feed said so): it
    /// seals nothing more and keeps what it has not sent for a rescue export.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub revoked_at_ms: Option<i64>,
    pub device_id: Option<String>,
    pub server_url: Option<String>,
    /// Technicians whose keys live on this tablet.
    pub technicians: Vec<TechnicianSummary>,
    pub signed_in: Option<TechnicianSummary>,
    /// The tablet's UTC offset (the company's zone): the screens show and
    /// read wall-clock times in it, as the summaries and records do.
    pub tz_offset_minutes: i32,
    /// The PIN policy (`hearth_store::vault`): how many digits a PIN has, at
    /// least and at most. The screens check with these, never their own.
    pub pin_min_digits: u32,
    pub pin_max_digits: u32,
}

/// Which screen an order opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Repair,
    TemperatureTest,
}

impl OrderKind {
    pub fn of(category: WorkOrderCategory) -> Self {
        match category {
            WorkOrderCategory::TemperatureTest => Self::TemperatureTest,
            _ => Self::Repair,
        }
    }
}

/// A work order opened on site (a second fault found in the same home).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalOrderInput {
    pub category: WorkOrderCategory,
    pub customer_name: String,
    pub customer_phone: String,
    pub community: String,
    pub building: String,
    pub unit: String,
    pub room: String,
    pub fault: String,
}

/// Where a sealed record is on its way to the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// On this tablet only.
    Sealed,
    /// An attempt to send it was made; no receipt yet.
    Sent,
    /// The server holds it and signed a receipt.
    Receipted,
    /// The server holds it but a rule flagged it for the office to look at.
    NeedsReview,
}

/// One sealed record, as the records screen and the views list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordView {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    pub record_id: String,
    pub schema: String,
    pub work_order_id: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub sealed_at_ms: i64,
    pub state: RecordState,
    /// The server's review flags, when it asked for review.
    pub flags: Vec<String>,
    /// The record this one corrects or voids.
    pub supersedes: Option<String>,
    pub reason: Option<String>,
    /// The record that corrects or voids this one, if any.
    pub superseded_by: Option<String>,
    /// Whether `void_record` would withdraw it now, as the tablet judges
    /// (so the screen never offers a withdrawal it would refuse). Filled by
    /// `records()`; false in the other views, which never offer one.
    pub may_withdraw: bool,
}

/// A step as it stands: the evidence in force and the record that says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StepView {
    pub step: VisitStep,
    pub at: DateTime<Utc>,
    pub evidence: StepEvidence,
    /// A correction's record carries the reason (`record.reason`).
    pub record: RecordView,
    /// Earlier versions, oldest first, each replaced by a correction; both stay on record.
    pub earlier: Vec<StepRevision>,
}

/// A version of a step that a correction replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StepRevision {
    pub evidence: StepEvidence,
    pub record: RecordView,
}

/// The customer was told the technician will be late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LateNoticeInput {
    /// Who was told (the customer, a family member, the property office).
    pub told_whom: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub told_at_ms: i64,
    /// The new expected arrival.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub new_eta_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LateNoticeView {
    pub notice: LateNoticeInput,
    pub record: RecordView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutcomeView {
    pub concluded: ConcludedVisit,
    pub record: RecordView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignoffView {
    pub signoff: CustomerSignoff,
    pub record: RecordView,
}

impl SignoffView {
    /// The view of a recorded sign-off (a visit's or a test's), if any.
    pub(crate) fn of(
        signoff: Option<&(CustomerSignoff, hearth_store::ChainRecord)>,
        view: impl Fn(&hearth_store::ChainRecord) -> Result<RecordView, AppError>,
    ) -> Result<Option<Self>, AppError> {
        signoff.map(|(s, r)| Ok(Self { signoff: s.clone(), record: view(r)? })).transpose()
    }
}

/// A repair visit, rebuilt from the sealed chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitView {
    pub work_order_id: String,
    /// `None` once all seven steps are done.
    pub next_step: Option<VisitStep>,
    pub steps: Vec<StepView>,
    pub late_notice: Option<LateNoticeView>,
    pub outcome: Option<OutcomeView>,
    pub signoff: Option<SignoffView>,
    /// The exact text the customer is shown and signs (zh-CN).
    pub summary: String,
    /// Which visit to this order this is (1 for the first).
    pub visit_number: u32,
    /// This visit ended without a fix (nobody home, entry refused, cannot
    /// finish): the technician may begin another visit from its first step.
    pub may_start_another_visit: bool,
    /// The visits before this one, oldest first, each with how it ended.
    pub earlier_visits: Vec<EarlierVisitView>,
}

/// A visit that ended without a fix, before the one in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EarlierVisitView {
    pub steps: Vec<StepView>,
    pub outcome: OutcomeView,
}

/// The customer's answer to the summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignoffInput {
    Signed {
        signature_png_base64: String,
        /// The signature pad's strokes, as JSON.
        strokes_json: String,
        /// 1 (worst) to 5 (best).
        satisfaction: u8,
        comment: Option<String>,
    },
    Refused {
        reason: String,
    },
}

/// `customer_signoff` answers with the view it signed off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum SignoffResult {
    Visit(VisitView),
    Test(TestView),
}

/// A stored photo, to name in step evidence by `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhotoRef {
    pub sha256: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    pub media_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ThermometerView {
    pub serial: String,
    pub certificate_no: String,
    pub valid_until: NaiveDate,
    /// Whether it may be used today (local date).
    pub usable: bool,
    /// Why not, e.g. `calibration_expired`.
    pub refusal: Option<AppError>,
}

/// One room's reading as typed on the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadingInput {
    pub room_kind: RoomKind,
    pub label: String,
    /// Degrees Celsius as shown on the thermometer, e.g. "17.6" (at most two decimals).
    pub celsius_text: String,
    pub consent_to_enter: bool,
    pub shown_to_customer: bool,
    pub outlier_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadingView {
    pub record: RecordView,
    pub room_kind: RoomKind,
    pub label: String,
    pub centi_celsius: i32,
    pub taken_at: DateTime<FixedOffset>,
    pub required_min: Option<i32>,
    pub verdict: RoomVerdict,
    pub shown_to_customer: bool,
    pub outlier_reason: Option<String>,
    /// The correction (or void) that replaced this reading; both stay on record.
    pub superseded_by: Option<String>,
    /// Withdrawn without a replacement (the test was given up).
    pub withdrawn: bool,
}

/// A temperature test, rebuilt from its start draft and the sealed chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestView {
    pub test_id: String,
    pub work_order_id: String,
    pub performer: TechnicianSummary,
    pub witness: TechnicianSummary,
    pub thermometer: ThermometerView,
    pub started_at: DateTime<FixedOffset>,
    /// Every reading taken, corrected ones beside their corrections.
    pub readings: Vec<ReadingView>,
    /// Live verdict over the readings in force; `None` before the first.
    pub compliance: Option<TestCompliance>,
    /// The co-signed report, once signed.
    pub report: Option<RecordView>,
    pub signoff: Option<SignoffView>,
    /// The exact text the customer is shown and signs (zh-CN).
    pub summary: String,
}

/// The customer's copy of a sign-off: a PDF on the tablet, to print or share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerCopyView {
    pub work_order_id: String,
    /// The sign-off record the copy is of; its QR code holds this id and hash.
    pub signoff_record_id: String,
    pub content_hash: String,
    /// The PDF on this tablet.
    pub path: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}
