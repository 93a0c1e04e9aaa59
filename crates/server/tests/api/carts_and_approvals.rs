//! Parked carts (any terminal resumes, exactly once) and a manager's approval at a cashier's
//! terminal (single use, for one action, audited with both users), on both backends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, call_with_headers};

struct Shop {
    admin: String,
    manager: String,
    cashier: String,
    other_admin: String,
}

async fn shop(app: &TestApp) -> Shop {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "park-a").await;
    let other_admin = app.create_store(&platform, "park-b").await;
    let (_, manager) = app.user(&admin, "park-a", "boss@a.test", "manager").await;
    let (_, cashier) = app.user(&admin, "park-a", "till@a.test", "cashier").await;
    app.post(
        "/api/v1/products",
        &admin,
        json!({"name": "Cola", "barcode": "5449000000996", "price": 150, "taxRate": 1900, "stock": 100}),
    )
    .await
    .expect(201);
    Shop { admin, manager, cashier, other_admin }
}

async fn parked_carts_are_resumed_once_by_any_terminal(app: TestApp) {
    let s = shop(&app).await;
    let cart = json!({"label": "red coat", "lines": [{"barcode": "5449000000996", "quantity": 3}]});
    let parked = app.post("/api/v1/carts", &s.cashier, cart.clone()).await.expect(201);
    assert_eq!(parked["lines"][0]["quantity"], 3);
    let id = parked["id"].as_str().unwrap().to_owned();
    // No stock taken, no invoice number.
    let product = app.get("/api/v1/products?q=cola", &s.admin).await.expect(200);
    assert_eq!(product["items"][0]["stock"], 100);
    assert!(app.get("/api/v1/sales", &s.admin).await.expect(200)["items"].as_array().unwrap().is_empty());
    // Every terminal of the store sees it; another store does not.
    let waiting = app.get("/api/v1/carts", &s.manager).await.expect(200);
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1);
    assert!(app.get("/api/v1/carts", &s.other_admin).await.expect(200)["items"].as_array().unwrap().is_empty());
    let resume = format!("/api/v1/carts/{id}/resume");
    app.post(&resume, &s.other_admin, json!({})).await.expect_error(404, "not_found");
    // Two terminals resume it at once: exactly one gets it.
    let (a, b) = tokio::join!(app.post(&resume, &s.cashier, json!({})), app.post(&resume, &s.manager, json!({})));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let taken = if a.status.as_u16() == 200 { a.body } else { b.body };
    assert_eq!(taken["label"], "red coat");
    assert!(app.get("/api/v1/carts", &s.cashier).await.expect(200)["items"].as_array().unwrap().is_empty());
    // Bad carts.
    for (bad, field) in [
        (json!({"label": "", "lines": [{"barcode": "1"}]}), "label"),
        (json!({"label": "x", "lines": []}), "lines"),
        (json!({"label": "x", "lines": [{"barcode": "1", "productId": tills_domain::new_id()}]}), "lines[0]"),
        (json!({"label": "x", "customerId": tills_domain::new_id(), "lines": [{"barcode": "1"}]}), "customerId"),
    ] {
        let res = app.post("/api/v1/carts", &s.cashier, bad).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field);
    }
}
both_backends!(parked_carts_are_resumed_once_by_any_terminal);

async fn post_with_approval(
    app: &TestApp,
    path: &str,
    token: &str,
    approval: &str,
    body: Value,
) -> crate::helpers::Res {
    call_with_headers(&app.client, &app.base, Method::POST, path, Some(token), &[("x-approval", approval)], Some(body))
        .await
}

