//! Catalog and scan over HTTP, on both backends: CRUD, barcodes, packs, scale labels, stock,
//! lists, roles, and what another store can never see.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::{all_backends, both_backends};

/// Two stores; returns (app, A's admin token, A's cashier token, B's admin token).
async fn two_stores(app: &TestApp) -> (String, String, String) {
    let platform = app.platform_token().await;
    let a = app.create_store(&platform, "cat-a").await;
    let b = app.create_store(&platform, "cat-b").await;
    let (_, cashier) = app.user(&a, "cat-a", "till@a.test", "cashier").await;
    (a, cashier, b)
}

async fn make(app: &TestApp, token: &str, kind: &str, name: &str) -> String {
    app.post(&format!("/api/v1/{kind}"), token, json!({"name": name})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn named_resources(app: TestApp) {
    let (a, cashier, b) = two_stores(&app).await;
    for kind in ["categories", "brands", "units"] {
        let created = app.post(&format!("/api/v1/{kind}"), &a, json!({"name": "  Äpfel "})).await.expect(201);
        assert_eq!(created["name"], "Äpfel", "trimmed");
        app.post(&format!("/api/v1/{kind}"), &a, json!({"name": "äpfel"})).await.expect_error(409, "name_taken");
        app.post(&format!("/api/v1/{kind}"), &b, json!({"name": "äpfel"})).await.expect(201);
        app.post(&format!("/api/v1/{kind}"), &a, json!({"name": ""})).await.expect_error(400, "invalid_input");
        app.post(&format!("/api/v1/{kind}"), &cashier, json!({"name": "x"})).await.expect_error(403, "forbidden");
        let path = format!("/api/v1/{kind}/{}", id(&created));
        assert_eq!(app.get(&path, &cashier).await.expect(200)["name"], "Äpfel", "cashiers read the catalog");
        app.get(&path, &b).await.expect_error(404, "not_found");
        app.patch(&path, &b, json!({"name": "stolen"})).await.expect_error(404, "not_found");
        app.delete(&path, &b).await.expect_error(404, "not_found");
        assert_eq!(app.patch(&path, &a, json!({"name": "Birnen"})).await.expect(200)["name"], "Birnen");
        let listed = app.get(&format!("/api/v1/{kind}"), &a).await.expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        app.delete(&path, &a).await.expect(204);
        app.get(&path, &a).await.expect_error(404, "not_found");
    }
    // Categories nest, without cycles, within the store.
    let parent = make(&app, &a, "categories", "Drinks").await;
    let child = app.post("/api/v1/categories", &a, json!({"name": "Juice", "parentId": parent})).await.expect(201);
    assert_eq!(child["parentId"], json!(parent));
    app.patch(&format!("/api/v1/categories/{parent}"), &a, json!({"parentId": id(&child)}))
        .await
        .expect_error(400, "invalid_input");
    let foreign = make(&app, &b, "categories", "Foreign").await;
    let res = app.post("/api/v1/categories", &a, json!({"name": "X", "parentId": foreign})).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "parentId");
    app.delete(&format!("/api/v1/categories/{parent}"), &a).await.expect_error(409, "in_use");
}
both_backends!(named_resources);

async fn products_barcodes_and_scan(app: TestApp) {
    let (a, cashier, b) = two_stores(&app).await;
    let cat = make(&app, &a, "categories", "Drinks").await;
    let brand = make(&app, &a, "brands", "Fizzco").await;
    let case = make(&app, &a, "units", "Case").await;
    let six = make(&app, &a, "units", "6-pack").await;
    let body = json!({
        "name": "Cola 330ml", "barcode": "5449000000996", "sku": "COLA-330", "price": 150, "cost": 90,
        "taxRate": 1900, "categoryId": cat, "brandId": brand,
        "units": [{"unitId": case, "barcode": "5449000000997", "factor": 24, "price": 3200},
                  {"unitId": six, "barcode": "5449000000998", "factor": 6}],
        "alternateBarcodes": ["05449000000996"], "stock": 120, "showInQuickProducts": true
    });
    let cola = app.post("/api/v1/products", &a, body.clone()).await.expect(201);
    assert_eq!(cola["storeId"], "cat-a");
    assert_eq!(cola["stock"], 120);
    assert_eq!(cola["units"][1]["price"], 900, "a pack without a price costs price × factor");
    let cola_id = id(&cola);

    // Scans: own, alternate and pack barcodes.
    let s = app.get("/api/v1/products/barcode/5449000000996", &cashier).await.expect(200);
    assert_eq!(s["product"]["id"], json!(cola_id));
    assert_eq!(s["unit"], Value::Null);
    assert_eq!(s["embedded"], Value::Null);
    let s = app.get("/api/v1/products/barcode/05449000000996", &cashier).await.expect(200);
    assert_eq!(s["product"]["id"], json!(cola_id));
    let s = app.get("/api/v1/products/barcode/5449000000997", &cashier).await.expect(200);
    assert_eq!(s["unit"]["factor"], 24);
    assert_eq!(s["unit"]["price"], 3200);
    app.get("/api/v1/products/barcode/0000", &cashier).await.expect_error(404, "not_found");

    // One barcode, one product per store; another store may use it.
    for code_field in [json!({"barcode": "5449000000997"}), json!({"alternateBarcodes": ["5449000000996"]})] {
        let mut other = json!({"name": "Other", "price": 1});
        other.as_object_mut().unwrap().extend(code_field.as_object().unwrap().clone());
        app.post("/api/v1/products", &a, other).await.expect_error(409, "barcode_taken");
    }
    app.post(
        "/api/v1/products",
        &a,
        json!({"name": "Dup", "price": 1, "barcode": "111", "alternateBarcodes": ["111"]}),
    )
    .await
    .expect_error(409, "barcode_taken");
    app.post("/api/v1/products", &b, json!({"name": "B cola", "price": 99, "barcode": "5449000000996"}))
        .await
        .expect(201);
    // Store B cannot learn that A's barcode exists, nor see A's product.
    let sb = app.get("/api/v1/products/barcode/5449000000997", &b).await;
    sb.expect_error(404, "not_found");
    app.get(&format!("/api/v1/products/{cola_id}"), &b).await.expect_error(404, "not_found");
    app.patch(&format!("/api/v1/products/{cola_id}"), &b, json!({"price": 1})).await.expect_error(404, "not_found");
    app.delete(&format!("/api/v1/products/{cola_id}"), &b).await.expect_error(404, "not_found");
    let b_scan = app.get("/api/v1/products/barcode/5449000000996", &b).await.expect(200);
    assert_eq!(b_scan["product"]["name"], "B cola");

    // Validation names its field.
    for (bad, field) in [
        (json!({"name": "x", "price": -1}), "price"),
        (json!({"name": "x", "price": 1.5}), "price"),
        (json!({"name": "x", "price": "1"}), "price"),
        (json!({"name": "", "price": 1}), "name"),
        (json!({"price": 1}), "name"),
        (json!({"name": "x"}), "price"),
        (json!({"name": "x", "price": 1, "taxRate": 10001}), "taxRate"),
        (json!({"name": "x", "price": 1, "barcode": "has space"}), "barcode"),
        (json!({"name": "x", "price": 1, "stock": 1.2345}), "stock"),
        (json!({"name": "x", "price": 1, "units": [{"unitId": case, "factor": 0}]}), "units[0].factor"),
        (json!({"name": "x", "price": 1, "units": [{"unitId": case, "factor": 1.5}]}), "units[0].factor"),
        (json!({"name": "x", "price": 1, "status": "deleted"}), "status"),
        (json!({"name": "x", "price": 1, "categoryId": "nope"}), "categoryId"),
    ] {
        let res = app.post("/api/v1/products", &a, bad.clone()).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{bad}");
    }
    // Another store's category, brand or unit is not a reference this store can make.
    let b_cat = make(&app, &b, "categories", "B stuff").await;
    let b_unit = make(&app, &b, "units", "B unit").await;
    for (bad, field) in [
        (json!({"name": "x", "price": 1, "categoryId": b_cat}), "categoryId"),
        (json!({"name": "x", "price": 1, "unitId": b_unit}), "unitId"),
        (json!({"name": "x", "price": 1, "units": [{"unitId": b_unit, "factor": 2}]}), "units[0].unitId"),
    ] {
        let res = app.post("/api/v1/products", &a, bad).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field);
    }

    // Roles: cashiers read, managers write.
    app.post("/api/v1/products", &cashier, json!({"name": "x", "price": 1})).await.expect_error(403, "forbidden");
    app.get(&format!("/api/v1/products/{cola_id}"), &cashier).await.expect(200);

    // Changing a barcode frees the old one; a pack change shows in the next scan.
    let patched = app
        .patch(
            &format!("/api/v1/products/{cola_id}"),
            &a,
            json!({"barcode": "5449000000999", "price": 160, "units": [{"unitId": case, "barcode": "5449000000997", "factor": 24, "price": 3300}]}),
        )
        .await
        .expect(200);
    assert_eq!(patched["price"], 160);
    assert_eq!(patched["alternateBarcodes"], json!(["05449000000996"]), "PATCH keeps what it does not name");
    app.get("/api/v1/products/barcode/5449000000996", &cashier).await.expect_error(404, "not_found");
    app.get("/api/v1/products/barcode/5449000000998", &cashier).await.expect_error(404, "not_found");
    assert_eq!(app.get("/api/v1/products/barcode/5449000000997", &cashier).await.expect(200)["unit"]["price"], 3300);
    app.post("/api/v1/products", &a, json!({"name": "Reuse", "price": 5, "barcode": "5449000000996"}))
        .await
        .expect(201);

    // Inactive products scan with their status; deleted ones are gone and free their barcodes.
    app.patch(&format!("/api/v1/products/{cola_id}"), &a, json!({"status": "inactive"})).await.expect(200);
    assert_eq!(
        app.get("/api/v1/products/barcode/5449000000999", &cashier).await.expect(200)["product"]["status"],
        "inactive"
    );
    app.delete(&format!("/api/v1/products/{cola_id}"), &a).await.expect(204);
    app.get(&format!("/api/v1/products/{cola_id}"), &a).await.expect_error(404, "not_found");
    app.get("/api/v1/products/barcode/5449000000999", &cashier).await.expect_error(404, "not_found");
    app.delete(&format!("/api/v1/products/{cola_id}"), &a).await.expect_error(404, "not_found");
    app.post("/api/v1/products", &a, json!({"name": "Fresh", "price": 5, "barcode": "5449000000999"}))
        .await
        .expect(201);
    // The deleted product no longer holds its category.
    app.delete(&format!("/api/v1/brands/{brand}"), &a).await.expect(204);
}
all_backends!(products_barcodes_and_scan);

