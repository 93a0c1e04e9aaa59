//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 document that describes every route of API.md.

use serde_json::Value;
use tills_testkit::Backend;

use crate::helpers::TestApp;

/// Every (method, path) of API.md, with API.md's path parameter names.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/admin/stores"),
    ("get", "/api/v1/admin/stores"),
    ("patch", "/api/v1/admin/stores/{storeId}"),
    ("post", "/api/v1/admin/stores/{storeId}/token"),
    ("get", "/api/v1/store"),
    ("patch", "/api/v1/store"),
    ("post", "/api/v1/cache/products/invalidate"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/categories"),
    ("post", "/api/v1/categories"),
    ("get", "/api/v1/categories/{id}"),
    ("patch", "/api/v1/categories/{id}"),
    ("delete", "/api/v1/categories/{id}"),
    ("get", "/api/v1/brands"),
    ("post", "/api/v1/brands"),
    ("get", "/api/v1/brands/{id}"),
    ("patch", "/api/v1/brands/{id}"),
    ("delete", "/api/v1/brands/{id}"),
    ("get", "/api/v1/units"),
    ("post", "/api/v1/units"),
    ("get", "/api/v1/units/{id}"),
    ("patch", "/api/v1/units/{id}"),
    ("delete", "/api/v1/units/{id}"),
    ("get", "/api/v1/products"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products/{id}"),
    ("patch", "/api/v1/products/{id}"),
    ("delete", "/api/v1/products/{id}"),
    ("post", "/api/v1/products/{id}/stock"),
    ("get", "/api/v1/products/{id}/stock-movements"),
    ("get", "/api/v1/products/barcode/{barcode}"),
    ("get", "/api/v1/customers"),
    ("post", "/api/v1/customers"),
    ("get", "/api/v1/customers/{id}"),
    ("patch", "/api/v1/customers/{id}"),
    ("delete", "/api/v1/customers/{id}"),
    ("post", "/api/v1/sales"),
    ("get", "/api/v1/sales"),
    ("post", "/api/v1/sales/quote"),
    ("get", "/api/v1/sales/{id}"),
    ("get", "/api/v1/sales/invoice/{invoiceNumber}"),
    ("post", "/api/v1/sales/{id}/void"),
    ("post", "/api/v1/sales/{id}/refunds"),
    ("get", "/api/v1/sales/export.csv"),
    ("get", "/api/v1/payments"),
    ("get", "/api/v1/reports/daily"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
];

const ERROR_BODY: &str = "#/components/schemas/ErrorBody";

async fn fetch(app: &TestApp) -> Value {
    let resp = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    resp.json().await.expect("JSON")
}

/// A schema, following a `$ref` into `components.schemas`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
            let found = &doc["components"]["schemas"][name];
            assert!(found.is_object(), "{r} is not in components.schemas");
            found
        }
        None => schema,
    }
}

