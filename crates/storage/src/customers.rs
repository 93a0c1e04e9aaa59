//! A store's customers: phone numbers unique per store.

use async_trait::async_trait;
use tills_domain::{Id, StoreId};

use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub id: Id,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct CustomerInput {
    pub name: String,
    pub name_key: String,
    pub phone: String,
    pub email: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Exact normalized phone.
    pub phone: Option<String>,
    /// Lower-cased: name contains it or phone starts with it.
    pub q: Option<String>,
    pub after: Option<(String, Id)>,
    pub limit: i64,
}

#[async_trait]
pub trait CustomerRepo {
    async fn create_customer(&self, store: &StoreId, id: Id, input: &CustomerInput) -> Result<CustomerRecord>;
    async fn get_customer(&self, store: &StoreId, id: Id) -> Result<Option<CustomerRecord>>;
    async fn update_customer(&self, store: &StoreId, id: Id, input: &CustomerInput) -> Result<CustomerRecord>;
    /// Soft delete: past sales keep pointing at it; its phone is free again.
    async fn delete_customer(&self, store: &StoreId, id: Id) -> Result<()>;
    /// Ordered by lower-cased name then id.
    async fn list_customers(&self, store: &StoreId, filter: &CustomerFilter) -> Result<Vec<CustomerRecord>>;
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: Id,
    name: String,
    phone: String,
    email: Option<String>,
    note: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<CustomerRow> for CustomerRecord {
    fn from(r: CustomerRow) -> Self {
        CustomerRecord {
            id: r.id,
            name: r.name,
            phone: r.phone,
            email: r.email,
            note: r.note,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const INSERT_CUSTOMER: &str = "INSERT INTO customers (store_id, id, name, name_key, phone, email, note, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
const SELECT_CUSTOMER: &str = "SELECT id, name, phone, email, note, created_at, updated_at FROM customers \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const UPDATE_CUSTOMER: &str = "UPDATE customers SET name = $3, name_key = $4, phone = $5, email = $6, note = $7, updated_at = $8 \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const DELETE_CUSTOMER: &str =
    "UPDATE customers SET deleted_at = $3, updated_at = $3 WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const LIST_CUSTOMERS: &str = "SELECT id, name, phone, email, note, created_at, updated_at FROM customers \
     WHERE store_id = $1 AND deleted_at IS NULL AND ($2 IS NULL OR phone = $2) \
     AND ($3 IS NULL OR name_key LIKE $3 ESCAPE '\\' OR phone LIKE $4 ESCAPE '\\') \
     AND ($5 IS NULL OR name_key > $5 OR (name_key = $5 AND id > $6)) ORDER BY name_key, id LIMIT $7";

macro_rules! impl_customer_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl CustomerRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_customer(&self, store: &StoreId, id: Id, c: &CustomerInput) -> Result<CustomerRecord> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(INSERT_CUSTOMER)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&c.name)
                    .bind(&c.name_key)
                    .bind(&c.phone)
                    .bind(c.email.as_deref())
                    .bind(c.note.as_deref())
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                let row: CustomerRow =
                    sqlx::query_as(SELECT_CUSTOMER).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_customer(&self, store: &StoreId, id: Id) -> Result<Option<CustomerRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<CustomerRow> =
                    sqlx::query_as(SELECT_CUSTOMER).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn update_customer(&self, store: &StoreId, id: Id, c: &CustomerInput) -> Result<CustomerRecord> {
                let mut tx = self.scoped(store, true).await?;
                let done = sqlx::query(UPDATE_CUSTOMER)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&c.name)
                    .bind(&c.name_key)
                    .bind(&c.phone)
                    .bind(c.email.as_deref())
                    .bind(c.note.as_deref())
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                let row: CustomerRow =
                    sqlx::query_as(SELECT_CUSTOMER).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn delete_customer(&self, store: &StoreId, id: Id) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                let done = sqlx::query(DELETE_CUSTOMER)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_customers(&self, store: &StoreId, f: &CustomerFilter) -> Result<Vec<CustomerRecord>> {
                let esc = |s: &str| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<CustomerRow> = sqlx::query_as(LIST_CUSTOMERS)
                    .bind(store.as_str())
                    .bind(f.phone.as_deref())
                    .bind(f.q.as_deref().map(|q| format!("%{}%", esc(q))))
                    .bind(f.q.as_deref().map(|q| format!("{}%", esc(q))))
                    .bind(f.after.as_ref().map(|a| a.0.as_str()))
                    .bind(f.after.as_ref().map(|a| a.1))
                    .bind(f.limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}
for_each_backend!(impl_customer_repo);
