//! The write probe: every [`PROBE_INTERVAL`], and at once when the settings version this node
//! holds changed, the node writes its `node_status` row (a real write through the store, as a
//! login's: the write gate, the busy timeout, the commit and its fsync), so that readiness
//! (`/readyz`) sees a lock held too long, a full disk or a read-only file within seconds, and
//! the store replaces its connections when that is what it takes to write again. `fedbridge config set` reads those rows to say when a change is in service. It also
//! recounts the outstanding requests, which the cap of `/saml/login` starts from.

use std::time::Duration;

use actix_web::web;

use crate::web::state::AppState;

/// How often the probe writes.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// The probe loop: runs for as long as the server runs.
pub async fn watch(state: web::Data<AppState>) {
    let mut failing: Option<&'static str> = None;
    loop {
        let probe = state.clone();
        let written = web::block(move || {
            let now = probe.now();
            let written = probe.store().record_node(&probe.node_record(now));
            // The count the cap on outstanding requests starts from.
            if let Ok(count) = probe.store().count_outstanding_requests(now) {
                probe.edge().set_outstanding(count);
            }
            written
        })
        .await;
        let failure = match written {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some((error.kind(), error.to_string())),
            Err(error) => Some(("blocking_pool", error.to_string())),
        };
        match (failure, failing.take()) {
            (None, None) => {}
            (None, Some(kind)) => {
                tracing::info!(was = kind, "the database takes writes again");
            }
            (Some((kind, error)), _) => {
                if let Some(repeated) = crate::logdedup::check(&format!("probe:{kind}")) {
                    tracing::warn!(%error, repeated, "the write probe failed: not ready");
                }
                failing = Some(kind);
            }
        }
        tokio::select! {
            () = state.version_changed() => {}
            () = actix_web::rt::time::sleep(PROBE_INTERVAL) => {}
        }
    }
}
