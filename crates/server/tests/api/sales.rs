//! Checkout, idempotency, invoice numbers, voids, refunds, reports and customers over HTTP, on
//! both backends.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::collect_pages;
use crate::{all_backends, both_backends};

struct Shop {
    admin: String,
    manager: String,
    cashier: String,
    other_admin: String,
    cola: String,
    cheese: String,
    case: String,
}

/// Store `shop-a` (USD, prices without tax) with a cola (24-case pack) and a cheese sold by
/// weight, plus store `shop-b`.
async fn shop(app: &TestApp) -> Shop {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let other_admin = app.create_store(&platform, "shop-b").await;
    let (_, manager) = app.user(&admin, "shop-a", "boss@a.test", "manager").await;
    let (_, cashier) = app.user(&admin, "shop-a", "till@a.test", "cashier").await;
    let case =
        app.post("/api/v1/units", &admin, json!({"name": "Case"})).await.expect(201)["id"].as_str().unwrap().to_owned();
    let cola = app
        .post(
            "/api/v1/products",
            &admin,
            json!({"name": "Cola", "barcode": "5449000000996", "price": 150, "taxRate": 1900, "stock": 100,
                   "units": [{"unitId": case, "barcode": "5449000000997", "factor": 24, "price": 3200}]}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cheese = app
        .post(
            "/api/v1/products",
            &admin,
            json!({"name": "Cheese", "barcode": "2112345", "price": 1999, "taxRate": 700, "stock": 10}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        "/api/v1/store",
        &admin,
        json!({"scaleBarcodes": [{"prefix": "21", "itemDigits": 5, "kind": "weight", "decimals": 3}]}),
    )
    .await
    .expect(200);
    Shop { admin, manager, cashier, other_admin, cola, cheese, case }
}

fn stock(v: &Value) -> f64 {
    v["stock"].as_f64().unwrap()
}

async fn checkout_prices_sells_and_takes_stock(app: TestApp) {
    let s = shop(&app).await;
    let cart = json!({"lines": [
        {"barcode": "5449000000996", "quantity": 2},
        {"barcode": "5449000000997"},
        {"barcode": "2112345005355"},
        {"productId": s.cola, "unitId": s.case, "quantity": 1}
    ]});
    let quote = app.post("/api/v1/sales/quote", &s.cashier, cart.clone()).await.expect(200);
    // 2 × 150 + 3200 + round(1999 × 0.535) + 3200, tax on top (19 % and 7 %).
    assert_eq!(quote["subtotal"], 300 + 3200 + 1069 + 3200);
    assert_eq!(quote["lines"][2]["quantity"], 0.535);
    assert_eq!(quote["lines"][1]["factor"], 24);
    let tax = (300 * 19 + 50) / 100 + 3200 * 19 / 100 + 75 + 3200 * 19 / 100; // 57 + 608 + 74.83→75 + 608
    assert_eq!(quote["taxTotal"], tax);
    let total = quote["total"].as_i64().unwrap();
    assert_eq!(total, 7769 + tax);

    let mut sale_body = cart.clone();
    sale_body["payments"] = json!([{"method": "card", "amount": 5000}, {"method": "cash", "amount": 5000}]);
    let sale = app.post("/api/v1/sales", &s.cashier, sale_body).await.expect(201);
    assert_eq!(sale["invoiceNumber"], "INV-000001");
    assert_eq!(sale["status"], "completed");
    assert_eq!(sale["total"], quote["total"], "quote = sale");
    assert_eq!(sale["taxBreakdown"], quote["taxBreakdown"]);
    assert_eq!(sale["paid"], 10000);
    assert_eq!(sale["change"], 10000 - total);
    assert_eq!(sale["payments"].as_array().unwrap().len(), 2);
    let lines: i64 = sale["lines"].as_array().unwrap().iter().map(|l| l["total"].as_i64().unwrap()).sum();
    assert_eq!(lines, total);

    // Stock fell by quantity × factor: 2 + 24 + 24 cola, 0.535 kg cheese.
    assert_eq!(stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.cashier).await.expect(200)), 50.0);
    assert_eq!(stock(&app.get(&format!("/api/v1/products/{}", s.cheese), &s.cashier).await.expect(200)), 9.465);
    let moves = app.get(&format!("/api/v1/products/{}/stock-movements", s.cola), &s.admin).await.expect(200);
    let sale_moves: Vec<&Value> = moves["items"].as_array().unwrap().iter().filter(|m| m["reason"] == "sale").collect();
    assert_eq!(sale_moves.len(), 3);
    assert!(sale_moves.iter().all(|m| m["saleId"] == sale["id"]));

    let id = sale["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/sales/{id}"), &s.cashier).await.expect(200)["total"], total);
    assert_eq!(app.get("/api/v1/sales/invoice/INV-000001", &s.cashier).await.expect(200)["id"], json!(id));
    let listed = app.get("/api/v1/sales", &s.cashier).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let payments = app.get(&format!("/api/v1/payments?saleId={id}"), &s.cashier).await.expect(200);
    assert_eq!(payments["items"].as_array().unwrap().len(), 2);

    // Payments must cover the total; only cash gives change.
    let one = json!({"lines": [{"barcode": "5449000000996"}]}); // 150 + 29 tax (28.5 rounds up) = 179
    let pay = |p: Value| {
        let mut b = one.clone();
        b["payments"] = p;
        b
    };
    app.post("/api/v1/sales", &s.cashier, pay(json!([{"method": "cash", "amount": 178}])))
        .await
        .expect_error(400, "insufficient_payment");
    app.post("/api/v1/sales", &s.cashier, pay(json!([{"method": "card", "amount": 200}])))
        .await
        .expect_error(400, "invalid_input");
    app.post("/api/v1/sales", &s.cashier, pay(json!([{"method": "cheque", "amount": 200}])))
        .await
        .expect_error(400, "invalid_input");
    let exact =
        app.post("/api/v1/sales", &s.cashier, pay(json!([{"method": "card", "amount": 179}]))).await.expect(201);
    assert_eq!(exact["change"], 0);
    assert_eq!(exact["invoiceNumber"], "INV-000002", "failed requests took no number");
}
all_backends!(checkout_prices_sells_and_takes_stock);

