//! The signature pad's PNG: decoded within bounds, flattened onto white paper
//! and cropped to the strokes, so a small signature on a wide pad is not lost
//! in white space when it is scaled into the box.

use std::io::Cursor;
use std::sync::Arc;

use krilla::image::{BitsPerComponent, CustomImage, ImageColorspace};

use crate::CopyError;

/// Bigger than any signature pad; a guard against decompression bombs.
const MAX_SIDE: u32 = 4096;
/// A pixel darker than this (0–255 of "ink") counts as part of a stroke.
const INK: u8 = 40;

/// The flattened, cropped signature: 8-bit RGB on white.
#[derive(Debug, Clone, Hash)]
pub(crate) struct Signature {
    rgb: Arc<Vec<u8>>,
    width: u32,
    height: u32,
}

impl Signature {
    pub(crate) fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
}

impl CustomImage for Signature {
    fn color_channel(&self) -> &[u8] {
        &self.rgb
    }
    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }
    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }
    fn color_space(&self) -> ImageColorspace {
        ImageColorspace::Rgb
    }
}

fn bad(reason: impl Into<String>) -> CopyError {
    CopyError::BadSignatureImage(reason.into())
}

/// Decodes the PNG; errors if it is not a PNG, over [`MAX_SIDE`] a side, or has no stroke.
pub(crate) fn decode(png_bytes: &[u8]) -> Result<Signature, CopyError> {
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(png_bytes), png::Limits { bytes: 128 << 20 });
    // 8 bits per channel, palettes and tRNS expanded: only four layouts remain below.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let header = decoder.read_header_info().map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    let (w, h) = (header.width, header.height);
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(bad(format!("{w}×{h} px is outside 1–{MAX_SIDE} px a side")));
    }
    let mut reader = decoder.read_info().map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    let size = reader.output_buffer_size().ok_or_else(|| bad("image too large"))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(format!("corrupt PNG data: {e}")))?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(bad("palette was not expanded")),
    };
    if info.bit_depth != png::BitDepth::Eight {
        return Err(bad("unexpected bit depth after expansion"));
    }
    let (w, h) = (info.width as usize, info.height as usize);
    let stride = info.line_size;
    if buf.len() < stride * h || stride < w * channels {
        return Err(bad("decoded image is shorter than its header says"));
    }

    // Flatten onto white: paper is white, and an alpha channel is one more thing for printers to get wrong.
    let mut rgb = vec![255u8; w * h * 3];
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        let row = &buf[y * stride..y * stride + w * channels];
        for x in 0..w {
            let p = &row[x * channels..(x + 1) * channels];
            let (r, g, b, a) = match *p {
                [l] => (l, l, l, 255),
                [l, a] => (l, l, l, a),
                [r, g, b] => (r, g, b, 255),
                [r, g, b, a] => (r, g, b, a),
                _ => (255, 255, 255, 0),
            };
            let over = |c: u8| 255 - ((255 - u32::from(c)) * u32::from(a) / 255) as u8;
            let (r, g, b) = (over(r), over(g), over(b));
            let o = (y * w + x) * 3;
            rgb[o..o + 3].copy_from_slice(&[r, g, b]);
            let lum = (u32::from(r) * 3 + u32::from(g) * 6 + u32::from(b)) / 10;
            if 255 - lum as u8 > INK {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 == usize::MAX {
        return Err(bad("the signature is blank"));
    }
    // Keep a little white around the strokes so anti-aliased edges are not clipped.
    let pad = (w.max(h) / 50).max(2);
    let (x0, y0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
    let (x1, y1) = ((x1 + pad).min(w - 1), (y1 + pad).min(h - 1));
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut cropped = Vec::with_capacity(cw * ch * 3);
    for y in y0..=y1 {
        cropped.extend_from_slice(&rgb[(y * w + x0) * 3..(y * w + x1 + 1) * 3]);
    }
    Ok(Signature { rgb: Arc::new(cropped), width: cw as u32, height: ch as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(pixels).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn a_stroke_on_a_transparent_pad_is_cropped_and_flattened_onto_white() {
        let (w, h) = (200u32, 100u32);
        let mut px = vec![0u8; (w * h * 4) as usize];
        for x in 50..150 {
            let o = ((50 * w + x) * 4) as usize;
            px[o..o + 4].copy_from_slice(&[0, 0, 0, 255]);
        }
        let sig = decode(&png(w, h, png::ColorType::Rgba, &px)).unwrap();
        // 100 px of stroke plus 4 px padding each side; 1 px tall plus padding.
        assert_eq!(sig.size(), (108, 9));
        assert!(sig.rgb.chunks(3).any(|p| p == [0, 0, 0]));
        assert!(sig.rgb.chunks(3).all(|p| p == [0, 0, 0] || p == [255, 255, 255]));
    }

    #[test]
    fn a_grey_png_on_white_is_accepted() {
        let mut px = vec![255u8; 64 * 32];
        px[16 * 64 + 10] = 0;
        assert!(decode(&png(64, 32, png::ColorType::Grayscale, &px)).is_ok());
    }

    #[test]
    fn corrupt_truncated_or_non_png_bytes_are_a_bad_signature_image() {
        let mut px = vec![255u8; 64 * 32];
        px[100] = 0;
        let good = png(64, 32, png::ColorType::Grayscale, &px);
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        for bytes in [&b""[..], b"not a png at all", &good[..good.len() / 2], &flipped, &good[..40]] {
            let err = decode(bytes).unwrap_err();
            assert_eq!(err.code(), "bad_signature_image", "{err}");
        }
    }

    #[test]
    fn a_blank_pad_is_refused_rather_than_printed_as_signed() {
        let px = vec![0u8; 32 * 16 * 4];
        let err = decode(&png(32, 16, png::ColorType::Rgba, &px)).unwrap_err();
        assert!(err.to_string().contains("blank"), "{err}");
    }

    #[test]
    fn an_enormous_image_is_refused_before_decoding() {
        let px = vec![255u8; 5000];
        let err = decode(&png(5000, 1, png::ColorType::Grayscale, &px)).unwrap_err();
        assert_eq!(err.code(), "bad_signature_image");
    }
}
