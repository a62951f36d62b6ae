//! `fedbridge install` as an administrator runs it: the real binary, driven through a real
//! pseudo-terminal (expectrl) or from an answers file, on a temporary SQLite database, checked
//! with the `sqlite3` shell.

use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{Eof, Expect};

use crate::support::*;

const BASE: &str = "https://sso.example.test";
const ACS: &str = "https://sso.example.test/EnticeServices/rest/authenticate/saml";
const SAMPLE_ENTITY: &str = "http://127.0.0.1:8081/saml2/idp/metadata.php";

fn schema() -> &'static fedbridge::config::schema::Schema {
    fedbridge::config::schema::schema().unwrap()
}

fn prompt(name: &str) -> String {
    schema().setting(name).unwrap().installer.prompt.clone()
}

fn question(id: &str) -> String {
    fedbridge_installer::questions::questions()
        .unwrap()
        .get(id)
        .unwrap()
        .prompt
        .clone()
}

/// `fedbridge --database DB install` in a wide pseudo-terminal (no line wrapping).
fn wizard(instance: &Instance) -> Session {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fedbridge"));
    command
        .arg("--database")
        .arg(&instance.database)
        .arg("install")
        .current_dir(instance.dir.path())
        .env_remove("FEDBRIDGE_DATABASE")
        .env("TERM", "xterm");
    let mut session = expectrl::Session::spawn(command).unwrap();
    session.get_process_mut().set_window_size(1000, 50).unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(15)));
    session
}

/// Waits for `text`, then types `keys` and Enter.
fn answer(session: &mut Session, text: &str, keys: &str) {
    session
        .expect(text)
        .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}"));
    // Let the prompt switch the terminal to raw mode before typing.
    std::thread::sleep(Duration::from_millis(150));
    session.send(keys).unwrap();
    session.send("\r").unwrap();
}

/// Reads to the end and returns the exit code.
fn finish(mut session: Session) -> i32 {
    session.expect(Eof).unwrap();
    match session.get_process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("not exited: {other:?}"),
    }
}

fn rows(instance: &Instance) -> String {
    instance.sqlite3("SELECT NAME, VALUE FROM CONFIGURATIONENTITY ORDER BY NAME")
}

fn dump(instance: &Instance) -> String {
    instance.snapshot()
}

