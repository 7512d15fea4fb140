//! Golden vectors: a device chain of real `hearth.*` records and a set of
//! invalid envelopes, generated deterministically from fixed seeds and
//! published in `docs/protocol-vectors.json` (protocol §10.5).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use hearth_domain::{
    ArrivalEvidence, CompletedStep, CustomerSignoff, NewReading, NewTemperatureTest, ResolveEvidence,
    RoomKind, RuleSet, Sha256Hex, StepEvidence, TechnicianId, TemperatureReading, TemperatureTest, TestId,
    Thermometer, WorkOrderId,
};
use hearth_protocol::hash::{self, Digest, genesis_prev};
use hearth_protocol::seal::{self, kid_of};
use hearth_protocol::verify::decode_envelope;
use hearth_protocol::{
    Attachment, AttachmentRole, ChainPosition, Content, Cosigning, Created, DeviceSignature, EncodedContent,
    Entry, Envelope, RecordRef, SealedRecord, Signer, SignerRole, SigningKey, TechSignature, b64, canonical,
};
use hearth_tablet::records::{self, RecordMeta, SignatureFiles};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

pub const DEVICE_ID: &str = "dev-golden-0001";
const PERFORMER: &str = "T0017";
const WITNESS: &str = "T0023";

/// A signing key from a name: SHA-256 of a fixed label, so anyone can rebuild it.
fn key(label: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("hearth golden vectors v1: {label}")).into())
}

fn local(h: u32, m: u32) -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    tz.with_ymd_and_hms(2026, 12, 5, h, m, 0).single().expect("a fixed, unambiguous local time")
}

fn utc(h: u32, m: u32) -> DateTime<Utc> {
    local(h, m).with_timezone(&Utc)
}

fn meta(n: u32, at: DateTime<FixedOffset>) -> RecordMeta {
    RecordMeta {
        record_id: format!("019ae8f0-5a00-7000-8000-{n:012x}"),
        created: Created {
            device_time_ms: at.timestamp_millis(),
            tz_offset_min: 480,
            boot_id: "golden-boot-1".into(),
            monotonic_ms: 3_600_000 + i64::from(n) * 60_000,
            last_server_time_ms: None,
        },
    }
}

struct Keys {
    device: SigningKey,
    performer: SigningKey,
    witness: SigningKey,
}

impl Keys {
    fn new() -> Self {
        Self {
            device: key("device dev-golden-0001"),
            performer: key("technician T0017"),
            witness: key("technician T0023"),
        }
    }
    fn signer(&self, role: SignerRole) -> Signer {
        let (tech_id, key) = match role {
            SignerRole::Witness => (WITNESS, &self.witness),
            _ => (PERFORMER, &self.performer),
        };
        Signer { role, tech_id: tech_id.into(), kid: kid_of(&key.verifying_key()) }
    }
}

/// Chain state while the valid vectors are sealed.
struct Chain {
    keys: Keys,
    seq: u64,
    prev: Digest,
    out: Vec<Value>,
}

impl Chain {
    fn seal(&mut self, name: &str, content: Content) -> SealedRecord {
        let mut co = Cosigning::new(EncodedContent::encode(content).expect("golden content is valid"));
        for signer in co.content().content().signers.clone() {
            let key =
                if signer.role == SignerRole::Witness { &self.keys.witness } else { &self.keys.performer };
            co.sign(signer.role, &signer.tech_id, key).expect("golden signer is listed");
        }
        let signed = co.finish().expect("every golden signer signed");
        self.seq += 1;
        let position = ChainPosition {
            device_id: DEVICE_ID.into(),
            seq: self.seq,
            prev: self.prev,
            sealed_at_ms: signed.content().content().created.device_time_ms + 1_500,
            last_receipt_seq: None,
        };
        let sealed =
            hearth_protocol::seal(&signed, position, &self.keys.device).expect("golden entry encodes");
        self.prev = sealed.entry_hash;
        self.out.push(vector(name, &sealed.envelope, None));
        sealed
    }
}

fn vector(name: &str, envelope: &Envelope, reason: Option<&str>) -> Value {
    let content = b64::decode(&envelope.content).unwrap_or_default();
    let entry = b64::decode(&envelope.entry).unwrap_or_default();
    let sigs_hash = seal::sigs_hash(&envelope.tech_sigs).expect("signature objects are canonical");
    let mut v = json!({
        "name": name,
        "envelope": envelope,
        "content_hash": hash::content_hash(&content).to_hex(),
        "sigs_hash": sigs_hash.to_hex(),
        "entry_hash": hash::entry_hash(&entry).to_hex(),
        "valid": reason.is_none(),
    });
    if let Some(reason) = reason {
        v["reason"] = json!(reason);
    }
    v
}

