//! Two `fedbridge serve` nodes on one PostgreSQL database, as several nodes behind a load
//! balancer run (issue 14, check 2): a login begun on one node completes on the other, a replay
//! to the first is refused, racing posts of one response across both give one session, a logout
//! on one is seen by introspection on the other, a `psql` edit reaches both within 2 s, and a
//! node killed with SIGKILL in the middle of a load loses no login that was answered with a
//! session. Runs in the PostgreSQL pass of the suite (`FEDBRIDGE_TEST_DATABASE=postgres`);
//! SQLite has one process per file, so the SQLite pass says SKIPPED. Responses are signed by
//! xmlsec1 (`idp_signer`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fedbridge::saml::authn_request::decode_redirect;
use fedbridge::saml::{ns, xml};
use serde_json::Value;
use url::Url;

use crate::idp_signer::{Assertion, Idp};
use crate::support::*;

const SSO: &str = "https://idp.example.test/sso";
const ACS_PATH: &str = "/EnticeServices/rest/authenticate/saml";
const DOWNSTREAM: &str = "https://app.example.test/portal/";
/// How soon an edit made with `psql` must be in service on every node.
const EDIT_DEADLINE: Duration = Duration::from_secs(2);

/// One configured database and a node serving it; more nodes with [`Nodes::start`].
struct Nodes {
    instance: Instance,
}

impl Nodes {
    /// The public-key scenario of the xmlsec fixtures, IdP-initiated logins allowed, and the
    /// local groups; `None` (SKIPPED) off PostgreSQL.
    fn configure(test: &str) -> Option<Nodes> {
        if !postgres_switch() {
            shout(&format!(
                "SKIPPED {test} (PostgreSQL only: nodes share a database server; run with \
                 FEDBRIDGE_TEST_DATABASE=postgres, as .ci/run's second pass does)"
            ));
            return None;
        }
        let instance = Instance::new();
        let cert = idp_cert();
        let allowed = format!("[\"{DOWNSTREAM}\"]");
        instance.config_set(&[
            ("SAML_REDIRECT_URL", SSO),
            ("SAML_SIGNING_CERTIFICATE", cert.as_str()),
            ("SAML_SERVER_ENTITY_IDENTIFIER", xmlsec::IDP),
            ("SAML_CONSUMER_URL", xmlsec::ACS),
            ("FEDBRIDGE_SP_ENTITY_ID", xmlsec::SP),
            ("SAML_USER_GROUPS_ATTRIBUTE", "groups"),
            ("FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS", allowed.as_str()),
            ("FEDBRIDGE_ALLOW_IDP_INITIATED", "1"),
        ]);
        instance.fedbridge_ok(&["groups", "add", "Engineering", "Sales"]);
        Some(Nodes { instance })
    }

    /// Starts one more node on the same database.
    fn start(&self, name: &str) -> Server {
        self.instance.serve(&format!("{name}.log"))
    }
}

/// A browser shared by both nodes, as behind one load-balanced host name (cookies are per host,
/// the nodes differ only by port).
fn post_response(
    browser: &ureq::Agent,
    node: &Server,
    response: &str,
    relay: Option<&str>,
) -> Reply {
    let mut form = vec![("SAMLResponse", response)];
    form.extend(relay.map(|r| ("RelayState", r)));
    follow_hop(
        browser,
        node,
        reply(browser.post(node.url(ACS_PATH)).send_form(form)),
    )
}

