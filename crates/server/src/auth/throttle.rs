//! Login throttling: five failures for one store and email, or twenty from one address, within
//! fifteen minutes answer `429` with `Retry-After` until the window ends.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const MAX_PER_ACCOUNT: u32 = 5;
pub const MAX_PER_ADDRESS: u32 = 20;

#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failure counters per account and per client address, kept in this process.
pub struct LoginThrottle {
    counters: Cache<String, Arc<Mutex<Window>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { counters: Cache::builder().max_capacity(1_000_000).time_to_live(WINDOW).build() }
    }
}

impl LoginThrottle {
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
