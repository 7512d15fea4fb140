//! Blobs (protocol §5): resumable uploads over tus 1.0 (core, `creation`,
//! `checksum` with sha256), content-addressed storage, `/v1/blobs/missing`
//! for tablets and `GET /v1/blobs/{sha256}` for the office.
//!
//! What lives on disk, all of it under `blob_dir` and nothing anywhere else:
//!
//! - `<blob_dir>/<sha256>`: a blob, named by the SHA-256 of its bytes. It
//!   exists only once the whole file was hashed and matched its announced id.
//! - `<blob_dir>/<sha256>.meta`: its media type, a plain `type/subtype`.
//! - `<blob_dir>/.uploads/<id>.json`: an upload's sidecar (device, sha256,
//!   media type, length, creation time), written atomically (temp + rename).
//! - `<blob_dir>/.uploads/<id>.part`: the bytes received so far; its length
//!   is the upload's offset.
//! - `<blob_dir>/.uploads/*.tmp`: temp files of atomic writes.
//!
//! So uploads survive a restart and work the same with either database.
//! Upload ids are 32 lowercase hex characters from the OS RNG; anything else
//! in a path is a 404 before any file name is built from it.
//!
//! Every look at or change to an upload happens under that upload's async
//! mutex and an advisory file lock on its sidecar (so servers in several
//! processes over one blob directory take turns too), inside one blocking
//! task that owns the locks: a request dropped
//! half-way (the client hung up) cannot release the lock while a write is
//! still running. A chunk is read whole (at most `max_chunk` bytes, without
//! the lock, so a stalled connection blocks nobody) and its checksum checked;
//! then, under the lock, it is appended only if the offset has not moved
//! meanwhile (else 409), so two PATCHes never interleave.
//!
//! **An upload is done when its blob exists.** The `201` of the `POST`
//! carries `Upload-Offset` (0, or `Upload-Length` when the blob is already
//! stored); `HEAD` then reports `Upload-Offset == Upload-Length`, and any
//! `PATCH` to a done upload answers `204` with `Upload-Offset ==
//! Upload-Length` without reading its body. A tus client therefore sees a
//! blob that already exists as finished at once, whichever of the three it
//! looks at. A done upload's sidecar stays until it expires, so a client that
//! lost the answer to its last `PATCH` still learns that it finished.
//!
//! Unfinished and finished uploads alike are removed `upload_ttl_ms` after
//! their creation: swept by [`sweep_expired`] (run it periodically) and by a
//! `POST` when the last sweep is a minute old, and an expired id answers 404
//! even before it is swept.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use futures_util::StreamExt;
use hearth_protocol::Digest;
use hearth_protocol::api::{BlobsMissingRequest, BlobsMissingResponse, ErrorBody};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::OwnedMutexGuard;

use crate::api::{ApiJson, blob_id};
use crate::auth::{DeviceAuth, OperatorAuth};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The one tus version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// Most ids one `POST /v1/blobs/missing` may ask about.
pub const MAX_MISSING_IDS: usize = 1000;
/// The sub-directory of `blob_dir` that holds uploads in progress.
pub const UPLOADS_DIR: &str = ".uploads";

const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
const MAX_METADATA_LEN: usize = 4096;
const READ_BUF: usize = 64 * 1024;
const POST_SWEEP_INTERVAL_MS: i64 = 60_000;
/// tus checksum extension: "460 Checksum Mismatch".
const CHECKSUM_MISMATCH: u16 = 460;

/// tus uses standard base64; accept it with or without padding.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn routes() -> Router<AppState> {
    let uploads = Router::new()
        .route("/v1/uploads", post(create_upload).options(discover))
        .route("/v1/uploads/{id}", patch(append_chunk).head(upload_offset))
        .layer(axum::middleware::map_response(tus_headers));
    Router::new()
        .route("/v1/blobs/missing", post(missing))
        .route("/v1/blobs/{sha256}", get(download))
        .merge(uploads)
}

// ---------------------------------------------------------------- handlers

/// `OPTIONS /v1/uploads`: what this tus server speaks.
#[utoipa::path(options, path = "/v1/uploads", tag = "blobs", responses((status = 204, description = "tus capabilities")))]
async fn discover(State(state): State<AppState>) -> Response {
    with_headers(
        StatusCode::NO_CONTENT,
        &[
            ("tus-version", TUS_VERSION.to_owned()),
            ("tus-extension", "creation,creation-with-upload,checksum".to_owned()),
            ("tus-checksum-algorithm", "sha256".to_owned()),
            ("tus-max-size", state.limits.max_blob.to_string()),
        ],
    )
}

