//! The device side of §3: encode content once, collect every required
//! technician signature, then seal a chain entry with the device key.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde_json::Value;

use crate::b64;
use crate::canonical::{self, CanonicalError};
use crate::hash::{self, Digest};
use crate::record::{
    Content, DeviceSignature, Entry, Envelope, MAX_CONTENT_BYTES, PROTOCOL_VERSION, Signer, SignerRole,
    TechSignature,
};

pub const TECHSIG_PREFIX: &[u8] = b"hearth/techsig/v1\n";
pub const DEVSIG_PREFIX: &[u8] = b"hearth/devsig/v1\n";

/// Why a content object cannot be a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    #[error("content is {size} bytes; the limit is {MAX_CONTENT_BYTES}")]
    TooLarge { size: usize },
    #[error("content does not have the record shape: {0}")]
    Shape(String),
    #[error("schema {0:?} is not of the form hearth.<name>/<version>")]
    BadSchema(String),
    #[error("record_id {0:?} is not a UUIDv7")]
    BadRecordId(String),
    #[error("{0}")]
    BadField(&'static str),
}

impl ContentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Canonical(e) => e.code(),
            Self::TooLarge { .. } => "content_too_large",
            Self::Shape(_) => "bad_content",
            Self::BadSchema(_) => "bad_schema",
            Self::BadRecordId(_) => "bad_record_id",
            Self::BadField(_) => "bad_content",
        }
    }
}

/// Content in its one canonical encoding, with its hash. Immutable once made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedContent {
    content: Content,
    bytes: Vec<u8>,
    hash: Digest,
}

impl EncodedContent {
    /// Validates and canonically encodes `content`.
    pub fn encode(content: Content) -> Result<Self, ContentError> {
        check_content(&content)?;
        let bytes = canonical::to_canonical(&content)?;
        Self::finish(content, bytes)
    }

    /// Accepts received bytes only if they are canonical and a valid content object.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ContentError> {
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(ContentError::TooLarge { size: bytes.len() });
        }
        let value = canonical::parse_canonical(bytes)?;
        let content = content_from_value(value)?;
        check_content(&content)?;
        Self::finish(content, bytes.to_vec())
    }

    fn finish(content: Content, bytes: Vec<u8>) -> Result<Self, ContentError> {
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(ContentError::TooLarge { size: bytes.len() });
        }
        let hash = hash::content_hash(&bytes);
        Ok(Self { content, bytes, hash })
    }

    pub fn content(&self) -> &Content {
        &self.content
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn hash(&self) -> Digest {
        self.hash
    }
}

fn content_from_value(value: Value) -> Result<Content, ContentError> {
    serde_json::from_value(value).map_err(|e| ContentError::Shape(e.to_string()))
}

fn check_content(c: &Content) -> Result<(), ContentError> {
    if !valid_schema(&c.schema) {
        return Err(ContentError::BadSchema(c.schema.clone()));
    }
    if !is_uuid_v7(&c.record_id) {
        return Err(ContentError::BadRecordId(c.record_id.clone()));
    }
    if c.created.boot_id.is_empty() {
        return Err(ContentError::BadField("created.boot_id is empty"));
    }
    if c.work_order_id.as_deref() == Some("") {
        return Err(ContentError::BadField("work_order_id is empty; leave it out instead"));
    }
    for (i, s) in c.signers.iter().enumerate() {
        if s.tech_id.is_empty() || s.kid.is_empty() {
            return Err(ContentError::BadField("a signer has no tech_id or kid"));
        }
        if c.signers[..i].iter().any(|o| o.role == s.role && o.kid == s.kid) {
            return Err(ContentError::BadField("the same signer is listed twice in one role"));
        }
    }
    if let Some(sup) = &c.supersedes {
        if sup.reason.trim().is_empty() {
            return Err(ContentError::BadField("a correction must say why (supersedes.reason)"));
        }
        if sup.record_id == c.record_id {
            return Err(ContentError::BadField("a record cannot supersede itself"));
        }
    }
    if c.attachments.iter().any(|a| a.media_type.is_empty()) {
        return Err(ContentError::BadField("an attachment has no media_type"));
    }
    Ok(())
}

fn valid_schema(schema: &str) -> bool {
    let Some(rest) = schema.strip_prefix("hearth.") else {
        return false;
    };
    let Some((name, version)) = rest.split_once('/') else {
        return false;
    };
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && !version.is_empty()
        && !version.starts_with('0')
        && version.bytes().all(|b| b.is_ascii_digit())
}

