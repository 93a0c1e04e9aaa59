//! Tills on a Citus cluster: `tills citus distribute` turns a migrated database on a Citus
//! coordinator into the distributed deployment, and `tills citus move-store` gives a store's
//! shards a worker of their own. See docs/scaling.md.
//!
//! Everything is read from the live catalog, so a table or function a later migration adds is
//! distributed without a list to keep by hand:
//!
//! - tables without a `store_id` column (`stores`, `platform_admins`) become reference tables
//!   (a copy on every node: the store tables' foreign keys point at `stores`);
//!   `_sqlx_migrations` stays on the coordinator;
//! - every table with a `store_id` column is distributed by it, all colocated (a store's rows
//!   of every table on one worker), referenced tables before the tables that reference them;
//! - every function of the schema is created on the workers (trigger functions fire there, on
//!   the shards); a function with a `p_store` argument is distributed by it, colocated with the
//!   store tables, so a call runs on the worker that holds the store;
//! - the settings the server needs are set on the database (on every node), not on a role:
//!   the server logs in as the owner and `SET ROLE`s, so a role's settings never apply.
//!
//! Each step is skipped when already done: running it again does nothing and says so.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection, Executor, Row};

use crate::{Result, StorageError};

/// The database-level settings the server needs on every node.
pub const DATABASE_SETTINGS: &[(&str, &str)] = &[
    // Triggers on distributed tables (catalog versions and changes, append-only rows) run on the
    // shards; Citus refuses to distribute a table with triggers without this.
    ("citus.enable_unsafe_triggers", "on"),
    // `SET LOCAL tills.store_id` reaches the workers a transaction uses: row-level security on
    // the shards needs the store. Without it every login fails (no user is visible).
    ("citus.propagate_set_commands", "local"),
];

/// What `distribute` did, one line each.
#[derive(Debug, Default, Clone)]
pub struct DistributeReport {
    pub lines: Vec<String>,
    /// The store tables (distributed by `store_id`).
    pub store_tables: Vec<String>,
    /// Steps that changed something (0 on a second run).
    pub changed: usize,
}

impl DistributeReport {
    fn did(&mut self, line: String) {
        self.changed += 1;
        self.lines.push(line);
    }
    fn had(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// Connects as the URL's user (the schema owner), with the TLS fallback of the server's pool.
async fn owner_connection(url: &str) -> Result<PgConnection> {
    let options = crate::tls::options(url).await?;
    Ok(PgConnection::connect_with(&options).await?)
}

/// The installed Citus version, or a message that says what is missing.
async fn citus_version(conn: &mut PgConnection) -> Result<String> {
    let installed: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus'")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(v) = installed {
        return Ok(v);
    }
    let available: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'citus')")
            .fetch_one(&mut *conn)
            .await?;
    let preload: String =
        sqlx::query_scalar("SELECT current_setting('shared_preload_libraries')").fetch_one(&mut *conn).await?;
    Err(StorageError::Other(if !available {
        "this database server has no Citus: `tills citus distribute` needs a Citus coordinator \
         (install Citus on every node, see docs/scaling.md); plain PostgreSQL needs nothing of it"
            .to_owned()
    } else if !preload.split(',').any(|l| l.trim() == "citus") {
        "Citus is installed but not loaded: add `shared_preload_libraries = 'citus'` to postgresql.conf \
         on every node, restart, then `CREATE EXTENSION citus` and add the workers (docs/scaling.md)"
            .to_owned()
    } else {
        "this database has no Citus extension: run `CREATE EXTENSION citus` on the coordinator and on \
         every worker (in a database of the same name), then add the workers with \
         `SELECT citus_add_node('host', port)` on the coordinator"
            .to_owned()
    }))
}

/// Whether the database is a Citus coordinator whose store tables are distributed already:
/// `tills migrate` then distributes what its new migrations added.
pub async fn is_distributed(url: &str) -> Result<bool> {
    let mut conn = owner_connection(url).await?;
    let citus: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')")
            .fetch_one(&mut conn)
            .await?;
    let distributed = citus
        && sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass('public.stores'))",
        )
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(distributed)
}

