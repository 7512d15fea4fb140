//! The office console in a real browser: headless Chromium driven through
//! chromedriver (W3C WebDriver) against the real server on the demo day.
//! A dispatcher signs in (a wrong password first), sees the open orders by
//! nearest deadline with overdue ones on top, the page passes axe-core with
//! no serious or critical violation, switches to English, opens the
//! follow-up queue and signs out. Screenshots go to target/office-screens.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hearth_tests::system::Server;
use hearth_tests::webdriver::{Session, testid};
use serde_json::{Value, json};

const STEP: Duration = Duration::from_secs(20);

/// A demo login (`serve --demo` prints them): username and password.
fn login_of(username: &str) -> (&'static str, &'static str) {
    let (username, _, _, password) = hearth_server::demo::ACCOUNTS
        .iter()
        .find(|(u, ..)| *u == username)
        .unwrap_or_else(|| panic!("the demo has a {username}"));
    (username, password)
}

/// chromedriver on a free port, killed with the test.
struct Driver {
    child: Child,
    base: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian's chromium-driver; .ci/run installs it)");
        // Built first, so that a driver that never gets ready is still killed and reaped.
        let driver = Self { child, base: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if hearth_tests::webdriver::status(&driver.base).await.is_ok_and(|s| s["ready"] == true) {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready on {}", driver.base);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screens() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/office-screens")
}

async fn fill(s: &Session, id: &str, text: &str) {
    let el = s.wait_for(&testid(id), STEP).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.clear(&el).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.send_keys(&el, text).await.unwrap_or_else(|e| panic!("{id}: {e}"));
}

async fn click(s: &Session, id: &str) {
    let el = s.wait_for(&testid(id), STEP).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.click(&el).await.unwrap_or_else(|e| panic!("{id}: {e}"));
}

async fn wait_text(s: &Session, needle: &str) {
    s.wait_until(&format!("the page to say {needle:?}"), STEP, || async {
        let text = s.execute("return document.body.innerText", vec![]).await?;
        Ok(text.as_str().is_some_and(|t| t.contains(needle)).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The board's rows in order: (order id, whether shown overdue).
async fn board_rows(s: &Session) -> Vec<(String, bool)> {
    let rows = s
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid^=\"board-row-\"]'))
                 .map(r => [r.dataset.testid.slice('board-row-'.length), r.classList.contains('overdue')])",
            vec![],
        )
        .await
        .expect("rows read");
    serde_json::from_value(rows).expect("rows as pairs")
}

/// axe-core's serious and critical violations on the page as it stands.
async fn accessibility_violations(s: &Session) -> Vec<Value> {
    let axe = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/axe-core/axe.min.js"),
    )
    .expect("axe-core is installed by `npm ci` in ui/");
    s.execute(&axe, vec![]).await.expect("axe-core loads");
    let result = s
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
                .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                                   .map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target) }))))
                .catch(e => done([{ id: 'axe-error', error: String(e) }]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    result.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_signs_in_and_works_the_board_in_a_real_browser() {
    let server = Server::start();
    let driver = Driver::start().await;
    let s = Session::launch_chromium(&driver.base, 1280, 800).await.expect("a Chromium session");

    // The page and its headers: the strict CSP, no inline script.
    let page = reqwest::get(format!("{}/office/", server.base)).await.expect("the console is served");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.unwrap_or_default();
    assert!(!html.contains("<script>") && html.contains("type=\"module\""), "{html}");

    s.goto(&format!("{}/office/", server.base)).await.expect("the console opens");
    wait_text(&s, "登录调度台").await;
    assert!(accessibility_violations(&s).await.is_empty(), "the sign-in form");

    // A wrong password: said in Chinese, nothing else revealed.
    let (dispatcher, password) = login_of("dispatcher");
    fill(&s, "login-username", dispatcher).await;
    fill(&s, "login-password", "not-the-password").await;
    click(&s, "login-submit").await;
    wait_text(&s, "用户名或密码不对").await;

    fill(&s, "login-password", password).await;
    click(&s, "login-submit").await;
    if let Err(e) = s.wait_for("[data-testid^=\"board-row-\"]", STEP).await {
        let _ = s.screenshot(&screens().join("failure.png")).await;
        let text = s.execute("return document.body.innerText", vec![]).await.unwrap_or_default();
        panic!("the board lists no orders: {e}; the page says {text}");
    }
    wait_text(&s, "未完成工单").await;
    let rows = board_rows(&s).await;
    assert!(rows.len() >= 5, "the demo's open orders: {rows:?}");
    let first_on_time = rows.iter().position(|(_, overdue)| !overdue).unwrap_or(rows.len());
    assert!(rows[first_on_time..].iter().all(|(_, overdue)| !overdue), "overdue orders on top: {rows:?}");
    assert!(rows.iter().all(|(id, _)| id.starts_with("WO-")), "{rows:?}");
    s.screenshot(&screens().join("board-zh.png")).await.expect("screenshot");
    let violations = accessibility_violations(&s).await;
    assert!(violations.is_empty(), "axe-core on the board: {}", json!(violations));

    // A call comes in: the dispatcher files a leak and assigns it. A phone
    // of "123" is refused and named beside its field; nothing is filed.
    click(&s, "new-order-open").await;
    fill(&s, "new-name", "<img src=x onerror=alert(1)>").await;
    fill(&s, "new-phone", "123").await;
    fill(&s, "new-community", "阳光花园").await;
    fill(&s, "new-building", "7号楼").await;
    fill(&s, "new-unit", "1单元").await;
    fill(&s, "new-room", "301").await;
    fill(&s, "new-fault", "卫生间暖气片接口漏水").await;
    let category = s.wait_for(&testid("new-category"), STEP).await.expect("category");
    s.execute(
        "arguments[0].value = 'leak'; arguments[0].dispatchEvent(new Event('change'))",
        vec![json!({"element-6066-11e4-a52e-4f735466cecf": category.0})],
    )
    .await
    .expect("category chosen");
    click(&s, "new-tech-T0017").await;
    click(&s, "new-order-submit").await;
    wait_text(&s, "请检查“联系电话”一栏。").await;
    let phone_invalid = s
        .execute(
            "return document.querySelector('[data-testid=\"new-phone\"]').classList.contains('invalid')",
            vec![],
        )
        .await
        .expect("class read");
    assert_eq!(phone_invalid, json!(true), "the refused field is highlighted");
    fill(&s, "new-phone", "13935100099").await;
    click(&s, "new-order-submit").await;
    let notice = s.wait_for(&testid("board-notice"), STEP).await.expect("filed");
    let filed_text = s.text(&notice).await.unwrap_or_default();
    let filed_id =
        filed_text.split_whitespace().find(|w| w.starts_with("WO-")).unwrap_or_default().to_owned();
    assert!(!filed_id.is_empty(), "the notice names the new order: {filed_text}");
    let row = s
        .wait_for(&testid(&format!("board-row-{filed_id}")), STEP)
        .await
        .expect("the new order is on the board");
    let row_text = s.text(&row).await.unwrap_or_default();
    assert!(row_text.contains("<img src=x onerror=alert(1)>"), "customer text shown as text: {row_text}");
    assert!(row_text.contains("王建国"), "the technician by name: {row_text}");
    assert!(row_text.contains("剩余"), "its deadlines count down: {row_text}");
    s.screenshot(&screens().join("board-new-order-zh.png")).await.expect("screenshot");

    // Reassigned to 李秀英, then cancelled with a reason: it leaves the board.
    click(&s, &format!("act-{filed_id}")).await;
    click(&s, &format!("assign-{filed_id}-T0017")).await;
    click(&s, &format!("assign-{filed_id}-T0023")).await;
    click(&s, &format!("assign-{filed_id}")).await;
    wait_text(&s, &format!("已改派 {filed_id}")).await;
    let row = s.wait_for(&testid(&format!("board-row-{filed_id}")), STEP).await.expect("still on the board");
    let row_text = s.text(&row).await.unwrap_or_default();
    assert!(row_text.contains("李秀英") && !row_text.contains("王建国"), "reassigned: {row_text}");
    click(&s, &format!("act-{filed_id}")).await;
    fill(&s, &format!("cancel-reason-{filed_id}"), "用户来电取消，已自行修好").await;
    click(&s, &format!("cancel-{filed_id}")).await;
    wait_text(&s, &format!("已撤销 {filed_id}")).await;
    assert!(
        s.find_all(&testid(&format!("board-row-{filed_id}"))).await.unwrap_or_default().is_empty(),
        "a cancelled order leaves the board"
    );

    // The countdown runs without a reload.
    let (id, _) = rows[0].clone();
    let countdown = testid(&format!("board-countdown-{id}"));
    let before = s.text(&s.find(&countdown).await.expect("countdown")).await.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = s.text(&s.find(&countdown).await.expect("countdown")).await.unwrap_or_default();
    assert_ne!(before, after, "the countdown ticks");

    // English, then the follow-up queue.
    click(&s, "toggle-locale").await;
    wait_text(&s, "Open work orders").await;
    s.screenshot(&screens().join("board-en.png")).await.expect("screenshot");
    click(&s, "nav-follow-ups").await;
    wait_text(&s, "Follow-up calls").await;
    s.screenshot(&screens().join("follow-ups-en.png")).await.expect("screenshot");
    click(&s, "toggle-locale").await;
    click(&s, "sign-out").await;
    wait_text(&s, "登录调度台").await;
    // The session is gone on the server too: the board's API refuses.
    let again = s
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/v1/office/work-orders').then(r => done(r.status)).catch(e => done(String(e)));",
            vec![],
        )
        .await
        .expect("fetch runs");
    assert_eq!(again, json!(401), "signed out");

    // A reviewer lands on the review queue (the demo day has nothing flagged).
    let (reviewer, password) = login_of("reviewer");
    fill(&s, "login-username", reviewer).await;
    fill(&s, "login-password", password).await;
    click(&s, "login-submit").await;
    wait_text(&s, "待质检记录").await;
    wait_text(&s, "没有需要质检的记录").await;
    assert!(
        !s.find_all(&testid("new-order-open")).await.unwrap_or_default().iter().any(|_| true),
        "no dispatch for a reviewer"
    );
    s.screenshot(&screens().join("reviews-zh.png")).await.expect("screenshot");
    let violations = accessibility_violations(&s).await;
    assert!(violations.is_empty(), "axe-core on the review queue: {}", json!(violations));
    s.delete().await.expect("session ends");
}
