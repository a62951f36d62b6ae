//! Loader tests: every rule, NULL vs absent vs empty, defaults, and one bad value per key with
//! its full message.

use std::collections::BTreeMap;
use std::path::Path;

use time::Duration;

use super::*;

const CONSUMER: &str = "https://fedbridge.example.com/EnticeServices/rest/authenticate/saml";
const CONSUMER_EXAMPLE: &str =
    "e.g. https://fedbridge.example.com/EnticeServices/rest/authenticate/saml";
const METADATA: &str = "https://idp.example.com/federationmetadata.xml";

/// A key or certificate file of the repository (or of ../shared), read at test time.
pub(crate) fn read_key(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn idp_cert() -> String {
    read_key("tests/fixtures/xmlsec/keys/idp-rsa.crt")
}

fn sp_pair() -> (String, String) {
    (
        read_key("../shared/idp-samples/sp-test-keys/sp-test.key"),
        read_key("../shared/idp-samples/sp-test-keys/sp-test.crt"),
    )
}

fn rows(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

/// The smallest complete configuration (metadata scenario) plus `extra`.
fn metadata_rows(extra: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    let mut r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_METADATA_URL", Some(METADATA)),
    ]);
    r.extend(rows(extra));
    r
}

fn loaded(rows: &BTreeMap<String, Option<String>>) -> Loaded {
    match load(rows) {
        Ok(l) => l,
        Err(problems) => panic!("{problems:#?}"),
    }
}

