//! `fedbridge serve` as an administrator runs it: the real binary on a temporary SQLite file,
//! settings changed behind its back with the `sqlite3` shell, observed through `/healthz` and
//! `/saml/metadata` with a tiny HTTP/1.1 client. Every wait has a deadline; every child
//! process is killed when its guard drops.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

const ACS: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";
const SSO: &str = "https://idp.example.com/saml2/sso";
/// The issue's promise: a change made with SQL takes effect within 2 seconds.
const RELOAD_DEADLINE: Duration = Duration::from_secs(2);

/// `FEDBRIDGE_HEALTH_SECRET` of these tests: the health details are served with it only.
const HEALTH_SECRET: &str = "health-secret-of-the-serve-tests";

/// What this module asks of a running server besides what `support::Server` offers.
impl Server {
    /// `/healthz` as (HTTP status, JSON), with the health secret (the details; while no
    /// configuration with the secret is in service, the verdict only).
    fn health(&self) -> (u16, Value) {
        let bearer = format!("Bearer {HEALTH_SECRET}");
        let (status, body) = http_get_with(self.port, "/healthz", &[("Authorization", &bearer)]);
        if status == 401 {
            // No secret in service (unconfigured): what anyone sees.
            return self.public_health();
        }
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/healthz is not JSON ({e}): {body}"));
        (status, json)
    }

    /// `/healthz` without credentials.
    fn public_health(&self) -> (u16, Value) {
        let (status, body) = self.get("/healthz");
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/healthz is not JSON ({e}): {body}"));
        (status, json)
    }

    /// Polls `/healthz` until `accept` holds or `within` passes; returns the report and how
    /// long it took.
    fn wait_health(
        &self,
        within: Duration,
        what: &str,
        accept: impl Fn(u16, &Value) -> bool,
    ) -> (Value, Duration) {
        let started = Instant::now();
        loop {
            let (status, json) = self.health();
            if accept(status, &json) {
                return (json, started.elapsed());
            }
            if started.elapsed() > within {
                panic!(
                    "within {within:?}: {what}; last /healthz {status}: {json:#}\nlog:\n{}",
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(25));
        }
    }
}

fn is_ok(status: u16, json: &Value) -> bool {
    status == 200 && json["status"] == "ok"
}

fn has_problem(json: &Value, key: &str) -> bool {
    json["config"]["problems"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["key"] == key))
}

