//! The PostgreSQL schema obeys Citus's rules for a multi-tenant distribution by `store_id`,
//! read from the live catalog of a migrated database: the distribution column in every primary
//! key, unique constraint and unique index of a store table; foreign keys only between store
//! tables on `store_id` or to the `stores` reference table; row-level security policies without
//! subqueries, on `store_id`; no sequence (no counter shared between stores).

use sqlx::{AssertSqlSafe, Connection, Executor, Row};
use tills_testkit::{Backend, TestDb};

/// Tables that belong to no store: `stores` (a reference table) and the platform's own.
const NOT_DISTRIBUTED: &[&str] = &["stores", "platform_admins", "_sqlx_migrations"];

#[tokio::test]
async fn schema_is_ready_for_citus() {
    let db = TestDb::new(Backend::Postgres).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut problems = Vec::new();

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let store_tables: Vec<&String> = tables.iter().filter(|t| !NOT_DISTRIBUTED.contains(&t.as_str())).collect();
    assert!(store_tables.len() >= 15, "found the store tables: {store_tables:?}");

    for table in &store_tables {
        // The distribution column exists and is NOT NULL.
        let not_null: Option<bool> = sqlx::query_scalar(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'store_id' AND NOT attisdropped",
        )
        .bind(table.as_str())
        .fetch_optional(&pool)
        .await
        .unwrap();
        if not_null != Some(true) {
            problems.push(format!("{table}: no store_id NOT NULL column"));
            continue;
        }
        // Every unique index (primary keys and unique constraints included) contains store_id.
        let uniques = sqlx::query(
            "SELECT i.relname::text AS name, \
                    bool_or(a.attname = 'store_id') AS has_store \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey) \
             WHERE x.indrelid = $1::regclass AND x.indisunique GROUP BY i.relname",
        )
        .bind(table.as_str())
        .fetch_all(&pool)
        .await
        .unwrap();
        for u in &uniques {
            if !u.get::<Option<bool>, _>("has_store").unwrap_or(false) {
                problems.push(format!("{table}: unique index {} lacks store_id", u.get::<String, _>("name")));
            }
        }
        // Foreign keys: to `stores`, or between store tables including store_id on both sides.
        let fks = sqlx::query(
            "SELECT conname::text AS name, confrelid::regclass::text AS target, \
                    (SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY (conkey)) AS cols, \
                    (SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = confrelid AND attnum = ANY (confkey)) AS target_cols \
             FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'",
        )
        .bind(table.as_str())
        .fetch_all(&pool)
        .await
        .unwrap();
        for fk in &fks {
            let (name, target) = (fk.get::<String, _>("name"), fk.get::<String, _>("target"));
            let cols: Vec<String> = fk.get("cols");
            let target_cols: Vec<String> = fk.get("target_cols");
            let ok = if target == "stores" {
                cols == ["store_id"] && target_cols == ["id"]
            } else {
                !NOT_DISTRIBUTED.contains(&target.as_str())
                    && cols.contains(&"store_id".to_owned())
                    && target_cols.contains(&"store_id".to_owned())
            };
            if !ok {
                problems.push(format!(
                    "{table}: foreign key {name} ({cols:?} → {target} {target_cols:?}) breaks colocation"
                ));
            }
        }
        // Row-level security: enabled, forced, policies on store_id without subqueries.
        let (enabled, forced): (bool, bool) =
            sqlx::query_as("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass")
                .bind(table.as_str())
                .fetch_one(&pool)
                .await
                .unwrap();
        if !enabled || !forced {
            problems.push(format!("{table}: row-level security not enabled and forced"));
        }
        let policies: Vec<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT policyname::text, qual, with_check FROM pg_policies WHERE tablename = $1")
                .bind(table.as_str())
                .fetch_all(&pool)
                .await
                .unwrap();
        if policies.is_empty() {
            problems.push(format!("{table}: no row-level security policy"));
        }
        for (name, qual, check) in policies {
            for expr in [qual, check].into_iter().flatten() {
                let lower = expr.to_lowercase();
                if lower.contains("select") || !lower.contains("store_id") || !lower.contains("tills.store_id") {
                    problems.push(format!("{table}: policy {name} is not a plain store_id comparison: {expr}"));
                }
            }
        }
    }
    // No sequences: ids are UUIDs and each store has its own invoice counter row.
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT sequence_name::text FROM information_schema.sequences WHERE sequence_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let sequences: Vec<String> = sequences.into_iter().filter(|s| !s.starts_with("_sqlx")).collect();
    if !sequences.is_empty() {
        problems.push(format!("sequences shared between stores: {sequences:?}"));
    }
    assert!(problems.is_empty(), "the schema breaks Citus's rules:\n{}", problems.join("\n"));
}