async fn a_manager_approves_once_at_the_cashiers_till(app: TestApp) {
    let s = shop(&app).await;
    let sale = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "cash", "amount": 500}]}),
        )
        .await
        .expect(201);
    let void = format!("/api/v1/sales/{}/void", sale["id"].as_str().unwrap());
    app.post(&void, &s.cashier, json!({})).await.expect_error(403, "forbidden");

    // The manager sets a PIN, then approves with it on the cashier's terminal.
    app.post("/api/v1/auth/pin", &s.manager, json!({"currentPassword": "wrong", "pin": "2468"}))
        .await
        .expect_error(400, "invalid_input");
    app.post("/api/v1/auth/pin", &s.manager, json!({"currentPassword": crate::helpers::PASSWORD, "pin": "24a8"}))
        .await
        .expect_error(400, "invalid_input");
    app.post("/api/v1/auth/pin", &s.cashier, json!({"currentPassword": crate::helpers::PASSWORD, "pin": "1357"}))
        .await
        .expect_error(403, "forbidden");
    let pin =
        app.post("/api/v1/auth/pin", &s.manager, json!({"currentPassword": crate::helpers::PASSWORD, "pin": "2468"}));
    assert_eq!(pin.await.status.as_u16(), 204);
    let ask = |pin: &str| json!({"action": "void", "email": "boss@a.test", "pin": pin});
    app.post("/api/v1/approvals", &s.cashier, ask("1111")).await.expect_error(403, "forbidden");
    // A cashier cannot approve.
    app.post(
        "/api/v1/approvals",
        &s.cashier,
        json!({"action": "void", "email": "till@a.test", "password": crate::helpers::PASSWORD}),
    )
    .await
    .expect_error(403, "forbidden");
    let approval = app.post("/api/v1/approvals", &s.cashier, ask("2468")).await.expect(201);
    let approval = approval["approval"].as_str().unwrap().to_owned();

    // For the void only: a refund with it is refused, and that leaves it unused.
    let line = sale["lines"][0]["id"].as_str().unwrap();
    let refund = format!("/api/v1/sales/{}/refunds", sale["id"].as_str().unwrap());
    let body = json!({"lines": [{"lineId": line, "quantity": 1}], "payments": [{"method": "cash", "amount": 179}]});
    post_with_approval(&app, &refund, &s.cashier, &approval, body).await.expect_error(403, "forbidden");
    // Another store's terminal cannot use it either.
    post_with_approval(&app, &void, &s.other_admin, &approval, json!({})).await.expect_error(404, "not_found");
    let voided = post_with_approval(&app, &void, &s.cashier, &approval, json!({})).await.expect(200);
    assert_eq!(voided["status"], "voided");
    // Used once: the same approval again is refused.
    let again = app
        .post(
            "/api/v1/sales",
            &s.cashier,
            json!({"lines": [{"barcode": "5449000000996"}], "payments": [{"method": "cash", "amount": 500}]}),
        )
        .await
        .expect(201);
    let void_again = format!("/api/v1/sales/{}/void", again["id"].as_str().unwrap());
    post_with_approval(&app, &void_again, &s.cashier, &approval, json!({})).await.expect_error(403, "forbidden");
    post_with_approval(&app, &void_again, &s.cashier, "not-a-uuid", json!({})).await.expect_error(400, "invalid_input");

    // Both users are in the audit log.
    let audit = app.get("/api/v1/audit?action=sale.void", &s.admin).await.expect(200);
    let entry = &audit["items"][0];
    assert_eq!(entry["detail"]["approvedBy"], json!(app_user_id(&app, &s.admin, "boss@a.test").await));
    assert_eq!(entry["actorId"], json!(app_user_id(&app, &s.admin, "till@a.test").await));
    let granted = app.get("/api/v1/audit?action=approval.granted", &s.admin).await.expect(200);
    assert_eq!(granted["items"].as_array().unwrap().len(), 1);

    // A price override by the cashier with a sale approval (password this time); a failed sale
    // gives the approval back.
    let approval = app
        .post(
            "/api/v1/approvals",
            &s.cashier,
            json!({"action": "sale", "email": "boss@a.test", "password": crate::helpers::PASSWORD}),
        )
        .await
        .expect(201)["approval"]
        .as_str()
        .unwrap()
        .to_owned();
    let cheap =
        json!({"lines": [{"barcode": "5449000000996", "price": 100}], "payments": [{"method": "cash", "amount": 10}]});
    post_with_approval(&app, "/api/v1/sales", &s.cashier, &approval, cheap)
        .await
        .expect_error(400, "insufficient_payment");
    let quote = post_with_approval(
        &app,
        "/api/v1/sales/quote",
        &s.cashier,
        &approval,
        json!({"lines": [{"barcode": "5449000000996", "price": 100}]}),
    );
    assert_eq!(quote.await.expect(200)["lines"][0]["price"], 100);
    let cheap =
        json!({"lines": [{"barcode": "5449000000996", "price": 100}], "payments": [{"method": "cash", "amount": 200}]});
    let sold = post_with_approval(&app, "/api/v1/sales", &s.cashier, &approval, cheap.clone()).await.expect(201);
    assert_eq!(sold["lines"][0]["price"], 100);
    post_with_approval(&app, "/api/v1/sales", &s.cashier, &approval, cheap).await.expect_error(403, "forbidden");
}
both_backends!(a_manager_approves_once_at_the_cashiers_till);

