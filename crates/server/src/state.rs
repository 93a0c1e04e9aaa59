//! What every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use moka::future::Cache;
use tills_domain::{Id, Role, StoreId};
use tills_storage::{StorageError, Store, StoreRecord};

use crate::auth::TokenKeys;
use crate::auth::throttle::LoginThrottle;
use crate::cache::{FastHash, ProductCache, QuickCache, counted, live_or_guard};
use crate::client_addr::TrustedProxies;
use crate::error::ApiError;
use crate::services::journal::JournalKey;
use crate::services::search::SearchIndexes;

/// How long another instance may keep answering with a store's old status or a user's old
/// role: API.md's "within five seconds". The instance that makes the change drops its entry
/// at once.
pub const ACCESS_TTL: Duration = Duration::from_secs(4);

/// Cloned for every request (axum's `State`, and its middleware): one `Arc`, so a clone is one
/// atomic increment. With a field per part, cloning and dropping the state took about 4 % of a
/// hot scan's CPU (`perf`: `drop_in_place<AppState>` and the router's service clones).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every handler shares; each part is behind an `Arc` of its own too, for the parts handed
/// to background tasks (a moka cache itself costs a dozen atomic operations to clone).
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenKeys>,
    pub throttle: Arc<LoginThrottle>,
    pub access: Arc<AccessCache>,
    pub metrics: PrometheusHandle,
    /// The product cache: the scan's fast path.
    pub cache: Arc<ProductCache>,
    /// Product search's entries per store (`services/search.rs`).
    pub search: Arc<SearchIndexes>,
    /// Whose `X-Forwarded-For` names the client (login throttling counts per client address).
    pub proxies: Arc<TrustedProxies>,
    /// The journal's signing key (closures) and public key (`GET /journal/public-key`).
    pub journal: Arc<JournalKey>,
}

impl AppState {
    /// The caller's store with its settings (cached like its status).
    pub async fn settings(&self, store: &StoreId) -> Result<Arc<StoreRecord>, ApiError> {
        self.access.store(&self.store, store).await?.ok_or(ApiError::NotFound)
    }

    /// The store's timezone, for local days in `from`/`to`/`date` (UTC if the setting is unusable).
    pub async fn timezone(&self, store: &StoreId) -> Result<chrono_tz::Tz, ApiError> {
        let settings = self.settings(store).await?;
        Ok(crate::time::parse_timezone(&settings.timezone).unwrap_or(chrono_tz::UTC))
    }
}

/// The live state a request's rights depend on, cached for [`ACCESS_TTL`] so a request costs
/// no database round trip to authorize.
///
/// An entry in use is read again in the background once it is [`REFRESH_AFTER`] old, while
/// requests keep using it: with a thousand stores the entries of every store would otherwise
/// expire every four seconds under the requests that use them, and each expiry made a request
/// wait for two database reads (measured: the hot scan's p99). No entry is ever used older than
/// [`ACCESS_TTL`] after its read began: older, it is read again before it answers, refreshed or
/// not. The entries are `quick_cache`s, as the product entries (`cache/memory.rs`): a hit
/// records nothing for later.
#[derive(Clone)]
pub struct AccessCache {
    stores: Entries<StoreId, Option<Arc<StoreRecord>>>,
    users: Entries<(StoreId, Id), Option<(Role, bool)>>,
    platform_admins: Cache<Id, bool, FastHash>,
    /// Counts the entries dropped by a change: a background read that began before one does
    /// not put its (older) value back.
    forgets: Arc<AtomicU64>,
}

/// When an entry in use is read again in the background (before [`ACCESS_TTL`] drops it).
pub const REFRESH_AFTER: Duration = Duration::from_secs(3);

/// A cached value and the instant its database read began.
struct Fresh<T> {
    value: T,
    read_at: Instant,
    /// Set by the request that started the background read: one read per entry.
    refreshing: AtomicBool,
}

impl<T> Fresh<T> {
    fn new(value: T, read_at: Instant) -> Arc<Self> {
        Arc::new(Fresh { value, read_at, refreshing: AtomicBool::new(false) })
    }

