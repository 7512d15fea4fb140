//! The company rule set: the figures the regulations fix, as data.
//!
//! Companies differ (see `docs/domain.md`), so every figure is a setting with
//! the regulations' value as its default. Durations are integer minutes and
//! temperatures integer hundredths of a degree: no floats in the serialised
//! form.
//!
//! Nothing silently falls back. The wire form is strict: every key of every
//! section is required and an unknown key is refused, with the path of the
//! field in the error ([`RuleSet::from_json`], what the office sends). A rule
//! set stored by an older server, or fed by a newer one, is read with
//! [`RuleSet::from_stored`]: keys this version does not know are dropped and
//! keys it added since are taken from the defaults, explicitly; a value that
//! is wrong is still an error, never the defaults.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::centi::CentiCelsius;
use crate::deadline::WorkCalendar;
use crate::fee::{FeeRules, FeeRulesError};
use crate::follow_up::{FollowUpRules, FollowUpRulesError};

/// Why a rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error("deadline {name} must not be zero (minutes, or working days)")]
    ZeroDuration { name: &'static str },
    #[error("at_risk_percent must be 0 to 100, got {0}")]
    AtRiskPercentOutOfRange(u8),
    #[error("the day window must start before it ends ({start} .. {end})")]
    EmptyDayWindow { start: NaiveTime, end: NaiveTime },
    #[error("visit hours must start before they end ({from} .. {until})")]
    EmptyVisitHours { from: NaiveTime, until: NaiveTime },
    #[error("the reading range is empty ({min} .. {max})")]
    EmptyReadingRange { min: CentiCelsius, max: CentiCelsius },
    #[error("the outlier threshold must not be negative, got {0}")]
    NegativeOutlierThreshold(CentiCelsius),
    #[error("{0}")]
    Fee(FeeRulesError),
    #[error("{0}")]
    FollowUp(FollowUpRulesError),
    /// The JSON does not have the rule set's shape: `path` names the field.
    #[error("{path}: {message}")]
    Shape { path: String, message: String },
}

impl RuleSetError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ZeroDuration { .. } => "rule_zero_duration",
            Self::AtRiskPercentOutOfRange(_) => "rule_at_risk_percent_out_of_range",
            Self::EmptyDayWindow { .. } => "rule_empty_day_window",
            Self::EmptyReadingRange { .. } => "rule_empty_reading_range",
            Self::EmptyVisitHours { .. } => "rule_empty_visit_hours",
            Self::NegativeOutlierThreshold(_) => "rule_negative_outlier_threshold",
            Self::Fee(e) => e.code(),
            Self::FollowUp(e) => e.code(),
            Self::Shape { .. } => "rule_set_shape",
        }
    }

    /// The field the error is about, as a dotted path, where known.
    pub fn field(&self) -> Option<String> {
        match self {
            Self::ZeroDuration { name } => Some(format!("deadlines.{name}")),
            Self::AtRiskPercentOutOfRange(_) => Some("deadlines.at_risk_percent".into()),
            Self::EmptyDayWindow { .. } => Some("temperature.day_starts".into()),
            Self::EmptyReadingRange { .. } => Some("temperature.reading_min".into()),
            Self::EmptyVisitHours { .. } => Some("visits.from".into()),
            Self::NegativeOutlierThreshold(_) => Some("temperature.outlier_threshold".into()),
            Self::Fee(FeeRulesError::PercentOutOfRange(_)) => Some("fee.fee_reduction_percent".into()),
            Self::Fee(FeeRulesError::NotADay { .. }) => Some("fee".into()),
            Self::FollowUp(_) => Some("follow_up".into()),
            Self::Shape { path, .. } => Some(path.clone()),
        }
    }
}

