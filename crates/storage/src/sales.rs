//! Sales, their lines and payments, voids and refunds: where money moves.
//!
//! A sale, its lines, its payments, its stock changes, its `clientRef` and the store's invoice
//! counter commit in one transaction, or none of them does. The counter row is locked by the
//! first write of the transaction (`UPDATE … RETURNING`), which orders the sales of one store:
//! numbers have no gaps and no repeats among committed sales. On PostgreSQL a new sale is one
//! call of `tills_sell` (migrations 4 and 8): one round trip; SQLite runs the same statements in
//! turn. A sale's stock movements are its lines (`products::LIST_MOVEMENTS` reads them as such):
//! no row of their own.

use async_trait::async_trait;
use chrono::SubsecRound;
use serde::Serialize;
use tills_domain::pricing::refund_amount;
use tills_domain::{Conflict, Id, PaymentMethod, SaleStatus, StockReason, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::{PgStore, SqliteStore, for_each_backend};
use crate::json_rows::{json, ser_id, ser_opt_id};
use crate::products::{StockChange, insert_movement};
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone)]
pub struct NewSaleLine {
    pub id: Id,
    pub product_id: Id,
    pub name: String,
    pub barcode: Option<String>,
    pub unit_id: Option<Id>,
    pub factor: i64,
    pub quantity_milli: i64,
    pub price: i64,
    /// The catalog's price when it differs from `price` (an override or an offline price).
    pub catalog_price: Option<i64>,
    pub discount: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: Id,
    pub method: PaymentMethod,
    pub amount: i64,
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSale {
    pub id: Id,
    /// With the hash of its normalized request.
    pub client_ref: Option<(String, String)>,
    pub customer_id: Option<Id>,
    pub cashier_id: Option<Id>,
    pub note: Option<String>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub paid: i64,
    pub change: i64,
    pub offline: bool,
    pub sold_at: Timestamp,
    /// An offline sale's shift, as the terminal recorded it. An online sale belongs to its
    /// cashier's open shift, found while it is written.
    pub shift_id: Option<Id>,
    /// The store requires an open shift: an online sale without one is `Conflict(ShiftRequired)`.
    pub require_shift: bool,
    pub lines: Vec<NewSaleLine>,
    pub payments: Vec<NewPayment>,
    pub audit: Vec<NewAudit>,
}

/// Serialized only as the JSON rows `create_sale` writes (ids as 32 hex digits).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct SaleLineRecord {
    #[serde(serialize_with = "ser_id")]
    pub id: Id,
    #[serde(serialize_with = "ser_id")]
    pub sale_id: Id,
    pub position: i32,
    #[serde(serialize_with = "ser_opt_id")]
    pub product_id: Option<Id>,
    pub name: String,
    pub barcode: Option<String>,
    #[serde(serialize_with = "ser_opt_id")]
    pub unit_id: Option<Id>,
    pub factor: i64,
    pub quantity_milli: i64,
    pub price: i64,
    pub catalog_price: Option<i64>,
    pub discount: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

/// Serialized only as the JSON rows `create_sale` writes (the statement reads id, method, amount
/// and reference).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct PaymentRecord {
    #[serde(serialize_with = "ser_id")]
    pub id: Id,
    #[serde(skip)]
    pub sale_id: Id,
    #[serde(skip)]
    pub refund_id: Option<Id>,
    #[sqlx(try_from = "String")]
    pub method: PaymentMethod,
    pub amount: i64,
    pub reference: Option<String>,
    #[serde(skip)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefundLineRecord {
    pub id: Id,
    pub refund_id: Id,
    pub sale_line_id: Id,
    pub quantity_milli: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecord {
    pub id: Id,
    pub sale_id: Id,
    pub client_ref: Option<String>,
    pub restock: bool,
    pub total: i64,
    pub created_by: Option<Id>,
    pub created_at: Timestamp,
    pub lines: Vec<RefundLineRecord>,
    pub payments: Vec<PaymentRecord>,
}

/// A sale's header.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SaleHeader {
    pub id: Id,
    pub invoice_number: String,
    #[sqlx(try_from = "String")]
    pub status: SaleStatus,
    pub client_ref: Option<String>,
    pub customer_id: Option<Id>,
    pub cashier_id: Option<Id>,
    pub note: Option<String>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub paid: i64,
    pub change: i64,
    pub offline: bool,
    pub sold_at: Timestamp,
    pub created_at: Timestamp,
    pub voided_at: Option<Timestamp>,
    /// The shift it was sold in.
    pub shift_id: Option<Id>,
}

/// A sale with everything on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleRecord {
    pub header: SaleHeader,
    pub lines: Vec<SaleLineRecord>,
    /// What was taken for the sale (refund payouts are under `refunds`).
    pub payments: Vec<PaymentRecord>,
    pub refunds: Vec<RefundRecord>,
}

/// What `POST /sales` (or a refund) with a `clientRef` found.
#[derive(Debug, Clone)]
pub enum Idempotent<T> {
    Created(T),
    /// The clientRef was taken before; `same_request` says whether by the same content.
    Replayed {
        existing: T,
        same_request: bool,
    },
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub id: Id,
    pub client_ref: Option<(String, String)>,
    pub restock: bool,
    /// (sale line id, quantity in thousandths), in request order.
    pub lines: Vec<(Id, i64)>,
    pub payments: Vec<NewPayment>,
    pub created_by: Option<Id>,
    pub audit: NewAudit,
}

#[derive(Debug, Clone, Default)]
pub struct SaleFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub status: Option<SaleStatus>,
    pub customer_id: Option<Id>,
    /// Keyset for newest-first order: (sold_at, id).
    pub before: Option<(Timestamp, Id)>,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub sale_id: Option<Id>,
    pub method: Option<PaymentMethod>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub before: Option<(Timestamp, Id)>,
    pub limit: i64,
}

/// One row of the CSV export: a sale line with its sale.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ExportRow {
    pub sale_id: Id,
    pub invoice_number: String,
    #[sqlx(try_from = "String")]
    pub status: SaleStatus,
    pub sold_at: Timestamp,
    pub offline: bool,
    pub position: i32,
    pub product_id: Option<Id>,
    pub name: String,
    pub barcode: Option<String>,
    pub factor: i64,
    pub quantity_milli: i64,
    pub price: i64,
    pub discount: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

