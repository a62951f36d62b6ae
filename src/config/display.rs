//! How setting values are shown to a person (`config list`, the installer's summary): secrets
//! masked, multi-line values (PEM) indented, empty values quoted.

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
