//! The office's pure computations: time bracketing, record versions,
//! milestone evidence, the first non-compliance date, the follow-up queue,
//! repeat repairs, calling hours and work-order ids. No I/O and no clock:
//! "now" is always a parameter, so each rule is tested as a table of cases.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
pub use hearth_domain::Milestone;
use hearth_domain::{
    Address, CompletedStep, ConcludedVisit, EvidenceRecord, LateNotice, Milestones, RuleSet,
    TemperatureReading, WorkOrderCategory, milestone_claim,
};
use hearth_protocol::schema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::model::OrderStatus;

/// Time as Hearth judges it: the company's zone and the server's bracket
/// of device claims (protocol §8), one home in `hearth_domain::time`.
pub use hearth_domain::time::{
    Bracketed, COMPANY_UTC_OFFSET_MINUTES, bracket, company_offset, local_date, ms_to_utc,
};

/// The categories that get a follow-up call after completion (a complaint
/// is answered, not called back: its answer is the completion).
pub const REPAIR_TYPES: [WorkOrderCategory; 6] = [
    WorkOrderCategory::Repair,
    WorkOrderCategory::Leak,
    WorkOrderCategory::ValveOpen,
    WorkOrderCategory::ValveClose,
    WorkOrderCategory::MeterCheck,
    WorkOrderCategory::NetworkBurst,
];

/// Whether a follow-up call may be made at `now`, company time: the rule
/// set's calling hours and meal times (`hearth_domain::FollowUpRules`).
pub fn may_call_at(rules: &RuleSet, now: DateTime<Utc>) -> Result<(), hearth_domain::CallRefusal> {
    rules.follow_up().may_call_at(now, company_offset())
}

/// One record's place in supersession: which record it corrects (only when
/// the correction names the original's exact content hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLink<'a> {
    pub record_id: &'a str,
    pub supersedes: Option<&'a str>,
    pub server_seq: u64,
}

/// Where a record stands among its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Records that name this one in `supersedes` (corrections and voids).
    pub superseded_by: Vec<String>,
    /// The newest version of this record: itself when nothing supersedes
    /// it; otherwise the end of the chain of corrections (when two records
    /// correct the same one, the one the server received last wins).
    pub latest_version: String,
    /// Whether this record is the latest version of itself.
    pub latest: bool,
}

pub fn versions(records: &[RecordLink<'_>]) -> HashMap<String, Versions> {
    let seq_of: HashMap<&str, u64> = records.iter().map(|r| (r.record_id, r.server_seq)).collect();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in records {
        if let Some(parent) = r.supersedes
            && parent != r.record_id
            && seq_of.contains_key(parent)
        {
            children.entry(parent).or_default().push(r.record_id);
        }
    }
    for kids in children.values_mut() {
        kids.sort_by_key(|k| seq_of.get(k).copied().unwrap_or(0));
    }
    let mut out = HashMap::new();
    for r in records {
        let superseded_by: Vec<String> = children
            .get(r.record_id)
            .map(|k| k.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        let mut current = r.record_id;
        let mut seen = HashSet::from([current]);
        while let Some(next) = children.get(current).and_then(|k| k.last()).copied() {
            if !seen.insert(next) {
                break;
            }
            current = next;
        }
        out.insert(
            r.record_id.to_owned(),
            Versions { latest: superseded_by.is_empty(), superseded_by, latest_version: current.to_owned() },
        );
    }
    out
}

/// What a record's content claims about the order's milestones: the
/// record's data rebuilt as its domain value, and the one rule of
/// `hearth_domain::evidence` (the tablet applies the same). Data that does
/// not rebuild its domain value claims nothing.
pub fn milestone_claims(
    schema_name: &str,
    data: &Map<String, Value>,
    created_ms: i64,
) -> Vec<(Milestone, DateTime<Utc>)> {
    let value = Value::Object(data.clone());
    let claim = match schema_name {
        schema::VISIT_STEP => serde_json::from_value::<CompletedStep>(value)
            .ok()
            .and_then(|s| milestone_claim(EvidenceRecord::Step(&s))),
        schema::VISIT_OUTCOME => serde_json::from_value::<ConcludedVisit>(value)
            .ok()
            .and_then(|o| milestone_claim(EvidenceRecord::Outcome(&o))),
        schema::TEMPERATURE_READING => serde_json::from_value::<TemperatureReading>(value)
            .ok()
            .and_then(|r| milestone_claim(EvidenceRecord::Reading(&r))),
        schema::TEMPERATURE_TEST => {
            milestone_claim(EvidenceRecord::Report { made_at: ms_to_utc(created_ms) })
        }
        schema::LATE_NOTICE => serde_json::from_value::<LateNotice>(value)
            .ok()
            .and_then(|n| milestone_claim(EvidenceRecord::LateNotice(&n))),
        schema::ORDER_ACCEPTED => serde_json::from_value::<hearth_domain::OrderAccepted>(value)
            .ok()
            .and_then(|a| milestone_claim(EvidenceRecord::Accepted { at: a.accepted_at })),
        _ => None,
    };
    claim.into_iter().collect()
}

/// A milestone as a record evidences it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidenced {
    pub record_id: String,
    #[serde(flatten)]
    pub time: Bracketed,
}

/// The earliest evidence of each milestone among the records that count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacted_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_site_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_notice_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Evidenced>,
}

