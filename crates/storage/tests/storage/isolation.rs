//! Store isolation at the storage layer, and row-level security on PostgreSQL.

use sqlx::{AssertSqlSafe, Executor, Row};
use tills_domain::{Email, Role};
use tills_storage::{NewAudit, PgStore, PoolConfig, ProductDraft, StorageError, UserChanges};
use tills_testkit::{Backend, TestDb};

use crate::{Ctx, both_backends, make_store, new_user, sid};

async fn another_stores_users_are_invisible(ctx: Ctx) {
    let s = &ctx.store;
    let (a, b) = (sid("iso-a"), sid("iso-b"));
    make_store(s, "iso-a").await;
    make_store(s, "iso-b").await;
    let b_user = s.create_user(&b, new_user("bob@b.test", Role::Cashier), NewAudit::new("user.create")).await.unwrap();

    assert!(s.get_user(&a, b_user.id).await.unwrap().is_none());
    assert!(s.find_user_by_email(&a, &Email::parse("bob@b.test").unwrap()).await.unwrap().is_none());
    assert!(s.list_users(&a, None, 100).await.unwrap().iter().all(|u| u.store_id == a));
    let r = s.update_user(&a, b_user.id, UserChanges { name: Some("pwned".into()), ..Default::default() }, None).await;
    assert!(matches!(r, Err(StorageError::NotFound)), "{r:?}");
    let r = s.delete_user(&a, b_user.id, NewAudit::new("user.delete")).await;
    assert!(matches!(r, Err(StorageError::NotFound)), "{r:?}");
    assert_eq!(s.get_user(&b, b_user.id).await.unwrap().unwrap().name, "bob");
    // What authorizes a request: the user's own store only; a deactivated user says so.
    assert_eq!(s.user_access(&a, b_user.id).await.unwrap(), None);
    assert_eq!(s.user_access(&b, b_user.id).await.unwrap(), Some((Role::Cashier, true)));
    let off = UserChanges { active: Some(false), ..Default::default() };
    s.update_user(&b, b_user.id, off, None).await.unwrap();
    assert_eq!(s.user_access(&b, b_user.id).await.unwrap(), Some((Role::Cashier, false)));
    s.delete_user(&b, b_user.id, NewAudit::new("user.delete")).await.unwrap();
    assert_eq!(s.user_access(&b, b_user.id).await.unwrap(), None, "deleted");
}
both_backends!(another_stores_users_are_invisible_story, another_stores_users_are_invisible);

/// Through the server's own connections (role `tills_app`), a query that forgets its store_id
/// condition still sees only the store the transaction names, and cannot write elsewhere.
#[tokio::test]
async fn row_level_security_is_the_second_wall() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    make_store(&store, "rls-a").await;
    make_store(&store, "rls-b").await;
    store.create_user(&sid("rls-b"), new_user("b2@b.test", Role::Cashier), NewAudit::new("user.create")).await.unwrap();

    let pg = PgStore::connect(&db.url, &PoolConfig::default()).await.unwrap();
    let pool = pg.pool();
    let role: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(pool).await.unwrap();
    assert_eq!(role, "tills_app", "the server's connections run as tills_app");
    let jit: String = sqlx::query_scalar("SHOW jit").fetch_one(pool).await.unwrap();
    assert_eq!(jit, "off", "no JIT compilation for short queries");

    // No store named: no rows at all.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.unwrap();
    assert_eq!(n, 0, "an unscoped SELECT sees no store's rows");

    // Store A named: an unscoped SELECT sees A's rows only.
    let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'rls-a'").await.unwrap();
    let rows = tx.fetch_all("SELECT store_id FROM users").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows.iter().all(|r| r.get::<String, _>(0) == "rls-a"));
    // …and cannot insert a row for store B.
    let insert = tx
        .execute(AssertSqlSafe(format!(
            "INSERT INTO users (store_id, id, email, name, role, password_hash, active, created_at, updated_at) \
             VALUES ('rls-b', '{}', 'evil@b.test', 'Evil', 'admin', 'x', true, now(), now())",
            tills_domain::new_id()
        )))
        .await;
    let err = insert.expect_err("row-level security must refuse the write");
    assert!(matches!(StorageError::from(err), StorageError::TenantViolation(_)));
    tx.rollback().await.unwrap();

    // Nor update or delete B's rows while naming A.
    let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'rls-a'").await.unwrap();
    let done = tx.execute("UPDATE users SET name = 'pwned' WHERE store_id = 'rls-b'").await.unwrap();
    assert_eq!(done.rows_affected(), 0);
    let done = tx.execute("DELETE FROM audit_log").await;
    assert!(done.is_err(), "tills_app may not delete audit entries");
    tx.rollback().await.unwrap();

    // The server's role is not the owner and cannot switch RLS off.
    let bypass: bool = sqlx::query_scalar("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(!bypass);
    assert!(pool.execute("ALTER TABLE users DISABLE ROW LEVEL SECURITY").await.is_err());
}

