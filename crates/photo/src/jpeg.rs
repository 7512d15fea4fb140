//! JPEG: our own walk over the marker segments (dimensions, coding, EXIF) before anything is
//! allocated, then zune-jpeg for the pixels.

use crate::raster::{Layout, Raster};
use crate::{PhotoError, PhotoLimits};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Component {
    pub h: u8,
    pub v: u8,
}

#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    pub components: Vec<Component>,
    /// EXIF payload (TIFF data after `Exif\0\0`) of the first EXIF APP1 segment.
    pub exif: Option<&'a [u8]>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn truncated() -> PhotoError {
    PhotoError::unreadable("the JPEG file is truncated")
}

/// Walks the segments up to the first scan. Cheap, allocation-free (besides the component list).
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, PhotoError> {
    let mut pos = 2; // after SOI
    let mut header = Header { width: 0, height: 0, progressive: false, components: Vec::new(), exif: None };
    let mut seen_frame = false;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *bytes.get(pos).ok_or_else(truncated)? != 0xFF {
            return Err(PhotoError::unreadable("the JPEG file is corrupt (bad marker)"));
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(truncated)?;
        pos += 1;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(PhotoError::unreadable("the JPEG file is corrupt (nested start marker)")),
            0xD9 => return Err(PhotoError::unreadable("the JPEG file has no image data")),
            0x00 => return Err(PhotoError::unreadable("the JPEG file is corrupt (bad marker)")),
            _ => {}
        }
        let len = usize::from(be16(bytes, pos).ok_or_else(truncated)?);
        if len < 2 {
            return Err(PhotoError::unreadable("the JPEG file is corrupt (bad segment length)"));
        }
        let body = bytes.get(pos + 2..pos + len).ok_or_else(truncated)?;
        pos += len;
        match marker {
            0xE1 if header.exif.is_none() && body.starts_with(b"Exif\0\0") => {
                header.exif = Some(&body[6..]);
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if seen_frame {
                    return Err(PhotoError::unreadable("the JPEG file is corrupt (two frame headers)"));
                }
                seen_frame = true;
                match marker {
                    0xC0 | 0xC1 => {}
                    0xC2 => header.progressive = true,
                    0xC3 => return Err(PhotoError::Unsupported { format: "lossless JPEG" }),
                    0xC9..=0xCB => return Err(PhotoError::Unsupported { format: "arithmetic-coded JPEG" }),
                    _ => return Err(PhotoError::Unsupported { format: "hierarchical JPEG" }),
                }
                parse_frame(body, &mut header)?;
            }
            0xDA => {
                if !seen_frame {
                    return Err(PhotoError::unreadable(
                        "the JPEG file is corrupt (scan before frame header)",
                    ));
                }
                return Ok(header);
            }
            _ => {}
        }
    }
}

fn parse_frame(body: &[u8], header: &mut Header<'_>) -> Result<(), PhotoError> {
    let corrupt = || PhotoError::unreadable("the JPEG file is corrupt (bad frame header)");
    let precision = *body.first().ok_or_else(corrupt)?;
    header.height = u32::from(be16(body, 1).ok_or_else(corrupt)?);
    header.width = u32::from(be16(body, 3).ok_or_else(corrupt)?);
    let count = usize::from(*body.get(5).ok_or_else(corrupt)?);
    if precision != 8 {
        return Err(PhotoError::Unsupported { format: "12-bit JPEG" });
    }
    if header.width == 0 || header.height == 0 {
        // Height 0 means "defined later by a DNL marker", which no camera writes.
        return Err(PhotoError::unreadable("the JPEG file declares a zero width or height"));
    }
    if !matches!(count, 1 | 3 | 4) {
        return Err(PhotoError::unreadable(format!("the JPEG file has {count} colour components")));
    }
    for i in 0..count {
        let sampling = *body.get(6 + i * 3 + 1).ok_or_else(corrupt)?;
        let (h, v) = (sampling >> 4, sampling & 0x0F);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(corrupt());
        }
        header.components.push(Component { h, v });
    }
    Ok(())
}

impl Header<'_> {
    /// Bytes zune-jpeg holds beyond its output buffer: for a progressive file, every DCT
    /// coefficient of every component (i16, padded to whole MCUs). Baseline decodes a row of MCUs
    /// at a time, so a few rows' worth.
    pub(crate) fn decoder_working_bytes(&self) -> u64 {
        let hmax = u64::from(self.components.iter().map(|c| c.h).max().unwrap_or(1));
        let vmax = u64::from(self.components.iter().map(|c| c.v).max().unwrap_or(1));
        let mcu_w = 8 * hmax;
        let mcu_h = 8 * vmax;
        let mcus_x = u64::from(self.width).div_ceil(mcu_w);
        let mcus_y = u64::from(self.height).div_ceil(mcu_h);
        let per_component = |c: &Component| {
            let w = mcus_x * 8 * u64::from(c.h);
            let h = if self.progressive { mcus_y * 8 * u64::from(c.v) } else { 2 * mcu_h };
            w * h * 2
        };
        // Upsampling and colour conversion work on full-width rows of each component.
        let rows = mcus_x * mcu_w * mcu_h * self.components.len() as u64 * 2 * 3;
        self.components.iter().map(per_component).sum::<u64>() + rows
    }

    /// Samples per decoded pixel: 1 for grayscale, 3 otherwise (CMYK is converted to RGB).
    pub(crate) fn channels(&self) -> u64 {
        if self.components.len() == 1 { 1 } else { 3 }
    }
}

