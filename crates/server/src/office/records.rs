//! The quality reviewer's records (issue 15): search over every sealed
//! record the server holds, the record view an auditor needs (bracketed
//! times, signatures re-verified by ingest's own code, the device chain,
//! the receipt, corrections, reviews, evidence, photos and the customer's
//! answer), photo thumbnails, and the customer's copy reprinted from the
//! server's records (the tablet prunes photos and signatures once
//! receipted, so the office is where a lost copy is made again).
//!
//! Search pages are newest first by `server_seq`; the next page is named
//! by an RFC 8288 `Link: <…&cursor=N>; rel="next"` header while the body
//! stays a JSON array. A cursor is the `server_seq` of the last record
//! shown, so records arriving meanwhile land above the first page and
//! never shift later pages (no duplicates, no gaps).

use std::collections::{HashMap, HashSet};
use std::io;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hearth_copy::{BuildError, Contact, Holder, Printing, SignedOff};
use hearth_domain::CustomerSignoff;
use hearth_domain::Thermometer;
use hearth_domain::time::ms_to_utc;
use hearth_protocol::api::ErrorBody;
use hearth_protocol::verify::decode_envelope;
use hearth_protocol::{AttachmentRole, Content, Digest, Sealed, SignerRole, schema};
use serde::Serialize;
use serde_json::Value;

use super::compute::Bracketed;
use super::decisions::Operator;
use super::input::{self, bad_field};
use super::views::{self, RecordFact, RecordView};
use crate::api::blob_id;
use crate::error::{ApiError, ApiResult};
use crate::orders::work_order_body;
use crate::state::AppState;
use crate::storage::record_search::RecordSearch;
use crate::storage::{ReviewDecision, SnapshotKind, StoredEntry};

/// Records on one page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;
/// The query parameters the search knows; any other is refused, so a typo
/// is not silently a search for everything.
const SEARCH_PARAMS: &[&str] =
    &["q", "kind", "work_order", "device", "technician", "flagged", "from", "to", "limit", "cursor"];
/// Where thumbnails are cached, inside the blob directory.
const THUMBNAIL_DIR: &str = ".thumbnails";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/office/records", get(search_h))
        .route("/v1/office/records/{record_id}/view", get(view_h))
        .route("/v1/office/blobs/{sha256}/thumbnail", get(thumbnail_h))
        .route("/v1/office/work-orders/{id}/copy.pdf", get(reprint_h))
}

// ---------------------------------------------------------------- search

/// One record in the search results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordItem {
    pub record_id: String,
    /// The record's kind (schema), e.g. `hearth.temperature_reading/1`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order_id: Option<String>,
    pub device_id: String,
    /// Its place in the device's chain.
    pub seq: u64,
    /// The server's receipt number (the page cursor).
    pub server_seq: u64,
    /// Tech ids of the technicians who signed it.
    pub signers: Vec<String>,
    /// The device's claim of when it was made; absent if the stored bytes no longer decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub claimed_at: Option<DateTime<Utc>>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: DateTime<Utc>,
    pub flags: Vec<String>,
    /// False once a correction or void supersedes it.
    pub current: bool,
    /// The records that correct or void it, in the order received.
    pub superseded_by: Vec<String>,
}

fn one<'a>(query: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The search as the query string gives it; each bad value is a `400
/// bad_field` naming the parameter.
pub fn parse_search(query: &HashMap<String, String>) -> ApiResult<RecordSearch> {
    if let Some(unknown) = query.keys().find(|k| !SEARCH_PARAMS.contains(&k.as_str())) {
        return Err(bad_field(
            unknown,
            &format!("is not a search parameter (known: {})", SEARCH_PARAMS.join(", ")),
        ));
    }
    let id = |key: &str| one(query, key).map(|v| input::identifier(key, v)).transpose();
    let limit =
        match one(query, "limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                bad_field("limit", &format!("must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
    let before_server_seq = match one(query, "cursor") {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .ok()
                .filter(|n| (1..=i64::MAX as u64).contains(n))
                .ok_or_else(|| bad_field("cursor", "must be the cursor of a previous page"))?,
        ),
    };
    let flagged = match one(query, "flagged") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad_field("flagged", "must be true or false")),
    };
    let from_ms =
        one(query, "from").map(|v| input::instant("from", v)).transpose()?.map(|t| t.timestamp_millis());
    let to_ms = one(query, "to").map(|v| input::instant("to", v)).transpose()?.map(|t| t.timestamp_millis());
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && f >= t
    {
        return Err(bad_field("to", "must be after from"));
    }
    Ok(RecordSearch {
        q: id("q")?,
        kind: id("kind")?,
        work_order_id: id("work_order")?,
        device_id: id("device")?,
        tech_id: id("technician")?,
        flagged,
        from_ms,
        to_ms,
        before_server_seq,
        limit,
    })
}

