//! The seven-step home visit (入户规范"七步走") as a state machine.
//!
//! Steps are completed strictly in order, each once, each with the evidence
//! the regulations require, at times that never go backwards. A visit ends
//! with one [`VisitOutcome`]; after that nothing more can be recorded.
//!
//! Where an outcome may end the visit:
//!
//! | outcome | allowed when |
//! | --- | --- |
//! | resolved | all seven steps are done and the customer signed or refused |
//! | not resolved | the technician got in (entry done); needs a next appointment |
//! | nobody home | appointment done, arrival not (the door never opened) |
//! | refused entry | arrival or entry is the next step |
//!
//! "Not resolved" only needs entry, not inspection: a technician who learns
//! inside that the job needs another visit must be able to record that, and a
//! missing step is visible in the record anyway.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::centi::CentiCelsius;
use crate::signoff::CustomerSignoff;
use crate::value::{Sha256Hex, WorkOrderId};
use crate::work_order::Appointment;

/// Between two knocks on a door where nobody answers: "耐心等待30秒后再进行
/// 第二次通知" (供热入户维修服务相关规定, 岗位职责 1、敲门). Three taps within
/// a second are not three knocks.
pub const KNOCK_WAIT: TimeDelta = TimeDelta::seconds(30);

/// The seven steps, in the order they must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VisitStep {
    /// 一预约 — agree the time with the customer.
    Appointment,
    /// 二到达 — body camera on, knock gently, show the work ID.
    Arrival,
    /// 三进门 — uniform, badge, shoe covers.
    Entry,
    /// 四沟通 — confirm the problem and the service needed.
    Communicate,
    /// 五检查 — inspect and find the root cause.
    Inspect,
    /// 六解决 — explain and fix.
    Resolve,
    /// 七道别 — clean up, explain, thank.
    Farewell,
}

impl VisitStep {
    pub const ALL: [VisitStep; 7] = [
        Self::Appointment,
        Self::Arrival,
        Self::Entry,
        Self::Communicate,
        Self::Inspect,
        Self::Resolve,
        Self::Farewell,
    ];
}

/// A piece of evidence a step requires, named in [`VisitError::MissingEvidence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceItem {
    CustomerConfirmedTime,
    BodyCameraOn,
    KnockedGently,
    WorkIdShown,
    Uniform,
    Badge,
    ShoeCovers,
    ConfirmedProblemNote,
    FindingsNote,
    ActionDescription,
    PartName,
    DamageDescription,
    CleanedUp,
    ExplainedCare,
    Thanked,
    MeterReaderPresent,
    CustomerPresent,
    MeteringCentrePresent,
}

/// Which outcome, without its details (for errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Resolved,
    NotResolved,
    NobodyHome,
    RefusedEntry,
}

