//! Cash-drawer shifts over HTTP on both backends: a day from the opening float to the Z, the
//! store's `requireShift`, the races (two closes, a sale against its shift's close), a closed
//! shift that no role can change, and other stores' shifts.

use serde_json::{Value, json};
use sqlx::Executor;
use tills_testkit::Backend;

use reqwest::Method;

use crate::both_backends;
use crate::helpers::{TestApp, call_with_headers};

struct Shop {
    admin: String,
    manager: String,
    cashier: String,
    other_admin: String,
}

/// Store `till-a` (USD, prices without tax) with a cola at 1.50 (19 % tax), plus store `till-b`.
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

async fn a_full_shift_from_float_to_z(app: TestApp) {
    let s = shop(&app).await;
    let shift =
        app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "till-1", "openingFloat": 10000})).await.expect(201);
    assert_eq!(shift["status"], "open");
    assert_eq!(shift["openingFloat"], 10000);
    let sid = id(&shift);
    // One open shift per terminal and per cashier.
    app.post("/api/v1/shifts", &s.manager, json!({"terminal": "till-1", "openingFloat": 0}))
        .await
        .expect_error(409, "conflict");
    app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "till-2", "openingFloat": 0}))
        .await
        .expect_error(409, "conflict");
    app.post("/api/v1/shifts", &s.cashier, json!({"terminal": " ", "openingFloat": 0}))
        .await
        .expect_error(400, "invalid_input");
    assert_eq!(id(&app.get("/api/v1/shifts/current", &s.cashier).await.expect(200)), sid);
    app.get("/api/v1/shifts/current", &s.manager).await.expect_error(404, "not_found");

    // 2 colas: 300 + 57 tax = 357, paid 500 cash (143 change); 1 cola: 179 by card.
    let sale = app.post("/api/v1/sales", &s.cashier, colas(2, json!([{"method": "cash", "amount": 500}]))).await;
    let sale = sale.expect(201);
    assert_eq!(sale["shiftId"], sid);
    assert_eq!(sale["change"], 143);
    let card = app.post("/api/v1/sales", &s.cashier, colas(1, json!([{"method": "card", "amount": 179}]))).await;
    assert_eq!(card.expect(201)["shiftId"], sid);
    // A manager's sale is not in the cashier's shift.
    let other = app.post("/api/v1/sales", &s.manager, colas(1, json!([{"method": "cash", "amount": 179}]))).await;
    assert!(other.expect(201)["shiftId"].is_null());

    let movements = format!("/api/v1/shifts/{sid}/cash-movements");
    let out = app.post(&movements, &s.cashier, json!({"kind": "pay_out", "amount": 1200, "reason": "milk delivery"}));
    assert_eq!(out.await.expect(201)["kind"], "pay_out");
    app.post(&movements, &s.cashier, json!({"kind": "pay_in", "amount": 5000, "reason": "change from the safe"}))
        .await
        .expect(201);
    app.post(&movements, &s.cashier, json!({"kind": "no_sale", "amount": 0, "reason": "customer wanted coins"}))
        .await
        .expect(201);
    for bad in [
        json!({"kind": "no_sale", "amount": 5, "reason": "x"}),
        json!({"kind": "pay_out", "amount": 0, "reason": "x"}),
        json!({"kind": "pay_out", "amount": 10, "reason": "  "}),
        json!({"kind": "bonus", "amount": 10, "reason": "x"}),
    ] {
        app.post(&movements, &s.cashier, bad).await.expect_error(400, "invalid_input");
    }
    let audit = app.get("/api/v1/audit?action=shift.cash_movement", &s.admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 3, "{audit}");

    let x = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.cashier).await.expect(200);
    assert_eq!(x["kind"], "x");
    let f = &x["figures"];
    assert_eq!(f["salesCount"], 2);
    assert_eq!(f["grossSales"], 450);
    assert_eq!(f["tax"], 57 + 29);
    assert_eq!(f["byPaymentMethod"]["cash"], 357);
    assert_eq!(f["byPaymentMethod"]["card"], 179);
    assert_eq!(f["cash"]["taken"], 500);
    assert_eq!(f["cash"]["change"], 143);
    assert_eq!(f["cash"]["noSales"], 1);
    let expected = 10000 + 500 - 143 + 5000 - 1200;
    assert_eq!(f["cash"]["expected"], expected);
    assert_eq!(x["movements"].as_array().unwrap().len(), 3);

    // Counted 57 short. Denominations must add up; a short count beyond the tolerance (0) needs
    // a manager.
    let close = format!("/api/v1/shifts/{sid}/close");
    let res =
        app.post(&close, &s.cashier, json!({"countedCash": 14100, "denominations": {"5000": 2, "100": 40}})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "denominations");
    let count = json!({"countedCash": 14100, "denominations": {"5000": 2, "2000": 2, "100": 1}, "note": "short?"});
    app.post(&close, &s.cashier, count.clone()).await.expect_error(403, "forbidden");
    app.patch("/api/v1/store", &s.admin, json!({"cashTolerance": 100})).await.expect(200);
    let closed = app.post(&close, &s.cashier, count.clone()).await.expect(200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["zNumber"], 1);
    assert_eq!(closed["expectedCash"], expected);
    assert_eq!(closed["countedCash"], 14100);
    assert_eq!(closed["difference"], 14100 - expected);
    assert_eq!(closed["denominations"]["5000"], 2);

    // Closed is closed: no second close, no cash movement, a Z that does not change.
    app.post(&close, &s.cashier, count).await.expect_error(409, "conflict");
    app.post(&movements, &s.cashier, json!({"kind": "pay_in", "amount": 1, "reason": "late"}))
        .await
        .expect_error(409, "conflict");
    let after = app.post("/api/v1/sales", &s.cashier, colas(1, json!([{"method": "cash", "amount": 179}]))).await;
    assert!(after.expect(201)["shiftId"].is_null(), "a sale after the close joins no shift");
    let z = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.manager).await.expect(200);
    assert_eq!(z["kind"], "z");
    assert_eq!(z["figures"], x["figures"]);
    assert_eq!(z["shift"]["zNumber"], 1);

    // The daily report lists the day's shifts with their differences.
    let daily = app.get("/api/v1/reports/daily", &s.manager).await.expect(200);
    let listed = &daily["shifts"][0];
    assert_eq!(listed["id"], sid);
    assert_eq!(listed["difference"], 14100 - expected);
    // The next close takes the next Z number.
    let next = app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "till-1", "openingFloat": 0})).await;
    let next = id(&next.expect(201));
    let closed = app.post(&format!("/api/v1/shifts/{next}/close"), &s.cashier, json!({"countedCash": 0})).await;
    assert_eq!(closed.expect(200)["zNumber"], 2);
    let listed = app.get("/api/v1/shifts?status=closed", &s.manager).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/v1/shifts", &s.cashier).await.expect(200)["items"].as_array().unwrap().len(), 2);
    assert!(app.get("/api/v1/shifts", &s.other_admin).await.expect(200)["items"].as_array().unwrap().is_empty());
}
both_backends!(a_full_shift_from_float_to_z);

