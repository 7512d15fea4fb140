//! The server's HTTP API (protocol §5) as typed calls. Counts every request
//! and the body bytes it sent, so tests and the benchmark can see the cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use hearth_protocol::api::{
    BlobsMissingRequest, BlobsMissingResponse, EnrollDeviceRequest, EnrollDeviceResponse,
    EnrollTechnicianRequest, EnrollTechnicianResponse, EntriesResponse, ErrorBody, FeedPage, Head,
    ReceiptsResponse, ServerKey,
};
use hearth_protocol::{Digest, Envelope};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::SyncError;

const TUS_VERSION: &str = "1.0.0";
/// When the server throttles without saying how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);
/// How long a probe waits: a server that takes longer is not back yet.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests made and body bytes sent, by kind.
#[derive(Debug, Default)]
pub struct RequestCounters {
    pub requests: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub record_requests: AtomicU64,
    pub blob_requests: AtomicU64,
    pub feed_requests: AtomicU64,
    pub chunks_sent: AtomicU64,
}

/// A snapshot of [`RequestCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    pub requests: u64,
    pub bytes_sent: u64,
    /// head, entries and receipts calls.
    pub record_requests: u64,
    /// missing, tus create / head / patch calls.
    pub blob_requests: u64,
    pub feed_requests: u64,
    /// tus PATCH requests (chunks), including ones that failed.
    pub chunks_sent: u64,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Records,
    Blobs,
    Feed,
    Other,
}

/// The answer to a feed request.
#[derive(Debug)]
pub enum FeedAnswer {
    Page(FeedPage),
    /// `409 reset`: drop server-derived tables and start again.
    Reset,
}

/// One server, one device token.
#[derive(Debug, Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    counters: Arc<RequestCounters>,
}

