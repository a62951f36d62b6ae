use super::*;

const IDP_CERT: &str = include_str!("../../../tests/fixtures/xmlsec/keys/idp-rsa.crt");
const SP_KEY: &str = include_str!("../../../tests/fixtures/xmlsec/keys/sp-enc.key");
const SP_CERT: &str = include_str!("../../../tests/fixtures/xmlsec/keys/sp-enc.crt");
const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";

fn schema() -> &'static Schema {
    config::schema::schema().unwrap()
}

fn rows(pairs: &[(&str, Option<&str>)]) -> ConfigRows {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

fn valid() -> ConfigRows {
    rows(&[
        ("SAML_CONSUMER_URL", Some(ACS)),
        ("SAML_REDIRECT_URL", Some("https://idp.example.com/sso")),
        ("SAML_SIGNING_CERTIFICATE", Some(IDP_CERT)),
    ])
}

fn set(pairs: &[(&str, Option<&str>)]) -> Request {
    Request {
        verb: "set",
        changes: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), RowChange::Set(v.map(str::to_owned))))
            .collect(),
        allow_unknown: false,
    }
}

fn unset(names: &[&str]) -> Request {
    Request {
        verb: "unset",
        changes: names
            .iter()
            .map(|k| ((*k).to_owned(), RowChange::Delete))
            .collect(),
        allow_unknown: true,
    }
}

/// Runs `request` on `current`; returns the rows afterwards and the report.
fn apply(current: &ConfigRows, request: &Request) -> (ConfigRows, Report) {
    let (changes, report) = change(schema(), current, request);
    let mut after = current.clone();
    for (name, change) in changes {
        match change {
            RowChange::Set(value) => {
                after.insert(name, value);
            }
            RowChange::Delete => {
                after.remove(&name);
            }
        }
    }
    (after, report)
}

#[test]
fn first_setup_one_setting_at_a_time_is_allowed() {
    let mut current = ConfigRows::new();
    for (name, value) in [
        ("SAML_CONSUMER_URL", ACS),
        ("SAML_REDIRECT_URL", "https://idp.example.com/sso"),
    ] {
        let (after, report) = apply(&current, &set(&[(name, Some(value))]));
        assert_eq!(report.code, 0, "{report:?}");
        assert!(report.out.contains("still incomplete"), "{}", report.out);
        assert_eq!(after[name].as_deref(), Some(value));
        current = after;
    }
    // The certificate is what is still missing, and says so.
    let (_, report) = apply(&current, &set(&[("SAML_AUTOMATIC_LOGIN", Some("1"))]));
    assert!(
        report.out.contains("SAML_SIGNING_CERTIFICATE: is required"),
        "{}",
        report.out
    );
    let (after, report) = apply(
        &current,
        &set(&[("SAML_SIGNING_CERTIFICATE", Some(IDP_CERT))]),
    );
    assert_eq!(report.code, 0, "{report:?}");
    assert!(
        report.out.contains("The configuration is valid."),
        "{}",
        report.out
    );
    assert!(config::load(&after).is_ok());
}

#[test]
fn an_invalid_value_is_refused_even_during_setup() {
    let current = ConfigRows::new();
    let (after, report) = apply(&current, &set(&[("SAML_CONSUMER_URL", Some("ftp://x"))]));
    assert_eq!(report.code, 1);
    assert_eq!(after, current);
    assert!(
        report
            .err
            .contains("SAML_CONSUMER_URL: 'ftp://x' is not an absolute http(s) URL; e.g. "),
        "{}",
        report.err
    );
    assert!(report.err.contains("nothing written"), "{}", report.err);
}

#[test]
fn a_value_invalid_before_and_after_is_still_refused() {
    // A secret's message never quotes the value, so "the same problem as before" must not let
    // another bad value through.
    let current = rows(&[("FEDBRIDGE_INTROSPECTION_SECRET", Some("short"))]);
    let (after, report) = apply(
        &current,
        &set(&[("FEDBRIDGE_INTROSPECTION_SECRET", Some("short2"))]),
    );
    assert_eq!(report.code, 1, "{report:?}");
    assert_eq!(after, current);
    assert!(
        !report.err.contains("short2"),
        "a secret was echoed: {}",
        report.err
    );
}