async fn invoice_numbers_are_gapless_under_concurrency(app: TestApp) {
    let s = shop(&app).await;
    let body = json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "cash", "amount": 200}]});
    let mut handles = Vec::new();
    for _ in 0..200 {
        let (client, url, token, body) =
            (app.client.clone(), format!("{}/api/v1/sales", app.base), s.cashier.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.unwrap()["invoiceNumber"].as_str().unwrap().to_owned()
        }));
    }
    let mut numbers = BTreeSet::new();
    for h in handles {
        assert!(numbers.insert(h.await.unwrap()), "no repeats");
    }
    let expected: BTreeSet<String> = (1..=200).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(
        stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(200)),
        -100.0,
        "stock may go negative"
    );
    // Another store's sequence is untouched.
    app.post("/api/v1/products", &s.other_admin, json!({"name": "B", "barcode": "1", "price": 100})).await.expect(201);
    let b = app
        .post(
            "/api/v1/sales",
            &s.other_admin,
            json!({"lines": [{"barcode": "1"}], "payments": [{"method": "cash", "amount": 100}]}),
        )
        .await
        .expect(201);
    assert_eq!(b["invoiceNumber"], "INV-000001");
}
all_backends!(invoice_numbers_are_gapless_under_concurrency);

async fn client_ref_makes_retries_safe(app: TestApp) {
    let s = shop(&app).await;
    let body = json!({"clientRef": "0193a5e2-7c1d-7b3e-9f21-2b8c4d5e6f70", "lines": [{"barcode": "5449000000996", "quantity": 2}],
                      "payments": [{"method": "cash", "amount": 1000}]});
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (client, url, token, body) =
            (app.client.clone(), format!("{}/api/v1/sales", app.base), s.cashier.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut created = 0;
    let mut ids = BTreeSet::new();
    for h in handles {
        let (status, v) = h.await.unwrap();
        assert!(status == 201 || status == 200, "{status} {v}");
        created += usize::from(status == 201);
        ids.insert(v["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1, "exactly one request created the sale");
    assert_eq!(ids.len(), 1, "every answer is that sale");
    assert_eq!(app.get("/api/v1/sales", &s.cashier).await.expect(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(200)),
        98.0,
        "stock taken once"
    );

    // The same clientRef with other content is refused; key order does not matter.
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(3);
    app.post("/api/v1/sales", &s.cashier, other).await.expect_error(409, "idempotency_mismatch");
    let reordered = json!({"payments": [{"amount": 1000, "method": "cash"}], "lines": [{"quantity": 2, "barcode": "5449000000996"}],
                           "clientRef": "0193a5e2-7c1d-7b3e-9f21-2b8c4d5e6f70"});
    app.post("/api/v1/sales", &s.cashier, reordered).await.expect(200);
    // A retry answers the sale as it is now, even after the catalog changed.
    let id = ids.into_iter().next().unwrap();
    app.post(&format!("/api/v1/sales/{id}/void"), &s.manager, json!({})).await.expect(200);
    app.delete(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(204);
    let again = app.post("/api/v1/sales", &s.cashier, body.clone()).await.expect(200);
    assert_eq!(again["status"], "voided");
    // The same clientRef in another store is another sale.
    app.post("/api/v1/products", &s.other_admin, json!({"name": "B", "barcode": "5449000000996", "price": 100}))
        .await
        .expect(201);
    app.post("/api/v1/sales", &s.other_admin, body).await.expect(201);
    // A failed request takes no clientRef.
    let failing = json!({"clientRef": "fails-first", "lines": [{"barcode": "nope"}]});
    app.post("/api/v1/sales", &s.cashier, failing).await.expect_error(400, "invalid_input");
    let fixed = json!({"clientRef": "fails-first", "lines": [{"barcode": "2112345"}], "payments": [{"method": "cash", "amount": 5000}]});
    app.post("/api/v1/sales", &s.cashier, fixed).await.expect(201);
}
all_backends!(client_ref_makes_retries_safe);

async fn voids_and_refunds(app: TestApp) {
    let s = shop(&app).await;
    let sale = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": [{"barcode": "5449000000996", "quantity": 7}, {"barcode": "2112345005355"}],
                   "payments": [{"method": "cash", "amount": 5000}]}),
        )
        .await
        .expect(201);
    let id = sale["id"].as_str().unwrap().to_owned();
    let line0 = sale["lines"][0]["id"].as_str().unwrap().to_owned();
    let line0_total = sale["lines"][0]["total"].as_i64().unwrap(); // 7 × 150 + 19 % = 1050 + 200 (199.5) = 1250
    assert_eq!(line0_total, 1250);
    let refund_path = format!("/api/v1/sales/{id}/refunds");

    app.post(&refund_path, &s.cashier, json!({"lines": [{"lineId": line0, "quantity": 1}]}))
        .await
        .expect_error(403, "forbidden");
    // 3 of 7: 1250 × 3 / 7 = 535.7 → 536.
    let r1 = app
        .post(
            &refund_path,
            &s.manager,
            json!({"lines": [{"lineId": line0, "quantity": 3}], "payments": [{"method": "cash", "amount": 536}]}),
        )
        .await
        .expect(201);
    assert_eq!(r1["total"], 536);
    assert_eq!(r1["sale"]["status"], "partially_refunded");
    // Payments must equal the refund; more than was sold is refused.
    let res = app
        .post(
            &refund_path,
            &s.manager,
            json!({"lines": [{"lineId": line0, "quantity": 1}], "payments": [{"method": "cash", "amount": 1}]}),
        )
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "payments");
    let res =
        app.post(&refund_path, &s.manager, json!({"lines": [{"lineId": line0, "quantity": 5}], "payments": []})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "lines[0].quantity");
    // A voided-or-refunded sale cannot be voided.
    app.post(&format!("/api/v1/sales/{id}/void"), &s.manager, json!({})).await.expect_error(409, "conflict");
    // The rest of the line takes what remains: 1250 − 536 = 714; without restock.
    let r2 = app
        .post(
            &refund_path,
            &s.manager,
            json!({"restock": false, "lines": [{"lineId": line0, "quantity": 4}], "payments": [{"method": "cash", "amount": 714}]}),
        )
        .await
        .expect(201);
    assert_eq!(r2["total"], 714);
    let line1 = sale["lines"][1]["id"].as_str().unwrap();
    let line1_total = sale["lines"][1]["total"].as_i64().unwrap();
    let r3 = app
        .post(&refund_path, &s.manager, json!({"lines": [{"lineId": line1, "quantity": 0.535}], "payments": [{"method": "card", "amount": line1_total}]}))
        .await
        .expect(201);
    assert_eq!(r3["sale"]["status"], "refunded");
    // 100 − 7 + 3 restocked; the 4 without restock stay out.
    assert_eq!(stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(200)), 96.0);

    // Void: stock comes back, the number stays, twice is a conflict, refunds then refused.
    let v = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": [{"barcode": "5449000000997"}], "payments": [{"method": "card", "amount": 3808}]}),
        )
        .await
        .expect(201);
    let vid = v["id"].as_str().unwrap();
    app.post(&format!("/api/v1/sales/{vid}/void"), &s.cashier, json!({})).await.expect_error(403, "forbidden");
    let voided = app.post(&format!("/api/v1/sales/{vid}/void"), &s.manager, json!({})).await.expect(200);
    assert_eq!(voided["status"], "voided");
    assert_eq!(voided["invoiceNumber"], "INV-000002");
    assert_eq!(stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(200)), 96.0);
    app.post(&format!("/api/v1/sales/{vid}/void"), &s.manager, json!({})).await.expect_error(409, "conflict");
    let vline = voided["lines"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/sales/{vid}/refunds"),
        &s.manager,
        json!({"lines": [{"lineId": vline, "quantity": 1}], "payments": []}),
    )
    .await
    .expect_error(409, "conflict");
    let audit = app.get("/api/v1/audit?action=sale.void", &s.admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    let audit = app.get("/api/v1/audit?action=sale.refund", &s.admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 3);
}
all_backends!(voids_and_refunds);

