//! Hostile and broken input against the real binary: each gets its status
//! and a JSON `{"error", "message"}` body (or, for envelopes, a `rejected`
//! result with the protocol's reason), and nothing is stored. Text with SQL
//! metacharacters and Chinese is stored and returned verbatim.

#[macro_use]
mod common;

use base64::Engine as _;
use common::*;
use hearth_protocol::{Envelope, SigningKey, VerifyingKey, b64};
use hearth_server::storage::{CodePurpose, NewEnrolCode};
use serde_json::{Map, Value, json};

macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_only {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
    };
}

on_sqlite!(
    malformed_json_is_400_json_and_stores_nothing,
    a_json_body_of_the_wrong_shape_is_422_json_and_stores_nothing,
    a_body_that_is_not_declared_json_is_415_json,
    a_body_over_two_mebibytes_is_413_json_and_stores_nothing,
    a_client_can_go_on_using_its_connection_pool_after_a_413,
    a_missing_wrong_or_malformed_token_is_401_json_and_stores_nothing,
    unknown_routes_are_404_json,
    wrong_methods_are_405_json,
    malformed_query_strings_are_400_json,
    names_and_tech_ids_that_are_empty_too_long_or_hold_control_characters_are_400,
);

on_both_backends!(
    a_batch_of_201_entries_is_413_batch_too_large_and_stores_nothing,
    another_devices_id_in_the_path_is_403_json_and_stores_nothing_for_either,
    sql_metacharacters_and_chinese_text_are_stored_and_returned_verbatim,
    reused_unknown_expired_or_wrong_kind_codes_are_403_code_rejected,
    a_malformed_public_key_is_400_and_leaves_the_code_usable,
    hostile_envelopes_are_rejected_with_the_protocol_reason_and_nothing_is_stored,
);

