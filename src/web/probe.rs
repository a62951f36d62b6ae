//! The write probe: every [`PROBE_INTERVAL`], and at once when the settings version this node
//! holds changed, the node writes its `node_status` row (a real write through the store, as a
//! login's). `fedbridge config set` reads those rows to say when a change is in service. It also
//! recounts the outstanding requests, which the cap of `/saml/login` starts from.

use std::time::Duration;

use actix_web::web;

use crate::web::state::AppState;

/// How often the probe writes.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// The probe loop: runs for as long as the server runs.
pub async fn watch(state: web::Data<AppState>) {
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
        match written {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the write probe failed"),
            Err(error) => tracing::warn!(%error, "the write probe could not run"),
        }
        tokio::select! {
            () = state.version_changed() => {}
            () = actix_web::rt::time::sleep(PROBE_INTERVAL) => {}
        }
    }
}
