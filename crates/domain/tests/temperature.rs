mod common;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use common::{beijing, date, local, offset_hours, order_id, sha, tech, test_id};
use hearth_domain::temperature::required_minimum;
use hearth_domain::{
    CentiCelsius, CoSignError, Compliance, CustomerSignoff, NewReading, NewTemperatureTest, Outlier,
    RoomKind, RoomVerdict, Signer, SignerRole, TemperatureError, TemperatureReading, TemperatureRules,
    TemperatureTest, Thermometer,
};

fn rules() -> TemperatureRules {
    TemperatureRules::default()
}

fn living_room_only() -> TemperatureRules {
    TemperatureRules { living_room_only: true, ..TemperatureRules::default() }
}

fn thermometer(valid_until_day: u32) -> Thermometer {
    Thermometer::new("TH-88", "JD-2024-117", date(1, valid_until_day)).expect("valid thermometer")
}

fn new_test(started_at: DateTime<FixedOffset>) -> NewTemperatureTest {
    NewTemperatureTest {
        test_id: test_id("TT-1"),
        work_order_id: order_id("WO-0001"),
        performer: tech("T0017"),
        witness: tech("T0018"),
        thermometer: thermometer(31),
        started_at,
    }
}

/// A test started 2025-01-10 08:00 Beijing time.
fn started() -> TemperatureTest {
    TemperatureTest::start(new_test(beijing(8, 0))).expect("test starts")
}

fn input(kind: RoomKind, label: &str, centi: i32, at: DateTime<FixedOffset>) -> NewReading<'_> {
    NewReading {
        test_id: test_id("TT-1"),
        room_kind: kind,
        label,
        centi_celsius: centi,
        taken_at: at,
        consent_to_enter: true,
        shown_to_customer: true,
        outlier_reason: None,
    }
}

fn reading(kind: RoomKind, label: &str, centi: i32, at: DateTime<FixedOffset>) -> TemperatureReading {
    TemperatureReading::new(input(kind, label, centi, at), &rules()).expect("valid reading")
}

fn test_with(readings: Vec<TemperatureReading>) -> TemperatureTest {
    let mut test = TemperatureTest::start(new_test(local(8, 10, 0, 0, 0))).expect("test starts");
    for r in readings {
        test.add_reading(r).expect("reading belongs to the test");
    }
    test
}

// --- people and instrument ---------------------------------------------------

#[test]
fn the_performer_and_the_witness_must_be_two_people() {
    let same = NewTemperatureTest { witness: tech("T0017"), ..new_test(beijing(8, 0)) };
    assert_eq!(
        TemperatureTest::start(same).err(),
        Some(TemperatureError::SameTechnician { tech_id: tech("T0017") })
    );
}

#[test]
fn a_thermometer_can_be_used_on_its_last_valid_day() {
    let test = NewTemperatureTest { thermometer: thermometer(10), ..new_test(beijing(23, 59)) };
    assert!(TemperatureTest::start(test).is_ok());
}

#[test]
fn a_thermometer_past_its_calibration_date_is_refused() {
    let test = NewTemperatureTest { thermometer: thermometer(9), ..new_test(beijing(9, 0)) };
    assert_eq!(
        TemperatureTest::start(test).err(),
        Some(TemperatureError::CalibrationExpired {
            serial: thermometer(9).serial,
            valid_until: date(1, 9),
            used_on: date(1, 10),
        })
    );
}

#[test]
fn calibration_is_judged_on_the_local_date_not_the_utc_date() {
    // 2025-01-10 17:00 UTC is already 2025-01-11 01:00 in Beijing.
    let instant = Utc.with_ymd_and_hms(2025, 1, 10, 17, 0, 0).single().expect("valid instant");
    let test = NewTemperatureTest {
        thermometer: thermometer(10),
        ..new_test(instant.with_timezone(&offset_hours(8)))
    };
    assert!(matches!(
        TemperatureTest::start(test),
        Err(TemperatureError::CalibrationExpired { used_on, .. }) if used_on == date(1, 11)
    ));
    let same_instant_in_utc = NewTemperatureTest {
        thermometer: thermometer(10),
        ..new_test(instant.with_timezone(&offset_hours(0)))
    };
    assert!(TemperatureTest::start(same_instant_in_utc).is_ok());
}

