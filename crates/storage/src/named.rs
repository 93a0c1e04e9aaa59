//! Categories, brands and units: named records, unique per store ignoring case.

use async_trait::async_trait;
use tills_domain::{Conflict, Id, StoreId};

use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

/// Which of the three named tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedKind {
    Category,
    Brand,
    Unit,
}

impl NamedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NamedKind::Category => "category",
            NamedKind::Brand => "brand",
            NamedKind::Unit => "unit",
        }
    }
    fn sql(self) -> &'static NamedSql {
        match self {
            NamedKind::Category => &CATEGORY_SQL,
            NamedKind::Brand => &BRAND_SQL,
            NamedKind::Unit => &UNIT_SQL,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedRecord {
    pub id: Id,
    pub name: String,
    /// Categories only.
    pub parent_id: Option<Id>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A named record to write: `key` is the Unicode lower-cased name.
#[derive(Debug, Clone)]
pub struct NamedInput {
    pub name: String,
    pub key: String,
    pub parent_id: Option<Id>,
}

#[async_trait]
pub trait NamedRepo {
    async fn create_named(&self, store: &StoreId, kind: NamedKind, id: Id, input: &NamedInput) -> Result<NamedRecord>;
    async fn get_named(&self, store: &StoreId, kind: NamedKind, id: Id) -> Result<Option<NamedRecord>>;
    /// Ordered by lower-cased name then id, after `after`.
    async fn list_named(
        &self,
        store: &StoreId,
        kind: NamedKind,
        after: Option<(&str, Id)>,
        limit: i64,
    ) -> Result<Vec<NamedRecord>>;
    async fn update_named(&self, store: &StoreId, kind: NamedKind, id: Id, input: &NamedInput) -> Result<NamedRecord>;
    /// `Conflict(InUse)` while a live product (or, for a category, a child) uses it.
    async fn delete_named(&self, store: &StoreId, kind: NamedKind, id: Id) -> Result<()>;
}

#[derive(sqlx::FromRow)]
struct NamedRow {
    id: Id,
    name: String,
    parent_id: Option<Id>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<NamedRow> for NamedRecord {
    fn from(r: NamedRow) -> Self {
        NamedRecord {
            id: r.id,
            name: r.name,
            parent_id: r.parent_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(crate) struct NamedSql {
    insert: &'static str,
    select: &'static str,
    list: &'static str,
    update: &'static str,
    /// Counts what still uses the record (live products, child categories, packs).
    usage: &'static str,
    /// Lets go of deleted products that still point at it.
    release: &'static str,
    delete: &'static str,
}

pub(crate) static CATEGORY_SQL: NamedSql = NamedSql {
    insert: "INSERT INTO categories (store_id, id, name, name_key, parent_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    select: "SELECT id, name, parent_id, created_at, updated_at FROM categories WHERE store_id = $1 AND id = $2",
    list: "SELECT id, name, parent_id, created_at, updated_at FROM categories WHERE store_id = $1 \
           AND ($2 IS NULL OR name_key > $2 OR (name_key = $2 AND id > $3)) ORDER BY name_key, id LIMIT $4",
    update: "UPDATE categories SET name = $3, name_key = $4, parent_id = $5, updated_at = $6 WHERE store_id = $1 AND id = $2",
    usage: "SELECT (SELECT COUNT(*) FROM products WHERE store_id = $1 AND category_id = $2 AND deleted_at IS NULL) \
            + (SELECT COUNT(*) FROM categories WHERE store_id = $1 AND parent_id = $2)",
    release: "UPDATE products SET category_id = NULL WHERE store_id = $1 AND category_id = $2 AND deleted_at IS NOT NULL",
    delete: "DELETE FROM categories WHERE store_id = $1 AND id = $2",
};

pub(crate) static BRAND_SQL: NamedSql = NamedSql {
    insert: "INSERT INTO brands (store_id, id, name, name_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $6, $6)",
    select: "SELECT id, name, NULL AS parent_id, created_at, updated_at FROM brands WHERE store_id = $1 AND id = $2",
    list: "SELECT id, name, NULL AS parent_id, created_at, updated_at FROM brands WHERE store_id = $1 \
           AND ($2 IS NULL OR name_key > $2 OR (name_key = $2 AND id > $3)) ORDER BY name_key, id LIMIT $4",
    update: "UPDATE brands SET name = $3, name_key = $4, updated_at = $6 WHERE store_id = $1 AND id = $2",
    usage: "SELECT COUNT(*) FROM products WHERE store_id = $1 AND brand_id = $2 AND deleted_at IS NULL",
    release: "UPDATE products SET brand_id = NULL WHERE store_id = $1 AND brand_id = $2 AND deleted_at IS NOT NULL",
    delete: "DELETE FROM brands WHERE store_id = $1 AND id = $2",
};

pub(crate) static UNIT_SQL: NamedSql = NamedSql {
    insert: "INSERT INTO units (store_id, id, name, name_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $6, $6)",
    select: "SELECT id, name, NULL AS parent_id, created_at, updated_at FROM units WHERE store_id = $1 AND id = $2",
    list: "SELECT id, name, NULL AS parent_id, created_at, updated_at FROM units WHERE store_id = $1 \
           AND ($2 IS NULL OR name_key > $2 OR (name_key = $2 AND id > $3)) ORDER BY name_key, id LIMIT $4",
    update: "UPDATE units SET name = $3, name_key = $4, updated_at = $6 WHERE store_id = $1 AND id = $2",
    usage: "SELECT (SELECT COUNT(*) FROM products WHERE store_id = $1 AND unit_id = $2 AND deleted_at IS NULL) \
            + (SELECT COUNT(*) FROM product_units WHERE store_id = $1 AND unit_id = $2)",
    release: "UPDATE products SET unit_id = NULL WHERE store_id = $1 AND unit_id = $2 AND deleted_at IS NOT NULL",
    delete: "DELETE FROM units WHERE store_id = $1 AND id = $2",
};

macro_rules! impl_named_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl NamedRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_named(
                &self,
                store: &StoreId,
                kind: NamedKind,
                id: Id,
                input: &NamedInput,
            ) -> Result<NamedRecord> {
                let sql = kind.sql();
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(sql.insert)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&input.name)
                    .bind(&input.key)
                    .bind(input.parent_id)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                let row: NamedRow =
                    sqlx::query_as(sql.select).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_named(&self, store: &StoreId, kind: NamedKind, id: Id) -> Result<Option<NamedRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<NamedRow> =
                    sqlx::query_as(kind.sql().select).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_named(
                &self,
                store: &StoreId,
                kind: NamedKind,
                after: Option<(&str, Id)>,
                limit: i64,
            ) -> Result<Vec<NamedRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<NamedRow> = sqlx::query_as(kind.sql().list)
                    .bind(store.as_str())
                    .bind(after.map(|a| a.0))
                    .bind(after.map(|a| a.1))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn update_named(
                &self,
                store: &StoreId,
                kind: NamedKind,
                id: Id,
                input: &NamedInput,
            ) -> Result<NamedRecord> {
                let sql = kind.sql();
                let mut tx = self.scoped(store, true).await?;
                let done = sqlx::query(sql.update)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(&input.name)
                    .bind(&input.key)
                    .bind(input.parent_id)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                let row: NamedRow =
                    sqlx::query_as(sql.select).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn delete_named(&self, store: &StoreId, kind: NamedKind, id: Id) -> Result<()> {
                let sql = kind.sql();
                let mut tx = self.scoped(store, true).await?;
                let exists: Option<NamedRow> =
                    sqlx::query_as(sql.select).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                if exists.is_none() {
                    return Err(StorageError::NotFound);
                }
                let used: i64 = sqlx::query_scalar(sql.usage).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                if used > 0 {
                    return Err(StorageError::Conflict(Conflict::InUse));
                }
                sqlx::query(sql.release).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                sqlx::query(sql.delete).bind(store.as_str()).bind(id).execute(&mut *tx).await.map_err(|e| {
                    match StorageError::from(e) {
                        // Something else still points at it (a sale line's pack, a movement).
                        StorageError::InvalidReference => StorageError::Conflict(Conflict::InUse),
                        other => other,
                    }
                })?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
for_each_backend!(impl_named_repo);
