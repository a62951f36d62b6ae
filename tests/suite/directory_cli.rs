//! `fedbridge groups` and `fedbridge users` as an administrator runs them: the binary, a
//! temporary SQLite database, and the `sqlite3` shell to look at the tables behind fedbridge's
//! back. Users are created by the login sync itself (`Store::sync_login`).

use std::collections::BTreeSet;
use std::process::Output;

use fedbridge::store::Store;
use fedbridge::sync::{GroupClaim, Identity, SyncPolicy};

use crate::support::*;

/// The group names, one a line, as the `sqlite3` shell sees them.
fn group_names(env: &Instance) -> String {
    env.sqlite3("SELECT name FROM groups ORDER BY name")
}

fn ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
    stdout(out)
}

#[test]
fn groups_add_list_remove_round_trip() {
    let env = Instance::new();
    let out = env.fedbridge(&["groups", "list"]);
    assert!(ok(&out).contains("(no groups)"));

    ok(&env.fedbridge(&["groups", "add", "Sales", "sales", "R&D team"]));
    assert_eq!(group_names(&env), "R&D team\nSales\nsales\n");

    let listing = ok(&env.fedbridge(&["groups", "list"]));
    assert!(listing.contains("NAME"), "{listing}");
    for name in ["Sales", "sales", "R&D team"] {
        assert!(listing.contains(name), "{listing}");
    }

    let out = ok(&env.fedbridge(&["groups", "remove", "sales", "R&D team"]));
    assert!(out.contains("removed 0 membership(s)"), "{out}");
    assert_eq!(group_names(&env), "Sales\n");
}

