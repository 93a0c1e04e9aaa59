//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use moka::future::Cache;
use tills_domain::{Id, Role, StoreId};
use tills_storage::{Store, StoreRecord};

use crate::auth::TokenKeys;
use crate::auth::throttle::LoginThrottle;
use crate::cache::ProductCache;
use crate::client_addr::TrustedProxies;
use crate::error::ApiError;
use crate::services::journal::JournalKey;
use crate::services::search::SearchIndexes;

/// How long another instance may keep answering with a store's old status or a user's old
/// role: API.md's "within five seconds". The instance that makes the change drops its entry
/// at once.
pub const ACCESS_TTL: Duration = Duration::from_secs(4);

/// Cloned for every request (axum's `State`): each part is behind an `Arc`, since cloning and
/// dropping a moka cache itself costs a dozen atomic operations (its channels and handles).
#[derive(Clone)]
pub struct AppState {
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
#[derive(Clone)]
pub struct AccessCache {
    stores: Cache<StoreId, Option<Arc<StoreRecord>>>,
    users: Cache<(StoreId, Id), Option<(Role, bool)>>,
    platform_admins: Cache<Id, bool>,
}

impl Default for AccessCache {
    fn default() -> Self {
        AccessCache {
            stores: Cache::builder().max_capacity(100_000).time_to_live(ACCESS_TTL).build(),
            users: Cache::builder().max_capacity(1_000_000).time_to_live(ACCESS_TTL).build(),
            platform_admins: Cache::builder().max_capacity(10_000).time_to_live(ACCESS_TTL).build(),
        }
    }
}

impl AccessCache {
    /// The store's record (settings and status), `None` when it does not exist.
    pub async fn store(&self, db: &Arc<dyn Store>, id: &StoreId) -> Result<Option<Arc<StoreRecord>>, ApiError> {
        // Every request asks: a hit must not pay for building the loader.
        if let Some(hit) = self.stores.get(id).await {
            return Ok(hit);
        }
        let db = db.clone();
        let key = id.clone();
        self.stores
            .try_get_with(id.clone(), async move { db.get_store(&key).await.map(|s| s.map(Arc::new)) })
            .await
            .map_err(|e| ApiError::from((*e).clone()))
    }

    /// The user's current role and whether it is active; `None` when deleted or unknown.
    pub async fn user(&self, db: &Arc<dyn Store>, store: &StoreId, id: Id) -> Result<Option<(Role, bool)>, ApiError> {
        let key = (store.clone(), id);
        if let Some(hit) = self.users.get(&key).await {
            return Ok(hit);
        }
        let db = db.clone();
        let key_store = store.clone();
        self.users
            .try_get_with(key, async move { db.get_user(&key_store, id).await.map(|u| u.map(|u| (u.role, u.active))) })
            .await
            .map_err(|e| ApiError::from((*e).clone()))
    }

    pub async fn platform_admin_exists(&self, db: &Arc<dyn Store>, id: Id) -> Result<bool, ApiError> {
        let db = db.clone();
        self.platform_admins
            .try_get_with(id, async move { db.get_platform_admin(id).await.map(|a| a.is_some()) })
            .await
            .map_err(|e| ApiError::from((*e).clone()))
    }

    pub async fn forget_store(&self, id: &StoreId) {
        self.stores.invalidate(id).await;
    }

    pub async fn forget_user(&self, store: &StoreId, id: Id) {
        self.users.invalidate(&(store.clone(), id)).await;
    }
}
