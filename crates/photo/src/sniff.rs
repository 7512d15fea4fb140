//! What the bytes are, from their magic numbers, so a refusal can name what it got.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Jpeg,
    Png,
    /// An image format we recognise but do not take, named for the message.
    Unsupported(&'static str),
    /// Not an image format we know.
    Unknown,
}

pub(crate) const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    // Short prefixes on purpose: a file cut right after its magic is a truncated JPEG/PNG.
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return Sniffed::Jpeg;
    }
    if bytes.starts_with(&PNG_SIGNATURE[..4]) {
        return Sniffed::Png;
    }
    if let Some(name) = iso_bmff_brand(bytes) {
        return Sniffed::Unsupported(name);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Unsupported("WebP");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Unsupported("GIF");
    }
    // Camera raw formats (DNG, CR2, NEF, ARW) are TIFF containers too.
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Unsupported("TIFF");
    }
    // "BM" alone is too weak: also require a plausible DIB header size.
    if bytes.len() >= 18 && bytes.starts_with(b"BM") {
        let dib = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        if matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Sniffed::Unsupported("BMP");
        }
    }
    if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0CJXL \r\n\x87\n") {
        return Sniffed::Unsupported("JPEG XL");
    }
    if bytes.starts_with(b"\0\0\0\x0CjP  \r\n\x87\n") || bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Sniffed::Unsupported("JPEG 2000");
    }
    Sniffed::Unknown
}

/// HEIC, HEIF, AVIF (and video) files are ISO-BMFF: a leading `ftyp` box lists brands.
fn iso_bmff_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(12, bytes.len().min(4096));
    // Major brand at 8..12, then the minor version, then compatible brands.
    let brands = std::iter::once(&bytes[8..12])
        .chain(bytes.get(16..end).unwrap_or_default().chunks_exact(4))
        .collect::<Vec<_>>();
    let has = |set: &[&[u8; 4]]| brands.iter().any(|b| set.iter().any(|s| *b == s.as_slice()));
    if has(&[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"]) {
        Some("HEIC")
    } else if has(&[b"avif", b"avis"]) {
        Some("AVIF")
    } else if has(&[b"mif1", b"msf1"]) {
        Some("HEIF")
    } else if has(&[b"crx "]) {
        Some("Canon CR3 raw")
    } else {
        Some("MP4/QuickTime video")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut v = (size as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(major);
        v.extend_from_slice(&[0, 0, 0, 0]);
        for b in compatible {
            v.extend_from_slice(*b);
        }
        v.extend_from_slice(&[0; 32]);
        v
    }

    #[test]
    fn heic_is_named_from_its_ftyp_brands_even_when_the_major_brand_is_generic() {
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1"])), Sniffed::Unsupported("HEIC"));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"heic"])), Sniffed::Unsupported("HEIC"));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"miaf"])), Sniffed::Unsupported("HEIF"));
        assert_eq!(sniff(&ftyp(b"avif", &[b"mif1"])), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(&ftyp(b"isom", &[b"mp41"])), Sniffed::Unsupported("MP4/QuickTime video"));
    }

    #[test]
    fn other_image_formats_are_named_by_their_magic_bytes() {
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Sniffed::Unsupported("WebP"));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Sniffed::Unsupported("GIF"));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Sniffed::Unsupported("TIFF"));
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Sniffed::Unsupported("TIFF"));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Sniffed::Unsupported("BMP"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Sniffed::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), Sniffed::Png);
        // Cut right after the magic: still named, so the error can say "truncated".
        assert_eq!(sniff(&[0xFF, 0xD8]), Sniffed::Jpeg);
        assert_eq!(sniff(b"\x89PNG"), Sniffed::Png);
    }

    #[test]
    fn text_and_empty_input_are_unknown_rather_than_a_format() {
        assert_eq!(sniff(b""), Sniffed::Unknown);
        assert_eq!(sniff(b"BMW is a car"), Sniffed::Unknown);
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Unknown);
        assert_eq!(sniff(&[0xD8, 0xFF]), Sniffed::Unknown);
    }
}
