use std::time::Duration;

use hearth_store::StoreError;

/// What a sync step can run into. `code()` is what the app translates;
/// the message is the plain-words English fallback.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the server cannot be reached: {0}")]
    Unreachable(String),
    #[error("the connection broke during the exchange: {0}")]
    Interrupted(String),
    #[error("the server is busy; it asked to wait {0:?}")]
    Throttled(Duration),
    #[error("the server answered {status}: {code}: {message}")]
    Server { status: u16, code: String, message: String },
    #[error("the server's answer could not be understood: {0}")]
    BadAnswer(String),
    #[error("this tablet is not enrolled with a server yet")]
    NotLinked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            Self::Unreachable(_) => "server_unreachable",
            Self::Interrupted(_) => "connection_interrupted",
            Self::Throttled(_) => "server_busy",
            Self::Server { code, .. } => code,
            Self::BadAnswer(_) => "bad_answer",
            Self::NotLinked => "not_enrolled",
            Self::Store(e) => e.code(),
        }
    }

    /// Worth trying again later (after backoff), as opposed to needing a person.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Interrupted(_) | Self::Throttled(_) | Self::BadAnswer(_) => true,
            Self::Server { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Self::NotLinked => false,
            // A busy database or a full disk may pass; a broken chain will not,
            // but retrying it costs nothing and the status shows it.
            Self::Store(_) => true,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled(d) => Some(*d),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_connect() {
            Self::Unreachable(plain(&e))
        } else if e.is_decode() {
            Self::BadAnswer(plain(&e))
        } else {
            Self::Interrupted(plain(&e))
        }
    }
}

/// The innermost cause is the readable part of a reqwest error.
fn plain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
