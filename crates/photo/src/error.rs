//! The one error type: three stable codes the UI translates, English messages for logs.

/// Why a photo was refused. [`PhotoError::code`] is stable; the message is English and says what
/// was wrong (the detected format, the limit that was exceeded, or what is broken).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// A real image, but not one we take: HEIC, WebP, GIF, TIFF, BMP, AVIF, or a JPEG variant
    /// (lossless, arithmetic-coded, 12-bit…) that the decoder does not handle.
    #[error("unsupported photo format: {format}; please use a JPEG or PNG photo")]
    Unsupported {
        /// What the bytes were recognised as, e.g. `"HEIC"` or `"WebP"`.
        format: &'static str,
    },

    /// The file is larger than [`PhotoLimits::max_input_bytes`](crate::PhotoLimits).
    #[error("photo too large: the file is {} but the limit is {}", mib(*len as u64), mib(*max as u64))]
    FileTooLarge {
        /// Size of the file in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// The header declares more pixels than [`PhotoLimits::max_pixels`](crate::PhotoLimits).
    #[error(
        "photo too large: {width} × {height} pixels is {} but the limit is {}",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*max_pixels)
    )]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit in pixels.
        max_pixels: u64,
    },

    /// Decoding would need more memory than [`PhotoLimits::max_decode_bytes`](crate::PhotoLimits).
    #[error("photo too large: decoding it needs {} of memory but the limit is {}", mib(*needed), mib(*max))]
    TooMuchMemory {
        /// Estimated bytes needed to decode and resize.
        needed: u64,
        /// The limit in bytes.
        max: u64,
    },

    /// Not an image, or a JPEG/PNG that is truncated or corrupt.
    #[error("photo unreadable: {reason}")]
    Unreadable {
        /// What is wrong, in English.
        reason: String,
    },
}

impl PhotoError {
    /// The stable code: `unsupported_photo`, `photo_too_large` or `photo_unreadable`.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::Unsupported { .. } => "unsupported_photo",
            PhotoError::FileTooLarge { .. }
            | PhotoError::TooManyPixels { .. }
            | PhotoError::TooMuchMemory { .. } => "photo_too_large",
            PhotoError::Unreadable { .. } => "photo_unreadable",
        }
    }

    pub(crate) fn unreadable(reason: impl Into<String>) -> Self {
        PhotoError::Unreadable { reason: reason.into() }
    }
}

fn mib(bytes: u64) -> String {
    // Whole MiB where exact (the defaults are), one decimal otherwise.
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

fn megapixels(pixels: u64) -> String {
    if pixels.is_multiple_of(1_000_000) {
        format!("{} megapixels", pixels / 1_000_000)
    } else {
        format!("{:.1} megapixels", pixels as f64 / 1e6)
    }
}
