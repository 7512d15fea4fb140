//! The OpenAPI document at `/v1/openapi.json`, generated from the route
//! handlers' annotations and the protocol types themselves, so it cannot
//! drift from what the routes accept.

use axum::routing::get;
use axum::{Json, Router};
use hearth_protocol::api::*;
use hearth_protocol::record::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(Debug)]
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["device_token", "operator_token"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Hearth server API", description = "Protocol v1 (docs/protocol.md) and the office API."),
    paths(
        crate::api::server_key,
        crate::api::enroll_device,
        crate::api::enroll_technician,
        crate::api::head,
        crate::api::entries,
        crate::api::receipts,
        crate::api::feed,
        crate::api::record,
    ),
    components(schemas(
        ErrorBody, ServerKey, EnrollDeviceRequest, EnrollDeviceResponse, EnrollTechnicianRequest,
        EnrollTechnicianResponse, Head, EntriesRequest, EntriesResponse, EntryResult, EntryStatus, ConflictReason,
        ReceiptsResponse, ReceiptWithSig, BlobsMissingRequest, BlobsMissingResponse, FeedPage, FeedItem, FeedKind,
        RecordResponse, Envelope, TechSignature, DeviceSignature, Receipt, ReceiptStatus, SignerRole,
    )),
    modifiers(&BearerTokens)
)]
pub struct ApiDoc;

/// The document, merged with the other modules' operations.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::blobs::openapi());
    doc.merge(crate::office::openapi());
    doc
}

async fn serve_document() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(serve_document))
}
