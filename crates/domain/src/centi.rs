//! Temperatures as integer hundredths of a degree Celsius.
//!
//! Records carry no floats (protocol §2), so `1850` means 18.50 °C everywhere:
//! in readings, in the rule set and in reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A temperature in hundredths of a degree Celsius (`1850` = 18.50 °C).
/// Serialises as the bare integer. Any `i32` is representable; whether a value
/// is a plausible reading is for the rule set to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct CentiCelsius(pub i32);

impl CentiCelsius {
    pub const fn new(hundredths: i32) -> Self {
        Self(hundredths)
    }

    pub const fn hundredths(self) -> i32 {
        self.0
    }

    /// The distance between two temperatures, in hundredths, without overflow.
    pub fn abs_diff(self, other: Self) -> u32 {
        self.0.abs_diff(other.0)
    }
}

impl From<i32> for CentiCelsius {
    fn from(value: i32) -> Self {
        Self(value)
    }
}

impl fmt::Display for CentiCelsius {
    /// `18.50 °C`, `-0.05 °C`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02} °C", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::CentiCelsius;

    #[test]
    fn display_shows_two_decimals_and_the_unit() {
        assert_eq!(CentiCelsius(1850).to_string(), "18.50 °C");
        assert_eq!(CentiCelsius(1600).to_string(), "16.00 °C");
        assert_eq!(CentiCelsius(7).to_string(), "0.07 °C");
        assert_eq!(CentiCelsius(-5).to_string(), "-0.05 °C");
        assert_eq!(CentiCelsius(-1000).to_string(), "-10.00 °C");
        assert_eq!(CentiCelsius(i32::MIN).to_string(), "-21474836.48 °C");
    }

    #[test]
    fn it_serialises_as_a_bare_integer() {
        assert_eq!(serde_json::to_string(&CentiCelsius(1850)).ok(), Some("1850".to_owned()));
    }
}
