//! Returns without a receipt: goods brought back with no sale to refund against. Written in one
//! transaction with their lines, payouts, stock (when restocked) and audit entry; a `clientRef`
//! makes a retry answer the same return. Counted under refunds in the daily and shift reports.

use async_trait::async_trait;
use tills_domain::{Id, PaymentMethod, StockReason, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::{PgStore, SqliteStore, for_each_backend};
use crate::products::{StockChange, insert_movement};
use crate::sales::{Idempotent, NewPayment};
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone)]
pub struct NewReturnLine {
    pub id: Id,
    pub product_id: Id,
    pub name: String,
    pub barcode: Option<String>,
    /// Base units (a pack's quantity times its factor).
    pub quantity_milli: i64,
    /// The price each of `quantity_milli` was taken back at.
    pub price: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct NewReturn {
    pub id: Id,
    /// With the hash of its request.
    pub client_ref: Option<(String, String)>,
    pub reason: String,
    pub restock: bool,
    pub subtotal: i64,
    pub tax_total: i64,
    pub total: i64,
    pub created_by: Option<Id>,
    pub approved_by: Option<Id>,
    pub lines: Vec<NewReturnLine>,
    pub payouts: Vec<NewPayment>,
    pub audit: NewAudit,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReturnLineRecord {
    pub id: Id,
    pub position: i32,
    pub product_id: Id,
    pub name: String,
    pub barcode: Option<String>,
    pub quantity_milli: i64,
    pub price: i64,
    pub tax_rate: i32,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReturnPayout {
    pub method: PaymentMethod,
    pub amount: i64,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRecord {
    pub id: Id,
    pub client_ref: Option<String>,
    pub shift_id: Option<Id>,
    pub reason: String,
    pub restock: bool,
    pub subtotal: i64,
    pub tax_total: i64,
    pub total: i64,
    pub created_by: Option<Id>,
    pub approved_by: Option<Id>,
    pub created_at: Timestamp,
    pub lines: Vec<ReturnLineRecord>,
    pub payouts: Vec<ReturnPayout>,
}

#[async_trait]
pub trait ReturnRepo {
    /// Writes the return, or finds the one its `clientRef` already names.
    async fn create_return(&self, store: &StoreId, r: NewReturn) -> Result<Idempotent<ReturnRecord>>;
    async fn get_return(&self, store: &StoreId, id: Id) -> Result<Option<ReturnRecord>>;
}

#[derive(sqlx::FromRow)]
struct ReturnRow {
    id: Id,
    client_ref: Option<String>,
    request_hash: Option<String>,
    shift_id: Option<Id>,
    reason: String,
    restock: bool,
    subtotal: i64,
    tax_total: i64,
    total: i64,
    created_by: Option<Id>,
    approved_by: Option<Id>,
    created_at: Timestamp,
}

const INSERT_RETURN: &str = "INSERT INTO returns (store_id, id, client_ref, request_hash, shift_id, reason, restock, \
     subtotal, tax_total, total, created_by, approved_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const INSERT_RETURN_LINE: &str = "INSERT INTO return_lines (store_id, id, return_id, position, product_id, name, \
     barcode, quantity_milli, price, tax_rate, tax, total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const INSERT_RETURN_PAYOUT: &str = "INSERT INTO return_payouts (store_id, id, return_id, method, amount, reference) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const RESTOCK: &str = "UPDATE products SET stock_milli = stock_milli + $3 WHERE store_id = $1 AND id = $2";
const SELECT_RETURN: &str = "SELECT id, client_ref, request_hash, shift_id, reason, restock, subtotal, tax_total, \
     total, created_by, approved_by, created_at FROM returns WHERE store_id = $1 AND id = $2";
const RETURN_BY_CLIENT_REF: &str = "SELECT id, client_ref, request_hash, shift_id, reason, restock, subtotal, \
     tax_total, total, created_by, approved_by, created_at FROM returns WHERE store_id = $1 AND client_ref = $2";
const RETURN_LINES: &str = "SELECT id, position, product_id, name, barcode, quantity_milli, price, tax_rate, tax, \
     total FROM return_lines WHERE store_id = $1 AND return_id = $2 ORDER BY position";
const RETURN_PAYOUTS: &str =
    "SELECT method, amount, reference FROM return_payouts WHERE store_id = $1 AND return_id = $2 ORDER BY id";
const OPEN_SHIFT_OF: &str = "SELECT id FROM shifts WHERE store_id = $1 AND cashier_id = $2 AND status = 'open'";

impl PgStore {
    /// The returner's open shift, held so its close waits for the return.
    const RETURN_SHIFT: &'static str =
        "SELECT id FROM shifts WHERE store_id = $1 AND cashier_id = $2 AND status = 'open' FOR SHARE";
}

impl SqliteStore {
    const RETURN_SHIFT: &'static str = OPEN_SHIFT_OF;
}

macro_rules! impl_return_repo {
    ($backend:ty, $db:ty) => {
        impl $backend {
            async fn load_return(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                row: ReturnRow,
            ) -> Result<(ReturnRecord, Option<String>)> {
                let lines: Vec<ReturnLineRecord> =
                    sqlx::query_as(RETURN_LINES).bind(store.as_str()).bind(row.id).fetch_all(&mut **tx).await?;
                let payouts: Vec<(String, i64, Option<String>)> =
                    sqlx::query_as(RETURN_PAYOUTS).bind(store.as_str()).bind(row.id).fetch_all(&mut **tx).await?;
                let payouts = payouts
                    .into_iter()
                    .map(|(m, amount, reference)| {
                        let method = m.parse().map_err(|e: tills_domain::InvalidValue| StorageError::corrupt(e))?;
                        Ok(ReturnPayout { method, amount, reference })
                    })
                    .collect::<Result<_>>()?;
                let record = ReturnRecord {
                    id: row.id,
                    client_ref: row.client_ref,
                    shift_id: row.shift_id,
                    reason: row.reason,
                    restock: row.restock,
                    subtotal: row.subtotal,
                    tax_total: row.tax_total,
                    total: row.total,
                    created_by: row.created_by,
                    approved_by: row.approved_by,
                    created_at: row.created_at,
                    lines,
                    payouts,
                };
                Ok((record, row.request_hash))
            }

            /// A return by its id, inside `tx`.
            pub(crate) async fn load_return_by_id(
                tx: &mut sqlx::Transaction<'static, $db>,
                store: &StoreId,
                id: Id,
            ) -> Result<Option<ReturnRecord>> {
                let row: Option<ReturnRow> =
                    sqlx::query_as(SELECT_RETURN).bind(store.as_str()).bind(id).fetch_optional(&mut **tx).await?;
                Ok(match row {
                    Some(row) => Some(Self::load_return(tx, store, row).await?.0),
                    None => None,
                })
            }

            /// The return its clientRef already names, if any.
            async fn replayed_return(
                &self,
                store: &StoreId,
                client_ref: &(String, String),
            ) -> Result<Option<Idempotent<ReturnRecord>>> {
                let mut tx = self.scoped(store, false).await?;
                let found: Option<ReturnRow> = sqlx::query_as(RETURN_BY_CLIENT_REF)
                    .bind(store.as_str())
                    .bind(&client_ref.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let replayed = match found {
                    Some(row) => {
                        let (existing, stored) = Self::load_return(&mut tx, store, row).await?;
                        Some(Idempotent::Replayed { existing, same_request: stored.as_deref() == Some(&client_ref.1) })
                    }
                    None => None,
                };
                tx.commit().await?;
                Ok(replayed)
            }
        }

        #[async_trait]
        impl ReturnRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_return(&self, store: &StoreId, r: NewReturn) -> Result<Idempotent<ReturnRecord>> {
                if let Some(client_ref) = &r.client_ref
                    && let Some(replayed) = self.replayed_return(store, client_ref).await?
                {
                    return Ok(replayed);
                }
                let client_ref = r.client_ref.clone();
                match self.write_return(store, r).await {
                    // Two returns with one clientRef at once: the unique index let the first in.
                    Err(StorageError::Unique(_)) if client_ref.is_some() => {
                        let client_ref = client_ref.as_ref().ok_or(StorageError::NotFound)?;
                        self.replayed_return(store, client_ref).await?.ok_or(StorageError::NotFound)
                    }
                    written => written.map(Idempotent::Created),
                }
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_return(&self, store: &StoreId, id: Id) -> Result<Option<ReturnRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<ReturnRow> =
                    sqlx::query_as(SELECT_RETURN).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                let found = match row {
                    Some(row) => Some(Self::load_return(&mut tx, store, row).await?.0),
                    None => None,
                };
                tx.commit().await?;
                Ok(found)
            }
        }

        impl $backend {
            async fn write_return(&self, store: &StoreId, r: NewReturn) -> Result<ReturnRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(store, true).await?;
                let shift: Option<Id> = match r.created_by {
                    Some(by) => {
                        sqlx::query_scalar(Self::RETURN_SHIFT)
                            .bind(store.as_str())
                            .bind(by)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                sqlx::query(INSERT_RETURN)
                    .bind(store.as_str())
                    .bind(r.id)
                    .bind(r.client_ref.as_ref().map(|c| c.0.as_str()))
                    .bind(r.client_ref.as_ref().map(|c| c.1.as_str()))
                    .bind(shift)
                    .bind(&r.reason)
                    .bind(r.restock)
                    .bind(r.subtotal)
                    .bind(r.tax_total)
                    .bind(r.total)
                    .bind(r.created_by)
                    .bind(r.approved_by)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                for (i, l) in r.lines.iter().enumerate() {
                    sqlx::query(INSERT_RETURN_LINE)
                        .bind(store.as_str())
                        .bind(l.id)
                        .bind(r.id)
                        .bind(i as i32)
                        .bind(l.product_id)
                        .bind(&l.name)
                        .bind(l.barcode.as_deref())
                        .bind(l.quantity_milli)
                        .bind(l.price)
                        .bind(l.tax_rate)
                        .bind(l.tax)
                        .bind(l.total)
                        .execute(&mut *tx)
                        .await?;
                }
                for p in &r.payouts {
                    sqlx::query(INSERT_RETURN_PAYOUT)
                        .bind(store.as_str())
                        .bind(p.id)
                        .bind(r.id)
                        .bind(p.method.as_str())
                        .bind(p.amount)
                        .bind(p.reference.as_deref())
                        .execute(&mut *tx)
                        .await?;
                }
                if r.restock {
                    let mut moves: Vec<(Id, i64)> = r.lines.iter().map(|l| (l.product_id, l.quantity_milli)).collect();
                    // Locked in product order, as a sale locks them.
                    moves.sort_by_key(|m| m.0);
                    for (product, delta) in moves {
                        sqlx::query(RESTOCK).bind(store.as_str()).bind(product).bind(delta).execute(&mut *tx).await?;
                        let change = StockChange {
                            note: Some(format!("return without receipt {}", r.id)),
                            ..StockChange::new(StockReason::Refund, r.created_by)
                        };
                        insert_movement!(tx, store, product, delta, &change, now)?;
                    }
                }
                let mut audit = r.audit;
                audit.detail["shiftId"] = serde_json::json!(shift);
                insert_audit!(tx, store, &audit)?;
                let row: ReturnRow =
                    sqlx::query_as(SELECT_RETURN).bind(store.as_str()).bind(r.id).fetch_one(&mut *tx).await?;
                let (record, _) = Self::load_return(&mut tx, store, row).await?;
                let content = crate::journal::return_content(&record);
                Self::append_journal(&mut tx, store, crate::journal::kind::RETURN, Some(r.id), &content, now).await?;
                tx.commit().await?;
                Ok(record)
            }
        }
    };
}

for_each_backend!(impl_return_repo);
