//! The real tablet app under WebDriver: a private X display (Xvfb),
//! `tauri-driver` in front of WebKitWebDriver, and the `hearth-app` binary
//! with a fresh data directory and the server's URL.
//!
//! Steps read as the technician's: `app.fill("server-url", url)`,
//! `app.click("enrol-device")`, `app.wait_for("today-list")`,
//! `app.screenshot("today")` — names are `data-testid`s.
//!
//! A missing Xvfb, tauri-driver or WebKitWebDriver fails the test with what
//! to install; nothing is skipped.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::system::{profile_dir, workspace_binary};
use crate::webdriver::{Element, Session, WebDriverError, testid};

/// How long a step waits for the screen it expects, unless told otherwise.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// The app binary built beside this test (`target/<profile>/hearth-app`).
pub fn app_binary() -> PathBuf {
    workspace_binary("hearth-app", "hearth-app")
}

/// Where screenshots go: `target/e2e-screens/`.
pub fn screens_dir() -> PathBuf {
    profile_dir().parent().expect("target/<profile> has a parent").join("e2e-screens")
}

/// A program on `PATH` (or at one of `also`), or a failure saying how to get it.
fn require_tool(name: &str, also: &[&str], install: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name));
    let extra = also.iter().map(|p| {
        let p = p.replace('~', &std::env::var("HOME").unwrap_or_default());
        PathBuf::from(p)
    });
    on_path.chain(extra).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "{name} is missing: the app's end-to-end tests need it ({install}); `bash .ci/run` installs it"
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free local port").port()
}

/// Kills a child's whole process group (it was started as its leader), so
/// nothing it spawned — WebKitWebDriver, the app — outlives the test.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The screens are Chinese: without a CJK font they render as boxes.
fn require_cjk_font() {
    let out = Command::new("fc-list").arg(":lang=zh").output();
    let found = out.as_ref().map(|o| !o.stdout.trim_ascii().is_empty()).unwrap_or(false);
    assert!(
        found,
        "no Chinese font (fc-list :lang=zh): apt-get install fonts-noto-cjk; `bash .ci/run` installs it"
    );
}