/// A store's activity within `[from, to)`, for the daily report.
#[derive(Debug, Clone, Default)]
pub struct DayActivity {
    pub sales: Vec<DaySale>,
    /// (method, amount) taken for the day's sales that are not voided.
    pub payments: Vec<(PaymentMethod, i64)>,
    /// (refund total, its payouts) of refunds made within the day.
    pub refunds: Vec<(i64, Vec<(PaymentMethod, i64)>)>,
    /// Lines of the day's offline sales sold at another price than the catalog's.
    pub offline_price_differences: i64,
    /// Every refund of the sale lines that the day's refunds touched, earlier ones included, in
    /// the order they were made: what a refund gives back in tax depends on the refunds before it.
    pub refunded_lines: Vec<RefundedLine>,
}

/// One refund of one sale line, with the line's sold quantity and tax.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefundedLine {
    pub sale_line_id: Id,
    /// 1 when this refund was made within the day, 0 for an earlier one.
    pub in_day: i32,
    pub quantity_milli: i64,
    pub sold_milli: i64,
    pub line_tax: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DaySale {
    pub invoice_number: String,
    pub invoice_seq: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: SaleStatus,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub change: i64,
}

/// A payment method read from the database.
fn method(text: String) -> Result<PaymentMethod> {
    text.parse().map_err(|e: tills_domain::InvalidValue| StorageError::Corrupt(format!("payments.method: {e}")))
}

#[async_trait]
pub trait SaleRepo {
    /// Who holds a clientRef: (kind, request hash, sale or refund id).
    async fn find_client_ref(&self, store: &StoreId, client_ref: &str) -> Result<Option<(String, String, Id)>>;
    async fn create_sale(&self, store: &StoreId, sale: NewSale) -> Result<Idempotent<SaleRecord>>;
    async fn get_sale(&self, store: &StoreId, id: Id) -> Result<Option<SaleRecord>>;
    async fn get_sale_by_invoice(&self, store: &StoreId, invoice: &str) -> Result<Option<SaleRecord>>;
    /// Newest first.
    async fn list_sales(&self, store: &StoreId, filter: &SaleFilter) -> Result<Vec<SaleHeader>>;
    /// `Conflict(AlreadyVoided)`, `Conflict(HasRefunds)`; stock comes back.
    async fn void_sale(&self, store: &StoreId, id: Id, by: Option<Id>, audit: NewAudit) -> Result<SaleRecord>;
    /// Checks the request against the sale and its earlier refunds, inside the transaction.
    async fn create_refund(
        &self,
        store: &StoreId,
        sale_id: Id,
        refund: RefundRequest,
    ) -> Result<Idempotent<(SaleRecord, RefundRecord)>>;
    async fn list_payments(&self, store: &StoreId, filter: &PaymentFilter) -> Result<Vec<PaymentRecord>>;
    /// Sale lines sold within `[from, to)`, after the keyset `(sold_at, sale id, position)`.
    async fn export_lines(
        &self,
        store: &StoreId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        after: Option<(Timestamp, Id, i32)>,
        limit: i64,
    ) -> Result<Vec<ExportRow>>;
    async fn day_activity(&self, store: &StoreId, from: Timestamp, to: Timestamp) -> Result<DayActivity>;
}

const CLAIM_CLIENT_REF: &str = "INSERT INTO idempotency_keys (store_id, client_ref, kind, request_hash, resource_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, client_ref) DO NOTHING RETURNING client_ref";
const SELECT_CLIENT_REF: &str =
    "SELECT kind, request_hash, resource_id FROM idempotency_keys WHERE store_id = $1 AND client_ref = $2";
/// The next number and the store's prefix, in one round trip.
const NEXT_INVOICE: &str = "UPDATE invoice_counters SET last_number = last_number + 1 WHERE store_id = $1 \
     RETURNING last_number, (SELECT invoice_prefix FROM stores WHERE id = $1)";
const INSERT_SALE: &str = "INSERT INTO sales (store_id, id, invoice_number, invoice_seq, status, client_ref, customer_id, cashier_id, \
     note, subtotal, discount_total, tax_total, total, paid, change, offline, sold_at, created_at, shift_id) \
     VALUES ($1, $2, $3, $4, 'completed', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
/// The cashier's open shift (SQLite: its one writer already orders a sale and a close).
const OPEN_SHIFT_ID_OF: &str = "SELECT id FROM shifts WHERE store_id = $1 AND cashier_id = $2 AND status = 'open'";

impl PgStore {
    const OPEN_SHIFT_HELD: &'static str =
        "SELECT id FROM shifts WHERE store_id = $1 AND cashier_id = $2 AND status = 'open' FOR SHARE";
}

impl SqliteStore {
    const OPEN_SHIFT_HELD: &'static str = OPEN_SHIFT_ID_OF;
}
const INSERT_PAYMENT: &str = "INSERT INTO payments (store_id, id, sale_id, refund_id, method, amount, reference, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const TAKE_STOCK: &str = "UPDATE products SET stock_milli = stock_milli + $3 WHERE store_id = $1 AND id = $2";
const SALE_COLUMNS_BY_ID: &str = "SELECT id, invoice_number, status, client_ref, customer_id, cashier_id, note, subtotal, \
     discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, shift_id FROM sales \
     WHERE store_id = $1 AND id = $2";
const SALE_BY_INVOICE: &str = "SELECT id FROM sales WHERE store_id = $1 AND invoice_number = $2";
const SALE_LINES: &str = "SELECT id, sale_id, position, product_id, name, barcode, unit_id, factor, quantity_milli, price, \
     catalog_price, discount, tax_rate, tax, total FROM sale_lines WHERE store_id = $1 AND sale_id = $2 ORDER BY position";
const SALE_PAYMENTS: &str = "SELECT id, sale_id, refund_id, method, amount, reference, created_at FROM payments \
     WHERE store_id = $1 AND sale_id = $2 ORDER BY created_at, id";
// The three above for a list of sales (`load_sales_as_sold`): each sale looked up by its key,
// whatever the statistics say of the store's size (PostgreSQL's plan for an average store read a
// big store's every sale to find a page of them: 320 ms a statement instead of 1 ms).
impl PgStore {
    // `OFFSET 0` keeps each lookup a lookup: the planner may not fold it into one join.
    const SALES_IN: &'static str = "SELECT s.* FROM unnest($2::uuid[]) AS i(sale) CROSS JOIN LATERAL (SELECT id, \
         invoice_number, status, client_ref, customer_id, cashier_id, note, subtotal, discount_total, tax_total, total, \
         paid, change, offline, sold_at, created_at, voided_at, shift_id FROM sales WHERE store_id = $1 AND id = i.sale \
         OFFSET 0) s";
    const SALE_LINES_IN: &'static str = "SELECT l.* FROM unnest($2::uuid[]) AS i(sale) CROSS JOIN LATERAL (SELECT id, \
         sale_id, position, product_id, name, barcode, unit_id, factor, quantity_milli, price, catalog_price, discount, \
         tax_rate, tax, total FROM sale_lines WHERE store_id = $1 AND sale_id = i.sale ORDER BY position OFFSET 0) l";
    const SALE_PAYMENTS_IN: &'static str = "SELECT p.* FROM unnest($2::uuid[]) AS i(sale) CROSS JOIN LATERAL (SELECT id, \
         sale_id, refund_id, method, amount, reference, created_at FROM payments WHERE store_id = $1 AND sale_id = i.sale \
         ORDER BY created_at, id OFFSET 0) p";

