//! Follow-up calls (回访) and repeat repairs: the office's rules, pure.
//!
//! - After a repair is completed, customer service calls the customer back
//!   within a window (48 hours, `000…`/`003…`): the order is on the queue
//!   from completion, with the time left until the window closes.
//! - Calls are made only at decent hours: not before 07:00, not after 22:00,
//!   and not at meal times (`000…`); the meal windows are a setting.
//! - The same leak repaired again within a month counts against the service
//!   centre (`001…`): repair and leak orders at one address within the
//!   window are repeat repairs, flagged on the newer order. Temperature
//!   tests, valve and meter jobs are not repairs and never repeat ones.

use chrono::{DateTime, FixedOffset, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::work_order::WorkOrderCategory;

/// A stretch of the day, start inclusive, end exclusive, company-local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DayWindow {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl DayWindow {
    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        self.from <= t && t < self.until
    }
}

/// Why a follow-up setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpRulesError {
    #[error("the repeat-repair window must be at least one day")]
    ZeroWindow,
    #[error("calling hours must start before they end ({from} .. {until})")]
    EmptyCallingHours { from: NaiveTime, until: NaiveTime },
    #[error("a meal window must start before it ends ({from} .. {until})")]
    EmptyMealWindow { from: NaiveTime, until: NaiveTime },
}

impl FollowUpRulesError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::ZeroWindow => "rule_zero_window",
            Self::EmptyCallingHours { .. } => "rule_empty_calling_hours",
            Self::EmptyMealWindow { .. } => "rule_empty_meal_window",
        }
    }
}

/// The office's settings for follow-up calls and repeat repairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct FollowUpRules {
    /// First moment a call may be made (07:00, inclusive).
    pub calls_from: NaiveTime,
    /// Last moment a call may be made (22:00, inclusive).
    pub calls_until: NaiveTime,
    /// No calls at meal times (default 11:30–13:30 and 17:30–19:00).
    pub meal_windows: Vec<DayWindow>,
    /// Repair and leak orders at one address within this many days are repeat repairs (30).
    pub repeat_window_days: u32,
}

impl Default for FollowUpRules {
    fn default() -> Self {
        Self {
            calls_from: DayWindow::at(7, 0),
            calls_until: DayWindow::at(22, 0),
            meal_windows: vec![
                DayWindow { from: DayWindow::at(11, 30), until: DayWindow::at(13, 30) },
                DayWindow { from: DayWindow::at(17, 30), until: DayWindow::at(19, 0) },
            ],
            repeat_window_days: 30,
        }
    }
}

/// Why a call may not be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CallRefusal {
    /// Before 07:00 or after 22:00.
    OutsideCallingHours,
    /// At a meal time.
    MealTime,
}

impl CallRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::OutsideCallingHours => "outside_calling_hours",
            Self::MealTime => "meal_time",
        }
    }
}

/// Where an order stands in the follow-up queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FollowUpDue {
    pub completed_at: DateTime<Utc>,
    /// End of the window: the call is late after this.
    pub due_by: DateTime<Utc>,
    /// Minutes left until `due_by` (negative once late).
    pub minutes_left: i64,
    pub late: bool,
}

impl FollowUpDue {
    /// The call's place in the queue: on it from completion, due within
    /// `window_minutes` (the rule set's `deadlines.follow_up_minutes`).
    pub fn new(completed_at: DateTime<Utc>, window_minutes: u32, now: DateTime<Utc>) -> Self {
        let due_by = completed_at + TimeDelta::minutes(i64::from(window_minutes));
        let minutes_left = due_by.signed_duration_since(now).num_minutes();
        Self { completed_at, due_by, minutes_left, late: now > due_by }
    }
}

impl FollowUpRules {
    pub fn check(&self) -> Result<(), FollowUpRulesError> {
        if self.repeat_window_days == 0 {
            return Err(FollowUpRulesError::ZeroWindow);
        }
        if self.calls_from >= self.calls_until {
            return Err(FollowUpRulesError::EmptyCallingHours {
                from: self.calls_from,
                until: self.calls_until,
            });
        }
        if let Some(w) = self.meal_windows.iter().find(|w| w.from >= w.until) {
            return Err(FollowUpRulesError::EmptyMealWindow { from: w.from, until: w.until });
        }
        Ok(())
    }

