//! The legacy redesign's "verify all queries use storeId filter", as a test that cannot be
//! fooled by SQL built at run time: it reads every string literal of the storage layer's source,
//! and fails when a statement that touches a store-scoped table has no `store_id` condition or
//! insert column for each table it names. SQL cannot be built at run time without
//! `AssertSqlSafe`, which only the backend's `SET LOCAL` may use.

use std::path::Path;

/// Every table that holds one store's rows.
const STORE_TABLES: &[&str] = &[
    "users",
    "categories",
    "brands",
    "units",
    "products",
    "catalog_changes",
    "product_units",
    "product_barcodes",
    "customers",
    "invoice_counters",
    "sales",
    "sale_lines",
    "refunds",
    "refund_lines",
    "payments",
    "stock_movements",
    "idempotency_keys",
    "audit_log",
    "shifts",
    "z_counters",
    "cash_movements",
    "parked_carts",
    "approvals",
    "returns",
    "return_lines",
    "return_payouts",
    "import_rows",
    "journal_entries",
    "journal_heads",
    "journal_closures",
];

/// Every Rust source under `src/` (sub-folders included), by its path there.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&dir, &dir, &mut out);
    assert!(out.len() >= 5, "found the storage sources");
    out
}

/// The string literals of a Rust source, with `\` line continuations joined. Adjacent pieces of
/// one `concat!` are joined too, so a statement split across literals is read whole.
fn literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut pending_concat = false;
    while i < bytes.len() {
        if bytes[i] == '/' && bytes.get(i + 1) == Some(&'/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // The character '"' is not a string's start.
        if bytes[i] == '\'' && bytes.get(i + 1) == Some(&'"') && bytes.get(i + 2) == Some(&'\'') {
            i += 3;
            continue;
        }
        // A raw string, r#"…"#: read whole, quotes and all.
        if bytes[i] == 'r' && bytes.get(i + 1) == Some(&'#') && bytes.get(i + 2) == Some(&'"') {
            let start = i + 3;
            let mut end = start;
            while end + 1 < bytes.len() && !(bytes[end] == '"' && bytes[end + 1] == '#') {
                end += 1;
            }
            out.push(bytes[start..end.min(bytes.len())].iter().collect());
            i = end + 2;
            pending_concat = false;
            continue;
        }
        if bytes[i] == '"' {
            let mut s = String::new();
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' && bytes.get(i + 1) == Some(&'\n') {
                    i += 2;
                    while i < bytes.len() && bytes[i].is_whitespace() {
                        i += 1;
                    }
                    continue;
                }
                if bytes[i] == '\\' {
                    s.push(bytes[i + 1]);
                    i += 2;
                    continue;
                }
                s.push(bytes[i]);
                i += 1;
            }
            i += 1;
            // A literal right after `concat!(` pieces continues the previous one.
            let rest: String = bytes[i.min(bytes.len())..bytes.len().min(i + 40)].iter().collect();
            if pending_concat {
                if let Some(last) = out.last_mut() {
                    let last: &mut String = last;
                    last.push_str(&s);
                }
            } else {
                out.push(s);
            }
            pending_concat = rest.trim_start().starts_with(',') && src_context_is_concat(&out);
            continue;
        }
        i += 1;
    }
    out
}

fn src_context_is_concat(out: &[String]) -> bool {
    // list_sql!'s pieces: the first starts a SELECT and ends with a space before more filters.
    out.last().is_some_and(|s| s.trim_start().starts_with("SELECT") && s.ends_with(' '))
}

fn is_statement(s: &str) -> bool {
    let t = s.trim_start().to_uppercase();
    ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "].iter().any(|k| t.starts_with(k))
}

/// How many times the statement names a store table (after FROM, JOIN, INTO or UPDATE).
fn store_table_refs(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    let mut refs = Vec::new();
    for pair in words.windows(2) {
        if ["from", "join", "into", "update"].contains(&pair[0].as_str()) && STORE_TABLES.contains(&pair[1].as_str()) {
            refs.push(pair[1].clone());
        }
    }
    refs
}

fn check(sql: &str) -> Result<(), String> {
    let refs = store_table_refs(sql);
    if refs.is_empty() {
        return Ok(());
    }
    let lower = sql.to_lowercase();
    if lower.trim_start().starts_with("insert") {
        let cols = lower.split_once('(').map(|(_, r)| r).unwrap_or("");
        if !cols.trim_start().starts_with("store_id") {
            return Err("an INSERT into a store table must list store_id first".into());
        }
        return Ok(());
    }
    if !lower.contains("store_id = $1") {
        return Err("no `store_id = $1` condition".into());
    }
    let mentions = lower.matches("store_id").count();
    if mentions < refs.len() {
        return Err(format!("names {} store tables ({refs:?}) but has {mentions} store_id conditions", refs.len()));
    }
    Ok(())
}

#[test]
fn every_statement_on_store_data_is_scoped_to_a_store() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, src) in sources() {
        for lit in literals(&src) {
            if !is_statement(&lit) {
                continue;
            }
            checked += 1;
            if let Err(why) = check(&lit) {
                failures.push(format!("{file}: {why}:\n    {lit}"));
            }
        }
    }
    assert!(checked >= 40, "read {checked} statements: the scanner must be finding the storage layer's SQL");
    assert!(failures.is_empty(), "unscoped statements:\n{}", failures.join("\n"));
}

#[test]
fn sql_is_never_assembled_at_run_time_except_the_store_setting() {
    for (file, src) in sources() {
        let uses = src.matches("AssertSqlSafe(").count();
        match file.as_str() {
            // The store setting: with BEGIN on PostgreSQL, alone on Citus.
            "backend.rs" => assert_eq!(uses, 2, "backend.rs: only `SET LOCAL tills.store_id` is built at run time"),
            // The operator's `tills citus distribute`: `ALTER DATABASE <its name> SET` (a utility
            // statement takes no parameters), from the catalog's name and constant settings.
            "citus.rs" => assert_eq!(uses, 1, "citus.rs: only ALTER DATABASE … SET is built at run time"),
            _ => assert_eq!(uses, 0, "{file} builds SQL at run time"),
        }
    }
}

#[test]
fn the_checker_catches_unscoped_sql() {
    assert!(check("SELECT id FROM products WHERE id = $2").is_err());
    assert!(
        check("SELECT p.id FROM products p JOIN product_barcodes b ON b.product_id = p.id WHERE p.store_id = $1")
            .is_err()
    );
    assert!(check("INSERT INTO sales (id, store_id) VALUES ($1, $2)").is_err());
    assert!(check("DELETE FROM audit_log").is_err());
    assert!(check("SELECT id FROM stores WHERE id = $1").is_ok(), "stores is not store data");
    assert!(check("SELECT id FROM products WHERE store_id = $1 AND id = $2").is_ok());
}
