//! What `ingest` promises, one behaviour per test, on inputs built in code.

mod common;

use common::*;
use hearth_photo::{CaptureTime, PhotoError, PhotoLimits, SourceFormat, ingest};
use sha2::{Digest, Sha256};

fn ok(bytes: &[u8]) -> hearth_photo::IngestedPhoto {
    match ingest(bytes, &PhotoLimits::default()) {
        Ok(p) => p,
        Err(e) => panic!("refused: {e} ({})", e.code()),
    }
}

fn refused(bytes: &[u8]) -> PhotoError {
    match ingest(bytes, &PhotoLimits::default()) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e,
    }
}

/// The colours at the four corners (inset by a quarter of each quadrant) of a decoded output.
fn corners(jpeg: &[u8]) -> (u32, u32, [&'static str; 4]) {
    let (w, h, rgb) = decode_rgb(jpeg);
    let (x0, x1, y0, y1) = (w / 8, w - 1 - w / 8, h / 8, h - 1 - h / 8);
    let at = |x, y| nearest(pixel(&rgb, w, x, y));
    (w, h, [at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1)])
}

#[test]
fn every_exif_orientation_turns_the_pixels_upright_and_the_tag_is_gone() {
    // Stored: red top-left, green top-right, blue bottom-left, white bottom-right (64 × 48).
    // Expected upright corners (TL, TR, BL, BR) and size, from the EXIF definition of each value.
    let expected: [(u8, (u32, u32), [&str; 4]); 8] = [
        (1, (64, 48), ["red", "green", "blue", "white"]),
        (2, (64, 48), ["green", "red", "white", "blue"]),
        (3, (64, 48), ["white", "blue", "green", "red"]),
        (4, (64, 48), ["blue", "white", "red", "green"]),
        (5, (48, 64), ["red", "blue", "green", "white"]),
        (6, (48, 64), ["blue", "red", "white", "green"]),
        (7, (48, 64), ["white", "green", "blue", "red"]),
        (8, (48, 64), ["green", "white", "red", "blue"]),
    ];
    let stored = jpeg(&quadrants(64, 48), 64, 48);
    for (orientation, (w, h), colours) in expected {
        let tagged = with_exif(
            &stored,
            &tiff(&ExifSpec { orientation: Some(orientation.into()), ..Default::default() }),
        );
        let p = ok(&tagged);
        assert_eq!((p.photo.width, p.photo.height), (w, h), "orientation {orientation}");
        assert_eq!(corners(&p.photo.bytes), (w, h, colours), "photo, orientation {orientation}");
        assert_eq!(corners(&p.thumbnail.bytes), (w, h, colours), "thumbnail, orientation {orientation}");
        assert!(
            !contains(&p.photo.bytes, b"Exif"),
            "orientation {orientation}: no EXIF left to rotate it again"
        );
    }
}

#[test]
fn orientation_is_read_from_a_png_exif_chunk_too() {
    let tiff = tiff(&ExifSpec { orientation: Some(6), ..Default::default() });
    let png = png_with_chunk(
        &quadrants(64, 48),
        64,
        48,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        Some((png::chunk::eXIf, &tiff)),
    );
    let p = ok(&png);
    assert_eq!(p.source, SourceFormat::Png);
    assert_eq!(corners(&p.photo.bytes), (48, 64, ["blue", "red", "white", "green"]));
}

