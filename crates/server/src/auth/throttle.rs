//! Login throttling: five failures for one store and email, or twenty from one address, within
//! fifteen minutes answer `429` with `Retry-After` until the window ends.
//!
//! With Redis configured the counters live there (`INCR` + `EXPIRE NX`, keys
//! `login:{<store>}:<email>` and `login-addr:<ip>`), so every instance counts the same failures;
//! without it, or while Redis does not answer, each instance counts its own. The two keys may live
//! on different nodes of a Redis Cluster, so each is queried in a request of its own (both at
//! once).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::redis_conn::{RedisConn, RedisUrl, Timeouts};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_PER_ACCOUNT: u32 = 5;
pub const MAX_PER_ADDRESS: u32 = 20;

#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failure counters per account and per client address: in Redis when configured, else (and
/// as the fallback) in this process.
pub struct LoginThrottle {
    counters: Cache<String, Arc<Mutex<Window>>>,
    redis: Option<RedisConn>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { counters: Cache::builder().max_capacity(1_000_000).time_to_live(WINDOW).build(), redis: None }
    }
}

const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(200);

impl LoginThrottle {
    /// Counts in Redis at `url` (connected lazily; the in-process counters cover its absence).
    pub fn with_redis(url: &str) -> Result<Self, String> {
        let url = RedisUrl::parse(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let timeouts = Timeouts { connect: std::time::Duration::from_millis(500), response: REDIS_TIMEOUT };
        let conn = RedisConn::lazy(&url, timeouts).map_err(|e| format!("REDIS_URL: {e}"))?;
        Ok(Self { redis: Some(conn), ..Self::default() })
    }

    fn redis_keys(store: Option<&str>, email: &str, ip: IpAddr) -> [(String, u32); 2] {
        [
            (format!("login:{{{}}}:{}", store.unwrap_or("-"), email.trim().to_lowercase()), MAX_PER_ACCOUNT),
            (format!("login-addr:{ip}"), MAX_PER_ADDRESS),
        ]
    }

    /// Seconds until the caller may try again, when it is over a limit now.
    pub async fn check(&self, store: Option<&str>, email: &str, ip: IpAddr) -> Option<u64> {
        if let Some(conn) = &self.redis {
            let keys = Self::redis_keys(store, email, ip);
            // (failures, seconds left) of one key.
            let counts = |key: &str| {
                let mut conn = conn.clone();
                let mut pipe = redis::pipe();
                pipe.cmd("GET").arg(key).cmd("TTL").arg(key);
                async move { tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<(Option<u32>, i64)>(&mut conn)).await }
            };
            let (account, address) = tokio::join!(counts(&keys[0].0), counts(&keys[1].0));
            if let (Ok(Ok((a, a_ttl))), Ok(Ok((b, b_ttl)))) = (account, address) {
                return [(a, a_ttl, keys[0].1), (b, b_ttl, keys[1].1)]
                    .into_iter()
                    .filter(|(n, _, max)| n.is_some_and(|n| n >= *max))
                    .map(|(_, ttl, _)| ttl.max(1) as u64)
                    .max();
            }
        }
        self.blocked_for(store, email, ip)
    }

    pub async fn failure(&self, store: Option<&str>, email: &str, ip: IpAddr) {
        self.record_failure(store, email, ip);
        if let Some(conn) = &self.redis {
            let count = |key: String| {
                let mut conn = conn.clone();
                let mut pipe = redis::pipe();
                pipe.cmd("INCR").arg(&key).ignore().cmd("EXPIRE").arg(&key).arg(WINDOW.as_secs()).arg("NX").ignore();
                async move {
                    let _ = tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<()>(&mut conn)).await;
                }
            };
            let [(account, _), (address, _)] = Self::redis_keys(store, email, ip);
            tokio::join!(count(account), count(address));
        }
    }

    pub async fn success(&self, store: Option<&str>, email: &str) {
        self.record_success(store, email);
        if let Some(conn) = &self.redis {
            let mut conn = conn.clone();
            let key = Self::redis_keys(store, email, IpAddr::from([0, 0, 0, 0]))[0].0.clone();
            let _ = tokio::time::timeout(REDIS_TIMEOUT, redis::cmd("DEL").arg(key).query_async::<()>(&mut conn)).await;
        }
    }

    fn account_key(store: Option<&str>, email: &str) -> String {
        format!("acct:{}:{}", store.unwrap_or("-"), email.trim().to_lowercase())
    }

    fn address_key(ip: IpAddr) -> String {
        format!("addr:{ip}")
    }

    /// Seconds until the caller may try again, when it is over a limit now.
    pub fn blocked_for(&self, store: Option<&str>, email: &str, ip: IpAddr) -> Option<u64> {
        [(Self::account_key(store, email), MAX_PER_ACCOUNT), (Self::address_key(ip), MAX_PER_ADDRESS)]
            .into_iter()
            .filter_map(|(key, max)| {
                let w = self.counters.get(&key)?;
                let w = w.lock().ok()?;
                let left = WINDOW.checked_sub(w.started.elapsed())?;
                (w.failures >= max).then(|| left.as_secs() + 1)
            })
            .max()
    }

    pub fn record_failure(&self, store: Option<&str>, email: &str, ip: IpAddr) {
        for key in [Self::account_key(store, email), Self::address_key(ip)] {
            let entry =
                self.counters.get_with(key, || Arc::new(Mutex::new(Window { started: Instant::now(), failures: 0 })));
            if let Ok(mut w) = entry.lock() {
                if w.started.elapsed() >= WINDOW {
                    *w = Window { started: Instant::now(), failures: 0 };
                }
                w.failures += 1;
            }
        }
    }

    /// A successful login clears its account's failures (not its address's).
    pub fn record_success(&self, store: Option<&str>, email: &str) {
        self.counters.invalidate(&Self::account_key(store, email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_block_the_account_only() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_PER_ACCOUNT {
            assert!(t.blocked_for(Some("s"), "a@x.test", ip).is_none());
            t.record_failure(Some("s"), "a@x.test", ip);
        }
        let secs = t.blocked_for(Some("s"), "A@x.test", ip).unwrap();
        assert!(secs > 800 && secs <= 901, "{secs}");
        assert!(t.blocked_for(Some("s"), "b@x.test", ip).is_none());
        assert!(t.blocked_for(Some("other"), "a@x.test", ip).is_none());
    }

    #[test]
    fn twenty_failures_block_the_address() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..MAX_PER_ADDRESS {
            t.record_failure(Some("s"), &format!("u{i}@x.test"), ip);
        }
        assert!(t.blocked_for(Some("s"), "new@x.test", ip).is_some());
        assert!(t.blocked_for(Some("s"), "new@x.test", "10.0.0.8".parse().unwrap()).is_none());
    }
}
