//! The interop harness: real third-party IdPs (the recipes of `../shared/idp-samples/README.md`)
//! on loopback, the real `fedbridge serve` on 127.0.0.1:8080 configured through the
//! administrator's paths (`fedbridge install --answers`, `fedbridge config set`, `fedbridge
//! groups add`), the example downstream app in-process, and a browserless client (cookie jar,
//! no automatic redirects) that follows the IdP's pages hop by hop.
//!
//! Every failure names the step that failed and shows the hops so far, the last `login_audit`
//! row (with its reason code) and the ends of fedbridge's and the IdP's logs. Every case writes
//! its outcome to `target/interop/results.tsv`, which `.ci/interop` prints as a table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fedbridge::clock::{Clock, SystemClock};
use fedbridge::token::XsessionClaims;
use jsonwebtoken::jwk::JwkSet;
use url::Url;

use crate::support::{Instance, Reply, browser, code, reply, spawn_fedbridge, stderr, stdout};

/// A port of the suite: `FEDBRIDGE_INTEROP_<NAME>_PORT`, else the recipes' default. The
/// defaults are what the recipes are set up for; other ports keep a run clear of another
/// fedbridge or IdP on the same machine (start.sh passes SP_ENTITY_ID, SP_ACS_URL, IDP_PORT on).
pub fn port(name: &str, default: u16) -> u16 {
    std::env::var(format!("FEDBRIDGE_INTEROP_{name}_PORT"))
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// fedbridge's port (default 8080: the SP every recipe is set up for).
pub fn sp_port() -> u16 {
    port("SP", 8080)
}

/// fedbridge's origin, `http://127.0.0.1:8080`: the installer's base URL, the xsession `iss`.
pub fn sp_origin() -> String {
    format!("http://127.0.0.1:{}", sp_port())
}

/// fedbridge's entityID (the default: the consumer URL), passed to every IdP as SP_ENTITY_ID.
pub fn sp_entity_id() -> String {
    acs_url()
}

/// fedbridge's ACS, `SAML_CONSUMER_URL` (proposed by the installer from the base URL).
pub fn acs_url() -> String {
    format!("{}/EnticeServices/rest/authenticate/saml", sp_origin())
}

/// The default xsession audience.
pub const AUDIENCE: &str = "xsession";

/// Azure AD / ADFS claim URIs the recipes' users carry.
pub mod claims {
    pub const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
    pub const DISPLAY_NAME: &str = "http://schemas.microsoft.com/identity/claims/displayname";
    pub const GROUPS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
    pub const GUID1: &str = "6f1c1a3e-0000-4000-8000-000000000001";
    pub const GUID2: &str = "6f1c1a3e-0000-4000-8000-000000000002";
}

/// The three IdPs of the recipes.
#[allow(clippy::enum_variant_names)] // SamlIdp is the product's name (saml-idp)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idp {
    /// SimpleSAMLphp 1.19.7 (Debian), PHP's built-in server on 8081.
    SimpleSamlPhp,
    /// saml-idp 1.2.1 (npm) on 7000.
    SamlIdp,
    /// pysaml2 7.5.5 (PyPI), the recipe's `idp.py` on 8082.
    Pysaml2,
}

impl Idp {
    /// The recipe's directory name (also the work dir and the setup script's name).
    pub fn name(self) -> &'static str {
        match self {
            Idp::SimpleSamlPhp => "simplesamlphp",
            Idp::SamlIdp => "saml-idp",
            Idp::Pysaml2 => "pysaml2",
        }
    }

    /// The IdP's port: 8081, 7000, 8082 (`FEDBRIDGE_INTEROP_<SIMPLESAMLPHP|SAML_IDP|PYSAML2>_PORT`).
    pub fn port(self) -> u16 {
        match self {
            Idp::SimpleSamlPhp => port("SIMPLESAMLPHP", 8081),
            Idp::SamlIdp => port("SAML_IDP", 7000),
            Idp::Pysaml2 => port("PYSAML2", 8082),
        }
    }

    fn base(self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The metadata URL (= the entityID for all three).
    pub fn metadata_url(self) -> String {
        let path = match self {
            Idp::SimpleSamlPhp => "/saml2/idp/metadata.php",
            Idp::SamlIdp | Idp::Pysaml2 => "/metadata",
        };
        format!("{}{path}", self.base())
    }

    /// The SSO URL (HTTP-Redirect binding).
    pub fn sso_url(self) -> String {
        let path = match self {
            Idp::SimpleSamlPhp => "/saml2/idp/SSOService.php",
            Idp::SamlIdp => "/saml/sso",
            Idp::Pysaml2 => "/sso/redirect",
        };
        format!("{}{path}", self.base())
    }

    /// Where an IdP-initiated login starts, with `relay_state` where the IdP takes one.
    pub fn unsolicited_url(self, relay_state: &str) -> String {
        let relay = encode(relay_state);
        match self {
            Idp::SimpleSamlPhp => format!(
                "{}/saml2/idp/SSOService.php?spentityid={}&RelayState={relay}",
                self.base(),
                encode(&sp_entity_id())
            ),
            // saml-idp's start page is its sign-in form; RelayState only from --relayState.
            Idp::SamlIdp => format!("{}/", self.base()),
            Idp::Pysaml2 => format!("{}/idp-init?RelayState={relay}", self.base()),
        }
    }

    /// The harness's work dir of this IdP: `target/interop/<name>`.
    pub fn work_dir(self) -> PathBuf {
        crate::support::repo()
            .join("target/interop")
            .join(self.name())
    }

    /// The IdP's signing certificate file in its work dir (written by start.sh).
    pub fn cert_file(self) -> PathBuf {
        self.work_dir().join(match self {
            Idp::SimpleSamlPhp => "cert/idp.crt",
            Idp::SamlIdp => "idp-public-cert.pem",
            Idp::Pysaml2 => "idp.crt",
        })
    }

    fn log_file(self) -> PathBuf {
        self.work_dir().join(match self {
            Idp::SimpleSamlPhp => "log/php-server.log",
            Idp::SamlIdp | Idp::Pysaml2 => "idp.log",
        })
    }

    fn start_script(self) -> PathBuf {
        crate::support::shared()
            .join("idp-samples")
            .join(self.name())
            .join("start.sh")
    }

    /// What is missing to run this IdP, if anything (checked without any network).
    pub fn missing(self) -> Option<String> {
        let on_path = |tool: &str| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !self.start_script().is_file() {
            return Some(format!("{} not found", self.start_script().display()));
        }
        for tool in ["openssl", "curl"] {
            if !on_path(tool) {
                return Some(format!("{tool} not on PATH"));
            }
        }
        match self {
            Idp::SimpleSamlPhp => {
                if !on_path("php") {
                    return Some("php not on PATH".into());
                }
                if !Path::new("/usr/share/simplesamlphp/www").is_dir() {
                    return Some("Debian package simplesamlphp not installed".into());
                }
            }
            Idp::SamlIdp => {
                if !on_path("node") {
                    return Some("node not on PATH".into());
                }
                let bin = self.work_dir().join("node_modules/.bin/saml-idp");
                if !bin.exists() {
                    return Some(format!("{} missing", bin.display()));
                }
            }
            Idp::Pysaml2 => {
                if !on_path("xmlsec1") {
                    return Some("xmlsec1 not on PATH".into());
                }
                let python = self.work_dir().join(".venv/bin/python");
                if !python.exists() {
                    return Some(format!("{} missing", python.display()));
                }
            }
        }
        None
    }
}

