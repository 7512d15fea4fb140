//! Per-device rate limits: a tablet that floods the server is told to wait
//! (429 with Retry-After, as JSON); other tablets are not affected.

mod common;

use common::*;
use serde_json::Value;

async fn head(server: &TestServer, device: &TestDevice) -> reqwest::Response {
    server
        .http
        .get(server.url(&format!("/v1/devices/{}/head", device.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tablet_gets_429_with_retry_after_and_others_are_served() {
    let server = TestServer::start(Backend::Sqlite);
    let noisy = server.enrol_device("噪声平板", 1).await;
    let quiet = server.enrol_device("安静平板", 2).await;
    let mut limited = None;
    for _ in 0..200 {
        let resp = head(&server, &noisy).await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 200);
    }
    let resp = limited.expect("200 requests at once exceed a tablet's burst");
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After is a short wait in seconds: {wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["message"].is_string());
    assert_eq!(head(&server, &quiet).await.status(), 200, "limits are per tablet");
}