/// On the Citus cluster: `tills citus distribute` found every table with a `store_id` (none
/// listed by hand), distributed each by it in one colocation group, put the functions with a
/// `p_store` on the store's worker, and a second run changes nothing.
#[tokio::test]
async fn distribute_covers_every_store_table_and_is_idempotent() {
    let db = TestDb::new(Backend::Citus).await;
    let again = tills_storage::citus::distribute(&db.url).await.expect("distribute again");
    assert_eq!(again.changed, 0, "a second run changed something: {:#?}", again.lines);
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let with_store: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'store_id' AND NOT a.attisdropped \
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut reported = again.store_tables.clone();
    reported.sort();
    assert_eq!(reported, with_store);
    let groups: Vec<(String, String, Option<String>, i32)> = sqlx::query_as(
        "SELECT table_name::text, citus_table_type::text, distribution_column::text, colocation_id FROM citus_tables ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let colocation: std::collections::BTreeSet<i32> = groups
        .iter()
        .filter(|(t, ..)| with_store.contains(t))
        .map(|(t, kind, column, group)| {
            assert_eq!((kind.as_str(), column.as_deref()), ("distributed", Some("store_id")), "{t}");
            *group
        })
        .collect();
    assert_eq!(colocation.len(), 1, "store tables in more than one colocation group: {groups:?}");
    for reference in ["stores", "platform_admins"] {
        assert!(groups.iter().any(|(t, kind, ..)| t == reference && kind == "reference"), "{reference}: {groups:?}");
    }
    let delegated: Vec<(String, i32)> = sqlx::query_as(
        "SELECT objid::regproc::text, colocationid FROM pg_dist_object \
         WHERE classid = 'pg_proc'::regclass AND distribution_argument_index IS NOT NULL ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = delegated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "tills_journal_append",
            "tills_scan",
            "tills_search_page",
            "tills_sell",
            "tills_sell_journaled",
            "tills_user_access"
        ]
    );
    assert!(delegated.iter().all(|(_, g)| colocation.contains(g)), "{delegated:?}");
    let settings: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(setconfig) FROM pg_db_role_setting WHERE setrole = 0 \
         AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(settings, ["citus.enable_unsafe_triggers=on", "citus.propagate_set_commands=local"]);
}

/// Without Citus the command refuses and says what is missing.
#[tokio::test]
async fn distribute_refuses_plain_postgres() {
    let db = TestDb::new(Backend::Postgres).await;
    let err = tills_storage::citus::distribute(&db.url).await.expect_err("no Citus here").to_string();
    // Citus is installed on this machine (the test command builds it) but not loaded here.
    assert!(err.contains("no Citus") || err.contains("Citus is installed but not loaded"), "{err}");
    assert!(!tills_storage::citus::is_distributed(&db.url).await.unwrap());
}

