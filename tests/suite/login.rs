//! The login flow over HTTP (check 1 of issue 4): the real `fedbridge serve` on a temporary
//! SQLite file, configured with `fedbridge config set` in the public-key scenario, driven hop by
//! hop by a cookie-keeping HTTP client that follows no redirect by itself. Every SAML response
//! is signed by xmlsec1 (`idp_signer`), never by our own code.
//!
//! The consumer URL is `https://sp.example.test/EnticeServices/rest/authenticate/saml`: the
//! server mounts the ACS at its path, so the tests POST to `http://127.0.0.1:PORT` + that path
//! while `Destination` and `Recipient` stay the https URL; the xsession `iss` is its origin.
//!
//! Each failure message names the step that failed and shows the last `login_audit` row and the
//! end of the server's log.

use std::collections::BTreeSet;

use base64::Engine as _;
use fedbridge::saml::authn_request::decode_redirect;
use fedbridge::saml::{ns, xml};
use fedbridge::token::XsessionClaims;
use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use url::Url;

use crate::idp_signer::{Assertion, C14n, Idp};
use crate::support::*;

mod binding;
mod downstream;
mod edge;
mod faults;
mod seeds;

/// The IdP's SSO URL (`SAML_REDIRECT_URL`).
const SSO: &str = "https://idp.example.test/sso";
/// The path of `SAML_CONSUMER_URL` (= `xmlsec::ACS`), where the ACS is mounted.
const ACS_PATH: &str = "/EnticeServices/rest/authenticate/saml";
/// fedbridge's own URL: the origin of the consumer URL, the xsession `iss`.
const ISSUER: &str = "https://sp.example.test";
/// The default xsession audience (`FEDBRIDGE_XSESSION_AUDIENCE`).
const AUDIENCE: &str = "xsession";
/// The one allowed downstream prefix (`FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS`), also the default
/// landing page.
const DOWNSTREAM: &str = "https://app.example.test/portal/";
/// The local groups every test creates with `fedbridge groups add`.
const LOCAL_GROUPS: [&str; 3] = ["Engineering", "Sales", "Staff"];
const ALICE: &str = "alice@example.test";

/// A configured fedbridge serving on loopback, and a browser (cookie jar, no automatic
/// redirects) pointed at it.
struct Bridge {
    instance: Instance,
    server: Server,
    browser: ureq::Agent,
    /// The SP entityID the AuthnRequests must name.
    sp_entity_id: String,
    /// The IdP SSO URL they must go to.
    sso: String,
}

impl Bridge {
    /// The public-key scenario for the xmlsec fixtures' IdP and SP, the attribute mapping, the
    /// downstream allow-list, then `extra` (replacing any of those); the local groups; then
    /// `fedbridge serve`.
    fn start(extra: &[(&str, &str)]) -> Bridge {
        Bridge::start_on(Instance::new(), extra)
    }

    /// [`Bridge::start`] on the database of `instance`.
    fn start_on(instance: Instance, extra: &[(&str, &str)]) -> Bridge {
        let cert = idp_cert();
        let allowed = format!("[\"{DOWNSTREAM}\"]");
        let mut settings = vec![
            ("SAML_REDIRECT_URL", SSO),
            ("SAML_SIGNING_CERTIFICATE", cert.as_str()),
            ("SAML_SERVER_ENTITY_IDENTIFIER", xmlsec::IDP),
            ("SAML_CONSUMER_URL", xmlsec::ACS),
            // The audience and SPNameQualifier of the xmlsec fixtures (not the default).
            ("FEDBRIDGE_SP_ENTITY_ID", xmlsec::SP),
            ("SAML_USER_FULLNAME_ATTRIBUTE", "displayName"),
            ("SAML_USER_EMAIL_ATTRIBUTE", "mail"),
            ("SAML_USER_GROUPS_ATTRIBUTE", "groups"),
            ("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", allowed.as_str()),
        ];
        // `extra` wins over the defaults above.
        settings.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
        settings.extend_from_slice(extra);
        let sp_entity_id = settings
            .iter()
            .find(|(k, _)| *k == "FEDBRIDGE_SP_ENTITY_ID")
            .map_or(xmlsec::ACS, |(_, v)| *v)
            .to_owned();
        Bridge::launch(instance, &settings, &LOCAL_GROUPS, &sp_entity_id, SSO)
    }

    /// Exactly `settings` (nothing pinned: the defaults apply) and the local `groups`; the
    /// AuthnRequests must name `sp_entity_id` and go to `sso`.
    fn start_exactly(
        settings: &[(&str, &str)],
        groups: &[&str],
        sp_entity_id: &str,
        sso: &str,
    ) -> Bridge {
        Bridge::launch(Instance::new(), settings, groups, sp_entity_id, sso)
    }

    fn launch(
        instance: Instance,
        settings: &[(&str, &str)],
        groups: &[&str],
        sp_entity_id: &str,
        sso: &str,
    ) -> Bridge {
        instance.config_set(settings);
        if !groups.is_empty() {
            let mut add = vec!["groups", "add", "--"];
            add.extend(groups);
            instance.fedbridge_ok(&add);
        }
        let server = instance.serve("serve.log");
        let browser = browser();
        Bridge {
            instance,
            server,
            browser,
            sp_entity_id: sp_entity_id.to_owned(),
            sso: sso.to_owned(),
        }
    }

    /// Stops the server, lets `stopped` change its instance (files, settings), and starts
    /// `fedbridge serve` on it again (stderr in the file `log`); the browser's cookies stay.
    fn restart(self, log: &str, stopped: impl FnOnce(&Instance)) -> Bridge {
        let Bridge {
            instance,
            server,
            browser,
            sp_entity_id,
            sso,
        } = self;
        drop(server);
        stopped(&instance);
        let server = instance.serve(log);
        Bridge {
            instance,
            server,
            browser,
            sp_entity_id,
            sso,
        }
    }

