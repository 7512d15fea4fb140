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
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hearth_domain::{DayWindow, DeadlineKind, DeadlineStatus, WorkOrder, WorkOrderCategory};
use hearth_protocol::api::ErrorBody;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compute::ms_to_utc;
use super::input::{self, bad_field};
use super::model::{Cancellation, FollowUp, OrderStatus, SnapshotView};
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

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

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
    fn key(&self) -> (i64, &str) {
        (self.deadline.map_or(i64::MAX, |d| d.due.timestamp_millis()), self.id.as_str())
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
    pub limit: usize,
    pub after: Option<(i64, String)>,
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
        let limit = match query.get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l.parse::<usize>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                bad_field("limit", &format!("must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
        let after = query.get("cursor").map(|c| decode_cursor(c)).transpose()?;
        Ok(Self { state, q, limit, after })
    }

    /// The query string of the page after `last`.
    fn next(&self, last: &ComplaintItem) -> String {
        let (due, id) = last.key();
        let mut parts = Vec::new();
        if let Some(s) = self.state {
            let name = serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned));
            parts.push(format!("status={}", name.unwrap_or_default()));
        }
        if let Some(q) = &self.q {
            parts.push(format!("q={}", percent(q)));
        }
        parts.push(format!("limit={}", self.limit));
        parts.push(format!("cursor={}", encode_cursor(due, id)));
        parts.join("&")
    }
}

fn encode_cursor(due_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{due_ms}:{id}"))
}

fn decode_cursor(text: &str) -> ApiResult<(i64, String)> {
    let bad = || bad_field("cursor", "is not a cursor this list gave (start again without it)");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (due, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((due.parse().map_err(|_| bad())?, id.to_owned()))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Every complaint that passes `query`, soonest due first, one page, and
/// whether more follow.
pub async fn complaints(state: &AppState, query: &ComplaintQuery) -> ApiResult<(Vec<ComplaintItem>, bool)> {
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
    items.sort_by(|a, b| a.key().cmp(&b.key()));
    if let Some((due, id)) = &query.after {
        items.retain(|i| i.key() > (*due, id.as_str()));
    }
    let more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok((items, more))
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
) -> ApiResult<(HeaderMap, Json<Vec<ComplaintItem>>)> {
    let query = ComplaintQuery::parse(&query)?;
    let (items, more) = complaints(&state, &query).await?;
    let mut headers = HeaderMap::new();
    if more && let Some(last) = items.last() {
        let link = format!("</v1/office/complaints?{}>; rel=\"next\"", query.next(last));
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    Ok((headers, Json(items)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        let c = encode_cursor(1_733_000_000_000, "WO-1:x");
        assert_eq!(decode_cursor(&c).ok(), Some((1_733_000_000_000, "WO-1:x".to_owned())));
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("no-colon")).is_err());
    }

    #[test]
    fn search_text_is_percent_encoded_in_the_next_link() {
        assert_eq!(percent("幸福 a&b"), "%E5%B9%B8%E7%A6%8F%20a%26b");
    }
}
