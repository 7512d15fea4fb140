//! One error shape at the UI boundary: `{code, message, field}`. The code is
//! one of [`ErrorCode`], the one vocabulary the UI translates (zh-CN and
//! English, each tested to have a text); `field` names the form field at
//! fault when there is one, so the screen can mark it. The message is English
//! detail for the shell's log, never shown. Neither ever carries a PIN: PINs
//! reach the vault only inside `Pin`, whose errors never repeat it.

use hearth_domain::{
    CoSignError, RuleSetError, SignoffError, TemperatureError, ValueError, VisitError, WorkOrderError,
};
use hearth_protocol::{ContentError, SignError};
use hearth_store::{StoreError, VaultError};
use hearth_sync::SyncError;
use serde::{Deserialize, Serialize};

use crate::records::RecordError;
use crate::today::TodayError;

/// Declares the codes once: the enum, its wire names and the list of all.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// Every refusal a technician can meet, by the name the UI translates.
        /// Causes that are the program's own fault (bad record data, a broken
        /// chain, a malformed answer) are all `internal`: the technician can do
        /// nothing about them but call support, and their detail is in the log.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, for the tests that each has its words.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code's name on the wire (`part_without_consent`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }

            fn named(code: &str) -> Option<ErrorCode> {
                match code {
                    $($name => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // enrolment, session, the server
    NotEnrolled = "not_enrolled",
    AlreadyEnrolled = "already_enrolled",
    BadServerUrl = "bad_server_url",
    ServerUnreachable = "server_unreachable",
    EnrolUnreachable = "enrol_unreachable",
    ConnectionInterrupted = "connection_interrupted",
    ServerBusy = "server_busy",
    BadAnswer = "bad_answer",
    /// The server refused with a code this tablet does not know.
    ServerRefused = "server_refused",
    BadCode = "bad_code",
    PinFormat = "pin_format",
    PinsDiffer = "pins_differ",
    WrongPin = "wrong_pin",
    PinLockedOut = "pin_locked_out",
    UnknownTechnician = "unknown_technician",
    NotSignedIn = "not_signed_in",
    /// The office revoked this technician's key: a new enrolment code is needed.
    TechnicianRevoked = "technician_revoked",
    /// The office revoked this tablet: it seals nothing more.
    DeviceRevoked = "device_revoked",
    // work orders
    UnknownWorkOrder = "unknown_work_order",
    UnreadableWorkOrder = "unreadable_work_order",
    AlreadyAccepted = "already_accepted",
    RuleSetUnreadable = "rule_set_unreadable",
    OutsideVisitHours = "outside_visit_hours",
    AppointmentEndsBeforeStart = "appointment_ends_before_start",
    // the seven-step visit
    StepOutOfOrder = "step_out_of_order",
    StepAlreadyCompleted = "step_already_completed",
    MissingEvidence = "missing_evidence",
    PartWithoutConsent = "part_without_consent",
    PartPriceNotTold = "part_price_not_told",
    CustomerDamageNotConfirmed = "customer_damage_not_confirmed",
    TimeBeforePreviousStep = "time_before_previous_step",
    VisitConcluded = "visit_concluded",
    NotAllStepsDone = "not_all_steps_done",
    OutcomeNotAllowed = "outcome_not_allowed",
    MissingNextAppointment = "missing_next_appointment",
    NextAppointmentNotAfterVisit = "next_appointment_not_after_visit",
    TooFewKnocks = "too_few_knocks",
    KnocksOutOfOrder = "knocks_out_of_order",
    KnocksTooClose = "knocks_too_close",
    MissingPhoneAttempt = "missing_phone_attempt",
    PhoneAttemptNotAfterKnocks = "phone_attempt_not_after_knocks",
    MissingNoticePhoto = "missing_notice_photo",
    NoticeStuckOnDoor = "notice_stuck_on_door",
    MissingRefusalReason = "missing_refusal_reason",
    MissingCustomerSignoff = "missing_customer_signoff",
    SignoffBeforeResolve = "signoff_before_resolve",
    SignoffAlreadyRecorded = "signoff_already_recorded",
    StepNotDone = "step_not_done",
    CorrectionTooLate = "correction_too_late",
    // signatures of two
    MissingCoSigner = "missing_co_signer",
    UnexpectedSigner = "unexpected_signer",
    // the temperature test
    SameTechnician = "same_technician",
    CalibrationExpired = "calibration_expired",
    UnknownThermometer = "unknown_thermometer",
    NoConsentToEnter = "no_consent_to_enter",
    ReadingOutOfRange = "reading_out_of_range",
    ReadingFromAnotherTest = "reading_from_another_test",
    ReadingBeforeTestStart = "reading_before_test_start",
    OutlierNeedsReason = "outlier_needs_reason",
    NoReadings = "no_readings",
    NoLivingRoomReading = "no_living_room_reading",
    ReportReadingsMismatch = "report_readings_mismatch",
    VerdictMismatch = "verdict_mismatch",
    NoTest = "no_test",
    TestAlreadyStarted = "test_already_started",
    ReportSigned = "report_signed",
    ReportNotSigned = "report_not_signed",
    NotATester = "not_a_tester",
    // photos and the customer's copy
    UnsupportedPhoto = "unsupported_photo",
    PhotoTooLarge = "photo_too_large",
    PhotoUnreadable = "photo_unreadable",
    UnknownPhoto = "unknown_photo",
    NoSignoff = "no_signoff",
    SignatureGone = "signature_gone",
    BlobRemoved = "blob_removed",
    FontMissing = "font_missing",
    NoViewer = "no_viewer",
    // records
    ReasonRequired = "reason_required",
    RecordFinal = "record_final",
    RecordBound = "record_bound",
    RecordCorrected = "record_corrected",
    OrderHasRecords = "order_has_records",
    VoidBreaksVisit = "void_breaks_visit",
    NoRescueExport = "no_rescue_export",
    // a form field; `AppError::field` says which
    InvalidField = "invalid_field",
    Storage = "storage",
    Internal = "internal",
}

impl ErrorCode {
    /// The code a lower crate's own code stands for on the tablet, if any.
    /// Codes of the program's own faults map to `internal` (or `storage`).
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        if let Some(c) = Self::named(code) {
            return Some(c);
        }
        Some(match code {
            // hearth-store and the vault
            "weak_pin" => Self::PinFormat,
            "key_destroyed" => Self::PinLockedOut,
            "missing_blob" => Self::UnknownPhoto,
            "io" | "newer_database" | "migration_failed" | "copy_failed" => Self::Storage,
            "corrupt"
            | "corrupt_key_file"
            | "crypto"
            | "chain_broken"
            | "receipt_mismatch"
            | "bad_receipt_signature"
            | "record_id_taken"
            | "draft_not_found" => Self::Internal,
            // hearth-protocol: records the app itself wrote wrongly
            "content_too_large"
            | "bad_content"
            | "bad_schema"
            | "bad_record_id"
            | "malformed_json"
            | "float_not_allowed"
            | "null_not_allowed"
            | "integer_out_of_range"
            | "bad_key"
            | "not_canonical"
            | "bad_record_data"
            | "bad_binding"
            | "bad_input" => Self::Internal,
            // hearth-domain
            "invalid_work_order_field"
            | "invalid_temperature_field"
            | "invalid_signoff_field"
            | "empty_text"
            | "invalid_id"
            | "invalid_phone"
            | "invalid_sha256"
            | "satisfaction_out_of_range"
            | "bad_signature_image" => Self::InvalidField,
            // hearth-copy
            "font_unusable" => Self::FontMissing,
            // the server's answers
            "code_rejected" => Self::BadCode,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// The enum of review flags and `ReviewFlag::ALL`, from one list.
macro_rules! review_flags {
    ($($variant:ident),+ $(,)?) => {
        /// The `needs_review` flags a receipt can carry that the tablet shows the
        /// technician: the protocol's own (`hearth_protocol::flags`) and the
        /// domain's codes the server's rules attach when a record breaks one. Each
        /// has its words in the UI, tested like the error codes; a flag a newer
        /// server invents is shown as "needs review", never by its name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum ReviewFlag {
            $($variant,)+
        }

        impl ReviewFlag {
            pub const ALL: &'static [ReviewFlag] = &[$(ReviewFlag::$variant,)+];
        }
    };
}

review_flags! {
    DeviceKeyRevoked,
    TechnicianKeyRevoked,
    RequiredSignerMissing,
    SignerRepeated,
    UnknownSchema,
    UnknownWorkOrder,
    NotAssigned,
    ClockSuspect,
    UnboundReference,
    InvalidData,
    UnknownThermometer,
    ReportReadingsMismatch,
    VerdictMismatch,
    ReadingFlagged,
    CalibrationExpired,
    ReadingOutOfRange,
    NoConsentToEnter,
    OutlierNeedsReason,
    NoReadings,
    NoLivingRoomReading,
    ReadingBeforeTestStart,
    ReadingFromAnotherTest,
    MissingEvidence,
    PartWithoutConsent,
    PartPriceNotTold,
    CustomerDamageNotConfirmed,
}

/// What every command answers when it refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    /// English detail for the log; the screens never show it.
    pub message: String,
    /// Wrong PINs still allowed before the key is destroyed (`wrong_pin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub remaining_attempts: Option<u32>,
    /// Whose PIN or key it is about (`wrong_pin`, `pin_locked_out`,
    /// `technician_revoked`): at a co-sign, which of the two typed it wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub tech_id: Option<String>,
    /// That technician's name, from the office's list, when the tablet has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub tech_name: Option<String>,
    /// When a revocation took effect (`technician_revoked`, `device_revoked`), Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub effective_at_ms: Option<i64>,
    /// The input at fault (`customer.phone`, `celsius_text`, `told_whom`),
    /// when the refusal is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub field: Option<String>,
}

impl AppError {
    /// A refusal by its code's wire name. A name that is not an [`ErrorCode`]
    /// is a bug in this crate: it fails loudly in tests and shows as
    /// `internal` (its name kept in the log's message) in a release build.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        match ErrorCode::from_code(code) {
            Some(code) => Self::coded(code, message),
            None => {
                debug_assert!(
                    false,
                    "error code {code:?} is not in ErrorCode: add it, with its words in the UI"
                );
                Self::coded(ErrorCode::Internal, format!("{code}: {}", message.into()))
            }
        }
    }

    pub fn coded(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            remaining_attempts: None,
            tech_id: None,
            tech_name: None,
            effective_at_ms: None,
        }
    }

    /// Names the technician the error is about.
    pub fn about_technician(mut self, tech_id: &str, name: Option<String>) -> Self {
        self.tech_id = Some(tech_id.to_owned());
        self.tech_name = name;
        self
    }

    /// A code from another crate's error; one the tablet does not name is
    /// internal, its name kept for the log.
    fn foreign(code: &str, message: String) -> Self {
        match ErrorCode::from_code(code) {
            Some(known) if known.as_str() == code => Self::coded(known, message),
            // Renamed (most often to `internal`): the lower crate's name stays in the log.
            Some(known) => Self::coded(known, format!("{code}: {message}")),
            None => Self::coded(ErrorCode::Internal, format!("{code}: {message}")),
        }
    }

    pub fn not_signed_in() -> Self {
        Self::coded(ErrorCode::NotSignedIn, "a technician must sign in first")
    }

    pub fn unknown_work_order(id: &str) -> Self {
        Self::coded(ErrorCode::UnknownWorkOrder, format!("work order {id} is not on this tablet"))
    }

    pub fn invalid_field(field: &str, why: impl std::fmt::Display) -> Self {
        let mut error = Self::coded(ErrorCode::InvalidField, format!("{field}: {why}"));
        error.field = Some(field.to_owned());
        error
    }

    pub fn internal(why: impl std::fmt::Display) -> Self {
        Self::coded(ErrorCode::Internal, why.to_string())
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        let code = match &e {
            VaultError::WeakPin => ErrorCode::PinFormat,
            // Asked for by the UI by tech id: the person is not on this tablet.
            VaultError::NotEnrolled { .. } => ErrorCode::UnknownTechnician,
            VaultError::WrongPin { .. } => ErrorCode::WrongPin,
            // Waiting does not help: only a new enrolment code from dispatch.
            VaultError::KeyDestroyed { .. } => ErrorCode::PinLockedOut,
            VaultError::Revoked { .. } => ErrorCode::TechnicianRevoked,
            VaultError::Io(_) | VaultError::Storage(_) => ErrorCode::Storage,
            VaultError::CorruptKeyFile | VaultError::Crypto => ErrorCode::Internal,
        };
        let mut error = Self::coded(code, e.to_string());
        match e {
            VaultError::WrongPin { remaining } => error.remaining_attempts = Some(remaining),
            VaultError::NotEnrolled { tech_id } | VaultError::KeyDestroyed { tech_id } => {
                error.tech_id = Some(tech_id);
            }
            VaultError::Revoked { tech_id, effective_at_ms } => {
                error.tech_id = Some(tech_id);
                error.effective_at_ms = Some(effective_at_ms);
            }
            _ => {}
        }
        error
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Vault(v) => v.into(),
            StoreError::Sqlite(_) | StoreError::Io(_) => Self::coded(ErrorCode::Storage, e.to_string()),
            StoreError::Corrupt(_) | StoreError::ChainBroken { .. } => Self::internal(e),
            other => Self::foreign(other.code(), other.to_string()),
        }
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => s.into(),
            SyncError::Unreachable(_) | SyncError::Interrupted(_) | SyncError::Throttled(_) => {
                Self::coded(ErrorCode::ServerUnreachable, e.to_string())
            }
            SyncError::Server { ref code, .. } => match ErrorCode::from_code(code) {
                Some(known) => Self::coded(known, e.to_string()),
                // The server's own refusal, named in the log.
                None => Self::coded(ErrorCode::ServerRefused, e.to_string()),
            },
            other => Self::foreign(other.code(), other.to_string()),
        }
    }
}