async fn stock_and_movements(app: TestApp) {
    let (a, cashier, b) = two_stores(&app).await;
    let p = app.post("/api/v1/products", &a, json!({"name": "Cheese", "price": 1999, "stock": 10.5})).await.expect(201);
    let path = format!("/api/v1/products/{}", id(&p));
    let after = app
        .post(&format!("{path}/stock"), &a, json!({"delta": -0.535, "reason": "damaged", "note": "dropped"}))
        .await
        .expect(200);
    assert_eq!(after["stock"], 9.965);
    app.post(&format!("{path}/stock"), &a, json!({"delta": 3, "reason": "stolen"}))
        .await
        .expect_error(400, "invalid_input");
    app.post(&format!("{path}/stock"), &a, json!({"delta": 0.0001, "reason": "other"}))
        .await
        .expect_error(400, "invalid_input");
    app.post(&format!("{path}/stock"), &cashier, json!({"delta": 1, "reason": "received"}))
        .await
        .expect_error(403, "forbidden");
    app.post(&format!("{path}/stock"), &b, json!({"delta": 1, "reason": "received"}))
        .await
        .expect_error(404, "not_found");
    // A stocktake through PATCH records the difference.
    assert_eq!(app.patch(&path, &a, json!({"stock": 12})).await.expect(200)["stock"], 12);
    let moves = app.get(&format!("{path}/stock-movements"), &a).await.expect(200);
    let items = moves["items"].as_array().unwrap();
    let deltas: Vec<&Value> = items.iter().map(|m| &m["delta"]).collect();
    assert_eq!(deltas, [&json!(10.5), &json!(-0.535), &json!(2.035)]);
    assert_eq!(items[1]["reason"], "damaged");
    assert_eq!(items[1]["note"], "dropped");
    assert_eq!(items[2]["reason"], "stocktake");
    app.get(&format!("{path}/stock-movements"), &b).await.expect_error(404, "not_found");
    // Concurrent deltas never overwrite each other.
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (client, url, token) = (app.client.clone(), format!("{}{path}/stock", app.base), a.clone());
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"delta": 1, "reason": "received"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().as_u16(), 200);
    }
    assert_eq!(app.get(&path, &a).await.expect(200)["stock"], 32);
}
both_backends!(stock_and_movements);

