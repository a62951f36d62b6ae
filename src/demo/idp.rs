//! The development IdP of `fedbridge demo`: a minimal SAML 2.0 identity provider with sample
//! users and shown passwords, for trying fedbridge on one machine. Never for production: every
//! page says so, and the demo refuses to listen on anything but loopback.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | what this is, the sample users, the metadata link |
//! | `GET /metadata` | the IdP metadata (entityID, signing certificate, SSO URL) |
//! | `GET /sso` | an AuthnRequest (HTTP-Redirect binding) -> the login form |
//! | `POST /sso` | the login form -> a page that POSTs the signed Response to the ACS |
//!
//! The IdP keeps no state: the login form carries the request ID and the RelayState. It serves
//! exactly one SP (fedbridge's entityID and consumer URL, fixed at start) and refuses requests
//! from any other.

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509NameBuilder};
use serde::Deserialize;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::clock::{Clock, SystemClock};
use crate::saml::authn_request::decode_redirect;
use crate::saml::metadata::{HTTP_POST, HTTP_REDIRECT};
use crate::saml::ns::{MD, SAML, SAMLP};
use crate::saml::xml::{self, escape};
use crate::saml::xmldsig::DSIG_NS;
use crate::saml::xmldsig::sign::{SignError, sign_enveloped};
use crate::web::pages;

/// The banner of every page.
pub const BANNER: &str = "Development IdP \u{2013} for trying fedbridge only, never for production";

/// The NameID format of the responses.
pub const NAME_ID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// The attribute holding the user's full name.
pub const ATTRIBUTE_FULL_NAME: &str = "displayname";
/// The attribute holding the user's e-mail address.
pub const ATTRIBUTE_EMAIL: &str = "email";
/// The attribute holding the user's groups (one value per group).
pub const ATTRIBUTE_GROUPS: &str = "groups";

/// How long a response (the bearer confirmation and the conditions) is valid.
const VALIDITY: Duration = Duration::minutes(5);
/// How far back `NotBefore` lies, for clocks a little ahead of ours.
const NOT_BEFORE_SLACK: Duration = Duration::seconds(30);
/// Longest request ID or RelayState taken over into the form.
const MAX_FIELD: usize = 1024;

/// A sample user of the development IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleUser {
    /// What is typed into the login form.
    pub username: &'static str,
    /// The sample password, shown on the login page.
    pub password: &'static str,
    /// The full name (the `displayname` attribute).
    pub full_name: &'static str,
    /// The e-mail address: the NameID and the `email` attribute.
    pub email: &'static str,
    /// The groups (the multi-valued `groups` attribute).
    pub groups: &'static [&'static str],
}

/// The sample users: alice (Engineering, Staff) and bob (Sales, Staff).
pub const SAMPLE_USERS: &[SampleUser] = &[
    SampleUser {
        username: "alice",
        password: "alice-password",
        full_name: "Alice Example",
        email: "alice@demo.example",
        groups: &["Engineering", "Staff"],
    },
    SampleUser {
        username: "bob",
        password: "bob-password",
        full_name: "Bob Example",
        email: "bob@demo.example",
        groups: &["Sales", "Staff"],
    },
];

/// Every group some sample user is in, sorted, without duplicates.
pub fn sample_groups() -> Vec<String> {
    let mut groups: Vec<String> = SAMPLE_USERS
        .iter()
        .flat_map(|u| u.groups.iter().map(|g| (*g).to_owned()))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// A fresh RSA-2048 key and a self-signed certificate for it (valid for a year).
pub fn generate_credentials() -> Result<(PKey<Private>, X509), openssl::error::ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("O", "fedbridge demo")?;
    name.append_entry_by_text("CN", "Development IdP (never for production)")?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(365)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((key, builder.build()))
}

/// The development IdP: its addresses, the one SP it serves and its signing credentials.
/// Register it as `web::Data<DevIdp>` next to [`configure`].
pub struct DevIdp {
    base_url: String,
    sp_entity_id: String,
    acs_url: String,
    key: PKey<Private>,
    certificate: X509,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("base_url", &self.base_url)
            .field("sp_entity_id", &self.sp_entity_id)
            .field("acs_url", &self.acs_url)
            .finish_non_exhaustive()
    }
}

