//! The office's reads: work orders with their deadlines and evidence, the
//! records of an order, temperature-test results, the follow-up queue and
//! repeat repairs. Storage is read here; every judgement is made by the
//! pure functions of `compute`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hearth_domain::{
    Address, Customer, CustomerSignoff, DeadlineState, DeadlineStatus, Milestones, TemperatureReading,
    TemperatureReport, TestCompliance, Thermometer, VisitOutcome, WorkOrder, WorkOrderCategory, deadlines,
};
use hearth_protocol::verify::decode_envelope;
use hearth_protocol::{Attachment, Content, ReceiptStatus, RecordRef, SignerRole, schema};
use serde::Serialize;
use serde_json::{Map, Value};

use super::compute::{self, Bracketed, Evidence, Evidenced, bracket, ms_to_utc};
use super::input::{self, bad_field};
use super::model::{Cancellation, FollowUp, HistoryEntry, OpenedOnSite, OrderStatus, WorkOrderBody};
use crate::error::{ApiError, ApiResult};
use crate::orders::work_order_body;
use crate::rules::{ReadingPlace, RuleBook, SealedReading, judge_sealed_report};
use crate::state::AppState;
use crate::storage::{
    BOARD_NO_DEADLINE, BoardQuery, BoardRow, ReviewDecision, ReviewVerdict, Snapshot, SnapshotKind,
    StoredEntry,
};
use hearth_domain::{
    AddressCompliance, CountedTest, FollowUpCandidate, FollowUpRules, HomeTest, RecordLink, RepeatCandidate,
    RepeatGroup, Versions,
};
use hearth_protocol::flags::{DEVICE_KEY_REVOKED, TECHNICIAN_KEY_REVOKED};

/// A stored entry with its decoded content and the lower bound of its
/// time bracket (protocol §8).
#[derive(Debug, Clone)]
pub struct RecordFact {
    pub stored: StoredEntry,
    /// `None` only if the stored envelope no longer decodes (it was checked on arrival).
    pub content: Option<Content>,
    pub sealed_at_ms: Option<i64>,
    /// Receive time of the receipt named by the entry's `last_receipt_seq`.
    pub not_before: Option<DateTime<Utc>>,
}

impl RecordFact {
    pub fn received_at(&self) -> DateTime<Utc> {
        ms_to_utc(self.stored.receipt.received_at_ms)
    }

    pub fn bracket(&self, claimed: DateTime<Utc>) -> Bracketed {
        bracket(claimed, self.not_before, self.received_at())
    }

    /// Records that arrived signed by a revoked key are shown, never used as evidence.
    pub fn trusted(&self) -> bool {
        !self.stored.flags.iter().any(|f| f == DEVICE_KEY_REVOKED || f == TECHNICIAN_KEY_REVOKED)
    }

    fn data(&self) -> Option<&Map<String, Value>> {
        self.content.as_ref().map(|c| &c.data)
    }
}

pub(crate) async fn fact(state: &AppState, stored: StoredEntry) -> ApiResult<RecordFact> {
    let decoded = decode_envelope(&stored.envelope).ok();
    let mut not_before = None;
    if let Some(server_seq) = decoded.as_ref().and_then(|d| d.entry.last_receipt_seq)
        && let Some(ms) = state.storage.received_at_of_server_seq(&stored.device_id, server_seq).await?
    {
        not_before = Some(ms_to_utc(ms));
    }
    if decoded.is_none() {
        tracing::warn!(record_id = %stored.record_id, "a stored envelope no longer decodes");
    }
    Ok(RecordFact {
        sealed_at_ms: decoded.as_ref().map(|d| d.entry.sealed_at_ms),
        content: decoded.map(|d| d.content().clone()),
        not_before,
        stored,
    })
}

/// Every record of a work order, in the order the server received them.
pub async fn record_facts(state: &AppState, work_order_id: &str) -> ApiResult<Vec<RecordFact>> {
    let mut out = Vec::new();
    for stored in state.storage.entries_for_work_order(work_order_id).await? {
        out.push(fact(state, stored).await?);
    }
    Ok(out)
}

/// The record a fact corrects, when it names the original's exact content hash.
fn bound_supersedes<'a>(f: &'a RecordFact, by_id: &HashMap<&str, &RecordFact>) -> Option<&'a str> {
    let s = f.content.as_ref()?.supersedes.as_ref()?;
    let original = by_id.get(s.record_id.as_str())?;
    (original.stored.content_hash == s.content_hash.to_hex()).then_some(s.record_id.as_str())
}

pub fn versions_of(facts: &[RecordFact]) -> HashMap<String, Versions> {
    let by_id: HashMap<&str, &RecordFact> = facts.iter().map(|f| (f.stored.record_id.as_str(), f)).collect();
    let links: Vec<RecordLink<'_>> = facts
        .iter()
        .map(|f| RecordLink {
            record_id: &f.stored.record_id,
            supersedes: bound_supersedes(f, &by_id),
            server_seq: f.stored.receipt.server_seq,
        })
        .collect();
    hearth_domain::versions(&links)
}

fn is_latest(versions: &HashMap<String, Versions>, record_id: &str) -> bool {
    versions.get(record_id).is_none_or(|v| v.latest)
}

/// The earliest evidence of each milestone among the latest versions of
/// trusted records, of the claims that count for the order as `recorded`
/// (`Milestones::counts`: an acceptance before the latest dispatch does not).
pub fn evidence_of(
    facts: &[RecordFact],
    versions: &HashMap<String, Versions>,
    recorded: &Milestones,
) -> Evidence {
    let mut evidence = Evidence::default();
    for f in facts.iter().filter(|f| f.trusted() && is_latest(versions, &f.stored.record_id)) {
        let Some(content) = &f.content else { continue };
        for (milestone, claimed) in
            compute::milestone_claims(&content.schema, &content.data, content.created.device_time_ms)
        {
            let time = f.bracket(claimed);
            if !recorded.counts(milestone, time.at) {
                continue;
            }
            evidence.offer(milestone, Evidenced { record_id: f.stored.record_id.clone(), time });
        }
    }
    evidence
}

/// A work order as the office sees it: the snapshot, the milestones the
/// deadlines are judged on (see `compute::effective_milestones`), the
/// evidence behind them, and the deadlines at the server's now.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    pub id: String,
    pub rev: u64,
    pub updated_at_ms: i64,
    pub status: OrderStatus,
    /// As the office wrote it; `order.milestones` is what dispatch recorded.
    pub order: WorkOrder,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// For an order a technician opened on site: where it came from and
    /// whether dispatch confirmed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_on_site: Option<OpenedOnSite>,
    /// Effective milestones: dispatch's entries combined with record evidence.
    pub milestones: Milestones,
    /// Milestones evidenced by records: the device's claim, the server's
    /// receive time, and the bracketed time judged on.
    pub evidence: Evidence,
    /// Empty for a cancelled order.
    pub deadlines: Vec<DeadlineStatus>,
    /// The version of the rule set its deadlines are judged by: the one in
    /// force when the order was received (0: the regulations' defaults).
    pub rule_set_version: u64,
    /// The latest visit ended without a fix (nobody home, entry refused,
    /// cannot finish today): the order is back with dispatch for another visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_another_visit: Option<AnotherVisit>,
    /// A repeat repair: the earlier repair or leak orders at this address
    /// within the rule set's window (`hearth_domain::repeats_of`, by the rule set in force when the order was received), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeat_of: Vec<String>,
}

