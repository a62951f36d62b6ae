//! The peer corpora (python3-saml, crewjam/saml) through the validator: every SAML Response file,
//! the verdict its corpus README gives and ours, case by case from tests/corpus/manifest.toml
//! (how it was derived and every divergence: tests/corpus/README.md).

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use fedbridge::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, parse_idp_metadata};
use fedbridge::saml::{
    AlgorithmPolicy, DecryptionKey, Expected, MemoryLedger, Rejection, RejectionReason, SigningKey,
    SpSettings, TrustedIdp, VerifiedAssertion, decode_post_binding, validate_response,
};
use serde::Deserialize;

use crate::support::{at, read, repo, shared};

#[test]
fn every_corpus_case_gets_its_expected_verdict() {
    let cases = manifest();
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for case in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| case.run()))
            .map_err(|panic| format!("{}\n    panicked: {}", case.label(), panic_text(&*panic)));
        let mismatch = match outcome {
            Ok(result) => case.mismatch(&result),
            Err(panicked) => Some(panicked),
        };
        match (mismatch, &case.known_issue) {
            (None, None) => {}
            (Some(mismatch), None) => failures.push(mismatch),
            (Some(mismatch), Some(issue)) => {
                known.push(format!("{mismatch}\n    known issue: {issue}"))
            }
            (None, Some(issue)) => failures.push(format!(
                "{}\n    now gives the expected verdict: remove `known_issue` ({issue})",
                case.label()
            )),
        }
    }
    if !known.is_empty() {
        eprintln!(
            "{} corpus case(s) still differ from the expected verdict because of a known validator issue:\n{}",
            known.len(),
            known.join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases do not get the verdict of tests/corpus/manifest.toml:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn manifest_entries_are_complete() {
    let mut problems = Vec::new();
    for case in manifest() {
        problems.extend(
            case.problems()
                .into_iter()
                .map(|p| format!("{}: {p}", case.label())),
        );
    }
    assert!(
        problems.is_empty(),
        "tests/corpus/manifest.toml:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_response_file_of_the_corpora_is_in_the_manifest() {
    let root = corpus_root();
    let mut files = BTreeSet::new();
    walk(&root, &root, &mut files);
    assert!(
        files.len() > 200,
        "the corpora look incomplete: {} files under {}",
        files.len(),
        root.display()
    );
    let in_manifest: BTreeSet<String> = manifest().into_iter().map(|c| c.file).collect();

    let mut problems = Vec::new();
    let mut rule_used: BTreeMap<&str, bool> =
        NOT_RESPONSES.iter().map(|(p, _)| (*p, false)).collect();
    for file in &files {
        let rules: Vec<&str> = NOT_RESPONSES
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| matches(p, file))
            .collect();
        for rule in &rules {
            rule_used.insert(rule, true);
        }
        match (in_manifest.contains(file), rules.is_empty()) {
            (true, true) => {}
            (true, false) => problems.push(format!(
                "{file}: in the manifest but also excluded by {rules:?}"
            )),
            (false, true) => problems.push(format!(
                "{file}: neither in the manifest nor excluded as a non-response"
            )),
            (false, false) => {
                if looks_like_saml_response(&read(root.join(file))) {
                    problems.push(format!(
                        "{file}: excluded by {rules:?} but holds a SAML Response"
                    ));
                }
            }
        }
    }
    for file in in_manifest.difference(&files) {
        problems.push(format!("{file}: in the manifest but not in the corpora"));
    }
    for (rule, used) in rule_used {
        if !used {
            problems.push(format!("exclusion {rule:?} matches no file: remove it"));
        }
    }
    assert!(
        problems.is_empty(),
        "corpus coverage:\n{}",
        problems.join("\n")
    );
}

/// Files of the corpora that are not SAML Responses an SP consumes, each with the reason.
/// A pattern ending in `/` is a directory; a `*` stands for any run of characters (`/` included).
const NOT_RESPONSES: &[(&str, &str)] = &[
    (
        "python3-saml/README.md",
        "corpus description (per-file verdicts, keys, clock)",
    ),
    ("python3-saml/LICENSE.txt", "licence"),
    (
        "crewjam-saml/README.md",
        "corpus description (per-file verdicts, keys, clock)",
    ),
    ("crewjam-saml/LICENSE.txt", "licence"),
    // python3-saml
    (
        "python3-saml/tests/settings/",
        "toolkit settings (JSON); certificate B is extracted to tests/corpus/certs",
    ),
    (
        "python3-saml/tests/certs/",
        "certificates (certificate1 is trusted by some cases)",
    ),
    (
        "python3-saml/tests/data/customPath/",
        "settings, certificates and the SP key",
    ),
    (
        "python3-saml/tests/data/misc/",
        "SP keys in other encodings",
    ),
    ("python3-saml/tests/data/metadata/", "SP and IdP metadata"),
    ("python3-saml/tests/data/logout_requests/", "LogoutRequests"),
    (
        "python3-saml/tests/data/logout_responses/",
        "LogoutResponses (Single Logout, not Web SSO)",
    ),
    ("python3-saml/tests/data/requests/", "AuthnRequests"),
    // crewjam/saml, SP side
    ("crewjam-saml/testdata/*.pem", "keys and certificates"),
    ("crewjam-saml/testdata/*_IDPMetadata", "IdP metadata"),
    ("crewjam-saml/testdata/*_idp_metadata", "IdP metadata"),
    (
        "crewjam-saml/testdata/*_metadata.xml",
        "metadata parsing fixtures",
    ),
    (
        "crewjam-saml/testdata/*_metadata",
        "SP metadata (golden outputs)",
    ),
    (
        "crewjam-saml/testdata/TestCanProduceSPMetadata_expected",
        "SP metadata (golden output)",
    ),
    (
        "crewjam-saml/testdata/SP_AuthnRequest",
        "AuthnRequest (golden output)",
    ),
    (
        "crewjam-saml/testdata/TestSPCanProduce*",
        "AuthnRequests, LogoutRequests, LogoutResponses (golden outputs)",
    ),
    (
        "crewjam-saml/testdata/TestMakeArtifactResolveRequest",
        "ArtifactResolve (golden output)",
    ),
    (
        "crewjam-saml/testdata/TestMakeSignedArtifactResolveRequest",
        "ArtifactResolve (golden output)",
    ),
    (
        "crewjam-saml/testdata/TestParseXMLArtifactResponse_assertion",
        "decrypted Assertion (golden output)",
    ),
    // crewjam/saml, IdP side
    (
        "crewjam-saml/testdata/TestIDP*_request",
        "AuthnRequests received by crewjam's IdP",
    ),
    (
        "crewjam-saml/testdata/TestIDPMakeResponse_request_buffer",
        "AuthnRequest received by crewjam's IdP",
    ),
    (
        "crewjam-saml/testdata/TestIDPWriteResponse_RequestBuffer.xml",
        "AuthnRequest received by crewjam's IdP",
    ),
    (
        "crewjam-saml/testdata/TestIDP*_decodedRequest",
        "AuthnRequest received by crewjam's IdP",
    ),
    (
        "crewjam-saml/testdata/TestIDPCanHandleRequestWithNewSession_http_response_body",
        "IdP login page (HTML)",
    ),
    (
        "crewjam-saml/testdata/TestIDPMarshalAssertion_encrypted_assertion",
        "EncryptedAssertion fragment (golden output)",
    ),
    (
        "crewjam-saml/testdata/idp_authn_request.xml",
        "AuthnRequest received by crewjam's IdP",
    ),
    (
        "crewjam-saml/testdata/idp_new_session_response",
        "IdP login page: RelayState + AuthnRequest, no SAML Response",
    ),
    (
        "crewjam-saml/samlidp/testdata/",
        "IdP server fixtures: keys, SP metadata, metadata served as .html",
    ),
    // crewjam/saml, samlsp middleware
    (
        "crewjam-saml/samlsp/testdata/*.pem",
        "keys and certificates",
    ),
    (
        "crewjam-saml/samlsp/testdata/idp_metadata.xml",
        "IdP metadata",
    ),
    (
        "crewjam-saml/samlsp/testdata/testshib_metadata.xml",
        "IdP metadata",
    ),
    (
        "crewjam-saml/samlsp/testdata/expected_*",
        "AuthnRequests and SP metadata (golden outputs)",
    ),
    (
        "crewjam-saml/samlsp/testdata/authn_request.url",
        "redirect URL (golden output)",
    ),
    (
        "crewjam-saml/samlsp/testdata/token.json",
        "session token claims (golden output)",
    ),
    // crewjam/saml, xmlenc (input.xml and input_gcm.xml are Responses and are in the manifest)
    (
        "crewjam-saml/xmlenc/testdata/cert.*",
        "key and certificates",
    ),
    ("crewjam-saml/xmlenc/testdata/*.pem", "keys"),
    (
        "crewjam-saml/xmlenc/testdata/ciphertext*.xml",
        "EncryptedData (golden outputs)",
    ),
    (
        "crewjam-saml/xmlenc/testdata/plaintext*.xml",
        "decrypted Assertions (golden outputs)",
    ),
    (
        "crewjam-saml/xmlenc/testdata/encrypt-data-aes128-cbc.*",
        "EncryptedData of a text message and its plaintext",
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    case: Vec<Case>,
}

/// One `[[case]]` of the manifest (fields described at its top).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    scenario: Option<String>,
    encoding: Encoding,
    now: String,
    sp_entity_id: Option<String>,
    acs_url: Option<String>,
    idp_entity_id: Option<String>,
    #[serde(default)]
    idp_cert: Vec<String>,
    idp_metadata: Option<String>,
    #[serde(default)]
    sp_key: Vec<String>,
    #[serde(default)]
    request_ids: Vec<String>,
    #[serde(default)]
    allow_unsolicited: bool,
    #[serde(default)]
    insecure_allow_sha1: bool,
    #[serde(default)]
    insecure_allow_weak_rsa_keys: bool,
    expect: Expect,
    name_id: Option<String>,
    reason: Option<String>,
    peer_verdict: String,
    note: Option<String>,
    known_issue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    Xml,
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Accept,
    Reject,
}

impl Case {
    fn label(&self) -> String {
        match &self.scenario {
            Some(scenario) => format!("{} [{scenario}]", self.file),
            None => self.file.clone(),
        }
    }

    /// Decodes the file as the POST binding would and validates it with the case's settings.
    fn run(&self) -> Result<VerifiedAssertion, Rejection> {
        let sp = SpSettings {
            entity_id: expected(self.sp_entity_id.as_ref()),
            acs_url: expected(self.acs_url.as_ref()),
            allow_unsolicited: self.allow_unsolicited,
            algorithms: AlgorithmPolicy {
                insecure_allow_sha1: self.insecure_allow_sha1,
                insecure_allow_weak_rsa_keys: self.insecure_allow_weak_rsa_keys,
            },
            decryption_keys: self.sp_key.iter().map(|key| decryption_key(key)).collect(),
            ..SpSettings::new("", "")
        };
        let idp = self.trusted_idp();
        let bytes = read(corpus_root().join(&self.file));
        let xml = match self.encoding {
            Encoding::Xml => bytes,
            Encoding::Base64 => decode_post_binding(&bytes, sp.max_response_bytes)?,
        };
        let mut ledger = MemoryLedger::with_requests(self.request_ids.iter().cloned());
        validate_response(&xml, &sp, &idp, &mut ledger, at(&self.now)).map_err(Rejection::from)
    }

    fn trusted_idp(&self) -> TrustedIdp {
        if let Some(metadata) = &self.idp_metadata {
            let path = resolve(metadata);
            let md = parse_idp_metadata(&read(&path), None, DEFAULT_MAX_METADATA_BYTES)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return TrustedIdp {
                entity_id: Some(self.idp_entity_id.clone().unwrap_or(md.entity_id)),
                signing_keys: md.signing_keys,
            };
        }
        let signing_keys = self
            .idp_cert
            .iter()
            .flat_map(|cert| {
                let path = resolve(cert);
                SigningKey::from_certificates(&text(&path))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            })
            .collect();
        TrustedIdp {
            entity_id: self.idp_entity_id.clone(),
            signing_keys,
        }
    }

    /// `None` when `result` is the expected verdict, else what was expected and what came.
    fn mismatch(&self, result: &Result<VerifiedAssertion, Rejection>) -> Option<String> {
        let expected = match self.expect {
            Expect::Accept => format!(
                "accept with NameID {:?}",
                self.name_id.as_deref().unwrap_or("?")
            ),
            Expect::Reject => format!("reject {}", self.reason.as_deref().unwrap_or("?")),
        };
        let (matches, got) = match result {
            Ok(verified) => (
                self.expect == Expect::Accept && verified.name_id() == self.name_id.as_deref(),
                format!("accept with NameID {:?}", verified.name_id()),
            ),
            Err(rejection) => (
                self.expect == Expect::Reject
                    && Some(rejection.reason.code()) == self.reason.as_deref(),
                format!("reject {}: {}", rejection.reason.code(), rejection.detail),
            ),
        };
        (!matches).then(|| {
            format!(
                "{}\n    expected {expected}\n    got      {got}",
                self.label()
            )
        })
    }

    /// What is missing or contradictory in the entry itself.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.expect {
            Expect::Accept if self.name_id.is_none() || self.reason.is_some() => {
                problems.push("an accepted case needs name_id and no reason".to_string());
            }
            Expect::Reject if self.name_id.is_some() => {
                problems.push("a rejected case has no name_id".to_string());
            }
            _ => {}
        }
        if let Some(code) = &self.reason
            && RejectionReason::from_code(code).is_none()
        {
            problems.push(format!("reason {code:?} is not a RejectionReason code"));
        }
        if self.expect == Expect::Reject && self.reason.is_none() {
            problems.push("a rejected case needs a reason".to_string());
        }
        if self.idp_cert.is_empty() == self.idp_metadata.is_none() {
            problems.push("give exactly one of idp_cert and idp_metadata".to_string());
        }
        let peer_agrees = match peer_verdict_class(&self.peer_verdict) {
            Some(peer) => peer == self.expect,
            None => false,
        };
        if !peer_agrees && self.note.as_deref().is_none_or(str::is_empty) {
            problems.push(format!(
                "our verdict ({:?}) is not the peer's ({:?}): say why in `note`",
                self.expect, self.peer_verdict
            ));
        }
        let mut paths = vec![corpus_root().join(&self.file)];
        paths.extend(
            self.idp_cert
                .iter()
                .chain(&self.sp_key)
                .chain(&self.idp_metadata)
                .map(|p| resolve(p)),
        );
        for path in paths {
            if !path.is_file() {
                problems.push(format!("{} does not exist", path.display()));
            }
        }
        problems
    }
}