/// Every way a visit refuses what it is told. One variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitError {
    #[error("step {got:?} cannot be done yet: {expected:?} comes first")]
    StepOutOfOrder { expected: VisitStep, got: VisitStep },
    #[error("step {step:?} is already completed")]
    StepAlreadyCompleted { step: VisitStep },
    #[error("step {step:?} is missing {item:?}")]
    MissingEvidence { step: VisitStep, item: EvidenceItem },
    #[error("part {part} replaced without the customer's consent")]
    PartWithoutConsent { part: String },
    #[error("part {part} replaced without telling the customer its price first")]
    PartPriceNotTold { part: String },
    #[error("damage caused by the customer needs the customer's confirmation")]
    CustomerDamageNotConfirmed,
    #[error("time {got} is earlier than the previous step's time {previous}")]
    TimeBeforePreviousStep { previous: DateTime<Utc>, got: DateTime<Utc> },
    #[error("the visit already has an outcome")]
    VisitConcluded,
    #[error("the visit cannot be resolved: step {missing:?} is not done")]
    NotAllStepsDone { missing: VisitStep },
    #[error("outcome {outcome:?} is not possible when the next step is {next_step:?}")]
    OutcomeNotAllowed { outcome: OutcomeKind, next_step: Option<VisitStep> },
    #[error("a next appointment is required")]
    MissingNextAppointment,
    #[error("the next appointment ({start}) must start after the visit ({visit_time})")]
    NextAppointmentNotAfterVisit { start: DateTime<Utc>, visit_time: DateTime<Utc> },
    #[error("nobody home needs at least three knocks, got {got}")]
    TooFewKnocks { got: usize },
    #[error("knock times must be in order")]
    KnocksOutOfOrder,
    #[error("a knock came {gap_secs} s after the one before; wait {wait_secs} s between knocks")]
    KnocksTooClose { gap_secs: i64, wait_secs: i64 },
    #[error("nobody home needs a phone attempt")]
    MissingPhoneAttempt,
    #[error("the phone attempt ({phone_attempt_at}) must come after the last knock ({last_knock})")]
    PhoneAttemptNotAfterKnocks { last_knock: DateTime<Utc>, phone_attempt_at: DateTime<Utc> },
    #[error("nobody home needs a photo of the notice left")]
    MissingNoticePhoto,
    #[error("the nobody-home notice must not be stuck on the customer's door")]
    NoticeStuckOnDoor,
    #[error("refused entry needs a reason")]
    MissingRefusalReason,
    #[error("a resolved visit needs the customer's sign-off or recorded refusal")]
    MissingCustomerSignoff,
    #[error("the customer signs off after the resolve step")]
    SignoffBeforeResolve,
    #[error("the customer's sign-off is already recorded")]
    SignoffAlreadyRecorded,
    #[error("step {step:?} is not done, so there is nothing to correct")]
    StepNotDone { step: VisitStep },
    #[error("the customer has signed off or the visit has ended: its steps can no longer be corrected")]
    CorrectionTooLate,
}

impl VisitError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StepOutOfOrder { .. } => "step_out_of_order",
            Self::StepAlreadyCompleted { .. } => "step_already_completed",
            Self::MissingEvidence { .. } => "missing_evidence",
            Self::PartWithoutConsent { .. } => "part_without_consent",
            Self::PartPriceNotTold { .. } => "part_price_not_told",
            Self::CustomerDamageNotConfirmed => "customer_damage_not_confirmed",
            Self::TimeBeforePreviousStep { .. } => "time_before_previous_step",
            Self::VisitConcluded => "visit_concluded",
            Self::NotAllStepsDone { .. } => "not_all_steps_done",
            Self::OutcomeNotAllowed { .. } => "outcome_not_allowed",
            Self::MissingNextAppointment => "missing_next_appointment",
            Self::NextAppointmentNotAfterVisit { .. } => "next_appointment_not_after_visit",
            Self::TooFewKnocks { .. } => "too_few_knocks",
            Self::KnocksOutOfOrder => "knocks_out_of_order",
            Self::KnocksTooClose { .. } => "knocks_too_close",
            Self::MissingPhoneAttempt => "missing_phone_attempt",
            Self::PhoneAttemptNotAfterKnocks { .. } => "phone_attempt_not_after_knocks",
            Self::MissingNoticePhoto => "missing_notice_photo",
            Self::NoticeStuckOnDoor => "notice_stuck_on_door",
            Self::MissingRefusalReason => "missing_refusal_reason",
            Self::MissingCustomerSignoff => "missing_customer_signoff",
            Self::SignoffBeforeResolve => "signoff_before_resolve",
            Self::SignoffAlreadyRecorded => "signoff_already_recorded",
            Self::StepNotDone { .. } => "step_not_done",
            Self::CorrectionTooLate => "correction_too_late",
        }
    }
}

/// 一预约: the agreed time, confirmed with the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppointmentEvidence {
    pub agreed: Appointment,
    pub customer_confirmed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// 二到达. The step's time is the arrival time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArrivalEvidence {
    pub body_camera_on: bool,
    pub knocked_gently: bool,
    pub work_id_shown: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub photos: Vec<Sha256Hex>,
}