fn problems(rows: &BTreeMap<String, Option<String>>) -> Vec<String> {
    match load(rows) {
        Ok(l) => panic!("loaded: {:?}", l.config),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn consumer_url_and_metadata_url_alone_are_a_complete_configuration() {
    let l = loaded(&metadata_rows(&[]));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = l.config;
    match &c.idp {
        IdpSource::Metadata { url, entity_id } => {
            assert_eq!(url.as_str(), METADATA);
            assert_eq!(entity_id, &None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.consumer_url.as_str(), CONSUMER);
    assert_eq!(c.acs_path(), "/EnticeServices/rest/authenticate/saml");
    assert_eq!(c.sp_entity_id, CONSUMER);
    assert_eq!(c.user_id_attribute, None);
    assert!(!c.automatic_login);
    assert_eq!(c.managed_groups, ManagedGroups::All);
    assert_eq!(c.attributes, AttributeMapping::default());
    assert!(c.sp_key_pair.is_none());
    assert_eq!(c.clock_skew, Duration::seconds(180));
    assert!(!c.allow_idp_initiated);
    assert_eq!(c.exit_url, None);
    assert_eq!(
        c.xsession,
        XsessionSettings {
            lifetime: Duration::hours(8),
            audience: "xsession".into(),
            algorithm: crate::token::Algorithm::Es256,
        }
    );
    assert!(c.allowed_downstream.is_empty());
    assert_eq!(c.metadata_refresh, Duration::hours(1));
    assert_eq!(c.max_response_bytes, 1_048_576);
    assert!(!c.insecure_allow_sha1);
    assert!(!c.create_missing_groups);
    assert!(c.introspection_secret.is_none());
    assert!(c.pinned_idp().is_none());
}

#[test]
fn consumer_url_and_public_key_settings_alone_are_a_complete_configuration() {
    let two = format!(
        "{}\n{}",
        idp_cert(),
        read_key("tests/fixtures/xmlsec/keys/idp-ec256.crt")
    );
    let l = loaded(&rows(&[
        ("SAML_CONSUMER_URL", Some("http://localhost:8080/acs")),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        ("SAML_SIGNING_CERTIFICATE", Some(&two)),
    ]));
    assert!(l.warnings.is_empty());
    let c = l.config;
    match &c.idp {
        IdpSource::PublicKey {
            sso_url,
            certificates,
            entity_id,
        } => {
            assert_eq!(sso_url.as_str(), "https://idp.example.com/sso");
            assert_eq!(certificates.len(), 2);
            assert_eq!(entity_id, &None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.sp_entity_id, "http://localhost:8080/acs");
    let pinned = c.pinned_idp().unwrap();
    assert_eq!(pinned.signing_keys.len(), 2);
    assert_eq!(pinned.entity_id, None);
}

#[test]
fn server_entity_identifier_applies_to_both_scenarios() {
    let id = "https://sts.windows.net/tenant/";
    let c = loaded(&metadata_rows(&[(
        "SAML_SERVER_ENTITY_IDENTIFIER",
        Some(id),
    )]))
    .config;
    assert_eq!(c.idp.entity_id(), Some(id));
    let cert = idp_cert();
    let c = loaded(&rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        ("SAML_SIGNING_CERTIFICATE", Some(&cert)),
        ("SAML_SERVER_ENTITY_IDENTIFIER", Some(id)),
    ]))
    .config;
    assert_eq!(c.idp.entity_id(), Some(id));
    assert_eq!(c.pinned_idp().unwrap().entity_id.as_deref(), Some(id));
}

#[test]
fn metadata_url_wins_and_the_public_key_settings_are_ignored_with_a_warning() {
    let cert = idp_cert();
    let l = loaded(&metadata_rows(&[
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        ("SAML_SIGNING_CERTIFICATE", Some(&cert)),
    ]));
    assert!(matches!(l.config.idp, IdpSource::Metadata { .. }));
    assert_eq!(
        warnings(&l),
        [
            "SAML_REDIRECT_URL: is ignored because SAML_METADATA_URL is set (the metadata gives the IdP's SSO URL and certificates)",
            "SAML_SIGNING_CERTIFICATE: is ignored because SAML_METADATA_URL is set (the metadata gives the IdP's SSO URL and certificates)",
        ]
    );
    // An ignored setting with a bad value is still only a warning; NULL or blank is not even that.
    let l = loaded(&metadata_rows(&[
        ("SAML_REDIRECT_URL", Some("idp.example.com")),
        ("SAML_SIGNING_CERTIFICATE", None),
    ]));
    assert_eq!(
        warnings(&l),
        [
            "SAML_REDIRECT_URL: is ignored because SAML_METADATA_URL is set (the metadata gives the IdP's SSO URL and certificates); its value is invalid anyway: 'idp.example.com' is not an absolute http(s) URL"
        ]
    );
}

#[test]
fn an_invalid_metadata_url_still_selects_the_metadata_scenario() {
    let cert = idp_cert();
    let r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_METADATA_URL", Some("file:///etc/passwd")),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        ("SAML_SIGNING_CERTIFICATE", Some(&cert)),
    ]);
    assert_eq!(
        problems(&r),
        [
            "SAML_METADATA_URL: 'file:///etc/passwd' is not an absolute http(s) URL; e.g. https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/federationmetadata/2007-06/federationmetadata.xml"
        ]
    );
}

#[test]
fn neither_scenario_is_one_problem_naming_the_keys() {
    for metadata in [None, Some(None), Some(Some("")), Some(Some("  "))] {
        let mut r = rows(&[("SAML_CONSUMER_URL", Some(CONSUMER))]);
        if let Some(value) = metadata {
            r.insert("SAML_METADATA_URL".into(), value.map(str::to_owned));
        }
        assert_eq!(
            problems(&r),
            [
                "SAML_METADATA_URL: no IdP is configured: set SAML_METADATA_URL (metadata scenario), or SAML_REDIRECT_URL and SAML_SIGNING_CERTIFICATE (public-key scenario); e.g. https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/federationmetadata/2007-06/federationmetadata.xml"
            ]
        );
    }
}

#[test]
fn the_public_key_scenario_needs_both_settings() {
    let r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
    ]);
    let p = problems(&r);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(
            "SAML_SIGNING_CERTIFICATE: is required in the public-key scenario (SAML_REDIRECT_URL is set and SAML_METADATA_URL is not); e.g. -----BEGIN CERTIFICATE-----"
        ),
        "{}",
        p[0]
    );
    let cert = idp_cert();
    let r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_SIGNING_CERTIFICATE", Some(&cert)),
        ("SAML_REDIRECT_URL", None),
    ]);
    assert_eq!(
        problems(&r),
        [
            "SAML_REDIRECT_URL: is required in the public-key scenario (SAML_SIGNING_CERTIFICATE is set and SAML_METADATA_URL is not); e.g. https://idp.example.com/saml2/sso"
        ]
    );
    // A present but invalid certificate counts as given: the problem is its value.
    let r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        (
            "SAML_SIGNING_CERTIFICATE",
            Some("-----BEGIN CERTIFICATE-----\nAAAA"),
        ),
    ]);
    let p = problems(&r);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(
            "SAML_SIGNING_CERTIFICATE: certificate 1 does not parse as X.509 (the PEM block has no END line); e.g. "
        ),
        "{}",
        p[0]
    );
}

#[test]
fn the_consumer_url_is_mandatory() {
    for value in [None, Some(None), Some(Some("")), Some(Some(" \n"))] {
        let mut r = rows(&[("SAML_METADATA_URL", Some(METADATA))]);
        if let Some(value) = value {
            r.insert("SAML_CONSUMER_URL".into(), value.map(str::to_owned));
        }
        // No second problem about the SP entityID, whose default needs the consumer URL.
        assert_eq!(
            problems(&r),
            [format!(
                "SAML_CONSUMER_URL: is mandatory but not set; {CONSUMER_EXAMPLE}"
            )]
        );
    }
    assert_eq!(
        problems(&metadata_rows(&[("SAML_CONSUMER_URL", Some("ftp://x"))])),
        [format!(
            "SAML_CONSUMER_URL: 'ftp://x' is not an absolute http(s) URL; {CONSUMER_EXAMPLE}"
        )]
    );
}

