mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{appointment, order_id, sha, utc, utc_on};
use hearth_domain::{
    AppointmentEvidence, ArrivalEvidence, CommunicateEvidence, CustomerDamageConfirmation, CustomerSignoff,
    EntryEvidence, EvidenceItem, FarewellEvidence, InspectEvidence, NoticePlacement, OutcomeKind,
    PartReplacement, ResolveEvidence, Sha256Hex, StepEvidence, Visit, VisitError, VisitOutcome, VisitStep,
};

/// Step `i` (0-based) is done at 09:00 + 10·i minutes on 2025-01-10.
fn step_time(i: usize) -> DateTime<Utc> {
    utc(9, 0) + TimeDelta::minutes(10 * i as i64)
}

fn evidence(step: VisitStep) -> StepEvidence {
    match step {
        VisitStep::Appointment => StepEvidence::Appointment(AppointmentEvidence {
            agreed: appointment(utc(9, 0), utc(10, 0)),
            customer_confirmed: true,
            note: None,
        }),
        VisitStep::Arrival => StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: vec![],
        }),
        VisitStep::Entry => {
            StepEvidence::Entry(EntryEvidence { uniform: true, badge: true, shoe_covers: true, note: None })
        }
        VisitStep::Communicate => StepEvidence::Communicate(CommunicateEvidence {
            confirmed_problem: "卧室暖气片不热".into(),
            paid_service_told: Some(true),
        }),
        VisitStep::Inspect => StepEvidence::Inspect(InspectEvidence {
            findings: "暖气片内有空气".into(),
            blockage_found: Some(false),
            ..InspectEvidence::default()
        }),
        VisitStep::Resolve => StepEvidence::Resolve(resolve_evidence()),
        VisitStep::Farewell => StepEvidence::Farewell(FarewellEvidence {
            cleaned_up: true,
            explained_care: true,
            thanked: true,
            note: None,
            photos: vec![],
        }),
    }
}

fn resolve_evidence() -> ResolveEvidence {
    ResolveEvidence { action: "排气后暖气恢复".into(), ..ResolveEvidence::default() }
}

/// A visit with the first `n` steps done.
fn visit_through(n: usize) -> Visit {
    let mut visit = Visit::new(order_id("WO-0001"));
    for (i, step) in VisitStep::ALL.into_iter().take(n).enumerate() {
        visit.complete(evidence(step), step_time(i)).expect("a full step completes");
    }
    visit
}

fn signed() -> CustomerSignoff {
    CustomerSignoff::signed(&sha(1), &sha(2), "维修内容:排气", 5, None).expect("valid signoff")
}

fn refused() -> CustomerSignoff {
    CustomerSignoff::refused("不满意", "维修内容:排气").expect("valid refusal")
}

/// Completes `step` (which must be next) with `evidence`, at the next slot.
fn complete_next(visit: &mut Visit, evidence: StepEvidence) -> Result<(), VisitError> {
    let at = step_time(visit.steps().len());
    visit.complete(evidence, at)
}

// --- the happy path ----------------------------------------------------------

#[test]
fn a_visit_done_in_seven_steps_with_a_signature_is_resolved() {
    let mut visit = visit_through(7);
    assert_eq!(visit.next_step(), None);
    visit.record_signoff(signed()).expect("signoff after resolve");
    visit.conclude(VisitOutcome::Resolved, step_time(7)).expect("resolves");
    let concluded = visit.outcome().expect("has an outcome");
    assert_eq!(concluded.outcome, VisitOutcome::Resolved);
    assert_eq!(concluded.at, step_time(7));
}

#[test]
fn a_customer_refusing_to_sign_still_lets_the_visit_resolve_and_records_the_refusal() {
    let mut visit = visit_through(7);
    visit.record_signoff(refused()).expect("a refusal is recorded");
    visit.conclude(VisitOutcome::Resolved, step_time(7)).expect("a refusal is a valid end");
    assert!(visit.signoff().is_some_and(CustomerSignoff::is_refused));
}

// --- order, repetition, time -----------------------------------------------

#[test]
fn a_step_cannot_complete_before_the_one_before_it() {
    let mut visit = visit_through(1);
    assert_eq!(
        complete_next(&mut visit, evidence(VisitStep::Entry)),
        Err(VisitError::StepOutOfOrder { expected: VisitStep::Arrival, got: VisitStep::Entry })
    );
    assert_eq!(visit.steps().len(), 1, "the refused step is not recorded");
}

