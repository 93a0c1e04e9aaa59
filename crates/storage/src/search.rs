//! What product search (`GET /products?q=`) reads: a store's catalog as a search filters it,
//! once per catalog version, and then the few products a search picked, with the version they
//! were read at.
//!
//! Why not one SQL query: on PostgreSQL, row-level security lets an index serve only leakproof
//! conditions (equality, comparison), and `LIKE`, `lower()` and trigram operators are not, so a
//! search read the store's products one by one in name order until enough matched (about 1,600
//! rows and 8 ms of CPU for one word at 2,000 products). The server keeps these entries in memory
//! instead (`server/src/services/search.rs`) and checks `catalog_versions`, which triggers bump on
//! every change to what a search matches or how it sorts (migration 7 on PostgreSQL, 2 on
//! SQLite).

use async_trait::async_trait;
use sqlx::{FromRow, Row};
use tills_domain::{Id, StoreId};

use crate::backend::{PgStore, SqliteStore, for_each_backend};
use crate::products::ProductRow;
use crate::{ProductRecord, Result, Timestamp};

/// One live product as a search filters and sorts it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchEntry {
    pub id: Id,
    pub name_key: String,
    pub sku: Option<String>,
    /// Its own, its alternates and its packs' barcodes.
    pub barcodes: Vec<String>,
    pub active: bool,
    pub category_id: Option<Id>,
    pub brand_id: Option<Id>,
    pub show_in_quick_products: bool,
    pub created_at: Timestamp,
}

/// A store's catalog for search, as of `version` (read before the entries, so entries are at
/// least that new).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchCatalog {
    pub version: i64,
    pub entries: Vec<SearchEntry>,
}

#[async_trait]
pub trait SearchRepo {
    /// Every live product of the store, unordered, with the catalog version read first.
    async fn search_catalog(&self, store: &StoreId) -> Result<SearchCatalog>;
    /// The catalog version, then these products as they are now (any order; deleted ones left
    /// out), in one transaction: a catalog change committed before this call shows as a newer
    /// version.
    async fn products_for_search(&self, store: &StoreId, ids: &[Id]) -> Result<(i64, Vec<ProductRecord>)>;
}

const CATALOG_VERSION: &str = "SELECT version FROM catalog_versions WHERE store_id = $1";
const SEARCH_PRODUCTS: &str = "SELECT id, name_key, sku, status, category_id, brand_id, show_in_quick_products, created_at \
     FROM products WHERE store_id = $1 AND deleted_at IS NULL";
const SEARCH_BARCODES: &str = "SELECT product_id, barcode FROM product_barcodes WHERE store_id = $1";
const SEARCH_PAGE_IN_ONE_ROUND_TRIP: &str = "SELECT * FROM tills_search_page($1, $2)";
/// `$2`: a JSON array of the ids in simple hex, as the sale's rows are sent.
const SQLITE_PRODUCTS_BY_ID: &str = "SELECT id, store_id, name, sku, price, cost, tax_rate, category_id, brand_id, unit_id, \
     barcode, alternate_barcodes, units, stock_milli, status, show_in_quick_products, created_at, updated_at \
     FROM products WHERE store_id = $1 AND id IN (SELECT unhex(value) FROM json_each($2)) AND deleted_at IS NULL";

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Id,
    name_key: String,
    sku: Option<String>,
    status: String,
    category_id: Option<Id>,
    brand_id: Option<Id>,
    show_in_quick_products: bool,
    created_at: Timestamp,
}

/// The entries with their barcodes attached.
fn catalog(version: Option<i64>, rows: Vec<EntryRow>, mut barcodes: Vec<(Id, String)>) -> SearchCatalog {
    barcodes.sort_unstable();
    let entries = rows
        .into_iter()
        .map(|r| {
            let from = barcodes.partition_point(|(p, _)| *p < r.id);
            let codes = barcodes[from..].iter().take_while(|(p, _)| *p == r.id).map(|(_, b)| b.clone()).collect();
            SearchEntry {
                id: r.id,
                name_key: r.name_key,
                sku: r.sku,
                barcodes: codes,
                active: r.status == "active",
                category_id: r.category_id,
                brand_id: r.brand_id,
                show_in_quick_products: r.show_in_quick_products,
                created_at: r.created_at,
            }
        })
        .collect();
    SearchCatalog { version: version.unwrap_or(0), entries }
}

macro_rules! impl_search_catalog {
    ($backend:ty, $db:ty) => {
        impl $backend {
            async fn read_search_catalog(&self, store: &StoreId) -> Result<SearchCatalog> {
                let mut tx = self.scoped(store, false).await?;
                let version: Option<i64> =
                    sqlx::query_scalar(CATALOG_VERSION).bind(store.as_str()).fetch_optional(&mut *tx).await?;
                let rows: Vec<EntryRow> =
                    sqlx::query_as(SEARCH_PRODUCTS).bind(store.as_str()).fetch_all(&mut *tx).await?;
                let barcodes: Vec<(Id, String)> =
                    sqlx::query_as(SEARCH_BARCODES).bind(store.as_str()).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(catalog(version, rows, barcodes))
            }
        }
    };
}
for_each_backend!(impl_search_catalog);

#[async_trait]
impl SearchRepo for PgStore {
    #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
    async fn search_catalog(&self, store: &StoreId) -> Result<SearchCatalog> {
        self.read_search_catalog(store).await
    }

    /// One round trip: `tills_search_page` (migration 7) sets the store and reads the version and
    /// the products in one statement.
    #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
    async fn products_for_search(&self, store: &StoreId, ids: &[Id]) -> Result<(i64, Vec<ProductRecord>)> {
        let mut conn = self.direct.get().await?;
        let rows =
            sqlx::query(SEARCH_PAGE_IN_ONE_ROUND_TRIP).bind(store.as_str()).bind(ids).fetch_all(&mut *conn).await;
        conn.finish(&rows);
        let rows = rows?;
        let mut version = 0;
        let mut products = Vec::with_capacity(ids.len());
        for row in &rows {
            version = row.try_get("catalog_version")?;
            if row.try_get::<Option<Id>, _>("id")?.is_some() {
                products.push(ProductRecord::try_from(ProductRow::from_row(row)?)?);
            }
        }
        Ok((version, products))
    }
}

#[async_trait]
impl SearchRepo for SqliteStore {
    #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
    async fn search_catalog(&self, store: &StoreId) -> Result<SearchCatalog> {
        self.read_search_catalog(store).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
    async fn products_for_search(&self, store: &StoreId, ids: &[Id]) -> Result<(i64, Vec<ProductRecord>)> {
        let hex: Vec<String> = ids.iter().map(|id| id.simple().to_string()).collect();
        let ids_json = serde_json::to_string(&hex).map_err(crate::StorageError::corrupt)?;
        let mut tx = self.scoped(store, false).await?;
        let version: Option<i64> =
            sqlx::query_scalar(CATALOG_VERSION).bind(store.as_str()).fetch_optional(&mut *tx).await?;
        let rows: Vec<ProductRow> =
            sqlx::query_as(SQLITE_PRODUCTS_BY_ID).bind(store.as_str()).bind(ids_json).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok((version.unwrap_or(0), rows.into_iter().map(ProductRecord::try_from).collect::<Result<_>>()?))
    }
}