async fn setup(backend: Backend) -> (TestServer, TestDevice) {
    let server = TestServer::start(backend);
    let mut device = server.enrol_device("测试平板 1", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;
    (server, device)
}

fn entries_url(server: &TestServer, device_id: &str) -> String {
    server.url(&format!("/v1/devices/{device_id}/entries"))
}

async fn get_ok(server: &TestServer, path: &str, token: &str) -> Value {
    let resp = server.http.get(server.url(path)).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Head 0, no receipts, no conflicts for `device`, and `total` entries on the server.
async fn assert_stored(server: &TestServer, device: &TestDevice, seq: u64, total: u64) {
    let head = get_ok(server, &format!("/v1/devices/{}/head", device.device_id), &device.token).await;
    assert_eq!(head["seq"], seq, "head of {}", device.device_id);
    let receipts =
        get_ok(server, &format!("/v1/devices/{}/receipts?from_seq=1", device.device_id), &device.token).await;
    assert_eq!(
        receipts["receipts"].as_array().unwrap().len() as u64,
        seq,
        "receipts of {}",
        device.device_id
    );
    let storage = server.storage().await;
    assert_eq!(storage.entry_count().await.unwrap(), total, "entries on the server");
    let conflicts = storage.conflicts(&device.device_id).await.unwrap();
    assert!(conflicts.is_empty(), "no conflict evidence was kept: {conflicts:?}");
}

async fn assert_nothing_stored(server: &TestServer, device: &TestDevice) {
    assert_stored(server, device, 0, 0).await;
}

fn one_valid_entry(device: &mut TestDevice) -> Envelope {
    assert_eq!(device.seq, 0, "one_valid_entry is for an empty chain");
    let content = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(content);
    // Not pushed: leave the device's chain where it was, so this stays seq 1.
    device.seq = 0;
    device.prev = hearth_protocol::hash::genesis_prev(&device.device_id);
    sealed.envelope
}

async fn post_raw(
    server: &TestServer,
    url: &str,
    token: Option<&str>,
    body: &'static str,
) -> reqwest::Response {
    let mut req = server.http.post(url).header("content-type", "application/json").body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn malformed_json_is_400_json_and_stores_nothing(backend: Backend) {
    let (server, device) = setup(backend).await;
    let url = entries_url(&server, &device.device_id);
    for body in [r#"{"entries": ["#, "{entries: []}", r#"{"entries": []"#, "not json", ""] {
        let resp = post_raw(&server, &url, Some(&device.token), body).await;
        expect_json_error(resp, 400, Some("bad_json")).await;
    }
    let enrol = server.url("/v1/enroll/device");
    for body in [r#"{"code": "X", "pubkey":"#, "{'code': 'x'}", ""] {
        let resp = post_raw(&server, &enrol, None, body).await;
        expect_json_error(resp, 400, Some("bad_json")).await;
    }
    assert_nothing_stored(&server, &device).await;
}

async fn a_json_body_of_the_wrong_shape_is_422_json_and_stores_nothing(backend: Backend) {
    let (server, device) = setup(backend).await;
    let url = entries_url(&server, &device.device_id);
    for body in [
        r#"{"entries": 5}"#,
        r#"{"entries": [{"entry": 1}]}"#,
        r#"{"entries": [{"entry": "a", "content": "b", "tech_sigs": [], "device_sig": "c"}]}"#,
        r#"{"records": []}"#,
        "[]",
        "null",
    ] {
        let resp = post_raw(&server, &url, Some(&device.token), body).await;
        expect_json_error(resp, 422, Some("bad_json")).await;
    }
    let enrol = server.url("/v1/enroll/device");
    for body in [r#"{"code": 1, "pubkey": "x", "name": "n"}"#, r#"{"code": "x"}"#, "{}"] {
        let resp = post_raw(&server, &enrol, None, body).await;
        expect_json_error(resp, 422, Some("bad_json")).await;
    }
    assert_nothing_stored(&server, &device).await;
}

async fn a_body_that_is_not_declared_json_is_415_json(backend: Backend) {
    let (server, device) = setup(backend).await;
    let resp = server
        .http
        .post(entries_url(&server, &device.device_id))
        .bearer_auth(&device.token)
        .header("content-type", "text/plain")
        .body(r#"{"entries": []}"#)
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 415, None).await;
    let resp = server.http.post(server.url("/v1/enroll/device")).body("{}").send().await.unwrap();
    expect_json_error(resp, 415, None).await;
    assert_nothing_stored(&server, &device).await;
}

/// A batch that is well-formed but over 2 MiB (3 MiB of padding in one field).
fn oversized_batch(device: &mut TestDevice) -> Vec<u8> {
    let mut env = one_valid_entry(device);
    env.content = "A".repeat(3 * 1024 * 1024);
    serde_json::to_vec(&json!({ "entries": [env] })).unwrap()
}

async fn a_body_over_two_mebibytes_is_413_json_and_stores_nothing(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let body = oversized_batch(&mut device);
    // A client of its own: see the next test for what happens to its connection.
    let http = reqwest::Client::new();
    let resp = http
        .post(entries_url(&server, &device.device_id))
        .bearer_auth(&device.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 413, Some("body_too_large")).await;
    let name = "名".repeat(1024 * 1024);
    let resp = reqwest::Client::new()
        .post(server.url("/v1/enroll/device"))
        .json(&json!({"code": "X", "pubkey": "Y", "name": name}))
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 413, Some("body_too_large")).await;
    assert_nothing_stored(&server, &device).await;
}

async fn a_client_can_go_on_using_its_connection_pool_after_a_413(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let body = oversized_batch(&mut device);
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for round in 0..20 {
        let resp = http
            .post(entries_url(&server, &device.device_id))
            .bearer_auth(&device.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413);
        let connection = resp.headers().get("connection").map(|v| v.to_str().unwrap_or("").to_owned());
        let _ = resp.text().await;
        // The very next request, on whatever connection the pool hands out.
        if let Err(e) = http.get(server.url("/v1/server-key")).send().await {
            failures.push(format!(
                "round {round}: 413 had Connection: {connection:?}; the next request failed: {e:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "after answering 413 without reading the body the server drops the connection without saying \
         `Connection: close`, so a keep-alive client's next request fails: {failures:#?}"
    );
}

async fn a_batch_of_201_entries_is_413_batch_too_large_and_stores_nothing(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let env = one_valid_entry(&mut device);
    let batch: Vec<Envelope> = std::iter::repeat_n(env.clone(), 201).collect();
    let resp = server
        .http
        .post(entries_url(&server, &device.device_id))
        .bearer_auth(&device.token)
        .json(&json!({ "entries": batch }))
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 413, Some("batch_too_large")).await;
    assert_nothing_stored(&server, &device).await;
    // 200 is still fine (all the same entry: one accepted, the rest duplicates).
    let batch: Vec<Envelope> = std::iter::repeat_n(env, 200).collect();
    let resp = server.push(&device, &batch).await;
    assert_eq!(resp.results.len(), 200);
    assert_stored(&server, &device, 1, 1).await;
}

async fn a_missing_wrong_or_malformed_token_is_401_json_and_stores_nothing(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let env = one_valid_entry(&mut device);
    let body = json!({ "entries": [env] });
    let url = entries_url(&server, &device.device_id);
    let operator = server.operator.clone();
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Bearer wrong-token".into()),
        Some(format!("Bearer {}x", device.token)),
        Some(format!("Bearer {operator}")), // an operator token is not a device token
        Some(device.token.clone()),         // no scheme
        Some(format!("Basic {}", device.token)),
        Some(format!("Token {}", device.token)),
        Some("Bearer".into()),
        Some("Bearer    ".into()),
        Some(format!("Bearer{}", device.token)),
        Some(format!("Bearer '{}' OR '1'='1", device.token)),
    ];
    for h in &headers {
        let mut req = server.http.post(&url).json(&body);
        if let Some(h) = h {
            req = req.header("authorization", h);
        }
        expect_json_error(req.send().await.unwrap(), 401, Some("unauthorized")).await;
        let mut req = server.http.get(server.url(&format!("/v1/devices/{}/head", device.device_id)));
        if let Some(h) = h {
            req = req.header("authorization", h);
        }
        expect_json_error(req.send().await.unwrap(), 401, Some("unauthorized")).await;
    }
    // A header that is not even valid text.
    let resp = server
        .http
        .post(&url)
        .header("authorization", reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 401, Some("unauthorized")).await;
    // Office routes take operator tokens only.
    let resp = server
        .http
        .get(server.url("/v1/records/0190f4c2-0000-7000-8000-000000000000"))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 401, Some("unauthorized")).await;
    assert_nothing_stored(&server, &device).await;
}

async fn another_devices_id_in_the_path_is_403_json_and_stores_nothing_for_either(backend: Backend) {
    let (server, mut mine) = setup(backend).await;
    let mut other = server.enrol_device("别人的平板", 5).await;
    server.enrol_technician(&mut other, "T0023", 6).await;
    let my_env = one_valid_entry(&mut mine);
    let their_env = one_valid_entry(&mut other);
    // My token, their path: with my entry, with theirs, and with both.
    for batch in [vec![my_env.clone()], vec![their_env.clone()], vec![their_env.clone(), my_env.clone()]] {
        let resp = server
            .http
            .post(entries_url(&server, &other.device_id))
            .bearer_auth(&mine.token)
            .json(&json!({ "entries": batch }))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 403, Some("forbidden")).await;
    }
    for path in ["head", "receipts?from_seq=1", "feed?cursor="] {
        let resp = server
            .http
            .get(server.url(&format!("/v1/devices/{}/{path}", other.device_id)))
            .bearer_auth(&mine.token)
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 403, Some("forbidden")).await;
    }
    // An id that does not exist at all is just as forbidden.
    let resp = server
        .http
        .post(entries_url(&server, "dev-does-not-exist"))
        .bearer_auth(&mine.token)
        .json(&json!({ "entries": [my_env] }))
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 403, Some("forbidden")).await;
    assert_nothing_stored(&server, &mine).await;
    assert_nothing_stored(&server, &other).await;
    // My entry pushed to my own path: the entry's device_id is checked too.
    let resp = server.push(&mine, &[their_env]).await;
    assert_eq!(resp.results[0].status, hearth_protocol::api::EntryStatus::Rejected);
    assert_eq!(resp.results[0].reason.as_deref(), Some("device_mismatch"));
    assert_nothing_stored(&server, &mine).await;
    assert_nothing_stored(&server, &other).await;
}