/// Every `$ref` in a value.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_api_md() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = fetch(&app).await;

    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1"), "openapi {version}");
    assert_eq!(doc["info"]["title"], "Tills API");

    let paths = doc["paths"].as_object().expect("paths");
    let mut missing = Vec::new();
    for (method, path) in ROUTES {
        if !paths.get(*path).is_some_and(|item| item[*method].is_object()) {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(missing.is_empty(), "not in the document: {missing:?}; paths: {:?}", paths.keys().collect::<Vec<_>>());

    // Path parameters carry API.md's names.
    for (method, path) in ROUTES {
        let op = &paths[*path][*method];
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let mut in_path: Vec<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect::<Vec<_>>();
        let mut declared_sorted = declared.clone();
        in_path.sort();
        declared_sorted.sort();
        assert_eq!(declared_sorted, in_path, "path parameters of {method} {path}");
    }

    // Operation ids are unique.
    let mut ids = std::collections::HashSet::new();
    for item in paths.values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            }
        }
    }

    // The sale request body has its lines and payments.
    let sale = &paths["/api/v1/sales"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let sale = resolve(&doc, sale);
    for field in ["lines", "payments", "clientRef", "customerId", "discount", "offline", "soldAt"] {
        assert!(sale["properties"][field].is_object(), "sale request has no {field}: {sale}");
    }
    assert!(sale["required"].as_array().is_some_and(|r| r.contains(&"lines".into())), "{sale}");

    // Every error answer is the shared ErrorBody.
    let mut errors = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || (status.starts_with('5') && path.starts_with("/api/")) {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert_eq!(schema["$ref"], ERROR_BODY, "{method} {path} {status}: {response}");
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 100, "only {errors} error responses");
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"]["error"];
    let error = resolve(&doc, error);
    for field in ["code", "message", "field"] {
        assert!(error["properties"][field].is_object(), "error has no {field}: {error}");
    }
    let codes = resolve(&doc, &error["properties"]["code"])["enum"].clone();
    for code in ["malformed_json", "invalid_input", "insufficient_payment", "barcode_taken", "idempotency_mismatch"] {
        assert!(codes.as_array().is_some_and(|c| c.contains(&code.into())), "no code {code}: {codes}");
    }

    // Bearer auth everywhere but login and operations.
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(doc["security"][0]["bearerAuth"], serde_json::json!([]));
    for (method, path) in [("post", "/api/v1/auth/login"), ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")]
    {
        let security = &paths[path][method]["security"];
        assert!(
            security.as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|r| r.is_empty()))),
            "{method} {path} should be public: {security}"
        );
    }
    assert!(paths["/api/v1/auth/me"]["get"]["security"].is_null(), "/auth/me uses the document's bearer auth");

    // Closed sets carry their wire values.
    let schemas = &doc["components"]["schemas"];
    for (name, value) in [
        ("SaleStatus", "partially_refunded"),
        ("PaymentMethod", "cash"),
        ("AdjustReason", "stocktake"),
        ("StockReason", "import"),
        ("ProductStatus", "inactive"),
        ("ErrorCode", "method_not_allowed"),
    ] {
        let values = schemas[name]["enum"].as_array().unwrap_or_else(|| panic!("{name}: {}", schemas[name]));
        assert!(values.contains(&value.into()), "{name} lacks {value}: {values:?}");
    }

    // Field names are camelCase, as serialized.
    let product = &doc["components"]["schemas"]["ProductView"]["properties"];
    for field in ["storeId", "taxRate", "alternateBarcodes", "showInQuickProducts", "createdAt"] {
        assert!(product[field].is_object(), "ProductView has no {field}");
    }

    // Every reference names a schema of the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "only {} references", refs.len());
    for r in &refs {
        resolve(&doc, &serde_json::json!({ "$ref": r }));
    }

    // The document is served from a cache: the same bytes twice.
    assert_eq!(fetch(&app).await, doc);
}

