//! `fedbridge demo`: the whole login flow on one machine, for a newcomer to click through.
//!
//! One actix System runs three servers on loopback:
//! 1. fedbridge itself ([`crate::web::start`]), on a fresh SQLite file in a temporary
//!    directory, configured in the metadata scenario against
//! 2. the development IdP ([`idp`]) with sample users, and sending its users to
//! 3. the example downstream app ([`downstream`]).
//!
//! The three listeners are bound first (so that port 0 works and the settings can name the
//! ports), then the settings are written and checked with [`crate::config::load`], the sample
//! groups are created, the servers start, and once fedbridge has fetched the IdP's metadata
//! the URLs are printed. Ctrl-C stops everything and removes the temporary directory.
//!
//! Every listen address must be a loopback IP: the IdP shows its passwords to anyone.

pub mod downstream;
pub mod idp;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};

use crate::store::{RowChange, Store};
use crate::web::health::{self, Status};
use crate::web::state::AppState;

/// Default listen address of fedbridge in the demo.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default listen address of the development IdP.
pub const DEFAULT_IDP_LISTEN: &str = "127.0.0.1:8081";
/// Default listen address of the downstream app.
pub const DEFAULT_APP_LISTEN: &str = "127.0.0.1:8090";
/// The `aud` of the demo's xsession tokens, checked by the downstream app.
pub const AUDIENCE: &str = "xsession";
/// The ACS path (the default of the QPR documentation).
pub const ACS_PATH: &str = "/EnticeServices/rest/authenticate/saml";
/// The sample group whose members may use the admin console (alice is in it, bob is not).
pub const ADMIN_GROUP: &str = "Engineering";
/// The name of the database file in the temporary directory.
pub const DATABASE_FILE: &str = "fedbridge-demo.db";
/// How long to wait for fedbridge to have the IdP's metadata in service.
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// Where the three servers listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// fedbridge.
    pub listen: String,
    /// The development IdP.
    pub idp_listen: String,
    /// The downstream app.
    pub app_listen: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            listen: DEFAULT_LISTEN.into(),
            idp_listen: DEFAULT_IDP_LISTEN.into(),
            app_listen: DEFAULT_APP_LISTEN.into(),
        }
    }
}

/// Why the demo could not start; each variant has its exit status.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A listen address that is not a loopback IP address and port (exit 2).
    #[error(
        "{option} {address:?} is not a loopback address: the demo's IdP shows its sample \
         passwords to anyone who can reach it, so every demo server listens only on 127.0.0.1 \
         (127.0.0.0/8) or [::1], e.g. {option} 127.0.0.1:0"
    )]
    NotLoopback {
        /// The option.
        option: &'static str,
        /// The address given.
        address: String,
    },
    /// An address that cannot be bound (exit 2).
    #[error("cannot listen on {address} ({option}): {reason}")]
    Bind {
        /// The option.
        option: &'static str,
        /// The address given.
        address: String,
        /// Why.
        reason: String,
    },
    /// Anything else that stops the demo (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl DemoError {
    /// The exit status: 2 for usage errors (addresses), 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            DemoError::NotLoopback { .. } | DemoError::Bind { .. } => ExitCode::from(2),
            DemoError::Failed(_) => ExitCode::from(1),
        }
    }
}

/// Runs the demo until Ctrl-C (or SIGTERM). Exit status: 0 stopped, 1 the demo failed, 2 a
/// listen address that is not loopback or cannot be bound.
pub fn run(options: &DemoOptions) -> ExitCode {
    match run_demo(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fedbridge demo: {error}");
            error.exit_code()
        }
    }
}

/// The parsed, loopback-only address of `option`.
pub fn loopback_address(option: &'static str, address: &str) -> Result<SocketAddr, DemoError> {
    let refuse = || DemoError::NotLoopback {
        option,
        address: address.to_owned(),
    };
    let parsed: SocketAddr = address.trim().parse().map_err(|_| refuse())?;
    if parsed.ip().is_loopback() {
        Ok(parsed)
    } else {
        Err(refuse())
    }
}