#[test]
fn the_first_step_must_be_the_appointment() {
    let mut visit = Visit::new(order_id("WO-0001"));
    assert_eq!(
        visit.complete(evidence(VisitStep::Farewell), utc(9, 0)),
        Err(VisitError::StepOutOfOrder { expected: VisitStep::Appointment, got: VisitStep::Farewell })
    );
}

#[test]
fn a_completed_step_cannot_be_completed_again() {
    let mut visit = visit_through(3);
    assert_eq!(
        complete_next(&mut visit, evidence(VisitStep::Arrival)),
        Err(VisitError::StepAlreadyCompleted { step: VisitStep::Arrival })
    );
    let mut full = visit_through(7);
    assert_eq!(
        complete_next(&mut full, evidence(VisitStep::Farewell)),
        Err(VisitError::StepAlreadyCompleted { step: VisitStep::Farewell })
    );
}

#[test]
fn a_step_cannot_be_timed_before_the_previous_step() {
    let mut visit = visit_through(2);
    let earlier = step_time(1) - TimeDelta::seconds(1);
    assert_eq!(
        visit.complete(evidence(VisitStep::Entry), earlier),
        Err(VisitError::TimeBeforePreviousStep { previous: step_time(1), got: earlier })
    );
    // The same instant as the previous step is not earlier.
    assert_eq!(visit.complete(evidence(VisitStep::Entry), step_time(1)), Ok(()));
}

// --- evidence per step -------------------------------------------------------

/// Drives a visit to `step` and offers `bad` evidence for it.
fn refusal_for(step: VisitStep, bad: StepEvidence) -> Result<(), VisitError> {
    let position = VisitStep::ALL.iter().position(|s| *s == step).expect("a known step");
    let mut visit = visit_through(position);
    complete_next(&mut visit, bad)
}

fn missing(step: VisitStep, item: EvidenceItem) -> Result<(), VisitError> {
    Err(VisitError::MissingEvidence { step, item })
}

#[test]
fn the_appointment_step_needs_the_customer_to_confirm_the_time() {
    let bad = StepEvidence::Appointment(AppointmentEvidence {
        agreed: appointment(utc(9, 0), utc(10, 0)),
        customer_confirmed: false,
        note: Some("电话未确认".into()),
    });
    assert_eq!(
        refusal_for(VisitStep::Appointment, bad),
        missing(VisitStep::Appointment, EvidenceItem::CustomerConfirmedTime)
    );
}

#[test]
fn arrival_needs_the_body_camera_a_gentle_knock_and_the_work_id() {
    let full = ArrivalEvidence {
        body_camera_on: true,
        knocked_gently: true,
        work_id_shown: true,
        note: None,
        photos: vec![],
    };
    let cases = [
        (ArrivalEvidence { body_camera_on: false, ..full.clone() }, EvidenceItem::BodyCameraOn),
        (ArrivalEvidence { knocked_gently: false, ..full.clone() }, EvidenceItem::KnockedGently),
        (ArrivalEvidence { work_id_shown: false, ..full.clone() }, EvidenceItem::WorkIdShown),
    ];
    for (bad, item) in cases {
        assert_eq!(
            refusal_for(VisitStep::Arrival, StepEvidence::Arrival(bad)),
            missing(VisitStep::Arrival, item)
        );
    }
}

#[test]
fn entry_needs_uniform_badge_and_shoe_covers() {
    let full = EntryEvidence { uniform: true, badge: true, shoe_covers: true, note: None };
    let cases = [
        (EntryEvidence { uniform: false, ..full.clone() }, EvidenceItem::Uniform),
        (EntryEvidence { badge: false, ..full.clone() }, EvidenceItem::Badge),
        (EntryEvidence { shoe_covers: false, ..full.clone() }, EvidenceItem::ShoeCovers),
    ];
    for (bad, item) in cases {
        assert_eq!(refusal_for(VisitStep::Entry, StepEvidence::Entry(bad)), missing(VisitStep::Entry, item));
    }
}

#[test]
fn communicating_needs_a_note_of_the_confirmed_problem() {
    let bad = StepEvidence::Communicate(CommunicateEvidence {
        confirmed_problem: "   ".into(),
        paid_service_told: None,
    });
    assert_eq!(
        refusal_for(VisitStep::Communicate, bad),
        missing(VisitStep::Communicate, EvidenceItem::ConfirmedProblemNote)
    );
}