#[test]
fn every_problem_is_reported_at_once_in_schema_order() {
    let r = rows(&[
        ("FEDBRIDGE_CLOCK_SKEW", Some("3 minutes")),
        ("SAML_AUTOMATIC_LOGIN", Some("yes")),
        ("SAML_USER_EMAIL_ATTRIBUTE", Some("")),
        ("FEDERATEDLY_MANAGED_GROUPS", Some("group1")),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
    ]);
    let keys: Vec<String> = load(&r).unwrap_err().into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        [
            "SAML_SIGNING_CERTIFICATE",
            "SAML_CONSUMER_URL",
            "SAML_AUTOMATIC_LOGIN",
            "FEDERATEDLY_MANAGED_GROUPS",
            "SAML_USER_EMAIL_ATTRIBUTE",
            "FEDBRIDGE_CLOCK_SKEW",
        ]
    );
}

#[test]
fn managed_groups_null_absent_empty_list_and_list() {
    let all = loaded(&metadata_rows(&[])).config.managed_groups;
    assert_eq!(all, ManagedGroups::All);
    assert!(all.is_managed("anything"));
    let null = loaded(&metadata_rows(&[("FEDERATEDLY_MANAGED_GROUPS", None)]));
    assert_eq!(null.config.managed_groups, ManagedGroups::All);
    let none = loaded(&metadata_rows(&[(
        "FEDERATEDLY_MANAGED_GROUPS",
        Some("[]"),
    )]))
    .config
    .managed_groups;
    assert_eq!(none, ManagedGroups::List(vec![]));
    assert!(!none.is_managed("group1"));
    let some = loaded(&metadata_rows(&[(
        "FEDERATEDLY_MANAGED_GROUPS",
        Some(r#"["group1", "group 2", "group\"3"]"#),
    )]))
    .config
    .managed_groups;
    assert!(some.is_managed("group1"));
    assert!(some.is_managed("group 2"));
    assert!(some.is_managed("group\"3"));
    assert!(!some.is_managed("Group1"));
    assert!(!some.is_managed("group4"));
    let example = r#"e.g. ["group1", "group 2", "group\"3"]"#;
    assert_eq!(
        problems(&metadata_rows(&[("FEDERATEDLY_MANAGED_GROUPS", Some(""))])),
        [format!(
            "FEDERATEDLY_MANAGED_GROUPS: is an empty string; set it to NULL or delete the row (every group is managed), or give a value; {example}"
        )]
    );
    assert_eq!(
        problems(&metadata_rows(&[(
            "FEDERATEDLY_MANAGED_GROUPS",
            Some("[\"a\",]")
        )])),
        [format!(
            "FEDERATEDLY_MANAGED_GROUPS: '[\"a\",]' is not a JSON array of strings (trailing comma at line 1 column 6); {example}"
        )]
    );
}

#[test]
fn mapped_attributes_must_not_be_null_or_empty_when_present() {
    let cases = [
        (
            "SAML_USER_FULLNAME_ATTRIBUTE",
            "http://schemas.microsoft.com/identity/claims/displayname",
        ),
        (
            "SAML_USER_EMAIL_ATTRIBUTE",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        ),
        (
            "SAML_USER_GROUPS_ATTRIBUTE",
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        ),
        (
            "SAML_USER_DESCRIPTION_ATTRIBUTE",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department",
        ),
    ];
    for (key, example) in cases {
        assert_eq!(
            problems(&metadata_rows(&[(key, None)])),
            [format!(
                "{key}: is NULL; it must not be NULL or empty when present (delete the row instead); e.g. {example}"
            )]
        );
        for blank in ["", "   "] {
            assert_eq!(
                problems(&metadata_rows(&[(key, Some(blank))])),
                [format!(
                    "{key}: is empty; it must not be NULL or empty when present (delete the row instead); e.g. {example}"
                )]
            );
        }
        let c = loaded(&metadata_rows(&[(key, Some(" mail "))])).config;
        let mapped = match key {
            "SAML_USER_FULLNAME_ATTRIBUTE" => &c.attributes.fullname,
            "SAML_USER_EMAIL_ATTRIBUTE" => &c.attributes.email,
            "SAML_USER_GROUPS_ATTRIBUTE" => &c.attributes.groups,
            _ => &c.attributes.description,
        };
        assert_eq!(mapped.as_deref(), Some("mail"));
    }
    let c = loaded(&metadata_rows(&[])).config;
    assert_eq!(c.attributes, AttributeMapping::default());
}

#[test]
fn user_id_attribute_empty_null_or_absent_means_name_id() {
    for value in [None, Some(""), Some("  ")] {
        let c = loaded(&metadata_rows(&[("SAML_USER_ID_ATTRIBUTE", value)])).config;
        assert_eq!(c.user_id_attribute, None, "{value:?}");
    }
    let c = loaded(&metadata_rows(&[("SAML_USER_ID_ATTRIBUTE", Some("upn"))])).config;
    assert_eq!(c.user_id_attribute.as_deref(), Some("upn"));
}

#[test]
fn null_or_blank_fedbridge_settings_take_their_default() {
    for value in [None, Some(""), Some(" ")] {
        let c = loaded(&metadata_rows(&[
            ("FEDBRIDGE_CLOCK_SKEW", value),
            ("FEDBRIDGE_SP_ENTITY_ID", value),
            ("SAML_AUTOMATIC_LOGIN", value),
        ]))
        .config;
        assert_eq!(c.clock_skew, Duration::seconds(180));
        assert_eq!(c.sp_entity_id, CONSUMER);
        assert!(!c.automatic_login);
    }
}

#[test]
fn given_values_override_the_defaults() {
    let c = loaded(&metadata_rows(&[
        (
            "SAML_CONSUMER_URL",
            Some("https://sso.example.com:8443/x/acs"),
        ),
        ("FEDBRIDGE_SP_ENTITY_ID", Some("urn:example:fedbridge")),
        ("SAML_AUTOMATIC_LOGIN", Some("1")),
        ("FEDBRIDGE_CLOCK_SKEW", Some("90s")),
        ("FEDBRIDGE_ALLOW_IDP_INITIATED", Some("1")),
        ("FEDBRIDGE_EXIT_URL", Some("https://www.example.com/")),
        ("FEDBRIDGE_XSESSION_LIFETIME", Some("1h30m")),
        (
            "FEDBRIDGE_XSESSION_AUDIENCE",
            Some("https://apps.example.com"),
        ),
        ("FEDBRIDGE_XSESSION_ALGORITHM", Some("EdDSA")),
        ("FEDBRIDGE_METADATA_REFRESH", Some("6h")),
        ("FEDBRIDGE_MAX_RESPONSE_BYTES", Some("2097152")),
        ("FEDBRIDGE_CREATE_MISSING_GROUPS", Some("1")),
        (
            "FEDBRIDGE_INTROSPECTION_SECRET",
            Some("0123456789abcdef0123"),
        ),
    ]))
    .config;
    assert_eq!(c.acs_path(), "/x/acs");
    assert_eq!(c.sp_entity_id, "urn:example:fedbridge");
    assert!(c.automatic_login);
    assert_eq!(c.clock_skew, Duration::seconds(90));
    assert!(c.allow_idp_initiated);
    assert_eq!(c.exit_url.unwrap().as_str(), "https://www.example.com/");
    assert_eq!(c.xsession.lifetime, Duration::minutes(90));
    assert_eq!(c.xsession.audience, "https://apps.example.com");
    assert_eq!(c.xsession.algorithm, crate::token::Algorithm::EdDsa);
    assert_eq!(c.metadata_refresh, Duration::hours(6));
    assert_eq!(c.max_response_bytes, 2_097_152);
    assert!(c.create_missing_groups);
    assert_eq!(
        c.introspection_secret.unwrap().expose(),
        "0123456789abcdef0123"
    );
}

#[test]
fn the_default_sp_entity_id_is_the_consumer_url_as_configured() {
    // Seed 004: the AD FS relying party identifier and the Azure AD Sign-on URL are the
    // consumer URL.
    for consumer in [
        CONSUMER,
        "https://FedBridge.example.com:443/acs",
        "http://10.0.0.5:8080/a/b/c?q=1",
    ] {
        let c = loaded(&metadata_rows(&[("SAML_CONSUMER_URL", Some(consumer))])).config;
        assert_eq!(c.sp_entity_id, consumer);
        // The consumer URL itself is kept as written: it is compared as a string.
        assert_eq!(c.sp_settings().acs_url.value(), Some(consumer));
        assert_eq!(c.sp_settings().entity_id.value(), Some(consumer));
    }
}

/// One bad value per setting (key material aside, tested below), with the whole message.
#[test]
fn a_bad_value_for_each_setting_is_named_explained_and_illustrated() {
    let cases = [
        (
            "SAML_SERVER_ENTITY_IDENTIFIER",
            "my idp",
            "'my idp' contains whitespace; an entityID is a URI; e.g. https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
        ),
        (
            "SAML_CONSUMER_URL",
            "fedbridge.example.com/acs",
            "'fedbridge.example.com/acs' is not an absolute http(s) URL; e.g. https://fedbridge.example.com/EnticeServices/rest/authenticate/saml",
        ),
        (
            "SAML_USER_ID_ATTRIBUTE",
            "up\tn",
            "'up\tn' contains a control character; e.g. http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        ),
        (
            "SAML_AUTOMATIC_LOGIN",
            "true",
            "'true' is not 0 or 1; e.g. 1",
        ),
        (
            "FEDERATEDLY_MANAGED_GROUPS",
            "group1",
            "'group1' is not a JSON array of strings (expected value at line 1 column 1); e.g. [\"group1\", \"group 2\", \"group\\\"3\"]",
        ),
        (
            "SAML_USER_FULLNAME_ATTRIBUTE",
            "a\u{0}b",
            "'a\u{0}b' contains a control character; e.g. http://schemas.microsoft.com/identity/claims/displayname",
        ),
        (
            "FEDBRIDGE_SP_ENTITY_ID",
            "my sp",
            "'my sp' contains whitespace; an entityID is a URI; e.g. https://fedbridge.example.com/saml/metadata",
        ),
        (
            "FEDBRIDGE_CLOCK_SKEW",
            "5 min",
            "'5 min' is not a duration such as 90s, 15m, 8h, 1d or 1h30m; e.g. 90s",
        ),
        (
            "FEDBRIDGE_ALLOW_IDP_INITIATED",
            "on",
            "'on' is not 0 or 1; e.g. 1",
        ),
        (
            "FEDBRIDGE_EXIT_URL",
            "www.example.com",
            "'www.example.com' is not an absolute http(s) URL; e.g. https://www.example.com/",
        ),
        (
            "FEDBRIDGE_XSESSION_LIFETIME",
            "0s",
            "'0s' is shorter than the minimum of 1m; e.g. 12h",
        ),
        (
            "FEDBRIDGE_XSESSION_AUDIENCE",
            "a\u{1b}b",
            "'a\u{1b}b' contains a control character; e.g. https://apps.example.com",
        ),
        (
            "FEDBRIDGE_XSESSION_ALGORITHM",
            "HS256",
            "'HS256' is not one of ES256, RS256, EdDSA; e.g. RS256",
        ),
        (
            "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
            "[\"javascript:alert(1)\"]",
            "element 1: 'javascript:alert(1)' is not an absolute http(s) URL; e.g. [\"https://apps.example.com/\", \"https://portal.example.com/qpr\"]",
        ),
        (
            "FEDBRIDGE_METADATA_REFRESH",
            "10s",
            "'10s' is shorter than the minimum of 1m; e.g. 6h",
        ),
        (
            "FEDBRIDGE_MAX_RESPONSE_BYTES",
            "1 MiB",
            "'1 MiB' is not a whole number; e.g. 2097152",
        ),
        (
            "FEDBRIDGE_INSECURE_ALLOW_SHA1",
            "2",
            "'2' is not 0 or 1; e.g. 0",
        ),
        (
            "FEDBRIDGE_CREATE_MISSING_GROUPS",
            "no",
            "'no' is not 0 or 1; e.g. 1",
        ),
        (
            "FEDBRIDGE_INTROSPECTION_SECRET",
            "hunter2",
            "the value is shorter than 16 characters; e.g. 3f9c2e7a1b8d4c6e0a5f",
        ),
        (
            "FEDBRIDGE_MAX_GROUP_REMOVALS",
            "-1",
            "'-1' is below the minimum of 0; e.g. 20",
        ),
        (
            "FEDBRIDGE_LOGIN_NAME_MATCH",
            "CASE_INSENSITIVE",
            "'CASE_INSENSITIVE' is not one of case_insensitive, exact; e.g. exact",
        ),
        (
            "FEDBRIDGE_EXISTING_USERS_ONLY",
            "yes",
            "'yes' is not 0 or 1; e.g. 1",
        ),
        (
            "FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS",
            "true",
            "'true' is not 0 or 1; e.g. 1",
        ),
        (
            "FEDBRIDGE_AUTHN_REQUEST_BINDING",
            "artifact",
            "'artifact' is not one of auto, redirect, post; e.g. post",
        ),
        (
            "FEDBRIDGE_ADMIN_GROUPS",
            "admins",
            "'admins' is not a JSON array of strings (expected value at line 1 column 1); e.g. [\"fedbridge-admins\"]",
        ),
        (
            "FEDBRIDGE_METRICS_TOKEN",
            "short",
            "the value is shorter than 16 characters; e.g. 9c1e4b7a2f6d8e0b3a5c",
        ),
        (
            "FEDBRIDGE_CERT_EXPIRY_WARNING",
            "2h",
            "'2h' is shorter than the minimum of 1d; e.g. 45d",
        ),
        (
            "FEDBRIDGE_PRODUCT_NAME",
            "a\nb",
            "'a\nb' contains a control character; e.g. Example Corp",
        ),
        (
            "FEDBRIDGE_REQUEST_BODY_TIMEOUT",
            "1m",
            "'1m' is longer than the maximum of 30s; e.g. 10s",
        ),
        (
            "FEDBRIDGE_BODY_MEMORY_BUDGET",
            "1024",
            "'1024' is below the minimum of 4194304; e.g. 67108864",
        ),
        (
            "FEDBRIDGE_MAX_BODIES_PER_CLIENT",
            "0",
            "'0' is below the minimum of 1; e.g. 32",
        ),
        (
            "FEDBRIDGE_RATE_LIMIT_ACS",
            "20 per minute",
            "'20 per minute' is not COUNT/DURATION (such as 20/1m) or off; e.g. 60/1m",
        ),
        (
            "FEDBRIDGE_RATE_LIMIT_LOGIN",
            "0/1m",
            "'0/1m' has a COUNT that is not a whole number from 1 to 1000000; e.g. 120/1m",
        ),
        (
            "FEDBRIDGE_TRUSTED_PROXIES",
            "[\"10.0.0.0/40\"]",
            "element 1: /40 is not a prefix length from 0 to 32; e.g. [\"127.0.0.1\", \"10.0.0.0/8\"]",
        ),
        (
            "FEDBRIDGE_MAX_OUTSTANDING_REQUESTS",
            "10",
            "'10' is below the minimum of 100; e.g. 500000",
        ),
        (
            "FEDBRIDGE_AUDIT_RETENTION",
            "1h",
            "'1h' is shorter than the minimum of 1d; e.g. 365d",
        ),
        (
            "FEDBRIDGE_DATABASE_WAIT",
            "0s",
            "'0s' is shorter than the minimum of 1s; e.g. 5s",
        ),
        (
            "FEDBRIDGE_HEALTH_SECRET",
            "short",
            "the value is shorter than 16 characters; e.g. 9b1f0c6e4a2d8e7f5c3a",
        ),
        (
            "FEDBRIDGE_MAX_METADATA_BYTES",
            "1000",
            "'1000' is below the minimum of 65536; e.g. 67108864",
        ),
    ];
    let mut covered: Vec<&str> = vec![
        "SAML_METADATA_URL",
        "SAML_REDIRECT_URL",
        "SAML_SIGNING_CERTIFICATE",
        "FEDBRIDGE_SP_PRIVATE_KEY",
        "FEDBRIDGE_SP_CERTIFICATE",
        "SAML_USER_EMAIL_ATTRIBUTE",
        "SAML_USER_GROUPS_ATTRIBUTE",
        "SAML_USER_DESCRIPTION_ATTRIBUTE",
    ];
    for (key, value, message) in cases {
        assert_eq!(
            problems(&metadata_rows(&[(key, Some(value))])),
            [format!("{key}: {message}")],
        );
        covered.push(key);
    }
    covered.sort_unstable();
    let mut all = keys::ALL.to_vec();
    all.sort_unstable();
    assert_eq!(
        covered, all,
        "every key has a bad-value test here or in its own test"
    );
}

#[test]
fn the_body_budget_must_hold_one_body_of_the_largest_response() {
    // Defaults: 1 MiB responses, a 32 MiB budget: fine, and what the edge reads.
    let l = loaded(&metadata_rows(&[]));
    assert_eq!(l.config.acs_body_cap(), 2 * 1024 * 1024 + 16 * 1024);
    assert_eq!(l.config.edge.body_memory_budget, 32 * 1024 * 1024);
    // A 100 MiB response limit with the default budget: the limit is what changed.
    let big = metadata_rows(&[("FEDBRIDGE_MAX_RESPONSE_BYTES", Some("104857600"))]);
    let p = problems(&big);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("FEDBRIDGE_MAX_RESPONSE_BYTES: is 104857600 bytes")
            && p[0].contains("FEDBRIDGE_BODY_MEMORY_BUDGET of at least 419463168"),
        "{p:?}"
    );
    // A budget set too small for the limit: the budget is named.
    let small = metadata_rows(&[
        ("FEDBRIDGE_MAX_RESPONSE_BYTES", Some("4194304")),
        ("FEDBRIDGE_BODY_MEMORY_BUDGET", Some("8388608")),
    ]);
    let p = problems(&small);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("FEDBRIDGE_BODY_MEMORY_BUDGET: is 8388608 bytes"),
        "{p:?}"
    );
    // Raised together: valid.
    loaded(&metadata_rows(&[
        ("FEDBRIDGE_MAX_RESPONSE_BYTES", Some("104857600")),
        ("FEDBRIDGE_BODY_MEMORY_BUDGET", Some("419463168")),
    ]));
}

