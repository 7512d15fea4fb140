mod common;

use chrono::{TimeDelta, TimeZone};
use common::{offset_hours, order, utc};
use hearth_domain::temperature::{median, required_minimum};
use hearth_domain::{
    CentiCelsius, DeadlineKind, DeadlineState, RoomKind, RuleSet, TemperatureRules, WorkOrderCategory,
    deadlines,
};
use proptest::prelude::*;

fn room_kind() -> impl Strategy<Value = RoomKind> {
    prop_oneof![
        Just(RoomKind::LivingRoom),
        Just(RoomKind::Bedroom),
        Just(RoomKind::Kitchen),
        Just(RoomKind::Bathroom),
        Just(RoomKind::Study),
        Just(RoomKind::Other),
    ]
}

proptest! {
    #[test]
    fn a_warmer_reading_never_turns_compliance_into_non_compliance(
        kind in room_kind(),
        living_room_only in any::<bool>(),
        offset in -12i32..=14,
        seconds in 0i64..(366 * 24 * 3600),
        value in -1000i32..=4000,
        warmer_by in 0i32..=2000,
    ) {
        let rules = TemperatureRules { living_room_only, ..TemperatureRules::default() };
        let instant = utc(0, 0) + TimeDelta::seconds(seconds);
        let taken_at = instant.with_timezone(&offset_hours(offset));
        if let Some(min) = required_minimum(kind, taken_at, &rules) {
            let complies = |v: i32| CentiCelsius(v) >= min;
            prop_assert!(!complies(value) || complies(value + warmer_by));
            prop_assert!(min == rules.day_min || min == rules.night_min);
        } else {
            prop_assert!(living_room_only && kind != RoomKind::LivingRoom);
        }
    }

    #[test]
    fn the_day_minimum_applies_exactly_from_six_to_before_twenty_one(
        h in 0u32..24, m in 0u32..60, s in 0u32..60,
    ) {
        let taken_at = offset_hours(8)
            .with_ymd_and_hms(2025, 1, 10, h, m, s)
            .single()
            .ok_or_else(|| TestCaseError::fail("valid time"))?;
        let min = required_minimum(RoomKind::Bedroom, taken_at, &TemperatureRules::default());
        let expected = if (6..21).contains(&h) { 1800 } else { 1600 };
        prop_assert_eq!(min, Some(CentiCelsius(expected)));
    }

    #[test]
    fn the_median_splits_the_readings_in_half(
        values in prop::collection::vec(-4000i32..=4000, 1..40),
    ) {
        let readings: Vec<CentiCelsius> = values.iter().copied().map(CentiCelsius).collect();
        let m = median(&readings).ok_or_else(|| TestCaseError::fail("non-empty"))?;
        let n = readings.len();
        let at_most = readings.iter().filter(|v| **v <= m).count();
        let at_least = readings.iter().filter(|v| **v >= m).count();
        prop_assert!(2 * at_most >= n, "{at_most} of {n} at or below {m}");
        prop_assert!(2 * at_least >= n, "{at_least} of {n} at or above {m}");

        let mut sorted = values.clone();
        sorted.sort_unstable();
        let expected = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]).div_euclid(2)
        };
        prop_assert_eq!(m, CentiCelsius(expected));

        let mut reversed = readings.clone();
        reversed.reverse();
        prop_assert_eq!(median(&reversed), Some(m), "order does not matter");
    }

    #[test]
    fn a_leak_on_site_deadline_is_met_exactly_when_arrival_is_within_thirty_minutes(
        arrival_minute in 0i64..120,
        judged_minute in 0i64..240,
    ) {
        let mut leak = order(WorkOrderCategory::Leak);
        let arrived = leak.received_at + TimeDelta::minutes(arrival_minute);
        leak.milestones.on_site_at = Some(arrived);
        let now = leak.received_at + TimeDelta::minutes(judged_minute);
        let statuses = deadlines(&leak, &RuleSet::default(), now);
        let on_site = statuses.iter().find(|s| s.kind == DeadlineKind::OnSite)
            .ok_or_else(|| TestCaseError::fail("leak has an on-site deadline"))?;
        if arrival_minute <= 30 {
            prop_assert_eq!(on_site.state, DeadlineState::Met { at: arrived });
        } else {
            prop_assert_eq!(on_site.state, DeadlineState::Missed { at: Some(arrived) });
        }
    }
}

#[test]
fn the_median_of_nothing_is_none() {
    assert_eq!(median(&[]), None);
}

#[test]
fn an_even_median_between_two_values_rounds_down_also_below_zero() {
    let values = |v: &[i32]| v.iter().copied().map(CentiCelsius).collect::<Vec<_>>();
    assert_eq!(median(&values(&[1800, 1801])), Some(CentiCelsius(1800)));
    assert_eq!(median(&values(&[-5, -2])), Some(CentiCelsius(-4)), "-3.5 rounds down to -4");
    assert_eq!(median(&values(&[i32::MIN, i32::MAX])), Some(CentiCelsius(-1)), "no overflow");
}
