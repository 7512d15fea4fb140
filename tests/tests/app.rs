//! The tablet app end to end: `hearth_tablet::App` enrolled over HTTP with
//! the real server (demo day), a full repair visit with a photo and a
//! signature, a two-person temperature test the customer refuses to sign,
//! then sync — and every record arrives accepted, chained, on the server.

use std::time::Duration;

use chrono::Utc;
use hearth_domain::*;
use hearth_protocol::hash::genesis_prev;
use hearth_protocol::verify::decode_envelope;
use hearth_protocol::{Envelope, Receipt, ReceiptStatus};
use hearth_sync::SyncConfig;
use hearth_tablet::{App, SignoffInput, SignoffResult};
use hearth_tests::system::Server;
use hearth_tests::visit::{b64, reading, steps};

const PERFORMER: &str = "T0017";
const PERFORMER_PIN: &str = "482913";
const WITNESS: &str = "T0023";
const WITNESS_PIN: &str = "739164";
/// The demo's leak order for T0017, and its temperature test for T0017 and T0023.
const REPAIR: &str = "WO-DEMO-0010";
const TEST: &str = "WO-DEMO-0001";

/// A camera's photo of a heat meter (EXIF orientation, capture time, GPS).
const CAMERA_JPEG: &[u8] = include_bytes!("../fixtures/meter.jpg");
const PNG: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_and_a_refused_test_made_in_the_app_reach_the_server_accepted_and_chained() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).unwrap();

    // Enrolment: the tablet, then both testers.
    let code = server.admin(&["device-code"]);
    let state = app.enrol_device(&server.base, &code, "app tablet").await.unwrap();
    assert!(state.enrolled);
    let bad = app.enrol_technician(PERFORMER, "WRONG-CODE", PERFORMER_PIN, PERFORMER_PIN).await.unwrap_err();
    assert_eq!(bad.code, "bad_code", "a wrong one-time code is bad_code: {bad:?}");
    for (tech, pin) in [(PERFORMER, PERFORMER_PIN), (WITNESS, WITNESS_PIN)] {
        let code = server.admin(&["technician-code", "--id", tech]);
        app.enrol_technician(tech, &code, pin, pin).await.unwrap();
    }
    let engine = app.start_sync(SyncConfig::default()).unwrap();
    engine
        .sync_until_drained(Duration::from_secs(60))
        .await
        .unwrap_or_else(|s| panic!("feed not pulled: {s:?}"));
    let state = app.app_state().unwrap();
    assert_eq!(state.technicians.len(), 2);
    assert_eq!(state.technicians[0].name.as_deref(), Some("王建国"), "names come from the feed");
    app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    let today = app.today("").unwrap();
    assert!(today.iter().any(|i| i.order.id.as_str() == REPAIR), "the feed brought the repair order");
    assert!(
        today
            .iter()
            .any(|i| i.order.id.as_str() == TEST && i.kind == hearth_tablet::OrderKind::TemperatureTest)
    );

    // The seven-step visit with a photo and a signed sign-off.
    let photo = app.put_photo(CAMERA_JPEG).unwrap();
    for evidence in steps(Sha256Hex::parse(&photo.sha256).unwrap()) {
        app.complete_step(REPAIR, evidence).unwrap();
    }
    let signed = SignoffInput::Signed {
        signature_png_base64: b64(PNG),
        strokes_json: r#"{"strokes":[[[0,0],[10,12]]]}"#.into(),
        satisfaction: 5,
        comment: None,
    };
    assert!(matches!(app.customer_signoff(REPAIR, signed).unwrap(), SignoffResult::Visit(_)));
    let visit = app.conclude_visit(REPAIR, VisitOutcome::Resolved).unwrap();
    assert_eq!(visit.steps.len(), 7);

    // The two-person test, one correction, co-signed, refused by the customer.
    let thermometers = app.thermometers().unwrap();
    assert!(
        !thermometers.iter().find(|t| t.serial == "TM-1987").unwrap().usable,
        "the demo's old thermometer is refused"
    );
    app.start_temperature_test(TEST, WITNESS, WITNESS_PIN, "TM-2291").unwrap();
    let t = app.add_reading(TEST, reading(RoomKind::LivingRoom, "客厅", "16.8")).unwrap();
    app.add_reading(TEST, reading(RoomKind::Bedroom, "主卧", "17.4")).unwrap();
    app.correct_reading(
        TEST,
        &t.readings[0].record.record_id,
        "读数抄错",
        reading(RoomKind::LivingRoom, "客厅", "16.9"),
    )
    .unwrap();
    app.sign_report(TEST, PERFORMER_PIN, WITNESS_PIN, None).unwrap();
    let refused = SignoffInput::Refused { reason: "不认可测量结果".into() };
    let SignoffResult::Test(t) = app.customer_signoff(TEST, refused).unwrap() else {
        panic!("the test answers")
    };
    assert!(t.signoff.unwrap().signoff.is_refused());
    assert_eq!(t.readings.len(), 3, "the corrected reading stays beside its correction");

    // Sync, then look at the server.
    let status = app.sync_now().await.unwrap();
    engine
        .sync_until_drained(Duration::from_secs(120))
        .await
        .unwrap_or_else(|s| panic!("not drained: {s:?} (first pass: {status:?})"));
    let records = app.records(None).unwrap();
    assert_eq!(
        records.len(),
        14,
        "7 steps, sign-off and outcome; 3 readings, report and sign-off: {records:?}"
    );
    assert!(
        records.iter().all(|r| r.state == hearth_tablet::RecordState::Receipted),
        "every record receipted: {records:?}"
    );
    let device_id = state.device_id.unwrap();
    let db = server.db();
    let mut stmt = db
        .prepare("SELECT seq, entry_hash, envelope, receipt, flags, schema FROM entry WHERE device_id = ?1 ORDER BY seq")
        .unwrap();
    let rows: Vec<(i64, String, String, String, String, String)> = stmt
        .query_map([&device_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), records.len(), "every record arrived once");
    let mut prev = genesis_prev(&device_id);
    for (i, (seq, entry_hash, envelope, receipt, flags, schema)) in rows.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "contiguous");
        let receipt: Receipt = serde_json::from_str(receipt).unwrap();
        assert_eq!(receipt.status, ReceiptStatus::Valid, "{schema} at {seq} accepted, flags {flags}");
        let flags: Vec<String> = serde_json::from_str(flags).unwrap();
        assert!(flags.is_empty(), "{schema} at {seq} has no review flags: {flags:?}");
        let envelope: Envelope = serde_json::from_str(envelope).unwrap();
        let decoded = decode_envelope(&envelope).unwrap();
        assert_eq!(decoded.entry.prev, prev, "the chain links at {seq}");
        assert_eq!(decoded.entry_hash.to_hex(), *entry_hash);
        prev = decoded.entry_hash;
    }
    let schemas: Vec<&str> = rows.iter().map(|r| r.5.as_str()).collect();
    assert!(schemas.contains(&"hearth.temperature_test/1") && schemas.contains(&"hearth.customer_signoff/1"));
    assert!(server.blob(&photo.sha256).is_some(), "the photo reached the server");
    assert_eq!(app.store().lock().unwrap().verify_chain().unwrap().entries, records.len() as u64);
}

