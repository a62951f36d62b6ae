//! Loading a large federation aggregate and picking one IdP (issue: 5,000 entities in under one
//! second). Run: `cargo bench --bench metadata`.
//!
//! The aggregate is generated in memory: 5,000 `EntityDescriptor`s, IdPs and SPs alternating,
//! each with one real certificate (published for signing and encryption), endpoints, an
//! organisation and a contact: about 3.5 KB each, like a national federation's feed. The entity
//! asked for is the IdP in the middle.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fedbridge::saml::metadata::{DEFAULT_MAX_METADATA_BYTES, parse_idp_metadata};

/// How many entities the aggregate holds.
const ENTITIES: usize = 5_000;

/// The base64 body of the test IdP certificate (2048-bit RSA).
fn certificate_body() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xmlsec/keys/idp-rsa.crt");
    let pem = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn entity_id(index: usize) -> String {
    if index.is_multiple_of(2) {
        format!("https://idp{index}.university{index}.example.org/idp/shibboleth")
    } else {
        format!("https://sp{index}.service{index}.example.com/shibboleth")
    }
}

/// The key descriptors of one entity: its certificate for signing and for encryption.
fn keys(out: &mut String, cert: &str) {
    for usage in ["signing", "encryption"] {
        let _ = write!(
            out,
            "<md:KeyDescriptor use=\"{usage}\"><ds:KeyInfo><ds:KeyName>key-{usage}</ds:KeyName>\
             <ds:X509Data><ds:X509Certificate>\n{cert}\n</ds:X509Certificate></ds:X509Data>\
             </ds:KeyInfo></md:KeyDescriptor>\n"
        );
    }
}

/// The organisation and technical contact of entity `index`.
fn organisation(out: &mut String, index: usize) {
    let _ = write!(
        out,
        "<md:Organization><md:OrganizationName xml:lang=\"en\">Organisation {index}</md:OrganizationName>\
         <md:OrganizationDisplayName xml:lang=\"en\">The Organisation Number {index}</md:OrganizationDisplayName>\
         <md:OrganizationURL xml:lang=\"en\">https://www{index}.example.org/</md:OrganizationURL></md:Organization>\n\
         <md:ContactPerson contactType=\"technical\"><md:GivenName>Admin</md:GivenName>\
         <md:SurName>Number {index}</md:SurName><md:EmailAddress>mailto:saml-admin@www{index}.example.org</md:EmailAddress>\
         </md:ContactPerson>\n"
    );
}

/// An aggregate of [`ENTITIES`] entities, IdPs at even indexes and SPs at odd ones.
fn aggregate(cert: &str) -> String {
    let mut out = String::with_capacity(ENTITIES * 4096);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" \
         xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" Name=\"https://federation.example.org\" \
         validUntil=\"2030-01-01T00:00:00Z\">\n",
    );
    for index in 0..ENTITIES {
        let id = entity_id(index);
        let host = id.split('/').nth(2).unwrap_or("example.org").to_owned();
        let _ = writeln!(out, "<md:EntityDescriptor entityID=\"{id}\">");
        if index.is_multiple_of(2) {
            out.push_str(
                "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
            );
            let _ = writeln!(
                out,
                "<md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang=\"en\">University {index}</mdui:DisplayName>\
                 </mdui:UIInfo></md:Extensions>"
            );
            keys(&mut out, cert);
            let _ = write!(
                out,
                "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://{host}/idp/profile/SAML2/Redirect/SLO\"/>\n\
                 <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>\n\
                 <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://{host}/idp/profile/SAML2/Redirect/SSO\"/>\n\
                 <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://{host}/idp/profile/SAML2/POST/SSO\"/>\n\
                 </md:IDPSSODescriptor>\n"
            );
        } else {
            out.push_str(
                "<md:SPSSODescriptor AuthnRequestsSigned=\"true\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
            );
            keys(&mut out, cert);
            let _ = write!(
                out,
                "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>\n\
                 <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://{host}/Shibboleth.sso/SAML2/POST\" index=\"0\" isDefault=\"true\"/>\n\
                 <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact\" Location=\"https://{host}/Shibboleth.sso/SAML2/Artifact\" index=\"1\"/>\n\
                 </md:SPSSODescriptor>\n"
            );
        }
        organisation(&mut out, index);
        out.push_str("</md:EntityDescriptor>\n");
    }
    out.push_str("</md:EntitiesDescriptor>\n");
    out
}

fn bench_aggregate(c: &mut Criterion) {
    let document = aggregate(&certificate_body());
    let wanted = entity_id(ENTITIES / 2);
    // Sanity: the right entity is picked, and the feed has the intended size.
    match parse_idp_metadata(
        document.as_bytes(),
        Some(&wanted),
        DEFAULT_MAX_METADATA_BYTES,
    ) {
        Ok(md) if md.entity_id == wanted && md.redirect_sso_url().is_some() => {}
        Ok(md) => panic!("picked {} instead of {wanted}", md.entity_id),
        Err(e) => panic!("the generated aggregate does not load: {e}"),
    }
    eprintln!(
        "aggregate: {ENTITIES} entities, {} bytes ({} bytes per entity)",
        document.len(),
        document.len() / ENTITIES
    );
    let mut group = c.benchmark_group("idp_metadata");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(document.len() as u64));
    group.bench_function("aggregate_5000_pick_middle", |b| {
        b.iter(|| {
            parse_idp_metadata(
                black_box(document.as_bytes()),
                Some(black_box(&wanted)),
                DEFAULT_MAX_METADATA_BYTES,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_aggregate);
criterion_main!(benches);