async fn unknown_routes_are_404_json(backend: Backend) {
    let (server, device) = setup(backend).await;
    let id = &device.device_id;
    for (method, path) in [
        ("GET", "/".to_owned()),
        ("GET", "/v1".to_owned()),
        ("GET", "/v1/nope".to_owned()),
        ("GET", "/v2/server-key".to_owned()),
        ("GET", "/v1/server-key/extra".to_owned()),
        ("POST", format!("/v1/devices/{id}/nope")),
        ("GET", format!("/v1/devices/{id}")),
        ("GET", "/v1/devices".to_owned()),
        ("DELETE", "/v1/everything".to_owned()),
        ("GET", "/v1/%27%3B%20DROP%20TABLE%20entry%3B--".to_owned()),
        ("GET", "/../../etc/passwd".to_owned()),
    ] {
        let resp = server
            .http
            .request(method.parse().unwrap(), server.url(&path))
            .bearer_auth(&device.token)
            .send()
            .await
            .unwrap();
        let body = expect_json_error(resp, 404, Some("not_found")).await;
        assert!(
            !body["message"].as_str().unwrap().is_empty(),
            "{method} {path}: a message for people: {body}"
        );
    }
}

async fn wrong_methods_are_405_json(backend: Backend) {
    let (server, device) = setup(backend).await;
    let id = &device.device_id;
    for (method, path) in [
        ("GET", "/v1/enroll/device".to_owned()),
        ("PUT", "/v1/enroll/technician".to_owned()),
        ("POST", "/v1/server-key".to_owned()),
        ("DELETE", "/v1/server-key".to_owned()),
        ("GET", format!("/v1/devices/{id}/entries")),
        ("DELETE", format!("/v1/devices/{id}/entries")),
        ("PUT", format!("/v1/devices/{id}/entries")),
        ("POST", format!("/v1/devices/{id}/head")),
        ("PATCH", format!("/v1/devices/{id}/receipts")),
        ("DELETE", "/v1/records/0190f4c2-0000-7000-8000-000000000000".to_owned()),
    ] {
        let resp = server
            .http
            .request(method.parse().unwrap(), server.url(&path))
            .bearer_auth(&device.token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 405, Some("method_not_allowed")).await;
    }
    assert_nothing_stored(&server, &device).await;
}

