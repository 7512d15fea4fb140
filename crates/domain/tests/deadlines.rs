mod common;

use chrono::{DateTime, Utc};
use common::{appointment, order, utc, utc_on};
use hearth_domain::{
    DeadlineKind, DeadlineRules, DeadlineState, DeadlineStatus, RuleSet, TemperatureRules, WorkOrder,
    WorkOrderCategory, deadlines,
};

fn state_of(statuses: &[DeadlineStatus], kind: DeadlineKind) -> Option<DeadlineState> {
    statuses.iter().find(|s| s.kind == kind).map(|s| s.state)
}

fn kinds(statuses: &[DeadlineStatus]) -> Vec<DeadlineKind> {
    statuses.iter().map(|s| s.kind).collect()
}

fn judge(order: &WorkOrder, now: DateTime<Utc>) -> Vec<DeadlineStatus> {
    deadlines(order, &RuleSet::default(), now)
}

// Orders are received at 08:00 UTC on 2025-01-10.

#[test]
fn a_leak_has_only_the_thirty_minute_on_site_deadline() {
    let statuses = judge(&order(WorkOrderCategory::Leak), utc(8, 5));
    assert_eq!(kinds(&statuses), vec![DeadlineKind::OnSite]);
    assert_eq!(statuses[0].due, utc(8, 30));
}

#[test]
fn a_leak_deadline_is_open_then_at_risk_in_its_last_fifth_then_missed() {
    let leak = order(WorkOrderCategory::Leak);
    let at = |h, m| state_of(&judge(&leak, utc(h, m)), DeadlineKind::OnSite);
    assert_eq!(at(8, 23), Some(DeadlineState::Open), "7 of 30 minutes left");
    assert_eq!(at(8, 24), Some(DeadlineState::AtRisk), "6 of 30 minutes left");
    assert_eq!(at(8, 30), Some(DeadlineState::AtRisk), "due now, still possible");
    assert_eq!(at(8, 31), Some(DeadlineState::Missed { at: None }));
}

#[test]
fn arriving_at_the_due_minute_meets_the_deadline_and_a_minute_later_misses_it() {
    let mut leak = order(WorkOrderCategory::Leak);
    leak.milestones.on_site_at = Some(utc(8, 30));
    assert_eq!(
        state_of(&judge(&leak, utc(9, 0)), DeadlineKind::OnSite),
        Some(DeadlineState::Met { at: utc(8, 30) })
    );
    leak.milestones.on_site_at = Some(utc(8, 31));
    assert_eq!(
        state_of(&judge(&leak, utc(9, 0)), DeadlineKind::OnSite),
        Some(DeadlineState::Missed { at: Some(utc(8, 31)) })
    );
}

#[test]
fn a_met_deadline_stays_met_however_late_it_is_judged() {
    let mut leak = order(WorkOrderCategory::Leak);
    leak.milestones.on_site_at = Some(utc(8, 20));
    assert_eq!(
        state_of(&judge(&leak, utc_on(20, 0, 0)), DeadlineKind::OnSite),
        Some(DeadlineState::Met { at: utc(8, 20) })
    );
}

#[test]
fn a_repair_has_contact_on_site_and_fixed_deadlines_each_judged_on_its_own() {
    let mut repair = order(WorkOrderCategory::Repair);
    repair.milestones.contacted_at = Some(utc(8, 20));
    repair.milestones.on_site_at = Some(utc(10, 30));
    let statuses = judge(&repair, utc(10, 40));
    assert_eq!(kinds(&statuses), vec![DeadlineKind::Contact, DeadlineKind::OnSite, DeadlineKind::Fixed]);
    let dues: Vec<_> = statuses.iter().map(|s| s.due).collect();
    assert_eq!(dues, vec![utc(8, 30), utc(10, 0), utc_on(11, 8, 0)]);
    assert_eq!(statuses[0].state, DeadlineState::Met { at: utc(8, 20) });
    assert_eq!(statuses[1].state, DeadlineState::Missed { at: Some(utc(10, 30)) });
    assert_eq!(statuses[2].state, DeadlineState::Open);
}

