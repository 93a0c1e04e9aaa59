//! Two stores, A and B: A's tokens can never read, change, delete or learn of B's users or
//! settings, wherever a store id is slipped into the request (body, query, path, headers).

use reqwest::Method;
use serde_json::{Value, json};

use crate::all_backends;
use crate::helpers::{PASSWORD, Res, TestApp};
use crate::helpers::{call_with_headers, ids, metric_sum, metrics_text};

pub(crate) struct Two {
    pub a_admin: String,
    pub b_admin: String,
    pub b_admin_id: String,
    pub b_cashier_id: String,
    pub a_cashier_id: String,
}

pub(crate) async fn two_stores(app: &TestApp) -> Two {
    let platform = app.platform_token().await;
    let a_admin = app.create_store(&platform, "store-a").await;
    let b_admin = app.create_store(&platform, "store-b").await;
    let b_admin_id = app.get("/api/v1/auth/me", &b_admin).await.expect(200)["id"].as_str().unwrap().to_owned();
    let (a_cashier_id, _) = app.user(&a_admin, "store-a", "cashier@a.test", "cashier").await;
    let (b_cashier_id, _) = app.user(&b_admin, "store-b", "cashier@b.test", "cashier").await;
    // B's settings differ from A's so a leak would show.
    app.patch(
        "/api/v1/store",
        &b_admin,
        json!({"name": "Bee Store", "timezone": "Asia/Tokyo", "taxId": "B-TAX", "address": "B street 2"}),
    )
    .await
    .expect(200);
    Two { a_admin, b_admin, b_admin_id, b_cashier_id, a_cashier_id }
}

/// B as its own admin sees it: the store and its users.
pub(crate) async fn b_snapshot(app: &TestApp, t: &Two) -> (Value, Value) {
    let store = app.get("/api/v1/store", &t.b_admin).await.expect(200);
    let users = app.get("/api/v1/users", &t.b_admin).await.expect(200);
    (store, users)
}

#[track_caller]
fn assert_not_b(res: &Res, what: &str) {
    let text = res.body.to_string();
    for leak in ["store-b", "Bee Store", "B-TAX", "B street", "cashier@b.test", "admin@store-b.test", "Asia/Tokyo"] {
        assert!(!text.contains(leak), "{what}: store B's data ({leak}) leaked: {text}");
    }
}

async fn b_user_ids_in_the_path_are_not_found(app: TestApp) {
    let t = two_stores(&app).await;
    let before = b_snapshot(&app, &t).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    // Control: A's own user is there.
    let own = app.get(&format!("/api/v1/users/{}", t.a_cashier_id), &t.a_admin).await.expect(200);
    assert_eq!(own["email"], "cashier@a.test");
    for id in [&t.b_admin_id, &t.b_cashier_id] {
        let path = format!("/api/v1/users/{id}");
        let got = app.get(&path, &t.a_admin).await;
        got.expect_error(404, "not_found");
        // Indistinguishable from an id that exists nowhere.
        let nowhere = app.get(&format!("/api/v1/users/{unknown}"), &t.a_admin).await;
        assert_eq!(got.body, nowhere.body);
        assert_not_b(&got, "GET");

        for body in [
            json!({"name": "Pwned"}),
            json!({"role": "admin"}),
            json!({"active": false}),
            json!({"password": "taken over!!"}),
        ] {
            let res = app.patch(&path, &t.a_admin, body).await;
            res.expect_error(404, "not_found");
            assert_not_b(&res, "PATCH");
        }
        app.delete(&path, &t.a_admin).await.expect_error(404, "not_found");
    }
    // B is exactly as before; B's cashier still logs in with the old password.
    assert_eq!(b_snapshot(&app, &t).await, before);
    app.login(Some("store-b"), "cashier@b.test", PASSWORD).await;
}
all_backends!(b_user_ids_in_the_path_are_not_found);

async fn lists_and_settings_show_only_the_callers_store(app: TestApp) {
    let t = two_stores(&app).await;
    let users = app.get("/api/v1/users", &t.a_admin).await.expect(200);
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|u| u["storeId"] == "store-a"), "{users}");
    assert!(!ids(items).contains(&t.b_cashier_id));
    let store = app.get("/api/v1/store", &t.a_admin).await.expect(200);
    assert_eq!(store["id"], "store-a");
    assert_eq!(store["timezone"], "UTC");
    let audit = app.get("/api/v1/audit", &t.a_admin).await.expect(200);
    assert!(!audit["items"].as_array().unwrap().is_empty());
    for res in [&users, &store, &audit] {
        assert_not_b(&Res { status: reqwest::StatusCode::OK, body: res.clone(), headers: Default::default() }, "list");
    }
    // A's changes stay in A.
    let before = b_snapshot(&app, &t).await;
    app.patch("/api/v1/store", &t.a_admin, json!({"name": "Ay Store", "receiptFooter": "A footer"})).await.expect(200);
    app.post(
        "/api/v1/users",
        &t.a_admin,
        json!({"email": "new@a.test", "name": "N", "role": "manager", "password": PASSWORD}),
    )
    .await
    .expect(201);
    assert_eq!(b_snapshot(&app, &t).await, before);
}
all_backends!(lists_and_settings_show_only_the_callers_store);