/// The switches an IdP is started with (read at start: a change is a restart).
#[derive(Debug, Clone)]
pub struct Switches {
    /// Sign the `<samlp:Response>`.
    pub sign_response: bool,
    /// Sign the `<saml:Assertion>`.
    pub sign_assertion: bool,
    /// Encrypt the assertion to fedbridge's SP certificate.
    pub encrypt: bool,
}

impl Default for Switches {
    fn default() -> Switches {
        Switches {
            sign_response: true,
            sign_assertion: true,
            encrypt: false,
        }
    }
}

/// How fedbridge learns about the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `fedbridge install --answers` with `SAML_METADATA_URL` = the IdP's metadata URL.
    Metadata,
    /// The installer, then `fedbridge config set SAML_REDIRECT_URL ... SAML_SIGNING_CERTIFICATE
    /// ...` (the certificate file of the IdP's work dir) and `config unset SAML_METADATA_URL`.
    PublicKey,
}

/// What a case sets up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub scenario: Scenario,
    pub switches: Switches,
    /// Installer answers besides the base URL, the IdP and the downstream allow-list.
    pub answers: Vec<(&'static str, String)>,
    /// `fedbridge config set` pairs after the installer (one transaction).
    pub settings: Vec<(&'static str, String)>,
    /// `fedbridge groups add`.
    pub groups: Vec<&'static str>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            scenario: Scenario::Metadata,
            switches: Switches::default(),
            // The attribute mappings are installer answers (issue 12): every case goes through
            // the installer's path; `settings` is for what the installer does not ask.
            answers: vec![
                ("SAML_USER_ID_ATTRIBUTE", "\"\"".into()),
                ("SAML_AUTOMATIC_LOGIN", "0".into()),
                ("SAML_USER_FULLNAME_ATTRIBUTE", "\"displayName\"".into()),
                ("SAML_USER_EMAIL_ATTRIBUTE", "\"mail\"".into()),
                ("SAML_USER_GROUPS_ATTRIBUTE", "\"groups\"".into()),
            ],
            settings: Vec::new(),
            groups: vec!["users", "admins", "staff"],
        }
    }
}

impl Setup {
    /// Replaces (or adds) an installer answer; `value` is TOML.
    pub fn answer(mut self, key: &'static str, toml_value: &str) -> Setup {
        self.answers.retain(|(k, _)| *k != key);
        self.answers.push((key, toml_value.to_owned()));
        self
    }

    /// Replaces (or adds) a setting written with `fedbridge config set`.
    pub fn set(mut self, key: &'static str, value: &str) -> Setup {
        self.settings.retain(|(k, _)| *k != key);
        self.settings.push((key, value.to_owned()));
        self
    }
}

