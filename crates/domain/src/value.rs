//! Small validated values shared by the rest of the crate: identifiers, text
//! that must not be empty, phone numbers, SHA-256 references.
//!
//! Each type can only hold a valid value: construction goes through
//! `parse`/`TryFrom`, and deserialisation goes through the same check.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a single value was refused.
///
/// Messages never repeat the refused input: it may be a customer's name or
/// phone, which must not reach logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("text must not be empty")]
    Empty,
    #[error("an identifier must be 1 to 64 characters without spaces or control characters")]
    InvalidId,
    #[error("a phone number must have 7 to 15 digits, optionally a leading '+' and '-' or space separators")]
    InvalidPhone,
    #[error("expected a SHA-256 digest as 64 lowercase hexadecimal characters")]
    InvalidSha256,
    #[error("satisfaction must be 1 to 5, got {0}")]
    SatisfactionOutOfRange(u8),
}

impl ValueError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_text",
            Self::InvalidId => "invalid_id",
            Self::InvalidPhone => "invalid_phone",
            Self::InvalidSha256 => "invalid_sha256",
            Self::SatisfactionOutOfRange(_) => "satisfaction_out_of_range",
        }
    }
}

/// Free text that is not empty after trimming. Stored trimmed, so the value
/// that is signed is the value that was checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct NonEmptyText(String);

impl NonEmptyText {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ValueError::Empty);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NonEmptyText {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NonEmptyText> for String {
    fn from(value: NonEmptyText) -> Self {
        value.0
    }
}

impl fmt::Display for NonEmptyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest identifier accepted; company systems use short codes.
const MAX_ID_LEN: usize = 64;

fn check_id(text: &str) -> Result<String, ValueError> {
    let ok = !text.is_empty()
        && text.chars().count() <= MAX_ID_LEN
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(text.to_owned()) } else { Err(ValueError::InvalidId) }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Accepts 1 to 64 characters without whitespace or control
            /// characters; identifiers come from other systems, so nothing
            /// stricter is assumed.
            pub fn parse(text: &str) -> Result<Self, ValueError> {
                check_id(text).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The work order's identifier as issued by customer service.
    WorkOrderId
);
id_type!(
    /// A technician's identifier, e.g. `T0017`.
    TechnicianId
);
id_type!(
    /// Identifies one temperature test, so its readings can be told apart from
    /// another test's (a home may be measured again after a repair).
    TestId
);

/// A reference to a file (photo, signature image, strokes) by the SHA-256 of
/// its bytes: exactly 64 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        // Uppercase is refused rather than folded: the protocol hashes exact
        // bytes, so there must be one spelling of each digest.
        let ok = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok { Ok(Self(text.to_owned())) } else { Err(ValueError::InvalidSha256) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sha256Hex> for String {
    fn from(value: Sha256Hex) -> Self {
        value.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's name. Private data: `Debug` never shows it and there is no
/// `Display`, so it cannot slip into a log line by accident.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct CustomerName(NonEmptyText);

impl CustomerName {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        NonEmptyText::parse(text).map(Self)
    }

    /// The name, for the screens and records that need it. Never log it.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomerName(<redacted>)")
    }
}

impl TryFrom<String> for CustomerName {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerName> for String {
    fn from(value: CustomerName) -> Self {
        value.0.into()
    }
}

/// A phone number: a leading `+` at most, digits, and `-` or space as
/// separators, 7 to 15 digits (a local landline up to the E.164 maximum).
/// Private data, redacted from `Debug` like [`CustomerName`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "string"))]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let trimmed = text.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let chars_ok = body.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        let digits = body.chars().filter(char::is_ascii_digit).count();
        // A separator must sit between digits, never at either end.
        let ends_ok =
            body.starts_with(|c: char| c.is_ascii_digit()) && body.ends_with(|c: char| c.is_ascii_digit());
        if chars_ok && ends_ok && (7..=15).contains(&digits) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(ValueError::InvalidPhone)
        }
    }

    /// The number, for the screens and records that need it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

impl TryFrom<String> for Phone {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_stored_trimmed_and_blank_text_is_refused() {
        assert_eq!(NonEmptyText::parse("  漏水 ").map(|t| t.0), Ok("漏水".into()));
        assert_eq!(NonEmptyText::parse(" \n\t"), Err(ValueError::Empty));
    }

    #[test]
    fn identifiers_refuse_spaces_and_overlong_values() {
        assert!(WorkOrderId::parse("WO-2024-0001").is_ok());
        assert_eq!(WorkOrderId::parse(""), Err(ValueError::InvalidId));
        assert_eq!(WorkOrderId::parse("WO 1"), Err(ValueError::InvalidId));
        assert_eq!(TechnicianId::parse(&"x".repeat(65)), Err(ValueError::InvalidId));
        assert!(TechnicianId::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn sha256_must_be_64_lowercase_hex_characters() {
        assert!(Sha256Hex::parse(&"ab".repeat(32)).is_ok());
        assert_eq!(Sha256Hex::parse(&"AB".repeat(32)), Err(ValueError::InvalidSha256));
        assert_eq!(Sha256Hex::parse(&"a".repeat(63)), Err(ValueError::InvalidSha256));
        assert_eq!(Sha256Hex::parse(&"g".repeat(64)), Err(ValueError::InvalidSha256));
    }

    #[test]
    fn plausible_phone_numbers_are_accepted_and_others_refused() {
        for ok in ["13800138000", "+86 138-0013-8000", "0351-1234567", "1234567"] {
            assert!(Phone::parse(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in ["", "123456", "138001380001234567", "138O0138000", "-13800138000", "+", "++8613800138000"]
        {
            assert_eq!(Phone::parse(bad), Err(ValueError::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn names_and_phones_are_redacted_from_debug_output() {
        let name = CustomerName::parse("张三").map(|n| format!("{n:?}"));
        let phone = Phone::parse("13800138000").map(|p| format!("{p:?}"));
        assert_eq!(name, Ok("CustomerName(<redacted>)".into()));
        assert_eq!(phone, Ok("Phone(<redacted>)".into()));
    }
}
