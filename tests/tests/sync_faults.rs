//! Three tablets sync through a proxy that faults 30 % of requests —
//! dropped connections, responses lost after the server committed, delays,
//! uploads cut part-way, resets — and still end with every entry on the
//! server exactly once, every chain contiguous, every blob intact, and a
//! receipt on each tablet for every record.

use std::time::Duration;

use hearth_sync::{Backoff, SyncConfig, SyncEngine};
use hearth_tests::proxy::{Fault, FaultPlan, FaultProxy};
use hearth_tests::system::{Server, Tablet};

const TABLETS: usize = 3;
const RECORDS: u64 = 2000;
const PHOTOS: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_nothing_duplicated_with_thirty_percent_of_requests_faulted() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.addr(), FaultPlan::none()).await.unwrap();
    let dirs: Vec<_> = (0..TABLETS).map(|_| tempfile::tempdir().unwrap()).collect();
    let techs = ["T0017", "T0023", "T0031"];
    let mut tablets = Vec::new();
    let mut photos = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        // Enrolment goes straight to the server; sync goes through the proxy.
        let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), techs[i]).await;
        for n in 0..RECORDS {
            let attach = if n % (RECORDS / PHOTOS) == 0 {
                let p = tablet.put_photo((i as u64) << 32 | n, 40_000 + (n as usize * 37) % 80_000);
                photos.push(p.clone());
                vec![p]
            } else {
                vec![]
            };
            tablet.seal_step(&attach, hearth_sync::now_ms());
        }
        tablets.push(tablet);
    }
    assert_eq!(photos.len() as u64, PHOTOS * TABLETS as u64);

    proxy.set_plan(FaultPlan {
        fault_rate: 0.3,
        seed: 20261123,
        faults: vec![
            Fault::DropConnection,
            Fault::DropResponse,
            Fault::Delay(Duration::from_millis(300)),
            Fault::CutUpload { after_bytes: 2_000 },
            Fault::Reset,
        ],
    });
    let quick = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(3) };
    let cfg = SyncConfig {
        // Small fixed chunks: most photos take several, so cut uploads resume.
        chunk_size: 32 * 1024,
        max_chunk_size: 32 * 1024,
        backoff: quick,
        blob_backoff: quick,
        server_url: Some(proxy.url()),
        ..SyncConfig::default()
    };
    let mut runs = tokio::task::JoinSet::new();
    for tablet in &tablets {
        let engine = SyncEngine::new(tablet.store.clone(), cfg.clone()).unwrap();
        runs.spawn(async move {
            let result = engine.sync_until_drained(Duration::from_secs(900)).await;
            (engine.totals(), engine.request_stats(), result.map(|_| ()))
        });
    }
    while let Some(done) = runs.join_next().await {
        let (totals, stats, result) = done.unwrap();
        eprintln!("tablet finished: {totals:?} {stats:?}");
        result.unwrap_or_else(|status| panic!("a tablet did not drain: {status:?}"));
    }
    let proxy_stats = proxy.stats();
    eprintln!("proxy: {proxy_stats:?}");
    assert!(
        proxy_stats.faults.disruptive() * 100 >= proxy_stats.requests * 15,
        "faults were really injected: {proxy_stats:?}"
    );

    for tablet in &tablets {
        assert_eq!(
            server.entry_counts(&tablet.device_id),
            (RECORDS, RECORDS, 1, RECORDS),
            "device {}: every entry exactly once, contiguous from 1",
            tablet.device_id
        );
        let s = tablet.store.lock().unwrap();
        assert_eq!(s.outbox_len().unwrap(), 0, "nothing left unsent on {}", tablet.device_id);
        assert_eq!(
            hearth_tests::system::receipt_count(&s),
            RECORDS,
            "a receipt for every record on {}",
            tablet.device_id
        );
    }
    let db = server.db();
    let total: i64 = db.query_row("SELECT count(*) FROM entry", [], |r| r.get(0)).unwrap();
    assert_eq!(total as u64, RECORDS * TABLETS as u64, "no stray entries");
    for p in &photos {
        let held = server.blob(&p.sha256.to_hex()).unwrap_or_else(|| panic!("blob {} missing", p.sha256));
        assert_eq!(hearth_protocol::hash::blob_id(&held), p.sha256, "blob {} intact", p.sha256);
    }
}
