//! Tills's load tools, kept out of the server: `tills seed` fills a database with benchmark
//! stores, `tills bench` drives a running Tills (or a floor server) with scans, searches, quotes
//! and sales, and `tills bench-floor` serves the floors a run compares Tills with: the least a
//! server must do to answer a scan ([`floor`]).
//!
//! The seed and the bench agree on one pattern, so the bench derives everything by itself:
//! stores `bench-0001`…, in each a cashier `cashier@bench-0001.test` (and an admin
//! `admin@bench-0001.test`) with the password given to both (default [`DEFAULT_PASSWORD`]),
//! products whose barcodes follow [`barcode`] and whose ids follow [`product_id`]. How many
//! products a store has, the bench asks the deployment ([`shape`]).

pub mod cpu;
pub mod floor;
pub mod load;
pub mod seed;
pub mod shape;
mod wire;

use clap::Args;
use tills_domain::Id;
use tills_storage::PoolConfig;

pub const DEFAULT_PASSWORD: &str = "bench-password-1";

pub fn store_id(n: usize) -> String {
    format!("bench-{n:04}")
}

pub fn cashier_email(n: usize) -> String {
    format!("cashier@{}.test", store_id(n))
}

/// The EAN-13 of product `p` (1-based) of store `s`: in-store range 2, store, product.
pub fn barcode(s: usize, p: usize) -> String {
    tills_domain::ean13(&format!("2{:04}{:07}", s % 10_000, p % 10_000_000))
}

/// The 6-pack barcode of product `p` of store `s` (every tenth product has one).
pub fn pack_barcode(s: usize, p: usize) -> String {
    tills_domain::ean13(&format!("3{:04}{:07}", s % 10_000, p % 10_000_000))
}

/// The id of product `p` of store `s`: what the terminal sends a sale's lines by.
pub fn product_id(s: usize, p: usize) -> Id {
    seed_id(&store_id(s), "products", p)
}

/// The id of store `s`'s 6-pack unit (the pack of every tenth product).
pub fn six_pack_unit(s: usize) -> Id {
    seed_id(&store_id(s), "units", 1)
}

/// The same id for the same row of the same store in every seed.
pub(crate) fn seed_id(store: &str, table: &str, n: usize) -> Id {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7f1e_5eed_0000_4000_8000_0000_0000_0001);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{store}/{table}/{n}").as_bytes())
}

/// Installs rustls's ring provider (once) for HTTPS clients: the bench and the tests build
/// reqwest clients, and reqwest is built without a provider of its own (no C builds).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

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
    /// The Tills to drive (any deployment: http or https), or a floor server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Seeded stores to spread the load over (bench-0001 … bench-N).
    #[arg(long, default_value_t = 10)]
    pub stores: usize,
    /// Products per seeded store. Learned from the deployment when left out; when given, the
    /// bench refuses to run unless the seeded stores have exactly this many.
    #[arg(long)]
    pub products_per_store: Option<usize>,
    /// How long to run: 60s, 2m, 500ms.
    #[arg(long, default_value = "60s")]
    pub duration: String,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Operation weights: scan, search, sale (lines by barcode), sale-by-id (lines by productId,
    /// as the terminal sends them), quote, quote-by-id.
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
    /// A process whose CPU time (its threads' and its children's, e.g. PostgreSQL's backends
    /// under its postmaster) counts as the server's: the report gives CPU per request.
    /// Repeatable; Linux only (/proc).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
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
        products_per_store: args.products_per_store,
        duration: load::parse_duration(&args.duration)?,
        concurrency: args.concurrency.max(1),
        mix: load::parse_mix(&args.mix)?,
        password: args.password,
        cold: args.cold,
        server_pids: args.server_pids,
    };
    let report = load::run(opts).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", load::table(&report));
    }
    Ok(())
}