fn view_from(
    snapshot: &Snapshot,
    body: &WorkOrderBody,
    facts: &[RecordFact],
    versions: &HashMap<String, Versions>,
    now: DateTime<Utc>,
    book: &RuleBook,
) -> OrderView {
    // Judged by the rules in force when the order was received: a later
    // change of the rule set never rewrites what was met or missed.
    let (rule_set_version, rules) = book.at(body.order.received_at);
    let evidence = evidence_of(facts, versions, &body.order.milestones);
    let milestones = compute::effective_milestones(&body.order.milestones, &evidence);
    let judged = WorkOrder { milestones: milestones.clone(), ..body.order.clone() };
    let deadlines = match body.status {
        OrderStatus::Cancelled => vec![],
        OrderStatus::Open | OrderStatus::Closed => deadlines(&judged, rules, now),
    };
    OrderView {
        id: snapshot.id.clone(),
        rev: snapshot.rev,
        updated_at_ms: snapshot.updated_at_ms,
        status: body.status,
        order: body.order.clone(),
        follow_up: body.follow_up.clone(),
        cancellation: body.cancellation.clone(),
        opened_on_site: body.opened_on_site.clone(),
        milestones,
        evidence,
        deadlines,
        rule_set_version,
        needs_another_visit: another_visit(body, facts, versions),
        repeat_of: vec![],
    }
}

/// Why an order needs another visit, from the latest visit's outcome record.
#[derive(Debug, Clone, Serialize)]
pub struct AnotherVisit {
    pub record_id: String,
    pub outcome: hearth_domain::OutcomeKind,
    pub at: DateTime<Utc>,
    /// What the technician wrote (entry refused) or agreed (the next appointment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_appointment: Option<hearth_domain::Appointment>,
}

/// The latest visit outcome among the trusted latest versions; `Some` when
/// it is not a fix and the order is still open.
fn another_visit(
    body: &WorkOrderBody,
    facts: &[RecordFact],
    versions: &HashMap<String, Versions>,
) -> Option<AnotherVisit> {
    if body.status != OrderStatus::Open {
        return None;
    }
    let latest = facts
        .iter()
        .filter(|f| {
            f.stored.schema == schema::VISIT_OUTCOME
                && f.trusted()
                && is_latest(versions, &f.stored.record_id)
        })
        .max_by_key(|f| f.stored.receipt.server_seq)?;
    let concluded: hearth_domain::ConcludedVisit =
        serde_json::from_value(Value::Object(latest.data()?.clone())).ok()?;
    let (reason, next_appointment) = match &concluded.outcome {
        VisitOutcome::Resolved => return None,
        VisitOutcome::NotResolved { next_appointment } => (None, *next_appointment),
        VisitOutcome::NobodyHome { next_appointment, .. } => (None, *next_appointment),
        VisitOutcome::RefusedEntry { reason } => (Some(reason.clone()), None),
    };
    Some(AnotherVisit {
        record_id: latest.stored.record_id.clone(),
        outcome: concluded.outcome.kind(),
        at: latest.bracket(concluded.at).at,
        reason,
        next_appointment,
    })
}

/// Flags each view that repeats an earlier repair at its address, judged
/// by the rule set in force when the newer order was received.
fn flag_repeats(views: &mut [OrderView], all: &[(Snapshot, WorkOrderBody)], book: &RuleBook) {
    let candidates: Vec<RepeatCandidate> = all.iter().map(|(_, b)| b.repeat_candidate()).collect();
    for view in views {
        if let Some(me) = candidates.iter().find(|c| c.id == view.id) {
            let rules = book.at(me.received_at).1.follow_up();
            view.repeat_of =
                hearth_domain::repeats_of(me, &candidates, rules).into_iter().map(str::to_owned).collect();
        }
    }
}

pub async fn order_view(
    state: &AppState,
    snapshot: &Snapshot,
    body: &WorkOrderBody,
    now: DateTime<Utc>,
    book: &RuleBook,
) -> ApiResult<OrderView> {
    let facts = record_facts(state, &snapshot.id).await?;
    let versions = versions_of(&facts);
    Ok(view_from(snapshot, body, &facts, &versions, now, book))
}

/// A board flag `flag=` filters on (several, comma-separated, must all hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoardFlag {
    /// `repeat_of` is not empty.
    Repeat,
    /// `needs_another_visit` is present.
    AnotherVisit,
    /// A technician opened the order on site (`opened_on_site` present).
    OpenedOnSite,
    /// A deadline still to meet has passed.
    Overdue,
}

impl BoardFlag {
    const ALL: [(Self, &'static str); 4] = [
        (Self::Repeat, "repeat"),
        (Self::AnotherVisit, "another_visit"),
        (Self::OpenedOnSite, "opened_on_site"),
        (Self::Overdue, "overdue"),
    ];

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, name)| *name == text).map(|(f, _)| *f)
    }
}

/// Default and largest page (`limit`).
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// `GET /v1/office/work-orders` filters and paging; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub category: Option<WorkOrderCategory>,
    pub technician: Option<String>,
    /// Lower-cased search text (order id, customer, phone, address, technician).
    pub q: Option<String>,
    pub flags: Vec<BoardFlag>,
    /// `None` (neither `limit` nor `cursor` given): every match, as before paging.
    pub limit: Option<usize>,
    /// The `(sort key, id)` of the last order of the previous page.
    pub after: Option<(i64, String)>,
}

/// The opaque cursor: base64url (no padding) of `<sort key>:<order id>`.
pub fn encode_cursor(key: i64, id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{key}:{id}"))
}

fn decode_cursor(text: &str) -> ApiResult<(i64, String)> {
    use base64::Engine as _;
    let bad = || bad_field("cursor", "is not a cursor this server gave (take it from the Link header)");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (key, id) = text.split_once(':').ok_or_else(bad)?;
    let key = key.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((key, id.to_owned()))
}

