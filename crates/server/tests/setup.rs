//! The administrator's endpoints (office::setup), over HTTP against the real
//! server on both backends: each happy path, each bad input with its status
//! and code, and a non-admin refused.

#[macro_use]
mod common;

use common::{Backend, TestServer, expect_json_error, now_ms};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = server.http.request(method, server.url(path)).bearer_auth(&server.operator);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn ok(server: &TestServer, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let resp = call(server, method, path, body).await;
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn refused(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: &str,
) -> Value {
    expect_json_error(call(server, method, path, body).await, status, Some(code)).await
}

/// A manager's session cookie and CSRF token (the demo's manager account).
async fn manager(server: &TestServer) -> (String, String) {
    let resp = server
        .http
        .post(server.url("/v1/office/session"))
        .json(&json!({"username": "manager", "password": "demo-manager-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

async fn technicians_and_their_keys(backend: Backend) {
    let server = TestServer::start(backend);
    let mut tablet = server.enrol_device("平板-1", 7).await;
    let kid = server.enrol_technician(&mut tablet, "T0017", 8).await;

    let page = ok(&server, Method::GET, "/v1/office/setup/technicians?q=王建", None, 200).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["tech_id"], "T0017");
    assert_eq!(items[0]["keys"][0]["kid"], kid.as_str());
    assert!(items[0]["keys"][0].get("revoked_at_ms").is_none());
    let first = ok(&server, Method::GET, "/v1/office/setup/technicians?limit=2", None, 200).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second =
        ok(&server, Method::GET, &format!("/v1/office/setup/technicians?limit=2&cursor={cursor}"), None, 200)
            .await;
    assert!(second["items"][0]["tech_id"].as_str().unwrap() > cursor.as_str());
    for (path, field) in [
        ("/v1/office/setup/technicians?limit=0", "limit"),
        ("/v1/office/setup/technicians?limit=x", "limit"),
        ("/v1/office/setup/technicians?sort=name", "sort"),
    ] {
        let body = refused(&server, Method::GET, path, None, 400, "bad_field").await;
        assert!(body["message"].as_str().unwrap().starts_with(field), "{body}");
    }

    // "t0017" beside "T0017" would be two technicians: ids are exact, on the tablet too.
    let body = refused(
        &server,
        Method::POST,
        "/v1/office/technicians",
        Some(json!({"tech_id": "t0017", "name": "王建国", "phone": "13803510017"})),
        409,
        "technician_exists",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("T0017"), "{body}");

    let code =
        ok(&server, Method::POST, "/v1/office/setup/technicians/T0023/enrolment-code", None, 201).await;
    assert_eq!(code["tech_id"], "T0023");
    assert_eq!(code["code"].as_str().unwrap().len(), 14);
    assert!(code["expires_at_ms"].as_i64().unwrap() > now_ms() + 71 * 3600 * 1000);
    refused(
        &server,
        Method::POST,
        "/v1/office/setup/technicians/T9999/enrolment-code",
        None,
        404,
        "not_found",
    )
    .await;

    // Revocation: the future refused, the past only with a reason, then once.
    let path = format!("/v1/office/setup/technician-keys/{kid}/revoke");
    let future = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::TimeDelta::hours(2)).to_rfc3339();
    let body =
        refused(&server, Method::POST, &path, Some(json!({"effective_at": future})), 400, "bad_field").await;
    assert!(body["message"].as_str().unwrap().starts_with("effective_at"), "{body}");
    let body =
        refused(&server, Method::POST, &path, Some(json!({"effective_at": past})), 400, "bad_field").await;
    assert!(body["message"].as_str().unwrap().starts_with("reason"), "{body}");
    refused(&server, Method::POST, &path, Some(json!({"effective_at": "yesterday"})), 400, "bad_field").await;
    refused(&server, Method::POST, &path, Some(json!({"when": past})), 400, "bad_json").await;
    refused(
        &server,
        Method::POST,
        "/v1/office/setup/technician-keys/nope/revoke",
        Some(json!({})),
        404,
        "not_found",
    )
    .await;
    let key =
        ok(&server, Method::POST, &path, Some(json!({"effective_at": past, "reason": "平板丢失"})), 200)
            .await;
    assert_eq!(key["revocation"]["reason"], "平板丢失");
    assert_eq!(
        key["revoked_at_ms"].as_i64().unwrap(),
        chrono::DateTime::parse_from_rfc3339(&past).unwrap().timestamp_millis()
    );
    refused(&server, Method::POST, &path, Some(json!({})), 409, "already_revoked").await;
    let page = ok(&server, Method::GET, "/v1/office/setup/technicians?q=T0017", None, 200).await;
    assert_eq!(
        page["items"][0]["keys"][0]["revocation"]["reason"], "平板丢失",
        "shown in the list afterwards"
    );
}

async fn tablets_codes_and_revocation(backend: Backend) {
    let server = TestServer::start(backend);
    let tablet = server.enrol_device("维修一组平板", 9).await;

    let code = ok(
        &server,
        Method::POST,
        "/v1/office/setup/tablets/enrolment-code",
        Some(json!({"server": "https://hearth.example.cn:8443/"})),
        201,
    )
    .await;
    let payload = code["qr_payload"].as_str().unwrap();
    let inner: Value = serde_json::from_str(payload.strip_prefix("hearth:enrol:v1:").unwrap()).unwrap();
    assert_eq!(inner, json!({"server": "https://hearth.example.cn:8443", "code": code["code"]}));
    assert!(code["qr_svg"].as_str().unwrap().starts_with("<svg"));
    // The code works on a tablet.
    let enrol = server
        .http
        .post(server.url("/v1/enroll/device"))
        .json(&json!({"code": code["code"], "pubkey": hearth_protocol::b64::encode(hearth_protocol::SigningKey::from_bytes(&[3u8; 32]).verifying_key().as_bytes()), "name": "新平板"}))
        .send()
        .await
        .unwrap();
    assert!(enrol.status().is_success(), "{:?}", enrol.text().await);
    for bad in [json!({"server": "hearth.example.cn"}), json!({"server": ""}), json!({"server": "ftp://x"})] {
        let body = refused(
            &server,
            Method::POST,
            "/v1/office/setup/tablets/enrolment-code",
            Some(bad),
            400,
            "bad_field",
        )
        .await;
        assert!(body["message"].as_str().unwrap().starts_with("server"), "{body}");
    }
    refused(
        &server,
        Method::POST,
        "/v1/office/setup/tablets/enrolment-code",
        Some(json!({})),
        400,
        "bad_json",
    )
    .await;

    let page = ok(&server, Method::GET, "/v1/office/setup/tablets?q=维修一组", None, 200).await;
    assert_eq!(page["items"][0]["device_id"], tablet.device_id.as_str());
    refused(&server, Method::GET, "/v1/office/setup/tablets?state=gone", None, 400, "bad_field").await;

    let path = format!("/v1/office/setup/tablets/{}/revoke", tablet.device_id);
    let revoked = ok(&server, Method::POST, &path, Some(json!({})), 200).await;
    assert!(revoked["revoked_at_ms"].as_i64().unwrap() <= now_ms());
    assert!(revoked["revocation"]["recorded_by"].is_string(), "{revoked}");
    refused(&server, Method::POST, &path, Some(json!({})), 409, "already_revoked").await;
    refused(&server, Method::POST, "/v1/office/setup/tablets/nope/revoke", Some(json!({})), 404, "not_found")
        .await;
    let revoked_list = ok(&server, Method::GET, "/v1/office/setup/tablets?state=revoked", None, 200).await;
    assert_eq!(revoked_list["items"].as_array().unwrap().len(), 1);
    assert_eq!(revoked_list["items"][0]["device_id"], tablet.device_id.as_str());
    let active = ok(&server, Method::GET, "/v1/office/setup/tablets?state=active", None, 200).await;
    assert!(active["items"].as_array().unwrap().iter().all(|t| t["device_id"] != tablet.device_id.as_str()));

    // Revocations are in the audit log with the tablet as the target.
    let audit = ok(&server, Method::GET, "/v1/office/audit?limit=500", None, 200).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == tablet.device_id.as_str() && e["status"] == 200),
        "{audit}"
    );
}

async fn thermometers_with_their_calibration(backend: Backend) {
    let server = TestServer::start(backend);
    let today = chrono::Utc::now().date_naive();
    for (serial, days) in [("ZZ-EXPIRED", -3), ("ZZ-SOON", 10), ("ZZ-FINE", 200)] {
        let until = (today + chrono::TimeDelta::days(days)).format("%Y-%m-%d").to_string();
        ok(
            &server,
            Method::POST,
            "/v1/office/thermometers",
            Some(json!({"serial": serial, "certificate": format!("JD-{serial}"), "valid_until": until})),
            201,
        )
        .await;
    }
    let page = ok(&server, Method::GET, "/v1/office/setup/thermometers?q=zz-&limit=200", None, 200).await;
    let states: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["serial"].as_str().unwrap().to_owned(), t["calibration"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        states,
        [
            ("ZZ-EXPIRED".into(), "expired".into()),
            ("ZZ-FINE".into(), "valid".into()),
            ("ZZ-SOON".into(), "expiring".into())
        ]
    );
    let expired =
        ok(&server, Method::GET, "/v1/office/setup/thermometers?calibration=expired&q=ZZ", None, 200).await;
    assert_eq!(expired["items"].as_array().unwrap().len(), 1);
    refused(&server, Method::GET, "/v1/office/setup/thermometers?calibration=old", None, 400, "bad_field")
        .await;
}

async fn operator_accounts(backend: Backend) {
    let server = TestServer::start(backend);
    let created = ok(
        &server,
        Method::POST,
        "/v1/office/setup/accounts",
        Some(json!({"username": "zhao.li", "name": "赵丽", "roles": ["dispatcher", "reviewer"], "password": "long-enough-1"})),
        201,
    )
    .await;
    assert_eq!(created["roles"], json!(["dispatcher", "reviewer"]));
    assert_eq!(created["disabled"], false);
    let page = ok(&server, Method::GET, "/v1/office/setup/accounts", None, 200).await;
    assert!(!page.to_string().contains("argon2"), "no password hashes: {page}");
    assert!(page["items"].as_array().unwrap().iter().any(|a| a["username"] == "zhao.li"));

    for (body, status, code, field) in [
        (
            json!({"username": "Zhao Li", "name": "x", "roles": ["manager"], "password": "long-enough-1"}),
            400,
            "bad_field",
            "username",
        ),
        (
            json!({"username": "a1", "name": "", "roles": ["manager"], "password": "long-enough-1"}),
            400,
            "bad_field",
            "name",
        ),
        (
            json!({"username": "a2", "name": "x", "roles": [], "password": "long-enough-1"}),
            400,
            "bad_field",
            "roles",
        ),
        (
            json!({"username": "a3", "name": "x", "roles": ["root"], "password": "long-enough-1"}),
            400,
            "bad_field",
            "roles",
        ),
        (
            json!({"username": "a4", "name": "x", "roles": ["manager"], "password": "short"}),
            400,
            "bad_field",
            "password",
        ),
        (
            json!({"username": "zhao.li", "name": "x", "roles": ["manager"], "password": "long-enough-1"}),
            409,
            "account_exists",
            "username",
        ),
    ] {
        let got = refused(&server, Method::POST, "/v1/office/setup/accounts", Some(body), status, code).await;
        assert!(got["message"].as_str().unwrap().starts_with(field), "{got}");
    }
    refused(
        &server,
        Method::POST,
        "/v1/office/setup/accounts",
        Some(json!({"username": "a5"})),
        400,
        "bad_json",
    )
    .await;

    let disabled = ok(&server, Method::POST, "/v1/office/setup/accounts/zhao.li/disable", None, 200).await;
    assert_eq!(disabled["disabled"], true);
    let login = server
        .http
        .post(server.url("/v1/office/session"))
        .json(&json!({"username": "zhao.li", "password": "long-enough-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let enabled = ok(&server, Method::POST, "/v1/office/setup/accounts/zhao.li/enable", None, 200).await;
    assert_eq!(enabled["disabled"], false);
    refused(&server, Method::POST, "/v1/office/setup/accounts/nobody/disable", None, 404, "not_found").await;
}

async fn only_admins_may_use_the_administration(backend: Backend) {
    let server = TestServer::start(backend);
    let (cookie, csrf) = manager(&server).await;
    for (method, path) in [
        (Method::GET, "/v1/office/setup/technicians"),
        (Method::GET, "/v1/office/setup/tablets"),
        (Method::GET, "/v1/office/setup/thermometers"),
        (Method::GET, "/v1/office/setup/accounts"),
        (Method::POST, "/v1/office/setup/technicians/T0017/enrolment-code"),
        (Method::POST, "/v1/office/setup/tablets/enrolment-code"),
        (Method::POST, "/v1/office/setup/tablets/x/revoke"),
        (Method::POST, "/v1/office/setup/technician-keys/x/revoke"),
        (Method::POST, "/v1/office/setup/accounts"),
        (Method::POST, "/v1/office/setup/accounts/admin/disable"),
        (Method::POST, "/v1/office/setup/accounts/admin/enable"),
    ] {
        let resp = server
            .http
            .request(method.clone(), server.url(path))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_json_error(resp, 403, Some("forbidden_role")).await;
    }
}

on_both_backends!(
    technicians_and_their_keys,
    tablets_codes_and_revocation,
    thermometers_with_their_calibration,
    operator_accounts,
    only_admins_may_use_the_administration
);
