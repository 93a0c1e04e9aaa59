//! The Redis tier: one connection (a single node or a cluster, see [`crate::redis_conn`]) that
//! reconnects by itself, bounded timeouts, and a pub/sub channel that tells every instance what
//! to drop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tills_storage::{BarcodeMatch, StoreId};
use tokio::sync::{Mutex, mpsc};
use tokio_stream::StreamExt;

use super::Cached;
use super::memory::MemoryTier;
use crate::redis_conn::{Publish, RedisConn, RedisUrl, Timeouts, redact};

const CHANNEL: &str = "tills:cache:invalidate";
/// A tombstone outlives any database read that began before the write it marks.
const TOMBSTONE_SECS: u64 = 30;
/// Refills waiting to be written; a refill that finds the queue full is dropped (the entry is
/// filled by a later miss).
const FILL_QUEUE: usize = 4096;
/// Refills written in one round trip, at most.
const FILL_BATCH: usize = 256;
/// A refill this old is dropped rather than written: far inside a tombstone's life, so a
/// tombstone it would have to fail against is still there.
const FILL_MAX_AGE: Duration = Duration::from_secs(5);
/// The compare-and-set of a refill whose reader saw a value (an old generation's entry, or a
/// tombstone): both keys carry the store's hash tag, so the script runs on one cluster node.
const FILL_OVER: &str = r"local cur = redis.call('GET', KEYS[1]) or ''
  local gen = redis.call('GET', KEYS[2]) or '0'
  if cur == ARGV[1] and gen == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
    return 1
  end
  return 0";

#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// One node, or a cluster's nodes separated by commas (see [`RedisUrl::parse`]).
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

/// What a reader saw, for the compare-and-set of its refill, and the keys it read.
#[derive(Debug, Clone)]
pub struct Observed {
    key: String,
    generation_key: String,
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
    conn: RedisConn,
    instance: String,
    /// Refills, written in the background by [`write_fills`].
    fills: mpsc::Sender<Fill>,
    /// Stores whose invalidation Redis did not take; retried until it does.
    pending: Arc<Mutex<Vec<StoreId>>>,
}

impl RedisTier {
    /// Connects lazily: Tills starts and serves while Redis is down, and reconnects by itself.
    pub fn new(config: RedisConfig, memory: MemoryTier) -> Result<Self, String> {
        let url = RedisUrl::parse(&config.url)?;
        let timeouts = Timeouts { connect: Duration::from_millis(500), response: config.timeout };
        let conn = RedisConn::lazy(&url, timeouts).map_err(|e| e.to_string())?;
        // Until the invalidation channel is subscribed, other instances' writes go unheard.
        memory.channel_down();
        let instance = tills_domain::new_id().to_string();
        let pending = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(subscribe(url, memory, instance.clone()));
        tokio::spawn(retry_pending(conn.clone(), pending.clone(), config.timeout, instance.clone()));
        let (fills, queued) = mpsc::channel(FILL_QUEUE);
        tokio::spawn(write_fills(conn.clone(), queued, config.timeout));
        Ok(RedisTier { config, conn, instance, fills, pending })
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
        let (value, generation): (Option<String>, Option<String>) = self.timed(c.mget(&keys)).await?;
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
        let [key, generation_key] = keys;
        Ok(Read::Miss(Observed { key, generation_key, value, generation }))
    }

    /// Stores what the database said, unless the entry or the generation changed since the read:
    /// queued, and written shortly after in one round trip with other refills ([`write_fills`]).
    /// The scan does not wait for it. False when the queue was full and the refill dropped.
    pub fn fill(&self, seen: Observed, value: Option<&BarcodeMatch>) -> bool {
        let (payload, ttl) = match value {
            Some(v) => (serde_json::to_string(v).unwrap_or_default(), self.config.ttl),
            None => ("-".to_owned(), self.config.negative_ttl),
        };
        if payload.is_empty() {
            return true;
        }
        let fill = Fill {
            entry: format!("{}|{payload}", seen.generation),
            seen,
            ttl_secs: ttl.as_secs().max(1),
            queued_at: Instant::now(),
        };
        self.fills.try_send(fill).is_ok()
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
        let message = serde_json::to_string(&message).unwrap_or_default();
        let mut c = self.conn.clone();
        if let Err(e) =
            self.timed(async move { c.write_then_publish(pipe, CHANNEL, &message, Publish::Anyway).await }).await
        {
            self.defer(store, e).await;
        }
    }

    /// Bumps the store's generation and tells the other instances.
    pub async fn invalidate_store(&self, store: &StoreId) {
        let mut c = self.conn.clone();
        if let Err(e) = self.timed(bump(&mut c, store, &self.instance, Publish::Anyway)).await {
            self.defer(store, e).await;
        }
    }

    async fn defer(&self, store: &StoreId, e: redis::RedisError) {
        count_error();
        tracing::warn!(%store, error = %e, "cache invalidation did not reach Redis; retrying it for the whole store");
        let mut pending = self.pending.lock().await;
        if !pending.contains(store) {
            pending.push(store.clone());
        }
    }
}

/// Counts a Redis failure off a scan's path, with the scans' own (`redis`, `error`).
fn count_error() {
    super::cache_requests("redis", "error").increment(1);
}

