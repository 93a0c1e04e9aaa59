//! The tamper-evident journal over HTTP on both backends: every money event writes exactly one
//! entry, verification (API and CLI) names each kind of tampering made as the database's owner,
//! closures are signed with the journal key, and an export verifies with docs/journal.md's
//! auditor script.

use serde_json::{Value, json};
use sqlx::Executor;
use tills_domain::StoreId;
use tills_storage::{JournalRange, JournalSigner};
use tills_testkit::Backend;

use crate::both_backends;
use crate::helpers::{JOURNAL_SEED, TestApp, journal_key};

struct Shop {
    admin: String,
    manager: String,
    cashier: String,
    other_admin: String,
}

async fn shop(app: &TestApp) -> Shop {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "till-a").await;
    let other_admin = app.create_store(&platform, "till-b").await;
    let (_, manager) = app.user(&admin, "till-a", "boss@a.test", "manager").await;
    let (_, cashier) = app.user(&admin, "till-a", "till@a.test", "cashier").await;
    app.post(
        "/api/v1/products",
        &admin,
        json!({"name": "Cola", "barcode": "5449000000996", "price": 150, "taxRate": 1900, "stock": 1000}),
    )
    .await
    .expect(201);
    Shop { admin, manager, cashier, other_admin }
}

fn colas(n: u32, payments: Value) -> Value {
    json!({"lines": [{"barcode": "5449000000996", "quantity": n}], "payments": payments})
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn till_a() -> StoreId {
    StoreId::parse("till-a").unwrap()
}

/// The kinds of the store's entries, in order.
async fn kinds(app: &TestApp) -> Vec<String> {
    let entries = app.store.journal_entries(&till_a(), &JournalRange::default(), 0, 10_000).await.unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "gapless");
    }
    entries.into_iter().map(|e| e.kind).collect()
}

/// Runs `event` and checks it appended exactly one entry, of `kind`.
async fn one_entry<F: Future<Output = Value>>(app: &TestApp, kind: &str, event: F) -> Value {
    let before = kinds(app).await;
    let out = event.await;
    let after = kinds(app).await;
    assert_eq!(after.len(), before.len() + 1, "{kind}: one entry, not {:?}", &after[before.len()..]);
    assert_eq!(after.last().map(String::as_str), Some(kind));
    out
}

/// Every money event of the store, once: returns (sale id, refund's sale id, shift id).
async fn every_event(app: &TestApp, s: &Shop) -> Value {
    let sid = one_entry(app, "shift_open", async {
        app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 1000})).await.expect(201)
    })
    .await;
    let sid = id(&sid);
    let mut body = colas(2, json!([{"method": "cash", "amount": 500}]));
    body["clientRef"] = json!("sale-1");
    let sale =
        one_entry(app, "sale", async { app.post("/api/v1/sales", &s.cashier, body.clone()).await.expect(201) }).await;
    // A replay and a refused sale write nothing.
    let before = kinds(app).await.len();
    app.post("/api/v1/sales", &s.cashier, body).await.expect(200);
    app.post("/api/v1/sales", &s.cashier, colas(2, json!([{"method": "cash", "amount": 1}])))
        .await
        .expect_error(400, "insufficient_payment");
    assert_eq!(kinds(app).await.len(), before, "a replay and a refusal write no entry");

    let override_body = json!({"lines": [{"barcode": "5449000000996", "quantity": 1, "price": 100}],
                               "payments": [{"method": "card", "amount": 119}]});
    one_entry(app, "sale_price_override", async {
        app.post("/api/v1/sales", &s.manager, override_body).await.expect(201)
    })
    .await;
    let mut offline = colas(1, json!([{"method": "cash", "amount": 200}]));
    offline["offline"] = json!(true);
    offline["soldAt"] = json!("2026-01-01T10:00:00Z");
    offline["shiftId"] = json!(sid);
    one_entry(app, "sale_offline", async { app.post("/api/v1/sales", &s.cashier, offline).await.expect(201) }).await;
    let voided = app.post("/api/v1/sales", &s.cashier, colas(1, json!([{"method": "cash", "amount": 179}]))).await;
    let voided = id(&voided.expect(201));
    one_entry(app, "void", async {
        app.post(&format!("/api/v1/sales/{voided}/void"), &s.manager, json!({})).await.expect(200)
    })
    .await;
    let line = sale["lines"][0]["id"].as_str().unwrap().to_owned();
    one_entry(app, "refund", async {
        app.post(
            &format!("/api/v1/sales/{}/refunds", id(&sale)),
            &s.manager,
            json!({"lines": [{"lineId": line, "quantity": 1}], "payments": [{"method": "cash", "amount": 179}]}),
        )
        .await
        .expect(201)
    })
    .await;
    one_entry(app, "return", async {
        app.post(
            "/api/v1/returns",
            &s.manager,
            json!({"reason": "broken seal", "lines": [{"barcode": "5449000000996", "quantity": 1}],
                   "payments": [{"method": "cash", "amount": 179}]}),
        )
        .await
        .expect(201)
    })
    .await;
    for kind in ["pay_in", "pay_out", "no_sale"] {
        let amount = if kind == "no_sale" { 0 } else { 300 };
        one_entry(app, "cash_movement", async {
            app.post(
                &format!("/api/v1/shifts/{sid}/cash-movements"),
                &s.cashier,
                json!({"kind": kind, "amount": amount, "reason": "journal test"}),
            )
            .await
            .expect(201)
        })
        .await;
    }
    let report = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.cashier).await.expect(200);
    let expected = report["figures"]["cash"]["expected"].clone();
    one_entry(app, "shift_close", async {
        app.post(&format!("/api/v1/shifts/{sid}/close"), &s.cashier, json!({"countedCash": expected})).await.expect(200)
    })
    .await;
    json!({"sale": id(&sale), "shift": sid})
}

