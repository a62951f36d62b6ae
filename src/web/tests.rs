//! The routes through actix's test service: unconfigured, configured, unknown paths.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{App, test, web};

use super::reload::{self, Reloader};
use super::routes;
use super::state::AppState;
use crate::clock::SystemClock;
use crate::store::Store;

const CONSUMER: &str = "https://sp.example.com/EnticeServices/rest/authenticate/saml";
const SECRET: &str = "health-secret-0123456789";

fn idp_cert() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/xmlsec/keys/idp-rsa.crt"
    );
    std::fs::read_to_string(path).unwrap()
}

/// A state on a temporary database holding `rows`, after the first poll.
fn state(rows: &[(&str, &str)]) -> (tempfile::TempDir, web::Data<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&crate::store::testing::database_in(
        dir.path(),
        "t.db",
        "web",
    ))
    .unwrap();
    let rows: BTreeMap<String, Option<String>> = rows
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
        .collect();
    store.replace_config(&rows).unwrap();
    let state = web::Data::new(AppState::new(store, Arc::new(SystemClock)));
    reload::observe_and_apply(&state, &mut Reloader::new(), reload::poll(state.store()));
    (dir, state)
}

#[actix_web::test]
async fn unconfigured_pages_list_the_problems() {
    let (_dir, state) = state(&[("SAML_AUTOMATIC_LOGIN", "<maybe>")]);
    let app = test::init_service(
        App::new()
            .wrap(crate::web::security_headers())
            .app_data(state)
            .configure(routes::configure),
    )
    .await;

    for path in ["/", "/saml/metadata", "/anything/else"] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        assert!(body.contains("fedbridge is not configured yet"), "{body}");
        assert!(body.contains("SAML_CONSUMER_URL"), "{body}");
        assert!(body.contains("SAML_AUTOMATIC_LOGIN"), "{body}");
        assert!(!body.contains("<maybe>"), "values are escaped: {body}");
    }

    let response =
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(json["status"], "unconfigured");
}

#[actix_web::test]
async fn configured_serves_healthz_and_metadata_and_404s_the_rest() {
    let cert = idp_cert();
    let (_dir, state) = state(&[
        ("SAML_CONSUMER_URL", CONSUMER),
        ("SAML_REDIRECT_URL", "https://idp.example.com/sso"),
        ("SAML_SIGNING_CERTIFICATE", &cert),
        ("FEDBRIDGE_HEALTH_SECRET", SECRET),
    ]);
    let trust = state
        .idp_trust()
        .expect("the pinned certificate is trusted");
    assert_eq!(trust.idp.signing_keys.len(), 1);
    let sso = trust.sso.expect("SAML_REDIRECT_URL");
    assert_eq!(sso.url, "https://idp.example.com/sso");
    assert_eq!(sso.binding, crate::saml::metadata::SsoBinding::Redirect);
    let app = test::init_service(
        App::new()
            .wrap(crate::web::security_headers())
            .app_data(state)
            .configure(routes::configure),
    )
    .await;

    // Anyone: the verdict and nothing else (no URLs, hosts or errors).
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(json, serde_json::json!({ "status": "ok" }));
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(json, serde_json::json!({ "ready": true }));
    // With the health secret: the report.
    let bearer = ("Authorization", format!("Bearer {SECRET}"));
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(bearer.clone())
            .to_request(),
    )
    .await;
    let json: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(json["status"], "ok");
    assert_eq!(json["idp_metadata"]["source"], "config");
    assert_eq!(json["readiness"]["ready"], true);
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/healthz")
            .insert_header(("Authorization", "Bearer not-the-secret-0000000"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/saml/metadata").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        body.contains("entityID=\"https://sp.example.com/EnticeServices/rest/authenticate/saml\""),
        "{body}"
    );
    assert!(body.contains(CONSUMER), "{body}");

    let login = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(login).await.to_vec()).unwrap();
    assert!(body.contains("Log in using SSO"), "{body}");
    for path in ["/nope", "/saml/nope"] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
