//! PostgreSQL connections for the calls that are one statement each: a scan's `tills_scan`, a
//! search's `tills_search_page` and a sale's `tills_sell` — most of what a POS day asks of the
//! database.
//!
//! sqlx's pool pings every connection as it comes back (a spawned task and a round trip, which
//! PostgreSQL answers too): on cold scans that was 12 % of the server's CPU samples, for a
//! statement that ran in autocommit and left nothing behind. These connections skip it: one goes
//! back as soon as its statement finished — with rows or with an error PostgreSQL reported and
//! survived. One whose connection failed (or whose session PostgreSQL ended) is closed.
//!
//! A call abandoned mid-statement (the client left, a timeout) leaves its statement running in
//! PostgreSQL: the connection keeps its slot until that statement's end has been read (a ping,
//! as the pool does), then goes back, or is closed when that takes longer than
//! [`DRAIN_TIMEOUT`]. So clients that give up and retry against a lock cannot open session after
//! session. As in the pool, a connection idle for [`PING_AFTER_IDLE`] is pinged before use (a
//! restarted database costs no request), and one idle for [`CLOSE_AFTER_IDLE`] is closed.
//!
//! Transactions (everything else) stay on sqlx's pool.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgRow, PgSeverity};
use sqlx::query::QueryAs;
use sqlx::{Connection, Executor, FromRow, IntoArguments, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Connections;
use crate::backend::{APP_ROLE, EngineSeen, PING_AFTER_IDLE};

/// How long an abandoned statement may keep its connection's slot before the connection is
/// closed (the request timeout).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections left idle this long after a burst are closed (sqlx's pool: 10 minutes).
const CLOSE_AFTER_IDLE: Duration = Duration::from_secs(600);

/// Up to `size` connections of their own, opened when first needed, reused last in first out
/// (the few a light load needs stay warm).
pub(crate) struct DirectConnections {
    options: PgConnectOptions,
    size: u32,
    /// Connections open now (in use, idle, or finishing an abandoned statement).
    open: AtomicU32,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    acquire_timeout: Duration,
    engine: Arc<EngineSeen>,
}

/// One connection, until [`Direct::finish`]; dropped before that, its statement is drained.
pub(crate) struct Direct {
    conn: Option<PgConnection>,
    owner: Arc<DirectConnections>,
    /// `None` only while an idle connection is pinged before it is handed out.
    permit: Option<OwnedSemaphorePermit>,
}

impl DirectConnections {
    pub(crate) fn new(
        options: PgConnectOptions,
        size: u32,
        acquire_timeout: Duration,
        engine: Arc<EngineSeen>,
    ) -> Self {
        let size = size.max(1);
        DirectConnections {
            options,
            size,
            open: AtomicU32::new(0),
            permits: Arc::new(Semaphore::new(size as usize)),
            idle: Mutex::new(Vec::new()),
            acquire_timeout,
            engine,
        }
    }

    /// A connection, waiting at most the acquire timeout (then `PoolTimedOut`, as the pool).
    pub(crate) async fn get(self: &Arc<Self>) -> Result<Direct, sqlx::Error> {
        tokio::time::timeout(self.acquire_timeout, self.get_unbounded()).await.map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    /// One statement's row (or none) on a direct connection, which then goes back or is closed
    /// ([`Direct::finish`]): the one-statement reads (`tills_scan`, `tills_user_access`, a store).
    pub(crate) async fn fetch_optional<'q, O, A>(
        self: &Arc<Self>,
        query: QueryAs<'q, Postgres, O, A>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        A: 'q + IntoArguments<Postgres>,
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        let mut conn = self.get().await?;
        let row = query.fetch_optional(&mut *conn).await;
        conn.finish(&row);
        row
    }

    async fn get_unbounded(self: &Arc<Self>) -> Result<Direct, sqlx::Error> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((conn, since)) = idle else {
                let conn = connect(&self.options, &self.engine).await?;
                self.open.fetch_add(1, Ordering::Relaxed);
                return Ok(Direct { conn: Some(conn), owner: self.clone(), permit: Some(permit) });
            };
            // Counted from here: dropped during the ping (a timeout), the connection is drained.
            let mut direct = Direct { conn: Some(conn), owner: self.clone(), permit: None };
            if since.elapsed() >= PING_AFTER_IDLE && direct.ping().await.is_err() {
                direct.close(); // gone while idle: the next one, or a new one
                continue;
            }
            direct.permit = Some(permit);
            return Ok(direct);
        }
    }

    /// Back to the idle list; connections idle too long are closed on the way.
    fn give_back(&self, conn: PgConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let before = idle.len();
        idle.retain(|(_, since)| since.elapsed() < CLOSE_AFTER_IDLE);
        let closed = u32::try_from(before - idle.len()).unwrap_or(0);
        idle.push((conn, Instant::now()));
        drop(idle);
        self.open.fetch_sub(closed, Ordering::Relaxed);
    }

    pub(crate) fn connections(&self) -> Connections {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        Connections {
            kind: "statements",
            open: self.open.load(Ordering::Relaxed),
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.size,
        }
    }
}