/// What a sale wrote stays as it was written: the server's role may change a sale's status (and
/// who voided it, when), and nothing else of it, its lines, payments, refunds or clientRefs.
#[tokio::test]
async fn the_server_role_cannot_delete_or_rewrite_sales() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    make_store(&store, "kept").await;
    let pg = PgStore::connect(&db.url, &PoolConfig::default()).await.unwrap();
    let pool = pg.pool();
    let refused = [
        "DELETE FROM sales",
        "DELETE FROM sale_lines",
        "DELETE FROM payments",
        "DELETE FROM refunds",
        "DELETE FROM refund_lines",
        "DELETE FROM idempotency_keys",
        "DELETE FROM invoice_counters",
        "DELETE FROM stores",
        "UPDATE sales SET total = 0",
        "UPDATE sales SET invoice_number = 'X'",
        "UPDATE sale_lines SET quantity_milli = 0",
        "UPDATE payments SET amount = 0",
        "UPDATE refund_lines SET amount = 0",
        "UPDATE idempotency_keys SET resource_id = gen_random_uuid()",
    ];
    for sql in refused {
        let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'kept'").await.unwrap();
        let err = tx.execute(sql).await.expect_err(sql);
        assert_eq!(err.as_database_error().and_then(|e| e.code()).as_deref(), Some("42501"), "{sql}: {err}");
        tx.rollback().await.unwrap();
    }
    // What voiding and refunding change is allowed.
    let mut tx = pool.begin_with("BEGIN; SET LOCAL tills.store_id = 'kept'").await.unwrap();
    tx.execute("UPDATE sales SET status = 'voided', voided_at = now(), voided_by = NULL").await.unwrap();
    tx.execute("SELECT id FROM sales FOR UPDATE").await.unwrap();
    tx.rollback().await.unwrap();
}

/// The audit log keeps every entry: even the owner cannot change or delete one.
#[tokio::test]
async fn audit_log_is_append_only_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
        make_store(&store, "append-only").await;
        let owner = owner_pool_exec(&db, "UPDATE audit_log SET action = 'x'").await;
        assert!(owner.is_err(), "{backend:?}: update must fail");
        let owner = owner_pool_exec(&db, "DELETE FROM audit_log").await;
        assert!(owner.is_err(), "{backend:?}: delete must fail");
    }
}

async fn owner_pool_exec(db: &TestDb, sql: &'static str) -> Result<u64, sqlx::Error> {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await?;
            pool.execute(sql).await.map(|r| r.rows_affected())
        }
        Backend::Postgres | Backend::Citus => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            pool.execute(sql).await.map(|r| r.rows_affected())
        }
    }
}

/// The scan reads through `tills_scan` in one statement, outside any transaction of ours: it
/// answers only the named store's barcode, and its store setting ends with the statement, so the
/// connection's next query is unscoped again (sees nothing).
#[tokio::test]
async fn the_one_round_trip_scan_is_scoped_and_leaves_nothing_behind() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.unwrap();
    for (s, price) in [("scan-a", 100), ("scan-b", 200)] {
        make_store(&store, s).await;
        let draft = ProductDraft {
            name: format!("Milk {s}"),
            name_key: format!("milk {s}"),
            sku: None,
            price,
            cost: None,
            tax_rate: 0,
            category_id: None,
            brand_id: None,
            unit_id: None,
            barcode: Some("4006381333931".into()),
            alternate_barcodes: vec![],
            units: vec![],
            active: true,
            show_in_quick_products: false,
        };
        store.create_product(&sid(s), tills_domain::new_id(), &draft, 0, None).await.unwrap();
    }
    for (s, price) in [("scan-a", 100), ("scan-b", 200)] {
        let found = store.find_by_barcode(&sid(s), "4006381333931").await.unwrap().expect("scanned");
        assert_eq!((found.product.store_id.as_str(), found.product.price), (s, price));
    }
    assert!(store.find_by_barcode(&sid("scan-c"), "4006381333931").await.unwrap().is_none());

    // One connection: the scan, then the same connection's next statements.
    let pg = PgStore::connect(&db.url, &PoolConfig { max_connections: 1, ..PoolConfig::default() }).await.unwrap();
    let pool = pg.pool();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tills_scan('scan-a', '4006381333931')").fetch_one(pool).await.unwrap();
    assert_eq!(n, 1);
    let setting: Option<String> =
        sqlx::query_scalar("SELECT NULLIF(current_setting('tills.store_id', true), '')").fetch_one(pool).await.unwrap();
    assert_eq!(setting, None, "the store setting ended with the scan's statement");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(pool).await.unwrap();
    assert_eq!(n, 0, "an unscoped query after a scan sees no rows");
}
