//! Metadata, both ways.
//!
//! - IdP metadata: every IdP metadata document of the peer corpora (`../shared/corpus/`) and of
//!   the sample IdPs (`../shared/idp-samples/`) parses with `parse_idp_metadata`; malicious or
//!   unusable documents are refused with a clear error.
//! - SP metadata: `fedbridge metadata` run as an administrator would (the binary, a temporary
//!   database set up with `fedbridge config set`) prints a document that validates against the
//!   OASIS metadata schema (`xmllint --schema`, schemas in `tests/fixtures/saml-schemas/`, no
//!   network) and that our own parser reads back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fedbridge::saml::metadata::{
    DEFAULT_MAX_METADATA_BYTES, HTTP_POST, HTTP_REDIRECT, IdpMetadata, MetadataError,
    parse_idp_metadata,
};
use fedbridge::saml::ns::MD;
use fedbridge::saml::sp_metadata::{ENCRYPTION_METHODS, NAME_ID_FORMATS};
use fedbridge::saml::xml::{self, XmlError};
use fedbridge::saml::xmldsig::DSIG_NS;

use crate::support::*;

// ---------------------------------------------------------------------------------------------
// IdP metadata: the corpora
// ---------------------------------------------------------------------------------------------

/// The entity to pick in the corpus documents that hold several IdPs.
const CHOSEN: &[(&str, &str)] = &[(
    "idp_multiple_descriptors.xml",
    "https://bar.example.com/access/saml/idp.xml",
)];

