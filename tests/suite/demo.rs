//! `fedbridge demo` and its development IdP.
//!
//! - The IdP's signed responses: accepted by our validator, accepted by an independent
//!   verifier (xmlsec1), refused once tampered with; its metadata parses with our parser.
//! - The IdP's routes in-process: the login form, a wrong password, the auto-post page, and the
//!   refusal of requests from another SP.
//! - The real binary: `fedbridge demo` on free loopback ports, the whole login driven hop by
//!   hop with a cookie-keeping HTTP client that follows no redirect by itself; Ctrl-C stops it
//!   and removes its temporary directory. A non-loopback address is refused with exit 2.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use actix_web::{App, test as actix_test, web};
use base64::Engine as _;
use fedbridge::clock::{Clock, SystemClock};
use fedbridge::demo::idp::{self, DevIdp, SAMPLE_USERS};
use fedbridge::saml::authn_request::{AuthnRequest, new_request_id};
use fedbridge::saml::metadata::parse_idp_metadata;
use fedbridge::saml::xmldsig::sign::sign_enveloped;
use fedbridge::saml::{
    MemoryLedger, Rejection, SigningKey, SpSettings, TrustedIdp, VerifiedAssertion,
    validate_response,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::idp_signer::xmlsec1_verify;
use crate::support::{self, Reply, browser, reply, spawn_fedbridge};

const IDP: &str = "http://127.0.0.1:8081";
const ACS: &str = "http://127.0.0.1:8080/EnticeServices/rest/authenticate/saml";
/// The demo's SP entityID: the default, the consumer URL.
const SP_ENTITY_ID: &str = ACS;
/// Generous bound for starting the demo (three servers, an RSA key, the metadata fetch).
const START_DEADLINE: Duration = Duration::from_secs(60);

fn alice() -> &'static idp::SampleUser {
    &SAMPLE_USERS[0]
}

fn dev_idp() -> DevIdp {
    let (key, certificate) = idp::generate_credentials().unwrap();
    DevIdp::new(IDP, SP_ENTITY_ID, ACS, key, certificate)
}

fn sp_settings() -> SpSettings {
    SpSettings::new(SP_ENTITY_ID, ACS)
}

fn trusted(idp: &DevIdp) -> TrustedIdp {
    let pem = String::from_utf8(idp.certificate().to_pem().unwrap()).unwrap();
    TrustedIdp {
        entity_id: Some(idp.entity_id()),
        signing_keys: SigningKey::from_certificates(&pem).unwrap(),
    }
}

fn validate(idp: &DevIdp, xml: &str, request_id: &str) -> Result<VerifiedAssertion, Rejection> {
    let mut ledger = MemoryLedger::with_requests([request_id]);
    support::validate(
        xml.as_bytes(),
        &sp_settings(),
        &trusted(idp),
        &mut ledger,
        SystemClock.now(),
    )
}

