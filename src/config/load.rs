//! Rows -> per-setting slots -> rules -> defaults -> one typed [`Config`]. Every problem is
//! collected before anything is refused.

use std::collections::BTreeMap;

use time::Duration;

use crate::config::keys::*;
use crate::config::schema::{CONSUMER_URL, Empty, Required, Schema, SettingDef};
use crate::config::value::{self, AbsoluteUrl, Value};
use crate::config::{
    AttributeMapping, AuthnRequestBinding, Config, EdgeSettings, IdpSource, IpNetwork, Loaded,
    LoginNameMatch, ManagedGroups, Problem, SecretString, SpKeyPair, XsessionSettings, rules,
};
use crate::saml::{DecryptionKey, SigningKey};

/// The state of one setting while loading.
#[derive(Debug)]
pub(crate) enum State {
    /// No usable value (no row, or NULL/blank meaning "not set"), or ignored by a rule.
    Unset,
    /// A parsed value (given, or the default).
    Given(Value),
    /// A value that is wrong: the message, without key or example.
    Invalid(String),
}

/// One setting and its state.
#[derive(Debug)]
pub(crate) struct Slot<'s> {
    pub(crate) def: &'s SettingDef,
    pub(crate) state: State,
}

impl Slot<'_> {
    /// A row with a value was given (valid or not): the setting counts as "set" for the rules.
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self.state, State::Unset)
    }
}

/// Every setting of the schema, in schema order.
pub(crate) struct Slots<'s> {
    slots: Vec<Slot<'s>>,
}

impl<'s> Slots<'s> {
    pub(crate) fn slot(&self, key: &str) -> Option<&Slot<'s>> {
        self.slots.iter().find(|s| s.def.name == key)
    }

    pub(crate) fn slot_mut(&mut self, key: &str) -> Option<&mut Slot<'s>> {
        self.slots.iter_mut().find(|s| s.def.name == key)
    }

    pub(crate) fn is_present(&self, key: &str) -> bool {
        self.slot(key).is_some_and(Slot::is_present)
    }

    /// The settings whose `required` names `rule`, in schema order.
    pub(crate) fn members(&self, rule: &str) -> Vec<&'s SettingDef> {
        self.slots
            .iter()
            .filter(|s| matches!(&s.def.required, Required::Rule(r) if r == rule))
            .map(|s| s.def)
            .collect()
    }

    fn value(&self, key: &str) -> Option<&Value> {
        match self.slot(key).map(|s| &s.state) {
            Some(State::Given(v)) => Some(v),
            _ => None,
        }
    }
}

/// See `config::load`.
pub(crate) fn load(
    schema: &Schema,
    rows: &BTreeMap<String, Option<String>>,
) -> Result<Loaded, Vec<Problem>> {
    let unknown = unknown_keys(schema, rows);
    let mut warnings: Vec<Problem> = unknown
        .iter()
        .map(|(name, suggestion)| unknown_key_warning(name, *suggestion))
        .collect();
    let mut problems = Vec::new();
    let mut slots = Slots {
        slots: schema
            .settings
            .iter()
            .map(|def| Slot {
                def,
                state: read(def, rows.get(&def.name)),
            })
            .collect(),
    };
    rules::apply(&mut slots, &mut problems, &mut warnings);
    apply_defaults(&mut slots, &mut problems);
    for slot in &slots.slots {
        if let State::Invalid(message) = &slot.state {
            problems.push(Problem::about(slot.def, message.clone()));
        }
    }
    if !problems.is_empty() {
        let position = |p: &Problem| schema.settings.iter().position(|s| s.name == p.key);
        problems.sort_by_key(position);
        point_at_typos(&mut problems, &slots, &unknown);
        return Err(problems);
    }
    let config = build(&slots).map_err(|p| vec![p])?;
    warnings.extend(insecure_warnings(&config));
    warnings.extend(plain_http_warnings(&config));
    Ok(Loaded { config, warnings })
}

