//! Parked carts: a cart put aside on one terminal and resumed on any terminal of the store.
//! A parked cart takes no stock and no invoice number; resuming it is exactly-once (a
//! conditional update), and it expires after the store's `parked_cart_hours`.

use async_trait::async_trait;
use tills_domain::{Id, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct ParkedCartRecord {
    pub id: Id,
    pub label: String,
    pub customer_id: Option<Id>,
    pub note: Option<String>,
    /// The lines as the terminal sent them (a JSON array of sale lines).
    pub lines: serde_json::Value,
    pub created_by: Option<Id>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub resumed_at: Option<Timestamp>,
    pub resumed_by: Option<Id>,
}

#[derive(Debug, Clone)]
pub struct NewParkedCart {
    pub id: Id,
    pub label: String,
    pub customer_id: Option<Id>,
    pub note: Option<String>,
    pub lines: serde_json::Value,
    pub created_by: Option<Id>,
    pub expires_at: Timestamp,
    pub audit: NewAudit,
}

/// What resuming a cart found.
#[derive(Debug, Clone, PartialEq)]
pub enum Resumed {
    /// This request took it.
    Taken(ParkedCartRecord),
    /// Someone resumed (or discarded) it first.
    AlreadyTaken,
    /// It expired before anyone resumed it.
    Expired,
}

#[async_trait]
pub trait CartRepo {
    async fn park_cart(&self, store: &StoreId, cart: NewParkedCart) -> Result<ParkedCartRecord>;
    /// The carts waiting to be resumed (not resumed, not expired at `now`), newest first.
    async fn waiting_carts(&self, store: &StoreId, now: Timestamp, limit: i64) -> Result<Vec<ParkedCartRecord>>;
    /// Takes the cart for `by` if nobody did yet and it has not expired; `NotFound` when no
    /// such cart exists in the store.
    async fn resume_cart(&self, store: &StoreId, id: Id, by: Option<Id>, now: Timestamp) -> Result<Resumed>;
}

#[derive(sqlx::FromRow)]
struct CartRow {
    id: Id,
    label: String,
    customer_id: Option<Id>,
    note: Option<String>,
    lines: String,
    created_by: Option<Id>,
    created_at: Timestamp,
    expires_at: Timestamp,
    resumed_at: Option<Timestamp>,
    resumed_by: Option<Id>,
}

impl TryFrom<CartRow> for ParkedCartRecord {
    type Error = StorageError;
    fn try_from(r: CartRow) -> Result<Self> {
        Ok(ParkedCartRecord {
            id: r.id,
            label: r.label,
            customer_id: r.customer_id,
            note: r.note,
            lines: serde_json::from_str(&r.lines).map_err(StorageError::corrupt)?,
            created_by: r.created_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            resumed_at: r.resumed_at,
            resumed_by: r.resumed_by,
        })
    }
}

const INSERT_CART: &str = "INSERT INTO parked_carts (store_id, id, label, customer_id, note, lines, created_by, \
     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SELECT_CART: &str = "SELECT id, label, customer_id, note, lines, created_by, created_at, expires_at, resumed_at, \
     resumed_by FROM parked_carts WHERE store_id = $1 AND id = $2";
const WAITING_CARTS: &str = "SELECT id, label, customer_id, note, lines, created_by, created_at, expires_at, \
     resumed_at, resumed_by FROM parked_carts WHERE store_id = $1 AND resumed_at IS NULL AND expires_at > $2 \
     ORDER BY created_at DESC, id DESC LIMIT $3";
const TAKE_CART: &str = "UPDATE parked_carts SET resumed_at = $3, resumed_by = $4 \
     WHERE store_id = $1 AND id = $2 AND resumed_at IS NULL AND expires_at > $3";

macro_rules! impl_cart_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl CartRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn park_cart(&self, store: &StoreId, c: NewParkedCart) -> Result<ParkedCartRecord> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(INSERT_CART)
                    .bind(store.as_str())
                    .bind(c.id)
                    .bind(&c.label)
                    .bind(c.customer_id)
                    .bind(c.note.as_deref())
                    .bind(c.lines.to_string())
                    .bind(c.created_by)
                    .bind(tills_domain::now())
                    .bind(c.expires_at)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, store, &c.audit)?;
                let row: CartRow =
                    sqlx::query_as(SELECT_CART).bind(store.as_str()).bind(c.id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn waiting_carts(
                &self,
                store: &StoreId,
                now: Timestamp,
                limit: i64,
            ) -> Result<Vec<ParkedCartRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<CartRow> = sqlx::query_as(WAITING_CARTS)
                    .bind(store.as_str())
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn resume_cart(&self, store: &StoreId, id: Id, by: Option<Id>, now: Timestamp) -> Result<Resumed> {
                let mut tx = self.scoped(store, true).await?;
                let took = sqlx::query(TAKE_CART)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(now)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let row: Option<CartRow> =
                    sqlx::query_as(SELECT_CART).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                let cart: ParkedCartRecord = row.ok_or(StorageError::NotFound)?.try_into()?;
                Ok(if took == 1 {
                    Resumed::Taken(cart)
                } else if cart.resumed_at.is_some() {
                    Resumed::AlreadyTaken
                } else {
                    Resumed::Expired
                })
            }
        }
    };
}

for_each_backend!(impl_cart_repo);