/// The `Link` header naming the page after `last`, with the same filters.
fn next_link(query: &HashMap<String, String>, last: u64) -> String {
    super::paging::next_link("/v1/office/records", query, &last.to_string())
}

/// Supersession of the given records, judged among their work orders'
/// records by `hearth_domain::versions` (one read per order on the page).
async fn versions_for(
    state: &AppState,
    entries: &[StoredEntry],
) -> ApiResult<HashMap<String, hearth_domain::Versions>> {
    let orders: HashSet<&str> = entries.iter().filter_map(|e| e.work_order_id.as_deref()).collect();
    let mut out = HashMap::new();
    for order in orders {
        let facts: Vec<RecordFact> = state
            .storage
            .entries_for_work_order(order)
            .await?
            .into_iter()
            .map(|stored| {
                let decoded = decode_envelope(&stored.envelope).ok();
                RecordFact {
                    sealed_at_ms: decoded.as_ref().map(|d| d.entry.sealed_at_ms),
                    content: decoded.map(|d| d.content().clone()),
                    not_before: None,
                    stored,
                }
            })
            .collect();
        out.extend(views::versions_of(&facts));
    }
    Ok(out)
}

pub async fn search(state: &AppState, search: RecordSearch) -> ApiResult<Vec<RecordItem>> {
    let entries = state.storage.search_entries(search).await?;
    let versions = versions_for(state, &entries).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let v = versions.get(&e.record_id);
            let claimed_at =
                decode_envelope(&e.envelope).ok().map(|d| ms_to_utc(d.content().created.device_time_ms));
            let mut signers: Vec<String> = Vec::new();
            for s in &e.envelope.tech_sigs {
                if !signers.contains(&s.tech_id) {
                    signers.push(s.tech_id.clone());
                }
            }
            RecordItem {
                kind: e.schema,
                work_order_id: e.work_order_id,
                device_id: e.device_id,
                seq: e.seq,
                server_seq: e.receipt.server_seq,
                signers,
                claimed_at,
                received_at: ms_to_utc(e.receipt.received_at_ms),
                flags: e.flags,
                current: v.is_none_or(|v| v.latest),
                superseded_by: v.map(|v| v.superseded_by.clone()).unwrap_or_default(),
                record_id: e.record_id,
            }
        })
        .collect())
}

#[utoipa::path(get, path = "/v1/office/records", tag = "office",
    summary = "Search the sealed records, newest first; the next page is in the Link header (rel=\"next\")",
    security(("operator_token" = [])),
    params(
        ("q" = Option<String>, Query, description = "a record id (prefix), work-order id, device id or tech id"),
        ("kind" = Option<String>, Query, description = "a record kind (schema), e.g. hearth.temperature_reading/1"),
        ("work_order" = Option<String>, Query, description = "a work-order id"),
        ("device" = Option<String>, Query, description = "a device id"),
        ("technician" = Option<String>, Query, description = "a tech id among the signers"),
        ("flagged" = Option<bool>, Query, description = "true: only records the server flagged"),
        ("from" = Option<String>, Query, description = "received at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "received before (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "records per page, 1 to 200 (default 50)"),
        ("cursor" = Option<String>, Query, description = "from the previous page's Link header"),
    ),
    responses(
        (status = 200, body = Vec<RecordItem>, headers(("Link" = String, description = "RFC 8288 link to the next page, rel=\"next\"; absent on the last page"))),
        (status = 400, body = ErrorBody, description = "bad_field: the message names the parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn search_h(
    State(state): State<AppState>,
    _office: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let parsed = parse_search(&query)?;
    let limit = parsed.limit;
    let items = search(&state, parsed).await?;
    let mut response = Json(&items).into_response();
    if items.len() == limit
        && let Some(last) = items.last()
        && let Ok(link) = HeaderValue::from_str(&next_link(&query, last.server_seq))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

// ---------------------------------------------------------------- the record view

/// A technician's signature on the record, with who they are.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignatureView {
    /// performer, witness or supervisor (protocol roles).
    #[schema(value_type = String)]
    pub role: SignerRole,
    pub tech_id: String,
    /// The technician's name, as the office knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kid: String,
    /// Whether the record carries this signer's signature.
    pub signed: bool,
    /// Whether that signature verifies.
    pub valid: bool,
}

/// Whether the stored record checks out as ingest checks it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// The bytes on file decode and hash to what was received.
    pub intact: bool,
    /// The device's and every technician's signature verify.
    pub signatures_valid: bool,
    pub device_signature_valid: bool,
    /// What failed (a protocol error code), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The record's place in its device's chain.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChainView {
    pub device_id: String,
    pub seq: u64,
    pub entry_hash: String,
    /// The previous entry's hash as this entry names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_record_id: Option<String>,
}

/// The server's signed receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub server_seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: DateTime<Utc>,
    /// valid or needs_review.
    pub status: String,
    /// The server's Ed25519 signature over the receipt (base64url).
    pub signature: String,
}

