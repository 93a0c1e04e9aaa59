//! The in-process tier: bounded in memory, entries living `ttl` — or a couple of seconds while
//! the invalidation channel is down, since other instances' writes are not heard then.
//!
//! The entries are a `quick_cache` (S3-FIFO): a hit is a hash lookup under a shard's read lock
//! and a reference bit set, nothing queued for later. moka, which held them before, records every
//! hit for its LRU order and per-entry expiry timers and replays those records on the requests'
//! own path; with two million entries that bookkeeping walked lists far bigger than the CPU's
//! caches (issue 30: moka was 14 % of a hot scan's CPU). Expiry is checked when an entry is read;
//! an expired entry is never served, and the bound in bytes holds whether or not it was evicted
//! yet.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tills_storage::{StorageError, StoreId};

use super::{Cached, FastHash, QuickCache, Source, live_or_guard};

type Key = (StoreId, String);

/// How long an entry lives while the invalidation channel is down.
pub const UNHEARD_TTL: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Entry {
    /// When the load that produced it began: older than a fence means possibly stale.
    loaded_at: Instant,
    /// When it stops being served.
    expires_at: Instant,
    value: Cached,
    source: Source,
    /// [`weigh`]ed once: eviction asks for it.
    weight: u32,
}

/// Roughly what an entry holds in memory, for the tier's bound in bytes: the product's strings,
/// its rendered answer (about as long again), and the fixed parts.
fn weigh(key: &Key, value: &Cached) -> u32 {
    let product = value.as_ref().map_or(0, |m| {
        let p = &m.product;
        let text = p.name.len()
            + p.sku.as_ref().map_or(0, String::len)
            + p.barcode.as_ref().map_or(0, String::len)
            + p.alternate_barcodes.iter().map(String::len).sum::<usize>();
        1024 + 2 * text + 160 * p.units.len()
    });
    (160 + key.0.as_str().len() + key.1.len() + product).try_into().unwrap_or(u32::MAX)
}

/// The bound counts each entry's estimated bytes.
#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<Key, Entry> for ByWeight {
    fn weight(&self, _: &Key, entry: &Entry) -> u64 {
        entry.weight.into()
    }
}

/// About what an entry weighs (a product of a few units): to size the table up front.
const TYPICAL_ENTRY_BYTES: u64 = 1_400;

fn fences<K: std::hash::Hash + Eq + Send + Sync + 'static>(ttl: Duration) -> moka::sync::Cache<K, Instant, FastHash> {
    moka::sync::Cache::builder().max_capacity(1_000_000).time_to_live(ttl).build_with_hasher(FastHash::default())
}

/// In-process entries with invalidation fences (see the module docs of `cache`).
#[derive(Clone)]
pub struct MemoryTier {
    entries: Arc<QuickCache<Key, Entry, ByWeight>>,
    barcode_fences: moka::sync::Cache<Key, Instant, FastHash>,
    store_fences: moka::sync::Cache<StoreId, Instant, FastHash>,
    ttl: Duration,
    /// Whether this instance hears the others' invalidations (always, without Redis: there is
    /// no other instance to hear).
    heard: Arc<AtomicBool>,
    /// When the latest fence of either kind was set, in nanoseconds after `epoch`: an entry loaded
    /// after it is fresh without a look at the fences (a scan's common case: fences come only
    /// with catalog writes). Raised after the fence is in its map, so a reader that sees it
    /// raised finds the fence.
    latest_fence: Arc<AtomicU64>,
    epoch: Instant,
}

