//! The real `hearth-server` binary on a random port, on a fresh SQLite file
//! or a fresh PostgreSQL database, and simulated tablets that enrol and push
//! signed entries over real HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_protocol::api::{EnrollDeviceResponse, EnrollTechnicianResponse, EntriesResponse};
use hearth_protocol::hash::{Digest, genesis_prev};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    ChainPosition, Content, Cosigning, Created, EncodedContent, Envelope, SealedRecord, Signer, SignerRole,
    SigningKey, b64,
};
use serde_json::{Map, Value, json};

/// Runs each named `async fn(Backend)` as two tests: on SQLite and on PostgreSQL.
#[allow(unused_macros)] // not every test file runs on both backends
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

pub const BIN: &str = env!("CARGO_BIN_EXE_hearth-server");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    admin_url: String,
}

pub fn postgres_admin_url() -> String {
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
                        "PostgreSQL at {admin_url} is required for these tests and could not be reached: {e}"
                    )
                })?;
            tokio::spawn(conn);
            client.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "PostgreSQL helper thread panicked".to_string())?
}

impl PgDatabase {
    pub fn create() -> Self {
        let name = format!("hearth_t_{}", uuid::Uuid::now_v7().simple());
        let admin_url = postgres_admin_url();
        pg_exec(&admin_url, &format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e}"));
        Self { name, admin_url }
    }

    pub fn url(&self) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{}", self.name),
            None => format!("{}/{}", self.admin_url, self.name),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = pg_exec(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Sends `req`; it must succeed, and its JSON body is decoded.
pub async fn ok_json<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    req.send().await.unwrap().error_for_status().unwrap().json().await.unwrap()
}

pub struct TestServer {
    child: Option<Child>,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub database: String,
    pg: Option<PgDatabase>,
    pub operator: String,
    pub http: reqwest::Client,
}

impl TestServer {
    /// A fresh database with the demo day in it, and the server serving it.
    pub fn start(backend: Backend) -> Self {
        let mut server = Self::prepared(backend);
        server.spawn();
        server
    }

