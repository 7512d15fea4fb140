//! Request and response bodies of the HTTP API (§5), shared by server and tablet.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::Digest;
use crate::record::{Envelope, Receipt};

/// Most entries in one `POST /devices/{id}/entries`.
pub const MAX_BATCH_ENTRIES: usize = 200;
/// Largest request body of one batch.
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// Every error at the HTTP boundary: `{"error": code, "message": text}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerKey {
    pub kid: String,
    /// Raw 32 bytes, base64url.
    pub public_key: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollDeviceRequest {
    pub code: String,
    /// Raw 32-byte Ed25519 public key, base64url.
    pub pubkey: String,
    pub name: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollDeviceResponse {
    pub device_id: String,
    pub token: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollTechnicianRequest {
    pub code: String,
    pub tech_id: String,
    pub pubkey: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollTechnicianResponse {
    pub kid: String,
}

// One-time codes and tokens are secrets: never in Debug output or logs.
macro_rules! redacted_debug {
    ($t:ty, $name:literal, $($shown:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)$(.field(stringify!($shown), &self.$shown))*.finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(EnrollDeviceRequest, "EnrollDeviceRequest", name);
redacted_debug!(EnrollDeviceResponse, "EnrollDeviceResponse", device_id);
redacted_debug!(EnrollTechnicianRequest, "EnrollTechnicianRequest", tech_id);

/// `GET /devices/{id}/head`: the longest contiguous prefix the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Head {
    pub seq: u64,
    /// Absent when `seq` is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_hash: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntriesRequest {
    pub entries: Vec<Envelope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Accepted,
    Duplicate,
    Conflict,
    Gap,
    Rejected,
    NotProcessed,
}

/// Why a `conflict` was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    Fork,
    RecordIdReuse,
    BrokenChain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryResult {
    pub seq: u64,
    pub status: EntryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_sig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntriesResponse {
    pub results: Vec<EntryResult>,
    pub server_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptWithSig {
    pub receipt: Receipt,
    pub receipt_sig: String,
}

/// `GET /devices/{id}/receipts?from_seq=N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptsResponse {
    pub receipts: Vec<ReceiptWithSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobsMissingRequest {
    pub sha256: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobsMissingResponse {
    pub missing: Vec<Digest>,
}

/// What a feed item carries (§7): full snapshots, each with a monotonic `rev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    WorkOrder,
    WorkOrderRemoved,
    Technician,
    Thermometer,
    RuleSet,
    KeyRevocation,
    ReviewStatus,
    /// The asking tablet itself was revoked (`{device_id, effective_at_ms}`):
    /// the only item a revoked tablet's feed carries.
    DeviceRevocation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedItem {
    pub feed_seq: u64,
    pub kind: FeedKind,
    /// The id of the thing this snapshot describes (work order id, tech id, serial…).
    pub id: String,
    pub rev: u64,
    /// The full snapshot; absent for removals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub body: Option<Value>,
}

/// `GET /devices/{id}/feed?cursor=C&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Opaque; pass it back to continue.
    pub cursor: String,
    pub has_more: bool,
}

/// `GET /records/{record_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordResponse {
    pub envelope: Envelope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_sig: Option<String>,
}
