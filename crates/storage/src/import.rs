//! Bulk writes for the legacy importer: rows already converted (ids, money in minor units,
//! conflicts resolved) written for one store, one batch per transaction.
//!
//! Every row carries an explicit id (the importer derives them from the legacy ids), and every
//! statement is `INSERT … ON CONFLICT DO NOTHING`: writing a batch twice leaves the database as
//! it was after the first time, so a run that was killed can simply be started again.
//!
//! A batch travels as one JSON array per table and is unpacked by the database
//! (`json_to_recordset` on PostgreSQL, `json_each` on SQLite): one statement per table per
//! batch instead of one per row, which is what makes the import fast. The SQL is in constants,
//! one set per backend (they differ only in how the array is unpacked), and every statement
//! lists `store_id` first, bound to the batch's store.

use async_trait::async_trait;
use chrono::SecondsFormat;
use serde::{Serialize, Serializer};
use tills_domain::{Id, StoreId};

use crate::backend::{PgStore, SqliteStore, for_each_backend};
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

/// Rows of one store to write in one transaction, in this order (references point backwards:
/// a batch may refer to rows of an earlier batch or of its own earlier tables).
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
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

/// Rows a batch actually inserted, per table (0 for rows that were already there).
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
}

impl ImportWritten {
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

#[async_trait]
pub trait ImportRepo {
    /// Creates the store with its invoice counter unless a store with that id exists (then
    /// nothing changes). True when it was created. The store has no users until they are
    /// imported.
    async fn import_store(&self, store: &NewStore) -> Result<bool>;
    /// The keys the store already holds, for the importer's conflict rules.
    async fn import_existing_keys(&self, store: &StoreId) -> Result<ExistingKeys>;
    /// Writes the batch in one transaction. Rows whose key is already there are left alone.
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

// ---------------------------------------------------------------------------------------------
// The JSON rows the database unpacks. Ids are 32 hex digits (PostgreSQL's uuid input takes them,
// SQLite's unhex() turns them into the 16-byte BLOBs sqlx writes); timestamps are RFC 3339 as
// sqlx writes them to SQLite (so text comparisons hold), which PostgreSQL parses as well.

pub(crate) fn ser_id<S: Serializer>(id: &Id, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&id.simple())
}

pub(crate) fn ser_opt_id<S: Serializer>(id: &Option<Id>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(&id.simple()),
        None => s.serialize_none(),
    }
}

fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

fn ser_opt_ts<S: Serializer>(t: &Option<Timestamp>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_ts(t, s),
        None => s.serialize_none(),
    }
}

#[derive(Serialize)]
struct NamedRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    name: &'a str,
    name_key: &'a str,
    #[serde(serialize_with = "ser_opt_id")]
    parent_id: Option<Id>,
    legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    updated_at: Timestamp,
}

#[derive(Serialize)]
struct ProductRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    name: &'a str,
    name_key: &'a str,
    sku: Option<&'a str>,
    price: i64,
    cost: Option<i64>,
    tax_rate: i32,
    #[serde(serialize_with = "ser_opt_id")]
    category_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    brand_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    unit_id: Option<Id>,
    stock_milli: i64,
    status: &'static str,
    show_in_quick_products: bool,
    barcode: Option<&'a str>,
    alternate_barcodes: String,
    units: String,
    legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct PackRow {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    #[serde(serialize_with = "ser_id")]
    product_id: Id,
    #[serde(serialize_with = "ser_id")]
    unit_id: Id,
    factor: i64,
    price: Option<i64>,
    position: i32,
}

#[derive(Serialize)]
struct BarcodeRow<'a> {
    barcode: &'a str,
    #[serde(serialize_with = "ser_id")]
    product_id: Id,
    kind: &'static str,
    #[serde(serialize_with = "ser_opt_id")]
    product_unit_id: Option<Id>,
    position: i32,
}

#[derive(Serialize)]
struct MovementRow {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    #[serde(serialize_with = "ser_id")]
    product_id: Id,
    delta_milli: i64,
    note: &'static str,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
}