#[test]
fn the_fixed_deadline_turns_at_risk_in_the_last_four_point_eight_hours() {
    let repair = order(WorkOrderCategory::Repair);
    // Due 2025-01-11 08:00; 20 % of 24 h is 4 h 48 min, so at risk from 03:12.
    let fixed = |h, m| state_of(&judge(&repair, utc_on(11, h, m)), DeadlineKind::Fixed);
    assert_eq!(fixed(3, 11), Some(DeadlineState::Open));
    assert_eq!(fixed(3, 12), Some(DeadlineState::AtRisk));
    assert_eq!(fixed(8, 1), Some(DeadlineState::Missed { at: None }));
}

#[test]
fn valve_and_meter_jobs_follow_the_repair_deadlines() {
    for category in
        [WorkOrderCategory::ValveOpen, WorkOrderCategory::ValveClose, WorkOrderCategory::MeterCheck]
    {
        let statuses = judge(&order(category), utc(8, 0));
        assert_eq!(
            kinds(&statuses),
            vec![DeadlineKind::Contact, DeadlineKind::OnSite, DeadlineKind::Fixed],
            "{category:?}"
        );
    }
}

#[test]
fn a_temperature_test_needs_the_testers_on_site_within_twenty_four_hours() {
    let mut test = order(WorkOrderCategory::TemperatureTest);
    let statuses = judge(&test, utc(12, 0));
    assert_eq!(kinds(&statuses), vec![DeadlineKind::TestersOnSite]);
    assert_eq!(statuses[0].due, utc_on(11, 8, 0));
    assert_eq!(statuses[0].state, DeadlineState::Open);
    assert_eq!(
        state_of(&judge(&test, utc_on(11, 4, 0)), DeadlineKind::TestersOnSite),
        Some(DeadlineState::AtRisk)
    );
    assert_eq!(
        state_of(&judge(&test, utc_on(11, 9, 0)), DeadlineKind::TestersOnSite),
        Some(DeadlineState::Missed { at: None })
    );
    test.milestones.on_site_at = Some(utc_on(11, 7, 59));
    assert_eq!(
        state_of(&judge(&test, utc_on(11, 9, 0)), DeadlineKind::TestersOnSite),
        Some(DeadlineState::Met { at: utc_on(11, 7, 59) })
    );
}

#[test]
fn the_follow_up_call_applies_only_once_the_order_is_completed() {
    let mut repair = order(WorkOrderCategory::Repair);
    assert_eq!(state_of(&judge(&repair, utc(9, 0)), DeadlineKind::FollowUpCall), None);

    repair.milestones.completed_at = Some(utc(15, 0));
    let follow_up = |now| judge(&repair, now).into_iter().find(|s| s.kind == DeadlineKind::FollowUpCall);
    let status = follow_up(utc_on(11, 9, 0)).expect("applies after completion");
    assert_eq!(status.due, utc_on(12, 15, 0));
    assert_eq!(status.state, DeadlineState::Open);
    // 9 h left of 48 h is within the last 20 % (9.6 h).
    assert_eq!(follow_up(utc_on(12, 6, 0)).map(|s| s.state), Some(DeadlineState::AtRisk));
    assert_eq!(follow_up(utc_on(12, 15, 1)).map(|s| s.state), Some(DeadlineState::Missed { at: None }));
}