    /// A fresh database with the demo day in it and an operator token; not served yet.
    pub fn prepared(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (database, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("server.db").display()), None),
            Backend::Postgres => {
                let db = PgDatabase::create();
                (db.url(), Some(db))
            }
        };
        let mut server = Self {
            child: None,
            base: String::new(),
            dir,
            database,
            pg,
            operator: String::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        };
        server.run(&["demo"]);
        server.operator = server.admin(&["operator-token"]);
        server
    }

    /// Runs a command of the binary against this database; its last stdout line.
    pub fn run(&self, args: &[&str]) -> String {
        let (sub, rest) = args.split_first().unwrap();
        let out =
            Command::new(BIN).arg(sub).arg("--database").arg(&self.database).args(rest).output().unwrap();
        assert!(
            out.status.success(),
            "hearth-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().lines().last().unwrap_or_default().to_owned()
    }

    /// `hearth-server admin --database … <args>`.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn spawn(&mut self) {
        self.spawn_with_args(&[]);
    }

    /// SIGKILL, as a power cut or the OOM killer would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A device-authenticated GET that must succeed, its JSON body decoded.
    pub async fn device_get<T: serde::de::DeserializeOwned>(&self, device: &TestDevice, path: &str) -> T {
        ok_json(self.http.get(self.url(path)).bearer_auth(&device.token)).await
    }

    /// A device-authenticated JSON POST that must succeed, its JSON answer decoded.
    pub async fn device_post<T: serde::de::DeserializeOwned>(
        &self,
        device: &TestDevice,
        path: &str,
        body: &Value,
    ) -> T {
        ok_json(self.http.post(self.url(path)).bearer_auth(&device.token).json(body)).await
    }

    pub async fn enrol_device(&self, name: &str, seed: u8) -> TestDevice {
        let code = self.admin(&["device-code"]);
        let key = SigningKey::from_bytes(&[seed; 32]);
        let resp: EnrollDeviceResponse = ok_json(self.http.post(self.url("/v1/enroll/device")).json(
            &json!({"code": code, "pubkey": b64::encode(key.verifying_key().as_bytes()), "name": name}),
        ))
        .await;
        let prev = genesis_prev(&resp.device_id);
        TestDevice { device_id: resp.device_id, token: resp.token, key, techs: vec![], seq: 0, prev, n: 0 }
    }

    pub async fn enrol_technician(&self, device: &mut TestDevice, tech_id: &str, seed: u8) -> String {
        let code = self.admin(&["technician-code", "--id", tech_id]);
        let key = SigningKey::from_bytes(&[seed; 32]);
        let pubkey = b64::encode(key.verifying_key().as_bytes());
        let body = json!({"code": code, "tech_id": tech_id, "pubkey": pubkey});
        let resp: EnrollTechnicianResponse = self.device_post(device, "/v1/enroll/technician", &body).await;
        device.techs.push((tech_id.to_owned(), key));
        resp.kid
    }

    pub async fn push(&self, device: &TestDevice, entries: &[Envelope]) -> EntriesResponse {
        let resp = self
            .http
            .post(self.url(&format!("/v1/devices/{}/entries", device.device_id)))
            .bearer_auth(&device.token)
            .json(&json!({"entries": entries}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "push answered {}", resp.status());
        resp.json().await.unwrap()
    }

    pub async fn server_key(&self) -> hearth_protocol::VerifyingKey {
        let v: Value = self.http.get(self.url("/v1/server-key")).send().await.unwrap().json().await.unwrap();
        let raw = b64::decode_array::<32>(v["public_key"].as_str().unwrap()).unwrap();
        hearth_protocol::VerifyingKey::from_bytes(&raw).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A simulated tablet: its keys and the head of its chain.
pub struct TestDevice {
    pub device_id: String,
    pub token: String,
    pub key: SigningKey,
    pub techs: Vec<(String, SigningKey)>,
    pub seq: u64,
    pub prev: Digest,
    n: u64,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl TestDevice {
    fn signer(&self, role: SignerRole, i: usize) -> Signer {
        let (tech_id, key) = &self.techs[i];
        Signer { role, tech_id: tech_id.clone(), kid: kid_of(&key.verifying_key()) }
    }

    /// A valid arrival step for a demo work order, signed by technician 0.
    pub fn arrival(&mut self, work_order: &str) -> Content {
        self.n += 1;
        let mut data = Map::new();
        data.insert(
            "at".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
        data.insert(
            "evidence".into(),
            json!({"step": "arrival", "body_camera_on": true, "knocked_gently": true, "work_id_shown": true}),
        );
        Content {
            schema: "hearth.visit_step/1".into(),
            record_id: uuid::Uuid::now_v7().to_string(),
            work_order_id: Some(work_order.into()),
            created: Created {
                device_time_ms: now_ms(),
                tz_offset_min: 480,
                boot_id: format!("boot-{}", self.device_id),
                monotonic_ms: self.n as i64 * 1000,
                last_server_time_ms: None,
            },
            signers: vec![self.signer(SignerRole::Performer, 0)],
            supersedes: None,
            attachments: vec![],
            refs: vec![],
            data,
        }
    }

    /// Signs with every listed technician this device holds and seals at the next seq.
    pub fn seal(&mut self, content: Content) -> SealedRecord {
        let mut co = Cosigning::new(EncodedContent::encode(content).unwrap());
        let signers = co.content().content().signers.clone();
        for s in signers {
            let key = &self.techs.iter().find(|(id, _)| *id == s.tech_id).unwrap().1;
            co.sign(s.role, &s.tech_id, key).unwrap();
        }
        let signed = co.finish().unwrap();
        self.seal_signed(&signed)
    }

    pub fn seal_signed(&mut self, signed: &hearth_protocol::SignedContent) -> SealedRecord {
        let sealed = hearth_protocol::seal(
            signed,
            ChainPosition {
                device_id: self.device_id.clone(),
                seq: self.seq + 1,
                prev: self.prev,
                sealed_at_ms: now_ms(),
                last_receipt_seq: None,
            },
            &self.key,
        )
        .unwrap();
        self.seq += 1;
        self.prev = sealed.entry_hash;
        sealed
    }
}

/// Seals an entry by hand around any content bytes and signatures, as a
/// faulty or hostile tablet could (the device key is genuine).
pub fn seal_raw(
    device: &mut TestDevice,
    content: &[u8],
    tech_sigs: Vec<hearth_protocol::TechSignature>,
) -> Envelope {
    use ed25519_dalek::Signer as _;
    use hearth_protocol::{Entry, hash, seal};
    let entry = Entry {
        v: 1,
        device_id: device.device_id.clone(),
        seq: device.seq + 1,
        prev: device.prev,
        content_hash: hash::content_hash(content),
        sigs_hash: seal::sigs_hash(&tech_sigs).unwrap(),
        sealed_at_ms: now_ms(),
        last_receipt_seq: None,
    };
    let bytes = hearth_protocol::canonical::to_canonical(&entry).unwrap();
    let entry_hash = hash::entry_hash(&bytes);
    let sig = device.key.sign(&seal::devsig_message(&entry_hash));
    Envelope {
        entry: b64::encode(&bytes),
        content: b64::encode(content),
        tech_sigs,
        device_sig: hearth_protocol::DeviceSignature {
            kid: kid_of(&device.key.verifying_key()),
            sig: b64::encode(&sig.to_bytes()),
        },
    }
}

/// A technician signature over `content` bytes.
pub fn tech_sig(
    key: &SigningKey,
    role: SignerRole,
    tech_id: &str,
    content: &[u8],
) -> hearth_protocol::TechSignature {
    use ed25519_dalek::Signer as _;
    use hearth_protocol::{hash, seal};
    hearth_protocol::TechSignature {
        role,
        tech_id: tech_id.into(),
        kid: kid_of(&key.verifying_key()),
        sig: b64::encode(&key.sign(&seal::techsig_message(role, &hash::content_hash(content))).to_bytes()),
    }
}

// ---- Added for the concurrency, crash, bad-input and TLS suites. ----

impl TestServer {
    /// Starts `serve` on a random port with extra arguments (e.g. `--tls-cert`).
    pub fn spawn_with_args(&mut self, extra: &[&str]) {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &self.database, "--blobs"])
            .arg(self.dir.path().join("blobs"))
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "the server did not start");
            let line = lines.next().expect("server exited before listening").unwrap();
            if let Some(url) = line.strip_prefix("hearth-server listening on ") {
                self.base = url.trim().to_owned();
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    /// The server's storage, opened through the library on the same database
    /// (to look at what was stored, or to set up what no route can).
    pub async fn storage(&self) -> std::sync::Arc<dyn hearth_server::storage::Storage> {
        hearth_server::cli::open_storage(&self.database)
            .await
            .unwrap_or_else(|e| panic!("opening {} through the library: {e}", self.database))
    }

    /// The id of the server process while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// Checks an error response: its status, a JSON Content-Type, and a body
/// `{"error": <string>, "message": <string>}`; returns the body.
pub async fn expect_json_error(resp: reqwest::Response, status: u16, code: Option<&str>) -> Value {
    let got = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "status; body was {text}");
    assert!(
        content_type.starts_with("application/json"),
        "an error is JSON, got Content-Type {content_type:?}: {text}"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    assert!(body["error"].is_string(), "\"error\" is a string: {body}");
    assert!(body["message"].is_string(), "\"message\" is a string: {body}");
    if let Some(code) = code {
        assert_eq!(body["error"], code, "error code: {body}");
    }
    body
}

/// A second `hearth-server serve` process on the same database (as a second
/// node behind a load balancer would be); killed when dropped.
pub struct ExtraServer {
    child: Child,
    pub base: String,
}

impl ExtraServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for ExtraServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestServer {
    /// Starts another server process on this server's database and blob directory.
    pub fn spawn_another(&self) -> ExtraServer {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &self.database, "--blobs"])
            .arg(self.dir.path().join("blobs"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("the second server exited before listening").unwrap();
            if let Some(url) = line.strip_prefix("hearth-server listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        ExtraServer { child, base }
    }
}

// ---- Added for the rescue-file import suite. ----

impl TestServer {
    /// The blob directory `serve` runs with.
    pub fn blob_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("blobs")
    }

    /// `hearth-server import FILE --database … --blobs …` on this server's
    /// database and blob directory, whatever its outcome.
    pub fn import(&self, file: &std::path::Path) -> std::process::Output {
        Command::new(BIN)
            .arg("import")
            .arg(file)
            .arg("--database")
            .arg(&self.database)
            .arg("--blobs")
            .arg(self.blob_dir())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }
}

impl TestDevice {
    /// A tablet this server never enrolled: its own keys and one technician
    /// (`tech_id`), able to seal a chain but holding no token.
    pub fn unenrolled(device_id: &str, seed: u8, tech_id: &str, tech_seed: u8) -> Self {
        TestDevice {
            device_id: device_id.to_owned(),
            token: String::new(),
            key: SigningKey::from_bytes(&[seed; 32]),
            techs: vec![(tech_id.to_owned(), SigningKey::from_bytes(&[tech_seed; 32]))],
            seq: 0,
            prev: genesis_prev(device_id),
            n: 0,
        }
    }
}

/// A record's content as `device` would seal it now, for `wo`, naming
/// `signers` and referring to `refs`; `data` must be a JSON object.
#[allow(dead_code)] // not every test binary builds records by hand
pub fn record_content(
    device: &TestDevice,
    schema: &str,
    wo: &str,
    signers: Vec<hearth_protocol::Signer>,
    refs: Vec<hearth_protocol::RecordRef>,
    data: Value,
) -> hearth_protocol::Content {
    let data: Map<String, Value> = match data {
        Value::Object(m) => m,
        other => panic!("record data must be an object, got {other}"),
    };
    hearth_protocol::Content {
        schema: schema.into(),
        record_id: uuid::Uuid::now_v7().to_string(),
        work_order_id: Some(wo.into()),
        created: hearth_protocol::Created {
            device_time_ms: now_ms(),
            tz_offset_min: 480,
            boot_id: format!("boot-{}", device.device_id),
            monotonic_ms: (device.seq as i64 + 1) * 1000,
            last_server_time_ms: None,
        },
        signers,
        supersedes: None,
        attachments: vec![],
        refs,
        data,
    }
}
pub mod office;
