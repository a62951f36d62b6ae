//! Responses signed by independent signers: the xmlsec1 fixtures and the captured samples of
//! three real IdPs (SimpleSAMLphp, saml-idp, pysaml2), each accepted at its own time.

use fedbridge::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, parse_idp_metadata};
use fedbridge::saml::{DecryptionKey, MemoryLedger, RejectionReason as R, SpSettings, TrustedIdp};

use crate::support::*;

const ACCEPTED: &[&str] = &[
    "rsa-sha256-response.xml",
    "rsa-sha256-assertion.xml",
    "rsa-sha256-both.xml",
    "rsa-sha512-both.xml",
    "rsa-sha384-assertion.xml",
    "ecdsa-p256-sha256-response.xml",
    "ecdsa-p256-sha256-assertion.xml",
    "ecdsa-p384-sha384-both.xml",
    "rsa-sha256-prefixlist.xml",
    "azure-6k.xml",
    "azure-200-groups.xml",
    "enc-aes128cbc-assertion-signed.xml",
    "enc-aes256cbc-response-signed.xml",
    "enc-aes128gcm-both.xml",
    "enc-aes256gcm-assertion-signed.xml",
];

#[test]
fn xmlsec_signed_fixtures_are_accepted() {
    for name in ACCEPTED {
        let verified =
            check_xmlsec(&xmlsec_fixture(name)).unwrap_or_else(|r| panic!("{name}: {r}"));
        assert_eq!(verified.name_id(), Some(xmlsec::NAME_ID), "{name}");
        assert_eq!(verified.issuer(), xmlsec::IDP, "{name}");
        assert_eq!(
            verified.in_response_to(),
            Some(xmlsec::REQUEST_ID),
            "{name}"
        );
    }
}

#[test]
fn azure_groups_are_read_in_full() {
    let groups = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
    for (name, count) in [("azure-6k.xml", 20), ("azure-200-groups.xml", 200)] {
        let verified = check_xmlsec(&xmlsec_fixture(name)).unwrap();
        let attribute = verified
            .attributes()
            .iter()
            .find(|a| a.name == groups)
            .unwrap();
        assert_eq!(attribute.values.len(), count, "{name}");
        assert_eq!(verified.attributes().len(), 8, "{name}");
    }
}

#[test]
fn xmlsec_fixtures_refused_by_policy() {
    let cases = [
        ("attacker-signed.xml", R::SignatureInvalid),
        ("rsa-sha1-assertion.xml", R::InsecureAlgorithm),
        ("enc-rsa15-assertion-signed.xml", R::KeyTransportNotAllowed),
        ("rsa-sha256-unsolicited.xml", R::UnsolicitedNotAllowed),
    ];
    for (name, reason) in cases {
        let rejection = check_xmlsec(&xmlsec_fixture(name)).expect_err(name);
        assert_eq!(rejection.reason, reason, "{name}: {rejection}");
    }
}

#[test]
fn rsa_1024_key_is_refused_unless_insecurely_allowed() {
    let (mut sp, mut idp) = xmlsec_settings();
    idp.signing_keys = xmlsec_cert("idp-rsa1024");
    let xml = xmlsec_fixture("rsa1024-sha256-assertion.xml");
    let mut ledger = MemoryLedger::with_requests([xmlsec::REQUEST_ID]);
    let rejection = validate(&xml, &sp, &idp, &mut ledger, at(xmlsec::NOW)).unwrap_err();
    assert_eq!(rejection.reason, R::WeakKey);
    sp.algorithms.insecure_allow_weak_rsa_keys = true;
    assert!(validate(&xml, &sp, &idp, &mut ledger, at(xmlsec::NOW)).is_ok());
}

#[test]
fn sha1_is_accepted_only_with_the_insecure_switch() {
    let (mut sp, idp) = xmlsec_settings();
    sp.algorithms.insecure_allow_sha1 = true;
    let mut ledger = MemoryLedger::with_requests([xmlsec::REQUEST_ID]);
    let xml = xmlsec_fixture("rsa-sha1-assertion.xml");
    assert!(validate(&xml, &sp, &idp, &mut ledger, at(xmlsec::NOW)).is_ok());
}

#[test]
fn unsolicited_fixture_is_accepted_when_allowed() {
    let (mut sp, idp) = xmlsec_settings();
    sp.allow_unsolicited = true;
    let mut ledger = MemoryLedger::default();
    let xml = xmlsec_fixture("rsa-sha256-unsolicited.xml");
    let verified = validate(&xml, &sp, &idp, &mut ledger, at(xmlsec::NOW)).unwrap();
    assert_eq!(verified.in_response_to(), None);
}

#[test]
fn encrypted_fixture_without_the_sp_key_fails_uniformly() {
    let (mut sp, idp) = xmlsec_settings();
    let other = read(shared().join("idp-samples/sp-test-keys/sp-test.key"));
    sp.decryption_keys = vec![DecryptionKey::from_pem(&other).unwrap()];
    for name in [
        "enc-aes128cbc-assertion-signed.xml",
        "enc-aes128gcm-both.xml",
    ] {
        let mut ledger = MemoryLedger::with_requests([xmlsec::REQUEST_ID]);
        let rejection = validate(
            &xmlsec_fixture(name),
            &sp,
            &idp,
            &mut ledger,
            at(xmlsec::NOW),
        )
        .unwrap_err();
        assert_eq!(rejection.reason, R::DecryptionFailed, "{name}");
    }
}

