//! On the Citus cluster: a busy store moves to another worker while `tills bench` sells to it,
//! and not one request fails.

use std::time::Duration;

use tills_bench::{self as bench, load, seed};
use tills_domain::StoreId;
use tills_testkit::Backend;

use crate::helpers::TestApp;

const PRODUCTS: usize = 30;

/// `tills citus move-store` (isolate the store's shards, move them with writes blocked) while
/// four terminals scan and sell in that store: every request succeeds; the longest request is
/// the pause the move cost (printed; docs/scaling.md has the figure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_store_moves_to_another_worker_without_a_failed_request() {
    let app = TestApp::spawn(Backend::Citus).await;
    let options = seed::SeedOptions {
        stores: 2,
        products_per_store: PRODUCTS,
        customers_per_store: 5,
        password: bench::DEFAULT_PASSWORD.into(),
        parallel: 2,
    };
    seed::run(app.store.clone(), options).await.unwrap();
    let bench = tokio::spawn(load::run(load::BenchOptions {
        url: app.base.clone(),
        stores: 1,
        products_per_store: Some(PRODUCTS),
        duration: Duration::from_secs(16),
        concurrency: 4,
        mix: load::parse_mix("scan=5,sale=5").unwrap(),
        password: bench::DEFAULT_PASSWORD.into(),
        cold: false,
        server_pids: vec![],
    }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let store = StoreId::parse(&bench::store_id(1)).unwrap();
    let moved = tills_storage::citus::move_store(&app.db.url, &store, None).await.expect("move the store");
    assert!(moved.isolated, "the store shared its shard before");
    assert_ne!(moved.from, moved.to);
    assert!(
        moved.isolate_ms + moved.move_ms < 14_000,
        "the move ({} + {} ms) must end while the bench still sells",
        moved.isolate_ms,
        moved.move_ms
    );
    let report = bench.await.unwrap().unwrap();
    for (op, o) in &report.operations {
        assert!(o.errors.is_empty(), "{op} failed during the move: {:?}", o.errors);
    }
    let sales = &report.operations["sale"];
    assert!(sales.requests > 10, "the bench sold too little to say anything: {}", sales.requests);
    println!(
        "move-store under load: isolate {} ms, move {} ms; {} scans, {} sales, 0 failed; longest scan {:.0} ms, \
         longest sale {:.0} ms (p99 {:.0} ms)",
        moved.isolate_ms,
        moved.move_ms,
        report.operations["scan"].requests,
        sales.requests,
        report.operations["scan"].max_ms,
        sales.max_ms,
        sales.p99_ms
    );
    // The store now lives alone on its shard on the target, and its books have no gap.
    let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
    let placed: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT nodename || ':' || nodeport FROM citus_shards WHERE shardid IN \
         (SELECT get_shard_id_for_distribution_column(logicalrelid, $1) FROM pg_dist_partition WHERE partmethod = 'h')",
    )
    .bind(store.as_str())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(placed, std::slice::from_ref(&moved.to), "every store table's shard of the store is on the target");
    let (count, last): (i64, Option<i64>) =
        sqlx::query_as("SELECT count(*), max(invoice_seq) FROM sales WHERE store_id = $1")
            .bind(store.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(Some(count), last, "invoice numbers 1..n without a gap");
    assert!(count as u64 >= sales.requests, "every sale the bench counted is in the books");
    // Again: nothing to do.
    let again = tills_storage::citus::move_store(&app.db.url, &store, None).await.unwrap();
    assert!(!again.isolated && again.from == again.to, "{again:?}");
}
