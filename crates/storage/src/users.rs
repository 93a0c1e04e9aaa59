//! A store's user accounts.

use async_trait::async_trait;
use tills_domain::{Conflict, Email, Id, Role, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::for_each_backend;
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: Id,
    pub store_id: StoreId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Id,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// An admin a platform admin gives a store ([`UserRepo::make_store_admin`]).
#[derive(Debug, Clone)]
pub struct NewStoreAdmin {
    pub email: Email,
    /// For a new user (default: the email's local part); an existing user keeps its name.
    pub name: Option<String>,
    /// Required for a new user; replaces an existing user's when given.
    pub password_hash: Option<String>,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub active: Option<bool>,
}

#[async_trait]
pub trait UserRepo {
    async fn create_user(&self, store: &StoreId, user: NewUser, audit: NewAudit) -> Result<UserRecord>;
    async fn get_user(&self, store: &StoreId, id: Id) -> Result<Option<UserRecord>>;
    /// The user's role and whether it is active (`None`: deleted or unknown): what authorizes
    /// each of its requests. One round trip on PostgreSQL.
    async fn user_access(&self, store: &StoreId, id: Id) -> Result<Option<(Role, bool)>>;
    async fn find_user_by_email(&self, store: &StoreId, email: &Email) -> Result<Option<UserRecord>>;
    /// Users ordered by email then id, after `after`.
    async fn list_users(&self, store: &StoreId, after: Option<(&str, Id)>, limit: i64) -> Result<Vec<UserRecord>>;
    /// Applies `changes`. Refuses (`Conflict(LastAdmin)`) only a change that takes away the
    /// store's last active admin: the user was an active admin and afterwards the store has
    /// none. A change that removes no admin (a rehash, a name, a cashier's password) is never
    /// refused by it, also in a store that has no admin (an imported store whose legacy users
    /// are all cashiers). The check and the write are one transaction.
    async fn update_user(
        &self,
        store: &StoreId,
        id: Id,
        changes: UserChanges,
        audit: Option<NewAudit>,
    ) -> Result<UserRecord>;
    /// Gives the store an admin (the platform admin's way into a store that has none, such as an
    /// imported one): the user with `email` becomes an active admin (its password replaced when
    /// `password_hash` is given), or, when there is none, a new admin is created (then
    /// `password_hash` is required: `Invalid { field: "password" }` otherwise). True when created.
    async fn make_store_admin(
        &self,
        store: &StoreId,
        admin: NewStoreAdmin,
        audit: NewAudit,
    ) -> Result<(UserRecord, bool)>;
    /// Deletes the account (its sales keep their cashier id), with the same last-admin rule:
    /// refused only when it is the store's last active admin.
    async fn delete_user(&self, store: &StoreId, id: Id, audit: NewAudit) -> Result<()>;
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Id,
    store_id: String,
    email: String,
    name: String,
    role: String,
    active: bool,
    password_hash: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StorageError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(UserRecord {
            id: r.id,
            store_id: StoreId::parse(&r.store_id).map_err(StorageError::corrupt)?,
            email: r.email,
            name: r.name,
            role: Role::parse_store_role(&r.role).map_err(StorageError::corrupt)?,
            active: r.active,
            password_hash: r.password_hash,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) const INSERT_USER: &str = "INSERT INTO users (store_id, id, email, name, role, password_hash, active, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, true, $7, $7)";
const SELECT_USER: &str = "SELECT id, store_id, email, name, role, active, password_hash, created_at, updated_at \
     FROM users WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const SELECT_USER_BY_EMAIL: &str = "SELECT id, store_id, email, name, role, active, password_hash, created_at, updated_at \
     FROM users WHERE store_id = $1 AND email = $2 AND deleted_at IS NULL";
const LIST_USERS: &str = "SELECT id, store_id, email, name, role, active, password_hash, created_at, updated_at \
     FROM users WHERE store_id = $1 AND deleted_at IS NULL AND ($2 IS NULL OR email > $2 OR (email = $2 AND id > $3)) \
     ORDER BY email, id LIMIT $4";
const UPDATE_USER: &str = "UPDATE users SET name = COALESCE($3, name), role = COALESCE($4, role), \
     password_hash = COALESCE($5, password_hash), active = COALESCE($6, active), updated_at = $7 \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const DELETE_USER: &str = "UPDATE users SET deleted_at = $3, active = false, updated_at = $3 \
     WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
/// 1 when the user is an active admin, 0 otherwise.
const IS_ACTIVE_ADMIN: &str = "SELECT COUNT(*) FROM users \
     WHERE store_id = $1 AND id = $2 AND role = 'admin' AND active AND deleted_at IS NULL";
const MAKE_ADMIN: &str = "UPDATE users SET role = 'admin', active = true, \
     password_hash = COALESCE($3, password_hash), updated_at = $4 WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
const COUNT_ACTIVE_ADMINS: &str = "SELECT COUNT(*) FROM users \
     WHERE store_id = $1 AND role = 'admin' AND active AND deleted_at IS NULL";

const SELECT_ACCESS: &str = "SELECT role, active FROM users WHERE store_id = $1 AND id = $2 AND deleted_at IS NULL";
/// `tills_user_access` (a migration) names the store and reads in one statement, on a direct
/// connection (`direct.rs`).
const ACCESS_IN_ONE_ROUND_TRIP: &str = "SELECT role, active FROM tills_user_access($1, $2)";

impl crate::backend::PgStore {
    async fn access_row(&self, store: &StoreId, id: Id) -> Result<Option<(String, bool)>> {
        Ok(self.direct.fetch_optional(sqlx::query_as(ACCESS_IN_ONE_ROUND_TRIP).bind(store.as_str()).bind(id)).await?)
    }
}

impl crate::backend::SqliteStore {
    async fn access_row(&self, store: &StoreId, id: Id) -> Result<Option<(String, bool)>> {
        let mut tx = self.scoped(store, false).await?;
        let row = sqlx::query_as(SELECT_ACCESS).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }
}

macro_rules! impl_user_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl UserRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn create_user(&self, store: &StoreId, u: NewUser, audit: NewAudit) -> Result<UserRecord> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(INSERT_USER)
                    .bind(store.as_str())
                    .bind(u.id)
                    .bind(u.email.as_str())
                    .bind(&u.name)
                    .bind(u.role.as_str())
                    .bind(&u.password_hash)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, store, &audit)?;
                let row: UserRow =
                    sqlx::query_as(SELECT_USER).bind(store.as_str()).bind(u.id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn user_access(&self, store: &StoreId, id: Id) -> Result<Option<(Role, bool)>> {
                let Some((role, active)) = self.access_row(store, id).await? else { return Ok(None) };
                Ok(Some((Role::parse_store_role(&role).map_err(StorageError::corrupt)?, active)))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn get_user(&self, store: &StoreId, id: Id) -> Result<Option<UserRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<UserRow> =
                    sqlx::query_as(SELECT_USER).bind(store.as_str()).bind(id).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row.map(UserRecord::try_from).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn find_user_by_email(&self, store: &StoreId, email: &Email) -> Result<Option<UserRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let row: Option<UserRow> = sqlx::query_as(SELECT_USER_BY_EMAIL)
                    .bind(store.as_str())
                    .bind(email.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(UserRecord::try_from).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn list_users(
                &self,
                store: &StoreId,
                after: Option<(&str, Id)>,
                limit: i64,
            ) -> Result<Vec<UserRecord>> {
                let mut tx = self.scoped(store, false).await?;
                let rows: Vec<UserRow> = sqlx::query_as(LIST_USERS)
                    .bind(store.as_str())
                    .bind(after.map(|a| a.0))
                    .bind(after.map(|a| a.1))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter().map(UserRecord::try_from).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn update_user(
                &self,
                store: &StoreId,
                id: Id,
                c: UserChanges,
                audit: Option<NewAudit>,
            ) -> Result<UserRecord> {
                let mut tx = self.scoped(store, true).await?;
                // Serializes admin changes of one store (SQLite already holds the write lock).
                sqlx::query(Self::LOCK_STORE_ROW).bind(store.as_str()).execute(&mut *tx).await?;
                let was_admin: i64 =
                    sqlx::query_scalar(IS_ACTIVE_ADMIN).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                let done = sqlx::query(UPDATE_USER)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(c.name.as_deref())
                    .bind(c.role.map(Role::as_str))
                    .bind(c.password_hash.as_deref())
                    .bind(c.active)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                // Only a change that took away an active admin can leave the store without one.
                if was_admin > 0 {
                    let admins: i64 =
                        sqlx::query_scalar(COUNT_ACTIVE_ADMINS).bind(store.as_str()).fetch_one(&mut *tx).await?;
                    if admins == 0 {
                        return Err(StorageError::Conflict(Conflict::LastAdmin));
                    }
                }
                if let Some(audit) = &audit {
                    insert_audit!(tx, store, audit)?;
                }
                let row: UserRow =
                    sqlx::query_as(SELECT_USER).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn make_store_admin(
                &self,
                store: &StoreId,
                a: NewStoreAdmin,
                audit: NewAudit,
            ) -> Result<(UserRecord, bool)> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(Self::LOCK_STORE_ROW).bind(store.as_str()).execute(&mut *tx).await?;
                let existing: Option<UserRow> = sqlx::query_as(SELECT_USER_BY_EMAIL)
                    .bind(store.as_str())
                    .bind(a.email.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let now = tills_domain::now();
                let (id, created) = match existing {
                    Some(u) => {
                        sqlx::query(MAKE_ADMIN)
                            .bind(store.as_str())
                            .bind(u.id)
                            .bind(a.password_hash.as_deref())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        (u.id, false)
                    }
                    None => {
                        let Some(hash) = a.password_hash.as_deref() else {
                            return Err(StorageError::Invalid {
                                field: "password".into(),
                                message: "a new user needs a password".into(),
                            });
                        };
                        let id = tills_domain::new_id();
                        let name = a.name.clone().unwrap_or_else(|| {
                            a.email.as_str().split('@').next().unwrap_or(a.email.as_str()).to_owned()
                        });
                        sqlx::query(INSERT_USER)
                            .bind(store.as_str())
                            .bind(id)
                            .bind(a.email.as_str())
                            .bind(&name)
                            .bind(Role::Admin.as_str())
                            .bind(hash)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        (id, true)
                    }
                };
                insert_audit!(tx, store, &audit.target(id))?;
                let row: UserRow =
                    sqlx::query_as(SELECT_USER).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok((row.try_into()?, created))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %store))]
            async fn delete_user(&self, store: &StoreId, id: Id, audit: NewAudit) -> Result<()> {
                let mut tx = self.scoped(store, true).await?;
                sqlx::query(Self::LOCK_STORE_ROW).bind(store.as_str()).execute(&mut *tx).await?;
                let was_admin: i64 =
                    sqlx::query_scalar(IS_ACTIVE_ADMIN).bind(store.as_str()).bind(id).fetch_one(&mut *tx).await?;
                let done = sqlx::query(DELETE_USER)
                    .bind(store.as_str())
                    .bind(id)
                    .bind(tills_domain::now())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                // Only a change that took away an active admin can leave the store without one.
                if was_admin > 0 {
                    let admins: i64 =
                        sqlx::query_scalar(COUNT_ACTIVE_ADMINS).bind(store.as_str()).fetch_one(&mut *tx).await?;
                    if admins == 0 {
                        return Err(StorageError::Conflict(Conflict::LastAdmin));
                    }
                }
                insert_audit!(tx, store, &audit)?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
for_each_backend!(impl_user_repo);
