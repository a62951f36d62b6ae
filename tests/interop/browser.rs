//! Browser-driven logins: headless Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`, installed by `tests/interop/setup/chromium.sh`), driven with the minimal
//! W3C WebDriver client of `webdriver.rs`.
//!
//! - `browser_demo_login_reaches_the_downstream_app`: `fedbridge demo` on free loopback ports;
//!   "Log in using SSO", the development IdP's form as alice, its auto-post page (a CSP-nonce
//!   script, nothing clicked), and the downstream app's greeting with her groups.
//! - `browser_simplesamlphp_sp_initiated_login`: SimpleSAMLphp (`../shared/idp-samples/
//!   simplesamlphp/start.sh`, port 8081) and `fedbridge serve` on 127.0.0.1:8080 configured
//!   with `fedbridge install --answers` from the IdP's metadata URL; the login starts at the
//!   downstream app (127.0.0.1:8095, in-process), goes through SimpleSAMLphp's form as
//!   alice/alicepass, and ends in the app with her name and groups.
//!
//! Each test saves a screenshot of the downstream page under `target/interop/screenshots/` and
//! prints `screenshot: <absolute path>` (the CI artifact). Without the tools the tests print
//! `SKIPPED: ...` and return, unless `FEDBRIDGE_REQUIRE_INTEROP=1`, which makes them fail. A
//! failure names the step, and prints the page (URL, title, source excerpt), a screenshot of it,
//! fedbridge's last `login_audit` row and the servers' log tails.

#[path = "webdriver.rs"]
mod webdriver;

use std::fs::File;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use webdriver::{Driver, Session, Tools, head, tail};

/// How long one page may take to appear (a debug build, PHP's one-request server, 2 cores).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `fedbridge demo` or `fedbridge serve` may take to be ready.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// fedbridge's address in the SimpleSAMLphp scenario: the SP that `saml20-sp-remote.php` knows.
const SSP_FEDBRIDGE: &str = "http://127.0.0.1:8080";
/// SimpleSAMLphp's address (its `start.sh` default).
const SSP_IDP: &str = "http://127.0.0.1:8081";
/// The downstream app of the SimpleSAMLphp scenario (a port of its own in the interop suite).
const SSP_APP_PORT: u16 = 8095;

// ---------------------------------------------------------------------------------------------
// Paths, skipping, diagnostics
// ---------------------------------------------------------------------------------------------

