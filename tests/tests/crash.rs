//! Power-loss safety: a child process seals records in a loop and is killed
//! with SIGKILL at random moments. After every kill the database passes
//! `PRAGMA integrity_check`, the chain verifies, and every record the child
//! reported as sealed is there, with its file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use hearth_protocol::Digest;
use hearth_store::Store;
use hearth_tests::fixtures;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const KILLS: usize = 200;
/// A fresh tablet every so many kills keeps re-verifying the whole chain after
/// each kill affordable; each chain still lives through 50 kills.
const KILLS_PER_CHAIN: usize = 50;

#[test]
fn records_reported_sealed_survive_two_hundred_sigkills() {
    let mut dir = tempfile::tempdir().unwrap();
    let seed = 0x4845_4152_5448; // fixed, so a failure replays
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut reported_total = 0usize;
    let mut kills_mid_run = 0usize;
    for kill in 0..KILLS {
        if kill > 0 && kill % KILLS_PER_CHAIN == 0 {
            dir = tempfile::tempdir().unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_seal-loop"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_micros(2_000 + rng.next_u64() % 60_000));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        let lines = reader.join().unwrap();
        if status.code().is_none() {
            kills_mid_run += 1;
        }

        let store = Store::open_with_identity(dir.path(), fixtures::crash_identity()).unwrap();
        let check: String = store.connection().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "kill {kill}: integrity_check");
        let report = store
            .verify_chain()
            .unwrap_or_else(|e| panic!("kill {kill} (seed {seed}): the chain must verify: {e}"));
        for line in &lines {
            let mut parts = line.split(' ');
            assert_eq!(parts.next(), Some("sealed"));
            let seq: u64 = parts.next().unwrap().parse().unwrap();
            let record_id = parts.next().unwrap();
            let stored: String = store
                .connection()
                .query_row("SELECT record_id FROM chain WHERE seq = ?1", [seq as i64], |r| r.get(0))
                .unwrap_or_else(|e| panic!("kill {kill}: seq {seq} was reported sealed but is gone: {e}"));
            assert_eq!(stored, record_id, "kill {kill}: seq {seq} holds another record");
            if let Some(blob) = parts.next().filter(|b| !b.is_empty()) {
                let sha: Digest = blob.parse().unwrap();
                assert!(
                    store.read_blob(&sha).unwrap().is_some(),
                    "kill {kill}: the photo of seq {seq} is gone"
                );
            }
        }
        let reported_max =
            lines.iter().filter_map(|l| l.split(' ').nth(1)?.parse::<u64>().ok()).max().unwrap_or(0);
        assert!(
            report.entries >= reported_max,
            "kill {kill}: the chain is at least as long as what was reported"
        );
        reported_total += lines.len();
    }
    assert!(kills_mid_run >= KILLS * 9 / 10, "the child was killed while running, not after it ended");
    assert!(reported_total > KILLS, "the child sealed records between kills ({reported_total} reported)");
    println!("{KILLS} kills, {reported_total} records reported sealed, all present");
}