/// A record that corrects or voids this one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectionView {
    pub record_id: String,
    pub kind: String,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: DateTime<Utc>,
}

/// A photo (or other image) the record names, and whether the server has it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoView {
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at_ms: Option<i64>,
    /// Whether the blob has arrived (a tablet uploads it after the record).
    pub on_server: bool,
}

/// The customer's answer, on a sign-off record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum CustomerView {
    Signed {
        /// The signature image (a PNG blob).
        signature: PhotoView,
        satisfaction: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// The text the customer was shown and signed.
        summary_shown: String,
    },
    Refused {
        reason: String,
        summary_shown: String,
    },
}

/// `GET /v1/office/records/{record_id}/view`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordDetail {
    /// The record as the order's records show it (content decoded in `data`).
    #[schema(value_type = Object)]
    pub record: RecordView,
    /// The device's claim, bracketed by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub times: Option<Bracketed>,
    pub signatures: Vec<SignatureView>,
    pub verification: Verification,
    pub chain: ChainView,
    pub receipt: ReceiptView,
    /// What this record corrects, if it is a correction or void.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrects: Option<CorrectionView>,
    /// Corrections and voids of this record, in the order received.
    pub corrections: Vec<CorrectionView>,
    pub reviews: Vec<ReviewDecision>,
    pub photos: Vec<PhotoView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerView>,
}

fn blob_on_server(state: &AppState, sha256: &str) -> bool {
    state.blob_dir.join(sha256).is_file()
}

fn photo_view(state: &AppState, a: &hearth_protocol::Attachment) -> PhotoView {
    let sha256 = a.sha256.to_hex();
    PhotoView {
        on_server: blob_on_server(state, &sha256),
        sha256,
        media_type: a.media_type.clone(),
        size: a.size,
        captured_at_ms: a.captured_at_ms,
    }
}

async fn technician_name(state: &AppState, tech_id: &str) -> ApiResult<Option<String>> {
    Ok(state
        .storage
        .snapshot(SnapshotKind::Technician, tech_id)
        .await?
        .and_then(|s| s.body.get("name").and_then(Value::as_str).map(str::to_owned)))
}

