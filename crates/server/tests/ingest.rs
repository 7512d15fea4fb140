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
    an_order_opened_on_site_is_filed_for_dispatch_and_its_records_are_not_flagged,
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

/// `hearth.work_order_local/1` for a neighbour's leak found on a visit, as
/// the tablet seals it: the order itself as data, signed by its technician.
fn local_order(device: &mut TestDevice, id: &str) -> hearth_protocol::Content {
    let address = hearth_domain::Address::new("阳光花园", "3号楼", "2单元", "601").unwrap();
    let customer = hearth_domain::Customer::new("赵大妈", "13935100002", address).unwrap();
    let mut order = hearth_domain::WorkOrder::new(
        id,
        hearth_domain::WorkOrderCategory::Leak,
        customer,
        "楼上漏水",
        chrono::Utc::now(),
    )
    .unwrap();
    order.assign(hearth_domain::TechnicianId::parse("T0017").unwrap());
    let mut content = device.arrival(id);
    content.schema = "hearth.work_order_local/1".into();
    content.data = match serde_json::to_value(&order).unwrap() {
        Value::Object(map) => map,
        _ => unreachable!("a work order is an object"),
    };
    content
}

async fn an_order_opened_on_site_is_filed_for_dispatch_and_its_records_are_not_flagged(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let id = "L-20261201143000-0a1b2c3d";
    let local = local_order(&mut device, id);
    let opened = device.seal(local);
    let arrival = device.arrival(id);
    let step = device.seal(arrival);
    let resp = server.push(&device, &[opened.envelope.clone(), step.envelope]).await;
    for r in &resp.results {
        assert_eq!(r.status, EntryStatus::Accepted, "{r:?}");
        assert_eq!(r.receipt.as_ref().unwrap().status, ReceiptStatus::Valid, "not unknown_work_order: {r:?}");
    }
    let office = |path: &str| server.http.get(server.url(path)).bearer_auth(&server.operator);
    let order: Value = ok_json(office(&format!("/v1/office/work-orders/{id}"))).await;
    assert_eq!(order["status"], "open");
    assert_eq!(order["order"]["fault_description"], "楼上漏水");
    assert_eq!(order["opened_on_site"]["device_id"], device.device_id.as_str());
    assert_eq!(order["opened_on_site"]["tech_id"], "T0017");
    assert!(order["opened_on_site"].get("confirmed_at").is_none(), "awaiting dispatch: {order}");
    // A later record on the order, in another batch, is not flagged either.
    let arrival = device.arrival(id);
    let later = device.seal(arrival);
    let resp = server.push(&device, &[later.envelope]).await;
    assert_eq!(resp.results[0].receipt.as_ref().unwrap().status, ReceiptStatus::Valid);
    // The same record again is a duplicate, and the order is not filed twice.
    let resp = server.push(&device, &[opened.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Duplicate);

    let confirm = |id: &str, rev: u64| {
        server
            .http
            .post(server.url(&format!("/v1/office/work-orders/{id}/confirm")))
            .bearer_auth(&server.operator)
            .json(&serde_json::json!({"expected_rev": rev}))
    };
    let rev = order["rev"].as_u64().unwrap();
    let confirmed: Value = ok_json(confirm(id, rev)).await;
    assert!(confirmed["body"]["opened_on_site"]["confirmed_at"].is_string(), "{confirmed}");
    let rev = confirmed["rev"].as_u64().unwrap();
    expect_json_error(confirm(id, rev).send().await.unwrap(), 409, Some("already_confirmed")).await;
    let demo: Value = ok_json(office("/v1/office/work-orders/WO-DEMO-0001")).await;
    let demo_rev = demo["rev"].as_u64().unwrap();
    expect_json_error(
        confirm("WO-DEMO-0001", demo_rev).send().await.unwrap(),
        409,
        Some("not_opened_on_site"),
    )
    .await;
    // The order reaches the technician's tablets through the feed.
    let feed: Value =
        server.device_get(&device, &format!("/v1/devices/{}/feed?limit=500", device.device_id)).await;
    let items = feed["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["kind"] == "work_order" && i["id"] == id),
        "the feed carries the order opened on site"
    );
}
