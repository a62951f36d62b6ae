//! A minimal W3C WebDriver client over HTTP/JSON (`ureq` + `serde_json`), enough to drive a
//! login in headless Chromium through Debian's `chromedriver`: start the driver on a free
//! loopback port, open a session, navigate, find elements by CSS selector, click, type, read the
//! page and take screenshots.
//!
//! Every call returns `Result<_, String>`: the message names the WebDriver command and carries
//! the driver's own error (`no such element`, `timeout`, ...), so that a failing test can say
//! which step failed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long chromedriver may take to answer `/status` after it starts.
const DRIVER_START_DEADLINE: Duration = Duration::from_secs(30);

/// The arguments every headless Chromium session gets.
pub const HEADLESS_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--password-store=basic",
];

/// An executable found on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The Chromium browser and its driver, when both are installed (Debian: `chromium`,
/// `chromium-driver`).
#[derive(Debug, Clone)]
pub struct Tools {
    /// The browser binary.
    pub chromium: PathBuf,
    /// The driver binary.
    pub chromedriver: PathBuf,
}

impl Tools {
    /// Both binaries from `PATH`, or `None` when one is missing.
    pub fn find() -> Option<Tools> {
        Some(Tools {
            chromium: which("chromium")
                .or_else(|| which("chromium-browser"))
                .or_else(|| which("google-chrome"))?,
            chromedriver: which("chromedriver")?,
        })
    }

    /// `chromium --version`, e.g. `Chromium 120.0.6099.224 built on Debian ...`.
    pub fn chromium_version(&self) -> String {
        version_of(&self.chromium)
    }

    /// `chromedriver --version`.
    pub fn chromedriver_version(&self) -> String {
        version_of(&self.chromedriver)
    }
}

fn version_of(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// An HTTP client for the driver: no redirects, statuses are answers, no proxy (the driver is
/// on loopback), generous timeout (a navigation waits for the page load).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A running chromedriver on 127.0.0.1, killed on drop.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The driver's log file.
    pub log: PathBuf,
    tools: Tools,
    agent: ureq::Agent,
}

impl Driver {
    /// Starts `chromedriver --port=FREE` (logging to `log`) and waits until it is ready.
    pub fn start(tools: &Tools, log: &Path) -> Result<Driver, String> {
        let port = free_port()?;
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", tools.chromedriver.display()))?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
            tools: tools.clone(),
            agent: agent(),
        };
        let deadline = Instant::now() + DRIVER_START_DEADLINE;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!(
                    "chromedriver exited at start ({status}); log {}:\n{}",
                    log.display(),
                    tail(&std::fs::read_to_string(log).unwrap_or_default(), 2000)
                ));
            }
            let ready = request(
                &driver.agent,
                "GET",
                &format!("{}/status", driver.url),
                None,
            )
            .ok()
            .and_then(|v| v.get("ready").and_then(Value::as_bool))
            .unwrap_or(false);
            if ready {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromedriver on port {port} not ready within {DRIVER_START_DEADLINE:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless Chromium session (a fresh profile: no cookies from earlier sessions).
    pub fn session(&self) -> Result<Session, String> {
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": 60_000, "script": 30_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": self.tools.chromium.to_string_lossy(),
                        "args": HEADLESS_ARGS,
                    }
                }
            }
        });
        let value = request(
            &self.agent,
            "POST",
            &format!("{}/session", self.url),
            Some(&capabilities),
        )
        .map_err(|e| format!("new session: {e}"))?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("new session: no sessionId in {value}"))?
            .to_owned();
        let browser_version = value
            .pointer("/capabilities/browserVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(Session {
            base: format!("{}/session/{id}", self.url),
            id,
            browser_version,
            agent: self.agent.clone(),
            deleted: false,
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read the free port: {e}"))
}

/// One WebDriver command: the `value` of the answer, or the driver's error as text.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let response = match method {
        "GET" => agent.get(url).call(),
        "DELETE" => agent.delete(url).call(),
        _ => agent
            .post(url)
            .content_type("application/json; charset=utf-8")
            .send(body.unwrap_or(&json!({})).to_string()),
    };
    let mut response = response.map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("{method} {url}: cannot read the answer: {e}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{method} {url}: HTTP {status}, not JSON ({e}): {}",
            tail(&text, 500)
        )
    })?;
    let value = json.get("value").cloned().unwrap_or(Value::Null);
    if status >= 400 {
        let error = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("error");
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        let message = message.lines().next().unwrap_or("");
        return Err(format!("{method} {url}: HTTP {status} {error}: {message}"));
    }
    Ok(value)
}

