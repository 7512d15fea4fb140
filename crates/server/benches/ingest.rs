//! Ingest throughput of the real `hearth-server` binary on loopback, against
//! the ceiling the crypto sets: each entry costs two Ed25519 `verify_strict`
//! (the device's and the technician's signature) and one signature (the
//! receipt), so one core ingests at most 1 / (2 × verify + 1 × sign) entries
//! per second; two cores of that is the ceiling. Both rates are measured on
//! one thread in the same run.
//!
//! For SQLite (a temp file) and PostgreSQL (a fresh database, dropped at the
//! end), 8 simulated tablets push `HEARTH_BENCH_ENTRIES` (default 100 000)
//! pre-generated, valid, hash-chained entries in batches of 200, one
//! concurrent client per tablet. Prints entries/s, median and p99 batch
//! latency, and entries/s as a share of that ceiling next to the goal
//! (issue 17: SQLite ≥ 60 %, PostgreSQL ≥ 50 %). A missed goal is printed, not fatal; any entry not
//! `accepted` with a `valid` receipt, or any server error, fails the bench.
//!
//! `cargo bench -p hearth-server --bench ingest`. PostgreSQL is required:
//! `postgres://root@127.0.0.1:5432/test`, or `HEARTH_TEST_POSTGRES`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ed25519_dalek::Signer as _;
use hearth_protocol::api::{
    EnrollDeviceResponse, EnrollTechnicianResponse, EntriesResponse, EntryStatus, Head,
};
use hearth_protocol::hash::{self, Digest, genesis_prev};
use hearth_protocol::seal::{devsig_message, kid_of};
use hearth_protocol::{
    ChainPosition, Content, Cosigning, Created, EncodedContent, Envelope, ReceiptStatus, Signature, Signer,
    SignerRole, SigningKey, VerifyingKey, b64, seal,
};
use serde_json::{Map, json};

const BIN: &str = env!("CARGO_BIN_EXE_hearth-server");
const DEVICES: usize = 8;
const BATCH: usize = 200;
/// The bench's order, assigned to every bench technician (the server flags
/// records signed by a technician the order is not assigned to).
const WORK_ORDER: &str = "WO-BENCH";
/// One technician per device: the six of the demo and two added here.
const TECHNICIANS: [&str; DEVICES] = ["T0017", "T0023", "T0031", "T0042", "T0056", "T0068", "T0081", "T0094"];
const ADDED_TECHNICIANS: [(&str, &str, &str); 2] =
    [("T0081", "基准测试甲", "13800000081"), ("T0094", "基准测试乙", "13800000094")];
