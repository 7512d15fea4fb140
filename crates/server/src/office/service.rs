//! The office's writes: work orders and their changes, technicians,
//! thermometers and the rule set. Each function validates its input, reads
//! what it changes, and writes one snapshot with optimistic concurrency.
//! The binary's `admin` and `demo` commands call these directly.

use chrono::{DateTime, TimeDelta, Utc};
use hearth_domain::{
    Address, Appointment, Customer, NonEmptyText, Phone, RuleSet, TechnicianId, Thermometer, WorkOrder,
};
use serde_json::Value;

use super::compute::{self, ms_to_utc};
use super::input::{self, bad_field};
use super::model::{
    Action, CallOutcome, Cancellation, FollowUp, OrderStatus, SnapshotView, TechnicianBody, WorkOrderBody,
};
use super::views;
use crate::error::{ApiError, ApiResult};
use crate::orders::{work_order_body, work_order_scope};
use crate::state::AppState;
use crate::storage::{PutSnapshot, Scope, Snapshot, SnapshotKind, StorageError};

/// The rule set's snapshot id.
pub const RULE_SET_ID: &str = "company";

fn now(state: &AppState) -> DateTime<Utc> {
    ms_to_utc(state.now_ms())
}

fn to_value<T: serde::Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(ApiError::internal)
}

fn created_conflict(what: &'static str, code: &'static str) -> impl Fn(StorageError) -> ApiError {
    move |e| match e {
        StorageError::StaleRevision { current } if current > 0 => {
            ApiError::conflict(code, format!("{what} already exists"))
        }
        other => other.into(),
    }
}

/// Home visits only within the rule set's visit hours (000: 09:00–18:00,
/// company time): `422 outside_visit_hours` names the field.
async fn within_visit_hours(state: &AppState, field: &str, agreed: &Appointment) -> ApiResult<()> {
    let book = crate::rules::rule_book(state).await?;
    let visits = *book.current().1.visits();
    if visits.allows(agreed, compute::company_offset()) {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "outside_visit_hours",
        format!(
            "{field}: home visits are from {} to {} company time, within one day",
            visits.from.format("%H:%M"),
            visits.until.format("%H:%M")
        ),
    ))
}

fn appointment(field: &str, a: &input::AppointmentInput) -> ApiResult<Appointment> {
    let start = input::instant(&format!("{field}.start"), &a.start)?;
    let end = input::instant(&format!("{field}.end"), &a.end)?;
    Appointment::new(start, end)
        .map_err(|_| bad_field(&format!("{field}.end"), "must not be before the start"))
}