/// 三进门.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntryEvidence {
    pub uniform: bool,
    pub badge: bool,
    pub shoe_covers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// 四沟通.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CommunicateEvidence {
    /// The problem and the service needed, as confirmed with the customer.
    pub confirmed_problem: String,
    /// Whether the customer was told in advance that the service is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_service_told: Option<bool>,
}

/// The building's pressure zone (高区 / 中区 / 低区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    High,
    Middle,
    Low,
}

/// Which side of the property line the fault is on; decides who pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FaultSide {
    Company,
    Customer,
}

/// 五检查, following the training manual's checklist. Only the findings note
/// is required; the measurements are recorded when taken.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InspectEvidence {
    /// The root cause as found.
    pub findings: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riser_this_floor: Option<CentiCelsius>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riser_floor_above: Option<CentiCelsius>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riser_floor_below: Option<CentiCelsius>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_at_inlet: Option<CentiCelsius>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_at_inlet: Option<CentiCelsius>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockage_found: Option<bool>,
    /// Floor heating: the state of the manifold (分集水器).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifold_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
    /// Whether other homes in the same zone are cold too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours_in_zone_cold: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_pressure_kpa: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_flow_litres_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_side: Option<FaultSide>,
    #[serde(default)]
    pub photos: Vec<Sha256Hex>,
}

/// A replaced part: the customer must have been told the price and agreed
/// before it was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartReplacement {
    pub part: String,
    /// The price told to the customer, in fen; absent means not told. Zero is
    /// a free part, told as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_told_cents: Option<u32>,
    pub customer_consented: bool,
}

/// Damage caused by the customer, analysed with them and confirmed by them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CustomerDamageConfirmation {
    pub description: String,
    pub customer_confirmed: bool,
}

/// 六解决.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResolveEvidence {
    /// What was explained and done (or why it cannot be fixed now).
    pub action: String,
    #[serde(default)]
    pub parts: Vec<PartReplacement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_damage: Option<CustomerDamageConfirmation>,
    /// A heat meter was replaced (换表): only with the meter reader, the
    /// customer and the metering centre present together (`001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_replacement: Option<MeterReplacement>,
    #[serde(default)]
    pub photos: Vec<Sha256Hex>,
}

/// Who was present when a heat meter was replaced, and the two meters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeterReplacement {
    pub meter_reader_present: bool,
    pub customer_present: bool,
    pub metering_centre_present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_meter_serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_meter_serial: Option<String>,
}

/// 七道别.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FarewellEvidence {
    pub cleaned_up: bool,
    pub explained_care: bool,
    pub thanked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default)]
    pub photos: Vec<Sha256Hex>,
}

/// The evidence for one step; the variant says which step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepEvidence {
    Appointment(AppointmentEvidence),
    Arrival(ArrivalEvidence),
    Entry(EntryEvidence),
    Communicate(CommunicateEvidence),
    Inspect(InspectEvidence),
    Resolve(ResolveEvidence),
    Farewell(FarewellEvidence),
}

fn require(present: bool, step: VisitStep, item: EvidenceItem) -> Result<(), VisitError> {
    if present { Ok(()) } else { Err(VisitError::MissingEvidence { step, item }) }
}

fn has_text(text: &str) -> bool {
    !text.trim().is_empty()
}

impl StepEvidence {
    pub fn step(&self) -> VisitStep {
        match self {
            Self::Appointment(_) => VisitStep::Appointment,
            Self::Arrival(_) => VisitStep::Arrival,
            Self::Entry(_) => VisitStep::Entry,
            Self::Communicate(_) => VisitStep::Communicate,
            Self::Inspect(_) => VisitStep::Inspect,
            Self::Resolve(_) => VisitStep::Resolve,
            Self::Farewell(_) => VisitStep::Farewell,
        }
    }

    /// The photos this evidence refers to (by SHA-256), so a record can
    /// attach exactly those files.
    pub fn photos(&self) -> &[Sha256Hex] {
        match self {
            Self::Arrival(e) => &e.photos,
            Self::Inspect(e) => &e.photos,
            Self::Resolve(e) => &e.photos,
            Self::Farewell(e) => &e.photos,
            Self::Appointment(_) | Self::Entry(_) | Self::Communicate(_) => &[],
        }
    }