impl AppError {
    /// An enrolment that could not reach the server: nothing was stored (a
    /// key is kept only once the server accepts it), so the words must not
    /// be sync's "saved on the tablet, sent later".
    pub fn enrolling(e: SyncError) -> Self {
        let mut err = Self::from(e);
        if err.code == ErrorCode::ServerUnreachable {
            err.code = ErrorCode::EnrolUnreachable;
        }
        err
    }
}

/// A domain refusal of one field, with the field named for the screen.
fn field_error(field: &str, e: impl std::fmt::Display) -> AppError {
    AppError::invalid_field(field, e)
}

impl From<TemperatureError> for AppError {
    fn from(e: TemperatureError) -> Self {
        match &e {
            TemperatureError::InvalidField { field, .. } => field_error(field, &e),
            other => Self::foreign(other.code(), e.to_string()),
        }
    }
}

impl From<SignoffError> for AppError {
    fn from(e: SignoffError) -> Self {
        match &e {
            SignoffError::InvalidField { field, .. } => field_error(field, &e),
        }
    }
}

impl From<WorkOrderError> for AppError {
    fn from(e: WorkOrderError) -> Self {
        match &e {
            WorkOrderError::InvalidField { field, .. } => field_error(field, &e),
            other => Self::foreign(other.code(), e.to_string()),
        }
    }
}