#[test]
fn a_follow_up_call_within_forty_eight_hours_meets_it_and_later_misses_it() {
    let mut leak = order(WorkOrderCategory::Leak);
    leak.milestones.completed_at = Some(utc(9, 0));
    leak.milestones.follow_up_at = Some(utc_on(11, 10, 0));
    assert_eq!(
        state_of(&judge(&leak, utc_on(13, 0, 0)), DeadlineKind::FollowUpCall),
        Some(DeadlineState::Met { at: utc_on(11, 10, 0) })
    );
    leak.milestones.follow_up_at = Some(utc_on(12, 9, 1));
    assert_eq!(
        state_of(&judge(&leak, utc_on(13, 0, 0)), DeadlineKind::FollowUpCall),
        Some(DeadlineState::Missed { at: Some(utc_on(12, 9, 1)) })
    );
}

fn repair_with_appointment() -> WorkOrder {
    let mut repair = order(WorkOrderCategory::Repair);
    repair.appointment = Some(appointment(utc(14, 0), utc(15, 0)));
    repair
}

#[test]
fn no_late_notice_is_due_while_the_technician_is_not_late() {
    let mut repair = repair_with_appointment();
    assert_eq!(state_of(&judge(&repair, utc(12, 0)), DeadlineKind::LateNotice), None);
    repair.milestones.on_site_at = Some(utc(14, 30));
    assert_eq!(state_of(&judge(&repair, utc(16, 0)), DeadlineKind::LateNotice), None);
}

#[test]
fn a_technician_running_late_must_tell_the_customer_an_hour_before_the_appointment() {
    let mut repair = repair_with_appointment();
    repair.milestones.running_late = true;
    let notice =
        |repair: &WorkOrder, now| judge(repair, now).into_iter().find(|s| s.kind == DeadlineKind::LateNotice);
    let status = notice(&repair, utc(11, 0)).expect("applies when running late");
    assert_eq!(status.due, utc(13, 0));
    assert_eq!(status.state, DeadlineState::Open);
    // The span runs from receipt (08:00) to 13:00; its last 20 % is one hour.
    assert_eq!(notice(&repair, utc(12, 0)).map(|s| s.state), Some(DeadlineState::AtRisk));
    repair.milestones.late_notice_at = Some(utc(12, 45));
    assert_eq!(notice(&repair, utc(16, 0)).map(|s| s.state), Some(DeadlineState::Met { at: utc(12, 45) }));
    repair.milestones.late_notice_at = Some(utc(13, 30));
    assert_eq!(
        notice(&repair, utc(16, 0)).map(|s| s.state),
        Some(DeadlineState::Missed { at: Some(utc(13, 30)) })
    );
}

#[test]
fn arriving_after_the_window_without_notice_misses_the_late_notice() {
    let mut repair = repair_with_appointment();
    repair.milestones.on_site_at = Some(utc(15, 30));
    assert_eq!(
        state_of(&judge(&repair, utc(16, 0)), DeadlineKind::LateNotice),
        Some(DeadlineState::Missed { at: None })
    );
}

#[test]
fn a_window_closed_with_nobody_arrived_makes_the_late_notice_apply() {
    let repair = repair_with_appointment();
    assert_eq!(state_of(&judge(&repair, utc(15, 0)), DeadlineKind::LateNotice), None);
    assert_eq!(
        state_of(&judge(&repair, utc(15, 1)), DeadlineKind::LateNotice),
        Some(DeadlineState::Missed { at: None })
    );
}

#[test]
fn deadlines_follow_the_company_rule_set_not_fixed_figures() {
    let rules = RuleSet::new(
        DeadlineRules { leak_on_site_minutes: 40, at_risk_percent: 0, ..DeadlineRules::default() },
        TemperatureRules::default(),
    )
    .expect("valid rules");
    let leak = order(WorkOrderCategory::Leak);
    let statuses = deadlines(&leak, &rules, utc(8, 39));
    assert_eq!(statuses[0].due, utc(8, 40));
    assert_eq!(statuses[0].state, DeadlineState::Open, "no at-risk margin");
    assert_eq!(
        deadlines(&leak, &rules, utc(8, 40))[0].state,
        DeadlineState::AtRisk,
        "with a zero margin only the due instant itself is at risk"
    );
}

