//! The two backends: connection, migrations and the start of every transaction.
//!
//! Everything else is written once, in the resource modules, for both backends (see
//! `for_each_backend!`): the SQL is the same text for SQLite and PostgreSQL, and the only
//! differences live here.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection, Database, Executor, Postgres, Sqlite, Transaction};
use tills_domain::StoreId;

use crate::direct::{self, DirectConnections};
use crate::{Connections, Result, StorageError};

/// The role the server's queries run as on PostgreSQL: no owner, no `BYPASSRLS`.
pub const APP_ROLE: &str = "tills_app";

static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A fingerprint of the PostgreSQL migrations this build carries (their versions and
/// checksums): a database migrated by a build with the same fingerprint has the same schema.
/// The test kit names its template database after it.
pub fn pg_migrations_fingerprint() -> String {
    // FNV-1a: stable across runs and toolchains.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for m in PG_MIGRATIONS.iter() {
        for b in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// A pooled connection idle longer than this is pinged before it is handed out; one used more
/// recently is not (sqlx pings every connection as it returns to the pool, so it was answering
/// then). sqlx's default pings on every checkout: a round trip to the database, and CPU on both
/// sides, before each query.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Checks a connection on checkout only after [`PING_AFTER_IDLE`].
fn ping_when_idle<DB: Database>(options: PoolOptions<DB>) -> PoolOptions<DB> {
    options.test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= PING_AFTER_IDLE {
                conn.ping().await?;
            }
            Ok(true)
        })
    })
}

fn pool_connections<DB: Database>(kind: &'static str, pool: &sqlx::Pool<DB>) -> Connections {
    Connections {
        kind,
        open: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

/// Pool settings shared by both backends.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(3) }
    }
}

/// PostgreSQL, the production backend. Every transaction names its store with
/// `SET LOCAL tills.store_id`, and row-level security checks each row against it.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// The one-statement calls' connections (scan, search page, sale): `direct.rs`.
    pub(crate) direct: Arc<DirectConnections>,
    /// What the database is, as its first connection found out ([`Engine`]).
    pub(crate) engine: Arc<EngineSeen>,
}

/// Whether the database is a Citus coordinator, learnt by every new connection
/// (`direct::set_up`): until one has answered (0) it counts as Citus, whose rules are safe on both.
#[derive(Default)]
pub(crate) struct EngineSeen(AtomicU8);

const ENGINE_POSTGRES: u8 = 1;
const ENGINE_CITUS: u8 = 2;

impl EngineSeen {
    pub(crate) fn saw(&self, citus: bool) {
        self.0.store(if citus { ENGINE_CITUS } else { ENGINE_POSTGRES }, Ordering::Relaxed);
    }

    /// Plain PostgreSQL, as far as a connection has seen.
    fn plain_postgres(&self) -> bool {
        self.0.load(Ordering::Relaxed) == ENGINE_POSTGRES
    }
}

/// SQLite, the embedded default: a file in the data directory, WAL, one writer at a time.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One connection for write transactions: writers queue in order on it (the pool's waiters
    /// are served first come, first served) instead of polling SQLite's lock under its busy
    /// timeout, which under a burst of sales let some wait past the timeout and fail.
    writer: SqlitePool,
}

impl PgStore {
    /// Locks the store's row until the transaction ends: serializes changes that must see
    /// each other (the last-admin rule).
    pub(crate) const LOCK_STORE_ROW: &'static str = "SELECT id FROM stores WHERE id = $1 FOR UPDATE";
    /// Locks a sale until the transaction ends (refunds and voids of one sale queue).
    pub(crate) const LOCK_SALE_ROW: &'static str = "SELECT id FROM sales WHERE store_id = $1 AND id = $2 FOR UPDATE";

    /// Connects for serving: every connection, pooled or direct, switches to `tills_app`
    /// unless it logged in as that role (`direct::set_up`).
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Self> {
        let options = crate::tls::options(url).await?;
        // One budget for the two: half for transactions, half for the one-statement calls (at
        // least one each, so a budget of 1 opens 2).
        let direct_size = (config.max_connections / 2).max(1);
        let engine = Arc::new(EngineSeen::default());
        let seen = engine.clone();
        let pool = ping_when_idle(PgPoolOptions::new())
            .max_connections(config.max_connections.saturating_sub(direct_size).max(1))
            .acquire_timeout(config.acquire_timeout)
            .after_connect(move |conn, _meta| {
                let seen = seen.clone();
                Box::pin(async move { direct::set_up(conn, &seen).await })
            })
            .connect_lazy_with(options.clone());
        let direct = Arc::new(DirectConnections::new(options, direct_size, config.acquire_timeout, engine.clone()));
        Ok(Self { pool, direct, engine })
    }

    /// Runs the migrations as the URL's user (the owner): creates `tills_app` when missing.
    pub async fn migrate(url: &str) -> Result<()> {
        let options = crate::tls::options(url).await?;
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await?;
        PG_MIGRATIONS.run(&pool).await.map_err(|e| StorageError::Other(e.to_string()))?;
        pool.close().await;
        Ok(())
    }

