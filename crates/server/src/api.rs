//! The device-facing protocol routes (§5): server key, enrolment, head,
//! entries, receipts, feed, records. Each handler authenticates, extracts,
//! calls one function and maps the result.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hearth_protocol::api::{
    EnrollDeviceRequest, EnrollDeviceResponse, EnrollTechnicianRequest, EnrollTechnicianResponse,
    EntriesRequest, EntriesResponse, ErrorBody, FeedPage, Head, ReceiptWithSig, ReceiptsResponse,
    RecordResponse, ServerKey,
};
use hearth_protocol::{VerifyingKey, b64, hash, seal::kid_of};
use serde::Deserialize;

use crate::auth::{self, DeviceAuth, OperatorAuth, PushingDevice};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{NewDevice, TechnicianKeyRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/server-key", get(server_key))
        .route("/v1/enroll/device", post(enroll_device))
        .route("/v1/enroll/technician", post(enroll_technician))
        .route("/v1/devices/{device_id}/head", get(head))
        .route("/v1/devices/{device_id}/entries", post(entries))
        .route("/v1/devices/{device_id}/receipts", get(receipts))
        .route("/v1/devices/{device_id}/feed", get(feed))
        .route("/v1/records/{record_id}", get(record))
}

/// `Json` whose rejections are the protocol's JSON errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) if crate::limits::is_body_timeout(&rejection) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body stopped arriving; send it again",
            )),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT
                {
                    "body_too_large"
                } else {
                    "bad_json"
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

/// Safety net: any error response that is not already JSON (a rejection
/// from a layer, a caught panic) becomes `{"error", "message"}`.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
        // The rest of the body was never read: the connection cannot be
        // reused, so say so instead of letting the client find out.
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    // JSON errors pass as they are, and so do the public verification
    // page's own HTML answers (`verify`: a form that says what was wrong).
    let is_rendered = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if status.as_u16() < 400 || is_rendered {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let message = status.canonical_reason().unwrap_or("error").to_owned();
    let mut out = (status, Json(ErrorBody { error: code.to_owned(), message })).into_response();
    for name in [header::RETRY_AFTER, header::LOCATION, header::CONNECTION] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    for (name, value) in response.headers() {
        if name.as_str().starts_with("tus-") || name.as_str().starts_with("upload-") {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[utoipa::path(get, path = "/v1/server-key", tag = "protocol", responses((status = 200, body = ServerKey, description = "The server's receipt-signing key")))]
pub async fn server_key(State(state): State<AppState>) -> Json<ServerKey> {
    let public = state.server_key.verifying_key();
    Json(ServerKey { kid: kid_of(&public), public_key: b64::encode(public.as_bytes()) })
}

fn public_key(text: &str) -> ApiResult<VerifyingKey> {
    b64::decode_array::<32>(text).and_then(|raw| VerifyingKey::from_bytes(&raw).ok()).ok_or_else(|| {
        ApiError::bad_request("bad_public_key", "pubkey must be a raw 32-byte Ed25519 key, base64url")
    })
}

fn bounded_text(field: &'static str, text: &str, max: usize) -> ApiResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_field",
            format!("{field} must be 1 to {max} printable characters"),
        ));
    }
    Ok(t.to_owned())
}

#[utoipa::path(post, path = "/v1/enroll/device", tag = "protocol", request_body = EnrollDeviceRequest, responses((status = 200, body = EnrollDeviceResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody, description = "code_rejected"), (status = 429, body = ErrorBody, description = "rate_limited: too many enrolment attempts from this address")))]
pub async fn enroll_device(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnrollDeviceRequest>,
) -> ApiResult<Json<EnrollDeviceResponse>> {
    let key = public_key(&req.pubkey)?;
    let name = bounded_text("name", &req.name, 100)?;
    let device_id = format!("dev-{}", uuid::Uuid::now_v7().simple());
    let token = auth::new_secret();
    let device = NewDevice {
        device_id: device_id.clone(),
        name,
        public_key: key.to_bytes(),
        kid: kid_of(&key),
        token_hash: auth::secret_hash(&token),
    };
    state.storage.enrol_device(&auth::code_hash(&req.code), device, state.now_ms()).await?;
    tracing::info!(%device_id, "device enrolled");
    Ok(Json(EnrollDeviceResponse { device_id, token }))
}

#[utoipa::path(post, path = "/v1/enroll/technician", tag = "protocol", security(("device_token" = [])), request_body = EnrollTechnicianRequest, responses((status = 200, body = EnrollTechnicianResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "code_rejected, device_revoked"), (status = 429, body = ErrorBody)))]
pub async fn enroll_technician(
    State(state): State<AppState>,
    device: DeviceAuth,
    ApiJson(req): ApiJson<EnrollTechnicianRequest>,
) -> ApiResult<Json<EnrollTechnicianResponse>> {
    let key = public_key(&req.pubkey)?;
    let tech_id = bounded_text("tech_id", &req.tech_id, 64)?;
    let kid = kid_of(&key);
    let row = TechnicianKeyRow {
        kid: kid.clone(),
        tech_id,
        device_id: device.0.device_id.clone(),
        public_key: key.to_bytes(),
        bound_at_ms: state.now_ms(),
        revoked_at_ms: None,
    };
    state.storage.enrol_technician_key(&auth::code_hash(&req.code), row, state.now_ms()).await?;
    Ok(Json(EnrollTechnicianResponse { kid }))
}

#[utoipa::path(get, path = "/v1/devices/{device_id}/head", tag = "protocol", security(("device_token" = [])), params(("device_id" = String, Path)), responses((status = 200, body = Head), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn head(
    State(state): State<AppState>,
    device: PushingDevice,
    Path(device_id): Path<String>,
) -> ApiResult<Json<Head>> {
    device.require(&device_id)?;
    let (seq, entry_hash) = state.storage.head(&device_id).await?;
    let entry_hash = entry_hash.map(|h| h.parse()).transpose().map_err(ApiError::internal)?;
    Ok(Json(Head { seq, entry_hash }))
}