#[test]
fn inspecting_needs_a_findings_note_even_with_measurements() {
    let bad = StepEvidence::Inspect(InspectEvidence {
        findings: String::new(),
        riser_this_floor: Some(4500.into()),
        supply_at_inlet: Some(4200.into()),
        return_at_inlet: Some(3800.into()),
        ..InspectEvidence::default()
    });
    assert_eq!(refusal_for(VisitStep::Inspect, bad), missing(VisitStep::Inspect, EvidenceItem::FindingsNote));
}

#[test]
fn resolving_needs_a_description_of_the_action() {
    let bad = StepEvidence::Resolve(ResolveEvidence { action: String::new(), ..ResolveEvidence::default() });
    assert_eq!(
        refusal_for(VisitStep::Resolve, bad),
        missing(VisitStep::Resolve, EvidenceItem::ActionDescription)
    );
}

#[test]
fn farewell_needs_cleanup_an_explanation_and_thanks() {
    let full = FarewellEvidence {
        cleaned_up: true,
        explained_care: true,
        thanked: true,
        note: None,
        photos: vec![],
    };
    let cases = [
        (FarewellEvidence { cleaned_up: false, ..full.clone() }, EvidenceItem::CleanedUp),
        (FarewellEvidence { explained_care: false, ..full.clone() }, EvidenceItem::ExplainedCare),
        (FarewellEvidence { thanked: false, ..full.clone() }, EvidenceItem::Thanked),
    ];
    for (bad, item) in cases {
        assert_eq!(
            refusal_for(VisitStep::Farewell, StepEvidence::Farewell(bad)),
            missing(VisitStep::Farewell, item)
        );
    }
}

// --- parts and damage --------------------------------------------------------

fn resolve_with_part(part: PartReplacement) -> Result<(), VisitError> {
    refusal_for(
        VisitStep::Resolve,
        StepEvidence::Resolve(ResolveEvidence { parts: vec![part], ..resolve_evidence() }),
    )
}

fn valve() -> PartReplacement {
    PartReplacement { part: "温控阀".into(), price_told_cents: Some(12_000), customer_consented: true }
}

#[test]
fn a_part_replaced_with_the_price_told_and_consent_is_accepted() {
    assert_eq!(resolve_with_part(valve()), Ok(()));
    let free = PartReplacement { price_told_cents: Some(0), ..valve() };
    assert_eq!(resolve_with_part(free), Ok(()), "a free part told as free");
}

#[test]
fn a_part_replaced_without_the_customers_consent_is_refused() {
    let part = PartReplacement { customer_consented: false, ..valve() };
    assert_eq!(resolve_with_part(part), Err(VisitError::PartWithoutConsent { part: "温控阀".into() }));
}

#[test]
fn a_part_replaced_without_telling_the_price_is_refused() {
    let part = PartReplacement { price_told_cents: None, ..valve() };
    assert_eq!(resolve_with_part(part), Err(VisitError::PartPriceNotTold { part: "温控阀".into() }));
}

#[test]
fn a_part_without_a_name_is_missing_evidence() {
    let part = PartReplacement { part: " ".into(), ..valve() };
    assert_eq!(resolve_with_part(part), missing(VisitStep::Resolve, EvidenceItem::PartName));
}

fn resolve_with_damage(damage: CustomerDamageConfirmation) -> Result<(), VisitError> {
    refusal_for(
        VisitStep::Resolve,
        StepEvidence::Resolve(ResolveEvidence { customer_damage: Some(damage), ..resolve_evidence() }),
    )
}

#[test]
fn damage_caused_by_the_customer_needs_their_confirmation() {
    let unconfirmed = CustomerDamageConfirmation {
        description: "用户自行改管导致漏水".into(),
        customer_confirmed: false,
    };
    assert_eq!(resolve_with_damage(unconfirmed.clone()), Err(VisitError::CustomerDamageNotConfirmed));
    let confirmed = CustomerDamageConfirmation { customer_confirmed: true, ..unconfirmed };
    assert_eq!(resolve_with_damage(confirmed), Ok(()));
}

#[test]
fn customer_damage_without_a_description_is_missing_evidence() {
    let blank = CustomerDamageConfirmation { description: String::new(), customer_confirmed: true };
    assert_eq!(resolve_with_damage(blank), missing(VisitStep::Resolve, EvidenceItem::DamageDescription));
}

// --- nobody home -------------------------------------------------------------

