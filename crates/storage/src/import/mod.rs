//! Bulk writes for the legacy importer: rows already converted (ids, money in minor units,
//! conflicts resolved) written for one store, one batch per transaction.
//!
//! Every row carries an explicit id (the importer derives them from the legacy ids). A batch
//! either inserts (`INSERT … ON CONFLICT DO NOTHING RETURNING`: writing a batch twice leaves the
//! database as it was after the first time, so a run that was killed can simply be started
//! again, and the counts are what was really inserted) or replaces rows an earlier run wrote
//! whose legacy document changed since (a delta import). Each written row is remembered in
//! `import_rows` with two fingerprints (see the migration `import_tracking`): of what the
//! importer made of the legacy document, and of what Tills can change of the row, so that a
//! later run rewrites only what changed in the legacy system, and never what changed in Tills
//! ([`ImportRepo::import_state`]).
//!
//! A batch travels as one JSON array per table and is unpacked by the database
//! (`json_to_recordset` on PostgreSQL, `json_each` on SQLite): one statement per table per
//! batch instead of one per row, which is what makes the import fast. The SQL is in `sql.rs`,
//! one set per backend (they differ only in how the array is unpacked), and every statement
//! lists `store_id` first or conditions on it, bound to the batch's store.

mod rows;
mod sql;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde::Serialize;
use tills_domain::{Id, StoreId};

use crate::json_rows::{json, ser_id};

use self::rows::{
    CustomerView, NamedView, ProductRows, ProductView, SaleView, StockRow, TrackRow, UserView, check_packs,
    customer_row, hash, json_value, line_rows, named_rows, payment_row, product_row, sale_row, user_row,
};
use self::sql::*;
use crate::backend::for_each_backend;
use crate::platform::NewStore;
use crate::products::ProductDraft;
use crate::{Result, StorageError, Timestamp};

/// A category, brand or unit. `parent_id` is for categories only.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportNamed {
    pub id: Id,
    pub name: String,
    /// The Unicode lower-cased name (unique per store).
    pub name_key: String,
    pub parent_id: Option<Id>,
    pub legacy_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A product as the catalog writes it (`ProductDraft`, the type `ProductRepo` takes), with