#[test]
fn gps_and_every_other_metadata_segment_are_absent_from_both_outputs() {
    let spec = ExifSpec {
        orientation: Some(1),
        date_time_original: Some("2024:03:15 14:30:05"),
        make: Some("SecretPhoneMaker"),
        gps: true,
        ..Default::default()
    };
    let base = jpeg(&noise(96 * 64 * 3, 7), 96, 64);
    let mut input = with_exif(&base, &tiff(&spec));
    input =
        with_segment(&input, 0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPSLatitude 39.9</x:xmpmeta>");
    input = with_segment(&input, 0xE2, b"ICC_PROFILE\0\x01\x01fake profile bytes");
    input = with_segment(&input, 0xED, b"Photoshop 3.0\08BIM IPTC caption: flat 301");
    input = with_segment(&input, 0xFE, b"comment: customer Wang, flat 301");
    // Trailing data after EOI, as phones append depth maps and gain maps.
    input.extend_from_slice(b"\xFF\xD8trailing second image with GPS");
    assert!(contains(&input, &GPS_SECONDS_MARK.to_le_bytes()), "the input really carries the GPS IFD");

    let p = ok(&input);
    for (what, out) in [("photo", &p.photo.bytes), ("thumbnail", &p.thumbnail.bytes)] {
        let found = markers(out);
        assert!(
            found.iter().all(|m| matches!(m, 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDD | 0xDA)),
            "{what}: only JFIF, tables, frame and scan segments, found {found:02X?}"
        );
        assert!(!found.contains(&0xE1), "{what}: no APP1 (EXIF/XMP)");
        for needle in [
            &b"Exif"[..],
            b"GPS",
            b"xmpmeta",
            b"ICC_PROFILE",
            b"Photoshop",
            b"Wang",
            b"SecretPhoneMaker",
            b"2024:03:15",
            b"trailing",
            &GPS_SECONDS_MARK.to_le_bytes(),
            &GPS_SECONDS_MARK.to_be_bytes(),
        ] {
            assert!(!contains(out, needle), "{what} contains {:?}", String::from_utf8_lossy(needle));
        }
        assert!(out.ends_with(&[0xFF, 0xD9]), "{what} ends at its EOI");
    }
    // The capture time is returned as data instead.
    assert!(p.captured.is_some());
}

#[test]
fn the_capture_time_and_its_offset_are_returned_as_data() {
    let spec = ExifSpec {
        date_time_original: Some("2024:03:15 14:30:05"),
        offset_time_original: Some("+08:00"),
        sub_sec_time_original: Some("25"),
        ..Default::default()
    };
    let p = ok(&with_exif(&jpeg(&quadrants(16, 16), 16, 16), &tiff(&spec)));
    let expected = chrono::NaiveDate::from_ymd_opt(2024, 3, 15)
        .and_then(|d| d.and_hms_milli_opt(14, 30, 5, 250))
        .map(|local| CaptureTime { local, offset_minutes: Some(480) });
    assert_eq!(p.captured, expected);

    let west = ExifSpec {
        date_time_original: Some("2023:12:31 23:59:59"),
        offset_time_original: Some("-05:30"),
        ..spec
    };
    let p = ok(&with_exif(&jpeg(&quadrants(16, 16), 16, 16), &tiff(&west)));
    assert_eq!(p.captured.map(|c| c.offset_minutes), Some(Some(-330)));
}

#[test]
fn a_missing_or_unset_capture_time_is_none_rather_than_an_error() {
    assert_eq!(ok(&jpeg(&quadrants(16, 16), 16, 16)).captured, None);
    let unset = ExifSpec { date_time_original: Some("0000:00:00 00:00:00"), ..Default::default() };
    assert_eq!(ok(&with_exif(&jpeg(&quadrants(16, 16), 16, 16), &tiff(&unset))).captured, None);
    let no_offset = ExifSpec { date_time_original: Some("2024:01:02 03:04:05"), ..Default::default() };
    let p = ok(&with_exif(&jpeg(&quadrants(16, 16), 16, 16), &tiff(&no_offset)));
    assert_eq!(
        p.captured.map(|c| (c.local.to_string(), c.offset_minutes)),
        Some(("2024-01-02 03:04:05".into(), None))
    );
}

#[test]
fn a_header_declaring_20000_by_20000_pixels_is_refused_from_the_header_alone() {
    // Only headers, no pixel data at all: had the decoder been started, it would have failed
    // with "truncated", not with the pixel limit.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    jpeg.extend_from_slice(&20000u16.to_be_bytes());
    jpeg.extend_from_slice(&20000u16.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x0C, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&20000u32.to_be_bytes());
    png.extend_from_slice(&20000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);

    for input in [jpeg, png] {
        let e = refused(&input);
        assert_eq!(e, PhotoError::TooManyPixels { width: 20000, height: 20000, max_pixels: 100_000_000 });
        assert_eq!(e.code(), "photo_too_large");
        assert!(
            e.to_string().contains("400 megapixels") && e.to_string().contains("limit is 100 megapixels"),
            "{e}"
        );
    }
}

#[test]
fn an_image_under_the_pixel_limit_that_needs_too_much_memory_is_refused_too() {
    // 9000 × 9000 = 81 MP is under 100 MP, but 243 MB of RGB plus resize buffers is over 256 MiB.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&9000u32.to_be_bytes());
    png.extend_from_slice(&9000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let e = refused(&png);
    assert!(matches!(e, PhotoError::TooMuchMemory { max, .. } if max == 256 << 20), "{e:?}");
    assert_eq!(e.code(), "photo_too_large");
    assert!(e.to_string().contains("256 MiB"), "{e}");

    // And the limit is the caller's: a small budget refuses a small photo.
    let tight = PhotoLimits { max_decode_bytes: 10_000, ..PhotoLimits::default() };
    let e = ingest(&jpeg(&quadrants(64, 64), 64, 64), &tight).expect_err("over budget");
    assert_eq!(e.code(), "photo_too_large");
}

#[test]
fn a_file_over_the_byte_limit_is_refused_before_it_is_looked_at() {
    let limits = PhotoLimits { max_input_bytes: 1000, ..PhotoLimits::default() };
    let e = ingest(&[0u8; 1001], &limits).expect_err("too big");
    assert_eq!(e, PhotoError::FileTooLarge { len: 1001, max: 1000 });
    assert_eq!(e.code(), "photo_too_large");
    assert_eq!(PhotoLimits::default().max_input_bytes, 40 << 20);
}

#[test]
fn truncated_jpegs_and_pngs_are_refused_as_unreadable() {
    let data = noise(128 * 96 * 3, 3);
    let jpeg = jpeg(&data, 128, 96);
    let png = png(&data, 128, 96, png::ColorType::Rgb, png::BitDepth::Eight);
    for (kind, full) in [("JPEG", jpeg), ("PNG", png)] {
        for cut in [2, 4, 20, full.len() / 3, full.len() / 2, full.len() - 100, full.len() - 12] {
            let e = refused(&full[..cut]);
            assert_eq!(e.code(), "photo_unreadable", "{kind} cut at {cut}/{}: {e}", full.len());
        }
        // Cut in the middle of the pixels, the message says so.
        let e = refused(&full[..full.len() / 2]);
        assert!(e.to_string().contains("truncated"), "{kind}: {e}");
    }
}

#[test]
fn heic_is_refused_by_name_with_the_formats_that_work() {
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0; 64]);
    let e = refused(&heic);
    assert_eq!(e, PhotoError::Unsupported { format: "HEIC" });
    assert_eq!(e.code(), "unsupported_photo");
    let message = e.to_string();
    assert!(message.contains("HEIC") && message.contains("JPEG or PNG"), "{message}");
}

