//! `GET /api/v1/audit?from=&to=&action=`: who did what and when.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp};
use crate::helpers::{collect_pages, ids, login_res};

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

fn actions(page: &Value) -> Vec<String> {
    items(page).iter().map(|e| e["action"].as_str().unwrap_or_default().to_owned()).collect()
}

const WRONG: &str = "not-the-password-1";

/// A store with a history: failed logins, a user created, a role changed, settings changed.
async fn history(app: &TestApp) -> (String, String, String) {
    let platform = app.platform_token().await;
    let admin = app.create_store(&platform, "shop-a").await;
    let owner_id = app.get("/api/v1/auth/me", &admin).await.expect(200)["id"].as_str().unwrap().to_owned();
    login_res(app, Some("shop-a"), "admin@shop-a.test", WRONG).await.expect_error(401, "unauthorized");
    login_res(app, Some("shop-a"), "nobody@shop-a.test", WRONG).await.expect_error(401, "unauthorized");
    let (cashier_id, _) = app.user(&admin, "shop-a", "cashier@shop-a.test", "cashier").await;
    app.patch(&format!("/api/v1/users/{cashier_id}"), &admin, json!({"role": "manager"})).await.expect(200);
    app.patch("/api/v1/store", &admin, json!({"receiptFooter": "See you", "timezone": "Europe/Paris"}))
        .await
        .expect(200);
    (admin, owner_id, cashier_id)
}

async fn the_log_records_logins_users_and_settings(app: TestApp) {
    let (admin, owner_id, cashier_id) = history(&app).await;

    let all = app.get("/api/v1/audit", &admin).await.expect(200);
    let entries = items(&all);
    for e in &entries {
        for key in ["id", "action", "createdAt"] {
            assert!(!e[key].is_null(), "entry lacks {key}: {e}");
        }
        let t: chrono::DateTime<chrono::Utc> = e["createdAt"].as_str().unwrap().parse().expect("RFC 3339 createdAt");
        assert!(t <= chrono::Utc::now());
    }
    assert!(!all.to_string().contains(WRONG), "a tried password was logged: {all}");
    assert!(!all.to_string().contains("$argon2"), "a hash was logged");

    let failed = app.get("/api/v1/audit?action=login.failed", &admin).await.expect(200);
    assert_eq!(actions(&failed), ["login.failed", "login.failed"], "{failed}");
    let text = failed.to_string();
    assert!(text.contains("admin@shop-a.test") && text.contains("nobody@shop-a.test"), "which accounts: {failed}");

    let created = app.get("/api/v1/audit?action=user.create", &admin).await.expect(200);
    let created = items(&created);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["actorId"], owner_id.as_str());
    assert!(created[0].to_string().contains(&cashier_id), "names the user: {}", created[0]);

    let role = app.get("/api/v1/audit?action=user.role", &admin).await.expect(200);
    let role = items(&role);
    assert_eq!(role.len(), 1, "{role:?}");
    assert_eq!(role[0]["actorId"], owner_id.as_str());
    assert!(role[0].to_string().contains(&cashier_id) && role[0].to_string().contains("manager"), "{}", role[0]);

    let settings = app.get("/api/v1/audit?action=store.settings", &admin).await.expect(200);
    let settings = items(&settings);
    assert_eq!(settings.len(), 1, "{settings:?}");
    assert_eq!(settings[0]["actorId"], owner_id.as_str());

    // Every action seen, and the filter returns exactly its own.
    let mut kinds = actions(&all);
    kinds.sort();
    kinds.dedup();
    for k in ["login.failed", "user.create", "user.role", "store.settings"] {
        assert!(kinds.contains(&k.to_owned()), "{k} missing from {kinds:?}");
    }
    for k in &kinds {
        let page = app.get(&format!("/api/v1/audit?action={k}"), &admin).await.expect(200);
        assert!(actions(&page).iter().all(|a| a == k), "{k}: {page}");
        let expected = entries.iter().filter(|e| e["action"] == k.as_str()).count();
        assert_eq!(items(&page).len(), expected, "{k}");
    }
    let none = app.get("/api/v1/audit?action=no.such.action", &admin).await.expect(200);
    assert_eq!(none["items"], json!([]));

    // Deleting and removing users are recorded too.
    app.patch(&format!("/api/v1/users/{cashier_id}"), &admin, json!({"active": false})).await.expect(200);
    assert_eq!(app.delete(&format!("/api/v1/users/{cashier_id}"), &admin).await.status.as_u16(), 204);
    let deleted = app.get("/api/v1/audit?action=user.delete", &admin).await.expect(200);
    assert_eq!(items(&deleted).len(), 1, "{deleted}");
    let after = app.get("/api/v1/audit", &admin).await.expect(200);
    assert_eq!(items(&after).len(), entries.len() + 2, "{after}");
}
both_backends!(the_log_records_logins_users_and_settings);