/// A private X server on a display it picked itself.
#[derive(Debug)]
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Self {
        let bin = require_tool("Xvfb", &[], "apt-get install xvfb");
        let mut child = Command::new(bin)
            // Tall enough for the window turned to portrait (800 × 1280).
            .args(["-displayfd", "1", "-screen", "0", "1280x1280x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("Xvfb starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("Xvfb prints its display");
        let n = line.trim();
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            kill_group(&mut child);
            panic!("Xvfb did not report a display (got {line:?})");
        }
        Self { display: format!(":{n}"), child }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// `tauri-driver` on free ports, in front of WebKitWebDriver.
#[derive(Debug)]
struct Driver {
    child: Child,
    base: String,
}

impl Driver {
    fn start(display: &str, data_dir: &Path, server_url: &str) -> Self {
        let tauri_driver = require_tool(
            "tauri-driver",
            &["~/.cargo/bin/tauri-driver"],
            "cargo install tauri-driver --locked",
        );
        let native = require_tool(
            "WebKitWebDriver",
            &["/usr/bin/WebKitWebDriver"],
            "apt-get install webkit2gtk-driver",
        );
        let port = free_port();
        let native_port = free_port();
        let child = Command::new(tauri_driver)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(native)
            // What the app (launched by WebKitWebDriver) inherits.
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            .env("GDK_BACKEND", "x11")
            .env("HEARTH_DATA_DIR", data_dir)
            // The webview's own storage (localStorage: the chosen language)
            // belongs to this app instance, not to every test run on the machine.
            .env("XDG_DATA_HOME", data_dir.join("xdg-data"))
            .env("XDG_CACHE_HOME", data_dir.join("xdg-cache"))
            .env("XDG_CONFIG_HOME", data_dir.join("xdg-config"))
            .env("HEARTH_SERVER_URL", server_url)
            // Not WEBKIT_DISABLE_DMABUF_RENDERER: with it WebKitWebDriver's
            // screenshots never return under Xvfb.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("tauri-driver starts");
        Self { child, base: format!("http://127.0.0.1:{port}") }
    }

    /// Waits until the driver (and WebKitWebDriver behind it) answers.
    async fn ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tauri-driver exited ({status}) before it was ready; see its stderr above");
            }
            if crate::webdriver::status(&self.base).await.is_ok() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "tauri-driver did not answer on {}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// The running app. Dropping it ends the app, the driver and the display.
#[derive(Debug)]
pub struct App {
    // Field order is drop order: the session's app before the driver
    // before the display.
    session: Option<Session>,
    driver: Driver,
    xvfb: Xvfb,
    pub data_dir: tempfile::TempDir,
    pub server_url: String,
}

impl App {
    /// Launches the app on a fresh data directory, pointed at `server_url`.
    pub async fn launch(server_url: &str) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::launch_in(data_dir, server_url).await
    }

    /// Launches the app on an existing data directory (as after a restart).
    pub async fn launch_in(data_dir: tempfile::TempDir, server_url: &str) -> Self {
        let app_binary = app_binary();
        require_cjk_font();
        let xvfb = Xvfb::start();
        let mut driver = Driver::start(&xvfb.display, data_dir.path(), server_url);
        driver.ready().await;
        let session = Session::launch(&driver.base, &app_binary)
            .await
            .unwrap_or_else(|e| panic!("the app did not start under WebDriver: {e}"));
        Self { session: Some(session), driver, xvfb, data_dir, server_url: server_url.to_owned() }
    }

    /// Quits the app and starts it again on the same data directory.
    pub async fn restart(mut self) -> Self {
        if let Some(session) = self.session.take() {
            let _ = session.delete().await;
        }
        let Self { data_dir, server_url, .. } = self;
        Self::launch_in(data_dir, &server_url).await
    }

    /// The WebDriver session, for anything the short steps do not cover.
    pub fn session(&self) -> &Session {
        self.session.as_ref().expect("the app is running")
    }

    /// Where tauri-driver answers, for a second session or a raw request.
    pub fn driver_url(&self) -> &str {
        &self.driver.base
    }

    /// The X display the app runs on.
    pub fn display(&self) -> &str {
        &self.xvfb.display
    }

    /// Waits for the element with this `data-testid`.
    pub async fn wait_for(&self, id: &str) -> Element {
        self.wait_for_within(id, STEP_TIMEOUT).await
    }

    pub async fn wait_for_within(&self, id: &str, timeout: Duration) -> Element {
        match self.session().wait_for(&testid(id), timeout).await {
            Ok(el) => el,
            Err(e) => self.fail(&format!("waiting for [data-testid={id}]"), e).await,
        }
    }

    /// Whether an element with this `data-testid` is on the screen now.
    pub async fn exists(&self, id: &str) -> bool {
        self.session().find_all(&testid(id)).await.map(|all| !all.is_empty()).unwrap_or(false)
    }

    /// Clears the field and types `text` into it.
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self.wait_for(id).await;
        let s = self.session();
        if let Err(e) = async {
            s.clear(&el).await?;
            s.send_keys(&el, text).await
        }
        .await
        {
            self.fail(&format!("filling [data-testid={id}]"), e).await;
        }
    }

    /// Types `text` without clearing (a PIN pad, a search box).
    pub async fn type_keys(&self, id: &str, text: &str) {
        let el = self.wait_for(id).await;
        if let Err(e) = self.session().send_keys(&el, text).await {
            self.fail(&format!("typing into [data-testid={id}]"), e).await;
        }
    }

    pub async fn click(&self, id: &str) {
        let el = self.wait_for(id).await;
        if let Err(e) = self.session().click(&el).await {
            self.fail(&format!("clicking [data-testid={id}]"), e).await;
        }
    }

    /// The element's rendered text.
    pub async fn text(&self, id: &str) -> String {
        let el = self.wait_for(id).await;
        match self.session().text(&el).await {
            Ok(t) => t,
            Err(e) => self.fail(&format!("reading [data-testid={id}]"), e).await,
        }
    }

    /// The current `value` of an input.
    pub async fn value(&self, id: &str) -> String {
        let el = self.wait_for(id).await;
        match self.session().property(&el, "value").await {
            Ok(v) => v.as_str().unwrap_or_default().to_owned(),
            Err(e) => self.fail(&format!("reading the value of [data-testid={id}]"), e).await,
        }
    }

    pub async fn attribute(&self, id: &str, name: &str) -> Option<String> {
        let el = self.wait_for(id).await;
        match self.session().attribute(&el, name).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("reading {name} of [data-testid={id}]"), e).await,
        }
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_for_text(&self, id: &str, needle: &str) -> String {
        let css = testid(id);
        let s = self.session();
        let what = format!("[data-testid={id}] to contain {needle:?}");
        let found = s
            .wait_until(&what, STEP_TIMEOUT, || async {
                let Some(el) = s.find_all(&css).await?.into_iter().next() else { return Ok(None) };
                let text = s.text(&el).await?;
                Ok(text.contains(needle).then_some(text))
            })
            .await;
        match found {
            Ok(t) => t,
            Err(e) => self.fail(&what, e).await,
        }
    }

    /// Everything the page shows as text.
    pub async fn page_text(&self) -> String {
        match self.execute("return document.body ? document.body.innerText : ''", vec![]).await {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Runs a script in the page.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.session().execute(script, args).await {
            Ok(v) => v,
            Err(e) => self.fail("running a script", e).await,
        }
    }

    /// Saves `target/e2e-screens/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screens_dir().join(format!("{name}.png"));
        if let Err(e) = self.session().screenshot(&path).await {
            panic!("screenshot {name} failed: {e}");
        }
        path
    }

    /// The screen as a tablet held upright shows it (800 × 1280):
    /// `target/e2e-screens/<name>-portrait.png`; the window is turned back
    /// to landscape (1280 × 800) afterwards.
    pub async fn portrait_screenshot(&self, name: &str) -> PathBuf {
        self.turn(800, 1280).await;
        let path = self.screenshot(&format!("{name}-portrait")).await;
        self.turn(1280, 800).await;
        path
    }

    /// Resizes the window (portrait 800 × 1280, landscape 1280 × 800) and
    /// lets the layout settle at the new width.
    pub async fn turn(&self, width: u32, height: u32) {
        if let Err(e) = self.session().set_window_size(width, height).await {
            self.fail(&format!("resizing the window to {width} × {height}"), e).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Fails the test, leaving a screenshot and the page text behind.
    async fn fail(&self, doing: &str, e: WebDriverError) -> ! {
        let shot = screens_dir().join("failure.png");
        let saved = self.session().screenshot(&shot).await.is_ok();
        let text =
            self.session().execute("return document.body ? document.body.innerText : ''", vec![]).await;
        panic!(
            "{doing}: {e}\nscreenshot: {}\npage text: {}",
            if saved { shot.display().to_string() } else { "none".into() },
            text.map(|v| v.to_string()).unwrap_or_else(|e| e.to_string())
        );
    }

    /// Ends the session cleanly (the driver closes the app), then everything else.
    pub async fn close(mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.delete().await;
        }
    }
}

/// Cold starts of a Tauri app under a private display, as a technician's
/// tap on the icon: for each of `runs`, from the WebDriver session request
/// (WebKitWebDriver execs the app) until `css` is on the screen, then the
/// app is closed. One display and one driver serve every run of one
/// binary, so both apps of a comparison pay the same harness costs.
pub async fn cold_starts(
    binary: &Path,
    data_dir: &Path,
    server_url: &str,
    css: &str,
    runs: usize,
) -> Result<Vec<Duration>, String> {
    require_cjk_font();
    let xvfb = Xvfb::start();
    let mut driver = Driver::start(&xvfb.display, data_dir, server_url);
    driver.ready().await;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let session = Session::launch(&driver.base, binary)
            .await
            .map_err(|e| format!("{} did not start: {e}", binary.display()))?;
        // Polled every 10 ms (the steps' 150 ms would blur a one-second figure).
        let found = loop {
            if session.find_all(css).await.is_ok_and(|all| !all.is_empty()) {
                break Some(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(60) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let _ = session.delete().await;
        times.push(found.ok_or_else(|| format!("{}: {css} never appeared in 60 s", binary.display()))?);
    }
    Ok(times)
}
