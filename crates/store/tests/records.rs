//! Reading sealed records back, with where each stands: the app rebuilds
//! visits and tests from these, so they must come back whole and in order.

mod common;

use common::*;
use hearth_protocol::ReceiptStatus;

#[test]
fn sealed_records_come_back_in_order_with_their_send_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let first = seal_n(&mut store, 1);
    seal_n(&mut store, 2);
    store.note_send_failure(2, "offline", 0).unwrap();
    let (receipt, sig) = receipt_for(&first, 10, 1);
    store.store_receipt(&receipt, &sig, &server_key().verifying_key(), 2).unwrap();

    let all = store.chain_records(None).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(all[0].content.record_id, record_id(1));
    assert_eq!(all[0].content_hash, first.content_hash, "the hash is the sealed one");
    assert_eq!(all[0].receipt, Some(ReceiptStatus::Valid));
    assert_eq!(all[0].send_attempts, None, "a receipted record left the outbox");
    assert_eq!(all[1].receipt, None);
    assert_eq!(all[1].send_attempts, Some(1), "one failed attempt so far");

    assert_eq!(store.chain_records(Some("WO-2026-0001")).unwrap().len(), 2);
    assert!(store.chain_records(Some("WO-OTHER")).unwrap().is_empty());
    assert_eq!(store.chain_records_of_schema("hearth.visit_step/1").unwrap().len(), 2);
    assert_eq!(store.chain_record(&record_id(2)).unwrap().unwrap().seq, 2);
    assert!(store.chain_record("missing").unwrap().is_none());
}

#[test]
fn a_stored_file_is_known_by_size_and_type_and_an_unknown_one_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    let blob = store.put_blob(b"\xFF\xD8\xFFphoto", "image/jpeg", 1).unwrap();
    let found = store.stored_blob(&blob.sha256).unwrap().unwrap();
    assert_eq!(found, blob);
    let other = hearth_protocol::hash::blob_id(b"other");
    assert!(store.stored_blob(&other).unwrap().is_none());
}
