//! Who must sign: the customer's sign-off (or refusal) and the technicians'
//! co-signature.
//!
//! The cryptography lives in `hearth-protocol`; this module only says which
//! signatures a record needs and whether a given set is complete.

use serde::{Deserialize, Serialize};

use crate::value::{NonEmptyText, Sha256Hex, TechnicianId, ValueError};

/// The customer's rating of the service, 1 (worst) to 5 (best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(type = "number"))]
#[serde(try_from = "u8", into = "u8")]
pub struct Satisfaction(u8);

impl Satisfaction {
    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Satisfaction {
    type Error = ValueError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        if (1..=5).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValueError::SatisfactionOutOfRange(value))
        }
    }
}

impl From<Satisfaction> for u8 {
    fn from(value: Satisfaction) -> Self {
        value.0
    }
}

/// Why a sign-off could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignoffError {
    #[error("invalid {field}: {source}")]
    InvalidField { field: &'static str, source: ValueError },
}

impl SignoffError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { .. } => "invalid_signoff_field",
        }
    }
}

fn field<T>(name: &'static str, result: Result<T, ValueError>) -> Result<T, SignoffError> {
    result.map_err(|source| SignoffError::InvalidField { field: name, source })
}

/// The customer's answer to what they were shown: a signature, or a refusal.
///
/// A refusal is a valid, complete outcome (the testers must not argue; the
/// refusal is what gets recorded), not an error. Both variants keep the exact
/// text shown, because that is what the customer signed or refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CustomerSignoff {
    Signed {
        /// The signature image (PNG) by its SHA-256.
        signature_png_sha256: Sha256Hex,
        /// The pen strokes behind the image, by their SHA-256.
        strokes_sha256: Sha256Hex,
        summary_shown: NonEmptyText,
        satisfaction: Satisfaction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<NonEmptyText>,
    },
    Refused {
        reason: NonEmptyText,
        summary_shown: NonEmptyText,
    },
}

impl CustomerSignoff {
    /// A signature. A blank comment is recorded as no comment.
    pub fn signed(
        signature_png_sha256: &str,
        strokes_sha256: &str,
        summary_shown: &str,
        satisfaction: u8,
        comment: Option<&str>,
    ) -> Result<Self, SignoffError> {
        Ok(Self::Signed {
            signature_png_sha256: field("signature_png_sha256", Sha256Hex::parse(signature_png_sha256))?,
            strokes_sha256: field("strokes_sha256", Sha256Hex::parse(strokes_sha256))?,
            summary_shown: field("summary_shown", NonEmptyText::parse(summary_shown))?,
            satisfaction: field("satisfaction", Satisfaction::try_from(satisfaction))?,
            comment: comment.and_then(|c| NonEmptyText::parse(c).ok()),
        })
    }

    /// A refusal to sign, with the reason the customer gave (or the testers
    /// observed) and the text they were shown.
    pub fn refused(reason: &str, summary_shown: &str) -> Result<Self, SignoffError> {
        Ok(Self::Refused {
            reason: field("reason", NonEmptyText::parse(reason))?,
            summary_shown: field("summary_shown", NonEmptyText::parse(summary_shown))?,
        })
    }

    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }

    pub fn summary_shown(&self) -> &NonEmptyText {
        match self {
            Self::Signed { summary_shown, .. } | Self::Refused { summary_shown, .. } => summary_shown,
        }
    }
}

/// The part a technician signs in (protocol roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// Did the work or took the readings.
    Performer,
    /// The second tester, who watched and co-signs.
    Witness,
    /// Defined by the protocol; no domain rule requires it yet.
    Supervisor,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signer {
    pub role: SignerRole,
    pub tech_id: TechnicianId,
}

impl Signer {
    pub fn new(role: SignerRole, tech_id: TechnicianId) -> Self {
        Self { role, tech_id }
    }
}

/// Why a set of technician signatures is not the required one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoSignError {
    #[error("the {role:?} has not signed")]
    MissingCoSigner { role: SignerRole },
    #[error("{tech_id} signed as {role:?} but is not a required signer")]
    UnexpectedSigner { role: SignerRole, tech_id: TechnicianId },
}

impl CoSignError {
    /// A stable machine-readable code for the UI and HTTP boundaries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingCoSigner { .. } => "missing_co_signer",
            Self::UnexpectedSigner { .. } => "unexpected_signer",
        }
    }
}

/// Checks that `signed` is exactly `required`: every required (role, person)
/// has signed, and nobody else. A required role signed by the wrong person
/// counts as that role missing.
pub fn check_cosigned(required: &[Signer], signed: &[Signer]) -> Result<(), CoSignError> {
    if let Some(missing) = required.iter().find(|r| !signed.contains(r)) {
        return Err(CoSignError::MissingCoSigner { role: missing.role });
    }
    if let Some(extra) = signed.iter().find(|s| !required.contains(s)) {
        return Err(CoSignError::UnexpectedSigner { role: extra.role, tech_id: extra.tech_id.clone() });
    }
    Ok(())
}
