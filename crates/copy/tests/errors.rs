//! Bad input is an error with a stable code, never a panic or a wrong copy.

mod common;

use std::path::Path;

use common::*;
use hearth_copy::*;

#[test]
fn a_missing_font_path_is_font_missing_naming_the_path_and_the_package() {
    let path = Path::new("/nonexistent/fonts/NotoSansCJK-Regular.ttc");
    let err = CjkFont::find(Some(path)).unwrap_err();
    assert_eq!(err.code(), "font_missing");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/fonts/NotoSansCJK-Regular.ttc"), "{msg}");
    assert!(msg.contains("fonts-noto-cjk"), "{msg}");
    assert!(msg.contains(FONT_ENV), "{msg}");
}

#[test]
fn a_file_that_is_not_a_font_is_font_unusable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.ttc");
    std::fs::write(&path, b"this is not a font").unwrap();
    let err = CjkFont::find(Some(&path)).unwrap_err();
    assert_eq!(err.code(), "font_unusable", "{err}");
    assert!(err.to_string().contains("fake.ttc"), "{err}");
    assert_eq!(CjkFont::from_bytes(vec![0; 64], 0).unwrap_err().code(), "font_unusable");
}

#[test]
fn a_face_index_beyond_the_collection_is_font_unusable() {
    let bytes = std::fs::read(font().source()).unwrap();
    let err = CjkFont::from_bytes(bytes, 99).unwrap_err();
    assert_eq!(err.code(), "font_unusable");
    assert!(err.to_string().contains("99"), "{err}");
}

#[test]
fn the_simplified_chinese_face_is_picked_from_the_noto_collection() {
    let f = font();
    assert!(f.name().contains("SC"), "picked {f:?}; the tests expect fonts-noto-cjk's Noto Sans CJK SC");
    // Loading the same bytes at the same index gives the same face.
    let again = CjkFont::from_bytes(std::fs::read(f.source()).unwrap(), f.index()).unwrap();
    assert_eq!(again.name(), f.name());
}

#[test]
fn a_corrupt_signature_png_is_bad_signature_image() {
    let good = signature_png();
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid..mid + 16].fill(0x5a);
    for bytes in [corrupt, good[..good.len() / 3].to_vec(), b"GIF89a".to_vec(), Vec::new()] {
        let mut copy = visit_copy();
        if let Answer::Signed { signature_png, .. } = &mut copy.answer {
            *signature_png = bytes;
        }
        let err = render(&copy, font()).unwrap_err();
        assert_eq!(err.code(), "bad_signature_image", "{err}");
    }
}

#[test]
fn a_blank_signature_is_not_printed_as_signed() {
    let mut copy = visit_copy();
    if let Answer::Signed { signature_png, .. } = &mut copy.answer {
        *signature_png = encode_png(400, 150, png::ColorType::Rgba, &vec![0; 400 * 150 * 4]);
    }
    assert_eq!(render(&copy, font()).unwrap_err().code(), "bad_signature_image");
}

#[test]
fn a_bad_content_hash_or_record_id_is_bad_input() {
    let good = visit_copy();
    let mut upper = good.clone();
    upper.content_hash = upper.content_hash.to_uppercase();
    let mut short = good.clone();
    short.content_hash.truncate(40);
    let mut colon = good.clone();
    colon.record_id = "rec:1".into();
    let mut empty = good.clone();
    empty.record_id.clear();
    for (copy, field) in
        [(upper, "content_hash"), (short, "content_hash"), (colon, "record_id"), (empty, "record_id")]
    {
        let err = render(&copy, font()).unwrap_err();
        assert_eq!(err.code(), "bad_input");
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn a_satisfaction_outside_one_to_five_is_bad_input() {
    for bad in [0, 6, 255] {
        let mut copy = visit_copy();
        if let Answer::Signed { satisfaction, .. } = &mut copy.answer {
            *satisfaction = bad;
        }
        let err = render(&copy, font()).unwrap_err();
        assert_eq!(err.code(), "bad_input");
        assert!(err.to_string().contains("satisfaction"), "{err}");
    }
}

#[test]
fn the_font_and_the_error_can_be_shared_across_threads() {
    // The app loads the font once and keeps it in shared state.
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<CjkFont>();
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    error::<CopyError>();
}
