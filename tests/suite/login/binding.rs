//! Browser binding (issue 11, check 2): a login started at `/saml/login` is completed only by
//! the browser that started it. Over plain http on loopback (the login cookie is
//! `SameSite=Lax`, so the IdP's cross-site POST arrives without it and the same-site hop brings
//! it) and over https behind a TLS-terminating proxy (`__Host-`, `SameSite=None; Secure`: no
//! hop). The test client follows no SameSite rule itself, so the cross-site POST is sent
//! without cookies explicitly, as a browser would send it.

use super::*;

/// Switches a running bridge to an http consumer URL on its own port (the SP entityID kept),
/// in service once `config set` says so; returns that URL.
fn over_http(bridge: &Bridge) -> String {
    let consumer = bridge.server.url(ACS_PATH);
    set_consumer(bridge, &consumer);
    consumer
}

/// `config set SAML_CONSUMER_URL consumer` (the SP entityID kept), in service on the running
/// server once it returns.
fn set_consumer(bridge: &Bridge, consumer: &str) {
    let out = bridge.instance.fedbridge(&[
        "config",
        "set",
        "SAML_CONSUMER_URL",
        consumer,
        "FEDBRIDGE_SP_ENTITY_ID",
        xmlsec::SP,
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("In service on 1 running server."));
}

/// The AuthnRequest ID and the RelayState of `reply`, the 303 of `/saml/login` to the IdP.
fn request_of(reply: &Reply) -> (String, String) {
    let decoded = decode_redirect(&reply.location).unwrap();
    let doc = xml::parse(decoded.xml.as_bytes(), 1 << 16).unwrap();
    let request_id = doc.root().unwrap().attr("ID").unwrap().into_owned();
    (request_id, decoded.relay_state.unwrap())
}

/// The `name=value` of the `Set-Cookie` for `name` in `reply`, and the whole header.
fn set_cookie<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(String::as_str)
}

#[test]
fn an_unsolicited_response_needs_no_login_cookie_and_takes_no_hop() {
    let Some(idp) = Idp::new("an_unsolicited_response_needs_no_login_cookie_and_takes_no_hop")
    else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_ALLOW_IDP_INITIATED", "1")]);
    let consumer = over_http(&bridge);
    // IdP-initiated: no request, so nothing to bind; the cookieless POST is completed at once.
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer));
    let reply = bridge.post_response_once(&browser(), &response, None);
    assert!(
        hop_fields(&reply).is_none(),
        "{}",
        bridge.why("no hop", &reply)
    );
    assert_eq!(reply.status, 303, "{}", bridge.why("IdP-initiated", &reply));
}

#[test]
fn a_same_site_hop_costs_the_client_no_refused_post() {
    let Some(idp) = Idp::new("a_same_site_hop_costs_the_client_no_refused_post") else {
        return;
    };
    // Two refused posts a minute; over plain http every login of this browser takes a hop.
    let bridge = Bridge::start(&[("FEDBRIDGE_RATE_LIMIT_ACS", "2/1m")]);
    let consumer = over_http(&bridge);
    let cookieless = browser();
    for login in 1..=3 {
        let (request_id, relay) = request_of(&bridge.get("/saml/login", &[]));
        let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
        let hop = bridge.post_response_once(&cookieless, &response, Some(&relay));
        let fields = hop_fields(&hop)
            .unwrap_or_else(|| panic!("{}", bridge.why(&format!("login {login}: hop"), &hop)));
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let reply = bridge.post_form(ACS_PATH, &fields, &[]);
        bridge.landed(
            &reply,
            DOWNSTREAM,
            &format!("login {login}: the hop's POST"),
        );
    }
}

