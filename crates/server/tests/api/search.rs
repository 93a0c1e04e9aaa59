//! Product search (`GET /products?q=`) from each instance's in-memory entries: every catalog
//! write is seen by the next search on any instance, and its pages are the database's own
//! search, page for page.

use serde_json::{Value, json};
use tills_domain::{Id, StoreId};
use tills_storage::{ProductFilter, ProductSort};

use crate::all_backends;
use crate::helpers::TestApp;
use crate::helpers::{another_instance, collect_pages, ids};

fn names(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

async fn search(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    names(&app.get(&format!("/api/v1/products?{query}"), token).await.expect(200))
}

/// Instance two searches (and so keeps the store's entries) while instance one writes: each
/// write shows in instance two's very next search, with no wait.
async fn every_catalog_write_shows_in_the_next_search_on_any_instance(one: TestApp) {
    let two = another_instance(&one).await;
    let platform = one.platform_token().await;
    let admin = one.create_store(&platform, "srch-a").await;
    let other = one.create_store(&platform, "srch-b").await;
    one.post("/api/v1/products", &other, json!({"name": "Cola of B", "price": 1, "barcode": "777"})).await.expect(201);
    let cola = one
        .post("/api/v1/products", &admin, json!({"name": "Cola", "price": 150, "sku": "DRK-1", "barcode": "400100"}))
        .await
        .expect(201);
    let cola = cola["id"].as_str().unwrap().to_owned();
    assert_eq!(search(&two, &admin, "q=cola").await, ["Cola"], "never another store's");

    one.post("/api/v1/products", &admin, json!({"name": "Coca-Cola Zero", "price": 160})).await.expect(201);
    assert_eq!(search(&two, &admin, "q=cola").await, ["Coca-Cola Zero", "Cola"], "a new product");

    let path = format!("/api/v1/products/{cola}");
    one.patch(&path, &admin, json!({"name": "Fizz"})).await.expect(200);
    assert_eq!(search(&two, &admin, "q=cola").await, ["Coca-Cola Zero"], "a renamed product");
    assert_eq!(search(&two, &admin, "q=fiz").await, ["Fizz"]);

    one.patch(&path, &admin, json!({"sku": "SODA-9"})).await.expect(200);
    assert_eq!(search(&two, &admin, "q=drk").await, Vec::<String>::new(), "the old sku");
    assert_eq!(search(&two, &admin, "q=soda").await, ["Fizz"], "a new sku");

    one.patch(&path, &admin, json!({"alternateBarcodes": ["ALT-55"]})).await.expect(200);
    assert_eq!(search(&two, &admin, "q=alt-5").await, ["Fizz"], "a new alternate barcode, whatever the case");
    one.patch(&path, &admin, json!({"barcode": "400200"})).await.expect(200);
    assert_eq!(search(&two, &admin, "q=4001").await, Vec::<String>::new(), "the old barcode");
    assert_eq!(search(&two, &admin, "q=4002").await, ["Fizz"]);

    one.patch(&path, &admin, json!({"status": "inactive"})).await.expect(200);
    assert_eq!(search(&two, &admin, "q=fizz&status=active").await, Vec::<String>::new(), "a status change");
    assert_eq!(search(&two, &admin, "q=fizz&status=inactive").await, ["Fizz"]);

    let drinks = one.post("/api/v1/categories", &admin, json!({"name": "Drinks"})).await.expect(201);
    let drinks = drinks["id"].as_str().unwrap();
    one.patch(&path, &admin, json!({"categoryId": drinks, "showInQuickProducts": true})).await.expect(200);
    assert_eq!(search(&two, &admin, &format!("q=fizz&categoryId={drinks}")).await, ["Fizz"], "a category change");
    assert_eq!(search(&two, &admin, "q=fizz&quick=true").await, ["Fizz"], "a quick flag");

    // A stock change is no catalog change, and the answer still carries the live stock.
    one.post(&format!("{path}/stock"), &admin, json!({"delta": 7, "reason": "received"})).await.expect(200);
    let found = two.get("/api/v1/products?q=fizz", &admin).await.expect(200);
    assert_eq!(found["items"][0]["stock"], json!(7));

    one.delete(&path, &admin).await.expect(204);
    assert_eq!(search(&two, &admin, "q=fizz").await, Vec::<String>::new(), "a deleted product");
    assert_eq!(search(&two, &admin, "q=4002").await, Vec::<String>::new(), "its barcodes are free");
}
all_backends!(every_catalog_write_shows_in_the_next_search_on_any_instance);

/// The pages the server's entries give equal the database's own search (the `list_products`
/// query a search falls back to) for every sort and filter, page after page.
async fn pages_equal_the_databases_search(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "srch-c").await;
    let store = StoreId::parse("srch-c").unwrap();
    let snacks = app.post("/api/v1/categories", &admin, json!({"name": "Snacks"})).await.expect(201);
    let snacks: Id = snacks["id"].as_str().unwrap().parse().unwrap();
    let words = ["cola", "Chocolate", "COLA", "water", "Äpfel", "teacake", "tea", "colander"];
    for i in 0..40usize {
        let name = format!("{}{}", words[i % words.len()], i % 7);
        let mut body = json!({"name": name, "price": 100 + i, "status": if i % 9 == 4 { "inactive" } else { "active" },
                              "showInQuickProducts": i % 5 == 0});
        if i % 3 == 0 {
            body["sku"] = json!(format!("SKU-{i:03}"));
        }
        if i % 4 != 1 {
            body["barcode"] = json!(format!("{}{i:03}", if i % 2 == 0 { "COL" } else { "40" }));
        }
        if i % 2 == 0 {
            body["categoryId"] = json!(snacks);
        }
        app.post("/api/v1/products", &admin, body).await.expect(201);
    }
    let mut compared = 0;
    for q in ["col", "cola", "a", "äp", "tea", "sku-0", "40", "zzz", "COLA1"] {
        for (sort, sort_param) in [(ProductSort::Name, "name"), (ProductSort::NewestFirst, "-createdAt")] {
            for (filter_param, active, category, quick) in [
                ("", None, None, false),
                ("&status=active", Some(true), None, false),
                ("&status=inactive", Some(false), None, false),
                (&format!("&categoryId={snacks}") as &str, None, Some(snacks), false),
                ("&quick=true", None, None, true),
            ] {
                let path = format!("/api/v1/products?q={}&sort={sort_param}{filter_param}", urlencode(q));
                let served = ids(&collect_pages(&app, &admin, &path, 4).await);
                let filter = ProductFilter {
                    active,
                    category_id: category,
                    brand_id: None,
                    quick_only: quick,
                    q: Some(tills_domain::name_key(q)),
                    sort,
                    after: None,
                    limit: 1000,
                };
                let database: Vec<String> =
                    app.store.list_products(&store, &filter).await.unwrap().iter().map(|p| p.id.to_string()).collect();
                assert_eq!(served, database, "{path}");
                compared += served.len();
            }
        }
    }
    assert!(compared > 200, "the comparison saw products: {compared}");
}
all_backends!(pages_equal_the_databases_search);

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
