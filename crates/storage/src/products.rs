//! Products, their barcodes and packs, their stock and its movements.
//!
//! A barcode — a product's own, an alternate, or a pack's — names exactly one product in a store:
//! `product_barcodes` has `(store_id, barcode)` as its primary key. Packs live in
//! `product_units`. The product row also carries a read model of both (JSON columns written in
//! the same transaction), so a product reads as one row.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tills_domain::{Id, StockReason, StoreId};

use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

/// A pack of the product: `factor` base units sold under its own barcode and price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pack {
    pub unit_id: Id,
    pub barcode: Option<String>,
    pub factor: i64,
    /// `None`: the product's price × factor.
    pub price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: Id,
    pub store_id: StoreId,
    pub name: String,
    pub sku: Option<String>,
    pub price: i64,
    pub cost: Option<i64>,
    pub tax_rate: i32,
    pub category_id: Option<Id>,
    pub brand_id: Option<Id>,
    pub unit_id: Option<Id>,
    pub barcode: Option<String>,
    pub alternate_barcodes: Vec<String>,
    pub units: Vec<Pack>,
    pub stock_milli: i64,
    pub active: bool,
    pub show_in_quick_products: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ProductRecord {
    /// Every barcode of the product (own, alternates, packs').
    pub fn all_barcodes(&self) -> Vec<String> {
        self.barcode
            .iter()
            .chain(self.alternate_barcodes.iter())
            .chain(self.units.iter().filter_map(|u| u.barcode.as_ref()))
            .cloned()
            .collect()
    }
}

/// Everything a product is, as the service decided it (create, or the result of a PATCH).
#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub name: String,
    pub name_key: String,
    pub sku: Option<String>,
    pub price: i64,
    pub cost: Option<i64>,
    pub tax_rate: i32,
    pub category_id: Option<Id>,
    pub brand_id: Option<Id>,
    pub unit_id: Option<Id>,
    pub barcode: Option<String>,
    pub alternate_barcodes: Vec<String>,
    pub units: Vec<Pack>,
    pub active: bool,
    pub show_in_quick_products: bool,
}

/// A stock change to record with a product write.
#[derive(Debug, Clone)]
pub struct StockChange {
    pub reason: StockReason,
    pub note: Option<String>,
    pub user_id: Option<Id>,
    pub sale_id: Option<Id>,
    pub refund_id: Option<Id>,
}

impl StockChange {
    pub fn new(reason: StockReason, user_id: Option<Id>) -> Self {
        StockChange { reason, note: None, user_id, sale_id: None, refund_id: None }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StockMovement {
    pub id: Id,
    pub product_id: Id,
    pub delta_milli: i64,
    pub reason: StockReason,
    pub note: Option<String>,
    pub sale_id: Option<Id>,
    pub refund_id: Option<Id>,
    pub user_id: Option<Id>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    /// Unicode lower-cased name, then id.
    Name,
    /// Newest first, then id descending.
    NewestFirst,
}

/// Keyset position in a product list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ProductAfter {
    Name(String, Id),
    Created(Timestamp, Id),
}

#[derive(Debug, Clone)]
pub struct ProductFilter {
    pub active: Option<bool>,
    pub category_id: Option<Id>,
    pub brand_id: Option<Id>,
    pub quick_only: bool,
    /// Lower-cased search text: name contains it, or sku or a barcode starts with it.
    pub q: Option<String>,
    pub sort: ProductSort,
    pub after: Option<ProductAfter>,
    pub limit: i64,
}

/// A scan's answer: the product and, for a pack's barcode, the pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarcodeMatch {
    pub product: ProductRecord,
    pub pack: Option<Pack>,
}