    /// The ids as `$2` of the statements above: an array.
    fn id_list(ids: &[Id]) -> Vec<Id> {
        ids.to_vec()
    }
}

impl SqliteStore {
    // SQLite walks the list and looks each sale up by its key.
    const SALES_IN: &'static str = "SELECT s.id, s.invoice_number, s.status, s.client_ref, s.customer_id, s.cashier_id, \
         s.note, s.subtotal, s.discount_total, s.tax_total, s.total, s.paid, s.change, s.offline, s.sold_at, s.created_at, \
         s.voided_at, s.shift_id FROM json_each($2) AS i JOIN sales s ON s.store_id = $1 AND s.id = unhex(i.value)";
    const SALE_LINES_IN: &'static str = "SELECT l.id, l.sale_id, l.position, l.product_id, l.name, l.barcode, l.unit_id, \
         l.factor, l.quantity_milli, l.price, l.catalog_price, l.discount, l.tax_rate, l.tax, l.total FROM json_each($2) AS i \
         JOIN sale_lines l ON l.store_id = $1 AND l.sale_id = unhex(i.value) ORDER BY l.sale_id, l.position";
    const SALE_PAYMENTS_IN: &'static str = "SELECT p.id, p.sale_id, p.refund_id, p.method, p.amount, p.reference, \
         p.created_at FROM json_each($2) AS i JOIN payments p ON p.store_id = $1 AND p.sale_id = unhex(i.value) \
         ORDER BY p.created_at, p.id";

    /// The ids as `$2` of the statements above: a JSON array of their hex digits.
    fn id_list(ids: &[Id]) -> String {
        serde_json::Value::from(ids.iter().map(|id| id.simple().to_string()).collect::<Vec<_>>()).to_string()
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: Id,
    sale_id: Id,
    client_ref: Option<String>,
    restock: bool,
    total: i64,
    created_by: Option<Id>,
    created_at: Timestamp,
}
const SALE_REFUNDS: &str = "SELECT id, sale_id, client_ref, restock, total, created_by, created_at FROM refunds \
     WHERE store_id = $1 AND sale_id = $2 ORDER BY created_at, id";
const SALE_REFUND_LINES: &str = "SELECT rl.id, rl.refund_id, rl.sale_line_id, rl.quantity_milli, rl.amount FROM refund_lines rl \
     JOIN refunds r ON r.store_id = rl.store_id AND r.id = rl.refund_id WHERE rl.store_id = $1 AND r.sale_id = $2 ORDER BY rl.id";
const LIST_SALES: &str = "SELECT id, invoice_number, status, client_ref, customer_id, cashier_id, note, subtotal, \
     discount_total, tax_total, total, paid, change, offline, sold_at, created_at, voided_at, shift_id FROM sales \
     WHERE store_id = $1 AND ($2 IS NULL OR sold_at >= $2) AND ($3 IS NULL OR sold_at < $3) AND ($4 IS NULL OR status = $4) \
     AND ($5 IS NULL OR customer_id = $5) AND ($6 IS NULL OR sold_at < $6 OR (sold_at = $6 AND id < $7)) \
     ORDER BY sold_at DESC, id DESC LIMIT $8";
const VOID_SALE: &str = "UPDATE sales SET status = 'voided', voided_at = $3, voided_by = $4, void_shift_id = $5 \
     WHERE store_id = $1 AND id = $2 AND status = 'completed'";
const INSERT_REFUND: &str = "INSERT INTO refunds (store_id, id, sale_id, client_ref, restock, total, created_by, created_at, \
     shift_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_REFUND_LINE: &str = "INSERT INTO refund_lines (store_id, id, refund_id, sale_line_id, quantity_milli, amount) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const SET_SALE_STATUS: &str = "UPDATE sales SET status = $3 WHERE store_id = $1 AND id = $2";
const LIST_PAYMENTS: &str = "SELECT id, sale_id, refund_id, method, amount, reference, created_at FROM payments \
     WHERE store_id = $1 AND ($2 IS NULL OR sale_id = $2) AND ($3 IS NULL OR method = $3) \
     AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
     AND ($6 IS NULL OR created_at < $6 OR (created_at = $6 AND id < $7)) ORDER BY created_at DESC, id DESC LIMIT $8";
const EXPORT_LINES: &str = "SELECT s.id AS sale_id, s.invoice_number, s.status, s.sold_at, s.offline, l.position, l.product_id, \
     l.name, l.barcode, l.factor, l.quantity_milli, l.price, l.discount, l.tax_rate, l.tax, l.total \
     FROM sales s JOIN sale_lines l ON l.store_id = s.store_id AND l.sale_id = s.id \
     WHERE s.store_id = $1 AND ($2 IS NULL OR s.sold_at >= $2) AND ($3 IS NULL OR s.sold_at < $3) \
     AND ($4 IS NULL OR s.sold_at > $4 OR (s.sold_at = $4 AND (s.id > $5 OR (s.id = $5 AND l.position > $6)))) \
     ORDER BY s.sold_at, s.id, l.position LIMIT $7";
const DAY_SALES: &str = "SELECT invoice_number, invoice_seq, status, subtotal, discount_total, tax_total, total, change FROM sales \
     WHERE store_id = $1 AND sold_at >= $2 AND sold_at < $3";
const DAY_PAYMENTS: &str = "SELECT p.method, p.amount FROM payments p JOIN sales s ON s.store_id = p.store_id AND s.id = p.sale_id \
     WHERE p.store_id = $1 AND s.sold_at >= $2 AND s.sold_at < $3 AND s.status <> 'voided' AND p.refund_id IS NULL";
const DAY_REFUNDS: &str = "SELECT id, sale_id, client_ref, restock, total, created_by, created_at FROM refunds \
     WHERE store_id = $1 AND created_at >= $2 AND created_at < $3";
const DAY_REFUND_PAYMENTS: &str = "SELECT p.refund_id, p.method, p.amount FROM payments p \
     JOIN refunds r ON r.store_id = p.store_id AND r.id = p.refund_id \
     WHERE p.store_id = $1 AND r.created_at >= $2 AND r.created_at < $3";
/// Returns without a receipt count as refunds: their totals and payouts, like a refund's.
const DAY_RETURNS: &str = "SELECT id, total FROM returns WHERE store_id = $1 AND created_at >= $2 AND created_at < $3";
const DAY_RETURN_PAYOUTS: &str = "SELECT p.return_id, p.method, p.amount FROM return_payouts p \
     JOIN returns r ON r.store_id = p.store_id AND r.id = p.return_id \
     WHERE p.store_id = $1 AND r.created_at >= $2 AND r.created_at < $3";
const DAY_REFUNDED_LINES: &str = "SELECT rl.sale_line_id, \
     CASE WHEN r.created_at >= $2 AND r.created_at < $3 THEN 1 ELSE 0 END AS in_day, rl.quantity_milli, \
     l.quantity_milli AS sold_milli, l.tax AS line_tax FROM refund_lines rl \
     JOIN refunds r ON r.store_id = rl.store_id AND r.id = rl.refund_id \
     JOIN sale_lines l ON l.store_id = rl.store_id AND l.id = rl.sale_line_id \
     WHERE rl.store_id = $1 AND rl.sale_line_id IN (SELECT dl.sale_line_id FROM refund_lines dl \
     JOIN refunds dr ON dr.store_id = dl.store_id AND dr.id = dl.refund_id \
     WHERE dl.store_id = $1 AND dr.created_at >= $2 AND dr.created_at < $3) \
     ORDER BY rl.sale_line_id, r.created_at, r.id";
const DAY_OFFLINE_DIFFS: &str = "SELECT COUNT(*) FROM sale_lines l JOIN sales s ON s.store_id = l.store_id AND s.id = l.sale_id \
     WHERE l.store_id = $1 AND s.sold_at >= $2 AND s.sold_at < $3 AND s.offline AND s.status <> 'voided' \
     AND l.catalog_price IS NOT NULL AND l.catalog_price <> l.price";

/// A new sale's rows, one JSON array per statement (unpacked by `json_to_recordset` on
/// PostgreSQL and `json_each` on SQLite, as the importer does).
struct SaleRows {
    lines: String,
    payments: String,
    /// One row per product: lines of one product are summed.
    stock: String,
    audit: String,
}

#[derive(Serialize)]
struct StockRow {
    #[serde(serialize_with = "ser_id")]
    product_id: Id,
    delta_milli: i64,
}

#[derive(Serialize)]
struct AuditRow<'a> {
    #[serde(serialize_with = "ser_id")]
    id: Id,
    #[serde(serialize_with = "ser_opt_id")]
    actor_id: Option<Id>,
    actor_email: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    detail: String,
}

