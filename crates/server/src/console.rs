//! The office console (issue 15): the Svelte app of `ui/src/office`,
//! embedded at build time (`build.rs`) and served under `/office/`. It talks
//! to the office API with the operator's session cookie and CSRF token; the
//! strict CSP allows only its own scripts and styles.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data: blob:; font-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office", get(|| async { Redirect::permanent("/office/") }))
        .route("/office/", get(|| async { asset("office.html") }))
        .route("/office/{*path}", get(|Path(path): Path<String>| async move { asset(&path) }))
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str) -> Response {
    if ASSETS.is_empty() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "console_not_built",
            "the office console was not built into this server: run `npm ci && npm run build` in ui/, then build the server again",
        )
        .into_response();
    }
    let Some((name, bytes)) = ASSETS.iter().find(|(name, _)| *name == path) else {
        return ApiError::not_found("the console file").into_response();
    };
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type(name)));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Hashed asset names never change; the page itself is always fetched fresh.
    let cache = if name.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-store" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_served_with_their_media_type() {
        assert_eq!(media_type("office.html"), "text/html; charset=utf-8");
        assert_eq!(media_type("assets/office-1.js"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("assets/office-1.css"), "text/css; charset=utf-8");
        assert_eq!(media_type("x"), "application/octet-stream");
    }
}
