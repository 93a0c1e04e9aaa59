//! The Redis tier: one multiplexed connection that reconnects by itself, bounded timeouts, and a
//! pub/sub channel that tells every instance what to drop.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use tills_storage::{BarcodeMatch, StoreId};
use tokio::sync::Mutex;
use tokio_stream::StreamExt;

use super::Cached;
use super::memory::MemoryTier;

const CHANNEL: &str = "tills:cache:invalidate";
/// A tombstone outlives any database read that began before the write it marks.
const TOMBSTONE_SECS: u64 = 30;

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Entries live this long (the legacy redesign's one hour).
    pub ttl: Duration,
    /// Unknown barcodes are remembered this long.
    pub negative_ttl: Duration,
    /// A Redis call slower than this counts as an error and the scan goes on without it.
    pub timeout: Duration,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(60),
            timeout: Duration::from_millis(50),
        }
    }
}

/// The key of a barcode: `product:{<storeId>}:<barcode>`.
pub fn product_key(store: &StoreId, barcode: &str) -> String {
    format!("product:{{{store}}}:{barcode}")
}

/// The store's generation, in the same hash slot as its products.
pub fn generation_key(store: &StoreId) -> String {
    format!("productgen:{{{store}}}")
}

/// What a reader saw, for the compare-and-set of its refill.
#[derive(Debug, Clone)]
pub struct Observed {
    value: Option<String>,
    generation: String,
}

pub enum Read {
    Hit(Cached),
    Miss(Observed),
}

#[derive(Serialize, Deserialize)]
struct Message {
    /// The sending instance.
    i: String,
    s: String,
    /// Barcodes, or none for the whole store.
    b: Option<Vec<String>>,
}

pub struct RedisTier {
    config: RedisConfig,
    conn: ConnectionManager,
    instance: String,
    fill: Script,
    /// Stores whose invalidation Redis did not take; retried until it does.
    pending: Arc<Mutex<Vec<StoreId>>>,
}

impl RedisTier {
    /// Connects lazily: Tills starts and serves while Redis is down, and reconnects by itself.
    pub fn new(config: RedisConfig, memory: MemoryTier) -> redis::RedisResult<Self> {
        let client = redis::Client::open(config.url.as_str())?;
        // Until the invalidation channel is subscribed, other instances' writes go unheard.
        memory.channel_down();
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.timeout))
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), manager_config)?;
        let instance = tills_domain::new_id().to_string();
        let pending = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(subscribe(client, memory, instance.clone()));
        tokio::spawn(retry_pending(conn.clone(), pending.clone(), config.timeout, instance.clone()));
        let fill = Script::new(
            r"local cur = redis.call('GET', KEYS[1]) or ''
              local gen = redis.call('GET', KEYS[2]) or '0'
              if cur == ARGV[1] and gen == ARGV[2] then
                redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
                return 1
              end
              return 0",
        );
        Ok(RedisTier { config, conn, instance, fill, pending })
    }

    async fn timed<T>(&self, f: impl Future<Output = redis::RedisResult<T>>) -> redis::RedisResult<T> {
        match tokio::time::timeout(self.config.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(redis::RedisError::from((redis::ErrorKind::Io, "redis timed out"))),
        }
    }

    pub async fn ping(&self) -> bool {
        let mut c = self.conn.clone();
        self.timed(async move { redis::cmd("PING").query_async::<String>(&mut c).await }).await.is_ok()
    }

    /// One round trip: the entry and the store's generation.
    pub async fn get(&self, store: &StoreId, barcode: &str) -> redis::RedisResult<Read> {
        let mut c = self.conn.clone();
        let keys = [product_key(store, barcode), generation_key(store)];
        let (value, generation): (Option<String>, Option<String>) =
            self.timed(async move { c.mget(&keys).await }).await?;
        let generation = generation.unwrap_or_else(|| "0".to_owned());
        if let Some(v) = &value
            && let Some((g, payload)) = v.split_once('|')
            && g == generation
        {
            if payload == "-" {
                return Ok(Read::Hit(None));
            }
            if let Ok(found) = serde_json::from_str::<BarcodeMatch>(payload) {
                return Ok(Read::Hit(Some(Arc::new(found.into()))));
            }
        }
        Ok(Read::Miss(Observed { value, generation }))
    }

    /// Stores what the database said, unless the entry or the generation changed since the read.
    pub async fn fill(
        &self,
        store: &StoreId,
        barcode: &str,
        seen: &Observed,
        value: Option<&BarcodeMatch>,
    ) -> redis::RedisResult<()> {
        let (payload, ttl) = match value {
            Some(v) => (serde_json::to_string(v).unwrap_or_default(), self.config.ttl),
            None => ("-".to_owned(), self.config.negative_ttl),
        };
        if payload.is_empty() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let mut invocation = self.fill.prepare_invoke();
        invocation
            .key(product_key(store, barcode))
            .key(generation_key(store))
            .arg(seen.value.as_deref().unwrap_or(""))
            .arg(&seen.generation)
            .arg(format!("{}|{payload}", seen.generation))
            .arg(ttl.as_secs().max(1));
        let _: i64 = self.timed(async move { invocation.invoke_async(&mut c).await }).await?;
        Ok(())
    }

    /// Tombstones the barcodes (an in-flight refill of an old value then fails) and tells the
    /// other instances. When Redis does not take it, the store is invalidated whole later.
    pub async fn invalidate_barcodes(&self, store: &StoreId, barcodes: &[String]) {
        let mut pipe = redis::pipe();
        for b in barcodes {
            let tombstone = format!("~{}", tills_domain::new_id());
            pipe.cmd("SET").arg(product_key(store, b)).arg(tombstone).arg("EX").arg(TOMBSTONE_SECS).ignore();
        }
        let message = Message { i: self.instance.clone(), s: store.to_string(), b: Some(barcodes.to_vec()) };
        pipe.cmd("PUBLISH").arg(CHANNEL).arg(serde_json::to_string(&message).unwrap_or_default()).ignore();
        let mut c = self.conn.clone();
        if let Err(e) = self.timed(async move { pipe.query_async::<()>(&mut c).await }).await {
            self.defer(store, e).await;
        }
    }

    /// Bumps the store's generation and tells the other instances.
    pub async fn invalidate_store(&self, store: &StoreId) {
        let mut c = self.conn.clone();
        if let Err(e) = self.timed(bump(&mut c, store, &self.instance)).await {
            self.defer(store, e).await;
        }
    }

    async fn defer(&self, store: &StoreId, e: redis::RedisError) {
        metrics::counter!("tills_product_cache_requests_total", "tier" => "redis", "result" => "error").increment(1);
        tracing::warn!(%store, error = %e, "cache invalidation did not reach Redis; retrying it for the whole store");
        let mut pending = self.pending.lock().await;
        if !pending.contains(store) {
            pending.push(store.clone());
        }
    }
}

