//! A test IdP whose signatures come from an independent signer: responses are rendered from a
//! template at the current time (the server under test uses the real clock) and the Assertion
//! is signed by the `xmlsec1` command-line tool with the IdP key of the xmlsec fixtures
//! (`tests/fixtures/xmlsec/keys/idp-rsa.key`), never by our own signing code.
//!
//! The shape is the one of `tests/fixtures/xmlsec/generate.sh` (SimpleSAMLphp-like, compact
//! XML): an unsigned Response carrying one Assertion with an enveloped `ds:Signature` template
//! after its Issuer, exclusive C14N, RSA-SHA256. The constants are those of the fixtures
//! ([`crate::support::xmlsec`]): IdP `https://idp.example.test/metadata`, SP
//! `https://sp.example.test/saml/metadata`, ACS
//! `https://sp.example.test/EnticeServices/rest/authenticate/saml`.
//!
//! Without xmlsec1, [`Idp::new`] prints a `SKIPPED` line and returns `None`; with
//! `FEDBRIDGE_REQUIRE_XMLSEC1=1` or `CI` set it fails the test instead (`.ci/run` installs
//! xmlsec1).

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use fedbridge::saml::xml::escape;

use crate::support::{xmlsec, xmlsec_dir};

const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// One assertion the test IdP issues: who, to which request, with which attributes.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The NameID (the login name unless `SAML_USER_ID_ATTRIBUTE` says otherwise).
    pub name_id: String,
    /// The AuthnRequest ID answered (`InResponseTo`); `None`: unsolicited (IdP-initiated).
    pub in_response_to: Option<String>,
    /// `(Name, values)` of each attribute, in order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The Audience (default: the SP entityID of the fixtures).
    pub audience: String,
    /// The consumer URL: Destination and Recipient (default: the ACS of the fixtures).
    pub acs: String,
}

impl Assertion {
    /// An assertion about `name_id`, unsolicited, no attributes, for our SP.
    pub fn about(name_id: &str) -> Assertion {
        Assertion {
            name_id: name_id.to_owned(),
            in_response_to: None,
            attributes: Vec::new(),
            audience: xmlsec::SP.to_owned(),
            acs: xmlsec::ACS.to_owned(),
        }
    }

    /// For another consumer URL (Destination and Recipient).
    pub fn for_acs(mut self, acs: &str) -> Assertion {
        self.acs = acs.to_owned();
        self
    }

    /// Answers the AuthnRequest `request_id`.
    pub fn answering(mut self, request_id: &str) -> Assertion {
        self.in_response_to = Some(request_id.to_owned());
        self
    }

    /// Adds the attribute `name` with `values`.
    pub fn attribute(mut self, name: &str, values: &[&str]) -> Assertion {
        self.attributes.push((
            name.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        ));
        self
    }

    /// For another audience.
    pub fn audience(mut self, audience: &str) -> Assertion {
        self.audience = audience.to_owned();
        self
    }

    /// The unsigned Response at `now` with fresh IDs, the Signature template inside the
    /// Assertion; every value XML-escaped.
    pub fn template(&self, now: OffsetDateTime) -> String {
        let at = |offset: Duration| (now + offset).format(&Rfc3339).unwrap();
        let (issued, not_before, not_after, session_end) = (
            at(Duration::ZERO),
            at(Duration::seconds(-30)),
            at(Duration::minutes(5)),
            at(Duration::hours(8)),
        );
        let serial = fresh_serial();
        let (response_id, assertion_id) = (format!("_resp-{serial}"), format!("_assert-{serial}"));
        let irt = self
            .in_response_to
            .as_deref()
            .map(|id| format!(" InResponseTo=\"{}\"", escape(id)))
            .unwrap_or_default();
        let attributes: String = self
            .attributes
            .iter()
            .map(|(name, values)| {
                let values: String = values
                    .iter()
                    .map(|v| {
                        format!(
                            "<saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue>",
                            escape(v)
                        )
                    })
                    .collect();
                format!(
                    "<saml:Attribute NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\" \
                     Name=\"{}\">{values}</saml:Attribute>",
                    escape(name)
                )
            })
            .collect();
        let (idp, sp, acs) = (xmlsec::IDP, xmlsec::SP, escape(&self.acs));
        let audience = escape(&self.audience);
        let name_id = escape(&self.name_id);
        let signature = signature_template(&assertion_id);
        format!(
            "<?xml version=\"1.0\"?>\n\
             <samlp:Response xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{response_id}\" \
             Version=\"2.0\" IssueInstant=\"{issued}\" Destination=\"{acs}\"{irt}>\
             <saml:Issuer>{idp}</saml:Issuer>\
             <samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
             <saml:Assertion xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" ID=\"{assertion_id}\" Version=\"2.0\" \
             IssueInstant=\"{issued}\">\
             <saml:Issuer>{idp}</saml:Issuer>\
             {signature}\
             <saml:Subject>\
             <saml:NameID SPNameQualifier=\"{sp}\" \
             Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{name_id}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
             <saml:SubjectConfirmationData NotOnOrAfter=\"{not_after}\" Recipient=\"{acs}\"{irt}/>\
             </saml:SubjectConfirmation>\
             </saml:Subject>\
             <saml:Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{not_after}\">\
             <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>\
             </saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{issued}\" SessionNotOnOrAfter=\"{session_end}\" \
             SessionIndex=\"_session-{serial}\">\
             <saml:AuthnContext><saml:AuthnContextClassRef>\
             urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport\
             </saml:AuthnContextClassRef></saml:AuthnContext>\
             </saml:AuthnStatement>\
             <saml:AttributeStatement>{attributes}</saml:AttributeStatement>\
             </saml:Assertion>\
             </samlp:Response>\n"
        )
    }
}

