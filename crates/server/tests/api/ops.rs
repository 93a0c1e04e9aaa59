//! Operations: `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`, request ids.

use crate::both_backends;
use tills_testkit::Backend;

use crate::helpers::TestApp;
use crate::helpers::{metric_sum, metrics_text, to_res};

async fn get(app: &TestApp, path: &str) -> crate::helpers::Res {
    to_res(app.client.get(format!("{}{}", app.base, path)).send().await.expect("request")).await
}

async fn health_and_readiness(app: TestApp) {
    let res = get(&app, "/healthz").await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    let res = get(&app, "/readyz").await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.body);
    // The body says how the database and the cache are.
    let text = res.body.to_string();
    assert!(text.contains("database") && text.contains("cache"), "{text}");
    assert_eq!(res.body["database"]["up"], true, "{text}");
}
both_backends!(health_and_readiness);

async fn metrics_are_prometheus_text(app: TestApp) {
    // A few requests so the histogram has samples for known routes.
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    app.get("/api/v1/store", &admin).await.expect(200);
    app.get("/api/v1/users", "not-a-token").await.expect_error(401, "unauthorized");
    get(&app, "/healthz").await;

    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ct.starts_with("text/plain"), "content-type {ct}");
    let text = resp.text().await.unwrap();

    assert!(text.contains("# TYPE tills_http_request_duration_seconds histogram"), "{text}");
    let store_hist = text.lines().filter(|l| l.starts_with("tills_http_request_duration_seconds_count{")).find(|l| {
        l.contains("route=\"/api/v1/store\"") && l.contains("method=\"GET\"") && l.contains("status=\"200\"")
    });
    assert!(store_hist.is_some(), "a sample for GET /api/v1/store 200: {text}");
    let unauthorized = text
        .lines()
        .filter(|l| l.starts_with("tills_http_request_duration_seconds_count{"))
        .any(|l| l.contains("route=\"/api/v1/users\"") && l.contains("status=\"401\""));
    assert!(unauthorized, "a sample for GET /api/v1/users 401");
    assert!(text.lines().any(|l| l.starts_with("tills_http_request_duration_seconds_bucket{") && l.contains("le=")));

    assert!(text.contains("tills_tenant_violations_total"), "{text}");
    assert!(text.contains("tills_store_id_in_request_total"), "{text}");
    // A healthy system never lets another store's rows through.
    assert_eq!(metric_sum(&text, "tills_tenant_violations_total", &[]), 0.0, "tenant violations");

    // The database connections, by kind: PostgreSQL's one-statement calls, SQLite's writer.
    let own_kind = match app.db.backend {
        Backend::Postgres | Backend::Citus => "kind=\"statements\"",
        Backend::Sqlite => "kind=\"writer\"",
    };
    for kind in ["kind=\"transactions\"", own_kind] {
        let max = metric_sum(&text, "tills_db_connections", &[kind, "state=\"max\""]);
        assert!(max >= 1.0, "{kind}: {text}");
        assert!(text.lines().any(|l| l.starts_with("tills_db_connections{") && l.contains(kind) && l.contains("busy")));
    }
}
both_backends!(metrics_are_prometheus_text);

async fn request_durations_count_each_request(app: TestApp) {
    let count = |text: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("tills_http_request_duration_seconds_count{"))
            .filter(|l| l.contains("route=\"/healthz\"") && l.contains("status=\"200\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    get(&app, "/healthz").await;
    let before = count(&metrics_text(&app).await);
    for _ in 0..3 {
        get(&app, "/healthz").await;
    }
    let after = count(&metrics_text(&app).await);
    assert!(after >= before + 3.0, "{before} -> {after}");
}
both_backends!(request_durations_count_each_request);

async fn openapi_document_is_served(app: TestApp) {
    let resp = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert!(body.is_object(), "{body}");
}
both_backends!(openapi_document_is_served);

async fn responses_carry_a_request_id(app: TestApp) {
    let res = get(&app, "/healthz").await;
    let id = res.headers.get("x-request-id").expect("x-request-id").to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let other = get(&app, "/healthz").await;
    assert_ne!(other.headers.get("x-request-id").unwrap().to_str().unwrap(), id);
    // A caller's own id is kept.
    let resp =
        app.client.get(format!("{}/api/v1/nope", app.base)).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "trace-me-42");
}
both_backends!(responses_carry_a_request_id);
