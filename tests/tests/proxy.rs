//! The fault-injecting proxy itself, against a tiny in-test HTTP/1.1 server
//! that counts what really reached it, with reqwest (keep-alive pooling) as
//! the client. Timing is asserted only as lower bounds: the machine may be
//! loaded.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_tests::proxy::{Fault, FaultPlan, FaultProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the upstream server really saw.
#[derive(Debug, Default)]
struct UpstreamLog {
    connections: AtomicUsize,
    closed: AtomicUsize,
    bytes: AtomicUsize,
    requests: AtomicUsize,
    answered: AtomicUsize,
}

impl UpstreamLog {
    fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

/// A keep-alive HTTP/1.1 server answering every request with
/// `200 OK` and a body of `"{name} {request body length}"`.
#[derive(Debug)]
struct Upstream {
    addr: SocketAddr,
    log: Arc<UpstreamLog>,
    task: JoinHandle<()>,
}

impl Upstream {
    async fn start(name: &'static str) -> Upstream {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind the test upstream");
        let addr = listener.local_addr().expect("upstream address");
        let log = Arc::new(UpstreamLog::default());
        let task_log = Arc::clone(&log);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                task_log.connections.fetch_add(1, Ordering::SeqCst);
                let log = Arc::clone(&task_log);
                tokio::spawn(async move {
                    serve_upstream(stream, name, &log).await;
                    log.closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Upstream { addr, log, task }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_upstream(mut stream: TcpStream, name: &str, log: &UpstreamLog) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let (head_len, body_len) = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break (end + 4, content_length(&buf[..end]));
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    log.bytes.fetch_add(n, Ordering::SeqCst);
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        };
        while buf.len() < head_len + body_len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    log.bytes.fetch_add(n, Ordering::SeqCst);
                    buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
        buf.drain(..head_len + body_len);
        log.requests.fetch_add(1, Ordering::SeqCst);
        let body = format!("{name} {body_len}");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
        log.answered.fetch_add(1, Ordering::SeqCst);
    }
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Generous timeout: a hung request must fail the test, not a slow machine.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("build the reqwest client")
}

async fn post(client: &reqwest::Client, proxy: &FaultProxy, body: Vec<u8>) -> reqwest::Result<String> {
    client.post(format!("{}/echo", proxy.url())).body(body).send().await?.error_for_status()?.text().await
}

/// Waits, up to a generous deadline, until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn plan(fault_rate: f64, seed: u64, faults: Vec<Fault>) -> FaultPlan {
    FaultPlan { fault_rate, seed, faults }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_plan_forwards_two_hundred_requests_over_keep_alive() {
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::none()).await.unwrap();
    let client = client();
    for i in 0..200 {
        let body = vec![b'x'; i * 10];
        let text = post(&client, &proxy, body).await.unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        assert_eq!(text, format!("a {}", i * 10), "request {i}: the upstream's answer is passed through");
    }
    let stats = proxy.stats();
    assert_eq!(stats.requests, 200, "every request is counted once: {stats:?}");
    assert_eq!(stats.faults.total(), 0, "a clean plan injects nothing: {stats:?}");
    assert!(
        stats.connections < 200,
        "keep-alive connections were reused, so counting is per request: {stats:?}"
    );
    assert_eq!(UpstreamLog::get(&upstream.log.answered), 200, "the upstream answered all 200 requests");
    assert_eq!(
        stats.bytes_client_to_server as usize,
        UpstreamLog::get(&upstream.log.bytes),
        "every byte the proxy forwarded reached the upstream"
    );
    assert!(stats.bytes_server_to_client > 0, "response bytes are counted: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_arriving_in_many_reads_is_one_request() {
    const BODY: usize = 2 * 1024 * 1024;
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::none()).await.unwrap();
    let client = client();
    let text = post(&client, &proxy, vec![b'L'; BODY]).await.expect("a 2 MiB POST through a clean proxy");
    assert_eq!(text, format!("a {BODY}"), "the whole body reached the upstream");
    assert_eq!(proxy.stats().requests, 1, "2 MiB in many reads is one request: {:?}", proxy.stats());

