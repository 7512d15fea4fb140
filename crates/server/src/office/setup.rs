//! The administrator's screens (issue 15): technicians and their keys,
//! tablets and their enrolment codes (with a QR code), revocation with an
//! effective time, thermometers' calibration, operator accounts. Admins
//! only (`access`). The work itself is `crate::admin` (what the CLI runs)
//! and `accounts::add_account`; these handlers read, check and answer.
//!
//! - `GET /v1/office/setup/technicians`, `…/tablets`, `…/thermometers`,
//!   `…/accounts`: pages `{items, next_cursor}` sorted by id, with `q`
//!   (a part of the id or name, any case), `cursor` (the previous page's
//!   `next_cursor`) and `limit` (1 to 200, default 50); tablets filter by
//!   `state=active|revoked`, thermometers by `calibration=valid|expiring|expired`.
//! - `POST …/technicians/{tech_id}/enrolment-code`,
//!   `POST …/tablets/enrolment-code {server}`: a one-time code valid for
//!   `admin::CODE_TTL_MS`, answered once (only its hash is stored). The
//!   tablet's code comes with the QR payload `hearth:enrol:v1:{"code","server"}`
//!   and that payload as an SVG QR code.
//! - `POST …/tablets/{device_id}/revoke`, `POST …/technician-keys/{kid}/revoke`
//!   `{effective_at?, reason?}`: `hearth_domain::setup::revocation_effective_at`
//!   (default now, the future refused, the past only with a reason); 409
//!   `already_revoked`. Records signed after the time are flagged, not dropped.
//! - `POST …/accounts {username, name, roles, password}` (Argon2id, as the
//!   CLI), `POST …/accounts/{username}/disable` and `…/enable`; an admin may
//!   not disable their own account (409 `own_account`). No answer carries a
//!   password hash.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use hearth_domain::Thermometer;
use hearth_domain::setup::{CalibrationState, RevocationError, calibration_state, revocation_effective_at};
use hearth_protocol::api::ErrorBody;
use qrcode::{Color, EcLevel, QrCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access::Role;
use super::decisions::Operator;
use super::input::{self, bad_field};
use crate::admin::{self, AdminError};
use crate::api::ApiJson;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{DeviceKeys, OperatorAccount, RevocationNote, SnapshotKind, TechnicianKeyRow};

/// Prefix of the text in a tablet's enrolment QR code; JSON follows.
pub const ENROL_QR_PREFIX: &str = "hearth:enrol:v1:";
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/setup/technicians", get(technicians_h))
        .route("/v1/office/setup/technicians/{tech_id}/enrolment-code", post(technician_code_h))
        .route("/v1/office/setup/technician-keys/{kid}/revoke", post(revoke_key_h))
        .route("/v1/office/setup/tablets", get(tablets_h))
        .route("/v1/office/setup/tablets/enrolment-code", post(tablet_code_h))
        .route("/v1/office/setup/tablets/{device_id}/revoke", post(revoke_tablet_h))
        .route("/v1/office/setup/thermometers", get(thermometers_h))
        .route("/v1/office/setup/accounts", get(accounts_h).post(create_account_h))
        .route("/v1/office/setup/accounts/{username}/disable", post(disable_h))
        .route("/v1/office/setup/accounts/{username}/enable", post(enable_h))
}

fn admin_error(e: AdminError) -> ApiError {
    match e {
        AdminError::Invalid(message) => ApiError::bad_request("bad_field", message),
        AdminError::NotFound(what) => ApiError::not_found(&what),
        AdminError::Storage(e) => e.into(),
    }
}

// ---------------------------------------------------------------- pages

/// `q`, `cursor`, `limit` and one filter, read strictly (unknown parameters refused).
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
    limit: usize,
    filter: Option<String>,
}

