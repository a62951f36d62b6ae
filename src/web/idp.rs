//! IdP trust in the metadata scenario: fetch `SAML_METADATA_URL`, parse it with the hardened
//! parser, keep the last good copy (in memory and in `idp_metadata_cache`), refresh it every
//! `FEDBRIDGE_METADATA_REFRESH`.
//!
//! - At start the database's copy is in service at once ([`cached_at_start`]); the fetch
//!   happens beside it, so a restart while the IdP hangs still serves logins.
//! - A new URL or entityID (changed live): fetch; when that fails, the cached copy of that URL
//!   is used (parsed again, for the entityID now configured).
//! - A refresh that fails keeps the copy in service; the error shows on `/healthz` and the next
//!   attempt comes after [`RETRY_AFTER_FAILURE`] (or the refresh interval, if shorter). The
//!   due time is computed from the interval configured now, so a changed interval counts at
//!   once.
//! - A login signed with a key the metadata does not hold asks for an early refresh (at most
//!   one per [`EARLY_REFRESH_INTERVAL`]): an IdP's key rollover needs no wait.
//! - Documents larger than `FEDBRIDGE_MAX_METADATA_BYTES` are refused; a document equal to
//!   the one stored is not written again.
//!
//! The schedule is pure ([`next_action`], [`next_fetch_at`]); [`watch`] runs on the actix
//! runtime because awc's client is not `Send`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use time::OffsetDateTime;

use crate::config::IdpSource;
use crate::saml::metadata::{IdpMetadata, parse_idp_metadata};
use crate::store::CachedMetadata;
use crate::web::state::{AppState, GoodMetadata, MetadataSource, MetadataStatus};

/// Connect timeout, and the limit of a whole fetch (connect, headers and body).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The default of `FEDBRIDGE_MAX_METADATA_BYTES` (the installer's limit; a test keeps it
/// equal to the schema's default).
pub const MAX_METADATA_BYTES: usize = 10 * 1024 * 1024;
/// At most one early refresh (a login signed with an unknown key) per this interval.
pub const EARLY_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a login waits for an early refresh.
pub const EARLY_REFRESH_WAIT: Duration = Duration::from_secs(5);
/// How soon a failed fetch is tried again (unless the refresh interval is shorter).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// How often the loop looks at the schedule (and notices a changed URL).
pub const TICK: Duration = Duration::from_secs(1);

/// What the metadata loop should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing is due.
    Wait,
    /// Not in the metadata scenario (any more): forget the status.
    Clear,
    /// Fetch `url`; `fresh`: a new URL or entityID (fall back on the database cache).
    Fetch {
        /// `SAML_METADATA_URL`.
        url: String,
        /// `SAML_SERVER_ENTITY_IDENTIFIER`.
        entity_id: Option<String>,
        /// No status for this URL and entityID yet.
        fresh: bool,
    },
}

/// Decides what is due, from the configured IdP source (`None`: unconfigured), the refresh
/// interval configured now and the status.
pub fn next_action(
    source: Option<&IdpSource>,
    status: Option<&MetadataStatus>,
    refresh: time::Duration,
    now: OffsetDateTime,
) -> Action {
    let Some(IdpSource::Metadata { url, entity_id }) = source else {
        return match status {
            Some(_) => Action::Clear,
            None => Action::Wait,
        };
    };
    let fetch = |fresh| Action::Fetch {
        url: url.as_str().to_owned(),
        entity_id: entity_id.clone(),
        fresh,
    };
    match status {
        Some(s) if s.url == url.as_str() && s.entity_id == *entity_id => {
            if now >= next_fetch_at(s.attempted_at, refresh, s.error.is_some()) {
                fetch(false)
            } else {
                Action::Wait
            }
        }
        _ => fetch(true),
    }
}

/// When the next fetch is due after an attempt at `now` (that `failed` or not).
pub fn next_fetch_at(now: OffsetDateTime, refresh: time::Duration, failed: bool) -> OffsetDateTime {
    let retry = time::Duration::try_from(RETRY_AFTER_FAILURE).unwrap_or(time::Duration::MINUTE);
    let wait = if failed { refresh.min(retry) } else { refresh };
    now + wait
}

