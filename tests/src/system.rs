//! The system as it runs: the real `hearth-server` binary on a port with its
//! own SQLite file and blob directory, and tablets — real hearth-store
//! directories enrolled through hearth-sync over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    Attachment, AttachmentRole, Content, Cosigning, Created, EncodedContent, SealedRecord, Signer,
    SignerRole, SigningKey,
};
use hearth_store::{Pin, Store, StoredBlob};
use hearth_sync::SharedStore;
use serde_json::{Map, json};

/// `target/<profile>`, where cargo put this test's executable (under `deps/`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps").to_path_buf()
}

/// A workspace binary `cargo test --workspace` builds beside this test's
/// executable (`target/<profile>/<name>`); `package` says how to build it alone.
pub fn workspace_binary(name: &str, package: &str) -> PathBuf {
    let bin = profile_dir().join(name);
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (or `cargo build -p {package}` first)",
        bin.display()
    );
    bin
}

pub fn server_binary() -> PathBuf {
    workspace_binary("hearth-server", "hearth-server")
}

/// One server process over a database and blob directory that outlive it.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub database_path: PathBuf,
    /// Another database than the SQLite file (PostgreSQL, shared by several servers).
    database_url: Option<String>,
    pub blobs: PathBuf,
    serve_args: Vec<String>,
}

impl Server {
    /// A fresh SQLite database with the demo day, served on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As `start`, with extra `serve` flags (e.g. a higher rate limit for a benchmark).
    pub fn start_with(serve_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_path = dir.path().join("server.db");
        let blobs = dir.path().join("blobs");
        let mut server = Self {
            child: None,
            base: String::new(),
            dir,
            database_path,
            database_url: None,
            blobs,
            serve_args: serve_args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.run(&["demo"]);
        server.spawn();
        server
    }

    /// A server over a database and blob directory it shares with others
    /// (several servers behind one load balancer), served on a free port.
    /// Nothing is seeded: `run(&["demo"])` once, on any of them.
    pub fn over(database_url: &str, blobs: &Path, serve_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self {
            child: None,
            base: String::new(),
            database_path: dir.path().join("unused.db"),
            dir,
            database_url: Some(database_url.to_owned()),
            blobs: blobs.to_path_buf(),
            serve_args: serve_args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.spawn();
        server
    }

    pub fn database(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.database_path.display()))
    }

    /// Runs a command of the binary against this database; its last stdout line.
    pub fn run(&self, args: &[&str]) -> String {
        let (sub, rest) = args.split_first().expect("a command");
        let out = Command::new(server_binary())
            .arg(sub)
            .arg("--database")
            .arg(self.database())
            .args(rest)
            .output()
            .expect("hearth-server runs");
        assert!(
            out.status.success(),
            "hearth-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned()
    }

    pub fn admin(&self, args: &[&str]) -> String {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Starts serving on a free port. After a restart the port is new: a
    /// port freed by a kill may meanwhile belong to another test's server, so
    /// tablets that outlive a restart reach the server through a proxy.
    pub fn spawn(&mut self) {
        if let Err(e) = self.try_spawn() {
            panic!("the server did not start: {e}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(server_binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--database"])
            .arg(self.database())
            .arg("--blobs")
            .arg(&self.blobs)
            .args(&self.serve_args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = match lines.next() {
            Some(Ok(line)) => line,
            _ => {
                let _ = child.wait();
                return Err("exited before listening".into());
            }
        };
        let url =
            line.strip_prefix("hearth-server listening on ").ok_or(format!("unexpected line {line}"))?;
        self.base = url.trim().to_owned();
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL, as a power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.base.trim_start_matches("http://").parse().expect("the server listens on an address")
    }

    /// A read-only look at the server's database.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(&self.database_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the server database opens")
    }

    /// `(count, distinct seqs, min seq, max seq)` of one device's entries.
    pub fn entry_counts(&self, device_id: &str) -> (u64, u64, u64, u64) {
        self.db()
            .query_row(
                "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0)
                 FROM entry WHERE device_id = ?1",
                [device_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ))
                },
            )
            .expect("entries counted")
    }

    /// The bytes of a blob the server holds, if any.
    pub fn blob(&self, sha256_hex: &str) -> Option<Vec<u8>> {
        std::fs::read(self.blobs.join(sha256_hex)).ok()
    }

    /// Bytes the server's blob directory holds of its largest unfinished upload.
    pub fn partial_upload_bytes(&self) -> u64 {
        partial_upload_bytes(&self.blobs)
    }
}

