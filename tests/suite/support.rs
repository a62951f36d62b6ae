//! Shared helpers: where fixtures are, the settings they were made for, a fixed clock.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fedbridge::saml::{
    DecryptionKey, MemoryLedger, Rejection, SigningKey, SpSettings, TrustedIdp, VerifiedAssertion,
    validate_response,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The repository root.
pub fn repo() -> PathBuf {
    // The tests are targets of the cli package (cli/Cargo.toml), one level down.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// `../shared`, beside the repository (peer corpora and IdP samples).
pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The xmlsec1-signed fixtures (see tests/fixtures/xmlsec/README.md).
pub fn xmlsec_dir() -> PathBuf {
    repo().join("tests/fixtures/xmlsec")
}

/// Reads a file or panics with its path.
pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses an RFC 3339 instant.
pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("bad time {text}: {e}"))
}

/// Constants of the xmlsec1 fixtures.
pub mod xmlsec {
    pub const IDP: &str = "https://idp.example.test/metadata";
    pub const SP: &str = "https://sp.example.test/saml/metadata";
    pub const ACS: &str = "https://sp.example.test/EnticeServices/rest/authenticate/saml";
    pub const REQUEST_ID: &str = "_req-fedbridge-0001";
    pub const NOW: &str = "2026-01-15T10:01:00Z";
    pub const NAME_ID: &str = "alice@example.test";
}

/// Signing keys from a certificate file of the xmlsec fixtures (`keys/<name>.crt`).
pub fn xmlsec_cert(name: &str) -> Vec<SigningKey> {
    let text = String::from_utf8(read(xmlsec_dir().join(format!("keys/{name}.crt")))).unwrap();
    SigningKey::from_certificates(&text).unwrap()
}

/// The SP decryption key of the xmlsec fixtures.
pub fn xmlsec_sp_key() -> DecryptionKey {
    DecryptionKey::from_pem(&read(xmlsec_dir().join("keys/sp-enc.key"))).unwrap()
}

/// The settings every xmlsec fixture was made for: our SP, the RSA + EC IdP keys, SP key.
pub fn xmlsec_settings() -> (SpSettings, TrustedIdp) {
    let sp = SpSettings {
        decryption_keys: vec![xmlsec_sp_key()],
        ..SpSettings::new(xmlsec::SP, xmlsec::ACS)
    };
    let mut keys = xmlsec_cert("idp-rsa");
    keys.extend(xmlsec_cert("idp-ec256"));
    keys.extend(xmlsec_cert("idp-ec384"));
    (
        sp,
        TrustedIdp {
            entity_id: Some(xmlsec::IDP.into()),
            signing_keys: keys,
        },
    )
}

/// Validates `xml` with the xmlsec fixture settings at the fixtures' time, the request outstanding.
pub fn check_xmlsec(xml: &[u8]) -> Result<VerifiedAssertion, Rejection> {
    let (sp, idp) = xmlsec_settings();
    let mut ledger = MemoryLedger::with_requests([xmlsec::REQUEST_ID]);
    validate(xml, &sp, &idp, &mut ledger, at(xmlsec::NOW))
}

