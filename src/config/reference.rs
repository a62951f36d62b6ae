//! The Markdown reference table of every setting, generated from the schema.

use crate::config::schema::{Kind, Limit, Required, Schema, SettingDef, schema};

/// The Markdown table of every setting (name, type, when required, default, description), in
/// schema order. The README embeds it; a test keeps the two in step.
pub fn reference_table() -> String {
    match schema() {
        Ok(schema) => table(schema),
        Err(e) => format!("**{e}**\n"),
    }
}

fn table(schema: &Schema) -> String {
    let mut out = String::from(
        "| Setting | Type | Required | Default | Description |\n|---|---|---|---|---|\n",
    );
    for def in &schema.settings {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            def.name,
            cell(&type_text(def)),
            cell(&required_text(schema, def)),
            cell(&default_text(def)),
            cell(&one_line(&def.description)),
        ));
    }
    out
}

fn type_text(def: &SettingDef) -> String {
    let mut text = match (def.kind, &def.min, &def.max) {
        (Kind::Enum, _, _) => format!(
            "one of {}",
            def.values
                .iter()
                .flatten()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Kind::JsonStringArray, _, _) => match def.items {
            Some(items) => format!("JSON array of strings, each: {}", kind_text(items)),
            None => "JSON array of strings".into(),
        },
        (Kind::Text, Some(Limit::Number(min)), _) => format!("text, at least {min} characters"),
        (kind, Some(min), Some(max)) => format!("{} ({min} to {max})", kind_text(kind)),
        (kind, _, _) => kind_text(kind).into(),
    };
    if def.secret {
        text.push_str(", secret");
    }
    text
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Url => "absolute http(s) URL",
        Kind::UrlPath => "absolute URL path",
        Kind::CertificateList => "PEM certificate(s)",
        Kind::PrivateKeyPem => "PEM private key",
        Kind::Bool01 => "`0` or `1`",
        Kind::JsonStringArray => "JSON array of strings",
        Kind::AttributeName => "attribute name",
        Kind::EntityId => "entityID",
        Kind::Duration => "duration",
        Kind::Integer => "integer",
        Kind::Enum => "enum",
        Kind::Text => "text",
        Kind::RateLimit => "`COUNT/DURATION` or `off`",
        Kind::IpNetwork => "IP address or CIDR network",
    }
}

fn required_text(schema: &Schema, def: &SettingDef) -> String {
    match &def.required {
        Required::Always => "**yes**".into(),
        Required::Never => "no".into(),
        Required::Rule(rule) => schema
            .rules
            .get(rule)
            .map_or_else(|| rule.clone(), |r| r.summary.clone()),
    }
}

fn default_text(def: &SettingDef) -> String {
    match (&def.default, &def.unset) {
        (Some(default), _) => format!("`{default}`"),
        (None, Some(unset)) => format!("*{unset}*"),
        (None, None) => "—".into(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes what would end a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_setting_with_its_default() {
        let table = reference_table();
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), crate::config::keys::ALL.len());
        assert!(table.starts_with("| Setting | Type | Required | Default | Description |\n"));
        assert!(table.contains(
            "| `SAML_CONSUMER_URL` | absolute http(s) URL | **yes** | — | Absolute URL of"
        ));
        assert!(table.contains(
            "| `FEDBRIDGE_CLOCK_SKEW` | duration (0s to 1h) | no | `180s` | Allowed difference"
        ));
        assert!(table.contains(
            "| `SAML_REDIRECT_URL` | absolute http(s) URL | when SAML_METADATA_URL is not set | *taken from the metadata* |"
        ));
        assert!(table.contains(
            "| `FEDBRIDGE_XSESSION_ALGORITHM` | one of `ES256`, `RS256`, `EdDSA` | no | `ES256` |"
        ));
        assert!(table.contains(
            "| `FEDBRIDGE_INTROSPECTION_SECRET` | text, at least 16 characters, secret |"
        ));
        assert!(table.contains("| `FEDBRIDGE_SP_ENTITY_ID` | entityID | no | `{consumer_url}` |"));
        for row in rows {
            assert_eq!(row.matches(" | ").count(), 4, "{row}");
        }
    }
}
