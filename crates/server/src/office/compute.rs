//! The office's adapters from stored records to the rules of hearth-domain:
//! which milestone a stored record's data evidences, and the earliest
//! evidence per milestone with the record that proves it. The rules
//! themselves (bracketing, versions, the follow-up queue, repeat repairs,
//! non-compliant stretches, work-order ids) live in hearth-domain; the
//! tablet calls the same ones. No I/O and no clock: "now" is a parameter.

use chrono::{DateTime, Utc};
pub use hearth_domain::Milestone;
use hearth_domain::{
    CompletedStep, ConcludedVisit, EvidenceRecord, LateNotice, Milestones, RuleSet, TemperatureReading,
    milestone_claim,
};
use hearth_protocol::schema;
use serde::Serialize;
use serde_json::{Map, Value};

/// Time as Hearth judges it: the company's zone and the server's bracket
/// of device claims (protocol §8), one home in `hearth_domain::time`.
pub use hearth_domain::time::{
    Bracketed, COMPANY_UTC_OFFSET_MINUTES, bracket, company_offset, local_date, ms_to_utc,
};

/// Whether a follow-up call may be made at `now`, company time: the rule
/// set's calling hours and meal times (`hearth_domain::FollowUpRules`).
pub fn may_call_at(rules: &RuleSet, now: DateTime<Utc>) -> Result<(), hearth_domain::CallRefusal> {
    rules.follow_up().may_call_at(now, company_offset())
}

/// What a record's content claims about the order's milestones: the
/// record's data rebuilt as its domain value, and the one rule of
/// `hearth_domain::evidence` (the tablet applies the same). Data that does
/// not rebuild its domain value claims nothing.
pub fn milestone_claims(
    schema_name: &str,
    data: &Map<String, Value>,
    created_ms: i64,
) -> Vec<(Milestone, DateTime<Utc>)> {
    let value = Value::Object(data.clone());
    let claim = match schema_name {
        schema::VISIT_STEP => serde_json::from_value::<CompletedStep>(value)
            .ok()
            .and_then(|s| milestone_claim(EvidenceRecord::Step(&s))),
        schema::VISIT_OUTCOME => serde_json::from_value::<ConcludedVisit>(value)
            .ok()
            .and_then(|o| milestone_claim(EvidenceRecord::Outcome(&o))),
        schema::TEMPERATURE_READING => serde_json::from_value::<TemperatureReading>(value)
            .ok()
            .and_then(|r| milestone_claim(EvidenceRecord::Reading(&r))),
        schema::TEMPERATURE_TEST => {
            milestone_claim(EvidenceRecord::Report { made_at: ms_to_utc(created_ms) })
        }
        schema::LATE_NOTICE => serde_json::from_value::<LateNotice>(value)
            .ok()
            .and_then(|n| milestone_claim(EvidenceRecord::LateNotice(&n))),
        schema::ORDER_ACCEPTED => serde_json::from_value::<hearth_domain::OrderAccepted>(value)
            .ok()
            .and_then(|a| milestone_claim(EvidenceRecord::Accepted { at: a.accepted_at })),
        _ => None,
    };
    claim.into_iter().collect()
}

/// A milestone as a record evidences it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidenced {
    pub record_id: String,
    #[serde(flatten)]
    pub time: Bracketed,
}

/// The earliest evidence of each milestone among the records that count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacted_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_site_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_notice_at: Option<Evidenced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Evidenced>,
}

impl Evidence {
    /// Keeps `candidate` when it is earlier (by bracketed time) than what is held.
    pub fn offer(&mut self, milestone: Milestone, candidate: Evidenced) {
        let slot = match milestone {
            Milestone::ContactedAt => &mut self.contacted_at,
            Milestone::OnSiteAt => &mut self.on_site_at,
            Milestone::CompletedAt => &mut self.completed_at,
            Milestone::LateNoticeAt => &mut self.late_notice_at,
            Milestone::AcceptedAt => &mut self.accepted_at,
        };
        if slot.as_ref().is_none_or(|held| candidate.time.at < held.time.at) {
            *slot = Some(candidate);
        }
    }
}

