//! SHA-256 digests with the domain-separation prefixes of protocol §4.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

pub const CONTENT_PREFIX: &[u8] = b"hearth/content/v1\n";
pub const SIGS_PREFIX: &[u8] = b"hearth/sigs/v1\n";
pub const ENTRY_PREFIX: &[u8] = b"hearth/entry/v1\n";
pub const GENESIS_PREFIX: &[u8] = b"hearth/genesis/v1\n";
pub const KID_PREFIX: &[u8] = b"hearth/kid/v1\n";

/// A SHA-256 digest, shown and serialised as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hash: expected 64 lowercase hex characters")]
pub struct BadDigest;

impl FromStr for Digest {
    type Err = BadDigest;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Lowercase only: one hash, one spelling.
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(BadDigest);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| BadDigest)?;
        Ok(Digest(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Digest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9a-f]{64}$"))
            .description(Some("SHA-256, 64 lowercase hex characters"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Digest {}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `SHA-256(prefix ‖ bytes)`.
pub fn tagged(prefix: &[u8], bytes: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update(prefix);
    h.update(bytes);
    Digest(h.finalize().into())
}

/// Blob id: the plain SHA-256 of the file's bytes.
pub fn blob_id(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

pub fn content_hash(canonical_content: &[u8]) -> Digest {
    tagged(CONTENT_PREFIX, canonical_content)
}

pub fn entry_hash(canonical_entry: &[u8]) -> Digest {
    tagged(ENTRY_PREFIX, canonical_entry)
}

/// `prev` of a device's first entry.
pub fn genesis_prev(device_id: &str) -> Digest {
    tagged(GENESIS_PREFIX, device_id.as_bytes())
}

/// Key id: the first 32 hex characters of `H("hearth/kid/v1\n" ‖ public key)`.
pub fn kid(public_key: &[u8; 32]) -> String {
    let mut hex = tagged(KID_PREFIX, public_key).to_hex();
    hex.truncate(32);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_only_lowercase_hex_of_the_right_length() {
        let d = blob_id(b"abc");
        assert_eq!(d.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.to_hex().parse::<Digest>(), Ok(d));
        assert_eq!(d.to_hex().to_uppercase().parse::<Digest>(), Err(BadDigest));
        assert_eq!("ab".parse::<Digest>(), Err(BadDigest));
    }

    #[test]
    fn each_layer_hashes_the_same_bytes_differently() {
        let bytes = b"{}";
        assert_ne!(content_hash(bytes), entry_hash(bytes));
        assert_ne!(content_hash(bytes), blob_id(bytes));
    }

    #[test]
    fn kid_is_32_hex_characters() {
        assert_eq!(kid(&[7u8; 32]).len(), 32);
    }
}
