//! Tests of the login transaction, revocation and the audit rows.

use std::collections::BTreeSet;
use std::sync::Barrier;

use diesel::Connection as _;

use diesel::prelude::*;
use time::OffsetDateTime;

use super::{CompleteLoginError, CountedRefusals, LoginAudit, LoginRecord, SessionRecord};
use crate::store::schema::{
    groups, login_audit, memberships, outstanding_requests, replay_cache, revoked_sessions, users,
    xsessions,
};
use crate::store::testing::{identity, names};
use crate::store::{
    ClaimLost, GroupChangeRefused, OutstandingRequest, Store, SyncOutcome, UsedAssertion,
    UsedMessages,
};
use crate::sync::{Identity, SyncPolicy};

/// The time of the tests (epoch seconds).
const NOW: i64 = 1_800_000_000;
/// How long a claimed assertion is kept.
const ASSERTION_TTL: i64 = 300;
/// How long a recorded token lives.
const TOKEN_TTL: i64 = 3_600;
const IDP: &str = "https://idp.example.com";

type Login = Result<SyncOutcome, CompleteLoginError>;

fn at(epoch: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(epoch).unwrap()
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&crate::store::testing::database_in(
        dir.path(),
        "fedbridge.db",
        "sessions",
    ))
    .unwrap()
}

/// Every group managed, missing ones created.
fn creating() -> SyncPolicy {
    SyncPolicy {
        create_missing_groups: true,
        ..SyncPolicy::default()
    }
}

/// The audit of a login at `now`; its outcome must be replaced by "accepted".
fn audit<'a>(now: i64, login: &'a str, correlation_id: &'a str) -> LoginAudit<'a> {
    LoginAudit {
        at: now,
        outcome: "pending",
        reason_code: None,
        detail: None,
        idp: Some(IDP),
        login_name: Some(login),
        correlation_id,
        flags: None,
        dry_run: false,
        clock_offset: None,
        attributes: None,
        changes: None,
        client: None,
    }
}

/// Records the outstanding request `request_id` at `now` (5 minutes to live) and returns what
/// a validation that answered it with the assertion `assertion_id` uses up.
fn claims(store: &Store, request_id: &str, assertion_id: &str, now: i64) -> UsedMessages {
    let handle = format!("handle-{request_id}");
    store
        .remember_request(
            request_id,
            &handle,
            Some("/app"),
            None,
            at(now),
            time::Duration::minutes(5),
        )
        .unwrap();
    UsedMessages {
        assertion: Some(used_assertion(assertion_id, now + ASSERTION_TTL)),
        request: Some(OutstandingRequest {
            request_id: request_id.to_owned(),
            relay_handle: handle,
            target: Some("/app".into()),
            purpose: "login".into(),
            browser_binding: None,
        }),
    }
}

fn used_assertion(assertion_id: &str, expires_at: i64) -> UsedAssertion {
    UsedAssertion {
        assertion_id: assertion_id.to_owned(),
        expires_at,
    }
}

/// A login of `identity` at `now` using up `used`, recording the session `jti` (sid
/// `sid-<jti>`) until `expires_at`; managed groups All, creating missing groups.
fn complete(
    store: &Store,
    used: &UsedMessages,
    identity: &crate::sync::Identity,
    jti: &str,
    now: i64,
    expires_at: i64,
) -> Login {
    let sid = format!("sid-{jti}");
    let login = identity.login_name.clone();
    store.complete_login(&LoginRecord {
        used,
        identity,
        policy: &creating(),
        session: SessionRecord {
            jti,
            sid: &sid,
            expires_at,
        },
        audit: audit(now, &login, "corr"),
    })
}

/// A complete login of `login` with `groups` at `now` (its own request and assertion, named
/// after `jti`), managed groups All, creating missing groups; the token expires at `expires_at`.
fn login_until(
    store: &Store,
    login: &str,
    groups: Option<&[&str]>,
    jti: &str,
    now: i64,
    expires_at: i64,
) -> Login {
    let claims = claims(store, &format!("_req-{jti}"), &format!("_as-{jti}"), now);
    complete(
        store,
        &claims,
        &identity(login, groups),
        jti,
        now,
        expires_at,
    )
}

/// [`login_until`] at [`NOW`], the token living [`TOKEN_TTL`].
fn login(store: &Store, login: &str, groups: Option<&[&str]>, jti: &str) -> Login {
    login_until(store, login, groups, jti, NOW, NOW + TOKEN_TTL)
}

/// How many rows each table the login writes holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    users: i64,
    groups: i64,
    memberships: i64,
    xsessions: i64,
    revoked: i64,
    audit: i64,
    replay: i64,
    requests: i64,
}