impl OrderFilter {
    /// From query parameters; unknown parameters and values are refused.
    pub fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        let mut filter = Self::default();
        let mut paged = false;
        for (key, value) in query {
            match key.as_str() {
                "status" => {
                    filter.status = Some(
                        OrderStatus::parse(value)
                            .ok_or_else(|| bad_field("status", "must be one of open, cancelled, closed"))?,
                    );
                }
                "category" => filter.category = Some(input::category("category", value)?),
                "technician" => filter.technician = Some(input::identifier("technician", value)?),
                "q" => {
                    let q = value.trim().to_lowercase();
                    if q.chars().count() > 100 {
                        return Err(bad_field("q", "is longer than 100 characters"));
                    }
                    filter.q = (!q.is_empty()).then_some(q);
                }
                "flag" => {
                    for name in value.split(',') {
                        let flag = BoardFlag::parse(name.trim()).ok_or_else(|| {
                            bad_field("flag", "must be repeat, another_visit, opened_on_site or overdue")
                        })?;
                        if !filter.flags.contains(&flag) {
                            filter.flags.push(flag);
                        }
                    }
                }
                "limit" => {
                    let limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| bad_field("limit", "must be a whole number from 1 to 200"))?;
                    filter.limit = Some(limit);
                    paged = true;
                }
                "cursor" => {
                    filter.after = Some(decode_cursor(value)?);
                    paged = true;
                }
                other => {
                    return Err(bad_field(
                        other,
                        "is not a filter here (status, category, technician, q, flag, limit, cursor)",
                    ));
                }
            }
        }
        if paged && filter.limit.is_none() {
            filter.limit = Some(DEFAULT_PAGE);
        }
        Ok(filter)
    }

    fn has(&self, flag: BoardFlag) -> bool {
        self.flags.contains(&flag)
    }

    fn board_query(&self, now_ms: i64) -> BoardQuery {
        BoardQuery {
            now_ms,
            status: self.status.map(|s| wire(&s)),
            category: self.category.map(|c| wire(&c)),
            technician: self.technician.clone(),
            q: self.q.clone(),
            repeat: self.has(BoardFlag::Repeat),
            another_visit: self.has(BoardFlag::AnotherVisit),
            opened_on_site: self.has(BoardFlag::OpenedOnSite),
            overdue: self.has(BoardFlag::Overdue),
            after: self.after.clone(),
            // One more than asked: whether a next page exists.
            limit: self.limit.map(|l| l + 1),
        }
    }

    /// The same filter on a computed view (the in-memory reference).
    fn keeps_view(&self, view: &OrderView, search: &str, key: i64, now_ms: i64) -> bool {
        self.status.is_none_or(|s| s == view.status)
            && self.category.is_none_or(|c| c == view.order.category)
            && self
                .technician
                .as_deref()
                .is_none_or(|t| view.order.assigned_technicians.iter().any(|a| a.as_str() == t))
            && self.q.as_deref().is_none_or(|q| search.contains(q))
            && (!self.has(BoardFlag::Repeat) || !view.repeat_of.is_empty())
            && (!self.has(BoardFlag::AnotherVisit) || view.needs_another_visit.is_some())
            && (!self.has(BoardFlag::OpenedOnSite) || view.opened_on_site.is_some())
            && (!self.has(BoardFlag::Overdue) || key < now_ms)
    }
}

/// A serde enum's wire name ("open", "leak").
fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

async fn all_orders(state: &AppState) -> ApiResult<Vec<(Snapshot, WorkOrderBody)>> {
    let mut out = Vec::new();
    for s in state.storage.snapshots(SnapshotKind::WorkOrder).await? {
        let body = work_order_body(&s)?;
        out.push((s, body));
    }
    Ok(out)
}

/// Record facts of many orders at once: one query for the entries, one for
/// the receive times their `last_receipt_seq` names; grouped by order.
async fn facts_of_orders(state: &AppState, ids: &[String]) -> ApiResult<HashMap<String, Vec<RecordFact>>> {
    let entries = state.storage.entries_for_work_orders(ids).await?;
    let decoded: Vec<_> = entries.iter().map(|e| decode_envelope(&e.envelope).ok()).collect();
    let mut seqs: Vec<u64> =
        decoded.iter().flatten().filter_map(|d| d.entry.last_receipt_seq).collect::<Vec<_>>();
    seqs.sort_unstable();
    seqs.dedup();
    let received = state.storage.received_at_of_server_seqs(&seqs).await?;
    let mut out: HashMap<String, Vec<RecordFact>> = HashMap::new();
    for (stored, decoded) in entries.into_iter().zip(decoded) {
        if decoded.is_none() {
            tracing::warn!(record_id = %stored.record_id, "a stored envelope no longer decodes");
        }
        let not_before = decoded
            .as_ref()
            .and_then(|d| d.entry.last_receipt_seq)
            .and_then(|seq| received.get(&seq))
            .filter(|(device, _)| *device == stored.device_id)
            .map(|(_, ms)| ms_to_utc(*ms));
        let Some(order) = stored.work_order_id.clone() else { continue };
        out.entry(order).or_default().push(RecordFact {
            sealed_at_ms: decoded.as_ref().map(|d| d.entry.sealed_at_ms),
            content: decoded.map(|d| d.content().clone()),
            not_before,
            stored,
        });
    }
    Ok(out)
}

/// The board's sort key of a view: the nearest deadline still to meet
/// (open, at risk, or missed and not reached), `BOARD_NO_DEADLINE` if none.
fn board_key(view: &OrderView) -> i64 {
    view.deadlines
        .iter()
        .filter(|d| match d.state {
            DeadlineState::Open | DeadlineState::AtRisk => true,
            DeadlineState::Missed { at } => at.is_none(),
            DeadlineState::Met { .. } => false,
        })
        .map(|d| d.due.timestamp_millis())
        .min()
        .unwrap_or(BOARD_NO_DEADLINE)
}

/// What `q` searches, lower-cased, fields apart (a query never spans two).
fn search_text(body: &WorkOrderBody, tech_names: &HashMap<String, String>) -> String {
    let o = &body.order;
    let a = &o.customer.address;
    let mut parts: Vec<&str> = vec![
        o.id.as_str(),
        o.customer.name.expose(),
        o.customer.phone.expose(),
        a.community.as_str(),
        a.building.as_str(),
        a.unit.as_str(),
        a.room.as_str(),
    ];
    for t in &o.assigned_technicians {
        parts.push(t.as_str());
        if let Some(name) = tech_names.get(t.as_str()) {
            parts.push(name);
        }
    }
    parts.join("\u{1f}").to_lowercase()
}

async fn technician_names(state: &AppState) -> ApiResult<HashMap<String, String>> {
    Ok(state
        .storage
        .snapshots(SnapshotKind::Technician)
        .await?
        .into_iter()
        .filter_map(|s| Some((s.id, s.body.get("name")?.as_str()?.to_owned())))
        .collect())
}