impl SaleRows {
    /// From the sale as it will read: one source for the rows and for the answer.
    fn of(sale: &SaleRecord, audit: &[NewAudit]) -> Result<Self> {
        let mut stock: Vec<StockRow> = Vec::new();
        for l in &sale.lines {
            let Some(product_id) = l.product_id else { continue };
            let delta_milli = -(l.quantity_milli.saturating_mul(l.factor));
            match stock.iter_mut().find(|s| s.product_id == product_id) {
                Some(s) => s.delta_milli = s.delta_milli.saturating_add(delta_milli),
                None => stock.push(StockRow { product_id, delta_milli }),
            }
        }
        Ok(SaleRows {
            lines: json(&sale.lines)?,
            payments: json(&sale.payments)?,
            stock: json(&stock)?,
            audit: json(
                &audit
                    .iter()
                    .map(|a| AuditRow {
                        id: tills_domain::new_id(),
                        actor_id: a.actor_id,
                        actor_email: a.actor_email.as_deref(),
                        action: a.action,
                        target: a.target.as_deref(),
                        detail: a.detail.to_string(),
                    })
                    .collect::<Vec<_>>(),
            )?,
        })
    }
}

/// The sale as `create_sale` wrote it.
/// Its invoice number is filled in once the database has given it.
fn written_sale(sale: &NewSale, sold_at: Timestamp, now: Timestamp) -> SaleRecord {
    let lines = sale
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| SaleLineRecord {
            id: l.id,
            sale_id: sale.id,
            position: i as i32,
            product_id: Some(l.product_id),
            name: l.name.clone(),
            barcode: l.barcode.clone(),
            unit_id: l.unit_id,
            factor: l.factor,
            quantity_milli: l.quantity_milli,
            price: l.price,
            catalog_price: l.catalog_price,
            discount: l.discount,
            tax_rate: l.tax_rate,
            tax: l.tax,
            total: l.total,
        })
        .collect();
    let mut payments: Vec<PaymentRecord> = sale
        .payments
        .iter()
        .map(|p| PaymentRecord {
            id: p.id,
            sale_id: sale.id,
            refund_id: None,
            method: p.method,
            amount: p.amount,
            reference: p.reference.clone(),
            created_at: now,
        })
        .collect();
    // `load_sale`'s order: created_at, then id.
    payments.sort_by_key(|p| p.id);
    SaleRecord {
        header: SaleHeader {
            id: sale.id,
            invoice_number: String::new(),
            status: SaleStatus::Completed,
            client_ref: sale.client_ref.as_ref().map(|c| c.0.clone()),
            customer_id: sale.customer_id,
            cashier_id: sale.cashier_id,
            note: sale.note.clone(),
            subtotal: sale.subtotal,
            discount_total: sale.discount_total,
            tax_total: sale.tax_total,
            total: sale.total,
            paid: sale.paid,
            change: sale.change,
            offline: sale.offline,
            sold_at,
            created_at: now,
            voided_at: None,
            shift_id: sale.shift_id,
        },
        lines,
        payments,
        refunds: Vec::new(),
    }
}

/// What writing a sale came to.
enum Written {
    /// With its invoice number and the shift it joined.
    Created(String, Option<Id>),
    /// The clientRef is taken: (kind, request hash, resource id).
    Taken(String, String, Id),
}

/// What `tills_sell` answers: outcome, invoice number, a taken clientRef's kind, hash and
/// resource, and the shift the sale joined.
type SellAnswer = (String, Option<String>, Option<String>, Option<String>, Option<Id>, Option<Id>);

/// A sale refused inside `tills_sell` for want of an open shift (SQLSTATE TL002, migration 10).
fn shift_required(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("TL002") => {
            StorageError::Conflict(Conflict::ShiftRequired)
        }
        _ => e.into(),
    }
}

