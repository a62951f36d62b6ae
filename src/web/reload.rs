//! Live reload: every [`POLL_INTERVAL`] the settings are read again; a valid change is put in
//! service, an invalid one is refused (the last valid configuration stays) and reported.
//!
//! The decision is pure ([`Reloader::observe`]: rows or a read failure in, a [`Step`] out, with
//! the log lines already de-duplicated); [`watch`] is the loop that reads the database and
//! applies each step to the [`AppState`].

use std::collections::BTreeSet;
use std::time::Duration;

use actix_web::web;

use crate::config::{self, Loaded, Problem};
use crate::store::{ConfigRows, Location, Store, StoreError};
use crate::web::state::{AppState, ConfigHealth};

/// How often the settings are read again.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why a poll could not read the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollFailure {
    /// Said for `/healthz`, without paths: the database is locked, gone or unreadable.
    pub public: String,
    /// The whole story, for the log.
    pub detail: String,
}

/// One log line decided by the reloader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    /// Something worth knowing happened (a configuration was put in service).
    Info(String),
    /// Something needs the administrator (invalid settings, unreadable database).
    Warn(String),
}

/// What one poll changes.
#[derive(Debug)]
pub struct Step {
    /// A valid configuration to put in service.
    pub activate: Option<Loaded>,
    /// The rows of the configuration to activate (shown on the admin console).
    pub rows: Option<ConfigRows>,
    /// The problems of the rows as they are now; `None`: as before.
    pub problems: Option<Vec<Problem>>,
    /// Why the settings could not be read; `None`: they could.
    pub database_error: Option<String>,
    /// What to log, at most once per distinct situation.
    pub log: Vec<LogLine>,
}

/// The reload decisions, remembered from poll to poll. Pure: no I/O, no clock.
#[derive(Debug, Default)]
pub struct Reloader {
    /// The rows of the last successful poll.
    seen: Option<ConfigRows>,
    /// The rows of the configuration in service.
    active: Option<ConfigRows>,
    /// The problem set last logged (not logged again while it stays the same).
    logged_problems: Option<Vec<Problem>>,
    /// The warnings last logged.
    logged_warnings: Vec<Problem>,
    /// The read failure last logged.
    logged_failure: Option<String>,
}

impl Reloader {
    /// A reloader that has seen nothing: the first successful poll loads (or refuses).
    pub fn new() -> Reloader {
        Reloader::default()
    }

    /// Decides what a poll's result changes.
    pub fn observe(&mut self, polled: Result<ConfigRows, PollFailure>) -> Step {
        let rows = match polled {
            Ok(rows) => rows,
            Err(failure) => return self.failed(failure),
        };
        let mut log = Vec::new();
        if self.logged_failure.take().is_some() {
            log.push(LogLine::Info("the settings can be read again".into()));
        }
        let mut step = Step {
            activate: None,
            rows: None,
            problems: None,
            database_error: None,
            log,
        };
        if self.seen.as_ref() == Some(&rows) {
            return step;
        }
        self.seen = Some(rows.clone());
        match config::load(&rows) {
            Ok(mut loaded) => {
                loaded.warnings = scrub_secrets(loaded.warnings, &rows);
                self.loaded(loaded, rows, &mut step);
            }
            Err(problems) => {
                let problems = scrub_secrets(problems, &rows);
                if self.logged_problems.as_ref() != Some(&problems) {
                    let kept = if self.active.is_some() {
                        "the last valid configuration stays in service"
                    } else {
                        "fedbridge stays unconfigured"
                    };
                    step.log.push(LogLine::Warn(format!(
                        "the settings in CONFIGURATIONENTITY are invalid, {kept}: {}",
                        join(&problems)
                    )));
                    self.logged_problems = Some(problems.clone());
                }
                step.problems = Some(problems);
            }
        }
        step
    }

    fn loaded(&mut self, loaded: Loaded, rows: ConfigRows, step: &mut Step) {
        self.logged_problems = None;
        step.problems = Some(Vec::new());
        if loaded.warnings != self.logged_warnings {
            if !loaded.warnings.is_empty() {
                step.log.push(LogLine::Warn(format!(
                    "settings warnings: {}",
                    join(&loaded.warnings)
                )));
            }
            self.logged_warnings = loaded.warnings.clone();
        }
        match &self.active {
            Some(active) if *active == rows => {
                step.log.push(LogLine::Info(
                    "the settings are valid again; the configuration in service is unchanged"
                        .into(),
                ));
            }
            Some(active) => {
                step.log.push(LogLine::Info(format!(
                    "configuration reloaded; changed: {}",
                    changed_keys(active, &rows).join(", ")
                )));
                step.activate = Some(loaded);
                step.rows = Some(rows.clone());
            }
            None => {
                step.log.push(LogLine::Info(format!(
                    "configuration loaded ({} settings in CONFIGURATIONENTITY)",
                    rows.len()
                )));
                step.activate = Some(loaded);
                step.rows = Some(rows.clone());
            }
        }
        self.active = Some(rows);
    }

