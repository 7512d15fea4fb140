//! The one error type, with a stable code for the app and the logs.

use std::path::PathBuf;

/// Why a copy could not be made. Messages are English (for logs); the app
/// shows its own Chinese text chosen by [`CopyError::code`].
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// No usable CJK font at any of the paths tried.
    #[error(
        "no CJK font found (tried: {}); install the Debian package fonts-noto-cjk, \
         or pass a font path (argument or {env})",
        list(.tried),
        env = crate::FONT_ENV
    )]
    FontMissing {
        /// Every path looked at, with why it was not used.
        tried: Vec<(PathBuf, String)>,
    },
    /// The font bytes could not be used (not a font, bad face index, no Chinese glyphs).
    #[error("the font {source_name} cannot be used: {reason}")]
    FontUnusable {
        /// Where the font came from (a path, or "bytes").
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signature PNG could not be decoded, was too large, or was blank.
    #[error("bad signature image: {0}")]
    BadSignatureImage(String),
    /// A field of the copy is not acceptable (e.g. a content hash that is not 64 lowercase hex).
    #[error("bad input in {field}: {reason}")]
    BadInput {
        /// The field, as named in [`crate::CustomerCopy`].
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The PDF writer failed (should not happen with valid input).
    #[error("the copy could not be written: {0}")]
    CopyFailed(String),
}

impl CopyError {
    /// A stable, machine-readable code: `font_missing`, `font_unusable`,
    /// `bad_signature_image`, `bad_input` or `copy_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            CopyError::FontMissing { .. } => "font_missing",
            CopyError::FontUnusable { .. } => "font_unusable",
            CopyError::BadSignatureImage(_) => "bad_signature_image",
            CopyError::BadInput { .. } => "bad_input",
            CopyError::CopyFailed(_) => "copy_failed",
        }
    }
}

fn list(tried: &[(PathBuf, String)]) -> String {
    if tried.is_empty() {
        return "no paths".to_owned();
    }
    tried.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect::<Vec<_>>().join(", ")
}