    /// Whether a follow-up call may be made at `now` in the company's zone.
    pub fn may_call_at(&self, now: DateTime<Utc>, zone: FixedOffset) -> Result<(), CallRefusal> {
        let local = now.with_timezone(&zone).time();
        if local < self.calls_from || local > self.calls_until {
            return Err(CallRefusal::OutsideCallingHours);
        }
        if self.meal_windows.iter().any(|w| w.contains(local)) {
            return Err(CallRefusal::MealTime);
        }
        Ok(())
    }

    /// Whether an order of this category gets a follow-up call once
    /// completed. A temperature test's answer is its report; a complaint
    /// is answered, not called back: its answer is the completion.
    pub fn gets_call(category: WorkOrderCategory) -> bool {
        use WorkOrderCategory::*;
        matches!(category, Repair | Leak | ValveOpen | ValveClose | MeterCheck | NetworkBurst)
    }

    /// Whether an order of this category is a repair for the repeat rule.
    pub fn counts_as_repair(category: WorkOrderCategory) -> bool {
        matches!(category, WorkOrderCategory::Repair | WorkOrderCategory::Leak)
    }

    /// Whether `later` (received then) repeats `earlier` (received then): both
    /// repairs, the later one within the window of the earlier.
    pub fn repeats(
        &self,
        earlier: (WorkOrderCategory, DateTime<Utc>),
        later: (WorkOrderCategory, DateTime<Utc>),
    ) -> bool {
        let window = TimeDelta::days(i64::from(self.repeat_window_days));
        Self::counts_as_repair(earlier.0)
            && Self::counts_as_repair(later.0)
            && earlier.1 <= later.1
            && later.1.signed_duration_since(earlier.1) <= window
    }
}

/// What the follow-up queue needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpCandidate {
    pub id: String,
    pub category: WorkOrderCategory,
    /// Neither cancelled nor closed by a call that reached the customer.
    pub open: bool,
    /// Effective (bracketed) completion time.
    pub completed_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
}

impl FollowUpCandidate {
    /// Whether the order is waiting for its follow-up call: open, of a
    /// category that gets one, completed, no call recorded. It is on the
    /// queue from completion (with the time left, [`FollowUpDue`]), not
    /// once its window has passed: a queue that starts at the deadline
    /// makes every call late.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.open
            && FollowUpRules::gets_call(self.category)
            && self.follow_up_at.is_none()
            && self.completed_at.is_some_and(|done| done <= now)
    }
}

