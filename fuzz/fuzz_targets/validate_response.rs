//! Fuzzes the validator's entry point with the settings the seeds were signed for, so that
//! mutations reach the signature, decryption and protocol checks. Any panic is a finding.
//!
//! Every input that parses also goes through the C14N differential: wherever the Rust exclusive
//! C14N answers, libxml2's must give the same bytes (a difference panics: a finding).
#![no_main]

use std::sync::OnceLock;

use fedbridge::saml::xml::c14n::{Mode, exclusive_in_rust, with_libxml2};
use fedbridge::saml::xml::{self, XmlDocument};
use fedbridge::saml::{
    Claim, DecryptionKey, MessageLedger, SigningKey, SpSettings, TrustedIdp, decode_post_binding,
    validate_response,
};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/xmlsec/keys/");

/// Every request outstanding, every assertion new: the fuzzer explores the checks, not the ledger.
struct Open;

impl MessageLedger for Open {
    type Error = std::convert::Infallible;

    fn claim(
        &mut self,
        _: &str,
        _: OffsetDateTime,
        _: Option<&str>,
    ) -> Result<Claim, Self::Error> {
        Ok(Claim::Taken)
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
    if let Ok(doc) = xml::parse(data, sp.max_response_bytes) {
        c14n_agrees(&doc);
    }
    if let Ok(xml) = decode_post_binding(data, sp.max_response_bytes) {
        let _ = validate_response(&xml, sp, idp, &mut Open, now);
    }
});

/// Panics when the Rust exclusive C14N and libxml2's differ on any element of `doc` (as the
/// apex, with nothing or its signature excluded, with and without a PrefixList).
fn c14n_agrees(doc: &XmlDocument) {
    const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
    let Some(root) = doc.root() else { return };
    for apex in std::iter::once(root).chain(root.descendants()) {
        for excluded in [None, apex.first_child(DSIG, "Signature")] {
            for prefixes in [&[][..], &["xs", "ds", "saml"][..]] {
                if let Some(rust) = exclusive_in_rust(doc, apex, excluded, prefixes) {
                    let libxml2 = with_libxml2(doc, apex, excluded, Mode::Exclusive, prefixes, false);
                    assert_eq!(
                        libxml2.as_deref(),
                        Ok(&rust[..]),
                        "Rust C14N differs from libxml2 on apex {apex:?}, excluded {excluded:?}, PrefixList {prefixes:?}"
                    );
                }
            }
        }
    }
}
