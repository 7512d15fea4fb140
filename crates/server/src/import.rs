//! `hearth-server import FILE`: ingests a rescue file (`hearth-rescue/v1`,
//! see `hearth_protocol::rescue`) that a tablet exported when it could not
//! reach the server, exactly as its pushes would have been: each blob through
//! the step that makes a finished upload's blob exist, then the entries in
//! batches through [`ingest::ingest_batch`], the push path itself. So the
//! checks, the receipts and the idempotency are the push's: importing a file
//! twice, or the tablet later pushing the same entries, answers `duplicate`
//! with the original receipts.
//!
//! The file is read twice. [`check_file`] reads all of it before anything is
//! stored (every blob's hash, the counts against the header), so a truncated
//! or damaged file stores nothing; it keeps the entries, which are small.
//! [`import`] then reads it again to store the blobs one at a time (photos
//! run to megabytes) before it ingests the entries, so records find the
//! blobs they refer to. Like the admin commands it works on the database
//! directly, whether or not `serve` is running on it.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use hearth_protocol::Digest;
use hearth_protocol::Envelope;
use hearth_protocol::ReceiptStatus;
use hearth_protocol::api::{EntryResult, EntryStatus, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES};
use hearth_protocol::rescue::{RescueError, RescueHeader, RescueItem, RescueReader};
use hearth_protocol::verify::envelope_size;

use crate::blobs::{self, BlobStored};
use crate::error::ApiError;
use crate::ingest;
use crate::state::{AppState, Limits};
use crate::storage::StorageError;

/// How often a batch is tried again when another server process wrote the
/// same device's chain meanwhile (`concurrent_write`), one second apart.
const CONCURRENT_WRITE_RETRIES: u32 = 5;

/// Why an import stopped. Each has a stable [`ImportError::code`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    File { path: String, source: RescueError },
    #[error("{path}: the file changed while it was being imported")]
    Changed { path: String },
    #[error("blob {sha256}: {message}")]
    Blob { sha256: Digest, code: &'static str, message: String },
    #[error(
        "device {0:?} is not enrolled on this server; a rescue file is imported only for a device enrolled here"
    )]
    UnknownDevice(String),
    #[error(
        "stopped at seq {seq}: {status}{detail}; nothing from seq {seq} on was imported (before it: {})",
        progress.counts()
    )]
    Refused { seq: u64, status: &'static str, detail: String, progress: Box<ImportSummary> },
    #[error("{message}")]
    Server { code: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Open { .. } => "io",
            Self::File { source, .. } => source.code(),
            Self::Changed { .. } => "file_changed",
            Self::Blob { code, .. } | Self::Server { code, .. } => code,
            Self::UnknownDevice(_) => "unknown_device",
            Self::Refused { .. } => "entry_refused",
            Self::Storage(_) => "storage",
        }
    }
}

impl From<ApiError> for ImportError {
    fn from(e: ApiError) -> Self {
        Self::Server { code: e.code, message: e.message }
    }
}

/// A rescue file read whole and found sound; its blobs are still on disk only.
#[derive(Debug, Clone)]
pub struct CheckedFile {
    pub path: PathBuf,
    pub header: RescueHeader,
    pub entries: Vec<Envelope>,
    /// Each blob's id and size, in file order.
    pub blobs: Vec<(Digest, u64)>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub device_id: String,
    pub accepted: u64,
    /// Of the accepted, how many have receipts `needs_review`.
    pub needs_review: u64,
    pub duplicate: u64,
    pub blobs_stored: u64,
    pub blobs_present: u64,
}

impl ImportSummary {
    /// `480 accepted, 20 duplicate, 18 blobs stored, 2 already present`.
    pub fn counts(&self) -> String {
        format!(
            "{} accepted, {} duplicate, {} blobs stored, {} already present",
            self.accepted, self.duplicate, self.blobs_stored, self.blobs_present
        )
    }
}