/// Parses technician ids and checks each is registered.
async fn technicians(state: &AppState, ids: &[String]) -> ApiResult<Vec<TechnicianId>> {
    if ids.len() > input::MAX_TECHNICIANS {
        return Err(bad_field("technicians", &format!("at most {} technicians", input::MAX_TECHNICIANS)));
    }
    let mut out: Vec<TechnicianId> = Vec::new();
    for (i, raw) in ids.iter().enumerate() {
        let field = format!("technicians[{i}]");
        let id = TechnicianId::parse(&input::identifier(&field, raw)?)
            .map_err(|_| bad_field(&field, "must be a technician id"))?;
        if state.storage.snapshot(SnapshotKind::Technician, id.as_str()).await?.is_none() {
            return Err(ApiError::bad_request(
                "unknown_technician",
                format!("{field}: no technician {id} is registered"),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn nonempty(field: &str, value: &str, max: usize) -> ApiResult<NonEmptyText> {
    let t = input::text(field, value, max, false)?;
    NonEmptyText::parse(&t).map_err(|_| bad_field(field, "must not be empty"))
}

/// Builds and validates the order (without writing it).
async fn build_order(
    state: &AppState,
    id: &str,
    input: &input::NewWorkOrder,
    now: DateTime<Utc>,
) -> ApiResult<WorkOrder> {
    let category = input::category("category", &input.category)?;
    let priority = match input.priority.as_deref() {
        Some(p) => input::priority("priority", p)?,
        None => hearth_domain::Priority::Normal,
    };
    let a = &input.customer.address;
    let address = Address {
        community: nonempty("customer.address.community", &a.community, input::MAX_ADDRESS_PART)?,
        building: nonempty("customer.address.building", &a.building, input::MAX_ADDRESS_PART)?,
        unit: nonempty("customer.address.unit", &a.unit, input::MAX_ADDRESS_PART)?,
        room: nonempty("customer.address.room", &a.room, input::MAX_ADDRESS_PART)?,
    };
    let name = input::text("customer.name", &input.customer.name, input::MAX_NAME, false)?;
    let phone = input::text("customer.phone", &input.customer.phone, input::MAX_SHORT_TEXT, false)?;
    Phone::parse(&phone).map_err(|_| {
        bad_field("customer.phone", "must be 7 to 15 digits, with an optional leading + and - or space")
    })?;
    let customer =
        Customer::new(&name, &phone, address).map_err(|e| bad_field("customer", &e.to_string()))?;
    let fault = input::optional_text(
        "fault_description",
        input.fault_description.as_deref(),
        input::MAX_DESCRIPTION,
        true,
    )?;
    let received_at = match input.received_at.as_deref() {
        Some(t) => {
            let at = input::instant("received_at", t)?;
            if at > now + TimeDelta::milliseconds(state.limits.clock_tolerance_ms) {
                return Err(bad_field("received_at", "must not be in the future"));
            }
            at
        }
        None => now,
    };
    let mut order = WorkOrder::new(id, category, customer, fault.as_deref().unwrap_or(""), received_at)
        .map_err(|_| bad_field("id", "must be 1 to 64 characters without spaces"))?;
    order.priority = priority;
    order.equipment_type = match input.equipment_type.as_deref() {
        Some(e) if !e.trim().is_empty() => Some(nonempty("equipment_type", e, input::MAX_SHORT_TEXT)?),
        _ => None,
    };
    order.appointment = input.appointment.as_ref().map(|a| appointment("appointment", a)).transpose()?;
    if let Some(agreed) = &order.appointment {
        within_visit_hours(state, "appointment", agreed).await?;
    }
    for t in technicians(state, &input.technicians).await? {
        order.assign(t);
    }
    if !order.assigned_technicians.is_empty() {
        // Passed on as it is filed (派单): acceptance counts from now, also
        // for an order received earlier by phone.
        order.milestones.dispatched_at = Some(now);
    }
    Ok(order)
}

async fn put_work_order(
    state: &AppState,
    body: &WorkOrderBody,
    expected_rev: u64,
    now: DateTime<Utc>,
) -> Result<Snapshot, StorageError> {
    let value = serde_json::to_value(body).map_err(|e| StorageError::Backend(e.to_string()))?;
    state
        .storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::WorkOrder,
            id: body.order.id.as_str().to_owned(),
            body: value,
            scope: work_order_scope(body),
            expected_rev: Some(expected_rev),
            now_ms: now.timestamp_millis(),
        })
        .await
        // The console's live board (office::complaints::events).
        .inspect(|written| state.events.work_order(&written.id, written.rev))
}

/// The earlier repairs `body` repeats (`hearth_domain::repeats_of`) among
/// the orders on file, by the rule set in force when it was received.
async fn earlier_repairs(state: &AppState, body: &WorkOrderBody) -> ApiResult<Vec<String>> {
    let book = crate::rules::rule_book(state).await?;
    // Only orders at the same home can be repeats: the board's index finds
    // them by address (every row's address known first, built or not),
    // where reading every order made each new order cost as much as all the
    // earlier ones together.
    let ids = super::views::order_ids_at(state, &[body.order.customer.address.key()]).await?;
    let mut others = Vec::new();
    for chunk in ids.chunks(500) {
        for snapshot in state.storage.snapshots_of(SnapshotKind::WorkOrder, chunk).await? {
            others.push(work_order_body(&snapshot)?.repeat_candidate());
        }
    }
    let me = body.repeat_candidate();
    let rules = book.at(me.received_at).1.follow_up();
    Ok(hearth_domain::repeats_of(&me, &others, rules).into_iter().map(str::to_owned).collect())
}

/// Creates a work order: `id` as given (409 `work_order_exists` if taken) or
/// the next free `WO-YYYYMMDD-NNNN` of the received date (company time).
pub async fn create_work_order(state: &AppState, input: input::NewWorkOrder) -> ApiResult<SnapshotView> {
    let now = now(state);
    if let Some(id) = input.id.as_deref() {
        let id = input::identifier("id", id)?;
        let order = build_order(state, &id, &input, now).await?;
        let mut body = WorkOrderBody::open(order);
        body.repeat_of = earlier_repairs(state, &body).await?;
        body.note(now, Action::Created, None);
        let snapshot = put_work_order(state, &body, 0, now)
            .await
            .map_err(created_conflict("a work order with this id", "work_order_exists"))?;
        return Ok(snapshot.into());
    }
    // Two offices creating at once may pick the same number: try the next.
    let probe = build_order(state, "WO-PROBE", &input, now).await?;
    for _ in 0..8 {
        let taken = state.storage.snapshots(SnapshotKind::WorkOrder).await?;
        let id = hearth_domain::next_work_order_id(
            compute::local_date(probe.received_at),
            taken.iter().map(|s| s.id.as_str()),
        );
        let order = WorkOrder {
            id: hearth_domain::WorkOrderId::parse(&id).map_err(ApiError::internal)?,
            ..probe.clone()
        };
        let mut body = WorkOrderBody::open(order);
        body.repeat_of = earlier_repairs(state, &body).await?;
        body.note(now, Action::Created, None);
        match put_work_order(state, &body, 0, now).await {
            Ok(snapshot) => return Ok(snapshot.into()),
            Err(StorageError::StaleRevision { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict("busy", "could not allocate a work order id; try again"))
}

/// Dispatch confirms an order a technician opened on site (409
/// `not_opened_on_site` for an office order, `already_confirmed` twice).
pub async fn confirm(state: &AppState, id: &str, input: input::ConfirmInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    let origin = body.opened_on_site.as_mut().ok_or_else(|| {
        ApiError::conflict("not_opened_on_site", "the work order was not opened on site by a technician")
    })?;
    if origin.confirmed_at.is_some() {
        return Err(ApiError::conflict("already_confirmed", "the work order is already confirmed"));
    }
    origin.confirmed_at = Some(now);
    body.repeat_of = earlier_repairs(state, &body).await?;
    body.note(now, Action::Confirmed, None);
    save(state, &body, snapshot.rev, now).await
}

/// Dispatch rejects an order a technician opened on site (opened by
/// mistake, or not work for the company): it is cancelled with the reason
/// and leaves the tablet. 409 as for `confirm`.
pub async fn reject(state: &AppState, id: &str, input: input::CancelInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let reason = input::text("reason", &input.reason, input::MAX_REASON, true)?;
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    let origin = body.opened_on_site.as_ref().ok_or_else(|| {
        ApiError::conflict("not_opened_on_site", "the work order was not opened on site by a technician")
    })?;
    if origin.confirmed_at.is_some() {
        return Err(ApiError::conflict(
            "already_confirmed",
            "the work order is already confirmed; cancel it instead",
        ));
    }
    body.status = OrderStatus::Cancelled;
    body.cancellation = Some(Cancellation { at: now, reason });
    body.note(now, Action::Rejected, None);
    save(state, &body, snapshot.rev, now).await
}

/// Loads an order for a change: 404 if unknown, 409 `stale_revision` if
/// `expected_rev` is not the current rev.
async fn load_for_change(
    state: &AppState,
    id: &str,
    expected_rev: u64,
) -> ApiResult<(Snapshot, WorkOrderBody)> {
    let snapshot = state
        .storage
        .snapshot(SnapshotKind::WorkOrder, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the work order"))?;
    if snapshot.rev != expected_rev {
        return Err(StorageError::StaleRevision { current: snapshot.rev }.into());
    }
    let body = work_order_body(&snapshot)?;
    Ok((snapshot, body))
}

fn require_open(body: &WorkOrderBody) -> ApiResult<()> {
    match body.status {
        OrderStatus::Open => Ok(()),
        OrderStatus::Cancelled => Err(ApiError::conflict("order_cancelled", "the work order is cancelled")),
        OrderStatus::Closed => Err(ApiError::conflict("order_closed", "the work order is closed")),
    }
}

async fn save(
    state: &AppState,
    body: &WorkOrderBody,
    rev: u64,
    now: DateTime<Utc>,
) -> ApiResult<SnapshotView> {
    Ok(put_work_order(state, body, rev, now).await?.into())
}

/// Replaces the assigned technicians (an empty list unassigns).
pub async fn assign(state: &AppState, id: &str, input: input::AssignInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let techs = technicians(state, &input.technicians).await?;
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    if !techs.is_empty() && techs != body.order.assigned_technicians {
        // Passed on anew (派单): the acceptance deadline restarts, and only
        // the new technicians' acceptance meets it.
        body.order.milestones.dispatched_at = Some(now);
    }
    body.order.assigned_technicians = techs;
    let detail = body.order.assigned_technicians.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",");
    body.note(now, Action::Assigned, Some(detail));
    save(state, &body, snapshot.rev, now).await
}

/// Sets a new appointment.
pub async fn reschedule(
    state: &AppState,
    id: &str,
    input: input::RescheduleInput,
) -> ApiResult<SnapshotView> {
    let now = now(state);
    let agreed = appointment("appointment", &input.appointment)?;
    within_visit_hours(state, "appointment", &agreed).await?;
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    body.order.appointment = Some(agreed);
    body.note(
        now,
        Action::Rescheduled,
        Some(format!("{} – {}", agreed.start().to_rfc3339(), agreed.end().to_rfc3339())),
    );
    save(state, &body, snapshot.rev, now).await
}

/// Cancels the order; it leaves every tablet's feed.
pub async fn cancel(state: &AppState, id: &str, input: input::CancelInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let reason = input::text("reason", &input.reason, input::MAX_REASON, true)?;
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    body.status = OrderStatus::Cancelled;
    body.cancellation = Some(Cancellation { at: now, reason });
    body.note(now, Action::Cancelled, None);
    save(state, &body, snapshot.rev, now).await
}

/// Records milestones dispatch learnt by phone. Times may not be in the
/// future (beyond the clock tolerance) nor before the order was received.
pub async fn record_milestones(
    state: &AppState,
    id: &str,
    input: input::MilestonesInput,
    by: &str,
) -> ApiResult<SnapshotView> {
    let now = now(state);
    let tolerance = TimeDelta::milliseconds(state.limits.clock_tolerance_ms);
    let reason = input::optional_text("reason", input.reason.as_deref(), input::MAX_REASON, true)?;
    let fields = [
        ("contacted_at", input.contacted_at.as_deref()),
        ("on_site_at", input.on_site_at.as_deref()),
        ("completed_at", input.completed_at.as_deref()),
        ("late_notice_at", input.late_notice_at.as_deref()),
    ];
    let mut times = Vec::new();
    for (field, value) in fields {
        if let Some(v) = value {
            let at = input::instant(field, v)?;
            if at > now + tolerance {
                return Err(bad_field(field, "must not be in the future"));
            }
            if at < now - tolerance && reason.is_none() {
                return Err(bad_field(
                    "reason",
                    &format!("{field} is in the past: say why (what the phone said)"),
                ));
            }
            times.push((field, at));
        }
    }
    if times.is_empty() && input.running_late.is_none() {
        return Err(bad_field("milestones", "give at least one milestone"));
    }
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    let received_at = body.order.received_at;
    let m = &mut body.order.milestones;
    let mut changed = Vec::new();
    for (field, at) in times {
        if at < received_at {
            return Err(bad_field(field, "must not be before the order was received"));
        }
        let slot = match field {
            "contacted_at" => &mut m.contacted_at,
            "on_site_at" => &mut m.on_site_at,
            "completed_at" => &mut m.completed_at,
            _ => &mut m.late_notice_at,
        };
        *slot = Some(at);
        changed.push(format!("{field}={}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    }
    if let Some(late) = input.running_late {
        m.running_late = late;
        changed.push(format!("running_late={late}"));
    }
    if let Some(reason) = reason {
        changed.push(format!("reason: {reason}"));
    }
    body.note_by(now, Action::Milestones, Some(changed.join("; ")), Some(by.to_owned()));
    save(state, &body, snapshot.rev, now).await
}

/// Records a follow-up call (回访) at the server's now, which must be within
/// calling hours (07:00–22:00 company time; 409 `outside_calling_hours`).
/// The order must be open and completed (409 `not_completed`). A call that
/// reached the customer sets `milestones.follow_up_at` and closes the order;
/// `unreachable` is kept as the latest attempt and the order stays queued.
pub async fn record_follow_up(
    state: &AppState,
    id: &str,
    input: input::FollowUpInput,
) -> ApiResult<SnapshotView> {
    let now = now(state);
    let outcome = CallOutcome::parse(input.outcome.trim())
        .ok_or_else(|| bad_field("outcome", "must be one of satisfied, unsatisfied, unreachable"))?;
    let note = input::optional_text("note", input.note.as_deref(), input::MAX_NOTE, true)?;
    let book = crate::rules::rule_book(state).await?;
    let rules = book.current().1;
    if let Err(refusal) = compute::may_call_at(rules, now) {
        let f = rules.follow_up();
        let message = match refusal {
            hearth_domain::CallRefusal::OutsideCallingHours => format!(
                "follow-up calls are made between {} and {} local time",
                f.calls_from.format("%H:%M"),
                f.calls_until.format("%H:%M")
            ),
            hearth_domain::CallRefusal::MealTime => {
                let meals: Vec<String> = f
                    .meal_windows
                    .iter()
                    .map(|w| format!("{}–{}", w.from.format("%H:%M"), w.until.format("%H:%M")))
                    .collect();
                format!("no follow-up calls at meal times ({})", meals.join(", "))
            }
        };
        return Err(ApiError::conflict(refusal.code(), message));
    }
    let (snapshot, mut body) = load_for_change(state, id, input.expected_rev).await?;
    require_open(&body)?;
    let view = views::order_view(state, &snapshot, &body, now, &book).await?;
    if view.milestones.completed_at.is_none() {
        return Err(ApiError::conflict("not_completed", "the work order is not completed yet"));
    }
    body.follow_up = Some(FollowUp { at: now, outcome, note });
    if outcome.reached() {
        body.order.milestones.follow_up_at = Some(now);
        body.status = OrderStatus::Closed;
    }
    let detail = serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
    body.note(now, Action::FollowUp, detail);
    save(state, &body, snapshot.rev, now).await
}

/// Registers (or, with `expected_rev`, updates) a technician.
pub async fn create_technician(state: &AppState, input: input::TechnicianInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let tech_id = TechnicianId::parse(&input::identifier("tech_id", &input.tech_id)?)
        .map_err(|_| bad_field("tech_id", "must be 1 to 64 characters without spaces"))?;
    if input.expected_rev.is_none() {
        let existing = state.storage.snapshots(SnapshotKind::Technician).await?;
        if let Some(other) =
            hearth_domain::setup::technician_id_clash(&tech_id, existing.iter().map(|s| s.id.as_str()))
        {
            return Err(ApiError::conflict(
                "technician_exists",
                format!(
                    "tech_id: {other} exists; ids are matched exactly, on the tablet too, so use {other}"
                ),
            ));
        }
    }
    let name = input::text("name", &input.name, input::MAX_NAME, false)?;
    let phone =
        Phone::parse(&input::text("phone", &input.phone, input::MAX_SHORT_TEXT, false)?).map_err(|_| {
            bad_field("phone", "must be 7 to 15 digits, with an optional leading + and - or space")
        })?;
    let body = TechnicianBody { tech_id: tech_id.clone(), name, phone };
    let put = PutSnapshot {
        kind: SnapshotKind::Technician,
        id: tech_id.as_str().to_owned(),
        body: to_value(&body)?,
        scope: Scope::default(),
        expected_rev: Some(input.expected_rev.unwrap_or(0)),
        now_ms: now.timestamp_millis(),
    };
    let written = state.storage.put_snapshot(put).await;
    let written = if input.expected_rev.is_none() {
        written.map_err(created_conflict("a technician with this id", "technician_exists"))?
    } else {
        written?
    };
    Ok(written.into())
}

/// Registers (or, with `expected_rev`, recalibrates) a thermometer.
pub async fn create_thermometer(state: &AppState, input: input::ThermometerInput) -> ApiResult<SnapshotView> {
    let now = now(state);
    let serial = input::identifier("serial", input.serial.trim())?;
    let certificate = input::text("certificate", &input.certificate, input::MAX_SHORT_TEXT, false)?;
    let valid_until = input::date("valid_until", &input.valid_until)?;
    let thermometer = Thermometer::new(&serial, &certificate, valid_until)
        .map_err(|e| ApiError::bad_request("bad_field", e.to_string()))?;
    let put = PutSnapshot {
        kind: SnapshotKind::Thermometer,
        id: serial,
        body: to_value(&thermometer)?,
        scope: Scope::default(),
        expected_rev: Some(input.expected_rev.unwrap_or(0)),
        now_ms: now.timestamp_millis(),
    };
    let written = state.storage.put_snapshot(put).await;
    let written = if input.expected_rev.is_none() {
        written.map_err(created_conflict("a thermometer with this serial", "thermometer_exists"))?
    } else {
        written?
    };
    Ok(written.into())
}

/// Stores the company rule set (validated by its type). With `expected_rev`
/// the write fails with `stale_revision` if someone changed it meanwhile.
pub async fn put_rule_set(
    state: &AppState,
    rules: RuleSet,
    expected_rev: Option<u64>,
    set_by: &str,
) -> ApiResult<SnapshotView> {
    let now_ms = state.now_ms();
    let body = to_value(&rules)?;
    let put = PutSnapshot {
        kind: SnapshotKind::RuleSet,
        id: RULE_SET_ID.to_owned(),
        body: body.clone(),
        scope: Scope::default(),
        expected_rev,
        now_ms,
    };
    let stored = state.storage.put_snapshot(put).await?;
    // The new rules apply from now on; what was judged before stays judged
    // by the version in force then (`rules::RuleBook`). Never back-dated.
    let version = state.storage.add_rule_set_version(body, now_ms, set_by).await?;
    tracing::info!(version, set_by, "rule set version stored");
    Ok(stored.into())
}

/// The rule set in force, as a snapshot (rev 0 and the defaults when the
/// office has not stored one).
pub async fn rule_set_view(state: &AppState) -> ApiResult<SnapshotView> {
    match state.storage.snapshot(SnapshotKind::RuleSet, RULE_SET_ID).await? {
        Some(s) => Ok(s.into()),
        None => Ok(SnapshotView {
            id: RULE_SET_ID.to_owned(),
            rev: 0,
            updated_at_ms: 0,
            body: to_value(&RuleSet::default())?,
        }),
    }
}

/// Every snapshot of a kind (technicians, thermometers), ordered by id.
pub async fn list(state: &AppState, kind: SnapshotKind) -> ApiResult<Vec<SnapshotView>> {
    Ok(state.storage.snapshots(kind).await?.into_iter().map(SnapshotView::from).collect())
}