/// Distinct messages for the verify baseline, and how long to time it.
const VERIFY_MESSAGES: usize = 4096;
const VERIFY_TIME: Duration = Duration::from_secs(2);

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

    /// Share of the two-core signature ceiling the issue asks for.
    fn goal(self) -> f64 {
        match self {
            Self::Sqlite => 0.60,
            Self::Postgres => 0.50,
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\ningest bench FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let total = entries_from_env()?;
    let pg_admin = postgres_admin_url();
    // Fail before anything is timed, and never skip PostgreSQL silently.
    pg_exec(&pg_admin, "SELECT 1")?;

    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
    println!(
        "hearth-server ingest bench: {total} entries, {DEVICES} devices, batches of {BATCH}, {cores} CPUs"
    );
    println!("load average before the baseline: {}", load_average());
    let measured = verify_strict_rate()?;
    let verify_rate = measured.per_core();
    match measured.cpu {
        Some(cpu) => println!(
            "Ed25519 verify_strict, one thread, {VERIFY_MESSAGES} distinct messages: {cpu:.0}/s per CPU-second \
             ({:.0}/s of wall time); {:.0}/s on two cores",
            measured.wall,
            2.0 * verify_rate
        ),
        None => println!(
            "Ed25519 verify_strict, one thread, {VERIFY_MESSAGES} distinct messages: {:.0}/s of wall time \
             (thread CPU time unavailable); {:.0}/s on two cores",
            measured.wall,
            2.0 * verify_rate
        ),
    }
    let signing = sign_rate()?;
    let sign_rate = signing.per_core();
    // Seconds of one core per entry: two verifications and one signature.
    let entry_rate = 1.0 / (2.0 / verify_rate + 1.0 / sign_rate);
    println!(
        "Ed25519 sign, one thread: {sign_rate:.0}/s; per entry (2 verify + 1 sign) one core does {entry_rate:.0}/s, \
         two-core ceiling {:.0} entries/s",
        2.0 * entry_rate
    );
    if measured.cpu.is_some_and(|cpu| measured.wall < 0.8 * cpu) {
        println!("  note: other work took CPU from this run; every figure below is contended");
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut failures = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Err(e) = run_backend(&rt, backend, total, entry_rate) {
            println!("  {}: FAILED — {e}", backend.name());
            failures.push(format!("{}: {e}", backend.name()));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

fn entries_from_env() -> Result<usize, String> {
    match std::env::var("HEARTH_BENCH_ENTRIES") {
        Err(_) => Ok(100_000),
        Ok(text) => match text.trim().replace('_', "").parse::<usize>() {
            Ok(n) if n >= DEVICES => Ok(n),
            _ => Err(format!("HEARTH_BENCH_ENTRIES must be a whole number ≥ {DEVICES}, not {text:?}")),
        },
    }
}

// ---------------------------------------------------------------------------
// The baseline: single-core verify_strict.

/// CPU time this thread has had, where Linux tells it.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(text.split_whitespace().next()?.parse().ok()?))
}

/// Verifications per second of wall time, and per second of this thread's
/// CPU time (what one core does, even when other work shares the machine).
#[derive(Debug, Clone, Copy)]
struct VerifyRate {
    wall: f64,
    cpu: Option<f64>,
}

impl VerifyRate {
    /// The single-core rate the goal is measured against.
    fn per_core(self) -> f64 {
        self.cpu.unwrap_or(self.wall)
    }
}

fn verify_strict_rate() -> Result<VerifyRate, String> {
    let keys: Vec<SigningKey> = (0..DEVICES as u8).map(|i| SigningKey::from_bytes(&[0x20 + i; 32])).collect();
    // Messages of the shape the server verifies: device signatures over entry hashes.
    let items: Vec<(VerifyingKey, Vec<u8>, Signature)> = (0..VERIFY_MESSAGES)
        .map(|i| {
            let key = &keys[i % keys.len()];
            let msg = devsig_message(&hash::entry_hash(format!("bench entry {i}").as_bytes()));
            let sig = key.sign(&msg);
            (key.verifying_key(), msg, sig)
        })
        .collect();
    for (key, msg, sig) in &items {
        key.verify_strict(msg, sig)
            .map_err(|e| format!("verify_strict baseline: a good signature failed: {e}"))?;
    }
    per_second(|| {
        for (key, msg, sig) in &items {
            let ok = std::hint::black_box(key)
                .verify_strict(std::hint::black_box(msg), std::hint::black_box(sig))
                .is_ok();
            if !std::hint::black_box(ok) {
                return Err("verify_strict baseline: a good signature failed".into());
            }
        }
        Ok(items.len() as u64)
    })
}

/// Runs `round` (which does some operations and says how many) for
/// `VERIFY_TIME`: operations per second of wall time and of this thread's CPU.
fn per_second(mut round: impl FnMut() -> Result<u64, String>) -> Result<VerifyRate, String> {
    let cpu_start = thread_cpu();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < VERIFY_TIME {
        n += round()?;
    }
    let wall = start.elapsed();
    let cpu = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) if b > a => Some(n as f64 / (b - a).as_secs_f64()),
        _ => None,
    };
    Ok(VerifyRate { wall: n as f64 / wall.as_secs_f64(), cpu })
}

/// Signatures per second on one thread (the receipt the server signs per entry).
fn sign_rate() -> Result<VerifyRate, String> {
    let key = SigningKey::from_bytes(&[0x41; 32]);
    let messages: Vec<Vec<u8>> = (0..VERIFY_MESSAGES)
        .map(|i| devsig_message(&hash::entry_hash(format!("bench receipt {i}").as_bytes())))
        .collect();
    per_second(|| {
        for msg in &messages {
            std::hint::black_box(std::hint::black_box(&key).sign(std::hint::black_box(msg)));
        }
        Ok(messages.len() as u64)
    })
}

// ---------------------------------------------------------------------------
// PostgreSQL: a database per run, dropped at the end.

fn postgres_admin_url() -> String {
    std::env::var("HEARTH_TEST_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

fn pg_exec(admin_url: &str, sql: &str) -> Result<(), String> {
    let admin_url = admin_url.to_owned();
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let (client, conn) =
                tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.map_err(|e| {
                    format!(
                        "PostgreSQL at {admin_url} is required for this bench and could not be reached: {e} \
                     (set HEARTH_TEST_POSTGRES to another server)"
                    )
                })?;
            tokio::spawn(conn);
            client.batch_execute(&sql).await.map_err(|e| format!("PostgreSQL at {admin_url}: {sql}: {e}"))
        })
    })
    .join()
    .map_err(|_| "PostgreSQL helper thread panicked".to_string())?
}

