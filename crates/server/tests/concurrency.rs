//! Many connections at once against the real binary: one batch raced on
//! four connections, eight tablets pushing together, and a feed reader
//! polling while admin processes write snapshots. Each on SQLite and on
//! PostgreSQL.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use futures_util::future::join_all;
use hearth_protocol::Envelope;
use serde_json::{Value, json};

on_both_backends!(
    the_same_batch_pushed_on_four_connections_at_once_is_stored_once,
    eight_devices_pushing_at_once_keep_every_chain_contiguous,
    a_feed_reader_polling_while_writers_write_misses_no_item,
    admins_adding_the_same_new_thermometer_at_once_all_succeed,
    batches_raced_through_two_server_processes_on_one_database_are_stored_once,
);

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

/// POST a batch; the parsed JSON answer (asserting HTTP 200).
async fn push_json(http: &reqwest::Client, base: &str, device: &TestDevice, entries: &[Envelope]) -> Value {
    let resp = http
        .post(format!("{base}/v1/devices/{}/entries", device.device_id))
        .bearer_auth(&device.token)
        .json(&json!({ "entries": entries }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "push answered {status}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let resp = http.get(url).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "GET {url} answered {status}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn receipts(server: &TestServer, device: &TestDevice) -> Vec<Value> {
    let url = server.url(&format!("/v1/devices/{}/receipts?from_seq=1", device.device_id));
    let v = get_json(&server.http, &url, &device.token).await;
    v["receipts"].as_array().expect("receipts is an array").clone()
}

async fn enrolled(server: &TestServer, name: &str, device_seed: u8, tech: &str, tech_seed: u8) -> TestDevice {
    let mut device = server.enrol_device(name, device_seed).await;
    server.enrol_technician(&mut device, tech, tech_seed).await;
    device
}

fn seal_arrivals(device: &mut TestDevice, n: usize) -> Vec<Envelope> {
    (0..n)
        .map(|_| {
            let content = device.arrival("WO-DEMO-0001");
            device.seal(content).envelope
        })
        .collect()
}

async fn the_same_batch_pushed_on_four_connections_at_once_is_stored_once(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = enrolled(&server, "并发平板", 1, "T0017", 2).await;
    let batch = seal_arrivals(&mut device, 20);

    let clients: Vec<reqwest::Client> = (0..4).map(|_| client()).collect();
    let responses = join_all(clients.iter().map(|http| push_json(http, &server.base, &device, &batch))).await;

    // seq → (number of `accepted`, every receipt text and signature seen)
    let mut by_seq: BTreeMap<u64, (usize, Vec<(String, String)>)> = BTreeMap::new();
    for (i, resp) in responses.iter().enumerate() {
        let results = resp["results"].as_array().unwrap();
        assert_eq!(results.len(), 20, "connection {i}: one result per entry: {resp}");
        for (k, r) in results.iter().enumerate() {
            let status = r["status"].as_str().unwrap();
            assert!(
                status == "accepted" || status == "duplicate",
                "connection {i}, entry {k}: only accepted or duplicate when racing the same batch, got {r}"
            );
            let seq = r["seq"].as_u64().unwrap();
            assert_eq!(seq, k as u64 + 1, "results come in seq order");
            let slot = by_seq.entry(seq).or_default();
            if status == "accepted" {
                slot.0 += 1;
            }
            let receipt = r.get("receipt").unwrap_or_else(|| panic!("{status} carries a receipt: {r}"));
            let sig =
                r["receipt_sig"].as_str().unwrap_or_else(|| panic!("{status} carries receipt_sig: {r}"));
            slot.1.push((serde_json::to_string(receipt).unwrap(), sig.to_owned()));
        }
    }
    assert_eq!(by_seq.len(), 20);
    for (seq, (accepted, seen)) in &by_seq {
        assert_eq!(*accepted, 1, "seq {seq}: exactly one connection gets `accepted`, the others `duplicate`");
        assert_eq!(seen.len(), 4);
        assert!(
            seen.iter().all(|s| s == &seen[0]),
            "seq {seq}: all four receipts are the same original: {seen:#?}"
        );
    }

    let listed = receipts(&server, &device).await;
    assert_eq!(listed.len(), 20, "the batch is stored once: {listed:#?}");
    for (i, r) in listed.iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(r["receipt"]["seq"], seq);
        let (_, seen) = &by_seq[&seq];
        assert_eq!(
            (serde_json::to_string(&r["receipt"]).unwrap(), r["receipt_sig"].as_str().unwrap().to_owned()),
            seen[0],
            "seq {seq}: the stored receipt is the one every connection was given"
        );
    }
    let stored = server.storage().await.entry_count().await.unwrap();
    assert_eq!(stored, 20, "no entry is stored twice");
}

async fn eight_devices_pushing_at_once_keep_every_chain_contiguous(backend: Backend) {
    const DEVICES: usize = 8;
    const ENTRIES: usize = 100;
    const BATCH: usize = 25;
    let server = TestServer::start(backend);
    let techs = ["T0017", "T0023", "T0031", "T0042", "T0056", "T0068", "T0017", "T0023"];
    let mut devices = Vec::new();
    for (i, tech) in techs.iter().enumerate().take(DEVICES) {
        let i = i as u8;
        devices.push(enrolled(&server, &format!("平板 {i}"), 10 + i, tech, 50 + i).await);
    }
    // Sealed offline first, so the pushes themselves overlap.
    let chains: Vec<Vec<Envelope>> = devices.iter_mut().map(|d| seal_arrivals(d, ENTRIES)).collect();

    let started = Instant::now();
    let base = server.base.as_str();
    let lanes = devices.iter().zip(&chains).map(|(device, chain)| async move {
        let http = client();
        let mut statuses = Vec::new();
        for batch in chain.chunks(BATCH) {
            let resp = push_json(&http, base, device, batch).await;
            for r in resp["results"].as_array().unwrap() {
                statuses.push((r["seq"].as_u64().unwrap(), r["status"].as_str().unwrap().to_owned()));
            }
        }
        statuses
    });
    let all = join_all(lanes).await;
    eprintln!("8 × {ENTRIES} entries pushed in {:?}", started.elapsed());

    let mut server_seqs = HashSet::new();
    for (d, (device, statuses)) in devices.iter().zip(&all).enumerate() {
        let expected: Vec<(u64, String)> = (1..=ENTRIES as u64).map(|s| (s, "accepted".to_owned())).collect();
        assert_eq!(statuses, &expected, "device {d}: every entry accepted, in order");

        let head = get_json(
            &server.http,
            &server.url(&format!("/v1/devices/{}/head", device.device_id)),
            &device.token,
        )
        .await;
        assert_eq!(head["seq"], ENTRIES as u64, "device {d}: head");
        assert_eq!(
            head["entry_hash"],
            device.prev.to_hex(),
            "device {d}: head hash is the last sealed entry"
        );

        let listed = receipts(&server, device).await;
        let seqs: Vec<u64> = listed.iter().map(|r| r["receipt"]["seq"].as_u64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=ENTRIES as u64).collect::<Vec<_>>(),
            "device {d}: receipts for seq 1..=100, no gap"
        );
        let ss: Vec<u64> = listed.iter().map(|r| r["receipt"]["server_seq"].as_u64().unwrap()).collect();
        assert!(
            ss.windows(2).all(|w| w[0] < w[1]),
            "device {d}: server_seq strictly increases with seq: {ss:?}"
        );
        for s in ss {
            assert!(server_seqs.insert(s), "server_seq {s} was given to two entries");
        }
        for r in &listed {
            assert_eq!(r["receipt"]["device_id"], device.device_id.as_str());
        }
    }
    assert_eq!(server_seqs.len(), DEVICES * ENTRIES);
    assert_eq!(server.storage().await.entry_count().await.unwrap(), (DEVICES * ENTRIES) as u64);
}

/// Runs `hearth-server admin …` on the server's database; Err with stderr on failure.
fn admin_process(database: &str, args: &[String]) -> Result<(), String> {
    let out = std::process::Command::new(BIN)
        .arg("admin")
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("admin {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Feed identity: a work order and its removal are the same thing.
fn feed_key(item: &Value) -> (String, String) {
    let kind = item["kind"].as_str().unwrap();
    let kind = if kind == "work_order_removed" { "work_order" } else { kind };
    (kind.to_owned(), item["id"].as_str().unwrap().to_owned())
}

/// One GET of the feed, waiting out 429s (the reader is a tablet and is rate limited).
async fn feed_page(
    http: &reqwest::Client,
    base: &str,
    device: &TestDevice,
    cursor: &str,
    limit: usize,
) -> Value {
    loop {
        let resp = http
            .get(format!("{base}/v1/devices/{}/feed", device.device_id))
            .query(&[("cursor", cursor), ("limit", &limit.to_string())])
            .bearer_auth(&device.token)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "feed answered {status}: {text}");
        return serde_json::from_str(&text).unwrap();
    }
}

async fn a_feed_reader_polling_while_writers_write_misses_no_item(backend: Backend) {
    const WRITERS: usize = 4;
    const WRITES: usize = 16;
    let server = TestServer::start(backend);
    let device = enrolled(&server, "读取平板", 3, "T0017", 4).await;
    // Things every writer updates, created before the race so that the
    // race is about updates (concurrent first writes have their own test).
    for k in 0..3 {
        server.admin(&[
            "thermometer",
            "add",
            "--serial",
            &format!("SH-{k}"),
            "--certificate",
            "C0",
            "--valid-until",
            "2027-12-31",
        ]);
    }

    let database = server.database.clone();
    let writers: Vec<std::thread::JoinHandle<Vec<String>>> = (0..WRITERS)
        .map(|w| {
            let database = database.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for k in 0..WRITES {
                    let args: Vec<String> = match k % 4 {
                        // its own thermometers: created, then updated
                        0 | 1 => {
                            ["thermometer", "add", "--serial", &format!("S-{w}-{}", k % 3), "--certificate"]
                                .iter()
                                .map(|s| (*s).to_owned())
                                .chain([format!("C-{w}-{k}"), "--valid-until".into(), "2027-12-31".into()])
                                .collect()
                        }
                        // shared thermometers: every writer updates them
                        2 => ["thermometer", "add", "--serial", &format!("SH-{}", k % 3), "--certificate"]
                            .iter()
                            .map(|s| (*s).to_owned())
                            .chain([format!("C-{w}-{k}"), "--valid-until".into(), "2027-12-31".into()])
                            .collect(),
                        // technicians: a new one, or a demo one updated
                        _ => {
                            let id = if k % 8 == 3 { format!("TW{w}{k:02}") } else { "T0031".to_owned() };
                            [
                                "technician",
                                "add",
                                "--id",
                                &id,
                                "--name",
                                &format!("写者{w}-{k}"),
                                "--phone",
                                "13800000000",
                            ]
                            .iter()
                            .map(|s| (*s).to_owned())
                            .collect()
                        }
                    };
                    if let Err(e) = admin_process(&database, &args) {
                        failures.push(e);
                    }
                }
                failures
            })
        })
        .collect();

    let http = client();
    let mut cursor = String::new();
    let mut last_seq = 0u64;
    let mut seen: HashMap<(String, String), (u64, u64)> = HashMap::new(); // key → (rev, feed_seq)
    let mut polls = 0;
    let mut writers_done = false;
    loop {
        if !writers_done && writers.iter().all(std::thread::JoinHandle::is_finished) {
            writers_done = true;
        }
        let page = feed_page(&http, &server.base, &device, &cursor, 7).await;
        polls += 1;
        for item in page["items"].as_array().unwrap() {
            let feed_seq = item["feed_seq"].as_u64().unwrap();
            assert!(
                feed_seq > last_seq,
                "feed_seq went backwards or repeated: {feed_seq} after {last_seq} ({item})"
            );
            last_seq = feed_seq;
            let rev = item["rev"].as_u64().unwrap();
            let key = feed_key(item);
            if let Some((old_rev, _)) = seen.get(&key) {
                assert!(
                    rev > *old_rev,
                    "{key:?}: rev {rev} came after rev {old_rev}; a snapshot's rev only grows"
                );
            }
            seen.insert(key, (rev, feed_seq));
        }
        cursor = page["cursor"].as_str().unwrap().to_owned();
        // Stop only after a full pass that started once every writer had finished.
        if writers_done && !page["has_more"].as_bool().unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(55)).await;
    }
    let failures: Vec<String> = writers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(failures.is_empty(), "every admin write succeeds: {failures:#?}");
    eprintln!("reader: {polls} polls, {} things seen", seen.len());

    let full = feed_page(&http, &server.base, &device, "", 1000).await;
    assert_eq!(full["has_more"], false);
    let mut stored: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for item in full["items"].as_array().unwrap() {
        stored.insert(feed_key(item), (item["rev"].as_u64().unwrap(), item["feed_seq"].as_u64().unwrap()));
    }
    let missed: Vec<_> = stored
        .iter()
        .filter(|(k, (rev, _))| seen.get(*k).map(|s| s.0) != Some(*rev))
        .map(|(k, (rev, fs))| {
            format!("{k:?}: stored rev {rev} at feed_seq {fs}, reader last saw {:?}", seen.get(k))
        })
        .collect();
    assert!(
        missed.is_empty(),
        "the reader's last-seen rev equals the stored one for every thing: {missed:#?}"
    );
    assert_eq!(seen.len(), stored.len(), "the reader saw nothing that is not stored");
    // The writes really happened: each shared thermometer was updated by every writer.
    for k in 0..3 {
        let key = ("thermometer".to_owned(), format!("SH-{k}"));
        let expected = 1 + (0..WRITES).filter(|i| i % 4 == 2 && i % 3 == k).count() * WRITERS;
        assert_eq!(stored[&key].0, expected as u64, "{key:?}: one rev per write");
    }
}

