//! The repair visit through `App`: seven steps in order with their
//! evidence, photos, the customer's sign-off, the outcome — rebuilt from
//! the chain after a restart. Each refusal names the code the UI gets.

mod common;

use chrono::Duration;
use common::*;
use hearth_domain::*;
use hearth_tablet::{LateNoticeInput, RecordState, SignoffInput, SignoffResult};

fn signed() -> SignoffInput {
    SignoffInput::Signed {
        signature_png_base64: b64(PNG),
        strokes_json: r#"{"strokes":[[[1,2],[3,4]]]}"#.into(),
        satisfaction: 5,
        comment: Some("很满意".into()),
    }
}

#[test]
fn a_full_visit_with_a_photo_and_a_signature_is_sealed_step_by_step_and_survives_a_restart() {
    let f = signed_in();
    let photo = f.app.put_photo(CAMERA_JPEG).unwrap();
    let sha = Sha256Hex::parse(&photo.sha256).unwrap();

    let v = f.app.complete_step(REPAIR, appointment()).unwrap();
    assert_eq!(v.next_step, Some(VisitStep::Arrival));
    f.app.complete_step(REPAIR, arrival(vec![sha])).unwrap();
    for e in rest_of_visit() {
        f.app.complete_step(REPAIR, e).unwrap();
    }
    let v = f.app.visit(REPAIR).unwrap();
    assert_eq!(v.next_step, None, "all seven done");
    assert_eq!(v.steps.len(), 7);
    assert!(
        v.summary.contains("DN20 阀门，价格 ¥45.00"),
        "parts and prices are in the summary: {}",
        v.summary
    );
    assert!(v.summary.contains("王建国（T0017）"), "the technician is named: {}", v.summary);
    // One word for the customer everywhere the customer reads (the UI says 用户).
    assert!(!v.summary.contains("客户"), "用户, never 客户: {}", v.summary);
    let shown = v.summary.clone();

    let SignoffResult::Visit(v) = f.app.customer_signoff(REPAIR, signed()).unwrap() else {
        panic!("a repair order's sign-off answers with the visit")
    };
    let signoff = v.signoff.expect("the sign-off is recorded");
    assert_eq!(signoff.signoff.summary_shown().as_str(), shown, "the sign-off binds the exact text shown");
    let v = f.app.conclude_visit(REPAIR, VisitOutcome::Resolved).unwrap();
    assert!(v.outcome.is_some());
    let arrival_record = v.steps[1].record.record_id.clone();

    let f = f.restart();
    let v = f.app.visit(REPAIR).unwrap();
    assert_eq!(v.steps.len(), 7, "the visit is rebuilt from the chain");
    assert!(v.signoff.is_some() && v.outcome.is_some());
    assert_eq!(v.summary, shown, "the view shows what the customer signed");
    assert_eq!(v.steps[1].record.record_id, arrival_record);
    let records = f.app.records(Some(REPAIR)).unwrap();
    assert_eq!(records.len(), 9, "seven steps, a sign-off, an outcome");
    assert!(records.iter().all(|r| r.state == RecordState::Sealed), "nothing sent yet");
    assert_eq!(f.app.store().lock().unwrap().verify_chain().unwrap().entries, 9);
    // After a restart nobody is signed in: the key lived in memory only.
    assert_eq!(code(f.app.complete_step(REPAIR, appointment())), "not_signed_in");
}

#[test]
fn steps_must_come_in_order_each_once_with_their_evidence() {
    let f = signed_in();
    // Arrival before the appointment: step_out_of_order.
    assert_eq!(code(f.app.complete_step(REPAIR, arrival(vec![]))), "step_out_of_order");
    f.app.complete_step(REPAIR, appointment()).unwrap();
    // The same step again: step_already_completed.
    assert_eq!(code(f.app.complete_step(REPAIR, appointment())), "step_already_completed");
    // Arrival without the body camera: missing_evidence.
    let no_camera = StepEvidence::Arrival(ArrivalEvidence {
        body_camera_on: false,
        knocked_gently: true,
        work_id_shown: true,
        note: None,
        photos: vec![],
    });
    assert_eq!(code(f.app.complete_step(REPAIR, no_camera)), "missing_evidence");
    // A photo the tablet does not hold: invalid_field.
    let unknown = Sha256Hex::parse(&"ab".repeat(32)).unwrap();
    assert_eq!(code(f.app.complete_step(REPAIR, arrival(vec![unknown]))), "invalid_field");
    f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    let steps = rest_of_visit();
    for e in &steps[..3] {
        f.app.complete_step(REPAIR, e.clone()).unwrap();
    }
    // A part without its price: part_price_not_told; without consent: part_without_consent.
    let part = |price, consent| {
        StepEvidence::Resolve(ResolveEvidence {
            action: "更换阀门".into(),
            parts: vec![PartReplacement {
                part: "阀门".into(),
                price_told_cents: price,
                customer_consented: consent,
            }],
            ..Default::default()
        })
    };
    assert_eq!(code(f.app.complete_step(REPAIR, part(None, true))), "part_price_not_told");
    assert_eq!(code(f.app.complete_step(REPAIR, part(Some(100), false))), "part_without_consent");
    // Resolved before all steps: not_all_steps_done.
    assert_eq!(code(f.app.conclude_visit(REPAIR, VisitOutcome::Resolved)), "not_all_steps_done");
    // Not resolved without a next appointment: missing_next_appointment.
    let not_resolved = VisitOutcome::NotResolved { next_appointment: None };
    assert_eq!(code(f.app.conclude_visit(REPAIR, not_resolved)), "missing_next_appointment");
    // An unknown order: unknown_work_order.
    assert_eq!(code(f.app.visit("WO-NOPE")), "unknown_work_order");
    assert_eq!(f.app.records(Some(REPAIR)).unwrap().len(), 5, "nothing refused was sealed");
}

