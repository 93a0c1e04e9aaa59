//! Test support: every test gets its own database.
//!
//! PostgreSQL: the migrations run once into a template database named after a hash of the
//! migration files, and each test gets `CREATE DATABASE … TEMPLATE` (crates.io's approach),
//! dropped when the test ends. SQLite: a file in a fresh temporary directory.
//!
//! The PostgreSQL suites never skip: when the server cannot be reached they fail with a message
//! that says how to start it.

mod snapshot;

pub use snapshot::Snapshot;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Executor};

/// The maintenance database the tests connect to for creating and dropping databases.
pub fn admin_url() -> String {
    std::env::var("TILLS_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Where a test's backend lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    /// The URL to give the server or the storage layer (on PostgreSQL: the owner, a superuser;
    /// the storage layer switches its connections to `tills_app`).
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    /// The database's name on PostgreSQL (`None` on SQLite and for an alias).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    /// The same database for a second server; only the original removes it.
    pub fn alias(&self) -> TestDb {
        TestDb { url: self.url.clone(), backend: self.backend, pg_name: None, _dir: None }
    }

    pub fn sqlite() -> TestDb {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.path.join("tills.db").display());
        TestDb { url, backend: Backend::Sqlite, pg_name: None, _dir: Some(dir) }
    }

    pub async fn postgres() -> TestDb {
        let mut admin = admin_connection().await;
        let template = template_name();
        let name = format!("tills_t_{}", uuid::Uuid::new_v4().simple());
        // One creator at a time: building the template, and copying it (PostgreSQL refuses to
        // copy a template while another session is connected to it).
        admin.execute("SELECT pg_advisory_lock(74110001)").await.expect("advisory lock");
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .expect("look up the template database");
        if !exists {
            let building = format!("{template}_building");
            admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}"))).await.expect("drop");
            admin.execute(AssertSqlSafe(format!("CREATE DATABASE {building}"))).await.expect("create template");
            tills_storage::migrate(&url_for(&building)).await.expect("migrate the template database");
            admin
                .execute(AssertSqlSafe(format!("ALTER DATABASE {building} RENAME TO {template}")))
                .await
                .expect("rename");
        }
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}")))
            .await
            .expect("create the test database");
        admin.execute("SELECT pg_advisory_unlock(74110001)").await.expect("advisory unlock");
        TestDb { url: url_for(&name), backend: Backend::Postgres, pg_name: Some(name), _dir: None }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop needs its own runtime: the test's may be shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut admin) = try_admin_connection().await {
                            let _ = admin
                                .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// The admin URL with its database replaced by `database`.
fn url_for(database: &str) -> String {
    let admin = admin_url();
    let (path_start, query) = match (admin.find("://"), admin.find('?')) {
        (Some(scheme), q) => {
            (admin[scheme + 3..].find('/').map(|i| i + scheme + 3), q.map(|q| &admin[q..]).unwrap_or(""))
        }
        _ => (None, ""),
    };
    match path_start {
        Some(i) => format!("{}/{database}{query}", &admin[..i]),
        None => panic!("TILLS_TEST_DATABASE_URL must look like postgres://user@host:port/database"),
    }
}

async fn try_admin_connection() -> Result<PgConnection, sqlx::Error> {
    let options: PgConnectOptions = admin_url().parse()?;
    tokio::time::timeout(Duration::from_secs(10), options.connect()).await.map_err(|_| sqlx::Error::PoolTimedOut)?
}

/// Connects to the maintenance database, or fails the test saying what to do.
pub async fn admin_connection() -> PgConnection {
    match try_admin_connection().await {
        Ok(c) => c,
        Err(e) => panic!(
            "PostgreSQL is needed for this test and is not reachable at {} ({e}).\n\
             Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             (or install it: apt-get install -y postgresql), or set TILLS_TEST_DATABASE_URL.",
            admin_url()
        ),
    }
}

/// The template's name changes whenever a migration file does.
fn template_name() -> String {
    // Named after the migrations this build embeds (not the files on disk, which may be newer
    // than what was compiled): a template is only ever reused by builds with the same schema.
    format!("tills_tmpl_{}", tills_storage::pg_migrations_fingerprint())
}

/// A directory removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("tills-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir { path }
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