/// `POST /v1/uploads`: creates an upload (tus `creation`), with its first
/// chunk in the body when one is sent (tus `creation-with-upload`).
#[utoipa::path(post, path = "/v1/uploads", tag = "blobs", security(("device_token" = [])), responses((status = 201, description = "Upload created; Location names it; Upload-Offset counts the first chunk sent with it (creation-with-upload)"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "device_revoked"), (status = 412, body = ErrorBody), (status = 413, body = ErrorBody, description = "blob_too_large, quota_exceeded"), (status = 415, body = ErrorBody, description = "unsupported_media_type: not image/jpeg, image/png or application/json"), (status = 422, body = ErrorBody, description = "hash_mismatch, media_type_mismatch (an empty file)"), (status = 429, body = ErrorBody)))]
async fn create_upload(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    require_tus(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::bad_request(
            "defer_length_unsupported",
            "Upload-Length must be given at creation",
        ));
    }
    let length = decimal_header(&headers, "upload-length", "Upload-Length")?;
    if length > state.limits.max_blob {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "blob_too_large",
            format!("a blob is at most {} bytes", state.limits.max_blob),
        ));
    }
    let metadata = headers
        .get("upload-metadata")
        .ok_or_else(|| bad_metadata("Upload-Metadata with sha256 and media_type is required"))?
        .to_str()
        .map_err(|_| bad_metadata("Upload-Metadata must be ASCII"))?;
    let meta = parse_metadata(metadata)?;

    if sweep_due(&state.blob_dir, state.now_ms())
        && let Err(e) = sweep_expired(&state).await
    {
        tracing::warn!(error = %e, "sweeping expired uploads failed");
    }

    let store = Store::new(&state.blob_dir);
    // A per-device quota on what is announced and not yet a blob: one tablet
    // (or whoever holds its token) cannot fill the server's disk.
    let (now, ttl, quota) = (state.now_ms(), state.limits.upload_ttl_ms, state.limits.device_upload_quota);
    let (counting, device_id) = (store.clone(), device.device_id.clone());
    let exists = store.blob(&meta.sha256).try_exists().map_err(ApiError::internal)?;
    let pending =
        blocking(move || counting.pending_bytes(&device_id, now, ttl).map_err(ApiError::internal)).await?;
    if !exists && pending.saturating_add(length) > quota {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "quota_exceeded",
            format!(
                "this tablet has {pending} bytes of unfinished uploads; at most {quota} may be open at once: \
                 finish or let them expire first"
            ),
        ));
    }
    // tus `creation-with-upload`: a photo in one request instead of two. The
    // chunk is read and checked whole before the upload exists, so a cut or
    // corrupt body creates nothing; a blob already stored is not read at all.
    let first = if carries_chunk(&headers) && !exists {
        let expected = upload_checksum(&headers)?;
        if announced_length(&headers).is_some_and(|n| n > state.limits.max_chunk as u64) {
            return Err(chunk_too_large(state.limits.max_chunk));
        }
        let (chunk, digest) = read_chunk(body, state.limits.max_chunk, length).await?;
        if digest != expected {
            return Err(checksum_mismatch());
        }
        chunk
    } else {
        Vec::new()
    };
    let id = UploadId::random().map_err(ApiError::internal)?;
    let sidecar = Sidecar {
        device_id: device.device_id,
        sha256: meta.sha256,
        media_type: meta.media_type,
        length,
        created_at_ms: state.now_ms(),
    };
    let lock = lock_upload(store.lock_key(&id)).await;
    let create_id = id.clone();
    let offset = with_lock(lock, move || {
        let offset = store.create(&create_id, &sidecar)?;
        if offset > 0 || first.is_empty() {
            return Ok(offset);
        }
        let offset = store.append(&create_id, 0, &first).map_err(ApiError::internal)?;
        if offset >= sidecar.length {
            store.finish(&create_id, &sidecar)?;
        }
        Ok(offset)
    })
    .await?;
    tracing::debug!(upload = %id.0, offset, "upload created");
    Ok(with_headers(
        StatusCode::CREATED,
        &[("location", format!("/v1/uploads/{}", id.0)), ("upload-offset", offset.to_string())],
    ))
}

/// `HEAD /v1/uploads/{id}`: how far an upload got.
#[utoipa::path(head, path = "/v1/uploads/{id}", tag = "blobs", security(("device_token" = [])), params(("id" = String, Path)), responses((status = 200, description = "Upload-Offset and Upload-Length"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "device_revoked"), (status = 404, body = ErrorBody)))]
async fn upload_offset(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = upload_id(path)?;
    require_tus(&headers)?;
    let store = Store::new(&state.blob_dir);
    let (now, ttl) = (state.now_ms(), state.limits.upload_ttl_ms);
    let lock = lock_upload(store.lock_key(&id)).await;
    let (sidecar, offset) = with_lock(lock, move || {
        let sidecar = store.open(&id, &device.device_id, now, ttl)?;
        let offset = match store.settle(&id, &sidecar)? {
            Progress::Done => sidecar.length,
            Progress::At(offset) => offset,
        };
        Ok((sidecar, offset))
    })
    .await?;
    Ok(with_headers(
        StatusCode::OK,
        &[
            ("upload-offset", offset.to_string()),
            ("upload-length", sidecar.length.to_string()),
            ("upload-metadata", sidecar.metadata_header()),
            ("cache-control", "no-store".to_owned()),
        ],
    ))
}

/// `PATCH /v1/uploads/{id}`: appends one checksummed chunk at the current offset.
#[utoipa::path(patch, path = "/v1/uploads/{id}", tag = "blobs", security(("device_token" = [])), params(("id" = String, Path)), request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"), responses((status = 204, description = "Chunk appended"), (status = 404, body = ErrorBody, description = "no such upload (expired, finished, or another tablet's)"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "device_revoked"), (status = 408, body = ErrorBody, description = "request_timeout: the chunk stopped arriving"), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody, description = "hash_mismatch or media_type_mismatch; the upload is discarded"), (status = 460, body = ErrorBody, description = "checksum_mismatch")))]
async fn append_chunk(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let id = upload_id(path)?;
    require_tus(&headers)?;
    if !carries_chunk(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a chunk is sent as Content-Type: application/offset+octet-stream",
        ));
    }
    let offset = decimal_header(&headers, "upload-offset", "Upload-Offset")?;
    let expected = upload_checksum(&headers)?;
    let max_chunk = state.limits.max_chunk;
    let announced = announced_length(&headers);
    if announced.is_some_and(|n| n > max_chunk as u64) {
        return Err(chunk_too_large(max_chunk));
    }

    // Where the upload stands, checked before reading the chunk. The lock is
    // not held while the body arrives: a stalled connection must not keep
    // the tablet's next HEAD waiting.
    let store = Store::new(&state.blob_dir);
    let (now, ttl) = (state.now_ms(), state.limits.upload_ttl_ms);
    let device_id = device.device_id;
    let (sidecar, current) = {
        let (store, id, device_id) = (store.clone(), id.clone(), device_id.clone());
        let lock = lock_upload(store.lock_key(&id)).await;
        with_lock(lock, move || {
            let sidecar = store.open(&id, &device_id, now, ttl)?;
            let progress = store.settle(&id, &sidecar)?;
            Ok((sidecar, progress))
        })
        .await?
    };
    let current = match current {
        Progress::Done => return Ok(offset_response(sidecar.length)),
        Progress::At(current) if current != offset => return Ok(offset_mismatch(current, offset)),
        Progress::At(current) => current,
    };
    let remaining = sidecar.length.saturating_sub(current);
    if announced.is_some_and(|n| n > remaining) {
        return Err(beyond_length(remaining));
    }

    // Read and hash the whole chunk before anything is appended.
    let (chunk, digest) = read_chunk(body, max_chunk, remaining).await?;
    if digest != expected {
        return Err(checksum_mismatch());
    }

    // Under the lock again: append only if nothing moved meanwhile.
    let lock = lock_upload(store.lock_key(&id)).await;
    let appended = with_lock(lock, move || {
        let sidecar = store.open(&id, &device_id, now, ttl)?;
        match store.settle(&id, &sidecar)? {
            Progress::Done => Ok(Appended::Done(sidecar.length)),
            Progress::At(now_at) if now_at != current => Ok(Appended::Moved(now_at)),
            Progress::At(_) if chunk.is_empty() => Ok(Appended::At(current)),
            Progress::At(_) => {
                let new_offset = store.append(&id, current, &chunk).map_err(ApiError::internal)?;
                if new_offset >= sidecar.length {
                    store.finish(&id, &sidecar)?;
                }
                Ok(Appended::At(new_offset))
            }
        }
    })
    .await?;
    Ok(match appended {
        Appended::At(offset) | Appended::Done(offset) => offset_response(offset),
        Appended::Moved(now_at) => offset_mismatch(now_at, offset),
    })
}

