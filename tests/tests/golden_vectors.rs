//! The golden vectors never change silently, and an independent reading of
//! the published file — keys and envelopes only — reaches the same verdicts.

use std::path::PathBuf;

use hearth_protocol::hash::{self, Digest, genesis_prev};
use hearth_protocol::{Envelope, TechnicianKey, VerifyingKey, b64, schema, seal, verify_envelope};
use hearth_tests::vectors::{self, Directory};
use serde_json::Value;

fn published_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol-vectors.json")
}

fn render(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap();
    text.push('\n');
    text
}

#[test]
fn regenerating_the_vectors_from_fixed_seeds_gives_the_published_file_byte_for_byte() {
    let generated = render(&vectors::generate());
    assert_eq!(generated, render(&vectors::generate()), "generation is deterministic");
    let path = published_path();
    if std::env::var_os("HEARTH_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == generated,
        "docs/protocol-vectors.json differs from what the code generates: the protocol changed. \
         If that is deliberate (a new protocol version), rerun with HEARTH_BLESS=1 and say so in docs/protocol.md"
    );
}

fn key(text: &Value) -> VerifyingKey {
    let raw = b64::decode_array::<32>(text.as_str().unwrap()).unwrap();
    VerifyingKey::from_bytes(&raw).unwrap()
}

fn directory(doc: &Value) -> Directory {
    Directory {
        devices: doc["devices"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, d)| (id.clone(), key(&d["public_key"])))
            .collect(),
        technicians: doc["technicians"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(kid, t)| {
                (
                    kid.clone(),
                    TechnicianKey {
                        tech_id: t["tech_id"].as_str().unwrap().into(),
                        device_id: t["device_id"].as_str().unwrap().into(),
                        public_key: key(&t["public_key"]),
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn every_published_vector_verifies_or_fails_exactly_as_it_says() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(published_path()).unwrap()).unwrap();
    assert_eq!(doc["version"], 1);
    let keys = directory(&doc);
    let device_id = doc["devices"].as_object().unwrap().keys().next().unwrap().clone();
    let mut prev = genesis_prev(&device_id);
    let (mut valid, mut invalid) = (0, 0);
    for v in doc["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let envelope: Envelope = serde_json::from_value(v["envelope"].clone()).unwrap();
        let content = b64::decode(&envelope.content).unwrap();
        let entry = b64::decode(&envelope.entry).unwrap();
        assert_eq!(v["content_hash"], hash::content_hash(&content).to_hex(), "{name}: content_hash");
        assert_eq!(v["entry_hash"], hash::entry_hash(&entry).to_hex(), "{name}: entry_hash");
        assert_eq!(
            v["sigs_hash"],
            seal::sigs_hash(&envelope.tech_sigs).unwrap().to_hex(),
            "{name}: sigs_hash"
        );
        let verdict = verify_envelope(&envelope, &keys, &prev);
        if v["valid"] == true {
            let record = verdict.unwrap_or_else(|e| panic!("{name} must verify: {e}"));
            assert!(record.signatures.missing_signers.is_empty(), "{name}: every signer signed");
            assert_eq!(
                record.decoded.entry.seq,
                valid as u64 + 1,
                "{name}: valid vectors form the chain from seq 1"
            );
            prev = record.decoded.entry_hash;
            valid += 1;
        } else {
            let err = verdict.err().unwrap_or_else(|| panic!("{name} must fail"));
            assert_eq!(v["reason"], err.code(), "{name}: the stated reason is the verifier's");
            invalid += 1;
        }
    }
    assert!(valid >= 6 && invalid >= 5, "{valid} valid, {invalid} invalid");

    // Judged vectors verify at the position after the valid chain, and the
    // schema's signer rule gives exactly the flags they state.
    let judged = doc["judged"].as_array().unwrap();
    let names: Vec<&str> = judged.iter().map(|v| v["name"].as_str().unwrap()).collect();
    for expected in [
        "report_without_a_witness",
        "report_signed_by_one_technician_in_both_roles",
        "report_with_no_signers",
    ] {
        assert!(names.contains(&expected), "a judged vector {expected}");
    }
    for v in judged {
        let name = v["name"].as_str().unwrap();
        let envelope: Envelope = serde_json::from_value(v["envelope"].clone()).unwrap();
        let record =
            verify_envelope(&envelope, &keys, &prev).unwrap_or_else(|e| panic!("{name} must verify: {e}"));
        let flags = hearth_protocol::signers::signer_flags(record.decoded.content(), &envelope.tech_sigs);
        assert_eq!(v["flags"], serde_json::json!(flags), "{name}: the stated flags are the rule's");
        assert!(!flags.is_empty(), "{name}: a judged vector falls short");
    }
}

#[test]
fn the_vectors_cover_every_case_the_contract_promises() {
    let doc = vectors::generate();
    let all = doc["vectors"].as_array().unwrap();
    let contents: Vec<(String, hearth_protocol::Content)> = all
        .iter()
        .filter(|v| v["valid"] == true)
        .map(|v| {
            let env: Envelope = serde_json::from_value(v["envelope"].clone()).unwrap();
            (v["content_hash"].as_str().unwrap().to_owned(), vectors::decoded_content(&env).unwrap())
        })
        .collect();
    let of = |s: &str| contents.iter().filter(|(_, c)| c.schema == s).collect::<Vec<_>>();

    assert!(
        of(schema::VISIT_STEP).iter().any(|(_, c)| !c.attachments.is_empty()),
        "a visit step with a photo"
    );
    let readings = of(schema::TEMPERATURE_READING);
    assert!(readings.len() >= 2, "two temperature readings");
    let report = &of(schema::TEMPERATURE_TEST)[0].1;
    assert_eq!(report.signers.len(), 2, "the report is co-signed");
    for (hash, reading) in &readings {
        assert!(
            report.refs.iter().any(|r| r.record_id == reading.record_id && r.content_hash.to_hex() == *hash),
            "the report binds each reading by record id and content hash"
        );
    }
    let signoffs = of(schema::CUSTOMER_SIGNOFF);
    assert!(signoffs.iter().any(|(_, c)| c.data["kind"] == "signed" && c.attachments.len() == 2));
    assert!(signoffs.iter().any(|(_, c)| c.data["kind"] == "refused"), "a refusal to sign");
    let correction = contents.iter().find_map(|(_, c)| c.supersedes.clone()).expect("a correction");
    let original =
        contents.iter().find(|(_, c)| c.record_id == correction.record_id).expect("it names a sealed record");
    assert_eq!(correction.content_hash, original.0.parse::<Digest>().unwrap());

    let reasons: Vec<&str> = all.iter().filter_map(|v| v["reason"].as_str()).collect();
    for expected in [
        "content_hash_mismatch",
        "bad_technician_signature",
        "bad_device_signature",
        "content_not_canonical",
        "float_not_allowed",
        "broken_chain",
    ] {
        assert!(reasons.contains(&expected), "an invalid vector fails with {expected}: {reasons:?}");
    }
}