#[utoipa::path(post, path = "/v1/devices/{device_id}/entries", tag = "protocol", security(("device_token" = [])), params(("device_id" = String, Path)), request_body = EntriesRequest, responses((status = 200, body = EntriesResponse, description = "One result per entry"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn entries(
    State(state): State<AppState>,
    device: PushingDevice,
    Path(device_id): Path<String>,
    ApiJson(req): ApiJson<EntriesRequest>,
) -> ApiResult<Json<EntriesResponse>> {
    device.require(&device_id)?;
    Ok(Json(crate::ingest::ingest_batch(&state, &device_id, req.entries).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReceiptsQuery {
    pub from_seq: Option<u64>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/devices/{device_id}/receipts", tag = "protocol", security(("device_token" = [])), params(("device_id" = String, Path), ("from_seq" = Option<u64>, Query), ("limit" = Option<usize>, Query)), responses((status = 200, body = ReceiptsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn receipts(
    State(state): State<AppState>,
    device: PushingDevice,
    Path(device_id): Path<String>,
    Query(q): Query<ReceiptsQuery>,
) -> ApiResult<Json<ReceiptsResponse>> {
    device.require(&device_id)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 1000);
    let stored = state.storage.entries_from(&device_id, q.from_seq.unwrap_or(1), limit).await?;
    let receipts = stored
        .into_iter()
        .map(|e| ReceiptWithSig { receipt: e.receipt, receipt_sig: e.receipt_sig })
        .collect();
    Ok(Json(ReceiptsResponse { receipts }))
}

#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/devices/{device_id}/feed", tag = "protocol", security(("device_token" = [])), params(("device_id" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<usize>, Query)), responses((status = 200, body = FeedPage, description = "A revoked tablet's feed carries one device_revocation item and nothing else"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody), (status = 409, body = ErrorBody, description = "reset: drop server-derived data and start again")))]
pub async fn feed(
    State(state): State<AppState>,
    device: PushingDevice,
    Path(device_id): Path<String>,
    Query(q): Query<FeedQuery>,
) -> ApiResult<Json<FeedPage>> {
    device.require(&device_id)?;
    // A revoked tablet is told so by its feed, and told nothing else (no
    // customers' names, phones or addresses).
    if let Some(at) = device.revoked_at_ms().filter(|at| *at <= state.now_ms()) {
        return Ok(Json(crate::feed::revoked_page(&device_id, at, q.cursor.as_deref())));
    }
    Ok(Json(crate::feed::page(&state, &device_id, q.cursor.as_deref(), q.limit).await?))
}

#[utoipa::path(get, path = "/v1/records/{record_id}", tag = "office", security(("operator_token" = [])), params(("record_id" = String, Path)), responses((status = 200, body = RecordResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn record(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(record_id): Path<String>,
) -> ApiResult<Json<RecordResponse>> {
    let stored = state
        .storage
        .entry_by_record_id(&record_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the record"))?;
    Ok(Json(RecordResponse {
        envelope: stored.envelope,
        receipt: Some(stored.receipt),
        receipt_sig: Some(stored.receipt_sig),
    }))
}

/// The blob id a path names, refusing anything but 64 lowercase hex (no traversal).
pub fn blob_id(text: &str) -> ApiResult<hash::Digest> {
    text.parse().map_err(|_| ApiError::bad_request("bad_blob_id", "a blob id is 64 lowercase hex characters"))
}