/// The state of `def` from its row: `None` no row, `Some(None)` NULL.
fn read(def: &SettingDef, row: Option<&Option<String>>) -> State {
    let null_forbidden = def.null == Empty::Error;
    match row {
        None => State::Unset,
        Some(None) if def.null == Empty::Unset => State::Unset,
        Some(None) => State::Invalid(
            "is NULL; it must not be NULL or empty when present (delete the row instead)".into(),
        ),
        Some(Some(text)) if text.trim().is_empty() => match def.blank {
            Empty::Unset => State::Unset,
            Empty::Error if null_forbidden => State::Invalid(
                "is empty; it must not be NULL or empty when present (delete the row instead)"
                    .into(),
            ),
            Empty::Error => State::Invalid(format!(
                "is an empty string; set it to NULL or delete the row ({}), or give a value",
                not_set_meaning(def)
            )),
        },
        Some(Some(text)) => match value::parse(def, text) {
            Ok(v) => State::Given(v),
            Err(message) => State::Invalid(message),
        },
    }
}

fn not_set_meaning(def: &SettingDef) -> String {
    match (&def.unset, &def.default) {
        (Some(unset), _) => unset.clone(),
        (None, Some(default)) => format!("default {default}"),
        (None, None) => "not set".into(),
    }
}

/// Fills every unset setting that has a default; reports unset mandatory settings.
fn apply_defaults(slots: &mut Slots<'_>, problems: &mut Vec<Problem>) {
    let consumer = match slots.value(SAML_CONSUMER_URL) {
        Some(Value::Url(u)) => Some(u.as_str().to_owned()),
        _ => None,
    };
    for slot in &mut slots.slots {
        if slot.is_present() {
            continue;
        }
        match (&slot.def.default, &slot.def.required) {
            (Some(default), _) => {
                let text = match &consumer {
                    Some(consumer) => default.replace(CONSUMER_URL, consumer),
                    // Without a consumer URL (itself reported) this default cannot be computed.
                    None if default.contains(CONSUMER_URL) => continue,
                    None => default.clone(),
                };
                slot.state = match value::parse(slot.def, &text) {
                    Ok(v) => State::Given(v),
                    Err(e) => State::Invalid(format!(
                        "internal error: the default {text} is invalid: {e}"
                    )),
                };
            }
            (None, Required::Always) => {
                problems.push(Problem::missing(
                    slot.def,
                    "is mandatory but not set".into(),
                ));
            }
            (None, _) => {}
        }
    }
}

/// Rows whose name is not a setting, each with the setting it probably meant (a typo or the
/// wrong case), when one is close.
fn unknown_keys<'s>(
    schema: &'s Schema,
    rows: &BTreeMap<String, Option<String>>,
) -> Vec<(String, Option<&'s str>)> {
    rows.keys()
        .filter(|name| schema.setting(name).is_none())
        .map(|name| {
            let suggestion = schema.similar(name).map(|s| s.name.as_str());
            (name.clone(), suggestion)
        })
        .collect()
}

fn unknown_key_warning(name: &str, suggestion: Option<&str>) -> Problem {
    let message = match suggestion {
        Some(known) => format!("unknown setting, ignored; did you mean {known}?"),
        None => "unknown setting, ignored".into(),
    };
    Problem {
        key: name.into(),
        message,
        example: None,
        missing: false,
    }
}

/// Adds "a row named X exists" to problems about a setting that is missing while a misspelt row
/// for it exists, since the warning about that row is not returned with the problems.
fn point_at_typos(problems: &mut [Problem], slots: &Slots<'_>, unknown: &[(String, Option<&str>)]) {
    for problem in problems {
        if slots.is_present(&problem.key) {
            continue;
        }
        let typos: Vec<&str> = unknown
            .iter()
            .filter(|(_, known)| *known == Some(problem.key.as_str()))
            .map(|(name, _)| name.as_str())
            .collect();
        if !typos.is_empty() {
            problem.message.push_str(&format!(
                " (a row named {} exists: a typo?)",
                typos.join(", ")
            ));
        }
    }
}

fn insecure_warnings(config: &Config) -> Vec<Problem> {
    let mut warnings = Vec::new();
    if config.insecure_allow_sha1 {
        warnings.push(Problem {
            key: FEDBRIDGE_INSECURE_ALLOW_SHA1.into(),
            message: "is 1: SHA-1 digests and signatures are accepted, and SHA-1 collisions are \
                      practical; set it back to 0 once the IdP signs with SHA-256"
                .into(),
            example: None,
            missing: false,
        });
    }
    warnings
}