fn repo() -> PathBuf {
    // The tests are targets of the cli package (cli/Cargo.toml), one level down.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// `target/interop` of the repository (screenshots, logs, IdP work directories).
fn interop_dir() -> PathBuf {
    repo().join("target/interop")
}

fn screenshot_path(name: &str) -> PathBuf {
    interop_dir()
        .join("screenshots")
        .join(format!("{name}.png"))
}

fn required() -> bool {
    std::env::var("FEDBRIDGE_REQUIRE_INTEROP").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A line for the CI log that shows even when libtest captures the test's output (a passing
/// test's `println!` is swallowed without `--nocapture`): written straight to the standard
/// error of the process.
fn say(line: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}

/// The IdP and case names of a test in `target/interop/results.tsv` (the suite's IdP x case
/// table, one `idp<TAB>case<TAB>status<TAB>seconds<TAB>note` line per case).
#[derive(Debug, Clone, Copy)]
struct Row {
    test: &'static str,
    idp: &'static str,
    case: &'static str,
}

/// Appends one line to `target/interop/results.tsv` (best effort).
fn record(row: Row, status: &str, seconds: f64, note: &str) {
    use std::io::Write as _;
    let dir = interop_dir();
    let _ = std::fs::create_dir_all(&dir);
    let line = format!(
        "{}\t{}\t{status}\t{seconds:.1}\t{}\n",
        row.idp,
        row.case,
        note.replace(['\t', '\n'], " ")
    );
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("results.tsv"))
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// A missing tool: `SKIPPED: ...` (the test returns), or a failure with
/// `FEDBRIDGE_REQUIRE_INTEROP=1`.
fn skip(row: Row, message: &str) {
    if required() {
        record(row, "FAIL", 0.0, message);
        panic!(
            "{}: {message}, and FEDBRIDGE_REQUIRE_INTEROP is set: failing instead of skipping",
            row.test
        );
    }
    record(row, "SKIPPED", 0.0, message);
    crate::skips::record(row.test, message);
    say(&format!("SKIPPED: {message} [{}]", row.test));
}

/// Chromium and chromedriver, or a skip.
fn chromium(row: Row) -> Option<Tools> {
    let tools = Tools::find();
    if tools.is_none() {
        skip(
            row,
            "chromium not installed (install: bash tests/interop/setup/chromium.sh)",
        );
    }
    tools
}

/// What a failure prints besides its step: the browser's page, the database's last audit row,
/// the servers' logs.
struct Diagnostics {
    row: Row,
    test: &'static str,
    started: Instant,
    /// The PASS row's note (the screenshot's path).
    note: String,
    database: Option<PathBuf>,
    logs: Vec<(String, PathBuf)>,
}

impl Diagnostics {
    fn new(row: Row) -> Diagnostics {
        Diagnostics {
            row,
            test: row.test,
            started: Instant::now(),
            note: String::new(),
            database: None,
            logs: Vec::new(),
        }
    }

    fn log(&mut self, name: &str, path: &Path) {
        self.logs.push((name.to_owned(), path.to_owned()));
    }

    /// The step's value, or a panic that says which step failed and what the browser shows.
    fn step<T>(&self, session: Option<&Session>, step: &str, result: Result<T, String>) -> T {
        match result {
            Ok(value) => {
                println!(
                    "  [{:>6.1}s] ok: {step}",
                    self.started.elapsed().as_secs_f64()
                );
                value
            }
            Err(error) => self.fail(session, step, &error),
        }
    }

    fn fail(&self, session: Option<&Session>, step: &str, error: &str) -> ! {
        let mut report = format!("{}: step failed: {step}\n  error: {error}\n", self.test);
        if let Some(session) = session {
            let url = session.current_url().unwrap_or_else(|e| format!("({e})"));
            let title = session.title().unwrap_or_else(|e| format!("({e})"));
            report.push_str(&format!("  page URL: {url}\n  page title: {title}\n"));
            let shot = screenshot_path(&format!("{}-failure", self.test));
            match session.screenshot(&shot) {
                Ok(()) => report.push_str(&format!("  screenshot: {}\n", shot.display())),
                Err(e) => report.push_str(&format!("  (no screenshot: {e})\n")),
            }
            match session.source() {
                Ok(source) => report.push_str(&format!(
                    "  page source (first 4000 bytes):\n{}\n",
                    head(&source, 4000)
                )),
                Err(e) => report.push_str(&format!("  (no page source: {e})\n")),
            }
        }
        report.push_str(&format!(
            "  fedbridge's last login_audit row: {}\n",
            self.last_audit()
        ));
        for (name, path) in &self.logs {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            report.push_str(&format!(
                "  --- {name} ({}), last 3000 bytes:\n{}\n",
                path.display(),
                tail(&text, 3000)
            ));
        }
        panic!("{report}");
    }

    /// `id|at|outcome|reason_code|detail|idp|login_name|correlation_id` of the newest row.
    fn last_audit(&self) -> String {
        let Some(db) = &self.database else {
            return "(no database yet)".into();
        };
        let output = Command::new("sqlite3")
            .args(["-cmd", ".nullvalue <NULL>", "-cmd", ".timeout 5000"])
            .arg(db)
            .arg("SELECT * FROM login_audit ORDER BY id DESC LIMIT 1")
            .output();
        match output {
            Ok(out) if out.status.success() => {
                let row = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if row.is_empty() {
                    "(none: no login reached the ACS)".into()
                } else {
                    row
                }
            }
            Ok(out) => format!(
                "(sqlite3 failed: {})",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => format!("(cannot run sqlite3: {e}; apt-get install sqlite3)"),
        }
    }
}

impl Drop for Diagnostics {
    /// The test's row in `target/interop/results.tsv`: FAIL when it panicked, else PASS.
    fn drop(&mut self) {
        let status = if std::thread::panicking() {
            "FAIL"
        } else {
            "PASS"
        };
        record(
            self.row,
            status,
            self.started.elapsed().as_secs_f64(),
            &self.note,
        );
    }
}

/// Waits for the downstream app's greeting: the page at `app` whose body contains every one of
/// `expected`; its text.
/// An IdP's login form: where the password goes, whom to log in, and its submit button.
struct LoginForm<'a> {
    password_field: &'a str,
    user: &'a str,
    password: &'a str,
    submit: &'a str,
    /// How the steps name the submit button.
    button: &'a str,
}

/// Fills the login form whose user-name field is `username` and submits it, each action a
/// named step.
fn submit_login(
    diagnostics: &Diagnostics,
    session: &Session,
    username: &webdriver::Element,
    form: &LoginForm<'_>,
) {
    let s = Some(session);
    let password = diagnostics.step(
        s,
        "find the password field",
        session.find(form.password_field),
    );
    diagnostics.step(s, &format!("type the user name {}", form.user), {
        session
            .clear(username)
            .and_then(|()| session.send_keys(username, form.user))
    });
    diagnostics.step(
        s,
        &format!("type {}'s password", form.user),
        session.send_keys(&password, form.password),
    );
    let submit = diagnostics.step(
        s,
        &format!("find {}", form.button),
        session.find(form.submit),
    );
    diagnostics.step(s, &format!("click {}", form.button), session.click(&submit));
}

fn wait_for_greeting(session: &Session, app: &str, expected: &[&str]) -> Result<String, String> {
    session.wait_for(
        &format!("the downstream app at {app} greeting with {expected:?}"),
        STEP_TIMEOUT,
        |s| {
            let url = s.current_url()?;
            if !url.starts_with(app) {
                return Err(format!("still at {url}"));
            }
            let text = s.body_text()?;
            if expected.iter().all(|e| text.contains(e)) {
                Ok(Some(text))
            } else {
                Err(format!("at {url}, the page says: {}", head(&text, 300)))
            }
        },
    )
}

/// Saves the final screenshot and prints its path for the CI log.
fn final_screenshot(diagnostics: &mut Diagnostics, session: &Session, name: &str) -> PathBuf {
    let path = screenshot_path(name);
    diagnostics.step(
        Some(session),
        &format!("save the screenshot {}", path.display()),
        session.screenshot(&path),
    );
    say(&format!("screenshot: {}", path.display()));
    diagnostics.note = format!("Chromium; screenshot: {}", path.display());
    path
}

/// Starts chromedriver and a headless Chromium session; prints the versions.
fn browser(diagnostics: &mut Diagnostics, tools: &Tools) -> (Driver, Session) {
    let log = interop_dir()
        .join("logs")
        .join(format!("{}-chromedriver.log", diagnostics.test));
    let driver = diagnostics.step(None, "start chromedriver", Driver::start(tools, &log));
    diagnostics.log("chromedriver", &log);
    let session = diagnostics.step(None, "open a headless Chromium session", driver.session());
    say(&format!(
        "chromium: {} (WebDriver browserVersion {}); {}",
        tools.chromium_version(),
        session.browser_version,
        tools.chromedriver_version()
    ));
    (driver, session)
}

/// Reads a child's standard output line by line on a thread, so it never blocks on the pipe.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// SIGINT (a clean stop that removes the demo's temporary directory), then SIGKILL.
fn interrupt_then_kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------
// (a) fedbridge demo
// ---------------------------------------------------------------------------------------------

/// A running `fedbridge demo`, stopped on drop.
struct Demo {
    child: Child,
    fedbridge: String,
    app: String,
    database: PathBuf,
}

impl Demo {
    fn start(log: &Path) -> Result<Demo, String> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--idp-listen",
                "127.0.0.1:0",
                "--app-listen",
                "127.0.0.1:0",
            ])
            .env("RUST_LOG", "info")
            .env_remove("FEDBRIDGE_DATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).map_err(|e| format!("{}: {e}", log.display()))?)
            .spawn()
            .map_err(|e| format!("cannot start fedbridge demo: {e}"))?;
        let rx = lines_of(&mut child);
        let mut demo = Demo {
            child,
            fedbridge: String::new(),
            app: String::new(),
            database: PathBuf::new(),
        };
        let deadline = Instant::now() + START_DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                return Err(format!(
                    "no complete banner within {START_DEADLINE:?}; stdout so far:\n{}",
                    seen.join("\n")
                ));
            };
            let url = |prefix: &str| {
                line.strip_prefix(prefix)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            };
            if let Some(url) = url("  open      ") {
                demo.fedbridge = url;
            } else if let Some(url) = url("  app       ") {
                demo.app = url;
            } else if let Some(path) = line.strip_prefix("  database  ") {
                demo.database = PathBuf::from(path.trim());
            }
            let done = line.starts_with("Press Ctrl-C");
            seen.push(line);
            if done {
                break;
            }
        }
        if demo.fedbridge.is_empty() || demo.app.is_empty() {
            return Err(format!(
                "the banner lacks the open/app URLs:\n{}",
                seen.join("\n")
            ));
        }
        Ok(demo)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        interrupt_then_kill(&mut self.child);
    }
}