/// Re-checks the stored record with ingest's own code (`ingest::check`).
async fn verification(state: &AppState, stored: &StoredEntry) -> ApiResult<(Verification, Option<String>)> {
    let Some(keys) = state.storage.device_keys(&stored.device_id).await? else {
        let v = Verification {
            intact: false,
            signatures_valid: false,
            device_signature_valid: false,
            error: Some("unknown_device".to_owned()),
        };
        return Ok((v, None));
    };
    let directory = crate::ingest::directory(state, &keys, std::slice::from_ref(&stored.envelope)).await?;
    let checked = crate::ingest::check(&stored.envelope, &directory);
    let intact = checked.decoded.as_ref().is_ok_and(|d| {
        d.content().record_id == stored.record_id
            && d.content.hash().to_hex() == stored.content_hash
            && d.entry_hash.to_hex() == stored.entry_hash
            && d.entry.device_id == stored.device_id
    });
    let prev = checked.decoded.as_ref().ok().map(|d| d.entry.prev.to_hex());
    use hearth_protocol::verify::VerifyError as E;
    let (signatures_valid, device_ok, error) = match (&checked.decoded, &checked.signatures) {
        (Err(e), _) => (false, false, Some(e.code().to_owned())),
        (Ok(_), Some(Ok(report))) => (
            report.missing_signers.is_empty(),
            true,
            (!report.missing_signers.is_empty()).then(|| "missing_signature".to_owned()),
        ),
        (Ok(_), Some(Err(e))) => {
            let device_failed =
                matches!(e, E::UnknownDevice(_) | E::DeviceKidMismatch | E::BadDeviceSignature);
            (false, !device_failed, Some(e.code().to_owned()))
        }
        (Ok(_), None) => (false, false, Some("not_checked".to_owned())),
    };
    let v = Verification {
        intact,
        signatures_valid: signatures_valid && intact,
        device_signature_valid: device_ok && intact,
        error: error.or_else(|| (!intact).then(|| "altered_on_file".to_owned())),
    };
    Ok((v, prev))
}

