//! A test IdP whose signatures come from an independent signer: responses are rendered from a
//! template at the current time (the server under test uses the real clock) and the Assertion
//! is signed by the `xmlsec1` command-line tool with the IdP key of the xmlsec fixtures
//! (`tests/fixtures/xmlsec/keys/idp-rsa.key`), never by our own signing code.
//!
//! The shape is the one of `tests/fixtures/xmlsec/generate.sh` (SimpleSAMLphp-like, compact
//! XML): an unsigned Response carrying one Assertion with an enveloped `ds:Signature` template
//! after its Issuer, exclusive C14N, RSA-SHA256. The defaults are the constants of the fixtures
//! ([`crate::support::xmlsec`]): IdP `https://idp.example.test/metadata`, SP
//! `https://sp.example.test/saml/metadata`, ACS
//! `https://sp.example.test/EnticeServices/rest/authenticate/saml`. Builder options change what
//! real IdPs change: no NameID (AD FS), its Format, claims without NameFormat (AD FS, Azure AD),
//! Issuer, Audience, consumer URL, inclusive C14N, the Response signed instead of the Assertion.
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

/// One attribute: `Name`, `NameFormat` (`None`: no NameFormat and untyped values, as AD FS and
/// Azure AD send them) and values.
#[derive(Debug, Clone)]
pub struct Attr {
    /// `Name`.
    pub name: String,
    /// `NameFormat`; `None`: left out.
    pub name_format: Option<String>,
    /// The values.
    pub values: Vec<String>,
}

/// Which canonicalization the signature uses (SignedInfo's method and the Reference transform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C14n {
    /// Exclusive C14N (the default).
    Exclusive,
    /// Canonical XML 1.0 (inclusive).
    Inclusive10,
    /// Canonical XML 1.1 (inclusive).
    Inclusive11,
}

impl C14n {
    fn uri(self) -> &'static str {
        match self {
            C14n::Exclusive => NS_EXC_C14N,
            C14n::Inclusive10 => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            C14n::Inclusive11 => "http://www.w3.org/2006/12/xml-c14n11",
        }
    }
}

/// One assertion the test IdP issues: who, to which request, with which attributes.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The NameID (the login name unless `SAML_USER_ID_ATTRIBUTE` says otherwise); `None`: a
    /// Subject without NameID (AD FS without a NameID claim rule).
    pub name_id: Option<String>,
    /// The NameID `Format`.
    pub name_id_format: String,
    /// The AuthnRequest ID answered (`InResponseTo`); `None`: unsolicited (IdP-initiated).
    pub in_response_to: Option<String>,
    /// The attributes, in order.
    pub attributes: Vec<Attr>,
    /// The Audience (default: the SP entityID of the fixtures).
    pub audience: String,
    /// The Issuer (default: the IdP of the fixtures).
    pub issuer: String,
    /// The Destination and Recipient (default: the ACS of the fixtures).
    pub acs: String,
    /// The canonicalization of the signature.
    pub c14n: C14n,
    /// Sign the Response (the Assertion then carries no signature of its own).
    pub sign_response: bool,
    /// Namespace declarations added to the Response element (`xmlns:p="uri"`), which an
    /// inclusive canonical form of the assertion includes.
    pub response_namespaces: Vec<(String, String)>,
    /// How far the IdP's clock is ahead of ours (negative: behind); every time in the
    /// assertion is shifted by it.
    pub clock_ahead: Duration,
}

/// The Format of an unspecified NameID.
pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// The Format of an e-mail NameID.
pub const EMAIL_ADDRESS: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// The Format of a persistent NameID.
pub const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

impl Assertion {
    /// An assertion about `name_id`, unsolicited, no attributes, for our SP.
    pub fn about(name_id: &str) -> Assertion {
        Assertion {
            name_id: Some(name_id.to_owned()),
            name_id_format: UNSPECIFIED.to_owned(),
            in_response_to: None,
            attributes: Vec::new(),
            audience: xmlsec::SP.to_owned(),
            issuer: xmlsec::IDP.to_owned(),
            acs: xmlsec::ACS.to_owned(),
            c14n: C14n::Exclusive,
            sign_response: false,
            response_namespaces: Vec::new(),
            clock_ahead: Duration::ZERO,
        }
    }

    /// An assertion whose Subject has no NameID.
    pub fn without_name_id() -> Assertion {
        Assertion {
            name_id: None,
            ..Assertion::about("")
        }
    }

