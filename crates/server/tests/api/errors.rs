//! Error bodies as API.md shows them: `{"error": {"code", "message", "field"?}}`.

use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, Res, TestApp};
use crate::helpers::{send_big_body, to_res};

#[track_caller]
fn assert_error_shape(res: &Res) {
    let err = res.body["error"].as_object().unwrap_or_else(|| panic!("an error object: {} {}", res.status, res.body));
    assert!(err["code"].as_str().is_some_and(|c| !c.is_empty()), "{}", res.body);
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", res.body);
    let ct = res.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/json"), "content-type {ct}");
}

async fn malformed_json_is_400(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_str().unwrap().to_owned();
    let user_path = format!("/api/v1/users/{owner_id}");
    // Truncated, unterminated, trailing comma, not JSON at all, empty, not UTF-8, single
    // quotes. The keys are ones every route knows (contract_gaps.rs covers syntax errors that
    // come after an unknown key or a missing field).
    let bodies: [&[u8]; 9] = [
        b"{",
        b"{\"name\": ",
        b"{\"name\": \"x\"",
        b"{\"name\": \"x",
        b"not json",
        b"{\"name\": \"x\",}",
        b"",
        b"\xff\xfe",
        b"{\"name\": 'x'}",
    ];
    for body in bodies {
        for (method, path, token) in [
            (Method::POST, "/api/v1/users", Some(admin.as_str())),
            (Method::PATCH, "/api/v1/store", Some(admin.as_str())),
            (Method::PATCH, user_path.as_str(), Some(admin.as_str())),
            (Method::POST, "/api/v1/auth/login", None),
            (Method::POST, "/api/v1/auth/password", Some(admin.as_str())),
            (Method::POST, "/api/v1/admin/stores", Some(platform.as_str())),
        ] {
            let res = app.raw(method.clone(), path, token, body.to_vec()).await;
            assert_eq!(
                res.code(),
                "malformed_json",
                "{method} {path} {:?}: {}",
                String::from_utf8_lossy(body),
                res.body
            );
            res.expect_error(400, "malformed_json");
            assert_error_shape(&res);
        }
    }
    // A complete object followed by garbage.
    let res = app.raw(Method::PATCH, "/api/v1/store", Some(&admin), b"{\"name\": \"x\"} trailing".to_vec()).await;
    res.expect_error(400, "malformed_json");
    // Nothing was created or changed.
    assert_eq!(app.get("/api/v1/users", &admin).await.expect(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200)["name"], "Store shop-a");
}
both_backends!(malformed_json_is_400);

async fn wrong_types_are_invalid_input_with_the_field(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let good = json!({"email": "u@shop-a.test", "name": "U", "role": "cashier", "password": PASSWORD});
    for (field, value) in [
        ("email", json!(5)),
        ("name", json!(["U"])),
        ("role", json!({"name": "cashier"})),
        ("password", json!(1234567890)),
        ("email", json!(null)),
    ] {
        let mut body = good.clone();
        body[field] = value.clone();
        let res = app.post("/api/v1/users", &admin, body).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{field} = {value}: {}", res.body);
        assert_error_shape(&res);
    }
    for (field, value) in [("pricesIncludeTax", json!("true")), ("name", json!(1)), ("scaleBarcodes", json!("21"))] {
        let res = app.patch("/api/v1/store", &admin, json!({field: value})).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{}", res.body);
    }
    // Nested fields are named with their path.
    let res = app
        .patch(
            "/api/v1/store",
            &admin,
            json!({"scaleBarcodes": [{"prefix": "21", "itemDigits": "five", "kind": "weight", "decimals": 3}]}),
        )
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "scaleBarcodes[0].itemDigits", "{}", res.body);
    let res = app
        .post(
            "/api/v1/admin/stores",
            &platform,
            json!({"id": "x", "name": "X", "currency": "USD", "owner": {"email": ["o@x.test"], "name": "O", "password": PASSWORD}}),
        )
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "owner.email", "{}", res.body);
    // A body that is JSON but not an object.
    for body in [json!([]), json!("text"), json!(42)] {
        let res = app.post("/api/v1/users", &admin, body).await;
        res.expect_error(400, "invalid_input");
    }
    // Query parameters are named too.
    let res = app.get("/api/v1/users?limit=lots", &admin).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "limit");
    assert_eq!(app.get("/api/v1/users", &admin).await.expect(200)["items"].as_array().unwrap().len(), 1);
}
both_backends!(wrong_types_are_invalid_input_with_the_field);

async fn bodies_over_one_mebibyte_are_413(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_str().unwrap().to_owned();
    let user_path = format!("/api/v1/users/{owner_id}");
    for (method, path, token) in [
        (Method::POST, "/api/v1/users", Some(admin.as_str())),
        (Method::POST, "/api/v1/auth/login", None),
        (Method::POST, "/api/v1/admin/stores", Some(platform.as_str())),
        (Method::PATCH, user_path.as_str(), Some(admin.as_str())),
        (Method::POST, "/api/v1/auth/password", Some(admin.as_str())),
    ] {
        for len in [1024 * 1024 + 1, 2 * 1024 * 1024] {
            let res = send_big_body(&app, method.clone(), path, token, len).await;
            res.expect_error(413, "payload_too_large");
            assert_error_shape(&res);
        }
        // Just under the limit is read (and then judged on its content).
        let res = send_big_body(&app, method.clone(), path, token, 1024 * 1024 - 16).await;
        assert_ne!(res.status.as_u16(), 413, "{method} {path} under 1 MiB");
    }
    // The owner's name is not a megabyte long.
    assert_eq!(app.get(&user_path, &admin).await.expect(200)["name"], "Owner");
}
both_backends!(bodies_over_one_mebibyte_are_413);

async fn unknown_routes_are_json_404(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    for path in ["/api/v1/nope", "/api/v2/store", "/nope", "/api/v1/users/x/y", "/api/v1/", "/api/v1/store/extra"] {
        for token in [None, Some(admin.as_str())] {
            let res = app.call(Method::GET, path, token, None).await;
            res.expect_error(404, "not_found");
            assert_error_shape(&res);
        }
    }
}
both_backends!(unknown_routes_are_json_404);

async fn unknown_or_invalid_ids_in_the_path_are_404(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let unknown = uuid::Uuid::now_v7();
    for id in
        [unknown.to_string(), "not-a-uuid".into(), "1".into(), format!("{unknown}0"), unknown.simple().to_string()]
    {
        let path = format!("/api/v1/users/{id}");
        let res = app.get(&path, &admin).await;
        res.expect_error(404, "not_found");
        assert_error_shape(&res);
    }
    for id in ["no-such-store", "Not A Store!"] {
        let res = app.patch(&format!("/api/v1/admin/stores/{id}"), &platform, json!({"name": "X"})).await;
        res.expect_error(404, "not_found");
    }
}
both_backends!(unknown_or_invalid_ids_in_the_path_are_404);

/// A request that is not JSON at all.
async fn a_form_body_is_not_json(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let resp = app
        .client
        .post(format!("{}/api/v1/users", app.base))
        .bearer_auth(&admin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=u%40shop-a.test&name=U&role=admin&password=0123456789")
        .send()
        .await
        .unwrap();
    let res = to_res(resp).await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.body);
    assert_error_shape(&res);
    assert_eq!(app.get("/api/v1/users", &admin).await.expect(200)["items"].as_array().unwrap().len(), 1);
}
both_backends!(a_form_body_is_not_json);
