//! Options in any position (check 3 of issue 13): every command that uses a database is run
//! with `--database` AFTER its positional arguments (and options), from a working directory
//! where a wrongly used default `fedbridge.db` would appear, and the test checks that the named
//! database was the one read or changed. Also: `--` makes an option-like word a positional one,
//! an unknown option is a usage error that writes nothing, and the commands that use no
//! database neither list nor take `--database`.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

/// `fedbridge ARGS...` run in `cwd`, without FEDBRIDGE_DATABASE.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .args(args)
        .current_dir(cwd)
        .env_remove("FEDBRIDGE_DATABASE")
        .output()
        .expect("the fedbridge binary runs")
}

/// A working directory, the database named on the command line (`right.db`, beside it), and
/// the check that the default database was never created in the working directory.
struct Setup {
    cwd: tempfile::TempDir,
    instance: Instance,
}

impl Setup {
    fn new() -> Setup {
        let setup = Setup {
            cwd: tempfile::tempdir().unwrap(),
            instance: Instance::new(),
        };
        let cert = idp_cert();
        setup.instance.config_set(&[
            ("SAML_REDIRECT_URL", "https://idp.example.test/sso"),
            ("SAML_SIGNING_CERTIFICATE", cert.as_str()),
            ("SAML_CONSUMER_URL", xmlsec::ACS),
        ]);
        setup
    }

    fn db(&self) -> &str {
        &self.instance.database
    }

    /// `fedbridge ARGS... --database DB`, which must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let mut full = args.to_vec();
        full.extend(["--database", self.db()]);
        let out = run_in(self.cwd.path(), &full);
        assert!(
            out.status.success(),
            "fedbridge {full:?} failed ({}):\n{}\n{}",
            code(&out),
            stdout(&out),
            stderr(&out)
        );
        self.no_default_database(&full);
        stdout(&out)
    }

    fn no_default_database(&self, args: &[&str]) {
        let default = self.cwd.path().join("fedbridge.db");
        assert!(
            !default.exists(),
            "fedbridge {args:?} used ./fedbridge.db instead of the --database given after the arguments"
        );
    }

    fn sql(&self, sql: &str) -> String {
        self.instance.sqlite3(sql).trim().to_owned()
    }
}

