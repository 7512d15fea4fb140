//! hearth-photo — photos as evidence.
//!
//! A technician's photo is taken in a customer's home: it is evidence, and it is private. This
//! crate owns turning the camera's bytes into the two files Hearth keeps — a photo (long edge at
//! most [`MAX_LONG_EDGE`] px) and a thumbnail ([`THUMBNAIL_LONG_EDGE`] px), both baseline JPEG at
//! quality [`JPEG_QUALITY`], media type [`MEDIA_TYPE`] — with their SHA-256, plus the capture time
//! as data for the record. Pure: bytes in, bytes out.
//!
//! ```no_run
//! let bytes: Vec<u8> = Vec::new(); // the file the camera or the picker handed over
//! match hearth_photo::ingest(&bytes, &hearth_photo::PhotoLimits::default()) {
//!     Ok(p) => println!("{} {}×{} {:?}", p.photo.sha256, p.photo.width, p.photo.height, p.captured),
//!     Err(e) => println!("{}: {e}", e.code()),
//! }
//! ```
//!
//! What [`ingest`] does, in order:
//! 1. refuses inputs over [`PhotoLimits::max_input_bytes`]; recognises the format by its magic
//!    bytes and takes only JPEG and PNG (HEIC/HEIF/AVIF by their `ftyp` brands, WebP, GIF, TIFF,
//!    BMP, JPEG XL… are refused *by name*);
//! 2. reads the declared dimensions from the header and refuses images over
//!    [`PhotoLimits::max_pixels`], or whose decoding would need more than
//!    [`PhotoLimits::max_decode_bytes`], before allocating anything for the pixels; the
//!    decoders get the same bounds;
//! 3. decodes strictly: a truncated or corrupt file is refused, never padded with grey. PNG
//!    transparency is flattened onto white, 16-bit PNG reduced to 8 bits, CMYK JPEG converted
//!    to RGB; grayscale stays grayscale;
//! 4. resizes (Lanczos3, never enlarging) so the *upright* long edge is at most 2048 px, then
//!    applies the EXIF orientation (all 8 values) to the smaller image;
//! 5. encodes from pixels only, so nothing of the input's metadata — EXIF with GPS, XMP, ICC,
//!    IPTC, comments, maker notes, data after the image — can reach the output; the thumbnail is
//!    made from the finished photo pixels.
//!
//! The outputs are baseline JPEG, 4:2:0 (one component for grayscale), with a JFIF APP0 and
//! nothing else besides tables, frame and scan; the photo may carry one restart marker, because
//! its two halves are encoded on two threads. The same input always gives the same bytes.
//!
//! Cost: about 0.1–0.3 s of CPU for a 12 MP photo, on this thread plus at most two short-lived
//! scoped threads; peak memory about 70 MB. Call it off any async executor or UI thread (e.g.
//! `spawn_blocking`).
//!
//! It must never: do I/O, keep or copy any metadata into its outputs, panic on any input, or
//! allocate beyond the limits. (Decoder panics are also caught, as a last resort, and reported
//! as unreadable — with `panic = "unwind"`.) ICC profiles are dropped, not applied: pixels are
//! kept as encoded, which is sRGB for almost every camera (a Display P3 photo looks slightly
//! less saturated).
#![forbid(unsafe_code)]

mod encode;
mod error;
mod exif;
mod jpeg;
mod pngdec;
mod raster;
mod sniff;

pub use error::PhotoError;

use raster::Raster;

/// Long edge of the stored photo, in pixels (smaller photos are not enlarged).
pub const MAX_LONG_EDGE: u32 = 2048;
/// Long edge of the thumbnail, in pixels (smaller photos are not enlarged).
pub const THUMBNAIL_LONG_EDGE: u32 = 320;
/// JPEG quality of both outputs: keeps the digits of a meter readable at 2048 px.
pub const JPEG_QUALITY: u8 = 82;
/// Media type of both outputs, whatever the input was.
pub const MEDIA_TYPE: &str = "image/jpeg";

/// Bounds on what [`ingest`] accepts. Checked from the header before the pixels are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Declared width × height above which a photo is refused. Default 100 000 000.
    pub max_pixels: u64,
    /// Estimated bytes to decode and resize (decoded pixels, decoder working memory, resize
    /// buffers) above which a photo is refused. Default 256 MiB.
    pub max_decode_bytes: u64,
    /// File size above which a photo is refused. Default 40 MiB.
    pub max_input_bytes: usize,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits { max_pixels: 100_000_000, max_decode_bytes: 256 << 20, max_input_bytes: 40 << 20 }
    }
}

