//! The QR code that ties the paper copy to the sign-off record on the server.

use qrcode::{Color, EcLevel, QrCode};

use crate::CopyError;

const PREFIX: &str = "hearth:copy:v1:";

/// The path of the server's public verification page.
const VERIFY_PATH: &str = "/verify?";

/// The QR code's text. With the server's address, a link a phone's camera
/// opens: `<verify_url>/verify?record=<record_id>&hash=<content_hash_hex64>`
/// (the customer checks the copy without installing anything). Without one
/// (a tablet not yet linked to a server), `hearth:copy:v1:<record_id>:<hash>`,
/// which the verification page also takes pasted.
pub fn qr_payload(verify_url: &str, record_id: &str, content_hash: &str) -> String {
    let base = verify_url.trim().trim_end_matches('/');
    if base.is_empty() {
        format!("{PREFIX}{record_id}:{content_hash}")
    } else {
        format!("{base}{VERIFY_PATH}record={record_id}&hash={content_hash}")
    }
}

/// Reads a scanned payload (either form of [`qr_payload`]) back into
/// `(record_id, content_hash)`, checking both as [`crate::render`] does.
pub fn parse_qr_payload(payload: &str) -> Result<(String, String), CopyError> {
    let bad = |reason: &str| CopyError::BadInput { field: "qr_payload", reason: reason.to_owned() };
    let (id, hash) = if let Some(rest) = payload.strip_prefix(PREFIX) {
        rest.rsplit_once(':').ok_or_else(|| bad("no ':' between record id and hash"))?
    } else if let Some((_, query)) = payload.split_once(VERIFY_PATH) {
        let param = |name: &str| {
            query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        (
            param("record").ok_or_else(|| bad("the link has no record"))?,
            param("hash").ok_or_else(|| bad("the link has no hash"))?,
        )
    } else {
        return Err(bad("is neither hearth:copy:v1:… nor a link to a /verify page"));
    };
    validate(id, hash)?;
    Ok((id.to_owned(), hash.to_owned()))
}

/// The record id is 1–64 of `A-Z a-z 0-9 . _ -` (no ':' so the payload splits
/// unambiguously); the hash is 64 lowercase hex digits (SHA-256).
pub(crate) fn validate(record_id: &str, content_hash: &str) -> Result<(), CopyError> {
    let id_ok = (1..=64).contains(&record_id.len())
        && record_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !id_ok {
        return Err(CopyError::BadInput {
            field: "record_id",
            reason: format!("{record_id:?} is not 1-64 characters of A-Z a-z 0-9 . _ -"),
        });
    }
    let hash_ok =
        content_hash.len() == 64 && content_hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hash_ok {
        return Err(CopyError::BadInput {
            field: "content_hash",
            reason: format!("{content_hash:?} is not 64 lowercase hex digits"),
        });
    }
    Ok(())
}

/// The modules of the code, row by row (`true` = dark), without the quiet zone.
#[derive(Debug)]
pub(crate) struct Matrix {
    pub(crate) width: usize,
    pub(crate) dark: Vec<bool>,
}

impl Matrix {
    /// Level M: a hash and a UUID fit in version 7 (45 modules), big enough
    /// modules at the printed size, and 15 % of the code may be smudged.
    pub(crate) fn encode(payload: &str) -> Result<Self, CopyError> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|e| CopyError::CopyFailed(format!("QR code: {e}")))?;
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
        Ok(Matrix { width: code.width(), dark })
    }

    /// Horizontal runs of dark modules: `(row, first column, length)`. Drawn as
    /// one rectangle each, so no hairline seams appear between modules in a row.
    pub(crate) fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for (y, row) in self.dark.chunks(self.width.max(1)).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let start = x;
                    while x < row.len() && row[x] {
                        x += 1;
                    }
                    runs.push((y, start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn the_payload_has_the_agreed_format_and_parses_back() {
        let p = qr_payload("", "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e", HASH);
        assert_eq!(p, format!("hearth:copy:v1:0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e:{HASH}"));
        let (id, hash) = parse_qr_payload(&p).unwrap();
        assert_eq!((id.as_str(), hash.as_str()), ("0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e", HASH));
    }

    #[test]
    fn with_the_servers_address_the_payload_is_a_link_to_its_verification_page() {
        let p = qr_payload("https://heat.example.cn/ ", "rec-1", HASH);
        assert_eq!(p, format!("https://heat.example.cn/verify?record=rec-1&hash={HASH}"));
        let (id, hash) = parse_qr_payload(&p).unwrap();
        assert_eq!((id.as_str(), hash.as_str()), ("rec-1", HASH));
        for bad in [
            "https://heat.example.cn/verify?record=rec-1".to_owned(),
            format!("https://heat.example.cn/verify?hash={HASH}"),
            format!("https://heat.example.cn/verify?record=a:b&hash={HASH}"),
        ] {
            assert_eq!(parse_qr_payload(&bad).unwrap_err().code(), "bad_input", "{bad}");
        }
    }

    #[test]
    fn a_hash_that_is_not_64_lowercase_hex_is_refused() {
        for bad in
            ["", "abc", &HASH.to_uppercase(), &HASH[..63], &format!("{HASH}0"), &HASH.replace('a', "g")]
        {
            let err = validate("rec-1", bad).unwrap_err();
            assert_eq!(err.code(), "bad_input", "{bad}");
            assert!(err.to_string().contains("content_hash"));
        }
    }

    #[test]
    fn a_record_id_that_is_empty_too_long_or_has_a_colon_is_refused() {
        for bad in ["", "a:b", "记录", "a b", &"x".repeat(65)] {
            assert_eq!(validate(bad, HASH).unwrap_err().code(), "bad_input", "{bad}");
        }
        validate(&"x".repeat(64), HASH).unwrap();
    }

    #[test]
    fn a_payload_from_elsewhere_is_refused() {
        for bad in ["", "hearth:copy:v2:a:b", &format!("https://x/{HASH}"), "hearth:copy:v1:rec"] {
            assert_eq!(parse_qr_payload(bad).unwrap_err().code(), "bad_input", "{bad}");
        }
    }

    #[test]
    fn a_typical_payload_is_a_version_7_code_and_runs_cover_every_dark_module() {
        let m = Matrix::encode(&qr_payload("", "0190f3a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e", HASH)).unwrap();
        assert_eq!(m.width, 45);
        let covered: usize = m.runs().iter().map(|r| r.2).sum();
        assert_eq!(covered, m.dark.iter().filter(|d| **d).count());
    }
}
