//! The names of every setting, for code that reads one. A unit test checks that this list and
//! `config-schema/settings.toml` hold the same names.

/// IdP metadata URL (metadata scenario).
pub const SAML_METADATA_URL: &str = "SAML_METADATA_URL";
/// IdP entityID.
pub const SAML_SERVER_ENTITY_IDENTIFIER: &str = "SAML_SERVER_ENTITY_IDENTIFIER";
/// IdP SSO URL (public-key scenario).
pub const SAML_REDIRECT_URL: &str = "SAML_REDIRECT_URL";
/// IdP signing certificates (public-key scenario).
pub const SAML_SIGNING_CERTIFICATE: &str = "SAML_SIGNING_CERTIFICATE";
/// Our ACS URL.
pub const SAML_CONSUMER_URL: &str = "SAML_CONSUMER_URL";
/// Attribute holding the login name.
pub const SAML_USER_ID_ATTRIBUTE: &str = "SAML_USER_ID_ATTRIBUTE";
/// Redirect to the IdP at once.
pub const SAML_AUTOMATIC_LOGIN: &str = "SAML_AUTOMATIC_LOGIN";
/// Groups managed by federation.
pub const FEDERATEDLY_MANAGED_GROUPS: &str = "FEDERATEDLY_MANAGED_GROUPS";
/// Attribute mapped to the full name.
pub const SAML_USER_FULLNAME_ATTRIBUTE: &str = "SAML_USER_FULLNAME_ATTRIBUTE";
/// Attribute mapped to the e-mail address.
pub const SAML_USER_EMAIL_ATTRIBUTE: &str = "SAML_USER_EMAIL_ATTRIBUTE";
/// Attribute holding group names.
pub const SAML_USER_GROUPS_ATTRIBUTE: &str = "SAML_USER_GROUPS_ATTRIBUTE";
/// Attribute mapped to the description.
pub const SAML_USER_DESCRIPTION_ATTRIBUTE: &str = "SAML_USER_DESCRIPTION_ATTRIBUTE";
/// Our entityID.
pub const FEDBRIDGE_SP_ENTITY_ID: &str = "FEDBRIDGE_SP_ENTITY_ID";
/// Our private key.
pub const FEDBRIDGE_SP_PRIVATE_KEY: &str = "FEDBRIDGE_SP_PRIVATE_KEY";
/// Our certificate.
pub const FEDBRIDGE_SP_CERTIFICATE: &str = "FEDBRIDGE_SP_CERTIFICATE";
/// Allowed clock skew.
pub const FEDBRIDGE_CLOCK_SKEW: &str = "FEDBRIDGE_CLOCK_SKEW";
/// Accept IdP-initiated login.
pub const FEDBRIDGE_ALLOW_IDP_INITIATED: &str = "FEDBRIDGE_ALLOW_IDP_INITIATED";
/// Where logout ends.
pub const FEDBRIDGE_EXIT_URL: &str = "FEDBRIDGE_EXIT_URL";
/// xsession lifetime.
pub const FEDBRIDGE_XSESSION_LIFETIME: &str = "FEDBRIDGE_XSESSION_LIFETIME";
/// xsession `aud`.
pub const FEDBRIDGE_XSESSION_AUDIENCE: &str = "FEDBRIDGE_XSESSION_AUDIENCE";
/// xsession JWS algorithm.
pub const FEDBRIDGE_XSESSION_ALGORITHM: &str = "FEDBRIDGE_XSESSION_ALGORITHM";
/// Downstream URL allow-list.
pub const FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS: &str = "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS";
/// Metadata refresh interval.
pub const FEDBRIDGE_METADATA_REFRESH: &str = "FEDBRIDGE_METADATA_REFRESH";
/// Response size limit.
pub const FEDBRIDGE_MAX_RESPONSE_BYTES: &str = "FEDBRIDGE_MAX_RESPONSE_BYTES";
/// Accept SHA-1 (insecure).
pub const FEDBRIDGE_INSECURE_ALLOW_SHA1: &str = "FEDBRIDGE_INSECURE_ALLOW_SHA1";
/// Create groups named by the IdP.
pub const FEDBRIDGE_CREATE_MISSING_GROUPS: &str = "FEDBRIDGE_CREATE_MISSING_GROUPS";
/// Introspection client secret.
pub const FEDBRIDGE_INTROSPECTION_SECRET: &str = "FEDBRIDGE_INTROSPECTION_SECRET";
/// Removals one login may make.
pub const FEDBRIDGE_MAX_GROUP_REMOVALS: &str = "FEDBRIDGE_MAX_GROUP_REMOVALS";
/// How login names are matched.
pub const FEDBRIDGE_LOGIN_NAME_MATCH: &str = "FEDBRIDGE_LOGIN_NAME_MATCH";
/// No just-in-time user creation.
pub const FEDBRIDGE_EXISTING_USERS_ONLY: &str = "FEDBRIDGE_EXISTING_USERS_ONLY";
/// The Assertion's own signature is required.
pub const FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS: &str = "FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS";
/// How AuthnRequests are sent.
pub const FEDBRIDGE_AUTHN_REQUEST_BINDING: &str = "FEDBRIDGE_AUTHN_REQUEST_BINDING";