/// A lowercase hyphenated UUID whose version nibble is 7 and variant is RFC 4122.
pub fn is_uuid_v7(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
        && b[14] == b'7'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// The bytes a technician signs: `"hearth/techsig/v1\n" ‖ role ‖ "\n" ‖ content_hash`.
pub fn techsig_message(role: SignerRole, content_hash: &Digest) -> Vec<u8> {
    let mut m = TECHSIG_PREFIX.to_vec();
    m.extend_from_slice(role.as_str().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(content_hash.to_hex().as_bytes());
    m
}

/// The bytes the device signs: `"hearth/devsig/v1\n" ‖ entry_hash`.
pub fn devsig_message(entry_hash: &Digest) -> Vec<u8> {
    let mut m = DEVSIG_PREFIX.to_vec();
    m.extend_from_slice(entry_hash.to_hex().as_bytes());
    m
}

/// `sigs_hash` over the signatures sorted by role, then kid.
pub fn sigs_hash(sigs: &[TechSignature]) -> Result<Digest, CanonicalError> {
    let mut sorted: Vec<&TechSignature> = sigs.iter().collect();
    sorted.sort_by(|a, b| a.role.cmp(&b.role).then_with(|| a.kid.cmp(&b.kid)));
    let bytes = canonical::to_canonical(&sorted)?;
    Ok(hash::tagged(hash::SIGS_PREFIX, &bytes))
}

pub fn kid_of(key: &VerifyingKey) -> String {
    hash::kid(key.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("{tech_id} is not listed to sign this record as {role:?}")]
    NotASigner { role: SignerRole, tech_id: String },
    #[error("{tech_id} has already signed this record as {role:?}")]
    AlreadySigned { role: SignerRole, tech_id: String },
    #[error(
        "the {role:?} ({tech_id}) has not signed yet; a record is sealed only when every signer has signed"
    )]
    MissingCoSigner { role: SignerRole, tech_id: String },
    #[error("the signature of {tech_id} does not verify")]
    BadSignature { tech_id: String },
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
}

impl SignError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotASigner { .. } => "not_a_signer",
            Self::AlreadySigned { .. } => "already_signed",
            Self::MissingCoSigner { .. } => "missing_co_signer",
            Self::BadSignature { .. } => "bad_technician_signature",
            Self::Canonical(e) => e.code(),
        }
    }
}

/// Collects the signatures `C.signers` asks for. Two people co-sign on one
/// tablet, each with their own unlocked key.
#[derive(Debug, Clone)]
pub struct Cosigning {
    content: EncodedContent,
    sigs: Vec<TechSignature>,
}

impl Cosigning {
    pub fn new(content: EncodedContent) -> Self {
        Self { content, sigs: Vec::new() }
    }

    pub fn content(&self) -> &EncodedContent {
        &self.content
    }

    fn listed(&self, role: SignerRole, tech_id: &str, kid: &str) -> Result<(), SignError> {
        let listed = self
            .content
            .content
            .signers
            .iter()
            .any(|s| s.role == role && s.tech_id == tech_id && s.kid == kid);
        if !listed {
            return Err(SignError::NotASigner { role, tech_id: tech_id.to_owned() });
        }
        if self.sigs.iter().any(|s| s.role == role && s.kid == kid) {
            return Err(SignError::AlreadySigned { role, tech_id: tech_id.to_owned() });
        }
        Ok(())
    }

    /// Signs as `role` with the technician's unlocked key.
    pub fn sign(
        &mut self,
        role: SignerRole,
        tech_id: &str,
        key: &SigningKey,
    ) -> Result<&TechSignature, SignError> {
        let kid = kid_of(&key.verifying_key());
        self.listed(role, tech_id, &kid)?;
        let sig = key.sign(&techsig_message(role, &self.content.hash));
        self.sigs.push(TechSignature {
            role,
            tech_id: tech_id.to_owned(),
            kid,
            sig: b64::encode(&sig.to_bytes()),
        });
        Ok(&self.sigs[self.sigs.len() - 1])
    }

