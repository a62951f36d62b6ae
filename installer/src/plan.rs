//! The wizard's logic without a terminal: answers -> the rows to write, validated with
//! `config::load` exactly as `fedbridge config check` validates. The interactive layer and
//! `--answers FILE` both end here.

use std::collections::BTreeMap;

use crate::questions::{self, Questions};
use fedbridge::config::keys::{
    FEDBRIDGE_SP_CERTIFICATE, FEDBRIDGE_SP_PRIVATE_KEY, SAML_CONSUMER_URL, SAML_METADATA_URL,
};
use fedbridge::config::schema::{CONSUMER_URL, Empty, Kind, Required, Schema, SettingDef};
use fedbridge::config::{self, AbsoluteUrl, Config, Problem, value};
use fedbridge::store::{ConfigRows, RowChange};

/// One thing the wizard asks, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A question of `config-schema/installer.toml` (not a setting), by id.
    Question(&'static str),
    /// A setting of `config-schema/settings.toml` with `installer.ask = true`, by name.
    Setting(String),
}

/// Everything the wizard asks, in order: the database, the public base URL, every setting the
/// schema marks for the installer (by `installer.order`), the final confirmation. The settings
/// of the public-key scenario are skipped when a metadata URL is given ([`is_skipped`]); a
/// metadata URL is followed by the confirmation of its summary.
pub fn steps(schema: &Schema) -> Vec<Step> {
    let mut steps = vec![
        Step::Question(questions::DATABASE),
        Step::Question(questions::BASE_URL),
    ];
    steps.extend(
        schema
            .installer_prompts()
            .into_iter()
            .map(|def| Step::Setting(def.name.clone())),
    );
    steps.push(Step::Question(questions::CONFIRM_WRITE));
    steps
}

/// Whether the setting `def` is not asked given the answers so far: the settings of the
/// public-key scenario when the metadata URL has a value (the metadata wins over them).
pub fn is_skipped(def: &SettingDef, answers: &BTreeMap<String, String>) -> bool {
    let metadata_given = answers
        .get(SAML_METADATA_URL)
        .is_some_and(|v| !v.trim().is_empty());
    metadata_given && matches!(&def.required, Required::Rule(rule) if rule == "public_key_scenario")
}

/// The administrator's answers: from the terminal, or from an answers file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// The database (`None`: the global `--database`).
    pub database: Option<String>,
    /// fedbridge's public base URL, from which `SAML_CONSUMER_URL` is proposed.
    pub base_url: Option<String>,
    /// Installer settings by name; `""` means "not set"; a missing name keeps its current row.
    pub settings: BTreeMap<String, String>,
    /// Save a metadata URL that cannot be fetched now (`confirm_unreachable_metadata = true`).
    pub confirm_unreachable_metadata: bool,
}

impl Answers {
    /// Reads an answers file: `database`, `base_url`, `confirm_unreachable_metadata` (a
    /// boolean) and any setting the installer asks for (strings; numbers and booleans for the
    /// 0/1 settings; arrays of strings for the JSON arrays). Anything else is refused, with what
    /// is allowed.
    pub fn from_toml(schema: &Schema, text: &str) -> Result<Answers, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| format!("not TOML: {e}"))?;
        let mut answers = Answers::default();
        for (key, item) in table {
            let text = match &item {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_owned(),
                toml::Value::Array(items) => {
                    let strings: Option<Vec<&str>> = items.iter().map(|i| i.as_str()).collect();
                    let strings =
                        strings.ok_or_else(|| format!("{key}: an array must hold only strings"))?;
                    serde_json::to_string(&strings).map_err(|e| format!("{key}: {e}"))?
                }
                _ => return Err(format!("{key}: expected a string")),
            };
            match key.as_str() {
                questions::CONFIRM_UNREACHABLE_METADATA => {
                    answers.confirm_unreachable_metadata = match item {
                        toml::Value::Boolean(b) => b,
                        _ => return Err(format!("{key}: expected true or false")),
                    };
                }
                questions::DATABASE => answers.database = Some(text),
                questions::BASE_URL => answers.base_url = Some(text),
                name => match schema.setting(name) {
                    Some(def) if def.installer.ask => {
                        answers.settings.insert(name.to_owned(), text);
                    }
                    Some(_) => {
                        return Err(format!(
                            "{name}: the installer does not set it; after the install: fedbridge \
                             config set {name} VALUE"
                        ));
                    }
                    None => {
                        let asked: Vec<String> = [
                            questions::DATABASE,
                            questions::BASE_URL,
                            questions::CONFIRM_UNREACHABLE_METADATA,
                        ]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(schema.installer_prompts().iter().map(|d| d.name.clone()))
                        .collect();
                        return Err(format!(
                            "{name} is not an answer of the installer; the answers are: {}",
                            asked.join(", ")
                        ));
                    }
                },
            }
        }
        Ok(answers)
    }
}

