//! `hearth-domain`: the rules of in-home district-heating service.
//!
//! Owns work orders and their deadlines, the company rule set, the seven-step
//! home visit, temperature tests with their compliance verdict, co-signing
//! requirements, and the customer's sign-off or refusal. Values are validated
//! when built or deserialised, with typed errors; each error has a stable
//! `code()` for the UI and HTTP boundaries.
//!
//! It must never do I/O, read the clock (the current time is always a
//! parameter), hold keys or do cryptography, or put customer names and phones
//! into `Debug` output or error messages. Serialised forms hold no floats:
//! temperatures are integer hundredths of a degree, durations integer minutes.

#![forbid(unsafe_code)]

pub mod centi;
pub mod deadline;
pub mod evidence;
pub mod fee;
pub mod follow_up;
pub mod input;
pub mod rules;
pub mod signoff;
pub mod temperature;
pub mod time;
pub mod value;
pub mod visit;
pub mod work_order;

pub use centi::CentiCelsius;
pub use deadline::{DeadlineKind, DeadlineState, DeadlineStatus, add_working_days, deadlines};
pub use evidence::{
    EvidenceRecord, LateNotice, Milestone, OrderAccepted, effective_milestones, milestone_claim,
};
pub use fee::{
    CountedTest, FeeRules, FeeRulesError, HeatingSeason, NonCompliantStretch, SeasonAccount,
    household_seasons, outside_season, season_account,
};
pub use follow_up::{CallRefusal, DayWindow, FollowUpDue, FollowUpRules, FollowUpRulesError};
pub use rules::{CompanyProfile, DeadlineRules, RuleSet, RuleSetError, TemperatureRules, VisitRules};
pub use signoff::{
    CoSignError, CustomerSignoff, Satisfaction, Signer, SignerRole, SignoffError, check_cosigned,
};
pub use temperature::{
    CompletedTemperatureTest, Compliance, JudgedReport, NewReading, NewTemperatureTest, Outlier,
    ReadingRecord, RoomCompliance, RoomKind, RoomVerdict, TemperatureError, TemperatureReading,
    TemperatureReport, TemperatureTest, TestCompliance, Thermometer, judge_report,
};
pub use value::{
    CustomerName, NonEmptyText, Phone, Sha256Hex, TechnicianId, TestId, ValueError, WorkOrderId,
};
pub use visit::{
    AppointmentEvidence, ArrivalEvidence, CommunicateEvidence, CompletedStep, ConcludedVisit,
    CustomerDamageConfirmation, EntryEvidence, EvidenceItem, FarewellEvidence, FaultSide, InspectEvidence,
    MeterReplacement, NoticePlacement, OutcomeKind, PartReplacement, ResolveEvidence, StepEvidence, Visit,
    VisitError, VisitOutcome, VisitStep, Zone,
};
pub use work_order::{
    Address, Appointment, Customer, Milestones, Priority, WorkOrder, WorkOrderCategory, WorkOrderError,
};
