//! The office at scale (issue 15): the dispatcher's board and the record
//! search with `HEARTH_BENCH_ORDERS` work orders (default 100 000: most
//! closed, a few thousand open, several categories, 2 000 communities) and
//! `HEARTH_BENCH_OFFICE_RECORDS` records (default 1 000 000, spread over 500
//! devices), on SQLite (a temp file) and PostgreSQL (a fresh database,
//! dropped at the end).
//!
//! The data is written straight into the storage's tables (one transaction
//! of prepared inserts on SQLite, COPY on PostgreSQL; the time is printed):
//! the records are well-formed envelopes whose hashes match, with
//! placeholder signatures, since the office never verifies signatures when
//! it reads (ingest did, on arrival). Then the real `hearth-server` binary
//! serves it, rebuilding the board's index in the background from start-up
//! (the first page's time and the rebuild's are printed), and once the
//! index is current each query runs `REQUESTS` times one after another:
//! p50 and p95 against the goal, p95 ≤ 100 ms. A missed goal is printed
//! (NOT MET), not fatal; any answer but 200 fails the bench.
//!
//! `cargo bench -p hearth-server --bench office`. PostgreSQL is required:
//! `postgres://root@127.0.0.1:5432/test`, or `HEARTH_TEST_POSTGRES`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use hearth_domain::{Address, Customer, WorkOrder, WorkOrderCategory};
use hearth_protocol::hash::{self, Digest};
use hearth_protocol::{
    Content, Created, DeviceSignature, EncodedContent, Entry, Envelope, Receipt, ReceiptStatus, Signer,
    SignerRole, b64, canonical, seal,
};
use hearth_server::orders::{OrderStatus, WorkOrderBody};
use hearth_server::storage::Storage;
use serde_json::{Map, json};

const BIN: &str = env!("CARGO_BIN_EXE_hearth-server");

const REQUESTS: usize = 200;
const GOAL_P95: Duration = Duration::from_millis(100);
const DEVICES: usize = 500;
const COMMUNITIES: usize = 2_000;
const TECHNICIANS: usize = 200;
/// One order in this many is open (3 000 of 100 000).
const OPEN_EVERY: usize = 33;
const TOKEN: &str = "office-bench-operator-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("office bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn knob(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) => {
            v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| format!("{name}={v}: a positive number"))
        }
        Err(_) => Ok(default),
    }
}

