//! The manager's report (`GET /v1/office/reports`), driven over HTTP against
//! the server on port 0 on SQLite and PostgreSQL, with a clock the test
//! moves and a tablet that seals a non-compliant temperature test: the
//! on-time counts, the compliance, the follow-up outcomes, the CSV (BOM,
//! header, a formula-looking community neutralised) and bad parameters.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use common::{Backend, PgDatabase};
use hearth_domain::{
    CustomerSignoff, NewReading, NewTemperatureTest, RoomKind, RuleSet, TechnicianId, TemperatureReading,
    TemperatureTest, TestId, Thermometer, WorkOrderId,
};
use hearth_protocol::hash::genesis_prev;
use hearth_protocol::seal::kid_of;
use hearth_protocol::{
    ChainPosition, Content, Cosigning, Created, Digest, EncodedContent, RecordRef, Signer, SignerRole,
    SigningKey, b64, seal,
};
use hearth_server::auth;
use hearth_server::state::Limits;
use hearth_server::storage::postgres::PostgresStorage;
use hearth_server::storage::sqlite::SqliteStorage;
use hearth_server::storage::{CodePurpose, NewEnrolCode, Storage};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "reports-secret-token";

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

struct Server {
    base: String,
    client: reqwest::Client,
    state: hearth_server::state::AppState,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl Server {
    async fn start(backend: Backend, now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (storage, pg): (Arc<dyn Storage>, _) = match backend {
            Backend::Sqlite => (
                Arc::new(
                    SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap_or_else(|e| panic!("{e}")),
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
            .add_operator_token(&auth::secret_hash(TOKEN), now.timestamp_millis())
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

    fn set_now(&self, t: DateTime<Utc>) {
        self.clock.store(t.timestamp_millis(), Ordering::SeqCst);
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.load(Ordering::SeqCst)).unwrap_or_default()
    }

    async fn raw(
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

    async fn call(
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

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(TOKEN), None).await
    }

    async fn post_ok(&self, path: &str, body: Value, expected: StatusCode) -> Value {
        let (status, value) = self.call(Method::POST, path, Some(TOKEN), Some(&body)).await;
        assert_eq!(status, expected, "{path}: {value}");
        value
    }

    async fn rev_of(&self, id: &str) -> u64 {
        let (_, detail) = self.get(&format!("/v1/office/work-orders/{id}")).await;
        detail["rev"].as_u64().unwrap_or(0)
    }

    async fn order(
        &self,
        id: &str,
        category: &str,
        community: &str,
        techs: &[&str],
        received_at: DateTime<Utc>,
    ) {
        let body = json!({
            "id": id,
            "category": category,
            "customer": {"name": "张三", "phone": "13800138000",
                         "address": {"community": community, "building": "3号楼", "unit": "2单元", "room": id}},
            "fault_description": "暖气漏水",
            "received_at": iso(received_at),
            "technicians": techs,
        });
        self.post_ok("/v1/office/work-orders", body, StatusCode::CREATED).await;
    }

    /// Dispatch records a milestone at the server's now (what the phone said).
    async fn milestone(&self, id: &str, name: &str) {
        let rev = self.rev_of(id).await;
        let body = json!({name: iso(self.now()), "expected_rev": rev});
        self.post_ok(&format!("/v1/office/work-orders/{id}/milestones"), body, StatusCode::OK).await;
    }
}

/// A tablet: its device key, its technicians' keys, its chain.
struct Tablet {
    device_id: String,
    token: String,
    key: SigningKey,
    techs: HashMap<String, SigningKey>,
    seq: u64,
    prev: Digest,
    held_receipt: Option<u64>,
}

impl Tablet {
    async fn enrol(server: &Server, seed: u8, techs: &[&str]) -> Self {
        let now = server.now().timestamp_millis();
        let key = SigningKey::from_bytes(&[seed; 32]);
        let code = format!("DEV-{seed}");
        let code_for = |code: &str, purpose| NewEnrolCode {
            code_hash: auth::code_hash(code),
            purpose,
            created_at_ms: now,
            expires_at_ms: now + 3_600_000,
        };
        server
            .state
            .storage
            .add_enrol_code(code_for(&code, CodePurpose::Device))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let body =
            json!({"code": code, "pubkey": b64::encode(key.verifying_key().as_bytes()), "name": "平板 1"});
        let (status, enrolled) = server.call(Method::POST, "/v1/enroll/device", None, Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "{enrolled}");
        let device_id = enrolled["device_id"].as_str().unwrap_or_default().to_owned();
        let token = enrolled["token"].as_str().unwrap_or_default().to_owned();
        let mut keys = HashMap::new();
        for (i, tech) in techs.iter().enumerate() {
            let tech_key = SigningKey::from_bytes(&[seed.wrapping_add(100).wrapping_add(i as u8); 32]);
            let tech_code = format!("TECH-{seed}-{tech}");
            let purpose = CodePurpose::Technician { tech_id: (*tech).to_owned() };
            server
                .state
                .storage
                .add_enrol_code(code_for(&tech_code, purpose))
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

    /// Seals and pushes one record; the server receives it at its now.
    #[allow(clippy::too_many_arguments)]
    async fn push(
        &mut self,
        server: &Server,
        schema: &str,
        wo: &str,
        device_time: DateTime<Utc>,
        signers: &[(SignerRole, &str)],
        refs: Vec<RecordRef>,
        data: Value,
    ) -> RecordRef {
        let Value::Object(data) = data else { panic!("record data must be an object") };
        let signer = |role: SignerRole, tech: &str| {
            let key = self.techs.get(tech).unwrap_or_else(|| panic!("{tech}"));
            Signer { role, tech_id: tech.to_owned(), kid: kid_of(&key.verifying_key()) }
        };
        let content = Content {
            schema: schema.to_owned(),
            record_id: uuid::Uuid::now_v7().to_string(),
            work_order_id: Some(wo.to_owned()),
            created: Created {
                device_time_ms: device_time.timestamp_millis(),
                tz_offset_min: 480,
                boot_id: "boot-1".into(),
                monotonic_ms: i64::try_from(self.seq).unwrap_or(0) * 1000 + 1000,
                last_server_time_ms: None,
            },
            signers: signers.iter().map(|(role, tech)| signer(*role, tech)).collect(),
            supersedes: None,
            attachments: vec![],
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
        assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
        self.prev = sealed.entry_hash;
        self.held_receipt = answer["results"][0]["receipt"]["server_seq"].as_u64();
        RecordRef { record_id, content_hash }
    }
}

fn reading(kind: RoomKind, label: &str, centi: i32, at: &str) -> TemperatureReading {
    let taken_at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{e}"));
    TemperatureReading::new(
        NewReading {
            test_id: TestId::parse("TEST-1").unwrap_or_else(|e| panic!("{e}")),
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

/// Readings, the co-signed report binding them, the customer's refusal binding the report.
async fn cold_test(server: &Server, tablet: &mut Tablet, wo: &str, readings: Vec<TemperatureReading>) {
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
        refs.push(
            tablet
                .push(
                    server,
                    "hearth.temperature_reading/1",
                    wo,
                    at,
                    &[(SignerRole::Performer, "T1")],
                    vec![],
                    data,
                )
                .await,
        );
        test.add_reading(r).unwrap_or_else(|e| panic!("{e}"));
    }
    let report = test.report(RuleSet::default().temperature()).unwrap_or_else(|e| panic!("{e}"));
    let now = server.now() + minutes(5);
    server.set_now(now);
    let signers = [(SignerRole::Performer, "T1"), (SignerRole::Witness, "T2")];
    let data = serde_json::to_value(&report).unwrap_or_default();
    let report_ref = tablet.push(server, "hearth.temperature_test/1", wo, now, &signers, refs, data).await;
    let refused =
        CustomerSignoff::refused("认为温度计不准", "客厅 16.00 °C").unwrap_or_else(|e| panic!("{e}"));
    let now = server.now() + minutes(2);
    server.set_now(now);
    let data = serde_json::to_value(&refused).unwrap_or_default();
    tablet
        .push(
            server,
            "hearth.customer_signoff/1",
            wo,
            now,
            &[(SignerRole::Performer, "T1")],
            vec![report_ref],
            data,
        )
        .await;
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["key"] == key))
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

/// `(met, missed, pending)` of one deadline kind in a row.
fn tally(row: &Value, kind: &str) -> (u64, u64, u64) {
    let k = row["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|k| k["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} in {row}"));
    (k["met"].as_u64().unwrap_or(99), k["missed"].as_u64().unwrap_or(99), k["pending"].as_u64().unwrap_or(99))
}

const JANUARY: &str = "from=2025-01-01&to=2025-01-31";

async fn the_report_counts_deadlines_compliance_and_follow_ups_and_exports_csv(backend: Backend) {
    // 2025-01-10 09:00 company time.
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start(backend, t0).await;
    for (id, name) in [("T1", "王师傅"), ("T2", "李师傅")] {
        let body = json!({"tech_id": id, "name": name, "phone": "13800138000"});
        server.post_ok("/v1/office/technicians", body, StatusCode::CREATED).await;
    }
    server
        .post_ok(
            "/v1/office/thermometers",
            json!({"serial": "TH-01", "certificate": "检定-2024-001", "valid_until": "2026-01-01"}),
            StatusCode::CREATED,
        )
        .await;
    // Two leaks (on site within 30 minutes): one met at +20, one missed at +50.
    server.order("WO-MET", "leak", "幸福小区", &["T1"], t0).await;
    server.order("WO-MISS", "leak", "幸福小区", &["T1"], t0).await;
    server.set_now(t0 + minutes(20));
    server.milestone("WO-MET", "on_site_at").await;
    server.milestone("WO-MET", "completed_at").await;
    server.set_now(t0 + minutes(50));
    server.milestone("WO-MISS", "on_site_at").await;
    // The customer of the met one is called and satisfied.
    let rev = server.rev_of("WO-MET").await;
    server
        .post_ok(
            "/v1/office/work-orders/WO-MET/follow-up",
            json!({"outcome": "satisfied", "expected_rev": rev}),
            StatusCode::OK,
        )
        .await;
    // An order of December (company time: 2024-12-31 23:59:59) is not in January.
    server.order("WO-DEC", "leak", "幸福小区", &["T1"], utc("2024-12-31T15:59:59Z")).await;
    // A cold home, measured by T1 and T2.
    server.order("WO-TT", "temperature_test", "幸福小区", &["T1", "T2"], t0 + minutes(50)).await;
    let mut tablet = Tablet::enrol(&server, 7, &["T1", "T2"]).await;
    let cold = vec![
        reading(RoomKind::LivingRoom, "客厅", 1600, "2025-01-10T10:00:00+08:00"),
        reading(RoomKind::Bedroom, "主卧", 1900, "2025-01-10T10:10:00+08:00"),
    ];
    cold_test(&server, &mut tablet, "WO-TT", cold).await;
    // A community whose name a spreadsheet would take for a formula, its leak just in.
    server.order("WO-OPEN", "leak", "=1+2", &[], server.now()).await;

    let (status, report) = server.get(&format!("/v1/office/reports?{JANUARY}&group=community")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["period"], json!({"from": "2025-01-01", "to": "2025-01-31"}));
    let happy = row(&report, "幸福小区");
    assert_eq!(happy["orders"], 3, "MET, MISS and TT; DEC is December: {happy}");
    assert_eq!(tally(happy, "on_site"), (1, 1, 0), "{happy}");
    assert_eq!(tally(happy, "on_site"), (1, 1, 0));
    let on_site =
        happy["deadlines"].as_array().and_then(|d| d.iter().find(|k| k["kind"] == "on_site")).cloned();
    assert_eq!(on_site.map(|k| k["rate_permille"].clone()), Some(json!(500)));
    assert_eq!(
        (happy["tests_compliant"].as_u64(), happy["tests_non_compliant"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(happy["compliance_rate_permille"], 0);
    assert_eq!(
        happy["follow_up"],
        json!({"satisfied": 1, "unsatisfied": 0, "unreachable": 0, "not_called": 0})
    );
    let formula = row(&report, "=1+2");
    assert_eq!(tally(formula, "on_site"), (0, 0, 1), "still open: pending, {formula}");
    assert!(formula["deadlines"].as_array().into_iter().flatten().all(|k| k.get("rate_permille").is_none()));
    assert_eq!(report["total"]["orders"], 4);

    // By technician: the team's test counts for both, named.
    let (_, by_tech) = server.get(&format!("/v1/office/reports?{JANUARY}&group=technician")).await;
    let t1 = row(&by_tech, "T1");
    assert_eq!((t1["label"].as_str(), t1["orders"].as_u64()), (Some("王师傅"), Some(3)), "{by_tech}");
    assert_eq!(row(&by_tech, "T2")["tests_non_compliant"], 1);
    assert_eq!(row(&by_tech, "")["orders"], 1, "the unassigned order");
    // By station: no mapping, each community is its own station.
    let (_, by_station) = server.get(&format!("/v1/office/reports?{JANUARY}")).await;
    assert_eq!(by_station["group"], "station");
    assert_eq!(row(&by_station, "幸福小区")["orders"], 3);

    // CSV: BOM, Chinese header, the formula neutralised.
    let resp = server
        .raw(
            Method::GET,
            &format!("/v1/office/reports?{JANUARY}&group=community&format=csv"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let bytes = resp.bytes().await.unwrap_or_default();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "a UTF-8 byte-order mark first");
    let text = String::from_utf8_lossy(&bytes[3..]).into_owned();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("统计期间,小区,工单数,已取消,维修,跑冒滴漏"), "{}", lines[0]);
    assert!(lines[0].contains("到场按时,到场超时,到场未到期,到场按时率%"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.starts_with("2025-01-01~2025-01-31,'=1+2,1,")), "{text}");
    assert!(!lines.iter().any(|l| l.contains(",=1+2")), "never a bare formula: {text}");
    let happy_line = lines.iter().find(|l| l.contains(",幸福小区,")).unwrap_or_else(|| panic!("{text}"));
    assert!(
        happy_line.contains(",1,1,0,50.0,"),
        "on site met 1, missed 1, none pending, 50.0 %: {happy_line}"
    );
    assert!(lines.last().is_some_and(|l| l.starts_with("2025-01-01~2025-01-31,合计,4,")), "{text}");
    let resp = server
        .raw(Method::GET, &format!("/v1/office/reports?{JANUARY}&format=csv&lang=en"), Some(TOKEN), None)
        .await;
    let text = String::from_utf8_lossy(&resp.bytes().await.unwrap_or_default()).into_owned();
    assert!(text.starts_with("\u{feff}Period,Station,Orders,Cancelled,Repair,Leak"), "{text}");
    assert!(text.contains("\r\n2025-01-01~2025-01-31,Total,4,"), "{text}");
}

async fn bad_report_parameters_answer_400_naming_the_field(backend: Backend) {
    let server = Server::start(backend, utc("2025-01-10T01:00:00Z")).await;
    for (query, field) in [
        ("from=2025-02-30", "from"),
        ("from=yesterday", "from"),
        ("to=2025-1-5x", "to"),
        ("from=2025-02-01&to=2025-01-01", "to"),
        ("from=2024-01-01&to=2025-12-31", "to"),
        ("group=city", "group"),
        ("format=xlsx", "format"),
        ("lang=fr&format=csv", "lang"),
        ("page=2", "page"),
    ] {
        let (status, body) = server.get(&format!("/v1/office/reports?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "bad_field", "{query}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}:")), "{query}: {message}");
    }
    // Without a period: this month (company time), empty.
    let (status, body) = server.get("/v1/office/reports").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["period"], json!({"from": "2025-01-01", "to": "2025-01-31"}));
    assert_eq!(body["rows"], json!([]));
    assert_eq!(body["total"]["orders"], 0);
    // Without a token: 401.
    let (status, _) = server.call(Method::GET, "/v1/office/reports", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    the_report_counts_deadlines_compliance_and_follow_ups_and_exports_csv,
    bad_report_parameters_answer_400_naming_the_field,
);