/// `fedbridge demo` in headless Chromium: the newcomer's click-through, with a real browser
/// running the IdP's CSP-nonce auto-post script.
#[test]
fn browser_demo_login_reaches_the_downstream_app() {
    const TEST: &str = "browser_demo_login_reaches_the_downstream_app";
    let row = Row {
        test: TEST,
        idp: "fedbridge-demo",
        case: "browser: demo login in headless Chromium",
    };
    let Some(tools) = chromium(row) else { return };
    let mut diagnostics = Diagnostics::new(row);

    let log = interop_dir().join("logs").join(format!("{TEST}-demo.log"));
    diagnostics.log("fedbridge demo", &log);
    let demo = diagnostics.step(None, "start fedbridge demo", Demo::start(&log));
    diagnostics.database = Some(demo.database.clone());
    println!(
        "fedbridge demo: open {} app {} database {}",
        demo.fedbridge,
        demo.app,
        demo.database.display()
    );
    let (_driver, session) = browser(&mut diagnostics, &tools);
    let s = Some(&session);

    diagnostics.step(
        s,
        &format!("open fedbridge at {}", demo.fedbridge),
        session.navigate(&demo.fedbridge),
    );
    let button = diagnostics.step(
        s,
        "find the \"Log in using SSO\" button (#sso-login)",
        session.wait_for_element("#sso-login", STEP_TIMEOUT),
    );
    let label = diagnostics.step(s, "read the button", session.text(&button));
    if !label.contains("Log in using SSO") {
        diagnostics.fail(s, "read the button", &format!("its label is {label:?}"));
    }
    diagnostics.step(s, "click \"Log in using SSO\"", session.click(&button));

    let username = diagnostics.step(
        s,
        "the development IdP's login form",
        session.wait_for_element("input[name=username]", STEP_TIMEOUT),
    );
    let text = diagnostics.step(s, "read the IdP's page", session.body_text());
    if !text.contains("Development IdP") {
        diagnostics.fail(
            s,
            "the development IdP's login form",
            "the page does not say \"Development IdP\"",
        );
    }
    submit_login(
        &diagnostics,
        &session,
        &username,
        &LoginForm {
            password_field: "input[name=password]",
            user: "alice",
            password: "alice-password",
            submit: "form button[type=submit]",
            button: "the IdP's \"Log in\" button",
        },
    );

    // The IdP answers with the auto-post page (CSP nonce script + Continue button); nothing is
    // clicked here: the script must post the response by itself.
    let greeting = diagnostics.step(
        s,
        "auto-post to fedbridge's ACS and land in the downstream app",
        wait_for_greeting(
            &session,
            &demo.app,
            &["Hello, Alice Example", "Engineering", "Staff"],
        ),
    );
    if greeting.contains("Sales") {
        diagnostics.fail(s, "alice's groups", "the page lists bob's group Sales");
    }
    final_screenshot(&mut diagnostics, &session, "demo-downstream");
    say(&format!(
        "{TEST}: passed in {:.1}s",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------------
// (b) SimpleSAMLphp, SP-initiated
// ---------------------------------------------------------------------------------------------

/// SimpleSAMLphp's `start.sh`.
fn ssp_start_script() -> PathBuf {
    repo().join("../shared/idp-samples/simplesamlphp/start.sh")
}

/// What SimpleSAMLphp needs, or the reason it cannot run.
fn simplesamlphp_missing() -> Option<String> {
    let www = std::env::var("SSP_WWW").unwrap_or_else(|_| "/usr/share/simplesamlphp/www".into());
    if webdriver::which("php").is_none() {
        return Some("php not installed".into());
    }
    if !Path::new(&www).is_dir() {
        return Some(format!("simplesamlphp not installed (no {www})"));
    }
    if !ssp_start_script().is_file() {
        return Some(format!("{} is missing", ssp_start_script().display()));
    }
    None
}

/// An exclusive lock on the fixed loopback ports of the SimpleSAMLphp scenario (8080, 8081), so
/// that two tests of the suite never fight over them; released on drop.
struct PortLock(File);

impl PortLock {
    fn take() -> Result<PortLock, String> {
        let dir = interop_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("ports-8080-8081.lock");
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        Ok(PortLock(file))
    }
}

impl Drop for PortLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Waits (up to 20 s) until nothing listens on `port`: a server of the previous test may still
/// be stopping; a leftover server would answer instead of ours.
fn port_free(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(300)).is_err() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "127.0.0.1:{port} stays in use (a leftover server? `ss -ltnp | grep :{port}`)"
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SimpleSAMLphp started by its `start.sh` in a work directory of its own; stopped on drop.
struct SimpleSamlPhp {
    work: PathBuf,
}

impl SimpleSamlPhp {
    /// SimpleSAMLphp on 127.0.0.1:8081 for the SP at `sp_origin` (its entityID and ACS URL
    /// there, as fedbridge's defaults make them).
    fn start(work: &Path, sp_origin: &str) -> Result<SimpleSamlPhp, String> {
        // Fresh logs, so that a failure shows this run's lines only.
        let _ = std::fs::remove_file(work.join("log/simplesamlphp.log"));
        let out = Command::new("bash")
            .arg(ssp_start_script())
            .arg(work)
            .env("IDP_PORT", "8081")
            // One process: with PHP_CLI_SERVER_WORKERS, `start.sh stop` kills only the master
            // and the forked workers keep listening on 8081.
            .env_remove("PHP_CLI_SERVER_WORKERS")
            // fedbridge's default SP entityID: its consumer URL (not the recipe's default).
            .env(
                "SP_ENTITY_ID",
                format!("{sp_origin}/EnticeServices/rest/authenticate/saml"),
            )
            .env(
                "SP_ACS_URL",
                format!("{sp_origin}/EnticeServices/rest/authenticate/saml"),
            )
            .env_remove("IDP_SIGN_RESPONSE")
            .env_remove("IDP_SIGN_ASSERTION")
            .env_remove("IDP_ENCRYPT_ASSERTION")
            .env_remove("IDP_ATTR_NAME_FORMAT")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run start.sh: {e}"))?;
        let ssp = SimpleSamlPhp {
            work: work.to_owned(),
        };
        if !out.status.success() {
            return Err(format!(
                "start.sh failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // start.sh only checks that the metadata URL answers: make sure that it is our php
        // that listens (another IdP left on 8081 would answer too).
        let pid = std::fs::read_to_string(work.join("idp.pid")).unwrap_or_default();
        let pid = pid.trim();
        std::thread::sleep(Duration::from_millis(300));
        if pid.is_empty() || !Path::new(&format!("/proc/{pid}")).exists() {
            return Err(format!(
                "SimpleSAMLphp's php (pid {pid:?}) is not running: is 127.0.0.1:8081 held by \
                 another process? `ss -ltnp | grep :8081`"
            ));
        }
        Ok(ssp)
    }
}

impl Drop for SimpleSamlPhp {
    fn drop(&mut self) {
        // Any process forked by our php (none without PHP_CLI_SERVER_WORKERS) goes first.
        if let Ok(pid) = std::fs::read_to_string(self.work.join("idp.pid")) {
            for child in children_of(pid.trim()) {
                let _ = Command::new("kill").arg(&child).status();
            }
        }
        let _ = Command::new("bash")
            .arg(ssp_start_script())
            .arg("stop")
            .arg(&self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The IDs of the processes whose parent is `pid` (from `/proc/*/stat`).
fn children_of(pid: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "PID (COMM) STATE PPID ...": COMM may hold spaces, so split after its ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .to_owned();
            (ppid == pid).then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

/// `fedbridge --database DB ARGS...`, which must succeed: its standard output.
fn fedbridge(db: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("FEDBRIDGE_DATABASE")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run fedbridge: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "fedbridge {args:?} failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A running `fedbridge serve`, killed on drop.
struct Serve(Child);

impl Serve {
    /// `fedbridge --database DB serve --listen 127.0.0.1:8080`; waits for `/healthz` to say
    /// `ok` (settings valid, the IdP's metadata fetched).
    fn start(db: &Path, log: &Path) -> Result<Serve, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .arg("--database")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:8080"])
            .env("RUST_LOG", "info")
            .env_remove("FEDBRIDGE_LISTEN")
            .env_remove("FEDBRIDGE_DATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).map_err(|e| format!("{}: {e}", log.display()))?)
            .spawn()
            .map_err(|e| format!("cannot start fedbridge serve: {e}"))?;
        let _lines = lines_of(&mut child);
        let serve = Serve(child);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let deadline = Instant::now() + START_DEADLINE;
        let mut last;
        loop {
            match agent.get(&format!("{SSP_FEDBRIDGE}/healthz")).call() {
                Ok(mut response) => {
                    let body = response.body_mut().read_to_string().unwrap_or_default();
                    if body.contains("\"status\":\"ok\"") {
                        return Ok(serve);
                    }
                    last = body;
                }
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "/healthz not ok within {START_DEADLINE:?}; last answer: {last}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example downstream app (`fedbridge::demo::downstream`) in-process on 127.0.0.1:`port`,
/// verifying fedbridge's xsession; stopped on drop.
struct Downstream {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Downstream {
    fn start(port: u16, fedbridge: &str, audience: &str) -> Result<Downstream, String> {
        use actix_web::{App, HttpServer, web};
        use fedbridge::demo::downstream::{self, LoginLink};

        let verifier = web::Data::new(downstream::verifier(fedbridge, audience, None));
        let login = web::Data::new(LoginLink(format!(
            "{fedbridge}/saml/login?target=http%3A%2F%2F127.0.0.1%3A{port}%2F"
        )));
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let bound = HttpServer::new(move || {
                    App::new()
                        .app_data(verifier.clone())
                        .app_data(login.clone())
                        .configure(downstream::configure)
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", port));
                match bound {
                    Ok(server) => {
                        let server = server.run();
                        let _ = tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("cannot listen on 127.0.0.1:{port}: {e}")));
                    }
                }
            });
        });
        let handle = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the downstream app did not start".to_owned())??;
        Ok(Downstream {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The SP-initiated login against SimpleSAMLphp in headless Chromium, configured the way an
/// administrator does it: `fedbridge install --answers` with the IdP's metadata URL.
#[test]
fn browser_simplesamlphp_sp_initiated_login() {
    let row = Row {
        test: "browser_simplesamlphp_sp_initiated_login",
        idp: "simplesamlphp",
        case: "browser: SP-initiated login in headless Chromium",
    };
    simplesamlphp_browser_login(row, SSP_FEDBRIDGE);
}

/// The same login with fedbridge reached as `localhost` and the IdP as `127.0.0.1`: two sites,
/// so the IdP's auto-posted form is a cross-site POST and Chromium keeps fedbridge's
/// `SameSite=Lax` login cookie home. fedbridge's same-site hop page posts the form again from
/// its own origin, with the cookie, and the login completes in the browser that started it
/// (issue 11, browser binding).
#[test]
fn browser_simplesamlphp_login_across_sites_takes_the_same_site_hop() {
    let row = Row {
        test: "browser_simplesamlphp_login_across_sites_takes_the_same_site_hop",
        idp: "simplesamlphp",
        case: "browser: cross-site IdP POST, login cookie brought by the same-site hop",
    };
    simplesamlphp_browser_login(row, "http://localhost:8080");
}

/// The browser login against SimpleSAMLphp, with fedbridge at `fedbridge_origin` (port 8080).
fn simplesamlphp_browser_login(row: Row, fedbridge_origin: &str) {
    let test = row.test;
    let Some(tools) = chromium(row) else { return };
    if let Some(missing) = simplesamlphp_missing() {
        skip(
            row,
            &format!("{missing} (install: bash tests/interop/setup/simplesamlphp.sh)"),
        );
        return;
    }
    let mut diagnostics = Diagnostics::new(row);
    let app = format!("http://127.0.0.1:{SSP_APP_PORT}/");

    let _lock = diagnostics.step(
        None,
        "lock the ports 8080/8081 (target/interop/ports-8080-8081.lock)",
        PortLock::take(),
    );
    diagnostics.step(
        None,
        "check that 127.0.0.1:8080, :8081 and :8095 are free",
        port_free(8080)
            .and_then(|()| port_free(8081))
            .and_then(|()| port_free(SSP_APP_PORT)),
    );

    // 1. SimpleSAMLphp on 127.0.0.1:8081, both Response and Assertion signed (its defaults).
    let work = interop_dir().join("simplesamlphp-browser");
    diagnostics.log("SimpleSAMLphp", &work.join("log/simplesamlphp.log"));
    diagnostics.log("php -S", &work.join("log/php-server.log"));
    let _ssp = diagnostics.step(
        None,
        &format!(
            "start SimpleSAMLphp on {SSP_IDP} (work dir {})",
            work.display()
        ),
        SimpleSamlPhp::start(&work, fedbridge_origin),
    );

    // 2. fedbridge configured through the installer's answers file, then the attribute
    //    mapping of this IdP with `fedbridge config set`.
    let dir = diagnostics.step(
        None,
        "create a temporary directory",
        tempfile::tempdir().map_err(|e| e.to_string()),
    );
    let db = dir.path().join("fedbridge.db");
    diagnostics.database = Some(db.clone());
    let answers = dir.path().join("answers.toml");
    diagnostics.step(
        None,
        "write the installer's answers file",
        std::fs::write(
            &answers,
            format!(
                "base_url = \"{fedbridge_origin}\"\n\
                 SAML_METADATA_URL = \"{SSP_IDP}/saml2/idp/metadata.php\"\n\
                 SAML_USER_ID_ATTRIBUTE = \"\"\n\
                 SAML_AUTOMATIC_LOGIN = 0\n\
                 FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS = [\"{app}\"]\n"
            ),
        )
        .map_err(|e| e.to_string()),
    );
    let answers = answers.to_string_lossy().into_owned();
    let installed = diagnostics.step(
        None,
        "fedbridge install --answers (metadata URL of SimpleSAMLphp)",
        fedbridge(&db, &["install", "--answers", &answers]),
    );
    println!("{}", installed.trim_end());
    diagnostics.step(
        None,
        "fedbridge config set (SimpleSAMLphp's attribute names)",
        fedbridge(
            &db,
            &[
                "config",
                "set",
                "SAML_USER_FULLNAME_ATTRIBUTE",
                "displayName",
                "SAML_USER_EMAIL_ATTRIBUTE",
                "mail",
                "SAML_USER_GROUPS_ATTRIBUTE",
                "groups",
                "FEDBRIDGE_CREATE_MISSING_GROUPS",
                "1",
            ],
        ),
    );
    diagnostics.step(
        None,
        "fedbridge config check",
        fedbridge(&db, &["config", "check"]),
    );

    // 3. fedbridge serve on 127.0.0.1:8080 and the downstream app on 127.0.0.1:8095.
    let serve_log = dir.path().join("serve.log");
    diagnostics.log("fedbridge serve", &serve_log);
    let _serve = diagnostics.step(
        None,
        "start fedbridge serve on 127.0.0.1:8080 (/healthz ok)",
        Serve::start(&db, &serve_log),
    );
    let _downstream = diagnostics.step(
        None,
        &format!("start the downstream app on {app}"),
        Downstream::start(SSP_APP_PORT, fedbridge_origin, "xsession"),
    );

    // 4. The browser: the app sends the visitor to log in, fedbridge to SimpleSAMLphp.
    let (_driver, session) = browser(&mut diagnostics, &tools);
    let s = Some(&session);
    diagnostics.step(
        s,
        &format!("open the downstream app at {app}"),
        session.navigate(&app),
    );
    let link = diagnostics.step(
        s,
        "the app's \"not logged in\" page with its login link",
        session.wait_for_element("a[href*='/saml/login']", STEP_TIMEOUT),
    );
    diagnostics.step(
        s,
        "click the app's \"Log in using SSO\" link",
        session.click(&link),
    );
    let username = diagnostics.step(
        s,
        "SimpleSAMLphp's login form",
        session.wait_for_element("#username", STEP_TIMEOUT),
    );
    let at = diagnostics.step(s, "read the IdP's URL", session.current_url());
    if !at.starts_with(SSP_IDP) {
        diagnostics.fail(
            s,
            "SimpleSAMLphp's login form",
            &format!("the form is at {at}, not at {SSP_IDP}"),
        );
    }
    submit_login(
        &diagnostics,
        &session,
        &username,
        &LoginForm {
            password_field: "#password",
            user: "alice",
            password: "alicepass",
            submit: "#submit_button, form button[type=submit], form input[type=submit]",
            button: "SimpleSAMLphp's login button",
        },
    );

    // SimpleSAMLphp's HTTP-POST binding page submits itself to fedbridge's ACS.
    diagnostics.step(
        s,
        "SimpleSAMLphp posts the response to fedbridge's ACS; land in the downstream app",
        wait_for_greeting(&session, &app, &["Hello, Alice Example", "users", "admins"]),
    );
    final_screenshot(&mut diagnostics, &session, "simplesamlphp-downstream");
    println!(
        "fedbridge's last login_audit row: {}",
        diagnostics.last_audit()
    );
    say(&format!(
        "{test}: passed in {:.1}s",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}

// ---------------------------------------------------------------------------------------------
// (c) The admin console (issue 13, check 1), on `fedbridge demo`: alice is in Engineering, the
// demo's FEDBRIDGE_ADMIN_GROUPS; bob is not.
// ---------------------------------------------------------------------------------------------

/// The demo IdP's sample users.
const ALICE: (&str, &str) = ("alice", "alice-password");
const BOB: (&str, &str) = ("bob", "bob-password");

/// Fills the development IdP's form (waiting for it) as `user` and submits it.
fn idp_login(diagnostics: &Diagnostics, session: &Session, user: (&str, &str)) {
    let username = diagnostics.step(
        Some(session),
        "the development IdP's login form",
        session.wait_for_element("input[name=username]", STEP_TIMEOUT),
    );
    submit_login(
        diagnostics,
        session,
        &username,
        &LoginForm {
            password_field: "input[name=password]",
            user: user.0,
            password: user.1,
            submit: "form button[type=submit]",
            button: "the IdP's \"Log in\" button",
        },
    );
}

/// Waits for a page at `url_prefix` whose text contains `expected`; its text.
fn wait_for_page(session: &Session, url_prefix: &str, expected: &str) -> Result<String, String> {
    session.wait_for(
        &format!("a page at {url_prefix} saying {expected:?}"),
        STEP_TIMEOUT,
        |s| {
            let url = s.current_url()?;
            let text = s.body_text()?;
            if url.starts_with(url_prefix) && text.contains(expected) {
                Ok(Some(text))
            } else {
                Err(format!("at {url}: {}", head(&text, 300)))
            }
        },
    )
}

/// Opens `/admin` and signs in through the development IdP as `user`.
fn admin_sign_in(diagnostics: &Diagnostics, session: &Session, demo: &Demo, user: (&str, &str)) {
    let s = Some(session);
    diagnostics.step(
        s,
        "open the admin console (sends to the IdP)",
        session.navigate(&format!("{}admin", demo.fedbridge)),
    );
    idp_login(diagnostics, session, user);
}

/// `SELECT ...` on the demo's database, trimmed.
fn demo_sql(demo: &Demo, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000"])
        .arg(&demo.database)
        .arg(sql)
        .output()
        .expect("sqlite3 runs (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Starts the demo and a browser, or skips; the row's case names the check.
fn admin_case(
    test: &'static str,
    case: &'static str,
) -> Option<(Diagnostics, Demo, Driver, Session)> {
    let row = Row {
        test,
        idp: "fedbridge-demo",
        case,
    };
    let tools = chromium(row)?;
    let mut diagnostics = Diagnostics::new(row);
    let log = interop_dir().join("logs").join(format!("{test}-demo.log"));
    diagnostics.log("fedbridge demo", &log);
    let demo = diagnostics.step(None, "start fedbridge demo", Demo::start(&log));
    diagnostics.database = Some(demo.database.clone());
    let (driver, session) = browser(&mut diagnostics, &tools);
    Some((diagnostics, demo, driver, session))
}

/// An admin signs in through SSO and reaches every page of the console (and /metrics).
#[test]
fn browser_admin_console_every_page() {
    const TEST: &str = "browser_admin_console_every_page";
    let Some((mut diagnostics, demo, _driver, session)) =
        admin_case(TEST, "browser: admin console, every page")
    else {
        return;
    };
    let s = Some(&session);
    admin_sign_in(&diagnostics, &session, &demo, ALICE);
    let admin = format!("{}admin", demo.fedbridge);
    diagnostics.step(
        s,
        "land on the status page",
        wait_for_page(&session, &admin, "Logins per hour"),
    );
    final_screenshot(&mut diagnostics, &session, "admin-status");
    for (path, expected, shot) in [
        ("admin/attempts", "Login attempts", "admin-attempts"),
        ("admin/users", "alice", "admin-users"),
        (
            "admin/user?login=alice%40demo.example",
            "Sessions",
            "admin-user",
        ),
        ("admin/groups", "Engineering", "admin-groups"),
    ] {
        let url = format!("{}{path}", demo.fedbridge);
        diagnostics.step(s, &format!("open {url}"), session.navigate(&url));
        diagnostics.step(
            s,
            &format!("{path} says {expected:?}"),
            wait_for_page(&session, &url, expected),
        );
        final_screenshot(&mut diagnostics, &session, shot);
    }
    // An attempt in full, from the list.
    diagnostics.step(
        s,
        "open the attempts list",
        session.navigate(&format!("{}admin/attempts", demo.fedbridge)),
    );
    let link = diagnostics.step(
        s,
        "the newest attempt's link",
        session.wait_for_element("table a[href^=\"/admin/attempts/\"]", STEP_TIMEOUT),
    );
    diagnostics.step(s, "open the attempt", session.click(&link));
    let text = diagnostics.step(
        s,
        "the attempt shows its attributes and changes",
        wait_for_page(
            &session,
            &format!("{}admin/attempts/", demo.fedbridge),
            "Attributes that arrived",
        ),
    );
    for expected in [
        "Clock offset",
        "SAML_USER_GROUPS_ATTRIBUTE",
        "add to group Engineering",
    ] {
        if !text.contains(expected) {
            diagnostics.fail(
                s,
                "the attempt's detail",
                &format!("no {expected:?} in: {}", head(&text, 2000)),
            );
        }
    }
    final_screenshot(&mut diagnostics, &session, "admin-attempt");
    // /metrics answers the admin session.
    let url = format!("{}metrics", demo.fedbridge);
    diagnostics.step(s, "open /metrics", session.navigate(&url));
    diagnostics.step(
        s,
        "/metrics in the text format",
        wait_for_page(&session, &url, "fedbridge_logins_total"),
    );
    say(&format!(
        "{TEST}: passed in {:.1}s",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}

/// A user who is in no admin group gets 403 (and the page says who is signed in).
#[test]
fn browser_admin_console_refuses_a_non_admin() {
    const TEST: &str = "browser_admin_console_refuses_a_non_admin";
    let Some((mut diagnostics, demo, _driver, session)) =
        admin_case(TEST, "browser: admin console, a non-admin gets 403")
    else {
        return;
    };
    let s = Some(&session);
    admin_sign_in(&diagnostics, &session, &demo, BOB);
    let text = diagnostics.step(
        s,
        "the refusal page",
        wait_for_page(&session, &demo.fedbridge, "No access to the admin console"),
    );
    if !text.contains("bob") {
        diagnostics.fail(s, "the refusal names bob", head(&text, 500));
    }
    final_screenshot(&mut diagnostics, &session, "admin-forbidden");
    // The status code, with bob's admin cookie, outside the browser.
    let cookie = diagnostics
        .step(s, "bob's admin cookie", session.cookie("fedbridge_admin"))
        .unwrap_or_else(|| diagnostics.fail(s, "bob's admin cookie", "the browser has none"));
    for path in ["admin", "admin/users", "admin/groups", "metrics"] {
        let reply = crate::support::reply(
            crate::support::browser()
                .get(&format!("{}{path}", demo.fedbridge))
                .header("Cookie", &format!("fedbridge_admin={cookie}"))
                .call(),
        );
        let expected = if path == "metrics" { 401 } else { 403 };
        if reply.status != expected {
            diagnostics.fail(
                s,
                &format!("GET /{path} as bob"),
                &format!("HTTP {}", reply.status),
            );
        }
    }
    say(&format!(
        "{TEST}: passed in {:.1}s",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}

/// A dry-run test login: the result page shows the sync diff; no user, membership or token
/// is written, only the audit row marked as a test.
#[test]
fn browser_admin_test_login_shows_the_diff_and_writes_nothing() {
    const TEST: &str = "browser_admin_test_login_shows_the_diff_and_writes_nothing";
    let Some((mut diagnostics, demo, _driver, session)) =
        admin_case(TEST, "browser: admin test login (dry run)")
    else {
        return;
    };
    let s = Some(&session);
    admin_sign_in(&diagnostics, &session, &demo, ALICE);
    diagnostics.step(
        s,
        "land on the status page",
        wait_for_page(
            &session,
            &format!("{}admin", demo.fedbridge),
            "Start a test login",
        ),
    );
    let counts = |what: &str| {
        demo_sql(
            &demo,
            &format!(
                "SELECT (SELECT count(*) FROM users) || '/' || (SELECT count(*) FROM memberships) \
                 || '/' || (SELECT count(*) FROM xsessions) || '/' || (SELECT count(*) FROM \
                 revoked_sessions) || '/' || (SELECT count(*) FROM groups) -- {what}"
            ),
        )
    };
    let before = counts("before");
    let button = diagnostics.step(
        s,
        "the \"Start a test login\" button",
        session.find("#test-login"),
    );
    diagnostics.step(s, "click \"Start a test login\"", session.click(&button));
    idp_login(&diagnostics, &session, BOB);
    let text = diagnostics.step(
        s,
        "the test login's result",
        wait_for_page(&session, &demo.fedbridge, "Test login: would be accepted"),
    );
    for expected in [
        "create the user",
        "add to group Sales",
        "add to group Staff",
        "Bob Example",
        "nothing applied",
    ] {
        if !text.contains(expected) {
            diagnostics.fail(
                s,
                "the sync diff",
                &format!("no {expected:?} in: {}", head(&text, 3000)),
            );
        }
    }
    final_screenshot(&mut diagnostics, &session, "admin-test-login");
    let after = counts("after");
    if before != after {
        diagnostics.fail(
            s,
            "nothing written",
            &format!("users/memberships/xsessions/revocations/groups were {before}, now {after}"),
        );
    }
    if demo_sql(
        &demo,
        "SELECT count(*) FROM users WHERE login_name = 'bob@demo.example'",
    ) != "0"
    {
        diagnostics.fail(s, "no user bob", "the test login created bob");
    }
    let audit = demo_sql(
        &demo,
        "SELECT outcome || '|' || dry_run FROM login_audit WHERE login_name = 'bob@demo.example'",
    );
    if audit != "accepted|1" {
        diagnostics.fail(s, "the audit row marked as a test", &audit);
    }
    say(&format!(
        "{TEST}: passed in {:.1}s; counts {before} before and after",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}

/// The revoke button ends a session: introspection answers inactive from then on.
#[test]
fn browser_admin_revoke_ends_a_session() {
    const TEST: &str = "browser_admin_revoke_ends_a_session";
    let Some((mut diagnostics, demo, _driver, session)) =
        admin_case(TEST, "browser: admin console revokes a session")
    else {
        return;
    };
    let s = Some(&session);
    // An ordinary login first, to the downstream app.
    diagnostics.step(s, "open fedbridge", session.navigate(&demo.fedbridge));
    let sso = diagnostics.step(
        s,
        "the SSO button",
        session.wait_for_element("#sso-login", STEP_TIMEOUT),
    );
    diagnostics.step(s, "click \"Log in using SSO\"", session.click(&sso));
    idp_login(&diagnostics, &session, ALICE);
    diagnostics.step(
        s,
        "land in the downstream app",
        wait_for_greeting(&session, &demo.app, &["Hello, Alice Example"]),
    );
    let token = diagnostics
        .step(s, "the xsession cookie", session.cookie("xsession"))
        .unwrap_or_else(|| diagnostics.fail(s, "the xsession cookie", "none"));
    let introspect = |token: &str| -> bool {
        let reply = crate::support::reply(
            crate::support::browser()
                .post(&format!("{}api/xsession/introspect", demo.fedbridge))
                .send_form([("token", token)]),
        );
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
        json["active"] == serde_json::Value::Bool(true)
    };
    if !introspect(&token) {
        diagnostics.fail(
            s,
            "introspection before the revoke",
            "the token is not active",
        );
    }
    let sid = {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).unwrap_or_default();
        let claims: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        claims["sid"].as_str().unwrap_or_default().to_owned()
    };
    // Then the console, and alice's page.
    admin_sign_in(&diagnostics, &session, &demo, ALICE);
    diagnostics.step(
        s,
        "land on the status page",
        wait_for_page(&session, &format!("{}admin", demo.fedbridge), "Status"),
    );
    let user = format!("{}admin/user?login=alice%40demo.example", demo.fedbridge);
    diagnostics.step(s, "open alice's page", session.navigate(&user));
    diagnostics.step(s, "alice's sessions", wait_for_page(&session, &user, &sid));
    final_screenshot(&mut diagnostics, &session, "admin-sessions-before");
    let rows = diagnostics.step(s, "the session rows", session.find_all("tbody tr"));
    let mut clicked = false;
    for row in &rows {
        let text = session.text(row).unwrap_or_default();
        if text.contains(&sid) {
            let button = diagnostics.step(
                s,
                "the session's revoke button",
                session.find_all("tbody tr").and_then(|_| {
                    session.find(&format!(
                        "tr:nth-child({}) button",
                        1 + rows.iter().position(|r| r == row).unwrap_or(0)
                    ))
                }),
            );
            diagnostics.step(s, "click Revoke", session.click(&button));
            clicked = true;
            break;
        }
    }
    if !clicked {
        diagnostics.fail(
            s,
            "the session of the first login",
            &format!("no row with sid {sid}"),
        );
    }
    diagnostics.step(
        s,
        "the session shows as revoked",
        wait_for_page(&session, &user, "revoked"),
    );
    final_screenshot(&mut diagnostics, &session, "admin-sessions-after");
    if introspect(&token) {
        diagnostics.fail(
            s,
            "introspection after the revoke",
            "the token is still active",
        );
    }
    say(&format!(
        "{TEST}: passed in {:.1}s",
        diagnostics.started.elapsed().as_secs_f64()
    ));
}
