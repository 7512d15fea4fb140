//! The manager's report: orders, deadlines met or missed, temperature
//! compliance, follow-up outcomes and repeat repairs, for a period of
//! company-local dates, grouped by station, community or technician.
//!
//! Pure aggregation of what the server already judged: each order comes
//! with its deadlines (`deadline::deadlines`), its follow-up call and its
//! repeat flag; each counted temperature test with the server's verdict.
//!
//! - An order belongs to the period by the company-local date it was
//!   received; a test by the company-local date it was measured.
//! - On time = met by the due time. A deadline still open (or at risk) is
//!   pending and left out of the rate: `rate = met / (met + missed)`, in
//!   per mille, absent when nothing was decided.
//! - By technician, an order of a two-person team counts for both; the
//!   totals count it once.
//! - A community belongs to the station the rule set maps it to
//!   (`RuleSet::stations`), or is its own station when unmapped.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::deadline::{DeadlineKind, DeadlineState, DeadlineStatus};
use crate::temperature::Compliance;
use crate::time::local_date;
use crate::work_order::WorkOrderCategory;

/// The longest period one report covers (a heating season and a little more).
pub const MAX_PERIOD_DAYS: i64 = 400;

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportGrouping {
    Station,
    Community,
    Technician,
}

impl ReportGrouping {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "station" => Some(Self::Station),
            "community" => Some(Self::Community),
            "technician" => Some(Self::Technician),
            _ => None,
        }
    }
}

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("ends ({to}) before it starts ({from})")]
    EndsBeforeStart { from: NaiveDate, to: NaiveDate },
    #[error("is longer than {MAX_PERIOD_DAYS} days")]
    TooLong,
}

/// Company-local dates, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from {
            return Err(PeriodError::EndsBeforeStart { from, to });
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// The calendar month holding `today`, from its first day to its last.
    pub fn month_of(today: NaiveDate) -> Self {
        let from = today.with_day(1).unwrap_or(today);
        let next = if from.month() == 12 {
            NaiveDate::from_ymd_opt(from.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(from.year(), from.month() + 1, 1)
        };
        let to = next.and_then(|n| n.pred_opt()).unwrap_or(from);
        Self { from, to }
    }

    pub fn holds_date(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Whether an instant falls on one of the period's company-local dates.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.holds_date(local_date(at))
    }
}

/// Where an order's follow-up call (回访) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    /// No call is due: not completed, cancelled, or a category without one.
    NotDue,
    /// Completed and due a call, none recorded yet.
    NotCalled,
    Satisfied,
    Unsatisfied,
    Unreachable,
}

/// One work order as the report counts it.
#[derive(Debug, Clone)]
pub struct ReportOrder {
    pub id: String,
    pub category: WorkOrderCategory,
    pub received_at: DateTime<Utc>,
    pub community: String,
    /// Tech ids; empty while unassigned.
    pub technicians: Vec<String>,
    pub cancelled: bool,
    pub deadlines: Vec<DeadlineStatus>,
    pub call: CallResult,
    /// It repeats an earlier repair at the same home.
    pub repeat: bool,
}

/// One temperature test the server counted, with its verdict.
#[derive(Debug, Clone)]
pub struct ReportTest {
    pub community: String,
    /// The technicians of its work order.
    pub technicians: Vec<String>,
    pub measured_on: NaiveDate,
    pub verdict: Compliance,
}

/// Deadlines of one kind: met, missed, still pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    pub met: u32,
    pub missed: u32,
    pub pending: u32,
}

impl Tally {
    /// `met / (met + missed)` in per mille, rounded half up; absent when
    /// nothing was decided yet.
    pub fn rate_permille(&self) -> Option<u32> {
        rate(self.met, self.missed)
    }
}

fn rate(good: u32, bad: u32) -> Option<u32> {
    let all = u64::from(good) + u64::from(bad);
    if all == 0 {
        return None;
    }
    u32::try_from((u64::from(good) * 2000 + all) / (2 * all)).ok()
}

