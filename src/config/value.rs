//! Parsers for each schema type: one text value in, one typed [`Value`] or a message out. The
//! message says what is wrong with the value; the caller adds the key and the example.

use std::fmt;

use time::Duration;
use url::Url;

use crate::config::SecretString;
use crate::config::schema::{Kind, Limit, SettingDef};
use crate::saml::{DecryptionKey, SigningKey};

/// SAML limits an entityID to 1024 characters (saml-core 8.3.6).
const MAX_ENTITY_ID_CHARS: usize = 1024;
/// Values longer than this are shortened when quoted in a message.
const MAX_QUOTED_CHARS: usize = 60;

/// A parsed setting value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `url`.
    Url(AbsoluteUrl),
    /// `url_path`.
    Path(String),
    /// `certificate_list`: the keys, and the text they came from.
    Certificates(Vec<SigningKey>, String),
    /// `private_key_pem`: the key, and the PEM it came from.
    PrivateKey(DecryptionKey, SecretString),
    /// `bool01`.
    Bool(bool),
    /// `json_string_array`.
    Strings(Vec<String>),
    /// `attribute_name`, `entity_id`, `text` and `enum`.
    Text(String),
    /// A `text` setting marked secret.
    Secret(SecretString),
    /// `duration`.
    Duration(Duration),
    /// `integer`.
    Integer(i64),
    /// `rate_limit`: `None` is `off`.
    RateLimit(Option<RateLimit>),
}

/// A token bucket's shape: a burst of `count` requests, refilled evenly over `per` (one every
/// `per / count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The burst, and how many requests `per` allows.
    pub count: u32,
    /// The refill period.
    pub per: Duration,
}

impl RateLimit {
    /// Parses `COUNT/DURATION` (`20/1m`); `off` is `Ok(None)`.
    pub fn parse(text: &str) -> Result<Option<RateLimit>, String> {
        if text == "off" {
            return Ok(None);
        }
        let (count, per) = text
            .split_once('/')
            .ok_or_else(|| "is not COUNT/DURATION (such as 20/1m) or off".to_owned())?;
        let count: u32 = count
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| "has a COUNT that is not a whole number from 1 to 1000000".to_owned())?;
        let per = parse_duration(per)
            .filter(|d| *d >= Duration::SECOND && *d <= Duration::DAY)
            .ok_or_else(|| "has a DURATION that is not from 1s to 1d (such as 1m)".to_owned())?;
        Ok(Some(RateLimit { count, per }))
    }
}

