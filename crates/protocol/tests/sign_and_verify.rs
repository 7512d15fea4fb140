//! Round trips and tamper detection across every layer of a record.

use std::collections::HashMap;

use hearth_protocol::hash::genesis_prev;
use hearth_protocol::seal::kid_of;
use hearth_protocol::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

struct Keys {
    devices: HashMap<String, VerifyingKey>,
    techs: HashMap<String, TechnicianKey>,
}

impl KeyDirectory for Keys {
    fn device_key(&self, device_id: &str) -> Option<VerifyingKey> {
        self.devices.get(device_id).copied()
    }
    fn technician_key(&self, kid: &str) -> Option<TechnicianKey> {
        self.techs.get(kid).cloned()
    }
}

struct World {
    device: SigningKey,
    performer: SigningKey,
    witness: SigningKey,
    keys: Keys,
}

fn world() -> World {
    let device = SigningKey::from_bytes(&[1; 32]);
    let performer = SigningKey::from_bytes(&[2; 32]);
    let witness = SigningKey::from_bytes(&[3; 32]);
    let mut techs = HashMap::new();
    for (id, k) in [("T0017", &performer), ("T0023", &witness)] {
        techs.insert(
            kid_of(&k.verifying_key()),
            TechnicianKey { tech_id: id.into(), device_id: "dev-1".into(), public_key: k.verifying_key() },
        );
    }
    let keys = Keys { devices: HashMap::from([("dev-1".to_string(), device.verifying_key())]), techs };
    World { device, performer, witness, keys }
}

fn content(w: &World, data: Map<String, Value>) -> Content {
    Content {
        schema: "hearth.temperature_reading/1".into(),
        record_id: "01890a5d-ac96-774b-bcce-b302099a8057".into(),
        work_order_id: Some("WO-1".into()),
        created: Created {
            device_time_ms: 1_700_000_000_000,
            tz_offset_min: 480,
            boot_id: "boot-1".into(),
            monotonic_ms: 1234,
            last_server_time_ms: None,
        },
        signers: vec![
            Signer {
                role: SignerRole::Performer,
                tech_id: "T0017".into(),
                kid: kid_of(&w.performer.verifying_key()),
            },
            Signer {
                role: SignerRole::Witness,
                tech_id: "T0023".into(),
                kid: kid_of(&w.witness.verifying_key()),
            },
        ],
        supersedes: None,
        attachments: vec![],
        refs: vec![],
        data,
    }
}

fn seal_first(w: &World, data: Map<String, Value>) -> SealedRecord {
    let mut co = Cosigning::new(EncodedContent::encode(content(w, data)).unwrap());
    co.sign(SignerRole::Performer, "T0017", &w.performer).unwrap();
    co.sign(SignerRole::Witness, "T0023", &w.witness).unwrap();
    let signed = co.finish().unwrap();
    seal(
        &signed,
        ChainPosition {
            device_id: "dev-1".into(),
            seq: 1,
            prev: genesis_prev("dev-1"),
            sealed_at_ms: 1_700_000_000_500,
            last_receipt_seq: None,
        },
        &w.device,
    )
    .unwrap()
}

fn data_strategy() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        "[a-z_]{1,12}",
        prop_oneof![
            any::<i32>().prop_map(|i| json!(i)),
            any::<bool>().prop_map(|b| json!(b)),
            "\\PC{0,20}".prop_map(|s| json!(s)),
        ],
        0..8,
    )
    .prop_map(|m| m.into_iter().collect())
}

#[test]
fn a_sealed_record_verifies_against_the_genesis_link() {
    let w = world();
    let sealed = seal_first(&w, Map::new());
    let verified = verify_envelope(&sealed.envelope, &w.keys, &genesis_prev("dev-1")).unwrap();
    assert_eq!(verified.decoded.entry_hash, sealed.entry_hash);
    assert!(verified.signatures.missing_signers.is_empty());
}

#[test]
fn a_record_cannot_be_sealed_until_the_witness_has_signed() {
    let w = world();
    let mut co = Cosigning::new(EncodedContent::encode(content(&w, Map::new())).unwrap());
    co.sign(SignerRole::Performer, "T0017", &w.performer).unwrap();
    let err = co.finish().unwrap_err();
    assert_eq!(err, SignError::MissingCoSigner { role: SignerRole::Witness, tech_id: "T0023".into() });
}

