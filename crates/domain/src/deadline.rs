//! Deadlines of a work order, judged at a given moment.
//!
//! Which deadlines apply depends on the order's category:
//!
//! | category | deadlines (from receipt) |
//! | --- | --- |
//! | leak | on site |
//! | repair, valve open/close, meter check | contact, on site, fixed |
//! | temperature test | testers on site |
//! | network burst | on site |
//! | complaint | answered, counted in working days (Monday–Friday less public holidays plus worked weekends, company time) |
//!
//! and for every category:
//!
//! - **follow-up call**, once the order is completed: due a fixed time after
//!   completion (the regulations say "within 48 hours"); a call any time up
//!   to then meets it.
//! - **late notice**, when the order has an appointment and the technician is
//!   late: due `late_notice_minutes` before the appointment starts. The
//!   technician counts as late when they declared it (`running_late`), when a
//!   late notice was recorded, when they arrived after the appointment window
//!   closed, or when the window has closed and nobody has arrived yet. An
//!   appointment made less than the notice period ahead therefore cannot be
//!   met once the technician is late — the rule is applied as written.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Offset, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::rules::RuleSet;
use crate::work_order::{Appointment, Milestones, WorkOrder, WorkOrderCategory};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The technician accepts the order dispatch passed on (接单).
    Accepted,
    /// Contact the customer.
    Contact,
    /// A technician at the home.
    OnSite,
    /// The fault fixed / the job completed.
    Fixed,
    /// Both temperature testers at the home.
    TestersOnSite,
    /// A complaint answered (the order completed), in working days.
    ComplaintAnswered,
    /// Tell the customer the technician will be late.
    LateNotice,
    /// Customer service's follow-up call (回访).
    FollowUpCall,
}

/// Where a deadline stands. A milestone reached exactly at the due time meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeadlineState {
    /// Reached in time, at `at`.
    Met { at: DateTime<Utc> },
    /// Not reached, and more time is left than the at-risk margin.
    Open,
    /// Not reached, still possible, within the at-risk margin.
    AtRisk,
    /// Reached late (`at` says when), or not reached and the due time has
    /// passed (`at` absent).
    Missed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeadlineStatus {
    pub kind: DeadlineKind,
    pub due: DateTime<Utc>,
    /// Flattened: `{"kind": "on_site", "due": …, "state": "met", "at": …}`.
    #[serde(flatten)]
    pub state: DeadlineState,
}

/// Every deadline that applies to `order`, judged at `now`, in the order
/// accepted (when assigned), contact, on site, fixed, testers on site, complaint answered, late notice,
/// follow-up call.
pub fn deadlines(order: &WorkOrder, rules: &RuleSet, now: DateTime<Utc>) -> Vec<DeadlineStatus> {
    let d = rules.deadlines();
    let m = &order.milestones;
    let received = order.received_at;
    let judge = Judge { now, at_risk_percent: d.at_risk_percent };
    let from_receipt =
        |kind, minutes, reached| judge.status(kind, received, add_minutes(received, minutes), reached);

    let mut out = Vec::new();
    // An order passed on to technicians is accepted within the setting.
    if !order.assigned_technicians.is_empty() {
        // From the latest dispatch (派单), or receipt; an acceptance of an
        // earlier dispatch (another technician's) does not meet it.
        let dispatched = m.dispatched_at.unwrap_or(received);
        let accepted = m.accepted_at.filter(|at| m.counts(crate::evidence::Milestone::AcceptedAt, *at));
        let due = add_minutes(dispatched, d.dispatch_accept_minutes);
        out.push(judge.status(DeadlineKind::Accepted, dispatched, due, accepted));
    }
    match order.category {
        WorkOrderCategory::Leak => {
            out.push(from_receipt(DeadlineKind::OnSite, d.leak_on_site_minutes, m.on_site_at));
        }
        WorkOrderCategory::NetworkBurst => {
            out.push(from_receipt(DeadlineKind::OnSite, d.network_burst_on_site_minutes, m.on_site_at));
        }
        WorkOrderCategory::Complaint => {
            let due = add_working_days_in(received, d.complaint_working_days, company_offset(), &d.calendar);
            out.push(judge.status(DeadlineKind::ComplaintAnswered, received, due, m.completed_at));
        }
        WorkOrderCategory::TemperatureTest => {
            out.push(from_receipt(DeadlineKind::TestersOnSite, d.testers_on_site_minutes, m.on_site_at));
        }
        WorkOrderCategory::Repair
        | WorkOrderCategory::ValveOpen
        | WorkOrderCategory::ValveClose
        | WorkOrderCategory::MeterCheck => {
            out.push(from_receipt(DeadlineKind::Contact, d.repair_contact_minutes, m.contacted_at));
            out.push(from_receipt(DeadlineKind::OnSite, d.repair_on_site_minutes, m.on_site_at));
            out.push(from_receipt(DeadlineKind::Fixed, d.repair_fixed_minutes, m.completed_at));
        }
    }

    if let Some(appointment) = order.appointment
        && is_late(m, &appointment, now)
    {
        let due = sub_minutes(appointment.start(), d.late_notice_minutes);
        out.push(judge.status(DeadlineKind::LateNotice, received, due, m.late_notice_at));
    }

    if let Some(completed) = m.completed_at {
        out.push(judge.status(
            DeadlineKind::FollowUpCall,
            completed,
            add_minutes(completed, d.follow_up_minutes),
            m.follow_up_at,
        ));
    }
    out
}