/// An IP network: an address and how many leading bits count (a single address: all of them).
/// IPv4-mapped IPv6 addresses are taken as the IPv4 address they map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: std::net::IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address.
    pub fn parse(text: &str) -> Result<IpNetwork, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: std::net::IpAddr = address
            .parse()
            .map_err(|_| format!("{} is not an IP address", quote(address, false)))?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("/{p} is not a prefix length from 0 to {bits}"))?,
        };
        Ok(IpNetwork { address, prefix })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (u128::MAX << (width - bits)) & (u128::MAX >> (128 - width))
            }
        };
        match (self.address, ip.to_canonical()) {
            (std::net::IpAddr::V4(net), std::net::IpAddr::V4(ip)) => {
                let m = mask(u32::from(self.prefix), 32);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (std::net::IpAddr::V6(net), std::net::IpAddr::V6(ip)) => {
                let m = mask(u32::from(self.prefix), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// An absolute `http(s)` URL, kept exactly as written (trimmed) because the SAML checks compare
/// URLs as strings, together with its parsed form.
#[derive(Clone, PartialEq, Eq)]
pub struct AbsoluteUrl {
    text: String,
    url: Url,
}

impl AbsoluteUrl {
    /// Parses an absolute `http` or `https` URL without credentials or fragment.
    pub fn parse(text: &str) -> Result<AbsoluteUrl, String> {
        let text = text.trim();
        AbsoluteUrl::parse_quoted(text, &quote(text, false))
    }

    /// [`AbsoluteUrl::parse`], with the value written as `q` in messages.
    fn parse_quoted(text: &str, q: &str) -> Result<AbsoluteUrl, String> {
        let url = Url::parse(text).map_err(|_| format!("{q} is not an absolute http(s) URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{q} is not an absolute http(s) URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{q} must not contain a user name or password"));
        }
        if url.fragment().is_some() {
            return Err(format!("{q} must not have a #fragment"));
        }
        Ok(AbsoluteUrl {
            text: text.to_owned(),
            url,
        })
    }

    /// The URL as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL (normalised: lower-case host, default port dropped).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The percent-encoded path, always starting with `/`.
    pub fn path(&self) -> &str {
        self.url.path()
    }
}

impl fmt::Debug for AbsoluteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl fmt::Display for AbsoluteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses `text` as the value of `def`. The message quotes the value unless it is secret.
pub fn parse(def: &SettingDef, text: &str) -> Result<Value, String> {
    let text = text.trim();
    let q = quote(text, def.secret);
    match def.kind {
        Kind::Url => AbsoluteUrl::parse_quoted(text, &q).map(Value::Url),
        Kind::UrlPath => parse_url_path(text).map(Value::Path).map_err(|()| {
            format!("{q} is not an absolute URL path (it must start with a single /)")
        }),
        Kind::CertificateList => SigningKey::from_certificates(text)
            .map(|keys| Value::Certificates(keys, text.to_owned()))
            .map_err(|e| e.to_string()),
        Kind::PrivateKeyPem => DecryptionKey::from_pem(text.as_bytes())
            .map(|key| Value::PrivateKey(key, SecretString::new(text.to_owned())))
            .map_err(|e| e.to_string()),
        Kind::Bool01 => match text {
            "0" => Ok(Value::Bool(false)),
            "1" => Ok(Value::Bool(true)),
            _ => Err(format!("{q} is not 0 or 1")),
        },
        Kind::JsonStringArray => parse_string_array(def, text, &q).map(Value::Strings),
        Kind::AttributeName => {
            no_control_characters(text, &q)?;
            Ok(Value::Text(text.to_owned()))
        }
        Kind::EntityId => {
            if text.chars().any(char::is_whitespace) {
                return Err(format!("{q} contains whitespace; an entityID is a URI"));
            }
            if text.chars().count() > MAX_ENTITY_ID_CHARS {
                return Err(format!(
                    "{q} is longer than {MAX_ENTITY_ID_CHARS} characters, the SAML limit for an entityID"
                ));
            }
            no_control_characters(text, &q)?;
            Ok(Value::Text(text.to_owned()))
        }
        Kind::Text => {
            no_control_characters(text, &q)?;
            if let Some(Limit::Number(min)) = def.min
                && (text.chars().count() as u64) < min.unsigned_abs()
            {
                return Err(format!("{q} is shorter than {min} characters"));
            }
            if def.secret {
                return Ok(Value::Secret(SecretString::new(text.to_owned())));
            }
            Ok(Value::Text(text.to_owned()))
        }
        Kind::Enum => {
            let values = def.values.as_deref().unwrap_or_default();
            if values.iter().any(|v| v == text) {
                Ok(Value::Text(text.to_owned()))
            } else {
                Err(format!("{q} is not one of {}", values.join(", ")))
            }
        }
        Kind::Duration => {
            let d = parse_duration(text).ok_or_else(|| {
                format!("{q} is not a duration such as 90s, 15m, 8h, 1d or 1h30m")
            })?;
            check_duration_limits(d, def, &q)?;
            Ok(Value::Duration(d))
        }
        Kind::Integer => {
            let n: i64 = text
                .parse()
                .map_err(|_| format!("{q} is not a whole number"))?;
            if let Some(Limit::Number(min)) = def.min
                && n < min
            {
                return Err(format!("{q} is below the minimum of {min}"));
            }
            if let Some(Limit::Number(max)) = def.max
                && n > max
            {
                return Err(format!("{q} is above the maximum of {max}"));
            }
            Ok(Value::Integer(n))
        }
        Kind::RateLimit => RateLimit::parse(text)
            .map(Value::RateLimit)
            .map_err(|e| format!("{q} {e}")),
        // Only an element type (`items`); the schema test keeps it there.
        Kind::IpNetwork => IpNetwork::parse(text)
            .map(|n| Value::Strings(vec![n.to_string()]))
            .map_err(|e| format!("{q}: {e}")),
    }
}

/// Parses a duration written as one or more `<number><unit>` parts, unit `s`, `m`, `h` or `d`:
/// `90s`, `15m`, `8h`, `1d`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let seconds = n.checked_mul(unit)?;
        total = total.checked_add(seconds)?;
        parts += 1;
    }
    if !digits.is_empty() || parts == 0 {
        return None;
    }
    Some(Duration::seconds(total))
}

fn check_duration_limits(d: Duration, def: &SettingDef, q: &str) -> Result<(), String> {
    if let Some(Limit::Duration(min)) = &def.min
        && parse_duration(min).is_some_and(|min| d < min)
    {
        return Err(format!("{q} is shorter than the minimum of {min}"));
    }
    if let Some(Limit::Duration(max)) = &def.max
        && parse_duration(max).is_some_and(|max| d > max)
    {
        return Err(format!("{q} is longer than the maximum of {max}"));
    }
    Ok(())
}

fn parse_url_path(text: &str) -> Result<String, ()> {
    let well_formed = text.starts_with('/')
        && !text.starts_with("//")
        && !text.contains(['\\', '?', '#'])
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(text.to_owned())
    } else {
        Err(())
    }
}

