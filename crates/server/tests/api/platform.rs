//! Platform administration: creating, listing and suspending stores, and support tokens.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp};
use crate::helpers::{PROPAGATION_DEADLINE, another_instance, collect_pages, ids, login_res, payload, within};

fn new_store(id: &str) -> Value {
    json!({"id": id, "name": format!("Store {id}"), "currency": "USD",
           "owner": {"email": format!("owner@{id}.test"), "name": "Owner", "password": PASSWORD}})
}

async fn creating_a_store_makes_its_owner_the_admin(app: TestApp) {
    let platform = app.platform_token().await;
    let res = app
        .post(
            "/api/v1/admin/stores",
            &platform,
            json!({"id": " Berlin-Mitte_1 ", "name": "Berlin Mitte", "currency": "eur",
                   "timezone": "Europe/Berlin", "pricesIncludeTax": true, "invoicePrefix": "BM-",
                   "owner": {"email": "Owner@Berlin.test", "name": "Olga", "password": PASSWORD}}),
        )
        .await;
    let store = res.expect(201);
    assert_eq!(store["id"], "berlin-mitte_1");
    assert_eq!(store["name"], "Berlin Mitte");
    assert_eq!(store["currency"], "EUR");
    assert_eq!(store["currencyDecimals"], 2);
    assert_eq!(store["timezone"], "Europe/Berlin");
    assert_eq!(store["pricesIncludeTax"], true);
    assert_eq!(store["invoicePrefix"], "BM-");
    assert_eq!(store["status"], "active");
    assert_eq!(store["scaleBarcodes"], json!([]));
    crate::helpers::assert_no_password(&store);

    // The owner logs in as the store's admin and is its only user.
    let body = login_res(&app, Some("berlin-mitte_1"), "owner@berlin.test", PASSWORD).await.expect(200);
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["name"], "Olga");
    let owner = body["token"].as_str().unwrap();
    let users = app.get("/api/v1/users", owner).await.expect(200);
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "owner@berlin.test");
    assert_eq!(items[0]["role"], "admin");
    assert_eq!(items[0]["active"], true);

    // What the store reads is what the platform created.
    let mine = app.get("/api/v1/store", owner).await.expect(200);
    for key in ["id", "name", "currency", "currencyDecimals", "timezone", "pricesIncludeTax", "invoicePrefix", "status"]
    {
        assert_eq!(mine[key], store[key], "{key}");
    }

    // Defaults, and ISO 4217 decimals.
    for (id, currency, decimals) in [("tokyo", "JPY", 0), ("kuwait", "KWD", 3), ("london", "GBP", 2)] {
        let mut body = new_store(id);
        body["currency"] = json!(currency);
        let s = app.post("/api/v1/admin/stores", &platform, body).await.expect(201);
        assert_eq!(s["currencyDecimals"], decimals, "{currency}");
        assert_eq!(s["timezone"], "UTC");
        assert_eq!(s["pricesIncludeTax"], false);
        assert_eq!(s["invoicePrefix"], "INV-");
    }
}
both_backends!(creating_a_store_makes_its_owner_the_admin);

async fn duplicate_store_id_is_a_conflict(app: TestApp) {
    let platform = app.platform_token().await;
    app.post("/api/v1/admin/stores", &platform, new_store("shop-a")).await.expect(201);
    for id in ["shop-a", "SHOP-A", " shop-a "] {
        let mut body = new_store(id);
        body["owner"]["email"] = json!("someone.else@x.test");
        let res = app.post("/api/v1/admin/stores", &platform, body).await;
        res.expect_error(409, "conflict");
    }
    // The first owner is still the only account; the second owner was not created.
    login_res(&app, Some("shop-a"), "owner@shop-a.test", PASSWORD).await.expect(200);
    login_res(&app, Some("shop-a"), "someone.else@x.test", PASSWORD).await.expect_error(401, "unauthorized");
}
both_backends!(duplicate_store_id_is_a_conflict);