#[test]
fn webp_gif_tiff_and_bmp_are_refused_by_name() {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0; 12]);
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&[0; 40]);
    for (bytes, name) in [
        (b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0".to_vec(), "WebP"),
        (b"GIF89a\x01\0\x01\0\x80\0\0".to_vec(), "GIF"),
        (b"II*\0\x08\0\0\0\0\0".to_vec(), "TIFF"),
        (bmp, "BMP"),
    ] {
        let e = refused(&bytes);
        assert_eq!(e.code(), "unsupported_photo", "{name}");
        assert!(e.to_string().contains(name) && e.to_string().contains("JPEG or PNG"), "{e}");
    }
}

#[test]
fn bytes_that_are_no_image_at_all_are_unreadable() {
    for bytes in [&b""[..], b"hello, this is a text file", &[0u8; 100], b"%PDF-1.7\n"] {
        let e = refused(bytes);
        assert_eq!(e.code(), "photo_unreadable");
        assert!(e.to_string().contains("not an image"), "{e}");
    }
}

#[test]
fn a_png_with_alpha_is_flattened_onto_white() {
    // Left half fully transparent (black underneath), right half opaque red; a 50 % black strip.
    let (w, h) = (64u32, 32u32);
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let px = if y >= 28 {
                [0, 0, 0, 128]
            } else if x < w / 2 {
                [0, 0, 0, 0]
            } else {
                [255, 0, 0, 255]
            };
            rgba.extend_from_slice(&px);
        }
    }
    let p = ok(&png(&rgba, w, h, png::ColorType::Rgba, png::BitDepth::Eight));
    let (ow, _, rgb) = decode_rgb(&p.photo.bytes);
    let near = |a: [u8; 3], b: [u8; 3]| (0..3).all(|i| a[i].abs_diff(b[i]) <= 8);
    assert!(near(pixel(&rgb, ow, 8, 8), WHITE), "transparent is white: {:?}", pixel(&rgb, ow, 8, 8));
    assert!(near(pixel(&rgb, ow, 56, 8), RED), "opaque stays red: {:?}", pixel(&rgb, ow, 56, 8));
    assert!(
        near(pixel(&rgb, ow, 8, 31), [127, 127, 127]),
        "half black is grey: {:?}",
        pixel(&rgb, ow, 8, 31)
    );
}