/// A refill waiting in the queue.
struct Fill {
    /// `<generation>|<payload>`.
    entry: String,
    seen: Observed,
    ttl_secs: u64,
    queued_at: Instant,
}

impl Fill {
    /// The compare-and-set as one command. Where the reader saw no entry (a cold key: nearly every
    /// refill), a plain `SET … NX`: it fails on an entry or a tombstone written since, and an
    /// entry written under an older generation is never answered (readers compare it). Otherwise
    /// the script compares the value and the generation.
    fn command(&self) -> redis::Cmd {
        match &self.seen.value {
            None => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(&self.seen.key).arg(&self.entry).arg("NX").arg("EX").arg(self.ttl_secs);
                cmd
            }
            Some(seen) => {
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(FILL_OVER)
                    .arg(2)
                    .arg(&self.seen.key)
                    .arg(&self.seen.generation_key)
                    .arg(seen)
                    .arg(&self.seen.generation)
                    .arg(&self.entry)
                    .arg(self.ttl_secs);
                cmd
            }
        }
    }
}

/// Writes queued refills: whatever waits (up to [`FILL_BATCH`]) in one pipeline on a single
/// node; on a cluster, whose client refuses a pipeline that spans slots, each refill is a command
/// of its own, sent together. A failed or slow write drops its refills: a later miss fills again.
async fn write_fills(conn: RedisConn, mut queued: mpsc::Receiver<Fill>, timeout: Duration) {
    let mut batch = Vec::with_capacity(FILL_BATCH);
    while queued.recv_many(&mut batch, FILL_BATCH).await > 0 {
        batch.retain(|f| f.queued_at.elapsed() < FILL_MAX_AGE);
        if batch.is_empty() {
            continue;
        }
        let written = if conn.is_cluster() {
            let sends = batch.iter().map(|f| {
                let mut c = conn.clone();
                async move { f.command().query_async::<redis::Value>(&mut c).await.map(drop) }
            });
            tokio::time::timeout(timeout, futures_util::future::join_all(sends))
                .await
                .map(|all| all.into_iter().collect::<redis::RedisResult<()>>())
        } else {
            let mut pipe = redis::pipe();
            for f in &batch {
                pipe.add_command(f.command()).ignore();
            }
            let mut c = conn.clone();
            tokio::time::timeout(timeout, async move { pipe.query_async::<()>(&mut c).await }).await
        };
        if !matches!(written, Ok(Ok(()))) {
            count_error();
            tracing::debug!(refills = batch.len(), "redis refills failed or timed out; dropped");
        }
        batch.clear();
    }
}

async fn bump(c: &mut RedisConn, store: &StoreId, instance: &str, publish: Publish) -> redis::RedisResult<()> {
    let message = Message { i: instance.to_owned(), s: store.to_string(), b: None };
    let mut incr = redis::pipe();
    incr.cmd("INCR").arg(generation_key(store)).ignore();
    c.write_then_publish(incr, CHANNEL, &serde_json::to_string(&message).unwrap_or_default(), publish).await
}

/// Retries failed invalidations (as whole-store ones) until Redis takes them. The first attempt
/// already told the other instances (when it could): a retry publishes only once the bump is in,
/// so a store whose cluster node stays down does not have every instance's in-process entries
/// dropped five times a second.
async fn retry_pending(mut conn: RedisConn, pending: Arc<Mutex<Vec<StoreId>>>, timeout: Duration, instance: String) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stores: Vec<StoreId> = pending.lock().await.clone();
        for store in stores {
            let ok = matches!(
                tokio::time::timeout(timeout * 4, bump(&mut conn, &store, &instance, Publish::IfWritten)).await,
                Ok(Ok(()))
            );
            if ok {
                pending.lock().await.retain(|s| s != &store);
                tracing::info!(%store, "deferred cache invalidation reached Redis");
            }
        }
    }
}

/// Listens for other instances' invalidations; on every (re)subscription drops the whole
/// in-process tier, since messages may have been lost meanwhile.
///
/// One node at a time: on a cluster every node relays every `PUBLISH`, so any node will do; when
/// the one listened to drops or cannot be reached, the next of `REDIS_URL`'s list is tried.
async fn subscribe(url: RedisUrl, memory: MemoryTier, instance: String) {
    let nodes = url.nodes();
    for node in nodes.iter().cycle() {
        let subscribed = listen(node, &memory, &instance).await;
        // A single node is retried after a pause; after a cluster node dropped, the next one is
        // tried at once, so invalidations reach this instance again quickly.
        if !(subscribed && nodes.len() > 1) {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Subscribes on `node` and applies messages until the connection drops. False when it could not
/// subscribe at all.
async fn listen(node: &str, memory: &MemoryTier, instance: &str) -> bool {
    let subscribed = async {
        let mut pubsub = redis::Client::open(node)?.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        redis::RedisResult::Ok(pubsub)
    };
    // Bounded: a node whose host does not answer must not hold up the move to the next one.
    let pubsub = match tokio::time::timeout(Duration::from_secs(2), subscribed).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            tracing::debug!(node = %redact(node), error = %e, "cannot reach Redis for invalidations");
            return false;
        }
        Err(_) => {
            tracing::debug!(node = %redact(node), "Redis did not answer the subscription in time");
            return false;
        }
    };
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
    tracing::warn!(node = %redact(node), "lost the cache invalidation channel; subscribing again");
    memory.channel_down();
    true
}
