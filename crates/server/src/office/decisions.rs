//! What the office decides about what tablets sent: an order a technician
//! opened on site is confirmed or rejected by dispatch, and a record the
//! server flagged `needs_review` is accepted or rejected by a reviewer.
//!
//! Review decisions are append-only and attributed to the operator whose
//! token made them; the latest one is in force. A flagged temperature-test
//! report (or the customer's sign-off on it) counts toward an address's
//! compliance, and so toward money, only once the decision in force on
//! each flagged one is `accept` (`views::temperature_tests`).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_protocol::ReceiptStatus;
use hearth_protocol::api::ErrorBody;
use serde::Deserialize;
use serde_json::{Value, json};

use super::input;
use super::model::SnapshotView;
use super::paging::{self, PageRequest, SortKey};
use super::service;
use crate::api::ApiJson;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{PutSnapshot, ReviewDecision, ReviewVerdict, Scope, SnapshotKind};

/// An operator, by the name their token was issued to or their account's
/// username, with their roles: whoever decides is named. Extracting it
/// checks the roles the endpoint needs (`office::access`, via `auth::authorize`).
#[derive(Debug, Clone)]
pub struct Operator {
    pub name: String,
    pub roles: Vec<crate::office::access::Role>,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (actor, _) = crate::auth::authorize(parts, state).await?;
        Ok(Self { name: actor.username, roles: actor.roles })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/work-orders/{id}/reject", post(reject_h))
        .route("/v1/office/records/{record_id}/review", post(review_h))
        .route("/v1/office/records/{record_id}/reviews", get(reviews_h))
        .route("/v1/office/review-queue", get(review_queue_h))
        .route("/v1/office/rule-set/versions", get(rule_set_versions_h))
}

/// One version of the company's rule set, as stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RuleSetVersionView {
    pub version: u64,
    /// From when it applies (Unix milliseconds); results before it keep the version they were judged by.
    pub effective_at_ms: i64,
    /// The operator who stored it.
    pub set_by: String,
    #[schema(value_type = Object)]
    pub rules: Value,
}

#[utoipa::path(get, path = "/v1/office/rule-set/versions", tag = "office", summary = "Every version of the company rule set, oldest first, with who set it and from when", security(("operator_token" = [])), responses((status = 200, body = Vec<RuleSetVersionView>), (status = 401, body = ErrorBody)))]
async fn rule_set_versions_h(
    State(state): State<AppState>,
    _office: Operator,
) -> ApiResult<Json<Vec<RuleSetVersionView>>> {
    let rows = state.storage.rule_set_versions().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RuleSetVersionView {
                version: r.version,
                effective_at_ms: r.effective_at_ms,
                set_by: r.set_by,
                rules: r.body,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/reject", tag = "office", summary = "Reject an order a technician opened on site (it is cancelled with the reason)", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject_h(
    State(state): State<AppState>,
    _office: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::reject(&state, &id, input::from_json(body)?).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewInput {
    decision: String,
    note: String,
}

#[utoipa::path(post, path = "/v1/office/records/{record_id}/review", tag = "office", summary = "Accept or reject a record the server flagged needs_review", security(("operator_token" = [])), params(("record_id" = String, Path)), request_body = Object, responses((status = 201, body = ReviewDecision), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn review_h(
    State(state): State<AppState>,
    operator: Operator,
    Path(record_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<ReviewDecision>)> {
    let input: ReviewInput = input::from_json(body)?;
    let decision = ReviewVerdict::parse(&input.decision)
        .ok_or_else(|| input::bad_field("decision", "must be \"accept\" or \"reject\""))?;
    let note = input::text("note", &input.note, input::MAX_REASON, true)?;
    let decided = review(&state, &record_id, decision, note, &operator).await?;
    Ok((StatusCode::CREATED, Json(decided)))
}

/// Records a reviewer's decision on a flagged record (404 for an unknown
/// record, 409 `not_flagged` for a valid one) and tells the tablet that sent
/// it through its feed's `review_status`.
pub async fn review(
    state: &AppState,
    record_id: &str,
    decision: ReviewVerdict,
    note: String,
    operator: &Operator,
) -> ApiResult<ReviewDecision> {
    let stored = state
        .storage
        .entry_by_record_id(record_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the record"))?;
    if stored.receipt.status != ReceiptStatus::NeedsReview {
        return Err(ApiError::conflict("not_flagged", "the record is valid; there is nothing to review"));
    }
    let decided = ReviewDecision {
        record_id: record_id.to_owned(),
        decision,
        note,
        operator: operator.name.clone(),
        decided_at_ms: state.now_ms(),
    };
    state.storage.add_review_decision(decided.clone()).await?;
    tracing::info!(record_id, operator = %operator.name, decision = decision.as_str(), "review decision recorded");
    state
        .storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::ReviewStatus,
            id: record_id.to_owned(),
            body: json!({
                "record_id": record_id,
                "seq": stored.seq,
                "status": stored.receipt.status,
                "flags": stored.flags,
                "decision": decision,
            }),
            scope: Scope { technicians: vec![], device_id: Some(stored.device_id.clone()) },
            expected_rev: None,
            now_ms: decided.decided_at_ms,
        })
        .await?;
    Ok(decided)
}

#[utoipa::path(get, path = "/v1/office/records/{record_id}/reviews", tag = "office", summary = "Every review decision on a record, oldest first (the last is in force)", security(("operator_token" = [])), params(("record_id" = String, Path)), responses((status = 200, body = Vec<ReviewDecision>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reviews_h(
    State(state): State<AppState>,
    _office: Operator,
    Path(record_id): Path<String>,
) -> ApiResult<Json<Vec<ReviewDecision>>> {
    state.storage.entry_by_record_id(&record_id).await?.ok_or_else(|| ApiError::not_found("the record"))?;
    Ok(Json(state.storage.review_decisions(&record_id).await?))
}

