//! `POST /auth/login`, `GET /auth/me`, `POST /auth/password` and login throttling.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, Res, TestApp};
use crate::helpers::{assert_no_password, call_with_headers, login_body, login_res, payload};

async fn store_user_logs_in_and_sees_itself(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;

    // The store is trimmed and lower-cased; the email is too.
    let before = chrono::Utc::now();
    let body = login_body(&app, Some("  Shop-A "), " Admin@Shop-A.test ").await;
    assert_no_password(&body);
    let token = body["token"].as_str().expect("token");
    let user = &body["user"];
    assert_eq!(user["storeId"], "shop-a");
    assert_eq!(user["email"], "admin@shop-a.test");
    assert_eq!(user["name"], "Owner");
    assert_eq!(user["role"], "admin");
    assert!(user["id"].as_str().is_some_and(|id| id.parse::<uuid::Uuid>().is_ok()), "{user}");

    // expiresAt is RFC 3339 and matches the token's exp (the test app's lifetime is 1 hour).
    let expires: chrono::DateTime<chrono::Utc> =
        body["expiresAt"].as_str().expect("expiresAt").parse().expect("RFC 3339 expiresAt");
    let lifetime = (expires - before).num_seconds();
    assert!((3590..=3610).contains(&lifetime), "token lifetime {lifetime}s");
    let claims = payload(token);
    assert_eq!(claims["exp"].as_i64(), Some(expires.timestamp()));
    assert_eq!(claims["storeId"], "shop-a");
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["sub"], user["id"]);

    let me = app.get("/api/v1/auth/me", token).await.expect(200);
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["storeId"], "shop-a");
    assert_eq!(me["email"], "admin@shop-a.test");
    assert_eq!(me["role"], "admin");
    assert_no_password(&me);
}
both_backends!(store_user_logs_in_and_sees_itself);

async fn platform_admin_logs_in_without_a_store(app: TestApp) {
    app.platform_token().await;
    let body = login_body(&app, None, "ROOT@tills.test").await;
    assert_no_password(&body);
    assert!(body["user"]["storeId"].is_null(), "{body}");
    assert_eq!(body["user"]["role"], "platform_admin");
    assert_eq!(body["user"]["email"], "root@tills.test");
    let token = body["token"].as_str().unwrap();
    assert!(payload(token)["storeId"].is_null());

    let me = app.get("/api/v1/auth/me", token).await.expect(200);
    assert!(me["storeId"].is_null());
    assert_eq!(me["role"], "platform_admin");

    // A platform admin's credentials name no store account, and a store account's need a store.
    login_res(&app, Some("anything"), "root@tills.test", PASSWORD).await.expect_error(401, "unauthorized");
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    login_res(&app, None, "admin@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
}
both_backends!(platform_admin_logs_in_without_a_store);

async fn wrong_store_email_or_password_all_give_the_same_401(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    app.create_store(&platform, "shop-b").await;

    let attempts = [
        (Some("no-such-store"), "admin@shop-a.test", PASSWORD),
        (Some("shop-b"), "admin@shop-a.test", PASSWORD), // right password, another store
        (Some("shop-a"), "nobody@shop-a.test", PASSWORD),
        (Some("shop-a"), "admin@shop-a.test", "wrong password!!"),
        (Some("not a store id!"), "admin@shop-a.test", PASSWORD),
        (Some("shop-a"), "not-an-email", PASSWORD),
        (None, "root@tills.test", "wrong password!!"),
        (None, "nobody@tills.test", PASSWORD),
    ];
    let mut bodies = Vec::new();
    for (store, email, password) in attempts {
        let res = login_res(&app, store, email, password).await;
        res.expect_error(401, "unauthorized");
        assert!(res.body["token"].is_null());
        bodies.push(res.body);
    }
    // Same status, same code, same message: nothing tells which part was wrong.
    for b in &bodies {
        assert_eq!(b, &bodies[0], "401 bodies differ");
    }
    // And the right ones still work.
    login_body(&app, Some("shop-a"), "admin@shop-a.test").await;
    login_body(&app, Some("shop-b"), "admin@shop-b.test").await;
}
both_backends!(wrong_store_email_or_password_all_give_the_same_401);

async fn deactivated_user_cannot_log_in(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let (id, _) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;
    app.patch(&format!("/api/v1/users/{id}"), &admin, json!({"active": false})).await.expect(200);

    let res = login_res(&app, Some("shop-a"), "cashier@shop-a.test", PASSWORD).await;
    res.expect_error(401, "unauthorized");
    // The same answer as a wrong password: an inactive account is not revealed.
    let wrong = login_res(&app, Some("shop-a"), "admin@shop-a.test", "wrong password!!").await;
    assert_eq!(res.body, wrong.body);

    app.patch(&format!("/api/v1/users/{id}"), &admin, json!({"active": true})).await.expect(200);
    login_body(&app, Some("shop-a"), "cashier@shop-a.test").await;
}
both_backends!(deactivated_user_cannot_log_in);

async fn five_failures_throttle_the_account(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    app.create_store(&platform, "shop-b").await;
    let admin_a = app.login(Some("shop-a"), "admin@shop-a.test", PASSWORD).await;
    app.user(&admin_a, "shop-a", "clerk@shop-a.test", "cashier").await;

    for i in 0..5 {
        let res = login_res(&app, Some("shop-a"), "admin@shop-a.test", "wrong password!!").await;
        assert_eq!(res.status.as_u16(), 401, "attempt {} should still be a 401: {}", i + 1, res.body);
    }
    // The sixth attempt is refused even with the right password, and says when to retry.
    let res = login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await;
    res.expect_error(429, "too_many_requests");
    assert!(res.body["token"].is_null());
    let retry: u64 = res
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry}");

    // The store and email are normalized before counting.
    login_res(&app, Some("SHOP-A"), "ADMIN@shop-a.test", PASSWORD).await.expect_error(429, "too_many_requests");

    // Other accounts are not affected: another email in the store, the same email in another store.
    login_body(&app, Some("shop-a"), "clerk@shop-a.test").await;
    login_body(&app, Some("shop-b"), "admin@shop-b.test").await;

    // Tokens issued before keep working: throttling is about logging in.
    app.get("/api/v1/store", &admin_a).await.expect(200);
}
both_backends!(five_failures_throttle_the_account);

