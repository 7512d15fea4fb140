//! `hearth-server import FILE`: a tablet's rescue file is ingested exactly as
//! its pushes would be — same checks, same receipts, idempotent — by the real
//! binary on the database and blob directory of a running server, on SQLite
//! and on PostgreSQL.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use hearth_protocol::api::{BlobsMissingResponse, EntryStatus, Head, ReceiptsResponse};
use hearth_protocol::rescue::{RescueHeader, RescueWriter};
use hearth_protocol::{Attachment, AttachmentRole, Digest, Envelope, hash, receipt};
use serde_json::{Value, json};

on_both_backends!(
    a_rescue_file_is_ingested_like_pushes_and_afterwards_is_only_duplicate,
    a_truncated_or_tampered_file_stores_nothing_and_a_sound_one_imports_without_the_server,
    a_file_of_a_device_not_enrolled_here_is_refused,
    an_import_stops_at_a_conflict_or_a_gap_naming_the_seq_and_the_reason,
);

/// A blob as the tablet holds it.
#[derive(Clone)]
struct Photo {
    sha256: Digest,
    media_type: &'static str,
    bytes: Vec<u8>,
}

/// Three files of different kinds and sizes, bytes fixed by `salt`.
fn photos(salt: u8) -> Vec<Photo> {
    [(150_000usize, "image/jpeg"), (40_000, "image/png"), (1, "application/json")]
        .into_iter()
        .enumerate()
        .map(|(k, (len, media_type))| {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + i / 251 + k * 7) as u8 ^ salt).collect();
            Photo { sha256: hash::blob_id(&bytes), media_type, bytes }
        })
        .collect()
}

async fn setup(backend: Backend) -> (TestServer, TestDevice) {
    let server = TestServer::start(backend);
    let mut device = server.enrol_device("离线平板", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;
    (server, device)
}

/// `n` arrival steps sealed in order; the first ones attach the photos.
fn seal_entries(device: &mut TestDevice, n: usize, photos: &[Photo]) -> Vec<Envelope> {
    (0..n)
        .map(|i| {
            let mut content = device.arrival("WO-DEMO-0001");
            if let Some(p) = photos.get(i) {
                content.attachments.push(Attachment {
                    captured_at_ms: None,
                    sha256: p.sha256,
                    size: p.bytes.len() as u64,
                    media_type: p.media_type.into(),
                    role: AttachmentRole::Photo,
                });
            }
            device.seal(content).envelope
        })
        .collect()
}

/// Writes a rescue file of `entries` and `photos` for `device_id`.
fn write_rescue(path: &Path, device_id: &str, entries: &[Envelope], photos: &[Photo]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let header = RescueHeader::new(device_id, now_ms(), entries.len() as u64, photos.len() as u64);
    let mut w = RescueWriter::new(file, header).unwrap();
    for e in entries {
        w.entry(e).unwrap();
    }
    for p in photos {
        w.blob(p.sha256, p.media_type, &p.bytes).unwrap();
    }
    w.finish().unwrap();
}

fn stdout_last_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn expect_success(out: &Output) -> String {
    assert!(out.status.success(), "import failed: {}", stderr(out));
    stdout_last_line(out)
}

fn expect_failure(out: &Output, code: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "a failed import exits 1; stderr: {err}");
    assert!(err.contains(&format!("import failed ({code})")), "stderr names the code {code}: {err}");
    err
}

async fn head(server: &TestServer, device: &TestDevice) -> Head {
    server.device_get(device, &format!("/v1/devices/{}/head", device.device_id)).await
}

async fn receipts(server: &TestServer, device: &TestDevice) -> ReceiptsResponse {
    server.device_get(device, &format!("/v1/devices/{}/receipts?from_seq=1", device.device_id)).await
}

async fn missing(server: &TestServer, device: &TestDevice, photos: &[Photo]) -> Vec<Digest> {
    let ids: Vec<String> = photos.iter().map(|p| p.sha256.to_hex()).collect();
    let resp: BlobsMissingResponse =
        server.device_post(device, "/v1/blobs/missing", &json!({ "sha256": ids })).await;
    resp.missing
}

fn rescue_path(server: &TestServer, name: &str) -> PathBuf {
    server.dir.path().join(name)
}