impl From<ValueError> for AppError {
    fn from(e: ValueError) -> Self {
        Self::coded(ErrorCode::InvalidField, e.to_string())
    }
}

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        // A binding the app itself got wrong: a bug, not the user's input.
        Self::internal(format!("{}: {e}", e.code()))
    }
}

impl From<RuleSetError> for AppError {
    fn from(e: RuleSetError) -> Self {
        Self::coded(ErrorCode::RuleSetUnreadable, format!("{}: {e}", e.code()))
    }
}

/// Errors whose own stable code is what the UI translates.
macro_rules! from_coded {
    ($($error:ty),+) => {
        $(impl From<$error> for AppError {
            fn from(e: $error) -> Self {
                Self::foreign(e.code(), e.to_string())
            }
        })+
    };
}

impl From<hearth_copy::replay::ReplayError> for AppError {
    fn from(e: hearth_copy::replay::ReplayError) -> Self {
        Self::internal(e)
    }
}

impl From<hearth_copy::BuildError> for AppError {
    fn from(e: hearth_copy::BuildError) -> Self {
        match e {
            // Pruned once the server held it (protocol §10.9).
            hearth_copy::BuildError::SignatureMissing => {
                Self::new("signature_gone", "the signature image is no longer on this tablet")
            }
            hearth_copy::BuildError::UnknownWorkOrder(id) => Self::unknown_work_order(&id),
            e => Self::new(e.code(), e.to_string()),
        }
    }
}