async fn roles_overrides_discounts_and_offline(app: TestApp) {
    let s = shop(&app).await;
    let pay = json!([{"method": "cash", "amount": 10000}]);
    app.post(
        "/api/v1/sales",
        &s.cashier,
        json!({"lines": [{"barcode": "5449000000996", "price": 100}], "payments": pay}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        "/api/v1/sales",
        &s.cashier,
        json!({"lines": [{"barcode": "5449000000996", "discount": 10}], "payments": pay}),
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        "/api/v1/sales",
        &s.cashier,
        json!({"lines": [{"barcode": "5449000000996"}], "discount": 10, "payments": pay}),
    )
    .await
    .expect_error(403, "forbidden");
    // A sale discount of 100 over three equal lines: 34, 33, 33.
    let three = json!({"lines": [{"barcode": "5449000000996", "quantity": 2}, {"barcode": "5449000000996", "quantity": 2},
                                 {"barcode": "5449000000996", "quantity": 2}], "discount": 100, "payments": pay});
    let sale = app.post("/api/v1/sales", &s.manager, three).await.expect(201);
    let d: Vec<i64> = sale["lines"].as_array().unwrap().iter().map(|l| l["discount"].as_i64().unwrap()).collect();
    assert_eq!(d, [34, 33, 33]);
    assert_eq!(sale["discountTotal"], 100);
    let over = app
        .post(
            "/api/v1/sales",
            &s.manager,
            json!({"lines": [{"barcode": "5449000000996", "price": 99}], "payments": pay}),
        )
        .await
        .expect(201);
    assert_eq!(over["lines"][0]["price"], 99);
    let audit = app.get("/api/v1/audit?action=sale.price_override", &s.admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    // Offline: the terminal's prices from any role, the day it was sold, audited differences.
    let sold_at = "2026-01-15T10:00:00Z";
    let offline = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"offline": true, "soldAt": sold_at, "lines": [{"barcode": "5449000000996", "price": 140}, {"barcode": "2112345", "price": 1999}],
                   "payments": pay}),
        )
        .await
        .expect(201);
    assert_eq!(offline["offline"], true);
    assert_eq!(offline["soldAt"], sold_at);
    assert_eq!(offline["lines"][0]["price"], 140);
    let audit = app.get("/api/v1/audit?action=sale.offline_price", &s.admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "only the line whose price differs");
    let report = app.get("/api/v1/reports/daily?date=2026-01-15", &s.manager).await.expect(200);
    assert_eq!(report["salesCount"], 1);
    assert_eq!(report["offlinePriceDifferences"], 1);
    app.get("/api/v1/reports/daily?date=2026-01-15", &s.cashier).await.expect_error(403, "forbidden");
}
both_backends!(roles_overrides_discounts_and_offline);