/// What became of a checked chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Appended {
    /// Appended (or empty); the upload is now at this offset.
    At(u64),
    /// The blob exists (another request finished it); this is its length.
    Done(u64),
    /// Another chunk went in meanwhile; the upload is at this offset.
    Moved(u64),
}

#[derive(Debug, Deserialize)]
struct MissingRequest {
    sha256: Vec<String>,
}

/// `POST /v1/blobs/missing`: which of these blobs the server does not hold.
#[utoipa::path(post, path = "/v1/blobs/missing", tag = "blobs", security(("device_token" = [])), request_body = BlobsMissingRequest, responses((status = 200, body = BlobsMissingResponse, description = "Missing: not stored, or named by none of this device's records"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "device_revoked"), (status = 429, body = ErrorBody)))]
async fn missing(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    ApiJson(req): ApiJson<MissingRequest>,
) -> ApiResult<Json<BlobsMissingResponse>> {
    if req.sha256.len() > MAX_MISSING_IDS {
        return Err(ApiError::bad_request(
            "too_many_ids",
            format!("ask about at most {MAX_MISSING_IDS} blobs per call"),
        ));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(req.sha256.len());
    for text in &req.sha256 {
        let id = blob_id(text)?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    // A device learns only about blobs its own records name: any other id
    // is answered missing, so whether another tablet's photo exists is never
    // revealed (uploading it completes at once if it does).
    let hex: Vec<String> = ids.iter().map(Digest::to_hex).collect();
    let own: HashSet<String> =
        state.storage.blobs_named_by(&device.device_id, &hex).await?.into_iter().collect();
    let store = Store::new(&state.blob_dir);
    let missing = blocking(move || {
        let mut missing = Vec::new();
        for id in ids {
            if !own.contains(&id.to_hex()) || !store.blob(&id).try_exists().map_err(ApiError::internal)? {
                missing.push(id);
            }
        }
        Ok(missing)
    })
    .await?;
    Ok(Json(BlobsMissingResponse { missing }))
}

/// `GET /v1/blobs/{sha256}`: the bytes, for the office. The `ETag` is the
/// sha256 (quoted, as HTTP wants); `If-None-Match` with it answers 304.
#[utoipa::path(get, path = "/v1/blobs/{sha256}", tag = "blobs", security(("operator_token" = [])), params(("sha256" = String, Path)), responses((status = 200, description = "The blob's bytes, as its stored media type, with Content-Disposition: attachment, X-Content-Type-Options: nosniff and Content-Security-Policy: sandbox"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody, description = "rate_limited: too many wrong tokens from this address")))]
async fn download(
    State(state): State<AppState>,
    _office: OperatorAuth,
    Path(text): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = blob_id(&text)?;
    let store = Store::new(&state.blob_dir);
    let file = match tokio::fs::File::open(store.blob(&id)).await {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ApiError::not_found("the blob")),
        Err(e) => return Err(ApiError::internal(format!("opening blob {id}: {e}"))),
    };
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    let media_type = match tokio::fs::read_to_string(store.meta(&id)).await {
        Ok(text) => plain_media_type(text.trim()).filter(|m| BLOB_MEDIA_TYPES.contains(&m.as_str())),
        Err(_) => None,
    }
    .unwrap_or_else(|| "application/octet-stream".to_owned());
    let etag = format!("\"{id}\"");
    let mut fixed = vec![("etag", etag.clone()), ("cache-control", "private, no-cache".to_owned())];
    let revalidated = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    if revalidated {
        return Ok(with_headers(StatusCode::NOT_MODIFIED, &fixed));
    }
    // Served only as the type it was accepted as, never rendered in the
    // office's origin: a download, sandboxed, not sniffed.
    let extension = match media_type.as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "application/json" => "json",
        _ => "bin",
    };
    fixed.extend([
        ("content-type", media_type.clone()),
        ("content-length", length.to_string()),
        ("x-content-type-options", "nosniff".to_owned()),
        ("content-disposition", format!("attachment; filename=\"{id}.{extension}\"")),
        ("content-security-policy", "sandbox; default-src 'none'".to_owned()),
    ]);
    let mut response = with_headers(StatusCode::OK, &fixed);
    *response.body_mut() = file_body(file);
    Ok(response)
}

/// Every upload response carries `Tus-Resumable`; a 412 also `Tus-Version`.
async fn tus_headers(mut response: Response) -> Response {
    let precondition_failed = response.status() == StatusCode::PRECONDITION_FAILED;
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    if precondition_failed {
        headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    }
    response
}

// ---------------------------------------------------------------- storing whole blobs

/// What [`store_blob`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStored {
    Stored,
    /// A blob with this sha256 was already there (blobs are content-addressed).
    AlreadyPresent,
}