fn knocks() -> Vec<DateTime<Utc>> {
    vec![utc(9, 10), utc(9, 11), utc(9, 12)]
}

fn nobody_home() -> VisitOutcome {
    VisitOutcome::NobodyHome {
        knocks: knocks(),
        phone_attempt_at: Some(utc(9, 13)),
        notice_photo_sha256: Some(Sha256Hex::parse(&sha(7)).expect("valid hash")),
        notice_placement: NoticePlacement::UnitNoticeBoard,
        next_appointment: Some(appointment(utc_on(11, 9, 0), utc_on(11, 10, 0))),
    }
}

fn with_nobody_home(change: impl FnOnce(&mut VisitOutcome)) -> Result<(), VisitError> {
    let mut outcome = nobody_home();
    change(&mut outcome);
    visit_through(1).conclude(outcome, utc(9, 20))
}

#[test]
fn nobody_home_after_three_knocks_a_call_and_a_notice_ends_the_visit_at_arrival() {
    let mut visit = visit_through(1);
    visit.conclude(nobody_home(), utc(9, 20)).expect("nobody home");
    assert_eq!(visit.outcome().map(|c| c.outcome.kind()), Some(OutcomeKind::NobodyHome));
    assert_eq!(
        complete_next(&mut visit, evidence(VisitStep::Arrival)),
        Err(VisitError::VisitConcluded),
        "nothing is recorded after the outcome"
    );
}

#[test]
fn nobody_home_with_two_knocks_is_refused() {
    let result = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { knocks, .. } = o {
            knocks.pop();
        }
    });
    assert_eq!(result, Err(VisitError::TooFewKnocks { got: 2 }));
}

#[test]
fn nobody_home_without_a_photo_of_the_notice_is_refused() {
    let result = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { notice_photo_sha256, .. } = o {
            *notice_photo_sha256 = None;
        }
    });
    assert_eq!(result, Err(VisitError::MissingNoticePhoto));
}

#[test]
fn the_nobody_home_notice_must_not_be_stuck_on_the_door() {
    let result = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { notice_placement, .. } = o {
            *notice_placement = NoticePlacement::OnDoor;
        }
    });
    assert_eq!(result, Err(VisitError::NoticeStuckOnDoor));
}

#[test]
fn nobody_home_needs_a_phone_attempt_after_the_last_knock() {
    let missing_call = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { phone_attempt_at, .. } = o {
            *phone_attempt_at = None;
        }
    });
    assert_eq!(missing_call, Err(VisitError::MissingPhoneAttempt));
    let early_call = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { phone_attempt_at, .. } = o {
            *phone_attempt_at = Some(utc(9, 12));
        }
    });
    assert_eq!(
        early_call,
        Err(VisitError::PhoneAttemptNotAfterKnocks { last_knock: utc(9, 12), phone_attempt_at: utc(9, 12) })
    );
}

#[test]
fn nobody_home_knocks_must_be_in_order() {
    let result = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { knocks, .. } = o {
            knocks.swap(0, 2);
        }
    });
    assert_eq!(result, Err(VisitError::KnocksOutOfOrder));
}

#[test]
fn nobody_home_knocks_must_be_thirty_seconds_apart() {
    // Three taps within a second are not three knocks (供热入户维修服务相关规定: 耐心等待30秒).
    let taps = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { knocks, .. } = o {
            let first = knocks[0];
            *knocks = vec![
                first,
                first + chrono::TimeDelta::milliseconds(300),
                first + chrono::TimeDelta::milliseconds(700),
            ];
        }
    });
    assert_eq!(taps, Err(VisitError::KnocksTooClose { gap_secs: 0, wait_secs: 30 }));
    let second_too_soon = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { knocks, .. } = o {
            knocks[1] = knocks[0] + chrono::TimeDelta::seconds(29);
        }
    });
    assert_eq!(second_too_soon, Err(VisitError::KnocksTooClose { gap_secs: 29, wait_secs: 30 }));
    let waited = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { knocks, .. } = o {
            let first = knocks[0];
            *knocks = vec![
                first,
                first + hearth_domain::visit::KNOCK_WAIT,
                first + hearth_domain::visit::KNOCK_WAIT * 2,
            ];
        }
    });
    assert_eq!(waited, Ok(()), "thirty seconds apart is enough");
}

