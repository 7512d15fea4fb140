//! Baseline JPEG out, from pixels only. Two things jpeg-encoder 0.6 does not do, done here:
//! 4:2:0 chroma is averaged over each 2×2 block (it would point-sample, which aliases), and a
//! tall image is encoded as two halves on two threads, joined into one file with a restart
//! marker between them.

use crate::raster::{Layout, Raster};
use crate::{EncodedImage, JPEG_QUALITY, PhotoError};
use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType};
use sha2::{Digest, Sha256};

fn failed(what: impl std::fmt::Display) -> PhotoError {
    // Only reachable through a bug of ours: the sizes are bounded long before this.
    PhotoError::unreadable(format!("the photo could not be encoded ({what})"))
}

/// Encodes `r` (luma or YCbCr), on two threads when `parallel` and the image is tall enough.
pub(crate) fn encode(r: &Raster, parallel: bool) -> Result<EncodedImage, PhotoError> {
    let (Ok(width), Ok(height)) = (u16::try_from(r.width), u16::try_from(r.height)) else {
        return Err(failed("too large"));
    };
    if r.layout == Layout::Rgb
        || r.data.len() != usize::from(width) * usize::from(height) * r.layout.channels()
    {
        return Err(failed("unexpected pixel layout"));
    }
    // MCU: 8×8 for luma, 16×16 for YCbCr at 4:2:0 (the encoder's default below quality 90).
    let mcu = if r.layout == Layout::Luma { 8 } else { 16 };
    let mcu_rows = height.div_ceil(mcu);
    let mcu_cols = width.div_ceil(mcu);
    // The top half must have at least as many MCUs as the bottom: the restart interval is its
    // MCU count, and a decoder expects the next marker no later than that.
    let top_rows = mcu_rows.div_ceil(2) * mcu;
    let interval = u32::from(mcu_cols) * u32::from(top_rows / mcu);
    let bytes = if parallel && mcu_rows >= 4 && interval <= u32::from(u16::MAX) {
        let row_bytes = usize::from(width) * r.layout.channels();
        let (top, bottom) = r.data.split_at(usize::from(top_rows) * row_bytes);
        let top = Rows { data: top, width, height: top_rows, layout: r.layout };
        let bottom = Rows { data: bottom, width, height: height - top_rows, layout: r.layout };
        let (a, b) = crate::both(|| encode_rows(top), || encode_rows(bottom));
        let b = b.unwrap_or_else(|| Err(failed("the encoder thread failed")));
        splice(&a?, &b?, height, interval as u16)?
    } else {
        encode_rows(Rows { data: &r.data, width, height, layout: r.layout })?
    };
    Ok(EncodedImage { sha256: sha256_hex(&bytes), bytes, width: r.width, height: r.height })
}

fn encode_rows(rows: Rows<'_>) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(rows.data.len() / 8);
    // SOI, a JFIF APP0, tables, frame, scan, EOI: no metadata segment of any kind.
    Encoder::new(&mut out, JPEG_QUALITY).encode_image(rows).map_err(failed)?;
    Ok(out)
}

/// Rows of a luma or YCbCr raster, as the encoder reads them.
struct Rows<'a> {
    data: &'a [u8],
    width: u16,
    height: u16,
    layout: Layout,
}

impl ImageBuffer for Rows<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        if self.layout == Layout::Luma { JpegColorType::Luma } else { JpegColorType::Ycbcr }
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let w = usize::from(self.width);
        let channels = self.layout.channels();
        let row = |y: u16| {
            let y = usize::from(y.min(self.height - 1));
            &self.data[y * w * channels..(y + 1) * w * channels]
        };
        let line = row(y);
        if channels == 1 {
            buffers[0].extend_from_slice(line);
            return;
        }
        let [luma, cb, cr, _] = buffers;
        luma.extend(line.iter().step_by(3));
        if y % 2 == 1 {
            // The encoder samples chroma at even rows and columns only: odd rows are never read.
            cb.resize(luma.len(), 0);
            cr.resize(luma.len(), 0);
            return;
        }
        // Each even (row, column) gets the mean of its 2×2 block; the odd column repeats it.
        let next = row(y + 1);
        let (mut a, mut b) = (line.chunks_exact(6), next.chunks_exact(6));
        for (p, q) in (&mut a).zip(&mut b) {
            let mean = |i: usize| {
                let sum = u16::from(p[i]) + u16::from(p[i + 3]) + u16::from(q[i]) + u16::from(q[i + 3]);
                ((sum + 2) / 4) as u8
            };
            let (u, v) = (mean(1), mean(2));
            cb.extend_from_slice(&[u, u]);
            cr.extend_from_slice(&[v, v]);
        }
        if let (&[_, u0, v0], &[_, u1, v1]) = (a.remainder(), b.remainder()) {
            // Odd width: the last column pairs with itself.
            cb.push((u16::from(u0) + u16::from(u1)).div_ceil(2) as u8);
            cr.push((u16::from(v0) + u16::from(v1)).div_ceil(2) as u8);
        }
    }
}