async fn every_money_event_writes_exactly_one_entry(app: TestApp) {
    let s = shop(&app).await;
    every_event(&app, &s).await;
    let seen = kinds(&app).await;
    for kind in tills_storage::journal_kind::ALL {
        if *kind != "imported_sale" {
            assert!(seen.iter().any(|k| k == kind), "no {kind} entry among {seen:?}");
        }
    }
    // The Z sealed the head with a closure; a day close seals it again without an entry.
    let closures = app.store.journal_closures(&till_a(), &JournalRange::default()).await.unwrap();
    assert_eq!(closures.len(), 1);
    assert_eq!(closures[0].kind, "z");
    assert_eq!(closures[0].head_seq, seen.len() as i64);
    assert_eq!(closures[0].key_id, journal_key().key_id());
    app.post("/api/v1/journal/day-close", &s.cashier, json!({})).await.expect_error(403, "forbidden");
    let day = app.post("/api/v1/journal/day-close", &s.manager, json!({})).await.expect(201);
    assert_eq!(day["kind"], "day");
    assert_eq!(day["headSeq"], seen.len());
    assert_eq!(kinds(&app).await.len(), seen.len(), "a day close is no entry");

    let key = app.call(reqwest::Method::GET, "/api/v1/journal/public-key", None, None).await.expect(200);
    assert_eq!(key["publicKey"], journal_key().public_hex());
    assert_eq!(key["algorithm"], "Ed25519");

    // Verification: admin only, intact, every entry and closure counted.
    app.get("/api/v1/journal/verify", &s.manager).await.expect_error(403, "forbidden");
    let report = app.get("/api/v1/journal/verify", &s.admin).await.expect(200);
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["entries"], seen.len());
    assert_eq!(report["closures"], 2);
    // Another store's journal is its own (and empty).
    let theirs = app.get("/api/v1/journal/verify", &s.other_admin).await.expect(200);
    assert_eq!(theirs["entries"], 0);
    assert_eq!(theirs["intact"], true);
    app.get("/api/v1/journal/verify?from=nope", &s.admin).await.expect_error(400, "invalid_input");
}
both_backends!(every_money_event_writes_exactly_one_entry);

