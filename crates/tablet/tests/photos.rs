//! Photos through `App`: what a camera hands over is stored upright, small
//! enough, without a byte of its metadata, with a thumbnail for the screens,
//! and the capture time moves from the file into the record.

mod common;

use chrono::TimeZone;
use common::*;
use hearth_domain::*;

/// The JPEG segments before the image data: (marker, payload).
fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        out.push((marker, jpeg[i + 4..i + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    out
}

/// Width and height from the JPEG's start-of-frame segment.
fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    let (_, sof) =
        segments(jpeg).into_iter().find(|(m, _)| matches!(m, 0xC0..=0xC2)).expect("a start-of-frame segment");
    (u32::from(u16::from_be_bytes([sof[3], sof[4]])), u32::from(u16::from_be_bytes([sof[1], sof[2]])))
}

/// The meter picture is lit from above: upright, its top rows are brighter
/// than its bottom rows and its left and right edges alike. Turned the wrong
/// way, the light background moves to a side or to the bottom.
fn assert_upright(jpeg: &[u8]) {
    let options = zune_core::options::DecoderOptions::default()
        .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::Luma);
    let luma = zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(jpeg), options)
        .decode()
        .expect("the stored photo decodes");
    let (w, h) = jpeg_size(jpeg);
    let (w, h) = (w as usize, h as usize);
    let mean = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
        let n = (xs.len() * ys.len()) as f64;
        ys.flat_map(|y| xs.clone().map(move |x| y * w + x)).map(|i| f64::from(luma[i])).sum::<f64>() / n
    };
    let (top, bottom) = (mean(0..w, 0..h / 10), mean(0..w, h - h / 10..h));
    let (left, right) = (mean(0..w / 10, 0..h), mean(w - w / 10..w, 0..h));
    assert!(top - bottom > 40.0, "the light background is at the top: top {top:.0}, bottom {bottom:.0}");
    assert!((left - right).abs() < 15.0, "the sides alike: left {left:.0}, right {right:.0}");
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_camera_photo_is_stored_upright_without_its_metadata_and_its_capture_time_goes_into_the_record() {
    assert!(
        contains(CAMERA_JPEG, b"HearthTestCam") && contains(CAMERA_JPEG, b"Exif"),
        "the fixture has EXIF"
    );
    let f = signed_in();
    let photo = f.app.put_photo(CAMERA_JPEG).unwrap();
    assert_eq!(photo.media_type, "image/jpeg");
    let sha: hearth_protocol::Digest = photo.sha256.parse().unwrap();
    let stored = f.app.store().lock().unwrap().read_blob(&sha).unwrap().expect("the photo is stored");
    assert_eq!(stored.len() as u64, photo.size);
    // The camera stored the meter on its side (900 × 1200) and said so with orientation 6.
    assert_eq!(jpeg_size(&stored), (1200, 900), "turned upright by its EXIF orientation (6)");
    assert_upright(&stored);
    let markers: Vec<u8> = segments(&stored).iter().map(|(m, _)| *m).collect();
    assert!(
        markers.iter().all(|m| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
        "no APP1–APP15 (EXIF, XMP, ICC…) nor comment segments: {markers:02X?}"
    );
    for secret in [&b"Exif"[..], b"HearthTestCam", b"GPS", b"2026:11:23"] {
        assert!(!contains(&stored, secret), "{:?} must not survive", String::from_utf8_lossy(secret));
    }

    // The thumbnail stays on the tablet for the screens.
    let url = f.app.photo_thumbnail_data_url(&photo.sha256).unwrap();
    let b64 = url.strip_prefix("data:image/jpeg;base64,").expect("a JPEG data URL");
    use base64::Engine as _;
    let thumb = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert_eq!(jpeg_size(&thumb), (320, 240), "320 px on the long edge");
    assert_upright(&thumb);
    assert_eq!(code(f.app.photo_thumbnail_data_url(&"ab".repeat(32))), "unknown_photo");

    // Named in a step, the photo's attachment carries the capture time the file said.
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let v = f.app.complete_step(REPAIR, arrival(vec![Sha256Hex::parse(&photo.sha256).unwrap()])).unwrap();
    let store = f.app.store().lock().unwrap();
    let record = store.chain_record(&v.steps[1].record.record_id).unwrap().unwrap();
    let attachment = &record.content.attachments[0];
    let taken =
        chrono::FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 11, 23, 10, 5, 12).unwrap();
    assert_eq!(attachment.captured_at_ms, Some(taken.timestamp_millis()), "10:05:12 +08:00, from the EXIF");
    assert_eq!((attachment.size, attachment.media_type.as_str()), (photo.size, "image/jpeg"));
}

#[test]
fn the_same_photo_taken_twice_is_stored_once() {
    let f = signed_in();
    let a = f.app.put_photo(CAMERA_JPEG).unwrap();
    let b = f.app.put_photo(CAMERA_JPEG).unwrap();
    assert_eq!(a, b, "encoding is deterministic, so the same picture has the same hash");
    assert_eq!(f.app.sync_status().unwrap().pending_blobs, 1, "one file to send");
}
