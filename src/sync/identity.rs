//! The user an assertion describes: login name, external ID, the mapped fields and groups.
//!
//! # Attribute lookup ([`find_attribute`])
//! A configured attribute name `n` finds, in this order, the first attribute:
//! 1. whose `Name` is exactly `n`;
//! 2. whose `FriendlyName` is exactly `n`;
//! 3. when `n` is one of the well-known short claim names (ASCII case-insensitive:
//!    `emailaddress`, `name`, `upn`, `givenname`, `surname`, `groups`, `role`, `displayname`,
//!    `objectidentifier`), whose `Name` is that claim's Azure AD / ADFS URI;
//! 4. when `n` is one of those URIs, whose `Name` or `FriendlyName` is its short name.
//!
//! # Configured, absent, not configured
//! - An attribute that is not configured (`None` in [`AttributeMapping`]) leaves the stored
//!   value alone.
//! - Full name, e-mail and description configured but absent from the assertion (or with no
//!   value) are `None` too: the stored value is left alone (an IdP that omits a claim is not
//!   saying that it is empty). The first value is used when there are several.
//! - Groups configured but absent from the assertion are `Some(empty set)`: the IdP says the
//!   user is in no group, so managed memberships are removed. Groups not configured are `None`:
//!   memberships are never touched. Empty group values are dropped.

use std::collections::BTreeSet;

use crate::config::AttributeMapping;
use crate::saml::{SamlAttribute, VerifiedAssertion};

/// The NameID Format whose value is a stable, opaque identifier: used as external ID.
pub const PERSISTENT_NAME_ID: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// Short claim names and the Azure AD / ADFS claim URIs they stand for.
const WELL_KNOWN_CLAIMS: &[(&str, &str)] = &[
    (
        "emailaddress",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ),
    (
        "name",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    ),
    (
        "upn",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    ),
    (
        "givenname",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ),
    (
        "surname",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ),
    (
        "groups",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    ),
    (
        "role",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
    ),
    (
        "displayname",
        "http://schemas.microsoft.com/identity/claims/displayname",
    ),
    (
        "objectidentifier",
        "http://schemas.microsoft.com/identity/claims/objectidentifier",
    ),
];

/// What the assertion says about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The login name: the NameID, or the value of `SAML_USER_ID_ATTRIBUTE`.
    pub login_name: String,
    /// A stable IdP identifier matched before the login name: the NameID when its Format is
    /// [`PERSISTENT_NAME_ID`]; `None` otherwise.
    pub external_id: Option<String>,
    /// The full name; `None`: leave the stored one alone.
    pub full_name: Option<String>,
    /// The e-mail address; `None`: leave the stored one alone.
    pub email: Option<String>,
    /// The description; `None`: leave the stored one alone.
    pub description: Option<String>,
    /// The groups the IdP names; `None`: groups not mapped, memberships never touched;
    /// `Some(empty)`: mapped, and the user is in no group.
    pub groups: Option<BTreeSet<String>>,
}

/// Why no identity can be taken from an assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// `SAML_USER_ID_ATTRIBUTE` names an attribute that the assertion lacks or leaves empty.
    #[error("the assertion has no value for the login name attribute {attribute:?}")]
    MissingUserId {
        /// The configured attribute.
        attribute: String,
    },
    /// `SAML_USER_ID_ATTRIBUTE` names an attribute with several values.
    #[error("the login name attribute {attribute:?} has {count} values; exactly one is required")]
    AmbiguousUserId {
        /// The configured attribute.
        attribute: String,
        /// How many values it has.
        count: usize,
    },
    /// The login name is empty.
    #[error("the login name taken from the assertion is empty")]
    EmptyLoginName,
    /// The login name has an invisible or control character, or a space at either end: it is
    /// refused, never trimmed or rewritten (SPEC section 5).
    #[error("{0}")]
    InvalidLoginName(String),
}

