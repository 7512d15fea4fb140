//! The two-person temperature test through `App`: calibration judged on
//! the local date, the witness's PIN, readings sealed at once, corrections
//! beside the original, the co-signed report, the customer's refusal.

mod common;

use common::*;
use hearth_domain::{Compliance, RoomKind, RoomVerdict};
use hearth_protocol::SignerRole;
use hearth_tablet::temperature::parse_celsius;
use hearth_tablet::{ReadingInput, SignoffInput, SignoffResult};

#[test]
fn celsius_text_becomes_exact_hundredths() {
    assert_eq!(parse_celsius("17.6").unwrap(), 1760);
    assert_eq!(parse_celsius("17.65").unwrap(), 1765);
    assert_eq!(parse_celsius(" 18 ").unwrap(), 1800);
    assert_eq!(parse_celsius("-3.5").unwrap(), -350);
    assert_eq!(parse_celsius("0.07").unwrap(), 7);
    assert_eq!(parse_celsius("19.1℃").unwrap(), 1910);
    // What an IME types is the same number (one grammar with the screens).
    assert_eq!(parse_celsius("１７．６").unwrap(), 1760);
    assert_eq!(parse_celsius(".5").unwrap(), 50);
    // More than two decimals, letters, empty: invalid_field. (A huge number
    // parses, and the reading's range check refuses it.)
    for bad in ["17.655", "abc", "", ".", "1e2", "17.6.1", "99999999999"] {
        assert_eq!(code(parse_celsius(bad)), "invalid_field", "{bad}");
    }
}

#[test]
fn an_expired_thermometer_is_refused_on_the_local_date() {
    let f = signed_in();
    let list = f.app.thermometers().unwrap();
    let expired = list.iter().find(|t| t.serial == EXPIRED_THERMOMETER).unwrap();
    assert!(!expired.usable);
    assert_eq!(expired.refusal.as_ref().unwrap().code, "calibration_expired");
    assert!(list.iter().find(|t| t.serial == GOOD_THERMOMETER).unwrap().usable);
    // Starting with it: calibration_expired. Unknown serial: unknown_thermometer.
    assert_eq!(
        code(f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, EXPIRED_THERMOMETER)),
        "calibration_expired"
    );
    assert_eq!(
        code(f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, "TM-NOPE")),
        "unknown_thermometer"
    );
    assert!(f.app.temperature_test(TEST).unwrap().is_none(), "nothing started");
}

#[test]
fn the_witness_is_another_enrolled_technician_whose_pin_unlocks() {
    let f = signed_in();
    // Performer as witness: same_technician. Wrong PIN: wrong_pin. Unknown: unknown_technician.
    assert_eq!(
        code(f.app.start_temperature_test(TEST, PERFORMER, PERFORMER_PIN, GOOD_THERMOMETER)),
        "same_technician"
    );
    assert_eq!(code(f.app.start_temperature_test(TEST, WITNESS, "000000", GOOD_THERMOMETER)), "wrong_pin");
    assert_eq!(
        code(f.app.start_temperature_test(TEST, "T9999", "111111", GOOD_THERMOMETER)),
        "unknown_technician"
    );
    // No test yet: no_test.
    assert_eq!(code(f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "18"))), "no_test");
    let t = f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    assert_eq!(t.performer.tech_id, PERFORMER);
    assert_eq!(t.witness.name.as_deref(), Some("李秀英"));
    assert_eq!(t.started_at.offset().local_minus_utc(), 8 * 3600, "local time, with its offset");
}

#[test]
fn readings_are_sealed_at_once_and_bad_ones_refused() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    // No consent: no_consent_to_enter. 55 °C: reading_out_of_range. Blank label: invalid_field. "abc": invalid_field.
    let no_consent = ReadingInput { consent_to_enter: false, ..reading(RoomKind::Bedroom, "主卧", "18") };
    assert_eq!(code(f.app.add_reading(TEST, no_consent)), "no_consent_to_enter");
    assert_eq!(
        code(f.app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "55"))),
        "reading_out_of_range"
    );
    assert_eq!(code(f.app.add_reading(TEST, reading(RoomKind::Bedroom, " ", "18"))), "invalid_field");
    assert_eq!(code(f.app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "abc"))), "invalid_field");
    let t = f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "17.6")).unwrap();
    assert_eq!(t.readings.len(), 1);
    let r = &t.readings[0];
    assert_eq!(r.centi_celsius, 1760);
    assert_eq!(r.required_min, Some(1800), "10:00 local is in the day window");
    assert_eq!(r.verdict, RoomVerdict::BelowStandard);
    assert_eq!(t.compliance.as_ref().unwrap().verdict, Compliance::BelowStandard, "live verdict");
    f.app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "18.2")).unwrap();
    // Far from the median without a reason: outlier_needs_reason.
    assert_eq!(
        code(f.app.add_reading(TEST, reading(RoomKind::Kitchen, "厨房", "30"))),
        "outlier_needs_reason"
    );
    let with_reason = ReadingInput {
        outlier_reason: Some("灶台正在使用".into()),
        ..reading(RoomKind::Kitchen, "厨房", "30")
    };
    let t = f.app.add_reading(TEST, with_reason).unwrap();
    assert_eq!(t.readings.len(), 3);
    assert_eq!(f.app.records(Some(TEST)).unwrap().len(), 3, "each reading is its own sealed record");
}

