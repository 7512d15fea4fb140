//! The office API's harness in this process: the server on port 0 (SQLite
//! or PostgreSQL) with a clock the test moves, an operator token, and a
//! tablet that enrols and pushes sealed records over HTTP; shared by the
//! office, reports and list tests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use hearth_domain::{
    ArrivalEvidence, CompletedStep, ConcludedVisit, CustomerSignoff, NewReading, NewTemperatureTest,
    RoomKind, RuleSet, StepEvidence, TechnicianId, TemperatureReading, TemperatureReport, TemperatureTest,
    TestId, Thermometer, VisitOutcome, WorkOrderId,
};
use hearth_protocol::hash::genesis_prev;
use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    Attachment, AttachmentRole, ChainPosition, Content, Cosigning, Created, Digest, EncodedContent,
    RecordRef, Signer, SignerRole, SigningKey, Supersedes, b64, seal,
};
use hearth_server::auth;
use hearth_server::state::Limits;
use hearth_server::storage::postgres::PostgresStorage;
use hearth_server::storage::sqlite::SqliteStorage;
use hearth_server::storage::{CodePurpose, NewEnrolCode, Storage};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Backend, PgDatabase};

pub const OPERATOR_TOKEN: &str = "office-secret-token";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// The server in this process on port 0, on a fresh SQLite file or a fresh
/// PostgreSQL database, with a clock the test moves and an operator token.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub state: hearth_server::state::AppState,
    pub clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl Server {
    /// On SQLite.
    pub async fn start(now: DateTime<Utc>) -> Self {
        Self::start_on(Backend::Sqlite, now).await
    }

    pub async fn start_on(backend: Backend, now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (storage, pg): (Arc<dyn Storage>, _) = match backend {
            Backend::Sqlite => (
                Arc::new(
                    SqliteStorage::open(&dir.path().join("db.sqlite"))
                        .unwrap_or_else(|e| panic!("open: {e}")),
                ),
                None,
            ),
            Backend::Postgres => {
                let db = PgDatabase::create();
                let storage = PostgresStorage::connect(&db.url()).await.unwrap_or_else(|e| panic!("{e}"));
                (Arc::new(storage), Some(db))
            }
        };
        let clock = Arc::new(AtomicI64::new(now.timestamp_millis()));
        let reader = clock.clone();
        let state = hearth_server::app::state(
            storage,
            dir.path().join("blobs"),
            Arc::new(move || reader.load(Ordering::SeqCst)),
            Limits::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("state: {e:?}"));
        state
            .storage
            .add_operator_token(&auth::secret_hash(OPERATOR_TOKEN), now.timestamp_millis())
            .await
            .unwrap_or_else(|e| panic!("operator token: {e}"));
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        let router = hearth_server::app::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            clock,
            _dir: dir,
            _pg: pg,
        }
    }

    pub fn set_now(&self, t: DateTime<Utc>) {
        self.clock.store(t.timestamp_millis(), Ordering::SeqCst);
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.load(Ordering::SeqCst)).unwrap_or_default()
    }

    /// The answer as it came (headers, body not yet read).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let resp = self.raw(method, path, token, body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path} answered {status} with non-JSON: {text}"));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(OPERATOR_TOKEN), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(OPERATOR_TOKEN), Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(OPERATOR_TOKEN), Some(&body)).await
    }

    /// POSTs and insists on `expected`, showing the answer otherwise.
    pub async fn post_ok(&self, path: &str, body: Value, expected: StatusCode) -> Value {
        let (status, value) = self.post(path, body).await;
        assert_eq!(status, expected, "{path}: {value}");
        value
    }

    pub async fn technician(&self, tech_id: &str, name: &str) {
        let body = json!({"tech_id": tech_id, "name": name, "phone": "13800138000"});
        self.post_ok("/v1/office/technicians", body, StatusCode::CREATED).await;
    }

    pub async fn order(&self, body: Value) -> Value {
        self.post_ok("/v1/office/work-orders", body, StatusCode::CREATED).await
    }

    pub async fn rev_of(&self, id: &str) -> u64 {
        let (status, detail) = self.get(&format!("/v1/office/work-orders/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        detail["rev"].as_u64().unwrap_or(0)
    }

    pub async fn listed(&self, query: &str) -> Vec<Value> {
        let (status, list) = self.get(&format!("/v1/office/work-orders{query}")).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().cloned().unwrap_or_default()
    }
}

pub fn order_body(id: &str, category: &str, received_at: DateTime<Utc>, room: &str) -> Value {
    json!({
        "id": id,
        "category": category,
        "customer": {"name": "张三", "phone": "13800138000",
                     "address": {"community": "幸福小区", "building": "3号楼", "unit": "2单元", "room": room}},
        "fault_description": "暖气不热",
        "received_at": iso(received_at),
    })
}

/// The order assigned to `technicians`: records signed by anyone else are
/// flagged `not_assigned`.
pub fn for_team(mut body: Value, technicians: &[&str]) -> Value {
    body["technicians"] = json!(technicians);
    body
}

pub fn find<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter().find(|o| o["id"] == id).unwrap_or_else(|| panic!("{id} is not in the list"))
}

