//! The product cache: the scan's fast path.
//!
//! Two tiers in front of the database: an in-process tier (moka: bounded, entries live tens of
//! seconds) and, when `REDIS_URL` is set, Redis (shared by every instance, one hour by default),
//! keyed `product:{<storeId>}:<barcode>` (the braces are a Redis Cluster hash tag: a store's keys
//! live in one slot). Unknown barcodes are cached too, briefly (negative entries).
//!
//! Never wrong:
//! - every product write invalidates the barcodes it touched, after it commits, in both tiers,
//!   and tells the other instances (pub/sub) so they drop their in-process entries;
//! - a refill racing a write cannot put the old value back: in-process entries carry the instant
//!   their load began and are refused when an invalidation came later (fences); in Redis a
//!   refill is a compare-and-set against what the reader saw (written in the background, a
//!   few milliseconds later at most), and an invalidation leaves a tombstone, so an in-flight
//!   refill of the old value fails;
//! - whole-store invalidation bumps the store's generation (`productgen:{<storeId>}`, same slot),
//!   which every entry carries: O(1), whatever the store's size;
//! - an invalidation that fails while Redis is unreachable is retried as a whole-store
//!   invalidation until Redis takes it; meanwhile every instance reads from its in-process
//!   tier (short-lived) and the database;
//! - an entry of store A is never answered to store B: keys carry the store, and every value is
//!   checked against it (`tills_tenant_violations_total` counts any that would have been).

mod memory;
mod redis_tier;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use tills_domain::Id;
use tills_storage::{BarcodeMatch, ProductRecord, StorageError, Store, StoreId};

pub use memory::MemoryTier;
pub use redis_tier::{RedisConfig, RedisTier};

/// Cache settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub redis: Option<RedisConfig>,
    /// How long an in-process entry lives while this instance hears the others' invalidations
    /// (while it does not, entries live two seconds).
    pub memory_ttl: Duration,
    /// The in-process tier's bound, in (estimated) bytes.
    pub memory_bytes: u64,
    /// The bound of product search's in-process entries (`services/search.rs`), in (estimated)
    /// bytes.
    pub search_memory_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            redis: None,
            memory_ttl: Duration::from_secs(300),
            memory_bytes: 1 << 30,
            search_memory_bytes: 512 << 20,
        }
    }
}

/// Where a lookup's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Memory,
    Redis,
    Database,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Memory => "memory",
            Source::Redis => "redis",
            Source::Database => "database",
        }
    }
}

/// A cached answer for one barcode of one store (`None`: no such barcode).
pub type Cached = Option<Arc<CachedMatch>>;

/// A product found by barcode, as the cache keeps it: the match, and the scan's JSON answer,
/// rendered by the first scan that needs it and then shared by every later hit (a hit then
/// costs no serialization and no allocation for the body).
#[derive(Debug)]
pub struct CachedMatch {
    found: BarcodeMatch,
    scan_body: OnceLock<Bytes>,
}

impl CachedMatch {
    /// The scan's answer for this match, rendered by `render` once.
    pub fn scan_body(&self, render: impl FnOnce(&BarcodeMatch) -> Bytes) -> Bytes {
        self.scan_body.get_or_init(|| render(&self.found)).clone()
    }
}

impl From<BarcodeMatch> for CachedMatch {
    fn from(found: BarcodeMatch) -> Self {
        CachedMatch { found, scan_body: OnceLock::new() }
    }
}

impl std::ops::Deref for CachedMatch {
    type Target = BarcodeMatch;
    fn deref(&self) -> &BarcodeMatch {
        &self.found
    }
}

/// The hasher of the in-process caches on a request's path (tokens, access, products). moka's
/// default, SipHash, is made to resist collision floods from anyone; its cost grows with the key,
/// and a token is about 250 bytes hashed on every request. foldhash with a per-cache random seed
/// (hashbrown's default) keeps the keys unpredictable at a fraction of the cost, and the keys are
/// verified tokens and authenticated stores' barcodes, not strangers' input.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// A request-path cache: quick_cache (S3-FIFO), hashing with [`FastHash`]. A hit is a lookup
/// under a shard's read lock and a reference bit; nothing is recorded for housekeeping later, as
/// moka did on every hit (`memory.rs` says what that cost).
pub(crate) type QuickCache<K, V, We = quick_cache::UnitWeighter> = quick_cache::sync::Cache<K, V, We, FastHash>;

/// A [`QuickCache`] of at most `at_most` entries.
pub(crate) fn counted<K: Eq + std::hash::Hash + Clone, V: Clone>(at_most: u64) -> QuickCache<K, V> {
    QuickCache::with(
        usize::try_from(at_most).unwrap_or(usize::MAX),
        at_most,
        quick_cache::UnitWeighter,
        FastHash::default(),
        Default::default(),
    )
}