#[test]
fn plain_http_downstream_exit_and_metadata_urls_beside_https_are_warned_about() {
    let l = loaded(&metadata_rows(&[
        (
            "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
            Some(r#"["https://apps.example.com/", "http://legacy.example.com/app"]"#),
        ),
        ("FEDBRIDGE_EXIT_URL", Some("http://www.example.com/")),
    ]));
    let warnings: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS: 'http://legacy.example.com/app' is plain http"
        )),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("FEDBRIDGE_EXIT_URL: 'http://www.example.com/' is plain http")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("apps.example.com")),
        "{warnings:?}"
    );
}

#[test]
fn the_sp_key_pair_loads_and_reaches_the_validator() {
    let (key, cert) = sp_pair();
    let l = loaded(&metadata_rows(&[
        ("FEDBRIDGE_SP_PRIVATE_KEY", Some(&key)),
        ("FEDBRIDGE_SP_CERTIFICATE", Some(&cert)),
    ]));
    let pair = l.config.sp_key_pair.as_ref().unwrap();
    assert_eq!(pair.private_key_pem.expose(), key.trim());
    assert_eq!(pair.certificate_pem, cert.trim());
    assert_eq!(l.config.sp_settings().decryption_keys.len(), 1);
    let debug = format!("{:?}", l.config);
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn the_sp_key_pair_is_both_or_neither_and_must_match() {
    let (key, cert) = sp_pair();
    let other_cert = idp_cert();
    let p = problems(&metadata_rows(&[("FEDBRIDGE_SP_PRIVATE_KEY", Some(&key))]));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(
        "FEDBRIDGE_SP_CERTIFICATE: is required because FEDBRIDGE_SP_PRIVATE_KEY is set (the SP key pair needs both); e.g. -----BEGIN CERTIFICATE-----"
    ), "{}", p[0]);
    let p = problems(&metadata_rows(&[("FEDBRIDGE_SP_CERTIFICATE", Some(&cert))]));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(
        "FEDBRIDGE_SP_PRIVATE_KEY: is required because FEDBRIDGE_SP_CERTIFICATE is set (the SP key pair needs both); e.g. -----BEGIN PRIVATE KEY-----"
    ), "{}", p[0]);
    let p = problems(&metadata_rows(&[
        ("FEDBRIDGE_SP_PRIVATE_KEY", Some(&key)),
        ("FEDBRIDGE_SP_CERTIFICATE", Some(&other_cert)),
    ]));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(
        "FEDBRIDGE_SP_CERTIFICATE: does not hold the public key of FEDBRIDGE_SP_PRIVATE_KEY; e.g. "
    ), "{}", p[0]);
    let two = format!("{cert}\n{cert}");
    let p = problems(&metadata_rows(&[
        ("FEDBRIDGE_SP_PRIVATE_KEY", Some(&key)),
        ("FEDBRIDGE_SP_CERTIFICATE", Some(&two)),
    ]));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with(
        "FEDBRIDGE_SP_CERTIFICATE: holds 2 certificates; the SP key pair takes exactly one; e.g. "
    ), "{}", p[0]);
    // A bad key is reported as such, never quoted, and no mismatch is claimed on top of it.
    let p = problems(&metadata_rows(&[
        (
            "FEDBRIDGE_SP_PRIVATE_KEY",
            Some("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----"),
        ),
        ("FEDBRIDGE_SP_CERTIFICATE", Some(&cert)),
    ]));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("FEDBRIDGE_SP_PRIVATE_KEY: the private key does not parse as PEM ("),
        "{}",
        p[0]
    );
    assert!(!p[0].contains("c2VjcmV0"));
    let p = problems(&metadata_rows(&[
        (
            "FEDBRIDGE_SP_PRIVATE_KEY",
            Some(&read_key("tests/fixtures/xmlsec/keys/idp-ec256.key")),
        ),
        (
            "FEDBRIDGE_SP_CERTIFICATE",
            Some(&read_key("tests/fixtures/xmlsec/keys/idp-ec256.crt")),
        ),
    ]));
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("FEDBRIDGE_SP_PRIVATE_KEY: the private key is not an RSA key; encrypted assertions use RSA-OAEP key transport; e.g. "), "{}", p[0]);
}