const DEVICE_NAME_SQL: &str = "'); DROP TABLE entry;--";
const DEVICE_NAME_ZH: &str = "测试平板\"'\\";
const TECH_ID_SQL: &str = "T'0099\";DROP/**/TABLE/**/technician_key;--";
const TECH_ID_ZH: &str = "技术员'\"\\測試";
const TECH_NAME: &str = "王'; DROP TABLE snapshot;--\"\\";
const NOTE: &str = "客厅 '; DELETE FROM entry; --";
const WORK_ORDER: &str = "WO'; DROP TABLE entry;--工单";
const BOOT: &str = "boot\"'; UPDATE entry SET seq = 0;--启动";

async fn sql_metacharacters_and_chinese_text_are_stored_and_returned_verbatim(backend: Backend) {
    let server = TestServer::start(backend);
    let storage = server.storage().await;
    // Device names, as the tablet sends them at enrolment.
    let mut first = server.enrol_device(DEVICE_NAME_SQL, 41).await;
    let mut second = server.enrol_device(DEVICE_NAME_ZH, 42).await;
    for (d, name) in [(&first, DEVICE_NAME_SQL), (&second, DEVICE_NAME_ZH)] {
        let row = storage
            .device_by_token(&hearth_server::auth::secret_hash(&d.token))
            .await
            .unwrap()
            .expect("the device is stored under its token");
        assert_eq!(row.name, name, "the device name is stored verbatim");
    }
    // Technician ids and names, issued by the office, enrolled by the tablet.
    for (id, seed) in [(TECH_ID_SQL, 43), (TECH_ID_ZH, 44)] {
        server.admin(&["technician", "add", "--id", id, "--name", TECH_NAME, "--phone", "13800000099"]);
        server.enrol_technician(&mut first, id, seed).await;
    }
    server.enrol_technician(&mut second, "T0017", 45).await;

    // A tech_id that does not match its code is refused, and the code survives it.
    let code = server.admin(&["technician-code", "--id", "T0023"]);
    let key = SigningKey::from_bytes(&[46; 32]);
    let resp = server
        .http
        .post(server.url("/v1/enroll/technician"))
        .bearer_auth(&second.token)
        .json(&json!({
            "code": code,
            "tech_id": "'); DROP TABLE technician_key;--",
            "pubkey": b64::encode(key.verifying_key().as_bytes()),
        }))
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 403, Some("code_rejected")).await;
    let resp = server
        .http
        .post(server.url("/v1/enroll/technician"))
        .bearer_auth(&second.token)
        .json(
            &json!({"code": code, "tech_id": "T0023", "pubkey": b64::encode(key.verifying_key().as_bytes())}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the code was not used up by the refused attempt");

    // A record carrying hostile text in every field a tablet fills in.
    let mut content = first.arrival(WORK_ORDER);
    content.created.boot_id = BOOT.into();
    content.data.insert("note".into(), json!(NOTE));
    content.data.insert("quote".into(), json!("\"'`;\\ -- /* */ 表"));
    content.signers.push(hearth_protocol::Signer {
        role: hearth_protocol::SignerRole::Witness,
        tech_id: TECH_ID_ZH.into(),
        kid: hearth_protocol::seal::kid_of(&first.techs[1].1.verifying_key()),
    });
    assert_eq!(content.signers[0].tech_id, TECH_ID_SQL);
    let record_id = content.record_id.clone();
    let sealed = first.seal(content);
    let resp = server.push(&first, std::slice::from_ref(&sealed.envelope)).await;
    let r = &resp.results[0];
    assert_eq!(r.status, hearth_protocol::api::EntryStatus::Accepted, "{r:?}");

    let got = get_ok(&server, &format!("/v1/records/{record_id}"), &server.operator).await;
    assert_eq!(got["envelope"]["content"], sealed.envelope.content, "content bytes come back verbatim");
    assert_eq!(got["envelope"]["entry"], sealed.envelope.entry);
    let content: Value =
        serde_json::from_slice(&b64::decode(got["envelope"]["content"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(content["data"]["note"], NOTE);
    assert_eq!(content["work_order_id"], WORK_ORDER);
    assert_eq!(content["created"]["boot_id"], BOOT);
    assert_eq!(content["signers"][0]["tech_id"], TECH_ID_SQL);
    assert_eq!(content["signers"][1]["tech_id"], TECH_ID_ZH);
    let sig_ids: Vec<&str> = got["envelope"]["tech_sigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tech_id"].as_str().unwrap())
        .collect();
    assert!(sig_ids.contains(&TECH_ID_SQL) && sig_ids.contains(&TECH_ID_ZH), "{sig_ids:?}");
    assert_eq!(got["receipt"]["record_id"], record_id.as_str());
    assert_eq!(
        storage.entry_by_record_id(&record_id).await.unwrap().unwrap().work_order_id.as_deref(),
        Some(WORK_ORDER)
    );

    // The technicians' names reach the tablets verbatim through the feed.
    let feed =
        get_ok(&server, &format!("/v1/devices/{}/feed?cursor=&limit=1000", first.device_id), &first.token)
            .await;
    for id in [TECH_ID_SQL, TECH_ID_ZH] {
        let item = feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "technician" && i["id"] == id)
            .unwrap_or_else(|| panic!("technician {id} is in the feed"));
        assert_eq!(item["body"]["name"], TECH_NAME);
        assert_eq!(item["body"]["tech_id"], id);
    }

    // A record id made of SQL finds nothing.
    for rid in ["'%20OR%20'1'='1", "%27%3B%20DROP%20TABLE%20entry%3B--", "%E6%B5%8B%E8%AF%95"] {
        let resp = server
            .http
            .get(server.url(&format!("/v1/records/{rid}")))
            .bearer_auth(&server.operator)
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 404, Some("not_found")).await;
    }

    // And every table still works.
    let next = first.arrival("WO-DEMO-0001");
    let next = first.seal(next);
    assert_eq!(
        server.push(&first, &[next.envelope]).await.results[0].status,
        hearth_protocol::api::EntryStatus::Accepted
    );
    let other = second.arrival("WO-DEMO-0001");
    let other = second.seal(other);
    assert_eq!(
        server.push(&second, &[other.envelope]).await.results[0].status,
        hearth_protocol::api::EntryStatus::Accepted
    );
    assert_stored(&server, &first, 2, 3).await;
    let later = server.enrol_device("after", 47).await;
    assert!(later.device_id.starts_with("dev-"));
}

async fn enrol_device_raw(server: &TestServer, code: &str, seed: u8) -> reqwest::Response {
    let key = SigningKey::from_bytes(&[seed; 32]);
    server
        .http
        .post(server.url("/v1/enroll/device"))
        .json(&json!({"code": code, "pubkey": b64::encode(key.verifying_key().as_bytes()), "name": "平板"}))
        .send()
        .await
        .unwrap()
}

async fn enrol_technician_raw(
    server: &TestServer,
    device: &TestDevice,
    code: &str,
    tech_id: &str,
    seed: u8,
) -> reqwest::Response {
    let key = SigningKey::from_bytes(&[seed; 32]);
    server
        .http
        .post(server.url("/v1/enroll/technician"))
        .bearer_auth(&device.token)
        .json(
            &json!({"code": code, "tech_id": tech_id, "pubkey": b64::encode(key.verifying_key().as_bytes())}),
        )
        .send()
        .await
        .unwrap()
}

async fn reused_unknown_expired_or_wrong_kind_codes_are_403_code_rejected(backend: Backend) {
    let (server, device) = setup(backend).await;
    // Reused device code.
    let code = server.admin(&["device-code"]);
    assert_eq!(enrol_device_raw(&server, &code, 60).await.status(), 200);
    expect_json_error(enrol_device_raw(&server, &code, 61).await, 403, Some("code_rejected")).await;
    // Unknown codes, including ones made of SQL.
    for code in ["ABCD-EFGH-JKLM", "", "' OR '1'='1", "'); UPDATE enrol_code SET used_at_ms = NULL;--"] {
        expect_json_error(enrol_device_raw(&server, code, 62).await, 403, Some("code_rejected")).await;
    }
    // Expired: issued four days ago, valid for three.
    let storage = server.storage().await;
    let now = now_ms();
    let expired = "EXPI-REDC-ODE2";
    storage
        .add_enrol_code(NewEnrolCode {
            code_hash: hearth_server::auth::code_hash(expired),
            purpose: CodePurpose::Device,
            created_at_ms: now - 96 * 3600 * 1000,
            expires_at_ms: now - 24 * 3600 * 1000,
        })
        .await
        .unwrap();
    expect_json_error(enrol_device_raw(&server, expired, 63).await, 403, Some("code_rejected")).await;
    // A technician code is not a device code, and the other way round.
    let tech_code = server.admin(&["technician-code", "--id", "T0023"]);
    expect_json_error(enrol_device_raw(&server, &tech_code, 64).await, 403, Some("code_rejected")).await;
    let device_code = server.admin(&["device-code"]);
    expect_json_error(
        enrol_technician_raw(&server, &device, &device_code, "T0023", 65).await,
        403,
        Some("code_rejected"),
    )
    .await;
    // A technician code names one technician.
    expect_json_error(
        enrol_technician_raw(&server, &device, &tech_code, "T0031", 66).await,
        403,
        Some("code_rejected"),
    )
    .await;
    // Reused technician code.
    assert_eq!(enrol_technician_raw(&server, &device, &tech_code, "T0023", 67).await.status(), 200);
    expect_json_error(
        enrol_technician_raw(&server, &device, &tech_code, "T0023", 68).await,
        403,
        Some("code_rejected"),
    )
    .await;

    // Nothing was stored by the refusals: the keys they carried enrol now
    // (kids are unique, so a stored one would make these fail), and the
    // unused codes still work.
    for seed in [61, 62, 63, 64] {
        let code = server.admin(&["device-code"]);
        let resp = enrol_device_raw(&server, &code, seed).await;
        assert_eq!(
            resp.status(),
            200,
            "device key {seed} was not stored by a refused enrolment: {}",
            resp.text().await.unwrap()
        );
    }
    let resp = enrol_device_raw(&server, &device_code, 70).await;
    assert_eq!(resp.status(), 200, "a device code survives being refused as a technician code");
    for (seed, tech) in [(65, "T0023"), (66, "T0031"), (68, "T0023")] {
        let code = server.admin(&["technician-code", "--id", tech]);
        let resp = enrol_technician_raw(&server, &device, &code, tech, seed).await;
        assert_eq!(resp.status(), 200, "technician key {seed} was not stored by a refused enrolment");
    }
    assert_nothing_stored(&server, &device).await;
}

/// 32 bytes that are not an Ed25519 public key (not a curve point).
fn not_a_point() -> [u8; 32] {
    (0u8..=255)
        .map(|b| {
            let mut k = [b; 32];
            k[31] &= 0x7f;
            k
        })
        .find(|k| VerifyingKey::from_bytes(k).is_err())
        .expect("some 32-byte string is not a point")
}

async fn a_malformed_public_key_is_400_and_leaves_the_code_usable(backend: Backend) {
    let (server, device) = setup(backend).await;
    let good = b64::encode(SigningKey::from_bytes(&[80; 32]).verifying_key().as_bytes());
    let bad_keys: Vec<String> = vec![
        String::new(),
        "not base64!!".into(),
        b64::encode(&[7u8; 31]),
        b64::encode(&[7u8; 33]),
        format!("{good}="), // padding
        base64::engine::general_purpose::STANDARD
            .encode(SigningKey::from_bytes(&[80; 32]).verifying_key().as_bytes()),
        b64::encode(&not_a_point()),
        "'); DROP TABLE device;--".into(),
        "公钥".into(),
    ];
    let code = server.admin(&["device-code"]);
    for key in &bad_keys {
        let resp = server
            .http
            .post(server.url("/v1/enroll/device"))
            .json(&json!({"code": code, "pubkey": key, "name": "平板"}))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 400, Some("bad_public_key")).await;
    }
    let tech_code = server.admin(&["technician-code", "--id", "T0023"]);
    for key in &bad_keys {
        let resp = server
            .http
            .post(server.url("/v1/enroll/technician"))
            .bearer_auth(&device.token)
            .json(&json!({"code": tech_code, "tech_id": "T0023", "pubkey": key}))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 400, Some("bad_public_key")).await;
    }
    // The codes were not consumed.
    assert_eq!(enrol_device_raw(&server, &code, 81).await.status(), 200);
    assert_eq!(enrol_technician_raw(&server, &device, &tech_code, "T0023", 82).await.status(), 200);
    assert_nothing_stored(&server, &device).await;
}