#[test]
fn a_technician_cannot_sign_in_a_role_they_are_not_listed_for() {
    let w = world();
    let mut co = Cosigning::new(EncodedContent::encode(content(&w, Map::new())).unwrap());
    let err = co.sign(SignerRole::Witness, "T0017", &w.performer).unwrap_err();
    assert_eq!(err.code(), "not_a_signer");
    co.sign(SignerRole::Performer, "T0017", &w.performer).unwrap();
    assert_eq!(co.sign(SignerRole::Performer, "T0017", &w.performer).unwrap_err().code(), "already_signed");
}

#[test]
fn the_wrong_prev_is_a_broken_chain() {
    let w = world();
    let sealed = seal_first(&w, Map::new());
    let err = verify_envelope(&sealed.envelope, &w.keys, &genesis_prev("dev-2")).unwrap_err();
    assert_eq!(err, VerifyError::BrokenChain);
}

#[test]
fn a_technician_key_bound_to_another_device_is_rejected() {
    let mut w = world();
    let kid = kid_of(&w.witness.verifying_key());
    w.keys.techs.get_mut(&kid).unwrap().device_id = "dev-9".into();
    let sealed = seal_first(&w, Map::new());
    let err = verify_envelope(&sealed.envelope, &w.keys, &genesis_prev("dev-1")).unwrap_err();
    assert_eq!(err.code(), "technician_key_of_other_device");
}

#[test]
fn a_receipt_signature_verifies_only_for_the_same_receipt() {
    let server = SigningKey::from_bytes(&[9; 32]);
    let mut r = Receipt {
        v: 1,
        server_seq: 7,
        device_id: "dev-1".into(),
        seq: 1,
        record_id: "01890a5d-ac96-774b-bcce-b302099a8057".into(),
        entry_hash: hash::blob_id(b"x"),
        received_at_ms: 5,
        status: ReceiptStatus::Valid,
    };
    let sig = receipt::sign_receipt(&r, &server).unwrap();
    assert!(receipt::verify_receipt(&r, &sig, &server.verifying_key()).is_ok());
    r.status = ReceiptStatus::NeedsReview;
    assert!(receipt::verify_receipt(&r, &sig, &server.verifying_key()).is_err());
}

#[test]
fn content_over_64_kib_is_refused_with_its_size() {
    let w = world();
    let mut data = Map::new();
    data.insert("note".into(), json!("x".repeat(70 * 1024)));
    let err = EncodedContent::encode(content(&w, data)).unwrap_err();
    assert!(matches!(err, ContentError::TooLarge { size } if size > 64 * 1024), "{err:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_sealed_content_round_trips_through_the_wire(data in data_strategy()) {
        let w = world();
        let sealed = seal_first(&w, data.clone());
        let wire = serde_json::to_string(&sealed.envelope).unwrap();
        let back: Envelope = serde_json::from_str(&wire).unwrap();
        let verified = verify_envelope(&back, &w.keys, &genesis_prev("dev-1")).unwrap();
        prop_assert_eq!(&verified.decoded.content().data, &data);
    }

    #[test]
    fn any_flipped_byte_in_content_or_entry_fails_verification(
        data in data_strategy(), which in 0usize..2, pos in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let w = world();
        let sealed = seal_first(&w, data);
        let mut env = sealed.envelope.clone();
        let field = if which == 0 { &mut env.content } else { &mut env.entry };
        let mut bytes = b64::decode(field).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        *field = b64::encode(&bytes);
        prop_assert!(verify_envelope(&env, &w.keys, &genesis_prev("dev-1")).is_err());
    }

    #[test]
    fn any_flipped_byte_in_any_signature_fails_verification(
        which in 0usize..3, pos in 0usize..64, bit in 0u8..8,
    ) {
        let w = world();
        let sealed = seal_first(&w, Map::new());
        let mut env = sealed.envelope.clone();
        let field = match which { 0 => &mut env.device_sig.sig, 1 => &mut env.tech_sigs[0].sig, _ => &mut env.tech_sigs[1].sig };
        let mut bytes = b64::decode(field).unwrap();
        bytes[pos] ^= 1 << bit;
        *field = b64::encode(&bytes);
        prop_assert!(verify_envelope(&env, &w.keys, &genesis_prev("dev-1")).is_err());
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_key_order(data in data_strategy()) {
        let forward: Map<String, Value> = data.clone().into_iter().collect();
        let reversed: serde_json::Map<String, Value> = {
            let mut v: Vec<_> = data.into_iter().collect();
            v.reverse();
            v.into_iter().collect()
        };
        let a = canonical::canonicalize(&Value::Object(forward)).unwrap();
        let b = canonical::canonicalize(&Value::Object(reversed)).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert!(canonical::parse_canonical(&a).is_ok());
    }
}
