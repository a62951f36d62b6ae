//! The admin console's queries, on SQLite and (with a test server) PostgreSQL.

use diesel::prelude::*;

use super::{AuditFilter, SessionInfo};
use crate::store::schema::{login_audit, users, xsessions};
use crate::store::testing::{postgres_database, sqlite_database};
use crate::store::{LoginAudit, Store};

const NOW: i64 = 1_800_000_000;

fn audit(store: &Store, at: i64, outcome: &str, login: &str, dry_run: bool) {
    store
        .audit_login(&LoginAudit {
            at,
            outcome,
            reason_code: (outcome != "accepted").then_some("expired"),
            detail: None,
            idp: None,
            login_name: Some(login),
            correlation_id: "c",
            flags: None,
            dry_run,
            clock_offset: Some(-2),
            attributes: None,
            changes: None,
            client: None,
        })
        .unwrap();
}

/// Every query of the console against `store`.
fn check(store: &Store) {
    // Two hours of attempts, in time order, plus a test that the chart leaves out.
    for i in 0..10 {
        audit(
            store,
            NOW + i * 600,
            if i % 3 == 0 { "rejected" } else { "accepted" },
            "ada",
            false,
        );
    }
    audit(store, NOW + 6_000, "accepted", "bob", true);
    let all = store.audit_page(&AuditFilter::default(), 100).unwrap();
    assert_eq!(all.len(), 11);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let since = store
        .audit_page(
            &AuditFilter {
                since: Some(NOW + 3_000),
                until: Some(NOW + 5_000),
                ..AuditFilter::default()
            },
            100,
        )
        .unwrap();
    let times: Vec<i64> = since.iter().map(|r| r.at - NOW).collect();
    assert_eq!(times, [4_800, 4_200, 3_600, 3_000]);
    let refused = store
        .audit_page(
            &AuditFilter {
                outcome: Some("rejected".into()),
                reason: Some("expired".into()),
                login_name: Some("ada".into()),
                ..AuditFilter::default()
            },
            2,
        )
        .unwrap();
    assert_eq!(refused.len(), 2);
    let older = store
        .audit_page(
            &AuditFilter {
                before_id: Some(refused[1].id),
                outcome: Some("rejected".into()),
                ..AuditFilter::default()
            },
            10,
        )
        .unwrap();
    assert_eq!(older.len(), 2, "the next page: the two older refusals");
    assert!(all.iter().any(|r| r.dry_run && r.clock_offset == Some(-2)));
    // Per hour: hour 0 holds 6 attempts (2 refused), hour 1 holds 4 (2 refused); no test.
    let hour = NOW - NOW.rem_euclid(3600);
    let per_hour = store.logins_per_hour(NOW).unwrap();
    let total: i64 = per_hour.iter().map(|(_, a, r)| a + r).sum();
    assert_eq!(total, 10, "{per_hour:?}");
    assert!(per_hour.iter().all(|(h, _, _)| (h - hour) % 3600 == 0));
    assert_eq!(store.logins_per_hour(NOW + 10_000).unwrap(), vec![]);
    let found = store.audit_by_correlation("c").unwrap();
    assert_eq!(found.len(), 11);

    // Sessions of a user, one revoked.
    let mut conn = store.conn().unwrap();
    diesel::insert_into(users::table)
        .values((
            users::login_name.eq("ada"),
            users::created_at.eq(NOW),
            users::updated_at.eq(NOW),
        ))
        .execute(&mut conn)
        .unwrap();
    let user_id: i64 = users::table.select(users::id).first(&mut conn).unwrap();
    for (jti, issued) in [("j1", NOW), ("j2", NOW + 10), ("old", NOW - 9_000)] {
        diesel::insert_into(xsessions::table)
            .values((
                xsessions::jti.eq(jti),
                xsessions::sid.eq(format!("s-{jti}")),
                xsessions::user_id.eq(user_id),
                xsessions::issued_at.eq(issued),
                xsessions::expires_at.eq(issued + 3_600),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);
    store
        .revoke(
            "j1",
            time::OffsetDateTime::from_unix_timestamp(NOW + 3_600).unwrap(),
        )
        .unwrap();
    let sessions = store.user_sessions(user_id, NOW + 20).unwrap();
    assert_eq!(
        sessions,
        [
            SessionInfo {
                jti: "j2".into(),
                sid: "s-j2".into(),
                issued_at: NOW + 10,
                expires_at: NOW + 3_610,
                revoked: false,
            },
            SessionInfo {
                jti: "j1".into(),
                sid: "s-j1".into(),
                issued_at: NOW,
                expires_at: NOW + 3_600,
                revoked: true,
            },
        ]
    );
    assert_eq!(
        store.session_of_user(user_id, "j2").unwrap(),
        Some(NOW + 3_610)
    );
    assert_eq!(store.session_of_user(user_id + 1, "j2").unwrap(), None);

    // Admin sessions: found until they expire, then purged.
    store
        .create_admin_session("hash", "j2", "ada", NOW, NOW + 100)
        .unwrap();
    assert_eq!(
        store.admin_session("hash", NOW + 99).unwrap().unwrap().jti,
        "j2"
    );
    assert!(store.admin_session("hash", NOW + 100).unwrap().is_none());
    assert!(store.admin_session("other", NOW).unwrap().is_none());
    assert_eq!(store.purge_admin_sessions(NOW + 100).unwrap(), 1);
    let rows: i64 = login_audit::table
        .count()
        .get_result(&mut store.conn().unwrap())
        .unwrap();
    assert_eq!(rows, 11);
}

#[test]
fn the_console_queries_on_sqlite() {
    let (_dir, path) = sqlite_database();
    check(&Store::open(&path).unwrap());
}

#[test]
fn the_console_queries_on_postgres() {
    let Some(url) = postgres_database("the_console_queries_on_postgres") else {
        return;
    };
    check(&Store::open(&url).unwrap());
}