#[async_trait]
pub trait ProductRepo {
    /// Creates the product with its barcodes and packs; an opening stock is a movement.
    async fn create_product(
        &self,
        store: &StoreId,
        id: Id,
        draft: &ProductDraft,
        stock_milli: i64,
        change: Option<StockChange>,
    ) -> Result<ProductRecord>;
    /// Creates many products in one transaction (seeding, imports): all or none.
    async fn create_products(
        &self,
        store: &StoreId,
        items: &[(Id, ProductDraft, i64)],
        change: StockChange,
    ) -> Result<u64>;
    async fn get_product(&self, store: &StoreId, id: Id) -> Result<Option<ProductRecord>>;
    /// These products as they are now, in any order; unknown, deleted and other stores' ids are
    /// left out. One round trip on PostgreSQL however many ids (a cart's lines).
    async fn get_products(&self, store: &StoreId, ids: &[Id]) -> Result<Vec<ProductRecord>>;
    /// Replaces the product's fields, barcodes and packs. `stocktake`: the counted stock, its
    /// difference recorded as a movement. Returns (before, after).
    async fn update_product(
        &self,
        store: &StoreId,
        id: Id,
        draft: &ProductDraft,
        stocktake: Option<(i64, StockChange)>,
    ) -> Result<(ProductRecord, ProductRecord)>;
    /// Soft delete: gone from reads, lists and scans; its barcodes are free; sales keep it.
    async fn delete_product(&self, store: &StoreId, id: Id) -> Result<ProductRecord>;
    async fn list_products(&self, store: &StoreId, filter: &ProductFilter) -> Result<Vec<ProductRecord>>;
    async fn find_by_barcode(&self, store: &StoreId, barcode: &str) -> Result<Option<BarcodeMatch>>;
    /// Adds `delta_milli` to the stock (never overwriting a concurrent change) with a movement.
    async fn adjust_stock(
        &self,
        store: &StoreId,
        id: Id,
        delta_milli: i64,
        change: StockChange,
    ) -> Result<ProductRecord>;
    async fn list_stock_movements(
        &self,
        store: &StoreId,
        product_id: Id,
        after: Option<(Timestamp, Id)>,
        limit: i64,
    ) -> Result<Vec<StockMovement>>;
    /// Which of these ids do not name a category / brand / unit of the store.
    async fn missing_refs(
        &self,
        store: &StoreId,
        category: Option<Id>,
        brand: Option<Id>,
        units: &[Id],
    ) -> Result<MissingRefs>;
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct MissingRefs {
    pub category: bool,
    pub brand: bool,
    pub units: Vec<Id>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProductRow {
    id: Id,
    store_id: String,
    name: String,
    sku: Option<String>,
    price: i64,
    cost: Option<i64>,
    tax_rate: i32,
    category_id: Option<Id>,
    brand_id: Option<Id>,
    unit_id: Option<Id>,
    barcode: Option<String>,
    alternate_barcodes: String,
    units: String,
    stock_milli: i64,
    status: String,
    show_in_quick_products: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<ProductRow> for ProductRecord {
    type Error = StorageError;
    fn try_from(r: ProductRow) -> Result<Self> {
        Ok(ProductRecord {
            id: r.id,
            store_id: StoreId::parse(&r.store_id).map_err(StorageError::corrupt)?,
            name: r.name,
            sku: r.sku,
            price: r.price,
            cost: r.cost,
            tax_rate: r.tax_rate,
            category_id: r.category_id,
            brand_id: r.brand_id,
            unit_id: r.unit_id,
            barcode: r.barcode,
            alternate_barcodes: serde_json::from_str(&r.alternate_barcodes).map_err(StorageError::corrupt)?,
            units: serde_json::from_str(&r.units).map_err(StorageError::corrupt)?,
            stock_milli: r.stock_milli,
            active: r.status == "active",
            show_in_quick_products: r.show_in_quick_products,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ScanRow {
    #[sqlx(flatten)]
    product: ProductRow,
    pack_unit_id: Option<Id>,
}

#[derive(sqlx::FromRow)]
struct MovementRow {
    id: Id,
    product_id: Id,
    delta_milli: i64,
    #[sqlx(try_from = "String")]
    reason: StockReason,
    note: Option<String>,
    sale_id: Option<Id>,
    refund_id: Option<Id>,
    user_id: Option<Id>,
    created_at: Timestamp,
}

impl From<MovementRow> for StockMovement {
    fn from(r: MovementRow) -> Self {
        StockMovement {
            id: r.id,
            product_id: r.product_id,
            delta_milli: r.delta_milli,
            reason: r.reason,
            note: r.note,
            sale_id: r.sale_id,
            refund_id: r.refund_id,
            user_id: r.user_id,
            created_at: r.created_at,
        }
    }
}

const INSERT_PRODUCT: &str = "INSERT INTO products (store_id, id, name, name_key, sku, price, cost, tax_rate, category_id, \
     brand_id, unit_id, barcode, alternate_barcodes, units, stock_milli, status, show_in_quick_products, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)";
const UPDATE_PRODUCT: &str = "UPDATE products SET name = $3, name_key = $4, sku = $5, price = $6, cost = $7, tax_rate = $8, \
     category_id = $9, brand_id = $10, unit_id = $11, barcode = $12, alternate_barcodes = $13, units = $14, \
     status = $15, show_in_quick_products = $16, updated_at = $17 \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
pub(crate) const SELECT_PRODUCT: &str = "SELECT id, store_id, name, sku, price, cost, tax_rate, category_id, brand_id, unit_id, \
     barcode, alternate_barcodes, units, stock_milli, status, show_in_quick_products, created_at, updated_at \
     FROM products WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const SOFT_DELETE_PRODUCT: &str = "UPDATE products SET deleted_at = $3, updated_at = $3, barcode = NULL, \
     alternate_barcodes = '[]', units = '[]', show_in_quick_products = false \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const DELETE_BARCODES: &str = "DELETE FROM product_barcodes WHERE store_id = $1 AND product_id = $2";
const DELETE_PACKS: &str = "DELETE FROM product_units WHERE store_id = $1 AND product_id = $2";
const INSERT_PACK: &str = "INSERT INTO product_units (store_id, id, product_id, unit_id, factor, price, position) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_BARCODE: &str = "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, product_unit_id, position) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const BARCODE_OWNER: &str = "SELECT product_id FROM product_barcodes WHERE store_id = $1 AND barcode = $2";
const SCAN: &str = "SELECT p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id, p.brand_id, p.unit_id, \
     p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status, p.show_in_quick_products, p.created_at, p.updated_at, \
     u.unit_id AS pack_unit_id \
     FROM product_barcodes b \
     JOIN products p ON p.store_id = b.store_id AND p.id = b.product_id \
     LEFT JOIN product_units u ON u.store_id = b.store_id AND u.id = b.product_unit_id \
     WHERE b.store_id = $1 AND b.barcode = $2 AND p.deleted_at IS NULL";
const LOCK_STOCK: &str = "UPDATE products SET stock_milli = stock_milli WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING stock_milli";
const ADD_STOCK: &str = "UPDATE products SET stock_milli = stock_milli + $3, updated_at = $4 \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
pub(crate) const INSERT_MOVEMENT: &str = "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, sale_id, \
     refund_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
/// A product's movements: the rows of `stock_movements` (stock takes, deliveries, voids, refunds,
/// the importer's opening stock) and, without a row of their own, the lines that sold it — each
/// line is the movement of its sale (its id, −quantity × factor, the cashier, `moved_at`: when
/// the sale took the stock; NULL for the importer's sales, whose opening stock counts them).
/// Each side reads at most one page in its index order (on PostgreSQL; SQLite's index of lines by
/// product stops at the product, see its migration 3), then the two pages are merged. The first
/// page and the pages after a cursor are two statements, so that the cursor's time bounds the
/// index scan even in a generic plan (`$3 IS NULL OR …` would leave it a filter).
macro_rules! list_movements {
    ($movements_after:literal, $lines_after:literal, $limit:literal) => {
        concat!(
            "SELECT id, product_id, delta_milli, reason, note, sale_id, refund_id, user_id, created_at FROM (",
            "SELECT id, product_id, delta_milli, reason, note, sale_id, refund_id, user_id, created_at ",
            "FROM stock_movements WHERE store_id = $1 AND product_id = $2",
            $movements_after,
            " ORDER BY created_at, id LIMIT ",
            $limit,
            ") m UNION ALL ",
            "SELECT id, product_id, delta_milli, reason, note, sale_id, refund_id, user_id, created_at FROM (",
            "SELECT l.id, l.product_id, -(l.quantity_milli * l.factor) AS delta_milli, 'sale' AS reason, ",
            "CAST(NULL AS text) AS note, l.sale_id, CAST(NULL AS uuid) AS refund_id, s.cashier_id AS user_id, ",
            "l.moved_at AS created_at ",
            "FROM sale_lines l JOIN sales s ON s.store_id = l.store_id AND s.id = l.sale_id ",
            "WHERE l.store_id = $1 AND l.product_id = $2 AND l.moved_at IS NOT NULL",
            $lines_after,
            " ORDER BY l.moved_at, l.id LIMIT ",
            $limit,
            ") l ORDER BY created_at, id LIMIT ",
            $limit
        )
    };
}
const LIST_MOVEMENTS: &str = list_movements!("", "", "$3");
const LIST_MOVEMENTS_AFTER: &str = list_movements!(
    " AND created_at >= $3 AND (created_at > $3 OR id > $4)",
    " AND l.moved_at >= $3 AND (l.moved_at > $3 OR l.id > $4)",
    "$5"
);
const CATEGORY_EXISTS: &str = "SELECT COUNT(*) FROM categories WHERE store_id = $1 AND id = $2";
const BRAND_EXISTS: &str = "SELECT COUNT(*) FROM brands WHERE store_id = $1 AND id = $2";
const UNIT_EXISTS: &str = "SELECT COUNT(*) FROM units WHERE store_id = $1 AND id = $2";

/// The filter part shared by both list orders. `$2` status, `$3` category, `$4` brand,
/// `$5` quick only, `$6` name pattern, `$7` prefix pattern. The barcode match does not depend on
/// the row: the database looks the store's matching barcodes up once per search, not once per
/// product it reads.
macro_rules! list_sql {
    ($keyset:literal, $order:literal) => {
        concat!(
            "SELECT p.id, p.store_id, p.name, p.sku, p.price, p.cost, p.tax_rate, p.category_id, p.brand_id, p.unit_id, \
             p.barcode, p.alternate_barcodes, p.units, p.stock_milli, p.status, p.show_in_quick_products, p.created_at, p.updated_at \
             FROM products p WHERE p.store_id = $1 AND p.deleted_at IS NULL \
             AND ($2 IS NULL OR p.status = $2) AND ($3 IS NULL OR p.category_id = $3) AND ($4 IS NULL OR p.brand_id = $4) \
             AND (NOT $5 OR p.show_in_quick_products) \
             AND ($6 IS NULL OR p.name_key LIKE $6 ESCAPE '\\' OR lower(p.sku) LIKE $7 ESCAPE '\\' \
                  OR p.id IN (SELECT b.product_id FROM product_barcodes b WHERE b.store_id = $1 \
                              AND lower(b.barcode) LIKE $7 ESCAPE '\\')) ",
            $keyset,
            $order
        )
    };
}
const LIST_BY_NAME: &str = list_sql!(
    "AND ($8 IS NULL OR p.name_key > $8 OR (p.name_key = $8 AND p.id > $9)) ",
    "ORDER BY p.name_key, p.id LIMIT $10"
);
const LIST_BY_CREATED: &str = list_sql!(
    "AND ($8 IS NULL OR p.created_at < $8 OR (p.created_at = $8 AND p.id < $9)) ",
    "ORDER BY p.created_at DESC, p.id DESC LIMIT $10"
);

/// Records a stock movement inside an open transaction.
macro_rules! insert_movement {
    ($tx:expr, $store:expr, $product:expr, $delta:expr, $change:expr, $at:expr) => {{
        let change: &$crate::products::StockChange = $change;
        sqlx::query($crate::products::INSERT_MOVEMENT)
            .bind($store.as_str())
            .bind(tills_domain::new_id())
            .bind($product)
            .bind($delta)
            .bind(change.reason.as_str())
            .bind(change.note.as_deref())
            .bind(change.sale_id)
            .bind(change.refund_id)
            .bind(change.user_id)
            .bind($at)
            .execute(&mut *$tx)
            .await
    }};
}
pub(crate) use insert_movement;

/// Escapes LIKE wildcards in user text.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// `tills_scan` (a migration) sets the store for row-level security and reads, in one statement:
/// one round trip instead of three for the most frequent read, on a direct connection
/// (`direct.rs`).
const SCAN_IN_ONE_ROUND_TRIP: &str = "SELECT * FROM tills_scan($1, $2)";

impl crate::backend::PgStore {
    async fn scan_row(&self, store: &StoreId, barcode: &str) -> Result<Option<ScanRow>> {
        Ok(self
            .direct
            .fetch_optional(sqlx::query_as(SCAN_IN_ONE_ROUND_TRIP).bind(store.as_str()).bind(barcode))
            .await?)
    }
}

impl crate::backend::SqliteStore {
    async fn scan_row(&self, store: &StoreId, barcode: &str) -> Result<Option<ScanRow>> {
        let mut tx = self.scoped(store, false).await?;
        let row = sqlx::query_as(SCAN).bind(store.as_str()).bind(barcode).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }
}

macro_rules! impl_product_repo {
    ($backend:ty, $db:ty) => {
        impl $backend {
            /// Writes the product's barcodes and packs (after its old ones were removed).
            async fn write_children<'c>(
                tx: &mut sqlx::Transaction<'c, $db>,
                store: &StoreId,
                id: Id,
                draft: &ProductDraft,
            ) -> Result<()> {
                // Name the taken barcode rather than fail on the index.
                for code in draft
                    .barcode
                    .iter()
                    .chain(&draft.alternate_barcodes)
                    .chain(draft.units.iter().filter_map(|u| u.barcode.as_ref()))
                {
                    let owner: Option<Id> = sqlx::query_scalar(BARCODE_OWNER)
                        .bind(store.as_str())
                        .bind(code)
                        .fetch_optional(&mut **tx)
                        .await?;
                    if owner.is_some_and(|o| o != id) {
                        return Err(StorageError::BarcodeTaken(code.clone()));
                    }
                }
                // (barcode, kind, pack row id)
                let mut codes: Vec<(&str, &str, Option<Id>)> = Vec::new();
                if let Some(code) = &draft.barcode {
                    codes.push((code, "primary", None));
                }
                for code in &draft.alternate_barcodes {
                    codes.push((code, "alternate", None));
                }
                for (i, pack) in draft.units.iter().enumerate() {
                    let pack_id = tills_domain::new_id();
                    sqlx::query(INSERT_PACK)
                        .bind(store.as_str())
                        .bind(pack_id)
                        .bind(id)
                        .bind(pack.unit_id)
                        .bind(pack.factor)
                        .bind(pack.price)
                        .bind(i as i32)
                        .execute(&mut **tx)
                        .await?;
                    if let Some(code) = &pack.barcode {
                        codes.push((code, "unit", Some(pack_id)));
                    }
                }
                for (position, (code, kind, pack)) in codes.into_iter().enumerate() {
                    sqlx::query(INSERT_BARCODE)
                        .bind(store.as_str())
                        .bind(code)
                        .bind(id)
                        .bind(kind)
                        .bind(pack)
                        .bind(position as i32)
                        .execute(&mut **tx)
                        .await
                        .map_err(|e| match StorageError::from(e) {
                            StorageError::Unique(_) => StorageError::BarcodeTaken(code.to_owned()),
                            other => other,
                        })?;
                }
                Ok(())
            }
        }

        impl $backend {
            /// Inserts a product with its barcodes, packs and opening-stock movement.
            async fn insert_product(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                id: Id,
                d: &ProductDraft,
                stock_milli: i64,
                change: Option<&StockChange>,
                now: Timestamp,
            ) -> Result<()> {
                sqlx::query(INSERT_PRODUCT)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&d.name)
                    .bind(&d.name_key)
                    .bind(d.sku.as_deref())
                    .bind(d.price)
                    .bind(d.cost)
                    .bind(d.tax_rate)
                    .bind(d.category_id)
                    .bind(d.brand_id)
                    .bind(d.unit_id)
                    .bind(d.barcode.as_deref())
                    .bind(serde_json::to_string(&d.alternate_barcodes).map_err(StorageError::corrupt)?)
                    .bind(serde_json::to_string(&d.units).map_err(StorageError::corrupt)?)
                    .bind(stock_milli)
                    .bind(if d.active { "active" } else { "inactive" })
                    .bind(d.show_in_quick_products)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                Self::write_children(tx, store, id, d).await?;
                if stock_milli != 0
                    && let Some(c) = change
                {
                    insert_movement!(*tx, store, id, stock_milli, c, now)?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl ProductRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_product(
                &self,
                store: &StoreId,
                id: Id,
                d: &ProductDraft,
                stock_milli: i64,
                change: Option<StockChange>,
            ) -> Result<ProductRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                Self::insert_product(&mut tx, store, id, d, stock_milli, change.as_ref(), now).await?;
                let row: ProductRow =
                    sqlx::query_as(SELECT_PRODUCT).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_products(
                &self,
                store: &StoreId,
                items: &[(Id, ProductDraft, i64)],
                change: StockChange,
            ) -> Result<u64> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                for (id, d, stock) in items {
                    Self::insert_product(&mut tx, store, *id, d, *stock, Some(&change), now).await?;
                }
                tx.commit().await?;
                Ok(items.len() as u64)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_product(&self, store: &StoreId, id: Id) -> Result<Option<ProductRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<ProductRow> =
                    sqlx::query_as(SELECT_PRODUCT).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row.map(ProductRecord::try_from).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_products(&self, store: &StoreId, ids: &[Id]) -> Result<Vec<ProductRecord>> {
                // Product search's page read: the same rows, in one statement on PostgreSQL.
                Ok(crate::SearchRepo::products_for_search(self, store, ids).await?.1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn update_product(
                &self,
                store: &StoreId,
                id: Id,
                d: &ProductDraft,
                stocktake: Option<(i64, StockChange)>,
            ) -> Result<(ProductRecord, ProductRecord)> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                // Locks the row: a concurrent sale waits, so a stocktake's difference is exact.
                let current: Option<i64> =
                    sqlx::query_scalar(LOCK_STOCK).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                let Some(current) = current else { return Err(StorageError::NotFound) };
                let before: ProductRecord = sqlx::query_as::<_, ProductRow>(SELECT_PRODUCT)
                    .bind(store.as_str())
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_into()?;
                sqlx::query(UPDATE_PRODUCT)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&d.name)
                    .bind(&d.name_key)
                    .bind(d.sku.as_deref())
                    .bind(d.price)
                    .bind(d.cost)
                    .bind(d.tax_rate)
                    .bind(d.category_id)
                    .bind(d.brand_id)
                    .bind(d.unit_id)
                    .bind(d.barcode.as_deref())
                    .bind(serde_json::to_string(&d.alternate_barcodes).map_err(StorageError::corrupt)?)
                    .bind(serde_json::to_string(&d.units).map_err(StorageError::corrupt)?)
                    .bind(if d.active { "active" } else { "inactive" })
                    .bind(d.show_in_quick_products)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(DELETE_BARCODES).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                sqlx::query(DELETE_PACKS).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                Self::write_children(&mut tx, store, id, d).await?;
                if let Some((counted, change)) = stocktake {
                    let delta = counted - current;
                    if delta != 0 {
                        sqlx::query(ADD_STOCK)
                            .bind(store.as_str())
                            .bind(id)
                            .bind(delta)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        insert_movement!(tx, store, id, delta, &change, now)?;
                    }
                }
                let after: ProductRecord = sqlx::query_as::<_, ProductRow>(SELECT_PRODUCT)
                    .bind(store.as_str())
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_into()?;
                tx.commit().await?;
                Ok((before, after))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn delete_product(&self, store: &StoreId, id: Id) -> Result<ProductRecord> {
                let mut tx = self.scoped(store, true).await?;
                let row: Option<ProductRow> =
                    sqlx::query_as(SELECT_PRODUCT).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                let before: ProductRecord = row.ok_or(StorageError::NotFound)?.try_into()?;
                sqlx::query(DELETE_BARCODES).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                sqlx::query(DELETE_PACKS).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                sqlx::query(SOFT_DELETE_PRODUCT)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(before)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_products(&self, store: &StoreId, f: &ProductFilter) -> Result<Vec<ProductRecord>> {
                let name_pattern = f.q.as_ref().map(|q| format!("%{}%", like_escape(q)));
                let prefix_pattern = f.q.as_ref().map(|q| format!("{}%", like_escape(q)));
                let status = f.active.map(|a| if a { "active" } else { "inactive" });
                let mut tx = self.scoped_planned_per_call(store).await?;
                let q = match f.sort {
                    ProductSort::Name => {
                        let after = match &f.after {
                            Some(ProductAfter::Name(k, id)) => Some((k.as_str(), *id)),
                            _ => None,
                        };
                        sqlx::query_as::<_, ProductRow>(LIST_BY_NAME)
                            .bind(store.as_str())
                            .bind(status)
                            .bind(f.category_id)
                            .bind(f.brand_id)
                            .bind(f.quick_only)
                            .bind(name_pattern)
                            .bind(prefix_pattern)
                            .bind(after.map(|a| a.0))
                            .bind(after.map(|a| a.1))
                            .bind(f.limit)
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    ProductSort::NewestFirst => {
                        let after = match &f.after {
                            Some(ProductAfter::Created(t, id)) => Some((*t, *id)),
                            _ => None,
                        };
                        sqlx::query_as::<_, ProductRow>(LIST_BY_CREATED)
                            .bind(store.as_str())
                            .bind(status)
                            .bind(f.category_id)
                            .bind(f.brand_id)
                            .bind(f.quick_only)
                            .bind(name_pattern)
                            .bind(prefix_pattern)
                            .bind(after.map(|a| a.0))
                            .bind(after.map(|a| a.1))
                            .bind(f.limit)
                            .fetch_all(&mut *tx)
                            .await?
                    }
                };
                tx.commit().await?;
                q.into_iter().map(ProductRecord::try_from).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn find_by_barcode(&self, store: &StoreId, barcode: &str) -> Result<Option<BarcodeMatch>> {
                let Some(row) = self.scan_row(store, barcode).await? else { return Ok(None) };
                let product = ProductRecord::try_from(row.product)?;
                let pack = row.pack_unit_id.and_then(|u| product.units.iter().find(|p| p.unit_id == u).cloned());
                Ok(Some(BarcodeMatch { product, pack }))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn adjust_stock(
                &self,
                store: &StoreId,
                id: Id,
                delta: i64,
                change: StockChange,
            ) -> Result<ProductRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                let done = sqlx::query(ADD_STOCK)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(delta)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                insert_movement!(tx, store, id, delta, &change, now)?;
                let row: ProductRow =
                    sqlx::query_as(SELECT_PRODUCT).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_stock_movements(
                &self,
                store: &StoreId,
                product_id: Id,
                after: Option<(Timestamp, Id)>,
                limit: i64,
            ) -> Result<Vec<StockMovement>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<MovementRow> = match after {
                    None => {
                        sqlx::query_as(LIST_MOVEMENTS)
                            .bind(store.as_str())
                            .bind(product_id)
                            .bind(limit)
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    Some((at, id)) => {
                        sqlx::query_as(LIST_MOVEMENTS_AFTER)
                            .bind(store.as_str())
                            .bind(product_id)
                            .bind(at)
                            .bind(id)
                            .bind(limit)
                            .fetch_all(&mut *tx)
                            .await?
                    }
                };
                tx.commit().await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn missing_refs(
                &self,
                store: &StoreId,
                category: Option<Id>,
                brand: Option<Id>,
                units: &[Id],
            ) -> Result<MissingRefs> {
                let mut tx = self.scoped(store, false).await?;
                let mut missing = MissingRefs::default();
                if let Some(c) = category {
                    let n: i64 =
                        sqlx::query_scalar(CATEGORY_EXISTS).bind(store.as_str()).bind(c).fetch_one(&mut *tx).await?;
                    missing.category = n == 0;
                }
                if let Some(b) = brand {
                    let n: i64 =
                        sqlx::query_scalar(BRAND_EXISTS).bind(store.as_str()).bind(b).fetch_one(&mut *tx).await?;
                    missing.brand = n == 0;
                }
                for u in units {
                    let n: i64 =
                        sqlx::query_scalar(UNIT_EXISTS).bind(store.as_str()).bind(*u).fetch_one(&mut *tx).await?;
                    if n == 0 {
                        missing.units.push(*u);
                    }
                }
                tx.commit().await?;
                Ok(missing)
            }
        }
    };
}
for_each_backend!(impl_product_repo);

/// The catalog's read queries by name, for the test that explains them on a large database.
#[doc(hidden)]
pub fn catalog_queries() -> Vec<(&'static str, &'static str)> {
    vec![
        ("list by name", LIST_BY_NAME),
        ("list newest first", LIST_BY_CREATED),
        ("scan", SCAN),
        ("get", SELECT_PRODUCT),
        ("barcode owner", BARCODE_OWNER),
        ("stock movements", LIST_MOVEMENTS),
        ("stock movements after", LIST_MOVEMENTS_AFTER),
    ]
}
