//! The in-process tier: moka, bounded in entries, entries living `ttl`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use tills_storage::{StorageError, StoreId};

use super::{Cached, Source};

type Key = (StoreId, String);

#[derive(Clone)]
struct Entry {
    /// When the load that produced it began: older than a fence means possibly stale.
    loaded_at: Instant,
    value: Cached,
    source: Source,
}

/// In-process entries with invalidation fences (see the module docs of `cache`).
#[derive(Clone)]
pub struct MemoryTier {
    entries: Cache<Key, Entry>,
    barcode_fences: moka::sync::Cache<Key, Instant>,
    store_fences: moka::sync::Cache<StoreId, Instant>,
}

impl MemoryTier {
    pub fn new(max_entries: u64, ttl: Duration) -> Self {
        // A fence must outlive every entry it could refuse.
        let fence_ttl = ttl + Duration::from_secs(5);
        MemoryTier {
            entries: Cache::builder().max_capacity(max_entries).time_to_live(ttl).build(),
            barcode_fences: moka::sync::Cache::builder().max_capacity(max_entries).time_to_live(fence_ttl).build(),
            store_fences: moka::sync::Cache::builder().max_capacity(1_000_000).time_to_live(fence_ttl).build(),
        }
    }

    fn fresh(&self, key: &Key, e: &Entry) -> bool {
        let after = |fence: Option<Instant>| fence.is_none_or(|f| e.loaded_at > f);
        after(self.barcode_fences.get(key)) && after(self.store_fences.get(&key.0))
    }

    pub async fn get(&self, store: &StoreId, barcode: &str) -> Option<Cached> {
        let key = (store.clone(), barcode.to_owned());
        let e = self.entries.get(&key).await?;
        if self.fresh(&key, &e) {
            Some(e.value)
        } else {
            self.entries.invalidate(&key).await;
            None
        }
    }

    /// Loads through `loader` once however many callers wait for the same key (single-flight).
    pub async fn load<F>(&self, store: &StoreId, barcode: &str, loader: F) -> Result<(Cached, Source), StorageError>
    where
        F: Future<Output = Result<(Cached, Source), StorageError>>,
    {
        let key = (store.clone(), barcode.to_owned());
        let loaded_at = Instant::now();
        let entry =
            self.entries
                .try_get_with(key.clone(), async move {
                    loader.await.map(|(value, source)| Entry { loaded_at, value, source })
                })
                .await
                .map_err(|e: Arc<StorageError>| (*e).clone())?;
        // A stale entry that slipped in (its load began before a fence) answers this caller but
        // no later one.
        if !self.fresh(&key, &entry) {
            self.entries.invalidate(&key).await;
        }
        Ok((entry.value, entry.source))
    }

    pub fn fence_barcodes(&self, store: &StoreId, barcodes: &[String]) {
        let now = Instant::now();
        for b in barcodes {
            self.barcode_fences.insert((store.clone(), b.clone()), now);
        }
    }

    pub fn fence_store(&self, store: &StoreId) {
        self.store_fences.insert(store.clone(), Instant::now());
    }

    /// Drops every entry (after a lost connection to the invalidation channel).
    pub fn clear(&self) {
        self.entries.invalidate_all();
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
        let tier = MemoryTier::new(100, Duration::from_secs(20));
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
    async fn a_load_that_began_before_an_invalidation_is_not_served_after_it() {
        let tier = MemoryTier::new(100, Duration::from_secs(20));
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
}
