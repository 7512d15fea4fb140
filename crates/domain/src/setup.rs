//! The administrator's rules: when a revocation takes effect, how a
//! thermometer's calibration stands, and which technician ids would be
//! mistaken for one another.

use chrono::NaiveDate;

use crate::{TechnicianId, Thermometer};

/// Days before `valid_until` from which a thermometer is shown as expiring.
pub const CALIBRATION_WARNING_DAYS: i64 = 30;

/// Why a revocation time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// Revoking from a future time would let the key sign until then.
    #[error("effective_at must not be in the future")]
    InFuture,
    /// Back-dating flags records already accepted: someone must say why.
    #[error("reason: effective_at is in the past; say why (a lost or stolen tablet, a technician who left)")]
    PastWithoutReason,
}

/// When a revocation takes effect: `requested` (Unix ms) or now. A time
/// later than `now + tolerance_ms` is refused; one earlier than
/// `now - tolerance_ms` needs a reason, since records signed after it and
/// already received become flagged.
pub fn revocation_effective_at(
    now_ms: i64,
    requested_ms: Option<i64>,
    reason: Option<&str>,
    tolerance_ms: i64,
) -> Result<i64, RevocationError> {
    let Some(at) = requested_ms else { return Ok(now_ms) };
    if at > now_ms.saturating_add(tolerance_ms) {
        return Err(RevocationError::InFuture);
    }
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    if at < now_ms.saturating_sub(tolerance_ms) && !has_reason {
        return Err(RevocationError::PastWithoutReason);
    }
    Ok(at.min(now_ms))
}

/// A thermometer's calibration on a given (company-local) day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationState {
    Valid,
    /// Valid, but for [`CALIBRATION_WARNING_DAYS`] or fewer more days.
    Expiring,
    /// Past `valid_until`: readings taken with it are refused.
    Expired,
}

/// The calibration state on `today` and the days left (negative once expired;
/// 0 on the last valid day).
pub fn calibration_state(thermometer: &Thermometer, today: NaiveDate) -> (CalibrationState, i64) {
    let days_left = (thermometer.valid_until - today).num_days();
    let state = if thermometer.check_calibration(today).is_err() {
        CalibrationState::Expired
    } else if days_left <= CALIBRATION_WARNING_DAYS {
        CalibrationState::Expiring
    } else {
        CalibrationState::Valid
    };
    (state, days_left)
}

/// An existing id that `new` would be confused with: the same letters in
/// another case ("t0017" beside "T0017"). Ids are matched exactly, on the
/// tablet as on the server, so such a pair would be two technicians.
pub fn technician_id_clash<'a>(
    new: &TechnicianId,
    existing: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    existing.into_iter().find(|e| *e != new.as_str() && same_person(e, new.as_str()))
}

/// Two spellings the office treats as one technician: the same letters in any case.
fn same_person(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The technician id someone typed, as the office spells it: trimmed, and
/// the registered id it matches in any case (the rule of
/// [`technician_id_clash`], which keeps the office from registering two such
/// ids); an id the list does not know is upper-cased, as the office writes
/// them ("t0017 " → "T0017").
pub fn technician_id_as_typed<'a>(
    typed: &str,
    registered: impl IntoIterator<Item = &'a str>,
) -> Result<TechnicianId, crate::ValueError> {
    let typed = TechnicianId::parse(typed.trim())?;
    let spelled = registered.into_iter().find(|r| same_person(r, typed.as_str()));
    match spelled {
        Some(registered) => TechnicianId::parse(registered),
        None => TechnicianId::parse(&typed.as_str().to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn revocation_defaults_to_now_refuses_the_future_and_needs_a_reason_for_the_past() {
        let now = 1_000 * MIN;
        assert_eq!(revocation_effective_at(now, None, None, 10 * MIN), Ok(now));
        assert_eq!(revocation_effective_at(now, Some(now + 5 * MIN), None, 10 * MIN), Ok(now));
        assert_eq!(
            revocation_effective_at(now, Some(now + 11 * MIN), None, 10 * MIN),
            Err(RevocationError::InFuture)
        );
        assert_eq!(
            revocation_effective_at(now, Some(now - 60 * MIN), None, 10 * MIN),
            Err(RevocationError::PastWithoutReason)
        );
        assert_eq!(
            revocation_effective_at(now, Some(now - 60 * MIN), Some("  "), 10 * MIN),
            Err(RevocationError::PastWithoutReason)
        );
        assert_eq!(
            revocation_effective_at(now, Some(now - 60 * MIN), Some("lost"), 10 * MIN),
            Ok(now - 60 * MIN)
        );
        assert_eq!(revocation_effective_at(now, Some(now - 5 * MIN), None, 10 * MIN), Ok(now - 5 * MIN));
    }

    fn thermometer(valid_until: &str) -> Thermometer {
        let date = NaiveDate::parse_from_str(valid_until, "%Y-%m-%d").unwrap();
        Thermometer::new("TH-1", "JD-1", date).unwrap()
    }

    #[test]
    fn calibration_is_expiring_within_30_days_and_expired_after_the_last_valid_day() {
        let today = NaiveDate::from_ymd_opt(2025, 1, 10).unwrap();
        assert_eq!(calibration_state(&thermometer("2025-03-01"), today), (CalibrationState::Valid, 50));
        assert_eq!(calibration_state(&thermometer("2025-02-09"), today), (CalibrationState::Expiring, 30));
        assert_eq!(calibration_state(&thermometer("2025-01-10"), today), (CalibrationState::Expiring, 0));
        assert_eq!(calibration_state(&thermometer("2025-01-09"), today), (CalibrationState::Expired, -1));
    }

    #[test]
    fn a_typed_id_is_trimmed_and_spelled_as_the_office_registered_it() {
        let registered = ["T0017", "tech-a"];
        let id = |typed: &str| technician_id_as_typed(typed, registered).map(|t| t.as_str().to_owned());
        assert_eq!(id(" t0017 "), Ok("T0017".into()));
        assert_eq!(id("TECH-A"), Ok("tech-a".into()), "the registered spelling wins, whatever its case");
        assert_eq!(id("t0099"), Ok("T0099".into()), "an id not (yet) known is upper-cased");
        assert_eq!(id("  "), Err(crate::ValueError::InvalidId));
        assert_eq!(id("t 17"), Err(crate::ValueError::InvalidId));
    }

    #[test]
    fn an_id_differing_only_in_case_clashes() {
        let new = TechnicianId::parse("t0017").unwrap();
        assert_eq!(technician_id_clash(&new, ["T0001", "T0017"]), Some("T0017"));
        assert_eq!(technician_id_clash(&new, ["T0001", "t0017"]), None);
        assert_eq!(technician_id_clash(&new, ["T0018"]), None);
    }
}
