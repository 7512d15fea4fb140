//! One narrow storage trait for both backends (SQLite, the embedded default,
//! and PostgreSQL). Methods are shaped by the use cases; the protocol's and
//! the office's logic stays outside, in `ingest`, `feed` and `office`.
//!
//! Both implementations must pass the same scenario suite
//! (`tests/storage.rs` runs it on each).

use async_trait::async_trait;
use hearth_protocol::{Envelope, Receipt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod postgres;
pub mod record_search;
pub mod sqlite;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique key is taken: (device, seq), record_id, id.
    #[error("already exists: {0}")]
    Exists(String),
    /// A snapshot changed since the caller read it (optimistic concurrency).
    #[error("changed by someone else (now at rev {current})")]
    StaleRevision { current: u64 },
    /// A one-time code that is unknown, used, expired, or of another kind.
    #[error("the one-time code is unknown, expired or already used")]
    CodeRejected,
    #[error("database: {0}")]
    Backend(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What a one-time enrolment code enrols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CodePurpose {
    Device,
    Technician { tech_id: String },
}

#[derive(Clone, PartialEq, Eq)]
pub struct NewEnrolCode {
    /// SHA-256 hex of the code; the code itself is never stored.
    pub code_hash: String,
    pub purpose: CodePurpose,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for NewEnrolCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEnrolCode").field("purpose", &self.purpose).finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub device_id: String,
    pub name: String,
    /// Raw 32-byte Ed25519 public key.
    pub public_key: [u8; 32],
    pub kid: String,
    /// SHA-256 hex of the bearer token.
    pub token_hash: String,
}

impl std::fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDevice")
            .field("device_id", &self.device_id)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: String,
    pub name: String,
    pub public_key: [u8; 32],
    pub kid: String,
    pub enrolled_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechnicianKeyRow {
    pub kid: String,
    pub tech_id: String,
    pub device_id: String,
    pub public_key: [u8; 32],
    pub bound_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// Everything the verifier needs for one device: its key and the
/// technician keys bound to it, revoked ones included (with their time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKeys {
    pub device: DeviceRow,
    pub technicians: Vec<TechnicianKeyRow>,
}

/// Kinds of server-side snapshot that the feed carries (protocol §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    WorkOrder,
    Technician,
    Thermometer,
    RuleSet,
    KeyRevocation,
    ReviewStatus,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkOrder => "work_order",
            Self::Technician => "technician",
            Self::Thermometer => "thermometer",
            Self::RuleSet => "rule_set",
            Self::KeyRevocation => "key_revocation",
            Self::ReviewStatus => "review_status",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::WorkOrder,
            Self::Technician,
            Self::Thermometer,
            Self::RuleSet,
            Self::KeyRevocation,
            Self::ReviewStatus,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Who a snapshot is for: every device, the devices of some technicians
/// (a work order's assignees), or one device (its records' review status).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub technicians: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// The current state of one thing, with a revision that only grows.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub kind: SnapshotKind,
    pub id: String,
    pub rev: u64,
    pub body: Value,
    pub scope: Scope,
    pub updated_at_ms: i64,
}

/// A snapshot to write. `expected_rev`: `Some(r)` fails with
/// `StaleRevision` unless the stored rev is `r` (0 = must not exist yet).
#[derive(Debug, Clone, PartialEq)]
pub struct PutSnapshot {
    pub kind: SnapshotKind,
    pub id: String,
    pub body: Value,
    pub scope: Scope,
    pub expected_rev: Option<u64>,
    pub now_ms: i64,
}

/// One row of the feed log: the latest snapshot of a thing, at a `feed_seq`
/// allocated so that no reader can skip a row that commits late.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub feed_seq: u64,
    pub snapshot: Snapshot,
}

/// A verified entry to append, with everything the receipt needs except
/// `server_seq`, which the storage allocates inside its transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub device_id: String,
    pub seq: u64,
    pub record_id: String,
    pub entry_hash: String,
    pub content_hash: String,
    pub schema: String,
    pub work_order_id: Option<String>,
    pub envelope: Envelope,
    pub received_at_ms: i64,
    /// Device's claims (§8), kept for bracketing later entries.
    pub boot_id: String,
    pub device_time_ms: i64,
    pub monotonic_ms: i64,
    pub status: hearth_protocol::ReceiptStatus,
    pub flags: Vec<String>,
}

