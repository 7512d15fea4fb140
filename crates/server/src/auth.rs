//! Bearer tokens: device tokens (issued at enrolment) and operator tokens
//! (issued by `admin operator-token`). Only their SHA-256 is stored.
//!
//! The office: operators log in to an account (`office::accounts`) and get
//! a session cookie (`hearth_session`, only its SHA-256 stored) with a CSRF
//! token every unsafe request must echo in `X-CSRF-Token`; scripts keep
//! using operator tokens, which count as `admin` and need no CSRF token.
//! Either way the request's roles are checked against the one table in
//! `office::access` ([`authorize`]).

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::office::access::{self, Role};
use crate::state::AppState;
use crate::storage::DeviceRow;

/// A fresh random secret (token or one-time code), base64url.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hearth_protocol::b64::encode(&bytes)
}

/// A short one-time code a person can type on a tablet: 12 characters from
/// an alphabet without look-alikes, in groups of four.
pub fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// What is stored for a token or code: SHA-256 hex of its text (codes ignore case and dashes).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn code_hash(code: &str) -> String {
    let normal: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    secret_hash(&normal)
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}

/// The device a request comes from, revoked or not. Also applies the
/// per-device rate limit.
async fn any_device(parts: &Parts, state: &AppState) -> Result<DeviceRow, ApiError> {
    let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
    let device =
        state.storage.device_by_token(&secret_hash(token)).await?.ok_or_else(ApiError::unauthorized)?;
    let limits = state.limits;
    if let Err(wait) =
        state.rate.take(&device.device_id, state.now_ms(), limits.device_rate_per_sec, limits.device_burst)
    {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this tablet; wait and retry",
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    Ok(device)
}

/// A device the office has not revoked. A revoked tablet's token opens
/// nothing but the push of its entries (protocol §9): no feed (customers'
/// names, phones, addresses), no uploads, no blob queries, no enrolment.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub DeviceRow);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let device = any_device(parts, state).await?;
        match device.revoked_at_ms {
            Some(at) if at <= state.now_ms() => Err(device_revoked(at)),
            _ => Ok(Self(device)),
        }
    }
}

fn device_revoked(at_ms: i64) -> ApiError {
    let at = chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    ApiError::new(
        StatusCode::FORBIDDEN,
        "device_revoked",
        format!(
            "this tablet was revoked by the office at {at}: records it sealed can still be sent; \
             for anything else ask dispatch to enrol the tablet again"
        ),
    )
}

/// A device pushing its chain: revoked tablets too, so records sealed
/// before (or after) the revocation reach the server and are stored and
/// flagged, never lost. Only the head, the push and the receipts take it,
/// and the feed, which tells a revoked tablet so and nothing else.
#[derive(Debug, Clone)]
pub struct PushingDevice(pub DeviceAuth);

impl FromRequestParts<AppState> for PushingDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(DeviceAuth(any_device(parts, state).await?)))
    }
}

impl PushingDevice {
    pub fn require(&self, device_id: &str) -> Result<(), ApiError> {
        self.0.require(device_id)
    }

    /// When the office revoked this tablet, if it did.
    pub fn revoked_at_ms(&self) -> Option<i64> {
        self.0.0.revoked_at_ms
    }
}

impl DeviceAuth {
    /// A device may act only on its own id.
    pub fn require(&self, device_id: &str) -> Result<(), ApiError> {
        if self.0.device_id == device_id {
            Ok(())
        } else {
            Err(ApiError::forbidden("a tablet may only act on its own device id"))
        }
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hearth_session";
/// The header an unsafe request with a session cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused this long ends.
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends this long after login, however busy.
pub const SESSION_MAX_MS: i64 = 12 * 3600 * 1000;

/// The Argon2id PHC string of `password` (the crate's defaults: Argon2id
/// v1.3, 19 MiB, 2 passes, 1 lane; a random 16-byte salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string (false for a malformed one).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Verified instead of an account's hash for an unknown username, so both
/// take the same time.
pub static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&new_secret()).unwrap_or_else(|_| String::from("$argon2id$v=19$")));

/// The CSRF token of a session: derived from its secret, so a page can ask
/// for it again (`GET /v1/office/session`) while only its hash is stored.
pub fn csrf_token_for(session_secret: &str) -> String {
    hearth_protocol::b64::encode(&Sha256::digest(format!("hearth-csrf\0{session_secret}").as_bytes()))
}

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session secret in the request's `Cookie` header, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// How the office request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An operator token (scripts, the CLI): `admin`, no CSRF.
    Token,
    /// A session cookie; the SHA-256 hex of its secret.
    Session { session_hash: String },
}