#[derive(Debug)]
struct PgDatabase {
    name: String,
    admin_url: String,
}

impl PgDatabase {
    fn create() -> Result<Self, String> {
        let name = format!("hearth_bench_{}", uuid::Uuid::now_v7().simple());
        let admin_url = postgres_admin_url();
        pg_exec(&admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { name, admin_url })
    }

    fn url(&self) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => format!("{}/{}", self.admin_url, self.name),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(e) =
            pg_exec(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
        {
            eprintln!("ingest bench: could not drop the bench database {}: {e}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------
// The real binary.

/// Field order matters: the child is killed in `drop`, then the temp dir
/// and the PostgreSQL database go.
#[derive(Debug)]
struct Server {
    child: Option<Child>,
    base: String,
    database: String,
    dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl Server {
    /// A fresh database with the demo day and the bench's technicians in it.
    fn prepare(backend: Backend) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let (database, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("server.db").display()), None),
            Backend::Postgres => {
                let db = PgDatabase::create()?;
                (db.url(), Some(db))
            }
        };
        let server = Self { child: None, base: String::new(), database, dir, _pg: pg };
        server.run(&["demo"])?;
        for (id, name, phone) in ADDED_TECHNICIANS {
            server.run(&["admin", "technician", "add", "--id", id, "--name", name, "--phone", phone])?;
        }
        Ok(server)
    }

    /// Runs a command of the binary against this database; its last stdout line.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let (sub, rest) = args.split_first().ok_or("no command")?;
        let out = Command::new(BIN)
            .arg(sub)
            .arg("--database")
            .arg(&self.database)
            .args(rest)
            .env("RUST_LOG", "warn")
            .output()
            .map_err(|e| format!("running {BIN}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "hearth-server {args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .last()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| format!("hearth-server {args:?} printed nothing"))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &self.database, "--blobs"])
            .arg(self.dir.path().join("blobs"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {BIN} serve: {e}"))?;
        let stdout = child.stdout.take().ok_or("the server's stdout was not captured")?;
        self.child = Some(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            // Keep draining stdout so the child never blocks on a full pipe.
            for line in lines.by_ref().map_while(Result::ok) {
                if !sent && let Some(url) = line.strip_prefix("hearth-server listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                    sent = true;
                }
            }
        });
        self.base = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| {
            "the server did not print its listening address within 30 s (or exited)".to_string()
        })?;
        Ok(())
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Simulated tablets.

#[derive(Debug)]
struct Device {
    id: String,
    token: String,
    key: SigningKey,
    tech_id: &'static str,
    tech_key: SigningKey,
}

fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

async fn enrol(
    http: &reqwest::Client,
    server: &Server,
    i: usize,
    device_code: &str,
    tech_code: &str,
) -> Result<Device, String> {
    let key = SigningKey::from_bytes(&[0x40 + i as u8; 32]);
    let resp = http
        .post(server.url("/v1/enroll/device"))
        .json(&json!({
            "code": device_code,
            "pubkey": b64::encode(key.verifying_key().as_bytes()),
            "name": format!("基准平板 {}", i + 1),
        }))
        .send()
        .await
        .map_err(|e| format!("enrolling device {i}: {e}"))?;
    let resp = ok_or_body(resp, &format!("enrolling device {i}")).await?;
    let enrolled: EnrollDeviceResponse =
        resp.json().await.map_err(|e| format!("enrolling device {i}: unreadable answer: {e}"))?;

    let tech_id = TECHNICIANS[i];
    let tech_key = SigningKey::from_bytes(&[0x80 + i as u8; 32]);
    let resp = http
        .post(server.url("/v1/enroll/technician"))
        .bearer_auth(&enrolled.token)
        .json(&json!({
            "code": tech_code,
            "tech_id": tech_id,
            "pubkey": b64::encode(tech_key.verifying_key().as_bytes()),
        }))
        .send()
        .await
        .map_err(|e| format!("enrolling technician {tech_id}: {e}"))?;
    let resp = ok_or_body(resp, &format!("enrolling technician {tech_id}")).await?;
    let tech: EnrollTechnicianResponse =
        resp.json().await.map_err(|e| format!("enrolling technician {tech_id}: unreadable answer: {e}"))?;
    if tech.kid != kid_of(&tech_key.verifying_key()) {
        return Err(format!("enrolling technician {tech_id}: the server answered kid {}", tech.kid));
    }
    Ok(Device { id: enrolled.device_id, token: enrolled.token, key, tech_id, tech_key })
}

async fn ok_or_body(resp: reqwest::Response, what: &str) -> Result<reqwest::Response, String> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    Err(format!("{what}: HTTP {status}: {body}"))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A valid arrival step for the bench's work order, performed by the device's technician.
fn arrival(device: &Device, kid: &str, n: u64) -> Content {
    let mut data = Map::new();
    data.insert("at".into(), json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    data.insert(
        "evidence".into(),
        json!({"step": "arrival", "body_camera_on": true, "knocked_gently": true, "work_id_shown": true}),
    );
    Content {
        schema: "hearth.visit_step/1".into(),
        record_id: uuid::Uuid::now_v7().to_string(),
        work_order_id: Some(WORK_ORDER.into()),
        created: Created {
            device_time_ms: now_ms(),
            tz_offset_min: 480,
            boot_id: format!("boot-{}", device.id),
            monotonic_ms: n as i64 * 1000,
            last_server_time_ms: None,
        },
        signers: vec![Signer {
            role: SignerRole::Performer,
            tech_id: device.tech_id.into(),
            kid: kid.into(),
        }],
        supersedes: None,
        attachments: vec![],
        refs: vec![],
        data,
    }
}

#[derive(serde::Serialize)]
struct Batch<'a> {
    entries: &'a [Envelope],
}

/// A device's whole lane, sealed in chain order and serialised batch by batch.
#[derive(Debug)]
struct Lane {
    batches: Vec<(Bytes, usize)>,
    entries: usize,
    last_hash: Digest,
}

fn generate(device: &Device, count: usize) -> Result<Lane, String> {
    let kid = kid_of(&device.tech_key.verifying_key());
    let mut prev = genesis_prev(&device.id);
    let mut envelopes = Vec::with_capacity(count);
    for n in 1..=count as u64 {
        let content = EncodedContent::encode(arrival(device, &kid, n))
            .map_err(|e| format!("encoding entry {n} of {}: {e}", device.id))?;
        let mut co = Cosigning::new(content);
        co.sign(SignerRole::Performer, device.tech_id, &device.tech_key)
            .map_err(|e| format!("signing entry {n} of {}: {e}", device.id))?;
        let signed = co.finish().map_err(|e| format!("co-signing entry {n} of {}: {e}", device.id))?;
        let position = ChainPosition {
            device_id: device.id.clone(),
            seq: n,
            prev,
            sealed_at_ms: now_ms(),
            last_receipt_seq: None,
        };
        let sealed = seal(&signed, position, &device.key).map_err(|e| format!("sealing entry {n}: {e}"))?;
        prev = sealed.entry_hash;
        envelopes.push(sealed.envelope);
    }
    let batches = envelopes
        .chunks(BATCH)
        .map(|chunk| {
            serde_json::to_vec(&Batch { entries: chunk })
                .map(|body| (Bytes::from(body), chunk.len()))
                .map_err(|e| format!("serialising a batch: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Lane { batches, entries: count, last_hash: prev })
}

// ---------------------------------------------------------------------------
// The timed phase.

#[derive(Debug, Default)]
struct LaneReport {
    latencies: Vec<Duration>,
    accepted: usize,
    rate_limited: u32,
    slept: Duration,
    /// Anything but `accepted` with a `valid` receipt, and transport or HTTP failures.
    problems: Vec<String>,
    bad_entries: usize,
}

const SHOWN_PROBLEMS: usize = 5;

impl LaneReport {
    fn problem(&mut self, text: String) {
        if self.problems.len() < SHOWN_PROBLEMS {
            self.problems.push(text);
        }
    }
}

async fn push_lane(
    base: String,
    device_id: String,
    token: String,
    batches: Vec<(Bytes, usize)>,
) -> LaneReport {
    let mut report = LaneReport { latencies: Vec::with_capacity(batches.len()), ..LaneReport::default() };
    let http = match http_client() {
        Ok(c) => c,
        Err(e) => {
            report.problem(e);
            return report;
        }
    };
    let url = format!("{base}/v1/devices/{device_id}/entries");
    for (b, (body, count)) in batches.into_iter().enumerate() {
        let (latency, answer) = loop {
            let start = Instant::now();
            let sent = http
                .post(&url)
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    report.problem(format!("{device_id} batch {b}: request failed: {e}"));
                    return report;
                }
            };
            let status = resp.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                report.rate_limited += 1;
                report.slept += Duration::from_secs(wait);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    report.problem(format!("{device_id} batch {b}: reading the answer: {e}"));
                    return report;
                }
            };
            let latency = start.elapsed();
            if status != reqwest::StatusCode::OK {
                report.problem(format!(
                    "{device_id} batch {b}: HTTP {status}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
                ));
                return report;
            }
            break (latency, bytes);
        };
        report.latencies.push(latency);
        let answer: EntriesResponse = match serde_json::from_slice(&answer) {
            Ok(a) => a,
            Err(e) => {
                report.problem(format!("{device_id} batch {b}: unreadable answer: {e}"));
                return report;
            }
        };
        if answer.results.len() != count {
            report.problem(format!(
                "{device_id} batch {b}: {} results for {count} entries",
                answer.results.len()
            ));
        }
        let mut stop = false;
        for r in &answer.results {
            let valid = r.receipt.as_ref().map(|rec| rec.status) == Some(ReceiptStatus::Valid);
            if r.status == EntryStatus::Accepted && valid {
                report.accepted += 1;
            } else {
                report.bad_entries += 1;
                stop |= r.status != EntryStatus::Accepted;
                report.problem(format!(
                    "{device_id} seq {}: {:?}, receipt {:?}, reason {:?}, flags {:?}, expected_seq {:?}",
                    r.seq,
                    r.status,
                    r.receipt.as_ref().map(|rec| rec.status),
                    r.reason,
                    r.flags,
                    r.expected_seq
                ));
            }
        }
        if stop {
            // The chain is stopped: everything after would answer `gap`.
            return report;
        }
    }
    report
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc (Linux; printed only where available).

#[derive(Debug, Clone, Copy)]
struct CpuSample {
    /// Busy and iowait jiffies of the whole machine, and all jiffies.
    machine_busy: u64,
    machine_iowait: u64,
    machine_total: u64,
    server: u64,
    this: u64,
    /// All local `postgres` processes (backends the server's pool holds).
    postgres: u64,
}

fn proc_cpu(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn postgres_cpu() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(|e| proc_cpu(e.file_name().to_str()?))
        .sum()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_sample(server_pid: Option<u32>) -> Option<CpuSample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest fields are inside user).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    Some(CpuSample {
        machine_busy: busy,
        machine_iowait: get(4),
        machine_total: busy + get(3) + get(4),
        server: proc_cpu(&server_pid?.to_string())?,
        this: proc_cpu("self")?,
        postgres: postgres_cpu(),
    })
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------
// One backend, end to end.

fn run_backend(
    rt: &tokio::runtime::Runtime,
    backend: Backend,
    total: usize,
    entry_rate: f64,
) -> Result<(), String> {
    println!("\n== {}", backend.name());
    let mut server = Server::prepare(backend)?;
    let device_codes =
        (0..DEVICES).map(|_| server.run(&["admin", "device-code"])).collect::<Result<Vec<_>, _>>()?;
    let tech_codes = TECHNICIANS
        .iter()
        .map(|id| server.run(&["admin", "technician-code", "--id", id]))
        .collect::<Result<Vec<_>, _>>()?;
    let operator = server.run(&["admin", "operator-token"])?;
    server.spawn()?;

    let devices = rt.block_on(async {
        let http = http_client()?;
        let order = json!({
            "id": WORK_ORDER,
            "category": "repair",
            "customer": {"name": "基准用户", "phone": "13800000000",
                         "address": {"community": "基准小区", "building": "1号楼", "unit": "1单元", "room": "101"}},
            "fault_description": "基准测试",
            "technicians": TECHNICIANS,
        });
        let resp = http
            .post(server.url("/v1/office/work-orders"))
            .bearer_auth(&operator)
            .json(&order)
            .send()
            .await
            .map_err(|e| format!("creating the bench's order: {e}"))?;
        ok_or_body(resp, "creating the bench's order").await?;
        let mut devices = Vec::with_capacity(DEVICES);
        for i in 0..DEVICES {
            devices.push(enrol(&http, &server, i, &device_codes[i], &tech_codes[i]).await?);
        }
        Ok::<_, String>(devices)
    })?;

    // Pre-generate every entry before anything is timed.
    let generated = Instant::now();
    let lanes: Vec<Lane> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let count = total / DEVICES + usize::from(i < total % DEVICES);
                s.spawn(move || generate(d, count))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "an entry generator panicked".to_string())?)
            .collect::<Result<Vec<_>, _>>()
    })?;
    let batches: usize = lanes.iter().map(|l| l.batches.len()).sum();
    println!(
        "  {} entries pre-generated and sealed in {:.1} s; server at {}",
        lanes.iter().map(|l| l.entries).sum::<usize>(),
        generated.elapsed().as_secs_f64(),
        server.base
    );