#[test]
fn sp_settings_map_the_configuration_to_the_validator() {
    let c = loaded(&metadata_rows(&[
        ("FEDBRIDGE_CLOCK_SKEW", Some("1m")),
        ("FEDBRIDGE_ALLOW_IDP_INITIATED", Some("1")),
        ("FEDBRIDGE_INSECURE_ALLOW_SHA1", Some("1")),
        ("FEDBRIDGE_MAX_RESPONSE_BYTES", Some("4096")),
    ]))
    .config;
    let sp = c.sp_settings();
    assert_eq!(sp.entity_id.value(), Some(CONSUMER));
    assert_eq!(sp.acs_url.value(), Some(CONSUMER));
    assert_eq!(sp.clock_skew, Duration::minutes(1));
    assert_eq!(sp.max_response_bytes, 4096);
    assert!(sp.allow_unsolicited);
    assert!(sp.algorithms.insecure_allow_sha1);
    assert!(!sp.algorithms.insecure_allow_weak_rsa_keys);
    assert!(sp.decryption_keys.is_empty());
}

#[test]
fn insecure_sha1_loads_with_a_warning() {
    let l = loaded(&metadata_rows(&[(
        "FEDBRIDGE_INSECURE_ALLOW_SHA1",
        Some("1"),
    )]));
    assert_eq!(
        warnings(&l),
        [
            "FEDBRIDGE_INSECURE_ALLOW_SHA1: is 1: SHA-1 digests and signatures are accepted, and SHA-1 collisions are practical; set it back to 0 once the IdP signs with SHA-256"
        ]
    );
}

