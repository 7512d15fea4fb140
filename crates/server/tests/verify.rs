//! The public verification page (`/verify`, `/v1/verify`, issue 15): a
//! customer checks the paper copy of a sign-off against the record on file.
//! The real server on a port, on SQLite and on PostgreSQL, with a tablet
//! that pushes signed records through ingest.

#[macro_use]
mod common;

use chrono::{FixedOffset, Utc};
use common::{Backend, TestDevice, TestServer, expect_json_error};
use ed25519_dalek::Signer as _;
use hearth_domain::CustomerSignoff;
use hearth_protocol::api::{EntriesResponse, EntryStatus};
use hearth_protocol::seal::kid_of;
use hearth_protocol::{Content, Envelope, SignerRole, Supersedes, b64};
use serde_json::{Value, json};

const WORK_ORDER: &str = "WO-VERIFY-1";
const NAME: &str = "张伟明";
const PHONE: &str = "13812345678";
const UNIT: &str = "2单元";
const ROOM: &str = "东户302";
const CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A sealed record on file: its id and content hash (what the QR carries).
#[derive(Debug, Clone)]
struct OnFile {
    record_id: String,
    hash: String,
}

impl OnFile {
    fn code(&self) -> String {
        format!("hearth:copy:v1:{}:{}", self.record_id, self.hash)
    }
}

/// The server, an order for 张伟明 assigned to T0017, and T0017's tablet.
async fn setup(backend: Backend) -> (TestServer, TestDevice) {
    let server = TestServer::start(backend);
    let order = json!({
        "id": WORK_ORDER,
        "category": "repair",
        "customer": {"name": NAME, "phone": PHONE,
                     "address": {"community": "阳光花园", "building": "9号楼", "unit": UNIT, "room": ROOM}},
        "fault_description": "暖气片不热",
        "technicians": ["T0017"],
    });
    let resp = server
        .http
        .post(server.url("/v1/office/work-orders"))
        .bearer_auth(&server.operator)
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    let mut device = server.enrol_device("verify tablet", 61).await;
    server.enrol_technician(&mut device, "T0017", 62).await;
    (server, device)
}

fn content(device: &TestDevice, schema: &str, data: Value, supersedes: Option<Supersedes>) -> Content {
    let (tech_id, key) = &device.techs[0];
    let performer = hearth_protocol::Signer {
        role: SignerRole::Performer,
        tech_id: tech_id.clone(),
        kid: kid_of(&key.verifying_key()),
    };
    Content {
        supersedes,
        ..common::record_content(device, schema, WORK_ORDER, vec![performer], vec![], data)
    }
}

/// Seals `c` on the tablet and pushes it through ingest; it must be stored.
async fn push(server: &TestServer, device: &mut TestDevice, c: Content) -> OnFile {
    let record_id = c.record_id.clone();
    let sealed = device.seal(c);
    let answer: EntriesResponse = server.push(device, std::slice::from_ref(&sealed.envelope)).await;
    assert_eq!(answer.results[0].status, EntryStatus::Accepted, "{:?}", answer.results[0]);
    OnFile { record_id, hash: sealed.content_hash.to_hex() }
}

async fn push_signoff(server: &TestServer, device: &mut TestDevice) -> OnFile {
    let refused = CustomerSignoff::refused("维修后仍不热", "更换阀门一个").unwrap_or_else(|e| panic!("{e}"));
    let c = content(device, "hearth.customer_signoff/1", serde_json::to_value(&refused).unwrap(), None);
    push(server, device, c).await
}