/// `validate_response` with an in-memory ledger, whose only errors are rejections.
pub fn validate(
    xml: &[u8],
    sp: &SpSettings,
    idp: &TrustedIdp,
    ledger: &mut MemoryLedger,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Rejection> {
    validate_response(xml, sp, idp, ledger, now).map_err(Rejection::from)
}

/// A signed xmlsec fixture by file name (`signed/<name>`).
pub fn xmlsec_fixture(name: &str) -> Vec<u8> {
    read(xmlsec_dir().join("signed").join(name))
}

/// A command's standard output as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A command's exit code (a test fails if it was killed by a signal).
pub fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

/// Writes `line` to the real standard error, past libtest's output capture (which swallows a
/// passing test's `eprintln!`): a SKIPPED line shows in every run, never a silent pass.
pub fn shout(line: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
    let _ = stderr.flush();
}

/// Whether the tool that `probe` runs (e.g. `xmlsec1 --version`) works on this machine. When it
/// does not, prints `SKIPPED <test>: <reason>` (say what is missing and the command that installs
/// it) and returns `false`; or, with `require` (a `FEDBRIDGE_REQUIRE_*` variable that `.ci/run`
/// sets) equal to 1 or `CI` set, fails the test instead.
pub fn tool_available(
    test: &str,
    probe: &mut std::process::Command,
    reason: &str,
    require: &str,
) -> bool {
    if probe.output().is_ok_and(|out| out.status.success()) {
        return true;
    }
    let required =
        std::env::var_os(require).is_some_and(|v| v == "1") || std::env::var_os("CI").is_some();
    assert!(
        !required,
        "{test} FAILED: {reason}; {require}=1 or CI is set, so it may not be skipped"
    );
    shout(&format!("SKIPPED {test}: {reason}"));
    crate::skips::record(test, reason);
    false
}

/// Whether the suite runs against PostgreSQL: `FEDBRIDGE_TEST_DATABASE=postgres` (`.ci/run`'s
/// second pass), on the server `FEDBRIDGE_TEST_POSTGRES_URL` names; unset or `sqlite`: SQLite.
pub fn postgres_switch() -> bool {
    match std::env::var("FEDBRIDGE_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("FEDBRIDGE_TEST_DATABASE={other:?}: say sqlite or postgres"),
    }
}

/// The `--database` of a test: the file `name` in `dir` (SQLite), or under the PostgreSQL
/// switch the URL of a new, empty database on the test server (each call a new one).
pub fn fresh_database(dir: &Path, name: &str) -> String {
    if !postgres_switch() {
        return dir.join(name).display().to_string();
    }
    use diesel::{Connection as _, RunQueryDsl as _};
    let server = std::env::var("FEDBRIDGE_TEST_POSTGRES_URL").expect(
        "FEDBRIDGE_TEST_DATABASE=postgres needs a server: \
         export FEDBRIDGE_TEST_POSTGRES_URL=$(bash .ci/postgres start)",
    );
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "suite_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map_or(0, |d| d.subsec_nanos())
    );
    let mut admin = diesel::PgConnection::establish(&server)
        .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
    let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

/// `true` on SQLite; under the PostgreSQL switch prints `SKIPPED <test> (SQLite only: <why>)`
/// and returns `false`, for the tests about SQLite's file itself.
pub fn sqlite_only(test: &str, why: &str) -> bool {
    if postgres_switch() {
        shout(&format!(
            "SKIPPED {test} on PostgreSQL (SQLite only: {why})"
        ));
        return false;
    }
    true
}

/// `SQL` run by the shell an administrator uses on `database`: `sqlite3` for a file, `psql` for
/// a `postgres://` URL, with the same output (`a|b` lines, NULL as `<NULL>`, booleans as
/// PostgreSQL prints them: `t`/`f`).
pub fn sql(database: &str, sql: &str) -> String {
    if !database.starts_with("postgres://") {
        return sqlite3(Path::new(database), sql);
    }
    let output = std::process::Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-F", "|", "-P", "null=<NULL>"])
        .args(["-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs psql ({e}); install it: apt-get install postgresql-client")
        });
    assert!(
        output.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `sqlite3 DB SQL`, the shell an administrator uses; NULL is shown as `<NULL>`. A missing
/// shell fails the test with an install hint (never a silent pass).
pub fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let output = std::process::Command::new("sqlite3")
        .args(["-cmd", ".nullvalue <NULL>", "-cmd", ".timeout 5000"])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs the sqlite3 shell to look at the database as an administrator \
                 would, and it cannot run ({e}); install it: apt-get install sqlite3 (.ci/run does)"
            )
        });
    assert!(
        output.status.success(),
        "sqlite3 {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The IdP signing certificate of the xmlsec fixtures (`keys/idp-rsa.crt`), as PEM text: the
/// value of `SAML_SIGNING_CERTIFICATE` in the public-key scenario.
pub fn idp_cert() -> String {
    String::from_utf8(read(xmlsec_dir().join("keys/idp-rsa.crt"))).unwrap()
}

/// Generous bound for starting `fedbridge serve` (a debug build on a busy machine).
pub const SERVER_START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// A temporary directory with a fedbridge database: the CLI runs on it and servers serve it,
/// as an administrator would run them. The database is the file `fedbridge.db` in the
/// directory, or under the PostgreSQL switch ([`postgres_switch`]) a fresh PostgreSQL database.
pub struct Instance {
    /// The directory (removed on drop); server logs go here too.
    pub dir: tempfile::TempDir,
    /// The SQLite database file (unused under the PostgreSQL switch).
    pub db: PathBuf,
    /// What `--database` says: the file's path or the PostgreSQL URL.
    pub database: String,
}

impl Instance {
    /// A fresh directory; the database is created by the first command that opens it.
    pub fn new() -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fedbridge.db");
        let database = fresh_database(dir.path(), "fedbridge.db");
        Instance { dir, db, database }
    }

    /// `fedbridge --database DB ARGS...`
    pub fn fedbridge(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .arg("--database")
            .arg(&self.database)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FEDBRIDGE_DATABASE")
            .output()
            .expect("the fedbridge binary runs")
    }

    /// `fedbridge --database DB ARGS...`, which must succeed; its standard output.
    pub fn fedbridge_ok(&self, args: &[&str]) -> String {
        let out = self.fedbridge(args);
        assert!(
            out.status.success(),
            "fedbridge {args:?} failed:\n{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// `fedbridge --database DB config set PAIRS...` (one transaction), which must succeed.
    pub fn config_set(&self, pairs: &[(&str, &str)]) {
        let mut args = vec!["config", "set"];
        for (key, value) in pairs {
            args.extend([*key, *value]);
        }
        self.fedbridge_ok(&args);
    }

    /// `SQL` in the database's shell, as an administrator would type it: `sqlite3`, or `psql`
    /// under the PostgreSQL switch (see [`sql`]).
    pub fn sqlite3(&self, sql: &str) -> String {
        self::sql(&self.database, sql)
    }

    /// Whether nothing was ever written to the database: no SQLite file; on PostgreSQL no
    /// setting (opening a PostgreSQL database migrates it: its tables may exist, empty).
    pub fn untouched(&self) -> bool {
        if !postgres_switch() {
            return !self.db.exists();
        }
        let tables = self.sqlite3("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
        !tables.lines().any(|t| t == "configurationentity")
            || self
                .sqlite3("SELECT count(*) FROM CONFIGURATIONENTITY")
                .trim()
                == "0"
    }

    /// Every row of every table, table by table in name order, each sorted: what `sqlite3 .dump`
    /// shows of the data, on either backend (to compare before and after).
    pub fn snapshot(&self) -> String {
        let list = if postgres_switch() {
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"
        };
        let mut out = String::new();
        for table in self.sqlite3(list).lines().filter(|t| !t.is_empty()) {
            out.push_str(&format!("== {table}\n"));
            out.push_str(&self.sqlite3(&format!("SELECT * FROM \"{table}\" ORDER BY 1")));
        }
        out
    }

    /// Starts `fedbridge serve` on a free port; `log` names its stderr file in the directory.
    pub fn serve(&self, log: &str) -> Server {
        Server::start(&self.database, &self.dir.path().join(log))
    }
}

/// A running `fedbridge serve` (the real binary), killed on drop.
pub struct Server {
    child: std::process::Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// `fedbridge --database DB serve --listen 127.0.0.1:0`, stderr to `log`; waits for the
    /// `fedbridge listening on http://ADDRESS` line.
    pub fn start(db: impl AsRef<std::ffi::OsStr>, log: &Path) -> Server {
        let (child, rx) = spawn_fedbridge(
            std::process::Command::new(env!("CARGO_BIN_EXE_fedbridge"))
                .arg("--database")
                .arg(db)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env_remove("FEDBRIDGE_LISTEN")
                .env_remove("FEDBRIDGE_DATABASE"),
            log,
        );
        let mut server = Server {
            child,
            port: 0,
            log: log.to_owned(),
        };
        let line = rx
            .recv_timeout(SERVER_START_DEADLINE)
            .unwrap_or_else(|_| panic!("no listen line; log:\n{}", server.log()));
        server.port = line
            .trim()
            .strip_prefix("fedbridge listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log:\n{}", server.log()));
        server
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET path` with a minimal HTTP/1.1 client: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }

    /// What the server has written to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET: (status, body). The server closes the connection after answering.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    http_get_with(port, path, &[])
}

/// [`http_get`] with extra request headers.
pub fn http_get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    (status, body.to_owned())
}

/// Spawns `command` (a fedbridge server: `RUST_LOG=info`, no stdin, stderr to the file `log`)
/// and hands its standard output over line by line: a thread reads it to the end, so the
/// server never blocks on a full pipe.
pub fn spawn_fedbridge(
    command: &mut std::process::Command,
    log: &Path,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead as _;
    let mut child = command
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::from(
            std::fs::File::create(log).unwrap(),
        ))
        .spawn()
        .expect("the fedbridge binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// A browser for driving a login hop by hop: it keeps cookies, follows no redirect by itself,
/// reports every status as an answer (not an error), and gives up after 20 s.
pub fn browser() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .build()
        .into()
}

/// One HTTP answer, as the browser would see it.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Location` header, empty when there is none.
    pub location: String,
    /// Every `Set-Cookie` header.
    pub set_cookies: Vec<String>,
    /// The body as text (empty when it is not UTF-8).
    pub body: String,
}

/// Reads the answer to a [`browser`] request; a request that failed (no answer) fails the test.
pub fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
    let header = |name: &str| -> Vec<String> {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect()
    };
    let location = header("location").into_iter().next().unwrap_or_default();
    let set_cookies = header("set-cookie");
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status: response.status().as_u16(),
        location,
        set_cookies,
        body,
    }
}

/// A local HTTP server that serves one metadata document until stopped; stopping closes the
/// port (connections are refused from then on). The document can be replaced while it runs
/// (an IdP's key rollover), or the server can hang (accept and never answer).
pub struct MetadataServer {
    /// The port it listens on.
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// How many requests were answered (or, hanging, accepted).
    pub served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    body: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetadataServer {
    /// Serves `body` on a free port of 127.0.0.1 until stopped.
    pub fn start(body: Vec<u8>) -> MetadataServer {
        MetadataServer::run(body, false)
    }

    /// Accepts connections on a free port and never answers (an IdP that hangs).
    pub fn hanging() -> MetadataServer {
        MetadataServer::run(Vec::new(), true)
    }

    fn run(body: Vec<u8>, hang: bool) -> MetadataServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let body = std::sync::Arc::new(std::sync::Mutex::new(body));
        let (stop_flag, count, document) = (stop.clone(), served.clone(), body.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop_flag.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) if hang => {
                        held.push(stream);
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok((stream, _)) => {
                        let body = document.lock().unwrap().clone();
                        if answer(stream, &body).is_ok() {
                            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        MetadataServer {
            port,
            stop,
            served,
            body,
            thread: Some(thread),
        }
    }

    /// Serves `body` from now on.
    pub fn set_body(&self, body: Vec<u8>) {
        *self.body.lock().unwrap() = body;
    }

    /// The document's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/idp-metadata.xml", self.port)
    }

    /// Closes the port: connections are refused from then on.
    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for MetadataServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// IdP metadata for the xmlsec fixtures' IdP (`xmlsec::IDP`, SSO `sso`) trusting the
/// certificates `keys/<name>.crt` named.
pub fn idp_metadata(sso: &str, certificates: &[&str]) -> Vec<u8> {
    use base64::Engine as _;
    let keys: String = certificates
        .iter()
        .map(|name| {
            let pem = read(xmlsec_dir().join(format!("keys/{name}.crt")));
            let der = openssl::x509::X509::from_pem(&pem)
                .unwrap()
                .to_der()
                .unwrap();
            format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}\
                 </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?>\n<md:EntityDescriptor \
         xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{}\">\
         <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         {keys}<md:SingleSignOnService \
         Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{sso}\"/>\
         </md:IDPSSODescriptor></md:EntityDescriptor>\n",
        xmlsec::IDP
    )
    .into_bytes()
}

/// Answers one request with `body`.
fn answer(mut stream: std::net::TcpStream, body: &[u8]) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// A TLS-terminating reverse proxy for tests: accepts https on a free port of 127.0.0.1 with a
/// self-signed certificate for that address, adds `X-Forwarded-For` and forwards each request
/// to a plain http backend (which answers one request per connection), as a load balancer in
/// front of fedbridge would.
pub struct TlsProxy {
    /// The port it listens on (https).
    pub port: u16,
    /// Its certificate (PEM): the trust anchor of [`https_request`].
    pub certificate: openssl::x509::X509,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TlsProxy {
    /// Forwards to `backend` (a port of 127.0.0.1), saying the client is `forwarded_for`.
    pub fn start(backend: u16, forwarded_for: &str) -> TlsProxy {
        use openssl::ssl::{SslAcceptor, SslMethod};
        let (key, certificate) = self_signed_loopback();
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acceptor.set_private_key(&key).unwrap();
        acceptor.set_certificate(&certificate).unwrap();
        let acceptor = std::sync::Arc::new(acceptor.build());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let forwarded_for = forwarded_for.to_owned();
        std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (acceptor, forwarded_for) = (acceptor.clone(), forwarded_for.clone());
                        std::thread::spawn(move || {
                            let _ = proxy_one(&acceptor, stream, backend, &forwarded_for);
                        });
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        TlsProxy {
            port,
            certificate,
            stop,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One request through the proxy: the whole request in, `X-Forwarded-For` added after the
/// request line, the whole answer back (the backend closes after it).
fn proxy_one(
    acceptor: &openssl::ssl::SslAcceptor,
    stream: std::net::TcpStream,
    backend: u16,
    forwarded_for: &str,
) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut tls = acceptor
        .accept(stream)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let request = read_http_message(&mut tls)?;
    let split = request.iter().position(|b| *b == b'\n').unwrap_or(0) + 1;
    let mut upstream = std::net::TcpStream::connect(("127.0.0.1", backend))?;
    upstream.write_all(&request[..split])?;
    write!(upstream, "X-Forwarded-For: {forwarded_for}\r\n")?;
    upstream.write_all(&request[split..])?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    tls.write_all(&answer)?;
    tls.shutdown().ok();
    Ok(())
}

/// Reads one HTTP/1.1 request (head, then `Content-Length` bytes of body).
fn read_http_message(stream: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    while !message.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(message);
        }
        message.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&message).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    message.extend(body);
    Ok(message)
}

/// A P-256 key and a self-signed certificate for the IP address 127.0.0.1.
fn self_signed_loopback() -> (
    openssl::pkey::PKey<openssl::pkey::Private>,
    openssl::x509::X509,
) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509, X509NameBuilder};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "127.0.0.1").unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder
        .set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&builder.x509v3_context(None, None))
        .unwrap();
    builder.append_extension(san).unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    (key, builder.build())
}

/// One request over https to `127.0.0.1:port`, trusting only `certificate` and checking that it
/// names 127.0.0.1: `method path` with `headers` (a `Cookie` header is the caller's) and a form
/// `body`. The answer as [`Reply`] (every `Set-Cookie` kept whole).
pub fn https_request(
    port: u16,
    certificate: &openssl::x509::X509,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> Reply {
    use std::io::{Read as _, Write as _};
    let mut connector =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
    connector
        .cert_store_mut()
        .add_cert(certificate.clone())
        .unwrap();
    let connector = connector.build();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut config = connector.configure().unwrap();
    config
        .param_mut()
        .set_ip(std::net::IpAddr::from([127, 0, 0, 1]))
        .unwrap();
    // A signal (a child process of another test ending) may interrupt the handshake: resumed.
    let mut handshake = config.verify_hostname(false).connect("127.0.0.1", tcp);
    let mut tls = loop {
        match handshake {
            Ok(tls) => break tls,
            Err(openssl::ssl::HandshakeError::Failure(mid))
                if mid
                    .error()
                    .io_error()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::Interrupted) =>
            {
                handshake = mid.handshake();
            }
            Err(e) => panic!("TLS handshake with 127.0.0.1:{port}: {e}"),
        }
    };
    let body = form
        .map(|fields| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish()
        })
        .unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if form.is_some() {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    tls.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
    let mut location = String::new();
    let mut set_cookies = Vec::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("location") {
                location = value.trim().to_owned();
            } else if name.eq_ignore_ascii_case("set-cookie") {
                set_cookies.push(value.trim().to_owned());
            }
        }
    }
    Reply {
        status,
        location,
        set_cookies,
        body: body.to_owned(),
    }
}

/// The fields of the same-site hop page in `reply` (200 with a form carrying `fedbridge_hop`),
/// unescaped, in order; `None` when it is not that page.
pub fn hop_fields(reply: &Reply) -> Option<Vec<(String, String)>> {
    if reply.status != 200 || !reply.body.contains("name=\"fedbridge_hop\"") {
        return None;
    }
    let unescape = |v: &str| {
        v.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let fields = reply
        .body
        .split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|input| {
            let name = input.strip_prefix("name=\"")?.split('"').next()?;
            let value = input.split("value=\"").nth(1)?.split('"').next()?;
            Some((unescape(name), unescape(value)))
        })
        .collect();
    Some(fields)
}

/// The value of the cookie `name` set by one of `set_cookies` (`Set-Cookie` headers).
pub fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|header| {
        let pair = header.split(';').next()?;
        let (cookie, value) = pair.split_once('=')?;
        (cookie == name && !value.is_empty()).then(|| value.to_owned())
    })
}
