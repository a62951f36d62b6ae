//! Tests of the login flow's own decisions (landing page, token hand-off, refusals and their
//! audit rows) against a real SQLite store; the whole flow over HTTP is in tests/suite/login.rs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;

use base64::Engine as _;

use super::*;
use crate::config::{self, Config};
use crate::saml::{SigningKey, TrustedIdp};
use crate::store::OutstandingRequest;
use crate::store::schema::{login_audit, outstanding_requests};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);
const CONSUMER: &str = "https://sp.example.test/EnticeServices/rest/authenticate/saml";
const SSO: &str = "https://idp.example.test/sso";
const PORTAL: &str = "https://app.example.test/portal/";

fn idp_cert() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/xmlsec/keys/idp-rsa.crt"
    );
    std::fs::read_to_string(path).unwrap()
}

/// A valid configuration (public-key scenario) with `extra` rows on top.
fn config(extra: &[(&str, &str)]) -> Config {
    let mut rows: BTreeMap<String, Option<String>> = [
        ("SAML_CONSUMER_URL", CONSUMER.to_owned()),
        ("SAML_REDIRECT_URL", SSO.to_owned()),
        ("SAML_SIGNING_CERTIFICATE", idp_cert()),
        (
            "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
            format!("[\"{PORTAL}\"]"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Some(v)))
    .collect();
    for (key, value) in extra {
        rows.insert((*key).to_owned(), Some((*value).to_owned()));
    }
    config::load(&rows).unwrap().config
}

fn trust(sso_url: Option<&str>) -> IdpTrust {
    trust_with(sso_url, SsoBinding::Redirect)
}

fn trust_with(sso_url: Option<&str>, binding: SsoBinding) -> IdpTrust {
    IdpTrust {
        idp: TrustedIdp {
            entity_id: None,
            signing_keys: SigningKey::from_certificates(&idp_cert()).unwrap(),
        },
        sso: sso_url.map(|url| SsoEndpoint {
            binding,
            url: url.to_owned(),
        }),
    }
}

/// The URL of a redirect.
fn redirected(outbound: Outbound) -> String {
    match outbound {
        Outbound::Redirect(url) => url,
        other => panic!("not a redirect: {other:?}"),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&crate::store::testing::database_in(
        dir.path(),
        "t.db",
        "login",
    ))
    .unwrap();
    (dir, store)
}

/// (outcome, reason code, correlation id) of every audit row, oldest first.
fn audit_rows(store: &Store) -> Vec<(String, Option<String>, Option<String>)> {
    login_audit::table
        .order(login_audit::id.asc())
        .select((
            login_audit::outcome,
            login_audit::reason_code,
            login_audit::correlation_id,
        ))
        .load(&mut *store.conn().unwrap())
        .unwrap()
}

/// Counters the login tests share (their values are not looked at here).
static METRICS: std::sync::LazyLock<crate::metrics::Metrics> =
    std::sync::LazyLock::new(|| crate::metrics::Metrics::new(crate::login::all_reason_codes()));

/// The context of a login at [`NOW`].
fn context<'a>(
    config: &'a Config,
    idp: Option<&'a IdpTrust>,
    store: &'a Store,
) -> LoginContext<'a> {
    LoginContext {
        config,
        idp,
        store,
        now: NOW,
        metrics: &METRICS,
        client: Some("192.0.2.1"),
        refusals: &Counted,
    }
}

/// A refusal sink that writes each refusal as an audit row of its own (the web layer counts
/// them instead), so the tests see them in `login_audit`.
struct Counted;

impl RefusalSink for Counted {
    fn refused(&self, refusal: &Refusal<'_>) {
        COUNTED.with(|c| {
            c.borrow_mut().push((
                refusal.reason_code,
                refusal.correlation_id.map(str::to_owned),
            ))
        });
    }
}

