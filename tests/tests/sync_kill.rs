//! A tablet's sync process SIGKILLed mid-push and mid-upload, then
//! restarted: everything arrives once, and the upload resumes where the
//! server stands instead of starting over.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_sync::RequestStats;
use hearth_tests::proxy::{Fault, FaultPlan, FaultProxy};
use hearth_tests::system::{Server, Tablet};

const BIN: &str = env!("CARGO_BIN_EXE_tablet-sync");
const CHUNK: usize = 32 * 1024;
// 128 chunks of at least 15 ms each (the proxy's delay): seconds of upload to kill into.
const PHOTO: usize = 4 * 1024 * 1024;

fn spawn(dir: &std::path::Path, url: &str) -> Child {
    Command::new(BIN)
        .arg(dir)
        .arg(url)
        .arg("20")
        .arg(CHUNK.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_push_and_mid_upload_then_restarted() {
    // No rate limit, so every chunk counted is a chunk the server took; a
    // proxy delays each request instead, so the kills land mid-way.
    let server = Server::start_with(&["--device-rate", "100000", "--device-burst", "100000"]);
    let proxy = FaultProxy::start(server.addr(), FaultPlan::always(Fault::Delay(Duration::from_millis(15))))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let photo = tablet.put_photo(42, PHOTO);
    for i in 0..1000 {
        let attach = if i == 0 { vec![photo.clone()] } else { vec![] };
        tablet.seal_step(&attach, hearth_sync::now_ms());
    }
    let device_id = tablet.device_id.clone();
    drop(tablet);

    // 1. Killed while pushing (batches of 20).
    let mut child = spawn(dir.path(), &proxy.url());
    wait_until("some entries arrived", || server.entry_counts(&device_id).0 >= 100);
    child.kill().unwrap();
    child.wait().unwrap();
    let after_first = server.entry_counts(&device_id).0;
    assert!(after_first < 1000, "killed mid-push, {after_first} of 1000 arrived");

    // 2. Killed while uploading the photo, two chunks after where the first run left it.
    let held_before = server.partial_upload_bytes();
    assert!(
        server.blob(&photo.sha256.to_hex()).is_none(),
        "the photo is still on its way after the first kill"
    );
    let mut child = spawn(dir.path(), &proxy.url());
    wait_until("more of the photo arrived", || {
        server.partial_upload_bytes() >= held_before + (2 * CHUNK) as u64
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let held = server.partial_upload_bytes();
    eprintln!("killed after {after_first} entries, then with {held} of {PHOTO} photo bytes on the server");
    assert!(server.blob(&photo.sha256.to_hex()).is_none(), "killed mid-upload, the blob is not complete");
    assert!(held < PHOTO as u64, "killed mid-upload ({held} bytes held)");

    // 3. Restarted: it finishes.
    let child = spawn(dir.path(), &server.base);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the third run drains");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stats: RequestStats =
        serde_json::from_str(stdout.lines().find_map(|l| l.strip_prefix("stats ")).expect("stats printed"))
            .unwrap();

    assert_eq!(server.entry_counts(&device_id), (1000, 1000, 1, 1000), "every entry exactly once");
    let held_blob = server.blob(&photo.sha256.to_hex()).expect("the photo arrived");
    assert_eq!(hearth_protocol::hash::blob_id(&held_blob), photo.sha256);
    let remaining_chunks = (PHOTO as u64 - held).div_ceil(CHUNK as u64);
    eprintln!("the restarted upload sent {} chunks; {remaining_chunks} were left", stats.chunks_sent);
    assert!(
        stats.chunks_sent <= remaining_chunks + 1,
        "resumed, not restarted: {} chunks sent, {remaining_chunks} were left ({stats:?})",
        stats.chunks_sent
    );
    let tablet = Tablet::reopen(dir.path(), "T0017");
    let s = tablet.store.lock().unwrap();
    assert_eq!(s.outbox_len().unwrap(), 0, "a receipt for every record");
    assert_eq!(hearth_tests::system::receipt_count(&s), 1000);
    assert_eq!(s.verify_chain().unwrap().entries, 1000, "the tablet's chain is intact");
}