/// The metadata loop: runs for as long as the server runs, on the actix runtime.
pub async fn watch(state: web::Data<AppState>) {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().timeout(FETCH_TIMEOUT))
        .timeout(FETCH_TIMEOUT)
        .disable_redirects()
        .finish();
    // A fetch at start too, beside the copy of the database already in service.
    let mut early = true;
    loop {
        let active = state.config();
        let status = state.metadata();
        let source = active.as_ref().map(|a| &a.config.idp);
        let refresh = active
            .as_ref()
            .map_or(time::Duration::HOUR, |a| a.config.metadata_refresh);
        let max_bytes = active
            .as_ref()
            .map_or(MAX_METADATA_BYTES, |a| a.config.max_metadata_bytes);
        let mut action = next_action(source, status.as_deref(), refresh, state.now());
        if early
            && action == Action::Wait
            && let Some(IdpSource::Metadata { url, entity_id }) = source
        {
            action = Action::Fetch {
                url: url.as_str().to_owned(),
                entity_id: entity_id.clone(),
                fresh: false,
            };
        }
        match action {
            Action::Wait => {}
            Action::Clear => state.set_metadata(None),
            Action::Fetch {
                url,
                entity_id,
                fresh,
            } => {
                let previous = if fresh { None } else { status };
                let fetch = Fetch {
                    client: &client,
                    url,
                    entity_id,
                    max_bytes,
                };
                let new = refresh_once(&state, &fetch, previous).await;
                state.set_metadata(Some(new));
            }
        }
        if early {
            state.refresh_done();
        }
        early = tokio::select! {
            () = state.refresh_wanted() => true,
            () = actix_web::rt::time::sleep(TICK) => false,
        };
    }
}

/// What one fetch asks for.
pub struct Fetch<'a> {
    /// The HTTP client.
    pub client: &'a awc::Client,
    /// `SAML_METADATA_URL`.
    pub url: String,
    /// `SAML_SERVER_ENTITY_IDENTIFIER`.
    pub entity_id: Option<String>,
    /// `FEDBRIDGE_MAX_METADATA_BYTES`.
    pub max_bytes: usize,
}

/// The database's copy of the configured metadata, parsed, as the status to put in service at
/// start, before anything is fetched. `None` outside the metadata scenario or without a usable
/// copy. Blocking.
pub fn cached_at_start(state: &AppState) -> Option<MetadataStatus> {
    let active = state.config()?;
    let IdpSource::Metadata { url, entity_id } = &active.config.idp else {
        return None;
    };
    let cached = match state.store().cached_idp_metadata(url.as_str()) {
        Ok(cached) => cached?,
        Err(error) => {
            tracing::warn!("cannot read the cached IdP metadata: {error}");
            return None;
        }
    };
    let fetched_at = OffsetDateTime::from_unix_timestamp(cached.fetched_at).ok()?;
    let digest = openssl::sha::sha256(cached.body.as_bytes());
    match parse_idp_metadata(
        cached.body.as_bytes(),
        entity_id.as_deref(),
        active.config.max_metadata_bytes,
    ) {
        Ok(metadata) => {
            tracing::info!(url = %url, "IdP metadata in service from the database's copy");
            Some(MetadataStatus {
                url: url.as_str().to_owned(),
                entity_id: entity_id.clone(),
                good: Some(GoodMetadata {
                    metadata: Arc::new(metadata),
                    source: MetadataSource::Cache,
                    fetched_at,
                    digest,
                }),
                error: None,
                attempted_at: fetched_at,
            })
        }
        Err(error) => {
            tracing::warn!(url = %url, "the cached IdP metadata is unusable: {error}");
            None
        }
    }
}

/// One attempt: fetch and parse; on failure keep `previous`'s good copy, or (fresh) fall back
/// on the database cache. A document equal to the one in service is not stored again. Logs
/// each outcome once.
async fn refresh_once(
    state: &web::Data<AppState>,
    request: &Fetch<'_>,
    previous: Option<Arc<MetadataStatus>>,
) -> MetadataStatus {
    let (url, entity_id) = (request.url.clone(), request.entity_id.clone());
    let fetched = match fetch(request.client, &url, request.max_bytes).await {
        Ok(body) => parse(body, entity_id.clone(), request.max_bytes).await,
        Err(error) => Err(error),
    };
    let now = state.now();
    state.metrics().count_metadata_fetch(fetched.is_ok());
    let (good, error) = match fetched {
        Ok((metadata, body)) => {
            let digest = openssl::sha::sha256(&body);
            let unchanged = previous
                .as_ref()
                .and_then(|p| p.good.as_ref())
                .is_some_and(|g| g.digest == digest);
            if unchanged {
                tracing::debug!(url = %url, "IdP metadata fetched, unchanged");
            } else {
                tracing::info!(
                    url = %url,
                    entity_id = ?metadata.entity_id,
                    keys = metadata.signing_keys.len(),
                    "IdP metadata fetched"
                );
                save_cache(state, &url, body, now).await;
            }
            let good = GoodMetadata {
                metadata: Arc::new(metadata),
                source: MetadataSource::Url,
                fetched_at: now,
                digest,
            };
            (Some(good), None)
        }
        Err(error) => {
            let good = match &previous {
                Some(p) => p.good.clone(),
                None => from_cache(state, &url, entity_id.clone(), request.max_bytes).await,
            };
            let repeated = previous
                .as_ref()
                .is_some_and(|p| p.error.as_deref() == Some(error.as_str()));
            if !repeated {
                let kept = match &good {
                    Some(g) if g.source == MetadataSource::Cache => {
                        "using the copy cached in the database"
                    }
                    Some(_) => "keeping the last good copy",
                    None => "no IdP metadata is available: logins cannot work",
                };
                tracing::warn!(url = %url, "IdP metadata: {error}; {kept}");
            }
            (good, Some(error))
        }
    };
    MetadataStatus {
        url,
        entity_id,
        good,
        error,
        attempted_at: now,
    }
}

