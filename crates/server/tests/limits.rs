//! Per-device rate limits: a tablet that floods the server is told to wait
//! (429 with Retry-After, as JSON); other tablets are not affected.

mod common;

use common::*;
use serde_json::Value;

async fn head(server: &TestServer, device: &TestDevice) -> reqwest::Response {
    server
        .http
        .get(server.url(&format!("/v1/devices/{}/head", device.device_id)))
        .bearer_auth(&device.token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tablet_gets_429_with_retry_after_and_others_are_served() {
    let server = TestServer::start(Backend::Sqlite);
    let noisy = server.enrol_device("噪声平板", 1).await;
    let quiet = server.enrol_device("安静平板", 2).await;
    let mut limited = None;
    for _ in 0..200 {
        let resp = head(&server, &noisy).await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 200);
    }
    let resp = limited.expect("200 requests at once exceed a tablet's burst");
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After is a short wait in seconds: {wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["message"].is_string());
    assert_eq!(head(&server, &quiet).await.status(), 200, "limits are per tablet");
}

// --- unauthenticated and slow clients ----------------------------------------

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn host(server: &TestServer) -> String {
    server.base.strip_prefix("http://").expect("a plain HTTP server").to_owned()
}

/// What the server sends back on `stream` until it closes it (at most
/// `wait`); an error (a reset) counts as closed.
async fn answer_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_wrong_enrolment_codes_from_one_address_get_429_and_others_are_served() {
    let server = TestServer::start(Backend::Sqlite);
    let device = server.enrol_device("合法平板", 3).await;
    let pubkey = hearth_protocol::b64::encode(
        hearth_protocol::SigningKey::from_bytes(&[4; 32]).verifying_key().as_bytes(),
    );
    let (mut rejected, mut limited) = (0, 0);
    for n in 0..300 {
        let resp = server
            .http
            .post(server.url("/v1/enroll/device"))
            .json(&serde_json::json!({"code": format!("WRNG-{n:04}-CODE"), "pubkey": pubkey, "name": "x"}))
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            403 => {
                assert_eq!(limited, 0, "once limited, the address stays limited within the test");
                rejected += 1;
            }
            429 => {
                if limited == 0 {
                    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!((1..=120).contains(&wait), "Retry-After is a short wait in seconds: {wait}");
                    let body = expect_json_error(resp, 429, Some("rate_limited")).await;
                    assert!(body["message"].as_str().unwrap().contains("address"), "{body}");
                }
                limited += 1;
            }
            other => panic!("a wrong code answers 403 or 429, not {other}"),
        }
    }
    assert!((1..=30).contains(&rejected), "at most the burst is looked at: {rejected}");
    assert!(limited >= 260, "the rest are refused unread: {limited}");

    // Tablets with a valid token behind the same address are not held up.
    let started = Instant::now();
    let resp = head(&server, &device).await;
    assert_eq!(resp.status(), 200, "a valid token is never limited by address");
    let key = server.http.get(server.url("/v1/server-key")).send().await.unwrap();
    assert_eq!(key.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10), "answered promptly: {:?}", started.elapsed());

    // A wrong token from the limited address is refused the same way.
    let resp = server
        .http
        .get(server.url(&format!("/v1/devices/{}/head", device.device_id)))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    expect_json_error(resp, 429, Some("rate_limited")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_half_open_connections_do_not_stop_a_normal_request_and_are_closed() {
    let mut server = TestServer::start(Backend::Sqlite);
    server.kill();
    server.spawn_with_args(&["--header-timeout-ms", "2000"]);
    let addr = host(&server);
    let mut held = Vec::new();
    for n in 0..300 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        if n % 2 == 1 {
            // Half a request header, then nothing.
            stream.write_all(b"GET /v1/server-key HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
        }
        held.push(stream);
    }

    let started = Instant::now();
    let resp =
        tokio::time::timeout(Duration::from_secs(20), server.http.get(server.url("/v1/server-key")).send())
            .await
            .expect("a normal request is answered while 300 connections hang")
            .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10), "answered promptly: {:?}", started.elapsed());

    // The server closes them once the header timeout passes.
    for (n, stream) in held.iter_mut().enumerate().step_by(15) {
        let answer = answer_until_closed(stream, Duration::from_secs(30)).await;
        let answer = answer.unwrap_or_else(|| panic!("connection {n} is still open after 30 s"));
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "connection {n} is closed without a request being served: {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_or_trickles_is_cut_off_with_408() {
    let mut server = TestServer::start(Backend::Sqlite);
    server.kill();
    server.spawn_with_args(&["--body-timeout-ms", "1000", "--request-timeout-ms", "4000"]);
    let device = server.enrol_device("慢平板", 5).await;
    let head = format!(
        "POST /v1/devices/{}/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"entries\": [",
        device.device_id, device.token
    );

    // Stalls: nothing more after the first bytes of the body.
    let mut stalled = TcpStream::connect(host(&server)).await.expect("connect");
    stalled.write_all(head.as_bytes()).await.expect("write");
    let answer = answer_until_closed(&mut stalled, Duration::from_secs(30)).await;
    let answer = answer.expect("a stalled body is cut off, not waited for forever");
    assert!(
        answer.is_empty() || (answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout")),
        "a stalled body is answered 408 or its connection closed: {answer}"
    );

    // Trickles: a byte every half second never trips the idle timeout,
    // but the whole request runs out of time.
    let mut trickling = TcpStream::connect(host(&server)).await.expect("connect");
    trickling.write_all(head.as_bytes()).await.expect("write");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        assert!(Instant::now() < deadline, "a trickling body is cut off, not waited for forever");
        let _ = trickling.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_millis(500), trickling.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&out);
    assert!(
        answer.is_empty() || (answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout")),
        "a trickling body is answered 408 or its connection closed: {answer}"
    );
    assert_eq!(head_status(&server, &device).await, 200, "the server still serves");
}

async fn head_status(server: &TestServer, device: &TestDevice) -> u16 {
    head(server, device).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_limit_requests_are_told_503_overloaded() {
    let mut server = TestServer::start(Backend::Sqlite);
    server.kill();
    server.spawn_with_args(&["--max-concurrent", "1", "--body-timeout-ms", "6000"]);
    let device = server.enrol_device("占位平板", 6).await;
    // One request holds the only slot: its body never comes.
    let mut holding = TcpStream::connect(host(&server)).await.expect("connect");
    let head = format!(
        "POST /v1/devices/{}/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        device.device_id, device.token
    );
    holding.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let resp = server.http.get(server.url("/v1/server-key")).send().await.unwrap();
    assert_eq!(resp.headers()["retry-after"], "1");
    expect_json_error(resp, 503, Some("overloaded")).await;

    // Once the slot is free (the stalled body timed out), requests are served again.
    let answer = answer_until_closed(&mut holding, Duration::from_secs(30)).await;
    assert!(answer.is_some(), "the stalled request ends");
    let resp = server.http.get(server.url("/v1/server-key")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