/// Joins two baseline JPEGs of the same width and tables (the top and bottom of one image,
/// encoded separately) into one: the top's headers with the full height and a DRI segment, the
/// top's entropy-coded data, RST0, the bottom's entropy-coded data, EOI. DC prediction restarts
/// at RST0, which is exactly how the bottom half was encoded.
fn splice(top: &[u8], bottom: &[u8], height: u16, interval: u16) -> Result<Vec<u8>, PhotoError> {
    let (sof_at, sos_at, top_data) = segments(top)?;
    let (_, _, bottom_data) = segments(bottom)?;
    let short = || failed("short encoder output");
    let headers = top.get(..sos_at).ok_or_else(short)?;
    let scan_header = top.get(sos_at..top_data).ok_or_else(short)?;
    let top_scan = top.get(top_data..top.len() - 2).ok_or_else(short)?;
    let bottom_scan = bottom.get(bottom_data..bottom.len() - 2).ok_or_else(short)?;
    let mut out = Vec::with_capacity(top.len() + bottom.len());
    out.extend_from_slice(headers);
    out.extend_from_slice(&[0xFF, 0xDD, 0x00, 0x04]);
    out.extend_from_slice(&interval.to_be_bytes());
    out.extend_from_slice(scan_header);
    out.extend_from_slice(top_scan);
    out.extend_from_slice(&[0xFF, 0xD0]);
    out.extend_from_slice(bottom_scan);
    out.extend_from_slice(&[0xFF, 0xD9]);
    // SOF0: marker(2) length(2) precision(1) height(2) width(2)…
    out.get_mut(sof_at + 5..sof_at + 7).ok_or_else(short)?.copy_from_slice(&height.to_be_bytes());
    Ok(out)
}

/// In our own encoder's output: offsets of the SOF0 marker, of the SOS marker, and of the first
/// entropy-coded byte. Also checks the file ends with EOI.
fn segments(jpeg: &[u8]) -> Result<(usize, usize, usize), PhotoError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) || !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err(failed("unexpected encoder output"));
    }
    let mut pos = 2;
    let mut sof = None;
    while let (Some(&0xFF), Some(&marker), Some(len)) =
        (jpeg.get(pos), jpeg.get(pos + 1), jpeg.get(pos + 2..pos + 4))
    {
        let end = pos + 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        match marker {
            0xC0 => sof = Some(pos),
            0xDA => return sof.map(|sof| (sof, pos, end)).ok_or_else(|| failed("no frame header")),
            _ => {}
        }
        pos = end;
    }
    Err(failed("no scan header"))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0F)]));
    }
    hex
}

/// RGB to JFIF YCbCr (full range, BT.601), in place. 16-bit fixed point, rounded.
pub(crate) fn rgb_to_ycbcr(r: &mut Raster) {
    if r.layout != Layout::Rgb {
        return;
    }
    for px in r.data.chunks_exact_mut(3) {
        let (red, green, blue) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
        let y = (19595 * red + 38470 * green + 7471 * blue + 32768) >> 16;
        let cb = (-11059 * red - 21709 * green + 32768 * blue + (128 << 16) + 32768) >> 16;
        let cr = (32768 * red - 27439 * green - 5329 * blue + (128 << 16) + 32768) >> 16;
        px[0] = y.clamp(0, 255) as u8;
        px[1] = cb.clamp(0, 255) as u8;
        px[2] = cr.clamp(0, 255) as u8;
    }
    r.layout = Layout::YCbCr;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Raster {
        let mut data = Vec::new();
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&[(x * 7 + y * 3) as u8, (x * 2) as u8, (y * 5 % 256) as u8]);
            }
        }
        Raster { width, height, layout: Layout::YCbCr, data }
    }

    fn decode(bytes: &[u8]) -> Vec<u8> {
        let options = zune_core::options::DecoderOptions::default()
            .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::YCbCr)
            .set_strict_mode(true);
        zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options)
            .decode()
            .expect("our output decodes strictly")
    }

    #[test]
    fn a_spliced_two_thread_encoding_decodes_to_the_same_pixels_as_a_single_one() {
        for (w, h) in [(200, 150), (201, 97), (64, 64), (17, 300)] {
            let r = gradient(w, h);
            let single = encode(&r, false).expect("single");
            let split = encode(&r, true).expect("split");
            assert_ne!(single.bytes, split.bytes, "{w}×{h} was really split");
            assert!(split.bytes.windows(2).any(|p| p == [0xFF, 0xDD]), "has a DRI segment");
            assert_eq!(decode(&single.bytes), decode(&split.bytes), "{w}×{h}");
        }
    }

    #[test]
    fn chroma_is_averaged_rather_than_point_sampled() {
        // Cb alternates 0/255 by column: averaging gives a flat 128, point sampling a flat 0.
        let mut r = gradient(64, 64);
        for (i, px) in r.data.chunks_exact_mut(3).enumerate() {
            px[1] = if i % 2 == 0 { 0 } else { 255 };
        }
        let out = decode(&encode(&r, false).expect("encode").bytes);
        let mean_cb = out.chunks_exact(3).map(|p| u32::from(p[1])).sum::<u32>() / (64 * 64);
        assert!((120..=136).contains(&mean_cb), "mean Cb {mean_cb}");
    }

    #[test]
    fn rgb_converts_to_jfif_ycbcr() {
        let mut r = Raster {
            width: 3,
            height: 1,
            layout: Layout::Rgb,
            data: vec![255, 255, 255, 0, 0, 0, 255, 0, 0],
        };
        rgb_to_ycbcr(&mut r);
        assert_eq!(r.layout, Layout::YCbCr);
        assert_eq!(r.data, vec![255, 128, 128, 0, 128, 128, 76, 85, 255]);
    }

    #[test]
    fn the_hash_is_lowercase_hex_sha256() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
