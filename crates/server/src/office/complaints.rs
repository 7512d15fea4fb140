//! Complaints (投诉) and customer service's extras: complaints are work
//! orders of the `complaint` category, answered within working days
//! (`hearth_domain::deadlines`, the rule set's `complaint_working_days` and
//! `deadlines.calendar`). Customer service lists them with the working days
//! left and records the answer; the follow-up queue asks whether a call may
//! be made now; every office screen follows the live events (`events`).
//!
//! - `GET /v1/office/complaints[?status=&q=&limit=&cursor=]`: by due time,
//!   soonest (most overdue) first; `status` is `unanswered`, `answered` or
//!   `cancelled`; `q` searches id, customer, phone, address and the
//!   complaint's text. Pages of `limit` (1–200, default 50); the next page
//!   is in the `Link: <…>; rel="next"` header (RFC 8288), absent on the last.
//! - `POST /v1/office/complaints/{id}/answer {answer, expected_rev}`: the
//!   complaint answered now (its `completed_at` milestone, attributed, the
//!   answer in the history); 409 `not_a_complaint`, `already_answered`,
//!   `order_cancelled` / `order_closed`, `stale_revision`.
//! - `GET /v1/office/call-window`: whether a follow-up call may be made now
//!   (`hearth_domain::FollowUpRules::may_call_at`), and the hours.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hearth_domain::{DayWindow, DeadlineKind, DeadlineStatus, WorkOrder, WorkOrderCategory};
use hearth_protocol::api::ErrorBody;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compute::ms_to_utc;
use super::input::{self, bad_field};
use super::model::{Cancellation, FollowUp, OrderStatus, SnapshotView};
use super::paging::{self, PageRequest, SortKey};
use crate::api::ApiJson;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::SnapshotKind;

#[path = "events.rs"]
pub mod events;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/complaints", get(complaints_h))
        .route("/v1/office/complaints/{id}/answer", post(answer_h))
        .route("/v1/office/call-window", get(call_window_h))
        .merge(events::routes())
}

/// Where a complaint stands for customer service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintState {
    Unanswered,
    Answered,
    Cancelled,
}

impl ComplaintState {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "unanswered" => Some(Self::Unanswered),
            "answered" => Some(Self::Answered),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// One complaint with its answer deadline.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintItem {
    pub id: String,
    pub rev: u64,
    pub status: OrderStatus,
    pub state: ComplaintState,
    pub order: WorkOrder,
    /// `complaint_answered`, judged at the server's now (absent once cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DeadlineStatus>,
    /// Whole working days from today to the due day, company time
    /// (`hearth_domain::working_days_left`): 0 due today, negative overdue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_days_left: Option<i64>,
    /// When it was answered (the effective `completed_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
}

impl ComplaintItem {
    /// Sort key and cursor: the due time (cancelled last), then the id.
    fn key(&self) -> SortKey {
        SortKey::new(self.deadline.map_or(i64::MAX, |d| d.due.timestamp_millis()), 0, &self.id)
    }

    fn matches(&self, q: &str) -> bool {
        let c = &self.order.customer;
        let a = &c.address;
        [
            self.id.as_str(),
            c.name.expose(),
            c.phone.expose(),
            a.community.as_str(),
            a.building.as_str(),
            a.unit.as_str(),
            a.room.as_str(),
            self.order.fault_description.as_str(),
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(q))
    }
}

/// `GET /v1/office/complaints` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplaintQuery {
    pub state: Option<ComplaintState>,
    /// Lower-cased search text.
    pub q: Option<String>,
    pub page: PageRequest,
}

impl ComplaintQuery {
    pub fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        super::only(query, &["status", "q", "limit", "cursor"])?;
        let state = query
            .get("status")
            .map(|s| {
                ComplaintState::parse(s)
                    .ok_or_else(|| bad_field("status", "must be one of unanswered, answered, cancelled"))
            })
            .transpose()?;
        let q = input::optional_text("q", query.get("q").map(String::as_str), input::MAX_SHORT_TEXT, false)?
            .map(|q| q.trim().to_lowercase());
        Ok(Self { state, q, page: PageRequest::parse(query)? })
    }
}

/// Every complaint that passes `query`, soonest due first, one page, and
/// the next page's cursor when more follow.
pub async fn complaints(
    state: &AppState,
    query: &ComplaintQuery,
) -> ApiResult<(Vec<ComplaintItem>, Option<String>)> {
    let now = ms_to_utc(state.now_ms());
    let book = crate::rules::rule_book(state).await?;
    let mut items = Vec::new();
    for snapshot in state.storage.snapshots(SnapshotKind::WorkOrder).await? {
        let body = crate::orders::work_order_body(&snapshot)?;
        if body.order.category != WorkOrderCategory::Complaint {
            continue;
        }
        let view = super::views::order_view(state, &snapshot, &body, now, &book).await?;
        let deadline = view.deadlines.iter().find(|d| d.kind == DeadlineKind::ComplaintAnswered).copied();
        let (_, rules) = book.at(body.order.received_at);
        let calendar = &rules.deadlines().calendar;
        let zone = super::compute::company_offset();
        let answered_at = view.milestones.completed_at;
        let item = ComplaintItem {
            id: view.id,
            rev: view.rev,
            status: view.status,
            state: match (view.status, answered_at) {
                (OrderStatus::Cancelled, _) => ComplaintState::Cancelled,
                (_, Some(_)) => ComplaintState::Answered,
                (_, None) => ComplaintState::Unanswered,
            },
            working_days_left: deadline.map(|d| hearth_domain::working_days_left(now, d.due, zone, calendar)),
            deadline,
            answered_at,
            order: view.order,
            follow_up: view.follow_up,
            cancellation: view.cancellation,
        };
        if query.state.is_none_or(|s| s == item.state) && query.q.as_deref().is_none_or(|q| item.matches(q)) {
            items.push(item);
        }
    }
    Ok(query.page.page(items, ComplaintItem::key))
}