/// Row-level security holds on the workers themselves: a worker's shards, read directly as
/// `tills_app`, show nothing without a store, only store A's rows as store A, and refuse a row
/// of store B.
#[tokio::test]
async fn row_level_security_holds_on_the_workers_shards() {
    let db = TestDb::new(Backend::Citus).await;
    let store = tills_storage::connect(&db.url, &tills_storage::PoolConfig::default()).await.unwrap();
    // Enough stores that both workers hold some.
    let stores: Vec<String> = (0..6).map(|i| format!("rls-{i}")).collect();
    for s in &stores {
        crate::make_store(&store, s).await;
    }
    let coordinator = sqlx::PgPool::connect(&db.url).await.unwrap();
    let (a, b) = (&stores[0], &stores[1]);
    let mut seen_a = 0;
    let mut workers_with_rows = 0;
    for worker_url in &db.worker_urls {
        let port = worker_url.rsplit_once(':').unwrap().1.split('/').next().unwrap().parse::<i32>().unwrap();
        let shards: Vec<String> = sqlx::query_scalar(
            "SELECT shard_name::text FROM citus_shards WHERE table_name = 'users'::regclass AND nodeport = $1",
        )
        .bind(port)
        .fetch_all(&coordinator)
        .await
        .unwrap();
        assert!(!shards.is_empty(), "worker {port} holds no users shard");
        let mut w = sqlx::PgConnection::connect(worker_url).await.unwrap();
        // Rows are there (as the superuser, who bypasses row-level security)...
        let mut total = 0i64;
        for shard in &shards {
            total += sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!("SELECT count(*) FROM {shard}")))
                .fetch_one(&mut w)
                .await
                .unwrap();
        }
        if total > 0 {
            workers_with_rows += 1;
        }
        // ... and as tills_app without a store, none.
        w.execute("SET ROLE tills_app").await.unwrap();
        for shard in &shards {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {shard}")))
                .fetch_one(&mut w)
                .await
                .unwrap();
            assert_eq!(n, 0, "{shard} on worker {port} shows rows without a store");
        }
        // As store A: only A's.
        w.execute(AssertSqlSafe(format!("SET tills.store_id = '{a}'"))).await.unwrap();
        for shard in &shards {
            let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT store_id FROM {shard}")))
                .fetch_all(&mut w)
                .await
                .unwrap();
            assert!(rows.iter().all(|s| s == a), "{shard} on worker {port} shows another store: {rows:?}");
            seen_a += rows.len();
        }
        // A row for store B is refused, whichever shard it is written to.
        let insert = format!(
            "INSERT INTO {} (store_id, id, email, name, role, password_hash, active, created_at, updated_at) \
             VALUES ('{b}', gen_random_uuid(), 'x@b.test', 'x', 'cashier', 'h', true, now(), now())",
            shards[0]
        );
        let refused = w.execute(AssertSqlSafe(insert)).await.expect_err("a row of store B as store A");
        assert!(refused.to_string().contains("row-level security"), "{refused}");
    }
    assert_eq!(workers_with_rows, 2, "the stores all landed on one worker");
    assert_eq!(seen_a, 1, "store A's owner, once");
}

/// The store functions name their store wherever they run: delegated to the store's worker (a
/// call on its own) and on the coordinator (inside a transaction, where Citus does not delegate,
/// so the function's `SET LOCAL` must reach the worker).
#[tokio::test]
async fn store_functions_work_delegated_and_not() {
    let db = TestDb::new(Backend::Citus).await;
    let store = tills_storage::connect(&db.url, &tills_storage::PoolConfig::default()).await.unwrap();
    for s in ["fn-a", "fn-b", "fn-c", "fn-d"] {
        crate::make_store(&store, s).await;
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(
            "INSERT INTO products (store_id, id, name, name_key, price, created_at, updated_at) \
             VALUES ($1, gen_random_uuid(), 'Milk', 'milk', 100, now(), now()) RETURNING id",
        )
        .bind(s)
        .fetch_one(&pool)
        .await
        .map(|_| ())
        .unwrap_or_else(|e| panic!("product of {s}: {e}"));
        sqlx::query(
            "INSERT INTO product_barcodes (store_id, barcode, product_id, kind, position) \
             SELECT store_id, '4000', id, 'primary', 0 FROM products WHERE store_id = $1",
        )
        .bind(s)
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("barcode of {s}: {e}"));
    }
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM products")
        .fetch_all(&sqlx::PgPool::connect(&db.url).await.unwrap())
        .await
        .unwrap();
    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
    c.execute("SET ROLE tills_app").await.unwrap();
    for s in ["fn-a", "fn-b", "fn-c", "fn-d"] {
        // Delegated.
        let alone: Vec<String> =
            sqlx::query_scalar("SELECT store_id FROM tills_scan($1, '4000')").bind(s).fetch_all(&mut c).await.unwrap();
        assert_eq!(alone, [s], "tills_scan delegated");
        // Not delegated: in a transaction on the coordinator.
        let mut tx = c.begin().await.unwrap();
        let inside: Vec<String> = sqlx::query_scalar("SELECT store_id FROM tills_scan($1, '4000')")
            .bind(s)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside, [s], "tills_scan inside a transaction on the coordinator");
        let page: Vec<Option<String>> = sqlx::query_scalar("SELECT store_id FROM tills_search_page($1, $2)")
            .bind(s)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(page, [Some(s.to_owned())], "tills_search_page inside a transaction");
        tx.rollback().await.unwrap();
    }
}

