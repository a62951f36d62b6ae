use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, test};
use time::macros::datetime;

use super::*;
use crate::clock::FixedClock;
use crate::token::claims::{ClaimsInput, issue, jwks};
use crate::token::keys::{Algorithm, SigningKeyPair};

const ISS: &str = "https://sso.example.com";
const AUD: &str = "downstream";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn token_for(key: &SigningKeyPair, subject: &str, audience: &str) -> String {
    let input = ClaimsInput {
        issuer: ISS.into(),
        audience: audience.into(),
        subject: subject.into(),
        name: Some("Alice Example".into()),
        email: None,
        groups: vec!["staff".into()],
        session_id: "s1".into(),
    };
    issue(&input, key, NOW, time::Duration::HOUR).unwrap()
}

fn fixed(key: &SigningKeyPair, now: OffsetDateTime) -> XsessionVerifier {
    XsessionVerifier::from_jwks(
        jwks(&[key.public_key()]),
        ISS,
        AUD,
        Arc::new(FixedClock(now)),
    )
}

async fn whoami(session: Xsession) -> HttpResponse {
    HttpResponse::Ok().body(session.0.sub)
}

async fn call(
    verifier: XsessionVerifier,
    req: test::TestRequest,
) -> (StatusCode, Option<String>, String) {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(verifier))
            .route("/", web::get().to(whoami)),
    )
    .await;
    let response = test::call_service(&app, req.to_request()).await;
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::read_body(response).await;
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn the_token_is_accepted_from_the_cookie_and_the_bearer_header_not_from_a_link() {
    let key = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let token = token_for(&key, "alice", AUD);
    let requests = [
        test::TestRequest::get()
            .uri("/")
            .cookie(actix_web::cookie::Cookie::new("xsession", token.clone())),
        test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}"))),
    ];
    for req in requests {
        let (status, _, body) = call(fixed(&key, NOW), req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "alice");
    }
    // A link's token is a hand-off (see `handoff`), never the session by itself: any page
    // could link a visitor in as someone else.
    let link = test::TestRequest::get().uri(&format!("/?xsession={token}"));
    let (status, challenge, _) = call(fixed(&key, NOW), link).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
}

#[actix_web::test]
async fn a_cookie_and_a_bearer_token_of_two_users_are_refused() {
    let key = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let (alice, bob) = (token_for(&key, "alice", AUD), token_for(&key, "bob", AUD));
    let both = |cookie: &str, bearer: &str| {
        test::TestRequest::get()
            .uri("/")
            .cookie(actix_web::cookie::Cookie::new(
                "xsession",
                cookie.to_owned(),
            ))
            .insert_header((header::AUTHORIZATION, format!("Bearer {bearer}")))
    };
    let (status, _, _) = call(fixed(&key, NOW), both(&alice, &bob)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let again = token_for(&key, "alice", AUD);
    let (status, _, body) = call(fixed(&key, NOW), both(&alice, &again)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
}

#[actix_web::test]
async fn a_missing_token_is_401_with_a_bearer_challenge() {
    let key = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let (status, challenge, _) = call(fixed(&key, NOW), test::TestRequest::get().uri("/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some("Bearer"));
}

#[actix_web::test]
async fn expired_foreign_or_tampered_tokens_are_401_without_detail() {
    let key = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let good = token_for(&key, "alice", AUD);
    let mut tampered = good.clone();
    tampered.insert_str(good.find('.').unwrap() + 1, "eyJ");
    let cases = [
        (good.clone(), NOW + time::Duration::hours(2)),
        (token_for(&key, "alice", "someone-else"), NOW),
        (tampered, NOW),
        ("not-a-token".to_owned(), NOW),
    ];
    for (token, now) in cases {
        let req = test::TestRequest::get()
            .uri("/")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        let (status, _, body) = call(fixed(&key, now), req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, "authentication required");
    }
}

/// A clock the test moves forward.
struct StepClock(AtomicI64);

impl Clock for StepClock {
    fn now(&self) -> OffsetDateTime {
        NOW + time::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
}

/// Serves `body()` to the first `limit` connections, counting them, then closes the port.
fn serve(body: Arc<Mutex<String>>, limit: usize, hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..limit {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            hits.fetch_add(1, Ordering::SeqCst);
            let body = body.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(body.as_bytes()).unwrap();
        }
    });
    format!("http://127.0.0.1:{port}/.well-known/jwks.json")
}

fn jwks_json(keys: &[&SigningKeyPair]) -> String {
    let public: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    serde_json::to_string(&jwks(&public)).unwrap()
}

#[actix_web::test]
async fn an_unknown_kid_refetches_the_jwks_at_most_every_30_seconds() {
    let old = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let new = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    let body = Arc::new(Mutex::new(jwks_json(&[&old])));
    let hits = Arc::new(AtomicUsize::new(0));
    let url = serve(body.clone(), 2, hits.clone());
    let clock = Arc::new(StepClock(AtomicI64::new(0)));
    let verifier = XsessionVerifier::from_jwks_url(url, ISS, AUD, clock.clone());

    assert_eq!(
        verifier
            .verify(&token_for(&old, "a", AUD))
            .await
            .unwrap()
            .sub,
        "a"
    );
    assert_eq!(
        verifier
            .verify(&token_for(&old, "b", AUD))
            .await
            .unwrap()
            .sub,
        "b"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Rotation: the new key is published; within 30 s of the last fetch it is not refetched.
    *body.lock().unwrap() = jwks_json(&[&old, &new]);
    clock.0.store(10, Ordering::SeqCst);
    let rotated = token_for(&new, "c", AUD);
    assert!(matches!(
        verifier.verify(&rotated).await,
        Err(TokenError::UnknownKeyId(_))
    ));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    clock.0.store(31, Ordering::SeqCst);
    assert_eq!(verifier.verify(&rotated).await.unwrap().sub, "c");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // The server is gone: a refetch fails and the last good keys stay in use.
    clock.0.store(100, Ordering::SeqCst);
    let unknown = SigningKeyPair::generate(Algorithm::Es256).unwrap();
    assert!(matches!(
        verifier.verify(&token_for(&unknown, "d", AUD)).await,
        Err(TokenError::UnknownKeyId(_))
    ));
    assert_eq!(
        verifier
            .verify(&token_for(&old, "e", AUD))
            .await
            .unwrap()
            .sub,
        "e"
    );
    assert_eq!(verifier.verify(&rotated).await.unwrap().sub, "c");
}
