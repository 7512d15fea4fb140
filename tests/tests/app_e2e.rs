//! The real app end to end: the `hearth-app` binary under WebDriver (Xvfb,
//! tauri-driver, WebKitWebDriver) against a real `hearth-server`.
//!
//! Needs Xvfb, webkit2gtk-driver, tauri-driver and a CJK font
//! (`bash .ci/run` installs them); without them these tests fail.

use std::time::Duration;

use hearth_tests::app_harness::App;
use hearth_tests::system::Server;
use hearth_tests::webdriver::testid;

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_in_chinese_then_the_tablet_enrols_and_syncs() {
    let server = Server::start();
    let app = App::launch(&server.base).await;

    // First run: the server address, offered from HEARTH_SERVER_URL or typed.
    app.wait_for("server-url").await;
    if app.value("server-url").await.is_empty() {
        app.fill("server-url", &server.base).await;
    }
    assert_eq!(app.value("server-url").await, server.base);
    let never = app.text("sync-bar").await;
    assert!(never.contains("从未"), "before enrolment nothing has synced: {never:?}");
    let shot = app.screenshot("first-run").await;
    let text = app.page_text().await;
    assert!(has_chinese(&text), "the first-run screen speaks Chinese by default; it shows: {text:?}");
    assert!(
        std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false),
        "{} is a real PNG",
        shot.display()
    );

    // Enrol: the shell's enrol_device, then the sync engine starts.
    app.fill("device-code", &server.admin(&["device-code"])).await;
    app.fill("device-name", "测试平板").await;
    app.click("enrol-device").await;
    app.wait_for("tech-id").await;
    let s = app.session();
    let synced = s
        .wait_until("the sync bar to show a sync", Duration::from_secs(30), || async {
            let Some(bar) = s.find_all(&testid("sync-bar")).await?.into_iter().next() else {
                return Ok(None);
            };
            let now = s.text(&bar).await?;
            Ok((!now.contains("从未")).then_some(now))
        })
        .await;
    app.screenshot("technicians").await;
    if let Err(e) = synced {
        panic!("the background sync never reported (sync-status): {e}; before it said {never:?}");
    }

    app.close().await;
}
