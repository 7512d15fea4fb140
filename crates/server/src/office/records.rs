//! Placeholder, filled in this session.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

#[derive(Debug, utoipa::OpenApi)]
pub struct Doc;