/// Twenty failed logins into shop-a, each for another email (so no account's own limit is
/// reached), `attempt(i, email)` sending the i-th; each must answer 401.
async fn twenty_failures<F, Fut>(mut attempt: F)
where
    F: FnMut(usize, String) -> Fut,
    Fut: std::future::Future<Output = Res>,
{
    for i in 0..20 {
        let res = attempt(i, format!("guess{i}@shop-a.test")).await;
        assert_eq!(res.status.as_u16(), 401, "attempt {}: {}", i + 1, res.body);
    }
}

async fn twenty_failures_from_one_address_throttle_it(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    twenty_failures(|_, email| {
        let app = &app;
        async move { login_res(app, Some("shop-a"), &email, "wrong password!!").await }
    })
    .await;
    let res = login_res(&app, Some("shop-a"), "admin@shop-a.test", PASSWORD).await;
    res.expect_error(429, "too_many_requests");
    assert!(res.headers.get("retry-after").is_some(), "a Retry-After header");
}
both_backends!(twenty_failures_from_one_address_throttle_it);

/// A login through a proxy: `X-Forwarded-For` as nginx sends it (whatever the client wrote,
/// then the address nginx saw).
async fn login_via(app: &TestApp, client: &str, written_by_client: &str, email: &str, password: &str) -> Res {
    let forwarded = format!("{written_by_client}, {client}");
    let body = json!({"store": "shop-a", "email": email, "password": password});
    call_with_headers(
        &app.client,
        &app.base,
        Method::POST,
        "/api/v1/auth/login",
        None,
        &[("x-forwarded-for", &forwarded)],
        Some(body),
    )
    .await
}

