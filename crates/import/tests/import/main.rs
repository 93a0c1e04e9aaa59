//! The importer against real databases, on both backends (one test binary for the crate). The
//! HTTP side of an import (legacy logins, scans, sales, the `tills` process killed with SIGKILL,
//! the product cache) is in the server's suite (`crates/server/tests/api/import.rs`).

mod bulk;
mod delta;
mod stores;

use std::ops::Deref;
use std::sync::Arc;

use tills_domain::StoreId;
use tills_import::ImportLegacyArgs;
use tills_import::generate::{self, Dump, Fmt, Spec};
use tills_storage::{PoolConfig, Store};
use tills_testkit::{Backend, TempDir, TestDb};

/// Runs one async test body against SQLite and against PostgreSQL, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Ctx::new(tills_testkit::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Ctx::new(tills_testkit::Backend::Postgres).await).await
            }
        }
    };
}

/// A fresh database and the storage layer on it.
pub struct Ctx {
    pub db: TestDb,
    pub store: Arc<dyn Store>,
}

impl Ctx {
    pub async fn new(backend: Backend) -> Ctx {
        let db = TestDb::new(backend).await;
        let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.expect("connect");
        Ctx { db, store }
    }
}

/// A generated dump in a directory removed with it.
pub struct TestDump {
    pub dump: Dump,
    _dir: TempDir,
}

impl Deref for TestDump {
    type Target = Dump;
    fn deref(&self) -> &Dump {
        &self.dump
    }
}

pub fn dump(spec: &Spec, format: impl Fn(usize, &str) -> Fmt) -> TestDump {
    let dir = TempDir::new();
    let dump = generate::generate(&dir.path, spec, format).expect("generate a dump");
    TestDump { dump, _dir: dir }
}

/// The flags the tests use: the store map, created stores, --verify, small batches.
pub fn args(dump: &Dump, report: &str) -> ImportLegacyArgs {
    ImportLegacyArgs {
        store_map: Some(dump.store_map()),
        create_stores: true,
        verify: true,
        report: Some(dump.dir.join(report)),
        batch_size: 50,
        ..ImportLegacyArgs::new(dump.source())
    }
}

pub fn sid(s: &str) -> StoreId {
    StoreId::parse(s).unwrap()
}

/// What the database holds of the imported stores: every legacy document accounted for.
pub async fn assert_counts(store: &Arc<dyn Store>, dump: &Dump) {
    for s in &dump.stores {
        let t = store.imported_totals(&sid(&s.store_id)).await.unwrap();
        assert_eq!(t.products, s.products.len() as i64, "{}: products, deleted ones included", s.store_id);
        assert_eq!(t.customers, s.customers as i64, "{}: customers, duplicates kept", s.store_id);
        assert_eq!(t.users, s.user_docs as i64, "{}: users", s.store_id);
        assert_eq!(t.sales, s.sales as i64, "{}: sales", s.store_id);
        assert_eq!(t.payments, s.payments as i64, "{}: payments but the orphan", s.store_id);
        assert_eq!(t.brands, 3, "{}: brands", s.store_id);
        assert_eq!(t.units, 3, "{}: units with a legacy id", s.store_id);
    }
}
