//! What the office sends, and its validation. Request types hold raw text
//! so that each refusal can name its field: `400 bad_field` with a message
//! that starts with the field's name and never repeats the value (it may be
//! a customer's name or phone).
//!
//! Text rules: trimmed; Chinese and any other printable text welcome;
//! control characters refused (a line break is allowed only in the
//! multi-line fields: fault description, cancel reason, call note), as are
//! the bidirectional-override characters that make text display other than
//! it reads; each field has a maximum length in characters.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hearth_domain::{Priority, WorkOrderCategory};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub const MAX_NAME: usize = 50;
pub const MAX_ADDRESS_PART: usize = 64;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_SHORT_TEXT: usize = 100;
pub const MAX_REASON: usize = 500;
pub const MAX_NOTE: usize = 1000;
pub const MAX_ID: usize = 64;
pub const MAX_TECHNICIANS: usize = 20;

pub fn bad_field(field: &str, problem: &str) -> ApiError {
    ApiError::bad_request("bad_field", format!("{field}: {problem}"))
}

/// Reads a request body already parsed as JSON into `T`; a body of the
/// wrong shape is `400 bad_json` (serde names missing and unknown fields).
pub fn from_json<T: DeserializeOwned>(value: Value) -> ApiResult<T> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("bad_json", format!("the body does not fit: {e}")))
}

fn refused_char(c: char, multiline: bool) -> bool {
    let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    (c.is_control() && !(multiline && c == '\n')) || bidi
}

/// Required text: trimmed, 1 to `max` characters.
pub fn text(field: &str, value: &str, max: usize, multiline: bool) -> ApiResult<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(bad_field(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(bad_field(field, &format!("must be at most {max} characters")));
    }
    if t.chars().any(|c| refused_char(c, multiline)) {
        return Err(bad_field(field, "must not contain control characters"));
    }
    Ok(t.to_owned())
}

/// Optional text: absent or blank is `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
) -> ApiResult<Option<String>> {
    match value {
        Some(v) if !v.trim().is_empty() => text(field, v, max, multiline).map(Some),
        _ => Ok(None),
    }
}

/// An identifier: 1 to 64 characters, no whitespace or control characters.
pub fn identifier(field: &str, value: &str) -> ApiResult<String> {
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_ID
        && !value.chars().any(|c| c.is_whitespace() || refused_char(c, false));
    if ok { Ok(value.to_owned()) } else { Err(bad_field(field, "must be 1 to 64 characters without spaces")) }
}

/// The earliest and latest instants the office may name (anything outside
/// is a typo, not a date).
fn plausible(t: DateTime<Utc>) -> bool {
    let low = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    let high = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single();
    low.is_some_and(|l| t >= l) && high.is_some_and(|h| t < h)
}

/// An RFC 3339 instant with its offset, e.g. `2025-01-10T09:00:00+08:00`.
pub fn instant(field: &str, value: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| plausible(*t))
        .ok_or_else(|| bad_field(field, "must be an RFC 3339 time with offset between 2000 and 2100"))
}

pub fn date(field: &str, value: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| bad_field(field, "must be a date YYYY-MM-DD between 2000 and 2100"))
}

fn variant<T: DeserializeOwned>(field: &str, value: &str, allowed: &str) -> ApiResult<T> {
    serde_json::from_value(Value::String(value.trim().to_owned()))
        .map_err(|_| bad_field(field, &format!("must be one of {allowed}")))
}

pub const CATEGORIES: &str =
    "repair, leak, temperature_test, valve_open, valve_close, meter_check, complaint, network_burst";

pub fn category(field: &str, value: &str) -> ApiResult<WorkOrderCategory> {
    variant(field, value, CATEGORIES)
}

pub fn priority(field: &str, value: &str) -> ApiResult<Priority> {
    variant(field, value, "normal, urgent")
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub community: String,
    pub building: String,
    pub unit: String,
    pub room: String,
}

/// The customer's name and phone are private: `Debug` leaves them out.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub name: String,
    pub phone: String,
    pub address: AddressInput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentInput {
    pub start: String,
    pub end: String,
}

/// `POST /v1/office/work-orders`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkOrder {
    /// Given by another system, or generated as `WO-YYYYMMDD-NNNN`.
    #[serde(default)]
    pub id: Option<String>,
    pub category: String,
    /// `normal` (default) or `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    pub customer: CustomerInput,
    #[serde(default)]
    pub fault_description: Option<String>,
    #[serde(default)]
    pub equipment_type: Option<String>,
    #[serde(default)]
    pub appointment: Option<AppointmentInput>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub received_at: Option<String>,
    /// Technician ids, each already registered.
    #[serde(default)]
    pub technicians: Vec<String>,
}

