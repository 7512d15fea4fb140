//! Bearer tokens: device tokens (issued at enrolment) and operator tokens
//! (issued by `admin operator-token`). Only their SHA-256 is stored.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
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
/// flagged, never lost. Only the head, the push and the receipts take it.
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

/// The office: a request carrying a valid operator token.
#[derive(Debug, Clone, Copy)]
pub struct OperatorAuth;

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        if state.storage.operator_token_exists(&secret_hash(token)).await? {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized())
        }
    }
}