/// One output file: a baseline JPEG with no metadata segments.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedImage {
    /// The JPEG file.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, 64 lowercase hex digits.
    pub sha256: String,
    /// Width in pixels, upright.
    pub width: u32,
    /// Height in pixels, upright.
    pub height: u32,
}

impl std::fmt::Debug for EncodedImage {
    // Not the bytes: a Debug print of a photo would flood any log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedImage")
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// When the shutter was pressed, as the camera's clock said (EXIF DateTimeOriginal, falling back
/// to DateTimeDigitized). Data for the record only: it is never written into the output files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureTime {
    /// Wall-clock time, with sub-seconds when the camera wrote them.
    pub local: chrono::NaiveDateTime,
    /// Offset from UTC in minutes (EXIF OffsetTimeOriginal), when the camera wrote it.
    pub offset_minutes: Option<i32>,
}

/// The format the photo arrived in (the outputs are always JPEG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// JPEG (baseline or progressive).
    Jpeg,
    /// PNG (any bit depth and colour type; APNG gives its first frame).
    Png,
}

/// What [`ingest`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedPhoto {
    /// The photo, long edge at most [`MAX_LONG_EDGE`].
    pub photo: EncodedImage,
    /// The thumbnail, long edge at most [`THUMBNAIL_LONG_EDGE`].
    pub thumbnail: EncodedImage,
    /// The capture time from EXIF, if the input had a valid one.
    pub captured: Option<CaptureTime>,
    /// The input's format.
    pub source: SourceFormat,
}

/// Width and height scaled so the long edge is at most `max_long_edge`, keeping the aspect ratio
/// (short edge rounded, at least 1). Never enlarges: 4000×3000 → 2048×1536, 1000×800 unchanged.
pub fn fit_long_edge(width: u32, height: u32, max_long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_long_edge || long == 0 {
        return (width, height);
    }
    let scale = |edge: u32| {
        let scaled = (u64::from(edge) * u64::from(max_long_edge) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).max(1)
    };
    if width >= height { (max_long_edge, scale(height)) } else { (scale(width), max_long_edge) }
}

/// Turns a camera's JPEG or PNG into the stored photo and thumbnail. See the crate doc for the
/// steps; every failure is a [`PhotoError`], never a panic.
pub fn ingest(bytes: &[u8], limits: &PhotoLimits) -> Result<IngestedPhoto, PhotoError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(PhotoError::FileTooLarge { len: bytes.len(), max: limits.max_input_bytes });
    }
    let (raster, facts, source) = match sniff::sniff(bytes) {
        sniff::Sniffed::Jpeg => {
            let header = jpeg::parse_header(bytes)?;
            budget::check(
                limits,
                header.width,
                header.height,
                header.channels(),
                header.decoder_working_bytes(),
            )?;
            let facts = header.exif.map(exif::read).unwrap_or_default();
            (jpeg::decode(bytes, &header, limits)?, facts, SourceFormat::Jpeg)
        }
        sniff::Sniffed::Png => {
            let header = pngdec::parse_header(bytes)?;
            // The png crate's own buffers are rows and the zlib window: small, and bounded by
            // the `png::Limits` we pass.
            budget::check(limits, header.width, header.height, header.expanded_channels, 0)?;
            let decoded = pngdec::decode(bytes, &header, limits)?;
            let facts = decoded.exif.as_deref().map(exif::read).unwrap_or_default();
            (decoded.raster, facts, SourceFormat::Png)
        }
        sniff::Sniffed::Unsupported(format) => return Err(PhotoError::Unsupported { format }),
        sniff::Sniffed::Unknown => {
            return Err(PhotoError::unreadable("the file is not an image (expected a JPEG or PNG photo)"));
        }
    };
    let (photo, thumbnail) = finish(raster, facts.orientation)?;
    Ok(IngestedPhoto { photo, thumbnail, captured: facts.captured, source })
}