impl ListQuery {
    fn parse(query: &HashMap<String, String>, filter: Option<(&str, &[&str])>) -> ApiResult<Self> {
        let mut allowed = vec!["q", "cursor", "limit"];
        if let Some((name, _)) = filter {
            allowed.push(name);
        }
        if let Some(k) = query.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad_field(k, &format!("is not a parameter here ({})", allowed.join(", "))));
        }
        let limit = match query.get("limit").map(|l| l.trim()) {
            None | Some("") => DEFAULT_LIMIT,
            Some(l) => l.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                bad_field("limit", &format!("must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
        let q = input::optional_text("q", query.get("q").map(String::as_str), input::MAX_SHORT_TEXT, false)?
            .map(|q| q.to_lowercase());
        let cursor = query.get("cursor").filter(|c| !c.is_empty()).cloned();
        let filter = match filter {
            Some((name, values)) => match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                Some(v) if values.contains(&v) => Some(v.to_owned()),
                Some(_) => return Err(bad_field(name, &format!("must be one of {}", values.join(", ")))),
                None => None,
            },
            None => None,
        };
        Ok(Self { q, cursor, limit, filter })
    }

    fn matches(&self, texts: &[&str]) -> bool {
        self.q.as_deref().is_none_or(|q| texts.iter().any(|t| t.to_lowercase().contains(q)))
    }

    /// The page after the cursor of `items` (already filtered), sorted by `key`.
    fn page<T>(&self, mut items: Vec<T>, key: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        items.sort_by(|a, b| key(a).cmp(key(b)));
        let mut after: Vec<T> = match &self.cursor {
            Some(c) => items.into_iter().filter(|i| key(i) > c.as_str()).collect(),
            None => items,
        };
        let more = after.len() > self.limit;
        after.truncate(self.limit);
        let next = if more { after.last().map(|i| key(i).to_owned()) } else { None };
        (after, next)
    }
}

macro_rules! page_type {
    ($name:ident, $item:ty) => {
        /// A page of a list; pass `next_cursor` as `cursor` for the next one (absent at the end).
        #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
        }
    };
}

page_type!(TechnicianPage, TechnicianSetupView);
page_type!(TabletPage, TabletView);
page_type!(ThermometerPage, ThermometerSetupView);
page_type!(AccountPage, AccountView);

// ---------------------------------------------------------------- revocation

/// Who revoked, when it was recorded and why (absent for revocations made
/// with the CLI, which records no reason).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevocationView {
    pub recorded_by: String,
    pub recorded_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn note_for(notes: &[RevocationNote], kind: &str, subject: &str) -> Option<RevocationView> {
    notes.iter().rev().find(|n| n.subject_kind == kind && n.subject == subject).map(|n| RevocationView {
        recorded_by: n.recorded_by.clone(),
        recorded_at_ms: n.recorded_at_ms,
        reason: n.reason.clone(),
    })
}

/// A technician's key, bound to one tablet.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub tech_id: String,
    pub device_id: String,
    /// When the technician enrolled on that tablet (Unix ms).
    pub bound_at_ms: i64,
    /// From when records signed with it are flagged (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationView>,
}

fn key_view(k: &TechnicianKeyRow, notes: &[RevocationNote]) -> KeyView {
    KeyView {
        kid: k.kid.clone(),
        tech_id: k.tech_id.clone(),
        device_id: k.device_id.clone(),
        bound_at_ms: k.bound_at_ms,
        revoked_at_ms: k.revoked_at_ms,
        revocation: k.revoked_at_ms.and_then(|_| note_for(notes, "technician_key", &k.kid)),
    }
}

/// `{effective_at?, reason?}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeInput {
    /// RFC 3339 with offset; default now. Not in the future; in the past only with a reason.
    #[serde(default)]
    pub effective_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Checks a revocation request: the time it takes effect and the reason.
fn revocation_time(state: &AppState, input: &RevokeInput) -> ApiResult<(i64, Option<String>)> {
    let reason = input::optional_text("reason", input.reason.as_deref(), input::MAX_REASON, true)?;
    let requested = match input.effective_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(input::instant("effective_at", t)?.timestamp_millis()),
        None => None,
    };
    let at = revocation_effective_at(
        state.now_ms(),
        requested,
        reason.as_deref(),
        state.limits.clock_tolerance_ms,
    )
    .map_err(|e| match e {
        RevocationError::InFuture => bad_field("effective_at", "must not be in the future"),
        RevocationError::PastWithoutReason => ApiError::bad_request("bad_field", e.to_string()),
    })?;
    Ok((at, reason))
}