async fn lists_filters_and_cursors(app: TestApp) {
    let (a, cashier, b) = two_stores(&app).await;
    let drinks = make(&app, &a, "categories", "Drinks").await;
    for i in 0..7 {
        let body = json!({"name": format!("Item {i}"), "price": 100 + i, "sku": format!("SKU-{i}"), "barcode": format!("400{i}"),
                          "categoryId": if i % 2 == 0 { json!(drinks) } else { Value::Null },
                          "showInQuickProducts": i < 2, "status": if i == 6 { "inactive" } else { "active" }});
        app.post("/api/v1/products", &a, body).await.expect(201);
    }
    app.post("/api/v1/products", &a, json!({"name": "ärger Zucker", "price": 1})).await.expect(201);
    app.post("/api/v1/products", &b, json!({"name": "Item B", "price": 1, "barcode": "4001"})).await.expect(201);

    let names = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    // Paging by name is stable and complete.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/products?limit=3&cursor={c}"),
            None => "/api/v1/products?limit=3".to_owned(),
        };
        let page = app.get(&url, &cashier).await.expect(200);
        seen.extend(names(&page));
        // Inserts while paging do not disturb the pages still to come.
        if cursor.is_none() {
            app.post("/api/v1/products", &a, json!({"name": "Aaa first", "price": 1})).await.expect(201);
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen[0], "Item 0");
    assert_eq!(seen.last().unwrap(), "ärger Zucker", "Unicode lower case sorts after z");
    assert!(!seen.contains(&"Item B".to_owned()), "never another store's");

    assert_eq!(names(&app.get(&format!("/api/v1/products?categoryId={drinks}"), &a).await.expect(200)).len(), 4);
    assert_eq!(names(&app.get("/api/v1/products?quick=true", &a).await.expect(200)), ["Item 0", "Item 1"]);
    assert_eq!(names(&app.get("/api/v1/products?status=inactive", &a).await.expect(200)), ["Item 6"]);
    assert_eq!(names(&app.get("/api/v1/products?q=ITEM%203", &a).await.expect(200)), ["Item 3"]);
    assert_eq!(names(&app.get("/api/v1/products?q=sku-5", &a).await.expect(200)), ["Item 5"]);
    assert_eq!(names(&app.get("/api/v1/products?q=4002", &a).await.expect(200)), ["Item 2"]);
    assert_eq!(names(&app.get("/api/v1/products?q=%25", &a).await.expect(200)).len(), 0, "LIKE wildcards are literal");
    let newest = app.get("/api/v1/products?sort=-createdAt&limit=2", &a).await.expect(200);
    assert_eq!(names(&newest), ["Aaa first", "ärger Zucker"]);
    // A cursor is tied to its filters and sort.
    let c = newest["nextCursor"].as_str().unwrap();
    app.get(&format!("/api/v1/products?sort=name&cursor={c}"), &a).await.expect_error(400, "invalid_input");
    app.get("/api/v1/products?cursor=garbage", &a).await.expect_error(400, "invalid_input");
    app.get("/api/v1/products?sort=price", &a).await.expect_error(400, "invalid_input");
    app.get("/api/v1/products?limit=201", &a).await.expect_error(400, "invalid_input");
    // Store B's foreign category filter finds nothing of A's.
    assert_eq!(names(&app.get(&format!("/api/v1/products?categoryId={drinks}"), &b).await.expect(200)).len(), 0);
}
both_backends!(lists_filters_and_cursors);

