//! Temperature tests (入户测温): two testers, one calibrated thermometer, one
//! reading per room visit, a report judged by the rule set, co-signed by both
//! testers and signed (or refused) by the customer.
//!
//! Readings are evidence with money attached (a non-compliant home pays half
//! the heating fee), so each one is validated the moment it is taken and the
//! report re-checks all of them. Compliance is judged on the *local* time of
//! each reading, which is why readings carry their UTC offset.
//!
//! Outliers: a reading further than the threshold from the median needs a
//! reason. The median moves as readings arrive, so the rule is enforced when
//! the report is made ([`TemperatureTest::report`]);
//! [`TemperatureTest::outlier_if_added`] lets the tablet ask while a reading is
//! being taken.
//!
//! With `living_room_only`, a test without any living-room reading has no
//! verdict: the report is refused with [`TemperatureError::NoLivingRoomReading`]
//! so the testers learn it while still in the home, rather than a report that
//! cannot settle anything.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::centi::CentiCelsius;
use crate::rules::TemperatureRules;
use crate::signoff::{CoSignError, CustomerSignoff, Signer, SignerRole, check_cosigned};
use crate::value::{NonEmptyText, TechnicianId, TestId, ValueError, WorkOrderId};

/// Why a test, a reading or a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemperatureError {
    #[error("invalid {field}: {source}")]
    InvalidField { field: &'static str, source: ValueError },
    #[error("performer and witness must be two different people ({tech_id} is both)")]
    SameTechnician { tech_id: TechnicianId },
    #[error("thermometer {serial} was calibrated until {valid_until}, used on {used_on}")]
    CalibrationExpired { serial: NonEmptyText, valid_until: NaiveDate, used_on: NaiveDate },
    #[error("the customer did not consent to entering {label}")]
    NoConsentToEnter { label: NonEmptyText },
    #[error("reading {value} in {label} is outside {min} .. {max}")]
    ReadingOutOfRange { label: NonEmptyText, value: CentiCelsius, min: CentiCelsius, max: CentiCelsius },
    #[error("reading in {label} belongs to test {test_id}")]
    ReadingFromAnotherTest { label: NonEmptyText, test_id: TestId },
    #[error("reading in {label} was taken at {taken_at}, before the test started at {started_at}")]
    ReadingBeforeTestStart {
        label: NonEmptyText,
        taken_at: DateTime<FixedOffset>,
        started_at: DateTime<FixedOffset>,
    },
    #[error("reading {value} in {label} is far from the median {median} and needs a reason")]
    OutlierNeedsReason { label: NonEmptyText, median: CentiCelsius, value: CentiCelsius },
    #[error("a report needs at least one reading")]
    NoReadings,
    #[error("only the living room counts under this rule set, and it has no reading")]
    NoLivingRoomReading,
    #[error("the report names {stated} readings of test {test_id}; {sealed} such readings are sealed")]
    ReadingsMismatch { test_id: TestId, stated: u32, sealed: u32 },
    #[error("the report states {stated:?}, the readings judged by the rules give {judged:?}")]
    VerdictMismatch { stated: Compliance, judged: Compliance },
}

impl TemperatureError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "invalid_temperature_field",
            Self::SameTechnician { .. } => "same_technician",
            Self::CalibrationExpired { .. } => "calibration_expired",
            Self::NoConsentToEnter { .. } => "no_consent_to_enter",
            Self::ReadingOutOfRange { .. } => "reading_out_of_range",
            Self::ReadingFromAnotherTest { .. } => "reading_from_another_test",
            Self::ReadingBeforeTestStart { .. } => "reading_before_test_start",
            Self::OutlierNeedsReason { .. } => "outlier_needs_reason",
            Self::NoReadings => "no_readings",
            Self::NoLivingRoomReading => "no_living_room_reading",
            Self::ReadingsMismatch { .. } => "report_readings_mismatch",
            Self::VerdictMismatch { .. } => "verdict_mismatch",
        }
    }
}

fn field<T>(name: &'static str, result: Result<T, ValueError>) -> Result<T, TemperatureError> {
    result.map_err(|source| TemperatureError::InvalidField { field: name, source })
}

