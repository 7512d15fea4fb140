//! One test per row of the result table of protocol §5, each run on SQLite
//! and on PostgreSQL, against the real binary over HTTP.

#[macro_use]
mod common;

use common::*;
use hearth_protocol::api::{EntryStatus, ReceiptsResponse};
use hearth_protocol::{EncodedContent, ReceiptStatus, SignerRole, b64, receipt};
use serde_json::Value;

on_both_backends!(
    a_valid_entry_is_accepted_with_a_receipt_signed_by_the_server,
    the_same_entry_again_is_a_duplicate_with_the_byte_identical_original_receipt,
    a_different_entry_at_a_taken_seq_is_a_fork_kept_as_evidence,
    a_record_id_used_again_is_a_conflict,
    an_entry_past_the_head_is_a_gap_naming_the_expected_seq,
    an_entry_whose_prev_does_not_link_is_a_broken_chain,
    a_bad_device_signature_is_rejected_and_the_rest_of_the_batch_not_processed,
    a_bad_technician_signature_is_rejected,
    a_technician_key_bound_to_another_device_is_rejected,
    non_canonical_content_bytes_are_rejected,
    a_revoked_technician_key_flags_later_entries_and_leaves_earlier_ones_valid,
    a_business_rule_failure_is_accepted_as_needs_review_with_flags,
);

