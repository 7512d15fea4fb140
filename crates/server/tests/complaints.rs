//! Complaints (their working-day deadline, the list with its pages, the
//! answer), the follow-up call window and the office's live event stream,
//! against the real server binary on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc, Weekday};
use common::{Backend, TestServer};
use futures_util::StreamExt;
use hearth_domain::{WorkCalendar, add_working_days_in};
use serde_json::{Value, json};

on_both_backends!(
    complaints_are_listed_by_working_days_across_holidays_paged_searched_and_answered,
    the_event_stream_tells_of_a_push_and_of_an_office_change,
    the_event_stream_keeps_alive_ends_when_asked_and_refuses_bad_parameters,
    the_call_window_says_whether_a_follow_up_call_may_be_made_now,
);

fn zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

async fn call(server: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = server.http.request(method, server.url(path)).bearer_auth(&server.operator);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| json!(text)))
}

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    call(server, reqwest::Method::GET, path, None).await
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    call(server, reqwest::Method::POST, path, Some(body)).await
}

/// A 400 `bad_field` whose message starts with `field`.
fn assert_bad_field((status, body): (u16, Value), field: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_field", "{body}");
    assert!(body["message"].as_str().unwrap().starts_with(field), "names {field}: {body}");
}

fn complaint(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "category": "complaint",
        "customer": {"name": name, "phone": "13800138000",
                     "address": {"community": "幸福小区", "building": "3号楼", "unit": "2单元", "room": "301"}},
        "fault_description": "维修人员迟到两小时",
    })
}

/// The next `n` weekdays after `day`.
fn weekdays_after(day: NaiveDate, n: usize) -> Vec<NaiveDate> {
    day.iter_days().skip(1).filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)).take(n).collect()
}

