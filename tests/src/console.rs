//! The office console in a real browser, for the tests: Debian's headless
//! Chromium through chromedriver (W3C WebDriver), the demo's logins, and
//! what the tests do on a page (fill, click, wait for words, run axe-core).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::webdriver::{Session, testid};

/// How long a step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(20);

/// chromedriver on a free port, killed with the test.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pub base: String,
    /// The language the browsers it launches run in (`zh-CN`, `en-US`).
    pub lang: String,
}

impl Driver {
    /// In Chinese, the console's first language.
    pub async fn start() -> Self {
        Self::start_in("zh-CN").await
    }

    /// Chromium on Linux takes its locale (the format of a date input, its
    /// own words) from `LANGUAGE`, not from `--lang`; chromedriver passes its
    /// environment on, so the driver is started in the language. The locale
    /// itself is Debian's chromium-l10n (scripts/deps.sh installs it).
    pub async fn start_in(lang: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("LANGUAGE", lang.replace('-', "_"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian's chromium-driver; .ci/run installs it)");
        // Built first, so that a driver that never gets ready is still killed and reaped.
        let driver = Self { child, base: format!("http://127.0.0.1:{port}"), lang: lang.to_owned() };
        for _ in 0..100 {
            if crate::webdriver::status(&driver.base).await.is_ok_and(|s| s["ready"] == true) {
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

/// Where the console's screenshots go, beside the tablet's.
pub fn screens() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/office-screens")
}

impl Driver {
    /// A headless Chromium session in the driver's language.
    pub async fn chromium(&self, width: u32, height: u32) -> Session {
        Session::launch_chromium(&self.base, width, height, &self.lang).await.expect("a Chromium session")
    }
}

/// Types `text` into the element with `data-testid=id`, cleared first.
pub async fn fill(s: &Session, id: &str, text: &str) {
    let el = s.wait_for(&testid(id), STEP).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.clear(&el).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.send_keys(&el, text).await.unwrap_or_else(|e| panic!("{id}: {e}"));
}

/// Clicks the element with `data-testid=id` once it is there.
pub async fn click(s: &Session, id: &str) {
    let el = s.wait_for(&testid(id), STEP).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    s.click(&el).await.unwrap_or_else(|e| panic!("{id}: {e}"));
}

/// Waits until the page's text contains `needle`.
pub async fn wait_text(s: &Session, needle: &str) {
    s.wait_until(&format!("the page to say {needle:?}"), STEP, || async {
        let text = s.execute("return document.body.innerText", vec![]).await?;
        Ok(text.as_str().is_some_and(|t| t.contains(needle)).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The board's rows in order: (order id, whether shown overdue).
pub async fn board_rows(s: &Session) -> Vec<(String, bool)> {
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
pub async fn accessibility_violations(s: &Session) -> Vec<Value> {
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
