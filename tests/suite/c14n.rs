//! The Rust exclusive C14N (`c14n::exclusive_in_rust`, what every signature check runs first)
//! against libxml2's (`c14n::with_libxml2`), byte for byte, over every document the tests have:
//! the xmlsec1 fixtures and every other XML fixture, every file of the peer corpora and the IdP
//! samples, the plaintext of every encrypted assertion among them, and every document of the
//! attack corpus. Whenever the Rust path answers, libxml2 must give the same bytes; where it
//! declines, libxml2 alone decides (so a decline costs time, a difference would cost security).
//! The same comparison runs on every input of the fuzz target (fuzz/fuzz_targets).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use fedbridge::saml::xml::c14n::{Mode, exclusive_in_rust, with_libxml2};
use fedbridge::saml::xml::{self as fxml, Element, XmlDocument};
use fedbridge::saml::xmlenc::decrypt_element;
use fedbridge::saml::{DecryptionKey, decode_post_binding};

use crate::support::{read, repo, shared, xmlsec_dir};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const MAX: usize = 1 << 24;

/// Counts of one run, and the differences found.
#[derive(Default)]
struct Tally {
    documents: usize,
    compared: usize,
    declined: usize,
    differences: Vec<String>,
}

impl Tally {
    /// Compares the two canonicalizers on one (apex, excluded, PrefixList) of `doc`.
    fn compare(
        &mut self,
        label: &str,
        doc: &XmlDocument,
        apex: Element<'_>,
        excluded: Option<Element<'_>>,
        prefixes: &[&str],
    ) -> bool {
        let Some(rust) = exclusive_in_rust(doc, apex, excluded, prefixes) else {
            self.declined += 1;
            return false;
        };
        self.compared += 1;
        let libxml2 = with_libxml2(doc, apex, excluded, Mode::Exclusive, prefixes, false);
        if libxml2.as_deref() != Ok(&rust[..]) && self.differences.len() < 20 {
            self.differences.push(format!(
                "{label}: apex <{}>, excluded {excluded:?}, PrefixList {prefixes:?}\n  Rust:    {}\n  libxml2: {:?}",
                apex.local_name(),
                String::from_utf8_lossy(&rust),
                libxml2.map(|b| String::from_utf8_lossy(&b).into_owned())
            ));
        }
        true
    }

    /// Prints the counts of `what` and fails on any difference or on fewer than
    /// `min_documents` documents (a corpus that went missing would make the test vacuous).
    fn conclude(&self, what: &str, min_documents: usize) {
        println!(
            "C14N differential over {what}: {} documents, {} comparisons by Rust and libxml2, {} \
             left to libxml2",
            self.documents, self.compared, self.declined
        );
        assert!(
            self.differences.is_empty(),
            "the Rust C14N differs from libxml2's:\n{}",
            self.differences.join("\n")
        );
        assert!(
            self.documents > min_documents,
            "only {} documents of {what}",
            self.documents
        );
    }

    /// Every element of `doc` as the apex, with nothing, its signature or its first child
    /// excluded, under no PrefixList, the document's own PrefixLists and two common ones.
    fn every_element(&mut self, label: &str, doc: &XmlDocument) {
        self.documents += 1;
        let Some(root) = doc.root() else { return };
        let mut lists: Vec<Vec<String>> = vec![
            Vec::new(),
            vec!["xs".into(), "xsi".into()],
            vec![
                "ds".into(),
                "saml".into(),
                "samlp".into(),
                "#default".into(),
            ],
        ];
        for element in std::iter::once(root).chain(root.descendants()) {
            if element.is(EXC_C14N, "InclusiveNamespaces")
                && let Some(list) = element.attr("PrefixList")
            {
                lists.push(list.split_ascii_whitespace().map(String::from).collect());
            }
        }
        for apex in std::iter::once(root).chain(root.descendants()) {
            let signature = apex.first_child(DSIG, "Signature");
            for excluded in [None, signature, apex.children().next()] {
                for list in &lists {
                    let prefixes: Vec<&str> = list.iter().map(String::as_str).collect();
                    self.compare(label, doc, apex, excluded, &prefixes);
                }
            }
        }
        self.decrypted(label, root);
    }

    /// The plaintext of every EncryptedAssertion/EncryptedID that one of the keys opens.
    fn decrypted(&mut self, label: &str, root: Element<'_>) {
        let keys = decryption_keys();
        for container in root
            .descendants()
            .filter(|e| e.is(SAML, "EncryptedAssertion") || e.is(SAML, "EncryptedID"))
        {
            for key in &keys {
                if let Ok(plain) = decrypt_element(container, std::slice::from_ref(key), MAX) {
                    self.every_element(&format!("{label} (decrypted)"), &plain.doc);
                }
            }
        }
    }
}