async fn scale_labels(app: TestApp) {
    let (a, cashier, _b) = two_stores(&app).await;
    app.patch(
        "/api/v1/store",
        &a,
        json!({"scaleBarcodes": [{"prefix": "21", "itemDigits": 5, "kind": "weight", "decimals": 3},
                                 {"prefix": "22", "itemDigits": 5, "kind": "price", "decimals": 2}]}),
    )
    .await
    .expect(200);
    app.post("/api/v1/products", &a, json!({"name": "Emmental", "price": 1999, "barcode": "2112345"}))
        .await
        .expect(201);
    app.post("/api/v1/products", &a, json!({"name": "Ham", "price": 2490, "barcode": "2200042"})).await.expect(201);
    let s = app.get("/api/v1/products/barcode/2112345005355", &cashier).await.expect(200);
    assert_eq!(s["product"]["name"], "Emmental");
    assert_eq!(s["embedded"], json!({"kind": "weight", "quantity": 0.535}));
    // Price label: 12.34 printed.
    let code = tills_domain::ean13("220004201234");
    let s = app.get(&format!("/api/v1/products/barcode/{code}"), &cashier).await.expect(200);
    assert_eq!(s["embedded"], json!({"kind": "price", "price": 1234}));
    // A wrong check digit, or an unknown item, is not a label.
    app.get("/api/v1/products/barcode/2112345005357", &cashier).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/products/barcode/{}", tills_domain::ean13("219999900535")), &cashier)
        .await
        .expect_error(404, "not_found");
}
all_backends!(scale_labels);
