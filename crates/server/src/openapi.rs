//! The OpenAPI document at `/v1/openapi.json`, generated from the route
//! handlers' annotations and the protocol types themselves, so it cannot
//! drift from what the routes accept.

use axum::routing::get;
use axum::{Json, Router};
use hearth_protocol::api::*;
use hearth_protocol::record::*;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        // An operator's session (`POST /v1/office/session`); unsafe methods
        // also need the session's `X-CSRF-Token` header.
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
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

/// The answers every operation can give whatever its handler does, from
/// the layers in front of every route (`app::router`) and the extractors
/// the handlers share, each `{"error", "message"}` (`ErrorBody`). Added to
/// each operation that does not already document the status:
///
/// - every operation: `408 request_timeout` (the request took too long),
///   `500 internal`, `503 overloaded` (too many requests at once);
/// - with a bearer token: `401 unauthorized` and `429 rate_limited` (too
///   many wrong tokens from the address, or too many requests from one
///   tablet); with a device token also `403 device_revoked` (and `forbidden`);
///   with an operator token or session also `403 forbidden_role` (roles,
///   `office::access`) and `csrf_failed`;
/// - with parameters or a body: `400` (a malformed parameter or body);
/// - with a JSON body: `413 body_too_large`, `415` (not sent as
///   `application/json`), and for a typed body `422 bad_json`
///   (JSON of the wrong shape; free-form office bodies answer 400
///   `bad_json`/`bad_field` for that instead);
/// - `POST /v1/enroll/device`: `429 rate_limited` (enrolment attempts per address).
#[derive(Debug)]
struct CommonResponses;

impl CommonResponses {
    /// What takes an operator token also takes an operator's session cookie
    /// (`auth::authorize`): documented as an alternative.
    fn session_alternative(op: &mut Operation) {
        let Some(security) = op.security.as_mut() else { return };
        let has = |name: &str, s: &[utoipa::openapi::security::SecurityRequirement]| {
            s.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.get(name).is_some()))
        };
        if has("operator_token", security) && !has("session_cookie", security) {
            security.push(utoipa::openapi::security::SecurityRequirement::new(
                "session_cookie",
                Vec::<String>::new(),
            ));
        }
    }

    fn operation(op: &mut Operation) {
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let device = op.security.as_ref().is_some_and(|s| {
            s.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v.get("device_token").is_some()))
        });
        let json_body = op.request_body.as_ref().and_then(|b| b.content.get("application/json"));
        let typed_body = json_body.is_some_and(|c| matches!(c.schema, Some(RefOr::Ref(_))));
        let has_input = op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let operator = op.security.as_ref().is_some_and(|s| {
            s.iter().any(|r| {
                serde_json::to_value(r)
                    .is_ok_and(|v| v.get("operator_token").is_some() || v.get("session_cookie").is_some())
            })
        });
        let enrolment = op.operation_id.as_deref() == Some("enroll_device");

        let mut add = |status: u16, description: &str| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build();
            op.responses.responses.entry(status.to_string()).or_insert(RefOr::T(response));
        };
        if has_input {
            add(400, "bad_request, bad_json or bad_field: a malformed parameter or body");
        }
        if secured {
            add(401, "unauthorized: no valid bearer token (or, for the office, no live session)");
            add(429, "rate_limited: too many wrong tokens from this address or requests from this tablet");
        }
        if device {
            add(403, "device_revoked or forbidden");
        }
        if operator {
            add(
                403,
                "forbidden_role: the account lacks the role this needs; csrf_failed: a session's change without its X-CSRF-Token",
            );
        }
        if enrolment {
            add(429, "rate_limited: too many enrolment attempts from this address");
        }
        if json_body.is_some() {
            add(413, "body_too_large");
            add(415, "the body is not sent as application/json");
        }
        if typed_body {
            add(422, "bad_json: JSON of the wrong shape");
        }
        add(408, "request_timeout: the request (or its body) took too long");
        add(500, "internal: the server could not complete the request");
        add(503, "overloaded: too many requests at once; retry after a moment");
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                Self::session_alternative(op);
                Self::operation(op);
            }
        }
    }
}

/// The document, merged with the other modules' operations.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::blobs::openapi());
    doc.merge(crate::office::openapi());
    doc.merge(crate::verify::openapi());
    CommonResponses.modify(&mut doc);
    doc
}

async fn serve_document() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(serve_document))
}