#[test]
fn a_reading_taken_after_midnight_with_an_expired_calibration_is_refused() {
    let mut test = TemperatureTest::start(NewTemperatureTest {
        thermometer: thermometer(10),
        ..new_test(beijing(23, 50))
    })
    .expect("valid on the 10th");
    let after_midnight = reading(RoomKind::Bedroom, "主卧", 1900, local(8, 11, 0, 10, 0));
    assert!(matches!(test.add_reading(after_midnight), Err(TemperatureError::CalibrationExpired { .. })));
    assert!(test.readings().is_empty());
}

// --- single readings ---------------------------------------------------------

#[test]
fn readings_at_the_ends_of_the_range_are_accepted() {
    for centi in [-1000, 4000] {
        let result =
            TemperatureReading::new(input(RoomKind::Kitchen, "厨房", centi, beijing(10, 0)), &rules());
        assert!(result.is_ok(), "{centi} is inside the range");
    }
}

#[test]
fn readings_outside_minus_ten_to_forty_degrees_are_refused() {
    for centi in [-1001, 4001] {
        let result =
            TemperatureReading::new(input(RoomKind::Kitchen, "厨房", centi, beijing(10, 0)), &rules());
        assert!(
            matches!(
                result,
                Err(TemperatureError::ReadingOutOfRange { value, min, max, .. })
                    if value == CentiCelsius(centi)
                        && min == CentiCelsius(-1000)
                        && max == CentiCelsius(4000)
            ),
            "{centi} is outside the range"
        );
    }
}

#[test]
fn a_room_is_measured_only_with_the_customers_consent() {
    let no_consent =
        NewReading { consent_to_enter: false, ..input(RoomKind::Bedroom, "次卧", 1900, beijing(10, 0)) };
    assert!(matches!(
        TemperatureReading::new(no_consent, &rules()),
        Err(TemperatureError::NoConsentToEnter { label }) if label.as_str() == "次卧"
    ));
    // A reading built by hand without consent is refused by the test as well.
    let mut forged = reading(RoomKind::Bedroom, "次卧", 1900, beijing(10, 0));
    forged.consent_to_enter = false;
    assert!(matches!(started().add_reading(forged), Err(TemperatureError::NoConsentToEnter { .. })));
}

#[test]
fn a_reading_needs_a_room_label() {
    assert!(matches!(
        TemperatureReading::new(input(RoomKind::Other, " ", 1900, beijing(10, 0)), &rules()),
        Err(TemperatureError::InvalidField { field: "label", .. })
    ));
}

#[test]
fn a_test_accepts_only_its_own_readings_taken_after_it_started() {
    let mut test = started();
    let foreign = TemperatureReading {
        test_id: test_id("TT-2"),
        ..reading(RoomKind::Bedroom, "主卧", 1900, beijing(9, 0))
    };
    assert!(matches!(
        test.add_reading(foreign),
        Err(TemperatureError::ReadingFromAnotherTest { test_id: other, .. }) if other.as_str() == "TT-2"
    ));
    let before_start = reading(RoomKind::Bedroom, "主卧", 1900, beijing(7, 59));
    assert!(matches!(test.add_reading(before_start), Err(TemperatureError::ReadingBeforeTestStart { .. })));
    assert!(test.readings().is_empty());
}

// --- compliance by local time ------------------------------------------------