fn counts(store: &Store) -> Counts {
    let mut conn = store.conn().unwrap();
    let conn = &mut *conn;
    Counts {
        users: users::table.count().get_result(conn).unwrap(),
        groups: groups::table.count().get_result(conn).unwrap(),
        memberships: memberships::table.count().get_result(conn).unwrap(),
        xsessions: xsessions::table.count().get_result(conn).unwrap(),
        revoked: revoked_sessions::table.count().get_result(conn).unwrap(),
        audit: login_audit::table.count().get_result(conn).unwrap(),
        replay: replay_cache::table.count().get_result(conn).unwrap(),
        requests: outstanding_requests::table
            .count()
            .get_result(conn)
            .unwrap(),
    }
}

fn request_exists(store: &Store, request_id: &str) -> bool {
    diesel::select(diesel::dsl::exists(
        outstanding_requests::table.filter(outstanding_requests::request_id.eq(request_id)),
    ))
    .get_result(&mut *store.conn().unwrap())
    .unwrap()
}

fn set_disabled(store: &Store, login: &str, disabled: bool) {
    let changed = diesel::update(users::table.filter(users::login_name.eq(login)))
        .set(users::disabled.eq(disabled))
        .execute(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(changed, 1);
}

fn user_groups(store: &Store, login: &str) -> BTreeSet<String> {
    let rows: Vec<String> = memberships::table
        .inner_join(users::table)
        .inner_join(groups::table)
        .filter(users::login_name.eq(login))
        .select(groups::name)
        .load(&mut *store.conn().unwrap())
        .unwrap();
    rows.into_iter().collect()
}

fn revoked_rows(store: &Store) -> Vec<(String, i64)> {
    revoked_sessions::table
        .select((revoked_sessions::jti, revoked_sessions::expires_at))
        .order(revoked_sessions::jti.asc())
        .load(&mut *store.conn().unwrap())
        .unwrap()
}

type XsessionRow = (String, String, i64, i64, i64);
type AuditRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn audit_rows(store: &Store) -> Vec<AuditRow> {
    login_audit::table
        .select((
            login_audit::at,
            login_audit::outcome,
            login_audit::reason_code,
            login_audit::detail,
            login_audit::idp,
            login_audit::login_name,
            login_audit::correlation_id,
        ))
        .order(login_audit::id.asc())
        .load(&mut *store.conn().unwrap())
        .unwrap()
}

#[test]
fn a_successful_login_writes_its_rows_and_consumes_the_claims() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let claims = claims(&store, "_req1", "_as1", NOW);
    assert!(request_exists(&store, "_req1"));
    let outcome = store
        .complete_login(&LoginRecord {
            used: &claims,
            identity: &identity("ada", Some(&["A", "B"])),
            policy: &creating(),
            session: SessionRecord {
                jti: "jti-1",
                sid: "sid-jti-1",
                expires_at: NOW + TOKEN_TTL,
            },
            audit: audit(NOW, "ada", "corr-1"),
        })
        .unwrap();
    assert!(outcome.plan.create_user);
    assert_eq!(outcome.groups, names(&["A", "B"]));

    let sessions: Vec<XsessionRow> = xsessions::table
        .select((
            xsessions::jti,
            xsessions::sid,
            xsessions::user_id,
            xsessions::issued_at,
            xsessions::expires_at,
        ))
        .load(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(
        sessions,
        vec![(
            "jti-1".to_owned(),
            "sid-jti-1".to_owned(),
            outcome.user_id,
            NOW,
            NOW + TOKEN_TTL
        )]
    );
    assert_eq!(
        audit_rows(&store),
        vec![(
            NOW,
            "accepted".to_owned(),
            None,
            None,
            Some(IDP.to_owned()),
            Some("ada".to_owned()),
            Some("corr-1".to_owned()),
        )]
    );
    let replay: Vec<(String, i64)> = replay_cache::table
        .select((replay_cache::assertion_id, replay_cache::expires_at))
        .load(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(replay, vec![("_as1".to_owned(), NOW + ASSERTION_TTL)]);
    assert!(!request_exists(&store, "_req1"));
    assert_eq!(
        counts(&store),
        Counts {
            users: 1,
            groups: 2,
            memberships: 2,
            xsessions: 1,
            revoked: 0,
            audit: 1,
            replay: 1,
            requests: 0,
        }
    );
    assert!(store.session_active("jti-1").unwrap());
}

#[test]
fn a_replayed_assertion_loses_its_claim_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let claims = claims(&store, "_req1", "_as1", NOW);
    // Another login committed the assertion after this one's validation read the ledger.
    let used = UsedMessages {
        assertion: Some(used_assertion("_as1", NOW + 60)),
        request: None,
    };
    store.use_up(&used, at(NOW)).unwrap().unwrap();
    assert!(store.assertion_used("_as1").unwrap());
    let before = counts(&store);
    let result = login_with(&store, &claims, "ada", NOW);
    assert!(
        matches!(
            result,
            Err(CompleteLoginError::ClaimLost(ClaimLost::Assertion))
        ),
        "{result:?}"
    );
    // The request's delete (the first claim) was rolled back with the rest.
    assert_eq!(counts(&store), before);
    assert_eq!(before.users, 0);
    assert!(request_exists(&store, "_req1"));
}

#[test]
fn a_request_answered_meanwhile_loses_its_claim_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let claims = claims(&store, "_req1", "_as1", NOW);
    let answered = UsedMessages {
        assertion: None,
        request: claims.request.clone(),
    };
    store.use_up(&answered, at(NOW)).unwrap().unwrap();
    let before = counts(&store);
    let result = login_with(&store, &claims, "ada", NOW);
    assert!(
        matches!(
            result,
            Err(CompleteLoginError::ClaimLost(ClaimLost::Request))
        ),
        "{result:?}"
    );
    assert_eq!(counts(&store), before);
    assert!(!store.assertion_used("_as1").unwrap());

    // A request that expired meanwhile is lost too, and stays for the purge.
    let expired = self::claims(&store, "_old", "_as2", NOW - 600);
    let before = counts(&store);
    let result = login_with(&store, &expired, "ada", NOW);
    assert!(
        matches!(
            result,
            Err(CompleteLoginError::ClaimLost(ClaimLost::Request))
        ),
        "{result:?}"
    );
    assert_eq!(counts(&store), before);
    assert_eq!(before.users, 0);
    assert!(request_exists(&store, "_old"));
    assert!(!store.assertion_used("_as2").unwrap());
}