impl std::fmt::Debug for NewWorkOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWorkOrder")
            .field("id", &self.id)
            .field("category", &self.category)
            .field("technicians", &self.technicians)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CustomerInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerInput(<redacted>)")
    }
}

impl std::fmt::Debug for AddressInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressInput").field("community", &self.community).finish_non_exhaustive()
    }
}

/// `POST …/assign`: the full new list of technicians (empty unassigns).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub technicians: Vec<String>,
    pub expected_rev: u64,
}

/// `POST …/reschedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleInput {
    pub appointment: AppointmentInput,
    pub expected_rev: u64,
}

/// `POST …/cancel`.
/// `POST …/confirm`: dispatch confirms an order opened on site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    pub expected_rev: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub reason: String,
    pub expected_rev: u64,
}

/// `POST …/milestones`: what dispatch learnt by phone; given fields are set,
/// absent ones left as they are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestonesInput {
    #[serde(default)]
    pub contacted_at: Option<String>,
    #[serde(default)]
    pub on_site_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    #[serde(default)]
    pub late_notice_at: Option<String>,
    #[serde(default)]
    pub running_late: Option<bool>,
    /// Why a milestone is set at a time already past (what the phone said):
    /// required then, so nothing is back-dated silently.
    #[serde(default)]
    pub reason: Option<String>,
    pub expected_rev: u64,
}

/// `POST …/follow-up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// `satisfied`, `unsatisfied` or `unreachable`.
    pub outcome: String,
    #[serde(default)]
    pub note: Option<String>,
    pub expected_rev: u64,
}

/// `POST /v1/office/technicians`. Without `expected_rev` the technician
/// must be new; with it, an existing one is updated.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechnicianInput {
    pub tech_id: String,
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub expected_rev: Option<u64>,
}

impl std::fmt::Debug for TechnicianInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TechnicianInput").field("tech_id", &self.tech_id).finish_non_exhaustive()
    }
}

/// `POST /v1/office/thermometers`: a certified thermometer (计量检定).
/// Without `expected_rev` it must be new; with it (recalibration), updated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermometerInput {
    pub serial: String,
    #[serde(alias = "certificate_no")]
    pub certificate: String,
    /// The last valid day, `YYYY-MM-DD`.
    pub valid_until: String,
    #[serde(default)]
    pub expected_rev: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_sql_text_pass_and_control_characters_do_not() {
        assert_eq!(
            text("f", " 暖气不热'; DROP TABLE x;-- ", 100, false).ok(),
            Some("暖气不热'; DROP TABLE x;--".into())
        );
        assert!(text("f", "a\u{0}b", 100, false).is_err());
        assert!(text("f", "a\nb", 100, false).is_err());
        assert!(text("f", "a\nb", 100, true).is_ok());
        assert!(text("f", "a\rb", 100, true).is_err());
        assert!(text("f", "evil\u{202E}txt", 100, true).is_err());
        assert!(text("f", &"长".repeat(101), 100, false).is_err());
        assert!(text("f", &"长".repeat(100), 100, false).is_ok());
        assert!(text("f", "   ", 100, false).is_err());
    }

    #[test]
    fn refusals_name_the_field_and_not_the_value() {
        let e = text("customer.name", "张\u{7}三", 50, false).err().map(|e| e.message).unwrap_or_default();
        assert!(e.starts_with("customer.name"), "{e}");
        assert!(!e.contains('张'), "{e}");
    }

    #[test]
    fn times_need_an_offset_and_a_plausible_year() {
        assert!(instant("t", "2025-01-10T09:00:00+08:00").is_ok());
        assert!(instant("t", "2025-01-10T09:00:00").is_err());
        assert!(instant("t", "1970-01-01T00:00:00Z").is_err());
        assert!(instant("t", "9999-01-01T00:00:00Z").is_err());
        assert!(date("d", "2026-03-31").is_ok());
        assert!(date("d", "31/03/2026").is_err());
    }

    #[test]
    fn categories_are_the_domain_names() {
        assert_eq!(category("c", "leak").ok(), Some(WorkOrderCategory::Leak));
        assert_eq!(category("c", "complaint").ok(), Some(WorkOrderCategory::Complaint));
        assert_eq!(category("c", "network_burst").ok(), Some(WorkOrderCategory::NetworkBurst));
        let listed = CATEGORIES.split(", ").filter(|c| category("c", c).is_ok()).count();
        assert_eq!(listed, CATEGORIES.split(", ").count(), "every listed category parses");
        assert!(category("c", "Leak").is_err());
    }
}