/// The peer's verdict as accept/reject, when the README gives one ("getters only" etc. do not).
fn peer_verdict_class(verdict: &str) -> Option<Expect> {
    if verdict.starts_with("ACCEPT") || verdict.starts_with("OK") {
        Some(Expect::Accept)
    } else if verdict.starts_with("REJECT") {
        Some(Expect::Reject)
    } else {
        None
    }
}

fn manifest() -> Vec<Case> {
    let path = repo().join("tests/corpus/manifest.toml");
    let manifest: Manifest =
        toml::from_str(&text(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest.case
}

/// `../shared/corpus`: the peer corpora.
fn corpus_root() -> PathBuf {
    shared().join("corpus")
}

/// A manifest path: relative to this repository when it starts with `tests/`, else to the corpora.
fn resolve(path: &str) -> PathBuf {
    if path.starts_with("tests/") {
        repo().join(path)
    } else {
        corpus_root().join(path)
    }
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decryption_key(path: &str) -> DecryptionKey {
    let path = resolve(path);
    DecryptionKey::from_pem(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Every file under `dir`, as `/`-separated paths relative to `root`.
fn walk(root: &Path, dir: &Path, files: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.insert(parts.join("/"));
        }
    }
}

/// Whether `file` matches an exclusion pattern (see [`NOT_RESPONSES`]).
fn matches(pattern: &str, file: &str) -> bool {
    if pattern.ends_with('/') {
        return file.starts_with(pattern);
    }
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            file.len() >= prefix.len() + suffix.len()
                && file.starts_with(prefix)
                && file.ends_with(suffix)
        }
        None => file == pattern,
    }
}

/// Whether the bytes (raw XML, or base64 of it) hold a SAML 2.0 protocol `Response` element.
fn looks_like_saml_response(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii_start();
    let decoded;
    let xml = if trimmed.starts_with(b"<") {
        trimmed
    } else {
        let clean: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(clean) {
            Ok(d) => {
                decoded = d;
                &decoded[..]
            }
            Err(_) => trimmed,
        }
    };
    let xml = String::from_utf8_lossy(xml);
    xml.contains("urn:oasis:names:tc:SAML:2.0:protocol")
        && xml.split('<').skip(1).any(|tag| {
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or("");
            name.rsplit(':').next() == Some("Response")
        })
}

/// The manifest's value, or unchecked when the case leaves it out.
fn expected(value: Option<&String>) -> Expected {
    value.map_or(Expected::Unchecked, |v| Expected::Exactly(v.clone()))
}