fn run() -> Result<(), String> {
    let orders = knob("HEARTH_BENCH_ORDERS", 100_000)?;
    let records = knob("HEARTH_BENCH_OFFICE_RECORDS", 1_000_000)?;
    println!(
        "office bench: {orders} work orders, {records} records over {DEVICES} devices, {REQUESTS} requests per query"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    // A copy of the binary cargo built for this bench: a later build into a
    // shared target directory cannot swap it mid-run.
    let bin_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let bin = bin_dir.path().join("hearth-server");
    std::fs::copy(BIN, &bin).map_err(|e| format!("copying {BIN}: {e}"))?;
    let mut lines = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        lines.extend(rt.block_on(run_backend(&bin, backend, orders, records))?);
    }
    println!();
    println!(
        "{:<11} {:<40} {:>9} {:>9}  goal p95 ≤ {} ms",
        "backend",
        "query",
        "p50 ms",
        "p95 ms",
        GOAL_P95.as_millis()
    );
    for line in &lines {
        println!("{line}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The data.

const CATEGORY_MIX: [(WorkOrderCategory, usize); 7] = [
    (WorkOrderCategory::Repair, 50),
    (WorkOrderCategory::Leak, 15),
    (WorkOrderCategory::TemperatureTest, 15),
    (WorkOrderCategory::ValveOpen, 5),
    (WorkOrderCategory::MeterCheck, 5),
    (WorkOrderCategory::Complaint, 5),
    (WorkOrderCategory::NetworkBurst, 5),
];

fn category(n: usize) -> WorkOrderCategory {
    let mut at = (n * 37) % 100;
    for (c, share) in CATEGORY_MIX {
        if at < share {
            return c;
        }
        at -= share;
    }
    WorkOrderCategory::Repair
}

fn community(n: usize) -> String {
    format!("幸福家园{n:04}")
}

fn order_id(n: usize) -> String {
    format!("WO-B{n:06}")
}

/// Order `n`: open ones received in the last hours (their deadlines run),
/// closed ones over the past year with every milestone reached, one in
/// twenty closed cancelled.
fn order_body(n: usize, now: DateTime<Utc>) -> Result<WorkOrderBody, String> {
    let open = n.is_multiple_of(OPEN_EVERY);
    let received = if open {
        now - TimeDelta::minutes(((n / OPEN_EVERY) % 600) as i64)
    } else {
        now - TimeDelta::minutes(60 * 24 + ((n * 7919) % (365 * 24 * 60)) as i64)
    };
    let address = Address::new(
        &community(n % COMMUNITIES),
        &format!("{}号楼", n % 20 + 1),
        "1单元",
        &format!("{}", 100 + (n / COMMUNITIES) % 50),
    )
    .map_err(|e| format!("address: {e:?}"))?;
    let customer = Customer::new(&format!("用户{n}"), &format!("139{:08}", n), address)
        .map_err(|e| format!("customer: {e:?}"))?;
    let mut order = WorkOrder::new(&order_id(n), category(n), customer, "暖气不热", received)
        .map_err(|e| format!("order: {e:?}"))?;
    let tech = hearth_domain::TechnicianId::parse(&format!("T{:04}", n % TECHNICIANS))
        .map_err(|e| format!("tech: {e:?}"))?;
    order.assign(tech);
    let mut body;
    if open {
        body = WorkOrderBody::open(order);
    } else {
        let m = &mut order.milestones;
        m.contacted_at = Some(received + TimeDelta::minutes(10));
        m.on_site_at = Some(received + TimeDelta::minutes(50));
        m.completed_at = Some(received + TimeDelta::minutes(200));
        m.follow_up_at = Some(received + TimeDelta::minutes(1500));
        body = WorkOrderBody::open(order);
        body.status = if n % 20 == 1 { OrderStatus::Cancelled } else { OrderStatus::Closed };
    }
    Ok(body)
}

/// One record as the storage keeps it: an arrival step at `order`.
struct Row {
    device_id: String,
    seq: u64,
    server_seq: u64,
    record_id: String,
    entry_hash: String,
    content_hash: String,
    work_order_id: String,
    envelope: String,
    receipt: String,
    boot_id: String,
    device_time_ms: i64,
    monotonic_ms: i64,
    received_at_ms: i64,
}

fn record(
    server_seq: u64,
    device: usize,
    seq: u64,
    order: usize,
    at: DateTime<Utc>,
    sigs_hash: Digest,
) -> Result<Row, String> {
    let device_id = format!("dev-{device:03}");
    let mut data = Map::new();
    data.insert("at".into(), json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    data.insert(
        "evidence".into(),
        json!({"step": "arrival", "body_camera_on": true, "knocked_gently": true, "work_id_shown": true}),
    );
    let record_id = uuid::Uuid::now_v7().to_string();
    let content = Content {
        schema: "hearth.visit_step/1".into(),
        record_id: record_id.clone(),
        work_order_id: Some(order_id(order)),
        created: Created {
            device_time_ms: at.timestamp_millis(),
            tz_offset_min: 480,
            boot_id: format!("boot-{device_id}"),
            monotonic_ms: seq as i64 * 1000,
            last_server_time_ms: None,
        },
        signers: vec![Signer {
            role: SignerRole::Performer,
            tech_id: format!("T{:04}", order % TECHNICIANS),
            kid: "bench".into(),
        }],
        supersedes: None,
        attachments: vec![],
        refs: vec![],
        data,
    };
    let content = EncodedContent::encode(content).map_err(|e| format!("content: {e}"))?;
    let entry = Entry {
        v: hearth_protocol::record::PROTOCOL_VERSION,
        device_id: device_id.clone(),
        seq,
        prev: Digest([0; 32]),
        content_hash: content.hash(),
        sigs_hash,
        sealed_at_ms: at.timestamp_millis(),
        last_receipt_seq: None,
    };
    let entry_bytes = canonical::to_canonical(&entry).map_err(|e| format!("entry: {e}"))?;
    let entry_hash = hash::entry_hash(&entry_bytes);
    let envelope = Envelope {
        entry: b64::encode(&entry_bytes),
        content: b64::encode(content.bytes()),
        tech_sigs: vec![],
        device_sig: DeviceSignature { kid: "bench".into(), sig: b64::encode(&[0u8; 64]) },
    };
    let received_at_ms = at.timestamp_millis() + 60_000;
    let receipt = Receipt {
        v: 1,
        server_seq,
        device_id: device_id.clone(),
        seq,
        record_id: record_id.clone(),
        entry_hash,
        received_at_ms,
        status: ReceiptStatus::Valid,
    };
    Ok(Row {
        boot_id: format!("boot-{device_id}"),
        device_id,
        seq,
        server_seq,
        record_id,
        entry_hash: entry_hash.to_hex(),
        content_hash: content.hash().to_hex(),
        work_order_id: order_id(order),
        envelope: serde_json::to_string(&envelope).map_err(|e| e.to_string())?,
        receipt: serde_json::to_string(&receipt).map_err(|e| e.to_string())?,
        device_time_ms: at.timestamp_millis(),
        monotonic_ms: seq as i64 * 1000,
        received_at_ms,
    })
}

/// The records, generated on a second thread in chunks while the first inserts.
fn record_chunks(
    orders: usize,
    records: usize,
    now: DateTime<Utc>,
) -> std::sync::mpsc::Receiver<Result<Vec<Row>, String>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    std::thread::spawn(move || {
        let sigs_hash = match seal::sigs_hash(&[]) {
            Ok(h) => h,
            Err(e) => {
                let _ = tx.send(Err(format!("sigs hash: {e}")));
                return;
            }
        };
        let mut seqs = vec![0u64; DEVICES];
        let mut chunk = Vec::with_capacity(10_000);
        for i in 0..records {
            // Record i belongs to order i % orders: every order gets its share.
            let order = i % orders;
            let device = (order * 31 + i / orders) % DEVICES;
            seqs[device] += 1;
            let at = now - TimeDelta::minutes(5 + (i % 50) as i64);
            match record(i as u64 + 1, device, seqs[device], order, at, sigs_hash) {
                Ok(row) => chunk.push(row),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
            if chunk.len() == 10_000 && tx.send(Ok(std::mem::take(&mut chunk))).is_err() {
                return;
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk));
        }
    });
    rx
}

fn snapshot_rows(orders: usize, now: DateTime<Utc>) -> Result<Vec<(String, String, String, String)>, String> {
    let mut out = Vec::with_capacity(orders + TECHNICIANS);
    for t in 0..TECHNICIANS {
        let id = format!("T{t:04}");
        let body = json!({"tech_id": id, "name": format!("师傅{t}"), "phone": "13800138000"});
        out.push(("technician".to_owned(), id, body.to_string(), "{}".to_owned()));
    }
    for n in 0..orders {
        let body = order_body(n, now)?;
        let scope = if body.status == OrderStatus::Cancelled {
            json!({})
        } else {
            json!({"technicians": body.order.assigned_technicians})
        };
        let body = serde_json::to_string(&body).map_err(|e| e.to_string())?;
        out.push(("work_order".to_owned(), order_id(n), body, scope.to_string()));
    }
    Ok(out)
}

fn seed_sqlite(
    path: &std::path::Path,
    orders: usize,
    records: usize,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let mut conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    conn.pragma_update(None, "synchronous", "OFF").map_err(|e| e.to_string())?;
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    {
        let mut snap = tx
            .prepare("INSERT INTO snapshot (kind, id, rev, body, scope, updated_at_ms) VALUES (?1, ?2, 1, ?3, ?4, ?5)")
            .map_err(|e| e.to_string())?;
        let mut feed = tx
            .prepare("INSERT INTO feed (feed_seq, kind, id) VALUES (?1, ?2, ?3)")
            .map_err(|e| e.to_string())?;
        for (n, (kind, id, body, scope)) in snapshot_rows(orders, now)?.into_iter().enumerate() {
            snap.execute(rusqlite::params![kind, id, body, scope, now.timestamp_millis()])
                .map_err(|e| e.to_string())?;
            feed.execute(rusqlite::params![n as i64 + 1, kind, id]).map_err(|e| e.to_string())?;
        }
        let mut entry = tx
            .prepare(
                "INSERT INTO entry (device_id, seq, server_seq, record_id, entry_hash, content_hash, schema, work_order_id,
                                    envelope, receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'hearth.visit_step/1', ?7, ?8, ?9, 'bench', '[]', ?10, ?11, ?12, ?13)",
            )
            .map_err(|e| e.to_string())?;
        for chunk in record_chunks(orders, records, now) {
            for r in chunk? {
                entry
                    .execute(rusqlite::params![
                        r.device_id,
                        r.seq as i64,
                        r.server_seq as i64,
                        r.record_id,
                        r.entry_hash,
                        r.content_hash,
                        r.work_order_id,
                        r.envelope,
                        r.receipt,
                        r.boot_id,
                        r.device_time_ms,
                        r.monotonic_ms,
                        r.received_at_ms
                    ])
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    tx.execute("UPDATE counter SET value = ?1 WHERE name = 'server_seq'", [records as i64])
        .map_err(|e| e.to_string())?;
    tx.execute("UPDATE counter SET value = ?1 WHERE name = 'feed_seq'", [(orders + TECHNICIANS) as i64])
        .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    conn.execute_batch("ANALYZE").map_err(|e| e.to_string())
}

/// A COPY text-format field: backslash, tab and line breaks escaped.
fn copy_field(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

async fn copy_in(client: &tokio_postgres::Client, sql: &str, data: String) -> Result<(), String> {
    use futures_util::SinkExt as _;
    let sink = client.copy_in(sql).await.map_err(|e| format!("{sql}: {e}"))?;
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(data)).await.map_err(|e| format!("{sql}: {e}"))?;
    sink.finish().await.map_err(|e| format!("{sql}: {e}"))?;
    Ok(())
}

async fn seed_postgres(url: &str, orders: usize, records: usize, now: DateTime<Utc>) -> Result<(), String> {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    // The board's triggers mark rows one by one; a bulk load marks them all at once below.
    client
        .batch_execute(
            "ALTER TABLE snapshot DISABLE TRIGGER work_order_board_snapshot;
             ALTER TABLE entry DISABLE TRIGGER work_order_board_entry;",
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut snaps = String::new();
    let mut feed = String::new();
    for (n, (kind, id, body, scope)) in snapshot_rows(orders, now)?.into_iter().enumerate() {
        for (i, f) in [kind.as_str(), id.as_str(), "1", body.as_str(), scope.as_str()].into_iter().enumerate()
        {
            if i > 0 {
                snaps.push('\t');
            }
            copy_field(&mut snaps, f);
        }
        snaps.push_str(&format!("\t{}\n", now.timestamp_millis()));
        feed.push_str(&format!("{}\t{kind}\t{id}\n", n + 1));
    }
    copy_in(&client, "COPY snapshot (kind, id, rev, body, scope, updated_at_ms) FROM STDIN", snaps).await?;
    copy_in(&client, "COPY feed (feed_seq, kind, id) FROM STDIN", feed).await?;
    for chunk in record_chunks(orders, records, now) {
        let mut data = String::new();
        for r in chunk? {
            let fields = [
                r.device_id,
                r.seq.to_string(),
                r.server_seq.to_string(),
                r.record_id,
                r.entry_hash,
                r.content_hash,
                "hearth.visit_step/1".to_owned(),
                r.work_order_id,
                r.envelope,
                r.receipt,
                "bench".to_owned(),
                "[]".to_owned(),
                r.boot_id,
                r.device_time_ms.to_string(),
                r.monotonic_ms.to_string(),
                r.received_at_ms.to_string(),
            ];
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    data.push('\t');
                }
                copy_field(&mut data, f);
            }
            data.push('\n');
        }
        copy_in(
            &client,
            "COPY entry (device_id, seq, server_seq, record_id, entry_hash, content_hash, schema, work_order_id,
                         envelope, receipt, receipt_sig, flags, boot_id, device_time_ms, monotonic_ms, received_at_ms)
             FROM STDIN",
            data,
        )
        .await?;
    }
    client
        .batch_execute(&format!(
            "ALTER TABLE snapshot ENABLE TRIGGER work_order_board_snapshot;
             ALTER TABLE entry ENABLE TRIGGER work_order_board_entry;
             INSERT INTO work_order_board (id) SELECT id FROM snapshot WHERE kind = 'work_order';
             UPDATE counter SET value = {records} WHERE name = 'server_seq';
             UPDATE counter SET value = {} WHERE name = 'feed_seq';
             ANALYZE;",
            orders + TECHNICIANS
        ))
        .await
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// PostgreSQL database and the real binary.

fn postgres_admin_url() -> String {
    std::env::var("HEARTH_TEST_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

async fn pg_exec(admin_url: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await.map_err(|e| {
        format!("PostgreSQL at {admin_url} is required for this bench and could not be reached: {e} (set HEARTH_TEST_POSTGRES)")
    })?;
    tokio::spawn(conn);
    client.batch_execute(sql).await.map_err(|e| format!("{sql}: {e}"))
}

struct PgDatabase {
    name: String,
    admin_url: String,
}

impl PgDatabase {
    async fn create() -> Result<Self, String> {
        let name = format!("hearth_bench_{}", uuid::Uuid::now_v7().simple());
        let admin_url = postgres_admin_url();
        pg_exec(&admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(Self { name, admin_url })
    }

    fn url(&self) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => format!("{}/{}", self.admin_url, self.name),
        }
    }

    async fn drop_it(self) {
        if let Err(e) =
            pg_exec(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await
        {
            eprintln!("office bench: could not drop the bench database {}: {e}", self.name);
        }
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn spawn(bin: &std::path::Path, database: &str, blobs: &std::path::Path) -> Result<Self, String> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database, "--blobs"])
            .arg(blobs)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {} serve: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("the server's stdout was not captured")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(url) = line.strip_prefix("hearth-server listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                    sent = true;
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the server did not start within 60 s".to_string())?;
        Ok(Self { child, base })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// The timed phase.

async fn get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
) -> Result<(Duration, reqwest::StatusCode, Option<String>), String> {
    let started = Instant::now();
    let resp = http
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let next = resp
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.strip_prefix('<'))
        .and_then(|l| l.split_once('>'))
        .map(|(url, _)| url.to_owned());
    let body = resp.bytes().await.map_err(|e| format!("{path}: {e}"))?;
    let took = started.elapsed();
    if status != reqwest::StatusCode::OK && status != reqwest::StatusCode::NOT_FOUND {
        return Err(format!("{path} answered {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok((took, status, next))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

async fn measure(
    http: &reqwest::Client,
    base: &str,
    backend: Backend,
    what: &str,
    path: impl Fn(usize) -> String,
) -> Result<String, String> {
    let mut times = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let p = path(i);
        let (took, status, _) = get(http, base, &p).await?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("{p} answered {status}"));
        }
        times.push(took);
    }
    times.sort_unstable();
    let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
    let verdict = if p95 <= GOAL_P95 { "MET" } else { "NOT MET" };
    let line = format!(
        "{:<11} {:<40} {:>9.1} {:>9.1}  {verdict}",
        backend.name(),
        what,
        p50.as_secs_f64() * 1000.0,
        p95.as_secs_f64() * 1000.0
    );
    println!("{line}");
    Ok(line)
}

async fn run_backend(
    bin: &std::path::Path,
    backend: Backend,
    orders: usize,
    records: usize,
) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let now = Utc::now();
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create().await?),
    };
    let result = async {
        let database = match &pg {
            None => format!("sqlite://{}", dir.path().join("server.db").display()),
            Some(db) => db.url(),
        };
        // Open through the storage layer: the schema is migrated, the operator token stored.
        let storage: Arc<dyn Storage> = match &pg {
            None => Arc::new(
                hearth_server::storage::sqlite::SqliteStorage::open(&dir.path().join("server.db"))
                    .map_err(|e| format!("open: {e}"))?,
            ),
            Some(db) => Arc::new(
                hearth_server::storage::postgres::PostgresStorage::connect(&db.url())
                    .await
                    .map_err(|e| format!("connect: {e}"))?,
            ),
        };
        storage
            .add_operator_token(&hearth_server::auth::secret_hash(TOKEN), now.timestamp_millis())
            .await
            .map_err(|e| format!("operator token: {e}"))?;
        drop(storage);
        let seeding = Instant::now();
        match &pg {
            None => {
                let path = dir.path().join("server.db");
                tokio::task::spawn_blocking(move || seed_sqlite(&path, orders, records, now))
                    .await
                    .map_err(|e| e.to_string())??;
            }
            Some(db) => seed_postgres(&db.url(), orders, records, now).await?,
        }
        println!(
            "{}: seeded {orders} orders and {records} records in {:.1} s",
            backend.name(),
            seeding.elapsed().as_secs_f64()
        );

        let server = Server::spawn(bin, &database, &dir.path().join("blobs"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1800))
            .build()
            .map_err(|e| e.to_string())?;
        // The server rebuilds the board's index in the background from
        // start-up; the first page meanwhile judges only its own rows.
        let started = Instant::now();
        let storage: Arc<dyn Storage> = match &pg {
            None => Arc::new(
                hearth_server::storage::sqlite::SqliteStorage::open(&dir.path().join("server.db"))
                    .map_err(|e| format!("open: {e}"))?,
            ),
            Some(db) => Arc::new(
                hearth_server::storage::postgres::PostgresStorage::connect(&db.url())
                    .await
                    .map_err(|e| format!("connect: {e}"))?,
            ),
        };
        let stale = storage.board_stale_count().await.map_err(|e| e.to_string())?;
        let (took, _, _) = get(&http, &server.base, "/v1/office/work-orders?status=open&limit=50").await?;
        println!(
            "{}: the first board page answered in {:.0} ms with {stale} rows stale at start-up",
            backend.name(),
            took.as_secs_f64() * 1000.0
        );
        loop {
            let left = storage.board_stale_count().await.map_err(|e| e.to_string())?;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drop(storage);
        println!(
            "{}: the board's index rebuilt in the background in {:.1} s after start-up",
            backend.name(),
            started.elapsed().as_secs_f64()
        );

        // A cursor deep in the open set: walk to the page at two thirds of it.
        let open_pages = orders.div_ceil(OPEN_EVERY) / 50;
        let mut deep = "/v1/office/work-orders?status=open&limit=50".to_owned();
        for _ in 0..(open_pages * 2 / 3) {
            match get(&http, &server.base, &deep).await?.2 {
                Some(next) => deep = next,
                None => break,
            }
        }
        let mut lines = vec![
            measure(&http, &server.base, backend, "board, first page (status=open, 50)", |_| {
                "/v1/office/work-orders?status=open&limit=50".to_owned()
            })
            .await?,
            measure(&http, &server.base, backend, "board, search q=<community> (50)", |i| {
                format!("/v1/office/work-orders?limit=50&q={}", percent(&community((i * 7) % COMMUNITIES)))
            })
            .await?,
            measure(&http, &server.base, backend, "board, deep page by cursor (open, 50)", |_| deep.clone())
                .await?,
            // Two characters (a Chinese given name) cannot use a trigram:
            // the worst case, a name on no order, and the same on the open set.
            measure(&http, &server.base, backend, "board, search q=<2 characters, none> (50)", |_| {
                format!("/v1/office/work-orders?limit=50&q={}", percent("王伟"))
            })
            .await?,
            measure(&http, &server.base, backend, "board, search q=<2 chars> status=open (50)", |_| {
                format!("/v1/office/work-orders?status=open&limit=50&q={}", percent("王伟"))
            })
            .await?,
        ];
        let record_search =
            |i: usize| format!("/v1/office/records?q={}&limit=50", order_id((i * 499) % orders));
        lines.push(
            measure(&http, &server.base, backend, "record search q=<work order> (50)", record_search).await?,
        );
        drop(server);
        Ok::<_, String>(lines)
    }
    .await;
    if let Some(db) = pg {
        db.drop_it().await;
    }
    result
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