async fn from_and_to_bound_the_log(app: TestApp) {
    let (admin, _, _) = history(&app).await;
    let all = items(&app.get("/api/v1/audit", &admin).await.expect(200));
    let role = items(&app.get("/api/v1/audit?action=user.role", &admin).await.expect(200));
    let at = role[0]["createdAt"].as_str().unwrap().to_owned();
    let at_q = at.replace('+', "%2B");

    // from is inclusive, to exclusive, for instants.
    let from = items(&app.get(&format!("/api/v1/audit?action=user.role&from={at_q}"), &admin).await.expect(200));
    assert_eq!(from.len(), 1, "from={at} includes the entry at {at}");
    let to = items(&app.get(&format!("/api/v1/audit?action=user.role&to={at_q}"), &admin).await.expect(200));
    assert_eq!(to.len(), 0, "to={at} excludes the entry at {at}");
    let split_before = items(&app.get(&format!("/api/v1/audit?to={at_q}"), &admin).await.expect(200));
    let split_after = items(&app.get(&format!("/api/v1/audit?from={at_q}"), &admin).await.expect(200));
    assert_eq!(split_before.len() + split_after.len(), all.len(), "from/to at one instant split the log");
    assert!(ids(&split_after).contains(&role[0]["id"].as_str().unwrap().to_owned()));
    assert!(!ids(&split_before).contains(&role[0]["id"].as_str().unwrap().to_owned()));

    // Days are the store's local days (now Europe/Paris), inclusive at both ends: a day holds
    // exactly the entries whose local date it is.
    let local_date = |e: &Value| {
        let t: chrono::DateTime<chrono::Utc> = e["createdAt"].as_str().unwrap().parse().unwrap();
        t.with_timezone(&chrono_tz::Europe::Paris).date_naive()
    };
    let day = local_date(&role[0]);
    let expected: Vec<String> = ids(&all.iter().filter(|e| local_date(e) == day).cloned().collect::<Vec<_>>());
    let got = items(&app.get(&format!("/api/v1/audit?from={day}&to={day}"), &admin).await.expect(200));
    assert_eq!(ids(&got), expected, "the local day {day}");
    assert!(!got.is_empty());
    let earlier = day - chrono::Duration::days(3);
    let later = day + chrono::Duration::days(1);
    let span = items(&app.get(&format!("/api/v1/audit?from={earlier}&to={later}"), &admin).await.expect(200));
    assert_eq!(ids(&span), ids(&all));
    let yesterday = day - chrono::Duration::days(1);
    let before_day = items(&app.get(&format!("/api/v1/audit?from={earlier}&to={yesterday}"), &admin).await.expect(200));
    assert!(before_day.iter().all(|e| local_date(e) < day));
    assert!(!ids(&before_day).contains(&role[0]["id"].as_str().unwrap().to_owned()));
    let old = items(&app.get("/api/v1/audit?from=2001-01-01&to=2001-12-31", &admin).await.expect(200));
    assert_eq!(old.len(), 0);
    let future = items(&app.get("/api/v1/audit?from=2999-01-01", &admin).await.expect(200));
    assert_eq!(future.len(), 0);
    let future = items(&app.get("/api/v1/audit?from=2999-01-01T00:00:00Z", &admin).await.expect(200));
    assert_eq!(future.len(), 0);
    let past = items(&app.get("/api/v1/audit?to=2001-01-01T00:00:00Z", &admin).await.expect(200));
    assert_eq!(past.len(), 0);
    let filtered = items(
        &app.get(&format!("/api/v1/audit?action=login.failed&from={earlier}&to={later}"), &admin).await.expect(200),
    );
    assert_eq!(filtered.len(), 2);

    for (q, field) in [("from=yesterday", "from"), ("to=31.12.2026", "to"), ("from=2026-13-01", "from")] {
        let res = app.get(&format!("/api/v1/audit?{q}"), &admin).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), field, "{q}: {}", res.body);
    }
}
both_backends!(from_and_to_bound_the_log);

