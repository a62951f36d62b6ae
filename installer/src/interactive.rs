//! The terminal layer: asks [`plan::steps`] with inquire, each answer checked on the spot by
//! [`plan::check_answer`] (the loader's messages), and hands the answers to [`plan::plan`].
//! Every label, help line and proposal comes from `config-schema/`; nothing is written here.

use std::io::IsTerminal as _;

use inquire::validator::Validation;
use inquire::{Confirm, InquireError, Text};

use crate::plan::{self, Answers, Plan, Step};
use crate::questions::{self, Questions};
use crate::{Options, Stop, current_rows, describe, idp, make_plan};
use fedbridge::config::keys::{
    SAML_CONSUMER_URL, SAML_METADATA_URL, SAML_SERVER_ENTITY_IDENTIFIER,
};
use fedbridge::config::schema::{Schema, SettingDef};
use fedbridge::store::ConfigRows;
use fedbridge::text::escape_output;

/// Asks every step and the final confirmation; returns the database and the confirmed plan.
pub fn run(
    schema: &'static Schema,
    questions: &Questions,
    options: &Options,
) -> Result<(String, Plan), Stop> {
    if !std::io::stdin().is_terminal() {
        return Err(Stop::Failed(
            "the wizard needs a terminal; for automation: fedbridge install --answers FILE"
                .to_owned(),
        ));
    }
    let mut answers = Answers::default();
    let mut database = options.database.clone();
    let mut current = ConfigRows::new();
    for step in plan::steps(schema) {
        match step {
            Step::Question(questions::DATABASE) => {
                let q = questions.get(questions::DATABASE).map_err(Stop::Failed)?;
                loop {
                    let answer = ask(Text::new(&q.prompt)
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
                let answer = ask(Text::new(&q.prompt)
                    .with_help_message(&q.help)
                    .with_initial_value(&initial)
                    .with_validator(move |input: &str| {
                        Ok(match plan::check_base_url(&checker, input) {
                            Ok(_) => Validation::Valid,
                            Err(message) => Validation::Invalid(message.into()),
                        })
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
                if let Some(answer) = ask_setting(def, questions, &answers, &current)? {
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
    Ok((database, plan))
}

/// Asks one setting until the answer is acceptable; `None`: keep the current (multi-line)
/// value. A metadata URL is fetched, summarised and confirmed before it is accepted.
fn ask_setting(
    def: &'static SettingDef,
    questions: &Questions,
    answers: &Answers,
    current: &ConfigRows,
) -> Result<Option<String>, Stop> {
    let now = plan::current_value(def, current);
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
        let mut prompt = Text::new(&def.installer.prompt)
            .with_help_message(&def.installer.help)
            .with_initial_value(&initial)
            .with_validator(move |input: &str| {
                if keep_multiline && input.trim().is_empty() {
                    return Ok(Validation::Valid);
                }
                let resolved = plan::resolve(def, input);
                Ok(match plan::check_answer(def, &resolved, &rows) {
                    Ok(()) => Validation::Valid,
                    Err(message) => Validation::Invalid(message.into()),
                })
            });
        if keep_multiline {
            prompt = prompt.with_placeholder(&placeholder);
        }
        let answer = ask(prompt)?;
        if keep_multiline && answer.trim().is_empty() {
            return Ok(None);
        }
        let resolved = plan::resolve(def, &answer);
        if def.name != SAML_METADATA_URL || resolved.is_empty() {
            return Ok(Some(resolved));
        }
        let entity_id = current
            .get(SAML_SERVER_ENTITY_IDENTIFIER)
            .and_then(Option::as_deref);
        match idp::summarise(&resolved, entity_id) {
            Ok(summary) => {
                print!("{}", escape_output(&summary.to_string()));
                let q = questions
                    .get(questions::CONFIRM_IDP)
                    .map_err(Stop::Failed)?;
                if ask(Confirm::new(&q.prompt)
                    .with_help_message(&q.help)
                    .with_default(true))?
                {
                    return Ok(Some(resolved));
                }
            }
            Err(error) => eprintln!("{}", escape_output(&error)),
        }
        initial = resolved;
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

/// The two inquire prompts the wizard uses.
trait Prompt<T> {
    fn ask(self) -> Result<T, InquireError>;
}

impl Prompt<String> for Text<'_, '_> {
    fn ask(self) -> Result<String, InquireError> {
        self.prompt()
    }
}

impl Prompt<bool> for Confirm<'_> {
    fn ask(self) -> Result<bool, InquireError> {
        self.prompt()
    }
}
