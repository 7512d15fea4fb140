//! The ingest pipeline of protocol §6 with the per-entry results of §5.
//!
//! A batch is handled in three steps: every envelope is decoded and its
//! signatures verified in parallel (pure CPU); then, in order, each entry is
//! checked for idempotency, chain position and business rules against the
//! device's head (including entries earlier in the same batch); finally all
//! entries that passed are appended in one transaction, so the batch costs
//! one durable commit. Crypto and chain failures stop the batch (the rest is
//! `not_processed`); business rules never do — they flag the receipt
//! `needs_review`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use hearth_protocol::api::{ConflictReason, EntriesResponse, EntryResult, EntryStatus, MAX_BATCH_ENTRIES};
use hearth_protocol::hash::genesis_prev;
use hearth_protocol::verify::{
    DecodedEnvelope, SignatureReport, VerifyError, decode_envelope, verify_signatures,
};
use hearth_protocol::{
    Envelope, KeyDirectory, ReceiptStatus, TechnicianKey, VerifyingKey, b64, receipt, schema,
};

use crate::error::{ApiError, ApiResult};
use crate::rules::RuleContext;
use crate::state::AppState;
use crate::storage::{
    BatchWrite, DeviceKeys, NewConflict, NewEntry, PutSnapshot, ReceiptSigner, StorageError, StoredEntry,
};

/// The verifier's view of one device's keys (plus any foreign kid the batch
/// names, so a key of another tablet is reported as such), decompressed once
/// per batch. Revoked keys stay: their signatures still verify, and the rules
/// flag entries made after.
#[derive(Clone)]
pub(crate) struct Directory(Arc<ParsedKeys>);

struct ParsedKeys {
    device_id: String,
    device: Option<VerifyingKey>,
    technicians: HashMap<String, TechnicianKey>,
}

impl Directory {
    fn new(keys: &DeviceKeys) -> Self {
        let technicians = keys
            .technicians
            .iter()
            .filter_map(|row| {
                let public_key = VerifyingKey::from_bytes(&row.public_key).ok()?;
                Some((
                    row.kid.clone(),
                    TechnicianKey {
                        tech_id: row.tech_id.clone(),
                        device_id: row.device_id.clone(),
                        public_key,
                    },
                ))
            })
            .collect();
        Self(Arc::new(ParsedKeys {
            device_id: keys.device.device_id.clone(),
            device: VerifyingKey::from_bytes(&keys.device.public_key).ok(),
            technicians,
        }))
    }
}

impl KeyDirectory for Directory {
    fn device_key(&self, device_id: &str) -> Option<VerifyingKey> {
        (self.0.device_id == device_id).then_some(self.0.device).flatten()
    }
    fn technician_key(&self, kid: &str) -> Option<TechnicianKey> {
        self.0.technicians.get(kid).cloned()
    }
}

fn result(seq: u64, status: EntryStatus) -> EntryResult {
    EntryResult {
        seq,
        status,
        receipt: None,
        receipt_sig: None,
        reason: None,
        expected_seq: None,
        flags: None,
    }
}

fn with_receipt(status: EntryStatus, stored: &StoredEntry) -> EntryResult {
    EntryResult {
        receipt: Some(stored.receipt.clone()),
        receipt_sig: Some(stored.receipt_sig.clone()),
        flags: (!stored.flags.is_empty()).then(|| stored.flags.clone()),
        ..result(stored.seq, status)
    }
}

fn rejected(seq: u64, reason: &str) -> EntryResult {
    EntryResult { reason: Some(reason.to_owned()), ..result(seq, EntryStatus::Rejected) }
}

fn conflict(seq: u64, reason: ConflictReason) -> EntryResult {
    let reason = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned));
    EntryResult { reason, ..result(seq, EntryStatus::Conflict) }
}

