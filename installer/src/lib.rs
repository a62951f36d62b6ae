//! `fedbridge install`: the setup wizard (see installer/README.md).
//!
//! A crate of its own on top of the `fedbridge` library: it uses the library's schema, loader,
//! store and metadata code and re-implements none of them.
//!
//! - [`plan`]: answers -> the rows to write, validated with `config::load` (pure).
//! - [`interactive`]: the terminal layer (inquire), a thin loop over [`plan::steps`].
//! - [`questions`]: `config-schema/installer.toml`, the questions that are not settings.
//! - [`keys`]: the SP key pair; [`idp`]: the summary of a metadata URL.
//!
//! Nothing is written before the final confirmation: the settings, the SP key pair, the
//! xsession signing key and the IdP metadata fetched (so `serve` has it from the start) are then
//! written in one transaction (`Store::update_config_with_signing_key`), and the SP metadata
//! file after it.

pub mod idp;
pub mod interactive;
pub mod keys;
pub mod line;
pub mod plan;
pub mod questions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::idp::{IdpSummary, SummaryError};
use crate::plan::{Answers, Invalid, Plan};
use crate::questions::Questions;
use fedbridge::config::schema::Schema;
use fedbridge::config::{Config, keys as setting};
use fedbridge::store::{CachedMetadata, ConfigRows, Location, RowChange, Store};
use fedbridge::text::escape_output;

/// The name of the SP metadata file written beside an SQLite database (or in the working
/// directory for PostgreSQL) unless `--sp-metadata` says otherwise.
pub const SP_METADATA_FILE: &str = "fedbridge-sp-metadata.xml";

/// How `fedbridge install` was called.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The global `--database`: the default answer to the database question.
    pub database: String,
    /// `--answers FILE`: non-interactive.
    pub answers: Option<PathBuf>,
    /// `--dry-run`: show what would be written, write nothing.
    pub dry_run: bool,
    /// `--sp-metadata PATH`: where the SP metadata file goes.
    pub sp_metadata: Option<PathBuf>,
}

/// Why the install stopped.
#[derive(Debug)]
pub enum Stop {
    /// Refused (invalid answers, declined, interrupted): nothing written. Exit 1.
    Refused(String),
    /// Usage, I/O or database error. Exit 2.
    Failed(String),
}

/// Runs the install; the exit code follows the other commands: 0 done, 1 refused, 2 usage or
/// database error.
pub fn run(options: &Options) -> ExitCode {
    match run_inner(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Refused(message)) => {
            eprintln!("fedbridge install: {}", escape_output(&message));
            ExitCode::from(1)
        }
        Err(Stop::Failed(message)) => {
            eprintln!("fedbridge install: {}", escape_output(&message));
            ExitCode::from(2)
        }
    }
}

fn run_inner(options: &Options) -> Result<(), Stop> {
    let schema = fedbridge::config::schema::schema().map_err(|e| Stop::Failed(e.to_string()))?;
    let questions = questions::questions().map_err(Stop::Failed)?;
    let (database, plan, metadata) = match &options.answers {
        Some(path) => from_answers_file(schema, questions, options, path)?,
        None => interactive::run(schema, questions, options)?,
    };
    if options.dry_run {
        println!("Dry run: nothing written. The install would:");
        print!("{}", escape_output(&describe(schema, &plan)));
        return Ok(());
    }
    let metadata_path = commit(&database, &plan, metadata.as_ref(), options)?;
    print!("{}", escape_output(&handoff(&plan.config, &metadata_path)));
    Ok(())
}

/// What the wizard ends with: the database, the plan, and the IdP metadata fetched (when the
/// metadata URL answered).
pub type Outcome = (String, Plan, Option<IdpSummary>);

