use std::time::{Duration, Instant};

use super::*;
use crate::config::{EdgeSettings, IpNetwork, RateLimit};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn nets(list: &[&str]) -> Vec<IpNetwork> {
    list.iter().map(|n| IpNetwork::parse(n).unwrap()).collect()
}

fn settings() -> EdgeSettings {
    EdgeSettings {
        body_timeout: time::Duration::seconds(15),
        body_memory_budget: 4 * 1024 * 1024,
        max_bodies_per_client: 3,
        rate_limit_acs: Some(RateLimit {
            count: 2,
            per: time::Duration::seconds(10),
        }),
        rate_limit_login: None,
        trusted_proxies: Vec::new(),
        max_outstanding_requests: 100,
    }
}

#[test]
fn the_client_is_the_peer_unless_a_trusted_proxy_forwards() {
    let none: Vec<IpNetwork> = Vec::new();
    let proxy = nets(&["10.0.0.1", "192.168.0.0/16"]);
    let key = |peer: &str, xff: Option<&str>, trusted: &[IpNetwork]| {
        client_key(Some(ip(peer)), xff, trusted).to_string()
    };
    // Anyone may send the header: believed only from a trusted proxy.
    assert_eq!(key("203.0.113.9", Some("1.2.3.4"), &none), "203.0.113.9");
    assert_eq!(key("203.0.113.9", Some("1.2.3.4"), &proxy), "203.0.113.9");
    assert_eq!(key("10.0.0.1", Some("1.2.3.4"), &proxy), "1.2.3.4");
    // The rightmost untrusted hop: what the client wrote on the left is not believed.
    assert_eq!(
        key("10.0.0.1", Some("6.6.6.6, 1.2.3.4, 192.168.1.1"), &proxy),
        "1.2.3.4"
    );
    // Malformed: the peer.
    assert_eq!(key("10.0.0.1", Some("1.2.3.4, evil"), &proxy), "10.0.0.1");
    assert_eq!(key("10.0.0.1", Some(""), &proxy), "10.0.0.1");
    // Only trusted hops: the leftmost.
    assert_eq!(key("10.0.0.1", Some("192.168.5.5"), &proxy), "192.168.5.5");
    // IPv6 clients are their /64; IPv4-mapped addresses are IPv4.
    assert_eq!(
        key("2001:db8:1:2:3:4:5:6", None, &none),
        "2001:db8:1:2::/64"
    );
    assert_eq!(key("::ffff:1.2.3.4", None, &none), "1.2.3.4");
    assert_eq!(client_key(None, None, &none).to_string(), "0.0.0.0");
}

#[test]
fn a_bucket_allows_its_burst_then_refills_evenly() {
    let limit = RateLimit {
        count: 3,
        per: time::Duration::seconds(30),
    };
    let t0 = Instant::now();
    let mut bucket = Bucket::full(limit, t0);
    for _ in 0..3 {
        assert_eq!(bucket.take(limit, t0), Ok(()));
    }
    assert_eq!(bucket.take(limit, t0), Err(10));
    assert_eq!(bucket.take(limit, t0 + Duration::from_secs(9)), Err(1));
    assert_eq!(bucket.take(limit, t0 + Duration::from_secs(10)), Ok(()));
    bucket.refund(limit);
    assert_eq!(bucket.take(limit, t0 + Duration::from_secs(10)), Ok(()));
    assert!(!bucket.is_full(limit, t0 + Duration::from_secs(10)));
    assert!(bucket.is_full(limit, t0 + Duration::from_secs(40)));
}