impl PgStore {
    /// The whole sale in one round trip: `tills_sell` (migration 8) runs the statements that
    /// SQLite runs one by one below, in the calling statement's transaction (on a direct
    /// connection: `direct.rs`).
    async fn write_sale(
        &self,
        store: &StoreId,
        sale: &NewSale,
        record: &SaleRecord,
        rows: &SaleRows,
        now: Timestamp,
    ) -> Result<Written> {
        // The journal's entry goes in the same statement (`tills_sell_journaled`, migration
        // `journal`), its content around the invoice number and shift only the database knows.
        let (journal_kind, journal_parts) = crate::journal::sale_content_parts(record)?;
        let mut conn = self.direct.get().await?;
        let result: std::result::Result<SellAnswer, sqlx::Error> = sqlx::query_as(
            "SELECT * FROM tills_sell_journaled($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17::json, $18::json, $19::json, $20::json, $21, $22, $23, $24)",
        )
        .bind(store.as_str())
        .bind(sale.id)
        .bind(sale.client_ref.as_ref().map(|c| c.0.as_str()))
        .bind(sale.client_ref.as_ref().map(|c| c.1.as_str()))
        .bind(sale.customer_id)
        .bind(sale.cashier_id)
        .bind(sale.note.as_deref())
        .bind(sale.subtotal)
        .bind(sale.discount_total)
        .bind(sale.tax_total)
        .bind(sale.total)
        .bind(sale.paid)
        .bind(sale.change)
        .bind(sale.offline)
        .bind(sale.sold_at.trunc_subsecs(6))
        .bind(now)
        .bind(&rows.lines)
        .bind(&rows.payments)
        .bind(&rows.stock)
        .bind(&rows.audit)
        .bind(sale.shift_id)
        .bind(sale.require_shift)
        .bind(journal_kind)
        .bind(&journal_parts[..])
        .fetch_one(&mut *conn)
        .await;
        conn.finish(&result);
        let (outcome, invoice, kind, hash, resource, shift) = result.map_err(shift_required)?;
        match (outcome.as_str(), invoice, kind, hash, resource) {
            ("created", Some(invoice), ..) => Ok(Written::Created(invoice, shift)),
            ("replayed", _, Some(kind), Some(hash), Some(id)) => Ok(Written::Taken(kind, hash, id)),
            ("no_store", ..) => Err(StorageError::NotFound),
            (other, ..) => Err(StorageError::Other(format!("tills_sell answered {other}"))),
        }
    }
}

impl SqliteStore {
    /// One write transaction on the writer connection; the statements of `tills_sell`, in order.
    async fn write_sale(
        &self,
        store: &StoreId,
        sale: &NewSale,
        record: &SaleRecord,
        rows: &SaleRows,
        now: Timestamp,
    ) -> Result<Written> {
        let mut tx = self.scoped(store, true).await?;
        if let Some(cr) = &sale.client_ref
            && let Some((kind, hash, existing)) = Self::claim(&mut tx, store, "sale", cr, sale.id).await?
        {
            tx.commit().await?;
            return Ok(Written::Taken(kind, hash, existing));
        }
        let mut shift = sale.shift_id;
        if !sale.offline {
            shift = sqlx::query_scalar(OPEN_SHIFT_ID_OF)
                .bind(store.as_str())
                .bind(sale.cashier_id)
                .fetch_optional(&mut *tx)
                .await?;
            if shift.is_none() && sale.require_shift {
                return Err(StorageError::Conflict(Conflict::ShiftRequired));
            }
        }
        let numbered: Option<(i64, String)> =
            sqlx::query_as(NEXT_INVOICE).bind(store.as_str()).fetch_optional(&mut *tx).await?;
        let (number, prefix) = numbered.ok_or(StorageError::NotFound)?;
        let invoice = invoice_number(&prefix, number);
        sqlx::query(INSERT_SALE)
            .bind(store.as_str())
            .bind(sale.id)
            .bind(&invoice)
            .bind(number)
            .bind(sale.client_ref.as_ref().map(|c| c.0.as_str()))
            .bind(sale.customer_id)
            .bind(sale.cashier_id)
            .bind(sale.note.as_deref())
            .bind(sale.subtotal)
            .bind(sale.discount_total)
            .bind(sale.tax_total)
            .bind(sale.total)
            .bind(sale.paid)
            .bind(sale.change)
            .bind(sale.offline)
            .bind(sale.sold_at.trunc_subsecs(6))
            .bind(now)
            .bind(shift)
            .execute(&mut *tx)
            .await?;
        // Lines, payments, stock and audit: one statement each, whatever the size of
        // the sale (the rows travel as one JSON array). SQLite has one writer at a time and needs
        // no row locks.
        let id = sale.id;
        sqlx::query(SQLITE_SALE_LINES)
            .bind(store.as_str())
            .bind(&rows.lines)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(SQLITE_SALE_PAYMENTS)
            .bind(store.as_str())
            .bind(&rows.payments)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(SQLITE_TAKE_STOCK).bind(store.as_str()).bind(&rows.stock).execute(&mut *tx).await?;
        if !sale.audit.is_empty() {
            sqlx::query(SQLITE_SALE_AUDIT).bind(store.as_str()).bind(&rows.audit).bind(now).execute(&mut *tx).await?;
        }
        let mut written = record.clone();
        written.header.invoice_number = invoice.clone();
        written.header.shift_id = shift;
        let content = crate::journal::sale_content(&written, false);
        let kind = crate::journal::sale_kind(&written, false);
        Self::append_journal(&mut tx, store, kind, Some(sale.id), &content, now).await?;
        tx.commit().await?;
        Ok(Written::Created(invoice, shift))
    }
}

// The rows of a sale on SQLite. Bound: `$1` the store, `$2` the JSON rows, then the sale id and the
// time as each needs them.
const SQLITE_SALE_LINES: &str = "INSERT INTO sale_lines (store_id, id, sale_id, position, product_id, name, barcode, \
     unit_id, factor, quantity_milli, price, catalog_price, discount, tax_rate, tax, total, moved_at) \
     SELECT $1, unhex(value ->> 'id'), $3, value ->> 'position', unhex(value ->> 'product_id'), value ->> 'name', \
     value ->> 'barcode', unhex(value ->> 'unit_id'), value ->> 'factor', value ->> 'quantity_milli', \
     value ->> 'price', value ->> 'catalog_price', value ->> 'discount', value ->> 'tax_rate', value ->> 'tax', \
     value ->> 'total', CASE WHEN value ->> 'product_id' IS NULL THEN NULL ELSE $4 END FROM json_each($2)";