/// What a browser does with the same-site hop page (a POST without the login cookie): posts
/// its form again; any other reply as it is.
fn follow_hop(browser: &ureq::Agent, node: &Server, first: Reply) -> Reply {
    match hop_fields(&first) {
        Some(fields) => reply(
            browser
                .post(node.url(ACS_PATH))
                .send_form(fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
        ),
        None => first,
    }
}

/// The token of an accepted login's 303: `?xsession=` on a downstream landing URL, else (a
/// landing on fedbridge's own origin) the `xsession` cookie.
fn token_of(reply: &Reply) -> Option<String> {
    if reply.status != 303 {
        return None;
    }
    let landing = Url::parse(&reply.location).ok()?;
    landing
        .query_pairs()
        .find(|(name, _)| name == "xsession")
        .map(|(_, value)| value.into_owned())
        .or_else(|| cookie_value(&reply.set_cookies, "xsession"))
}

/// The `jti` of a token (its payload, unverified: the nodes verified it).
fn jti(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let json: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    json["jti"].as_str().unwrap().to_owned()
}

/// `GET /saml/login` on `node`: (request ID, RelayState).
fn begin(browser: &ureq::Agent, node: &Server) -> (String, String) {
    let reply = reply(browser.get(node.url("/saml/login")).call());
    assert_eq!(reply.status, 303, "GET /saml/login: {}", node.log());
    let decoded = decode_redirect(&reply.location).unwrap();
    let doc = xml::parse(decoded.xml.as_bytes(), 1 << 16).unwrap();
    let request = doc.root().unwrap();
    assert!(request.is(ns::SAMLP, "AuthnRequest"));
    let id = request.attr("ID").unwrap().into_owned();
    (id, decoded.relay_state.unwrap())
}

fn user(name: &str) -> Assertion {
    Assertion::about(name).attribute("groups", &["Engineering"])
}

/// Whether introspection on `node` says `token` is active.
fn active(node: &Server, token: &str) -> bool {
    let reply = reply(
        browser()
            .post(node.url("/api/xsession/introspect"))
            .send_form([("token", token)]),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: Value = serde_json::from_str(&reply.body).unwrap();
    json["active"].as_bool().unwrap()
}

#[test]
fn two_nodes_share_logins_replays_sessions_and_configuration() {
    let test = "two_nodes_share_logins_replays_sessions_and_configuration";
    let Some(nodes) = Nodes::configure(test) else {
        return;
    };
    let Some(idp) = Idp::new(test) else { return };
    let (a, b) = (nodes.start("a"), nodes.start("b"));
    let browser = browser();

    // Begun on A, completed on B.
    let (request_id, relay) = begin(&browser, &a);
    let response = idp.post_value(&user("alice@example.test").answering(&request_id));
    let landed = post_response(&browser, &b, &response, Some(&relay));
    let token = token_of(&landed)
        .unwrap_or_else(|| panic!("cross-node login: {landed:?}\nB log:\n{}", b.log()));
    assert!(active(&a, &token) && active(&b, &token));

    // The same response again, to A: a replay.
    let again = post_response(&browser, &a, &response, Some(&relay));
    assert_eq!(again.status, 400, "replay on the other node: {again:?}");
    assert!(token_of(&again).is_none());

    // One response posted 20 times at once, alternately to A and B: one session.
    let (request_id, relay) = begin(&browser, &b);
    let response = idp.post_value(&user("bob@example.test").answering(&request_id));
    let barrier = std::sync::Barrier::new(20);
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let node = if i % 2 == 0 { &a } else { &b };
                let (browser, barrier, response, relay) = (&browser, &barrier, &response, &relay);
                scope.spawn(move || {
                    barrier.wait();
                    post_response(browser, node, response, Some(relay))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let sessions: Vec<String> = replies.iter().filter_map(token_of).collect();
    assert_eq!(sessions.len(), 1, "racing posts: {replies:#?}");
    assert!(
        replies.iter().all(|r| r.status == 303 || r.status == 400),
        "racing posts: every other answer is a refusal: {replies:#?}"
    );
    assert_eq!(
        nodes
            .instance
            .sqlite3("SELECT count(*) FROM xsessions")
            .trim(),
        "2"
    );

    // Logout on A, seen by introspection on B.
    let out = reply(
        browser
            .post(a.url("/logout"))
            .send_form([("xsession", token.as_str())]),
    );
    assert_eq!(out.status, 303);
    assert!(
        !active(&b, &token),
        "B still honours the token A logged out"
    );

    // An edit made with psql reaches both nodes within 2 s.
    let other = "https://sp.example.test/edited-with-psql";
    let edited = Instant::now();
    nodes.instance.sqlite3(&format!(
        "UPDATE CONFIGURATIONENTITY SET VALUE = '{other}' WHERE NAME = 'FEDBRIDGE_SP_ENTITY_ID'"
    ));
    for (name, node) in [("A", &a), ("B", &b)] {
        loop {
            let (status, body) = node.get("/saml/metadata");
            if status == 200 && body.contains(&format!("entityID=\"{other}\"")) {
                break;
            }
            assert!(
                edited.elapsed() < EDIT_DEADLINE,
                "node {name} does not serve the psql edit within {EDIT_DEADLINE:?}:\n{}",
                node.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    eprintln!(
        "psql edit in service on both nodes after {:?}",
        edited.elapsed()
    );
}

#[test]
fn a_node_killed_mid_load_loses_no_login_it_answered_with_a_session() {
    let test = "a_node_killed_mid_load_loses_no_login_it_answered_with_a_session";
    let Some(nodes) = Nodes::configure(test) else {
        return;
    };
    let Some(idp) = Idp::new(test) else { return };
    // Unsolicited responses, signed before the load (xmlsec1 is slower than a login).
    let responses: Vec<String> = (0..120)
        .map(|i| idp.post_value(&user(&format!("user{i}@example.test"))))
        .collect();
    let a = nodes.start("a");
    let b = std::sync::Mutex::new(Some(nodes.start("b")));
    let b_port = b.lock().unwrap().as_ref().unwrap().port;
    let a_port = a.port;
    let posted = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<(u16, Result<Reply, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let (responses, posted) = (&responses, &posted);
                scope.spawn(move || {
                    let agent = browser();
                    let mut seen = Vec::new();
                    for (i, response) in responses.iter().enumerate().skip(worker).step_by(4) {
                        let port = if i % 2 == 0 { a_port } else { b_port };
                        let url = format!("http://127.0.0.1:{port}{ACS_PATH}");
                        // The hop page of a cookieless POST is followed, as its script
                        // does in a browser.
                        let post = |fields: &[(&str, &str)]| {
                            agent
                                .post(&url)
                                .send_form(fields.iter().copied())
                                .map(|r| reply(Ok(r)))
                                .map_err(|e| e.to_string())
                        };
                        let result = post(&[("SAMLResponse", response.as_str())]).and_then(|r| {
                            match hop_fields(&r) {
                                Some(fields) => post(
                                    &fields
                                        .iter()
                                        .map(|(n, v)| (n.as_str(), v.as_str()))
                                        .collect::<Vec<_>>(),
                                ),
                                None => Ok(r),
                            }
                        });
                        posted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        seen.push((port, result));
                    }
                    seen
                })
            })
            .collect();
        // SIGKILL node B once about a third of the logins were posted.
        while posted.load(std::sync::atomic::Ordering::SeqCst) < 40 {
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(b.lock().unwrap().take());
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let answered: Vec<String> = outcomes
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().and_then(token_of))
        .collect();
    let failed_on_b = outcomes
        .iter()
        .filter(|(port, r)| *port == b_port && r.is_err())
        .count();
    // Every login on A went through; B answered some before it died.
    let on_a = outcomes.iter().filter(|(port, _)| *port == a_port).count();
    let sessions_on_a = outcomes
        .iter()
        .filter(|(port, r)| *port == a_port && r.as_ref().ok().and_then(token_of).is_some())
        .count();
    assert_eq!(
        sessions_on_a,
        on_a,
        "A refused logins while B died:\n{}",
        a.log()
    );
    assert!(failed_on_b > 0, "B was killed after the load ended");
    // Every session handed out is in the database: answered means committed.
    let stored: BTreeSet<String> = nodes
        .instance
        .sqlite3("SELECT jti FROM xsessions")
        .lines()
        .map(str::to_owned)
        .collect();
    for token in &answered {
        assert!(
            stored.contains(&jti(token)),
            "a login answered with a session is not in xsessions"
        );
    }
    eprintln!(
        "{} logins answered with a session ({} on B before SIGKILL), {failed_on_b} posts to B failed",
        answered.len(),
        answered.len() - sessions_on_a
    );
}
