//! Ten photos taken in a row — handed over all at once, as a burst from the
//! camera or a multi-select in the picker — are decoded one at a time, so
//! the tablet's memory holds one full-size picture, not ten. Alone in its
//! test binary, so the process's peak memory (VmHWM) is this test's.

mod common;

use std::sync::Arc;

use common::*;

/// The process's peak resident memory so far, in bytes (Linux).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}

/// A 3000×2000 photo-like PNG (noise, so it does not compress to nothing),
/// different for each `seed`.
fn big_png(seed: u32) -> Vec<u8> {
    let (w, h) = (3000u32, 2000u32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    for i in 0..w * h {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let base = ((i % w) * 255 / w) as u8;
        px.extend_from_slice(&[base, (x & 0x3f) as u8 + 96, 255 - base]);
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&px).unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn ten_photos_handed_over_at_once_are_decoded_one_at_a_time_in_bounded_memory() {
    let mut photos: Vec<Vec<u8>> = (0..10).map(big_png).collect();
    let f = Arc::new(signed_in());
    // One photo alone first: what a single decode costs at its peak.
    f.app.put_photo(&photos.remove(0)).unwrap();
    let after_one = peak_rss();
    let threads: Vec<_> = photos
        .into_iter()
        .map(|bytes| {
            let f = f.clone();
            std::thread::spawn(move || f.app.put_photo(&bytes).map(|p| p.sha256))
        })
        .collect();
    let mut stored: Vec<String> = threads.into_iter().map(|t| t.join().unwrap().unwrap()).collect();
    let after_ten = peak_rss();
    stored.sort();
    stored.dedup();
    assert_eq!(stored.len(), 9, "every photo stored");
    // A 6-megapixel decode needs about 18 MB of pixels plus buffers; nine at
    // once would need several times the first one's peak. One at a time, the
    // peak hardly moves (the nine inputs themselves, ~80 MB, were already held).
    let grew = after_ten.saturating_sub(after_one);
    eprintln!("peak after one photo {} MB, after ten {} MB", after_one >> 20, after_ten >> 20);
    assert!(
        grew < 48 << 20,
        "peak memory grew by {} MB while nine photos waited their turn (one alone peaked at {} MB)",
        grew >> 20,
        after_one >> 20
    );
}