impl NewEntry {
    /// Its receipt at `server_seq`, signed inside the storing transaction; a
    /// receipt that cannot be signed fails the transaction.
    pub fn signed_receipt(&self, server_seq: u64, sign: &ReceiptSigner) -> StorageResult<(Receipt, String)> {
        let receipt = Receipt {
            v: 1,
            server_seq,
            device_id: self.device_id.clone(),
            seq: self.seq,
            record_id: self.record_id.clone(),
            entry_hash: self.entry_hash.parse().map_err(|_| {
                StorageError::Backend(format!("entry hash {} is not a digest", self.entry_hash))
            })?,
            received_at_ms: self.received_at_ms,
            status: self.status,
        };
        let sig = sign(&receipt).map_err(|e| StorageError::Backend(format!("receipt not signed: {e}")))?;
        Ok((receipt, sig))
    }

    /// The entry as stored, once its receipt is signed.
    pub fn stored(self, receipt: Receipt, receipt_sig: String) -> StoredEntry {
        StoredEntry {
            device_id: self.device_id,
            seq: self.seq,
            record_id: self.record_id,
            entry_hash: self.entry_hash,
            content_hash: self.content_hash,
            schema: self.schema,
            work_order_id: self.work_order_id,
            envelope: self.envelope,
            receipt,
            receipt_sig,
            flags: self.flags,
            boot_id: self.boot_id,
            device_time_ms: self.device_time_ms,
            monotonic_ms: self.monotonic_ms,
        }
    }
}

/// An entry as stored, with its signed receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub device_id: String,
    pub seq: u64,
    pub record_id: String,
    pub entry_hash: String,
    pub content_hash: String,
    pub schema: String,
    pub work_order_id: Option<String>,
    pub envelope: Envelope,
    pub receipt: Receipt,
    pub receipt_sig: String,
    pub flags: Vec<String>,
    pub boot_id: String,
    pub device_time_ms: i64,
    pub monotonic_ms: i64,
}

/// Evidence of a conflict (fork, record_id reuse, broken chain), kept forever.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConflict {
    pub device_id: String,
    pub seq: u64,
    pub kind: String,
    pub envelope: Envelope,
    pub received_at_ms: i64,
}

/// One stored version of the company's rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSetVersionRow {
    pub version: u64,
    pub effective_at_ms: i64,
    pub body: Value,
    pub set_by: String,
}

/// What a reviewer decided about a flagged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    /// The evidence is sound despite its flags: it counts.
    Accept,
    /// The evidence does not count.
    Reject,
}

impl ReviewVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Accept, Self::Reject].into_iter().find(|v| v.as_str() == text)
    }
}

/// One reviewer's decision on one record, attributed and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewDecision {
    pub record_id: String,
    pub decision: ReviewVerdict,
    pub note: String,
    /// The operator who decided.
    pub operator: String,
    pub decided_at_ms: i64,
}

/// Signs a receipt once its `server_seq` is known (inside the transaction).
/// A receipt that cannot be signed is an error: the transaction rolls back
/// and no receipt exists (never one with an empty signature).
pub type ReceiptSigner = std::sync::Arc<dyn Fn(&Receipt) -> Result<String, String> + Send + Sync>;

/// Everything one pushed batch writes, committed in one transaction: the
/// entries, the conflict evidence found while checking them, the review
/// status each flagged entry publishes to its device, and the orders its
/// technicians opened on site. A crash leaves all of it or none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchWrite {
    pub entries: Vec<NewEntry>,
    pub conflicts: Vec<NewConflict>,
    /// Written as `put_snapshot` writes them (`expected_rev` must be `None`).
    pub snapshots: Vec<PutSnapshot>,
    /// Written only where no snapshot of that kind and id exists yet; an
    /// existing one is left exactly as it is.
    pub new_snapshots: Vec<PutSnapshot>,
    /// `(device_id, sha256)`: the blobs the entries' attachments name.
    pub blob_refs: Vec<(String, String)>,
}

/// An operator's account (`admin operator-add`): only the Argon2id PHC
/// string of the password is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorAccount {
    pub username: String,
    /// The display name.
    pub name: String,
    pub password_hash: String,
    /// Role names (`office::access::Role::as_str`).
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl std::fmt::Debug for OperatorAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorAccount")
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A logged-in operator's session: only hashes of its secrets are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    /// SHA-256 hex of the cookie's secret.
    pub session_hash: String,
    pub username: String,
    /// SHA-256 hex of the CSRF token.
    pub csrf_hash: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    /// The absolute end, whatever the activity.
    pub expires_at_ms: i64,
}