/// A Citus node's default TLS certificate (self-signed, X.509 v1) is one rustls cannot parse:
/// under the default `sslmode=prefer` the server connects without TLS; under `require` it says
/// what to do.
#[tokio::test]
async fn a_citus_nodes_default_certificate() {
    let db = TestDb::new(Backend::Citus).await;
    let prefer = db.url.replace("?sslmode=disable", "");
    let ssl: String = {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SHOW ssl").fetch_one(&mut c).await.unwrap()
    };
    assert_eq!(ssl, "on", "CREATE EXTENSION citus turns TLS on");
    let store = tills_storage::connect(&prefer, &tills_storage::PoolConfig::default()).await.unwrap();
    crate::make_store(&store, "tls-a").await;
    assert!(store.get_store(&crate::sid("tls-a")).await.unwrap().is_some());
    tills_storage::migrate(&prefer).await.expect("tills migrate under sslmode=prefer");
    let err = match tills_storage::connect(&format!("{prefer}?sslmode=require"), &tills_storage::PoolConfig::default())
        .await
    {
        Ok(_) => panic!("sslmode=require with the default certificate must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("X.509 v1") && err.contains("sslmode"), "{err}");
}

/// A store table a later migration adds (here created as a migration would, on the distributed
/// database) is found and distributed by the next run, colocated with the others: no list to
/// keep by hand. `tills migrate` runs this after its migrations on a distributed database.
#[tokio::test]
async fn a_later_store_table_is_distributed_by_the_next_run() {
    let db = TestDb::new(Backend::Citus).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    for sql in [
        "CREATE TABLE later_entries (store_id text NOT NULL REFERENCES stores (id), id uuid NOT NULL, \
         sale_id uuid NOT NULL, PRIMARY KEY (store_id, id), FOREIGN KEY (store_id, sale_id) REFERENCES sales (store_id, id))",
        "ALTER TABLE later_entries ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE later_entries FORCE ROW LEVEL SECURITY",
        "CREATE POLICY store_isolation ON later_entries USING (store_id = current_setting('tills.store_id', true)) \
         WITH CHECK (store_id = current_setting('tills.store_id', true))",
    ] {
        pool.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert!(tills_storage::citus::is_distributed(&db.url).await.unwrap());
    let report = tills_storage::citus::distribute(&db.url).await.unwrap();
    assert_eq!(report.changed, 1, "{:#?}", report.lines);
    assert!(
        report.lines.iter().any(|l| l.starts_with("later_entries: distributed by store_id")),
        "{:#?}",
        report.lines
    );
    let (kind, same_group): (String, bool) = sqlx::query_as(
        "SELECT citus_table_type::text, colocation_id = (SELECT colocation_id FROM citus_tables WHERE table_name = 'sales'::regclass) \
         FROM citus_tables WHERE table_name = 'later_entries'::regclass",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((kind.as_str(), same_group), ("distributed", true));
}
