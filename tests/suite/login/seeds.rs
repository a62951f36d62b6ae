//! Seed 004's IdP recipes, exactly as the seed writes them (issue 12, checks 2 and 3): only the
//! seed's settings, fedbridge's defaults for everything else (the SP entityID is the consumer
//! URL, the landing page is fedbridge's own `/`), the login started as the IdP consoles start
//! it, and responses shaped as AD FS and Azure AD send them, signed by xmlsec1.

use super::*;
use crate::idp_signer::EMAIL_ADDRESS;

/// The consumer URL of the recipes (`https://SERVERNAME/EnticeServices/rest/authenticate/saml`).
const CONSUMER: &str = xmlsec::ACS;
/// Where a login without target lands: fedbridge's own login page.
const OWN_LANDING: &str = "https://sp.example.test/";

/// AD FS's claim types of seed 004's claim rule.
const UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const COMMON_NAME: &str = "http://schemas.xmlsoap.org/claims/CommonName";
const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
const GROUP: &str = "http://schemas.xmlsoap.org/claims/Group";
const ADFS: &str = "http://adfs.corp.test/adfs/services/trust";
const ADFS_SSO: &str = "https://adfs.corp.test/adfs/ls/";

/// The settings of seed 004's public-key scenario and its claim rule, nothing else.
fn adfs_settings(cert: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SAML_REDIRECT_URL", ADFS_SSO.to_owned()),
        ("SAML_SIGNING_CERTIFICATE", cert.to_owned()),
        ("SAML_CONSUMER_URL", CONSUMER.to_owned()),
        ("SAML_USER_ID_ATTRIBUTE", "upn".to_owned()),
        ("SAML_USER_FULLNAME_ATTRIBUTE", "CommonName".to_owned()),
        ("SAML_USER_EMAIL_ATTRIBUTE", "emailaddress".to_owned()),
        ("SAML_USER_GROUPS_ATTRIBUTE", "Group".to_owned()),
    ]
}

/// What AD FS sends for the rule: no NameID (the rule has no NameID rule), the four claim
/// types without NameFormat, `Group` from `tokenGroups` as `DOMAIN\Group`; the relying party
/// identifier (the consumer URL) as audience.
fn adfs_response() -> Assertion {
    Assertion::without_name_id()
        .issuer(ADFS)
        .audience(CONSUMER)
        .claim(UPN, &["jdoe@corp.test"])
        .claim(COMMON_NAME, &["Jane Doe"])
        .claim(EMAIL, &["jane.doe@corp.test"])
        .claim(GROUP, &["CORP\\Engineering", "CORP\\Domain Users"])
}

