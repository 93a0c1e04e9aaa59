//! The tamper-evident journal: every money event of a store appends one entry in the
//! transaction of the event, chained by SHA-256 to the entry before it, and closures (a Z, or a
//! day) record the chain's head signed with the deployment's key (docs/journal.md has the byte
//! format).
//!
//! An entry's content is canonical JSON (keys sorted, no whitespace, integers only) built by the
//! functions below from the rows the event wrote; verification builds it again from the rows as
//! they are now ([`JournalRepo::journal_rebuild`]), so a changed row shows as a differing entry.
//! Appending: `tills_journal_append` (PostgreSQL, migration `journal`; a sale's through
//! `tills_sell_journaled`, one round trip) or [`SqliteStore::append_journal`] — the same hash.

use async_trait::async_trait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tills_domain::{Id, SaleStatus, StoreId};

use crate::backend::{PgStore, SqliteStore, for_each_backend};
use crate::returns::ReturnRecord;
use crate::sales::{RefundRecord, SaleRecord};
use crate::shifts::{CashMovementRecord, ShiftRecord};
use crate::{Result, StorageError, Timestamp};

/// The kinds of entry: one per money event.
pub mod kind {
    pub const SALE: &str = "sale";
    /// A sale made offline, accepted when the terminal came back.
    pub const SALE_OFFLINE: &str = "sale_offline";
    /// An online sale with at least one line at another price than the catalog's.
    pub const SALE_PRICE_OVERRIDE: &str = "sale_price_override";
    pub const VOID: &str = "void";
    pub const REFUND: &str = "refund";
    /// A return without a receipt.
    pub const RETURN: &str = "return";
    /// A pay-in, pay-out or no-sale.
    pub const CASH_MOVEMENT: &str = "cash_movement";
    pub const SHIFT_OPEN: &str = "shift_open";
    pub const SHIFT_CLOSE: &str = "shift_close";
    /// A sale of the legacy system, entered by the importer.
    pub const IMPORTED_SALE: &str = "imported_sale";
    /// A money row written before the journal existed, journaled afterwards by `tills journal
    /// adopt`: this prefix and the kind of entry its own event writes (`adopted_sale` for any
    /// sale; the content's `kind` says which). Its content is that kind's.
    pub const ADOPTED_PREFIX: &str = "adopted_";

    /// The kind of an adopted row's entry.
    pub fn adopted(kind: &str) -> String {
        format!("{ADOPTED_PREFIX}{kind}")
    }

    /// The kind whose content an entry of `kind` holds: itself, or an adopted row's own kind.
    pub fn content_kind(kind: &str) -> &str {
        kind.strip_prefix(ADOPTED_PREFIX).unwrap_or(kind)
    }

    /// Whether an entry of `kind` records a sale (as sold).
    pub fn is_sale(kind: &str) -> bool {
        matches!(content_kind(kind), SALE | SALE_OFFLINE | SALE_PRICE_OVERRIDE | IMPORTED_SALE)
    }

    /// Every kind an event writes, for docs and tests (and each of them adopted).
    pub const ALL: &[&str] = &[
        SALE,
        SALE_OFFLINE,
        SALE_PRICE_OVERRIDE,
        VOID,
        REFUND,
        RETURN,
        CASH_MOVEMENT,
        SHIFT_OPEN,
        SHIFT_CLOSE,
        IMPORTED_SALE,
    ];
}

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// H_n = SHA-256(H_{n-1} || seq as 8 bytes big-endian || content as UTF-8).
pub fn chain_hash(prev: &[u8], seq: i64, content: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(content.as_bytes());
    h.finalize().into()
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
/// serde_json (and Python's `json.dumps(..., ensure_ascii=False)`) do, integers only.
pub fn canonical(v: &Value) -> Result<String> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) -> Result<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if !(n.is_i64() || n.is_u64()) {
                return Err(StorageError::Other(format!("journal content holds a non-integer number {n}")));
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => out.push_str(&serde_json::to_string(s).map_err(StorageError::corrupt)?),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).map_err(StorageError::corrupt)?);
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn hex_id(id: &Id) -> Value {
    Value::String(id.simple().to_string())
}