async fn bad_input_is_a_clear_400_and_leaves_no_trace(app: TestApp) {
    let s = shop(&app).await;
    let b_product = app
        .post("/api/v1/products", &s.other_admin, json!({"name": "B", "barcode": "b-1", "price": 5}))
        .await
        .expect(201);
    let pay = json!([{"method": "cash", "amount": 100000}]);
    let many: Vec<Value> = (0..1001).map(|_| json!({"barcode": "5449000000996"})).collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"lines": [], "payments": pay}), "lines"),
        (json!({"lines": [{"barcode": "5449000000996", "quantity": 0}], "payments": pay}), "lines[0].quantity"),
        (json!({"lines": [{"barcode": "5449000000996", "quantity": -1}], "payments": pay}), "lines[0].quantity"),
        (json!({"lines": [{"barcode": "5449000000996", "quantity": 1.0001}], "payments": pay}), "lines[0].quantity"),
        (json!({"lines": [{"barcode": "5449000000996", "quantity": "2"}], "payments": pay}), "lines[0].quantity"),
        (json!({"lines": [{"barcode": "5449000000996", "quantity": 1e300}], "payments": pay}), "lines[0].quantity"),
        (json!({"lines": [{"productId": b_product["id"]}], "payments": pay}), "lines[0].productId"),
        (json!({"lines": [{"barcode": "b-1"}], "payments": pay}), "lines[0].barcode"),
        (json!({"lines": [{"barcode": "5449000000996", "productId": s.cola}], "payments": pay}), "lines[0]"),
        (json!({"lines": [{}], "payments": pay}), "lines[0]"),
        (json!({"lines": [{"barcode": "2112345005355", "quantity": 1}], "payments": pay}), "lines[0].quantity"),
        (
            json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "cash", "amount": 99999999999999999i64}]}),
            "payments[0].amount",
        ),
        (
            json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "cash", "amount": -5}]}),
            "payments[0].amount",
        ),
        (
            json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "gold", "amount": 500}]}),
            "payments[0].method",
        ),
        (json!({"lines": many, "payments": pay}), "lines"),
        (json!({"lines": [{"barcode": "5449000000996"}], "customerId": "not-a-uuid", "payments": pay}), "customerId"),
    ];
    for (body, field) in cases {
        let res = app.post("/api/v1/sales", &s.cashier, body.clone()).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{}", res.body);
    }
    // An inactive product scans but does not sell.
    app.patch(&format!("/api/v1/products/{}", s.cheese), &s.admin, json!({"status": "inactive"})).await.expect(200);
    for (line, field) in
        [(json!({"productId": s.cheese}), "lines[0].productId"), (json!({"barcode": "2112345"}), "lines[0].barcode")]
    {
        let res = app.post("/api/v1/sales", &s.cashier, json!({"lines": [line], "payments": pay})).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field);
    }
    let res = app.raw(reqwest::Method::POST, "/api/v1/sales", Some(&s.cashier), b"{\"lines\": [".to_vec()).await;
    res.expect_error(400, "malformed_json");
    // Nothing was written: no sale, no stock change, the counter still at 1.
    assert_eq!(app.get("/api/v1/sales", &s.cashier).await.expect(200)["items"].as_array().unwrap().len(), 0);
    assert_eq!(stock(&app.get(&format!("/api/v1/products/{}", s.cola), &s.admin).await.expect(200)), 100.0);
    let ok = app
        .post("/api/v1/sales", &s.cashier, json!({"lines": [{"barcode": "5449000000996"}], "payments": pay}))
        .await
        .expect(201);
    assert_eq!(ok["invoiceNumber"], "INV-000001");
    // A 1000-line sale is within the limit.
    let thousand: Vec<Value> = (0..1000).map(|_| json!({"barcode": "5449000000996"})).collect();
    let big = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": thousand, "payments": [{"method": "cash", "amount": 1000000}]}),
        )
        .await
        .expect(201);
    assert_eq!(big["lines"].as_array().unwrap().len(), 1000);
}
both_backends!(bad_input_is_a_clear_400_and_leaves_no_trace);

