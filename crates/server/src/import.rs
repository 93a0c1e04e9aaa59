//! `tills import-legacy`: the legacy importer (crate `tills-import`, docs/migration.md) run by
//! the `tills` command, with the deployment's product cache, which it invalidates for the
//! stores whose catalog a run changed (on every instance, through Redis).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tills_domain::StoreId;
use tills_import::{ImportLegacyArgs, Outcome, ProductCacheHook, report};
use tills_storage::{PoolConfig, Store};

use crate::cache::{CacheConfig, ProductCache, RedisConfig};

/// `tills import-legacy`'s flags: the importer's, and the deployment's Redis.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportLegacyCli {
    #[command(flatten)]
    pub import: ImportLegacyArgs,
    /// Redis, to invalidate the cached products of the stores the run changed.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
}

struct Cache(Arc<ProductCache>);

#[async_trait::async_trait]
impl ProductCacheHook for Cache {
    async fn invalidate_store(&self, store: &StoreId) {
        self.0.invalidate_store_products(store).await;
    }
}

/// Runs an import; with `redis_url`, the stores' cached products are invalidated as they change.
pub async fn run(
    db: Arc<dyn Store>,
    args: &ImportLegacyArgs,
    redis_url: Option<&str>,
    show_progress: bool,
) -> anyhow::Result<Outcome> {
    let cache = match redis_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            let config = CacheConfig { redis: Some(RedisConfig::new(url)), ..CacheConfig::default() };
            Some(Cache(ProductCache::new(db.clone(), &config).map_err(|e| anyhow::anyhow!(e))?))
        }
        None => None,
    };
    tills_import::run(db, args, show_progress, cache.as_ref().map(|c| c as &dyn ProductCacheHook)).await
}

/// The command: connects, imports, prints, writes the report.
pub async fn cli(url: &str, args: ImportLegacyCli) -> anyhow::Result<()> {
    let jobs = args.import.jobs;
    let pool = PoolConfig { max_connections: (jobs as u32).max(1) + 2, acquire_timeout: Duration::from_secs(30) };
    let db = tills_storage::connect(url, &pool).await.context("opening the database")?;
    let out = run(db, &args.import, args.redis_url.as_deref(), true).await?;
    let r = &out.report;
    println!(
        "{}{} documents in {:.1} s: {:.0} documents/s; {} rows inserted, {} documents skipped, {} altered (see the report)",
        if r.dry_run { "dry run, nothing written: " } else { "" },
        r.documents,
        r.seconds,
        r.documents_per_second,
        r.rows_inserted,
        r.skipped,
        r.altered
    );
    println!(
        "time: reading {:.1} s, converting {:.1} s, writing {:.1} s, verifying {:.1} s",
        r.timings.read, r.timings.convert, r.timings.write, r.timings.verify
    );
    println!("{}", report::store_table(&r.stores));
    if !r.stores_without_admin.is_empty() {
        println!(
            "{} stores have no active admin (their users log in and sell; give each an admin with \
             `tills admin create-store-admin --store S --email E`): {}",
            r.stores_without_admin.len(),
            r.stores_without_admin.join(", ")
        );
    }
    if let Some(path) = &out.report_path {
        println!("report: {}", path.display());
    }
    if let Some(rows) = &r.verify {
        println!("{}", report::verify_table(rows));
        if out.verified == Some(false) {
            bail!("--verify: source and target differ where the report explains nothing (rows marked DIFFERENT)");
        }
        println!("verify: every difference between source and target is explained by the report");
    }
    Ok(())
}