/// GETs the metadata: no redirects, [`FETCH_TIMEOUT`] for the whole exchange, at most
/// `max_bytes` (`FEDBRIDGE_MAX_METADATA_BYTES`; a `Content-Length` over it is refused before
/// the body is read).
pub async fn fetch(client: &awc::Client, url: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
    let too_large = || {
        format!(
            "the IdP metadata is larger than FEDBRIDGE_MAX_METADATA_BYTES ({max_bytes} bytes): \
             raise it, or use a per-entity (MDQ) URL"
        )
    };
    let exchange = async {
        let send = |version| {
            client
                .get(url)
                .version(version)
                .insert_header((
                    "Accept",
                    "application/samlmetadata+xml, application/xml, text/xml",
                ))
                .send()
        };
        let mut response = send(actix_web::http::Version::HTTP_11)
            .await
            .map_err(|e| format!("cannot fetch the IdP metadata: {e}"))?;
        // An HTTP/1.1 body with neither Content-Length nor chunked encoding ends when the
        // connection closes (RFC 9112 section 6.3; e.g. PHP's built-in server), and awc reads
        // such a body as empty: ask again as HTTP/1.0, whose bodies awc reads to the end.
        let headers = response.headers();
        if response.status().is_success()
            && response.version() == actix_web::http::Version::HTTP_11
            && !headers.contains_key(actix_web::http::header::CONTENT_LENGTH)
            && !headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
        {
            response = send(actix_web::http::Version::HTTP_10)
                .await
                .map_err(|e| format!("cannot fetch the IdP metadata: {e}"))?;
        }
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "the IdP metadata URL answered HTTP {status}: redirects are not followed, set \
                 SAML_METADATA_URL to the final address"
            ));
        }
        if !status.is_success() {
            return Err(format!("the IdP metadata URL answered HTTP {status}"));
        }
        let announced = response
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if announced.is_some_and(|n| n > max_bytes) {
            return Err(too_large());
        }
        let body = response
            .body()
            .limit(max_bytes)
            .await
            .map_err(|e| match e {
                awc::error::PayloadError::Overflow => too_large(),
                e => format!("cannot read the IdP metadata: {e}"),
            })?;
        Ok(body.to_vec())
    };
    match actix_web::rt::time::timeout(FETCH_TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "fetching the IdP metadata took longer than {} s",
            FETCH_TIMEOUT.as_secs()
        )),
    }
}

/// Parses off the runtime (libxml2 documents stay on one thread; aggregates take a while).
async fn parse(
    body: Vec<u8>,
    entity_id: Option<String>,
    max_bytes: usize,
) -> Result<(IdpMetadata, Vec<u8>), String> {
    let parsed = web::block(move || {
        parse_idp_metadata(&body, entity_id.as_deref(), max_bytes).map(|md| (md, body))
    })
    .await;
    match parsed {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(error)) => Err(format!("the IdP metadata is refused: {error}")),
        Err(error) => Err(format!("the IdP metadata could not be parsed: {error}")),
    }
}

/// Stores a good copy; failures are logged, not fatal (the copy in memory is in service).
async fn save_cache(state: &web::Data<AppState>, url: &str, body: Vec<u8>, now: OffsetDateTime) {
    let Ok(body) = String::from_utf8(body) else {
        tracing::warn!(url = %url, "IdP metadata is not UTF-8: not cached in the database");
        return;
    };
    let store = state.store().clone();
    let url = url.to_owned();
    let document = CachedMetadata {
        body,
        fetched_at: now.unix_timestamp(),
    };
    let saved = web::block(move || store.save_idp_metadata(&url, &document)).await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!("cannot cache the IdP metadata: {error}"),
        Err(error) => tracing::warn!("cannot cache the IdP metadata: {error}"),
    }
}

