//! Decoded pixels and the two geometric operations on them: resize and EXIF orientation.

use crate::PhotoError;
use fast_image_resize as fr;

/// How the 8-bit samples are laid out. YCbCr is kept from a JPEG all the way to the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Luma,
    Rgb,
    YCbCr,
}

impl Layout {
    pub(crate) fn channels(self) -> usize {
        match self {
            Layout::Luma => 1,
            Layout::Rgb | Layout::YCbCr => 3,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

fn resize_failed(e: impl std::fmt::Display) -> PhotoError {
    // Unreachable with the sizes we pass; an error rather than a panic all the same.
    PhotoError::unreadable(format!("the photo could not be resized ({e})"))
}

/// The resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    /// Lanczos3, as libvips uses for its reduce step: sharp enough for meter digits, no ringing
    /// to speak of at these ratios. For the photo.
    Sharp,
    /// Hamming: bicubic-like quality when reducing, with a third of Lanczos3's taps. For the
    /// thumbnail, a 6.4× reduction where Lanczos3 would read ~38 source pixels per output pixel.
    Fast,
}

/// Resizes to `width` × `height`. With `parallel`, the output is done as two bands on two
/// threads: each band crops the source to exactly its share (the filter still reads across the
/// cut), so the result matches a single pass.
pub(crate) fn resize(
    src: &Raster,
    width: u32,
    height: u32,
    filter: Filter,
    parallel: bool,
) -> Result<Raster, PhotoError> {
    let channels = src.layout.channels();
    let pixel_type = if channels == 1 { fr::PixelType::U8 } else { fr::PixelType::U8x3 };
    let src_image =
        fr::images::ImageRef::new(src.width, src.height, &src.data, pixel_type).map_err(resize_failed)?;
    let row_bytes = width as usize * channels;
    let mut data = vec![0u8; row_bytes * height as usize];
    let scale = f64::from(src.height) / f64::from(height);
    let band = |dst: &mut [u8], y0: u32, y1: u32| -> Result<(), PhotoError> {
        let mut dst_image =
            fr::images::Image::from_slice_u8(width, y1 - y0, dst, pixel_type).map_err(resize_failed)?;
        let options = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(match filter {
                Filter::Sharp => fr::FilterType::Lanczos3,
                Filter::Fast => fr::FilterType::Hamming,
            }))
            .crop(0.0, f64::from(y0) * scale, f64::from(src.width), f64::from(y1 - y0) * scale);
        fr::Resizer::new().resize(&src_image, &mut dst_image, &options).map_err(resize_failed)
    };
    if parallel && height >= 64 {
        let split = height / 2;
        let (top, bottom) = data.split_at_mut(split as usize * row_bytes);
        let (a, b) = crate::both(|| band(top, 0, split), || band(bottom, split, height));
        a.and(b.unwrap_or_else(|| Err(resize_failed("thread failed"))))?;
    } else {
        band(&mut data, 0, height)?;
    }
    Ok(Raster { width, height, layout: src.layout, data })
}

/// Applies EXIF orientation `o` (1..=8) so that the result displays upright with no tag; with
/// `parallel`, two bands of output rows on two threads.
pub(crate) fn orient(src: Raster, o: u8, parallel: bool) -> Result<Raster, PhotoError> {
    if !(2..=8).contains(&o) {
        return Ok(src);
    }
    let swap = o >= 5;
    let (ow, oh) = if swap { (src.height, src.width) } else { (src.width, src.height) };
    let row_bytes = ow as usize * src.layout.channels();
    let mut out = vec![0u8; src.data.len()];
    let fill = |band: &mut [u8], y0: usize| match src.layout.channels() {
        1 => orient_rows::<1>(&src, o, band, y0),
        _ => orient_rows::<3>(&src, o, band, y0),
    };
    if parallel && oh >= 64 {
        let split = oh as usize / 2;
        let (top, bottom) = out.split_at_mut(split * row_bytes);
        if crate::both(|| fill(top, 0), || fill(bottom, split)).1.is_none() {
            return Err(PhotoError::unreadable("the photo could not be turned upright"));
        }
    } else {
        fill(&mut out, 0);
    }
    Ok(Raster { width: ow, height: oh, layout: src.layout, data: out })
}

/// Fills output rows `y0..` (as many as `band` holds) of `src` under orientation `o`.
fn orient_rows<const C: usize>(src: &Raster, o: u8, band: &mut [u8], y0: usize) {
    let (w, h) = (src.width as usize, src.height as usize);
    let s = &src.data;
    if o < 5 {
        // Mirror and 180° rotations move whole rows.
        for (i, dst_row) in band.chunks_exact_mut(w * C).enumerate() {
            let y = y0 + i;
            let sy = if o == 2 { y } else { h - 1 - y };
            let src_row = &s[sy * w * C..(sy + 1) * w * C];
            if o == 4 {
                dst_row.copy_from_slice(src_row);
            } else {
                for (d, px) in dst_row.chunks_exact_mut(C).zip(src_row.chunks_exact(C).rev()) {
                    d.copy_from_slice(px);
                }
            }
        }
        return;
    }
    // Output (x, y) comes from source column sx = y (5, 6) or w-1-y (7, 8), row sy = x (5, 8)
    // or h-1-x (6, 7). Tiles of 16 output rows keep the source lines they share in cache.
    let ow = h;
    const TILE: usize = 16;
    let rows = band.len() / (ow * C);
    for t0 in (0..rows).step_by(TILE) {
        for x0 in (0..ow).step_by(64) {
            for i in t0..(t0 + TILE).min(rows) {
                let y = y0 + i;
                let sx = if o == 5 || o == 6 { y } else { w - 1 - y };
                let dst = &mut band[i * ow * C..(i + 1) * ow * C];
                for x in x0..(x0 + 64).min(ow) {
                    let sy = if o == 5 || o == 8 { x } else { h - 1 - x };
                    let si = (sy * w + sx) * C;
                    dst[x * C..x * C + C].copy_from_slice(&s[si..si + C]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3×2 luma image with distinct values: row 0 = 1 2 3, row 1 = 4 5 6.
    fn sample() -> Raster {
        Raster { width: 3, height: 2, layout: Layout::Luma, data: vec![1, 2, 3, 4, 5, 6] }
    }

    #[test]
    fn each_orientation_maps_pixels_as_the_exif_specification_says() {
        // Expected upright images for a file stored as `sample()` and tagged 1..=8.
        let expected: [(u32, u32, [u8; 6]); 8] = [
            (3, 2, [1, 2, 3, 4, 5, 6]),
            (3, 2, [3, 2, 1, 6, 5, 4]),
            (3, 2, [6, 5, 4, 3, 2, 1]),
            (3, 2, [4, 5, 6, 1, 2, 3]),
            (2, 3, [1, 4, 2, 5, 3, 6]),
            (2, 3, [4, 1, 5, 2, 6, 3]),
            (2, 3, [6, 3, 5, 2, 4, 1]),
            (2, 3, [3, 6, 2, 5, 1, 4]),
        ];
        for (o, (w, h, data)) in (1..=8).zip(expected) {
            let r = orient(sample(), o, false).expect("orient");
            assert_eq!((r.width, r.height, r.data.as_slice()), (w, h, data.as_slice()), "orientation {o}");
        }
    }

    #[test]
    fn orientation_moves_whole_pixels_of_three_samples() {
        let rgb = Raster { width: 2, height: 1, layout: Layout::Rgb, data: vec![1, 2, 3, 4, 5, 6] };
        let r = orient(rgb, 6, false).expect("orient");
        assert_eq!((r.width, r.height), (1, 2));
        assert_eq!(r.data, vec![1, 2, 3, 4, 5, 6]);
        let rgb = Raster { width: 2, height: 1, layout: Layout::Rgb, data: vec![1, 2, 3, 4, 5, 6] };
        assert_eq!(orient(rgb, 2, false).expect("orient").data, vec![4, 5, 6, 1, 2, 3]);
    }

    #[test]
    fn resizing_keeps_a_flat_colour_flat() {
        let src = Raster { width: 40, height: 30, layout: Layout::Rgb, data: [200, 100, 50].repeat(1200) };
        let r = resize(&src, 20, 15, Filter::Sharp, false).expect("resize");
        assert_eq!((r.width, r.height, r.data.len()), (20, 15, 900));
        assert!(r.data.chunks_exact(3).all(|p| p == [200, 100, 50]));
    }

    fn noise(width: u32, height: u32, channels: usize) -> Raster {
        let mut state = 12345u32;
        let data = (0..width as usize * height as usize * channels)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let layout = if channels == 1 { Layout::Luma } else { Layout::Rgb };
        Raster { width, height, layout, data }
    }

    #[test]
    fn resizing_in_two_bands_matches_one_pass_to_within_rounding() {
        for (channels, (w, h), (tw, th)) in [(3, (400, 300), (205, 154)), (1, (300, 401), (150, 200))] {
            let src = noise(w, h, channels);
            let one = resize(&src, tw, th, Filter::Sharp, false).expect("one pass");
            let two = resize(&src, tw, th, Filter::Sharp, true).expect("two bands");
            let worst = one.data.iter().zip(&two.data).map(|(a, b)| a.abs_diff(*b)).max();
            assert_eq!(one.data.len(), two.data.len());
            assert!(worst <= Some(1), "worst difference {worst:?}");
        }
    }

    #[test]
    fn orienting_in_two_bands_matches_one_pass_exactly() {
        for o in 1..=8 {
            for channels in [1, 3] {
                let one = orient(noise(97, 130, channels), o, false).expect("orient");
                let two = orient(noise(97, 130, channels), o, true).expect("orient");
                assert_eq!((one.width, one.height), (two.width, two.height));
                assert!(one.data == two.data, "orientation {o}, {channels} channels");
            }
        }
    }
}