/// A digital thermometer and its calibration certificate (计量检定).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Thermometer {
    pub serial: NonEmptyText,
    pub certificate_no: NonEmptyText,
    /// The last day (inclusive) the calibration is valid.
    pub valid_until: NaiveDate,
}

impl Thermometer {
    pub fn new(serial: &str, certificate_no: &str, valid_until: NaiveDate) -> Result<Self, TemperatureError> {
        Ok(Self {
            serial: field("thermometer.serial", NonEmptyText::parse(serial))?,
            certificate_no: field("thermometer.certificate_no", NonEmptyText::parse(certificate_no))?,
            valid_until,
        })
    }

    /// Whether the calibration covers `date` (a local date); the last valid
    /// day itself is fine.
    pub fn check_calibration(&self, date: NaiveDate) -> Result<(), TemperatureError> {
        if date > self.valid_until {
            return Err(TemperatureError::CalibrationExpired {
                serial: self.serial.clone(),
                valid_until: self.valid_until,
                used_on: date,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// 起居室 / 客厅 — the only room that counts under `living_room_only`.
    LivingRoom,
    Bedroom,
    Kitchen,
    Bathroom,
    Study,
    Other,
}

/// One room's reading, as written on the test form the moment it is taken.
///
/// Build it with [`TemperatureReading::new`]; the report checks every reading
/// again, so one built field by field or deserialised cannot slip through.
/// `shown_to_customer` is recorded, not required: the customer is invited to
/// look and may decline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemperatureReading {
    pub test_id: TestId,
    pub room_kind: RoomKind,
    /// Which room, e.g. "主卧" or "north bedroom".
    pub label: NonEmptyText,
    pub centi_celsius: CentiCelsius,
    /// Local time with its offset: compliance depends on the local hour.
    pub taken_at: DateTime<FixedOffset>,
    /// Must be true: a room is entered only with the customer's consent.
    pub consent_to_enter: bool,
    pub shown_to_customer: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_reason: Option<NonEmptyText>,
}

/// The data of a `hearth.temperature_reading/1` record: the reading and the
/// thermometer it was taken with. One shape for the tablet that seals it and
/// the server that reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingRecord {
    pub thermometer_serial: String,
    #[serde(flatten)]
    pub reading: TemperatureReading,
}

/// The raw input for one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReading<'a> {
    pub test_id: TestId,
    pub room_kind: RoomKind,
    pub label: &'a str,
    pub centi_celsius: i32,
    pub taken_at: DateTime<FixedOffset>,
    pub consent_to_enter: bool,
    pub shown_to_customer: bool,
    /// A blank reason counts as none.
    pub outlier_reason: Option<&'a str>,
}

impl TemperatureReading {
    pub fn new(input: NewReading<'_>, rules: &TemperatureRules) -> Result<Self, TemperatureError> {
        let reading = Self {
            test_id: input.test_id,
            room_kind: input.room_kind,
            label: field("label", NonEmptyText::parse(input.label))?,
            centi_celsius: CentiCelsius(input.centi_celsius),
            taken_at: input.taken_at,
            consent_to_enter: input.consent_to_enter,
            shown_to_customer: input.shown_to_customer,
            outlier_reason: input.outlier_reason.and_then(|r| NonEmptyText::parse(r).ok()),
        };
        reading.check(rules)?;
        Ok(reading)
    }

    /// The checks a reading must pass on its own: consent, plausible range.
    pub fn check(&self, rules: &TemperatureRules) -> Result<(), TemperatureError> {
        if !self.consent_to_enter {
            return Err(TemperatureError::NoConsentToEnter { label: self.label.clone() });
        }
        if !(rules.reading_min..=rules.reading_max).contains(&self.centi_celsius) {
            return Err(TemperatureError::ReadingOutOfRange {
                label: self.label.clone(),
                value: self.centi_celsius,
                min: rules.reading_min,
                max: rules.reading_max,
            });
        }
        Ok(())
    }

    /// The minimum this reading must reach, or `None` when its room does not
    /// count under the rules.
    pub fn required_minimum(&self, rules: &TemperatureRules) -> Option<CentiCelsius> {
        required_minimum(self.room_kind, self.taken_at, rules)
    }