/// The test IdP: signs with xmlsec1 (only made when xmlsec1 is installed), with the RSA key
/// `keys/<key>.key` of the fixtures (`idp-rsa` unless [`Idp::with_key`] says otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Idp {
    key: &'static str,
}

impl Idp {
    /// The IdP, or `None` (after a `SKIPPED <test>` line on stderr) when xmlsec1 is not
    /// installed; fails the test instead when `FEDBRIDGE_REQUIRE_XMLSEC1=1` or `CI` is set.
    pub fn new(test: &str) -> Option<Idp> {
        xmlsec1_installed(test).then_some(Idp { key: "idp-rsa" })
    }

    /// The same IdP signing with the RSA key `keys/<key>.key` (a key rollover).
    pub fn with_key(self, key: &'static str) -> Idp {
        Idp { key }
    }

    /// `assertion` rendered now and signed by xmlsec1: the Response XML.
    pub fn sign(&self, assertion: &Assertion) -> String {
        let template =
            assertion.template(fedbridge::clock::Clock::now(&fedbridge::clock::SystemClock));
        xmlsec1_sign_with(&template, self.key).expect("xmlsec1 was there when the IdP was made")
    }

    /// `assertion` rendered now, signed, and base64-encoded: the `SAMLResponse` form value of
    /// the HTTP-POST binding.
    pub fn post_value(&self, assertion: &Assertion) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sign(assertion))
    }
}

/// Whether xmlsec1 runs on this machine. When it does not, prints a `SKIPPED <test>` line on
/// stderr and returns `false`, or fails the test when `FEDBRIDGE_REQUIRE_XMLSEC1=1` or `CI` is
/// set (`.ci/run` sets the former and installs xmlsec1).
pub fn xmlsec1_installed(test: &str) -> bool {
    let probe = Command::new("xmlsec1").arg("--version").output();
    if probe.is_ok_and(|out| out.status.success()) {
        return true;
    }
    let reason = "xmlsec1 is not installed, and these tests check SAML signatures with it as an \
                  independent implementation (apt-get install xmlsec1; .ci/run does)";
    let required = std::env::var_os("FEDBRIDGE_REQUIRE_XMLSEC1").is_some_and(|v| v == "1")
        || std::env::var_os("CI").is_some();
    assert!(
        !required,
        "{test} FAILED: {reason}; FEDBRIDGE_REQUIRE_XMLSEC1=1 or CI is set, so it may not be \
         skipped"
    );
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// Runs `xmlsec1 ARGS`: its output, or `None` when xmlsec1 is not installed; a failure to run
/// it for another reason panics.
fn run_xmlsec1(command: &mut Command) -> Option<std::process::Output> {
    match command.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run xmlsec1: {e}"),
        Ok(out) => Some(out),
    }
}

/// `xmlsec1 --verify` of the Assertion's enveloped signature in `xml` with the PEM certificate
/// `certificate_pem` (any key it was signed with: RSA or EC): `Ok`, or xmlsec1's message.
/// `None` when xmlsec1 is not installed and `test` may be skipped (see [`xmlsec1_installed`]).
pub fn xmlsec1_verify(test: &str, xml: &str, certificate_pem: &[u8]) -> Option<Result<(), String>> {
    if !xmlsec1_installed(test) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("response.xml");
    let cert = dir.path().join("idp.crt");
    std::fs::write(&file, xml).unwrap();
    std::fs::write(&cert, certificate_pem).unwrap();
    let out = run_xmlsec1(
        Command::new("xmlsec1")
            .args(["--verify", "--pubkey-cert-pem"])
            .arg(&cert)
            .args(["--id-attr:ID", &format!("{NS_SAML}:Assertion")])
            .arg(&file),
    )?;
    if out.status.success() {
        Some(Ok(()))
    } else {
        Some(Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// `xmlsec1 --sign` of the Assertion of `template` (its `ds:Signature` with empty
/// `DigestValue`, `SignatureValue` and `X509Certificate` is filled in) with the IdP key and
/// certificate of the fixtures (`keys/idp-rsa.*`). `None` when xmlsec1 is not installed; any
/// other failure panics with xmlsec1's message.
pub fn xmlsec1_sign(template: &str) -> Option<String> {
    xmlsec1_sign_with(template, "idp-rsa")
}

/// [`xmlsec1_sign`] with the RSA key and certificate `keys/<key>.*`.
pub fn xmlsec1_sign_with(template: &str, key: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xml");
    let output = dir.path().join("out.xml");
    std::fs::write(&input, template).unwrap();
    let keys = xmlsec_dir().join("keys");
    let key_and_cert = format!(
        "{},{}",
        keys.join(format!("{key}.key")).display(),
        keys.join(format!("{key}.crt")).display()
    );
    let out = run_xmlsec1(
        Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", &key_and_cert])
            .args(["--id-attr:ID", &format!("{NS_SAML}:Assertion")])
            .arg("--output")
            .arg(&output)
            .arg(&input),
    )?;
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed: {}{}\ntemplate:\n{template}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read_to_string(&output).unwrap())
}

/// An enveloped-signature template for the element with ID `reference` (RSA-SHA256, SHA-256,
/// exclusive C14N), values left empty for xmlsec1.
fn signature_template(reference: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"{NS_DS}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{NS_EXC_C14N}\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{reference}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"{NS_EXC_C14N}\"/>\
         </ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue></ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
         </ds:Signature>"
    )
}

/// A value no other response of this test process has: the clock's nanoseconds and a counter.
fn fresh_serial() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = fedbridge::clock::Clock::now(&fedbridge::clock::SystemClock).unix_timestamp_nanos();
    format!(
        "{nanos:x}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