async fn voids_and_refunds_belong_to_the_shift_they_were_made_in(app: TestApp) {
    let s = shop(&app).await;
    let sid = id(&app
        .post("/api/v1/shifts", &s.manager, json!({"terminal": "office", "openingFloat": 2000}))
        .await
        .expect(201));
    let sale = app.post("/api/v1/sales", &s.cashier, colas(3, json!([{"method": "cash", "amount": 1000}]))).await;
    let sale = sale.expect(201);
    let voided = app.post("/api/v1/sales", &s.cashier, colas(1, json!([{"method": "cash", "amount": 179}]))).await;
    let voided = id(&voided.expect(201));
    app.post(&format!("/api/v1/sales/{voided}/void"), &s.manager, json!({})).await.expect(200);
    let line = sale["lines"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/sales/{}/refunds", id(&sale)),
        &s.manager,
        json!({"lines": [{"lineId": line, "quantity": 1}], "payments": [{"method": "cash", "amount": 179}]}),
    )
    .await
    .expect(201);
    let f = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.manager).await.expect(200)["figures"].clone();
    assert_eq!(f["salesCount"], 0, "the cashier's sales are not the manager's shift");
    assert_eq!(f["voids"], json!({"count": 1, "total": 179}));
    assert_eq!(f["refunds"], json!({"count": 1, "total": 179}));
    assert_eq!(f["cash"]["refunded"], 179);
    assert_eq!(f["cash"]["expected"], 2000 - 179);
    // A cashier reads only their own shifts.
    app.get(&format!("/api/v1/shifts/{sid}"), &s.cashier).await.expect_error(403, "forbidden");
    app.get(&format!("/api/v1/shifts/{sid}/report"), &s.cashier).await.expect_error(403, "forbidden");
    app.post(&format!("/api/v1/shifts/{sid}/close"), &s.cashier, json!({"countedCash": 1821}))
        .await
        .expect_error(403, "forbidden");
}
both_backends!(voids_and_refunds_belong_to_the_shift_they_were_made_in);

