//! `fedbridge config list|get|set|unset|check`: the rows of `CONFIGURATIONENTITY`, read and
//! changed through the same schema and loader as the server.
//!
//! `set` and `unset` decide inside one write transaction (see `Store::update_config`): they
//! load the configuration as it is and as it would be, and write only what `config::admission`
//! admits: a configuration valid afterwards, or, during first setup, one whose only problems
//! are settings still missing (so the mandatory settings can be given one at a time). Anything
//! else is refused with nothing written, naming the rows that block it, including rows the
//! change does not touch: a change reported done is a change the servers put in service.
//!
//! Exit status: 0 done (or valid, for `check`), 1 refused, invalid or unknown, 2 usage error or a
//! database that cannot be opened or used. Results go to stdout, errors to stderr.

use crate::out::errln;
use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use fedbridge::clock::{Clock as _, SystemClock};
use fedbridge::config::display::{MASK, default_value, not_set, shown};
use fedbridge::config::schema::{Empty, Schema, SettingDef};
use fedbridge::config::{self, Admission, Problem};
use fedbridge::store::{ConfigRows, NodeRecord, RowChange, Store};

use crate::DbArg;

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Every row, and every setting without a row with its default; secrets masked.
    List(DbArg),
    /// The value of one setting as stored (secrets too), (NULL), or "not set" with the default.
    Get(GetArgs),
    /// Set settings, after checking the value and the whole resulting configuration.
    ///
    /// Several NAME VALUE pairs are checked and written together (one transaction): settings
    /// that belong together, such as FEDBRIDGE_SP_PRIVATE_KEY and FEDBRIDGE_SP_CERTIFICATE, are
    /// changed in one command.
    Set(SetArgs),
    /// Delete settings' rows (back to the default), after checking the resulting configuration.
    Unset(UnsetArgs),
    /// Check the whole configuration: every problem at once, and the warnings.
    Check(DbArg),
    /// Print the reference table of every setting (Markdown), as in the README; no database.
    Reference,
}

/// Options of `config get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The setting's NAME (as in CONFIGURATIONENTITY).
    name: String,
    #[command(flatten)]
    db: DbArg,
    /// Print the stored value's exact bytes (for scripts): invisible and control characters
    /// are not escaped as `\u{...}`, as they are otherwise.
    #[arg(long)]
    raw: bool,
}

/// Options of `config set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// NAME VALUE [NAME VALUE]...; with --null: NAME [NAME]... A VALUE may start with "-"
    /// (PEM does); the options --null, --allow-unknown and --database are recognised in any
    /// position, and every word after "--" is a NAME or VALUE.
    #[arg(
        required = true,
        value_name = "NAME VALUE",
        num_args = 1..,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
    /// Store SQL NULL for each NAME (not the same as no row: see config-schema/README.md).
    #[arg(long)]
    null: bool,
    /// Also store names that are not fedbridge settings (refused by default: a typo).
    #[arg(long)]
    allow_unknown: bool,
    #[command(flatten)]
    db: DbArg,
}

/// Options of `config unset`.
#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// The settings whose rows are deleted.
    #[arg(required = true, value_name = "NAME")]
    names: Vec<String>,
    #[command(flatten)]
    db: DbArg,
}

impl ConfigCommand {
    /// The command's `--database`; `None` for `reference`, which uses no database.
    pub fn database(&self) -> Option<&DbArg> {
        match self {
            ConfigCommand::List(db) | ConfigCommand::Check(db) => Some(db),
            ConfigCommand::Get(args) => Some(&args.db),
            ConfigCommand::Set(args) => Some(&args.db),
            ConfigCommand::Unset(args) => Some(&args.db),
            ConfigCommand::Reference => None,
        }
    }

    /// `config set` takes its options out of its words (see [`SetArgs::take_options`]).
    pub fn take_options(&mut self) -> Result<(), String> {
        match self {
            ConfigCommand::Set(args) => args.take_options(),
            _ => Ok(()),
        }
    }
}

