//! Revocation visible downstream (issue 11, check 3) and the safe link hand-off, with the
//! example downstream app (`fedbridge::demo::downstream`, as `examples/downstream.rs` runs it)
//! in this process against the real `fedbridge serve`.

use std::time::Duration;

use fedbridge::downstream::XsessionVerifier;
use fedbridge::downstream::introspection::{DEFAULT_TTL, IntrospectionConfig};

use super::*;

/// The example app on a free port of 127.0.0.1, verifying fedbridge's tokens with its JWKS and
/// introspection (the default 10 s staleness window); stopped on drop.
struct DownstreamApp {
    port: u16,
    handle: actix_web::dev::ServerHandle,
}

impl DownstreamApp {
    fn start(bridge: &Bridge) -> DownstreamApp {
        let (jwks, introspect) = (
            bridge.server.url("/.well-known/jwks.json"),
            bridge.server.url("/api/xsession/introspect"),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let verifier = actix_web::web::Data::new(
                    XsessionVerifier::from_jwks_url(
                        jwks,
                        ISSUER,
                        AUDIENCE,
                        std::sync::Arc::new(fedbridge::clock::SystemClock),
                    )
                    .with_introspection(IntrospectionConfig::new(introspect)),
                );
                let logout = actix_web::web::Data::new(fedbridge::demo::downstream::LogoutLink(
                    "https://sp.example.test/logout".into(),
                ));
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = listener.local_addr().unwrap().port();
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .app_data(verifier.clone())
                        .app_data(logout.clone())
                        .configure(fedbridge::demo::downstream::configure)
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run();
                tx.send((port, server.handle())).unwrap();
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv().unwrap();
        DownstreamApp { port, handle }
    }

    /// `GET path` with `headers`, following no redirect.
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = browser().get(format!("http://127.0.0.1:{}{path}", self.port));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.call())
    }
}

impl Drop for DownstreamApp {
    fn drop(&mut self) {
        let _ = futures_stop(self.handle.clone());
    }
}

/// Stops the app's server (its own runtime finishes in its thread).
fn futures_stop(handle: actix_web::dev::ServerHandle) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(handle.stop(false));
    })
}

/// The app's `xsession` cookie set by `reply` (`name=value`).
fn app_cookie(reply: &Reply) -> Option<String> {
    reply
        .set_cookies
        .iter()
        .find(|c| c.starts_with("xsession=") && !c.starts_with("xsession=;"))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[test]
fn a_revoked_token_is_refused_downstream_within_the_staleness_window() {
    let Some(idp) = Idp::new("a_revoked_token_is_refused_downstream_within_the_staleness_window")
    else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let landed = bridge.login(&idp, None, alice(&["Staff"]));
    let app = DownstreamApp::start(&bridge);
    let bearer = format!("Bearer {}", landed.token);
    let cookie = format!("xsession={}", landed.token);
    let link = format!("/?xsession={}", landed.token);

    // Accepted three ways (the answers are now cached).
    let reply = app.get("/", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("Alice Example"), "{}", reply.body);
    assert_eq!(app.get("/", &[("Cookie", &cookie)]).status, 200);
    let adopted = app.get(&link, &[]);
    assert_eq!(adopted.status, 303, "{}", adopted.body);
    assert_eq!(adopted.location, "/");
    assert_eq!(app_cookie(&adopted), Some(cookie.clone()));

    // Logged out at fedbridge: the token is revoked there at once...
    let reply = bridge.post_form("/logout", &[("xsession", &landed.token)], &[]);
    assert_eq!(reply.status, 303, "{}", bridge.why("POST /logout", &reply));
    assert!(!bridge.active(&landed.token));
    // ...and downstream within the documented window, which the test waits and no longer.
    std::thread::sleep(DEFAULT_TTL);
    let reply = app.get("/", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 401, "Bearer after the window: {}", reply.body);
    let reply = app.get("/", &[("Cookie", &cookie)]);
    assert_eq!(reply.status, 401, "cookie after the window: {}", reply.body);
    let reply = app.get(&link, &[]);
    assert_eq!(reply.status, 401, "link after the window: {}", reply.body);
    assert!(app_cookie(&reply).is_none());
    assert_eq!(DEFAULT_TTL, Duration::from_secs(10), "the README says 10 s");
}

#[test]
fn a_link_for_another_user_never_switches_the_session_silently() {
    let Some(idp) = Idp::new("a_link_for_another_user_never_switches_the_session_silently") else {
        return;
    };
    let bridge = Bridge::start(&[]);
    let alice_token = bridge.login(&idp, None, alice(&["Staff"])).token;
    let bob = Assertion::about("bob@example.test").attribute("displayName", &["Bob Example"]);
    let bob_token = bridge.login(&idp, None, bob).token;
    let app = DownstreamApp::start(&bridge);
    let alice_cookie = format!("xsession={alice_token}");

    // Signed in as Alice, a link with Bob's token: Alice stays, and is told.
    let reply = app.get(
        &format!("/?xsession={bob_token}"),
        &[("Cookie", &alice_cookie)],
    );
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("alice@example.test"), "{}", reply.body);
    assert!(reply.body.contains("bob@example.test"), "{}", reply.body);
    assert!(reply.body.contains("/logout"), "{}", reply.body);
    assert!(app_cookie(&reply).is_none(), "{:?}", reply.set_cookies);
    let reply = app.get("/", &[("Cookie", &alice_cookie)]);
    assert!(reply.body.contains("Alice Example"), "{}", reply.body);

    // No session yet: the link's user is adopted (documented: SECURITY.md), the token leaves
    // the address.
    let reply = app.get(&format!("/?a=1&xsession={bob_token}"), &[]);
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location, "/?a=1");
    assert_eq!(app_cookie(&reply), Some(format!("xsession={bob_token}")));

    // The same user's fresher token: adopted (the cookie is refreshed).
    let newer = bridge.login(&idp, None, alice(&["Staff"])).token;
    let reply = app.get(&format!("/?xsession={newer}"), &[("Cookie", &alice_cookie)]);
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(app_cookie(&reply), Some(format!("xsession={newer}")));
}