/// The bound listeners, in the order fedbridge, IdP, app.
struct Listeners {
    fedbridge: TcpListener,
    idp: TcpListener,
    app: TcpListener,
}

impl Listeners {
    fn bind(options: &DemoOptions) -> Result<Listeners, DemoError> {
        let wanted = [
            ("--listen", options.listen.as_str()),
            ("--idp-listen", options.idp_listen.as_str()),
            ("--app-listen", options.app_listen.as_str()),
        ];
        // Every address is checked before anything is bound.
        let mut addresses = Vec::with_capacity(3);
        for (option, address) in wanted {
            addresses.push((option, address, loopback_address(option, address)?));
        }
        let mut bound = Vec::with_capacity(3);
        for (option, address, parsed) in addresses {
            let listener = TcpListener::bind(parsed).map_err(|e| DemoError::Bind {
                option,
                address: address.to_owned(),
                reason: e.to_string(),
            })?;
            bound.push(listener);
        }
        let mut bound = bound.into_iter();
        match (bound.next(), bound.next(), bound.next()) {
            (Some(fedbridge), Some(idp), Some(app)) => Ok(Listeners {
                fedbridge,
                idp,
                app,
            }),
            _ => Err(DemoError::Failed("internal error: listeners lost".into())),
        }
    }
}

/// `http://ADDRESS` of a listener (IPv6 in brackets), without a trailing slash.
fn base_url(listener: &TcpListener) -> Result<String, DemoError> {
    let address = listener
        .local_addr()
        .map_err(|e| DemoError::Failed(format!("cannot read a listen address: {e}")))?;
    Ok(format!("http://{address}"))
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<TempDir, DemoError> {
        let mut bytes = [0u8; 8];
        openssl::rand::rand_bytes(&mut bytes)
            .map_err(|e| DemoError::Failed(format!("no random numbers: {e}")))?;
        let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("fedbridge-demo-{suffix}"));
        std::fs::create_dir(&path).map_err(|e| {
            DemoError::Failed(format!(
                "cannot create the temporary directory {}: {e}",
                path.display()
            ))
        })?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("fedbridge demo: cannot remove {}: {e}", self.0.display());
        }
    }
}

/// The URLs of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUrls {
    /// fedbridge's origin, e.g. `http://127.0.0.1:8080`.
    pub fedbridge: String,
    /// The IdP's origin.
    pub idp: String,
    /// The downstream app's origin.
    pub app: String,
}

impl DemoUrls {
    /// `SAML_CONSUMER_URL`.
    pub fn consumer_url(&self) -> String {
        format!("{}{ACS_PATH}", self.fedbridge)
    }

    /// The settings of the demo: the metadata scenario against the development IdP, the
    /// attribute names it emits, the downstream app as the allowed (and default) target.
    pub fn settings(&self) -> BTreeMap<String, Option<String>> {
        let allowed = serde_json::json!([format!("{}/", self.app)]).to_string();
        [
            ("SAML_METADATA_URL", format!("{}/metadata", self.idp)),
            ("SAML_CONSUMER_URL", self.consumer_url()),
            (
                "SAML_USER_FULLNAME_ATTRIBUTE",
                idp::ATTRIBUTE_FULL_NAME.into(),
            ),
            ("SAML_USER_EMAIL_ATTRIBUTE", idp::ATTRIBUTE_EMAIL.into()),
            ("SAML_USER_GROUPS_ATTRIBUTE", idp::ATTRIBUTE_GROUPS.into()),
            ("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", allowed),
            ("FEDBRIDGE_XSESSION_AUDIENCE", AUDIENCE.into()),
            ("FEDBRIDGE_EXIT_URL", format!("{}/", self.fedbridge)),
            (
                "FEDBRIDGE_ADMIN_GROUPS",
                serde_json::json!([ADMIN_GROUP]).to_string(),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Some(value)))
        .collect()
    }
}