/// Store ids slipped into the query string never select B.
async fn store_id_in_the_query_is_ignored_and_counted(app: TestApp) {
    let t = two_stores(&app).await;
    let before_metric = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &[]);
    let before_query = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &["place=\"query\""]);

    for q in [
        "storeId=store-b",
        "store_id=store-b",
        "storeId=STORE-B",
        "storeId=store-b&storeId=store-b",
        "limit=50&storeId=store-b",
    ] {
        let users = app.get(&format!("/api/v1/users?{q}"), &t.a_admin).await;
        assert_not_b(&users, q);
        let users = users.expect(200);
        let items = users["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{q}: {users}");
        assert!(items.iter().all(|u| u["storeId"] == "store-a"));

        let store = app.get(&format!("/api/v1/store?{q}"), &t.a_admin).await.expect(200);
        assert_eq!(store["id"], "store-a", "{q}");

        let one = app.get(&format!("/api/v1/users/{}?{q}", t.b_cashier_id), &t.a_admin).await;
        one.expect_error(404, "not_found");
        let me = app.get(&format!("/api/v1/auth/me?{q}"), &t.a_admin).await.expect(200);
        assert_eq!(me["storeId"], "store-a");
        let audit = app.get(&format!("/api/v1/audit?{q}"), &t.a_admin).await;
        assert_not_b(&audit, q);
        audit.expect(200);

        // Writes: deleting or patching B's user through A with B named in the query.
        app.delete(&format!("/api/v1/users/{}?{q}", t.b_cashier_id), &t.a_admin).await.expect_error(404, "not_found");
        let res = app.patch(&format!("/api/v1/store?{q}"), &t.a_admin, json!({"receiptFooter": "via query"})).await;
        assert_eq!(res.expect(200)["id"], "store-a");
    }
    let b = app.get("/api/v1/store", &t.b_admin).await.expect(200);
    assert!(b["receiptFooter"].is_null(), "{b}");
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", t.b_cashier_id), &t.b_admin).await.expect(200)["name"],
        "cashier@b.test"
    );

    // Counted (the counter is process-wide: other tests only add to it).
    let after_metric = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &[]);
    let after_query = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &["place=\"query\""]);
    assert!(after_query >= before_query + 5.0, "query counter {before_query} -> {after_query}");
    assert!(after_metric > before_metric);
}
all_backends!(store_id_in_the_query_is_ignored_and_counted);

/// Store ids in a JSON body never select B: the request is served as if they were absent.
async fn store_id_in_the_body_is_ignored(app: TestApp) {
    let t = two_stores(&app).await;
    let before_b = b_snapshot(&app, &t).await;
    let before_body = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &["place=\"body\""]);

    // Creating a user: it lands in A.
    for (key, email) in [("storeId", "one@x.test"), ("store_id", "two@x.test")] {
        let res = app
            .post(
                "/api/v1/users",
                &t.a_admin,
                json!({key: "store-b", "email": email, "name": "Slipped", "role": "admin", "password": PASSWORD}),
            )
            .await;
        let created = res.expect(201);
        assert_eq!(created["storeId"], "store-a", "{created}");
        app.login(Some("store-a"), email, PASSWORD).await;
        crate::helpers::login_res(&app, Some("store-b"), email, PASSWORD).await.expect_error(401, "unauthorized");
    }

    // Settings: A's change.
    for key in ["storeId", "store_id"] {
        let res = app
            .patch("/api/v1/store", &t.a_admin, json!({key: "store-b", "receiptFooter": format!("via {key}")}))
            .await;
        let s = res.expect(200);
        assert_eq!(s["id"], "store-a");
        assert_eq!(s["receiptFooter"], format!("via {key}"));
    }

    // Changing the password with B named: A's account.
    let (_, a_cashier2) = app.user(&t.a_admin, "store-a", "cashier2@a.test", "cashier").await;
    app.post(
        "/api/v1/auth/password",
        &a_cashier2,
        json!({"storeId": "store-b", "currentPassword": PASSWORD, "newPassword": "a new password"}),
    )
    .await
    .expect(204);
    app.login(Some("store-a"), "cashier2@a.test", "a new password").await;

    assert_eq!(b_snapshot(&app, &t).await, before_b);
    let after_body = metric_sum(&metrics_text(&app).await, "tills_store_id_in_request_total", &["place=\"body\""]);
    assert!(after_body > before_body, "body counter {before_body} -> {after_body}");
}
all_backends!(store_id_in_the_body_is_ignored);

