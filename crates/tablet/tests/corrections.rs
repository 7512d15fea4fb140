//! Sealed means immutable: a step is corrected by a new record that names
//! it and says why, a record sealed by mistake is withdrawn by a void, and a
//! temperature test taken with the wrong thermometer is given up. Each
//! refusal names the code the UI gets; nothing refused is sealed.

mod common;

use common::*;
use hearth_domain::*;
use hearth_tablet::{SignoffInput, SignoffResult};

fn refused() -> SignoffInput {
    SignoffInput::Refused { reason: "用户对结果有异议".into() }
}

#[test]
fn a_corrected_step_keeps_its_time_shows_the_original_beside_it_and_the_signoff_binds_the_correction() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    f.app
        .complete_step(
            REPAIR,
            StepEvidence::Arrival(ArrivalEvidence {
                body_camera_on: true,
                knocked_gently: true,
                work_id_shown: true,
                note: Some("从后门进入".into()),
                photos: vec![],
            }),
        )
        .unwrap();
    f.app.complete_step(REPAIR, entry()).unwrap();
    let v = f.app.complete_step(REPAIR, communicate("卧室暖气不热")).unwrap();
    let original = v.steps[3].clone();

    // A correction needs a reason (reason_required) and must be of the same step (invalid_field).
    assert_eq!(
        code(f.app.correct_step(REPAIR, &original.record.record_id, " ", communicate("客厅暖气不热"))),
        "reason_required"
    );
    assert_eq!(
        code(f.app.correct_step(REPAIR, &original.record.record_id, "写错房间", entry())),
        "invalid_field"
    );
    // The corrected evidence is checked like any other: an empty problem is missing_evidence.
    assert_eq!(
        code(f.app.correct_step(REPAIR, &original.record.record_id, "写错房间", communicate(""))),
        "missing_evidence"
    );

    let v = f
        .app
        .correct_step(REPAIR, &original.record.record_id, "写错房间", communicate("客厅暖气不热"))
        .unwrap();
    assert_eq!(v.next_step, Some(VisitStep::Inspect), "a correction does not move the visit on");
    let corrected = &v.steps[3];
    assert_eq!(corrected.at, original.at, "the step keeps the time it was done");
    assert_eq!(corrected.record.supersedes.as_deref(), Some(original.record.record_id.as_str()));
    assert_eq!(corrected.record.reason.as_deref(), Some("写错房间"));
    assert_eq!(corrected.earlier.len(), 1, "the original is shown beside the correction");
    assert_eq!(corrected.earlier[0].evidence, original.evidence);
    assert_eq!(
        corrected.earlier[0].record.superseded_by.as_deref(),
        Some(corrected.record.record_id.as_str())
    );
    assert!(v.summary.contains("客厅暖气不热"), "the summary says what is in force: {}", v.summary);
    assert!(!v.summary.contains("卧室暖气不热"), "not what was corrected: {}", v.summary);
    assert!(v.summary.contains("已更正，原因：写错房间"), "and that it was corrected: {}", v.summary);
    assert!(v.summary.contains("备注：从后门进入"), "step notes reach the customer's form: {}", v.summary);

    // The original is no longer in force: correcting it again is invalid_field.
    assert_eq!(
        code(f.app.correct_step(REPAIR, &original.record.record_id, "再改", communicate("厨房"))),
        "invalid_field"
    );
    // A correction of the correction is fine, and both earlier versions stay.
    let v = f
        .app
        .correct_step(REPAIR, &corrected.record.record_id, "补充", communicate("客厅和卧室暖气不热"))
        .unwrap();
    assert_eq!(v.steps[3].earlier.len(), 2);

    f.app.complete_step(REPAIR, inspect()).unwrap();
    f.app.complete_step(REPAIR, resolve()).unwrap();
    let in_force = f.app.visit(REPAIR).unwrap().steps[3].record.record_id.clone();
    let SignoffResult::Visit(v) = f.app.customer_signoff(REPAIR, refused()).unwrap() else {
        panic!("a repair order's sign-off answers with the visit")
    };
    let signoff_id = v.signoff.unwrap().record.record_id;
    let store = f.app.store().lock().unwrap();
    let signoff = store.chain_record(&signoff_id).unwrap().unwrap();
    let bound: Vec<&str> = signoff.content.refs.iter().map(|r| r.record_id.as_str()).collect();
    assert!(bound.contains(&in_force.as_str()), "the sign-off binds the step in force");
    assert!(!bound.contains(&original.record.record_id.as_str()), "not the corrected original");
    drop(store);

    // After the customer's answer, steps are no longer corrected: correction_too_late.
    assert_eq!(
        code(f.app.correct_step(REPAIR, &in_force, "太晚了", communicate("厨房暖气不热"))),
        "correction_too_late"
    );
    // The chain holds every version: 4 steps + 2 corrections + 2 steps + the sign-off.
    let f = f.restart();
    assert_eq!(f.app.records(Some(REPAIR)).unwrap().len(), 9);
    assert_eq!(f.app.visit(REPAIR).unwrap().steps[3].earlier.len(), 2, "rebuilt from the chain");
}