#[test]
fn unknown_keys_are_warnings_with_a_suggestion() {
    let l = loaded(&metadata_rows(&[
        ("SAML_METDATA_URL", Some("x")),
        ("saml_automatic_login", Some("1")),
        ("COMMON_QPR_AUTH", None),
    ]));
    assert_eq!(
        warnings(&l),
        [
            "COMMON_QPR_AUTH: unknown setting, ignored",
            "SAML_METDATA_URL: unknown setting, ignored; did you mean SAML_METADATA_URL?",
            "saml_automatic_login: unknown setting, ignored; did you mean SAML_AUTOMATIC_LOGIN?",
        ]
    );
    assert!(!l.config.automatic_login);
    // With an invalid configuration only problems are returned; a misspelt row is then pointed
    // at from the problem it causes (see the next test).
}

#[test]
fn problem_display_with_and_without_example() {
    let p = Problem {
        key: "SAML_CONSUMER_URL".into(),
        message: "'ftp://x' is not an absolute http(s) URL".into(),
        example: Some("https://fedbridge.example.com/EnticeServices/rest/authenticate/saml".into()),
        missing: false,
    };
    assert_eq!(
        p.to_string(),
        "SAML_CONSUMER_URL: 'ftp://x' is not an absolute http(s) URL; e.g. https://fedbridge.example.com/EnticeServices/rest/authenticate/saml"
    );
    let p = Problem { example: None, ..p };
    assert_eq!(
        p.to_string(),
        "SAML_CONSUMER_URL: 'ftp://x' is not an absolute http(s) URL"
    );
}

