//! Non-compliant days and the fee (室内温度不合格天数, `004…` 第二十六条).
//!
//! "From the day a measurement confirms the home is below standard until it
//! is back to standard, the days count as non-compliant; for those days the
//! customer pays 50 % of the heating fee, unless the cause is on the
//! customer's side (e.g. their own alterations)." Counted per household and
//! heating season (采暖期, default 1 November – 31 March, 第十六条), from the
//! tests the judge counted (signed or refused, unflagged or accepted).
//!
//! Days are calendar days in the company's zone: a stretch opened by a
//! below-standard test on day A and closed by a compliant test on day B
//! counts B − A days (A counts, B does not: the home was measured warm on
//! B). A stretch still open counts up to and including the earlier of
//! "today" and the season's last day.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Address;
use crate::temperature::Compliance;

/// Why the fee rules were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeRulesError {
    #[error("the heating season's {which} day {month:02}-{day:02} is not a calendar day")]
    NotADay { which: &'static str, month: u8, day: u8 },
    #[error("fee_reduction_percent must be 0 to 100, got {0}")]
    PercentOutOfRange(u8),
}

impl FeeRulesError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotADay { .. } => "rule_season_not_a_day",
            Self::PercentOutOfRange(_) => "rule_fee_percent_out_of_range",
        }
    }
}

/// The heating season and the fee consequence, as settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct FeeRules {
    /// First day of the season (inclusive), default 11-01.
    pub season_starts_month: u8,
    pub season_starts_day: u8,
    /// Last day of the season (inclusive), default 03-31 of the next year.
    pub season_ends_month: u8,
    pub season_ends_day: u8,
    /// The share of the heating fee waived for each non-compliant day not
    /// caused by the customer, default 50.
    pub fee_reduction_percent: u8,
}

impl Default for FeeRules {
    fn default() -> Self {
        Self {
            season_starts_month: 11,
            season_starts_day: 1,
            season_ends_month: 3,
            season_ends_day: 31,
            fee_reduction_percent: 50,
        }
    }
}

/// A month-day valid in every year: Feb 29 is refused (a season would move).
fn check_day(which: &'static str, month: u8, day: u8) -> Result<(), FeeRulesError> {
    let valid = NaiveDate::from_ymd_opt(2025, u32::from(month), u32::from(day)).is_some();
    if valid { Ok(()) } else { Err(FeeRulesError::NotADay { which, month, day }) }
}

impl FeeRules {
    pub fn check(&self) -> Result<(), FeeRulesError> {
        check_day("first", self.season_starts_month, self.season_starts_day)?;
        check_day("last", self.season_ends_month, self.season_ends_day)?;
        if self.fee_reduction_percent > 100 {
            return Err(FeeRulesError::PercentOutOfRange(self.fee_reduction_percent));
        }
        Ok(())
    }

    fn on(year: i32, month: u8, day: u8) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, u32::from(month), u32::from(day))
    }

    /// The season that `date` falls in, if any.
    pub fn season_of(&self, date: NaiveDate) -> Option<HeatingSeason> {
        let (sm, sd, em, ed) =
            (self.season_starts_month, self.season_starts_day, self.season_ends_month, self.season_ends_day);
        let spans_new_year = (sm, sd) > (em, ed);
        // Candidate seasons starting this year and last year.
        for start_year in [date.year(), date.year() - 1] {
            let end_year = if spans_new_year { start_year + 1 } else { start_year };
            let (Some(first), Some(last)) = (Self::on(start_year, sm, sd), Self::on(end_year, em, ed)) else {
                continue;
            };
            if first <= date && date <= last {
                return Some(HeatingSeason { first_day: first, last_day: last });
            }
        }
        None
    }
}