async fn a_store_that_requires_a_shift_refuses_a_sale_without_one(app: TestApp) {
    let s = shop(&app).await;
    let store = app.patch("/api/v1/store", &s.admin, json!({"requireShift": true})).await.expect(200);
    assert_eq!(store["requireShift"], true);
    app.patch("/api/v1/store", &s.admin, json!({"cashTolerance": -1})).await.expect_error(400, "invalid_input");
    let cash = json!([{"method": "cash", "amount": 500}]);
    let mut refused = colas(1, cash.clone());
    refused["clientRef"] = json!("needs-a-shift");
    app.post("/api/v1/sales", &s.cashier, refused.clone()).await.expect_error(409, "shift_required");
    let sid =
        id(&app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 0})).await.expect(201));
    // The refusal took nothing: the clientRef is free and the first invoice number is the next.
    let sold = app.post("/api/v1/sales", &s.cashier, refused).await.expect(201);
    assert_eq!(sold["shiftId"], sid);
    assert!(sold["invoiceNumber"].as_str().unwrap().ends_with("000001"), "{sold}");
    app.post(&format!("/api/v1/shifts/{sid}/close"), &s.cashier, json!({"countedCash": 179})).await.expect(200);
    // A sale made offline in the shift arrives after its close: it keeps its shift.
    let mut offline = colas(1, cash);
    offline["offline"] = json!(true);
    offline["shiftId"] = json!(sid);
    offline["soldAt"] = json!("2026-01-01T10:00:00Z");
    assert_eq!(app.post("/api/v1/sales", &s.cashier, offline.clone()).await.expect(201)["shiftId"], sid);
    offline["shiftId"] = json!(tills_domain::new_id());
    let res = app.post("/api/v1/sales", &s.cashier, offline).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "shiftId");
}
both_backends!(a_store_that_requires_a_shift_refuses_a_sale_without_one);

async fn two_closes_of_one_shift_one_wins(app: TestApp) {
    let s = shop(&app).await;
    for round in 0..3 {
        let sid = id(&app
            .post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 100}))
            .await
            .expect(201));
        let close = format!("/api/v1/shifts/{sid}/close");
        let body = json!({"countedCash": 100});
        let (a, b) = tokio::join!(app.post(&close, &s.cashier, body.clone()), app.post(&close, &s.manager, body));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let winner = if a.status.as_u16() == 200 { a.body } else { b.body };
        assert_eq!(winner["zNumber"], round + 1, "Z numbers are gapless");
    }
}
both_backends!(two_closes_of_one_shift_one_wins);

