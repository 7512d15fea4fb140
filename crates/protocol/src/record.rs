//! The record layers of protocol §3: content `C`, technician signatures `S`,
//! chain entry `E`, wire envelope and server receipt `R`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hash::Digest;

/// A content object is at most 64 KiB canonical.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
/// A whole envelope is at most 96 KiB.
pub const MAX_ENVELOPE_BYTES: usize = 96 * 1024;
/// The only protocol version.
pub const PROTOCOL_VERSION: u32 = 1;

/// Who signs a record, and in which capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    Performer,
    Witness,
    Supervisor,
}

impl SignerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Performer => "performer",
            Self::Witness => "witness",
            Self::Supervisor => "supervisor",
        }
    }
}

/// The device's claims about when a record was made (protocol §8: claims, never trusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Created {
    pub device_time_ms: i64,
    pub tz_offset_min: i32,
    pub boot_id: String,
    pub monotonic_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_server_time_ms: Option<i64>,
}

/// One required signer of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub role: SignerRole,
    pub tech_id: String,
    pub kid: String,
}

/// The record this one corrects; both stay (sealed means immutable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Supersedes {
    pub record_id: String,
    pub content_hash: Digest,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentRole {
    Photo,
    CustomerSignaturePng,
    CustomerSignatureStrokes,
    PresentedSummary,
}

/// A file the record refers to by its SHA-256; the bytes travel in the blob lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub sha256: Digest,
    pub size: u64,
    pub media_type: String,
    pub role: AttachmentRole,
    /// For a photo: when it was taken, as the original file's EXIF said
    /// (device local time read with its stated or the tablet's offset). The
    /// stored file carries no metadata, so the record keeps the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at_ms: Option<i64>,
}

/// Another record this one binds (a report binds its readings, a sign-off what was accepted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    pub record_id: String,
    pub content_hash: Digest,
}

/// Content `C`: what people attest to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Content {
    pub schema: String,
    pub record_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_order_id: Option<String>,
    pub created: Created,
    #[serde(default)]
    pub signers: Vec<Signer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Supersedes>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub refs: Vec<RecordRef>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Map<String, Value>,
}

/// A sealed record as its holder keeps it: the content people attest to and
/// the hash their signatures cover. The tablet's chain and the server's store
/// each hold records their own way; what is built from sealed records on both
/// sides (the customer's copy, a visit replayed) reads them through this.
pub trait Sealed {
    fn content(&self) -> &Content;
    fn content_hash(&self) -> Digest;
}

/// One technician signature `S`: `sig` is base64url of the Ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TechSignature {
    pub role: SignerRole,
    pub tech_id: String,
    pub kid: String,
    pub sig: String,
}

/// Chain entry `E`: what the device appends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub v: u32,
    pub device_id: String,
    pub seq: u64,
    pub prev: Digest,
    pub content_hash: Digest,
    pub sigs_hash: Digest,
    pub sealed_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_receipt_seq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceSignature {
    pub kid: String,
    pub sig: String,
}

/// The wire envelope (§3.4): the exact signed bytes, base64url, plus signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub entry: String,
    pub content: String,
    pub tech_sigs: Vec<TechSignature>,
    pub device_sig: DeviceSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Valid,
    NeedsReview,
}

/// Server receipt `R` (§3.5), signed over its canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub v: u32,
    pub server_seq: u64,
    pub device_id: String,
    pub seq: u64,
    pub record_id: String,
    pub entry_hash: Digest,
    pub received_at_ms: i64,
    pub status: ReceiptStatus,
}
