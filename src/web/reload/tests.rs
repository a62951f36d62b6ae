//! The reload decisions: load, refuse, log once, recover, database failures, secrets.

use super::*;

const CONSUMER: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";
const METADATA: &str = "https://idp.example.com/federationmetadata.xml";

fn rows(pairs: &[(&str, &str)]) -> ConfigRows {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect()
}

fn valid(extra: &[(&str, &str)]) -> ConfigRows {
    let mut r = rows(&[
        ("SAML_CONSUMER_URL", CONSUMER),
        ("SAML_METADATA_URL", METADATA),
    ]);
    r.extend(rows(extra));
    r
}

fn warns(step: &Step) -> Vec<&str> {
    step.log
        .iter()
        .filter_map(|l| match l {
            LogLine::Warn(m) => Some(m.as_str()),
            LogLine::Info(_) => None,
        })
        .collect()
}

fn infos(step: &Step) -> Vec<&str> {
    step.log
        .iter()
        .filter_map(|l| match l {
            LogLine::Info(m) => Some(m.as_str()),
            LogLine::Warn(_) => None,
        })
        .collect()
}

fn failure(public: &str) -> PollFailure {
    PollFailure {
        public: public.into(),
        detail: format!("detail: {public}"),
    }
}

#[test]
fn first_valid_rows_are_loaded_then_unchanged_rows_do_nothing() {
    let mut reloader = Reloader::new();
    let step = reloader.observe(Ok(valid(&[])));
    assert!(step.activate.is_some());
    assert_eq!(step.problems, Some(Vec::new()));
    assert_eq!(infos(&step).len(), 1, "{:?}", step.log);
    assert!(infos(&step)[0].contains("configuration loaded"));

    let again = reloader.observe(Ok(valid(&[])));
    assert!(again.activate.is_none());
    assert!(again.problems.is_none());
    assert!(again.log.is_empty());
}

#[test]
fn an_empty_table_leaves_fedbridge_unconfigured() {
    let mut reloader = Reloader::new();
    let step = reloader.observe(Ok(ConfigRows::new()));
    assert!(step.activate.is_none());
    let problems = step.problems.clone().unwrap();
    assert!(
        problems.iter().any(|p| p.key == "SAML_CONSUMER_URL"),
        "{problems:?}"
    );
    assert_eq!(warns(&step).len(), 1);
    assert!(warns(&step)[0].contains("fedbridge stays unconfigured"));
}

#[test]
fn an_invalid_change_is_refused_and_logged_once_per_problem_set() {
    let mut reloader = Reloader::new();
    reloader.observe(Ok(valid(&[])));

    let bad = reloader.observe(Ok(valid(&[("FEDBRIDGE_CLOCK_SKEW", "soon")])));
    assert!(bad.activate.is_none());
    let problems = bad.problems.clone().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "FEDBRIDGE_CLOCK_SKEW");
    assert_eq!(warns(&bad).len(), 1);
    assert!(warns(&bad)[0].contains("the last valid configuration stays in service"));
    assert!(warns(&bad)[0].contains("FEDBRIDGE_CLOCK_SKEW"));

    // The same rows again: nothing new.
    let same = reloader.observe(Ok(valid(&[("FEDBRIDGE_CLOCK_SKEW", "soon")])));
    assert!(same.log.is_empty());
    // Other rows, same problem set: still not logged again.
    let other = reloader.observe(Ok(valid(&[
        ("FEDBRIDGE_CLOCK_SKEW", "soon"),
        ("SAML_AUTOMATIC_LOGIN", "1"),
    ])));
    assert!(other.log.is_empty(), "{:?}", other.log);
    assert_eq!(other.problems.unwrap().len(), 1);
    // A different problem: logged.
    let worse = reloader.observe(Ok(valid(&[
        ("FEDBRIDGE_CLOCK_SKEW", "soon"),
        ("SAML_AUTOMATIC_LOGIN", "yes"),
    ])));
    assert_eq!(warns(&worse).len(), 1);
    assert_eq!(worse.problems.unwrap().len(), 2);
}

