//! Rate limits (token buckets per key, `governor`) and connection limits (requests in flight
//! per key). Both answer 429; both forget a key once it is idle, so memory follows the clients
//! seen recently, not every client ever seen.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use model::middleware::{Extractor, MaxConn, Rate, RateLimit};

use crate::error::MiddlewareError;
use crate::refusal::Refusal;

/// The key a request is counted under: the client's address, the Host header, or a header's
/// value (empty when absent, so requests without it share one key, as in Traefik).
/// The key of a request for a limiter: by its compiled `ipStrategy` when it has one.
fn keyed(
    extractor: &Extractor,
    strategy: Option<&crate::allowlist::Strategy>,
    peer: IpAddr,
    headers: &HeaderMap,
) -> String {
    match strategy {
        Some(s) => s
            .client(peer, headers)
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_default(),
        None => key(extractor, peer, headers),
    }
}

fn strategy_of(e: &Extractor) -> Result<Option<crate::allowlist::Strategy>, MiddlewareError> {
    match e {
        Extractor::ClientIpBy(s) => crate::allowlist::Strategy::compile(s).map(Some),
        _ => Ok(None),
    }
}

pub fn key(extractor: &Extractor, peer: IpAddr, headers: &HeaderMap) -> String {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    match extractor {
        Extractor::ClientIp => peer.to_canonical().to_string(),
        // The limiters compile the strategy once (`keyed`); this parses it on each call.
        Extractor::ClientIpBy(s) => crate::allowlist::Strategy::compile(s)
            .ok()
            .and_then(|s| s.client(peer, headers))
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_default(),
        Extractor::RequestHost => text("host"),
        Extractor::RequestHeader(name) => text(name),
    }
}

type Keyed = Governor<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Sweep idle keys after this many checks (amortised; a sweep is one pass over the keys).
const SWEEP_EVERY: u64 = 1 << 14;

#[derive(Debug)]
pub struct RateLimiter {
    extractor: Extractor,
    strategy: Option<crate::allowlist::Strategy>,
    rates: Vec<Keyed>,
    checks: AtomicU64,
    /// Made once: creating a clock per request costs more than the check itself.
    clock: DefaultClock,
}

/// Checks one rate: period and average above zero, burst of at least 1.
pub fn quota(name: &str, r: &Rate) -> Result<Quota, MiddlewareError> {
    let bad = |message: &str| MiddlewareError::Rate {
        name: name.to_string(),
        message: message.to_string(),
    };
    if r.period.is_zero() {
        return Err(bad("period must be above zero"));
    }
    let average = u32::try_from(r.average)
        .ok()
        .filter(|a| *a > 0)
        .ok_or_else(|| bad("average must be 1 or more"))?;
    let burst = u32::try_from(r.burst)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| bad("burst must be 1 or more"))?;
    let every = (r.period / average).max(Duration::from_nanos(1));
    let q = Quota::with_period(every).ok_or_else(|| bad("period too short"))?;
    Ok(q.allow_burst(burst))
}

impl RateLimiter {
    pub fn compile(spec: &RateLimit) -> Result<RateLimiter, MiddlewareError> {
        if spec.rate_set.is_empty() {
            return Err(MiddlewareError::NoRate);
        }
        let rates = spec
            .rate_set
            .iter()
            .map(|(name, r)| Ok(Governor::keyed(quota(name, r)?)))
            .collect::<Result<_, MiddlewareError>>()?;
        Ok(RateLimiter {
            extractor: spec.extractor_func.clone(),
            strategy: strategy_of(&spec.extractor_func)?,
            rates,
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        })
    }

    /// Takes a token from every rate; 429 with `Retry-After` (whole seconds, at least 1) and
    /// `X-Retry-In` when one of them is empty.
    pub fn check(&self, peer: IpAddr, headers: &HeaderMap) -> Result<(), Refusal> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let key = keyed(&self.extractor, self.strategy.as_ref(), peer, headers);
        let wait = self
            .rates
            .iter()
            .filter_map(|r| r.check_key(&key).err())
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
            .max();
        match wait {
            None => Ok(()),
            Some(wait) => Err(too_many(wait)),
        }
    }

    /// Forgets keys whose buckets are full again (idle clients).
    pub fn sweep(&self) {
        for r in &self.rates {
            r.retain_recent();
            r.shrink_to_fit();
        }
    }

    /// Keys currently remembered (for tests and the benchmark).
    pub fn keys(&self) -> usize {
        self.rates.iter().map(|r| r.len()).sum()
    }
}