/// The board's row of one order, judged by the same functions as its view.
/// The sort key cannot depend on the clock except through the late notice
/// (`hearth_domain::deadlines` adds it once the appointment's window has
/// closed with nobody on site): the key before and after that moment.
fn board_row(
    snapshot: &Snapshot,
    body: &WorkOrderBody,
    facts: &[RecordFact],
    book: &RuleBook,
    tech_names: &HashMap<String, String>,
    built_from_gen: i64,
) -> BoardRow {
    let versions = versions_of(facts);
    let before = body.order.received_at;
    let view = view_from(snapshot, body, facts, &versions, before, book);
    let due_ms = board_key(&view);
    let (late_due_ms, switch_ms) = match (&body.status, body.order.appointment) {
        (OrderStatus::Cancelled, _) | (_, None) => (due_ms, None),
        (_, Some(appointment)) => {
            let end = appointment.end();
            let after =
                view_from(snapshot, body, facts, &versions, end + chrono::TimeDelta::milliseconds(1), book);
            let late = board_key(&after);
            if late == due_ms { (due_ms, None) } else { (late, Some(end.timestamp_millis())) }
        }
    };
    BoardRow {
        id: snapshot.id.clone(),
        built_from_gen,
        status: Some(wire(&body.status)),
        category: Some(wire(&body.order.category)),
        technicians: body.order.assigned_technicians.iter().map(|t| t.as_str().to_owned()).collect(),
        search: search_text(body, tech_names),
        address_key: body.order.customer.address.key(),
        received_at_ms: body.order.received_at.timestamp_millis(),
        due_ms,
        late_due_ms,
        switch_ms,
        repeat: false,
        another_visit: view.needs_another_visit.is_some(),
        opened_on_site: body.opened_on_site.is_some(),
    }
}

/// The repeat links of every order at these addresses (`hearth_domain::repeats_of`).
async fn repeats_at(
    state: &AppState,
    address_keys: &[String],
    book: &RuleBook,
) -> ApiResult<HashMap<String, Vec<String>>> {
    let ids = order_ids_at(state, address_keys).await?;
    let mut bodies = Vec::new();
    for chunk in ids.chunks(BOARD_CHUNK) {
        for s in state.storage.snapshots_of(SnapshotKind::WorkOrder, chunk).await? {
            if let Ok(body) = work_order_body(&s) {
                bodies.push(body);
            }
        }
    }
    let mut by_address: HashMap<String, Vec<RepeatCandidate>> = HashMap::new();
    for b in &bodies {
        by_address.entry(b.order.customer.address.key()).or_default().push(b.repeat_candidate());
    }
    let mut out = HashMap::new();
    for candidates in by_address.values() {
        for me in candidates {
            let rules = book.at(me.received_at).1.follow_up();
            let repeats: Vec<String> =
                hearth_domain::repeats_of(me, candidates, rules).into_iter().map(str::to_owned).collect();
            out.insert(me.id.clone(), repeats);
        }
    }
    Ok(out)
}

/// Orders judged per round trip when the board is rebuilt or a page loaded.
const BOARD_CHUNK: usize = 500;

/// Stale rows a read brings up to date itself before its query: after
/// ordinary writes, the few rows they touched. More is a backlog (after an
/// upgrade, an import, orders filed straight into the database) that
/// `keep_board_current` works through in the background; a paged read then
/// brings up to date only the rows its page shows.
pub const INLINE_REFRESH: usize = 200;

/// Rows the background rebuild judges per hold of the refresh lock: a reader
/// waits for at most one such chunk.
const BACKGROUND_CHUNK: usize = 100;

/// Rounds of "judge the page's stale rows again, query again" a paged read
/// makes during a backlog: a row judged again can leave the page and let
/// another (perhaps stale) one in.
const PAGE_ROUNDS: usize = 4;

/// One refresh at a time: two readers finding the same stale rows would do
/// the same work twice.
static REFRESH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One address pass at a time (`ensure_addresses`).
static ADDRESSES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every row not built yet gets its address key from its snapshot, so the
/// address index (`board_ids_at`: repeat links, a new order's earlier
/// repairs) finds every order at a home while rows wait to be judged. An
/// order's address never changes after it is filed. Only snapshots are
/// read, no records: a few seconds for 100 000 orders.
async fn ensure_addresses(state: &AppState) -> ApiResult<()> {
    let _one = ADDRESSES.lock().await;
    let mut after = String::new();
    loop {
        let ids = state.storage.board_unaddressed(&after, BOARD_CHUNK).await?;
        let Some(last) = ids.last() else { return Ok(()) };
        after = last.clone();
        let keys = state
            .storage
            .snapshots_of(SnapshotKind::WorkOrder, &ids)
            .await?
            .iter()
            .filter_map(|s| Some((s.id.clone(), work_order_body(s).ok()?.order.customer.address.key())))
            .collect();
        state.storage.board_set_addresses(keys).await?;
    }
}

/// Ids of every order at these address keys, built into the board or not.
pub async fn order_ids_at(state: &AppState, address_keys: &[String]) -> ApiResult<Vec<String>> {
    ensure_addresses(state).await?;
    Ok(state.storage.board_ids_at(address_keys).await?)
}

/// Judges the rows `(id, gen)` again and stores them, then the repeat flags
/// of every order at the same addresses with them.
async fn refresh_rows(
    state: &AppState,
    stale: &[(String, i64)],
    names: &HashMap<String, String>,
    book: &RuleBook,
) -> ApiResult<()> {
    let ids: Vec<String> = stale.iter().map(|(id, _)| id.clone()).collect();
    let snapshots: HashMap<String, Snapshot> = state
        .storage
        .snapshots_of(SnapshotKind::WorkOrder, &ids)
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut facts = facts_of_orders(state, &ids).await?;
    let mut rows = Vec::with_capacity(stale.len());
    let mut addresses = Vec::new();
    for (id, generation) in stale {
        let body = snapshots.get(id).and_then(|s| work_order_body(s).ok().map(|b| (s, b)));
        let row = match body {
            Some((snapshot, body)) => {
                board_row(snapshot, &body, &facts.remove(id).unwrap_or_default(), book, names, *generation)
            }
            // Never listed: no snapshot (yet), or one that does not decode.
            None => BoardRow {
                id: id.clone(),
                built_from_gen: *generation,
                status: None,
                category: None,
                technicians: vec![],
                search: String::new(),
                address_key: String::new(),
                received_at_ms: 0,
                due_ms: BOARD_NO_DEADLINE,
                late_due_ms: BOARD_NO_DEADLINE,
                switch_ms: None,
                repeat: false,
                another_visit: false,
                opened_on_site: false,
            },
        };
        addresses.push(row.address_key.clone());
        rows.push(row);
    }
    // An order's address never changes after it is filed, so the
    // addresses it is at now are all whose repeats it can change.
    addresses.sort_unstable();
    addresses.dedup();
    state.storage.board_put(rows).await?;
    let repeats = repeats_at(state, &addresses, book).await?;
    state.storage.board_set_repeat(repeats.into_iter().map(|(id, r)| (id, !r.is_empty())).collect()).await?;
    Ok(())
}

