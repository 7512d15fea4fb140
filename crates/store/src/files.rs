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

/// An ingested photo to store: the JPEG, its thumbnail and what is known of it.
#[derive(Debug, Clone, Copy)]
pub struct NewPhoto<'a> {
    pub jpeg: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub thumbnail: &'a [u8],
    /// From the original's EXIF, when it said; absent otherwise.
    pub captured_at_ms: Option<i64>,
}

/// A photo the store holds (image/jpeg).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    pub sha256: Digest,
    pub size: u64,
    pub width: u32,
    pub height: u32,
    pub thumbnail_sha256: Digest,
    pub captured_at_ms: Option<i64>,
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

    /// Writes `bytes` under their SHA-256 (file fsynced, renamed into
    /// place, directory fsynced), unless the file is already there.
    fn write_file(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
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
        Ok(sha256)
    }

    /// Stores `bytes` under their SHA-256. When this returns, the file and
    /// its row are durable, so a record may refer to it.
    pub fn put_blob(&self, bytes: &[u8], media_type: &str, now_ms: i64) -> Result<StoredBlob, StoreError> {
        if media_type.is_empty() {
            return Err(StoreError::Corrupt("a file needs a media type".into()));
        }
        let sha256 = self.write_file(bytes)?;
        self.conn.execute(
            // A file removed after upload and stored again is back on disk.
            "INSERT INTO blob (sha256, size, media_type, stored_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO UPDATE SET removed_at_ms = NULL",
            params![sha256.to_hex(), bytes.len() as i64, media_type, now_ms],
        )?;
        Ok(StoredBlob { sha256, size: bytes.len() as u64, media_type: media_type.to_owned() })
    }

    /// Stores an ingested photo: the JPEG as a blob (to be uploaded), its
    /// thumbnail as a file that stays on the tablet, and what is known of
    /// it. Both files are durable before the rows, and the rows go in one
    /// transaction, so a photo is never without its thumbnail.
    pub fn put_photo(&mut self, photo: NewPhoto<'_>, now_ms: i64) -> Result<StoredPhoto, StoreError> {
        let sha256 = self.write_file(photo.jpeg)?;
        let thumbnail_sha256 = self.write_file(photo.thumbnail)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO blob (sha256, size, media_type, stored_at_ms) VALUES (?1, ?2, 'image/jpeg', ?3)
             ON CONFLICT (sha256) DO UPDATE SET removed_at_ms = NULL",
            params![sha256.to_hex(), photo.jpeg.len() as i64, now_ms],
        )?;
        tx.execute(
            // The same picture taken again keeps the capture time first stored.
            "INSERT INTO photo (sha256, width, height, thumbnail_sha256, thumbnail_size, captured_at_ms, stored_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sha256) DO NOTHING",
            params![
                sha256.to_hex(),
                photo.width,
                photo.height,
                thumbnail_sha256.to_hex(),
                photo.thumbnail.len() as i64,
                photo.captured_at_ms,
                now_ms
            ],
        )?;
        tx.commit()?;
        self.photo(&sha256)?.ok_or_else(|| StoreError::MissingBlob(sha256.to_hex()))
    }

    /// What the store knows of a photo it ingested.
    pub fn photo(&self, sha256: &Digest) -> Result<Option<StoredPhoto>, StoreError> {
        let row: Option<(i64, u32, u32, String, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT b.size, p.width, p.height, p.thumbnail_sha256, p.captured_at_ms
                 FROM photo p JOIN blob b ON b.sha256 = p.sha256 WHERE p.sha256 = ?1",
                [sha256.to_hex()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        row.map(|(size, width, height, thumb, captured_at_ms)| {
            Ok(StoredPhoto {
                sha256: *sha256,
                size: u64::try_from(size).unwrap_or(0),
                width,
                height,
                thumbnail_sha256: thumb
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("photo {sha256} has a bad thumbnail hash")))?,
                captured_at_ms,
            })
        })
        .transpose()
    }

    /// A photo's thumbnail JPEG, checked against its hash; it stays on the
    /// tablet after the photo itself was removed.
    pub fn photo_thumbnail(&self, sha256: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(photo) = self.photo(sha256)? else { return Ok(None) };
        let bytes = fs::read(self.blob_path(&photo.thumbnail_sha256))?;
        if hash::blob_id(&bytes) != photo.thumbnail_sha256 {
            return Err(StoreError::Corrupt(format!("the thumbnail of {sha256} does not match its hash")));
        }
        Ok(Some(bytes))
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
