//! Blob uploads over tus 1.0 (protocol §5), driven over HTTP against the real
//! server on port 0: chunks, resumption after cuts, checksums, whole-file
//! hashes, path traversal, ownership, expiry.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Backend;
use hearth_protocol::{SigningKey, b64};
use hearth_server::auth;
use hearth_server::state::{AppState, Limits};
use hearth_server::storage::sqlite::SqliteStorage;
use hearth_server::storage::{CodePurpose, NewEnrolCode, StorageError};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OPERATOR_TOKEN: &str = "operator-token-for-tests";

struct Server {
    base: String,
    addr: SocketAddr,
    state: AppState,
    clock: Arc<AtomicI64>,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    task: Task,
}

/// The serving task, stopped when the test lets go of it.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn roomy_limits() -> Limits {
    Limits { device_rate_per_sec: 10_000, device_burst: 10_000, ..Limits::default() }
}

async fn start() -> Server {
    start_with(roomy_limits()).await
}

async fn start_with(limits: Limits) -> Server {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(AtomicI64::new(chrono::Utc::now().timestamp_millis()));
    serve(dir, clock, limits).await
}

/// Serves a state over `dir` (its `db` and `blobs`), on port 0.
async fn serve(dir: tempfile::TempDir, clock: Arc<AtomicI64>, limits: Limits) -> Server {
    let storage = SqliteStorage::open(&dir.path().join("db")).expect("sqlite opens");
    let now = clock.clone();
    let state = hearth_server::app::state(
        Arc::new(storage),
        dir.path().join("blobs"),
        Arc::new(move || now.load(Ordering::SeqCst)),
        limits,
    )
    .await
    .expect("state builds");
    match state.storage.add_operator_token(&auth::secret_hash(OPERATOR_TOKEN), state.now_ms()).await {
        Ok(()) | Err(StorageError::Exists(_)) => {}
        Err(e) => panic!("operator token stored: {e}"),
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port 0 binds");
    let addr = listener.local_addr().expect("a local address");
    let router = hearth_server::app::router(state.clone());
    let task = Task(tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    }));
    Server { base: format!("http://{addr}"), addr, state, clock, http: reqwest::Client::new(), dir, task }
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn checksum(bytes: &[u8]) -> String {
    format!("sha256 {}", STANDARD.encode(Sha256::digest(bytes)))
}

fn metadata(sha: &str, media_type: &str) -> String {
    format!("sha256 {},media_type {}", STANDARD.encode(sha), STANDARD.encode(media_type))
}

/// Random bytes that pass for a JPEG (they start `FF D8 FF`, which is
/// all the server checks of a photo's bytes).
fn random_bytes(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    for (b, magic) in bytes.iter_mut().zip(JPEG_MAGIC) {
        *b = magic;
    }
    bytes
}

const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];
const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// A small "PNG": its signature and then anything.
fn png_bytes(tail: &[u8]) -> Vec<u8> {
    let mut bytes = PNG_MAGIC.to_vec();
    bytes.extend_from_slice(tail);
    bytes
}

fn header_u64(resp: &reqwest::Response, name: &str) -> u64 {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} is a number in {resp:?}"))
}

/// Status and `error` code of a JSON error response.
async fn error_of(resp: reqwest::Response) -> (StatusCode, String) {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    assert!(is_json, "an error is JSON, got {resp:?}");
    let body: Value = resp.json().await.expect("an error body is JSON");
    assert!(body["message"].is_string(), "an error has a message: {body}");
    (status, body["error"].as_str().expect("an error has a code").to_owned())
}