/// The text an answer stands for: trimmed; for a certificate, the name of a readable file
/// stands for the file's contents.
pub fn resolve(def: &SettingDef, answer: &str) -> String {
    let text = answer.trim();
    if def.kind == Kind::CertificateList && !text.is_empty() && !text.starts_with("-----BEGIN") {
        let path = std::path::Path::new(text);
        if path.is_file()
            && let Ok(contents) = std::fs::read_to_string(path)
        {
            return contents.trim().to_owned();
        }
    }
    text.to_owned()
}

/// Checks one answer (already [`resolve`]d) on the spot, with the loader's message: a value
/// that does not parse by its schema type, or an empty answer for a setting the configuration
/// cannot do without (the message `config check` gives for it). `current` are the rows.
pub fn check_answer(def: &SettingDef, answer: &str, current: &ConfigRows) -> Result<(), String> {
    if answer.is_empty() {
        if def.required != Required::Always {
            return Ok(());
        }
        let mut rows = current.clone();
        rows.remove(&def.name);
        let message = match config::load(&rows) {
            Err(problems) => problems
                .into_iter()
                .find(|p| p.key == def.name)
                .map(|p| p.to_string()),
            Ok(_) => None,
        };
        return message.map_or(Ok(()), Err);
    }
    value::parse(def, answer)
        .map(drop)
        .map_err(|message| Problem::about(def, message).to_string())
}

/// Checks the public base URL: an absolute http(s) URL (the loader's URL rules and message).
/// Returns it without a trailing `/`.
pub fn check_base_url(questions: &Questions, answer: &str) -> Result<String, String> {
    let prompt = &questions.get(questions::BASE_URL)?.prompt;
    let url = AbsoluteUrl::parse(answer.trim()).map_err(|m| format!("{prompt}: {m}"))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The `SAML_CONSUMER_URL` proposed for the base URL `base`.
pub fn proposed_consumer_url(questions: &Questions, base: &str) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        questions.proposal.consumer_path
    )
}

/// The public base URL a consumer URL was proposed from: the URL without the proposed path, or
/// its origin.
pub fn base_of(questions: &Questions, consumer_url: &str) -> Option<String> {
    let url = AbsoluteUrl::parse(consumer_url).ok()?;
    Some(
        match url
            .as_str()
            .strip_suffix(questions.proposal.consumer_path.as_str())
        {
            Some(base) if !base.ends_with('/') => base.to_owned(),
            _ => url.origin(),
        },
    )
}

/// The value the wizard shows for `def` before the administrator answers: the current row, or
/// the default (`None`: neither).
pub fn current_value(def: &SettingDef, current: &ConfigRows) -> Option<String> {
    match current.get(&def.name) {
        Some(Some(v)) if !v.trim().is_empty() => Some(v.clone()),
        Some(_) => None,
        None => def.default.clone().filter(|d| !d.contains(CONSUMER_URL)),
    }
}

/// Whether the rows hold no SP key pair yet (then the wizard generates one).
pub fn needs_sp_key(current: &ConfigRows) -> bool {
    [FEDBRIDGE_SP_PRIVATE_KEY, FEDBRIDGE_SP_CERTIFICATE]
        .iter()
        .all(|k| {
            current
                .get(*k)
                .is_none_or(|v| v.as_deref().is_none_or(str::is_empty))
        })
}