/// Opens a connection as the server's pool does: as `tills_app`, without JIT.
async fn connect(options: &PgConnectOptions, engine: &EngineSeen) -> Result<PgConnection, sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    set_up(&mut conn, engine).await?;
    Ok(conn)
}

/// What every serving connection runs once: the role without owner rights (so row-level
/// security applies) and no JIT compilation. Notes whether the database is a Citus coordinator.
pub(crate) async fn set_up(conn: &mut PgConnection, engine: &EngineSeen) -> Result<(), sqlx::Error> {
    let (user, citus): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')",
    )
    .fetch_one(&mut *conn)
    .await?;
    engine.saw(citus);
    if user != APP_ROLE {
        conn.execute("SET ROLE tills_app").await?;
    }
    // Short OLTP queries only: JIT compilation costs more than it saves (seen: 140 ms of JIT on
    // a 6 ms product search over 2 million rows).
    conn.execute("SET jit = off").await?;
    Ok(())
}

/// Whether a connection whose statement ended with `error` can serve the next one: yes after
/// an error PostgreSQL reported and survived (a constraint, a lock timeout), not after a failed
/// connection or a FATAL one (the session was ended: a restart, `pg_terminate_backend`).
fn survives(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::RowNotFound => true,
        sqlx::Error::Database(e) => e
            .try_downcast_ref::<PgDatabaseError>()
            .is_none_or(|pg| !matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic)),
        _ => false,
    }
}

impl Direct {
    /// Ends the use with the statement's outcome: the connection goes back, or is closed when
    /// it cannot serve another statement.
    pub(crate) fn finish<T>(mut self, result: &Result<T, sqlx::Error>) {
        match result {
            Err(e) if !survives(e) => self.close(),
            _ => {
                if let Some(conn) = self.conn.take() {
                    self.owner.give_back(conn);
                }
            }
        }
    }

    /// Closes the connection (dropping it closes the socket).
    fn close(&mut self) {
        if self.conn.take().is_some() {
            self.owner.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Dropped without `finish`: the call was abandoned, and its statement may still be running.
/// The connection keeps its slot until PostgreSQL answered a ping (which comes after the
/// statement's own answer), then goes back; closed when that fails or takes too long.
impl Drop for Direct {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        let (owner, permit) = (self.owner.clone(), self.permit.take());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            owner.open.fetch_sub(1, Ordering::Relaxed);
            return;
        };
        runtime.spawn(async move {
            match tokio::time::timeout(DRAIN_TIMEOUT, conn.ping()).await {
                Ok(Ok(())) => owner.give_back(conn),
                _ => {
                    owner.open.fetch_sub(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
}

impl std::ops::Deref for Direct {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a direct connection is held until finish")
    }
}

impl std::ops::DerefMut for Direct {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a direct connection is held until finish")
    }
}