/// Brings up to date the stale rows `stale` finds (under the refresh lock);
/// answers how many there were.
async fn refresh_found<F, Fut>(state: &AppState, stale: F) -> ApiResult<usize>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = crate::storage::StorageResult<Vec<(String, i64)>>>,
{
    let _one = REFRESH.lock().await;
    let stale = stale().await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let names = technician_names(state).await?;
    let book = crate::rules::rule_book(state).await?;
    for chunk in stale.chunks(BOARD_CHUNK) {
        refresh_rows(state, chunk, &names, &book).await?;
    }
    Ok(stale.len())
}

/// Brings the board's rows up to date: every order whose snapshot or
/// records changed since its row was built is judged again, and the repeat
/// flags of every order at the same addresses with it.
/// How many orders the background rebuild still has to judge, when it has
/// more than a page read judges inline (a backlog: after an upgrade or a
/// large import); `None` otherwise. The board says so, since orders not
/// built yet are missing from a page until the rebuild reaches them.
pub async fn board_backlog(state: &AppState) -> ApiResult<Option<u64>> {
    if state.storage.board_stale(INLINE_REFRESH + 1).await?.len() <= INLINE_REFRESH {
        return Ok(None);
    }
    Ok(Some(state.storage.board_stale_count().await?))
}

pub async fn refresh_board(state: &AppState) -> ApiResult<()> {
    while refresh_found(state, || state.storage.board_stale(BOARD_CHUNK)).await? > 0 {}
    Ok(())
}

/// Every stale row brought up to date a chunk at a time, the address keys
/// of rows never built first; answers how many rows were judged.
pub async fn rebuild_board(state: &AppState) -> ApiResult<u64> {
    ensure_addresses(state).await?;
    let mut judged = 0;
    loop {
        let n = refresh_found(state, || state.storage.board_stale(BACKGROUND_CHUNK)).await?;
        if n == 0 {
            return Ok(judged);
        }
        judged += n as u64;
    }
}