fn parse(bytes: &[u8], entity: Option<&str>) -> Result<IdpMetadata, MetadataError> {
    parse_idp_metadata(bytes, entity, DEFAULT_MAX_METADATA_BYTES)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The IdP metadata documents of the peer corpora: python3-saml's `idp_*.xml` and
/// `testshib-providers.xml`; crewjam's `*_IDPMetadata`, `*_idp_metadata*` and `*metadata*.xml`
/// that hold an IDPSSODescriptor.
fn corpus_idp_documents() -> Vec<PathBuf> {
    let corpus = shared().join("corpus");
    let python = files_in(&corpus.join("python3-saml/tests/data/metadata"))
        .into_iter()
        .filter(|p| {
            let name = file_name(p);
            (name.starts_with("idp_") && name.ends_with(".xml")) || name == "testshib-providers.xml"
        });
    let crewjam = [
        "crewjam-saml/testdata",
        "crewjam-saml/samlsp/testdata",
        "crewjam-saml/samlidp/testdata",
    ]
    .into_iter()
    .flat_map(|dir| files_in(&corpus.join(dir)))
    .filter(|p| {
        let name = file_name(p);
        name.ends_with("_IDPMetadata")
            || name.contains("_idp_metadata")
            || (name.contains("metadata") && name.ends_with(".xml"))
    })
    .filter(|p| String::from_utf8_lossy(&read(p)).contains("IDPSSODescriptor"));
    python.chain(crewjam).collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_idp_metadata_document_of_the_corpora_parses() {
    let documents = corpus_idp_documents();
    assert!(
        documents.len() >= 20,
        "expected the peer corpora in ../shared/corpus, found {} IdP metadata documents",
        documents.len()
    );
    let mut failures = Vec::new();
    for path in &documents {
        let name = file_name(path);
        let entity = CHOSEN.iter().find(|(n, _)| *n == name).map(|(_, e)| *e);
        match parse(&read(path), entity) {
            Ok(md) => {
                assert!(!md.entity_id.is_empty(), "{name}");
                assert!(!md.signing_keys.is_empty(), "{name}");
                assert!(!md.sso_endpoints.is_empty(), "{name}: no SSO endpoint");
                if let Some(wanted) = entity {
                    assert_eq!(md.entity_id, wanted, "{name}");
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn what_the_corpus_documents_hold() {
    let dir = shared().join("corpus/python3-saml/tests/data/metadata");
    // Two signing certificates (and one for encryption only, not taken).
    let md = parse(
        &read(dir.join("idp_metadata_multi_signing_certs.xml")),
        None,
    )
    .unwrap();
    assert_eq!(md.signing_certificates.len(), 2);
    assert_eq!(md.signing_keys.len(), 2);
    // KeyDescriptor without `use`: signing too.
    let md = parse(&read(dir.join("testshib-providers.xml")), None).unwrap();
    assert_eq!(md.entity_id, "https://idp.testshib.org/idp/shibboleth");
    assert!(!md.signing_keys.is_empty());
    assert_eq!(
        md.redirect_sso_url(),
        Some("https://idp.testshib.org/idp/profile/SAML2/Redirect/SSO")
    );
    // Two IdPs: the one asked for.
    let both = read(dir.join("idp_multiple_descriptors.xml"));
    let foo = parse(&both, Some("https://foo.example.com/access/saml/idp.xml")).unwrap();
    let bar = parse(&both, Some("https://bar.example.com/access/saml/idp.xml")).unwrap();
    assert_eq!(foo.entity_id, "https://foo.example.com/access/saml/idp.xml");
    assert_eq!(bar.entity_id, "https://bar.example.com/access/saml/idp.xml");
}

#[test]
fn the_sample_idps_metadata_parses() {
    let samples = shared().join("idp-samples");
    let mut seen = 0;
    for dir in files_or_dirs(&samples) {
        let path = dir.join("idp-metadata.xml");
        if !path.is_file() {
            continue;
        }
        seen += 1;
        let md = parse(&read(&path), None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            md.redirect_sso_url().is_some(),
            "{}: no HTTP-Redirect SSO endpoint",
            path.display()
        );
        // The certificate published is the one the sample IdP signs with.
        let pem = dir.join("idp-signing-cert.pem");
        if pem.is_file() {
            let pinned = String::from_utf8(read(&pem)).unwrap();
            let pinned = fedbridge::saml::SigningKey::from_certificates(&pinned).unwrap();
            assert!(
                md.signing_keys
                    .iter()
                    .any(|k| k.public_key().public_eq(pinned[0].public_key())),
                "{}: the signing certificate differs from idp-signing-cert.pem",
                path.display()
            );
        }
    }
    assert!(
        seen >= 3,
        "expected the sample IdPs in {}",
        samples.display()
    );
}

fn files_or_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    all.sort();
    all
}

// ---------------------------------------------------------------------------------------------
// IdP metadata: refused
// ---------------------------------------------------------------------------------------------

fn simplesamlphp() -> String {
    String::from_utf8(read(
        shared().join("idp-samples/simplesamlphp/idp-metadata.xml"),
    ))
    .unwrap()
}

/// An aggregate of the three sample IdPs.
fn aggregate() -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">\n",
    );
    for idp in ["simplesamlphp", "saml-idp", "pysaml2"] {
        let text = String::from_utf8(read(
            shared().join(format!("idp-samples/{idp}/idp-metadata.xml")),
        ))
        .unwrap();
        let body = match text.find("?>") {
            Some(end) if text.trim_start().starts_with("<?xml") => &text[end + 2..],
            _ => &text[..],
        };
        out.push_str(body);
        out.push('\n');
    }
    out.push_str("</md:EntitiesDescriptor>\n");
    out
}

#[test]
fn an_aggregate_picks_the_entity_asked_for() {
    let text = aggregate();
    let wanted = parse(simplesamlphp().as_bytes(), None).unwrap().entity_id;
    let md = parse(text.as_bytes(), Some(&wanted)).unwrap();
    assert_eq!(md.entity_id, wanted);
}

/// A generated federation aggregate of 5,000 entities (IdPs at even indexes, SPs at odd
/// ones), each with the test IdP certificate; `benches/metadata.rs` times the same load.
fn federation(entities: usize) -> String {
    let cert: String = key_file("idp-rsa.crt")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let key = format!(
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}\
         </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    );
    let mut out = String::from(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n",
    );
    for i in 0..entities {
        let (role, endpoint) = if i.is_multiple_of(2) {
            (
                "IDPSSODescriptor",
                format!(
                    "<md:SingleSignOnService Binding=\"{HTTP_REDIRECT}\" \
                     Location=\"https://idp{i}.example.org/sso\"/>"
                ),
            )
        } else {
            (
                "SPSSODescriptor",
                format!(
                    "<md:AssertionConsumerService Binding=\"{HTTP_POST}\" \
                     Location=\"https://sp{i}.example.com/acs\" index=\"0\"/>"
                ),
            )
        };
        out.push_str(&format!(
            "<md:EntityDescriptor entityID=\"https://entity{i}.example.org/\">\
             <md:{role} protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             {key}{endpoint}</md:{role}></md:EntityDescriptor>\n"
        ));
    }
    out.push_str("</md:EntitiesDescriptor>\n");
    out
}

#[test]
fn a_federation_of_5000_entities_yields_the_one_asked_for() {
    let text = federation(5_000);
    let started = std::time::Instant::now();
    let md = parse(text.as_bytes(), Some("https://entity2500.example.org/")).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(md.entity_id, "https://entity2500.example.org/");
    assert_eq!(
        md.redirect_sso_url(),
        Some("https://idp2500.example.org/sso")
    );
    assert_eq!(md.signing_keys.len(), 1);
    // Generous bound for a debug build on a busy machine; benches/metadata.rs measures it.
    assert!(elapsed.as_secs() < 10, "{elapsed:?}");
    // An SP of the aggregate is not an IdP; without an entityID the choice is ambiguous.
    let err = parse(text.as_bytes(), Some("https://entity2501.example.org/")).unwrap_err();
    assert!(
        err.to_string().contains("not an identity provider"),
        "{err}"
    );
    let err = parse(text.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("2500 identity providers"), "{err}");
}

#[test]
fn xxe_is_refused() {
    let evil = simplesamlphp().replacen(
        "<md:EntityDescriptor",
        "<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<md:EntityDescriptor",
        1,
    );
    assert!(evil.contains("<!DOCTYPE"), "the sample changed shape");
    let err = parse(evil.as_bytes(), None).unwrap_err();
    assert_eq!(err, MetadataError::Xml(XmlError::DtdForbidden));
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
    // An entity reference without the DOCTYPE is not even well-formed.
    let evil = simplesamlphp().replacen("Location=\"", "Location=\"&xxe;", 1);
    assert!(parse(evil.as_bytes(), None).is_err());
}

#[test]
fn a_javascript_sso_location_is_refused() {
    for scheme in [
        "javascript:alert(1)//",
        "JavaScript:alert(1)//",
        " javascript:",
        "data:text/html,",
    ] {
        let evil = simplesamlphp().replace("Location=\"http://", &format!("Location=\"{scheme}"));
        let err = parse(evil.as_bytes(), None).unwrap_err();
        assert!(
            matches!(err, MetadataError::BadEndpoint(_)),
            "{scheme}: {err:?}"
        );
        assert!(
            err.to_string().contains("is not an http or https URL"),
            "{err}"
        );
    }
}

#[test]
fn a_huge_document_is_refused_before_parsing() {
    let text = simplesamlphp();
    let err = parse_idp_metadata(text.as_bytes(), None, text.len() - 1).unwrap_err();
    assert_eq!(
        err,
        MetadataError::Xml(XmlError::TooLarge {
            size: text.len(),
            limit: text.len() - 1
        })
    );
    // Over the default limit: refused whatever it holds.
    let mut huge = text.into_bytes();
    huge.resize(DEFAULT_MAX_METADATA_BYTES + 1, b' ');
    let err = parse(&huge, None).unwrap_err();
    assert!(err.to_string().contains("more than the limit of"), "{err}");
}

#[test]
fn an_aggregate_without_the_wanted_entity_is_refused() {
    let err = parse(
        aggregate().as_bytes(),
        Some("https://absent.example.com/idp"),
    )
    .unwrap_err();
    assert!(matches!(err, MetadataError::EntityNotFound(_)), "{err:?}");
    assert!(
        err.to_string().contains("https://absent.example.com/idp"),
        "{err}"
    );
}

#[test]
fn an_ambiguous_aggregate_names_the_count() {
    let err = parse(aggregate().as_bytes(), None).unwrap_err();
    assert!(
        matches!(err, MetadataError::Ambiguous { count: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("3 identity providers"), "{err}");
}

#[test]
fn an_sp_entity_is_not_an_idp() {
    let sp = read(shared().join("corpus/crewjam-saml/samlidp/testdata/sp_metadata.xml"));
    let err = parse(&sp, None).unwrap_err();
    assert!(matches!(err, MetadataError::EntityNotFound(_)), "{err:?}");
    let testshib =
        read(shared().join("corpus/python3-saml/tests/data/metadata/testshib-providers.xml"));
    let err = parse(&testshib, Some("https://sp.testshib.org/shibboleth-sp")).unwrap_err();
    assert!(
        err.to_string().contains("not an identity provider"),
        "{err}"
    );
}

#[test]
fn not_metadata_is_refused() {
    let response = xmlsec_fixture("ecdsa-p256-sha256-response.xml");
    let err = parse(&response, None).unwrap_err();
    assert!(matches!(err, MetadataError::NotMetadata(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// SP metadata: `fedbridge metadata`, validated with xmllint
// ---------------------------------------------------------------------------------------------

const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";
const SSO: &str = "https://idp.example.com/saml2/sso";

/// A temporary directory holding the database (or, under the PostgreSQL switch, beside it).
struct Instance {
    dir: tempfile::TempDir,
    database: String,
}

impl Instance {
    fn new() -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let database = fresh_database(dir.path(), "fedbridge.db");
        Instance { dir, database }
    }

    /// `fedbridge --database DB ARGS...`, in the temporary directory.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .arg("--database")
            .arg(&self.database)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FEDBRIDGE_DATABASE")
            .output()
            .expect("the fedbridge binary runs")
    }

    fn set(&self, pairs: &[(&str, &str)]) {
        let mut args = vec!["config", "set"];
        for (name, value) in pairs {
            args.extend([*name, *value]);
        }
        let out = self.run(&args);
        assert_eq!(code(&out), 0, "config set: {}", stderr(&out));
    }

    /// `fedbridge metadata`, which must succeed; its stdout.
    fn metadata(&self) -> String {
        let out = self.run(&["metadata"]);
        assert_eq!(
            code(&out),
            0,
            "fedbridge metadata:\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }
}

fn key_file(name: &str) -> String {
    String::from_utf8(read(xmlsec_dir().join("keys").join(name))).unwrap()
}

/// Validates `document` against the OASIS metadata schema with `xmllint --nonet --schema`;
/// without xmllint, `test` says SKIPPED for this part (a failure with
/// `FEDBRIDGE_REQUIRE_XMLLINT=1`, which `.ci/run` sets, or `CI`).
fn assert_schema_valid(test: &str, document: &str) {
    if !crate::support::tool_available(
        &format!("{test} (the OASIS schema validation)"),
        Command::new("xmllint").arg("--version"),
        "xmllint is not installed, and it validates the SP metadata against the OASIS schema \
         (install it: apt-get install -y libxml2-utils; .ci/run does)",
        "FEDBRIDGE_REQUIRE_XMLLINT",
    ) {
        return;
    }
    let schemas = repo().join("tests/fixtures/saml-schemas");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sp-metadata.xml");
    std::fs::write(&file, document).unwrap();
    let out = Command::new("xmllint")
        .arg("--nonet")
        .arg("--noout")
        .arg("--schema")
        .arg(schemas.join("saml-schema-metadata-2.0.xsd"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint ran for --version but not now: {e}"));
    assert!(
        out.status.success(),
        "the SP metadata does not validate against saml-schema-metadata-2.0.xsd:\n{}\n{document}",
        stderr(&out)
    );
}

/// `WantAssertionsSigned` of our metadata.
fn want_assertions_signed(document: &str) -> String {
    let doc = xml::parse(document.as_bytes(), DEFAULT_MAX_METADATA_BYTES).unwrap();
    let sp = doc
        .root()
        .unwrap()
        .only_child(MD, "SPSSODescriptor")
        .unwrap();
    sp.attr("WantAssertionsSigned")
        .unwrap_or_default()
        .into_owned()
}

/// Reads our metadata back: (entityID, ACS location, AuthnRequestsSigned, certificate uses).
fn read_back(document: &str) -> (String, String, String, Vec<String>) {
    let doc = xml::parse(document.as_bytes(), DEFAULT_MAX_METADATA_BYTES).unwrap();
    let root = doc.root().unwrap();
    assert!(root.is(MD, "EntityDescriptor"));
    let sp = root.only_child(MD, "SPSSODescriptor").unwrap();
    let acs = sp.only_child(MD, "AssertionConsumerService").unwrap();
    assert_eq!(acs.attr("Binding").as_deref(), Some(HTTP_POST));
    assert_eq!(acs.attr("isDefault").as_deref(), Some("true"));
    let formats: Vec<String> = sp
        .children_named(MD, "NameIDFormat")
        .map(|e| e.text().into_owned())
        .collect();
    assert_eq!(formats, NAME_ID_FORMATS);
    let uses = sp
        .children_named(MD, "KeyDescriptor")
        .map(|k| {
            assert!(
                k.first_child(DSIG_NS, "KeyInfo").is_some(),
                "KeyDescriptor without KeyInfo"
            );
            k.attr("use").unwrap_or_default().into_owned()
        })
        .collect();
    (
        root.attr("entityID").unwrap().into_owned(),
        acs.attr("Location").unwrap().into_owned(),
        sp.attr("AuthnRequestsSigned").unwrap().into_owned(),
        uses,
    )
}

#[test]
fn sp_metadata_of_the_public_key_scenario_validates() {
    let instance = Instance::new();
    instance.set(&[
        ("SAML_CONSUMER_URL", ACS),
        ("SAML_REDIRECT_URL", SSO),
        ("SAML_SIGNING_CERTIFICATE", &key_file("idp-rsa.crt")),
    ]);
    let document = instance.metadata();
    assert_schema_valid(
        "sp_metadata_of_the_public_key_scenario_validates",
        &document,
    );
    let (entity_id, acs, signed, uses) = read_back(&document);
    // The default entityID: the consumer URL itself (seed 004's recipes).
    assert_eq!(entity_id, ACS);
    assert_eq!(acs, ACS);
    assert_eq!(signed, "false");
    // A Response signature covering the assertion is accepted by default: the metadata says so.
    assert_eq!(want_assertions_signed(&document), "false");
    assert!(
        uses.is_empty(),
        "no SP key pair, no KeyDescriptor: {uses:?}"
    );
    // The IdP's certificate is not ours: never published.
    assert!(!document.contains("X509Certificate"));
}

#[test]
fn sp_metadata_with_an_sp_key_pair_validates() {
    let instance = Instance::new();
    let entity = "https://sp.example.com/saml/metadata?tenant=a&b";
    instance.set(&[
        ("SAML_CONSUMER_URL", ACS),
        ("SAML_REDIRECT_URL", SSO),
        ("SAML_SIGNING_CERTIFICATE", &key_file("idp-rsa.crt")),
        ("FEDBRIDGE_SP_ENTITY_ID", entity),
        ("FEDBRIDGE_SP_PRIVATE_KEY", &key_file("sp-enc.key")),
        ("FEDBRIDGE_SP_CERTIFICATE", &key_file("sp-enc.crt")),
        ("FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS", "1"),
    ]);
    let document = instance.metadata();
    assert_schema_valid("sp_metadata_with_an_sp_key_pair_validates", &document);
    assert_eq!(want_assertions_signed(&document), "true");
    let (entity_id, acs, signed, uses) = read_back(&document);
    assert_eq!(entity_id, entity);
    assert_eq!(acs, ACS);
    assert_eq!(signed, "true");
    assert_eq!(uses, ["signing", "encryption"]);
    for algorithm in ENCRYPTION_METHODS {
        assert!(document.contains(algorithm), "{algorithm} not published");
    }
    // The certificate published is the SP's, and no private key leaks.
    let sp_cert = key_file("sp-enc.crt");
    let body: String = sp_cert
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(document.contains(&body));
    assert!(!document.contains("PRIVATE"));
}

#[test]
fn sp_metadata_of_an_invalid_configuration_lists_the_problems() {
    let instance = Instance::new();
    let out = instance.run(&["metadata"]);
    assert_eq!(code(&out), 1, "stdout:\n{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("the configuration is invalid"), "{err}");
    assert!(err.contains("SAML_CONSUMER_URL"), "{err}");
}

#[test]
fn binding_uris_and_schemes_in_another_case_are_understood() {
    let text = simplesamlphp()
        .replace(
            HTTP_REDIRECT,
            "URN:OASIS:names:tc:SAML:2.0:bindings:http-redirect",
        )
        .replace("Location=\"http://", "Location=\"HTTP://");
    let md = parse(text.as_bytes(), None).unwrap();
    let url = md.redirect_sso_url().expect("the redirect endpoint");
    assert!(url.starts_with("HTTP://127.0.0.1"), "{url}");
    assert!(md.sso_endpoints.iter().any(|(b, _)| b == HTTP_REDIRECT));
}

#[test]
fn an_idp_descriptor_without_saml2_is_not_an_idp() {
    let text = simplesamlphp().replace(
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
        "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol\"",
    );
    let err = parse(text.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("no identity provider"), "{err}");
}
