//! The scan's data layer, per tier: an in-process hit, a Redis hit, a database miss (SQLite, and
//! PostgreSQL when TILLS_BENCH_DATABASE_URL names one). `cargo bench -p tills-server --bench scan`.
//! Redis: TILLS_BENCH_REDIS_URL (default redis://127.0.0.1:6379); the Redis case is skipped with a
//! message when it does not answer.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tills_domain::{Email, Role, StoreId, name_key, new_id};
use tills_server::cache::{CacheConfig, ProductCache, RedisConfig};
use tills_storage::{NewAudit, NewStore, NewUser, PoolConfig, ProductDraft, Store};

const BARCODE: &str = "5449000000996";

async fn seeded(url: &str, store_id: &StoreId) -> Arc<dyn Store> {
    let _ = tills_storage::migrate(url).await;
    let db = tills_storage::connect(url, &PoolConfig::default()).await.expect("database");
    if db.get_store(store_id).await.expect("read").is_none() {
        let owner = NewUser {
            id: new_id(),
            email: Email::parse("owner@bench.test").unwrap(),
            name: "Owner".into(),
            role: Role::Admin,
            password_hash: "x".into(),
        };
        let store = NewStore {
            id: store_id.clone(),
            name: "Bench".into(),
            currency: "USD".into(),
            currency_decimals: 2,
            timezone: "UTC".into(),
            prices_include_tax: false,
            invoice_prefix: "B-".into(),
        };
        db.create_store(store, owner, NewAudit::new("store.create")).await.expect("store");
        let draft = ProductDraft {
            name: "Cola".into(),
            name_key: name_key("Cola"),
            sku: None,
            price: 150,
            cost: None,
            tax_rate: 1900,
            category_id: None,
            brand_id: None,
            unit_id: None,
            barcode: Some(BARCODE.into()),
            alternate_barcodes: vec![],
            units: vec![],
            active: true,
            show_in_quick_products: false,
        };
        db.create_product(store_id, new_id(), &draft, 0, None).await.expect("product");
    }
    db
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The Redis tier spawns its background tasks on the current runtime.
    let _guard = rt.enter();
    let dir = tills_testkit::TempDir::new();
    let store_id = StoreId::parse(&format!("bench-{}", &new_id().simple().to_string()[24..])).unwrap();
    let sqlite = format!("sqlite://{}", dir.path.join("bench.db").display());
    let db = rt.block_on(seeded(&sqlite, &store_id));
    let mut group = c.benchmark_group("scan");
    group.measurement_time(Duration::from_secs(5));

    let memory = ProductCache::new(db.clone(), &CacheConfig::default()).unwrap();
    rt.block_on(memory.get_product_by_barcode(&store_id, BARCODE)).unwrap();
    group.bench_function("memory hit", |b| {
        b.to_async(&rt).iter(|| async { memory.get_product_by_barcode(&store_id, BARCODE).await.unwrap() })
    });

    // No in-process tier: every lookup goes to the next one.
    let no_memory = CacheConfig { memory_bytes: 0, ..CacheConfig::default() };
    let redis_url = std::env::var("TILLS_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis =
        ProductCache::new(db.clone(), &CacheConfig { redis: Some(RedisConfig::new(&redis_url)), ..no_memory.clone() })
            .unwrap();
    if rt.block_on(redis.redis_up()) == Some(true) {
        rt.block_on(redis.get_product_by_barcode(&store_id, BARCODE)).unwrap();
        group.bench_function("redis hit", |b| {
            b.to_async(&rt).iter(|| async { redis.get_product_by_barcode(&store_id, BARCODE).await.unwrap() })
        });
    } else {
        eprintln!("Redis at {redis_url} does not answer: no Redis figure");
    }

    let sqlite_miss = ProductCache::new(db.clone(), &no_memory).unwrap();
    group.bench_function("database miss (sqlite)", |b| {
        b.to_async(&rt).iter(|| async { sqlite_miss.get_product_by_barcode(&store_id, BARCODE).await.unwrap() })
    });

    if let Ok(pg) = std::env::var("TILLS_BENCH_DATABASE_URL") {
        let pg_db = rt.block_on(seeded(&pg, &store_id));
        let pg_miss = ProductCache::new(pg_db, &no_memory).unwrap();
        group.bench_function("database miss (postgres)", |b| {
            b.to_async(&rt).iter(|| async { pg_miss.get_product_by_barcode(&store_id, BARCODE).await.unwrap() })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