/// Every file under `root`, relative.
fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_path_buf());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    fn uploads_dir(&self) -> PathBuf {
        self.blob_dir().join(".uploads")
    }

    /// Enrols a tablet and answers its bearer token.
    async fn device(&self, n: u8) -> String {
        let code = format!("TEST-CODE-{n:03}");
        let now = self.state.now_ms();
        self.state
            .storage
            .add_enrol_code(NewEnrolCode {
                code_hash: auth::code_hash(&code),
                purpose: CodePurpose::Device,
                created_at_ms: now,
                expires_at_ms: now + 3_600_000,
            })
            .await
            .expect("enrol code stored");
        let pubkey = b64::encode(SigningKey::from_bytes(&[n; 32]).verifying_key().as_bytes());
        let resp = self
            .http
            .post(self.url("/v1/enroll/device"))
            .json(&json!({"code": code, "pubkey": pubkey, "name": format!("tablet {n}")}))
            .send()
            .await
            .expect("enrol request");
        assert_eq!(resp.status(), StatusCode::OK, "enrolment succeeds");
        let body: Value = resp.json().await.expect("enrolment answers JSON");
        body["token"].as_str().expect("a token").to_owned()
    }

    async fn create(&self, token: &str, sha: &str, media_type: &str, length: u64) -> reqwest::Response {
        self.http
            .post(self.url("/v1/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata(sha, media_type))
            .send()
            .await
            .expect("POST /v1/uploads")
    }

    /// tus `creation-with-upload`: the POST carries `chunk`, checksummed with `sum`.
    async fn create_with(&self, token: &str, whole: &[u8], chunk: &[u8], sum: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", whole.len().to_string())
            .header("Upload-Metadata", metadata(&sha_hex(whole), "image/jpeg"))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Checksum", sum)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("POST /v1/uploads with a body")
    }

    /// Creates an upload and answers its location.
    async fn location(&self, token: &str, bytes: &[u8], media_type: &str) -> String {
        let resp = self.create(token, &sha_hex(bytes), media_type, bytes.len() as u64).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "the upload is created");
        assert_eq!(resp.headers()["tus-resumable"], "1.0.0");
        resp.headers()["location"].to_str().expect("an ASCII location").to_owned()
    }

    async fn patch_raw(
        &self,
        token: &str,
        location: &str,
        offset: u64,
        chunk: &[u8],
        sum: &str,
    ) -> reqwest::Response {
        self.http
            .patch(self.url(location))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", sum)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("PATCH an upload")
    }

    async fn patch(&self, token: &str, location: &str, offset: u64, chunk: &[u8]) -> reqwest::Response {
        self.patch_raw(token, location, offset, chunk, &checksum(chunk)).await
    }

    async fn head(&self, token: &str, location: &str) -> reqwest::Response {
        self.http
            .head(self.url(location))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("HEAD an upload")
    }

    async fn offset(&self, token: &str, location: &str) -> u64 {
        let resp = self.head(token, location).await;
        assert_eq!(resp.status(), StatusCode::OK, "HEAD finds the upload");
        header_u64(&resp, "upload-offset")
    }

    /// Uploads `bytes` in chunks of `chunk` bytes.
    async fn upload(&self, token: &str, bytes: &[u8], media_type: &str, chunk: usize) -> String {
        let location = self.location(token, bytes, media_type).await;
        let mut offset = 0;
        for piece in bytes.chunks(chunk) {
            let resp = self.patch(token, &location, offset, piece).await;
            assert_eq!(resp.status(), StatusCode::NO_CONTENT, "a good chunk is appended");
            offset = header_u64(&resp, "upload-offset");
        }
        location
    }

    async fn download(&self, sha: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/v1/blobs/{sha}")))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .expect("GET a blob")
    }

    async fn missing(&self, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/blobs/missing"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("POST /v1/blobs/missing")
    }

    /// Sends raw HTTP/1.1 bytes, so no client tidies the path; answers what
    /// came back, or nothing when `read` is false (the client "crashes").
    async fn raw(&self, head: &str, body: &[u8], read: bool) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(body).await.expect("write body");
        stream.flush().await.expect("flush");
        if !read {
            return String::new();
        }
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    fn patch_head(&self, token: &str, location: &str, offset: u64, chunk: &[u8], length: usize) -> String {
        format!(
            "PATCH {location} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n\
             Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
             Upload-Checksum: {}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
            self.addr,
            checksum(chunk)
        )
    }
}

#[tokio::test]
async fn the_server_announces_tus_core_creation_and_sha256_checksums() {
    let server = start().await;
    let resp = server.http.request(Method::OPTIONS, server.url("/v1/uploads")).send().await.expect("OPTIONS");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let h = resp.headers();
    assert_eq!(h["tus-resumable"], "1.0.0");
    assert_eq!(h["tus-version"], "1.0.0");
    assert_eq!(h["tus-extension"], "creation,creation-with-upload,checksum");
    assert_eq!(h["tus-checksum-algorithm"], "sha256");
    assert_eq!(h["tus-max-size"], Limits::default().max_blob.to_string().as_str());
}

#[tokio::test]
async fn a_whole_upload_in_several_chunks_creates_the_blob() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(1), 200_000);
    let sha = sha_hex(&bytes);

    let before = server.missing(&token, json!({"sha256": [sha]})).await;
    assert_eq!(before.json::<Value>().await.expect("JSON")["missing"], json!([sha]), "not there yet");

    let location = server.upload(&token, &bytes, "image/jpeg", 65_536).await;
    assert_eq!(server.offset(&token, &location).await, bytes.len() as u64, "HEAD reports a finished upload");

    let resp = server.download(&sha).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg", "the stored media type comes back");
    assert_eq!(resp.headers()["etag"], format!("\"{sha}\"").as_str(), "the ETag is the sha256");
    assert_eq!(resp.bytes().await.expect("a body").as_ref(), bytes.as_slice(), "the very same bytes");

    let after = server.missing(&token, json!({"sha256": [sha]})).await;
    assert_eq!(
        after.json::<Value>().await.expect("JSON")["missing"],
        json!([sha]),
        "stored, but named by none of this tablet's records: still answered missing"
    );
    assert!(server.blob_dir().join(&sha).is_file(), "stored under its sha256");
    assert!(
        !server.uploads_dir().join(format!("{}.part", location.rsplit('/').next().unwrap_or(""))).exists(),
        "no part file is left behind"
    );
}

