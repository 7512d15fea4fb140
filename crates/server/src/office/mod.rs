//! The office API (`/v1/office/…`, an operator token or an operator's
//! session; roles per endpoint in `access`, accounts, sessions and the
//! audit log in `accounts`): dispatchers create and
//! assign work orders, record what the phone tells them and the follow-up
//! call (回访); managers see deadlines, temperature compliance and repeat
//! repairs. Handlers are thin: authenticate, extract, call one function of
//! `service` (writes) or `views` (reads), answer JSON. Every judgement is a
//! pure function in `compute`.
//!
//! # Snapshot bodies (what tablets receive through the feed, protocol §7)
//!
//! Everything the office writes is a snapshot with a `rev` that only grows.
//! Every change to an existing work order carries the `expected_rev` the
//! office saw; a stale one answers `409 stale_revision`.
//!
//! - **work_order**, id = work-order id, scope = the assigned technicians
//!   (empty once cancelled, so tablets get `work_order_removed`):
//!   ```json
//!   {"order": <hearth_domain::WorkOrder>,
//!    "status": "open" | "cancelled" | "closed",
//!    "follow_up": {"at": "<RFC 3339>", "outcome": "satisfied" | "unsatisfied" | "unreachable", "note": "…"},
//!    "cancellation": {"at": "<RFC 3339>", "reason": "…"},
//!    "history": [{"at": "<RFC 3339>", "action": "created" | "assigned" | "rescheduled" | "cancelled"
//!                 | "milestones" | "follow_up" | "opened_on_site" | "confirmed" | "rejected",
//!                 "detail": "…"}],
//!    "opened_on_site": {"record_id", "device_id", "tech_id", "confirmed_at": "<RFC 3339>"}}
//!   ```
//!   `opened_on_site` is present for an order a technician opened on site:
//!   the server files it when the tablet's `hearth.work_order_local/1` record
//!   arrives (open, scoped to that tablet alone), and dispatch confirms it
//!   with `POST …/confirm {expected_rev}` (then it goes to its technicians)
//!   or rejects it with `POST …/reject {reason, expected_rev}` (cancelled;
//!   409 `not_opened_on_site`, `already_confirmed` for both).
//!   `follow_up`, `cancellation`, `history` and `detail` are absent when
//!   empty (no nulls). `order.milestones` holds what dispatch recorded;
//!   record evidence is combined with it when read (below), never written
//!   back. A call that reached the customer sets
//!   `order.milestones.follow_up_at` and closes the order; `unreachable` is
//!   kept as the latest attempt and leaves the order open and queued.
//! - **technician**, id = tech id, every device: `{"tech_id", "name", "phone"}`.
//! - **thermometer**, id = serial, every device: `hearth_domain::Thermometer`
//!   (`{"serial", "certificate_no", "valid_until": "YYYY-MM-DD"}`).
//! - **rule_set**, id = `"company"`, every device: `hearth_domain::RuleSet`.
//!
//! # Time: claims bracketed by the server (protocol §8)
//!
//! A milestone evidenced by a record (contact: the Appointment step; on
//! site: the Arrival step or a temperature reading; completed: a resolved
//! visit outcome or a temperature-test report) is judged at
//! `at = min(max(claimed, not_before), received_at)`: the device's claim,
//! no earlier than the receive time of the last receipt the device said it
//! held when sealing (`last_receipt_seq`), never later than the server's
//! receipt of the record itself. Answers show `{claimed, not_before,
//! received_at, at, adjusted}`. Only the latest version of a record counts
//! (a correction or void supersedes it), and records flagged for a revoked
//! key never count. The effective milestone is the earlier of the
//! evidenced time and what dispatch recorded (dispatch entries are refused
//! when in the future). Deadlines are `hearth_domain::deadlines` on the
//! effective milestones at the server's now.
//!
//! # Errors
//!
//! `400 bad_json` (body not JSON or of the wrong shape), `400 bad_field`
//! (message starts with the field), `400 unknown_technician`, `401
//! unauthorized`, `404 not_found`, `409 stale_revision`, `409
//! work_order_exists` / `technician_exists` / `thermometer_exists`, `409
//! order_cancelled` / `order_closed`, `409 not_completed`, `409
//! outside_calling_hours`, `409 not_opened_on_site` / `already_confirmed`,
//! `409 not_flagged` (a review of a valid record).
//!
//! # Rules in force (`rules::RuleBook`)
//!
//! `PUT /v1/office/rule-set` stores a new version, effective from that moment
//! and attributed to the operator (`GET /v1/office/rule-set/versions` lists
//! them, append-only). Past results keep the version they were judged by:
//! an order's deadlines use the version in force when it was received, a
//! test's verdict the version in force when it was measured; both answer
//! `rule_set_version` (0: the regulations' defaults).
//!
//! # Milestones dispatch records
//!
//! `POST …/milestones` is attributed (the history entry's `by`, the times
//! set in `detail`) and never back-dated silently: a time more than the
//! clock tolerance in the past needs a `reason` (400 `bad_field` naming
//! `reason` otherwise); a time in the future is refused.
//!
//! # Follow-up calls, repeat repairs, households
//!
//! `GET /v1/office/follow-ups`: completed repair-type orders without a call,
//! from their completion, each with `due` (`due_by`, `minutes_left`,
//! `late`). A call is refused outside the rule set's calling hours (409
//! `outside_calling_hours`) and at meal times (409 `meal_time`). Repeat
//! repairs are repair and leak orders at one address within
//! `follow_up.repeat_window_days`; an order view lists the earlier ones in
//! `repeat_of`. `GET /v1/office/households[?community=]` and
//! `GET /v1/office/communities`: non-compliant days and the fee (`households`).
//!
//! # Review (`decisions`)
//!
//! A record the server flagged `needs_review` is accepted or rejected with
//! `POST /v1/office/records/{record_id}/review {decision, note}`, attributed
//! to the operator token's name; a flagged temperature test counts toward
//! compliance only once accepted.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_domain::RuleSet;
use hearth_protocol::api::ErrorBody;
use serde_json::Value;