/// Whether the technician is (or was) late for the appointment; see the module doc.
fn is_late(m: &Milestones, appointment: &Appointment, now: DateTime<Utc>) -> bool {
    let arrived_late_or_not_yet = match m.on_site_at {
        Some(arrived) => arrived > appointment.end(),
        None => now > appointment.end(),
    };
    m.running_late || m.late_notice_at.is_some() || arrived_late_or_not_yet
}

struct Judge {
    now: DateTime<Utc>,
    at_risk_percent: u8,
}

impl Judge {
    /// `start` is where the deadline's span begins (for the at-risk margin).
    fn status(
        &self,
        kind: DeadlineKind,
        start: DateTime<Utc>,
        due: DateTime<Utc>,
        reached: Option<DateTime<Utc>>,
    ) -> DeadlineStatus {
        let state = match reached {
            Some(at) if at <= due => DeadlineState::Met { at },
            Some(at) => DeadlineState::Missed { at: Some(at) },
            None if self.now > due => DeadlineState::Missed { at: None },
            None if self.within_margin(start, due) => DeadlineState::AtRisk,
            None => DeadlineState::Open,
        };
        DeadlineStatus { kind, due, state }
    }

    fn within_margin(&self, start: DateTime<Utc>, due: DateTime<Utc>) -> bool {
        let span = (due - start).num_seconds().max(0);
        let left = (due - self.now).num_seconds();
        // Integer form of `left / span <= percent / 100`.
        left.saturating_mul(100) <= span.saturating_mul(i64::from(self.at_risk_percent))
    }
}

/// The company's time zone, UTC+08:00: working days are its calendar days.
pub const COMPANY_UTC_OFFSET_SECONDS: i32 = 8 * 3600;

fn company_offset() -> FixedOffset {
    FixedOffset::east_opt(COMPANY_UTC_OFFSET_SECONDS).unwrap_or_else(|| Utc.fix())
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The company's working days: Monday to Friday, except its public
/// holidays (法定节假日), plus the weekend days it works instead (调休).
/// Both lists are settings (`deadlines.calendar`), published each year.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkCalendar {
    /// Weekdays off: no working day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<NaiveDate>,
    /// Weekend days worked: a working day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub working_weekends: Vec<NaiveDate>,
}

impl WorkCalendar {
    pub fn is_empty(&self) -> bool {
        self.holidays.is_empty() && self.working_weekends.is_empty()
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        !is_weekend(date) || self.working_weekends.contains(&date)
    }
}

/// More working days than this (a century) saturate: no deadline is that far.
const MAX_WORKING_DAYS: u32 = 36_500;

/// `from` plus `days` working days (Monday to Friday, calendar days in
/// `zone`, no public holidays). See [`add_working_days_in`].
pub fn add_working_days(from: DateTime<Utc>, days: u32, zone: FixedOffset) -> DateTime<Utc> {
    add_working_days_in(from, days, zone, &WorkCalendar::default())
}

/// `from` plus `days` working days of `calendar` (calendar days in `zone`).
/// Only working time counts: Friday 17:00 plus 5 working days is the next
/// Friday 17:00, a time received on a day off counts from the next working
/// day's 00:00, so it is due at the end of the fifth working day.
/// Saturating, like the other deadlines.
pub fn add_working_days_in(
    from: DateTime<Utc>,
    days: u32,
    zone: FixedOffset,
    calendar: &WorkCalendar,
) -> DateTime<Utc> {
    if days > MAX_WORKING_DAYS {
        return DateTime::<Utc>::MAX_UTC;
    }
    let Some(local) =
        from.naive_utc().checked_add_signed(TimeDelta::seconds(i64::from(zone.local_minus_utc())))
    else {
        return DateTime::<Utc>::MAX_UTC;
    };
    let (mut date, mut time) = (local.date(), local.time());
    while !calendar.is_working_day(date) {
        date = match date.succ_opt() {
            Some(d) => d,
            None => return DateTime::<Utc>::MAX_UTC,
        };
        time = NaiveTime::MIN;
    }
    let mut left = days;
    while left > 0 {
        date = match date.succ_opt() {
            Some(d) => d,
            None => return DateTime::<Utc>::MAX_UTC,
        };
        if calendar.is_working_day(date) {
            left -= 1;
        }
    }
    // Midnight on a working day is the end of the working day before it:
    // Monday 00:00 is reached as Saturday 00:00, not after the days off.
    if time == NaiveTime::MIN && days > 0 {
        while let Some(prev) = date.pred_opt().filter(|p| !calendar.is_working_day(*p)) {
            date = prev;
        }
    }
    date.and_time(time)
        .and_local_timezone(zone)
        .single()
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.with_timezone(&Utc))
}

// Saturating, so that absurd dates from a device cannot panic the judge.
fn add_minutes(t: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    t.checked_add_signed(TimeDelta::minutes(i64::from(minutes))).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn sub_minutes(t: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    t.checked_sub_signed(TimeDelta::minutes(i64::from(minutes))).unwrap_or(DateTime::<Utc>::MIN_UTC)
}