#[test]
fn sql_changes_take_effect_live_and_invalid_ones_are_refused() {
    let env = Instance::new();
    let cert = idp_cert();
    env.config_set(&[
        ("SAML_CONSUMER_URL", ACS),
        ("SAML_REDIRECT_URL", SSO),
        ("SAML_SIGNING_CERTIFICATE", &cert),
        ("FEDBRIDGE_HEALTH_SECRET", HEALTH_SECRET),
    ]);
    let server = env.serve("serve.log");
    let (json, _) = server.wait_health(SERVER_START_DEADLINE, "ok", is_ok);
    assert_eq!(json["idp_metadata"]["source"], "config");
    let (status, metadata) = server.get("/saml/metadata");
    assert_eq!(status, 200);
    assert!(metadata.contains(&format!("entityID=\"{ACS}\"")));

    // A valid change, made with SQL: visible on /saml/metadata within 2 s.
    let other = "https://sp.example.com/other-entity";
    let started = Instant::now();
    env.sqlite3(&format!(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDBRIDGE_SP_ENTITY_ID', '{other}')"
    ));
    loop {
        let (_, body) = server.get("/saml/metadata");
        if body.contains(&format!("entityID=\"{other}\"")) {
            break;
        }
        assert!(
            started.elapsed() < RELOAD_DEADLINE,
            "the new entityID is not served within {RELOAD_DEADLINE:?}:\n{body}\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(25));
    }
    eprintln!(
        "reload latency (valid change -> served): {:?}",
        started.elapsed()
    );

    // An invalid change: refused, degraded with the key name, the last valid config kept.
    env.sqlite3(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDBRIDGE_CLOCK_SKEW', 'soon')",
    );
    let (json, took) = server.wait_health(
        RELOAD_DEADLINE,
        "degraded naming FEDBRIDGE_CLOCK_SKEW",
        |s, j| s == 503 && j["status"] == "degraded" && has_problem(j, "FEDBRIDGE_CLOCK_SKEW"),
    );
    eprintln!("reload latency (invalid change -> degraded): {took:?}");
    assert_eq!(json["config"]["valid"], false);
    assert!(!json["config"]["loaded_at"].is_null());
    let (status, body) = server.get("/saml/metadata");
    assert_eq!(status, 200, "the last valid configuration keeps serving");
    assert!(body.contains(&format!("entityID=\"{other}\"")));

    // Fixed: ok again.
    env.sqlite3("UPDATE CONFIGURATIONENTITY SET VALUE = '90s' WHERE NAME = 'FEDBRIDGE_CLOCK_SKEW'");
    let (_, took) = server.wait_health(RELOAD_DEADLINE, "ok after the fix", is_ok);
    eprintln!("reload latency (fix -> ok): {took:?}");

    // The database file goes away: the configuration stays, /healthz says why. (SQLite only:
    // a PostgreSQL database has no file to move; a lost server is store::tests' reconnect test.)
    if sqlite_only(
        "sql_changes_take_effect_live: the database file goes away",
        "moves the file",
    ) {
        let moved = env.dir.path().join("moved.db");
        std::fs::rename(&env.db, &moved).unwrap();
        let (json, _) =
            server.wait_health(RELOAD_DEADLINE * 2, "degraded: database gone", |s, j| {
                s == 503 && j["config"]["database_error"] == "the database file is gone"
            });
        assert_eq!(json["status"], "degraded");
        assert!(
            !env.db.exists(),
            "polling must not create an empty database"
        );
        assert_eq!(server.get("/saml/metadata").0, 200);
        std::fs::rename(&moved, &env.db).unwrap();
        server.wait_health(RELOAD_DEADLINE * 2, "ok once the file is back", is_ok);
    }

    // Each distinct problem was logged once, and no value of the certificate reached the log.
    thread::sleep(Duration::from_millis(1200));
    let log = server.log();
    assert_eq!(
        log.matches("FEDBRIDGE_CLOCK_SKEW: ").count(),
        1,
        "the invalid setting is logged exactly once:\n{log}"
    );
    assert!(log.contains("changed: FEDBRIDGE_SP_ENTITY_ID"), "{log}");
    let file_gone_once = usize::from(!postgres_switch());
    assert_eq!(
        log.matches("no longer exists").count(),
        file_gone_once,
        "{log}"
    );
    let cert_line = cert.lines().nth(1).unwrap();
    assert!(!log.contains(cert_line), "{log}");
}

#[test]
fn an_empty_database_serves_the_not_configured_page_until_configured_live() {
    let env = Instance::new();
    let server = env.serve("serve.log");
    let (json, _) = server.wait_health(SERVER_START_DEADLINE, "unconfigured", |s, j| {
        s == 503 && j["status"] == "unconfigured"
    });
    // Unconfigured, there is no secret: anyone sees the verdict, the pages say what to fix.
    assert_eq!(json, serde_json::json!({ "status": "unconfigured" }));
    for path in ["/", "/saml/metadata", "/some/page?x=%3Cy%3E"] {
        let (status, page) = server.get(path);
        assert_eq!(status, 503, "{path}");
        assert!(page.contains("fedbridge is not configured yet"), "{page}");
        assert!(page.contains("<code>SAML_CONSUMER_URL</code>"), "{page}");
    }

    // A secret with a bad value: its name is listed, its value never.
    let secret = "short-but-secret";
    env.sqlite3(&format!(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDBRIDGE_INTROSPECTION_SECRET', '{}')",
        &secret[..15]
    ));
    let started = Instant::now();
    let page = loop {
        let (_, page) = server.get("/");
        if page.contains("FEDBRIDGE_INTROSPECTION_SECRET") {
            break page;
        }
        assert!(started.elapsed() < RELOAD_DEADLINE, "{page}");
        thread::sleep(Duration::from_millis(25));
    };
    assert!(!page.contains(&secret[..15]), "{page}");
    assert!(!server.health().1.to_string().contains(&secret[..15]));

    // Configured with SQL alone: picked up live.
    let cert = idp_cert();
    let started = Instant::now();
    env.sqlite3(&format!(
        "BEGIN; \
         DELETE FROM CONFIGURATIONENTITY WHERE NAME = 'FEDBRIDGE_INTROSPECTION_SECRET'; \
         INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_CONSUMER_URL', '{ACS}'); \
         INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_REDIRECT_URL', '{SSO}'); \
         INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_SIGNING_CERTIFICATE', '{cert}'); \
         COMMIT;"
    ));
    server.wait_health(RELOAD_DEADLINE, "ok once configured", is_ok);
    eprintln!("reload latency (configured -> ok): {:?}", started.elapsed());
    let (status, page) = server.get("/");
    assert_eq!(status, 200, "the login page once configured: {page}");
    assert!(page.contains("Log in using SSO"), "{page}");
    assert_eq!(server.get("/saml/metadata").0, 200);
    assert!(!server.log().contains(&secret[..15]));
}

#[test]
fn metadata_url_down_keeps_the_last_good_copy_and_a_restart_uses_the_cache() {
    let sample = read(shared().join("idp-samples/simplesamlphp/idp-metadata.xml"));
    let mut idp = MetadataServer::start(sample);
    let env = Instance::new();
    env.config_set(&[
        ("SAML_CONSUMER_URL", ACS),
        ("SAML_METADATA_URL", &idp.url()),
        ("FEDBRIDGE_HEALTH_SECRET", HEALTH_SECRET),
    ]);

    let server = env.serve("first.log");
    let (json, _) = server.wait_health(SERVER_START_DEADLINE, "ok with fetched metadata", is_ok);
    // Anyone sees the verdict only: no metadata URL, no internal host, no fetch error.
    let (status, body) = server.get("/healthz");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = server.get("/readyz");
    assert_eq!((status, body.as_str()), (200, r#"{"ready":true}"#));
    let wrong = [("Authorization", "Bearer not-the-health-secret-at-all")];
    assert_eq!(http_get_with(server.port, "/healthz", &wrong).0, 401);
    let md = &json["idp_metadata"];
    assert_eq!(md["source"], "url", "{json:#}");
    assert_eq!(md["url"], idp.url());
    assert!(md["error"].is_null());
    assert!(md["signing_certificates"].as_u64().unwrap() >= 1);
    assert!(!md["fetched_at"].is_null());
    let entity_id = md["entity_id"].as_str().unwrap().to_owned();
    assert!(entity_id.starts_with("http://127.0.0.1:"), "{entity_id}");
    assert!(idp.served.load(Ordering::SeqCst) >= 1);
    // The good copy is in the database.
    let cached = env.sqlite3(&format!(
        "SELECT CASE WHEN length(body) > 0 THEN 1 ELSE 0 END FROM idp_metadata_cache WHERE url = '{}'",
        idp.url()
    ));
    assert_eq!(cached.trim(), "1");

    // The IdP goes down; a live change of the entityID makes fedbridge fetch again: the fetch
    // fails, the last good copy (from the database) stays in service, /healthz says so.
    idp.stop();
    env.sqlite3(&format!(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_SERVER_ENTITY_IDENTIFIER', '{entity_id}')"
    ));
    let (json, _) = server.wait_health(
        RELOAD_DEADLINE + FETCH_SLACK,
        "degraded, cached copy",
        |s, j| s == 503 && j["idp_metadata"]["source"] == "cache",
    );
    let md = &json["idp_metadata"];
    assert_eq!(json["status"], "degraded");
    assert_eq!(json["config"]["valid"], true);
    assert_eq!(md["entity_id"], entity_id.as_str());
    assert!(md["signing_certificates"].as_u64().unwrap() >= 1);
    assert!(
        md["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{json:#}"
    );
    drop(server);

    // A restart while the IdP is still down works from the database cache: in service at
    // once, then the fetch beside it fails and says so.
    let server = env.serve("second.log");
    let (json, _) = server.wait_health(
        SERVER_START_DEADLINE,
        "restarted on the cached copy, the fetch failed",
        |_, j| j["idp_metadata"]["source"] == "cache" && j["idp_metadata"]["error"].is_string(),
    );
    let md = &json["idp_metadata"];
    assert_eq!(json["status"], "degraded");
    assert_eq!(md["entity_id"], entity_id.as_str());
    assert!(md["signing_certificates"].as_u64().unwrap() >= 1);
    assert!(!md["fetched_at"].is_null());
    assert!(
        md["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{json:#}"
    );
    assert_eq!(server.get("/saml/metadata").0, 200);
}

/// A refused connection fails at once; this leaves room for a slow machine.
const FETCH_SLACK: Duration = Duration::from_secs(3);

#[test]
fn serve_refuses_an_unusable_database_or_address_with_exit_2() {
    let env = Instance::new();
    let missing = env.dir.path().join("no-such-dir/fedbridge.db");
    let out = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .arg("--database")
        .arg(&missing)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_fedbridge"))
        .arg("--database")
        .arg(&env.db)
        .args(["serve"])
        .env("FEDBRIDGE_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on not-an-address"),
        "{stderr}"
    );
}