    // The timed phase: one client per device, all at once.
    let ticks = clock_ticks();
    println!("  load average before the timed phase: {}", load_average());
    let before = cpu_sample(server.pid());
    let start = Instant::now();
    let reports: Vec<LaneReport> = rt.block_on(async {
        let tasks: Vec<_> = devices
            .iter()
            .zip(&lanes)
            .map(|(d, lane)| {
                tokio::spawn(push_lane(
                    server.base.clone(),
                    d.id.clone(),
                    d.token.clone(),
                    lane.batches.clone(),
                ))
            })
            .collect();
        let mut reports = Vec::with_capacity(tasks.len());
        for t in tasks {
            reports.push(t.await.map_err(|e| format!("a client task failed: {e}"))?);
        }
        Ok::<_, String>(reports)
    })?;
    let wall = start.elapsed();
    let after = cpu_sample(server.pid());

    // The server must hold every chain to its end.
    let heads = rt.block_on(async {
        let http = http_client()?;
        let mut problems = Vec::new();
        for (d, lane) in devices.iter().zip(&lanes) {
            let resp = http
                .get(server.url(&format!("/v1/devices/{}/head", d.id)))
                .bearer_auth(&d.token)
                .send()
                .await
                .map_err(|e| format!("GET head of {}: {e}", d.id))?;
            let head: Head = ok_or_body(resp, &format!("GET head of {}", d.id))
                .await?
                .json()
                .await
                .map_err(|e| format!("GET head of {}: {e}", d.id))?;
            if head.seq != lane.entries as u64 || head.entry_hash != Some(lane.last_hash) {
                problems.push(format!("{}: head is seq {}, expected {}", d.id, head.seq, lane.entries));
            }
        }
        Ok::<_, String>(problems)
    })?;