from_coded!(
    VisitError,
    CoSignError,
    TodayError,
    ContentError,
    SignError,
    hearth_copy::CopyError,
    hearth_photo::PhotoError
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_named_on_the_wire_as_serde_names_it() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
        }
    }

    #[test]
    fn every_review_flag_of_the_protocol_is_known_to_the_tablet() {
        use hearth_protocol::flags::*;
        for flag in [
            DEVICE_KEY_REVOKED,
            TECHNICIAN_KEY_REVOKED,
            REQUIRED_SIGNER_MISSING,
            SIGNER_REPEATED,
            UNKNOWN_SCHEMA,
            UNKNOWN_WORK_ORDER,
            NOT_ASSIGNED,
            CLOCK_SUSPECT,
            UNBOUND_REFERENCE,
            INVALID_DATA,
            UNKNOWN_THERMOMETER,
            REPORT_READINGS_MISMATCH,
            VERDICT_MISMATCH,
            READING_FLAGGED,
        ] {
            let parsed: ReviewFlag = serde_json::from_value(serde_json::Value::String(flag.into()))
                .unwrap_or_else(|e| panic!("flag {flag} has no ReviewFlag: {e}"));
            assert!(ReviewFlag::ALL.contains(&parsed));
        }
        assert_eq!(ReviewFlag::ALL.len(), 26, "ALL lists every variant");
    }

    #[test]
    fn a_domain_field_refusal_names_the_field_for_the_screen() {
        let address = hearth_domain::Address::new("阳光花园", "3", "2", "301").unwrap();
        let e: AppError = hearth_domain::Customer::new("王女士", "123", address).unwrap_err().into();
        assert_eq!(e.code, ErrorCode::InvalidField);
        assert_eq!(e.field.as_deref(), Some("customer.phone"));
    }

    #[test]
    fn codes_of_the_programs_own_faults_are_internal_and_unknown_server_codes_are_named_refusals() {
        assert_eq!(ErrorCode::from_code("chain_broken"), Some(ErrorCode::Internal));
        assert_eq!(ErrorCode::from_code("float_not_allowed"), Some(ErrorCode::Internal));
        assert_eq!(ErrorCode::from_code("weak_pin"), Some(ErrorCode::PinFormat));
        assert_eq!(ErrorCode::from_code("something_new"), None);
    }
}
