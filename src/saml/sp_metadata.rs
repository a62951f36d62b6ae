//! Our own SAML metadata, the document an IdP administrator imports: an `md:EntityDescriptor`
//! with one `SPSSODescriptor` (entityID, the HTTP-POST ACS, the NameID formats we accept and,
//! when a key pair is configured, our signing and encryption certificate).
//!
//! Pure: values in, text out. Elements follow the order of the OASIS metadata schema
//! (`saml-schema-metadata-2.0.xsd`); `tests/suite/metadata.rs` validates the output of a
//! configured instance against it with `xmllint`.

use super::metadata::HTTP_POST;
use super::ns::{MD, SAMLP};
use super::xmldsig::DSIG_NS;

/// The NameID formats we accept, in the order published.
pub const NAME_ID_FORMATS: [&str; 4] = [
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
];

/// The encryption algorithms we can decrypt, published with our encryption key (content
/// encryption first, then key transport).
pub const ENCRYPTION_METHODS: [&str; 5] = [
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
];

/// Renders the SP metadata document.
///
/// - `entity_id`: our entityID; `acs_url`: the AssertionConsumerService (HTTP-POST, index 0,
///   default).
/// - `sp_certificate_pem`: our certificate (one or more PEM blocks, or a bare base64 body), when
///   a key pair is configured: published for signing and for encryption, and
///   `AuthnRequestsSigned` is then `true` (`false` without).
/// - `want_assertions_signed`: the value of `WantAssertionsSigned`.
///
/// Every value is escaped; characters XML 1.0 cannot carry become U+FFFD.
pub fn render(
    entity_id: &str,
    acs_url: &str,
    sp_certificate_pem: Option<&str>,
    want_assertions_signed: bool,
) -> String {
    let certificates: Vec<String> = sp_certificate_pem
        .map(certificate_bodies)
        .unwrap_or_default();
    let signs = !certificates.is_empty();
    let mut out = String::with_capacity(2048 + certificates.iter().map(String::len).sum::<usize>());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<md:EntityDescriptor xmlns:md=\"{MD}\" xmlns:ds=\"{DSIG_NS}\" entityID=\"{}\">\n",
        attr(entity_id)
    ));
    out.push_str(&format!(
        "  <md:SPSSODescriptor AuthnRequestsSigned=\"{signs}\" WantAssertionsSigned=\"{want_assertions_signed}\" protocolSupportEnumeration=\"{SAMLP}\">\n"
    ));
    if signs {
        for usage in ["signing", "encryption"] {
            out.push_str(&format!("    <md:KeyDescriptor use=\"{usage}\">\n"));
            out.push_str("      <ds:KeyInfo>\n        <ds:X509Data>\n");
            for body in &certificates {
                out.push_str(&format!(
                    "          <ds:X509Certificate>{}</ds:X509Certificate>\n",
                    text(body)
                ));
            }
            out.push_str("        </ds:X509Data>\n      </ds:KeyInfo>\n");
            if usage == "encryption" {
                for algorithm in ENCRYPTION_METHODS {
                    out.push_str(&format!(
                        "      <md:EncryptionMethod Algorithm=\"{algorithm}\"/>\n"
                    ));
                }
            }
            out.push_str("    </md:KeyDescriptor>\n");
        }
    }
    for format in NAME_ID_FORMATS {
        out.push_str(&format!(
            "    <md:NameIDFormat>{format}</md:NameIDFormat>\n"
        ));
    }
    out.push_str(&format!(
        "    <md:AssertionConsumerService Binding=\"{HTTP_POST}\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\n",
        attr(acs_url)
    ));
    out.push_str("  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
    out
}

/// The base64 bodies of the certificates in `pem`: each `CERTIFICATE` PEM block, or the whole
/// text as one bare base64 body when it holds no PEM block; whitespace removed.
fn certificate_bodies(pem: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let squeeze = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let mut bodies = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else { break };
        let body = squeeze(&after[..end]);
        if !body.is_empty() {
            bodies.push(body);
        }
        rest = &after[end + END.len()..];
    }
    if bodies.is_empty() && !pem.contains("-----BEGIN") {
        let body = squeeze(pem);
        if !body.is_empty() {
            bodies.push(body);
        }
    }
    bodies
}

/// Escapes `value` for a double-quoted attribute: markup characters, and tab, line feed and
/// carriage return as character references so attribute-value normalisation keeps them.
fn attr(value: &str) -> String {
    escape(value, true)
}

/// Escapes `value` for element content.
fn text(value: &str) -> String {
    escape(value, false)
}