    /// Whether this reading meets the standard; `None` when it does not count.
    pub fn complies(&self, rules: &TemperatureRules) -> Option<bool> {
        self.required_minimum(rules).map(|min| self.centi_celsius >= min)
    }

    /// This reading's room verdict: the one definition the report, the
    /// summary, the customer's copy and the server all use.
    pub fn verdict(&self, rules: &TemperatureRules) -> RoomVerdict {
        match self.complies(rules) {
            None => RoomVerdict::NotCounted,
            Some(true) => RoomVerdict::Compliant,
            Some(false) => RoomVerdict::BelowStandard,
        }
    }
}

/// The minimum for a room at a local time: `day_min` from `day_starts`
/// (inclusive) to `day_ends` (exclusive), `night_min` otherwise. Under
/// `living_room_only`, `day_min` at all hours for the living room and `None`
/// (not counted) for every other room.
pub fn required_minimum(
    room_kind: RoomKind,
    taken_at: DateTime<FixedOffset>,
    rules: &TemperatureRules,
) -> Option<CentiCelsius> {
    if rules.living_room_only {
        return (room_kind == RoomKind::LivingRoom).then_some(rules.day_min);
    }
    // `time()` is the wall-clock time in the reading's own offset.
    let local = taken_at.time();
    if rules.day_starts <= local && local < rules.day_ends {
        Some(rules.day_min)
    } else {
        Some(rules.night_min)
    }
}

/// The median of `values`; for an even count, the mean of the two middle
/// values rounded down to a whole hundredth. `None` when empty.
pub fn median(values: &[CentiCelsius]) -> Option<CentiCelsius> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let upper = *sorted.get(n / 2)?;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = *sorted.get(n / 2 - 1)?;
    let mean = (i64::from(lower.0) + i64::from(upper.0)).div_euclid(2);
    // The mean of two i32 always fits in i32.
    Some(CentiCelsius(i32::try_from(mean).unwrap_or(lower.0)))
}

/// A reading that is too far from the median.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outlier {
    pub median: CentiCelsius,
    pub value: CentiCelsius,
}

fn outlier(value: CentiCelsius, median: CentiCelsius, rules: &TemperatureRules) -> Option<Outlier> {
    let threshold = u32::try_from(rules.outlier_threshold.0).unwrap_or(0);
    (value.abs_diff(median) > threshold).then_some(Outlier { median, value })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RoomVerdict {
    Compliant,
    BelowStandard,
    /// The room does not count under the rules (`living_room_only`).
    NotCounted,
}

/// One room's readings judged together: below standard if any of them is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomCompliance {
    pub room_kind: RoomKind,
    pub label: NonEmptyText,
    pub readings: u32,
    pub lowest: CentiCelsius,
    pub verdict: RoomVerdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    Compliant,
    BelowStandard,
}

/// The whole home: compliant iff every counted room is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestCompliance {
    pub verdict: Compliance,
    /// Rooms in the order they were first measured; a room is one
    /// (kind, label) pair.
    pub rooms: Vec<RoomCompliance>,
}

/// Judges readings by the rules, room by room. Does not check ranges or
/// outliers; [`TemperatureTest::report`] does that first.
pub fn assess(
    readings: &[TemperatureReading],
    rules: &TemperatureRules,
) -> Result<TestCompliance, TemperatureError> {
    if readings.is_empty() {
        return Err(TemperatureError::NoReadings);
    }
    if rules.living_room_only && !readings.iter().any(|r| r.room_kind == RoomKind::LivingRoom) {
        return Err(TemperatureError::NoLivingRoomReading);
    }
    let mut rooms: Vec<RoomCompliance> = Vec::new();
    for reading in readings {
        let verdict = reading.verdict(rules);
        let existing =
            rooms.iter_mut().find(|room| room.room_kind == reading.room_kind && room.label == reading.label);
        match existing {
            Some(room) => {
                room.readings = room.readings.saturating_add(1);
                room.lowest = room.lowest.min(reading.centi_celsius);
                if verdict == RoomVerdict::BelowStandard {
                    room.verdict = RoomVerdict::BelowStandard;
                }
            }
            None => rooms.push(RoomCompliance {
                room_kind: reading.room_kind,
                label: reading.label.clone(),
                readings: 1,
                lowest: reading.centi_celsius,
                verdict,
            }),
        }
    }
    let verdict = if rooms.iter().any(|r| r.verdict == RoomVerdict::BelowStandard) {
        Compliance::BelowStandard
    } else {
        Compliance::Compliant
    };
    Ok(TestCompliance { verdict, rooms })
}