/// Plain http beside an https consumer URL: the token (downstream and exit URLs) or the IdP's
/// keys (metadata) would travel unencrypted.
fn plain_http_warnings(config: &Config) -> Vec<Problem> {
    if !config.is_https() {
        return Vec::new();
    }
    let warn = |key: &str, what: &str, url: &str| Problem {
        key: key.into(),
        message: format!(
            "{} is plain http beside an https SAML_CONSUMER_URL: {what} unencrypted",
            value::quote(url, false)
        ),
        example: None,
        missing: false,
    };
    let mut warnings: Vec<Problem> = config
        .allowed_downstream
        .iter()
        .filter(|url| url.starts_with("http://"))
        .map(|url| {
            warn(
                FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS,
                "the xsession token would travel there",
                url,
            )
        })
        .collect();
    if let Some(exit) = config
        .exit_url
        .as_ref()
        .filter(|u| u.url().scheme() == "http")
    {
        warnings.push(warn(
            FEDBRIDGE_EXIT_URL,
            "logging out would end on a page loaded",
            exit.as_str(),
        ));
    }
    if let IdpSource::Metadata { url, .. } = &config.idp
        && url.url().scheme() == "http"
    {
        warnings.push(warn(
            SAML_METADATA_URL,
            "the IdP's signing keys (the trust anchor) would be fetched",
            url.as_str(),
        ));
    }
    warnings
}

