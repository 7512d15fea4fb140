//! Builds the application: state from storage, the router, and a server on
//! a listener it is given (port 0 in tests).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_protocol::SigningKey;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rand_core::{OsRng, RngCore};
use tower_http::timeout::RequestBodyTimeoutLayer;
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
        events: Default::default(),
    })
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// Every route, with the protocol's JSON errors for anything unmatched,
/// behind the guards against slow and greedy clients (`Limits`): a body
/// that stalls is cut off, a request that takes too long answered 408, at
/// most `max_concurrent` requests handled at once (503 `overloaded` after a
/// short wait), and per client address a bucket for enrolment attempts and
/// failed bearer tokens (429 `rate_limited`).
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    let gate = crate::limits::Gate::new(limits.max_concurrent, ms(limits.overload_wait_ms));
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::blobs::routes())
        .merge(crate::office::routes())
        .merge(crate::openapi::routes())
        .merge(crate::verify::routes())
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_json_body))
        .layer(RequestBodyTimeoutLayer::new(ms(limits.body_timeout_ms)))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::limits::per_address))
        .layer(axum::middleware::from_fn_with_state(ms(limits.request_timeout_ms), crate::limits::deadline))
        .layer(axum::middleware::from_fn_with_state(gate, crate::limits::admit))
        .layer(axum::middleware::from_fn(crate::api::json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis.max(1))
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
    .into_response()
}

/// Serves `router` on `listener` until the process ends, over HTTP/1.1:
/// a connection that has not sent a whole request header within
/// `limits.header_timeout_ms` (from its start, or from the previous
/// response) is closed, so half-open and trickling connections cost a
/// task and a socket for seconds, never forever. Each request carries its
/// client's address (`ConnectInfo<SocketAddr>`) for the per-address limit.
pub async fn serve(listener: tokio::net::TcpListener, router: Router, limits: Limits) -> std::io::Result<()> {
    let header_timeout = ms(limits.header_timeout_ms);
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin or stop.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(addr));
                    tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new))
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).with_upgrades().await {
                tracing::debug!(error = %e, %addr, "connection ended");
            }
        });
    }
}

/// Sets the header read timeout on an `axum-server` (TLS) server's HTTP/1 side.
pub fn configure_http(builder: &mut hyper_util::server::conn::auto::Builder<TokioExecutor>, limits: &Limits) {
    builder.http1().timer(TokioTimer::new()).header_read_timeout(ms(limits.header_timeout_ms));
}