/// The SP keys of the fixtures and of the corpora's encrypted responses.
fn decryption_keys() -> Vec<DecryptionKey> {
    let corpus = shared().join("corpus");
    [
        xmlsec_dir().join("keys/sp-enc.key"),
        corpus.join("python3-saml/tests/data/customPath/certs/sp.key"),
        corpus.join("crewjam-saml/samlsp/testdata/key.pem"),
        corpus.join("crewjam-saml/testdata/key_2017.pem"),
        corpus.join("crewjam-saml/testdata/sp_key.pem"),
        corpus.join("crewjam-saml/xmlenc/testdata/cert.key"),
        corpus.join("crewjam-saml/xmlenc/testdata/key.pem"),
        shared().join("idp-samples/sp-test-keys/sp-test.key"),
    ]
    .iter()
    .filter_map(|path| std::fs::read(path).ok())
    .filter_map(|pem| DecryptionKey::from_pem(&pem).ok())
    .collect()
}

/// The document in a file: raw XML, or the base64 (possibly URL-encoded) form value.
fn document(bytes: &[u8]) -> Option<XmlDocument> {
    if let Ok(doc) = fxml::parse(bytes, MAX) {
        return Some(doc);
    }
    let text = String::from_utf8_lossy(bytes);
    let body = text.trim().trim_start_matches("SAMLResponse=");
    let decoded = decode_post_binding(body.as_bytes(), MAX).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .ok()
    })?;
    fxml::parse(&decoded, MAX).ok()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn rust_c14n_equals_libxml2_on_every_fixture_and_corpus_document() {
    let mut files = Vec::new();
    files_under(&repo().join("tests/fixtures"), &mut files);
    files_under(&shared().join("corpus"), &mut files);
    files_under(&shared().join("idp-samples"), &mut files);
    files.sort();
    assert!(
        files.len() > 250,
        "only {} files: is ../shared there?",
        files.len()
    );
    let mut tally = Tally::default();
    for file in &files {
        if let Some(doc) = document(&read(file)) {
            tally.every_element(&file.display().to_string(), &doc);
        }
    }
    tally.conclude("fixtures, corpora and IdP samples", 150);
    assert!(
        tally.compared > 50_000,
        "only {} comparisons",
        tally.compared
    );
}

/// The signed elements of the xmlsec1 fixtures (the shapes real IdPs send) are all
/// canonicalized by the Rust path: the speed-up applies to real logins, not only to tests.
#[test]
fn rust_c14n_handles_every_signature_of_the_xmlsec_fixtures() {
    let mut files = Vec::new();
    files_under(&xmlsec_dir().join("signed"), &mut files);
    let mut signatures = 0;
    for file in &files {
        let doc = fxml::parse(&read(file), MAX).unwrap();
        let mut tally = Tally::default();
        let mut documents = vec![doc];
        let root = documents[0].root().unwrap();
        let keys = decryption_keys();
        let decrypted: Vec<XmlDocument> = root
            .descendants()
            .filter(|e| e.is(SAML, "EncryptedAssertion"))
            .filter_map(|c| decrypt_element(c, &keys[..1], MAX).ok())
            .map(|d| d.doc)
            .collect();
        documents.extend(decrypted);
        for doc in &documents {
            let root = doc.root().unwrap();
            for signed in std::iter::once(root).chain(root.descendants()) {
                let Some(signature) = signed.first_child(DSIG, "Signature") else {
                    continue;
                };
                let info = signature.first_child(DSIG, "SignedInfo").unwrap();
                let prefixes: Vec<String> = info
                    .descendants()
                    .filter(|e| e.is(EXC_C14N, "InclusiveNamespaces"))
                    .flat_map(|e| {
                        e.attr("PrefixList")
                            .unwrap_or_default()
                            .split_ascii_whitespace()
                            .map(String::from)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
                let label = file.display().to_string();
                assert!(
                    tally.compare(&label, doc, signed, Some(signature), &prefixes),
                    "{label}: the signed <{}> was left to libxml2",
                    signed.local_name()
                );
                assert!(
                    tally.compare(&label, doc, info, None, &[]),
                    "{label}: SignedInfo was left to libxml2"
                );
                signatures += 1;
            }
        }
        assert!(
            tally.differences.is_empty(),
            "{}",
            tally.differences.join("\n")
        );
    }
    assert!(
        signatures >= 20,
        "only {signatures} signatures in the fixtures"
    );
}

#[test]
fn rust_c14n_equals_libxml2_on_every_attack_document() {
    let mut tally = Tally::default();
    for (name, xml) in crate::attacks::documents() {
        let Some(doc) = document(&xml) else { continue };
        // The attack documents are many: the elements that carry or are a signature, and the
        // root, with and without the signature excluded.
        tally.documents += 1;
        let Some(root) = doc.root() else { continue };
        for apex in std::iter::once(root).chain(root.descendants()) {
            let signature = apex.first_child(DSIG, "Signature");
            if signature.is_none() && !apex.is(DSIG, "SignedInfo") && apex != root {
                continue;
            }
            for excluded in [None, signature] {
                tally.compare(&name, &doc, apex, excluded, &[]);
                tally.compare(&name, &doc, apex, excluded, &["xs"]);
            }
        }
        tally.decrypted(&name, root);
    }
    tally.conclude("the attack corpus", 300);
}
