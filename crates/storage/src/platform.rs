//! Stores and platform admins: the records that belong to no store.

use async_trait::async_trait;
use tills_domain::{Email, Id, ScaleFormat, StoreId};

use crate::audit::{NewAudit, insert_audit};
use crate::backend::for_each_backend;
use crate::users::{INSERT_USER, NewUser};
use crate::{Result, StorageError, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStatus {
    Active,
    Suspended,
}

impl StoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreStatus::Active => "active",
            StoreStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(StoreStatus::Active),
            "suspended" => Some(StoreStatus::Suspended),
            _ => None,
        }
    }
}

/// A store and all its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreRecord {
    pub id: StoreId,
    pub name: String,
    pub currency: String,
    pub currency_decimals: u8,
    pub timezone: String,
    pub prices_include_tax: bool,
    pub invoice_prefix: String,
    pub address: Option<String>,
    pub tax_id: Option<String>,
    pub receipt_footer: Option<String>,
    pub scale_barcodes: Vec<ScaleFormat>,
    /// A sale needs an open shift (`409 shift_required` otherwise).
    pub require_shift: bool,
    /// The over/short (minor units) a cashier may close a shift with; beyond it a manager.
    pub cash_tolerance: i64,
    /// How long a parked cart waits before it expires.
    pub parked_cart_hours: i32,
    pub status: StoreStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new store; `owner` becomes its first admin.