fn values<'a>(assertion: &'a VerifiedAssertion, name: &str) -> Vec<&'a str> {
    assertion
        .attributes()
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.values.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The certificate as PEM, for xmlsec1.
fn certificate_pem(certificate: &X509) -> Vec<u8> {
    certificate.to_pem().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The signed response
// ---------------------------------------------------------------------------------------------

#[test]
fn demo_idp_response_is_accepted_by_our_validator() {
    let idp = dev_idp();
    let xml = idp
        .response_xml(alice(), "_request1", SystemClock.now())
        .unwrap();
    let assertion = validate(&idp, &xml, "_request1").unwrap();
    assert_eq!(assertion.issuer(), format!("{IDP}/metadata"));
    assert_eq!(assertion.name_id(), Some("alice@demo.example"));
    assert_eq!(assertion.in_response_to(), Some("_request1"));
    assert!(assertion.session_index().is_some());
    assert_eq!(
        values(&assertion, idp::ATTRIBUTE_FULL_NAME),
        ["Alice Example"]
    );
    assert_eq!(
        values(&assertion, idp::ATTRIBUTE_EMAIL),
        ["alice@demo.example"]
    );
    assert_eq!(
        values(&assertion, idp::ATTRIBUTE_GROUPS),
        ["Engineering", "Staff"]
    );
    // The signature sits right after the assertion's Issuer (SAML schema order).
    let at = xml.find("<saml:Assertion ").unwrap();
    let inside = &xml[at..];
    let issuer_end = inside.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    assert!(inside[issuer_end..].starts_with("<ds:Signature "));
    // Another request ID is not answered by this response.
    assert!(validate(&idp, &xml, "_other").is_err());
}

#[test]
fn demo_idp_response_verifies_with_xmlsec1() {
    let idp = dev_idp();
    let xml = idp
        .response_xml(alice(), "_request1", SystemClock.now())
        .unwrap();
    if let Some(result) = xmlsec1_verify(
        "demo_idp_response_verifies_with_xmlsec1",
        &xml,
        &certificate_pem(idp.certificate()),
    ) {
        result.unwrap_or_else(|e| panic!("xmlsec1 refuses the dev IdP's response:\n{e}\n{xml}"));
    }
}

#[test]
fn demo_idp_response_tampered_after_signing_is_rejected() {
    let idp = dev_idp();
    let xml = idp
        .response_xml(alice(), "_request1", SystemClock.now())
        .unwrap();
    let staff = "<saml:AttributeValue>Staff</saml:AttributeValue>";
    assert_eq!(xml.matches(staff).count(), 1);
    let tampered = xml.replace(
        staff,
        &format!("{staff}<saml:AttributeValue>Administrators</saml:AttributeValue>"),
    );
    let rejection = validate(&idp, &tampered, "_request1").unwrap_err();
    assert_eq!(rejection.reason.code(), "digest_mismatch", "{rejection:?}");
    if let Some(result) = xmlsec1_verify(
        "demo_idp_response_tampered_after_signing_is_rejected",
        &tampered,
        &certificate_pem(idp.certificate()),
    ) {
        assert!(result.is_err(), "xmlsec1 accepts a tampered response");
    }
}

#[test]
fn demo_sign_enveloped_with_an_ec_key_verifies_with_both_verifiers() {
    let idp = dev_idp();
    let xml = idp
        .response_xml(alice(), "_request1", SystemClock.now())
        .unwrap();
    // Take the signature out again and sign the assertion with a P-256 key instead.
    let start = xml.find("<ds:Signature ").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
    let (key, certificate) = ec_credentials();
    let id_at = unsigned.find("<saml:Assertion ID=\"").unwrap() + "<saml:Assertion ID=\"".len();
    let id = &unsigned[id_at..id_at + unsigned[id_at..].find('"').unwrap()];
    let signed = sign_enveloped(&unsigned, id, &key, &certificate).unwrap();
    assert!(signed.contains("xmldsig-more#ecdsa-sha256"));
    let pem = String::from_utf8(certificate.to_pem().unwrap()).unwrap();
    let trusted = TrustedIdp {
        entity_id: Some(idp.entity_id()),
        signing_keys: SigningKey::from_certificates(&pem).unwrap(),
    };
    let mut ledger = MemoryLedger::with_requests(["_request1"]);
    validate_response(
        signed.as_bytes(),
        &sp_settings(),
        &trusted,
        &mut ledger,
        SystemClock.now(),
    )
    .unwrap();
    if let Some(result) = xmlsec1_verify(
        "demo_sign_enveloped_with_an_ec_key_verifies_with_both_verifiers",
        &signed,
        &certificate_pem(&certificate),
    ) {
        result.unwrap_or_else(|e| panic!("xmlsec1 refuses the ECDSA signature:\n{e}"));
    }
    // Signing twice, or an element without an Issuer, is refused.
    assert!(sign_enveloped(&signed, id, &key, &certificate).is_err());
    assert!(sign_enveloped("<a ID=\"x\"><b/></a>", "x", &key, &certificate).is_err());
    // A certificate of another key is refused.
    assert!(sign_enveloped(&unsigned, id, &key, idp.certificate()).is_err());
}

fn ec_credentials() -> (PKey<Private>, X509) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "ec test").unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    builder
        .sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    (key, builder.build())
}

