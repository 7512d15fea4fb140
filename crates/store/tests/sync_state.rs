//! What the store keeps for the sync engine: the server clock, uploads in
//! progress with their own backoff, lanes stopped by alerts, receipts
//! issued twice, and when a photo may leave the tablet.

mod common;

use common::*;
use hearth_protocol::*;
use hearth_store::{Lane, ReceiptOutcome, ServerClock, Store, StoreError};
use serde_json::{Map, json};

fn seal_with_photo(store: &mut Store, n: u64, photo: &hearth_store::StoredBlob) -> SealedRecord {
    let attachment = Attachment {
        captured_at_ms: None,
        sha256: photo.sha256,
        size: photo.size,
        media_type: photo.media_type.clone(),
        role: AttachmentRole::Photo,
    };
    let mut data = Map::new();
    data.insert("step".into(), json!("inspect"));
    store.seal(&signed(content(n, data, vec![attachment])), 1_700_000_000_000 + n as i64, None).unwrap()
}

#[test]
fn the_clock_offset_is_taken_at_the_midpoint_and_the_shortest_round_trip_wins() {
    let c = ServerClock::measure(1_000, 1_200, 5_100);
    assert_eq!((c.offset_ms, c.rtt_ms), (4_000, 200), "server 5100 at device midpoint 1100");
    assert_eq!(c.server_time_at(2_000), 6_000);

    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    assert_eq!(store.last_server_time_ms(10).unwrap(), None, "unknown until measured");
    assert!(store.record_server_clock(c).unwrap());
    let noisy = ServerClock::measure(2_000, 4_000, 7_500);
    assert!(!store.record_server_clock(noisy).unwrap(), "a longer round trip does not replace a shorter one");
    assert_eq!(store.server_clock().unwrap(), Some(c));
    let later = ServerClock::measure(2_000 + 11 * 60_000, 2_000 + 11 * 60_000 + 900, 9_000_000);
    assert!(store.record_server_clock(later).unwrap(), "a stale measurement is replaced");
    assert_eq!(store.last_server_time_ms(1_000).unwrap(), Some(1_000 + later.offset_ms));
}

#[test]
fn a_second_receipt_for_the_same_entry_is_kept_as_evidence_and_the_first_stays() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let sealed = seal_n(&mut store, 1);
    let key = server_key().verifying_key();
    let (first, sig1) = receipt_for(&sealed, 10, 1_000);
    assert_eq!(store.store_receipt(&first, &sig1, &key, 5).unwrap(), ReceiptOutcome::Stored);
    assert_eq!(store.store_receipt(&first, &sig1, &key, 6).unwrap(), ReceiptOutcome::AlreadyStored);
    // The server lost the entry and received it again: new server_seq, new time.
    let (second, sig2) = receipt_for(&sealed, 77, 9_000);
    assert_eq!(store.store_receipt(&second, &sig2, &key, 7).unwrap(), ReceiptOutcome::Reissued);
    assert_eq!(store.receipt(1).unwrap().unwrap().receipt, first, "the first receipt stays the proof");
    assert_eq!(store.sync_counts().unwrap().reissued_receipts, 1);
    assert_eq!(store.outbox_len().unwrap(), 0);
}

#[test]
fn entries_to_push_come_from_the_chain_so_a_server_that_lost_them_gets_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let sealed: Vec<_> = (1..=5).map(|n| seal_n(&mut store, n)).collect();
    let key = server_key().verifying_key();
    for s in &sealed[..3] {
        let (r, sig) = receipt_for(s, s.entry.seq, 1);
        store.store_receipt(&r, &sig, &key, 1).unwrap();
    }
    let from2: Vec<u64> = store.entries_from(2, 10).unwrap().into_iter().map(|(seq, _)| seq).collect();
    assert_eq!(from2, vec![2, 3, 4, 5], "receipted entries are still there to resend");
    assert_eq!(store.entries_from(4, 1).unwrap().len(), 1, "the limit holds");
    assert_eq!(store.unreceipted_up_to(4).unwrap(), vec![4]);
    assert_eq!(store.entry_hash_at(2).unwrap(), Some(sealed[1].entry_hash));
    assert_eq!(store.entry_hash_at(9).unwrap(), None);
    let pending: Vec<u64> = store.unreceipted_entries().unwrap().into_iter().map(|(seq, _, _)| seq).collect();
    assert_eq!(pending, vec![4, 5]);
}