fn already_revoked(what: &str, at_ms: i64) -> ApiError {
    let at = chrono::DateTime::from_timestamp_millis(at_ms).map_or_else(String::new, |t| t.to_rfc3339());
    ApiError::conflict("already_revoked", format!("{what} was revoked already, effective {at}"))
}

// ---------------------------------------------------------------- technicians

/// A technician with the keys they enrolled on tablets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TechnicianSetupView {
    pub tech_id: String,
    pub name: String,
    pub phone: String,
    /// The snapshot's revision (for `POST /v1/office/technicians` with `expected_rev`).
    pub rev: u64,
    pub keys: Vec<KeyView>,
}

#[utoipa::path(get, path = "/v1/office/setup/technicians", tag = "office", summary = "Technicians with their enrolled keys and each key's state (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("q" = Option<String>, Query, description = "part of the id, name or phone"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 200, default 50")), responses((status = 200, body = TechnicianPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn technicians_h(
    State(state): State<AppState>,
    _admin: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<TechnicianPage>> {
    let list = ListQuery::parse(&query, None)?;
    let devices = state.storage.all_device_keys().await?;
    let notes = state.storage.revocation_notes().await?;
    let mut items = Vec::new();
    for snapshot in state.storage.snapshots(SnapshotKind::Technician).await? {
        let text = |k: &str| snapshot.body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (name, phone) = (text("name"), text("phone"));
        if !list.matches(&[&snapshot.id, &name, &phone]) {
            continue;
        }
        let keys = devices
            .iter()
            .flat_map(|d| d.technicians.iter())
            .filter(|k| k.tech_id == snapshot.id)
            .map(|k| key_view(k, &notes))
            .collect();
        items.push(TechnicianSetupView { tech_id: snapshot.id, name, phone, rev: snapshot.rev, keys });
    }
    let (items, next_cursor) = list.page(items, |t| &t.tech_id);
    Ok(Json(TechnicianPage { items, next_cursor }))
}

/// A one-time enrolment code, shown once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrolmentCode {
    /// The technician it enrols (absent for a tablet's code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tech_id: Option<String>,
    pub code: String,
    /// Unusable after this (Unix ms).
    pub expires_at_ms: i64,
    /// For a tablet: the QR code's text, `hearth:enrol:v1:` + `{"code", "server"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_payload: Option<String>,
    /// For a tablet: the payload as an SVG QR code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

#[utoipa::path(post, path = "/v1/office/setup/technicians/{tech_id}/enrolment-code", tag = "office", summary = "A one-time code for a technician to enrol on a tablet (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("tech_id" = String, Path)), responses((status = 201, body = EnrolmentCode), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "no such technician")))]
async fn technician_code_h(
    State(state): State<AppState>,
    _admin: Operator,
    Path(tech_id): Path<String>,
) -> ApiResult<(StatusCode, Json<EnrolmentCode>)> {
    let now = state.now_ms();
    let code = admin::technician_code(state.storage.as_ref(), &tech_id, now).await.map_err(admin_error)?;
    let expires_at_ms = now + admin::CODE_TTL_MS;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentCode { tech_id: Some(tech_id), code, expires_at_ms, qr_payload: None, qr_svg: None }),
    ))
}