async fn the_log_pages(app: TestApp) {
    let (admin, _, _) = history(&app).await;
    for i in 0..3 {
        login_res(&app, Some("shop-a"), &format!("x{i}@shop-a.test"), WRONG).await.expect_error(401, "unauthorized");
    }
    let all = items(&app.get("/api/v1/audit", &admin).await.expect(200));
    assert!(all.len() >= 8, "{}", all.len());
    let first = app.get("/api/v1/audit?limit=1", &admin).await.expect(200);
    assert_eq!(items(&first).len(), 1);
    assert!(first["nextCursor"].is_string());
    for limit in [1, 3, 200] {
        let paged = collect_pages(&app, &admin, "/api/v1/audit", limit).await;
        assert_eq!(ids(&paged), ids(&all), "limit {limit}: same entries, same order");
    }
    let paged = collect_pages(&app, &admin, "/api/v1/audit?action=login.failed", 2).await;
    assert_eq!(paged.len(), 5);
    assert!(paged.iter().all(|e| e["action"] == "login.failed"));

    // An entry added while paging is not lost and nothing repeats.
    let page = app.get("/api/v1/audit?limit=2", &admin).await.expect(200);
    login_res(&app, Some("shop-a"), "late@shop-a.test", WRONG).await.expect_error(401, "unauthorized");
    let rest = app.get(&format!("/api/v1/audit?cursor={}", page["nextCursor"].as_str().unwrap()), &admin).await;
    let mut seen = ids(&items(&page));
    seen.extend(ids(&items(&rest.expect(200))));
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no repeats");
    assert_eq!(seen.len(), all.len() + 1);

    // A cursor belongs to its filters.
    let cursor = first["nextCursor"].as_str().unwrap();
    let res = app.get(&format!("/api/v1/audit?action=login.failed&cursor={cursor}"), &admin).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "cursor");
    let res = app.get("/api/v1/audit?cursor=garbage", &admin).await;
    res.expect_error(400, "invalid_input");
    assert_eq!(res.field(), "cursor");
    for bad in ["limit=0", "limit=201"] {
        let res = app.get(&format!("/api/v1/audit?{bad}"), &admin).await;
        res.expect_error(400, "invalid_input");
        assert_eq!(res.field(), "limit");
    }
}
both_backends!(the_log_pages);

async fn entries_cannot_be_changed_or_deleted(app: TestApp) {
    let (admin, _, _) = history(&app).await;
    let before = app.get("/api/v1/audit", &admin).await.expect(200);
    let id = items(&before)[0]["id"].as_str().unwrap().to_owned();
    for (method, path) in [
        (Method::DELETE, "/api/v1/audit".to_owned()),
        (Method::DELETE, format!("/api/v1/audit/{id}")),
        (Method::PATCH, format!("/api/v1/audit/{id}")),
        (Method::PUT, format!("/api/v1/audit/{id}")),
        (Method::POST, "/api/v1/audit".to_owned()),
    ] {
        let res = app.call(method.clone(), &path, Some(&admin), Some(json!({"action": "forged"}))).await;
        assert!(!res.status.is_success(), "{method} {path}: {}", res.status);
    }
    assert_eq!(app.get("/api/v1/audit", &admin).await.expect(200), before);
    // Also failed logins into a store that does not exist leave no trace in this one.
    login_res(&app, Some("shop-zz"), "admin@shop-a.test", PASSWORD).await.expect_error(401, "unauthorized");
    assert_eq!(app.get("/api/v1/audit", &admin).await.expect(200), before);
}
both_backends!(entries_cannot_be_changed_or_deleted);