async fn another_store_cannot_touch_sales(app: TestApp) {
    let s = shop(&app).await;
    let customer =
        app.post("/api/v1/customers", &s.cashier, json!({"name": "Ana", "phone": "+49 30 1234-56"})).await.expect(201);
    let b_customer = app
        .post("/api/v1/customers", &s.other_admin, json!({"name": "Bo", "phone": "+49 30 1234-56"}))
        .await
        .expect(201);
    let sale = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"customerId": customer["id"], "lines": [{"productId": s.cola}], "payments": [{"method": "cash", "amount": 500}]}),
        )
        .await
        .expect(201);
    assert_eq!(sale["customerId"], customer["id"]);
    let id = sale["id"].as_str().unwrap();
    let b = &s.other_admin;
    app.post(
        "/api/v1/sales",
        b,
        json!({"lines": [{"productId": s.cola}], "payments": [{"method": "cash", "amount": 500}]}),
    )
    .await
    .expect_error(400, "invalid_input");
    let res = app.post("/api/v1/sales", &s.cashier, json!({"customerId": b_customer["id"], "lines": [{"productId": s.cola}], "payments": [{"method": "cash", "amount": 500}]})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "customerId");
    app.get(&format!("/api/v1/sales/{id}"), b).await.expect_error(404, "not_found");
    app.get("/api/v1/sales/invoice/INV-000001", b).await.expect_error(404, "not_found");
    app.post(&format!("/api/v1/sales/{id}/void"), b, json!({})).await.expect_error(404, "not_found");
    let line = sale["lines"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/sales/{id}/refunds"),
        b,
        json!({"lines": [{"lineId": line, "quantity": 1}], "payments": []}),
    )
    .await
    .expect_error(404, "not_found");
    assert_eq!(app.get("/api/v1/sales", b).await.expect(200)["items"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.get(&format!("/api/v1/payments?saleId={id}"), b).await.expect(200)["items"].as_array().unwrap().len(),
        0
    );
    assert_eq!(
        app.get(&format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()), b).await.status.as_u16(),
        404
    );
    // A's sale stands untouched.
    assert_eq!(app.get(&format!("/api/v1/sales/{id}"), &s.cashier).await.expect(200)["status"], "completed");
}
all_backends!(another_store_cannot_touch_sales);