/// The message `fedbridge config set` gives for `value` of `key`: the loader's.
fn loader_message(key: &str, value: &str) -> String {
    let scratch = Instance::new();
    let out = scratch.fedbridge(&["config", "set", key, value]);
    assert_eq!(code(&out), 1);
    stderr(&out)
        .lines()
        .find(|l| l.starts_with(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no message for {key}: {}", stderr(&out)))
        .to_owned()
}

#[test]
fn the_wizard_in_a_pseudo_terminal_installs_reruns_corrects_and_is_interruptible() {
    let sample = read(shared().join("idp-samples/simplesamlphp/idp-metadata.xml"));
    let idp = MetadataServer::start(sample);
    let instance = Instance::new();
    let backspaces = "\x7f".repeat(60);

    // 1. First install, with a wrong metadata URL corrected after the loader's message.
    let wrong = "ftp://idp.example.test/md";
    let message = loader_message("SAML_METADATA_URL", wrong);
    let mut s = wizard(&instance);
    answer(&mut s, &question("database"), "");
    answer(&mut s, &question("base_url"), BASE);
    answer(&mut s, &prompt("SAML_CONSUMER_URL"), "");
    answer(&mut s, &prompt("SAML_METADATA_URL"), wrong);
    s.expect(message.as_str())
        .unwrap_or_else(|e| panic!("the loader's message {message:?}: {e}"));
    std::thread::sleep(Duration::from_millis(150));
    // Ctrl-U empties the line (as in a shell), typing no "u": the URL must be exactly this.
    s.send("\x15").unwrap();
    s.send(idp.url()).unwrap();
    s.send("\r").unwrap();
    s.expect(SAMPLE_ENTITY).unwrap();
    answer(&mut s, &question("confirm_idp"), "y");
    answer(&mut s, &prompt("SAML_SERVER_ENTITY_IDENTIFIER"), "");
    answer(&mut s, &prompt("SAML_USER_ID_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_AUTOMATIC_LOGIN"), "");
    answer(&mut s, &prompt("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS"), "");
    answer(
        &mut s,
        &prompt("SAML_USER_FULLNAME_ATTRIBUTE"),
        "displayName",
    );
    answer(&mut s, &prompt("SAML_USER_EMAIL_ATTRIBUTE"), "mail");
    answer(&mut s, &prompt("SAML_USER_GROUPS_ATTRIBUTE"), "");
    answer(&mut s, &question("confirm_write"), "y");
    s.expect("Identifier (Entity ID)").unwrap();
    s.expect(ACS).unwrap();
    s.expect("Reply URL (Assertion Consumer Service URL)")
        .unwrap();
    assert_eq!(finish(s), 0);
    assert_eq!(
        instance.sqlite3("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_CONSUMER_URL'"),
        format!("{ACS}\n")
    );
    assert_eq!(
        instance.sqlite3("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_METADATA_URL'"),
        format!("{}\n", idp.url())
    );
    assert_eq!(
        instance.sqlite3(
            "SELECT COUNT(*) FROM CONFIGURATIONENTITY WHERE NAME IN \
             ('FEDBRIDGE_SP_PRIVATE_KEY', 'FEDBRIDGE_SP_CERTIFICATE')"
        ),
        "2\n"
    );
    assert_eq!(instance.sqlite3("SELECT COUNT(*) FROM signing_keys"), "1\n");
    // The mappings answered are rows; the one left empty is not.
    assert_eq!(
        instance.sqlite3(
            "SELECT NAME, VALUE FROM CONFIGURATIONENTITY WHERE NAME LIKE 'SAML_USER_%' ORDER BY NAME"
        ),
        "SAML_USER_EMAIL_ATTRIBUTE|mail\nSAML_USER_FULLNAME_ATTRIBUTE|displayName\n"
    );
    // The document fetched is cached for `serve`.
    assert_eq!(
        instance.sqlite3(&format!(
            "SELECT count(*) FROM idp_metadata_cache WHERE url = '{}' AND body LIKE '%{SAMPLE_ENTITY}%'",
            idp.url()
        )),
        "1\n"
    );
    let metadata =
        std::fs::read_to_string(instance.dir.path().join("fedbridge-sp-metadata.xml")).unwrap();
    assert!(metadata.contains(&format!("entityID=\"{ACS}\"")));
    assert_eq!(code(&instance.fedbridge(&["config", "check"])), 0);

    // 2. A re-run that changes one answer: the current values are the defaults.
    instance.sqlite3("INSERT INTO CONFIGURATIONENTITY VALUES ('SOMEONE_ELSES_ROW', 'kept')");
    let before = rows(&instance);
    let mut s = wizard(&instance);
    answer(&mut s, &question("database"), "");
    answer(&mut s, &question("base_url"), "");
    answer(&mut s, &prompt("SAML_CONSUMER_URL"), "");
    answer(&mut s, &prompt("SAML_METADATA_URL"), "");
    answer(&mut s, &question("confirm_idp"), "y");
    answer(&mut s, &prompt("SAML_SERVER_ENTITY_IDENTIFIER"), "");
    answer(&mut s, &prompt("SAML_USER_ID_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_AUTOMATIC_LOGIN"), "\x7f1");
    answer(&mut s, &prompt("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS"), "");
    answer(&mut s, &prompt("SAML_USER_FULLNAME_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_USER_EMAIL_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_USER_GROUPS_ATTRIBUTE"), "");
    s.expect("set    SAML_AUTOMATIC_LOGIN = 1").unwrap();
    answer(&mut s, &question("confirm_write"), "y");
    assert_eq!(finish(s), 0);
    let after = rows(&instance);
    let expected: String = format!("{before}SAML_AUTOMATIC_LOGIN|1\n");
    let mut expected: Vec<&str> = expected.lines().collect();
    expected.sort_unstable();
    let mut got: Vec<&str> = after.lines().collect();
    got.sort_unstable();
    assert_eq!(got, expected, "only SAML_AUTOMATIC_LOGIN is added");
    assert_eq!(instance.sqlite3("SELECT COUNT(*) FROM signing_keys"), "1\n");

    // 3. Ctrl-C midway (after a changed answer) leaves the database exactly as it was.
    let before = dump(&instance);
    let mut s = wizard(&instance);
    answer(&mut s, &question("database"), "");
    answer(
        &mut s,
        &question("base_url"),
        &format!("{backspaces}https://other.example.test"),
    );
    s.expect(prompt("SAML_CONSUMER_URL").as_str()).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    s.send("\x03").unwrap();
    s.expect("nothing written").unwrap();
    assert_eq!(finish(s), 1);
    assert_eq!(dump(&instance), before);

    // ... and so does Ctrl-C at the final confirmation.
    let mut s = wizard(&instance);
    answer(&mut s, &question("database"), "");
    answer(
        &mut s,
        &question("base_url"),
        &format!("{backspaces}https://other.example.test"),
    );
    answer(&mut s, &prompt("SAML_CONSUMER_URL"), "");
    answer(&mut s, &prompt("SAML_METADATA_URL"), "");
    answer(&mut s, &question("confirm_idp"), "y");
    answer(&mut s, &prompt("SAML_SERVER_ENTITY_IDENTIFIER"), "");
    answer(&mut s, &prompt("SAML_USER_ID_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_AUTOMATIC_LOGIN"), "");
    answer(&mut s, &prompt("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS"), "");
    answer(&mut s, &prompt("SAML_USER_FULLNAME_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_USER_EMAIL_ATTRIBUTE"), "");
    answer(&mut s, &prompt("SAML_USER_GROUPS_ATTRIBUTE"), "");
    s.expect(question("confirm_write").as_str()).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    s.send("\x03").unwrap();
    assert_eq!(finish(s), 1);
    assert_eq!(dump(&instance), before);
}

#[test]
fn an_answers_file_installs_a_configuration_that_checks_and_serves() {
    let instance = Instance::new();
    let cert = instance.dir.path().join("idp.pem");
    std::fs::write(&cert, idp_cert()).unwrap();
    let answers = instance.dir.path().join("answers.toml");
    std::fs::write(
        &answers,
        format!(
            "base_url = \"{BASE}\"\n\
             SAML_METADATA_URL = \"\"\n\
             SAML_REDIRECT_URL = \"https://idp.example.test/sso\"\n\
             SAML_SIGNING_CERTIFICATE = \"{}\"\n\
             SAML_USER_ID_ATTRIBUTE = \"upn\"\n\
             SAML_AUTOMATIC_LOGIN = 1\n\
             FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS = [\"https://apps.example.test/\"]\n",
            cert.display()
        ),
    )
    .unwrap();
    let answers = answers.to_str().unwrap();

    // --dry-run writes nothing, not even the database file.
    let out = instance.fedbridge(&["install", "--answers", answers, "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("SAML_CONSUMER_URL = https://sso.example.test/EnticeServices"));
    assert!(stdout(&out).contains("FEDBRIDGE_SP_PRIVATE_KEY = ********"));
    assert!(!stdout(&out).contains("PRIVATE KEY-----"));
    assert!(instance.untouched());

    let out = instance.fedbridge(&["install", "--answers", answers]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("Claim: login name"));
    assert_eq!(code(&instance.fedbridge(&["config", "check"])), 0);
    assert_eq!(
        instance
            .sqlite3("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_USER_ID_ATTRIBUTE'"),
        "upn\n"
    );

    // Run again with --dry-run on the installed database: nothing to change, nothing written.
    let before = instance.snapshot();
    let out = instance.fedbridge(&["install", "--answers", answers, "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("change no setting"),
        "{}",
        stdout(&out)
    );
    assert_eq!(instance.snapshot(), before);

    let server = instance.serve("serve.log");
    let (status, body) = server.get("/saml/metadata");
    assert_eq!(status, 200, "{}", server.log());
    assert!(body.contains(&format!("entityID=\"{ACS}\"")), "{body}");
    // The server records itself every 2 s (node_status): stopped, so the snapshots below
    // compare.
    drop(server);

    // A wrong answer in a file is refused with the loader's message; nothing written.
    std::fs::write(
        instance.dir.path().join("bad.toml"),
        "SAML_AUTOMATIC_LOGIN = \"yes\"\n",
    )
    .unwrap();
    let before = instance.snapshot();
    let bad = instance.dir.path().join("bad.toml");
    let out = instance.fedbridge(&["install", "--answers", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let message = loader_message("SAML_AUTOMATIC_LOGIN", "yes");
    assert!(stderr(&out).contains(&message), "{}", stderr(&out));
    assert_eq!(instance.snapshot(), before);

    // Issue 11, point 4: a row the answers do not touch, broken with SQL, blocks the install
    // (the server would keep the last valid configuration): named, nothing written.
    instance.sqlite3(
        "DELETE FROM CONFIGURATIONENTITY WHERE NAME = 'FEDBRIDGE_CLOCK_SKEW'; \
         INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDBRIDGE_CLOCK_SKEW', '90 s');",
    );
    std::fs::write(&bad, "SAML_AUTOMATIC_LOGIN = 0\n").unwrap();
    let before = instance.snapshot();
    let out = instance.fedbridge(&["install", "--answers", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = stderr(&out);
    let blocking = text
        .split_once("Blocking rows")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(blocking.contains("FEDBRIDGE_CLOCK_SKEW: '90 s'"), "{text}");
    assert_eq!(instance.snapshot(), before);
}

#[test]
fn every_prompt_comes_from_config_schema() {
    use fedbridge_installer::plan::{Step, steps};
    let schema = schema();
    let questions = fedbridge_installer::questions::questions().unwrap();
    let steps = steps(schema);
    // Every installer setting of the schema is asked, in the schema's order, and nothing else.
    let asked: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Setting(name) => Some(name.as_str()),
            Step::Question(_) => None,
        })
        .collect();
    let marked: Vec<&str> = schema
        .installer_prompts()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(asked, marked);
    // Every other question is one of config-schema/installer.toml.
    for step in &steps {
        if let Step::Question(id) = step {
            assert!(questions.question.contains_key(*id), "{id}");
        }
    }
    // No prompt, help text or proposal is written in the installer's code.
    let mut texts: Vec<String> = Vec::new();
    for def in &schema.settings {
        texts.push(def.installer.prompt.clone());
        texts.push(def.installer.help.clone());
    }
    for q in questions.question.values() {
        texts.push(q.prompt.clone());
        texts.push(q.help.clone());
    }
    texts.push(questions.proposal.consumer_path.clone());
    let mut sources = vec![repo().join("cli/src/install.rs")];
    for entry in std::fs::read_dir(repo().join("installer/src")).unwrap() {
        sources.push(entry.unwrap().path());
    }
    for path in sources {
        let code = std::fs::read_to_string(&path).unwrap();
        // The unit tests below `#[cfg(test)]` may quote what they check.
        // Comments may name what they describe; code may not hold the text.
        let code: String = code
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for text in &texts {
            assert!(
                !code.contains(text.as_str()),
                "{} repeats {text:?} of config-schema/: take it from the schema",
                path.display()
            );
        }
    }
}

/// An aggregate of two sample IdPs (SimpleSAMLphp's, then pysaml2's).
fn aggregate() -> Vec<u8> {
    let strip = |name: &str| {
        let text = String::from_utf8(read(
            shared().join(format!("idp-samples/{name}/idp-metadata.xml")),
        ))
        .unwrap();
        match text.find("?>") {
            Some(end) if text.starts_with("<?xml") => text[end + 2..].to_owned(),
            _ => text,
        }
    };
    format!(
        "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">{}{}</EntitiesDescriptor>",
        strip("simplesamlphp"),
        strip("pysaml2")
    )
    .into_bytes()
}

const PYSAML2_ENTITY: &str = "http://127.0.0.1:8082/metadata";

#[test]
fn an_aggregate_metadata_url_is_installed_by_choosing_its_idp() {
    let idp = MetadataServer::start(aggregate());
    // Interactive: the IdPs of the aggregate are offered; the second one is picked.
    let instance = Instance::new();
    let mut s = wizard(&instance);
    answer(&mut s, &question("database"), "");
    answer(&mut s, &question("base_url"), BASE);
    answer(&mut s, &prompt("SAML_CONSUMER_URL"), "");
    answer(&mut s, &prompt("SAML_METADATA_URL"), &idp.url());
    s.expect(question("choose_idp").as_str()).unwrap();
    s.expect(PYSAML2_ENTITY).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    s.send("\x1b[B").unwrap(); // arrow down
    std::thread::sleep(Duration::from_millis(100));
    s.send("\r").unwrap();
    answer(&mut s, &question("confirm_idp"), "y");
    // The pick is the proposed answer.
    answer(&mut s, &prompt("SAML_SERVER_ENTITY_IDENTIFIER"), "");
    for name in [
        "SAML_USER_ID_ATTRIBUTE",
        "SAML_AUTOMATIC_LOGIN",
        "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
        "SAML_USER_FULLNAME_ATTRIBUTE",
        "SAML_USER_EMAIL_ATTRIBUTE",
        "SAML_USER_GROUPS_ATTRIBUTE",
    ] {
        answer(&mut s, &prompt(name), "");
    }
    answer(&mut s, &question("confirm_write"), "y");
    assert_eq!(finish(s), 0);
    assert_eq!(
        instance.sqlite3(
            "SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_SERVER_ENTITY_IDENTIFIER'"
        ),
        format!("{PYSAML2_ENTITY}\n")
    );
    assert_eq!(code(&instance.fedbridge(&["config", "check"])), 0);

    // An answers file names the IdP, or is refused with the metadata's message.
    let answers = |instance: &Instance, extra: &str| {
        let path = instance.dir.path().join("answers.toml");
        std::fs::write(
            &path,
            format!(
                "base_url = \"{BASE}\"\nSAML_METADATA_URL = \"{}\"\n{extra}",
                idp.url()
            ),
        )
        .unwrap();
        instance.fedbridge(&["install", "--answers", path.to_str().unwrap()])
    };
    let instance = Instance::new();
    let out = answers(&instance, "");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds 2 identity providers")
            && stderr(&out).contains("SAML_SERVER_ENTITY_IDENTIFIER"),
        "{}",
        stderr(&out)
    );
    assert!(!instance.db.exists(), "nothing written");
    let out = answers(
        &instance,
        &format!("SAML_SERVER_ENTITY_IDENTIFIER = \"{PYSAML2_ENTITY}\"\n"),
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(PYSAML2_ENTITY), "{}", stdout(&out));
}

#[test]
fn a_metadata_url_that_cannot_be_fetched_yet_is_saved_only_when_confirmed() {
    // A port nothing listens on (the server is stopped at once).
    let mut idp = MetadataServer::start(Vec::new());
    let url = idp.url();
    idp.stop();
    let instance = Instance::new();
    let path = instance.dir.path().join("answers.toml");
    let write = |extra: &str| {
        std::fs::write(
            &path,
            format!("base_url = \"{BASE}\"\nSAML_METADATA_URL = \"{url}\"\n{extra}"),
        )
        .unwrap();
    };
    write("");
    let out = instance.fedbridge(&["install", "--answers", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("confirm_unreachable_metadata = true"),
        "{}",
        stderr(&out)
    );
    assert!(!instance.db.exists(), "nothing written");
    write("confirm_unreachable_metadata = true\n");
    let out = instance.fedbridge(&["install", "--answers", path.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        instance.sqlite3("SELECT VALUE FROM CONFIGURATIONENTITY WHERE NAME = 'SAML_METADATA_URL'"),
        format!("{url}\n")
    );
    assert_eq!(
        instance.sqlite3("SELECT count(*) FROM idp_metadata_cache"),
        "0\n"
    );
    // A document that arrives and is refused is never saved, confirmation or not.
    let garbage = MetadataServer::start(b"<html>not metadata</html>".to_vec());
    let other = Instance::new();
    let path = other.dir.path().join("answers.toml");
    std::fs::write(
        &path,
        format!(
            "base_url = \"{BASE}\"\nSAML_METADATA_URL = \"{}\"\nconfirm_unreachable_metadata = true\n",
            garbage.url()
        ),
    )
    .unwrap();
    let out = other.fedbridge(&["install", "--answers", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!other.db.exists());
}