async fn complaints_are_listed_by_working_days_across_holidays_paged_searched_and_answered(backend: Backend) {
    let server = TestServer::start(backend);
    // Three public holidays in the coming days: the five working days stretch past them.
    let today = Utc::now().with_timezone(&zone()).date_naive();
    let holidays = weekdays_after(today, 3);
    let (_, rules) = get(&server, "/v1/office/rule-set").await;
    let mut changed = rules["body"].clone();
    changed["deadlines"]["calendar"] = json!({"holidays": holidays});
    let (status, stored) = call(&server, reqwest::Method::PUT, "/v1/office/rule-set", Some(changed)).await;
    assert_eq!(status, 200, "{stored}");
    // Orders are received to the second: wait until one can only be judged by the new rules.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    for (id, name) in [("C-1", "赵一"), ("C-2", "钱二"), ("C-3", "孙三")] {
        let (status, created) = post(&server, "/v1/office/work-orders", complaint(id, name)).await;
        assert_eq!(status, 201, "{created}");
    }
    let mut repair = complaint("R-1", "李四");
    repair["category"] = json!("repair");
    assert_eq!(post(&server, "/v1/office/work-orders", repair).await.0, 201);

    let (status, list) = get(&server, "/v1/office/complaints").await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "complaints only, not the repair: {ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("C-")));
    let calendar = WorkCalendar { holidays: holidays.clone(), working_weekends: vec![] };
    for c in list {
        let received: DateTime<Utc> = c["order"]["received_at"].as_str().unwrap().parse().unwrap();
        let due: DateTime<Utc> = c["deadline"]["due"].as_str().unwrap().parse().unwrap();
        assert_eq!(c["deadline"]["kind"], "complaint_answered");
        assert_eq!(c["state"], "unanswered");
        assert_eq!(due, add_working_days_in(received, 5, zone(), &calendar), "the holidays do not count");
        let plain = add_working_days_in(received, 5, zone(), &WorkCalendar::default());
        assert!(due > plain, "without the holidays it would be due earlier: {due} vs {plain}");
        assert_eq!(c["working_days_left"], 5, "{c}");
    }

    // Pages of two: the next one is in the Link header, and the last has none.
    let resp = server
        .http
        .get(server.url("/v1/office/complaints?limit=2"))
        .bearer_auth(&server.operator)
        .send()
        .await
        .unwrap();
    let link = resp.headers().get("link").expect("a next page").to_str().unwrap().to_owned();
    let first: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    assert!(next.starts_with("/v1/office/complaints?") && next.contains("limit=2"), "{next}");
    let resp = server.http.get(server.url(next)).bearer_auth(&server.operator).send().await.unwrap();
    assert!(resp.headers().get("link").is_none(), "the last page links nowhere");
    let second: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(second.len(), 1);
    let mut paged: Vec<&str> = first.iter().chain(&second).map(|c| c["id"].as_str().unwrap()).collect();
    paged.sort_unstable();
    assert_eq!(paged, ["C-1", "C-2", "C-3"], "every complaint once across the pages");

    // Search: the customer's name, percent-encoded.
    let (_, found) = get(&server, "/v1/office/complaints?q=%E9%92%B1%E4%BA%8C").await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["id"], "C-2");

    // Customer service answers C-2: it leaves the unanswered list, attributed.
    let rev = found[0]["rev"].as_u64().unwrap();
    let path = "/v1/office/complaints/C-2/answer";
    assert_bad_field(post(&server, path, json!({"answer": "  ", "expected_rev": rev})).await, "answer");
    let (status, bad) = post(&server, path, json!({"expected_rev": rev})).await;
    assert_eq!((status, bad["error"].as_str()), (400, Some("bad_json")), "{bad}");
    let (status, stale) = post(&server, path, json!({"answer": "已致电道歉", "expected_rev": rev + 7})).await;
    assert_eq!((status, stale["error"].as_str()), (409, Some("stale_revision")), "{stale}");
    let (status, answered) =
        post(&server, path, json!({"answer": "已致电道歉并安排回访", "expected_rev": rev})).await;
    assert_eq!(status, 200, "{answered}");
    let history = answered["body"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert!(last["detail"].as_str().unwrap().contains("已致电道歉并安排回访"), "{last}");
    let (status, again) =
        post(&server, path, json!({"answer": "再次答复", "expected_rev": answered["rev"]})).await;
    assert_eq!((status, again["error"].as_str()), (409, Some("already_answered")), "{again}");
    let (status, not) =
        post(&server, "/v1/office/complaints/R-1/answer", json!({"answer": "x", "expected_rev": 1})).await;
    assert_eq!((status, not["error"].as_str()), (409, Some("not_a_complaint")), "{not}");
    let (status, _) =
        post(&server, "/v1/office/complaints/NOPE/answer", json!({"answer": "x", "expected_rev": 1})).await;
    assert_eq!(status, 404);

    let (_, unanswered) = get(&server, "/v1/office/complaints?status=unanswered").await;
    assert_eq!(unanswered.as_array().unwrap().len(), 2);
    let (_, done) = get(&server, "/v1/office/complaints?status=answered").await;
    assert_eq!(done.as_array().unwrap().len(), 1);
    assert_eq!(done[0]["deadline"]["state"], "met", "{}", done[0]);
    assert!(done[0]["answered_at"].is_string());
    let (_, audit) = get(&server, "/v1/office/audit").await;
    let logged = audit.to_string();
    assert!(
        logged.contains("/v1/office/complaints/{id}/answer") || logged.contains("C-2"),
        "audited: {logged}"
    );

    // What each bad parameter gets.
    assert_bad_field(get(&server, "/v1/office/complaints?status=open").await, "status");
    assert_bad_field(get(&server, "/v1/office/complaints?limit=0").await, "limit");
    assert_bad_field(get(&server, "/v1/office/complaints?limit=201").await, "limit");
    assert_bad_field(get(&server, "/v1/office/complaints?limit=x").await, "limit");
    assert_bad_field(get(&server, "/v1/office/complaints?cursor=!!").await, "cursor");
    assert_bad_field(get(&server, "/v1/office/complaints?cursor=bm8tY29sb24").await, "cursor");
    assert_bad_field(get(&server, "/v1/office/complaints?sort=due").await, "sort");
    let (status, _) =
        server.http.get(server.url("/v1/office/complaints")).send().await.map(|r| (r.status(), ())).unwrap();
    assert_eq!(status, 401);
}

/// An open event stream, read a chunk at a time.
struct EventStream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    seen: String,
}

impl EventStream {
    async fn open(server: &TestServer, query: &str, last_event_id: Option<&str>) -> (reqwest::Response, ()) {
        let mut req = server
            .http
            .get(server.url(&format!("/v1/office/events{query}")))
            .bearer_auth(&server.operator)
            .timeout(Duration::from_secs(120));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        (req.send().await.unwrap(), ())
    }

    fn of(resp: reqwest::Response) -> Self {
        Self { body: Box::pin(resp.bytes_stream()), seen: String::new() }
    }

    /// Reads until `needle` has arrived (within `wait`); everything read so far.
    async fn until(&mut self, needle: &str, wait: Duration) -> String {
        let deadline = tokio::time::Instant::now() + wait;
        while !self.seen.contains(needle) {
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within {wait:?}; got {:?}", self.seen));
            match chunk {
                Some(Ok(bytes)) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                other => panic!("the stream ended before {needle:?} ({other:?}); got {:?}", self.seen),
            }
        }
        self.seen.clone()
    }

    /// Whether the stream ends within `wait`.
    async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(bytes))) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
            }
        }
    }
}

