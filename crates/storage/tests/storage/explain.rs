//! On PostgreSQL every catalog query is served by an index that starts with store_id: with
//! 20,000 products in each of 50 stores, no plan scans `products` sequentially — neither the
//! custom plans of the first executions nor the generic plan PostgreSQL may switch to later.

use sqlx::{AssertSqlSafe, Executor, Row};
use tills_testkit::{Backend, TestDb};

const STORES: i64 = 50;
const PER_STORE: i64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_queries_never_scan_products_sequentially() {
    let db = TestDb::new(Backend::Postgres).await;
    // As the owner (superuser): load the data directly, fast.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    pool.execute(
        "INSERT INTO stores (id, name, currency, currency_decimals, created_at, updated_at) \
         SELECT 'bench-' || lpad(s::text, 4, '0'), 'Store ' || s, 'USD', 2, now(), now() FROM generate_series(1, 50) s",
    )
    .await
    .unwrap();
    pool.execute(
        "INSERT INTO categories (store_id, id, name, name_key, created_at, updated_at) \
         SELECT s.id, md5(s.id || '/' || c)::uuid, 'Cat ' || c, 'cat ' || c, now(), now() \
         FROM stores s, generate_series(1, 20) c",
    )
    .await
    .unwrap();
    let insert = format!(
        "INSERT INTO products (store_id, id, name, name_key, sku, price, tax_rate, category_id, barcode, status, \
           show_in_quick_products, created_at, updated_at) \
         SELECT s.id, gen_random_uuid(), 'Product ' || n, 'product ' || n, 'SKU-' || n, 100 + n % 900, 1900, \
           md5(s.id || '/' || (1 + n % 20))::uuid, \
           lpad(n::text, 13, '0'), CASE WHEN n % 10 = 0 THEN 'inactive' ELSE 'active' END, n % 100 = 0, \
           now() - (n || ' seconds')::interval, now() \
         FROM stores s, generate_series(1, {PER_STORE}) n"
    );
    pool.execute(AssertSqlSafe(insert)).await.unwrap();
    pool.execute(
        "INSERT INTO product_barcodes (store_id, barcode, product_id, kind) \
         SELECT store_id, barcode, id, 'primary' FROM products",
    )
    .await
    .unwrap();
    pool.execute("ANALYZE").await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(&pool).await.unwrap();
    assert_eq!(n, STORES * PER_STORE);

    let category: sqlx::types::Uuid =
        sqlx::query_scalar("SELECT id FROM categories WHERE store_id = 'bench-0007' LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let store = "'bench-0007'";
    let cat = format!("'{category}'::uuid");
    // Parameters for the list queries: ($2 status, $3 category, $4 brand, $5 quick, $6 name
    // pattern, $7 prefix pattern, $8/$9 keyset, $10 limit), in the shapes the API sends.
    let list_cases = [
        format!("{store}, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, 51"),
        format!("{store}, 'active', NULL, NULL, false, NULL, NULL, NULL, NULL, 51"),
        format!("{store}, NULL, {cat}, NULL, false, NULL, NULL, NULL, NULL, 51"),
        format!("{store}, NULL, NULL, NULL, true, NULL, NULL, NULL, NULL, 51"),
        format!("{store}, NULL, NULL, NULL, false, '%duct 12%', 'duct 12%', NULL, NULL, 51"),
    ];
    let mut explained = 0;
    for mode in ["force_custom_plan", "force_generic_plan"] {
        for (name, sql) in tills_storage::catalog_queries() {
            let types = match name {
                "list by name" => "text, text, uuid, uuid, boolean, text, text, text, uuid, bigint",
                "list newest first" => "text, text, uuid, uuid, boolean, text, text, timestamptz, uuid, bigint",
                "scan" | "barcode owner" => "text, text",
                "get" => "text, uuid",
                "stock movements" => "text, uuid, bigint",
                "stock movements after" => "text, uuid, timestamptz, uuid, bigint",
                other => panic!("no types for {other}"),
            };
            let args: Vec<String> = match name {
                "list by name" => list_cases.iter().cloned().chain([format!(
                    "{store}, NULL, NULL, NULL, false, NULL, NULL, 'product 5', '00000000-0000-0000-0000-000000000000'::uuid, 51"
                )]).collect(),
                "list newest first" => list_cases.iter().cloned().chain([format!(
                    "{store}, NULL, NULL, NULL, false, NULL, NULL, now() - interval '1 hour', '00000000-0000-0000-0000-000000000000'::uuid, 51"
                )]).collect(),
                "scan" | "barcode owner" => vec![format!("{store}, '0000000012345'")],
                "get" => vec![format!("{store}, gen_random_uuid()")],
                "stock movements" => vec![format!("{store}, gen_random_uuid(), 51")],
                "stock movements after" => vec![format!(
                    "{store}, gen_random_uuid(), now() - interval '1 hour', '00000000-0000-0000-0000-000000000000'::uuid, 51"
                )],
                other => panic!("no parameters for {other}"),
            };
            for (i, a) in args.iter().enumerate() {
                let mut conn = pool.acquire().await.unwrap();
                conn.execute(AssertSqlSafe(format!("SET plan_cache_mode = {mode}"))).await.unwrap();
                conn.execute(AssertSqlSafe(format!("PREPARE q ({types}) AS {sql}"))).await.unwrap();
                let rows = conn.fetch_all(AssertSqlSafe(format!("EXPLAIN EXECUTE q({a})"))).await.unwrap();
                conn.execute("DEALLOCATE q").await.unwrap();
                let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
                let plan = plan.join("\n");
                assert!(
                    !plan.contains("Seq Scan on products"),
                    "{name} (case {i}, {mode}) scans products sequentially:\n{plan}"
                );
                explained += 1;
            }
        }
    }
    assert!(explained >= 20);
}
