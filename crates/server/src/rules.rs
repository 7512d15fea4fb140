//! Business rules applied to entries whose crypto and chain are sound.
//! They never block a chain (protocol §5): each failed rule is a flag, and
//! a flagged receipt says `needs_review`.

use hearth_domain::{CompletedStep, RuleSet, TemperatureReading, Thermometer, WorkOrder};
use hearth_protocol::schema;
use hearth_protocol::verify::{DecodedEnvelope, SignatureReport};
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;
use crate::storage::{DeviceKeys, PutSnapshot, Scope, SnapshotKind, StoredEntry};

pub const DEVICE_KEY_REVOKED: &str = "device_key_revoked";
pub const TECHNICIAN_KEY_REVOKED: &str = "technician_key_revoked";
pub const MISSING_CO_SIGNER: &str = "missing_co_signer";
pub const UNKNOWN_SCHEMA: &str = "unknown_schema";
pub const UNKNOWN_WORK_ORDER: &str = "unknown_work_order";
pub const CLOCK_SUSPECT: &str = "clock_suspect";
pub const UNBOUND_REFERENCE: &str = "unbound_reference";
pub const INVALID_DATA: &str = "invalid_data";
pub const UNKNOWN_THERMOMETER: &str = "unknown_thermometer";

#[derive(Deserialize)]
struct ReadingData {
    thermometer_serial: String,
    #[serde(flatten)]
    reading: TemperatureReading,
}

/// The company rule set in force (the office's, or the defaults).
pub async fn rule_set(state: &AppState) -> ApiResult<RuleSet> {
    let stored = state.storage.snapshot(SnapshotKind::RuleSet, "company").await?;
    Ok(stored.and_then(|s| serde_json::from_value(s.body).ok()).unwrap_or_default())
}

/// The business rules for one batch, with what they look up cached, and the
/// entries accepted earlier in the same batch (not yet stored) taken into account.
#[allow(missing_debug_implementations)] // holds caches only; nothing worth printing
pub struct RuleContext<'a> {
    state: &'a AppState,
    rules: Option<RuleSet>,
    work_orders: HashMap<String, bool>,
    thermometers: HashMap<String, Option<Thermometer>>,
    received_at: HashMap<u64, Option<i64>>,
    /// Last (device_time_ms, monotonic_ms) seen per boot.
    boots: HashMap<String, Option<(i64, i64)>>,
    /// record_id → content_hash of entries accepted earlier in this batch.
    pending: HashMap<String, String>,
}