#[tokio::test]
async fn an_upload_cut_at_random_offsets_resumes_via_head_and_ends_with_the_exact_file() {
    let server = start().await;
    let token = server.device(1).await;
    let mut rng = ChaCha8Rng::seed_from_u64(0x4ea7);
    let bytes = random_bytes(&mut rng, 300_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;

    let mut offset = 0u64;
    let (mut cuts, mut resent) = (0, 0);
    while offset < bytes.len() as u64 {
        let len = (8_000 + rng.next_u32() as usize % 40_000).min(bytes.len() - offset as usize);
        let chunk = &bytes[offset as usize..offset as usize + len];
        match rng.next_u32() % 4 {
            0 => {
                // The connection drops part-way through the chunk.
                cuts += 1;
                let sent = rng.next_u32() as usize % len;
                let head = server.patch_head(&token, &location, offset, chunk, len);
                server.raw(&head, &chunk[..sent], false).await;
                let now = server.offset(&token, &location).await;
                assert_eq!(now, offset, "a chunk cut after {sent} of {len} bytes appends nothing");
                resent += 1;
            }
            1 => {
                // The chunk arrives whole but the tablet forgets the answer.
                cuts += 1;
                let head = server.patch_head(&token, &location, offset, chunk, len);
                let answer = server.raw(&head, chunk, true).await;
                assert!(answer.starts_with("HTTP/1.1 204"), "the whole chunk is taken: {answer}");
                let now = server.offset(&token, &location).await;
                assert_eq!(
                    now,
                    offset + len as u64,
                    "HEAD tells the tablet the chunk arrived; it is not resent"
                );
                offset = now;
            }
            _ => {
                let resp = server.patch(&token, &location, offset, chunk).await;
                assert_eq!(resp.status(), StatusCode::NO_CONTENT);
                offset = header_u64(&resp, "upload-offset");
                assert_eq!(offset, server.offset(&token, &location).await, "PATCH and HEAD agree");
            }
        }
    }
    assert!(cuts >= 3, "the seed cuts the upload several times ({cuts})");
    assert!(resent >= 1, "the seed cuts at least one chunk mid-body");

    let resp = server.download(&sha_hex(&bytes)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.expect("a body").as_ref(), bytes.as_slice(), "the exact file");
}

#[tokio::test]
async fn a_chunk_with_a_bad_checksum_is_refused_with_460_and_nothing_is_appended() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(2), 10_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;
    let first = server.patch(&token, &location, 0, &bytes[..4_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);

    let wrong = checksum(b"something else");
    let resp = server.patch_raw(&token, &location, 4_000, &bytes[4_000..8_000], &wrong).await;
    assert_eq!(
        error_of(resp).await,
        (StatusCode::from_u16(460).expect("460"), "checksum_mismatch".to_owned())
    );
    assert_eq!(server.offset(&token, &location).await, 4_000, "the offset did not move");

    for bad in ["md5 AAAA", "sha256 not-base64!", "sha256", "sha256 AAAA"] {
        let resp = server.patch_raw(&token, &location, 4_000, &bytes[4_000..8_000], bad).await;
        assert_eq!(error_of(resp).await.0, StatusCode::BAD_REQUEST, "{bad:?} is not a usable checksum");
    }
    assert_eq!(server.offset(&token, &location).await, 4_000, "still nothing appended");

    let resp = server.patch(&token, &location, 4_000, &bytes[4_000..]).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT, "the same chunk, checksummed right, goes in");
    assert_eq!(server.download(&sha_hex(&bytes)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_photo_that_fits_in_one_chunk_is_stored_by_its_creation_alone() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(21), 120_000);
    let sha = sha_hex(&bytes);
    // One request: created, appended, hashed and stored.
    let resp = server.create_with(&token, &bytes, &bytes, &checksum(&bytes)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        header_u64(&resp, "upload-offset"),
        bytes.len() as u64,
        "the whole file went in with the POST"
    );
    let location = resp.headers()["location"].to_str().expect("a location").to_owned();
    assert_eq!(server.download(&sha).await.bytes().await.expect("body").as_ref(), bytes.as_slice());
    assert_eq!(server.offset(&token, &location).await, bytes.len() as u64, "HEAD agrees it is done");

    // A first chunk only: the rest follows by PATCH, resumable as ever.
    let big = random_bytes(&mut ChaCha8Rng::seed_from_u64(22), 90_000);
    let resp = server.create_with(&token, &big, &big[..30_000], &checksum(&big[..30_000])).await;
    assert_eq!(header_u64(&resp, "upload-offset"), 30_000);
    let location = resp.headers()["location"].to_str().expect("a location").to_owned();
    assert_eq!(server.offset(&token, &location).await, 30_000);
    let rest = server.patch(&token, &location, 30_000, &big[30_000..]).await;
    assert_eq!(header_u64(&rest, "upload-offset"), 90_000);
    assert_eq!(server.download(&sha_hex(&big)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_creation_whose_body_fails_its_checksum_creates_nothing() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(23), 20_000);
    let before = files_under(&server.blob_dir());
    let resp = server.create_with(&token, &bytes, &bytes, &checksum(b"other bytes")).await;
    assert_eq!(
        error_of(resp).await,
        (StatusCode::from_u16(460).expect("460"), "checksum_mismatch".to_owned())
    );
    let resp = server.create_with(&token, &bytes, &bytes, "sha256").await;
    assert_eq!(error_of(resp).await.0, StatusCode::BAD_REQUEST, "an unusable checksum is refused");
    // Longer than the upload: refused before anything exists.
    let long = [bytes.as_slice(), b"extra"].concat();
    let resp = server.create_with(&token, &bytes, &long, &checksum(&long)).await;
    assert_eq!(
        error_of(resp).await,
        (StatusCode::BAD_REQUEST, "beyond_upload_length".to_owned()),
        "a body past Upload-Length"
    );
    assert_eq!(files_under(&server.blob_dir()), before, "no upload, no part file, no blob");
    // The same photo sent right is stored.
    let resp = server.create_with(&token, &bytes, &bytes, &checksum(&bytes)).await;
    assert_eq!(header_u64(&resp, "upload-offset"), bytes.len() as u64);
}

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_is_refused_with_409() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(3), 10_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;
    assert_eq!(server.patch(&token, &location, 0, &bytes[..5_000]).await.status(), StatusCode::NO_CONTENT);

    for offset in [0, 4_999, 5_001] {
        let resp =
            server.patch(&token, &location, offset, &bytes[offset as usize..offset as usize + 10]).await;
        assert_eq!(header_u64(&resp, "upload-offset"), 5_000, "a 409 tells where the upload is");
        assert_eq!(error_of(resp).await, (StatusCode::CONFLICT, "offset_mismatch".to_owned()));
    }
    assert_eq!(server.offset(&token, &location).await, 5_000);
}

#[tokio::test]
async fn two_patches_at_once_do_not_interleave() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(4), 400_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;
    let (a, b) = tokio::join!(
        server.patch(&token, &location, 0, &bytes[..200_000]),
        server.patch(&token, &location, 0, &bytes[..200_000]),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 409], "one chunk goes in, the other finds the offset moved");
    assert_eq!(server.offset(&token, &location).await, 200_000);
    assert_eq!(
        server.patch(&token, &location, 200_000, &bytes[200_000..]).await.status(),
        StatusCode::NO_CONTENT
    );
    let resp = server.download(&sha_hex(&bytes)).await;
    assert_eq!(resp.bytes().await.expect("a body").as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn a_stalled_chunk_does_not_hold_up_the_next_head_or_patch() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(11), 20_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;

    // The old connection sends half a chunk, then goes quiet without closing.
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let head = server.patch_head(&token, &location, 0, &bytes[..10_000], 10_000);
    stalled.write_all(head.as_bytes()).await.expect("write head");
    stalled.write_all(&bytes[..5_000]).await.expect("write half a body");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let wait = std::time::Duration::from_secs(5);
    let offset = tokio::time::timeout(wait, server.offset(&token, &location)).await;
    assert_eq!(offset.expect("HEAD answers while a chunk is stalled"), 0);
    let resp = tokio::time::timeout(wait, server.patch(&token, &location, 0, &bytes)).await;
    assert_eq!(resp.expect("PATCH answers while a chunk is stalled").status(), StatusCode::NO_CONTENT);

    // The stalled chunk, finished late, finds the upload done and appends nothing.
    stalled.write_all(&bytes[5_000..10_000]).await.expect("write the rest");
    let mut answer = Vec::new();
    let _ = stalled.read_to_end(&mut answer).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 204"),
        "a late chunk of a done upload is a 204"
    );
    let blob = server.download(&sha_hex(&bytes)).await;
    assert_eq!(blob.bytes().await.expect("a body").as_ref(), bytes.as_slice(), "the exact file");
}

