//! What `/metrics` reports, kept cheap on the hot path: every counter, gauge and histogram is a
//! set of atomics (no lock, no allocation per login). [`Metrics::render`] writes the Prometheus
//! text format (version 0.0.4); the values that are read, not counted (certificate expiry,
//! outstanding requests), are passed in by the caller at scrape time as [`Snapshot`].
//!
//! Reason codes are the labels of `fedbridge_logins_total`: their set is fixed at build time
//! ([`Metrics::new`] takes it), so a login finds its counter by position, never by a map.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The outcomes of a login attempt, as the audit trail records them.
pub const OUTCOMES: [&str; 3] = ["accepted", "rejected", "error"];

/// Upper bounds (seconds) of the latency histograms: 1 ms to 10 s.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];

/// A latency histogram: one atomic counter per bucket, the sum in microseconds, the count.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len() - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, help, "histogram");
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = if bound.is_infinite() {
                "+Inf".to_owned()
            } else {
                bound.to_string()
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {}", self.count());
    }
}

/// The counters of one server (shared by every worker).
#[derive(Debug)]
pub struct Metrics {
    reasons: Vec<&'static str>,
    /// `[reason index * 3 + outcome index]`; reason index 0 is "no reason" (accepted).
    logins: Vec<AtomicU64>,
    /// How long validation took (the SAML rules of SPEC section 4, signature included).
    pub validation: Histogram,
    /// How long a whole login took at the ACS (reading the post to the answer).
    pub login: Histogram,
    clock_offset: AtomicI64,
    clock_offset_known: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    fetches_ok: AtomicU64,
    fetches_failed: AtomicU64,
    requests: AtomicU64,
}

/// The values read at scrape time rather than counted.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Days until each certificate or key expires: (kind, subject, days; negative: expired).
    pub expiry_days: Vec<(&'static str, String, f64)>,
    /// Outstanding AuthnRequests (not expired); `None` when the database could not say.
    pub outstanding_requests: Option<u64>,
    /// Time spent waiting for a database connection or the write gate.
    pub database_wait: Option<std::sync::Arc<Histogram>>,
    /// Whether a valid configuration is in service.
    pub configured: bool,
}