/// Distributes a migrated database on a Citus coordinator; idempotent.
pub async fn distribute(url: &str) -> Result<DistributeReport> {
    let mut conn = owner_connection(url).await?;
    let version = citus_version(&mut conn).await?;
    let mut report = DistributeReport::default();
    let migrated: bool =
        sqlx::query_scalar("SELECT to_regclass('public.stores') IS NOT NULL").fetch_one(&mut conn).await?;
    if !migrated {
        return Err(StorageError::Other(
            "the database has no Tills schema yet: run `tills migrate` first, then `tills citus distribute`".to_owned(),
        ));
    }
    let workers: Vec<(String, i32)> = sqlx::query_as(
        "SELECT nodename::text, nodeport FROM pg_dist_node \
         WHERE noderole = 'primary' AND isactive AND shouldhaveshards AND groupid <> 0 ORDER BY nodeid",
    )
    .fetch_all(&mut conn)
    .await?;
    report.had(format!(
        "Citus {version}; workers: {}",
        if workers.is_empty() {
            "none (the coordinator holds every shard: add workers with citus_add_node)".to_owned()
        } else {
            workers.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>().join(", ")
        }
    ));

    // The settings, on this session first (what follows needs them), then on the database of
    // every node.
    let database: String = sqlx::query_scalar("SELECT current_database()::text").fetch_one(&mut conn).await?;
    for (name, value) in DATABASE_SETTINGS {
        sqlx::query("SELECT set_config($1, $2, false)").bind(name).bind(value).execute(&mut conn).await?;
    }
    for (name, value) in DATABASE_SETTINGS {
        let set = format!("{name}={value}");
        let current: Vec<String> = sqlx::query_scalar(
            "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase \
             WHERE d.datname = current_database() AND s.setrole = 0",
        )
        .fetch_all(&mut conn)
        .await?;
        let alter = format!("ALTER DATABASE {} SET {name} = '{value}'", quote_ident(&database));
        if current.contains(&set) {
            report.had(format!("database setting {name} = '{value}' already set on the coordinator"));
        } else {
            // Citus may propagate ALTER DATABASE itself; it is also sent to each worker below.
            conn.execute(AssertSqlSafe(alter.clone())).await?;
            report.did(format!("ALTER DATABASE {database} SET {name} = '{value}' (coordinator)"));
        }
        if !workers.is_empty() {
            let on_workers: Vec<(String, i32, bool, String)> =
                sqlx::query_as("SELECT nodename::text, nodeport, success, result FROM run_command_on_workers($1)")
                    .bind(format!(
                        "SELECT coalesce(bool_or(c = '{set}'), false) FROM pg_db_role_setting s, unnest(s.setconfig) c \
                 WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND s.setrole = 0"
                    ))
                    .fetch_all(&mut conn)
                    .await?;
            if on_workers.iter().all(|(_, _, ok, result)| *ok && result == "t") {
                report.had(format!("database setting {name} = '{value}' already set on every worker"));
                continue;
            }
            let done: Vec<(String, i32, bool, String)> =
                sqlx::query_as("SELECT nodename::text, nodeport, success, result FROM run_command_on_workers($1)")
                    .bind(&alter)
                    .fetch_all(&mut conn)
                    .await?;
            for (host, port, ok, result) in done {
                if !ok {
                    return Err(StorageError::Other(format!(
                        "setting {name} on the worker {host}:{port} failed: {result}"
                    )));
                }
                report.did(format!("ALTER DATABASE {database} SET {name} = '{value}' (worker {host}:{port})"));
            }
        }
    }

    // Reference tables: the schema's tables without a store.
    let reference: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT c.relname::text, t.citus_table_type::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN citus_tables t ON t.table_name = c.oid::regclass \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND c.relname <> '_sqlx_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'store_id' \
                           AND NOT a.attisdropped) \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    for (table, kind) in reference {
        match kind.as_deref() {
            Some("reference") => report.had(format!("{table}: reference table already")),
            Some(other) => {
                return Err(StorageError::Other(format!(
                    "{table} is a Citus {other} table, expected a reference table: undistribute it \
                     (SELECT undistribute_table('{table}')) and run this again"
                )));
            }
            None => {
                sqlx::query("SELECT create_reference_table($1::regclass)").bind(&table).execute(&mut conn).await?;
                report.did(format!("{table}: reference table (a copy on every node)"));
            }
        }
    }

    // Store tables, referenced ones first (a foreign key between store tables needs the
    // referenced table distributed and colocated already).
    let mut pending: Vec<(String, Option<String>, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text, t.citus_table_type::text, \
                coalesce(array(SELECT DISTINCT f.confrelid::regclass::text FROM pg_constraint f \
                               WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN citus_tables t ON t.table_name = c.oid::regclass \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'store_id' \
                       AND NOT a.attisdropped) \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    let store_tables: Vec<String> = pending.iter().map(|(t, ..)| t.clone()).collect();
    if store_tables.is_empty() {
        return Err(StorageError::Other("no table has a store_id column: is this a Tills database?".to_owned()));
    }
    // The colocation anchor: a store table distributed already, else the first to be.
    let mut anchor: Option<String> =
        pending.iter().find(|(_, kind, _)| kind.as_deref() == Some("distributed")).map(|(t, ..)| t.clone());
    let mut done: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(_, _, refs)| refs.iter().all(|r| !store_tables.contains(r) || done.contains(r)))
            .ok_or_else(|| {
                StorageError::Other(format!(
                    "the store tables' foreign keys form a cycle: {:?}",
                    pending.iter().map(|(t, ..)| t).collect::<Vec<_>>()
                ))
            })?;
        let (table, kind, _) = pending.remove(ready);
        match kind.as_deref() {
            Some("distributed") => {
                let (column, colocated): (Option<String>, bool) = sqlx::query_as(
                    "SELECT column_to_column_name(p.logicalrelid, p.partkey), \
                            p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = $2::regclass) \
                     FROM pg_dist_partition p WHERE p.logicalrelid = $1::regclass",
                )
                .bind(&table)
                .bind(anchor.as_deref().unwrap_or(&table))
                .fetch_one(&mut conn)
                .await?;
                if column.as_deref() != Some("store_id") || !colocated {
                    return Err(StorageError::Other(format!(
                        "{table} is distributed by {column:?}{}: it must be by store_id, colocated with {}",
                        if colocated { "" } else { ", in another colocation group" },
                        anchor.as_deref().unwrap_or("the store tables")
                    )));
                }
                report.had(format!("{table}: distributed by store_id already"));
            }
            kind => {
                if kind == Some("reference") {
                    return Err(StorageError::Other(format!(
                        "{table} has a store_id but is a reference table: SELECT undistribute_table('{table}') and run this again"
                    )));
                }
                // A Citus local table (one a migration created on a distributed database, with a
                // foreign key to `stores`) is distributed the same way.
                let colocate = anchor.clone().unwrap_or_else(|| "none".to_owned());
                sqlx::query("SELECT create_distributed_table($1::regclass, 'store_id', colocate_with => $2)")
                    .bind(&table)
                    .bind(&colocate)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| StorageError::Other(format!("distributing {table}: {e}")))?;
                report.did(format!(
                    "{table}: distributed by store_id{}",
                    match &anchor {
                        Some(a) => format!(", colocated with {a}"),
                        None => String::new(),
                    }
                ));
                if anchor.is_none() {
                    anchor = Some(table.clone());
                }
            }
        }
        done.push(table);
    }
    let anchor = anchor.expect("at least one store table");

    // Functions: every one of the schema on every node, those with a store argument delegated.
    let colocation: i32 =
        sqlx::query_scalar("SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = $1::regclass")
            .bind(&anchor)
            .fetch_one(&mut conn)
            .await?;
    let functions = sqlx::query(
        "SELECT p.oid::regprocedure::text AS signature, \
                array_position(p.proargnames, 'p_store') AS store_arg, \
                o.objid IS NOT NULL AS distributed, o.distribution_argument_index, o.colocationid \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         LEFT JOIN pg_dist_object o ON o.classid = 'pg_proc'::regclass AND o.objid = p.oid \
         WHERE n.nspname = 'public' AND p.prokind = 'f' \
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid \
                           AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    for f in functions {
        let signature: String = f.get("signature");
        let store_arg: Option<i32> = f.get("store_arg");
        let distributed: bool = f.get("distributed");
        let arg_index: Option<i32> = f.get("distribution_argument_index");
        let colocated: Option<i32> = f.get("colocationid");
        match store_arg {
            Some(position) => {
                if distributed && arg_index == Some(position - 1) && colocated == Some(colocation) {
                    report.had(format!("{signature}: distributed by p_store already"));
                    continue;
                }
                sqlx::query(
                    "SELECT create_distributed_function($1::regprocedure, 'p_store', colocate_with => $2::text)",
                )
                .bind(&signature)
                .bind(&anchor)
                .execute(&mut conn)
                .await
                .map_err(|e| StorageError::Other(format!("distributing the function {signature}: {e}")))?;
                report.did(format!(
                    "{signature}: on every node, distributed by p_store (a call runs on its store's worker)"
                ));
            }
            None => {
                if distributed {
                    report.had(format!("{signature}: on every node already"));
                    continue;
                }
                sqlx::query("SELECT create_distributed_function($1::regprocedure)")
                    .bind(&signature)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| StorageError::Other(format!("creating {signature} on the workers: {e}")))?;
                report.did(format!("{signature}: created on every node"));
            }
        }
    }
    report.store_tables = store_tables;
    conn.close().await?;
    Ok(report)
}