#[test]
fn only_the_last_step_can_be_withdrawn_and_then_done_again() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let v = f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    let appointment_id = v.steps[0].record.record_id.clone();
    let arrival_id = v.steps[1].record.record_id.clone();

    // Withdrawing the appointment would leave an arrival without one: void_breaks_visit.
    assert_eq!(code(f.app.void_record(&appointment_id, "录错工单")), "void_breaks_visit");
    assert_eq!(code(f.app.void_record(&arrival_id, "")), "reason_required");
    let void = f.app.void_record(&arrival_id, "还没到达就点了完成").unwrap();
    assert_eq!(void.supersedes.as_deref(), Some(arrival_id.as_str()));
    let v = f.app.visit(REPAIR).unwrap();
    assert_eq!(v.next_step, Some(VisitStep::Arrival), "the withdrawn step is to be done again");
    // Twice: invalid_field; a void itself: invalid_field.
    assert_eq!(code(f.app.void_record(&arrival_id, "再撤")), "invalid_field");
    assert_eq!(code(f.app.void_record(&void.record_id, "撤回撤回")), "invalid_field");
    f.app.complete_step(REPAIR, arrival(vec![])).unwrap();
    assert_eq!(f.app.visit(REPAIR).unwrap().next_step, Some(VisitStep::Entry));

    // A corrected step is withdrawn through its correction: record_corrected.
    let v = f.app.complete_step(REPAIR, entry()).unwrap();
    let entry_id = v.steps[2].record.record_id.clone();
    f.app
        .correct_step(
            REPAIR,
            &entry_id,
            "补充备注",
            StepEvidence::Entry(EntryEvidence {
                uniform: true,
                badge: true,
                shoe_covers: true,
                note: Some("用户家有老人".into()),
            }),
        )
        .unwrap();
    assert_eq!(code(f.app.void_record(&entry_id, "撤回")), "record_corrected");
}

#[test]
fn what_the_customer_answered_and_what_binds_other_records_cannot_be_withdrawn() {
    let f = signed_in();
    let t = f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    let t = f.app.add_reading(&t.work_order_id, reading(RoomKind::LivingRoom, "客厅", "17.2")).unwrap();
    let reading_id = t.readings[0].record.record_id.clone();
    let t = f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    let report_id = t.report.unwrap().record_id;
    // The report binds the reading: record_bound; the report itself is final: record_final.
    assert_eq!(code(f.app.void_record(&reading_id, "读错了")), "record_bound");
    assert_eq!(code(f.app.void_record(&report_id, "重测")), "record_final");
    let SignoffResult::Test(t) = f.app.customer_signoff(TEST, refused()).unwrap() else {
        panic!("a test order's sign-off answers with the test")
    };
    assert_eq!(code(f.app.void_record(&t.signoff.unwrap().record.record_id, "用户改主意")), "record_final");
    assert_eq!(f.app.records(Some(TEST)).unwrap().len(), 3, "nothing refused was sealed");
}