/// Resize, orient, encode the photo; the thumbnail in parallel from the finished photo pixels.
fn finish(raster: Raster, orientation: u8) -> Result<(EncodedImage, EncodedImage), PhotoError> {
    let swap = orientation >= 5;
    let (w, h) = (raster.width, raster.height);
    let (upright_w, upright_h) = if swap { (h, w) } else { (w, h) };
    let (pw, ph) = fit_long_edge(upright_w, upright_h, MAX_LONG_EDGE);
    // Resize first, in stored orientation, so the orientation pass moves 3 MP rather than 12.
    let (rw, rh) = if swap { (ph, pw) } else { (pw, ph) };
    let resized = if (rw, rh) == (w, h) {
        raster
    } else {
        let resized = raster::resize(&raster, rw, rh, raster::Filter::Sharp, true)?;
        drop(raster); // the 12 MP buffer goes before the encoders' buffers come
        resized
    };
    let mut photo = raster::orient(resized, orientation, true)?;
    encode::rgb_to_ycbcr(&mut photo);
    let (tw, th) = fit_long_edge(pw, ph, THUMBNAIL_LONG_EDGE);
    let (main, thumb) = both(
        || encode::encode(&photo, true),
        || {
            if (tw, th) == (pw, ph) {
                encode::encode(&photo, false)
            } else {
                encode::encode(&raster::resize(&photo, tw, th, raster::Filter::Fast, false)?, false)
            }
        },
    );
    let thumb = thumb.unwrap_or_else(|| Err(PhotoError::unreadable("the thumbnail could not be made")));
    Ok((main?, thumb?))
}

/// Runs `a` on this thread and `b` on a second one (a tablet has at least two cores). If no
/// thread can be had, `b` runs here after `a`. `None` only if `b` panicked.
pub(crate) fn both<RA, RB: Send>(a: impl FnOnce() -> RA, b: impl FnOnce() -> RB + Send) -> (RA, Option<RB>) {
    let slot = std::sync::Mutex::new(Some(b));
    let take = || slot.lock().ok().and_then(|mut f| f.take());
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new().spawn_scoped(s, || take().map(|f| f()));
        let ra = a();
        let rb = match spawned {
            Ok(handle) => handle.join().ok().flatten(),
            Err(_) => take().map(|f| f()),
        };
        (ra, rb)
    })
}

/// Runs third-party decoding; a panic in it becomes an error. Our own code does not rely on it.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, PhotoError>) -> Result<T, PhotoError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(PhotoError::unreadable("the decoder failed on this file")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_runs_the_two_closures_and_reports_a_panicking_second_one_as_none() {
        let (a, b) = both(|| 1 + 1, || "two");
        assert_eq!((a, b), (2, Some("two")));
        let (a, b): (i32, Option<i32>) = both(|| 3, || panic!("deliberate, in a test"));
        assert_eq!((a, b), (3, None));
    }
}

mod budget {
    use super::{MAX_LONG_EDGE, PhotoError, PhotoLimits, fit_long_edge};

    pub(crate) fn pixels(width: u32, height: u32) -> u64 {
        u64::from(width) * u64::from(height)
    }

    /// Refuses from the declared size alone. `working` is the decoder's own memory beyond its
    /// output buffer.
    pub(crate) fn check(
        limits: &PhotoLimits,
        width: u32,
        height: u32,
        channels: u64,
        working: u64,
    ) -> Result<(), PhotoError> {
        if pixels(width, height) > limits.max_pixels {
            return Err(PhotoError::TooManyPixels { width, height, max_pixels: limits.max_pixels });
        }
        let needed = needed_bytes(width, height, channels, working);
        if needed > limits.max_decode_bytes {
            return Err(PhotoError::TooMuchMemory { needed, max: limits.max_decode_bytes });
        }
        Ok(())
    }

    fn needed_bytes(width: u32, height: u32, channels: u64, working: u64) -> u64 {
        let decoded = pixels(width, height) * channels;
        // Orientation is unknown here; the target is the same either way up.
        let (tw, th) = fit_long_edge(width, height, MAX_LONG_EDGE);
        // The resizer's intermediate is one pass done (target width × source height, or the
        // transpose); then the resized and the oriented copies.
        let intermediate =
            (u64::from(tw) * u64::from(height)).max(u64::from(width) * u64::from(th)) * channels;
        let resized = pixels(tw, th) * channels.min(3) * 2;
        decoded + working + intermediate + resized
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_twelve_megapixel_photo_fits_the_default_budget_and_a_hundred_megapixel_one_does_not() {
            let limits = PhotoLimits::default();
            assert_eq!(check(&limits, 4000, 3000, 3, 0), Ok(()));
            assert_eq!(check(&limits, 8000, 6000, 3, 0), Ok(()));
            assert!(matches!(check(&limits, 10_000, 10_000, 3, 0), Err(PhotoError::TooMuchMemory { .. })));
            assert!(matches!(check(&limits, 10_001, 10_000, 3, 0), Err(PhotoError::TooManyPixels { .. })));
        }
    }
}