    fn live(&self) -> bool {
        self.read_at.elapsed() < ACCESS_TTL
    }
}

type Entries<K, T> = Arc<QuickCache<K, Arc<Fresh<T>>>>;

impl Default for AccessCache {
    fn default() -> Self {
        AccessCache {
            stores: Arc::new(counted(100_000)),
            users: Arc::new(counted(1_000_000)),
            platform_admins: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ACCESS_TTL)
                .build_with_hasher(FastHash::default()),
            forgets: Arc::default(),
        }
    }
}

/// The entry of `key`: cached (and read again in the background when due), or read now (one
/// read for concurrent misses of one key).
async fn cached<K, T, F>(
    entries: &Entries<K, T>,
    forgets: &Arc<AtomicU64>,
    key: &K,
    read: impl Fn() -> F,
) -> Result<T, ApiError>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T, StorageError>> + Send + 'static,
{
    if let Some(hit) = entries.get(key)
        && let age = hit.read_at.elapsed()
        && age < ACCESS_TTL
    {
        if age >= REFRESH_AFTER && !hit.refreshing.swap(true, Ordering::Relaxed) {
            let (entries, forgets, key, read) = (entries.clone(), forgets.clone(), key.clone(), read());
            tokio::spawn(async move {
                let seen = forgets.load(Ordering::Acquire);
                let read_at = Instant::now();
                // A failed read leaves the entry to expire: the next request reads it itself.
                if let Ok(value) = read.await {
                    entries.insert(key.clone(), Fresh::new(value, read_at));
                    // A change since the read began: its entry may be older than the change.
                    if forgets.load(Ordering::Acquire) != seen {
                        entries.remove(&key);
                    }
                }
            });
        }
        return Ok(hit.value.clone());
    }
    // A miss: one read for the concurrent misses of a key, the others wait for its answer (an
    // error lets the next one read in turn).
    let guard = match live_or_guard(entries, key, |hit| hit.live()).await {
        Ok(hit) => return Ok(hit.value.clone()),
        Err(guard) => guard,
    };
    let seen = forgets.load(Ordering::Acquire);
    let read_at = Instant::now();
    let value = read().await.map_err(ApiError::from)?;
    let _ = guard.insert(Fresh::new(value.clone(), read_at));
    if forgets.load(Ordering::Acquire) != seen {
        entries.remove(key);
    }
    Ok(value)
}

impl AccessCache {
    /// The store's record (settings and status), `None` when it does not exist.
    pub async fn store(&self, db: &Arc<dyn Store>, id: &StoreId) -> Result<Option<Arc<StoreRecord>>, ApiError> {
        cached(&self.stores, &self.forgets, id, || {
            let (db, id) = (db.clone(), id.clone());
            async move { db.get_store(&id).await.map(|s| s.map(Arc::new)) }
        })
        .await
    }

    /// The user's current role and whether it is active; `None` when deleted or unknown.
    pub async fn user(&self, db: &Arc<dyn Store>, store: &StoreId, id: Id) -> Result<Option<(Role, bool)>, ApiError> {
        cached(&self.users, &self.forgets, &(store.clone(), id), || {
            let (db, store) = (db.clone(), store.clone());
            async move { db.user_access(&store, id).await }
        })
        .await
    }

    pub async fn platform_admin_exists(&self, db: &Arc<dyn Store>, id: Id) -> Result<bool, ApiError> {
        let db = db.clone();
        self.platform_admins
            .try_get_with(id, async move { db.get_platform_admin(id).await.map(|a| a.is_some()) })
            .await
            .map_err(|e| ApiError::from((*e).clone()))
    }

    pub async fn forget_store(&self, id: &StoreId) {
        self.forgets.fetch_add(1, Ordering::AcqRel);
        self.stores.remove(id);
    }

    pub async fn forget_user(&self, store: &StoreId, id: Id) {
        self.forgets.fetch_add(1, Ordering::AcqRel);
        self.users.remove(&(store.clone(), id));
    }
}