/// The document is as strict as the server (docs/ARCHITECTURE.md, "The API document"): every
/// operation lists the error statuses it can answer, lists document their opaque cursor, the
/// server's text rules are in the schemas, and creates link to what reads and changes their
/// result. scripts/api-contract.sh holds the server to it with schemathesis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_what_the_server_checks() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = fetch(&app).await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut gaps = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().expect("responses");
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let has = |status: &str| responses.contains_key(status);
            let param = |name: &str, place: &str| params.iter().find(|p| p["name"] == name && p["in"] == place);
            if op["requestBody"].is_object() && !(has("400") && has("413")) {
                gaps.push(format!("{name}: a body without 400 and 413"));
            }
            if params.iter().any(|p| p["in"] == "path") && !has("404") {
                gaps.push(format!("{name}: a path id without 404"));
            }
            if param("X-Approval", "header").is_some() && !has("400") {
                gaps.push(format!("{name}: X-Approval without 400"));
            }
            if let Some(cursor) = param("cursor", "query") {
                if !has("400") {
                    gaps.push(format!("{name}: a cursor without 400"));
                }
                let said = cursor["description"].as_str().unwrap_or_default();
                if !said.contains("Opaque") || cursor["schema"]["pattern"].is_null() {
                    gaps.push(format!("{name}: the cursor is not documented as opaque: {cursor}"));
                }
            }
            // (`/readyz` answers its own body with its 503.)
            for status in responses.keys().filter(|s| (s.starts_with('4') || s.starts_with('5')) && path != "/readyz") {
                let schema = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                if schema != ERROR_BODY {
                    gaps.push(format!("{name}: {status} without the error body"));
                }
            }
            if op["security"].is_null() && path.starts_with("/api/v1/") && !has("401") && path != "/api/v1/auth/login" {
                gaps.push(format!("{name}: authenticated without 401"));
            }
        }
    }
    assert!(gaps.is_empty(), "{gaps:#?}");

    // Every id has the pattern of the UUIDs the server issues.
    fn uuids_without_pattern(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if o.get("format").and_then(Value::as_str) == Some("uuid") && !o.contains_key("pattern") {
                    out.push(at.to_owned());
                }
                o.iter().for_each(|(k, v)| uuids_without_pattern(v, &format!("{at}/{k}"), out));
            }
            Value::Array(a) => {
                a.iter().enumerate().for_each(|(i, v)| uuids_without_pattern(v, &format!("{at}/{i}"), out))
            }
            _ => {}
        }
    }
    let mut bare = Vec::new();
    uuids_without_pattern(&doc, "", &mut bare);
    assert!(bare.is_empty(), "UUIDs without a pattern: {bare:?}");

    let schemas = &doc["components"]["schemas"];
    // Text rules: a name needs a character that is not a space; a timezone is an IANA name;
    // money is an integer; a store id is a slug.
    let name = schemas["NamedBody"]["properties"]["name"]["pattern"].as_str().unwrap_or_default();
    assert!(name.starts_with('^') && name.contains("{0,198}"), "name pattern {name}");
    let zones = schemas["StorePatch"]["properties"]["timezone"]["enum"].as_array().expect("timezone enum");
    assert!(zones.contains(&"Europe/Berlin".into()) && zones.contains(&Value::Null), "{} zones", zones.len());
    assert_eq!(resolve(&doc, &schemas["OpenShiftBody"]["properties"]["openingFloat"])["type"], "integer");
    assert!(
        schemas["CreateStore"]["properties"]["currency"]["enum"]
            .as_array()
            .expect("currencies")
            .contains(&"JPY".into())
    );
    assert_eq!(schemas["ApprovalBody"]["oneOf"].as_array().map(Vec::len), Some(2));
    let brands = &paths["/api/v1/brands"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(brands.to_string().contains("\"required\":[\"name\"]"), "a brand's name is required on create: {brands}");

    // Creates link to the operations on what they created.
    let links = &paths["/api/v1/sales"]["post"]["responses"]["201"]["links"];
    for op in ["getSale", "voidSale", "refundSale"] {
        assert_eq!(links[op]["operationId"], op, "{links}");
        assert_eq!(links[op]["parameters"]["id"], "$response.body#/id");
    }
    assert_eq!(
        paths["/api/v1/admin/stores"]["post"]["responses"]["201"]["links"]["getStore"]["parameters"]["storeId"],
        "$response.body#/id"
    );
}

/// What the document allows, the server takes: a whole-number float is money, an inverted range
/// is empty; and what it refuses, the server refuses: a body that is not an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_takes_what_the_document_allows() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "doc-rules").await;
    let product =
        app.post("/api/v1/products", &admin, serde_json::json!({"name": "Whole", "price": 150.0})).await.expect(201);
    assert_eq!(product["price"], 150);
    let fraction = app.post("/api/v1/products", &admin, serde_json::json!({"name": "Half", "price": 1.5})).await;
    assert_eq!(fraction.status.as_u16(), 400, "{:?}", fraction.body);
    assert_eq!(fraction.body["error"]["field"], "price");

    let empty = app.get("/api/v1/sales?from=2026-11-26&to=2026-11-25", &admin).await.expect(200);
    assert_eq!(empty["items"], serde_json::json!([]));

    let array = app
        .patch(&format!("/api/v1/products/{}", product["id"].as_str().unwrap()), &admin, serde_json::json!([null]))
        .await;
    assert_eq!(array.status.as_u16(), 400, "{:?}", array.body);
    assert_eq!(array.body["error"]["code"], "invalid_input");
}