/// What is known when the testers start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemperatureTest {
    pub test_id: TestId,
    pub work_order_id: WorkOrderId,
    pub performer: TechnicianId,
    pub witness: TechnicianId,
    pub thermometer: Thermometer,
    /// Local time with offset; its date is the date calibration is judged on.
    pub started_at: DateTime<FixedOffset>,
}

/// A test in progress: who, with what instrument, since when, and the
/// readings so far. Readings can only be added, never changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TemperatureTestData")]
pub struct TemperatureTest {
    test_id: TestId,
    work_order_id: WorkOrderId,
    performer: TechnicianId,
    witness: TechnicianId,
    thermometer: Thermometer,
    started_at: DateTime<FixedOffset>,
    readings: Vec<TemperatureReading>,
}

/// The serialised form, replayed through [`TemperatureTest::start`] and
/// [`TemperatureTest::add_reading`] so a stored test is checked like a new one.
#[derive(Deserialize)]
struct TemperatureTestData {
    test_id: TestId,
    work_order_id: WorkOrderId,
    performer: TechnicianId,
    witness: TechnicianId,
    thermometer: Thermometer,
    started_at: DateTime<FixedOffset>,
    #[serde(default)]
    readings: Vec<TemperatureReading>,
}

impl TryFrom<TemperatureTestData> for TemperatureTest {
    type Error = TemperatureError;
    fn try_from(data: TemperatureTestData) -> Result<Self, Self::Error> {
        let mut test = Self::start(NewTemperatureTest {
            test_id: data.test_id,
            work_order_id: data.work_order_id,
            performer: data.performer,
            witness: data.witness,
            thermometer: data.thermometer,
            started_at: data.started_at,
        })?;
        for reading in data.readings {
            test.add_reading(reading)?;
        }
        Ok(test)
    }
}

impl TemperatureTest {
    /// Starts a test: two different people, a thermometer calibrated on the
    /// (local) start date.
    pub fn start(new: NewTemperatureTest) -> Result<Self, TemperatureError> {
        if new.performer == new.witness {
            return Err(TemperatureError::SameTechnician { tech_id: new.performer });
        }
        new.thermometer.check_calibration(new.started_at.date_naive())?;
        Ok(Self {
            test_id: new.test_id,
            work_order_id: new.work_order_id,
            performer: new.performer,
            witness: new.witness,
            thermometer: new.thermometer,
            started_at: new.started_at,
            readings: Vec::new(),
        })
    }

    /// Adds a reading taken by this test: same test id, not before the start,
    /// consent given, thermometer still calibrated on the reading's local date
    /// (a test can run past midnight).
    pub fn add_reading(&mut self, reading: TemperatureReading) -> Result<(), TemperatureError> {
        self.check_belongs(&reading)?;
        if !reading.consent_to_enter {
            return Err(TemperatureError::NoConsentToEnter { label: reading.label });
        }
        self.readings.push(reading);
        Ok(())
    }

    fn check_belongs(&self, reading: &TemperatureReading) -> Result<(), TemperatureError> {
        if reading.test_id != self.test_id {
            return Err(TemperatureError::ReadingFromAnotherTest {
                label: reading.label.clone(),
                test_id: reading.test_id.clone(),
            });
        }
        if reading.taken_at < self.started_at {
            return Err(TemperatureError::ReadingBeforeTestStart {
                label: reading.label.clone(),
                taken_at: reading.taken_at,
                started_at: self.started_at,
            });
        }
        self.thermometer.check_calibration(reading.taken_at.date_naive())
    }