async fn admins_adding_the_same_new_thermometer_at_once_all_succeed(backend: Backend) {
    const ROUNDS: usize = 4;
    const AT_ONCE: usize = 6;
    let server = TestServer::start(backend);
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let serial = format!("NEW-{round}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(AT_ONCE));
        let handles: Vec<_> = (0..AT_ONCE)
            .map(|i| {
                let (database, serial, barrier) = (server.database.clone(), serial.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let args: Vec<String> = [
                        "thermometer",
                        "add",
                        "--serial",
                        &serial,
                        "--certificate",
                        &format!("C{i}"),
                        "--valid-until",
                        "2027-12-31",
                    ]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
                    admin_process(&database, &args)
                })
            })
            .collect();
        failures.extend(handles.into_iter().filter_map(|h| h.join().unwrap().err()));
        let snap = server
            .storage()
            .await
            .snapshot(hearth_server::storage::SnapshotKind::Thermometer, &serial)
            .await
            .unwrap()
            .expect("the thermometer exists");
        if failures.is_empty() {
            assert_eq!(snap.rev, AT_ONCE as u64, "{serial}: one rev per write");
        }
    }
    assert!(
        failures.is_empty(),
        "adding a thermometer without an expected rev is an upsert: writers racing to create it must all succeed; \
         failures: {failures:#?}"
    );
}