/// The follow-up queue: the due orders, oldest completion first.
pub fn follow_up_queue(candidates: &[FollowUpCandidate], now: DateTime<Utc>) -> Vec<&FollowUpCandidate> {
    let mut due: Vec<&FollowUpCandidate> = candidates.iter().filter(|c| c.due(now)).collect();
    due.sort_by(|a, b| a.completed_at.cmp(&b.completed_at).then_with(|| a.id.cmp(&b.id)));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
    }

    use chrono::Offset;

    fn local(h: u32, m: u32) -> DateTime<Utc> {
        beijing().with_ymd_and_hms(2026, 12, 4, h, m, 0).single().unwrap_or_default().with_timezone(&Utc)
    }

    #[test]
    fn calls_are_allowed_from_seven_to_twenty_two_outside_meal_times() {
        let rules = FollowUpRules::default();
        let z = beijing();
        assert_eq!(rules.may_call_at(local(6, 59), z), Err(CallRefusal::OutsideCallingHours));
        assert_eq!(rules.may_call_at(local(7, 0), z), Ok(()));
        assert_eq!(rules.may_call_at(local(11, 29), z), Ok(()));
        assert_eq!(rules.may_call_at(local(11, 30), z), Err(CallRefusal::MealTime));
        assert_eq!(rules.may_call_at(local(13, 30), z), Ok(()));
        assert_eq!(rules.may_call_at(local(18, 0), z), Err(CallRefusal::MealTime));
        assert_eq!(rules.may_call_at(local(22, 0), z), Ok(()));
        assert_eq!(rules.may_call_at(local(22, 1), z), Err(CallRefusal::OutsideCallingHours));
        let no_meals = FollowUpRules { meal_windows: vec![], ..FollowUpRules::default() };
        assert_eq!(no_meals.may_call_at(local(12, 0), z), Ok(()));
    }

    #[test]
    fn an_order_is_due_from_completion_with_time_left_and_late_after_the_window() {
        let done = local(10, 0);
        let fresh = FollowUpDue::new(done, 48 * 60, local(10, 0));
        assert_eq!((fresh.minutes_left, fresh.late), (48 * 60, false));
        let late = FollowUpDue::new(done, 48 * 60, done + TimeDelta::hours(49));
        assert_eq!((late.minutes_left, late.late), (-60, true));
    }

    #[test]
    fn only_repairs_and_leaks_within_the_window_repeat() {
        use WorkOrderCategory::*;
        let rules = FollowUpRules::default();
        let t0 = local(9, 0);
        let day = |n| t0 + TimeDelta::days(n);
        assert!(rules.repeats((Leak, t0), (Leak, day(30))));
        assert!(rules.repeats((Repair, t0), (Leak, day(3))), "a leak after a repair at the same home");
        assert!(!rules.repeats((Leak, t0), (Leak, day(31))));
        assert!(!rules.repeats((TemperatureTest, t0), (TemperatureTest, day(1))));
        assert!(!rules.repeats((ValveOpen, t0), (ValveClose, day(1))));
        let week = FollowUpRules { repeat_window_days: 7, ..FollowUpRules::default() };
        assert!(!week.repeats((Leak, t0), (Leak, day(8))));
    }

    fn cand(id: &str, category: WorkOrderCategory, completed: Option<DateTime<Utc>>) -> FollowUpCandidate {
        FollowUpCandidate { id: id.into(), category, open: true, completed_at: completed, follow_up_at: None }
    }

    #[test]
    fn the_queue_holds_orders_that_get_a_call_from_completion_without_a_call_oldest_first() {
        use WorkOrderCategory::*;
        let now = local(20, 0);
        let h = |hours: i64| Some(now - TimeDelta::hours(hours));
        let called = FollowUpCandidate { follow_up_at: Some(now), ..cand("called", Repair, h(60)) };
        let cancelled = FollowUpCandidate { open: false, ..cand("cancelled", Repair, h(60)) };
        let candidates = [
            cand("leak-49h", Leak, h(49)),
            cand("repair-72h", Repair, h(72)),
            cand("repair-47h", Repair, h(47)),
            cand("test-72h", TemperatureTest, h(72)),
            cand("complaint-10h", Complaint, h(10)),
            cand("valve-50h", ValveOpen, h(50)),
            cand("not-done", Repair, None),
            cand("just-done", Repair, h(0)),
            cand("done-later", Repair, Some(now + TimeDelta::minutes(1))),
            called,
            cancelled,
        ];
        let queue: Vec<&str> = follow_up_queue(&candidates, now).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(queue, ["repair-72h", "valve-50h", "leak-49h", "repair-47h", "just-done"]);
    }

    #[test]
    fn settings_are_checked() {
        let r = FollowUpRules { repeat_window_days: 0, ..FollowUpRules::default() };
        assert_eq!(r.check().map_err(|e| e.code()), Err("rule_zero_window"));
        let r = FollowUpRules { calls_from: DayWindow::at(23, 0), ..FollowUpRules::default() };
        assert_eq!(r.check().map_err(|e| e.code()), Err("rule_empty_calling_hours"));
        let r = FollowUpRules {
            meal_windows: vec![DayWindow { from: DayWindow::at(13, 0), until: DayWindow::at(12, 0) }],
            ..FollowUpRules::default()
        };
        assert_eq!(r.check().map_err(|e| e.code()), Err("rule_empty_meal_window"));
        assert_eq!(FollowUpRules::default().check(), Ok(()));
    }
}