fn login_with(store: &Store, claims: &UsedMessages, login: &str, now: i64) -> Login {
    complete(
        store,
        claims,
        &identity(login, Some(&["A"])),
        &format!("jti-{now}"),
        now,
        now + TOKEN_TTL,
    )
}

/// Two nodes (two stores on one file) complete logins with the same claims at once: one wins,
/// the other finds its claim lost. Odd rounds claim only the assertion (an unsolicited
/// response), so both kinds of loss are seen.
#[test]
fn concurrent_logins_with_the_same_claims_succeed_once() {
    const ROUNDS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let url = crate::store::testing::database_in(dir.path(), "fedbridge.db", "two nodes");
    let a = Store::open(&url).unwrap();
    let b = Store::open(&url).unwrap();
    for round in 0..ROUNDS {
        let mut claims = claims(&a, &format!("_req{round}"), &format!("_as{round}"), NOW + 1);
        let unsolicited = round % 2 == 1;
        if unsolicited {
            claims.request = None;
        }
        let barrier = Barrier::new(2);
        let results: Vec<Login> = std::thread::scope(|scope| {
            let handles: Vec<_> = [&a, &b]
                .into_iter()
                .enumerate()
                .map(|(node, store)| {
                    let (claims, barrier) = (&claims, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        complete(
                            store,
                            claims,
                            &identity("ada", Some(&["A"])),
                            &format!("jti-{round}-{node}"),
                            NOW + 1,
                            NOW + TOKEN_TTL,
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won: Vec<&Login> = results.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        let expected = if unsolicited {
            ClaimLost::Assertion
        } else {
            ClaimLost::Request
        };
        let lost: Vec<&Login> = results
            .iter()
            .filter(|r| matches!(r, Err(CompleteLoginError::ClaimLost(l)) if *l == expected))
            .collect();
        assert_eq!(lost.len(), 1, "round {round}: {results:?}");
        if unsolicited {
            // The request was not claimed: it is still there.
            assert!(request_exists(&a, &format!("_req{round}")));
        }
    }
    let counts = counts(&b);
    assert_eq!(counts.users, 1);
    assert_eq!(counts.xsessions, i64::try_from(ROUNDS).unwrap());
    assert_eq!(counts.audit, i64::try_from(ROUNDS).unwrap());
    assert_eq!(counts.replay, i64::try_from(ROUNDS).unwrap());
    assert_eq!(counts.requests, i64::try_from(ROUNDS / 2).unwrap());
}

#[test]
fn a_disabled_user_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    login(&store, "ada", Some(&["A"]), "jti-1").unwrap();
    set_disabled(&store, "ada", true);
    let claims = claims(&store, "_req2", "_as2", NOW + 10);
    let before = counts(&store);
    let mut renamed = identity("ada", Some(&["B"]));
    renamed.full_name = Some("Ada Lovelace".into());
    let result = complete(
        &store,
        &claims,
        &renamed,
        "jti-2",
        NOW + 10,
        NOW + TOKEN_TTL,
    );
    assert!(
        matches!(result, Err(CompleteLoginError::UserDisabled)),
        "{result:?}"
    );
    assert!(
        !store.session_active("jti-2").unwrap(),
        "no session is recorded for a disabled user"
    );
    // The sync (group B created, membership A removed, B added, new name) was rolled back.
    assert_eq!(counts(&store), before);
    assert_eq!(user_groups(&store, "ada"), names(&["A"]));
    let full_name: Option<String> = users::table
        .filter(users::login_name.eq("ada"))
        .select(users::full_name)
        .first(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(full_name.as_deref(), Some("ada full"));
    assert!(request_exists(&store, "_req2"));
    assert!(!store.assertion_used("_as2").unwrap());
    // jti-1 would have been revoked by the lost membership: it was not.
    assert!(!store.is_revoked("jti-1").unwrap());
}

#[test]
fn a_login_that_removes_memberships_revokes_the_users_other_live_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // An expired token of ada (issued two hours ago, expired an hour ago): not revoked.
    login_until(
        &store,
        "ada",
        Some(&["A", "B"]),
        "jti-old",
        NOW - 7_200,
        NOW - 3_600,
    )
    .unwrap();
    login(&store, "ada", Some(&["A", "B"]), "jti1").unwrap();
    login(&store, "bob", Some(&["A", "B"]), "jti-bob").unwrap();
    assert!(store.session_active("jti1").unwrap());

    let outcome = login(&store, "ada", Some(&["A"]), "jti2").unwrap();
    assert_eq!(outcome.plan.remove_memberships, names(&["B"]));
    assert_eq!(outcome.groups, names(&["A"]));
    assert!(store.is_revoked("jti1").unwrap());
    assert!(!store.is_revoked("jti2").unwrap());
    assert!(!store.session_active("jti1").unwrap());
    assert!(store.session_active("jti2").unwrap());
    // Only ada's live token: not bob's, not the expired one.
    assert!(!store.is_revoked("jti-bob").unwrap());
    assert!(store.session_active("jti-bob").unwrap());
    assert_eq!(
        revoked_rows(&store),
        vec![("jti1".to_owned(), NOW + TOKEN_TTL)]
    );

    // A second loss revokes jti2 and does not trip over jti1's existing revocation.
    login(&store, "ada", Some(&[]), "jti3").unwrap();
    assert_eq!(
        revoked_rows(&store),
        vec![
            ("jti1".to_owned(), NOW + TOKEN_TTL),
            ("jti2".to_owned(), NOW + TOKEN_TTL),
        ]
    );
    assert!(store.session_active("jti3").unwrap());
}

#[test]
fn a_login_that_removes_nothing_revokes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    login(&store, "ada", Some(&["A"]), "jti1").unwrap();
    // Adds a membership, then changes nothing, then does not map groups at all.
    let added = login(&store, "ada", Some(&["A", "B"]), "jti2").unwrap();
    assert_eq!(added.plan.add_memberships, names(&["B"]));
    let same = login(&store, "ada", Some(&["A", "B"]), "jti3").unwrap();
    assert!(same.plan.remove_memberships.is_empty());
    let unmapped = login(&store, "ada", None, "jti4").unwrap();
    assert_eq!(unmapped.groups, names(&["A", "B"]));
    assert_eq!(counts(&store).revoked, 0);
    for jti in ["jti1", "jti2", "jti3", "jti4"] {
        assert!(store.session_active(jti).unwrap(), "{jti}");
    }
}

#[test]
fn session_active_needs_a_record_no_revocation_and_an_enabled_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(!store.session_active("unknown").unwrap());
    login(&store, "ada", Some(&["A"]), "jti1").unwrap();
    login(&store, "bob", Some(&["A"]), "jti-bob").unwrap();
    assert!(!store.session_active("unknown").unwrap());
    assert!(store.session_active("jti1").unwrap());

    set_disabled(&store, "ada", true);
    assert!(!store.session_active("jti1").unwrap());
    assert!(
        store.session_active("jti-bob").unwrap(),
        "only ada is disabled"
    );
    set_disabled(&store, "ada", false);
    assert!(store.session_active("jti1").unwrap());

    store.revoke("jti1", at(NOW + TOKEN_TTL)).unwrap();
    assert!(!store.session_active("jti1").unwrap());
}

#[test]
fn removing_a_group_revokes_the_live_tokens_of_its_members_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    login_until(
        &store,
        "ada",
        Some(&["G", "H"]),
        "ada-old",
        NOW - 7_200,
        NOW - 3_600,
    )
    .unwrap();
    login(&store, "ada", Some(&["G", "H"]), "ada-live").unwrap();
    login(&store, "bob", Some(&["H"]), "bob-live").unwrap();
    login(&store, "carol", Some(&["G"]), "carol-live").unwrap();
    // Carol's token was revoked already (a logout): not inserted a second time.
    store.revoke("carol-live", at(NOW + 99)).unwrap();

    // An unknown name refuses the whole change: nothing removed, nothing revoked.
    let refused = store
        .remove_groups(&["G".to_owned(), "Nope".to_owned()], at(NOW))
        .unwrap();
    assert_eq!(
        refused,
        Err(GroupChangeRefused::Unknown(vec!["Nope".into()]))
    );
    assert_eq!(
        revoked_rows(&store),
        vec![("carol-live".to_owned(), NOW + 99)]
    );
    assert_eq!(user_groups(&store, "ada"), names(&["G", "H"]));

    let removed = store.remove_groups(&["G".to_owned()], at(NOW)).unwrap();
    assert_eq!(removed, Ok(2), "ada's and carol's memberships");
    assert_eq!(
        revoked_rows(&store),
        vec![
            ("ada-live".to_owned(), NOW + TOKEN_TTL),
            ("carol-live".to_owned(), NOW + 99),
        ]
    );
    assert!(!store.is_revoked("ada-old").unwrap());
    assert!(!store.is_revoked("bob-live").unwrap());
    assert!(!store.session_active("ada-live").unwrap());
    assert!(store.session_active("bob-live").unwrap());
    assert_eq!(user_groups(&store, "ada"), names(&["H"]));
    assert_eq!(user_groups(&store, "bob"), names(&["H"]));
}

/// A token that expired a few seconds ago is still accepted by `token::verify` (and so by
/// introspection, which then asks `session_active`) for `LEEWAY_SECONDS` after its `exp`:
/// removing its group revokes it too (this test found `revoke_users` skipping it).
#[test]
fn removing_a_group_revokes_tokens_still_accepted_within_the_leeway() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let leeway = crate::token::LEEWAY_SECONDS;
    // exp = NOW - leeway/2: verify at NOW accepts it (exp + leeway > NOW).
    login_until(
        &store,
        "ada",
        Some(&["G"]),
        "ada-grace",
        NOW - 3_600,
        NOW - leeway / 2,
    )
    .unwrap();
    assert_eq!(
        store.remove_groups(&["G".to_owned()], at(NOW)).unwrap(),
        Ok(1)
    );
    assert!(store.is_revoked("ada-grace").unwrap());
    assert!(!store.session_active("ada-grace").unwrap());
}

#[test]
fn audit_login_writes_the_given_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .audit_login(&LoginAudit {
            at: NOW,
            outcome: "rejected",
            reason_code: Some("replay"),
            detail: Some("assertion _as1 seen before"),
            idp: Some(IDP),
            login_name: None,
            correlation_id: "c0ffee000001",
            flags: None,
            dry_run: false,
            clock_offset: Some(-3),
            attributes: None,
            changes: None,
            client: Some("192.0.2.7"),
        })
        .unwrap();
    store
        .audit_login(&LoginAudit {
            at: NOW + 5,
            outcome: "error",
            reason_code: Some("database"),
            detail: None,
            idp: None,
            login_name: Some("ada"),
            correlation_id: "c0ffee000002",
            flags: None,
            dry_run: true,
            clock_offset: None,
            attributes: Some("[]"),
            changes: None,
            client: None,
        })
        .unwrap();
    assert_eq!(
        audit_rows(&store),
        vec![
            (
                NOW,
                "rejected".to_owned(),
                Some("replay".to_owned()),
                Some("assertion _as1 seen before".to_owned()),
                Some(IDP.to_owned()),
                None,
                Some("c0ffee000001".to_owned()),
            ),
            (
                NOW + 5,
                "error".to_owned(),
                Some("database".to_owned()),
                None,
                None,
                Some("ada".to_owned()),
                Some("c0ffee000002".to_owned()),
            ),
        ]
    );
    // An audit row alone writes nothing else.
    let counts = counts(&store);
    assert_eq!(counts.users + counts.xsessions + counts.replay, 0);
}

