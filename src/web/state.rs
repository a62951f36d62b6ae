//! What every request and every background task shares: the configuration in service, the
//! problems of the settings as they are now, and the IdP's trust material.
//!
//! Each part sits in its own [`ArcSwap`]: a request takes a snapshot (`load_full`) without a
//! lock and keeps using it even if the reload task swaps in a new configuration meanwhile.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use arc_swap::{ArcSwap, ArcSwapOption};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::{Config, IdpSource, Loaded, Problem};
pub use crate::login::IdpTrust;
use crate::metrics::Metrics;
use crate::saml::TrustedIdp;
use crate::saml::metadata::IdpMetadata;
use crate::store::{NodeRecord, SigningKeyError, Store};
use crate::token::{Algorithm, SigningKeyPair};
use crate::web::edge::Edge;
use crate::web::error::WebError;
use crate::web::refusals::Refusals;

/// The shared state of one server (every worker sees the same one through `web::Data`).
pub struct AppState {
    store: Store,
    clock: Arc<dyn Clock>,
    config: ArcSwapOption<ActiveConfig>,
    health: ArcSwap<ConfigHealth>,
    metadata: ArcSwapOption<MetadataStatus>,
    refresh: Refresh,
    signing_key: ArcSwapOption<CachedKey>,
    metrics: Metrics,
    node: Node,
    edge: Edge,
    refusals: Refusals,
}

/// Early metadata refreshes: asked for by a login signed with a key the metadata does not hold
/// (an IdP's key rollover), done by the metadata loop, waited for by the login.
#[derive(Debug)]
struct Refresh {
    /// Woken when a refresh is wanted now.
    wanted: tokio::sync::Notify,
    /// Counts the fetches done (a waiting login sees it move).
    done: tokio::sync::watch::Sender<u64>,
    /// When an early refresh was last granted.
    last_early: std::sync::Mutex<Option<std::time::Instant>>,
}

/// This server as `node_status` knows it, and the settings version it holds.
#[derive(Debug)]
struct Node {
    id: String,
    started_at: OffsetDateTime,
    /// The `config_version` whose rows the last poll read and judged (-1: none yet).
    config_version: AtomicI64,
    /// Woken when the version changed, so the probe records it at once.
    changed: tokio::sync::Notify,
}

/// The xsession signing key in use, read from the database at most every
/// [`SIGNING_KEY_RECHECK`] (another node may have rotated it).
#[derive(Debug)]
struct CachedKey {
    key: Arc<SigningKeyPair>,
    read_at: OffsetDateTime,
}

/// How long a node signs with the key it read before reading the active key again. A rotated
/// key stays published for the tokens' lifetime, so tokens signed meanwhile stay valid.
pub const SIGNING_KEY_RECHECK: time::Duration = time::Duration::minutes(1);

/// A valid configuration in service.
#[derive(Debug)]
pub struct ActiveConfig {
    /// The typed settings.
    pub config: Config,
    /// Warnings of the load (unknown keys, ignored settings, insecure options).
    pub warnings: Vec<Problem>,
    /// When it was put in service.
    pub loaded_at: OffsetDateTime,
    /// The rows it was loaded from (the admin console shows them, secrets masked).
    pub rows: crate::store::ConfigRows,
}

/// How the settings in the database look right now, as the last poll saw them.
#[derive(Debug, Clone, Default)]
pub struct ConfigHealth {
    /// The problems of the rows as they are now (empty: valid). While not empty, the last
    /// valid configuration (if any) stays in service.
    pub problems: Vec<Problem>,
    /// Why the last poll could not read the settings (locked, gone), said without paths.
    pub database_error: Option<String>,
    /// When the settings were last polled.
    pub checked_at: Option<OffsetDateTime>,
}