#[test]
fn compliance_changes_at_six_and_at_twenty_one_local_time() {
    // (local time, value, complies)
    let cases = [
        ((5, 59, 59), 1599, false),
        ((5, 59, 59), 1600, true),
        ((6, 0, 0), 1799, false),
        ((6, 0, 0), 1800, true),
        ((20, 59, 59), 1799, false),
        ((20, 59, 59), 1800, true),
        ((21, 0, 0), 1599, false),
        ((21, 0, 0), 1600, true),
    ];
    for ((h, m, s), centi, complies) in cases {
        let r = reading(RoomKind::Bedroom, "主卧", centi, local(8, 10, h, m, s));
        assert_eq!(r.complies(&rules()), Some(complies), "{centi} at {h:02}:{m:02}:{s:02}");
        let verdict = test_with(vec![r]).report(&rules()).map(|rep| rep.compliance.verdict);
        let expected = if complies { Compliance::Compliant } else { Compliance::BelowStandard };
        assert_eq!(verdict, Ok(expected), "{centi} at {h:02}:{m:02}:{s:02}");
    }
}

#[test]
fn the_minimum_is_eighteen_by_day_and_sixteen_at_night() {
    let at = |h, m| required_minimum(RoomKind::Study, local(8, 10, h, m, 0), &rules());
    assert_eq!(at(5, 59), Some(CentiCelsius(1600)));
    assert_eq!(at(6, 0), Some(CentiCelsius(1800)));
    assert_eq!(at(20, 59), Some(CentiCelsius(1800)));
    assert_eq!(at(21, 0), Some(CentiCelsius(1600)));
}

#[test]
fn the_same_instant_is_judged_by_its_local_time_in_each_offset() {
    // 13:30 UTC is 21:30 in Beijing (night: 17.00 °C complies) but 13:30 in
    // UTC+0 (day: 17.00 °C is below standard).
    let instant = Utc.with_ymd_and_hms(2025, 1, 10, 13, 30, 0).single().expect("valid instant");
    let in_beijing = reading(RoomKind::Bedroom, "主卧", 1700, instant.with_timezone(&offset_hours(8)));
    let in_london = reading(RoomKind::Bedroom, "主卧", 1700, instant.with_timezone(&offset_hours(0)));
    assert_eq!(in_beijing.taken_at, in_london.taken_at, "the same instant");
    assert_eq!(in_beijing.complies(&rules()), Some(true));
    assert_eq!(in_london.complies(&rules()), Some(false));
}

#[test]
fn under_living_room_only_the_living_room_needs_eighteen_at_all_hours_and_nothing_else_counts() {
    let night = local(8, 10, 3, 0, 0);
    let cold_living_room = test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 1700, night),
        reading(RoomKind::Bedroom, "主卧", 2200, night),
    ]);
    // Under the default rules 17.00 °C at 03:00 would comply.
    assert_eq!(cold_living_room.report(&rules()).map(|r| r.compliance.verdict), Ok(Compliance::Compliant));
    assert_eq!(
        cold_living_room.report(&living_room_only()).map(|r| r.compliance.verdict),
        Ok(Compliance::BelowStandard)
    );

    let cold_bedroom = test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 1800, night),
        reading(RoomKind::Bedroom, "主卧", 1500, night),
    ]);
    let report = cold_bedroom.report(&living_room_only()).expect("reports");
    assert_eq!(report.compliance.verdict, Compliance::Compliant);
    let verdicts: Vec<_> = report.compliance.rooms.iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, vec![RoomVerdict::Compliant, RoomVerdict::NotCounted]);
}

#[test]
fn under_living_room_only_a_test_without_a_living_room_reading_has_no_report() {
    let test = test_with(vec![reading(RoomKind::Bedroom, "主卧", 2000, beijing(10, 0))]);
    assert_eq!(test.report(&living_room_only()).err(), Some(TemperatureError::NoLivingRoomReading));
}

