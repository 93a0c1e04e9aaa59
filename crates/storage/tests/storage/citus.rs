//! The PostgreSQL schema obeys Citus's rules for a multi-tenant distribution by `store_id`,
//! read from the live catalog of a migrated database: the distribution column in every primary
//! key, unique constraint and unique index of a store table; foreign keys only between store
//! tables on `store_id` or to the `stores` reference table; row-level security policies without
//! subqueries, on `store_id`; no sequence (no counter shared between stores).

use sqlx::Row;
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