#[test]
fn a_palette_png_with_a_transparent_entry_is_expanded_and_flattened() {
    // Palette: 0 = red, 1 = transparent blue; left half index 0, right half index 1.
    let (w, h) = (16u32, 8u32);
    let indices: Vec<u8> = (0..w * h).map(|i| u8::from(i % w >= w / 2)).collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 0, 255]);
    encoder.set_trns(vec![255, 0]);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&indices).expect("data");
    writer.finish().expect("end");
    let p = ok(&bytes);
    let (ow, _, rgb) = decode_rgb(&p.photo.bytes);
    assert_eq!(nearest(pixel(&rgb, ow, 2, 4)), "red");
    assert_eq!(nearest(pixel(&rgb, ow, 13, 4)), "white", "transparent blue is white, not blue");
}

#[test]
fn grey_and_rgb_pngs_with_a_transparent_colour_are_flattened_too() {
    // tRNS on a colour type without alpha: the value 0 (black) is transparent.
    for (color, trns, samples) in
        [(png::ColorType::Grayscale, vec![0, 0], 1), (png::ColorType::Rgb, vec![0, 0, 0, 0, 0, 0], 3)]
    {
        let (w, h) = (16u32, 8u32);
        let data: Vec<u8> =
            (0..w * h).flat_map(|i| vec![if i % w < w / 2 { 0 } else { 60 }; samples]).collect();
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_trns(trns);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(&data).expect("data");
        writer.finish().expect("end");
        let p = ok(&bytes);
        let (ow, _, rgb) = decode_rgb(&p.photo.bytes);
        assert_eq!(nearest(pixel(&rgb, ow, 2, 4)), "white", "{color:?}: transparent black is white");
        assert!(pixel(&rgb, ow, 13, 4).iter().all(|v| v.abs_diff(60) <= 4), "{color:?}: opaque grey stays");
    }
}

#[test]
fn a_16_bit_png_is_reduced_to_8_bits() {
    // RGB16: left half 0x8080 grey, right half full blue.
    let (w, h) = (32u32, 16u32);
    let mut data = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            let px: [u16; 3] = if x < w / 2 { [0x8080; 3] } else { [0, 0, 0xFFFF] };
            data.extend(px.iter().flat_map(|v| v.to_be_bytes()));
        }
    }
    let p = ok(&png(&data, w, h, png::ColorType::Rgb, png::BitDepth::Sixteen));
    let (ow, oh, rgb) = decode_rgb(&p.photo.bytes);
    assert_eq!((ow, oh), (32, 16));
    assert!(pixel(&rgb, ow, 4, 8).iter().all(|v| v.abs_diff(128) <= 3), "{:?}", pixel(&rgb, ow, 4, 8));
    assert_eq!(nearest(pixel(&rgb, ow, 28, 8)), "blue");
}

