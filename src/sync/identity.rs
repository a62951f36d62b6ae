//! The user an assertion describes: login name, NameID, the mapped fields and what it says
//! about groups.
//!
//! # Attribute lookup ([`find_attribute`])
//! A configured attribute name `n` finds, in this order, the first attribute:
//! 1. whose `Name` is exactly `n`;
//! 2. whose `FriendlyName` is exactly `n`;
//! 3. when `n` is one of the well-known short claim names (ASCII case-insensitive:
//!    `emailaddress`, `name`, `upn`, `givenname`, `surname`, `groups`, `role`, `displayname`,
//!    `objectidentifier`, and AD FS's `commonname` and `group`), whose `Name` is one of that
//!    claim's Azure AD / AD FS URIs (AD FS 1.x URIs included: `http://schemas.xmlsoap.org/
//!    claims/EmailAddress`, `.../UPN`);
//! 4. when `n` is one of those URIs, whose `Name` or `FriendlyName` is its short name.
//!
//! `group` (AD FS, `http://schemas.xmlsoap.org/claims/Group`, values `DOMAIN\Group`) and
//! `groups` (Azure AD, object IDs) are two claims.
//!
//! # Configured, absent, not configured
//! - An attribute that is not configured (`None` in [`AttributeMapping`]) leaves the stored
//!   value alone.
//! - Full name, e-mail and description configured but absent from the assertion (or with no
//!   value) are `None` too: the stored value is left alone (an IdP that omits a claim is not
//!   saying that it is empty). The first value is used when there are several.
//! - Groups ([`GroupClaim`]): not configured, memberships are never touched; configured and
//!   carried (even with no value: the IdP says "no group"), the named groups; configured but
//!   absent, or an overage claim in the assertion, the IdP has not said which groups the user is
//!   in, and the memberships are left exactly as they are (SPEC section 6). Empty group values
//!   are dropped.

use std::collections::BTreeSet;

use crate::config::AttributeMapping;
use crate::saml::{SamlAttribute, VerifiedAssertion};

/// Short claim names and the Azure AD / AD FS claim URIs they stand for.
const WELL_KNOWN_CLAIMS: &[(&str, &[&str])] = &[
    (
        "emailaddress",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            "http://schemas.xmlsoap.org/claims/EmailAddress",
        ],
    ),
    (
        "name",
        &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"],
    ),
    (
        "upn",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            "http://schemas.xmlsoap.org/claims/UPN",
        ],
    ),
    (
        "givenname",
        &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"],
    ),
    (
        "surname",
        &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"],
    ),
    (
        "groups",
        &["http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"],
    ),
    (
        "role",
        &["http://schemas.microsoft.com/ws/2008/06/identity/claims/role"],
    ),
    (
        "displayname",
        &["http://schemas.microsoft.com/identity/claims/displayname"],
    ),
    (
        "objectidentifier",
        &["http://schemas.microsoft.com/identity/claims/objectidentifier"],
    ),
    (
        "commonname",
        &["http://schemas.xmlsoap.org/claims/CommonName"],
    ),
    ("group", &["http://schemas.xmlsoap.org/claims/Group"]),
];

/// Attributes that mean "the groups did not fit in the token" (compared with `Name` and
/// `FriendlyName`, ASCII case-insensitively; the value is not read): Azure AD's SAML overage
/// claim, whose value is a Graph URL, and the JWT-style markers some proxies copy into SAML.
pub const OVERAGE_MARKERS: &[&str] = &[
    "http://schemas.microsoft.com/claims/groups.link",
    "_claim_names",
    "_claim_sources",
];

/// What the assertion says about the user's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupClaim {
    /// `SAML_USER_GROUPS_ATTRIBUTE` is not set: memberships are never touched.
    NotMapped,
    /// Mapped, but the assertion does not carry the attribute (a claim rule that emits another
    /// type, a claim dropped at the IdP): nothing is known about the groups.
    Absent,
    /// The assertion carries an overage marker (whether or not it also carries the groups
    /// attribute, which may then be cut short): the marker's name.
    Overage {
        /// The attribute Name (or FriendlyName) that signalled it.
        marker: String,
    },
    /// Mapped and carried: the group values the IdP names (possibly none).
    Present(BTreeSet<String>),
}