#[tokio::test]
async fn a_whole_file_whose_hash_differs_from_the_announced_sha256_is_discarded_with_422() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(5), 20_000);
    let announced = sha_hex(b"the photo the tablet meant to send");
    let resp = server.create(&token, &announced, "image/jpeg", bytes.len() as u64).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().expect("ASCII").to_owned();

    assert_eq!(server.patch(&token, &location, 0, &bytes[..10_000]).await.status(), StatusCode::NO_CONTENT);
    let resp = server.patch(&token, &location, 10_000, &bytes[10_000..]).await;
    assert_eq!(error_of(resp).await, (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch".to_owned()));

    let missing = server.missing(&token, json!({"sha256": [announced, sha_hex(&bytes)]})).await;
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(body["missing"], json!([announced, sha_hex(&bytes)]), "neither id became a blob");
    assert_eq!(server.head(&token, &location).await.status(), StatusCode::NOT_FOUND, "the upload is gone");
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "nothing of it is left on disk");
}

#[tokio::test]
async fn an_upload_of_a_blob_that_already_exists_completes_at_once() {
    let server = start().await;
    let first = server.device(1).await;
    let second = server.device(2).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(6), 30_000);
    server.upload(&first, &bytes, "image/jpeg", 16_000).await;

    let resp = server.create(&second, &sha_hex(&bytes), "image/png", bytes.len() as u64).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(header_u64(&resp, "upload-offset"), bytes.len() as u64, "the 201 says it is complete");
    let location = resp.headers()["location"].to_str().expect("ASCII").to_owned();
    let head = server.head(&second, &location).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header_u64(&head, "upload-offset"),
        header_u64(&head, "upload-length"),
        "HEAD says it is complete"
    );

    // A tus client that PATCHes from 0 anyway learns it is done.
    let resp = server.patch(&second, &location, 0, &bytes[..1_000]).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(header_u64(&resp, "upload-offset"), bytes.len() as u64);

    let blob = server.download(&sha_hex(&bytes)).await;
    assert_eq!(blob.headers()["content-type"], "image/jpeg", "the first media type stays");
    assert_eq!(blob.bytes().await.expect("a body").as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn an_empty_file_is_no_blob_of_any_media_type() {
    let server = start().await;
    let token = server.device(1).await;
    for media_type in ["image/jpeg", "image/png", "application/json"] {
        let resp = server.create(&token, &sha_hex(b""), media_type, 0).await;
        assert_eq!(
            error_of(resp).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "media_type_mismatch".to_owned()),
            "an empty {media_type}"
        );
    }
    assert_eq!(server.download(&sha_hex(b"")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "nothing of them is left");

    let resp = server.create(&token, &sha_hex(b"not empty"), "application/json", 0).await;
    assert_eq!(error_of(resp).await, (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch".to_owned()));
}

#[tokio::test]
async fn creating_an_upload_checks_every_header() {
    let server = start_with(Limits { max_blob: 100_000, ..roomy_limits() }).await;
    let token = server.device(1).await;
    let sha = sha_hex(b"x");
    let post = |tus: Option<&str>, length: Option<&str>, meta: Option<String>| {
        let mut req = server.http.post(server.url("/v1/uploads")).bearer_auth(&token);
        if let Some(tus) = tus {
            req = req.header("Tus-Resumable", tus);
        }
        if let Some(length) = length {
            req = req.header("Upload-Length", length);
        }
        if let Some(meta) = meta {
            req = req.header("Upload-Metadata", meta);
        }
        req.send()
    };
    let good = || Some(metadata(&sha, "image/jpeg"));

    let resp = post(None, Some("1"), good()).await.expect("POST");
    assert_eq!(resp.headers()["tus-version"], "1.0.0", "a 412 says which version is spoken");
    assert_eq!(error_of(resp).await.0, StatusCode::PRECONDITION_FAILED, "Tus-Resumable is required");
    let resp = post(Some("0.2.2"), Some("1"), good()).await.expect("POST");
    assert_eq!(error_of(resp).await.0, StatusCode::PRECONDITION_FAILED, "only 1.0.0 is spoken");
    let resp = post(Some("1.0.0"), Some("100001"), good()).await.expect("POST");
    assert_eq!(error_of(resp).await, (StatusCode::PAYLOAD_TOO_LARGE, "blob_too_large".to_owned()));

    for length in [None, Some("-1"), Some("+1"), Some("1.5"), Some("")] {
        let resp = post(Some("1.0.0"), length, good()).await.expect("POST");
        assert_eq!(error_of(resp).await.0, StatusCode::BAD_REQUEST, "Upload-Length {length:?} is refused");
    }
    let b = |s: &str| STANDARD.encode(s);
    let bad_metadata = [
        None,
        Some(String::new()),
        Some(format!("sha256 {}", b(&sha))),
        Some(format!("media_type {}", b("image/jpeg"))),
        Some(metadata(&sha.to_uppercase(), "image/jpeg")),
        Some(metadata("../../etc/passwd", "image/jpeg")),
        Some(metadata(&sha, "text/html\r\nSet-Cookie: x=y")),
        Some(metadata(&sha, "image/jpeg; charset=utf-8")),
        Some(format!("sha256 {},media_type %%%", b(&sha))),
    ];
    for meta in bad_metadata {
        let resp = post(Some("1.0.0"), Some("1"), meta.clone()).await.expect("POST");
        assert_eq!(error_of(resp).await.0, StatusCode::BAD_REQUEST, "metadata {meta:?} is refused");
    }
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "no refused upload left a file");

    let location = server.location(&token, b"x", "image/jpeg").await;
    let resp = server
        .http
        .patch(server.url(&location))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", checksum(b"x"))
        .body("x")
        .send()
        .await
        .expect("PATCH");
    assert_eq!(error_of(resp).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE, "chunks are offset+octet-stream");
}

#[tokio::test]
async fn a_chunk_larger_than_max_chunk_or_past_the_length_is_refused() {
    let server = start_with(Limits { max_chunk: 1_000, ..roomy_limits() }).await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(7), 2_500);
    let location = server.location(&token, &bytes, "image/jpeg").await;

    let resp = server.patch(&token, &location, 0, &bytes[..1_001]).await;
    assert_eq!(error_of(resp).await, (StatusCode::PAYLOAD_TOO_LARGE, "chunk_too_large".to_owned()));
    assert_eq!(server.patch(&token, &location, 0, &bytes[..1_000]).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.patch(&token, &location, 1_000, &bytes[1_000..2_000]).await.status(),
        StatusCode::NO_CONTENT
    );

    let mut longer = bytes[2_000..].to_vec();
    longer.push(0);
    let resp = server.patch(&token, &location, 2_000, &longer).await;
    assert_eq!(error_of(resp).await, (StatusCode::BAD_REQUEST, "beyond_upload_length".to_owned()));
    assert_eq!(server.offset(&token, &location).await, 2_000);
}

#[tokio::test]
async fn path_traversal_attempts_are_refused_and_touch_nothing_outside_blob_dir() {
    let server = start().await;
    let token = server.device(1).await;
    let secret = server.dir.path().join("etc");
    std::fs::write(&secret, b"outside").expect("a file outside blob_dir");
    let location = server.location(&token, b"\"inside\"", "application/json").await;
    let id = location.rsplit('/').next().expect("an id").to_owned();
    let before_outside = files_under(server.dir.path());

    let upload_paths = [
        "/v1/uploads/..%2F..%2Fetc".to_owned(),
        "/v1/uploads/..%2Fetc".to_owned(),
        "/v1/uploads/%2e%2e".to_owned(),
        format!("/v1/uploads/{}", id.to_uppercase()),
        format!("/v1/uploads/{}.json", id),
        format!("/v1/uploads/{}..", &id[..30]),
        format!("/v1/uploads/{}%2F..", &id[..29]),
        format!("/v1/uploads/{id}%00"),
    ];
    for path in &upload_paths {
        let resp = server.patch(&token, path, 0, b"inside").await;
        assert_eq!(error_of(resp).await, (StatusCode::NOT_FOUND, "not_found".to_owned()), "PATCH {path}");
        let resp = server.head(&token, path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "HEAD {path}");
    }
    let blob_paths = [
        "/v1/blobs/..%2F..%2Fetc".to_owned(),
        "/v1/blobs/..%2F..%2Fdb".to_owned(),
        format!("/v1/blobs/{}", sha_hex(b"inside").to_uppercase()),
        format!("/v1/blobs/{}.meta", sha_hex(b"inside")),
        "/v1/blobs/.uploads".to_owned(),
    ];
    for path in &blob_paths {
        let resp = server.http.get(server.url(path)).bearer_auth(OPERATOR_TOKEN).send().await.expect("GET");
        assert_eq!(error_of(resp).await.0, StatusCode::BAD_REQUEST, "GET {path}");
    }
    // reqwest tidies `..` away; raw requests reach the server as written.
    for path in
        ["/v1/blobs/../../x", "/v1/blobs/../../etc", "/v1/uploads/../../etc", "/v1/blobs/..%2F..%2Fetc"]
    {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {OPERATOR_TOKEN}\r\nConnection: close\r\n\r\n"
        );
        let answer = server.raw(&head, b"", true).await;
        let status_ok = answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 404");
        assert!(status_ok && answer.contains("\"error\""), "GET {path} is a JSON 400/404: {answer}");
        assert!(!answer.contains("outside"), "nothing outside blob_dir is served");
    }

    assert_eq!(std::fs::read(&secret).expect("still there"), b"outside");
    let after_outside = files_under(server.dir.path());
    let outside = |set: &BTreeSet<PathBuf>| -> BTreeSet<PathBuf> {
        set.iter().filter(|p| !p.starts_with("blobs")).cloned().collect()
    };
    assert_eq!(outside(&after_outside), outside(&before_outside), "no file appeared outside blob_dir");
    assert_eq!(server.offset(&token, &location).await, 0, "the real upload is untouched");
}