impl<'a> RuleContext<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self {
            state,
            rules: None,
            work_orders: HashMap::new(),
            thermometers: HashMap::new(),
            received_at: HashMap::new(),
            boots: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Every rule the entry breaks, as flags; empty when it is simply valid.
    pub async fn flags(
        &mut self,
        keys: &DeviceKeys,
        decoded: &DecodedEnvelope,
        signatures: &SignatureReport,
        now: i64,
    ) -> ApiResult<Vec<String>> {
        let mut flags: Vec<&'static str> = Vec::new();
        let content = decoded.content();
        let signer_kids: Vec<&str> = content.signers.iter().map(|s| s.kid.as_str()).collect();

        if keys.device.revoked_at_ms.is_some_and(|t| t <= now) {
            flags.push(DEVICE_KEY_REVOKED);
        }
        if keys
            .technicians
            .iter()
            .any(|t| signer_kids.contains(&t.kid.as_str()) && t.revoked_at_ms.is_some_and(|r| r <= now))
        {
            flags.push(TECHNICIAN_KEY_REVOKED);
        }
        if !signatures.missing_signers.is_empty() {
            flags.push(MISSING_CO_SIGNER);
        }
        if !crate::ingest::known_schema(&content.schema) {
            flags.push(UNKNOWN_SCHEMA);
        }
        // An order opened on site is new by definition: the server files it.
        if let Some(wo) = &content.work_order_id
            && content.schema != schema::WORK_ORDER_LOCAL
            && !self.work_order_exists(wo).await?
        {
            flags.push(UNKNOWN_WORK_ORDER);
        }
        if self.clock_suspect(decoded, now).await? {
            flags.push(CLOCK_SUSPECT);
        }
        for r in &content.refs {
            let hash = r.content_hash.to_hex();
            let bound = match self.pending.get(&r.record_id) {
                Some(h) => *h == hash,
                None => self
                    .state
                    .storage
                    .entry_by_record_id(&r.record_id)
                    .await?
                    .is_some_and(|b| b.content_hash == hash),
            };
            if !bound {
                flags.push(UNBOUND_REFERENCE);
                break;
            }
        }
        flags.extend(
            self.domain_flags(&content.schema, content.work_order_id.as_deref(), &content.data).await?,
        );
        flags.sort_unstable();
        flags.dedup();
        Ok(flags.into_iter().map(str::to_owned).collect())
    }

    /// Remembers an entry accepted into the batch, for the checks of later ones.
    pub fn note_pending(&mut self, decoded: &DecodedEnvelope) {
        let content = decoded.content();
        if content.schema == schema::WORK_ORDER_LOCAL
            && let Some(wo) = &content.work_order_id
        {
            self.work_orders.insert(wo.clone(), true);
        }
        self.pending.insert(content.record_id.clone(), decoded.content.hash().to_hex());
        self.boots.insert(
            content.created.boot_id.clone(),
            Some((content.created.device_time_ms, content.created.monotonic_ms)),
        );
    }

    async fn work_order_exists(&mut self, id: &str) -> ApiResult<bool> {
        if let Some(known) = self.work_orders.get(id) {
            return Ok(*known);
        }
        let known = self.state.storage.snapshot(SnapshotKind::WorkOrder, id).await?.is_some();
        self.work_orders.insert(id.to_owned(), known);
        Ok(known)
    }

    async fn rule_set(&mut self) -> ApiResult<RuleSet> {
        if self.rules.is_none() {
            self.rules = Some(rule_set(self.state).await?);
        }
        Ok(self.rules.clone().unwrap_or_default())
    }

    async fn thermometer(&mut self, serial: &str) -> ApiResult<Option<Thermometer>> {
        if let Some(t) = self.thermometers.get(serial) {
            return Ok(t.clone());
        }
        let t = self
            .state
            .storage
            .snapshot(SnapshotKind::Thermometer, serial)
            .await?
            .and_then(|s| serde_json::from_value::<Thermometer>(s.body).ok());
        self.thermometers.insert(serial.to_owned(), t.clone());
        Ok(t)
    }

    /// §8: the device's time claim must fall between the receive time of the
    /// receipt it last held and now (with tolerance), and must not run
    /// backwards within one boot.
    async fn clock_suspect(&mut self, decoded: &DecodedEnvelope, now: i64) -> ApiResult<bool> {
        let created = &decoded.content().created;
        let tolerance = self.state.limits.clock_tolerance_ms;
        let device_id = &decoded.entry.device_id;
        if created.device_time_ms > now + tolerance {
            return Ok(true);
        }
        if let Some(server_seq) = decoded.entry.last_receipt_seq {
            let lower = match self.received_at.get(&server_seq) {
                Some(v) => *v,
                None => {
                    let v = self.state.storage.received_at_of_server_seq(device_id, server_seq).await?;
                    self.received_at.insert(server_seq, v);
                    v
                }
            };
            if lower.is_some_and(|lower| created.device_time_ms < lower - tolerance) {
                return Ok(true);
            }
        }
        let last = match self.boots.get(&created.boot_id) {
            Some(v) => *v,
            None => {
                let v = self
                    .state
                    .storage
                    .last_entry_of_boot(device_id, &created.boot_id)
                    .await?
                    .map(|e| (e.device_time_ms, e.monotonic_ms));
                self.boots.insert(created.boot_id.clone(), v);
                v
            }
        };
        Ok(last.is_some_and(|(time, monotonic)| {
            created.monotonic_ms < monotonic || created.device_time_ms + tolerance < time
        }))
    }

    /// Schema-specific checks: the record's data must rebuild the domain
    /// value, and that value must pass the rules the server knows.
    async fn domain_flags(
        &mut self,
        schema_name: &str,
        work_order_id: Option<&str>,
        data: &serde_json::Map<String, Value>,
    ) -> ApiResult<Vec<&'static str>> {
        let value = Value::Object(data.clone());
        let mut flags = Vec::new();
        match schema_name {
            schema::TEMPERATURE_READING => match serde_json::from_value::<ReadingData>(value) {
                Ok(d) => {
                    let rules = self.rule_set().await?;
                    if let Err(e) = d.reading.check(rules.temperature()) {
                        flags.push(e.code());
                    }
                    match self.thermometer(&d.thermometer_serial).await? {
                        None => flags.push(UNKNOWN_THERMOMETER),
                        Some(t) => {
                            if let Err(e) = t.check_calibration(d.reading.taken_at.date_naive()) {
                                flags.push(e.code());
                            }
                        }
                    }
                }
                Err(_) => flags.push(INVALID_DATA),
            },
            schema::WORK_ORDER_LOCAL if opened_on_site(schema_name, work_order_id, data).is_none() => {
                flags.push(INVALID_DATA);
            }
            schema::VISIT_STEP => match serde_json::from_value::<CompletedStep>(value) {
                Ok(step) => {
                    if let Err(e) = step.evidence.check() {
                        flags.push(e.code());
                    }
                }
                Err(_) => flags.push(INVALID_DATA),
            },
            _ => {}
        }
        Ok(flags)
    }
}

/// The order a `hearth.work_order_local/1` record opens, when its data is a
/// valid order under the record's own work-order id.
pub fn opened_on_site(
    schema_name: &str,
    work_order_id: Option<&str>,
    data: &serde_json::Map<String, Value>,
) -> Option<WorkOrder> {
    if schema_name != schema::WORK_ORDER_LOCAL {
        return None;
    }
    let order: WorkOrder = serde_json::from_value(Value::Object(data.clone())).ok()?;
    (Some(order.id.as_str()) == work_order_id).then_some(order)
}

/// Tells the device (through its feed) that one of its records needs review.
pub async fn publish_review_status(state: &AppState, stored: &StoredEntry) -> ApiResult<()> {
    state
        .storage
        .put_snapshot(PutSnapshot {
            kind: SnapshotKind::ReviewStatus,
            id: stored.record_id.clone(),
            body: json!({
                "record_id": stored.record_id,
                "seq": stored.seq,
                "status": stored.receipt.status,
                "flags": stored.flags,
            }),
            scope: Scope { technicians: vec![], device_id: Some(stored.device_id.clone()) },
            expected_rev: None,
            now_ms: state.now_ms(),
        })
        .await?;
    Ok(())
}
