//! The office audit log: every office action, with who, when, what, and the
//! state of what it changed before and after (issue 15).
//!
//! - [`audit_layer`] wraps the office routes. For an unsafe request it puts
//!   an [`AuditSlot`] in the request; the office extractor
//!   (`auth::authorize`) notes the sender there and, once the role allows
//!   the request, reads the state of the request's subject (the work order,
//!   account, tablet, technician key, rule set… its path names) *before* the
//!   handler runs. After a successful answer the layer reads it again and
//!   appends one row: before, after, method, path, target, status.
//! - Refused requests are appended too, without states: nothing changed.
//! - States are the office's own reads, never the request body, so nothing
//!   secret (a password, an enrolment code) reaches the log.
//! - `GET /v1/office/audit?cursor=&limit=`: the log, oldest first, admins
//!   only. `office_audit` refuses UPDATE and DELETE (migration 0005).
//!
//! Before and after bracket the change: two actions on one order at the same
//! instant may each see the other's effect in their `after`; the work
//! order's `rev` in both states tells them apart.

use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_protocol::api::ErrorBody;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::accounts::SESSION_PATH;
use super::service::RULE_SET_ID;
use crate::auth::{self, OperatorAuth};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{AuditEntry, SnapshotKind};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/office/audit", get(audit_h))
}

/// Appends one row; a failure to append is logged, never turned into a
/// refusal of an action that has already happened.
#[allow(clippy::too_many_arguments)]
pub async fn append(
    state: &AppState,
    actor: &str,
    role: &str,
    method: &Method,
    path: &str,
    target: &str,
    status: u16,
) {
    append_entry(state, actor, role, method, path, target, status, None, None).await;
}

#[allow(clippy::too_many_arguments)]
async fn append_entry(
    state: &AppState,
    actor: &str,
    role: &str,
    method: &Method,
    path: &str,
    target: &str,
    status: u16,
    before: Option<Value>,
    after: Option<Value>,
) {
    let entry = AuditEntry {
        id: 0,
        at_ms: state.now_ms(),
        actor: actor.to_owned(),
        role: role.to_owned(),
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        target: target.to_owned(),
        status,
        before,
        after,
    };
    if let Err(e) = state.storage.append_audit(entry).await {
        tracing::error!(error = %e, "appending to the office audit log failed");
    }
}

// ---------------------------------------------------------------- subjects

/// What an office action changes, named by its route and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Snapshot(SnapshotKind, String),
    Account(String),
    TechnicianKey(String),
    Tablet(String),
}

/// The subject of an unsafe office request: `route` is the matched route
/// (`/v1/office/work-orders/{id}/assign`), `target` the id it names or, for
/// a creation, the id the answer gave. `None`: nothing with a state (an
/// enrolment code is a secret handed out, not a change to keep).
pub fn subject_of(route: &str, target: &str) -> Option<Subject> {
    if target.is_empty() && route != "/v1/office/rule-set" {
        return None;
    }
    let id = target.to_owned();
    let snapshot = |kind| Some(Subject::Snapshot(kind, id.clone()));
    match route {
        "/v1/office/rule-set" => Some(Subject::Snapshot(SnapshotKind::RuleSet, RULE_SET_ID.to_owned())),
        "/v1/office/technicians" => snapshot(SnapshotKind::Technician),
        "/v1/office/thermometers" => snapshot(SnapshotKind::Thermometer),
        "/v1/office/records/{record_id}/review" => snapshot(SnapshotKind::ReviewStatus),
        "/v1/office/setup/technician-keys/{kid}/revoke" => Some(Subject::TechnicianKey(id)),
        "/v1/office/setup/tablets/{device_id}/revoke" => Some(Subject::Tablet(id)),
        "/v1/office/setup/accounts" => Some(Subject::Account(id)),
        r if r.starts_with("/v1/office/setup/accounts/{username}/") => Some(Subject::Account(id)),
        "/v1/office/work-orders" => snapshot(SnapshotKind::WorkOrder),
        r if r.starts_with("/v1/office/work-orders/{id}/")
            || r.starts_with("/v1/office/complaints/{id}/") =>
        {
            snapshot(SnapshotKind::WorkOrder)
        }
        _ => None,
    }
}

