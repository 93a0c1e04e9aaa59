//! Connections to PostgreSQL: the pool checks one on checkout only after it sat idle
//! (`backend::PING_AFTER_IDLE`), and so do the one-statement calls' own connections
//! (`direct.rs`): a connection the database dropped meanwhile is replaced, and the query does not
//! fail. One-statement calls abandoned mid-statement keep their slots until their statements
//! end, and never hand an unread answer to the next call.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tills_storage::ProductDraft;
use tills_testkit::{Backend, admin_connection};

use crate::{make_store, open, sid};

#[tokio::test]
async fn a_connection_dropped_while_idle_is_replaced() {
    let ctx = open(Backend::Postgres).await;
    make_store(&ctx.store, "pool-a").await;
    assert!(ctx.store.get_store(&sid("pool-a")).await.unwrap().is_some());
    // A scan opens a connection of the one-statement calls.
    assert!(ctx.store.find_by_barcode(&sid("pool-a"), "4006381333931").await.unwrap().is_none());

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
    assert!(ended.len() >= 2, "the pool and the scan had a connection open each");
    admin.execute("SELECT 1").await.unwrap();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let found = ctx.store.get_store(&sid("pool-a")).await.expect("the dead connection was replaced");
    assert_eq!(found.unwrap().id, sid("pool-a"));
    let scanned = ctx.store.find_by_barcode(&sid("pool-a"), "4006381333931").await;
    assert!(scanned.expect("the scan's dead connection was replaced").is_none());

    // Ended again while fresh (no ping before use): the first scan may fail with the session's
    // FATAL error, but its connection is closed, not kept for the next one.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(&mut admin)
    .await
    .unwrap();
    let _ = ctx.store.find_by_barcode(&sid("pool-a"), "4006381333931").await;
    let scanned = ctx.store.find_by_barcode(&sid("pool-a"), "4006381333931").await;
    assert!(scanned.expect("a connection PostgreSQL ended is not reused").is_none());
}

fn product(name: &str, barcode: &str) -> ProductDraft {
    ProductDraft {
        name: name.into(),
        name_key: name.to_lowercase(),
        sku: None,
        price: 100,
        cost: None,
        tax_rate: 0,
        category_id: None,
        brand_id: None,
        unit_id: None,
        barcode: Some(barcode.into()),
        alternate_barcodes: vec![],
        units: vec![],
        active: true,
        show_in_quick_products: false,
    }
}

/// Scans that wait in PostgreSQL (another transaction holds the products table) are given up
/// on, as when terminals disconnect and retry: each abandoned statement still runs, and keeps
/// its connection's slot until it ends, so twelve of them hold at most the eight connections
/// the calls may open instead of a session each. Once the lock is gone the connections come
/// back, and each scan reads its own answer.
#[tokio::test]
async fn abandoned_scans_hold_their_slots_until_their_statements_end() {
    let ctx = open(Backend::Postgres).await;
    let store = sid("pool-b");
    make_store(&ctx.store, "pool-b").await;
    for (name, code) in [("Cola", "5449000000996"), ("Milk", "4006381333931")] {
        ctx.store.create_product(&store, tills_domain::new_id(), &product(name, code), 0, None).await.unwrap();
    }
    let cola = ctx.store.find_by_barcode(&store, "5449000000996").await.unwrap().expect("cola");
    assert_eq!(cola.product.name, "Cola");

    let mut owner = PgConnection::connect(&ctx.db.url).await.unwrap();
    let mut blocking = owner.begin().await.unwrap();
    blocking.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE").await.unwrap();
    for _ in 0..12 {
        let gave_up =
            tokio::time::timeout(Duration::from_millis(200), ctx.store.find_by_barcode(&store, "5449000000996"));
        assert!(gave_up.await.is_err(), "the scan waited for the lock");
    }
    let name = ctx.db.pg_name().expect("a PostgreSQL test database").to_owned();
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_one(&mut *blocking)
    .await
    .unwrap();
    assert!((1..=8).contains(&waiting), "{waiting} sessions wait for the lock");
    let statements = |store: &dyn tills_storage::Store| {
        store.connections().into_iter().find(|c| c.kind == "statements").expect("statements")
    };
    assert!(statements(&*ctx.store).open <= 8);
    blocking.commit().await.unwrap();

    // The drained connections come back, idle.
    let mut settled = false;
    for _ in 0..50 {
        let c = statements(&*ctx.store);
        if c.open == c.idle && c.open <= 8 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(settled, "{:?}", statements(&*ctx.store));
    for (code, name) in [("4006381333931", "Milk"), ("5449000000996", "Cola"), ("4006381333931", "Milk")] {
        let found = ctx.store.find_by_barcode(&store, code).await.unwrap().expect("scanned");
        assert_eq!(found.product.name, name, "each scan reads its own answer");
    }
    let c = statements(&*ctx.store);
    assert!(c.open == c.idle && (1..=8).contains(&c.open) && c.max == 8, "{c:?}");
}