impl DevIdp {
    /// An IdP reachable at `base_url` (e.g. `http://127.0.0.1:8081`, no trailing slash) that
    /// serves the SP `sp_entity_id` with the consumer URL `acs_url`, signing with `key`.
    pub fn new(
        base_url: &str,
        sp_entity_id: &str,
        acs_url: &str,
        key: PKey<Private>,
        certificate: X509,
    ) -> DevIdp {
        DevIdp {
            base_url: base_url.trim_end_matches('/').to_owned(),
            sp_entity_id: sp_entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            key,
            certificate,
            clock: Arc::new(SystemClock),
        }
    }

    /// The entityID: the metadata URL.
    pub fn entity_id(&self) -> String {
        format!("{}/metadata", self.base_url)
    }

    /// The single sign-on URL (HTTP-Redirect binding).
    pub fn sso_url(&self) -> String {
        format!("{}/sso", self.base_url)
    }

    /// The signing certificate.
    pub fn certificate(&self) -> &X509 {
        &self.certificate
    }

    /// The IdP metadata: an `EntityDescriptor` with one `IDPSSODescriptor`, the signing
    /// certificate and the SSO endpoint.
    pub fn metadata_xml(&self) -> Result<String, openssl::error::ErrorStack> {
        let certificate =
            base64::engine::general_purpose::STANDARD.encode(self.certificate.to_der()?);
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!-- {banner} -->\n\
             <md:EntityDescriptor xmlns:md=\"{MD}\" xmlns:ds=\"{DSIG_NS}\" entityID=\"{entity}\">\
             <md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
             protocolSupportEnumeration=\"{SAMLP}\">\
             <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>\
             <ds:X509Certificate>{certificate}</ds:X509Certificate>\
             </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\
             <md:NameIDFormat>{NAME_ID_EMAIL}</md:NameIDFormat>\
             <md:SingleSignOnService Binding=\"{HTTP_REDIRECT}\" Location=\"{sso}\"/>\
             </md:IDPSSODescriptor>\
             </md:EntityDescriptor>\n",
            banner = "Development IdP - for trying fedbridge only, never for production",
            entity = escape(&self.entity_id()),
            sso = escape(&self.sso_url()),
        ))
    }

    /// The signed Response (the Assertion signed, enveloped) that logs `user` in, answering the
    /// request `request_id`, issued at `now`.
    pub fn response_xml(
        &self,
        user: &SampleUser,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<String, IdpError> {
        let response_id = random_id()?;
        let assertion_id = random_id()?;
        let session_index = random_id()?;
        let instant = timestamp(now);
        let not_after = timestamp(now + VALIDITY);
        let not_before = timestamp(now - NOT_BEFORE_SLACK);
        let issuer = escape(&self.entity_id());
        let acs = escape(&self.acs_url);
        let in_response_to = escape(request_id);
        let mut attributes = String::new();
        let values: [(&str, Vec<&str>); 3] = [
            (ATTRIBUTE_FULL_NAME, vec![user.full_name]),
            (ATTRIBUTE_EMAIL, vec![user.email]),
            (ATTRIBUTE_GROUPS, user.groups.to_vec()),
        ];
        for (name, values) in values {
            let _ = write!(
                attributes,
                "<saml:Attribute Name=\"{name}\" \
                 NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\">"
            );
            for value in values {
                let _ = write!(
                    attributes,
                    "<saml:AttributeValue>{}</saml:AttributeValue>",
                    escape(value)
                );
            }
            attributes.push_str("</saml:Attribute>");
        }
        let xml = format!(
            "<samlp:Response xmlns:samlp=\"{SAMLP}\" xmlns:saml=\"{SAML}\" ID=\"{response_id}\" \
             Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{acs}\" \
             InResponseTo=\"{in_response_to}\">\
             <saml:Issuer>{issuer}</saml:Issuer>\
             <samlp:Status><samlp:StatusCode \
             Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>\
             <saml:Assertion ID=\"{assertion_id}\" Version=\"2.0\" IssueInstant=\"{instant}\">\
             <saml:Issuer>{issuer}</saml:Issuer>\
             <saml:Subject>\
             <saml:NameID Format=\"{NAME_ID_EMAIL}\">{name_id}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
             <saml:SubjectConfirmationData InResponseTo=\"{in_response_to}\" \
             NotOnOrAfter=\"{not_after}\" Recipient=\"{acs}\"/>\
             </saml:SubjectConfirmation>\
             </saml:Subject>\
             <saml:Conditions NotBefore=\"{not_before}\" NotOnOrAfter=\"{not_after}\">\
             <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>\
             </saml:AudienceRestriction>\
             </saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{instant}\" SessionIndex=\"{session_index}\">\
             <saml:AuthnContext><saml:AuthnContextClassRef>\
             urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport\
             </saml:AuthnContextClassRef></saml:AuthnContext>\
             </saml:AuthnStatement>\
             <saml:AttributeStatement>{attributes}</saml:AttributeStatement>\
             </saml:Assertion>\
             </samlp:Response>",
            name_id = escape(user.email),
            audience = escape(&self.sp_entity_id),
        );
        Ok(sign_enveloped(
            &xml,
            &assertion_id,
            &self.key,
            &self.certificate,
        )?)
    }

    /// Reads an AuthnRequest sent with the HTTP-Redirect binding (`query`: the query string)
    /// and checks that it comes from the SP this IdP serves.
    pub fn read_request(&self, query: &str) -> Result<IncomingRequest, IdpError> {
        let decoded = decode_redirect(query).map_err(|e| IdpError::BadRequest(e.to_string()))?;
        let doc = xml::parse(decoded.xml.as_bytes(), 64 * 1024)
            .map_err(|e| IdpError::BadRequest(format!("the SAMLRequest is not XML: {e}")))?;
        let root = doc
            .root()
            .filter(|r| r.is(SAMLP, "AuthnRequest"))
            .ok_or_else(|| IdpError::BadRequest("the SAMLRequest is not an AuthnRequest".into()))?;
        let id = root
            .attr("ID")
            .map(|id| id.into_owned())
            .unwrap_or_default();
        if !valid_field(&id) {
            return Err(IdpError::BadRequest(
                "the AuthnRequest has no usable ID".into(),
            ));
        }
        let issuer = root
            .first_child(SAML, "Issuer")
            .map(|i| i.text().trim().to_owned())
            .unwrap_or_default();
        if issuer != self.sp_entity_id {
            return Err(IdpError::UnknownSp(format!(
                "the request's Issuer is {issuer:?}; this IdP serves only {:?}",
                self.sp_entity_id
            )));
        }
        if let Some(acs) = root.attr("AssertionConsumerServiceURL")
            && acs != self.acs_url
        {
            return Err(IdpError::UnknownSp(format!(
                "the request's AssertionConsumerServiceURL is {acs:?}; this IdP answers only to {:?}",
                self.acs_url
            )));
        }
        if let Some(binding) = root.attr("ProtocolBinding")
            && binding != HTTP_POST
        {
            return Err(IdpError::BadRequest(format!(
                "the ProtocolBinding {binding:?} is not supported (only HTTP-POST)"
            )));
        }
        let relay_state = decoded.relay_state.unwrap_or_default();
        if relay_state.len() > MAX_FIELD {
            return Err(IdpError::BadRequest("the RelayState is too long".into()));
        }
        Ok(IncomingRequest { id, relay_state })
    }
}

