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

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

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
    let mut stretches: Vec<NonCompliantStretch> = Vec::new();
    let mut back_to_standard = None;
    for t in &tests {
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
    let end_of_open = today.min(season.last_day);
    for s in &mut stretches {
        s.days = match s.until {
            Some(until) => days_between(s.from, until),
            None if end_of_open >= s.from => days_between(s.from, end_of_open).saturating_add(1),
            None => 0,
        };
    }
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
}
