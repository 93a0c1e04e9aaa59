//! PostgreSQL connections for the calls that are one statement each: a scan's `tills_scan`, a
//! search's `tills_search_page` and a sale's `tills_sell` — most of what a POS day asks of the
//! database.
//!
//! sqlx's pool pings every connection as it comes back (a spawned task and a round trip, which
//! PostgreSQL answers too): on cold scans that was 12 % of the server's CPU samples, for a
//! statement that ran in autocommit and left nothing behind. These connections skip it. A
//! connection goes back only when its statement finished — with rows or with an error PostgreSQL
//! reported (the protocol is then back at rest) — and is closed otherwise: when the request was
//! dropped mid-statement (the client left) or the connection failed. As in the pool, one idle
//! for [`PING_AFTER_IDLE`] is pinged before use, so a restarted database costs no request.
//!
//! Transactions (everything else) stay on sqlx's pool.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Connections;
use crate::backend::{APP_ROLE, PING_AFTER_IDLE};

/// Up to `size` connections of their own, opened when first needed, reused last in first out
/// (the few a light load needs stay warm).
pub(crate) struct DirectConnections {
    options: PgConnectOptions,
    size: u32,
    /// Connections open now (in use or idle).
    open: AtomicU32,
    permits: Semaphore,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    acquire_timeout: Duration,
}

/// One connection, until [`Direct::finish`] gives it back; dropped without that, it is closed.
pub(crate) struct Direct<'a> {
    conn: Option<PgConnection>,
    owner: &'a DirectConnections,
    _permit: SemaphorePermit<'a>,
}

impl DirectConnections {
    pub(crate) fn new(options: PgConnectOptions, size: u32, acquire_timeout: Duration) -> Self {
        let size = size.max(1);
        DirectConnections {
            options,
            size,
            open: AtomicU32::new(0),
            permits: Semaphore::new(size as usize),
            idle: Mutex::new(Vec::new()),
            acquire_timeout,
        }
    }

    /// A connection, waiting at most the acquire timeout (then `PoolTimedOut`, as the pool).
    pub(crate) async fn get(&self) -> Result<Direct<'_>, sqlx::Error> {
        tokio::time::timeout(self.acquire_timeout, self.get_unbounded()).await.map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    async fn get_unbounded(&self) -> Result<Direct<'_>, sqlx::Error> {
        let permit = self.permits.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match idle {
                Some((mut conn, since)) => {
                    if since.elapsed() >= PING_AFTER_IDLE && conn.ping().await.is_err() {
                        self.open.fetch_sub(1, Ordering::Relaxed);
                        continue; // gone while idle: the next one, or a new one
                    }
                    conn
                }
                None => {
                    let conn = connect(&self.options).await?;
                    self.open.fetch_add(1, Ordering::Relaxed);
                    conn
                }
            };
            return Ok(Direct { conn: Some(conn), owner: self, _permit: permit });
        }
    }
}

impl DirectConnections {
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
pub(crate) async fn connect(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    set_up(&mut conn).await?;
    Ok(conn)
}

/// What every serving connection runs once: the role without owner rights (so row-level
/// security applies) and no JIT compilation.
pub(crate) async fn set_up(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let user: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut *conn).await?;
    if user != APP_ROLE {
        conn.execute("SET ROLE tills_app").await?;
    }
    // Short OLTP queries only: JIT compilation costs more than it saves (seen: 140 ms of JIT on
    // a 6 ms product search over 2 million rows).
    conn.execute("SET jit = off").await?;
    Ok(())
}

impl Direct<'_> {
    /// Ends the use: the connection goes back when the statement finished (`result` is its
    /// outcome), and is closed when the connection failed.
    pub(crate) fn finish<T>(mut self, result: &Result<T, sqlx::Error>) {
        let reusable = matches!(result, Ok(_) | Err(sqlx::Error::Database(_) | sqlx::Error::RowNotFound));
        if let (true, Some(conn)) = (reusable, self.conn.take()) {
            self.owner.idle.lock().unwrap_or_else(|e| e.into_inner()).push((conn, Instant::now()));
        }
    }
}

/// A connection not given back is closed: it no longer counts as open.
impl Drop for Direct<'_> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.owner.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl std::ops::Deref for Direct<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("a direct connection is held until finish")
    }
}

impl std::ops::DerefMut for Direct<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a direct connection is held until finish")
    }
}