/// The value of `key` if `live` accepts it, or the guard that makes this caller the key's one
/// loader: concurrent callers wait for its value (or, when it drops the guard without one, the
/// next loads in turn). A value `live` refuses (expired, stale) is dropped on the way.
pub(crate) async fn live_or_guard<'a, K, V, We>(
    cache: &'a QuickCache<K, V, We>,
    key: &K,
    live: impl Fn(&V) -> bool,
) -> Result<V, quick_cache::sync::PlaceholderGuard<'a, K, V, We, FastHash, quick_cache::sync::DefaultLifecycle<K, V>>>
where
    K: Eq + std::hash::Hash + Clone,
    V: Clone,
    We: quick_cache::Weighter<K, V> + Clone,
{
    loop {
        match cache.get_value_or_guard_async(key).await {
            Ok(value) if live(&value) => return Ok(value),
            Ok(_) => {
                cache.remove(key);
            }
            Err(guard) => return Err(guard),
        }
    }
}

pub struct ProductCache {
    db: Arc<dyn Store>,
    memory: MemoryTier,
    redis: Option<RedisTier>,
    metrics: LookupMetrics,
    /// Products' own barcodes by product id, as loads saw them: a hint that lets a sale line by
    /// `productId` (the terminal's) use the scan's entries. Never trusted alone: the entry it
    /// leads to must be that product's (a barcode moved or a product deleted since falls back
    /// to the database), so it needs no invalidation.
    own_barcodes: moka::sync::Cache<(StoreId, Id), Arc<str>, FastHash>,
}

/// About the room an own-barcode hint takes (key, value, moka's entry).
const HINT_BYTES: u64 = 160;

/// `tills_product_cache_requests_total` for a tier and a result: the scans' lookups, and the
/// Redis refills and invalidations that fail off a scan's path (`redis_tier.rs`).
pub(crate) fn cache_requests(tier: &'static str, result: &'static str) -> metrics::Counter {
    metrics::counter!("tills_product_cache_requests_total", "tier" => tier, "result" => result)
}

/// The lookup's metrics, as handles made once: asking the recorder for one on every scan hashes
/// its name and labels each time. Made when the cache is (after the app installed the
/// recorder: `app::state`).
struct LookupMetrics {
    memory_hit: metrics::Counter,
    memory_miss: metrics::Counter,
    redis_hit: metrics::Counter,
    redis_miss: metrics::Counter,
    redis_error: metrics::Counter,
    /// `tills_product_lookup_seconds` by [`Source`], in its order.
    seconds: [metrics::Histogram; 3],
}

impl LookupMetrics {
    fn new() -> Self {
        let seconds = |source: Source| metrics::histogram!("tills_product_lookup_seconds", "source" => source.as_str());
        LookupMetrics {
            memory_hit: cache_requests("memory", "hit"),
            memory_miss: cache_requests("memory", "miss"),
            redis_hit: cache_requests("redis", "hit"),
            redis_miss: cache_requests("redis", "miss"),
            redis_error: cache_requests("redis", "error"),
            seconds: [seconds(Source::Memory), seconds(Source::Redis), seconds(Source::Database)],
        }
    }

    fn observe(&self, source: Source, start: Instant) {
        self.seconds[source as usize].record(start.elapsed().as_secs_f64());
    }
}

impl ProductCache {
    /// Fails only on a malformed Redis URL; a Redis that is down is reconnected to later.
    pub fn new(db: Arc<dyn Store>, config: &CacheConfig) -> Result<Arc<Self>, String> {
        let memory = MemoryTier::new(config.memory_bytes, config.memory_ttl);
        let redis = match &config.redis {
            Some(c) => Some(RedisTier::new(c.clone(), memory.clone()).map_err(|e| format!("REDIS_URL: {e}"))?),
            None => None,
        };
        let own_barcodes = moka::sync::Cache::builder()
            .max_capacity(config.memory_bytes / HINT_BYTES)
            .build_with_hasher(FastHash::default());
        Ok(Arc::new(ProductCache { db, memory, redis, metrics: LookupMetrics::new(), own_barcodes }))
    }

    pub fn redis_configured(&self) -> bool {
        self.redis.is_some()
    }

    /// `None` without Redis; else whether Redis answers a PING now.
    pub async fn redis_up(&self) -> Option<bool> {
        match &self.redis {
            Some(r) => Some(r.ping().await),
            None => None,
        }
    }

