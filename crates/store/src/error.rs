use hearth_protocol::{CanonicalError, ContentError, SignError};

use crate::vault::VaultError;

/// Everything the tablet's storage can refuse. `code()` is what crosses to the UI.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("this tablet is not enrolled yet: records are sealed only after enrolment")]
    NotEnrolled,
    #[error("this tablet is already enrolled as {0}")]
    AlreadyEnrolled(String),
    #[error(
        "the database was written by a newer version of Hearth ({version} migrations, this one knows {known})"
    )]
    NewerDatabase { version: usize, known: usize },
    #[error("migration {name} failed: {cause}")]
    Migration { name: &'static str, cause: String },
    #[error("record content is not acceptable: {0}")]
    Content(#[from] ContentError),
    #[error("draft data is not acceptable: {0}")]
    Draft(CanonicalError),
    #[error("draft data is {size} bytes; the limit is {limit}")]
    DraftTooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("record {0} is already sealed")]
    RecordIdTaken(String),
    #[error("attachment {0} is not stored on this tablet")]
    MissingBlob(String),
    #[error("draft {0} does not exist")]
    DraftNotFound(String),
    #[error("the receipt does not match the sealed entry at seq {seq}")]
    ReceiptMismatch { seq: u64 },
    #[error("the receipt's signature does not verify against the server key")]
    BadReceiptSignature,
    #[error("the chain is broken at seq {seq}: {problem}")]
    ChainBroken { seq: u64, problem: String },
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    #[error("file {0} was removed from this tablet after the server received it")]
    BlobRemoved(String),
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotEnrolled => "not_enrolled",
            Self::AlreadyEnrolled(_) => "already_enrolled",
            Self::NewerDatabase { .. } => "newer_database",
            Self::Migration { .. } => "migration_failed",
            Self::Content(e) => e.code(),
            Self::Draft(e) => e.code(),
            Self::DraftTooLarge { .. } => "content_too_large",
            Self::Sign(e) => e.code(),
            Self::RecordIdTaken(_) => "record_id_taken",
            Self::MissingBlob(_) => "missing_blob",
            Self::DraftNotFound(_) => "draft_not_found",
            Self::ReceiptMismatch { .. } => "receipt_mismatch",
            Self::BadReceiptSignature => "bad_receipt_signature",
            Self::ChainBroken { .. } => "chain_broken",
            Self::Vault(e) => e.code(),
            Self::Sqlite(_) => "storage",
            Self::Io(_) => "io",
            Self::BlobRemoved(_) => "blob_removed",
            Self::Corrupt(_) => "corrupt",
        }
    }
}
