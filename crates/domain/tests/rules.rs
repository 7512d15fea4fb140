use chrono::NaiveTime;
use hearth_domain::{CentiCelsius, DeadlineRules, RuleSet, RuleSetError, TemperatureRules};
use serde_json::{Value, json};

#[test]
fn the_default_rule_set_holds_the_regulations_figures() {
    let rules = RuleSet::default();
    let d = rules.deadlines();
    assert_eq!(d.leak_on_site_minutes, 30);
    assert_eq!(d.repair_contact_minutes, 30);
    assert_eq!(d.repair_on_site_minutes, 120);
    assert_eq!(d.repair_fixed_minutes, 24 * 60);
    assert_eq!(d.testers_on_site_minutes, 24 * 60);
    assert_eq!(d.follow_up_minutes, 48 * 60);
    assert_eq!(d.late_notice_minutes, 60);
    assert_eq!(d.at_risk_percent, 20);
    let t = rules.temperature();
    assert_eq!(t.day_starts, NaiveTime::from_hms_opt(6, 0, 0).expect("time"));
    assert_eq!(t.day_ends, NaiveTime::from_hms_opt(21, 0, 0).expect("time"));
    assert_eq!(t.day_min, CentiCelsius(1800));
    assert_eq!(t.night_min, CentiCelsius(1600));
    assert!(!t.living_room_only);
    assert_eq!((t.reading_min, t.reading_max), (CentiCelsius(-1000), CentiCelsius(4000)));
    assert_eq!(t.outlier_threshold, CentiCelsius(600));
}

#[test]
fn a_rule_set_survives_a_json_round_trip() {
    let rules = RuleSet::new(
        DeadlineRules { leak_on_site_minutes: 40, at_risk_percent: 10, ..DeadlineRules::default() },
        TemperatureRules { living_room_only: true, ..TemperatureRules::default() },
    )
    .expect("valid rules");
    let json = serde_json::to_string(&rules).expect("serialises");
    let back: RuleSet = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, rules);
    assert_ne!(back, RuleSet::default());
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => !(n.is_i64() || n.is_u64()),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

#[test]
fn the_serialised_rule_set_holds_no_floats_and_no_nulls() {
    let value = serde_json::to_value(RuleSet::default()).expect("serialises");
    assert!(!has_float(&value), "{value}");
    assert!(!value.to_string().contains("null"), "{value}");
    assert_eq!(value["temperature"]["day_min"], Value::from(1800));
    assert_eq!(value["deadlines"]["follow_up_minutes"], Value::from(2880));
}

fn refusal(json: Value) -> (String, Option<String>) {
    let e = RuleSet::from_json(&json).expect_err("refused");
    (e.code().to_owned(), e.field())
}

#[test]
fn the_office_sends_a_whole_rule_set_or_none_and_the_error_names_the_field() {
    // These used to reset the company's rules to the defaults, silently.
    assert_eq!(refusal(json!([])).0, "rule_set_shape");
    assert_eq!(refusal(json!({})), ("rule_set_shape".into(), Some("rule set".into())));
    let whole = serde_json::to_value(RuleSet::default()).expect("serialises");
    assert_eq!(RuleSet::from_json(&whole), Ok(RuleSet::default()));

    let mut misspelt = whole.clone();
    misspelt["deadlines"]["leak_on_site_minuts"] = json!(20);
    let (code, field) = refusal(misspelt);
    assert_eq!(code, "rule_set_shape");
    assert_eq!(field.as_deref(), Some("deadlines.leak_on_site_minuts"));

    let mut missing = whole.clone();
    if let Some(d) = missing["deadlines"].as_object_mut() {
        d.remove("repair_fixed_minutes");
    }
    let e = RuleSet::from_json(&missing).expect_err("a key is missing");
    assert_eq!(e.field().as_deref(), Some("deadlines"));
    assert!(e.to_string().contains("repair_fixed_minutes"), "{e}");

    let mut wrong_type = whole.clone();
    wrong_type["temperature"]["day_min"] = json!("18");
    assert_eq!(refusal(wrong_type).1.as_deref(), Some("temperature.day_min"));

    let mut zero = whole;
    zero["deadlines"]["leak_on_site_minutes"] = json!(0);
    assert_eq!(refusal(zero), ("rule_zero_duration".into(), Some("deadlines.leak_on_site_minutes".into())));
}

#[test]
fn a_stored_rule_set_from_another_version_is_read_explicitly_and_a_wrong_value_stays_an_error() {
    // Stored before the fee and follow-up sections existed: they take their defaults.
    let mut old = serde_json::to_value(RuleSet::default()).expect("serialises");
    if let Some(o) = old.as_object_mut() {
        o.remove("fee");
        o.remove("follow_up");
    }
    old["temperature"]["living_room_only"] = json!(true);
    let read = RuleSet::from_stored(&old).expect("an older rule set reads");
    assert!(read.temperature().living_room_only);
    assert_eq!(read.fee().fee_reduction_percent, 50);
    // Fed by a newer server with a key this version does not know: dropped.
    old["deadlines"]["a_newer_setting"] = json!(5);
    assert!(RuleSet::from_stored(&old).is_ok());
    // But a wrong value is never the defaults.
    old["deadlines"]["leak_on_site_minutes"] = json!(0);
    assert!(RuleSet::from_stored(&old).is_err());
    assert!(RuleSet::from_stored(&json!("rules")).is_err());
}