#[test]
fn every_command_takes_database_after_its_arguments() {
    let s = Setup::new();

    // config set / get / list / check / unset
    s.ok(&["config", "set", "FEDBRIDGE_CLOCK_SKEW", "91s"]);
    assert_eq!(
        s.sql("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'FEDBRIDGE_CLOCK_SKEW'"),
        "91s"
    );
    // Flags among the pairs, and the = form.
    let out = run_in(
        s.cwd.path(),
        &[
            "config",
            "set",
            "FEDBRIDGE_PRODUCT_NAME",
            "Example Corp",
            &format!("--database={}", s.db()),
            "FEDBRIDGE_EXIT_URL",
            "https://www.example.test/",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.no_default_database(&["config", "set", "--database=..."]);
    assert_eq!(
        s.sql("SELECT count(*) FROM CONFIGURATIONENTITY WHERE NAME IN ('FEDBRIDGE_PRODUCT_NAME', 'FEDBRIDGE_EXIT_URL')"),
        "2"
    );
    assert_eq!(
        s.ok(&["config", "get", "FEDBRIDGE_CLOCK_SKEW"]).trim(),
        "91s"
    );
    assert!(
        s.ok(&["config", "list"])
            .contains("FEDBRIDGE_CLOCK_SKEW = 91s")
    );
    assert!(s.ok(&["config", "check"]).contains("valid"));
    s.ok(&["config", "unset", "FEDBRIDGE_CLOCK_SKEW"]);
    assert_eq!(
        s.sql("SELECT count(*) FROM CONFIGURATIONENTITY WHERE NAME = 'FEDBRIDGE_CLOCK_SKEW'"),
        "0"
    );
    // A PEM value still starts with dashes and needs no "--".
    let cert = idp_cert();
    s.ok(&["config", "set", "SAML_SIGNING_CERTIFICATE", &cert]);

    // groups add / list / remove
    s.ok(&["groups", "add", "Sales", "Support"]);
    assert_eq!(
        s.sql("SELECT name FROM groups ORDER BY name"),
        "Sales\nSupport"
    );
    assert!(s.ok(&["groups", "list"]).contains("Support"));
    s.ok(&["groups", "remove", "Support"]);
    assert_eq!(s.sql("SELECT name FROM groups"), "Sales");

    // users list / show
    s.sql(
        "INSERT INTO users (login_name, created_at, updated_at) VALUES ('alice@example.test', 0, 0)",
    );
    assert!(s.ok(&["users", "list"]).contains("alice@example.test"));
    assert!(
        s.ok(&["users", "show", "alice@example.test"])
            .contains("login name:")
    );

    // keys rotate / list
    s.ok(&["keys", "rotate"]);
    let kid = s.sql("SELECT kid FROM signing_keys WHERE retired_at IS NULL");
    assert!(!kid.is_empty());
    assert!(s.ok(&["keys", "list"]).contains(&kid));

    // metadata
    assert!(s.ok(&["metadata"]).contains("EntityDescriptor"));

    // install (an answers file; --dry-run compares with the database and writes nothing)
    let answers = s.instance.dir.path().join("answers.toml");
    std::fs::write(
        &answers,
        format!(
            "base_url = \"https://sso.example.test\"\n\
             SAML_REDIRECT_URL = \"https://idp.example.test/sso\"\n\
             SAML_SIGNING_CERTIFICATE = \"\"\"\n{cert}\"\"\"\n"
        ),
    )
    .unwrap();
    let out = s.ok(&[
        "install",
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    // Only what differs from the rows of the database named: the IdP settings set above are
    // not listed, the new consumer URL is.
    assert!(out.contains("set    SAML_CONSUMER_URL"), "{out}");
    assert!(
        !out.contains("SAML_REDIRECT_URL"),
        "the dry run did not read --database: {out}"
    );

    // serve: --database after --listen; /healthz says configured, so the right rows were read.
    let log = s.instance.dir.path().join("serve.log");
    let (mut child, rx) = spawn_fedbridge(
        Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", s.db()])
            .current_dir(s.cwd.path())
            .env_remove("FEDBRIDGE_DATABASE")
            .env_remove("FEDBRIDGE_LISTEN"),
        &log,
    );
    let line = rx.recv_timeout(SERVER_START_DEADLINE).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!(
            "no listen line: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    let port: u16 = line
        .trim()
        .strip_prefix("fedbridge listening on http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap();
    let (status, body) = http_get(port, "/saml/metadata");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("EntityDescriptor"), "{body}");
    s.no_default_database(&["serve"]);
}

#[test]
fn option_like_names_need_a_double_dash_and_unknown_options_write_nothing() {
    let s = Setup::new();
    // An unknown option is a usage error: no group named --help-me, no ./fedbridge.db.
    let out = run_in(
        s.cwd.path(),
        &["groups", "add", "--help-me", "--database", s.db()],
    );
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    s.no_default_database(&["groups", "add", "--help-me"]);
    assert_eq!(s.sql("SELECT count(*) FROM groups"), "0");
    // After "--" it is a name.
    let out = run_in(
        s.cwd.path(),
        &["groups", "add", "--database", s.db(), "--", "--help-me"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(s.sql("SELECT name FROM groups"), "--help-me");
    // config set: a NAME never starts with "-".
    let out = run_in(
        s.cwd.path(),
        &["config", "set", "--bogus", "1", "--database", s.db()],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown option --bogus"),
        "{}",
        stderr(&out)
    );
    // users show: a login name that starts with "-" goes after "--".
    let out = run_in(
        s.cwd.path(),
        &["users", "show", "--database", s.db(), "--", "-x"],
    );
    assert_eq!(
        code(&out),
        1,
        "no such user, but a lookup: {}",
        stderr(&out)
    );
}

#[test]
fn commands_without_a_database_neither_list_nor_take_one() {
    let cwd = tempfile::tempdir().unwrap();
    for args in [["demo", "--help"], ["saml", "check"]] {
        let mut full = args.to_vec();
        if args[1] == "check" {
            full.push("--help");
        }
        let out = run_in(cwd.path(), &full);
        assert_eq!(code(&out), 0);
        assert!(
            !stdout(&out).contains("--database"),
            "{full:?} lists --database:\n{}",
            stdout(&out)
        );
    }
    let out = run_in(
        cwd.path(),
        &["--database", "x.db", "demo", "--listen", "0.0.0.0:1"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("uses no database"),
        "{}",
        stderr(&out)
    );
    let serve = stdout(&run_in(cwd.path(), &["serve", "--help"]));
    assert!(serve.contains("login flow"), "{serve}");
    assert!(!serve.contains("FEDBRIDGE_LISTEN="), "{serve}");
}