impl Evidence {
    /// Keeps `candidate` when it is earlier (by bracketed time) than what is held.
    pub fn offer(&mut self, milestone: Milestone, candidate: Evidenced) {
        let slot = match milestone {
            Milestone::ContactedAt => &mut self.contacted_at,
            Milestone::OnSiteAt => &mut self.on_site_at,
            Milestone::CompletedAt => &mut self.completed_at,
            Milestone::LateNoticeAt => &mut self.late_notice_at,
            Milestone::AcceptedAt => &mut self.accepted_at,
        };
        if slot.as_ref().is_none_or(|held| candidate.time.at < held.time.at) {
            *slot = Some(candidate);
        }
    }
}

/// The milestones deadlines are judged on (`hearth_domain::effective_milestones`):
/// for each evidenced milestone, the earlier of what dispatch recorded (a
/// trusted operator, never in the future when entered) and the bracketed
/// time of the evidencing record. The rest is as dispatch recorded it.
pub fn effective_milestones(recorded: &Milestones, evidence: &Evidence) -> Milestones {
    let evidenced = [
        (Milestone::ContactedAt, &evidence.contacted_at),
        (Milestone::OnSiteAt, &evidence.on_site_at),
        (Milestone::CompletedAt, &evidence.completed_at),
        (Milestone::LateNoticeAt, &evidence.late_notice_at),
        (Milestone::AcceptedAt, &evidence.accepted_at),
    ];
    hearth_domain::effective_milestones(
        recorded,
        evidenced.into_iter().filter_map(|(m, e)| e.as_ref().map(|e| (m, e.time.at))),
    )
}

/// Folds an address for comparison: no whitespace (ASCII or the
/// ideographic space), full-width ASCII forms as half-width, ASCII lower
/// case; the four parts joined by a separator that cannot occur in them.
pub fn address_key(a: &Address) -> String {
    fn fold(text: &str) -> String {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }
    [&a.community, &a.building, &a.unit, &a.room].map(|p| fold(p.as_str())).join("\u{1f}")
}

/// One counted temperature report, for the compliance history of its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPoint {
    pub address: Address,
    pub work_order_id: String,
    pub record_id: String,
    /// Bracketed time of the first reading.
    pub measured_at: DateTime<Utc>,
    pub compliant: bool,
}