impl SetArgs {
    /// Clap takes every word after the first NAME as a NAME or VALUE (a value may start with
    /// "-": PEM does), options included: this picks out --null, --allow-unknown and
    /// --database [=]VALUE wherever they stand, up to "--", after which every word is a NAME or
    /// VALUE. Any other word that starts with "-" where a NAME is expected is a usage error (a
    /// NAME never starts with "-").
    pub fn take_options(&mut self) -> Result<(), String> {
        let mut words = Vec::new();
        let mut rest = std::mem::take(&mut self.args).into_iter();
        let mut literal = false;
        while let Some(word) = rest.next() {
            if literal {
                words.push(word);
                continue;
            }
            match word.as_str() {
                "--" => literal = true,
                "--null" => self.null = true,
                "--allow-unknown" => self.allow_unknown = true,
                "--database" => {
                    let value = rest
                        .next()
                        .ok_or("set: --database needs a value (PATH_OR_URL)")?;
                    self.db.database = Some(value);
                }
                _ => match word.strip_prefix("--database=") {
                    Some(value) => self.db.database = Some(value.to_owned()),
                    None => {
                        // Even positions hold NAMEs (with --null every word is a NAME).
                        let is_name = self.null || words.len() % 2 == 0;
                        if is_name && word.starts_with('-') {
                            return Err(format!(
                                "set: unknown option {word}; a setting NAME never starts with \
                                 \"-\" (to store such a name anyway: fedbridge config set -- \
                                 NAME VALUE)"
                            ));
                        }
                        words.push(word);
                    }
                },
            }
        }
        self.args = words;
        Ok(())
    }
}

