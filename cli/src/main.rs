//! The `fedbridge` command: argument parsing and dispatch to one module per command.
//!
//! A package of its own (the binary) so that it can use both the library and the installer
//! crate, which itself uses the library.

mod config;
mod demo;
mod groups;
mod install;
mod metadata;
mod out;
mod saml_check;
mod users;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// fedbridge: SAML 2.0 Service Provider that mints one xsession token for downstream apps.
#[derive(Debug, Parser)]
#[command(name = "fedbridge", version, about, long_about = None)]
struct Cli {
    /// The database: an SQLite file (created and migrated when missing) or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "FEDBRIDGE_DATABASE",
        hide_env_values = true,
        default_value = fedbridge::store::DEFAULT_DATABASE,
        value_name = "PATH_OR_URL"
    )]
    database: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// SAML tools for administrators.
    #[command(subcommand)]
    Saml(SamlCommand),
    /// Settings: the rows of CONFIGURATIONENTITY, checked against the schema.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Local groups, matched by exact (case-sensitive) name with the IdP's group names.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Local users: attributes, federated and local groups, recent logins.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Print the SP metadata of the configured instance (to import into the IdP).
    Metadata,
    /// Run the server: /healthz, /saml/metadata; settings reloaded live from the database.
    Serve(ServeArgs),
    /// Try the whole login on this machine: fedbridge, a development IdP with sample users and
    /// a downstream app, on loopback, with a fresh database in a temporary directory (the
    /// global --database is not used).
    Demo(demo::DemoArgs),
    /// The setup wizard: asks the common settings (or reads --answers FILE), generates the SP
    /// key pair and the xsession signing key, writes everything in one transaction.
    Install(install::InstallArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The address to listen on (port 0: any free port, printed on stdout).
    #[arg(
        long,
        env = "FEDBRIDGE_LISTEN",
        default_value = fedbridge::web::DEFAULT_LISTEN,
        value_name = "ADDRESS:PORT"
    )]
    listen: String,
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

/// Parses `args` and runs the command; the exit code follows each command's contract.
fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    // The server tells what it does (reloads, fetches) at info; commands only warn.
    init_logging(match cli.command {
        Command::Serve(_) | Command::Demo(_) => "info",
        _ => "warn",
    });
    match cli.command {
        Command::Saml(SamlCommand::Check(args)) => saml_check::run(&args),
        Command::Config(command) => config::run(&cli.database, &command),
        Command::Groups(command) => groups::run(&cli.database, &command),
        Command::Users(command) => users::run(&cli.database, &command),
        Command::Metadata => metadata::run(&cli.database),
        Command::Serve(args) => fedbridge::web::serve(
            &cli.database,
            &args.listen,
            fedbridge::web::ServeOptions {
                keep_alive: args.keep_alive.map(std::time::Duration::from_secs),
            },
        ),
        Command::Demo(args) => demo::run(&args),
        Command::Install(args) => install::run(&cli.database, &args),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: `default`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or journald gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    run(std::env::args_os())
}