/// `GET path`: status, headers and body text.
async fn get(server: &TestServer, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = server.http.get(server.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

async fn page(server: &TestServer, query: &str) -> (u16, String) {
    let (status, headers, body) = get(server, &format!("/verify?{query}")).await;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(
        content_type.starts_with("text/html"),
        "the page is HTML, got {content_type:?} for {query}: {body}"
    );
    assert_eq!(headers.get("content-security-policy").and_then(|v| v.to_str().ok()), Some(CSP));
    assert!(!body.to_ascii_lowercase().contains("<script"), "no script on the page: {body}");
    (status, body)
}

async fn answer(server: &TestServer, query: &str) -> Value {
    let (status, _, body) = get(server, &format!("/v1/verify?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn parts(on_file: &OnFile) -> String {
    format!("record={}&hash={}", on_file.record_id, on_file.hash)
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Today's date at UTC+8.
fn local_today() -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    Utc::now().with_timezone(&beijing).format("%Y-%m-%d").to_string()
}

fn assert_no_private_data(body: &str) {
    for private in [NAME, PHONE, UNIT, ROOM, "维修后仍不热"] {
        assert!(!body.contains(private), "{private} must never be shown: {body}");
    }
}

async fn a_matching_copy_is_on_file_unaltered_signed_and_shows_only_masked_data(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let before = local_today();
    let signoff = push_signoff(&server, &mut device).await;
    let after = local_today();

    let (status, zh) = page(&server, &parts(&signoff)).await;
    assert_eq!(status, 200, "{zh}");
    assert!(zh.contains("<html lang=\"zh-CN\">"), "zh-CN first");
    for expected in [
        "这份纸质副本与存档记录一致。",
        "已存档",
        "未被改动",
        "签名有效",
        "未被更正",
        "客户签收",
        WORK_ORDER,
        "张**",
        "138****5678",
        "阳光花园 9号楼",
        "（北京时间）",
        &signoff.record_id,
    ] {
        assert!(zh.contains(expected), "{expected:?} missing: {zh}");
    }
    assert!(zh.contains(&before) || zh.contains(&after), "the date at UTC+8: {zh}");
    assert_no_private_data(&zh);
    assert!(!zh.contains("不一致"), "{zh}");

    let (status, en) = page(&server, &format!("{}&lang=en", parts(&signoff))).await;
    assert_eq!(status, 200);
    assert!(en.contains("<html lang=\"en\">"));
    for expected in [
        "On file:",
        "Unaltered:",
        "Signatures valid:",
        "Not corrected:",
        "Customer sign-off",
        "张**",
        "138****5678",
        "(UTC+8)",
    ] {
        assert!(en.contains(expected), "{expected:?} missing: {en}");
    }
    assert_no_private_data(&en);

    // The whole QR text in one field gives the same verdict.
    let (status, by_code) = page(&server, &format!("code={}", enc(&signoff.code()))).await;
    assert_eq!(status, 200);
    assert!(
        by_code.contains("未被改动") && by_code.contains("签名有效") && by_code.contains("张**"),
        "{by_code}"
    );

    let json = answer(&server, &parts(&signoff)).await;
    assert_eq!(json["on_file"], true, "{json}");
    assert_eq!(json["unaltered"], true, "{json}");
    assert_eq!(json["signatures_valid"], true, "{json}");
    assert_eq!(json["corrected"], false, "{json}");
    assert_eq!(json["voided"], false, "{json}");
    assert!(json.get("superseded_by").is_none(), "{json}");
    assert_eq!(json["kind"], "customer_signoff");
    assert_eq!(json["schema"], "hearth.customer_signoff/1");
    assert_eq!(json["work_order_id"], WORK_ORDER);
    let date = json["date"].as_str().unwrap_or_default();
    assert!(date == before || date == after, "{json}");
    assert!(json["at"].as_str().unwrap_or_default().ends_with("+08:00"), "{json}");
    assert_eq!(
        json["masked"],
        json!({"customer_name": "张**", "phone": "138****5678", "address": "阳光花园 9号楼"})
    );
    assert_no_private_data(&json.to_string());
    let by_code = answer(&server, &format!("code={}", enc(&signoff.code()))).await;
    assert_eq!(by_code, json, "the QR text and the two fields give one answer");
}

async fn a_wrong_hash_says_the_copy_differs_and_reveals_nothing(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let signoff = push_signoff(&server, &mut device).await;
    let flipped = if signoff.hash.starts_with('0') { "1" } else { "0" };
    let wrong =
        OnFile { record_id: signoff.record_id.clone(), hash: format!("{flipped}{}", &signoff.hash[1..]) };

    let (status, zh) = page(&server, &parts(&wrong)).await;
    assert_eq!(status, 200, "{zh}");
    assert!(zh.contains("不一致：纸质副本与存档记录不同。"), "{zh}");
    assert!(zh.contains("已存档"), "{zh}");
    assert!(!zh.contains("未被改动") && !zh.contains("这份纸质副本与存档记录一致"), "{zh}");
    let (_, en) = page(&server, &format!("{}&lang=en", parts(&wrong))).await;
    assert!(en.contains("Does not match: the paper copy differs from the record on file."), "{en}");
    for body in [&zh, &en] {
        assert!(!body.contains(&signoff.hash), "the real hash is never shown");
        assert!(
            !body.contains("张**") && !body.contains("138****5678") && !body.contains(WORK_ORDER),
            "{body}"
        );
        assert_no_private_data(body);
    }

    let json = answer(&server, &parts(&wrong)).await;
    assert_eq!((json["on_file"].as_bool(), json["unaltered"].as_bool()), (Some(true), Some(false)), "{json}");
    for hidden in ["masked", "kind", "work_order_id", "date", "superseded_by"] {
        assert!(json.get(hidden).is_none(), "{hidden} is only for a matching copy: {json}");
    }
    assert!(!json.to_string().contains(&signoff.hash));
}

async fn an_unknown_record_is_not_on_file(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let signoff = push_signoff(&server, &mut device).await;
    let unknown = OnFile { record_id: uuid::Uuid::now_v7().to_string(), hash: signoff.hash.clone() };

    let (status, zh) = page(&server, &parts(&unknown)).await;
    assert_eq!(status, 200);
    assert!(zh.contains("未存档") && zh.contains("未找到这条记录"), "{zh}");
    assert!(!zh.contains("已存档"), "{zh}");
    let (_, en) = page(&server, &format!("{}&lang=en", parts(&unknown))).await;
    assert!(en.contains("Not on file"), "{en}");

    let json = answer(&server, &parts(&unknown)).await;
    assert_eq!(json["on_file"], false, "{json}");
    assert_eq!(json["unaltered"], false);
    assert_eq!(json["signatures_valid"], false);
    assert!(json.get("masked").is_none());
}

async fn malformed_input_is_refused_with_400_naming_what_is_wrong(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let signoff = push_signoff(&server, &mut device).await;
    let id = &signoff.record_id;
    let hash = &signoff.hash;
    // (query, zh words, en words, JSON error code)
    let cases = [
        (
            format!("record={id}&hash={}", &hash[..63]),
            "内容哈希长度不对",
            "content hash has the wrong length",
            "bad_hash",
        ),
        (
            format!("record={id}&hash={}", hash.replace(|c: char| c.is_ascii_digit(), "x")),
            "内容哈希含有无效字符",
            "content hash contains invalid characters",
            "bad_hash",
        ),
        (format!("record=12345&hash={hash}"), "记录编号格式不对", "record id is malformed", "bad_record_id"),
        (
            format!("code={}", enc("garbage:not-a-code")),
            "二维码内容不对",
            "QR code text is malformed",
            "bad_code",
        ),
        (
            format!("code={}", enc(&format!("hearth:copy:v1:{id}:{}", &hash[..10]))),
            "内容哈希长度不对",
            "content hash has the wrong length",
            "bad_hash",
        ),
        (
            "record=&hash=&code=".to_owned(),
            "请填写记录编号和内容哈希",
            "Enter the record id and the content hash",
            "missing_input",
        ),
        (format!("hash={hash}"), "请填写记录编号", "Enter the record id", "missing_record"),
    ];
    for (query, zh_words, en_words, code) in &cases {
        let (status, zh) = page(&server, query).await;
        assert_eq!(status, 400, "{query}: {zh}");
        assert!(zh.contains(zh_words), "{query}: {zh_words:?} missing: {zh}");
        assert!(zh.contains("<form"), "the form is shown again: {zh}");
        let (status, en) = page(&server, &format!("{query}&lang=en")).await;
        assert_eq!(status, 400, "{query}");
        assert!(en.contains(en_words), "{query}: {en_words:?} missing: {en}");

        let resp = server.http.get(server.url(&format!("/v1/verify?{query}"))).send().await.unwrap();
        let body = expect_json_error(resp, 400, Some(code)).await;
        assert!(body["message"].as_str().unwrap_or_default().contains(en_words), "{query}: {body}");
    }
    // What was typed comes back escaped, never as markup.
    let (status, hostile) =
        page(&server, &format!("record={}&hash={hash}", enc("\"><script>alert(1)</script>"))).await;
    assert_eq!(status, 400);
    assert!(hostile.contains("&quot;&gt;&lt;script&gt;"), "{hostile}");
    // The JSON form names an unknown parameter.
    let resp =
        server.http.get(server.url(&format!("/v1/verify?{}&extra=1", parts(&signoff)))).send().await.unwrap();
    expect_json_error(resp, 400, Some("bad_parameter")).await;
}

async fn a_correction_and_a_void_are_reported(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let original = push_signoff(&server, &mut device).await;
    let corrected_signoff =
        CustomerSignoff::refused("维修后仍不热", "更换阀门两个").unwrap_or_else(|e| panic!("{e}"));
    let supersedes = |on_file: &OnFile, reason: &str| Supersedes {
        record_id: on_file.record_id.clone(),
        content_hash: on_file.hash.parse().unwrap(),
        reason: reason.into(),
    };
    let correction = content(
        &device,
        "hearth.customer_signoff/1",
        serde_json::to_value(&corrected_signoff).unwrap(),
        Some(supersedes(&original, "阀门数量写错")),
    );
    let correction = push(&server, &mut device, correction).await;

    let (status, zh) = page(&server, &parts(&original)).await;
    assert_eq!(status, 200);
    assert!(zh.contains("已被更正") && zh.contains("未被改动"), "{zh}");
    assert!(!zh.contains("未被更正"), "{zh}");
    let (_, en) = page(&server, &format!("{}&lang=en", parts(&original))).await;
    assert!(en.contains("Corrected since"), "{en}");
    let json = answer(&server, &parts(&original)).await;
    assert_eq!((json["corrected"].as_bool(), json["voided"].as_bool()), (Some(true), Some(false)), "{json}");
    assert_eq!(json["superseded_by"], json!([correction.record_id]), "{json}");
    // The correction itself is the version in force.
    let json = answer(&server, &parts(&correction)).await;
    assert_eq!(
        (json["unaltered"].as_bool(), json["corrected"].as_bool()),
        (Some(true), Some(false)),
        "{json}"
    );

    // A void of the correction withdraws both.
    let void = content(&device, "hearth.void/1", json!({}), Some(supersedes(&correction, "签收作废")));
    push(&server, &mut device, void).await;
    let (_, zh) = page(&server, &parts(&original)).await;
    assert!(zh.contains("已被作废"), "{zh}");
    let json = answer(&server, &parts(&original)).await;
    assert_eq!((json["corrected"].as_bool(), json["voided"].as_bool()), (Some(true), Some(true)), "{json}");
}

/// Replaces the content of a stored envelope behind the server's back (as
/// someone with database access could), leaving its content_hash column.
async fn tamper(server: &TestServer, backend: Backend, record_id: &str, change: impl FnOnce(&mut Envelope)) {
    let mut envelope = server.storage().await.entry_by_record_id(record_id).await.unwrap().unwrap().envelope;
    change(&mut envelope);
    let text = serde_json::to_string(&envelope).unwrap();
    match backend {
        Backend::Sqlite => {
            let path = server.database.strip_prefix("sqlite://").unwrap().to_owned();
            let id = record_id.to_owned();
            tokio::task::spawn_blocking(move || {
                let db = rusqlite::Connection::open(path).unwrap();
                db.execute_batch("DROP TRIGGER IF EXISTS entry_no_update").unwrap();
                db.execute("UPDATE entry SET envelope = ?1 WHERE record_id = ?2", [text, id]).unwrap();
            })
            .await
            .unwrap();
        }
        Backend::Postgres => {
            let (client, conn) =
                tokio_postgres::connect(&server.database, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute("ALTER TABLE entry DISABLE TRIGGER entry_no_update").await.unwrap();
            let n = client
                .execute("UPDATE entry SET envelope = $1 WHERE record_id = $2", &[&text, &record_id])
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}

async fn bytes_changed_on_file_are_never_called_unaltered(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let signoff = push_signoff(&server, &mut device).await;
    assert_eq!(answer(&server, &parts(&signoff)).await["unaltered"], true);
    // Other content, canonical and well-formed: only recomputing the hash
    // from the bytes on file notices (the stored content_hash column still
    // equals the copy's hash).
    let mut changed = content(
        &device,
        "hearth.customer_signoff/1",
        json!({"refused": {"reason": "x", "summary_shown": "y"}}),
        None,
    );
    changed.record_id.clone_from(&signoff.record_id);
    let bytes = hearth_protocol::EncodedContent::encode(changed).unwrap().bytes().to_vec();
    tamper(&server, backend, &signoff.record_id, |e| e.content = b64::encode(&bytes)).await;

    let json = answer(&server, &parts(&signoff)).await;
    assert_eq!(json["on_file"], true, "{json}");
    assert_eq!(json["unaltered"], false, "{json}");
    assert_eq!(json["signatures_valid"], false, "{json}");
    assert!(json.get("masked").is_none(), "{json}");
    let (status, zh) = page(&server, &parts(&signoff)).await;
    assert_eq!(status, 200);
    assert!(zh.contains("存档记录未能通过校验"), "{zh}");
    assert!(!zh.contains("未被改动"), "{zh}");

    // The same bytes with the tablet's signature replaced by another
    // signature of its key: the copy matches, the signatures do not verify.
    let other = push_signoff(&server, &mut device).await;
    let forged = device.key.sign(b"something else").to_bytes();
    tamper(&server, backend, &other.record_id, |e| e.device_sig.sig = b64::encode(&forged)).await;
    let json = answer(&server, &parts(&other)).await;
    assert_eq!(
        (json["unaltered"].as_bool(), json["signatures_valid"].as_bool()),
        (Some(true), Some(false)),
        "{json}"
    );
    let (_, zh) = page(&server, &parts(&other)).await;
    assert!(zh.contains("签名无效") && !zh.contains("签名有效"), "{zh}");
    let (_, en) = page(&server, &format!("{}&lang=en", parts(&other))).await;
    assert!(en.contains("Signatures not valid"), "{en}");
}

async fn the_form_and_its_style_sheet_carry_strict_headers(backend: Backend) {
    let (server, _device) = setup(backend).await;
    for path in ["/verify", "/verify?lang=en", "/verify.css", "/v1/verify?record=x"] {
        let (_, headers, _) = get(&server, path).await;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(header("content-security-policy"), CSP, "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        if path != "/verify.css" {
            assert_eq!(header("cache-control"), "no-store", "{path}");
        }
    }
    let (status, zh) = page(&server, "").await;
    assert_eq!(status, 200);
    assert!(zh.contains("<form") && zh.contains("name=\"code\"") && zh.contains("name=\"hash\""), "{zh}");
    assert!(zh.contains("href=\"/verify.css\""), "{zh}");
    assert!(zh.contains("href=\"/verify?lang=en\""), "a link to English: {zh}");
    assert!(!zh.contains("style=") && !zh.contains("<style"), "no inline style under the CSP");
    let (_, en) = page(&server, "lang=en").await;
    assert!(en.contains("Check a paper copy") && en.contains("中文"), "{en}");
    let (status, headers, css) = get(&server, "/verify.css").await;
    assert_eq!(status, 200);
    assert!(headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("text/css"));
    assert!(css.contains(".verdict"), "{css}");
}

async fn lookups_are_rate_limited_per_address(backend: Backend) {
    let (mut server, mut device) = setup(backend).await;
    let signoff = push_signoff(&server, &mut device).await;
    server.kill();
    server.spawn_with_args(&["--address-burst", "3", "--address-rate-per-min", "1"]);
    for _ in 0..2 {
        assert_eq!(page(&server, &parts(&signoff)).await.0, 200);
    }
    assert_eq!(answer(&server, &parts(&signoff)).await["unaltered"], true);
    let (status, headers, body) = get(&server, &format!("/verify?{}", parts(&signoff))).await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.get("retry-after").is_some());
    assert!(body.contains("查询过于频繁"), "{body}");
    let resp = server.http.get(server.url(&format!("/v1/verify?{}", parts(&signoff)))).send().await.unwrap();
    expect_json_error(resp, 429, Some("rate_limited")).await;
    // The empty form is never limited.
    assert_eq!(page(&server, "").await.0, 200);
}

async fn the_json_form_is_documented(backend: Backend) {
    let (server, _device) = setup(backend).await;
    let doc: Value =
        server.http.get(server.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = &doc["paths"]["/v1/verify"]["get"];
    assert!(op["security"].as_array().is_none_or(Vec::is_empty), "public: {op}");
    for status in ["200", "400", "429"] {
        assert!(op["responses"][status].is_object(), "{status}: {op}");
    }
    let schema = &doc["components"]["schemas"]["VerifyAnswer"];
    for field in ["on_file", "unaltered", "signatures_valid", "corrected"] {
        assert!(schema["properties"][field].is_object(), "{field}: {schema}");
    }
}

on_both_backends!(
    a_matching_copy_is_on_file_unaltered_signed_and_shows_only_masked_data,
    a_wrong_hash_says_the_copy_differs_and_reveals_nothing,
    an_unknown_record_is_not_on_file,
    malformed_input_is_refused_with_400_naming_what_is_wrong,
    a_correction_and_a_void_are_reported,
    bytes_changed_on_file_are_never_called_unaltered,
    the_form_and_its_style_sheet_carry_strict_headers,
    lookups_are_rate_limited_per_address,
    the_json_form_is_documented,
);