#[derive(Debug, Clone)]
pub struct NewStore {
    pub id: StoreId,
    pub name: String,
    pub currency: String,
    pub currency_decimals: u8,
    pub timezone: String,
    pub prices_include_tax: bool,
    pub invoice_prefix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlatformAdminRecord {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[async_trait]
pub trait PlatformRepo {
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;

    /// Creates the store, its invoice counter and its owner (an admin) in one transaction.
    async fn create_store(&self, store: NewStore, owner: NewUser, audit: NewAudit) -> Result<StoreRecord>;
    /// Stores ordered by id, after `after`.
    async fn list_stores(&self, after: Option<&StoreId>, limit: i64) -> Result<Vec<StoreRecord>>;
    async fn get_store(&self, id: &StoreId) -> Result<Option<StoreRecord>>;
    /// Writes every setting of `store` (name, timezone, …, status) and the audit entry.
    async fn save_store(&self, store: &StoreRecord, audit: NewAudit) -> Result<StoreRecord>;

    /// Creates the platform admin, or resets the password (and name) of an existing one.
    /// Returns true when it was created.
    async fn upsert_platform_admin(&self, email: &Email, name: &str, password_hash: &str) -> Result<bool>;
    async fn find_platform_admin(&self, email: &Email) -> Result<Option<PlatformAdminRecord>>;
    async fn get_platform_admin(&self, id: Id) -> Result<Option<PlatformAdminRecord>>;
    async fn set_platform_admin_password(&self, id: Id, password_hash: &str) -> Result<()>;
}

#[derive(sqlx::FromRow)]
struct StoreRow {
    id: String,
    name: String,
    currency: String,
    currency_decimals: i16,
    timezone: String,
    prices_include_tax: bool,
    invoice_prefix: String,
    address: Option<String>,
    tax_id: Option<String>,
    receipt_footer: Option<String>,
    scale_barcodes: String,
    require_shift: bool,
    cash_tolerance: i64,
    parked_cart_hours: i32,
    status: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<StoreRow> for StoreRecord {
    type Error = StorageError;
    fn try_from(r: StoreRow) -> Result<Self> {
        Ok(StoreRecord {
            id: StoreId::parse(&r.id).map_err(StorageError::corrupt)?,
            name: r.name,
            currency: r.currency,
            currency_decimals: u8::try_from(r.currency_decimals).map_err(StorageError::corrupt)?,
            timezone: r.timezone,
            prices_include_tax: r.prices_include_tax,
            invoice_prefix: r.invoice_prefix,
            address: r.address,
            tax_id: r.tax_id,
            receipt_footer: r.receipt_footer,
            scale_barcodes: serde_json::from_str(&r.scale_barcodes).map_err(StorageError::corrupt)?,
            require_shift: r.require_shift,
            cash_tolerance: r.cash_tolerance,
            parked_cart_hours: r.parked_cart_hours,
            status: StoreStatus::parse(&r.status).ok_or_else(|| StorageError::corrupt("store status"))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PlatformAdminRow {
    id: Id,
    email: String,
    name: String,
    password_hash: String,
}

impl From<PlatformAdminRow> for PlatformAdminRecord {
    fn from(r: PlatformAdminRow) -> Self {
        PlatformAdminRecord { id: r.id, email: r.email, name: r.name, password_hash: r.password_hash }
    }
}

const INSERT_STORE: &str = "INSERT INTO stores (id, name, currency, currency_decimals, timezone, prices_include_tax, \
     invoice_prefix, scale_barcodes, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', 'active', $8, $8)";
const INSERT_COUNTER: &str = "INSERT INTO invoice_counters (store_id, last_number) VALUES ($1, 0)";
const SELECT_STORE: &str = "SELECT id, name, currency, currency_decimals, timezone, prices_include_tax, invoice_prefix, \
     address, tax_id, receipt_footer, scale_barcodes, require_shift, cash_tolerance, parked_cart_hours, status, \
     created_at, updated_at FROM stores WHERE id = $1";
const LIST_STORES: &str = "SELECT id, name, currency, currency_decimals, timezone, prices_include_tax, invoice_prefix, \
     address, tax_id, receipt_footer, scale_barcodes, require_shift, cash_tolerance, parked_cart_hours, status, \
     created_at, updated_at FROM stores WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2";
const UPDATE_STORE: &str = "UPDATE stores SET name = $2, timezone = $3, prices_include_tax = $4, invoice_prefix = $5, \
     address = $6, tax_id = $7, receipt_footer = $8, scale_barcodes = $9, status = $10, updated_at = $11, \
     require_shift = $12, cash_tolerance = $13, parked_cart_hours = $14 WHERE id = $1";

const SELECT_ADMIN_BY_EMAIL: &str = "SELECT id, email, name, password_hash FROM platform_admins WHERE email = $1";
const SELECT_ADMIN_BY_ID: &str = "SELECT id, email, name, password_hash FROM platform_admins WHERE id = $1";
const UPSERT_ADMIN_UPDATE: &str =
    "UPDATE platform_admins SET name = $2, password_hash = $3, updated_at = $4 WHERE email = $1";
const UPSERT_ADMIN_INSERT: &str = "INSERT INTO platform_admins (id, email, name, password_hash, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";
const SET_ADMIN_PASSWORD: &str = "UPDATE platform_admins SET password_hash = $2, updated_at = $3 WHERE id = $1";

impl crate::backend::PgStore {
    /// On a direct connection (`direct.rs`): every request's access check reads its store (cached
    /// for seconds), and the pool would ping the connection after each such read.
    async fn store_row(&self, id: &StoreId) -> Result<Option<StoreRow>> {
        Ok(self.direct.fetch_optional(sqlx::query_as(SELECT_STORE).bind(id.as_str())).await?)
    }
}

impl crate::backend::SqliteStore {
    async fn store_row(&self, id: &StoreId) -> Result<Option<StoreRow>> {
        Ok(sqlx::query_as(SELECT_STORE).bind(id.as_str()).fetch_optional(&self.pool).await?)
    }
}

macro_rules! impl_platform_repo {
    ($backend:ty, $db:ty) => {
        #[async_trait]
        impl PlatformRepo for $backend {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_store(&self, store: NewStore, owner: NewUser, audit: NewAudit) -> Result<StoreRecord> {
                let now = tills_domain::now();
                let mut tx = self.scoped(&store.id, true).await?;
                sqlx::query(INSERT_STORE)
                    .bind(store.id.as_str())
                    .bind(&store.name)
                    .bind(&store.currency)
                    .bind(i16::from(store.currency_decimals))
                    .bind(&store.timezone)
                    .bind(store.prices_include_tax)
                    .bind(&store.invoice_prefix)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(INSERT_COUNTER).bind(store.id.as_str()).execute(&mut *tx).await?;
                sqlx::query(INSERT_USER)
                    .bind(store.id.as_str())
                    .bind(owner.id)
                    .bind(owner.email.as_str())
                    .bind(&owner.name)
                    .bind(owner.role.as_str())
                    .bind(&owner.password_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(tx, &store.id, &audit)?;
                let row: StoreRow = sqlx::query_as(SELECT_STORE).bind(store.id.as_str()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_stores(&self, after: Option<&StoreId>, limit: i64) -> Result<Vec<StoreRecord>> {
                let rows: Vec<StoreRow> = sqlx::query_as(LIST_STORES)
                    .bind(after.map(StoreId::as_str))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(StoreRecord::try_from).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(store = %id))]
            async fn get_store(&self, id: &StoreId) -> Result<Option<StoreRecord>> {
                self.store_row(id).await?.map(StoreRecord::try_from).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn save_store(&self, s: &StoreRecord, audit: NewAudit) -> Result<StoreRecord> {
                let scale = serde_json::to_string(&s.scale_barcodes).map_err(StorageError::corrupt)?;
                let mut tx = self.scoped(&s.id, true).await?;
                let done = sqlx::query(UPDATE_STORE)
                    .bind(s.id.as_str())
                    .bind(&s.name)
                    .bind(&s.timezone)
                    .bind(s.prices_include_tax)
                    .bind(&s.invoice_prefix)
                    .bind(s.address.as_deref())
                    .bind(s.tax_id.as_deref())
                    .bind(s.receipt_footer.as_deref())
                    .bind(scale)
                    .bind(s.status.as_str())
                    .bind(tills_domain::now())
                    .bind(s.require_shift)
                    .bind(s.cash_tolerance)
                    .bind(s.parked_cart_hours)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                insert_audit!(tx, &s.id, &audit)?;
                let row: StoreRow = sqlx::query_as(SELECT_STORE).bind(s.id.as_str()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn upsert_platform_admin(&self, email: &Email, name: &str, hash: &str) -> Result<bool> {
                let now = tills_domain::now();
                let mut tx = self.global(true).await?;
                let updated = sqlx::query(UPSERT_ADMIN_UPDATE)
                    .bind(email.as_str())
                    .bind(name)
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let created = updated.rows_affected() == 0;
                if created {
                    sqlx::query(UPSERT_ADMIN_INSERT)
                        .bind(tills_domain::new_id())
                        .bind(email.as_str())
                        .bind(name)
                        .bind(hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(created)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn find_platform_admin(&self, email: &Email) -> Result<Option<PlatformAdminRecord>> {
                let row: Option<PlatformAdminRow> =
                    sqlx::query_as(SELECT_ADMIN_BY_EMAIL).bind(email.as_str()).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn get_platform_admin(&self, id: Id) -> Result<Option<PlatformAdminRecord>> {
                let row: Option<PlatformAdminRow> =
                    sqlx::query_as(SELECT_ADMIN_BY_ID).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_platform_admin_password(&self, id: Id, hash: &str) -> Result<()> {
                sqlx::query(SET_ADMIN_PASSWORD)
                    .bind(id)
                    .bind(hash)
                    .bind(tills_domain::now())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}
for_each_backend!(impl_platform_repo);
