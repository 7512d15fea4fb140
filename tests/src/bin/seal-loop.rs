//! Seals records into the store at `argv[1]` until killed, printing
//! `sealed <seq> <record_id> [<blob sha256>]` after each seal returns Ok.
//! The crash test SIGKILLs it at random moments.

use std::io::Write;
use std::path::PathBuf;

use hearth_protocol::{Attachment, AttachmentRole};
use hearth_store::Store;
use hearth_tests::fixtures;
use serde_json::{Map, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: seal-loop DIR")?);
    let mut store = Store::open_with_identity(&dir, fixtures::crash_identity())?;
    store.set_device_id("dev-crash", 1)?;
    let stdout = std::io::stdout();
    for _ in 0..1_000_000 {
        let n = store.head_seq()? + 1;
        let mut attachments = vec![];
        let mut blob = String::new();
        if n % 4 == 0 {
            // A photo-sized file every fourth record: its fsync must precede the record.
            let bytes: Vec<u8> = (0..64 * 1024).map(|i| ((i as u64 * 31 + n) % 251) as u8).collect();
            let stored = store.put_blob(&bytes, "image/jpeg", n as i64)?;
            blob = stored.sha256.to_hex();
            attachments.push(Attachment {
                captured_at_ms: None,
                sha256: stored.sha256,
                size: stored.size,
                media_type: stored.media_type,
                role: AttachmentRole::Photo,
            });
        }
        let mut data = Map::new();
        data.insert("step".into(), json!("inspect"));
        data.insert("n".into(), json!(n));
        let sealed =
            store.seal(&fixtures::visit_step(n, data, attachments), 1_763_000_000_000 + n as i64, None)?;
        let mut out = stdout.lock();
        writeln!(out, "sealed {} {} {}", sealed.entry.seq, fixtures::record_id(n), blob)?;
        out.flush()?;
    }
    Ok(())
}