#[derive(Serialize)]
struct CustomerRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    name: &'a str,
    name_key: &'a str,
    phone: &'a str,
    email: Option<&'a str>,
    note: Option<&'a str>,
    legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct UserRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    email: &'a str,
    name: &'a str,
    role: &'a str,
    password_hash: &'a str,
    active: bool,
    legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    updated_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    deleted_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct SaleRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    invoice_number: &'a str,
    invoice_seq: Option<i64>,
    status: &'a str,
    #[serde(serialize_with = "ser_opt_id")]
    customer_id: Option<Id>,
    #[serde(serialize_with = "ser_opt_id")]
    cashier_id: Option<Id>,
    note: Option<&'a str>,
    subtotal: i64,
    discount_total: i64,
    tax_total: i64,
    total: i64,
    paid: i64,
    change: i64,
    #[serde(serialize_with = "ser_ts")]
    sold_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
    #[serde(serialize_with = "ser_opt_ts")]
    voided_at: Option<Timestamp>,
    legacy_id: Option<&'a str>,
}

#[derive(Serialize)]
struct LineRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    #[serde(serialize_with = "ser_id")]
    sale_id: Id,
    position: i32,
    #[serde(serialize_with = "ser_opt_id")]
    product_id: Option<Id>,
    name: &'a str,
    barcode: Option<&'a str>,
    #[serde(serialize_with = "ser_opt_id")]
    unit_id: Option<Id>,
    factor: i64,
    quantity_milli: i64,
    price: i64,
    discount: i64,
    tax_rate: i32,
    tax: i64,
    total: i64,
}

#[derive(Serialize)]
struct PaymentRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    #[serde(serialize_with = "ser_id")]
    sale_id: Id,
    method: &'a str,
    amount: i64,
    reference: Option<&'a str>,
    legacy_id: Option<&'a str>,
    #[serde(serialize_with = "ser_ts")]
    created_at: Timestamp,
}

fn named_rows(rows: &[ImportNamed]) -> Vec<NamedRow<'_>> {
    rows.iter()
        .map(|r| NamedRow {
            id: r.id,
            name: &r.name,
            name_key: &r.name_key,
            parent_id: r.parent_id,
            legacy_id: r.legacy_id.as_deref(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect()
}

/// A product's rows: itself (with the read model `ProductRepo` keeps), its packs, its barcodes
/// (own first, then alternates, then packs', positions in that order, as `ProductRepo` writes
/// them) and its opening stock.
struct ProductRows<'a> {
    products: Vec<ProductRow<'a>>,
    packs: Vec<PackRow>,
    barcodes: Vec<BarcodeRow<'a>>,
    movements: Vec<MovementRow>,
}

fn product_rows<'a>(rows: &'a [ImportProduct]) -> Result<ProductRows<'a>> {
    let mut out = ProductRows { products: Vec::new(), packs: Vec::new(), barcodes: Vec::new(), movements: Vec::new() };
    for p in rows {
        let d = &p.draft;
        if p.pack_ids.len() != d.units.len() {
            return Err(StorageError::Invalid {
                field: "pack_ids".into(),
                message: format!("{} pack ids for {} packs", p.pack_ids.len(), d.units.len()),
            });
        }
        let live = p.deleted_at.is_none();
        out.products.push(ProductRow {
            id: p.id,
            name: &d.name,
            name_key: &d.name_key,
            sku: d.sku.as_deref(),
            price: d.price,
            cost: d.cost,
            tax_rate: d.tax_rate,
            category_id: d.category_id,
            brand_id: d.brand_id,
            unit_id: d.unit_id,
            stock_milli: p.stock_milli,
            status: if d.active { "active" } else { "inactive" },
            show_in_quick_products: live && d.show_in_quick_products,
            barcode: if live { d.barcode.as_deref() } else { None },
            alternate_barcodes: if live {
                serde_json::to_string(&d.alternate_barcodes).map_err(StorageError::corrupt)?
            } else {
                "[]".to_owned()
            },
            units: if live { serde_json::to_string(&d.units).map_err(StorageError::corrupt)? } else { "[]".to_owned() },
            legacy_id: p.legacy_id.as_deref(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            deleted_at: p.deleted_at,
        });
        if p.stock_milli != 0 {
            out.movements.push(MovementRow {
                id: p.stock_movement_id,
                product_id: p.id,
                delta_milli: p.stock_milli,
                note: "opening stock from the legacy system",
                created_at: p.updated_at,
            });
        }
        if !live {
            continue;
        }
        let mut position = 0;
        let mut code = |barcode: &'a str, kind: &'static str, unit: Option<Id>| {
            out.barcodes.push(BarcodeRow { barcode, product_id: p.id, kind, product_unit_id: unit, position });
            position += 1;
        };
        if let Some(b) = &d.barcode {
            code(b, "primary", None);
        }
        for b in &d.alternate_barcodes {
            code(b, "alternate", None);
        }
        for (i, (pack, pack_id)) in d.units.iter().zip(&p.pack_ids).enumerate() {
            out.packs.push(PackRow {
                id: *pack_id,
                product_id: p.id,
                unit_id: pack.unit_id,
                factor: pack.factor,
                price: pack.price,
                position: i as i32,
            });
            if let Some(b) = &pack.barcode {
                code(b, "unit", Some(*pack_id));
            }
        }
    }
    Ok(out)
}

