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
pub mod complaint;
pub mod deadline;
pub mod evidence;
pub mod fee;
pub mod follow_up;
pub mod input;
pub mod repeat;
pub mod report;
pub mod rules;
pub mod setup;
pub mod signoff;
pub mod temperature;
pub mod time;
pub mod value;
pub mod versions;
pub mod visit;
pub mod work_order;

pub use centi::CentiCelsius;
pub use complaint::working_days_left;
pub use deadline::{
    DeadlineKind, DeadlineState, DeadlineStatus, WorkCalendar, add_working_days, add_working_days_in,
    deadlines,
};
pub use evidence::{
    EvidenceRecord, LateNotice, Milestone, OrderAccepted, effective_milestones, milestone_claim,
};
pub use fee::{
    AddressCompliance, CountedTest, FeeRules, FeeRulesError, HeatingSeason, HomeTest, NonCompliantStretch,
    SeasonAccount, compliance_by_address, household_seasons, outside_season, season_account,
};
pub use follow_up::{
    CallRefusal, DayWindow, FollowUpCandidate, FollowUpDue, FollowUpRules, FollowUpRulesError,
    follow_up_queue,
};
pub use repeat::{RepeatCandidate, RepeatGroup, RepeatMember, repeat_repairs, repeats_of};
pub use report::{
    CallResult, Period, PeriodError, Report, ReportGrouping, ReportOrder, ReportRow, ReportTest, station_of,
};
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
pub use versions::{RecordLink, Versions, versions};
pub use visit::{
    AppointmentEvidence, ArrivalEvidence, CommunicateEvidence, CompletedStep, ConcludedVisit,
    CustomerDamageConfirmation, EntryEvidence, EvidenceItem, FarewellEvidence, FaultSide, InspectEvidence,
    MeterReplacement, NoticePlacement, OutcomeKind, PartReplacement, ResolveEvidence, StepEvidence, Visit,
    VisitError, VisitOutcome, VisitStep, Zone,
};
pub use work_order::{
    Address, Appointment, Customer, Milestones, Priority, WorkOrder, WorkOrderCategory, WorkOrderError,
    next_work_order_id,
};