/// Stores a whole blob received by other means than tus (a rescue file),
/// with the checks of an upload: a plain media type, at most `max_blob`
/// bytes, the bytes hashing to `sha256`; then through the same step that
/// makes a finished upload's blob exist. Blocks: call it from
/// `spawn_blocking` or a plain thread.
pub fn store_blob(
    blob_dir: &FsPath,
    max_blob: u64,
    sha256: &Digest,
    media_type: &str,
    bytes: &[u8],
) -> ApiResult<BlobStored> {
    let media_type = check_blob(max_blob, media_type, bytes.len() as u64)?;
    if hearth_protocol::hash::blob_id(bytes) != *sha256 {
        return Err(hash_mismatch("the bytes hash to another sha256"));
    }
    Store::new(blob_dir).put(sha256, &media_type, bytes)
}

/// What an upload's creation checks before any byte: a plain media type
/// (answered lowercased, as stored) and a size within `max_blob`.
pub fn check_blob(max_blob: u64, media_type: &str, size: u64) -> ApiResult<String> {
    let media_type = blob_media_type(media_type)?;
    if size > max_blob {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "blob_too_large",
            format!("a blob is at most {max_blob} bytes"),
        ));
    }
    Ok(media_type)
}

// ---------------------------------------------------------------- sweeping

/// Removes uploads created more than `limits.upload_ttl_ms` ago (finished or
/// not), plus leftovers of interrupted writes; answers how many uploads went.
/// Uploads busy with a request right now are left for the next sweep.
/// Run it periodically; `POST /v1/uploads` also runs it, at most once a minute.
pub async fn sweep_expired(state: &AppState) -> io::Result<usize> {
    let store = Store::new(&state.blob_dir);
    let (now, ttl) = (state.now_ms(), state.limits.upload_ttl_ms);
    tokio::task::spawn_blocking(move || store.sweep(now, ttl)).await.map_err(io::Error::other)?
}

/// Whether a `POST` should sweep: at most once a minute per blob directory,
/// so a busy server does not read every sidecar on every upload.
fn sweep_due(blob_dir: &FsPath, now_ms: i64) -> bool {
    static LAST: OnceLock<Mutex<HashMap<PathBuf, i64>>> = OnceLock::new();
    let mut last = match LAST.get_or_init(Mutex::default).lock() {
        Ok(map) => map,
        Err(poisoned) => poisoned.into_inner(),
    };
    let previous = last.entry(blob_dir.to_path_buf()).or_insert(i64::MIN);
    if now_ms.saturating_sub(*previous) < POST_SWEEP_INTERVAL_MS {
        return false;
    }
    *previous = now_ms;
    true
}

// ---------------------------------------------------------------- parsing

/// An upload id: 32 lowercase hex characters, checked before it names a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadId(String);

impl UploadId {
    fn random() -> io::Result<Self> {
        Ok(Self(random_hex()?))
    }

    fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(text.to_owned()))
    }
}

fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    OsRng.try_fill_bytes(&mut bytes).map_err(io::Error::other)?;
    Ok(hex::encode(bytes))
}

/// Any path that is not a well-formed upload id is simply not found.
fn upload_id(path: Result<Path<String>, PathRejection>) -> ApiResult<UploadId> {
    path.ok().and_then(|Path(text)| UploadId::parse(&text)).ok_or_else(|| ApiError::not_found("the upload"))
}

fn require_tus(headers: &HeaderMap) -> ApiResult<()> {
    match headers.get("tus-resumable").map(HeaderValue::as_bytes) {
        Some(v) if v == TUS_VERSION.as_bytes() => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version_unsupported",
            "this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0",
        )),
    }
}

/// Plain decimal digits only: no sign, no spaces, at most 20 digits.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn decimal_header(headers: &HeaderMap, name: &'static str, shown: &str) -> ApiResult<u64> {
    let value = headers
        .get(name)
        .ok_or_else(|| ApiError::bad_request("missing_header", format!("{shown} is required")))?;
    value
        .to_str()
        .ok()
        .and_then(parse_decimal)
        .ok_or_else(|| ApiError::bad_request("bad_header", format!("{shown} must be a non-negative integer")))
}

/// `Upload-Checksum: sha256 <base64 of the raw digest>`, required on every chunk.
fn upload_checksum(headers: &HeaderMap) -> ApiResult<[u8; 32]> {
    let value = headers
        .get("upload-checksum")
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_header",
                "Upload-Checksum: sha256 <base64 digest> is required on every chunk",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::bad_request("bad_checksum", "Upload-Checksum must be ASCII"))?;
    let (algorithm, digest) = value.trim().split_once(' ').ok_or_else(|| {
        ApiError::bad_request("bad_checksum", "Upload-Checksum is `sha256 <base64 digest>`")
    })?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(ApiError::bad_request("unsupported_checksum", "the only checksum algorithm is sha256"));
    }
    B64.decode(digest.trim()).ok().and_then(|raw| <[u8; 32]>::try_from(raw).ok()).ok_or_else(|| {
        ApiError::bad_request("bad_checksum", "the checksum must be a 32-byte SHA-256 digest, base64")
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadMeta {
    sha256: Digest,
    media_type: String,
}

fn bad_metadata(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_metadata", message)
}

/// tus `Upload-Metadata`: comma-separated `key base64value` pairs. `sha256`
/// and `media_type` are required; other keys (a client's `filename`, …) are
/// ignored; a key given twice is refused.
fn parse_metadata(text: &str) -> ApiResult<UploadMeta> {
    if text.len() > MAX_METADATA_LEN {
        return Err(bad_metadata(format!("Upload-Metadata is at most {MAX_METADATA_LEN} characters")));
    }
    let mut keys = HashSet::new();
    let (mut sha256, mut media_type) = (None, None);
    for pair in text.split(',') {
        let pair = pair.trim();
        let (key, value) = match pair.split_once(' ') {
            Some((key, value)) => (key, value.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad_metadata("Upload-Metadata is comma-separated `key base64value` pairs"));
        }
        if !keys.insert(key) {
            return Err(bad_metadata(format!("Upload-Metadata names {key} twice")));
        }
        let decoded = || {
            B64.decode(value)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| bad_metadata(format!("the value of {key} must be base64 of UTF-8 text")))
        };
        match key {
            "sha256" => {
                let id = decoded()?.parse().map_err(|_| {
                    bad_metadata("metadata sha256 must be the blob id: 64 lowercase hex characters")
                })?;
                sha256 = Some(id);
            }
            "media_type" => {
                let text = decoded()?;
                plain_media_type(&text)
                    .ok_or_else(|| bad_metadata("metadata media_type must be a plain type/subtype"))?;
                media_type = Some(blob_media_type(&text)?);
            }
            _ => {}
        }
    }
    match (sha256, media_type) {
        (Some(sha256), Some(media_type)) => Ok(UploadMeta { sha256, media_type }),
        _ => Err(bad_metadata("Upload-Metadata must hold sha256 and media_type")),
    }
}

/// The media types the protocol names for blobs (§3.1 attachments): photos
/// (JPEG), the customer's signature image (PNG) and its pen strokes (JSON).
/// Nothing else is accepted, so nothing else is ever served.
pub const BLOB_MEDIA_TYPES: [&str; 3] = ["image/jpeg", "image/png", "application/json"];

fn unsupported_media_type(media: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!(
            "a blob is a JPEG photo, a PNG signature or JSON pen strokes ({}); not {media}",
            BLOB_MEDIA_TYPES.join(", ")
        ),
    )
}

