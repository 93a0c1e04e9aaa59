//! Test support: every test gets its own database.
//!
//! PostgreSQL: the migrations run once into a template database named after a hash of the
//! migration files, and each test gets `CREATE DATABASE … TEMPLATE` (crates.io's approach),
//! dropped when the test ends. SQLite: a file in a fresh temporary directory.
//!
//! Citus: the same on a coordinator and two workers (`scripts/citus.sh`, named by
//! `TILLS_TEST_CITUS_URL` and `TILLS_TEST_CITUS_WORKERS`): the template database is built on
//! every node (Citus extension, workers added, migrated, `tills citus distribute`), and each test
//! copies it on every node, so every node holds the test's database under one name, as Citus
//! expects.
//!
//! The PostgreSQL and Citus suites never skip: when the server cannot be reached they fail with
//! a message that says how to start it.

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
    /// PostgreSQL with Citus: a coordinator and workers, the database distributed by store.
    Citus,
}

impl Backend {
    /// PostgreSQL, plain or Citus: the same SQL, row-level security and roles.
    pub fn is_postgres(self) -> bool {
        matches!(self, Backend::Postgres | Backend::Citus)
    }
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    /// The URL to give the server or the storage layer (on PostgreSQL: the owner, a superuser;
    /// the storage layer switches its connections to `tills_app`).
    pub url: String,
    pub backend: Backend,
    /// On Citus: the URL of this database on each worker (as the superuser).
    pub worker_urls: Vec<String>,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
            Backend::Citus => TestDb::citus().await,
        }
    }

    /// The database's name on PostgreSQL (`None` on SQLite and for an alias).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }

    /// The same database for a second server; only the original removes it.
    pub fn alias(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            backend: self.backend,
            worker_urls: self.worker_urls.clone(),
            pg_name: None,
            _dir: None,
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.path.join("tills.db").display());
        TestDb { url, backend: Backend::Sqlite, worker_urls: Vec::new(), pg_name: None, _dir: Some(dir) }
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
        TestDb {
            url: url_for(&name),
            backend: Backend::Postgres,
            worker_urls: Vec::new(),
            pg_name: Some(name),
            _dir: None,
        }
    }

    /// A database distributed on the Citus cluster, copied on every node from a template built
    /// once per schema.
    pub async fn citus() -> TestDb {
        let cluster = CitusCluster::from_env();
        let mut admin = cluster.connect(&cluster.coordinator, "postgres").await;
        let template = format!("tills_ctmpl_{}", tills_storage::pg_migrations_fingerprint());
        let name = format!("tills_c_{}", uuid::Uuid::new_v4().simple());
        admin.execute("SELECT pg_advisory_lock(74110002)").await.expect("advisory lock");
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .expect("look up the template database");
        if !exists {
            cluster.build_template(&template).await;
        }
        let mut copies = Vec::new();
        for node in cluster.nodes() {
            let cluster = cluster.clone();
            let (template, name) = (template.clone(), name.clone());
            copies.push(tokio::spawn(async move {
                let mut c = cluster.connect(&node, "postgres").await;
                c.execute(AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}")))
                    .await
                    .unwrap_or_else(|e| panic!("create the test database on {node}: {e}"));
                // A database's settings live in a shared catalog, not in the copy.
                for (setting, value) in tills_storage::citus::DATABASE_SETTINGS {
                    c.execute(AssertSqlSafe(format!("ALTER DATABASE {name} SET {setting} = '{value}'")))
                        .await
                        .unwrap_or_else(|e| panic!("ALTER DATABASE {name} SET {setting} on {node}: {e}"));
                }
            }));
        }
        for copy in copies {
            copy.await.expect("copy the template");
        }
        admin.execute("SELECT pg_advisory_unlock(74110002)").await.expect("advisory unlock");
        TestDb {
            url: cluster.url(&cluster.coordinator, &name),
            backend: Backend::Citus,
            worker_urls: cluster.workers.iter().map(|w| cluster.url(w, &name)).collect(),
            pg_name: Some(name),
            _dir: None,
        }
    }
}

/// The Citus cluster the tests use: `TILLS_TEST_CITUS_URL` (the coordinator, as a superuser)
/// and `TILLS_TEST_CITUS_WORKERS` (`host:port,host:port`), as `scripts/test.sh` sets them.
#[derive(Clone)]
struct CitusCluster {
    /// `host:port`
    coordinator: String,
    workers: Vec<String>,
    user: String,
}

