//! The terminal layer: asks [`plan::steps`] with inquire, each answer checked on the spot by
//! [`plan::check_answer`] (the loader's messages), and hands the answers to [`plan::plan`].
//! Every label, help line and proposal comes from `config-schema/`; nothing is written here.

use std::io::IsTerminal as _;

use inquire::{Confirm, InquireError, Select};

use crate::idp::{IdpSummary, SummaryError};
use crate::line::LineInput;
use crate::plan::{self, Answers, Step};
use crate::questions::{self, Questions};
use crate::{Options, Outcome, Stop, current_rows, describe, entity_id, idp, make_plan};
use fedbridge::config::keys::{
    SAML_CONSUMER_URL, SAML_METADATA_URL, SAML_SERVER_ENTITY_IDENTIFIER,
};
use fedbridge::config::schema::{Schema, SettingDef};
use fedbridge::store::ConfigRows;
use fedbridge::text::escape_output;

/// Asks every step and the final confirmation; returns the database, the confirmed plan and
/// the IdP metadata fetched.
pub fn run(
    schema: &'static Schema,
    questions: &Questions,
    options: &Options,
) -> Result<Outcome, Stop> {
    if !std::io::stdin().is_terminal() {
        return Err(Stop::Failed(
            "the wizard needs a terminal; for automation: fedbridge install --answers FILE"
                .to_owned(),
        ));
    }
    let mut answers = Answers::default();
    let mut database = options.database.clone();
    let mut current = ConfigRows::new();
    let mut metadata = None;
    for step in plan::steps(schema) {
        match step {
            Step::Question(questions::DATABASE) => {
                let q = questions.get(questions::DATABASE).map_err(Stop::Failed)?;
                loop {
                    let answer = ask(LineInput::new(&q.prompt)
                        .with_help_message(&q.help)
                        .with_initial_value(&database))?;
                    match current_rows(answer.trim()) {
                        Ok(rows) => {
                            database = answer.trim().to_owned();
                            current = rows;
                            break;
                        }
                        Err(e) => eprintln!("{}", escape_output(&e)),
                    }
                }
                answers.database = Some(database.clone());
            }
            Step::Question(questions::BASE_URL) => {
                let q = questions.get(questions::BASE_URL).map_err(Stop::Failed)?;
                let initial = current
                    .get(SAML_CONSUMER_URL)
                    .and_then(Option::as_deref)
                    .and_then(|c| plan::base_of(questions, c))
                    .unwrap_or_default();
                let checker = questions.clone();
                let answer = ask(LineInput::new(&q.prompt)
                    .with_help_message(&q.help)
                    .with_initial_value(&initial)
                    .with_validator(move |input: &str| {
                        plan::check_base_url(&checker, input).map(drop)
                    }))?;
                answers.base_url = Some(answer.trim().to_owned());
            }
            Step::Question(questions::CONFIRM_WRITE) => {}
            Step::Question(other) => {
                return Err(Stop::Failed(format!("unknown installer step {other}")));
            }
            Step::Setting(name) => {
                let Some(def) = schema.setting(&name) else {
                    continue;
                };
                if plan::is_skipped(def, &answers.settings) {
                    continue;
                }
                if let Some(answer) =
                    ask_setting(def, questions, &mut answers, &current, &mut metadata)?
                {
                    answers.settings.insert(name, answer);
                }
            }
        }
    }
    let plan = make_plan(schema, questions, &current, &answers)?;
    println!("The install will:");
    print!("{}", escape_output(&describe(schema, &plan)));
    let q = questions
        .get(questions::CONFIRM_WRITE)
        .map_err(Stop::Failed)?;
    let confirmed = ask(Confirm::new(&q.prompt)
        .with_help_message(&q.help)
        .with_default(true))?;
    if !confirmed {
        return Err(Stop::Refused("declined: nothing written".to_owned()));
    }
    Ok((database, plan, metadata))
}