fn reference(sealed: &SealedRecord) -> RecordRef {
    let content = b64::decode(&sealed.envelope.content).unwrap_or_default();
    let record_id =
        EncodedContent::from_bytes(&content).map(|c| c.content().record_id.clone()).unwrap_or_default();
    RecordRef { record_id, content_hash: sealed.content_hash }
}

fn file(bytes: &[u8], media_type: &str, role: AttachmentRole) -> Attachment {
    Attachment {
        captured_at_ms: None,
        sha256: hash::blob_id(bytes),
        size: bytes.len() as u64,
        media_type: media_type.into(),
        role,
    }
}

fn sha(bytes: &[u8]) -> Sha256Hex {
    Sha256Hex::parse(&hash::blob_id(bytes).to_hex()).expect("a digest is 64 hex characters")
}

fn id<T>(parse: fn(&str) -> Result<T, hearth_domain::ValueError>, text: &str) -> T {
    parse(text).expect("golden ids are valid")
}

/// Seals an entry by hand around arbitrary content bytes and signatures: how
/// a faulty or hostile device would, to build the invalid vectors.
fn seal_raw(
    content: &[u8],
    tech_sigs: Vec<TechSignature>,
    seq: u64,
    prev: Digest,
    device: &SigningKey,
) -> Envelope {
    let entry = Entry {
        v: 1,
        device_id: DEVICE_ID.into(),
        seq,
        prev,
        content_hash: hash::content_hash(content),
        sigs_hash: seal::sigs_hash(&tech_sigs).expect("signature objects are canonical"),
        sealed_at_ms: local(20, 30).timestamp_millis(),
        last_receipt_seq: None,
    };
    let entry_bytes = canonical::to_canonical(&entry).expect("an entry is canonical");
    let entry_hash = hash::entry_hash(&entry_bytes);
    Envelope {
        entry: b64::encode(&entry_bytes),
        content: b64::encode(content),
        tech_sigs,
        device_sig: device_signature(device, &entry_hash),
    }
}

fn device_signature(device: &SigningKey, entry_hash: &Digest) -> DeviceSignature {
    use ed25519_dalek::Signer as _;
    DeviceSignature {
        kid: kid_of(&device.verifying_key()),
        sig: b64::encode(&device.sign(&seal::devsig_message(entry_hash)).to_bytes()),
    }
}

fn tech_sign(key: &SigningKey, role: SignerRole, tech_id: &str, content: &[u8]) -> TechSignature {
    use ed25519_dalek::Signer as _;
    TechSignature {
        role,
        tech_id: tech_id.into(),
        kid: kid_of(&key.verifying_key()),
        sig: b64::encode(&key.sign(&seal::techsig_message(role, &hash::content_hash(content))).to_bytes()),
    }
}