/// The machine-readable last line: `imported device D: 480 accepted, 20 duplicate, 18 blobs stored, 2 already present`.
impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "imported device {}: {}", self.device_id, self.counts())
    }
}

fn open(path: &Path) -> Result<RescueReader<BufReader<File>>, ImportError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| ImportError::Open { path: shown.clone(), source })?;
    RescueReader::new(BufReader::new(file)).map_err(|source| ImportError::File { path: shown, source })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ImportError::from(ApiError::internal(e)))?
}

/// Reads the whole file and checks it before anything is stored: the
/// header, every line, every blob's hash, size and media type (with the
/// upload's own checks), and the counts.
pub async fn check_file(path: &Path, limits: &Limits) -> Result<CheckedFile, ImportError> {
    let path = path.to_path_buf();
    let max_blob = limits.max_blob;
    blocking(move || {
        let shown = path.display().to_string();
        let mut reader = open(&path)?;
        let mut entries = Vec::new();
        let mut blob_ids = Vec::new();
        for item in reader.by_ref() {
            match item.map_err(|source| ImportError::File { path: shown.clone(), source })? {
                RescueItem::Entry(envelope) => entries.push(envelope),
                RescueItem::Blob(blob) => {
                    let size = blob.bytes.len() as u64;
                    blobs::check_blob(max_blob, &blob.media_type, size).map_err(|e| ImportError::Blob {
                        sha256: blob.sha256,
                        code: e.code,
                        message: e.message,
                    })?;
                    blob_ids.push((blob.sha256, size));
                }
            }
        }
        Ok(CheckedFile { header: reader.header().clone(), path, entries, blobs: blob_ids })
    })
    .await
}

/// Stores the blobs, then ingests the entries through the push path, for
/// the device the header names (which must be enrolled here).
pub async fn import(state: &AppState, file: CheckedFile) -> Result<ImportSummary, ImportError> {
    let device_id = file.header.device_id.clone();
    if state.storage.device_keys(&device_id).await?.is_none() {
        return Err(ImportError::UnknownDevice(device_id));
    }
    let mut summary = ImportSummary { device_id: device_id.clone(), ..ImportSummary::default() };
    store_blobs(state, &file, &mut summary).await?;
    for batch in batches(file.entries) {
        let results = ingest_with_retry(state, &device_id, batch).await?;
        for r in results {
            match r.status {
                EntryStatus::Accepted => {
                    summary.accepted += 1;
                    let flagged =
                        r.receipt.as_ref().is_some_and(|rec| rec.status == ReceiptStatus::NeedsReview);
                    summary.needs_review += u64::from(flagged);
                }
                EntryStatus::Duplicate => summary.duplicate += 1,
                _ => return Err(refused(&r, summary)),
            }
        }
    }
    Ok(summary)
}

/// Second pass over the file: each blob, verified again as it is read,
/// stored as a finished upload's would be.
async fn store_blobs(
    state: &AppState,
    file: &CheckedFile,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    let (path, header, expected) = (file.path.clone(), file.header.clone(), file.blobs.clone());
    let (blob_dir, max_blob) = (state.blob_dir.clone(), state.limits.max_blob);
    let (stored, present) = blocking(move || {
        let shown = path.display().to_string();
        let changed = || ImportError::Changed { path: shown.clone() };
        let mut reader = open(&path)?;
        if reader.header() != &header {
            return Err(changed());
        }
        let (mut stored, mut present, mut n) = (0u64, 0u64, 0usize);
        for item in reader.by_ref() {
            let RescueItem::Blob(blob) =
                item.map_err(|source| ImportError::File { path: shown.clone(), source })?
            else {
                continue;
            };
            if expected.get(n) != Some(&(blob.sha256, blob.bytes.len() as u64)) {
                return Err(changed());
            }
            n += 1;
            match blobs::store_blob(&blob_dir, max_blob, &blob.sha256, &blob.media_type, &blob.bytes) {
                Ok(BlobStored::Stored) => stored += 1,
                Ok(BlobStored::AlreadyPresent) => present += 1,
                Err(e) => {
                    return Err(ImportError::Blob { sha256: blob.sha256, code: e.code, message: e.message });
                }
            }
        }
        Ok((stored, present))
    })
    .await?;
    summary.blobs_stored = stored;
    summary.blobs_present = present;
    Ok(())
}

