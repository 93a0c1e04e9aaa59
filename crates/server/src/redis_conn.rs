//! The one Redis connection type the product cache, the login throttle and `tills cache
//! invalidate` share: a single node or a Redis Cluster, chosen by `REDIS_URL`.
//!
//! - `redis://host:6379` (one URL): one multiplexed connection that reconnects by itself
//!   (`ConnectionManager`).
//! - `redis://10.0.0.1:7001,redis://10.0.0.2:7001,redis://10.0.0.3:7001`, or
//!   `redis+cluster://10.0.0.1:7001,10.0.0.2:7001` (several nodes, or the cluster scheme even with
//!   one seed): redis-rs's cluster client, which learns the slot map from any reachable node,
//!   keeps one connection per node and follows `MOVED`/`ASK`.
//!
//! What the callers must know about a cluster:
//! - every command or pipeline must stay in one hash slot. Tills's keys carry the store as a hash
//!   tag (`product:{<store>}:…`, `productgen:{<store>}`, `login:{<store>}:…`), so a store's reads,
//!   its compare-and-set fill and its invalidation are single-slot; `login-addr:<ip>` is not tied
//!   to a store and is queried on its own;
//! - the client routes `PUBLISH` by its channel's slot, so a pipeline of a store's writes plus a
//!   `PUBLISH` would be refused as cross-slot: [`RedisConn::write_then_publish`] sends them as two
//!   requests on a cluster (one round trip on a single node);
//! - pub/sub: the server broadcasts a `PUBLISH` to every node of the cluster, so a subscriber
//!   may listen on any one node; [`RedisUrl::nodes`] lists them, in order, for the subscriber to
//!   move on to the next when one drops.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value};

const CLUSTER_SCHEME: &str = "redis+cluster://";

/// A parsed `REDIS_URL`: one node, or the seed nodes of a cluster (each a full `redis://` URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    nodes: Vec<String>,
    cluster: bool,
}

impl RedisUrl {
    /// Nodes are separated by commas. A node written as bare `host:port` takes the scheme and
    /// credentials of the first (`redis+cluster://:secret@a:7001,b:7002`), since every node of
    /// a cluster needs the same ones.
    pub fn parse(input: &str) -> Result<Self, String> {
        let pieces: Vec<&str> = input.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        let Some(first) = pieces.first() else { return Err("no Redis node given".to_owned()) };
        let cluster_scheme = first.starts_with(CLUSTER_SCHEME);
        let first = match first.strip_prefix(CLUSTER_SCHEME) {
            Some(rest) => format!("redis://{rest}"),
            None => (*first).to_owned(),
        };
        // "redis://user:pass@" of the first node, for bare nodes after it.
        let prefix = match first.split_once("://") {
            Some((scheme, rest)) => match rest.rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[..=at]),
                None => format!("{scheme}://"),
            },
            None => return Err(format!("{first}: not a redis:// URL")),
        };
        let mut nodes = vec![first];
        for p in &pieces[1..] {
            nodes.push(match p.strip_prefix(CLUSTER_SCHEME) {
                Some(rest) => format!("redis://{rest}"),
                None if p.contains("://") => (*p).to_owned(),
                None => format!("{prefix}{p}"),
            });
        }
        for n in &nodes {
            n.as_str().into_connection_info().map_err(|e| format!("{}: {e}", redact(n)))?;
        }
        Ok(RedisUrl { cluster: cluster_scheme || nodes.len() > 1, nodes })
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// Every node named, as a `redis://` URL: the one node, or the cluster's seeds.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }
}

/// A node's URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

/// How long to wait for Redis: a connection, and each answer.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