/// Content bytes: a valid arrival with `data` changed by `edit`, serialised as given.
fn content_bytes(device: &mut TestDevice, edit: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let content = device.arrival("WO-DEMO-0001");
    let mut value = serde_json::to_value(&content).unwrap();
    edit(value["data"].as_object_mut().unwrap());
    match hearth_protocol::canonical::canonicalize(&value) {
        Ok(bytes) => bytes,
        Err(_) => serde_json::to_vec(&value).unwrap(), // what the canonicaliser refuses, sent as is
    }
}

fn hostile(device: &mut TestDevice, bytes: &[u8]) -> Envelope {
    let sig = tech_sig(&device.techs[0].1, hearth_protocol::SignerRole::Performer, "T0017", bytes);
    seal_raw(device, bytes, vec![sig])
}

async fn hostile_envelopes_are_rejected_with_the_protocol_reason_and_nothing_is_stored(backend: Backend) {
    let (server, mut device) = setup(backend).await;
    let valid = one_valid_entry(&mut device);
    let mut cases: Vec<(&str, Envelope, &[&str])> = Vec::new();

    let mut e = valid.clone();
    e.entry = format!("{}!", &e.entry[1..]);
    cases.push(("entry not base64", e, &["bad_base64"]));
    let mut e = valid.clone();
    e.entry.push('=');
    cases.push(("entry with padding", e, &["bad_base64"]));
    let mut e = valid.clone();
    e.content = e.content.replace(['-', '_'], "+") + "/+";
    cases.push(("content in the standard alphabet", e, &["bad_base64"]));
    let mut e = valid.clone();
    e.content = "测试".into();
    cases.push(("content with Chinese", e, &["bad_base64"]));

    let bytes = content_bytes(&mut device, |d| {
        d.insert("temperature".into(), json!(18.5));
    });
    cases.push(("a float in content", hostile(&mut device, &bytes), &["float_not_allowed"]));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("count".into(), json!(9_007_199_254_740_992_i64));
    });
    cases.push(("an integer past 2^53 - 1", hostile(&mut device, &bytes), &["integer_out_of_range"]));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("note".into(), Value::Null);
    });
    cases.push(("a null in content", hostile(&mut device, &bytes), &["null_not_allowed"]));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("温度".into(), json!(1850));
    });
    cases.push(("a non-ASCII key", hostile(&mut device, &bytes), &["bad_key"]));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("Temperature".into(), json!(1850));
    });
    cases.push(("an upper-case key", hostile(&mut device, &bytes), &["bad_key"]));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("note".into(), json!("x".repeat(70_000)));
    });
    assert!(bytes.len() > 64 * 1024);
    cases.push((
        "content over 64 KiB",
        hostile(&mut device, &bytes),
        &["content_too_large", "envelope_too_large"],
    ));
    let bytes = content_bytes(&mut device, |d| {
        d.insert("note".into(), json!("长".repeat(30_000)));
    });
    cases.push((
        "an envelope over 96 KiB",
        hostile(&mut device, &bytes),
        &["content_too_large", "envelope_too_large"],
    ));

    for (what, env, reasons) in cases {
        let resp = server
            .http
            .post(entries_url(&server, &device.device_id))
            .bearer_auth(&device.token)
            .json(&json!({ "entries": [env, valid.clone()] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{what}: per-entry results come with HTTP 200");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("application/json"), "{what}: {content_type}");
        let body: Value = resp.json().await.unwrap();
        let r = &body["results"];
        assert_eq!(r[0]["status"], "rejected", "{what}: {body}");
        let reason = r[0]["reason"].as_str().unwrap_or_default();
        assert!(reasons.contains(&reason), "{what}: reason {reason:?}, expected one of {reasons:?}");
        assert!(r[0].get("receipt").is_none(), "{what}: no receipt for a rejected entry");
        assert_eq!(r[1]["status"], "not_processed", "{what}: the rest of the batch is not processed: {body}");
        assert_nothing_stored(&server, &device).await;
    }
    // The chain was never touched: the valid entry is still seq 1.
    let resp = server.push(&device, &[valid]).await;
    assert_eq!(resp.results[0].status, hearth_protocol::api::EntryStatus::Accepted);
    assert_eq!(resp.results[0].seq, 1);
    assert_stored(&server, &device, 1, 1).await;
}

async fn malformed_query_strings_are_400_json(backend: Backend) {
    let (server, device) = setup(backend).await;
    let id = &device.device_id;
    for query in [
        format!("/v1/devices/{id}/receipts?from_seq=abc"),
        format!("/v1/devices/{id}/receipts?from_seq=-1"),
        format!("/v1/devices/{id}/receipts?from_seq=1.5"),
        format!("/v1/devices/{id}/receipts?from_seq=99999999999999999999"),
        format!("/v1/devices/{id}/receipts?limit=%27%3B--"),
        format!("/v1/devices/{id}/feed?limit=-5"),
    ] {
        let resp = server.http.get(server.url(&query)).bearer_auth(&device.token).send().await.unwrap();
        expect_json_error(resp, 400, None).await;
    }
    for cursor in ["garbage", "1.2.x", "'%3B%20DROP%20TABLE%20feed%3B--", "%E6%B8%B8%E6%A0%87"] {
        let resp = server
            .http
            .get(server.url(&format!("/v1/devices/{id}/feed?cursor={cursor}")))
            .bearer_auth(&device.token)
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 400, Some("bad_cursor")).await;
    }
    assert_nothing_stored(&server, &device).await;
}

async fn names_and_tech_ids_that_are_empty_too_long_or_hold_control_characters_are_400(backend: Backend) {
    let (server, device) = setup(backend).await;
    let code = server.admin(&["device-code"]);
    let pubkey = b64::encode(SigningKey::from_bytes(&[90; 32]).verifying_key().as_bytes());
    for name in [
        "".to_owned(),
        "   ".to_owned(),
        "长".repeat(101),
        "平板\n2".to_owned(),
        "tab\there".to_owned(),
        "nul\0".to_owned(),
    ] {
        let resp = server
            .http
            .post(server.url("/v1/enroll/device"))
            .json(&json!({"code": code, "pubkey": pubkey, "name": name}))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 400, Some("bad_field")).await;
    }
    // 100 characters (not bytes) is fine, and the code was not used up by the refusals.
    let resp = server
        .http
        .post(server.url("/v1/enroll/device"))
        .json(&json!({"code": code, "pubkey": pubkey, "name": "长".repeat(100)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    let tech_code = server.admin(&["technician-code", "--id", "T0023"]);
    let tech_key = b64::encode(SigningKey::from_bytes(&[91; 32]).verifying_key().as_bytes());
    for tech_id in ["".to_owned(), "x".repeat(65), "T00\n23".to_owned()] {
        let resp = server
            .http
            .post(server.url("/v1/enroll/technician"))
            .bearer_auth(&device.token)
            .json(&json!({"code": tech_code, "tech_id": tech_id, "pubkey": tech_key}))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 400, Some("bad_field")).await;
    }
    assert_eq!(enrol_technician_raw(&server, &device, &tech_code, "T0023", 91).await.status(), 200);
    assert_nothing_stored(&server, &device).await;
}
