//! `GET|PATCH /api/v1/store`: the caller's store and its settings.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

const FIELDS: [&str; 12] = [
    "id",
    "name",
    "currency",
    "currencyDecimals",
    "timezone",
    "pricesIncludeTax",
    "invoicePrefix",
    "address",
    "taxId",
    "receiptFooter",
    "scaleBarcodes",
    "status",
];

async fn reading_the_store_shows_every_setting(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let (_, cashier) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;
    for token in [&admin, &cashier] {
        let store = app.get("/api/v1/store", token).await.expect(200);
        let obj = store.as_object().expect("an object");
        for f in FIELDS {
            assert!(obj.contains_key(f), "GET /store lacks {f}: {store}");
        }
        assert_eq!(store["id"], "shop-a");
        assert_eq!(store["name"], "Store shop-a");
        assert_eq!(store["currency"], "USD");
        assert_eq!(store["currencyDecimals"], 2);
        assert_eq!(store["timezone"], "UTC");
        assert_eq!(store["pricesIncludeTax"], false);
        assert_eq!(store["invoicePrefix"], "INV-");
        assert!(store["address"].is_null());
        assert!(store["taxId"].is_null());
        assert!(store["receiptFooter"].is_null());
        assert_eq!(store["scaleBarcodes"], json!([]));
        assert_eq!(store["status"], "active");
    }
}
both_backends!(reading_the_store_shows_every_setting);

async fn admin_changes_settings(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let (_, manager) = app.user(&admin, "shop-a", "manager@shop-a.test", "manager").await;
    let formats = json!([
        {"prefix": "21", "itemDigits": 5, "kind": "weight", "decimals": 3},
        {"prefix": "22", "itemDigits": 5, "kind": "price", "decimals": 2},
        {"prefix": "029", "itemDigits": 4, "kind": "price", "decimals": 0}
    ]);
    let res = app
        .patch(
            "/api/v1/store",
            &admin,
            json!({
                "name": "Corner Shop",
                "timezone": "Europe/Berlin",
                "pricesIncludeTax": true,
                "invoicePrefix": "CS-2026/",
                "address": "Hauptstr. 1\n10115 Berlin",
                "taxId": "DE123456789",
                "receiptFooter": "Danke für Ihren Einkauf!",
                "scaleBarcodes": formats
            }),
        )
        .await;
    let patched = res.expect(200);
    let expect = |s: &Value| {
        assert_eq!(s["name"], "Corner Shop");
        assert_eq!(s["timezone"], "Europe/Berlin");
        assert_eq!(s["pricesIncludeTax"], true);
        assert_eq!(s["invoicePrefix"], "CS-2026/");
        assert_eq!(s["address"], "Hauptstr. 1\n10115 Berlin");
        assert_eq!(s["taxId"], "DE123456789");
        assert_eq!(s["receiptFooter"], "Danke für Ihren Einkauf!");
        assert_eq!(s["scaleBarcodes"], formats);
        // What may not change did not.
        assert_eq!(s["id"], "shop-a");
        assert_eq!(s["currency"], "USD");
        assert_eq!(s["currencyDecimals"], 2);
        assert_eq!(s["status"], "active");
    };
    expect(&patched);
    // Everyone in the store reads the new settings.
    expect(&app.get("/api/v1/store", &admin).await.expect(200));
    expect(&app.get("/api/v1/store", &manager).await.expect(200));

    // A partial patch leaves the rest alone; null clears an optional text.
    let s = app.patch("/api/v1/store", &admin, json!({"pricesIncludeTax": false, "address": null})).await.expect(200);
    assert_eq!(s["pricesIncludeTax"], false);
    assert!(s["address"].is_null(), "{s}");
    assert_eq!(s["taxId"], "DE123456789");
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(s["scaleBarcodes"], formats);
    let s = app.patch("/api/v1/store", &admin, json!({"scaleBarcodes": []})).await.expect(200);
    assert_eq!(s["scaleBarcodes"], json!([]));
    let s = app.patch("/api/v1/store", &admin, json!({})).await.expect(200);
    assert_eq!(s["name"], "Corner Shop");
    assert_eq!(app.get("/api/v1/store", &manager).await.expect(200)["scaleBarcodes"], json!([]));
}
both_backends!(admin_changes_settings);