    /// Would a reading of `value`, added now, be an outlier against the median
    /// of the readings so far plus itself? Lets the tablet ask for a reason
    /// while the testers are still in the room.
    pub fn outlier_if_added(&self, value: CentiCelsius, rules: &TemperatureRules) -> Option<Outlier> {
        let mut values = self.values();
        values.push(value);
        median(&values).and_then(|m| outlier(value, m, rules))
    }

    /// Closes the test into a report: at least one reading, every reading
    /// taken by this test and valid on its own, every outlier explained; then
    /// the median and the compliance verdict.
    pub fn report(&self, rules: &TemperatureRules) -> Result<TemperatureReport, TemperatureError> {
        if self.readings.is_empty() {
            return Err(TemperatureError::NoReadings);
        }
        for reading in &self.readings {
            self.check_belongs(reading)?;
            reading.check(rules)?;
        }
        let median = median(&self.values()).ok_or(TemperatureError::NoReadings)?;
        for reading in &self.readings {
            if reading.outlier_reason.is_none() && outlier(reading.centi_celsius, median, rules).is_some() {
                return Err(TemperatureError::OutlierNeedsReason {
                    label: reading.label.clone(),
                    median,
                    value: reading.centi_celsius,
                });
            }
        }
        let compliance = assess(&self.readings, rules)?;
        Ok(TemperatureReport {
            test_id: self.test_id.clone(),
            work_order_id: self.work_order_id.clone(),
            performer: self.performer.clone(),
            witness: self.witness.clone(),
            thermometer_serial: self.thermometer.serial.clone(),
            reading_count: u32::try_from(self.readings.len()).unwrap_or(u32::MAX),
            median,
            compliance,
            customer_side_cause: None,
        })
    }

    fn values(&self) -> Vec<CentiCelsius> {
        self.readings.iter().map(|r| r.centi_celsius).collect()
    }

    pub fn test_id(&self) -> &TestId {
        &self.test_id
    }

    pub fn work_order_id(&self) -> &WorkOrderId {
        &self.work_order_id
    }

    pub fn performer(&self) -> &TechnicianId {
        &self.performer
    }

    pub fn witness(&self) -> &TechnicianId {
        &self.witness
    }

    pub fn thermometer(&self) -> &Thermometer {
        &self.thermometer
    }

    pub fn started_at(&self) -> DateTime<FixedOffset> {
        self.started_at
    }

    pub fn readings(&self) -> &[TemperatureReading] {
        &self.readings
    }
}

/// The closed test: what both testers sign and the customer is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemperatureReport {
    pub test_id: TestId,
    pub work_order_id: WorkOrderId,
    pub performer: TechnicianId,
    pub witness: TechnicianId,
    pub thermometer_serial: NonEmptyText,
    pub reading_count: u32,
    pub median: CentiCelsius,
    pub compliance: TestCompliance,
    /// What the testers found on the customer's side of the property line
    /// that causes the cold (their own alterations, `004…` 第二十六条): the
    /// days it opens count as non-compliant but earn no fee reduction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_side_cause: Option<NonEmptyText>,
}

impl TemperatureReport {
    /// The same report, with the cause the testers found on the customer's side.
    pub fn with_customer_side_cause(self, cause: &str) -> Result<Self, TemperatureError> {
        let cause = field("customer_side_cause", NonEmptyText::parse(cause))?;
        Ok(Self { customer_side_cause: Some(cause), ..self })
    }
}

impl TemperatureReport {
    /// Both testers, each in their role.
    pub fn required_signers(&self) -> [Signer; 2] {
        [
            Signer::new(SignerRole::Performer, self.performer.clone()),
            Signer::new(SignerRole::Witness, self.witness.clone()),
        ]
    }

    /// Whether `signed` is exactly the performer and the witness.
    pub fn check_cosigned(&self, signed: &[Signer]) -> Result<(), CoSignError> {
        check_cosigned(&self.required_signers(), signed)
    }

    /// The finished test: co-signed by both testers, and signed *or refused*
    /// by the customer — a refusal completes the test too.
    pub fn complete(
        self,
        signed: &[Signer],
        customer: CustomerSignoff,
    ) -> Result<CompletedTemperatureTest, CoSignError> {
        self.check_cosigned(signed)?;
        Ok(CompletedTemperatureTest { report: self, customer })
    }
}