/// Deadlines, in minutes, counted from when the order was received (the
/// follow-up call: from completion; the late notice: back from the appointment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRules {
    /// Leak (跑冒滴漏): on site within 30 minutes.
    pub leak_on_site_minutes: u32,
    /// Any other repair, valve or meter job: contact the customer within 30 minutes …
    pub repair_contact_minutes: u32,
    /// … be on site within 2 hours …
    pub repair_on_site_minutes: u32,
    /// … and have it fixed within 24 hours.
    pub repair_fixed_minutes: u32,
    /// Temperature test: both testers at the home within 24 hours.
    pub testers_on_site_minutes: u32,
    /// Network burst (管网爆管 / 阀门漏水): on site within 40 minutes.
    pub network_burst_on_site_minutes: u32,
    /// Complaint (投诉): answered within 5 working days (company time,
    /// [`WorkCalendar`]), counted in days, not minutes.
    pub complaint_working_days: u32,
    /// Public holidays and worked weekends: which days are working days.
    #[serde(default, skip_serializing_if = "WorkCalendar::is_empty")]
    pub calendar: WorkCalendar,
    /// An order dispatch passes on is accepted by its technician within 30
    /// minutes (`001`), counted from receipt (orders are assigned as they
    /// are taken).
    pub dispatch_accept_minutes: u32,
    /// Follow-up call (回访) within 48 hours of completion.
    pub follow_up_minutes: u32,
    /// A technician who will be late tells the customer at least this long
    /// before the appointment starts.
    pub late_notice_minutes: u32,
    /// An open deadline is "at risk" once the time left is at most this
    /// percentage of its whole span (20: the last 20 %, i.e. the last 6 minutes
    /// of a 30-minute deadline, the last 4.8 hours of a 24-hour one). A share
    /// rather than fixed minutes, so one setting fits 30 minutes and 48 hours.
    pub at_risk_percent: u8,
}

impl Default for DeadlineRules {
    fn default() -> Self {
        Self {
            leak_on_site_minutes: 30,
            repair_contact_minutes: 30,
            repair_on_site_minutes: 2 * 60,
            repair_fixed_minutes: 24 * 60,
            testers_on_site_minutes: 24 * 60,
            network_burst_on_site_minutes: 40,
            complaint_working_days: 5,
            dispatch_accept_minutes: 30,
            follow_up_minutes: 48 * 60,
            late_notice_minutes: 60,
            at_risk_percent: 20,
            calendar: WorkCalendar::default(),
        }
    }
}

/// The indoor temperature standard and the plausibility limits of readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperatureRules {
    /// Local time the day window opens (inclusive), default 06:00.
    pub day_starts: NaiveTime,
    /// Local time the day window closes (exclusive), default 21:00: a reading
    /// at 21:00:00 is judged by the night minimum.
    pub day_ends: NaiveTime,
    /// Minimum inside the day window, default 18.00 °C.
    pub day_min: CentiCelsius,
    /// Minimum at other hours, default 16.00 °C.
    pub night_min: CentiCelsius,
    /// Another city's rule: only the living room counts, and it must reach
    /// `day_min` at all hours.
    pub living_room_only: bool,
    /// Lowest plausible reading, default −10.00 °C (inclusive).
    pub reading_min: CentiCelsius,
    /// Highest plausible reading, default 40.00 °C (inclusive).
    pub reading_max: CentiCelsius,
    /// A reading further than this from the test's median (strictly more)
    /// needs a written reason, default 6.00 °C.
    pub outlier_threshold: CentiCelsius,
}

impl Default for TemperatureRules {
    fn default() -> Self {
        Self {
            day_starts: NaiveTime::from_hms_opt(6, 0, 0).unwrap_or(NaiveTime::MIN),
            day_ends: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
            day_min: CentiCelsius(1800),
            night_min: CentiCelsius(1600),
            living_room_only: false,
            reading_min: CentiCelsius(-1000),
            reading_max: CentiCelsius(4000),
            outlier_threshold: CentiCelsius(600),
        }
    }
}

/// When technicians may visit a home (000: 09:00–18:00), company time. An
/// appointment must start and end within one day's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitRules {
    /// Earliest start (inclusive), default 09:00.
    pub from: NaiveTime,
    /// Latest end (inclusive), default 18:00.
    pub until: NaiveTime,
}

