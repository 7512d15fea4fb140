//! Sync after a day offline: N records (default 2 000) and P photos of
//! about 500 KB (default 150), sent to a local server by the sync engine and,
//! in the same run, by a naive client (one request per record, each photo in
//! one PATCH). Prints wall time, HTTP requests and bytes sent for both.
//!
//! Goals (issue 4): record requests ≤ ⌈N / 200⌉ + 5 (a count: the bench
//! fails if it is exceeded), and total time ≤ 0.2 × the naive client's
//! (printed as met or not met; timing never fails a run).
//!
//! It runs three times: directly on loopback (the figure), and
//! through links that add HEARTH_BENCH_LINK_MS (default 20) and 100 ms to
//! every request — what a request costs on a mobile network, where counting
//! requests matters. Over a link the goals are total requests ≤ ⌈N / 200⌉ +
//! photos + 5 (issue 17: one request per photo) and time ≤ 0.05 × naive.
//! Over the 100 ms link the naive client syncs a tenth of the day and its
//! time is scaled by ten (its cost is one round trip per request, linear in
//! the day; the full run alone would take four minutes).
//!
//! `cargo bench --workspace --bench sync`, after `cargo bench --workspace
//! --bench '*' --no-run` built the release server beside it (as `.ci/run`
//! does). HEARTH_BENCH_RECORDS and HEARTH_BENCH_PHOTOS change the sizes.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use hearth_protocol::api::EntryStatus;
use hearth_store::StoredBlob;
use hearth_sync::{ServerClient, SyncConfig, SyncEngine};
use hearth_tests::proxy::{Fault, FaultPlan, FaultProxy};
use hearth_tests::system::{Server, Tablet};

const PHOTO_BYTES: usize = 500 * 1024;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A day of work on a fresh tablet: `records` steps, `photos` of them with a photo.
async fn offline_day(
    server: &Server,
    dir: &std::path::Path,
    tech: &str,
    records: u64,
    photos: u64,
    salt: u64,
) -> (Tablet, Vec<StoredBlob>) {
    let mut tablet = Tablet::enrol(server, &server.base, dir, tech).await;
    let every = (records / photos.max(1)).max(1);
    let mut stored = Vec::new();
    for n in 0..records {
        let attach = if n % every == 0 && (stored.len() as u64) < photos {
            let p = tablet.put_photo(salt << 32 | n, PHOTO_BYTES - (n as usize % 4096));
            stored.push(p.clone());
            vec![p]
        } else {
            vec![]
        };
        tablet.seal_step(&attach, hearth_sync::now_ms());
    }
    (tablet, stored)
}

/// Even a naive client tries a request again when its kept-alive connection
/// turns out to be closed.
async fn once_more<T, F: std::future::Future<Output = Result<T, hearth_sync::SyncError>>>(
    mut call: impl FnMut() -> F,
) -> Result<T, String> {
    match call().await {
        Err(hearth_sync::SyncError::Interrupted(_)) => call().await.map_err(|e| e.to_string()),
        other => other.map_err(|e| e.to_string()),
    }
}

/// One request per record, each photo in one request: what a client without
/// batching or resumable chunks does.
async fn naive_sync(
    tablet: &Tablet,
    photos: &[StoredBlob],
) -> Result<(hearth_sync::RequestStats, Instant), String> {
    let link = tablet
        .store
        .lock()
        .map_err(|e| e.to_string())?
        .server_link()
        .map_err(|e| e.to_string())?
        .ok_or("not linked")?;
    let server_key =
        hearth_protocol::VerifyingKey::from_bytes(&link.server_public_key).map_err(|e| e.to_string())?;
    let client = ServerClient::new(&link.server_url, Some(link.device_token)).map_err(|e| e.to_string())?;
    let entries = tablet
        .store
        .lock()
        .map_err(|e| e.to_string())?
        .entries_from(1, usize::MAX >> 1)
        .map_err(|e| e.to_string())?;
    for (seq, envelope) in entries {
        let answer = once_more(|| client.push(&tablet.device_id, std::slice::from_ref(&envelope))).await?;
        let r = answer.results.first().ok_or("no result")?;
        if !matches!(r.status, EntryStatus::Accepted | EntryStatus::Duplicate) {
            return Err(format!("seq {seq}: {:?}", r.status));
        }
        let (Some(receipt), Some(sig)) = (&r.receipt, &r.receipt_sig) else {
            return Err("no receipt".into());
        };
        tablet
            .store
            .lock()
            .map_err(|e| e.to_string())?
            .store_receipt(receipt, sig, &server_key, hearth_sync::now_ms())
            .map_err(|e| e.to_string())?;
    }
    let records_done = Instant::now();
    for p in photos {
        let bytes = tablet
            .store
            .lock()
            .map_err(|e| e.to_string())?
            .read_blob(&p.sha256)
            .map_err(|e| e.to_string())?
            .ok_or("photo gone")?;
        let (location, _) = once_more(|| client.upload_create(&p.sha256, &p.media_type, p.size, &[])).await?;
        once_more(|| client.upload_chunk(&location, 0, &bytes)).await?;
    }
    Ok((client.stats(), records_done))
}