/// A report with both testers' signatures checked and the customer's answer.
/// Serialisable for display and records, but not deserialisable: rebuild it
/// with [`TemperatureReport::complete`] so the signers are checked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompletedTemperatureTest {
    report: TemperatureReport,
    customer: CustomerSignoff,
}

impl CompletedTemperatureTest {
    pub fn report(&self) -> &TemperatureReport {
        &self.report
    }

    pub fn customer(&self) -> &CustomerSignoff {
        &self.customer
    }

    pub fn customer_refused(&self) -> bool {
        self.customer.is_refused()
    }
}

/// The judge's view of a sealed report: the verdict the rules give on the
/// readings the report binds, and everything that falls short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedReport {
    /// `None` when the readings cannot be judged (none, or no living room
    /// under `living_room_only`).
    pub compliance: Option<TestCompliance>,
    /// Each rule the sealed evidence breaks, at most one per kind, in the
    /// order checked: readings, calibration, consent and range, outliers,
    /// verdict.
    pub findings: Vec<TemperatureError>,
}

impl JudgedReport {
    /// Whether the evidence is whole and the stated verdict is the rules' verdict.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty() && self.compliance.is_some()
    }
}

/// Re-judges a sealed report from the readings it binds, as a verifier who
/// trusts nothing the tablet concluded: the readings must be exactly the
/// report's (its test, its count), the thermometer calibrated on each
/// reading's date, every room entered with consent, every reading in range,
/// every outlier explained, and the verdict must be the one the rules give.
/// `thermometer` is the registry's record of the report's instrument.
///
/// Each reading's `taken_at` must already be the time the judge believes
/// (on the server: the bracketed time, in the company's offset), because the
/// threshold depends on its local hour.
pub fn judge_report(
    report: &TemperatureReport,
    readings: &[TemperatureReading],
    thermometer: Option<&Thermometer>,
    rules: &TemperatureRules,
) -> JudgedReport {
    let mut findings = Vec::new();
    let sealed = readings.iter().filter(|r| r.test_id == report.test_id).count();
    let sealed = u32::try_from(sealed).unwrap_or(u32::MAX);
    if sealed != report.reading_count || readings.len() != sealed as usize {
        findings.push(TemperatureError::ReadingsMismatch {
            test_id: report.test_id.clone(),
            stated: report.reading_count,
            sealed,
        });
    }
    // No thermometer: the caller could not find it in its registry, and says so itself.
    if let Some(e) = thermometer
        .and_then(|t| readings.iter().find_map(|r| t.check_calibration(r.taken_at.date_naive()).err()))
    {
        findings.push(e);
    }
    let mut seen = Vec::new();
    for e in readings.iter().filter_map(|r| r.check(rules).err()) {
        if !seen.contains(&e.code()) {
            seen.push(e.code());
            findings.push(e);
        }
    }
    let values: Vec<CentiCelsius> = readings.iter().map(|r| r.centi_celsius).collect();
    if let Some(m) = median(&values)
        && let Some(r) = readings
            .iter()
            .find(|r| r.outlier_reason.is_none() && outlier(r.centi_celsius, m, rules).is_some())
    {
        findings.push(TemperatureError::OutlierNeedsReason {
            label: r.label.clone(),
            median: m,
            value: r.centi_celsius,
        });
    }
    let compliance = match assess(readings, rules) {
        Ok(c) => Some(c),
        Err(e) => {
            findings.push(e);
            None
        }
    };
    if let Some(judged) = &compliance {
        let stated = &report.compliance;
        let rooms_agree = judged.rooms.len() == stated.rooms.len()
            && judged
                .rooms
                .iter()
                .zip(&stated.rooms)
                .all(|(a, b)| a.room_kind == b.room_kind && a.label == b.label && a.verdict == b.verdict);
        if judged.verdict != stated.verdict || !rooms_agree {
            findings
                .push(TemperatureError::VerdictMismatch { stated: stated.verdict, judged: judged.verdict });
        }
    }
    JudgedReport { compliance, findings }
}