/// The whole vectors document.
pub fn generate() -> Value {
    let keys = Keys::new();
    let rules = RuleSet::default();
    let mut chain = Chain { prev: genesis_prev(DEVICE_ID), seq: 0, out: Vec::new(), keys };
    let wo_test = id(WorkOrderId::parse, "WO-20261205-0031");
    let wo_repair = id(WorkOrderId::parse, "WO-20261205-0032");

    // 1. Arrival at a cold flat, with a photo of the door (body camera on).
    let door_photo = b"golden vector photo: entrance of 3-2-501, body camera on".to_vec();
    let arrival = CompletedStep {
        at: utc(19, 30),
        evidence: StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: vec![sha(&door_photo)],
        }),
    };
    let arrival_content = records::visit_step(
        meta(1, local(19, 30)),
        &wo_test,
        &arrival,
        chain.keys.signer(SignerRole::Performer),
        vec![file(&door_photo, "image/jpeg", AttachmentRole::Photo)],
    )
    .expect("arrival maps to a record");
    let arrival_sealed = chain.seal("visit_step_arrival_with_photo", arrival_content.clone());

    // 2–3. Two rooms measured with a calibrated thermometer.
    let thermometer =
        Thermometer::new("TM-2291", "JJG-2026-0457", NaiveDate::from_ymd_opt(2027, 6, 30).expect("a date"))
            .expect("golden thermometer is valid");
    let mut test = TemperatureTest::start(NewTemperatureTest {
        test_id: id(TestId::parse, "TT-20261205-0031"),
        work_order_id: wo_test.clone(),
        performer: id(TechnicianId::parse, PERFORMER),
        witness: id(TechnicianId::parse, WITNESS),
        thermometer,
        started_at: local(19, 35),
    })
    .expect("two different testers, calibrated thermometer");
    let mut reading_refs = Vec::new();
    let mut reading_sealed = Vec::new();
    for (n, kind, label, value, minute) in
        [(2, RoomKind::LivingRoom, "客厅", 1712, 40), (3, RoomKind::Bedroom, "主卧", 1846, 44)]
    {
        let reading = TemperatureReading::new(
            NewReading {
                test_id: id(TestId::parse, "TT-20261205-0031"),
                room_kind: kind,
                label,
                centi_celsius: value,
                taken_at: local(19, minute),
                consent_to_enter: true,
                shown_to_customer: true,
                outlier_reason: None,
            },
            rules.temperature(),
        )
        .expect("golden reading is in range");
        test.add_reading(reading.clone()).expect("the reading belongs to the test");
        let content = records::temperature_reading(
            meta(n, local(19, minute)),
            &wo_test,
            "TM-2291",
            &reading,
            chain.keys.signer(SignerRole::Performer),
        )
        .expect("reading maps to a record");
        let sealed = chain.seal(
            &format!("temperature_reading_{}", if n == 2 { "living_room" } else { "bedroom" }),
            content,
        );
        reading_refs.push(reference(&sealed));
        reading_sealed.push(sealed);
    }

    // 4. The report, co-signed by both testers, binding both readings.
    let report = test.report(rules.temperature()).expect("the test reports");
    let report_content = records::temperature_test(
        meta(4, local(19, 50)),
        &report,
        reading_refs,
        chain.keys.signer(SignerRole::Performer),
        chain.keys.signer(SignerRole::Witness),
    )
    .expect("report maps to a record");
    let report_sealed = chain.seal("temperature_test_report_cosigned", report_content.clone());

    // 5. The customer signs the summary shown to them.
    let png = b"golden vector: customer signature PNG bytes".to_vec();
    let strokes = b"[[12,40,0],[18,44,16],[25,47,33]]".to_vec();
    let summary = "入户测温 2026-12-05 客厅 17.12 °C，主卧 18.46 °C；不达标（06:00–21:00 应不低于 18.00 °C）";
    let signed = CustomerSignoff::signed(
        &hash::blob_id(&png).to_hex(),
        &hash::blob_id(&strokes).to_hex(),
        summary,
        4,
        None,
    )
    .expect("golden sign-off is valid");
    let signoff_content = records::customer_signoff(
        meta(5, local(19, 55)),
        &wo_test,
        &signed,
        vec![reference(&report_sealed)],
        Some(SignatureFiles {
            png: file(&png, "image/png", AttachmentRole::CustomerSignaturePng),
            strokes: file(&strokes, "application/json", AttachmentRole::CustomerSignatureStrokes),
        }),
        chain.keys.signer(SignerRole::Performer),
    )
    .expect("sign-off maps to a record");
    chain.seal("customer_signoff_signed", signoff_content);

    // 6–7. On another order the customer refuses to sign; the refusal is recorded.
    let resolve = CompletedStep {
        at: utc(20, 5),
        evidence: StepEvidence::Resolve(ResolveEvidence {
            action: "更换暖气片放风阀，试压无渗漏".into(),
            parts: vec![],
            customer_damage: None,
            meter_replacement: None,
            photos: vec![],
        }),
    };
    let resolve_content = records::visit_step(
        meta(6, local(20, 5)),
        &wo_repair,
        &resolve,
        chain.keys.signer(SignerRole::Performer),
        vec![],
    )
    .expect("resolve maps to a record");
    let resolve_sealed = chain.seal("visit_step_resolve", resolve_content);
    let refusal = CustomerSignoff::refused("用户认为维修不彻底，拒绝签字", "维修：更换放风阀一只，试压正常")
        .expect("golden refusal is valid");
    let refusal_content = records::customer_signoff(
        meta(7, local(20, 8)),
        &wo_repair,
        &refusal,
        vec![reference(&resolve_sealed)],
        None,
        chain.keys.signer(SignerRole::Performer),
    )
    .expect("refusal maps to a record");
    chain.seal("customer_signoff_refused", refusal_content);

    // 8. A correction: the arrival record named the wrong time; both stay.
    let corrected = CompletedStep { at: utc(19, 28), ..arrival };
    let correction = records::visit_step(
        meta(8, local(20, 10)),
        &wo_test,
        &corrected,
        chain.keys.signer(SignerRole::Performer),
        vec![file(&door_photo, "image/jpeg", AttachmentRole::Photo)],
    )
    .and_then(|c| {
        records::supersede(
            c,
            &arrival_content.record_id,
            arrival_sealed.content_hash,
            "到达时间按执法记录仪更正为 19:28",
        )
    })
    .expect("correction maps to a record");
    chain.seal("correction_supersedes_arrival", correction);

    // Invalid vectors, each claiming the next position after the valid chain.
    let next_seq = chain.seq + 1;
    let prev = chain.prev;
    let keys = &chain.keys;
    let extra = records::temperature_reading(
        meta(9, local(20, 12)),
        &wo_test,
        "TM-2291",
        &TemperatureReading::new(
            NewReading {
                test_id: id(TestId::parse, "TT-20261205-0031"),
                room_kind: RoomKind::Kitchen,
                label: "厨房",
                centi_celsius: 1850,
                taken_at: local(20, 12),
                consent_to_enter: true,
                shown_to_customer: true,
                outlier_reason: None,
            },
            rules.temperature(),
        )
        .expect("in range"),
        keys.signer(SignerRole::Performer),
    )
    .expect("reading maps to a record");
    let extra_bytes = EncodedContent::encode(extra).expect("valid").bytes().to_vec();
    let performer_sig =
        |bytes: &[u8]| vec![tech_sign(&keys.performer, SignerRole::Performer, PERFORMER, bytes)];
    let good = seal_raw(&extra_bytes, performer_sig(&extra_bytes), next_seq, prev, &keys.device);
    let mut invalid = Vec::new();

    // A byte of the content changed after sealing (1850 → 1950).
    let mut changed = good.clone();
    let mut bytes = b64::decode(&changed.content).unwrap_or_default();
    if let Some(at) = find(&bytes, b"\"centi_celsius\":1850") {
        bytes[at + 16] = b'9';
    }
    changed.content = b64::encode(&bytes);
    invalid.push(("changed_content_byte", changed));

    // A technician signature lifted from another record (the living-room reading), re-sealed by the device.
    let lifted = reading_sealed[0].envelope.tech_sigs.clone();
    invalid.push((
        "technician_signature_from_another_record",
        seal_raw(&extra_bytes, lifted, next_seq, prev, &keys.device),
    ));

    // The device signature made with a key that is not this device's.
    let mut wrong_device = good.clone();
    let entry_hash = hash::entry_hash(&b64::decode(&good.entry).unwrap_or_default());
    let impostor = device_signature(&key("an impostor device"), &entry_hash);
    wrong_device.device_sig.sig = impostor.sig;
    invalid.push(("wrong_device_signature", wrong_device));

    // Content that is valid JSON but not canonical (pretty-printed, keys reordered).
    let pretty = {
        let value: Value = serde_json::from_slice(&extra_bytes).unwrap_or_default();
        let mut reordered = Map::new();
        if let Value::Object(map) = value {
            for (k, v) in map.into_iter().rev() {
                reordered.insert(k, v);
            }
        }
        serde_json::to_vec_pretty(&Value::Object(reordered)).unwrap_or_default()
    };
    invalid.push((
        "content_not_canonical",
        seal_raw(&pretty, performer_sig(&pretty), next_seq, prev, &keys.device),
    ));

    // A float where a temperature in hundredths belongs.
    let float = String::from_utf8_lossy(&extra_bytes)
        .replace("\"centi_celsius\":1850", "\"centi_celsius\":18.5")
        .into_bytes();
    invalid.push(("float_in_content", seal_raw(&float, performer_sig(&float), next_seq, prev, &keys.device)));

    // An entry that does not link to the one before.
    let wrong_prev =
        seal_raw(&extra_bytes, performer_sig(&extra_bytes), next_seq, genesis_prev(DEVICE_ID), &keys.device);
    invalid.push(("prev_does_not_link", wrong_prev));

    // Judged vectors: crypto and chain sound at the next position, but the
    // report's signers fall short of what the schema requires (§10.4, "Who
    // must sign"); a server stores them and flags the receipt.
    let report_with = |n: u32, signers: Vec<Signer>| {
        let mut c = report_content.clone();
        c.record_id = meta(n, local(19, 52)).record_id;
        c.signers = signers;
        EncodedContent::encode(c).expect("valid").bytes().to_vec()
    };
    let sign_as = |bytes: &[u8], who: &[(SignerRole, &SigningKey, &str)]| -> Vec<TechSignature> {
        who.iter().map(|(role, key, tech)| tech_sign(key, *role, tech, bytes)).collect()
    };
    let performer = keys.signer(SignerRole::Performer);
    let mut judged = Vec::new();
    let no_witness = report_with(10, vec![performer.clone()]);
    judged.push((
        "report_without_a_witness",
        seal_raw(
            &no_witness,
            sign_as(&no_witness, &[(SignerRole::Performer, &keys.performer, PERFORMER)]),
            next_seq,
            prev,
            &keys.device,
        ),
    ));
    let both_roles =
        report_with(11, vec![performer.clone(), Signer { role: SignerRole::Witness, ..performer.clone() }]);
    judged.push((
        "report_signed_by_one_technician_in_both_roles",
        seal_raw(
            &both_roles,
            sign_as(
                &both_roles,
                &[
                    (SignerRole::Performer, &keys.performer, PERFORMER),
                    (SignerRole::Witness, &keys.performer, PERFORMER),
                ],
            ),
            next_seq,
            prev,
            &keys.device,
        ),
    ));
    let unsigned_witness = report_with(12, vec![performer.clone(), keys.signer(SignerRole::Witness)]);
    judged.push((
        "report_whose_listed_witness_did_not_sign",
        seal_raw(
            &unsigned_witness,
            sign_as(&unsigned_witness, &[(SignerRole::Performer, &keys.performer, PERFORMER)]),
            next_seq,
            prev,
            &keys.device,
        ),
    ));
    let nobody = report_with(13, vec![]);
    judged.push(("report_with_no_signers", seal_raw(&nobody, vec![], next_seq, prev, &keys.device)));

    let keys_for_reasons = directory(keys);
    let mut judged_out = Vec::new();
    for (name, envelope) in judged {
        let flags: Vec<&str> = match hearth_protocol::verify_envelope(&envelope, &keys_for_reasons, &prev) {
            Ok(record) => {
                hearth_protocol::signers::signer_flags(record.decoded.content(), &envelope.tech_sigs)
            }
            Err(_) => vec!["unexpectedly_invalid"],
        };
        let mut v = vector(name, &envelope, None);
        v["flags"] = json!(flags);
        judged_out.push(v);
    }
    for (name, envelope) in invalid {
        let reason = match hearth_protocol::verify_envelope(&envelope, &keys_for_reasons, &prev) {
            Ok(_) => "unexpectedly_valid".to_owned(),
            Err(e) => e.code().to_owned(),
        };
        chain.out.push(vector(name, &envelope, Some(&reason)));
    }

    let technicians: Map<String, Value> = [(PERFORMER, &chain.keys.performer), (WITNESS, &chain.keys.witness)]
        .into_iter()
        .map(|(tech_id, k)| {
            (
                kid_of(&k.verifying_key()),
                json!({"tech_id": tech_id, "device_id": DEVICE_ID, "public_key": b64::encode(k.verifying_key().as_bytes())}),
            )
        })
        .collect();
    json!({
        "version": 1,
        "devices": {DEVICE_ID: {"public_key": b64::encode(chain.keys.device.verifying_key().as_bytes())}},
        "technicians": technicians,
        "vectors": chain.out,
        "judged": judged_out,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A key directory built from the vectors' keys.
pub struct Directory {
    pub devices: Vec<(String, hearth_protocol::VerifyingKey)>,
    pub technicians: Vec<(String, hearth_protocol::TechnicianKey)>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("devices", &self.devices.len()).finish_non_exhaustive()
    }
}

impl hearth_protocol::KeyDirectory for Directory {
    fn device_key(&self, device_id: &str) -> Option<hearth_protocol::VerifyingKey> {
        self.devices.iter().find(|(id, _)| id == device_id).map(|(_, k)| *k)
    }
    fn technician_key(&self, kid: &str) -> Option<hearth_protocol::TechnicianKey> {
        self.technicians.iter().find(|(k, _)| k == kid).map(|(_, t)| t.clone())
    }
}

fn directory(keys: &Keys) -> Directory {
    let tech = |id: &str, k: &SigningKey| {
        (
            kid_of(&k.verifying_key()),
            hearth_protocol::TechnicianKey {
                tech_id: id.into(),
                device_id: DEVICE_ID.into(),
                public_key: k.verifying_key(),
            },
        )
    };
    Directory {
        devices: vec![(DEVICE_ID.into(), keys.device.verifying_key())],
        technicians: vec![tech(PERFORMER, &keys.performer), tech(WITNESS, &keys.witness)],
    }
}

/// Decodes an envelope without checking anything but base64 (for tests).
pub fn decoded_content(envelope: &Envelope) -> Option<Content> {
    decode_envelope(envelope).ok().map(|d| d.content().clone())
}