/// Groups whose members may use the admin console.
pub const FEDBRIDGE_ADMIN_GROUPS: &str = "FEDBRIDGE_ADMIN_GROUPS";
/// Bearer token of the metrics scraper.
pub const FEDBRIDGE_METRICS_TOKEN: &str = "FEDBRIDGE_METRICS_TOKEN";
/// Certificate expiry warning window.
pub const FEDBRIDGE_CERT_EXPIRY_WARNING: &str = "FEDBRIDGE_CERT_EXPIRY_WARNING";
/// Product or company name on the login page.
pub const FEDBRIDGE_PRODUCT_NAME: &str = "FEDBRIDGE_PRODUCT_NAME";
/// Deadline of a request body.
pub const FEDBRIDGE_REQUEST_BODY_TIMEOUT: &str = "FEDBRIDGE_REQUEST_BODY_TIMEOUT";
/// Bytes all request bodies in flight may take.
pub const FEDBRIDGE_BODY_MEMORY_BUDGET: &str = "FEDBRIDGE_BODY_MEMORY_BUDGET";
/// Request bodies in flight per client.
pub const FEDBRIDGE_MAX_BODIES_PER_CLIENT: &str = "FEDBRIDGE_MAX_BODIES_PER_CLIENT";
/// Refused ACS posts per client.
pub const FEDBRIDGE_RATE_LIMIT_ACS: &str = "FEDBRIDGE_RATE_LIMIT_ACS";
/// `/saml/login` per client.
pub const FEDBRIDGE_RATE_LIMIT_LOGIN: &str = "FEDBRIDGE_RATE_LIMIT_LOGIN";
/// Reverse proxies whose X-Forwarded-For is believed.
pub const FEDBRIDGE_TRUSTED_PROXIES: &str = "FEDBRIDGE_TRUSTED_PROXIES";
/// Logins waiting for the IdP at once.
pub const FEDBRIDGE_MAX_OUTSTANDING_REQUESTS: &str = "FEDBRIDGE_MAX_OUTSTANDING_REQUESTS";
/// How long login audit rows are kept.
pub const FEDBRIDGE_AUDIT_RETENTION: &str = "FEDBRIDGE_AUDIT_RETENTION";
/// How long a request waits for the database.
pub const FEDBRIDGE_DATABASE_WAIT: &str = "FEDBRIDGE_DATABASE_WAIT";
/// Unlocks the health details over HTTP.
pub const FEDBRIDGE_HEALTH_SECRET: &str = "FEDBRIDGE_HEALTH_SECRET";
/// Largest IdP metadata document.
pub const FEDBRIDGE_MAX_METADATA_BYTES: &str = "FEDBRIDGE_MAX_METADATA_BYTES";

/// Every key above.
pub const ALL: &[&str] = &[
    SAML_METADATA_URL,
    SAML_SERVER_ENTITY_IDENTIFIER,
    SAML_REDIRECT_URL,
    SAML_SIGNING_CERTIFICATE,
    SAML_CONSUMER_URL,
    SAML_USER_ID_ATTRIBUTE,
    SAML_AUTOMATIC_LOGIN,
    FEDERATEDLY_MANAGED_GROUPS,
    SAML_USER_FULLNAME_ATTRIBUTE,
    SAML_USER_EMAIL_ATTRIBUTE,
    SAML_USER_GROUPS_ATTRIBUTE,
    SAML_USER_DESCRIPTION_ATTRIBUTE,
    FEDBRIDGE_SP_ENTITY_ID,
    FEDBRIDGE_SP_PRIVATE_KEY,
    FEDBRIDGE_SP_CERTIFICATE,
    FEDBRIDGE_CLOCK_SKEW,
    FEDBRIDGE_ALLOW_IDP_INITIATED,
    FEDBRIDGE_EXIT_URL,
    FEDBRIDGE_XSESSION_LIFETIME,
    FEDBRIDGE_XSESSION_AUDIENCE,
    FEDBRIDGE_XSESSION_ALGORITHM,
    FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS,
    FEDBRIDGE_METADATA_REFRESH,
    FEDBRIDGE_MAX_RESPONSE_BYTES,
    FEDBRIDGE_INSECURE_ALLOW_SHA1,
    FEDBRIDGE_CREATE_MISSING_GROUPS,
    FEDBRIDGE_INTROSPECTION_SECRET,
    FEDBRIDGE_MAX_GROUP_REMOVALS,
    FEDBRIDGE_LOGIN_NAME_MATCH,
    FEDBRIDGE_EXISTING_USERS_ONLY,
    FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS,
    FEDBRIDGE_AUTHN_REQUEST_BINDING,
    FEDBRIDGE_ADMIN_GROUPS,
    FEDBRIDGE_METRICS_TOKEN,
    FEDBRIDGE_CERT_EXPIRY_WARNING,
    FEDBRIDGE_PRODUCT_NAME,
    FEDBRIDGE_REQUEST_BODY_TIMEOUT,
    FEDBRIDGE_BODY_MEMORY_BUDGET,
    FEDBRIDGE_MAX_BODIES_PER_CLIENT,
    FEDBRIDGE_RATE_LIMIT_ACS,
    FEDBRIDGE_RATE_LIMIT_LOGIN,
    FEDBRIDGE_TRUSTED_PROXIES,
    FEDBRIDGE_MAX_OUTSTANDING_REQUESTS,
    FEDBRIDGE_AUDIT_RETENTION,
    FEDBRIDGE_DATABASE_WAIT,
    FEDBRIDGE_HEALTH_SECRET,
    FEDBRIDGE_MAX_METADATA_BYTES,
];
