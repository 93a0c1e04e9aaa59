//! A store's users: CRUD, email uniqueness per store, the last-admin rule, and losing rights
//! when deleted, deactivated or given another role.

use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp};
use crate::helpers::{
    PROPAGATION_DEADLINE, another_instance, assert_no_password, collect_pages, ids, login_res, within,
};

async fn create_read_update_delete(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;

    let res = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"email": "  Cara.Cashier@Shop-A.test ", "name": "Cara", "role": "cashier", "password": PASSWORD}),
        )
        .await;
    let created = res.expect(201);
    assert_no_password(&created);
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.parse::<uuid::Uuid>().is_ok());
    assert_eq!(created["email"], "cara.cashier@shop-a.test");
    assert_eq!(created["name"], "Cara");
    assert_eq!(created["role"], "cashier");
    assert_eq!(created["active"], true);
    assert_eq!(created["storeId"], "shop-a");

    let got = app.get(&format!("/api/v1/users/{id}"), &admin).await.expect(200);
    assert_no_password(&got);
    assert_eq!(got["id"], id.as_str());
    assert_eq!(got["email"], "cara.cashier@shop-a.test");

    let list = app.get("/api/v1/users", &admin).await.expect(200);
    assert_no_password(&list);
    assert!(list["nextCursor"].is_null());
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(ids(list["items"].as_array().unwrap()).contains(&id));

    // The new user logs in with the email in any case.
    let cara = login_res(&app, Some("shop-a"), "CARA.cashier@shop-a.test", PASSWORD).await.expect(200);
    assert_no_password(&cara);
    assert_eq!(cara["user"]["id"], id.as_str());

    let patched = app
        .patch(&format!("/api/v1/users/{id}"), &admin, json!({"name": "Cara M.", "role": "manager"}))
        .await
        .expect(200);
    assert_no_password(&patched);
    assert_eq!(patched["name"], "Cara M.");
    assert_eq!(patched["role"], "manager");
    let got = app.get(&format!("/api/v1/users/{id}"), &admin).await.expect(200);
    assert_eq!(got["name"], "Cara M.");
    assert_eq!(got["role"], "manager");

    // A new password set by the admin replaces the old one.
    let patched =
        app.patch(&format!("/api/v1/users/{id}"), &admin, json!({"password": "set by the admin"})).await.expect(200);
    assert_no_password(&patched);
    login_res(&app, Some("shop-a"), "cara.cashier@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
    let body = login_res(&app, Some("shop-a"), "cara.cashier@shop-a.test", "set by the admin").await.expect(200);
    assert_eq!(body["user"]["role"], "manager");

    let res = app.delete(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    app.get(&format!("/api/v1/users/{id}"), &admin).await.expect_error(404, "not_found");
    app.delete(&format!("/api/v1/users/{id}"), &admin).await.expect_error(404, "not_found");
    app.patch(&format!("/api/v1/users/{id}"), &admin, json!({"name": "Ghost"})).await.expect_error(404, "not_found");
    let list = app.get("/api/v1/users", &admin).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    login_res(&app, Some("shop-a"), "cara.cashier@shop-a.test", "set by the admin")
        .await
        .expect_error(401, "unauthorized");
}
both_backends!(create_read_update_delete);

async fn invalid_user_fields(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let base = json!({"email": "u@shop-a.test", "name": "U", "role": "cashier", "password": PASSWORD});
    let cases = [
        ("email", json!("not-an-email")),
        ("email", json!("")),
        ("name", json!("")),
        ("role", json!("platform_admin")),
        ("role", json!("owner")),
        ("password", json!("123456789")),
        ("role", json!(3)),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        body[field] = value.clone();
        let res = app.post("/api/v1/users", &admin, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{field} = {value}: {}", res.body);
    }
    let (id, _) = app.user(&admin, "shop-a", "u@shop-a.test", "cashier").await;
    for (field, value) in [("role", json!("platform_admin")), ("password", json!("short")), ("active", json!("no"))] {
        let res = app.patch(&format!("/api/v1/users/{id}"), &admin, json!({field: value})).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{}", res.body);
    }
    let got = app.get(&format!("/api/v1/users/{id}"), &admin).await.expect(200);
    assert_eq!(got["role"], "cashier");
    assert_eq!(got["active"], true);
    assert_eq!(app.get("/api/v1/users", &admin).await.expect(200)["items"].as_array().unwrap().len(), 2);
}
both_backends!(invalid_user_fields);

async fn email_is_unique_per_store(app: TestApp) {
    let platform = app.platform_token().await;
    let admin_a = app.create_store(&platform, "shop-a").await;
    let admin_b = app.create_store(&platform, "shop-b").await;
    app.user(&admin_a, "shop-a", "sam@shops.test", "cashier").await;

    for email in ["sam@shops.test", "SAM@Shops.test", "  sam@shops.test  "] {
        let res = app
            .post(
                "/api/v1/users",
                &admin_a,
                json!({"email": email, "name": "Sam 2", "role": "manager", "password": PASSWORD}),
            )
            .await;
        res.expect_error(409, "email_taken");
    }
    // The owner's email too.
    let res = app
        .post(
            "/api/v1/users",
            &admin_a,
            json!({"email": "admin@shop-a.test", "name": "X", "role": "admin", "password": PASSWORD}),
        )
        .await;
    res.expect_error(409, "email_taken");

    // The same email in another store is another account.
    let (b_id, b_token) = app.user(&admin_b, "shop-b", "sam@shops.test", "manager").await;
    let me = app.get("/api/v1/auth/me", &b_token).await.expect(200);
    assert_eq!(me["id"], b_id.as_str());
    assert_eq!(me["storeId"], "shop-b");
    assert_eq!(me["role"], "manager");
    let a_login = login_res(&app, Some("shop-a"), "sam@shops.test", PASSWORD).await.expect(200);
    assert_eq!(a_login["user"]["role"], "cashier");
    assert_ne!(a_login["user"]["id"], b_id.as_str());
}
both_backends!(email_is_unique_per_store);

async fn users_list_pages(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    for i in 0..4 {
        app.post(
            "/api/v1/users",
            &admin,
            json!({"email": format!("u{i}@shop-a.test"), "name": format!("U{i}"), "role": "cashier", "password": PASSWORD}),
        )
        .await
        .expect(201);
    }
    let first = app.get("/api/v1/users?limit=1", &admin).await.expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    assert!(first["nextCursor"].is_string());
    for limit in [1, 2, 3, 5] {
        let items = collect_pages(&app, &admin, "/api/v1/users", limit).await;
        let mut got = ids(&items);
        assert_eq!(got.len(), 5, "limit {limit}");
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 5, "limit {limit}: no repeats");
        assert_no_password(&serde_json::Value::Array(items));
    }
    let res = app.get("/api/v1/users?limit=500", &admin).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "limit");
}
both_backends!(users_list_pages);

