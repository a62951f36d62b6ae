//! The HTTP edge: what a request may cost fedbridge before there is any reason to trust it.
//!
//! - **Connections** serve one request each (keep-alive off unless `serve --keep-alive`): the
//!   head of a request must arrive within [`HEADER_TIMEOUT`], and actix-http arms that timer
//!   only for the first request of a connection, so a second head dribbled on a kept-alive
//!   connection would never time out.
//! - **Bodies** (the ACS, introspection) are read by [`read_body`] only after everything that
//!   can refuse them has: a form `Content-Type`, a `Content-Length` within the cap, a token of
//!   the client's rate-limit bucket, and room in the memory budget ([`BodyBudget`]: all bodies
//!   together, the large ones apart, and per client). Then the bytes are read as they come, with
//!   a deadline for the whole body. A refusal leaves the body unread and actix closes the
//!   connection after the answer.
//! - **Validations** (libxml2 trees, the blocking pool) run in at most [`validation_slots`] at
//!   once; a login waits for a slot no longer than the database wait, then gets 503.
//! - **Clients** are IP addresses (IPv6: the /64), taken from `X-Forwarded-For` only when the
//!   peer is a trusted proxy ([`client_key`]). Rate limits ([`RateLimiter`]) are token buckets
//!   per client and per node.
//!
//! Everything here is decided by pure parts (the key, the buckets, the budget) with the time
//! passed in; the actix glue is thin.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header;
use futures_util::StreamExt as _;

use crate::config::{EdgeSettings, IpNetwork, RateLimit};
use crate::login::LoginReason;

/// The head of a request must arrive within this (actix's client request timeout).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// After an answer sent before its body was read, how long the connection lingers.
pub const DISCONNECT_LINGER: Duration = Duration::from_secs(1);
/// Threads of the blocking pool per worker (logins queue on the validation slots instead).
pub const BLOCKING_THREADS_PER_WORKER: usize = 16;
/// A body larger than this is a large body: real SAML responses are 5 to 50 KiB.
pub const LARGE_BODY: usize = 256 * 1024;
/// Large bodies one client may have in flight at once.
pub const LARGE_BODIES_PER_CLIENT: usize = 2;
/// The largest introspection body (a token and a few fields).
pub const INTROSPECTION_BODY_CAP: usize = 64 * 1024;
/// Clients the rate limiter tracks at most; beyond, new clients share one strict bucket.
pub const MAX_TRACKED_CLIENTS: usize = 100_000;
/// `Retry-After` of a 503 that says fedbridge is busy.
pub const RETRY_BUSY_SECONDS: u64 = 5;
/// `Retry-After` of a 503 that says too many logins are waiting for the IdP.
pub const RETRY_CAPACITY_SECONDS: u64 = 30;

/// How many logins validate at once: each holds a parsed document (about five times the XML)
/// and a blocking thread.
pub fn validation_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (2 * cores).max(4)
}

/// Why the edge refused a request, before any SAML was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeRefusal {
    /// No `Content-Length` (chunked, or none): 411.
    LengthRequired,
    /// Not an HTML form post: 415.
    NotAForm,
    /// Longer than the cap: 413, unread.
    TooLarge,
    /// The body did not arrive within the deadline: 408.
    Timeout,
    /// The body ended early or broke off: 400.
    Incomplete,
    /// The client's rate limit: 429, with how long to wait.
    RateLimited {
        /// Seconds until a token is back.
        retry_after: u64,
    },
    /// The client has too many bodies in flight: 429.
    ClientBusy,
    /// The memory budget or the validation slots are taken: 503.
    Overloaded,
    /// Too many logins are waiting for the IdP: 503.
    LoginCapacity,
}