/// The `id:` of the event named `name` in `text`.
fn id_of(text: &str, name: &str) -> String {
    let block = text.split("\n\n").find(|b| b.lines().any(|l| l == format!("event: {name}"))).unwrap();
    block.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_owned()
}

async fn the_event_stream_tells_of_a_push_and_of_an_office_change(backend: Backend) {
    let server = TestServer::start(backend);
    let mut device = server.enrol_device("测试平板 1", 1).await;
    server.enrol_technician(&mut device, "T0017", 2).await;

    let (resp, ()) = EventStream::open(&server, "", None).await;
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let mut stream = EventStream::of(resp);
    let ready = stream.until("event: ready", Duration::from_secs(10)).await;
    assert!(ready.contains("\"missed\":true"), "a first connection refetches: {ready}");

    // A tablet syncs: the board hears of its order.
    let content = device.arrival("WO-DEMO-0001");
    let sealed = device.seal(content);
    server.push(&device, std::slice::from_ref(&sealed.envelope)).await;
    let seen = stream.until("event: records", Duration::from_secs(10)).await;
    assert!(seen.contains("\"work_orders\":[\"WO-DEMO-0001\"]"), "{seen}");
    assert!(seen.contains("\"count\":1"), "{seen}");

    // The office changes an order: its id and new rev.
    let (status, created) = post(&server, "/v1/office/work-orders", complaint("C-EV", "周五")).await;
    assert_eq!(status, 201, "{created}");
    let seen = stream.until("\"id\":\"C-EV\"", Duration::from_secs(10)).await;
    assert!(seen.contains("event: work_order"), "{seen}");
    let last = id_of(&seen, "work_order");

    // Reconnecting with the last id seen: nothing was missed. With an
    // older one (or none): refetch.
    let (resp, ()) = EventStream::open(&server, "", Some(&last)).await;
    let mut again = EventStream::of(resp);
    let ready = again.until("event: ready", Duration::from_secs(10)).await;
    assert!(ready.contains("\"missed\":false"), "{ready}");
    let (resp, ()) = EventStream::open(&server, "", Some("stale-1")).await;
    let mut stale = EventStream::of(resp);
    assert!(stale.until("event: ready", Duration::from_secs(10)).await.contains("\"missed\":true"));
}

async fn the_event_stream_keeps_alive_ends_when_asked_and_refuses_bad_parameters(backend: Backend) {
    let server = TestServer::start(backend);
    let (resp, ()) = EventStream::open(&server, "?close_after=1", None).await;
    let mut short = EventStream::of(resp);
    assert!(short.ends_within(Duration::from_secs(10)).await, "close_after=1 ends the stream");
    assert!(short.seen.contains("retry: 1000"), "EventSource reconnects after a second: {}", short.seen);

    let (resp, ()) = EventStream::open(&server, "?close_after=25", None).await;
    let mut long = EventStream::of(resp);
    long.until(": keep-alive", Duration::from_secs(20)).await;

    for bad in ["?close_after=0", "?close_after=26", "?close_after=soon", "?since=1"] {
        let (status, body) = get(&server, &format!("/v1/office/events{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "bad_field", "{bad}: {body}");
    }
    let resp = server.http.get(server.url("/v1/office/events")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "no session, no events");
}

async fn the_call_window_says_whether_a_follow_up_call_may_be_made_now(backend: Backend) {
    let server = TestServer::start(backend);
    let (status, window) = get(&server, "/v1/office/call-window").await;
    assert_eq!(status, 200, "{window}");
    assert_eq!(window["calls_from"], "07:00:00");
    assert_eq!(window["calls_until"], "22:00:00");
    assert_eq!(window["meal_windows"][0], json!({"from": "11:30:00", "until": "13:30:00"}));
    let local = Utc::now().with_timezone(&zone()).time();
    let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let margin = TimeDelta::minutes(1);
    let near = |t: chrono::NaiveTime| (local - t).abs() < margin;
    // Skip the assertion within a minute of a boundary (the clock moves between calls).
    if ![hm(7, 0), hm(22, 0), hm(11, 30), hm(13, 30), hm(17, 30), hm(19, 0)].into_iter().any(near) {
        let meal = (hm(11, 30) <= local && local < hm(13, 30)) || (hm(17, 30) <= local && local < hm(19, 0));
        let hours = hm(7, 0) <= local && local <= hm(22, 0);
        assert_eq!(window["allowed"], hours && !meal, "{window}");
        let refusal = if !hours {
            json!("outside_calling_hours")
        } else if meal {
            json!("meal_time")
        } else {
            Value::Null
        };
        assert_eq!(window["refusal"], refusal, "{window}");
    }
}