pub async fn record_detail(state: &AppState, record_id: &str) -> ApiResult<RecordDetail> {
    let stored = state
        .storage
        .entry_by_record_id(record_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the record"))?;
    let (verification, prev_hash) = verification(state, &stored).await?;
    // The order's records give corrections and versions; a record of no order stands alone.
    let facts = match &stored.work_order_id {
        Some(id) => views::record_facts(state, id).await?,
        None => vec![views::fact(state, stored.clone()).await?],
    };
    let versions = views::versions_of(&facts);
    let by_id: HashMap<&str, &RecordFact> = facts.iter().map(|f| (f.stored.record_id.as_str(), f)).collect();
    let fact = match by_id.get(record_id) {
        Some(f) => (*f).clone(),
        None => views::fact(state, stored.clone()).await?,
    };
    let record = views::record_view(&fact, &versions, &by_id);
    let content = fact.content.as_ref().filter(|_| verification.intact);

    // Verification stops at the first bad signature, so one bad signature
    // leaves none of them vouched for: each is valid only when all are.
    let mut signatures = Vec::new();
    for s in &record.signers {
        signatures.push(SignatureView {
            role: s.role,
            name: technician_name(state, &s.tech_id).await?,
            tech_id: s.tech_id.clone(),
            kid: s.kid.clone(),
            signed: s.signed,
            valid: s.signed && verification.signatures_valid,
        });
    }

    let previous_record_id = match stored.seq.checked_sub(1).filter(|s| *s >= 1) {
        Some(seq) => state.storage.entry_at(&stored.device_id, seq).await?.map(|e| e.record_id),
        None => None,
    };
    let next_record_id =
        state.storage.entry_at(&stored.device_id, stored.seq + 1).await?.map(|e| e.record_id);

    let correction = |f: &RecordFact| CorrectionView {
        record_id: f.stored.record_id.clone(),
        kind: f.stored.schema.clone(),
        reason: f
            .content
            .as_ref()
            .and_then(|c| c.supersedes.as_ref())
            .map(|s| s.reason.clone())
            .unwrap_or_default(),
        received_at: f.received_at(),
    };
    let corrections =
        record.superseded_by.iter().filter_map(|id| by_id.get(id.as_str())).map(|f| correction(f)).collect();
    let corrects = record.supersedes.as_ref().map(|s| CorrectionView {
        record_id: s.record_id.clone(),
        kind: by_id.get(s.record_id.as_str()).map(|f| f.stored.schema.clone()).unwrap_or_default(),
        reason: s.reason.clone(),
        received_at: fact.received_at(),
    });

    let photos = content
        .map(|c| {
            c.attachments
                .iter()
                .filter(|a| matches!(a.role, AttachmentRole::Photo))
                .map(|a| photo_view(state, a))
                .collect()
        })
        .unwrap_or_default();
    let customer = content.filter(|c| c.schema == schema::CUSTOMER_SIGNOFF).and_then(|c| {
        let signoff = serde_json::from_value::<CustomerSignoff>(Value::Object(c.data.clone())).ok()?;
        Some(match signoff {
            CustomerSignoff::Signed {
                signature_png_sha256, satisfaction, comment, summary_shown, ..
            } => {
                let sha = signature_png_sha256.as_str().to_owned();
                let attached = c.attachments.iter().find(|a| a.sha256.to_hex() == sha);
                CustomerView::Signed {
                    signature: PhotoView {
                        on_server: blob_on_server(state, &sha),
                        media_type: attached.map_or_else(|| "image/png".to_owned(), |a| a.media_type.clone()),
                        size: attached.map_or(0, |a| a.size),
                        captured_at_ms: None,
                        sha256: sha,
                    },
                    satisfaction: satisfaction.value(),
                    comment: comment.map(String::from),
                    summary_shown: summary_shown.into(),
                }
            }
            CustomerSignoff::Refused { reason, summary_shown } => {
                CustomerView::Refused { reason: reason.into(), summary_shown: summary_shown.into() }
            }
        })
    });

    Ok(RecordDetail {
        times: record.claimed,
        signatures,
        chain: ChainView {
            device_id: stored.device_id.clone(),
            seq: stored.seq,
            entry_hash: stored.entry_hash.clone(),
            prev_hash,
            previous_record_id,
            next_record_id,
        },
        receipt: ReceiptView {
            server_seq: stored.receipt.server_seq,
            received_at: ms_to_utc(stored.receipt.received_at_ms),
            status: serde_json::to_value(stored.receipt.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            signature: stored.receipt_sig.clone(),
        },
        corrects,
        corrections,
        reviews: state.storage.review_decisions(record_id).await?,
        photos,
        customer,
        verification,
        record,
    })
}

#[utoipa::path(get, path = "/v1/office/records/{record_id}/view", tag = "office",
    summary = "Everything an auditor needs about one sealed record: times, signatures (re-verified), chain, receipt, corrections, reviews, evidence, photos, the customer's answer",
    security(("operator_token" = [])),
    params(("record_id" = String, Path, description = "the record id")),
    responses(
        (status = 200, body = RecordDetail),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn view_h(
    State(state): State<AppState>,
    _office: Operator,
    Path(record_id): Path<String>,
) -> ApiResult<Json<RecordDetail>> {
    let record_id = input::identifier("record_id", &record_id)?;
    Ok(Json(record_detail(&state, &record_id).await?))
}

// ---------------------------------------------------------------- thumbnails

/// A small JPEG of an image blob, made by `hearth_photo` once and kept in
/// `<blob_dir>/.thumbnails/<sha256>.jpg` (a blob never changes, so neither
/// does its thumbnail).
async fn thumbnail(state: &AppState, sha256: &str) -> ApiResult<Vec<u8>> {
    let dir = state.blob_dir.join(THUMBNAIL_DIR);
    let cached = dir.join(format!("{sha256}.jpg"));
    if let Ok(bytes) = tokio::fs::read(&cached).await {
        return Ok(bytes);
    }
    let bytes = match tokio::fs::read(state.blob_dir.join(sha256)).await {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ApiError::not_found("the blob")),
        Err(e) => return Err(ApiError::internal(format!("reading blob {sha256}: {e}"))),
    };
    let made = tokio::task::spawn_blocking(move || {
        hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default()).map(|p| p.thumbnail.bytes)
    })
    .await
    .map_err(ApiError::internal)?;
    let thumb = made.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_an_image",
            format!("the blob is not a photo: {}", e.code()),
        )
    })?;
    let temp = dir.join(format!("{sha256}.{}.tmp", std::process::id()));
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&temp, &thumb).await?;
        tokio::fs::rename(&temp, &cached).await
    };
    if let Err(e) = write.await {
        // The thumbnail is still answered; it is made again next time.
        tracing::warn!(%sha256, error = %e, "a thumbnail was not cached");
    }
    Ok(thumb)
}

#[utoipa::path(get, path = "/v1/office/blobs/{sha256}/thumbnail", tag = "office",
    summary = "A small JPEG (long edge 320 px) of a photo or signature blob; cached, immutable",
    security(("operator_token" = [])),
    params(("sha256" = String, Path, description = "the blob's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, description = "image/jpeg, Cache-Control: private, max-age=31536000, immutable; ETag"),
        (status = 304, description = "If-None-Match matched"),
        (status = 400, body = ErrorBody, description = "bad_blob_id"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "not_an_image"),
    ))]
