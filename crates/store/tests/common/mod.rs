//! Fixtures shared by the store's tests: a store in a temporary directory
//! with a fixed device identity, and records signed with plain keys.
#![allow(dead_code)]

use hearth_protocol::seal::kid_of;
use hearth_protocol::*;
use hearth_store::{DeviceIdentity, Store};
use serde_json::{Map, Value, json};

pub const DEVICE_ID: &str = "dev-test-1";

pub fn identity() -> DeviceIdentity {
    DeviceIdentity::from_secret_bytes([11; 32], [12; 32])
}

pub fn technician() -> SigningKey {
    SigningKey::from_bytes(&[21; 32])
}

pub fn enrolled_store(dir: &std::path::Path) -> Store {
    let mut store = Store::open_with_identity(dir, identity()).unwrap();
    store.set_device_id(DEVICE_ID, 1_700_000_000_000).unwrap();
    store
}

pub fn record_id(n: u64) -> String {
    format!("01890a5d-ac96-7{:03x}-8000-{:012x}", n % 0x1000, n)
}

pub fn content(n: u64, data: Map<String, Value>, attachments: Vec<Attachment>) -> Content {
    Content {
        schema: "hearth.visit_step/1".into(),
        record_id: record_id(n),
        work_order_id: Some("WO-2026-0001".into()),
        created: Created {
            device_time_ms: 1_700_000_000_000 + n as i64,
            tz_offset_min: 480,
            boot_id: "boot-a".into(),
            monotonic_ms: n as i64,
            last_server_time_ms: None,
        },
        signers: vec![Signer {
            role: SignerRole::Performer,
            tech_id: "T0017".into(),
            kid: kid_of(&technician().verifying_key()),
        }],
        supersedes: None,
        attachments,
        refs: vec![],
        data,
    }
}

pub fn signed(content: Content) -> SignedContent {
    let mut co = Cosigning::new(EncodedContent::encode(content).unwrap());
    co.sign(SignerRole::Performer, "T0017", &technician()).unwrap();
    co.finish().unwrap()
}

pub fn seal_n(store: &mut Store, n: u64) -> SealedRecord {
    let mut data = Map::new();
    data.insert("step".into(), json!("arrival"));
    data.insert("n".into(), json!(n));
    store.seal(&signed(content(n, data, vec![])), 1_700_000_000_000 + n as i64, None).unwrap()
}

/// The key the tests' server signs receipts with.
pub fn server_key() -> SigningKey {
    SigningKey::from_bytes(&[99; 32])
}

/// The server's receipt for `sealed`, signed with [`server_key`].
pub fn receipt_for(sealed: &SealedRecord, server_seq: u64, received_at_ms: i64) -> (Receipt, String) {
    let r = Receipt {
        v: 1,
        server_seq,
        device_id: DEVICE_ID.into(),
        seq: sealed.entry.seq,
        record_id: EncodedContent::from_bytes(&b64::decode(&sealed.envelope.content).unwrap())
            .unwrap()
            .content()
            .record_id
            .clone(),
        entry_hash: sealed.entry_hash,
        received_at_ms,
        status: ReceiptStatus::Valid,
    };
    let sig = receipt::sign_receipt(&r, &server_key()).unwrap();
    (r, sig)
}