const SQLITE_SALE_PAYMENTS: &str = "INSERT INTO payments (store_id, id, sale_id, refund_id, method, amount, reference, \
     created_at) SELECT $1, unhex(value ->> 'id'), $3, NULL, value ->> 'method', value ->> 'amount', \
     value ->> 'reference', $4 FROM json_each($2)";
// Each product by its key: as `UPDATE … FROM json_each`, SQLite read every product of the store
// and scanned the JSON for each (7 ms a sale with 2000 products). `$2` has one row per product.
const SQLITE_TAKE_STOCK: &str = "UPDATE products SET stock_milli = stock_milli + \
     (SELECT SUM(j.value ->> 'delta_milli') FROM json_each($2) AS j WHERE unhex(j.value ->> 'product_id') = products.id) \
     WHERE store_id = $1 AND id IN (SELECT unhex(value ->> 'product_id') FROM json_each($2))";
const SQLITE_SALE_AUDIT: &str = "INSERT INTO audit_log (store_id, id, actor_id, actor_email, action, target, detail, \
     created_at) SELECT $1, unhex(value ->> 'id'), unhex(value ->> 'actor_id'), value ->> 'actor_email', \
     value ->> 'action', value ->> 'target', value ->> 'detail', $3 FROM json_each($2)";

fn invoice_number(prefix: &str, n: i64) -> String {
    format!("{prefix}{n:06}")
}

