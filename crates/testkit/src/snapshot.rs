//! A digest of a test database: every table's row count and a hash of its rows, so that a test
//! can say "these two databases hold the same" (a resumed import and an uninterrupted one) or
//! "nothing changed" (a second import of the same dump).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::{Backend, TestDb};

/// Table → (rows, digest of the rows).
pub type Snapshot = BTreeMap<String, (i64, String)>;

/// Columns a snapshot leaves out: when a store was written, a row imported or a journal entry
/// recorded (the time of the run), where in the chain an imported sale's entry is (the order
/// the batches were written in: a resumed run writes the same entries, chained in its order), and how many statements changed a catalog (a catalog's version counts statements,
/// which a resumed run splits differently; that the row exists is compared).
fn compared(table: &str, column: &str) -> bool {
    !(table == "stores" && (column == "created_at" || column == "updated_at"))
        && !(table == "import_rows" && column == "imported_at")
        && !(table == "journal_entries" && ["recorded_at", "seq", "prev_hash", "hash"].contains(&column))
        && !(table == "journal_heads" && column == "hash")
        && !((table == "catalog_versions" || table == "catalog_changes") && column == "version")
}

impl TestDb {
    /// Every table's rows (but the migrations'), as (count, digest).
    pub async fn snapshot(&self) -> Snapshot {
        let mut out = BTreeMap::new();
        match self.backend {
            Backend::Postgres | Backend::Citus => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
                     AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .expect("tables");
                for t in tables {
                    let cols: Vec<String> = sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' \
                         AND table_name = $1 ORDER BY ordinal_position",
                    )
                    .bind(&t)
                    .fetch_all(&mut conn)
                    .await
                    .expect("columns");
                    let cols: Vec<String> = cols
                        .into_iter()
                        .filter(|c| compared(&t, c))
                        .map(|c| format!("quote_nullable(\"{c}\")"))
                        .collect();
                    let sql = format!(
                        "SELECT count(*), md5(coalesce(string_agg(l, '|' ORDER BY l), '')) \
                         FROM (SELECT concat_ws(',', {}) AS l FROM \"{t}\") x",
                        cols.join(", ")
                    );
                    let row = sqlx::query(AssertSqlSafe(sql)).fetch_one(&mut conn).await.expect("digest");
                    out.insert(t, (row.get::<i64, _>(0), row.get::<String, _>(1)));
                }
            }
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                     AND name <> '_sqlx_migrations' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .expect("tables");
                for t in tables {
                    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(&t)
                        .fetch_all(&mut conn)
                        .await
                        .expect("columns");
                    let cols: Vec<String> =
                        cols.into_iter().filter(|c| compared(&t, c)).map(|c| format!("quote(\"{c}\")")).collect();
                    let sql = format!("SELECT {} FROM \"{t}\"", cols.join(" || ',' || "));
                    let mut rows: Vec<String> =
                        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("rows");
                    rows.sort();
                    let digest = hex::encode(Sha256::digest(rows.join("|").as_bytes()));
                    out.insert(t, (rows.len() as i64, digest));
                }
            }
        }
        out
    }

    /// One store's rows of every table (the tables with a `store_id`, and its row of `stores`).
    pub async fn store_snapshot(&self, store: &str) -> Snapshot {
        let mut out = BTreeMap::new();
        let quoted = store.replace('\'', "''");
        match self.backend {
            Backend::Postgres | Backend::Citus => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public' \
                     AND column_name = 'store_id' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .expect("tables");
                for t in tables.into_iter().chain(["stores".to_owned()]) {
                    let filter = if t == "stores" { "id" } else { "store_id" };
                    let cols: Vec<String> = sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' \
                         AND table_name = $1 ORDER BY ordinal_position",
                    )
                    .bind(&t)
                    .fetch_all(&mut conn)
                    .await
                    .expect("columns");
                    let cols: Vec<String> = cols
                        .into_iter()
                        .filter(|c| compared(&t, c))
                        .map(|c| format!("quote_nullable(\"{c}\")"))
                        .collect();
                    let sql = format!(
                        "SELECT count(*), md5(coalesce(string_agg(l, '|' ORDER BY l), '')) \
                         FROM (SELECT concat_ws(',', {}) AS l FROM \"{t}\" WHERE \"{filter}\" = '{quoted}') x",
                        cols.join(", ")
                    );
                    let row = sqlx::query(AssertSqlSafe(sql)).fetch_one(&mut conn).await.expect("digest");
                    out.insert(t, (row.get::<i64, _>(0), row.get::<String, _>(1)));
                }
            }
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS \
                     (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'store_id') ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .expect("tables");
                for t in tables.into_iter().chain(["stores".to_owned()]) {
                    let filter = if t == "stores" { "id" } else { "store_id" };
                    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(&t)
                        .fetch_all(&mut conn)
                        .await
                        .expect("columns");
                    let cols: Vec<String> =
                        cols.into_iter().filter(|c| compared(&t, c)).map(|c| format!("quote(\"{c}\")")).collect();
                    let sql =
                        format!("SELECT {} FROM \"{t}\" WHERE \"{filter}\" = '{quoted}'", cols.join(" || ',' || "));
                    let mut rows: Vec<String> =
                        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(&mut conn).await.expect("rows");
                    rows.sort();
                    let digest = hex::encode(Sha256::digest(rows.join("|").as_bytes()));
                    out.insert(t, (rows.len() as i64, digest));
                }
            }
        }
        out
    }

    /// Runs a statement as the database's owner (bypassing the server's role and row-level
    /// security): for tests that damage or change data behind the server's back.
    pub async fn execute_as_owner(&self, sql: &str) {
        match self.backend {
            Backend::Postgres | Backend::Citus => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.expect(sql);
            }
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::query(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.expect(sql);
            }
        }
    }
}
