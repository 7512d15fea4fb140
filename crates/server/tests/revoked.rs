//! A revoked tablet is cut off (issue 13): its token still pushes what it
//! sealed (stored, flagged `device_key_revoked`) and reads its head and
//! receipts, and nothing else. `trust.rs` checks the feed, upload creation,
//! `blobs/missing` and technician enrolment; this file the rest: uploads
//! begun before the revocation, receipts, the message, other tablets.

#[macro_use]
mod common;

use common::{Backend, TestServer, expect_json_error};
use hearth_protocol::api::EntryStatus;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

fn tus(req: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    req.bearer_auth(token).header("Tus-Resumable", "1.0.0")
}

async fn a_revoked_tablet_cannot_continue_an_upload_but_still_pushes_and_reads_receipts(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = server.enrol_device("丢失的平板", 41).await;
    server.enrol_technician(&mut device, "T0017", 42).await;
    let other = server.enrol_device("另一台平板", 43).await;

    // An upload begun while the tablet was trusted.
    let photo: Vec<u8> = [0xFF, 0xD8, 0xFF].iter().copied().chain((0..2_000u32).map(|i| i as u8)).collect();
    let sha = hex::encode(Sha256::digest(&photo));
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let resp = tus(server.http.post(server.url("/v1/uploads")), &device.token)
        .header("Upload-Length", photo.len().to_string())
        .header("Upload-Metadata", format!("sha256 {},media_type {}", b64(&sha), b64("image/jpeg")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let arrival = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(arrival);
    let first = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(first.results[0].status, EntryStatus::Accepted);

    let before = common::now_ms() - 1_000;
    server.admin(&["revoke-device", "--device-id", &device.device_id]);

    let checksum = format!(
        "sha256 {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(&photo))
    );
    let head = tus(server.http.head(server.url(&location)), &device.token).send().await.unwrap();
    assert_eq!(head.status(), 403, "HEAD of an upload begun before the revocation");
    let refused = [tus(server.http.patch(server.url(&location)), &device.token)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .header("Upload-Checksum", checksum)
        .body(photo.clone())];
    let mut message = String::new();
    for req in refused {
        let resp = req.send().await.unwrap();
        let body = expect_json_error(resp, 403, Some("device_revoked")).await;
        message = body["message"].as_str().unwrap_or_default().to_owned();
    }
    assert!(!server.blob_dir().join(&sha).exists(), "no blob came of it");

    // The feed tells the tablet, with the time in force, from the cursor it had.
    let feed = |cursor: &str| format!("/v1/devices/{}/feed?cursor={cursor}", device.device_id);
    let page: Value = server.device_get(&device, &feed("")).await;
    assert_eq!(page["items"][0]["kind"], "device_revocation", "{page}");
    let at = page["items"][0]["body"]["effective_at_ms"].as_i64().unwrap_or_default();
    assert!(at >= before && at <= common::now_ms(), "effective {at}, revoked after {before}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "nothing else: {page}");

    // The message says what happened and when, in words a person reads.
    assert!(message.contains("revoked") && message.contains("dispatch"), "{message}");
    let year = chrono::DateTime::from_timestamp_millis(before).unwrap().format("%Y-").to_string();
    assert!(message.contains(&year), "the revocation time is named: {message}");

    // What it sealed still arrives, flagged; its receipts stay readable.
    let arrival = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(arrival);
    let answer = server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(answer.results[0].status, EntryStatus::Accepted);
    let flags = answer.results[0].flags.clone().unwrap_or_default();
    assert!(flags.iter().any(|f| f == "device_key_revoked"), "{flags:?}");
    let receipts: Value =
        server.device_get(&device, &format!("/v1/devices/{}/receipts?from_seq=1", device.device_id)).await;
    assert_eq!(receipts["receipts"].as_array().map(Vec::len), Some(2));

    // Its token still reads no other device's data, and the office's blobs never.
    let resp = server
        .http
        .get(server.url(&format!("/v1/devices/{}/head", other.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 403, None).await;
    let resp =
        server.http.get(server.url(&format!("/v1/blobs/{sha}"))).bearer_auth(&device.token).send().await;
    expect_json_error(resp.unwrap(), 401, Some("unauthorized")).await;

    // Other tablets are untouched.
    let page: Value = server.device_get(&other, &format!("/v1/devices/{}/feed", other.device_id)).await;
    assert!(page["items"].is_array());
}

on_both_backends!(a_revoked_tablet_cannot_continue_an_upload_but_still_pushes_and_reads_receipts);
