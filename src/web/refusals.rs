//! Refusals that carried no SAML message ([`crate::login::Refusal`]: garbage posts, edge
//! refusals, targets not allowed), counted in memory per minute, client and reason, and written
//! to `login_audit` every [`FLUSH_INTERVAL`] as one row per key with its count. A flood then
//! costs a few rows and a few log lines, not one of each per request.
//!
//! Memory is bounded: beyond [`MAX_KEYS`] keys, new clients are merged into the client `*`. A
//! flush that fails keeps the counts for the next one (bounded the same way). A crash loses at
//! most one interval of counts: these requests carried nothing but their count.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_web::web;

use crate::login::{Refusal, RefusalSink};
use crate::store::CountedRefusals;
use crate::web::state::AppState;

/// How often the counts are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// Most keys (minute, client, reason) kept between flushes.
pub const MAX_KEYS: usize = 10_000;
/// Correlation IDs kept per key, besides the first: a person's few refusals can all be looked up
/// by the reference their page showed; a flood's are sampled.
const SAMPLES: usize = 20;
/// The first detail is kept up to this many characters.
const DETAIL_CHARS: usize = 200;

/// One key's count so far.
#[derive(Debug, Clone)]
struct Count {
    count: i64,
    detail: String,
    first_id: Option<String>,
    samples: Vec<String>,
}

/// The counts of one node.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: Mutex<HashMap<(i64, String, &'static str), Count>>,
}

impl RefusalSink for Refusals {
    fn refused(&self, refusal: &Refusal<'_>) {
        let minute = refusal.at.unix_timestamp().div_euclid(60) * 60;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut key = (
            minute,
            refusal.client.unwrap_or("-").to_owned(),
            refusal.reason_code,
        );
        if counts.len() >= MAX_KEYS && !counts.contains_key(&key) {
            key.1 = "*".to_owned();
        }
        let entry = counts.entry(key).or_insert_with(|| Count {
            count: 0,
            detail: refusal.detail.chars().take(DETAIL_CHARS).collect(),
            first_id: refusal.correlation_id.map(str::to_owned),
            samples: Vec::new(),
        });
        entry.count += 1;
        if let Some(id) = refusal.correlation_id
            && entry.count > 1
            && entry.samples.len() < SAMPLES
        {
            entry.samples.push(id.to_owned());
        }
    }
}

impl Refusals {
    /// Takes every count (the map is empty afterwards), as audit rows.
    pub fn take(&self) -> Vec<CountedRefusals> {
        let counts =
            std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner));
        let mut rows: Vec<CountedRefusals> = counts
            .into_iter()
            .map(|((at, client, reason), count)| CountedRefusals {
                at,
                client,
                reason_code: reason.to_owned(),
                detail: if count.samples.is_empty() {
                    count.detail
                } else {
                    format!("{} (also {})", count.detail, count.samples.join(", "))
                },
                correlation_id: count.first_id,
                count: count.count,
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.at, &a.client, &a.reason_code).cmp(&(b.at, &b.client, &b.reason_code))
        });
        rows
    }

    /// Puts counts back after a failed write (merged with what came meanwhile).
    pub fn restore(&self, rows: Vec<CountedRefusals>) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        for row in rows {
            let Some(reason) = crate::login::LoginReason::from_code(&row.reason_code)
                .map(crate::login::LoginReason::code)
                .or_else(|| {
                    crate::saml::RejectionReason::from_code(&row.reason_code)
                        .map(crate::saml::RejectionReason::code)
                })
            else {
                continue;
            };
            let mut key = (row.at, row.client, reason);
            if counts.len() >= MAX_KEYS && !counts.contains_key(&key) {
                key.1 = "*".to_owned();
            }
            let entry = counts.entry(key).or_insert_with(|| Count {
                count: 0,
                detail: row.detail.clone(),
                first_id: row.correlation_id.clone(),
                samples: Vec::new(),
            });
            entry.count += row.count;
        }
    }
}

/// Writes the counts every [`FLUSH_INTERVAL`] (and logs one line per key), forever.
pub async fn watch(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(FLUSH_INTERVAL);
    loop {
        interval.tick().await;
        flush(&state).await;
    }
}

/// One flush: the counts to `login_audit` (kept for the next flush when that fails) and to the
/// log, one line per key.
pub async fn flush(state: &web::Data<AppState>) {
    let rows = state.refusals().take();
    if rows.is_empty() {
        return;
    }
    for row in rows.iter().filter(|r| {
        crate::logdedup::check(&format!("refused:{}:{}", r.client, r.reason_code)).is_some()
    }) {
        tracing::warn!(
            client = %row.client,
            reason = %row.reason_code,
            count = row.count,
            correlation_id = row.correlation_id.as_deref().unwrap_or("-"),
            detail = ?row.detail,
            "refused requests without a SAML message"
        );
    }
    let store = state.store().clone();
    let written = rows.clone();
    match web::block(move || store.audit_counted(&written)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            if let Some(repeated) = crate::logdedup::check(&format!("refusals:{}", error.kind())) {
                tracing::warn!(%error, repeated, "cannot write the counted refusals; kept for the next try");
            }
            state.refusals().restore(rows);
        }
        Err(error) => {
            tracing::warn!(%error, "cannot write the counted refusals; kept for the next try");
            state.refusals().restore(rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn refusals_are_counted_per_minute_client_and_reason() {
        let refusals = Refusals::default();
        let at = datetime!(2026-12-05 10:00:30 UTC);
        for (i, client) in ["1.1.1.1", "1.1.1.1", "1.1.1.1", "2.2.2.2"]
            .into_iter()
            .enumerate()
        {
            let id = format!("c{i}");
            refusals.refused(&Refusal {
                at,
                client: Some(client),
                reason_code: "malformed_xml",
                detail: "the XML is not well-formed",
                correlation_id: Some(&id),
            });
        }
        refusals.refused(&Refusal {
            at: at + time::Duration::MINUTE,
            client: Some("1.1.1.1"),
            reason_code: "rate_limited",
            detail: "x",
            correlation_id: None,
        });
        let rows = refusals.take();
        assert!(refusals.take().is_empty());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].at, datetime!(2026-12-05 10:00 UTC).unix_timestamp());
        assert_eq!((rows[0].client.as_str(), rows[0].count), ("1.1.1.1", 3));
        assert_eq!(rows[0].correlation_id.as_deref(), Some("c0"));
        assert_eq!(rows[0].detail, "the XML is not well-formed (also c1, c2)");
        assert_eq!((rows[1].client.as_str(), rows[1].count), ("2.2.2.2", 1));
        assert_eq!(rows[2].reason_code, "rate_limited");
        // A failed write puts them back.
        refusals.restore(rows.clone());
        let again = refusals.take();
        assert_eq!(again.iter().map(|r| r.count).sum::<i64>(), 5);
    }

    #[test]
    fn beyond_the_key_limit_new_clients_are_merged() {
        let refusals = Refusals::default();
        let at = datetime!(2026-12-05 10:00 UTC);
        for i in 0..MAX_KEYS + 50 {
            let client = format!("10.{}.{}.{}", i / 65536, i / 256 % 256, i % 256);
            refusals.refused(&Refusal {
                at,
                client: Some(&client),
                reason_code: "malformed_xml",
                detail: "d",
                correlation_id: None,
            });
        }
        let rows = refusals.take();
        assert_eq!(rows.len(), MAX_KEYS + 1);
        let merged = rows.iter().find(|r| r.client == "*").unwrap();
        assert_eq!(merged.count, 50);
    }
}