async fn a_rescue_file_is_ingested_like_pushes_and_afterwards_is_only_duplicate(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let storage = server.storage().await;
    let rows_before = storage.entry_count().await.unwrap();
    let photos = photos(0);
    let entries = seal_entries(&mut device, 50, &photos);
    let file = rescue_path(&server, "tablet.rescue");
    write_rescue(&file, &device.device_id, &entries, &photos);

    let out = server.import(&file);
    assert_eq!(
        expect_success(&out),
        format!(
            "imported device {}: 50 accepted, 0 duplicate, 3 blobs stored, 0 already present",
            device.device_id
        )
    );
    let first = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_owned();
    let announced = format!("{}: rescue file of device {} exported at ", file.display(), device.device_id);
    assert!(first.starts_with(&announced) && first.ends_with(": 50 entries, 3 blobs"), "{first}");

    // Every entry has a receipt, signed by the running server's key.
    let h = head(&server, &device).await;
    assert_eq!((h.seq, h.entry_hash), (50, Some(device.prev)), "the head is the file's last entry");
    let got = receipts(&server, &device).await.receipts;
    assert_eq!(got.iter().map(|r| r.receipt.seq).collect::<Vec<_>>(), (1..=50).collect::<Vec<_>>());
    let server_key = server.server_key().await;
    for r in &got {
        receipt::verify_receipt(&r.receipt, &r.receipt_sig, &server_key)
            .expect("an imported entry's receipt verifies against GET /v1/server-key");
    }
    assert_eq!(storage.entry_count().await.unwrap(), rows_before + 50);

    // The blobs exist as if uploaded.
    assert!(missing(&server, &device, &photos).await.is_empty(), "no blob of the file is missing");
    for p in &photos {
        let resp = server
            .http
            .get(server.url(&format!("/v1/blobs/{}", p.sha256)))
            .bearer_auth(&server.operator)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], p.media_type);
        assert_eq!(resp.bytes().await.unwrap().as_ref(), p.bytes.as_slice(), "blob {} intact", p.sha256);
    }

    // The same file again: all duplicate, nothing stored twice.
    let out = server.import(&file);
    assert_eq!(
        expect_success(&out),
        format!(
            "imported device {}: 0 accepted, 50 duplicate, 0 blobs stored, 3 already present",
            device.device_id
        )
    );
    assert_eq!(storage.entry_count().await.unwrap(), rows_before + 50, "a second import stores no row");
    assert_eq!(head(&server, &device).await.seq, 50);

    // The tablet, back online, pushes the same entries: duplicate, with the very receipts.
    let pushed = server.push(&device, &entries).await;
    assert_eq!(pushed.results.len(), 50);
    for (r, original) in pushed.results.iter().zip(&got) {
        assert_eq!(r.status, EntryStatus::Duplicate, "seq {}: {r:?}", r.seq);
        assert_eq!(
            serde_json::to_string(&r.receipt).unwrap(),
            serde_json::to_string(&Some(&original.receipt)).unwrap(),
            "the push answers the receipt the import got"
        );
        assert_eq!(r.receipt_sig.as_ref(), Some(&original.receipt_sig));
    }
    assert_eq!(storage.entry_count().await.unwrap(), rows_before + 50);
}