/// One heating season, both days inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HeatingSeason {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl HeatingSeason {
    /// "2026-2027" for a season spanning the new year, "2026" otherwise.
    pub fn label(&self) -> String {
        if self.first_day.year() == self.last_day.year() {
            self.first_day.year().to_string()
        } else {
            format!("{}-{}", self.first_day.year(), self.last_day.year())
        }
    }

    pub fn days(&self) -> u32 {
        days_between(self.first_day, self.last_day).saturating_add(1)
    }
}

fn days_between(from: NaiveDate, until: NaiveDate) -> u32 {
    u32::try_from((until - from).num_days()).unwrap_or(0)
}

/// A test that counts, as the household's history needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CountedTest {
    pub record_id: String,
    /// Company-local date of the (bracketed) measurement.
    pub measured_on: NaiveDate,
    pub verdict: Compliance,
    /// The testers recorded a cause on the customer's side (their own
    /// alterations): days it opens earn no reduction.
    pub customer_side_cause: bool,
}

/// A stretch of non-compliant days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NonCompliantStretch {
    /// The test that found the home below standard, and its date.
    pub from_record_id: String,
    pub from: NaiveDate,
    /// The test that found it back to standard; absent while it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_record_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    pub days: u32,
    /// A test in the stretch recorded a customer-side cause.
    pub customer_side_cause: bool,
}

/// One household's heating season: what was measured and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SeasonAccount {
    pub season: HeatingSeason,
    /// Every counted test in the season, oldest first.
    pub tests: Vec<CountedTest>,
    /// The first test that measured non-compliance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_non_compliant: Option<CountedTest>,
    /// The test that measured it back to standard (closing the last stretch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_to_standard: Option<CountedTest>,
    pub stretches: Vec<NonCompliantStretch>,
    pub non_compliant_days: u32,
    /// Non-compliant days not caused by the customer: the days the fee is reduced.
    pub reduced_days: u32,
    pub fee_reduction_percent: u8,
}

/// The household's account for `season`, from the tests that count (any
/// order; those outside the season are ignored — see [`outside_season`]),
/// as of `today` (company-local).
pub fn season_account(
    tests: &[CountedTest],
    season: HeatingSeason,
    today: NaiveDate,
    rules: &FeeRules,
) -> SeasonAccount {
    let mut tests: Vec<CountedTest> = tests
        .iter()
        .filter(|t| season.first_day <= t.measured_on && t.measured_on <= season.last_day)
        .cloned()
        .collect();
    tests.sort_by(|a, b| a.measured_on.cmp(&b.measured_on).then_with(|| a.record_id.cmp(&b.record_id)));
    let (mut stretches, mut back_to_standard) = walk_stretches(&tests);
    count_days(&mut stretches, today.min(season.last_day));
    if stretches.last().is_some_and(|s| s.until.is_none()) {
        back_to_standard = None;
    }
    let non_compliant_days = stretches.iter().map(|s| s.days).sum();
    let reduced_days = stretches.iter().filter(|s| !s.customer_side_cause).map(|s| s.days).sum();
    let first_non_compliant = tests.iter().find(|t| t.verdict == Compliance::BelowStandard).cloned();
    SeasonAccount {
        season,
        tests,
        first_non_compliant,
        back_to_standard,
        stretches,
        non_compliant_days,
        reduced_days,
        fee_reduction_percent: rules.fee_reduction_percent,
    }
}

/// Walks tests in the order given: a test below standard opens a stretch
/// (if none is open), a later one in the stretch adds its customer-side
/// cause, a compliant test closes the open stretch. Days are left at 0
/// ([`count_days`]). Also answers the test that closed the last stretch.
fn walk_stretches(tests: &[CountedTest]) -> (Vec<NonCompliantStretch>, Option<CountedTest>) {
    let mut stretches: Vec<NonCompliantStretch> = Vec::new();
    let mut back_to_standard = None;
    for t in tests {
        let open = stretches.last_mut().filter(|s| s.until.is_none());
        match (t.verdict, open) {
            (Compliance::BelowStandard, None) => stretches.push(NonCompliantStretch {
                from_record_id: t.record_id.clone(),
                from: t.measured_on,
                until_record_id: None,
                until: None,
                days: 0,
                customer_side_cause: t.customer_side_cause,
            }),
            (Compliance::BelowStandard, Some(s)) => s.customer_side_cause |= t.customer_side_cause,
            (Compliance::Compliant, Some(s)) => {
                s.until = Some(t.measured_on);
                s.until_record_id = Some(t.record_id.clone());
                back_to_standard = Some(t.clone());
            }
            (Compliance::Compliant, None) => {}
        }
    }
    (stretches, back_to_standard)
}