fn parse_string_array(def: &SettingDef, text: &str, q: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Err("is an empty string, which is not a JSON array of strings".into());
    }
    let items: Vec<String> = serde_json::from_str(text)
        .map_err(|e| format!("{q} is not a JSON array of strings ({e})"))?;
    match def.items {
        None => Ok(items),
        Some(Kind::Url) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                AbsoluteUrl::parse(item)
                    .map(|u| normalised_prefix(&u))
                    .map_err(|e| format!("element {}: {e}", i + 1))
            })
            .collect(),
        Some(Kind::IpNetwork) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                IpNetwork::parse(item.trim())
                    .map(|n| n.to_string())
                    .map_err(|e| format!("element {}: {e}", i + 1))
            })
            .collect(),
        // The schema test keeps `items` to the kinds handled here.
        Some(other) => Err(format!("elements of type {other} are not supported")),
    }
}

/// A downstream URL prefix in the normalised form used for matching: `https://host/` for an
/// origin, the path kept otherwise, never a query.
fn normalised_prefix(url: &AbsoluteUrl) -> String {
    let mut u = url.url().clone();
    u.set_query(None);
    u.to_string()
}

fn no_control_characters(text: &str, q: &str) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        return Err(format!("{q} contains a control character"));
    }
    Ok(())
}

