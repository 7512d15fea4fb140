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
use common::{Backend, PgDatabase, TestServer};
use hearth_server::auth;
use hearth_server::office::views::{self, OrderFilter};
use hearth_server::state::{AppState, Limits};
use hearth_server::storage::postgres::PostgresStorage;
use hearth_server::storage::sqlite::SqliteStorage;
use hearth_server::storage::{
    BoardDialect, BoardParam, BoardQuery, BoardRow, PutSnapshot, Scope, SnapshotKind, Storage,
};
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

    /// `X-Board-Rebuilding` of a board page: the rebuild's backlog, when it has one.
    async fn rebuilding(&self, path: &str) -> Option<u64> {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.headers().get("x-board-rebuilding").map(|v| v.to_str().unwrap().parse().unwrap())
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

/// What the random search texts are made of: ASCII, Chinese, and what
/// FTS5's query syntax or LIKE treat specially.
const ALPHABET: [&str; 24] = [
    "a", "b", "c", "1", "2", "王", "伟", "幸", "福", "里", "%", "_", "\"", "*", "'", "\\", " ", "-", "(",
    ":", "^", "\u{1f}", "é", "ß",
];

/// The database under a storage, opened beside it, for the query the
/// trigram index replaced and for EXPLAIN.
enum RawDb {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl RawDb {
    /// Ids the scan (the query before migration 0010) finds, in the board's order.
    async fn scanned(&self, q: &str, status: Option<&str>) -> Vec<String> {
        match self {
            RawDb::Sqlite(c) => {
                let mut stmt = c
                    .prepare(
                        "SELECT id FROM work_order_board WHERE status IS NOT NULL AND instr(search, ?1) > 0
                         AND (?2 IS NULL OR status = ?2) ORDER BY due_ms, id",
                    )
                    .unwrap();
                stmt.query_map(rusqlite::params![q, status], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            RawDb::Postgres(c) => c
                .query(
                    "SELECT id FROM work_order_board WHERE status IS NOT NULL AND strpos(search, $1) > 0
                     AND ($2::text IS NULL OR status = $2) ORDER BY due_ms, id",
                    &[&q, &status],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// The plan of a board query, as text.
    async fn plan(&self, query: &BoardQuery) -> String {
        match self {
            RawDb::Sqlite(c) => {
                let (sql, binds) = query.sql(BoardDialect::Sqlite);
                let values: Vec<rusqlite::types::Value> = binds
                    .into_iter()
                    .map(|b| match b {
                        BoardParam::Int(v) => rusqlite::types::Value::Integer(v),
                        BoardParam::Text(t) => rusqlite::types::Value::Text(t),
                    })
                    .collect();
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let details: Vec<String> = stmt
                    .query_map(rusqlite::params_from_iter(values), |r| r.get::<_, String>(3))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                details.join("\n")
            }
            RawDb::Postgres(c) => {
                let (sql, binds) = query.sql(BoardDialect::Postgres);
                let values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = binds
                    .into_iter()
                    .map(|b| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                        match b {
                            BoardParam::Int(v) => Box::new(v),
                            BoardParam::Text(t) => Box::new(t),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    values.iter().map(|v| v.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
                // A few hundred rows: the planner rightly prefers a scan or the
                // status index; with those out of its reach (rolled back), is
                // the trigram index usable for the query?
                c.batch_execute(
                    "BEGIN; DROP INDEX work_order_board_status_due; SET LOCAL enable_seqscan = off",
                )
                .await
                .unwrap();
                let rows = c.query(&format!("EXPLAIN {sql}"), &refs).await.unwrap();
                c.batch_execute("ROLLBACK").await.unwrap();
                rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

fn random_text(rng: &mut ChaCha8Rng, max: u32) -> String {
    (0..rng.next_u32() % (max + 1)).map(|_| pick(rng, &ALPHABET)).collect()
}

/// The trigram index (migration 0010) answers exactly what the scan it
/// replaced answers: random texts with Chinese and FTS5/LIKE-special
/// characters, queries of 1 to 6 characters cut from them or made up,
/// with and without a status and a page limit; rows rewritten after the
/// index was built; and the index is what the plan uses.
async fn search_index_answers_as_the_scan(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (storage, raw, _pg): (Arc<dyn Storage>, RawDb, _) = match backend {
        Backend::Sqlite => {
            let path = dir.path().join("db.sqlite");
            let storage = Arc::new(SqliteStorage::open(&path).unwrap());
            (storage, RawDb::Sqlite(rusqlite::Connection::open(&path).unwrap()), None)
        }
        Backend::Postgres => {
            let db = PgDatabase::create();
            let storage = Arc::new(PostgresStorage::connect(&db.url()).await.unwrap());
            let (client, connection) =
                tokio_postgres::connect(&db.url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            (storage, RawDb::Postgres(client), Some(db))
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(2010);
    let mut texts: Vec<(String, String, i64, &str)> = Vec::new();
    for i in 0..400 {
        let id = format!("WO-{i:04}");
        let put = PutSnapshot {
            kind: SnapshotKind::WorkOrder,
            id: id.clone(),
            body: json!({}),
            scope: Scope::default(),
            expected_rev: None,
            now_ms: 0,
        };
        storage.put_snapshot(put).await.unwrap();
        let status = if rng.next_u32().is_multiple_of(3) { "closed" } else { "open" };
        texts.push((id, random_text(&mut rng, 24), i64::from(rng.next_u32() % 50), status));
    }
    let row = |(id, text, due, status): &(String, String, i64, &str)| BoardRow {
        id: id.clone(),
        built_from_gen: 1,
        status: Some((*status).to_owned()),
        category: Some("repair".into()),
        technicians: vec![],
        search: text.clone(),
        address_key: String::new(),
        received_at_ms: 0,
        due_ms: *due,
        late_due_ms: *due,
        switch_ms: None,
        repeat: false,
        another_visit: false,
        opened_on_site: false,
    };
    storage.board_put(texts.iter().map(row).collect()).await.unwrap();
    // Rows rebuilt with new text: the index follows (the old text no longer matches).
    for t in texts.iter_mut().step_by(3) {
        t.1 = random_text(&mut rng, 24);
    }
    storage.board_put(texts.iter().step_by(3).map(row).collect()).await.unwrap();

    let mut queries: Vec<String> = [
        "王",
        "王伟",
        "幸福里",
        "%",
        "_",
        "\"",
        "\"\"",
        "*",
        "'",
        "\\",
        "a%b",
        "a_",
        "%_%",
        "\" *",
        "ab:c",
        "x",
    ]
    .map(str::to_owned)
    .to_vec();
    for _ in 0..300 {
        let (_, text, _, _) = &texts[(rng.next_u32() as usize) % texts.len()];
        let chars: Vec<char> = text.chars().collect();
        let len = 1 + (rng.next_u32() as usize) % 6;
        if rng.next_u32().is_multiple_of(4) || chars.len() < len {
            let made: String = (0..len).map(|_| pick(&mut rng, &ALPHABET)).collect();
            queries.push(made);
        } else {
            let at = (rng.next_u32() as usize) % (chars.len() - len + 1);
            queries.push(chars[at..at + len].iter().collect());
        }
    }
    let mut found_some = 0;
    for q in &queries {
        for status in [None, Some("open")] {
            let expected: Vec<String> = {
                let mut hits: Vec<&(String, String, i64, &str)> = texts
                    .iter()
                    .filter(|(_, text, _, s)| text.contains(q.as_str()) && status.is_none_or(|st| st == *s))
                    .collect();
                hits.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
                hits.into_iter().map(|(id, ..)| id.clone()).collect()
            };
            assert_eq!(raw.scanned(q, status).await, expected, "the scan, q={q:?} status={status:?}");
            let query =
                BoardQuery { status: status.map(str::to_owned), q: Some(q.clone()), ..BoardQuery::default() };
            let indexed: Vec<String> =
                storage.board_page(&query).await.unwrap().into_iter().map(|(id, _)| id).collect();
            assert_eq!(indexed, expected, "the index, q={q:?} status={status:?}");
            let first_page: Vec<String> = storage
                .board_page(&BoardQuery { limit: Some(7), ..query })
                .await
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            assert_eq!(first_page, expected[..expected.len().min(7)], "a page, q={q:?} status={status:?}");
            found_some += usize::from(!expected.is_empty());
        }
    }
    assert!(found_some > 400, "the queries find something: {found_some}");

    // The plan reads the trigram index for 3 characters or more, with or without a status.
    let index = match backend {
        Backend::Sqlite => "VIRTUAL TABLE INDEX",
        Backend::Postgres => "work_order_board_search_trgm",
    };
    for status in [None, Some("open".to_owned())] {
        let query =
            BoardQuery { status, q: Some("幸福里".into()), limit: Some(51), ..BoardQuery::default() };
        let plan = raw.plan(&query).await;
        assert!(plan.contains(index), "{plan}");
    }
}

/// A server started over orders whose board rows were never built (an
/// upgrade, orders filed straight into the database) brings them up to
/// date by itself: no request reads the board meanwhile.
async fn serve_brings_the_board_up_to_date_in_the_background(backend: Backend) {
    let mut server = TestServer::prepared(backend);
    let storage = server.storage().await;
    let stale = storage.board_stale_count().await.unwrap();
    assert!(stale >= 12, "the demo's orders wait to be judged: {stale}");
    server.spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while storage.board_stale_count().await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the board is still stale after 120 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// During a backlog larger than a read judges inline, a page judges again
/// only the stale rows it would show (so never lists an order by a stale
/// row), a new order still finds the earlier one at its home among the rows
/// not built yet, and the background rebuild then leaves the board equal to
/// the in-memory one.
async fn a_backlog_is_judged_by_the_page_then_in_the_background(backend: Backend) {
    let t0 = DateTime::parse_from_rfc3339("2025-01-10T01:00:00Z").unwrap().with_timezone(&Utc);
    let office = Office::start(backend, t0).await;
    for i in 0..30 {
        office.advance(TimeDelta::minutes(1));
        let category = if i % 3 == 0 { "leak" } else { "repair" };
        let status = office
            .order(&format!("WO-A{i:02}"), category, "幸福小区", &format!("{}", 100 + i), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, first, _) = office.get("/v1/office/work-orders?status=open&limit=10").await;
    assert_eq!(status, StatusCode::OK);
    let top = ids(first.as_array().unwrap())[0].clone();
    assert_eq!(office.state.storage.board_stale_count().await.unwrap(), 0, "a few stale rows: judged inline");
    assert_eq!(office.rebuilding("/v1/office/work-orders?limit=10").await, None, "no backlog, no notice");

    // The top order is cancelled (its row now stale), then a backlog arrives.
    let rev = office.rev(&top).await;
    let (status, _) = office
        .post(&format!("/v1/office/work-orders/{top}/cancel"), json!({"reason": "重复", "expected_rev": rev}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let backlog = views::INLINE_REFRESH + 50;
    for i in 0..backlog {
        let status = office
            .order(&format!("WO-B{i:03}"), "repair", "阳光花园", &format!("{}", 1000 + i), json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let stale = office.state.storage.board_stale_count().await.unwrap();
    assert_eq!(stale, backlog as u64 + 1);

    let (status, page, _) = office.get("/v1/office/work-orders?status=open&limit=10").await;
    assert_eq!(status, StatusCode::OK);
    let shown = ids(page.as_array().unwrap());
    assert_eq!(shown.len(), 10);
    assert!(!shown.contains(&top), "the cancelled order is not listed by its stale row: {shown:?}");
    let after = office.state.storage.board_stale_count().await.unwrap();
    assert_eq!(after, stale - 1, "only the page's stale row was judged inline");
    assert!(office.state.storage.board_stale_among(&shown).await.unwrap().is_empty());
    // The console is told, so the dispatcher knows orders may be missing.
    let told = office.rebuilding("/v1/office/work-orders?status=open&limit=10").await;
    assert!(told.is_some_and(|n| n >= after - 10 && n <= after), "backlog told: {told:?} of {after}");

    // A repeat at a home whose earlier order's row is not built yet.
    office.advance(TimeDelta::minutes(1));
    assert_eq!(office.order("WO-C", "repair", "阳光花园", "1007", json!({})).await, StatusCode::CREATED);
    let (_, detail, _) = office.get("/v1/office/work-orders/WO-C").await;
    assert_eq!(detail["repeat_of"], json!(["WO-B007"]), "{detail}");

    let judged = views::rebuild_board(&office.state).await.unwrap();
    assert!(judged >= stale, "{judged} rows judged in the background");
    assert_eq!(office.state.storage.board_stale_count().await.unwrap(), 0);
    assert_eq!(office.rebuilding("/v1/office/work-orders?limit=10").await, None, "rebuilt: the notice goes");
    for q in ["status=open", "", "flag=repeat", "q=%E9%98%B3%E5%85%89", "status=cancelled"] {
        compare(&office, q).await;
    }
}

on_both_backends!(
    search_index_answers_as_the_scan,
    serve_brings_the_board_up_to_date_in_the_background,
    a_backlog_is_judged_by_the_page_then_in_the_background,
    indexed_board_is_the_in_memory_board_on_random_orders,
    pages_have_no_gaps_or_duplicates_while_orders_change,
    each_filter_and_bad_paging_input,
);
