//! hearth-protocol — the contract between the tablet and the server
//! (`docs/protocol.md`): RFC 8785 canonical JSON, the record layers, their
//! hashes, Ed25519 signing and strict verification, receipts, and the HTTP
//! request and response types.
//!
//! Pure: no I/O, no clock, no storage. Both programs link it, but the page is
//! the contract; the golden vectors in `docs/protocol-vectors.json` pin it.
#![forbid(unsafe_code)]

pub mod api;
pub mod b64;
pub mod canonical;
pub mod flags;
pub mod hash;
pub mod receipt;
pub mod record;
pub mod rescue;
pub mod schema;
pub mod seal;
pub mod signers;
pub mod verify;

pub use canonical::CanonicalError;
pub use hash::Digest;
pub use record::{
    Attachment, AttachmentRole, Content, Created, DeviceSignature, Entry, Envelope, Receipt, ReceiptStatus,
    RecordRef, Sealed, Signer, SignerRole, Supersedes, TechSignature,
};
pub use seal::{
    ChainPosition, ContentError, Cosigning, EncodedContent, SealedRecord, SignError, SignedContent, seal,
};
pub use verify::{
    DecodedEnvelope, KeyDirectory, TechnicianKey, VerifiedRecord, VerifyError, decode_envelope,
    verify_envelope, verify_signatures,
};

pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