async fn a_truncated_or_tampered_file_stores_nothing_and_a_sound_one_imports_without_the_server(
    backend: Backend,
) {
    let (mut server, mut device) = setup(backend).await;
    let photos = photos(1);
    let entries = seal_entries(&mut device, 10, &photos);
    let sound = rescue_path(&server, "sound.rescue");
    write_rescue(&sound, &device.device_id, &entries, &photos);
    let text = std::fs::read_to_string(&sound).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 10 + 3);

    // Truncated: the last blob's line is missing.
    let truncated = rescue_path(&server, "truncated.rescue");
    std::fs::write(&truncated, lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect::<String>())
        .unwrap();
    let err = expect_failure(&server.import(&truncated), "count_mismatch");
    assert!(err.contains("announces 3 blobs but the file holds 2"), "{err}");

    // Tampered: the second blob's bytes changed, its sha256 kept.
    let mut line: Value = serde_json::from_str(lines[12]).unwrap();
    let mut bytes = photos[1].bytes.clone();
    bytes[100] ^= 0x40;
    line["blob"]["data"] = Value::String(hearth_protocol::b64::encode(&bytes));
    let mut altered: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    altered[12] = line.to_string();
    let tampered = rescue_path(&server, "tampered.rescue");
    std::fs::write(&tampered, altered.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let err = expect_failure(&server.import(&tampered), "blob_hash_mismatch");
    assert!(
        err.contains(&format!("line 13: blob {}", photos[1].sha256)),
        "the message names the blob: {err}"
    );

    // A blob whose media type an upload would refuse.
    let mut odd = photos.clone();
    odd[0].media_type = "image/jpeg; q=1";
    let odd_type = rescue_path(&server, "odd-type.rescue");
    write_rescue(&odd_type, &device.device_id, &entries, &odd);
    let err = expect_failure(&server.import(&odd_type), "bad_metadata");
    assert!(
        err.contains(&format!("blob {}: media_type must be a plain type/subtype", odd[0].sha256)),
        "{err}"
    );

    assert_eq!(head(&server, &device).await.seq, 0, "no entry of a bad file is stored");
    assert_eq!(missing(&server, &device, &photos).await.len(), 3, "no blob of a bad file is stored");
    for p in &photos {
        assert!(!server.blob_dir().join(p.sha256.to_hex()).exists());
    }

    // The sound file, with the server stopped: the database alone suffices.
    server.kill();
    let out = server.import(&sound);
    assert_eq!(
        expect_success(&out),
        format!(
            "imported device {}: 10 accepted, 0 duplicate, 3 blobs stored, 0 already present",
            device.device_id
        )
    );
    server.spawn();
    assert_eq!(head(&server, &device).await.seq, 10);
    assert!(missing(&server, &device, &photos).await.is_empty());
}

async fn a_file_of_a_device_not_enrolled_here_is_refused(backend: Backend) {
    let server = TestServer::start(backend);
    let mut stranger = TestDevice::unenrolled("dev-never-enrolled", 61, "T0017", 62);
    let photos = photos(2);
    let entries = seal_entries(&mut stranger, 3, &photos);
    let file = rescue_path(&server, "stranger.rescue");
    write_rescue(&file, &stranger.device_id, &entries, &photos);

    let err = expect_failure(&server.import(&file), "unknown_device");
    assert!(err.contains("\"dev-never-enrolled\" is not enrolled"), "{err}");
    let storage = server.storage().await;
    assert_eq!(storage.head("dev-never-enrolled").await.unwrap().0, 0);
    for p in &photos {
        assert!(!server.blob_dir().join(p.sha256.to_hex()).exists(), "nothing is stored for a stranger");
    }
}

async fn an_import_stops_at_a_conflict_or_a_gap_naming_the_seq_and_the_reason(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    // The tablet seals five entries and exports them. Two of them reached
    // the server already; at seq 3 the server meanwhile holds another entry (a fork).
    let entries = seal_entries(&mut device, 5, &[]);
    let file = rescue_path(&server, "forked.rescue");
    write_rescue(&file, &device.device_id, &entries, &[]);
    let pushed = server.push(&device, &entries[..2]).await;
    assert!(pushed.results.iter().all(|r| r.status == EntryStatus::Accepted), "{pushed:?}");
    device.seq = 2;
    device.prev = hash::entry_hash(&hearth_protocol::b64::decode(&entries[1].entry).unwrap());
    let other = seal_entries(&mut device, 1, &[]);
    assert_eq!(server.push(&device, &other).await.results[0].status, EntryStatus::Accepted);

    let err = expect_failure(&server.import(&file), "entry_refused");
    assert!(err.contains("stopped at seq 3: conflict (fork)"), "{err}");
    assert!(err.contains("(before it: 0 accepted, 2 duplicate, 0 blobs stored, 0 already present)"), "{err}");
    let h = head(&server, &device).await;
    assert_eq!(
        (h.seq, h.entry_hash),
        (3, Some(device.prev)),
        "the server's own seq 3 stands, nothing after it"
    );

    // Another tablet exports only from seq 3: the server expects seq 1.
    let mut late = server.enrol_device("平板 2", 3).await;
    server.enrol_technician(&mut late, "T0017", 4).await;
    let entries = seal_entries(&mut late, 4, &[]);
    let file = rescue_path(&server, "gap.rescue");
    write_rescue(&file, &late.device_id, &entries[2..], &[]);
    let err = expect_failure(&server.import(&file), "entry_refused");
    assert!(err.contains("stopped at seq 3: gap (the server expects seq 1 next)"), "{err}");
    assert_eq!(head(&server, &late).await.seq, 0);
}