/// One line of the office audit log (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Assigned by the database; 0 when appending.
    pub id: i64,
    pub at_ms: i64,
    /// The account's username, or the operator token's name.
    pub actor: String,
    /// The role the action was allowed by (`token` for an operator token, empty when refused before one was known).
    pub role: String,
    pub method: String,
    pub path: String,
    /// The id the path names (work order, record…), empty if none.
    pub target: String,
    /// The HTTP status answered.
    pub status: u16,
    /// What the action changed, as read just before it (`office::audit`);
    /// absent for a creation, a refusal, or an action on nothing with a state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The same, read just after a successful answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// A stored audit state back from its JSON text. The server wrote it, so
/// text that does not parse is kept as a string rather than dropped.
pub(crate) fn audit_state(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The server's signing-key seed: `fresh` is stored if none is, and the
    /// stored one is returned either way.
    async fn server_secret(&self, fresh: [u8; 32]) -> StorageResult<[u8; 32]>;
    /// The signing-key seed an older database holds, if any (it now lives in
    /// a key file of its own, `server_key`); nothing is created.
    async fn stored_server_secret(&self) -> StorageResult<Option<[u8; 32]>>;
    /// An id fixed at database creation; a restored or different database
    /// has another, which resets tablets' feed cursors.
    async fn database_epoch(&self, fresh: String) -> StorageResult<String>;

    /// An operator token for scripts, attributed to "operator".
    async fn add_operator_token(&self, token_hash: &str, now_ms: i64) -> StorageResult<()> {
        self.add_named_operator_token(token_hash, "operator", now_ms).await
    }
    /// An operator token whose actions are attributed to `name`.
    async fn add_named_operator_token(&self, token_hash: &str, name: &str, now_ms: i64) -> StorageResult<()>;
    async fn operator_token_exists(&self, token_hash: &str) -> StorageResult<bool> {
        Ok(self.operator_name(token_hash).await?.is_some())
    }
    /// Who holds the operator token, `None` when it is unknown.
    async fn operator_name(&self, token_hash: &str) -> StorageResult<Option<String>>;

    async fn add_enrol_code(&self, code: NewEnrolCode) -> StorageResult<()>;
    /// Consumes a device code and stores the device, atomically.
    async fn enrol_device(&self, code_hash: &str, device: NewDevice, now_ms: i64) -> StorageResult<()>;
    async fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<DeviceRow>>;
    /// Consumes a technician code (which must name `key.tech_id`) and binds the key.
    async fn enrol_technician_key(
        &self,
        code_hash: &str,
        key: TechnicianKeyRow,
        now_ms: i64,
    ) -> StorageResult<()>;
    async fn device_keys(&self, device_id: &str) -> StorageResult<Option<DeviceKeys>>;
    /// Any technician key by kid, whichever device it is bound to.
    async fn technician_key(&self, kid: &str) -> StorageResult<Option<TechnicianKeyRow>>;
    /// Returns false when there is no such device.
    async fn revoke_device(&self, device_id: &str, effective_at_ms: i64) -> StorageResult<bool>;
    /// Returns the revoked key, None when there is no such key.
    async fn revoke_technician_key(
        &self,
        kid: &str,
        effective_at_ms: i64,
    ) -> StorageResult<Option<TechnicianKeyRow>>;

    /// Writes a snapshot, bumps its rev and appends it to the feed, in one transaction.
    async fn put_snapshot(&self, put: PutSnapshot) -> StorageResult<Snapshot>;
    async fn snapshot(&self, kind: SnapshotKind, id: &str) -> StorageResult<Option<Snapshot>>;
    async fn snapshots(&self, kind: SnapshotKind) -> StorageResult<Vec<Snapshot>>;
    /// Feed rows with `feed_seq > after`, in order, at most `limit`.
    async fn feed_after(&self, after: u64, limit: usize) -> StorageResult<Vec<FeedRow>>;

    /// `(seq, entry_hash)` of the device's last entry; `(0, None)` if none.
    async fn head(&self, device_id: &str) -> StorageResult<(u64, Option<String>)>;
    async fn entry_at(&self, device_id: &str, seq: u64) -> StorageResult<Option<StoredEntry>>;
    async fn entry_by_record_id(&self, record_id: &str) -> StorageResult<Option<StoredEntry>>;
    /// Allocates `server_seq`, signs the receipt and inserts, in one
    /// transaction. `Exists` when (device, seq) or the record_id is taken.
    async fn append_entry(&self, entry: NewEntry, sign: ReceiptSigner) -> StorageResult<StoredEntry>;
    /// Appends a batch and its side effects in one transaction: one commit
    /// for all of it, so the server answers a batch after a single durable
    /// write. Returns the stored entries in order.
    async fn append_batch(&self, batch: BatchWrite, sign: ReceiptSigner) -> StorageResult<Vec<StoredEntry>>;
    async fn record_conflict(&self, conflict: NewConflict) -> StorageResult<()>;
    async fn conflicts(&self, device_id: &str) -> StorageResult<Vec<NewConflict>>;
    /// Entries of a device from `from_seq` on, in seq order, at most `limit`.
    async fn entries_from(
        &self,
        device_id: &str,
        from_seq: u64,
        limit: usize,
    ) -> StorageResult<Vec<StoredEntry>>;
    /// When the server received the entry whose receipt has `server_seq` (for §8 brackets).
    async fn received_at_of_server_seq(&self, device_id: &str, server_seq: u64)
    -> StorageResult<Option<i64>>;
    /// The device's latest entry made under `boot_id` (for clocks running backwards).
    async fn last_entry_of_boot(&self, device_id: &str, boot_id: &str) -> StorageResult<Option<StoredEntry>>;
    async fn entries_for_work_order(&self, work_order_id: &str) -> StorageResult<Vec<StoredEntry>>;
    /// Appends a reviewer's decision on a record (append-only).
    async fn add_review_decision(&self, decision: ReviewDecision) -> StorageResult<()>;
    /// Which of `sha256s` the records of `device_id` name as attachments.
    async fn blobs_named_by(&self, device_id: &str, sha256s: &[String]) -> StorageResult<Vec<String>>;
    /// Appends a rule-set version (the next number) effective from
    /// `effective_at_ms`, attributed to `set_by`; returns its number.
    async fn add_rule_set_version(
        &self,
        body: Value,
        effective_at_ms: i64,
        set_by: &str,
    ) -> StorageResult<u64>;
    /// Every rule-set version, oldest first.
    async fn rule_set_versions(&self) -> StorageResult<Vec<RuleSetVersionRow>>;
    /// Every decision on a record, oldest first; the last one is in force.
    async fn review_decisions(&self, record_id: &str) -> StorageResult<Vec<ReviewDecision>>;
    /// Adds an account; `Exists` when the username is taken.
    async fn add_operator_account(&self, account: OperatorAccount) -> StorageResult<()>;
    async fn operator_account(&self, username: &str) -> StorageResult<Option<OperatorAccount>>;
    /// Disables (or enables) an account and, when disabling, ends its
    /// sessions; false when there is no such account.
    async fn set_operator_disabled(&self, username: &str, disabled: bool) -> StorageResult<bool>;
    async fn add_operator_session(&self, session: OperatorSession) -> StorageResult<()>;
    async fn operator_session(&self, session_hash: &str) -> StorageResult<Option<OperatorSession>>;
    async fn touch_operator_session(&self, session_hash: &str, last_seen_ms: i64) -> StorageResult<()>;
    async fn delete_operator_session(&self, session_hash: &str) -> StorageResult<()>;
    /// Appends to the office audit log (the `id` given is ignored).
    async fn append_audit(&self, entry: AuditEntry) -> StorageResult<()>;
    /// Audit lines with `id > after`, oldest first, at most `limit`.
    async fn audit_after(&self, after: i64, limit: usize) -> StorageResult<Vec<AuditEntry>>;
    /// Number of entries stored (all devices).
    async fn entry_count(&self) -> StorageResult<u64>;

    // Administration (office::setup).
    /// Every enrolled tablet with its technician keys, by enrolment time.
    async fn all_device_keys(&self) -> StorageResult<Vec<DeviceKeys>>;
    /// `(device_id, received_at_ms)` of each tablet's latest record.
    async fn last_received_by_device(&self) -> StorageResult<Vec<(String, i64)>>;
    /// Every operator account, by username.
    async fn operator_accounts(&self) -> StorageResult<Vec<OperatorAccount>>;
    async fn add_revocation_note(&self, note: RevocationNote) -> StorageResult<()>;
    async fn revocation_notes(&self) -> StorageResult<Vec<RevocationNote>>;

    /// Records matching the office's search, newest first (`record_search`).
    async fn search_entries(&self, search: record_search::RecordSearch) -> StorageResult<Vec<StoredEntry>>;

    // The work-order board (migrations 0008_work_order_board, office::views).
    /// Board rows out of date (`gen > built_gen`): `(id, gen)`, at most `limit`.
    async fn board_stale(&self, limit: usize) -> StorageResult<Vec<(String, i64)>>;
    /// How many board rows are out of date.
    async fn board_stale_count(&self) -> StorageResult<u64>;
    /// The out-of-date rows among these ids: `(id, gen)`.
    async fn board_stale_among(&self, ids: &[String]) -> StorageResult<Vec<(String, i64)>>;
    /// Ids after `after` (in id order, at most `limit`) of rows never built
    /// whose address key is not known yet.
    async fn board_unaddressed(&self, after: &str, limit: usize) -> StorageResult<Vec<String>>;
    /// Sets the address key of rows that have none yet: `(id, address key)`.
    async fn board_set_addresses(&self, keys: Vec<(String, String)>) -> StorageResult<()>;
    /// Stores recomputed rows; each row's `built_gen` becomes the `gen` it was built from.
    async fn board_put(&self, rows: Vec<BoardRow>) -> StorageResult<()>;
    /// Ids of the orders at these address keys.
    async fn board_ids_at(&self, address_keys: &[String]) -> StorageResult<Vec<String>>;
    /// Sets the repeat flag of built rows.
    async fn board_set_repeat(&self, flags: Vec<(String, bool)>) -> StorageResult<()>;
    /// One page of the board: `(id, sort key)` in the board's order.
    async fn board_page(&self, query: &BoardQuery) -> StorageResult<Vec<(String, i64)>>;
    /// Snapshots of one kind with these ids (any order; missing ids skipped).
    async fn snapshots_of(&self, kind: SnapshotKind, ids: &[String]) -> StorageResult<Vec<Snapshot>>;
    /// The entries of these work orders, in server order.
    async fn entries_for_work_orders(&self, ids: &[String]) -> StorageResult<Vec<StoredEntry>>;
    /// `server_seq → (device_id, received_at_ms)` of these server sequence numbers.
    async fn received_at_of_server_seqs(
        &self,
        server_seqs: &[u64],
    ) -> StorageResult<std::collections::HashMap<u64, (String, i64)>>;
}