/// The state of the IdP metadata (metadata scenario only).
#[derive(Debug, Clone)]
pub struct MetadataStatus {
    /// `SAML_METADATA_URL` this status is about.
    pub url: String,
    /// `SAML_SERVER_ENTITY_IDENTIFIER` the entity was picked with.
    pub entity_id: Option<String>,
    /// The last good copy, if there ever was one.
    pub good: Option<GoodMetadata>,
    /// Why the last attempt failed; `None` when it succeeded.
    pub error: Option<String>,
    /// When the last attempt ended (for a copy read from the database at start: when it was
    /// fetched). The next fetch is due `FEDBRIDGE_METADATA_REFRESH` later, as configured now
    /// (see `web::idp::next_fetch_at`).
    pub attempted_at: OffsetDateTime,
}

/// A metadata document that parsed, and where it came from.
#[derive(Debug, Clone)]
pub struct GoodMetadata {
    /// What fedbridge takes from it.
    pub metadata: Arc<IdpMetadata>,
    /// Fetched from the URL by this process, or read from the database cache.
    pub source: MetadataSource,
    /// When it was fetched from the URL (by this process or an earlier one).
    pub fetched_at: OffsetDateTime,
    /// SHA-256 of the document: a fetch that brings the same bytes is not stored again.
    pub digest: [u8; 32],
}

/// Where the metadata in service came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSource {
    /// Fetched from `SAML_METADATA_URL` by this process.
    Url,
    /// The last good copy in `idp_metadata_cache` (the URL could not be fetched).
    Cache,
}

impl MetadataSource {
    /// The name shown on `/healthz`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataSource::Url => "url",
            MetadataSource::Cache => "cache",
        }
    }
}

