//! The sealed chain, the outbox and receipts, on a real SQLite file.

mod common;

use common::*;
use hearth_protocol::hash::{blob_id, genesis_prev};
use hearth_protocol::*;
use hearth_store::{Store, StoreError};
use rusqlite::Connection;
use serde_json::Map;

#[test]
fn sealed_records_get_contiguous_seqs_each_linked_to_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let a = seal_n(&mut store, 1);
    let b = seal_n(&mut store, 2);
    let c = seal_n(&mut store, 3);
    assert_eq!((a.entry.seq, b.entry.seq, c.entry.seq), (1, 2, 3));
    assert_eq!(a.entry.prev, genesis_prev(DEVICE_ID), "seq 1 links to the genesis hash");
    assert_eq!(b.entry.prev, a.entry_hash);
    assert_eq!(c.entry.prev, b.entry_hash);
    let report = store.verify_chain().unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(report.head, Some(c.entry_hash));
    assert_eq!(store.outbox_len().unwrap(), 3, "every sealed record waits in the outbox");
}

#[test]
fn nothing_is_sealed_before_the_tablet_is_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let err = store.seal(&signed(content(1, Map::new(), vec![])), 1, None).unwrap_err();
    assert_eq!(err.code(), "not_enrolled");
    assert_eq!(store.head_seq().unwrap(), 0);
}

#[test]
fn the_same_record_cannot_be_sealed_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    seal_n(&mut store, 1);
    let err = store.seal(&signed(content(1, Map::new(), vec![])), 2, None).unwrap_err();
    assert!(matches!(err, StoreError::RecordIdTaken(_)), "{err}");
    assert_eq!(store.head_seq().unwrap(), 1, "nothing was appended");
}

#[test]
fn the_database_refuses_to_update_or_delete_a_sealed_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    seal_n(&mut store, 1);
    drop(store);
    let conn = Connection::open(dir.path().join(hearth_store::DATABASE_FILE)).unwrap();
    let update = conn.execute("UPDATE chain SET sealed_at_ms = 0 WHERE seq = 1", []).unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = conn.execute("DELETE FROM chain WHERE seq = 1", []).unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    let outbox = conn.execute("DELETE FROM outbox WHERE seq = 1", []).unwrap_err();
    assert!(outbox.to_string().contains("receipt"), "an outbox row needs its receipt first: {outbox}");
}

/// Opens the raw file the way an attacker would: triggers dropped, one column changed.
fn tamper(dir: &std::path::Path, sql: &str) {
    let conn = Connection::open(dir.join(hearth_store::DATABASE_FILE)).unwrap();
    conn.execute_batch(&format!("DROP TRIGGER chain_no_update; DROP TRIGGER chain_no_delete; {sql}"))
        .unwrap();
}

#[test]
fn a_content_byte_changed_in_the_file_is_found_at_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    for n in 1..=4 {
        seal_n(&mut store, n);
    }
    drop(store);
    // "arrival" → "brrival" in the content of seq 3.
    tamper(
        dir.path(),
        "UPDATE chain SET content = CAST(replace(CAST(content AS TEXT), 'arrival', 'brrival') AS BLOB) WHERE seq = 3",
    );
    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    match store.verify_chain().unwrap_err() {
        StoreError::ChainBroken { seq, problem } => {
            assert_eq!(seq, 3, "the first bad row is named");
            assert!(problem.contains("content_hash"), "{problem}");
        }
        other => panic!("expected a broken chain, got {other}"),
    }
}

#[test]
fn a_deleted_row_is_found_as_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    for n in 1..=3 {
        seal_n(&mut store, n);
    }
    drop(store);
    tamper(
        dir.path(),
        "DROP TRIGGER outbox_delete_needs_receipt; DELETE FROM outbox WHERE seq = 2; DELETE FROM chain WHERE seq = 2",
    );
    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(matches!(err, StoreError::ChainBroken { seq: 2, .. }), "{err}");
}

