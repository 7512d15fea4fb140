//! The office's lists page by the server's cursor (issue 15): the follow-up
//! queue, the review queue, the households and the complaints, each walked
//! page by page through its `Link: <…>; rel="next"` header on SQLite and
//! PostgreSQL. Every item comes once and none is skipped, even when the
//! sort key ties for all of them; a bad `limit` or `cursor` is a 400 that
//! names it.

#[macro_use]
mod common;

use std::collections::HashSet;

use common::Backend;
use common::office::*;
use hearth_domain::{CustomerSignoff, RoomKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every page of `first`, following the Link headers: each page's items,
/// checking no page is larger than `limit`.
async fn walk(server: &Server, first: &str, limit: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(p) = path.take() {
        let resp = server.raw(Method::GET, &p, Some(OPERATOR_TOKEN), None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{p}");
        path = resp.headers().get("link").map(|l| {
            let link = l.to_str().unwrap_or_default();
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned()
        });
        let items: Vec<Value> = resp.json().await.unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(items.len() <= limit, "{p}: {} items on a page of {limit}", items.len());
        assert!(!items.is_empty() || pages.is_empty(), "{p}: a link led to an empty page");
        pages.push(items);
        assert!(pages.len() <= 100, "the pages never end");
    }
    pages
}

/// The ids on the pages, in order, asserting none repeats.
fn ids(pages: &[Vec<Value>], field: &str) -> Vec<String> {
    let all: Vec<String> =
        pages.iter().flatten().map(|i| i[field].as_str().unwrap_or_default().to_owned()).collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "an item came twice: {all:?}");
    all
}

async fn assert_bad_field(server: &Server, path: &str, field: &str) {
    let (status, error) = server.get(path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
    assert_eq!(error["error"], "bad_field", "{path}: {error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{path}: the message names {field}: {message}");
}

/// Refused limits and cursors, and an unknown parameter, on one list.
async fn refuses_bad_paging(server: &Server, list: &str) {
    for limit in ["0", "201", "-1", "ten", ""] {
        assert_bad_field(server, &format!("{list}?limit={limit}"), "limit").await;
    }
    for cursor in ["!!", "bm8tY29sb24", "MTox", "YToxOng"] {
        assert_bad_field(server, &format!("{list}?cursor={cursor}"), "cursor").await;
    }
    assert_bad_field(server, &format!("{list}?page=2"), "page").await;
}

async fn the_follow_up_queue_pages_by_cursor_through_ties_and_searches(backend: Backend) {
    let t0 = utc("2025-01-10T02:00:00Z"); // 10:00 local
    let server = Server::start_on(backend, t0).await;
    // Eleven repair orders completed at the same minute: only the id orders them.
    let mut expected = Vec::new();
    for n in 0..11 {
        let id = format!("WO-F{:02}", 10 - n);
        let mut body = order_body(&id, "repair", t0, &format!("{}", 301 + n));
        if n == 4 {
            body["customer"]["name"] = json!("李四");
            body["customer"]["address"]["community"] = json!("阳光花园");
        }
        server.order(body).await;
        expected.push(id);
    }
    server.set_now(t0 + minutes(70));
    for id in &expected {
        let body = json!({"completed_at": iso(t0 + minutes(60)), "expected_rev": 1});
        server.post_ok(&format!("/v1/office/work-orders/{id}/milestones"), body, StatusCode::OK).await;
    }
    expected.sort();

    let pages = walk(&server, "/v1/office/follow-ups?limit=4", 4).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 3], "three pages of at most four");
    assert_eq!(ids(&pages, "id"), expected, "every order once, ties broken by id");

    // Without a limit: the default page holds them all, with no link.
    let resp = server.raw(Method::GET, "/v1/office/follow-ups", Some(OPERATOR_TOKEN), None).await;
    assert!(resp.headers().get("link").is_none(), "one page: no next");
    assert_eq!(resp.json::<Vec<Value>>().await.unwrap_or_default().len(), 11);

    // Search by customer, by address and by order id; the link keeps the search.
    for (q, want) in [("李四", vec!["WO-F06"]), ("阳光", vec!["WO-F06"]), ("wo-f0", vec![])] {
        let pages = walk(&server, &format!("/v1/office/follow-ups?q={q}&limit=1"), 1).await;
        let found = ids(&pages, "id");
        if want.is_empty() {
            assert_eq!(found.len(), 10, "{q}: WO-F00..WO-F09, case-insensitive: {found:?}");
        } else {
            assert_eq!(found, want, "{q}");
        }
    }
    let (_, room) = server.get("/v1/office/follow-ups?q=311").await;
    assert_eq!(room.as_array().map(Vec::len), Some(1), "by room: {room}");

    // A call made between pages: the next page neither repeats nor skips.
    let resp = server.raw(Method::GET, "/v1/office/follow-ups?limit=3", Some(OPERATOR_TOKEN), None).await;
    let link = resp.headers().get("link").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    let first: Vec<Value> = resp.json().await.unwrap_or_default();
    server.set_now(utc("2025-01-10T11:30:00Z")); // 19:30 local: calling hours
    let called = first[0]["id"].as_str().unwrap_or_default().to_owned();
    let rev = server.rev_of(&called).await;
    let body = json!({"outcome": "satisfied", "expected_rev": rev});
    server.post_ok(&format!("/v1/office/work-orders/{called}/follow-up"), body, StatusCode::OK).await;
    let next = link.trim_start_matches('<').split('>').next().unwrap_or_default();
    let rest = walk(&server, next, 3).await;
    let mut seen = ids(&[first], "id");
    seen.extend(ids(&rest, "id"));
    assert_eq!(seen, expected, "the called order left the queue without shifting the pages");

    refuses_bad_paging(&server, "/v1/office/follow-ups").await;
    assert_bad_field(&server, &format!("/v1/office/follow-ups?q={}", "长".repeat(101)), "q").await;
}

