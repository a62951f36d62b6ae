//! `config-schema/installer.toml`, compiled in: the wizard's questions that are not settings
//! (the database, the public base URL, the choice of the IdP in an aggregate, the
//! confirmations) and the consumer path it proposes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The file, as shipped.
pub const SOURCE: &str = include_str!("../../config-schema/installer.toml");

static QUESTIONS: LazyLock<Result<Questions, String>> = LazyLock::new(|| {
    toml::from_str::<Questions>(SOURCE)
        .map_err(|e| format!("config-schema/installer.toml does not parse: {e}"))
});

/// The parsed file (a unit test guarantees that the shipped one parses).
pub fn questions() -> Result<&'static Questions, String> {
    QUESTIONS.as_ref().map_err(Clone::clone)
}

/// The wizard's own questions and proposals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questions {
    /// `[question.ID]`: every question that is not a setting, by id.
    pub question: BTreeMap<String, Question>,
    /// `[proposal]`: how answers are proposed from other answers.
    pub proposal: Proposal,
}

/// One question: its label and one line of help.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The label.
    pub prompt: String,
    /// One line shown under it.
    pub help: String,
}

/// How answers are proposed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The path below the public base URL of the proposed `SAML_CONSUMER_URL`.
    pub consumer_path: String,
}

/// The id of the database question.
pub const DATABASE: &str = "database";
/// The id of the public base URL question.
pub const BASE_URL: &str = "base_url";
/// The id of the confirmation of a fetched IdP metadata summary.
pub const CONFIRM_IDP: &str = "confirm_idp";
/// The id of the choice of the IdP in an aggregate metadata document.
pub const CHOOSE_IDP: &str = "choose_idp";
/// The id of the confirmation to save a metadata URL that cannot be fetched now (also the key
/// of an answers file that says yes).
pub const CONFIRM_UNREACHABLE_METADATA: &str = "confirm_unreachable_metadata";
/// The id of the final confirmation before writing.
pub const CONFIRM_WRITE: &str = "confirm_write";

/// Every question id the code uses.
pub const IDS: [&str; 6] = [
    DATABASE,
    BASE_URL,
    CONFIRM_IDP,
    CHOOSE_IDP,
    CONFIRM_UNREACHABLE_METADATA,
    CONFIRM_WRITE,
];

impl Questions {
    /// The question `id` (one of [`IDS`]).
    pub fn get(&self, id: &str) -> Result<&Question, String> {
        self.question
            .get(id)
            .ok_or_else(|| format!("config-schema/installer.toml has no question {id:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_and_holds_exactly_the_questions_the_code_uses() {
        let q = questions().unwrap();
        let ids: Vec<&str> = q.question.keys().map(String::as_str).collect();
        let mut expected = IDS.to_vec();
        expected.sort_unstable();
        assert_eq!(ids, expected);
        assert!(q.proposal.consumer_path.starts_with('/'));
    }
}