/// The subject's state as the office reads it; `None` if it does not exist
/// (yet). A failed read is logged and leaves the state out.
async fn state_of(state: &AppState, subject: &Subject) -> Option<Value> {
    let read = async {
        Ok::<_, crate::storage::StorageError>(match subject {
            Subject::Snapshot(kind, id) => state
                .storage
                .snapshot(*kind, id)
                .await?
                .map(|s| json!({"rev": s.rev, "updated_at_ms": s.updated_at_ms, "body": s.body})),
            // Never the password hash.
            Subject::Account(username) => state.storage.operator_account(username).await?.map(
                |a| json!({"username": a.username, "name": a.name, "roles": a.roles, "disabled": a.disabled}),
            ),
            Subject::TechnicianKey(kid) => state.storage.technician_key(kid).await?.map(|k| {
                json!({"kid": k.kid, "tech_id": k.tech_id, "device_id": k.device_id,
                       "bound_at_ms": k.bound_at_ms, "revoked_at_ms": k.revoked_at_ms})
            }),
            Subject::Tablet(device_id) => state.storage.device_keys(device_id).await?.map(|k| {
                json!({"device_id": k.device.device_id, "name": k.device.name, "kid": k.device.kid,
                       "enrolled_at_ms": k.device.enrolled_at_ms, "revoked_at_ms": k.device.revoked_at_ms})
            }),
        })
    };
    match read.await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, ?subject, "reading an audit state failed");
            None
        }
    }
}

// ---------------------------------------------------------------- the layer

#[derive(Debug)]
struct Noted {
    state: AppState,
    actor: String,
    role: String,
    /// Read once the request was allowed; `None` for a refusal.
    before: Option<Option<Value>>,
}

/// Where the office extractors note who sent an unsafe request, and the
/// state of its subject before the handler changes it, for [`audit_layer`]
/// to append once the answer is known.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot {
    subject: Option<Subject>,
    noted: Arc<Mutex<Option<Noted>>>,
}

impl AuditSlot {
    /// The sender is known but the request is refused (CSRF, role).
    pub fn note_refused(&self, state: &AppState, actor: &str, role: &str) {
        self.put(Noted {
            state: state.clone(),
            actor: actor.to_owned(),
            role: role.to_owned(),
            before: None,
        });
    }

    /// The request is allowed: reads its subject's state before the change.
    pub async fn note_allowed(&self, state: &AppState, actor: &str, role: &str) {
        let before = match &self.subject {
            Some(subject) => state_of(state, subject).await,
            None => None,
        };
        self.put(Noted {
            state: state.clone(),
            actor: actor.to_owned(),
            role: role.to_owned(),
            before: Some(before),
        });
    }

    fn put(&self, noted: Noted) {
        if let Ok(mut slot) = self.noted.lock() {
            *slot = Some(noted);
        }
    }

    fn take(&self) -> Option<Noted> {
        self.noted.lock().ok().and_then(|mut s| s.take())
    }
}

/// The id a path names: the segment in place of the route's first `{…}`.
pub fn target_of(route: &str, path: &str) -> String {
    route
        .split('/')
        .zip(path.split('/'))
        .find(|(r, _)| r.starts_with('{'))
        .map(|(_, p)| p.to_owned())
        .unwrap_or_default()
}

