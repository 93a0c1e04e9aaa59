//! The floor: the least a server can do to answer a scan, measured in the same run, with the
//! same generator, as Tills — so a figure of Tills reads as a ratio to what this machine allows,
//! not as a number of its own.
//!
//! `tills bench-floor` serves three floors from one process, each under its own base path, with
//! the scan's and the login's paths below it (so `tills bench --url http://…/memory` drives a
//! floor exactly as it drives Tills):
//!
//! - `/memory`: HTTP, the same kind of JWT verified (HS256, `exp`, `sub` and `iat` required, no
//!   leeway), and the answer from a `HashMap` filled at start;
//! - `/redis`: the same, and one Redis `GET` per scan;
//! - `/postgres`: the same, and one indexed PostgreSQL lookup per scan (the scan's join of
//!   barcode, product and pack, on the store's keys), through a pool of 16 connections.
//!
//! Their answers are each product's row as JSON, read from the seeded database, about the size of
//! Tills's. Nothing else: no access check, no metrics, no logs, no cache housekeeping. The login
//! checks no password (it is not measured); it signs a token for the store it is given.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Json, Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use clap::Args;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};

#[derive(Args, Debug)]
pub struct FloorArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The Redis the Redis floor reads (its keys: `floor:<store>:<barcode>`).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The secret the floor's tokens are signed and verified with.
    #[arg(long, env = "TILLS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,
}

/// What a token says: Tills's claims, field for field.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    sub: uuid::Uuid,
    store_id: String,
    role: String,
    iat: i64,
    exp: i64,
}

struct Floor {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// store → barcode → answer.
    map: HashMap<String, HashMap<String, Bytes>>,
    redis: Option<redis::aio::ConnectionManager>,
    pg: PgPool,
}

/// A scan's answer and where it comes from: the product's row and the pack's unit, as JSON.
macro_rules! answer {
    ($select:literal, $where:literal) => {
        concat!(
            "SELECT ",
            $select,
            "json_build_object('product', row_to_json(p), 'unit', u.unit_id)::text \
             FROM product_barcodes b \
             JOIN products p ON p.store_id = b.store_id AND p.id = b.product_id \
             LEFT JOIN product_units u ON u.store_id = b.store_id AND u.id = b.product_unit_id \
             WHERE ",
            $where,
            "p.deleted_at IS NULL"
        )
    };
}
/// Every scan's answer, by store and barcode.
const EVERY_ANSWER: &str = answer!("b.store_id, b.barcode, ", "");
/// One scan's answer, on the store's keys (an index lookup).
const ONE_ANSWER: &str = answer!("", "b.store_id = $1 AND b.barcode = $2 AND ");

/// `tills bench-floor`: binds and serves until stopped. `database_url`: the seeded PostgreSQL
/// database (its products fill the map and Redis; the PostgreSQL floor reads it on every scan).
pub async fn floor_cli(database_url: &str, args: FloorArgs) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(&args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    serve(listener, database_url, args.redis_url.as_deref(), &args.jwt_secret).await
}

/// Loads every answer, then serves the floors on `listener` until stopped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    database_url: &str,
    redis_url: Option<&str>,
    jwt_secret: &str,
) -> anyhow::Result<()> {
    if !database_url.starts_with("postgres") {
        anyhow::bail!("the floors read a seeded PostgreSQL database: set DATABASE_URL to it");
    }
    let pg = PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect(database_url)
        .await
        .context("connecting to DATABASE_URL")?;
    let redis = match redis_url {
        Some(url) => Some(
            redis::aio::ConnectionManager::new(redis::Client::open(url).context("REDIS_URL")?)
                .await
                .context("connecting to REDIS_URL")?,
        ),
        None => None,
    };
    let map = load(&pg, redis.clone()).await?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub", "iat"]);
    let floor = Arc::new(Floor {
        encoding: EncodingKey::from_secret(jwt_secret.as_bytes()),
        decoding: DecodingKey::from_secret(jwt_secret.as_bytes()),
        validation,
        map,
        redis,
        pg,
    });
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/{kind}/api/v1/auth/login", post(login))
        .route("/memory/api/v1/products/barcode/{code}", get(from_memory))
        .route("/redis/api/v1/products/barcode/{code}", get(from_redis))
        .route("/postgres/api/v1/products/barcode/{code}", get(from_postgres))
        .with_state(floor);
    eprintln!("floor servers on http://{}/{{memory,redis,postgres}}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Every answer of every store, into the map and (when configured) Redis.
async fn load(
    pg: &PgPool,
    redis: Option<redis::aio::ConnectionManager>,
) -> anyhow::Result<HashMap<String, HashMap<String, Bytes>>> {
    use tokio_stream::StreamExt;
    let started = std::time::Instant::now();
    let mut rows = sqlx::query_as::<_, (String, String, String)>(EVERY_ANSWER).fetch(pg);
    let mut map: HashMap<String, HashMap<String, Bytes>> = HashMap::new();
    let mut pipe = redis::pipe();
    let mut piped = 0;
    let mut count = 0u64;
    while let Some(row) = rows.next().await {
        let (store, code, answer) = row?;
        if redis.is_some() {
            pipe.set(format!("floor:{store}:{code}"), answer.as_str()).ignore();
            piped += 1;
        }
        map.entry(store).or_default().insert(code, Bytes::from(answer));
        count += 1;
        if let Some(r) = &redis
            && piped >= 1000
        {
            pipe.query_async::<()>(&mut r.clone()).await?;
            pipe = redis::pipe();
            piped = 0;
        }
    }
    if let Some(r) = &redis
        && piped > 0
    {
        pipe.query_async::<()>(&mut r.clone()).await?;
    }
    eprintln!("{count} answers loaded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(map)
}

#[derive(Deserialize)]
struct Login {
    store: String,
}

async fn login(State(floor): State<Arc<Floor>>, Json(login): Json<Login>) -> Response {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: uuid::Uuid::new_v4(),
        store_id: login.store,
        role: "cashier".into(),
        iat: now,
        exp: now + Duration::from_secs(12 * 3600).as_secs() as i64,
    };
    match jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &floor.encoding) {
        Ok(token) => Json(serde_json::json!({ "token": token })).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The store of a valid token (signature, algorithm, expiry), as Tills checks one.
fn store(floor: &Floor, headers: &HeaderMap) -> Option<String> {
    let token = headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")?;
    Some(jsonwebtoken::decode::<Claims>(token, &floor.decoding, &floor.validation).ok()?.claims.store_id)
}

fn answer(body: Option<Bytes>) -> Response {
    match body {
        Some(body) => ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn from_memory(State(floor): State<Arc<Floor>>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(store) = store(&floor, &headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    answer(floor.map.get(&store).and_then(|codes| codes.get(&code)).cloned())
}

async fn from_redis(State(floor): State<Arc<Floor>>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(store) = store(&floor, &headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    let Some(redis) = &floor.redis else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    match redis.clone().get::<_, Option<Vec<u8>>>(format!("floor:{store}:{code}")).await {
        Ok(body) => answer(body.map(Bytes::from)),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn from_postgres(State(floor): State<Arc<Floor>>, Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(store) = store(&floor, &headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    match sqlx::query_scalar::<_, String>(ONE_ANSWER).bind(store).bind(code).fetch_optional(&floor.pg).await {
        Ok(body) => answer(body.map(Bytes::from)),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