#[test]
fn a_fix_is_put_in_service_with_the_changed_key_names() {
    let mut reloader = Reloader::new();
    reloader.observe(Ok(valid(&[])));
    reloader.observe(Ok(valid(&[("FEDBRIDGE_CLOCK_SKEW", "soon")])));
    let fixed = reloader.observe(Ok(valid(&[("FEDBRIDGE_CLOCK_SKEW", "90s")])));
    let loaded = fixed
        .activate
        .as_ref()
        .expect("the fixed configuration is put in service");
    assert_eq!(loaded.config.clock_skew, time::Duration::seconds(90));
    assert_eq!(fixed.problems, Some(Vec::new()));
    assert_eq!(
        infos(&fixed),
        ["configuration reloaded; changed: FEDBRIDGE_CLOCK_SKEW"]
    );
}

#[test]
fn reverting_an_invalid_change_clears_the_problems_without_reloading() {
    let mut reloader = Reloader::new();
    reloader.observe(Ok(valid(&[])));
    reloader.observe(Ok(valid(&[("FEDBRIDGE_CLOCK_SKEW", "soon")])));
    let reverted = reloader.observe(Ok(valid(&[])));
    assert!(reverted.activate.is_none());
    assert_eq!(reverted.problems, Some(Vec::new()));
}

#[test]
fn database_failures_keep_the_config_and_are_logged_once() {
    let mut reloader = Reloader::new();
    reloader.observe(Ok(valid(&[])));
    let locked = reloader.observe(Err(failure("the database is locked")));
    assert!(locked.activate.is_none() && locked.problems.is_none());
    assert_eq!(
        locked.database_error.as_deref(),
        Some("the database is locked")
    );
    assert_eq!(warns(&locked).len(), 1);
    assert!(warns(&locked)[0].contains("the last valid configuration stays in service"));
    let still = reloader.observe(Err(failure("the database is locked")));
    assert!(still.log.is_empty());
    assert!(still.database_error.is_some());
    let gone = reloader.observe(Err(failure("the database file is gone")));
    assert_eq!(warns(&gone).len(), 1);

    let back = reloader.observe(Ok(valid(&[])));
    assert!(back.database_error.is_none());
    assert!(
        back.activate.is_none(),
        "unchanged rows are not loaded again"
    );
    assert_eq!(infos(&back), ["the settings can be read again"]);
}

#[test]
fn secret_values_never_reach_the_log_or_the_problems() {
    let secret = "hunter2-short";
    let mut reloader = Reloader::new();
    reloader.observe(Ok(valid(&[])));
    let step = reloader.observe(Ok(valid(&[("FEDBRIDGE_INTROSPECTION_SECRET", secret)])));
    let problems = step.problems.clone().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "FEDBRIDGE_INTROSPECTION_SECRET");
    for line in &step.log {
        assert!(!format!("{line:?}").contains(secret), "{line:?}");
    }
    assert!(!problems[0].message.contains(secret));

    // Even a message that quoted it would be scrubbed.
    let quoted = vec![Problem {
        key: "FEDBRIDGE_INTROSPECTION_SECRET".into(),
        message: format!("'{secret}' is too short"),
        example: None,
        missing: false,
    }];
    let r = valid(&[("FEDBRIDGE_INTROSPECTION_SECRET", secret)]);
    let scrubbed = scrub_secrets(quoted, &r);
    assert_eq!(scrubbed[0].message, "'[redacted]' is too short");
}

#[test]
fn changed_keys_lists_added_removed_and_changed_names() {
    let old = rows(&[("A", "1"), ("B", "2"), ("C", "3")]);
    let mut new = rows(&[("A", "1"), ("B", "two"), ("D", "4")]);
    assert_eq!(changed_keys(&old, &new), ["B", "C", "D"]);
    new.insert("A".into(), None);
    assert_eq!(changed_keys(&old, &new), ["A", "B", "C", "D"]);
}

#[test]
fn a_vanished_sqlite_file_is_reported_as_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fedbridge.db");
    let store = Store::open(path.to_str().unwrap()).unwrap();
    assert!(poll(&store).unwrap().0.is_empty());
    std::fs::remove_file(&path).unwrap();
    let failure = poll(&store).unwrap_err();
    assert_eq!(failure.public, "the database file is gone");
    assert!(
        !path.exists(),
        "polling must not create a new, empty database"
    );
}