/// A stretch of non-compliance: from the local date of the report that
/// found the home below standard until the date of the first later report
/// that found it compliant (absent while it lasts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub from_record_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_record_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressCompliance {
    pub address: Address,
    pub work_orders: Vec<String>,
    pub reports: usize,
    /// The earliest local date a report found this home below standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_non_compliant_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_non_compliant_record_id: Option<String>,
    /// Whether a report after the last non-compliant one found it compliant.
    pub compliant_again: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant_again_on: Option<NaiveDate>,
    /// Every stretch of non-compliance, oldest first.
    pub periods: Vec<Period>,
}

/// Groups reports by address and walks each address's reports in time
/// order: a non-compliant report opens a period (if none is open), a
/// compliant one closes the open period. Addresses come out in key order.
pub fn compliance_by_address(points: &[ReportPoint]) -> Vec<AddressCompliance> {
    let mut by_address: BTreeMap<String, Vec<&ReportPoint>> = BTreeMap::new();
    for p in points {
        by_address.entry(address_key(&p.address)).or_default().push(p);
    }
    let mut out = Vec::new();
    for (_, mut reports) in by_address {
        reports.sort_by(|a, b| a.measured_at.cmp(&b.measured_at).then_with(|| a.record_id.cmp(&b.record_id)));
        let Some(first) = reports.first() else { continue };
        let mut periods: Vec<Period> = Vec::new();
        for r in &reports {
            let open = periods.last_mut().filter(|p| p.until.is_none());
            match (r.compliant, open) {
                (false, None) => periods.push(Period {
                    from: local_date(r.measured_at),
                    from_record_id: r.record_id.clone(),
                    until: None,
                    until_record_id: None,
                }),
                (true, Some(p)) => {
                    p.until = Some(local_date(r.measured_at));
                    p.until_record_id = Some(r.record_id.clone());
                }
                _ => {}
            }
        }
        let mut work_orders: Vec<String> = Vec::new();
        for r in &reports {
            if !work_orders.contains(&r.work_order_id) {
                work_orders.push(r.work_order_id.clone());
            }
        }
        let last = periods.last();
        out.push(AddressCompliance {
            address: first.address.clone(),
            work_orders,
            reports: reports.len(),
            first_non_compliant_on: periods.first().map(|p| p.from),
            first_non_compliant_record_id: periods.first().map(|p| p.from_record_id.clone()),
            compliant_again: last.is_some_and(|p| p.until.is_some()),
            compliant_again_on: last.and_then(|p| p.until),
            periods,
        });
    }
    out
}

/// What the follow-up queue needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpCandidate {
    pub id: String,
    pub category: WorkOrderCategory,
    pub status: OrderStatus,
    /// Effective (bracketed) completion time.
    pub completed_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
}

/// Whether the order is waiting for its follow-up call: an open repair-type
/// order, completed, no call recorded. It is on the queue from completion
/// (with the time left, `hearth_domain::FollowUpDue`), not once its window
/// has passed: a queue that starts at the deadline makes every call late.
pub fn follow_up_due(c: &FollowUpCandidate, _rules: &RuleSet, now: DateTime<Utc>) -> bool {
    c.status == OrderStatus::Open
        && REPAIR_TYPES.contains(&c.category)
        && c.follow_up_at.is_none()
        && c.completed_at.is_some_and(|done| done <= now)
}

/// The follow-up queue: the due orders, oldest completion first.
pub fn follow_up_queue<'a>(
    candidates: &'a [FollowUpCandidate],
    rules: &RuleSet,
    now: DateTime<Utc>,
) -> Vec<&'a FollowUpCandidate> {
    let mut due: Vec<&FollowUpCandidate> =
        candidates.iter().filter(|c| follow_up_due(c, rules, now)).collect();
    due.sort_by(|a, b| a.completed_at.cmp(&b.completed_at).then_with(|| a.id.cmp(&b.id)));
    due
}