#[test]
fn breaking_a_valid_configuration_is_refused() {
    let current = valid();
    let (after, report) = apply(&current, &unset(&["SAML_CONSUMER_URL"]));
    assert_eq!((report.code, &after), (1, &current));
    assert!(
        report.err.contains("valid now and would become invalid"),
        "{}",
        report.err
    );
    assert!(
        report
            .err
            .contains("SAML_CONSUMER_URL: is mandatory but not set")
    );

    // Half a key pair: refused, with the hint to set both at once.
    let (after, report) = apply(
        &current,
        &set(&[("FEDBRIDGE_SP_PRIVATE_KEY", Some(SP_KEY))]),
    );
    assert_eq!((report.code, &after), (1, &current));
    assert!(
        report.err.contains(
            "fedbridge config set FEDBRIDGE_SP_PRIVATE_KEY VALUE FEDBRIDGE_SP_CERTIFICATE VALUE"
        ),
        "{}",
        report.err
    );
    let both = set(&[
        ("FEDBRIDGE_SP_PRIVATE_KEY", Some(SP_KEY)),
        ("FEDBRIDGE_SP_CERTIFICATE", Some(SP_CERT)),
    ]);
    let (after, report) = apply(&current, &both);
    assert_eq!(report.code, 0, "{report:?}");
    assert!(after.contains_key("FEDBRIDGE_SP_CERTIFICATE"));
}

#[test]
fn an_incomplete_configuration_takes_only_changes_that_leave_settings_missing() {
    // No consumer URL yet; the public-key scenario is complete. During first setup a row may
    // go again: what remains is settings still missing (issue 11's one exception).
    let mut current = valid();
    current.remove("SAML_CONSUMER_URL");
    let (after, report) = apply(&current, &unset(&["SAML_REDIRECT_URL"]));
    assert_eq!(report.code, 0, "{report:?}");
    assert!(!after.contains_key("SAML_REDIRECT_URL"));
    assert!(
        report.out.contains("not in service until"),
        "{}",
        report.out
    );
    // A clash with a row that exists is new too: a certificate that is not the key's.
    let (after, report) = apply(
        &current,
        &set(&[
            ("FEDBRIDGE_SP_PRIVATE_KEY", Some(SP_KEY)),
            ("FEDBRIDGE_SP_CERTIFICATE", Some(IDP_CERT)),
        ]),
    );
    assert_eq!((report.code, &after), (1, &current), "{report:?}");
    assert!(
        report.err.contains("does not hold the public key"),
        "{}",
        report.err
    );
}

#[test]
fn an_invalid_row_the_change_does_not_touch_blocks_it_and_is_named() {
    // Issue 11, point 4: with any unrelated row invalid the server keeps the last valid
    // configuration, so a change reported done would never be in service.
    let mut current = valid();
    current.insert("FEDBRIDGE_CLOCK_SKEW".into(), Some("90 s".into()));
    let (after, report) = apply(
        &current,
        &set(&[("SAML_SIGNING_CERTIFICATE", Some(SP_CERT))]),
    );
    assert_eq!((report.code, &after), (1, &current), "{report:?}");
    assert!(report.err.contains("nothing written"), "{}", report.err);
    let blocking = report
        .err
        .split_once("Blocking rows (not part of this change):\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{}", report.err));
    assert!(
        blocking.starts_with("FEDBRIDGE_CLOCK_SKEW: '90 s' is not a duration"),
        "{}",
        report.err
    );
    assert!(
        report
            .err
            .contains("fedbridge config set FEDBRIDGE_CLOCK_SKEW VALUE"),
        "{}",
        report.err
    );
    // Fixed in the same command: written.
    let (after, report) = apply(
        &current,
        &set(&[
            ("FEDBRIDGE_CLOCK_SKEW", Some("90s")),
            ("SAML_AUTOMATIC_LOGIN", Some("1")),
        ]),
    );
    assert_eq!(report.code, 0, "{report:?}");
    assert_eq!(after["FEDBRIDGE_CLOCK_SKEW"].as_deref(), Some("90s"));
}

#[test]
fn unknown_names_are_refused_unless_allowed() {
    let current = valid();
    let (after, report) = apply(&current, &set(&[("SAML_CONSUMER_URLL", Some(ACS))]));
    assert_eq!((report.code, &after), (1, &current));
    assert!(
        report.err.contains("did you mean SAML_CONSUMER_URL?"),
        "{}",
        report.err
    );
    let mut allowed = set(&[("QPR_OTHER_KEY", Some("x"))]);
    allowed.allow_unknown = true;
    let (after, report) = apply(&current, &allowed);
    assert_eq!(report.code, 0, "{report:?}");
    assert_eq!(after["QPR_OTHER_KEY"].as_deref(), Some("x"));
    // Deleting an unknown row is allowed; deleting one that does not exist is an error.
    let (after, report) = apply(&after, &unset(&["QPR_OTHER_KEY"]));
    assert_eq!(report.code, 0, "{report:?}");
    assert!(!after.contains_key("QPR_OTHER_KEY"));
    let (_, report) = apply(&after, &unset(&["QPR_OTHER_KEY"]));
    assert_eq!(report.code, 1, "{report:?}");
}

#[test]
fn a_change_that_changes_nothing_writes_nothing() {
    let current = valid();
    let (changes, report) = change(
        schema(),
        &current,
        &set(&[("SAML_CONSUMER_URL", Some(ACS))]),
    );
    assert!(changes.is_empty());
    assert_eq!(report.code, 0);
    let (changes, report) = change(schema(), &current, &unset(&["FEDBRIDGE_EXIT_URL"]));
    assert!(changes.is_empty());
    assert!(
        report.out.contains("no row; nothing to do"),
        "{}",
        report.out
    );
}