fn run_demo(options: &DemoOptions) -> Result<(), DemoError> {
    let listeners = Listeners::bind(options)?;
    let urls = DemoUrls {
        fedbridge: base_url(&listeners.fedbridge)?,
        idp: base_url(&listeners.idp)?,
        app: base_url(&listeners.app)?,
    };
    let dir = TempDir::create()?;
    let database = dir.path().join(DATABASE_FILE);
    let database = database
        .to_str()
        .ok_or_else(|| {
            DemoError::Failed(format!(
                "the temporary path {} is not UTF-8",
                database.display()
            ))
        })?
        .to_owned();

    // The settings, written in one transaction, read back and checked exactly as
    // `fedbridge config check` would.
    let store = Store::open(&database).map_err(|e| DemoError::Failed(e.to_string()))?;
    let changes: BTreeMap<String, RowChange> = urls
        .settings()
        .into_iter()
        .map(|(key, value)| (key, RowChange::Set(value)))
        .collect();
    store
        .write_config(&changes)
        .map_err(|e| DemoError::Failed(e.to_string()))?;
    let rows = store
        .config_rows()
        .map_err(|e| DemoError::Failed(e.to_string()))?;
    let loaded = crate::config::load(&rows).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        DemoError::Failed(format!(
            "internal error: the demo's own settings are invalid:\n  {}",
            list.join("\n  ")
        ))
    })?;
    match store.add_groups(&idp::sample_groups(), &[]) {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => {
            return Err(DemoError::Failed(format!(
                "cannot create the sample groups: {refused:?}"
            )));
        }
        Err(e) => return Err(DemoError::Failed(e.to_string())),
    }
    drop(store);

    let (key, certificate) = idp::generate_credentials()
        .map_err(|e| DemoError::Failed(format!("cannot make the IdP's key: {e}")))?;
    let dev_idp = web::Data::new(idp::DevIdp::new(
        &urls.idp,
        &loaded.config.sp_entity_id,
        loaded.config.consumer_url.as_str(),
        key,
        certificate,
    ));

    let outcome =
        actix_web::rt::System::new().block_on(serve_all(listeners, &urls, &database, dev_idp));
    drop(dir);
    outcome
}