#[test]
fn duplicate_add_is_refused_and_writes_nothing() {
    let env = Instance::new();
    ok(&env.fedbridge(&["groups", "add", "Sales"]));
    let out = env.fedbridge(&["groups", "add", "Marketing", "Sales", "Support"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("\"Sales\" exists already"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nothing added"), "{}", stderr(&out));
    assert_eq!(group_names(&env), "Sales\n");
}

#[test]
fn remove_of_an_unknown_group_removes_nothing() {
    let env = Instance::new();
    ok(&env.fedbridge(&["groups", "add", "Sales", "Support"]));
    let out = env.fedbridge(&["groups", "remove", "Sales", "SALES"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no group \"SALES\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(group_names(&env), "Sales\nSupport\n");
}

#[test]
fn invalid_names_are_usage_errors() {
    let env = Instance::new();
    for bad in ["", " Sales", "Sales ", "Sa\tles", "Sa\u{7}les"] {
        let out = env.fedbridge(&["groups", "add", "Good", bad]);
        assert_eq!(code(&out), 2, "{bad:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("invalid group name"),
            "{}",
            stderr(&out)
        );
    }
    // Refused before the database is even opened.
    assert!(env.untouched());
}

#[test]
fn users_show_splits_federated_and_local_groups() {
    let env = Instance::new();
    ok(&env.fedbridge(&["groups", "add", "Sales", "Support", "Admins"]));
    let store = Store::open(&env.database).unwrap();
    let identity = Identity {
        login_name: "alice@example.test".into(),
        name_id: Some("alice@example.test".into()),
        full_name: Some("Alice Example".into()),
        email: Some("alice@example.test".into()),
        description: Some("Sales lead".into()),
        groups: GroupClaim::Present(BTreeSet::from(["Sales".to_owned(), "Support".to_owned()])),
    };
    let outcome = store
        .sync_login(&identity, &SyncPolicy::default(), 1_767_225_600)
        .unwrap()
        .unwrap();
    drop(store);
    // A local membership, added by an administrator, and two logins in the audit.
    env.sqlite3(&format!(
        "UPDATE users SET external_id = 'ext-alice-1'; \
         INSERT INTO memberships (user_id, group_id, federated) \
         SELECT {}, id, FALSE FROM groups WHERE name = 'Admins'; \
         INSERT INTO login_audit (at, outcome, reason_code, idp, login_name, correlation_id) \
         VALUES (1767225600, 'accepted', NULL, 'https://idp.example.test', 'alice@example.test', 'c-1'), \
                (1767229200, 'rejected', 'replay', 'https://idp.example.test', 'alice@example.test', 'c-2');",
        outcome.user_id
    ));

    let shown = ok(&env.fedbridge(&["users", "show", "alice@example.test"]));
    for expected in [
        "alice@example.test",
        "ext-alice-1",
        "Alice Example",
        "Sales lead",
        "inherit licences:    yes",
        "inherit permissions: yes",
        "federated groups:    Sales, Support",
        "local groups:        Admins",
        "2026-01-01T01:00:00Z rejected reason=replay",
        "2026-01-01T00:00:00Z accepted",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
    // Newest first.
    let newer = shown.find("rejected").unwrap();
    let older = shown.find("accepted").unwrap();
    assert!(newer < older, "{shown}");

    let listing = ok(&env.fedbridge(&["users", "list"]));
    let line = listing
        .lines()
        .find(|l| l.starts_with("alice@example.test"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(line.contains("Alice Example"), "{line}");
    assert!(line.contains(" 3  2026-01-01T01:00:00Z"), "{line}");

    let groups = ok(&env.fedbridge(&["groups", "list"]));
    let admins = groups.lines().find(|l| l.starts_with("Admins")).unwrap();
    assert_eq!(
        admins.split_whitespace().collect::<Vec<_>>(),
        ["Admins", "1", "0", "1", "-"]
    );

    // Removing a group takes its memberships with it.
    let out = ok(&env.fedbridge(&["groups", "remove", "Sales"]));
    assert!(out.contains("removed 1 membership(s)"), "{out}");
    let shown = ok(&env.fedbridge(&["users", "show", "alice@example.test"]));
    assert!(shown.contains("federated groups:    Support"), "{shown}");
}

#[test]
fn unknown_user_is_exit_1() {
    let env = Instance::new();
    let out = env.fedbridge(&["users", "show", "nobody"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no user \"nobody\""),
        "{}",
        stderr(&out)
    );
    assert!(ok(&env.fedbridge(&["users", "list"])).contains("(no users)"));
}

#[test]
fn groups_carry_idp_ids_which_groups_list_shows() {
    let env = Instance::new();
    let guid = "be9c7ccc-07c4-4149-8fa4-958ea36c9aba";
    let sid = "S-1-5-21-1004336348-1177238915-682003330-512";
    let out = ok(&env.fedbridge(&[
        "groups",
        "add",
        "Engineering",
        "--idp-id",
        guid,
        "--idp-id",
        sid,
    ]));
    assert!(out.contains("added group \"Engineering\""), "{out}");
    ok(&env.fedbridge(&["groups", "add", "Sales"]));
    assert_eq!(
        env.sqlite3(
            "SELECT g.name, i.idp_id FROM group_idp_ids i JOIN groups g ON g.id = i.group_id \
             ORDER BY i.idp_id"
        ),
        format!("Engineering|{sid}\nEngineering|{guid}\n")
    );
    let listing = ok(&env.fedbridge(&["groups", "list"]));
    assert!(listing.contains("IDP IDS"), "{listing}");
    let engineering = listing
        .lines()
        .find(|l| l.starts_with("Engineering"))
        .unwrap();
    assert!(
        engineering.ends_with(&format!("{sid}, {guid}")),
        "{engineering}"
    );
    let sales = listing.lines().find(|l| l.starts_with("Sales")).unwrap();
    assert!(sales.ends_with(" -"), "{sales}");

    // An identifier names one group, whatever its letter case: nothing is added.
    let out = env.fedbridge(&[
        "groups",
        "add",
        "Marketing",
        "--idp-id",
        &guid.to_uppercase(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is already on group \"Engineering\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(group_names(&env), "Engineering\nSales\n");
    // --idp-id belongs to one group; an identifier is checked like a name.
    for args in [
        vec!["groups", "add", "A", "B", "--idp-id", "x"],
        vec!["groups", "add", "A", "--idp-id", " x"],
        vec!["groups", "add", "A", "--idp-id", ""],
    ] {
        let out = env.fedbridge(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    assert_eq!(group_names(&env), "Engineering\nSales\n");
    // A name that begins with a hyphen goes after `--`.
    ok(&env.fedbridge(&["groups", "add", "--idp-id", "x-1", "--", "-Ops"]));
    assert_eq!(group_names(&env), "-Ops\nEngineering\nSales\n");
    // Removing the group removes its identifiers (the shell does not enforce foreign keys).
    ok(&env.fedbridge(&["groups", "remove", "Engineering"]));
    assert_eq!(env.sqlite3("SELECT idp_id FROM group_idp_ids"), "x-1\n");
}

#[test]
fn users_set_external_id_records_checks_and_clears_it() {
    let env = Instance::new();
    ok(&env.fedbridge(&["users", "list"]));
    env.sqlite3(
        "INSERT INTO users (login_name, created_at, updated_at) VALUES ('asmith', 0, 0), \
         ('bjones', 0, 0);",
    );
    let out = ok(&env.fedbridge(&["users", "set-external-id", "ASmith", "a.smith@corp.test"]));
    assert_eq!(
        out,
        "external ID of \"asmith\" set to \"a.smith@corp.test\"\n"
    );
    let shown = ok(&env.fedbridge(&["users", "show", "asmith"]));
    assert!(
        shown.contains("external ID:         a.smith@corp.test"),
        "{shown}"
    );
    // Another user's external ID, an unknown user, an invalid ID: nothing changes.
    let out = env.fedbridge(&["users", "set-external-id", "bjones", "a.smith@corp.test"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("\"asmith\""), "{}", stderr(&out));
    let out = env.fedbridge(&["users", "set-external-id", "nobody", "x"]);
    assert_eq!(code(&out), 1);
    let out = env.fedbridge(&["users", "set-external-id", "bjones", " padded"]);
    assert_eq!(code(&out), 2);
    let out = env.fedbridge(&["users", "set-external-id", "bjones"]);
    assert_eq!(code(&out), 2, "an ID or --clear: {}", stderr(&out));
    assert_eq!(
        env.sqlite3("SELECT login_name, external_id FROM users ORDER BY login_name"),
        "asmith|a.smith@corp.test\nbjones|<NULL>\n"
    );
    let out = ok(&env.fedbridge(&["users", "set-external-id", "asmith", "--clear"]));
    assert_eq!(out, "external ID of \"asmith\" removed\n");
    assert_eq!(
        env.sqlite3("SELECT count(*) FROM users WHERE external_id IS NOT NULL"),
        "0\n"
    );
}

#[test]
fn every_output_escapes_terminal_escapes_and_invisible_characters() {
    // Issue 11, point 6: names with U+202E / U+200B / C1 / ESC were printed raw, so a stored
    // value could clear the screen, recolour it or reorder what the administrator reads.
    let env = Instance::new();
    env.fedbridge_ok(&["users", "list"]); // creates the database
    env.sqlite3(
        "INSERT INTO users (login_name, full_name, email, created_at, updated_at) \
         VALUES ('bob\u{202e}txt.exe', 'x\u{1b}[2J', 'b\u{200b}@example.test', 0, 0); \
         INSERT INTO groups (name) VALUES ('ops\u{1b}[31m'); \
         INSERT INTO memberships (user_id, group_id, federated) SELECT u.id, g.id, TRUE FROM users u, groups g; \
         INSERT INTO login_audit (at, outcome, reason_code, idp, login_name, correlation_id) \
         VALUES (0, 'rejected', 'x', 'https://idp\u{9b}2J', 'bob\u{202e}txt.exe', 'c\u{7}'); \
         INSERT INTO CONFIGURATIONENTITY VALUES ('FEDBRIDGE_XSESSION_AUDIENCE', 'aud\u{1b}]0;owned\u{7}');",
    );
    let raw = ['\u{202e}', '\u{1b}', '\u{200b}', '\u{9b}', '\u{7}'];
    let outputs = [
        env.fedbridge(&["users", "list"]),
        env.fedbridge(&["users", "show", "bob\u{202e}txt.exe"]),
        env.fedbridge(&["users", "show", "nobody\u{1b}[2J"]),
        env.fedbridge(&["groups", "list"]),
        env.fedbridge(&["groups", "add", "ops\u{1b}[31m"]),
        env.fedbridge(&["config", "list"]),
        env.fedbridge(&["config", "get", "FEDBRIDGE_XSESSION_AUDIENCE"]),
        env.fedbridge(&["config", "check"]),
    ];
    let mut seen = String::new();
    for out in &outputs {
        let text = format!("{}{}", stdout(out), stderr(out));
        assert!(!text.contains(raw), "a raw hidden character in:\n{text:?}");
        seen.push_str(&text);
    }
    for escaped in [
        "bob\\u{202e}txt.exe",
        "x\\u{1b}[2J",
        "b\\u{200b}@",
        "ops\\u{1b}[31m",
    ] {
        assert!(seen.contains(escaped), "{escaped} not in:\n{seen}");
    }
    for escaped in [
        "idp\\u{9b}2J",
        "c\\u{7}",
        "aud\\u{1b}]0;owned\\u{7}",
        "nobody\\u{1b}[2J",
    ] {
        assert!(seen.contains(escaped), "{escaped} not in:\n{seen}");
    }
    // For scripts, the exact bytes on request.
    let exact = env.fedbridge(&["config", "get", "--raw", "FEDBRIDGE_XSESSION_AUDIENCE"]);
    assert_eq!(stdout(&exact), "aud\u{1b}]0;owned\u{7}\n");
}

#[test]
fn the_command_line_prints_only_through_its_escaping_writer() {
    // cli/src/out.rs is the one place that writes; the installer escapes every print.
    let mut offenders = Vec::new();
    for dir in ["cli/src", "installer/src"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("cli/src/out.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let prints = ["print!(", "println!("].iter().any(|m| line.contains(m));
                let escaped = line.contains("escape_output(") || !line.contains('{');
                if prints && !(dir == "installer/src" && escaped) {
                    offenders.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