#[test]
fn list_masks_secrets_marks_defaults_and_flags_unknown_rows() {
    let mut current = valid();
    current.insert(
        "FEDBRIDGE_INTROSPECTION_SECRET".into(),
        Some("0123456789abcdefXYZ".into()),
    );
    current.insert(
        "FEDBRIDGE_INTROSPECTION_SECRT".into(),
        Some("misspelt-secret-value".into()),
    );
    current.insert("FEDERATEDLY_MANAGED_GROUPS".into(), None);
    current.insert("SOMETHING_ELSE".into(), Some("x".into()));
    let report = list(schema(), &current);
    let out = &report.out;
    assert!(
        out.contains("FEDBRIDGE_INTROSPECTION_SECRET = ********\n"),
        "{out}"
    );
    assert!(!out.contains("0123456789abcdefXYZ"), "{out}");
    assert!(!out.contains("misspelt-secret-value"), "{out}");
    assert!(
        out.contains("FEDBRIDGE_INTROSPECTION_SECRT = ********  (unknown setting, ignored; did you mean FEDBRIDGE_INTROSPECTION_SECRET?)"),
        "{out}"
    );
    assert!(
        out.contains("SOMETHING_ELSE = x  (unknown setting, ignored)"),
        "{out}"
    );
    assert!(
        out.contains("FEDBRIDGE_CLOCK_SKEW = 180s  (default)\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "FEDBRIDGE_SP_ENTITY_ID = https://sp.example.com/EnticeServices/rest/authenticate/saml  (default)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "FEDERATEDLY_MANAGED_GROUPS = (NULL)  (same as not set: every group is managed)"
        ),
        "{out}"
    );
    assert!(out.contains("SAML_METADATA_URL  (not set: "), "{out}");
    // Every setting appears once.
    for def in &schema().settings {
        let lines = out
            .lines()
            .filter(|l| l.starts_with(&format!("{} ", def.name)))
            .count();
        assert_eq!(lines, 1, "{} in {out}", def.name);
    }
}

#[test]
fn get_tells_value_null_default_and_unknown_apart() {
    let current = rows(&[
        ("SAML_CONSUMER_URL", Some(ACS)),
        ("FEDERATEDLY_MANAGED_GROUPS", None),
        ("CUSTOM", Some("v")),
    ]);
    let get = |name: &str| get(schema(), &current, name);
    assert_eq!(get("SAML_CONSUMER_URL").out, format!("{ACS}\n"));
    assert_eq!(get("FEDERATEDLY_MANAGED_GROUPS").out, "(NULL)\n");
    assert_eq!(get("FEDBRIDGE_CLOCK_SKEW").out, "not set (default: 180s)\n");
    assert_eq!(
        get("SAML_USER_GROUPS_ATTRIBUTE").out,
        "not set (not mapped: group memberships are never touched)\n"
    );
    let custom = get("CUSTOM");
    assert_eq!((custom.code, custom.out.as_str()), (0, "v\n"));
    assert!(custom.err.contains("unknown setting"), "{}", custom.err);
    let missing = get("NOPE");
    assert_eq!((missing.code, missing.out.as_str()), (1, ""));
    assert!(
        missing.err.contains("NOPE is not a fedbridge setting"),
        "{}",
        missing.err
    );
}

#[test]
fn check_reports_every_problem_and_the_exit_code() {
    let report = check(schema(), &ConfigRows::new());
    assert_eq!(report.code, 1);
    assert!(
        report
            .out
            .contains("SAML_CONSUMER_URL: is mandatory but not set; e.g. https://")
    );
    assert!(
        report
            .out
            .contains("SAML_METADATA_URL: no IdP is configured")
    );
    let mut insecure = valid();
    insecure.insert("FEDBRIDGE_INSECURE_ALLOW_SHA1".into(), Some("1".into()));
    let report = check(schema(), &insecure);
    assert_eq!(report.code, 0, "{report:?}");
    assert!(
        report.out.starts_with("The configuration is valid.\n"),
        "{}",
        report.out
    );
    assert!(
        report
            .out
            .contains("warning: FEDBRIDGE_INSECURE_ALLOW_SHA1: "),
        "{}",
        report.out
    );
}

#[test]
fn typos_are_found_case_insensitively() {
    let found = |name: &str| schema().similar(name).map(|d| d.name.as_str());
    assert_eq!(found("saml_consumer_url"), Some("SAML_CONSUMER_URL"));
    assert_eq!(found("SAML_CONSUMER_URLL"), Some("SAML_CONSUMER_URL"));
    assert_eq!(found("SOMETHING_ELSE"), None);
}