#[test]
fn secrets_are_redacted_in_debug() {
    let c = loaded(&metadata_rows(&[(
        "FEDBRIDGE_INTROSPECTION_SECRET",
        Some("0123456789abcdef-very-secret"),
    )]))
    .config;
    let debug = format!("{c:?}");
    assert!(!debug.contains("very-secret"));
    assert_eq!(format!("{:?}", c.introspection_secret), "Some([redacted])");
}

#[test]
fn every_schema_algorithm_has_a_variant() {
    let def = schema::schema()
        .unwrap()
        .setting(keys::FEDBRIDGE_XSESSION_ALGORITHM)
        .unwrap();
    for name in def.values.iter().flatten() {
        let alg = crate::token::Algorithm::from_name(name).unwrap();
        assert_eq!(alg.as_str(), name);
    }
    assert_eq!(crate::token::Algorithm::from_name("es256"), None);
}

#[test]
fn allowed_targets() {
    let c = loaded(&metadata_rows(&[(
        "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
        Some(r#"["https://apps.example.com", "https://portal.example.com/qpr"]"#),
    )]))
    .config;
    assert_eq!(
        c.allowed_downstream,
        [
            "https://apps.example.com/",
            "https://portal.example.com/qpr"
        ]
    );
    let allowed = |t: &str| c.allowed_target(t).map(String::from);
    assert_eq!(
        allowed("/app/home").as_deref(),
        Some("https://fedbridge.example.com/app/home")
    );
    assert_eq!(
        allowed("https://apps.example.com/x?y=1").as_deref(),
        Some("https://apps.example.com/x?y=1")
    );
    assert!(allowed("https://portal.example.com/qpr").is_some());
    assert!(allowed("https://portal.example.com/qpr/ui").is_some());
    // Encoded characters that stay inside their segment are fine.
    assert!(allowed("https://portal.example.com/qpr/a%20b;jsessionid=1").is_some());
    assert!(allowed("https://portal.example.com/qpr/..x").is_some());
    for refused in [
        "https://portal.example.com/qprevil",
        "https://portal.example.com/",
        "https://portal.example.com/qpr/../admin",
        "https://portal.example.com/qpr/..%2fadmin",
        "https://portal.example.com/qpr/..%2Fadmin",
        "https://portal.example.com/qpr/%2e%2e%2fadmin",
        "https://portal.example.com/qpr/..%5cadmin",
        "https://portal.example.com/qpr/..;/admin",
        "https://portal.example.com/qpr/.;x/admin",
        "https://portal.example.com/qpr/%252e%252e%252fadmin",
        "https://portal.example.com/qpr/x%00y",
        "https://portal.example.com/qpr/x%0d%0ay",
        "/app/..%2fadmin",
        "http://apps.example.com/",
        "https://apps.example.com:8443/",
        "https://apps.example.com.evil.com/",
        "https://apps.example.com@evil.com/",
        "//evil.com/x",
        "/\\evil.com/x",
        "javascript:alert(1)",
        "data:text/html,x",
    ] {
        assert_eq!(allowed(refused), None, "{refused}");
    }
}

#[test]
fn a_misspelt_mandatory_setting_is_pointed_at() {
    let r = rows(&[
        ("SAML_CONSUMER_URl", Some(CONSUMER)),
        ("SAML_METADATA_URL", Some(METADATA)),
    ]);
    assert_eq!(
        problems(&r),
        [format!(
            "SAML_CONSUMER_URL: is mandatory but not set (a row named SAML_CONSUMER_URl exists: a typo?); {CONSUMER_EXAMPLE}"
        )]
    );
    let r = rows(&[
        ("SAML_CONSUMER_URL", Some(CONSUMER)),
        ("SAML_METADATA_ULR", Some(METADATA)),
    ]);
    let p = problems(&r);
    assert!(
        p[0].starts_with(
            "SAML_METADATA_URL: no IdP is configured: set SAML_METADATA_URL (metadata scenario), or SAML_REDIRECT_URL and SAML_SIGNING_CERTIFICATE (public-key scenario) (a row named SAML_METADATA_ULR exists: a typo?); e.g. "
        ),
        "{}",
        p[0]
    );
}