    fn failed(&mut self, failure: PollFailure) -> Step {
        let mut log = Vec::new();
        if self.logged_failure.as_ref() != Some(&failure.detail) {
            let kept = if self.active.is_some() {
                "the last valid configuration stays in service"
            } else {
                "fedbridge stays unconfigured"
            };
            log.push(LogLine::Warn(format!(
                "cannot read the settings, {kept}; retrying every {}s: {}",
                POLL_INTERVAL.as_secs(),
                failure.detail
            )));
            self.logged_failure = Some(failure.detail);
        }
        Step {
            activate: None,
            rows: None,
            problems: None,
            database_error: Some(failure.public),
            log,
        }
    }
}

/// The names of the rows that differ between `old` and `new` (added, removed or changed), in
/// name order. Names only: values (secrets among them) never reach the log.
pub fn changed_keys(old: &ConfigRows, new: &ConfigRows) -> Vec<String> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|name| old.get(*name) != new.get(*name))
        .cloned()
        .collect()
}

/// Defence in depth: the loader never quotes secret values, and this makes sure no problem
/// message does, whatever a future rule says. Every value of a secret setting (as stored and
/// trimmed, when at least 4 characters long) is replaced by `[redacted]`.
pub fn scrub_secrets(problems: Vec<Problem>, rows: &ConfigRows) -> Vec<Problem> {
    let Ok(schema) = config::schema::schema() else {
        return problems;
    };
    let secrets: Vec<&str> = rows
        .iter()
        .filter(|(name, _)| schema.setting(name).is_some_and(|def| def.secret))
        .filter_map(|(_, value)| value.as_deref())
        .flat_map(|value| [value, value.trim()])
        .filter(|value| value.chars().count() >= 4)
        .collect();
    if secrets.is_empty() {
        return problems;
    }
    problems
        .into_iter()
        .map(|mut problem| {
            for secret in &secrets {
                if problem.message.contains(secret) {
                    problem.message = problem.message.replace(secret, "[redacted]");
                }
            }
            problem
        })
        .collect()
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads the settings and their version once, blocking (call it off the async runtime). A
/// vanished SQLite file is reported as gone rather than opened (which would create a new, empty
/// one).
pub fn poll(store: &Store) -> Result<(ConfigRows, i64), PollFailure> {
    if let Location::Sqlite(path) = store.location() {
        let uri = path.to_string_lossy().starts_with("file:");
        if !uri && !path.exists() {
            return Err(PollFailure {
                public: "the database file is gone".into(),
                detail: format!("the SQLite database {} no longer exists", path.display()),
            });
        }
    }
    store.config_snapshot().map_err(|error| PollFailure {
        public: match error {
            StoreError::Locked { .. } => "the database is locked".into(),
            _ => "the database cannot be read".into(),
        },
        detail: error.to_string(),
    })
}

/// Judges a poll (see [`Reloader::observe`]) and applies the step; a version read is recorded
/// as the one this node holds.
pub fn observe_and_apply(
    state: &AppState,
    reloader: &mut Reloader,
    polled: Result<(ConfigRows, i64), PollFailure>,
) {
    let version = polled.as_ref().ok().map(|(_, version)| *version);
    apply(state, reloader.observe(polled.map(|(rows, _)| rows)));
    if let Some(version) = version {
        state.set_config_version(version);
    }
}

/// Applies one step to the state and writes its log lines.
pub fn apply(state: &AppState, step: Step) {
    for line in &step.log {
        match line {
            LogLine::Info(message) => tracing::info!("{message}"),
            LogLine::Warn(message) => tracing::warn!("{message}"),
        }
    }
    let refused = step.problems.as_ref().is_some_and(|p| !p.is_empty())
        || (step.database_error.is_some() && !step.log.is_empty());
    if refused {
        state.metrics().count_reload(false);
    }
    if let Some(loaded) = step.activate {
        state.metrics().count_reload(true);
        state.activate(loaded, step.rows.unwrap_or_default());
    }
    let before = state.health();
    state.set_health(ConfigHealth {
        problems: step.problems.unwrap_or_else(|| before.problems.clone()),
        database_error: step.database_error,
        checked_at: Some(state.now()),
    });
}

/// The reload loop: polls every [`POLL_INTERVAL`] for as long as the server runs. The read
/// runs on the blocking pool, so a locked database never stalls the runtime.
pub async fn watch(state: web::Data<AppState>, mut reloader: Reloader) {
    loop {
        actix_web::rt::time::sleep(POLL_INTERVAL).await;
        let store = state.store().clone();
        let polled = match web::block(move || poll(&store)).await {
            Ok(polled) => polled,
            Err(error) => Err(PollFailure {
                public: "the settings could not be read".into(),
                detail: format!("the blocking pool refused the poll: {error}"),
            }),
        };
        observe_and_apply(&state, &mut reloader, polled);
    }
}

#[cfg(test)]
mod tests;
