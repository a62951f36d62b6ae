//! The `fedbridge` command: argument parsing and dispatch to one module per command.
//!
//! A package of its own (the binary) so that it can use both the library and the installer
//! crate, which itself uses the library.
//!
//! Options work in any position, before or after the positional arguments (`fedbridge groups
//! add Sales --database x.db`); a positional argument that looks like an option goes after `--`
//! (`fedbridge groups add -- --odd-name`). `--database` belongs to the commands that use a
//! database (the demo and `saml check` have none); it is also accepted before the command.

mod config;
mod demo;
mod groups;
mod install;
mod keys;
mod metadata;
mod out;
mod saml_check;
mod users;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The environment variable naming the database when no `--database` is given.
const DATABASE_ENV: &str = "FEDBRIDGE_DATABASE";

/// fedbridge: SAML 2.0 Service Provider that mints one xsession token for downstream apps.
#[derive(Debug, Parser)]
#[command(name = "fedbridge", version, about, long_about = None)]
struct Cli {
    /// The database of the command (also accepted after the command, as each command's
    /// --database).
    #[arg(long, value_name = "PATH_OR_URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// The `--database` option of every command that uses the database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DbArg {
    /// The database: an SQLite file (created and migrated when missing) or a postgres:// URL
    /// [env: FEDBRIDGE_DATABASE] [default: fedbridge.db]
    #[arg(long, value_name = "PATH_OR_URL")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// SAML tools for administrators.
    #[command(subcommand)]
    Saml(SamlCommand),
    /// Settings: the rows of CONFIGURATIONENTITY, checked against the schema.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Local groups, matched by exact (case-sensitive) name or by IdP id with the IdP's groups.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Local users: attributes, federated and local groups, recent logins, external IDs.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// The xsession signing keys: rotate the active key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Print the SP metadata of the configured instance (to import into the IdP).
    Metadata(DbArg),
    /// Run the server: the SSO login flow (login page, AuthnRequest, ACS, xsession, logout),
    /// JWKS, introspection, the admin console, /metrics and /healthz; settings reloaded live
    /// from the database.
    Serve(ServeArgs),
    /// Try the whole login on this machine: fedbridge, a development IdP with sample users and
    /// a downstream app, on loopback, with a fresh database in a temporary directory.
    Demo(demo::DemoArgs),
    /// The setup wizard: asks the common settings (or reads --answers FILE), generates the SP
    /// key pair and the xsession signing key, writes everything in one transaction.
    Install(install::InstallArgs),
}

/// How the server logs (to stderr).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for a log collector).
    Json,
}

/// The logging options of the commands that run servers.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log format on stderr: one line per request and per login attempt, with its correlation
    /// ID. Level: RUST_LOG (default info).
    #[arg(
        long,
        env = "FEDBRIDGE_LOG_FORMAT",
        hide_env_values = true,
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed on stdout).
    #[arg(
        long,
        env = "FEDBRIDGE_LISTEN",
        hide_env_values = true,
        default_value = fedbridge::web::DEFAULT_LISTEN,
        value_name = "ADDRESS:PORT"
    )]
    listen: String,
    #[command(flatten)]
    log: LogArgs,
    #[command(flatten)]
    db: DbArg,
    /// Keep connections open between requests for SECONDS (default: one request per
    /// connection). Only behind a reverse proxy that times out slow request heads itself: a
    /// kept-alive connection's later heads have no deadline in the HTTP stack.
    #[arg(long, value_name = "SECONDS")]
    keep_alive: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum SamlCommand {
    /// Validate captured SAMLResponses offline and say exactly why each is rejected.
    Check(saml_check::CheckArgs),
}

impl Command {
    /// The command's own `--database`: `Some(value)` for a command that uses the database,
    /// `None` for one that does not.
    fn database(&self) -> Option<Option<&str>> {
        let arg = match self {
            Command::Saml(_) | Command::Demo(_) => return None,
            Command::Config(command) => command.database()?,
            Command::Groups(command) => command.database(),
            Command::Users(command) => command.database(),
            Command::Keys(command) => command.database(),
            Command::Metadata(db) => db,
            Command::Serve(args) => &args.db,
            Command::Install(args) => args.database(),
        };
        Some(arg.database.as_deref())
    }
}

/// The database a command uses: its own `--database`, else the one given before the command,
/// else `FEDBRIDGE_DATABASE`, else `fedbridge.db`.
fn resolve_database(own: Option<&str>, before: Option<&str>) -> String {
    own.or(before)
        .map(str::to_owned)
        .or_else(|| std::env::var(DATABASE_ENV).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| fedbridge::store::DEFAULT_DATABASE.to_owned())
}

/// Parses `args` and runs the command; the exit code follows each command's contract.
fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    // `config set` reads its own words (a value may start with "-"): its options among them.
    if let Command::Config(command) = &mut cli.command
        && let Err(message) = command.take_options()
    {
        crate::out::errln!("fedbridge config: {message}");
        return ExitCode::from(2);
    }
    let database = match cli.command.database() {
        Some(own) => resolve_database(own, cli.database.as_deref()),
        None => {
            if cli.database.is_some() {
                crate::out::errln!(
                    "fedbridge: this command uses no database; leave out --database (the demo \
                     always starts on a fresh temporary one)"
                );
                return ExitCode::from(2);
            }
            String::new()
        }
    };
    // The server tells what it does (reloads, fetches, requests) at info; commands only warn.
    match &cli.command {
        Command::Serve(args) => init_logging("info", args.log.log_format),
        Command::Demo(args) => init_logging("info", args.log_format()),
        _ => init_logging("warn", LogFormat::Text),
    }
    match cli.command {
        Command::Saml(SamlCommand::Check(args)) => saml_check::run(&args),
        Command::Config(command) => config::run(&database, &command),
        Command::Groups(command) => groups::run(&database, &command),
        Command::Users(command) => users::run(&database, &command),
        Command::Keys(command) => keys::run(&database, &command),
        Command::Metadata(_) => metadata::run(&database),
        Command::Serve(args) => fedbridge::web::serve(
            &database,
            &args.listen,
            fedbridge::web::ServeOptions {
                keep_alive: args.keep_alive.map(std::time::Duration::from_secs),
            },
        ),
        Command::Demo(args) => demo::run(&args),
        Command::Install(args) => install::run(&database, &args),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: `default`), as text or JSON lines.
fn init_logging(default: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        // Colours only on a terminal: a log file or journald gets plain text.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// An epoch-seconds time as RFC 3339 (UTC), for listings.
fn time(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

fn main() -> ExitCode {
    run(std::env::args_os())
}

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
