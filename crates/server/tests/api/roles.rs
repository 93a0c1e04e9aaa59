//! Roles on every route of this issue: `403 forbidden`, and nothing changes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Res, TestApp};

#[track_caller]
fn assert_403(res: &Res, what: &str) {
    assert_eq!(res.status.as_u16(), 403, "{what}: expected 403, got {} {}", res.status, res.body);
    assert_eq!(res.code(), "forbidden", "{what}: {}", res.body);
}

/// The admin-only store routes, with a user id to aim at.
fn admin_routes(user_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"email": "new@shop-a.test", "name": "New", "role": "admin", "password": "0123456789"})),
        ),
        (Method::GET, format!("/api/v1/users/{user_id}"), None),
        (Method::PATCH, format!("/api/v1/users/{user_id}"), Some(json!({"role": "admin"}))),
        (Method::DELETE, format!("/api/v1/users/{user_id}"), None),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::PATCH, "/api/v1/store".into(), Some(json!({"name": "Renamed"}))),
    ]
}

/// The platform routes.
fn platform_routes() -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/admin/stores".into(), None),
        (
            Method::POST,
            "/api/v1/admin/stores".into(),
            Some(json!({"id": "intruder", "name": "I", "currency": "USD",
                        "owner": {"email": "o@i.test", "name": "O", "password": "0123456789"}})),
        ),
        (Method::PATCH, "/api/v1/admin/stores/shop-a".into(), Some(json!({"status": "suspended"}))),
        (Method::PATCH, "/api/v1/admin/stores/shop-b".into(), Some(json!({"name": "Taken over"}))),
        (Method::POST, "/api/v1/admin/stores/shop-a/token".into(), None),
        (Method::POST, "/api/v1/admin/stores/shop-b/token".into(), None),
    ]
}

async fn cashier_and_manager_cannot_administer_the_store(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let (cashier_id, cashier) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;
    let (manager_id, manager) = app.user(&admin, "shop-a", "manager@shop-a.test", "manager").await;

    for (who, token, target) in [("cashier", &cashier, &manager_id), ("manager", &manager, &cashier_id)] {
        for (method, path, body) in admin_routes(target) {
            let res = app.call(method.clone(), &path, Some(token), body).await;
            assert_403(&res, &format!("{who} {method} {path}"));
        }
        // Their own account is readable, and so is the store.
        let me = app.get("/api/v1/auth/me", token).await.expect(200);
        assert_eq!(me["role"], who);
        assert_eq!(app.get("/api/v1/store", token).await.expect(200)["id"], "shop-a");
    }

    // Nothing they tried happened.
    let users = app.get("/api/v1/users", &admin).await.expect(200);
    let emails: Vec<&str> = users["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 3, "{emails:?}");
    assert!(!emails.contains(&"new@shop-a.test"));
    let manager_now = app.get(&format!("/api/v1/users/{manager_id}"), &admin).await.expect(200);
    assert_eq!(manager_now["role"], "manager");
    let cashier_now = app.get(&format!("/api/v1/users/{cashier_id}"), &admin).await.expect(200);
    assert_eq!(cashier_now["role"], "cashier");
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200)["name"], "Store shop-a");
    // Their tokens still work: the role did not change.
    app.get("/api/v1/auth/me", &cashier).await.expect(200);
    app.get("/api/v1/auth/me", &manager).await.expect(200);
}
both_backends!(cashier_and_manager_cannot_administer_the_store);

async fn store_users_cannot_use_platform_routes(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    app.create_store(&platform, "shop-b").await;
    let (_, cashier) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;
    let (_, manager) = app.user(&admin, "shop-a", "manager@shop-a.test", "manager").await;

    for (who, token) in [("admin", &admin), ("manager", &manager), ("cashier", &cashier)] {
        for (method, path, body) in platform_routes() {
            let res = app.call(method.clone(), &path, Some(token), body).await;
            assert_403(&res, &format!("store {who} {method} {path}"));
        }
    }
    // Nothing happened: no new store, both still active and named as before.
    let stores = app.get("/api/v1/admin/stores", &platform).await.expect(200);
    let items = stores["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{stores}");
    for s in items {
        assert_eq!(s["status"], "active");
        assert_eq!(s["name"], format!("Store {}", s["id"].as_str().unwrap()));
    }
    // And no support token was written to either store's audit log.
    let audit = app.get("/api/v1/audit?action=support.token", &admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 0, "{audit}");
}
both_backends!(store_users_cannot_use_platform_routes);

async fn platform_admin_needs_a_support_token_for_store_routes(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_str().unwrap().to_owned();

    let mut routes = admin_routes(&owner_id);
    routes.push((Method::GET, "/api/v1/store".into(), None));
    for (method, path, body) in routes {
        let res = app.call(method.clone(), &path, Some(&platform), body).await;
        assert_403(&res, &format!("platform admin {method} {path}"));
    }
    // The owner is untouched.
    let owner = app.get(&format!("/api/v1/users/{owner_id}"), &admin).await.expect(200);
    assert_eq!(owner["role"], "admin");
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200)["name"], "Store shop-a");

    // With a support token it acts as the store's admin.
    let support = app.post("/api/v1/admin/stores/shop-a/token", &platform, json!({})).await.expect(200);
    let support = support["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/store", support).await.expect(200)["id"], "shop-a");
    app.get("/api/v1/users", support).await.expect(200);
    app.get("/api/v1/audit", support).await.expect(200);
    // A support token is a store token: the platform routes refuse it.
    let res = app.get("/api/v1/admin/stores", support).await;
    assert_403(&res, "support token on /admin/stores");
}
both_backends!(platform_admin_needs_a_support_token_for_store_routes);