fn opt_id(id: &Option<Id>) -> Value {
    id.as_ref().map(hex_id).unwrap_or(Value::Null)
}

fn micros(t: &Timestamp) -> Value {
    json!(t.timestamp_micros())
}

fn opt_micros(t: &Option<Timestamp>) -> Value {
    t.as_ref().map(micros).unwrap_or(Value::Null)
}

/// The kind of a sale's entry.
pub fn sale_kind(sale: &SaleRecord, imported: bool) -> &'static str {
    if imported {
        kind::IMPORTED_SALE
    } else if sale.header.offline {
        kind::SALE_OFFLINE
    } else if sale.lines.iter().any(|l| l.catalog_price.is_some()) {
        kind::SALE_PRICE_OVERRIDE
    } else {
        kind::SALE
    }
}

/// A sale as it was sold: not its later status (a void or a refund is an entry of its own). An
/// imported one is marked `"imported": true` and carries no payments.
pub fn sale_content(sale: &SaleRecord, imported: bool) -> Value {
    let h = &sale.header;
    let lines: Vec<Value> = sale
        .lines
        .iter()
        .map(|l| {
            json!({
                "position": l.position,
                "product": opt_id(&l.product_id),
                "name": l.name,
                "barcode": l.barcode,
                "unit": opt_id(&l.unit_id),
                "factor": l.factor,
                "quantity": l.quantity_milli,
                "price": l.price,
                "catalogPrice": l.catalog_price,
                "discount": l.discount,
                "taxRate": l.tax_rate,
                "tax": l.tax,
                "total": l.total,
            })
        })
        .collect();
    let mut payments: Vec<_> = sale.payments.iter().collect();
    payments.sort_by_key(|p| p.id);
    let payments: Vec<Value> = payments
        .into_iter()
        .map(
            |p| json!({"id": hex_id(&p.id), "method": p.method.as_str(), "amount": p.amount, "reference": p.reference}),
        )
        .collect();
    let mut v = json!({
        "kind": sale_kind(sale, imported),
        "ref": hex_id(&h.id),
        "invoice": h.invoice_number,
        "cashier": opt_id(&h.cashier_id),
        "customer": opt_id(&h.customer_id),
        "shift": opt_id(&h.shift_id),
        "offline": h.offline,
        "soldAt": micros(&h.sold_at),
        "subtotal": h.subtotal,
        "discountTotal": h.discount_total,
        "taxTotal": h.tax_total,
        "total": h.total,
        "paid": h.paid,
        "change": h.change,
        "lines": lines,
        "payments": payments,
    });
    // Imported history: the legacy payments are imported apart from their sale, later.
    if imported && let Value::Object(map) = &mut v {
        map.remove("payments");
        map.insert("imported".into(), Value::Bool(true));
    }
    v
}

/// The content of a sale's entry of `kind` (an imported sale's, an adopted one's included).
fn sale_entry_content(kind: &str, sale: &SaleRecord) -> Value {
    sale_content(sale, kind::content_kind(kind) == kind::IMPORTED_SALE)
}

/// A void, as the voided sale's row records it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VoidRow {
    pub id: Id,
    pub invoice_number: String,
    #[sqlx(try_from = "String")]
    pub status: SaleStatus,
    pub total: i64,
    pub voided_at: Option<Timestamp>,
    pub voided_by: Option<Id>,
    pub void_shift_id: Option<Id>,
}

pub fn void_content(v: &VoidRow) -> Value {
    json!({
        "kind": kind::VOID,
        "ref": hex_id(&v.id),
        "invoice": v.invoice_number,
        "voided": v.status == SaleStatus::Voided,
        "total": v.total,
        "voidedAt": opt_micros(&v.voided_at),
        "voidedBy": opt_id(&v.voided_by),
        "shift": opt_id(&v.void_shift_id),
    })
}

