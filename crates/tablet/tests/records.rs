//! Domain events become records whose bindings make them evidence: a step
//! attaches exactly its photos, a report binds exactly its readings and is
//! co-signed, a sign-off binds what the customer was shown.

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
use hearth_domain::*;
use hearth_protocol::hash::blob_id;
use hearth_protocol::{Attachment, AttachmentRole, Created, EncodedContent, RecordRef, Signer, SignerRole};
use hearth_tablet::records::{self, RecordMeta, SignatureFiles};

fn meta(n: u32) -> RecordMeta {
    RecordMeta {
        record_id: format!("019ae8f0-5a00-7000-8000-{n:012x}"),
        created: Created {
            device_time_ms: 1_764_900_000_000,
            tz_offset_min: 480,
            boot_id: "b".into(),
            monotonic_ms: 1,
            last_server_time_ms: None,
        },
    }
}

fn signer(role: SignerRole, tech_id: &str) -> Signer {
    Signer { role, tech_id: tech_id.into(), kid: "0123456789abcdef0123456789abcdef".into() }
}

fn wo() -> WorkOrderId {
    WorkOrderId::parse("WO-1").unwrap()
}

fn photo(bytes: &[u8]) -> Attachment {
    Attachment {
        captured_at_ms: None,
        sha256: blob_id(bytes),
        size: bytes.len() as u64,
        media_type: "image/jpeg".into(),
        role: AttachmentRole::Photo,
    }
}

fn arrival(photos: &[&[u8]]) -> CompletedStep {
    CompletedStep {
        at: Utc.with_ymd_and_hms(2026, 12, 5, 11, 30, 0).unwrap(),
        evidence: StepEvidence::Arrival(ArrivalEvidence {
            body_camera_on: true,
            knocked_gently: true,
            work_id_shown: true,
            note: None,
            photos: photos.iter().map(|p| Sha256Hex::parse(&blob_id(p).to_hex()).unwrap()).collect(),
        }),
    }
}

fn reference(n: u32) -> RecordRef {
    RecordRef { record_id: meta(n).record_id, content_hash: blob_id(&n.to_be_bytes()) }
}

#[test]
fn a_step_record_attaches_exactly_the_photos_its_evidence_names_and_round_trips() {
    let step = arrival(&[b"door"]);
    let performer = signer(SignerRole::Performer, "T1");
    let missing = records::visit_step(meta(1), &wo(), &step, performer.clone(), vec![]).unwrap_err();
    assert_eq!(missing.code(), "bad_binding");
    let extra =
        records::visit_step(meta(1), &wo(), &step, performer.clone(), vec![photo(b"door"), photo(b"other")]);
    assert!(extra.is_err(), "a photo the evidence does not name is refused");
    let content = records::visit_step(meta(1), &wo(), &step, performer, vec![photo(b"door")]).unwrap();
    let encoded = EncodedContent::encode(content).expect("no floats, no nulls, ASCII keys");
    let back: CompletedStep =
        serde_json::from_value(serde_json::Value::Object(encoded.content().data.clone())).unwrap();
    assert_eq!(back, step, "the server can rebuild the same domain value from the record");
}

#[test]
fn a_step_is_signed_by_its_performer_not_a_witness() {
    let err = records::visit_step(meta(1), &wo(), &arrival(&[]), signer(SignerRole::Witness, "T1"), vec![])
        .unwrap_err();
    assert_eq!(err.code(), "bad_binding");
}

fn report(readings: &[(RoomKind, &str, i32)]) -> TemperatureReport {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let rules = RuleSet::default();
    let mut test = TemperatureTest::start(NewTemperatureTest {
        test_id: TestId::parse("TT-1").unwrap(),
        work_order_id: wo(),
        performer: TechnicianId::parse("T1").unwrap(),
        witness: TechnicianId::parse("T2").unwrap(),
        thermometer: Thermometer::new("TM-1", "C-1", NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).unwrap(),
        started_at: tz.with_ymd_and_hms(2026, 12, 5, 19, 0, 0).unwrap(),
    })
    .unwrap();
    for (i, (kind, label, value)) in readings.iter().enumerate() {
        let reading = TemperatureReading::new(
            NewReading {
                test_id: TestId::parse("TT-1").unwrap(),
                room_kind: *kind,
                label,
                centi_celsius: *value,
                taken_at: tz.with_ymd_and_hms(2026, 12, 5, 19, 10 + i as u32, 0).unwrap(),
                consent_to_enter: true,
                shown_to_customer: true,
                outlier_reason: None,
            },
            rules.temperature(),
        )
        .unwrap();
        test.add_reading(reading).unwrap();
    }
    test.report(rules.temperature()).unwrap()
}