#[tokio::test]
async fn another_device_cannot_patch_or_head_my_upload() {
    let server = start().await;
    let mine = server.device(1).await;
    let theirs = server.device(2).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(8), 2_000);
    let location = server.location(&mine, &bytes, "image/jpeg").await;
    assert_eq!(server.patch(&mine, &location, 0, &bytes[..1_000]).await.status(), StatusCode::NO_CONTENT);

    let resp = server.patch(&theirs, &location, 1_000, &bytes[1_000..]).await;
    assert_eq!(error_of(resp).await, (StatusCode::NOT_FOUND, "not_found".to_owned()), "no hint it exists");
    assert_eq!(server.head(&theirs, &location).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(server.offset(&mine, &location).await, 1_000, "my upload is untouched");
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_with_401() {
    let server = start().await;
    let token = server.device(1).await;
    let location = server.location(&token, b"[1]", "application/json").await;
    let sha = sha_hex(b"[1]");

    for bearer in [None, Some("not-a-token")] {
        let with = |req: reqwest::RequestBuilder| match bearer {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let requests = [
            with(server.http.post(server.url("/v1/uploads")))
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "3")
                .header("Upload-Metadata", metadata(&sha, "application/json")),
            with(server.http.patch(server.url(&location)))
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .header("Upload-Checksum", checksum(b"[1]"))
                .body("[1]"),
            with(server.http.post(server.url("/v1/blobs/missing"))).json(&json!({"sha256": [sha]})),
            with(server.http.get(server.url(&format!("/v1/blobs/{sha}")))),
        ];
        for req in requests {
            let resp = req.send().await.expect("a request");
            assert_eq!(error_of(resp).await, (StatusCode::UNAUTHORIZED, "unauthorized".to_owned()));
        }
        let resp =
            with(server.http.head(server.url(&location))).header("Tus-Resumable", "1.0.0").send().await;
        assert_eq!(resp.expect("HEAD").status(), StatusCode::UNAUTHORIZED);
    }
    let device_reads_blob =
        server.http.get(server.url(&format!("/v1/blobs/{sha}"))).bearer_auth(&token).send().await;
    let (status, _) = error_of(device_reads_blob.expect("GET")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a tablet token is not an office token");
    assert_eq!(server.offset(&token, &location).await, 0, "nothing was appended");
}

#[tokio::test]
async fn blobs_missing_validates_its_input() {
    let server = start().await;
    let token = server.device(1).await;
    server.upload(&token, b"\"stored\"", "application/json", 100).await;
    let (stored, absent) = (sha_hex(b"\"stored\""), sha_hex(b"absent"));

    let resp = server.missing(&token, json!({"sha256": [stored, absent, absent]})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.expect("JSON"),
        json!({"missing": [stored, absent]}),
        "each id once; a stored blob no record of this tablet names is answered missing"
    );
    let resp = server.missing(&token, json!({"sha256": []})).await;
    assert_eq!(resp.json::<Value>().await.expect("JSON"), json!({"missing": []}));

    let thousand: Vec<String> = (0..1000u32).map(|i| sha_hex(&i.to_be_bytes())).collect();
    let resp = server.missing(&token, json!({"sha256": thousand})).await;
    assert_eq!(resp.status(), StatusCode::OK, "1000 ids is allowed");
    assert_eq!(resp.json::<Value>().await.expect("JSON")["missing"].as_array().map(Vec::len), Some(1000));
    let too_many: Vec<String> = (0..1001u32).map(|i| sha_hex(&i.to_be_bytes())).collect();
    let resp = server.missing(&token, json!({"sha256": too_many})).await;
    assert_eq!(error_of(resp).await, (StatusCode::BAD_REQUEST, "too_many_ids".to_owned()));

    for bad in [stored.to_uppercase(), "abc".to_owned(), format!("{stored}0"), "../../etc/passwd".to_owned()]
    {
        let resp = server.missing(&token, json!({"sha256": [absent, bad]})).await;
        assert_eq!(error_of(resp).await, (StatusCode::BAD_REQUEST, "bad_blob_id".to_owned()), "{bad:?}");
    }
    let resp = server.missing(&token, json!({"ids": [absent]})).await;
    assert!(error_of(resp).await.0.is_client_error(), "the body must be {{sha256: [...]}}");
}

#[tokio::test]
async fn an_expired_upload_is_swept_and_answers_404() {
    let server = start().await;
    let token = server.device(1).await;
    let ttl = server.state.limits.upload_ttl_ms;
    let old = random_bytes(&mut ChaCha8Rng::seed_from_u64(9), 5_000);
    let location = server.location(&token, &old, "image/jpeg").await;
    assert_eq!(server.patch(&token, &location, 0, &old[..2_000]).await.status(), StatusCode::NO_CONTENT);

    server.clock.fetch_add(ttl / 2, Ordering::SeqCst);
    let young = server.location(&token, b"\"young\"", "application/json").await;
    assert_eq!(
        hearth_server::blobs::sweep_expired(&server.state).await.expect("sweep"),
        0,
        "nothing is old yet"
    );

    server.clock.fetch_add(ttl / 2, Ordering::SeqCst);
    assert_eq!(
        hearth_server::blobs::sweep_expired(&server.state).await.expect("sweep"),
        1,
        "one upload expired"
    );
    let left = files_under(&server.uploads_dir());
    let young_id = young.rsplit('/').next().expect("an id");
    assert_eq!(
        left,
        BTreeSet::from([PathBuf::from(format!("{young_id}.json"))]),
        "only the young upload is left"
    );
    assert_eq!(server.head(&token, &location).await.status(), StatusCode::NOT_FOUND);
    let resp = server.patch(&token, &location, 2_000, &old[2_000..]).await;
    assert_eq!(error_of(resp).await.0, StatusCode::NOT_FOUND, "an expired upload takes no more chunks");

    // An expired id answers 404 even before a sweep reaches it.
    server.clock.fetch_add(ttl, Ordering::SeqCst);
    assert_eq!(server.head(&token, &young).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "and its files are gone");

    // Creating an upload sweeps the expired ones too.
    let stale = server.location(&token, b"\"stale\"", "application/json").await;
    server.clock.fetch_add(ttl, Ordering::SeqCst);
    let fresh = server.location(&token, b"\"fresh\"", "application/json").await;
    let fresh_id = fresh.rsplit('/').next().expect("an id");
    assert_eq!(
        files_under(&server.uploads_dir()),
        BTreeSet::from([PathBuf::from(format!("{fresh_id}.json"))]),
        "the POST swept {stale} away"
    );
}

#[tokio::test]
async fn uploads_survive_a_server_restart() {
    let server = start().await;
    let token = server.device(1).await;
    let bytes = random_bytes(&mut ChaCha8Rng::seed_from_u64(10), 50_000);
    let location = server.location(&token, &bytes, "image/jpeg").await;
    assert_eq!(server.patch(&token, &location, 0, &bytes[..20_000]).await.status(), StatusCode::NO_CONTENT);

    let Server { dir, clock, state, task, .. } = server;
    drop(task);
    drop(state);
    let server = serve(dir, clock, roomy_limits()).await;
    assert_eq!(server.offset(&token, &location).await, 20_000, "the new server knows the upload");
    assert_eq!(
        server.patch(&token, &location, 20_000, &bytes[20_000..]).await.status(),
        StatusCode::NO_CONTENT
    );
    let resp = server.download(&sha_hex(&bytes)).await;
    assert_eq!(resp.bytes().await.expect("a body").as_ref(), bytes.as_slice());
}

// --- what a tablet may upload, and what the office is served ------------------

#[tokio::test]
async fn only_the_protocols_media_types_are_accepted_at_creation() {
    let server = start().await;
    let token = server.device(1).await;
    let gif = b"GIF89a\x01\x00\x01\x00";
    for media_type in ["image/gif", "text/html", "application/octet-stream", "image/svg+xml", "text/plain"] {
        let resp = server.create(&token, &sha_hex(gif), media_type, gif.len() as u64).await;
        assert_eq!(
            error_of(resp).await,
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type".to_owned()),
            "{media_type} is refused"
        );
    }
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "a refused upload leaves nothing");
    for (media_type, bytes) in [
        ("image/jpeg", random_bytes(&mut ChaCha8Rng::seed_from_u64(20), 100)),
        ("image/png", png_bytes(b"x")),
        ("application/json", b"{}".to_vec()),
    ] {
        server.upload(&token, &bytes, media_type, 1_000).await;
        assert_eq!(
            server.download(&sha_hex(&bytes)).await.status(),
            StatusCode::OK,
            "{media_type} is stored"
        );
    }
}

#[tokio::test]
async fn bytes_that_are_not_their_announced_media_type_are_discarded_with_422() {
    let server = start().await;
    let token = server.device(1).await;
    let html = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let cases = [
        ("image/jpeg", png_bytes(b"a PNG announced as a photo")),
        ("image/png", random_bytes(&mut ChaCha8Rng::seed_from_u64(21), 64)),
        ("image/png", html.clone()),
        ("image/jpeg", html.clone()),
        ("application/json", html),
        ("application/json", b"{\"strokes\": [1, 2".to_vec()),
    ];
    for (media_type, bytes) in cases {
        let location = server.location(&token, &bytes, media_type).await;
        let resp = server.patch(&token, &location, 0, &bytes).await;
        assert_eq!(
            error_of(resp).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "media_type_mismatch".to_owned()),
            "{media_type}: {:?}",
            String::from_utf8_lossy(&bytes[..8])
        );
        assert_eq!(
            server.head(&token, &location).await.status(),
            StatusCode::NOT_FOUND,
            "the upload is gone"
        );
        assert_eq!(server.download(&sha_hex(&bytes)).await.status(), StatusCode::NOT_FOUND, "no blob");
    }
    assert_eq!(files_under(&server.uploads_dir()), BTreeSet::new(), "nothing of them is left on disk");
}

