//! The downward feed (protocol §7) as a tablet reads it.

mod common;

use common::*;
use hearth_protocol::api::{FeedKind, FeedPage};
use serde_json::Value;

async fn page(server: &TestServer, device: &TestDevice, cursor: &str) -> reqwest::Response {
    server
        .http
        .get(server.url(&format!("/v1/devices/{}/feed?cursor={cursor}&limit=500", device.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_sees_its_technicians_orders_and_reference_data_and_only_removals_of_others() {
    let server = TestServer::start(Backend::Sqlite);
    let mut device = server.enrol_device("平板", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;
    let first: FeedPage = page(&server, &device, "").await.json().await.unwrap();
    let kinds =
        |k: FeedKind| first.items.iter().filter(|i| i.kind == k).map(|i| i.id.clone()).collect::<Vec<_>>();
    // T0017 is assigned to WO-DEMO-0001 and WO-DEMO-0010 in the demo day.
    assert_eq!(kinds(FeedKind::WorkOrder), vec!["WO-DEMO-0001", "WO-DEMO-0010"]);
    assert_eq!(kinds(FeedKind::WorkOrderRemoved).len(), 10, "other orders come as removals, without bodies");
    assert!(first.items.iter().filter(|i| i.kind == FeedKind::WorkOrderRemoved).all(|i| i.body.is_none()));
    assert_eq!(kinds(FeedKind::Technician).len(), 6);
    assert_eq!(kinds(FeedKind::Thermometer).len(), 3);
    assert_eq!(kinds(FeedKind::RuleSet), vec!["company"]);
    let seqs: Vec<u64> = first.items.iter().map(|i| i.feed_seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "items come in feed_seq order");
    assert!(!first.has_more);

    let next: FeedPage = page(&server, &device, &first.cursor).await.json().await.unwrap();
    assert!(next.items.is_empty(), "nothing new after the cursor");

    server.admin(&[
        "thermometer",
        "add",
        "--serial",
        "TM-9001",
        "--certificate",
        "JJG-9",
        "--valid-until",
        "2027-12-31",
    ]);
    let after: FeedPage = page(&server, &device, &next.cursor).await.json().await.unwrap();
    assert_eq!(after.items.len(), 1);
    assert_eq!((after.items[0].kind, after.items[0].id.as_str()), (FeedKind::Thermometer, "TM-9001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_from_before_the_tablets_scope_changed_is_answered_reset() {
    let server = TestServer::start(Backend::Sqlite);
    let mut device = server.enrol_device("平板", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;
    let first: FeedPage = page(&server, &device, "").await.json().await.unwrap();
    server.enrol_technician(&mut device, "T0023", 3).await;
    let resp = page(&server, &device, &first.cursor).await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "reset", "the tablet must drop server-derived data and start again");

    let garbage = page(&server, &device, "not-a-cursor").await;
    assert_eq!(garbage.status(), 400);
    let body: Value = garbage.json().await.unwrap();
    assert_eq!(body["error"], "bad_cursor");
}