    /// `GET path` with the browser's cookies and `headers`.
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.get_as(&self.browser, path, headers)
    }

    /// `GET path` from `browser` (another cookie jar) with `headers`.
    fn get_as(&self, browser: &ureq::Agent, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = browser.get(self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.call())
    }

    /// `POST path` of a form, with the browser's cookies and `headers`.
    fn post_form(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        self.post_form_as(&self.browser, path, form, headers)
    }

    /// `POST path` of a form from `browser` (another cookie jar) with `headers`.
    fn post_form_as(
        &self,
        browser: &ureq::Agent,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = browser.post(self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send_form(form.iter().copied()))
    }

    /// What the IdP's auto-post form does: POSTs `SAMLResponse` (and `RelayState`) to the ACS.
    /// (A browser without the login cookie gets the same-site hop page and submits its form
    /// at once, as its script does.)
    fn post_response(&self, saml_response: &str, relay_state: Option<&str>) -> Reply {
        self.post_response_as(&self.browser, saml_response, relay_state)
    }

    /// [`Bridge::post_response`] from `browser` (another cookie jar).
    fn post_response_as(
        &self,
        browser: &ureq::Agent,
        saml_response: &str,
        relay_state: Option<&str>,
    ) -> Reply {
        let reply = self.post_response_once(browser, saml_response, relay_state);
        match hop_fields(&reply) {
            Some(fields) => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                self.post_form_as(browser, ACS_PATH, &fields, &[])
            }
            None => reply,
        }
    }

    /// The IdP's POST alone, without following a hop page.
    fn post_response_once(
        &self,
        browser: &ureq::Agent,
        saml_response: &str,
        relay_state: Option<&str>,
    ) -> Reply {
        let mut form = vec![("SAMLResponse", saml_response)];
        form.extend(relay_state.map(|relay| ("RelayState", relay)));
        self.post_form_as(browser, ACS_PATH, &form, &[])
    }

    /// The last row of `login_audit`, all columns.
    fn last_audit(&self) -> String {
        let row = self.instance.sqlite3(
            "SELECT id, at, outcome, reason_code, detail, idp, \
             login_name, correlation_id, client FROM login_audit ORDER BY id DESC LIMIT 1",
        );
        if row.trim().is_empty() {
            "(no login_audit row)".into()
        } else {
            row.trim().to_owned()
        }
    }

    /// `outcome|reason_code` of the audit row with `correlation_id` (empty when none).
    fn audit_of(&self, correlation_id: &str) -> String {
        self.instance
            .sqlite3(&format!(
                "SELECT outcome, reason_code FROM login_audit WHERE correlation_id = '{}'",
                correlation_id.replace('\'', "''")
            ))
            .trim()
            .to_owned()
    }

    /// `outcome|reason_code|flags` of the last audit row.
    fn last_flags(&self) -> String {
        self.instance
            .sqlite3(
                "SELECT outcome, coalesce(reason_code, ''), coalesce(flags, '') FROM login_audit \
                 ORDER BY id DESC LIMIT 1",
            )
            .trim()
            .to_owned()
    }

    /// `group|federated` lines of `login`'s memberships, by group name.
    fn memberships(&self, login: &str) -> String {
        self.instance.sqlite3(&format!(
            "SELECT g.name, CAST(m.federated AS INTEGER) FROM memberships m JOIN groups g ON g.id = m.group_id \
             JOIN users u ON u.id = m.user_id WHERE u.login_name = '{}' ORDER BY g.name",
            login.replace('\'', "''")
        ))
    }

    /// Waits (up to 10 s) until the server has reloaded a configuration naming `key`.
    fn wait_reloaded(&self, key: &str) {
        for _ in 0..100 {
            if self
                .server
                .log()
                .lines()
                .any(|l| l.contains("configuration reloaded") && l.contains(key))
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not reload {key}:\n{}", self.server.log());
    }

    /// Waits (at most 15 s: the counts are written every 10 s) until the counted refusals of
    /// `reason` add up to `count`; their correlation IDs and details, one row a line.
    fn wait_for_counted(&self, reason: &str, count: usize) -> String {
        let started = std::time::Instant::now();
        let query = format!(
            "SELECT coalesce(sum(count), 0) FROM login_audit WHERE reason_code = '{reason}'"
        );
        loop {
            let total: usize = self.instance.sqlite3(&query).trim().parse().unwrap();
            if total >= count {
                return self.instance.sqlite3(&format!(
                    "SELECT client, count, correlation_id, detail FROM login_audit \
                     WHERE reason_code = '{reason}'"
                ));
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "{total} of {count} {reason} refusals counted; log:\n{}",
                self.server.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// `SELECT count(*) FROM table`.
    fn count(&self, table: &str) -> usize {
        let n = self
            .instance
            .sqlite3(&format!("SELECT count(*) FROM {table}"));
        n.trim().parse().unwrap()
    }

    /// The failure message of `step`: the reply, the last audit row, the end of the log.
    fn why(&self, step: &str, reply: &Reply) -> String {
        let log = self.server.log();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let body: String = reply.body.chars().take(3000).collect();
        format!(
            "step failed: {step}\nHTTP {} Location: {:?}\nSet-Cookie: {:?}\nbody:\n{body}\n\
             last login_audit row: {}\nserver log (last lines):\n{}",
            reply.status,
            reply.location,
            reply.set_cookies,
            self.last_audit(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// `GET /saml/login[?target=]`: must be a 303 to the IdP with an AuthnRequest for us.
    fn begin(&self, target: Option<&str>) -> Begun {
        self.begin_at("/saml/login", target)
    }

    /// `GET start[?target=]`: must be a 303 to the IdP with an AuthnRequest for us.
    fn begin_at(&self, start: &str, target: Option<&str>) -> Begun {
        let path = match target {
            Some(target) => format!("{start}?target={}", encode(target)),
            None => start.to_owned(),
        };
        let step = format!("GET {path}");
        let reply = self.get(&path, &[]);
        assert_eq!(reply.status, 303, "{}", self.why(&step, &reply));
        assert!(
            reply
                .location
                .starts_with(&format!("{}?SAMLRequest=", self.sso)),
            "{}",
            self.why(&format!("{step}: redirect to the IdP's SSO URL"), &reply)
        );
        let decoded = decode_redirect(&reply.location)
            .unwrap_or_else(|e| panic!("{}", self.why(&format!("{step}: decode ({e})"), &reply)));
        let doc = xml::parse(decoded.xml.as_bytes(), 1 << 16).unwrap();
        let request = doc.root().unwrap();
        assert!(request.is(ns::SAMLP, "AuthnRequest"), "{}", decoded.xml);
        let attr = |name: &str| request.attr(name).unwrap_or_default().into_owned();
        let issuer = request
            .first_child(ns::SAML, "Issuer")
            .map(|e| e.text().into_owned());
        assert_eq!(attr("Destination"), self.sso, "{}", decoded.xml);
        assert_eq!(
            attr("AssertionConsumerServiceURL"),
            xmlsec::ACS,
            "{}",
            decoded.xml
        );
        assert_eq!(
            issuer.as_deref(),
            Some(self.sp_entity_id.as_str()),
            "{}",
            decoded.xml
        );
        let request_id = attr("ID");
        assert!(!request_id.is_empty(), "{}", decoded.xml);
        let relay_state = decoded
            .relay_state
            .unwrap_or_else(|| panic!("{}", self.why(&format!("{step}: RelayState"), &reply)));
        Begun {
            request_id,
            relay_state,
        }
    }

    /// A whole SP-initiated login of `assertion` (answering the request it starts) that must
    /// land on `target` (or the default landing page): the token and the reply.
    fn login(&self, idp: &Idp, target: Option<&str>, assertion: Assertion) -> Landed {
        let begun = self.begin(target);
        let response = idp.post_value(&assertion.answering(&begun.request_id));
        let reply = self.post_response(&response, Some(&begun.relay_state));
        self.landed(
            &reply,
            target.unwrap_or(DOWNSTREAM),
            "POST the signed response",
        )
    }

    /// Checks that `reply` is the 303 of an accepted login to `target` + `xsession=` (on
    /// fedbridge's own origin, where the cookie carries the token: `target` alone).
    fn landed(&self, reply: &Reply, target: &str, step: &str) -> Landed {
        assert_eq!(reply.status, 303, "{}", self.why(step, reply));
        let landing = Url::parse(&reply.location)
            .unwrap_or_else(|e| panic!("{}", self.why(&format!("{step}: Location ({e})"), reply)));
        let own_origin = landing.origin() == Url::parse(xmlsec::ACS).unwrap().origin();
        let token = if own_origin {
            assert!(
                query_param(&landing, "xsession").is_none(),
                "{}",
                self.why(&format!("{step}: no token in our own address"), reply)
            );
            cookie_value(&reply.set_cookies, "xsession")
        } else {
            query_param(&landing, "xsession")
        };
        let token =
            token.unwrap_or_else(|| panic!("{}", self.why(&format!("{step}: the token"), reply)));
        let mut without = landing.clone();
        let kept: Vec<(String, String)> = landing
            .query_pairs()
            .filter(|(name, _)| name != "xsession")
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        without.set_query(None);
        if !kept.is_empty() {
            without.query_pairs_mut().extend_pairs(kept);
        }
        assert_eq!(
            without.as_str(),
            Url::parse(target).unwrap().as_str(),
            "{}",
            self.why(&format!("{step}: lands on the target"), reply)
        );
        assert_eq!(
            self.last_audit().split('|').nth(2),
            Some("accepted"),
            "{}",
            self.why(&format!("{step}: accepted audit row"), reply)
        );
        Landed {
            token,
            set_cookies: reply.set_cookies.clone(),
        }
    }

    /// Checks that `reply` is a refusal (400) whose page shows a correlation ID audited with
    /// `reason`; returns the correlation ID.
    fn refused(&self, reply: &Reply, reason: &str, step: &str) -> String {
        self.refused_with(400, reply, reason, step)
    }

    /// [`Bridge::refused`] with another HTTP status.
    fn refused_with(&self, status: u16, reply: &Reply, reason: &str, step: &str) -> String {
        assert_eq!(reply.status, status, "{}", self.why(step, reply));
        let correlation_id = correlation_id(&reply.body)
            .unwrap_or_else(|| panic!("{}", self.why(&format!("{step}: correlation ID"), reply)));
        assert_eq!(
            self.audit_of(&correlation_id),
            format!("rejected|{reason}"),
            "{}",
            self.why(&format!("{step}: audit row of {correlation_id}"), reply)
        );
        correlation_id
    }

    /// The JWKS as published.
    fn jwks(&self) -> (JwkSet, String) {
        let reply = self.get("/.well-known/jwks.json", &[]);
        assert_eq!(reply.status, 200, "{}", self.why("GET the JWKS", &reply));
        let set = serde_json::from_str(&reply.body)
            .unwrap_or_else(|e| panic!("{}", self.why(&format!("JWKS ({e})"), &reply)));
        (set, reply.body)
    }

    /// `token` verified with `fedbridge::token::verify` and the published JWKS.
    fn verify(&self, token: &str) -> XsessionClaims {
        let (set, _) = self.jwks();
        fedbridge::token::verify(
            token,
            &set,
            ISSUER,
            AUDIENCE,
            fedbridge::clock::Clock::now(&fedbridge::clock::SystemClock),
        )
        .unwrap_or_else(|e| panic!("the xsession does not verify: {e}\n{}", self.last_audit()))
    }

    /// `POST /api/xsession/introspect` with `token=` and `headers`: (status, JSON).
    fn introspect(&self, token: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let reply = self.post_form("/api/xsession/introspect", &[("token", token)], headers);
        let json = serde_json::from_str(&reply.body).unwrap_or_else(|e| {
            panic!("{}", self.why(&format!("introspection JSON ({e})"), &reply))
        });
        (reply.status, json)
    }

    /// Whether introspection (without client credentials) says the token is active.
    fn active(&self, token: &str) -> bool {
        let (status, json) = self.introspect(token, &[]);
        assert_eq!(status, 200, "{json}");
        json["active"].as_bool().unwrap()
    }

    /// The browser's `xsession` cookie for the server, if it keeps one.
    fn cookie(&self) -> Option<String> {
        let jar = self.browser.cookie_jar_lock();
        jar.get("127.0.0.1", "/", "xsession")
            .map(|c| c.value().to_owned())
    }
}

/// A login started with `/saml/login`.
struct Begun {
    request_id: String,
    relay_state: String,
}

/// A login that landed.
struct Landed {
    token: String,
    set_cookies: Vec<String>,
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The correlation ID on an error page (`<strong><code>ID</code></strong>`).
fn correlation_id(page: &str) -> Option<String> {
    let start = page.find("<strong><code>")? + "<strong><code>".len();
    let len = page[start..].find("</code></strong>")?;
    let id = &page[start..start + len];
    (!id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then(|| id.to_owned())
}

/// Alice as the IdP describes her: name, mail, and her groups at the IdP.
fn alice(groups: &[&str]) -> Assertion {
    Assertion::about(ALICE)
        .attribute("displayName", &["Alice Example"])
        .attribute("mail", &[ALICE])
        .attribute("groups", groups)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// PyJWT, an independent JWT implementation, verifies `token` with the JWKS document `jwks`
/// (signature, `iss`, `aud`, `exp`, `nbf`) and returns its claims; `None` (after a SKIPPED
/// line) without python3 + pyjwt + cryptography, unless `FEDBRIDGE_REQUIRE_PYJWT` is set.
fn pyjwt_claims(test: &str, token: &str, jwks: &str) -> Option<Value> {
    const SCRIPT: &str = r#"
import json, sys, jwt
jwks = json.loads(sys.argv[1])
token = sys.argv[2]
kid = jwt.get_unverified_header(token)["kid"]
key = [k for k in jwks["keys"] if k["kid"] == kid][0]
claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=sys.argv[3],
                    issuer=sys.argv[4], leeway=5)
print(json.dumps(claims))
"#;
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let message = format!(
            "SKIPPED the PyJWT cross-check of {test}: python3 with pyjwt and cryptography not \
             found (pip install pyjwt cryptography)"
        );
        assert!(
            std::env::var_os("FEDBRIDGE_REQUIRE_PYJWT").is_none(),
            "{message}"
        );
        crate::support::shout(&message);
        crate::skips::record(
            test,
            "python3 with pyjwt and cryptography not found (pip install pyjwt cryptography)",
        );
        return None;
    }
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT, jwks, token, AUDIENCE, ISSUER])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyJWT refuses the xsession: {}",
        stderr(&out)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

// ---------------------------------------------------------------------------------------------
// 1. SP-initiated login
// ---------------------------------------------------------------------------------------------

#[test]
fn sp_initiated_login_lands_on_the_target_with_a_verified_xsession() {
    let Some(idp) = Idp::new("sp_initiated_login_lands_on_the_target_with_a_verified_xsession")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let target = "https://app.example.test/portal/home?tab=1";

    // The redirect to the IdP: the RelayState is an opaque handle to a server-side record.
    let begun = bridge.begin(Some(target));
    let relay = &begun.relay_state;
    assert!(
        relay != target && !relay.contains("example") && !relay.contains(':'),
        "RelayState {relay:?} is not opaque"
    );
    assert!(Url::parse(relay).is_err(), "RelayState {relay:?} is a URL");
    assert!(relay.len() >= 16, "RelayState {relay:?} is too short");
    assert_eq!(
        bridge.instance.sqlite3(&format!(
            "SELECT request_id, target FROM outstanding_requests WHERE relay_handle = '{relay}'"
        )),
        format!("{}|{target}\n", begun.request_id),
        "the request is remembered with its target under the handle"
    );

    // The IdP's signed answer (with one group unknown here) -> the target with the token.
    let assertion = alice(&["Engineering", "Ghost Group"]).answering(&begun.request_id);
    let reply = bridge.post_response(&idp.post_value(&assertion), Some(relay));
    let landed = bridge.landed(&reply, target, "POST the signed response to the ACS");
    assert_eq!(
        bridge.count("outstanding_requests"),
        0,
        "the request is consumed"
    );

    // The cookie: for every path, no script, Secure (https consumer URL), SameSite=Lax.
    let cookie = landed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("xsession="))
        .unwrap_or_else(|| panic!("{}", bridge.why("xsession Set-Cookie", &reply)));
    assert!(
        cookie.starts_with(&format!("xsession={};", landed.token)),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} missing: {cookie}"
        );
    }
    assert_eq!(bridge.cookie().as_deref(), Some(landed.token.as_str()));

    // The token verifies with the published keys, by our verifier and by PyJWT.
    let claims = bridge.verify(&landed.token);
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.sub, ALICE);
    assert_eq!(claims.name.as_deref(), Some("Alice Example"));
    assert_eq!(claims.email.as_deref(), Some(ALICE));
    assert_eq!(
        claims.groups,
        ["Engineering"],
        "the local groups named by the IdP, the unknown one ignored"
    );
    let (_, jwks) = bridge.jwks();
    if let Some(seen) = pyjwt_claims(
        "sp_initiated_login_lands_on_the_target_with_a_verified_xsession",
        &landed.token,
        &jwks,
    ) {
        assert_eq!(seen["iss"], ISSUER);
        assert_eq!(seen["aud"], AUDIENCE);
        assert_eq!(seen["sub"], ALICE);
        assert_eq!(seen["name"], "Alice Example");
        assert_eq!(seen["email"], ALICE);
        assert_eq!(seen["groups"], serde_json::json!(["Engineering"]));
        assert_eq!(seen["jti"], claims.jti.as_str());
    }

    // The administrator sees the user.
    let shown = bridge.instance.fedbridge_ok(&["users", "show", ALICE]);
    for expected in [ALICE, "Alice Example", "federated groups:    Engineering"] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. IdP-initiated login
// ---------------------------------------------------------------------------------------------

#[test]
fn idp_initiated_login_is_refused_by_default() {
    let Some(idp) = Idp::new("idp_initiated_login_is_refused_by_default") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let reply = bridge.post_response(&idp.post_value(&alice(&["Sales"])), None);
    bridge.refused(
        &reply,
        "unsolicited_not_allowed",
        "POST an unsolicited response",
    );
    assert_eq!(bridge.count("users"), 0);
}

#[test]
fn idp_initiated_login_when_allowed_honours_only_allowed_relay_states() {
    let Some(idp) = Idp::new("idp_initiated_login_when_allowed_honours_only_allowed_relay_states")
    else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_ALLOW_IDP_INITIATED", "1")]);

    // No RelayState: the default landing page, the first allowed downstream URL.
    let reply = bridge.post_response(&idp.post_value(&alice(&["Sales"])), None);
    let landed = bridge.landed(&reply, DOWNSTREAM, "unsolicited, no RelayState");
    assert_eq!(bridge.verify(&landed.token).groups, ["Sales"]);

    // A RelayState naming an allowed target is honoured.
    let reports = "https://app.example.test/portal/reports?id=7";
    let reply = bridge.post_response(&idp.post_value(&alice(&["Sales"])), Some(reports));
    bridge.landed(&reply, reports, "unsolicited, RelayState an allowed target");

    // One naming another site is not followed: the default landing page instead.
    for evil in ["https://evil.example/", "//evil.example/x"] {
        let reply = bridge.post_response(&idp.post_value(&alice(&["Sales"])), Some(evil));
        bridge.landed(
            &reply,
            DOWNSTREAM,
            &format!("unsolicited, RelayState {evil}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Automatic login
// ---------------------------------------------------------------------------------------------

#[test]
fn automatic_login_sends_the_login_page_straight_to_the_idp() {
    let bridge = Bridge::start(&[("SAML_AUTOMATIC_LOGIN", "1")]);
    let reply = bridge.get("/", &[]);
    assert_eq!(reply.status, 303, "{}", bridge.why("GET /", &reply));
    assert_eq!(
        reply.location,
        "/saml/login",
        "{}",
        bridge.why("GET /", &reply)
    );
    let target = "https://app.example.test/portal/x";
    let reply = bridge.get(&format!("/?target={}", encode(target)), &[]);
    assert_eq!(
        reply.location,
        format!("/saml/login?target={}", encode(target)),
        "{}",
        bridge.why("GET /?target=", &reply)
    );
    // ... where the AuthnRequest starts.
    bridge.begin(Some(target));
}

#[test]
fn without_automatic_login_the_login_page_shows_the_sso_button() {
    let bridge = Bridge::start(&[]);
    let reply = bridge.get("/", &[]);
    assert_eq!(reply.status, 200, "{}", bridge.why("GET /", &reply));
    assert!(
        reply.body.contains("Log in using SSO") && reply.body.contains("action=\"/saml/login\""),
        "{}",
        bridge.why("GET /: the SSO button", &reply)
    );
    assert_eq!(bridge.count("outstanding_requests"), 0);
}

// ---------------------------------------------------------------------------------------------
// 4., 5. Replay and unknown requests
// ---------------------------------------------------------------------------------------------

#[test]
fn a_replayed_response_and_a_second_answer_to_the_same_request_are_refused() {
    let Some(idp) =
        Idp::new("a_replayed_response_and_a_second_answer_to_the_same_request_are_refused")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.landed(&reply, DOWNSTREAM, "the first POST");

    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused(&reply, "replay", "the same POST again");

    let fresh = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&fresh, Some(&begun.relay_state));
    bridge.refused(
        &reply,
        "in_response_to_unknown",
        "a fresh response to the answered request",
    );
}

#[test]
fn a_response_to_an_unknown_request_is_refused() {
    let Some(idp) = Idp::new("a_response_to_an_unknown_request_is_refused") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    // A request of ours is outstanding, but the response answers another one.
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Sales"]).answering("_never-issued-by-fedbridge"));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused(
        &reply,
        "in_response_to_unknown",
        "POST a response to _never-issued",
    );
    assert_eq!(bridge.count("users"), 0);
    assert_eq!(
        bridge.count("outstanding_requests"),
        1,
        "our own request is still outstanding"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Open redirects and RelayState
// ---------------------------------------------------------------------------------------------

#[test]
fn login_targets_outside_the_allow_list_are_refused_without_echoing_them() {
    let bridge = Bridge::start(&[]);
    let port = bridge.server.port;
    let evil_port_host = format!("http://127.0.0.1:{port}.evil.example/");
    let targets = [
        ("https://evil.example/", "evil"),
        ("//evil.example/", "evil"),
        ("https://sp.example.test@evil.example/", "evil"),
        ("javascript:alert(1)", "alert(1)"),
        (evil_port_host.as_str(), "evil"),
        ("https://app.example.test/portal-admin/", "portal-admin"),
        ("https://app.example.test/otherapp", "otherapp"),
        // Issue 11: encoded slashes and dot segments never escape the downstream prefix.
        ("https://app.example.test/portal/..%2fadmin", "%2f"),
        ("https://app.example.test/portal/..%5cadmin", "%5c"),
        ("https://app.example.test/portal/..;/admin", ";/"),
        (
            "https://app.example.test/portal/%252e%252e%252fadmin",
            "%25",
        ),
    ];
    let mut references = Vec::new();
    for (target, marker) in targets {
        let step = format!("GET /saml/login?target={target}");
        let reply = bridge.get(&format!("/saml/login?target={}", encode(target)), &[]);
        assert_eq!(reply.status, 400, "{}", bridge.why(&step, &reply));
        assert!(reply.location.is_empty(), "{}", bridge.why(&step, &reply));
        let correlation_id = correlation_id(&reply.body).unwrap_or_else(|| {
            panic!("{}", bridge.why(&format!("{step}: correlation ID"), &reply))
        });
        assert!(
            !reply.body.contains(marker) && !reply.body.contains("example"),
            "{}",
            bridge.why(&format!("{step}: the page quotes the attacker"), &reply)
        );
        assert_eq!(
            bridge.count("outstanding_requests"),
            0,
            "{}",
            bridge.why(&format!("{step}: nothing remembered"), &reply)
        );
        references.push(correlation_id);
    }
    // Any web page can make a browser ask: counted per minute, client and reason, one row with
    // a count, in which every reference a person was shown can be found (web::refusals).
    let found = bridge.wait_for_counted("target_not_allowed", targets.len());
    for reference in &references {
        assert!(
            found.contains(reference.as_str()),
            "{reference} not in {found}"
        );
    }
}

#[test]
fn a_relay_state_other_than_the_requests_own_handle_is_refused() {
    let Some(idp) = Idp::new("a_relay_state_other_than_the_requests_own_handle_is_refused") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let first = bridge.begin(Some("https://app.example.test/portal/first"));
    let second = bridge.begin(Some("https://app.example.test/portal/second"));
    let response = idp.post_value(&alice(&["Sales"]).answering(&first.request_id));
    let reply = bridge.post_response(&response, Some(&second.relay_state));
    bridge.refused(
        &reply,
        "relay_state_mismatch",
        "POST the answer to the first request with the second request's RelayState",
    );
    assert_eq!(bridge.count("xsessions"), 0);
    assert!(bridge.cookie().is_none());
}

// ---------------------------------------------------------------------------------------------
// 7. Logout and introspection
// ---------------------------------------------------------------------------------------------

#[test]
fn logout_revokes_the_xsession_and_clears_the_cookie() {
    let Some(idp) = Idp::new("logout_revokes_the_xsession_and_clears_the_cookie") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let landed = bridge.login(&idp, None, alice(&["Engineering", "Sales"]));

    let (status, json) = bridge.introspect(&landed.token, &[]);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["sub"], ALICE, "{json}");
    assert_eq!(json["username"], ALICE, "{json}");
    assert_eq!(json["iss"], ISSUER, "{json}");
    assert_eq!(json["aud"], AUDIENCE, "{json}");
    assert_eq!(json["groups"], serde_json::json!(["Engineering", "Sales"]));

    // The login page knows who is signed in (the browser sends the cookie).
    let reply = bridge.get("/", &[]);
    assert!(
        reply.body.contains("Alice Example"),
        "{}",
        bridge.why("GET / signed in", &reply)
    );

    // GET changes nothing (a link or an image on any site could point at it): a confirmation
    // page whose form carries this session's logout token.
    let page = bridge.get("/logout", &[]);
    assert_eq!(page.status, 200, "{}", bridge.why("GET /logout", &page));
    assert!(page.body.contains("Alice Example"), "{}", page.body);
    let logout_token = page
        .body
        .split("name=\"logout_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{}", bridge.why("the logout token", &page)))
        .to_owned();
    assert!(
        bridge.active(&landed.token),
        "GET /logout revoked the token"
    );
    // A cross-site POST with only the cookie (logout CSRF): refused, nothing revoked.
    let reply = bridge.post_form("/logout", &[], &[("Sec-Fetch-Site", "cross-site")]);
    assert_eq!(
        reply.status,
        403,
        "{}",
        bridge.why("cross-site POST", &reply)
    );
    assert!(reply.body.contains("href=\"/logout\""), "{}", reply.body);
    let reply = bridge.post_form("/logout", &[("logout_token", "forged")], &[]);
    assert_eq!(
        reply.status,
        403,
        "{}",
        bridge.why("forged logout token", &reply)
    );
    assert!(bridge.active(&landed.token));
    // The confirmation page's form (browsers without Fetch metadata send only the token).
    let reply = bridge.post_form("/logout", &[("logout_token", &logout_token)], &[]);
    assert_eq!(reply.status, 303, "{}", bridge.why("POST /logout", &reply));
    assert_eq!(
        reply.location,
        "/?signed_out=1",
        "{}",
        bridge.why("POST /logout", &reply)
    );
    let removal = reply
        .set_cookies
        .iter()
        .find(|c| c.starts_with("xsession=;") || c.starts_with("xsession=\"\""))
        .unwrap_or_else(|| panic!("{}", bridge.why("POST /logout: removal cookie", &reply)));
    assert!(
        removal.contains("Max-Age=0") && removal.contains("Path=/"),
        "{removal}"
    );
    assert!(bridge.cookie().is_none(), "the browser dropped the cookie");
    assert!(
        !bridge.active(&landed.token),
        "introspection after logout: {}",
        bridge.last_audit()
    );
    assert_eq!(bridge.count("revoked_sessions"), 1);
    // fedbridge's own page does not take a revoked token for a session.
    let cookie = format!("xsession={}", landed.token);
    let reply = bridge.get_as(&browser(), "/", &[("Cookie", &cookie)]);
    assert!(!reply.body.contains("signed in"), "{}", reply.body);
}

#[test]
fn a_same_origin_logout_or_the_token_itself_revokes() {
    let Some(idp) = Idp::new("a_same_origin_logout_or_the_token_itself_revokes") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    // Our own page's form in a browser that sends Fetch metadata.
    let first = bridge.login(&idp, None, alice(&["Staff"]));
    let reply = bridge.post_form("/logout", &[], &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(
        reply.status,
        303,
        "{}",
        bridge.why("same-origin POST", &reply)
    );
    assert!(!bridge.active(&first.token));
    // A downstream app posts its user's token from anywhere: holding it is the authority.
    let second = bridge.login(&idp, None, alice(&["Staff"]));
    let reply = bridge.post_form_as(
        &browser(),
        "/logout",
        &[("xsession", &second.token)],
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(
        reply.status,
        303,
        "{}",
        bridge.why("POST the token", &reply)
    );
    assert!(!bridge.active(&second.token));
}

#[test]
fn introspection_with_a_secret_requires_client_credentials_and_logout_goes_to_the_exit_url() {
    let Some(idp) = Idp::new(
        "introspection_with_a_secret_requires_client_credentials_and_logout_goes_to_the_exit_url",
    ) else {
        return;
    };
    let secret = "introspection-secret-0123456789";
    let exit = "https://www.example.test/goodbye";
    let bridge = Bridge::start(&[
        ("FEDBRIDGE_INTROSPECTION_SECRET", secret),
        ("FEDBRIDGE_EXIT_URL", exit),
    ]);
    let landed = bridge.login(&idp, None, alice(&["Staff"]));
    let basic = |password: &str| {
        let pair = format!("downstream:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };

    let (status, _) = bridge.introspect(&landed.token, &[]);
    assert_eq!(status, 401, "no credentials");
    let wrong = basic("not-the-secret-at-all");
    let (status, _) = bridge.introspect(&landed.token, &[("Authorization", &wrong)]);
    assert_eq!(status, 401, "wrong Basic password");
    let bearer = format!("Bearer {secret}x");
    let (status, _) = bridge.introspect(&landed.token, &[("Authorization", &bearer)]);
    assert_eq!(status, 401, "wrong Bearer secret");

    let right = basic(secret);
    let (status, json) = bridge.introspect(&landed.token, &[("Authorization", &right)]);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["groups"], serde_json::json!(["Staff"]), "{json}");

    let reply = bridge.post_form("/logout", &[], &[("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(reply.status, 303, "{}", bridge.why("POST /logout", &reply));
    assert_eq!(
        reply.location,
        exit,
        "{}",
        bridge.why("POST /logout", &reply)
    );
    let (status, json) = bridge.introspect(&landed.token, &[("Authorization", &right)]);
    assert_eq!(
        (status, &json["active"]),
        (200, &Value::Bool(false)),
        "{json}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Error pages
// ---------------------------------------------------------------------------------------------

#[test]
fn a_refused_response_shows_a_correlation_id_and_none_of_the_senders_markup() {
    let Some(idp) =
        Idp::new("a_refused_response_shows_a_correlation_id_and_none_of_the_senders_markup")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let begun = bridge.begin(None);
    let payload = "<script>alert('xss-marker')</script>";
    let assertion = Assertion::about(&format!("{payload}@example.test"))
        .attribute("displayName", &["<img src=x onerror=alert('xss-marker')>"])
        .attribute("groups", &[payload])
        .audience(&format!("https://other-sp.example.test/{payload}"))
        .answering(&begun.request_id);
    let reply = bridge.post_response(&idp.post_value(&assertion), Some(&begun.relay_state));
    let correlation_id = bridge.refused(&reply, "audience_mismatch", "POST for another audience");
    for needle in ["xss-marker", "<script", "onerror", "other-sp"] {
        assert!(
            !reply.body.contains(needle),
            "{}",
            bridge.why(&format!("the page contains {needle:?}"), &reply)
        );
    }
    assert!(
        bridge.last_audit().contains(&format!("|{correlation_id}|")),
        "{}",
        bridge.why("the correlation ID is the last audit row's", &reply)
    );
    assert_eq!(bridge.count("users"), 0);
}

// ---------------------------------------------------------------------------------------------
// 9. Group sync over two logins
// ---------------------------------------------------------------------------------------------

#[test]
fn group_sync_over_two_logins_moves_managed_groups_and_revokes_the_older_token() {
    let Some(idp) =
        Idp::new("group_sync_over_two_logins_moves_managed_groups_and_revokes_the_older_token")
    else {
        return;
    };
    let bridge = Bridge::start(&[("FEDERATEDLY_MANAGED_GROUPS", r#"["Engineering","Sales"]"#)]);
    // Alice exists already, with a local membership an administrator gave her.
    bridge.instance.sqlite3(&format!(
        "INSERT INTO users (login_name, created_at, updated_at) VALUES ('{ALICE}', 0, 0); \
         INSERT INTO memberships (user_id, group_id, federated) \
         SELECT u.id, g.id, FALSE FROM users u, groups g \
         WHERE u.login_name = '{ALICE}' AND g.name = 'Staff';"
    ));
    let memberships = || {
        bridge.instance.sqlite3(&format!(
            "SELECT g.name, CAST(m.federated AS INTEGER) FROM memberships m JOIN groups g ON g.id = m.group_id \
             JOIN users u ON u.id = m.user_id WHERE u.login_name = '{ALICE}' ORDER BY g.name"
        ))
    };

    let first = bridge.login(&idp, None, alice(&["Engineering"]));
    assert_eq!(
        bridge
            .verify(&first.token)
            .groups
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&["Engineering", "Staff"])
    );
    assert_eq!(memberships(), "Engineering|1\nStaff|0\n");

    let second = bridge.login(&idp, None, alice(&["Sales"]));
    assert_eq!(
        bridge
            .verify(&second.token)
            .groups
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&["Sales", "Staff"])
    );
    assert_eq!(
        memberships(),
        "Sales|1\nStaff|0\n",
        "Engineering removed, Sales added, Staff untouched"
    );
    assert!(
        !bridge.active(&first.token),
        "the first token names a group Alice lost: {}",
        bridge.last_audit()
    );
    assert!(bridge.active(&second.token));
    let shown = bridge.instance.fedbridge_ok(&["users", "show", ALICE]);
    for expected in ["federated groups:    Sales", "local groups:        Staff"] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
}

// ---------------------------------------------------------------------------------------------
// A disabled user
// ---------------------------------------------------------------------------------------------

#[test]
fn a_disabled_user_is_refused_with_403_and_no_token() {
    let Some(idp) = Idp::new("a_disabled_user_is_refused_with_403_and_no_token") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    bridge.instance.sqlite3(&format!(
        "INSERT INTO users (login_name, disabled, created_at, updated_at) \
         VALUES ('{ALICE}', TRUE, 0, 0)"
    ));
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused_with(
        403,
        &reply,
        "user_disabled",
        "POST the response of a disabled user",
    );
    assert!(
        reply.set_cookies.is_empty(),
        "{}",
        bridge.why("no cookie", &reply)
    );
    assert_eq!(bridge.count("xsessions"), 0);
    assert_eq!(
        bridge.instance.sqlite3("SELECT count(*) FROM memberships"),
        "0\n",
        "the sync of a refused login is rolled back"
    );
}

// ---------------------------------------------------------------------------------------------
// Settings that say what is in service (issue 11, check 4)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_removed_key_and_downstream_url_are_out_of_service_once_config_set_reports_success() {
    let Some(idp) = Idp::new(
        "a_removed_key_and_downstream_url_are_out_of_service_once_config_set_reports_success",
    ) else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let new_idp = idp.with_key("attacker-rsa");
    let new_cert = String::from_utf8(read(xmlsec_dir().join("keys/attacker-rsa.crt"))).unwrap();
    bridge.login(&idp, None, alice(&["Staff"]));

    // An unrelated row broken with SQL: the server keeps the last valid configuration, so a
    // rollover written now would never be in service. Refused, named, nothing written.
    bridge
        .instance
        .sqlite3("INSERT INTO CONFIGURATIONENTITY VALUES ('FEDBRIDGE_CLOCK_SKEW', '90 s')");
    let settings = "SELECT NAME, VALUE FROM CONFIGURATIONENTITY ORDER BY NAME; \
                    SELECT version FROM config_version";
    let before = bridge.instance.sqlite3(settings);
    let out = bridge
        .instance
        .fedbridge(&["config", "set", "SAML_SIGNING_CERTIFICATE", &new_cert]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out)
            .contains("Blocking rows (not part of this change):\nFEDBRIDGE_CLOCK_SKEW: '90 s'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bridge.instance.sqlite3(settings), before, "nothing written");

    // Fixed in the same command, the old key removed: once `config set` says so, in service.
    let out = bridge.instance.fedbridge(&[
        "config",
        "set",
        "FEDBRIDGE_CLOCK_SKEW",
        "90s",
        "SAML_SIGNING_CERTIFICATE",
        &new_cert,
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("In service on 1 running server."),
        "{}",
        stdout(&out)
    );
    // At once, without waiting: the removed key signs no login any more...
    let begun = bridge.begin(None);
    let old = idp.post_value(&alice(&["Staff"]).answering(&begun.request_id));
    let reply = bridge.post_response(&old, Some(&begun.relay_state));
    bridge.refused(
        &reply,
        "signature_invalid",
        "POST signed with the removed key",
    );
    // ...and the new one does.
    bridge.login(&new_idp, None, alice(&["Staff"]));

    // The same for a downstream URL taken off the allow-list.
    let target = format!("{DOWNSTREAM}page");
    bridge.begin(Some(&target));
    let out =
        bridge
            .instance
            .fedbridge(&["config", "set", "FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", "[]"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("In service on 1 running server."));
    let reply = bridge.get(&format!("/saml/login?target={}", encode(&target)), &[]);
    assert_eq!(
        reply.status,
        400,
        "{}",
        bridge.why("removed target", &reply)
    );
}

// ---------------------------------------------------------------------------------------------
// Referrer-Policy and the token in the address bar (issue 11, point 6)
// ---------------------------------------------------------------------------------------------

#[test]
fn every_answer_sends_no_referrer_and_is_never_sniffed() {
    let Some(idp) = Idp::new("every_answer_sends_no_referrer_and_is_never_sniffed") else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_RATE_LIMIT_LOGIN", "1/1h")]);
    let landed = bridge.login(&idp, None, alice(&["Staff"]));
    let header = |path: &str, method: &str| -> (u16, Vec<String>) {
        let request = match method {
            "GET" => bridge.browser.get(bridge.server.url(path)).call(),
            _ => bridge.browser.post(bridge.server.url(path)).send_form([
                ("SAMLResponse", "garbage"),
                ("token", landed.token.as_str()),
            ]),
        };
        let response = request.unwrap();
        let values = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        (
            response.status().as_u16(),
            vec![values("referrer-policy"), values("x-content-type-options")],
        )
    };
    let expected = vec!["no-referrer".to_owned(), "nosniff".to_owned()];
    let mut statuses = BTreeSet::new();
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/?xsession=x"),
        ("GET", "/saml/login"),
        ("GET", "/saml/login"),
        ("GET", "/saml/metadata"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/healthz"),
        ("GET", "/no/such/page"),
        ("POST", ACS_PATH),
        ("POST", "/api/xsession/introspect"),
    ] {
        let (status, headers) = header(path, method);
        assert_eq!(headers, expected, "{method} {path} ({status})");
        statuses.insert(status);
    }
    // 200, 303, 404, 400 and the 429 of the second /saml/login among them.
    for status in [200, 303, 400, 404, 429] {
        assert!(statuses.contains(&status), "{statuses:?}");
    }
}

#[test]
fn the_token_never_stays_in_fedbridges_own_address_bar() {
    let Some(idp) = Idp::new("the_token_never_stays_in_fedbridges_own_address_bar") else {
        return;
    };
    // No downstream URL: a login lands on fedbridge's own page, with the cookie only.
    let bridge = Bridge::start(&[("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", "[]")]);
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Staff"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    assert_eq!(reply.status, 303, "{}", bridge.why("POST", &reply));
    assert_eq!(
        reply.location,
        format!("{ISSUER}/"),
        "{}",
        bridge.why("landing", &reply)
    );
    assert!(bridge.cookie().is_some());
    // A link with a token to fedbridge's own page: dropped from the address, never adopted.
    let reply = bridge.get_as(&browser(), "/?xsession=eyJhbGciOi.x.y&target=%2Fx", &[]);
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location, "/?target=%2Fx");
    assert!(reply.set_cookies.is_empty(), "{:?}", reply.set_cookies);
}

#[test]
fn refused_login_names_create_no_user() {
    // Issue 11, point 6: the NameID is taken exactly as sent. A no-break space after the name
    // (once trimmed away, so this signed in as alice@example.test), a right-to-left override,
    // a zero-width space and a C1 control are refused, and nobody is created.
    let Some(idp) = Idp::new("refused_login_names_create_no_user") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    for name in [
        "alice@example.test\u{a0}",
        "alice\u{202e}tset.elpmaxe@",
        "a\u{200b}lice@example.test",
        "alice@example.test\u{9b}2J",
    ] {
        let begun = bridge.begin(None);
        let assertion = Assertion::about(name).answering(&begun.request_id);
        let reply = bridge.post_response(&idp.post_value(&assertion), Some(&begun.relay_state));
        bridge.refused(&reply, "login_name_invalid", &format!("POST {name:?}"));
    }
    assert_eq!(bridge.count("users"), 0);
    assert_eq!(bridge.count("xsessions"), 0);
}

#[test]
fn an_acs_body_longer_than_any_allowed_response_is_refused_unread() {
    // FEDBRIDGE_MAX_RESPONSE_BYTES at its minimum: a response of 1 KiB, so a 300 KiB body is
    // longer than any such response can be once base64- and URL-encoded (plus the room for
    // RelayState), and is refused before it is read whole. The body is line breaks, which the
    // base64 decoding would skip: only the body limit refuses it as too large.
    let bridge = Bridge::start(&[("FEDBRIDGE_MAX_RESPONSE_BYTES", "1024")]);
    let huge = format!("{}PD94", "\n".repeat(300 * 1024));
    let reply = bridge.post_response(&huge, None);
    assert_eq!(
        reply.status,
        413,
        "{}",
        bridge.why("POST an oversized body", &reply)
    );
    // Just under the limit, the decoded size is what is refused, with the same code.
    let big = "A".repeat(8 * 1024);
    let reply = bridge.post_response(&big, None);
    assert_eq!(
        reply.status,
        400,
        "{}",
        bridge.why("POST over the decoded limit", &reply)
    );
    // Neither carried a SAML message: counted, with the client, not one row each.
    let counted = bridge.wait_for_counted("input_too_large", 1);
    assert!(counted.starts_with("127.0.0.1|1|"), "{counted}");
    bridge.wait_for_counted("body_too_large", 1);
    assert_eq!(bridge.count("users"), 0);
}

// ---------------------------------------------------------------------------------------------
// Issue 12: sync never destroys by accident (check 1)
// ---------------------------------------------------------------------------------------------

/// Alice as stored before the login: federated members of Engineering and Sales, and a local
/// member of Staff (given by an administrator), under QPR's default: every group managed.
fn alice_with_memberships(bridge: &Bridge) {
    bridge.instance.sqlite3(&format!(
        "INSERT INTO users (login_name, full_name, email, created_at, updated_at) \
         VALUES ('{ALICE}', 'Alice Example', '{ALICE}', 0, 0); \
         INSERT INTO memberships (user_id, group_id, federated) \
         SELECT u.id, g.id, g.name <> 'Staff' FROM users u, groups g \
         WHERE u.login_name = '{ALICE}';"
    ));
}

const ALICE_MEMBERSHIPS: &str = "Engineering|1\nSales|1\nStaff|0\n";

/// The token of a held login lists Alice's unchanged groups.
fn groups_of(bridge: &Bridge, landed: &Landed) -> BTreeSet<String> {
    bridge
        .verify(&landed.token)
        .groups
        .into_iter()
        .collect::<BTreeSet<_>>()
}

#[test]
fn absent_groups_attribute_leaves_memberships_and_flags_groups_attribute_absent() {
    let Some(idp) =
        Idp::new("absent_groups_attribute_leaves_memberships_and_flags_groups_attribute_absent")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    alice_with_memberships(&bridge);
    // A claim rule that emits another claim type: no `groups` attribute at all.
    let assertion = Assertion::about(ALICE)
        .attribute("displayName", &["Alice Example"])
        .attribute("memberOf", &["cn=Engineering"]);
    let landed = bridge.login(&idp, None, assertion);
    assert_eq!(bridge.memberships(ALICE), ALICE_MEMBERSHIPS);
    assert_eq!(
        groups_of(&bridge, &landed),
        set(&["Engineering", "Sales", "Staff"])
    );
    assert_eq!(bridge.last_flags(), "accepted||groups_attribute_absent");
    assert!(
        bridge
            .last_audit()
            .contains("does not carry SAML_USER_GROUPS_ATTRIBUTE"),
        "{}",
        bridge.last_audit()
    );
    assert!(bridge.server.log().contains("group memberships held"));
    // The administrator's view of the user shows the flag.
    let shown = bridge.instance.fedbridge_ok(&["users", "show", ALICE]);
    assert!(shown.contains("flags=groups_attribute_absent"), "{shown}");
    assert!(bridge.active(&landed.token));
}

#[test]
fn azure_group_overage_claim_leaves_memberships_and_flags_groups_overage() {
    let Some(idp) =
        Idp::new("azure_group_overage_claim_leaves_memberships_and_flags_groups_overage")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    alice_with_memberships(&bridge);
    // Azure AD with more groups than fit: the groups.link claim instead of the groups.
    let link = "http://schemas.microsoft.com/claims/groups.link";
    let graph = "https://graph.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/users/\
                 00000000-0000-0000-66f3-3332eca7ea81/getMemberObjects";
    let landed = bridge.login(&idp, None, Assertion::about(ALICE).claim(link, &[graph]));
    assert_eq!(bridge.memberships(ALICE), ALICE_MEMBERSHIPS);
    assert_eq!(
        groups_of(&bridge, &landed),
        set(&["Engineering", "Sales", "Staff"])
    );
    assert_eq!(bridge.last_flags(), "accepted||groups_overage");
    assert!(
        bridge.last_audit().contains(link),
        "{}",
        bridge.last_audit()
    );
    // The JWT-style marker, next to a groups attribute it may have cut short.
    let landed = bridge.login(
        &idp,
        None,
        alice(&["Sales"]).claim("_claim_names", &["{\"groups\":\"src1\"}"]),
    );
    assert_eq!(bridge.memberships(ALICE), ALICE_MEMBERSHIPS);
    assert_eq!(groups_of(&bridge, &landed).len(), 3);
    assert_eq!(bridge.last_flags(), "accepted||groups_overage");
}

#[test]
fn removing_more_than_the_limit_holds_and_flags_group_removal_limit_exceeded() {
    let Some(idp) =
        Idp::new("removing_more_than_the_limit_holds_and_flags_group_removal_limit_exceeded")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    bridge
        .instance
        .fedbridge_ok(&["groups", "add", "G1", "G2", "G3", "G4"]);
    alice_with_memberships(&bridge);
    let seven = "Engineering|1\nG1|1\nG2|1\nG3|1\nG4|1\nSales|1\nStaff|0\n";
    assert_eq!(bridge.memberships(ALICE), seven);
    // The IdP now names one group: 6 removals, more than the default limit of 5.
    let first = bridge.login(&idp, None, alice(&["Engineering"]));
    assert_eq!(bridge.memberships(ALICE), seven, "nothing removed");
    assert_eq!(groups_of(&bridge, &first).len(), 7);
    assert_eq!(
        bridge.last_flags(),
        "accepted||group_removal_limit_exceeded"
    );
    assert!(
        bridge.last_audit().contains(
            "would remove 6 managed memberships, more than FEDBRIDGE_MAX_GROUP_REMOVALS (5)"
        ),
        "{}",
        bridge.last_audit()
    );
    assert!(bridge.active(&first.token));

    // The administrator looked and raises the limit (live): the removals go through.
    bridge
        .instance
        .config_set(&[("FEDBRIDGE_MAX_GROUP_REMOVALS", "10")]);
    bridge.wait_reloaded("FEDBRIDGE_MAX_GROUP_REMOVALS");
    let second = bridge.login(&idp, None, alice(&["Engineering"]));
    assert_eq!(bridge.memberships(ALICE), "Engineering|1\n");
    assert_eq!(groups_of(&bridge, &second), set(&["Engineering"]));
    assert_eq!(bridge.last_flags(), "accepted||");
    assert!(
        !bridge.active(&first.token),
        "the older token names groups Alice lost"
    );
}

#[test]
fn an_empty_groups_attribute_removes_within_the_limit() {
    let Some(idp) = Idp::new("an_empty_groups_attribute_removes_within_the_limit") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    alice_with_memberships(&bridge);
    // The IdP sends the attribute without a value: the user is in no group (3 removals).
    let landed = bridge.login(&idp, None, alice(&[]));
    assert_eq!(bridge.memberships(ALICE), "");
    assert!(groups_of(&bridge, &landed).is_empty());
    assert_eq!(bridge.last_flags(), "accepted||");
}

#[test]
fn unknown_groups_are_flagged_and_the_xsession_keeps_the_stored_name_and_email() {
    let Some(idp) =
        Idp::new("unknown_groups_are_flagged_and_the_xsession_keeps_the_stored_name_and_email")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    bridge.login(&idp, None, alice(&["Sales", "Ghost Group", "Other Ghost"]));
    assert_eq!(bridge.last_flags(), "accepted||unknown_groups");
    assert!(
        bridge
            .last_audit()
            .contains("unknown groups (2): Ghost Group, Other Ghost"),
        "{}",
        bridge.last_audit()
    );
    // The next assertion carries neither displayName nor mail: the token keeps the stored ones.
    let landed = bridge.login(
        &idp,
        None,
        Assertion::about(ALICE).attribute("groups", &["Sales"]),
    );
    let claims = bridge.verify(&landed.token);
    assert_eq!(claims.name.as_deref(), Some("Alice Example"));
    assert_eq!(claims.email.as_deref(), Some(ALICE));
    assert_eq!(bridge.last_flags(), "accepted||");
}

// ---------------------------------------------------------------------------------------------
// Issue 12: login names without regard to case (point 6), the Qualys External ID (check 4)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_login_name_differing_only_in_case_is_the_same_user() {
    let Some(idp) = Idp::new("a_login_name_differing_only_in_case_is_the_same_user") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let first = bridge.login(&idp, None, alice(&["Sales"]));
    let upper = "ALICE@Example.TEST";
    let second = bridge.login(
        &idp,
        None,
        Assertion::about(upper)
            .attribute("displayName", &["Alice E."])
            .attribute("groups", &["Engineering"]),
    );
    assert_eq!(bridge.count("users"), 1);
    assert_eq!(
        bridge
            .instance
            .sqlite3("SELECT login_name, full_name FROM users"),
        format!("{ALICE}|Alice E.\n"),
        "the first spelling is kept, the fields are updated"
    );
    assert_eq!(bridge.verify(&first.token).sub, ALICE);
    let claims = bridge.verify(&second.token);
    assert_eq!(claims.sub, ALICE, "the token names the stored spelling");
    assert_eq!(claims.groups, ["Engineering"]);
    assert_eq!(bridge.memberships(ALICE), "Engineering|1\n");
    // The audit row names the stored user, so `users show` finds it.
    let shown = bridge.instance.fedbridge_ok(&["users", "show", ALICE]);
    assert_eq!(
        shown.matches(" accepted").count(),
        2,
        "both logins listed:\n{shown}"
    );
}

#[test]
fn exact_login_name_matching_makes_a_case_variant_another_user() {
    let Some(idp) = Idp::new("exact_login_name_matching_makes_a_case_variant_another_user") else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_LOGIN_NAME_MATCH", "exact")]);
    bridge.login(&idp, None, alice(&["Sales"]));
    let landed = bridge.login(&idp, None, Assertion::about("ALICE@example.test"));
    assert_eq!(bridge.verify(&landed.token).sub, "ALICE@example.test");
    assert_eq!(bridge.count("users"), 2);
}

#[test]
fn a_preprovisioned_account_is_signed_in_by_a_name_id_of_any_format_equal_to_its_external_id() {
    let Some(idp) = Idp::new(
        "a_preprovisioned_account_is_signed_in_by_a_name_id_of_any_format_equal_to_its_external_id",
    ) else {
        return;
    };
    // The login name is the UPN, another value than the NameID: only the NameID can match.
    let bridge = Bridge::start(&[("SAML_USER_ID_ATTRIBUTE", "upn")]);
    // Provisioned beforehand (Qualys: by hand or over its API), with its External ID.
    bridge.instance.sqlite3(
        "INSERT INTO users (login_name, full_name, created_at, updated_at) \
         VALUES ('asmith', 'Ann Smith', 0, 0);",
    );
    bridge
        .instance
        .fedbridge_ok(&["users", "set-external-id", "asmith", "a.smith@corp.test"]);
    for format in [
        crate::idp_signer::EMAIL_ADDRESS,
        crate::idp_signer::UNSPECIFIED,
        crate::idp_signer::PERSISTENT,
    ] {
        let assertion = Assertion::about("a.smith@corp.test")
            .name_id_format(format)
            .claim(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                &["ann.smith@corp.test"],
            )
            .attribute("groups", &["Sales"]);
        let landed = bridge.login(&idp, None, assertion);
        let claims = bridge.verify(&landed.token);
        assert_eq!(claims.sub, "asmith", "{format}");
        assert_eq!(claims.name.as_deref(), Some("Ann Smith"), "{format}");
        assert_eq!(
            bridge.last_flags(),
            "accepted||",
            "{format}: {}",
            bridge.last_audit()
        );
    }
    assert_eq!(
        bridge
            .instance
            .sqlite3("SELECT login_name, external_id FROM users"),
        "asmith|a.smith@corp.test\n",
        "one account, which keeps its login name and external ID"
    );
    assert_eq!(bridge.memberships("asmith"), "Sales|1\n");
}

#[test]
fn a_login_name_equal_to_an_external_id_signs_in_to_that_account() {
    let Some(idp) = Idp::new("a_login_name_equal_to_an_external_id_signs_in_to_that_account")
    else {
        return;
    };
    let bridge = Bridge::start(&[("SAML_USER_ID_ATTRIBUTE", "upn")]);
    bridge.instance.sqlite3(
        "INSERT INTO users (login_name, external_id, created_at, updated_at) \
         VALUES ('asmith', 'a.smith@corp.test', 0, 0);",
    );
    let assertion = Assertion::about("opaque-123")
        .name_id_format(crate::idp_signer::PERSISTENT)
        .claim(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            &["a.smith@corp.test"],
        );
    let landed = bridge.login(&idp, None, assertion);
    assert_eq!(bridge.verify(&landed.token).sub, "asmith");
    assert_eq!(bridge.count("users"), 1);
}

#[test]
fn existing_users_only_refuses_an_unknown_user_and_creates_nothing() {
    let Some(idp) = Idp::new("existing_users_only_refuses_an_unknown_user_and_creates_nothing")
    else {
        return;
    };
    let bridge = Bridge::start(&[
        ("FEDBRIDGE_EXISTING_USERS_ONLY", "1"),
        ("FEDBRIDGE_CREATE_MISSING_GROUPS", "1"),
    ]);
    bridge.instance.sqlite3(&format!(
        "INSERT INTO users (login_name, created_at, updated_at) VALUES ('{ALICE}', 0, 0);"
    ));
    let groups_before = bridge.count("groups");
    let begun = bridge.begin(None);
    let response = idp.post_value(
        &Assertion::about("mallory@example.test")
            .attribute("groups", &["Brand New Group"])
            .answering(&begun.request_id),
    );
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused_with(
        403,
        &reply,
        "user_not_provisioned",
        "POST the response of a user that does not exist",
    );
    assert_eq!(bridge.count("users"), 1, "no user created");
    assert_eq!(bridge.count("groups"), groups_before, "no group created");
    assert_eq!(bridge.count("xsessions"), 0);
    assert!(reply.set_cookies.is_empty());
    // An existing user still signs in.
    let landed = bridge.login(&idp, None, alice(&["Sales"]));
    assert_eq!(bridge.verify(&landed.token).sub, ALICE);
}

// ---------------------------------------------------------------------------------------------
// Issue 12: interoperability (point 9)
// ---------------------------------------------------------------------------------------------

#[test]
fn keycloak_role_list_mapper_repeated_attribute_is_merged() {
    let Some(idp) = Idp::new("keycloak_role_list_mapper_repeated_attribute_is_merged") else {
        return;
    };
    let bridge = Bridge::start(&[("SAML_USER_GROUPS_ATTRIBUTE", "Role")]);
    // Keycloak's role list mapper: one Attribute element per role.
    let assertion = Assertion::about(ALICE)
        .attribute("Role", &["Engineering"])
        .attribute("Role", &["Sales"])
        .attribute("Role", &["Staff"]);
    let landed = bridge.login(&idp, None, assertion);
    assert_eq!(
        groups_of(&bridge, &landed),
        set(&["Engineering", "Sales", "Staff"])
    );
}

#[test]
fn a_repeated_login_name_attribute_is_refused_as_ambiguous() {
    let Some(idp) = Idp::new("a_repeated_login_name_attribute_is_refused_as_ambiguous") else {
        return;
    };
    let bridge = Bridge::start(&[("SAML_USER_ID_ATTRIBUTE", "uid")]);
    let begun = bridge.begin(None);
    let assertion = Assertion::about("opaque")
        .attribute("uid", &["alice"])
        .attribute("uid", &["admin"])
        .answering(&begun.request_id);
    let reply = bridge.post_response(&idp.post_value(&assertion), Some(&begun.relay_state));
    bridge.refused(&reply, "login_name_ambiguous", "POST uid twice");
    assert_eq!(bridge.count("users"), 0);
}

#[test]
fn inclusive_c14n_signatures_made_by_xmlsec1_log_in() {
    let Some(idp) = Idp::new("inclusive_c14n_signatures_made_by_xmlsec1_log_in") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    for c14n in [C14n::Inclusive10, C14n::Inclusive11] {
        for response in [false, true] {
            let mut assertion = alice(&["Sales"])
                .c14n(c14n)
                .response_namespace("ext", "urn:example:extension");
            if response {
                assertion = assertion.signed_response();
            }
            let landed = bridge.login(&idp, None, assertion);
            assert_eq!(bridge.verify(&landed.token).groups, ["Sales"], "{c14n:?}");
        }
    }
}

#[test]
fn a_response_signed_only_as_a_whole_is_refused_when_assertions_must_be_signed() {
    let Some(idp) =
        Idp::new("a_response_signed_only_as_a_whole_is_refused_when_assertions_must_be_signed")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    bridge.login(&idp, None, alice(&["Sales"]).signed_response());
    bridge
        .instance
        .config_set(&[("FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS", "1")]);
    bridge.wait_reloaded("FEDBRIDGE_REQUIRE_SIGNED_ASSERTIONS");
    let begun = bridge.begin(None);
    let response = idp.post_value(
        &alice(&["Sales"])
            .signed_response()
            .answering(&begun.request_id),
    );
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused(
        &reply,
        "assertion_signature_missing",
        "POST a response signed only at the Response level",
    );
    // An assertion signed itself is still accepted.
    bridge.login(&idp, None, alice(&["Sales"]));
    let metadata = bridge.get("/saml/metadata", &[]);
    assert!(
        metadata.body.contains("WantAssertionsSigned=\"true\""),
        "{}",
        metadata.body
    );
}

#[test]
fn a_subject_without_name_id_logs_in_only_with_the_login_name_in_an_attribute() {
    let Some(idp) =
        Idp::new("a_subject_without_name_id_logs_in_only_with_the_login_name_in_an_attribute")
    else {
        return;
    };
    // AD FS without a NameID claim rule: a Subject with only its SubjectConfirmation.
    let adfs = "http://adfs.corp.test/adfs/services/trust";
    let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    let without = || {
        Assertion::without_name_id()
            .issuer(adfs)
            .claim(upn, &["jdoe@corp.test"])
    };
    let bridge = Bridge::start(&[("SAML_SERVER_ENTITY_IDENTIFIER", adfs)]);
    let begun = bridge.begin(None);
    let reply = bridge.post_response(
        &idp.post_value(&without().answering(&begun.request_id)),
        Some(&begun.relay_state),
    );
    bridge.refused(&reply, "name_id_missing", "no NameID, login name = NameID");
    bridge
        .instance
        .config_set(&[("SAML_USER_ID_ATTRIBUTE", "upn")]);
    bridge.wait_reloaded("SAML_USER_ID_ATTRIBUTE");
    let landed = bridge.login(&idp, None, without());
    assert_eq!(bridge.verify(&landed.token).sub, "jdoe@corp.test");
}

// ---------------------------------------------------------------------------------------------
// /metrics (issue 13, check 2): parsed by the Prometheus text-format parser of the
// prometheus_client Python package after a few logins.
// ---------------------------------------------------------------------------------------------

/// The scraper's token (`FEDBRIDGE_METRICS_TOKEN`).
const METRICS_TOKEN: &str = "scrape-token-0123456789";

/// One sample: (family, type, sample name, labels, value).
type Sample = (String, String, String, Value, f64);

/// `/metrics` parsed by `prometheus_client.parser.text_string_to_metric_families`: every
/// sample as (family, type, sample name, labels, value); `None` when the package is missing
/// (a skip, unless FEDBRIDGE_REQUIRE_PROMETHEUS is set).
fn prometheus_parse(test: &str, text: &str) -> Option<Vec<Sample>> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([family.name, family.type, s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let probe = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        let message = format!(
            "SKIPPED {test}: python3 with prometheus_client not found (pip install \
             prometheus_client; .ci/run does)"
        );
        assert!(
            std::env::var_os("FEDBRIDGE_REQUIRE_PROMETHEUS").is_none(),
            "{message}"
        );
        eprintln!("{message}");
        crate::skips::record(
            test,
            "python3 with prometheus_client not found (pip install prometheus_client)",
        );
        return None;
    }
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refuses /metrics: {}\n{text}",
        stderr(&out)
    );
    let rows: Vec<Sample> = serde_json::from_slice(&out.stdout).unwrap();
    Some(rows)
}

#[test]
fn metrics_parse_as_prometheus_text_and_count_the_logins() {
    const TEST: &str = "metrics_parse_as_prometheus_text_and_count_the_logins";
    let Some(idp) = Idp::new(TEST) else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_METRICS_TOKEN", METRICS_TOKEN)]);
    // Refused without the token, or with another one.
    assert_eq!(bridge.get("/metrics", &[]).status, 401);
    assert_eq!(
        bridge
            .get(
                "/metrics",
                &[("Authorization", "Bearer scrape-token-wrong-value")]
            )
            .status,
        401
    );
    // Two logins, a replay, one login begun and not finished.
    bridge.login(&idp, None, alice(&["Sales"]));
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Staff"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.landed(&reply, DOWNSTREAM, "the second login");
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    bridge.refused(&reply, "replay", "the replay");
    bridge.begin(None);
    // A change refused at reload.
    bridge
        .instance
        .sqlite3("UPDATE CONFIGURATIONENTITY SET VALUE = 'soon' WHERE NAME = 'SAML_CONSUMER_URL'");
    std::thread::sleep(std::time::Duration::from_millis(2500));

    let bearer = format!("Bearer {METRICS_TOKEN}");
    let reply = bridge.get("/metrics", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let Some(samples) = prometheus_parse(TEST, &reply.body) else {
        return;
    };
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|(_, _, sample, l, _)| sample == name && labels.iter().all(|(k, v)| l[*k] == *v))
            .map(|s| s.4)
    };
    let kind = |family: &str| {
        samples
            .iter()
            .find(|s| s.0 == family)
            .map(|s| s.1.clone())
            .unwrap_or_else(|| panic!("no family {family} in:\n{}", reply.body))
    };
    // Every metric the issue names, with its type.
    for (family, expected) in [
        ("fedbridge_logins", "counter"),
        ("fedbridge_validation_duration_seconds", "histogram"),
        ("fedbridge_login_duration_seconds", "histogram"),
        ("fedbridge_idp_clock_offset_seconds", "gauge"),
        ("fedbridge_certificate_expiry_days", "gauge"),
        ("fedbridge_config_reloads", "counter"),
        ("fedbridge_config_reload_failures", "counter"),
        ("fedbridge_metadata_fetches", "counter"),
        ("fedbridge_outstanding_requests", "gauge"),
        ("fedbridge_database_wait_seconds", "histogram"),
    ] {
        assert_eq!(kind(family), expected, "{family}");
    }
    let body = &reply.body;
    assert_eq!(
        value("fedbridge_logins_total", &[("outcome", "accepted")]),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        value(
            "fedbridge_logins_total",
            &[("outcome", "rejected"), ("reason", "replay")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value("fedbridge_validation_duration_seconds_count", &[]),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        value(
            "fedbridge_validation_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(3.0),
        "{body}"
    );
    assert!(value("fedbridge_validation_duration_seconds_sum", &[]).unwrap() > 0.0);
    assert_eq!(
        value("fedbridge_login_duration_seconds_count", &[]),
        Some(3.0),
        "{body}"
    );
    let offset = value("fedbridge_idp_clock_offset_seconds", &[]).unwrap();
    assert!(
        offset.abs() < 60.0,
        "the test IdP signs with our clock: {offset}"
    );
    let idp_cert = value(
        "fedbridge_certificate_expiry_days",
        &[("kind", "idp_signing")],
    )
    .unwrap_or_else(|| panic!("no IdP certificate expiry in:\n{body}"));
    assert!(idp_cert.is_finite(), "{body}");
    let key = value(
        "fedbridge_certificate_expiry_days",
        &[("kind", "xsession_key")],
    )
    .unwrap();
    assert!(
        (364.0..=365.0).contains(&key),
        "a fresh key is due in a year: {key}"
    );
    assert_eq!(
        value("fedbridge_config_reloads_total", &[]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value("fedbridge_config_reload_failures_total", &[]),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value("fedbridge_metadata_fetches_total", &[("result", "ok")]),
        Some(0.0),
        "the public-key scenario fetches no metadata"
    );
    assert_eq!(
        value("fedbridge_outstanding_requests", &[]),
        Some(1.0),
        "the login begun and not finished: {body}"
    );
    assert!(value("fedbridge_database_wait_seconds_count", &[]).unwrap() >= 5.0);
}

// ---------------------------------------------------------------------------------------------
// The admin console's doors (issue 13): its own session, forms with a token, 403 for others.
// ---------------------------------------------------------------------------------------------

impl Bridge {
    /// Signs in to the admin console as `assertion`'s user through `/admin/signin`: the reply
    /// of the ACS (303 to the console with the admin cookie, when it works).
    fn admin_sign_in(&self, idp: &Idp, assertion: Assertion) -> Reply {
        let reply = self.get("/admin/signin?next=/admin/users", &[]);
        assert_eq!(
            reply.status,
            303,
            "{}",
            self.why("GET /admin/signin", &reply)
        );
        let decoded = decode_redirect(&reply.location).unwrap();
        let doc = xml::parse(decoded.xml.as_bytes(), 1 << 16).unwrap();
        let request_id = doc.root().unwrap().attr("ID").unwrap().into_owned();
        let response = idp.post_value(&assertion.answering(&request_id));
        self.post_response(&response, decoded.relay_state.as_deref())
    }

    /// The anti-forgery token of the console's forms, read from a console page.
    fn form_token(&self, page: &str) -> String {
        let marker = "name=\"token\" value=\"";
        let start = page
            .find(marker)
            .unwrap_or_else(|| panic!("no form token in {page}"))
            + marker.len();
        page[start..].split('"').next().unwrap().to_owned()
    }
}

#[test]
fn the_admin_console_needs_its_own_session_a_form_token_and_an_admin_group() {
    const TEST: &str = "the_admin_console_needs_its_own_session_a_form_token_and_an_admin_group";
    let Some(idp) = Idp::new(TEST) else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_ADMIN_GROUPS", "[\"Engineering\"]")]);
    // An ordinary login: the xsession (cookie, Bearer) does not open the console.
    let landed = bridge.login(&idp, None, alice(&["Engineering"]));
    let reply = bridge.get("/admin", &[]);
    assert_eq!(
        reply.status,
        303,
        "{}",
        bridge.why("GET /admin with an xsession", &reply)
    );
    assert!(
        reply.location.starts_with("/admin/signin"),
        "{}",
        reply.location
    );
    let bearer = format!("Bearer {}", landed.token);
    let reply = bridge.get("/admin/users", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 303, "a downstream app's token opens nothing");
    let reply = bridge.get("/metrics", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 401, "nor /metrics");

    // The console's own sign-in: lands on the page asked for, no token in the URL.
    let reply = bridge.admin_sign_in(&idp, alice(&["Engineering"]));
    assert_eq!(
        reply.status,
        303,
        "{}",
        bridge.why("the admin sign-in's ACS", &reply)
    );
    assert_eq!(reply.location, "https://sp.example.test/admin/users");
    assert!(
        reply
            .set_cookies
            .iter()
            .any(|c| c.starts_with("fedbridge_admin=")
                && c.contains("HttpOnly")
                && c.contains("SameSite=Lax")
                && c.contains("Secure")),
        "{:?}",
        reply.set_cookies
    );
    let page = bridge.get("/admin/user?login=alice%40example.test", &[]);
    assert_eq!(page.status, 200, "{}", bridge.why("the user page", &page));
    let token = bridge.form_token(&page.body);
    let jti = bridge.verify(&landed.token).jti;
    // A revoke without the form token, or with another one, is refused and changes nothing.
    for form in [
        vec![("jti", jti.as_str()), ("login", ALICE)],
        vec![
            ("token", "0".repeat(64).as_str()),
            ("jti", jti.as_str()),
            ("login", ALICE),
        ],
    ] {
        let reply = bridge.post_form("/admin/sessions/revoke", &form, &[]);
        assert_eq!(
            reply.status,
            403,
            "{}",
            bridge.why("a forged revoke", &reply)
        );
        assert!(bridge.active(&landed.token));
    }
    // A session of another user cannot be revoked through alice's name.
    let reply = bridge.post_form(
        "/admin/sessions/revoke",
        &[
            ("token", &token),
            ("jti", "not-a-session-of-alice"),
            ("login", ALICE),
        ],
        &[],
    );
    assert_eq!(
        reply.status,
        404,
        "{}",
        bridge.why("an unknown session", &reply)
    );
    // With the token: the session ends.
    let reply = bridge.post_form(
        "/admin/sessions/revoke",
        &[("token", &token), ("jti", &jti), ("login", ALICE)],
        &[],
    );
    assert_eq!(reply.status, 303, "{}", bridge.why("the revoke", &reply));
    assert!(
        !bridge.active(&landed.token),
        "introspection says inactive after the revoke"
    );

    // Removed from the admin group (a later login of hers without it): 403 at once.
    bridge.login(&idp, None, alice(&["Sales"]));
    // That login removed a membership, so her earlier tokens, the console's among them, are
    // revoked: the console asks for a sign-in again.
    let reply = bridge.get("/admin", &[]);
    assert_eq!(
        reply.status,
        303,
        "{}",
        bridge.why("the console after leaving the admin group", &reply)
    );
}

#[test]
fn a_non_admin_gets_403_from_every_console_page() {
    const TEST: &str = "a_non_admin_gets_403_from_every_console_page";
    let Some(idp) = Idp::new(TEST) else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_ADMIN_GROUPS", "[\"Engineering\"]")]);
    let reply = bridge.admin_sign_in(&idp, alice(&["Sales"]));
    assert_eq!(reply.status, 303, "{}", bridge.why("the sign-in", &reply));
    for path in ["/admin", "/admin/attempts", "/admin/users", "/admin/groups"] {
        let reply = bridge.get(path, &[]);
        assert_eq!(reply.status, 403, "{}", bridge.why(path, &reply));
        assert!(
            reply.body.contains("No access to the admin console"),
            "{}",
            reply.body
        );
    }
    let reply = bridge.post_form("/admin/test-login", &[("token", "x")], &[]);
    assert_eq!(reply.status, 403);
    assert_eq!(bridge.get("/metrics", &[]).status, 401);
}

// ---------------------------------------------------------------------------------------------
// Logs (issue 13): a line per request and per login attempt with the correlation ID, JSON on
// request, never a token or a SAML message.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_request_and_login_is_logged_with_its_correlation_id_and_no_secret() {
    const TEST: &str = "every_request_and_login_is_logged_with_its_correlation_id_and_no_secret";
    let Some(idp) = Idp::new(TEST) else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let begun = bridge.begin(None);
    let response = idp.post_value(&alice(&["Sales"]).answering(&begun.request_id));
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let landed = bridge.landed(&reply, DOWNSTREAM, "the login");
    let reply = bridge.post_response(&response, Some(&begun.relay_state));
    let refused = bridge.refused(&reply, "replay", "the replay");
    let accepted = bridge
        .instance
        .sqlite3("SELECT correlation_id FROM login_audit WHERE outcome = 'accepted'")
        .trim()
        .to_owned();
    let log = bridge.server.log();
    // The ACS's request line and the login's line carry the audit row's correlation ID.
    for (id, login_line) in [(&accepted, "login accepted"), (&refused, "login refused")] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(id.as_str())).collect();
        assert!(
            lines.iter().any(|l| l.contains(login_line)),
            "no {login_line:?} line with {id}:\n{log}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("request") && l.contains("POST") && l.contains(ACS_PATH)),
            "no request line with {id}:\n{log}"
        );
    }
    // Every request has its line: /saml/login and the two posts at least.
    assert!(log.matches("fedbridge::request").count() >= 3, "{log}");
    assert!(!log.contains(&landed.token), "the token is in the log");
    assert!(
        !log.contains(&response[..64]),
        "the SAML response is in the log"
    );
    assert!(!log.contains("xsession="), "a query string is in the log");
}

#[test]
fn json_logs_on_request() {
    let instance = Instance::new();
    let log = instance.dir.path().join("json.log");
    let (mut child, rx) = spawn_fedbridge(
        std::process::Command::new(env!("CARGO_BIN_EXE_fedbridge"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--database")
            .arg(&instance.db)
            .env_remove("FEDBRIDGE_LOG_FORMAT"),
        &log,
    );
    let line = rx.recv_timeout(SERVER_START_DEADLINE).unwrap();
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    let (status, _) = http_get(port, "/healthz?secret=not-logged");
    assert_eq!(status, 503, "unconfigured");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["message"] == "request" && l["path"] == "/healthz")
        .unwrap_or_else(|| panic!("no request line for /healthz:\n{text}"));
    assert_eq!(request["status"], 503);
    assert_eq!(request["method"], "GET");
    assert_eq!(
        request["correlation_id"].as_str().map(str::len),
        Some(12),
        "{request}"
    );
    assert!(
        !text.contains("not-logged"),
        "the query string is in the log"
    );
}

#[test]
fn the_audit_row_records_the_idps_clock_offset_attributes_and_changes() {
    const TEST: &str = "the_audit_row_records_the_idps_clock_offset_attributes_and_changes";
    let Some(idp) = Idp::new(TEST) else {
        return;
    };
    let bridge = Bridge::start(&[]);
    bridge.login(&idp, None, alice(&["Sales", "Nonexistent"]));
    let row = bridge.instance.sqlite3(
        "SELECT clock_offset, CAST(dry_run AS INTEGER), attributes, changes FROM login_audit WHERE outcome = 'accepted'",
    );
    let fields: Vec<&str> = row.trim().split('|').collect();
    let offset: i64 = fields[0].parse().unwrap();
    assert!(offset.abs() <= 2, "{row}");
    assert_eq!(fields[1], "0");
    let attributes: Value = serde_json::from_str(fields[2]).unwrap();
    let mail = attributes
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "mail")
        .unwrap();
    assert_eq!(mail["mapped_by"], "SAML_USER_EMAIL_ATTRIBUTE");
    assert_eq!(mail["values"][0], ALICE);
    let changes: Value = serde_json::from_str(fields[3]).unwrap();
    assert_eq!(changes["create_user"], true);
    assert_eq!(changes["add_memberships"], serde_json::json!(["Sales"]));
    assert_eq!(
        changes["unknown_groups"],
        serde_json::json!(["Nonexistent"])
    );

    // An IdP whose clock is an hour ahead: refused as not yet valid, the offset measured from
    // the signed IssueInstant.
    let begun = bridge.begin(None);
    let ahead = alice(&["Sales"])
        .clock_ahead(time::Duration::hours(1))
        .answering(&begun.request_id);
    let reply = bridge.post_response(&idp.post_value(&ahead), Some(&begun.relay_state));
    let id = bridge.refused(&reply, "not_yet_valid", "an IdP an hour ahead");
    let offset: i64 = bridge
        .instance
        .sqlite3(&format!(
            "SELECT clock_offset FROM login_audit WHERE correlation_id = '{id}'"
        ))
        .trim()
        .parse()
        .unwrap();
    assert!((3_598..=3_602).contains(&offset), "{offset}");
    // Garbage: refused before any signature (and counted, not written a row each), so no
    // offset is measured.
    let reply = bridge.post_response("bm90IFNBTUw=", None);
    let id = correlation_id(&reply.body).unwrap();
    assert_eq!(
        bridge.instance.sqlite3(&format!(
            "SELECT count(*) FROM login_audit WHERE correlation_id = '{id}' \
             AND clock_offset IS NOT NULL"
        )),
        "0\n"
    );
}
