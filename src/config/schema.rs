//! `config-schema/settings.toml`, compiled in and read as data: every `CONFIGURATIONENTITY` key
//! with its type, requirement, default, secrecy, installer prompt and description.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

/// The schema file, as shipped.
pub const SOURCE: &str = include_str!("../../config-schema/settings.toml");

/// Placeholder in a default that stands for `SAML_CONSUMER_URL` as configured.
pub const CONSUMER_URL: &str = "{consumer_url}";

static SCHEMA: LazyLock<Result<Schema, SchemaError>> =
    LazyLock::new(|| toml::from_str::<Schema>(SOURCE).map_err(|e| SchemaError(e.to_string())));

/// The parsed schema. A unit test guarantees that the shipped file parses, so the error case is a
/// build defect, reported rather than panicking.
pub fn schema() -> Result<&'static Schema, SchemaError> {
    SCHEMA.as_ref().map_err(Clone::clone)
}

/// The compiled-in schema file does not parse (a build defect).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config-schema/settings.toml does not parse: {0}")]
pub struct SchemaError(String);

/// Every setting, in file order, and the cross-key rules they refer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The `[[setting]]` entries.
    #[serde(rename = "setting")]
    pub settings: Vec<SettingDef>,
    /// The `[rules.NAME]` tables, by rule name.
    pub rules: BTreeMap<String, RuleDef>,
}

impl Schema {
    /// The definition of `name`, if it is a known setting.
    pub fn setting(&self, name: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// The setting an unknown row name probably means: the same name in another letter case,
    /// or one within a few typing mistakes. For "did you mean …?" hints.
    pub fn similar(&self, name: &str) -> Option<&SettingDef> {
        const MAX_TYPO_DISTANCE: usize = 3;
        let upper = name.to_ascii_uppercase();
        self.settings
            .iter()
            .map(|s| (edit_distance(&upper, &s.name), s))
            .filter(|(d, _)| *d <= MAX_TYPO_DISTANCE)
            .min_by_key(|(d, _)| *d)
            .map(|(_, s)| s)
    }
    /// The settings the installer asks for, in the order it asks.
    pub fn installer_prompts(&self) -> Vec<&SettingDef> {
        let mut asked: Vec<_> = self.settings.iter().filter(|s| s.installer.ask).collect();
        asked.sort_by_key(|s| s.installer.order);
        asked
    }
}

/// One `[[setting]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingDef {
    /// The `NAME` of the row.
    pub name: String,
    /// How the text value is parsed.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// When the setting must be given.
    pub required: Required,
    /// Value used when the setting is not set; may contain [`CONSUMER_URL`].
    pub default: Option<String>,
    /// What "not set" means when there is no default (for the docs).
    pub unset: Option<String>,
    /// Never echoed in messages, masked in listings.
    pub secret: bool,
    /// What a row whose value is SQL NULL means.
    #[serde(default)]
    pub null: Empty,
    /// What a row whose value is empty or only whitespace means.
    #[serde(default)]
    pub blank: Empty,
    /// Lower bound: a number for `integer`, a length for `text`, a duration for `duration`.
    pub min: Option<Limit>,
    /// Upper bound, as for `min`.
    pub max: Option<Limit>,
    /// The allowed values of an `enum`.
    pub values: Option<Vec<String>>,
    /// The type of each element of a `json_string_array` (any string when absent).
    pub items: Option<Kind>,
    /// How the installer presents the setting.
    pub installer: Installer,
    /// What the setting does, for the docs and `config` listings.
    pub description: String,
    /// A correct value, shown in every message about this setting.
    pub example: String,
}

/// The value types a setting can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An absolute `http` or `https` URL.
    Url,
    /// An absolute URL path such as `/app/`.
    UrlPath,
    /// One or more X.509 certificates: PEM blocks or one bare base64 body.
    CertificateList,
    /// A PEM private key (RSA).
    PrivateKeyPem,
    /// `0` or `1`.
    Bool01,
    /// A JSON array of strings.
    JsonStringArray,
    /// The name of a SAML attribute.
    AttributeName,
    /// A SAML entityID (a URI of at most 1024 characters).
    EntityId,
    /// A duration such as `90s`, `15m`, `8h`, `1d` or `1h30m`.
    Duration,
    /// A whole number, within `min`/`max`.
    Integer,
    /// One of `values`.
    Enum,
    /// One line of text, at least `min` characters long.
    Text,
    /// `COUNT/DURATION` (a burst of COUNT refilled evenly over DURATION), or `off`.
    RateLimit,
    /// An IP address or a CIDR network (only as `items` of a `json_string_array`).
    IpNetwork,
}