    /// The legacy redesign's `getProductByBarcode(storeId, barcode)`: memory, then Redis, then
    /// the database (one query for concurrent misses of one barcode).
    pub async fn get_product_by_barcode(
        &self,
        store: &StoreId,
        barcode: &str,
    ) -> Result<(Cached, Source), StorageError> {
        let start = Instant::now();
        if let Some(hit) = self.memory.get(store, barcode).await {
            self.metrics.memory_hit.increment(1);
            self.metrics.observe(Source::Memory, start);
            return Ok((hit, Source::Memory));
        }
        self.metrics.memory_miss.increment(1);
        let (value, source) = self.memory.load(store, barcode, self.load(store, barcode)).await?;
        self.metrics.observe(source, start);
        if let Some(found) = &value
            && found.pack.is_none()
        {
            self.note_own_barcode(&found.product);
        }
        Ok((value, source))
    }

    /// Remembers which barcode is `product`'s own (see `own_barcodes`).
    pub fn note_own_barcode(&self, product: &ProductRecord) {
        if let Some(code) = &product.barcode {
            self.own_barcodes.insert((product.store_id.clone(), product.id), code.as_str().into());
        }
    }

    /// A product by id from the scan's entries: `None` when its own barcode is not known here, or
    /// its entry no longer names it — then the database answers.
    pub async fn product_by_id(&self, store: &StoreId, id: Id) -> Result<Option<ProductRecord>, StorageError> {
        let Some(code) = self.own_barcodes.get(&(store.clone(), id)) else { return Ok(None) };
        let (found, _) = self.get_product_by_barcode(store, &code).await?;
        Ok(found.filter(|m| m.product.id == id && m.pack.is_none()).map(|m| m.product.clone()))
    }

    /// Redis, then the database; refills Redis. Runs once per barcode however many wait.
    async fn load(&self, store: &StoreId, barcode: &str) -> Result<(Cached, Source), StorageError> {
        let mut seen = None;
        if let Some(redis) = &self.redis {
            match redis.get(store, barcode).await {
                Ok(redis_tier::Read::Hit(value)) => {
                    self.metrics.redis_hit.increment(1);
                    return Ok((checked(store, value), Source::Redis));
                }
                Ok(redis_tier::Read::Miss(observed)) => {
                    self.metrics.redis_miss.increment(1);
                    seen = Some(observed);
                }
                Err(e) => {
                    self.metrics.redis_error.increment(1);
                    tracing::debug!(error = %e, "redis read failed; reading the database");
                }
            }
        }
        let value = self.db.find_by_barcode(store, barcode).await?.map(|m| Arc::new(m.into()));
        let value = checked(store, value);
        if let (Some(redis), Some(observed)) = (&self.redis, seen)
            && !redis.fill(observed, value.as_deref().map(|m| &**m))
        {
            self.metrics.redis_error.increment(1);
            tracing::debug!("redis refills queued beyond the queue's room; one dropped");
        }
        Ok((value, Source::Database))
    }

    /// The legacy redesign's `invalidateProductCache(storeId, barcode)`, for every barcode a
    /// write touched (old and new: an old barcode must stop resolving, a new one must stop
    /// being "unknown"). Call after the write commits.
    pub async fn invalidate_product(&self, store: &StoreId, barcodes: &[String]) {
        if barcodes.is_empty() {
            return;
        }
        self.memory.fence_barcodes(store, barcodes);
        if let Some(redis) = &self.redis {
            redis.invalidate_barcodes(store, barcodes).await;
        }
    }

    /// The legacy redesign's `invalidateStoreProductCache(storeId)`: every cached product of the
    /// store, in O(1) (a generation bump), in both tiers and on every instance.
    pub async fn invalidate_store_products(&self, store: &StoreId) {
        self.memory.fence_store(store);
        if let Some(redis) = &self.redis {
            redis.invalidate_store(store).await;
        }
    }

    /// Barcodes to invalidate for a product write: everything before and after.
    pub fn touched(before: Option<&ProductRecord>, after: Option<&ProductRecord>) -> Vec<String> {
        let mut codes: Vec<String> = before.map(ProductRecord::all_barcodes).unwrap_or_default();
        codes.extend(after.map(ProductRecord::all_barcodes).unwrap_or_default());
        codes.sort();
        codes.dedup();
        codes
    }
}

/// Drops (and counts) a value of another store: it can only come from a bug.
fn checked(store: &StoreId, value: Cached) -> Cached {
    match value {
        Some(v) if &v.product.store_id != store => {
            metrics::counter!("tills_tenant_violations_total", "kind" => "cache_entry").increment(1);
            tracing::error!(%store, other = %v.product.store_id, "a cached product of another store was refused");
            None
        }
        other => other,
    }
}