/// Runs SQL as the database's owner, with every trigger off (what an attacker with owner rights
/// can do).
async fn as_owner(app: &TestApp, statements: &[&str]) {
    match app.db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            for trigger in [
                "journal_entries_no_update",
                "journal_entries_no_delete",
                "journal_closures_no_update",
                "journal_closures_no_delete",
            ] {
                pool.execute(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}"))).await.unwrap();
            }
            pool.execute("PRAGMA foreign_keys = OFF").await.unwrap();
            let mut conn = pool.acquire().await.unwrap();
            conn.execute("PRAGMA foreign_keys = OFF").await.unwrap();
            for sql in statements {
                conn.execute(sqlx::AssertSqlSafe(sql.to_string())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
        Backend::Postgres | Backend::Citus => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            tx.execute("SET LOCAL session_replication_role = replica").await.unwrap();
            for sql in statements {
                tx.execute(sqlx::AssertSqlSafe(sql.to_string())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            tx.commit().await.unwrap();
        }
    }
}

async fn verify(app: &TestApp, s: &Shop) -> Value {
    app.get("/api/v1/journal/verify", &s.admin).await.expect(200)
}

/// The first problem's kind and entry.
fn first(report: &Value) -> (String, i64) {
    let p = &report["firstProblem"];
    (p["kind"].as_str().unwrap_or("none").to_owned(), p["seq"].as_i64().unwrap_or(-1))
}

async fn seq_of(app: &TestApp, kind: &str) -> i64 {
    kinds(app).await.iter().position(|k| k == kind).unwrap() as i64 + 1
}

/// `tills` with `args` against the app's database (the journal key the app signs with).
fn run_tills(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tills"))
        .args(args)
        .args(["--database-url", &app.db.url])
        .env("TILLS_JOURNAL_KEY", JOURNAL_SEED)
        .env("RUST_LOG", "error")
        .output()
        .expect("run tills");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `tills journal verify --store till-a` with more arguments.
fn run_cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    run_tills(app, &[&["journal", "verify", "--store", "till-a"], args].concat())
}

async fn verification_names_each_kind_of_tampering(app: TestApp) {
    let s = shop(&app).await;
    let ids = every_event(&app, &s).await;
    assert_eq!(verify(&app, &s).await["intact"], true);
    let (ok, text) = run_cli(&app, &[]);
    assert!(ok && text.contains("intact"), "{text}");
    let sale = ids["sale"].as_str().unwrap().replace('-', "");
    let (sale_pg, sale_hex) = (ids["sale"].as_str().unwrap().to_owned(), sale.clone());
    let sale_cond = match app.db.backend {
        Backend::Sqlite => format!("id = x'{sale_hex}'"),
        Backend::Postgres | Backend::Citus => format!("id = '{sale_pg}'"),
    };

    // A sale's total, changed and changed back.
    as_owner(&app, &[&format!("UPDATE sales SET total = total + 100 WHERE store_id = 'till-a' AND {sale_cond}")]).await;
    let report = verify(&app, &s).await;
    assert_eq!(report["intact"], false);
    assert_eq!(first(&report), ("changed_row".into(), seq_of(&app, "sale").await), "{report}");
    let (ok, text) = run_cli(&app, &[]);
    assert!(!ok && text.contains("changed_row"), "{text}");
    as_owner(&app, &[&format!("UPDATE sales SET total = total - 100 WHERE store_id = 'till-a' AND {sale_cond}")]).await;
    assert_eq!(verify(&app, &s).await["intact"], true);

    // Two entries swapped (the sale's and the override's).
    let swap = [
        "UPDATE journal_entries SET seq = 1000 WHERE store_id = 'till-a' AND seq = 2",
        "UPDATE journal_entries SET seq = 2 WHERE store_id = 'till-a' AND seq = 3",
        "UPDATE journal_entries SET seq = 3 WHERE store_id = 'till-a' AND seq = 1000",
    ];
    as_owner(&app, &swap).await;
    let report = verify(&app, &s).await;
    assert_eq!(first(&report), ("reordered".into(), 2), "{report}");
    as_owner(&app, &swap).await;
    assert_eq!(verify(&app, &s).await["intact"], true);

    // The head a closure sealed, altered: its signature no longer verifies.
    let zeros = match app.db.backend {
        Backend::Sqlite => "x'0000000000000000000000000000000000000000000000000000000000000000'",
        Backend::Postgres | Backend::Citus => {
            "'\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea"
        }
    };
    as_owner(
        &app,
        &[&format!("UPDATE journal_closures SET head_hash = {zeros} WHERE store_id = 'till-a' AND seq = 1")],
    )
    .await;
    let report = verify(&app, &s).await;
    assert_eq!(report["firstProblem"]["kind"], "bad_signature", "{report}");
    assert_eq!(report["firstProblem"]["closure"], 1, "{report}");

    // A refund deleted (its lines and payouts too).
    let refund_seq = seq_of(&app, "refund").await;
    let entries = app.store.journal_entries(&till_a(), &JournalRange::default(), 0, 1000).await.unwrap();
    let refund = entries[(refund_seq - 1) as usize].ref_id.unwrap();
    let cond = |col: &str| match app.db.backend {
        Backend::Sqlite => format!("{col} = x'{}'", refund.simple()),
        Backend::Postgres | Backend::Citus => format!("{col} = '{refund}'"),
    };
    as_owner(
        &app,
        &[
            &format!("DELETE FROM payments WHERE store_id = 'till-a' AND {}", cond("refund_id")),
            &format!("DELETE FROM refund_lines WHERE store_id = 'till-a' AND {}", cond("refund_id")),
            &format!("DELETE FROM refunds WHERE store_id = 'till-a' AND {}", cond("id")),
        ],
    )
    .await;
    let report = verify(&app, &s).await;
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["kind"] == "missing_row" && p["seq"] == refund_seq),
        "the deleted refund is named: {report}"
    );

    // An entry deleted, and the chain recomputed after it by the owner: the closure's seal breaks.
    as_owner(&app, &["DELETE FROM journal_entries WHERE store_id = 'till-a' AND seq = 4"]).await;
    let report = verify(&app, &s).await;
    assert_eq!(first(&report), ("missing_entry".into(), 4), "{report}");
    let (ok, text) = run_cli(&app, &[]);
    assert!(!ok && text.contains("missing_entry"), "{text}");
}
both_backends!(verification_names_each_kind_of_tampering);