#[test]
fn a_test_begun_with_the_wrong_thermometer_is_given_up_and_started_again() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "17.2")).unwrap();
    let t = f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "主卧", "17.4")).unwrap();
    let first_test = t.test_id.clone();
    // While it runs, a second start is test_already_started.
    assert_eq!(
        code(f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER)),
        "test_already_started"
    );
    assert_eq!(code(f.app.abandon_temperature_test(TEST, "")), "reason_required");
    f.app.abandon_temperature_test(TEST, "温度计拿错了").unwrap();
    assert!(f.app.temperature_test(TEST).unwrap().is_none(), "no test is under way");
    let records = f.app.records(Some(TEST)).unwrap();
    assert_eq!(records.len(), 4, "two readings and their two voids: nothing is deleted");
    assert!(
        records
            .iter()
            .filter(|r| r.schema == "hearth.void/1")
            .all(|r| r.reason.as_deref() == Some("温度计拿错了"))
    );

    let t = f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    assert_ne!(t.test_id, first_test, "a new test");
    assert!(t.readings.is_empty(), "the given-up test's readings are not this test's");
    let t = f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "18.6")).unwrap();
    assert_eq!(t.readings.len(), 1);
    let t = f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    assert!(t.report.is_some());
    // Once the report is signed the test can no longer be given up: report_signed.
    assert_eq!(code(f.app.abandon_temperature_test(TEST, "不想要了")), "report_signed");
    let SignoffResult::Test(_) = f.app.customer_signoff(TEST, refused()).unwrap() else {
        panic!("a test order's sign-off answers with the test")
    };
    // After the customer answered, the order may be measured again (e.g. 48 hours later).
    let f = f.restart();
    f.app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    let again = f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    assert!(again.readings.is_empty() && again.report.is_none());
}

#[test]
fn a_local_order_is_withdrawn_only_while_nothing_was_recorded_on_it() {
    let f = signed_in();
    let input = |fault: &str| hearth_tablet::LocalOrderInput {
        category: WorkOrderCategory::Leak,
        customer_name: "赵大妈".into(),
        customer_phone: "13935100002".into(),
        community: "阳光花园".into(),
        building: "3号楼".into(),
        unit: "2单元".into(),
        room: "601".into(),
        fault: fault.into(),
    };
    let mistaken = f.app.create_local_order(input("楼上漏水")).unwrap();
    let local = f.app.records(Some(mistaken.order.id.as_str())).unwrap();
    f.app.void_record(&local[0].record_id, "重复开单").unwrap();
    assert!(f.app.today("").unwrap().iter().all(|i| i.order.id != mistaken.order.id), "it leaves Today");

    let kept = f.app.create_local_order(input("楼上漏水，滴到客厅")).unwrap();
    let id = kept.order.id.as_str().to_owned();
    f.app.complete_step(&id, appointment()).unwrap();
    let local = f.app.records(Some(&id)).unwrap();
    assert!(!local[0].may_withdraw, "the list does not offer what would be refused");
    assert!(local[1].may_withdraw, "the step done last can be withdrawn");
    assert_eq!(code(f.app.void_record(&local[0].record_id, "开错了")), "order_has_records");

    // Opened by mistake after all: its step withdrawn, the order can be too
    // (a withdrawal is no work on the order).
    f.app.void_record(&local[1].record_id, "工单开错了").unwrap();
    let local = f.app.records(Some(&id)).unwrap();
    assert!(local[0].may_withdraw, "nothing in force on the order but itself: {local:?}");
    assert!(local.iter().filter(|r| r.schema == "hearth.void/1").all(|r| !r.may_withdraw), "a void is final");
    f.app.void_record(&local[0].record_id, "工单开错了").unwrap();
    assert!(f.app.today("").unwrap().iter().all(|i| i.order.id.as_str() != id), "it leaves Today");
}
