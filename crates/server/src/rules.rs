//! Business rules applied to entries whose crypto and chain are sound.
//! They never block a chain (protocol §5): each failed rule is a flag, and
//! a flagged receipt says `needs_review`.

use chrono::{DateTime, Utc};
use hearth_domain::{
    CompletedStep, JudgedReport, ReadingRecord, RuleSet, TemperatureReading, TemperatureReport, Thermometer,
    WorkOrder, judge_report,
};
use hearth_protocol::flags::*;
use hearth_protocol::verify::DecodedEnvelope;
use hearth_protocol::{Envelope, RecordRef, schema, signers};
use std::collections::HashMap;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{DeviceKeys, PutSnapshot, Scope, SnapshotKind, StoredEntry};
use hearth_domain::time::{bracket, company_offset, ms_to_utc};

/// A sealed reading as the judge sees it: its data, the time the server
/// believes it was taken (the claim bracketed, §8), and whether the reading
/// record itself carries flags.
#[derive(Debug, Clone)]
pub struct SealedReading {
    pub record_id: String,
    pub content_hash: String,
    pub work_order_id: Option<String>,
    pub data: ReadingRecord,
    pub at: DateTime<Utc>,
    pub flagged: bool,
}

/// What a sealed reading needs beyond its content: where the server stored
/// it and the two bounds of its time bracket (§8).
#[derive(Debug, Clone)]
pub struct ReadingPlace<'a> {
    pub content_hash: String,
    pub not_before: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub flagged: bool,
    pub content: &'a hearth_protocol::Content,
}

impl SealedReading {
    /// The reading a `hearth.temperature_reading/1` record holds, at the time
    /// the server believes; `None` for another schema or unreadable data.
    /// One builder for ingest (a pending or stored reading) and the office.
    pub fn of(place: ReadingPlace<'_>) -> Option<Self> {
        let content = place.content;
        if content.schema != schema::TEMPERATURE_READING {
            return None;
        }
        let data = serde_json::from_value::<ReadingRecord>(Value::Object(content.data.clone())).ok()?;
        let at = bracket(data.reading.taken_at.with_timezone(&Utc), place.not_before, place.received_at).at;
        Some(Self {
            record_id: content.record_id.clone(),
            content_hash: place.content_hash,
            work_order_id: content.work_order_id.clone(),
            data,
            at,
            flagged: place.flagged,
        })
    }
}

/// The server's judgement of a temperature-test report from the readings it
/// binds (`refs`, in order), its own thermometer registry and rule set. The
/// flags are every way the sealed evidence falls short; the judged report's
/// verdict is the one the office shows and counts. One function, called by
/// ingest (to flag) and by the office (to judge), so the two never differ.
pub fn judge_sealed_report(
    report: &TemperatureReport,
    work_order_id: Option<&str>,
    refs: &[RecordRef],
    readings: &HashMap<String, SealedReading>,
    thermometer: Option<&Thermometer>,
    rules: &RuleSet,
) -> (JudgedReport, Vec<&'static str>) {
    let mut flags = Vec::new();
    let offset = company_offset();
    let mut believed = Vec::new();
    let mut mismatch = work_order_id != Some(report.work_order_id.as_str());
    for r in refs {
        let Some(sealed) = readings.get(&r.record_id).filter(|s| s.content_hash == r.content_hash.to_hex())
        else {
            mismatch = true;
            continue;
        };
        mismatch |= sealed.work_order_id.as_deref() != Some(report.work_order_id.as_str())
            || sealed.data.thermometer_serial != report.thermometer_serial.as_str();
        if sealed.flagged {
            flags.push(READING_FLAGGED);
        }
        // The threshold follows the local hour of the time the server believes.
        believed.push(TemperatureReading {
            taken_at: sealed.at.with_timezone(&offset),
            ..sealed.data.reading.clone()
        });
    }
    if mismatch {
        flags.push(REPORT_READINGS_MISMATCH);
    }
    if thermometer.is_none() {
        flags.push(UNKNOWN_THERMOMETER);
    }
    let judged = judge_report(report, &believed, thermometer, rules.temperature());
    flags.extend(judged.findings.iter().map(|f| f.code()));
    flags.sort_unstable();
    flags.dedup();
    (judged, flags)
}