/// what an import adds: explicit ids, its stock, its legacy id and times, deletion.
#[derive(Debug, Clone)]
pub struct ImportProduct {
    pub id: Id,
    pub draft: ProductDraft,
    /// The ids of its packs' `product_units` rows, one for each of `draft.units`, in order.
    pub pack_ids: Vec<Id>,
    pub stock_milli: i64,
    pub legacy_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A deleted product: written deleted, without barcodes or packs (as `delete_product`
    /// leaves one), so its barcodes stay free; its sales keep it.
    pub deleted_at: Option<Timestamp>,
    /// The id of the opening-stock movement (reason `import`), written when the stock is not 0.
    pub stock_movement_id: Id,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportCustomer {
    pub id: Id,
    pub name: String,
    pub name_key: String,
    /// Normalized; unique among the store's customers that are not deleted.
    pub phone: String,
    pub email: Option<String>,
    pub note: Option<String>,
    pub legacy_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportUser {
    pub id: Id,
    /// Trimmed and lower-cased; unique among the store's users that are not deleted.
    pub email: String,
    pub name: String,
    /// `admin`, `manager` or `cashier`.
    pub role: String,
    /// As the legacy system kept it (bcrypt): login accepts it and rehashes it to argon2id.
    pub password_hash: String,
    pub active: bool,
    pub legacy_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportSaleLine {
    pub id: Id,
    pub product_id: Option<Id>,
    pub name: String,
    pub barcode: Option<String>,
    pub unit_id: Option<Id>,
    pub factor: i64,
    pub quantity_milli: i64,
    pub price: i64,
    pub discount: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportSale {
    pub id: Id,
    /// Kept as the legacy system printed it.
    pub invoice_number: String,
    /// The number in the invoice, when it has one.
    pub invoice_seq: Option<i64>,
    /// `completed`, `voided`, `partially_refunded` or `refunded`.
    pub status: String,
    pub customer_id: Option<Id>,
    pub cashier_id: Option<Id>,
    pub note: Option<String>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub paid: i64,
    pub change: i64,
    pub sold_at: Timestamp,
    pub created_at: Timestamp,
    pub voided_at: Option<Timestamp>,
    pub legacy_id: Option<String>,
    /// In order; a line's position is its index.
    pub lines: Vec<ImportSaleLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportPayment {
    pub id: Id,
    pub sale_id: Id,
    /// `cash`, `card`, `mobile` or `voucher`.
    pub method: String,
    pub amount: i64,
    pub reference: Option<String>,
    pub legacy_id: Option<String>,
    pub created_at: Timestamp,
}

/// What a batch does with its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BatchMode {
    /// Rows new to Tills: inserted, left alone when already there.
    #[default]
    Insert,
    /// Rows an earlier run wrote, whose legacy document changed since (and that Tills did not
    /// change): written over. A product's packs and barcodes are written again and a changed
    /// stock comes across as a movement of the difference; of a sale only the status changes;
    /// a payment is never written over (`Invalid`).
    Replace,
}

/// Rows of one store to write in one transaction, in this order (references point backwards:
/// a batch may refer to rows of an earlier batch or of its own earlier tables).
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub mode: BatchMode,
    pub categories: Vec<ImportNamed>,
    pub brands: Vec<ImportNamed>,
    pub units: Vec<ImportNamed>,
    pub products: Vec<ImportProduct>,
    pub customers: Vec<ImportCustomer>,
    pub users: Vec<ImportUser>,
    pub sales: Vec<ImportSale>,
    pub payments: Vec<ImportPayment>,
}

impl ImportBatch {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many records (not rows: a product's barcodes and packs count with it).
    pub fn len(&self) -> usize {
        self.categories.len()
            + self.brands.len()
            + self.units.len()
            + self.products.len()
            + self.customers.len()
            + self.users.len()
            + self.sales.len()
            + self.payments.len()
    }
}

/// Rows a batch actually inserted, per table (0 for rows that were already there), and the rows
/// it wrote over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportWritten {
    pub categories: u64,
    pub brands: u64,
    pub units: u64,
    pub products: u64,
    pub product_units: u64,
    pub product_barcodes: u64,
    pub stock_movements: u64,
    pub customers: u64,
    pub users: u64,
    pub sales: u64,
    pub sale_lines: u64,
    pub payments: u64,
    /// Rows written over (a replacing batch): categories, brands, units, products, customers,
    /// users and sales.
    pub updated: u64,
}

impl ImportWritten {
    /// Rows inserted.
    pub fn total(&self) -> u64 {
        self.categories
            + self.brands
            + self.units
            + self.products
            + self.product_units
            + self.product_barcodes
            + self.stock_movements
            + self.customers
            + self.users
            + self.sales
            + self.sale_lines
            + self.payments
    }

    pub fn add(&mut self, o: &ImportWritten) {
        self.categories += o.categories;
        self.brands += o.brands;
        self.units += o.units;
        self.products += o.products;
        self.product_units += o.product_units;
        self.product_barcodes += o.product_barcodes;
        self.stock_movements += o.stock_movements;
        self.customers += o.customers;
        self.users += o.users;
        self.sales += o.sales;
        self.sale_lines += o.sale_lines;
        self.payments += o.payments;
        self.updated += o.updated;
    }
}

/// What a store already holds under its unique keys, with the owning row's id: the importer
/// treats a key held by a row it did not write as taken.
#[derive(Debug, Clone, Default)]
pub struct ExistingKeys {
    pub barcodes: Vec<(String, Id)>,
    pub category_names: Vec<(String, Id)>,
    pub brand_names: Vec<(String, Id)>,
    pub unit_names: Vec<(String, Id)>,
    /// Of customers that are not deleted.
    pub phones: Vec<(String, Id)>,
    /// Of users that are not deleted.
    pub emails: Vec<(String, Id)>,
    pub invoice_numbers: Vec<(String, Id)>,
    /// Rows the importer wrote that Tills changed since (set by the importer from
    /// [`ImportState::changed_in_tills`]): they keep Tills' version, so their keys stay taken.
    pub held_by_tills: HashSet<Id>,
}

/// Counts (and money sums) of a store's imported rows (those with a `legacy_id`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedTotals {
    pub categories: i64,
    pub brands: i64,
    pub units: i64,
    pub products: i64,
    pub customers: i64,
    pub users: i64,
    pub sales: i64,
    pub sale_lines: i64,
    pub sales_total: i64,
    pub payments: i64,
    pub payments_amount: i64,
}

/// The legacy collections, as the tables an imported row is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportKind {
    Categories,
    Brands,
    Units,
    Products,
    Customers,
    Users,
    Sales,
    Payments,
}

impl ImportKind {
    pub const ALL: [ImportKind; 8] = [
        ImportKind::Categories,
        ImportKind::Brands,
        ImportKind::Units,
        ImportKind::Products,
        ImportKind::Customers,
        ImportKind::Users,
        ImportKind::Sales,
        ImportKind::Payments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Categories => "categories",
            ImportKind::Brands => "brands",
            ImportKind::Units => "units",
            ImportKind::Products => "products",
            ImportKind::Customers => "customers",
            ImportKind::Users => "users",
            ImportKind::Sales => "sales",
            ImportKind::Payments => "payments",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A row's fingerprints (`ImportNamed::fingerprint` and the like): `source` of every row the
/// importer writes for the record (equal fingerprints: the legacy document brings nothing new);
/// `row` of what Tills can change of it (a sale's status, a product's price…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint {
    pub source: i64,
    pub row: i64,
}

/// A row an earlier run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedRow {
    pub kind: ImportKind,
    pub row_id: Id,
    pub legacy_id: String,
    /// As written by the last run that wrote it.
    pub fingerprint: Fingerprint,
    /// A product's stock (thousandths), a sale's total, a payment's amount, as written.
    pub amount: Option<i64>,
}

/// How Tills changed a row the importer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TillsChange {
    /// What Tills can change of it differs from what was written; `row` is its fingerprint now
    /// (equal to the new legacy one when both sides made the same change).
    Changed { row: i64 },
    /// The row is gone.
    Deleted,
}

/// What earlier runs wrote in a store, and what of it Tills changed since.
#[derive(Debug, Clone, Default)]
pub struct ImportState {
    pub rows: Vec<TrackedRow>,
    pub changed_in_tills: HashMap<Id, TillsChange>,
}

#[async_trait]
pub trait ImportRepo {
    /// Creates the store with its invoice counter unless a store with that id exists (then
    /// nothing changes). True when it was created. The store has no users until they are
    /// imported.
    async fn import_store(&self, store: &NewStore) -> Result<bool>;
    /// What earlier runs wrote in the store, and which of those rows Tills changed since.
    async fn import_state(&self, store: &StoreId) -> Result<ImportState>;
    /// The keys the store already holds, for the importer's conflict rules.
    async fn import_existing_keys(&self, store: &StoreId) -> Result<ExistingKeys>;
    /// Writes the batch in one transaction, and what it wrote in `import_rows`. Inserting, rows
    /// whose key is already there are left alone (and not counted); replacing, rows that are gone
    /// are not counted. A replacement that would take a key another row holds fails
    /// (`Unique`), and nothing of the batch is written.
    async fn import_batch(&self, store: &StoreId, batch: &ImportBatch) -> Result<ImportWritten>;
    /// Raises the store's invoice counter to at least `at_least` (never lowers it) and returns
    /// it: new sales continue after the highest imported number.
    async fn raise_invoice_counter(&self, store: &StoreId, at_least: i64) -> Result<i64>;
    /// What the store holds of imported data, for `--verify`.
    async fn imported_totals(&self, store: &StoreId) -> Result<ImportedTotals>;
    /// The store's active admins (imported or not): a store with none needs one given
    /// (`make_store_admin`).
    async fn active_admins(&self, store: &StoreId) -> Result<i64>;
}

/// Rows of the `TOUCHED_*` queries: a row the importer wrote that Tills may have changed.
#[derive(sqlx::FromRow)]
struct TouchedNamed {
    row_id: Id,
    row_hash: i64,
    present: bool,
    name: Option<String>,
    parent_id: Option<Id>,
}

#[derive(sqlx::FromRow)]
struct TouchedProduct {
    row_id: Id,
    row_hash: i64,
    present: bool,
    name: Option<String>,
    sku: Option<String>,
    price: Option<i64>,
    cost: Option<i64>,
    tax_rate: Option<i32>,
    category_id: Option<Id>,
    brand_id: Option<Id>,
    unit_id: Option<Id>,
    status: Option<String>,
    show_in_quick_products: Option<bool>,
    barcode: Option<String>,
    alternate_barcodes: Option<String>,
    units: Option<String>,
    deleted: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct TouchedCustomer {
    row_id: Id,
    row_hash: i64,
    present: bool,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    note: Option<String>,
    deleted: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct TouchedUser {
    row_id: Id,
    row_hash: i64,
    present: bool,
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
    password_hash: Option<String>,
    active: Option<bool>,
    deleted: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct TouchedSale {
    row_id: Id,
    row_hash: i64,
    present: bool,
    status: Option<String>,
    voided: Option<bool>,
}

/// Records a row's change when its fingerprint now differs from the one written.
fn compare(out: &mut HashMap<Id, TillsChange>, id: Id, written: i64, now: Option<i64>) {
    match now {
        None => {
            out.insert(id, TillsChange::Deleted);
        }
        Some(row) if row != written => {
            out.insert(id, TillsChange::Changed { row });
        }
        Some(_) => {}
    }
}

impl TouchedNamed {
    fn fingerprint(&self) -> Option<i64> {
        self.present.then(|| hash(&NamedView { name: self.name.as_deref().unwrap_or(""), parent_id: self.parent_id }))
    }
}

impl TouchedProduct {
    fn fingerprint(&self) -> Option<i64> {
        self.present.then(|| {
            hash(&ProductView {
                name: self.name.as_deref().unwrap_or(""),
                sku: self.sku.as_deref(),
                price: self.price.unwrap_or(0),
                cost: self.cost,
                tax_rate: self.tax_rate.unwrap_or(0),
                category_id: self.category_id,
                brand_id: self.brand_id,
                unit_id: self.unit_id,
                status: self.status.as_deref().unwrap_or(""),
                show_in_quick_products: self.show_in_quick_products.unwrap_or(false),
                barcode: self.barcode.as_deref(),
                alternate_barcodes: json_value(self.alternate_barcodes.as_deref().unwrap_or("[]")),
                units: json_value(self.units.as_deref().unwrap_or("[]")),
                deleted: self.deleted.unwrap_or(false),
            })
        })
    }
}

impl TouchedCustomer {
    fn fingerprint(&self) -> Option<i64> {
        self.present.then(|| {
            hash(&CustomerView {
                name: self.name.as_deref().unwrap_or(""),
                phone: self.phone.as_deref().unwrap_or(""),
                email: self.email.as_deref(),
                note: self.note.as_deref(),
                deleted: self.deleted.unwrap_or(false),
            })
        })
    }
}

impl TouchedUser {
    fn fingerprint(&self) -> Option<i64> {
        self.present.then(|| {
            hash(&UserView {
                email: self.email.as_deref().unwrap_or(""),
                name: self.name.as_deref().unwrap_or(""),
                role: self.role.as_deref().unwrap_or(""),
                password_hash: self.password_hash.as_deref().unwrap_or(""),
                active: self.active.unwrap_or(false),
                deleted: self.deleted.unwrap_or(false),
            })
        })
    }
}

impl TouchedSale {
    fn fingerprint(&self) -> Option<i64> {
        self.present.then(|| {
            hash(&SaleView { status: self.status.as_deref().unwrap_or(""), voided: self.voided.unwrap_or(false) })
        })
    }
}

/// What a row's tracking needs: its id, legacy id, fingerprint, `updated_at` and amount.
type Track<'a> = (Id, Option<&'a str>, Fingerprint, Option<Timestamp>, Option<i64>);

/// What `import_rows` keeps of the rows a batch wrote: those with a legacy id among `done`.
fn track_rows<'a, T>(
    out: &mut Vec<TrackRow<'a>>,
    kind: ImportKind,
    records: &'a [T],
    done: &HashSet<Id>,
    fields: impl Fn(&'a T) -> Track<'a>,
) {
    for r in records {
        let (id, legacy_id, f, written_at, amount) = fields(r);
        if let Some(legacy_id) = legacy_id
            && done.contains(&id)
        {
            out.push(TrackRow::new(kind, id, legacy_id, f, written_at, amount));
        }
    }
}

fn named_track(n: &ImportNamed) -> Track<'_> {
    (n.id, n.legacy_id.as_deref(), n.fingerprint(), Some(n.updated_at), None)
}

fn product_track(p: &ImportProduct) -> Track<'_> {
    (p.id, p.legacy_id.as_deref(), p.fingerprint(), Some(p.updated_at), Some(p.stock_milli))
}

fn customer_track(c: &ImportCustomer) -> Track<'_> {
    (c.id, c.legacy_id.as_deref(), c.fingerprint(), Some(c.updated_at), None)
}