/// A tablet whose clock runs 45 minutes fast accepts an order: before sync
/// it shows its own (fast) time; once the record is receipted it places the
/// claim as the server does (protocol §8: no later than the server received
/// it), and its milestone is the office's, to the millisecond (issue 14).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_with_a_fast_clock_agrees_with_the_office_once_its_records_are_receipted() {
    let server = Server::start();
    let operator = server.admin(&["operator-token"]);
    let http = reqwest::Client::new();
    const FRESH: &str = "WO-FAST-CLOCK";
    let filed = http
        .post(format!("{}/v1/office/work-orders", server.base))
        .bearer_auth(operator.trim())
        .json(&serde_json::json!({
            "id": FRESH,
            "category": "repair",
            "customer": {"name": "张三", "phone": "13800138000",
                         "address": {"community": "幸福小区", "building": "1号楼", "unit": "2单元", "room": "301"}},
            "fault_description": "暖气不热",
            "technicians": [PERFORMER],
        }))
        .send()
        .await
        .unwrap();
    assert!(filed.status().is_success(), "{}", filed.text().await.unwrap_or_default());
    let dir = tempfile::tempdir().unwrap();
    let fast = chrono::Duration::minutes(45);
    let clock: hearth_tablet::Clock = std::sync::Arc::new(move || Utc::now() + fast);
    let app = App::open_with_clock(dir.path(), clock, 480).unwrap();
    let code = server.admin(&["device-code"]);
    app.enrol_device(&server.base, &code, "fast tablet").await.unwrap();
    let code = server.admin(&["technician-code", "--id", PERFORMER]);
    app.enrol_technician(PERFORMER, &code, PERFORMER_PIN, PERFORMER_PIN).await.unwrap();
    let engine = app.start_sync(SyncConfig::default()).unwrap();
    engine.sync_until_drained(Duration::from_secs(60)).await.unwrap_or_else(|s| panic!("feed: {s:?}"));
    app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();

    let before = Utc::now();
    app.accept_order(FRESH).unwrap();
    let own = app.work_order(FRESH).unwrap().order.milestones.accepted_at.unwrap();
    assert!(
        own >= before + fast - chrono::Duration::seconds(1),
        "before sync the tablet shows its own clock: {own} vs {before}"
    );

    app.sync_now().await.unwrap();
    engine.sync_until_drained(Duration::from_secs(60)).await.unwrap_or_else(|s| panic!("push: {s:?}"));
    let placed = app.work_order(FRESH).unwrap().order.milestones.accepted_at.unwrap();
    assert!(placed <= Utc::now(), "receipted: no later than the server received it ({placed})");

    let office: serde_json::Value = http
        .get(format!("{}/v1/office/work-orders/{FRESH}", server.base))
        .bearer_auth(operator.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let office_at: chrono::DateTime<Utc> =
        serde_json::from_value(office["milestones"]["accepted_at"].clone())
            .unwrap_or_else(|e| panic!("{e}: {office}"));
    assert_eq!(placed, office_at, "the tablet and the office place the acceptance alike");
}