impl CitusCluster {
    fn from_env() -> CitusCluster {
        let help = "The Citus suites need a Citus cluster: run scripts/test.sh (it builds Citus from \
                    ../shared/vendor and starts one), or `scripts/citus.sh up /tmp/citus` and set \
                    TILLS_TEST_CITUS_URL=postgres://postgres@127.0.0.1:<coordinator port>/postgres and \
                    TILLS_TEST_CITUS_WORKERS=127.0.0.1:<port>,127.0.0.1:<port> as it prints";
        let (Ok(url), Ok(workers)) = (std::env::var("TILLS_TEST_CITUS_URL"), std::env::var("TILLS_TEST_CITUS_WORKERS"))
        else {
            panic!("{help}");
        };
        let options: PgConnectOptions = url.parse().unwrap_or_else(|e| panic!("TILLS_TEST_CITUS_URL: {e}"));
        CitusCluster {
            coordinator: format!("{}:{}", options.get_host(), options.get_port()),
            workers: workers.split(',').map(|w| w.trim().to_owned()).filter(|w| !w.is_empty()).collect(),
            user: options.get_username().to_owned(),
        }
    }

    fn nodes(&self) -> Vec<String> {
        std::iter::once(self.coordinator.clone()).chain(self.workers.iter().cloned()).collect()
    }

    /// A node's database as the superuser. `sslmode=disable`: a Citus node's default certificate
    /// is one rustls cannot parse (the server's own connections fall back; see a test of that).
    fn url(&self, node: &str, database: &str) -> String {
        format!("postgres://{}@{node}/{database}?sslmode=disable", self.user)
    }

    async fn connect(&self, node: &str, database: &str) -> PgConnection {
        let url = self.url(node, database);
        let options: PgConnectOptions = url.parse().expect("a node's URL");
        match tokio::time::timeout(Duration::from_secs(10), options.connect()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                panic!("the Citus node {node} is not reachable ({e}); run scripts/test.sh, or scripts/citus.sh up")
            }
            Err(_) => panic!("the Citus node {node} does not answer; run scripts/test.sh, or scripts/citus.sh up"),
        }
    }

    /// On every node: the Citus extension; on the coordinator: the workers, the migrations and
    /// `tills citus distribute`. Then the database is closed to connections (Citus's maintenance
    /// daemon included), so it can be copied, and renamed to `template`.
    async fn build_template(&self, template: &str) {
        let building = format!("{template}_building");
        for node in self.nodes() {
            let mut c = self.connect(&node, "postgres").await;
            c.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))).await.expect("drop");
            c.execute(AssertSqlSafe(format!("CREATE DATABASE {building}"))).await.expect("create the template");
            let mut db = self.connect(&node, &building).await;
            db.execute("CREATE EXTENSION citus")
                .await
                .unwrap_or_else(|e| panic!("CREATE EXTENSION citus on {node}: {e}"));
        }
        let mut coordinator = self.connect(&self.coordinator, &building).await;
        for worker in &self.workers {
            let (host, port) = worker.rsplit_once(':').expect("host:port");
            sqlx::query("SELECT citus_add_node($1, $2)")
                .bind(host)
                .bind(port.parse::<i32>().expect("a port"))
                .execute(&mut coordinator)
                .await
                .unwrap_or_else(|e| panic!("citus_add_node {worker}: {e}"));
        }
        drop(coordinator);
        let url = self.url(&self.coordinator, &building);
        tills_storage::migrate(&url).await.expect("migrate the Citus template");
        tills_storage::citus::distribute(&url).await.expect("tills citus distribute on the template");
        for node in self.nodes() {
            let mut c = self.connect(&node, "postgres").await;
            c.execute(AssertSqlSafe(format!("ALTER DATABASE {building} WITH ALLOW_CONNECTIONS false")))
                .await
                .expect("close the template");
            for _ in 0..50 {
                let left: i64 = sqlx::query_scalar(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(&building)
                .fetch_one(&mut c)
                .await
                .expect("end the template's sessions");
                if left == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            c.execute(AssertSqlSafe(format!("ALTER DATABASE {building} RENAME TO {template}")))
                .await
                .unwrap_or_else(|e| panic!("rename the template on {node}: {e}"));
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend == Backend::Citus
            && let Some(name) = self.pg_name.take()
        {
            let cluster = CitusCluster::from_env();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        for node in cluster.nodes() {
                            let options: Result<PgConnectOptions, _> = cluster.url(&node, "postgres").parse();
                            if let Ok(options) = options
                                && let Ok(Ok(mut c)) =
                                    tokio::time::timeout(Duration::from_secs(10), options.connect()).await
                            {
                                let _ = c
                                    .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                    .await;
                            }
                        }
                    });
                }
            })
            .join();
            return;
        }
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
