//! Validations per second on one core for realistic Azure-style responses (issue: >= 10,000/s
//! for the 6 KB response). Run: `cargo bench --bench validate`.
//!
//! The fixtures are signed by xmlsec1 (tests/fixtures/xmlsec). The ledger accepts every ID so
//! the same response can be validated repeatedly; the real replay cache is measured elsewhere.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fedbridge::saml::{
    Claim, DecryptionKey, MessageLedger, SigningKey, SpSettings, TrustedIdp, validate_response,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A ledger that remembers nothing: every request is outstanding, every assertion new.
struct Forgetful;

impl MessageLedger for Forgetful {
    type Error = std::convert::Infallible;

    fn claim(&mut self, _: &str, _: OffsetDateTime, _: Option<&str>) -> Result<Claim, Self::Error> {
        Ok(Claim::Taken)
    }
}

fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xmlsec")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn settings() -> (SpSettings, TrustedIdp) {
    let cert = String::from_utf8(fixture("keys/idp-rsa.crt")).unwrap_or_default();
    let sp = SpSettings {
        decryption_keys: DecryptionKey::from_pem(&fixture("keys/sp-enc.key"))
            .into_iter()
            .collect(),
        ..SpSettings::new(
            "https://sp.example.test/saml/metadata",
            "https://sp.example.test/EnticeServices/rest/authenticate/saml",
        )
    };
    let idp = TrustedIdp {
        entity_id: Some("https://idp.example.test/metadata".into()),
        signing_keys: SigningKey::from_certificates(&cert).unwrap_or_default(),
    };
    (sp, idp)
}

fn bench_validate(c: &mut Criterion) {
    let (sp, idp) = settings();
    let now = OffsetDateTime::parse("2026-01-15T10:01:00Z", &Rfc3339)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut group = c.benchmark_group("validate_response");
    for name in [
        "azure-6k.xml",
        "azure-200-groups.xml",
        "rsa-sha256-both.xml",
        "enc-aes128cbc-assertion-signed.xml",
    ] {
        let xml = fixture(&format!("signed/{name}"));
        assert!(
            validate_response(&xml, &sp, &idp, &mut Forgetful, now).is_ok(),
            "{name} must validate"
        );
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| validate_response(black_box(&xml), &sp, &idp, &mut Forgetful, now))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_validate);
criterion_main!(benches);
