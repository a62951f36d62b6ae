//! `fedbridge config` as an administrator runs it: the binary, a temporary SQLite database,
//! stdout, stderr and exit codes, and the `sqlite3` shell to look at (and change) the table
//! behind fedbridge's back.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::*;

const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";
const SSO: &str = "https://idp.example.com/saml2/sso";

/// A temporary directory with a database path in it; the binary runs with it as working
/// directory, so the default `fedbridge.db` lands there too.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    /// `--database`: the file, or a PostgreSQL URL under the switch (see `support::sql`).
    database: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("settings.db");
        let database = fresh_database(dir.path(), "settings.db");
        Env { dir, db, database }
    }

    /// `fedbridge --database DB ARGS...`
    fn run(&self, args: &[&str]) -> Output {
        let mut full = vec!["--database", self.database.as_str()];
        full.extend_from_slice(args);
        self.run_plain(&full, None)
    }

    /// `fedbridge ARGS...` with `FEDBRIDGE_DATABASE` as given (removed when `None`).
    fn run_plain(&self, args: &[&str], env_database: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fedbridge"));
        command.args(args).current_dir(self.dir.path());
        match env_database {
            Some(db) => command.env("FEDBRIDGE_DATABASE", db),
            None => command.env_remove("FEDBRIDGE_DATABASE"),
        };
        command.output().expect("the fedbridge binary runs")
    }

    /// `sqlite3 DB SQL`, as an administrator would type it; the output with NULL shown as
    /// `<NULL>`.
    fn sqlite3(&self, sql: &str) -> String {
        self::sql(&self.database, sql)
    }

    /// The rows of CONFIGURATIONENTITY, `NAME|VALUE` per line, read by the sqlite3 shell.
    fn table(&self) -> String {
        self.sqlite3("SELECT NAME, VALUE FROM CONFIGURATIONENTITY ORDER BY NAME")
    }

    /// Sets the mandatory settings (consumer URL and the public-key scenario).
    fn configure(&self) {
        let cert = idp_cert();
        let out = self.run(&[
            "config",
            "set",
            "SAML_CONSUMER_URL",
            ACS,
            "SAML_REDIRECT_URL",
            SSO,
            "SAML_SIGNING_CERTIFICATE",
            &cert,
        ]);
        assert_ok(&out);
        assert!(
            stdout(&out).contains("The configuration is valid."),
            "{}",
            stdout(&out)
        );
    }
}

