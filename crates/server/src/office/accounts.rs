//! Operator accounts, sessions and the office audit log.
//!
//! - `POST /v1/office/session {username, password}` logs in: 200
//!   `{operator: {username, name, roles}, csrf_token}` and a
//!   `hearth_session` cookie (`HttpOnly; Secure; SameSite=Strict; Path=/;
//!   Max-Age=43200`). A wrong password, an unknown user and a disabled
//!   account all answer the same `401 bad_credentials`, after the same
//!   Argon2id work. After [`MAX_FAILURES`] failed logins within
//!   [`FAILURE_WINDOW_MS`] for one username or from one client address,
//!   `429 too_many_attempts` with `Retry-After`.
//! - `GET /v1/office/session`: the same body for a live session, 401 otherwise.
//! - `DELETE /v1/office/session`: logs out (with the CSRF header), 204.
//!
//! Sessions end after [`auth::SESSION_IDLE_MS`] unused or
//! [`auth::SESSION_MAX_MS`] after login. Every unsafe office request
//! (POST/PUT/PATCH/DELETE under `/v1/office/`) whose sender is known is
//! appended to `office_audit` with the status it was answered
//! ([`super::audit`]); so are logins, failed logins and logouts.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_protocol::api::ErrorBody;
use serde::{Deserialize, Serialize};

use super::access::Role;
use super::audit;
use crate::admin::AdminError;
use crate::api::ApiJson;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{OperatorAccount, OperatorSession, Storage};

/// Failed logins allowed per username and per client address within [`FAILURE_WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

pub(crate) const SESSION_PATH: &str = "/v1/office/session";

pub fn routes() -> Router<AppState> {
    // Hashed now, so the first unknown username takes no longer than later ones.
    LazyLock::force(&auth::DUMMY_HASH);
    Router::new().route(SESSION_PATH, get(session_h).post(login_h).delete(logout_h))
}

// ---------------------------------------------------------------- accounts

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::Invalid(message.into())
}

