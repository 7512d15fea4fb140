//! Rescue export: when a tablet cannot reach the server for days, everything
//! not yet receipted — the sealed entries and the files they refer to, plus
//! any file the server does not have yet — goes into one file that an
//! operator imports with `hearth-server import FILE`. Importing is a push:
//! the tablet's later sync only gets duplicates back.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use hearth_protocol::Digest;
use hearth_protocol::rescue::{RescueHeader, RescueWriter};
use hearth_store::{Store, StoreError};

use crate::SyncError;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RescueSummary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub entries: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub blobs: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// Files a record refers to that were already removed after the server
    /// confirmed it has them: not needed in the export.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub already_on_server: u64,
    /// Where the file was written, for the operator to copy it from.
    pub path: String,
}

/// Writes the rescue file to `path`: to a temporary beside it first, synced,
/// then renamed, so a half-written export never looks complete.
pub fn export_rescue(store: &Store, path: &Path, now_ms: i64) -> Result<RescueSummary, SyncError> {
    let device_id = store.device_id()?.ok_or(SyncError::NotLinked)?;
    let entries = store.unreceipted_entries()?;
    let mut wanted: BTreeSet<Digest> =
        entries.iter().flat_map(|(_, _, files)| files.iter().copied()).collect();
    wanted.extend(store.pending_blobs(i64::MAX, usize::MAX >> 1)?.into_iter().map(|b| b.sha256));
    let mut blobs = Vec::new();
    let mut already_on_server = 0;
    for sha256 in wanted {
        if store.blob_removed(&sha256)? {
            already_on_server += 1;
            continue;
        }
        let media_type =
            store.blob_media_type(&sha256)?.ok_or_else(|| StoreError::MissingBlob(sha256.to_hex()))?;
        blobs.push((sha256, media_type));
    }
    let header = RescueHeader::new(device_id, now_ms, entries.len() as u64, blobs.len() as u64);
    let temp = path.with_extension("partial");
    let io = |e: std::io::Error| SyncError::Store(StoreError::Io(e));
    let mut writer =
        RescueWriter::new(BufWriter::new(File::create(&temp).map_err(io)?), header).map_err(io)?;
    for (_, envelope, _) in &entries {
        writer.entry(envelope).map_err(io)?;
    }
    for (sha256, media_type) in &blobs {
        let bytes = store.read_blob(sha256)?.ok_or_else(|| StoreError::MissingBlob(sha256.to_hex()))?;
        writer.blob(*sha256, media_type, &bytes).map_err(io)?;
    }
    let mut out = writer.finish().map_err(io)?;
    out.flush().map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io)?;
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    Ok(RescueSummary {
        entries: entries.len() as u64,
        blobs: blobs.len() as u64,
        bytes,
        already_on_server,
        path: path.display().to_string(),
    })
}
