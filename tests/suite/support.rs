//! Shared helpers: where fixtures are, the settings they were made for, a fixed clock.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fedbridge::saml::{
    DecryptionKey, MemoryLedger, Rejection, SigningKey, SpSettings, TrustedIdp, VerifiedAssertion,
    validate_response,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared`, beside the repository (peer corpora and IdP samples).
pub fn shared() -> PathBuf {
    repo().join("../shared")
}

/// The xmlsec1-signed fixtures (see tests/fixtures/xmlsec/README.md).
pub fn xmlsec_dir() -> PathBuf {
    repo().join("tests/fixtures/xmlsec")
}

/// Reads a file or panics with its path.
pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses an RFC 3339 instant.
pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("bad time {text}: {e}"))
}

/// Constants of the xmlsec1 fixtures.
pub mod xmlsec {
    pub const IDP: &str = "https://idp.example.test/metadata";
    pub const SP: &str = "https://sp.example.test/saml/metadata";
    pub const ACS: &str = "https://sp.example.test/EnticeServices/rest/authenticate/saml";
    pub const REQUEST_ID: &str = "_req-fedbridge-0001";
    pub const NOW: &str = "2026-01-15T10:01:00Z";
    pub const NAME_ID: &str = "alice@example.test";
}

/// Signing keys from a certificate file of the xmlsec fixtures (`keys/<name>.crt`).
pub fn xmlsec_cert(name: &str) -> Vec<SigningKey> {
    let text = String::from_utf8(read(xmlsec_dir().join(format!("keys/{name}.crt")))).unwrap();
    SigningKey::from_certificates(&text).unwrap()
}

/// The SP decryption key of the xmlsec fixtures.
pub fn xmlsec_sp_key() -> DecryptionKey {
    DecryptionKey::from_pem(&read(xmlsec_dir().join("keys/sp-enc.key"))).unwrap()
}

/// The settings every xmlsec fixture was made for: our SP, the RSA + EC IdP keys, SP key.
pub fn xmlsec_settings() -> (SpSettings, TrustedIdp) {
    let sp = SpSettings {
        entity_id: Some(xmlsec::SP.into()),
        acs_url: Some(xmlsec::ACS.into()),
        decryption_keys: vec![xmlsec_sp_key()],
        ..SpSettings::default()
    };
    let mut keys = xmlsec_cert("idp-rsa");
    keys.extend(xmlsec_cert("idp-ec256"));
    keys.extend(xmlsec_cert("idp-ec384"));
    (
        sp,
        TrustedIdp {
            entity_id: Some(xmlsec::IDP.into()),
            signing_keys: keys,
        },
    )
}

/// Validates `xml` with the xmlsec fixture settings at the fixtures' time, the request outstanding.
pub fn check_xmlsec(xml: &[u8]) -> Result<VerifiedAssertion, Rejection> {
    let (sp, idp) = xmlsec_settings();
    let mut ledger = MemoryLedger::with_requests([xmlsec::REQUEST_ID]);
    validate_response(xml, &sp, &idp, &mut ledger, at(xmlsec::NOW))
}

/// A signed xmlsec fixture by file name (`signed/<name>`).
pub fn xmlsec_fixture(name: &str) -> Vec<u8> {
    read(xmlsec_dir().join("signed").join(name))
}

/// A command's standard output as text.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard error as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A command's exit code (a test fails if it was killed by a signal).
pub fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

/// `sqlite3 DB SQL`, the shell an administrator uses; NULL is shown as `<NULL>`. A missing
/// shell fails the test with an install hint (never a silent pass).
pub fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let output = std::process::Command::new("sqlite3")
        .args(["-cmd", ".nullvalue <NULL>", "-cmd", ".timeout 5000"])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs the sqlite3 shell to look at the database as an administrator \
                 would, and it cannot run ({e}); install it: apt-get install sqlite3 (.ci/run does)"
            )
        });
    assert!(
        output.status.success(),
        "sqlite3 {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