/// Bytes a blob directory (one server's, or several servers' shared one)
/// holds of its largest unfinished upload: what a killed upload left.
pub fn partial_upload_bytes(blobs: &Path) -> u64 {
    std::fs::read_dir(blobs.join(".uploads"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A tablet: a real store directory, enrolled on the server, with one
/// technician whose key is unlocked for the test's whole run.
#[derive(Debug)]
pub struct Tablet {
    pub store: SharedStore,
    pub dir: PathBuf,
    pub device_id: String,
    pub tech_id: String,
    tech_key: SigningKey,
    n: u64,
}

pub const TEST_PIN: &str = "482913";

impl Tablet {
    /// Enrols a new tablet in `dir` with the server at `server_url`, and technician `tech_id`.
    pub async fn enrol(server: &Server, server_url: &str, dir: &Path, tech_id: &str) -> Self {
        let store: SharedStore = Arc::new(Mutex::new(Store::open(dir).expect("store opens")));
        let code = server.admin(&["device-code"]);
        let device_id = hearth_sync::enrol_device(&store, server_url, &code, "test tablet")
            .await
            .expect("the tablet enrols");
        let code = server.admin(&["technician-code", "--id", tech_id]);
        let pin = Pin::new(TEST_PIN).expect("a valid PIN");
        hearth_sync::enrol_technician(&store, tech_id, &code, &pin).await.expect("the technician enrols");
        let tech_key =
            hearth_sync_lock(&store).unlock(tech_id, &pin).expect("PIN unlocks").signing_key().clone();
        Self { store, dir: dir.to_path_buf(), device_id, tech_id: tech_id.to_owned(), tech_key, n: 0 }
    }

    /// Re-opens an enrolled tablet's store (after its process was killed).
    pub fn reopen(dir: &Path, tech_id: &str) -> Self {
        let store = Store::open(dir).expect("store reopens");
        let device_id = store.device_id().expect("readable").expect("enrolled");
        let pin = Pin::new(TEST_PIN).expect("a valid PIN");
        let tech_key = store.unlock(tech_id, &pin).expect("PIN unlocks").signing_key().clone();
        let n = store.head_seq().expect("readable");
        Self {
            store: Arc::new(Mutex::new(store)),
            dir: dir.to_path_buf(),
            device_id,
            tech_id: tech_id.to_owned(),
            tech_key,
            n,
        }
    }

    /// A second, empty store for the same device and technician — as after
    /// a tablet was restored from nothing and kept working: its entries fork.
    pub fn fork_into(&self, dir: &Path) -> Tablet {
        std::fs::create_dir_all(dir).expect("fork dir");
        std::fs::copy(self.dir.join(hearth_store::DEVICE_KEY_FILE), dir.join(hearth_store::DEVICE_KEY_FILE))
            .expect("device key copied");
        let mut store = Store::open(dir).expect("fork store opens");
        let link = hearth_sync_lock(&self.store).server_link().expect("readable").expect("linked");
        store.link_server(&self.device_id, &link, 1).expect("linked");
        Tablet {
            store: Arc::new(Mutex::new(store)),
            dir: dir.to_path_buf(),
            device_id: self.device_id.clone(),
            tech_id: self.tech_id.clone(),
            tech_key: self.tech_key.clone(),
            n: 0,
        }
    }

    /// Stores a photo-like file of `size` bytes (starting `FF D8 FF`, as a
    /// JPEG does), distinct per `salt`.
    pub fn put_photo(&self, salt: u64, size: usize) -> StoredBlob {
        let mut bytes = Vec::with_capacity(size);
        let mut x = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        while bytes.len() < size {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes.truncate(size);
        // The server takes a photo only when its bytes start as a JPEG does.
        for (b, magic) in bytes.iter_mut().zip([0xFF, 0xD8, 0xFF]) {
            *b = magic;
        }
        hearth_sync_lock(&self.store)
            .put_blob(&bytes, "image/jpeg", hearth_sync::now_ms())
            .expect("photo stored")
    }

    /// Seals one inspection step, with the device clock at `device_time_ms`.
    pub fn seal_step(&mut self, photos: &[StoredBlob], device_time_ms: i64) -> SealedRecord {
        self.seal_step_with(photos, device_time_ms, Map::new())
    }

    /// A new technician key made on this tablet only — never bound on the
    /// server, so records it signs are refused there.
    pub fn replace_key_locally(&mut self) {
        let pin = Pin::new(TEST_PIN).expect("a valid PIN");
        let store = hearth_sync_lock(&self.store);
        store.enrol_technician(&self.tech_id, &pin).expect("local enrolment");
        self.tech_key = store.unlock(&self.tech_id, &pin).expect("PIN unlocks").signing_key().clone();
    }

    /// As `seal_step`, with extra fields in the record's data.
    pub fn seal_step_with(
        &mut self,
        photos: &[StoredBlob],
        device_time_ms: i64,
        extra: Map<String, serde_json::Value>,
    ) -> SealedRecord {
        self.n += 1;
        let n = self.n;
        let mut data = extra;
        data.insert("step".into(), json!("inspect"));
        data.insert("n".into(), json!(n));
        let mut store = hearth_sync_lock(&self.store);
        let last_server_time_ms = store.last_server_time_ms(hearth_sync::now_ms()).expect("clock readable");
        let content = Content {
            schema: hearth_protocol::schema::VISIT_STEP.into(),
            record_id: uuid::Uuid::now_v7().to_string(),
            work_order_id: Some("WO-SYNC".into()),
            created: Created {
                device_time_ms,
                tz_offset_min: 480,
                boot_id: format!("boot-{}", self.device_id),
                monotonic_ms: n as i64,
                last_server_time_ms,
            },
            signers: vec![Signer {
                role: SignerRole::Performer,
                tech_id: self.tech_id.clone(),
                kid: kid_of(&self.tech_key.verifying_key()),
            }],
            supersedes: None,
            attachments: photos
                .iter()
                .map(|p| Attachment {
                    captured_at_ms: None,
                    sha256: p.sha256,
                    size: p.size,
                    media_type: p.media_type.clone(),
                    role: AttachmentRole::Photo,
                })
                .collect(),
            refs: vec![],
            data,
        };
        let mut co = Cosigning::new(EncodedContent::encode(content).expect("valid content"));
        co.sign(SignerRole::Performer, &self.tech_id, &self.tech_key).expect("listed signer");
        let signed = co.finish().expect("fully signed");
        store.seal(&signed, device_time_ms, None).expect("sealed")
    }
}

fn hearth_sync_lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many receipts a tablet holds.
pub fn receipt_count(store: &Store) -> u64 {
    store
        .connection()
        .query_row("SELECT count(*) FROM receipt", [], |r| r.get::<_, i64>(0))
        .expect("receipts counted") as u64
}
