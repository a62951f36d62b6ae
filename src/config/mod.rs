//! Settings: the rows of `CONFIGURATIONENTITY` -> one typed [`Config`].
//!
//! Pure: no database, no network. Every key is defined once, as data, in
//! `config-schema/settings.toml` ([`schema`]); the loader parses each value by its schema type,
//! applies the cross-key rules below, fills defaults from the schema and reports every problem
//! at once, each naming the key, what is wrong and a correct example.
//!
//! # Rules
//! - `SAML_METADATA_URL` set: metadata scenario; `SAML_REDIRECT_URL` and
//!   `SAML_SIGNING_CERTIFICATE` are ignored (with a warning when set).
//! - Otherwise both `SAML_REDIRECT_URL` and `SAML_SIGNING_CERTIFICATE` are required; with
//!   neither scenario, one problem names the keys.
//! - `SAML_CONSUMER_URL` is mandatory.
//! - `FEDBRIDGE_SP_PRIVATE_KEY` and `FEDBRIDGE_SP_CERTIFICATE`: both or neither, and matching.

mod admission;
pub mod display;
pub mod keys;
mod load;
mod reference;
pub mod rules;
pub mod schema;
pub mod value;

use std::collections::BTreeMap;
use std::fmt;

use time::Duration;
use url::Url;

pub use self::admission::{Admission, admission};
pub use self::reference::reference_table;
pub use self::value::{AbsoluteUrl, IpNetwork, RateLimit};
use crate::saml::metadata::{SsoBinding, SsoEndpoint};
use crate::saml::{AlgorithmPolicy, DecryptionKey, SigningKey, SpSettings, TrustedIdp};
use crate::token::Algorithm;

/// Loads the settings from the rows of `CONFIGURATIONENTITY`: a key mapped to `None` is a row
/// whose value is SQL NULL; a key that is missing has no row. Returns the typed config and the
/// warnings (unknown keys, ignored settings, insecure options), or every problem found.
pub fn load(rows: &BTreeMap<String, Option<String>>) -> Result<Loaded, Vec<Problem>> {
    match schema::schema() {
        Ok(schema) => load::load(schema, rows),
        Err(e) => Err(vec![Problem {
            key: "config-schema".into(),
            message: e.to_string(),
            example: None,
            missing: false,
        }]),
    }
}

/// A valid configuration and what is worth telling the administrator about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed settings.
    pub config: Config,
    /// Not fatal: unknown keys, settings ignored by a rule, insecure options switched on.
    pub warnings: Vec<Problem>,
}

/// One thing wrong with a setting (or worth a warning), said so an administrator can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's `NAME`.
    pub key: String,
    /// What is wrong, e.g. `'ftp://x' is not an absolute http(s) URL`. Secret values are never
    /// quoted.
    pub message: String,
    /// A correct value.
    pub example: Option<String>,
    /// A setting this configuration needs has no value yet: the configuration is incomplete
    /// rather than wrong (first setup may go on; see [`admission`]). `false` for everything
    /// else: a bad value, a clash between settings, half of a pair.
    pub missing: bool,
}

impl Problem {
    /// A problem with `def`, illustrated by its schema example.
    pub fn about(def: &schema::SettingDef, message: String) -> Problem {
        Problem {
            key: def.name.clone(),
            message,
            example: Some(def.example.clone()),
            missing: false,
        }
    }

    /// `def` is required here and has no value ([`Problem::missing`] is true).
    pub fn missing(def: &schema::SettingDef, message: String) -> Problem {
        Problem {
            missing: true,
            ..Problem::about(def, message)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)?;
        if let Some(example) = &self.example {
            write!(f, "; e.g. {example}")?;
        }
        Ok(())
    }
}

