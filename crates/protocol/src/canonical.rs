//! RFC 8785 (JCS) canonical JSON, restricted to what Hearth signs: strings,
//! safe integers, booleans, arrays and objects with `[a-z0-9_]+` keys.
//!
//! Canonical bytes are produced once, at sealing; verifiers check that the
//! bytes they received are already canonical instead of re-serialising.

use serde::Serialize;
use serde_json::Value;

/// Largest integer magnitude JSON can carry exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("not valid UTF-8 JSON: {0}")]
    Malformed(String),
    #[error("a float at {path}: numbers must be integers (temperatures in hundredths of °C)")]
    Float { path: String },
    #[error("a null at {path}: leave the field out instead")]
    Null { path: String },
    #[error("integer at {path} is outside ±(2^53 − 1)")]
    IntegerOutOfRange { path: String },
    #[error("object key {key:?} at {path} is not made of [a-z0-9_]")]
    BadKey { path: String, key: String },
    #[error("bytes are valid JSON but not in RFC 8785 canonical form")]
    NotCanonical,
}

impl CanonicalError {
    /// Stable machine code for `{code, message}` boundaries and receipts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_json",
            Self::Float { .. } => "float_not_allowed",
            Self::Null { .. } => "null_not_allowed",
            Self::IntegerOutOfRange { .. } => "integer_out_of_range",
            Self::BadKey { .. } => "bad_key",
            Self::NotCanonical => "not_canonical",
        }
    }
}

/// Serialises `value` to canonical bytes, refusing what the protocol forbids.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(value).map_err(|e| CanonicalError::Malformed(e.to_string()))?;
    canonicalize(&value)
}

/// Canonical bytes of an already-parsed value.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut String::from("$"), &mut out)?;
    Ok(out)
}

/// Parses `bytes` and checks they are exactly their own canonical form.
/// Returns the parsed value so callers decode once.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| CanonicalError::Malformed(e.to_string()))?;
    let again = canonicalize(&value)?;
    if again != bytes {
        return Err(CanonicalError::NotCanonical);
    }
    Ok(value)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn write_value(value: &Value, path: &mut String, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => Err(CanonicalError::Null { path: path.clone() }),
        Value::Bool(true) => {
            out.extend_from_slice(b"true");
            Ok(())
        }
        Value::Bool(false) => {
            out.extend_from_slice(b"false");
            Ok(())
        }
        Value::Number(n) => {
            let int = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i,
                (None, Some(_)) => {
                    return Err(CanonicalError::IntegerOutOfRange { path: path.clone() });
                }
                (None, None) => return Err(CanonicalError::Float { path: path.clone() }),
            };
            if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&int) {
                return Err(CanonicalError::IntegerOutOfRange { path: path.clone() });
            }
            out.extend_from_slice(int.to_string().as_bytes());
            Ok(())
        }
        Value::String(s) => {
            write_string(s, out);
            Ok(())
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(item, path, out)?;
                path.truncate(len);
            }
            out.push(b']');
            Ok(())
        }
        Value::Object(map) => {
            // Sort explicitly: serde_json's map order depends on crate features.
            // Keys are ASCII, so byte order equals JCS's UTF-16 code-unit order.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if !valid_key(key) {
                    return Err(CanonicalError::BadKey { path: path.clone(), key: key.clone() });
                }
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(key);
                write_value(item, path, out)?;
                path.truncate(len);
            }
            out.push(b'}');
            Ok(())
        }
    }
}

/// JSON string escaping as ECMAScript's `JSON.stringify` does it (RFC 8785 §3.2.2.2).
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_removed() {
        let bytes =
            canonicalize(&json!({"b": 1, "a": [true, false, "x"], "c": {"z": -5, "y": "é"}})).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), r#"{"a":[true,false,"x"],"b":1,"c":{"y":"é","z":-5}}"#);
    }

    #[test]
    fn strings_escape_exactly_as_rfc_8785_requires() {
        let bytes = canonicalize(&json!("q\"b\\\u{8}\u{c}\n\r\t\u{1}\u{1f}/\u{7f}测温")).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/\u{7f}测温\""
        );
    }

    #[test]
    fn floats_nulls_big_integers_and_bad_keys_are_refused() {
        assert!(matches!(parse_canonical(b"{\"t\":18.5}"), Err(CanonicalError::Float { .. })));
        assert!(matches!(parse_canonical(b"{\"t\":1e2}"), Err(CanonicalError::Float { .. })));
        assert!(matches!(parse_canonical(b"{\"t\":null}"), Err(CanonicalError::Null { .. })));
        assert!(matches!(
            parse_canonical(b"{\"t\":9007199254740992}"),
            Err(CanonicalError::IntegerOutOfRange { .. })
        ));
        assert!(matches!(parse_canonical("{\"温度\":1}".as_bytes()), Err(CanonicalError::BadKey { .. })));
        assert!(matches!(parse_canonical(b"{\"Temp\":1}"), Err(CanonicalError::BadKey { .. })));
        assert!(parse_canonical(b"{\"t\":9007199254740991}").is_ok());
    }

    #[test]
    fn non_canonical_bytes_are_refused_even_when_the_json_is_equal() {
        assert_eq!(parse_canonical(b"{\"b\":1,\"a\":2}"), Err(CanonicalError::NotCanonical));
        assert_eq!(parse_canonical(b"{\"a\": 2}"), Err(CanonicalError::NotCanonical));
        // serde_json reads -0 as a float: refused either way.
        assert!(parse_canonical(b"{\"a\":-0}").is_err());
        assert_eq!(parse_canonical(b"\"\\u00e9\""), Err(CanonicalError::NotCanonical));
        assert_eq!(parse_canonical(b"{\"a\":1,\"a\":1}"), Err(CanonicalError::NotCanonical));
        assert!(parse_canonical(b"{\"a\":2,\"b\":1}").is_ok());
    }

    #[test]
    fn malformed_utf8_is_refused_as_malformed() {
        assert!(matches!(parse_canonical(b"\"\xff\xfe\""), Err(CanonicalError::Malformed(_))));
    }
}
