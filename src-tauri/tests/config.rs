//! The shell's configuration says what the architecture promises: a strict
//! CSP, only the permissions the screens use, the screens embedded. Being an
//! integration test, it also makes `cargo test --workspace` build the
//! `hearth-app` binary the end-to-end tests in hearth-tests drive.

use serde_json::Value;

fn json(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    serde_json::from_str(&std::fs::read_to_string(&full).expect("readable")).expect("valid JSON")
}

#[test]
fn the_binary_is_built_for_the_end_to_end_tests() {
    assert!(std::path::Path::new(env!("CARGO_BIN_EXE_hearth-app")).is_file());
}

#[test]
fn identity_window_and_screens() {
    let conf = json("tauri.conf.json");
    assert_eq!(conf["identifier"], "cn.hearth.tablet");
    assert_eq!(conf["productName"], "Hearth");
    assert_eq!(conf["build"]["frontendDist"], "../ui/dist");
    let window = &conf["app"]["windows"][0];
    assert_eq!(window["title"], "Hearth 热力服务");
    assert_eq!((window["width"].as_u64(), window["height"].as_u64()), (Some(1280), Some(800)));
}

#[test]
fn the_csp_loads_nothing_from_elsewhere() {
    let csp = &json("tauri.conf.json")["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["connect-src"], "ipc: http://ipc.localhost");
    assert_eq!(csp["style-src"], "'self'");
    assert_eq!(csp["img-src"], "'self' data: blob:");
    assert_eq!(csp["object-src"], "'none'");
    for (directive, sources) in csp.as_object().expect("a CSP map") {
        let sources = sources.as_str().expect("sources as text");
        assert!(
            !sources.contains("http:") || directive == "connect-src",
            "{directive} reaches out: {sources}"
        );
        assert!(!sources.contains("https:") && !sources.contains('*'), "{directive} reaches out: {sources}");
        assert!(!sources.contains("unsafe-eval"), "{directive} allows eval");
    }
}

#[test]
fn the_screens_get_only_the_permissions_they_use() {
    let cap = json("capabilities/default.json");
    let granted: Vec<&str> =
        cap["permissions"].as_array().expect("a list").iter().map(|p| p.as_str().expect("a name")).collect();
    for p in &granted {
        assert!(!p.ends_with(":default"), "{p} grants a whole default set");
        assert!(
            p.starts_with("core:event:") || p.starts_with("core:app:") || p.starts_with("core:window:"),
            "{p}"
        );
    }
    assert!(granted.contains(&"core:event:allow-listen") && granted.contains(&"core:event:allow-unlisten"));
}