    // A fault rolled per read would cut the body; per request it is applied
    // once, after the whole body went through.
    proxy.set_plan(FaultPlan::always(Fault::DropResponse));
    let result = post(&client, &proxy, vec![b'L'; BODY]).await;
    assert!(result.is_err(), "the response to the second 2 MiB POST is dropped, got {result:?}");
    eventually("the upstream answered both", || UpstreamLog::get(&upstream.log.answered) == 2).await;
    let stats = proxy.stats();
    assert_eq!(
        (stats.requests, stats.faults.drop_response),
        (2, 1),
        "one roll for the big request: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_connection_fails_every_request_before_the_server_sees_it() {
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::always(Fault::DropConnection)).await.unwrap();
    let client = client();
    for i in 0..20 {
        let result = post(&client, &proxy, b"hello".to_vec()).await;
        assert!(result.is_err(), "request {i} must fail under DropConnection, got {result:?}");
    }
    let stats = proxy.stats();
    assert_eq!(stats.faults.drop_connection, stats.requests, "every request was dropped: {stats:?}");
    assert_eq!(stats.requests, 20, "each of the 20 requests reached the proxy once: {stats:?}");
    assert_eq!(stats.bytes_client_to_server, 0, "nothing was forwarded: {stats:?}");
    assert_eq!(UpstreamLog::get(&upstream.log.bytes), 0, "the upstream saw no request bytes");
    assert_eq!(UpstreamLog::get(&upstream.log.requests), 0, "the upstream saw no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_response_fails_the_client_after_the_server_answered() {
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::always(Fault::DropResponse)).await.unwrap();
    let result = post(&client(), &proxy, vec![b'y'; 5_000]).await;
    assert!(result.is_err(), "the client must not get the dropped response, got {result:?}");
    eventually("the upstream answered the request", || UpstreamLog::get(&upstream.log.answered) == 1).await;
    assert_eq!(UpstreamLog::get(&upstream.log.requests), 1, "the upstream received the full request once");
    assert!(UpstreamLog::get(&upstream.log.bytes) > 5_000, "the whole body reached the upstream");
    let stats = proxy.stats();
    assert_eq!(stats.faults.drop_response, 1, "one DropResponse injected: {stats:?}");
    assert_eq!(stats.bytes_server_to_client, 0, "no response byte reached the client: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_upload_forwards_only_the_first_bytes() {
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::always(Fault::CutUpload { after_bytes: 1000 }))
        .await
        .unwrap();
    let result = post(&client(), &proxy, vec![b'z'; 100_000]).await;
    assert!(result.is_err(), "a cut upload must fail at the client, got {result:?}");
    eventually("the upstream connection closed", || UpstreamLog::get(&upstream.log.closed) >= 1).await;
    let received = UpstreamLog::get(&upstream.log.bytes);
    assert!(received <= 1000, "the upstream received {received} bytes, at most 1000 allowed");
    assert!(received > 0, "the first bytes of the request were forwarded");
    assert_eq!(UpstreamLog::get(&upstream.log.requests), 0, "the upstream never got a complete request");
    let stats = proxy.stats();
    assert!(stats.bytes_client_to_server <= 1000, "the proxy forwarded at most 1000 bytes: {stats:?}");
    assert_eq!(stats.faults.cut_upload, 1, "one CutUpload was injected: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_holds_the_request_back_then_succeeds() {
    let upstream = Upstream::start("a").await;
    let delay = Duration::from_millis(200);
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::always(Fault::Delay(delay))).await.unwrap();
    let client = client();
    for i in 0..3 {
        let started = Instant::now();
        let text = post(&client, &proxy, b"slow".to_vec())
            .await
            .unwrap_or_else(|e| panic!("delayed request {i} must succeed: {e}"));
        let took = started.elapsed();
        assert_eq!(text, "a 4", "delayed request {i} got the upstream's answer");
        assert!(took >= delay, "delayed request {i} took {took:?}, less than the {delay:?} delay");
    }
    assert_eq!(proxy.stats().faults.delay, 3, "one delay per request, also on a kept-alive connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_fails_the_request() {
    let upstream = Upstream::start("a").await;
    let client = client();
    // Several seeds, so resets strike both while sending and while answering.
    for seed in 0..10 {
        let proxy = FaultProxy::start(upstream.addr, plan(1.0, seed, vec![Fault::Reset])).await.unwrap();
        let result = post(&client, &proxy, vec![b'r'; 3_000]).await;
        assert!(result.is_err(), "seed {seed}: a reset request must fail, got {result:?}");
        let stats = proxy.stats();
        assert_eq!(
            (stats.requests, stats.faults.reset),
            (1, 1),
            "seed {seed}: one request, reset: {stats:?}"
        );
    }
    // A reset while answering comes after the server got the whole request;
    // one while sending leaves it incomplete. These seeds exercise both.
    let answered = UpstreamLog::get(&upstream.log.requests);
    assert!(0 < answered && answered < 10, "resets struck in both phases: {answered} of 10 while answering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_percent_fault_rate_fails_only_the_faulted_requests() {
    let upstream = Upstream::start("a").await;
    let faults = vec![
        Fault::DropConnection,
        Fault::DropResponse,
        Fault::Delay(Duration::from_millis(5)),
        Fault::CutUpload { after_bytes: 100 },
        Fault::Reset,
    ];
    let proxy = FaultProxy::start(upstream.addr, plan(0.3, 0x4845_4152_5448, faults)).await.unwrap();
    let client = client();
    let (mut ok, mut failed) = (0u64, 0u64);
    for i in 0..300 {
        match post(&client, &proxy, vec![b'q'; 500]).await {
            Ok(text) => {
                assert_eq!(text, "a 500", "request {i}: a successful request got the upstream's answer");
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    let stats = proxy.stats();
    assert_eq!(stats.requests, 300, "each request was seen once (no hidden retries): {stats:?}");
    let faulted = stats.faults.total();
    assert!((45..=135).contains(&faulted), "{faulted} of 300 requests faulted, expected 15%..45%: {stats:?}");
    assert!(stats.faults.delay > 0 && stats.faults.disruptive() > 0, "several kinds were picked: {stats:?}");
    assert_eq!(
        failed,
        stats.faults.disruptive(),
        "exactly the requests given a disruptive fault failed ({ok} succeeded): {stats:?}"
    );
    assert_eq!(ok, 300 - stats.faults.disruptive(), "every request without a disruptive fault succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_refuses_new_requests_until_back_online() {
    let upstream = Upstream::start("a").await;
    let proxy = FaultProxy::start(upstream.addr, FaultPlan::none()).await.unwrap();
    let client = client();
    post(&client, &proxy, b"before".to_vec()).await.expect("online, the request succeeds");

    proxy.set_offline(true);
    for i in 0..5 {
        let err = post(&client, &proxy, b"offline".to_vec())
            .await
            .expect_err(&format!("offline request {i} must fail"));
        assert!(!err.is_timeout(), "offline request {i} fails fast, not by timing out: {err}");
    }
    let stats = proxy.stats();
    // The first offline request may still go out on the pooled connection
    // that going offline cut (and fail there); the others need new ones.
    assert!(stats.refused_offline >= 4, "new connections were refused while offline: {stats:?}");
    assert_eq!(UpstreamLog::get(&upstream.log.requests), 1, "nothing reached the upstream while offline");

    proxy.set_offline(false);
    let text = post(&client, &proxy, b"after".to_vec()).await.expect("back online, the request succeeds");
    assert_eq!(text, "a 5", "back online, the upstream answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_offline_cuts_a_request_under_way() {
    let upstream = Upstream::start("a").await;
    let proxy = Arc::new(
        FaultProxy::start(upstream.addr, FaultPlan::always(Fault::Delay(Duration::from_secs(30))))
            .await
            .unwrap(),
    );
    let in_flight = {
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move { post(&client(), &proxy, b"doomed".to_vec()).await })
    };
    eventually("the proxy holds the request", || proxy.stats().requests == 1).await;
    proxy.set_offline(true);
    let result = in_flight.await.expect("the request task");
    let err = result.expect_err("a request under way when connectivity is lost must fail");
    assert!(!err.is_timeout(), "the cut request fails at once, not by timing out: {err}");
    assert_eq!(UpstreamLog::get(&upstream.log.requests), 0, "the held request never reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_upstream_sends_later_requests_to_the_new_server() {
    let first = Upstream::start("first").await;
    let second = Upstream::start("second").await;
    let proxy = FaultProxy::start(first.addr, FaultPlan::none()).await.unwrap();
    let client = client();
    let text = post(&client, &proxy, b"one".to_vec()).await.expect("request to the first upstream");
    assert_eq!(text, "first 3", "the first upstream answers before the switch");

    proxy.set_upstream(second.addr);
    for i in 0..3 {
        let text = post(&client, &proxy, b"two".to_vec())
            .await
            .unwrap_or_else(|e| panic!("request {i} after the switch failed: {e}"));
        assert_eq!(
            text, "second 3",
            "request {i} after the switch, on a kept-alive connection, goes to the new upstream"
        );
    }
    assert_eq!(
        UpstreamLog::get(&first.log.requests),
        1,
        "the first upstream got only the request before the switch"
    );
    assert_eq!(UpstreamLog::get(&second.log.requests), 3, "the second upstream got the later requests");
}