/// `'value'`, shortened when long; `the value` for secrets.
pub(crate) fn quote(text: &str, secret: bool) -> String {
    if secret {
        return "the value".into();
    }
    if text.chars().count() > MAX_QUOTED_CHARS {
        let head: String = text.chars().take(MAX_QUOTED_CHARS - 3).collect();
        format!("'{head}...'")
    } else {
        format!("'{text}'")
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn rate_limits() {
        assert_eq!(
            RateLimit::parse("20/1m"),
            Ok(Some(RateLimit {
                count: 20,
                per: Duration::MINUTE
            }))
        );
        assert_eq!(RateLimit::parse("off"), Ok(None));
        for bad in [
            "20", "0/1m", "x/1m", "20/0s", "20/2d", "20/1m/x", "-1/1m", "",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ip_networks() {
        let net = |t: &str| IpNetwork::parse(t).unwrap();
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.1")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!net("2001:db8::/32").contains(ip("10.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert_eq!(net("10.1.2.3/8").to_string(), "10.1.2.3/8");
        for bad in ["10.0.0.0/33", "x", "10.0.0/8", "::/129", "10.0.0.1/"] {
            assert!(IpNetwork::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::schema;

    fn def(name: &str) -> &'static SettingDef {
        schema().unwrap().setting(name).unwrap()
    }

    fn err(name: &str, text: &str) -> String {
        match parse(def(name), text) {
            Ok(v) => panic!("{name}={text:?} parsed as {v:?}"),
            Err(e) => e,
        }
    }

    fn ok(name: &str, text: &str) -> Value {
        match parse(def(name), text) {
            Ok(v) => v,
            Err(e) => panic!("{name}={text:?}: {e}"),
        }
    }

    #[test]
    fn urls() {
        let Value::Url(u) = ok(
            "SAML_CONSUMER_URL",
            " https://Host.example.com:443/a/b?x=1 ",
        ) else {
            panic!()
        };
        assert_eq!(u.as_str(), "https://Host.example.com:443/a/b?x=1");
        assert_eq!(u.origin(), "https://host.example.com");
        assert_eq!(u.path(), "/a/b");
        let Value::Url(u) = ok("SAML_REDIRECT_URL", "http://localhost:8080") else {
            panic!()
        };
        assert_eq!(u.origin(), "http://localhost:8080");
        assert_eq!(u.path(), "/");
        assert_eq!(
            err("SAML_CONSUMER_URL", "ftp://x"),
            "'ftp://x' is not an absolute http(s) URL"
        );
        assert_eq!(
            err("SAML_METADATA_URL", "/EnticeServices"),
            "'/EnticeServices' is not an absolute http(s) URL"
        );
        assert_eq!(
            err("SAML_METADATA_URL", "https://"),
            "'https://' is not an absolute http(s) URL"
        );
        assert_eq!(
            err("FEDBRIDGE_EXIT_URL", "javascript:alert(1)"),
            "'javascript:alert(1)' is not an absolute http(s) URL"
        );
        assert_eq!(
            err("SAML_REDIRECT_URL", "https://u:p@idp.example.com/sso"),
            "'https://u:p@idp.example.com/sso' must not contain a user name or password"
        );
        assert_eq!(
            err("SAML_CONSUMER_URL", "https://sp.example.com/acs#x"),
            "'https://sp.example.com/acs#x' must not have a #fragment"
        );
        let long = format!("ftp://{}", "x".repeat(100));
        assert_eq!(
            err("SAML_CONSUMER_URL", &long),
            format!(
                "'ftp://{}...' is not an absolute http(s) URL",
                "x".repeat(51)
            )
        );
    }

    #[test]
    fn url_paths() {
        let mut d = def("FEDBRIDGE_EXIT_URL").clone();
        d.kind = Kind::UrlPath;
        assert!(matches!(parse(&d, "/app/x").unwrap(), Value::Path(p) if p == "/app/x"));
        for bad in ["app", "//evil.example.com", "/a\\b", "/a b", "/a?b"] {
            assert_eq!(
                parse(&d, bad).unwrap_err(),
                format!("'{bad}' is not an absolute URL path (it must start with a single /)")
            );
        }
    }

    #[test]
    fn certificates() {
        let pem = crate::config::tests::read_key("tests/fixtures/xmlsec/keys/idp-rsa.crt");
        let ec = crate::config::tests::read_key("tests/fixtures/xmlsec/keys/idp-ec256.crt");
        let Value::Certificates(keys, text) =
            ok("SAML_SIGNING_CERTIFICATE", &format!("{pem}\n{ec}"))
        else {
            panic!()
        };
        assert_eq!(keys.len(), 2);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(
            matches!(ok("SAML_SIGNING_CERTIFICATE", &body), Value::Certificates(k, _) if k.len() == 1)
        );
        assert_eq!(
            err("SAML_SIGNING_CERTIFICATE", "not base64!"),
            "certificate 1 does not parse as X.509 (the base64 body does not decode)"
        );
        assert!(
            err("SAML_SIGNING_CERTIFICATE", "bm90IGEgY2VydA==")
                .starts_with("certificate 1 does not parse as X.509 (")
        );
        assert_eq!(
            err("SAML_SIGNING_CERTIFICATE", &pem[..pem.len() - 30]),
            "certificate 1 does not parse as X.509 (the PEM block has no END line)"
        );
    }

    #[test]
    fn private_keys() {
        let key = crate::config::tests::read_key("tests/fixtures/xmlsec/keys/sp-enc.key");
        assert!(matches!(
            ok("FEDBRIDGE_SP_PRIVATE_KEY", &key),
            Value::PrivateKey(..)
        ));
        let ec = crate::config::tests::read_key("tests/fixtures/xmlsec/keys/idp-ec256.key");
        assert_eq!(
            err("FEDBRIDGE_SP_PRIVATE_KEY", &ec),
            "the private key is not an RSA key; encrypted assertions use RSA-OAEP key transport"
        );
        let e = err("FEDBRIDGE_SP_PRIVATE_KEY", "secret-looking text");
        assert!(
            e.starts_with("the private key does not parse as PEM ("),
            "{e}"
        );
        assert!(!e.contains("secret-looking"));
    }

    #[test]
    fn booleans() {
        for name in [
            "SAML_AUTOMATIC_LOGIN",
            "FEDBRIDGE_ALLOW_IDP_INITIATED",
            "FEDBRIDGE_INSECURE_ALLOW_SHA1",
            "FEDBRIDGE_CREATE_MISSING_GROUPS",
        ] {
            assert!(matches!(ok(name, "1"), Value::Bool(true)));
            assert!(matches!(ok(name, " 0 "), Value::Bool(false)));
            for bad in ["true", "yes", "2", "01"] {
                assert_eq!(err(name, bad), format!("'{bad}' is not 0 or 1"));
            }
        }
    }

    #[test]
    fn string_arrays() {
        let Value::Strings(groups) = ok(
            "FEDERATEDLY_MANAGED_GROUPS",
            r#"["group1", "group 2", "group\"3"]"#,
        ) else {
            panic!()
        };
        assert_eq!(groups, ["group1", "group 2", "group\"3"]);
        assert!(
            matches!(ok("FEDERATEDLY_MANAGED_GROUPS", "[]"), Value::Strings(g) if g.is_empty())
        );
        assert_eq!(
            err("FEDERATEDLY_MANAGED_GROUPS", "group1, group2"),
            "'group1, group2' is not a JSON array of strings (expected value at line 1 column 1)"
        );
        assert_eq!(
            err("FEDERATEDLY_MANAGED_GROUPS", "[1]"),
            "'[1]' is not a JSON array of strings (invalid type: integer `1`, expected a string at line 1 column 2)"
        );
        assert_eq!(
            err("FEDERATEDLY_MANAGED_GROUPS", r#"{"a": "b"}"#),
            r#"'{"a": "b"}' is not a JSON array of strings (invalid type: map, expected a sequence at line 1 column 0)"#
        );
        assert_eq!(
            err("FEDERATEDLY_MANAGED_GROUPS", ""),
            "is an empty string, which is not a JSON array of strings"
        );
    }

    #[test]
    fn downstream_url_lists() {
        let Value::Strings(urls) = ok(
            "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
            r#"["https://Apps.example.com", "https://portal.example.com:8443/qpr?x=1"]"#,
        ) else {
            panic!()
        };
        assert_eq!(
            urls,
            [
                "https://apps.example.com/",
                "https://portal.example.com:8443/qpr"
            ]
        );
        assert_eq!(
            err(
                "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
                r#"["https://ok.example.com", "apps.example.com"]"#
            ),
            "element 2: 'apps.example.com' is not an absolute http(s) URL"
        );
        assert_eq!(
            err(
                "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS",
                "https://apps.example.com"
            ),
            "'https://apps.example.com' is not a JSON array of strings (expected value at line 1 column 1)"
        );
    }

    #[test]
    fn attribute_names() {
        assert!(matches!(ok("SAML_USER_EMAIL_ATTRIBUTE", " mail "), Value::Text(t) if t == "mail"));
        assert!(matches!(
            ok("SAML_USER_ID_ATTRIBUTE", "user name"),
            Value::Text(_)
        ));
        assert_eq!(
            err("SAML_USER_GROUPS_ATTRIBUTE", "gro\u{7}ups"),
            "'gro\u{7}ups' contains a control character"
        );
    }

    #[test]
    fn entity_ids() {
        assert!(matches!(
            ok(
                "SAML_SERVER_ENTITY_IDENTIFIER",
                "urn:mace:incommon:example.com"
            ),
            Value::Text(_)
        ));
        assert_eq!(
            err("FEDBRIDGE_SP_ENTITY_ID", "my sp"),
            "'my sp' contains whitespace; an entityID is a URI"
        );
        let long = format!("urn:{}", "x".repeat(1021));
        assert_eq!(
            err("SAML_SERVER_ENTITY_IDENTIFIER", &long),
            format!(
                "'urn:{}...' is longer than 1024 characters, the SAML limit for an entityID",
                "x".repeat(53)
            )
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_duration("8h"), Some(Duration::hours(8)));
        assert_eq!(parse_duration("1d"), Some(Duration::days(1)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        for bad in [
            "",
            "90",
            "h",
            "1.5h",
            "-1h",
            "1 h",
            "1w",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert!(matches!(ok("FEDBRIDGE_CLOCK_SKEW", "0s"), Value::Duration(d) if d.is_zero()));
        assert_eq!(
            err("FEDBRIDGE_CLOCK_SKEW", "180"),
            "'180' is not a duration such as 90s, 15m, 8h, 1d or 1h30m"
        );
        assert_eq!(
            err("FEDBRIDGE_CLOCK_SKEW", "2h"),
            "'2h' is longer than the maximum of 1h"
        );
        assert_eq!(
            err("FEDBRIDGE_XSESSION_LIFETIME", "30s"),
            "'30s' is shorter than the minimum of 1m"
        );
        assert_eq!(
            err("FEDBRIDGE_METADATA_REFRESH", "8d"),
            "'8d' is longer than the maximum of 7d"
        );
    }

    #[test]
    fn integers() {
        assert!(matches!(
            ok("FEDBRIDGE_MAX_RESPONSE_BYTES", "2048"),
            Value::Integer(2048)
        ));
        assert_eq!(
            err("FEDBRIDGE_MAX_RESPONSE_BYTES", "1MB"),
            "'1MB' is not a whole number"
        );
        assert_eq!(
            err("FEDBRIDGE_MAX_RESPONSE_BYTES", "100"),
            "'100' is below the minimum of 1024"
        );
        assert_eq!(
            err("FEDBRIDGE_MAX_RESPONSE_BYTES", "104857601"),
            "'104857601' is above the maximum of 104857600"
        );
    }

    #[test]
    fn enums() {
        for v in ["ES256", "RS256", "EdDSA"] {
            assert!(matches!(
                ok("FEDBRIDGE_XSESSION_ALGORITHM", v),
                Value::Text(_)
            ));
        }
        assert_eq!(
            err("FEDBRIDGE_XSESSION_ALGORITHM", "es256"),
            "'es256' is not one of ES256, RS256, EdDSA"
        );
        assert_eq!(
            err("FEDBRIDGE_XSESSION_ALGORITHM", "HS256"),
            "'HS256' is not one of ES256, RS256, EdDSA"
        );
    }

    #[test]
    fn text_and_secrets() {
        assert!(matches!(
            ok("FEDBRIDGE_XSESSION_AUDIENCE", "my apps"),
            Value::Text(_)
        ));
        assert_eq!(
            err("FEDBRIDGE_XSESSION_AUDIENCE", "a\nb"),
            "'a\nb' contains a control character"
        );
        let secret = ok("FEDBRIDGE_INTROSPECTION_SECRET", "0123456789abcdef");
        assert!(matches!(&secret, Value::Secret(s) if s.expose() == "0123456789abcdef"));
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(
            err("FEDBRIDGE_INTROSPECTION_SECRET", "hunter2"),
            "the value is shorter than 16 characters"
        );
    }
}