fn assert_ok(out: &Output) {
    assert_eq!(
        code(out),
        0,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn set_get_list_unset_round_trip() {
    let env = Env::new();
    env.configure();
    assert!(postgres_switch() || env.db.is_file());

    let out = env.run(&["config", "get", "SAML_CONSUMER_URL"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{ACS}\n"));
    // Multi-line values come back exactly.
    let out = env.run(&["config", "get", "SAML_SIGNING_CERTIFICATE"]);
    assert_eq!(stdout(&out), format!("{}\n", idp_cert()));

    let out = env.run(&["config", "set", "FEDBRIDGE_CLOCK_SKEW", "90s"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "FEDBRIDGE_CLOCK_SKEW: set.\nThe configuration is valid.\nNo fedbridge server is running \
         on this database: the change is in service as soon as one starts.\n"
    );
    assert!(
        env.table().contains("FEDBRIDGE_CLOCK_SKEW|90s\n"),
        "{}",
        env.table()
    );
    let out = env.run(&["config", "get", "FEDBRIDGE_CLOCK_SKEW"]);
    assert_eq!(stdout(&out), "90s\n");

    let out = env.run(&["config", "list"]);
    assert_ok(&out);
    let list = stdout(&out);
    assert!(
        list.contains(&format!("SAML_CONSUMER_URL = {ACS}\n")),
        "{list}"
    );
    assert!(list.contains("FEDBRIDGE_CLOCK_SKEW = 90s\n"), "{list}");
    assert!(
        list.contains("FEDBRIDGE_XSESSION_LIFETIME = 8h  (default)\n"),
        "{list}"
    );
    assert!(
        list.contains(&format!("FEDBRIDGE_SP_ENTITY_ID = {ACS}  (default)\n")),
        "{list}"
    );

    let out = env.run(&["config", "unset", "FEDBRIDGE_CLOCK_SKEW"]);
    assert_ok(&out);
    assert!(stdout(&out).starts_with("FEDBRIDGE_CLOCK_SKEW: unset (row deleted).\n"));
    assert!(
        !env.table().contains("FEDBRIDGE_CLOCK_SKEW"),
        "{}",
        env.table()
    );
    let out = env.run(&["config", "get", "FEDBRIDGE_CLOCK_SKEW"]);
    assert_eq!(stdout(&out), "not set (default: 180s)\n");
}

#[test]
fn a_value_starting_with_a_hyphen_and_null_after_the_name() {
    let env = Env::new();
    env.configure();
    // PEM values start with "-----": they are values, not options.
    let cert = idp_cert();
    let out = env.run(&["config", "set", "SAML_SIGNING_CERTIFICATE", &cert]);
    assert_ok(&out);
    let out = env.run(&["config", "set", "SAML_AUTOMATIC_LOGIN", "--null"]);
    assert_ok(&out);
    assert_eq!(
        env.sqlite3("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_AUTOMATIC_LOGIN'"),
        "<NULL>\n"
    );
}

#[test]
fn secrets_are_masked_in_list_but_not_in_get() {
    let env = Env::new();
    env.configure();
    let secret = "s3cret-introspection-token-42";
    let out = env.run(&["config", "set", "FEDBRIDGE_INTROSPECTION_SECRET", secret]);
    assert_ok(&out);
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));

    let out = env.run(&["config", "list"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("FEDBRIDGE_INTROSPECTION_SECRET = ********\n"));
    assert!(!stdout(&out).contains(secret), "{}", stdout(&out));

    // A bad secret is refused without being echoed.
    let out = env.run(&[
        "config",
        "set",
        "FEDBRIDGE_INTROSPECTION_SECRET",
        "tiny-secret",
    ]);
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("tiny-secret"), "{}", stderr(&out));

    let out = env.run(&["config", "get", "FEDBRIDGE_INTROSPECTION_SECRET"]);
    assert_eq!(stdout(&out), format!("{secret}\n"));
}

#[test]
fn a_bad_value_is_refused_with_the_schemas_message_and_nothing_is_written() {
    let env = Env::new();
    env.configure();
    let before = env.table();

    let out = env.run(&[
        "config",
        "set",
        "SAML_CONSUMER_URL",
        "ftp://sp.example.com/acs",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains("nothing written"), "{err}");
    assert!(
        err.contains(
            "SAML_CONSUMER_URL: 'ftp://sp.example.com/acs' is not an absolute http(s) URL; e.g. \
             https://fedbridge.example.com/EnticeServices/rest/authenticate/saml"
        ),
        "{err}"
    );
    assert_eq!(env.table(), before);

    // The same message as `config check` gives for the same value written with SQL.
    let check_env = Env::new();
    check_env.configure();
    check_env.sqlite3(
        "UPDATE CONFIGURATIONENTITY SET VALUE = 'ftp://sp.example.com/acs' WHERE NAME = 'SAML_CONSUMER_URL'",
    );
    let check = check_env.run(&["config", "check"]);
    assert_eq!(code(&check), 1);
    let problem = stdout(&check)
        .lines()
        .find(|l| l.starts_with("SAML_CONSUMER_URL: "))
        .unwrap()
        .to_owned();
    assert!(err.contains(&problem), "{err}\nversus\n{problem}");

    // Breaking a valid configuration is refused too, and a half key pair says what to add.
    let out = env.run(&["config", "unset", "SAML_REDIRECT_URL"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("SAML_REDIRECT_URL: is required in the public-key scenario"));
    assert_eq!(env.table(), before);
}

#[test]
fn first_setup_may_be_done_one_setting_at_a_time() {
    let env = Env::new();
    let out = env.run(&["config", "set", "SAML_CONSUMER_URL", ACS]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("still incomplete"), "{text}");
    assert!(
        text.contains("SAML_METADATA_URL: no IdP is configured"),
        "{text}"
    );
    let out = env.run(&["config", "set", "SAML_REDIRECT_URL", SSO]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("SAML_SIGNING_CERTIFICATE: is required"),
        "{}",
        stdout(&out)
    );
    // An invalid value is still refused while incomplete.
    let out = env.run(&[
        "config",
        "set",
        "SAML_SIGNING_CERTIFICATE",
        "not a certificate",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("SAML_SIGNING_CERTIFICATE: "),
        "{}",
        stderr(&out)
    );
    assert!(!env.table().contains("SAML_SIGNING_CERTIFICATE"));
    let out = env.run(&["config", "set", "SAML_SIGNING_CERTIFICATE", &idp_cert()]);
    assert_ok(&out);
    assert!(stdout(&out).contains("The configuration is valid."));
}

#[test]
fn null_and_absent_are_different_for_managed_groups() {
    let env = Env::new();
    env.configure();
    let out = env.run(&["config", "get", "FEDERATEDLY_MANAGED_GROUPS"]);
    assert_eq!(stdout(&out), "not set (every group is managed)\n");
    assert_eq!(
        env.sqlite3(
            "SELECT COUNT(*) FROM CONFIGURATIONENTITY WHERE NAME = 'FEDERATEDLY_MANAGED_GROUPS'"
        ),
        "0\n"
    );

    let out = env.run(&["config", "set", "--null", "FEDERATEDLY_MANAGED_GROUPS"]);
    assert_ok(&out);
    assert_eq!(
        env.sqlite3(
            "SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'FEDERATEDLY_MANAGED_GROUPS'"
        ),
        "<NULL>\n"
    );
    let out = env.run(&["config", "get", "FEDERATEDLY_MANAGED_GROUPS"]);
    assert_eq!(stdout(&out), "(NULL)\n");
    let out = env.run(&["config", "list"]);
    assert!(stdout(&out).contains(
        "FEDERATEDLY_MANAGED_GROUPS = (NULL)  (same as not set: every group is managed)\n"
    ));

    let out = env.run(&["config", "set", "FEDERATEDLY_MANAGED_GROUPS", "[]"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&env.run(&["config", "get", "FEDERATEDLY_MANAGED_GROUPS"])),
        "[]\n"
    );

    // An empty string is an error for this key: refused, and the [] stays.
    let out = env.run(&["config", "set", "FEDERATEDLY_MANAGED_GROUPS", ""]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("FEDERATEDLY_MANAGED_GROUPS: is an empty string"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.sqlite3(
            "SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'FEDERATEDLY_MANAGED_GROUPS'"
        ),
        "[]\n"
    );

    let out = env.run(&["config", "unset", "FEDERATEDLY_MANAGED_GROUPS"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&env.run(&["config", "get", "FEDERATEDLY_MANAGED_GROUPS"])),
        "not set (every group is managed)\n"
    );
}

#[test]
fn a_row_changed_with_the_sqlite3_shell_is_seen() {
    let env = Env::new();
    env.configure();
    env.sqlite3(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDBRIDGE_XSESSION_LIFETIME', '12h')",
    );
    env.sqlite3(
        "UPDATE CONFIGURATIONENTITY SET VALUE = 'https://sso.example.org/x' WHERE NAME = 'SAML_REDIRECT_URL'",
    );
    assert_eq!(
        stdout(&env.run(&["config", "get", "FEDBRIDGE_XSESSION_LIFETIME"])),
        "12h\n"
    );
    assert_eq!(
        stdout(&env.run(&["config", "get", "SAML_REDIRECT_URL"])),
        "https://sso.example.org/x\n"
    );
    // A row fedbridge does not know is flagged, not fatal.
    env.sqlite3("INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_CONSUMER_URI', 'x')");
    let out = env.run(&["config", "list"]);
    assert!(
        stdout(&out).contains(
            "SAML_CONSUMER_URI = x  (unknown setting, ignored; did you mean SAML_CONSUMER_URL?)\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["config", "check"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("warning: SAML_CONSUMER_URI: unknown setting"));
}

#[test]
fn check_exit_codes_follow_validity() {
    let env = Env::new();
    let out = env.run(&["config", "check"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.starts_with("The configuration is invalid: 2 problems.\n"),
        "{text}"
    );
    assert!(
        text.contains("SAML_CONSUMER_URL: is mandatory but not set; e.g. https://"),
        "{text}"
    );

    env.configure();
    let out = env.run(&["config", "check"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "The configuration is valid.\n");

    // Every problem at once, after an administrator's SQL broke two settings.
    env.sqlite3(
        "UPDATE CONFIGURATIONENTITY SET VALUE = 'nope' WHERE NAME = 'SAML_REDIRECT_URL';
         INSERT INTO CONFIGURATIONENTITY VALUES ('FEDBRIDGE_CLOCK_SKEW', '5 minutes');",
    );
    let out = env.run(&["config", "check"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("2 problems"), "{text}");
    assert!(text.contains("SAML_REDIRECT_URL: 'nope'"), "{text}");
    assert!(text.contains("FEDBRIDGE_CLOCK_SKEW: '5 minutes'"), "{text}");
}

#[test]
fn check_warns_about_plain_http_beside_an_https_consumer_url() {
    // Issue 11, point 6: the xsession token would travel unencrypted to an http downstream URL,
    // and the logout would end on an http page, beside an https consumer URL.
    let env = Env::new();
    env.configure();
    let out = env.run(&[
        "config",
        "set",
        "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
        r#"["https://apps.example.com/", "http://legacy.example.com/app"]"#,
        "FEDBRIDGE_EXIT_URL",
        "http://www.example.com/",
    ]);
    assert_ok(&out);
    let out = env.run(&["config", "check"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("The configuration is valid.\n"), "{text}");
    assert!(
        text.contains(
            "warning: FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS: 'http://legacy.example.com/app' is plain \
             http beside an https SAML_CONSUMER_URL: the xsession token would travel there \
             unencrypted"
        ),
        "{text}"
    );
    assert!(
        text.contains("warning: FEDBRIDGE_EXIT_URL: 'http://www.example.com/' is plain http"),
        "{text}"
    );
    assert!(!text.contains("apps.example.com"), "{text}");
}

#[test]
fn the_database_option_and_environment_variable_are_honoured() {
    let env = Env::new();
    let by_option = env.dir.path().join("by-option.db");
    let by_env = env.dir.path().join("by-env.db");
    let out = env.run_plain(
        &[
            "--database",
            by_option.to_str().unwrap(),
            "config",
            "set",
            "SAML_AUTOMATIC_LOGIN",
            "1",
        ],
        None,
    );
    assert_ok(&out);
    let out = env.run_plain(
        &["config", "set", "SAML_AUTOMATIC_LOGIN", "0"],
        by_env.to_str(),
    );
    assert_ok(&out);
    assert_eq!(
        sqlite3(&by_option, "SELECT VALUE FROM CONFIGURATIONENTITY"),
        "1\n"
    );
    assert_eq!(
        sqlite3(&by_env, "SELECT VALUE FROM CONFIGURATIONENTITY"),
        "0\n"
    );
    // The option wins over the variable; `sqlite://` is accepted; the option may follow the
    // subcommand.
    let url = format!("sqlite://{}", by_option.display());
    let out = env.run_plain(
        &["config", "get", "SAML_AUTOMATIC_LOGIN", "--database", &url],
        by_env.to_str(),
    );
    assert_eq!(stdout(&out), "1\n");
    // Neither: fedbridge.db in the working directory.
    let out = env.run_plain(&["config", "set", "SAML_AUTOMATIC_LOGIN", "1"], None);
    assert_ok(&out);
    assert!(env.dir.path().join("fedbridge.db").is_file());
}

#[test]
fn a_database_in_a_missing_directory_is_a_clear_error() {
    let env = Env::new();
    let missing = env.dir.path().join("no-such-dir").join("fedbridge.db");
    let out = env.run_plain(
        &["--database", missing.to_str().unwrap(), "config", "list"],
        None,
    );
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.parent().unwrap().exists());

    // A file that is not a database is named as such.
    let notes = env.dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database\n".repeat(100)).unwrap();
    let out = env.run_plain(
        &["--database", notes.to_str().unwrap(), "config", "list"],
        None,
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is not an SQLite database file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2_and_unknown_names_exit_1() {
    let env = Env::new();
    let out = env.run(&["config", "set", "SAML_AUTOMATIC_LOGIN"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("NAME VALUE"), "{}", stderr(&out));
    let out = env.run(&["config", "frobnicate"]);
    assert_eq!(code(&out), 2);

    let out = env.run(&["config", "get", "SAML_CONSUMER_URLL"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("did you mean SAML_CONSUMER_URL?"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["config", "set", "saml_consumer_url", ACS]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("did you mean SAML_CONSUMER_URL?"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.table(), "");
}

#[test]
fn readme_settings_reference_is_the_schema() {
    let readme = String::from_utf8(crate::support::read(
        crate::support::repo().join("README.md"),
    ))
    .unwrap();
    let begin = "<!-- settings-reference:begin -->\n";
    let end = "<!-- settings-reference:end -->";
    let start = readme
        .find(begin)
        .expect("README has the settings-reference markers")
        + begin.len();
    let stop = readme[start..]
        .find(end)
        .expect("README has the end marker")
        + start;
    assert_eq!(
        &readme[start..stop],
        fedbridge::config::reference_table(),
        "README's settings table differs from config-schema/settings.toml: regenerate it with \
         `cargo run -- config reference` between the settings-reference markers"
    );
}