/// What repeat-repair detection needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatCandidate {
    pub id: String,
    pub category: WorkOrderCategory,
    pub address: Address,
    pub received_at: DateTime<Utc>,
    pub status: OrderStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepeatMember {
    pub id: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepeatGroup {
    pub category: WorkOrderCategory,
    pub address: Address,
    /// Oldest first; each received within the window of the one before.
    pub work_orders: Vec<RepeatMember>,
}

/// Repair and leak orders at the same address (see [`address_key`]) where
/// each was received within the rule set's window of the previous one
/// (`hearth_domain::FollowUpRules::repeats`); cancelled orders, temperature
/// tests, valve and meter jobs do not count. Groups of two or more, oldest
/// group first.
pub fn repeat_repairs(candidates: &[RepeatCandidate], rules: &RuleSet) -> Vec<RepeatGroup> {
    let follow_up = rules.follow_up();
    let mut by_key: HashMap<String, Vec<&RepeatCandidate>> = HashMap::new();
    for c in candidates.iter().filter(|c| {
        c.status != OrderStatus::Cancelled && hearth_domain::FollowUpRules::counts_as_repair(c.category)
    }) {
        by_key.entry(address_key(&c.address)).or_default().push(c);
    }
    let mut groups = Vec::new();
    for (_, mut orders) in by_key {
        orders.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
        let mut run: Vec<&RepeatCandidate> = Vec::new();
        for o in orders {
            if let Some(prev) = run.last()
                && !follow_up.repeats((prev.category, prev.received_at), (o.category, o.received_at))
            {
                push_group(&mut groups, &run);
                run.clear();
            }
            run.push(o);
        }
        push_group(&mut groups, &run);
    }
    groups.sort_by(|a, b| {
        let first = |g: &RepeatGroup| g.work_orders.first().map(|m| (m.received_at, m.id.clone()));
        first(a).cmp(&first(b))
    });
    groups
}

/// The earlier orders `order` repeats: repairs or leaks at the same address
/// within the window before it. Flagged on the order for the dispatcher and
/// the technician.
pub fn repeats_of<'a>(
    order: &RepeatCandidate,
    others: &'a [RepeatCandidate],
    rules: &RuleSet,
) -> Vec<&'a str> {
    let key = address_key(&order.address);
    let mut earlier: Vec<&RepeatCandidate> = others
        .iter()
        .filter(|o| o.id != order.id && o.status != OrderStatus::Cancelled && address_key(&o.address) == key)
        .filter(|o| {
            o.received_at < order.received_at || (o.received_at == order.received_at && o.id < order.id)
        })
        .filter(|o| {
            rules.follow_up().repeats((o.category, o.received_at), (order.category, order.received_at))
        })
        .collect();
    earlier.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
    earlier.into_iter().map(|o| o.id.as_str()).collect()
}

fn push_group(groups: &mut Vec<RepeatGroup>, run: &[&RepeatCandidate]) {
    if let [first, _, ..] = run {
        groups.push(RepeatGroup {
            category: first.category,
            address: first.address.clone(),
            work_orders: run
                .iter()
                .map(|o| RepeatMember { id: o.id.clone(), received_at: o.received_at })
                .collect(),
        });
    }
}