pub fn refund_content(r: &RefundRecord, shift: Option<Id>) -> Value {
    let mut lines: Vec<_> = r.lines.iter().collect();
    lines.sort_by_key(|l| (l.sale_line_id, l.id));
    let mut payments: Vec<_> = r.payments.iter().collect();
    payments.sort_by_key(|p| p.id);
    json!({
        "kind": kind::REFUND,
        "ref": hex_id(&r.id),
        "sale": hex_id(&r.sale_id),
        "restock": r.restock,
        "total": r.total,
        "by": opt_id(&r.created_by),
        "at": micros(&r.created_at),
        "shift": opt_id(&shift),
        "lines": lines.iter().map(|l| json!({"saleLine": hex_id(&l.sale_line_id), "quantity": l.quantity_milli, "amount": l.amount})).collect::<Vec<_>>(),
        "payments": payments.iter().map(|p| json!({"id": hex_id(&p.id), "method": p.method.as_str(), "amount": p.amount, "reference": p.reference})).collect::<Vec<_>>(),
    })
}

pub fn return_content(r: &ReturnRecord) -> Value {
    let mut payouts: Vec<_> = r.payouts.iter().collect();
    payouts
        .sort_by(|a, b| (a.method.as_str(), a.amount, &a.reference).cmp(&(b.method.as_str(), b.amount, &b.reference)));
    json!({
        "kind": kind::RETURN,
        "ref": hex_id(&r.id),
        "reason": r.reason,
        "restock": r.restock,
        "subtotal": r.subtotal,
        "taxTotal": r.tax_total,
        "total": r.total,
        "by": opt_id(&r.created_by),
        "approvedBy": opt_id(&r.approved_by),
        "at": micros(&r.created_at),
        "shift": opt_id(&r.shift_id),
        "lines": r.lines.iter().map(|l| json!({
            "position": l.position, "product": hex_id(&l.product_id), "name": l.name, "barcode": l.barcode,
            "quantity": l.quantity_milli, "price": l.price, "taxRate": l.tax_rate, "tax": l.tax, "total": l.total,
        })).collect::<Vec<_>>(),
        "payouts": payouts.iter().map(|p| json!({"method": p.method.as_str(), "amount": p.amount, "reference": p.reference})).collect::<Vec<_>>(),
    })
}

pub fn movement_content(m: &CashMovementRecord) -> Value {
    json!({
        "kind": kind::CASH_MOVEMENT,
        "ref": hex_id(&m.id),
        "shift": hex_id(&m.shift_id),
        "movement": m.kind.as_str(),
        "amount": m.amount,
        "reason": m.reason,
        "by": opt_id(&m.created_by),
        "approvedBy": opt_id(&m.approved_by),
        "at": micros(&m.created_at),
    })
}

pub fn shift_open_content(s: &ShiftRecord) -> Value {
    json!({
        "kind": kind::SHIFT_OPEN,
        "ref": hex_id(&s.id),
        "terminal": s.terminal,
        "cashier": hex_id(&s.cashier_id),
        "openingFloat": s.opening_float,
        "at": micros(&s.opened_at),
    })
}

pub fn shift_close_content(s: &ShiftRecord) -> Value {
    json!({
        "kind": kind::SHIFT_CLOSE,
        "ref": hex_id(&s.id),
        "closed": s.status == tills_domain::ShiftStatus::Closed,
        "zNumber": s.z_number,
        "by": opt_id(&s.closed_by),
        "at": opt_micros(&s.closed_at),
        "expectedCash": s.expected_cash,
        "countedCash": s.counted_cash,
        "difference": s.difference,
        "approvedBy": opt_id(&s.approved_by),
    })
}

/// One entry of the chain.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JournalEntry {
    pub seq: i64,
    pub kind: String,
    pub ref_id: Option<Id>,
    pub content: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub recorded_at: Timestamp,
}

/// A signed closure: the chain's head at a Z (`z`) or at a day's close (`day`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JournalClosure {
    pub seq: i64,
    pub kind: String,
    pub shift_id: Option<Id>,
    pub z_number: Option<i64>,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
    pub closed_at: Timestamp,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// What a closure's signature covers: canonical JSON of the store, the closure and the head,