/// A closed stretch counts its days up to the compliant test (not that
/// day); an open one up to and including `end_of_open`.
fn count_days(stretches: &mut [NonCompliantStretch], end_of_open: NaiveDate) {
    for s in stretches {
        s.days = match s.until {
            Some(until) => days_between(s.from, until),
            None if end_of_open >= s.from => days_between(s.from, end_of_open).saturating_add(1),
            None => 0,
        };
    }
}

/// One counted test at a home, for the home's history across seasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeTest {
    pub address: Address,
    pub work_order_id: String,
    /// Bracketed time of the first reading: orders two tests of one day.
    pub measured_at: DateTime<Utc>,
    pub test: CountedTest,
}

/// A home's compliance history across every test on file (the office's
/// test list); the fee is counted per season by [`household_seasons`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressCompliance {
    pub address: Address,
    pub work_orders: Vec<String>,
    pub reports: usize,
    /// The earliest local date a test found this home below standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_non_compliant_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_non_compliant_record_id: Option<String>,
    /// Whether a test after the last non-compliant one found it compliant.
    pub compliant_again: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant_again_on: Option<NaiveDate>,
    /// Every stretch of non-compliance, oldest first (the same walk as a
    /// season's account; an open stretch counts up to `today`).
    pub periods: Vec<NonCompliantStretch>,
}

/// Groups tests by home (`Address::key`) and walks each home's tests in
/// time order. Homes come out in key order.
pub fn compliance_by_address(tests: &[HomeTest], today: NaiveDate) -> Vec<AddressCompliance> {
    let mut by_home: BTreeMap<String, Vec<&HomeTest>> = BTreeMap::new();
    for t in tests {
        by_home.entry(t.address.key()).or_default().push(t);
    }
    let mut out = Vec::new();
    for (_, mut home) in by_home {
        home.sort_by(|a, b| {
            a.measured_at.cmp(&b.measured_at).then_with(|| a.test.record_id.cmp(&b.test.record_id))
        });
        let Some(first) = home.first() else { continue };
        let walked: Vec<CountedTest> = home.iter().map(|t| t.test.clone()).collect();
        let (mut periods, _) = walk_stretches(&walked);
        count_days(&mut periods, today);
        let mut work_orders: Vec<String> = Vec::new();
        for t in &home {
            if !work_orders.contains(&t.work_order_id) {
                work_orders.push(t.work_order_id.clone());
            }
        }
        let last = periods.last();
        out.push(AddressCompliance {
            address: first.address.clone(),
            work_orders,
            reports: home.len(),
            first_non_compliant_on: periods.first().map(|p| p.from),
            first_non_compliant_record_id: periods.first().map(|p| p.from_record_id.clone()),
            compliant_again: last.is_some_and(|p| p.until.is_some()),
            compliant_again_on: last.and_then(|p| p.until),
            periods,
        });
    }
    out
}

/// The tests that fall in no heating season: flagged for the office, never
/// counted (a test in July proves nothing about the heating).
pub fn outside_season<'a>(tests: &'a [CountedTest], rules: &FeeRules) -> Vec<&'a CountedTest> {
    tests.iter().filter(|t| rules.season_of(t.measured_on).is_none()).collect()
}