/// A media type the protocol names for blobs, or 415.
pub fn blob_media_type(media: &str) -> ApiResult<String> {
    let plain =
        plain_media_type(media).ok_or_else(|| bad_metadata("media_type must be a plain type/subtype"))?;
    if BLOB_MEDIA_TYPES.contains(&plain.as_str()) { Ok(plain) } else { Err(unsupported_media_type(&plain)) }
}

/// A plain `type/subtype` (RFC 6838 restricted names, no parameters),
/// lowercased; anything else is refused so it is never echoed.
pub fn plain_media_type(text: &str) -> Option<String> {
    fn name(part: &str) -> bool {
        part.len() <= 127
            && part.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    }
    let (kind, subtype) = text.split_once('/')?;
    (name(kind) && name(subtype)).then(|| text.to_ascii_lowercase())
}

// ---------------------------------------------------------------- responses

fn with_headers(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut response = status.into_response();
    for &(name, ref value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// 460: the chunk is not what its Upload-Checksum says.
fn checksum_mismatch() -> ApiError {
    let status = StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(
        status,
        "checksum_mismatch",
        "the chunk's SHA-256 differs from Upload-Checksum; nothing was appended, send it again",
    )
}

/// Whether a request carries upload bytes (`Content-Type: application/offset+octet-stream`).
fn carries_chunk(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}

/// The body's announced length, when it is a plain decimal.
fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| parse_decimal(v.trim()))
}

fn offset_response(offset: u64) -> Response {
    with_headers(StatusCode::NO_CONTENT, &[("upload-offset", offset.to_string())])
}

/// 409, with the offset the upload is really at.
fn offset_mismatch(current: u64, offset: u64) -> Response {
    let mut response = ApiError::conflict(
        "offset_mismatch",
        format!("the upload is at offset {current}, not {offset}; HEAD it and resume from there"),
    )
    .into_response();
    response.headers_mut().insert("upload-offset", HeaderValue::from(current));
    response
}

fn chunk_too_large(max_chunk: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "chunk_too_large",
        format!("a chunk is at most {max_chunk} bytes"),
    )
}

fn beyond_length(remaining: u64) -> ApiError {
    ApiError::bad_request(
        "beyond_upload_length",
        format!("the chunk runs past Upload-Length; {remaining} bytes remain"),
    )
}

fn hash_mismatch(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch", message)
}

fn upload_gone() -> ApiError {
    ApiError::not_found("the upload")
}

fn media_type_mismatch(media_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "media_type_mismatch",
        format!("the file is not {media_type} as announced; the upload was discarded"),
    )
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const JPEG_START: [u8; 3] = [0xFF, 0xD8, 0xFF];

/// Whether a finished upload's bytes are what its media type says: a JPEG
/// starts `FF D8 FF`, a PNG with its 8-byte signature, pen strokes parse
/// as JSON. Anything else (an HTML page announced as a photo) is refused.
fn bytes_are(path: &FsPath, media_type: &str) -> io::Result<bool> {
    let file = File::open(path)?;
    let starts_with = |magic: &[u8]| -> io::Result<bool> {
        let mut head = Vec::with_capacity(magic.len());
        (&file).take(magic.len() as u64).read_to_end(&mut head)?;
        Ok(head == magic)
    };
    match media_type {
        "image/jpeg" => starts_with(&JPEG_START),
        "image/png" => starts_with(&PNG_SIGNATURE),
        "application/json" => {
            let reader = io::BufReader::new(&file);
            Ok(serde_json::from_reader::<_, serde::de::IgnoredAny>(reader).is_ok())
        }
        _ => Ok(false),
    }
}

/// Reads one chunk whole, hashing as it comes, refusing it as soon as it
/// outgrows `max_chunk` or the bytes the upload still lacks.
async fn read_chunk(body: Body, max_chunk: usize, remaining: u64) -> ApiResult<(Vec<u8>, [u8; 32])> {
    let mut stream = body.into_data_stream();
    let mut chunk = Vec::new();
    let mut hasher = Sha256::new();
    while let Some(frame) = stream.next().await {
        let bytes = frame.map_err(|e| {
            if crate::limits::is_body_timeout(&e) {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "the chunk stopped arriving; nothing was appended, send it again",
                )
            } else {
                ApiError::bad_request(
                    "incomplete_chunk",
                    "the chunk did not arrive whole; nothing was appended",
                )
            }
        })?;
        let total = chunk.len() + bytes.len();
        if total > max_chunk {
            return Err(chunk_too_large(max_chunk));
        }
        if total as u64 > remaining {
            return Err(beyond_length(remaining));
        }
        hasher.update(&bytes);
        chunk.extend_from_slice(&bytes);
    }
    Ok((chunk, hasher.finalize().into()))
}

/// A file as a body, read in 64 KiB pieces.
fn file_body(file: tokio::fs::File) -> Body {
    let stream = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; READ_BUF];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Body::from_stream(stream)
}

