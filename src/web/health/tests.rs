//! The health verdict from the state's parts.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::macros::datetime;

use super::*;
use crate::config::Problem;
use crate::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, parse_idp_metadata};
use crate::web::state::{GoodMetadata, MetadataSource};

const METADATA: &str = "http://127.0.0.1:9/metadata";

fn ready() -> Readiness {
    Readiness {
        ready: true,
        reasons: Vec::new(),
    }
}

#[test]
fn readiness_needs_a_configuration_the_idp_and_a_recent_write() {
    let active = configured(METADATA);
    let now = std::time::Instant::now();
    let ok = WriteHealth {
        last_ok: Some(now),
        last_failure: None,
    };
    assert_eq!(readiness(Some(&active), true, &ok, now), ready());
    let r = readiness(None, false, &ok, now);
    assert_eq!(r.reasons, ["no valid configuration is in service"]);
    let r = readiness(Some(&active), false, &ok, now);
    assert!(r.reasons[0].starts_with("the IdP's signing keys"));
    let stale = readiness(Some(&active), true, &ok, now + WRITE_FRESHNESS * 2);
    assert_eq!(stale.reasons, ["no write committed in the last 6 s"]);
    let failed = WriteHealth {
        last_ok: Some(now),
        last_failure: Some((
            now + std::time::Duration::from_secs(1),
            "full",
            "disk full".into(),
        )),
    };
    let r = readiness(
        Some(&active),
        true,
        &failed,
        now + std::time::Duration::from_secs(1),
    );
    assert_eq!(r.reasons, ["the last write failed (full): disk full"]);
    // A success after the failure: ready again.
    let recovered = WriteHealth {
        last_ok: Some(now + std::time::Duration::from_secs(2)),
        ..failed
    };
    assert!(
        readiness(
            Some(&active),
            true,
            &recovered,
            now + std::time::Duration::from_secs(2)
        )
        .ready
    );
}
const AT: OffsetDateTime = datetime!(2026-01-15 10:00 UTC);

fn configured(metadata_url: &str) -> ActiveConfig {
    let rows: BTreeMap<String, Option<String>> = [
        (
            "SAML_CONSUMER_URL",
            "https://sp.example.com/EnticeServices/rest/authenticate/saml",
        ),
        ("SAML_METADATA_URL", metadata_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
    .collect();
    let loaded = crate::config::load(&rows).unwrap();
    ActiveConfig {
        config: loaded.config,
        warnings: loaded.warnings,
        loaded_at: AT,
        rows,
    }
}

fn good(source: MetadataSource) -> GoodMetadata {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/idp-samples/simplesamlphp/idp-metadata.xml"
    );
    let bytes = std::fs::read(path).unwrap();
    GoodMetadata {
        metadata: Arc::new(parse_idp_metadata(&bytes, None, DEFAULT_MAX_METADATA_BYTES).unwrap()),
        source,
        fetched_at: AT,
        digest: openssl::sha::sha256(&bytes),
    }
}

fn status(good: Option<GoodMetadata>, error: Option<&str>) -> MetadataStatus {
    MetadataStatus {
        url: METADATA.into(),
        entity_id: None,
        good,
        error: error.map(str::to_owned),
        attempted_at: AT,
    }
}

fn json(report: &Report) -> serde_json::Value {
    serde_json::to_value(report).unwrap()
}

#[test]
fn unconfigured_without_a_config() {
    let health = ConfigHealth {
        problems: vec![Problem {
            key: "SAML_CONSUMER_URL".into(),
            message: "required".into(),
            example: None,
            missing: false,
        }],
        ..ConfigHealth::default()
    };
    let report = report(None, &health, None, ready());
    assert_eq!(report.status, Status::Unconfigured);
    let j = json(&report);
    assert_eq!(j["status"], "unconfigured");
    assert_eq!(j["config"]["valid"], false);
    assert_eq!(j["config"]["problems"][0]["key"], "SAML_CONSUMER_URL");
    assert!(j["config"]["loaded_at"].is_null());
    assert!(j["idp_metadata"].is_null());
}

#[test]
fn ok_with_fresh_metadata() {
    let active = configured(METADATA);
    let md = status(Some(good(MetadataSource::Url)), None);
    let report = report(Some(&active), &ConfigHealth::default(), Some(&md), ready());
    assert_eq!(report.status, Status::Ok);
    let j = json(&report);
    assert_eq!(j["config"]["valid"], true);
    assert_eq!(j["config"]["loaded_at"], "2026-01-15T10:00:00Z");
    assert_eq!(j["idp_metadata"]["source"], "url");
    assert_eq!(j["idp_metadata"]["fetched_at"], "2026-01-15T10:00:00Z");
    assert!(j["idp_metadata"]["error"].is_null());
    assert!(j["idp_metadata"]["signing_certificates"].as_u64().unwrap() >= 1);
}

#[test]
fn degraded_when_anything_needs_attention() {
    let active = configured(METADATA);
    let fine = status(Some(good(MetadataSource::Url)), None);
    let invalid = ConfigHealth {
        problems: vec![Problem {
            key: "FEDBRIDGE_CLOCK_SKEW".into(),
            message: "bad".into(),
            example: None,
            missing: false,
        }],
        ..ConfigHealth::default()
    };
    let r = report(Some(&active), &invalid, Some(&fine), ready());
    assert_eq!(r.status, Status::Degraded);
    assert_eq!(json(&r)["config"]["valid"], false);

    let locked = ConfigHealth {
        database_error: Some("the database is locked".into()),
        ..ConfigHealth::default()
    };
    let r = report(Some(&active), &locked, Some(&fine), ready());
    assert_eq!(r.status, Status::Degraded);
    assert_eq!(
        json(&r)["config"]["database_error"],
        "the database is locked"
    );

    let stale = status(
        Some(good(MetadataSource::Cache)),
        Some("connection refused"),
    );
    let r = report(
        Some(&active),
        &ConfigHealth::default(),
        Some(&stale),
        ready(),
    );
    assert_eq!(r.status, Status::Degraded);
    let j = json(&r);
    assert_eq!(j["idp_metadata"]["source"], "cache");
    assert_eq!(j["idp_metadata"]["error"], "connection refused");

    let none = status(None, Some("connection refused"));
    let r = report(
        Some(&active),
        &ConfigHealth::default(),
        Some(&none),
        ready(),
    );
    assert_eq!(r.status, Status::Degraded);
    assert!(json(&r)["idp_metadata"]["source"].is_null());

    // Not fetched yet, or fetched for another URL.
    let r = report(Some(&active), &ConfigHealth::default(), None, ready());
    assert_eq!(r.status, Status::Degraded);
    let elsewhere = configured("http://127.0.0.1:10/other");
    let r = report(
        Some(&elsewhere),
        &ConfigHealth::default(),
        Some(&fine),
        ready(),
    );
    assert_eq!(r.status, Status::Degraded);
}
