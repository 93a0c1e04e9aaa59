//! The load-test tools: `tills seed` writes exactly what `tills bench` derives by itself, a second
//! seed changes nothing, and the bench drives a real server with every operation succeeding.

use std::time::Duration;

use tills_bench::{self as bench, load, seed};

use crate::both_backends;
use crate::helpers::TestApp;

const PRODUCTS: usize = 30;

fn seed_options() -> seed::SeedOptions {
    seed::SeedOptions {
        stores: 2,
        products_per_store: PRODUCTS,
        customers_per_store: 5,
        password: bench::DEFAULT_PASSWORD.into(),
        parallel: 2,
    }
}

fn bench_options(app: &TestApp, duration: Duration, mix: &str, cold: bool) -> load::BenchOptions {
    load::BenchOptions {
        url: app.base.clone(),
        stores: 2,
        products_per_store: None,
        duration,
        concurrency: 4,
        mix: load::parse_mix(mix).unwrap(),
        password: bench::DEFAULT_PASSWORD.into(),
        cold,
        // The test server runs in this process: its CPU is this process's.
        server_pids: vec![std::process::id()],
    }
}

/// `tills bench` against the test server's two seeded stores, four requests in flight.
async fn run_bench(app: &TestApp, duration: Duration, mix: &str, cold: bool) -> load::Report {
    load::run(bench_options(app, duration, mix, cold)).await.unwrap()
}

async fn seeded_stores_serve_the_bench(app: TestApp) {
    assert_eq!(seed::run(app.store.clone(), seed_options()).await.unwrap(), 2 * PRODUCTS as u64);
    // A stopped seed is completed by running it again: the same ids, nothing written twice.
    assert_eq!(seed::run(app.store.clone(), seed_options()).await.unwrap(), 0);

    let token = app.login(Some("bench-0002"), &bench::cashier_email(2), bench::DEFAULT_PASSWORD).await;
    let scan = app.get(&format!("/api/v1/products/barcode/{}", bench::barcode(2, 7)), &token).await.expect(200);
    // The seed prices product p at 49 + (p × 37 mod 1950) cents.
    assert_eq!(scan["product"]["price"], 49 + 7 * 37);
    assert_eq!(scan["product"]["stock"], 1000);
    let pack = app.get(&format!("/api/v1/products/barcode/{}", bench::pack_barcode(2, 10)), &token).await.expect(200);
    assert_eq!(pack["unit"]["factor"], 6);
    // The barcode scheme includes the store: store 1's codes are unknown in store 2.
    app.get(&format!("/api/v1/products/barcode/{}", bench::barcode(1, 7)), &token).await.expect_error(404, "not_found");
    let customers = app.get("/api/v1/customers?limit=100", &token).await.expect(200);
    assert_eq!(customers["items"].as_array().map(Vec::len), Some(5));

    // The bench learns the catalog's shape from the deployment, and refuses a wrong one.
    let mut wrong = bench_options(&app, Duration::from_millis(100), "scan=1", false);
    wrong.products_per_store = Some(PRODUCTS + 5);
    let refused = load::run(wrong).await.err().expect("a catalog the stores do not have").to_string();
    assert!(refused.contains(&format!("{PRODUCTS} products each, not {}", PRODUCTS + 5)), "{refused}");

    let mix = "scan=6,search=2,sale=2,sale-by-id=2,quote=1,quote-by-id=1";
    let report = run_bench(&app, Duration::from_millis(1500), mix, false).await;
    assert_eq!(report.products_per_store, PRODUCTS);
    for op in ["scan", "search", "sale", "sale-by-id", "quote", "quote-by-id"] {
        let o = &report.operations[op];
        assert!(o.requests > 0, "{op}: no request was made");
        assert!(o.errors.is_empty(), "{op}: {:?}", o.errors);
        assert!(o.p50_ms <= o.p99_ms && o.p99_ms <= o.max_ms, "{op}: percentiles out of order");
    }
    let all = report.all.as_ref().expect("every operation together");
    assert_eq!(all.requests, report.operations.values().map(|o| o.requests).sum::<u64>());
    let slowest_p50 = report.operations.values().map(|o| o.p50_ms).fold(0.0, f64::max);
    let fastest_p50 = report.operations.values().map(|o| o.p50_ms).fold(f64::MAX, f64::min);
    assert!((fastest_p50..=slowest_p50).contains(&all.p50_ms), "the median of all lies among the operations'");
    assert!(all.errors.is_empty() && all.max_ms == report.operations.values().map(|o| o.max_ms).fold(0.0, f64::max));
    assert!(report.cache_hit_rate.is_some_and(|r| (0.0..=1.0).contains(&r)));
    // CPU: the server's (this process's, which also runs the generator) covers the generator's.
    let server_cpu = report.server_cpu_s.expect("the server's CPU time");
    assert!(server_cpu > 0.0 && server_cpu >= report.generator_cpu_s, "{server_cpu} / {}", report.generator_cpu_s);
    assert!(report.server_cpu_per_request_us.is_some_and(|us| us > 0.0));

    // --cold: every barcode once — each product's and each tenth product's pack — and stops.
    let cold = run_bench(&app, Duration::from_secs(60), "scan=1", true).await;
    let scans = &cold.operations["scan"];
    assert_eq!(scans.requests, 2 * (PRODUCTS as u64 + PRODUCTS as u64 / 10));
    assert!(scans.errors.is_empty(), "{:?}", scans.errors);

    // Every sale the bench counted is in the books of the store it was sold in, numbered 1..n.
    let mut sold = 0;
    for s in 1..=2 {
        let token = app
            .login(Some(&bench::store_id(s)), &format!("admin@{}.test", bench::store_id(s)), bench::DEFAULT_PASSWORD)
            .await;
        let day = chrono::Utc::now().format("%Y-%m-%d");
        let daily = app.get(&format!("/api/v1/reports/daily?date={day}"), &token).await.expect(200);
        let count = daily["salesCount"].as_u64().unwrap();
        if count > 0 {
            assert_eq!(daily["firstInvoice"], "B-000001");
            assert_eq!(daily["lastInvoice"], format!("B-{count:06}"));
        }
        sold += count;
    }
    assert_eq!(sold, report.operations["sale"].requests + report.operations["sale-by-id"].requests);
}
both_backends!(seeded_stores_serve_the_bench);

/// `tills bench-floor`: each floor answers the bench's requests as Tills does — the generator
/// learns the same catalog from it and scans it without an error — and checks the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floors_serve_the_bench() {
    let app = TestApp::spawn(tills_testkit::Backend::Postgres).await;
    seed::run(app.store.clone(), seed_options()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (db, redis) = (app.db.url.clone(), crate::cache::redis_url());
    tokio::spawn(async move {
        bench::floor::serve(listener, &db, Some(&redis), "floor-secret-0123456789-0123456789").await.unwrap()
    });
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for floor in ["memory", "redis", "postgres"] {
        let mut options = bench_options(&app, Duration::from_millis(400), "scan=1", false);
        options.url = format!("{base}/{floor}");
        options.server_pids = vec![];
        let report = load::run(options).await.unwrap();
        assert_eq!(report.products_per_store, PRODUCTS, "{floor}");
        let scans = &report.operations["scan"];
        assert!(scans.requests > 0 && scans.errors.is_empty(), "{floor}: {:?}", scans.errors);
        assert_eq!(report.server_cpu_s, None, "no server pid was given");
        // A forged token gets nothing.
        let code = bench::barcode(1, 7);
        let forged = client
            .get(format!("{base}/{floor}/api/v1/products/barcode/{code}"))
            .bearer_auth("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401, "{floor}");
    }
}