impl Kind {
    /// The name used in the schema file.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::UrlPath => "url_path",
            Kind::CertificateList => "certificate_list",
            Kind::PrivateKeyPem => "private_key_pem",
            Kind::Bool01 => "bool01",
            Kind::JsonStringArray => "json_string_array",
            Kind::AttributeName => "attribute_name",
            Kind::EntityId => "entity_id",
            Kind::Duration => "duration",
            Kind::Integer => "integer",
            Kind::Enum => "enum",
            Kind::Text => "text",
            Kind::RateLimit => "rate_limit",
            Kind::IpNetwork => "ip_network",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a setting must be given: `"always"`, `"never"` or the name of a rule in `[rules]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Required {
    /// The configuration is incomplete without it.
    Always,
    /// Optional.
    Never,
    /// Required as the named cross-key rule says.
    Rule(String),
}

impl From<String> for Required {
    fn from(text: String) -> Self {
        match text.as_str() {
            "always" => Required::Always,
            "never" => Required::Never,
            _ => Required::Rule(text),
        }
    }
}

/// What a NULL or blank value means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Empty {
    /// The same as no row: the default applies.
    #[default]
    Unset,
    /// A problem: the row must hold a value or be deleted.
    Error,
}

/// A `min` or `max` bound: a number (integers, text lengths) or a duration string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Limit {
    /// A number.
    Number(i64),
    /// A duration such as `1m`.
    Duration(String),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Number(n) => write!(f, "{n}"),
            Limit::Duration(d) => f.write_str(d),
        }
    }
}

/// How the installer presents a setting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installer {
    /// Whether the wizard asks for it (the others keep their defaults, changed later with SQL).
    pub ask: bool,
    /// The field label (the QPR installer's name for the QPR keys).
    pub prompt: String,
    /// One line shown under the prompt.
    pub help: String,
    /// Position in the wizard and in listings (ascending).
    pub order: u32,
    /// Values the wizard offers as completions (the usual claim names of the common IdPs).
    #[serde(default)]
    pub suggestions: Vec<String>,
}

/// A `[rules.NAME]` table: a cross-key rule that `required` can name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Short phrase for the reference table's "required" column.
    pub summary: String,
    /// The rule in full.
    pub description: String,
}

/// Levenshtein distance between two names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::value;

    fn the_schema() -> &'static Schema {
        schema().unwrap()
    }

    #[test]
    fn schema_parses() {
        assert!(!the_schema().settings.is_empty());
    }

    #[test]
    fn names_and_installer_orders_are_unique() {
        let mut names = BTreeSet::new();
        let mut orders = BTreeSet::new();
        for s in &the_schema().settings {
            assert!(names.insert(&s.name), "duplicate setting {}", s.name);
            assert!(
                orders.insert(s.installer.order),
                "duplicate order at {}",
                s.name
            );
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{} is not UPPER_SNAKE_CASE",
                s.name
            );
            assert!(
                !s.description.trim().is_empty(),
                "{} has no description",
                s.name
            );
            assert!(
                !s.installer.prompt.trim().is_empty(),
                "{} has no prompt",
                s.name
            );
            assert!(
                !s.installer.help.trim().is_empty(),
                "{} has no help",
                s.name
            );
        }
    }

    #[test]
    fn every_default_parses_under_its_own_type() {
        let consumer = "https://fedbridge.example.com/EnticeServices/rest/authenticate/saml";
        for s in &the_schema().settings {
            if let Some(default) = &s.default {
                let text = default.replace(CONSUMER_URL, consumer);
                if let Err(e) = value::parse(s, &text) {
                    panic!("default of {} does not parse: {e}", s.name);
                }
            }
        }
    }

    #[test]
    fn every_example_parses_except_key_material_placeholders() {
        for s in &the_schema().settings {
            // Certificates and keys are too long for messages; their examples show the shape.
            if matches!(s.kind, Kind::CertificateList | Kind::PrivateKeyPem) {
                assert!(s.example.starts_with("-----BEGIN "), "{}", s.name);
                continue;
            }
            if let Err(e) = value::parse(s, &s.example) {
                panic!("example of {} does not parse: {e}", s.name);
            }
        }
    }

    #[test]
    fn attributes_fit_the_type() {
        for s in &the_schema().settings {
            let n = &s.name;
            assert_eq!(s.values.is_some(), s.kind == Kind::Enum, "{n}: values");
            if let Some(values) = &s.values {
                assert!(!values.is_empty(), "{n}: empty values");
                if let Some(default) = &s.default {
                    assert!(values.contains(default), "{n}: default not in values");
                }
            }
            if let Some(items) = s.items {
                assert_eq!(s.kind, Kind::JsonStringArray, "{n}: items");
                assert!(
                    matches!(items, Kind::Url | Kind::IpNetwork),
                    "{n}: items {items}"
                );
            }
            assert_ne!(
                s.kind,
                Kind::IpNetwork,
                "{n}: ip_network is an element type only"
            );
            for limit in [&s.min, &s.max].into_iter().flatten() {
                match (s.kind, limit) {
                    (Kind::Integer | Kind::Text, Limit::Number(_)) => {}
                    (Kind::Duration, Limit::Duration(d)) => {
                        value::parse_duration(d).unwrap();
                    }
                    _ => panic!("{n}: limit {limit:?} does not fit type {}", s.kind),
                }
            }
            if s.default.is_some() {
                assert!(s.unset.is_none(), "{n}: both default and unset");
                assert_ne!(s.required, Required::Always, "{n}: required with a default");
            } else if s.required != Required::Always {
                assert!(s.unset.is_some(), "{n}: say what 'not set' means");
            }
            if s.installer.ask {
                assert!(!s.secret, "{n}: the installer does not ask for secrets");
            }
        }
    }

    #[test]
    fn required_names_known_rules_and_every_rule_is_used() {
        let schema = the_schema();
        let used: BTreeSet<&str> = schema
            .settings
            .iter()
            .filter_map(|s| match &s.required {
                Required::Rule(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        let declared: BTreeSet<&str> = schema.rules.keys().map(String::as_str).collect();
        assert_eq!(used, declared);
        let implemented: BTreeSet<&str> = crate::config::rules::RULES.iter().copied().collect();
        assert_eq!(declared, implemented);
    }

    #[test]
    fn the_installer_asks_for_the_common_settings_in_order() {
        let asked: Vec<&str> = the_schema()
            .installer_prompts()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            asked,
            [
                "SAML_CONSUMER_URL",
                "SAML_METADATA_URL",
                "SAML_SERVER_ENTITY_IDENTIFIER",
                "SAML_REDIRECT_URL",
                "SAML_SIGNING_CERTIFICATE",
                "SAML_USER_ID_ATTRIBUTE",
                "SAML_AUTOMATIC_LOGIN",
                "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
                "SAML_USER_FULLNAME_ATTRIBUTE",
                "SAML_USER_EMAIL_ATTRIBUTE",
                "SAML_USER_GROUPS_ATTRIBUTE",
            ]
        );
    }

    #[test]
    fn defaults_agree_with_the_saml_core() {
        let schema = the_schema();
        let skew = schema.setting("FEDBRIDGE_CLOCK_SKEW").unwrap();
        assert_eq!(
            value::parse_duration(skew.default.as_deref().unwrap()).unwrap(),
            crate::saml::DEFAULT_CLOCK_SKEW
        );
        let bytes = schema.setting("FEDBRIDGE_MAX_RESPONSE_BYTES").unwrap();
        assert_eq!(
            bytes.default.as_deref(),
            Some(crate::saml::DEFAULT_MAX_RESPONSE_BYTES.to_string().as_str())
        );
    }

    #[test]
    fn the_rust_key_list_matches_the_schema() {
        let in_schema: BTreeSet<&str> = the_schema()
            .settings
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let in_rust: BTreeSet<&str> = crate::config::keys::ALL.iter().copied().collect();
        assert_eq!(in_schema, in_rust);
    }
}
