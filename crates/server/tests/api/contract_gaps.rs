//! Tests that assert API.md and fail against the server as it is now: each names the
//! behaviour the contract asks for. They are kept apart so the rest of the suite stays green
//! while the server catches up.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::cross_store::{b_snapshot, two_stores};
use crate::helpers::send_big_body;
use crate::helpers::{PASSWORD, TestApp};
use crate::outage::{Mode, outage};

/// API.md: `400 invalid_input` comes with `field`; a required field left out is named too.
async fn missing_fields_are_named(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let good = json!({"email": "u@shop-a.test", "name": "U", "role": "cashier", "password": PASSWORD});
    for field in ["email", "name", "role", "password"] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        let res = app.post("/api/v1/users", &admin, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "missing {field}: {}", res.body);
    }
}
both_backends!(missing_fields_are_named);

/// API.md: bodies over 1 MiB → `413 payload_too_large` (a JSON error body), on every route.
async fn store_patch_over_one_mebibyte_is_413_json(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let res = send_big_body(&app, Method::PATCH, "/api/v1/store", Some(&admin), 1024 * 1024 + 1).await;
    res.expect_error(413, "payload_too_large");
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200)["name"], "Store shop-a");
}
both_backends!(store_patch_over_one_mebibyte_is_413_json);

/// API.md: a body that is not valid JSON → `400 malformed_json`, even when an unknown key, a
/// wrongly typed value or a missing field comes before the syntax error.
async fn broken_json_is_malformed_even_after_an_unexpected_key(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_str().unwrap().to_owned();
    let user_path = format!("/api/v1/users/{owner_id}");
    let cases: [(Method, &str, &[u8]); 6] = [
        (Method::PATCH, "/api/v1/store", b"{\"email\": "),
        (Method::PATCH, "/api/v1/store", b"{\"a\": 1,}"),
        (Method::PATCH, user_path.as_str(), b"{\"email\": "),
        (Method::PATCH, user_path.as_str(), b"{\"a\": 1} trailing"),
        (Method::POST, "/api/v1/users", b"{\"email\": 5, \"name\""),
        (Method::POST, "/api/v1/users", b"{\"name\": \"x\"} trailing"),
    ];
    for (method, path, body) in cases {
        let res = app.raw(method.clone(), path, Some(&admin), body.to_vec()).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (400, "malformed_json"),
            "{method} {path} {:?}: {}",
            String::from_utf8_lossy(body),
            res.body
        );
    }
}
both_backends!(broken_json_is_malformed_even_after_an_unexpected_key);

/// API.md: a store-scoped request carrying `storeId` in its top-level body "is served as if it
/// did not". Patching a user with one changes the caller's store's user, and never B's.
async fn store_id_in_a_user_patch_body_is_ignored(app: TestApp) {
    let t = two_stores(&app).await;
    let before_b = b_snapshot(&app, &t).await;
    for key in ["storeId", "store_id"] {
        let res = app
            .patch(&format!("/api/v1/users/{}", t.a_cashier_id), &t.a_admin, json!({key: "store-b", "name": "Renamed"}))
            .await;
        let u = res.expect(200);
        assert_eq!(u["storeId"], "store-a");
        assert_eq!(u["name"], "Renamed");
        let res = app
            .patch(&format!("/api/v1/users/{}", t.b_cashier_id), &t.a_admin, json!({key: "store-b", "name": "Renamed"}))
            .await;
        res.expect_error(404, "not_found");
    }
    assert_eq!(b_snapshot(&app, &t).await, before_b);
}
both_backends!(store_id_in_a_user_patch_body_is_ignored);

/// API.md: `503 unavailable` when the database is down. Here its address still accepts TCP
/// connections but hangs up at once (a load balancer or proxy in front of a dead PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_hanging_up_gives_503_and_the_server_recovers() {
    outage(Mode::Hangup).await;
}