fn user_track(u: &ImportUser) -> Track<'_> {
    (u.id, u.legacy_id.as_deref(), u.fingerprint(), Some(u.updated_at), None)
}

fn sale_track(s: &ImportSale) -> Track<'_> {
    (s.id, s.legacy_id.as_deref(), s.fingerprint(), None, Some(s.total))
}

fn payment_track(p: &ImportPayment) -> Track<'_> {
    (p.id, p.legacy_id.as_deref(), p.fingerprint(), None, Some(p.amount))
}

/// A sale's status, what a replacing batch writes of it.
#[derive(Serialize)]
struct SaleStatusRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    status: &'a str,
    #[serde(serialize_with = "crate::json_rows::ser_opt_ts")]
    voided_at: Option<Timestamp>,
}

/// Runs a statement over a JSON array when it has rows; returns the ids it returned.
macro_rules! ids_of {
    ($tx:expr, $sql:expr, $store:expr, $rows:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            HashSet::<Id>::new()
        } else {
            let ids: Vec<Id> =
                sqlx::query_scalar($sql).bind($store.as_str()).bind(json(&rows)?).fetch_all(&mut *$tx).await?;
            ids.into_iter().collect()
        }
    }};
}

/// Runs a statement over a JSON array when it has rows; returns how many rows it returned.
macro_rules! count_of {
    ($tx:expr, $sql:expr, $store:expr, $rows:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            0
        } else {
            sqlx::query($sql).bind($store.as_str()).bind(json(&rows)?).fetch_all(&mut *$tx).await?.len() as u64
        }
    }};
}