    /// Whether the evidence is complete for its step, on its own (order and
    /// time are the visit's business).
    pub fn check(&self) -> Result<(), VisitError> {
        use EvidenceItem as I;
        let step = self.step();
        match self {
            Self::Appointment(e) => require(e.customer_confirmed, step, I::CustomerConfirmedTime),
            Self::Arrival(e) => {
                require(e.body_camera_on, step, I::BodyCameraOn)?;
                require(e.knocked_gently, step, I::KnockedGently)?;
                require(e.work_id_shown, step, I::WorkIdShown)
            }
            Self::Entry(e) => {
                require(e.uniform, step, I::Uniform)?;
                require(e.badge, step, I::Badge)?;
                require(e.shoe_covers, step, I::ShoeCovers)
            }
            Self::Communicate(e) => require(has_text(&e.confirmed_problem), step, I::ConfirmedProblemNote),
            Self::Inspect(e) => require(has_text(&e.findings), step, I::FindingsNote),
            Self::Resolve(e) => check_resolve(e),
            Self::Farewell(e) => {
                require(e.cleaned_up, step, I::CleanedUp)?;
                require(e.explained_care, step, I::ExplainedCare)?;
                require(e.thanked, step, I::Thanked)
            }
        }
    }
}

fn check_resolve(e: &ResolveEvidence) -> Result<(), VisitError> {
    let step = VisitStep::Resolve;
    require(has_text(&e.action), step, EvidenceItem::ActionDescription)?;
    for p in &e.parts {
        require(has_text(&p.part), step, EvidenceItem::PartName)?;
        // Price first, then consent: consent to an unknown price is not consent.
        if p.price_told_cents.is_none() {
            return Err(VisitError::PartPriceNotTold { part: p.part.clone() });
        }
        if !p.customer_consented {
            return Err(VisitError::PartWithoutConsent { part: p.part.clone() });
        }
    }
    if let Some(damage) = &e.customer_damage {
        require(has_text(&damage.description), step, EvidenceItem::DamageDescription)?;
        if !damage.customer_confirmed {
            return Err(VisitError::CustomerDamageNotConfirmed);
        }
    }
    if let Some(m) = &e.meter_replacement {
        require(m.meter_reader_present, step, EvidenceItem::MeterReaderPresent)?;
        require(m.customer_present, step, EvidenceItem::CustomerPresent)?;
        require(m.metering_centre_present, step, EvidenceItem::MeteringCentrePresent)?;
    }
    Ok(())
}

/// Where the nobody-home notice (到访不遇单) was left. It must be somewhere
/// visible but never stuck on the customer's door; `OnDoor` exists so that a
/// technician who did so is told, rather than forced to pick another answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticePlacement {
    OnDoor,
    BesideDoor,
    UnderDoor,
    Mailbox,
    UnitNoticeBoard,
    PropertyOffice,
    Other,
}

/// How the visit ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VisitOutcome {
    Resolved,
    /// Cannot be fixed now: say so and book the next visit.
    NotResolved {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_appointment: Option<Appointment>,
    },
    /// Three knocks, then a phone call, then a notice and a new appointment.
    NobodyHome {
        knocks: Vec<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_attempt_at: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice_photo_sha256: Option<Sha256Hex>,
        notice_placement: NoticePlacement,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_appointment: Option<Appointment>,
    },
    RefusedEntry {
        reason: String,
    },
}