async fn thumbnail_h(
    State(state): State<AppState>,
    _office: Operator,
    Path(text): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = blob_id(&text)?.to_hex();
    let etag = format!("\"thumb-{id}\"");
    let fixed = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_owned()),
    ];
    let revalidated = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if revalidated && state.blob_dir.join(&id).is_file() {
        return Ok((StatusCode::NOT_MODIFIED, fixed).into_response());
    }
    let bytes = thumbnail(&state, &id).await?;
    let mut response = (StatusCode::OK, fixed, Body::from(bytes)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

// ---------------------------------------------------------------- reprint

/// A stored record as the copy builder reads it.
#[derive(Debug, Clone, Copy)]
struct Held<'a> {
    fact: &'a RecordFact,
    content: &'a Content,
    hash: Digest,
}

impl Sealed for Held<'_> {
    fn content(&self) -> &Content {
        self.content
    }
    fn content_hash(&self) -> Digest {
        self.hash
    }
}

fn build_error(e: BuildError) -> ApiError {
    match e {
        BuildError::NoSignoff => {
            ApiError::conflict("no_signoff", "the customer has not signed or refused on this order")
        }
        BuildError::SignatureMissing => ApiError::conflict(
            "signature_missing",
            "the customer's signature image has not reached the server yet",
        ),
        BuildError::UnknownWorkOrder(_) => ApiError::not_found("the work order"),
        // The server trusts no tablet: records it stored may not replay
        // through the visit's rules (a tablet did not enforce them), and no
        // tablet could have printed a copy from them either.
        BuildError::Unreadable(e) => ApiError::conflict(
            "records_do_not_replay",
            format!(
                "the order's records do not replay through the visit's rules, so no copy can be made: {e}"
            ),
        ),
    }
}

/// The customer's copy of an order's sign-off, made again from the server's
/// records by the builder the tablet used at the door (`hearth_copy::build`):
/// the sign-off's device's records of the order up to the sign-off, in chain
/// order, the signature image from the blobs, the names and the thermometer
/// from the office's lists, the rule set in force when the customer answered.
/// It differs from the customer's copy only in the 重印 mark and the time it
/// was made. `verify_url`: the server's address the copy's QR code links to
/// (empty: the QR code holds the record id and hash as text).
pub async fn reprint(state: &AppState, work_order_id: &str, verify_url: String) -> ApiResult<Vec<u8>> {
    let snapshot = state
        .storage
        .snapshot(SnapshotKind::WorkOrder, work_order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the work order"))?;
    let body = work_order_body(&snapshot)?;
    let mut facts = views::record_facts(state, work_order_id).await?;
    facts.sort_by_key(|f| f.stored.receipt.server_seq);
    let mut arrived = Vec::new();
    for fact in &facts {
        // A stored envelope that no longer decodes was checked on arrival: it is left out.
        let Some(content) = fact.content.as_ref() else { continue };
        let hash = fact
            .stored
            .content_hash
            .parse()
            .map_err(|_| ApiError::internal("a stored content hash is bad"))?;
        arrived.push(Held { fact, content, hash });
    }
    let signoff = *hearth_copy::latest_signoff(&arrived).ok_or_else(|| build_error(BuildError::NoSignoff))?;
    // What the sign-off's tablet held: its own chain, in order.
    let mut chain: Vec<Held<'_>> = arrived
        .iter()
        .filter(|h| h.fact.stored.device_id == signoff.fact.stored.device_id)
        .copied()
        .collect();
    chain.sort_by_key(|h| h.fact.stored.seq);
    let signed_off = SignedOff::new(&chain, &signoff.content.record_id).map_err(build_error)?;
    let signature_png = match signed_off.signature_png_sha256() {
        None => None,
        Some(sha) => match tokio::fs::read(state.blob_dir.join(sha)).await {
            Ok(png) => Some(png),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(ApiError::internal(e)),
        },
    };
    let thermometer = match signed_off.thermometer_serial() {
        None => None,
        Some(serial) => state
            .storage
            .snapshot(SnapshotKind::Thermometer, serial)
            .await?
            .and_then(|s| serde_json::from_value::<Thermometer>(s.body).ok()),
    };
    let mut contacts = HashMap::new();
    for h in &chain {
        for s in &h.content.signers {
            if contacts.contains_key(&s.tech_id) {
                continue;
            }
            let tech = state.storage.snapshot(SnapshotKind::Technician, &s.tech_id).await?;
            let text = |k: &str| {
                tech.as_ref()
                    .and_then(|t| t.body.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            contacts.insert(s.tech_id.clone(), Contact { name: text("name"), phone: text("phone") });
        }
    }
    let book = crate::rules::rule_book(state).await?;
    let holder = Holder {
        order: Some(&body.order),
        rules: book.at(signed_off.answered_at()).1,
        contacts: &contacts,
        thermometer: thermometer.as_ref(),
        verify_url: &verify_url,
    };
    let now = ms_to_utc(state.now_ms());
    let copy = signed_off.copy(&holder, Printing::Reprint(now), signature_png).map_err(build_error)?;
    let font = hearth_copy::CjkFont::find(None).map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_font",
            format!("no CJK font on the server: {}", e.code()),
        )
    })?;
    tokio::task::spawn_blocking(move || hearth_copy::render(&copy, &font))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("the copy did not render: {e}")))
}