use crate::api::ApiJson;
use crate::auth::OperatorAuth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::SnapshotKind;

pub mod access;
pub mod accounts;
pub mod audit;
pub mod complaints;
pub mod compute;
pub mod decisions;
pub mod households;
pub mod input;
pub mod paging;
pub mod records;
pub mod reports;
/// The work-order snapshot model lives in `crate::orders` (ingest stands on it too).
pub use crate::orders as model;
pub mod service;
pub mod setup;
pub mod views;

pub use compute::COMPANY_UTC_OFFSET_MINUTES;
pub use input::{
    AddressInput, AppointmentInput, AssignInput, CancelInput, ConfirmInput, CustomerInput, FollowUpInput,
    MilestonesInput, NewWorkOrder, RescheduleInput, TechnicianInput, ThermometerInput,
};
pub use model::{OpenedOnSite, OrderStatus, SnapshotView, TechnicianBody, WorkOrderBody};
pub use service::{
    assign, cancel, confirm, create_technician, create_thermometer, create_work_order, put_rule_set,
    record_follow_up, record_milestones, reschedule, rule_set_view,
};
pub use views::{OrderFilter, follow_ups, repeat_repairs, temperature_tests, work_order_detail, work_orders};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/work-orders", post(create_work_order_h).get(list_work_orders_h))
        .route("/v1/office/work-orders/{id}", get(work_order_h))
        .route("/v1/office/work-orders/{id}/assign", post(assign_h))
        .route("/v1/office/work-orders/{id}/reschedule", post(reschedule_h))
        .route("/v1/office/work-orders/{id}/cancel", post(cancel_h))
        .route("/v1/office/work-orders/{id}/confirm", post(confirm_h))
        .route("/v1/office/work-orders/{id}/milestones", post(milestones_h))
        .route("/v1/office/work-orders/{id}/follow-up", post(follow_up_h))
        .route("/v1/office/follow-ups", get(follow_ups_h))
        .route("/v1/office/repeat-repairs", get(repeat_repairs_h))
        .route("/v1/office/temperature-tests", get(temperature_tests_h))
        .route("/v1/office/technicians", post(create_technician_h).get(technicians_h))
        .route("/v1/office/thermometers", post(create_thermometer_h).get(thermometers_h))
        .route("/v1/office/rule-set", get(rule_set_h).put(put_rule_set_h))
        .merge(decisions::routes())
        .merge(households::routes())
        .merge(accounts::routes())
        .merge(audit::routes())
        .merge(setup::routes())
        .merge(reports::routes())
        .merge(records::routes())
        .merge(complaints::routes())
        // Unsafe requests are appended to the audit log with their answer.
        .layer(axum::middleware::from_fn(audit::audit_layer))
}