pub fn deadline_state(order: &Value, kind: &str) -> String {
    order["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["kind"] == kind))
        .and_then(|x| x["state"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

/// A tablet: its device key, its technicians' keys, and its chain.
pub struct Tablet {
    pub device_id: String,
    pub token: String,
    pub key: SigningKey,
    pub techs: HashMap<String, SigningKey>,
    pub seq: u64,
    pub prev: Digest,
    pub held_receipt: Option<u64>,
}

pub struct Pushed {
    pub record_id: String,
    pub content_hash: Digest,
    pub receipt: Value,
    pub flags: Vec<String>,
}

impl Pushed {
    pub fn reference(&self) -> RecordRef {
        RecordRef { record_id: self.record_id.clone(), content_hash: self.content_hash }
    }
}

impl Tablet {
    pub async fn enrol(server: &Server, seed: u8, techs: &[&str]) -> Self {
        let now = server.now().timestamp_millis();
        let key = SigningKey::from_bytes(&[seed; 32]);
        let code = format!("DEV-{seed}");
        let enrol_code = |purpose| NewEnrolCode {
            code_hash: auth::code_hash(&code),
            purpose,
            created_at_ms: now,
            expires_at_ms: now + 3_600_000,
        };
        server
            .state
            .storage
            .add_enrol_code(enrol_code(CodePurpose::Device))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (status, enrolled) = server
            .call(
                Method::POST,
                "/v1/enroll/device",
                None,
                Some(&json!({"code": code, "pubkey": b64::encode(key.verifying_key().as_bytes()), "name": "平板 1"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{enrolled}");
        let device_id = enrolled["device_id"].as_str().unwrap_or_default().to_owned();
        let token = enrolled["token"].as_str().unwrap_or_default().to_owned();
        let mut keys = HashMap::new();
        for (i, tech) in techs.iter().enumerate() {
            let tech_key = SigningKey::from_bytes(&[seed.wrapping_add(100).wrapping_add(i as u8); 32]);
            let tech_code = format!("TECH-{seed}-{tech}");
            server
                .state
                .storage
                .add_enrol_code(NewEnrolCode {
                    code_hash: auth::code_hash(&tech_code),
                    purpose: CodePurpose::Technician { tech_id: (*tech).to_owned() },
                    created_at_ms: now,
                    expires_at_ms: now + 3_600_000,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let body = json!({"code": tech_code, "tech_id": tech, "pubkey": b64::encode(tech_key.verifying_key().as_bytes())});
            let (status, answer) =
                server.call(Method::POST, "/v1/enroll/technician", Some(&token), Some(&body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            keys.insert((*tech).to_owned(), tech_key);
        }
        let prev = genesis_prev(&device_id);
        Self { device_id, token, key, techs: keys, seq: 0, prev, held_receipt: None }
    }

    pub fn signer(&self, role: SignerRole, tech_id: &str) -> Signer {
        let key = self.techs.get(tech_id).unwrap_or_else(|| panic!("{tech_id} is not on this tablet"));
        Signer { role, tech_id: tech_id.to_owned(), kid: kid_of(&key.verifying_key()) }
    }

    /// Seals and pushes one record claiming `device_time`; the server
    /// receives it at its current time.
    #[allow(clippy::too_many_arguments)]
    pub async fn push(
        &mut self,
        server: &Server,
        schema: &str,
        work_order_id: &str,
        device_time: DateTime<Utc>,
        signers: &[(SignerRole, &str)],
        refs: Vec<RecordRef>,
        attachments: Vec<Attachment>,
        supersedes: Option<Supersedes>,
        data: Value,
    ) -> Pushed {
        let Value::Object(data) = data else { panic!("record data must be an object") };
        let content = Content {
            schema: schema.to_owned(),
            record_id: uuid::Uuid::now_v7().to_string(),
            work_order_id: Some(work_order_id.to_owned()),
            created: Created {
                device_time_ms: device_time.timestamp_millis(),
                tz_offset_min: 480,
                boot_id: "boot-1".into(),
                monotonic_ms: i64::try_from(self.seq).unwrap_or(0) * 1000 + 1000,
                last_server_time_ms: None,
            },
            signers: signers.iter().map(|(role, tech)| self.signer(*role, tech)).collect(),
            supersedes,
            attachments,
            refs,
            data,
        };
        let record_id = content.record_id.clone();
        let encoded = EncodedContent::encode(content).unwrap_or_else(|e| panic!("encode: {e}"));
        let content_hash = encoded.hash();
        let mut cosigning = Cosigning::new(encoded);
        for (role, tech) in signers {
            let key = self.techs.get(*tech).unwrap_or_else(|| panic!("{tech}"));
            cosigning.sign(*role, tech, key).unwrap_or_else(|e| panic!("sign: {e}"));
        }
        let signed = cosigning.finish().unwrap_or_else(|e| panic!("finish: {e}"));
        self.seq += 1;
        let position = ChainPosition {
            device_id: self.device_id.clone(),
            seq: self.seq,
            prev: self.prev,
            sealed_at_ms: device_time.timestamp_millis(),
            last_receipt_seq: self.held_receipt,
        };
        let sealed = seal(&signed, position, &self.key).unwrap_or_else(|e| panic!("seal: {e}"));
        let path = format!("/v1/devices/{}/entries", self.device_id);
        let body = json!({"entries": [sealed.envelope]});
        let (status, answer) = server.call(Method::POST, &path, Some(&self.token), Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let result = &answer["results"][0];
        assert_eq!(result["status"], "accepted", "{answer}");
        self.prev = sealed.entry_hash;
        self.held_receipt = result["receipt"]["server_seq"].as_u64();
        let flags = result["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        Pushed { record_id, content_hash, receipt: result["receipt"].clone(), flags }
    }

    /// Forgets the receipts held, as a tablet restored without them would.
    pub fn forget_receipts(&mut self) {
        self.held_receipt = None;
    }

    pub async fn arrival(
        &mut self,
        server: &Server,
        wo: &str,
        at: DateTime<Utc>,
        device_time: DateTime<Utc>,
    ) -> Pushed {
        let step = CompletedStep {
            at,
            evidence: StepEvidence::Arrival(ArrivalEvidence {
                body_camera_on: true,
                knocked_gently: true,
                work_id_shown: true,
                note: None,
                photos: vec![],
            }),
        };
        let data = serde_json::to_value(step).unwrap_or_default();
        self.push(
            server,
            "hearth.visit_step/1",
            wo,
            device_time,
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            None,
            data,
        )
        .await
    }

    pub async fn resolved(&mut self, server: &Server, wo: &str, at: DateTime<Utc>) -> Pushed {
        let outcome = ConcludedVisit { at, outcome: VisitOutcome::Resolved };
        let data = serde_json::to_value(outcome).unwrap_or_default();
        self.push(
            server,
            "hearth.visit_outcome/1",
            wo,
            at,
            &[(SignerRole::Performer, "T1")],
            vec![],
            vec![],
            None,
            data,
        )
        .await
    }

    pub async fn feed(&self, server: &Server) -> Vec<Value> {
        let path = format!("/v1/devices/{}/feed", self.device_id);
        let (status, page) = server.call(Method::GET, &path, Some(&self.token), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

pub fn reading(test: &str, kind: RoomKind, label: &str, centi: i32, at: &str) -> TemperatureReading {
    let taken_at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{e}"));
    TemperatureReading::new(
        NewReading {
            test_id: TestId::parse(test).unwrap_or_else(|e| panic!("{e}")),
            room_kind: kind,
            label,
            centi_celsius: centi,
            taken_at,
            consent_to_enter: true,
            shown_to_customer: true,
            outlier_reason: None,
        },
        RuleSet::default().temperature(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Pushes the readings, the co-signed report binding them, and (if given)
/// the customer's sign-off binding the report. Returns the report record.
pub async fn temperature_test(
    server: &Server,
    tablet: &mut Tablet,
    wo: &str,
    readings: Vec<TemperatureReading>,
    customer: Option<CustomerSignoff>,
) -> (Pushed, TemperatureReport) {
    let thermometer = Thermometer::new(
        "TH-01",
        "检定-2024-001",
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let started_at = readings.iter().map(|r| r.taken_at).min().unwrap_or_else(|| panic!("no readings"));
    let mut test = TemperatureTest::start(NewTemperatureTest {
        test_id: readings[0].test_id.clone(),
        work_order_id: WorkOrderId::parse(wo).unwrap_or_else(|e| panic!("{e}")),
        performer: TechnicianId::parse("T1").unwrap_or_else(|e| panic!("{e}")),
        witness: TechnicianId::parse("T2").unwrap_or_else(|e| panic!("{e}")),
        thermometer,
        started_at,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let mut refs = Vec::new();
    for r in readings {
        let at = r.taken_at.with_timezone(&Utc);
        server.set_now(at + minutes(1));
        let mut data = serde_json::to_value(&r).unwrap_or_default();
        data["thermometer_serial"] = json!("TH-01");
        let pushed = tablet
            .push(
                server,
                "hearth.temperature_reading/1",
                wo,
                at,
                &[(SignerRole::Performer, "T1")],
                vec![],
                vec![],
                None,
                data,
            )
            .await;
        assert!(pushed.flags.is_empty(), "a sound reading is valid: {:?}", pushed.flags);
        refs.push(pushed.reference());
        test.add_reading(r).unwrap_or_else(|e| panic!("{e}"));
    }
    let report = test.report(RuleSet::default().temperature()).unwrap_or_else(|e| panic!("{e}"));
    let now = server.now() + minutes(5);
    server.set_now(now);
    let pushed = tablet
        .push(
            server,
            "hearth.temperature_test/1",
            wo,
            now,
            &[(SignerRole::Performer, "T1"), (SignerRole::Witness, "T2")],
            refs,
            vec![],
            None,
            serde_json::to_value(&report).unwrap_or_default(),
        )
        .await;
    if let Some(signoff) = customer {
        let attachments = match &signoff {
            CustomerSignoff::Signed { signature_png_sha256, strokes_sha256, .. } => vec![
                Attachment {
                    captured_at_ms: None,
                    sha256: signature_png_sha256.as_str().parse().unwrap_or_else(|_| panic!("digest")),
                    size: 100,
                    media_type: "image/png".into(),
                    role: AttachmentRole::CustomerSignaturePng,
                },
                Attachment {
                    captured_at_ms: None,
                    sha256: strokes_sha256.as_str().parse().unwrap_or_else(|_| panic!("digest")),
                    size: 100,
                    media_type: "application/json".into(),
                    role: AttachmentRole::CustomerSignatureStrokes,
                },
            ],
            CustomerSignoff::Refused { .. } => vec![],
        };
        let now = server.now() + minutes(2);
        server.set_now(now);
        tablet
            .push(
                server,
                "hearth.customer_signoff/1",
                wo,
                now,
                &[(SignerRole::Performer, "T1")],
                vec![pushed.reference()],
                attachments,
                None,
                serde_json::to_value(&signoff).unwrap_or_default(),
            )
            .await;
    }
    (pushed, report)
}