impl Default for VisitRules {
    fn default() -> Self {
        Self {
            from: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            until: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl VisitRules {
    /// Whether the appointment lies within the visit hours of one day in
    /// `zone`: it starts at or after `from` and ends at or before `until`,
    /// on the same local date.
    pub fn allows(&self, appointment: &crate::work_order::Appointment, zone: chrono::FixedOffset) -> bool {
        let start = appointment.start().with_timezone(&zone).naive_local();
        let end = appointment.end().with_timezone(&zone).naive_local();
        start.date() == end.date() && start.time() >= self.from && end.time() <= self.until
    }
}

/// Who the company is, as the customer's copy names it: "a copy is left
/// with the customer with the service phone numbers" (domain.md, 七道别).
/// Empty until the office sets it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CompanyProfile {
    pub name: String,
    /// The service hotline printed on the customer's copy.
    pub hotline: String,
}

/// One company's rules. Validated on construction and on deserialisation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RuleSetData")]
pub struct RuleSet {
    deadlines: DeadlineRules,
    temperature: TemperatureRules,
    fee: FeeRules,
    follow_up: FollowUpRules,
    visits: VisitRules,
    #[serde(default, skip_serializing_if = "is_unset")]
    company: CompanyProfile,
    /// Which station (热力站 / 供热站) each community belongs to, for the
    /// manager's report; an unmapped community is its own station.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    stations: std::collections::BTreeMap<String, String>,
}

fn is_unset(c: &CompanyProfile) -> bool {
    c == &CompanyProfile::default()
}

/// The wire form: every section required (the company profile may be left
/// out while the office has not set one), no unknown key anywhere.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSetData {
    deadlines: DeadlineRules,
    temperature: TemperatureRules,
    fee: FeeRules,
    follow_up: FollowUpRules,
    visits: VisitRules,
    #[serde(default)]
    company: CompanyProfile,
    #[serde(default)]
    stations: std::collections::BTreeMap<String, String>,
}

impl TryFrom<RuleSetData> for RuleSet {
    type Error = RuleSetError;
    fn try_from(data: RuleSetData) -> Result<Self, Self::Error> {
        Ok(Self::new(data.deadlines, data.temperature)?
            .with_fee(data.fee)?
            .with_follow_up(data.follow_up)?
            .with_visits(data.visits)?
            .with_company(data.company)
            .with_stations(data.stations))
    }
}

/// Keeps the keys of `known` (the defaults' shape), taking each value from
/// `given` where it has one: keys `given` has and `known` lacks are
/// dropped, keys it lacks are the defaults'. Leaves (and arrays) are taken
/// whole, so a wrong value stays wrong and is refused by the strict parse.
fn overlay(known: &Value, given: &Value) -> Value {
    match (known, given) {
        (Value::Object(k), Value::Object(g)) => Value::Object(
            k.iter()
                .map(|(key, kv)| (key.clone(), g.get(key).map_or_else(|| kv.clone(), |gv| overlay(kv, gv))))
                .collect(),
        ),
        (_, g) => g.clone(),
    }
}

impl RuleSet {
    pub fn new(deadlines: DeadlineRules, temperature: TemperatureRules) -> Result<Self, RuleSetError> {
        let durations = [
            ("leak_on_site_minutes", deadlines.leak_on_site_minutes),
            ("repair_contact_minutes", deadlines.repair_contact_minutes),
            ("repair_on_site_minutes", deadlines.repair_on_site_minutes),
            ("repair_fixed_minutes", deadlines.repair_fixed_minutes),
            ("testers_on_site_minutes", deadlines.testers_on_site_minutes),
            ("network_burst_on_site_minutes", deadlines.network_burst_on_site_minutes),
            ("complaint_working_days", deadlines.complaint_working_days),
            ("dispatch_accept_minutes", deadlines.dispatch_accept_minutes),
            ("follow_up_minutes", deadlines.follow_up_minutes),
            ("late_notice_minutes", deadlines.late_notice_minutes),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, minutes)| *minutes == 0) {
            return Err(RuleSetError::ZeroDuration { name });
        }
        if deadlines.at_risk_percent > 100 {
            return Err(RuleSetError::AtRiskPercentOutOfRange(deadlines.at_risk_percent));
        }
        if temperature.day_starts >= temperature.day_ends {
            return Err(RuleSetError::EmptyDayWindow {
                start: temperature.day_starts,
                end: temperature.day_ends,
            });
        }
        if temperature.reading_min > temperature.reading_max {
            return Err(RuleSetError::EmptyReadingRange {
                min: temperature.reading_min,
                max: temperature.reading_max,
            });
        }
        if temperature.outlier_threshold < CentiCelsius(0) {
            return Err(RuleSetError::NegativeOutlierThreshold(temperature.outlier_threshold));
        }
        Ok(Self {
            deadlines,
            temperature,
            fee: FeeRules::default(),
            follow_up: FollowUpRules::default(),
            visits: VisitRules::default(),
            company: CompanyProfile::default(),
            stations: std::collections::BTreeMap::new(),
        })
    }