impl EdgeRefusal {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            EdgeRefusal::LengthRequired => 411,
            EdgeRefusal::NotAForm => 415,
            EdgeRefusal::TooLarge => 413,
            EdgeRefusal::Timeout => 408,
            EdgeRefusal::Incomplete => 400,
            EdgeRefusal::RateLimited { .. } | EdgeRefusal::ClientBusy => 429,
            EdgeRefusal::Overloaded | EdgeRefusal::LoginCapacity => 503,
        }
    }

    /// The reason code (audit and log).
    pub fn reason(self) -> LoginReason {
        match self {
            EdgeRefusal::LengthRequired | EdgeRefusal::NotAForm | EdgeRefusal::Incomplete => {
                LoginReason::BodyRejected
            }
            EdgeRefusal::TooLarge => LoginReason::BodyTooLarge,
            EdgeRefusal::Timeout => LoginReason::BodyTimeout,
            EdgeRefusal::RateLimited { .. } | EdgeRefusal::ClientBusy => LoginReason::RateLimited,
            EdgeRefusal::Overloaded => LoginReason::Overloaded,
            EdgeRefusal::LoginCapacity => LoginReason::LoginCapacityExceeded,
        }
    }

    /// The `Retry-After` seconds, when the client should come back.
    pub fn retry_after(self) -> Option<u64> {
        match self {
            EdgeRefusal::RateLimited { retry_after } => Some(retry_after.max(1)),
            EdgeRefusal::ClientBusy | EdgeRefusal::Overloaded => Some(RETRY_BUSY_SECONDS),
            EdgeRefusal::LoginCapacity => Some(RETRY_CAPACITY_SECONDS),
            _ => None,
        }
    }

    /// A sentence for the person (generic: never what was sent).
    pub fn sentence(self) -> &'static str {
        match self {
            EdgeRefusal::LengthRequired | EdgeRefusal::NotAForm | EdgeRefusal::Incomplete => {
                "The request was not a sign-in form fedbridge can read."
            }
            EdgeRefusal::TooLarge => "The request is larger than any sign-in can be.",
            EdgeRefusal::Timeout => "The request took too long to arrive.",
            EdgeRefusal::RateLimited { .. } | EdgeRefusal::ClientBusy => {
                "Too many requests from your network. Please wait a moment and try again."
            }
            EdgeRefusal::Overloaded | EdgeRefusal::LoginCapacity => {
                "fedbridge is busy right now. Please try again in a few moments."
            }
        }
    }
}

impl fmt::Display for EdgeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            EdgeRefusal::LengthRequired => "the request has no Content-Length",
            EdgeRefusal::NotAForm => "the request is not application/x-www-form-urlencoded",
            EdgeRefusal::TooLarge => "the Content-Length is over the body cap",
            EdgeRefusal::Timeout => "the body did not arrive within the deadline",
            EdgeRefusal::Incomplete => "the body ended before its Content-Length",
            EdgeRefusal::RateLimited { .. } => "the client's rate limit is used up",
            EdgeRefusal::ClientBusy => "the client has too many bodies in flight",
            EdgeRefusal::Overloaded => "the body memory budget or the validation slots are taken",
            EdgeRefusal::LoginCapacity => "too many outstanding requests",
        };
        f.write_str(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// Who a request comes from, for limits and the audit: an IPv4 address, or an IPv6 /64 (one
/// subscriber usually holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of `ip` (IPv4-mapped IPv6 is IPv4; IPv6 masked to its /64).
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let masked = u128::from(v6) & (u128::MAX << 64);
                ClientKey(IpAddr::V6(Ipv6Addr::from(masked)))
            }
            v4 => ClientKey(v4),
        }
    }

    /// The key every untracked client shares once [`MAX_TRACKED_CLIENTS`] are tracked.
    fn overflow() -> ClientKey {
        ClientKey(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

/// The client of a request from `peer` with the `X-Forwarded-For` value `forwarded_for`. The
/// header is believed only when `peer` is one of the `trusted` proxies: then the client is its
/// rightmost address that is not itself trusted (the leftmost when all are). A header that does
/// not parse means the peer. Never actix's `realip_remote_addr`, which believes anyone.
pub fn client_key(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNetwork],
) -> ClientKey {
    let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let Some(header) = forwarded_for.filter(|_| is_trusted(peer)) else {
        return ClientKey::of(peer);
    };
    let hops: Option<Vec<IpAddr>> = header
        .split(',')
        .map(|hop| hop.trim().parse::<IpAddr>().ok())
        .collect();
    let Some(hops) = hops.filter(|h| !h.is_empty()) else {
        return ClientKey::of(peer);
    };
    let client = hops
        .iter()
        .rev()
        .copied()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(hops[0]);
    ClientKey::of(client)
}

/// [`client_key`] of an actix request.
pub fn client_of(req: &HttpRequest, settings: &EdgeSettings) -> ClientKey {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_key(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        &settings.trusted_proxies,
    )
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

/// A token bucket: up to `count` tokens, refilled evenly over `per`. Pure: the time is given.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(limit: RateLimit, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(limit.count),
            at: now,
        }
    }

    fn refill(&mut self, limit: RateLimit, now: Instant) {
        let rate = f64::from(limit.count) / limit.per.as_seconds_f64();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(limit.count));
        self.at = now;
    }

    /// Takes a token: `Ok`, or `Err(seconds until the next token)`.
    pub fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), u64> {
        self.refill(limit, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let rate = f64::from(limit.count) / limit.per.as_seconds_f64();
        Err(((1.0 - self.tokens) / rate).ceil() as u64)
    }

    /// Gives a token back (a request that turned out not to count).
    pub fn refund(&mut self, limit: RateLimit) {
        self.tokens = (self.tokens + 1.0).min(f64::from(limit.count));
    }

    /// Whether the bucket is full at `now` (a full bucket is as good as none).
    pub fn is_full(&self, limit: RateLimit, now: Instant) -> bool {
        let mut copy = *self;
        copy.refill(limit, now);
        copy.tokens >= f64::from(limit.count)
    }
}