/// Sales race their shift's close: every sale that names the shift is in its Z, and the others
/// came after it (in no shift).
async fn a_sale_racing_its_shifts_close_is_in_the_z_or_after_it(app: TestApp) {
    let s = shop(&app).await;
    let sid =
        id(&app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 0})).await.expect(201));
    let sales: Vec<_> = (0..12)
        .map(|_| {
            let (client, base, token) = (app.client.clone(), app.base.clone(), s.cashier.clone());
            let body = colas(1, json!([{"method": "cash", "amount": 179}]));
            tokio::spawn(async move {
                call_with_headers(&client, &base, Method::POST, "/api/v1/sales", Some(&token), &[], Some(body)).await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    app.post(&format!("/api/v1/shifts/{sid}/close"), &s.manager, json!({"countedCash": 0})).await.expect(200);
    let mut in_shift = 0;
    for sale in sales {
        let sale = sale.await.unwrap().expect(201);
        if let Some(shift) = sale["shiftId"].as_str() {
            assert_eq!(shift, sid);
            in_shift += 1;
        }
    }
    let z = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.manager).await.expect(200);
    assert_eq!(z["figures"]["salesCount"], in_shift, "{z}");
    assert_eq!(z["figures"]["cash"]["taken"], 179 * in_shift);
}
both_backends!(a_sale_racing_its_shifts_close_is_in_the_z_or_after_it);

async fn another_stores_shifts_are_not_found(app: TestApp) {
    let s = shop(&app).await;
    let sid =
        id(&app.post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 0})).await.expect(201));
    for path in [format!("/api/v1/shifts/{sid}"), format!("/api/v1/shifts/{sid}/report")] {
        app.get(&path, &s.other_admin).await.expect_error(404, "not_found");
    }
    app.post(&format!("/api/v1/shifts/{sid}/close"), &s.other_admin, json!({"countedCash": 0}))
        .await
        .expect_error(404, "not_found");
    app.post(
        &format!("/api/v1/shifts/{sid}/cash-movements"),
        &s.other_admin,
        json!({"kind": "pay_out", "amount": 100, "reason": "x"}),
    )
    .await
    .expect_error(404, "not_found");
    // Store B's terminal of the same name is B's own.
    app.post("/api/v1/shifts", &s.other_admin, json!({"terminal": "t1", "openingFloat": 0})).await.expect(201);
    // An offline sale of B cannot name A's shift.
    let mut offline = colas(1, json!([{"method": "cash", "amount": 500}]));
    offline["offline"] = json!(true);
    offline["shiftId"] = json!(sid);
    app.post("/api/v1/products", &s.other_admin, json!({"name": "Cola", "barcode": "5449000000996", "price": 150}))
        .await
        .expect(201);
    app.post("/api/v1/sales", &s.other_admin, offline).await.expect_error(400, "invalid_input");
    app.get("/api/v1/shifts/not-a-uuid", &s.cashier).await.expect_error(404, "not_found");
}
both_backends!(another_stores_shifts_are_not_found);

/// A closed shift and its cash movements stay as they were written, whoever asks the database:
/// the server's role on PostgreSQL, the owner, and SQLite's file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_shift_never_changes() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn(backend).await;
        let s = shop(&app).await;
        let sid = id(&app
            .post("/api/v1/shifts", &s.cashier, json!({"terminal": "t1", "openingFloat": 500}))
            .await
            .expect(201));
        app.post(
            &format!("/api/v1/shifts/{sid}/cash-movements"),
            &s.cashier,
            json!({"kind": "pay_in", "amount": 100, "reason": "float top-up"}),
        )
        .await
        .expect(201);
        app.post(&format!("/api/v1/shifts/{sid}/close"), &s.cashier, json!({"countedCash": 600})).await.expect(200);
        let attempts = [
            "UPDATE shifts SET counted_cash = 1",
            "UPDATE shifts SET status = 'open'",
            "DELETE FROM shifts",
            "UPDATE cash_movements SET amount = 1",
            "DELETE FROM cash_movements",
        ];
        match backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
                for sql in attempts {
                    let err = pool.execute(sql).await.expect_err(sql).to_string();
                    assert!(err.contains("never change"), "{sql}: {err}");
                }
            }
            Backend::Postgres | Backend::Citus => {
                let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
                // The server's role, then the owner.
                for role in [Some("SET LOCAL ROLE tills_app"), None] {
                    for sql in attempts {
                        let mut tx = pool.begin().await.unwrap();
                        if let Some(set_role) = role {
                            tx.execute(set_role).await.unwrap();
                        }
                        tx.execute("SET LOCAL tills.store_id = 'till-a'").await.unwrap();
                        let err = tx.execute(sql).await.expect_err(sql);
                        let text = err.to_string();
                        assert!(
                            text.contains("never change") || text.contains("permission denied"),
                            "{role:?} {sql}: {text}"
                        );
                        tx.rollback().await.unwrap();
                    }
                }
            }
        }
        let z = app.get(&format!("/api/v1/shifts/{sid}"), &s.manager).await.expect(200);
        assert_eq!(z["countedCash"], 600);
        assert_eq!(z["difference"], 0);
    }
}