/// The seq an envelope claims, read leniently so even a rejected entry is named.
fn claimed_seq(env: &Envelope) -> u64 {
    b64::decode(&env.entry)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

/// Whether `schema` is one this server knows.
pub fn known_schema(s: &str) -> bool {
    schema::KNOWN.contains(&s)
}

/// Decoding and signature checking of one envelope, done ahead of the
/// sequential checks. Signatures are judged only if the bytes decode.
pub(crate) struct Checked {
    pub(crate) decoded: Result<DecodedEnvelope, VerifyError>,
    pub(crate) signatures: Option<Result<SignatureReport, VerifyError>>,
}

impl Checked {
    /// Whether this device's key signed the entry. Only such entries are
    /// kept as conflict evidence: bytes anyone could have made up prove
    /// nothing, and storing them would let garbage fill the evidence table.
    fn device_signed(&self) -> bool {
        match &self.signatures {
            Some(Ok(_)) => true,
            Some(Err(
                VerifyError::UnknownDevice(_)
                | VerifyError::DeviceKidMismatch
                | VerifyError::BadDeviceSignature,
            ))
            | None => false,
            Some(Err(_)) => true,
        }
    }
}

/// Decodes an envelope and verifies its signatures against `directory`
/// (also how `verify` re-checks a stored record for the public page).
pub(crate) fn check(env: &Envelope, directory: &Directory) -> Checked {
    match decode_envelope(env) {
        Ok(decoded) => {
            let signatures = Some(verify_signatures(&decoded, env, directory));
            Checked { decoded: Ok(decoded), signatures }
        }
        Err(e) => Checked { decoded: Err(e), signatures: None },
    }
}

/// The keys that verify `entries` of the device `keys` belongs to: its own,
/// plus any foreign kid they name (so a key of another tablet is reported
/// as such).
pub(crate) async fn directory(
    state: &AppState,
    keys: &DeviceKeys,
    entries: &[Envelope],
) -> ApiResult<Directory> {
    let mut known = keys.clone();
    let foreign: HashSet<&str> = entries
        .iter()
        .flat_map(|e| e.tech_sigs.iter().map(|s| s.kid.as_str()))
        .filter(|kid| !keys.technicians.iter().any(|t| t.kid == *kid))
        .collect();
    for kid in foreign {
        if let Some(row) = state.storage.technician_key(kid).await? {
            known.technicians.push(row);
        }
    }
    Ok(Directory::new(&known))
}

/// Verifies a batch on both cores: signature checking is the CPU cost of ingest.
async fn check_all(entries: &[Envelope], directory: Directory) -> ApiResult<Vec<Checked>> {
    let half = entries.len().div_ceil(2).max(1);
    let mut tasks = Vec::new();
    for chunk in entries.chunks(half) {
        let chunk = chunk.to_vec();
        let directory = directory.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            chunk.iter().map(|e| check(e, &directory)).collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::with_capacity(entries.len());
    for task in tasks {
        out.extend(task.await.map_err(ApiError::internal)?);
    }
    Ok(out)
}

/// Where each entry's answer comes from once the batch is committed.
enum Answer {
    Now(Box<EntryResult>),
    /// The n-th entry appended by this batch.
    Appended(usize),
    /// A repeat, within the batch, of the n-th appended entry.
    RepeatOf(usize),
}

fn answered(r: EntryResult) -> Answer {
    Answer::Now(Box::new(r))
}

/// Ingests a batch for `device_id`, in order, answering one result per entry.
pub async fn ingest_batch(
    state: &AppState,
    device_id: &str,
    entries: Vec<Envelope>,
) -> ApiResult<EntriesResponse> {
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {MAX_BATCH_ENTRIES} entries in one batch"),
        ));
    }
    // One batch at a time per device: a batch pushed on four connections at
    // once is checked and stored once.
    let lock = state.device_lock(device_id);
    let _one_at_a_time = lock.lock().await;
    let keys = state.storage.device_keys(device_id).await?.ok_or_else(ApiError::unauthorized)?;
    let checked = check_all(&entries, directory(state, &keys, &entries).await?).await?;
    // Fast path: record ids are checked against the database only through
    // its unique index at commit. If one is taken, the batch is planned
    // again with a lookup per entry, which finds and names the conflict.
    match run_batch(state, device_id, &keys, &entries, &checked, false).await {
        Err(BatchError::RecordIdTaken) => {
            match run_batch(state, device_id, &keys, &entries, &checked, true).await {
                Err(BatchError::RecordIdTaken) => Err(concurrent_write()),
                Err(BatchError::Api(e)) => Err(e),
                Ok(r) => Ok(r),
            }
        }
        Err(BatchError::Api(e)) => Err(e),
        Ok(r) => Ok(r),
    }
}

enum BatchError {
    Api(ApiError),
    RecordIdTaken,
}

impl From<ApiError> for BatchError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StorageError> for BatchError {
    fn from(e: StorageError) -> Self {
        Self::Api(e.into())
    }
}

fn concurrent_write() -> ApiError {
    // Another server process wrote this device's chain between our checks
    // and our commit. Nothing of the batch was stored; the tablet resends.
    let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "concurrent_write", "retry this batch");
    e.retry_after = Some(1);
    e
}