/// Asks one setting until the answer is acceptable; `None`: keep the current (multi-line)
/// value. A metadata URL is fetched, summarised and confirmed before it is accepted (see
/// [`check_metadata_url`]), and the document kept in `metadata` for the cache.
fn ask_setting(
    def: &'static SettingDef,
    questions: &Questions,
    answers: &mut Answers,
    current: &ConfigRows,
    metadata: &mut Option<IdpSummary>,
) -> Result<Option<String>, Stop> {
    // An answer given on the way (the IdP picked in an aggregate) is the proposal.
    let now = answers
        .settings
        .get(&def.name)
        .cloned()
        .or_else(|| plan::current_value(def, current));
    let mut initial = if def.name == SAML_CONSUMER_URL {
        let base = answers.base_url.clone().unwrap_or_default();
        match &now {
            Some(c) if plan::base_of(questions, c).as_deref() == Some(base.as_str()) => c.clone(),
            _ => plan::proposed_consumer_url(questions, &base),
        }
    } else {
        now.clone().unwrap_or_default()
    };
    // A multi-line value (a certificate) is not editable on one line: an empty answer keeps it.
    let keep_multiline = initial.contains('\n');
    let placeholder = initial.lines().next().unwrap_or_default().to_owned();
    if keep_multiline {
        initial.clear();
    }
    loop {
        let rows = current.clone();
        let mut prompt = LineInput::new(&def.installer.prompt)
            .with_help_message(&def.installer.help)
            .with_initial_value(&initial)
            .with_validator(move |input: &str| {
                if keep_multiline && input.trim().is_empty() {
                    return Ok(());
                }
                let resolved = plan::resolve(def, input);
                plan::check_answer(def, &resolved, &rows)
            });
        if keep_multiline {
            prompt = prompt.with_placeholder(&placeholder);
        }
        if !def.installer.suggestions.is_empty() {
            prompt = prompt.with_suggestions(def.installer.suggestions.clone());
        }
        let answer = ask(prompt)?;
        if keep_multiline && answer.trim().is_empty() {
            return Ok(None);
        }
        let resolved = plan::resolve(def, &answer);
        if def.name != SAML_METADATA_URL || resolved.is_empty() {
            return Ok(Some(resolved));
        }
        if check_metadata_url(&resolved, questions, answers, current, metadata)? {
            return Ok(Some(resolved));
        }
        initial = resolved;
    }
}

/// Fetches the metadata URL `url` and asks what its outcome calls for: the summary to confirm
/// (the document kept in `metadata`), the IdP to pick in an aggregate (the answer to
/// `SAML_SERVER_ENTITY_IDENTIFIER`), whether to save a URL that cannot be fetched now. `false`:
/// ask for another URL.
fn check_metadata_url(
    url: &str,
    questions: &Questions,
    answers: &mut Answers,
    current: &ConfigRows,
    metadata: &mut Option<IdpSummary>,
) -> Result<bool, Stop> {
    let mut chosen = entity_id(answers, current).map(str::to_owned);
    loop {
        match idp::summarise(url, chosen.as_deref()) {
            Ok(summary) => {
                print!("{}", escape_output(&summary.to_string()));
                let q = questions
                    .get(questions::CONFIRM_IDP)
                    .map_err(Stop::Failed)?;
                if !ask(Confirm::new(&q.prompt)
                    .with_help_message(&q.help)
                    .with_default(true))?
                {
                    return Ok(false);
                }
                if let Some(entity) = chosen {
                    answers
                        .settings
                        .insert(SAML_SERVER_ENTITY_IDENTIFIER.to_owned(), entity);
                }
                *metadata = Some(summary);
                return Ok(true);
            }
            Err(SummaryError::Ambiguous(message, entity_ids)) => {
                eprintln!("{}", escape_output(&message));
                let q = questions.get(questions::CHOOSE_IDP).map_err(Stop::Failed)?;
                chosen = Some(ask(
                    Select::new(&q.prompt, entity_ids).with_help_message(&q.help)
                )?);
            }
            Err(SummaryError::Unreachable(message)) => {
                eprintln!("{}", escape_output(&message));
                let q = questions
                    .get(questions::CONFIRM_UNREACHABLE_METADATA)
                    .map_err(Stop::Failed)?;
                let save = ask(Confirm::new(&q.prompt)
                    .with_help_message(&q.help)
                    .with_default(false))?;
                *metadata = None;
                return Ok(save);
            }
            Err(SummaryError::Refused(message)) => {
                eprintln!("{}", escape_output(&message));
                return Ok(false);
            }
        }
    }
}

/// A prompt's answer; Ctrl-C and Esc stop the install with nothing written.
fn ask<T>(prompt: impl Prompt<T>) -> Result<T, Stop> {
    match prompt.ask() {
        Ok(answer) => Ok(answer),
        Err(InquireError::OperationInterrupted | InquireError::OperationCanceled) => Err(
            Stop::Refused("interrupted: nothing written, the database is as it was".to_owned()),
        ),
        Err(e) => Err(Stop::Failed(format!("the terminal failed: {e}"))),
    }
}

/// The prompts the wizard uses: a line (our editor), a yes/no question and a pick list
/// (inquire).
trait Prompt<T> {
    fn ask(self) -> Result<T, InquireError>;
}

impl Prompt<String> for LineInput {
    fn ask(self) -> Result<String, InquireError> {
        self.prompt()
    }
}

impl Prompt<bool> for Confirm<'_> {
    fn ask(self) -> Result<bool, InquireError> {
        self.prompt()
    }
}

impl Prompt<String> for Select<'_, String> {
    fn ask(self) -> Result<String, InquireError> {
        self.prompt()
    }
}