/// A freshly generated SP key pair, in PEM.
#[derive(Debug, Clone)]
pub struct SpKeyPem {
    /// The RSA private key (PKCS#8 PEM).
    pub private_key: String,
    /// The self-signed certificate of its public key (PEM).
    pub certificate: String,
}

/// What the install would write.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The rows the plan was made from (the write refuses if they changed meanwhile).
    pub before: ConfigRows,
    /// The row changes: only settings whose answer differs from the current value.
    pub changes: BTreeMap<String, RowChange>,
    /// The rows after the write.
    pub after: ConfigRows,
    /// The configuration after the write (valid).
    pub config: Config,
    /// The loader's warnings about it.
    pub warnings: Vec<Problem>,
}

/// The configuration the answers lead to is invalid: every problem, as `config check` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<String>);

/// Turns the answers into the rows to write: each answered setting whose value differs from
/// the current one is set (or, answered empty, deleted); `SAML_CONSUMER_URL`, when not
/// answered, is proposed from the base URL (kept when the current one has the same base); the
/// SP key pair `sp_key` is added when given and the rows hold none. Rows that are not answered
/// are left alone. The result is loaded with `config::load`, which must accept it.
pub fn plan(
    schema: &Schema,
    questions: &Questions,
    current: &ConfigRows,
    answers: &Answers,
    sp_key: Option<&SpKeyPem>,
) -> Result<Plan, Invalid> {
    let mut problems = Vec::new();
    let mut desired: BTreeMap<String, String> = BTreeMap::new();
    if let Some(base) = &answers.base_url {
        match check_base_url(questions, base) {
            Ok(base) => {
                let keep = current
                    .get(SAML_CONSUMER_URL)
                    .and_then(Option::as_deref)
                    .and_then(|c| base_of(questions, c))
                    .is_some_and(|b| b == base);
                if !keep {
                    desired.insert(
                        SAML_CONSUMER_URL.to_owned(),
                        proposed_consumer_url(questions, &base),
                    );
                }
            }
            Err(message) => problems.push(message),
        }
    }
    for def in schema.installer_prompts() {
        let Some(answer) = answers.settings.get(&def.name) else {
            continue;
        };
        if is_skipped(def, &answers.settings) {
            continue;
        }
        let answer = resolve(def, answer);
        match check_answer(def, &answer, current) {
            Ok(()) => {
                desired.insert(def.name.clone(), answer);
            }
            Err(message) => problems.push(message),
        }
    }
    if !problems.is_empty() {
        return Err(Invalid(problems));
    }
    let mut changes = BTreeMap::new();
    for (name, answer) in &desired {
        let Some(def) = schema.setting(name) else {
            continue;
        };
        if let Some(change) = row_change(def, current.get(name), answer) {
            changes.insert(name.clone(), change);
        }
    }
    if let Some(key) = sp_key.filter(|_| needs_sp_key(current)) {
        changes.insert(
            FEDBRIDGE_SP_PRIVATE_KEY.to_owned(),
            RowChange::Set(Some(key.private_key.clone())),
        );
        changes.insert(
            FEDBRIDGE_SP_CERTIFICATE.to_owned(),
            RowChange::Set(Some(key.certificate.clone())),
        );
    }
    let mut after = current.clone();
    for (name, change) in &changes {
        match change {
            RowChange::Set(v) => {
                after.insert(name.clone(), v.clone());
            }
            RowChange::Delete => {
                after.remove(name);
            }
        }
    }
    // The rule of `config set` (`config::admission`) without its first-setup exception: the
    // install writes a configuration that is in service, or nothing. Rows the install does not
    // touch can block it; they are named as such.
    match config::load(&after) {
        Ok(loaded) => Ok(Plan {
            before: current.clone(),
            changes,
            after,
            config: loaded.config,
            warnings: loaded.warnings,
        }),
        Err(problems) => {
            let (own, blocking): (Vec<&Problem>, Vec<&Problem>) = problems
                .iter()
                .partition(|p| changes.contains_key(&p.key) || !current.contains_key(&p.key));
            let mut lines: Vec<String> = own.iter().map(ToString::to_string).collect();
            if !blocking.is_empty() {
                lines.push(
                    "Blocking rows (not set by this install; fix them with fedbridge config \
                     set, or answer them):"
                        .into(),
                );
                lines.extend(blocking.iter().map(ToString::to_string));
            }
            Err(Invalid(lines))
        }
    }
}

