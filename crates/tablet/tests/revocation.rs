//! Revocation reaches the tablet (issue 16): the feed says the office revoked
//! a technician's key or this tablet, and the tablet acts on it — without a
//! server here; tests/tests/app.rs does it against the real one.

mod common;

use common::*;
use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use hearth_protocol::seal::kid_of;
use serde_json::json;

fn apply(f: &Fixture, kind: FeedKind, id: &str, body: serde_json::Value) {
    let item = FeedItem { feed_seq: 100, kind, id: id.into(), rev: 1, body: Some(body) };
    let page = FeedPage { items: vec![item], cursor: "100".into(), has_more: false };
    f.app.store().lock().unwrap().apply_feed_page(&page, 2).unwrap();
}

fn kid(f: &Fixture, tech_id: &str) -> String {
    let store = f.app.store().lock().unwrap();
    let techs = hearth_store::vault::enrolled_technicians(store.connection()).unwrap();
    let t = techs.iter().find(|t| t.tech_id == tech_id).expect("enrolled");
    kid_of(&t.public_key)
}

fn wrapped_key_bytes(f: &Fixture, tech_id: &str) -> Option<Vec<u8>> {
    let store = f.app.store().lock().unwrap();
    store
        .connection()
        .query_row("SELECT wrapped FROM technician_key WHERE tech_id = ?1", [tech_id], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_revoked_technician_cannot_sign_in_and_their_wrapped_key_is_destroyed() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).expect("signed in, the performer seals");
    let revoked_at = start_time().timestamp_millis() + 60_000;
    let kid = kid(&f, PERFORMER);
    // Another tablet's key of the same technician is no concern of this one.
    apply(
        &f,
        FeedKind::KeyRevocation,
        "other-kid",
        json!({"kid": "other-kid", "tech_id": PERFORMER,
        "device_id": "dev-other", "effective_at_ms": revoked_at}),
    );
    assert!(wrapped_key_bytes(&f, PERFORMER).is_some());
    apply(
        &f,
        FeedKind::KeyRevocation,
        &kid,
        json!({"kid": kid, "tech_id": PERFORMER,
        "device_id": "dev-test", "effective_at_ms": revoked_at}),
    );

    assert_eq!(wrapped_key_bytes(&f, PERFORMER), None, "the wrapped key is destroyed");
    let listed: Vec<_> = f.app.app_state().unwrap().technicians.into_iter().map(|t| t.tech_id).collect();
    assert_eq!(listed, [WITNESS], "no longer offered at sign-in");
    // The session opened before the feed said so seals nothing more, and ends.
    let e = f.app.complete_step(REPAIR, arrival(vec![])).unwrap_err();
    assert_eq!((e.code.as_str(), e.tech_name.as_deref()), ("technician_revoked", Some("王建国")));
    assert!(f.app.app_state().unwrap().signed_in.is_none(), "signed out");
    // Even with the right PIN: revoked (not "too many wrong PINs"), with the time in force.
    let e = f.app.sign_in(PERFORMER, PERFORMER_PIN).unwrap_err();
    assert_eq!(e.code, "technician_revoked");
    assert_eq!(e.effective_at_ms, Some(revoked_at));
    // A feed reset and the same item again change nothing; the witness still works.
    f.app.store().lock().unwrap().reset_server_derived().unwrap();
    apply(
        &f,
        FeedKind::KeyRevocation,
        &kid,
        json!({"kid": kid, "tech_id": PERFORMER,
        "device_id": "dev-test", "effective_at_ms": revoked_at}),
    );
    assert_eq!(code(f.app.sign_in(PERFORMER, PERFORMER_PIN)), "technician_revoked");
    f.app.sign_in(WITNESS, WITNESS_PIN).expect("the witness's key is untouched");
}

#[test]
fn a_revoked_tablet_stops_sealing_says_why_and_keeps_what_it_has_not_sent_for_a_rescue_export() {
    let f = signed_in();
    f.app.complete_step(REPAIR, appointment()).unwrap();
    let photo = f.app.put_photo(CAMERA_JPEG).unwrap();
    let sha = hearth_domain::Sha256Hex::parse(&photo.sha256).unwrap();
    f.app.complete_step(REPAIR, arrival(vec![sha])).unwrap();
    assert_eq!(f.app.app_state().unwrap().revoked_at_ms, None);

    let revoked_at = start_time().timestamp_millis() + 5 * 60_000;
    apply(
        &f,
        FeedKind::DeviceRevocation,
        "dev-test",
        json!({"device_id": "dev-test",
        "effective_at_ms": revoked_at}),
    );

    assert_eq!(f.app.app_state().unwrap().revoked_at_ms, Some(revoked_at), "the screens are told");
    let e = f.app.complete_step(REPAIR, entry()).unwrap_err();
    assert_eq!(e.code, "device_revoked");
    assert_eq!(e.effective_at_ms, Some(revoked_at));
    assert_eq!(f.app.records(Some(REPAIR)).unwrap().len(), 2, "nothing sealed after it");
    // A feed reset (which drops the orders too) does not forget it.
    f.app.store().lock().unwrap().reset_server_derived().unwrap();
    assert_eq!(f.app.app_state().unwrap().revoked_at_ms, Some(revoked_at));
    // What it had sealed waits to be sent, and goes into a rescue export.
    let status = f.app.sync_status().unwrap();
    assert_eq!((status.pending_records, status.pending_blobs), (2, 1));
    let rescue = f.app.export_rescue().unwrap();
    assert_eq!((rescue.entries, rescue.blobs), (2, 1));
}