async fn the_review_queue_pages_waiting_then_decided_records_through_ties(backend: Backend) {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start_on(backend, t0).await;
    server.technician("T1", "王师傅").await;
    let mut tablet = Tablet::enrol(&server, 21, &["T1"]).await;
    // Nobody assigned: every record T1 signs is flagged not_assigned, and
    // all arrive at the same millisecond.
    server.order(order_body("WO-REV", "repair", t0, "301")).await;
    let mut records = Vec::new();
    for _ in 0..9 {
        let pushed = tablet.arrival(&server, "WO-REV", t0, t0).await;
        assert_eq!(pushed.flags, ["not_assigned"]);
        records.push(pushed.record_id);
    }
    // Four decided, all at the same millisecond.
    server.set_now(t0 + minutes(30));
    let mut decided: Vec<String> = records[..4].to_vec();
    for id in &decided {
        let body = json!({"decision": "accept", "note": "已核实"});
        server.post_ok(&format!("/v1/office/records/{id}/review"), body, StatusCode::CREATED).await;
    }
    let mut waiting: Vec<String> = records[4..].to_vec();
    waiting.sort();
    decided.sort();

    let pages = walk(&server, "/v1/office/review-queue?limit=2", 2).await;
    assert_eq!(pages.len(), 5);
    let all = ids(&pages, "record_id");
    assert_eq!(all[..5], waiting[..], "waiting first, ties by record id");
    assert_eq!(all[5..], decided[..], "then the decided, ties by record id");
    assert!(pages.iter().flatten().take(5).all(|i| i.get("decision").is_none()));

    refuses_bad_paging(&server, "/v1/office/review-queue").await;
}

async fn the_households_page_by_address_and_search(backend: Backend) {
    let t0 = utc("2025-01-10T01:00:00Z");
    let server = Server::start_on(backend, t0).await;
    server.technician("T1", "王师傅").await;
    server.technician("T2", "李师傅").await;
    let thermometer = json!({"serial": "TH-01", "certificate": "检定-2024-001", "valid_until": "2026-01-01"});
    server.post_ok("/v1/office/thermometers", thermometer, StatusCode::CREATED).await;
    let mut tablet = Tablet::enrol(&server, 31, &["T1", "T2"]).await;
    let refused =
        CustomerSignoff::refused("认为温度计不准", "客厅 16.00 °C").unwrap_or_else(|e| panic!("{e}"));
    let mut expected = Vec::new();
    for n in 0..5 {
        let room = format!("{}", 905 - n);
        server
            .order(for_team(order_body(&format!("WO-H{n}"), "temperature_test", t0, &room), &["T1", "T2"]))
            .await;
        expected.push(room);
    }
    for n in 0..5 {
        let at = format!("2025-01-10T1{n}:30:00+08:00");
        let readings = vec![reading(&format!("TEST-{n}"), RoomKind::LivingRoom, "客厅", 1600, &at)];
        temperature_test(&server, &mut tablet, &format!("WO-H{n}"), readings, Some(refused.clone())).await;
    }
    expected.sort();

    let pages = walk(&server, "/v1/office/households?limit=2", 2).await;
    assert_eq!(pages.len(), 3);
    let rooms: Vec<String> = pages
        .iter()
        .flatten()
        .map(|h| h["address"]["room"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(rooms, expected, "every household once, by address");

    let pages = walk(&server, "/v1/office/households?community=幸福小区&q=wo-h3&limit=1", 1).await;
    assert_eq!(
        pages.iter().flatten().map(|h| h["work_orders"][0].clone()).collect::<Vec<_>>(),
        [json!("WO-H3")]
    );
    let (_, none) = server.get("/v1/office/households?community=别的小区").await;
    assert_eq!(none, json!([]));

    refuses_bad_paging(&server, "/v1/office/households").await;
}

async fn complaints_page_through_ties_and_search_by_customer_address_and_id(backend: Backend) {
    let t0 = utc("2025-01-10T02:00:00Z");
    let server = Server::start_on(backend, t0).await;
    // Received together: the same answer deadline, only the id orders them.
    let mut expected = Vec::new();
    for n in 0..7 {
        let id = format!("WO-C{}", 7 - n);
        let mut body = order_body(&id, "complaint", t0, &format!("{}", 401 + n));
        if n == 2 {
            body["customer"]["name"] = json!("赵六");
        }
        server.order(body).await;
        expected.push(id);
    }
    expected.sort();
    let pages = walk(&server, "/v1/office/complaints?limit=3", 3).await;
    assert_eq!(ids(&pages, "id"), expected, "every complaint once, ties by id");
    for (q, want) in [("赵六", "WO-C5"), ("403", "WO-C5"), ("wo-c5", "WO-C5")] {
        let (_, found) = server.get(&format!("/v1/office/complaints?q={q}")).await;
        let found: Vec<&str> =
            found.as_array().into_iter().flatten().filter_map(|c| c["id"].as_str()).collect();
        assert_eq!(found, [want], "{q}");
    }
    refuses_bad_paging(&server, "/v1/office/complaints").await;
}

on_both_backends!(
    the_follow_up_queue_pages_by_cursor_through_ties_and_searches,
    the_review_queue_pages_waiting_then_decided_records_through_ties,
    the_households_page_by_address_and_search,
    complaints_page_through_ties_and_search_by_customer_address_and_id,
);