/// An AuthnRequest the IdP accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRequest {
    /// The request ID (the response's `InResponseTo`).
    pub id: String,
    /// The RelayState, returned as is ("" when absent).
    pub relay_state: String,
}

/// Why the IdP refused to answer.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// The request is not a usable AuthnRequest.
    #[error("{0}")]
    BadRequest(String),
    /// The request comes from an SP (or names an ACS) this IdP does not serve.
    #[error("{0}")]
    UnknownSp(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(#[from] SignError),
    /// OpenSSL failed.
    #[error("openssl: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// Registers the IdP's routes; a `web::Data<DevIdp>` must be registered on the app.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/").route(web::get().to(index)))
        .service(web::resource(pages::STYLESHEET_PATH).route(web::get().to(pages::stylesheet)))
        .service(web::resource("/metadata").route(web::get().to(metadata)))
        .service(
            web::resource("/sso")
                .route(web::get().to(sso_start))
                .route(web::post().to(sso_login)),
        );
}

/// `GET /`.
async fn index(idp: web::Data<DevIdp>) -> HttpResponse {
    let body = format!(
        "<p>This is a minimal SAML 2.0 identity provider started by <code>fedbridge demo</code>. \
         Its sample users and passwords are shown to everyone; its key is made afresh at every \
         start.</p>\
         <h2>Sample users</h2>{users}\
         <p>Metadata: <a href=\"/metadata\">{metadata}</a><br>\
         Single sign-on (HTTP-Redirect): {sso}<br>\
         Serves one SP: {sp}</p>\
         <p>To log in, start at fedbridge (\u{201c}Log in using SSO\u{201d}).</p>",
        users = users_table(),
        metadata = escape(&idp.entity_id()),
        sso = escape(&idp.sso_url()),
        sp = escape(&idp.sp_entity_id),
    );
    page(StatusCode::OK, "Development IdP", &body, None)
}

/// `GET /metadata`.
async fn metadata(idp: web::Data<DevIdp>) -> HttpResponse {
    match idp.metadata_xml() {
        Ok(xml) => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            ))
            .body(xml),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the development IdP's metadata");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "<p>The metadata cannot be rendered; see the log.</p>",
                None,
            )
        }
    }
}