#[tokio::test]
async fn a_served_blob_is_a_sandboxed_download_of_its_stored_media_type() {
    let server = start().await;
    let token = server.device(1).await;
    for (media_type, bytes, extension) in [
        ("image/png", png_bytes(b"<html><script>alert(1)</script>"), "png"),
        ("image/jpeg", random_bytes(&mut ChaCha8Rng::seed_from_u64(22), 500), "jpg"),
        ("application/json", br#"{"strokes":[[1,2],[3,4]]}"#.to_vec(), "json"),
    ] {
        server.upload(&token, &bytes, media_type, 1_000).await;
        let sha = sha_hex(&bytes);
        let resp = server.download(&sha).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h["content-type"], media_type);
        assert_eq!(h["content-disposition"], format!("attachment; filename=\"{sha}.{extension}\"").as_str());
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "sandbox; default-src 'none'");
    }
}

#[tokio::test]
async fn unfinished_uploads_count_against_a_per_device_quota() {
    let server = start_with(Limits { device_upload_quota: 10_000, ..roomy_limits() }).await;
    let (token, other) = (server.device(1).await, server.device(2).await);
    let first = random_bytes(&mut ChaCha8Rng::seed_from_u64(23), 6_000);
    let second = random_bytes(&mut ChaCha8Rng::seed_from_u64(24), 6_000);
    let location = server.location(&token, &first, "image/jpeg").await;

    let resp = server.create(&token, &sha_hex(&second), "image/jpeg", 6_000).await;
    assert_eq!(error_of(resp).await, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".to_owned()));
    assert_eq!(files_under(&server.uploads_dir()).len(), 1, "the refused upload left nothing");
    server.location(&other, &second, "image/jpeg").await;

    // Finished, the first no longer counts.
    assert_eq!(server.patch(&token, &location, 0, &first).await.status(), StatusCode::NO_CONTENT);
    server.location(&token, &second, "image/jpeg").await;
    // A blob that is already stored completes at once and costs nothing.
    let resp = server.create(&token, &sha_hex(&first), "image/jpeg", 6_000).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "an upload of a stored blob is not counted");
}

