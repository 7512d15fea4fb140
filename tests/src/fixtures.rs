//! Deterministic identities and records for tests and golden vectors.

use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    Content, Cosigning, Created, EncodedContent, SignedContent, Signer, SignerRole, SigningKey,
};
use hearth_store::DeviceIdentity;
use serde_json::{Map, Value};

/// The crash test's device: fixed keys so every restart is the same tablet.
pub fn crash_identity() -> DeviceIdentity {
    DeviceIdentity::from_secret_bytes([31; 32], [32; 32])
}

pub fn crash_technician() -> SigningKey {
    SigningKey::from_bytes(&[33; 32])
}

/// A UUIDv7-shaped id that is a pure function of `n`.
pub fn record_id(n: u64) -> String {
    format!(
        "0190{:04x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (n >> 48) & 0xffff,
        (n >> 32) & 0xffff,
        (n >> 20) & 0xfff,
        (n >> 8) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// A one-signer visit-step record for the crash loop.
pub fn visit_step(
    n: u64,
    data: Map<String, Value>,
    attachments: Vec<hearth_protocol::Attachment>,
) -> SignedContent {
    let tech = crash_technician();
    let content = Content {
        schema: hearth_protocol::schema::VISIT_STEP.into(),
        record_id: record_id(n),
        work_order_id: Some("WO-CRASH".into()),
        created: Created {
            device_time_ms: 1_763_000_000_000 + n as i64,
            tz_offset_min: 480,
            boot_id: "crash-loop".into(),
            monotonic_ms: n as i64,
            last_server_time_ms: None,
        },
        signers: vec![Signer {
            role: SignerRole::Performer,
            tech_id: "T0001".into(),
            kid: kid_of(&tech.verifying_key()),
        }],
        supersedes: None,
        attachments,
        refs: vec![],
        data,
    };
    let mut co = Cosigning::new(EncodedContent::encode(content).expect("fixture content is valid"));
    co.sign(SignerRole::Performer, "T0001", &tech).expect("fixture signer is listed");
    co.finish().expect("fixture is fully signed")
}