async fn customers(app: TestApp) {
    let s = shop(&app).await;
    let c = app
        .post(
            "/api/v1/customers",
            &s.cashier,
            json!({"name": "Ana Lima", "phone": "+49 (30) 1234-56", "email": "Ana@X.test"}),
        )
        .await
        .expect(201);
    assert_eq!(c["phone"], "+4930123456");
    assert_eq!(c["email"], "ana@x.test");
    app.post("/api/v1/customers", &s.cashier, json!({"name": "Other", "phone": "+49 30 123456"}))
        .await
        .expect_error(409, "phone_taken");
    app.post("/api/v1/customers", &s.cashier, json!({"name": "Bad", "phone": "call me"}))
        .await
        .expect_error(400, "invalid_input");
    let found = app.get("/api/v1/customers?phone=%2B49%2030%20123456", &s.cashier).await.expect(200);
    assert_eq!(found["items"][0]["id"], c["id"]);
    assert_eq!(app.get("/api/v1/customers?q=lima", &s.cashier).await.expect(200)["items"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    app.patch(&path, &s.cashier, json!({"name": "X"})).await.expect_error(403, "forbidden");
    assert_eq!(app.patch(&path, &s.manager, json!({"note": "VIP"})).await.expect(200)["note"], "VIP");
    app.delete(&path, &s.cashier).await.expect_error(403, "forbidden");
    app.delete(&path, &s.manager).await.expect(204);
    app.get(&path, &s.cashier).await.expect_error(404, "not_found");
    app.post("/api/v1/customers", &s.cashier, json!({"name": "New", "phone": "+4930123456"})).await.expect(201);
}
both_backends!(customers);

async fn daily_report_adds_up(app: TestApp) {
    let s = shop(&app).await;
    app.patch("/api/v1/store", &s.admin, json!({"timezone": "Europe/Berlin"})).await.expect(200);
    // 2026-03-29 in Berlin: 23 hours, from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    let sell = |at: &str, qty: i64, method: &str, amount: i64| {
        json!({"offline": true, "soldAt": at, "lines": [{"barcode": "5449000000996", "quantity": qty}],
               "payments": [{"method": method, "amount": amount}]})
    };
    // 150 × 2 + 19 % = 357; 150 × 4 + 19 % = 714; 150 + 29 = 179.
    let a = app.post("/api/v1/sales", &s.cashier, sell("2026-03-28T23:30:00Z", 2, "cash", 400)).await.expect(201);
    app.post("/api/v1/sales", &s.cashier, sell("2026-03-29T21:59:00Z", 4, "card", 714)).await.expect(201);
    let voided = app.post("/api/v1/sales", &s.cashier, sell("2026-03-29T12:00:00Z", 1, "cash", 179)).await.expect(201);
    app.post("/api/v1/sales", &s.cashier, sell("2026-03-29T22:00:00Z", 1, "cash", 179)).await.expect(201); // next day
    app.post("/api/v1/sales", &s.cashier, sell("2026-03-28T22:59:00Z", 1, "cash", 179)).await.expect(201); // day before
    app.post(&format!("/api/v1/sales/{}/void", voided["id"].as_str().unwrap()), &s.manager, json!({}))
        .await
        .expect(200);
    let r = app.get("/api/v1/reports/daily?date=2026-03-29", &s.manager).await.expect(200);
    assert_eq!(r["salesCount"], 2);
    assert_eq!(r["grossSales"], 900);
    assert_eq!(r["tax"], 57 + 114);
    assert_eq!(r["discounts"], 0);
    assert_eq!(r["voids"], json!({"count": 1, "total": 179}));
    assert_eq!(r["byPaymentMethod"]["cash"], 357, "400 taken, 43 change");
    assert_eq!(r["byPaymentMethod"]["card"], 714);
    assert_eq!(r["netSales"], 357 + 714);
    assert_eq!(r["firstInvoice"], a["invoiceNumber"]);
    assert_eq!(r["lastInvoice"], "INV-000003", "the voided sale keeps its number and counts as issued that day");
    // A refund counts on the day it is made (today), not on the sale's day.
    let line = a["lines"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/sales/{}/refunds", a["id"].as_str().unwrap()),
        &s.manager,
        json!({"lines": [{"lineId": line, "quantity": 1}], "payments": [{"method": "cash", "amount": 179}]}),
    )
    .await
    .expect(201);
    let again = app.get("/api/v1/reports/daily?date=2026-03-29", &s.manager).await.expect(200);
    assert_eq!(again["refunds"], 0);
    let today = app.get("/api/v1/reports/daily", &s.manager).await.expect(200);
    assert_eq!(today["refunds"], 179);
    assert_eq!(today["byPaymentMethod"]["cash"], -179);
    // Its tax leaves the day's tax with it: half of the line's 57, rounded half up.
    assert_eq!(today["tax"], -29);
    // The last of the line takes the tax that remains: the line's whole 57 is back.
    app.post(
        &format!("/api/v1/sales/{}/refunds", a["id"].as_str().unwrap()),
        &s.manager,
        json!({"lines": [{"lineId": line, "quantity": 1}], "payments": [{"method": "cash", "amount": 178}]}),
    )
    .await
    .expect(201);
    let today = app.get("/api/v1/reports/daily", &s.manager).await.expect(200);
    assert_eq!(today["refunds"], 357);
    assert_eq!(today["tax"], -57);
    let again = app.get("/api/v1/reports/daily?date=2026-03-29", &s.manager).await.expect(200);
    assert_eq!(again["tax"], 57 + 114, "a refund counts on the day it is made");
}
both_backends!(daily_report_adds_up);

async fn csv_export_streams_every_line(app: TestApp) {
    let s = shop(&app).await;
    for i in 0..3 {
        app.post(
            "/api/v1/sales",
            &s.cashier,
            json!({"note": format!("n{i}"), "lines": [{"barcode": "5449000000996"}, {"barcode": "2112345005355"}], "payments": [{"method": "cash", "amount": 5000}]}),
        )
        .await
        .expect(201);
    }
    app.get("/api/v1/sales/export.csv", &s.cashier).await.expect_error(403, "forbidden");
    let resp =
        app.client.get(format!("{}/api/v1/sales/export.csv", app.base)).bearer_auth(&s.manager).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 1 + 6);
    assert!(rows[0].starts_with("invoiceNumber,"));
    assert!(rows[1].starts_with("INV-000001,completed,"));
    assert!(rows.iter().any(|r| r.contains(",0.535,")));
    let other = app
        .client
        .get(format!("{}/api/v1/sales/export.csv", app.base))
        .bearer_auth(&s.other_admin)
        .send()
        .await
        .unwrap();
    assert_eq!(other.text().await.unwrap().lines().count(), 1, "only the header for another store");
}
both_backends!(csv_export_streams_every_line);

