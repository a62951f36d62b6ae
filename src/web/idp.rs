//! IdP trust in the metadata scenario: fetch `SAML_METADATA_URL`, parse it with the hardened
//! parser, keep the last good copy (in memory and in `idp_metadata_cache`), refresh it every
//! `FEDBRIDGE_METADATA_REFRESH`.
//!
//! - A new URL or entityID (at start, or changed live): fetch; when that fails, the cached copy
//!   of that URL is used (parsed again, for the entityID now configured).
//! - A refresh that fails keeps the copy in service; the error shows on `/healthz` and the next
//!   attempt comes after [`RETRY_AFTER_FAILURE`] (or the refresh interval, if shorter).
//!
//! The schedule is pure ([`next_action`], [`next_fetch_at`]); [`watch`] runs on the actix
//! runtime because awc's client is not `Send`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use time::OffsetDateTime;

use crate::config::IdpSource;
use crate::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, IdpMetadata, parse_idp_metadata};
use crate::store::CachedMetadata;
use crate::web::state::{AppState, GoodMetadata, MetadataSource, MetadataStatus};

/// Connect timeout, and the limit of a whole fetch (connect, headers and body).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest metadata document fetched (aggregates are large).
pub const MAX_METADATA_BYTES: usize = DEFAULT_MAX_METADATA_BYTES;
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

/// Decides what is due, from the configured IdP source (`None`: unconfigured) and the status.
pub fn next_action(
    source: Option<&IdpSource>,
    status: Option<&MetadataStatus>,
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
            if now >= s.next_fetch_at {
                fetch(false)
            } else {
                Action::Wait
            }
        }
        _ => fetch(true),
    }
}

/// When the next fetch is due after an attempt at `now`.
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
    loop {
        let active = state.config();
        let status = state.metadata();
        let action = next_action(
            active.as_ref().map(|a| &a.config.idp),
            status.as_deref(),
            state.now(),
        );
        match action {
            Action::Wait => {}
            Action::Clear => state.set_metadata(None),
            Action::Fetch {
                url,
                entity_id,
                fresh,
            } => {
                let refresh = active
                    .as_ref()
                    .map_or(time::Duration::HOUR, |a| a.config.metadata_refresh);
                let previous = if fresh { None } else { status };
                let new = refresh_once(&state, &client, url, entity_id, previous, refresh).await;
                state.set_metadata(Some(new));
            }
        }
        actix_web::rt::time::sleep(TICK).await;
    }
}

