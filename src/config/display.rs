//! How setting values are shown to a person (`config list`, the installer's summary, the admin
//! console): secrets masked, multi-line values (PEM) indented, empty values quoted, defaults
//! and "not set" meanings said the same way everywhere.

use crate::config::keys::SAML_CONSUMER_URL;
use crate::config::schema::{CONSUMER_URL, Required, SettingDef};
use crate::config::value::AbsoluteUrl;
use std::collections::BTreeMap;

/// The rows of `CONFIGURATIONENTITY` (as `store::ConfigRows`): name -> value (`None`: NULL).
type ConfigRows = BTreeMap<String, Option<String>>;

/// What a listing shows instead of a secret value.
pub const MASK: &str = "********";

/// A value for a listing: continuation lines indented under the first; an empty value quoted.
pub fn shown(value: &str) -> String {
    if value.trim().is_empty() {
        return format!("'{value}'");
    }
    let mut text = String::new();
    for (i, line) in value.trim_end().lines().enumerate() {
        if i > 0 {
            text.push_str("\n    ");
        }
        text.push_str(line);
    }
    text
}

/// The default of `def` as it applies to `rows` (`{consumer_url}` filled in when it is known).
pub fn default_value(def: &SettingDef, rows: &ConfigRows) -> Option<String> {
    let default = def.default.as_ref()?;
    if !default.contains(CONSUMER_URL) {
        return Some(default.clone());
    }
    let consumer = rows
        .get(SAML_CONSUMER_URL)
        .and_then(|v| v.as_deref())
        .and_then(|v| AbsoluteUrl::parse(v).ok())
        .map(|url| url.as_str().to_owned());
    Some(match consumer {
        Some(consumer) => default.replace(CONSUMER_URL, &consumer),
        None => default.replace(CONSUMER_URL, "(SAML_CONSUMER_URL)"),
    })
}

/// What "not set" means for `def`.
pub fn not_set(def: &SettingDef, rows: &ConfigRows) -> String {
    match (&def.unset, default_value(def, rows)) {
        (Some(unset), _) => unset.clone(),
        (None, Some(default)) => format!("default {default}"),
        (None, None) if def.required == Required::Always => {
            "mandatory: the configuration is incomplete without it".into()
        }
        (None, None) => "not set".into(),
    }
}