/// `WO-YYYYMMDD-NNNN`: the next number for that date after the ids taken.
pub fn next_work_order_id<'a>(date: NaiveDate, taken: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("WO-{}-", date.format("%Y%m%d"));
    let highest = taken
        .into_iter()
        .filter_map(|id| id.strip_prefix(&prefix))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:04}", highest.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 10, h, m, 0).single().unwrap_or_default()
    }

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, d, 2, 0, 0).single().unwrap_or_default()
    }

    fn addr(community: &str, room: &str) -> Address {
        Address::new(community, "3号楼", "2单元", room).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_claim_inside_the_bracket_is_kept() {
        let b = bracket(t(10, 0), Some(t(9, 0)), t(11, 0));
        assert_eq!(b.at, t(10, 0));
        assert!(!b.adjusted);
    }

    #[test]
    fn a_claim_before_the_last_held_receipt_is_moved_up_to_it() {
        let b = bracket(t(8, 0), Some(t(9, 0)), t(11, 0));
        assert_eq!(b.at, t(9, 0));
        assert!(b.adjusted);
        assert_eq!(b.claimed, t(8, 0), "the claim is still shown");
    }

    #[test]
    fn a_claim_after_the_server_received_the_record_is_moved_back() {
        assert_eq!(bracket(t(12, 0), Some(t(9, 0)), t(11, 0)).at, t(11, 0));
        assert_eq!(bracket(t(12, 0), None, t(11, 0)).at, t(11, 0));
    }

    #[test]
    fn without_a_held_receipt_any_earlier_claim_stands() {
        assert_eq!(bracket(t(1, 0), None, t(11, 0)).at, t(1, 0));
    }

    #[test]
    fn the_receive_time_wins_when_the_bounds_disagree() {
        // A receipt named as held that the server received after this record
        // cannot be right; never report a time after the record arrived.
        assert_eq!(bracket(t(8, 0), Some(t(12, 0)), t(11, 0)).at, t(11, 0));
    }

    #[test]
    fn calling_hours_are_seven_to_twenty_two_local_inclusive_and_not_at_meal_times() {
        // 07:00 local = 23:00 UTC the day before.
        let local = |h: u32, m: u32, s: u32| {
            company_offset()
                .with_ymd_and_hms(2025, 1, 10, h, m, s)
                .single()
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            ((6, 59, 59), false),
            ((7, 0, 0), true),
            ((11, 29, 59), true),
            ((12, 30, 0), false),
            ((13, 30, 0), true),
            ((18, 0, 0), false),
            ((22, 0, 0), true),
            ((22, 0, 1), false),
            ((23, 30, 0), false),
            ((0, 0, 0), false),
        ];
        for ((h, m, s), allowed) in cases {
            assert_eq!(
                may_call_at(&RuleSet::default(), local(h, m, s)).is_ok(),
                allowed,
                "{h:02}:{m:02}:{s:02}"
            );
        }
    }

    #[test]
    fn versions_follow_corrections_to_the_newest() {
        let links = [
            RecordLink { record_id: "a", supersedes: None, server_seq: 1 },
            RecordLink { record_id: "b", supersedes: Some("a"), server_seq: 2 },
            RecordLink { record_id: "c", supersedes: Some("b"), server_seq: 3 },
            RecordLink { record_id: "x", supersedes: None, server_seq: 4 },
            RecordLink { record_id: "y", supersedes: Some("unknown"), server_seq: 5 },
        ];
        let v = versions(&links);
        assert_eq!(v["a"].superseded_by, vec!["b".to_owned()]);
        assert_eq!(v["a"].latest_version, "c");
        assert!(!v["a"].latest && !v["b"].latest);
        assert!(v["c"].latest);
        assert_eq!(v["c"].latest_version, "c");
        assert!(v["x"].latest);
        assert!(v["y"].latest, "a correction of a record not here changes nothing");
    }

    #[test]
    fn when_two_records_correct_one_the_last_received_is_the_latest() {
        let links = [
            RecordLink { record_id: "a", supersedes: None, server_seq: 1 },
            RecordLink { record_id: "late", supersedes: Some("a"), server_seq: 9 },
            RecordLink { record_id: "early", supersedes: Some("a"), server_seq: 5 },
        ];
        let v = versions(&links);
        assert_eq!(v["a"].latest_version, "late");
        assert_eq!(v["a"].superseded_by, vec!["early".to_owned(), "late".to_owned()]);
    }

    #[test]
    fn a_cycle_of_corrections_does_not_hang() {
        let links = [
            RecordLink { record_id: "a", supersedes: Some("b"), server_seq: 1 },
            RecordLink { record_id: "b", supersedes: Some("a"), server_seq: 2 },
        ];
        let v = versions(&links);
        assert!(!v["a"].latest && !v["b"].latest);
    }

    #[test]
    fn arrival_and_resolved_outcome_evidence_milestones() {
        let arrival = serde_json::json!({"at": "2025-01-10T02:00:00Z", "evidence": {"step": "arrival",
            "body_camera_on": true, "knocked_gently": true, "work_id_shown": true}});
        let Value::Object(data) = arrival else { panic!("object") };
        assert_eq!(milestone_claims(schema::VISIT_STEP, &data, 0), vec![(Milestone::OnSiteAt, t(2, 0))]);

        let outcome = serde_json::json!({"at": "2025-01-10T03:00:00Z", "outcome": {"kind": "resolved"}});
        let Value::Object(data) = outcome else { panic!("object") };
        assert_eq!(
            milestone_claims(schema::VISIT_OUTCOME, &data, 0),
            vec![(Milestone::CompletedAt, t(3, 0))]
        );

        let nobody = serde_json::json!({"at": "2025-01-10T03:00:00Z", "outcome": {"kind": "refused_entry", "reason": "x"}});
        let Value::Object(data) = nobody else { panic!("object") };
        assert_eq!(
            milestone_claims(schema::VISIT_OUTCOME, &data, 0),
            vec![(Milestone::OnSiteAt, t(3, 0))],
            "only a resolved visit completes; a refused entry proves the technician came"
        );
        assert!(milestone_claims("hearth.unknown/1", &Map::new(), 0).is_empty());
    }

    #[test]
    fn evidence_keeps_the_earliest_bracketed_time() {
        let mut e = Evidence::default();
        let ev = |id: &str, at| Evidenced { record_id: id.into(), time: bracket(at, None, t(23, 0)) };
        e.offer(Milestone::OnSiteAt, ev("late", t(5, 0)));
        e.offer(Milestone::OnSiteAt, ev("early", t(4, 0)));
        e.offer(Milestone::OnSiteAt, ev("later", t(6, 0)));
        assert_eq!(e.on_site_at.map(|x| x.record_id), Some("early".to_owned()));
    }

    #[test]
    fn effective_milestones_take_the_earlier_of_dispatch_and_evidence() {
        let recorded =
            Milestones { contacted_at: Some(t(1, 0)), on_site_at: Some(t(5, 0)), ..Milestones::default() };
        let ev = |at| Some(Evidenced { record_id: "r".into(), time: bracket(at, None, t(23, 0)) });
        let evidence = Evidence {
            contacted_at: ev(t(2, 0)),
            on_site_at: ev(t(4, 0)),
            completed_at: ev(t(6, 0)),
            late_notice_at: None,
            accepted_at: None,
        };
        let m = effective_milestones(&recorded, &evidence);
        assert_eq!(m.contacted_at, Some(t(1, 0)));
        assert_eq!(m.on_site_at, Some(t(4, 0)));
        assert_eq!(m.completed_at, Some(t(6, 0)));
    }

    #[test]
    fn addresses_compare_without_spaces_width_or_case() {
        let a = Address::new("幸福小区", "3号楼", "2单元", "301").unwrap_or_else(|e| panic!("{e}"));
        let b = Address::new("幸福 小区", "３号楼", "2单元", "301").unwrap_or_else(|e| panic!("{e}"));
        let c = Address::new("幸福小区", "3号楼", "2单元", "302").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(address_key(&a), address_key(&b));
        assert_ne!(address_key(&a), address_key(&c));
    }

    fn point(id: &str, address: &Address, at: DateTime<Utc>, compliant: bool) -> ReportPoint {
        ReportPoint {
            address: address.clone(),
            work_order_id: format!("WO-{id}"),
            record_id: id.into(),
            measured_at: at,
            compliant,
        }
    }

    #[test]
    fn the_first_non_compliant_date_is_the_earliest_below_standard_report() {
        let home = addr("幸福小区", "301");
        // 2025-01-03 20:00 UTC is 2025-01-04 local: the local date counts.
        let late_evening = Utc.with_ymd_and_hms(2025, 1, 3, 20, 0, 0).single().unwrap_or_default();
        let points = [
            point("ok-before", &home, day(1), true),
            point("cold-2", &home, day(8), false),
            point("cold-1", &home, late_evening, false),
        ];
        let summary = compliance_by_address(&points);
        assert_eq!(summary.len(), 1);
        let s = &summary[0];
        assert_eq!(s.first_non_compliant_on, NaiveDate::from_ymd_opt(2025, 1, 4));
        assert_eq!(s.first_non_compliant_record_id.as_deref(), Some("cold-1"));
        assert!(!s.compliant_again);
        assert_eq!(s.periods.len(), 1, "a second cold report continues the same period");
        assert_eq!(s.reports, 3);
    }

    #[test]
    fn a_later_compliant_report_ends_the_period_and_a_new_cold_one_opens_another() {
        let home = addr("幸福小区", "301");
        let points = [
            point("cold-1", &home, day(2), false),
            point("warm-1", &home, day(5), true),
            point("cold-2", &home, day(9), false),
        ];
        let s = &compliance_by_address(&points)[0];
        assert_eq!(s.periods.len(), 2);
        assert_eq!(s.periods[0].until, NaiveDate::from_ymd_opt(2025, 1, 5));
        assert_eq!(s.first_non_compliant_on, NaiveDate::from_ymd_opt(2025, 1, 2));
        assert!(!s.compliant_again, "cold again after the warm report");

        let healed = [point("cold-1", &home, day(2), false), point("warm-1", &home, day(5), true)];
        let s = &compliance_by_address(&healed)[0];
        assert!(s.compliant_again);
        assert_eq!(s.compliant_again_on, NaiveDate::from_ymd_opt(2025, 1, 5));
    }

    #[test]
    fn homes_that_were_always_compliant_have_no_date_and_addresses_stay_apart() {
        let a = addr("幸福小区", "301");
        let b = addr("幸福小区", "302");
        let points = [point("a", &a, day(2), true), point("b", &b, day(3), false)];
        let summary = compliance_by_address(&points);
        assert_eq!(summary.len(), 2);
        let of = |room: &str| summary.iter().find(|s| s.address.room.as_str() == room).cloned();
        assert_eq!(of("301").and_then(|s| s.first_non_compliant_on), None);
        assert_eq!(of("302").and_then(|s| s.first_non_compliant_on), NaiveDate::from_ymd_opt(2025, 1, 3));
    }

    fn cand(id: &str, category: WorkOrderCategory, completed: Option<DateTime<Utc>>) -> FollowUpCandidate {
        FollowUpCandidate {
            id: id.into(),
            category,
            status: OrderStatus::Open,
            completed_at: completed,
            follow_up_at: None,
        }
    }

    #[test]
    fn the_queue_holds_repair_orders_from_completion_without_a_call_oldest_first() {
        let now = day(20);
        let h = |hours: i64| Some(now - TimeDelta::hours(hours));
        let mut called = cand("called", WorkOrderCategory::Repair, h(60));
        called.follow_up_at = Some(now);
        let mut cancelled = cand("cancelled", WorkOrderCategory::Repair, h(60));
        cancelled.status = OrderStatus::Cancelled;
        let exactly =
            FollowUpCandidate { completed_at: h(48), ..cand("exactly-48h", WorkOrderCategory::Leak, None) };
        let candidates = [
            cand("leak-49h", WorkOrderCategory::Leak, h(49)),
            cand("repair-72h", WorkOrderCategory::Repair, h(72)),
            cand("repair-47h", WorkOrderCategory::Repair, h(47)),
            cand("test-72h", WorkOrderCategory::TemperatureTest, h(72)),
            cand("valve-50h", WorkOrderCategory::ValveOpen, h(50)),
            cand("not-done", WorkOrderCategory::Repair, None),
            cand("just-done", WorkOrderCategory::Repair, h(0)),
            called,
            cancelled,
            exactly,
        ];
        let queue: Vec<&str> =
            follow_up_queue(&candidates, &RuleSet::default(), now).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(queue, ["repair-72h", "valve-50h", "leak-49h", "exactly-48h", "repair-47h", "just-done"]);
    }

    fn rep(id: &str, category: WorkOrderCategory, address: &Address, d: u32) -> RepeatCandidate {
        RepeatCandidate {
            id: id.into(),
            category,
            address: address.clone(),
            received_at: day(d),
            status: OrderStatus::Open,
        }
    }

    #[test]
    fn repeat_repairs_group_repairs_and_leaks_within_30_days_at_the_same_address() {
        let home = addr("幸福小区", "301");
        let other = addr("幸福小区", "302");
        let mut cancelled = rep("cancelled", WorkOrderCategory::Leak, &home, 3);
        cancelled.status = OrderStatus::Cancelled;
        let candidates = [
            rep("leak-1", WorkOrderCategory::Leak, &home, 1),
            rep("leak-2", WorkOrderCategory::Leak, &home, 21),
            rep("repair-1", WorkOrderCategory::Repair, &home, 2),
            rep("other-leak", WorkOrderCategory::Leak, &other, 2),
            rep("test-1", WorkOrderCategory::TemperatureTest, &home, 3),
            rep("test-2", WorkOrderCategory::TemperatureTest, &home, 4),
            rep("valve-1", WorkOrderCategory::ValveOpen, &home, 5),
            cancelled,
        ];
        let rules = RuleSet::default();
        let groups = repeat_repairs(&candidates, &rules);
        assert_eq!(groups.len(), 1, "tests and valve jobs are not repairs");
        let ids: Vec<&str> = groups[0].work_orders.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["leak-1", "repair-1", "leak-2"]);
        assert_eq!(groups[0].category, WorkOrderCategory::Leak);
        assert_eq!(
            repeats_of(&candidates[1], &candidates, &rules),
            ["leak-1", "repair-1"],
            "flagged on the newer order"
        );
        assert!(repeats_of(&candidates[0], &candidates, &rules).is_empty());
        assert!(repeats_of(&candidates[5], &candidates, &rules).is_empty());
    }

    #[test]
    fn orders_more_than_30_days_apart_are_not_repeats() {
        let home = addr("幸福小区", "301");
        let a = rep("a", WorkOrderCategory::Repair, &home, 1);
        let mut b = rep("b", WorkOrderCategory::Repair, &home, 1);
        b.received_at = a.received_at + TimeDelta::days(30) + TimeDelta::seconds(1);
        let rules = RuleSet::default();
        assert!(repeat_repairs(&[a.clone(), b.clone()], &rules).is_empty());
        let mut c = rep("c", WorkOrderCategory::Repair, &home, 1);
        c.received_at = a.received_at + TimeDelta::days(30);
        assert_eq!(repeat_repairs(&[a.clone(), c], &rules).len(), 1, "exactly 30 days is within");
        // The window is a setting.
        let mut longer = serde_json::to_value(&rules).unwrap_or_default();
        longer["follow_up"]["repeat_window_days"] = serde_json::json!(45);
        let longer = RuleSet::from_json(&longer).unwrap_or_default();
        assert_eq!(repeat_repairs(&[a, b], &longer).len(), 1);
    }

    #[test]
    fn work_order_ids_count_up_per_date() {
        let date = NaiveDate::from_ymd_opt(2025, 1, 10).unwrap_or_default();
        assert_eq!(next_work_order_id(date, []), "WO-20250110-0001");
        let taken = ["WO-20250110-0001", "WO-20250110-0007", "WO-20250109-0042", "WO-20250110-x", "custom"];
        assert_eq!(next_work_order_id(date, taken), "WO-20250110-0008");
    }
}