    let accepted: usize = reports.iter().map(|r| r.accepted).sum();
    let bad: usize = reports.iter().map(|r| r.bad_entries).sum();
    let rate_limited: u32 = reports.iter().map(|r| r.rate_limited).sum();
    let slept: Duration = reports.iter().map(|r| r.slept).sum();
    let mut latencies: Vec<Duration> = reports.iter().flat_map(|r| r.latencies.iter().copied()).collect();
    latencies.sort();
    let rate = accepted as f64 / wall.as_secs_f64();
    let ratio = rate / (2.0 * entry_rate);

    println!(
        "  {accepted} entries accepted in {:.2} s wall: {rate:.0} entries/s ({:.0} verifications/s at 2 per entry)",
        wall.as_secs_f64(),
        2.0 * rate
    );
    println!(
        "  batch latency ({} of {batches} batches of ≤{BATCH}): median {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         {rate_limited} answers 429 ({:.0} s slept)",
        latencies.len(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        slept.as_secs_f64()
    );
    if let (Some(b), Some(a)) = (before, after) {
        let secs = |j: u64| j as f64 / ticks;
        let run = wall.as_secs_f64();
        let server_cpu = secs(a.server - b.server);
        let this_cpu = secs(a.this - b.this);
        // Backends that ended during the run take their time with them: a floor.
        let pg_cpu = secs(a.postgres.saturating_sub(b.postgres));
        let busy = secs(a.machine_busy - b.machine_busy);
        let total_jiffies = (a.machine_total - b.machine_total).max(1) as f64;
        println!(
            "  CPU in the timed phase: server {server_cpu:.1} s ({:.2} cores), load generator {this_cpu:.1} s, \
             local postgres {pg_cpu:.1} s, everything else {:.1} s; machine {:.0} % busy, {:.0} % iowait",
            server_cpu / run,
            (busy - server_cpu - this_cpu - pg_cpu).max(0.0),
            100.0 * (a.machine_busy - b.machine_busy) as f64 / total_jiffies,
            100.0 * (a.machine_iowait - b.machine_iowait) as f64 / total_jiffies,
        );
    }
    println!(
        "  {rate:.0} / (2 × {entry_rate:.0}) = {:.1} % of the two-core crypto ceiling; goal ≥ {:.0} %: {}",
        100.0 * ratio,
        100.0 * backend.goal(),
        if ratio >= backend.goal() { "met" } else { "NOT met" }
    );

    let mut problems: Vec<String> = reports.iter().flat_map(|r| r.problems.iter().cloned()).collect();
    problems.extend(heads);
    if accepted != total || bad > 0 || !problems.is_empty() {
        let shown =
            problems.iter().take(2 * SHOWN_PROBLEMS).map(|p| format!("\n    {p}")).collect::<String>();
        return Err(format!(
            "{accepted} of {total} entries accepted as valid, {bad} answered otherwise; first problems:{shown}"
        ));
    }
    drop(server);
    Ok(())
}