async fn invalid_settings_name_the_field(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let before = app.get("/api/v1/store", &admin).await.expect(200);

    let fmt = |prefix: &str, item: u8, kind: &str, decimals: u8| json!({"prefix": prefix, "itemDigits": item, "kind": kind, "decimals": decimals});
    let bad_formats = vec![
        ("letters in the prefix", json!([fmt("2a", 5, "weight", 3)])),
        ("empty prefix", json!([fmt("", 5, "weight", 3)])),
        ("no room for a value", json!([fmt("21", 10, "weight", 3)])),
        ("no item digits", json!([fmt("21", 0, "weight", 3)])),
        ("unknown kind", json!([fmt("21", 5, "volume", 3)])),
        ("weight with 4 decimals", json!([fmt("21", 5, "weight", 4)])),
        ("price finer than cents", json!([fmt("22", 5, "price", 3)])),
        ("overlapping prefixes", json!([fmt("2", 5, "weight", 3), fmt("21", 5, "price", 2)])),
        ("missing itemDigits", json!([{"prefix": "21", "kind": "weight", "decimals": 3}])),
        ("not a list", json!({"prefix": "21"})),
        ("negative digits", json!([{"prefix": "21", "itemDigits": -1, "kind": "weight", "decimals": 3}])),
    ];
    for (what, formats) in bad_formats {
        let res = app.patch("/api/v1/store", &admin, json!({"scaleBarcodes": formats})).await;
        res.expect_error(400, "invalid_input");
        assert!(res.field().starts_with("scaleBarcodes"), "{what}: field {:?} in {}", res.field(), res.body);
    }
    for (field, value) in [
        ("timezone", json!("Mars/Olympus")),
        ("timezone", json!("")),
        ("invoicePrefix", json!("INV 2026")),
        ("invoicePrefix", json!("A-very-long-invoice-prefix-indeed")),
        ("pricesIncludeTax", json!("yes")),
        ("name", json!("")),
        ("address", json!("x".repeat(1001))),
        ("taxId", json!(12345)),
    ] {
        let res = app.patch("/api/v1/store", &admin, json!({field: value})).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{field} = {value}: {}", res.body);
    }
    // A bad field in a patch with good ones changes nothing at all.
    let res = app.patch("/api/v1/store", &admin, json!({"name": "Renamed", "timezone": "Nowhere/Land"})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200), before);
}
both_backends!(invalid_settings_name_the_field);

async fn id_currency_and_status_cannot_be_patched(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let before = app.get("/api/v1/store", &admin).await.expect(200);
    for (field, value) in [
        ("currency", json!("EUR")),
        ("id", json!("shop-z")),
        ("status", json!("suspended")),
        ("status", json!("active")),
        ("currencyDecimals", json!(3)),
    ] {
        let res = app.patch("/api/v1/store", &admin, json!({field: value, "name": "Renamed"})).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{}", res.body);
    }
    assert_eq!(app.get("/api/v1/store", &admin).await.expect(200), before);
    // The token still works: the store was neither renamed nor suspended.
    app.get("/api/v1/auth/me", &admin).await.expect(200);
}
both_backends!(id_currency_and_status_cannot_be_patched);

async fn three_decimal_currency_allows_finer_price_labels(app: TestApp) {
    let platform = app.platform_token().await;
    app.post(
        "/api/v1/admin/stores",
        &platform,
        json!({"id": "kw", "name": "Kuwait", "currency": "KWD",
               "owner": {"email": "admin@kw.test", "name": "O", "password": crate::helpers::PASSWORD}}),
    )
    .await
    .expect(201);
    let admin = app.login(Some("kw"), "admin@kw.test", crate::helpers::PASSWORD).await;
    let formats = json!([{"prefix": "22", "itemDigits": 5, "kind": "price", "decimals": 3}]);
    let s = app.patch("/api/v1/store", &admin, json!({"scaleBarcodes": formats})).await.expect(200);
    assert_eq!(s["scaleBarcodes"], formats);
    assert_eq!(s["currencyDecimals"], 3);
}
both_backends!(three_decimal_currency_allows_finer_price_labels);
