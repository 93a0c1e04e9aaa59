//! The foundation's path end to end: a platform admin creates a store, its owner logs in.

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

async fn store_owner_signs_in_and_reads_the_store(app: TestApp) {
    let platform = app.platform_token().await;
    let owner = app.create_store(&platform, "Downtown-01").await;
    let store = app.get("/api/v1/store", &owner).await.expect(200);
    assert_eq!(store["id"], "downtown-01");
    assert_eq!(store["currencyDecimals"], 2);
    assert_eq!(store["invoicePrefix"], "INV-");
    let me = app.get("/api/v1/auth/me", &owner).await.expect(200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["storeId"], "downtown-01");
    let res = app
        .post(
            "/api/v1/users",
            &owner,
            json!({"email": "c@x.test", "name": "C", "role": "cashier", "password": "short"}),
        )
        .await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "password");
}
both_backends!(store_owner_signs_in_and_reads_the_store);
