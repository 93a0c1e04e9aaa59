//! The storage story, run against both backends: whatever passes on SQLite must pass on
//! PostgreSQL and the other way round. One test binary for the crate (link time).

mod citus;
mod explain;
mod import;
mod isolation;
mod pool;
mod scope;
mod story;

use std::sync::Arc;

use tills_domain::{Email, Role, StoreId, new_id};
use tills_storage::{NewAudit, NewStore, NewUser, PoolConfig, Store};
use tills_testkit::{Backend, TestDb};

/// Runs one async test body against SQLite and against PostgreSQL, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$body($crate::open(tills_testkit::Backend::Sqlite).await).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$body($crate::open(tills_testkit::Backend::Postgres).await).await
            }
        }
    };
}

pub struct Ctx {
    pub db: TestDb,
    pub store: Arc<dyn Store>,
}

pub async fn open(backend: Backend) -> Ctx {
    let db = TestDb::new(backend).await;
    let store = tills_storage::connect(&db.url, &PoolConfig::default()).await.expect("connect");
    Ctx { db, store }
}

pub fn sid(s: &str) -> StoreId {
    StoreId::parse(s).unwrap()
}

pub fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        id: new_id(),
        email: Email::parse(email).unwrap(),
        name: email.split('@').next().unwrap().to_owned(),
        role,
        password_hash: "$argon2id$test".to_owned(),
    }
}

/// Creates a USD store whose owner is `admin@<id>.test`.
pub async fn make_store(store: &Arc<dyn Store>, id: &str) -> tills_storage::StoreRecord {
    let new = NewStore {
        id: sid(id),
        name: format!("Store {id}"),
        currency: "USD".into(),
        currency_decimals: 2,
        timezone: "UTC".into(),
        prices_include_tax: false,
        invoice_prefix: "INV-".into(),
    };
    store
        .create_store(new, new_user(&format!("admin@{id}.test"), Role::Admin), NewAudit::new("store.create"))
        .await
        .expect("create store")
}