/// The typed config from slots that hold no problem.
fn build(slots: &Slots<'_>) -> Result<Config, Problem> {
    let get = Getter(slots);
    let entity_id = get.text(SAML_SERVER_ENTITY_IDENTIFIER)?;
    let idp = match get.url(SAML_METADATA_URL)? {
        Some(url) => IdpSource::Metadata { url, entity_id },
        None => IdpSource::PublicKey {
            sso_url: get.need(SAML_REDIRECT_URL, get.url(SAML_REDIRECT_URL)?)?,
            certificates: get
                .need(
                    SAML_SIGNING_CERTIFICATE,
                    get.certificates(SAML_SIGNING_CERTIFICATE)?,
                )?
                .0,
            entity_id,
        },
    };
    let sp_key_pair = match (
        get.private_key(FEDBRIDGE_SP_PRIVATE_KEY)?,
        get.certificates(FEDBRIDGE_SP_CERTIFICATE)?,
    ) {
        (Some((private_key, private_key_pem)), Some((certificates, certificate_pem))) => {
            let certificate =
                get.need(FEDBRIDGE_SP_CERTIFICATE, certificates.into_iter().next())?;
            Some(SpKeyPair {
                private_key,
                private_key_pem,
                certificate,
                certificate_pem,
            })
        }
        _ => None,
    };
    let algorithm = get.need(
        FEDBRIDGE_XSESSION_ALGORITHM,
        get.text(FEDBRIDGE_XSESSION_ALGORITHM)?,
    )?;
    let max_response_bytes = get.need(
        FEDBRIDGE_MAX_RESPONSE_BYTES,
        get.integer(FEDBRIDGE_MAX_RESPONSE_BYTES)?,
    )?;
    let max_group_removals = get.need(
        FEDBRIDGE_MAX_GROUP_REMOVALS,
        get.integer(FEDBRIDGE_MAX_GROUP_REMOVALS)?,
    )?;
    let authn_request_binding = get.need(
        FEDBRIDGE_AUTHN_REQUEST_BINDING,
        get.text(FEDBRIDGE_AUTHN_REQUEST_BINDING)?,
    )?;
    let login_name_match = get.need(
        FEDBRIDGE_LOGIN_NAME_MATCH,
        get.text(FEDBRIDGE_LOGIN_NAME_MATCH)?,
    )?;
    Ok(Config {
        idp,
        consumer_url: get.need(SAML_CONSUMER_URL, get.url(SAML_CONSUMER_URL)?)?,
        sp_entity_id: get.need(FEDBRIDGE_SP_ENTITY_ID, get.text(FEDBRIDGE_SP_ENTITY_ID)?)?,
        user_id_attribute: get.text(SAML_USER_ID_ATTRIBUTE)?,
        automatic_login: get.flag(SAML_AUTOMATIC_LOGIN)?,
        managed_groups: match get.strings(FEDERATEDLY_MANAGED_GROUPS)? {
            Some(groups) => ManagedGroups::List(groups),
            None => ManagedGroups::All,
        },
        attributes: AttributeMapping {
            fullname: get.text(SAML_USER_FULLNAME_ATTRIBUTE)?,
            email: get.text(SAML_USER_EMAIL_ATTRIBUTE)?,
            groups: get.text(SAML_USER_GROUPS_ATTRIBUTE)?,
            description: get.text(SAML_USER_DESCRIPTION_ATTRIBUTE)?,
        },
        sp_key_pair,
        clock_skew: get.duration(FEDBRIDGE_CLOCK_SKEW)?,
        allow_idp_initiated: get.flag(FEDBRIDGE_ALLOW_IDP_INITIATED)?,
        exit_url: get.url(FEDBRIDGE_EXIT_URL)?,
        xsession: XsessionSettings {
            lifetime: get.duration(FEDBRIDGE_XSESSION_LIFETIME)?,
            audience: get.need(
                FEDBRIDGE_XSESSION_AUDIENCE,
                get.text(FEDBRIDGE_XSESSION_AUDIENCE)?,
            )?,
            algorithm: get.need(
                FEDBRIDGE_XSESSION_ALGORITHM,
                crate::token::Algorithm::from_name(&algorithm),
            )?,
        },
        allowed_downstream: get
            .strings(FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS)?
            .unwrap_or_default(),
        metadata_refresh: get.duration(FEDBRIDGE_METADATA_REFRESH)?,
        max_response_bytes: get.need(
            FEDBRIDGE_MAX_RESPONSE_BYTES,
            usize::try_from(max_response_bytes).ok(),
        )?,
        insecure_allow_sha1: get.flag(FEDBRIDGE_INSECURE_ALLOW_SHA1)?,
        create_missing_groups: get.flag(FEDBRIDGE_CREATE_MISSING_GROUPS)?,
        introspection_secret: get.secret(FEDBRIDGE_INTROSPECTION_SECRET)?,
        max_group_removals: get.need(
            FEDBRIDGE_MAX_GROUP_REMOVALS,
            usize::try_from(max_group_removals).ok(),
        )?,
        login_name_match: get.need(
            FEDBRIDGE_LOGIN_NAME_MATCH,
            LoginNameMatch::from_name(&login_name_match),
        )?,
        existing_users_only: get.flag(FEDBRIDGE_EXISTING_USERS_ONLY)?,
        require_signed_assertions: get.flag(FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS)?,
        authn_request_binding: get.need(
            FEDBRIDGE_AUTHN_REQUEST_BINDING,
            AuthnRequestBinding::from_name(&authn_request_binding),
        )?,
        admin_groups: get.strings(FEDBRIDGE_ADMIN_GROUPS)?.unwrap_or_default(),
        metrics_token: get.secret(FEDBRIDGE_METRICS_TOKEN)?,
        cert_expiry_warning: get.duration(FEDBRIDGE_CERT_EXPIRY_WARNING)?,
        product_name: get.text(FEDBRIDGE_PRODUCT_NAME)?,
        edge: EdgeSettings {
            body_timeout: get.duration(FEDBRIDGE_REQUEST_BODY_TIMEOUT)?,
            body_memory_budget: get.size(FEDBRIDGE_BODY_MEMORY_BUDGET)?,
            max_bodies_per_client: get.size(FEDBRIDGE_MAX_BODIES_PER_CLIENT)?,
            rate_limit_acs: get.rate_limit(FEDBRIDGE_RATE_LIMIT_ACS)?,
            rate_limit_login: get.rate_limit(FEDBRIDGE_RATE_LIMIT_LOGIN)?,
            trusted_proxies: get
                .strings(FEDBRIDGE_TRUSTED_PROXIES)?
                .unwrap_or_default()
                .iter()
                .map(|n| IpNetwork::parse(n).map_err(|e| internal(FEDBRIDGE_TRUSTED_PROXIES, &e)))
                .collect::<Result<_, _>>()?,
            max_outstanding_requests: get
                .size(FEDBRIDGE_MAX_OUTSTANDING_REQUESTS)
                .map(|n| n as u64)?,
        },
        audit_retention: get.duration(FEDBRIDGE_AUDIT_RETENTION)?,
        database_wait: get.duration(FEDBRIDGE_DATABASE_WAIT)?,
        health_secret: get.secret(FEDBRIDGE_HEALTH_SECRET)?,
        max_metadata_bytes: get.size(FEDBRIDGE_MAX_METADATA_BYTES)?,
    })
}