/// The board kept current in the background (`hearth-server serve` starts
/// it): the backlog found at start-up (an upgrade, orders filed straight
/// into the database), then a look every few seconds for a new one (an
/// import, another server's writes), so that reads only ever judge the few
/// rows a write just touched, or during a backlog the rows of their page.
pub async fn keep_board_current(state: AppState) {
    loop {
        let started = std::time::Instant::now();
        match rebuild_board(&state).await {
            Ok(0) => {}
            Ok(judged) => {
                tracing::info!(
                    judged,
                    seconds = started.elapsed().as_secs_f64(),
                    "board index brought up to date"
                )
            }
            Err(e) => {
                tracing::warn!(error = %e.message, "bringing the board index up to date failed; trying again")
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
}

/// The views of these orders, in this order, with their repeat links.
async fn views_of(
    state: &AppState,
    ids: &[String],
    now: DateTime<Utc>,
    book: &RuleBook,
) -> ApiResult<Vec<OrderView>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BOARD_CHUNK) {
        let snapshots: HashMap<String, Snapshot> = state
            .storage
            .snapshots_of(SnapshotKind::WorkOrder, chunk)
            .await?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let mut facts = facts_of_orders(state, chunk).await?;
        let mut views = Vec::with_capacity(chunk.len());
        let mut addresses = Vec::new();
        for id in chunk {
            let Some(snapshot) = snapshots.get(id) else { continue };
            let body = work_order_body(snapshot)?;
            let facts = facts.remove(id).unwrap_or_default();
            let versions = versions_of(&facts);
            addresses.push(body.order.customer.address.key());
            views.push(view_from(snapshot, &body, &facts, &versions, now, book));
        }
        addresses.sort_unstable();
        addresses.dedup();
        let mut repeats = repeats_at(state, &addresses, book).await?;
        for view in &mut views {
            view.repeat_of = repeats.remove(&view.id).unwrap_or_default();
        }
        out.extend(views);
    }
    Ok(out)
}

/// A page of the board: the orders that pass `filter` in the board's order
/// (nearest deadline still to meet first, so overdue on top; none last;
/// ties by id), and the cursor of the next page when there is one.
///
/// The board never lists an order by a stale row. Up to `INLINE_REFRESH`
/// stale rows are judged again before the query (complete, as the writes
/// left it). During a larger backlog, which the background rebuild is
/// working through, a page (`limit` or `cursor` given) judges again only
/// the stale rows it would show and queries again; orders whose rows are not
/// built yet are missing from it until the rebuild reaches them. A request
/// for every match waits for the whole rebuild, as it must.
pub async fn work_orders(
    state: &AppState,
    filter: &OrderFilter,
) -> ApiResult<(Vec<OrderView>, Option<String>)> {
    let backlog = state.storage.board_stale(INLINE_REFRESH + 1).await?.len() > INLINE_REFRESH;
    let page_only = backlog && filter.limit.is_some();
    if !page_only {
        refresh_board(state).await?;
    }
    let now_ms = state.now_ms();
    let query = filter.board_query(now_ms);
    let mut page = state.storage.board_page(&query).await?;
    if page_only {
        for _ in 0..PAGE_ROUNDS {
            let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
            if refresh_found(state, || state.storage.board_stale_among(&ids)).await? == 0 {
                break;
            }
            page = state.storage.board_page(&query).await?;
        }
    }
    let next = match filter.limit {
        Some(limit) if page.len() > limit => {
            page.truncate(limit);
            page.last().map(|(id, key)| encode_cursor(*key, id))
        }
        _ => None,
    };
    let ids: Vec<String> = page.into_iter().map(|(id, _)| id).collect();
    let book = crate::rules::rule_book(state).await?;
    Ok((views_of(state, &ids, ms_to_utc(now_ms), &book).await?, next))
}

/// The board as it was computed before the index: every order judged in
/// memory, then filtered and sorted. The reference the indexed board is
/// tested against (tests/board.rs); never used to answer a request.
pub async fn work_orders_in_memory(state: &AppState, filter: &OrderFilter) -> ApiResult<Vec<OrderView>> {
    let now_ms = state.now_ms();
    let now = ms_to_utc(now_ms);
    let book = crate::rules::rule_book(state).await?;
    let names = technician_names(state).await?;
    let all = all_orders(state).await?;
    let mut views = Vec::new();
    for (snapshot, body) in &all {
        views.push((order_view(state, snapshot, body, now, &book).await?, search_text(body, &names)));
    }
    let mut only: Vec<OrderView> = views.iter().map(|(v, _)| v.clone()).collect();
    flag_repeats(&mut only, &all, &book);
    let mut out: Vec<(i64, OrderView)> = only
        .into_iter()
        .zip(views.iter().map(|(_, s)| s))
        .map(|(v, s)| (board_key(&v), v, s))
        .filter(|(k, v, s)| filter.keeps_view(v, s, *k, now_ms))
        .filter(|(k, v, _)| filter.after.as_ref().is_none_or(|(ak, aid)| (*k, &v.id) > (*ak, aid)))
        .map(|(k, v, _)| (k, v))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    if let Some(limit) = filter.limit {
        out.truncate(limit);
    }
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// A technician's place on a record, and whether their signature is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerView {
    pub role: SignerRole,
    pub tech_id: String,
    pub kid: String,
    pub signed: bool,
}

fn signers(f: &RecordFact) -> Vec<SignerView> {
    let Some(content) = &f.content else { return vec![] };
    content
        .signers
        .iter()
        .map(|s| SignerView {
            role: s.role,
            tech_id: s.tech_id.clone(),
            kid: s.kid.clone(),
            signed: f.stored.envelope.tech_sigs.iter().any(|g| g.role == s.role && g.kid == s.kid),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupersedesView {
    pub record_id: String,
    pub reason: String,
    /// Whether the original is among this order's records with the content
    /// hash the correction names (only then does it count).
    pub bound: bool,
}

/// One stored record of an order.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub record_id: String,
    pub schema: String,
    pub device_id: String,
    pub seq: u64,
    pub server_seq: u64,
    pub content_hash: String,
    pub status: ReceiptStatus,
    pub flags: Vec<String>,
    pub received_at: DateTime<Utc>,
    /// The device's `created.device_time_ms` claim, bracketed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<Bracketed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tz_offset_min: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed_at_ms: Option<i64>,
    pub signers: Vec<SignerView>,
    pub refs: Vec<RecordRef>,
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<SupersedesView>,
    pub superseded_by: Vec<String>,
    pub latest: bool,
    pub latest_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
}

pub(crate) fn record_view(
    f: &RecordFact,
    versions: &HashMap<String, Versions>,
    by_id: &HashMap<&str, &RecordFact>,
) -> RecordView {
    let v = versions.get(&f.stored.record_id);
    let content = f.content.as_ref();
    RecordView {
        record_id: f.stored.record_id.clone(),
        schema: f.stored.schema.clone(),
        device_id: f.stored.device_id.clone(),
        seq: f.stored.seq,
        server_seq: f.stored.receipt.server_seq,
        content_hash: f.stored.content_hash.clone(),
        status: f.stored.receipt.status,
        flags: f.stored.flags.clone(),
        received_at: f.received_at(),
        claimed: content.map(|c| f.bracket(ms_to_utc(c.created.device_time_ms))),
        tz_offset_min: content.map(|c| c.created.tz_offset_min),
        sealed_at_ms: f.sealed_at_ms,
        signers: signers(f),
        refs: content.map(|c| c.refs.clone()).unwrap_or_default(),
        attachments: content.map(|c| c.attachments.clone()).unwrap_or_default(),
        supersedes: content.and_then(|c| c.supersedes.as_ref()).map(|s| SupersedesView {
            record_id: s.record_id.clone(),
            reason: s.reason.clone(),
            bound: bound_supersedes(f, by_id).is_some(),
        }),
        superseded_by: v.map(|v| v.superseded_by.clone()).unwrap_or_default(),
        latest: v.is_none_or(|v| v.latest),
        latest_version: v.map_or_else(|| f.stored.record_id.clone(), |v| v.latest_version.clone()),
        data: content.map(|c| c.data.clone()),
    }
}

/// `GET /v1/office/work-orders/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub view: OrderView,
    pub history: Vec<HistoryEntry>,
    /// In the order the server received them.
    pub records: Vec<RecordView>,
}

pub async fn work_order_detail(state: &AppState, id: &str) -> ApiResult<OrderDetail> {
    let snapshot = state
        .storage
        .snapshot(SnapshotKind::WorkOrder, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the work order"))?;
    let body = work_order_body(&snapshot)?;
    let book = crate::rules::rule_book(state).await?;
    let facts = record_facts(state, id).await?;
    let versions = versions_of(&facts);
    let mut view = [view_from(&snapshot, &body, &facts, &versions, ms_to_utc(state.now_ms()), &book)];
    flag_repeats(&mut view, &all_orders(state).await?, &book);
    let [view] = view;
    let by_id: HashMap<&str, &RecordFact> = facts.iter().map(|f| (f.stored.record_id.as_str(), f)).collect();
    let records = facts.iter().map(|f| record_view(f, &versions, &by_id)).collect();
    Ok(OrderDetail { view, history: body.history.clone(), records })
}

/// One order waiting for its follow-up call.
#[derive(Debug, Clone, Serialize)]
pub struct FollowUpItem {
    pub id: String,
    pub rev: u64,
    pub category: WorkOrderCategory,
    /// Who to call and where they live.
    pub customer: Customer,
    /// Effective (bracketed) completion.
    pub completed_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_evidence: Option<Evidenced>,
    /// Minutes since completion.
    pub waiting_minutes: i64,
    /// When the call is due (the rule set's window from completion), the
    /// minutes left and whether it is late: on the queue from completion.
    pub due: hearth_domain::FollowUpDue,
    /// An earlier attempt that did not reach the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<FollowUp>,
}

impl FollowUpItem {
    /// The queue's order: oldest completion first, ties by order id.
    pub fn sort_key(&self) -> super::paging::SortKey {
        super::paging::SortKey::new(self.completed_at.timestamp_millis(), 0, &self.id)
    }

    /// Whether `q` (lower-cased) is in the order id, the customer's name or
    /// phone, or a part of the address.
    pub fn matches(&self, q: &str) -> bool {
        let c = &self.customer;
        let a = &c.address;
        [
            self.id.as_str(),
            c.name.expose(),
            c.phone.expose(),
            a.community.as_str(),
            a.building.as_str(),
            a.unit.as_str(),
            a.room.as_str(),
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(q))
    }
}

/// `GET /v1/office/follow-ups` parameters: `q`, `limit`, `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpQuery {
    /// Lower-cased search text.
    pub q: Option<String>,
    pub page: super::paging::PageRequest,
}

impl FollowUpQuery {
    pub fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        super::only(query, &["q", "limit", "cursor"])?;
        let q = input::optional_text("q", query.get("q").map(String::as_str), input::MAX_SHORT_TEXT, false)?
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        Ok(Self { q, page: super::paging::PageRequest::parse(query)? })
    }
}

/// A page of the follow-up queue that passes `query`, and the next page's cursor.
pub async fn follow_ups_page(
    state: &AppState,
    query: &FollowUpQuery,
) -> ApiResult<(Vec<FollowUpItem>, Option<String>)> {
    let mut items = follow_ups(state).await?;
    if let Some(q) = &query.q {
        items.retain(|i| i.matches(q));
    }
    Ok(query.page.page(items, FollowUpItem::sort_key))
}

/// Every order on the follow-up queue: see `hearth_domain::follow_up_queue`.
pub async fn follow_ups(state: &AppState) -> ApiResult<Vec<FollowUpItem>> {
    let now = ms_to_utc(state.now_ms());
    let book = crate::rules::rule_book(state).await?;
    let rules = book.current().1.clone();
    let mut views: HashMap<String, OrderView> = HashMap::new();
    let mut candidates = Vec::new();
    for (snapshot, body) in all_orders(state).await? {
        // Only open repair-type orders can be due; skip loading the others' records.
        if body.status != OrderStatus::Open || !FollowUpRules::gets_call(body.order.category) {
            continue;
        }
        let view = order_view(state, &snapshot, &body, now, &book).await?;
        candidates.push(FollowUpCandidate {
            id: view.id.clone(),
            category: view.order.category,
            open: view.status == OrderStatus::Open,
            completed_at: view.milestones.completed_at,
            follow_up_at: view.milestones.follow_up_at,
        });
        views.insert(view.id.clone(), view);
    }
    let mut out = Vec::new();
    for c in hearth_domain::follow_up_queue(&candidates, now) {
        let (Some(view), Some(completed_at)) = (views.remove(&c.id), c.completed_at) else { continue };
        out.push(FollowUpItem {
            id: view.id,
            rev: view.rev,
            category: view.order.category,
            customer: view.order.customer,
            completed_at,
            completed_evidence: view.evidence.completed_at,
            waiting_minutes: now.signed_duration_since(completed_at).num_minutes(),
            due: rules.follow_up_due(completed_at, now),
            last_attempt: view.follow_up,
        });
    }
    Ok(out)
}

/// `GET /v1/office/repeat-repairs[?category=]`: see `hearth_domain::repeat_repairs`.
pub async fn repeat_repairs(
    state: &AppState,
    category: Option<WorkOrderCategory>,
) -> ApiResult<Vec<RepeatGroup>> {
    let candidates: Vec<RepeatCandidate> = all_orders(state)
        .await?
        .iter()
        .filter(|(_, b)| category.is_none_or(|c| c == b.order.category))
        .map(|(_, b)| b.repeat_candidate())
        .collect();
    let rules = crate::rules::rule_set(state).await?;
    Ok(hearth_domain::repeat_repairs(&candidates, rules.follow_up()))
}

/// The customer's answer to a test report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CustomerAnswer {
    Signed {
        record_id: String,
        satisfaction: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    Refused {
        record_id: String,
        reason: String,
    },
    /// No sign-off record binds the report (yet): the report is not valid
    /// (测温记录无用户签字无效) and does not count.
    Missing,
}

/// What the server needs to judge reports as the office reads them: its
/// rule set, its thermometer registry, and the reviewers' decisions on the
/// flagged reports and sign-offs.
#[derive(Debug, Clone, Default)]
pub struct Judge {
    pub book: crate::rules::RuleBook,
    pub thermometers: HashMap<String, Thermometer>,
    pub decisions: HashMap<String, Vec<ReviewDecision>>,
}

impl Judge {
    pub async fn load(state: &AppState) -> ApiResult<Self> {
        let thermometers = state
            .storage
            .snapshots(SnapshotKind::Thermometer)
            .await?
            .into_iter()
            .filter_map(|s| serde_json::from_value::<Thermometer>(s.body).ok())
            .map(|t| (t.serial.as_str().to_owned(), t))
            .collect();
        Ok(Self { book: crate::rules::rule_book(state).await?, thermometers, decisions: HashMap::new() })
    }

    /// Loads the decisions on the flagged reports and sign-offs among `facts`.
    async fn load_decisions(&mut self, state: &AppState, facts: &[RecordFact]) -> ApiResult<()> {
        for f in facts.iter().filter(|f| {
            !f.stored.flags.is_empty()
                && (f.stored.schema == schema::TEMPERATURE_TEST
                    || f.stored.schema == schema::CUSTOMER_SIGNOFF)
        }) {
            let decisions = state.storage.review_decisions(&f.stored.record_id).await?;
            self.decisions.insert(f.stored.record_id.clone(), decisions);
        }
        Ok(())
    }

    /// The decision in force on a record: the latest one.
    fn in_force(&self, record_id: &str) -> Option<ReviewVerdict> {
        self.decisions.get(record_id).and_then(|d| d.last()).map(|d| d.decision)
    }

    /// Flags gate money: a flagged record counts only once a reviewer accepted it.
    fn cleared(&self, f: &RecordFact) -> bool {
        f.stored.flags.is_empty() || self.in_force(&f.stored.record_id) == Some(ReviewVerdict::Accept)
    }
}

/// One temperature-test report record.
#[derive(Debug, Clone, Serialize)]
pub struct TestView {
    pub record_id: String,
    pub work_order_id: String,
    pub address: Address,
    /// The report as sealed: median, reading count, per-room compliance,
    /// as the tablet judged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<TemperatureReport>,
    /// The server's verdict, judged from the sealed readings by its own rule
    /// set and registry, each reading at its bracketed time in the company's
    /// zone. This is the office's verdict; `report.compliance` is the
    /// tablet's claim beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged: Option<TestCompliance>,
    /// What the server finds wrong with the evidence as it judges it now.
    pub judgement_flags: Vec<String>,
    /// Reviewers' decisions on this report, oldest first; the last is in force.
    pub reviews: Vec<ReviewDecision>,
    /// Measured outside every heating season (the rule set's): shown,
    /// flagged, and never counted toward non-compliant days.
    pub outside_heating_season: bool,
    /// The version of the rule set it was judged by: the one in force when
    /// it was measured (0: the regulations' defaults).
    pub rule_set_version: u64,
    /// Performer and witness, each with whether their signature is on it.
    pub signers: Vec<SignerView>,
    pub customer: CustomerAnswer,
    /// The first bound reading's time, bracketed (the report's own claim
    /// when no reading is found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<Bracketed>,
    /// Company-local date of `measured_at.at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_on: Option<NaiveDate>,
    pub status: ReceiptStatus,
    pub flags: Vec<String>,
    pub latest: bool,
    pub superseded_by: Vec<String>,
    /// Whether it counts toward the address's compliance history (and so
    /// toward the fee): the latest version, judged by the server, signed or
    /// refused by the customer, and the report and that sign-off each either
    /// unflagged or accepted by a reviewer.
    pub counts: bool,
}

impl TestView {
    /// The report as a household's history counts it (needs the server's
    /// verdict and a measured date; whether it counts at all is `counts`).
    pub fn counted(&self) -> Option<CountedTest> {
        Some(CountedTest {
            record_id: self.record_id.clone(),
            measured_on: self.measured_on?,
            verdict: self.judged.as_ref()?.verdict,
            customer_side_cause: self.report.as_ref().is_some_and(|r| r.customer_side_cause.is_some()),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TemperatureTests {
    pub tests: Vec<TestView>,
    /// Per address: the first date non-compliance was measured, and whether
    /// a later report found the home compliant again.
    pub addresses: Vec<AddressCompliance>,
}

fn customer_answer(
    report: &RecordFact,
    facts: &[RecordFact],
    versions: &HashMap<String, Versions>,
) -> CustomerAnswer {
    let binds = |f: &&RecordFact| {
        f.stored.schema == schema::CUSTOMER_SIGNOFF
            && is_latest(versions, &f.stored.record_id)
            && f.content.as_ref().is_some_and(|c| {
                c.refs.iter().any(|r| {
                    r.record_id == report.stored.record_id
                        && r.content_hash.to_hex() == report.stored.content_hash
                })
            })
    };
    let latest = facts.iter().filter(binds).max_by_key(|f| f.stored.receipt.server_seq);
    let Some(f) = latest else { return CustomerAnswer::Missing };
    let signoff =
        f.data().and_then(|d| serde_json::from_value::<CustomerSignoff>(Value::Object(d.clone())).ok());
    let record_id = f.stored.record_id.clone();
    match signoff {
        Some(CustomerSignoff::Signed { satisfaction, comment, .. }) => CustomerAnswer::Signed {
            record_id,
            satisfaction: satisfaction.value(),
            comment: comment.map(String::from),
        },
        Some(CustomerSignoff::Refused { reason, .. }) => {
            CustomerAnswer::Refused { record_id, reason: reason.into() }
        }
        None => CustomerAnswer::Missing,
    }
}

fn measured_at(report: &RecordFact, facts: &[RecordFact]) -> Option<Bracketed> {
    let content = report.content.as_ref()?;
    let by_reading = content
        .refs
        .iter()
        .filter_map(|r| facts.iter().find(|f| f.stored.record_id == r.record_id))
        .filter(|f| f.stored.schema == schema::TEMPERATURE_READING)
        .filter_map(|f| {
            let reading =
                serde_json::from_value::<TemperatureReading>(Value::Object(f.data()?.clone())).ok()?;
            Some(f.bracket(reading.taken_at.with_timezone(&Utc)))
        })
        .min_by_key(|b| b.at);
    by_reading.or_else(|| Some(report.bracket(ms_to_utc(content.created.device_time_ms))))
}

/// The readings among `facts` as the judge sees them.
fn sealed_readings(facts: &[RecordFact]) -> HashMap<String, SealedReading> {
    facts
        .iter()
        .filter_map(|f| {
            let sealed = SealedReading::of(ReadingPlace {
                content_hash: f.stored.content_hash.clone(),
                not_before: f.not_before,
                received_at: f.received_at(),
                flagged: !f.stored.flags.is_empty(),
                content: f.content.as_ref()?,
            })?;
            Some((f.stored.record_id.clone(), sealed))
        })
        .collect()
}

fn test_views(order: &WorkOrder, facts: &[RecordFact], judge: &Judge) -> Vec<TestView> {
    let versions = versions_of(facts);
    let readings = sealed_readings(facts);
    facts
        .iter()
        .filter(|f| f.stored.schema == schema::TEMPERATURE_TEST)
        .map(|f| {
            let report = f
                .data()
                .and_then(|d| serde_json::from_value::<TemperatureReport>(Value::Object(d.clone())).ok());
            let measured = measured_at(f, facts);
            // Judged by the rules in force when it was measured, never by a later change.
            let (rule_set_version, rules) = judge.book.at(measured.map_or_else(|| f.received_at(), |m| m.at));
            let (judged, judgement_flags) = match (&report, &f.content) {
                (Some(report), Some(content)) => {
                    let (judged, flags) = judge_sealed_report(
                        report,
                        content.work_order_id.as_deref(),
                        &content.refs,
                        &readings,
                        judge.thermometers.get(report.thermometer_serial.as_str()),
                        rules,
                    );
                    (judged.compliance, flags.into_iter().map(str::to_owned).collect())
                }
                _ => (None, vec![hearth_protocol::flags::INVALID_DATA.to_owned()]),
            };
            let customer = customer_answer(f, facts, &versions);
            let signoff_cleared = match &customer {
                CustomerAnswer::Signed { record_id, .. } | CustomerAnswer::Refused { record_id, .. } => {
                    facts.iter().find(|s| &s.stored.record_id == record_id).is_some_and(|s| judge.cleared(s))
                }
                CustomerAnswer::Missing => false,
            };
            let v = versions.get(&f.stored.record_id);
            let latest = v.is_none_or(|v| v.latest);
            TestView {
                record_id: f.stored.record_id.clone(),
                work_order_id: order.id.as_str().to_owned(),
                address: order.customer.address.clone(),
                counts: latest
                    && judged.is_some()
                    && signoff_cleared
                    && judge.cleared(f)
                    && measured.is_some(),
                report,
                judged,
                judgement_flags,
                reviews: judge.decisions.get(&f.stored.record_id).cloned().unwrap_or_default(),
                outside_heating_season: measured
                    .is_some_and(|m| rules.fee().season_of(compute::local_date(m.at)).is_none()),
                rule_set_version,
                signers: signers(f),
                customer,
                measured_on: measured.map(|m| compute::local_date(m.at)),
                measured_at: measured,
                status: f.stored.receipt.status,
                flags: f.stored.flags.clone(),
                latest,
                superseded_by: v.map(|v| v.superseded_by.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// `GET /v1/office/temperature-tests[?work_order=]`. With a work order, its
/// reports are listed and the compliance history covers every order at the
/// same address (an earlier order may hold the first cold measurement).
pub async fn temperature_tests(state: &AppState, work_order: Option<&str>) -> ApiResult<TemperatureTests> {
    let orders = all_orders(state).await?;
    let focus = match work_order {
        Some(id) => Some(
            orders
                .iter()
                .find(|(s, _)| s.id == id)
                .map(|(_, b)| b.order.customer.address.key())
                .ok_or_else(|| ApiError::not_found("the work order"))?,
        ),
        None => None,
    };
    let mut tests = Vec::new();
    let mut judge = Judge::load(state).await?;
    for (snapshot, body) in &orders {
        if focus.as_ref().is_some_and(|key| *key != body.order.customer.address.key()) {
            continue;
        }
        let facts = record_facts(state, &snapshot.id).await?;
        judge.load_decisions(state, &facts).await?;
        tests.extend(test_views(&body.order, &facts, &judge));
    }
    let homes: Vec<HomeTest> = tests
        .iter()
        .filter(|t| t.counts)
        .filter_map(|t| {
            Some(HomeTest {
                address: t.address.clone(),
                work_order_id: t.work_order_id.clone(),
                measured_at: t.measured_at?.at,
                test: t.counted()?,
            })
        })
        .collect();
    let today = compute::local_date(ms_to_utc(state.now_ms()));
    let addresses = hearth_domain::compliance_by_address(&homes, today);
    if let Some(id) = work_order {
        tests.retain(|t| t.work_order_id == id);
    }
    tests.sort_by(|a, b| {
        let at = |t: &TestView| t.measured_at.map(|m| m.at);
        at(a).cmp(&at(b)).then_with(|| a.record_id.cmp(&b.record_id))
    });
    Ok(TemperatureTests { tests, addresses })
}