/// One attempt: fetch and parse; on failure keep `previous`'s good copy, or (fresh) fall back
/// on the database cache. Logs each outcome once.
async fn refresh_once(
    state: &web::Data<AppState>,
    client: &awc::Client,
    url: String,
    entity_id: Option<String>,
    previous: Option<Arc<MetadataStatus>>,
    refresh: time::Duration,
) -> MetadataStatus {
    let fetched = match fetch(client, &url).await {
        Ok(body) => parse(body, entity_id.clone()).await,
        Err(error) => Err(error),
    };
    let now = state.now();
    let (good, error) = match fetched {
        Ok((metadata, body)) => {
            tracing::info!(
                url = %url,
                entity_id = ?metadata.entity_id,
                keys = metadata.signing_keys.len(),
                "IdP metadata fetched"
            );
            save_cache(state, &url, body, now).await;
            let good = GoodMetadata {
                metadata: Arc::new(metadata),
                source: MetadataSource::Url,
                fetched_at: now,
            };
            (Some(good), None)
        }
        Err(error) => {
            let good = match &previous {
                Some(p) => p.good.clone(),
                None => from_cache(state, &url, entity_id.clone()).await,
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
        next_fetch_at: next_fetch_at(now, refresh, error.is_some()),
        good,
        error,
        attempted_at: now,
    }
}

/// GETs the metadata: no redirects, [`FETCH_TIMEOUT`] for the whole exchange, at most
/// [`MAX_METADATA_BYTES`].
pub async fn fetch(client: &awc::Client, url: &str) -> Result<Vec<u8>, String> {
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
        let body = response
            .body()
            .limit(MAX_METADATA_BYTES)
            .await
            .map_err(|e| format!("cannot read the IdP metadata: {e}"))?;
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
async fn parse(body: Vec<u8>, entity_id: Option<String>) -> Result<(IdpMetadata, Vec<u8>), String> {
    let parsed = web::block(move || {
        parse_idp_metadata(&body, entity_id.as_deref(), MAX_METADATA_BYTES).map(|md| (md, body))
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
    match parse(cached.body.into_bytes(), entity_id).await {
        Ok((metadata, _)) => Some(GoodMetadata {
            metadata: Arc::new(metadata),
            source: MetadataSource::Cache,
            fetched_at,
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

    fn status(url: &str, next: OffsetDateTime) -> MetadataStatus {
        MetadataStatus {
            url: url.into(),
            entity_id: None,
            good: None,
            error: None,
            attempted_at: next - time::Duration::HOUR,
            next_fetch_at: next,
        }
    }

    const URL: &str = "https://idp.example.com/metadata";
    const NOW: OffsetDateTime = datetime!(2026-01-15 10:00 UTC);

    #[test]
    fn a_new_url_is_fetched_fresh() {
        let source = metadata_source(URL, None);
        let expect = Action::Fetch {
            url: URL.into(),
            entity_id: None,
            fresh: true,
        };
        assert_eq!(next_action(Some(&source), None, NOW), expect);
        let other = status("https://old.example.com/md", NOW + time::Duration::HOUR);
        assert_eq!(next_action(Some(&source), Some(&other), NOW), expect);
        let entity = metadata_source(URL, Some("https://idp.example.com"));
        let same_url = status(URL, NOW + time::Duration::HOUR);
        assert!(matches!(
            next_action(Some(&entity), Some(&same_url), NOW),
            Action::Fetch { fresh: true, .. }
        ));
    }

    #[test]
    fn the_same_url_is_refreshed_when_due() {
        let source = metadata_source(URL, None);
        let later = status(URL, NOW + time::Duration::SECOND);
        assert_eq!(next_action(Some(&source), Some(&later), NOW), Action::Wait);
        let due = status(URL, NOW);
        assert!(matches!(
            next_action(Some(&source), Some(&due), NOW),
            Action::Fetch { fresh: false, .. }
        ));
    }

    #[test]
    fn leaving_the_metadata_scenario_clears_the_status() {
        let current = status(URL, NOW);
        assert_eq!(next_action(None, Some(&current), NOW), Action::Clear);
        assert_eq!(next_action(None, None, NOW), Action::Wait);
    }

    /// Serves `body` to exactly one request on a fresh port, then closes the port.
    fn serve_once(body: Vec<u8>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        });
        format!("http://127.0.0.1:{port}/md.xml")
    }

    #[actix_web::test]
    async fn a_failed_refresh_keeps_the_copy_in_service_and_fresh_starts_use_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path().join("t.db").to_str().unwrap()).unwrap();
        let state = web::Data::new(AppState::new(store, Arc::new(crate::clock::SystemClock)));
        let client = awc::Client::default();
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/idp-samples/simplesamlphp/idp-metadata.xml"
        ))
        .unwrap();
        let url = serve_once(sample);
        let hour = time::Duration::HOUR;

        let first = refresh_once(&state, &client, url.clone(), None, None, hour).await;
        let good = first.good.clone().expect("fetched");
        assert_eq!(good.source, MetadataSource::Url);
        assert!(first.error.is_none());
        assert!(state.store().cached_idp_metadata(&url).unwrap().is_some());

        // The port is closed now: a refresh fails and keeps the copy in service.
        let first = Arc::new(first);
        let again = refresh_once(&state, &client, url.clone(), None, Some(first), hour).await;
        let kept = again.good.expect("kept");
        assert_eq!(kept.source, MetadataSource::Url);
        assert_eq!(kept.metadata.entity_id, good.metadata.entity_id);
        assert!(again.error.is_some());
        assert_eq!(
            again.next_fetch_at - again.attempted_at,
            time::Duration::MINUTE
        );

        // A fresh start for the same URL (restart, or a new entityID) uses the database.
        let fresh = refresh_once(&state, &client, url, None, None, hour).await;
        assert_eq!(fresh.good.expect("cached").source, MetadataSource::Cache);
        assert!(fresh.error.is_some());
    }

    #[actix_web::test]
    async fn an_unreachable_url_without_cache_has_no_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path().join("t.db").to_str().unwrap()).unwrap();
        let state = web::Data::new(AppState::new(store, Arc::new(crate::clock::SystemClock)));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/md.xml");
        let status = refresh_once(
            &state,
            &awc::Client::default(),
            url,
            None,
            None,
            time::Duration::HOUR,
        )
        .await;
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
        let hour = time::Duration::HOUR;
        assert_eq!(next_fetch_at(NOW, hour, false), NOW + hour);
        assert_eq!(next_fetch_at(NOW, hour, true), NOW + time::Duration::MINUTE);
        let short = time::Duration::seconds(30);
        assert_eq!(next_fetch_at(NOW, short, true), NOW + short);
    }
}
