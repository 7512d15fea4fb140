//! Test inputs built in code: JPEGs and PNGs from pixels, EXIF from a small TIFF writer, and a
//! strict decoder for the outputs. No files, no tools, no network.
#![allow(dead_code)]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];
pub const WHITE: [u8; 3] = [255, 255, 255];

/// RGB image in four flat quadrants: red top-left, green top-right, blue bottom-left, white
/// bottom-right. No two of its 8 flips and rotations look alike.
pub fn quadrants(width: u32, height: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let colour = match (x < width / 2, y < height / 2) {
                (true, true) => RED,
                (false, true) => GREEN,
                (true, false) => BLUE,
                (false, false) => WHITE,
            };
            data.extend_from_slice(&colour);
        }
    }
    data
}

/// Deterministic noise, so that JPEGs have real entropy-coded data to truncate and flip.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect()
}

/// A baseline JPEG of `data` (RGB) at quality 100, 4:4:4 so flat colours survive exactly enough.
pub fn jpeg(data: &[u8], width: u32, height: u32) -> Vec<u8> {
    jpeg_with(data, width, height, ColorType::Rgb, |_| {})
}

pub fn jpeg_with(
    data: &[u8],
    width: u32,
    height: u32,
    color: ColorType,
    configure: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 100);
    encoder.set_sampling_factor(SamplingFactor::F_1_1);
    configure(&mut encoder);
    encoder.encode(data, width as u16, height as u16, color).expect("test JPEG");
    out
}

/// Inserts a segment (marker, payload) right after SOI.
pub fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Inserts an EXIF APP1 segment right after SOI.
pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    with_segment(jpeg, 0xE1, &payload)
}

/// What to put in a hand-built EXIF block.
#[derive(Default, Clone)]
pub struct ExifSpec<'a> {
    pub orientation: Option<u16>,
    pub date_time_original: Option<&'a str>,
    pub offset_time_original: Option<&'a str>,
    pub sub_sec_time_original: Option<&'a str>,
    pub make: Option<&'a str>,
    /// A GPS IFD with latitude 39°54'15" N, longitude 116°24'27" E.
    pub gps: bool,
}

/// GPS latitude seconds numerator, a value to look for in the output bytes.
pub const GPS_SECONDS_MARK: u32 = 0x5EC0_4D5A;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry { tag, kind: 2, count: data.len() as u32, data }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry { tag, kind: 4, count: 1, data: v.to_le_bytes().to_vec() }
}

fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
    let data = values.iter().flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes())).collect();
    Entry { tag, kind: 5, count: values.len() as u32, data }
}

fn ifd_len(entries: &[Entry]) -> usize {
    2 + 12 * entries.len()
        + 4
        + entries.iter().map(|e| if e.data.len() > 4 { e.data.len() } else { 0 }).sum::<usize>()
}

/// Writes one IFD at offset `at` of the TIFF (values over 4 bytes in an area right after it).
fn write_ifd(out: &mut Vec<u8>, at: usize, entries: &mut [Entry]) {
    entries.sort_by_key(|e| e.tag);
    let mut data_at = at + 2 + 12 * entries.len() + 4;
    let mut area = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries.iter() {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = e.data.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(data_at as u32).to_le_bytes());
            data_at += e.data.len();
            area.extend_from_slice(&e.data);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&area);
}

/// A little-endian TIFF block (what follows `Exif\0\0`) with IFD0, an Exif IFD and a GPS IFD.
pub fn tiff(spec: &ExifSpec<'_>) -> Vec<u8> {
    let mut ifd0 = Vec::new();
    if let Some(o) = spec.orientation {
        ifd0.push(Entry { tag: 0x0112, kind: 3, count: 1, data: o.to_le_bytes().to_vec() });
    }
    if let Some(make) = spec.make {
        ifd0.push(ascii(0x010F, make));
    }
    let mut exif = Vec::new();
    if let Some(t) = spec.date_time_original {
        exif.push(ascii(0x9003, t));
    }
    if let Some(t) = spec.offset_time_original {
        exif.push(ascii(0x9011, t));
    }
    if let Some(t) = spec.sub_sec_time_original {
        exif.push(ascii(0x9291, t));
    }
    let mut gps = Vec::new();
    if spec.gps {
        gps.push(Entry { tag: 0x0000, kind: 1, count: 4, data: vec![2, 3, 0, 0] });
        gps.push(ascii(0x0001, "N"));
        gps.push(rationals(0x0002, &[(39, 1), (54, 1), (GPS_SECONDS_MARK, 100_000_000)]));
        gps.push(ascii(0x0003, "E"));
        gps.push(rationals(0x0004, &[(116, 1), (24, 1), (27, 1)]));
    }
    // Pointers are inline LONGs, so IFD0's size is known before their values.
    if !exif.is_empty() {
        ifd0.push(long(0x8769, 0));
    }
    if !gps.is_empty() {
        ifd0.push(long(0x8825, 0));
    }
    let exif_at = 8 + ifd_len(&ifd0);
    let gps_at = exif_at + if exif.is_empty() { 0 } else { ifd_len(&exif) };
    for e in &mut ifd0 {
        match e.tag {
            0x8769 => e.data = (exif_at as u32).to_le_bytes().to_vec(),
            0x8825 => e.data = (gps_at as u32).to_le_bytes().to_vec(),
            _ => {}
        }
    }
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    write_ifd(&mut out, 8, &mut ifd0);
    if !exif.is_empty() {
        write_ifd(&mut out, exif_at, &mut exif);
    }
    if !gps.is_empty() {
        write_ifd(&mut out, gps_at, &mut gps);
    }
    out
}

pub fn png(data: &[u8], width: u32, height: u32, color: png::ColorType, depth: png::BitDepth) -> Vec<u8> {
    png_with_chunk(data, width, height, color, depth, None)
}

/// A PNG, with an extra ancillary chunk before the image data when asked.
pub fn png_with_chunk(
    data: &[u8],
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    chunk: Option<(png::chunk::ChunkType, &[u8])>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    let mut writer = encoder.write_header().expect("PNG header");
    if let Some((kind, bytes)) = chunk {
        writer.write_chunk(kind, bytes).expect("PNG chunk");
    }
    writer.write_image_data(data).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// Decodes one of our outputs strictly, to RGB. Panics (fails the test) if it is not a clean JPEG.
pub fn decode_rgb(jpeg: &[u8]) -> (u32, u32, Vec<u8>) {
    let options = zune_core::options::DecoderOptions::default()
        .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::RGB)
        .set_strict_mode(true);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(jpeg), options);
    let pixels = d.decode().expect("the output is a valid JPEG");
    let info = d.info().expect("info");
    (u32::from(info.width), u32::from(info.height), pixels)
}

pub fn pixel(rgb: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Which of the four quadrant colours `p` is nearest to.
pub fn nearest(p: [u8; 3]) -> &'static str {
    let named = [("red", RED), ("green", GREEN), ("blue", BLUE), ("white", WHITE)];
    let dist = |c: [u8; 3]| (0..3).map(|i| (i32::from(p[i]) - i32::from(c[i])).pow(2)).sum::<i32>();
    named.iter().min_by_key(|(_, c)| dist(*c)).map(|(n, _)| *n).unwrap_or("none")
}

/// The marker of every segment of a JPEG up to its first scan, then what follows the scan.
pub fn markers(jpeg: &[u8]) -> Vec<u8> {
    let mut found = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
        let marker = jpeg[pos + 1];
        found.push(marker);
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        pos += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    found
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
