//! Photo and signature files, stored under their SHA-256 and made durable
//! (file fsynced, renamed into place, directory fsynced) before any record
//! that refers to them can commit.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use hearth_protocol::hash::{self, Digest};
use rusqlite::{OptionalExtension, params};

use crate::{BLOB_DIR, Store, StoreError};

/// A file the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: Digest,
    pub size: u64,
    pub media_type: String,
}

const TEMP_PREFIX: &str = ".partial-";

pub(crate) fn remove_stale_temporaries(dir: &Path) -> Result<(), StoreError> {
    // A crash between write and rename leaves a temporary; nothing refers to it.
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

impl Store {
    fn blob_dir(&self) -> PathBuf {
        self.dir.join(BLOB_DIR)
    }

    /// Where the file of `sha256` lives.
    pub fn blob_path(&self, sha256: &Digest) -> PathBuf {
        self.blob_dir().join(sha256.to_hex())
    }

    /// Stores `bytes` under their SHA-256. When this returns, the file and
    /// its row are durable, so a record may refer to it.
    pub fn put_blob(&self, bytes: &[u8], media_type: &str, now_ms: i64) -> Result<StoredBlob, StoreError> {
        if media_type.is_empty() {
            return Err(StoreError::Corrupt("a file needs a media type".into()));
        }
        let sha256 = hash::blob_id(bytes);
        let path = self.blob_path(&sha256);
        let on_disk = fs::metadata(&path).map(|m| m.len() == bytes.len() as u64).unwrap_or(false);
        if !on_disk {
            let dir = self.blob_dir();
            let temp = dir.join(format!("{TEMP_PREFIX}{}", sha256.to_hex()));
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, &path)?;
            sync_dir(&dir)?;
        }
        self.conn.execute(
            // A file removed after upload and stored again is back on disk.
            "INSERT INTO blob (sha256, size, media_type, stored_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO UPDATE SET removed_at_ms = NULL",
            params![sha256.to_hex(), bytes.len() as i64, media_type, now_ms],
        )?;
        Ok(StoredBlob { sha256, size: bytes.len() as u64, media_type: media_type.to_owned() })
    }

    /// The bytes of a stored file, checked against their hash.
    pub fn read_blob(&self, sha256: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        let known: Option<Option<i64>> = self
            .conn
            .query_row("SELECT removed_at_ms FROM blob WHERE sha256 = ?1", [sha256.to_hex()], |r| r.get(0))
            .optional()?;
        match known {
            None => return Ok(None),
            Some(Some(_)) => return Err(StoreError::BlobRemoved(sha256.to_hex())),
            Some(None) => {}
        }
        let bytes = fs::read(self.blob_path(sha256))?;
        if hash::blob_id(&bytes) != *sha256 {
            return Err(StoreError::Corrupt(format!("file {sha256} does not match its hash")));
        }
        Ok(Some(bytes))
    }
}
