//! Fuzzes the validator's entry point with the settings the seeds were signed for, so that
//! mutations reach the signature, decryption and protocol checks. Any panic is a finding.
#![no_main]

use std::sync::OnceLock;

use fedbridge::saml::{
    DecryptionKey, MessageLedger, SigningKey, SpSettings, TrustedIdp, decode_post_binding,
    validate_response,
};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/xmlsec/keys/");

/// Every request outstanding, every assertion new: the fuzzer explores the checks, not the ledger.
struct Open;

impl MessageLedger for Open {
    type Error = std::convert::Infallible;

    fn claim_assertion(&mut self, _: &str, _: OffsetDateTime) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn claim_request(&mut self, _: &str) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn settings() -> &'static (SpSettings, TrustedIdp) {
    static SETTINGS: OnceLock<(SpSettings, TrustedIdp)> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let read = |name: &str| std::fs::read(format!("{KEYS}{name}")).unwrap_or_default();
        let mut signing_keys = Vec::new();
        for cert in ["idp-rsa.crt", "idp-ec256.crt", "idp-ec384.crt"] {
            let text = String::from_utf8(read(cert)).unwrap_or_default();
            signing_keys.extend(SigningKey::from_certificates(&text).unwrap_or_default());
        }
        let sp = SpSettings {
            allow_unsolicited: true,
            decryption_keys: DecryptionKey::from_pem(&read("sp-enc.key")).into_iter().collect(),
            ..SpSettings::new(
                "https://sp.example.test/saml/metadata",
                "https://sp.example.test/EnticeServices/rest/authenticate/saml",
            )
        };
        let idp = TrustedIdp { entity_id: Some("https://idp.example.test/metadata".into()), signing_keys };
        (sp, idp)
    })
}

fuzz_target!(|data: &[u8]| {
    let (sp, idp) = settings();
    // 2026-01-15T10:01:00Z, inside every seed's validity window.
    let now = OffsetDateTime::from_unix_timestamp(1_768_471_260).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let _ = validate_response(data, sp, idp, &mut Open, now);
    if let Ok(xml) = decode_post_binding(data, sp.max_response_bytes) {
        let _ = validate_response(&xml, sp, idp, &mut Open, now);
    }
});
