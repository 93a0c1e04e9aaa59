//! The audit log: append-only, per store.

use async_trait::async_trait;
use tills_domain::{Id, StoreId};

use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

/// An entry to append. Written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub actor_id: Option<Id>,
    pub actor_email: Option<String>,
    pub action: &'static str,
    pub target: Option<String>,
    pub detail: serde_json::Value,
}

impl NewAudit {
    pub fn new(action: &'static str) -> Self {
        Self { actor_id: None, actor_email: None, action, target: None, detail: serde_json::json!({}) }
    }

    pub fn by(mut self, actor_id: Option<Id>, actor_email: Option<&str>) -> Self {
        self.actor_id = actor_id;
        self.actor_email = actor_email.map(str::to_owned);
        self
    }

    pub fn target(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: Id,
    pub actor_id: Option<Id>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub action: Option<String>,
    /// Keyset: entries after this (created_at, id).
    pub after: Option<(Timestamp, Id)>,
    pub limit: i64,
}

#[async_trait]
pub trait AuditRepo {
    async fn append_audit(&self, store: &StoreId, entry: NewAudit) -> Result<()>;
    async fn list_audit(&self, store: &StoreId, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Id,
    actor_id: Option<Id>,
    actor_email: Option<String>,
    action: String,
    target: Option<String>,
    detail: String,
    created_at: Timestamp,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StorageError;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(AuditRecord {
            id: r.id,
            actor_id: r.actor_id,
            actor_email: r.actor_email,
            action: r.action,
            target: r.target,
            detail: serde_json::from_str(&r.detail).map_err(StorageError::corrupt)?,
            created_at: r.created_at,
        })
    }
}

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (store_id, id, actor_id, actor_email, action, target, detail, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const LIST_AUDIT: &str = "SELECT id, actor_id, actor_email, action, target, detail, created_at FROM audit_log \
     WHERE store_id = $1 AND ($2 IS NULL OR created_at >= $2) AND ($3 IS NULL OR created_at < $3) \
       AND ($4 IS NULL OR action = $4) \
       AND ($5 IS NULL OR created_at > $5 OR (created_at = $5 AND id > $6)) \
     ORDER BY created_at, id LIMIT $7";

/// Appends `entry` inside an open transaction.
macro_rules! insert_audit {
    ($tx:expr, $store:expr, $entry:expr) => {{
        let entry: &$crate::audit::NewAudit = $entry;
        sqlx::query($crate::audit::INSERT_AUDIT)
            .bind($store.as_str())
            .bind(tills_domain::new_id())
            .bind(entry.actor_id)
            .bind(entry.actor_email.as_deref())
            .bind(entry.action)
            .bind(entry.target.as_deref())
            .bind(entry.detail.to_string())
            .bind(tills_domain::now())
            .execute(&mut *$tx)
            .await
    }};
}
pub(crate) use insert_audit;

macro_rules! impl_audit_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl AuditRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn append_audit(&self, store: &StoreId, entry: NewAudit) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                insert_audit!(tx, store, &entry)?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_audit(&self, store: &StoreId, f: &AuditFilter) -> Result<Vec<AuditRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<AuditRow> = sqlx::query_as(LIST_AUDIT)
                    .bind(store.as_str())
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.action.as_deref())
                    .bind(f.after.map(|a| a.0))
                    .bind(f.after.map(|a| a.1))
                    .bind(f.limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter().map(AuditRecord::try_from).collect()
            }
        }
    };
}
for_each_backend!(impl_audit_repo);
