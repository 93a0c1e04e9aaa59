//! The `tills` command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tills_domain::{Email, Name, NewPassword};
use tills_storage::PoolConfig;

use crate::app::{self, AppConfig};
use crate::auth::password;
use crate::auth::token::Secret;
use crate::cache::{CacheConfig, RedisConfig};
use crate::client_addr::TrustedProxies;
use crate::services::journal::JournalKey;

#[derive(Parser, Debug)]
#[command(name = "tills", version, about = "Tills: a point-of-sale server for many stores, and its terminal")]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Where data lives: `postgres://…` for PostgreSQL, `sqlite://…` for a file. Default: a
    /// SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The data directory of the embedded default (SQLite file, demo secret).
    #[arg(long, env = "TILLS_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
}

impl DbArgs {
    pub fn url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
            _ => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
                Ok(format!("sqlite://{}", self.data_dir.join("tills.db").display()))
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (SQLite migrates itself; PostgreSQL needs `tills migrate` or --migrate).
    Serve(ServeArgs),
    /// Apply the database migrations (on PostgreSQL, as the owner: also creates the tills_app role).
    Migrate,
    /// Fill the database with benchmark stores (bench-0001 …): users, catalogs, customers.
    Seed(tills_bench::SeedArgs),
    /// Drive a running Tills with scans, searches and sales; report throughput and latency.
    Bench(tills_bench::BenchArgs),
    /// Serve the floors a bench compares Tills with: minimal servers that answer the scan's
    /// request from memory, from Redis, from one PostgreSQL lookup (see docs/benchmarks.md).
    BenchFloor(tills_bench::floor::FloorArgs),
    /// Import a legacy MongoDB dump (mongodump or mongoexport) into Tills; see docs/migration.md.
    ImportLegacy(crate::import::ImportLegacyCli),
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The product cache.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// The tamper-evident journal (docs/journal.md).
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Citus: distribute the database by store, move a store (see docs/scaling.md).
    Citus {
        #[command(subcommand)]
        command: CitusCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum JournalCommand {
    /// Recompute a store's chain from its entries and from the rows they describe, check every
    /// closure's signature; print the first disagreement or that the range is intact. Exits 1
    /// when anything disagrees.
    Verify {
        #[arg(long)]
        store: String,
        /// From (inclusive): a local day `YYYY-MM-DD` or an RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        /// To: a local day `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
        #[arg(long)]
        to: Option<String>,
        /// The public key closures are checked with (64 hex digits); default: the configured
        /// journal key's.
        #[arg(long)]
        public_key: Option<String>,
        #[command(flatten)]
        key: JournalKeyArgs,
    },
    /// Journal the money rows written before the journal existed (a deployment that sold before
    /// it was upgraded): each such row gets an `adopted_…` entry with the content its own event
    /// would have written, oldest first, so the chain describes every row from then on and
    /// `verify` covers them. Rows that have their entry are left alone: running it again
    /// journals nothing twice. Safe while the server runs (the store's sales wait for each batch).
    Adopt {
        /// The store; or every store with `--all-stores`.
        #[arg(long, required_unless_present = "all_stores", conflicts_with = "all_stores")]
        store: Option<String>,
        /// Every store of the deployment, one after the other.
        #[arg(long)]
        all_stores: bool,
        /// Rows journaled per transaction: the store's events wait for each one.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=5000))]
        batch: u16,
    },
}

/// Where the journal's signing key comes from.
#[derive(Args, Debug, Clone)]
pub struct JournalKeyArgs {
    /// The journal's Ed25519 signing key: a 32-byte seed as 64 hex digits or base64 (the same on
    /// every instance). Without it (or TILLS_JOURNAL_KEY_FILE), a key is generated once and
    /// kept in the data directory (`journal-key`).
    #[arg(long, env = "TILLS_JOURNAL_KEY", hide_env_values = true)]
    pub journal_key: Option<String>,
    /// A file holding the journal key (64 hex digits or base64).
    #[arg(long, env = "TILLS_JOURNAL_KEY_FILE")]
    pub journal_key_file: Option<PathBuf>,
}

impl JournalKeyArgs {
    pub fn load(&self, data_dir: &std::path::Path) -> anyhow::Result<JournalKey> {
        if let Some(text) = self.journal_key.as_deref().filter(|t| !t.trim().is_empty()) {
            return JournalKey::from_seed_text(text).map_err(|e| anyhow::anyhow!("TILLS_JOURNAL_KEY: {e}"));
        }
        if let Some(path) = &self.journal_key_file {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            return JournalKey::from_seed_text(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
        let path = data_dir.join("journal-key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return JournalKey::from_seed_text(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
        std::fs::create_dir_all(data_dir)?;
        let key = JournalKey::generate();
        std::fs::write(&path, key.seed_hex()).with_context(|| format!("writing {}", path.display()))?;
        tracing::warn!(
            path = %path.display(),
            "TILLS_JOURNAL_KEY is not set: generated a journal key in the data directory; give every instance \
             the same key (TILLS_JOURNAL_KEY or TILLS_JOURNAL_KEY_FILE) and keep it out of the database's backups"
        );
        Ok(key)
    }
}

#[derive(Subcommand, Debug)]
pub enum CitusCommand {
    /// Turn a migrated database on a Citus coordinator into the distributed deployment
    /// (after `tills migrate`, as the schema owner): reference tables, every store table
    /// distributed by store_id and colocated, the functions on every node (the store's
    /// functions delegated to its worker), the database settings the server needs. Safe to run
    /// again; `tills migrate` runs it after new migrations on a distributed database.
    Distribute,
    /// Give a store a shard of its own in every store table and move it to another worker
    /// (with writes to that store blocked for the copy, about a second; reads go on).
    MoveStore {
        #[arg(long)]
        store: String,
        /// The worker to move to (`host:port`, an active worker); default: the worker holding
        /// the fewest shards.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Drop every cached product of a store, on every instance (needs REDIS_URL; without Redis
    /// each instance's in-process entries expire within TILLS_CACHE_MEMORY_TTL_SECS).
    Invalidate {
        #[arg(long)]
        store: String,
        #[arg(long, env = "REDIS_URL")]
        redis_url: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TILLS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Redis for the product cache; without it the cache is in-process only.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Secret for signing tokens (at least 32 characters). Every instance of one deployment
    /// needs the same. `--demo` generates one and keeps it in the data directory.
    #[arg(long, env = "TILLS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// How long a login token lasts, in hours.
    #[arg(long, env = "TILLS_TOKEN_TTL_HOURS", default_value_t = 12)]
    pub token_ttl_hours: u64,
    /// The load balancers or proxies in front of this instance, whose `X-Forwarded-For` tells
    /// the client's address (failed logins are counted per address): addresses or networks,
    /// comma-separated, like `127.0.0.1` or `10.0.0.0/8`. Empty: the connection's peer is the
    /// client.
    #[arg(long, env = "TILLS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Database connections per instance.
    #[arg(long, env = "TILLS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub journal: JournalKeyArgs,
    /// Run the migrations before serving (PostgreSQL).
    #[arg(long)]
    pub migrate: bool,
    /// Bootstrap a platform admin and a demo store with its users and catalog, and print how to
    /// log in.
    #[arg(long)]
    pub demo: bool,
}

/// Product cache settings.
#[derive(Args, Debug, Clone)]
pub struct CacheArgs {
    /// How long a product stays in Redis, in seconds (the legacy redesign's one hour).
    #[arg(long, env = "TILLS_CACHE_TTL_SECS", default_value_t = 3600)]
    pub cache_ttl_secs: u64,
    /// How long a product stays in each instance's memory, in seconds, while the instance hears
    /// the others' invalidations through Redis (while it does not, two seconds).
    #[arg(long, env = "TILLS_CACHE_MEMORY_TTL_SECS", default_value_t = 300)]
    pub cache_memory_ttl_secs: u64,
    /// How much memory each instance gives its product cache, in MiB (about 1.3 KiB a product).
    #[arg(long, env = "TILLS_CACHE_MEMORY_MB", default_value_t = 1024)]
    pub cache_memory_mb: u64,
    /// How much memory each instance gives product search's entries, in MiB (about 200 bytes a
    /// product of each store that searches; a store that stops searching frees its part after
    /// 15 minutes).
    #[arg(long, env = "TILLS_SEARCH_MEMORY_MB", default_value_t = 512)]
    pub search_memory_mb: u64,
    /// A Redis call slower than this (milliseconds) is skipped and counted as an error.
    #[arg(long, env = "TILLS_CACHE_REDIS_TIMEOUT_MS", default_value_t = 50)]
    pub cache_redis_timeout_ms: u64,
}

impl CacheArgs {
    pub fn config(&self, redis_url: Option<&str>) -> CacheConfig {
        CacheConfig {
            redis: redis_url.filter(|u| !u.trim().is_empty()).map(|url| RedisConfig {
                ttl: Duration::from_secs(self.cache_ttl_secs.max(1)),
                timeout: Duration::from_millis(self.cache_redis_timeout_ms.max(1)),
                ..RedisConfig::new(url.trim())
            }),
            memory_ttl: Duration::from_secs(self.cache_memory_ttl_secs.max(1)),
            memory_bytes: self.cache_memory_mb.max(1) << 20,
            search_memory_bytes: self.search_memory_mb.max(1) << 20,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a platform admin, or reset the password of an existing one (safe to run again).
    CreatePlatformAdmin {
        #[arg(long)]
        email: String,
        /// The password (at least 10 characters); or set TILLS_ADMIN_PASSWORD.
        #[arg(long, env = "TILLS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Platform admin")]
        name: String,
    },
    /// Give a store an admin (one without any, such as an imported store whose legacy users are
    /// all cashiers): the store's user with this email becomes an active admin, or a new admin
    /// is created (then --password is required).
    CreateStoreAdmin {
        /// The store's id.
        #[arg(long)]
        store: String,
        #[arg(long)]
        email: String,
        /// Required for a new user (at least 10 characters); replaces an existing user's when
        /// given. Or set TILLS_ADMIN_PASSWORD.
        #[arg(long, env = "TILLS_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// A new user's name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.db.url()?;
    match cli.command {
        Command::Migrate => migrate(&url).await,
        Command::Citus { command: CitusCommand::MoveStore { store, to } } => {
            let store_id = tills_domain::StoreId::parse(&store).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
            let m = tills_storage::citus::move_store(&url, &store_id, to.as_deref()).await?;
            if m.isolated {
                println!("{store_id}: isolated on shard {} in every store table ({} ms)", m.shard_id, m.isolate_ms);
            } else {
                println!("{store_id}: on shard {} of its own already", m.shard_id);
            }
            if m.from == m.to {
                println!("{store_id}: already on {}", m.to);
            } else {
                println!("{store_id}: moved from {} to {} ({} ms, writes blocked meanwhile)", m.from, m.to, m.move_ms);
            }
            Ok(())
        }
        Command::Citus { command: CitusCommand::Distribute } => {
            if !tills_storage::is_postgres_url(&url) {
                bail!("`tills citus distribute` needs DATABASE_URL=postgres://… of a Citus coordinator");
            }
            let report = tills_storage::citus::distribute(&url).await?;
            for line in &report.lines {
                println!("{line}");
            }
            println!(
                "distributed: {} store tables by store_id; {} change(s) made{}",
                report.store_tables.len(),
                report.changed,
                if report.changed == 0 { " (it was distributed already)" } else { "" }
            );
            Ok(())
        }
        Command::Admin { command: AdminCommand::CreatePlatformAdmin { email, password: pw, name } } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let pw = NewPassword::parse(&pw).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let name = Name::parse(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let store = tills_storage::connect(&url, &PoolConfig::default()).await.context("opening the database")?;
            let hash = password::hash(pw.expose().to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let created = store.upsert_platform_admin(&email, name.as_str(), &hash).await?;
            println!("platform admin {email} {}", if created { "created" } else { "updated (password reset)" });
            Ok(())
        }
        Command::Admin { command: AdminCommand::CreateStoreAdmin { store, email, password: pw, name } } => {
            let store_id = tills_domain::StoreId::parse(&store).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let name = name.as_deref().map(Name::parse).transpose().map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let pw =
                pw.as_deref().map(NewPassword::parse).transpose().map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let db = tills_storage::connect(&url, &PoolConfig::default()).await.context("opening the database")?;
            if db.get_store(&store_id).await?.is_none() {
                bail!("--store: no store {store_id}");
            }
            let password_hash = match pw {
                Some(pw) => Some(password::hash(pw.expose().to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?),
                None => None,
            };
            let admin =
                tills_storage::NewStoreAdmin { email: email.clone(), name: name.map(Name::into_string), password_hash };
            let audit = tills_storage::NewAudit::new("store.admin")
                .detail(serde_json::json!({"email": email.as_str(), "by": "cli"}));
            let (user, created) = match db.make_store_admin(&store_id, admin, audit).await {
                Err(tills_storage::StorageError::Invalid { field, message }) if field == "password" => {
                    bail!("--password: {message} ({email} is not a user of {store_id})")
                }
                other => other?,
            };
            println!(
                "{} is {} admin of {store_id} (user {})",
                user.email,
                if created { "the new" } else { "now an active" },
                user.id
            );
            Ok(())
        }
        Command::Cache { command: CacheCommand::Invalidate { store, redis_url } } => {
            let store_id = tills_domain::StoreId::parse(&store).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
            let Some(redis_url) = redis_url else {
                bail!("REDIS_URL is not set: without Redis, each instance's in-process entries expire on their own");
            };
            let db = tills_storage::connect(&url, &PoolConfig::default()).await.context("opening the database")?;
            if db.get_store(&store_id).await?.is_none() {
                bail!("no store {store_id}");
            }
            let config = CacheConfig { redis: Some(RedisConfig::new(redis_url)), ..CacheConfig::default() };
            let cache = crate::cache::ProductCache::new(db, &config).map_err(|e| anyhow::anyhow!(e))?;
            if cache.redis_up().await != Some(true) {
                bail!("Redis does not answer");
            }
            cache.invalidate_store_products(&store_id).await;
            println!("cached products of {store_id} invalidated");
            Ok(())
        }
        Command::Journal { command: JournalCommand::Verify { store, from, to, public_key, key } } => {
            let store_id = tills_domain::StoreId::parse(&store).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
            let public = match public_key {
                Some(hex_key) => {
                    let bytes: [u8; 32] = hex::decode(hex_key.trim())
                        .ok()
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| anyhow::anyhow!("--public-key: 64 hex digits"))?;
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?
                }
                None => key.load(&cli.db.data_dir)?.public_key(),
            };
            let db = tills_storage::connect(&url, &PoolConfig::default()).await.context("opening the database")?;
            let Some(record) = db.get_store(&store_id).await? else { bail!("no store {store_id}") };
            let tz = crate::time::parse_timezone(&record.timezone).unwrap_or(chrono_tz::UTC);
            let (from, to) = crate::time::range(from.as_deref(), to.as_deref(), tz)
                .map_err(|e| anyhow::anyhow!("--from/--to: {e}"))?;
            let range = tills_storage::JournalRange { from, to };
            let report = crate::services::journal::verify(&*db, &store_id, &range, &[public])
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            match &report.first_problem {
                None => {
                    println!("intact: {} entries and {} closures checked", report.entries, report.closures);
                    Ok(())
                }
                Some(p) => bail!("the journal of {store_id} is not intact: {}", p.detail),
            }
        }
        Command::Journal { command: JournalCommand::Adopt { store, all_stores, batch } } => {
            let db = tills_storage::connect(&url, &PoolConfig::default()).await.context("opening the database")?;
            let stores = match store {
                Some(s) => {
                    let id = tills_domain::StoreId::parse(&s).map_err(|e| anyhow::anyhow!("--store: {e}"))?;
                    if db.get_store(&id).await?.is_none() {
                        bail!("no store {id}");
                    }
                    vec![id]
                }
                None if all_stores => {
                    let mut ids = Vec::new();
                    loop {
                        let page = db.list_stores(ids.last(), 500).await?;
                        let full = page.len() == 500;
                        ids.extend(page.into_iter().map(|s| s.id));
                        if !full {
                            break ids;
                        }
                    }
                }
                None => bail!("--store or --all-stores"),
            };
            let mut total = 0;
            for id in &stores {
                let n = crate::services::journal::adopt(&*db, id, usize::from(batch))
                    .await
                    .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
                if n > 0 || stores.len() == 1 {
                    println!("{id}: {n} rows journaled");
                }
                total += n;
            }
            println!("{total} rows journaled in {} stores", stores.len());
            Ok(())
        }
        Command::Seed(args) => tills_bench::seed_cli(&url, args).await,
        Command::Bench(args) => tills_bench::bench_cli(args).await,
        Command::BenchFloor(args) => tills_bench::floor::floor_cli(&url, args).await,
        Command::ImportLegacy(args) => crate::import::cli(&url, args).await,
        Command::Serve(args) => serve(&cli.db, &url, args).await,
    }
}

/// `tills migrate`: on a distributed Citus database, what the new migrations added is then
/// distributed too.
async fn migrate(url: &str) -> anyhow::Result<()> {
    let distributed = tills_storage::is_postgres_url(url)
        && tills_storage::citus::is_distributed(url).await.context("looking for Citus")?;
    if let Err(e) = tills_storage::migrate(url).await {
        if distributed {
            bail!(
                "running the migrations on a distributed Citus database failed: {e}\n\
                 A migration Citus cannot run as written (see docs/scaling.md, \"Migrations on Citus\") \
                 must be run by hand on the coordinator; then run `tills migrate` again"
            );
        }
        return Err(anyhow::Error::new(e).context("running the migrations"));
    }
    println!("migrations applied");
    if distributed {
        let report = tills_storage::citus::distribute(url).await.context(
            "the migrations were applied; distributing what they added failed: fix it and run `tills citus distribute`",
        )?;
        for line in report.lines.iter().skip(1).filter(|l| !l.contains("already")) {
            println!("citus: {line}");
        }
        println!("citus: distributed ({} change(s))", report.changed);
    }
    Ok(())
}

async fn serve(db: &DbArgs, url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let secret = match (&args.jwt_secret, args.demo) {
        (Some(s), _) if s.len() >= 32 => Secret(s.clone()),
        (Some(_), _) => bail!("TILLS_JWT_SECRET must be at least 32 characters"),
        (None, true) => Secret(demo_secret(&db.data_dir)?),
        (None, false) => bail!(
            "TILLS_JWT_SECRET is not set: give every instance the same secret of at least 32 characters \
             (for example `export TILLS_JWT_SECRET=$(openssl rand -hex 32)`), or run `tills serve --demo`"
        ),
    };
    if args.migrate || (args.demo && tills_storage::is_postgres_url(url)) {
        tills_storage::migrate(url).await.context("running the migrations")?;
    } else if tills_storage::is_postgres_url(url) {
        check_schema(url).await?;
    }
    let pool = PoolConfig { max_connections: args.db_max_connections, ..PoolConfig::default() };
    let store = tills_storage::connect(url, &pool).await.context("opening the database")?;
    let config = AppConfig {
        jwt_secret: secret,
        token_ttl: Duration::from_secs(args.token_ttl_hours.max(1) * 3600),
        cache: args.cache.config(args.redis_url.as_deref()),
        trusted_proxies: TrustedProxies::parse(&args.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("TILLS_TRUSTED_PROXIES: {e}"))?,
        journal_key: std::sync::Arc::new(args.journal.load(&db.data_dir)?),
    };
    let state = app::state(store.clone(), &config).map_err(|e| anyhow::anyhow!(e))?;
    let listener =
        tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend(), "Tills is listening");
    if args.demo {
        let demo = crate::demo::bootstrap(&store).await?;
        println!("{}", demo.instructions(&format!("http://{addr}")));
    } else {
        println!("Tills is listening on http://{addr} ({})", store.backend());
    }
    app::serve(listener, app::router(state), app::shutdown_signal()).await?;
    Ok(())
}

/// Refuses to serve on a PostgreSQL schema older than this build: every request that needs a
/// missing part would fail with a 500.
async fn check_schema(url: &str) -> anyhow::Result<()> {
    match tills_storage::PgStore::pending_migrations(url).await.context("reading the applied migrations")? {
        Some(pending) if !pending.is_empty() => bail!(
            "the database lacks {} migration(s) this version of Tills needs ({}): run `tills migrate` \
             with the schema owner's DATABASE_URL, or start with `tills serve --migrate`",
            pending.len(),
            pending.join(", ")
        ),
        Some(_) => Ok(()),
        None => {
            tracing::warn!("cannot read the applied migrations as this user; assuming the schema is current");
            Ok(())
        }
    }
}

/// The demo's signing secret, generated once and kept in the data directory so tokens survive
/// a restart.
fn demo_secret(data_dir: &std::path::Path) -> anyhow::Result<String> {
    use rand::RngCore;
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 32
    {
        return Ok(s.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}
