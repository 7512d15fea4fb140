//! Builds the application: state from storage, the router, and a server on
//! a listener it is given (port 0 in tests).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_protocol::SigningKey;
use rand_core::{OsRng, RngCore};
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Clock, Limits};
use crate::storage::Storage;

/// Assembles the state for tests and embedders, with the server key kept
/// in the database (`serve` and `import` keep it in a 0600 key file instead:
/// [`state_with_key`], `server_key`).
pub async fn state(
    storage: Arc<dyn Storage>,
    blob_dir: PathBuf,
    clock: Clock,
    limits: Limits,
) -> ApiResult<AppState> {
    let mut fresh = [0u8; 32];
    OsRng.fill_bytes(&mut fresh);
    let secret = storage.server_secret(fresh).await?;
    state_with_key(storage, SigningKey::from_bytes(&secret), blob_dir, clock, limits).await
}

/// Loads (or creates) the epoch from storage and assembles the state around `server_key`.
pub async fn state_with_key(
    storage: Arc<dyn Storage>,
    server_key: SigningKey,
    blob_dir: PathBuf,
    clock: Clock,
    limits: Limits,
) -> ApiResult<AppState> {
    let epoch = storage.database_epoch(uuid::Uuid::now_v7().simple().to_string()).await?;
    std::fs::create_dir_all(&blob_dir).map_err(|e| ApiError::internal(format!("blob directory: {e}")))?;
    Ok(AppState {
        storage,
        server_key: Arc::new(server_key),
        epoch: epoch.into(),
        blob_dir,
        clock,
        limits,
        device_locks: Arc::default(),
        rate: Arc::default(),
    })
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// Every route, with the protocol's JSON errors for anything unmatched.
pub fn router(state: AppState) -> Router {
    let limit = state.limits.max_json_body;
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::blobs::routes())
        .merge(crate::office::routes())
        .merge(crate::openapi::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(crate::api::json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
    .into_response()
}

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}
