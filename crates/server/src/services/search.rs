//! Product search (`GET /api/v1/products?q=`): the name contains the text, or the sku or a
//! barcode starts with it, whatever the case.
//!
//! Each instance keeps, per store, what a search filters and sorts on (names, skus, barcodes,
//! status, category, brand, quick flag, creation time: about 200 bytes a product), picks the page
//! in memory, and reads only that page's products from the database — in the same statement as
//! the store's catalog version. When the version is not the one the entries were read at (some
//! write changed the catalog since, on any instance), the entries are read again and the page
//! picked again. So a search is as fresh as a database query, and costs the database about 20
//! primary-key reads instead of a walk over the store's catalog (which row-level security forces
//! on PostgreSQL: `storage/src/search.rs` says why).
//!
//! Lists without `q` stay plain queries: their filters are equalities that indexes serve.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::future::Cache;
use tills_domain::{Id, StoreId};
use tills_storage::{ProductAfter, ProductFilter, ProductRecord, ProductSort, SearchCatalog, StorageError, Store};

/// How often a search reads the entries again when the catalog keeps changing under it, before
/// it asks the database to search instead.
const ATTEMPTS: usize = 3;
/// A store that stops searching gives its entries' memory back after this long.
const IDLE: Duration = Duration::from_secs(15 * 60);

/// One product as search filters it (its text lives in the index's tables).
struct Entry {
    id: Id,
    active: bool,
    category_id: Option<Id>,
    brand_id: Option<Id>,
    quick: bool,
    created_at: DateTime<Utc>,
}

impl Entry {
    fn passes(&self, f: &ProductFilter) -> bool {
        f.active.is_none_or(|a| a == self.active)
            && f.category_id.is_none_or(|c| self.category_id == Some(c))
            && f.brand_id.is_none_or(|b| self.brand_id == Some(b))
            && (!f.quick_only || self.quick)
    }
}

/// A store's entries in name order (lower-cased name, then id), as of a catalog version. The
/// names lie end to end in one string, searched with one SIMD substring scan (about 30 KB for
/// 2,000 products); skus and barcodes, lower-cased, are sorted for prefix lookups.
pub struct StoreIndex {
    version: i64,
    entries: Vec<Entry>,
    /// Every entry's name key, in entry order, each followed by a NUL.
    names: String,
    /// Where each entry's name starts in `names`.
    starts: Vec<usize>,
    /// (sku or barcode, lower-cased; entry), sorted.
    prefixes: Vec<(Box<str>, u32)>,
}

impl StoreIndex {
    fn new(catalog: SearchCatalog) -> Self {
        let mut rows = catalog.entries;
        rows.sort_unstable_by(|a, b| (&a.name_key, a.id).cmp(&(&b.name_key, b.id)));
        let mut names = String::with_capacity(rows.iter().map(|r| r.name_key.len() + 1).sum());
        let mut starts = Vec::with_capacity(rows.len());
        let mut prefixes = Vec::new();
        let mut entries = Vec::with_capacity(rows.len());
        for (i, r) in rows.into_iter().enumerate() {
            starts.push(names.len());
            names.push_str(&r.name_key);
            names.push('\0');
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            prefixes.extend(r.sku.iter().chain(&r.barcodes).map(|t| (t.to_lowercase().into_boxed_str(), i)));
            entries.push(Entry {
                id: r.id,
                active: r.active,
                category_id: r.category_id,
                brand_id: r.brand_id,
                quick: r.show_in_quick_products,
                created_at: r.created_at,
            });
        }
        prefixes.sort_unstable();
        StoreIndex { version: catalog.version, entries, names, starts, prefixes }
    }

    fn bytes(&self) -> u32 {
        let total = 64
            + self.entries.len() * (std::mem::size_of::<Entry>() + std::mem::size_of::<usize>())
            + self.names.len()
            + self.prefixes.iter().map(|(t, _)| 32 + t.len()).sum::<usize>();
        total.try_into().unwrap_or(u32::MAX)
    }

    fn name(&self, i: usize) -> &str {
        let end = self.starts.get(i + 1).map_or(self.names.len(), |next| next - 1);
        &self.names[self.starts[i]..end]
    }

