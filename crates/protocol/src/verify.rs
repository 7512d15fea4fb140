//! The verifier's side of §3–§4 and the crypto checks of §6: decode the exact
//! bytes received, check they are canonical, recompute every hash, verify
//! every signature strictly. Chain position and business rules are the caller's.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::b64;
use crate::canonical::{self, CanonicalError};
use crate::hash::{self, Digest};
use crate::record::{Content, Entry, Envelope, MAX_ENVELOPE_BYTES, PROTOCOL_VERSION, Signer};
use crate::seal::{self, ContentError, EncodedContent, devsig_message, kid_of, techsig_message};

/// Why an envelope is rejected. Each has a stable `code()` used as the
/// `reason` of a `rejected` result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("envelope is {size} bytes; the limit is {MAX_ENVELOPE_BYTES}")]
    EnvelopeTooLarge { size: usize },
    #[error("{field} is not base64url without padding")]
    BadBase64 { field: &'static str },
    #[error("entry: {0}")]
    Entry(CanonicalError),
    #[error("entry does not have the chain-entry shape: {0}")]
    EntryShape(String),
    #[error("entry version {0} is not supported")]
    UnsupportedVersion(u32),
    #[error("content: {0}")]
    Content(ContentError),
    #[error("content_hash in the entry does not match the content bytes")]
    ContentHashMismatch,
    #[error("sigs_hash in the entry does not match the technician signatures")]
    SigsHashMismatch,
    #[error("device {0:?} is unknown or revoked")]
    UnknownDevice(String),
    #[error("device_sig.kid does not name this device's key")]
    DeviceKidMismatch,
    #[error("the device signature does not verify")]
    BadDeviceSignature,
    #[error("technician key {kid} is unknown or revoked")]
    UnknownTechnicianKey { kid: String },
    #[error("technician key {kid} is bound to another device")]
    TechnicianKeyOfOtherDevice { kid: String },
    #[error("technician key {kid} belongs to another technician than {tech_id}")]
    TechnicianIdMismatch { kid: String, tech_id: String },
    #[error("{tech_id} signed as a role the content does not list for them")]
    RoleNotListed { tech_id: String },
    #[error("{tech_id} signed the same role twice")]
    DuplicateSignature { tech_id: String },
    #[error("the signature of {tech_id} does not verify")]
    BadTechnicianSignature { tech_id: String },
    #[error("prev does not link to the entry before (broken chain)")]
    BrokenChain,
}

impl VerifyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EnvelopeTooLarge { .. } => "envelope_too_large",
            Self::BadBase64 { .. } => "bad_base64",
            Self::Entry(CanonicalError::NotCanonical) => "entry_not_canonical",
            Self::Entry(_) | Self::EntryShape(_) => "bad_entry",
            Self::UnsupportedVersion(_) => "unsupported_version",
            Self::Content(ContentError::Canonical(CanonicalError::NotCanonical)) => "content_not_canonical",
            Self::Content(e) => e.code(),
            Self::ContentHashMismatch => "content_hash_mismatch",
            Self::SigsHashMismatch => "sigs_hash_mismatch",
            Self::UnknownDevice(_) => "unknown_device",
            Self::DeviceKidMismatch => "device_kid_mismatch",
            Self::BadDeviceSignature => "bad_device_signature",
            Self::UnknownTechnicianKey { .. } => "unknown_technician_key",
            Self::TechnicianKeyOfOtherDevice { .. } => "technician_key_of_other_device",
            Self::TechnicianIdMismatch { .. } => "technician_id_mismatch",
            Self::RoleNotListed { .. } => "role_not_listed",
            Self::DuplicateSignature { .. } => "duplicate_signature",
            Self::BadTechnicianSignature { .. } => "bad_technician_signature",
            Self::BrokenChain => "broken_chain",
        }
    }
}

/// An envelope whose bytes are canonical and whose hashes agree. Signatures
/// are not checked yet.
#[derive(Debug, Clone)]
pub struct DecodedEnvelope {
    pub entry: Entry,
    pub entry_bytes: Vec<u8>,
    pub entry_hash: Digest,
    pub content: EncodedContent,
}

impl DecodedEnvelope {
    pub fn content(&self) -> &Content {
        self.content.content()
    }
}

/// Wire size of an envelope: the length of its JSON.
pub fn envelope_size(env: &Envelope) -> usize {
    serde_json::to_vec(env).map(|v| v.len()).unwrap_or(usize::MAX)
}

