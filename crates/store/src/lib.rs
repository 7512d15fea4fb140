//! hearth-store — the tablet's storage: one SQLite file (WAL,
//! `synchronous=FULL`, foreign keys) holding drafts, the sealed chain, the
//! outbox, receipts and the server-derived tables; photo and signature files
//! stored under their SHA-256; and the key vault.
//!
//! It never talks to the network, never runs async, and never knows Tauri.
//! When `seal` returns Ok, the record survives a crash or power loss.
#![forbid(unsafe_code)]

mod chain;
mod drafts;
mod error;
mod feed;
mod files;
pub mod migrate;
mod records;
mod sync;
pub mod vault;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

pub use chain::{ChainReport, OutboxItem, ReceiptOutcome, StoredReceipt};
pub use drafts::Draft;
pub use error::StoreError;
pub use files::{NewPhoto, StoredBlob, StoredPhoto};
pub use records::{ChainRecord, ServerTimes};
pub use sync::{Lane, LaneRecord, PendingBlob, ServerClock, ServerLink, SyncCounts};
pub use vault::{DeviceIdentity, EnrolledTechnician, Pin, UnlockedTechnician, VaultError};

/// The database file inside a store directory.
pub const DATABASE_FILE: &str = "hearth.db";
/// The device key file inside a store directory (kept out of the database on purpose).
pub const DEVICE_KEY_FILE: &str = "device.key";
/// Where blobs live inside a store directory.
pub const BLOB_DIR: &str = "blobs";

/// The tablet's store: a directory with the database, the blobs and the device key.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    identity: DeviceIdentity,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, with this tablet's device key.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let identity = DeviceIdentity::load_or_create(&dir.join(DEVICE_KEY_FILE))?;
        Self::open_with_identity(dir, identity)
    }

    /// Opens with a given identity (fixtures, golden vectors).
    pub fn open_with_identity(dir: &Path, identity: DeviceIdentity) -> Result<Self, StoreError> {
        Self::open_with_migrations(dir, identity, migrate::MIGRATIONS)
    }

    /// Opens applying only `set` — how the upgrade test builds an older database.
    #[doc(hidden)]
    pub fn open_with_migrations(
        dir: &Path,
        identity: DeviceIdentity,
        set: &[migrate::Migration],
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir.join(BLOB_DIR))?;
        let mut conn = Connection::open(dir.join(DATABASE_FILE))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL + FULL: a commit is on disk (WAL fsynced) before COMMIT returns.
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!("journal_mode is {mode}, not wal")));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        migrate::apply(&mut conn, set)?;
        files::remove_stale_temporaries(&dir.join(BLOB_DIR))?;
        Ok(Self { conn, dir: dir.to_path_buf(), identity })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// Read-only access for queries and tests; writes go through the methods here.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The server-assigned device id, once enrolled.
    pub fn device_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT device_id FROM device_state WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    /// Records the device id the server gave at enrolment. Idempotent for the same id.
    pub fn set_device_id(&mut self, device_id: &str, now_ms: i64) -> Result<(), StoreError> {
        match self.device_id()? {
            Some(existing) if existing == device_id => Ok(()),
            Some(existing) => Err(StoreError::AlreadyEnrolled(existing)),
            None => {
                self.conn.execute(
                    "INSERT INTO device_state (id, device_id, enrolled_at_ms) VALUES (1, ?1, ?2)",
                    (device_id, now_ms),
                )?;
                Ok(())
            }
        }
    }

    /// Generates and wraps a technician key under their PIN.
    pub fn enrol_technician(&self, tech_id: &str, pin: &Pin) -> Result<EnrolledTechnician, StoreError> {
        Ok(vault::enrol_technician(&self.conn, &self.identity, tech_id, pin)?)
    }

    /// Wraps a given technician key under their PIN: the key the server has
    /// just bound, so that a refused enrolment leaves nothing on the tablet.
    pub fn enrol_technician_with_key(
        &self,
        tech_id: &str,
        pin: &Pin,
        key: hearth_protocol::SigningKey,
    ) -> Result<EnrolledTechnician, StoreError> {
        Ok(vault::enrol_technician_with_key(&self.conn, &self.identity, tech_id, pin, key)?)
    }

    /// When the office revoked the key `kid` on this tablet, if it did.
    pub fn technician_key_revoked_at_ms(&self, kid: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT revoked_at_ms FROM technician_key WHERE kid = ?1", [kid], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Unwraps a technician's key; counts wrong PINs and destroys the key after too many.
    pub fn unlock(&self, tech_id: &str, pin: &Pin) -> Result<UnlockedTechnician, StoreError> {
        Ok(vault::unlock(&self.conn, &self.identity, tech_id, pin)?)
    }
}