async fn the_last_active_admin_stays(app: TestApp) {
    let platform = app.platform_token().await;
    let owner = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &owner).await.expect(200)["id"].as_str().unwrap().to_owned();
    let me = format!("/api/v1/users/{owner_id}");

    app.delete(&me, &owner).await.expect_error(409, "conflict");
    app.patch(&me, &owner, json!({"active": false})).await.expect_error(409, "conflict");
    for role in ["manager", "cashier"] {
        app.patch(&me, &owner, json!({"role": role})).await.expect_error(409, "conflict");
    }
    // Still the admin, still signed in.
    let got = app.get(&me, &owner).await.expect(200);
    assert_eq!(got["role"], "admin");
    assert_eq!(got["active"], true);

    // An inactive second admin does not count.
    let (second_id, _) = app.user(&owner, "shop-a", "second@shop-a.test", "admin").await;
    app.patch(&format!("/api/v1/users/{second_id}"), &owner, json!({"active": false})).await.expect(200);
    app.delete(&me, &owner).await.expect_error(409, "conflict");
    app.patch(&me, &owner, json!({"role": "cashier"})).await.expect_error(409, "conflict");
    app.patch(&me, &owner, json!({"active": false})).await.expect_error(409, "conflict");

    // With an active second admin, the owner may step down, and the other admin may then not.
    app.patch(&format!("/api/v1/users/{second_id}"), &owner, json!({"active": true})).await.expect(200);
    let second = app.login(Some("shop-a"), "second@shop-a.test", PASSWORD).await;
    let stepped = app.patch(&me, &owner, json!({"role": "manager"})).await.expect(200);
    assert_eq!(stepped["role"], "manager");
    let second_me = format!("/api/v1/users/{second_id}");
    app.delete(&second_me, &second).await.expect_error(409, "conflict");
    app.patch(&second_me, &second, json!({"role": "cashier"})).await.expect_error(409, "conflict");
    app.patch(&second_me, &second, json!({"active": false})).await.expect_error(409, "conflict");
    // Deleting the other (non-admin) account is fine.
    assert_eq!(app.delete(&me, &second).await.status.as_u16(), 204);
    app.get(&me, &second).await.expect_error(404, "not_found");
    let users = app.get("/api/v1/users", &second).await.expect(200);
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["role"], "admin");
}
both_backends!(the_last_active_admin_stays);