#[test]
fn a_correction_stands_beside_the_original_and_the_test_survives_a_restart() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    let t = f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "16.1")).unwrap();
    let original = t.readings[0].record.record_id.clone();
    // Without a reason: reason_required. A record that is not a reading: invalid_field.
    assert_eq!(
        code(f.app.correct_reading(TEST, &original, " ", reading(RoomKind::LivingRoom, "客厅", "18.1"))),
        "reason_required"
    );
    assert_eq!(
        code(f.app.correct_reading(TEST, "nope", "typo", reading(RoomKind::LivingRoom, "客厅", "18.1"))),
        "invalid_field"
    );
    let t = f
        .app
        .correct_reading(TEST, &original, "读错小数点", reading(RoomKind::LivingRoom, "客厅", "18.1"))
        .unwrap();
    assert_eq!(t.readings.len(), 2, "both readings show");
    let correction = t.readings[1].record.record_id.clone();
    assert_eq!(t.readings[0].superseded_by.as_deref(), Some(correction.as_str()));
    assert_eq!(t.readings[1].record.supersedes.as_deref(), Some(original.as_str()));
    assert_eq!(t.readings[1].record.reason.as_deref(), Some("读错小数点"));
    assert_eq!(t.compliance.as_ref().unwrap().verdict, Compliance::Compliant, "only the correction counts");
    // Correcting the original again: invalid_field (it is no longer in force).
    assert_eq!(
        code(f.app.correct_reading(TEST, &original, "again", reading(RoomKind::LivingRoom, "客厅", "18.2"))),
        "invalid_field"
    );

    let f = f.restart();
    let t = f.app.temperature_test(TEST).unwrap().expect("the test survives a restart");
    assert_eq!(t.readings.len(), 2);
    assert_eq!(t.readings[0].superseded_by.as_deref(), Some(correction.as_str()));
    assert!(t.summary.contains("18.10℃"), "{}", t.summary);
    assert!(!t.summary.contains("16.10℃"), "the summary shows the readings in force: {}", t.summary);
    assert!(t.summary.contains("更正，原因：读错小数点"), "{}", t.summary);
}

#[test]
fn both_testers_co_sign_the_report_and_the_customer_may_refuse() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    // No readings: no_readings.
    assert_eq!(code(f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None)), "no_readings");
    f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "17.2")).unwrap();
    f.app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "17.9")).unwrap();
    // The customer before the report: report_not_signed.
    assert_eq!(
        code(f.app.customer_signoff(TEST, SignoffInput::Refused { reason: "不认可".into() })),
        "report_not_signed"
    );
    // A wrong witness PIN: wrong_pin, and nothing sealed.
    assert_eq!(code(f.app.sign_report(TEST, PERFORMER_PIN, "000000", None)), "wrong_pin");
    let t = f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    let report = t.report.expect("the report is sealed");
    assert_eq!(report.schema, "hearth.temperature_test/1");
    // The sealed report carries both signatures.
    let sealed = f.app.store().lock().unwrap().chain_record(&report.record_id).unwrap().unwrap();
    let roles: Vec<SignerRole> = sealed.content.signers.iter().map(|s| s.role).collect();
    assert_eq!(roles, vec![SignerRole::Performer, SignerRole::Witness]);
    assert_eq!(sealed.content.refs.len(), 2, "the report binds both readings");
    // After the report: report_signed for new readings and a second report.
    assert_eq!(code(f.app.add_reading(TEST, reading(RoomKind::Study, "书房", "18"))), "report_signed");
    assert_eq!(code(f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None)), "report_signed");
    let summary = t.summary.clone();
    assert!(summary.contains("结论：室温不达标"), "{summary}");
    assert!(summary.contains("王建国（T0017）、李秀英（T0023）"), "{summary}");
    assert!(summary.contains("TM-2291"), "{summary}");

    let SignoffResult::Test(t) =
        f.app.customer_signoff(TEST, SignoffInput::Refused { reason: "认为测量位置不对".into() }).unwrap()
    else {
        panic!("a test's sign-off answers with the test")
    };
    let signoff = t.signoff.expect("the refusal is recorded");
    assert!(signoff.signoff.is_refused());
    assert_eq!(signoff.signoff.summary_shown().as_str(), summary, "the refusal binds the text shown");
    assert_eq!(
        code(f.app.customer_signoff(TEST, SignoffInput::Refused { reason: "again".into() })),
        "signoff_already_recorded"
    );
    let f = f.restart();
    let t = f.app.temperature_test(TEST).unwrap().unwrap();
    assert!(t.signoff.is_some() && t.report.is_some());
    assert_eq!(f.app.store().lock().unwrap().verify_chain().unwrap().entries, 4);
}

#[test]
fn the_testers_may_record_a_cause_on_the_customers_side_and_the_customer_sees_it() {
    let f = signed_in();
    f.app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, GOOD_THERMOMETER).unwrap();
    f.app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "15.0")).unwrap();
    let t = f.app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, Some("用户私自封堵暖气片")).unwrap();
    assert!(t.summary.contains("用户私自封堵暖气片"), "{}", t.summary);
    let report = t.report.expect("the report is sealed");
    let sealed = f.app.store().lock().unwrap().chain_record(&report.record_id).unwrap().unwrap();
    assert_eq!(sealed.content.data["customer_side_cause"], "用户私自封堵暖气片", "sealed in the report");
}
