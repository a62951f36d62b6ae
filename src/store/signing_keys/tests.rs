use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use time::macros::datetime;

use super::*;
use crate::token::{ClaimsInput, TokenError, issue, jwks, verify};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
const LIFETIME: Duration = Duration::hours(8);

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::store::testing::database_in(dir.path(), "keys.db", "signing_keys");
    let store = Store::open(&path).unwrap();
    (dir, store)
}

fn input() -> ClaimsInput {
    ClaimsInput {
        issuer: "https://sso.example.com".into(),
        audience: "apps".into(),
        subject: "bob".into(),
        name: None,
        email: None,
        groups: vec!["staff".into()],
        session_id: "s".into(),
    }
}

fn check(token: &str, store: &Store, now: OffsetDateTime) -> Result<(), TokenError> {
    let set = jwks(&store.public_keys(now, LIFETIME).unwrap());
    verify(token, &set, "https://sso.example.com", "apps", now).map(drop)
}

#[test]
fn a_key_is_generated_on_first_use_and_then_reused() {
    let (_dir, store) = temp_store();
    for algorithm in Algorithm::ALL {
        let first = store.active_signing_key(algorithm, NOW).unwrap();
        assert_eq!(first.algorithm(), algorithm);
        let again = store.active_signing_key(algorithm, NOW).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert_eq!(first.private_pem().expose(), again.private_pem().expose());
        let token = issue(&input(), &again, NOW, LIFETIME).unwrap();
        check(&token, &store, NOW).unwrap();
    }
    assert_eq!(store.public_keys(NOW, LIFETIME).unwrap().len(), 3);
}

#[test]
fn concurrent_first_use_stores_one_key_per_algorithm() {
    let (_dir, store) = temp_store();
    let threads = 9;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let algorithm = Algorithm::ALL[i % 3];
                barrier.wait();
                let key = store.active_signing_key(algorithm, NOW).unwrap();
                (algorithm, key.kid().to_owned())
            })
        })
        .collect();
    let results: BTreeSet<(String, String)> = handles
        .into_iter()
        .map(|h| {
            let (algorithm, kid) = h.join().unwrap();
            (algorithm.as_str().to_owned(), kid)
        })
        .collect();
    assert_eq!(results.len(), 3, "one kid per algorithm: {results:?}");
    assert_eq!(store.public_keys(NOW, LIFETIME).unwrap().len(), 3);
}

#[test]
fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let (_dir, store) = temp_store();
    let old = store.active_signing_key(Algorithm::Es256, NOW).unwrap();
    let old_token = issue(&input(), &old, NOW, LIFETIME).unwrap();

    let later = NOW + Duration::hours(1);
    let new = store.rotate_signing_key(Algorithm::Es256, later).unwrap();
    assert_ne!(new.kid(), old.kid());
    assert_eq!(
        store
            .active_signing_key(Algorithm::Es256, later)
            .unwrap()
            .kid(),
        new.kid()
    );
    let new_token = issue(&input(), &new, later, LIFETIME).unwrap();
    check(&old_token, &store, later).unwrap();
    check(&new_token, &store, later).unwrap();
    let published = store.public_keys(later, LIFETIME).unwrap();
    assert_eq!(published[0].kid, new.kid(), "newest first");
    assert_eq!(published.len(), 2);

    // Once every token of the old key has expired, the key leaves the JWKS and can be purged.
    let gone = later + LIFETIME + Duration::seconds(LEEWAY_SECONDS);
    assert_eq!(store.public_keys(gone, LIFETIME).unwrap().len(), 1);
    assert_eq!(
        store.purge_retired_signing_keys(later, LIFETIME).unwrap(),
        0
    );
    assert_eq!(store.purge_retired_signing_keys(gone, LIFETIME).unwrap(), 1);
    assert!(matches!(
        check(&old_token, &store, NOW + Duration::hours(2)),
        Err(TokenError::UnknownKeyId(_))
    ));
}

#[test]
fn revocation_is_recorded_seen_and_purged_after_expiry() {
    let (_dir, store) = temp_store();
    let exp = NOW + LIFETIME;
    assert!(!store.is_revoked("jti-1").unwrap());
    store.revoke("jti-1", exp).unwrap();
    store.revoke("jti-1", exp).unwrap();
    store.revoke("jti-2", NOW).unwrap();
    assert!(store.is_revoked("jti-1").unwrap());
    assert!(store.is_revoked("jti-2").unwrap());
    assert!(!store.is_revoked("jti-3").unwrap());

    let after = NOW + Duration::seconds(LEEWAY_SECONDS + 1);
    assert_eq!(store.purge_revoked(after).unwrap(), 1);
    assert!(!store.is_revoked("jti-2").unwrap());
    assert!(store.is_revoked("jti-1").unwrap());
}

#[test]
fn a_row_with_an_unknown_algorithm_is_reported() {
    let (_dir, store) = temp_store();
    let key = store.active_signing_key(Algorithm::Es256, NOW).unwrap();
    let mut conn = store.conn().unwrap();
    diesel::update(signing_keys::table)
        .set(signing_keys::algorithm.eq("HS256"))
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    match store.public_keys(NOW, LIFETIME) {
        Err(SigningKeyError::UnknownAlgorithm { kid, algorithm }) => {
            assert_eq!(kid, key.kid());
            assert_eq!(algorithm, "HS256");
        }
        other => panic!("{other:?}"),
    }
}