/// `GET /sso`: the AuthnRequest -> the login form.
async fn sso_start(idp: web::Data<DevIdp>, req: HttpRequest) -> HttpResponse {
    match idp.read_request(req.query_string()) {
        Ok(request) => login_form(&request.id, &request.relay_state, "", None),
        Err(e) => refused(&e),
    }
}

/// The fields of the login form.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    relay_state: String,
}

/// `POST /sso`: checks the sample password, then answers with the auto-posting page.
async fn sso_login(idp: web::Data<DevIdp>, form: web::Form<LoginForm>) -> HttpResponse {
    let form = form.into_inner();
    if !valid_field(&form.request_id) || form.relay_state.len() > MAX_FIELD {
        return refused(&IdpError::BadRequest(
            "the login form lost the request; start the login again at fedbridge".into(),
        ));
    }
    let user = SAMPLE_USERS
        .iter()
        .find(|u| u.username == form.username.trim() && u.password == form.password);
    let Some(user) = user else {
        return login_form(
            &form.request_id,
            &form.relay_state,
            form.username.trim(),
            Some("Unknown user or wrong password. The sample passwords are shown below."),
        );
    };
    match idp.response_xml(user, &form.request_id, idp.clock.now()) {
        Ok(xml) => {
            tracing::info!(user = user.username, "development IdP: signed a response");
            auto_post(&idp.acs_url, &xml, &form.relay_state)
        }
        Err(e) => {
            tracing::error!(error = %e, "the development IdP cannot build a response");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "<p>The response cannot be built; see the log.</p>",
                None,
            )
        }
    }
}

/// The login form, carrying the request in hidden fields.
fn login_form(
    request_id: &str,
    relay_state: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let error = error
        .map(|e| format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/sso\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\
         <input type=\"hidden\" name=\"relay_state\" value=\"{relay_state}\">\
         <div class=\"field\"><label for=\"username\">User name</label>\
         <input id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"off\" \
         autofocus required></div>\
         <div class=\"field\"><label for=\"password\">Password</label>\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"off\" \
         required></div>\
         <p><button type=\"submit\">Log in</button></p>\
         </form>\
         <h2>Sample users</h2>{users}",
        request_id = escape(request_id),
        relay_state = escape(relay_state),
        username = escape(username),
        users = users_table(),
    );
    page(StatusCode::OK, "Log in to the development IdP", &body, None)
}