async fn invalid_store_fields_name_the_field(app: TestApp) {
    let platform = app.platform_token().await;
    let long = "a".repeat(65);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty id", json!(""), "id"),
        ("id with a space", json!("my shop"), "id"),
        ("id starting with -", json!("-shop"), "id"),
        ("id with a slash", json!("a/b"), "id"),
        ("id with a dot", json!("a.b"), "id"),
        ("id of 65 chars", json!(long), "id"),
        ("id not a string", json!(42), "id"),
    ];
    for (what, id, field) in cases {
        let mut body = new_store("ok");
        body["id"] = id;
        let res = app.post("/api/v1/admin/stores", &platform, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{what}: {}", res.body);
    }
    for currency in ["ZZZ", "dollars", "", "XXX", "US"] {
        let mut body = new_store("ok");
        body["currency"] = json!(currency);
        let res = app.post("/api/v1/admin/stores", &platform, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), "currency", "currency {currency:?}: {}", res.body);
    }
    for tz in ["Mars/Olympus", "CEST+2", "", "Europe/Berlinn"] {
        let mut body = new_store("ok");
        body["timezone"] = json!(tz);
        let res = app.post("/api/v1/admin/stores", &platform, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), "timezone", "timezone {tz:?}: {}", res.body);
    }
    let mut body = new_store("ok");
    body["owner"]["password"] = json!("short");
    let res = app.post("/api/v1/admin/stores", &platform, body).await;
    res.expect_error(400, "invalid_input");
    assert!(res.field().ends_with("password"), "{}", res.body);
    let mut body = new_store("ok");
    body["owner"]["email"] = json!("not an email");
    let res = app.post("/api/v1/admin/stores", &platform, body).await;
    res.expect_error(400, "invalid_input");
    assert!(res.field().ends_with("email"), "{}", res.body);
    let mut body = new_store("ok");
    body["pricesIncludeTax"] = json!("yes");
    let res = app.post("/api/v1/admin/stores", &platform, body).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "pricesIncludeTax", "{}", res.body);

    // None of these created a store.
    let stores = app.get("/api/v1/admin/stores", &platform).await.expect(200);
    assert_eq!(stores["items"], json!([]), "{stores}");
    login_res(&app, Some("ok"), "owner@ok.test", PASSWORD).await.expect_error(401, "unauthorized");
}
both_backends!(invalid_store_fields_name_the_field);

async fn listing_stores_pages_through_all_of_them(app: TestApp) {
    let platform = app.platform_token().await;
    let made = ["s-1", "s-2", "s-3", "s-4", "s-5"];
    for id in made {
        app.post("/api/v1/admin/stores", &platform, new_store(id)).await.expect(201);
    }
    let all = app.get("/api/v1/admin/stores", &platform).await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert!(all["nextCursor"].is_null());

    let first = app.get("/api/v1/admin/stores?limit=1", &platform).await.expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert!(first["nextCursor"].is_string(), "{first}");

    for limit in [1, 2, 5] {
        let items = collect_pages(&app, &platform, "/api/v1/admin/stores", limit).await;
        let mut got = ids(&items);
        assert_eq!(got.len(), 5, "limit {limit}: {got:?}");
        got.sort();
        got.dedup();
        assert_eq!(got, made.map(String::from).to_vec(), "limit {limit}");
    }

    // A store created while paging still shows up, and nothing repeats.
    let page = app.get("/api/v1/admin/stores?limit=2", &platform).await.expect(200);
    app.post("/api/v1/admin/stores", &platform, new_store("s-9")).await.expect(201);
    let cursor = page["nextCursor"].as_str().unwrap();
    let rest = app.get(&format!("/api/v1/admin/stores?limit=50&cursor={cursor}"), &platform).await.expect(200);
    let mut seen = ids(page["items"].as_array().unwrap());
    seen.extend(ids(rest["items"].as_array().unwrap()));
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.contains(&"s-9".to_owned()));

    for bad in ["limit=0", "limit=201", "limit=-1", "limit=ten"] {
        let res = app.get(&format!("/api/v1/admin/stores?{bad}"), &platform).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), "limit", "{bad}");
    }
    let res = app.get("/api/v1/admin/stores?cursor=not-a-cursor", &platform).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "cursor");
}
both_backends!(listing_stores_pages_through_all_of_them);

async fn suspending_a_store_locks_it_out_until_reactivated(app: TestApp) {
    let platform = app.platform_token().await;
    let admin_a = app.create_store(&platform, "shop-a").await;
    let admin_b = app.create_store(&platform, "shop-b").await;
    let (_, cashier_a) = app.user(&admin_a, "shop-a", "cashier@shop-a.test", "cashier").await;
    app.get("/api/v1/store", &cashier_a).await.expect(200);

    let res = app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "suspended"})).await;
    assert_eq!(res.expect(200)["status"], "suspended");

    // On this instance at once: every existing token of the store gets 403.
    for token in [&admin_a, &cashier_a] {
        for path in ["/api/v1/store", "/api/v1/auth/me", "/api/v1/users"] {
            app.get(path, token).await.expect_error(403, "forbidden");
        }
        app.patch("/api/v1/store", token, json!({"name": "Still here"})).await.expect_error(403, "forbidden");
    }
    // Logging in with the right password is refused with 403; a wrong one stays 401.
    login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await.expect_error(403, "forbidden");
    login_res(&app, Some("shop-a"), "admin@shop-a.test", "wrong password!!").await.expect_error(401, "unauthorized");
    // The other store does not notice.
    app.get("/api/v1/users", &admin_b).await.expect(200);
    login_res(&app, Some("shop-b"), "admin@shop-b.test", PASSWORD).await.expect(200);
    // The platform sees the status.
    let stores = app.get("/api/v1/admin/stores", &platform).await.expect(200);
    let a = stores["items"].as_array().unwrap().iter().find(|s| s["id"] == "shop-a").unwrap().clone();
    assert_eq!(a["status"], "suspended");

    let res = app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "active"})).await;
    assert_eq!(res.expect(200)["status"], "active");
    app.get("/api/v1/store", &admin_a).await.expect(200);
    app.get("/api/v1/auth/me", &cashier_a).await.expect(200);
    login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await.expect(200);
}
both_backends!(suspending_a_store_locks_it_out_until_reactivated);