#[test]
fn nobody_home_needs_three_knocks_a_call_and_a_notice_photo_not_on_the_door() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let t = start_time() + Duration::minutes(5);
    let knocks = vec![t, t + Duration::minutes(1), t + Duration::minutes(2)];
    let photo = f.app.put_photo(CAMERA_JPEG).unwrap();
    let outcome = |knocks: Vec<_>, photo: Option<Sha256Hex>, placement| VisitOutcome::NobodyHome {
        knocks,
        phone_attempt_at: Some(t + Duration::minutes(3)),
        notice_photo_sha256: photo,
        notice_placement: placement,
        next_appointment: Some(Appointment::new(t + Duration::days(1), t + Duration::days(1)).unwrap()),
    };
    let sha = Sha256Hex::parse(&photo.sha256).unwrap();
    // Two knocks: too_few_knocks. No photo: missing_notice_photo. On the door: notice_stuck_on_door.
    assert_eq!(
        code(f.app.conclude_visit(
            REPAIR,
            outcome(knocks[..2].to_vec(), Some(sha.clone()), NoticePlacement::Mailbox)
        )),
        "too_few_knocks"
    );
    assert_eq!(
        code(f.app.conclude_visit(REPAIR, outcome(knocks.clone(), None, NoticePlacement::Mailbox))),
        "missing_notice_photo"
    );
    assert_eq!(
        code(
            f.app.conclude_visit(REPAIR, outcome(knocks.clone(), Some(sha.clone()), NoticePlacement::OnDoor))
        ),
        "notice_stuck_on_door"
    );
    let v = f.app.conclude_visit(REPAIR, outcome(knocks, Some(sha), NoticePlacement::Mailbox)).unwrap();
    assert!(v.outcome.is_some());
    assert!(v.may_start_another_visit, "nobody home is not a dead end");
    assert_eq!(v.visit_number, 1);
}

#[test]
fn after_nobody_home_the_order_takes_a_second_visit_of_its_own_seven_steps() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let t = start_time() + Duration::minutes(5);
    let photo = f.app.put_photo(CAMERA_JPEG).unwrap();
    let nobody = VisitOutcome::NobodyHome {
        knocks: vec![t, t + Duration::minutes(1), t + Duration::minutes(2)],
        phone_attempt_at: Some(t + Duration::minutes(3)),
        notice_photo_sha256: Some(Sha256Hex::parse(&photo.sha256).unwrap()),
        notice_placement: NoticePlacement::Mailbox,
        next_appointment: Some(Appointment::new(t + Duration::days(1), t + Duration::days(1)).unwrap()),
    };
    f.app.conclude_visit(REPAIR, nobody).unwrap();
    // Today says how the visit ended (the card stops counting down to an arrival that happened).
    let card = f.app.work_order(REPAIR).unwrap();
    let ended = card.visit_outcome.as_ref().map(|c| c.outcome.kind());
    assert_eq!(ended, Some(OutcomeKind::NobodyHome), "the card knows the visit ended with nobody home");
    let listed = f.app.today("").unwrap().into_iter().find(|i| i.order.id.as_str() == REPAIR).unwrap();
    assert_eq!(listed.visit_outcome, card.visit_outcome, "Today's list says the same");
    // The next visit begins with its own appointment, not where the first stopped.
    assert_eq!(code(f.app.complete_step(REPAIR, arrival(vec![]))), "step_out_of_order");
    f.clock.advance_minutes(24 * 60);
    let second = f.app.complete_step(REPAIR, appointment()).unwrap();
    assert_eq!(second.visit_number, 2);
    assert_eq!(
        f.app.work_order(REPAIR).unwrap().visit_outcome,
        None,
        "a new visit is under way: its deadline counts again"
    );
    assert!(second.outcome.is_none() && !second.may_start_another_visit);
    assert_eq!(second.steps.len(), 1);
    assert_eq!(second.earlier_visits.len(), 1);
    assert_eq!(second.earlier_visits[0].outcome.concluded.outcome.kind(), OutcomeKind::NobodyHome);
    let second = f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    assert_eq!(second.next_step, Some(VisitStep::Entry));
    // The chain replays the same after a restart.
    let f = f.restart();
    f.app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    let again = f.app.visit(REPAIR).unwrap();
    assert_eq!((again.visit_number, again.steps.len(), again.earlier_visits.len()), (2, 2, 1));
    // Entry refused on a later attempt is a visit of its own too.
    let refused = f
        .app
        .conclude_visit(REPAIR, VisitOutcome::RefusedEntry { reason: "客户不在家属拒绝".into() })
        .unwrap();
    assert!(refused.may_start_another_visit);
    let third = f.app.complete_step(REPAIR, appointment()).unwrap();
    assert_eq!((third.visit_number, third.earlier_visits.len()), (3, 2));
}