impl ServerClient {
    /// `base` is the server's address, e.g. `https://hearth.example.com`.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A chunk or a batch on a weak link; longer means the link is gone.
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned(), token, counters: Arc::default() })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn stats(&self) -> RequestStats {
        let c = &self.counters;
        RequestStats {
            requests: c.requests.load(Ordering::Relaxed),
            bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
            record_requests: c.record_requests.load(Ordering::Relaxed),
            blob_requests: c.blob_requests.load(Ordering::Relaxed),
            feed_requests: c.feed_requests.load(Ordering::Relaxed),
            chunks_sent: c.chunks_sent.load(Ordering::Relaxed),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn request(&self, method: Method, path: &str, kind: Kind, body_len: usize) -> RequestBuilder {
        let c = &self.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.bytes_sent.fetch_add(body_len as u64, Ordering::Relaxed);
        match kind {
            Kind::Records => c.record_requests.fetch_add(1, Ordering::Relaxed),
            Kind::Blobs => c.blob_requests.fetch_add(1, Ordering::Relaxed),
            Kind::Feed => c.feed_requests.fetch_add(1, Ordering::Relaxed),
            Kind::Other => 0,
        };
        let builder = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => builder.header(AUTHORIZATION, format!("Bearer {token}")),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response, SyncError> {
        let response = builder.send().await.map_err(SyncError::from_reqwest)?;
        if response.status().is_success() { Ok(response) } else { Err(error_of(response).await) }
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, SyncError> {
        let response = self.send(builder).await?;
        let bytes = response.bytes().await.map_err(SyncError::from_reqwest)?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::BadAnswer(e.to_string()))
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        kind: Kind,
        body: &B,
    ) -> Result<T, SyncError> {
        let bytes = serde_json::to_vec(body).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let builder = self
            .request(Method::POST, path, kind, bytes.len())
            .header(CONTENT_TYPE, "application/json")
            .body(bytes);
        self.json(builder).await
    }

    /// Is the server there? The cheapest question it answers (its receipt
    /// key, no database), with a short deadline: asked every few seconds
    /// while sync waits out a failure.
    pub async fn probe(&self) -> Result<(), SyncError> {
        let builder = self.request(Method::GET, "/v1/server-key", Kind::Other, 0).timeout(PROBE_TIMEOUT);
        self.send(builder).await.map(drop)
    }

    pub async fn server_key(&self) -> Result<ServerKey, SyncError> {
        self.json(self.request(Method::GET, "/v1/server-key", Kind::Other, 0)).await
    }

    pub async fn enrol_device(&self, req: &EnrollDeviceRequest) -> Result<EnrollDeviceResponse, SyncError> {
        self.post_json("/v1/enroll/device", Kind::Other, req).await
    }

    pub async fn enrol_technician(
        &self,
        req: &EnrollTechnicianRequest,
    ) -> Result<EnrollTechnicianResponse, SyncError> {
        self.post_json("/v1/enroll/technician", Kind::Other, req).await
    }

    pub async fn head(&self, device_id: &str) -> Result<Head, SyncError> {
        self.json(self.request(Method::GET, &format!("/v1/devices/{device_id}/head"), Kind::Records, 0)).await
    }

    /// Pushes one batch; the caller measures the clock around it.
    pub async fn push(&self, device_id: &str, entries: &[Envelope]) -> Result<EntriesResponse, SyncError> {
        #[derive(Serialize)]
        struct Batch<'a> {
            entries: &'a [Envelope],
        }
        self.post_json(&format!("/v1/devices/{device_id}/entries"), Kind::Records, &Batch { entries }).await
    }

    pub async fn receipts(
        &self,
        device_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<ReceiptsResponse, SyncError> {
        let path = format!("/v1/devices/{device_id}/receipts?from_seq={from_seq}&limit={limit}");
        self.json(self.request(Method::GET, &path, Kind::Records, 0)).await
    }

    pub async fn blobs_missing(&self, ids: &[Digest]) -> Result<Vec<Digest>, SyncError> {
        let req = BlobsMissingRequest { sha256: ids.to_vec() };
        let answer: BlobsMissingResponse = self.post_json("/v1/blobs/missing", Kind::Blobs, &req).await?;
        Ok(answer.missing)
    }

    /// tus creation: returns the upload's location and the offset the server
    /// already has (the length when the blob exists). `first` bytes of the
    /// file ride on the request (tus `creation-with-upload`, checksummed), so
    /// a photo that fits in one chunk takes one request; empty sends none.
    pub async fn upload_create(
        &self,
        sha256: &Digest,
        media_type: &str,
        length: u64,
        first: &[u8],
    ) -> Result<(String, u64), SyncError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let metadata =
            format!("sha256 {},media_type {}", b64.encode(sha256.to_hex()), b64.encode(media_type));
        let mut builder = self
            .request(Method::POST, "/v1/uploads", Kind::Blobs, first.len())
            .header("Tus-Resumable", TUS_VERSION)
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata);
        if !first.is_empty() {
            self.counters.chunks_sent.fetch_add(1, Ordering::Relaxed);
            builder = builder
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .header("Upload-Checksum", format!("sha256 {}", b64.encode(Sha256::digest(first))))
                .body(first.to_vec());
        }
        let response = self.send(builder).await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SyncError::BadAnswer("an upload was created without a Location".into()))?
            .to_owned();
        let offset = upload_offset(response.headers()).unwrap_or(0);
        Ok((location, offset))
    }

    /// tus HEAD: how much of the upload the server holds; None when the
    /// upload is gone (expired or never existed).
    pub async fn upload_offset(&self, location: &str) -> Result<Option<u64>, SyncError> {
        let builder =
            self.request(Method::HEAD, location, Kind::Blobs, 0).header("Tus-Resumable", TUS_VERSION);
        let response = builder.send().await.map_err(SyncError::from_reqwest)?;
        match response.status() {
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s if s.is_success() => upload_offset(response.headers())
                .map(Some)
                .ok_or_else(|| SyncError::BadAnswer("HEAD without Upload-Offset".into())),
            _ => Err(error_of(response).await),
        }
    }

    /// tus PATCH of one chunk at `offset`; returns the server's new offset.
    pub async fn upload_chunk(&self, location: &str, offset: u64, chunk: &[u8]) -> Result<u64, SyncError> {
        self.counters.chunks_sent.fetch_add(1, Ordering::Relaxed);
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(chunk));
        let builder = self
            .request(Method::PATCH, location, Kind::Blobs, chunk.len())
            .header("Tus-Resumable", TUS_VERSION)
            .header("Upload-Offset", offset.to_string())
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .header("Upload-Checksum", format!("sha256 {checksum}"))
            .body(chunk.to_vec());
        let response = self.send(builder).await?;
        upload_offset(response.headers())
            .ok_or_else(|| SyncError::BadAnswer("PATCH without Upload-Offset".into()))
    }

    pub async fn feed(
        &self,
        device_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<FeedAnswer, SyncError> {
        let mut path = format!("/v1/devices/{device_id}/feed?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str("&cursor=");
            path.push_str(&percent_encode(cursor));
        }
        match self.json(self.request(Method::GET, &path, Kind::Feed, 0)).await {
            Ok(page) => Ok(FeedAnswer::Page(page)),
            Err(SyncError::Server { status: 409, code, .. }) if code == "reset" => Ok(FeedAnswer::Reset),
            Err(e) => Err(e),
        }
    }
}

fn upload_offset(headers: &HeaderMap) -> Option<u64> {
    headers.get("Upload-Offset")?.to_str().ok()?.parse().ok()
}

async fn error_of(response: Response) -> SyncError {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_RETRY_AFTER);
        return SyncError::Throttled(wait);
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => (body.error, body.message),
        Err(_) => (format!("http_{}", status.as_u16()), String::from_utf8_lossy(&bytes).into_owned()),
    };
    SyncError::Server { status: status.as_u16(), code, message }
}

/// Cursors are opaque; keep them intact in a query string.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_the_query_string_unchanged() {
        assert_eq!(percent_encode("e1.ab-c_d~9"), "e1.ab-c_d~9");
        assert_eq!(percent_encode("a b/c+d=&é"), "a%20b%2Fc%2Bd%3D%26%C3%A9");
    }
}