/// `--answers FILE`: the same plan, the same validation, no questions.
fn from_answers_file(
    schema: &'static Schema,
    questions: &Questions,
    options: &Options,
    path: &Path,
) -> Result<Outcome, Stop> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Stop::Failed(format!("cannot read {}: {e}", path.display())))?;
    let answers = Answers::from_toml(schema, &text)
        .map_err(|e| Stop::Failed(format!("{}: {e}", path.display())))?;
    let database = answers
        .database
        .clone()
        .unwrap_or_else(|| options.database.clone());
    let current = current_rows(&database).map_err(Stop::Failed)?;
    let mut metadata = None;
    if let Some(url) = answers
        .settings
        .get(setting::SAML_METADATA_URL)
        .filter(|u| !u.trim().is_empty())
    {
        match idp::summarise(url.trim(), entity_id(&answers, &current)) {
            Ok(summary) => {
                print!("{}", escape_output(&summary.to_string()));
                metadata = Some(summary);
            }
            Err(SummaryError::Unreachable(message)) if answers.confirm_unreachable_metadata => {
                eprintln!(
                    "warning: {}; saved anyway ({})",
                    escape_output(&message),
                    questions::CONFIRM_UNREACHABLE_METADATA
                );
            }
            Err(SummaryError::Unreachable(message)) => {
                return Err(Stop::Refused(format!(
                    "{message}; nothing written (to save it anyway: {} = true)",
                    questions::CONFIRM_UNREACHABLE_METADATA
                )));
            }
            Err(SummaryError::Ambiguous(message, _)) => {
                return Err(Stop::Refused(format!(
                    "{message} ({})",
                    setting::SAML_SERVER_ENTITY_IDENTIFIER
                )));
            }
            Err(SummaryError::Refused(message)) => return Err(Stop::Refused(message)),
        }
    }
    let plan = make_plan(schema, questions, &current, &answers)?;
    Ok((database, plan, metadata))
}

/// The IdP entityID to pick in the metadata: the answer (empty: none), else the current row.
pub fn entity_id<'a>(answers: &'a Answers, current: &'a ConfigRows) -> Option<&'a str> {
    match answers.settings.get(setting::SAML_SERVER_ENTITY_IDENTIFIER) {
        Some(answer) => Some(answer.trim()).filter(|a| !a.is_empty()),
        None => current
            .get(setting::SAML_SERVER_ENTITY_IDENTIFIER)
            .and_then(Option::as_deref),
    }
}

/// The plan for `answers`, with a fresh SP key pair when the rows hold none.
pub fn make_plan(
    schema: &Schema,
    questions: &Questions,
    current: &ConfigRows,
    answers: &Answers,
) -> Result<Plan, Stop> {
    let sp_key = if plan::needs_sp_key(current) {
        let host = answers
            .base_url
            .as_deref()
            .and_then(|b| url::Url::parse(b.trim()).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "fedbridge".to_owned());
        Some(
            keys::generate_sp_key(&host)
                .map_err(|e| Stop::Failed(format!("cannot generate the SP key pair: {e}")))?,
        )
    } else {
        None
    };
    plan::plan(schema, questions, current, answers, sp_key.as_ref()).map_err(|Invalid(lines)| {
        let mut message = format!(
            "refused, nothing written: the configuration would be invalid: {} problem{}.",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        );
        for line in lines {
            message.push('\n');
            message.push_str(&line);
        }
        Stop::Refused(message)
    })
}

/// The rows of `database` without creating or changing anything: a missing SQLite file has no
/// rows (it is created only when the install writes).
pub fn current_rows(database: &str) -> Result<ConfigRows, String> {
    if let Location::Sqlite(path) = Location::parse(database)
        && !path.exists()
    {
        return Ok(ConfigRows::new());
    }
    let store = Store::open(database).map_err(|e| e.to_string())?;
    store.config_rows().map_err(|e| e.to_string())
}