impl Identity {
    /// The identity in `assertion`, per `mapping` and `user_id_attribute`
    /// (`SAML_USER_ID_ATTRIBUTE`; `None`: the NameID is the login name).
    pub fn from_assertion(
        assertion: &VerifiedAssertion,
        mapping: &AttributeMapping,
        user_id_attribute: Option<&str>,
    ) -> Result<Identity, IdentityError> {
        Identity::from_parts(
            assertion.name_id(),
            assertion.name_id_format(),
            assertion.attributes(),
            mapping,
            user_id_attribute,
        )
    }

    /// [`Identity::from_assertion`] from the assertion's parts.
    pub fn from_parts(
        name_id: &str,
        name_id_format: Option<&str>,
        attributes: &[SamlAttribute],
        mapping: &AttributeMapping,
        user_id_attribute: Option<&str>,
    ) -> Result<Identity, IdentityError> {
        let login_name = match user_id_attribute {
            None => name_id.to_owned(),
            Some(attribute) => {
                let values = find_attribute(attributes, attribute)
                    .map(|a| a.values.as_slice())
                    .unwrap_or_default();
                match values {
                    [] => {
                        return Err(IdentityError::MissingUserId {
                            attribute: attribute.to_owned(),
                        });
                    }
                    [one] => one.clone(),
                    many => {
                        return Err(IdentityError::AmbiguousUserId {
                            attribute: attribute.to_owned(),
                            count: many.len(),
                        });
                    }
                }
            }
        };
        if login_name.is_empty() {
            return Err(IdentityError::EmptyLoginName);
        }
        if let Some(problem) = crate::text::login_name_problem(&login_name) {
            return Err(IdentityError::InvalidLoginName(problem));
        }
        let external_id = (name_id_format == Some(PERSISTENT_NAME_ID) && !name_id.is_empty())
            .then(|| name_id.to_owned());
        let first = |configured: &Option<String>| {
            configured
                .as_deref()
                .and_then(|n| find_attribute(attributes, n))
                .and_then(|a| a.values.first().cloned())
        };
        let groups = mapping.groups.as_deref().map(|n| {
            find_attribute(attributes, n)
                .map(|a| a.values.iter().filter(|v| !v.is_empty()).cloned().collect())
                .unwrap_or_default()
        });
        Ok(Identity {
            login_name,
            external_id,
            full_name: first(&mapping.fullname),
            email: first(&mapping.email),
            description: first(&mapping.description),
            groups,
        })
    }
}

