//! A manager's approval given at a cashier's terminal: single-use, for one action, short-lived.
//! The request that uses it consumes it (a conditional update, so two requests cannot both use
//! one approval) and gives it back when it fails. Managers' PINs are kept here too.

use async_trait::async_trait;
use tills_domain::{Id, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::for_each_backend;
use crate::{Result, Timestamp};

#[derive(Debug, Clone)]
pub struct NewApproval {
    pub id: Id,
    /// What it approves (`void`, `sale`, ...), as the server names it.
    pub action: &'static str,
    pub requested_by: Id,
    pub approved_by: Id,
    pub expires_at: Timestamp,
    pub audit: NewAudit,
}

#[async_trait]
pub trait ApprovalRepo {
    async fn create_approval(&self, store: &StoreId, approval: NewApproval) -> Result<()>;
    /// Uses the approval `id` for `action` on behalf of `requested_by`: the approver when it was
    /// unused and unexpired, `None` otherwise. It cannot be used again.
    async fn consume_approval(
        &self,
        store: &StoreId,
        id: Id,
        action: &str,
        requested_by: Id,
        now: Timestamp,
    ) -> Result<Option<Id>>;
    /// The approver when the approval is unused and unexpired, without using it (a quote).
    async fn peek_approval(
        &self,
        store: &StoreId,
        id: Id,
        action: &str,
        requested_by: Id,
        now: Timestamp,
    ) -> Result<Option<Id>>;
    /// Gives a consumed approval back (the request that used it failed).
    async fn release_approval(&self, store: &StoreId, id: Id) -> Result<()>;
    /// Sets (or with `None` clears) a user's PIN hash.
    async fn set_user_pin(&self, store: &StoreId, user: Id, pin_hash: Option<&str>, audit: NewAudit) -> Result<()>;
    /// The user's PIN hash, if they set one.
    async fn user_pin(&self, store: &StoreId, user: Id) -> Result<Option<String>>;
}

const INSERT_APPROVAL: &str = "INSERT INTO approvals (store_id, id, action, requested_by, approved_by, created_at, \
     expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const CONSUME_APPROVAL: &str = "UPDATE approvals SET used_at = $5 WHERE store_id = $1 AND id = $2 AND action = $3 \
     AND requested_by = $4 AND used_at IS NULL AND expires_at > $5 RETURNING approved_by";
const PEEK_APPROVAL: &str = "SELECT approved_by FROM approvals WHERE store_id = $1 AND id = $2 AND action = $3 \
     AND requested_by = $4 AND used_at IS NULL AND expires_at > $5";
const RELEASE_APPROVAL: &str = "UPDATE approvals SET used_at = NULL WHERE store_id = $1 AND id = $2";
const SET_PIN: &str =
    "UPDATE users SET pin_hash = $3, updated_at = $4 WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const SELECT_PIN: &str = "SELECT pin_hash FROM users WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";

macro_rules! impl_approval_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl ApprovalRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_approval(&self, store: &StoreId, a: NewApproval) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(INSERT_APPROVAL)
                    .bind(store.as_str())
                    .bind(a.id)
                    .bind(a.action)
                    .bind(a.requested_by)
                    .bind(a.approved_by)
                    .bind(tills_domain::now())
                    .bind(a.expires_at)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, store, &a.audit)?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn consume_approval(
                &self,
                store: &StoreId,
                id: Id,
                action: &str,
                requested_by: Id,
                now: Timestamp,
            ) -> Result<Option<Id>> {
                let mut tx = self.scoped(store, true).await?;
                let approver: Option<Id> = sqlx::query_scalar(CONSUME_APPROVAL)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(action)
                    .bind(requested_by)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(approver)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn peek_approval(
                &self,
                store: &StoreId,
                id: Id,
                action: &str,
                requested_by: Id,
                now: Timestamp,
            ) -> Result<Option<Id>> {
                let mut tx = self.scoped(store, false).await?;
                let approver: Option<Id> = sqlx::query_scalar(PEEK_APPROVAL)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(action)
                    .bind(requested_by)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(approver)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn release_approval(&self, store: &StoreId, id: Id) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(RELEASE_APPROVAL).bind(store.as_str()).bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn set_user_pin(&self, store: &StoreId, user: Id, pin: Option<&str>, audit: NewAudit) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                let done = sqlx::query(SET_PIN)
                    .bind(store.as_str())
                    .bind(user)
                    .bind(pin)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(crate::StorageError::NotFound);
                }
                insert_audit!(tx, store, &audit)?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn user_pin(&self, store: &StoreId, user: Id) -> Result<Option<String>> {
                let mut tx = self.scoped(store, false).await?;
                let pin: Option<Option<String>> =
                    sqlx::query_scalar(SELECT_PIN).bind(store.as_str()).bind(user).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(pin.flatten())
            }
        }
    };
}

for_each_backend!(impl_approval_repo);