#[test]
fn demo_idp_metadata_parses_with_our_parser() {
    let idp = dev_idp();
    let xml = idp.metadata_xml().unwrap();
    let metadata = parse_idp_metadata(xml.as_bytes(), None, 1 << 20).unwrap();
    assert_eq!(metadata.entity_id, format!("{IDP}/metadata"));
    assert_eq!(metadata.redirect_sso_url(), Some(&*format!("{IDP}/sso")));
    assert_eq!(metadata.signing_keys.len(), 1);
    assert_eq!(
        metadata.signing_certificates[0],
        base64::engine::general_purpose::STANDARD.encode(idp.certificate().to_der().unwrap())
    );
}

// ---------------------------------------------------------------------------------------------
// The IdP's routes, in-process
// ---------------------------------------------------------------------------------------------

fn redirect_query(acs: &str, issuer: &str, relay: &str) -> (String, String) {
    let id = new_request_id().unwrap();
    let request = AuthnRequest::new(
        issuer,
        acs,
        &format!("{IDP}/sso"),
        SystemClock.now(),
        id.clone(),
    );
    let url = request.redirect_url(relay, None).unwrap();
    let query = url.split_once('?').unwrap().1.to_owned();
    (id, query)
}

async fn body_of(response: actix_web::dev::ServiceResponse) -> (u16, String) {
    let status = response.status().as_u16();
    let body = actix_test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn demo_idp_login_form_wrong_password_and_auto_post() {
    let data = web::Data::new(dev_idp());
    let app =
        actix_test::init_service(App::new().app_data(data.clone()).configure(idp::configure)).await;

    // The index and the metadata.
    let (status, body) = body_of(
        actix_test::call_service(&app, actix_test::TestRequest::get().uri("/").to_request()).await,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("never for production"), "{body}");
    let response = actix_test::call_service(
        &app,
        actix_test::TestRequest::get().uri("/metadata").to_request(),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);

    // The login form carries the request.
    let relay = "handle<&>\"1";
    let (id, query) = redirect_query(ACS, SP_ENTITY_ID, relay);
    let response = actix_test::call_service(
        &app,
        actix_test::TestRequest::get()
            .uri(&format!("/sso?{query}"))
            .to_request(),
    )
    .await;
    let csp = header(&response, "content-security-policy");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    let (status, form) = body_of(response).await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("Development IdP"), "{form}");
    assert!(form.contains("alice-password") && form.contains("bob-password"));
    assert_eq!(input_value(&form, "request_id").as_deref(), Some(&*id));
    assert_eq!(input_value(&form, "relay_state").as_deref(), Some(relay));
    assert!(!form.contains("handle<&>"), "RelayState echoed unescaped");

    // A wrong password re-shows the form with the message.
    let post = |password: &str| {
        actix_test::TestRequest::post()
            .uri("/sso")
            .set_form([
                ("username", "alice"),
                ("password", password),
                ("request_id", id.as_str()),
                ("relay_state", relay),
            ])
            .to_request()
    };
    let (status, page) = body_of(actix_test::call_service(&app, post("nope")).await).await;
    assert_eq!(status, 200);
    assert!(page.contains("wrong password"), "{page}");
    assert_eq!(input_value(&page, "request_id").as_deref(), Some(&*id));
    assert!(!page.contains("SAMLResponse"));

    // The right one: the page that posts the signed response to the ACS.
    let response = actix_test::call_service(&app, post("alice-password")).await;
    let csp = header(&response, "content-security-policy");
    let (status, page) = body_of(response).await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"{ACS}\"")), "{page}");
    assert!(page.contains(">Continue</button>"), "{page}");
    let nonce = csp
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no script nonce in {csp}"));
    assert!(
        page.contains(&format!("<script nonce=\"{nonce}\">")),
        "{page}"
    );
    assert_eq!(input_value(&page, "RelayState").as_deref(), Some(relay));
    let encoded = input_value(&page, "SAMLResponse").unwrap();
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    let assertion = validate(&data, &xml, &id).unwrap();
    assert_eq!(assertion.name_id(), Some("alice@demo.example"));
}