/// Every setting, parsed and defaulted.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the IdP's SSO URL and signing keys come from.
    pub idp: IdpSource,
    /// `SAML_CONSUMER_URL`: our ACS URL as the IdP sees it, exactly as configured (it is compared
    /// with `Destination` and `Recipient` as a string).
    pub consumer_url: AbsoluteUrl,
    /// `FEDBRIDGE_SP_ENTITY_ID`: our entityID, the expected `Audience`.
    pub sp_entity_id: String,
    /// `SAML_USER_ID_ATTRIBUTE`: the attribute holding the login name; `None`: the NameID.
    pub user_id_attribute: Option<String>,
    /// `SAML_AUTOMATIC_LOGIN`: the login page redirects to the IdP at once.
    pub automatic_login: bool,
    /// `FEDERATEDLY_MANAGED_GROUPS`: which groups login reconciles.
    pub managed_groups: ManagedGroups,
    /// The attributes mapped to the user's fields.
    pub attributes: AttributeMapping,
    /// `FEDBRIDGE_SP_PRIVATE_KEY` + `FEDBRIDGE_SP_CERTIFICATE`, when configured.
    pub sp_key_pair: Option<SpKeyPair>,
    /// `FEDBRIDGE_CLOCK_SKEW`: allowed difference between the IdP's clock and ours.
    pub clock_skew: Duration,
    /// `FEDBRIDGE_ALLOW_IDP_INITIATED`: accept unsolicited responses.
    pub allow_idp_initiated: bool,
    /// `FEDBRIDGE_EXIT_URL`: where logout ends; `None`: our login page.
    pub exit_url: Option<AbsoluteUrl>,
    /// The xsession token settings.
    pub xsession: XsessionSettings,
    /// `FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS`, normalised (`https://host/` for an origin): where a
    /// login may end besides our own origin. Use [`Config::allowed_target`] to check a target.
    pub allowed_downstream: Vec<String>,
    /// `FEDBRIDGE_METADATA_REFRESH`: how often the IdP metadata is fetched again.
    pub metadata_refresh: Duration,
    /// `FEDBRIDGE_MAX_RESPONSE_BYTES`: larger SAML responses are refused before parsing.
    pub max_response_bytes: usize,
    /// `FEDBRIDGE_INSECURE_ALLOW_SHA1`: accept SHA-1 digests and signatures.
    pub insecure_allow_sha1: bool,
    /// `FEDBRIDGE_CREATE_MISSING_GROUPS`: create managed groups the IdP names but we lack.
    pub create_missing_groups: bool,
    /// `FEDBRIDGE_INTROSPECTION_SECRET`: the introspection clients' shared secret.
    pub introspection_secret: Option<SecretString>,
    /// `FEDBRIDGE_MAX_GROUP_REMOVALS`: more removals in one login are held and flagged.
    pub max_group_removals: usize,
    /// `FEDBRIDGE_LOGIN_NAME_MATCH`.
    pub login_name_match: LoginNameMatch,
    /// `FEDBRIDGE_EXISTING_USERS_ONLY`: no user is created at login.
    pub existing_users_only: bool,
    /// `FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS`: the Assertion's own signature is required.
    pub require_signed_assertions: bool,
    /// `FEDBRIDGE_AUTHN_REQUEST_BINDING`.
    pub authn_request_binding: AuthnRequestBinding,
    /// `FEDBRIDGE_ADMIN_GROUPS`: members of these groups may use the admin console.
    pub admin_groups: Vec<String>,
    /// `FEDBRIDGE_METRICS_TOKEN`: the scraper's Bearer token for `/metrics`.
    pub metrics_token: Option<SecretString>,
    /// `FEDBRIDGE_CERT_EXPIRY_WARNING`: certificates and keys expiring within it are warned of.
    pub cert_expiry_warning: Duration,
    /// `FEDBRIDGE_PRODUCT_NAME`: the name on the login page; `None`: fedbridge.
    pub product_name: Option<String>,
    /// The limits of the HTTP edge (issue 11).
    pub edge: EdgeSettings,
    /// `FEDBRIDGE_AUDIT_RETENTION`: how long login audit rows are kept.
    pub audit_retention: Duration,
    /// `FEDBRIDGE_DATABASE_WAIT`: how long a request waits for the database.
    pub database_wait: Duration,
    /// `FEDBRIDGE_HEALTH_SECRET`: unlocks the health details over HTTP.
    pub health_secret: Option<SecretString>,
    /// `FEDBRIDGE_MAX_METADATA_BYTES`: the largest IdP metadata document.
    pub max_metadata_bytes: usize,
}