/// Adds an account (the CLI's `admin operator-add`, the demo): the username
/// is 1 to 64 of `a-z 0-9 . _ -`, the name 1 to 100 printable characters,
/// at least one role, a password of at least [`MIN_PASSWORD_CHARS`].
pub async fn add_account(
    storage: &dyn Storage,
    username: &str,
    name: &str,
    roles: &[Role],
    password: &str,
    now_ms: i64,
) -> Result<(), AdminError> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
    {
        return Err(invalid("username must be 1 to 64 of a-z, 0-9, '.', '_' and '-'"));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(invalid("name must be 1 to 100 printable characters"));
    }
    if roles.is_empty() {
        return Err(invalid(
            "give at least one --role (dispatcher, customer_service, reviewer, manager, admin)",
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(format!("the password must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| invalid(e.to_string()))?
        .map_err(invalid)?;
    storage
        .add_operator_account(OperatorAccount {
            username: username.to_owned(),
            name: name.to_owned(),
            password_hash,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            disabled: false,
            created_at_ms: now_ms,
        })
        .await
        .map_err(|e| match e {
            crate::storage::StorageError::Exists(_) => invalid(format!("the username {username} is taken")),
            other => other.into(),
        })
}

// ---------------------------------------------------------------- throttling

/// Failed logins per key (`<database epoch>|user|…`, `…|addr|…`), their times.
static FAILURES: LazyLock<Mutex<HashMap<String, VecDeque<i64>>>> = LazyLock::new(Mutex::default);

fn failures() -> std::sync::MutexGuard<'static, HashMap<String, VecDeque<i64>>> {
    match FAILURES.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Seconds to wait if any key has had [`MAX_FAILURES`] failures within the window.
fn throttled(keys: &[String], now: i64) -> Option<u64> {
    let mut map = failures();
    let mut wait = None;
    for key in keys {
        if let Some(times) = map.get_mut(key) {
            while times.front().is_some_and(|t| now - t >= FAILURE_WINDOW_MS) {
                times.pop_front();
            }
            if times.len() >= MAX_FAILURES
                && let Some(oldest) = times.front()
            {
                let secs = u64::try_from((oldest + FAILURE_WINDOW_MS - now + 999) / 1000).unwrap_or(1).max(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
    }
    wait
}

fn record_failure(keys: &[String], now: i64) {
    let mut map = failures();
    if map.len() > 10_000 {
        map.retain(|_, times| times.back().is_some_and(|t| now - t < FAILURE_WINDOW_MS));
    }
    for key in keys {
        map.entry(key.clone()).or_default().push_back(now);
    }
}

fn clear_failures(key: &str) {
    failures().remove(key);
}

// ---------------------------------------------------------------- sessions

/// `POST /v1/office/session`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionOperator {
    pub username: String,
    pub name: String,
    /// dispatcher, customer_service, reviewer, manager, admin.
    pub roles: Vec<String>,
}

/// A live session: who is logged in, and the token to send as `X-CSRF-Token`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    pub operator: SessionOperator,
    pub csrf_token: String,
}

fn session_view(actor: &auth::OfficeActor, secret: &str) -> SessionView {
    SessionView {
        operator: SessionOperator {
            username: actor.username.clone(),
            name: actor.name.clone(),
            roles: actor.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        },
        csrf_token: auth::csrf_token_for(secret),
    }
}

fn cookie(secret: &str, max_age_secs: i64) -> HeaderValue {
    let text = format!(
        "{}={secret}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age_secs}",
        auth::SESSION_COOKIE
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("hearth_session=; Max-Age=0"))
}

/// What a failed login is recorded under: printable, at most 64 characters.
fn attempted(username: &str) -> String {
    username.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn bad_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "the username or the password is wrong")
}

#[utoipa::path(post, path = "/v1/office/session", tag = "office", summary = "Log in: a session cookie and its CSRF token", request_body = LoginRequest, responses((status = 200, body = SessionView, description = "Logged in; `Set-Cookie: hearth_session=…; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=43200`"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "bad_credentials: wrong password, unknown or disabled account (one answer for all)"), (status = 429, body = ErrorBody, description = "too_many_attempts: too many failed logins for this username or from this address; see Retry-After")))]
async fn login_h(
    State(state): State<AppState>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let method = Method::POST;
    let who = attempted(&body.username);
    let now = state.now_ms();
    let address =
        connect.map_or_else(|| "unknown".to_owned(), |axum::Extension(ConnectInfo(a))| a.ip().to_string());
    let user_key = format!("{}|user|{}", state.epoch, who);
    let keys = [user_key.clone(), format!("{}|addr|{address}", state.epoch)];
    if let Some(wait) = throttled(&keys, now) {
        audit::append(&state, &who, "", &method, SESSION_PATH, "", 429).await;
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins for this username or from this address; wait and try again",
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    let account = if who.len() <= 64 { state.storage.operator_account(&body.username).await? } else { None };
    let phc = account.as_ref().map_or_else(|| auth::DUMMY_HASH.clone(), |a| a.password_hash.clone());
    let password = body.password;
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(ApiError::internal)?;
    let account = match account {
        Some(a) if verified && !a.disabled => a,
        _ => {
            record_failure(&keys, now);
            audit::append(&state, &who, "", &method, SESSION_PATH, "", 401).await;
            return Err(bad_credentials());
        }
    };
    clear_failures(&user_key);
    let secret = auth::new_secret();
    let session_hash = auth::secret_hash(&secret);
    state
        .storage
        .add_operator_session(OperatorSession {
            session_hash: session_hash.clone(),
            username: account.username.clone(),
            csrf_hash: auth::secret_hash(&auth::csrf_token_for(&secret)),
            created_at_ms: now,
            last_seen_ms: now,
            expires_at_ms: now + auth::SESSION_MAX_MS,
        })
        .await?;
    let actor = auth::OfficeActor {
        username: account.username.clone(),
        name: account.name.clone(),
        roles: account.roles.iter().filter_map(|r| Role::parse(r)).collect(),
        credential: auth::Credential::Session { session_hash },
    };
    audit::append(&state, &actor.username, &account.roles.join(","), &method, SESSION_PATH, "", 200).await;
    let mut response = Json(session_view(&actor, &secret)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&secret, auth::SESSION_MAX_MS / 1000));
    Ok(response)
}

#[utoipa::path(get, path = "/v1/office/session", tag = "office", summary = "The logged-in operator and the session's CSRF token", security(("session_cookie" = [])), responses((status = 200, body = SessionView), (status = 401, body = ErrorBody, description = "unauthorized: no live session")))]
async fn session_h(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<SessionView>> {
    let secret = auth::session_cookie(&headers)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no session; log in first"))?;
    let actor = auth::session_actor(&state, &headers, &Method::GET, secret).await?;
    Ok(Json(session_view(&actor, secret)))
}

#[utoipa::path(delete, path = "/v1/office/session", tag = "office", summary = "Log out", security(("session_cookie" = [])), params(("X-CSRF-Token" = String, Header, description = "the session's CSRF token")), responses((status = 204, description = "Logged out; the cookie is cleared"), (status = 401, body = ErrorBody, description = "unauthorized: no live session"), (status = 403, body = ErrorBody, description = "csrf_failed: the X-CSRF-Token header is missing or wrong")))]
async fn logout_h(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let secret = auth::session_cookie(&headers)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no session; log in first"))?;
    let actor = match auth::session_actor(&state, &headers, &Method::DELETE, secret).await {
        Ok(actor) => actor,
        Err(e) => {
            if e.status == StatusCode::FORBIDDEN {
                let username = match state.storage.operator_session(&auth::secret_hash(secret)).await? {
                    Some(s) => s.username,
                    None => String::new(),
                };
                audit::append(&state, &username, "", &Method::DELETE, SESSION_PATH, "", e.status.as_u16())
                    .await;
            }
            return Err(e);
        }
    };
    state.storage.delete_operator_session(&auth::secret_hash(secret)).await?;
    audit::append(&state, &actor.username, "", &Method::DELETE, SESSION_PATH, "", 204).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie("", 0));
    Ok(response)
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(login_h, session_h, logout_h))]
pub struct AccountsDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_within_the_window_throttle_until_the_oldest_leaves_it() {
        let keys = [format!("test-{}", uuid::Uuid::now_v7())];
        for i in 0..5 {
            assert_eq!(throttled(&keys, 1_000 + i), None);
            record_failure(&keys, 1_000 + i);
        }
        assert_eq!(throttled(&keys, 2_000), Some(899));
        assert_eq!(throttled(&keys, 1_000 + FAILURE_WINDOW_MS), None);
    }
}