#[test]
fn grayscale_jpegs_and_pngs_stay_grayscale() {
    let gray: Vec<u8> = (0..64 * 32).map(|i| ((i % 64) * 4) as u8).collect();
    let jpeg_gray = jpeg_with(&gray, 64, 32, jpeg_encoder::ColorType::Luma, |_| {});
    let png_gray = png(&gray, 64, 32, png::ColorType::Grayscale, png::BitDepth::Eight);
    for input in [jpeg_gray, png_gray] {
        let p = ok(&input);
        // One component in the frame header: SOF0 length 11 = 8 + 3 × 1.
        let sof = p.photo.bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF0");
        assert_eq!(p.photo.bytes[sof + 9], 1, "one component");
        let (w, _, rgb) = decode_rgb(&p.photo.bytes);
        let left = pixel(&rgb, w, 2, 16)[0];
        let right = pixel(&rgb, w, 61, 16)[0];
        assert!(left < 20 && right > 230, "gradient kept: {left} … {right}");
    }
}

#[test]
fn a_cmyk_jpeg_is_converted_to_rgb() {
    // Ink values (0 = no ink): left half full cyan, right half 50 % black.
    let (w, h) = (32u32, 16u32);
    let mut cmyk = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            cmyk.extend_from_slice(&if x < w / 2 { [255, 0, 0, 0] } else { [0, 0, 0, 128] });
        }
    }
    let input = jpeg_with(&cmyk, w, h, jpeg_encoder::ColorType::Cmyk, |_| {});
    assert!(contains(&input, b"Adobe"), "a real Adobe-style CMYK JPEG");
    let p = ok(&input);
    let (ow, _, rgb) = decode_rgb(&p.photo.bytes);
    let cyan = pixel(&rgb, ow, 4, 8);
    let grey = pixel(&rgb, ow, 28, 8);
    assert!(cyan[0] < 30 && cyan[1] > 225 && cyan[2] > 225, "cyan: {cyan:?}");
    assert!(grey.iter().all(|v| v.abs_diff(127) <= 6), "grey: {grey:?}");
}

#[test]
fn a_one_pixel_image_gives_a_one_pixel_photo_and_thumbnail() {
    for input in [jpeg(&RED, 1, 1), png(&RED, 1, 1, png::ColorType::Rgb, png::BitDepth::Eight)] {
        let p = ok(&input);
        assert_eq!((p.photo.width, p.photo.height, p.thumbnail.width, p.thumbnail.height), (1, 1, 1, 1));
        let (w, h, rgb) = decode_rgb(&p.photo.bytes);
        assert_eq!((w, h), (1, 1));
        assert_eq!(nearest(pixel(&rgb, 1, 0, 0)), "red");
    }
}

#[test]
fn the_long_edge_is_fitted_to_2048_and_never_enlarged() {
    assert_eq!(hearth_photo::fit_long_edge(4000, 3000, 2048), (2048, 1536));
    assert_eq!(hearth_photo::fit_long_edge(3000, 4000, 2048), (1536, 2048));
    assert_eq!(hearth_photo::fit_long_edge(2048, 1536, 320), (320, 240));
    assert_eq!(hearth_photo::fit_long_edge(1000, 800, 2048), (1000, 800));
    assert_eq!(hearth_photo::fit_long_edge(100_000, 3, 2048), (2048, 1));
    assert_eq!(hearth_photo::fit_long_edge(4032, 3024, 2048), (2048, 1536));
    let small = ok(&jpeg(&quadrants(300, 200), 300, 200));
    assert_eq!((small.photo.width, small.photo.height), (300, 200), "not enlarged");
    assert_eq!((small.thumbnail.width, small.thumbnail.height), (300, 200), "not enlarged either");
}