/// The change that makes the row `row` say `answer` (`""`: not set), or `None` when it already
/// does: the same value, the default without a row, or "not set" without a usable value.
fn row_change(def: &SettingDef, row: Option<&Option<String>>, answer: &str) -> Option<RowChange> {
    if answer.is_empty() {
        return match row {
            None => None,
            Some(None) if def.null == Empty::Unset => None,
            Some(Some(v)) if v.trim().is_empty() && def.blank == Empty::Unset => None,
            Some(_) => Some(RowChange::Delete),
        };
    }
    match row {
        Some(Some(v)) if v.trim() == answer => None,
        None if def.default.as_deref() == Some(answer) => None,
        _ => Some(RowChange::Set(Some(answer.to_owned()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedbridge::config::schema::schema;

    fn q() -> &'static Questions {
        questions::questions().unwrap()
    }

    fn answers(base: &str, pairs: &[(&str, &str)]) -> Answers {
        Answers {
            database: None,
            base_url: Some(base.into()),
            settings: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            confirm_unreachable_metadata: false,
        }
    }

    const MD: &str = "https://idp.example.com/metadata.xml";

    #[test]
    fn a_first_install_writes_the_answers_and_proposes_the_consumer_url() {
        let schema = schema().unwrap();
        let a = answers(
            "https://sso.example.com/",
            &[(SAML_METADATA_URL, MD), ("SAML_AUTOMATIC_LOGIN", "0")],
        );
        let plan = plan(schema, q(), &ConfigRows::new(), &a, None).unwrap();
        assert_eq!(
            plan.changes.get(SAML_CONSUMER_URL),
            Some(&RowChange::Set(Some(
                "https://sso.example.com/EnticeServices/rest/authenticate/saml".into()
            )))
        );
        assert_eq!(
            plan.changes.get(SAML_METADATA_URL),
            Some(&RowChange::Set(Some(MD.into())))
        );
        // The default answered: no row.
        assert!(!plan.changes.contains_key("SAML_AUTOMATIC_LOGIN"));
        assert_eq!(
            plan.config.sp_entity_id,
            "https://sso.example.com/EnticeServices/rest/authenticate/saml"
        );
    }

    #[test]
    fn a_rerun_changes_only_what_changed_and_keeps_other_rows() {
        let schema = schema().unwrap();
        let mut current = ConfigRows::new();
        current.insert(
            SAML_CONSUMER_URL.into(),
            Some("https://sso.example.com/EnticeServices/rest/authenticate/saml".into()),
        );
        current.insert(SAML_METADATA_URL.into(), Some(MD.into()));
        current.insert("SOMETHING_ELSE".into(), Some("x".into()));
        current.insert("FEDBRIDGE_CLOCK_SKEW".into(), Some("90s".into()));
        let a = answers(
            "https://sso.example.com",
            &[(SAML_METADATA_URL, MD), ("SAML_AUTOMATIC_LOGIN", "1")],
        );
        let plan = plan(schema, q(), &current, &a, None).unwrap();
        assert_eq!(
            plan.changes,
            BTreeMap::from([(
                "SAML_AUTOMATIC_LOGIN".to_owned(),
                RowChange::Set(Some("1".into()))
            )])
        );
        assert_eq!(plan.after.get("SOMETHING_ELSE"), Some(&Some("x".into())));
    }

    #[test]
    fn a_wrong_answer_is_refused_with_the_loaders_message() {
        let schema = schema().unwrap();
        let def = schema.setting(SAML_METADATA_URL).unwrap();
        let message =
            check_answer(def, "ftp://idp.example.com/md", &ConfigRows::new()).unwrap_err();
        let rows = ConfigRows::from([
            (
                SAML_METADATA_URL.to_owned(),
                Some("ftp://idp.example.com/md".to_owned()),
            ),
            (
                SAML_CONSUMER_URL.to_owned(),
                Some("https://sso.example.com/acs".to_owned()),
            ),
        ]);
        let problems = config::load(&rows).unwrap_err();
        assert!(
            problems.iter().any(|p| p.to_string() == message),
            "{message}"
        );
        let a = answers("https://sso.example.com", &[(SAML_METADATA_URL, "ftp://x")]);
        assert!(plan(schema, q(), &ConfigRows::new(), &a, None).is_err());
    }

    #[test]
    fn an_invalid_row_the_install_does_not_touch_blocks_it_and_is_named() {
        let current =
            ConfigRows::from([("FEDBRIDGE_CLOCK_SKEW".to_owned(), Some("90 s".to_owned()))]);
        let a = answers("https://sso.example.com", &[(SAML_METADATA_URL, MD)]);
        let Err(Invalid(lines)) = plan(schema().unwrap(), q(), &current, &a, None) else {
            panic!("an install over an invalid row was planned");
        };
        let at = lines
            .iter()
            .position(|l| l.starts_with("Blocking rows"))
            .unwrap_or_else(|| panic!("{lines:?}"));
        assert!(
            lines[at + 1].starts_with("FEDBRIDGE_CLOCK_SKEW: '90 s' is not a duration"),
            "{lines:?}"
        );
    }

    #[test]
    fn an_incomplete_configuration_is_refused_like_config_check() {
        let schema = schema().unwrap();
        let a = answers("https://sso.example.com", &[(SAML_METADATA_URL, "")]);
        let Invalid(lines) = plan(schema, q(), &ConfigRows::new(), &a, None).unwrap_err();
        let expected: Vec<String> = config::load(&ConfigRows::from([(
            SAML_CONSUMER_URL.to_owned(),
            Some("https://sso.example.com/EnticeServices/rest/authenticate/saml".to_owned()),
        )]))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn answers_files_accept_only_installer_answers() {
        let schema = schema().unwrap();
        let a = Answers::from_toml(
            schema,
            "base_url = \"https://sso.example.com\"\nSAML_AUTOMATIC_LOGIN = 1\n\
             FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS = [\"https://apps.example.com/\"]\n",
        )
        .unwrap();
        assert_eq!(a.settings["SAML_AUTOMATIC_LOGIN"], "1");
        assert_eq!(
            a.settings["FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS"],
            "[\"https://apps.example.com/\"]"
        );
        let e = Answers::from_toml(schema, "FEDBRIDGE_CLOCK_SKEW = \"90s\"").unwrap_err();
        assert!(
            e.contains("fedbridge config set FEDBRIDGE_CLOCK_SKEW"),
            "{e}"
        );
        assert!(Answers::from_toml(schema, "NOPE = \"x\"").is_err());
    }

    #[test]
    fn the_example_answers_file_is_valid() {
        let schema = schema().unwrap();
        let a = Answers::from_toml(schema, include_str!("../answers.example.toml")).unwrap();
        assert_eq!(a.base_url.as_deref(), Some("https://sso.example.com"));
        assert_eq!(
            a.settings["SAML_USER_GROUPS_ATTRIBUTE"],
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
        );
        let a = Answers::from_toml(schema, "confirm_unreachable_metadata = true").unwrap();
        assert!(a.confirm_unreachable_metadata);
        assert!(Answers::from_toml(schema, "confirm_unreachable_metadata = \"yes\"").is_err());
    }

    #[test]
    fn the_base_url_is_recovered_from_the_consumer_url() {
        let base = base_of(
            q(),
            "https://sso.example.com/fb/EnticeServices/rest/authenticate/saml",
        );
        assert_eq!(base.as_deref(), Some("https://sso.example.com/fb"));
        let other = base_of(q(), "https://sso.example.com/acs");
        assert_eq!(other.as_deref(), Some("https://sso.example.com"));
    }
}