/// `"name"`, doubled quotes inside.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL's options, for tests and tools that connect to the coordinator themselves.
pub fn options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|e| StorageError::Other(e.to_string()))
}

/// What `move_store` did.
#[derive(Debug, Clone)]
pub struct MoveReport {
    /// The shard that holds only this store (in every store table: they are colocated).
    pub shard_id: i64,
    /// Whether the store had to be split off its shard first (`isolate_tenant_to_new_shard`).
    pub isolated: bool,
    pub from: String,
    pub to: String,
    pub isolate_ms: u128,
    pub move_ms: u128,
}

/// The transfer mode for splits and moves. Citus's default copies through logical replication,
/// whose apply role is refused by forced row-level security on every store table (the move
/// hangs); `block_writes` copies while the store's writes wait (about a second for a store of a
/// few thousand products), reads go on.
pub const TRANSFER_MODE: &str = "block_writes";

/// Gives `store` a shard of its own in every store table (when it shares one) and moves it to
/// the worker `to` (`host:port`), or to the worker holding the fewest of the group's shards.
pub async fn move_store(url: &str, store: &tills_domain::StoreId, to: Option<&str>) -> Result<MoveReport> {
    let mut conn = owner_connection(url).await?;
    citus_version(&mut conn).await?;
    if !is_distributed(url).await? {
        return Err(StorageError::Other(
            "the database is not distributed: run `tills citus distribute` first".to_owned(),
        ));
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1)")
        .bind(store.as_str())
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        return Err(StorageError::Other(format!("no store {store}")));
    }
    // The store tables' colocation group, named by one of its tables.
    let anchor: String = sqlx::query_scalar(
        "SELECT logicalrelid::regclass::text FROM pg_dist_partition p \
         WHERE partmethod = 'h' AND column_to_column_name(logicalrelid, partkey) = 'store_id' ORDER BY 1 LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await?;
    let shard_of = "SELECT get_shard_id_for_distribution_column($1::regclass, $2::text)";
    let mut shard_id: i64 =
        sqlx::query_scalar(shard_of).bind(&anchor).bind(store.as_str()).fetch_one(&mut conn).await?;
    let alone: bool = sqlx::query_scalar("SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard WHERE shardid = $1")
        .bind(shard_id)
        .fetch_one(&mut conn)
        .await?;
    let started = std::time::Instant::now();
    if !alone {
        shard_id = sqlx::query_scalar(
            "SELECT isolate_tenant_to_new_shard($1::regclass, $2::text, 'CASCADE', \
             shard_transfer_mode => $3::citus.shard_transfer_mode)",
        )
        .bind(&anchor)
        .bind(store.as_str())
        .bind(TRANSFER_MODE)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| StorageError::Other(format!("isolating {store} on a shard of its own: {e}")))?;
    }
    let isolate_ms = started.elapsed().as_millis();
    let (from_host, from_port): (String, i32) =
        sqlx::query_as("SELECT nodename::text, nodeport FROM citus_shards WHERE shardid = $1 LIMIT 1")
            .bind(shard_id)
            .fetch_one(&mut conn)
            .await?;
    let (to_host, to_port): (String, i32) = match to {
        Some(target) => {
            let (h, p) = target
                .rsplit_once(':')
                .and_then(|(h, p)| p.parse::<i32>().ok().map(|p| (h.to_owned(), p)))
                .ok_or_else(|| StorageError::Other(format!("--to {target}: expected host:port of a worker")))?;
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2 \
                 AND noderole = 'primary' AND isactive AND groupid <> 0)",
            )
            .bind(&h)
            .bind(p)
            .fetch_one(&mut conn)
            .await?;
            if !known {
                return Err(StorageError::Other(format!(
                    "--to {target} is not an active worker: add it first (SELECT citus_add_node('{h}', {p}))"
                )));
            }
            (h, p)
        }
        None => sqlx::query_as(
            "SELECT n.nodename::text, n.nodeport FROM pg_dist_node n \
             WHERE n.noderole = 'primary' AND n.isactive AND n.groupid <> 0 AND NOT (n.nodename = $1 AND n.nodeport = $2) \
             ORDER BY (SELECT count(*) FROM citus_shards s WHERE s.nodename = n.nodename AND s.nodeport = n.nodeport \
                       AND s.colocation_id = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = $3::regclass)), \
                      n.nodeid LIMIT 1",
        )
        .bind(&from_host)
        .bind(from_port)
        .bind(&anchor)
        .fetch_optional(&mut conn)
        .await?
        .ok_or_else(|| StorageError::Other("there is no other worker to move the store to".to_owned()))?,
    };
    let moving = std::time::Instant::now();
    // A store on a shard of its own stays where it is unless told where to go (a second run
    // moves nothing).
    let stay = alone && to.is_none();
    if !stay && (to_host.as_str(), to_port) != (from_host.as_str(), from_port) {
        sqlx::query(
            "SELECT citus_move_shard_placement($1, $2, $3, $4, $5, shard_transfer_mode => $6::citus.shard_transfer_mode)",
        )
        .bind(shard_id)
        .bind(&from_host)
        .bind(from_port)
        .bind(&to_host)
        .bind(to_port)
        .bind(TRANSFER_MODE)
        .execute(&mut conn)
        .await
        .map_err(|e| StorageError::Other(format!("moving shard {shard_id} of {store}: {e}")))?;
    }
    let move_ms = moving.elapsed().as_millis();
    conn.close().await?;
    Ok(MoveReport {
        shard_id,
        isolated: !alone,
        from: format!("{from_host}:{from_port}"),
        to: if stay { format!("{from_host}:{from_port}") } else { format!("{to_host}:{to_port}") },
        isolate_ms,
        move_ms,
    })
}