/// Writes `line` to the real standard error, past libtest's output capture: a SKIPPED or NOT
/// SUPPORTED line is visible in every run, never a silent pass.
pub fn shout(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The lock every case holds: the IdPs and fedbridge listen on fixed ports. (Other tests of
/// this binary that use those ports should take it too.)
pub static LOCK: Mutex<()> = Mutex::new(());

/// Whether this test binary runs one test at a time (`--test-threads=1` or
/// `RUST_TEST_THREADS=1`), as the suite needs: the browser tests share the ports.
pub fn one_test_thread() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--test-threads=1")
        || args
            .windows(2)
            .any(|w| w[0] == "--test-threads" && w[1] == "1")
        || std::env::var("RUST_TEST_THREADS").is_ok_and(|n| n == "1")
}

/// One IdP x case: records its outcome (PASS, FAIL, SKIPPED, N/A) in
/// `target/interop/results.tsv` when dropped.
pub struct Case {
    pub idp: Idp,
    pub name: &'static str,
    started: Instant,
    outcome: std::cell::RefCell<Option<(&'static str, String)>>,
    /// Set when no row is to be written.
    recorded: std::cell::Cell<bool>,
    _lock: MutexGuard<'static, ()>,
}

impl Case {
    /// The case, or `None` (after a SKIPPED line and a SKIPPED row) when the IdP's tools are
    /// missing and `FEDBRIDGE_REQUIRE_INTEROP` is not set; with it set, a missing tool fails.
    pub fn start(idp: Idp, name: &'static str) -> Option<Case> {
        let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let case = Case {
            idp,
            name,
            started: Instant::now(),
            outcome: None.into(),
            recorded: false.into(),
            _lock: lock,
        };
        let why = match idp.missing() {
            Some(missing) => Some((
                format!(
                    "SKIPPED: {} not installed (install: bash tests/interop/setup/{}.sh): {missing}",
                    idp.name(),
                    idp.name()
                ),
                format!(
                    "interop: {} not installed (bash tests/interop/setup/{}.sh)",
                    idp.name(),
                    idp.name()
                ),
            )),
            None if !one_test_thread() => Some((
                format!(
                    "SKIPPED: {} / {name}: the interop suite runs one test at a time (fixed ports): \
                     cargo test --test interop -- --test-threads=1 (bash .ci/interop does)",
                    idp.name()
                ),
                "interop: the cases with real IdPs run one at a time on fixed ports (bash \
                 .ci/interop)"
                    .to_owned(),
            )),
            None => None,
        };
        if let Some((message, reason)) = why {
            crate::skips::record(&format!("interop {} / {name}", idp.name()), &reason);
            if std::env::var_os("FEDBRIDGE_REQUIRE_INTEROP").is_some() {
                panic!("{message}; FEDBRIDGE_REQUIRE_INTEROP is set, so this is a failure");
            }
            shout(&message);
            if one_test_thread() {
                case.outcome.replace(Some(("SKIPPED", message)));
            } else {
                // Not a run of the suite (a plain `cargo test`): no row in its table.
                case.recorded.set(true);
            }
            return None;
        }
        eprintln!("interop: {} / {name}", idp.name());
        Some(case)
    }

    /// Records that the IdP cannot do this case, with the reason (printed, never silent).
    pub fn not_supported(idp: Idp, name: &'static str, why: &str) {
        let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        shout(&format!("NOT SUPPORTED by {}: {name}: {why}", idp.name()));
        drop(Case {
            idp,
            name,
            started: Instant::now(),
            outcome: Some(("N/A", why.to_owned())).into(),
            recorded: false.into(),
            _lock: lock,
        });
    }

    /// Adds a note to the PASS row (e.g. how the case was done for this IdP).
    pub fn note(&self, note: &str) {
        eprintln!("note: {note}");
        self.outcome.replace(Some(("PASS", note.to_owned())));
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if self.recorded.get() {
            return;
        }
        let (status, note) = if std::thread::panicking() {
            ("FAIL", String::new())
        } else {
            self.outcome
                .borrow()
                .clone()
                .unwrap_or(("PASS", String::new()))
        };
        let dir = crate::support::repo().join("target/interop");
        let _ = std::fs::create_dir_all(&dir);
        let line = format!(
            "{}\t{}\t{status}\t{:.1}\t{}\n",
            self.idp.name(),
            self.name,
            self.started.elapsed().as_secs_f64(),
            note.replace(['\t', '\n'], " ")
        );
        use std::io::Write as _;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("results.tsv"))
        {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// The example downstream app, in-process on a free loopback port, one per case (its
/// verifier fetches fedbridge's JWKS at most every 30 s, and every case has fresh keys);
/// stopped on drop.
pub struct Downstream {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Downstream {
    fn start() -> Downstream {
        use actix_web::{App, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let verifier = web::Data::new(fedbridge::demo::downstream::verifier(
                    &sp_origin(),
                    AUDIENCE,
                    None,
                ));
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(verifier.clone())
                        .configure(fedbridge::demo::downstream::configure)
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        Downstream {
            url: format!("http://127.0.0.1:{port}/"),
            handle: rx.recv().unwrap(),
            thread: Some(thread),
        }
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running IdP, stopped on drop.
pub struct RunningIdp {
    idp: Idp,
}

impl RunningIdp {
    /// (Re)starts `idp` with its start.sh and `switches`; `sp_cert` is fedbridge's SP
    /// certificate file (for encryption).
    fn start(idp: Idp, switches: &Switches, sp_cert: &Path) -> Result<RunningIdp, String> {
        let work = idp.work_dir();
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new("bash");
        command.arg(idp.start_script()).arg(&work);
        command
            .env("SP_ENTITY_ID", sp_entity_id())
            .env("SP_ACS_URL", acs_url())
            .env("IDP_PORT", idp.port().to_string())
            .env_remove("PHP_CLI_SERVER_WORKERS");
        for name in [
            "IDP_SIGN_RESPONSE",
            "IDP_SIGN_ASSERTION",
            "IDP_ENCRYPT_ASSERTION",
            "SP_ENC_CERT",
            "IDP_ATTR_NAME_FORMAT",
            "IDP_SIG_ALG",
            "IDP_ENC_ALG",
        ] {
            command.env_remove(name);
        }
        match idp {
            Idp::SimpleSamlPhp | Idp::Pysaml2 => {
                if !switches.sign_response {
                    command.env("IDP_SIGN_RESPONSE", "0");
                }
                if !switches.sign_assertion {
                    command.env("IDP_SIGN_ASSERTION", "0");
                }
                if switches.encrypt {
                    command.env("IDP_ENCRYPT_ASSERTION", "1");
                    if idp == Idp::SimpleSamlPhp {
                        command.env("SP_ENC_CERT", sp_cert);
                    } else {
                        command.arg("--sp-cert").arg(sp_cert);
                    }
                }
            }
            Idp::SamlIdp => {
                if !switches.sign_response {
                    command.arg("--no-signResponse");
                }
                if switches.encrypt {
                    let public = sp_cert.with_extension("pub.pem");
                    let out = std::process::Command::new("openssl")
                        .args(["x509", "-pubkey", "-noout", "-in"])
                        .arg(sp_cert)
                        .output()
                        .map_err(|e| e.to_string())?;
                    std::fs::write(&public, &out.stdout).map_err(|e| e.to_string())?;
                    command
                        .arg("--encryptAssertion")
                        .arg("--encryptionCert")
                        .arg(sp_cert)
                        .arg("--encryptionPublicKey")
                        .arg(&public);
                }
            }
        }
        let out = command.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "{} start.sh failed ({}):\n{}\n{}",
                idp.name(),
                out.status,
                stdout(&out),
                stderr(&out)
            ));
        }
        let running = RunningIdp { idp };
        if idp == Idp::SamlIdp && !switches.sign_assertion {
            // saml-idp: signAssertion only at run time, through /settings.
            let agent = browser();
            let r = reply(
                agent
                    .post(format!("{}/settings", idp.base()))
                    .send_form([("signAssertion", "false")]),
            );
            if r.status >= 400 {
                return Err(format!("POST /settings signAssertion=false: {}", r.status));
            }
        }
        Ok(running)
    }
}

impl Drop for RunningIdp {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(self.idp.start_script())
            .arg("stop")
            .arg(self.idp.work_dir())
            .output();
    }
}

/// `fedbridge serve --listen 127.0.0.1:8080`, killed on drop.
struct Serve {
    child: std::process::Child,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user at the IdP: login form values (for saml-idp, field overrides of its profile form).
#[derive(Debug, Clone, Default)]
pub struct User {
    pub username: &'static str,
    pub password: &'static str,
    /// Form fields to set by name (saml-idp's profile: `groups`, `userName`, ...).
    pub fields: Vec<(&'static str, String)>,
}

/// alice (alicepass); saml-idp's default profile is alice too.
pub fn alice() -> User {
    User {
        username: "alice",
        password: "alicepass",
        fields: Vec::new(),
    }
}

/// Everything of one case: fedbridge configured and serving, the IdP running, a browser.
pub struct Env<'c> {
    pub case: &'c Case,
    pub instance: Instance,
    pub browser: ureq::Agent,
    /// The hops so far (method, URL, status), for the failure message.
    pub hops: Vec<String>,
    /// The last SAMLResponse the IdP's form posted (base64, as posted).
    pub last_saml_response: Option<String>,
    /// The example downstream app of this case.
    pub downstream: Downstream,
    serve_log: PathBuf,
    _serve: Serve,
    _idp: RunningIdp,
}

impl<'c> Env<'c> {
    /// Installs and configures fedbridge as `setup` says, starts the IdP and `fedbridge serve`.
    pub fn start(case: &'c Case, setup: &Setup) -> Env<'c> {
        let idp = case.idp;
        let instance = Instance::new();
        let downstream = Downstream::start();
        let downstream_url = downstream.url.clone();
        let fail = |step: &str, detail: String| -> ! {
            panic!(
                "[{} / {}] step failed: {step}\n{detail}",
                idp.name(),
                case.name
            )
        };

        // The IdP first (its metadata URL must answer for the installer); it is restarted
        // below when it must know fedbridge's SP certificate.
        let sp_cert = instance.dir.path().join("sp.crt");
        let plain = Switches {
            encrypt: false,
            ..setup.switches.clone()
        };
        let mut running =
            RunningIdp::start(idp, &plain, &sp_cert).unwrap_or_else(|e| fail("start the IdP", e));

        // fedbridge install --answers
        let mut answers = format!(
            "base_url = \"{}\"\nFEDBRIDGE_ALLOWED_DOWNSTREAM_URLS = [\"{downstream_url}\"]\n",
            sp_origin()
        );
        answers.push_str(&format!("SAML_METADATA_URL = \"{}\"\n", idp.metadata_url()));
        for (key, value) in &setup.answers {
            answers.push_str(&format!("{key} = {value}\n"));
        }
        let answers_file = instance.dir.path().join("answers.toml");
        std::fs::write(&answers_file, &answers).unwrap();
        let out = instance.fedbridge(&["install", "--answers", answers_file.to_str().unwrap()]);
        if code(&out) != 0 {
            fail(
                "fedbridge install --answers",
                format!("answers:\n{answers}\n{}\n{}", stdout(&out), stderr(&out)),
            );
        }

        if setup.scenario == Scenario::PublicKey {
            let cert = std::fs::read_to_string(idp.cert_file())
                .unwrap_or_else(|e| fail("read the IdP certificate", e.to_string()));
            let sso = idp.sso_url();
            run_ok(
                &instance,
                &[
                    "config",
                    "set",
                    "SAML_REDIRECT_URL",
                    &sso,
                    "SAML_SIGNING_CERTIFICATE",
                    &cert,
                ],
            )
            .unwrap_or_else(|(step, out)| fail(&step, out));
            run_ok(&instance, &["config", "unset", "SAML_METADATA_URL"])
                .unwrap_or_else(|(step, out)| fail(&step, out));
        }

        if !setup.settings.is_empty() {
            let mut args = vec!["config", "set"];
            for (key, value) in &setup.settings {
                args.extend([*key, value.as_str()]);
            }
            run_ok(&instance, &args).unwrap_or_else(|(step, out)| fail(&step, out));
        }
        if !setup.groups.is_empty() {
            let mut args = vec!["groups", "add"];
            args.extend(setup.groups.iter().copied());
            run_ok(&instance, &args).unwrap_or_else(|(step, out)| fail(&step, out));
        }

        if setup.switches.encrypt {
            // The installer generated the SP key pair: hand its certificate to the IdP.
            let cert = run_ok(&instance, &["config", "get", "FEDBRIDGE_SP_CERTIFICATE"])
                .unwrap_or_else(|(step, out)| fail(&step, out));
            std::fs::write(&sp_cert, cert.trim().to_owned() + "\n").unwrap();
            drop(running);
            running = RunningIdp::start(idp, &setup.switches, &sp_cert)
                .unwrap_or_else(|e| fail("restart the IdP with encryption", e));
        }

        // fedbridge serve on 127.0.0.1:8080 (the port may still be held by the last case).
        let serve_log = instance.dir.path().join("serve.log");
        let mut serve = None;
        for _ in 0..50 {
            let (child, rx) = spawn_fedbridge(
                std::process::Command::new(env!("CARGO_BIN_EXE_fedbridge"))
                    .arg("--database")
                    .arg(&instance.db)
                    .args(["serve", "--listen", &format!("127.0.0.1:{}", sp_port())])
                    .env_remove("FEDBRIDGE_LISTEN")
                    .env_remove("FEDBRIDGE_DATABASE"),
                &serve_log,
            );
            let mut child = Serve { child };
            match rx.recv_timeout(crate::support::SERVER_START_DEADLINE) {
                Ok(line) if line.contains(&format!("listening on {}", sp_origin())) => {
                    serve = Some(child);
                    break;
                }
                _ => {
                    let log = std::fs::read_to_string(&serve_log).unwrap_or_default();
                    let _ = child.child.kill();
                    if !log.contains("in use") {
                        fail("fedbridge serve --listen 127.0.0.1:<SP port>", log);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        let serve = serve.unwrap_or_else(|| {
            fail(
                "fedbridge serve",
                format!("port {} stays in use", sp_port()),
            )
        });
        let env = Env {
            case,
            instance,
            browser: browser(),
            hops: Vec::new(),
            last_saml_response: None,
            downstream,
            serve_log,
            _serve: serve,
            _idp: running,
        };
        env.wait_healthy();
        env
    }

    /// `GET /healthz`: (status, report).
    pub fn healthz(&self) -> (u16, serde_json::Value) {
        let (status, body) = crate::support::http_get(sp_port(), "/healthz");
        (status, serde_json::from_str(&body).unwrap_or_default())
    }

    /// Waits until `/healthz` says ok (settings valid, IdP metadata fetched, writable).
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, report) = self.healthz();
            if status == 200 {
                return;
            }
            if Instant::now() > deadline {
                self.fail(
                    "wait until /healthz says ok (settings loaded, IdP metadata fetched)",
                    &format!("HTTP {status}\n{report:#}"),
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last `login_audit` row.
    pub fn last_audit(&self) -> String {
        let row = self.instance.sqlite3(
            "SELECT id, datetime(at, 'unixepoch'), outcome, reason_code, detail, idp, \
             login_name, correlation_id FROM login_audit ORDER BY id DESC LIMIT 1",
        );
        if row.trim().is_empty() {
            "(no login_audit row)".into()
        } else {
            row.trim().to_owned()
        }
    }

    /// The reason code of the last `login_audit` row (`accepted` rows have none).
    pub fn last_reason(&self) -> String {
        self.instance
            .sqlite3("SELECT outcome || ':' || coalesce(reason_code, '') FROM login_audit ORDER BY id DESC LIMIT 1")
            .trim()
            .to_owned()
    }

    /// Fails the case at `step`: the hops, the last audit row, the ends of the logs.
    pub fn fail(&self, step: &str, detail: &str) -> ! {
        let tail = |text: String, n: usize| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        let serve = tail(
            std::fs::read_to_string(&self.serve_log).unwrap_or_default(),
            20,
        );
        let idp_log = tail(
            std::fs::read_to_string(self.case.idp.log_file()).unwrap_or_default(),
            10,
        );
        panic!(
            "[{idp} / {case}] step failed: {step}\n{detail}\n\
             hops:\n  {hops}\n\
             last login_audit row (id|at|outcome|reason_code|detail|idp|login_name|correlation_id):\n  {audit}\n\
             fedbridge serve log (last lines):\n{serve}\n\
             {idp} log {log} (last lines):\n{idp_log}",
            idp = self.case.idp.name(),
            case = self.case.name,
            hops = self.hops.join("\n  "),
            audit = self.last_audit(),
            log = self.case.idp.log_file().display(),
        )
    }

    /// Asserts `condition` or fails at `step`.
    pub fn check(&self, condition: bool, step: &str, detail: &str) {
        if !condition {
            self.fail(step, detail);
        }
    }

    fn describe(reply: &Reply) -> String {
        let body: String = reply.body.chars().take(2500).collect();
        format!(
            "HTTP {} Location: {:?}\nbody:\n{body}",
            reply.status, reply.location
        )
    }

    /// `GET url` (no redirect followed).
    pub fn get(&mut self, url: &str) -> Reply {
        let r = self.browser.get(url).call();
        let r = match r {
            Ok(r) => reply(Ok(r)),
            Err(e) => self.fail(&format!("GET {url}"), &e.to_string()),
        };
        self.hops.push(format!(
            "GET {} -> {} {}",
            short(url),
            r.status,
            short(&r.location)
        ));
        r
    }

    /// `POST url` of a form (no redirect followed).
    pub fn post(&mut self, url: &str, form: &[(String, String)]) -> Reply {
        let r = self
            .browser
            .post(url)
            .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let r = match r {
            Ok(r) => reply(Ok(r)),
            Err(e) => self.fail(&format!("POST {url}"), &e.to_string()),
        };
        self.hops.push(format!(
            "POST {} -> {} {}",
            short(url),
            r.status,
            short(&r.location)
        ));
        r
    }

    /// From `reply` (the answer to `url`), through the IdP's pages until the auto-POST of the
    /// SAMLResponse to fedbridge's ACS: follows redirects, fills the login form as `user`,
    /// submits the response form. Returns the ACS's answer.
    pub fn through_idp(&mut self, mut url: String, mut reply: Reply, user: &User) -> Reply {
        for _ in 0..12 {
            if (300..400).contains(&reply.status) {
                let next = resolve(&url, &reply.location)
                    .unwrap_or_else(|| self.fail("follow a redirect", &Self::describe(&reply)));
                url = next;
                reply = self.get(&url);
                continue;
            }
            if reply.status != 200 {
                self.fail("an IdP page", &Self::describe(&reply));
            }
            let forms = parse_forms(&reply.body);
            if let Some(form) = forms.iter().find(|f| f.field("SAMLResponse").is_some()) {
                let action = resolve(&url, &form.action).unwrap_or_else(|| {
                    self.fail("the response form's action", &Self::describe(&reply))
                });
                self.check(
                    action == acs_url(),
                    "the IdP posts to fedbridge's ACS",
                    &format!("form action {action}, expected {}", acs_url()),
                );
                self.last_saml_response = form.field("SAMLResponse").map(str::to_owned);
                let answer = self.post(&action, &form.fields);
                return self.follow_hop(&action, answer);
            }
            let login = forms.iter().find(|f| {
                f.kinds.iter().any(|(_, kind)| kind == "password") || f.action.ends_with("/signin")
            });
            let Some(login) = login else {
                self.fail("find the IdP's login form", &Self::describe(&reply));
            };
            let mut fields = login.fields.clone();
            let password_field = login
                .kinds
                .iter()
                .find(|(_, kind)| kind == "password")
                .map(|(name, _)| name.clone());
            if let Some(password_field) = password_field {
                let user_field = login
                    .kinds
                    .iter()
                    .find(|(_, kind)| kind == "text" || kind == "email")
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| "username".into());
                set_field(&mut fields, &user_field, user.username);
                set_field(&mut fields, &password_field, user.password);
            }
            for (name, value) in &user.fields {
                set_field(&mut fields, name, value);
            }
            let action = resolve(&url, &login.action)
                .unwrap_or_else(|| self.fail("the login form's action", &Self::describe(&reply)));
            url = action.clone();
            reply = self.post(&action, &fields);
        }
        self.fail("reach the ACS", "too many hops at the IdP")
    }

    /// The ACS's answer `answer` to a POST at `acs`, after fedbridge's same-site hop when it
    /// sent one (a browser without the login cookie: IdP-initiated logins; its script submits
    /// the form at once, which this does too).
    fn follow_hop(&mut self, acs: &str, answer: Reply) -> Reply {
        if answer.status != 200 {
            return answer;
        }
        let forms = parse_forms(&answer.body);
        let Some(hop) = forms.iter().find(|f| f.field("fedbridge_hop").is_some()) else {
            return answer;
        };
        let action = resolve(acs, &hop.action)
            .unwrap_or_else(|| self.fail("the hop form's action", &Self::describe(&answer)));
        self.post(&action, &hop.fields)
    }

    /// SP-initiated: `GET /saml/login?target=<downstream>` (or `start` when given), the IdP's
    /// pages as `user`; the ACS's answer.
    pub fn sp_initiated(&mut self, user: &User) -> Reply {
        let url = format!(
            "{}/saml/login?target={}",
            sp_origin(),
            encode(&self.downstream.url)
        );
        let first = self.get(&url);
        self.check(
            first.status == 303 && first.location.starts_with(&idp_sso(self.case.idp)),
            "GET /saml/login: 303 to the IdP's SSO URL",
            &Self::describe(&first),
        );
        self.through_idp(url, first, user)
    }

    /// Checks that the ACS's answer `acs` is an accepted login landing at the downstream app,
    /// follows it there (link arrival, cookie, greeting) and returns the verified claims.
    pub fn lands_downstream(&mut self, acs: &Reply) -> XsessionClaims {
        let step = "POST the SAMLResponse to the ACS: 303 to the downstream app";
        if acs.status != 303 || !acs.location.starts_with(&self.downstream.url) {
            self.fail(step, &Self::describe(acs));
        }
        let landing = Url::parse(&acs.location).unwrap();
        let token = landing
            .query_pairs()
            .find(|(n, _)| n == "xsession")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| self.fail(&format!("{step}: ?xsession="), &Self::describe(acs)));
        self.check(
            self.last_reason() == "accepted:",
            "the login is audited as accepted",
            "",
        );

        // The token verifies with fedbridge's published JWKS.
        let jwks = self.get(&format!("{}/.well-known/jwks.json", sp_origin()));
        let set: JwkSet = serde_json::from_str(&jwks.body)
            .unwrap_or_else(|e| self.fail("GET the JWKS", &format!("{e}\n{}", jwks.body)));
        let claims =
            fedbridge::token::verify(&token, &set, &sp_origin(), AUDIENCE, SystemClock.now())
                .unwrap_or_else(|e| self.fail("verify the xsession with the JWKS", &e.to_string()));

        // The downstream app: the link arrival sets its cookie, then greets.
        let arrival = self.get(&acs.location);
        self.check(
            arrival.status == 303,
            "the downstream app accepts the xsession link",
            &Self::describe(&arrival),
        );
        let next = resolve(&acs.location, &arrival.location).unwrap_or_default();
        let page = self.get(&next);
        let who = claims.name.clone().unwrap_or_else(|| claims.sub.clone());
        self.check(
            page.status == 200 && page.body.contains(&format!("Hello, {who}")),
            "the downstream app verifies the xsession and greets the user",
            &Self::describe(&page),
        );
        for group in &claims.groups {
            self.check(
                page.body.contains(&format!("<li>{group}</li>")),
                "the downstream app lists the user's groups",
                &Self::describe(&page),
            );
        }
        claims
    }

    /// Checks that the ACS's answer is a refusal audited with `reason`.
    pub fn refused(&self, acs: &Reply, reason: &str) {
        self.check(
            acs.status >= 400 && acs.status < 500,
            &format!("the ACS refuses the response ({reason})"),
            &Self::describe(acs),
        );
        let got = self.last_reason();
        self.check(
            got == format!("rejected:{reason}"),
            &format!("the refusal is audited with reason {reason}"),
            &format!("last audit outcome:reason = {got}"),
        );
    }

    /// `fedbridge config set` pairs on the running instance (live reload: `config set` returns
    /// once the running server has them in service), then waits until it is healthy.
    pub fn config_set(&self, pairs: &[(&str, &str)]) {
        let mut args = vec!["config", "set"];
        for (key, value) in pairs {
            args.extend([*key, *value]);
        }
        if let Err((step, out)) = run_ok(&self.instance, &args) {
            self.fail(&step, &out);
        }
        self.wait_healthy();
    }

    /// The user's groups in fedbridge's database: name -> federated (1) or local (0).
    pub fn memberships(&self, login_name: &str) -> BTreeMap<String, String> {
        self.instance
            .sqlite3(&format!(
                "SELECT g.name, m.federated FROM memberships m JOIN groups g ON g.id = m.group_id \
                 JOIN users u ON u.id = m.user_id WHERE u.login_name = '{login_name}' ORDER BY 1"
            ))
            .lines()
            .filter_map(|l| l.split_once('|'))
            .map(|(g, f)| (g.to_owned(), f.to_owned()))
            .collect()
    }
}

/// The failure message of `f`, `None` when it does not fail; the panic hook is silenced
/// meanwhile. For checking that a failure is diagnosable from the log alone (check 2).
pub fn failure_of(f: impl FnOnce()) -> Option<String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

/// `fedbridge --database DB ARGS...`: its stdout, or (step, output) when it fails.
fn run_ok(instance: &Instance, args: &[&str]) -> Result<String, (String, String)> {
    let out = instance.fedbridge(args);
    if code(&out) != 0 {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.len() > 60 {
                    format!("{}...", &a[..40])
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        return Err((
            format!("fedbridge {}", shown.join(" ")),
            format!("{}\n{}", stdout(&out), stderr(&out)),
        ));
    }
    Ok(stdout(&out))
}

fn idp_sso(idp: Idp) -> String {
    idp.sso_url()
}

fn short(url: &str) -> String {
    if url.len() > 140 {
        format!("{}...", &url[..140])
    } else {
        url.to_owned()
    }
}

/// URL-encodes a query value.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `location` resolved against `base`.
pub fn resolve(base: &str, location: &str) -> Option<String> {
    Url::parse(base).ok()?.join(location).ok().map(String::from)
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny HTML form parser: enough for the three IdPs' login and auto-POST forms.
// ---------------------------------------------------------------------------------------------

/// One `<form>`: its action, the values it submits, and the type of each named input.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub kinds: Vec<(String, String)>,
}

impl Form {
    /// The value of the field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The forms of `html`: `<input>` (not unchecked radios/checkboxes, not buttons), `<select>`
/// (the selected or first option), `<textarea>`, and named `<button>`s are not submitted.
pub fn parse_forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut forms = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| i + at) {
        let end = lower[start..]
            .find("</form")
            .map(|i| i + start)
            .unwrap_or(html.len());
        let (tag, _) = tag_at(html, start);
        let mut form = Form {
            action: attribute(&tag, "action").unwrap_or_default(),
            ..Form::default()
        };
        let inner_lower = &lower[start..end];
        let mut pos = 0;
        while let Some(i) = inner_lower[pos..].find('<').map(|i| i + pos) {
            let rest = &inner_lower[i + 1..];
            let abs = start + i;
            if rest.starts_with("input") {
                let (tag, len) = tag_at(html, abs);
                let kind = attribute(&tag, "type")
                    .unwrap_or_else(|| "text".into())
                    .to_ascii_lowercase();
                if let Some(name) = attribute(&tag, "name") {
                    let checked = attribute(&tag, "checked").is_some();
                    let skip = matches!(kind.as_str(), "submit" | "button" | "image" | "reset")
                        || (matches!(kind.as_str(), "radio" | "checkbox") && !checked);
                    if !skip {
                        form.fields
                            .push((name.clone(), attribute(&tag, "value").unwrap_or_default()));
                    }
                    form.kinds.push((name, kind));
                }
                pos = i + len.max(1);
            } else if rest.starts_with("select") {
                let (tag, _) = tag_at(html, abs);
                let close = inner_lower[i..]
                    .find("</select")
                    .map(|j| j + i)
                    .unwrap_or(inner_lower.len());
                if let Some(name) = attribute(&tag, "name") {
                    let mut first = None;
                    let mut selected = None;
                    let mut p = i + 1;
                    while let Some(j) = inner_lower[p..close].find("<option").map(|j| j + p) {
                        let (option, len) = tag_at(html, start + j);
                        let text_end = inner_lower[j + len..close]
                            .find('<')
                            .map(|k| k + j + len)
                            .unwrap_or(close);
                        let value = attribute(&option, "value").unwrap_or_else(|| {
                            decode_entities(html[start + j + len..start + text_end].trim())
                        });
                        if first.is_none() {
                            first = Some(value.clone());
                        }
                        if attribute(&option, "selected").is_some() {
                            selected = Some(value);
                        }
                        p = j + len;
                    }
                    if let Some(value) = selected.or(first) {
                        form.fields.push((name.clone(), value));
                    }
                    form.kinds.push((name, "select".into()));
                }
                pos = close.max(i + 1);
            } else if rest.starts_with("textarea") {
                let (tag, len) = tag_at(html, abs);
                let close = inner_lower[i..]
                    .find("</textarea")
                    .map(|j| j + i)
                    .unwrap_or(inner_lower.len());
                if let Some(name) = attribute(&tag, "name") {
                    let value = decode_entities(&html[start + i + len..start + close]);
                    form.fields.push((name.clone(), value));
                    form.kinds.push((name, "textarea".into()));
                }
                pos = close.max(i + 1);
            } else {
                pos = i + 1;
            }
        }
        forms.push(form);
        at = end.max(start + 1);
    }
    forms
}

/// The tag starting at `start` (`<` ... `>`, quotes respected) and its length.
fn tag_at(html: &str, start: usize) -> (String, usize) {
    let bytes = html.as_bytes();
    let mut quote = None;
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return (html[start..=i].to_owned(), i + 1 - start),
            None => {}
        }
        i += 1;
    }
    (html[start..].to_owned(), html.len() - start)
}

/// The value of attribute `name` in `tag` (entities decoded); `Some("")` for a bare attribute.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    // Skip the tag name.
    let mut i = 1;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
        i += 1;
    }
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] == b'>' {
            return None;
        }
        let key_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let key = &tag[key_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let value_start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
                let value = &tag[value_start..i.min(tag.len())];
                i += 1;
                value.to_owned()
            } else {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                tag[value_start..i].to_owned()
            }
        } else {
            String::new()
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(&value));
        }
    }
}

/// Decodes the HTML character references a form value may hold.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") || entity.starts_with("#X") => {
                u32::from_str_radix(&entity[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_form_parser_reads_inputs_selects_and_entities() {
    let html = r#"<html><form method="post" action="/login?x=1&amp;y=2">
        <input type="hidden" name="AuthState" value="a&#x3D;b&quot;c">
        <input id=u name=username type=text autofocus>
        <input name='password' type='password'>
        <select name="fmt"><option value="a">A</option><option selected value="b">B</option></select>
        <input type="checkbox" name="remember">
        <button type="submit">Log in</button></form>
        <form action="http://sp/acs"><input type="hidden" name="SAMLResponse" value="PHNhbWw+"/></form>"#;
    let forms = parse_forms(html);
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[0].action, "/login?x=1&y=2");
    assert_eq!(forms[0].field("AuthState"), Some("a=b\"c"));
    assert_eq!(forms[0].field("username"), Some(""));
    assert_eq!(forms[0].field("fmt"), Some("b"));
    assert_eq!(forms[0].field("remember"), None);
    assert!(
        forms[0]
            .kinds
            .contains(&("password".into(), "password".into()))
    );
    assert_eq!(forms[1].field("SAMLResponse"), Some("PHNhbWw+"));
}

/// Found with SimpleSAMLphp under PHP's built-in server, whose metadata.php answers HTTP/1.1
/// with neither Content-Length nor chunked encoding: the body ends when the connection closes
/// (RFC 9112 section 6.3, rule 8). awc (actix-http 3.20) reads such an HTTP/1.1 body as empty,
/// so `fedbridge install` and `serve` said "the metadata is not acceptable XML: the document is
/// empty". The metadata fetch must read a close-delimited body.
#[test]
fn the_metadata_fetch_reads_a_body_delimited_by_connection_close() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>";
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let version = if buffer.starts_with(b"GET / HTTP/1.0") {
                "1.0"
            } else {
                "1.1"
            };
            let _ = write!(
                stream,
                "HTTP/{version} 200 OK\r\nConnection: close\r\nContent-Type: application/samlmetadata+xml\r\n\r\n{body}"
            );
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let fetched = actix_web::rt::System::new()
        .block_on(async {
            fedbridge::web::idp::fetch(
                &awc::Client::default(),
                &url,
                fedbridge::web::idp::MAX_METADATA_BYTES,
            )
            .await
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&fetched), body);
}