/// What the HTTP edge allows: body reading, rate limits, the clients behind proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeSettings {
    /// `FEDBRIDGE_REQUEST_BODY_TIMEOUT`: the deadline of one request body.
    pub body_timeout: Duration,
    /// `FEDBRIDGE_BODY_MEMORY_BUDGET`: bytes all bodies in flight may take.
    pub body_memory_budget: usize,
    /// `FEDBRIDGE_MAX_BODIES_PER_CLIENT`: bodies in flight per client.
    pub max_bodies_per_client: usize,
    /// `FEDBRIDGE_RATE_LIMIT_ACS`: refused ACS posts per client; `None`: off.
    pub rate_limit_acs: Option<RateLimit>,
    /// `FEDBRIDGE_RATE_LIMIT_LOGIN`: `/saml/login` per client; `None`: off.
    pub rate_limit_login: Option<RateLimit>,
    /// `FEDBRIDGE_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNetwork>,
    /// `FEDBRIDGE_MAX_OUTSTANDING_REQUESTS`: logins waiting for the IdP at once.
    pub max_outstanding_requests: u64,
}

/// Room in an ACS body beyond the encoded response: `RelayState`, field names, line breaks.
pub const FORM_OVERHEAD: usize = 16 * 1024;

/// The longest ACS body read for a response limit of `max_response_bytes`: base64 (4/3) plus
/// the URL-encoding of `+`, `/`, `=` and line breaks, with room to spare: `2 x limit + 16 KiB`.
/// The decoded limit itself is checked once decoded.
pub fn acs_body_cap(max_response_bytes: usize) -> usize {
    max_response_bytes
        .saturating_mul(2)
        .saturating_add(FORM_OVERHEAD)
}

impl Config {
    /// Our SP metadata, the document the IdP imports (`fedbridge metadata`, `GET
    /// /saml/metadata`): our entityID, the consumer URL as ACS, our certificate when a key pair
    /// is configured; `WantAssertionsSigned` as `FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS` says
    /// (without it, a Response signature covering the assertion is accepted).
    pub fn sp_metadata(&self) -> String {
        crate::saml::sp_metadata::render(
            &self.sp_entity_id,
            self.consumer_url.as_str(),
            self.sp_key_pair
                .as_ref()
                .map(|pair| pair.certificate_pem.as_str()),
            self.require_signed_assertions,
        )
    }
    /// fedbridge's own URL, the xsession `iss`: the origin of `SAML_CONSUMER_URL` (for example
    /// `https://sso.example.com`).
    pub fn issuer(&self) -> String {
        self.consumer_url.url().origin().ascii_serialization()
    }

    /// Whether fedbridge is reached over https (then the xsession cookie is `Secure`).
    pub fn is_https(&self) -> bool {
        self.consumer_url.url().scheme() == "https"
    }

    /// The longest ACS body read (see [`acs_body_cap`]).
    pub fn acs_body_cap(&self) -> usize {
        acs_body_cap(self.max_response_bytes)
    }

    /// The path where the ACS route is mounted: the path of `SAML_CONSUMER_URL`.
    pub fn acs_path(&self) -> &str {
        self.consumer_url.path()
    }

    /// The validator's settings for this configuration.
    pub fn sp_settings(&self) -> SpSettings {
        SpSettings {
            clock_skew: self.clock_skew,
            max_response_bytes: self.max_response_bytes,
            allow_unsolicited: self.allow_idp_initiated,
            algorithms: AlgorithmPolicy {
                insecure_allow_sha1: self.insecure_allow_sha1,
                insecure_allow_weak_rsa_keys: false,
            },
            decryption_keys: self
                .sp_key_pair
                .iter()
                .map(|pair| pair.private_key.clone())
                .collect(),
            // With the login name in an attribute, a Subject without NameID is enough (AD FS
            // sends none unless a claim rule makes one).
            name_id_required: self.user_id_attribute.is_none(),
            require_signed_assertion: self.require_signed_assertions,
            ..SpSettings::new(&self.sp_entity_id, self.consumer_url.as_str())
        }
    }

    /// Where AuthnRequests go in the public-key scenario (`SAML_REDIRECT_URL`, with the binding
    /// `FEDBRIDGE_AUTHN_REQUEST_BINDING` picks); `None` in the metadata scenario.
    pub fn pinned_sso(&self) -> Option<SsoEndpoint> {
        match &self.idp {
            IdpSource::Metadata { .. } => None,
            IdpSource::PublicKey { sso_url, .. } => Some(SsoEndpoint {
                binding: match self.authn_request_binding {
                    AuthnRequestBinding::Post => SsoBinding::Post,
                    AuthnRequestBinding::Auto | AuthnRequestBinding::Redirect => {
                        SsoBinding::Redirect
                    }
                },
                url: sso_url.as_str().to_owned(),
            }),
        }
    }