/// The last `max` bytes of `text` (on a character boundary).
pub fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The first `max` bytes of `text` (on a character boundary).
pub fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A reference to an element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

/// A browser session, deleted (the browser closed) on drop.
pub struct Session {
    base: String,
    /// The WebDriver session ID.
    pub id: String,
    /// The browser's version as the driver reports it.
    pub browser_version: String,
    agent: ureq::Agent,
    deleted: bool,
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        request(
            &self.agent,
            method,
            &format!("{}{path}", self.base),
            body.as_ref(),
        )
    }

    /// Navigates to `url` and waits for the page load.
    pub fn navigate(&self, url: &str) -> Result<(), String> {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .map(drop)
            .map_err(|e| format!("navigate to {url}: {e}"))
    }

    /// The URL of the current page.
    pub fn current_url(&self) -> Result<String, String> {
        let value = self.call("GET", "/url", None)?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("current URL: not a string: {value}"))
    }

    /// The title of the current page.
    pub fn title(&self) -> Result<String, String> {
        let value = self.call("GET", "/title", None)?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The current page's source (the DOM serialised).
    pub fn source(&self) -> Result<String, String> {
        let value = self.call("GET", "/source", None)?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("page source: not a string: {value}"))
    }

    /// The first element matching the CSS selector.
    pub fn find(&self, selector: &str) -> Result<Element, String> {
        let value = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .map_err(|e| format!("find {selector:?}: {e}"))?;
        value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .map(|id| Element(id.to_owned()))
            .ok_or_else(|| format!("find {selector:?}: no element reference in {value}"))
    }

    /// Every element matching the CSS selector (possibly none).
    pub fn find_all(&self, selector: &str) -> Result<Vec<Element>, String> {
        let value = self
            .call(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .map_err(|e| format!("find all {selector:?}: {e}"))?;
        Ok(value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.get(ELEMENT_KEY).and_then(Value::as_str))
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Clicks the element.
    pub fn click(&self, element: &Element) -> Result<(), String> {
        self.call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .map(drop)
        .map_err(|e| format!("click: {e}"))
    }

    /// Empties an input.
    pub fn clear(&self, element: &Element) -> Result<(), String> {
        self.call(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .map(drop)
        .map_err(|e| format!("clear: {e}"))
    }

    /// Types `text` into the element.
    pub fn send_keys(&self, element: &Element, text: &str) -> Result<(), String> {
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .map(drop)
        .map_err(|e| format!("send keys: {e}"))
    }

    /// The rendered text of the element.
    pub fn text(&self, element: &Element) -> Result<String, String> {
        let value = self.call("GET", &format!("/element/{}/text", element.0), None)?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The value of the element's attribute (`None` when absent).
    pub fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>, String> {
        let value = self.call(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// The value of the cookie `name` the browser holds for the current page, if any.
    pub fn cookie(&self, name: &str) -> Result<Option<String>, String> {
        match self.call("GET", &format!("/cookie/{name}"), None) {
            Ok(value) => Ok(value
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)),
            Err(e) if e.contains("no such cookie") => Ok(None),
            Err(e) => Err(format!("cookie {name}: {e}")),
        }
    }

    /// The rendered text of the page's `<body>`.
    pub fn body_text(&self) -> Result<String, String> {
        let body = self.find("body")?;
        self.text(&body)
    }

    /// Saves a PNG screenshot of the viewport to `path` (directories created).
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        let value = self.call("GET", "/screenshot", None)?;
        let encoded = value.as_str().ok_or_else(|| {
            format!(
                "screenshot: not a string: {}",
                head(&value.to_string(), 200)
            )
        })?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("screenshot: bad base64: {e}"))?;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err("screenshot: not a PNG".into());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Polls `probe` every 200 ms until it gives `Some`, for at most `timeout`. Errors of the
    /// probe (an element not there yet, a page in the middle of loading) count as "not yet";
    /// the last one is reported on timeout.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut(&Session) -> Result<Option<T>, String>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("condition not met");
        loop {
            match probe(self) {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what} ({last})"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until an element matches `selector`, and returns it.
    pub fn wait_for_element(&self, selector: &str, timeout: Duration) -> Result<Element, String> {
        self.wait_for(&format!("an element {selector:?}"), timeout, |s| {
            s.find(selector).map(Some)
        })
    }

    /// Ends the session (closes the browser).
    pub fn delete(&mut self) -> Result<(), String> {
        if self.deleted {
            return Ok(());
        }
        self.deleted = true;
        self.call("DELETE", "", None).map(drop)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.delete();
    }
}