#[utoipa::path(get, path = "/v1/office/complaints", tag = "office", summary = "Complaints with their answer deadline in working days, soonest due first, a page at a time (next page in the Link header)", security(("operator_token" = [])),
    params(
        ("status" = Option<String>, Query, description = "unanswered, answered or cancelled"),
        ("q" = Option<String>, Query, description = "search: id, customer, phone, address, the complaint's text"),
        ("limit" = Option<u32>, Query, description = "page size, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "from the previous page's Link header"),
    ),
    responses(
        (status = 200, body = [Object], headers(("Link" = String, description = "<url>; rel=\"next\" when more follow"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn complaints_h(
    State(state): State<AppState>,
    _office: crate::auth::OperatorAuth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let parsed = ComplaintQuery::parse(&query)?;
    let (items, next) = complaints(&state, &parsed).await?;
    Ok(paging::respond("/v1/office/complaints", &query, &items, next.as_deref()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerInput {
    answer: String,
    expected_rev: u64,
}

/// Records that a complaint was answered now: its `completed_at`
/// milestone, attributed to `by`, with the answer in the history.
pub async fn answer(state: &AppState, id: &str, body: Value, by: &str) -> ApiResult<SnapshotView> {
    let input: AnswerInput = input::from_json(body)?;
    let answer = input::text("answer", &input.answer, input::MAX_REASON, true)?;
    let snapshot = state
        .storage
        .snapshot(SnapshotKind::WorkOrder, id)
        .await?
        .ok_or_else(|| ApiError::not_found("work order"))?;
    let body = crate::orders::work_order_body(&snapshot)?;
    if body.order.category != WorkOrderCategory::Complaint {
        return Err(ApiError::conflict("not_a_complaint", "this work order is not a complaint"));
    }
    let now = ms_to_utc(state.now_ms());
    let book = crate::rules::rule_book(state).await?;
    let view = super::views::order_view(state, &snapshot, &body, now, &book).await?;
    if view.status == OrderStatus::Open && view.milestones.completed_at.is_some() {
        return Err(ApiError::conflict("already_answered", "this complaint has been answered"));
    }
    let milestones = input::MilestonesInput {
        contacted_at: None,
        on_site_at: None,
        completed_at: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        late_notice_at: None,
        running_late: None,
        reason: Some(format!("complaint answered: {answer}")),
        expected_rev: input.expected_rev,
    };
    super::service::record_milestones(state, id, milestones, by).await
}

#[utoipa::path(post, path = "/v1/office/complaints/{id}/answer", tag = "office", summary = "Record that a complaint was answered (now, attributed, with the answer)", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not_a_complaint, already_answered, order_cancelled, order_closed, stale_revision")))]
async fn answer_h(
    State(state): State<AppState>,
    operator: super::decisions::Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(answer(&state, &id, body, &operator.name).await?))
}

/// Whether a follow-up call may be made now, and the hours.
#[derive(Debug, Clone, Serialize)]
pub struct CallWindow {
    pub allowed: bool,
    /// `outside_calling_hours` or `meal_time` when not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<hearth_domain::CallRefusal>,
    /// Company time, "HH:MM:SS".
    pub calls_from: chrono::NaiveTime,
    pub calls_until: chrono::NaiveTime,
    pub meal_windows: Vec<DayWindow>,
    pub now: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/office/call-window", tag = "office", summary = "Whether a follow-up call may be made now (calling hours, meal times)", security(("operator_token" = [])),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn call_window_h(
    State(state): State<AppState>,
    _office: crate::auth::OperatorAuth,
) -> ApiResult<Json<CallWindow>> {
    let now = ms_to_utc(state.now_ms());
    let book = crate::rules::rule_book(&state).await?;
    let rules = book.current().1;
    let refusal = super::compute::may_call_at(rules, now).err();
    let f = rules.follow_up();
    Ok(Json(CallWindow {
        allowed: refusal.is_none(),
        refusal,
        calls_from: f.calls_from,
        calls_until: f.calls_until,
        meal_windows: f.meal_windows.clone(),
        now,
    }))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(complaints_h, answer_h, call_window_h))]
pub struct ComplaintsDoc;

/// This module's operations and the events stream's, merged into `/v1/openapi.json`.
#[derive(Debug)]
pub struct Doc;

impl utoipa::OpenApi for Doc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let mut doc = <ComplaintsDoc as utoipa::OpenApi>::openapi();
        doc.merge(<events::Doc as utoipa::OpenApi>::openapi());
        doc
    }
}