/// The page that POSTs the response to the ACS: at once with a script (allowed by its CSP
/// nonce), or with the visible "Continue" button without scripts.
fn auto_post(acs_url: &str, response_xml: &str, relay_state: &str) -> HttpResponse {
    let encoded = base64::engine::general_purpose::STANDARD.encode(response_xml);
    let relay = if relay_state.is_empty() {
        String::new()
    } else {
        format!(
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\">",
            escape(relay_state)
        )
    };
    let body = format!(
        "<p>Logged in. Sending you back to fedbridge\u{2026}</p>\
         <form id=\"saml\" method=\"post\" action=\"{acs}\">\
         <input type=\"hidden\" name=\"SAMLResponse\" value=\"{encoded}\">{relay}\
         <p><button type=\"submit\">Continue</button></p>\
         </form>",
        acs = escape(acs_url),
    );
    page(
        StatusCode::OK,
        "Continue to fedbridge",
        &body,
        Some("document.getElementById(\"saml\").submit();"),
    )
}

/// A refusal page (400), the reason escaped.
fn refused(error: &IdpError) -> HttpResponse {
    let body = format!(
        "<p class=\"notice error\" role=\"alert\">{}</p>\
         <p>Start the login at fedbridge (\u{201c}Log in using SSO\u{201d}).</p>",
        escape(&error.to_string())
    );
    let status = match error {
        IdpError::BadRequest(_) | IdpError::UnknownSp(_) => StatusCode::BAD_REQUEST,
        IdpError::Sign(_) | IdpError::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(status, "Request refused", &body, None)
}

/// The sample users as a table.
fn users_table() -> String {
    let mut rows = String::new();
    for user in SAMPLE_USERS {
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(user.username),
            escape(user.password),
            escape(user.full_name),
            escape(&user.groups.join(", ")),
        );
    }
    format!(
        "<div class=\"table-wrap\"><table><thead><tr><th>User name</th><th>Password</th>\
         <th>Full name</th><th>Groups</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}

/// A page with the development banner, in fedbridge's layout and stylesheet (served by the IdP
/// itself at the same path). `script`: the one inline script to run (allowed by a fresh CSP
/// nonce); no other script runs. Forms may only post to this IdP, except on a page with a script
/// (the auto-post page: the ACS, and wherever it redirects).
fn page(status: StatusCode, title: &str, body: &str, script: Option<&str>) -> HttpResponse {
    let Ok(nonce) = nonce() else {
        return HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body("no random numbers");
    };
    let (csp, script) = match script {
        Some(script) => (
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; \
                 frame-ancestors 'none'"
            ),
            format!("<script nonce=\"{nonce}\">{script}</script>"),
        ),
        None => (
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
                .to_owned(),
            String::new(),
        ),
    };
    let content = format!(
        "<div class=\"card\">\n<h1>{}</h1>\n{body}{script}\n</div>",
        escape(title)
    );
    let html = pages::document(&pages::Layout {
        brand: "Development IdP",
        brand_sub: Some("fedbridge demo"),
        banner: Some(BANNER),
        width: pages::Width::Wide,
        ..pages::Layout::plain(title, &content)
    });
    // fedbridge's HTML headers (no cache, no sniffing, no script), then this page's own CSP.
    pages::html_with_csp(HttpResponse::build(status), html, &csp)
}

/// A request ID (or similar token) fit to echo: 1 to [`MAX_FIELD`] printable characters.
fn valid_field(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_FIELD && !value.chars().any(char::is_control)
}

/// A fresh XML ID: `_` and 32 hex digits.
fn random_id() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    let mut id = String::with_capacity(33);
    id.push('_');
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    Ok(id)
}

/// A fresh CSP nonce (base64 of 16 random bytes).
fn nonce() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `xs:dateTime` in UTC, whole seconds.
fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}
