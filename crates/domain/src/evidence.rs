//! Which record evidences which milestone of a work order — one rule for the
//! tablet (its own sealed records count before the feed brings them back)
//! and the office (records it received, at their bracketed times).
//!
//! | record | milestone | claimed time |
//! | --- | --- | --- |
//! | visit step Appointment (一预约, the time agreed with the customer) | contacted | the step's `at` |
//! | visit step Arrival (二到达) | on site | the step's `at` |
//! | temperature reading (the testers are in the home) | on site | `taken_at` |
//! | visit outcome `resolved` | completed | the outcome's `at` |
//! | temperature-test report | completed | when the report was made (its record's `created` time) |
//! | late notice (the customer was told) | late notice | `told_at` |
//!
//! The effective milestone is the earlier of what dispatch recorded and
//! what the evidence shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::temperature::TemperatureReading;
use crate::visit::{CompletedStep, ConcludedVisit, StepEvidence, VisitOutcome};
use crate::work_order::Milestones;

/// A milestone a record can evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    ContactedAt,
    OnSiteAt,
    CompletedAt,
    LateNoticeAt,
}

/// The data of a `hearth.late_notice/1` record: who was told, when, and the
/// new arrival time (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateNotice {
    pub told_whom: String,
    pub told_at_ms: i64,
    pub new_eta_ms: i64,
}

/// A sealed record, as far as milestones go.
#[derive(Debug, Clone, Copy)]
pub enum EvidenceRecord<'a> {
    Step(&'a CompletedStep),
    Outcome(&'a ConcludedVisit),
    Reading(&'a TemperatureReading),
    /// A temperature-test report, made at this time.
    Report {
        made_at: DateTime<Utc>,
    },
    LateNotice(&'a LateNotice),
}

/// What one record claims about the order's milestones.
pub fn milestone_claim(record: EvidenceRecord<'_>) -> Option<(Milestone, DateTime<Utc>)> {
    match record {
        EvidenceRecord::Step(CompletedStep { at, evidence: StepEvidence::Appointment(_) }) => {
            Some((Milestone::ContactedAt, *at))
        }
        EvidenceRecord::Step(CompletedStep { at, evidence: StepEvidence::Arrival(_) }) => {
            Some((Milestone::OnSiteAt, *at))
        }
        EvidenceRecord::Step(_) => None,
        EvidenceRecord::Outcome(ConcludedVisit { at, outcome: VisitOutcome::Resolved }) => {
            Some((Milestone::CompletedAt, *at))
        }
        EvidenceRecord::Outcome(_) => None,
        EvidenceRecord::Reading(r) => Some((Milestone::OnSiteAt, r.taken_at.with_timezone(&Utc))),
        EvidenceRecord::Report { made_at } => Some((Milestone::CompletedAt, made_at)),
        EvidenceRecord::LateNotice(n) => {
            DateTime::from_timestamp_millis(n.told_at_ms).map(|t| (Milestone::LateNoticeAt, t))
        }
    }
}

fn earlier(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The milestones deadlines are judged on: each evidenced milestone the
/// earlier of what dispatch recorded and the earliest evidence.
pub fn effective_milestones(
    recorded: &Milestones,
    evidence: impl IntoIterator<Item = (Milestone, DateTime<Utc>)>,
) -> Milestones {
    let mut m = recorded.clone();
    for (milestone, at) in evidence {
        let slot = match milestone {
            Milestone::ContactedAt => &mut m.contacted_at,
            Milestone::OnSiteAt => &mut m.on_site_at,
            Milestone::CompletedAt => &mut m.completed_at,
            Milestone::LateNoticeAt => &mut m.late_notice_at,
        };
        *slot = earlier(*slot, Some(at));
    }
    m
}