/// What a bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Refused ACS posts and same-site hops (`FEDBRIDGE_RATE_LIMIT_ACS`).
    Acs,
    /// `/saml/login` (`FEDBRIDGE_RATE_LIMIT_LOGIN`).
    Login,
}

const SHARDS: usize = 16;

/// Token buckets per class and client, in memory, per node.
#[derive(Debug)]
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<(Class, ClientKey), Bucket>>>,
    tracked: AtomicUsize,
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            tracked: AtomicUsize::new(0),
        }
    }
}

impl RateLimiter {
    fn shard(&self, client: ClientKey) -> MutexGuard<'_, HashMap<(Class, ClientKey), Bucket>> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        client.hash(&mut hasher);
        let index = (hasher.finish() as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a token of `client`'s `class` bucket (`limit` `None`: no limit).
    pub fn take(
        &self,
        class: Class,
        client: ClientKey,
        limit: Option<RateLimit>,
        now: Instant,
    ) -> Result<(), EdgeRefusal> {
        let Some(limit) = limit else {
            return Ok(());
        };
        let mut client = client;
        if self.tracked.load(Ordering::Relaxed) >= MAX_TRACKED_CLIENTS
            && !self.shard(client).contains_key(&(class, client))
        {
            client = ClientKey::overflow();
        }
        let mut shard = self.shard(client);
        let bucket = shard.entry((class, client)).or_insert_with(|| {
            self.tracked.fetch_add(1, Ordering::Relaxed);
            Bucket::full(limit, now)
        });
        bucket
            .take(limit, now)
            .map_err(|retry_after| EdgeRefusal::RateLimited { retry_after })
    }

    /// Gives `client` its token back.
    pub fn refund(&self, class: Class, client: ClientKey, limit: Option<RateLimit>) {
        if let Some(limit) = limit
            && let Some(bucket) = self.shard(client).get_mut(&(class, client))
        {
            bucket.refund(limit);
        }
    }

    /// Forgets the buckets that are full at `now` (for `limits` as they are now).
    pub fn sweep(&self, limits: &EdgeSettings, now: Instant) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.len();
            shard.retain(|(class, _), bucket| {
                let limit = match class {
                    Class::Acs => limits.rate_limit_acs,
                    Class::Login => limits.rate_limit_login,
                };
                limit.is_some_and(|limit| !bucket.is_full(limit, now))
            });
            self.tracked
                .fetch_sub(before - shard.len(), Ordering::Relaxed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/// The memory that request bodies being read may take: all of them within
/// `FEDBRIDGE_BODY_MEMORY_BUDGET`, the large ones within half of it, and per client at most
/// `FEDBRIDGE_MAX_BODIES_PER_CLIENT` bodies, [`LARGE_BODIES_PER_CLIENT`] of them large. A body
/// reserves its `Content-Length` before its first byte is read; the [`BodyPermit`] gives it back
/// when dropped (after the validation that used it).
#[derive(Debug, Default)]
pub struct BodyBudget {
    in_use: AtomicUsize,
    large_in_use: AtomicUsize,
    per_client: Mutex<HashMap<ClientKey, (usize, usize)>>,
}

/// A reservation of [`BodyBudget`]: released on drop.
#[derive(Debug)]
pub struct BodyPermit {
    budget: Arc<BodyBudget>,
    client: ClientKey,
    /// The body's length: over [`LARGE_BODY`], it counts as one of the client's large bodies.
    length: usize,
    /// Bytes taken from the whole budget (0 until they were).
    reserved: usize,
    /// Whether `length` bytes were taken from the large bodies' half.
    reserved_large: bool,
}

impl BodyBudget {
    /// Reserves `length` bytes for a body of `client`, or says why not:
    /// [`EdgeRefusal::ClientBusy`] for the client's own caps, [`EdgeRefusal::Overloaded`] for
    /// the budget.
    pub fn reserve(
        self: &Arc<Self>,
        client: ClientKey,
        length: usize,
        settings: &EdgeSettings,
    ) -> Result<BodyPermit, EdgeRefusal> {
        let large = length > LARGE_BODY;
        {
            let mut clients = self
                .per_client
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (all, big) = clients.entry(client).or_default();
            if *all >= settings.max_bodies_per_client || (large && *big >= LARGE_BODIES_PER_CLIENT)
            {
                if *all == 0 {
                    clients.remove(&client);
                }
                return Err(EdgeRefusal::ClientBusy);
            }
            *all += 1;
            if large {
                *big += 1;
            }
        }
        // From here on, dropping the permit gives everything taken back.
        let mut permit = BodyPermit {
            budget: self.clone(),
            client,
            length,
            reserved: 0,
            reserved_large: false,
        };
        let take = |counter: &AtomicUsize, limit: usize| {
            counter
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                    used.checked_add(length).filter(|total| *total <= limit)
                })
                .is_ok()
        };
        if large {
            if !take(&self.large_in_use, settings.body_memory_budget / 2) {
                return Err(EdgeRefusal::Overloaded);
            }
            permit.reserved_large = true;
        }
        if !take(&self.in_use, settings.body_memory_budget) {
            return Err(EdgeRefusal::Overloaded);
        }
        permit.reserved = length;
        Ok(permit)
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }
}

impl Drop for BodyPermit {
    fn drop(&mut self) {
        self.budget
            .in_use
            .fetch_sub(self.reserved, Ordering::SeqCst);
        if self.reserved_large {
            self.budget
                .large_in_use
                .fetch_sub(self.length, Ordering::SeqCst);
        }
        let mut clients = self
            .budget
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((all, big)) = clients.get_mut(&self.client) {
            *all = all.saturating_sub(1);
            if self.length > LARGE_BODY {
                *big = big.saturating_sub(1);
            }
            if *all == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// The `Content-Length` of a form post no longer than `cap`, or why it is refused (checked
/// before anything else of the request is touched).
pub fn form_length(req: &HttpRequest, cap: usize) -> Result<usize, EdgeRefusal> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(EdgeRefusal::NotAForm);
    }
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        return Err(EdgeRefusal::LengthRequired);
    }
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or(EdgeRefusal::LengthRequired)?;
    if length > cap {
        return Err(EdgeRefusal::TooLarge);
    }
    Ok(length)
}

/// Reads a body of exactly `length` bytes as it arrives (the buffer grows with what came, it is
/// not reserved up front), refusing it when it is not all there by `deadline`.
pub async fn read_body(
    payload: &mut actix_web::web::Payload,
    length: usize,
    deadline: Instant,
) -> Result<Vec<u8>, EdgeRefusal> {
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), payload.next())
            .await
        {
            Err(_) => return Err(EdgeRefusal::Timeout),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(EdgeRefusal::Incomplete),
            Ok(Some(Ok(chunk))) => {
                if body.len() + chunk.len() > length {
                    return Err(EdgeRefusal::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    if body.len() != length {
        return Err(EdgeRefusal::Incomplete);
    }
    Ok(body)
}

// ---------------------------------------------------------------------------------------------
// The edge of one server
// ---------------------------------------------------------------------------------------------

/// The edge's shared state: buckets, the body budget, the validation slots, the count of
/// outstanding requests.
#[derive(Debug)]
pub struct Edge {
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Bodies in flight.
    pub bodies: Arc<BodyBudget>,
    /// Logins validating at once.
    validations: Arc<tokio::sync::Semaphore>,
    /// Outstanding requests as last counted, plus the ones remembered since.
    outstanding: AtomicU64,
}

impl Default for Edge {
    fn default() -> Edge {
        Edge {
            limiter: RateLimiter::default(),
            bodies: Arc::default(),
            validations: Arc::new(tokio::sync::Semaphore::new(validation_slots())),
            outstanding: AtomicU64::new(0),
        }
    }
}

impl Edge {
    /// Checks a form post and reads its body within `cap` and `settings` (see the module
    /// documentation): the body and its reservation, or why not.
    pub async fn read_form(
        &self,
        req: &HttpRequest,
        payload: &mut actix_web::web::Payload,
        client: ClientKey,
        cap: usize,
        settings: &EdgeSettings,
        started: Instant,
    ) -> Result<(Vec<u8>, BodyPermit), EdgeRefusal> {
        let length = form_length(req, cap)?;
        let permit = self.bodies.reserve(client, length, settings)?;
        let deadline = started + settings.body_timeout.unsigned_abs();
        let body = read_body(payload, length, deadline).await?;
        Ok((body, permit))
    }

    /// A validation slot, waiting at most `wait`.
    pub async fn validation_slot(
        &self,
        wait: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, EdgeRefusal> {
        match actix_web::rt::time::timeout(wait, self.validations.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(EdgeRefusal::Overloaded),
        }
    }

    /// Whether one more outstanding request fits under `max`; counts it when it does.
    pub fn admit_outstanding(&self, max: u64) -> Result<(), EdgeRefusal> {
        self.outstanding
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .map(drop)
            .map_err(|_| EdgeRefusal::LoginCapacity)
    }

    /// The count of outstanding requests as the database says (the probe recounts).
    pub fn set_outstanding(&self, count: u64) {
        self.outstanding.store(count, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;