fn escape(value: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\'' if in_attribute => out.push_str("&apos;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Whether XML 1.0 can carry `c` at all (the `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml;

    const CERT: &str = include_str!("../../tests/fixtures/xmlsec/keys/sp-enc.crt");
    const ENTITY: &str = "https://sp.example.com/saml/metadata";
    const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";

    fn names(parent: xml::Element<'_>) -> Vec<String> {
        parent
            .children()
            .map(|e| e.local_name().to_string())
            .collect()
    }

    #[test]
    fn without_a_certificate() {
        let text = render(ENTITY, ACS, None, true);
        let doc = xml::parse(text.as_bytes(), 1 << 20).unwrap();
        let root = doc.root().unwrap();
        assert!(root.is(MD, "EntityDescriptor"));
        assert_eq!(root.attr("entityID").as_deref(), Some(ENTITY));
        let sp = root.only_child(MD, "SPSSODescriptor").unwrap();
        assert_eq!(sp.attr("AuthnRequestsSigned").as_deref(), Some("false"));
        assert_eq!(sp.attr("WantAssertionsSigned").as_deref(), Some("true"));
        assert_eq!(
            sp.attr("protocolSupportEnumeration").as_deref(),
            Some(SAMLP)
        );
        assert_eq!(
            names(sp),
            [
                "NameIDFormat",
                "NameIDFormat",
                "NameIDFormat",
                "NameIDFormat",
                "AssertionConsumerService"
            ]
        );
        let formats: Vec<String> = sp
            .children_named(MD, "NameIDFormat")
            .map(|e| e.text().into_owned())
            .collect();
        assert_eq!(formats, NAME_ID_FORMATS);
        let acs = sp.only_child(MD, "AssertionConsumerService").unwrap();
        assert_eq!(acs.attr("Binding").as_deref(), Some(HTTP_POST));
        assert_eq!(acs.attr("Location").as_deref(), Some(ACS));
        assert_eq!(acs.attr("index").as_deref(), Some("0"));
        assert_eq!(acs.attr("isDefault").as_deref(), Some("true"));
    }

    #[test]
    fn with_a_certificate() {
        let text = render(ENTITY, ACS, Some(CERT), false);
        let doc = xml::parse(text.as_bytes(), 1 << 20).unwrap();
        let sp = doc
            .root()
            .unwrap()
            .only_child(MD, "SPSSODescriptor")
            .unwrap();
        assert_eq!(sp.attr("AuthnRequestsSigned").as_deref(), Some("true"));
        assert_eq!(sp.attr("WantAssertionsSigned").as_deref(), Some("false"));
        assert_eq!(
            names(sp)[..3],
            ["KeyDescriptor", "KeyDescriptor", "NameIDFormat"]
        );
        let body = certificate_bodies(CERT).remove(0);
        let keys: Vec<_> = sp.children_named(MD, "KeyDescriptor").collect();
        assert_eq!(keys[0].attr("use").as_deref(), Some("signing"));
        assert_eq!(keys[1].attr("use").as_deref(), Some("encryption"));
        for key in &keys {
            let cert = key
                .only_child(DSIG_NS, "KeyInfo")
                .and_then(|k| k.only_child(DSIG_NS, "X509Data"))
                .and_then(|d| d.only_child(DSIG_NS, "X509Certificate"))
                .unwrap();
            assert_eq!(cert.text(), body);
        }
        assert!(names(keys[0]) == ["KeyInfo"]);
        let methods: Vec<String> = keys[1]
            .children_named(MD, "EncryptionMethod")
            .map(|e| e.attr("Algorithm").unwrap().into_owned())
            .collect();
        assert_eq!(methods, ENCRYPTION_METHODS);
        // The certificate published is the configured one.
        let published = crate::saml::SigningKey::from_certificates(&body).unwrap();
        assert_eq!(published.len(), 1);
    }

    #[test]
    fn values_are_escaped() {
        let entity = "https://sp.example.com/?a=1&b=\"2\"<'3'>\t\n\r\u{1}";
        let acs = "https://sp.example.com/acs?x=<&>\"";
        let text = render(entity, acs, None, true);
        assert!(!text.contains('\u{1}'));
        let doc = xml::parse(text.as_bytes(), 1 << 20).unwrap();
        let root = doc.root().unwrap();
        assert_eq!(
            root.attr("entityID").as_deref(),
            Some("https://sp.example.com/?a=1&b=\"2\"<'3'>\t\n\r\u{FFFD}")
        );
        let acs_element = root
            .only_child(MD, "SPSSODescriptor")
            .and_then(|sp| sp.only_child(MD, "AssertionConsumerService"))
            .unwrap();
        assert_eq!(acs_element.attr("Location").as_deref(), Some(acs));
    }

    #[test]
    fn certificate_bodies_from_pem_and_bare_base64() {
        let body = certificate_bodies(CERT).remove(0);
        assert!(!body.contains('-') && !body.contains('\n'));
        let two = format!("{CERT}\n{CERT}");
        assert_eq!(certificate_bodies(&two), [body.clone(), body.clone()]);
        let bare: String = body
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert_eq!(certificate_bodies(&bare), [body]);
        assert!(certificate_bodies("  \n").is_empty());
    }
}
