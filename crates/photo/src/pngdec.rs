//! PNG: the IHDR read by hand before anything is allocated, then the `png` crate with a byte
//! limit. Every PNG becomes 8-bit luma or RGB; transparency is flattened onto white (a JPEG has
//! no alpha, and black behind a transparent screenshot would hide it).

use crate::raster::{Layout, Raster};
use crate::sniff::PNG_SIGNATURE;
use crate::{PhotoError, PhotoLimits};
use std::io::Cursor;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
    /// Samples per pixel after expansion to 8 bits, at most: a tRNS chunk (not read yet) adds
    /// an alpha channel to grey, RGB and palette images.
    pub expanded_channels: u64,
}

fn truncated() -> PhotoError {
    PhotoError::unreadable("the PNG file is truncated")
}

pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, PhotoError> {
    let head = bytes.get(..29).ok_or_else(truncated)?;
    if &head[..8] != PNG_SIGNATURE {
        return Err(PhotoError::unreadable("the PNG file is corrupt (bad signature)"));
    }
    if &head[8..16] != b"\0\0\0\x0DIHDR" {
        return Err(PhotoError::unreadable("the PNG file is corrupt (no IHDR chunk)"));
    }
    let width = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    let height = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(PhotoError::unreadable("the PNG file declares an invalid width or height"));
    }
    let expanded_channels = match head[25] {
        0 | 4 => 2,
        2 | 3 | 6 => 4,
        _ => return Err(PhotoError::unreadable("the PNG file is corrupt (bad colour type)")),
    };
    Ok(Header { width, height, expanded_channels })
}

/// Whether the chunks run to IEND. The png crate stops reading once the pixels are complete, so a
/// file cut after its image data would pass; chunk lengths make this walk cheap.
fn reaches_iend(bytes: &[u8]) -> bool {
    let mut pos = 8;
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if &head[4..8] == b"IEND" {
            return bytes.len() >= pos + 12;
        }
        pos = pos.saturating_add(12).saturating_add(len);
    }
    false
}

pub(crate) struct Decoded {
    pub raster: Raster,
    /// EXIF payload of an `eXIf` chunk (a TIFF header and IFDs), if present before the pixels.
    pub exif: Option<Vec<u8>>,
}

pub(crate) fn decode(bytes: &[u8], header: &Header, limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    if !reaches_iend(bytes) {
        return Err(truncated());
    }
    let png_limits = png::Limits { bytes: usize::try_from(limits.max_decode_bytes).unwrap_or(usize::MAX) };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png_limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    // Text and ICC chunks are metadata we drop anyway: do not even inflate them.
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = crate::guard(|| decoder.read_info().map_err(|e| unreadable(&e)))?;
    let info = reader.info();
    if info.width != header.width || info.height != header.height {
        return Err(PhotoError::unreadable("the PNG file is corrupt (inconsistent dimensions)"));
    }
    let exif = info.exif_metadata.as_ref().map(|c| c.to_vec());
    let size =
        reader.output_buffer_size().ok_or_else(|| PhotoError::unreadable("the PNG file is too large"))?;
    let expected = crate::budget::pixels(header.width, header.height) * header.expanded_channels;
    if size as u64 > expected {
        return Err(PhotoError::unreadable("the PNG file is corrupt (unexpected pixel layout)"));
    }
    let mut data = vec![0u8; size];
    let out = crate::guard(|| reader.next_frame(&mut data).map_err(|e| unreadable(&e)))?;
    if out.bit_depth != png::BitDepth::Eight {
        return Err(PhotoError::unreadable("the PNG file has an unexpected bit depth"));
    }
    let layout = match out.color_type {
        png::ColorType::Grayscale => Layout::Luma,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::GrayscaleAlpha => {
            flatten_onto_white(&mut data, 1);
            Layout::Luma
        }
        png::ColorType::Rgba => {
            flatten_onto_white(&mut data, 3);
            Layout::Rgb
        }
        png::ColorType::Indexed => {
            return Err(PhotoError::unreadable("the PNG palette could not be expanded"));
        }
    };
    data.truncate(crate::budget::pixels(header.width, header.height) as usize * layout.channels());
    Ok(Decoded { raster: Raster { width: header.width, height: header.height, layout, data }, exif })
}

/// In place: `colour` samples plus one alpha per pixel become `colour` samples composited over
/// white. The write position never passes the read position, so one buffer suffices.
fn flatten_onto_white(data: &mut [u8], colour: usize) {
    let stride = colour + 1;
    let pixels = data.len() / stride;
    for p in 0..pixels {
        let a = u32::from(data[p * stride + colour]);
        for c in 0..colour {
            let v = u32::from(data[p * stride + c]);
            // v·a + 255·(255 − a), divided by 255 with rounding.
            let blended = v * a + 255 * (255 - a);
            data[p * colour + c] = ((blended + 127) / 255) as u8;
        }
    }
}

fn unreadable(e: &png::DecodingError) -> PhotoError {
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => truncated(),
        png::DecodingError::LimitsExceeded => {
            PhotoError::unreadable("the PNG file needs more memory to decode than allowed")
        }
        other => PhotoError::unreadable(format!("the PNG file is corrupt ({other})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_puts_opaque_pixels_through_and_transparent_ones_to_white() {
        let mut rgba = vec![10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128];
        flatten_onto_white(&mut rgba, 3);
        assert_eq!(&rgba[..9], &[10, 20, 30, 255, 255, 255, 127, 127, 127]);
        let mut gray_alpha = vec![0, 255, 0, 0];
        flatten_onto_white(&mut gray_alpha, 1);
        assert_eq!(&gray_alpha[..2], &[0, 255]);
    }
}
