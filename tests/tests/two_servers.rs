//! Two servers, one database (issue 17): two `hearth-server serve`
//! processes over one PostgreSQL database and one blob directory, behind a
//! load balancer (the test proxy, switched from a dead server to the live
//! one as a balancer's health check would). One is SIGKILLed mid-push, then
//! restarted and SIGKILLed again mid-upload; the tablets finish through the
//! other. Nothing lost, nothing duplicated, every receipt valid (both
//! servers sign with the one key beside the shared blob directory), the
//! chains intact, and a tus upload begun on one server finished on the other.

use std::path::Path;
use std::time::{Duration, Instant};

use hearth_sync::{SyncConfig, SyncEngine};
use hearth_tests::proxy::{Fault, FaultPlan, FaultProxy};
use hearth_tests::system::{Server, Tablet, partial_upload_bytes, receipt_count};

const RECORDS: u64 = 600;
const CHUNK: usize = 32 * 1024;
/// 64 chunks of at least 10 ms each (the balancer's delay): time to kill into.
const PHOTO: usize = 2 * 1024 * 1024;
const SERVE: &[&str] = &["--device-rate", "100000", "--device-burst", "100000"];

/// A PostgreSQL database made for this test and dropped after it.
struct PgDatabase {
    admin_url: String,
    name: String,
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required for this test: {e}"));
    tokio::spawn(conn);
    client
}

impl PgDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("HEARTH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
        let name = format!("hearth_two_{}", uuid::Uuid::now_v7().simple());
        pg_client(&admin_url).await.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
        Self { admin_url, name }
    }

    fn url(&self) -> String {
        let (base, _) = self.admin_url.rsplit_once('/').expect("a database URL names a database");
        format!("{base}/{}", self.name)
    }

    /// `(count, distinct seqs, min seq, max seq)` of one device's entries.
    async fn entry_counts(&self, device_id: &str) -> (u64, u64, u64, u64) {
        let row = pg_client(&self.url())
            .await
            .query_one(
                "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
                 FROM entry WHERE device_id = $1",
                &[&device_id],
            )
            .await
            .unwrap();
        let n = |i: usize| row.get::<_, i64>(i) as u64;
        (n(0), n(1), n(2), n(3))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Dropped from its own runtime: this test's may be gone by now.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}

async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A day of work on a fresh tablet: `RECORDS` steps, the first with a photo.
async fn offline_day(server: &Server, dir: &Path, tech: &str, salt: u64) -> (Tablet, String) {
    let mut tablet = Tablet::enrol(server, &server.base, dir, tech).await;
    let photo = tablet.put_photo(salt, PHOTO);
    for n in 0..RECORDS {
        let attach = if n == 0 { vec![photo.clone()] } else { vec![] };
        tablet.seal_step(&attach, hearth_sync::now_ms());
    }
    (tablet, photo.sha256.to_hex())
}

/// The tablet's sync engine, running until drained, through `url`.
fn sync(tablet: &Tablet, url: &str) -> tokio::task::JoinHandle<Result<(), String>> {
    let cfg = SyncConfig {
        batch_size: 20,
        chunk_size: CHUNK,
        max_chunk_size: CHUNK,
        server_url: Some(url.to_owned()),
        // A failed request waits out a backoff; the probe ends it as soon as a server answers.
        probe_interval: Duration::from_millis(200),
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).expect("the engine starts");
    tokio::spawn(async move {
        engine.sync_until_drained(Duration::from_secs(300)).await.map(|_| ()).map_err(|s| format!("{s:?}"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_postgres_lose_nothing_when_one_is_killed() {
    let db = PgDatabase::create().await;
    let shared = tempfile::tempdir().unwrap();
    let blobs = shared.path().join("blobs");
    let mut a = Server::over(&db.url(), &blobs, SERVE);
    let b = Server::over(&db.url(), &blobs, SERVE);
    a.run(&["demo"]);

    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (t1, photo1) = offline_day(&a, dirs.0.path(), "T0017", 1).await;
    let (t2, photo2) = offline_day(&b, dirs.1.path(), "T0023", 2).await;

    // The balancer: each tablet's connection goes to one server; each request is slowed so kills land mid-way.
    let slow = || FaultPlan::always(Fault::Delay(Duration::from_millis(10)));
    let lb1 = FaultProxy::start(a.addr(), slow()).await.unwrap();
    let lb2 = FaultProxy::start(b.addr(), slow()).await.unwrap();

    // 1. Server A killed mid-push; the balancer sends tablet 1 to B.
    let first = sync(&t1, &lb1.url());
    wait_until("A took some of tablet 1's entries", async || db.entry_counts(&t1.device_id).await.0 >= 100)
        .await;
    a.kill();
    lb1.set_upstream(b.addr());
    lb1.cut_connections();
    let held = db.entry_counts(&t1.device_id).await.0;
    assert!(held < RECORDS, "killed mid-push: {held} of {RECORDS} entries were in");
    eprintln!("server A killed with {held} of tablet 1's {RECORDS} entries in");
    first.await.unwrap().expect("tablet 1 drains through B");

    // 2. A restarted; tablet 2 uploads through it and A is killed mid-upload;
    //    the upload resumes on B from the offset A left in the shared directory.
    a.spawn();
    lb2.set_upstream(a.addr());
    let second = sync(&t2, &lb2.url());
    wait_until("A holds part of tablet 2's photo", async || {
        partial_upload_bytes(&blobs) >= (4 * CHUNK) as u64
    })
    .await;
    a.kill();
    lb2.set_upstream(b.addr());
    lb2.cut_connections();
    let part = partial_upload_bytes(&blobs);
    assert!(
        a.blob(&photo2).is_none() && part < PHOTO as u64,
        "killed mid-upload, {part} of {PHOTO} bytes held"
    );
    eprintln!("server A killed with {part} of tablet 2's {PHOTO} photo bytes uploaded; B resumes");

    second.await.unwrap().expect("tablet 2 drains through B");

    // 3. A restarted once more serves what B stored: tablet 1's next records go through it.
    a.spawn();
    lb1.set_upstream(a.addr());
    let mut t1 = t1;
    for _ in 0..10 {
        t1.seal_step(&[], hearth_sync::now_ms());
    }
    sync(&t1, &lb1.url()).await.unwrap().expect("tablet 1 drains through the restarted A");

    for (tablet, photo, n) in [(&t1, &photo1, RECORDS + 10), (&t2, &photo2, RECORDS)] {
        assert_eq!(db.entry_counts(&tablet.device_id).await, (n, n, 1, n), "every entry exactly once");
        let held = b.blob(photo).expect("the photo arrived");
        assert_eq!(hearth_protocol::hash::blob_id(&held).to_hex(), *photo, "whole and unaltered");
        let s = tablet.store.lock().unwrap();
        assert_eq!(s.outbox_len().unwrap(), 0, "nothing left to send");
        // A receipt is stored only once its signature checks against the key pinned at enrolment.
        assert_eq!(receipt_count(&s), n, "a valid receipt for every record, from either server");
        assert_eq!(s.verify_chain().unwrap().entries, n, "the tablet's chain is intact");
    }
    // One sequence across both servers: no server_seq handed out twice.
    let row = pg_client(&db.url())
        .await
        .query_one("SELECT count(*), count(DISTINCT server_seq) FROM entry", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), row.get::<_, i64>(1), "server_seq is unique across the servers");
}
