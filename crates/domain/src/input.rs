//! Numbers as a technician types them, turned into the integers records
//! carry (no floats cross into records): °C → hundredths of a degree, yuan →
//! fen, whole numbers (kPa, L/h).
//!
//! One grammar, defined here. What a Chinese IME produces is accepted:
//! full-width digits and signs, `。`/`．` as the decimal point, a comma
//! (European keyboards), a leading point (`.5`), spaces anywhere; a reading
//! may end in its unit (`℃`, `°C`, `°`). The screens have no parser of
//! their own: they ask this one through the app's `parse_numbers` command
//! ([`NumberKind::parse`]).

use serde::{Deserialize, Serialize};

/// Which number a field holds, for the screens' live checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// A temperature: hundredths of a degree.
    Celsius,
    /// A price: fen.
    Yuan,
    /// A whole number (kPa, L/h).
    Whole,
}

impl NumberKind {
    /// The integer the record carries, or `None` for text the grammar refuses.
    pub fn parse(self, text: &str) -> Option<i64> {
        match self {
            Self::Celsius => parse_celsius(text).map(i64::from),
            Self::Yuan => parse_yuan_to_fen(text).map(i64::from),
            Self::Whole => parse_whole(text),
        }
    }
}

/// Full-width digits, signs and points as ASCII; whitespace removed.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '。' | '．' => '.',
            '＋' => '+',
            '－' | '−' => '-',
            other => other,
        })
        .collect()
}

/// A decimal text scaled to `places` decimals: `("17.6", 2)` → 1760. More
/// decimals than `places`, anything but one optional sign, digits and one
/// point, or a value beyond ±(2^53 − 1) is refused.
pub fn parse_scaled(text: &str, places: usize) -> Option<i64> {
    let t = normalise(text);
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (whole, fraction) = match t.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    if fraction.len() > places || (whole.is_empty() && t.is_empty()) {
        return None;
    }
    let scaled = format!("{}{:0<places$}", if whole.is_empty() { "0" } else { whole }, fraction);
    let value: i64 = scaled.parse().ok()?;
    if value > (1 << 53) - 1 {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// "17.6", "-3", "+18.25", "17.6℃", "１７．６" → hundredths of a degree.
pub fn parse_celsius(text: &str) -> Option<i32> {
    let t = text.trim();
    let t = ["℃", "°C", "°c", "°"].iter().find_map(|u| t.strip_suffix(u)).unwrap_or(t);
    i32::try_from(parse_scaled(t, 2)?).ok()
}

/// "12.5" → 1250 fen; negative amounts are refused.
pub fn parse_yuan_to_fen(text: &str) -> Option<u32> {
    u32::try_from(parse_scaled(text, 2)?).ok()
}

/// A whole number ("120", "-3"); a fraction is refused.
pub fn parse_whole(text: &str) -> Option<i64> {
    if normalise(text).contains(['.', ',']) {
        return None;
    }
    parse_scaled(text, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn celsius_as_technicians_type_it() {
        for (text, centi) in [
            ("17.6", 1760),
            ("18", 1800),
            ("-3.5", -350),
            ("０.5", 50),
            ("１７．６", 1760),
            ("16,8", 1680),
            (".5", 50),
            ("17.6℃", 1760),
            ("17.6 °C", 1760),
            ("17°", 1700),
        ] {
            assert_eq!(parse_celsius(text), Some(centi), "{text}");
        }
        for bad in ["", ".", "-", "17.666", "warm", "--1", "1e3", "12.3.4"] {
            assert_eq!(parse_celsius(bad), None, "{bad}");
        }
    }

    #[test]
    fn yuan_and_whole_numbers() {
        assert_eq!(parse_yuan_to_fen("35.5"), Some(3550));
        assert_eq!(parse_yuan_to_fen("0.29"), Some(29));
        assert_eq!(parse_yuan_to_fen("-5"), None);
        assert_eq!(parse_yuan_to_fen("¥12"), None);
        assert_eq!(parse_whole("１２０"), Some(120));
        assert_eq!(parse_whole("－３"), Some(-3));
        assert_eq!(parse_whole("1.5"), None);
    }

    #[test]
    fn each_kind_answers_its_own_grammar() {
        assert_eq!(NumberKind::Celsius.parse(".5"), Some(50));
        assert_eq!(NumberKind::Celsius.parse("17.6℃"), Some(1760));
        assert_eq!(NumberKind::Yuan.parse("-5"), None, "no negative prices");
        assert_eq!(NumberKind::Yuan.parse("4294967295"), None, "beyond u32 fen");
        assert_eq!(NumberKind::Yuan.parse("42949672.95"), Some(4_294_967_295));
        assert_eq!(NumberKind::Whole.parse("１２０"), Some(120));
        assert_eq!(NumberKind::Whole.parse("1.0"), None);
        assert_eq!(NumberKind::Celsius.parse("9007199254740992"), None);
    }
}
