//! Power cuts: a tablet streams pushes while the server is SIGKILLed at
//! random moments (seeded), on SQLite and on PostgreSQL. Whatever the tablet
//! was told (accepted or duplicate, with a receipt) survives every kill,
//! byte for byte; resending answers `duplicate` with the original receipt;
//! and at the end the chain is contiguous with every entry stored once.

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hearth_protocol::Envelope;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};

on_both_backends!(acknowledged_entries_survive_the_server_being_killed_at_random_moments);

const SEED: u64 = 0x4845_4152_5448; // "HEARTH"
const KILLS: usize = 12;

/// What the tablet was told for one seq: the receipt (as JSON text) and its signature.
type Ack = (String, String);

/// The tablet's side, shared between the pushing task and the test.
struct Lane {
    device: TestDevice,
    /// Sealed envelopes; index `seq - 1`.
    sealed: Vec<Envelope>,
    /// Receipts the tablet stored, by seq.
    acked: BTreeMap<u64, Ack>,
    /// Anything that must not happen (a second, different receipt; a conflict…).
    anomalies: Vec<String>,
    pushes: usize,
    /// 503 `concurrent_write` answers (retried after Retry-After).
    retry_503: usize,
    /// While true the tablet keeps sealing new entries; after, it only sends what it holds.
    sealing: bool,
}

impl Lane {
    /// The first seq without a receipt (acks always form a prefix: batches go in order).
    fn first_unacked(&self) -> u64 {
        self.acked.keys().next_back().map_or(1, |s| s + 1)
    }

    /// Records one result; returns false when the batch stopped there.
    fn take_result(&mut self, r: &Value) -> bool {
        let status = r["status"].as_str().unwrap_or("?");
        let seq = r["seq"].as_u64().unwrap_or(0);
        if status != "accepted" && status != "duplicate" {
            self.anomalies.push(format!("seq {seq}: a resend after a crash answered {r}"));
            return false;
        }
        let ack = (
            serde_json::to_string(&r["receipt"]).unwrap(),
            r["receipt_sig"].as_str().unwrap_or("").to_owned(),
        );
        if ack.1.is_empty() || r["receipt"]["seq"] != seq {
            self.anomalies.push(format!("seq {seq}: {status} without a proper receipt: {r}"));
            return false;
        }
        if let Some(old) = self.acked.get(&seq)
            && *old != ack
        {
            self.anomalies
                .push(format!("seq {seq}: a second, different receipt {ack:?}; the first was {old:?}"));
        }
        self.acked.insert(seq, ack);
        true
    }
}