#[test]
fn a_report_binds_every_reading_and_is_signed_by_its_performer_and_witness() {
    let report = report(&[(RoomKind::LivingRoom, "客厅", 1790), (RoomKind::Bedroom, "卧室", 1810)]);
    let (p, w) = (signer(SignerRole::Performer, "T1"), signer(SignerRole::Witness, "T2"));
    let one_missing = records::temperature_test(meta(3), &report, vec![reference(1)], p.clone(), w.clone());
    assert!(one_missing.is_err(), "a report that leaves out a reading is refused");
    let wrong_witness = records::temperature_test(
        meta(3),
        &report,
        vec![reference(1), reference(2)],
        p.clone(),
        signer(SignerRole::Witness, "T9"),
    );
    assert!(wrong_witness.is_err(), "only the test's own witness co-signs");
    let content =
        records::temperature_test(meta(3), &report, vec![reference(1), reference(2)], p, w).unwrap();
    assert_eq!(content.signers.len(), 2);
    assert_eq!(content.refs.len(), 2);
    assert_eq!(content.data["reading_count"], 2);
    EncodedContent::encode(content).expect("the report encodes canonically");
}

#[test]
fn a_signed_sign_off_attaches_the_files_it_names_and_a_refusal_attaches_none() {
    let png = b"png";
    let strokes = b"[[1,2,3]]";
    let signed =
        CustomerSignoff::signed(&blob_id(png).to_hex(), &blob_id(strokes).to_hex(), "客厅 17.90 °C", 5, None)
            .unwrap();
    let files = SignatureFiles {
        png: Attachment { role: AttachmentRole::CustomerSignaturePng, ..photo(png) },
        strokes: Attachment { role: AttachmentRole::CustomerSignatureStrokes, ..photo(strokes) },
    };
    let p = signer(SignerRole::Performer, "T1");
    assert!(records::customer_signoff(meta(5), &wo(), &signed, vec![reference(3)], None, p.clone()).is_err());
    assert!(
        records::customer_signoff(meta(5), &wo(), &signed, vec![], Some(files.clone()), p.clone()).is_err(),
        "a sign-off binds what was shown"
    );
    let swapped = SignatureFiles { png: files.strokes.clone(), strokes: files.png.clone() };
    assert!(
        records::customer_signoff(meta(5), &wo(), &signed, vec![reference(3)], Some(swapped), p.clone())
            .is_err()
    );
    let ok = records::customer_signoff(
        meta(5),
        &wo(),
        &signed,
        vec![reference(3)],
        Some(files.clone()),
        p.clone(),
    )
    .unwrap();
    assert_eq!(ok.attachments.len(), 2);

    let refused = CustomerSignoff::refused("不认可读数", "客厅 17.90 °C").unwrap();
    assert!(
        records::customer_signoff(meta(6), &wo(), &refused, vec![reference(3)], Some(files), p.clone())
            .is_err()
    );
    let content = records::customer_signoff(meta(6), &wo(), &refused, vec![reference(3)], None, p).unwrap();
    assert_eq!(content.data["kind"], "refused", "a refusal is a valid record, not an error");
}

#[test]
fn a_correction_or_void_names_the_original_and_says_why() {
    let p = signer(SignerRole::Performer, "T1");
    let step = records::visit_step(meta(8), &wo(), &arrival(&[]), p.clone(), vec![]).unwrap();
    assert!(records::supersede(step.clone(), &meta(1).record_id, reference(1).content_hash, "  ").is_err());
    assert!(
        records::supersede(step.clone(), &meta(8).record_id, reference(8).content_hash, "x").is_err(),
        "not itself"
    );
    let fixed = records::supersede(step, &meta(1).record_id, reference(1).content_hash, "时间记错").unwrap();
    assert_eq!(fixed.supersedes.unwrap().reason, "时间记错");
    let void = records::void(meta(9), Some(&wo()), reference(2), "录错工单", p).unwrap();
    assert_eq!(void.schema, "hearth.void/1");
    assert_eq!(void.supersedes.unwrap().record_id, reference(2).record_id);
}
