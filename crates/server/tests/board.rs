//! The dispatcher's board at scale (issue 15): the indexed board
//! (`work_order_board`, pages by cursor, search and filters) against the
//! in-memory computation it replaced, on random orders; paging without gaps
//! or duplicates while orders change; each filter; bad paging input. On
//! SQLite and PostgreSQL, in process with a clock the tests move.

#[macro_use]
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use common::{Backend, PgDatabase};
use hearth_server::auth;
use hearth_server::office::views::{self, OrderFilter};
use hearth_server::state::{AppState, Limits};
use hearth_server::storage::Storage;
use hearth_server::storage::postgres::PostgresStorage;
use hearth_server::storage::sqlite::SqliteStorage;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "board-secret-token";

struct Office {
    base: String,
    http: reqwest::Client,
    state: AppState,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Office {
    async fn start(backend: Backend, now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (storage, pg): (Arc<dyn Storage>, _) = match backend {
            Backend::Sqlite => (Arc::new(SqliteStorage::open(&dir.path().join("db.sqlite")).unwrap()), None),
            Backend::Postgres => {
                let db = PgDatabase::create();
                (Arc::new(PostgresStorage::connect(&db.url()).await.unwrap()), Some(db))
            }
        };
        let clock = Arc::new(AtomicI64::new(now.timestamp_millis()));
        let reader = clock.clone();
        let state = hearth_server::app::state(
            storage,
            dir.path().join("blobs"),
            Arc::new(move || reader.load(Ordering::SeqCst)),
            Limits::default(),
        )
        .await
        .unwrap();
        state.storage.add_operator_token(&auth::secret_hash(TOKEN), now.timestamp_millis()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = hearth_server::app::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            clock,
            _dir: dir,
            _pg: pg,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.load(Ordering::SeqCst)).unwrap()
    }

    fn advance(&self, by: TimeDelta) {
        self.clock.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GET: status, body, and the `rel="next"` target of the Link header.
    async fn get(&self, path: &str) -> (StatusCode, Value, Option<String>) {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().await.unwrap();
        let status = resp.status();
        let next = resp.headers().get("link").and_then(|v| v.to_str().ok()).map(|link| {
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<').trim_end_matches(">; rel=\"next\"").to_owned()
        });
        (status, resp.json().await.unwrap_or(Value::Null), next)
    }

    /// Every page of `query` by following the Link headers.
    async fn all_pages(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = Some(format!("/v1/office/work-orders{query}"));
        while let Some(p) = path {
            let (status, page, next) = self.get(&p).await;
            assert_eq!(status, StatusCode::OK, "{p}: {page}");
            out.extend(page.as_array().cloned().unwrap_or_default());
            path = next;
        }
        out
    }

    async fn rev(&self, id: &str) -> u64 {
        let (_, detail, _) = self.get(&format!("/v1/office/work-orders/{id}")).await;
        detail["rev"].as_u64().unwrap()
    }

    async fn order(&self, id: &str, category: &str, community: &str, room: &str, extra: Value) -> StatusCode {
        let mut body = json!({
            "id": id,
            "category": category,
            "customer": {"name": format!("客户{room}"), "phone": format!("1390000{room:0>4}"),
                         "address": {"community": community, "building": "1号楼", "unit": "1单元", "room": room}},
            "fault_description": "暖气不热",
            "received_at": iso(self.now()),
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, answer) = self.post("/v1/office/work-orders", body).await;
        assert!(status == StatusCode::CREATED || status.is_client_error(), "{answer}");
        status
    }
}

const CATEGORIES: [&str; 5] = ["leak", "repair", "complaint", "temperature_test", "network_burst"];
const COMMUNITIES: [&str; 3] = ["幸福小区", "阳光花园", "Riverside"];
const TECHS: [(&str, &str); 3] = [("T1", "王师傅"), ("T2", "李秀英"), ("T3", "Zhang")];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[(rng.next_u32() as usize) % items.len()]
}

/// Random orders, changed at random times: assigned, appointed, cancelled,
/// milestones recorded, follow-up calls made.
async fn random_orders(office: &Office, rng: &mut ChaCha8Rng, n: usize) {
    for (id, name) in TECHS {
        let (status, body) = office
            .post("/v1/office/technicians", json!({"tech_id": id, "name": name, "phone": "13800138000"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for i in 0..n {
        office.advance(TimeDelta::minutes(i64::from(rng.next_u32() % 90)));
        let id = format!("WO-{i:03}");
        let category = pick(rng, &CATEGORIES);
        let community = pick(rng, &COMMUNITIES);
        let room = format!("{}", 101 + rng.next_u32() % 4);
        let mut extra = json!({});
        if rng.next_u32().is_multiple_of(2) {
            extra["technicians"] = json!([pick(rng, &["T1", "T2", "T3"])]);
        }
        if rng.next_u32().is_multiple_of(3) {
            // Today or tomorrow, 14:00–16:00 company time (inside visit hours).
            let day = (office.now() + TimeDelta::hours(8)).date_naive()
                + TimeDelta::days(i64::from(rng.next_u32() % 2));
            extra["appointment"] =
                json!({"start": format!("{day}T14:00:00+08:00"), "end": format!("{day}T16:00:00+08:00")});
        }
        if office.order(&id, category, community, &room, extra.clone()).await != StatusCode::CREATED {
            extra.as_object_mut().unwrap().remove("appointment");
            assert_eq!(office.order(&id, category, community, &room, extra).await, StatusCode::CREATED);
        }
        match rng.next_u32() % 6 {
            0 => {
                let rev = office.rev(&id).await;
                let body = json!({"reason": "重复报修", "expected_rev": rev});
                office.post(&format!("/v1/office/work-orders/{id}/cancel"), body).await;
            }
            1 | 2 => {
                office.advance(TimeDelta::minutes(i64::from(rng.next_u32() % 40)));
                let rev = office.rev(&id).await;
                let field = pick(rng, &["contacted_at", "on_site_at", "completed_at"]);
                let body = json!({field: iso(office.now()), "expected_rev": rev});
                office.post(&format!("/v1/office/work-orders/{id}/milestones"), body).await;
            }
            3 => {
                // Completed and called back (closed), when the calling hours allow.
                let rev = office.rev(&id).await;
                let body = json!({"completed_at": iso(office.now()), "expected_rev": rev});
                office.post(&format!("/v1/office/work-orders/{id}/milestones"), body).await;
                office.advance(TimeDelta::minutes(30));
                let rev = office.rev(&id).await;
                let body = json!({"outcome": "satisfied", "expected_rev": rev});
                office.post(&format!("/v1/office/work-orders/{id}/follow-up"), body).await;
            }
            _ => {}
        }
    }
}

fn ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|o| o["id"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Compares, and answers how many orders the query found.
async fn compare(office: &Office, query: &str) -> usize {
    let paged =
        office.all_pages(&format!("?{query}{}limit=7", if query.is_empty() { "" } else { "&" })).await;
    let whole = office.all_pages(&format!("?{query}")).await;
    let params: HashMap<String, String> = url_pairs(query);
    let filter = OrderFilter::parse(&params).unwrap();
    let reference: Vec<Value> = views::work_orders_in_memory(&office.state, &filter)
        .await
        .unwrap()
        .iter()
        .map(|v| serde_json::to_value(v).unwrap())
        .collect();
    assert_eq!(ids(&paged), ids(&reference), "pages of {query:?} against the in-memory board");
    assert_eq!(ids(&whole), ids(&reference), "all of {query:?} against the in-memory board");
    assert_eq!(whole, reference, "the views of {query:?} are the in-memory board's");
    reference.len()
}

fn url_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decoded(v)))
        .collect()
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn indexed_board_is_the_in_memory_board_on_random_orders(backend: Backend) {
    for seed in [7_u64, 1234] {
        let t0 = DateTime::parse_from_rfc3339("2025-01-10T01:00:00Z").unwrap().with_timezone(&Utc);
        let office = Office::start(backend, t0).await;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        random_orders(&office, &mut rng, 36).await;
        let queries = [
            "",
            "status=open",
            "status=cancelled",
            "status=closed",
            "category=leak",
            "category=repair&status=open",
            "technician=T2",
            "q=riverside",
            "q=%E5%B9%B8%E7%A6%8F", // 幸福
            "q=102",
            "q=wo-01",
            "q=%E6%9D%8E%E7%A7%80%E8%8B%B1", // 李秀英, a technician's name
            "flag=repeat",
            "flag=overdue",
            "flag=overdue,repeat&status=open",
            "flag=another_visit",
            "flag=opened_on_site",
        ];
        let mut found = HashMap::new();
        for q in queries {
            found.insert(q, compare(&office, q).await);
        }
        // The random orders exercise what is compared.
        assert_eq!(found[""], 36);
        for q in ["status=open", "status=cancelled", "technician=T2", "q=riverside", "flag=repeat"] {
            assert!(found[q] > 0, "{q} found nothing: {found:?}");
        }
        // Deadlines pass and appointment windows close (late notices fall due).
        office.advance(TimeDelta::hours(30));
        for q in ["status=open", "flag=overdue", ""] {
            compare(&office, q).await;
        }
        assert!(compare(&office, "flag=overdue").await > 0, "deadlines passed");
    }
}

async fn pages_have_no_gaps_or_duplicates_while_orders_change(backend: Backend) {
    let t0 = DateTime::parse_from_rfc3339("2025-01-10T01:00:00Z").unwrap().with_timezone(&Utc);
    let office = Office::start(backend, t0).await;
    for i in 0..30 {
        office.advance(TimeDelta::minutes(3));
        let category = if i % 3 == 0 { "leak" } else { "repair" };
        assert_eq!(
            office
                .order(&format!("WO-{i:02}"), category, "幸福小区", &format!("{}", 100 + i), json!({}))
                .await,
            StatusCode::CREATED
        );
    }
    let (status, first, next) = office.get("/v1/office/work-orders?status=open&limit=10").await;
    assert_eq!(status, StatusCode::OK);
    let mut seen: Vec<String> = ids(first.as_array().unwrap());
    assert_eq!(seen.len(), 10);
    // Between pages: new orders arrive, one not yet seen is cancelled, one seen is called in.
    for i in 30..35 {
        assert_eq!(
            office.order(&format!("WO-{i:02}"), "leak", "阳光花园", "201", json!({})).await,
            StatusCode::CREATED
        );
    }
    let unseen = (0..30).map(|i| format!("WO-{i:02}")).find(|id| !seen.contains(id)).unwrap();
    let rev = office.rev(&unseen).await;
    office
        .post(
            &format!("/v1/office/work-orders/{unseen}/cancel"),
            json!({"reason": "客户撤单", "expected_rev": rev}),
        )
        .await;
    let rev = office.rev(&seen[0]).await;
    office
        .post(
            &format!("/v1/office/work-orders/{}/milestones", seen[0]),
            json!({"contacted_at": iso(office.now()), "expected_rev": rev}),
        )
        .await;
    let mut path = next;
    while let Some(p) = path {
        let (status, page, next) = office.get(&p).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(page.as_array().unwrap()));
        path = next;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no order twice: {seen:?}");
    for i in 0..30 {
        let id = format!("WO-{i:02}");
        if id != unseen {
            assert!(seen.contains(&id), "{id} was skipped: {seen:?}");
        }
    }
    assert!(!seen.contains(&unseen), "the order cancelled before its page is not on an open page");
}

async fn each_filter_and_bad_paging_input(backend: Backend) {
    let t0 = DateTime::parse_from_rfc3339("2025-01-10T01:00:00Z").unwrap().with_timezone(&Utc);
    let office = Office::start(backend, t0).await;
    office
        .post("/v1/office/technicians", json!({"tech_id": "T7", "name": "王建国", "phone": "13800138000"}))
        .await;
    office.order("WO-LEAK", "leak", "幸福小区", "301", json!({"technicians": ["T7"]})).await;
    office.advance(TimeDelta::minutes(5));
    office.order("WO-REPAIR", "repair", "Sunny Court", "302", json!({})).await;
    office.advance(TimeDelta::minutes(5));
    office.order("WO-AGAIN", "repair", "Sunny Court", "302", json!({})).await;
    office.advance(TimeDelta::minutes(5));
    office.order("WO-GONE", "repair", "幸福小区", "303", json!({})).await;
    let rev = office.rev("WO-GONE").await;
    office
        .post("/v1/office/work-orders/WO-GONE/cancel", json!({"reason": "重复", "expected_rev": rev}))
        .await;
    let o = &office;
    let listed = |q: &'static str| async move { ids(&o.all_pages(&format!("?{q}")).await) };

    // The leak's on-site deadline (30 min) is nearest; repairs have contact deadlines after it.
    assert_eq!(listed("status=open").await, ["WO-LEAK", "WO-REPAIR", "WO-AGAIN"]);
    assert_eq!(listed("status=cancelled").await, ["WO-GONE"]);
    assert_eq!(listed("category=leak").await, ["WO-LEAK"]);
    assert_eq!(listed("technician=T7").await, ["WO-LEAK"]);
    assert_eq!(listed("q=%E7%8E%8B%E5%BB%BA%E5%9B%BD").await, ["WO-LEAK"], "a technician's name");
    assert_eq!(listed("q=SUNNY").await, ["WO-REPAIR", "WO-AGAIN"], "case-insensitive");
    assert_eq!(listed("q=13900000303").await, ["WO-GONE"], "a phone");
    assert_eq!(listed("q=wo-again").await, ["WO-AGAIN"], "an order id");
    assert_eq!(listed("flag=repeat").await, ["WO-AGAIN"]);
    assert!(listed("flag=overdue").await.is_empty());
    office.advance(TimeDelta::minutes(40));
    assert_eq!(
        listed("flag=overdue").await,
        ["WO-LEAK", "WO-REPAIR", "WO-AGAIN"],
        "the clock moved, not the rows"
    );
    assert_eq!(listed("flag=overdue&category=repair&q=sunny&flag=repeat").await, ["WO-AGAIN"]);

    // A page of one names the next; the last page names none.
    let (_, page, next) = office.get("/v1/office/work-orders?status=open&limit=2").await;
    assert_eq!(ids(page.as_array().unwrap()), ["WO-LEAK", "WO-REPAIR"]);
    let next = next.expect("a next page");
    assert!(next.starts_with("/v1/office/work-orders?limit=2&status=open&cursor="), "{next}");
    let (_, page, last) = office.get(&next).await;
    assert_eq!(ids(page.as_array().unwrap()), ["WO-AGAIN"]);
    assert_eq!(last, None);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("cursor=%25%25", "cursor"),
        ("cursor=bm9jb2xvbg", "cursor"), // "nocolon"
        ("cursor=eDpXTy0x", "cursor"),   // "x:WO-1": not a sort key
        ("flag=urgent", "flag"),
        ("flag=repeat,", "flag"),
        ("status=open&sort=due", "sort"),
    ] {
        let (status, body, _) = office.get(&format!("/v1/office/work-orders?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "bad_field", "{query}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{query}: {body}");
    }
    let long = "x".repeat(101);
    let (status, body, _) = office.get(&format!("/v1/office/work-orders?q={long}")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_field")), "{body}");
    assert!(body["message"].as_str().unwrap_or_default().starts_with('q'), "{body}");
}

on_both_backends!(
    indexed_board_is_the_in_memory_board_on_random_orders,
    pages_have_no_gaps_or_duplicates_while_orders_change,
    each_filter_and_bad_paging_input,
);