pub(crate) fn json<T: Serialize>(rows: &[T]) -> Result<String> {
    serde_json::to_string(rows).map_err(StorageError::corrupt)
}

/// The statements of one backend.
pub(crate) struct ImportSql {
    /// Run first in each batch's transaction.
    prepare: Option<&'static str>,
    categories: &'static str,
    brands: &'static str,
    units: &'static str,
    products: &'static str,
    product_units: &'static str,
    product_barcodes: &'static str,
    stock_movements: &'static str,
    customers: &'static str,
    users: &'static str,
    sales: &'static str,
    sale_lines: &'static str,
    payments: &'static str,
}

impl PgStore {
    pub(crate) const IMPORT_SQL: ImportSql = ImportSql {
        // A batch's commit need not wait for its WAL to reach the disk: a server crash can lose
        // the last batches of a run, which running the import again writes (it is idempotent,
        // and --verify shows what is missing). One fsync fewer per batch.
        prepare: Some("SET LOCAL synchronous_commit = off"),
        categories: "INSERT INTO categories (store_id, id, name, name_key, parent_id, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.parent_id, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, parent_id uuid, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING",
        brands: "INSERT INTO brands (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING",
        units: "INSERT INTO units (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, r.id, r.name, r.name_key, r.legacy_id, r.created_at, r.updated_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz) ON CONFLICT DO NOTHING",
        products: "INSERT INTO products (store_id, id, name, name_key, sku, price, cost, tax_rate, category_id, brand_id, \
             unit_id, stock_milli, status, show_in_quick_products, barcode, alternate_barcodes, units, legacy_id, \
             created_at, updated_at, deleted_at) \
             SELECT $1, r.id, r.name, r.name_key, r.sku, r.price, r.cost, r.tax_rate, r.category_id, r.brand_id, \
             r.unit_id, r.stock_milli, r.status, r.show_in_quick_products, r.barcode, r.alternate_barcodes, r.units, \
             r.legacy_id, r.created_at, r.updated_at, r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, sku text, price bigint, cost bigint, \
             tax_rate integer, category_id uuid, brand_id uuid, unit_id uuid, stock_milli bigint, status text, \
             show_in_quick_products boolean, barcode text, alternate_barcodes text, units text, legacy_id text, \
             created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) ON CONFLICT DO NOTHING",
        product_units: "INSERT INTO product_units (store_id, id, product_id, unit_id, factor, price, position) \
             SELECT $1, r.id, r.product_id, r.unit_id, r.factor, r.price, r.position \
             FROM json_to_recordset($2::json) AS r(id uuid, product_id uuid, unit_id uuid, factor bigint, price bigint, \
             position integer) ON CONFLICT DO NOTHING",
        product_barcodes: "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, product_unit_id, position) \
             SELECT $1, r.barcode, r.product_id, r.kind, r.product_unit_id, r.position \
             FROM json_to_recordset($2::json) AS r(barcode text, product_id uuid, kind text, product_unit_id uuid, \
             position integer) ON CONFLICT DO NOTHING",
        stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
             SELECT $1, r.id, r.product_id, r.delta_milli, 'import', r.note, r.created_at \
             FROM json_to_recordset($2::json) AS r(id uuid, product_id uuid, delta_milli bigint, note text, \
             created_at timestamptz) ON CONFLICT DO NOTHING",
        customers: "INSERT INTO customers (store_id, id, name, name_key, phone, email, note, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, r.id, r.name, r.name_key, r.phone, r.email, r.note, r.legacy_id, r.created_at, r.updated_at, \
             r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, name text, name_key text, phone text, email text, note text, \
             legacy_id text, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) ON CONFLICT DO NOTHING",
        users: "INSERT INTO users (store_id, id, email, name, role, password_hash, active, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, r.id, r.email, r.name, r.role, r.password_hash, r.active, r.legacy_id, r.created_at, \
             r.updated_at, r.deleted_at \
             FROM json_to_recordset($2::json) AS r(id uuid, email text, name text, role text, password_hash text, \
             active boolean, legacy_id text, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz) \
             ON CONFLICT DO NOTHING",
        sales: "INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, customer_id, cashier_id, note, \
             subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, legacy_id) \
             SELECT $1, r.id, r.invoice_number, r.invoice_seq, r.status, r.customer_id, r.cashier_id, r.note, \
             r.subtotal, r.discount_total, r.tax_total, r.total, r.paid, r.change, false, r.sold_at, r.created_at, \
             r.voided_at, r.legacy_id \
             FROM json_to_recordset($2::json) AS r(id uuid, invoice_number text, invoice_seq bigint, status text, \
             customer_id uuid, cashier_id uuid, note text, subtotal bigint, discount_total bigint, tax_total bigint, \
             total bigint, paid bigint, change bigint, sold_at timestamptz, created_at timestamptz, \
             voided_at timestamptz, legacy_id text) ON CONFLICT DO NOTHING",
        sale_lines: "INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor, \
             quantity_milli, price, discount, tax_rate, tax, total) \
             SELECT $1, r.id, r.sale_id, r.position, r.product_id, r.name, r.barcode, r.unit_id, r.factor, \
             r.quantity_milli, r.price, r.discount, r.tax_rate, r.tax, r.total \
             FROM json_to_recordset($2::json) AS r(id uuid, sale_id uuid, position integer, product_id uuid, name text, \
             barcode text, unit_id uuid, factor bigint, quantity_milli bigint, price bigint, discount bigint, \
             tax_rate integer, tax bigint, total bigint) ON CONFLICT DO NOTHING",
        payments: "INSERT INTO payments (store_id, id, sale_id, method, amount, reference, legacy_id, created_at) \
             SELECT $1, r.id, r.sale_id, r.method, r.amount, r.reference, r.legacy_id, r.created_at \
             FROM json_to_recordset($2::json) AS r(id uuid, sale_id uuid, method text, amount bigint, reference text, \
             legacy_id text, created_at timestamptz) ON CONFLICT DO NOTHING",
    };
}

