//! Property tests: garbage, truncated and bit-flipped inputs give `Err` or a valid photo — never
//! a panic. Decoder panics would be caught by `ingest`'s last-resort guard, so a panic hook
//! counts every panic anywhere in this binary and each case asserts the count is still zero.

mod common;

use common::*;
use hearth_photo::{PhotoLimits, ingest};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// Real files to damage: baseline and progressive JPEG (4:4:4 and 4:2:0, with EXIF), grayscale
/// JPEG, and PNGs of several colour types and depths.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let (w, h) = (48u32, 40u32);
        let rgb = noise((w * h * 3) as usize, 1);
        let exif = tiff(&ExifSpec {
            orientation: Some(6),
            date_time_original: Some("2024:03:15 14:30:05"),
            offset_time_original: Some("+08:00"),
            gps: true,
            ..Default::default()
        });
        let rgba = noise((w * h * 4) as usize, 2);
        let rgb16 = noise((w * h * 6) as usize, 3);
        let gray = noise((w * h) as usize, 4);
        vec![
            with_exif(&jpeg(&rgb, w, h), &exif),
            jpeg_with(&rgb, w, h, jpeg_encoder::ColorType::Rgb, |e| {
                e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2)
            }),
            jpeg_with(&rgb, w, h, jpeg_encoder::ColorType::Rgb, |e| e.set_progressive(true)),
            jpeg_with(&gray, w, h, jpeg_encoder::ColorType::Luma, |e| e.set_restart_interval(2)),
            png(&rgb, w, h, png::ColorType::Rgb, png::BitDepth::Eight),
            png(&rgba, w, h, png::ColorType::Rgba, png::BitDepth::Eight),
            png(&rgb16, w, h, png::ColorType::Rgb, png::BitDepth::Sixteen),
            png_with_chunk(
                &gray,
                w,
                h,
                png::ColorType::Grayscale,
                png::BitDepth::Eight,
                Some((png::chunk::eXIf, &exif)),
            ),
        ]
    })
}

/// The property: no panic, and an accepted input yields two clean JPEGs of sane size.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    count_panics();
    let result = ingest(bytes, &PhotoLimits::default());
    prop_assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a panic happened (maybe caught inside ingest)");
    match result {
        Err(e) => {
            prop_assert!(["unsupported_photo", "photo_too_large", "photo_unreadable"].contains(&e.code()));
            prop_assert!(!e.to_string().is_empty());
        }
        Ok(p) => {
            for image in [&p.photo, &p.thumbnail] {
                let (w, h, _) = decode_rgb(&image.bytes);
                prop_assert_eq!((w, h), (image.width, image.height));
                prop_assert!(w.max(h) <= hearth_photo::MAX_LONG_EDGE && w >= 1 && h >= 1);
                prop_assert!(!contains(&image.bytes, b"Exif"));
            }
        }
    }
    Ok(())
}

/// 400 cases per property by default (seconds in CI); `PROPTEST_CASES=100000` for a long run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn garbage_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes)?;
    }

    #[test]
    fn garbage_behind_a_jpeg_or_png_signature_never_panics(
        png_magic in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = if png_magic { b"\x89PNG\r\n\x1a\n".to_vec() } else { vec![0xFF, 0xD8, 0xFF] };
        bytes.extend_from_slice(&tail);
        check(&bytes)?;
    }

    #[test]
    fn real_files_truncated_at_any_length_never_panic(seed in 0..8usize, cut in 0.0..1.0f64) {
        let full = &seeds()[seed];
        let len = (full.len() as f64 * cut) as usize;
        check(&full[..len])?;
        // Every cut short of the last bytes is refused outright.
        if len + 2 < full.len() {
            prop_assert!(ingest(&full[..len], &PhotoLimits::default()).is_err(), "cut at {} of {}", len, full.len());
        }
    }

    #[test]
    fn real_files_with_random_bits_flipped_never_panic(
        seed in 0..8usize,
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), 0..8u8), 1..12),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        check(&bytes)?;
    }

    #[test]
    fn real_files_with_random_bytes_overwritten_in_the_headers_never_panic(
        seed in 0..8usize,
        writes in proptest::collection::vec((0..400usize, any::<u8>()), 1..8),
    ) {
        // The first few hundred bytes hold the markers, lengths, tables and EXIF: where parsers break.
        let mut bytes = seeds()[seed].clone();
        for (at, value) in writes {
            if at < bytes.len() {
                bytes[at] = value;
            }
        }
        check(&bytes)?;
    }
}

#[test]
fn the_seeds_themselves_are_accepted() {
    for (i, seed) in seeds().iter().enumerate() {
        assert!(ingest(seed, &PhotoLimits::default()).is_ok(), "seed {i}");
    }
}