async fn setup(backend: Backend) -> (TestServer, TestDevice) {
    let server = TestServer::start(backend);
    let mut device = server.enrol_device("测试平板 1", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;
    (server, device)
}

async fn a_valid_entry_is_accepted_with_a_receipt_signed_by_the_server(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(content);
    let resp = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    let r = &resp.results[0];
    assert_eq!(r.status, EntryStatus::Accepted, "{r:?}");
    let rec = r.receipt.as_ref().unwrap();
    assert_eq!((rec.seq, rec.status, rec.entry_hash), (1, ReceiptStatus::Valid, sealed.entry_hash));
    assert!(r.flags.is_none(), "a valid entry has no flags: {r:?}");
    receipt::verify_receipt(rec, r.receipt_sig.as_ref().unwrap(), &server.server_key().await)
        .expect("the receipt verifies against GET /v1/server-key");
    let head: Value = server
        .http
        .get(server.url(&format!("/v1/devices/{}/head", device.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(head["seq"], 1);
    assert_eq!(head["entry_hash"], sealed.entry_hash.to_hex());
}

async fn the_same_entry_again_is_a_duplicate_with_the_byte_identical_original_receipt(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(content);
    let first = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    let again = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(again.results[0].status, EntryStatus::Duplicate);
    assert_eq!(
        serde_json::to_string(&again.results[0].receipt).unwrap(),
        serde_json::to_string(&first.results[0].receipt).unwrap(),
        "the original receipt, not a new one"
    );
    assert_eq!(again.results[0].receipt_sig, first.results[0].receipt_sig);
}

async fn a_different_entry_at_a_taken_seq_is_a_fork_kept_as_evidence(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let (seq0, prev0) = (device.seq, device.prev);
    let content = device.arrival("WO-DEMO-0001");
    let first = device.seal(content);
    server.push(&device, &[first.envelope]).await;
    device.seq = seq0;
    device.prev = prev0;
    let other = device.arrival("WO-DEMO-0001");
    let fork = device.seal(other);
    let resp = server.push(&device, &[fork.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Conflict);
    assert_eq!(resp.results[0].reason.as_deref(), Some("fork"));
}

async fn a_record_id_used_again_is_a_conflict(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-DEMO-0001");
    let record_id = content.record_id.clone();
    let first = device.seal(content);
    server.push(&device, &[first.envelope]).await;
    let mut reuse = device.arrival("WO-DEMO-0001");
    reuse.record_id = record_id;
    let second = device.seal(reuse);
    let resp = server.push(&device, &[second.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Conflict);
    assert_eq!(resp.results[0].reason.as_deref(), Some("record_id_reuse"));
}

async fn an_entry_past_the_head_is_a_gap_naming_the_expected_seq(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let c1 = device.arrival("WO-DEMO-0001");
    let s1 = device.seal(c1);
    let c2 = device.arrival("WO-DEMO-0001");
    let _s2 = device.seal(c2);
    let c3 = device.arrival("WO-DEMO-0001");
    let s3 = device.seal(c3);
    server.push(&device, &[s1.envelope]).await;
    let resp = server.push(&device, &[s3.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Gap);
    assert_eq!(resp.results[0].expected_seq, Some(2));
}

async fn an_entry_whose_prev_does_not_link_is_a_broken_chain(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let c1 = device.arrival("WO-DEMO-0001");
    let s1 = device.seal(c1);
    server.push(&device, &[s1.envelope]).await;
    device.prev = hearth_protocol::hash::blob_id(b"not the previous entry");
    let c2 = device.arrival("WO-DEMO-0001");
    let s2 = device.seal(c2);
    let resp = server.push(&device, &[s2.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Conflict);
    assert_eq!(resp.results[0].reason.as_deref(), Some("broken_chain"));
}

async fn a_bad_device_signature_is_rejected_and_the_rest_of_the_batch_not_processed(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let c1 = device.arrival("WO-DEMO-0001");
    let mut s1 = device.seal(c1);
    let c2 = device.arrival("WO-DEMO-0001");
    let s2 = device.seal(c2);
    let mut sig = b64::decode(&s1.envelope.device_sig.sig).unwrap();
    sig[0] ^= 1;
    s1.envelope.device_sig.sig = b64::encode(&sig);
    let resp = server.push(&device, &[s1.envelope, s2.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Rejected);
    assert_eq!(resp.results[0].reason.as_deref(), Some("bad_device_signature"));
    assert_eq!(resp.results[1].status, EntryStatus::NotProcessed);
    assert_eq!(resp.results[1].seq, 2);
}

async fn a_bad_technician_signature_is_rejected(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-DEMO-0001");
    let bytes = EncodedContent::encode(content).unwrap().bytes().to_vec();
    // Signed over other bytes: a valid signature, of another record.
    let sig = tech_sig(&device.techs[0].1, SignerRole::Performer, "T0017", b"{}");
    let env = seal_raw(&mut device, &bytes, vec![sig]);
    let resp = server.push(&device, &[env]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Rejected);
    assert_eq!(resp.results[0].reason.as_deref(), Some("bad_technician_signature"));
}

async fn a_technician_key_bound_to_another_device_is_rejected(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let mut other = server.enrol_device("测试平板 2", 7).await;
    server.enrol_technician(&mut other, "T0023", 8).await;
    // Device 1 presents a signature by T0023's key, which is bound to device 2.
    device.techs.push(other.techs[0].clone());
    let mut content = device.arrival("WO-DEMO-0001");
    content.signers[0] = hearth_protocol::Signer {
        role: SignerRole::Performer,
        tech_id: "T0023".into(),
        kid: hearth_protocol::seal::kid_of(&other.techs[0].1.verifying_key()),
    };
    let sealed = device.seal(content);
    let resp = server.push(&device, &[sealed.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Rejected);
    assert_eq!(resp.results[0].reason.as_deref(), Some("technician_key_of_other_device"));
}

async fn non_canonical_content_bytes_are_rejected(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-DEMO-0001");
    let value = serde_json::to_value(&content).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let sig = tech_sig(&device.techs[0].1, SignerRole::Performer, "T0017", &pretty);
    let env = seal_raw(&mut device, &pretty, vec![sig]);
    let resp = server.push(&device, &[env]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Rejected);
    assert_eq!(resp.results[0].reason.as_deref(), Some("content_not_canonical"));
}

async fn a_revoked_technician_key_flags_later_entries_and_leaves_earlier_ones_valid(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let kid = hearth_protocol::seal::kid_of(&device.techs[0].1.verifying_key());
    let before = device.arrival("WO-DEMO-0001");
    let before = device.seal(before);
    let first = server.push(&device, &[before.envelope]).await;
    assert_eq!(first.results[0].receipt.as_ref().unwrap().status, ReceiptStatus::Valid);

    server.admin(&["revoke-technician", "--kid", &kid]);
    let after = device.arrival("WO-DEMO-0001");
    let after = device.seal(after);
    let resp = server.push(&device, &[after.envelope]).await;
    let r = &resp.results[0];
    assert_eq!(r.status, EntryStatus::Accepted, "stored, never dropped");
    assert_eq!(r.receipt.as_ref().unwrap().status, ReceiptStatus::NeedsReview);
    assert!(r.flags.as_ref().unwrap().contains(&"technician_key_revoked".to_string()), "{r:?}");

    let receipts: ReceiptsResponse = server
        .http
        .get(server.url(&format!("/v1/devices/{}/receipts?from_seq=1", device.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(receipts.receipts.len(), 2);
    assert_eq!(
        receipts.receipts[0].receipt.status,
        ReceiptStatus::Valid,
        "the entry receipted before revocation stays valid"
    );
}

async fn a_business_rule_failure_is_accepted_as_needs_review_with_flags(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let content = device.arrival("WO-NO-SUCH-ORDER");
    let sealed = device.seal(content);
    let resp = server.push(&device, &[sealed.envelope]).await;
    let r = &resp.results[0];
    assert_eq!(r.status, EntryStatus::Accepted, "business rules never block a chain");
    assert_eq!(r.receipt.as_ref().unwrap().status, ReceiptStatus::NeedsReview);
    assert_eq!(r.flags.as_deref(), Some(&["unknown_work_order".to_string()][..]));
}