    /// Adds a signature made earlier (e.g. kept with a draft), checking it first.
    pub fn add_signature(&mut self, sig: TechSignature, public_key: &VerifyingKey) -> Result<(), SignError> {
        let bad = || SignError::BadSignature { tech_id: sig.tech_id.clone() };
        if kid_of(public_key) != sig.kid {
            return Err(bad());
        }
        self.listed(sig.role, &sig.tech_id, &sig.kid)?;
        let raw = b64::decode_array::<64>(&sig.sig).ok_or_else(bad)?;
        public_key
            .verify_strict(
                &techsig_message(sig.role, &self.content.hash),
                &ed25519_dalek::Signature::from_bytes(&raw),
            )
            .map_err(|_| bad())?;
        self.sigs.push(sig);
        Ok(())
    }

    /// Signers who have not signed yet.
    pub fn missing(&self) -> Vec<&Signer> {
        self.content
            .content
            .signers
            .iter()
            .filter(|s| !self.sigs.iter().any(|g| g.role == s.role && g.kid == s.kid))
            .collect()
    }

    /// Succeeds only when every listed signer has signed.
    pub fn finish(self) -> Result<SignedContent, SignError> {
        if let Some(s) = self.missing().first() {
            return Err(SignError::MissingCoSigner { role: s.role, tech_id: s.tech_id.clone() });
        }
        let sigs_hash = sigs_hash(&self.sigs)?;
        Ok(SignedContent { content: self.content, sigs: self.sigs, sigs_hash })
    }
}

/// Content with every required technician signature: ready to seal.
#[derive(Debug, Clone)]
pub struct SignedContent {
    content: EncodedContent,
    sigs: Vec<TechSignature>,
    sigs_hash: Digest,
}

impl SignedContent {
    pub fn content(&self) -> &EncodedContent {
        &self.content
    }
    pub fn tech_sigs(&self) -> &[TechSignature] {
        &self.sigs
    }
    pub fn sigs_hash(&self) -> Digest {
        self.sigs_hash
    }
}

/// Where in the device's chain the next entry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosition {
    pub device_id: String,
    pub seq: u64,
    pub prev: Digest,
    pub sealed_at_ms: i64,
    pub last_receipt_seq: Option<u64>,
}

/// A sealed record: the envelope as it travels, and the hashes the chain keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub entry: Entry,
    pub entry_bytes: Vec<u8>,
    pub entry_hash: Digest,
    pub content_hash: Digest,
    pub envelope: Envelope,
}

/// Builds the chain entry for `signed` at `position` and signs it with the device key.
pub fn seal(
    signed: &SignedContent,
    position: ChainPosition,
    device_key: &SigningKey,
) -> Result<SealedRecord, CanonicalError> {
    let entry = Entry {
        v: PROTOCOL_VERSION,
        device_id: position.device_id,
        seq: position.seq,
        prev: position.prev,
        content_hash: signed.content.hash,
        sigs_hash: signed.sigs_hash,
        sealed_at_ms: position.sealed_at_ms,
        last_receipt_seq: position.last_receipt_seq,
    };
    let entry_bytes = canonical::to_canonical(&entry)?;
    let entry_hash = hash::entry_hash(&entry_bytes);
    let device_sig = device_key.sign(&devsig_message(&entry_hash));
    let envelope = Envelope {
        entry: b64::encode(&entry_bytes),
        content: b64::encode(&signed.content.bytes),
        tech_sigs: signed.sigs.clone(),
        device_sig: DeviceSignature {
            kid: kid_of(&device_key.verifying_key()),
            sig: b64::encode(&device_sig.to_bytes()),
        },
    };
    Ok(SealedRecord { entry, entry_bytes, entry_hash, content_hash: signed.content.hash, envelope })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_is_recognised_and_others_are_not() {
        assert!(is_uuid_v7("01890a5d-ac96-774b-bcce-b302099a8057"));
        assert!(!is_uuid_v7("01890a5d-ac96-474b-bcce-b302099a8057"), "v4");
        assert!(!is_uuid_v7("01890A5D-AC96-774B-BCCE-B302099A8057"), "uppercase");
        assert!(!is_uuid_v7("01890a5dac96774bbcceb302099a8057"), "no hyphens");
    }

    #[test]
    fn schemas_must_name_hearth_and_a_version() {
        assert!(valid_schema("hearth.temperature_reading/1"));
        assert!(!valid_schema("hearth.temperature_reading"));
        assert!(!valid_schema("other.thing/1"));
        assert!(!valid_schema("hearth.x/01"));
    }
}