#[actix_web::test]
async fn demo_idp_refuses_requests_of_another_sp() {
    let app = actix_test::init_service(
        App::new()
            .app_data(web::Data::new(dev_idp()))
            .configure(idp::configure),
    )
    .await;
    let get = |query: String| {
        actix_test::TestRequest::get()
            .uri(&format!("/sso?{query}"))
            .to_request()
    };
    let evil_acs = "https://evil.example/<acs>";
    let (_, query) = redirect_query(evil_acs, SP_ENTITY_ID, "");
    let (status, page) = body_of(actix_test::call_service(&app, get(query)).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("AssertionConsumerServiceURL"), "{page}");
    assert!(
        !page.contains("<acs>"),
        "attacker text echoed unescaped: {page}"
    );
    let (_, query) = redirect_query(ACS, "https://other-sp.example", "");
    let (status, page) = body_of(actix_test::call_service(&app, get(query)).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("Issuer"), "{page}");
    let (status, _) =
        body_of(actix_test::call_service(&app, get("SAMLRequest=!!".into())).await).await;
    assert_eq!(status, 400);
    // A login post without the request is refused, not answered.
    let request = actix_test::TestRequest::post()
        .uri("/sso")
        .set_form([("username", "alice"), ("password", "alice-password")])
        .to_request();
    let (status, page) = body_of(actix_test::call_service(&app, request).await).await;
    assert_eq!(status, 400);
    assert!(!page.contains("SAMLResponse"));
}

fn header(response: &actix_web::dev::ServiceResponse, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// HTML helpers
// ---------------------------------------------------------------------------------------------

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `attr` in `tag` (`<input ...>`), unescaped.
fn attribute(tag: &str, attr: &str) -> Option<String> {
    let start = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// The value of the `<input name="NAME" ...>` of `html`.
fn input_value(html: &str, name: &str) -> Option<String> {
    html.split("<input")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
        .find(|tag| attribute(tag, "name").as_deref() == Some(name))
        .and_then(|tag| attribute(tag, "value"))
}

/// Every `<input name=.. value=..>` of the first form in `html`, and its action.
fn form_fields(html: &str) -> (String, Vec<(String, String)>) {
    let Some(form) = html.split("<form").nth(1) else {
        return (String::new(), Vec::new());
    };
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let open = &form[..form.find('>').unwrap()];
    let action = attribute(open, "action").unwrap_or_default();
    let fields = form
        .split("<input")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
        .filter_map(|tag| {
            Some((
                attribute(tag, "name")?,
                attribute(tag, "value").unwrap_or_default(),
            ))
        })
        .collect();
    (action, fields)
}

/// The first `href` of `html` that contains `needle`, unescaped.
fn href_containing(html: &str, needle: &str) -> Option<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| unescape(&rest[..rest.find('"').unwrap_or(rest.len())]))
        .find(|href| href.contains(needle))
}

// ---------------------------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------------------------

/// A running `fedbridge demo`, killed on drop.
struct Demo {
    child: Child,
    fedbridge: String,
    idp: String,
    app: String,
    database: PathBuf,
    log: tempfile::NamedTempFile,
}