#[test]
fn a_resigned_entry_with_a_forged_prev_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    for n in 1..=3 {
        seal_n(&mut store, n);
    }
    drop(store);
    tamper(
        dir.path(),
        "UPDATE chain SET device_sig = replace(device_sig, substr(json_extract(device_sig, '$.sig'), 1, 4), 'AAAA') WHERE seq = 2",
    );
    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let err = store.verify_chain().unwrap_err();
    assert!(matches!(err, StoreError::ChainBroken { seq: 2, .. }), "{err}");
}

#[test]
fn a_signed_receipt_for_the_entry_takes_it_out_of_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let first = seal_n(&mut store, 1);
    let (r, sig) = receipt_for(&first, 41, 1_700_000_100_000);
    store.store_receipt(&r, &sig, &server_key().verifying_key(), 5).unwrap();
    store.store_receipt(&r, &sig, &server_key().verifying_key(), 6).expect("the same receipt again is fine");
    assert_eq!(store.outbox_len().unwrap(), 0);
    assert_eq!(store.receipt(1).unwrap().unwrap().receipt, r);
    let second = seal_n(&mut store, 2);
    assert_eq!(second.entry.last_receipt_seq, Some(41), "the next entry names the highest receipt held");
}

#[test]
fn a_receipt_that_is_forged_or_names_another_entry_is_refused_and_the_entry_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let first = seal_n(&mut store, 1);
    let (mut r, sig) = receipt_for(&first, 1, 1_700_000_100_000);
    let other_server = SigningKey::from_bytes(&[98; 32]);
    let err = store.store_receipt(&r, &sig, &other_server.verifying_key(), 5).unwrap_err();
    assert_eq!(err.code(), "bad_receipt_signature");
    r.entry_hash = blob_id(b"another entry");
    let sig = receipt::sign_receipt(&r, &server_key()).unwrap();
    let err = store.store_receipt(&r, &sig, &server_key().verifying_key(), 5).unwrap_err();
    assert_eq!(err.code(), "receipt_mismatch");
    assert_eq!(store.outbox_len().unwrap(), 1, "nothing leaves the device without its receipt");
}

#[test]
fn a_record_can_refer_only_to_files_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let photo = b"\x89PNG fake photo bytes".to_vec();
    let attachment = Attachment {
        captured_at_ms: None,
        sha256: blob_id(&photo),
        size: photo.len() as u64,
        media_type: "image/png".into(),
        role: AttachmentRole::Photo,
    };
    let err = store.seal(&signed(content(1, Map::new(), vec![attachment.clone()])), 1, None).unwrap_err();
    assert_eq!(err.code(), "missing_blob");
    let stored = store.put_blob(&photo, "image/png", 1).unwrap();
    assert_eq!(stored.sha256, attachment.sha256);
    assert_eq!(
        std::fs::read(store.blob_path(&stored.sha256)).unwrap(),
        photo,
        "the file is named by its hash"
    );
    store.seal(&signed(content(1, Map::new(), vec![attachment])), 1, None).unwrap();
    assert_eq!(store.read_blob(&stored.sha256).unwrap(), Some(photo));
}

#[test]
fn sealing_a_draft_removes_the_draft_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    store.save_draft("d1", "hearth.visit_step/1", Some("WO-1"), br#"{"step":"arrival"}"#, 1).unwrap();
    let err = store.seal(&signed(content(1, Map::new(), vec![])), 1, Some("no-such-draft")).unwrap_err();
    assert_eq!(err.code(), "draft_not_found");
    assert_eq!(store.head_seq().unwrap(), 0, "the failed seal rolled back whole");
    store.seal(&signed(content(1, Map::new(), vec![])), 1, Some("d1")).unwrap();
    assert_eq!(store.draft_count().unwrap(), 0);
    assert_eq!(store.head_seq().unwrap(), 1);
}