/// A reading record as the judge sees it, from its stored entry.
pub async fn sealed_reading(state: &AppState, stored: &StoredEntry) -> ApiResult<Option<SealedReading>> {
    if stored.schema != schema::TEMPERATURE_READING {
        return Ok(None);
    }
    let Ok(decoded) = hearth_protocol::verify::decode_envelope(&stored.envelope) else { return Ok(None) };
    let not_before = match decoded.entry.last_receipt_seq {
        Some(n) => state.storage.received_at_of_server_seq(&stored.device_id, n).await?.map(ms_to_utc),
        None => None,
    };
    Ok(SealedReading::of(ReadingPlace {
        content_hash: stored.content_hash.clone(),
        not_before,
        received_at: ms_to_utc(stored.receipt.received_at_ms),
        flagged: !stored.flags.is_empty(),
        content: decoded.content(),
    }))
}

/// Every version of the company's rules, each with the time it took effect:
/// a past result is judged by the version in force at its time and says
/// which (issue 14), so a change never rewrites what was met or missed.
/// Version 0 is the regulations' defaults, in force until the office first
/// stored a rule set.
#[derive(Debug, Clone)]
pub struct RuleBook {
    /// `(version, effective_at_ms, rules)`, oldest first.
    versions: Vec<(u64, i64, RuleSet)>,
}

impl Default for RuleBook {
    fn default() -> Self {
        Self { versions: vec![(0, i64::MIN, RuleSet::default())] }
    }
}

impl RuleBook {
    /// The version in force at `at` and its rules.
    pub fn at(&self, at: chrono::DateTime<Utc>) -> (u64, &RuleSet) {
        let ms = at.timestamp_millis();
        let (v, _, rules) = self
            .versions
            .iter()
            .rev()
            .find(|(_, effective, _)| *effective <= ms)
            .or_else(|| self.versions.first())
            .unwrap_or_else(|| unreachable_defaults());
        (*v, rules)
    }

    /// The version in force now.
    pub fn current(&self) -> (u64, &RuleSet) {
        let (v, _, rules) = self.versions.last().unwrap_or_else(|| unreachable_defaults());
        (*v, rules)
    }
}

fn unreachable_defaults() -> &'static (u64, i64, RuleSet) {
    static DEFAULTS: std::sync::OnceLock<(u64, i64, RuleSet)> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| (0, i64::MIN, RuleSet::default()))
}

/// Every stored version of the rules. A database from before versions were
/// kept has only the feed's snapshot: it stands as version 1, in force since
/// the beginning (nothing older is known).
pub async fn rule_book(state: &AppState) -> ApiResult<RuleBook> {
    let stored = state.storage.rule_set_versions().await?;
    let mut book = RuleBook::default();
    if stored.is_empty() {
        if let Some(s) = state.storage.snapshot(SnapshotKind::RuleSet, "company").await? {
            let rules = RuleSet::from_stored(&s.body)
                .map_err(|e| ApiError::internal(format!("the stored rule set cannot be read: {e}")))?;
            book.versions = vec![(1, i64::MIN, rules)];
        }
        return Ok(book);
    }
    for row in stored {
        let rules = RuleSet::from_stored(&row.body).map_err(|e| {
            ApiError::internal(format!("rule set version {} cannot be read: {e}", row.version))
        })?;
        book.versions.push((row.version, row.effective_at_ms, rules));
    }
    Ok(book)
}

/// The company rule set in force: the office's, or the regulations' defaults
/// when the office never stored one.
pub async fn rule_set(state: &AppState) -> ApiResult<RuleSet> {
    match state.storage.snapshot(SnapshotKind::RuleSet, "company").await? {
        None => Ok(RuleSet::default()),
        // Never the defaults in its place: a rule set this server cannot read
        // is a fault to fix, and judging by other rules would be silent.
        Some(s) => RuleSet::from_stored(&s.body)
            .map_err(|e| ApiError::internal(format!("the stored rule set cannot be read: {e}"))),
    }
}

