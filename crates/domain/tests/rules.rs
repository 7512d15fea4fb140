use chrono::NaiveTime;
use hearth_domain::{CentiCelsius, DeadlineRules, RuleSet, RuleSetError, TemperatureRules};
use serde_json::Value;

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

#[test]
fn a_partial_rule_set_takes_defaults_for_what_it_leaves_out() {
    let rules: RuleSet = serde_json::from_str(r#"{"temperature":{"living_room_only":true}}"#).expect("loads");
    assert!(rules.temperature().living_room_only);
    assert_eq!(rules.temperature().day_min, CentiCelsius(1800));
    assert_eq!(rules.deadlines(), &DeadlineRules::default());
}

#[test]
fn an_at_risk_share_above_one_hundred_percent_is_refused() {
    let result = RuleSet::new(
        DeadlineRules { at_risk_percent: 101, ..DeadlineRules::default() },
        TemperatureRules::default(),
    );
    assert_eq!(result, Err(RuleSetError::AtRiskPercentOutOfRange(101)));
    assert!(serde_json::from_str::<RuleSet>(r#"{"deadlines":{"at_risk_percent":101}}"#).is_err());
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
    let json = r#"{"temperature":{"day_starts":"21:00:00","day_ends":"06:00:00"}}"#;
    assert!(serde_json::from_str::<RuleSet>(json).is_err());
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