#[test]
fn an_at_risk_share_above_one_hundred_percent_is_refused() {
    let result = RuleSet::new(
        DeadlineRules { at_risk_percent: 101, ..DeadlineRules::default() },
        TemperatureRules::default(),
    );
    assert_eq!(result, Err(RuleSetError::AtRiskPercentOutOfRange(101)));
    let mut json = serde_json::to_value(RuleSet::default()).expect("serialises");
    json["deadlines"]["at_risk_percent"] = Value::from(101);
    assert!(RuleSet::from_json(&json).is_err());
}

#[test]
fn a_zero_minute_deadline_is_refused_and_named() {
    let result = RuleSet::new(
        DeadlineRules { follow_up_minutes: 0, ..DeadlineRules::default() },
        TemperatureRules::default(),
    );
    assert_eq!(result, Err(RuleSetError::ZeroDuration { name: "follow_up_minutes" }));
}

#[test]
fn a_day_window_that_ends_before_it_starts_is_refused() {
    let mut json = serde_json::to_value(RuleSet::default()).expect("serialises");
    json["temperature"]["day_starts"] = Value::from("21:00:00");
    json["temperature"]["day_ends"] = Value::from("06:00:00");
    assert!(matches!(RuleSet::from_json(&json), Err(RuleSetError::EmptyDayWindow { .. })));
}

#[test]
fn an_empty_reading_range_and_a_negative_outlier_threshold_are_refused() {
    let empty_range = TemperatureRules {
        reading_min: CentiCelsius(100),
        reading_max: CentiCelsius(99),
        ..TemperatureRules::default()
    };
    assert!(matches!(
        RuleSet::new(DeadlineRules::default(), empty_range),
        Err(RuleSetError::EmptyReadingRange { .. })
    ));
    let negative = TemperatureRules { outlier_threshold: CentiCelsius(-1), ..TemperatureRules::default() };
    assert_eq!(
        RuleSet::new(DeadlineRules::default(), negative),
        Err(RuleSetError::NegativeOutlierThreshold(CentiCelsius(-1)))
    );
}

#[test]
fn issue_14_settings_have_the_regulations_defaults_and_older_stored_sets_get_them() {
    let rules = RuleSet::default();
    assert_eq!(rules.deadlines().network_burst_on_site_minutes, 40);
    assert_eq!(rules.deadlines().complaint_working_days, 5);
    assert_eq!(rules.visits().from, NaiveTime::from_hms_opt(9, 0, 0).expect("time"));
    assert_eq!(rules.visits().until, NaiveTime::from_hms_opt(18, 0, 0).expect("time"));
    // A rule set stored before these keys existed is read with their defaults.
    let mut older = serde_json::to_value(RuleSet::default()).expect("serialises");
    if let Some(o) = older.as_object_mut() {
        o.remove("visits");
    }
    if let Some(d) = older.get_mut("deadlines").and_then(Value::as_object_mut) {
        d.remove("network_burst_on_site_minutes");
        d.remove("complaint_working_days");
    }
    assert_eq!(RuleSet::from_stored(&older).ok(), Some(RuleSet::default()));
    // The office's strict form requires them.
    let e = RuleSet::from_json(&older).err().map(|e| (e.code(), e.field()));
    assert_eq!(e.map(|(c, _)| c), Some("rule_set_shape"));
}

#[test]
fn visit_hours_are_one_window_of_company_time() {
    use chrono::{FixedOffset, TimeZone, Utc};
    use hearth_domain::{Appointment, VisitRules};
    let zone = FixedOffset::east_opt(8 * 3600).expect("zone");
    let at = |d: u32, h: u32, m: u32| {
        zone.with_ymd_and_hms(2025, 1, d, h, m, 0).single().expect("t").with_timezone(&Utc)
    };
    let visits = VisitRules::default();
    let allows = |a, b| visits.allows(&Appointment::new(a, b).expect("appointment"), zone);
    assert!(allows(at(10, 9, 0), at(10, 18, 0)), "the whole window, both ends inclusive");
    assert!(allows(at(10, 14, 0), at(10, 15, 0)));
    assert!(!allows(at(10, 8, 59), at(10, 10, 0)), "starts too early");
    assert!(!allows(at(10, 17, 0), at(10, 18, 1)), "ends too late");
    assert!(!allows(at(10, 10, 0), at(11, 10, 0)), "spans a night");
    // 09:30 in Beijing is 01:30 UTC: judged in company time.
    assert!(allows(at(10, 9, 30), at(10, 9, 30)));

    let wider = RuleSet::default().with_visits(VisitRules {
        from: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        until: NaiveTime::from_hms_opt(20, 0, 0).expect("time"),
    });
    assert!(
        wider.is_ok_and(|r| r
            .visits()
            .allows(&Appointment::new(at(10, 8, 0), at(10, 19, 0)).expect("a"), zone))
    );
    let empty = RuleSet::default().with_visits(VisitRules {
        from: NaiveTime::from_hms_opt(18, 0, 0).expect("time"),
        until: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
    });
    let e = empty.err();
    assert_eq!(e.as_ref().map(RuleSetError::code), Some("rule_empty_visit_hours"));
    assert_eq!(e.and_then(|e| e.field()), Some("visits.from".into()));
}