#[test]
fn over_http_the_hop_brings_the_cookie_and_only_the_starting_browser_completes() {
    let Some(idp) =
        Idp::new("over_http_the_hop_brings_the_cookie_and_only_the_starting_browser_completes")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let consumer = over_http(&bridge);
    let cookieless = browser();

    // Browser A starts a login: the login cookie, Lax, not Secure (plain http).
    let reply = bridge.get("/saml/login", &[]);
    let cookie = set_cookie(&reply, "fedbridge-login")
        .unwrap_or_else(|| panic!("{}", bridge.why("GET /saml/login: login cookie", &reply)));
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let (request_id, relay) = request_of(&reply);
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));

    // The IdP's auto-post is cross-site: a Lax cookie stays home. The answer is the hop page,
    // which carries the form on, and nothing is parsed or written.
    let audit_before = bridge.count("login_audit");
    let hop = bridge.post_response_once(&cookieless, &response, Some(&relay));
    let fields = hop_fields(&hop).unwrap_or_else(|| panic!("{}", bridge.why("hop page", &hop)));
    assert_eq!(
        fields,
        [
            ("SAMLResponse".to_owned(), response.clone()),
            ("RelayState".to_owned(), relay.clone()),
            ("fedbridge_hop".to_owned(), "1".to_owned()),
        ]
    );
    assert_eq!(bridge.count("login_audit"), audit_before);
    // The hop's own POST is same-site: browser A sends its cookie and is signed in.
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let reply = bridge.post_form(ACS_PATH, &fields, &[]);
    bridge.landed(&reply, DOWNSTREAM, "POST the hop form from browser A");

    // Browser A starts another login; a second browser B posts the response to it.
    let (request_id, relay) = request_of(&bridge.get("/saml/login", &[]));
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
    let sessions = bridge.count("xsessions");
    let b = browser();
    let reply = bridge.post_response_as(&b, &response, Some(&relay));
    bridge.refused(
        &reply,
        "browser_binding_missing",
        "browser B posts A's response",
    );
    assert!(
        reply
            .set_cookies
            .iter()
            .all(|c| !c.starts_with("xsession=")),
        "{:?}",
        reply.set_cookies
    );
    assert_eq!(bridge.count("xsessions"), sessions, "no session for B");

    // Browser C has a login cookie of its own (it started a login): a mismatch.
    let (request_id, relay) = request_of(&bridge.get("/saml/login", &[]));
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
    let c = browser();
    let started = bridge.get_as(&c, "/saml/login", &[]);
    assert_eq!(started.status, 303);
    let reply = bridge.post_response_as(&c, &response, Some(&relay));
    bridge.refused(
        &reply,
        "browser_binding_mismatch",
        "browser C posts A's response",
    );
    assert_eq!(bridge.count("xsessions"), sessions, "no session for C");
    // The response is burnt: A cannot use it afterwards either.
    let reply = bridge.post_response(&response, Some(&relay));
    assert_eq!(reply.status, 400, "{}", bridge.why("A after C", &reply));
}

#[test]
fn over_https_behind_a_proxy_the_cookie_rides_the_post_and_binds_the_login() {
    let Some(idp) =
        Idp::new("over_https_behind_a_proxy_the_cookie_rides_the_post_and_binds_the_login")
    else {
        return;
    };
    let bridge = Bridge::start(&[("FEDBRIDGE_TRUSTED_PROXIES", r#"["127.0.0.1"]"#)]);
    let proxy = TlsProxy::start(bridge.server.port, "198.51.100.7");
    let consumer = format!("https://127.0.0.1:{}{ACS_PATH}", proxy.port);
    set_consumer(&bridge, &consumer);
    let get = |path: &str, cookie: Option<&str>| {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        https_request(proxy.port, &proxy.certificate, "GET", path, &headers, None)
    };
    let post = |response: &str, relay: &str, cookie: Option<&str>, hop: bool| {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        let mut form = vec![("SAMLResponse", response), ("RelayState", relay)];
        if hop {
            form.push(("fedbridge_hop", "1"));
        }
        https_request(
            proxy.port,
            &proxy.certificate,
            "POST",
            ACS_PATH,
            &headers,
            Some(&form),
        )
    };
    // One browser: GET /saml/login through the proxy.
    let begin = || {
        let reply = get("/saml/login", None);
        assert_eq!(reply.status, 303, "{reply:?}");
        let cookie = set_cookie(&reply, "__Host-fedbridge-login")
            .unwrap_or_else(|| panic!("{reply:?}"))
            .to_owned();
        let (request_id, relay) = request_of(&reply);
        let pair = cookie.split(';').next().unwrap().to_owned();
        (cookie, pair, request_id, relay)
    };
    let (cookie, pair, request_id, relay) = begin();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // SameSite=None: the IdP's cross-site POST carries it; no hop.
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
    let reply = post(&response, &relay, Some(&pair), false);
    assert_eq!(reply.status, 303, "{reply:?}\n{}", bridge.last_audit());
    assert!(reply.location.starts_with(DOWNSTREAM), "{reply:?}");
    assert!(
        reply
            .set_cookies
            .iter()
            .any(|c| c.starts_with("xsession=") && c.contains("Secure")),
        "{reply:?}"
    );
    // The audit names the client the trusted proxy forwarded.
    assert!(
        bridge.last_audit().contains("|198.51.100.7"),
        "{}",
        bridge.last_audit()
    );

    // Another browser posts the response to a login this one started: refused.
    let (_, _, request_id, relay) = begin();
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
    let hop = post(&response, &relay, None, false);
    assert!(hop_fields(&hop).is_some(), "{hop:?}");
    let reply = post(&response, &relay, None, true);
    bridge.refused(
        &reply,
        "browser_binding_missing",
        "second browser over https",
    );
    let (_, _, request_id, relay) = begin();
    let (_, other, _, _) = begin();
    let response = idp.post_value(&alice(&["Staff"]).for_acs(&consumer).answering(&request_id));
    let reply = post(&response, &relay, Some(&other), false);
    bridge.refused(
        &reply,
        "browser_binding_mismatch",
        "third browser over https",
    );
}