    /// The trusted IdP in the public-key scenario; `None` in the metadata scenario, where the
    /// keys come from the fetched metadata.
    pub fn pinned_idp(&self) -> Option<TrustedIdp> {
        match &self.idp {
            IdpSource::Metadata { .. } => None,
            IdpSource::PublicKey {
                certificates,
                entity_id,
                ..
            } => Some(TrustedIdp {
                entity_id: entity_id.clone(),
                signing_keys: certificates.clone(),
            }),
        }
    }

    /// The absolute URL to send the browser to for `target` (absolute, or relative to our
    /// origin), if it is allowed: on our own origin, or on an allowed downstream origin at or
    /// below the allowed path. `None` otherwise.
    pub fn allowed_target(&self, target: &str) -> Option<Url> {
        let url = self.consumer_url.url().join(target).ok()?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && plain_path(&url);
        if !plain {
            return None;
        }
        let own = url.origin() == self.consumer_url.url().origin();
        let listed = self
            .allowed_downstream
            .iter()
            .any(|prefix| prefix_allows(prefix, &url));
        (own || listed).then_some(url)
    }
}

/// Whether every segment of `url`'s path means what it says to any server behind it. `url`
/// already resolves literal and `%2e` dot segments; a segment whose decoded form holds a `/` or
/// `\\` (`/app/..%2fadmin`), a `%` (double encoding: `%252e%252e%252f`), a control character,
/// or whose part before `;` is `.` or `..` (Tomcat's `..;/`) could still climb out of a
/// downstream prefix once a server decodes it, and is refused.
fn plain_path(url: &Url) -> bool {
    let Some(segments) = url.path_segments() else {
        return false;
    };
    segments.into_iter().all(|segment| {
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
        let before_params = decoded.split(|b| *b == b';').next().unwrap_or_default();
        let climbs = before_params == b"." || before_params == b"..";
        let hides = decoded
            .iter()
            .any(|b| matches!(b, b'/' | b'\\' | b'%') || b.is_ascii_control());
        !climbs && !hides
    })
}

/// Whether the normalised downstream `prefix` allows `url`: same origin, and the path equal to
/// the prefix's or below it (segment-wise: `/app` allows `/app/x`, not `/application`).
fn prefix_allows(prefix: &str, url: &Url) -> bool {
    let Ok(prefix) = Url::parse(prefix) else {
        return false;
    };
    if prefix.origin() != url.origin() {
        return false;
    }
    let (p, t) = (prefix.path(), url.path());
    if p.ends_with('/') {
        t.starts_with(p)
    } else {
        t == p || t.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Where the IdP's SSO URL and signing keys come from.
#[derive(Debug, Clone)]
pub enum IdpSource {
    /// `SAML_METADATA_URL` is set: fetched (and refreshed) from the IdP's metadata.
    Metadata {
        /// `SAML_METADATA_URL`.
        url: AbsoluteUrl,
        /// `SAML_SERVER_ENTITY_IDENTIFIER`: picks the IdP in an aggregate.
        entity_id: Option<String>,
    },
    /// `SAML_REDIRECT_URL` and `SAML_SIGNING_CERTIFICATE` pinned in configuration.
    PublicKey {
        /// `SAML_REDIRECT_URL`: where AuthnRequests go.
        sso_url: AbsoluteUrl,
        /// `SAML_SIGNING_CERTIFICATE`: every trusted signing key (several during a rollover).
        certificates: Vec<SigningKey>,
        /// `SAML_SERVER_ENTITY_IDENTIFIER`: the expected Issuer; `None`: not compared.
        entity_id: Option<String>,
    },
}

impl IdpSource {
    /// `SAML_SERVER_ENTITY_IDENTIFIER`, in either scenario.
    pub fn entity_id(&self) -> Option<&str> {
        match self {
            IdpSource::Metadata { entity_id, .. } | IdpSource::PublicKey { entity_id, .. } => {
                entity_id.as_deref()
            }
        }
    }
}

/// `FEDERATEDLY_MANAGED_GROUPS`: the groups whose memberships login reconciles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedGroups {
    /// NULL or no row: every group.
    All,
    /// The listed groups only; `[]` is an empty list: no group.
    List(Vec<String>),
}

impl ManagedGroups {
    /// Whether login may add the user to `group` or remove them from it. Names compare exactly
    /// (case-sensitive), as written in the setting.
    pub fn is_managed(&self, group: &str) -> bool {
        match self {
            ManagedGroups::All => true,
            ManagedGroups::List(groups) => groups.iter().any(|g| g == group),
        }
    }
}

/// `FEDBRIDGE_AUTHN_REQUEST_BINDING`: how AuthnRequests go to the IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthnRequestBinding {
    /// HTTP-Redirect when the IdP offers it, else HTTP-POST (the default).
    Auto,
    /// HTTP-Redirect only.
    Redirect,
    /// HTTP-POST only.
    Post,
}