#[utoipa::path(post, path = "/v1/office/setup/technician-keys/{kid}/revoke", tag = "office", summary = "Revoke a technician's key on one tablet from an effective time (admins); records signed after it are flagged, not dropped", security(("operator_token" = []), ("session_cookie" = [])), params(("kid" = String, Path)), request_body = RevokeInput, responses((status = 200, body = KeyView), (status = 400, body = ErrorBody, description = "bad_field: effective_at in the future, or in the past without a reason"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already_revoked")))]
async fn revoke_key_h(
    State(state): State<AppState>,
    operator: Operator,
    Path(kid): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<KeyView>> {
    let body: RevokeInput = input::from_json(body)?;
    let (at, reason) = revocation_time(&state, &body)?;
    let key = state.storage.technician_key(&kid).await?.ok_or_else(|| ApiError::not_found("the key"))?;
    if let Some(was) = key.revoked_at_ms {
        return Err(already_revoked("the key", was));
    }
    let now = state.now_ms();
    admin::revoke_technician(state.storage.as_ref(), &kid, at, now).await.map_err(admin_error)?;
    let note = RevocationNote {
        subject_kind: "technician_key".into(),
        subject: kid.clone(),
        effective_at_ms: at,
        recorded_at_ms: now,
        recorded_by: operator.name,
        reason,
    };
    state.storage.add_revocation_note(note.clone()).await?;
    let key = state.storage.technician_key(&kid).await?.ok_or_else(|| ApiError::not_found("the key"))?;
    Ok(Json(key_view(&key, &[note])))
}

// ---------------------------------------------------------------- tablets

/// An enrolled tablet.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TabletView {
    pub device_id: String,
    /// The name the tablet gave itself when it enrolled.
    pub name: String,
    pub kid: String,
    pub enrolled_at_ms: i64,
    /// When the server received its latest record (Unix ms); absent before its first push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_record_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationView>,
    /// The technicians enrolled on it.
    pub technicians: Vec<String>,
}

fn tablet_view(d: &DeviceKeys, last: Option<i64>, notes: &[RevocationNote]) -> TabletView {
    let mut technicians: Vec<String> = d.technicians.iter().map(|k| k.tech_id.clone()).collect();
    technicians.dedup();
    TabletView {
        device_id: d.device.device_id.clone(),
        name: d.device.name.clone(),
        kid: d.device.kid.clone(),
        enrolled_at_ms: d.device.enrolled_at_ms,
        last_record_at_ms: last,
        revoked_at_ms: d.device.revoked_at_ms,
        revocation: d.device.revoked_at_ms.and_then(|_| note_for(notes, "device", &d.device.device_id)),
        technicians,
    }
}

#[utoipa::path(get, path = "/v1/office/setup/tablets", tag = "office", summary = "Enrolled tablets: enrolment, latest record received, revocation (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("q" = Option<String>, Query, description = "part of the device id or name"), ("state" = Option<String>, Query, description = "active or revoked"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 200, default 50")), responses((status = 200, body = TabletPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn tablets_h(
    State(state): State<AppState>,
    _admin: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<TabletPage>> {
    let list = ListQuery::parse(&query, Some(("state", &["active", "revoked"])))?;
    let last: HashMap<String, i64> = state.storage.last_received_by_device().await?.into_iter().collect();
    let notes = state.storage.revocation_notes().await?;
    let items = state
        .storage
        .all_device_keys()
        .await?
        .iter()
        .filter(|d| list.matches(&[&d.device.device_id, &d.device.name]))
        .filter(|d| match list.filter.as_deref() {
            Some("active") => d.device.revoked_at_ms.is_none(),
            Some(_) => d.device.revoked_at_ms.is_some(),
            None => true,
        })
        .map(|d| tablet_view(d, last.get(&d.device.device_id).copied(), &notes))
        .collect();
    let (items, next_cursor) = list.page(items, |t| &t.device_id);
    Ok(Json(TabletPage { items, next_cursor }))
}

/// `{server}`: the server's address as the office reaches it (the console sends its origin).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TabletCodeInput {
    /// `http://` or `https://` and a host, e.g. `https://hearth.example.cn:8443`.
    pub server: String,
}