/// The real IdPs of ../shared/idp-samples: (directory, expected NameID per capture).
const IDPS: &[&str] = &["simplesamlphp", "saml-idp", "pysaml2"];

fn idp_sample_settings(idp: &str) -> (SpSettings, TrustedIdp) {
    let dir = shared().join("idp-samples").join(idp);
    let md = parse_idp_metadata(
        &read(dir.join("idp-metadata.xml")),
        None,
        DEFAULT_MAX_METADATA_BYTES,
    )
    .unwrap();
    let sp_key = read(shared().join("idp-samples/sp-test-keys/sp-test.key"));
    let sp = SpSettings {
        decryption_keys: vec![DecryptionKey::from_pem(&sp_key).unwrap()],
        ..SpSettings::new(
            "http://127.0.0.1:8080/saml/metadata",
            "http://127.0.0.1:8080/EnticeServices/rest/authenticate/saml",
        )
    };
    (
        sp,
        TrustedIdp {
            entity_id: Some(md.entity_id),
            signing_keys: md.signing_keys,
        },
    )
}

fn attribute_of(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("{name}=\""))? + name.len() + 2;
    Some(xml[start..].split('"').next()?.to_string())
}

#[test]
fn real_idp_samples_are_accepted_at_their_own_time() {
    for idp in IDPS {
        for (capture, user) in [
            ("sp-initiated", "alice"),
            ("idp-initiated", "bob"),
            ("encrypted", "alice"),
        ] {
            let path = shared().join(format!("idp-samples/{idp}/response-{capture}.xml"));
            let xml = read(&path);
            let text = String::from_utf8_lossy(&xml);
            let now = at(&attribute_of(&text, "IssueInstant").unwrap());
            let (mut sp, trusted) = idp_sample_settings(idp);
            let request = attribute_of(&text, "InResponseTo");
            sp.allow_unsolicited = request.is_none();
            let mut ledger = MemoryLedger::with_requests(request.clone());
            let verified = validate(&xml, &sp, &trusted, &mut ledger, now)
                .unwrap_or_else(|r| panic!("{idp} {capture}: {r}"));
            assert_eq!(
                verified.name_id(),
                Some(format!("{user}@example.test").as_str()),
                "{idp} {capture}"
            );
            assert_eq!(
                verified.in_response_to(),
                request.as_deref(),
                "{idp} {capture}"
            );
            assert!(!verified.attributes().is_empty(), "{idp} {capture}");
        }
    }
}

#[test]
fn real_idp_solicited_sample_needs_its_request() {
    for idp in IDPS {
        let xml = read(shared().join(format!("idp-samples/{idp}/response-sp-initiated.xml")));
        let text = String::from_utf8_lossy(&xml);
        let now = at(&attribute_of(&text, "IssueInstant").unwrap());
        let (sp, trusted) = idp_sample_settings(idp);
        let mut ledger = MemoryLedger::with_requests(["_some-other-request"]);
        let rejection = validate(&xml, &sp, &trusted, &mut ledger, now).unwrap_err();
        assert_eq!(rejection.reason, R::InResponseToUnknown, "{idp}");
    }
}

/// The fixtures of `tests/fixtures/xmlsec-inclusive` (Canonical XML 1.0 and 1.1, signed by
/// xmlsec1): every one accepted with its identity and attributes.
const INCLUSIVE: &[&str] = &[
    "c14n10-assertion.xml",
    "c14n10-comments-assertion.xml",
    "c14n11-assertion.xml",
    "c14n11-comments-assertion.xml",
    "c14n10-method-exc-transform.xml",
    "exc-method-c14n11-transform.xml",
    "c14n10-response.xml",
];

fn inclusive_fixture(name: &str) -> Vec<u8> {
    read(
        repo()
            .join("tests/fixtures/xmlsec-inclusive/signed")
            .join(name),
    )
}

#[test]
fn inclusive_c14n_fixtures_signed_by_xmlsec1_are_accepted() {
    for name in INCLUSIVE {
        let verified =
            check_xmlsec(&inclusive_fixture(name)).unwrap_or_else(|r| panic!("{name}: {r}"));
        assert_eq!(verified.name_id(), Some(xmlsec::NAME_ID), "{name}");
        let groups = verified.attributes().iter().find(|a| a.name == "groups");
        assert_eq!(
            groups.map(|a| a.values.clone()),
            Some(vec!["users".to_owned(), "admins".to_owned()]),
            "{name}"
        );
    }
}

#[test]
fn inclusive_c14n_signatures_break_when_their_namespace_context_changes() {
    // The Response declares xmlns:ext, which the Assertion never uses: an inclusive canonical
    // form carries it, so changing it on the unsigned Response breaks the Assertion's
    // signature (a refusal, never an acceptance of other content).
    for name in INCLUSIVE {
        let text = String::from_utf8(inclusive_fixture(name)).unwrap();
        let tampered = text.replace(
            "xmlns:ext=\"urn:example:extension\"",
            "xmlns:ext=\"urn:example:other\"",
        );
        assert_ne!(tampered, text, "{name}");
        let rejection = check_xmlsec(tampered.as_bytes()).expect_err(name);
        let expected = if name.contains("exc-transform") {
            // Only SignedInfo was canonicalized inclusively.
            R::SignatureInvalid
        } else {
            R::DigestMismatch
        };
        assert_eq!(rejection.reason, expected, "{name}: {rejection}");
    }
}