#[test]
fn the_limiter_keeps_clients_and_classes_apart_and_sweeps_full_buckets() {
    let limiter = RateLimiter::default();
    let s = settings();
    let (a, b) = (ClientKey::of(ip("1.1.1.1")), ClientKey::of(ip("2.2.2.2")));
    let t0 = Instant::now();
    assert!(limiter.take(Class::Acs, a, s.rate_limit_acs, t0).is_ok());
    assert!(limiter.take(Class::Acs, a, s.rate_limit_acs, t0).is_ok());
    assert_eq!(
        limiter.take(Class::Acs, a, s.rate_limit_acs, t0),
        Err(EdgeRefusal::RateLimited { retry_after: 5 })
    );
    assert!(limiter.take(Class::Acs, b, s.rate_limit_acs, t0).is_ok());
    assert!(
        limiter
            .take(Class::Login, a, s.rate_limit_login, t0)
            .is_ok()
    );
    limiter.refund(Class::Acs, a, s.rate_limit_acs);
    assert!(limiter.take(Class::Acs, a, s.rate_limit_acs, t0).is_ok());
    assert_eq!(limiter.tracked.load(Ordering::Relaxed), 2);
    limiter.sweep(&s, t0 + Duration::from_secs(60));
    assert_eq!(limiter.tracked.load(Ordering::Relaxed), 0);
}

#[test]
fn the_body_budget_bounds_all_bodies_large_ones_and_each_client() {
    let budget = Arc::new(BodyBudget::default());
    let s = settings(); // 4 MiB: large bodies share 2 MiB
    let a = ClientKey::of(ip("1.1.1.1"));
    let mb = 1024 * 1024;
    let one = budget.reserve(a, mb, &s).unwrap();
    let two = budget.reserve(a, mb, &s).unwrap();
    // A client's third large body: its own cap.
    assert_eq!(
        budget.reserve(a, mb, &s).unwrap_err(),
        EdgeRefusal::ClientBusy
    );
    // Another client's large body: the large half is full.
    let b = ClientKey::of(ip("2.2.2.2"));
    assert_eq!(
        budget.reserve(b, mb, &s).unwrap_err(),
        EdgeRefusal::Overloaded
    );
    // Small bodies still fit beside them, up to the whole budget.
    let small: Vec<_> = (0..7)
        .map(|_| budget.reserve(b, 256 * 1024, &s))
        .take(3)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        budget.reserve(b, 1000, &s).unwrap_err(),
        EdgeRefusal::ClientBusy
    );
    assert_eq!(budget.in_use(), 2 * mb + 3 * 256 * 1024);
    drop(one);
    drop(two);
    drop(small);
    assert_eq!(budget.in_use(), 0);
    assert!(budget.per_client.lock().unwrap().is_empty());
    // A refused reservation leaves nothing behind.
    let huge = budget.reserve(a, 3 * mb, &s).unwrap_err();
    assert_eq!(huge, EdgeRefusal::Overloaded);
    assert_eq!(budget.in_use(), 0);
    assert_eq!(budget.large_in_use.load(Ordering::SeqCst), 0);
    assert!(budget.per_client.lock().unwrap().is_empty());
}

#[test]
fn outstanding_requests_are_admitted_up_to_the_cap() {
    let edge = Edge::default();
    edge.set_outstanding(98);
    assert!(edge.admit_outstanding(100).is_ok());
    assert!(edge.admit_outstanding(100).is_ok());
    assert_eq!(edge.admit_outstanding(100), Err(EdgeRefusal::LoginCapacity));
    edge.set_outstanding(10);
    assert!(edge.admit_outstanding(100).is_ok());
}

#[test]
fn every_refusal_has_a_status_a_code_and_a_generic_sentence() {
    for refusal in [
        EdgeRefusal::LengthRequired,
        EdgeRefusal::NotAForm,
        EdgeRefusal::TooLarge,
        EdgeRefusal::Timeout,
        EdgeRefusal::Incomplete,
        EdgeRefusal::RateLimited { retry_after: 0 },
        EdgeRefusal::ClientBusy,
        EdgeRefusal::Overloaded,
        EdgeRefusal::LoginCapacity,
    ] {
        assert!((400..600).contains(&refusal.status()));
        assert!(!refusal.reason().code().is_empty());
        assert!(!refusal.sentence().is_empty());
        if matches!(refusal.status(), 429 | 503) {
            assert!(refusal.retry_after().is_some_and(|s| s >= 1));
        }
    }
}