fn too_many(wait: Duration) -> Refusal {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = Refusal::status(StatusCode::TOO_MANY_REQUESTS);
    r.headers
        .push((header::RETRY_AFTER, HeaderValue::from(secs.max(1))));
    if let Ok(v) = HeaderValue::from_str(&model::duration::format_duration(wait)) {
        r.headers
            .push((http::HeaderName::from_static("x-retry-in"), v));
    }
    r
}

/// `maxconn`: at most `amount` requests in flight per key.
#[derive(Debug)]
pub struct ConnLimiter {
    amount: u64,
    extractor: Extractor,
    strategy: Option<crate::allowlist::Strategy>,
    open: Mutex<HashMap<String, u64>>,
}

/// One request in flight; dropping it (when the response ends) frees its slot.
#[derive(Debug)]
pub struct ConnSlot {
    limiter: Arc<ConnLimiter>,
    key: String,
}

impl ConnLimiter {
    pub fn compile(spec: &MaxConn) -> Result<ConnLimiter, MiddlewareError> {
        if spec.amount == 0 {
            return Err(MiddlewareError::MaxConnAmount);
        }
        Ok(ConnLimiter {
            amount: spec.amount,
            extractor: spec.extractor_func.clone(),
            strategy: strategy_of(&spec.extractor_func)?,
            open: Mutex::default(),
        })
    }

    /// A slot for this request, or 429 when its key already has `amount` in flight.
    pub fn acquire(
        self: &Arc<Self>,
        peer: IpAddr,
        headers: &HeaderMap,
    ) -> Result<ConnSlot, Refusal> {
        let key = keyed(&self.extractor, self.strategy.as_ref(), peer, headers);
        let mut open = self
            .open
            .lock()
            .map_err(|_| Refusal::status(StatusCode::INTERNAL_SERVER_ERROR))?;
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= self.amount {
            return Err(Refusal::status(StatusCode::TOO_MANY_REQUESTS));
        }
        *n += 1;
        Ok(ConnSlot {
            limiter: Arc::clone(self),
            key,
        })
    }

    /// Keys with requests in flight.
    pub fn keys(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.limiter.open.lock() {
            if let Some(n) = open.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn limiter(average: u64, burst: u64, period: Duration) -> RateLimiter {
        RateLimiter::compile(&RateLimit {
            extractor_func: Extractor::ClientIp,
            rate_set: [(
                "r".to_string(),
                Rate {
                    period,
                    average,
                    burst,
                },
            )]
            .into(),
        })
        .expect("valid")
    }

    #[test]
    fn burst_then_429_with_retry_after_per_client() {
        let l = limiter(1, 2, Duration::from_secs(10));
        let h = HeaderMap::new();
        assert!(l.check(ip("10.0.0.1"), &h).is_ok());
        assert!(l.check(ip("10.0.0.1"), &h).is_ok());
        let r = l.check(ip("10.0.0.1"), &h).expect_err("429");
        assert_eq!(r.status, 429);
        let retry: u64 = r.headers[0].1.to_str().expect("a").parse().expect("n");
        assert!((1..=10).contains(&retry), "{retry}");
        assert!(l.check(ip("10.0.0.2"), &h).is_ok(), "another client");
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let l = limiter(1000, 1, Duration::from_millis(1));
        let h = HeaderMap::new();
        for i in 0..20_000u32 {
            let _ = l.check(IpAddr::from(i.to_be_bytes()), &h);
        }
        assert!(l.keys() > 0);
        std::thread::sleep(Duration::from_millis(5));
        l.sweep();
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn bad_rates_are_named() {
        let e = RateLimiter::compile(&RateLimit {
            extractor_func: Extractor::ClientIp,
            rate_set: [(
                "api".to_string(),
                Rate {
                    period: Duration::from_secs(1),
                    average: 0,
                    burst: 1,
                },
            )]
            .into(),
        })
        .expect_err("bad");
        assert_eq!(e.to_string(), "rate \"api\": average must be 1 or more");
    }

    #[test]
    fn connection_slots_free_on_drop() {
        let l = Arc::new(
            ConnLimiter::compile(&MaxConn {
                amount: 1,
                extractor_func: Extractor::RequestHost,
            })
            .expect("valid"),
        );
        let mut h = HeaderMap::new();
        h.insert("host", "a".parse().expect("v"));
        let slot = l.acquire(ip("1.1.1.1"), &h).expect("first");
        assert_eq!(
            l.acquire(ip("1.1.1.1"), &h).expect_err("second").status,
            429
        );
        drop(slot);
        assert_eq!(l.keys(), 0);
        assert!(l.acquire(ip("1.1.1.1"), &h).is_ok());
    }
}
