//! Operator accounts, sessions, CSRF, roles on every office endpoint,
//! login throttling and the audit log, over HTTP against the server on
//! port 0 with a clock the tests move, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{Backend, PgDatabase};
use hearth_server::auth;
use hearth_server::office::access::Role;
use hearth_server::office::accounts;
use hearth_server::state::{AppState, Limits};
use hearth_server::storage::Storage;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "accounts-test-operator-token";
const TOKEN_NAME: &str = "nightly-script";
const T0: i64 = 1_765_000_000_000;
const MINUTE: i64 = 60_000;

/// `(username, role, password)`; every account has exactly one role.
const USERS: &[(&str, Role, &str)] = &[
    ("disp", Role::Dispatcher, "disp-password-1"),
    ("cs", Role::CustomerService, "cs-password-12"),
    ("rev", Role::Reviewer, "rev-password-12"),
    ("mgr", Role::Manager, "mgr-password-12"),
    ("root", Role::Admin, "root-password-1"),
];
const DISABLED: (&str, &str) = ("gone", "gone-password-1");

fn password_of(username: &str) -> &'static str {
    USERS.iter().find(|(u, _, _)| *u == username).map_or(DISABLED.1, |(_, _, p)| p)
}

struct Server {
    base: String,
    client: reqwest::Client,
    state: AppState,
    clock: Arc<AtomicI64>,
    database: String,
    dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// A logged-in operator: the cookie's secret and the CSRF token.
#[derive(Debug, Clone)]
struct Session {
    secret: String,
    csrf: String,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
enum Cred<'a> {
    None,
    Token,
    /// A session, sending its CSRF token on unsafe methods.
    Session(&'a Session),
    /// A session, with this `X-CSRF-Token` (or none).
    SessionCsrf(&'a Session, Option<&'a str>),
}

impl Server {
    async fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (storage, database, pg): (Arc<dyn Storage>, String, Option<PgDatabase>) = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("db.sqlite");
                let s = hearth_server::storage::sqlite::SqliteStorage::open(&path).unwrap();
                (Arc::new(s), path.display().to_string(), None)
            }
            Backend::Postgres => {
                let db = PgDatabase::create();
                let s = hearth_server::storage::postgres::PostgresStorage::connect(&db.url()).await.unwrap();
                (Arc::new(s), db.url(), Some(db))
            }
        };
        let clock = Arc::new(AtomicI64::new(T0));
        let reader = clock.clone();
        let state = hearth_server::app::state(
            storage,
            dir.path().join("blobs"),
            Arc::new(move || reader.load(Ordering::SeqCst)),
            Limits::default(),
        )
        .await
        .unwrap();
        let s = state.storage.as_ref();
        s.add_named_operator_token(&auth::secret_hash(TOKEN), TOKEN_NAME, T0).await.unwrap();
        for (username, role, password) in USERS {
            accounts::add_account(s, username, &format!("{username} name"), &[*role], password, T0)
                .await
                .unwrap();
        }
        accounts::add_account(s, DISABLED.0, "离职员工", &[Role::Admin], DISABLED.1, T0).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = hearth_server::app::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            clock,
            database,
            dir,
            _pg: pg,
        }
    }

    fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        cred: Cred<'_>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.base));
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD);
        match cred {
            Cred::None => {}
            Cred::Token => req = req.bearer_auth(TOKEN),
            Cred::Session(s) => {
                req = req.header("Cookie", format!("hearth_session={}", s.secret));
                if unsafe_method {
                    req = req.header("X-CSRF-Token", &s.csrf);
                }
            }
            Cred::SessionCsrf(s, csrf) => {
                req = req.header("Cookie", format!("other=1; hearth_session={}", s.secret));
                if let Some(c) = csrf {
                    req = req.header("X-CSRF-Token", c);
                }
            }
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        cred: Cred<'_>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let resp = self.raw(method, path, cred, body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!(text)) };
        (status, value)
    }

    async fn login_raw(&self, username: &str, password: &str) -> reqwest::Response {
        self.raw(
            Method::POST,
            "/v1/office/session",
            Cred::None,
            Some(&json!({"username": username, "password": password})),
        )
        .await
    }

    async fn login(&self, username: &str) -> Session {
        let resp = self.login_raw(username, password_of(username)).await;
        assert_eq!(resp.status(), StatusCode::OK, "login {username}");
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        let secret = cookie.strip_prefix("hearth_session=").unwrap().split(';').next().unwrap().to_owned();
        Session { secret, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    async fn audit(&self) -> Vec<Value> {
        let (status, page) = self.call(Method::GET, "/v1/office/audit?limit=500", Cred::Token, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().clone()
    }

    /// Runs SQL straight on the database; the database's error message if refused.
    async fn raw_sql(&self, sql: &str) -> Result<(), String> {
        if let Some(pg) = &self._pg {
            let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute(sql).await.map_err(|e| format!("{e:?}"))
        } else {
            let conn = rusqlite::Connection::open(&self.database).unwrap();
            conn.execute_batch(sql).map_err(|e| e.to_string())
        }
    }
}

// ---------------------------------------------------------------- the matrix

use Role::{Admin as A, CustomerService as CS, Dispatcher as D, Manager as M, Reviewer as R};

/// Every operator endpoint: `(method, path as documented, path to call, roles allowed)`.
/// Admin is allowed everything (listed explicitly).
fn matrix() -> Vec<(Method, &'static str, &'static str, Vec<Role>)> {
    let all = vec![D, CS, R, M, A];
    let blob = "/v1/blobs/0000000000000000000000000000000000000000000000000000000000000000";
    vec![
        (Method::GET, "/v1/office/work-orders", "/v1/office/work-orders", all.clone()),
        (Method::POST, "/v1/office/work-orders", "/v1/office/work-orders", vec![D, A]),
        (Method::GET, "/v1/office/work-orders/{id}", "/v1/office/work-orders/WO-X", all.clone()),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/assign",
            "/v1/office/work-orders/WO-X/assign",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/reschedule",
            "/v1/office/work-orders/WO-X/reschedule",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/cancel",
            "/v1/office/work-orders/WO-X/cancel",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/confirm",
            "/v1/office/work-orders/WO-X/confirm",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/reject",
            "/v1/office/work-orders/WO-X/reject",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/milestones",
            "/v1/office/work-orders/WO-X/milestones",
            vec![D, A],
        ),
        (
            Method::POST,
            "/v1/office/work-orders/{id}/follow-up",
            "/v1/office/work-orders/WO-X/follow-up",
            vec![CS, A],
        ),
        (Method::GET, "/v1/office/follow-ups", "/v1/office/follow-ups", vec![CS, D, A]),
        (
            Method::POST,
            "/v1/office/records/{record_id}/review",
            "/v1/office/records/rec-x/review",
            vec![R, A],
        ),
        (
            Method::GET,
            "/v1/office/records/{record_id}/reviews",
            "/v1/office/records/rec-x/reviews",
            vec![R, M, A],
        ),
        (Method::GET, "/v1/office/review-queue", "/v1/office/review-queue", vec![R, A]),
        (Method::GET, "/v1/records/{record_id}", "/v1/records/rec-x", vec![R, A]),
        (Method::GET, "/v1/blobs/{sha256}", blob, vec![R, M, A]),
        (Method::GET, "/v1/office/records", "/v1/office/records", vec![R, M, A]),
        (Method::GET, "/v1/office/records/{record_id}/view", "/v1/office/records/rec-x/view", vec![R, M, A]),
        (
            Method::GET,
            "/v1/office/blobs/{sha256}/thumbnail",
            "/v1/office/blobs/0000000000000000000000000000000000000000000000000000000000000000/thumbnail",
            vec![R, M, A],
        ),
        (
            Method::GET,
            "/v1/office/work-orders/{id}/copy.pdf",
            "/v1/office/work-orders/WO-X/copy.pdf",
            vec![D, CS, R, M, A],
        ),
        (Method::GET, "/v1/office/households", "/v1/office/households", vec![M, A]),
        (Method::GET, "/v1/office/reports", "/v1/office/reports", vec![M, A]),
        (Method::GET, "/v1/office/communities", "/v1/office/communities", vec![M, A]),
        (Method::GET, "/v1/office/temperature-tests", "/v1/office/temperature-tests", vec![M, R, A]),
        (Method::GET, "/v1/office/repeat-repairs", "/v1/office/repeat-repairs", vec![M, A]),
        (Method::GET, "/v1/office/technicians", "/v1/office/technicians", vec![D, M, A]),
        (Method::POST, "/v1/office/technicians", "/v1/office/technicians", vec![A]),
        (Method::GET, "/v1/office/thermometers", "/v1/office/thermometers", vec![M, A]),
        (Method::POST, "/v1/office/thermometers", "/v1/office/thermometers", vec![A]),
        (Method::GET, "/v1/office/rule-set", "/v1/office/rule-set", all.clone()),
        (Method::PUT, "/v1/office/rule-set", "/v1/office/rule-set", vec![A]),
        (Method::GET, "/v1/office/rule-set/versions", "/v1/office/rule-set/versions", vec![M, A]),
        (Method::GET, "/v1/office/audit", "/v1/office/audit", vec![A]),
        // Administration (office::setup): admins only.
        (Method::GET, "/v1/office/setup/technicians", "/v1/office/setup/technicians", vec![A]),
        (
            Method::POST,
            "/v1/office/setup/technicians/{tech_id}/enrolment-code",
            "/v1/office/setup/technicians/T-X/enrolment-code",
            vec![A],
        ),
        (
            Method::POST,
            "/v1/office/setup/technician-keys/{kid}/revoke",
            "/v1/office/setup/technician-keys/kid-x/revoke",
            vec![A],
        ),
        (Method::GET, "/v1/office/setup/tablets", "/v1/office/setup/tablets", vec![A]),
        (
            Method::POST,
            "/v1/office/setup/tablets/enrolment-code",
            "/v1/office/setup/tablets/enrolment-code",
            vec![A],
        ),
        (
            Method::POST,
            "/v1/office/setup/tablets/{device_id}/revoke",
            "/v1/office/setup/tablets/dev-x/revoke",
            vec![A],
        ),
        (Method::GET, "/v1/office/setup/thermometers", "/v1/office/setup/thermometers", vec![A]),
        (Method::GET, "/v1/office/setup/accounts", "/v1/office/setup/accounts", vec![A]),
        (Method::POST, "/v1/office/setup/accounts", "/v1/office/setup/accounts", vec![A]),
        (
            Method::POST,
            "/v1/office/setup/accounts/{username}/disable",
            "/v1/office/setup/accounts/nobody-x/disable",
            vec![A],
        ),
        (
            Method::POST,
            "/v1/office/setup/accounts/{username}/enable",
            "/v1/office/setup/accounts/nobody-x/enable",
            vec![A],
        ),
        // Complaints and the board's extras (complaints.rs); the event
        // stream is asked to end after a second so the answer can be read.
        (Method::GET, "/v1/office/complaints", "/v1/office/complaints", vec![CS, M, A]),
        (Method::POST, "/v1/office/complaints/{id}/answer", "/v1/office/complaints/WO-X/answer", vec![CS, A]),
        (Method::GET, "/v1/office/call-window", "/v1/office/call-window", vec![CS, D, A]),
        (Method::GET, "/v1/office/events", "/v1/office/events?close_after=1", all.clone()),
    ]
}

/// Every operation `/v1/openapi.json` documents with an operator token or
/// a session, except the session endpoints themselves.
async fn documented_operator_operations(server: &Server) -> BTreeSet<(String, String)> {
    let (_, doc) = server.call(Method::GET, "/v1/openapi.json", Cred::None, None).await;
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"].to_string();
            let operator = security.contains("operator_token") || security.contains("session_cookie");
            if operator && path != "/v1/office/session" {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

async fn every_role_gets_exactly_its_endpoints(backend: Backend) {
    let server = Server::start(backend).await;
    // Every documented operator endpoint is in the matrix: a new one fails here until listed.
    let listed: BTreeSet<(String, String)> =
        matrix().iter().map(|(m, p, _, _)| (m.as_str().to_owned(), (*p).to_owned())).collect();
    let documented = documented_operator_operations(&server).await;
    assert_eq!(documented, listed, "the matrix must list every documented operator endpoint");

    let mut sessions = Vec::new();
    for (username, role, _) in USERS {
        sessions.push((*role, server.login(username).await));
    }
    // A session of an account disabled afterwards.
    let gone = server.login(DISABLED.0).await;
    assert!(server.state.storage.set_operator_disabled(DISABLED.0, true).await.unwrap());
    let body = json!({});
    let mut checked = 0;
    for (method, documented, path, allowed) in matrix() {
        let body = (method != Method::GET).then_some(&body);
        for (role, session) in &sessions {
            let (status, answer) = server.call(method.clone(), path, Cred::Session(session), body).await;
            let what = format!("{method} {documented} as {role}: {status} {answer}");
            if allowed.contains(role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && status.as_u16() < 500,
                    "allowed, but {what}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "refused, but {what}");
                assert_eq!(answer["error"], "forbidden_role", "{what}");
                assert!(
                    answer["message"].as_str().unwrap().contains(allowed[0].as_str()),
                    "names the role: {what}"
                );
            }
            checked += 1;
        }
        let (status, answer) = server.call(method.clone(), path, Cred::Token, body).await;
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN && status.as_u16() < 500,
            "an operator token counts as admin: {method} {documented}: {status} {answer}"
        );
        for (who, cred) in [("nobody", Cred::None), ("a disabled account", Cred::Session(&gone))] {
            let (status, answer) = server.call(method.clone(), path, cred, body).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {documented} as {who}: {answer}");
            assert_eq!(answer["error"], "unauthorized", "{answer}");
        }
        checked += 1;
    }
    assert!(checked > 100);
    // And the disabled account cannot log in again.
    let resp = server.login_raw(DISABLED.0, DISABLED.1).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- login and sessions

async fn login_sets_a_strict_cookie_and_wrong_or_unknown_logins_answer_alike(backend: Backend) {
    let server = Server::start(backend).await;
    let resp = server.login_raw("disp", "disp-password-1").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookies: Vec<&str> =
        resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let (pair, flags) = cookies[0].split_once(';').unwrap();
    assert_eq!(flags, " HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=43200");
    let secret = pair.strip_prefix("hearth_session=").unwrap().to_owned();
    let raw = hearth_protocol::b64::decode(&secret).expect("base64url");
    assert_eq!(raw.len(), 32);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["operator"], json!({"username": "disp", "name": "disp name", "roles": ["dispatcher"]}));
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let session = Session { secret: secret.clone(), csrf };

    let (status, again) = server.call(Method::GET, "/v1/office/session", Cred::Session(&session), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, body, "GET answers the login's body");
    let (status, _) = server.call(Method::GET, "/v1/office/work-orders", Cred::Session(&session), None).await;
    assert_eq!(status, StatusCode::OK);

    // Only the hash of the secret is stored.
    assert!(server.state.storage.operator_session(&secret).await.unwrap().is_none());
    assert!(server.state.storage.operator_session(&auth::secret_hash(&secret)).await.unwrap().is_some());

    let started = std::time::Instant::now();
    let wrong = server.login_raw("disp", "not-the-password").await;
    let wrong_took = started.elapsed();
    let started = std::time::Instant::now();
    let unknown = server.login_raw("nobody-here", "not-the-password").await;
    let unknown_took = started.elapsed();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown, "one answer for both");
    assert_eq!(wrong["error"], "bad_credentials");
    // Both run Argon2id (a dummy hash for the unknown user): the faster of
    // two tries of each is within a factor of the other (skipping the hash
    // would make the unknown user tens of times faster). Four failures in
    // all: the fifth would not yet be throttled, the sixth would.
    let (mut wrong_took, mut unknown_took) = (wrong_took, unknown_took);
    for (username, took) in [("disp", &mut wrong_took), ("nobody-here", &mut unknown_took)] {
        let started = std::time::Instant::now();
        let resp = server.login_raw(username, "not-the-password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        *took = (*took).min(started.elapsed());
    }
    assert!(
        unknown_took * 5 > wrong_took && wrong_took * 5 > unknown_took,
        "{wrong_took:?} vs {unknown_took:?}"
    );

    // No cookie, or a made-up one: 401.
    let (status, _) = server.call(Method::GET, "/v1/office/session", Cred::None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fake = Session { secret: auth::new_secret(), csrf: String::new() };
    let (status, answer) = server.call(Method::GET, "/v1/office/session", Cred::Session(&fake), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

    // Logout: needs the CSRF token, then the cookie opens nothing.
    let (status, answer) =
        server.call(Method::DELETE, "/v1/office/session", Cred::SessionCsrf(&session, None), None).await;
    assert_eq!((status, answer["error"].clone()), (StatusCode::FORBIDDEN, json!("csrf_failed")));
    let resp = server.raw(Method::DELETE, "/v1/office/session", Cred::Session(&session), None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    for path in ["/v1/office/session", "/v1/office/work-orders"] {
        let (status, _) = server.call(Method::GET, path, Cred::Session(&session), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} after logout");
    }
}

async fn the_sixth_failed_login_is_throttled_until_the_window_passes(backend: Backend) {
    let server = Server::start(backend).await;
    for i in 0..5 {
        let resp = server.login_raw("mgr", &format!("wrong-{i}")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "failure {i}");
    }
    // The sixth attempt is refused even with the right password.
    let resp = server.login_raw("mgr", "mgr-password-12").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    server.advance(15 * MINUTE + 1_000);
    let resp = server.login_raw("mgr", "mgr-password-12").await;
    assert_eq!(resp.status(), StatusCode::OK, "the window has passed");
}

async fn sessions_end_after_thirty_idle_minutes_and_twelve_hours_in_all(backend: Backend) {
    let server = Server::start(backend).await;
    let idle = server.login("cs").await;
    server.advance(29 * MINUTE);
    let (status, _) = server.call(Method::GET, "/v1/office/session", Cred::Session(&idle), None).await;
    assert_eq!(status, StatusCode::OK, "29 minutes idle is fine and counts as use");
    server.advance(31 * MINUTE);
    let (status, answer) =
        server.call(Method::GET, "/v1/office/follow-ups", Cred::Session(&idle), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "31 idle minutes: {answer}");

    let busy = server.login("cs").await;
    for _ in 0..(12 * 60 / 20 - 1) {
        server.advance(20 * MINUTE);
        let (status, _) = server.call(Method::GET, "/v1/office/session", Cred::Session(&busy), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    server.advance(20 * MINUTE);
    let (status, _) = server.call(Method::GET, "/v1/office/session", Cred::Session(&busy), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "twelve hours after login, however busy");
}

// ---------------------------------------------------------------- CSRF

async fn session_changes_need_the_csrf_token_and_bearer_tokens_do_not(backend: Backend) {
    let server = Server::start(backend).await;
    let root = server.login("root").await;
    let tech = |id: &str| json!({"tech_id": id, "name": "王师傅", "phone": "13800138000"});
    let path = "/v1/office/technicians";
    for csrf in [None, Some("wrong-token"), Some("")] {
        let (status, answer) =
            server.call(Method::POST, path, Cred::SessionCsrf(&root, csrf), Some(&tech("T1"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{csrf:?}: {answer}");
        assert_eq!(answer["error"], "csrf_failed");
    }
    // Another session's token does not do either.
    let other = server.login("root").await;
    let (status, _) =
        server.call(Method::POST, path, Cred::SessionCsrf(&root, Some(&other.csrf)), Some(&tech("T1"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = server.call(Method::POST, path, Cred::Session(&root), Some(&tech("T1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = server.call(Method::POST, path, Cred::Token, Some(&tech("T2"))).await;
    assert_eq!(status, StatusCode::CREATED, "a bearer token needs no CSRF token: {answer}");
    // Reads need none.
    let (status, list) = server.call(Method::GET, path, Cred::SessionCsrf(&root, None), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------- audit

async fn office_actions_are_audited_and_the_log_cannot_be_edited(backend: Backend) {
    let server = Server::start(backend).await;
    let _ = server.login_raw("rev", "wrong-password").await;
    let root = server.login("root").await;
    let disp = server.login("disp").await;
    let tech = json!({"tech_id": "T9", "name": "张师傅", "phone": "13800138000"});
    let (status, _) =
        server.call(Method::POST, "/v1/office/technicians", Cred::Session(&root), Some(&tech)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        server.call(Method::POST, "/v1/office/technicians", Cred::Session(&disp), Some(&tech)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .call(Method::POST, "/v1/office/work-orders/WO-404/cancel", Cred::Token, Some(&json!({})))
        .await;
    assert!(status.is_client_error());
    let (status, _) = server
        .call(Method::POST, "/v1/office/work-orders", Cred::SessionCsrf(&disp, None), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.call(Method::DELETE, "/v1/office/session", Cred::Session(&disp), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = server.audit().await;
    let line = |actor: &str, method: &str, path: &str| {
        log.iter()
            .find(|e| e["actor"] == actor && e["method"] == method && e["path"] == path)
            .unwrap_or_else(|| panic!("no {actor} {method} {path} in {log:#?}"))
            .clone()
    };
    let failed = line("rev", "POST", "/v1/office/session");
    assert_eq!(failed["status"], 401);
    assert_eq!(line("root", "POST", "/v1/office/session")["status"], 200);
    let created = line("root", "POST", "/v1/office/technicians");
    assert_eq!((created["status"].clone(), created["role"].clone()), (json!(201), json!("admin")));
    assert_eq!(created["at_ms"], T0);
    assert_eq!(created["target"], "T9", "a creation is attributed to the id it created");
    let refused = line("disp", "POST", "/v1/office/technicians");
    assert_eq!(refused["status"], 403);
    let cancel = line(TOKEN_NAME, "POST", "/v1/office/work-orders/WO-404/cancel");
    assert_eq!((cancel["role"].clone(), cancel["target"].clone()), (json!("token"), json!("WO-404")));
    assert_eq!(line("disp", "DELETE", "/v1/office/session")["status"], 204);
    assert_eq!(line("disp", "POST", "/v1/office/work-orders")["status"], 403, "a CSRF refusal is audited");
    assert!(!log.iter().any(|e| e["method"] == "GET"), "reads are not audited");

    // Paging: a cursor walks the whole log in order.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server
            .call(
                Method::GET,
                &format!("/v1/office/audit?limit=2&cursor={cursor}"),
                Cred::Session(&root),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let all: Vec<Value> = server.audit().await.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, all);
    let (status, _) = server.call(Method::GET, "/v1/office/audit?limit=0", Cred::Token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    for sql in ["UPDATE office_audit SET actor = 'someone else'", "DELETE FROM office_audit"] {
        match server.raw_sql(sql).await {
            Err(message) => assert!(message.contains("append-only"), "{sql}: {message}"),
            Ok(()) => panic!("{sql}: the database must refuse it"),
        }
    }
    assert_eq!(server.audit().await.len(), all.len());
}

async fn the_audit_log_keeps_each_change_before_and_after(backend: Backend) {
    let server = Server::start(backend).await;
    let root = server.login("root").await;
    let disp = server.login("disp").await;
    let tech = json!({"tech_id": "T1", "name": "王建国", "phone": "13800138000"});
    let (status, _) =
        server.call(Method::POST, "/v1/office/technicians", Cred::Session(&root), Some(&tech)).await;
    assert_eq!(status, StatusCode::CREATED);
    let order = json!({
        "id": "WO-7", "category": "repair", "priority": "normal",
        "customer": {"name": "李四", "phone": "13900139000",
                     "address": {"community": "幸福小区", "building": "3号楼", "unit": "2单元", "room": "301"}},
        "fault_description": "暖气不热",
    });
    let (status, body) =
        server.call(Method::POST, "/v1/office/work-orders", Cred::Session(&disp), Some(&order)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let assign = json!({"technicians": ["T1"], "expected_rev": 1});
    let (status, body) = server
        .call(Method::POST, "/v1/office/work-orders/WO-7/assign", Cred::Session(&disp), Some(&assign))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Refused on a stale revision: nothing changed, so no states.
    let (status, _) = server
        .call(Method::POST, "/v1/office/work-orders/WO-7/assign", Cred::Session(&disp), Some(&assign))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = server
        .call(Method::POST, "/v1/office/setup/accounts/cs/disable", Cred::Session(&root), Some(&json!({})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, code) = server
        .call(
            Method::POST,
            "/v1/office/setup/tablets/enrolment-code",
            Cred::Session(&root),
            Some(&json!({"server": "https://hearth.example.cn"})),
        )
        .await;
    assert!(status.is_success(), "{code}");

    let log = server.audit().await;
    let lines = |path: &str| -> Vec<Value> { log.iter().filter(|e| e["path"] == path).cloned().collect() };

    let created = &lines("/v1/office/technicians")[0];
    assert!(created.get("before").is_none(), "a creation has nothing before: {created}");
    assert_eq!(created["after"]["body"]["name"], "王建国", "{created}");

    let order_created = &lines("/v1/office/work-orders")[0];
    assert_eq!(order_created["target"], "WO-7");
    assert_eq!(order_created["after"]["rev"], 1, "{order_created}");

    let assigns = lines("/v1/office/work-orders/WO-7/assign");
    assert_eq!(assigns.len(), 2, "{assigns:#?}");
    let (done, refused) = (&assigns[0], &assigns[1]);
    assert_eq!(done["before"]["rev"], 1, "{done}");
    assert_eq!(done["after"]["rev"], 2, "{done}");
    assert_ne!(done["before"]["body"], done["after"]["body"], "the assignment shows in the states: {done}");
    assert!(done["after"]["body"].to_string().contains("T1"), "{done}");
    assert_eq!(refused["status"], 409);
    assert!(refused.get("before").is_none() && refused.get("after").is_none(), "{refused}");

    let disabled = &lines("/v1/office/setup/accounts/cs/disable")[0];
    assert_eq!(disabled["before"]["disabled"], false, "{disabled}");
    assert_eq!(disabled["after"]["disabled"], true, "{disabled}");
    assert!(!disabled.to_string().contains("argon2"), "no password hash in the log: {disabled}");

    // An enrolment code is a secret handed out: it is logged, but not kept.
    let code_line = &lines("/v1/office/setup/tablets/enrolment-code")[0];
    assert!(code_line.get("after").is_none(), "{code_line}");
    let secret = code["code"].as_str().unwrap();
    assert!(!log.iter().any(|e| e.to_string().contains(secret)), "the code is not in the log");
}

async fn passwords_are_stored_as_argon2id_and_accounts_are_added_from_the_command_line(backend: Backend) {
    let server = Server::start(backend).await;
    let account = server.state.storage.operator_account("disp").await.unwrap().unwrap();
    assert!(account.password_hash.starts_with("$argon2id$"), "{}", account.password_hash);
    assert!(!account.password_hash.contains("disp-password-1"));

    let url = match &server._pg {
        Some(pg) => pg.url(),
        None => format!("sqlite://{}", server.database),
    };
    let cli = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(common::BIN)
            .args(["admin", "--database", &url])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let add = [
        "operator-add",
        "--username",
        "newbie",
        "--name",
        "新同事",
        "--role",
        "reviewer",
        "--role",
        "manager",
        "--password-stdin",
    ];
    let (ok, out) = cli(&add, "a-long-password\n");
    assert!(ok, "{out}");
    let (ok, _) = cli(&add, "a-long-password\n");
    assert!(!ok, "the username is taken");
    let (ok, _) =
        cli(&["operator-add", "--username", "x", "--name", "X", "--role", "root"], "a-long-password\n");
    assert!(!ok, "no such role");
    let account = server.state.storage.operator_account("newbie").await.unwrap().unwrap();
    assert_eq!(account.roles, ["reviewer", "manager"]);
    assert!(account.password_hash.starts_with("$argon2id$"));
    let resp = server.login_raw("newbie", "a-long-password").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["operator"]["roles"], json!(["reviewer", "manager"]));

    let newbie = server.login("disp").await;
    let (ok, out) = cli(&["operator-disable", "--username", "disp"], "");
    assert!(ok, "{out}");
    let (status, _) = server.call(Method::GET, "/v1/office/session", Cred::Session(&newbie), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "disabling ends the sessions");
    let _ = &server.dir;
}

/// `demo` (as `serve --demo`) makes one account per role with the documented logins.
async fn the_demo_has_one_login_per_role(backend: Backend) {
    let server = common::TestServer::start(backend);
    for (username, _, role, password) in hearth_server::demo::ACCOUNTS {
        let resp = server
            .http
            .post(server.url("/v1/office/session"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{username}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["operator"]["roles"], json!([role.as_str()]));
    }
    let out = server.run(&["demo"]);
    assert!(out.starts_with("demo: "), "the summary stays the last line: {out}");
}

on_both_backends!(
    the_demo_has_one_login_per_role,
    every_role_gets_exactly_its_endpoints,
    login_sets_a_strict_cookie_and_wrong_or_unknown_logins_answer_alike,
    the_sixth_failed_login_is_throttled_until_the_window_passes,
    sessions_end_after_thirty_idle_minutes_and_twelve_hours_in_all,
    session_changes_need_the_csrf_token_and_bearer_tokens_do_not,
    office_actions_are_audited_and_the_log_cannot_be_edited,
    the_audit_log_keeps_each_change_before_and_after,
    passwords_are_stored_as_argon2id_and_accounts_are_added_from_the_command_line,
);
