//! Operator commands (`hearth-server admin …`). Each works on the database
//! directly, so it runs whether or not `serve` is running on it, and returns
//! the one line it prints last.

use chrono::NaiveDate;
use hearth_domain::Thermometer;
use serde_json::json;

use crate::auth;
use crate::storage::{CodePurpose, NewEnrolCode, PutSnapshot, Scope, SnapshotKind, Storage};

/// How long a one-time enrolment code stays usable.
pub const CODE_TTL_MS: i64 = 72 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} was not found")]
    NotFound(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

pub type AdminResult = Result<String, AdminError>;

fn text(field: &str, value: &str, max: usize) -> Result<String, AdminError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!("{field} must be 1 to {max} printable characters")));
    }
    Ok(v.to_owned())
}

pub async fn operator_token(storage: &dyn Storage, now_ms: i64) -> AdminResult {
    let token = auth::new_secret();
    storage.add_operator_token(&auth::secret_hash(&token), now_ms).await?;
    Ok(token)
}

pub async fn device_code(storage: &dyn Storage, now_ms: i64) -> AdminResult {
    let code = auth::new_code();
    storage
        .add_enrol_code(NewEnrolCode {
            code_hash: auth::code_hash(&code),
            purpose: CodePurpose::Device,
            created_at_ms: now_ms,
            expires_at_ms: now_ms + CODE_TTL_MS,
        })
        .await?;
    Ok(code)
}

pub async fn technician_add(
    storage: &dyn Storage,
    id: &str,
    name: &str,
    phone: &str,
    now_ms: i64,
) -> AdminResult {
    let id = hearth_domain::TechnicianId::parse(id).map_err(|e| AdminError::Invalid(format!("id: {e}")))?;
    let name = text("name", name, 50)?;
    let phone = hearth_domain::Phone::parse(phone).map_err(|e| AdminError::Invalid(format!("phone: {e}")))?;
    let body = json!({"tech_id": id.as_str(), "name": name, "phone": phone.expose()});
    storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::Technician,
            id: id.as_str().to_owned(),
            body,
            scope: Scope::default(),
            expected_rev: None,
            now_ms,
        })
        .await?;
    Ok(id.as_str().to_owned())
}

pub async fn technician_code(storage: &dyn Storage, id: &str, now_ms: i64) -> AdminResult {
    if storage.snapshot(SnapshotKind::Technician, id).await?.is_none() {
        return Err(AdminError::NotFound(format!("technician {id}")));
    }
    let code = auth::new_code();
    storage
        .add_enrol_code(NewEnrolCode {
            code_hash: auth::code_hash(&code),
            purpose: CodePurpose::Technician { tech_id: id.to_owned() },
            created_at_ms: now_ms,
            expires_at_ms: now_ms + CODE_TTL_MS,
        })
        .await?;
    Ok(code)
}

pub async fn thermometer_add(
    storage: &dyn Storage,
    serial: &str,
    certificate: &str,
    valid_until: &str,
    now_ms: i64,
) -> AdminResult {
    let date = NaiveDate::parse_from_str(valid_until, "%Y-%m-%d")
        .map_err(|_| AdminError::Invalid("valid-until must be YYYY-MM-DD".into()))?;
    let thermometer =
        Thermometer::new(serial, certificate, date).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let body = serde_json::to_value(&thermometer).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let id = serial.trim().to_owned();
    storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::Thermometer,
            id: id.clone(),
            body,
            scope: Scope::default(),
            expected_rev: None,
            now_ms,
        })
        .await?;
    Ok(id)
}

pub async fn revoke_device(storage: &dyn Storage, device_id: &str, effective_at_ms: i64) -> AdminResult {
    if storage.revoke_device(device_id, effective_at_ms).await? {
        Ok(format!("revoked {device_id}"))
    } else {
        Err(AdminError::NotFound(format!("device {device_id}")))
    }
}

pub async fn revoke_technician(
    storage: &dyn Storage,
    kid: &str,
    effective_at_ms: i64,
    now_ms: i64,
) -> AdminResult {
    let key = storage
        .revoke_technician_key(kid, effective_at_ms)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("key {kid}")))?;
    // Tablets learn of it through the feed.
    storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::KeyRevocation,
            id: key.kid.clone(),
            body: json!({
                "kid": key.kid,
                "tech_id": key.tech_id,
                "device_id": key.device_id,
                "effective_at_ms": key.revoked_at_ms.unwrap_or(effective_at_ms),
            }),
            scope: Scope::default(),
            expected_rev: None,
            now_ms,
        })
        .await?;
    Ok(format!("revoked {kid}"))
}
