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