#[test]
fn purge_expired_sessions_deletes_only_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let issued = NOW - 100;
    login_until(&store, "ada", Some(&["A"]), "gone-1", issued, NOW - 1).unwrap();
    login_until(&store, "ada", Some(&["A"]), "gone-0", issued, NOW).unwrap();
    login_until(&store, "ada", Some(&["A"]), "kept", issued, NOW + 1).unwrap();
    login_until(
        &store,
        "bob",
        Some(&["A"]),
        "kept-bob",
        issued,
        NOW + TOKEN_TTL,
    )
    .unwrap();
    // Within the verification leeway a token is still accepted: its record stays.
    assert_eq!(store.purge_expired_sessions(at(NOW)).unwrap(), 0);
    let after_leeway = at(NOW + crate::token::LEEWAY_SECONDS);
    assert_eq!(store.purge_expired_sessions(after_leeway).unwrap(), 2);
    let left: Vec<String> = xsessions::table
        .select(xsessions::jti)
        .order(xsessions::jti.asc())
        .load(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(left, vec!["kept".to_owned(), "kept-bob".to_owned()]);
    assert_eq!(store.purge_expired_sessions(after_leeway).unwrap(), 0);
    // Users, memberships and audit rows stay.
    let counts = counts(&store);
    assert_eq!((counts.users, counts.memberships, counts.audit), (2, 2, 4));
    assert!(store.session_active("kept").unwrap());
    assert!(!store.session_active("gone-0").unwrap());
}