impl Metrics {
    /// Counters for logins whose refusals carry one of `reasons` (every reason code there is).
    pub fn new(reasons: Vec<&'static str>) -> Metrics {
        let logins = (0..(reasons.len() + 1) * OUTCOMES.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        Metrics {
            reasons,
            logins,
            validation: Histogram::default(),
            login: Histogram::default(),
            clock_offset: AtomicI64::new(0),
            clock_offset_known: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            fetches_ok: AtomicU64::new(0),
            fetches_failed: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Counts one login attempt; `reason` is its reason code (`None` when accepted). An
    /// unknown code counts under no reason (it cannot happen: the codes are fixed).
    pub fn count_login(&self, outcome: &str, reason: Option<&str>) {
        let outcome = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(2);
        let reason = reason
            .and_then(|code| self.reasons.iter().position(|r| *r == code))
            .map_or(0, |i| i + 1);
        if let Some(counter) = self.logins.get(reason * OUTCOMES.len() + outcome) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the offset of the IdP's clock (the assertion's IssueInstant minus our time).
    pub fn record_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
        self.clock_offset_known.store(1, Ordering::Relaxed);
    }

    /// Counts a configuration put in service (`true`) or refused (`false`).
    pub fn count_reload(&self, ok: bool) {
        let counter = if ok {
            &self.reloads
        } else {
            &self.reload_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a fetch of the IdP metadata.
    pub fn count_metadata_fetch(&self, ok: bool) {
        let counter = if ok {
            &self.fetches_ok
        } else {
            &self.fetches_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an HTTP request.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text format of every metric, with `snapshot`'s values.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(8 * 1024);
        header(
            &mut out,
            "fedbridge_logins_total",
            "Login attempts at the ACS by outcome and reason code.",
            "counter",
        );
        let reasons = std::iter::once("").chain(self.reasons.iter().copied());
        for (r, reason) in reasons.enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let value = self.logins[r * OUTCOMES.len() + o].load(Ordering::Relaxed);
                // Every accepted line and every line with a count: the rest would be noise.
                if value == 0 && !(r == 0 && o == 0) {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "fedbridge_logins_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {value}"
                );
            }
        }
        self.validation.render(
            &mut out,
            "fedbridge_validation_duration_seconds",
            "Time to validate a SAML response (every rule of SPEC section 4).",
        );
        self.login.render(
            &mut out,
            "fedbridge_login_duration_seconds",
            "Time of a whole login at the ACS, from the post to the answer.",
        );
        if self.clock_offset_known.load(Ordering::Relaxed) == 1 {
            header(
                &mut out,
                "fedbridge_idp_clock_offset_seconds",
                "The IdP's clock minus ours, from the IssueInstant of the last verified assertion.",
                "gauge",
            );
            let _ = writeln!(
                out,
                "fedbridge_idp_clock_offset_seconds {}",
                self.clock_offset.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "fedbridge_certificate_expiry_days",
            "Days until a certificate or signing key expires (negative: expired).",
            "gauge",
        );
        for (kind, subject, days) in &snapshot.expiry_days {
            let _ = writeln!(
                out,
                "fedbridge_certificate_expiry_days{{kind=\"{kind}\",subject=\"{}\"}} {days:.2}",
                label(subject)
            );
        }
        counter(
            &mut out,
            "fedbridge_config_reloads_total",
            "Configurations put in service (the first load included).",
            self.reloads.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "fedbridge_config_reload_failures_total",
            "Settings refused at reload (invalid, or unreadable).",
            self.reload_failures.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "fedbridge_metadata_fetches_total",
            "Fetches of the IdP metadata by result.",
            "counter",
        );
        for (result, value) in [("ok", &self.fetches_ok), ("error", &self.fetches_failed)] {
            let _ = writeln!(
                out,
                "fedbridge_metadata_fetches_total{{result=\"{result}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
        if let Some(outstanding) = snapshot.outstanding_requests {
            header(
                &mut out,
                "fedbridge_outstanding_requests",
                "AuthnRequests sent and not answered nor expired (all nodes).",
                "gauge",
            );
            let _ = writeln!(out, "fedbridge_outstanding_requests {outstanding}");
        }
        if let Some(wait) = &snapshot.database_wait {
            wait.render(
                &mut out,
                "fedbridge_database_wait_seconds",
                "Time spent waiting for a database connection (and, on SQLite, the write gate).",
            );
        }
        header(
            &mut out,
            "fedbridge_configured",
            "1 when a valid configuration is in service.",
            "gauge",
        );
        let _ = writeln!(
            out,
            "fedbridge_configured {}",
            u8::from(snapshot.configured)
        );
        counter(
            &mut out,
            "fedbridge_http_requests_total",
            "HTTP requests answered.",
            self.requests.load(Ordering::Relaxed),
        );
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {value}");
}

/// A label value: backslash, quote and newline escaped, as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_in_the_text_format() {
        let metrics = Metrics::new(vec!["replay", "expired"]);
        metrics.count_login("accepted", None);
        metrics.count_login("rejected", Some("replay"));
        metrics.count_login("rejected", Some("replay"));
        metrics.validation.observe(Duration::from_millis(3));
        metrics.record_clock_offset(-4);
        let text = metrics.render(&Snapshot {
            expiry_days: vec![("idp_signing", "CN=\"x\"".into(), 12.5)],
            ..Snapshot::default()
        });
        assert!(text.contains("fedbridge_logins_total{outcome=\"accepted\",reason=\"\"} 1"));
        assert!(text.contains("fedbridge_logins_total{outcome=\"rejected\",reason=\"replay\"} 2"));
        assert!(!text.contains("reason=\"expired\""), "{text}");
        assert!(text.contains("fedbridge_validation_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("fedbridge_validation_duration_seconds_bucket{le=\"+Inf\"} 1"));
        assert!(text.contains("fedbridge_idp_clock_offset_seconds -4"));
        assert!(text.contains("subject=\"CN=\\\"x\\\"\"} 12.50"), "{text}");
    }
}