impl Demo {
    fn start() -> Demo {
        let log = tempfile::NamedTempFile::new().unwrap();
        let (child, rx) = spawn_fedbridge(
            Command::new(env!("CARGO_BIN_EXE_fedbridge")).args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--idp-listen",
                "127.0.0.1:0",
                "--app-listen",
                "127.0.0.1:0",
            ]),
            log.path(),
        );
        let mut demo = Demo {
            child,
            fedbridge: String::new(),
            idp: String::new(),
            app: String::new(),
            database: PathBuf::new(),
            log,
        };
        let deadline = Instant::now() + START_DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                panic!(
                    "the demo did not finish its banner; stdout so far:\n{}\nlog:\n{}",
                    seen.join("\n"),
                    demo.log()
                );
            };
            let url = |prefix: &str| {
                line.strip_prefix(prefix).map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
            };
            if let Some(url) = url("  open      ") {
                demo.fedbridge = url;
            } else if let Some(url) = url("  IdP       ") {
                demo.idp = url;
            } else if let Some(url) = url("  app       ") {
                demo.app = url;
            } else if let Some(path) = line.strip_prefix("  database  ") {
                demo.database = PathBuf::from(path);
            }
            let done = line.starts_with("Press Ctrl-C");
            seen.push(line);
            if done {
                break;
            }
        }
        assert!(
            seen[0].contains("development only"),
            "banner: {}",
            seen.join("\n")
        );
        for url in [&demo.fedbridge, &demo.idp, &demo.app] {
            assert!(
                url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
                "banner: {}",
                seen.join("\n")
            );
        }
        assert!(demo.database.is_file(), "banner: {}", seen.join("\n"));
        demo
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Ctrl-C: the demo stops by itself within the deadline, with status 0.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not stop on SIGINT; log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    /// SIGINT first, so that even a failed test leaves no temporary directory; then SIGKILL.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status, `Location` and body of a response.
fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, String, String) {
    let Reply {
        status,
        location,
        body,
        ..
    } = reply(response);
    (status, location, body)
}

