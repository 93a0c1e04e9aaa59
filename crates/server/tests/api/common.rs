//! Shared pieces for the HTTP suites: a second server instance over the same database, polling
//! with a deadline, hand-made tokens, and small readers for metrics and error bodies.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Res, TestApp};

/// How long another instance may serve a user's or store's old access state (API.md: "within
/// five seconds"), plus a margin for a loaded test machine.
pub const PROPAGATION_DEADLINE: Duration = Duration::from_secs(6);

/// Sends a request and returns status, JSON body and headers, with extra headers.
pub async fn call_with_headers(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Res {
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    to_res(resp).await
}

pub async fn to_res(resp: reqwest::Response) -> Res {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, body, headers }
}

/// Sends a request with a raw `Authorization` header value (or none).
pub async fn with_authorization(app: &TestApp, path: &str, authorization: Option<&str>) -> Res {
    let mut req = app.client.get(format!("{}{}", app.base, path));
    if let Some(v) = authorization {
        req = req.header("authorization", v);
    }
    to_res(req.send().await.expect("request")).await
}

/// A login attempt's full response.
pub async fn login_res(app: &TestApp, store: Option<&str>, email: &str, password: &str) -> Res {
    let mut body = json!({"email": email, "password": password});
    if let Some(s) = store {
        body["store"] = json!(s);
    }
    app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

/// Logs in and returns the whole `200` body (token, expiresAt, user).
pub async fn login_body(app: &TestApp, store: Option<&str>, email: &str) -> Value {
    login_res(app, store, email, PASSWORD).await.expect(200)
}

/// Another instance of the server over the same database, as behind a load balancer: its own
/// access cache and login throttle, configured like every test app.
pub async fn another_instance(app: &TestApp) -> TestApp {
    app.another(tills_server::cache::CacheConfig::default()).await
}

/// Calls `probe` until it returns true or `deadline` passes; returns how long it took, or
/// `None` when the deadline passed first.
pub async fn within<F, Fut>(deadline: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if probe().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs `claims` with `alg` and `secret`.
pub fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

/// Claims as the server issues them (camelCase): `sub`, `storeId`, `role`, `iat`, `exp`.
pub fn claims(sub: &str, store: Option<&str>, role: &str, exp_in_secs: i64) -> Value {
    let now = now();
    json!({"sub": sub, "storeId": store, "role": role, "iat": now, "exp": now + exp_in_secs})
}

/// The decoded payload of a JWT (no verification).
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload")).expect("JSON payload")
}

/// `token` with its payload replaced by `claims`, the header and signature kept.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
}

pub fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// The sum of a Prometheus counter's samples whose labels contain every `label="value"` given.
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn metrics_text(app: &TestApp) -> String {
    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

/// Every key anywhere in `v` (nested objects and arrays included).
pub fn all_keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// Asserts that no password or hash of one appears in a response body.
#[track_caller]
pub fn assert_no_password(v: &Value) {
    for k in all_keys(v) {
        let k = k.to_lowercase();
        assert!(!k.contains("password") && !k.contains("hash"), "a password field came back: {k} in {v}");
    }
    let text = v.to_string();
    assert!(!text.contains("$argon2"), "a password hash came back: {text}");
    assert!(!text.contains(PASSWORD), "a password came back: {text}");
}

/// Follows `nextCursor` from `path` (which has no query string of its own unless `sep` is `&`)
/// and returns every item, checking each page holds at most `limit` items.
pub async fn collect_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = app.get(&url, token).await.expect(200);
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() <= limit, "a page holds more than limit={limit}: {page}");
        items.extend(got);
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(page["nextCursor"].is_null(), "nextCursor is a string or null: {page}");
                return items;
            }
        }
    }
    panic!("pagination of {path} did not end");
}

/// The ids of a list's items.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Sends `len` bytes of a valid JSON document (a long string) as the body, over a plain TCP
/// connection that reads the answer while it writes: a server that answers `413` before reading
/// the whole body then closes the connection, which an HTTP client still writing may report as
/// a broken request instead of the answer.
pub async fn send_big_body(app: &TestApp, method: Method, path: &str, token: Option<&str>, len: usize) -> Res {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(b"{\"name\": \"");
    body.resize(len - 2, b'x');
    body.extend_from_slice(b"\"}");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n",
        app.addr
    );
    if let Some(t) = token {
        head.push_str(&format!("authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");

    let stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        // The server may stop reading and close: a failed write is expected then.
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    drop(write.await);
    parse_response(&raw)
}

/// Parses an HTTP/1.1 response with a `content-length` body.
fn parse_response(raw: &[u8]) -> Res {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP response came back: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                v.trim().parse::<reqwest::header::HeaderValue>(),
            )
        {
            headers.append(k, v);
        }
    }
    let mut body = &raw[split + 4..];
    if let Some(n) = headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) {
        body = &body[..n.min(body.len())];
    }
    Res {
        status: reqwest::StatusCode::from_u16(code).expect("a valid status"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        headers,
    }
}