/// Behind a proxy the operator trusts (`TILLS_TRUSTED_PROXIES`), failures count per client, not
/// per proxy: twenty failures from one client lock that client out and nobody else, and the
/// client cannot get round it by writing addresses of its own into the header.
async fn behind_a_trusted_proxy_failures_count_per_client(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    twenty_failures(|i, email| {
        let app = &app;
        async move { login_via(app, "203.0.113.5", &format!("10.9.8.{i}"), &email, "wrong password!!").await }
    })
    .await;
    login_via(&app, "203.0.113.5", "10.9.8.200", "admin@shop-a.test", PASSWORD)
        .await
        .expect_error(429, "too_many_requests");
    // Another client behind the same proxy logs in.
    login_via(&app, "203.0.113.6", "203.0.113.5", "admin@shop-a.test", PASSWORD).await.expect(200);
}
both_backends!(behind_a_trusted_proxy_failures_count_per_client, spawn_behind_proxy);

/// Without trusted proxies, `X-Forwarded-For` is the client's own claim and changes nothing:
/// the connection's address is counted.
async fn without_trusted_proxies_forwarded_addresses_are_ignored(app: TestApp) {
    let platform = app.platform_token().await;
    app.create_store(&platform, "shop-a").await;
    twenty_failures(|i, email| {
        let app = &app;
        async move { login_via(app, &format!("203.0.113.{i}"), "198.51.100.1", &email, "wrong password!!").await }
    })
    .await;
    login_via(&app, "203.0.113.99", "198.51.100.2", "admin@shop-a.test", PASSWORD)
        .await
        .expect_error(429, "too_many_requests");
}
both_backends!(without_trusted_proxies_forwarded_addresses_are_ignored);

async fn login_body_errors(app: TestApp) {
    app.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": 5, "password": PASSWORD})))
        .await
        .expect_error(400, "invalid_input");
    let res = app.raw(Method::POST, "/api/v1/auth/login", None, b"{\"email\": ".to_vec()).await;
    res.expect_error(400, "malformed_json");
}
both_backends!(login_body_errors);

async fn changing_the_password(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let (_, cashier) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;

    // Wrong current password.
    let res = app
        .post(
            "/api/v1/auth/password",
            &cashier,
            json!({"currentPassword": "not it at all", "newPassword": "a brand new secret"}),
        )
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "currentPassword");

    // Too short (under 10 characters).
    let res = app
        .post("/api/v1/auth/password", &cashier, json!({"currentPassword": PASSWORD, "newPassword": "short9chr"}))
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "newPassword");

    // Neither changed anything.
    login_body(&app, Some("shop-a"), "cashier@shop-a.test").await;

    // No token.
    app.call(
        Method::POST,
        "/api/v1/auth/password",
        None,
        Some(json!({"currentPassword": PASSWORD, "newPassword": "a brand new secret"})),
    )
    .await
    .expect_error(401, "unauthorized");

    let res = app
        .post(
            "/api/v1/auth/password",
            &cashier,
            json!({"currentPassword": PASSWORD, "newPassword": "a brand new secret"}),
        )
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert!(res.body.is_null(), "204 has no body");

    login_res(&app, Some("shop-a"), "cashier@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
    let body = login_res(&app, Some("shop-a"), "cashier@shop-a.test", "a brand new secret").await.expect(200);
    assert_eq!(body["user"]["role"], "cashier");
    // Exactly 10 characters is enough.
    let token = body["token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/password",
        token,
        json!({"currentPassword": "a brand new secret", "newPassword": "0123456789"}),
    )
    .await
    .expect(204);
    login_res(&app, Some("shop-a"), "cashier@shop-a.test", "0123456789").await.expect(200);
}
both_backends!(changing_the_password);

async fn platform_admin_changes_its_password(app: TestApp) {
    let platform = app.platform_token().await;
    app.post(
        "/api/v1/auth/password",
        &platform,
        json!({"currentPassword": "wrong one!!", "newPassword": "root password 2"}),
    )
    .await
    .expect_error(400, "invalid_input");
    app.post(
        "/api/v1/auth/password",
        &platform,
        json!({"currentPassword": PASSWORD, "newPassword": "root password 2"}),
    )
    .await
    .expect(204);
    login_res(&app, None, "root@tills.test", PASSWORD).await.expect_error(401, "unauthorized");
    login_res(&app, None, "root@tills.test", "root password 2").await.expect(200);
}
both_backends!(platform_admin_changes_its_password);