#[test]
fn a_refused_entry_needs_a_reason() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let refused = |reason: &str| VisitOutcome::RefusedEntry { reason: reason.into() };
    assert_eq!(code(f.app.conclude_visit(REPAIR, refused(" "))), "missing_refusal_reason");
    assert!(f.app.conclude_visit(REPAIR, refused("客户临时外出")).unwrap().outcome.is_some());
}

#[test]
fn photos_must_be_jpeg_or_png_and_readable_and_each_refusal_says_so() {
    let f = signed_in();
    // A GIF: unsupported_photo. A HEIC (ftyp box): unsupported_photo.
    assert_eq!(code(f.app.put_photo(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")), "unsupported_photo");
    let heic = [&[0, 0, 0, 24][..], b"ftypheic\0\0\0\0mif1heic"].concat();
    assert_eq!(code(f.app.put_photo(&heic)), "unsupported_photo");
    // The JPEG cut in half: photo_unreadable; a JPEG header alone: photo_unreadable.
    assert_eq!(code(f.app.put_photo(&CAMERA_JPEG[..CAMERA_JPEG.len() / 2])), "photo_unreadable");
    assert_eq!(code(f.app.put_photo(JPEG)), "photo_unreadable");
    assert_eq!(f.app.sync_status().unwrap().pending_blobs, 0, "nothing refused was stored");
    // A PNG is taken, and stored as JPEG like every photo.
    let png = f.app.put_photo(&drawn_signature_png()).unwrap();
    assert_eq!(png.media_type, "image/jpeg");
}

#[test]
fn a_sign_off_comes_after_the_resolve_step_and_a_refusal_needs_a_reason() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    // Before resolve: signoff_before_resolve.
    assert_eq!(code(f.app.customer_signoff(REPAIR, signed())), "signoff_before_resolve");
    f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    for e in rest_of_visit().into_iter().take(4) {
        f.app.complete_step(REPAIR, e).unwrap();
    }
    // A blank refusal reason: reason_required. A bad satisfaction: invalid_field.
    assert_eq!(
        code(f.app.customer_signoff(REPAIR, SignoffInput::Refused { reason: "".into() })),
        "reason_required"
    );
    let bad = |png: &[u8], satisfaction| SignoffInput::Signed {
        signature_png_base64: b64(png),
        strokes_json: "{}".into(),
        satisfaction,
        comment: None,
    };
    assert_eq!(code(f.app.customer_signoff(REPAIR, bad(PNG, 9))), "invalid_field");
    // A signature that is not a PNG (here a JPEG's bytes): invalid_field, naming the field.
    let e = f.app.customer_signoff(REPAIR, bad(JPEG, 5)).unwrap_err();
    assert_eq!(e.code, "invalid_field");
    assert!(e.message.starts_with("signature_png_base64"), "{e:?}");
    let SignoffResult::Visit(v) =
        f.app.customer_signoff(REPAIR, SignoffInput::Refused { reason: "对收费有异议".into() }).unwrap()
    else {
        panic!("visit expected")
    };
    assert!(v.signoff.unwrap().signoff.is_refused());
    // A second answer: signoff_already_recorded.
    assert_eq!(code(f.app.customer_signoff(REPAIR, signed())), "signoff_already_recorded");
}

#[test]
fn running_late_is_sealed_as_a_late_notice() {
    let f = signed_in();
    let now = start_time().timestamp_millis();
    let notice =
        |whom: &str, eta| LateNoticeInput { told_whom: whom.into(), told_at_ms: now, new_eta_ms: eta };
    // Nobody named: invalid_field; an arrival before the notice: invalid_field.
    assert_eq!(code(f.app.running_late(REPAIR, notice(" ", now + 1))), "invalid_field");
    assert_eq!(code(f.app.running_late(REPAIR, notice("客户本人", now))), "invalid_field");
    let v = f.app.running_late(REPAIR, notice("客户本人", now + 3_600_000)).unwrap();
    let late = v.late_notice.expect("the notice shows on the visit");
    assert_eq!(late.record.schema, "hearth.late_notice/1");
    assert_eq!(late.notice.told_whom, "客户本人");
}

#[test]
fn a_voided_record_stays_on_record_and_leaves_the_visit() {
    let f = signed_in();
    let v = f.app.complete_step(REPAIR, appointment()).unwrap();
    let id = v.steps[0].record.record_id.clone();
    // Without a reason: reason_required. Unknown record: invalid_field.
    assert_eq!(code(f.app.void_record(&id, "  ")), "reason_required");
    assert_eq!(code(f.app.void_record("nope", "wrong order")), "invalid_field");
    let void = f.app.void_record(&id, "记错工单").unwrap();
    assert_eq!(void.supersedes.as_deref(), Some(id.as_str()));
    assert_eq!(void.reason.as_deref(), Some("记错工单"));
    let v = f.app.visit(REPAIR).unwrap();
    assert_eq!(v.next_step, Some(VisitStep::Appointment), "the voided step no longer counts");
    let records = f.app.records(Some(REPAIR)).unwrap();
    assert_eq!(records.len(), 2, "original and void both stay");
    assert_eq!(records[0].superseded_by.as_deref(), Some(void.record_id.as_str()));
    // Voiding it twice: invalid_field.
    assert_eq!(code(f.app.void_record(&id, "again")), "invalid_field");
}

#[test]
fn a_local_order_appears_in_today_and_opens_a_visit() {
    let f = signed_in();
    assert_eq!(f.app.today("").unwrap().len(), 2);
    let input = hearth_tablet::LocalOrderInput {
        category: WorkOrderCategory::Repair,
        customer_name: "孙丽华".into(),
        customer_phone: "13935100001".into(),
        community: "阳光花园".into(),
        building: "3号楼".into(),
        unit: "2单元".into(),
        room: "501".into(),
        fault: "厨房暖气漏水".into(),
    };
    // A bad phone: invalid_field.
    assert_eq!(
        code(f.app.create_local_order(hearth_tablet::LocalOrderInput {
            customer_phone: "12".into(),
            ..input.clone()
        })),
        "invalid_field"
    );
    let item = f.app.create_local_order(input).unwrap();
    assert_eq!(item.kind, hearth_tablet::OrderKind::Repair);
    let id = item.order.id.as_str().to_owned();
    let f = f.restart();
    let today = f.app.today("").unwrap();
    assert_eq!(today.len(), 3);
    assert_eq!(f.app.today("漏水").unwrap().len(), 1, "search finds the local order");
    assert_eq!(f.app.work_order(&id).unwrap().order.fault_description, "厨房暖气漏水");
    assert_eq!(f.app.records(None).unwrap()[0].schema, "hearth.work_order_local/1");
    f.app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    f.app.complete_step(&id, appointment()).unwrap();
}

#[test]
fn appointments_outside_the_visit_hours_are_refused_as_the_office_refuses_them() {
    let f = signed_in();
    // start_time() is 10:00 company time; 20:00 is after the 18:00 close.
    let evening = start_time() + Duration::hours(10);
    let at = |start, end| {
        StepEvidence::Appointment(AppointmentEvidence {
            agreed: Appointment::new(start, end).unwrap(),
            customer_confirmed: true,
            note: None,
        })
    };
    assert_eq!(
        code(f.app.complete_step(REPAIR, at(evening, evening + Duration::hours(1)))),
        "outside_visit_hours"
    );
    let overnight = at(start_time() + Duration::hours(7), start_time() + Duration::hours(24));
    assert_eq!(code(f.app.complete_step(REPAIR, overnight)), "outside_visit_hours", "within one day");
    assert!(f.app.visit(REPAIR).unwrap().steps.is_empty(), "nothing sealed");
    f.app.complete_step(REPAIR, appointment()).unwrap();
    // The next appointment after a visit that could not finish, likewise.
    let late_next = VisitOutcome::NotResolved {
        next_appointment: Some(Appointment::new(evening, evening + Duration::hours(1)).unwrap()),
    };
    assert_eq!(code(f.app.conclude_visit(REPAIR, late_next)), "outside_visit_hours");
    let visit = f.app.visit(REPAIR).unwrap();
    assert_eq!(visit.steps.len(), 1, "only the appointment in hours was sealed");
    assert!(visit.outcome.is_none());
}