type Body = ApiJson<Value>;

/// Refuses query parameters other than `allowed`.
fn only(query: &HashMap<String, String>, allowed: &[&str]) -> ApiResult<()> {
    match query.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(input::bad_field(k, &format!("is not a parameter here ({})", allowed.join(", ")))),
        None => Ok(()),
    }
}

#[utoipa::path(post, path = "/v1/office/work-orders", tag = "office", summary = "Create a work order", security(("operator_token" = [])), request_body = Object, responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "outside_visit_hours: the appointment is outside the rule set's visit hours")))]
async fn create_work_order_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    ApiJson(body): Body,
) -> ApiResult<(StatusCode, Json<SnapshotView>)> {
    let created = service::create_work_order(&state, input::from_json(body)?).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/v1/office/work-orders", tag = "office", summary = "Work orders with their deadlines, in the board's order",
    description = "The board's order: the nearest deadline still to meet first (so overdue orders on top), orders without one last, ties by id. With `limit` or `cursor` the answer is one page and a `Link: <…>; rel=\"next\"` header names the next (absent on the last page); without either, every match.",
    security(("operator_token" = [])),
    params(
        ("status" = Option<String>, Query, description = "open, cancelled or closed"),
        ("category" = Option<String>, Query, description = "a work-order category"),
        ("technician" = Option<String>, Query, description = "a tech id assigned to the order"),
        ("q" = Option<String>, Query, description = "search, at most 100 characters, case-insensitive: order id, customer name, phone, community, building, unit, room, technician id or name"),
        ("flag" = Option<String>, Query, description = "comma-separated, all must hold: repeat, another_visit, opened_on_site, overdue"),
        ("limit" = Option<u32>, Query, description = "page size, 1 to 200 (50 when only cursor is given)", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "opaque: the next page, from the Link header"),
    ),
    responses(
        (status = 200, body = [Object], headers(
            ("Link" = String, description = "RFC 8288 `<url>; rel=\"next\"`: the next page, when there is one"),
            ("X-Board-Rebuilding" = u64, description = "present while the board's background rebuild has a backlog: how many orders it has still to judge (those are missing from pages until it reaches them)"),
        )),
        (status = 400, body = ErrorBody, description = "bad_field naming the parameter"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn list_work_orders_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<axum::response::Response> {
    let filter = views::OrderFilter::parse(&query)?;
    let (orders, next) = views::work_orders(&state, &filter).await?;
    let mut response = paging::respond("/v1/office/work-orders", &query, &orders, next.as_deref());
    if let Some(backlog) = views::board_backlog(&state).await? {
        response.headers_mut().insert("x-board-rebuilding", axum::http::HeaderValue::from(backlog));
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/office/work-orders/{id}", tag = "office", summary = "One order with its records", security(("operator_token" = [])), params(("id" = String, Path)), responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn work_order_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<views::OrderDetail>> {
    Ok(Json(views::work_order_detail(&state, &id).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/assign", tag = "office", summary = "Assign technicians", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn assign_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::assign(&state, &id, input::from_json(body)?).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/reschedule", tag = "office", summary = "Move the appointment", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "outside_visit_hours: the appointment is outside the rule set's visit hours")))]
async fn reschedule_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::reschedule(&state, &id, input::from_json(body)?).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/cancel", tag = "office", summary = "Cancel an order", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::cancel(&state, &id, input::from_json(body)?).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/confirm", tag = "office", summary = "Confirm an order a technician opened on site", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn confirm_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::confirm(&state, &id, input::from_json(body)?).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/milestones", tag = "office", summary = "Record what the phone says", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn milestones_h(
    State(state): State<AppState>,
    operator: decisions::Operator,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::record_milestones(&state, &id, input::from_json(body)?, &operator.name).await?))
}