/// Splits the entries into batches a tablet could push: at most
/// `MAX_BATCH_ENTRIES`, and at most `MAX_BATCH_BYTES` of envelopes when
/// more than one fits.
fn batches(entries: Vec<Envelope>) -> Vec<Vec<Envelope>> {
    // `{"entries":[` … `]}` and a comma per envelope.
    const OVERHEAD: usize = 16;
    let mut out: Vec<Vec<Envelope>> = Vec::new();
    let mut bytes = 0;
    for envelope in entries {
        let size = envelope_size(&envelope).saturating_add(1);
        match out.last_mut() {
            Some(batch) if batch.len() < MAX_BATCH_ENTRIES && bytes + size + OVERHEAD <= MAX_BATCH_BYTES => {
                bytes += size;
                batch.push(envelope);
            }
            _ => {
                bytes = size;
                out.push(vec![envelope]);
            }
        }
    }
    out
}

async fn ingest_with_retry(
    state: &AppState,
    device_id: &str,
    batch: Vec<Envelope>,
) -> Result<Vec<EntryResult>, ImportError> {
    let mut tries = 0;
    loop {
        match ingest::ingest_batch(state, device_id, batch.clone()).await {
            Ok(response) => return Ok(response.results),
            // Nothing of the batch was stored; it is safe to send again.
            Err(e) if e.code == "concurrent_write" && tries < CONCURRENT_WRITE_RETRIES => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn refused(r: &EntryResult, progress: ImportSummary) -> ImportError {
    let status = match r.status {
        EntryStatus::Accepted => "accepted",
        EntryStatus::Duplicate => "duplicate",
        EntryStatus::Conflict => "conflict",
        EntryStatus::Gap => "gap",
        EntryStatus::Rejected => "rejected",
        EntryStatus::NotProcessed => "not_processed",
    };
    let detail = match (&r.reason, r.expected_seq) {
        (Some(reason), _) => format!(" ({reason})"),
        (None, Some(expected)) => format!(" (the server expects seq {expected} next)"),
        (None, None) => String::new(),
    };
    ImportError::Refused { seq: r.seq, status, detail, progress: Box::new(progress) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_protocol::DeviceSignature;

    fn envelope(content_len: usize) -> Envelope {
        Envelope {
            entry: "e".into(),
            content: "c".repeat(content_len),
            tech_sigs: vec![],
            device_sig: DeviceSignature { kid: "k".into(), sig: "s".into() },
        }
    }

    #[test]
    fn batches_hold_at_most_the_push_limits_in_order() {
        let sizes: Vec<usize> = batches(vec![envelope(1); 450]).iter().map(Vec::len).collect();
        assert_eq!(sizes, [200, 200, 50]);
        // 90 KiB envelopes: 22 fit in 2 MiB.
        let big = batches(vec![envelope(90 * 1024); 30]);
        assert!(big.iter().all(|b| b.iter().map(|e| envelope_size(e) + 1).sum::<usize>() < MAX_BATCH_BYTES));
        assert_eq!(big.iter().map(Vec::len).sum::<usize>(), 30);
        assert!(batches(vec![]).is_empty());
    }

    #[test]
    fn the_summary_line_is_stable_for_scripts() {
        let s = ImportSummary {
            device_id: "D".into(),
            accepted: 480,
            needs_review: 3,
            duplicate: 20,
            blobs_stored: 18,
            blobs_present: 2,
        };
        assert_eq!(
            s.to_string(),
            "imported device D: 480 accepted, 20 duplicate, 18 blobs stored, 2 already present"
        );
    }
}