/// One record the server flagged `needs_review`, with the decision in force.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub record_id: String,
    pub schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order_id: Option<String>,
    pub device_id: String,
    pub seq: u64,
    /// When the server received it (Unix milliseconds).
    pub received_at_ms: i64,
    pub flags: Vec<String>,
    /// The latest reviewer's decision; absent while the record waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReviewDecision>,
}

impl ReviewItem {
    /// The queue's order: those waiting first, oldest received first; then
    /// the decided ones, newest decision first; ties by record id.
    fn sort_key(&self) -> SortKey {
        match &self.decision {
            None => SortKey::new(0, self.received_at_ms, &self.record_id),
            Some(d) => SortKey::new(1, d.decided_at_ms.saturating_neg(), &self.record_id),
        }
    }
}

/// Every record flagged `needs_review`, with the decision in force, unsorted.
pub async fn review_queue(state: &AppState) -> ApiResult<Vec<ReviewItem>> {
    let mut items = Vec::new();
    for snapshot in state.storage.snapshots(SnapshotKind::ReviewStatus).await? {
        let Some(stored) = state.storage.entry_by_record_id(&snapshot.id).await? else { continue };
        if stored.receipt.status != ReceiptStatus::NeedsReview {
            continue;
        }
        let decision = state.storage.review_decisions(&stored.record_id).await?.pop();
        items.push(ReviewItem {
            record_id: stored.record_id,
            schema: stored.schema,
            work_order_id: stored.work_order_id,
            device_id: stored.device_id,
            seq: stored.seq,
            received_at_ms: stored.receipt.received_at_ms,
            flags: stored.flags,
            decision,
        });
    }
    Ok(items)
}

#[utoipa::path(get, path = "/v1/office/review-queue", tag = "office", summary = "Records flagged needs_review: those waiting for a decision first (oldest first), then the decided ones, newest decision first; a page at a time",
    description = "Ties by record id. Pages of `limit`; a `Link: <…>; rel=\"next\"` header names the next page (absent on the last).",
    security(("operator_token" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "page size, 1 to 200 (default 50)", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "opaque: the next page, from the Link header"),
    ),
    responses(
        (status = 200, body = Vec<ReviewItem>, headers(("Link" = String, description = "RFC 8288 `<url>; rel=\"next\"`: the next page, when there is one"))),
        (status = 400, body = ErrorBody, description = "bad_field naming the parameter"),
        (status = 401, body = ErrorBody),
    ))]
async fn review_queue_h(
    State(state): State<AppState>,
    _office: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    super::only(&query, &["limit", "cursor"])?;
    let page = PageRequest::parse(&query)?;
    let (items, next) = page.page(review_queue(&state).await?, ReviewItem::sort_key);
    Ok(paging::respond("/v1/office/review-queue", &query, &items, next.as_deref()))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(reject_h, review_h, reviews_h, rule_set_versions_h, review_queue_h),
    components(schemas(ReviewDecision, ReviewVerdict, RuleSetVersionView, ReviewItem))
)]
pub struct DecisionsDoc;
