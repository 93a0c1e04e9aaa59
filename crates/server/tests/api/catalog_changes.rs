//! `GET /api/v1/catalog/changes`: a terminal's first copy of its store's catalog in pages, then
//! only what changed (prices, new products, deletions), never another store's, on both backends.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::TestApp;

/// Follows `next` while `more`: (products, deleted ids, the last `next`, pages).
async fn follow(
    app: &TestApp,
    token: &str,
    since: Option<&str>,
    limit: i64,
) -> (Vec<Value>, Vec<String>, String, usize) {
    let mut products = vec![];
    let mut deleted = vec![];
    let mut since = since.map(str::to_owned);
    let mut pages = 0;
    loop {
        let path = match &since {
            Some(s) => format!("/api/v1/catalog/changes?limit={limit}&since={s}"),
            None => format!("/api/v1/catalog/changes?limit={limit}"),
        };
        let page = app.get(&path, token).await.expect(200);
        pages += 1;
        products.extend(page["products"].as_array().unwrap().iter().cloned());
        deleted.extend(page["deleted"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()));
        since = Some(page["next"].as_str().unwrap().to_owned());
        if page["more"] == false {
            return (products, deleted, since.unwrap(), pages);
        }
    }
}

fn names(products: &[Value]) -> BTreeSet<String> {
    products.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

async fn a_copy_then_only_what_changed(app: TestApp) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "copy-a").await;
    let other = app.create_store(&platform, "copy-b").await;
    let (_, cashier) = app.user(&admin, "copy-a", "till@a.test", "cashier").await;
    let mut ids = vec![];
    for i in 0..7 {
        let p = app
            .post(
                "/api/v1/products",
                &admin,
                json!({"name": format!("Item {i}"), "barcode": format!("400000000{i}"), "price": 100 + i}),
            )
            .await
            .expect(201);
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    app.post("/api/v1/products", &other, json!({"name": "Other store's", "barcode": "4000000000", "price": 1}))
        .await
        .expect(201);
    app.delete(&format!("/api/v1/products/{}", ids[6]), &admin).await.expect(204);

    // A first copy in pages of 3: every live product of the cashier's store, once.
    let (copy, deleted, version, pages) = follow(&app, &cashier, None, 3).await;
    assert_eq!(pages, 3);
    assert_eq!(copy.len(), 6);
    assert_eq!(names(&copy), (0..6).map(|i| format!("Item {i}")).collect());
    assert!(deleted.is_empty());
    assert!(copy.iter().all(|p| p["storeId"] == "copy-a"));
    assert_eq!(copy[0]["price"], 100);

    // Nothing changed: one small answer.
    let same = app.get(&format!("/api/v1/catalog/changes?since={version}"), &cashier).await.expect(200);
    assert_eq!(same, json!({"products": [], "deleted": [], "next": version, "more": false}));

    // A price, a new product, a deletion; a stock change and another store's write are no change.
    app.patch(&format!("/api/v1/products/{}", ids[0]), &admin, json!({"price": 199})).await.expect(200);
    app.post(&format!("/api/v1/products/{}/stock", ids[1]), &admin, json!({"delta": -1, "reason": "damaged"}))
        .await
        .expect(200);
    app.post("/api/v1/products", &admin, json!({"name": "Item new", "barcode": "4000000099", "price": 5}))
        .await
        .expect(201);
    app.delete(&format!("/api/v1/products/{}", ids[2]), &admin).await.expect(204);
    app.post("/api/v1/products", &other, json!({"name": "Other new", "price": 1})).await.expect(201);
    let (changed, deleted, newer, _) = follow(&app, &cashier, Some(&version), 500).await;
    assert_eq!(names(&changed), ["Item 0", "Item new"].iter().map(|s| s.to_string()).collect());
    assert_eq!(changed.iter().find(|p| p["name"] == "Item 0").unwrap()["price"], 199);
    assert_eq!(deleted, [ids[2].clone()]);
    assert!(newer.parse::<i64>().unwrap() > version.parse::<i64>().unwrap());
    // Paged too, in the order the changes were made.
    let (one_by_one, deleted_again, last, pages) = follow(&app, &cashier, Some(&version), 1).await;
    assert_eq!(pages, 4, "three changes, one to a page, and the empty page that ends them");
    assert_eq!(one_by_one.len() + deleted_again.len(), 3);
    assert_eq!(last, newer);

    // The other store sees its own catalog only.
    let (theirs, _, _, _) = follow(&app, &other, None, 500).await;
    assert_eq!(names(&theirs), ["Other new", "Other store's"].iter().map(|s| s.to_string()).collect());
    let (their_changes, their_deleted, _, _) = follow(&app, &other, Some("0"), 500).await;
    assert!(their_changes.iter().all(|p| p["storeId"] == "copy-b"));
    assert!(their_deleted.is_empty(), "no product of copy-a, deleted or not");

    // Bad tokens and limits are a clear 400 naming the field.
    for bad in ["x", "-3", "copy:1", "copy:1:not-an-id"] {
        let r = app.get(&format!("/api/v1/catalog/changes?since={bad}"), &cashier).await;
        r.expect_error(400, "invalid_input");
        assert_eq!(r.field(), "since");
    }
    let r = app.get("/api/v1/catalog/changes?limit=0", &cashier).await;
    r.expect_error(400, "invalid_input");
    assert_eq!(r.field(), "limit");
    app.call(reqwest::Method::GET, "/api/v1/catalog/changes", None, None).await.expect_error(401, "unauthorized");
}
both_backends!(a_copy_then_only_what_changed);