/// Who makes an office request.
#[derive(Debug, Clone)]
pub struct OfficeActor {
    /// The account's username, or the operator token's name: what is attributed.
    pub username: String,
    /// The display name.
    pub name: String,
    pub roles: Vec<Role>,
    pub credential: Credential,
}

fn session_ended() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "the session has ended or is unknown; log in again",
    )
}

fn no_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "log in (a session cookie) or send a valid operator bearer token",
    )
}

pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The live session a cookie secret names: expired (idle or absolute) and
/// disabled accounts' sessions are refused (and an expired one deleted);
/// for an unsafe `method` the `X-CSRF-Token` header must match. Marks the
/// session used.
pub async fn session_actor(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    secret: &str,
) -> Result<OfficeActor, ApiError> {
    let session_hash = secret_hash(secret);
    let session = state.storage.operator_session(&session_hash).await?.ok_or_else(session_ended)?;
    let now = state.now_ms();
    if now >= session.expires_at_ms || now - session.last_seen_ms > SESSION_IDLE_MS {
        state.storage.delete_operator_session(&session_hash).await?;
        return Err(session_ended());
    }
    let account = state.storage.operator_account(&session.username).await?.ok_or_else(session_ended)?;
    if account.disabled {
        return Err(session_ended());
    }
    if is_unsafe(method) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !constant_time_eq(secret_hash(sent).as_bytes(), session.csrf_hash.as_bytes()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "a change made with a session needs the session's X-CSRF-Token header",
            ));
        }
    }
    state.storage.touch_operator_session(&session_hash, now).await?;
    Ok(OfficeActor {
        username: account.username,
        name: account.name,
        roles: account.roles.iter().filter_map(|r| Role::parse(r)).collect(),
        credential: Credential::Session { session_hash },
    })
}

/// Who sends the request: an operator bearer token (checked first; `admin`)
/// or a session cookie.
pub async fn office_actor(parts: &Parts, state: &AppState) -> Result<OfficeActor, ApiError> {
    if let Some(token) = bearer(parts) {
        let name = state.storage.operator_name(&secret_hash(token)).await?.ok_or_else(no_credentials)?;
        return Ok(OfficeActor {
            username: name.clone(),
            name,
            roles: vec![Role::Admin],
            credential: Credential::Token,
        });
    }
    let secret = session_cookie(&parts.headers).ok_or_else(no_credentials)?;
    session_actor(state, &parts.headers, &parts.method, secret).await
}

/// Authenticates the request and checks its roles against `office::access`
/// for its method and matched route: 401 without valid credentials, 403
/// `csrf_failed`, 403 `forbidden_role` naming the role needed. Returns the
/// actor and the role that allowed it, and notes both for the audit log.
pub async fn authorize(parts: &Parts, state: &AppState) -> Result<(OfficeActor, Role), ApiError> {
    let slot = parts.extensions.get::<crate::office::audit::AuditSlot>();
    let actor = match office_actor(parts, state).await {
        Ok(actor) => actor,
        Err(e) => {
            // A session's change without its CSRF token is audited too.
            if e.code == "csrf_failed"
                && let (Some(slot), Some(secret)) = (slot, session_cookie(&parts.headers))
                && let Some(session) = state.storage.operator_session(&secret_hash(secret)).await?
            {
                slot.note_refused(state, &session.username, "");
            }
            return Err(e);
        }
    };
    let route = parts.extensions.get::<MatchedPath>().map_or_else(|| parts.uri.path(), |m| m.as_str());
    let role_name = |role: Option<Role>| match (&actor.credential, role) {
        (Credential::Token, _) => "token".to_owned(),
        (_, Some(r)) => r.as_str().to_owned(),
        (_, None) => String::new(),
    };
    match access::permits(&actor.roles, &parts.method, route) {
        Some(role) => {
            if let Some(slot) = slot {
                slot.note_allowed(state, &actor.username, &role_name(Some(role))).await;
            }
            Ok((actor, role))
        }
        None => {
            if let Some(slot) = slot {
                slot.note_refused(state, &actor.username, &role_name(None));
            }
            let held: Vec<&str> = actor.roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_role",
                format!(
                    "{} {route} needs the role {}; this account has {}",
                    parts.method,
                    access::needed_text(&parts.method, route),
                    if held.is_empty() { "no role".to_owned() } else { held.join(", ") }
                ),
            ))
        }
    }
}

/// The office: a request from an operator (token or session) whose roles
/// allow this endpoint (`office::access`).
#[derive(Debug, Clone)]
pub struct OperatorAuth(pub OfficeActor);

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(authorize(parts, state).await?.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; hearth_session=abc; b=2".parse().unwrap());
        assert_eq!(session_cookie(&h), Some("abc"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