#[test]
fn a_room_measured_twice_is_below_standard_if_either_reading_is() {
    let test = test_with(vec![
        reading(RoomKind::Bedroom, "主卧", 1850, beijing(10, 0)),
        reading(RoomKind::Kitchen, "厨房", 1900, beijing(10, 5)),
        reading(RoomKind::Bedroom, "主卧", 1790, beijing(10, 30)),
    ]);
    let report = test.report(&rules()).expect("reports");
    assert_eq!(report.compliance.verdict, Compliance::BelowStandard);
    let bedroom = &report.compliance.rooms[0];
    assert_eq!(bedroom.label.as_str(), "主卧");
    assert_eq!((bedroom.readings, bedroom.lowest), (2, CentiCelsius(1790)));
    assert_eq!(bedroom.verdict, RoomVerdict::BelowStandard);
    assert_eq!(report.compliance.rooms[1].verdict, RoomVerdict::Compliant);
}

// --- the report --------------------------------------------------------------

#[test]
fn a_report_needs_at_least_one_reading() {
    assert_eq!(started().report(&rules()).err(), Some(TemperatureError::NoReadings));
}

#[test]
fn a_report_gives_the_median_and_the_number_of_readings() {
    let test = test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 1900, beijing(10, 0)),
        reading(RoomKind::Bedroom, "主卧", 1850, beijing(10, 5)),
        reading(RoomKind::Bedroom, "次卧", 1700, beijing(10, 10)),
        reading(RoomKind::Study, "书房", 2000, beijing(10, 15)),
    ]);
    let report = test.report(&rules()).expect("reports");
    assert_eq!(report.reading_count, 4);
    assert_eq!(report.median, CentiCelsius(1875), "mean of 18.50 and 19.00");
    assert_eq!(report.compliance.verdict, Compliance::BelowStandard);
    assert_eq!(report.thermometer_serial.as_str(), "TH-88");
}

#[test]
fn a_report_rechecks_the_range_of_readings_built_by_hand() {
    let mut hot = reading(RoomKind::Kitchen, "厨房", 2000, beijing(10, 0));
    hot.centi_celsius = CentiCelsius(4500);
    let test = test_with(vec![hot]);
    assert!(matches!(test.report(&rules()), Err(TemperatureError::ReadingOutOfRange { .. })));
}

fn outlier_test(odd_value: i32, reason: Option<&str>) -> TemperatureTest {
    let odd = TemperatureReading::new(
        NewReading {
            outlier_reason: reason,
            ..input(RoomKind::Bathroom, "卫生间", odd_value, beijing(10, 30))
        },
        &rules(),
    )
    .expect("valid reading");
    test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 2000, beijing(10, 0)),
        reading(RoomKind::Bedroom, "主卧", 2000, beijing(10, 10)),
        reading(RoomKind::Bedroom, "次卧", 2000, beijing(10, 20)),
        odd,
    ])
}

#[test]
fn a_reading_more_than_six_degrees_from_the_median_needs_a_reason() {
    assert_eq!(
        outlier_test(1399, None).report(&rules()).err(),
        Some(TemperatureError::OutlierNeedsReason {
            label: "卫生间".to_owned().try_into().expect("label"),
            median: CentiCelsius(2000),
            value: CentiCelsius(1399),
        })
    );
    // A blank reason is no reason.
    assert!(matches!(
        outlier_test(1399, Some("  ")).report(&rules()),
        Err(TemperatureError::OutlierNeedsReason { .. })
    ));
}

#[test]
fn an_outlier_with_a_reason_is_reported() {
    let report = outlier_test(1399, Some("窗户开着")).report(&rules());
    assert_eq!(report.map(|r| r.median), Ok(CentiCelsius(2000)));
}

#[test]
fn exactly_six_degrees_from_the_median_needs_no_reason() {
    assert!(outlier_test(1400, None).report(&rules()).is_ok());
}

#[test]
fn the_tablet_can_ask_whether_a_reading_would_be_an_outlier_before_adding_it() {
    let test = test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 2000, beijing(10, 0)),
        reading(RoomKind::Bedroom, "主卧", 2000, beijing(10, 10)),
    ]);
    assert_eq!(
        test.outlier_if_added(CentiCelsius(1300), &rules()),
        Some(Outlier { median: CentiCelsius(2000), value: CentiCelsius(1300) })
    );
    assert_eq!(test.outlier_if_added(CentiCelsius(1500), &rules()), None);
    assert_eq!(
        started().outlier_if_added(CentiCelsius(500), &rules()),
        None,
        "a first reading is its own median"
    );
}