async fn suspension_reaches_another_instance_within_seconds(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let other = another_instance(&app).await;
    // The other instance has seen the store active.
    other.get("/api/v1/store", &admin).await.expect(200);

    app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "suspended"})).await.expect(200);
    let took =
        within(PROPAGATION_DEADLINE, || async { other.get("/api/v1/store", &admin).await.status.as_u16() == 403 })
            .await;
    assert!(took.is_some(), "another instance kept serving a suspended store for over {PROPAGATION_DEADLINE:?}");
    other.get("/api/v1/auth/me", &admin).await.expect_error(403, "forbidden");

    app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "active"})).await.expect(200);
    let took =
        within(PROPAGATION_DEADLINE, || async { other.get("/api/v1/store", &admin).await.status.as_u16() == 200 })
            .await;
    assert!(took.is_some(), "another instance kept refusing a reactivated store for over {PROPAGATION_DEADLINE:?}");
}
both_backends!(suspension_reaches_another_instance_within_seconds);

async fn patching_stores_validates(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    let res = app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "closed"})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "status");
    app.patch("/api/v1/admin/stores/nowhere", &platform, json!({"status": "suspended"}))
        .await
        .expect_error(404, "not_found");
    app.post("/api/v1/admin/stores/nowhere/token", &platform, json!({})).await.expect_error(404, "not_found");
    let renamed = app.patch("/api/v1/admin/stores/SHOP-A", &platform, json!({"name": "Corner Shop"})).await.expect(200);
    assert_eq!(renamed["name"], "Corner Shop");
    assert_eq!(renamed["status"], "active");
}
both_backends!(patching_stores_validates);

async fn support_tokens_are_short_scoped_and_audited(app: TestApp) {
    let platform = app.platform_token().await;
    let root_id = app.get("/api/v1/auth/me", &platform).await.expect(200)["id"].as_str().unwrap().to_owned();
    let admin_a = app.create_store(&platform, "shop-a").await;
    let admin_b = app.create_store(&platform, "shop-b").await;
    let (b_user, _) = app.user(&admin_b, "shop-b", "cashier@shop-b.test", "cashier").await;

    let before = chrono::Utc::now();
    let res = app.post("/api/v1/admin/stores/shop-a/token", &platform, json!({})).await.expect(200);
    let token = res["token"].as_str().expect("token").to_owned();
    let expires: chrono::DateTime<chrono::Utc> = res["expiresAt"].as_str().unwrap().parse().expect("RFC 3339");
    let lifetime = (expires - before).num_seconds();
    assert!(lifetime > 0 && lifetime <= 3600 + 2, "a support token lasts at most an hour, not {lifetime}s");
    let claims = payload(&token);
    assert_eq!(claims["storeId"], "shop-a");
    assert_eq!(claims["role"], "admin");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 3600, "{claims}");

    // It acts as shop-a's admin, and only there.
    let me = app.get("/api/v1/auth/me", &token).await.expect(200);
    assert_eq!(me["storeId"], "shop-a");
    assert_eq!(me["role"], "admin");
    assert_eq!(app.get("/api/v1/store", &token).await.expect(200)["id"], "shop-a");
    let users = app.get("/api/v1/users", &token).await.expect(200);
    assert!(users["items"].as_array().unwrap().iter().all(|u| u["storeId"] == "shop-a"), "{users}");
    app.get(&format!("/api/v1/users/{b_user}"), &token).await.expect_error(404, "not_found");

    // Written to shop-a's audit log, not shop-b's.
    let audit = app.get("/api/v1/audit?action=support.token", &admin_a).await.expect(200);
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["action"], "support.token");
    assert_eq!(items[0]["actorId"], root_id.as_str(), "the platform admin is the actor: {audit}");
    let audit_b = app.get("/api/v1/audit?action=support.token", &admin_b).await.expect(200);
    assert_eq!(audit_b["items"], json!([]), "{audit_b}");

    // What it does is attributed to the platform admin.
    app.patch("/api/v1/store", &token, json!({"receiptFooter": "Thanks!"})).await.expect(200);
    let audit = app.get("/api/v1/audit?action=store.settings", &admin_a).await.expect(200);
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actorId"], root_id.as_str(), "{audit}");

    // A suspended store's support tokens are refused like any other.
    app.patch("/api/v1/admin/stores/shop-a", &platform, json!({"status": "suspended"})).await.expect(200);
    app.get("/api/v1/store", &token).await.expect_error(403, "forbidden");
}
both_backends!(support_tokens_are_short_scoped_and_audited);