/// The attribute that the configured name `name` designates (see the module documentation).
pub fn find_attribute<'a>(
    attributes: &'a [SamlAttribute],
    name: &str,
) -> Option<&'a SamlAttribute> {
    if let Some(found) = attributes.iter().find(|a| a.name == name) {
        return Some(found);
    }
    if let Some(found) = attributes
        .iter()
        .find(|a| a.friendly_name.as_deref() == Some(name))
    {
        return Some(found);
    }
    if let Some((_, uri)) = WELL_KNOWN_CLAIMS
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
    {
        return attributes.iter().find(|a| a.name == *uri);
    }
    if let Some((short, _)) = WELL_KNOWN_CLAIMS.iter().find(|(_, uri)| *uri == name) {
        return attributes.iter().find(|a| {
            a.name.eq_ignore_ascii_case(short)
                || a.friendly_name
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case(short))
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, friendly: Option<&str>, values: &[&str]) -> SamlAttribute {
        SamlAttribute {
            name: name.into(),
            friendly_name: friendly.map(Into::into),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn mapping() -> AttributeMapping {
        AttributeMapping {
            fullname: Some("displayname".into()),
            email: Some("mail".into()),
            groups: Some("groups".into()),
            description: Some("title".into()),
        }
    }

    #[test]
    fn name_id_is_the_login_name_and_fields_are_mapped() {
        let attributes = [
            attr(
                "http://schemas.microsoft.com/identity/claims/displayname",
                None,
                &["Ada Lovelace"],
            ),
            attr(
                "urn:oid:0.9.2342.19200300.100.1.3",
                Some("mail"),
                &["ada@example.com", "x"],
            ),
            attr(
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                None,
                &["Admins", "", "Staff"],
            ),
        ];
        let identity = Identity::from_parts("ada", None, &attributes, &mapping(), None).unwrap();
        assert_eq!(identity.login_name, "ada");
        assert_eq!(identity.external_id, None);
        assert_eq!(identity.full_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            identity.description, None,
            "configured but absent: left alone"
        );
        let groups: BTreeSet<String> = ["Admins", "Staff"].map(String::from).into();
        assert_eq!(identity.groups, Some(groups));
    }

    #[test]
    fn absent_groups_mean_no_group_and_unmapped_groups_mean_untouched() {
        let identity = Identity::from_parts("ada", None, &[], &mapping(), None).unwrap();
        assert_eq!(identity.groups, Some(BTreeSet::new()));
        let identity =
            Identity::from_parts("ada", None, &[], &AttributeMapping::default(), None).unwrap();
        assert_eq!(identity.groups, None);
        assert_eq!(identity.full_name, None);
    }

    #[test]
    fn user_id_attribute_needs_exactly_one_value() {
        let one = [attr("uid", None, &["ada"])];
        let identity = Identity::from_parts("opaque", None, &one, &mapping(), Some("uid")).unwrap();
        assert_eq!(identity.login_name, "ada");
        let two = [attr("uid", None, &["ada", "bob"])];
        assert_eq!(
            Identity::from_parts("opaque", None, &two, &mapping(), Some("uid")),
            Err(IdentityError::AmbiguousUserId {
                attribute: "uid".into(),
                count: 2
            })
        );
        assert_eq!(
            Identity::from_parts("opaque", None, &[], &mapping(), Some("uid")),
            Err(IdentityError::MissingUserId {
                attribute: "uid".into()
            })
        );
        assert_eq!(
            Identity::from_parts("", None, &[], &mapping(), None),
            Err(IdentityError::EmptyLoginName)
        );
    }

    #[test]
    fn login_names_with_hidden_characters_are_refused_from_the_name_id_and_the_attribute() {
        for bad in [
            "alice@test\u{a0}",
            "bob\u{202e}txt",
            "a\u{200b}b",
            "x\u{9b}",
            " ada",
        ] {
            assert!(
                matches!(
                    Identity::from_parts(bad, None, &[], &mapping(), None),
                    Err(IdentityError::InvalidLoginName(_))
                ),
                "{bad:?}"
            );
            let uid = [attr("uid", None, &[bad])];
            assert!(
                matches!(
                    Identity::from_parts("opaque", None, &uid, &mapping(), Some("uid")),
                    Err(IdentityError::InvalidLoginName(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn persistent_name_id_is_the_external_id() {
        let upn = [attr(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            None,
            &["ada@example.com"],
        )];
        let identity = Identity::from_parts(
            "AAE-123",
            Some(PERSISTENT_NAME_ID),
            &upn,
            &mapping(),
            Some("upn"),
        )
        .unwrap();
        assert_eq!(identity.login_name, "ada@example.com");
        assert_eq!(identity.external_id.as_deref(), Some("AAE-123"));
    }

    #[test]
    fn lookup_order() {
        let attributes = [
            attr("mail", Some("email"), &["by-name"]),
            attr("x", Some("mail"), &["by-friendly"]),
            attr("groups", None, &["short"]),
        ];
        assert_eq!(
            find_attribute(&attributes, "mail").unwrap().values[0],
            "by-name"
        );
        assert_eq!(
            find_attribute(&attributes, "email").unwrap().values[0],
            "by-name"
        );
        // A full claim URI finds the attribute named by its short name.
        let uri = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
        assert_eq!(find_attribute(&attributes, uri).unwrap().values[0], "short");
        assert!(find_attribute(&attributes, "role").is_none());
        assert!(find_attribute(&attributes, "nothing").is_none());
    }
}
