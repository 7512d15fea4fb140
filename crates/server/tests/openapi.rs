//! The OpenAPI document is generated from the handlers, and checked against
//! the running server: every documented operation is routed (never 404/405
//! for its method), and every method the document does not list on a path
//! is refused with 405.

mod common;

use common::*;
use serde_json::Value;

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

fn concrete(path: &str) -> String {
    // Path parameters get harmless, well-formed values.
    path.replace("{device_id}", "dev-none")
        .replace("{record_id}", "01890a5d-ac96-774b-bcce-b302099a8057")
        .replace("{sha256}", &"ab".repeat(32))
        .replace("{id}", "WO-NONE")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_undocumented_methods_are_refused() {
    let server = TestServer::start(Backend::Sqlite);
    let doc: Value =
        server.http.get(server.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "an OpenAPI 3 document");
    let paths = doc["paths"].as_object().unwrap();
    for expected in
        ["/v1/devices/{device_id}/entries", "/v1/uploads/{id}", "/v1/office/work-orders", "/v1/openapi.json"]
    {
        if expected == "/v1/openapi.json" {
            continue;
        }
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    let mut checked = 0;
    for (path, item) in paths {
        let url = server.url(&concrete(path));
        for method in METHODS {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = server.http.request(m, &url).bearer_auth(&server.operator).send().await.unwrap();
            let status = resp.status().as_u16();
            if item.get(*method).is_some() {
                assert!(status != 405, "{method} {path} is documented but answered 405");
                // A 404 may only be the handler's own "no such item", as JSON.
                if status == 404 && *method != "head" {
                    let body: Value = resp.json().await.unwrap();
                    assert_ne!(body["error"], "not_found_route", "{method} {path}");
                    assert_ne!(
                        body["message"], "no such endpoint",
                        "{method} {path} is documented but not routed"
                    );
                }
                checked += 1;
            } else if *method != "head" && *method != "options" {
                assert_eq!(status, 405, "{method} {path} is not documented, so it must not be served");
            }
        }
    }
    assert!(checked >= 30, "{checked} operations checked");
}

/// The document says what the routes answer: the office's lists are
/// arrays, and the statuses every route can give (from the layers in front
/// of it and the extractors it shares) are listed on each operation.
/// `scripts/schemathesis.sh` checks the same against generated requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_what_the_routes_answer() {
    let server = TestServer::start(Backend::Sqlite);
    let doc: Value =
        server.http.get(server.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        op(path, method)["responses"].as_object().unwrap().keys().cloned().collect()
    };

    for list in [
        "/v1/office/work-orders",
        "/v1/office/follow-ups",
        "/v1/office/repeat-repairs",
        "/v1/office/technicians",
        "/v1/office/thermometers",
    ] {
        let schema = &op(list, "get")["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(schema["type"], "array", "{list} is documented as an array: {schema}");
        let answer: Value = server
            .http
            .get(server.url(list))
            .bearer_auth(&server.operator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer.is_array(), "{list} answers an array: {answer}");
    }

    let put_rules = statuses("/v1/office/rule-set", "put");
    for status in ["200", "400", "401", "409", "413", "415", "422", "429", "503"] {
        assert!(put_rules.contains(&status.to_owned()), "PUT rule-set documents {status}: {put_rules:?}");
    }
    let enroll = statuses("/v1/enroll/device", "post");
    for status in ["200", "400", "403", "415", "422", "429"] {
        assert!(enroll.contains(&status.to_owned()), "POST enroll/device documents {status}: {enroll:?}");
    }
    assert!(statuses("/v1/uploads/{id}", "patch").contains(&"404".to_owned()));
    // Every secured operation documents 401 and 429, every one 503, each
    // as the one error shape.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut must = vec!["503"];
            if secured {
                must.extend(["401", "429"]);
            }
            for status in must {
                let schema = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{method} {path} does not document {status}"))["content"]["application/json"]
                    ["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
    }

    // What the document promises for a rule set the office gets wrong.
    let resp = server
        .http
        .put(server.url("/v1/office/rule-set"))
        .bearer_auth(&server.operator)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 422, Some("invalid_rule_set")).await;
}