#[utoipa::path(get, path = "/v1/office/work-orders/{id}/copy.pdf", tag = "office",
    summary = "The customer's copy of the order's sign-off, made again from the server's records as the tablet made it, marked 重印 with the time",
    security(("operator_token" = [])),
    params(("id" = String, Path, description = "the work-order id"),
           ("server" = Option<String>, Query, description = "the server's address as the console reaches it (http(s)://host[:port]): the copy's QR code links to its /verify page; without it the QR code holds the record id and hash as text")),
    responses(
        (status = 200, description = "application/pdf"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no_signoff: the customer has not answered yet; signature_missing: the signature image has not arrived; records_do_not_replay: the tablet's records of the order break the visit's rules, so no copy can be made"),
        (status = 503, body = ErrorBody, description = "no_font: the server has no CJK font"),
    ))]
async fn reprint_h(
    State(state): State<AppState>,
    _office: Operator,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let id = input::identifier("id", &id)?;
    if let Some(k) = query.keys().find(|k| k.as_str() != "server") {
        return Err(bad_field(k, "is not a parameter here (server)"));
    }
    let verify_url =
        query.get("server").map(|s| super::setup::server_url(s)).transpose()?.unwrap_or_default();
    let pdf = reprint(&state, &id, verify_url).await?;
    let mut response = (StatusCode::OK, Body::from(pdf)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"{}-reprint.pdf\"",
        super::paging::percent_encode(&id)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(search_h, view_h, thumbnail_h, reprint_h),
    components(schemas(
        RecordItem,
        RecordDetail,
        SignatureView,
        Verification,
        ChainView,
        ReceiptView,
        CorrectionView,
        PhotoView,
        CustomerView
    ))
)]
pub struct Doc;

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn each_bad_parameter_is_named() {
        for (pairs, field) in [
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "201")], "limit"),
            (vec![("limit", "x")], "limit"),
            (vec![("cursor", "abc")], "cursor"),
            (vec![("cursor", "-1")], "cursor"),
            (vec![("flagged", "yes")], "flagged"),
            (vec![("from", "yesterday")], "from"),
            (vec![("from", "2026-01-02T00:00:00Z"), ("to", "2026-01-01T00:00:00Z")], "to"),
            (vec![("device", "a b")], "device"),
            (vec![("colour", "red")], "colour"),
        ] {
            let e = parse_search(&q(&pairs)).unwrap_err();
            assert_eq!(e.code, "bad_field");
            assert!(e.message.starts_with(field), "{pairs:?}: {}", e.message);
        }
    }

    #[test]
    fn blanks_are_absent_and_defaults_hold() {
        let s = parse_search(&q(&[("q", " "), ("flagged", "true"), ("cursor", "12")])).unwrap();
        assert_eq!((s.q, s.flagged, s.before_server_seq, s.limit), (None, true, Some(12), DEFAULT_LIMIT));
    }

    #[test]
    fn the_next_link_keeps_the_filters_and_replaces_the_cursor() {
        let link = next_link(&q(&[("q", "工单 1"), ("cursor", "9"), ("limit", "2")]), 7);
        assert_eq!(link, "</v1/office/records?limit=2&q=%E5%B7%A5%E5%8D%95%201&cursor=7>; rel=\"next\"");
    }
}