#[test]
fn each_file_backs_off_on_its_own_and_an_upload_resumes_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    let a = store.put_blob(b"photo a", "image/jpeg", 1).unwrap();
    let b = store.put_blob(b"photo b", "image/jpeg", 2).unwrap();
    store.save_upload_progress(&a.sha256, Some("/v1/uploads/abc"), 4, 3).unwrap();
    store.note_blob_failure(&b.sha256, "the connection broke", 10_000, 5).unwrap();
    let due: Vec<_> = store.pending_blobs(5_000, 10).unwrap();
    assert_eq!(due.len(), 1, "the failed file waits, the other does not");
    assert_eq!(due[0].sha256, a.sha256);
    assert_eq!(store.next_blob_attempt_ms().unwrap(), Some(10_000));
    drop(store);

    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let due = store.pending_blobs(20_000, 10).unwrap();
    assert_eq!(due.len(), 2, "after its backoff both are due");
    let a_row = due.iter().find(|p| p.sha256 == a.sha256).unwrap();
    assert_eq!((a_row.upload_url.as_deref(), a_row.confirmed_offset), (Some("/v1/uploads/abc"), 4));
    let b_row = due.iter().find(|p| p.sha256 == b.sha256).unwrap();
    assert_eq!(b_row.attempts, 1);
    store.mark_blob_uploaded(&a.sha256, 30_000).unwrap();
    let counts = store.sync_counts().unwrap();
    assert_eq!((counts.pending_blobs, counts.pending_blob_bytes), (1, 7));
}

#[test]
fn a_photo_leaves_the_tablet_only_when_the_server_has_it_and_every_record_naming_it_is_receipted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled_store(dir.path());
    let key = server_key().verifying_key();
    let photo = store.put_blob(b"meter reading photo", "image/jpeg", 1).unwrap();
    let loose = store.put_blob(b"not yet attached", "image/jpeg", 1).unwrap();
    let in_draft = store.put_blob(b"attached to a draft", "image/jpeg", 1).unwrap();
    store
        .save_draft(
            "d1",
            "hearth.visit_step/1",
            None,
            &canonical::to_canonical(&json!({"photos": [in_draft.sha256.to_hex()]})).unwrap(),
            1,
        )
        .unwrap();
    let first = seal_with_photo(&mut store, 1, &photo);
    let second = seal_with_photo(&mut store, 2, &photo);
    for p in [&photo, &loose, &in_draft] {
        store.mark_blob_uploaded(&p.sha256, 2).unwrap();
    }
    assert!(store.prune_uploaded_blobs(3).unwrap().is_empty(), "records without receipts still name it");
    let (r, sig) = receipt_for(&first, 1, 1);
    store.store_receipt(&r, &sig, &key, 3).unwrap();
    assert!(store.prune_uploaded_blobs(4).unwrap().is_empty(), "one of the two records is receipted");
    let (r, sig) = receipt_for(&second, 2, 1);
    store.store_receipt(&r, &sig, &key, 4).unwrap();
    assert_eq!(
        store.prune_uploaded_blobs(5).unwrap(),
        vec![photo.sha256],
        "only the photo both records name"
    );
    assert!(!store.blob_path(&photo.sha256).exists(), "its file is gone");
    assert!(matches!(store.read_blob(&photo.sha256), Err(StoreError::BlobRemoved(_))), "and it says so");
    assert!(store.read_blob(&loose.sha256).unwrap().is_some(), "a file no record names yet stays");
    assert!(store.read_blob(&in_draft.sha256).unwrap().is_some(), "a file a draft names stays");
}

#[test]
fn a_stopped_lane_stays_stopped_across_a_restart_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled_store(dir.path());
    store
        .stop_lane(Lane::Records, "conflict_fork", "the server holds a different entry at seq 3", 10)
        .unwrap();
    store.note_lane_success(Lane::Feed, 11).unwrap();
    drop(store);
    let store = Store::open_with_identity(dir.path(), identity()).unwrap();
    let records = store.lane(Lane::Records).unwrap();
    assert_eq!(
        records.stopped,
        Some(("conflict_fork".into(), "the server holds a different entry at seq 3".into(), 10))
    );
    assert_eq!(store.lane(Lane::Feed).unwrap().last_success_ms, Some(11));
    assert_eq!(store.lane(Lane::Blobs).unwrap(), hearth_store::LaneRecord::default());
    store.resume_lane(Lane::Records).unwrap();
    assert_eq!(store.lane(Lane::Records).unwrap().stopped, None);
}