/// A sale's answer is built from what its transaction wrote, without reading it back: it must be
/// exactly what a later read returns — the same product twice, a pack, split payments, and an
/// offline time finer than the database keeps.
async fn the_answer_to_a_sale_is_what_is_stored(app: TestApp) {
    let shop = shop(&app).await;
    let sold_at =
        (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let body = json!({"clientRef": "same-as-stored", "offline": true, "soldAt": sold_at,
                   "lines": [{"barcode": "5449000000996", "quantity": 2}, {"barcode": "5449000000997"},
                             {"productId": shop.cola, "quantity": 3}],
                   "payments": [{"method": "card", "amount": 1000, "reference": "visa-1"}, {"method": "cash", "amount": 10000}]});
    let sale = app.post("/api/v1/sales", &shop.cashier, body.clone()).await.expect(201);
    let id = sale["id"].as_str().unwrap();
    let stored = app.get(&format!("/api/v1/sales/{id}"), &shop.cashier).await.expect(200);
    assert_eq!(sale, stored);
    // 2 + 24 + 3 colas left the shelf, as three movements.
    let cola = app.get(&format!("/api/v1/products/{}", shop.cola), &shop.admin).await.expect(200);
    assert_eq!(cola["stock"], 100 - 29);
    let moves = app.get(&format!("/api/v1/products/{}/stock-movements", shop.cola), &shop.admin).await.expect(200);
    let of_sale: Vec<&Value> = moves["items"].as_array().unwrap().iter().filter(|m| m["saleId"] == id).collect();
    assert_eq!(of_sale.len(), 3, "{moves}");
    assert!(of_sale.iter().all(|m| m["reason"] == "sale"));
    let replay = app.post("/api/v1/sales", &shop.cashier, body).await;
    assert_eq!(replay.body, stored);
}
all_backends!(the_answer_to_a_sale_is_what_is_stored);

/// A product's movements are its sale lines and the rows of its other changes, merged in time
/// order: paged two at a time they come out once each, in order, and add up to the stock change.
async fn stock_movements_page_through_sales_voids_and_deliveries(app: TestApp) {
    let s = shop(&app).await;
    let path = format!("/api/v1/products/{}", s.cola);
    let movements = format!("{path}/stock-movements");
    let before = collect_pages(&app, &s.admin, &movements, 2).await;
    let stock_before = stock(&app.get(&path, &s.admin).await.expect(200));

    let sell = |quantity: i64| {
        app.post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": [{"barcode": "5449000000996", "quantity": quantity}], "payments": [{"method": "cash", "amount": 100000}]}),
        )
    };
    let first = sell(1).await.expect(201);
    app.post(&format!("{path}/stock"), &s.admin, json!({"delta": 12, "reason": "received"})).await.expect(200);
    sell(2).await.expect(201);
    sell(3).await.expect(201);
    app.post(&format!("/api/v1/sales/{}/void", first["id"].as_str().unwrap()), &s.manager, json!({})).await.expect(200);

    let after = collect_pages(&app, &s.admin, &movements, 2).await;
    let ids: BTreeSet<&str> = after.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), after.len(), "each movement once: {after:?}");
    let times: Vec<&str> = after.iter().map(|m| m["createdAt"].as_str().unwrap()).collect();
    let parsed: Vec<chrono::DateTime<chrono::Utc>> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "in time order: {times:?}");
    let old: BTreeSet<&str> = before.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let new: Vec<&Value> = after.iter().filter(|m| !old.contains(m["id"].as_str().unwrap())).collect();
    let reasons: Vec<&str> = new.iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["sale", "received", "sale", "sale", "void"]);
    assert!(new.iter().filter(|m| m["reason"] == "sale").all(|m| m["userId"].is_string() && m["saleId"].is_string()));
    let moved: f64 = new.iter().map(|m| m["delta"].as_f64().unwrap()).sum();
    let stock_after = stock(&app.get(&path, &s.admin).await.expect(200));
    assert_eq!(moved, -1.0 + 12.0 - 2.0 - 3.0 + 1.0);
    assert_eq!(stock_after - stock_before, moved);
}
both_backends!(stock_movements_page_through_sales_voids_and_deliveries);