fn pairs<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn seed_004_adfs_recipe_as_written() {
    let Some(idp) = Idp::new("seed_004_adfs_recipe_as_written") else {
        return;
    };
    let settings = adfs_settings(&idp_cert());
    let bridge = Bridge::start_exactly(&pairs(&settings), &["Engineering"], CONSUMER, ADFS_SSO);
    assert_eq!(
        bridge
            .instance
            .sqlite3("SELECT count(*) FROM CONFIGURATIONENTITY WHERE NAME LIKE 'FEDBRIDGE_%'"),
        "0\n",
        "no fedbridge setting beyond the seed's"
    );
    // The relying party's identifier (step 8) is the consumer URL: our metadata says so.
    let metadata = bridge.get("/saml/metadata", &[]);
    assert!(
        metadata.body.contains(&format!("entityID=\"{CONSUMER}\"")),
        "{}",
        metadata.body
    );

    // SP-initiated, as the recipe's URL (step 7) is opened in a browser.
    let begun = bridge.begin_at(ACS_PATH, None);
    let response = idp.post_value(&adfs_response().answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let landed = bridge.landed(&reply, OWN_LANDING, "POST the AD FS response");

    assert_eq!(
        bridge
            .instance
            .sqlite3("SELECT login_name, full_name, email FROM users"),
        "jdoe@corp.test|Jane Doe|jane.doe@corp.test\n"
    );
    assert_eq!(bridge.memberships("jdoe@corp.test"), "Engineering|1\n");
    let claims = bridge.verify(&landed.token);
    assert_eq!(claims.sub, "jdoe@corp.test");
    assert_eq!(claims.name.as_deref(), Some("Jane Doe"));
    assert_eq!(claims.email.as_deref(), Some("jane.doe@corp.test"));
    assert_eq!(claims.groups, ["Engineering"]);
    assert_eq!(bridge.last_flags(), "accepted||unknown_groups");
    assert!(
        bridge
            .last_audit()
            .contains("unknown groups (1): CORP\\Domain Users"),
        "{}",
        bridge.last_audit()
    );
}

#[test]
fn seed_004_adfs_group_values_prefer_a_local_group_named_domain_backslash_group() {
    let Some(idp) =
        Idp::new("seed_004_adfs_group_values_prefer_a_local_group_named_domain_backslash_group")
    else {
        return;
    };
    let settings = adfs_settings(&idp_cert());
    let bridge = Bridge::start_exactly(
        &pairs(&settings),
        &["Engineering", "CORP\\Engineering"],
        CONSUMER,
        ADFS_SSO,
    );
    let begun = bridge.begin_at(ACS_PATH, None);
    let response = idp.post_value(&adfs_response().answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let landed = bridge.landed(&reply, OWN_LANDING, "POST the AD FS response");
    assert_eq!(
        bridge.memberships("jdoe@corp.test"),
        "CORP\\Engineering|1\n"
    );
    assert_eq!(bridge.verify(&landed.token).groups, ["CORP\\Engineering"]);
}

/// Azure AD's tenant of the recipe test.
const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const ENGINEERING_ID: &str = "be9c7ccc-07c4-4149-8fa4-958ea36c9aba";
const SALES_ID: &str = "0d7a8a6e-3c3a-4f0b-9a59-2c1e0bb1e0c1";
const UNKNOWN_ID: &str = "6f1c2d3e-0000-4000-8000-00000000beef";

/// Azure AD federation metadata (the App Federation Metadata Url document): the STS
/// RoleDescriptor first, then the IDPSSODescriptor with the signing certificate and the SAML
/// endpoints.
fn azure_metadata(entity_id: &str, sso: &str) -> Vec<u8> {
    let bindings = [
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    ];
    metadata_with(entity_id, sso, &bindings)
}

/// [`azure_metadata`] whose SingleSignOnServices have `bindings`.
fn metadata_with(entity_id: &str, sso: &str, bindings: &[&str]) -> Vec<u8> {
    let services: String = bindings
        .iter()
        .map(|b| format!("<SingleSignOnService Binding=\"{b}\" Location=\"{sso}\"/>"))
        .collect();
    let cert: String = idp_cert()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <EntityDescriptor ID=\"_7a6f5c2e\" entityID=\"{entity_id}\" \
         xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">\
         <RoleDescriptor xsi:type=\"fed:SecurityTokenServiceType\" \
         protocolSupportEnumeration=\"http://docs.oasis-open.org/wsfed/federation/200706\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:fed=\"http://docs.oasis-open.org/wsfed/federation/200706\">\
         <KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
         <X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>\
         <fed:ClaimTypesOffered><auth:ClaimType Uri=\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name\" \
         xmlns:auth=\"http://docs.oasis-open.org/wsfed/authorization/200706\"/></fed:ClaimTypesOffered>\
         <fed:PassiveRequestorEndpoint><EndpointReference xmlns=\"http://www.w3.org/2005/08/addressing\">\
         <Address>https://login.microsoftonline.com/{TENANT}/wsfed</Address></EndpointReference>\
         </fed:PassiveRequestorEndpoint></RoleDescriptor>\
         <IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
         <X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>\
         <SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://login.microsoftonline.com/{TENANT}/saml2\"/>\
         {services}</IDPSSODescriptor></EntityDescriptor>"
    )
    .into_bytes()
}

/// Waits (10 s at most) until the server has the IdP metadata in service.
fn wait_for_metadata(bridge: &Bridge) {
    for _ in 0..100 {
        let health = bridge.get("/healthz", &[]);
        if health.status == 200 && health.body.contains("\"status\":\"ok\"") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "the IdP metadata never came into service:\n{}",
        bridge.server.log()
    );
}

#[test]
fn seed_004_azure_recipe_as_written() {
    let Some(idp) = Idp::new("seed_004_azure_recipe_as_written") else {
        return;
    };
    let azure = format!("https://sts.windows.net/{TENANT}/");
    let sso = format!("https://login.microsoftonline.com/{TENANT}/saml2");
    let metadata = MetadataServer::start(azure_metadata(&azure, &sso));
    let url = metadata.url();
    // The metadata scenario, the consumer URL, and the groups claim mapped.
    let settings = [
        ("SAML_METADATA_URL", url.as_str()),
        ("SAML_CONSUMER_URL", CONSUMER),
        ("SAML_USER_GROUPS_ATTRIBUTE", "groups"),
    ];
    let bridge = Bridge::start_exactly(&settings, &[], CONSUMER, &sso);
    bridge
        .instance
        .fedbridge_ok(&["groups", "add", "Engineering", "--idp-id", ENGINEERING_ID]);
    bridge.instance.fedbridge_ok(&["groups", "add", "Sales"]);
    // SQL works too, here in another letter case.
    bridge.instance.sqlite3(&format!(
        "INSERT INTO group_idp_ids (group_id, idp_id) SELECT id, '{}' FROM groups \
         WHERE name = 'Sales'",
        SALES_ID.to_uppercase()
    ));
    let listing = bridge.instance.fedbridge_ok(&["groups", "list"]);
    assert!(listing.contains(ENGINEERING_ID), "{listing}");
    wait_for_metadata(&bridge);

    // The Sign-on URL is the consumer URL: Azure's "Test sign-in" and My Apps GET it.
    let begun = bridge.begin_at(ACS_PATH, None);
    let response = idp.post_value(
        &Assertion::about("alice@corp.test")
            .name_id_format(EMAIL_ADDRESS)
            .issuer(&azure)
            .audience(CONSUMER)
            .claim(
                "http://schemas.microsoft.com/identity/claims/tenantid",
                &[TENANT],
            )
            .claim(
                "http://schemas.microsoft.com/identity/claims/displayname",
                &["Alice Example"],
            )
            .claim(
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                &[ENGINEERING_ID, SALES_ID, UNKNOWN_ID],
            )
            .claim(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                &["alice@corp.test"],
            )
            .answering(&begun.request_id),
    );
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let landed = bridge.landed(&reply, OWN_LANDING, "POST the Azure AD response");
    assert_eq!(
        bridge.memberships("alice@corp.test"),
        "Engineering|1\nSales|1\n"
    );
    let claims = bridge.verify(&landed.token);
    assert_eq!(claims.groups, ["Engineering", "Sales"]);
    assert_eq!(bridge.last_flags(), "accepted||unknown_groups");
    assert!(
        bridge.last_audit().contains(UNKNOWN_ID),
        "{}",
        bridge.last_audit()
    );
}

#[test]
fn get_of_the_consumer_url_starts_an_sp_initiated_login() {
    let Some(idp) = Idp::new("get_of_the_consumer_url_starts_an_sp_initiated_login") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let target = "https://app.example.test/portal/reports";
    let begun = bridge.begin_at(ACS_PATH, Some(target));
    assert_eq!(
        bridge.instance.sqlite3(&format!(
            "SELECT target FROM outstanding_requests WHERE request_id = '{}'",
            begun.request_id
        )),
        format!("{target}\n")
    );
    let response = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.landed(
        &reply,
        target,
        "POST the response to the login the GET started",
    );
    // The same refusals as /saml/login: a target outside the allow-list.
    let reply = bridge.get(
        &format!("{ACS_PATH}?target=https%3A%2F%2Fevil.example%2F"),
        &[],
    );
    assert_eq!(
        reply.status,
        400,
        "{}",
        bridge.why("GET ACS?target=evil", &reply)
    );
}

#[test]
fn automatic_login_does_not_send_a_signed_in_user_back_to_the_idp() {
    let Some(idp) = Idp::new("automatic_login_does_not_send_a_signed_in_user_back_to_the_idp")
    else {
        return;
    };
    // No downstream application: a login without target lands on fedbridge's own `/`.
    let bridge = Bridge::start(&[
        ("SAML_AUTOMATIC_LOGIN", "1"),
        ("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", "[]"),
    ]);
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let landed = bridge.landed(&reply, OWN_LANDING, "POST the response");
    // A token in the address is never adopted: 303 to the same page without it (issue 11).
    let reply = bridge.get(&format!("/?xsession={}", landed.token), &[]);
    assert_eq!(
        (reply.status, reply.location.as_str()),
        (303, "/"),
        "{}",
        bridge.why("GET /?xsession=", &reply)
    );
    // The landing page with the session cookie the login set: the signed-in page, not a new
    // trip to the IdP.
    let cookie = format!("xsession={}", landed.token);
    let reply = bridge.get("/", &[("Cookie", cookie.as_str())]);
    assert_eq!(
        reply.status,
        200,
        "{}",
        bridge.why("GET / with the session cookie", &reply)
    );
    assert!(reply.body.contains("Alice Example"), "{}", reply.body);
    assert_eq!(
        bridge.count("outstanding_requests"),
        0,
        "no new AuthnRequest was made"
    );
    // Another browser, anonymous: straight to the IdP as before.
    let anonymous = crate::support::reply(browser().get(bridge.server.url("/")).call());
    assert_eq!(
        anonymous.location,
        "/saml/login",
        "{}",
        bridge.why("GET / anonymous", &anonymous)
    );
    // A logout lands on the login page, which does not send the browser straight back to the
    // IdP (whose own session is still open: that would sign the person in again at once).
    let logout = bridge.post_form("/logout", &[("xsession", landed.token.as_str())], &[]);
    assert_eq!(
        (logout.status, logout.location.as_str()),
        (303, "/?signed_out=1"),
        "{}",
        bridge.why("POST /logout", &logout)
    );
    let page = crate::support::reply(browser().get(bridge.server.url(&logout.location)).call());
    assert_eq!(
        page.status,
        200,
        "{}",
        bridge.why("the page a logout lands on", &page)
    );
    assert!(page.body.contains("You have signed out."), "{}", page.body);
    assert!(page.body.contains("Log in using SSO"), "{}", page.body);
}

#[test]
fn an_idp_offering_only_http_post_gets_an_auto_posted_signed_authn_request() {
    let Some(idp) =
        Idp::new("an_idp_offering_only_http_post_gets_an_auto_posted_signed_authn_request")
    else {
        return;
    };
    let entity = "https://idp.post-only.test/metadata";
    let sso = "https://idp.post-only.test/sso";
    let metadata = MetadataServer::start(metadata_with(
        entity,
        sso,
        &["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"],
    ));
    let url = metadata.url();
    let keys = xmlsec_dir().join("keys");
    let sp_key = String::from_utf8(read(keys.join("sp-enc.key"))).unwrap();
    let sp_cert = String::from_utf8(read(keys.join("sp-enc.crt"))).unwrap();
    let settings = [
        ("SAML_METADATA_URL", url.as_str()),
        ("SAML_CONSUMER_URL", CONSUMER),
        ("FEDBRIDGE_SP_PRIVATE_KEY", sp_key.as_str()),
        ("FEDBRIDGE_SP_CERTIFICATE", sp_cert.as_str()),
    ];
    let bridge = Bridge::start_exactly(&settings, &[], CONSUMER, sso);
    wait_for_metadata(&bridge);

    let reply = bridge.get("/saml/login", &[]);
    assert_eq!(
        reply.status,
        200,
        "{}",
        bridge.why("GET /saml/login", &reply)
    );
    let form = &reply.body;
    assert!(
        form.contains(&format!("<form method=\"post\" action=\"{sso}\">")),
        "{form}"
    );
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = form
            .find(&marker)
            .unwrap_or_else(|| panic!("{name}: {form}"))
            + marker.len();
        form[start..start + form[start..].find('"').unwrap()].to_owned()
    };
    let (saml_request, relay_state) = (field("SAMLRequest"), field("RelayState"));
    // The page runs exactly its one script, allowed by its hash.
    let script = form
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let hash =
        base64::engine::general_purpose::STANDARD.encode(openssl::sha::sha256(script.as_bytes()));
    assert!(
        reply_header_csp(&bridge).contains(&format!("script-src 'sha256-{hash}'")),
        "{}",
        reply_header_csp(&bridge)
    );

    // The request: for this IdP, from us, remembered, and signed (xmlsec1 verifies it).
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&saml_request)
            .unwrap(),
    )
    .unwrap();
    let doc = xml::parse(xml.as_bytes(), 1 << 16).unwrap();
    let request = doc.root().unwrap();
    assert_eq!(request.attr("Destination").as_deref(), Some(sso));
    assert_eq!(
        request.attr("AssertionConsumerServiceURL").as_deref(),
        Some(CONSUMER)
    );
    let request_id = request.attr("ID").unwrap().into_owned();
    assert_eq!(
        bridge.instance.sqlite3(&format!(
            "SELECT count(*) FROM outstanding_requests WHERE request_id = '{request_id}'"
        )),
        "1\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (file, cert) = (dir.path().join("request.xml"), dir.path().join("sp.crt"));
    std::fs::write(&file, &xml).unwrap();
    std::fs::write(&cert, &sp_cert).unwrap();
    let verified = std::process::Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(&cert)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "xmlsec1 refuses the AuthnRequest signature: {}\n{xml}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // The IdP answers it: the login completes.
    let response = idp.post_value(
        &Assertion::about("alice@post-only.test")
            .issuer(entity)
            .audience(CONSUMER)
            .answering(&request_id),
    );
    let reply = bridge.post_response(&response, Some(&relay_state));
    bridge.landed(
        &reply,
        OWN_LANDING,
        "POST the response to the posted request",
    );
}

/// The Content-Security-Policy of `GET /saml/login`.
fn reply_header_csp(bridge: &Bridge) -> String {
    let response = bridge
        .browser
        .get(bridge.server.url("/saml/login"))
        .call()
        .unwrap();
    response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