// --- a tablet learns only about blobs its own records name --------------------

/// Uploads `bytes` whole through the real server's tus endpoint.
async fn tus_upload(server: &common::TestServer, token: &str, bytes: &[u8], media_type: &str) -> u64 {
    let resp = server
        .http
        .post(server.url("/v1/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header("Upload-Metadata", metadata(&sha_hex(bytes), media_type))
        .send()
        .await
        .expect("POST /v1/uploads");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let offset = header_u64(&resp, "upload-offset");
    if offset == bytes.len() as u64 {
        return offset;
    }
    let location = resp.headers()["location"].to_str().expect("ASCII").to_owned();
    let resp = server
        .http
        .patch(server.url(&location))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", checksum(bytes))
        .body(bytes.to_vec())
        .send()
        .await
        .expect("PATCH");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    header_u64(&resp, "upload-offset")
}

async fn missing_of(server: &common::TestServer, token: &str, ids: &[&str]) -> Value {
    let resp = server
        .http
        .post(server.url("/v1/blobs/missing"))
        .bearer_auth(token)
        .json(&json!({"sha256": ids}))
        .send()
        .await
        .expect("POST /v1/blobs/missing");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<Value>().await.expect("JSON")["missing"].clone()
}

async fn a_tablet_learns_only_about_blobs_its_own_records_name(backend: Backend) {
    let server = common::TestServer::start(backend);
    let mut mine = server.enrol_device("tablet A", 31).await;
    server.enrol_technician(&mut mine, "T0017", 32).await;
    let theirs = server.enrol_device("tablet B", 33).await;
    let photo = random_bytes(&mut ChaCha8Rng::seed_from_u64(30), 4_000);
    let sha = sha_hex(&photo);

    // Uploaded before any record names it: answered missing even to its sender.
    assert_eq!(tus_upload(&server, &mine.token, &photo, "image/jpeg").await, photo.len() as u64);
    assert_eq!(missing_of(&server, &mine.token, &[&sha]).await, json!([sha]));

    let mut content = mine.arrival("WO-DEMO-0001");
    content.attachments.push(hearth_protocol::Attachment {
        sha256: sha.parse().expect("a blob id"),
        size: photo.len() as u64,
        media_type: "image/jpeg".into(),
        role: hearth_protocol::AttachmentRole::Photo,
        captured_at_ms: None,
    });
    let sealed = mine.seal(content);
    let answer = server.push(&mine, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(answer.results[0].status, hearth_protocol::api::EntryStatus::Accepted);

    assert_eq!(missing_of(&server, &mine.token, &[&sha]).await, json!([]), "its own record names it");
    assert_eq!(
        missing_of(&server, &theirs.token, &[&sha]).await,
        json!([sha]),
        "another tablet is not told the blob exists"
    );
    // Uploading it anyway completes at once; the bytes stay as they were.
    assert_eq!(tus_upload(&server, &theirs.token, &photo, "image/jpeg").await, photo.len() as u64);
    let stored = std::fs::read(server.blob_dir().join(&sha)).expect("the blob is stored");
    assert_eq!(stored, photo);
}

on_both_backends!(a_tablet_learns_only_about_blobs_its_own_records_name);