impl VisitOutcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Resolved => OutcomeKind::Resolved,
            Self::NotResolved { .. } => OutcomeKind::NotResolved,
            Self::NobodyHome { .. } => OutcomeKind::NobodyHome,
            Self::RefusedEntry { .. } => OutcomeKind::RefusedEntry,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompletedStep {
    pub at: DateTime<Utc>,
    pub evidence: StepEvidence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConcludedVisit {
    pub at: DateTime<Utc>,
    pub outcome: VisitOutcome,
}

/// One visit to one home for one work order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VisitData")]
pub struct Visit {
    work_order_id: WorkOrderId,
    steps: Vec<CompletedStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signoff: Option<CustomerSignoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<ConcludedVisit>,
}

/// The serialised form, replayed through the same checks as a live visit.
#[derive(Deserialize)]
struct VisitData {
    work_order_id: WorkOrderId,
    #[serde(default)]
    steps: Vec<CompletedStep>,
    #[serde(default)]
    signoff: Option<CustomerSignoff>,
    #[serde(default)]
    outcome: Option<ConcludedVisit>,
}

impl TryFrom<VisitData> for Visit {
    type Error = VisitError;
    fn try_from(data: VisitData) -> Result<Self, Self::Error> {
        let mut visit = Visit::new(data.work_order_id);
        for step in data.steps {
            visit.complete(step.evidence, step.at)?;
        }
        if let Some(signoff) = data.signoff {
            visit.record_signoff(signoff)?;
        }
        if let Some(concluded) = data.outcome {
            visit.conclude(concluded.outcome, concluded.at)?;
        }
        Ok(visit)
    }
}

impl Visit {
    pub fn new(work_order_id: WorkOrderId) -> Self {
        Self { work_order_id, steps: Vec::new(), signoff: None, outcome: None }
    }

    /// Completes the next step with its evidence at time `at`.
    pub fn complete(&mut self, evidence: StepEvidence, at: DateTime<Utc>) -> Result<(), VisitError> {
        if self.outcome.is_some() {
            return Err(VisitError::VisitConcluded);
        }
        let step = evidence.step();
        if self.is_done(step) {
            return Err(VisitError::StepAlreadyCompleted { step });
        }
        if let Some(expected) = self.next_step()
            && expected != step
        {
            return Err(VisitError::StepOutOfOrder { expected, got: step });
        }
        self.check_not_before_last(at)?;
        evidence.check()?;
        self.steps.push(CompletedStep { at, evidence });
        Ok(())
    }

    /// Replaces the evidence of a step already done (a correction), keeping
    /// the step's time: the step happened when it happened. Only until the
    /// customer signs off or the visit ends — after that the customer has
    /// seen, or the office has, what the record says.
    pub fn correct(&mut self, evidence: StepEvidence) -> Result<(), VisitError> {
        if self.outcome.is_some() || self.signoff.is_some() {
            return Err(VisitError::CorrectionTooLate);
        }
        let step = evidence.step();
        let done = self
            .steps
            .iter_mut()
            .find(|s| s.evidence.step() == step)
            .ok_or(VisitError::StepNotDone { step })?;
        evidence.check()?;
        done.evidence = evidence;
        Ok(())
    }

    /// Records the customer's sign-off or refusal, once, after the resolve step.
    pub fn record_signoff(&mut self, signoff: CustomerSignoff) -> Result<(), VisitError> {
        if self.outcome.is_some() {
            return Err(VisitError::VisitConcluded);
        }
        if !self.is_done(VisitStep::Resolve) {
            return Err(VisitError::SignoffBeforeResolve);
        }
        if self.signoff.is_some() {
            return Err(VisitError::SignoffAlreadyRecorded);
        }
        self.signoff = Some(signoff);
        Ok(())
    }

    /// Ends the visit with `outcome` at time `at`; see the module doc for
    /// where each outcome is allowed.
    pub fn conclude(&mut self, outcome: VisitOutcome, at: DateTime<Utc>) -> Result<(), VisitError> {
        if self.outcome.is_some() {
            return Err(VisitError::VisitConcluded);
        }
        self.check_not_before_last(at)?;
        let next_step = self.next_step();
        let not_allowed = VisitError::OutcomeNotAllowed { outcome: outcome.kind(), next_step };
        match &outcome {
            VisitOutcome::Resolved => {
                if let Some(missing) = next_step {
                    return Err(VisitError::NotAllStepsDone { missing });
                }
                if self.signoff.is_none() {
                    return Err(VisitError::MissingCustomerSignoff);
                }
            }
            VisitOutcome::NotResolved { next_appointment } => {
                if !self.is_done(VisitStep::Entry) {
                    return Err(not_allowed);
                }
                check_next_appointment(next_appointment.as_ref(), at)?;
            }
            VisitOutcome::NobodyHome {
                knocks,
                phone_attempt_at,
                notice_photo_sha256,
                notice_placement,
                next_appointment,
            } => {
                if next_step != Some(VisitStep::Arrival) {
                    return Err(not_allowed);
                }
                self.check_knocks(knocks, *phone_attempt_at)?;
                if notice_photo_sha256.is_none() {
                    return Err(VisitError::MissingNoticePhoto);
                }
                if *notice_placement == NoticePlacement::OnDoor {
                    return Err(VisitError::NoticeStuckOnDoor);
                }
                check_next_appointment(next_appointment.as_ref(), at)?;
            }
            VisitOutcome::RefusedEntry { reason } => {
                if !matches!(next_step, Some(VisitStep::Arrival | VisitStep::Entry)) {
                    return Err(not_allowed);
                }
                if !has_text(reason) {
                    return Err(VisitError::MissingRefusalReason);
                }
            }
        }
        self.outcome = Some(ConcludedVisit { at, outcome });
        Ok(())
    }

    /// At least three knocks, in order, each at least `KNOCK_WAIT` after the
    /// one before, not before the last step; then a phone attempt after the
    /// last knock.
    fn check_knocks(
        &self,
        knocks: &[DateTime<Utc>],
        phone_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<(), VisitError> {
        if knocks.len() < 3 {
            return Err(VisitError::TooFewKnocks { got: knocks.len() });
        }
        if knocks.windows(2).any(|w| w[1] < w[0]) {
            return Err(VisitError::KnocksOutOfOrder);
        }
        if let Some(gap) = knocks.windows(2).map(|w| w[1] - w[0]).find(|gap| *gap < KNOCK_WAIT) {
            return Err(VisitError::KnocksTooClose {
                gap_secs: gap.num_seconds(),
                wait_secs: KNOCK_WAIT.num_seconds(),
            });
        }
        let (Some(&first), Some(&last_knock)) = (knocks.first(), knocks.last()) else {
            return Err(VisitError::TooFewKnocks { got: knocks.len() });
        };
        self.check_not_before_last(first)?;
        let phone_attempt_at = phone_attempt_at.ok_or(VisitError::MissingPhoneAttempt)?;
        if phone_attempt_at <= last_knock {
            return Err(VisitError::PhoneAttemptNotAfterKnocks { last_knock, phone_attempt_at });
        }
        Ok(())
    }

    fn check_not_before_last(&self, at: DateTime<Utc>) -> Result<(), VisitError> {
        match self.last_step_time() {
            Some(previous) if at < previous => Err(VisitError::TimeBeforePreviousStep { previous, got: at }),
            _ => Ok(()),
        }
    }

    pub fn work_order_id(&self) -> &WorkOrderId {
        &self.work_order_id
    }

    /// The step to do next; `None` once all seven are done.
    pub fn next_step(&self) -> Option<VisitStep> {
        // Steps are only ever added in order, so the count is the position.
        VisitStep::ALL.get(self.steps.len()).copied()
    }

    pub fn is_done(&self, step: VisitStep) -> bool {
        self.steps.iter().any(|s| s.evidence.step() == step)
    }

    pub fn steps(&self) -> &[CompletedStep] {
        &self.steps
    }

    pub fn last_step_time(&self) -> Option<DateTime<Utc>> {
        self.steps.last().map(|s| s.at)
    }

    pub fn signoff(&self) -> Option<&CustomerSignoff> {
        self.signoff.as_ref()
    }

    pub fn outcome(&self) -> Option<&ConcludedVisit> {
        self.outcome.as_ref()
    }
}

fn check_next_appointment(next: Option<&Appointment>, visit_time: DateTime<Utc>) -> Result<(), VisitError> {
    let next = next.ok_or(VisitError::MissingNextAppointment)?;
    if next.start() <= visit_time {
        return Err(VisitError::NextAppointmentNotAfterVisit { start: next.start(), visit_time });
    }
    Ok(())
}