fn options(out: ColorSpace) -> DecoderOptions {
    DecoderOptions::default()
        .jpeg_set_out_colorspace(out)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX))
        // Strict: a truncated or corrupt file is refused rather than padded with grey.
        .set_strict_mode(true)
        // Bounds the work of a hostile progressive file (each scan re-walks all coefficients).
        .jpeg_set_max_scans(64)
}

/// Whether the file reaches its EOI marker. zune-jpeg pads a stream cut inside the last rows of
/// MCUs without complaint, so a cut file is caught here. Almost every file ends with EOI; those
/// that do not (trailing data such as a phone's gain map, or a cut) get a walk over the scans.
fn reaches_eoi(bytes: &[u8]) -> bool {
    if bytes.ends_with(&[0xFF, 0xD9]) {
        // FF D9 cannot occur inside entropy-coded data (FF is stuffed), and a cut inside a
        // header segment is refused by `parse_header` or the decoder.
        return true;
    }
    let mut pos = 2;
    while pos + 1 < bytes.len() {
        if bytes[pos] != 0xFF {
            return false;
        }
        let marker = bytes[pos + 1];
        match marker {
            0xD9 => return true,
            0xFF => {
                pos += 1;
                continue;
            }
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            _ => {}
        }
        let Some(len) = be16(bytes, pos + 2) else { return false };
        pos += 2 + usize::from(len);
        if marker == 0xDA {
            // Skip the entropy-coded data: up to the next FF not followed by 00 (stuffing) or
            // a restart marker.
            loop {
                let Some(ff) = bytes.get(pos..).and_then(|rest| rest.iter().position(|&b| b == 0xFF)) else {
                    return false;
                };
                pos += ff;
                match bytes.get(pos + 1) {
                    Some(0x00 | 0xD0..=0xD7) => pos += 2,
                    Some(_) => break,
                    None => return false,
                }
            }
        }
    }
    false
}

pub(crate) fn decode(bytes: &[u8], header: &Header<'_>, limits: &PhotoLimits) -> Result<Raster, PhotoError> {
    if !reaches_eoi(bytes) {
        return Err(truncated());
    }
    // YCbCr stays YCbCr: the encoder wants YCbCr too, and resampling commutes with the (affine)
    // colour transform, so converting to RGB and back would be wasted work.
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options(ColorSpace::YCbCr));
    crate::guard(|| decoder.decode_headers().map_err(|e| unreadable(&e)))?;
    let (layout, out) = match decoder.input_colorspace() {
        Some(ColorSpace::YCbCr) => (Layout::YCbCr, None),
        Some(ColorSpace::Luma) => (Layout::Luma, Some(ColorSpace::Luma)),
        // RGB-coded, CMYK and YCCK files: the decoder converts to RGB.
        Some(ColorSpace::RGB | ColorSpace::CMYK | ColorSpace::YCCK) => (Layout::Rgb, Some(ColorSpace::RGB)),
        _ => return Err(PhotoError::Unsupported { format: "JPEG with an unusual colour space" }),
    };
    if let Some(out) = out {
        // The colour conversion is chosen when the headers are read: start again with it.
        decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options(out));
        crate::guard(|| decoder.decode_headers().map_err(|e| unreadable(&e)))?;
    }
    let info = decoder.info().ok_or_else(|| PhotoError::unreadable("the JPEG header could not be read"))?;
    if u32::from(info.width) != header.width || u32::from(info.height) != header.height {
        return Err(PhotoError::unreadable("the JPEG file is corrupt (inconsistent dimensions)"));
    }
    let expected = crate::budget::pixels(header.width, header.height) * layout.channels() as u64;
    let size = decoder.output_buffer_size();
    if size.map(|s| s as u64) != Some(expected) || expected > limits.max_decode_bytes {
        return Err(PhotoError::unreadable("the JPEG file is corrupt (unexpected colour layout)"));
    }
    let mut data = vec![0u8; expected as usize];
    crate::guard(|| decoder.decode_into(&mut data).map_err(|e| unreadable(&e)))?;
    Ok(Raster { width: header.width, height: header.height, layout, data })
}

fn unreadable(e: &zune_jpeg::errors::DecodeErrors) -> PhotoError {
    let text = e.to_string();
    if text.contains("end of") || text.contains("No more bytes") || text.contains("EOF") {
        truncated()
    } else {
        PhotoError::unreadable(format!("the JPEG file is corrupt ({text})"))
    }
}
