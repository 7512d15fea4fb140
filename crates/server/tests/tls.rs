//! TLS: the real binary with `--tls-cert`/`--tls-key` (a self-signed
//! certificate made for the test) serves the protocol over HTTPS to a client
//! that trusts that certificate, and nothing over plain HTTP.

mod common;

use std::time::Duration;

use common::*;
use hearth_protocol::api::EntryStatus;
use hearth_protocol::{VerifyingKey, b64, seal::kid_of};
use serde_json::Value;

struct Tls {
    server: TestServer,
    cert_pem: String,
    /// `https://127.0.0.1:PORT`
    base: String,
}

/// A SQLite server with the demo data, restarted with a fresh self-signed
/// certificate for `localhost` and `127.0.0.1`.
fn tls_server() -> Tls {
    let mut server = TestServer::start(Backend::Sqlite);
    server.kill();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert_path = server.dir.path().join("cert.pem");
    let key_path = server.dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    server.spawn_with_args(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    let base = server.base.clone();
    assert!(base.starts_with("https://127.0.0.1:"), "the server announces https: {base}");
    Tls { server, cert_pem, base }
}

fn trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_key_is_served_over_https_to_a_client_that_trusts_the_certificate() {
    let tls = tls_server();
    let http = trusting(&tls.cert_pem);
    let resp = http.get(format!("{}/v1/server-key", tls.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let key: Value = resp.json().await.unwrap();
    let raw = b64::decode_array::<32>(key["public_key"].as_str().unwrap()).expect("32 bytes, base64url");
    let public = VerifyingKey::from_bytes(&raw).expect("an Ed25519 public key");
    assert_eq!(key["kid"], kid_of(&public), "kid is derived from the key (§4)");

    // By name too: the certificate names localhost.
    let port = tls.base.rsplit(':').next().unwrap();
    let by_name = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", format!("127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    let resp = by_name.get(format!("https://localhost:{port}/v1/server-key")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again, key, "the same key whichever name is used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_enrols_and_pushes_over_https() {
    let mut tls = tls_server();
    tls.server.http = trusting(&tls.cert_pem);
    let mut device = tls.server.enrol_device("加密平板", 1).await;
    tls.server.enrol_technician(&mut device, "T0017", 2).await;
    let content = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(content);
    let resp = tls.server.push(&device, &[sealed.envelope]).await;
    assert_eq!(resp.results[0].status, EntryStatus::Accepted);
    let receipt = resp.results[0].receipt.as_ref().unwrap();
    hearth_protocol::receipt::verify_receipt(
        receipt,
        resp.results[0].receipt_sig.as_ref().unwrap(),
        &tls.server.server_key().await,
    )
    .expect("the receipt verifies against the key served over https");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails() {
    let tls = tls_server();
    let plain_url = tls.base.replacen("https://", "http://", 1);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let result = http.get(format!("{plain_url}/v1/server-key")).send().await;
    match result {
        Err(_) => {}
        Ok(resp) => {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            panic!("plain HTTP to the TLS port must not be served, got {status}: {body}");
        }
    }
    // The server is still fine for TLS clients afterwards.
    let resp = trusting(&tls.cert_pem).get(format!("{}/v1/server-key", tls.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let tls = tls_server();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let result = http.get(format!("{}/v1/server-key", tls.base)).send().await;
    assert!(result.is_err(), "a self-signed certificate is not trusted by default: {result:?}");

    // Nor one made for another name.
    let other = rcgen::generate_simple_self_signed(vec!["example.org".to_owned()]).unwrap();
    let result = trusting(&other.cert.pem()).get(format!("{}/v1/server-key", tls.base)).send().await;
    assert!(result.is_err(), "trusting another certificate does not help: {result:?}");
}

/// Runs `hearth-server serve …` expecting it to exit on its own; (success, stdout, stderr).
fn serve_expecting_exit(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    use std::io::Read as _;
    let mut child = std::process::Command::new(BIN)
        .arg("serve")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve {args:?} kept running; it must refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.success(), out, err)
}

#[test]
fn serve_refuses_to_start_with_a_key_that_is_not_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        .unwrap();
    let database = format!("sqlite://{}", dir.path().join("server.db").display());
    let blobs = dir.path().join("blobs");
    let os = |s: &str| std::ffi::OsString::from(s);
    let args = [
        os("--listen"),
        os("127.0.0.1:0"),
        os("--database"),
        os(&database),
        os("--blobs"),
        blobs.clone().into_os_string(),
        os("--tls-cert"),
        cert_path.clone().into_os_string(),
        os("--tls-key"),
        key_path.into_os_string(),
    ];
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (ok, stdout, stderr) = serve_expecting_exit(&refs);
    assert!(!ok, "serve must exit with an error, not serve without TLS");
    assert!(!stdout.contains("listening"), "it never listened: {stdout}");
    assert!(stderr.contains("TLS"), "the error names TLS: {stderr}");

    // A certificate without its key is refused before anything starts.
    let args = [
        os("--listen"),
        os("127.0.0.1:0"),
        os("--database"),
        os(&database),
        os("--tls-cert"),
        cert_path.into_os_string(),
    ];
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (ok, stdout, _) = serve_expecting_exit(&refs);
    assert!(!ok, "--tls-cert without --tls-key is refused");
    assert!(!stdout.contains("listening"), "it never listened: {stdout}");
}