/// Issue 16 item 5: the key was stored before the server accepted it, so a
/// refused enrolment ("t0017" in lower case) left a technician on the tablet
/// that was listed and offered at sign-in. Now nothing is stored until the
/// server has bound the key, and the id is spelled as the office spells it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_technician_enrolment_leaves_no_one_behind_and_a_typed_id_is_spelled_as_the_office_does() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).unwrap();
    let code = server.admin(&["device-code"]);
    app.enrol_device(&server.base, &code, "app tablet").await.unwrap();
    let keys_stored = || -> i64 {
        let store = app.store().lock().unwrap();
        store.connection().query_row("SELECT count(*) FROM technician_key", [], |r| r.get(0)).unwrap()
    };

    // A wrong code, and the code of someone else: refused, and nothing kept.
    let bad = app.enrol_technician(PERFORMER, "WRONG-CODE", PERFORMER_PIN, PERFORMER_PIN).await.unwrap_err();
    assert_eq!(bad.code, "bad_code");
    let witness_code = server.admin(&["technician-code", "--id", WITNESS]);
    let bad = app.enrol_technician(PERFORMER, &witness_code, PERFORMER_PIN, PERFORMER_PIN).await.unwrap_err();
    assert_eq!(bad.code, "bad_code", "{bad:?}");
    assert!(app.app_state().unwrap().technicians.is_empty(), "no ghost offered at sign-in");
    assert_eq!(keys_stored(), 0, "no key of a refused enrolment on the tablet");
    assert_eq!(app.sign_in(PERFORMER, PERFORMER_PIN).unwrap_err().code, "unknown_technician");

    // Typed in lower case with spaces, before the feed brought the office's list.
    let code = server.admin(&["technician-code", "--id", PERFORMER]);
    let state = app.enrol_technician(" t0017 ", &code, PERFORMER_PIN, PERFORMER_PIN).await.unwrap();
    let ids: Vec<_> = state.technicians.iter().map(|t| t.tech_id.as_str()).collect();
    assert_eq!(ids, [PERFORMER]);
    app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
}