#[test]
fn a_deadline_status_serialises_flat_with_its_state_as_a_tag() {
    let mut leak = order(WorkOrderCategory::Leak);
    leak.milestones.on_site_at = Some(utc(8, 45));
    let json = serde_json::to_string(&judge(&leak, utc(9, 0))).expect("serialises");
    assert_eq!(
        json,
        r#"[{"kind":"on_site","due":"2025-01-10T08:30:00Z","state":"missed","at":"2025-01-10T08:45:00Z"}]"#
    );
    let missed_open: Vec<DeadlineStatus> = serde_json::from_str(
        &serde_json::to_string(&judge(&order(WorkOrderCategory::Leak), utc(9, 0))).expect("ser"),
    )
    .expect("de");
    assert_eq!(missed_open[0].state, DeadlineState::Missed { at: None });
}

// Issue 14: network burst, complaints in working days, the daily-repair variant.

fn beijing(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    use chrono::{FixedOffset, TimeZone};
    FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(y, mo, d, h, mi, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn company() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

use chrono::Offset;

#[test]
fn working_days_skip_the_weekend_in_company_time() {
    use hearth_domain::add_working_days;
    // 2025-01-10 is a Friday.
    let friday_17 = beijing(2025, 1, 10, 17, 0);
    assert_eq!(add_working_days(friday_17, 5, company()), beijing(2025, 1, 17, 17, 0));
    assert_eq!(add_working_days(friday_17, 1, company()), beijing(2025, 1, 13, 17, 0), "Monday");
    let wednesday_10 = beijing(2025, 1, 8, 10, 0);
    assert_eq!(add_working_days(wednesday_10, 5, company()), beijing(2025, 1, 15, 10, 0));
    assert_eq!(add_working_days(wednesday_10, 3, company()), beijing(2025, 1, 13, 10, 0), "over the weekend");
    assert_eq!(add_working_days(wednesday_10, 10, company()), beijing(2025, 1, 22, 10, 0));
    // Received on Saturday: the count starts Monday 00:00, so five working
    // days end with that Friday (Saturday 00:00), as for a Monday 00:00 receipt.
    let saturday = beijing(2025, 1, 11, 15, 30);
    let monday_midnight = beijing(2025, 1, 13, 0, 0);
    assert_eq!(add_working_days(saturday, 5, company()), beijing(2025, 1, 18, 0, 0));
    assert_eq!(add_working_days(monday_midnight, 5, company()), beijing(2025, 1, 18, 0, 0));
    assert_eq!(add_working_days(beijing(2025, 1, 12, 23, 59), 1, company()), beijing(2025, 1, 14, 0, 0));
    // Friday 23:30 company time is Friday 15:30 UTC: the company's calendar decides.
    assert_eq!(add_working_days(beijing(2025, 1, 10, 23, 30), 1, company()), beijing(2025, 1, 13, 23, 30));
    // Absurd inputs saturate instead of panicking.
    assert_eq!(add_working_days(DateTime::<Utc>::MAX_UTC, 5, company()), DateTime::<Utc>::MAX_UTC);
    assert_eq!(add_working_days(friday_17, u32::MAX, company()), DateTime::<Utc>::MAX_UTC);
}

#[test]
fn public_holidays_are_not_working_days_and_worked_weekends_are() {
    use hearth_domain::{WorkCalendar, add_working_days, add_working_days_in};
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2025, m, d).unwrap_or_default();
    // National Day 2025: 1–8 October off; Sunday 28 September and Saturday
    // 11 October worked (调休).
    let national_day = WorkCalendar {
        holidays: (1..=8).map(|d| day(10, d)).collect(),
        working_weekends: vec![day(9, 28), day(10, 11)],
    };
    assert!(national_day.is_working_day(day(9, 28)), "a worked Sunday");
    assert!(!national_day.is_working_day(day(10, 1)), "a holiday on a Wednesday");
    assert!(!national_day.is_working_day(day(10, 4)), "a Saturday inside the holiday");
    // A complaint on Friday 26 September 10:00: the 28th (worked Sunday),
    // 29th, 30th, then 9 October (Thursday), 10 October: five working days.
    let friday = beijing(2025, 9, 26, 10, 0);
    assert_eq!(add_working_days_in(friday, 5, company(), &national_day), beijing(2025, 10, 10, 10, 0));
    assert_eq!(add_working_days(friday, 5, company()), beijing(2025, 10, 3, 10, 0), "without the calendar");
    // Received on a holiday: counted from the next working day's 00:00.
    let holiday = beijing(2025, 10, 2, 15, 0);
    assert_eq!(add_working_days_in(holiday, 1, company(), &national_day), beijing(2025, 10, 10, 0, 0));
}

#[test]
fn the_calendar_is_a_setting_of_the_rule_set() {
    let mut complaint = order(WorkOrderCategory::Complaint);
    complaint.received_at = beijing(2025, 9, 26, 10, 0);
    let mut rules = serde_json::to_value(RuleSet::default()).unwrap_or_default();
    rules["deadlines"]["calendar"] = serde_json::json!({
        "holidays": ["2025-10-01", "2025-10-02", "2025-10-03", "2025-10-06", "2025-10-07", "2025-10-08"],
        "working_weekends": ["2025-09-28", "2025-10-11"]
    });
    let rules = RuleSet::from_json(&rules).unwrap_or_else(|e| panic!("{e}"));
    let statuses = deadlines(&complaint, &rules, beijing(2025, 9, 27, 9, 0));
    assert_eq!(statuses[0].due, beijing(2025, 10, 10, 10, 0));
    let mut typo = serde_json::to_value(RuleSet::default()).unwrap_or_default();
    typo["deadlines"]["calendar"] = serde_json::json!({"holiday": ["2025-10-01"]});
    let err = RuleSet::from_json(&typo).map(|_| ()).unwrap_err();
    assert_eq!(err.field().as_deref(), Some("deadlines.calendar.holiday"), "{err}");
}

#[test]
fn a_complaint_is_answered_within_five_working_days_by_completion() {
    let mut complaint = order(WorkOrderCategory::Complaint);
    complaint.received_at = beijing(2025, 1, 10, 17, 0);
    let due = beijing(2025, 1, 17, 17, 0);
    let statuses = judge(&complaint, beijing(2025, 1, 13, 9, 0));
    assert_eq!(kinds(&statuses), vec![DeadlineKind::ComplaintAnswered]);
    assert_eq!(statuses[0].due, due);
    assert_eq!(statuses[0].state, DeadlineState::Open);
    assert_eq!(
        state_of(&judge(&complaint, beijing(2025, 1, 17, 17, 1)), DeadlineKind::ComplaintAnswered),
        Some(DeadlineState::Missed { at: None })
    );
    complaint.milestones.completed_at = Some(due);
    assert_eq!(
        state_of(&judge(&complaint, beijing(2025, 1, 20, 9, 0)), DeadlineKind::ComplaintAnswered),
        Some(DeadlineState::Met { at: due })
    );
}

#[test]
fn the_complaint_working_days_are_a_setting() {
    let mut complaint = order(WorkOrderCategory::Complaint);
    complaint.received_at = beijing(2025, 1, 10, 17, 0);
    let d = DeadlineRules { complaint_working_days: 3, ..DeadlineRules::default() };
    let rules = RuleSet::new(d, TemperatureRules::default()).unwrap_or_default();
    assert_eq!(rules.deadlines().complaint_working_days, 3);
    let statuses = deadlines(&complaint, &rules, beijing(2025, 1, 13, 9, 0));
    assert_eq!(statuses[0].due, beijing(2025, 1, 15, 17, 0));
    let zero = DeadlineRules { complaint_working_days: 0, ..DeadlineRules::default() };
    assert!(RuleSet::new(zero, TemperatureRules::default()).is_err());
}

#[test]
fn a_network_burst_is_on_site_within_forty_minutes() {
    let burst = order(WorkOrderCategory::NetworkBurst);
    let statuses = judge(&burst, utc(8, 5));
    assert_eq!(kinds(&statuses), vec![DeadlineKind::OnSite]);
    assert_eq!(statuses[0].due, utc(8, 40));
    assert_eq!(
        state_of(&judge(&burst, utc(8, 41)), DeadlineKind::OnSite),
        Some(DeadlineState::Missed { at: None })
    );
    let d = DeadlineRules { network_burst_on_site_minutes: 25, ..DeadlineRules::default() };
    let rules = RuleSet::new(d, TemperatureRules::default()).unwrap_or_default();
    assert_eq!(deadlines(&burst, &rules, utc(8, 5))[0].due, utc(8, 25));
}

/// Source 001's daily repair (on site within 60 min, fixed within 24 h) is
/// the repair settings with other values, not a category of its own.
#[test]
fn the_daily_repair_variant_is_the_repair_settings_at_sixty_minutes_and_a_day() {
    let d = DeadlineRules {
        repair_on_site_minutes: 60,
        repair_fixed_minutes: 24 * 60,
        ..DeadlineRules::default()
    };
    let rules = RuleSet::new(d, TemperatureRules::default()).unwrap_or_default();
    let mut repair = order(WorkOrderCategory::Repair);
    let statuses = deadlines(&repair, &rules, utc(8, 5));
    let due = |kind| statuses.iter().find(|s| s.kind == kind).map(|s| s.due);
    assert_eq!(due(DeadlineKind::OnSite), Some(utc(9, 0)));
    assert_eq!(due(DeadlineKind::Fixed), Some(utc_on(11, 8, 0)));
    repair.milestones.on_site_at = Some(utc(9, 1));
    assert_eq!(
        state_of(&deadlines(&repair, &rules, utc(10, 0)), DeadlineKind::OnSite),
        Some(DeadlineState::Missed { at: Some(utc(9, 1)) }),
        "late by the 60-minute rule although within the default two hours"
    );
}

#[test]
fn acceptance_counts_from_the_latest_dispatch_and_a_reassignment_restarts_it() {
    let mut repair = order(WorkOrderCategory::Repair);
    repair.assign(hearth_domain::TechnicianId::parse("T0017").unwrap_or_else(|e| panic!("{e}")));
    // Received 08:00, never dispatched separately: due 08:30.
    let due =
        |o: &WorkOrder| judge(o, utc(8, 1)).iter().find(|s| s.kind == DeadlineKind::Accepted).map(|s| s.due);
    assert_eq!(due(&repair), Some(utc(8, 30)));
    // Passed on at 09:00 (a reassignment): due 09:30; T0017's acceptance at
    // 08:10 was of the earlier dispatch and meets nothing.
    repair.milestones.dispatched_at = Some(utc(9, 0));
    repair.milestones.accepted_at = Some(utc(8, 10));
    assert_eq!(due(&repair), Some(utc(9, 30)));
    assert_eq!(
        state_of(&judge(&repair, utc(9, 31)), DeadlineKind::Accepted),
        Some(DeadlineState::Missed { at: None })
    );
    // The evidence rule agrees: an earlier acceptance is not the milestone.
    let effective = hearth_domain::effective_milestones(
        &repair.milestones,
        [
            (hearth_domain::Milestone::AcceptedAt, utc(8, 10)),
            (hearth_domain::Milestone::AcceptedAt, utc(9, 12)),
        ],
    );
    assert_eq!(effective.accepted_at, Some(utc(9, 12)), "the new technician's acceptance");
    repair.milestones = effective;
    assert_eq!(
        state_of(&judge(&repair, utc(10, 0)), DeadlineKind::Accepted),
        Some(DeadlineState::Met { at: utc(9, 12) })
    );
}
