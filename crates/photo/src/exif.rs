//! The two things we read from EXIF before throwing all of it away: the orientation (to apply to
//! the pixels) and the capture time (to return as data). Broken EXIF is ignored, not fatal: the
//! pixels are what matter, and none of the metadata is kept.

use crate::CaptureTime;
use exif::{In, Tag, Value};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExifFacts {
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
    pub captured: Option<CaptureTime>,
}

/// `tiff` is the EXIF payload after the `Exif\0\0` prefix (a TIFF header and IFDs).
pub(crate) fn read(tiff: &[u8]) -> ExifFacts {
    let mut facts = ExifFacts { orientation: 1, captured: None };
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = reader.read_raw(tiff.to_vec()).or_else(|e| e.distill_partial_result(|_| {}));
    let Ok(exif) = parsed else {
        return facts;
    };
    if let Some(o) = exif.get_field(Tag::Orientation, In::PRIMARY).and_then(|f| f.value.get_uint(0))
        && (1..=8).contains(&o)
    {
        facts.orientation = o as u8;
    }
    let ascii = |tag: Tag| -> Option<&[u8]> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v.first().map(Vec::as_slice),
            _ => None,
        }
    };
    // DateTimeOriginal is the shutter time; CreateDate (DateTimeDigitized) equals it for a camera
    // and is the fallback. DateTime (IFD0) is when software last edited the file: not used.
    let pairs = [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal, Tag::SubSecTimeOriginal),
        (Tag::DateTimeDigitized, Tag::OffsetTimeDigitized, Tag::SubSecTimeDigitized),
    ];
    facts.captured = pairs.iter().find_map(|&(time, offset, subsec)| {
        let mut dt = exif::DateTime::from_ascii(ascii(time)?).ok()?;
        if let Some(s) = ascii(subsec) {
            // A malformed sub-second field only loses the fraction.
            if dt.parse_subsec(s).is_err() {
                dt.nanosecond = None;
            }
        }
        if let Some(o) = ascii(offset)
            && dt.parse_offset(o).is_err()
        {
            dt.offset = None;
        }
        capture_time(&dt)
    });
    facts
}

fn capture_time(dt: &exif::DateTime) -> Option<CaptureTime> {
    // Cameras with an unset clock write "0000:00:00 00:00:00": chrono rejects it, we return None.
    let date = chrono::NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))?;
    let time = chrono::NaiveTime::from_hms_nano_opt(
        u32::from(dt.hour),
        u32::from(dt.minute),
        u32::from(dt.second),
        dt.nanosecond.unwrap_or(0),
    )?;
    let offset_minutes = dt.offset.map(i32::from).filter(|m| m.abs() <= 18 * 60);
    Some(CaptureTime { local: date.and_time(time), offset_minutes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_exif_yields_the_upright_default_and_no_time() {
        assert_eq!(read(b"not a tiff at all"), ExifFacts { orientation: 1, captured: None });
        assert_eq!(read(b""), ExifFacts { orientation: 1, captured: None });
        assert_eq!(read(b"II*\0\xff\xff\xff\xff"), ExifFacts { orientation: 1, captured: None });
    }
}
