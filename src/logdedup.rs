//! Log de-duplication: an error that repeats (every login failing on a full disk) is logged
//! once, then at most once per [`INTERVAL`] with how many times it happened in between, so a
//! fault cannot flood the log (1,188 lines in 10 s, in the issue) and bury its cause.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// At most one line per key and interval.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Keys remembered at most (a bounded table: beyond, the oldest are forgotten).
const MAX_KEYS: usize = 1_000;

/// The keys seen: when each was last logged and how often it came since.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Dedup {
    /// Whether to log `key` at `now`: `Some(n)` (log, saying it repeated `n` times since the
    /// last line), or `None` (counted, not logged).
    pub fn check(&self, key: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((logged, repeated)) = seen.get_mut(key) {
            if now.saturating_duration_since(*logged) < INTERVAL {
                *repeated += 1;
                return None;
            }
            let count = *repeated;
            *logged = now;
            *repeated = 0;
            return Some(count);
        }
        if seen.len() >= MAX_KEYS {
            let oldest = seen
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                seen.remove(&oldest);
            }
        }
        seen.insert(key.to_owned(), (now, 0));
        Some(0)
    }
}

/// [`Dedup::check`] of the process's one table, now.
pub fn check(key: &str) -> Option<u64> {
    static TABLE: OnceLock<Dedup> = OnceLock::new();
    TABLE.get_or_init(Dedup::default).check(key, Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_logged_once_per_interval_with_its_count() {
        let dedup = Dedup::default();
        let t0 = Instant::now();
        assert_eq!(dedup.check("db:full", t0), Some(0));
        for i in 1..=100 {
            assert_eq!(
                dedup.check("db:full", t0 + Duration::from_millis(i * 100)),
                None
            );
        }
        assert_eq!(dedup.check("other", t0), Some(0));
        assert_eq!(dedup.check("db:full", t0 + INTERVAL), Some(100));
        assert_eq!(
            dedup.check("db:full", t0 + INTERVAL + Duration::from_secs(1)),
            None
        );
    }
}