// ---------------------------------------------------------------- locking

type LockMap = Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>;

fn lock_map() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>> {
    static LOCKS: OnceLock<LockMap> = OnceLock::new();
    match LOCKS.get_or_init(LockMap::default).lock() {
        Ok(map) => map,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn mutex_for(key: &FsPath) -> Arc<tokio::sync::Mutex<()>> {
    lock_map().entry(key.to_path_buf()).or_default().clone()
}

/// Drops the map entry when nobody holds or waits for it, so the map only
/// holds uploads busy right now.
fn forget_if_idle(key: &FsPath) {
    let mut map = lock_map();
    if map.get(key).is_some_and(|m| Arc::strong_count(m) == 1) {
        map.remove(key);
    }
}

/// One upload's lock, keyed by its sidecar's path (so two servers in one
/// process, as in tests, never share a lock).
#[derive(Debug)]
struct UploadLock {
    key: PathBuf,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        drop(self.guard.take());
        forget_if_idle(&self.key);
    }
}

async fn lock_upload(key: PathBuf) -> UploadLock {
    let guard = mutex_for(&key).lock_owned().await;
    UploadLock { key, guard: Some(guard) }
}

fn try_lock_upload(key: PathBuf) -> Option<UploadLock> {
    match mutex_for(&key).try_lock_owned() {
        Ok(guard) => Some(UploadLock { key, guard: Some(guard) }),
        Err(_) => {
            forget_if_idle(&key);
            None
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}

/// Runs `f` in a blocking task that owns the lock and releases it only when
/// `f` is done, even if the request is dropped meanwhile.
async fn with_lock<T: Send + 'static>(
    lock: UploadLock,
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    blocking(move || {
        let held = lock;
        // Dropped before `held`: the file lock goes first, then the mutex.
        let _across_processes = lock_sidecar(&held.key).map_err(ApiError::internal)?;
        f()
    })
    .await
}

/// The same lock across processes: several servers behind one load
/// balancer share the blob directory, and a tablet's next chunk may reach
/// another one. An advisory lock on the upload's sidecar, which is written
/// once at creation and lives as long as the upload; none when there is no
/// sidecar (a creation in progress, whose id nobody knows yet, or an upload
/// gone, which `f` answers 404). Released when the file closes.
fn lock_sidecar(path: &FsPath) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(file) => {
            file.lock()?;
            Ok(Some(file))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`lock_sidecar`] without waiting: `None` when another process holds it.
fn try_lock_sidecar(path: &FsPath) -> Option<Option<File>> {
    match File::open(path) {
        Ok(file) => file.try_lock().is_ok().then_some(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
    }
}

// ---------------------------------------------------------------- the disk

/// An upload's sidecar, `<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sidecar {
    device_id: String,
    sha256: Digest,
    media_type: String,
    length: u64,
    created_at_ms: i64,
}

impl Sidecar {
    fn expired(&self, now_ms: i64, ttl_ms: i64) -> bool {
        now_ms.saturating_sub(self.created_at_ms) >= ttl_ms
    }

    fn metadata_header(&self) -> String {
        format!("sha256 {},media_type {}", B64.encode(self.sha256.to_hex()), B64.encode(&self.media_type))
    }
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// This many bytes are stored.
    At(u64),
    /// The blob exists.
    Done,
}

/// The blob directory. All methods block: call them from `spawn_blocking`,
/// those touching an upload with its lock held.
#[derive(Debug, Clone)]
struct Store {
    root: PathBuf,
}

impl Store {
    fn new(root: &FsPath) -> Self {
        Self { root: root.to_path_buf() }
    }

    fn uploads(&self) -> PathBuf {
        self.root.join(UPLOADS_DIR)
    }

    fn sidecar(&self, id: &UploadId) -> PathBuf {
        self.uploads().join(format!("{}.json", id.0))
    }

    fn part(&self, id: &UploadId) -> PathBuf {
        self.uploads().join(format!("{}.part", id.0))
    }

    fn lock_key(&self, id: &UploadId) -> PathBuf {
        self.sidecar(id)
    }

    fn blob(&self, id: &Digest) -> PathBuf {
        self.root.join(id.to_hex())
    }

    fn meta(&self, id: &Digest) -> PathBuf {
        self.root.join(format!("{}.meta", id.to_hex()))
    }

    /// Writes `bytes` to `target` atomically and durably: a temp file in the
    /// uploads directory, fsync, rename, fsync of the target's directory.
    fn write_atomic(&self, target: &FsPath, bytes: &[u8]) -> io::Result<()> {
        let tmp = self.uploads().join(format!("{}.tmp", random_hex()?));
        let written = write_then_rename(&tmp, target, bytes);
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        sync_dir(target.parent().unwrap_or(&self.root))
    }

    fn read_sidecar(&self, id: &UploadId) -> io::Result<Option<Sidecar>> {
        match fs::read(self.sidecar(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates an upload; answers its offset (its length when the blob is
    /// already stored).
    fn create(&self, id: &UploadId, sidecar: &Sidecar) -> ApiResult<u64> {
        fs::create_dir_all(self.uploads()).map_err(ApiError::internal)?;
        let existing = match fs::metadata(self.blob(&sidecar.sha256)) {
            Ok(meta) => Some(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(ApiError::internal(e)),
        };
        if existing.is_some_and(|len| len != sidecar.length) {
            return Err(hash_mismatch("a blob with this sha256 is stored and has another length"));
        }
        let json = serde_json::to_vec(sidecar).map_err(ApiError::internal)?;
        self.write_atomic(&self.sidecar(id), &json).map_err(ApiError::internal)?;
        if existing.is_some() {
            return Ok(sidecar.length);
        }
        if sidecar.length == 0 {
            self.finish(id, sidecar)?;
        }
        Ok(0)
    }

    /// The caller's upload, or 404: unknown, another device's, or expired
    /// (then removed on the spot).
    fn open(&self, id: &UploadId, device_id: &str, now_ms: i64, ttl_ms: i64) -> ApiResult<Sidecar> {
        let sidecar = self.read_sidecar(id).map_err(ApiError::internal)?.ok_or_else(upload_gone)?;
        if sidecar.device_id != device_id {
            return Err(upload_gone());
        }
        if sidecar.expired(now_ms, ttl_ms) {
            self.discard(id).map_err(ApiError::internal)?;
            return Err(upload_gone());
        }
        Ok(sidecar)
    }

    /// Where the upload stands. A part file holding every byte but no blob
    /// (the server stopped while hashing) is finished now.
    fn settle(&self, id: &UploadId, sidecar: &Sidecar) -> ApiResult<Progress> {
        if self.blob(&sidecar.sha256).try_exists().map_err(ApiError::internal)? {
            remove_if_present(&self.part(id)).map_err(ApiError::internal)?;
            return Ok(Progress::Done);
        }
        let offset = match fs::metadata(self.part(id)) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(ApiError::internal(e)),
        };
        if offset >= sidecar.length {
            self.finish(id, sidecar)?;
            return Ok(Progress::Done);
        }
        Ok(Progress::At(offset))
    }

    /// Appends `bytes` at `offset` and syncs; answers the new offset. On a
    /// failed write the file is cut back to `offset`.
    fn append(&self, id: &UploadId, offset: u64, bytes: &[u8]) -> io::Result<u64> {
        let path = self.part(id);
        let mut file = OpenOptions::new().write(true).create(true).truncate(false).open(&path)?;
        if file.metadata()?.len() != offset {
            return Err(io::Error::other("the part file moved under its lock"));
        }
        file.seek(SeekFrom::Start(offset))?;
        if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_data()) {
            let _ = file.set_len(offset);
            let _ = file.sync_data();
            return Err(e);
        }
        if offset == 0 {
            sync_dir(&self.uploads())?;
        }
        Ok(offset + bytes.len() as u64)
    }

    /// Every byte is here: hashes the whole file. A match makes the blob
    /// exist (media type first, then the bytes, renamed into place and
    /// synced); a mismatch discards the upload and answers 422.
    fn finish(&self, id: &UploadId, sidecar: &Sidecar) -> ApiResult<()> {
        let path = self.part(id);
        let (length, digest) = hash_file(&path).map_err(ApiError::internal)?;
        if length != sidecar.length || digest != sidecar.sha256 {
            self.discard(id).map_err(ApiError::internal)?;
            tracing::info!(upload = %id.0, "upload discarded: the file's hash differs from its announced sha256");
            return Err(hash_mismatch(
                "the whole file's SHA-256 differs from the announced sha256; the upload was discarded",
            ));
        }
        let blob = self.blob(&sidecar.sha256);
        if blob.try_exists().map_err(ApiError::internal)? {
            remove_if_present(&path).map_err(ApiError::internal)?;
            return Ok(());
        }
        if !bytes_are(&path, &sidecar.media_type).map_err(ApiError::internal)? {
            self.discard(id).map_err(ApiError::internal)?;
            tracing::info!(upload = %id.0, media_type = %sidecar.media_type, "upload discarded: the bytes are not its media type");
            return Err(media_type_mismatch(&sidecar.media_type));
        }
        self.install(&path, &sidecar.sha256, &sidecar.media_type).map_err(ApiError::internal)?;
        tracing::info!(blob = %sidecar.sha256, bytes = length, "blob stored");
        Ok(())
    }

    /// Makes the blob exist from a synced file holding its verified bytes:
    /// its media type first, then its bytes, renamed into place and the
    /// directory synced.
    fn install(&self, part: &FsPath, sha256: &Digest, media_type: &str) -> io::Result<()> {
        self.write_atomic(&self.meta(sha256), media_type.as_bytes())?;
        fs::rename(part, self.blob(sha256))?;
        sync_dir(&self.root)
    }

    /// Stores bytes already checked against `sha256`, as a finished upload
    /// would be. The bytes go to a `.tmp` file first (never a `.part`: a
    /// running server's sweep removes a part file without a sidecar).
    fn put(&self, sha256: &Digest, media_type: &str, bytes: &[u8]) -> ApiResult<BlobStored> {
        match fs::metadata(self.blob(sha256)) {
            Ok(meta) if meta.len() == bytes.len() as u64 => return Ok(BlobStored::AlreadyPresent),
            Ok(_) => return Err(hash_mismatch("a blob with this sha256 is stored and has another length")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
        fs::create_dir_all(self.uploads()).map_err(ApiError::internal)?;
        let tmp = self.uploads().join(format!("{}.tmp", random_hex().map_err(ApiError::internal)?));
        let installed = write_synced(&tmp, bytes).and_then(|()| self.install(&tmp, sha256, media_type));
        if let Err(e) = installed {
            let _ = fs::remove_file(&tmp);
            return Err(ApiError::internal(e));
        }
        tracing::info!(blob = %sha256, bytes = bytes.len(), "blob stored");
        Ok(BlobStored::Stored)
    }

    /// Removes an upload: the bytes first, then the sidecar.
    fn discard(&self, id: &UploadId) -> io::Result<()> {
        remove_if_present(&self.part(id))?;
        remove_if_present(&self.sidecar(id))
    }

    /// Bytes `device_id` has announced in uploads still open (neither
    /// expired nor turned into a blob): what its quota counts.
    fn pending_bytes(&self, device_id: &str, now_ms: i64, ttl_ms: i64) -> io::Result<u64> {
        let entries = match fs::read_dir(self.uploads()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut total: u64 = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")).and_then(UploadId::parse)
            else {
                continue;
            };
            if let Ok(Some(sidecar)) = self.read_sidecar(&id)
                && sidecar.device_id == device_id
                && !sidecar.expired(now_ms, ttl_ms)
                && !self.blob(&sidecar.sha256).try_exists()?
            {
                total = total.saturating_add(sidecar.length);
            }
        }
        Ok(total)
    }

    fn sweep(&self, now_ms: i64, ttl_ms: i64) -> io::Result<usize> {
        let entries = match fs::read_dir(self.uploads()) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let ttl = std::time::Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0));
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = name.strip_suffix(".json").and_then(UploadId::parse) {
                let Some(_lock) = try_lock_upload(self.lock_key(&id)) else { continue };
                let Some(_file_lock) = try_lock_sidecar(&self.sidecar(&id)) else { continue };
                let expired = match self.read_sidecar(&id) {
                    Ok(Some(sidecar)) => sidecar.expired(now_ms, ttl_ms),
                    Ok(None) => false,
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => true,
                    Err(e) => return Err(e),
                };
                if expired {
                    self.discard(&id)?;
                    removed += 1;
                }
            } else if let Some(id) = name.strip_suffix(".part").and_then(UploadId::parse) {
                // Bytes whose sidecar is gone: an interrupted discard.
                let Some(_lock) = try_lock_upload(self.lock_key(&id)) else { continue };
                let Some(_file_lock) = try_lock_sidecar(&self.sidecar(&id)) else { continue };
                if !self.sidecar(&id).try_exists()? {
                    remove_if_present(&self.part(&id))?;
                }
            } else if name.ends_with(".tmp") {
                // A temp file older than the ttl was left by an interrupted write.
                let old = entry.metadata()?.modified()?.elapsed().is_ok_and(|age| age >= ttl);
                if old {
                    remove_if_present(&entry.path())?;
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, "expired uploads removed");
        }
        Ok(removed)
    }
}

fn write_then_rename(tmp: &FsPath, target: &FsPath, bytes: &[u8]) -> io::Result<()> {
    write_synced(tmp, bytes)?;
    fs::rename(tmp, target)
}

/// Creates `path` (which must not exist) holding `bytes`, synced.
fn write_synced(path: &FsPath, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Length and SHA-256 of a file (created empty if missing), synced first.
fn hash_file(path: &FsPath) -> io::Result<(u64, Digest)> {
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    file.sync_all()?;
    let mut hasher = Sha256::new();
    let mut length = 0u64;
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        length += n as u64;
    }
    Ok((length, Digest(hasher.finalize().into())))
}

fn remove_if_present(path: &FsPath) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Makes renames and new files in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &FsPath) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &FsPath) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(sha: &str, media: &str) -> String {
        format!("sha256 {},media_type {}", B64.encode(sha), B64.encode(media))
    }

    const SHA: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn metadata_needs_both_keys_and_ignores_others() {
        let ok = parse_metadata(&format!("{},filename {}", meta(SHA, "Image/JPEG"), B64.encode("a.jpg")));
        assert_eq!(ok.map(|m| m.media_type), Ok("image/jpeg".to_owned()));
        assert!(parse_metadata(&format!("sha256 {}", B64.encode(SHA))).is_err(), "media_type is required");
        assert!(parse_metadata(&meta(&SHA.to_uppercase(), "image/jpeg")).is_err(), "ids are lowercase");
        assert!(parse_metadata(&meta(SHA, "image/jpeg; charset=x")).is_err(), "no parameters");
        assert!(
            parse_metadata(&format!("{},sha256 {}", meta(SHA, "a/b"), B64.encode(SHA))).is_err(),
            "no repeats"
        );
        assert!(parse_metadata("sha256 !!!,media_type x").is_err(), "values are base64");
    }

    #[test]
    fn only_plain_media_types_pass() {
        assert_eq!(plain_media_type("image/png").as_deref(), Some("image/png"));
        assert_eq!(
            plain_media_type("application/vnd.hearth+json").as_deref(),
            Some("application/vnd.hearth+json")
        );
        for bad in ["image", "/png", "image/", "text/html\r\nx: y", "a/b/c", "a b/c", ".x/y", "text/html;q=1"]
        {
            assert_eq!(plain_media_type(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn upload_ids_are_exactly_32_lowercase_hex() {
        assert!(UploadId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in
            ["0123456789ABCDEF0123456789ABCDEF", "../../etc", "0123456789abcdef0123456789abcde.", "", "ab"]
        {
            assert!(UploadId::parse(bad).is_none(), "{bad:?} must be refused");
        }
        assert!(UploadId::random().is_ok_and(|id| UploadId::parse(&id.0).is_some()));
    }

    #[test]
    fn a_whole_blob_is_stored_once_with_its_media_type_and_checked_first() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"abc";
        let id: Digest = SHA.parse().unwrap();
        let store = |sha: &Digest, media: &str, bytes: &[u8]| store_blob(dir.path(), 16, sha, media, bytes);
        assert_eq!(store(&id, "Image/JPEG", bytes), Ok(BlobStored::Stored));
        assert_eq!(fs::read(dir.path().join(SHA)).unwrap(), bytes);
        assert_eq!(fs::read_to_string(dir.path().join(format!("{SHA}.meta"))).unwrap(), "image/jpeg");
        assert_eq!(store(&id, "image/jpeg", bytes), Ok(BlobStored::AlreadyPresent));

        let other = hearth_protocol::hash::blob_id(b"abd");
        assert_eq!(store(&other, "image/jpeg", b"abc").map_err(|e| e.code), Err("hash_mismatch"));
        assert_eq!(store(&other, "text/html\r\nx: y", b"abd").map_err(|e| e.code), Err("bad_metadata"));
        let big = [0u8; 17];
        let big_id = hearth_protocol::hash::blob_id(&big);
        assert_eq!(store(&big_id, "image/png", &big).map_err(|e| e.code), Err("blob_too_large"));
        assert_eq!(store(&other, "text/html", b"abd").map_err(|e| e.code), Err("unsupported_media_type"));
        assert!(!dir.path().join(other.to_hex()).exists(), "a refused blob is not stored");
        let leftovers = fs::read_dir(dir.path().join(UPLOADS_DIR)).unwrap().count();
        assert_eq!(leftovers, 0, "no temp file is left behind");
    }

    #[test]
    fn decimals_are_plain_digits() {
        assert_eq!(parse_decimal("42"), Some(42));
        for bad in ["", "+1", "-1", " 1", "1e3", "99999999999999999999999"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?} must be refused");
        }
    }
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(paths(discover, create_upload, upload_offset, append_chunk, missing, download))]
struct BlobDoc;

/// The blob operations, for `/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <BlobDoc as utoipa::OpenApi>::openapi()
}
