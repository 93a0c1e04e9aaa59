//! A store's sellable catalog as terminals copy it to sell while the server is away
//! (`GET /api/v1/catalog/changes`): a first copy in pages by product id, then only what changed
//! after the catalog version the terminal holds.
//!
//! `catalog_changes` (migration `catalog_changes` on both backends) holds one row per product:
//! the catalog version of its latest change, set by triggers on `products` for anything a till
//! sells by and for deletions. A version is taken from the store's `catalog_versions` row, whose
//! lock orders a store's writers, so versions grow in commit order: what came after version `v`
//! is exactly the rows above `v`. One insert statement gives all its products one version
//! (PostgreSQL), so pages follow (version, product id).

use async_trait::async_trait;
use tills_domain::{Id, StoreId};

use crate::backend::for_each_backend;
use crate::products::ProductRow;
use crate::{ProductRecord, Result};

#[async_trait]
pub trait CatalogRepo {
    /// A page of the store's live products in id order, after `after`, with the version of the
    /// newest change at the time (0 before any): a copy made of these pages, then brought up to
    /// date from that version, misses nothing.
    async fn catalog_page(&self, store: &StoreId, after: Option<Id>, limit: i64) -> Result<(i64, Vec<ProductRecord>)>;
    /// The products that changed after `since` (a version, and the last product id read of it),
    /// oldest change first: (product id, version). One insert statement gives all its products
    /// one version, so a page may end inside a version.
    async fn catalog_changes_since(&self, store: &StoreId, since: (i64, Id), limit: i64) -> Result<Vec<(Id, i64)>>;
}

const NEWEST_CHANGE: &str = "SELECT COALESCE(MAX(version), 0) FROM catalog_changes WHERE store_id = $1";
const PAGE: &str = "SELECT id, store_id, name, sku, price, cost, tax_rate, category_id, brand_id, unit_id, \
     barcode, alternate_barcodes, units, stock_milli, status, show_in_quick_products, created_at, updated_at \
     FROM products WHERE store_id = $1 AND deleted_at IS NULL AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3";
const CHANGES: &str = "SELECT product_id, version FROM catalog_changes WHERE store_id = $1 \
     AND (version > $2 OR (version = $2 AND product_id > $3)) ORDER BY version, product_id LIMIT $4";

macro_rules! impl_catalog_repo {
    ($store:ty, $db:ty) => {
        #[async_trait]
        impl CatalogRepo for $store {
            async fn catalog_page(
                &self,
                store: &StoreId,
                after: Option<Id>,
                limit: i64,
            ) -> Result<(i64, Vec<ProductRecord>)> {
                let mut tx = self.scoped(store, false).await?;
                let newest: i64 = sqlx::query_scalar(NEWEST_CHANGE).bind(store.as_str()).fetch_one(&mut *tx).await?;
                let rows: Vec<ProductRow> =
                    sqlx::query_as(PAGE).bind(store.as_str()).bind(after).bind(limit).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok((newest, rows.into_iter().map(ProductRecord::try_from).collect::<Result<_>>()?))
            }

            async fn catalog_changes_since(
                &self,
                store: &StoreId,
                since: (i64, Id),
                limit: i64,
            ) -> Result<Vec<(Id, i64)>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<(Id, i64)> = sqlx::query_as(CHANGES)
                    .bind(store.as_str())
                    .bind(since.0)
                    .bind(since.1)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }
        }
    };
}
for_each_backend!(impl_catalog_repo);