    /// The strict wire form (what the office sends): every key present and
    /// known, every value valid. The error names the field.
    pub fn from_json(value: &Value) -> Result<Self, RuleSetError> {
        let data: RuleSetData = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            RuleSetError::Shape {
                path: if path == "." { "rule set".into() } else { path },
                message: e.into_inner().to_string(),
            }
        })?;
        Self::try_from(data)
    }

    /// A rule set as stored or fed by another version of Hearth: keys this
    /// version does not know are dropped, keys it added since take their
    /// defaults (explicitly, here), and a wrong value is an error.
    pub fn from_stored(value: &Value) -> Result<Self, RuleSetError> {
        if !value.is_object() {
            return Err(RuleSetError::Shape {
                path: "rule set".into(),
                message: "is not a JSON object".into(),
            });
        }
        let defaults = serde_json::to_value(Self::default())
            .map_err(|e| RuleSetError::Shape { path: "rule set".into(), message: e.to_string() })?;
        let mut known = defaults;
        // The company profile is optional (absent while unset): known when given.
        if let Value::Object(k) = &mut known
            && value.get("company").is_some()
        {
            let blank = serde_json::to_value(CompanyProfile::default()).unwrap_or(Value::Null);
            k.insert("company".into(), blank);
        }
        // The station map is optional too, and its keys are the communities: taken whole.
        if let Value::Object(k) = &mut known
            && let Some(stations) = value.get("stations")
        {
            k.insert("stations".into(), stations.clone());
        }
        // The calendar is left out of the defaults' JSON while empty: known
        // all the same, or a stored calendar (holidays) would be dropped.
        if let Some(Value::Object(d)) = known.get_mut("deadlines") {
            d.entry("calendar")
                .or_insert_with(|| serde_json::json!({"holidays": [], "working_weekends": []}));
        }
        Self::from_json(&overlay(&known, value))
    }

    /// The same rules with this heating season and fee consequence.
    pub fn with_fee(self, fee: FeeRules) -> Result<Self, RuleSetError> {
        fee.check().map_err(RuleSetError::Fee)?;
        Ok(Self { fee, ..self })
    }

    /// The same rules with these follow-up and repeat-repair settings.
    pub fn with_follow_up(self, follow_up: FollowUpRules) -> Result<Self, RuleSetError> {
        follow_up.check().map_err(RuleSetError::FollowUp)?;
        Ok(Self { follow_up, ..self })
    }

    /// The same rules with these visit hours.
    pub fn with_visits(self, visits: VisitRules) -> Result<Self, RuleSetError> {
        if visits.from >= visits.until {
            return Err(RuleSetError::EmptyVisitHours { from: visits.from, until: visits.until });
        }
        Ok(Self { visits, ..self })
    }

    pub fn visits(&self) -> &VisitRules {
        &self.visits
    }

    pub fn fee(&self) -> &FeeRules {
        &self.fee
    }

    pub fn follow_up(&self) -> &FollowUpRules {
        &self.follow_up
    }

    /// Where a completed order stands in the follow-up queue: one window,
    /// `deadlines.follow_up_minutes`, counted from completion.
    pub fn follow_up_due(
        &self,
        completed_at: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::follow_up::FollowUpDue {
        crate::follow_up::FollowUpDue::new(completed_at, self.deadlines.follow_up_minutes, now)
    }

    /// The same rules, naming the company.
    pub fn with_company(self, company: CompanyProfile) -> Self {
        let company = CompanyProfile {
            name: company.name.trim().to_owned(),
            hotline: company.hotline.trim().to_owned(),
        };
        Self { company, ..self }
    }

    /// The same rules with this community → station map (names trimmed,
    /// blank entries dropped).
    pub fn with_stations(self, stations: std::collections::BTreeMap<String, String>) -> Self {
        let stations = stations
            .into_iter()
            .map(|(c, s)| (c.trim().to_owned(), s.trim().to_owned()))
            .filter(|(c, s)| !c.is_empty() && !s.is_empty())
            .collect();
        Self { stations, ..self }
    }

    /// Community → station (热力站); see `report::station_of`.
    pub fn stations(&self) -> &std::collections::BTreeMap<String, String> {
        &self.stations
    }

    pub fn company(&self) -> &CompanyProfile {
        &self.company
    }

    pub fn deadlines(&self) -> &DeadlineRules {
        &self.deadlines
    }

    pub fn temperature(&self) -> &TemperatureRules {
        &self.temperature
    }
}
