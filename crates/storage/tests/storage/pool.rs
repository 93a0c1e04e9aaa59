//! The pool checks a connection on checkout only after it sat idle (`backend::PING_AFTER_IDLE`):
//! a connection the database dropped meanwhile is replaced, and the query does not fail.

use std::time::Duration;

use sqlx::Executor;
use tills_testkit::{Backend, admin_connection};

use crate::{make_store, open, sid};

#[tokio::test]
async fn a_connection_dropped_while_idle_is_replaced() {
    let ctx = open(Backend::Postgres).await;
    make_store(&ctx.store, "pool-a").await;
    assert!(ctx.store.get_store(&sid("pool-a")).await.unwrap().is_some());

    // The database ends every session of this test's database (a restart, a failover, an idle
    // timeout of a proxy would do the same).
    let name = ctx.db.pg_name().expect("a PostgreSQL test database");
    let mut admin = admin_connection().await;
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the pool had a connection open");
    admin.execute("SELECT 1").await.unwrap();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let found = ctx.store.get_store(&sid("pool-a")).await.expect("the dead connection was replaced");
    assert_eq!(found.unwrap().id, sid("pool-a"));
}