/// The business rules for one batch, with what they look up cached, and the
/// entries accepted earlier in the same batch (not yet stored) taken into account.
#[allow(missing_debug_implementations)] // holds caches only; nothing worth printing
pub struct RuleContext<'a> {
    state: &'a AppState,
    rules: Option<RuleSet>,
    /// Work order id → its assigned technicians (`None`: no such order).
    work_orders: HashMap<String, Option<Vec<String>>>,
    /// Readings the batch's reports may bind: those accepted earlier in this
    /// batch, and stored ones once looked up.
    readings: HashMap<String, SealedReading>,
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
            readings: HashMap::new(),
            thermometers: HashMap::new(),
            received_at: HashMap::new(),
            boots: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Every rule the entry breaks, as flags; empty when it is simply valid.
    /// `env` is the envelope as received: its technician signatures are
    /// judged against the roles the schema requires.
    pub async fn flags(
        &mut self,
        keys: &DeviceKeys,
        decoded: &DecodedEnvelope,
        env: &Envelope,
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
        flags.extend(signers::signer_flags(content, &env.tech_sigs));
        if !crate::ingest::known_schema(&content.schema) {
            flags.push(UNKNOWN_SCHEMA);
        }
        // An order opened on site is new by definition: the server files it.
        if let Some(wo) = &content.work_order_id
            && content.schema != schema::WORK_ORDER_LOCAL
        {
            match self.assignees(wo).await? {
                None => flags.push(UNKNOWN_WORK_ORDER),
                Some(assigned) => {
                    if content.signers.iter().any(|s| !assigned.contains(&s.tech_id)) {
                        flags.push(NOT_ASSIGNED);
                    }
                }
            }
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
        flags.extend(self.domain_flags(decoded, now).await?);
        flags.sort_unstable();
        flags.dedup();
        Ok(flags.into_iter().map(str::to_owned).collect())
    }

    /// Remembers an entry accepted into the batch, for the checks of later ones.
    pub fn note_pending(&mut self, decoded: &DecodedEnvelope, flags: &[String], now: i64) {
        let content = decoded.content();
        if let Some(order) = opened_on_site(&content.schema, content.work_order_id.as_deref(), &content.data)
        {
            let assigned = order.assigned_technicians.iter().map(|t| t.as_str().to_owned()).collect();
            self.work_orders.insert(order.id.as_str().to_owned(), Some(assigned));
        }
        let not_before = decoded
            .entry
            .last_receipt_seq
            .and_then(|n| self.received_at.get(&n).copied().flatten())
            .map(ms_to_utc);
        if let Some(sealed) = SealedReading::of(ReadingPlace {
            content_hash: decoded.content.hash().to_hex(),
            not_before,
            received_at: ms_to_utc(now),
            flagged: !flags.is_empty(),
            content,
        }) {
            self.readings.insert(content.record_id.clone(), sealed);
        }
        self.pending.insert(content.record_id.clone(), decoded.content.hash().to_hex());
        self.boots.insert(
            content.created.boot_id.clone(),
            Some((content.created.device_time_ms, content.created.monotonic_ms)),
        );
    }

    /// The technicians an order is assigned to; `None` when there is no such order.
    async fn assignees(&mut self, id: &str) -> ApiResult<Option<Vec<String>>> {
        if let Some(known) = self.work_orders.get(id) {
            return Ok(known.clone());
        }
        let assigned = match self.state.storage.snapshot(SnapshotKind::WorkOrder, id).await? {
            None => None,
            Some(s) => Some(crate::orders::work_order_body(&s)?.order.assigned_technicians)
                .map(|ts| ts.iter().map(|t| t.as_str().to_owned()).collect()),
        };
        self.work_orders.insert(id.to_owned(), assigned.clone());
        Ok(assigned)
    }

    /// The readings a report binds, from this batch or from storage.
    async fn bound_readings(&mut self, refs: &[RecordRef]) -> ApiResult<HashMap<String, SealedReading>> {
        let mut out = HashMap::new();
        for r in refs {
            if !self.readings.contains_key(&r.record_id)
                && let Some(stored) = self.state.storage.entry_by_record_id(&r.record_id).await?
                && let Some(sealed) = sealed_reading(self.state, &stored).await?
            {
                self.readings.insert(r.record_id.clone(), sealed);
            }
            if let Some(sealed) = self.readings.get(&r.record_id) {
                out.insert(r.record_id.clone(), sealed.clone());
            }
        }
        Ok(out)
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

    /// Receive time of the device's receipt with `server_seq` (§8 brackets), cached.
    async fn received_at_of(&mut self, device_id: &str, server_seq: u64) -> ApiResult<Option<i64>> {
        if let Some(v) = self.received_at.get(&server_seq) {
            return Ok(*v);
        }
        let v = self.state.storage.received_at_of_server_seq(device_id, server_seq).await?;
        self.received_at.insert(server_seq, v);
        Ok(v)
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
            let lower = self.received_at_of(device_id, server_seq).await?;
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
    /// value, and that value must pass the rules the server knows. A reading
    /// is judged on the date the server believes it was taken; a report is
    /// re-judged whole from the readings it binds.
    async fn domain_flags(&mut self, decoded: &DecodedEnvelope, now: i64) -> ApiResult<Vec<&'static str>> {
        let content = decoded.content();
        let value = Value::Object(content.data.clone());
        let mut flags = Vec::new();
        match content.schema.as_str() {
            schema::TEMPERATURE_READING => match serde_json::from_value::<ReadingRecord>(value) {
                Ok(d) => {
                    let rules = self.rule_set().await?;
                    if let Err(e) = d.reading.check(rules.temperature()) {
                        flags.push(e.code());
                    }
                    let not_before = match decoded.entry.last_receipt_seq {
                        Some(n) => self.received_at_of(&decoded.entry.device_id, n).await?.map(ms_to_utc),
                        None => None,
                    };
                    let at = bracket(d.reading.taken_at.with_timezone(&Utc), not_before, ms_to_utc(now)).at;
                    match self.thermometer(&d.thermometer_serial).await? {
                        None => flags.push(UNKNOWN_THERMOMETER),
                        Some(t) => {
                            if let Err(e) =
                                t.check_calibration(at.with_timezone(&company_offset()).date_naive())
                            {
                                flags.push(e.code());
                            }
                        }
                    }
                }
                Err(_) => flags.push(INVALID_DATA),
            },
            schema::TEMPERATURE_TEST => match serde_json::from_value::<TemperatureReport>(value) {
                Ok(report) => {
                    let readings = self.bound_readings(&content.refs).await?;
                    let thermometer = self.thermometer(report.thermometer_serial.as_str()).await?;
                    let rules = self.rule_set().await?;
                    let (_, found) = judge_sealed_report(
                        &report,
                        content.work_order_id.as_deref(),
                        &content.refs,
                        &readings,
                        thermometer.as_ref(),
                        &rules,
                    );
                    flags.extend(found);
                    // The report's named testers are the ones who must sign it.
                    let named = [
                        (hearth_protocol::SignerRole::Performer, report.performer.as_str()),
                        (hearth_protocol::SignerRole::Witness, report.witness.as_str()),
                    ];
                    if named.iter().any(|(role, tech)| {
                        !content.signers.iter().any(|s| s.role == *role && s.tech_id == *tech)
                    }) {
                        flags.push(REQUIRED_SIGNER_MISSING);
                    }
                }
                Err(_) => flags.push(INVALID_DATA),
            },
            schema::WORK_ORDER_LOCAL
                if opened_on_site(&content.schema, content.work_order_id.as_deref(), &content.data)
                    .is_none() =>
            {
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

/// The feed row that tells a device one of its records needs review,
/// written in the same transaction as the record.
pub fn review_status_snapshot(entry: &crate::storage::NewEntry) -> PutSnapshot {
    PutSnapshot {
        kind: SnapshotKind::ReviewStatus,
        id: entry.record_id.clone(),
        body: json!({
            "record_id": entry.record_id,
            "seq": entry.seq,
            "status": entry.status,
            "flags": entry.flags,
        }),
        scope: Scope { technicians: vec![], device_id: Some(entry.device_id.clone()) },
        expected_rev: None,
        now_ms: entry.received_at_ms,
    }
}
