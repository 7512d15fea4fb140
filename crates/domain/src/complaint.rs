//! Complaints (投诉) are answered within working days (`deadline`): how many
//! working days are left to a complaint's due time, for the office's list.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};

use crate::deadline::WorkCalendar;

/// Longest span counted, in calendar days; beyond it the count saturates
/// (a due time decades away is a typo, not a reason to loop).
const MAX_SPAN_DAYS: i64 = 3_660;

/// The company-local date of `t`; the UTC date at the ends of time, where
/// adding the offset would overflow (`with_timezone` panics there).
fn local_date(t: DateTime<Utc>, zone: FixedOffset) -> NaiveDate {
    let naive = t.naive_utc();
    naive.checked_add_signed(TimeDelta::seconds(i64::from(zone.local_minus_utc()))).unwrap_or(naive).date()
}

/// Working days of `calendar` strictly after `now`'s date and up to `due`'s
/// date (company dates in `zone`): 0 when due today (or on the days off just
/// after today), 1 when due the next working day; negative, counted the
/// same way backwards, once `due` has passed on an earlier date. The due
/// time's hour is the caller's to show; this counts whole days only.
pub fn working_days_left(
    now: DateTime<Utc>,
    due: DateTime<Utc>,
    zone: FixedOffset,
    calendar: &WorkCalendar,
) -> i64 {
    // A due time at midnight is the end of the day before (how
    // `add_working_days_in` ends a span that began on a day off).
    let due_end = due.checked_sub_signed(TimeDelta::seconds(1)).unwrap_or(due);
    let (today, due_day) = (local_date(now, zone), local_date(due_end, zone));
    let (from, to, sign) = if due_day >= today { (today, due_day, 1) } else { (due_day, today, -1) };
    let span = (to - from).num_days().min(MAX_SPAN_DAYS);
    let mut count = 0;
    for step in 1..=span {
        if let Some(day) = from.checked_add_signed(TimeDelta::days(step))
            && calendar.is_working_day(day)
        {
            count += 1;
        }
    }
    sign * count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::{COMPANY_UTC_OFFSET_SECONDS, add_working_days_in};

    fn zone() -> FixedOffset {
        FixedOffset::east_opt(COMPANY_UTC_OFFSET_SECONDS).expect("offset")
    }

    /// Company-local time (UTC+8) as UTC.
    fn local(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|day| day.and_hms_opt(h, 0, 0))
            .and_then(|t| t.and_local_timezone(zone()).single())
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_complaint_received_on_monday_has_five_working_days_left_and_none_on_its_due_day() {
        let cal = WorkCalendar::default();
        // Monday 2025-03-03 10:00 + 5 working days = Monday 2025-03-10 10:00.
        let received = local(2025, 3, 3, 10);
        let due = add_working_days_in(received, 5, zone(), &cal);
        assert_eq!(due, local(2025, 3, 10, 10));
        assert_eq!(working_days_left(received, due, zone(), &cal), 5);
        // Friday: Monday is the next working day.
        assert_eq!(working_days_left(local(2025, 3, 7, 9), due, zone(), &cal), 1);
        // The weekend counts nothing.
        assert_eq!(working_days_left(local(2025, 3, 8, 9), due, zone(), &cal), 1);
        assert_eq!(working_days_left(local(2025, 3, 10, 9), due, zone(), &cal), 0);
        // Overdue: Tuesday is one working day late, Monday after next six.
        assert_eq!(working_days_left(local(2025, 3, 11, 9), due, zone(), &cal), -1);
        assert_eq!(working_days_left(local(2025, 3, 17, 9), due, zone(), &cal), -5);
    }

    #[test]
    fn a_complaint_received_on_a_weekend_is_due_at_the_end_of_the_fifth_working_day() {
        let cal = WorkCalendar::default();
        let saturday = local(2025, 3, 8, 10);
        let due = add_working_days_in(saturday, 5, zone(), &cal);
        assert_eq!(due, local(2025, 3, 15, 0), "Saturday 00:00 after Friday ends");
        assert_eq!(working_days_left(saturday, due, zone(), &cal), 5);
        assert_eq!(working_days_left(local(2025, 3, 14, 23), due, zone(), &cal), 0, "due tonight");
    }

    #[test]
    fn public_holidays_are_not_counted_and_worked_weekends_are() {
        // 2025-04-04 (Friday) is 清明, a holiday; Sunday 2025-04-27 is worked.
        let cal = WorkCalendar {
            holidays: vec![NaiveDate::from_ymd_opt(2025, 4, 4).expect("date")],
            working_weekends: vec![NaiveDate::from_ymd_opt(2025, 4, 27).expect("date")],
        };
        let received = local(2025, 4, 2, 9); // Wednesday
        let due = add_working_days_in(received, 5, zone(), &cal);
        // Thu 3, (Fri 4 off), Mon 7, Tue 8, Wed 9, Thu 10: the fifth.
        assert_eq!(due, local(2025, 4, 10, 9));
        assert_eq!(working_days_left(received, due, zone(), &cal), 5);
        let late = local(2025, 4, 25, 9); // Friday
        let due_late = local(2025, 4, 28, 9); // Monday, after the worked Sunday
        assert_eq!(working_days_left(late, due_late, zone(), &cal), 2);
    }

    #[test]
    fn a_stored_rule_set_keeps_its_calendar() {
        let mut stored = serde_json::to_value(crate::RuleSet::default()).expect("json");
        stored["deadlines"]["calendar"] = serde_json::json!({"holidays": ["2025-10-01"]});
        let rules = crate::RuleSet::from_stored(&stored).expect("stored rules");
        assert_eq!(
            rules.deadlines().calendar.holidays,
            vec![NaiveDate::from_ymd_opt(2025, 10, 1).expect("date")]
        );
    }

    #[test]
    fn absurd_spans_saturate_instead_of_looping() {
        let cal = WorkCalendar::default();
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(working_days_left(local(2025, 1, 1, 0), far, zone(), &cal) <= MAX_SPAN_DAYS);
        assert!(working_days_left(far, local(2025, 1, 1, 0), zone(), &cal) >= -MAX_SPAN_DAYS);
    }
}