async fn bump(c: &mut ConnectionManager, store: &StoreId, instance: &str) -> redis::RedisResult<()> {
    let message = Message { i: instance.to_owned(), s: store.to_string(), b: None };
    redis::pipe()
        .cmd("INCR")
        .arg(generation_key(store))
        .ignore()
        .cmd("PUBLISH")
        .arg(CHANNEL)
        .arg(serde_json::to_string(&message).unwrap_or_default())
        .ignore()
        .query_async(c)
        .await
}

/// Retries failed invalidations (as whole-store ones) until Redis takes them.
async fn retry_pending(
    mut conn: ConnectionManager,
    pending: Arc<Mutex<Vec<StoreId>>>,
    timeout: Duration,
    instance: String,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stores: Vec<StoreId> = pending.lock().await.clone();
        for store in stores {
            let ok = matches!(tokio::time::timeout(timeout * 4, bump(&mut conn, &store, &instance)).await, Ok(Ok(())));
            if ok {
                pending.lock().await.retain(|s| s != &store);
                tracing::info!(%store, "deferred cache invalidation reached Redis");
            }
        }
    }
}

/// Listens for other instances' invalidations; on every (re)connection drops the whole
/// in-process tier, since messages may have been lost meanwhile.
async fn subscribe(client: redis::Client, memory: MemoryTier, instance: String) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(CHANNEL).await.is_ok() {
                    memory.channel_up();
                    let mut messages = pubsub.into_on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(payload) = msg.get_payload::<String>() else { continue };
                        let Ok(m) = serde_json::from_str::<Message>(&payload) else { continue };
                        if m.i == instance {
                            continue;
                        }
                        let Ok(store) = StoreId::parse(&m.s) else { continue };
                        match m.b {
                            Some(codes) => memory.fence_barcodes(&store, &codes),
                            None => memory.fence_store(&store),
                        }
                    }
                    tracing::warn!("lost the cache invalidation channel; reconnecting");
                    memory.channel_down();
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot reach Redis for invalidations yet"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