/// Revocation reaches the tablet (issue 16): the office revokes a
/// technician's key, then the tablet; the feed says so. The technician can
/// no longer sign in; the tablet seals nothing more and says why, while what
/// it sealed before the revocation still reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_made_in_the_office_reach_the_tablet_through_the_feed() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path()).unwrap();
    let code = server.admin(&["device-code"]);
    let device_id = app.enrol_device(&server.base, &code, "app tablet").await.unwrap().device_id.unwrap();
    for (tech, pin) in [(PERFORMER, PERFORMER_PIN), (WITNESS, WITNESS_PIN)] {
        let code = server.admin(&["technician-code", "--id", tech]);
        app.enrol_technician(tech, &code, pin, pin).await.unwrap();
    }
    let engine = app.start_sync(SyncConfig::default()).unwrap();
    engine.sync_until_drained(Duration::from_secs(60)).await.unwrap_or_else(|s| panic!("{s:?}"));

    // The office revokes the witness's key on this tablet.
    let witness_kid = {
        let store = app.store().lock().unwrap();
        let techs = hearth_store::vault::enrolled_technicians(store.connection()).unwrap();
        techs.iter().find(|t| t.tech_id == WITNESS).unwrap().kid.clone()
    };
    server.admin(&["revoke-technician", "--kid", &witness_kid]);
    engine.sync_until_drained(Duration::from_secs(60)).await.unwrap_or_else(|s| panic!("{s:?}"));
    let e = app.sign_in(WITNESS, WITNESS_PIN).unwrap_err();
    assert_eq!(e.code, "technician_revoked", "{e:?}");
    assert_eq!(e.tech_name.as_deref(), Some("李秀英"));
    let ids: Vec<_> = app.app_state().unwrap().technicians.into_iter().map(|t| t.tech_id).collect();
    assert_eq!(ids, [PERFORMER]);

    // A step sealed while the tablet was trusted, not yet sent; then the office revokes the tablet.
    app.sign_in(PERFORMER, PERFORMER_PIN).unwrap();
    let photo = app.put_photo(CAMERA_JPEG).unwrap();
    let mut visit = steps(Sha256Hex::parse(&photo.sha256).unwrap()).into_iter();
    app.complete_step(REPAIR, visit.next().unwrap()).unwrap();
    app.complete_step(REPAIR, visit.next().unwrap()).unwrap();
    server.admin(&["revoke-device", "--device-id", &device_id]);
    let status = engine.sync_until_drained(Duration::from_secs(60)).await.expect_err("photos may not go");
    assert_eq!(status.pending_records, 0, "records sealed before the revocation still reach the server");
    let stopped: Vec<_> = status
        .lanes
        .iter()
        .filter_map(|l| match &l.state {
            hearth_sync::LaneState::Stopped { code, .. } => Some((l.lane, code.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(stopped, [("blobs", "device_revoked")], "only the photo upload is refused");
    assert!(app.app_state().unwrap().revoked_at_ms.is_some(), "the feed said so");
    assert_eq!(app.complete_step(REPAIR, visit.next().unwrap()).unwrap_err().code, "device_revoked");
    // What it could not send waits for a rescue export.
    let rescue = app.export_rescue().unwrap();
    assert_eq!((rescue.entries, rescue.blobs), (0, 1), "the photo is exported");
}