// --- signatures --------------------------------------------------------------

fn report() -> hearth_domain::TemperatureReport {
    test_with(vec![reading(RoomKind::LivingRoom, "客厅", 1900, beijing(10, 0))])
        .report(&rules())
        .expect("reports")
}

fn performer() -> Signer {
    Signer::new(SignerRole::Performer, tech("T0017"))
}

fn witness() -> Signer {
    Signer::new(SignerRole::Witness, tech("T0018"))
}

#[test]
fn a_report_needs_both_the_performer_and_the_witness_to_sign() {
    let report = report();
    assert_eq!(report.required_signers(), [performer(), witness()]);
    assert_eq!(
        report.check_cosigned(&[performer()]),
        Err(CoSignError::MissingCoSigner { role: SignerRole::Witness })
    );
    assert_eq!(
        report.check_cosigned(&[witness()]),
        Err(CoSignError::MissingCoSigner { role: SignerRole::Performer })
    );
    assert_eq!(report.check_cosigned(&[witness(), performer()]), Ok(()));
}

#[test]
fn a_witness_signature_by_the_wrong_person_does_not_count() {
    let impostor = Signer::new(SignerRole::Witness, tech("T0099"));
    assert_eq!(
        report().check_cosigned(&[performer(), impostor.clone()]),
        Err(CoSignError::MissingCoSigner { role: SignerRole::Witness })
    );
    assert_eq!(
        report().check_cosigned(&[performer(), witness(), impostor]),
        Err(CoSignError::UnexpectedSigner { role: SignerRole::Witness, tech_id: tech("T0099") })
    );
}

#[test]
fn a_test_the_customer_refused_to_sign_is_complete_and_records_the_refusal() {
    let refusal = CustomerSignoff::refused("对结果有异议", "客厅 19.00 °C").expect("refusal");
    let completed =
        report().complete(&[performer(), witness()], refusal.clone()).expect("a refusal completes the test");
    assert!(completed.customer_refused());
    assert_eq!(completed.customer(), &refusal);
}

#[test]
fn a_test_cannot_complete_without_both_testers_signatures() {
    let signed = CustomerSignoff::signed(&sha(1), &sha(2), "客厅 19.00 °C", 4, None).expect("signature");
    assert_eq!(
        report().complete(&[performer()], signed).err(),
        Some(CoSignError::MissingCoSigner { role: SignerRole::Witness })
    );
}

// --- serialisation -----------------------------------------------------------

#[test]
fn a_reading_serialises_with_integer_hundredths_and_its_local_offset() {
    let json = serde_json::to_value(reading(RoomKind::LivingRoom, "客厅", 1850, beijing(10, 0)))
        .expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({
            "test_id": "TT-1",
            "room_kind": "living_room",
            "label": "客厅",
            "centi_celsius": 1850,
            "taken_at": "2025-01-10T10:00:00+08:00",
            "consent_to_enter": true,
            "shown_to_customer": true
        })
    );
}

#[test]
fn a_test_survives_a_json_round_trip_and_a_tampered_one_is_refused() {
    let test = test_with(vec![
        reading(RoomKind::LivingRoom, "客厅", 1900, beijing(10, 0)),
        reading(RoomKind::Bedroom, "主卧", 1850, beijing(10, 5)),
    ]);
    let json = serde_json::to_string(&test).expect("serialises");
    let back: TemperatureTest = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, test);

    let same_person = json.replace("T0018", "T0017");
    assert!(serde_json::from_str::<TemperatureTest>(&same_person).is_err());
}