/// An owner who rewrites a sale's entry and every hash after it still cannot forge the seal.
async fn a_rewritten_chain_breaks_the_signed_seal(app: TestApp) {
    let s = shop(&app).await;
    every_event(&app, &s).await;
    let entries = app.store.journal_entries(&till_a(), &JournalRange::default(), 0, 1000).await.unwrap();
    // Rewrite entry 2's content (and its sale row to match), then recompute every hash.
    let mut prev = entries[0].hash.clone();
    let mut statements = Vec::new();
    for e in &entries[1..] {
        let content = if e.seq == 2 { e.content.replace("\"total\":357", "\"total\":300") } else { e.content.clone() };
        let hash = tills_storage::chain_hash(&prev, e.seq, &content);
        let (c, p, h) = (content.replace('\'', "''"), tills_storage::hex(&prev), tills_storage::hex(&hash));
        statements.push(match app.db.backend {
            Backend::Sqlite => format!(
                "UPDATE journal_entries SET content = '{c}', prev_hash = x'{p}', hash = x'{h}' WHERE store_id = 'till-a' AND seq = {}",
                e.seq
            ),
            Backend::Postgres | Backend::Citus => format!(
                "UPDATE journal_entries SET content = '{c}', prev_hash = '\\x{p}', hash = '\\x{h}' WHERE store_id = 'till-a' AND seq = {}",
                e.seq
            ),
        });
        prev = hash.to_vec();
    }
    let sale = entries[1].ref_id.unwrap();
    statements.push(match app.db.backend {
        Backend::Sqlite => {
            format!("UPDATE sales SET total = 300 WHERE store_id = 'till-a' AND id = x'{}'", sale.simple())
        }
        Backend::Postgres | Backend::Citus => {
            format!("UPDATE sales SET total = 300 WHERE store_id = 'till-a' AND id = '{sale}'")
        }
    });
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    as_owner(&app, &refs).await;
    let report = verify(&app, &s).await;
    let problems = report["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["kind"] == "seal_broken" && p["closure"] == 1), "{report}");
    // Nothing else gives the rewrite away: the entry and the sale row agree with each other.
    assert!(problems.iter().all(|p| p["kind"] != "reordered" && p["kind"] != "altered_entry"), "{report}");
}
both_backends!(a_rewritten_chain_breaks_the_signed_seal);

/// The script of docs/journal.md, as the docs show it.
fn auditor_script() -> String {
    let doc = include_str!("../../../../docs/journal.md");
    let start = doc.find("```python\n").expect("docs/journal.md has the auditor script") + "```python\n".len();
    let len = doc[start..].find("```").expect("the script's end");
    doc[start..start + len].to_owned()
}

fn run_script(dir: &std::path::Path, export: &str) -> (bool, String) {
    let script = dir.join("verify_journal.py");
    std::fs::write(&script, auditor_script()).unwrap();
    let file = dir.join("export");
    std::fs::write(&file, export).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&file)
        .output()
        .expect("python3 runs the auditor script (install python3)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn the_export_verifies_with_the_auditors_script(app: TestApp) {
    let s = shop(&app).await;
    every_event(&app, &s).await;
    app.post("/api/v1/journal/day-close", &s.manager, json!({})).await.expect(201);
    app.get("/api/v1/journal/export", &s.manager).await.expect_error(403, "forbidden");
    app.get("/api/v1/journal/export?format=xml", &s.admin).await.expect_error(400, "invalid_input");
    let dir = tills_testkit::TempDir::new();
    let count = kinds(&app).await.len();
    for format in ["jsonl", "csv"] {
        let resp = app
            .client
            .get(format!("{}/api/v1/journal/export?format={format}", app.base))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.text().await.unwrap();
        let (ok, out) = run_script(&dir.path, &text);
        assert!(ok, "{format}: {out}");
        assert!(out.contains(&format!("intact: {count} entries, 2 closures")), "{format}: {out}");
        // A figure changed in the export is caught.
        let tampered = text.replacen("\"total\\\":357", "\"total\\\":358", 1).replacen(
            "\"\"total\"\":357",
            "\"\"total\"\":358",
            1,
        );
        assert_ne!(tampered, text, "{format}: the sale's total is in the export");
        let (ok, out) = run_script(&dir.path, &tampered);
        assert!(!ok && out.contains("entry 2"), "{format}: {out}");
    }
    // A period: only its entries, chained to the one before.
    let to = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resp = app
        .client
        .get(format!("{}/api/v1/journal/export?from=2020-01-01&to={to}", app.base))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let (ok, out) = run_script(&dir.path, &text);
    assert!(ok, "{out}");
}
both_backends!(the_export_verifies_with_the_auditors_script);

/// `tills journal adopt` with its arguments.
fn run_adopt(app: &TestApp, args: &[&str]) -> (bool, String) {
    run_tills(app, &[&["journal", "adopt"], args].concat())
}

/// A store that sold before the journal existed: its rows have no entries, and verification
/// says so until `tills journal adopt` journals them, oldest first, after the entries written
/// since; from then on they are covered like any other, and adopting again journals nothing.
async fn rows_from_before_the_journal_are_adopted(app: TestApp) {
    let s = shop(&app).await;
    let events = every_event(&app, &s).await;
    let rows = kinds(&app).await.len();
    // The deployment before the journal's migration: no entry, closure or head.
    as_owner(
        &app,
        &[
            "DELETE FROM journal_closures WHERE store_id = 'till-a'",
            "DELETE FROM journal_entries WHERE store_id = 'till-a'",
            "DELETE FROM journal_heads WHERE store_id = 'till-a'",
        ],
    )
    .await;
    // The first event after the upgrade starts the chain.
    app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 500})).await.expect(201);
    let report = verify(&app, &s).await;
    assert_eq!(report["intact"], false, "{report}");
    let missing = report["problems"].as_array().unwrap();
    assert_eq!(missing.len(), rows, "every row before the journal is named: {report}");
    assert!(missing.iter().all(|p| p["kind"] == "missing_entry" && p["seq"].is_null()), "{report}");

    let (ok, out) = run_adopt(&app, &["--store", "till-a", "--batch", "3"]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("till-a: {rows} rows journaled")), "{out}");
    let after = kinds(&app).await;
    assert_eq!(after.len(), rows + 1);
    assert_eq!(after[0], "shift_open");
    assert!(after[1..].iter().all(|k| k.starts_with("adopted_")), "{after:?}");
    let entries = app.store.journal_entries(&till_a(), &JournalRange::default(), 0, 100).await.unwrap();
    // Oldest event first (the offline sale was sold before the shift opened); the Z last.
    let at = |content: &str| {
        let v: Value = serde_json::from_str(content).unwrap();
        ["soldAt", "voidedAt", "at"].iter().find_map(|k| v[k].as_i64()).unwrap()
    };
    let times: Vec<i64> = entries[1..].iter().map(|e| at(&e.content)).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{after:?} at {times:?}");
    assert_eq!(after.last().map(String::as_str), Some("adopted_shift_close"));
    let sale = events["sale"].as_str().unwrap().replace('-', "");
    let adopted_sale =
        entries.iter().find(|e| e.ref_id.map(|id| id.simple().to_string()) == Some(sale.clone())).unwrap();
    assert_eq!(adopted_sale.kind, "adopted_sale");
    assert!(adopted_sale.content.contains("\"kind\":\"sale\""), "{}", adopted_sale.content);
    let report = verify(&app, &s).await;
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["entries"], rows + 1, "{report}");

    // Nothing is journaled twice, and every store can be adopted at once.
    let (ok, out) = run_adopt(&app, &["--all-stores"]);
    assert!(ok && out.contains("0 rows journaled in"), "{out}");
    assert_eq!(kinds(&app).await.len(), rows + 1);

    // An adopted row is covered from then on: changing it shows.
    let cond = match app.db.backend {
        Backend::Sqlite => format!("id = x'{sale}'"),
        Backend::Postgres | Backend::Citus => format!("id = '{}'", events["sale"].as_str().unwrap()),
    };
    as_owner(&app, &[&format!("UPDATE sales SET total = total + 1 WHERE store_id = 'till-a' AND {cond}")]).await;
    let report = verify(&app, &s).await;
    assert_eq!(report["firstProblem"]["kind"], "changed_row", "{report}");
    assert_eq!(report["firstProblem"]["entryKind"], "adopted_sale", "{report}");

    let (ok, out) = run_adopt(&app, &["--store", "nowhere"]);
    assert!(!ok && out.contains("no store nowhere"), "{out}");
}
both_backends!(rows_from_before_the_journal_are_adopted);