    /// The migrations this build has that the database has not applied, as `version_description`:
    /// a server started on an older schema would fail every request that needs the new parts.
    /// `None` when the URL's user may not read the migration table (it is the owner's).
    pub async fn pending_migrations(url: &str) -> Result<Option<Vec<String>>> {
        let options = crate::tls::options(url).await?;
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await?;
        let applied: std::result::Result<Vec<i64>, sqlx::Error> =
            match sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&pool)
                .await?
            {
                true => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&pool).await,
                false => Ok(Vec::new()),
            };
        pool.close().await;
        let applied = match applied {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(
            PG_MIGRATIONS
                .iter()
                .filter(|m| !applied.contains(&m.version))
                .map(|m| format!("{}_{}", m.version, m.description.replace(' ', "_")))
                .collect(),
        ))
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn pool_connections(&self) -> Connections {
        pool_connections("transactions", &self.pool)
    }

    /// A transaction acting for `store`: `BEGIN` and `SET LOCAL` in one round trip on
    /// PostgreSQL.
    pub(crate) async fn scoped(&self, store: &StoreId, _write: bool) -> Result<Transaction<'static, Postgres>> {
        self.begin_for(store, None).await
    }

    /// `BEGIN`, the store, and `also` (a constant `SET LOCAL`). On PostgreSQL in one round trip;
    /// on a Citus coordinator each `SET LOCAL` is a statement of its own: Citus replays a
    /// `SET LOCAL`'s whole query string on every worker the transaction uses (with
    /// `citus.propagate_set_commands = 'local'`), and `BEGIN; SET LOCAL …` would start each
    /// worker's transaction a second time (`WARNING: there is already a transaction in
    /// progress`).
    async fn begin_for(&self, store: &StoreId, also: Option<&'static str>) -> Result<Transaction<'static, Postgres>> {
        // StoreId holds only [a-z0-9_-], so quoting it is safe.
        let set_store = format!("SET LOCAL tills.store_id = '{}'", store.as_str());
        if self.engine.plain_postgres() {
            let begin = match also {
                Some(also) => format!("BEGIN; {set_store}; {also}"),
                None => format!("BEGIN; {set_store}"),
            };
            return Ok(self.pool.begin_with(AssertSqlSafe(begin)).await?);
        }
        let mut tx = self.pool.begin().await?;
        // Without arguments: the simple protocol, no prepared statement per store.
        tx.execute(AssertSqlSafe(set_store)).await?;
        if let Some(also) = also {
            tx.execute(also).await?;
        }
        Ok(tx)
    }

    /// A read transaction for a query whose conditions depend on which filters it is given
    /// (`$6 IS NULL OR …`): PostgreSQL plans it for the values of each call. The generic plan a
    /// prepared statement falls back to cannot use an index for a `LIKE 'prefix%'` it does not
    /// know yet (seen: a product search reading all 2200 barcodes of the store, 5 ms instead of
    /// 0.8 ms).
    pub(crate) async fn scoped_planned_per_call(&self, store: &StoreId) -> Result<Transaction<'static, Postgres>> {
        self.begin_for(store, Some("SET LOCAL plan_cache_mode = force_custom_plan")).await
    }

    /// A transaction on data that belongs to no store (stores, platform admins).
    pub(crate) async fn global(&self, _write: bool) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

impl SqliteStore {
    /// A write transaction already holds SQLite's one write lock.
    pub(crate) const LOCK_STORE_ROW: &'static str = "SELECT id FROM stores WHERE id = $1";
    pub(crate) const LOCK_SALE_ROW: &'static str = "SELECT id FROM sales WHERE store_id = $1 AND id = $2";

    /// Opens (creating when missing) the database file and migrates it.
    pub async fn connect(url: &str, config: &PoolConfig) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StorageError::Other(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = ping_when_idle(SqlitePoolOptions::new())
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout.max(Duration::from_secs(10)))
            .connect_with(options.clone())
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await.map_err(|e| StorageError::Other(e.to_string()))?;
        let writer = ping_when_idle(SqlitePoolOptions::new())
            .max_connections(1)
            .acquire_timeout(config.acquire_timeout.max(Duration::from_secs(30)))
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn pool_connections(&self) -> Vec<Connections> {
        vec![pool_connections("transactions", &self.pool), pool_connections("writer", &self.writer)]
    }

    /// SQLite has no row-level security; writes go through the one writer connection and take
    /// the write lock at their start (`BEGIN IMMEDIATE`), so concurrent requests queue instead
    /// of failing.
    pub(crate) async fn scoped(&self, _store: &StoreId, write: bool) -> Result<Transaction<'static, Sqlite>> {
        self.global(write).await
    }

    /// SQLite plans every statement for its values already.
    pub(crate) async fn scoped_planned_per_call(&self, store: &StoreId) -> Result<Transaction<'static, Sqlite>> {
        self.scoped(store, false).await
    }

    pub(crate) async fn global(&self, write: bool) -> Result<Transaction<'static, Sqlite>> {
        Ok(if write { self.writer.begin_with("BEGIN IMMEDIATE").await? } else { self.pool.begin().await? })
    }
}

/// Writes one implementation for both backends: `for_each_backend!(impl_x)` expands
/// `impl_x!(PgStore, Postgres)` and `impl_x!(SqliteStore, Sqlite)`.
macro_rules! for_each_backend {
    ($m:ident) => {
        $m!($crate::backend::PgStore, sqlx::Postgres);
        $m!($crate::backend::SqliteStore, sqlx::Sqlite);
    };
}
pub(crate) use for_each_backend;