/// A user's old token, before and after `change`, on the instance that made it.
async fn old_token_stops_working(app: &TestApp, admin: &str, change: &str) {
    let email = format!("{change}@shop-a.test");
    let (id, token) = app.user(admin, "shop-a", &email, "cashier").await;
    app.get("/api/v1/auth/me", &token).await.expect(200);
    app.get("/api/v1/store", &token).await.expect(200);
    let path = format!("/api/v1/users/{id}");
    match change {
        "deleted" => assert_eq!(app.delete(&path, admin).await.status.as_u16(), 204),
        "deactivated" => {
            app.patch(&path, admin, json!({"active": false})).await.expect(200);
        }
        "promoted" => {
            app.patch(&path, admin, json!({"role": "manager"})).await.expect(200);
        }
        _ => unreachable!(),
    }
    // Immediately, on the instance that made the change.
    for route in ["/api/v1/auth/me", "/api/v1/store"] {
        app.get(route, &token).await.expect_error(401, "unauthorized");
    }
    if change == "promoted" {
        // Signing in again gives the new role.
        let body = login_res(app, Some("shop-a"), &email, PASSWORD).await.expect(200);
        assert_eq!(body["user"]["role"], "manager");
        let fresh = body["token"].as_str().unwrap();
        assert_eq!(app.get("/api/v1/auth/me", fresh).await.expect(200)["role"], "manager");
    }
}

async fn deleted_deactivated_or_reroled_users_lose_their_tokens(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    for change in ["deleted", "deactivated", "promoted"] {
        old_token_stops_working(&app, &admin, change).await;
    }

    // A demoted admin loses its admin rights at once: the old token no longer administers.
    let (id, second) = app.user(&admin, "shop-a", "second@shop-a.test", "admin").await;
    app.get("/api/v1/users", &second).await.expect(200);
    app.patch(&format!("/api/v1/users/{id}"), &admin, json!({"role": "cashier"})).await.expect(200);
    app.get("/api/v1/users", &second).await.expect_error(401, "unauthorized");
    app.post(
        "/api/v1/users",
        &second,
        json!({"email": "sneaky@shop-a.test", "name": "S", "role": "admin", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "unauthorized");
    login_res(&app, Some("shop-a"), "sneaky@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
}
both_backends!(deleted_deactivated_or_reroled_users_lose_their_tokens);

async fn changes_reach_another_instance_within_five_seconds(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let other = another_instance(&app).await;

    let (deleted_id, deleted) = app.user(&admin, "shop-a", "deleted@shop-a.test", "cashier").await;
    let (inactive_id, inactive) = app.user(&admin, "shop-a", "inactive@shop-a.test", "cashier").await;
    let (demoted_id, demoted) = app.user(&admin, "shop-a", "demoted@shop-a.test", "admin").await;
    // The other instance has seen each of them with its old rights.
    for t in [&deleted, &inactive, &demoted] {
        other.get("/api/v1/auth/me", t).await.expect(200);
    }
    other.get("/api/v1/users", &demoted).await.expect(200);

    assert_eq!(app.delete(&format!("/api/v1/users/{deleted_id}"), &admin).await.status.as_u16(), 204);
    app.patch(&format!("/api/v1/users/{inactive_id}"), &admin, json!({"active": false})).await.expect(200);
    app.patch(&format!("/api/v1/users/{demoted_id}"), &admin, json!({"role": "cashier"})).await.expect(200);

    for (what, token, path) in [
        ("deleted", &deleted, "/api/v1/auth/me"),
        ("deactivated", &inactive, "/api/v1/auth/me"),
        ("demoted", &demoted, "/api/v1/users"),
    ] {
        let took = within(PROPAGATION_DEADLINE, || async { other.get(path, token).await.status.as_u16() == 401 }).await;
        assert!(took.is_some(), "a {what} user kept its rights on another instance for over {PROPAGATION_DEADLINE:?}");
    }
}
both_backends!(changes_reach_another_instance_within_five_seconds);

async fn unknown_and_invalid_user_ids_are_404(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [unknown.as_str(), "not-a-uuid", "123", "00000000-0000-0000-0000-000000000000", "%20"] {
        let path = format!("/api/v1/users/{id}");
        app.get(&path, &admin).await.expect_error(404, "not_found");
        app.patch(&path, &admin, json!({"name": "X"})).await.expect_error(404, "not_found");
        app.delete(&path, &admin).await.expect_error(404, "not_found");
    }
}
both_backends!(unknown_and_invalid_user_ids_are_404);