// ---- Concurrency of the login transaction on each backend (issue 14) ----

/// A fresh store on each backend: SQLite in `dir`, and PostgreSQL when a test server is
/// configured (see `store::testing`), each with `max_connections`.
fn stores(dir: &tempfile::TempDir, test: &str, max_connections: u32) -> Vec<(&'static str, Store)> {
    let options = crate::store::OpenOptions {
        max_connections,
        ..crate::store::OpenOptions::default()
    };
    let mut stores = vec![(
        "SQLite",
        Store::open_with(&dir.path().join("fedbridge.db").to_string_lossy(), &options).unwrap(),
    )];
    if let Some(url) = crate::store::testing::postgres_database(test) {
        stores.push(("PostgreSQL", Store::open_with(&url, &options).unwrap()));
    }
    stores
}

/// `n` logins at once (each with its own assertion claim, as web logins have), one thread each;
/// their results in order.
fn racing_logins(store: &Store, identities: Vec<Identity>) -> Vec<Login> {
    let barrier = Barrier::new(identities.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = identities
            .iter()
            .enumerate()
            .map(|(i, identity)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let used = UsedMessages {
                        assertion: Some(used_assertion(&format!("_as-race-{i}"), NOW + 300)),
                        request: None,
                    };
                    barrier.wait();
                    complete(
                        store,
                        &used,
                        identity,
                        &format!("jti-race-{i}"),
                        NOW,
                        NOW + 600,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_web_logins_of_one_user_all_succeed_and_leave_one_plan() {
    // Before issue 14, PostgreSQL took no lock in a login that used up messages (every web
    // login): two logins of one user planned from the same rows and collided (a duplicate
    // membership or user: a 503) or left the union of both plans.
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(&dir, "concurrent_web_logins_of_one_user", 20) {
        let sets: [&[&str]; 4] = [&["A", "B"], &["B", "C"], &["C", "D"], &["A", "D", "E"]];
        let identities: Vec<Identity> = (0..20)
            .map(|i| identity("ada", Some(sets[i % 4])))
            .collect();
        let results = racing_logins(&store, identities);
        for (i, result) in results.iter().enumerate() {
            let outcome = result
                .as_ref()
                .unwrap_or_else(|e| panic!("{backend}: login {i} failed: {e}"));
            assert_eq!(outcome.groups, names(sets[i % 4]), "{backend}: login {i}");
        }
        let left = user_groups(&store, "ada");
        assert!(
            sets.iter().any(|set| names(set) == left),
            "{backend}: the memberships {left:?} are no login's plan (a lost update)"
        );
        let counts = counts(&store);
        assert_eq!(counts.users, 1, "{backend}");
        assert_eq!((counts.xsessions, counts.audit), (20, 20), "{backend}");
    }
}

#[test]
fn concurrent_logins_of_new_users_create_each_missing_group_once() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(&dir, "concurrent_logins_of_new_users", 20) {
        let identities: Vec<Identity> = (0..20)
            .map(|i| identity(&format!("user{i}"), Some(&["New1", "New2", "New3"])))
            .collect();
        for (i, result) in racing_logins(&store, identities).iter().enumerate() {
            assert!(result.is_ok(), "{backend}: login {i} failed: {result:?}");
        }
        let counts = counts(&store);
        assert_eq!((counts.users, counts.groups), (20, 3), "{backend}");
        assert_eq!(counts.memberships, 60, "{backend}");
    }
}

#[test]
fn a_login_waits_for_its_own_users_lock_only() {
    // The identity lock of "ada" held by another transaction: a login of "bob" completes, a
    // login of "ada" waits until that transaction ends (PostgreSQL: no table lock any more).
    let Some(url) =
        crate::store::testing::postgres_database("a_login_waits_for_its_own_users_lock_only")
    else {
        return;
    };
    let store = Store::open(&url).unwrap();
    let mut holder = diesel::PgConnection::establish(&url).unwrap();
    let keys: Vec<i64> = crate::store::users::identity_lock_keys(&identity("ada", None))
        .iter()
        .map(|key| crate::store::connection::advisory_key(key))
        .collect();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    for key in &keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(&mut holder)
            .unwrap();
    }
    let other = std::time::Instant::now();
    login(&store, "bob", Some(&["A"]), "jti-bob").unwrap();
    assert!(other.elapsed() < std::time::Duration::from_secs(5));
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| login(&store, "ada", Some(&["A"]), "jti-ada"));
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            !waiting.is_finished(),
            "ada's login did not wait for ada's lock"
        );
        diesel::sql_query("COMMIT").execute(&mut holder).unwrap();
        waiting.join().unwrap().unwrap();
    });
}

