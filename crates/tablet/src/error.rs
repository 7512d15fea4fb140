//! One error shape at the UI boundary: `{code, message}`. The code is the
//! stable thing the UI translates (docs/app.md lists them); the message is
//! English detail for logs. Neither ever carries a PIN: PINs reach the vault
//! only inside `Pin`, whose errors never repeat it.

use hearth_domain::{
    CoSignError, RuleSetError, SignoffError, TemperatureError, ValueError, VisitError, WorkOrderError,
};
use hearth_protocol::{ContentError, SignError};
use hearth_store::{StoreError, VaultError};
use hearth_sync::SyncError;
use serde::Serialize;

use crate::records::RecordError;
use crate::today::TodayError;

/// What every command answers when it refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: message.into() }
    }

    pub fn not_signed_in() -> Self {
        Self::new("not_signed_in", "a technician must sign in first")
    }

    pub fn unknown_work_order(id: &str) -> Self {
        Self::new("unknown_work_order", format!("work order {id} is not on this tablet"))
    }

    pub fn invalid_field(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new("invalid_field", format!("{field}: {why}"))
    }

    pub fn internal(why: impl std::fmt::Display) -> Self {
        Self::new("internal", why.to_string())
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        let code = match &e {
            VaultError::WeakPin => "pin_format",
            // Asked for by the UI by tech id: the person is not on this tablet.
            VaultError::NotEnrolled { .. } => "unknown_technician",
            VaultError::WrongPin { .. } => "wrong_pin",
            VaultError::KeyDestroyed { .. } => "pin_locked_out",
            VaultError::Io(_) | VaultError::Storage(_) => "storage",
            VaultError::CorruptKeyFile | VaultError::Crypto => "internal",
        };
        Self::new(code, e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Vault(v) => v.into(),
            StoreError::Sqlite(_) | StoreError::Io(_) => Self::new("storage", e.to_string()),
            StoreError::Corrupt(_) | StoreError::ChainBroken { .. } => Self::new("internal", e.to_string()),
            other => Self::new(other.code(), other.to_string()),
        }
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => s.into(),
            SyncError::Server { ref code, .. } if code == "code_rejected" => {
                Self::new("bad_code", e.to_string())
            }
            SyncError::Unreachable(_) | SyncError::Interrupted(_) | SyncError::Throttled(_) => {
                Self::new("server_unreachable", e.to_string())
            }
            other => Self::new(other.code(), other.to_string()),
        }
    }
}

impl From<TemperatureError> for AppError {
    fn from(e: TemperatureError) -> Self {
        let code = match &e {
            TemperatureError::InvalidField { .. } => "invalid_field",
            other => other.code(),
        };
        Self::new(code, e.to_string())
    }
}

impl From<SignoffError> for AppError {
    fn from(e: SignoffError) -> Self {
        Self::new("invalid_field", e.to_string())
    }
}

impl From<WorkOrderError> for AppError {
    fn from(e: WorkOrderError) -> Self {
        let code = match &e {
            WorkOrderError::InvalidField { .. } => "invalid_field",
            other => other.code(),
        };
        Self::new(code, e.to_string())
    }
}

impl From<ValueError> for AppError {
    fn from(e: ValueError) -> Self {
        Self::new("invalid_field", e.to_string())
    }
}

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        // A binding the app itself got wrong: a bug, not the user's input.
        Self::new("internal", format!("{}: {e}", e.code()))
    }
}

/// Errors whose own stable code is what the UI translates.
macro_rules! from_coded {
    ($($error:ty),+) => {
        $(impl From<$error> for AppError {
            fn from(e: $error) -> Self {
                Self::new(e.code(), e.to_string())
            }
        })+
    };
}

from_coded!(
    VisitError,
    CoSignError,
    RuleSetError,
    TodayError,
    ContentError,
    SignError,
    hearth_copy::CopyError,
    hearth_photo::PhotoError
);
