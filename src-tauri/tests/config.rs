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
            p.starts_with("core:event:") || p.starts_with("allow-"),
            "{p} is not something the screens use"
        );
    }
    assert!(granted.contains(&"core:event:allow-listen") && granted.contains(&"core:event:allow-unlisten"));
}

/// The names between the quotes of each `"name",` line of `text`.
fn quoted_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix("\",").map(str::to_owned))
        .filter(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect()
}

#[test]
fn every_command_is_declared_to_tauri_build_and_granted_by_name_and_nothing_else_is() {
    let read =
        |p: &str| std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap();
    let commands_rs = read("src/commands.rs");
    let mut defined: Vec<String> = commands_rs
        .split("#[tauri::command]")
        .skip(1)
        .filter_map(|after| after.split("fn ").nth(1)?.split('(').next().map(str::to_owned))
        .collect();
    defined.sort();
    let mut declared = quoted_names(&read("build.rs"));
    declared.sort();
    assert_eq!(defined, declared, "build.rs declares exactly the commands of src/commands.rs");
    let cap = json("capabilities/default.json");
    let mut granted: Vec<String> = cap["permissions"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(|c| c.replace('-', "_")))
        .collect();
    granted.sort();
    assert_eq!(granted, declared, "each command is granted by name, and nothing else");
}