impl MemoryTier {
    /// At most `max_bytes` (estimated) of entries, each living `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> Self {
        // A fence must outlive every entry it could refuse.
        let fence_ttl = ttl + Duration::from_secs(5);
        MemoryTier {
            entries: Arc::new(QuickCache::with(
                usize::try_from(max_bytes / TYPICAL_ENTRY_BYTES).unwrap_or(usize::MAX).max(16),
                max_bytes,
                ByWeight,
                FastHash::default(),
                Default::default(),
            )),
            barcode_fences: fences(fence_ttl),
            store_fences: fences(fence_ttl),
            ttl,
            heard: Arc::new(AtomicBool::new(true)),
            latest_fence: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        }
    }

    /// The invalidation channel is (again) connected: whatever was loaded before may have missed
    /// a message, so it all goes; new entries live the full `ttl`.
    pub fn channel_up(&self) {
        self.entries.clear();
        self.heard.store(true, Ordering::SeqCst);
    }

    /// The invalidation channel is lost (or not connected yet): everything goes, and until it
    /// is back new entries live [`UNHEARD_TTL`].
    pub fn channel_down(&self) {
        self.heard.store(false, Ordering::SeqCst);
        self.entries.clear();
    }

    fn entry_ttl(&self) -> Duration {
        if self.heard.load(Ordering::SeqCst) { self.ttl } else { self.ttl.min(UNHEARD_TTL) }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn raise_latest_fence(&self, at: Instant) {
        self.latest_fence.fetch_max(self.nanos(at), Ordering::SeqCst);
    }

    /// Neither expired nor older than a fence.
    fn servable(&self, key: &Key, e: &Entry) -> bool {
        e.expires_at > Instant::now() && self.fresh(key, e)
    }

    fn fresh(&self, key: &Key, e: &Entry) -> bool {
        if self.nanos(e.loaded_at) > self.latest_fence.load(Ordering::SeqCst) {
            return true;
        }
        let after = |fence: Option<Instant>| fence.is_none_or(|f| e.loaded_at > f);
        after(self.barcode_fences.get(key)) && after(self.store_fences.get(&key.0))
    }

    pub async fn get(&self, store: &StoreId, barcode: &str) -> Option<Cached> {
        let key = (store.clone(), barcode.to_owned());
        let e = self.entries.get(&key)?;
        if self.servable(&key, &e) {
            Some(e.value)
        } else {
            self.entries.remove(&key);
            None
        }
    }

    /// Loads through `loader` once however many callers wait for the same key (single-flight).
    pub async fn load<F>(&self, store: &StoreId, barcode: &str, loader: F) -> Result<(Cached, Source), StorageError>
    where
        F: Future<Output = Result<(Cached, Source), StorageError>>,
    {
        let key = (store.clone(), barcode.to_owned());
        // Another caller's load, finished while this one waited (or just before).
        let guard = match live_or_guard(&self.entries, &key, |e| self.servable(&key, e)).await {
            Ok(e) => return Ok((e.value, e.source)),
            Err(guard) => guard,
        };
        let loaded_at = Instant::now();
        // Decided when the load begins: a load that began unheard stays short-lived. Dropping the
        // guard on an error lets a waiting caller load in turn.
        let expires_at = loaded_at + self.entry_ttl();
        let (value, source) = loader.await?;
        let entry = Entry { loaded_at, expires_at, weight: weigh(&key, &value), value, source };
        // A stale entry (its load began before a fence) answers this caller but no later one.
        if self.fresh(&key, &entry) {
            let _ = guard.insert(entry.clone());
        }
        Ok((entry.value, entry.source))
    }

    pub fn fence_barcodes(&self, store: &StoreId, barcodes: &[String]) {
        let now = Instant::now();
        for b in barcodes {
            self.barcode_fences.insert((store.clone(), b.clone()), now);
        }
        self.raise_latest_fence(now);
    }

    pub fn fence_store(&self, store: &StoreId) {
        let now = Instant::now();
        self.store_fences.insert(store.clone(), now);
        self.raise_latest_fence(now);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn store() -> StoreId {
        StoreId::parse("mem-test").unwrap()
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let tier = MemoryTier::new(1 << 20, Duration::from_secs(20));
        let loads = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..50 {
            let (tier, loads) = (tier.clone(), loads.clone());
            handles.push(tokio::spawn(async move {
                tier.load(&store(), "123", async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok((None, Source::Database))
                })
                .await
                .unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "one database query for fifty concurrent misses");
        assert!(tier.get(&store(), "123").await.is_some(), "the answer (unknown) is cached");
    }

    #[tokio::test]
    async fn a_failed_load_is_not_cached_and_the_next_caller_loads() {
        let tier = MemoryTier::new(1 << 20, Duration::from_secs(20));
        let failed = tier.load(&store(), "9", async { Err(StorageError::Other("database down".into())) }).await;
        assert!(failed.is_err());
        assert!(tier.get(&store(), "9").await.is_none(), "an error is not an answer");
        let (value, source) = tier.load(&store(), "9", async { Ok((None, Source::Database)) }).await.unwrap();
        assert!(value.is_none() && source == Source::Database);
        assert!(tier.get(&store(), "9").await.is_some(), "the load after the failure is cached");
    }

    #[tokio::test]
    async fn a_load_that_began_before_an_invalidation_is_not_served_after_it() {
        let tier = MemoryTier::new(1 << 20, Duration::from_secs(20));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let t = tier.clone();
        let slow = tokio::spawn(async move {
            t.load(&store(), "777", async move {
                let _ = started_tx.send(());
                let _ = go_rx.await; // the old value, read before the write committed
                Ok((None, Source::Database))
            })
            .await
        });
        started_rx.await.unwrap();
        tier.fence_barcodes(&store(), &["777".to_owned()]); // the write commits and invalidates
        go_tx.send(()).unwrap();
        slow.await.unwrap().unwrap();
        assert!(tier.get(&store(), "777").await.is_none(), "the racing refill must not stay cached");
        tier.fence_store(&store());
        tier.load(&store(), "1", async { Ok((None, Source::Database)) }).await.unwrap();
        assert!(tier.get(&store(), "1").await.is_some(), "loads after the fence are served");
    }

    #[tokio::test]
    async fn a_fence_refuses_only_what_it_names() {
        let tier = MemoryTier::new(1 << 20, Duration::from_secs(20));
        let other = StoreId::parse("mem-other").unwrap();
        for (s, code) in [(store(), "1"), (store(), "2"), (other.clone(), "1")] {
            tier.load(&s, code, async { Ok((None, Source::Database)) }).await.unwrap();
        }
        assert!(tier.get(&store(), "1").await.is_some(), "no fence yet");
        tier.fence_barcodes(&store(), &["1".to_owned()]);
        assert!(tier.get(&store(), "1").await.is_none(), "loaded before its barcode's fence");
        assert!(tier.get(&store(), "2").await.is_some(), "another barcode stays");
        assert!(tier.get(&other, "1").await.is_some(), "the same barcode of another store stays");
        tier.fence_store(&other);
        assert!(tier.get(&other, "1").await.is_none(), "loaded before its store's fence");
        assert!(tier.get(&store(), "2").await.is_some(), "another store's entries stay");
        tier.load(&store(), "1", async { Ok((None, Source::Database)) }).await.unwrap();
        assert!(tier.get(&store(), "1").await.is_some(), "loaded after every fence");
    }

    #[tokio::test]
    async fn entries_loaded_while_other_instances_are_unheard_live_two_seconds() {
        let tier = MemoryTier::new(1 << 20, Duration::from_secs(300));
        let load = |code: &'static str| {
            let tier = tier.clone();
            async move { tier.load(&store(), code, async { Ok((None, Source::Database)) }).await.unwrap() }
        };
        tier.channel_down();
        load("5").await;
        assert!(tier.get(&store(), "5").await.is_some());
        tier.channel_up();
        assert!(tier.get(&store(), "5").await.is_none(), "the channel's return drops what was loaded unheard");
        load("6").await;
        tier.channel_down();
        load("7").await;
        tokio::time::sleep(UNHEARD_TTL + Duration::from_millis(300)).await;
        assert!(tier.get(&store(), "7").await.is_none(), "loaded unheard: gone after two seconds");
        tier.channel_up();
        load("8").await;
        tokio::time::sleep(UNHEARD_TTL + Duration::from_millis(300)).await;
        assert!(tier.get(&store(), "8").await.is_some(), "loaded while heard: lives the full ttl");
    }
}