#[test]
fn a_4000_by_3000_photo_becomes_2048_by_1536_and_turned_by_orientation_6_becomes_1536_by_2048() {
    let stored = jpeg(&quadrants(4000, 3000), 4000, 3000);
    let p = ok(&stored);
    assert_eq!((p.photo.width, p.photo.height), (2048, 1536));
    assert_eq!((p.thumbnail.width, p.thumbnail.height), (320, 240));
    assert_eq!(corners(&p.photo.bytes), (2048, 1536, ["red", "green", "blue", "white"]));

    let turned = ok(&with_exif(&stored, &tiff(&ExifSpec { orientation: Some(6), ..Default::default() })));
    assert_eq!((turned.photo.width, turned.photo.height), (1536, 2048));
    assert_eq!((turned.thumbnail.width, turned.thumbnail.height), (240, 320));
    assert_eq!(corners(&turned.photo.bytes), (1536, 2048, ["blue", "red", "white", "green"]));
    assert_eq!(corners(&turned.thumbnail.bytes), (240, 320, ["blue", "red", "white", "green"]));
}

#[test]
fn the_hashes_are_the_lowercase_hex_sha256_of_the_returned_bytes() {
    let p = ok(&jpeg(&noise(600 * 400 * 3, 11), 600, 400));
    for image in [&p.photo, &p.thumbnail] {
        let expected: String = Sha256::digest(&image.bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(image.sha256, expected);
        assert_eq!(image.sha256.len(), 64);
    }
    assert_ne!(p.photo.sha256, p.thumbnail.sha256);
    assert_eq!((p.thumbnail.width, p.thumbnail.height), (320, 213));
}

#[test]
fn the_same_input_gives_byte_identical_outputs() {
    let input = jpeg(&noise(2500 * 1200 * 3, 5), 2500, 1200);
    let (a, b) = (ok(&input), ok(&input));
    assert_eq!(a, b);
    assert_eq!((a.photo.width, a.photo.height), (2048, 983));
}

#[test]
fn a_progressive_jpeg_is_accepted() {
    let input =
        jpeg_with(&quadrants(200, 100), 200, 100, jpeg_encoder::ColorType::Rgb, |e| e.set_progressive(true));
    assert!(contains(&input, &[0xFF, 0xC2]), "really progressive");
    let p = ok(&input);
    assert_eq!(p.source, SourceFormat::Jpeg);
    assert_eq!(corners(&p.photo.bytes), (200, 100, ["red", "green", "blue", "white"]));
}

#[test]
fn the_output_is_always_a_baseline_jpeg_at_quality_82() {
    let p = ok(&png(&noise(500 * 300 * 3, 9), 500, 300, png::ColorType::Rgb, png::BitDepth::Eight));
    assert_eq!(p.source, SourceFormat::Png);
    assert_eq!(hearth_photo::MEDIA_TYPE, "image/jpeg");
    assert!(p.photo.bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]) && contains(&p.photo.bytes, b"JFIF\0"));
    assert!(contains(&p.photo.bytes, &[0xFF, 0xC0]) && !contains(&p.photo.bytes, &[0xFF, 0xC2]), "baseline");
    // jpeg-encoder at quality 82 writes exactly this luma quantisation table.
    let dqt = p.photo.bytes.windows(2).position(|w| w == [0xFF, 0xDB]).expect("DQT");
    let mut q82 = Vec::new();
    jpeg_encoder::Encoder::new(&mut q82, 82)
        .encode(&[0; 48], 4, 4, jpeg_encoder::ColorType::Rgb)
        .expect("q82");
    let dqt82 = q82.windows(2).position(|w| w == [0xFF, 0xDB]).expect("DQT");
    assert_eq!(p.photo.bytes[dqt..dqt + 69], q82[dqt82..dqt82 + 69], "quantisation table of quality 82");
}