/// The milestones deadlines are judged on (`hearth_domain::effective_milestones`):
/// for each evidenced milestone, the earlier of what dispatch recorded (a
/// trusted operator, never in the future when entered) and the bracketed
/// time of the evidencing record. The rest is as dispatch recorded it.
pub fn effective_milestones(recorded: &Milestones, evidence: &Evidence) -> Milestones {
    let evidenced = [
        (Milestone::ContactedAt, &evidence.contacted_at),
        (Milestone::OnSiteAt, &evidence.on_site_at),
        (Milestone::CompletedAt, &evidence.completed_at),
        (Milestone::LateNoticeAt, &evidence.late_notice_at),
        (Milestone::AcceptedAt, &evidence.accepted_at),
    ];
    hearth_domain::effective_milestones(
        recorded,
        evidenced.into_iter().filter_map(|(m, e)| e.as_ref().map(|e| (m, e.time.at))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 10, h, m, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_claim_inside_the_bracket_is_kept() {
        let b = bracket(t(10, 0), Some(t(9, 0)), t(11, 0));
        assert_eq!(b.at, t(10, 0));
        assert!(!b.adjusted);
    }

    #[test]
    fn a_claim_before_the_last_held_receipt_is_moved_up_to_it() {
        let b = bracket(t(8, 0), Some(t(9, 0)), t(11, 0));
        assert_eq!(b.at, t(9, 0));
        assert!(b.adjusted);
        assert_eq!(b.claimed, t(8, 0), "the claim is still shown");
    }

    #[test]
    fn a_claim_after_the_server_received_the_record_is_moved_back() {
        assert_eq!(bracket(t(12, 0), Some(t(9, 0)), t(11, 0)).at, t(11, 0));
        assert_eq!(bracket(t(12, 0), None, t(11, 0)).at, t(11, 0));
    }

    #[test]
    fn without_a_held_receipt_any_earlier_claim_stands() {
        assert_eq!(bracket(t(1, 0), None, t(11, 0)).at, t(1, 0));
    }

    #[test]
    fn the_receive_time_wins_when_the_bounds_disagree() {
        // A receipt named as held that the server received after this record
        // cannot be right; never report a time after the record arrived.
        assert_eq!(bracket(t(8, 0), Some(t(12, 0)), t(11, 0)).at, t(11, 0));
    }

    #[test]
    fn calling_hours_are_seven_to_twenty_two_local_inclusive_and_not_at_meal_times() {
        // 07:00 local = 23:00 UTC the day before.
        let local = |h: u32, m: u32, s: u32| {
            company_offset()
                .with_ymd_and_hms(2025, 1, 10, h, m, s)
                .single()
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            ((6, 59, 59), false),
            ((7, 0, 0), true),
            ((11, 29, 59), true),
            ((12, 30, 0), false),
            ((13, 30, 0), true),
            ((18, 0, 0), false),
            ((22, 0, 0), true),
            ((22, 0, 1), false),
            ((23, 30, 0), false),
            ((0, 0, 0), false),
        ];
        for ((h, m, s), allowed) in cases {
            assert_eq!(
                may_call_at(&RuleSet::default(), local(h, m, s)).is_ok(),
                allowed,
                "{h:02}:{m:02}:{s:02}"
            );
        }
    }

    #[test]
    fn arrival_and_resolved_outcome_evidence_milestones() {
        let arrival = serde_json::json!({"at": "2025-01-10T02:00:00Z", "evidence": {"step": "arrival",
            "body_camera_on": true, "knocked_gently": true, "work_id_shown": true}});
        let Value::Object(data) = arrival else { panic!("object") };
        assert_eq!(milestone_claims(schema::VISIT_STEP, &data, 0), vec![(Milestone::OnSiteAt, t(2, 0))]);

        let outcome = serde_json::json!({"at": "2025-01-10T03:00:00Z", "outcome": {"kind": "resolved"}});
        let Value::Object(data) = outcome else { panic!("object") };
        assert_eq!(
            milestone_claims(schema::VISIT_OUTCOME, &data, 0),
            vec![(Milestone::CompletedAt, t(3, 0))]
        );

        let nobody = serde_json::json!({"at": "2025-01-10T03:00:00Z", "outcome": {"kind": "refused_entry", "reason": "x"}});
        let Value::Object(data) = nobody else { panic!("object") };
        assert_eq!(
            milestone_claims(schema::VISIT_OUTCOME, &data, 0),
            vec![(Milestone::OnSiteAt, t(3, 0))],
            "only a resolved visit completes; a refused entry proves the technician came"
        );
        assert!(milestone_claims("hearth.unknown/1", &Map::new(), 0).is_empty());
    }

    #[test]
    fn evidence_keeps_the_earliest_bracketed_time() {
        let mut e = Evidence::default();
        let ev = |id: &str, at| Evidenced { record_id: id.into(), time: bracket(at, None, t(23, 0)) };
        e.offer(Milestone::OnSiteAt, ev("late", t(5, 0)));
        e.offer(Milestone::OnSiteAt, ev("early", t(4, 0)));
        e.offer(Milestone::OnSiteAt, ev("later", t(6, 0)));
        assert_eq!(e.on_site_at.map(|x| x.record_id), Some("early".to_owned()));
    }

    #[test]
    fn effective_milestones_take_the_earlier_of_dispatch_and_evidence() {
        let recorded =
            Milestones { contacted_at: Some(t(1, 0)), on_site_at: Some(t(5, 0)), ..Milestones::default() };
        let ev = |at| Some(Evidenced { record_id: "r".into(), time: bracket(at, None, t(23, 0)) });
        let evidence = Evidence {
            contacted_at: ev(t(2, 0)),
            on_site_at: ev(t(4, 0)),
            completed_at: ev(t(6, 0)),
            late_notice_at: None,
            accepted_at: None,
        };
        let m = effective_milestones(&recorded, &evidence);
        assert_eq!(m.contacted_at, Some(t(1, 0)));
        assert_eq!(m.on_site_at, Some(t(4, 0)));
        assert_eq!(m.completed_at, Some(t(6, 0)));
    }
}