/// Typed reads of slots. A type mismatch or a missing defaulted value means the schema and this
/// file disagree; it is reported (never a panic) and the schema tests keep it from shipping.
struct Getter<'a, 's>(&'a Slots<'s>);

type Got<T> = Result<Option<T>, Problem>;

impl Getter<'_, '_> {
    fn typed<T>(&self, key: &str, pick: impl FnOnce(&Value) -> Option<T>) -> Got<T> {
        match self.0.value(key) {
            None => Ok(None),
            Some(v) => pick(v)
                .map(Some)
                .ok_or_else(|| internal(key, "has an unexpected type")),
        }
    }

    fn need<T>(&self, key: &str, value: Option<T>) -> Result<T, Problem> {
        value.ok_or_else(|| internal(key, "has no usable value"))
    }

    fn url(&self, key: &str) -> Got<AbsoluteUrl> {
        self.typed(key, |v| match v {
            Value::Url(u) => Some(u.clone()),
            _ => None,
        })
    }

    fn text(&self, key: &str) -> Got<String> {
        self.typed(key, |v| match v {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        })
    }

    fn strings(&self, key: &str) -> Got<Vec<String>> {
        self.typed(key, |v| match v {
            Value::Strings(s) => Some(s.clone()),
            _ => None,
        })
    }

    fn integer(&self, key: &str) -> Got<i64> {
        self.typed(key, |v| match v {
            Value::Integer(n) => Some(*n),
            _ => None,
        })
    }

    fn certificates(&self, key: &str) -> Got<(Vec<SigningKey>, String)> {
        self.typed(key, |v| match v {
            Value::Certificates(keys, text) => Some((keys.clone(), text.clone())),
            _ => None,
        })
    }

    fn secret(&self, key: &str) -> Got<SecretString> {
        self.typed(key, |v| match v {
            Value::Secret(s) => Some(s.clone()),
            _ => None,
        })
    }

    fn private_key(&self, key: &str) -> Got<(DecryptionKey, SecretString)> {
        self.typed(key, |v| match v {
            Value::PrivateKey(k, pem) => Some((k.clone(), pem.clone())),
            _ => None,
        })
    }

    /// A `bool01` with a default.
    fn flag(&self, key: &str) -> Result<bool, Problem> {
        let got = self.typed(key, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })?;
        self.need(key, got)
    }

    /// A non-negative `integer` with a default, as a size or count.
    fn size(&self, key: &str) -> Result<usize, Problem> {
        let n = self.need(key, self.integer(key)?)?;
        usize::try_from(n).map_err(|_| internal(key, "is negative"))
    }

    /// A `rate_limit` with a default (`None`: off).
    fn rate_limit(&self, key: &str) -> Result<Option<crate::config::RateLimit>, Problem> {
        let got = self.typed(key, |v| match v {
            Value::RateLimit(r) => Some(*r),
            _ => None,
        })?;
        self.need(key, got)
    }

    /// A `duration` with a default.
    fn duration(&self, key: &str) -> Result<Duration, Problem> {
        let got = self.typed(key, |v| match v {
            Value::Duration(d) => Some(*d),
            _ => None,
        })?;
        self.need(key, got)
    }
}

fn internal(key: &str, what: &str) -> Problem {
    Problem {
        key: key.into(),
        message: format!(
            "internal error: the setting {what} (config-schema/settings.toml and src/config disagree)"
        ),
        example: None,
        missing: false,
    }
}