impl AuthnRequestBinding {
    /// The setting's value for `text` (`auto`, `redirect` or `post`).
    pub fn from_name(text: &str) -> Option<AuthnRequestBinding> {
        match text {
            "auto" => Some(AuthnRequestBinding::Auto),
            "redirect" => Some(AuthnRequestBinding::Redirect),
            "post" => Some(AuthnRequestBinding::Post),
            _ => None,
        }
    }

    /// The bindings acceptable in IdP metadata, preferred first.
    pub fn preference(self) -> &'static [SsoBinding] {
        match self {
            AuthnRequestBinding::Auto => &[SsoBinding::Redirect, SsoBinding::Post],
            AuthnRequestBinding::Redirect => &[SsoBinding::Redirect],
            AuthnRequestBinding::Post => &[SsoBinding::Post],
        }
    }
}

/// `FEDBRIDGE_LOGIN_NAME_MATCH`: how a login name finds its stored user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginNameMatch {
    /// Without regard to ASCII letter case (the default).
    CaseInsensitive,
    /// Letter for letter.
    Exact,
}

impl LoginNameMatch {
    /// The setting's value for `text` (`case_insensitive` or `exact`).
    pub fn from_name(text: &str) -> Option<LoginNameMatch> {
        match text {
            "case_insensitive" => Some(LoginNameMatch::CaseInsensitive),
            "exact" => Some(LoginNameMatch::Exact),
            _ => None,
        }
    }
}

/// The assertion attributes mapped to the user's fields; `None`: not mapped (left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeMapping {
    /// `SAML_USER_FULLNAME_ATTRIBUTE`.
    pub fullname: Option<String>,
    /// `SAML_USER_EMAIL_ATTRIBUTE`.
    pub email: Option<String>,
    /// `SAML_USER_GROUPS_ATTRIBUTE`; `None`: memberships are never touched.
    pub groups: Option<String>,
    /// `SAML_USER_DESCRIPTION_ATTRIBUTE`.
    pub description: Option<String>,
}

/// fedbridge's own key pair: decrypts assertions, signs requests, published in SP metadata.
#[derive(Debug, Clone)]
pub struct SpKeyPair {
    /// The RSA private key.
    pub private_key: DecryptionKey,
    /// The private key as configured (PEM).
    pub private_key_pem: SecretString,
    /// The key of the certificate (it matches `private_key`).
    pub certificate: SigningKey,
    /// The certificate as configured (PEM or base64), for the SP metadata.
    pub certificate_pem: String,
}

/// Settings of the xsession token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XsessionSettings {
    /// `FEDBRIDGE_XSESSION_LIFETIME`.
    pub lifetime: Duration,
    /// `FEDBRIDGE_XSESSION_AUDIENCE`: the `aud` claim.
    pub audience: String,
    /// `FEDBRIDGE_XSESSION_ALGORITHM`.
    pub algorithm: Algorithm,
}

/// A secret string whose `Debug` prints `[redacted]`, so it never reaches a log by accident.
/// No `PartialEq`: compare with [`SecretString::matches`], which takes constant time.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: String) -> SecretString {
        SecretString(secret)
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the secret, in time that depends only on the lengths.
    pub fn matches(&self, candidate: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), candidate.as_bytes());
        ours.len() == theirs.len() && openssl::memcmp::eq(ours, theirs)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests;