/// The cached copy of `url`, parsed for `entity_id`; `None` when there is none or it is no
/// longer acceptable (logged).
async fn from_cache(
    state: &web::Data<AppState>,
    url: &str,
    entity_id: Option<String>,
    max_bytes: usize,
) -> Option<GoodMetadata> {
    let store = state.store().clone();
    let key = url.to_owned();
    let cached = match web::block(move || store.cached_idp_metadata(&key)).await {
        Ok(Ok(cached)) => cached?,
        Ok(Err(error)) => {
            tracing::warn!("cannot read the cached IdP metadata: {error}");
            return None;
        }
        Err(error) => {
            tracing::warn!("cannot read the cached IdP metadata: {error}");
            return None;
        }
    };
    let fetched_at = OffsetDateTime::from_unix_timestamp(cached.fetched_at).ok()?;
    let digest = openssl::sha::sha256(cached.body.as_bytes());
    match parse(cached.body.into_bytes(), entity_id, max_bytes).await {
        Ok((metadata, _)) => Some(GoodMetadata {
            metadata: Arc::new(metadata),
            source: MetadataSource::Cache,
            fetched_at,
            digest,
        }),
        Err(error) => {
            tracing::warn!(url = %url, "the cached IdP metadata is unusable: {error}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AbsoluteUrl;
    use time::macros::datetime;

    fn metadata_source(url: &str, entity_id: Option<&str>) -> IdpSource {
        IdpSource::Metadata {
            url: AbsoluteUrl::parse(url).unwrap(),
            entity_id: entity_id.map(str::to_owned),
        }
    }

    /// A status of `url` attempted at `attempted_at`.
    fn status(url: &str, attempted_at: OffsetDateTime) -> MetadataStatus {
        MetadataStatus {
            url: url.into(),
            entity_id: None,
            good: None,
            error: None,
            attempted_at,
        }
    }

    const URL: &str = "https://idp.example.com/metadata";
    const NOW: OffsetDateTime = datetime!(2026-01-15 10:00 UTC);
    const HOUR: time::Duration = time::Duration::HOUR;

    #[test]
    fn a_new_url_is_fetched_fresh() {
        let source = metadata_source(URL, None);
        let expect = Action::Fetch {
            url: URL.into(),
            entity_id: None,
            fresh: true,
        };
        assert_eq!(next_action(Some(&source), None, HOUR, NOW), expect);
        let other = status("https://old.example.com/md", NOW);
        assert_eq!(next_action(Some(&source), Some(&other), HOUR, NOW), expect);
        let entity = metadata_source(URL, Some("https://idp.example.com"));
        let same_url = status(URL, NOW);
        assert!(matches!(
            next_action(Some(&entity), Some(&same_url), HOUR, NOW),
            Action::Fetch { fresh: true, .. }
        ));
    }

    #[test]
    fn the_same_url_is_refreshed_when_due_by_the_interval_configured_now() {
        let source = metadata_source(URL, None);
        let ten_minutes_ago = status(URL, NOW - time::Duration::minutes(10));
        assert_eq!(
            next_action(Some(&source), Some(&ten_minutes_ago), HOUR, NOW),
            Action::Wait
        );
        // The interval changed to 5 minutes: due at once, not at the old schedule.
        assert!(matches!(
            next_action(
                Some(&source),
                Some(&ten_minutes_ago),
                time::Duration::minutes(5),
                NOW
            ),
            Action::Fetch { fresh: false, .. }
        ));
        let failed = MetadataStatus {
            error: Some("down".into()),
            ..status(URL, NOW - time::Duration::minutes(2))
        };
        assert!(matches!(
            next_action(Some(&source), Some(&failed), HOUR, NOW),
            Action::Fetch { fresh: false, .. }
        ));
    }

    #[test]
    fn leaving_the_metadata_scenario_clears_the_status() {
        let current = status(URL, NOW);
        assert_eq!(next_action(None, Some(&current), HOUR, NOW), Action::Clear);
        assert_eq!(next_action(None, None, HOUR, NOW), Action::Wait);
    }

    #[test]
    fn the_installers_limit_is_the_schemas_default() {
        let schema = crate::config::schema::schema().unwrap();
        let def = schema.setting("FEDBRIDGE_MAX_METADATA_BYTES").unwrap();
        assert_eq!(
            def.default.as_deref(),
            Some(MAX_METADATA_BYTES.to_string().as_str())
        );
    }

    /// Serves `body` to exactly `count` requests on a fresh port, then closes the port.
    fn serve(body: Vec<u8>, count: usize) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for _ in 0..count {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        format!("http://127.0.0.1:{port}/md.xml")
    }

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/idp-samples/simplesamlphp/idp-metadata.xml"
        ))
        .unwrap()
    }

    fn state() -> (tempfile::TempDir, web::Data<AppState>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&crate::store::testing::database_in(
            dir.path(),
            "t.db",
            "web::idp",
        ))
        .unwrap();
        let state = web::Data::new(AppState::new(store, Arc::new(crate::clock::SystemClock)));
        (dir, state)
    }

    fn request<'a>(client: &'a awc::Client, url: &str, max_bytes: usize) -> Fetch<'a> {
        Fetch {
            client,
            url: url.to_owned(),
            entity_id: None,
            max_bytes,
        }
    }

    #[actix_web::test]
    async fn a_failed_refresh_keeps_the_copy_in_service_and_fresh_starts_use_the_cache() {
        let (_dir, state) = state();
        let client = awc::Client::default();
        let url = serve(sample(), 1);
        let fetch = request(&client, &url, MAX_METADATA_BYTES);

        let first = refresh_once(&state, &fetch, None).await;
        let good = first.good.clone().expect("fetched");
        assert_eq!(good.source, MetadataSource::Url);
        assert!(first.error.is_none());
        assert!(state.store().cached_idp_metadata(&url).unwrap().is_some());

        // The port is closed now: a refresh fails and keeps the copy in service.
        let first = Arc::new(first);
        let again = refresh_once(&state, &fetch, Some(first)).await;
        let kept = again.good.expect("kept");
        assert_eq!(kept.source, MetadataSource::Url);
        assert_eq!(kept.metadata.entity_id, good.metadata.entity_id);
        assert!(again.error.is_some());
        assert_eq!(
            next_fetch_at(again.attempted_at, HOUR, true) - again.attempted_at,
            time::Duration::MINUTE
        );

        // A fresh start for the same URL (restart, or a new entityID) uses the database.
        let fresh = refresh_once(&state, &fetch, None).await;
        assert_eq!(fresh.good.expect("cached").source, MetadataSource::Cache);
        assert!(fresh.error.is_some());
    }

    #[actix_web::test]
    async fn the_same_document_fetched_again_is_not_stored_again() {
        let (_dir, state) = state();
        let client = awc::Client::default();
        let url = serve(sample(), 2);
        let fetch = request(&client, &url, MAX_METADATA_BYTES);
        let first = Arc::new(refresh_once(&state, &fetch, None).await);
        let stored = state.store().cached_idp_metadata(&url).unwrap().unwrap();
        // A second later, the same bytes: in service (fetched_at moves), not written again.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
        let second = refresh_once(&state, &fetch, Some(first.clone())).await;
        assert!(second.error.is_none());
        assert!(second.good.unwrap().fetched_at > first.good.as_ref().unwrap().fetched_at);
        let after = state.store().cached_idp_metadata(&url).unwrap().unwrap();
        assert_eq!(after.fetched_at, stored.fetched_at);
    }

    #[actix_web::test]
    async fn metadata_over_the_size_limit_is_refused_naming_the_setting() {
        let (_dir, state) = state();
        let client = awc::Client::default();
        let url = serve(sample(), 1);
        let status = refresh_once(&state, &request(&client, &url, 1024), None).await;
        assert!(status.good.is_none());
        let error = status.error.unwrap();
        assert!(error.contains("FEDBRIDGE_MAX_METADATA_BYTES"), "{error}");
    }

    #[actix_web::test]
    async fn an_unreachable_url_without_cache_has_no_metadata() {
        let (_dir, state) = state();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/md.xml");
        let client = awc::Client::default();
        let status = refresh_once(&state, &request(&client, &url, MAX_METADATA_BYTES), None).await;
        assert!(status.good.is_none());
        assert!(
            status
                .error
                .unwrap()
                .contains("cannot fetch the IdP metadata")
        );
    }

    #[test]
    fn failures_retry_sooner_than_the_refresh() {
        assert_eq!(next_fetch_at(NOW, HOUR, false), NOW + HOUR);
        assert_eq!(next_fetch_at(NOW, HOUR, true), NOW + time::Duration::MINUTE);
        let short = time::Duration::seconds(30);
        assert_eq!(next_fetch_at(NOW, short, true), NOW + short);
    }
}