thread_local! {
    /// The refusals [`Counted`] saw on this thread.
    static COUNTED: std::cell::RefCell<Vec<(&'static str, Option<String>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn outstanding(store: &Store) -> i64 {
    outstanding_requests::table
        .count()
        .get_result(&mut *store.conn().unwrap())
        .unwrap()
}

/// The login cookie's secret of the browser in these tests.
const SECRET: &str = "browser-secret-of-the-tests-0123456789abcdef";

#[test]
fn a_solicited_response_is_completed_only_by_the_browser_that_started_it() {
    let bound = OutstandingRequest {
        browser_binding: Some(browser_binding(SECRET)),
        ..request(None)
    };
    assert!(check_browser(&bound, Some(SECRET)).is_ok());
    let missing = check_browser(&bound, None).unwrap_err();
    assert_eq!(missing.code(), "browser_binding_missing");
    let other = check_browser(&bound, Some("another-browsers-secret")).unwrap_err();
    assert_eq!(other.code(), "browser_binding_mismatch");
    // Remembered before the binding existed: refused (fail closed).
    let old = check_browser(&request(None), Some(SECRET)).unwrap_err();
    assert_eq!(old.code(), "browser_binding_mismatch");
    assert_eq!(browser_binding("abc").len(), 64);
}

fn request(target: Option<&str>) -> OutstandingRequest {
    OutstandingRequest {
        request_id: "_r1".into(),
        relay_handle: "handle-1".into(),
        target: target.map(str::to_owned),
        purpose: "login".into(),
        browser_binding: None,
    }
}

#[test]
fn the_token_is_appended_to_the_target_replacing_any_given_one() {
    let target = Url::parse("https://app.example.test/portal/x?a=1&xsession=forged&b=2").unwrap();
    let landed = with_token(target, "tok.en");
    assert_eq!(
        landed.as_str(),
        "https://app.example.test/portal/x?a=1&b=2&xsession=tok.en"
    );
    let plain = with_token(Url::parse(PORTAL).unwrap(), "t");
    assert_eq!(
        plain.as_str(),
        "https://app.example.test/portal/?xsession=t"
    );
}

#[test]
fn a_solicited_login_ends_at_its_stored_target_if_relay_state_is_its_own_handle() {
    let config = config(&[]);
    let stored = format!("{PORTAL}page");
    let taken = request(Some(&stored));
    let landing = landing_target(&config, Some(&taken), Some("handle-1")).unwrap();
    assert_eq!(landing.as_str(), stored);
    // An IdP that sends no RelayState back still lands at the stored target.
    let landing = landing_target(&config, Some(&taken), None).unwrap();
    assert_eq!(landing.as_str(), stored);
    // Another handle (or a URL) in RelayState is refused.
    for relay in ["handle-2", "https://evil.example/"] {
        let error = landing_target(&config, Some(&taken), Some(relay)).unwrap_err();
        assert_eq!(error.code(), "relay_state_mismatch", "{relay}");
    }
    // No stored target: the default landing page, the first allowed downstream URL.
    let landing = landing_target(&config, Some(&request(None)), Some("handle-1")).unwrap();
    assert_eq!(landing.as_str(), PORTAL);
}

#[test]
fn an_unsolicited_login_follows_relay_state_only_to_an_allowed_url() {
    let config = config(&[]);
    let follow = |relay: &str| {
        landing_target(&config, None, Some(relay))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        follow("https://app.example.test/portal/deep"),
        "https://app.example.test/portal/deep"
    );
    assert_eq!(follow("/own/page"), "https://sp.example.test/own/page");
    for ignored in [
        "https://evil.example/",
        "//evil.example/x",
        "https://app.example.test/portalx",
        "plain words",
        "handle-1",
        "javascript:alert(1)",
    ] {
        assert_eq!(follow(ignored), PORTAL, "{ignored}");
    }
}

#[test]
fn without_downstream_urls_the_default_landing_is_our_own_login_page() {
    let config = config(&[("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", "[]")]);
    assert_eq!(
        default_landing(&config).unwrap().as_str(),
        "https://sp.example.test/"
    );
}

#[test]
fn begin_remembers_the_request_and_redirects_to_the_idp() {
    let (_dir, store) = store();
    let config = config(&[]);
    let idp = trust(Some(SSO));
    let ctx = context(&config, Some(&idp), &store);
    let location = redirected(begin(&ctx, Some("/own/page"), SECRET, "cid-1").unwrap());
    assert!(
        location.starts_with(&format!("{SSO}?SAMLRequest=")),
        "{location}"
    );
    assert!(location.contains("&RelayState="), "{location}");
    // Neither plain nor percent-encoded: a short needle such as "own" also
    // turns up by chance in the random base64 of the deflated request.
    assert!(
        !location.contains("own/page") && !location.contains("own%2Fpage"),
        "the target stays server-side: {location}"
    );
    assert_eq!(outstanding(&store), 1);
    assert!(
        audit_rows(&store).is_empty(),
        "a started login is not audited yet"
    );
}

/// The refusals [`Counted`] saw on this thread since the last call.
fn counted() -> Vec<(&'static str, Option<String>)> {
    COUNTED.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

#[test]
fn refused_starts_write_nothing_but_their_audit_row() {
    let (_dir, store) = store();
    let config = config(&[]);
    let with_sso = trust(Some(SSO));
    let without_sso = trust(None);
    let cases: [(Option<&IdpTrust>, Option<&str>, &str); 3] = [
        (None, None, "idp_metadata_unavailable"),
        (Some(&without_sso), None, "idp_sso_url_missing"),
        (
            Some(&with_sso),
            Some("https://evil.example/"),
            "target_not_allowed",
        ),
    ];
    counted();
    for (index, (idp, target, code)) in cases.into_iter().enumerate() {
        let ctx = context(&config, idp, &store);
        let cid = format!("cid-{index}");
        let error = begin(&ctx, target, SECRET, &cid).unwrap_err();
        assert_eq!(error.code(), code);
        if error.counted() {
            // Any web page can make a browser ask: counted, not one row each.
            assert_eq!(counted(), [(code, Some(cid))]);
            continue;
        }
        let expected = (error.outcome().to_owned(), Some(code.to_owned()), Some(cid));
        assert_eq!(audit_rows(&store).last(), Some(&expected));
    }
    assert_eq!(audit_rows(&store).len(), 2);
    assert_eq!(outstanding(&store), 0);
}

#[test]
fn an_oversized_or_missing_response_is_refused_before_any_parsing_and_counted() {
    let (_dir, store) = store();
    let config = config(&[]);
    let idp = trust(Some(SSO));
    let ctx = context(&config, Some(&idp), &store);
    let key = SigningKeyPair::generate(crate::token::Algorithm::Es256).unwrap();
    let huge = vec![b'A'; 2 * 1024 * 1024];
    let posted = PostedResponse {
        saml_response: Some(&huge),
        relay_state: None,
        browser_secret: None,
    };
    let failed = complete(&ctx, &posted, &key, Attempt::Final, "cid-big").unwrap_err();
    assert_eq!(failed.error.code(), "input_too_large");
    let posted = PostedResponse {
        saml_response: None,
        ..posted
    };
    let failed = complete(&ctx, &posted, &key, Attempt::Final, "cid-none").unwrap_err();
    assert_eq!(failed.error.code(), "saml_response_missing");
    let posted = PostedResponse {
        saml_response: Some(b"not base64!"),
        ..posted
    };
    let failed = complete(&ctx, &posted, &key, Attempt::Final, "cid-b64").unwrap_err();
    assert_eq!(failed.error.code(), "invalid_base64");
    let long = "r".repeat(crate::login::MAX_RELAY_STATE + 1);
    let posted = PostedResponse {
        saml_response: Some(b"PD94"),
        relay_state: Some(&long),
        browser_secret: None,
    };
    let failed = complete(&ctx, &posted, &key, Attempt::Final, "cid-relay").unwrap_err();
    assert_eq!(failed.error.code(), "relay_state_too_long");
    // No SAML message in any of them: counted, never an audit row each.
    assert!(audit_rows(&store).is_empty());
    let cid = |c: &str| Some(c.to_owned());
    assert_eq!(
        counted(),
        [
            ("input_too_large", cid("cid-big")),
            ("saml_response_missing", cid("cid-none")),
            ("invalid_base64", cid("cid-b64")),
            ("relay_state_too_long", cid("cid-relay")),
        ]
    );
}

#[test]
fn racing_claims_report_the_validators_own_codes() {
    assert_eq!(
        LoginError::ClaimLost(crate::store::ClaimLost::Assertion).code(),
        crate::saml::RejectionReason::Replay.code()
    );
    assert_eq!(
        LoginError::ClaimLost(crate::store::ClaimLost::Request).code(),
        crate::saml::RejectionReason::InResponseToUnknown.code()
    );
    assert_eq!(
        LoginError::ClaimLost(crate::store::ClaimLost::Request).kind(),
        ErrorKind::Refused
    );
    assert_eq!(LoginError::UserDisabled.kind(), ErrorKind::Forbidden);
    assert_eq!(LoginError::IdpUnavailable.outcome(), "error");
    assert_eq!(LoginError::TargetNotAllowed.outcome(), "rejected");
}

#[test]
fn with_an_sp_key_pair_the_redirect_is_signed_with_it() {
    let (_dir, store) = store();
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/xmlsec/keys");
    let key = std::fs::read_to_string(format!("{keys}/sp-enc.key")).unwrap();
    let cert = std::fs::read_to_string(format!("{keys}/sp-enc.crt")).unwrap();
    let config = config(&[
        ("FEDBRIDGE_SP_PRIVATE_KEY", &key),
        ("FEDBRIDGE_SP_CERTIFICATE", &cert),
    ]);
    let idp = trust(Some(SSO));
    let ctx = context(&config, Some(&idp), &store);
    let location = redirected(begin(&ctx, None, SECRET, "cid").unwrap());
    let query = location.split_once('?').unwrap().1;
    let decoded = crate::saml::authn_request::decode_redirect(query).unwrap();
    let public = SigningKey::from_certificates(&cert).unwrap();
    crate::saml::authn_request::verify_redirect_signature(&decoded, public[0].public_key(), false)
        .unwrap();
    assert!(
        decoded
            .xml
            .contains(&format!("AssertionConsumerServiceURL=\"{CONSUMER}\""))
    );
}

#[test]
fn an_idp_with_only_the_post_binding_gets_a_posted_request_signed_with_the_sp_key() {
    let (_dir, store) = store();
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/xmlsec/keys");
    let key = std::fs::read_to_string(format!("{keys}/sp-enc.key")).unwrap();
    let cert = std::fs::read_to_string(format!("{keys}/sp-enc.crt")).unwrap();
    let idp = trust_with(Some(SSO), SsoBinding::Post);
    for (pair, signed) in [
        (vec![], false),
        (
            vec![
                ("FEDBRIDGE_SP_PRIVATE_KEY", key.as_str()),
                ("FEDBRIDGE_SP_CERTIFICATE", cert.as_str()),
            ],
            true,
        ),
    ] {
        let config = config(&pair);
        let ctx = context(&config, Some(&idp), &store);
        let Outbound::Post {
            action,
            saml_request,
            relay_state,
        } = begin(&ctx, None, SECRET, "cid").unwrap()
        else {
            panic!("not a POST");
        };
        assert_eq!(action, SSO);
        assert!(!relay_state.is_empty());
        let xml = base64::engine::general_purpose::STANDARD
            .decode(saml_request)
            .unwrap();
        let doc = crate::saml::xml::parse(&xml, 1 << 16).unwrap();
        let request = doc.root().unwrap();
        assert_eq!(request.attr("Destination").as_deref(), Some(SSO));
        let signature = request
            .children()
            .find(|c| c.is(crate::saml::xmldsig::DSIG_NS, "Signature"));
        assert_eq!(signature.is_some(), signed);
        if let Some(signature) = signature {
            crate::saml::xmldsig::verify_enveloped(
                &doc,
                request,
                signature,
                &SigningKey::from_certificates(&cert).unwrap(),
                crate::saml::AlgorithmPolicy::default(),
            )
            .unwrap();
        }
    }
    assert_eq!(outstanding(&store), 2);
}
