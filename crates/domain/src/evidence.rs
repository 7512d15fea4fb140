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
//! | visit outcome `nobody_home` (到访不遇) | on site (the technician knocked) | the first knock |
//! | visit outcome `refused_entry`, `not_resolved` | on site (the technician was at the home) | the outcome's `at` |
//! | temperature-test report | completed | when the report was made (its record's `created` time) |
//! | late notice (the customer was told) | late notice | `told_at` |
//! | order accepted (接单) | accepted | `accepted_at` |
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
    AcceptedAt,
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

/// The data of a `hearth.order_accepted/1` record: when the technician
/// accepted the order dispatch passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    pub accepted_at: DateTime<Utc>,
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
    /// The technician accepted the order (`hearth.order_accepted/1`), at this time.
    Accepted {
        at: DateTime<Utc>,
    },
}

/// What one record claims about the order's milestones. A visit that ended
/// without a fix still proves the technician was at the home on time: an
/// on-time technician who found nobody in never shows a missed on-site
/// deadline.
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
        EvidenceRecord::Outcome(ConcludedVisit { outcome: VisitOutcome::NobodyHome { knocks, .. }, at }) => {
            Some((Milestone::OnSiteAt, knocks.iter().min().copied().unwrap_or(*at)))
        }
        EvidenceRecord::Outcome(ConcludedVisit {
            at,
            outcome: VisitOutcome::RefusedEntry { .. } | VisitOutcome::NotResolved { .. },
        }) => Some((Milestone::OnSiteAt, *at)),
        EvidenceRecord::Reading(r) => Some((Milestone::OnSiteAt, r.taken_at.with_timezone(&Utc))),
        EvidenceRecord::Report { made_at } => Some((Milestone::CompletedAt, made_at)),
        EvidenceRecord::Accepted { at } => Some((Milestone::AcceptedAt, at)),
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
/// earlier of what dispatch recorded and the earliest evidence that counts
/// ([`Milestones::counts`]: an acceptance before the latest dispatch does not).
pub fn effective_milestones(
    recorded: &Milestones,
    evidence: impl IntoIterator<Item = (Milestone, DateTime<Utc>)>,
) -> Milestones {
    let mut m = recorded.clone();
    if m.accepted_at.is_some_and(|at| !recorded.counts(Milestone::AcceptedAt, at)) {
        m.accepted_at = None;
    }
    for (milestone, at) in evidence.into_iter().filter(|(milestone, at)| recorded.counts(*milestone, *at)) {
        let slot = match milestone {
            Milestone::AcceptedAt => &mut m.accepted_at,
            Milestone::ContactedAt => &mut m.contacted_at,
            Milestone::OnSiteAt => &mut m.on_site_at,
            Milestone::CompletedAt => &mut m.completed_at,
            Milestone::LateNoticeAt => &mut m.late_notice_at,
        };
        *slot = earlier(*slot, Some(at));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visit::NoticePlacement;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_visit_that_found_nobody_home_proves_the_technician_came_at_the_first_knock() {
        let outcome = ConcludedVisit {
            at: t(10, 20),
            outcome: VisitOutcome::NobodyHome {
                knocks: vec![t(10, 5), t(10, 2), t(10, 8)],
                phone_attempt_at: Some(t(10, 10)),
                notice_photo_sha256: None,
                notice_placement: NoticePlacement::UnderDoor,
                next_appointment: None,
            },
        };
        assert_eq!(milestone_claim(EvidenceRecord::Outcome(&outcome)), Some((Milestone::OnSiteAt, t(10, 2))));
        let refused = ConcludedVisit {
            at: t(11, 0),
            outcome: VisitOutcome::RefusedEntry { reason: "不让进".into() },
        };
        assert_eq!(milestone_claim(EvidenceRecord::Outcome(&refused)), Some((Milestone::OnSiteAt, t(11, 0))));
        let done = ConcludedVisit { at: t(12, 0), outcome: VisitOutcome::Resolved };
        assert_eq!(milestone_claim(EvidenceRecord::Outcome(&done)), Some((Milestone::CompletedAt, t(12, 0))));
    }

    #[test]
    fn the_effective_milestone_is_the_earlier_of_dispatch_and_evidence() {
        let recorded = Milestones { on_site_at: Some(t(9, 0)), ..Milestones::default() };
        let m = effective_milestones(
            &recorded,
            [(Milestone::OnSiteAt, t(9, 30)), (Milestone::CompletedAt, t(10, 0))],
        );
        assert_eq!((m.on_site_at, m.completed_at), (Some(t(9, 0)), Some(t(10, 0))));
    }
}