/// What the assertion says about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The login name: the NameID, or the value of `SAML_USER_ID_ATTRIBUTE`, as sent.
    pub login_name: String,
    /// The Subject's NameID, whatever its Format (`None` when the Subject has none); matched
    /// with the administrator's external IDs.
    pub name_id: Option<String>,
    /// The full name; `None`: leave the stored one alone.
    pub full_name: Option<String>,
    /// The e-mail address; `None`: leave the stored one alone.
    pub email: Option<String>,
    /// The description; `None`: leave the stored one alone.
    pub description: Option<String>,
    /// The groups.
    pub groups: GroupClaim,
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
    /// The login name is the NameID and the Subject has none (the validator allows that only
    /// with `SAML_USER_ID_ATTRIBUTE` set, so this is a configuration changed in between).
    #[error("the Subject has no NameID and SAML_USER_ID_ATTRIBUTE is not set")]
    NoNameId,
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
            assertion.attributes(),
            mapping,
            user_id_attribute,
        )
    }

    /// [`Identity::from_assertion`] from the assertion's parts.
    pub fn from_parts(
        name_id: Option<&str>,
        attributes: &[SamlAttribute],
        mapping: &AttributeMapping,
        user_id_attribute: Option<&str>,
    ) -> Result<Identity, IdentityError> {
        let login_name = match user_id_attribute {
            None => name_id.ok_or(IdentityError::NoNameId)?.to_owned(),
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
        let first = |configured: &Option<String>| {
            configured
                .as_deref()
                .and_then(|n| find_attribute(attributes, n))
                .and_then(|a| a.values.first().cloned())
        };
        Ok(Identity {
            login_name,
            name_id: name_id.filter(|n| !n.is_empty()).map(str::to_owned),
            full_name: first(&mapping.fullname),
            email: first(&mapping.email),
            description: first(&mapping.description),
            groups: group_claim(attributes, mapping.groups.as_deref()),
        })
    }

    /// The values an administrator's external ID is compared with (exactly: external IDs are
    /// opaque): the NameID, whatever its Format, then the login name; each once.
    pub fn external_id_candidates(&self) -> Vec<&str> {
        let mut candidates: Vec<&str> = self.name_id.iter().map(String::as_str).collect();
        if !candidates.contains(&self.login_name.as_str()) {
            candidates.push(&self.login_name);
        }
        candidates
    }
}

/// What `attributes` say about the groups attribute `configured`.
fn group_claim(attributes: &[SamlAttribute], configured: Option<&str>) -> GroupClaim {
    let Some(configured) = configured else {
        return GroupClaim::NotMapped;
    };
    let overage = attributes.iter().find_map(|a| {
        std::iter::once(a.name.as_str())
            .chain(a.friendly_name.as_deref())
            .find(|name| OVERAGE_MARKERS.iter().any(|m| m.eq_ignore_ascii_case(name)))
    });
    if let Some(marker) = overage {
        return GroupClaim::Overage {
            marker: marker.to_owned(),
        };
    }
    match find_attribute(attributes, configured) {
        None => GroupClaim::Absent,
        Some(found) => GroupClaim::Present(
            found
                .values
                .iter()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect(),
        ),
    }
}

/// One attribute of an assertion as the login audit records it: its name, which setting maps
/// it, and its values only when mapped (the others may be personal data fedbridge does not use).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArrivedAttribute {
    /// `Name`.
    pub name: String,
    /// `FriendlyName`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// The setting that maps it (`SAML_USER_EMAIL_ATTRIBUTE`, ...), if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped_by: Option<&'static str>,
    /// How many values it has.
    pub value_count: usize,
    /// Its values, for a mapped attribute only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// Every attribute of `attributes` as [`ArrivedAttribute`], per the configured mapping.