/// The deadline kinds a report shows, in this order.
pub const REPORTED_KINDS: [DeadlineKind; 8] = [
    DeadlineKind::Accepted,
    DeadlineKind::Contact,
    DeadlineKind::OnSite,
    DeadlineKind::Fixed,
    DeadlineKind::TestersOnSite,
    DeadlineKind::ComplaintAnswered,
    DeadlineKind::LateNotice,
    DeadlineKind::FollowUpCall,
];

/// Every category, in the order a report shows them.
pub const REPORTED_CATEGORIES: [WorkOrderCategory; 8] = [
    WorkOrderCategory::Repair,
    WorkOrderCategory::Leak,
    WorkOrderCategory::TemperatureTest,
    WorkOrderCategory::ValveOpen,
    WorkOrderCategory::ValveClose,
    WorkOrderCategory::MeterCheck,
    WorkOrderCategory::Complaint,
    WorkOrderCategory::NetworkBurst,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindTally {
    pub kind: DeadlineKind,
    pub met: u32,
    pub missed: u32,
    pub pending: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_permille: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CategoryCount {
    pub category: WorkOrderCategory,
    pub orders: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FollowUpTally {
    pub satisfied: u32,
    pub unsatisfied: u32,
    pub unreachable: u32,
    pub not_called: u32,
}

/// One group's figures (or the totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Station or community name, or tech id ("" for unassigned orders).
    pub key: String,
    /// What a person reads: the key, or a technician's name (set by the caller).
    pub label: String,
    pub orders: u32,
    pub cancelled: u32,
    /// Every category, zeros included, in `REPORTED_CATEGORIES` order.
    pub by_category: Vec<CategoryCount>,
    /// Every kind in `REPORTED_KINDS` order, zeros included.
    pub deadlines: Vec<KindTally>,
    pub tests_compliant: u32,
    pub tests_non_compliant: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliance_rate_permille: Option<u32>,
    pub follow_up: FollowUpTally,
    pub repeat_repairs: u32,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    orders: u32,
    cancelled: u32,
    categories: BTreeMap<usize, u32>,
    kinds: BTreeMap<usize, Tally>,
    compliant: u32,
    non_compliant: u32,
    follow_up: FollowUpTally,
    repeats: u32,
}

impl Acc {
    fn add_order(&mut self, o: &ReportOrder) {
        self.orders += 1;
        if o.cancelled {
            self.cancelled += 1;
        }
        if let Some(i) = REPORTED_CATEGORIES.iter().position(|c| *c == o.category) {
            *self.categories.entry(i).or_default() += 1;
        }
        for d in &o.deadlines {
            let Some(i) = REPORTED_KINDS.iter().position(|k| *k == d.kind) else { continue };
            let t = self.kinds.entry(i).or_default();
            match d.state {
                DeadlineState::Met { .. } => t.met += 1,
                DeadlineState::Missed { .. } => t.missed += 1,
                DeadlineState::Open | DeadlineState::AtRisk => t.pending += 1,
            }
        }
        match o.call {
            CallResult::NotDue => {}
            CallResult::NotCalled => self.follow_up.not_called += 1,
            CallResult::Satisfied => self.follow_up.satisfied += 1,
            CallResult::Unsatisfied => self.follow_up.unsatisfied += 1,
            CallResult::Unreachable => self.follow_up.unreachable += 1,
        }
        if o.repeat {
            self.repeats += 1;
        }
    }

    fn add_test(&mut self, t: &ReportTest) {
        match t.verdict {
            Compliance::Compliant => self.compliant += 1,
            Compliance::BelowStandard => self.non_compliant += 1,
        }
    }

    fn row(&self, key: String) -> ReportRow {
        ReportRow {
            label: key.clone(),
            key,
            orders: self.orders,
            cancelled: self.cancelled,
            by_category: REPORTED_CATEGORIES
                .iter()
                .enumerate()
                .map(|(i, c)| CategoryCount {
                    category: *c,
                    orders: self.categories.get(&i).copied().unwrap_or(0),
                })
                .collect(),
            deadlines: REPORTED_KINDS
                .iter()
                .enumerate()
                .map(|(i, kind)| {
                    let t = self.kinds.get(&i).copied().unwrap_or_default();
                    KindTally {
                        kind: *kind,
                        met: t.met,
                        missed: t.missed,
                        pending: t.pending,
                        rate_permille: t.rate_permille(),
                    }
                })
                .collect(),
            tests_compliant: self.compliant,
            tests_non_compliant: self.non_compliant,
            compliance_rate_permille: rate(self.compliant, self.non_compliant),
            follow_up: self.follow_up,
            repeat_repairs: self.repeats,
        }
    }
}

/// The rows of a report and their totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub period: Period,
    pub group: ReportGrouping,
    /// One per group with an order or a test in the period, by key.
    pub rows: Vec<ReportRow>,
    /// Every order and test once (a team's order is not counted twice).
    pub total: ReportRow,
}

/// The station of a community: as mapped, or the community itself.
pub fn station_of<'a>(community: &'a str, stations: &'a BTreeMap<String, String>) -> &'a str {
    stations.get(community).map_or(community, String::as_str)
}

fn keys(
    grouping: ReportGrouping,
    community: &str,
    technicians: &[String],
    stations: &BTreeMap<String, String>,
) -> Vec<String> {
    match grouping {
        ReportGrouping::Station => vec![station_of(community, stations).to_owned()],
        ReportGrouping::Community => vec![community.to_owned()],
        ReportGrouping::Technician if technicians.is_empty() => vec![String::new()],
        ReportGrouping::Technician => {
            let mut ids = technicians.to_vec();
            ids.sort();
            ids.dedup();
            ids
        }
    }
}

/// Aggregates the orders received and the tests measured within `period`.
pub fn report(
    orders: &[ReportOrder],
    tests: &[ReportTest],
    group: ReportGrouping,
    period: Period,
    stations: &BTreeMap<String, String>,
) -> Report {
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for o in orders.iter().filter(|o| period.holds(o.received_at)) {
        total.add_order(o);
        for key in keys(group, &o.community, &o.technicians, stations) {
            groups.entry(key).or_default().add_order(o);
        }
    }
    for t in tests.iter().filter(|t| period.holds_date(t.measured_on)) {
        total.add_test(t);
        for key in keys(group, &t.community, &t.technicians, stations) {
            groups.entry(key).or_default().add_test(t);
        }
    }
    Report {
        period,
        group,
        rows: groups.into_iter().map(|(key, acc)| acc.row(key)).collect(),
        total: total.row(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    fn deadline(kind: DeadlineKind, state: DeadlineState) -> DeadlineStatus {
        DeadlineStatus { kind, due: utc("2025-01-10T02:00:00Z"), state }
    }

    fn met() -> DeadlineState {
        DeadlineState::Met { at: utc("2025-01-10T01:10:00Z") }
    }

    fn missed() -> DeadlineState {
        DeadlineState::Missed { at: None }
    }

    fn order(id: &str, community: &str, techs: &[&str], received: &str) -> ReportOrder {
        ReportOrder {
            id: id.into(),
            category: WorkOrderCategory::Leak,
            received_at: utc(received),
            community: community.into(),
            technicians: techs.iter().map(|t| (*t).to_owned()).collect(),
            cancelled: false,
            deadlines: vec![],
            call: CallResult::NotDue,
            repeat: false,
        }
    }

    fn test(community: &str, on: &str, verdict: Compliance) -> ReportTest {
        ReportTest {
            community: community.into(),
            technicians: vec!["T1".into()],
            measured_on: date(on),
            verdict,
        }
    }

    fn january() -> Period {
        Period::new(date("2025-01-01"), date("2025-01-31")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn kind(row: &ReportRow, kind: DeadlineKind) -> &KindTally {
        row.deadlines.iter().find(|k| k.kind == kind).unwrap_or_else(|| panic!("{kind:?}"))
    }

    #[test]
    fn on_time_rates_count_met_and_missed_and_leave_pending_out() {
        let mut a = order("A", "幸福小区", &["T1"], "2025-01-10T01:00:00Z");
        a.deadlines = vec![
            deadline(DeadlineKind::OnSite, met()),
            deadline(DeadlineKind::Accepted, DeadlineState::Open),
        ];
        let mut b = order("B", "幸福小区", &["T1"], "2025-01-10T01:00:00Z");
        b.deadlines = vec![deadline(DeadlineKind::OnSite, met())];
        let mut c = order("C", "幸福小区", &["T1"], "2025-01-10T01:00:00Z");
        c.deadlines = vec![
            deadline(DeadlineKind::OnSite, missed()),
            deadline(DeadlineKind::Accepted, DeadlineState::AtRisk),
        ];
        let r = report(&[a, b, c], &[], ReportGrouping::Community, january(), &BTreeMap::new());
        assert_eq!(r.rows.len(), 1);
        let on_site = kind(&r.rows[0], DeadlineKind::OnSite);
        assert_eq!((on_site.met, on_site.missed, on_site.pending), (2, 1, 0));
        assert_eq!(on_site.rate_permille, Some(667), "2 of 3, rounded half up");
        let accepted = kind(&r.rows[0], DeadlineKind::Accepted);
        assert_eq!((accepted.met, accepted.missed, accepted.pending), (0, 0, 2));
        assert_eq!(accepted.rate_permille, None, "nothing decided: no rate, not 0 %");
        assert_eq!(r.total.orders, 3);
    }

    #[test]
    fn compliance_follow_ups_categories_and_repeats_are_counted_per_group() {
        let mut a = order("A", "幸福小区", &["T1"], "2025-01-10T01:00:00Z");
        a.call = CallResult::Satisfied;
        a.repeat = true;
        let mut b = order("B", "幸福小区", &["T1"], "2025-01-11T01:00:00Z");
        b.call = CallResult::Unreachable;
        b.category = WorkOrderCategory::Repair;
        let mut c = order("C", "和平里", &["T2"], "2025-01-11T01:00:00Z");
        c.call = CallResult::NotCalled;
        c.cancelled = true;
        let tests = [
            test("幸福小区", "2025-01-12", Compliance::Compliant),
            test("幸福小区", "2025-01-13", Compliance::BelowStandard),
            test("幸福小区", "2025-01-14", Compliance::BelowStandard),
        ];
        let r = report(&[a, b, c], &tests, ReportGrouping::Community, january(), &BTreeMap::new());
        let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["和平里", "幸福小区"]);
        let happy = &r.rows[1];
        assert_eq!((happy.tests_compliant, happy.tests_non_compliant), (1, 2));
        assert_eq!(happy.compliance_rate_permille, Some(333));
        assert_eq!(
            happy.follow_up,
            FollowUpTally { satisfied: 1, unsatisfied: 0, unreachable: 1, not_called: 0 }
        );
        assert_eq!(happy.repeat_repairs, 1);
        let count = |row: &ReportRow, c| row.by_category.iter().find(|x| x.category == c).map(|x| x.orders);
        assert_eq!(count(happy, WorkOrderCategory::Leak), Some(1));
        assert_eq!(count(happy, WorkOrderCategory::Repair), Some(1));
        assert_eq!(count(happy, WorkOrderCategory::Complaint), Some(0), "zeros are listed");
        assert_eq!((r.rows[0].cancelled, r.rows[0].follow_up.not_called), (1, 1));
        assert_eq!(r.rows[0].compliance_rate_permille, None);
        assert_eq!(r.total.follow_up.not_called + r.total.follow_up.satisfied, 2);
    }

    #[test]
    fn an_empty_period_has_no_rows_and_totals_without_rates() {
        let a = order("A", "幸福小区", &["T1"], "2025-02-10T01:00:00Z");
        let r = report(&[a], &[], ReportGrouping::Station, january(), &BTreeMap::new());
        assert!(r.rows.is_empty());
        assert_eq!(r.total.orders, 0);
        assert_eq!(r.total.compliance_rate_permille, None);
        assert!(r.total.deadlines.iter().all(|k| k.rate_permille.is_none()));
        assert_eq!(r.total.deadlines.len(), REPORTED_KINDS.len());
    }

    #[test]
    fn the_period_is_company_dates_so_an_order_after_16_utc_belongs_to_the_next_day() {
        // 2025-01-31T16:30Z is 2025-02-01 00:30 in company time: February.
        let late = order("LATE", "幸福小区", &[], "2025-01-31T16:30:00Z");
        // 2024-12-31T16:00Z is 2025-01-01 00:00 in company time: January.
        let early = order("EARLY", "幸福小区", &[], "2024-12-31T16:00:00Z");
        let just_before = order("DEC", "幸福小区", &[], "2024-12-31T15:59:59Z");
        let r =
            report(&[late, early, just_before], &[], ReportGrouping::Community, january(), &BTreeMap::new());
        assert_eq!(r.total.orders, 1, "only EARLY is in January");
        let feb = Period::new(date("2025-02-01"), date("2025-02-01")).unwrap_or_else(|e| panic!("{e}"));
        assert!(feb.holds(utc("2025-01-31T16:30:00Z")));
        assert!(!feb.holds(utc("2025-02-01T16:00:00Z")), "that is 2 February in company time");
    }

    #[test]
    fn communities_go_to_their_mapped_station_or_are_their_own() {
        let stations = BTreeMap::from([("幸福小区".to_owned(), "东郊换热站".to_owned())]);
        let orders = [
            order("A", "幸福小区", &["T1"], "2025-01-10T01:00:00Z"),
            order("B", "和平里", &["T1"], "2025-01-10T01:00:00Z"),
        ];
        let r = report(&orders, &[], ReportGrouping::Station, january(), &stations);
        let keys: Vec<&str> = r.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["东郊换热站", "和平里"]);
    }

    #[test]
    fn a_team_order_counts_for_each_technician_and_once_in_the_totals() {
        let orders = [
            order("A", "幸福小区", &["T2", "T1"], "2025-01-10T01:00:00Z"),
            order("B", "幸福小区", &[], "2025-01-10T01:00:00Z"),
        ];
        let r = report(&orders, &[], ReportGrouping::Technician, january(), &BTreeMap::new());
        let keys: Vec<(&str, u32)> = r.rows.iter().map(|r| (r.key.as_str(), r.orders)).collect();
        assert_eq!(keys, [("", 1), ("T1", 1), ("T2", 1)], "unassigned has its own row");
        assert_eq!(r.total.orders, 2);
    }

    #[test]
    fn periods_are_checked_and_default_to_the_month() {
        assert!(matches!(
            Period::new(date("2025-01-31"), date("2025-01-01")),
            Err(PeriodError::EndsBeforeStart { .. })
        ));
        assert_eq!(Period::new(date("2025-01-01"), date("2026-12-31")), Err(PeriodError::TooLong));
        assert!(Period::new(date("2025-01-01"), date("2025-01-01")).is_ok(), "one day");
        let m = Period::month_of(date("2024-02-15"));
        assert_eq!((m.from, m.to), (date("2024-02-01"), date("2024-02-29")));
        let d = Period::month_of(date("2025-12-31"));
        assert_eq!((d.from, d.to), (date("2025-12-01"), date("2025-12-31")));
    }

    #[test]
    fn groupings_parse() {
        assert_eq!(ReportGrouping::parse("station"), Some(ReportGrouping::Station));
        assert_eq!(ReportGrouping::parse("technician"), Some(ReportGrouping::Technician));
        assert_eq!(ReportGrouping::parse("Station"), None);
    }

    #[test]
    fn the_station_map_is_an_optional_rule_set_setting_kept_when_stored() {
        use crate::rules::RuleSet;
        let mut value = serde_json::to_value(RuleSet::default()).unwrap_or_default();
        assert!(value.get("stations").is_none(), "absent while unset");
        value["stations"] = serde_json::json!({" 幸福小区 ": "东郊换热站", "空": " "});
        let rules = RuleSet::from_stored(&value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rules.stations(),
            &BTreeMap::from([("幸福小区".to_owned(), "东郊换热站".to_owned())]),
            "trimmed, blank entries dropped"
        );
        let again = RuleSet::from_json(&serde_json::to_value(&rules).unwrap_or_default());
        assert_eq!(again.map(|r| r.stations().len()).ok(), Some(1));
        assert_eq!(station_of("和平里", rules.stations()), "和平里");
    }
}