/// Pushes until every entry of `batch` is answered accepted or duplicate,
/// retrying the 503 `concurrent_write` a second process may cause. Returns
/// each answer's results and how many 503s were seen.
async fn push_until_answered(
    http: &reqwest::Client,
    base: &str,
    device: &TestDevice,
    batch: &[Envelope],
) -> (Vec<Value>, usize) {
    let mut retries = 0;
    loop {
        let resp = http
            .post(format!("{base}/v1/devices/{}/entries", device.device_id))
            .bearer_auth(&device.token)
            .json(&json!({ "entries": batch }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let text = resp.text().await.unwrap();
        if status == 503 {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a 503 is JSON: {text}"));
            assert_eq!(body["error"], "concurrent_write", "{text}");
            let wait = retry_after.expect("a 503 says when to retry");
            assert!(wait >= 1, "Retry-After: {wait}");
            retries += 1;
            assert!(retries < 20, "still 503 after {retries} tries: {text}");
            // Sooner than asked, to keep the test short; the server must cope.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert_eq!(status, 200, "push answered {status}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        return (body["results"].as_array().unwrap().clone(), retries);
    }
}

async fn batches_raced_through_two_server_processes_on_one_database_are_stored_once(backend: Backend) {
    const ROUNDS: usize = 20;
    const PER_BATCH: usize = 5;
    let server = TestServer::start(backend);
    let second = server.spawn_another();
    let mut device = enrolled(&server, "双机平板", 7, "T0017", 8).await;
    let (a, b) = (client(), client());
    let mut receipts_seen: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut accepted: BTreeMap<u64, usize> = BTreeMap::new();
    let mut retried = 0;
    let mut wrong = Vec::new();
    for _ in 0..ROUNDS {
        let batch = seal_arrivals(&mut device, PER_BATCH);
        let ((ra, na), (rb, nb)) = tokio::join!(
            push_until_answered(&a, &server.base, &device, &batch),
            push_until_answered(&b, &second.base, &device, &batch),
        );
        retried += na + nb;
        for r in ra.iter().chain(&rb) {
            let status = r["status"].as_str().unwrap();
            if status != "accepted" && status != "duplicate" {
                wrong.push(format!("the same entry raced through two processes was answered {r}"));
                continue;
            }
            let seq = r["seq"].as_u64().unwrap();
            if status == "accepted" {
                *accepted.entry(seq).or_default() += 1;
            }
            let ack = (
                serde_json::to_string(&r["receipt"]).unwrap(),
                r["receipt_sig"].as_str().unwrap().to_owned(),
            );
            let first = receipts_seen.entry(seq).or_insert_with(|| ack.clone());
            assert_eq!(first, &ack, "seq {seq}: both processes give the same, original receipt");
        }
    }
    let storage = server.storage().await;
    let conflicts: Vec<String> = storage
        .conflicts(&device.device_id)
        .await
        .unwrap()
        .iter()
        .map(|c| format!("conflict evidence kept: {} at seq {}", c.kind, c.seq))
        .collect();
    wrong.extend(conflicts);
    assert!(
        wrong.is_empty(),
        "an entry committed by the other process after this one read the head is the same entry, \
         a duplicate, not a record_id_reuse conflict: {wrong:#?}"
    );
    let n = (ROUNDS * PER_BATCH) as u64;
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "every seq accepted once"
    );
    assert!(accepted.values().all(|c| *c == 1), "no seq is accepted by both processes: {accepted:?}");
    let listed = receipts(&server, &device).await;
    assert_eq!(listed.len() as u64, n);
    for r in &listed {
        let seq = r["receipt"]["seq"].as_u64().unwrap();
        let ack =
            (serde_json::to_string(&r["receipt"]).unwrap(), r["receipt_sig"].as_str().unwrap().to_owned());
        assert_eq!(ack, receipts_seen[&seq], "seq {seq}: the stored receipt is the one given");
    }
    assert_eq!(storage.entry_count().await.unwrap(), n, "no entry is stored twice");
    eprintln!("{backend:?}: two processes, {n} entries, {retried} retried 503s");
}
