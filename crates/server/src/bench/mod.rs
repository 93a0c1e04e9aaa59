//! Load testing: `tills seed` fills a database with benchmark stores, `tills bench` drives a
//! running Tills with a mix of scans, searches and sales.
//!
//! The two agree on one pattern, so the bench derives everything by itself: stores
//! `bench-0001`…, in each a cashier `cashier@bench-0001.test` (and an admin
//! `admin@bench-0001.test`) with the password given to both (default [`DEFAULT_PASSWORD`]), and
//! products whose barcodes follow [`barcode`].

pub mod load;
pub mod seed;
mod wire;

pub const DEFAULT_PASSWORD: &str = "bench-password-1";

pub fn store_id(n: usize) -> String {
    format!("bench-{n:04}")
}

pub fn cashier_email(n: usize) -> String {
    format!("cashier@{}.test", store_id(n))
}

/// The EAN-13 of product `p` (1-based) of store `s`: in-store range 2, store, product.
pub fn barcode(s: usize, p: usize) -> String {
    crate::demo::ean13(&format!("2{:04}{:07}", s % 10_000, p % 10_000_000))
}

/// The 6-pack barcode of product `p` of store `s` (every tenth product has one).
pub fn pack_barcode(s: usize, p: usize) -> String {
    crate::demo::ean13(&format!("3{:04}{:07}", s % 10_000, p % 10_000_000))
}

use clap::Args;
use tills_storage::PoolConfig;

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// How many stores (bench-0001 …).
    #[arg(long, default_value_t = 10)]
    pub stores: usize,
    #[arg(long, default_value_t = 2000)]
    pub products_per_store: usize,
    #[arg(long, default_value_t = 200)]
    pub customers_per_store: usize,
    /// The password of every seeded account.
    #[arg(long, env = "TILLS_BENCH_PASSWORD", default_value = DEFAULT_PASSWORD, hide_env_values = true)]
    pub password: String,
    /// Stores written at the same time.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The Tills to drive (any deployment: http or https).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Seeded stores to spread the load over (bench-0001 … bench-N).
    #[arg(long, default_value_t = 10)]
    pub stores: usize,
    /// Products per seeded store (the barcodes scanned are drawn from them).
    #[arg(long, default_value_t = 2000)]
    pub products_per_store: usize,
    /// How long to run: 60s, 2m, 500ms.
    #[arg(long, default_value = "60s")]
    pub duration: String,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Operation weights.
    #[arg(long, default_value = "scan=85,search=5,sale=10")]
    pub mix: String,
    #[arg(long, env = "TILLS_BENCH_PASSWORD", default_value = DEFAULT_PASSWORD, hide_env_values = true)]
    pub password: String,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Scan every seeded barcode once, in a random order, instead of the mix (run it on
    /// flushed caches to measure the database path).
    #[arg(long)]
    pub cold: bool,
}

pub async fn seed_cli(url: &str, args: SeedArgs) -> anyhow::Result<()> {
    if args.stores > 9999 {
        anyhow::bail!("at most 9999 benchmark stores");
    }
    tills_storage::migrate(url).await?;
    let pool = PoolConfig { max_connections: (args.parallel as u32 + 2).max(4), ..PoolConfig::default() };
    let db = tills_storage::connect(url, &pool).await?;
    let opts = seed::SeedOptions {
        stores: args.stores,
        products_per_store: args.products_per_store,
        customers_per_store: args.customers_per_store,
        password: args.password,
        parallel: args.parallel,
    };
    seed::run(db, opts).await?;
    Ok(())
}

pub async fn bench_cli(args: BenchArgs) -> anyhow::Result<()> {
    let opts = load::BenchOptions {
        url: args.url,
        stores: args.stores.max(1),
        products_per_store: args.products_per_store.max(1),
        duration: load::parse_duration(&args.duration)?,
        concurrency: args.concurrency.max(1),
        mix: load::parse_mix(&args.mix)?,
        password: args.password,
        cold: args.cold,
    };
    let report = load::run(opts).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", load::table(&report));
    }
    Ok(())
}