/// Who revoked a tablet (`subject_kind` "device") or a technician's key
/// ("technician_key") from the office, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationNote {
    pub subject_kind: String,
    pub subject: String,
    pub effective_at_ms: i64,
    pub recorded_at_ms: i64,
    pub recorded_by: String,
    pub reason: Option<String>,
}

/// No deadline left to meet: sorts last.
pub const BOARD_NO_DEADLINE: i64 = i64::MAX;

/// One work order as the board indexes it (see migrations 0008_work_order_board).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    pub id: String,
    /// The `gen` read by `board_stale` before computing the row.
    pub built_from_gen: i64,
    /// `None`: no snapshot, or a body that does not decode (never listed).
    pub status: Option<String>,
    pub category: Option<String>,
    pub technicians: Vec<String>,
    /// Lower-cased text `q` searches.
    pub search: String,
    pub address_key: String,
    pub received_at_ms: i64,
    pub due_ms: i64,
    pub late_due_ms: i64,
    pub switch_ms: Option<i64>,
    pub repeat: bool,
    pub another_visit: bool,
    pub opened_on_site: bool,
}

impl BoardRow {
    /// `' T1 T2 '`: the technician filter looks for `' T1 '`.
    pub fn technicians_column(&self) -> String {
        let mut out = String::from(" ");
        for t in &self.technicians {
            out.push_str(t);
            out.push(' ');
        }
        out
    }
}