/// Starts the three servers, waits for fedbridge to be ready, prints the URLs, and runs until
/// they stop.
async fn serve_all(
    listeners: Listeners,
    urls: &DemoUrls,
    database: &str,
    dev_idp: web::Data<idp::DevIdp>,
) -> Result<(), DemoError> {
    let failed = |what: &str, e: std::io::Error| DemoError::Failed(format!("{what}: {e}"));
    let idp_server = HttpServer::new(move || {
        App::new()
            .wrap(crate::web::security_headers())
            .app_data(dev_idp.clone())
            .configure(idp::configure)
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listeners.idp)
    .map_err(|e| failed("the development IdP cannot listen", e))?
    .run();
    let verifier = web::Data::new(downstream::verifier(&urls.fedbridge, AUDIENCE, None));
    let logout = web::Data::new(downstream::LogoutLink(format!("{}/logout", urls.fedbridge)));
    let login = web::Data::new(downstream::LoginLink(format!(
        "{}/saml/login?target={}",
        urls.fedbridge,
        url::form_urlencoded::byte_serialize(format!("{}/", urls.app).as_bytes())
            .collect::<String>()
    )));
    let app_server = HttpServer::new(move || {
        App::new()
            .wrap(crate::web::security_headers())
            .app_data(verifier.clone())
            .app_data(login.clone())
            .app_data(logout.clone())
            .configure(downstream::configure)
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listeners.app)
    .map_err(|e| failed("the downstream app cannot listen", e))?
    .run();
    let started = crate::web::start(database, listeners.fedbridge).map_err(DemoError::Failed)?;

    let handles = [
        started.server.handle(),
        idp_server.handle(),
        app_server.handle(),
    ];
    let servers = [
        actix_web::rt::spawn(started.server),
        actix_web::rt::spawn(idp_server),
        actix_web::rt::spawn(app_server),
    ];

    if let Err(e) = wait_until_ready(&started.state, &servers).await {
        for handle in &handles {
            handle.stop(false).await;
        }
        return Err(e);
    }
    print_banner(urls, database).map_err(|e| failed("cannot write to stdout", e))?;

    let mut outcome = Ok(());
    for server in servers {
        let result = match server.await {
            Ok(result) => result.map_err(|e| failed("a server failed", e)),
            Err(e) => Err(DemoError::Failed(format!("a server panicked: {e}"))),
        };
        // The first server to stop stops the others.
        for handle in &handles {
            handle.stop(false).await;
        }
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

/// Waits until fedbridge's health report is `ok`: the configuration in service and the IdP's
/// metadata fetched. Gives up when a server stops first, or after [`READY_DEADLINE`].
async fn wait_until_ready<T>(
    state: &web::Data<AppState>,
    servers: &[actix_web::rt::task::JoinHandle<T>],
) -> Result<(), DemoError> {
    let start = Instant::now();
    loop {
        if servers
            .iter()
            .any(actix_web::rt::task::JoinHandle::is_finished)
        {
            return Err(DemoError::Failed(
                "stopped before the demo was ready (Ctrl-C, or a server failed; see the log)"
                    .into(),
            ));
        }
        let config = state.config();
        let metadata = state.metadata();
        let ready = health::node_readiness(state);
        let report = health::report(
            config.as_deref(),
            &state.health(),
            metadata.as_deref(),
            ready,
        );
        if report.status == Status::Ok {
            return Ok(());
        }
        if start.elapsed() > READY_DEADLINE {
            let detail = serde_json::to_string_pretty(&report).unwrap_or_default();
            return Err(DemoError::Failed(format!(
                "fedbridge is not ready after {} s; its health report:\n{detail}",
                READY_DEADLINE.as_secs()
            )));
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prints where to go. The `  open      URL` line is read by tests: keep it parseable.
fn print_banner(urls: &DemoUrls, database: &str) -> std::io::Result<()> {
    let users: Vec<String> = idp::SAMPLE_USERS
        .iter()
        .map(|u| format!("{} / {} ({})", u.username, u.password, u.groups.join(", ")))
        .collect();
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "fedbridge demo (development only: a built-in IdP with sample users)"
    )?;
    writeln!(stdout, "  open      {}/", urls.fedbridge)?;
    writeln!(stdout, "  users     {}", users.join(", "))?;
    writeln!(stdout, "  IdP       {}/ (development IdP)", urls.idp)?;
    writeln!(stdout, "  app       {}/ (downstream example)", urls.app)?;
    writeln!(
        stdout,
        "  admin     {}/admin (the admin console: members of {ADMIN_GROUP}, e.g. alice)",
        urls.fedbridge
    )?;
    writeln!(stdout, "  database  {database}")?;
    writeln!(stdout, "Press Ctrl-C to stop.")?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_accepted() {
        for ok in ["127.0.0.1:0", "127.1.2.3:8080", "[::1]:8080"] {
            assert!(loopback_address("--listen", ok).is_ok(), "{ok}");
        }
        for bad in [
            "0.0.0.0:0",
            "192.168.1.5:80",
            "[::]:80",
            "localhost:8080",
            "8080",
            "",
        ] {
            let error = loopback_address("--listen", bad).err();
            assert!(
                matches!(error, Some(DemoError::NotLoopback { .. })),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn the_demo_settings_are_valid() {
        let urls = DemoUrls {
            fedbridge: "http://127.0.0.1:8080".into(),
            idp: "http://127.0.0.1:8081".into(),
            app: "http://127.0.0.1:8090".into(),
        };
        let loaded = match crate::config::load(&urls.settings()) {
            Ok(loaded) => loaded,
            Err(problems) => panic!("{problems:?}"),
        };
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(
            loaded.config.consumer_url.as_str(),
            "http://127.0.0.1:8080/EnticeServices/rest/authenticate/saml"
        );
        assert_eq!(
            loaded.config.sp_entity_id,
            "http://127.0.0.1:8080/EnticeServices/rest/authenticate/saml"
        );
        assert!(
            loaded
                .config
                .allowed_target("http://127.0.0.1:8090/")
                .is_some()
        );
        assert_eq!(loaded.config.xsession.audience, AUDIENCE);
    }
}