/// Every season the tests fall in, each with its account, oldest first.
pub fn household_seasons(tests: &[CountedTest], today: NaiveDate, rules: &FeeRules) -> Vec<SeasonAccount> {
    let mut seasons: Vec<HeatingSeason> =
        tests.iter().filter_map(|t| rules.season_of(t.measured_on)).collect();
    seasons.sort_by_key(|s| s.first_day);
    seasons.dedup();
    seasons.into_iter().map(|s| season_account(tests, s, today, rules)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    fn t(id: &str, on: NaiveDate, verdict: Compliance) -> CountedTest {
        CountedTest { record_id: id.into(), measured_on: on, verdict, customer_side_cause: false }
    }

    use Compliance::{BelowStandard as Cold, Compliant as Warm};

    #[test]
    fn the_season_runs_from_november_first_to_march_thirty_first_across_the_new_year() {
        let rules = FeeRules::default();
        let season = rules.season_of(d(2027, 1, 15)).unwrap_or_else(|| panic!("january is in season"));
        assert_eq!((season.first_day, season.last_day), (d(2026, 11, 1), d(2027, 3, 31)));
        assert_eq!(season.label(), "2026-2027");
        assert_eq!(season.days(), 151);
        assert_eq!(rules.season_of(d(2026, 11, 1)).map(|s| s.first_day), Some(d(2026, 11, 1)));
        assert_eq!(rules.season_of(d(2027, 3, 31)).map(|s| s.last_day), Some(d(2027, 3, 31)));
        assert_eq!(rules.season_of(d(2026, 10, 31)), None);
        assert_eq!(rules.season_of(d(2027, 4, 1)), None);
    }

    #[test]
    fn days_run_from_the_cold_test_to_the_warm_one_and_earn_the_reduction() {
        let rules = FeeRules::default();
        let tests =
            [t("a", d(2026, 12, 1), Cold), t("b", d(2026, 12, 5), Cold), t("c", d(2026, 12, 11), Warm)];
        let season = rules.season_of(d(2026, 12, 1)).unwrap_or_else(|| panic!("in season"));
        let account = season_account(&tests, season, d(2027, 1, 1), &rules);
        assert_eq!(account.first_non_compliant.map(|t| t.record_id), Some("a".into()));
        assert_eq!(account.back_to_standard.map(|t| t.record_id), Some("c".into()));
        assert_eq!(account.non_compliant_days, 10, "1 Dec to 10 Dec");
        assert_eq!(account.reduced_days, 10);
        assert_eq!(account.fee_reduction_percent, 50);
        assert_eq!(account.tests.len(), 3);
    }

    #[test]
    fn an_open_stretch_counts_to_today_and_never_past_the_season() {
        let rules = FeeRules::default();
        let tests = [t("a", d(2027, 3, 20), Cold)];
        let season = rules.season_of(d(2027, 3, 20)).unwrap_or_else(|| panic!("in season"));
        assert_eq!(season_account(&tests, season, d(2027, 3, 22), &rules).non_compliant_days, 3);
        let late = season_account(&tests, season, d(2027, 5, 1), &rules);
        assert_eq!(late.non_compliant_days, 12, "20–31 March");
        assert_eq!(late.back_to_standard, None);
    }

    #[test]
    fn a_customer_side_cause_counts_the_days_but_earns_no_reduction() {
        let rules = FeeRules::default();
        let mut own_fault = t("a", d(2026, 12, 1), Cold);
        own_fault.customer_side_cause = true;
        let tests = [
            own_fault,
            t("b", d(2026, 12, 4), Warm),
            t("c", d(2026, 12, 10), Cold),
            t("d", d(2026, 12, 12), Warm),
        ];
        let season = rules.season_of(d(2026, 12, 1)).unwrap_or_else(|| panic!("in season"));
        let account = season_account(&tests, season, d(2027, 1, 1), &rules);
        assert_eq!(account.non_compliant_days, 5);
        assert_eq!(account.reduced_days, 2, "only the second stretch earns the reduction");
        assert_eq!(account.stretches.len(), 2);
    }

    #[test]
    fn tests_outside_the_season_are_found_and_not_counted() {
        let rules = FeeRules::default();
        let tests = [t("summer", d(2027, 7, 1), Cold), t("winter", d(2027, 1, 1), Warm)];
        assert_eq!(
            outside_season(&tests, &rules).iter().map(|t| t.record_id.as_str()).collect::<Vec<_>>(),
            ["summer"]
        );
        let seasons = household_seasons(&tests, d(2027, 8, 1), &rules);
        assert_eq!(seasons.len(), 1);
        assert_eq!(seasons[0].non_compliant_days, 0);
    }

    #[test]
    fn fee_rules_are_checked() {
        let bad_day = FeeRules { season_ends_day: 32, ..FeeRules::default() };
        assert_eq!(bad_day.check().map_err(|e| e.code()), Err("rule_season_not_a_day"));
        let bad_percent = FeeRules { fee_reduction_percent: 101, ..FeeRules::default() };
        assert_eq!(bad_percent.check().map_err(|e| e.code()), Err("rule_fee_percent_out_of_range"));
        assert_eq!(FeeRules::default().check(), Ok(()));
    }
    fn home_test(id: &str, room: &str, at: DateTime<Utc>, verdict: Compliance) -> HomeTest {
        let address = Address::new("幸福小区", "3号楼", "2单元", room).unwrap_or_else(|e| panic!("{e}"));
        let measured_on = crate::time::local_date(at);
        HomeTest {
            address,
            work_order_id: format!("WO-{id}"),
            measured_at: at,
            test: t(id, measured_on, verdict),
        }
    }

    fn utc(day: u32, h: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2025, 1, day, h, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_homes_history_starts_at_its_first_cold_test_in_company_time() {
        // 2025-01-03 20:00 UTC is 2025-01-04 in company time: the local date counts.
        let tests = [
            home_test("ok-before", "301", utc(1, 2), Warm),
            home_test("cold-2", "301", utc(8, 2), Cold),
            home_test("cold-1", "301", utc(3, 20), Cold),
        ];
        let history = compliance_by_address(&tests, d(2025, 1, 10));
        assert_eq!(history.len(), 1);
        let h = &history[0];
        assert_eq!(h.first_non_compliant_on, Some(d(2025, 1, 4)));
        assert_eq!(h.first_non_compliant_record_id.as_deref(), Some("cold-1"));
        assert!(!h.compliant_again);
        assert_eq!(h.periods.len(), 1, "a second cold test continues the same stretch");
        assert_eq!(h.periods[0].days, 7, "4 to 10 January, both counted while open");
        assert_eq!(h.reports, 3);
    }

    #[test]
    fn a_warm_test_closes_the_stretch_a_new_cold_one_opens_another_and_homes_stay_apart() {
        let tests = [
            home_test("cold-1", "301", utc(2, 2), Cold),
            home_test("warm-1", "301", utc(5, 2), Warm),
            home_test("cold-2", "301", utc(9, 2), Cold),
            home_test("always-warm", "302", utc(3, 2), Warm),
        ];
        let history = compliance_by_address(&tests, d(2025, 1, 10));
        let of = |room: &str| history.iter().find(|h| h.address.room.as_str() == room).cloned();
        let cold = of("301").unwrap_or_else(|| panic!("301"));
        assert_eq!(cold.periods.len(), 2);
        assert_eq!((cold.periods[0].until, cold.periods[0].days), (Some(d(2025, 1, 5)), 3));
        assert!(!cold.compliant_again, "cold again after the warm test");
        assert_eq!(of("302").and_then(|h| h.first_non_compliant_on), None);
        let healed = compliance_by_address(&tests[..2], d(2025, 1, 10));
        assert!(healed[0].compliant_again);
        assert_eq!(healed[0].compliant_again_on, Some(d(2025, 1, 5)));
    }
}