#[utoipa::path(post, path = "/v1/office/work-orders/{id}/follow-up", tag = "office", summary = "Record a follow-up call", security(("operator_token" = [])), params(("id" = String, Path)), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn follow_up_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::record_follow_up(&state, &id, input::from_json(body)?).await?))
}

#[utoipa::path(get, path = "/v1/office/follow-ups", tag = "office", summary = "The follow-up-call queue, oldest completion first, a page at a time",
    description = "Oldest completion first, ties by order id. Pages of `limit`; a `Link: <…>; rel=\"next\"` header names the next page (absent on the last).",
    security(("operator_token" = [])),
    params(
        ("q" = Option<String>, Query, description = "search, case-insensitive: order id, customer name, phone, community, building, unit, room"),
        ("limit" = Option<u32>, Query, description = "page size, 1 to 200 (default 50)", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "opaque: the next page, from the Link header"),
    ),
    responses(
        (status = 200, body = [Object], headers(("Link" = String, description = "RFC 8288 `<url>; rel=\"next\"`: the next page, when there is one"))),
        (status = 400, body = ErrorBody, description = "bad_field naming the parameter"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn follow_ups_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<axum::response::Response> {
    let parsed = views::FollowUpQuery::parse(&query)?;
    let (items, next) = views::follow_ups_page(&state, &parsed).await?;
    Ok(paging::respond("/v1/office/follow-ups", &query, &items, next.as_deref()))
}

#[utoipa::path(get, path = "/v1/office/repeat-repairs", tag = "office", summary = "Repeat repairs within 30 days", security(("operator_token" = [])), params(("category" = Option<String>, Query, description = "a work-order category")), responses((status = 200, body = [Object]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn repeat_repairs_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<hearth_domain::RepeatGroup>>> {
    only(&query, &["category"])?;
    let category = query.get("category").map(|c| input::category("category", c)).transpose()?;
    Ok(Json(views::repeat_repairs(&state, category).await?))
}

#[utoipa::path(get, path = "/v1/office/temperature-tests", tag = "office", summary = "Temperature-test results", security(("operator_token" = [])), params(("work_order" = Option<String>, Query, description = "one work order's tests")), responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn temperature_tests_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<views::TemperatureTests>> {
    only(&query, &["work_order"])?;
    let work_order = query.get("work_order").map(|w| input::identifier("work_order", w)).transpose()?;
    Ok(Json(views::temperature_tests(&state, work_order.as_deref()).await?))
}

#[utoipa::path(post, path = "/v1/office/technicians", tag = "office", summary = "Add a technician", security(("operator_token" = [])), request_body = Object, responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_technician_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    ApiJson(body): Body,
) -> ApiResult<(StatusCode, Json<SnapshotView>)> {
    let input: TechnicianInput = input::from_json(body)?;
    let status = if input.expected_rev.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(service::create_technician(&state, input).await?)))
}