    /// As issued by an IdP whose clock is `ahead` of ours.
    pub fn clock_ahead(mut self, ahead: Duration) -> Assertion {
        self.clock_ahead = ahead;
        self
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

    /// Adds the attribute `name` with `values` (basic NameFormat, values typed `xs:string`,
    /// as SimpleSAMLphp sends them).
    pub fn attribute(mut self, name: &str, values: &[&str]) -> Assertion {
        self.attributes.push(Attr {
            name: name.to_owned(),
            name_format: Some(BASIC.to_owned()),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        });
        self
    }

    /// Adds the attribute `name` with `values`, with no NameFormat and untyped values, as AD FS
    /// and Azure AD send their claims.
    pub fn claim(mut self, name: &str, values: &[&str]) -> Assertion {
        self.attributes.push(Attr {
            name: name.to_owned(),
            name_format: None,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        });
        self
    }

    /// For another audience.
    pub fn audience(mut self, audience: &str) -> Assertion {
        self.audience = audience.to_owned();
        self
    }

    /// From another issuer.
    pub fn issuer(mut self, issuer: &str) -> Assertion {
        self.issuer = issuer.to_owned();
        self
    }

    /// With another NameID Format.
    pub fn name_id_format(mut self, format: &str) -> Assertion {
        self.name_id_format = format.to_owned();
        self
    }

    /// Signed with another canonicalization.
    pub fn c14n(mut self, c14n: C14n) -> Assertion {
        self.c14n = c14n;
        self
    }

    /// The Response signed, not the Assertion.
    pub fn signed_response(mut self) -> Assertion {
        self.sign_response = true;
        self
    }

    /// With `xmlns:prefix="uri"` on the Response.
    pub fn response_namespace(mut self, prefix: &str, uri: &str) -> Assertion {
        self.response_namespaces
            .push((prefix.to_owned(), uri.to_owned()));
        self
    }

    /// The unsigned Response at `now` with fresh IDs, the Signature template inside the
    /// Assertion (or the Response); every value XML-escaped.
    pub fn template(&self, now: OffsetDateTime) -> String {
        let now = now + self.clock_ahead;
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
            .map(|attr| {
                let typed = if attr.name_format.is_some() {
                    " xsi:type=\"xs:string\""
                } else {
                    ""
                };
                let values: String = attr
                    .values
                    .iter()
                    .map(|v| {
                        format!(
                            "<saml:AttributeValue{typed}>{}</saml:AttributeValue>",
                            escape(v)
                        )
                    })
                    .collect();
                let format = attr
                    .name_format
                    .as_deref()
                    .map(|f| format!("NameFormat=\"{}\" ", escape(f)))
                    .unwrap_or_default();
                format!(
                    "<saml:Attribute {format}Name=\"{}\">{values}</saml:Attribute>",
                    escape(&attr.name)
                )
            })
            .collect();
        let (idp, acs) = (escape(&self.issuer), escape(&self.acs));
        // The NameID is issued for the SP the assertion is for.
        let audience = escape(&self.audience);
        let sp = &audience;
        let name_id = self
            .name_id
            .as_deref()
            .map(|name_id| {
                format!(
                    "<saml:NameID SPNameQualifier=\"{sp}\" Format=\"{}\">{}</saml:NameID>",
                    escape(&self.name_id_format),
                    escape(name_id)
                )
            })
            .unwrap_or_default();
        let (response_signature, assertion_signature) = if self.sign_response {
            (signature_template(&response_id, self.c14n), String::new())
        } else {
            (String::new(), signature_template(&assertion_id, self.c14n))
        };
        let extra_namespaces: String = self
            .response_namespaces
            .iter()
            .map(|(prefix, uri)| format!(" xmlns:{prefix}=\"{}\"", escape(uri)))
            .collect();
        format!(
            "<?xml version=\"1.0\"?>\n\
             <samlp:Response xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\"{extra_namespaces} \
             ID=\"{response_id}\" Version=\"2.0\" IssueInstant=\"{issued}\" Destination=\"{acs}\"{irt}>\
             <saml:Issuer>{idp}</saml:Issuer>\
             {response_signature}\
             <samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
             <saml:Assertion xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" ID=\"{assertion_id}\" Version=\"2.0\" \
             IssueInstant=\"{issued}\">\
             <saml:Issuer>{idp}</saml:Issuer>\
             {assertion_signature}\
             <saml:Subject>\
             {name_id}\
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

/// Whether xmlsec1 runs on this machine. When it does not, prints a `SKIPPED <test>` line with
/// the install command and returns `false`, or fails the test when `FEDBRIDGE_REQUIRE_XMLSEC1=1`
/// or `CI` is set (`.ci/run` sets the former and installs xmlsec1).
pub fn xmlsec1_installed(test: &str) -> bool {
    crate::support::tool_available(
        test,
        Command::new("xmlsec1").arg("--version"),
        "xmlsec1 is not installed, and this test checks SAML signatures with it as an \
         independent implementation (install it: apt-get install -y xmlsec1; .ci/run does)",
        "FEDBRIDGE_REQUIRE_XMLSEC1",
    )
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

/// `xmlsec1 --sign` of the Assertion (or Response) of `template` (its `ds:Signature` with empty
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
            .args(["--id-attr:ID", &format!("{NS_SAMLP}:Response")])
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
/// `c14n` as method and transform), values left empty for xmlsec1.
fn signature_template(reference: &str, c14n: C14n) -> String {
    let c14n = c14n.uri();
    format!(
        "<ds:Signature xmlns:ds=\"{NS_DS}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{reference}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"{c14n}\"/>\
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
