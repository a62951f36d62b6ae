//! `fedbridge serve`: the HTTP server (actix-web) on top of the settings in the database.
//!
//! - [`state`]: what requests and background tasks share (the configuration in service, the
//!   settings' problems, the IdP metadata), each part swapped atomically.
//! - [`reload`]: polls `CONFIGURATIONENTITY` every second; valid changes go into service,
//!   invalid ones are refused and reported.
//! - [`idp`]: fetches, caches and refreshes the IdP metadata (metadata scenario).
//! - [`login`]: the login flow's and the xsession's handlers; [`purge`]: deletes what expired.
//! - [`routes`]: every route in one place; [`handlers`] and [`health`]: thin handlers;
//!   [`error`]: the one error type mapped to HTTP; [`pages`]: the HTML fedbridge renders and
//!   its one layout and stylesheet.
//! - [`admin`]: the admin console (`/admin`) and `/metrics`; [`telemetry`]: the request log
//!   line, the correlation ID, the metrics' text; [`certs`]: certificates and keys that expire.
//!
//! A server started on an empty or invalid configuration starts anyway: `/healthz` says
//! `unconfigured` and every other page is the "not configured" page (503) until the settings
//! are fixed, which it picks up live.

pub mod admin;
pub mod certs;
pub mod edge;
pub mod error;
pub mod handlers;
pub mod health;
pub mod idp;
pub mod login;
pub mod pages;
pub mod probe;
pub mod purge;
pub mod refusals;
pub mod reload;
pub mod routes;
pub mod state;
pub mod telemetry;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::http::KeepAlive;
use actix_web::{App, HttpServer, web};

use crate::clock::SystemClock;
use crate::store::Store;
use crate::web::reload::Reloader;
use crate::web::state::AppState;

/// The default listen address of `fedbridge serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How the listener serves connections: fixed at bind (not settings: actix cannot change them
/// live).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// Keep connections open between requests for this long; `None` (the default): one request
    /// per connection. actix-http times out only the first request's head on a connection, so
    /// with keep-alive a second head dribbled slowly holds the connection forever: turn it on
    /// only behind a reverse proxy that times out request heads itself.
    pub keep_alive: Option<std::time::Duration>,
}

/// Runs the server on `listen` against the database `database` until it is stopped (SIGINT,
/// SIGTERM). Prints `fedbridge listening on http://ADDRESS` on stdout once bound (port 0 picks
/// a free port). Exit status: 0 stopped, 2 the database cannot be opened or the address cannot
/// be bound.
pub fn serve(database: &str, listen: &str, options: ServeOptions) -> ExitCode {
    let outcome = actix_web::rt::System::new().block_on(async {
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let server = start_with(database, listener, options)?;
        {
            let mut stdout = std::io::stdout().lock();
            for address in &server.addresses {
                writeln!(stdout, "fedbridge listening on http://{address}")
                    .and_then(|()| stdout.flush())
                    .map_err(|e| e.to_string())?;
            }
        }
        let stopped = server.server.await.map_err(|e| e.to_string());
        // The refusals counted since the last flush.
        refusals::flush(&server.state).await;
        stopped
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fedbridge serve: {error}");
            ExitCode::from(2)
        }
    }
}

/// A server started by [`start`]: await `server` to run it; `addresses` are where it listens.
pub struct Started {
    /// The running server (a future; its handle stops it).
    pub server: actix_web::dev::Server,
    /// The bound addresses.
    pub addresses: Vec<std::net::SocketAddr>,
    /// The shared state (for the demo and tests).
    pub state: web::Data<AppState>,
}

/// Opens `database`, reads the settings once, and starts serving on `listener` with the
/// background tasks (settings reload, IdP metadata refresh, purges, the daily certificate
/// check) on the current actix runtime, with the default [`ServeOptions`]. Must be called
/// inside an actix `System`.
pub fn start(database: &str, listener: std::net::TcpListener) -> Result<Started, String> {
    start_with(database, listener, ServeOptions::default())
}

/// [`start`] with `options`.
pub fn start_with(
    database: &str,
    listener: std::net::TcpListener,
    options: ServeOptions,
) -> Result<Started, String> {
    warn_if_few_file_descriptors();
    let store = Store::open(database).map_err(|e| e.to_string())?;
    let state = web::Data::new(AppState::new(store, Arc::new(SystemClock)));
    // The first read happens before the server listens, so the first request already sees
    // the configuration (or the reason there is none).
    let mut reloader = Reloader::new();
    reload::observe_and_apply(&state, &mut reloader, reload::poll(state.store()));
    // The database's copy of the IdP metadata is in service before the first fetch, which
    // happens beside it: a restart while the IdP hangs still serves logins.
    if let Some(cached) = idp::cached_at_start(&state) {
        state.set_metadata(Some(cached));
    }
    // Recorded before it listens, so that `config set` never misses a server that answers.
    if let Err(error) = state.store().record_node(&state.node_record(state.now())) {
        tracing::warn!(%error, "the write probe failed");
    }
    let addresses = vec![listener.local_addr().map_err(|e| e.to_string())?];
    let app_state = state.clone();
    let keep_alive = match options.keep_alive {
        Some(duration) => KeepAlive::Timeout(duration),
        None => KeepAlive::Disabled,
    };
    let server = HttpServer::new(move || {
        App::new()
            .wrap(security_headers())
            .app_data(app_state.clone())
            .wrap(actix_web::middleware::from_fn(telemetry::log_requests))
            .configure(routes::configure)
    })
    .keep_alive(keep_alive)
    .client_request_timeout(edge::HEADER_TIMEOUT)
    .client_disconnect_timeout(edge::DISCONNECT_LINGER)
    .worker_max_blocking_threads(edge::BLOCKING_THREADS_PER_WORKER)
    .backlog(1024)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    for address in &addresses {
        tracing::info!(%address, "listening");
    }
    actix_web::rt::spawn(reload::watch(state.clone(), reloader));
    actix_web::rt::spawn(idp::watch(state.clone()));
    actix_web::rt::spawn(purge::watch(state.clone()));
    actix_web::rt::spawn(certs::watch(state.clone()));
    actix_web::rt::spawn(probe::watch(state.clone()));
    actix_web::rt::spawn(refusals::watch(state.clone()));
    Ok(Started {
        server,
        addresses,
        state,
    })
}

/// Headers every response carries: no `Referer` leaves fedbridge's pages (a token or a target
/// in an address must not travel to the next site), and no response is sniffed as another type.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            actix_web::http::header::REFERRER_POLICY,
            actix_web::http::header::HeaderValue::from_static("no-referrer"),
        ))
        .add((
            actix_web::http::header::X_CONTENT_TYPE_OPTIONS,
            actix_web::http::header::HeaderValue::from_static("nosniff"),
        ))
}

/// Each connection is a file descriptor: warns when the process may open fewer than 4096
/// (Linux: `/proc/self/limits`; systemd: `LimitNOFILE=65536`).
fn warn_if_few_file_descriptors() {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<u64>().ok());
    if let Some(soft) = soft.filter(|n| *n < 4096) {
        tracing::warn!(
            soft,
            "the process may open only {soft} files (connections): raise it to 65536 or more \
             (ulimit -n, systemd LimitNOFILE)"
        );
    }
}

#[cfg(test)]
mod tests;
