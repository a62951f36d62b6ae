//! The background task that deletes what has expired: outstanding requests and replay-cache
//! entries, records and revocations of expired xsessions, signing keys retired so long ago that
//! no token they signed is still valid, login audit rows older than `FEDBRIDGE_AUDIT_RETENTION`,
//! servers not seen for a day. Every node runs it; the deletes are idempotent.

use std::time::Duration;

use actix_web::web;

use crate::web::state::AppState;

/// How often the purge runs (the first run is at start).
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// How long one purge may delete audit rows (in batches, each its own transaction), so that a
/// first purge of millions of rows never holds the database's write lock for long.
pub const AUDIT_PURGE_BUDGET: Duration = Duration::from_millis(200);

/// Runs [`purge_once`] every [`PURGE_INTERVAL`], on the blocking pool, forever.
pub async fn watch(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(PURGE_INTERVAL);
    loop {
        interval.tick().await;
        let state = state.clone();
        if let Err(error) = web::block(move || purge_once(&state)).await {
            tracing::error!(%error, "the purge task could not run");
        }
    }
}

/// One purge; failures are logged (the next run tries again) and do not stop the others.
pub fn purge_once(state: &AppState) {
    let now = state.now();
    let store = state.store();
    if let Some(active) = state.config() {
        state
            .edge()
            .limiter
            .sweep(&active.config.edge, std::time::Instant::now());
    }
    let lifetime = state.config().map(|active| active.config.xsession.lifetime);
    let report = |what: &str, result: Result<usize, String>| match result {
        Ok(0) => {}
        Ok(count) => tracing::debug!(what, count, "purged"),
        Err(error) => {
            if let Some(repeated) = crate::logdedup::check(&format!("purge:{what}")) {
                tracing::warn!(what, %error, repeated, "cannot purge");
            }
        }
    };
    report(
        "login state",
        store
            .purge_expired_login_state(now)
            .map_err(|e| e.to_string()),
    );
    report(
        "xsession records",
        store.purge_expired_sessions(now).map_err(|e| e.to_string()),
    );
    report(
        "admin sessions",
        store
            .purge_admin_sessions(now.unix_timestamp())
            .map_err(|e| e.to_string()),
    );
    report(
        "revocations",
        store.purge_revoked(now).map_err(|e| e.to_string()),
    );
    if let Some(active) = state.config() {
        let cutoff = now - active.config.audit_retention;
        report(
            "login audit rows past FEDBRIDGE_AUDIT_RETENTION",
            store
                .purge_audit(cutoff.unix_timestamp(), AUDIT_PURGE_BUDGET)
                .map_err(|e| e.to_string()),
        );
    }
    report(
        "servers not seen for a day",
        store
            .purge_nodes((now - time::Duration::DAY).unix_timestamp())
            .map_err(|e| e.to_string()),
    );
    if let Some(lifetime) = lifetime {
        report(
            "retired signing keys",
            store
                .purge_retired_signing_keys(now, lifetime)
                .map_err(|e| e.to_string()),
        );
    }
}
