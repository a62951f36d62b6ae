//! Certificates and keys that expire: the IdP's signing certificates (pinned or from the
//! metadata), our SP certificate, and the xsession signing keys (which have no expiry of their
//! own: an active key is due for rotation [`XSESSION_KEY_MAX_AGE`] after it was made, and
//! `fedbridge keys rotate` makes the next one). Those expiring within
//! `FEDBRIDGE_CERT_EXPIRY_WARNING` are warnings on the admin console and in the log, once a day
//! ([`watch`]); every one is a `fedbridge_certificate_expiry_days` metric.

use std::time::Duration;

use actix_web::web;

use crate::config::Config;
use crate::login::IdpTrust;
use crate::store::SigningKeyInfo;
use crate::web::state::AppState;

/// How long an xsession signing key serves before it is due for rotation.
pub const XSESSION_KEY_MAX_AGE: time::Duration = time::Duration::days(365);

/// How often the warnings are logged.
pub const LOG_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// What expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An IdP signing certificate.
    IdpSigning,
    /// fedbridge's own certificate (`FEDBRIDGE_SP_CERTIFICATE`).
    Sp,
    /// An active xsession signing key (due for rotation).
    XsessionKey,
}

impl Kind {
    /// The `kind` label of the metric.
    pub fn label(self) -> &'static str {
        match self {
            Kind::IdpSigning => "idp_signing",
            Kind::Sp => "sp",
            Kind::XsessionKey => "xsession_key",
        }
    }

    /// What a person calls it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::IdpSigning => "IdP signing certificate",
            Kind::Sp => "SP certificate",
            Kind::XsessionKey => "xsession signing key",
        }
    }

    /// What to do about it.
    pub fn remedy(self) -> &'static str {
        match self {
            Kind::IdpSigning => {
                "ask the IdP team for its next certificate and add it to SAML_SIGNING_CERTIFICATE \
                 (or check that the metadata publishes it)"
            }
            Kind::Sp => {
                "make a new key pair, give the certificate to the IdP team, then set \
                 FEDBRIDGE_SP_PRIVATE_KEY and FEDBRIDGE_SP_CERTIFICATE together"
            }
            Kind::XsessionKey => "run fedbridge keys rotate",
        }
    }
}

/// One certificate or key and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// What it is.
    pub kind: Kind,
    /// Its subject (certificates) or kid (keys).
    pub subject: String,
    /// When it expires (epoch seconds); `None`: unknown.
    pub not_after: Option<i64>,
}

impl Expiry {
    /// Days from `now` (epoch seconds) to the expiry; negative once expired.
    pub fn days_left(&self, now: i64) -> Option<f64> {
        self.not_after
            .map(|at| (at.saturating_sub(now)) as f64 / 86_400.0)
    }

    /// Whether it expires within `window` of `now` (or has expired).
    pub fn is_due(&self, now: i64, window: time::Duration) -> bool {
        self.not_after
            .is_some_and(|at| at <= now.saturating_add(window.whole_seconds()))
    }
}

/// Every certificate and key in service: the trusted IdP's, ours, the active xsession keys.
pub fn expiries(config: &Config, idp: Option<&IdpTrust>, keys: &[SigningKeyInfo]) -> Vec<Expiry> {
    let mut list: Vec<Expiry> = idp
        .map(|trust| trust.idp.signing_keys.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|key| Expiry {
            kind: Kind::IdpSigning,
            subject: key.subject().to_owned(),
            not_after: key.not_after(),
        })
        .collect();
    if let Some(pair) = &config.sp_key_pair {
        list.push(Expiry {
            kind: Kind::Sp,
            subject: pair.certificate.subject().to_owned(),
            not_after: pair.certificate.not_after(),
        });
    }
    list.extend(
        keys.iter()
            .filter(|key| key.retired_at.is_none())
            .map(|key| Expiry {
                kind: Kind::XsessionKey,
                subject: format!("{} ({})", key.kid, key.algorithm),
                not_after: Some(
                    key.created_at
                        .saturating_add(XSESSION_KEY_MAX_AGE.whole_seconds()),
                ),
            }),
    );
    list
}

/// The expiries of the configuration in service now (blocking: reads the keys).
pub fn current(state: &AppState) -> Vec<Expiry> {
    let Some(active) = state.config() else {
        return Vec::new();
    };
    let keys = state.store().signing_keys().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the xsession signing keys");
        Vec::new()
    });
    expiries(&active.config, state.idp_trust().as_ref(), &keys)
}

/// Logs every certificate or key due within the window once a day, starting a minute after
/// the start (the IdP metadata is fetched by then).
pub async fn watch(state: web::Data<AppState>) {
    actix_web::rt::time::sleep(Duration::from_secs(60)).await;
    let mut interval = actix_web::rt::time::interval(LOG_INTERVAL);
    loop {
        interval.tick().await;
        let state = state.clone();
        let _ = web::block(move || log_due(&state)).await;
    }
}

fn log_due(state: &AppState) {
    let Some(active) = state.config() else {
        return;
    };
    let now = state.now().unix_timestamp();
    for expiry in current(state) {
        if expiry.is_due(now, active.config.cert_expiry_warning) {
            tracing::warn!(
                kind = expiry.kind.label(),
                subject = %expiry.subject,
                days_left = expiry.days_left(now).map(|d| d.floor() as i64).unwrap_or_default(),
                "{} expires soon: {}",
                expiry.kind.name(),
                expiry.kind.remedy()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_within_the_window_or_expired() {
        let day = 86_400;
        let expiry = |not_after| Expiry {
            kind: Kind::Sp,
            subject: "CN=sp".into(),
            not_after,
        };
        let window = time::Duration::days(30);
        assert!(expiry(Some(10 * day)).is_due(0, window));
        assert!(expiry(Some(-day)).is_due(0, window));
        assert!(!expiry(Some(31 * day)).is_due(0, window));
        assert!(!expiry(None).is_due(0, window));
        assert_eq!(expiry(Some(3 * day)).days_left(day), Some(2.0));
    }
}