/// The server's address as given: `http(s)://host[:port][/path]`, printable, no trailing `/`.
pub(crate) fn server_url(text: &str) -> ApiResult<String> {
    let t = text.trim().trim_end_matches('/');
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"));
    let host = rest.map(|r| r.split('/').next().unwrap_or_default()).unwrap_or_default();
    let ok = !host.is_empty()
        && t.len() <= 200
        && t.chars().all(|c| c.is_ascii_graphic())
        && !t.contains(['"', '\\', '<', '>', '?', '#']);
    if ok { Ok(t.to_owned()) } else { Err(bad_field("server", "must be an http:// or https:// address")) }
}

/// The payload as an SVG QR code (level M, a quiet zone of 4 modules).
fn qr_svg(payload: &str) -> ApiResult<String> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(format!("QR code: {e}")))?;
    let width = code.width();
    let size = width + 8;
    let mut path = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            path.push_str(&format!("M{},{}h1v1h-1z", i % width + 4, i / width + 4));
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[utoipa::path(post, path = "/v1/office/setup/tablets/enrolment-code", tag = "office", summary = "A one-time code to enrol a tablet, as text and as a QR code (admins)", security(("operator_token" = []), ("session_cookie" = [])), request_body = TabletCodeInput, responses((status = 201, body = EnrolmentCode), (status = 400, body = ErrorBody, description = "bad_json, or bad_field naming server"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn tablet_code_h(
    State(state): State<AppState>,
    _admin: Operator,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<EnrolmentCode>)> {
    let body: TabletCodeInput = input::from_json(body)?;
    let server = server_url(&body.server)?;
    let now = state.now_ms();
    let code = admin::device_code(state.storage.as_ref(), now).await.map_err(admin_error)?;
    let payload = format!("{ENROL_QR_PREFIX}{}", serde_json::json!({"server": server, "code": code}));
    let svg = qr_svg(&payload)?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentCode {
            tech_id: None,
            code,
            expires_at_ms: now + admin::CODE_TTL_MS,
            qr_payload: Some(payload),
            qr_svg: Some(svg),
        }),
    ))
}

#[utoipa::path(post, path = "/v1/office/setup/tablets/{device_id}/revoke", tag = "office", summary = "Revoke a tablet from an effective time (admins); records signed after it are flagged, not dropped", security(("operator_token" = []), ("session_cookie" = [])), params(("device_id" = String, Path)), request_body = RevokeInput, responses((status = 200, body = TabletView), (status = 400, body = ErrorBody, description = "bad_field: effective_at in the future, or in the past without a reason"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already_revoked")))]
async fn revoke_tablet_h(
    State(state): State<AppState>,
    operator: Operator,
    Path(device_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<TabletView>> {
    let body: RevokeInput = input::from_json(body)?;
    let (at, reason) = revocation_time(&state, &body)?;
    let device =
        state.storage.device_keys(&device_id).await?.ok_or_else(|| ApiError::not_found("the tablet"))?;
    if let Some(was) = device.device.revoked_at_ms {
        return Err(already_revoked("the tablet", was));
    }
    admin::revoke_device(state.storage.as_ref(), &device_id, at).await.map_err(admin_error)?;
    let note = RevocationNote {
        subject_kind: "device".into(),
        subject: device_id.clone(),
        effective_at_ms: at,
        recorded_at_ms: state.now_ms(),
        recorded_by: operator.name,
        reason,
    };
    state.storage.add_revocation_note(note.clone()).await?;
    let device =
        state.storage.device_keys(&device_id).await?.ok_or_else(|| ApiError::not_found("the tablet"))?;
    let last = state.storage.last_received_by_device().await?.into_iter().find(|(d, _)| *d == device_id);
    Ok(Json(tablet_view(&device, last.map(|(_, t)| t), &[note])))
}

// ---------------------------------------------------------------- thermometers

/// A thermometer and how its calibration stands today (company time).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThermometerSetupView {
    pub serial: String,
    pub certificate_no: String,
    /// The last valid day, `YYYY-MM-DD`.
    pub valid_until: String,
    /// `valid`, `expiring` (30 days or fewer left) or `expired`.
    #[schema(value_type = String)]
    pub calibration: CalibrationState,
    /// Days left (0 on the last valid day, negative once expired).
    pub days_left: i64,
    pub rev: u64,
}

#[utoipa::path(get, path = "/v1/office/setup/thermometers", tag = "office", summary = "Thermometers with their calibration state (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("q" = Option<String>, Query, description = "part of the serial or certificate number"), ("calibration" = Option<String>, Query, description = "valid, expiring or expired"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 200, default 50")), responses((status = 200, body = ThermometerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn thermometers_h(
    State(state): State<AppState>,
    _admin: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<ThermometerPage>> {
    let list = ListQuery::parse(&query, Some(("calibration", &["valid", "expiring", "expired"])))?;
    let today: NaiveDate = hearth_domain::time::local_date(
        chrono::DateTime::from_timestamp_millis(state.now_ms()).unwrap_or_else(Utc::now),
    );
    let mut items = Vec::new();
    for snapshot in state.storage.snapshots(SnapshotKind::Thermometer).await? {
        let Ok(t) = serde_json::from_value::<Thermometer>(snapshot.body.clone()) else { continue };
        let (calibration, days_left) = calibration_state(&t, today);
        let view = ThermometerSetupView {
            serial: t.serial.as_str().to_owned(),
            certificate_no: t.certificate_no.as_str().to_owned(),
            valid_until: t.valid_until.format("%Y-%m-%d").to_string(),
            calibration,
            days_left,
            rev: snapshot.rev,
        };
        let wanted = list.filter.as_deref().is_none_or(|f| {
            serde_json::to_value(calibration).ok().and_then(|v| v.as_str().map(|s| s == f)).unwrap_or(false)
        });
        if wanted && list.matches(&[&view.serial, &view.certificate_no]) {
            items.push(view);
        }
    }
    let (items, next_cursor) = list.page(items, |t| &t.serial);
    Ok(Json(ThermometerPage { items, next_cursor }))
}

// ---------------------------------------------------------------- accounts

/// An operator account, without its password hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// The username again, so the audit log names the account created.
    pub id: String,
    pub username: String,
    pub name: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

fn account_view(a: OperatorAccount) -> AccountView {
    AccountView {
        id: a.username.clone(),
        username: a.username,
        name: a.name,
        roles: a.roles,
        disabled: a.disabled,
        created_at_ms: a.created_at_ms,
    }
}

#[utoipa::path(get, path = "/v1/office/setup/accounts", tag = "office", summary = "Operator accounts (admins); no password hashes", security(("operator_token" = []), ("session_cookie" = [])), params(("q" = Option<String>, Query, description = "part of the username or name"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 200, default 50")), responses((status = 200, body = AccountPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn accounts_h(
    State(state): State<AppState>,
    _admin: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<AccountPage>> {
    let list = ListQuery::parse(&query, None)?;
    let items = state
        .storage
        .operator_accounts()
        .await?
        .into_iter()
        .filter(|a| list.matches(&[&a.username, &a.name]))
        .map(account_view)
        .collect();
    let (items, next_cursor) = list.page(items, |a| &a.username);
    Ok(Json(AccountPage { items, next_cursor }))
}

/// `{username, name, roles, password}`.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountInput {
    /// 1 to 64 of `a-z 0-9 . _ -`.
    pub username: String,
    pub name: String,
    /// dispatcher, customer_service, reviewer, manager, admin.
    pub roles: Vec<String>,
    /// At least `accounts::MIN_PASSWORD_CHARS` characters.
    pub password: String,
}

impl std::fmt::Debug for NewAccountInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccountInput").field("username", &self.username).finish_non_exhaustive()
    }
}