/// Middleware on the office routes: appends every unsafe request whose
/// sender the extractors identified (allowed or refused by role or CSRF)
/// to the audit log, with the status answered and, when allowed, the
/// subject's state before and after. Login and logout are appended by
/// their handlers.
pub async fn audit_layer(mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if !auth::is_unsafe(&method) || path == SESSION_PATH {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let mut target = target_of(&route, &path);
    let slot = AuditSlot { subject: subject_of(&route, &target), ..AuditSlot::default() };
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let Some(noted) = slot.take() else {
        return response;
    };
    let status = response.status();
    let response = if target.is_empty() && status.is_success() {
        // A creation names no id in its path: the id is the answer's `id`.
        let (parts, body) = response.into_parts();
        match axum::body::to_bytes(body, 1024 * 1024).await {
            Ok(bytes) => {
                if let Ok(v) = serde_json::from_slice::<Value>(&bytes)
                    && let Some(id) = v.get("id").and_then(|i| i.as_str())
                {
                    target = id.to_owned();
                }
                Response::from_parts(parts, axum::body::Body::from(bytes))
            }
            Err(e) => ApiError::internal(format!("reading an answer to audit it: {e}")).into_response(),
        }
    } else {
        response
    };
    let (before, after) = match noted.before {
        Some(before) if status.is_success() => {
            let after = match subject_of(&route, &target) {
                Some(subject) => state_of(&noted.state, &subject).await,
                None => None,
            };
            (before, after)
        }
        _ => (None, None),
    };
    append_entry(
        &noted.state,
        &noted.actor,
        &noted.role,
        &method,
        &path,
        &target,
        status.as_u16(),
        before,
        after,
    )
    .await;
    response
}

// ---------------------------------------------------------------- reading

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/office/audit", tag = "office", summary = "The office audit log, oldest first (admins): who, when, what, and the state before and after", security(("operator_token" = []), ("session_cookie" = [])), params(("cursor" = Option<String>, Query, description = "next_cursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 500, default 100")), responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "forbidden_role: admins only")))]
async fn audit_h(
    State(state): State<AppState>,
    _office: OperatorAuth,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_field", e.body_text()))?;
    let after = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::bad_request("bad_field", "cursor: not a cursor this server gave"))?,
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::bad_request("bad_field", "limit: a whole number from 1 to 500"))?,
    };
    let items = state.storage.audit_after(after, limit + 1).await?;
    let more = items.len() > limit;
    let items: Vec<AuditEntry> = items.into_iter().take(limit).collect();
    let next_cursor = if more { items.last().map(|e| e.id.to_string()) } else { None };
    Ok(Json(AuditPage { items, next_cursor }))
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(audit_h), components(schemas(AuditEntry)))]
pub struct AuditDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_the_first_path_parameter() {
        assert_eq!(
            target_of("/v1/office/work-orders/{id}/assign", "/v1/office/work-orders/WO-1/assign"),
            "WO-1"
        );
        assert_eq!(target_of("/v1/office/work-orders", "/v1/office/work-orders"), "");
    }

    #[test]
    fn every_unsafe_office_route_names_its_subject_or_has_none_on_purpose() {
        let wo = |id: &str| Some(Subject::Snapshot(SnapshotKind::WorkOrder, id.to_owned()));
        assert_eq!(subject_of("/v1/office/work-orders/{id}/assign", "WO-1"), wo("WO-1"));
        assert_eq!(subject_of("/v1/office/complaints/{id}/answer", "C-1"), wo("C-1"));
        assert_eq!(subject_of("/v1/office/work-orders", "WO-2"), wo("WO-2"));
        assert_eq!(subject_of("/v1/office/work-orders", ""), None, "a creation has no state before");
        assert_eq!(
            subject_of("/v1/office/rule-set", ""),
            Some(Subject::Snapshot(SnapshotKind::RuleSet, RULE_SET_ID.to_owned()))
        );
        assert_eq!(
            subject_of("/v1/office/setup/accounts/{username}/disable", "amy"),
            Some(Subject::Account("amy".to_owned()))
        );
        assert_eq!(subject_of("/v1/office/setup/tablets/enrolment-code", ""), None);
        assert_eq!(subject_of("/v1/office/setup/technicians/{tech_id}/enrolment-code", "T1"), None);
        // Every unsafe route in the access table is either mapped or one of
        // the enrolment codes (secrets handed out, nothing changed).
        for (method, route, _) in super::super::access::TABLE {
            if *method == "GET" {
                continue;
            }
            let mapped = subject_of(route, "x").is_some();
            let secret = route.ends_with("/enrolment-code");
            assert!(mapped || secret, "{method} {route} names no audit subject");
        }
    }
}