macro_rules! impl_import_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl ImportRepo for $backend {
            async fn import_store(&self, s: &NewStore) -> Result<bool> {
                let mut tx = self.scoped(&s.id, true).await?;
                let created = sqlx::query(INSERT_STORE)
                    .bind(s.id.as_str())
                    .bind(&s.name)
                    .bind(&s.currency)
                    .bind(i16::from(s.currency_decimals))
                    .bind(&s.timezone)
                    .bind(s.prices_include_tax)
                    .bind(&s.invoice_prefix)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                sqlx::query(INSERT_COUNTER).bind(s.id.as_str()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn import_existing_keys(&self, store: &StoreId) -> Result<ExistingKeys> {
                let mut tx = self.scoped(store, false).await?;
                let mut keys = ExistingKeys::default();
                for (sql, out) in [
                    (EXISTING_BARCODES, &mut keys.barcodes),
                    (EXISTING_CATEGORIES, &mut keys.category_names),
                    (EXISTING_BRANDS, &mut keys.brand_names),
                    (EXISTING_UNITS, &mut keys.unit_names),
                    (EXISTING_PHONES, &mut keys.phones),
                    (EXISTING_EMAILS, &mut keys.emails),
                    (EXISTING_INVOICES, &mut keys.invoice_numbers),
                ] {
                    *out = sqlx::query_as(sql).bind(store.as_str()).fetch_all(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(keys)
            }

            async fn import_state(&self, store: &StoreId) -> Result<ImportState> {
                let mut tx = self.scoped(store, false).await?;
                let tracked: Vec<(String, Id, String, i64, i64, Option<i64>)> =
                    sqlx::query_as(TRACKED).bind(store.as_str()).fetch_all(&mut *tx).await?;
                let mut state = ImportState::default();
                for (kind, row_id, legacy_id, source, row, amount) in tracked {
                    let kind =
                        ImportKind::parse(&kind).ok_or_else(|| StorageError::corrupt(format!("import kind {kind}")))?;
                    let fingerprint = Fingerprint { source, row };
                    state.rows.push(TrackedRow { kind, row_id, legacy_id, fingerprint, amount });
                }
                let changed = &mut state.changed_in_tills;
                let categories: Vec<TouchedNamed> =
                    sqlx::query_as(TOUCHED_CATEGORIES).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for t in categories {
                    compare(changed, t.row_id, t.row_hash, t.fingerprint());
                }
                for sql in [TOUCHED_BRANDS, TOUCHED_UNITS] {
                    let rows: Vec<(Id, i64, bool, Option<String>)> =
                        sqlx::query_as(sql).bind(store.as_str()).fetch_all(&mut *tx).await?;
                    for (row_id, row_hash, present, name) in rows {
                        let t = TouchedNamed { row_id, row_hash, present, name, parent_id: None };
                        compare(changed, t.row_id, t.row_hash, t.fingerprint());
                    }
                }
                let products: Vec<TouchedProduct> =
                    sqlx::query_as(TOUCHED_PRODUCTS).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for t in products {
                    compare(changed, t.row_id, t.row_hash, t.fingerprint());
                }
                let customers: Vec<TouchedCustomer> =
                    sqlx::query_as(TOUCHED_CUSTOMERS).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for t in customers {
                    compare(changed, t.row_id, t.row_hash, t.fingerprint());
                }
                let users: Vec<TouchedUser> =
                    sqlx::query_as(TOUCHED_USERS).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for t in users {
                    compare(changed, t.row_id, t.row_hash, t.fingerprint());
                }
                let sales: Vec<TouchedSale> =
                    sqlx::query_as(TOUCHED_SALES).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for t in sales {
                    compare(changed, t.row_id, t.row_hash, t.fingerprint());
                }
                let gone: Vec<Id> = sqlx::query_scalar(GONE_PAYMENTS).bind(store.as_str()).fetch_all(&mut *tx).await?;
                for id in gone {
                    changed.insert(id, TillsChange::Deleted);
                }
                tx.commit().await?;
                Ok(state)
            }

            async fn import_batch(&self, store: &StoreId, b: &ImportBatch) -> Result<ImportWritten> {
                let sql = &Self::IMPORT_SQL;
                check_packs(&b.products)?;
                let products: Vec<_> = b.products.iter().map(product_row).collect::<Result<_>>()?;
                let mut w = ImportWritten::default();
                let mut track: Vec<TrackRow<'_>> = Vec::new();
                let mut tx = self.scoped(store, true).await?;
                if let Some(prepare) = sql.prepare {
                    sqlx::query(prepare).execute(&mut *tx).await?;
                }
                match b.mode {
                    BatchMode::Insert => {
                        let done = ids_of!(tx, sql.categories, store, named_rows(&b.categories));
                        w.categories = done.len() as u64;
                        track_rows(&mut track, ImportKind::Categories, &b.categories, &done, named_track);
                        let done = ids_of!(tx, sql.brands, store, named_rows(&b.brands));
                        w.brands = done.len() as u64;
                        track_rows(&mut track, ImportKind::Brands, &b.brands, &done, named_track);
                        let done = ids_of!(tx, sql.units, store, named_rows(&b.units));
                        w.units = done.len() as u64;
                        track_rows(&mut track, ImportKind::Units, &b.units, &done, named_track);

                        // A product's packs, barcodes and opening stock come with it, or not at all.
                        let done = ids_of!(tx, sql.products, store, products);
                        w.products = done.len() as u64;
                        let mut codes = ProductRows::default();
                        for p in b.products.iter().filter(|p| done.contains(&p.id)) {
                            codes.add_codes(p);
                            codes.add_opening_stock(p);
                        }
                        w.product_units = count_of!(tx, sql.product_units, store, codes.packs);
                        w.product_barcodes = count_of!(tx, sql.product_barcodes, store, codes.barcodes);
                        w.stock_movements = count_of!(tx, sql.stock_movements, store, codes.movements);
                        track_rows(&mut track, ImportKind::Products, &b.products, &done, product_track);

                        let rows: Vec<_> = b.customers.iter().map(customer_row).collect();
                        let done = ids_of!(tx, sql.customers, store, rows);
                        w.customers = done.len() as u64;
                        track_rows(&mut track, ImportKind::Customers, &b.customers, &done, customer_track);
                        let rows: Vec<_> = b.users.iter().map(user_row).collect();
                        let done = ids_of!(tx, sql.users, store, rows);
                        w.users = done.len() as u64;
                        track_rows(&mut track, ImportKind::Users, &b.users, &done, user_track);

                        // A sale's lines come with it, or not at all.
                        let rows: Vec<_> = b.sales.iter().map(sale_row).collect();
                        let done = ids_of!(tx, sql.sales, store, rows);
                        w.sales = done.len() as u64;
                        let lines: Vec<_> =
                            b.sales.iter().filter(|s| done.contains(&s.id)).flat_map(line_rows).collect();
                        w.sale_lines = count_of!(tx, sql.sale_lines, store, lines);
                        // Each new sale enters the journal as imported history, in the batch's
                        // transaction, as it reads once written (its payments come in a later
                        // batch and are not part of it).
                        let now = tills_domain::now();
                        for s in b.sales.iter().filter(|s| done.contains(&s.id)) {
                            if let Some(sale) = Self::load_sale(&mut tx, store, s.id).await? {
                                let content = crate::journal::sale_content(&sale, true);
                                let kind = crate::journal::kind::IMPORTED_SALE;
                                Self::append_journal(&mut tx, store, kind, Some(s.id), &content, now).await?;
                            }
                        }
                        track_rows(&mut track, ImportKind::Sales, &b.sales, &done, sale_track);
                        let rows: Vec<_> = b.payments.iter().map(payment_row).collect();
                        let done = ids_of!(tx, sql.payments, store, rows);
                        w.payments = done.len() as u64;
                        track_rows(&mut track, ImportKind::Payments, &b.payments, &done, payment_track);
                    }
                    BatchMode::Replace => {
                        if !b.payments.is_empty() {
                            return Err(StorageError::Invalid {
                                field: "payments".into(),
                                message: "a payment is never written over".into(),
                            });
                        }
                        let r = &sql.replace;
                        let done = ids_of!(tx, r.categories, store, named_rows(&b.categories));
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Categories, &b.categories, &done, named_track);
                        let done = ids_of!(tx, r.brands, store, named_rows(&b.brands));
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Brands, &b.brands, &done, named_track);
                        let done = ids_of!(tx, r.units, store, named_rows(&b.units));
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Units, &b.units, &done, named_track);

                        if !b.products.is_empty() {
                            // The movement of a changed stock is read against the stock as last
                            // imported, before `import_rows` says the new one.
                            let stock: Vec<StockRow> = b
                                .products
                                .iter()
                                .map(|p| StockRow {
                                    id: p.id,
                                    stock_movement_id: uuid::Uuid::new_v5(&p.id, &p.fingerprint().source.to_be_bytes()),
                                    stock_milli: p.stock_milli,
                                    updated_at: p.updated_at,
                                })
                                .collect();
                            let ids = json(&stock)?;
                            sqlx::query(r.delete_barcodes).bind(store.as_str()).bind(&ids).execute(&mut *tx).await?;
                            sqlx::query(r.delete_packs).bind(store.as_str()).bind(&ids).execute(&mut *tx).await?;
                            w.stock_movements += count_of!(tx, r.stock_movements, store, stock);
                            let done = ids_of!(tx, r.products, store, products);
                            w.updated += done.len() as u64;
                            let mut codes = ProductRows::default();
                            for p in b.products.iter().filter(|p| done.contains(&p.id)) {
                                codes.add_codes(p);
                            }
                            w.product_units += count_of!(tx, sql.product_units, store, codes.packs);
                            w.product_barcodes += count_of!(tx, sql.product_barcodes, store, codes.barcodes);
                            track_rows(&mut track, ImportKind::Products, &b.products, &done, product_track);
                        }
                        let rows: Vec<_> = b.customers.iter().map(customer_row).collect();
                        let done = ids_of!(tx, r.customers, store, rows);
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Customers, &b.customers, &done, customer_track);
                        let rows: Vec<_> = b.users.iter().map(user_row).collect();
                        let done = ids_of!(tx, r.users, store, rows);
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Users, &b.users, &done, user_track);
                        let rows: Vec<SaleStatusRow<'_>> = b
                            .sales
                            .iter()
                            .map(|s| SaleStatusRow { id: s.id, status: &s.status, voided_at: s.voided_at })
                            .collect();
                        let done = ids_of!(tx, r.sales, store, rows);
                        w.updated += done.len() as u64;
                        track_rows(&mut track, ImportKind::Sales, &b.sales, &done, sale_track);
                    }
                }
                if !track.is_empty() {
                    sqlx::query(sql.track)
                        .bind(store.as_str())
                        .bind(json(&track)?)
                        .bind(tills_domain::now())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(w)
            }

            async fn raise_invoice_counter(&self, store: &StoreId, at_least: i64) -> Result<i64> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(INSERT_COUNTER).bind(store.as_str()).execute(&mut *tx).await?;
                let n: i64 = sqlx::query_scalar(RAISE_COUNTER)
                    .bind(store.as_str())
                    .bind(at_least.max(0))
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn imported_totals(&self, store: &StoreId) -> Result<ImportedTotals> {
                let mut tx = self.scoped(store, false).await?;
                let mut t = ImportedTotals::default();
                for (sql, out) in [
                    (COUNT_CATEGORIES, &mut t.categories),
                    (COUNT_BRANDS, &mut t.brands),
                    (COUNT_UNITS, &mut t.units),
                    (COUNT_PRODUCTS, &mut t.products),
                    (COUNT_CUSTOMERS, &mut t.customers),
                    (COUNT_USERS, &mut t.users),
                    (COUNT_SALE_LINES, &mut t.sale_lines),
                ] {
                    *out = sqlx::query_scalar(sql).bind(store.as_str()).fetch_one(&mut *tx).await?;
                }
                let sales: (i64, i64) = sqlx::query_as(SUM_SALES).bind(store.as_str()).fetch_one(&mut *tx).await?;
                let payments: (i64, i64) =
                    sqlx::query_as(SUM_PAYMENTS).bind(store.as_str()).fetch_one(&mut *tx).await?;
                (t.sales, t.sales_total) = sales;
                (t.payments, t.payments_amount) = payments;
                tx.commit().await?;
                Ok(t)
            }

            async fn active_admins(&self, store: &StoreId) -> Result<i64> {
                let mut tx = self.scoped(store, false).await?;
                let n: i64 = sqlx::query_scalar(COUNT_ACTIVE_ADMINS).bind(store.as_str()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(n)
            }
        }
    };
}
for_each_backend!(impl_import_repo);