pub fn arrived(
    attributes: &[SamlAttribute],
    mapping: &AttributeMapping,
    user_id_attribute: Option<&str>,
) -> Vec<ArrivedAttribute> {
    let configured = [
        ("SAML_USER_ID_ATTRIBUTE", user_id_attribute),
        ("SAML_USER_FULLNAME_ATTRIBUTE", mapping.fullname.as_deref()),
        ("SAML_USER_EMAIL_ATTRIBUTE", mapping.email.as_deref()),
        ("SAML_USER_GROUPS_ATTRIBUTE", mapping.groups.as_deref()),
        (
            "SAML_USER_DESCRIPTION_ATTRIBUTE",
            mapping.description.as_deref(),
        ),
    ];
    attributes
        .iter()
        .map(|attribute| {
            let mapped_by = configured.iter().find_map(|(setting, name)| {
                let found = find_attribute(attributes, (*name)?)?;
                std::ptr::eq(found, attribute).then_some(*setting)
            });
            ArrivedAttribute {
                name: attribute.name.clone(),
                friendly_name: attribute.friendly_name.clone(),
                mapped_by,
                value_count: attribute.values.len(),
                values: mapped_by.map(|_| attribute.values.clone()),
            }
        })
        .collect()
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
    if let Some((_, uris)) = WELL_KNOWN_CLAIMS
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
    {
        return attributes.iter().find(|a| uris.contains(&a.name.as_str()));
    }
    if let Some((short, _)) = WELL_KNOWN_CLAIMS
        .iter()
        .find(|(_, uris)| uris.contains(&name))
    {
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

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
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
        let identity = Identity::from_parts(Some("ada"), &attributes, &mapping(), None).unwrap();
        assert_eq!(identity.login_name, "ada");
        assert_eq!(identity.name_id.as_deref(), Some("ada"));
        assert_eq!(identity.full_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            identity.description, None,
            "configured but absent: left alone"
        );
        assert_eq!(
            identity.groups,
            GroupClaim::Present(set(&["Admins", "Staff"]))
        );
    }

    #[test]
    fn absent_groups_are_not_no_group_and_unmapped_groups_are_untouched() {
        let identity = Identity::from_parts(Some("ada"), &[], &mapping(), None).unwrap();
        assert_eq!(identity.groups, GroupClaim::Absent);
        // An attribute without values (or only empty ones) says "no group".
        let empty = [attr("groups", None, &[""])];
        let identity = Identity::from_parts(Some("ada"), &empty, &mapping(), None).unwrap();
        assert_eq!(identity.groups, GroupClaim::Present(BTreeSet::new()));
        let identity =
            Identity::from_parts(Some("ada"), &[], &AttributeMapping::default(), None).unwrap();
        assert_eq!(identity.groups, GroupClaim::NotMapped);
        assert_eq!(identity.full_name, None);
    }

    #[test]
    fn an_overage_marker_wins_over_the_groups_it_may_cut_short() {
        let link = "http://schemas.microsoft.com/claims/groups.link";
        for attributes in [
            vec![attr(
                link,
                None,
                &["https://graph.windows.net/t/users/o/getMemberObjects"],
            )],
            vec![
                attr("groups", None, &["Staff"]),
                attr("_CLAIM_NAMES", None, &["{\"groups\":\"src1\"}"]),
            ],
            vec![attr("urn:x", Some("_claim_sources"), &[])],
        ] {
            let identity =
                Identity::from_parts(Some("ada"), &attributes, &mapping(), None).unwrap();
            assert!(
                matches!(identity.groups, GroupClaim::Overage { .. }),
                "{attributes:?}: {:?}",
                identity.groups
            );
        }
        // Not mapped: nothing to say about groups, marker or not.
        let attributes = [attr(link, None, &["x"])];
        let identity =
            Identity::from_parts(Some("ada"), &attributes, &AttributeMapping::default(), None)
                .unwrap();
        assert_eq!(identity.groups, GroupClaim::NotMapped);
    }

    #[test]
    fn user_id_attribute_needs_exactly_one_value() {
        let one = [attr("uid", None, &["ada"])];
        let identity = Identity::from_parts(Some("opaque"), &one, &mapping(), Some("uid")).unwrap();
        assert_eq!(identity.login_name, "ada");
        // Without a NameID (AD FS without a NameID rule) the attribute is enough.
        let identity = Identity::from_parts(None, &one, &mapping(), Some("uid")).unwrap();
        assert_eq!(
            (identity.login_name.as_str(), identity.name_id),
            ("ada", None)
        );
        let two = [attr("uid", None, &["ada", "bob"])];
        assert_eq!(
            Identity::from_parts(Some("opaque"), &two, &mapping(), Some("uid")),
            Err(IdentityError::AmbiguousUserId {
                attribute: "uid".into(),
                count: 2
            })
        );
        assert_eq!(
            Identity::from_parts(Some("opaque"), &[], &mapping(), Some("uid")),
            Err(IdentityError::MissingUserId {
                attribute: "uid".into()
            })
        );
        assert_eq!(
            Identity::from_parts(Some(""), &[], &mapping(), None),
            Err(IdentityError::EmptyLoginName)
        );
        assert_eq!(
            Identity::from_parts(None, &[], &mapping(), None),
            Err(IdentityError::NoNameId)
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
                    Identity::from_parts(Some(bad), &[], &mapping(), None),
                    Err(IdentityError::InvalidLoginName(_))
                ),
                "{bad:?}"
            );
            let uid = [attr("uid", None, &[bad])];
            assert!(
                matches!(
                    Identity::from_parts(Some("opaque"), &uid, &mapping(), Some("uid")),
                    Err(IdentityError::InvalidLoginName(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn external_id_candidates_are_the_name_id_of_any_format_and_the_login_name() {
        let upn = [attr(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            None,
            &["ada@example.com"],
        )];
        let identity =
            Identity::from_parts(Some("AAE-123"), &upn, &mapping(), Some("upn")).unwrap();
        assert_eq!(identity.login_name, "ada@example.com");
        assert_eq!(
            identity.external_id_candidates(),
            ["AAE-123", "ada@example.com"]
        );
        let same = Identity::from_parts(Some("ada"), &[], &mapping(), None).unwrap();
        assert_eq!(same.external_id_candidates(), ["ada"]);
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

    #[test]
    fn the_ad_fs_claims_of_seed_004_are_found_by_their_short_names() {
        // The claim rule of seed 004 issues upn, CommonName, emailaddress and Group.
        let attributes = [
            attr(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                None,
                &["jdoe@corp.test"],
            ),
            attr(
                "http://schemas.xmlsoap.org/claims/CommonName",
                None,
                &["Jane Doe"],
            ),
            attr(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                None,
                &["jane@corp.test"],
            ),
            attr(
                "http://schemas.xmlsoap.org/claims/Group",
                None,
                &["CORP\\Engineering"],
            ),
        ];
        for (short, value) in [
            ("upn", "jdoe@corp.test"),
            ("CommonName", "Jane Doe"),
            ("emailaddress", "jane@corp.test"),
            ("Group", "CORP\\Engineering"),
        ] {
            assert_eq!(
                find_attribute(&attributes, short).map(|a| a.values[0].as_str()),
                Some(value),
                "{short}"
            );
        }
        // Group (AD FS) is not groups (Azure AD).
        assert!(find_attribute(&attributes, "groups").is_none());
        // AD FS 1.x URIs and the reverse direction.
        let old = [attr(
            "http://schemas.xmlsoap.org/claims/EmailAddress",
            None,
            &["a@b"],
        )];
        assert!(find_attribute(&old, "emailaddress").is_some());
        let short = [
            attr("group", None, &["x"]),
            attr("CommonName", None, &["y"]),
        ];
        assert!(find_attribute(&short, "http://schemas.xmlsoap.org/claims/Group").is_some());
        assert!(find_attribute(&short, "http://schemas.xmlsoap.org/claims/CommonName").is_some());
    }
}