#[test]
fn a_report_survives_a_json_round_trip() {
    let report = report();
    let json = serde_json::to_string(&report).expect("serialises");
    assert!(json.contains(r#""verdict":"compliant""#), "{json}");
    let back: hearth_domain::TemperatureReport = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, report);
}

// --- the judge: a sealed report re-judged from its readings --------------------

fn report_of(readings: &[TemperatureReading]) -> hearth_domain::TemperatureReport {
    test_with(readings.to_vec()).report(&rules()).expect("report")
}

#[test]
fn the_judge_agrees_with_an_honest_report() {
    let readings = [reading(RoomKind::Bedroom, "主卧", 1750, local(8, 10, 5, 59, 0))];
    let judged =
        hearth_domain::judge_report(&report_of(&readings), &readings, Some(&thermometer(31)), &rules());
    assert!(judged.is_clean(), "{judged:?}");
    assert_eq!(judged.compliance.map(|c| c.verdict), Some(Compliance::Compliant));
}

#[test]
fn seventeen_and_a_half_is_compliant_at_five_fifty_nine_and_below_standard_at_six() {
    // The tablet said 05:59 and judged it against the night minimum; the
    // judge believes 06:00 (the server's bracketed time): day minimum.
    let claimed = [reading(RoomKind::Bedroom, "主卧", 1750, local(8, 10, 5, 59, 0))];
    let report = report_of(&claimed);
    assert_eq!(report.compliance.verdict, Compliance::Compliant);
    let believed = [TemperatureReading { taken_at: local(8, 10, 6, 0, 0), ..claimed[0].clone() }];
    let judged = hearth_domain::judge_report(&report, &believed, Some(&thermometer(31)), &rules());
    assert_eq!(judged.compliance.as_ref().map(|c| c.verdict), Some(Compliance::BelowStandard));
    assert_eq!(
        judged.findings,
        [TemperatureError::VerdictMismatch {
            stated: Compliance::Compliant,
            judged: Compliance::BelowStandard
        }]
    );
}

#[test]
fn a_thermometer_expired_the_day_before_is_found() {
    let readings = [reading(RoomKind::Bedroom, "主卧", 1900, local(8, 10, 9, 0, 0))];
    let judged =
        hearth_domain::judge_report(&report_of(&readings), &readings, Some(&thermometer(9)), &rules());
    assert_eq!(judged.findings.iter().map(|f| f.code()).collect::<Vec<_>>(), ["calibration_expired"]);
}

#[test]
fn a_report_that_binds_other_readings_or_too_few_is_found() {
    let two = [
        reading(RoomKind::Bedroom, "主卧", 1900, local(8, 10, 9, 0, 0)),
        reading(RoomKind::Kitchen, "厨房", 1900, local(8, 10, 9, 5, 0)),
    ];
    let report = report_of(&two);
    let judged = hearth_domain::judge_report(&report, &two[..1], Some(&thermometer(31)), &rules());
    assert_eq!(judged.findings.first().map(|f| f.code()), Some("report_readings_mismatch"));

    let mut other = two[1].clone();
    other.test_id = test_id("TT-2");
    let judged =
        hearth_domain::judge_report(&report, &[two[0].clone(), other], Some(&thermometer(31)), &rules());
    assert!(judged.findings.iter().any(|f| f.code() == "report_readings_mismatch"));
}

#[test]
fn a_reading_without_consent_or_a_stated_verdict_that_lies_is_found() {
    let readings = [reading(RoomKind::Bedroom, "主卧", 1500, local(8, 10, 9, 0, 0))];
    let mut report = report_of(&readings);
    assert_eq!(report.compliance.verdict, Compliance::BelowStandard);
    report.compliance.verdict = Compliance::Compliant;
    report.compliance.rooms[0].verdict = RoomVerdict::Compliant;
    let no_consent = [TemperatureReading { consent_to_enter: false, ..readings[0].clone() }];
    let judged = hearth_domain::judge_report(&report, &no_consent, Some(&thermometer(31)), &rules());
    assert_eq!(
        judged.findings.iter().map(|f| f.code()).collect::<Vec<_>>(),
        ["no_consent_to_enter", "verdict_mismatch"]
    );
    assert_eq!(judged.compliance.map(|c| c.verdict), Some(Compliance::BelowStandard));
}