/// Streams batches of 1 to 4 entries from the first unacked seq, sealing new
/// ones as needed, until aborted (or, once sealing stops, until all are
/// acked). Connection errors (the server is dead) are retried; 429 and 503
/// wait as told.
async fn stream(lane: Arc<Mutex<Lane>>, base: String, seed: u64) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        let size = 1 + rng.next_u64() % 4;
        let (device_id, token, batch) = {
            let mut l = lane.lock().unwrap();
            let from = l.first_unacked();
            while l.sealing && (l.sealed.len() as u64) < from + size - 1 {
                let content = l.device.arrival("WO-DEMO-0001");
                let env = l.device.seal(content).envelope;
                l.sealed.push(env);
            }
            let want = (from + size - 1).min(l.sealed.len() as u64);
            if from > want {
                return;
            }
            let batch = l.sealed[(from - 1) as usize..want as usize].to_vec();
            (l.device.device_id.clone(), l.device.token.clone(), batch)
        };
        let sent = http
            .post(format!("{base}/v1/devices/{device_id}/entries"))
            .bearer_auth(&token)
            .json(&json!({ "entries": batch }))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let status = resp.status();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let Ok(text) = resp.text().await else { continue }; // died mid-answer: no ack
        // Busy, or (PostgreSQL) a commit sent by the killed server landed
        // after this server read the head: retryable, and said so.
        if status == 429 || status == 503 {
            let Some(wait) = retry_after else {
                lane.lock().unwrap().anomalies.push(format!("{status} without Retry-After: {text}"));
                return;
            };
            if status == 503 {
                let mut l = lane.lock().unwrap();
                l.retry_503 += 1;
                if !text.contains("\"concurrent_write\"") {
                    l.anomalies.push(format!("an unexpected 503: {text}"));
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let mut l = lane.lock().unwrap();
        l.pushes += 1;
        if status != 200 {
            l.anomalies.push(format!("push answered {status}: {text}"));
            return;
        }
        let Some(results) =
            serde_json::from_str::<Value>(&text).ok().and_then(|b| b["results"].as_array().cloned())
        else {
            l.anomalies.push(format!("a 200 answer without results: {text}"));
            return;
        };
        for r in &results {
            if !l.take_result(r) {
                return;
            }
        }
    }
}

/// Every receipt the server lists for the device, page by page.
async fn stored_receipts(server: &TestServer, device_id: &str, token: &str) -> BTreeMap<u64, Ack> {
    let mut out = BTreeMap::new();
    loop {
        let from = out.keys().next_back().map_or(1, |s| s + 1);
        let resp = server
            .http
            .get(server.url(&format!("/v1/devices/{device_id}/receipts?from_seq={from}&limit=500")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        let page = body["receipts"].as_array().unwrap();
        if page.is_empty() {
            return out;
        }
        for r in page {
            let seq = r["receipt"]["seq"].as_u64().unwrap();
            assert!(seq >= from, "receipts from_seq={from} listed seq {seq}");
            let ack = (
                serde_json::to_string(&r["receipt"]).unwrap(),
                r["receipt_sig"].as_str().unwrap().to_owned(),
            );
            assert!(out.insert(seq, ack).is_none(), "seq {seq} listed twice");
        }
    }
}

async fn acknowledged_entries_survive_the_server_being_killed_at_random_moments(backend: Backend) {
    let started = Instant::now();
    let mut server = TestServer::start(backend);
    let mut device = server.enrol_device("断电平板", 21).await;
    server.enrol_technician(&mut device, "T0017", 22).await;
    let (device_id, token) = (device.device_id.clone(), device.token.clone());
    let lane = Arc::new(Mutex::new(Lane {
        device,
        sealed: vec![],
        acked: BTreeMap::new(),
        anomalies: vec![],
        pushes: 0,
        retry_503: 0,
        sealing: true,
    }));
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ (backend as u64));
    let mut committed_unacked = 0;

    for kill in 0..KILLS {
        let task = tokio::spawn(stream(lane.clone(), server.base.clone(), rng.next_u64()));
        tokio::time::sleep(Duration::from_millis(40 + rng.next_u64() % 400)).await;
        server.kill();
        task.abort();
        let _ = task.await;
        let before = lane.lock().unwrap().acked.clone();
        assert!(
            lane.lock().unwrap().anomalies.is_empty(),
            "kill {kill}: {:#?}",
            lane.lock().unwrap().anomalies
        );

        server.spawn();
        let stored = stored_receipts(&server, &device_id, &token).await;
        for (seq, ack) in &before {
            let got = stored.get(seq).unwrap_or_else(|| {
                panic!("kill {kill}: seq {seq} was acknowledged before the kill but is not stored after it")
            });
            assert_eq!(
                got, ack,
                "kill {kill}: seq {seq}: the stored receipt is the one the tablet was given"
            );
        }
        let seqs: Vec<u64> = stored.keys().copied().collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "kill {kill}: stored seqs are contiguous"
        );
        // Committed but the answer died with the server: resending will say duplicate.
        committed_unacked += stored.len().saturating_sub(before.len());

        // Resend a few acknowledged entries (in seq order): duplicates with the original receipt.
        if !before.is_empty() {
            let mut pick: Vec<u64> = (0..3).map(|_| 1 + rng.next_u64() % before.len() as u64).collect();
            pick.sort_unstable();
            pick.dedup();
            let envs: Vec<Envelope> = {
                let l = lane.lock().unwrap();
                pick.iter().map(|s| l.sealed[(*s - 1) as usize].clone()).collect()
            };
            let resp = server
                .http
                .post(server.url(&format!("/v1/devices/{device_id}/entries")))
                .bearer_auth(&token)
                .json(&json!({ "entries": envs }))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            for (seq, r) in pick.iter().zip(body["results"].as_array().unwrap()) {
                assert_eq!(r["status"], "duplicate", "kill {kill}: resending acknowledged seq {seq}: {r}");
                let ack = (
                    serde_json::to_string(&r["receipt"]).unwrap(),
                    r["receipt_sig"].as_str().unwrap().to_owned(),
                );
                assert_eq!(
                    &ack, &before[seq],
                    "kill {kill}: seq {seq}: a duplicate carries the original receipt"
                );
            }
        }
    }

    // Power stays on: the tablet sends everything it still holds without a receipt.
    lane.lock().unwrap().sealing = false;
    let base = server.base.clone();
    let finish = tokio::spawn(stream(lane.clone(), base, rng.next_u64()));
    tokio::time::timeout(Duration::from_secs(60), finish)
        .await
        .expect("the tablet catches up within a minute once the server stays up")
        .unwrap();
    let lane = Arc::try_unwrap(lane).ok().unwrap().into_inner().unwrap();
    assert!(lane.anomalies.is_empty(), "{:#?}", lane.anomalies);
    let n = lane.sealed.len() as u64;
    assert!(n >= 50, "the tablet streamed a real amount of entries ({n})");
    assert_eq!(
        lane.acked.keys().copied().collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "every entry acked"
    );

    let stored = stored_receipts(&server, &device_id, &token).await;
    assert_eq!(stored, lane.acked, "the server lists exactly the receipts the tablet holds, 1..={n}");
    let head: Value = server
        .http
        .get(server.url(&format!("/v1/devices/{device_id}/head")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(head["seq"], n);
    assert_eq!(head["entry_hash"], lane.device.prev.to_hex());
    let mut server_seqs = HashSet::new();
    let mut record_ids = HashSet::new();
    let server_key = server.server_key().await;
    for (seq, (receipt, sig)) in &stored {
        let typed: hearth_protocol::Receipt = serde_json::from_str(receipt).unwrap();
        hearth_protocol::receipt::verify_receipt(&typed, sig, &server_key)
            .unwrap_or_else(|e| panic!("seq {seq}: the receipt verifies against the server key: {e:?}"));
        let r: Value = serde_json::from_str(receipt).unwrap();
        assert!(server_seqs.insert(r["server_seq"].as_u64().unwrap()), "seq {seq}: server_seq reused");
        assert!(
            record_ids.insert(r["record_id"].as_str().unwrap().to_owned()),
            "seq {seq}: record stored twice"
        );
    }
    let storage = server.storage().await;
    assert_eq!(storage.entry_count().await.unwrap(), n, "no entry is stored twice");
    let conflicts = storage.conflicts(&device_id).await.unwrap();
    assert!(conflicts.is_empty(), "resending after a crash never looks like a conflict: {conflicts:?}");
    eprintln!(
        "{backend:?}: {KILLS} kills, {n} entries, {} pushes, {} retried 503s, \
         {committed_unacked} entries committed whose answer was lost, {:?}",
        lane.pushes,
        lane.retry_503,
        started.elapsed()
    );
}