#[utoipa::path(post, path = "/v1/office/setup/accounts", tag = "office", summary = "Create an operator account (admins); the password is stored as Argon2id", security(("operator_token" = []), ("session_cookie" = [])), request_body = NewAccountInput, responses((status = 201, body = AccountView), (status = 400, body = ErrorBody, description = "bad_json, or bad_field naming username, name, roles or password"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "account_exists")))]
async fn create_account_h(
    State(state): State<AppState>,
    _admin: Operator,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let body: NewAccountInput = input::from_json(body)?;
    let roles = body
        .roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                bad_field("roles", "each must be dispatcher, customer_service, reviewer, manager or admin")
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if roles.is_empty() {
        return Err(bad_field("roles", "give at least one role"));
    }
    let min = super::accounts::MIN_PASSWORD_CHARS;
    if body.password.chars().count() < min {
        return Err(bad_field("password", &format!("must have at least {min} characters")));
    }
    if body.password.chars().count() > 256 {
        return Err(bad_field("password", "must have at most 256 characters"));
    }
    let username = body.username.trim().to_owned();
    if state.storage.operator_account(&username).await?.is_some() {
        return Err(ApiError::conflict("account_exists", format!("username: {username} is taken")));
    }
    super::accounts::add_account(
        state.storage.as_ref(),
        &username,
        &body.name,
        &roles,
        &body.password,
        state.now_ms(),
    )
    .await
    .map_err(|e| match e {
        AdminError::Invalid(m) if m.contains("is taken") => ApiError::conflict("account_exists", m),
        other => admin_error(other),
    })?;
    let account =
        state.storage.operator_account(&username).await?.ok_or_else(|| ApiError::not_found("the account"))?;
    Ok((StatusCode::CREATED, Json(account_view(account))))
}