#[test]
fn counted_refusals_are_rows_with_a_count_and_old_rows_go_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // 12,000 rows a year old and 10 from yesterday, in id order as they would be written.
    let year_ago = NOW - 365 * 86_400;
    store
        .write(|conn| {
            conn.transaction(|conn| {
                for i in 0..12_010 {
                    let at = if i < 12_000 {
                        year_ago + i
                    } else {
                        NOW - 86_400
                    };
                    diesel::insert_into(login_audit::table)
                        .values((login_audit::at.eq(at), login_audit::outcome.eq("accepted")))
                        .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(|e| store.query_error(&e))
        })
        .unwrap();
    store
        .audit_counted(&[CountedRefusals {
            at: NOW - 60,
            client: "192.0.2.9".into(),
            reason_code: "malformed_xml".into(),
            detail: "not XML".into(),
            correlation_id: None,
            count: 1234,
        }])
        .unwrap();
    let mut conn = store.conn().unwrap();
    let counted: Vec<(String, i64)> = login_audit::table
        .filter(login_audit::client.is_not_null())
        .select((login_audit::client.assume_not_null(), login_audit::count))
        .load(&mut conn)
        .unwrap();
    assert_eq!(counted, [("192.0.2.9".to_owned(), 1234)]);
    drop(conn);

    let cutoff = NOW - 90 * 86_400;
    // With no time budget one batch goes at a time (5,000 ids).
    let first = store
        .purge_audit(cutoff, std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(first, 5_000);
    let rest = store
        .purge_audit(cutoff, std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(first + rest, 12_000);
    assert_eq!(
        audit_rows(&store).len(),
        11,
        "yesterday's rows and the counted row stay"
    );
    assert_eq!(
        store
            .purge_audit(cutoff, std::time::Duration::ZERO)
            .unwrap(),
        0
    );
}

/// A PostgreSQL store on a fresh test database with "ada" in groups A and B, if there is a
/// server.
fn postgres_with_ada(test: &str) -> Option<Store> {
    postgres_url_with_ada(test).map(|(_, store)| store)
}

/// [`postgres_with_ada`] and the database's URL.
fn postgres_url_with_ada(test: &str) -> Option<(String, Store)> {
    let url = crate::store::testing::postgres_database(test)?;
    let store = Store::open(&url).unwrap();
    login(&store, "ada", Some(&["A", "B"]), "jti-first").unwrap();
    Some((url, store))
}

/// A pooled connection of a PostgreSQL `store`, as `pg`, for `body`.
fn with_pg<T>(store: &Store, body: impl FnOnce(&mut diesel::PgConnection) -> T) -> T {
    let mut conn = store.conn().unwrap();
    let crate::store::connection::DbConnection::Postgres(pg) = &mut *conn else {
        panic!("a PostgreSQL store");
    };
    body(pg)
}

/// The writes of a login of "ada" into `groups`, planned at once (ada exists, groups known).
fn plan_ada_at_once(
    store: &Store,
    groups: &[&str],
) -> (SyncOutcome, crate::store::users::SyncWrites) {
    let ada = identity("ada", Some(groups));
    let planned = with_pg(store, |pg| {
        crate::store::users::plan_at_once(pg, &ada, &creating())
            .unwrap()
            .unwrap()
    });
    let (outcome, writes) = planned.settle_existing().expect("ada exists, groups known");
    assert!(writes.version.is_some(), "the row's version was read");
    (outcome, writes)
}

/// Writes `writes` at once with `assertion_id` used up and the session `jti`.
fn write_planned(
    store: &Store,
    writes: &crate::store::users::SyncWrites,
    assertion_id: &str,
    jti: &str,
) -> super::Written {
    let used = UsedMessages {
        assertion: Some(used_assertion(assertion_id, NOW + ASSERTION_TTL)),
        request: None,
    };
    let claim = super::Claim {
        used: &used,
        lock_ids: Vec::new(),
    };
    let session = SessionRecord {
        jti,
        sid: "sid",
        expires_at: NOW + TOKEN_TTL,
    };
    with_pg(store, |pg| {
        super::write_login_postgres(pg, writes, Some(&claim), &session, &audit(NOW, "ada", "c"))
            .unwrap()
    })
}

/// Plans a login of "ada" into `groups` at once and writes it with `assertion_id` used up.
fn write_at_once(store: &Store, groups: &[&str], assertion_id: &str, jti: &str) -> super::Written {
    let (_, writes) = plan_ada_at_once(store, groups);
    write_planned(store, &writes, assertion_id, jti)
}

#[test]
fn a_login_at_once_is_written_only_if_the_users_row_is_still_the_version_read() {
    let Some(store) = postgres_with_ada("a_login_at_once_checks_the_row_version") else {
        return;
    };
    let (outcome, writes) = plan_ada_at_once(&store, &["B"]);
    assert_eq!(outcome.groups, names(&["B"]));
    // Another login of ada commits in between (every login writes the user's row).
    login(&store, "ada", Some(&["A"]), "jti-between").unwrap();
    let before = counts(&store);
    let written = write_planned(&store, &writes, "_as-stale", "jti-stale");
    // A plan made from the old row writes nothing, not even its claim...
    assert_eq!(written, super::Written::Stale);
    assert_eq!(counts(&store), before);
    assert_eq!(user_groups(&store, "ada"), names(&["A"]));
    assert!(!store.assertion_used("_as-stale").unwrap());
    // ...and complete_login, seeing that, takes the transactional way and succeeds.
    let again = login(&store, "ada", Some(&["B"]), "jti-again").unwrap();
    assert_eq!(again.groups, names(&["B"]));
    assert_eq!(user_groups(&store, "ada"), names(&["B"]));
    // A fresh plan is written at once: memberships, session, claim, audit.
    assert_eq!(
        write_at_once(&store, &["A", "B"], "_as-fresh", "jti-fresh"),
        super::Written::Done
    );
    assert_eq!(user_groups(&store, "ada"), names(&["A", "B"]));
    assert!(store.assertion_used("_as-fresh").unwrap());
    assert!(store.session_active("jti-fresh").unwrap());
}

#[test]
fn a_replay_at_once_writes_nothing_and_a_new_user_or_group_goes_the_long_way() {
    let Some(store) = postgres_with_ada("a_replay_at_once_writes_nothing") else {
        return;
    };
    let used = UsedMessages {
        assertion: Some(used_assertion("_as-used", NOW + 60)),
        request: None,
    };
    store.use_up(&used, at(NOW)).unwrap().unwrap();
    let before = counts(&store);
    assert_eq!(
        write_at_once(&store, &["A"], "_as-used", "jti-replay"),
        super::Written::Lost(ClaimLost::Assertion)
    );
    assert_eq!(counts(&store), before);
    assert_eq!(user_groups(&store, "ada"), names(&["A", "B"]));
    assert!(!store.session_active("jti-replay").unwrap());
    // What needs a row created first is not written at once.
    for (login, groups) in [("bob", &["A"][..]), ("ada", &["A", "Brand new"][..])] {
        let planned = with_pg(&store, |pg| {
            crate::store::users::plan_at_once(pg, &identity(login, Some(groups)), &creating())
                .unwrap()
                .unwrap()
        });
        assert!(planned.settle_existing().is_none(), "{login} {groups:?}");
    }
}

#[test]
fn a_sync_without_a_login_makes_a_plan_read_before_it_stale() {
    // `Store::sync_login` changes nothing here (same groups, same fields), yet writes the row.
    let Some(store) = postgres_with_ada("a_sync_makes_a_plan_stale") else {
        return;
    };
    let (_, writes) = plan_ada_at_once(&store, &["A"]);
    store
        .sync_login(&identity("ada", Some(&["A", "B"])), &creating(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(
        write_planned(&store, &writes, "_as-after-sync", "jti-after-sync"),
        super::Written::Stale
    );
    assert_eq!(user_groups(&store, "ada"), names(&["A", "B"]));
}

#[test]
fn a_login_at_once_waits_for_its_own_users_lock() {
    // As `a_login_waits_for_its_own_users_lock_only`, for a user that exists (the login goes at
    // once): its statement takes the same advisory locks.
    let Some((url, store)) = postgres_url_with_ada("a_login_at_once_waits_for_its_lock") else {
        return;
    };
    let mut holder = diesel::PgConnection::establish(&url).unwrap();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    for key in crate::store::users::identity_lock_keys(&identity("ada", None)) {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(crate::store::connection::advisory_key(&key))
            .execute(&mut holder)
            .unwrap();
    }
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| login(&store, "ada", Some(&["A"]), "jti-ada-waits"));
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            !waiting.is_finished(),
            "ada's login at once did not wait for ada's lock"
        );
        diesel::sql_query("COMMIT").execute(&mut holder).unwrap();
        assert_eq!(waiting.join().unwrap().unwrap().groups, names(&["A"]));
    });
}
