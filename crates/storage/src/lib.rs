//! Tills storage: one trait, [`Store`], with a SQLite and a PostgreSQL backend.
//!
//! Every method that touches store data takes a [`StoreId`], which only the HTTP layer's auth
//! extractor produces from a verified token, and every statement on a store table carries a
//! `store_id` condition (or insert column) — checked by a test that reads all the SQL. On
//! PostgreSQL, row-level security is the second wall: each transaction starts with
//! `SET LOCAL tills.store_id`, and the server's role cannot see or write another store's rows.
//!
//! Queries are built at run time (`query_as` + `FromRow`) rather than with the compile-time
//! macros: one SQL text serves both backends, and the build needs no live database.

mod approvals;
mod audit;
mod backend;
mod carts;
mod catalog;
pub mod citus;
mod customers;
mod direct;
mod error;
mod import;
mod journal;
mod json_rows;
mod named;
mod platform;
mod products;
mod returns;
mod sales;
mod search;
mod shifts;
mod tls;
mod users;

use std::sync::Arc;

pub use approvals::{ApprovalRepo, NewApproval};
pub use audit::{AuditFilter, AuditRecord, AuditRepo, NewAudit};
pub use backend::{APP_ROLE, PgStore, PoolConfig, SqliteStore, pg_migrations_fingerprint};
pub use carts::{CartRepo, NewParkedCart, ParkedCartRecord, Resumed};
pub use catalog::CatalogRepo;
pub use customers::{CustomerFilter, CustomerInput, CustomerRecord, CustomerRepo};
pub use error::{Result, StorageError, UniqueKey};
pub use import::{
    BatchMode, ExistingKeys, Fingerprint, ImportBatch, ImportCustomer, ImportKind, ImportNamed, ImportPayment,
    ImportProduct, ImportRepo, ImportSale, ImportSaleLine, ImportState, ImportUser, ImportWritten, ImportedTotals,
    TillsChange, TrackedRow,
};
pub use journal::{
    GENESIS, JournalClosure, JournalEntry, JournalRange, JournalRepo, JournalSigner, Unjournaled, canonical,
    chain_hash, closure_message, hex, kind as journal_kind,
};
pub use named::{NamedInput, NamedKind, NamedRecord, NamedRepo};
pub use platform::{NewStore, PlatformAdminRecord, PlatformRepo, StoreRecord, StoreStatus};
pub use products::{
    BarcodeMatch, MissingRefs, Pack, ProductAfter, ProductDraft, ProductFilter, ProductRecord, ProductRepo,
    ProductSort, StockChange, StockMovement, catalog_queries,
};
pub use returns::{NewReturn, NewReturnLine, ReturnLineRecord, ReturnPayout, ReturnRecord, ReturnRepo};
pub use sales::{
    DayActivity, DaySale, ExportRow, Idempotent, NewPayment, NewSale, NewSaleLine, PaymentFilter, PaymentRecord,
    RefundLineRecord, RefundRecord, RefundRequest, RefundedLine, SaleFilter, SaleHeader, SaleLineRecord, SaleRecord,
    SaleRepo,
};
pub use search::{SearchCatalog, SearchEntry, SearchRepo};
pub use shifts::{
    CashMovementRecord, CloseRule, Closing, NewCashMovement, NewShift, ShiftActivity, ShiftClose, ShiftFilter,
    ShiftRecord, ShiftRepo,
};
pub use tills_domain::StoreId;
pub use users::{NewStoreAdmin, NewUser, UserChanges, UserRecord, UserRepo};

/// Everything Tills keeps. The app state holds an `Arc<dyn Store>`.
pub trait Store:
    PlatformRepo
    + UserRepo
    + AuditRepo
    + NamedRepo
    + ProductRepo
    + CustomerRepo
    + SaleRepo
    + SearchRepo
    + ShiftRepo
    + CartRepo
    + ApprovalRepo
    + ReturnRepo
    + CatalogRepo
    + ImportRepo
    + JournalRepo
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// The database connections now, for `/metrics`.
    fn connections(&self) -> Vec<Connections>;
}

/// One set of database connections: open, idle, and how many it may open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connections {
    /// `transactions` (sqlx's pool), `statements` (PostgreSQL's one-statement calls,
    /// `direct.rs`), `writer` (SQLite's one write connection).
    pub kind: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn connections(&self) -> Vec<Connections> {
        vec![self.pool_connections(), self.direct.connections()]
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn connections(&self) -> Vec<Connections> {
        self.pool_connections()
    }
}

/// True for `postgres://` and `postgresql://` URLs.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store a URL names: PostgreSQL for `postgres://…` (migrated beforehand by
/// `tills migrate`), SQLite otherwise (migrated here).
pub async fn connect(url: &str, config: &PoolConfig) -> Result<Arc<dyn Store>> {
    if is_postgres_url(url) {
        Ok(Arc::new(PgStore::connect(url, config).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url, config).await?))
    }
}

/// Runs the migrations for a URL (on PostgreSQL as the URL's user, who should own the schema).
pub async fn migrate(url: &str) -> Result<()> {
    if is_postgres_url(url) {
        PgStore::migrate(url).await
    } else {
        SqliteStore::connect(url, &PoolConfig::default()).await.map(|_| ())
    }
}

/// Decodes a timestamp column (TIMESTAMPTZ on PostgreSQL, RFC 3339 text on SQLite).
pub(crate) type Timestamp = chrono::DateTime<chrono::Utc>;