fn absolute(base: &str, href: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(href)
        .unwrap()
        .to_string()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// Check 3 of issue 4: the newcomer's click-through, hop by hop.
#[test]
fn demo_end_to_end_login_reaches_the_downstream_app() {
    let mut demo = Demo::start();
    let context = |what: &str, body: &str| format!("{what}\n{body}\nlog:\n{}", demo.log());
    let agent = browser();

    // The IdP's own page is up and marked as a development tool.
    let (status, _, body) = read(agent.get(&demo.idp).call());
    assert_eq!(status, 200);
    assert!(body.contains("never for production"));

    // 1. fedbridge's login page has the SSO link.
    let (status, _, page) = read(agent.get(&demo.fedbridge).call());
    assert_eq!(status, 200, "{}", context("GET /", &page));
    assert!(
        page.contains("Log in using SSO"),
        "{}",
        context("GET /", &page)
    );
    // A link, or a button in a GET form.
    let login = href_containing(&page, "/saml/login")
        .or_else(|| {
            let (action, fields) = form_fields(&page);
            action.contains("/saml/login").then(|| {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish();
                if query.is_empty() {
                    action
                } else {
                    format!("{action}?{query}")
                }
            })
        })
        .unwrap_or_else(|| panic!("{}", context("no /saml/login link or form", &page)));

    // 2. /saml/login -> 303 to the IdP's SSO URL with a SAMLRequest.
    let (status, location, body) = read(agent.get(&absolute(&demo.fedbridge, &login)).call());
    assert_eq!(status, 303, "{}", context("GET /saml/login", &body));
    let sso = absolute(&demo.fedbridge, &location);
    assert!(
        sso.starts_with(&format!("{}sso?", demo.idp)),
        "{}",
        context(&format!("redirected to {sso}"), &body)
    );
    assert!(query_param(&sso, "SAMLRequest").is_some(), "{sso}");

    // 3. The IdP's login form.
    let (status, _, form) = read(agent.get(&sso).call());
    assert_eq!(status, 200, "{}", context("GET /sso", &form));
    assert!(form.contains("Development IdP"), "{form}");
    let (action, fields) = form_fields(&form);
    let action = absolute(&sso, &action);
    let with = |username: &str, password: &str| -> Vec<(String, String)> {
        fields
            .iter()
            .filter(|(n, _)| n != "username" && n != "password")
            .cloned()
            .chain([
                ("username".to_owned(), username.to_owned()),
                ("password".to_owned(), password.to_owned()),
            ])
            .collect()
    };

    // 4. A wrong password shows the error.
    let (status, _, page) = read(agent.post(&action).send_form(with("alice", "wrong")));
    assert_eq!(status, 200);
    assert!(page.contains("wrong password"), "{page}");
    assert!(!page.contains("SAMLResponse"));

    // 5. The right one: the auto-post form to fedbridge's ACS.
    let (status, _, page) = read(
        agent
            .post(&action)
            .send_form(with("alice", "alice-password")),
    );
    assert_eq!(status, 200, "{page}");
    let (acs, fields) = form_fields(&page);
    assert_eq!(
        acs,
        format!("{}EnticeServices/rest/authenticate/saml", demo.fedbridge)
    );
    assert!(fields.iter().any(|(n, _)| n == "SAMLResponse"));
    assert!(page.contains(">Continue</button>"));

    // 6. POST to the ACS -> 303 to the app with ?xsession=, and fedbridge's cookie.
    let (status, location, body) = read(agent.post(&acs).send_form(fields));
    assert_eq!(status, 303, "{}", context("POST ACS", &body));
    let landing = absolute(&acs, &location);
    assert!(
        landing.starts_with(&demo.app),
        "{}",
        context(&format!("ACS redirected to {landing}"), &body)
    );
    let token =
        query_param(&landing, "xsession").unwrap_or_else(|| panic!("no ?xsession= in {landing}"));
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");

    // 7. The app takes the link token into its cookie and redirects to itself.
    let (status, location, body) = read(agent.get(&landing).call());
    assert_eq!(status, 303, "{}", context("GET app?xsession=", &body));
    assert_eq!(location, "/");
    let has_cookie = agent
        .cookie_jar_lock()
        .iter()
        .any(|c| c.name() == "xsession" && !c.value().is_empty());
    assert!(has_cookie, "no xsession cookie kept");

    // 8. The greeting, with the groups.
    let (status, _, page) = read(agent.get(&absolute(&landing, &location)).call());
    assert_eq!(status, 200, "{}", context("GET app /", &page));
    assert!(page.contains("Hello, Alice Example"), "{page}");
    assert!(
        page.contains("Engineering") && page.contains("Staff"),
        "{page}"
    );
    assert!(!page.contains("Sales"), "{page}");

    // Ctrl-C stops the demo and removes its temporary directory.
    let directory = demo.database.parent().unwrap().to_owned();
    let status = demo.interrupt();
    assert!(status.success(), "exit {status:?}; log:\n{}", demo.log());
    assert!(
        !directory.exists(),
        "{} is left behind",
        directory.display()
    );
}

/// Without logging in, the app says so; Ctrl-C cleans up.
#[test]
fn demo_starts_and_stops_cleanly() {
    let mut demo = Demo::start();
    let agent = browser();
    let (status, _, body) = read(agent.get(&format!("{}metadata", demo.idp)).call());
    assert_eq!(status, 200);
    parse_idp_metadata(body.as_bytes(), None, 1 << 20).unwrap();
    let (status, _, page) = read(agent.get(&demo.app).call());
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("not logged in"), "{page}");
    assert!(page.contains("/saml/login?target="), "{page}");
    let directory = demo.database.parent().unwrap().to_owned();
    assert!(directory.is_dir());
    let status = demo.interrupt();
    assert!(status.success(), "exit {status:?}; log:\n{}", demo.log());
    assert!(
        !directory.exists(),
        "{} is left behind",
        directory.display()
    );
}

fn run_demo(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fedbridge demo {args:?} did not exit");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `fedbridge demo` with these three listen addresses, which it must refuse with exit 2: its
/// output.
fn refused(listen: &str, idp_listen: &str, app_listen: &str) -> String {
    let (code, output) = run_demo(&[
        "--listen",
        listen,
        "--idp-listen",
        idp_listen,
        "--app-listen",
        app_listen,
    ]);
    assert_eq!(code, Some(2), "{output}");
    output
}

#[test]
fn demo_refuses_non_loopback_addresses() {
    let output = refused("0.0.0.0:0", "127.0.0.1:0", "127.0.0.1:0");
    assert!(output.contains("--listen"), "{output}");
    assert!(output.contains("not a loopback address"), "{output}");
    assert!(!output.contains("Press Ctrl-C"), "{output}");
    let output = refused("127.0.0.1:0", "[::]:0", "127.0.0.1:0");
    assert!(output.contains("--idp-listen"), "{output}");
    let output = refused("127.0.0.1:0", "127.0.0.1:0", "localhost:0");
    assert!(output.contains("--app-listen"), "{output}");
}