#[utoipa::path(get, path = "/v1/office/technicians", tag = "office", summary = "Technicians", security(("operator_token" = [])), responses((status = 200, body = [Object]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn technicians_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
) -> ApiResult<Json<Vec<SnapshotView>>> {
    Ok(Json(service::list(&state, SnapshotKind::Technician).await?))
}

#[utoipa::path(post, path = "/v1/office/thermometers", tag = "office", summary = "Add a thermometer", security(("operator_token" = [])), request_body = Object, responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_thermometer_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    ApiJson(body): Body,
) -> ApiResult<(StatusCode, Json<SnapshotView>)> {
    let input: ThermometerInput = input::from_json(body)?;
    let status = if input.expected_rev.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(service::create_thermometer(&state, input).await?)))
}

#[utoipa::path(get, path = "/v1/office/thermometers", tag = "office", summary = "Thermometers", security(("operator_token" = [])), responses((status = 200, body = [Object]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn thermometers_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
) -> ApiResult<Json<Vec<SnapshotView>>> {
    Ok(Json(service::list(&state, SnapshotKind::Thermometer).await?))
}

#[utoipa::path(get, path = "/v1/office/rule-set", tag = "office", summary = "The company rule set", security(("operator_token" = [])), responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn rule_set_h(State(state): State<AppState>, _office: OperatorAuth) -> ApiResult<Json<SnapshotView>> {
    Ok(Json(service::rule_set_view(&state).await?))
}

/// `PUT /v1/office/rule-set[?expected_rev=N]` with a `RuleSet` body.
#[utoipa::path(put, path = "/v1/office/rule-set", tag = "office", summary = "Replace the company rule set", security(("operator_token" = [])), params(("expected_rev" = Option<u64>, Query, description = "the rev the office saw")), request_body = Object, responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "stale_revision"), (status = 422, body = ErrorBody, description = "invalid_rule_set: the message names the field")))]
async fn put_rule_set_h(
    State(state): State<AppState>,
    operator: decisions::Operator,
    Query(query): Query<HashMap<String, String>>,
    ApiJson(body): Body,
) -> ApiResult<Json<SnapshotView>> {
    only(&query, &["expected_rev"])?;
    let expected_rev = query
        .get("expected_rev")
        .map(|r| r.parse::<u64>().map_err(|_| input::bad_field("expected_rev", "must be a whole number")))
        .transpose()?;
    // Strict: a whole rule set, every key known, every value valid. `[]`,
    // `{}` or a misspelt key used to reset the company's rules to defaults.
    let rules = RuleSet::from_json(&body).map_err(|e| {
        let field = e.field().unwrap_or_else(|| "rule set".into());
        let message = match &e {
            hearth_domain::RuleSetError::Shape { message, .. } => format!("{field}: {message}"),
            other => format!("{field}: {other}"),
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rule_set", message)
    })?;
    Ok(Json(service::put_rule_set(&state, rules, expected_rev, &operator.name).await?))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(
    create_work_order_h,
    list_work_orders_h,
    work_order_h,
    assign_h,
    reschedule_h,
    cancel_h,
    confirm_h,
    milestones_h,
    follow_up_h,
    follow_ups_h,
    repeat_repairs_h,
    temperature_tests_h,
    create_technician_h,
    technicians_h,
    create_thermometer_h,
    thermometers_h,
    rule_set_h,
    put_rule_set_h
))]
struct OfficeDoc;

/// The office operations, for `/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <OfficeDoc as utoipa::OpenApi>::openapi();
    doc.merge(<decisions::DecisionsDoc as utoipa::OpenApi>::openapi());
    doc.merge(<households::HouseholdsDoc as utoipa::OpenApi>::openapi());
    doc.merge(<accounts::AccountsDoc as utoipa::OpenApi>::openapi());
    doc.merge(<audit::AuditDoc as utoipa::OpenApi>::openapi());
    doc.merge(<setup::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<reports::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<records::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<complaints::Doc as utoipa::OpenApi>::openapi());
    doc
}