/// A board query; every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardQuery {
    /// The server's now: which deadlines have passed and which late notices are due.
    pub now_ms: i64,
    pub status: Option<String>,
    pub category: Option<String>,
    pub technician: Option<String>,
    /// Lower-cased; matched as a substring of the row's `search`.
    pub q: Option<String>,
    pub repeat: bool,
    pub another_visit: bool,
    pub opened_on_site: bool,
    pub overdue: bool,
    /// Rows strictly after this `(sort key, id)`.
    pub after: Option<(i64, String)>,
    pub limit: Option<usize>,
}

/// A value bound to a board query's placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardParam {
    Int(i64),
    Text(String),
}

/// How a backend spells a board query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardDialect {
    Sqlite,
    Postgres,
}

/// The shortest query the trigram indexes can answer; shorter ones scan.
pub const TRIGRAM: usize = 3;

/// `q` as one FTS5 phrase: every character literal, `"` doubled.
pub fn fts5_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// `q` as a LIKE pattern matching it anywhere; `\`, `%` and `_` escaped with `\`.
pub fn like_anywhere(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl BoardQuery {
    /// The page's SQL for a backend. The sort key is the nearest deadline
    /// still to meet at `now_ms`, then the id. `q` is a substring of
    /// `search`: through the trigram index (migration 0010) when it is
    /// long enough, re-checked on SQLite with instr() so that the index
    /// only narrows what the scan would find.
    pub fn sql(&self, dialect: BoardDialect) -> (String, Vec<BoardParam>) {
        let ph = |n: usize| match dialect {
            BoardDialect::Sqlite => format!("?{n}"),
            BoardDialect::Postgres => format!("${n}"),
        };
        let contains = |column: &str, p: &str| match dialect {
            BoardDialect::Sqlite => format!("instr({column}, {p}) > 0"),
            BoardDialect::Postgres => format!("strpos({column}, {p}) > 0"),
        };
        let mut params = vec![BoardParam::Int(self.now_ms)];
        let key = format!(
            "CASE WHEN switch_ms IS NOT NULL AND switch_ms < {} THEN late_due_ms ELSE due_ms END",
            ph(1)
        );
        let mut inner = vec!["status IS NOT NULL".to_owned()];
        let bind = |params: &mut Vec<BoardParam>, value: BoardParam| {
            params.push(value);
            ph(params.len())
        };
        if let Some(s) = &self.status {
            inner.push(format!("status = {}", bind(&mut params, BoardParam::Text(s.clone()))));
        }
        if let Some(c) = &self.category {
            inner.push(format!("category = {}", bind(&mut params, BoardParam::Text(c.clone()))));
        }
        if let Some(t) = &self.technician {
            let p = bind(&mut params, BoardParam::Text(format!(" {t} ")));
            inner.push(contains("technicians", &p));
        }
        if let Some(q) = &self.q {
            let indexed = q.chars().count() >= TRIGRAM;
            match dialect {
                BoardDialect::Sqlite if indexed => {
                    let phrase = bind(&mut params, BoardParam::Text(fts5_phrase(q)));
                    inner.push(format!(
                        "seq IN (SELECT rowid FROM work_order_board_search WHERE work_order_board_search MATCH {phrase})"
                    ));
                }
                BoardDialect::Postgres if indexed => {
                    let pattern = bind(&mut params, BoardParam::Text(like_anywhere(q)));
                    inner.push(format!("search LIKE {pattern} ESCAPE '\\'"));
                }
                _ => {}
            }
            if !(indexed && dialect == BoardDialect::Postgres) {
                let p = bind(&mut params, BoardParam::Text(q.clone()));
                inner.push(contains("search", &p));
            }
        }
        for (on, column) in [
            (self.repeat, "is_repeat"),
            (self.another_visit, "another_visit"),
            (self.opened_on_site, "opened_on_site"),
        ] {
            if on {
                inner.push(format!("{column} = 1"));
            }
        }
        let mut outer = vec!["TRUE".to_owned()];
        if self.overdue {
            outer.push(format!("k < {}", ph(1)));
        }
        if let Some((k, id)) = &self.after {
            let pk = bind(&mut params, BoardParam::Int(*k));
            let pid = bind(&mut params, BoardParam::Text(id.clone()));
            outer.push(format!("(k > {pk} OR (k = {pk} AND id > {pid}))"));
        }
        let mut sql = format!(
            "SELECT id, k FROM (SELECT id, {key} AS k FROM work_order_board WHERE {}) b WHERE {} ORDER BY k, id",
            inner.join(" AND "),
            outer.join(" AND ")
        );
        if let Some(limit) = self.limit {
            let p = bind(&mut params, BoardParam::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
            sql.push_str(&format!(" LIMIT {p}"));
        }
        (sql, params)
    }
}