/// Size limit, base64, canonical form, shapes, and hashes — in that order (§6).
pub fn decode_envelope(env: &Envelope) -> Result<DecodedEnvelope, VerifyError> {
    let size = envelope_size(env);
    if size > MAX_ENVELOPE_BYTES {
        return Err(VerifyError::EnvelopeTooLarge { size });
    }
    let entry_bytes = b64::decode(&env.entry).ok_or(VerifyError::BadBase64 { field: "entry" })?;
    let content_bytes = b64::decode(&env.content).ok_or(VerifyError::BadBase64 { field: "content" })?;
    let entry_value = canonical::parse_canonical(&entry_bytes).map_err(VerifyError::Entry)?;
    let entry: Entry =
        serde_json::from_value(entry_value).map_err(|e| VerifyError::EntryShape(e.to_string()))?;
    if entry.v != PROTOCOL_VERSION {
        return Err(VerifyError::UnsupportedVersion(entry.v));
    }
    if entry.seq == 0 || entry.device_id.is_empty() {
        return Err(VerifyError::EntryShape("seq starts at 1 and device_id is required".into()));
    }
    let content = EncodedContent::from_bytes(&content_bytes).map_err(VerifyError::Content)?;
    if content.hash() != entry.content_hash {
        return Err(VerifyError::ContentHashMismatch);
    }
    let sigs_hash = seal::sigs_hash(&env.tech_sigs).map_err(VerifyError::Entry)?;
    if sigs_hash != entry.sigs_hash {
        return Err(VerifyError::SigsHashMismatch);
    }
    let entry_hash = hash::entry_hash(&entry_bytes);
    Ok(DecodedEnvelope { entry, entry_bytes, entry_hash, content })
}

/// A technician key as the verifier knows it: bound to one technician on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechnicianKey {
    pub tech_id: String,
    pub device_id: String,
    pub public_key: VerifyingKey,
}

/// Where the verifier looks keys up. Revoked keys are simply not returned.
pub trait KeyDirectory {
    fn device_key(&self, device_id: &str) -> Option<VerifyingKey>;
    fn technician_key(&self, kid: &str) -> Option<TechnicianKey>;
}

/// What the signatures leave for the business rules: signers who did not sign.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureReport {
    pub missing_signers: Vec<Signer>,
}

fn signature(text: &str) -> Option<Signature> {
    b64::decode_array::<64>(text).map(|raw| Signature::from_bytes(&raw))
}

/// The device signature, then each technician signature, all strict Ed25519.
pub fn verify_signatures(
    decoded: &DecodedEnvelope,
    env: &Envelope,
    keys: &impl KeyDirectory,
) -> Result<SignatureReport, VerifyError> {
    let device_id = &decoded.entry.device_id;
    let device_key =
        keys.device_key(device_id).ok_or_else(|| VerifyError::UnknownDevice(device_id.clone()))?;
    if env.device_sig.kid != kid_of(&device_key) {
        return Err(VerifyError::DeviceKidMismatch);
    }
    let dsig = signature(&env.device_sig.sig).ok_or(VerifyError::BadDeviceSignature)?;
    device_key
        .verify_strict(&devsig_message(&decoded.entry_hash), &dsig)
        .map_err(|_| VerifyError::BadDeviceSignature)?;

    let content = decoded.content();
    for (i, ts) in env.tech_sigs.iter().enumerate() {
        if env.tech_sigs[..i].iter().any(|o| o.role == ts.role && o.kid == ts.kid) {
            return Err(VerifyError::DuplicateSignature { tech_id: ts.tech_id.clone() });
        }
        let key = keys
            .technician_key(&ts.kid)
            .ok_or_else(|| VerifyError::UnknownTechnicianKey { kid: ts.kid.clone() })?;
        if kid_of(&key.public_key) != ts.kid {
            return Err(VerifyError::UnknownTechnicianKey { kid: ts.kid.clone() });
        }
        if &key.device_id != device_id {
            return Err(VerifyError::TechnicianKeyOfOtherDevice { kid: ts.kid.clone() });
        }
        if key.tech_id != ts.tech_id {
            return Err(VerifyError::TechnicianIdMismatch {
                kid: ts.kid.clone(),
                tech_id: ts.tech_id.clone(),
            });
        }
        let listed =
            content.signers.iter().any(|s| s.role == ts.role && s.tech_id == ts.tech_id && s.kid == ts.kid);
        if !listed {
            return Err(VerifyError::RoleNotListed { tech_id: ts.tech_id.clone() });
        }
        let bad = || VerifyError::BadTechnicianSignature { tech_id: ts.tech_id.clone() };
        let sig = signature(&ts.sig).ok_or_else(bad)?;
        key.public_key
            .verify_strict(&techsig_message(ts.role, &decoded.content.hash()), &sig)
            .map_err(|_| bad())?;
    }
    let missing_signers = content
        .signers
        .iter()
        .filter(|s| !env.tech_sigs.iter().any(|t| t.role == s.role && t.kid == s.kid))
        .cloned()
        .collect();
    Ok(SignatureReport { missing_signers })
}

/// A record whose bytes, hashes, chain link and signatures all check out.
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    pub decoded: DecodedEnvelope,
    pub signatures: SignatureReport,
}

/// Everything a standalone verifier can check given the previous entry's hash.
pub fn verify_envelope(
    env: &Envelope,
    keys: &impl KeyDirectory,
    expected_prev: &Digest,
) -> Result<VerifiedRecord, VerifyError> {
    let decoded = decode_envelope(env)?;
    if &decoded.entry.prev != expected_prev {
        return Err(VerifyError::BrokenChain);
    }
    let signatures = verify_signatures(&decoded, env, keys)?;
    Ok(VerifiedRecord { decoded, signatures })
}
