//! Server receipts (§3.5): signed over `"hearth/receipt/v1\n" ‖ JCS(R)`.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::b64;
use crate::canonical::{self, CanonicalError};
use crate::record::Receipt;

pub const RECEIPT_PREFIX: &[u8] = b"hearth/receipt/v1\n";

pub fn receipt_message(receipt: &Receipt) -> Result<Vec<u8>, CanonicalError> {
    let mut m = RECEIPT_PREFIX.to_vec();
    m.extend_from_slice(&canonical::to_canonical(receipt)?);
    Ok(m)
}

/// The base64url `receipt_sig` for `receipt`.
pub fn sign_receipt(receipt: &Receipt, server_key: &SigningKey) -> Result<String, CanonicalError> {
    Ok(b64::encode(&server_key.sign(&receipt_message(receipt)?).to_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the receipt signature does not verify against the server key")]
pub struct BadReceiptSignature;

pub fn verify_receipt(
    receipt: &Receipt,
    sig: &str,
    server_key: &VerifyingKey,
) -> Result<(), BadReceiptSignature> {
    let raw = b64::decode_array::<64>(sig).ok_or(BadReceiptSignature)?;
    let msg = receipt_message(receipt).map_err(|_| BadReceiptSignature)?;
    server_key.verify_strict(&msg, &Signature::from_bytes(&raw)).map_err(|_| BadReceiptSignature)
}