#[test]
fn nobody_home_needs_a_new_appointment_after_the_visit() {
    let none = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { next_appointment, .. } = o {
            *next_appointment = None;
        }
    });
    assert_eq!(none, Err(VisitError::MissingNextAppointment));
    let past = with_nobody_home(|o| {
        if let VisitOutcome::NobodyHome { next_appointment, .. } = o {
            *next_appointment = Some(appointment(utc(9, 20), utc(10, 0)));
        }
    });
    assert_eq!(
        past,
        Err(VisitError::NextAppointmentNotAfterVisit { start: utc(9, 20), visit_time: utc(9, 20) })
    );
}

#[test]
fn nobody_home_is_not_possible_once_the_door_has_opened() {
    let mut visit = visit_through(2);
    assert_eq!(
        visit.conclude(nobody_home(), utc(9, 30)),
        Err(VisitError::OutcomeNotAllowed {
            outcome: OutcomeKind::NobodyHome,
            next_step: Some(VisitStep::Entry)
        })
    );
}

// --- refused entry -----------------------------------------------------------

#[test]
fn a_customer_may_refuse_entry_at_the_door_or_at_entry() {
    for done in [1, 2] {
        let mut visit = visit_through(done);
        let refused = VisitOutcome::RefusedEntry { reason: "用户拒绝入户".into() };
        assert_eq!(visit.conclude(refused, utc(10, 0)), Ok(()), "after {done} steps");
        assert_eq!(visit.outcome().map(|c| c.outcome.kind()), Some(OutcomeKind::RefusedEntry));
    }
}

#[test]
fn refused_entry_is_not_possible_once_inside_and_needs_a_reason() {
    let mut inside = visit_through(3);
    let refused = VisitOutcome::RefusedEntry { reason: "用户拒绝入户".into() };
    assert_eq!(
        inside.conclude(refused, utc(10, 0)),
        Err(VisitError::OutcomeNotAllowed {
            outcome: OutcomeKind::RefusedEntry,
            next_step: Some(VisitStep::Communicate)
        })
    );
    let mut at_door = visit_through(1);
    assert_eq!(
        at_door.conclude(VisitOutcome::RefusedEntry { reason: " ".into() }, utc(10, 0)),
        Err(VisitError::MissingRefusalReason)
    );
}

// --- resolved / not resolved -------------------------------------------------

#[test]
fn a_visit_cannot_be_resolved_before_the_farewell() {
    let mut visit = visit_through(6);
    visit.record_signoff(signed()).expect("signoff after resolve");
    assert_eq!(
        visit.conclude(VisitOutcome::Resolved, step_time(6)),
        Err(VisitError::NotAllStepsDone { missing: VisitStep::Farewell })
    );
    assert!(visit.outcome().is_none());
}

#[test]
fn a_resolved_visit_needs_the_customers_signoff_or_refusal() {
    let mut visit = visit_through(7);
    assert_eq!(visit.conclude(VisitOutcome::Resolved, step_time(7)), Err(VisitError::MissingCustomerSignoff));
}

#[test]
fn an_outcome_cannot_be_timed_before_the_last_step() {
    let mut visit = visit_through(7);
    visit.record_signoff(signed()).expect("signoff");
    assert_eq!(
        visit.conclude(VisitOutcome::Resolved, step_time(5)),
        Err(VisitError::TimeBeforePreviousStep { previous: step_time(6), got: step_time(5) })
    );
}

#[test]
fn not_resolved_needs_a_next_appointment_after_the_visit() {
    let mut visit = visit_through(5);
    assert_eq!(
        visit.conclude(VisitOutcome::NotResolved { next_appointment: None }, utc(10, 0)),
        Err(VisitError::MissingNextAppointment)
    );
    let too_early = VisitOutcome::NotResolved { next_appointment: Some(appointment(utc(9, 30), utc(11, 0))) };
    assert_eq!(
        visit.conclude(too_early, utc(10, 0)),
        Err(VisitError::NextAppointmentNotAfterVisit { start: utc(9, 30), visit_time: utc(10, 0) })
    );
    let tomorrow = VisitOutcome::NotResolved {
        next_appointment: Some(appointment(utc_on(11, 9, 0), utc_on(11, 10, 0))),
    };
    assert_eq!(visit.conclude(tomorrow, utc(10, 0)), Ok(()));
}

#[test]
fn not_resolved_is_only_possible_once_the_technician_got_in() {
    let mut visit = visit_through(2);
    let next = VisitOutcome::NotResolved {
        next_appointment: Some(appointment(utc_on(11, 9, 0), utc_on(11, 10, 0))),
    };
    assert_eq!(
        visit.conclude(next, utc(10, 0)),
        Err(VisitError::OutcomeNotAllowed {
            outcome: OutcomeKind::NotResolved,
            next_step: Some(VisitStep::Entry)
        })
    );
}