macro_rules! impl_sale_repo {
    ($backend:ty, $db:ty) => {
        impl $backend {
            /// The user's open shift, held until the transaction ends so its close waits for
            /// this change (a void or a refund belongs to the shift it was made in).
            async fn held_open_shift(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                user: Option<Id>,
            ) -> Result<Option<Id>> {
                let Some(user) = user else { return Ok(None) };
                Ok(sqlx::query_scalar(Self::OPEN_SHIFT_HELD)
                    .bind(store.as_str())
                    .bind(user)
                    .fetch_optional(&mut **tx)
                    .await?)
            }

            pub(crate) async fn load_sale(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                id: Id,
            ) -> Result<Option<SaleRecord>> {
                let header: Option<SaleHeader> =
                    sqlx::query_as(SALE_COLUMNS_BY_ID).bind(store.as_str()).bind(id).fetch_optional(&mut **tx).await?;
                let Some(header) = header else { return Ok(None) };
                let lines: Vec<SaleLineRecord> =
                    sqlx::query_as(SALE_LINES).bind(store.as_str()).bind(id).fetch_all(&mut **tx).await?;
                let all_payments: Vec<PaymentRecord> =
                    sqlx::query_as(SALE_PAYMENTS).bind(store.as_str()).bind(id).fetch_all(&mut **tx).await?;
                let refund_rows: Vec<RefundRow> =
                    sqlx::query_as(SALE_REFUNDS).bind(store.as_str()).bind(id).fetch_all(&mut **tx).await?;
                let refund_lines: Vec<RefundLineRecord> =
                    sqlx::query_as(SALE_REFUND_LINES).bind(store.as_str()).bind(id).fetch_all(&mut **tx).await?;
                let (refund_payments, payments): (Vec<_>, Vec<_>) =
                    all_payments.into_iter().partition(|p| p.refund_id.is_some());
                let refunds = refund_rows
                    .into_iter()
                    .map(|r| RefundRecord {
                        lines: refund_lines.iter().filter(|l| l.refund_id == r.id).cloned().collect(),
                        payments: refund_payments.iter().filter(|p| p.refund_id == Some(r.id)).cloned().collect(),
                        id: r.id,
                        sale_id: r.sale_id,
                        client_ref: r.client_ref,
                        restock: r.restock,
                        total: r.total,
                        created_by: r.created_by,
                        created_at: r.created_at,
                    })
                    .collect();
                Ok(Some(SaleRecord { header, lines, payments, refunds }))
            }

            /// Sales as they were sold — header, lines and payments, without their refunds (what
            /// a sale's journal entry records) — three statements for any number of ids, each
            /// sale looked up by its key.
            pub(crate) async fn load_sales_as_sold(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                ids: &[Id],
            ) -> Result<std::collections::HashMap<Id, SaleRecord>> {
                if ids.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let list = Self::id_list(ids);
                let headers: Vec<SaleHeader> =
                    sqlx::query_as(Self::SALES_IN).bind(store.as_str()).bind(&list).fetch_all(&mut **tx).await?;
                let lines: Vec<SaleLineRecord> =
                    sqlx::query_as(Self::SALE_LINES_IN).bind(store.as_str()).bind(&list).fetch_all(&mut **tx).await?;
                let payments: Vec<PaymentRecord> = sqlx::query_as(Self::SALE_PAYMENTS_IN)
                    .bind(store.as_str())
                    .bind(&list)
                    .fetch_all(&mut **tx)
                    .await?;
                let mut out: std::collections::HashMap<Id, SaleRecord> = headers
                    .into_iter()
                    .map(|header| {
                        (header.id, SaleRecord { header, lines: Vec::new(), payments: Vec::new(), refunds: Vec::new() })
                    })
                    .collect();
                for l in lines {
                    if let Some(s) = out.get_mut(&l.sale_id) {
                        s.lines.push(l);
                    }
                }
                for p in payments.into_iter().filter(|p| p.refund_id.is_none()) {
                    if let Some(s) = out.get_mut(&p.sale_id) {
                        s.payments.push(p);
                    }
                }
                Ok(out)
            }

            /// Claims `client_ref` for `resource`, or says who holds it.
            async fn claim(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                kind: &str,
                client_ref: &(String, String),
                resource: Id,
            ) -> Result<Option<(String, String, Id)>> {
                let claimed: Option<String> = sqlx::query_scalar(CLAIM_CLIENT_REF)
                    .bind(store.as_str())
                    .bind(&client_ref.0)
                    .bind(kind)
                    .bind(&client_ref.1)
                    .bind(resource)
                    .bind(tills_domain::now())
                    .fetch_optional(&mut **tx)
                    .await?;
                if claimed.is_some() {
                    return Ok(None);
                }
                let holder: (String, String, Id) = sqlx::query_as(SELECT_CLIENT_REF)
                    .bind(store.as_str())
                    .bind(&client_ref.0)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok(Some(holder))
            }
        }

        #[async_trait]
        impl SaleRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn find_client_ref(&self, store: &StoreId, client_ref: &str) -> Result<Option<(String, String, Id)>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<(String, String, Id)> = sqlx::query_as(SELECT_CLIENT_REF)
                    .bind(store.as_str())
                    .bind(client_ref)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(row)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_sale(&self, store: &StoreId, sale: NewSale) -> Result<Idempotent<SaleRecord>> {
                let now = tills_domain::now();
                // The answer is what the transaction writes, as `get_sale` would read it back:
                // built before, numbered after, never read again.
                let mut record = written_sale(&sale, sale.sold_at.trunc_subsecs(6), now);
                let rows = SaleRows::of(&record, &sale.audit)?;
                match self.write_sale(store, &sale, &record, &rows, now).await? {
                    Written::Created(invoice, shift) => {
                        record.header.invoice_number = invoice;
                        record.header.shift_id = shift;
                        Ok(Idempotent::Created(record))
                    }
                    Written::Taken(kind, hash, existing) => {
                        let found = if kind == "sale" { self.get_sale(store, existing).await? } else { None };
                        let same_request = sale.client_ref.is_some_and(|c| c.1 == hash);
                        match found {
                            Some(existing) => Ok(Idempotent::Replayed { existing, same_request }),
                            None => Err(StorageError::Conflict(Conflict::ClientRefOfRefund)),
                        }
                    }
                }
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_sale(&self, store: &StoreId, id: Id) -> Result<Option<SaleRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let sale = Self::load_sale(&mut tx, store, id).await?;
                tx.commit().await?;
                Ok(sale)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_sale_by_invoice(&self, store: &StoreId, invoice: &str) -> Result<Option<SaleRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let id: Option<Id> = sqlx::query_scalar(SALE_BY_INVOICE)
                    .bind(store.as_str())
                    .bind(invoice)
                    .fetch_optional(&mut *tx)
                    .await?;
                let sale = match id {
                    Some(id) => Self::load_sale(&mut tx, store, id).await?,
                    None => None,
                };
                tx.commit().await?;
                Ok(sale)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_sales(&self, store: &StoreId, f: &SaleFilter) -> Result<Vec<SaleHeader>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<SaleHeader> = sqlx::query_as(LIST_SALES)
                    .bind(store.as_str())
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.status.map(SaleStatus::as_str))
                    .bind(f.customer_id)
                    .bind(f.before.map(|b| b.0))
                    .bind(f.before.map(|b| b.1))
                    .bind(f.limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn void_sale(&self, store: &StoreId, id: Id, by: Option<Id>, audit: NewAudit) -> Result<SaleRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                let shift = Self::held_open_shift(&mut tx, store, by).await?;
                let done = sqlx::query(VOID_SALE)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(now)
                    .bind(by)
                    .bind(shift)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    let sale = Self::load_sale(&mut tx, store, id).await?;
                    return Err(match sale {
                        None => StorageError::NotFound,
                        Some(s) if s.header.status == SaleStatus::Voided => {
                            StorageError::Conflict(Conflict::AlreadyVoided)
                        }
                        Some(_) => StorageError::Conflict(Conflict::HasRefunds),
                    });
                }
                let sale = Self::load_sale(&mut tx, store, id).await?.ok_or(StorageError::NotFound)?;
                let mut moves: Vec<(Id, i64)> = sale
                    .lines
                    .iter()
                    .filter_map(|l| l.product_id.map(|p| (p, l.quantity_milli.saturating_mul(l.factor))))
                    .collect();
                moves.sort_by_key(|m| m.0);
                for (product, delta) in moves {
                    sqlx::query(TAKE_STOCK).bind(store.as_str()).bind(product).bind(delta).execute(&mut *tx).await?;
                    let change = StockChange { sale_id: Some(id), ..StockChange::new(StockReason::Void, by) };
                    insert_movement!(tx, store, product, delta, &change, now)?;
                }
                insert_audit!(tx, store, &audit)?;
                let voided: crate::journal::VoidRow =
                    sqlx::query_as(crate::journal::VOID_ROW).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                let content = crate::journal::void_content(&voided);
                Self::append_journal(&mut tx, store, crate::journal::kind::VOID, Some(id), &content, now).await?;
                tx.commit().await?;
                Ok(sale)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_refund(
                &self,
                store: &StoreId,
                sale_id: Id,
                r: RefundRequest,
            ) -> Result<Idempotent<(SaleRecord, RefundRecord)>> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                // Orders the refunds of one sale (and a void racing them).
                sqlx::query(Self::LOCK_SALE_ROW).bind(store.as_str()).bind(sale_id).execute(&mut *tx).await?;
                if let Some(cr) = &r.client_ref
                    && let Some((kind, hash, existing)) = Self::claim(&mut tx, store, "refund", cr, r.id).await?
                {
                    let sale = Self::load_sale(&mut tx, store, sale_id).await?;
                    tx.commit().await?;
                    let refund = sale.as_ref().and_then(|s| s.refunds.iter().find(|x| x.id == existing).cloned());
                    return match (kind.as_str(), sale, refund) {
                        ("refund", Some(sale), Some(refund)) => {
                            Ok(Idempotent::Replayed { existing: (sale, refund), same_request: hash == cr.1 })
                        }
                        _ => Err(StorageError::Conflict(Conflict::ClientRefTaken)),
                    };
                }
                let sale = Self::load_sale(&mut tx, store, sale_id).await?.ok_or(StorageError::NotFound)?;
                if sale.header.status == SaleStatus::Voided {
                    return Err(StorageError::Conflict(Conflict::Voided));
                }
                let mut seen = std::collections::HashSet::new();
                let mut planned = Vec::with_capacity(r.lines.len());
                for (i, (line_id, qty)) in r.lines.iter().enumerate() {
                    let field = format!("lines[{i}].lineId");
                    let Some(line) = sale.lines.iter().find(|l| l.id == *line_id) else {
                        return Err(StorageError::Invalid { field, message: "no such line in this sale".into() });
                    };
                    if !seen.insert(*line_id) {
                        return Err(StorageError::Invalid { field, message: "a line appears once per refund".into() });
                    }
                    let earlier = sale.refunds.iter().flat_map(|x| &x.lines).filter(|x| x.sale_line_id == *line_id);
                    let (done_qty, done_amount) =
                        earlier.fold((0i64, 0i64), |acc, x| (acc.0 + x.quantity_milli, acc.1 + x.amount));
                    if *qty > line.quantity_milli - done_qty {
                        return Err(StorageError::Invalid {
                            field: format!("lines[{i}].quantity"),
                            message: "more than was sold, counting earlier refunds".into(),
                        });
                    }
                    let amount = refund_amount(line.total, line.quantity_milli, done_qty, done_amount, *qty);
                    planned.push((line.clone(), *qty, amount));
                }
                let total: i64 = planned.iter().map(|p| p.2).sum();
                let paid: i64 = r.payments.iter().map(|p| p.amount).sum();
                if paid != total {
                    return Err(StorageError::Invalid {
                        field: "payments".into(),
                        message: format!("the refund's payments must equal its total of {total}"),
                    });
                }
                let shift = Self::held_open_shift(&mut tx, store, r.created_by).await?;
                sqlx::query(INSERT_REFUND)
                    .bind(store.as_str())
                    .bind(r.id)
                    .bind(sale_id)
                    .bind(r.client_ref.as_ref().map(|c| c.0.as_str()))
                    .bind(r.restock)
                    .bind(total)
                    .bind(r.created_by)
                    .bind(now)
                    .bind(shift)
                    .execute(&mut *tx)
                    .await?;
                for (line, qty, amount) in &planned {
                    sqlx::query(INSERT_REFUND_LINE)
                        .bind(store.as_str())
                        .bind(tills_domain::new_id())
                        .bind(r.id)
                        .bind(line.id)
                        .bind(*qty)
                        .bind(*amount)
                        .execute(&mut *tx)
                        .await?;
                    if r.restock
                        && let Some(product) = line.product_id
                    {
                        let delta = qty.saturating_mul(line.factor);
                        sqlx::query(TAKE_STOCK)
                            .bind(store.as_str())
                            .bind(product)
                            .bind(delta)
                            .execute(&mut *tx)
                            .await?;
                        let change = StockChange {
                            sale_id: Some(sale_id),
                            refund_id: Some(r.id),
                            ..StockChange::new(StockReason::Refund, r.created_by)
                        };
                        insert_movement!(tx, store, product, delta, &change, now)?;
                    }
                }
                for p in &r.payments {
                    sqlx::query(INSERT_PAYMENT)
                        .bind(store.as_str())
                        .bind(p.id)
                        .bind(sale_id)
                        .bind(Some(r.id))
                        .bind(p.method.as_str())
                        .bind(p.amount)
                        .bind(p.reference.as_deref())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let fully = sale.lines.iter().all(|l| {
                    let earlier: i64 = sale
                        .refunds
                        .iter()
                        .flat_map(|x| &x.lines)
                        .filter(|x| x.sale_line_id == l.id)
                        .map(|x| x.quantity_milli)
                        .sum();
                    let now_qty: i64 = planned.iter().filter(|p| p.0.id == l.id).map(|p| p.1).sum();
                    earlier + now_qty >= l.quantity_milli
                });
                let status = if fully { SaleStatus::Refunded } else { SaleStatus::PartiallyRefunded };
                sqlx::query(SET_SALE_STATUS)
                    .bind(store.as_str())
                    .bind(sale_id)
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, store, &r.audit)?;
                let sale = Self::load_sale(&mut tx, store, sale_id).await?.ok_or(StorageError::NotFound)?;
                let refund = sale.refunds.iter().find(|x| x.id == r.id).cloned().ok_or(StorageError::NotFound)?;
                let content = crate::journal::refund_content(&refund, shift);
                Self::append_journal(&mut tx, store, crate::journal::kind::REFUND, Some(r.id), &content, now).await?;
                tx.commit().await?;
                Ok(Idempotent::Created((sale, refund)))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_payments(&self, store: &StoreId, f: &PaymentFilter) -> Result<Vec<PaymentRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<PaymentRecord> = sqlx::query_as(LIST_PAYMENTS)
                    .bind(store.as_str())
                    .bind(f.sale_id)
                    .bind(f.method.map(PaymentMethod::as_str))
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.before.map(|b| b.0))
                    .bind(f.before.map(|b| b.1))
                    .bind(f.limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn export_lines(
                &self,
                store: &StoreId,
                from: Option<Timestamp>,
                to: Option<Timestamp>,
                after: Option<(Timestamp, Id, i32)>,
                limit: i64,
            ) -> Result<Vec<ExportRow>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<ExportRow> = sqlx::query_as(EXPORT_LINES)
                    .bind(store.as_str())
                    .bind(from)
                    .bind(to)
                    .bind(after.map(|a| a.0))
                    .bind(after.map(|a| a.1))
                    .bind(after.map(|a| a.2))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn day_activity(&self, store: &StoreId, from: Timestamp, to: Timestamp) -> Result<DayActivity> {
                let mut tx = self.scoped(store, false).await?;
                let sales: Vec<DaySale> =
                    sqlx::query_as(DAY_SALES).bind(store.as_str()).bind(from).bind(to).fetch_all(&mut *tx).await?;
                let payments: Vec<(String, i64)> =
                    sqlx::query_as(DAY_PAYMENTS).bind(store.as_str()).bind(from).bind(to).fetch_all(&mut *tx).await?;
                let payments = payments.into_iter().map(|(m, a)| Ok((method(m)?, a))).collect::<Result<Vec<_>>>()?;
                let refund_rows: Vec<RefundRow> =
                    sqlx::query_as(DAY_REFUNDS).bind(store.as_str()).bind(from).bind(to).fetch_all(&mut *tx).await?;
                let refund_payments: Vec<(Id, String, i64)> = sqlx::query_as(DAY_REFUND_PAYMENTS)
                    .bind(store.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                let diffs: i64 = sqlx::query_scalar(DAY_OFFLINE_DIFFS)
                    .bind(store.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_one(&mut *tx)
                    .await?;
                let returns: Vec<(Id, i64)> =
                    sqlx::query_as(DAY_RETURNS).bind(store.as_str()).bind(from).bind(to).fetch_all(&mut *tx).await?;
                let return_payouts: Vec<(Id, String, i64)> = sqlx::query_as(DAY_RETURN_PAYOUTS)
                    .bind(store.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                let refunded_lines: Vec<RefundedLine> = sqlx::query_as(DAY_REFUNDED_LINES)
                    .bind(store.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let refunds = refund_rows
                    .into_iter()
                    .map(|r| (r.id, r.total))
                    .chain(returns)
                    .map(|(id, total)| {
                        let payouts = refund_payments.iter().chain(&return_payouts).filter(|p| p.0 == id);
                        Ok((total, payouts.map(|p| Ok((method(p.1.clone())?, p.2))).collect::<Result<_>>()?))
                    })
                    .collect::<Result<_>>()?;
                Ok(DayActivity { sales, payments, refunds, offline_price_differences: diffs, refunded_lines })
            }
        }
    };
}
for_each_backend!(impl_sale_repo);
