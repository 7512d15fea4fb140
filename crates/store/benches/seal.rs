//! Seal latency against the floor it stands on: a bare rusqlite
//! INSERT + COMMIT with WAL and `synchronous=FULL` on the same file system,
//! measured interleaved in the same run. Goal: seal p99 ≤ 1.5 × bare p99.
//!
//! `cargo bench -p hearth-store --bench seal` (HEARTH_BENCH_N sets the sample count).

use std::time::{Duration, Instant};

use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    Content, Cosigning, Created, EncodedContent, SignedContent, Signer, SignerRole, SigningKey,
};
use hearth_store::{DeviceIdentity, Store};
use rusqlite::Connection;
use serde_json::{Map, json};

fn record(n: u64, tech: &SigningKey) -> SignedContent {
    let mut data = Map::new();
    data.insert("step".into(), json!("inspect"));
    data.insert("findings".into(), json!("立管温度正常，入户供水 58.00 ℃，回水 41.00 ℃，滤网堵塞，已清洗。"));
    data.insert("n".into(), json!(n));
    let content = Content {
        schema: "hearth.visit_step/1".into(),
        record_id: format!("01890a5d-ac96-7000-8000-{n:012x}"),
        work_order_id: Some("WO-BENCH".into()),
        created: Created {
            device_time_ms: 1_763_000_000_000,
            tz_offset_min: 480,
            boot_id: "bench".into(),
            monotonic_ms: n as i64,
            last_server_time_ms: None,
        },
        signers: vec![Signer {
            role: SignerRole::Performer,
            tech_id: "T1".into(),
            kid: kid_of(&tech.verifying_key()),
        }],
        supersedes: None,
        attachments: vec![],
        refs: vec![],
        data,
    };
    let mut co = Cosigning::new(EncodedContent::encode(content).expect("valid"));
    co.sign(SignerRole::Performer, "T1", tech).expect("listed");
    co.finish().expect("signed")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (median, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{name:<28} n={:<5} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
        samples.len(),
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    (median, p99)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::var("HEARTH_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let warmup = 20;
    // Next to the build output, so both files share the project's file system.
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::tempdir_in(&base)?;
    println!("seal benchmark in {} ({} samples each, interleaved)", dir.path().display(), n);

    let tech = SigningKey::from_bytes(&[7; 32]);
    let mut store = Store::open_with_identity(
        &dir.path().join("store"),
        DeviceIdentity::from_secret_bytes([1; 32], [2; 32]),
    )?;
    store.set_device_id("dev-bench", 0)?;
    let records: Vec<SignedContent> = (1..=n + warmup).map(|i| record(i, &tech)).collect();

    let bare = Connection::open(dir.path().join("bare.db"))?;
    bare.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    bare.pragma_update(None, "synchronous", "FULL")?;
    bare.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
    let body = records[0].content().bytes().to_vec();

    let (mut seal_times, mut bare_times) = (Vec::new(), Vec::new());
    for (i, signed) in records.iter().enumerate() {
        let t = Instant::now();
        store.seal(signed, 1_763_000_000_000 + i as i64, None)?;
        let seal_time = t.elapsed();

        let t = Instant::now();
        bare.execute_batch("BEGIN")?;
        bare.execute("INSERT INTO t (body) VALUES (?1)", [&body])?;
        bare.execute_batch("COMMIT")?;
        let bare_time = t.elapsed();

        if i as u64 >= warmup {
            seal_times.push(seal_time);
            bare_times.push(bare_time);
        }
    }
    let (_, seal_p99) = summary("seal (chain + outbox)", seal_times);
    let (_, bare_p99) = summary("bare INSERT + COMMIT", bare_times);
    let ratio = seal_p99.as_secs_f64() / bare_p99.as_secs_f64();
    println!(
        "seal p99 / bare p99 = {ratio:.2} (goal ≤ 1.50: {})",
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );
    store.verify_chain()?;
    Ok(())
}