/// Plans the batch in order against the head, then commits what passed.
async fn run_batch(
    state: &AppState,
    device_id: &str,
    keys: &DeviceKeys,
    entries: &[Envelope],
    checked: &[Checked],
    careful: bool,
) -> Result<EntriesResponse, BatchError> {
    let now = state.now_ms();
    let (mut head_seq, head_hash) = state.storage.head(device_id).await?;
    let mut head_hash = head_hash.unwrap_or_else(|| genesis_prev(device_id).to_hex());
    let mut rules = RuleContext::new(state);
    let mut pending: Vec<NewEntry> = Vec::new();
    let mut pending_seq: HashMap<u64, usize> = HashMap::new();
    let mut pending_ids: HashSet<String> = HashSet::new();
    let mut answers: Vec<Answer> = Vec::with_capacity(entries.len());
    let mut stopped = false;
    // Conflicts are kept as evidence in the batch's own transaction; a batch
    // abandoned for a concurrent write leaves none behind.
    let mut evidence: Vec<NewConflict> = Vec::new();
    let keep = |evidence: &mut Vec<NewConflict>, checked: &Checked, seq: u64, kind: &str, env: &Envelope| {
        if checked.device_signed() {
            evidence.push(conflict_evidence(device_id, seq, kind, env, now));
        } else {
            tracing::warn!(device_id, seq, kind, "conflict not kept: the device signature does not verify");
        }
    };

    // Where in `checked` each pending entry came from.
    let mut pending_from: Vec<usize> = Vec::new();
    for (index, (env, checked)) in entries.iter().zip(checked).enumerate() {
        if stopped {
            answers.push(answered(result(claimed_seq(env), EntryStatus::NotProcessed)));
            continue;
        }
        let answer = 'entry: {
            let decoded = match &checked.decoded {
                Ok(d) => d,
                Err(e) => break 'entry answered(rejected(claimed_seq(env), e.code())),
            };
            let seq = decoded.entry.seq;
            let entry_hash = decoded.entry_hash.to_hex();
            if decoded.entry.device_id != device_id {
                break 'entry answered(rejected(seq, "device_mismatch"));
            }
            // Idempotency: a position already taken, in this batch or before.
            if seq <= head_seq {
                if let Some(&n) = pending_seq.get(&seq) {
                    if pending[n].entry_hash == entry_hash {
                        break 'entry Answer::RepeatOf(n);
                    }
                } else if let Some(stored) = state.storage.entry_at(device_id, seq).await?
                    && stored.entry_hash == entry_hash
                {
                    break 'entry answered(with_receipt(EntryStatus::Duplicate, &stored));
                }
                keep(&mut evidence, checked, seq, "fork", env);
                break 'entry answered(conflict(seq, ConflictReason::Fork));
            }
            let record_id = &decoded.content().record_id;
            if pending_ids.contains(record_id) {
                keep(&mut evidence, checked, seq, "record_id_reuse", env);
                break 'entry answered(conflict(seq, ConflictReason::RecordIdReuse));
            }
            if careful && let Some(stored) = state.storage.entry_by_record_id(record_id).await? {
                // Stored since we read the head (another server process took
                // the same resend): the same entry is a duplicate, and the head moves.
                if stored.device_id == device_id && stored.seq == seq && stored.entry_hash == entry_hash {
                    head_seq = seq;
                    head_hash.clone_from(&stored.entry_hash);
                    break 'entry answered(with_receipt(EntryStatus::Duplicate, &stored));
                }
                keep(&mut evidence, checked, seq, "record_id_reuse", env);
                break 'entry answered(conflict(seq, ConflictReason::RecordIdReuse));
            }
            // Chain position.
            if seq > head_seq + 1 {
                break 'entry answered(EntryResult {
                    expected_seq: Some(head_seq + 1),
                    ..result(seq, EntryStatus::Gap)
                });
            }
            if decoded.entry.prev.to_hex() != head_hash {
                keep(&mut evidence, checked, seq, "broken_chain", env);
                break 'entry answered(conflict(seq, ConflictReason::BrokenChain));
            }
            // Signatures (already checked in parallel).
            match &checked.signatures {
                Some(Ok(_)) => {}
                Some(Err(e)) => break 'entry answered(rejected(seq, e.code())),
                None => break 'entry answered(rejected(seq, "bad_entry")),
            }
            let flags = rules.flags(keys, decoded, env, now).await?;
            rules.note_pending(decoded, &flags, now);
            let content = decoded.content();
            pending_seq.insert(seq, pending.len());
            pending_from.push(index);
            pending_ids.insert(content.record_id.clone());
            head_seq = seq;
            head_hash.clone_from(&entry_hash);
            pending.push(NewEntry {
                device_id: device_id.to_owned(),
                seq,
                record_id: content.record_id.clone(),
                entry_hash,
                content_hash: decoded.content.hash().to_hex(),
                schema: content.schema.clone(),
                work_order_id: content.work_order_id.clone(),
                envelope: env.clone(),
                received_at_ms: now,
                boot_id: content.created.boot_id.clone(),
                device_time_ms: content.created.device_time_ms,
                monotonic_ms: content.created.monotonic_ms,
                status: if flags.is_empty() { ReceiptStatus::Valid } else { ReceiptStatus::NeedsReview },
                flags,
            });
            Answer::Appended(pending.len() - 1)
        };
        if let Answer::Now(r) = &answer {
            stopped = !matches!(r.status, EntryStatus::Accepted | EntryStatus::Duplicate);
        }
        answers.push(answer);
    }

    // Every side effect of the batch commits with it, or not at all.
    let snapshots: Vec<PutSnapshot> =
        pending.iter().filter(|e| !e.flags.is_empty()).map(crate::rules::review_status_snapshot).collect();
    let decoded: Vec<&DecodedEnvelope> =
        pending_from.iter().filter_map(|&i| checked.get(i).and_then(|c| c.decoded.as_ref().ok())).collect();
    let new_snapshots = orders_opened_on_site(&pending, &decoded, now)?;
    for conflict in &evidence {
        tracing::warn!(device_id, seq = conflict.seq, kind = %conflict.kind, "conflict kept as evidence");
    }
    let blob_refs = decoded
        .iter()
        .flat_map(|d| d.content().attachments.iter().map(|a| (device_id.to_owned(), a.sha256.to_hex())))
        .collect();
    let batch = BatchWrite { entries: pending, conflicts: evidence, snapshots, new_snapshots, blob_refs };
    let Some(stored) = append(state, batch).await? else { return Err(BatchError::RecordIdTaken) };
    let results = answers
        .into_iter()
        .map(|a| {
            match a {
                Answer::Now(r) => Some(*r),
                Answer::Appended(n) => stored.get(n).map(|s| with_receipt(EntryStatus::Accepted, s)),
                Answer::RepeatOf(n) => stored.get(n).map(|s| with_receipt(EntryStatus::Duplicate, s)),
            }
            .ok_or_else(|| ApiError::internal("an appended entry has no stored row"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(EntriesResponse { results, server_time_ms: state.now_ms() })
}

/// The orders technicians opened on site in these entries, to be filed with
/// the batch (the office confirms or rejects them later); an id already
/// taken is left alone.
fn orders_opened_on_site(
    pending: &[NewEntry],
    decoded: &[&DecodedEnvelope],
    now: i64,
) -> ApiResult<Vec<PutSnapshot>> {
    let mut out = Vec::new();
    for (entry, decoded) in pending.iter().zip(decoded) {
        let content = decoded.content();
        let Some(order) =
            crate::rules::opened_on_site(&content.schema, content.work_order_id.as_deref(), &content.data)
        else {
            continue;
        };
        let tech_id = content.signers.first().map(|x| x.tech_id.clone()).unwrap_or_default();
        let origin = crate::orders::OpenedOnSite {
            record_id: entry.record_id.clone(),
            device_id: entry.device_id.clone(),
            tech_id,
            confirmed_at: None,
        };
        out.push(crate::orders::opened_on_site_snapshot(order, origin, now)?);
    }
    Ok(out)
}

/// Appends in one transaction; `None` when a unique key (a record id or a
/// position) turned out to be taken.
async fn append(state: &AppState, batch: BatchWrite) -> ApiResult<Option<Vec<StoredEntry>>> {
    if batch.entries.is_empty() && batch.conflicts.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let key = state.server_key.clone();
    let signer: ReceiptSigner = Arc::new(move |r| receipt::sign_receipt(r, &key).map_err(|e| e.to_string()));
    let opened = crate::office::complaints::events::orders_in_batch(&batch);
    match state.storage.append_batch(batch, signer).await {
        Ok(stored) => {
            state.events.records_stored(&stored, opened);
            Ok(Some(stored))
        }
        Err(StorageError::Exists(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn conflict_evidence(device_id: &str, seq: u64, kind: &str, env: &Envelope, now: i64) -> NewConflict {
    NewConflict {
        device_id: device_id.to_owned(),
        seq,
        kind: kind.to_owned(),
        envelope: env.clone(),
        received_at_ms: now,
    }
}
