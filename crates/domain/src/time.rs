//! Time as Hearth judges it: the company's zone, local dates, milliseconds
//! read without panicking, and the server's bracket of a device's time
//! claim (protocol §8). Pure: "now" is always a parameter.

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use serde::Serialize;

/// The company's local time zone, UTC+08:00 (China Standard Time). Calling
/// hours, local dates of measurements and generated work-order ids use it.
pub const COMPANY_UTC_OFFSET_MINUTES: i32 = 8 * 60;

pub fn company_offset() -> FixedOffset {
    FixedOffset::east_opt(COMPANY_UTC_OFFSET_MINUTES * 60).unwrap_or_else(|| Utc.fix())
}

/// The company-local calendar date of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&company_offset()).date_naive()
}

/// Milliseconds since the epoch as a time, saturating instead of failing
/// (device claims can be absurd).
pub fn ms_to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// A device's time claim placed between what the server knows (protocol §8).
///
/// The rule: `at = min(max(claimed, not_before), received_at)` — the claim,
/// moved no earlier than the receive time of the last receipt the device
/// said it held when sealing (`not_before`, absent when it held none), and
/// never later than the server's own receive time of the record. The claim
/// and both bounds are shown beside `at`; deadlines are judged on `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bracketed {
    /// What the device says.
    pub claimed: DateTime<Utc>,
    /// Receive time of the receipt named by the entry's `last_receipt_seq`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// When the server received the record.
    pub received_at: DateTime<Utc>,
    /// The bracketed time the office judges by.
    pub at: DateTime<Utc>,
    /// True when the claim fell outside the bracket and was moved.
    pub adjusted: bool,
}

pub fn bracket(
    claimed: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
) -> Bracketed {
    let mut at = claimed;
    if let Some(lower) = not_before
        && at < lower
    {
        at = lower;
    }
    if at > received_at {
        at = received_at;
    }
    Bracketed { claimed, not_before, received_at, at, adjusted: at != claimed }
}
