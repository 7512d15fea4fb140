//! The downward feed through the sync engine: 10 000 work orders paged in,
//! a newer rev replacing the old, and a reset that drops only what the
//! server gave — never the chain or the outbox.

use std::time::Instant;

use hearth_protocol::api::FeedKind;
use hearth_store::Pin;
use hearth_sync::{SyncConfig, SyncEngine};
use hearth_tests::system::{Server, TEST_PIN, Tablet};
use serde_json::{Value, json};

const ORDERS: usize = 10_000;

fn order(i: usize) -> Value {
    json!({
        "id": format!("WO-FEED-{i:05}"),
        "category": "repair",
        "customer": {"name": "张三", "phone": "13800138000",
                     "address": {"community": "幸福小区", "building": format!("{}号楼", i % 40 + 1),
                                 "unit": "2单元", "room": format!("{}", 100 + i % 900)}},
        "fault_description": "暖气不热",
        "technicians": ["T0017"],
    })
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) {
    let resp = http.post(&url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = resp.status();
    assert!(status.is_success(), "{url} answered {status}: {}", resp.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_work_orders_page_in_update_and_survive_a_reset() {
    let server = Server::start();
    let operator = server.admin(&["operator-token"]);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (http, base, operator) = (http.clone(), server.base.clone(), operator.clone());
        tasks.spawn(async move {
            for i in (worker..ORDERS).step_by(8) {
                post(&http, format!("{base}/v1/office/work-orders"), &operator, order(i)).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    eprintln!("{ORDERS} work orders created in {:?}", started.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    for _ in 0..5 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let engine =
        SyncEngine::new(tablet.store.clone(), SyncConfig { feed_page: 500, ..SyncConfig::default() })
            .unwrap();
    let report = engine.sync_due().await;
    let orders = tablet.store.lock().unwrap().snapshots(FeedKind::WorkOrder).unwrap();
    let ours = orders.iter().filter(|(id, _, _)| id.starts_with("WO-FEED-")).count();
    assert_eq!(ours, ORDERS, "every work order assigned to T0017 arrived");
    assert!(report.feed_items >= ORDERS as u64, "{report:?}");
    assert!(engine.request_stats().feed_requests >= (ORDERS / 500) as u64, "paged, 500 at a time");
    // The tablet reads what the server publishes: every snapshot becomes a line of today's list.
    let work =
        hearth_tablet::today::orders_from_feed(&orders).expect("every snapshot readable on the tablet");
    let list = hearth_tablet::today::today(work, &hearth_domain::RuleSet::default(), chrono::Utc::now());
    assert!(list.len() >= ORDERS, "{} lines for {ORDERS} orders", list.len());

    // An update: the office reschedules one order; its rev goes up and the tablet's copy is replaced.
    let (_, old_rev, _) = orders.iter().find(|(id, _, _)| id == "WO-FEED-00042").unwrap().clone();
    // Tomorrow 10:00–12:00 company time: within the visit hours, whatever the time of this run.
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let tomorrow = chrono::Utc::now().with_timezone(&beijing).date_naive() + chrono::Duration::days(1);
    let start = tomorrow
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_local_timezone(beijing)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let end = start + chrono::Duration::hours(2);
    post(
        &http,
        format!("{}/v1/office/work-orders/WO-FEED-00042/reschedule", server.base),
        &operator,
        json!({"appointment": {"start": start.to_rfc3339(), "end": end.to_rfc3339()}, "expected_rev": old_rev}),
    )
    .await;
    engine.sync_now().await;
    let receipts = hearth_tests::system::receipt_count;
    let (chain_before, receipts_before) = {
        let s = tablet.store.lock().unwrap();
        let rows = s.snapshots(FeedKind::WorkOrder).unwrap();
        let (_, rev, body) = rows.iter().find(|(id, _, _)| id == "WO-FEED-00042").expect("still assigned");
        assert!(*rev > old_rev, "a higher rev replaced the old one ({rev} after {old_rev})");
        assert!(
            body.to_string().contains(&start.format("%Y-%m-%d").to_string()),
            "the new appointment: {body}"
        );
        assert_eq!(rows.iter().filter(|(id, _, _)| id.starts_with("WO-FEED-")).count(), ORDERS, "no copies");
        (s.head_seq().unwrap(), receipts(&s))
    };
    assert_eq!(receipts_before, 5, "the five records were receipted");

    // A second technician on this tablet changes the feed's scope: the server answers reset.
    let code = server.admin(&["technician-code", "--id", "T0023"]);
    hearth_sync::enrol_technician(&tablet.store, "T0023", &code, &Pin::new(TEST_PIN).unwrap()).await.unwrap();
    let report = engine.sync_now().await;
    assert!(report.feed_resets >= 1, "the server said reset: {report:?}");
    let s = tablet.store.lock().unwrap();
    assert_eq!(s.head_seq().unwrap(), chain_before, "the chain is untouched by a reset");
    assert_eq!(s.verify_chain().unwrap().entries, chain_before);
    let rows = s.snapshots(FeedKind::WorkOrder).unwrap();
    assert!(
        rows.iter().filter(|(id, _, _)| id.starts_with("WO-FEED-")).count() >= ORDERS - 1,
        "pulled again after the reset"
    );
    assert_eq!(receipts(&s), receipts_before, "receipts are untouched by a reset");
}