/// Entries and closures are appended only: no role changes or deletes one through SQL (the
/// server's role on PostgreSQL, the owner, SQLite's file), short of turning the triggers off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_is_append_only_for_every_role() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn(backend).await;
        let s = shop(&app).await;
        every_event(&app, &s).await;
        let attempts = [
            "UPDATE journal_entries SET content = '{}'",
            "DELETE FROM journal_entries",
            "UPDATE journal_closures SET head_seq = 1",
            "DELETE FROM journal_closures",
        ];
        match backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
                for sql in attempts {
                    let err = pool.execute(sql).await.expect_err(sql).to_string();
                    assert!(err.contains("append-only"), "{sql}: {err}");
                }
            }
            Backend::Postgres | Backend::Citus => {
                let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
                for role in [Some("SET LOCAL ROLE tills_app"), None] {
                    for sql in attempts {
                        let mut tx = pool.begin().await.unwrap();
                        if let Some(set_role) = role {
                            tx.execute(set_role).await.unwrap();
                        }
                        tx.execute("SET LOCAL tills.store_id = 'till-a'").await.unwrap();
                        let text = tx.execute(sql).await.expect_err(sql).to_string();
                        assert!(
                            text.contains("append-only") || text.contains("permission denied"),
                            "{role:?} {sql}: {text}"
                        );
                        tx.rollback().await.unwrap();
                    }
                }
            }
        }
        assert_eq!(verify(&app, &s).await["intact"], true);
    }
}