async fn app_user_id(app: &TestApp, admin: &str, email: &str) -> String {
    let users = app.get("/api/v1/users?limit=200", admin).await.expect(200);
    users["items"].as_array().unwrap().iter().find(|u| u["email"] == email).unwrap()["id"].as_str().unwrap().to_owned()
}

async fn pin_attempts_are_throttled_like_logins(app: TestApp) {
    let s = shop(&app).await;
    let mut last = 0;
    for _ in 0..12 {
        let res = app
            .post("/api/v1/approvals", &s.cashier, json!({"action": "void", "email": "boss@a.test", "pin": "0000"}))
            .await;
        last = res.status.as_u16();
        if last == 429 {
            assert!(res.headers.get("retry-after").is_some());
            break;
        }
        assert_eq!(last, 403);
    }
    assert_eq!(last, 429, "wrong PINs end in 429 like logins");
}
both_backends!(pin_attempts_are_throttled_like_logins);

async fn returns_without_a_receipt_count_as_refunds(app: TestApp) {
    let s = shop(&app).await;
    let sid = app
        .post("/api/v1/shifts", &s.manager, json!({"terminal": "desk", "openingFloat": 1000}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = json!({"clientRef": "ret-1", "reason": "broken seal", "lines": [{"barcode": "5449000000996", "quantity": 2}],
                      "payments": [{"method": "cash", "amount": 357}]});
    // A cashier needs a manager.
    app.post("/api/v1/returns", &s.cashier, back.clone()).await.expect_error(403, "forbidden");
    let mut wrong = back.clone();
    wrong["payments"] = json!([{"method": "cash", "amount": 300}]);
    let res = app.post("/api/v1/returns", &s.manager, wrong).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "payments");
    // 2 × 150 + 19 % tax (57), at the catalog's price.
    let done = app.post("/api/v1/returns", &s.manager, back.clone()).await.expect(201);
    assert_eq!(done["total"], 357);
    assert_eq!(done["shiftId"], sid);
    assert_eq!(app.post("/api/v1/returns", &s.manager, back.clone()).await.expect(200)["id"], done["id"]);
    let mut other = back.clone();
    other["reason"] = json!("something else");
    app.post("/api/v1/returns", &s.manager, other).await.expect_error(409, "idempotency_mismatch");
    let product = app.get("/api/v1/products?q=cola", &s.admin).await.expect(200);
    assert_eq!(product["items"][0]["stock"], 102, "restocked");

    // A cashier with a manager's approval; a given price; not restocked.
    let approval = app
        .post(
            "/api/v1/approvals",
            &s.cashier,
            json!({"action": "return", "email": "boss@a.test", "password": crate::helpers::PASSWORD}),
        )
        .await
        .expect(201)["approval"]
        .as_str()
        .unwrap()
        .to_owned();
    let cheap = json!({"reason": "goodwill", "restock": false, "lines": [{"barcode": "5449000000996", "price": 100}],
                       "payments": [{"method": "card", "amount": 119}]});
    let approved = post_with_approval(&app, "/api/v1/returns", &s.cashier, &approval, cheap).await.expect(201);
    assert!(!approved["approvedBy"].is_null());
    assert!(approved["shiftId"].is_null(), "the cashier has no shift open");

    let daily = app.get("/api/v1/reports/daily", &s.manager).await.expect(200);
    assert_eq!(daily["refunds"], 357 + 119);
    assert_eq!(daily["byPaymentMethod"]["cash"], -357);
    assert_eq!(daily["byPaymentMethod"]["card"], -119);
    let x = app.get(&format!("/api/v1/shifts/{sid}/report"), &s.manager).await.expect(200);
    assert_eq!(x["figures"]["refunds"], json!({"count": 1, "total": 357}));
    assert_eq!(x["figures"]["cash"]["expected"], 1000 - 357);
    let id = done["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/returns/{id}"), &s.cashier).await.expect(200)["total"], 357);
    app.get(&format!("/api/v1/returns/{id}"), &s.other_admin).await.expect_error(404, "not_found");
}
both_backends!(returns_without_a_receipt_count_as_refunds);
