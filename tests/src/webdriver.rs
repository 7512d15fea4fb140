//! A small W3C WebDriver client over reqwest: just what the app's end-to-end
//! tests need — a session, elements by css, clicks and keys, text,
//! attributes, scripts, waiting, screenshots.
//!
//! It talks to `tauri-driver`, which turns the `tauri:options` capability
//! into WebKitWebDriver's and launches the app binary.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C key under which a found element's id comes back.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An error from the remote end (`{error, message}`) or from getting there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebDriverError {
    /// The W3C error code (`no such element`, `timeout`, …) or `transport`.
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for WebDriverError {}

fn transport(e: impl std::fmt::Display) -> WebDriverError {
    WebDriverError { error: "transport".into(), message: e.to_string() }
}

/// One element the remote end knows by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

/// One WebDriver session: one launched app.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

/// Asks the driver at `base` whether it is up (`GET /status`).
pub async fn status(base: &str) -> Result<Value, WebDriverError> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(transport)?;
    let resp = http.get(format!("{base}/status")).send().await.map_err(transport)?;
    answer(resp).await
}

async fn answer(resp: reqwest::Response) -> Result<Value, WebDriverError> {
    let code = resp.status();
    let body: Value = resp.json().await.map_err(|e| transport(format!("HTTP {code}, body not JSON: {e}")))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if code.is_success() {
        return Ok(value);
    }
    Err(WebDriverError {
        error: value.get("error").and_then(Value::as_str).unwrap_or("unknown error").to_owned(),
        message: value.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
    })
}

impl Session {
    /// A new session whose browser is the Tauri app at `application`.
    pub async fn launch(base: &str, application: &Path) -> Result<Self, WebDriverError> {
        Self::launch_with(
            base,
            json!({ "browserName": "wry", "tauri:options": { "application": application } }),
        )
        .await
    }

    /// A new session in headless Chromium (`chromedriver` at `base`), a
    /// desk-sized window, Chinese first as the office's browsers are.
    /// Headless Chromium in `lang` (a BCP 47 tag such as `zh-CN`): the
    /// pages' `Accept-Language` and `navigator.languages`. Its own locale
    /// (how a date input reads) follows the driver's `LANGUAGE`
    /// (`console::Driver::start_in`); `--lang` alone is ignored on Linux.
    pub async fn launch_chromium(
        base: &str,
        width: u32,
        height: u32,
        lang: &str,
    ) -> Result<Self, WebDriverError> {
        Self::launch_with(
            base,
            json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             format!("--window-size={width},{height}"), format!("--lang={lang}")],
                    "prefs": { "intl.accept_languages": lang },
                }
            }),
        )
        .await
    }

    async fn launch_with(base: &str, always_match: Value) -> Result<Self, WebDriverError> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().map_err(transport)?;
        let caps = json!({ "capabilities": { "alwaysMatch": always_match } });
        let resp = http.post(format!("{base}/session")).json(&caps).send().await.map_err(transport)?;
        let value = answer(resp).await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| transport(format!("no sessionId in {value}")))?
            .to_owned();
        Ok(Self { http, base: base.trim_end_matches('/').to_owned(), id })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Resizes the window (W3C Set Window Rect), e.g. to a portrait tablet.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), WebDriverError> {
        self.post("/window/rect", json!({ "width": width, "height": height })).await.map(drop)
    }

    /// Opens `url` in the session's window.
    pub async fn goto(&self, url: &str) -> Result<(), WebDriverError> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// Runs an asynchronous script: it ends by calling `arguments[arguments.length - 1]`.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value, WebDriverError> {
        self.post("/execute/async", json!({"script": script, "args": args})).await
    }

    async fn get(&self, path: &str) -> Result<Value, WebDriverError> {
        let url = format!("{}/session/{}{path}", self.base, self.id);
        answer(self.http.get(url).send().await.map_err(transport)?).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, WebDriverError> {
        let url = format!("{}/session/{}{path}", self.base, self.id);
        answer(self.http.post(url).json(&body).send().await.map_err(transport)?).await
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element, WebDriverError> {
        let value = self.post("/element", json!({"using": "css selector", "value": css})).await?;
        element_of(&value)
    }

    /// Every element matching a CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, WebDriverError> {
        let value = self.post("/elements", json!({"using": "css selector", "value": css})).await?;
        value.as_array().map(|all| all.iter().map(element_of).collect()).unwrap_or_else(|| Ok(vec![]))
    }

    pub async fn click(&self, el: &Element) -> Result<(), WebDriverError> {
        self.post(&format!("/element/{}/click", el.0), json!({})).await.map(drop)
    }

    pub async fn clear(&self, el: &Element) -> Result<(), WebDriverError> {
        self.post(&format!("/element/{}/clear", el.0), json!({})).await.map(drop)
    }

    /// Types `text` into the element, as keystrokes.
    pub async fn send_keys(&self, el: &Element, text: &str) -> Result<(), WebDriverError> {
        self.post(&format!("/element/{}/value", el.0), json!({"text": text})).await.map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self, el: &Element) -> Result<String, WebDriverError> {
        Ok(self.get(&format!("/element/{}/text", el.0)).await?.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute as written in the DOM (`None` when absent).
    pub async fn attribute(&self, el: &Element, name: &str) -> Result<Option<String>, WebDriverError> {
        Ok(self.get(&format!("/element/{}/attribute/{name}", el.0)).await?.as_str().map(str::to_owned))
    }

    /// A DOM property (`value` of an input, `checked`, `disabled`, …).
    pub async fn property(&self, el: &Element, name: &str) -> Result<Value, WebDriverError> {
        self.get(&format!("/element/{}/property/{name}", el.0)).await
    }

    /// Runs a script synchronously in the page; `arguments[i]` are `args`.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, WebDriverError> {
        self.post("/execute/sync", json!({"script": script, "args": args})).await
    }

    /// The page's HTML.
    pub async fn source(&self) -> Result<String, WebDriverError> {
        Ok(self.get("/source").await?.as_str().unwrap_or_default().to_owned())
    }

    /// Polls `f` until it yields `Some`, or fails after `timeout` with the
    /// last error seen, naming `what` was awaited.
    pub async fn wait_until<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: F,
    ) -> Result<T, WebDriverError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, WebDriverError>>,
    {
        let start = Instant::now();
        let mut last = String::from("never true");
        loop {
            match f().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last = e.to_string(),
            }
            if start.elapsed() >= timeout {
                return Err(WebDriverError {
                    error: "timeout".into(),
                    message: format!("waited {timeout:?} for {what}; last: {last}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until an element matching `css` exists, and returns it.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, WebDriverError> {
        self.wait_until(css, timeout, || async { Ok(self.find_all(css).await?.into_iter().next()) }).await
    }

    /// A PNG of the window.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, WebDriverError> {
        let b64 = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .map_err(|e| transport(format!("screenshot is not base64: {e}")))
    }

    /// Saves a PNG of the window to `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) -> Result<(), WebDriverError> {
        let png = self.screenshot_png().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(transport)?;
        }
        std::fs::write(path, png).map_err(transport)
    }

    /// Ends the session; the driver closes the app.
    pub async fn delete(self) -> Result<(), WebDriverError> {
        let url = format!("{}/session/{}", self.base, self.id);
        answer(self.http.delete(url).send().await.map_err(transport)?).await.map(drop)
    }
}

fn element_of(value: &Value) -> Result<Element, WebDriverError> {
    value
        .get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| transport(format!("not an element reference: {value}")))
}

/// The CSS selector of a `data-testid`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}