async fn set_disabled(
    state: &AppState,
    operator: &Operator,
    username: &str,
    disabled: bool,
) -> ApiResult<AccountView> {
    if disabled && operator.name == username {
        return Err(ApiError::conflict("own_account", "you cannot disable your own account"));
    }
    if !state.storage.set_operator_disabled(username, disabled).await? {
        return Err(ApiError::not_found("the account"));
    }
    let account =
        state.storage.operator_account(username).await?.ok_or_else(|| ApiError::not_found("the account"))?;
    Ok(account_view(account))
}

#[utoipa::path(post, path = "/v1/office/setup/accounts/{username}/disable", tag = "office", summary = "Disable an operator account and end its sessions (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("username" = String, Path)), responses((status = 200, body = AccountView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "own_account: an admin cannot disable themself")))]
async fn disable_h(
    State(state): State<AppState>,
    operator: Operator,
    Path(username): Path<String>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(set_disabled(&state, &operator, &username, true).await?))
}

#[utoipa::path(post, path = "/v1/office/setup/accounts/{username}/enable", tag = "office", summary = "Enable a disabled operator account (admins)", security(("operator_token" = []), ("session_cookie" = [])), params(("username" = String, Path)), responses((status = 200, body = AccountView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn enable_h(
    State(state): State<AppState>,
    operator: Operator,
    Path(username): Path<String>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(set_disabled(&state, &operator, &username, false).await?))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        technicians_h,
        technician_code_h,
        revoke_key_h,
        tablets_h,
        tablet_code_h,
        revoke_tablet_h,
        thermometers_h,
        accounts_h,
        create_account_h,
        disable_h,
        enable_h
    ),
    components(schemas(
        TechnicianPage,
        TechnicianSetupView,
        KeyView,
        RevocationView,
        EnrolmentCode,
        RevokeInput,
        TabletPage,
        TabletView,
        TabletCodeInput,
        ThermometerPage,
        ThermometerSetupView,
        AccountPage,
        AccountView,
        NewAccountInput
    ))
)]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_http_or_https_with_a_host() {
        assert_eq!(server_url("https://hearth.example.cn:8443/").unwrap(), "https://hearth.example.cn:8443");
        for bad in ["", "ftp://x", "https://", "hearth.example.cn", "https://a b", "https://x/\"y"] {
            assert!(server_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_qr_code_is_an_svg_with_a_quiet_zone() {
        let svg =
            qr_svg("hearth:enrol:v1:{\"code\":\"ABCD-EFGH-JKLM\",\"server\":\"https://h.example\"}").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(svg.contains("M4,4h1v1h-1z"), "the finder pattern's corner is dark");
    }
}