// SQLite: `json_each` yields one `value` per row; `WHERE true` tells the parser that the
// `ON CONFLICT` belongs to the INSERT, not to a join.
impl SqliteStore {
    pub(crate) const IMPORT_SQL: ImportSql = ImportSql {
        prepare: None,
        categories: "INSERT INTO categories (store_id, id, name, name_key, parent_id, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', unhex(value ->> 'parent_id'), \
             value ->> 'legacy_id', value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        brands: "INSERT INTO brands (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'legacy_id', \
             value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        units: "INSERT INTO units (store_id, id, name, name_key, legacy_id, created_at, updated_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'legacy_id', \
             value ->> 'created_at', value ->> 'updated_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        products: "INSERT INTO products (store_id, id, name, name_key, sku, price, cost, tax_rate, category_id, brand_id, \
             unit_id, stock_milli, status, show_in_quick_products, barcode, alternate_barcodes, units, legacy_id, \
             created_at, updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'sku', \
             value ->> 'price', value ->> 'cost', value ->> 'tax_rate', unhex(value ->> 'category_id'), \
             unhex(value ->> 'brand_id'), unhex(value ->> 'unit_id'), value ->> 'stock_milli', value ->> 'status', \
             value ->> 'show_in_quick_products', value ->> 'barcode', value ->> 'alternate_barcodes', \
             value ->> 'units', value ->> 'legacy_id', value ->> 'created_at', value ->> 'updated_at', \
             value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        product_units: "INSERT INTO product_units (store_id, id, product_id, unit_id, factor, price, position) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'product_id'), unhex(value ->> 'unit_id'), \
             value ->> 'factor', value ->> 'price', value ->> 'position' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        product_barcodes: "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, product_unit_id, position) \
             SELECT $1, value ->> 'barcode', unhex(value ->> 'product_id'), value ->> 'kind', \
             unhex(value ->> 'product_unit_id'), value ->> 'position' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        stock_movements: "INSERT INTO stock_movements (store_id, id, product_id, delta_milli, reason, note, created_at) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'product_id'), value ->> 'delta_milli', 'import', \
             value ->> 'note', value ->> 'created_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        customers: "INSERT INTO customers (store_id, id, name, name_key, phone, email, note, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'name', value ->> 'name_key', value ->> 'phone', \
             value ->> 'email', value ->> 'note', value ->> 'legacy_id', value ->> 'created_at', \
             value ->> 'updated_at', value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        users: "INSERT INTO users (store_id, id, email, name, role, password_hash, active, legacy_id, created_at, \
             updated_at, deleted_at) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'email', value ->> 'name', value ->> 'role', \
             value ->> 'password_hash', value ->> 'active', value ->> 'legacy_id', value ->> 'created_at', \
             value ->> 'updated_at', value ->> 'deleted_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        sales: "INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, customer_id, cashier_id, note, \
             subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, legacy_id) \
             SELECT $1, unhex(value ->> 'id'), value ->> 'invoice_number', value ->> 'invoice_seq', value ->> 'status', \
             unhex(value ->> 'customer_id'), unhex(value ->> 'cashier_id'), value ->> 'note', value ->> 'subtotal', \
             value ->> 'discount_total', value ->> 'tax_total', value ->> 'total', value ->> 'paid', \
             value ->> 'change', 0, value ->> 'sold_at', value ->> 'created_at', value ->> 'voided_at', \
             value ->> 'legacy_id' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        sale_lines: "INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, unit_id, factor, \
             quantity_milli, price, discount, tax_rate, tax, total) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'sale_id'), value ->> 'position', \
             unhex(value ->> 'product_id'), value ->> 'name', value ->> 'barcode', unhex(value ->> 'unit_id'), \
             value ->> 'factor', value ->> 'quantity_milli', value ->> 'price', value ->> 'discount', \
             value ->> 'tax_rate', value ->> 'tax', value ->> 'total' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
        payments: "INSERT INTO payments (store_id, id, sale_id, method, amount, reference, legacy_id, created_at) \
             SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'sale_id'), value ->> 'method', value ->> 'amount', \
             value ->> 'reference', value ->> 'legacy_id', value ->> 'created_at' \
             FROM json_each($2) WHERE true ON CONFLICT DO NOTHING",
    };
}

const INSERT_STORE: &str = "INSERT INTO stores (id, name, currency, currency_decimals, timezone, prices_include_tax, \
     invoice_prefix, scale_barcodes, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', 'active', $8, $8) ON CONFLICT DO NOTHING";
const INSERT_COUNTER: &str =
    "INSERT INTO invoice_counters (store_id, last_number) VALUES ($1, 0) ON CONFLICT DO NOTHING";
/// `GREATEST` is PostgreSQL's and `MAX(a, b)` SQLite's: a CASE is both.
const RAISE_COUNTER: &str = "UPDATE invoice_counters SET last_number = CASE WHEN last_number < $2 THEN $2 \
     ELSE last_number END WHERE store_id = $1 RETURNING last_number";

const EXISTING_BARCODES: &str = "SELECT barcode, product_id FROM product_barcodes WHERE store_id = $1";
const EXISTING_CATEGORIES: &str = "SELECT name_key, id FROM categories WHERE store_id = $1";
const EXISTING_BRANDS: &str = "SELECT name_key, id FROM brands WHERE store_id = $1";
const EXISTING_UNITS: &str = "SELECT name_key, id FROM units WHERE store_id = $1";
const EXISTING_PHONES: &str = "SELECT phone, id FROM customers WHERE store_id = $1 AND deleted_at IS NULL";
const EXISTING_EMAILS: &str = "SELECT email, id FROM users WHERE store_id = $1 AND deleted_at IS NULL";
const EXISTING_INVOICES: &str = "SELECT invoice_number, id FROM sales WHERE store_id = $1";

const COUNT_CATEGORIES: &str = "SELECT COUNT(*) FROM categories WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_BRANDS: &str = "SELECT COUNT(*) FROM brands WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_UNITS: &str = "SELECT COUNT(*) FROM units WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_PRODUCTS: &str = "SELECT COUNT(*) FROM products WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_CUSTOMERS: &str = "SELECT COUNT(*) FROM customers WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_USERS: &str = "SELECT COUNT(*) FROM users WHERE store_id = $1 AND legacy_id IS NOT NULL";
const SUM_SALES: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM sales \
     WHERE store_id = $1 AND legacy_id IS NOT NULL";
const COUNT_SALE_LINES: &str = "SELECT COUNT(*) FROM sale_lines l JOIN sales s ON s.store_id = l.store_id AND s.id = l.sale_id \
     WHERE l.store_id = $1 AND s.legacy_id IS NOT NULL";
const SUM_PAYMENTS: &str = "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments \
     WHERE store_id = $1 AND legacy_id IS NOT NULL";

const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE store_id = $1 AND role = 'admin' AND active AND deleted_at IS NULL";

/// Runs one of the batch's statements when it has rows; returns the rows inserted.
macro_rules! write_rows {
    ($tx:expr, $sql:expr, $store:expr, $rows:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            0
        } else {
            sqlx::query($sql).bind($store.as_str()).bind(json(&rows)?).execute(&mut *$tx).await?.rows_affected()
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

            async fn import_batch(&self, store: &StoreId, b: &ImportBatch) -> Result<ImportWritten> {
                let sql = &Self::IMPORT_SQL;
                let products = product_rows(&b.products)?;
                let customers: Vec<CustomerRow<'_>> = b
                    .customers
                    .iter()
                    .map(|c| CustomerRow {
                        id: c.id,
                        name: &c.name,
                        name_key: &c.name_key,
                        phone: &c.phone,
                        email: c.email.as_deref(),
                        note: c.note.as_deref(),
                        legacy_id: c.legacy_id.as_deref(),
                        created_at: c.created_at,
                        updated_at: c.updated_at,
                        deleted_at: c.deleted_at,
                    })
                    .collect();
                let users: Vec<UserRow<'_>> = b
                    .users
                    .iter()
                    .map(|u| UserRow {
                        id: u.id,
                        email: &u.email,
                        name: &u.name,
                        role: &u.role,
                        password_hash: &u.password_hash,
                        active: u.active,
                        legacy_id: u.legacy_id.as_deref(),
                        created_at: u.created_at,
                        updated_at: u.updated_at,
                        deleted_at: u.deleted_at,
                    })
                    .collect();
                let sales: Vec<SaleRow<'_>> = b
                    .sales
                    .iter()
                    .map(|s| SaleRow {
                        id: s.id,
                        invoice_number: &s.invoice_number,
                        invoice_seq: s.invoice_seq,
                        status: &s.status,
                        customer_id: s.customer_id,
                        cashier_id: s.cashier_id,
                        note: s.note.as_deref(),
                        subtotal: s.subtotal,
                        discount_total: s.discount_total,
                        tax_total: s.tax_total,
                        total: s.total,
                        paid: s.paid,
                        change: s.change,
                        sold_at: s.sold_at,
                        created_at: s.created_at,
                        voided_at: s.voided_at,
                        legacy_id: s.legacy_id.as_deref(),
                    })
                    .collect();
                let lines: Vec<LineRow<'_>> = b
                    .sales
                    .iter()
                    .flat_map(|s| {
                        s.lines.iter().enumerate().map(move |(i, l)| LineRow {
                            id: l.id,
                            sale_id: s.id,
                            position: i as i32,
                            product_id: l.product_id,
                            name: &l.name,
                            barcode: l.barcode.as_deref(),
                            unit_id: l.unit_id,
                            factor: l.factor,
                            quantity_milli: l.quantity_milli,
                            price: l.price,
                            discount: l.discount,
                            tax_rate: l.tax_rate,
                            tax: l.tax,
                            total: l.total,
                        })
                    })
                    .collect();
                let payments: Vec<PaymentRow<'_>> = b
                    .payments
                    .iter()
                    .map(|p| PaymentRow {
                        id: p.id,
                        sale_id: p.sale_id,
                        method: &p.method,
                        amount: p.amount,
                        reference: p.reference.as_deref(),
                        legacy_id: p.legacy_id.as_deref(),
                        created_at: p.created_at,
                    })
                    .collect();

                let mut tx = self.scoped(store, true).await?;
                if let Some(prepare) = sql.prepare {
                    sqlx::query(prepare).execute(&mut *tx).await?;
                }
                let written = ImportWritten {
                    categories: write_rows!(tx, sql.categories, store, named_rows(&b.categories)),
                    brands: write_rows!(tx, sql.brands, store, named_rows(&b.brands)),
                    units: write_rows!(tx, sql.units, store, named_rows(&b.units)),
                    products: write_rows!(tx, sql.products, store, products.products),
                    product_units: write_rows!(tx, sql.product_units, store, products.packs),
                    product_barcodes: write_rows!(tx, sql.product_barcodes, store, products.barcodes),
                    stock_movements: write_rows!(tx, sql.stock_movements, store, products.movements),
                    customers: write_rows!(tx, sql.customers, store, customers),
                    users: write_rows!(tx, sql.users, store, users),
                    sales: write_rows!(tx, sql.sales, store, sales),
                    sale_lines: write_rows!(tx, sql.sale_lines, store, lines),
                    payments: write_rows!(tx, sql.payments, store, payments),
                };
                tx.commit().await?;
                Ok(written)
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