impl AppState {
    /// A state with no configuration in service yet.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            store,
            config: ArcSwapOption::empty(),
            health: ArcSwap::from_pointee(ConfigHealth::default()),
            metadata: ArcSwapOption::empty(),
            refresh: Refresh {
                wanted: tokio::sync::Notify::new(),
                done: tokio::sync::watch::Sender::new(0),
                last_early: std::sync::Mutex::new(None),
            },
            signing_key: ArcSwapOption::empty(),
            metrics: Metrics::new(crate::login::all_reason_codes()),
            node: Node {
                id: node_id(),
                started_at: clock.now(),
                config_version: AtomicI64::new(-1),
                changed: tokio::sync::Notify::new(),
            },
            edge: Edge::default(),
            refusals: Refusals::default(),
            clock,
        }
    }

    /// The edge: rate limits, the body budget, the validation slots.
    pub fn edge(&self) -> &Edge {
        &self.edge
    }

    /// The counts of refusals that carried no SAML message.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// This server's entry in `node_status` as of `now`.
    pub fn node_record(&self, now: OffsetDateTime) -> NodeRecord {
        NodeRecord {
            node_id: self.node.id.clone(),
            started_at: self.node.started_at.unix_timestamp(),
            seen_at: now.unix_timestamp(),
            config_version: self.node.config_version.load(Ordering::SeqCst).max(0),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Records that the settings of `version` were read and judged; the probe then writes
    /// `node_status` at once (see [`AppState::version_changed`]).
    pub(crate) fn set_config_version(&self, version: i64) {
        if self.node.config_version.swap(version, Ordering::SeqCst) != version {
            self.node.changed.notify_one();
        }
    }

    /// The counters of `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Resolves when the settings version this node holds changed.
    pub async fn version_changed(&self) {
        self.node.changed.notified().await;
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The configuration in service; `None` until a valid one was loaded.
    pub fn config(&self) -> Option<Arc<ActiveConfig>> {
        self.config.load_full()
    }

    /// The settings' health as of the last poll.
    pub fn health(&self) -> Arc<ConfigHealth> {
        self.health.load_full()
    }

    /// The IdP metadata status; `None` outside the metadata scenario.
    pub fn metadata(&self) -> Option<Arc<MetadataStatus>> {
        self.metadata.load_full()
    }

    /// The IdP trusted now: the pinned certificates (public-key scenario), or the last good
    /// metadata of the configured URL and entity (metadata scenario). `None` when unconfigured
    /// or when no metadata could be had yet.
    pub fn idp_trust(&self) -> Option<IdpTrust> {
        let active = self.config()?;
        match &active.config.idp {
            IdpSource::PublicKey { .. } => Some(IdpTrust {
                idp: active.config.pinned_idp()?,
                sso: active.config.pinned_sso(),
            }),
            IdpSource::Metadata { url, entity_id } => {
                let status = self.metadata()?;
                if status.url != url.as_str() || status.entity_id != *entity_id {
                    return None;
                }
                let metadata = &status.good.as_ref()?.metadata;
                Some(IdpTrust {
                    idp: TrustedIdp {
                        entity_id: Some(metadata.entity_id.clone()),
                        signing_keys: metadata.signing_keys.clone(),
                    },
                    sso: metadata.sso_endpoint(active.config.authn_request_binding.preference()),
                })
            }
        }
    }

    /// The active xsession signing key of `algorithm` (generated and stored on first use),
    /// cached for [`SIGNING_KEY_RECHECK`]. Blocking: call it from `web::block`.
    pub fn signing_key(
        &self,
        algorithm: Algorithm,
    ) -> Result<Arc<SigningKeyPair>, SigningKeyError> {
        let now = self.now();
        if let Some(cached) = self.signing_key.load_full()
            && cached.key.algorithm() == algorithm
            && now - cached.read_at < SIGNING_KEY_RECHECK
        {
            return Ok(cached.key.clone());
        }
        let key = Arc::new(self.store.active_signing_key(algorithm, now)?);
        self.signing_key.store(Some(Arc::new(CachedKey {
            key: key.clone(),
            read_at: now,
        })));
        Ok(key)
    }

    /// Puts a valid configuration in service.
    pub(crate) fn activate(&self, loaded: Loaded, rows: crate::store::ConfigRows) {
        self.store
            .set_wait(loaded.config.database_wait.unsigned_abs());
        self.config.store(Some(Arc::new(ActiveConfig {
            config: loaded.config,
            warnings: loaded.warnings,
            loaded_at: self.now(),
            rows,
        })));
    }

    /// Records what the last poll saw.
    pub(crate) fn set_health(&self, health: ConfigHealth) {
        self.health.store(Arc::new(health));
    }

    /// Asks the metadata loop for a fetch now, at most once per `interval` (early refreshes
    /// only: scheduled fetches do not count): `Some` receiver that sees the fetch done, or
    /// `None` when one was granted less than `interval` ago.
    pub fn request_refresh(
        &self,
        interval: std::time::Duration,
    ) -> Option<tokio::sync::watch::Receiver<u64>> {
        {
            let mut last = self
                .refresh
                .last_early
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < interval) {
                return None;
            }
            *last = Some(std::time::Instant::now());
        }
        let receiver = self.refresh.done.subscribe();
        self.refresh.wanted.notify_one();
        Some(receiver)
    }

    /// Whether [`AppState::request_refresh`] would grant a refresh now.
    pub fn early_refresh_possible(&self, interval: std::time::Duration) -> bool {
        !self
            .refresh
            .last_early
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < interval)
    }

    /// Resolves when an early refresh was asked for (the metadata loop waits on it).
    pub async fn refresh_wanted(&self) {
        self.refresh.wanted.notified().await;
    }

    /// Records that a fetch was done (waiting logins look at the keys again).
    pub(crate) fn refresh_done(&self) {
        self.refresh.done.send_modify(|n| *n += 1);
    }

    /// Replaces (or, with `None`, clears) the metadata status.
    pub(crate) fn set_metadata(&self, status: Option<MetadataStatus>) {
        self.metadata.store(status.map(Arc::new));
    }
}

/// A node ID unique per process: the process ID and random hex.
fn node_id() -> String {
    let random = crate::ids::correlation_id().unwrap_or_default();
    format!("{}-{random}", std::process::id())
}

/// The configuration in service, as an extractor: a handler that takes it cannot run while
/// fedbridge is not configured; the request gets the "not configured" page (503) instead.
#[derive(Debug, Clone)]
pub struct Configured(pub Arc<ActiveConfig>);

impl FromRequest for Configured {
    type Error = WebError;
    type Future = Ready<Result<Configured, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(WebError::Internal(
                "AppState is not registered with the App".into(),
            )));
        };
        ready(match state.config() {
            Some(active) => Ok(Configured(active)),
            None => Err(WebError::NotConfigured(state.health())),
        })
    }
}