/// A connection to a single Redis or to a Redis Cluster; cheap to clone (clones share it).
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// Connects lazily, in the background: Tills starts and serves while Redis is down, and both
    /// kinds reconnect by themselves (the cluster client to each node, refreshing its slot map).
    /// Needs a Tokio runtime.
    pub fn lazy(url: &RedisUrl, timeouts: Timeouts) -> RedisResult<Self> {
        if url.is_cluster() {
            let client = ClusterClientBuilder::new(url.nodes().iter().map(String::as_str))
                // One retry: a MOVED after a resharding costs one; a dead node should cost an
                // error quickly, not a string of waits (the callers fall back to the database).
                .retries(1)
                .min_retry_wait(5)
                .max_retry_wait(100)
                .build()?;
            let config =
                ClusterConfig::new().set_connection_timeout(timeouts.connect).set_response_timeout(timeouts.response);
            Ok(RedisConn::Cluster(client.get_pending_async_connection_with_config(config)))
        } else {
            let client = redis::Client::open(url.nodes()[0].as_str())?;
            let config = ConnectionManagerConfig::new()
                .set_response_timeout(Some(timeouts.response))
                .set_connection_timeout(Some(timeouts.connect))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            Ok(RedisConn::Single(ConnectionManager::new_lazy_with_config(client, config)?))
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }

    /// Runs `writes` (commands on keys of one hash slot), then publishes `message` on `channel`
    /// — in that order, so a subscriber that reacts to the message finds the writes done. One
    /// round trip on a single node; two on a cluster, whose client refuses a pipeline that spans
    /// slots (it routes `PUBLISH` by the channel's slot; the server broadcasts it to all nodes).
    ///
    /// On a cluster, `Publish::Anyway` sends the message even when the writes failed (their node
    /// is down): the other instances then still drop their in-process entries, and their reads of
    /// that node fail over to the database anyway. The writes' error is returned first.
    pub async fn write_then_publish(
        &mut self,
        mut writes: Pipeline,
        channel: &str,
        message: &str,
        publish: Publish,
    ) -> RedisResult<()> {
        if self.is_cluster() {
            let written = writes.query_async::<()>(self).await;
            if written.is_err() && publish == Publish::IfWritten {
                return written;
            }
            let published = redis::cmd("PUBLISH").arg(channel).arg(message).query_async::<()>(self).await;
            written.and(published)
        } else {
            writes.cmd("PUBLISH").arg(channel).arg(message).ignore();
            writes.query_async::<()>(self).await
        }
    }
}

/// Whether [`RedisConn::write_then_publish`] publishes after writes that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    Anyway,
    IfWritten,
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_is_a_single_node() {
        let u = RedisUrl::parse(" redis://127.0.0.1:6379/3 ").unwrap();
        assert!(!u.is_cluster());
        assert_eq!(u.nodes(), ["redis://127.0.0.1:6379/3"]);
    }

    #[test]
    fn several_urls_are_a_cluster() {
        let u = RedisUrl::parse("redis://127.0.0.1:7001,redis://127.0.0.1:7002, redis://127.0.0.1:7003").unwrap();
        assert!(u.is_cluster());
        assert_eq!(u.nodes(), ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002", "redis://127.0.0.1:7003"]);
    }

    #[test]
    fn the_cluster_scheme_lends_scheme_and_credentials_to_bare_nodes() {
        let u = RedisUrl::parse("redis+cluster://:s3cret@10.0.0.1:7001,10.0.0.2:7001").unwrap();
        assert!(u.is_cluster());
        assert_eq!(u.nodes(), ["redis://:s3cret@10.0.0.1:7001", "redis://:s3cret@10.0.0.2:7001"]);
        let one = RedisUrl::parse("redis+cluster://10.0.0.1:7001").unwrap();
        assert!(one.is_cluster(), "the scheme says cluster even with one seed");
        assert_eq!(redact("redis://:s3cret@10.0.0.1:7001"), "redis://***@10.0.0.1:7001");
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(RedisUrl::parse("").is_err());
        assert!(RedisUrl::parse(" , ").is_err());
        assert!(RedisUrl::parse("localhost:6379").is_err());
        assert!(RedisUrl::parse("redis://127.0.0.1:7001,http://x").is_err());
    }
}