    /// Which entries `q` matches: the name contains it, or a sku or barcode starts with it.
    fn matching(&self, q: &str) -> Vec<bool> {
        let mut hit = vec![false; self.entries.len()];
        let finder = memchr::memmem::Finder::new(q.as_bytes());
        let names = self.names.as_bytes();
        let mut from = 0;
        while let Some(found) = finder.find(&names[from..]) {
            let at = from + found;
            let i = self.starts.partition_point(|s| *s <= at) - 1;
            if at + q.len() <= self.starts[i] + self.name(i).len() {
                hit[i] = true;
                // The next name: one match is enough.
                from = self.starts.get(i + 1).copied().unwrap_or(names.len());
            } else {
                // Across a name's end (only a text with a NUL in it can be).
                from = at + 1;
            }
        }
        let first = self.prefixes.partition_point(|(t, _)| &**t < q);
        for (_, i) in self.prefixes[first..].iter().take_while(|(t, _)| t.starts_with(q)) {
            hit[*i as usize] = true;
        }
        hit
    }

    /// The first entry after a name-order keyset position.
    fn first_after(&self, key: &str, id: Id) -> usize {
        let (mut lo, mut hi) = (0, self.entries.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if (self.name(mid), self.entries[mid].id) <= (key, id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The ids of the page the filter asks for, in its order.
    fn select(&self, f: &ProductFilter) -> Vec<Id> {
        let hit = self.matching(f.q.as_deref().unwrap_or(""));
        let limit = usize::try_from(f.limit).unwrap_or(0);
        let from = match &f.after {
            Some(ProductAfter::Name(key, id)) if f.sort == ProductSort::Name => self.first_after(key, *id),
            _ => 0,
        };
        let found = (from..self.entries.len()).filter(|i| hit[*i] && self.entries[*i].passes(f));
        match f.sort {
            ProductSort::Name => found.take(limit).map(|i| self.entries[i].id).collect(),
            ProductSort::NewestFirst => {
                let after = match &f.after {
                    Some(ProductAfter::Created(at, id)) => Some((*at, *id)),
                    _ => None,
                };
                let mut page: Vec<(DateTime<Utc>, Id)> = found
                    .map(|i| (self.entries[i].created_at, self.entries[i].id))
                    .filter(|e| after.is_none_or(|a| *e < a))
                    .collect();
                page.sort_unstable_by(|a, b| b.cmp(a));
                page.into_iter().take(limit).map(|(_, id)| id).collect()
            }
        }
    }
}

/// Every store's search entries on this instance, bounded in bytes.
pub struct SearchIndexes {
    stores: Cache<StoreId, Arc<StoreIndex>>,
}

impl SearchIndexes {
    pub fn new(max_bytes: u64) -> Self {
        SearchIndexes {
            stores: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &StoreId, i: &Arc<StoreIndex>| i.bytes())
                .time_to_idle(IDLE)
                .build(),
        }
    }

    async fn current(&self, db: &Arc<dyn Store>, store: &StoreId) -> Result<Arc<StoreIndex>, StorageError> {
        if let Some(hit) = self.stores.get(store).await {
            return Ok(hit);
        }
        let (db, key) = (db.clone(), store.clone());
        self.stores.try_get_with(store.clone(), async move { load(&db, &key).await }).await.map_err(|e| (*e).clone())
    }

    /// Reads the entries again after `stale` turned out old (unless another search did already).
    async fn refresh(
        &self,
        db: &Arc<dyn Store>,
        store: &StoreId,
        stale: &Arc<StoreIndex>,
    ) -> Result<Arc<StoreIndex>, StorageError> {
        if let Some(current) = self.stores.get(store).await
            && !Arc::ptr_eq(&current, stale)
        {
            return Ok(current);
        }
        let fresh = load(db, store).await?;
        self.stores.insert(store.clone(), fresh.clone()).await;
        Ok(fresh)
    }
}

async fn load(db: &Arc<dyn Store>, store: &StoreId) -> Result<Arc<StoreIndex>, StorageError> {
    metrics::counter!("tills_product_search_index_loads_total").increment(1);
    Ok(Arc::new(StoreIndex::new(db.search_catalog(store).await?)))
}

/// The page of products a filter with `q` asks for, in its order.
pub async fn search(
    indexes: &SearchIndexes,
    db: &Arc<dyn Store>,
    store: &StoreId,
    filter: &ProductFilter,
) -> Result<Vec<ProductRecord>, StorageError> {
    let mut index = indexes.current(db, store).await?;
    for _ in 0..ATTEMPTS {
        let ids = index.select(filter);
        let (version, mut products) = db.products_for_search(store, &ids).await?;
        if version == index.version {
            products.sort_by_cached_key(|p| ids.iter().position(|id| *id == p.id));
            return Ok(products);
        }
        index = indexes.refresh(db, store, &index).await?;
    }
    // The catalog changed on every attempt (a bulk edit under way): the database's own search.
    metrics::counter!("tills_product_search_fallbacks_total").increment(1);
    db.list_products(store, filter).await
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tills_storage::SearchEntry;

    use super::*;

    fn entry(n: u128, name: &str, sku: Option<&str>, barcodes: &[&str], created: i64) -> SearchEntry {
        SearchEntry {
            id: Id::from_u128(n),
            name_key: tills_domain::name_key(name),
            sku: sku.map(str::to_owned),
            barcodes: barcodes.iter().map(|b| (*b).to_owned()).collect(),
            active: n != 4,
            category_id: (n == 2).then(|| Id::from_u128(99)),
            brand_id: None,
            show_in_quick_products: n == 3,
            created_at: Utc.timestamp_opt(created, 0).unwrap(),
        }
    }

    fn index() -> StoreIndex {
        StoreIndex::new(SearchCatalog {
            version: 7,
            entries: vec![
                entry(1, "Cola 330ml", Some("DRK-1"), &["4006000001005"], 10),
                entry(2, "Chocolate", Some("SWT-9"), &["ABC123"], 30),
                entry(3, "Coca-Cola Zero", None, &[], 20),
                entry(4, "Cola light", Some("drk-2"), &["4006000002002"], 40),
                entry(5, "Water", None, &["COLA99"], 50),
            ],
        })
    }

    fn filter(q: &str) -> ProductFilter {
        ProductFilter {
            active: None,
            category_id: None,
            brand_id: None,
            quick_only: false,
            q: Some(tills_domain::name_key(q)),
            sort: ProductSort::Name,
            after: None,
            limit: 10,
        }
    }

    fn ids(v: &[u128]) -> Vec<Id> {
        v.iter().map(|n| Id::from_u128(*n)).collect()
    }

    #[test]
    fn name_contains_or_sku_or_barcode_starts_with_in_name_order() {
        let i = index();
        // chocolate, coca-cola zero, cola 330ml, cola light by name; water by its barcode.
        assert_eq!(i.select(&filter("COLA")), ids(&[2, 3, 1, 4, 5]));
        assert_eq!(i.select(&filter("drk")), ids(&[1, 4]));
        assert_eq!(i.select(&filter("rk-")), ids(&[]), "a sku matches from its start only");
        assert_eq!(i.select(&filter("4006")), ids(&[1, 4]));
        assert_eq!(i.select(&filter("abc")), ids(&[2]), "barcodes match whatever the case");
    }

    #[test]
    fn filters_limit_and_keyset() {
        let i = index();
        assert_eq!(i.select(&ProductFilter { active: Some(true), ..filter("cola") }), ids(&[2, 3, 1, 5]));
        assert_eq!(i.select(&ProductFilter { active: Some(false), ..filter("cola") }), ids(&[4]));
        assert_eq!(i.select(&ProductFilter { category_id: Some(Id::from_u128(99)), ..filter("cola") }), ids(&[2]));
        assert_eq!(i.select(&ProductFilter { quick_only: true, ..filter("cola") }), ids(&[3]));
        assert_eq!(i.select(&ProductFilter { limit: 2, ..filter("cola") }), ids(&[2, 3]));
        let after = ProductAfter::Name("coca-cola zero".into(), Id::from_u128(3));
        assert_eq!(i.select(&ProductFilter { after: Some(after), ..filter("cola") }), ids(&[1, 4, 5]));
    }

    #[test]
    fn newest_first_with_keyset() {
        let i = index();
        let newest = ProductFilter { sort: ProductSort::NewestFirst, ..filter("cola") };
        assert_eq!(i.select(&newest), ids(&[5, 4, 2, 3, 1]));
        let after = ProductAfter::Created(Utc.timestamp_opt(30, 0).unwrap(), Id::from_u128(2));
        assert_eq!(i.select(&ProductFilter { after: Some(after), ..newest }), ids(&[3, 1]));
    }
}