/// One comparison: the engine and the naive client each sync a fresh
/// tablet's day, directly or through a link that adds `latency` per request.
async fn compare(
    server: &Server,
    latency: Option<Duration>,
    techs: (&str, &str),
    salt: u64,
    (records, photos): (u64, u64),
    naive_share: u64,
) -> Result<bool, String> {
    let proxy = match latency {
        Some(d) => Some(
            FaultProxy::start(server.addr(), FaultPlan::always(Fault::Delay(d)))
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let url = proxy.as_ref().map_or_else(|| server.base.clone(), FaultProxy::url);
    match latency {
        Some(d) => println!("\nthrough a link adding {} ms to every request:", d.as_millis()),
        None => println!("\ndirect, on loopback:"),
    }
    let dirs =
        (tempfile::tempdir().map_err(|e| e.to_string())?, tempfile::tempdir().map_err(|e| e.to_string())?);
    let (engine_tablet, _) = offline_day(server, dirs.0.path(), techs.0, records, photos, salt).await;
    let naive_day = (records / naive_share, photos / naive_share);
    let (naive_tablet, naive_photos) =
        offline_day(server, dirs.1.path(), techs.1, naive_day.0, naive_day.1, salt + 1).await;
    naive_tablet.store.lock().map_err(|e| e.to_string())?.set_server_url(&url).map_err(|e| e.to_string())?;

    let cfg = SyncConfig { server_url: Some(url.clone()), ..SyncConfig::default() };
    let engine = SyncEngine::new(engine_tablet.store.clone(), cfg).map_err(|e| e.to_string())?;
    let t = Instant::now();
    engine
        .sync_until_drained(Duration::from_secs(1800))
        .await
        .map_err(|s| format!("the engine did not drain: {s:?}"))?;
    let engine_time = t.elapsed();
    let es = engine.request_stats();

    let t = Instant::now();
    let (ns, records_done) = naive_sync(&naive_tablet, &naive_photos)
        .await
        .map_err(|e| format!("the naive client failed: {e}"))?;
    let naive_time = t.elapsed() * naive_share as u32;
    println!(
        "naive client: records {:.2} s, photos {:.2} s{}",
        (records_done - t).as_secs_f64() * naive_share as f64,
        records_done.elapsed().as_secs_f64() * naive_share as f64,
        if naive_share > 1 {
            format!(
                " (a 1/{naive_share} day of {} records and {} photos, times x {naive_share})",
                naive_day.0, naive_day.1
            )
        } else {
            String::new()
        }
    );
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "client", "wall s", "requests", "records", "blobs", "bytes sent"
    );
    for (who, time, st) in [("sync engine", engine_time, es), ("naive", naive_time, ns)] {
        println!(
            "{:<14} {:>10.2} {:>10} {:>10} {:>10} {:>12}",
            who,
            time.as_secs_f64(),
            st.requests,
            st.record_requests,
            st.blob_requests,
            st.bytes_sent
        );
    }
    let bound = records.div_ceil(200) + 5;
    let ratio = engine_time.as_secs_f64() / naive_time.as_secs_f64();
    let requests_ok = es.record_requests <= bound;
    println!(
        "record requests: {} (goal <= {bound}): {}",
        es.record_requests,
        if requests_ok { "met" } else { "NOT met" }
    );
    let total_bound = bound + photos;
    println!(
        "all requests: {} (goal <= N/200 + photos + 5 = {total_bound}): {}",
        es.requests,
        if es.requests <= total_bound { "met" } else { "NOT met" }
    );
    let time_goal = if latency.is_some() { 0.05 } else { 0.2 };
    println!(
        "time: {ratio:.3} x the naive client's (goal <= {time_goal}): {}",
        if ratio <= time_goal { "met" } else { "not met" }
    );
    for (who, t, n) in [("engine", &engine_tablet, records), ("naive", &naive_tablet, naive_day.0)] {
        let counts = server.entry_counts(&t.device_id);
        if counts != (n, n, 1.min(n), n) {
            return Err(format!("{who}: the server holds {counts:?}, not {n} contiguous entries"));
        }
    }
    Ok(requests_ok)
}

fn main() -> ExitCode {
    let records = env_or("HEARTH_BENCH_RECORDS", 2000);
    let photos = env_or("HEARTH_BENCH_PHOTOS", 150);
    let latency = env_or("HEARTH_BENCH_LINK_MS", 20);
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(async move {
        // The rate limit is lifted so that it measures the clients, not the throttle.
        let server = Server::start_with(&["--device-rate", "1000000", "--device-burst", "1000000"]);
        println!(
            "sync after a day offline: {records} records, {photos} photos of ~{} KB, local server",
            PHOTO_BYTES / 1024
        );
        let mut ok = true;
        // Each tablet's photos are its own (distinct salts): nothing is already on the server.
        for (link, techs, salt, naive_share) in [
            (None, ("T0017", "T0023"), 1, 1),
            (Some(Duration::from_millis(latency)), ("T0031", "T0042"), 3, 1),
            (Some(Duration::from_millis(100)), ("T0056", "T0068"), 5, 10),
        ] {
            match compare(&server, link, techs, salt, (records, photos), naive_share).await {
                Ok(requests_ok) => ok &= requests_ok,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    })
}