/// What the plan writes, one line a row, secrets masked as `config list` masks them.
pub fn describe(schema: &Schema, plan: &Plan) -> String {
    let mut text = String::new();
    if plan.changes.is_empty() {
        text.push_str("  change no setting (every answer is the current value)\n");
    }
    for (name, change) in &plan.changes {
        let secret = schema.setting(name).is_some_and(|d| d.secret);
        let line = match change {
            RowChange::Set(Some(_)) if secret => {
                format!("  set    {name} = {}", fedbridge::config::display::MASK)
            }
            RowChange::Set(Some(v)) => {
                format!("  set    {name} = {}", fedbridge::config::display::shown(v))
            }
            RowChange::Set(None) => format!("  set    {name} = (NULL)"),
            RowChange::Delete => format!("  unset  {name} (row deleted: back to the default)"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&format!(
        "  and keep an xsession signing key ({}), generated unless one exists\n",
        plan.config.xsession.algorithm.as_str()
    ));
    for warning in &plan.warnings {
        text.push_str(&format!("warning: {warning}\n"));
    }
    text
}

/// Writes the plan in one transaction (settings, SP key pair, xsession signing key, the IdP
/// metadata fetched), then the SP metadata file; returns the file's path.
fn commit(
    database: &str,
    plan: &Plan,
    metadata: Option<&IdpSummary>,
    options: &Options,
) -> Result<PathBuf, Stop> {
    let key = fedbridge::token::SigningKeyPair::generate(plan.config.xsession.algorithm)
        .map_err(|e| Stop::Failed(format!("cannot generate the xsession signing key: {e}")))?;
    let store = Store::open(database).map_err(|e| Stop::Failed(e.to_string()))?;
    let now = fedbridge::clock::Clock::now(&fedbridge::clock::SystemClock);
    let cached = metadata.map(|summary| {
        (
            summary.url.as_str(),
            CachedMetadata {
                body: summary.body.clone(),
                fetched_at: now.unix_timestamp(),
            },
        )
    });
    let cached = cached.as_ref().map(|(url, document)| (*url, document));
    let written = store
        .update_config_with_signing_key(&key, now, cached, |rows| {
            (*rows == plan.before).then(|| plan.changes.clone())
        })
        .map_err(|e| Stop::Failed(e.to_string()))?;
    if !written {
        return Err(Stop::Refused(
            "refused, nothing written: the settings were changed by someone else while the \
             installer ran; run it again"
                .to_owned(),
        ));
    }
    let path = options
        .sp_metadata
        .clone()
        .unwrap_or_else(|| match Location::parse(database) {
            Location::Sqlite(db) => db.parent().map_or_else(
                || PathBuf::from(SP_METADATA_FILE),
                |d| d.join(SP_METADATA_FILE),
            ),
            Location::Postgres(_) => PathBuf::from(SP_METADATA_FILE),
        });
    std::fs::write(&path, plan.config.sp_metadata()).map_err(|e| {
        Stop::Failed(format!(
            "the settings are written, but the SP metadata file {} is not: {e}; \
             `fedbridge metadata` prints it",
            path.display()
        ))
    })?;
    Ok(path)
}

/// The end screen: what the administrator hands to the IdP team, in the IdP consoles' words.
pub fn handoff(config: &Config, metadata_path: &Path) -> String {
    let shown_path = std::path::absolute(metadata_path).unwrap_or_else(|_| metadata_path.into());
    let mut text = String::from("\nfedbridge is set up. Hand this to the IdP team:\n");
    let mut line = |label: &str, value: &str| {
        text.push_str(&format!("  {label:<44} {value}\n"));
    };
    line("Identifier (Entity ID)", &config.sp_entity_id);
    line(
        "Reply URL (Assertion Consumer Service URL)",
        config.consumer_url.as_str(),
    );
    line("Sign-on URL", config.consumer_url.as_str());
    line("SP metadata file", &shown_path.display().to_string());
    let user_id = config
        .user_id_attribute
        .as_deref()
        .unwrap_or("Unique User Identifier (Name ID)");
    line("Claim: login name", user_id);
    let attributes = &config.attributes;
    for (label, value) in [
        ("Claim: full name", &attributes.fullname),
        ("Claim: e-mail", &attributes.email),
        ("Claim: groups", &attributes.groups),
        ("Claim: description", &attributes.description),
    ] {
        if let Some(value) = value {
            line(label, value);
        }
    }
    text
}