#[test]
fn nothing_can_be_recorded_after_the_visit_has_an_outcome() {
    let mut visit = visit_through(7);
    visit.record_signoff(signed()).expect("signoff");
    visit.conclude(VisitOutcome::Resolved, step_time(7)).expect("resolves");
    assert_eq!(visit.conclude(VisitOutcome::Resolved, step_time(8)), Err(VisitError::VisitConcluded));
    assert_eq!(visit.record_signoff(refused()), Err(VisitError::VisitConcluded));
}

// --- sign-off placement ------------------------------------------------------

#[test]
fn the_customer_signs_off_only_after_the_resolve_step_and_only_once() {
    let mut early = visit_through(5);
    assert_eq!(early.record_signoff(signed()), Err(VisitError::SignoffBeforeResolve));
    let mut visit = visit_through(6);
    assert_eq!(visit.record_signoff(signed()), Ok(()));
    assert_eq!(visit.record_signoff(refused()), Err(VisitError::SignoffAlreadyRecorded));
}

// --- serialisation -----------------------------------------------------------

#[test]
fn step_evidence_serialises_with_the_step_as_a_tag() {
    let json = serde_json::to_value(evidence(VisitStep::Entry)).expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({"step": "entry", "uniform": true, "badge": true, "shoe_covers": true})
    );
}

#[test]
fn a_visit_survives_a_json_round_trip() {
    let mut visit = visit_through(7);
    visit.record_signoff(refused()).expect("signoff");
    visit.conclude(VisitOutcome::Resolved, step_time(7)).expect("resolves");
    let json = serde_json::to_string(&visit).expect("serialises");
    assert!(!json.contains("null"), "no nulls in records: {json}");
    let back: Visit = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, visit);
}

#[test]
fn a_stored_visit_with_steps_out_of_order_is_refused_on_load() {
    let visit = visit_through(3);
    let mut value = serde_json::to_value(&visit).expect("serialises");
    let steps = value["steps"].as_array_mut().expect("steps array");
    steps.swap(1, 2);
    let error = serde_json::from_value::<Visit>(value).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("Arrival comes first"), "{error}");
}

#[test]
fn every_visit_error_has_a_distinct_code() {
    let errors = [
        VisitError::StepOutOfOrder { expected: VisitStep::Arrival, got: VisitStep::Entry },
        VisitError::StepAlreadyCompleted { step: VisitStep::Entry },
        VisitError::MissingEvidence { step: VisitStep::Entry, item: EvidenceItem::Badge },
        VisitError::PartWithoutConsent { part: "x".into() },
        VisitError::PartPriceNotTold { part: "x".into() },
        VisitError::CustomerDamageNotConfirmed,
        VisitError::VisitConcluded,
        VisitError::MissingNoticePhoto,
        VisitError::NoticeStuckOnDoor,
        VisitError::TooFewKnocks { got: 2 },
        VisitError::MissingCustomerSignoff,
    ];
    let mut codes: Vec<_> = errors.iter().map(VisitError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
}

#[test]
fn a_heat_meter_is_replaced_only_with_the_meter_reader_the_customer_and_the_metering_centre_present() {
    use hearth_domain::MeterReplacement;
    let all = MeterReplacement {
        meter_reader_present: true,
        customer_present: true,
        metering_centre_present: true,
        old_meter_serial: Some("HM-0001".into()),
        new_meter_serial: Some("HM-0002".into()),
    };
    let with = |m: MeterReplacement| {
        StepEvidence::Resolve(ResolveEvidence { meter_replacement: Some(m), ..resolve_evidence() })
    };
    assert_eq!(with(all.clone()).check(), Ok(()));
    for (missing, item) in [
        (MeterReplacement { meter_reader_present: false, ..all.clone() }, EvidenceItem::MeterReaderPresent),
        (MeterReplacement { customer_present: false, ..all.clone() }, EvidenceItem::CustomerPresent),
        (
            MeterReplacement { metering_centre_present: false, ..all.clone() },
            EvidenceItem::MeteringCentrePresent,
        ),
    ] {
        assert_eq!(
            with(missing).check(),
            Err(VisitError::MissingEvidence { step: VisitStep::Resolve, item })
        );
    }
}