/// Store ids in paths and headers select nothing either.
async fn store_id_in_path_or_headers_is_ignored(app: TestApp) {
    let t = two_stores(&app).await;
    let before_b = b_snapshot(&app, &t).await;

    // Paths that name B: no such routes.
    for path in [
        "/api/v1/store/store-b",
        "/api/v1/stores/store-b",
        "/api/v1/stores/store-b/users",
        "/api/v1/store-b/users",
        "/api/v1/users/store-b",
        "/api/v1/store-b/store",
    ] {
        let res = app.get(path, &t.a_admin).await;
        res.expect_error(404, "not_found");
        assert_not_b(&res, path);
        let res = app.patch(path, &t.a_admin, json!({"name": "Pwned"})).await;
        assert_eq!(res.status.as_u16() / 100, 4, "{path}: {}", res.body);
        assert_not_b(&res, path);
    }
    // The platform routes name a store in the path, but are not for store tokens.
    for path in ["/api/v1/admin/stores/store-b", "/api/v1/admin/stores/store-b/token"] {
        let res = app.call(Method::POST, path, Some(&t.a_admin), Some(json!({}))).await;
        assert!((403..=405).contains(&res.status.as_u16()), "{path}: {}", res.status);
        assert_not_b(&res, path);
    }

    let headers: &[(&str, &str)] = &[
        ("x-store-id", "store-b"),
        ("x-tenant-id", "store-b"),
        ("store-id", "store-b"),
        ("storeId", "store-b"),
        ("x-forwarded-host", "store-b.tills.test"),
        ("cookie", "storeId=store-b"),
    ];
    for header in headers {
        let h = std::slice::from_ref(header);
        let users =
            call_with_headers(&app.client, &app.base, Method::GET, "/api/v1/users", Some(&t.a_admin), h, None).await;
        assert_not_b(&users, header.0);
        let users = users.expect(200);
        assert!(users["items"].as_array().unwrap().iter().all(|u| u["storeId"] == "store-a"));
        let store =
            call_with_headers(&app.client, &app.base, Method::GET, "/api/v1/store", Some(&t.a_admin), h, None).await;
        assert_eq!(store.expect(200)["id"], "store-a");
        let path = format!("/api/v1/users/{}", t.b_cashier_id);
        call_with_headers(&app.client, &app.base, Method::GET, &path, Some(&t.a_admin), h, None)
            .await
            .expect_error(404, "not_found");
        call_with_headers(&app.client, &app.base, Method::DELETE, &path, Some(&t.a_admin), h, None)
            .await
            .expect_error(404, "not_found");
        let res = call_with_headers(
            &app.client,
            &app.base,
            Method::PATCH,
            "/api/v1/store",
            Some(&t.a_admin),
            h,
            Some(json!({"receiptFooter": format!("via {}", header.0)})),
        )
        .await;
        assert_eq!(res.expect(200)["id"], "store-a");
        // Without a token, a header selects nothing either.
        call_with_headers(&app.client, &app.base, Method::GET, "/api/v1/users", None, h, None)
            .await
            .expect_error(401, "unauthorized");
    }
    assert_eq!(b_snapshot(&app, &t).await, before_b);
}
all_backends!(store_id_in_path_or_headers_is_ignored);

/// A's audit log never shows B's events, and B's never shows A's.
async fn audit_logs_are_per_store(app: TestApp) {
    let t = two_stores(&app).await;
    // A failed login into B with A's admin email.
    crate::helpers::login_res(&app, Some("store-b"), "admin@store-a.test", "wrong password!!")
        .await
        .expect_error(401, "unauthorized");
    let a = app.get("/api/v1/audit?storeId=store-b", &t.a_admin).await.expect(200);
    let b = app.get("/api/v1/audit", &t.b_admin).await.expect(200);
    let a_ids = ids(a["items"].as_array().unwrap());
    let b_ids = ids(b["items"].as_array().unwrap());
    assert!(!a_ids.is_empty() && !b_ids.is_empty());
    assert!(a_ids.iter().all(|id| !b_ids.contains(id)), "shared entries");
    assert!(!a.to_string().contains(&t.b_cashier_id));
    assert!(a["items"].as_array().unwrap().iter().all(|e| e["action"] != "login.failed"), "{a}");
    assert!(b["items"].as_array().unwrap().iter().any(|e| e["action"] == "login.failed"), "{b}");
    assert!(b.to_string().contains(&t.b_cashier_id));
}
all_backends!(audit_logs_are_per_store);