/// Runs a `config` command against the database `database`.
pub fn run(database: &str, command: &ConfigCommand) -> ExitCode {
    let schema = match config::schema::schema() {
        Ok(schema) => schema,
        Err(e) => {
            errln!("fedbridge config: {e}");
            return ExitCode::from(2);
        }
    };
    if let ConfigCommand::Reference = command {
        crate::out::out(&config::reference_table());
        return ExitCode::SUCCESS;
    }
    // Usage errors first: they need no database.
    let request = match command {
        ConfigCommand::Set(args) => set_request(args).map(Some),
        ConfigCommand::Unset(args) => unset_request(args).map(Some),
        ConfigCommand::List(_)
        | ConfigCommand::Get(_)
        | ConfigCommand::Check(_)
        | ConfigCommand::Reference => Ok(None),
    };
    let request = match request {
        Ok(request) => request,
        Err(message) => {
            errln!("fedbridge config: {message}");
            return ExitCode::from(2);
        }
    };
    let store = match Store::open(database) {
        Ok(store) => store,
        Err(e) => {
            errln!("fedbridge config: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match (command, request) {
        (_, Some(request)) => store
            .update_config(|rows| change(schema, rows, &request))
            .map(|mut report| {
                if report.written_valid {
                    in_service(&store, &mut report);
                }
                report
            }),
        (ConfigCommand::Get(args), None) => store.config_rows().map(|rows| {
            if args.raw
                && let Some(Some(value)) = rows.get(&args.name)
            {
                return Report::raw(value);
            }
            get(schema, &rows, &args.name)
        }),
        (ConfigCommand::Check(_), None) => store.config_rows().map(|rows| check(schema, &rows)),
        (_, None) => store.config_rows().map(|rows| list(schema, &rows)),
    };
    match report {
        Ok(report) => report.print(),
        Err(e) => {
            errln!("fedbridge config: {e}");
            ExitCode::from(2)
        }
    }
}

/// How long `set` and `unset` wait for the running servers to take a change in.
const IN_SERVICE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A server that has not written its status for this long is not counted as running (its write
/// probe runs every 2 s).
const NODE_SILENCE_SECONDS: i64 = 10;

/// After a change was written: waits (at most [`IN_SERVICE_WAIT`]) until every running server
/// reports the settings version that holds it, and says so. The servers read the version every
/// second and record the one they hold at once, so once this says "in service", every request
/// those servers receive from then on uses the new settings.
fn in_service(store: &Store, report: &mut Report) {
    let deadline = std::time::Instant::now() + IN_SERVICE_WAIT;
    let version = match store.config_version() {
        Ok(version) => version,
        Err(e) => {
            report.err(format!("warning: cannot read the settings version: {e}"));
            return;
        }
    };
    loop {
        let now = SystemClock.now().unix_timestamp();
        let nodes = match store.nodes_seen_since(now - NODE_SILENCE_SECONDS) {
            Ok(nodes) => nodes,
            Err(e) => {
                report.err(format!("warning: cannot read the servers' status: {e}"));
                return;
            }
        };
        let behind: Vec<&NodeRecord> = nodes
            .iter()
            .filter(|n| n.config_version < version)
            .collect();
        if nodes.is_empty() {
            report.out(
                "No fedbridge server is running on this database: the change is in service as \
                 soon as one starts.",
            );
            return;
        }
        if behind.is_empty() {
            report.out(format!(
                "In service on {} running server{}.",
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" }
            ));
            return;
        }
        if std::time::Instant::now() >= deadline {
            let names: Vec<&str> = behind.iter().map(|n| n.node_id.as_str()).collect();
            report.err(format!(
                "warning: written, but not yet in service on {} of {} running servers after {} \
                 s ({}); see their logs and /healthz",
                behind.len(),
                nodes.len(),
                IN_SERVICE_WAIT.as_secs(),
                names.join(", ")
            ));
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What a command prints and its exit status; built by pure functions, printed by [`run`].
#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    out: String,
    err: String,
    code: u8,
    /// Print `out` as it is, unescaped (`config get --raw`).
    raw: bool,
    /// A change was written and the configuration is valid: wait for it to be in service.
    written_valid: bool,
}

impl Report {
    fn raw(value: &str) -> Report {
        Report {
            out: format!("{value}\n"),
            raw: true,
            ..Report::default()
        }
    }

    fn out(&mut self, line: impl AsRef<str>) {
        self.out.push_str(line.as_ref());
        self.out.push('\n');
    }

    fn err(&mut self, line: impl AsRef<str>) {
        self.err.push_str(line.as_ref());
        self.err.push('\n');
    }

    fn print(&self) -> ExitCode {
        if self.raw {
            crate::out::out_raw(&self.out);
        } else {
            crate::out::out(&self.out);
        }
        crate::out::err(&self.err);
        ExitCode::from(self.code)
    }
}

// ---------------------------------------------------------------------------------------------
// list, get, check
// ---------------------------------------------------------------------------------------------

/// Every setting in listing order (its row, or its default), then the rows that are not
/// settings.
fn list(schema: &Schema, rows: &ConfigRows) -> Report {
    let mut report = Report::default();
    let mut settings: Vec<&SettingDef> = schema.settings.iter().collect();
    settings.sort_by_key(|s| s.installer.order);
    for def in settings {
        let name = &def.name;
        let line = match rows.get(name) {
            Some(Some(_)) if def.secret => format!("{name} = {MASK}"),
            Some(Some(value)) => format!("{name} = {}", shown(value)),
            Some(None) if def.null == Empty::Unset => {
                format!("{name} = (NULL)  (same as not set: {})", not_set(def, rows))
            }
            Some(None) => format!(
                "{name} = (NULL)  (invalid: it must not be NULL; see fedbridge config check)"
            ),
            None => match default_value(def, rows) {
                Some(default) => format!("{name} = {}  (default)", shown(&default)),
                None => format!("{name}  (not set: {})", not_set(def, rows)),
            },
        };
        report.out(line);
    }
    for (name, value) in rows.iter().filter(|(n, _)| schema.setting(n).is_none()) {
        let similar = schema.similar(name);
        // A misspelt secret is still a secret.
        let value = match value {
            None => "(NULL)".to_owned(),
            Some(_) if similar.is_some_and(|s| s.secret) => MASK.to_owned(),
            Some(value) => shown(value),
        };
        report.out(format!("{name} = {value}  ({})", unknown_note(similar)));
    }
    report
}

/// The value of one setting, exactly as stored.
fn get(schema: &Schema, rows: &ConfigRows, name: &str) -> Report {
    let mut report = Report::default();
    let def = schema.setting(name);
    if def.is_none() {
        let note = unknown_note(schema.similar(name));
        if !rows.contains_key(name) {
            report.err(format!(
                "fedbridge config get: {name} is not a fedbridge setting and has no row ({note})"
            ));
            report.code = 1;
            return report;
        }
        report.err(format!("warning: {name}: {note}"));
    }
    match (rows.get(name), def) {
        (Some(Some(value)), _) => report.out(value),
        (Some(None), _) => report.out("(NULL)"),
        (None, Some(def)) => match default_value(def, rows) {
            Some(default) => report.out(format!("not set (default: {default})")),
            None => report.out(format!("not set ({})", not_set(def, rows))),
        },
        (None, None) => {} // handled above
    }
    report
}

/// Every problem at once (exit 1), or "valid" (exit 0); the warnings either way.
fn check(schema: &Schema, rows: &ConfigRows) -> Report {
    let mut report = Report::default();
    match config::load(rows) {
        Ok(loaded) => {
            report.out("The configuration is valid.");
            for warning in &loaded.warnings {
                report.out(format!("warning: {warning}"));
            }
        }
        Err(problems) => {
            report.out(format!(
                "The configuration is invalid: {}.",
                count(problems.len(), "problem")
            ));
            for problem in &problems {
                report.out(problem.to_string());
            }
            // The loader returns its warnings only with a valid configuration; the unknown
            // rows are worth showing anyway.
            for name in rows.keys().filter(|n| schema.setting(n).is_none()) {
                let note = unknown_note(schema.similar(name));
                report.out(format!("warning: {name}: {note}"));
            }
            report.code = 1;
        }
    }
    report
}

// ---------------------------------------------------------------------------------------------
// set, unset
// ---------------------------------------------------------------------------------------------

/// The changes a `set` or `unset` asks for.
#[derive(Debug)]
struct Request {
    verb: &'static str,
    changes: BTreeMap<String, RowChange>,
    allow_unknown: bool,
}

fn set_request(args: &SetArgs) -> Result<Request, String> {
    // The options were taken out of the words by `SetArgs::take_options`.
    let (null, allow_unknown, words) = (args.null, args.allow_unknown, &args.args);
    let mut changes = BTreeMap::new();
    let mut add = |name: &str, change: RowChange| -> Result<(), String> {
        check_name(name)?;
        match changes.insert(name.to_owned(), change) {
            Some(_) => Err(format!("set: {name} is given twice")),
            None => Ok(()),
        }
    };
    if null {
        for name in words {
            add(name, RowChange::Set(None))?;
        }
    } else {
        if words.len() % 2 != 0 {
            return Err(format!(
                "set: expected NAME VALUE pairs, got {} word(s); to store SQL NULL: fedbridge config set --null NAME",
                words.len()
            ));
        }
        for pair in words.chunks(2) {
            if let [name, value] = pair {
                add(name, RowChange::Set(Some(value.clone())))?;
            }
        }
    }
    if changes.is_empty() {
        return Err("set: no setting given".into());
    }
    Ok(Request {
        verb: "set",
        changes,
        allow_unknown,
    })
}

fn unset_request(args: &UnsetArgs) -> Result<Request, String> {
    let mut changes = BTreeMap::new();
    for name in &args.names {
        check_name(name)?;
        if changes.insert(name.clone(), RowChange::Delete).is_some() {
            return Err(format!("unset: {name} is given twice"));
        }
    }
    Ok(Request {
        verb: "unset",
        changes,
        // Deleting a row that is not a setting is cleaning up, never a typo that hurts.
        allow_unknown: true,
    })
}

/// A row name: not empty, no surrounding blanks (the table refuses those too).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.trim() != name {
        return Err(format!(
            "{name:?} is not a setting name (empty, or blanks around it)"
        ));
    }
    Ok(())
}

/// Decides on the rows as they are now: the changes to write (none when refused) and what to
/// say.
fn change(
    schema: &Schema,
    rows: &ConfigRows,
    request: &Request,
) -> (BTreeMap<String, RowChange>, Report) {
    let mut report = Report::default();
    let verb = request.verb;
    let refuse = |mut report: Report, lines: &[String]| {
        for line in lines {
            report.err(line);
        }
        report.code = 1;
        (BTreeMap::new(), report)
    };

    // Names: a set of an unknown name is most likely a typo.
    for (name, change) in &request.changes {
        if schema.setting(name).is_some() {
            continue;
        }
        let similar = schema.similar(name);
        if !request.allow_unknown {
            let hint = similar.map_or(String::new(), |s| format!(" (did you mean {}?)", s.name));
            return refuse(
                report,
                &[format!(
                    "fedbridge config {verb}: refused, nothing written: {name} is not a fedbridge \
                     setting{hint}; to store it anyway: fedbridge config set --allow-unknown ..."
                )],
            );
        }
        let note = unknown_note(similar);
        if *change == RowChange::Delete && !rows.contains_key(name) {
            return refuse(
                report,
                &[format!(
                    "fedbridge config unset: {name} is not a fedbridge setting and has no row ({note})"
                )],
            );
        }
    }

    let mut after = rows.clone();
    for (name, change) in &request.changes {
        match change {
            RowChange::Set(value) => {
                after.insert(name.clone(), value.clone());
            }
            RowChange::Delete => {
                after.remove(name);
            }
        }
    }
    if after == *rows {
        for name in request.changes.keys() {
            report.out(match rows.get(name) {
                None => format!("{name}: no row; nothing to do."),
                Some(_) => format!("{name}: already has this value; nothing to do."),
            });
        }
        return (BTreeMap::new(), report);
    }

    let verdict = config::admission(&config::load(rows), &config::load(&after));
    match verdict {
        Admission::Refused {
            valid_before,
            problems,
        } => {
            let mut lines = vec![if valid_before {
                format!(
                    "fedbridge config {verb}: refused, nothing written: the configuration is valid \
                     now and would become invalid:"
                )
            } else {
                format!(
                    "fedbridge config {verb}: refused, nothing written: the configuration would \
                     not be valid afterwards:"
                )
            }];
            let (own, blocking): (Vec<&Problem>, Vec<&Problem>) = problems
                .iter()
                .partition(|p| request.changes.contains_key(&p.key) || !rows.contains_key(&p.key));
            lines.extend(own.iter().map(ToString::to_string));
            if !blocking.is_empty() {
                lines.push("Blocking rows (not part of this change):".into());
                lines.extend(blocking.iter().map(ToString::to_string));
                let names: Vec<&str> = blocking.iter().map(|p| p.key.as_str()).collect();
                lines.push(format!(
                    "Fix them in the same command, e.g. fedbridge config set {} VALUE ... (or \
                     fedbridge config unset {})",
                    names.join(" VALUE "),
                    names.join(" ")
                ));
            }
            let companions: Vec<&str> = problems
                .iter()
                .filter(|p| !after.contains_key(&p.key) && !request.changes.contains_key(&p.key))
                .map(|p| p.key.as_str())
                .collect();
            if !companions.is_empty() {
                let names: Vec<&str> = request
                    .changes
                    .keys()
                    .map(String::as_str)
                    .chain(companions)
                    .collect();
                lines.push(format!(
                    "Settings that belong together are set in one command: fedbridge config set \
                     {} VALUE",
                    names.join(" VALUE ")
                ));
            }
            refuse(report, &lines)
        }
        Admission::Valid { warnings } => {
            describe_changes(&mut report, &request.changes);
            report.out("The configuration is valid.");
            report.written_valid = true;
            for warning in &warnings {
                report.out(format!("warning: {warning}"));
            }
            (request.changes.clone(), report)
        }
        Admission::FirstSetup { missing } => {
            describe_changes(&mut report, &request.changes);
            report.out(format!(
                "The configuration is still incomplete (first setup): not in service until \
                 {} set:",
                if missing.len() == 1 {
                    "this is".to_owned()
                } else {
                    format!("these {} are", missing.len())
                }
            ));
            for problem in &missing {
                report.out(problem.to_string());
            }
            (request.changes.clone(), report)
        }
    }
}

fn describe_changes(report: &mut Report, changes: &BTreeMap<String, RowChange>) {
    for (name, change) in changes {
        report.out(match change {
            RowChange::Set(Some(_)) => format!("{name}: set."),
            RowChange::Set(None) => format!("{name}: set to NULL."),
            RowChange::Delete => format!("{name}: unset (row deleted)."),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn unknown_note(similar: Option<&SettingDef>) -> String {
    match similar {
        Some(def) => format!("unknown setting, ignored; did you mean {}?", def.name),
        None => "unknown setting, ignored".into(),
    }
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests;