/// as UTF-8 (docs/journal.md).
pub fn closure_message(store: &StoreId, c: &JournalClosure) -> String {
    let v = json!({
        "store": store.as_str(),
        "seq": c.seq,
        "kind": c.kind,
        "shift": opt_id(&c.shift_id),
        "zNumber": c.z_number,
        "headSeq": c.head_seq,
        "headHash": hex(&c.head_hash),
        "closedAt": micros(&c.closed_at),
        "keyId": c.key_id,
    });
    // Only strings, integers and null: canonical cannot fail.
    canonical(&v).unwrap_or_default()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs closures with the deployment's key (held by the server, never stored here).
pub trait JournalSigner: Send + Sync {
    /// Names the key (its public key's first bytes, in hex): a verifier picks the key by it.
    fn key_id(&self) -> String;
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// A money row that no entry describes (see [`JournalRepo::journal_unjournaled`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Unjournaled {
    /// The kind of entry it lacks: "sale" for any sale.
    pub kind: &'static str,
    pub id: Id,
    pub at: Timestamp,
}

/// Entries and closures recorded within `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct JournalRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

#[async_trait]
pub trait JournalRepo {
    /// Entries after `after_seq` recorded within the range, in sequence order.
    async fn journal_entries(
        &self,
        store: &StoreId,
        range: &JournalRange,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<JournalEntry>>;
    async fn journal_entry(&self, store: &StoreId, seq: i64) -> Result<Option<JournalEntry>>;
    async fn journal_closures(&self, store: &StoreId, range: &JournalRange) -> Result<Vec<JournalClosure>>;
    /// Each entry's content built again from the rows it describes as they are now: `None` when
    /// the row is gone (or the kind unknown).
    async fn journal_rebuild(&self, store: &StoreId, entries: &[JournalEntry]) -> Result<Vec<Option<String>>>;
    /// Money rows that no entry describes, oldest event first: the kind of entry missing ("sale"
    /// for any sale), the row's id, and when its event happened.
    async fn journal_unjournaled(&self, store: &StoreId) -> Result<Vec<Unjournaled>>;
    /// Journals up to `limit` of the store's unjournaled rows (rows written before the journal
    /// existed), oldest event first, each as an `adopted_…` entry holding the content its own
    /// event would have written; in one transaction that holds the chain's head, so the store's
    /// events wait for it (keep `limit` small) and two adoptions never journal a row twice.
    /// Answers how many it journaled: 0 when none is left.
    async fn journal_adopt(&self, store: &StoreId, limit: usize) -> Result<usize>;
    /// Seals the chain's head as it is now with a `day` closure.
    async fn journal_close_day(&self, store: &StoreId, signer: &dyn JournalSigner) -> Result<JournalClosure>;
}

pub(crate) const APPEND_SQL: &str = "SELECT seq, hash FROM tills_journal_append($1, $2, $3, $4, $5)";
const BUMP_HEAD: &str = "INSERT INTO journal_heads (store_id, seq, hash) VALUES ($1, 1, $2) \
     ON CONFLICT (store_id) DO UPDATE SET seq = journal_heads.seq + 1 RETURNING seq, hash";
const SET_HEAD_HASH: &str = "UPDATE journal_heads SET hash = $2 WHERE store_id = $1";
const INSERT_ENTRY: &str = "INSERT INTO journal_entries (store_id, seq, kind, ref_id, content, prev_hash, hash, \
     recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Holds the head (creating it at seq 0) and reads it.
const HOLD_HEAD: &str = "INSERT INTO journal_heads (store_id, seq, hash) VALUES ($1, 0, $2) \
     ON CONFLICT (store_id) DO UPDATE SET seq = journal_heads.seq RETURNING seq, hash";
const NEXT_CLOSURE: &str = "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal_closures WHERE store_id = $1";
const INSERT_CLOSURE: &str = "INSERT INTO journal_closures (store_id, seq, kind, shift_id, z_number, head_seq, \
     head_hash, closed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const LIST_ENTRIES: &str = "SELECT seq, kind, ref_id, content, prev_hash, hash, recorded_at FROM journal_entries \
     WHERE store_id = $1 AND seq > $2 AND ($3 IS NULL OR recorded_at >= $3) AND ($4 IS NULL OR recorded_at < $4) \
     ORDER BY seq LIMIT $5";
const ENTRY_AT: &str = "SELECT seq, kind, ref_id, content, prev_hash, hash, recorded_at FROM journal_entries \
     WHERE store_id = $1 AND seq = $2";
const LIST_CLOSURES: &str = "SELECT seq, kind, shift_id, z_number, head_seq, head_hash, closed_at, key_id, signature \
     FROM journal_closures WHERE store_id = $1 AND ($2 IS NULL OR closed_at >= $2) AND ($3 IS NULL OR closed_at < $3) \
     ORDER BY seq";
pub(crate) const VOID_ROW: &str = "SELECT id, invoice_number, status, total, voided_at, voided_by, void_shift_id FROM sales \
     WHERE store_id = $1 AND id = $2";
const REFUND_ROW: &str = "SELECT sale_id, shift_id FROM refunds WHERE store_id = $1 AND id = $2";
const MOVEMENT_ROW: &str = "SELECT id, shift_id, kind, amount, reason, created_by, approved_by, created_at \
     FROM cash_movements WHERE store_id = $1 AND id = $2";
const SHIFT_ROW: &str = "SELECT id FROM shifts WHERE store_id = $1 AND id = $2";
const RETURN_ROW_ID: &str = "SELECT id FROM returns WHERE store_id = $1 AND id = $2";
// Money rows that no entry describes, each with the moment of its event. An adopted row's entry
// (`adopted_…`) counts as the entry its own event would have written.
const UNJOURNALED_SALES: &str = "SELECT s.id, s.sold_at FROM sales s WHERE s.store_id = $1 AND NOT EXISTS \
     (SELECT 1 FROM journal_entries j WHERE j.store_id = s.store_id AND j.ref_id = s.id \
     AND j.kind NOT IN ('void', 'adopted_void'))";
/// A sale imported as voided has no void entry: its imported entry is its history.
const UNJOURNALED_VOIDS: &str = "SELECT s.id, COALESCE(s.voided_at, s.sold_at) FROM sales s WHERE s.store_id = $1 \
     AND s.status = 'voided' AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.store_id = s.store_id \
     AND j.ref_id = s.id AND j.kind IN ('void', 'imported_sale', 'adopted_void'))";
const UNJOURNALED_REFUNDS: &str = "SELECT r.id, r.created_at FROM refunds r WHERE r.store_id = $1 AND NOT EXISTS \
     (SELECT 1 FROM journal_entries j WHERE j.store_id = r.store_id AND j.ref_id = r.id)";
const UNJOURNALED_RETURNS: &str = "SELECT r.id, r.created_at FROM returns r WHERE r.store_id = $1 AND NOT EXISTS \
     (SELECT 1 FROM journal_entries j WHERE j.store_id = r.store_id AND j.ref_id = r.id)";
const UNJOURNALED_MOVEMENTS: &str = "SELECT m.id, m.created_at FROM cash_movements m WHERE m.store_id = $1 \
     AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.store_id = m.store_id AND j.ref_id = m.id)";
const UNJOURNALED_OPENS: &str = "SELECT s.id, s.opened_at FROM shifts s WHERE s.store_id = $1 AND NOT EXISTS \
     (SELECT 1 FROM journal_entries j WHERE j.store_id = s.store_id AND j.ref_id = s.id \
     AND j.kind IN ('shift_open', 'adopted_shift_open'))";
const UNJOURNALED_CLOSES: &str = "SELECT s.id, COALESCE(s.closed_at, s.opened_at) FROM shifts s WHERE s.store_id = $1 \
     AND s.status = 'closed' AND NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.store_id = s.store_id \
     AND j.ref_id = s.id AND j.kind IN ('shift_close', 'adopted_shift_close'))";
/// Sales read in one statement when entries are rebuilt (the ids are bound one by one).
const REBUILD_CHUNK: usize = 1000;
/// Each query above with the kind of entry its rows lack ("sale" for any sale).
const UNJOURNALED: [(&str, &str); 7] = [
    (kind::SALE, UNJOURNALED_SALES),
    (kind::VOID, UNJOURNALED_VOIDS),
    (kind::REFUND, UNJOURNALED_REFUNDS),
    (kind::RETURN, UNJOURNALED_RETURNS),
    (kind::CASH_MOVEMENT, UNJOURNALED_MOVEMENTS),
    (kind::SHIFT_OPEN, UNJOURNALED_OPENS),
    (kind::SHIFT_CLOSE, UNJOURNALED_CLOSES),
];

impl PgStore {
    /// Appends an entry in `tx` (the head stays locked until it ends).
    pub(crate) async fn append_journal(
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        store: &StoreId,
        kind: &str,
        ref_id: Option<Id>,
        content: &Value,
        now: Timestamp,
    ) -> Result<(i64, Vec<u8>)> {
        let content = canonical(content)?;
        Ok(sqlx::query_as(APPEND_SQL)
            .bind(store.as_str())
            .bind(kind)
            .bind(ref_id)
            .bind(content)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?)
    }
}

impl SqliteStore {
    /// Appends an entry in `tx` (a write transaction: SQLite's one writer orders appends).
    pub(crate) async fn append_journal(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        store: &StoreId,
        kind: &str,
        ref_id: Option<Id>,
        content: &Value,
        now: Timestamp,
    ) -> Result<(i64, Vec<u8>)> {
        let content = canonical(content)?;
        let (seq, prev): (i64, Vec<u8>) =
            sqlx::query_as(BUMP_HEAD).bind(store.as_str()).bind(&GENESIS[..]).fetch_one(&mut **tx).await?;
        let hash = chain_hash(&prev, seq, &content).to_vec();
        sqlx::query(INSERT_ENTRY)
            .bind(store.as_str())
            .bind(seq)
            .bind(kind)
            .bind(ref_id)
            .bind(&content)
            .bind(&prev)
            .bind(&hash)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query(SET_HEAD_HASH).bind(store.as_str()).bind(&hash).execute(&mut **tx).await?;
        Ok((seq, hash))
    }
}

/// A sale's content with its invoice number and shift left open, in three parts for
/// `tills_sell_journaled` (PostgreSQL), which writes them in between.
pub(crate) fn sale_content_parts(sale: &SaleRecord) -> Result<(String, [String; 3])> {
    let nonce = tills_domain::new_id().simple().to_string();
    let invoice_mark = format!("@@invoice-{nonce}@@");
    let shift_mark = format!("@@shift-{nonce}@@");
    let mut v = sale_content(sale, false);
    v["invoice"] = Value::String(invoice_mark.clone());
    v["shift"] = Value::String(shift_mark.clone());
    let text = canonical(&v)?;
    let bad = || StorageError::Other("journal content parts".into());
    let (a, rest) = text.split_once(&format!("\"{invoice_mark}\"")).ok_or_else(bad)?;
    let (b, c) = rest.split_once(&format!("\"{shift_mark}\"")).ok_or_else(bad)?;
    Ok((sale_kind(sale, false).to_owned(), [a.to_owned(), b.to_owned(), c.to_owned()]))
}

macro_rules! impl_journal_repo {
    ($backend:ty, $db:ty) => {
        impl $backend {
            /// Records a closure of the chain's head as it is in `tx`, signed.
            pub(crate) async fn write_closure(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                kind: &str,
                shift: Option<(Id, i64)>,
                signer: &dyn JournalSigner,
            ) -> Result<JournalClosure> {
                let (head_seq, head_hash): (i64, Vec<u8>) =
                    sqlx::query_as(HOLD_HEAD).bind(store.as_str()).bind(&GENESIS[..]).fetch_one(&mut **tx).await?;
                let seq: i64 = sqlx::query_scalar(NEXT_CLOSURE).bind(store.as_str()).fetch_one(&mut **tx).await?;
                let mut c = JournalClosure {
                    seq,
                    kind: kind.to_owned(),
                    shift_id: shift.map(|s| s.0),
                    z_number: shift.map(|s| s.1),
                    head_seq,
                    head_hash,
                    closed_at: tills_domain::now(),
                    key_id: signer.key_id(),
                    signature: Vec::new(),
                };
                c.signature = signer.sign(closure_message(store, &c).as_bytes());
                sqlx::query(INSERT_CLOSURE)
                    .bind(store.as_str())
                    .bind(c.seq)
                    .bind(&c.kind)
                    .bind(c.shift_id)
                    .bind(c.z_number)
                    .bind(c.head_seq)
                    .bind(&c.head_hash)
                    .bind(c.closed_at)
                    .bind(&c.key_id)
                    .bind(&c.signature)
                    .execute(&mut **tx)
                    .await?;
                Ok(c)
            }

            /// Money rows without their entry, oldest event first (ties in a fixed order).
            async fn unjournaled(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
            ) -> Result<Vec<Unjournaled>> {
                let mut out = Vec::new();
                for (kind, sql) in UNJOURNALED {
                    let rows: Vec<(Id, Timestamp)> =
                        sqlx::query_as(sql).bind(store.as_str()).fetch_all(&mut **tx).await?;
                    out.extend(rows.into_iter().map(|(id, at)| Unjournaled { kind, id, at }));
                }
                // A sale before its void, a shift's opening before its close, at the same instant.
                out.sort_by_key(|u| u.at);
                Ok(out)
            }

            /// The content an entry of `kind` (an adopted one included) has for the row `id` as
            /// it is now: `None` when the row is gone (or the kind unknown).
            async fn rebuild_one(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                kind: &str,
                id: Id,
            ) -> Result<Option<Value>> {
                let kind = kind::content_kind(kind);
                Ok(match kind {
                    _ if kind::is_sale(kind) => {
                        Self::load_sales_as_sold(tx, store, &[id]).await?.get(&id).map(|s| sale_entry_content(kind, s))
                    }
                    kind::VOID => {
                        let row: Option<VoidRow> =
                            sqlx::query_as(VOID_ROW).bind(store.as_str()).bind(id).fetch_optional(&mut **tx).await?;
                        row.map(|r| void_content(&r))
                    }
                    kind::REFUND => {
                        let row: Option<(Id, Option<Id>)> =
                            sqlx::query_as(REFUND_ROW).bind(store.as_str()).bind(id).fetch_optional(&mut **tx).await?;
                        match row {
                            Some((sale_id, shift)) => Self::load_sale(tx, store, sale_id)
                                .await?
                                .and_then(|s| s.refunds.into_iter().find(|r| r.id == id))
                                .map(|r| refund_content(&r, shift)),
                            None => None,
                        }
                    }
                    kind::RETURN => {
                        let found: Option<Id> = sqlx::query_scalar(RETURN_ROW_ID)
                            .bind(store.as_str())
                            .bind(id)
                            .fetch_optional(&mut **tx)
                            .await?;
                        match found {
                            Some(_) => Self::load_return_by_id(tx, store, id).await?.map(|r| return_content(&r)),
                            None => None,
                        }
                    }
                    kind::CASH_MOVEMENT => {
                        let row: Option<crate::shifts::MovementRow> = sqlx::query_as(MOVEMENT_ROW)
                            .bind(store.as_str())
                            .bind(id)
                            .fetch_optional(&mut **tx)
                            .await?;
                        row.map(|r| movement_content(&r.into()))
                    }
                    kind::SHIFT_OPEN | kind::SHIFT_CLOSE => {
                        let found: Option<Id> = sqlx::query_scalar(SHIFT_ROW)
                            .bind(store.as_str())
                            .bind(id)
                            .fetch_optional(&mut **tx)
                            .await?;
                        match found {
                            Some(_) => Self::load_shift(tx, store, id).await?.map(|s| {
                                if kind == kind::SHIFT_OPEN { shift_open_content(&s) } else { shift_close_content(&s) }
                            }),
                            None => None,
                        }
                    }
                    _ => None,
                })
            }
        }

        #[async_trait]
        impl JournalRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_entries(
                &self,
                store: &StoreId,
                range: &JournalRange,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<JournalEntry>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<JournalEntry> = sqlx::query_as(LIST_ENTRIES)
                    .bind(store.as_str())
                    .bind(after_seq)
                    .bind(range.from)
                    .bind(range.to)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_entry(&self, store: &StoreId, seq: i64) -> Result<Option<JournalEntry>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<JournalEntry> =
                    sqlx::query_as(ENTRY_AT).bind(store.as_str()).bind(seq).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(row)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_closures(&self, store: &StoreId, range: &JournalRange) -> Result<Vec<JournalClosure>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<JournalClosure> = sqlx::query_as(LIST_CLOSURES)
                    .bind(store.as_str())
                    .bind(range.from)
                    .bind(range.to)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_rebuild(&self, store: &StoreId, entries: &[JournalEntry]) -> Result<Vec<Option<String>>> {
                let mut tx = self.scoped(store, false).await?;
                // Most entries are sales: theirs are read together, a few statements a page
                // (one sale's read is five), the other kinds one by one.
                let sale_ids: Vec<Id> =
                    entries.iter().filter(|e| kind::is_sale(&e.kind)).filter_map(|e| e.ref_id).collect();
                let mut sales = std::collections::HashMap::with_capacity(sale_ids.len());
                for chunk in sale_ids.chunks(REBUILD_CHUNK) {
                    sales.extend(Self::load_sales_as_sold(&mut tx, store, chunk).await?);
                }
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    let Some(id) = e.ref_id else {
                        out.push(None);
                        continue;
                    };
                    let content = if kind::is_sale(&e.kind) {
                        sales.get(&id).map(|s| sale_entry_content(&e.kind, s))
                    } else {
                        Self::rebuild_one(&mut tx, store, &e.kind, id).await?
                    };
                    out.push(content.map(|v| canonical(&v)).transpose()?);
                }
                tx.commit().await?;
                Ok(out)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_unjournaled(&self, store: &StoreId) -> Result<Vec<Unjournaled>> {
                let mut tx = self.scoped(store, false).await?;
                let out = Self::unjournaled(&mut tx, store).await?;
                tx.commit().await?;
                Ok(out)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_adopt(&self, store: &StoreId, limit: usize) -> Result<usize> {
                let mut tx = self.scoped(store, true).await?;
                // The head first: the store's appends (and another adoption) wait from here on,
                // so the rows listed next are still unjournaled when their entries are written.
                sqlx::query(HOLD_HEAD).bind(store.as_str()).bind(&GENESIS[..]).execute(&mut *tx).await?;
                let mut rows = Self::unjournaled(&mut tx, store).await?;
                rows.truncate(limit);
                let now = tills_domain::now();
                for row in &rows {
                    let content = Self::rebuild_one(&mut tx, store, row.kind, row.id)
                        .await?
                        .ok_or_else(|| StorageError::Other(format!("the {} {} is gone", row.kind, row.id)))?;
                    Self::append_journal(&mut tx, store, &kind::adopted(row.kind), Some(row.id), &content, now).await?;
                }
                tx.commit().await?;
                Ok(rows.len())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn journal_close_day(&self, store: &StoreId, signer: &dyn JournalSigner) -> Result<JournalClosure> {
                let mut tx = self.scoped(store, true).await?;
                let closure = Self::write_closure(&mut tx, store, "day", None, signer).await?;
                tx.commit().await?;
                Ok(closure)
            }
        }
    };
}
for_each_backend!(impl_journal_repo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_takes_integers_only() {
        let v = json!({"b": 1, "a": {"z": null, "y": [true, "é\"\n"]}, "A": -5});
        assert_eq!(canonical(&v).unwrap(), r#"{"A":-5,"a":{"y":[true,"é\"\n"],"z":null},"b":1}"#);
        assert!(canonical(&json!({"x": 1.5})).is_err());
    }

    /// The vector of docs/journal.md, as PostgreSQL computes it:
    /// `sha256(decode(repeat('00', 32), 'hex') || int8send(1) || convert_to('{}', 'UTF8'))`.
    #[test]
    fn the_first_hash_matches_the_documented_vector() {
        assert_eq!(
            hex(&chain_hash(&GENESIS, 1, "{}")),
            "1bad765d926feacace97a8ddcd329a1f4254c208affc1ba86b3c7d59e8fba83e"
        );
    }
}
