//! The product cache on a Redis Cluster: each test starts a three-master cluster of its own on
//! free loopback ports (killed with the test) and gives Tills the three nodes as `REDIS_URL`.
//! Key placement and fills, every kind of write reaching other instances, whole-store
//! invalidation, stores with equal barcodes, and a master killed while scans go on.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::json;
use tills_server::cache::CacheConfig;
use tills_testkit::{Backend, TempDir};

use crate::cache::{
    config, eventually, login_failures_count_on_every_instance, redis_value, scan, three_instances_agree,
    two_instances_see_every_write_within_a_second, unique,
};
use crate::helpers::TestApp;
use crate::helpers::{metric_sum, metrics_text};

const MASTERS: usize = 3;

/// Three redis-server processes in cluster mode, their slots assigned by `redis-cli --cluster
/// create`. Dropping it kills them.
pub struct OwnCluster {
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
    /// (first slot, last slot) ranges each node serves.
    slots: Vec<Vec<(u16, u16)>>,
    _dir: TempDir,
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// Free loopback ports, all held until every one is chosen (so none is handed out twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli must be installed for this test (apt-get install -y redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_node(port: u16, bus: u16, dir: &Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--cluster-port", &bus.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-config-file"])
        .arg(dir.join(format!("nodes-{port}.conf")))
        // A cache: a master that dies takes only its own slots with it; the others keep serving.
        .args(["--cluster-require-full-coverage", "no", "--cluster-node-timeout", "5000"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed for this test (apt-get install -y redis-server)")
}

impl OwnCluster {
    pub fn start() -> OwnCluster {
        let dir = TempDir::new();
        // Client ports and cluster-bus ports (Redis's default bus port, port + 10000, may be taken
        // or out of range for a free port).
        let all = free_ports(2 * MASTERS);
        let (ports, buses) = all.split_at(MASTERS);
        let mut cluster = OwnCluster {
            ports: ports.to_vec(),
            children: ports.iter().zip(buses).map(|(p, b)| Some(spawn_node(*p, *b, &dir.path))).collect(),
            slots: Vec::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in &cluster.ports {
            while !redis_cli(*port, &["PING"]).contains("PONG") {
                assert!(Instant::now() < deadline, "redis-server on port {port} did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let nodes: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed for this test (apt-get install -y redis-tools)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for port in &cluster.ports {
            while !redis_cli(*port, &["CLUSTER", "INFO"]).contains("cluster_state:ok") {
                assert!(Instant::now() < deadline, "the cluster did not reach cluster_state:ok");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster.slots = cluster.ports.iter().map(|p| own_slots(&redis_cli(*p, &["CLUSTER", "NODES"]))).collect();
        assert!(cluster.slots.iter().all(|s| !s.is_empty()), "every master serves slots: {:?}", cluster.slots);
        cluster
    }

    /// `REDIS_URL` for Tills: the three nodes.
    pub fn url(&self) -> String {
        self.ports.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }

    /// A plain connection to node `i` alone (no cluster routing: it sees only its own keys).
    pub async fn node(&self, i: usize) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.ports[i])).unwrap();
        client.get_multiplexed_async_connection().await.expect("connect to a cluster node")
    }

    /// Kills node `i` (SIGKILL): its slots become unreachable.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn alive(&self) -> usize {
        self.children.iter().position(Option::is_some).expect("a live node")
    }

    /// The hash slot of `key`, as the cluster computes it.
    pub async fn keyslot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut self.node(self.alive()).await).await.unwrap()
    }

    /// The node that serves `key`.
    pub async fn owner(&self, key: &str) -> usize {
        let slot = self.keyslot(key).await;
        self.slots.iter().position(|ranges| ranges.iter().any(|(a, b)| (*a..=*b).contains(&slot))).unwrap()
    }

    /// A store id no earlier run used whose keys live on node `i`.
    pub async fn store_on(&self, i: usize, prefix: &str) -> String {
        loop {
            let id = unique(prefix);
            if self.owner(&format!("{{{id}}}")).await == i {
                return id;
            }
        }
    }
}

/// The slot ranges of the `myself` line of `CLUSTER NODES`.
fn own_slots(nodes: &str) -> Vec<(u16, u16)> {
    let Some(line) = nodes.lines().find(|l| l.contains("myself")) else { return Vec::new() };
    line.split_whitespace()
        .skip(8)
        .filter_map(|r| match r.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => r.parse().ok().map(|s| (s, s)),
        })
        .collect()
}

fn errors(metrics: &str) -> f64 {
    metric_sum(metrics, "tills_product_cache_requests_total", &["tier=\"redis\"", "result=\"error\""])
}

/// Keys carry the store as a hash tag: a store's entries and its generation share the slot of
/// its id, on one node. A scan fills that node; whole-store and per-barcode invalidation work
/// there; two stores on different nodes with the same barcode never see each other's product.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_live_in_their_stores_slot_and_fill_and_invalidate_there() {
    let cluster = OwnCluster::start();
    let app = TestApp::spawn_instances(Backend::Sqlite, 1, config(&cluster.url())).await.remove(0);
    let platform = app.platform_token().await;
    let (a_id, b_id) = (cluster.store_on(0, "cl-a").await, cluster.store_on(1, "cl-b").await);
    let a = app.create_store(&platform, &a_id).await;
    let b = app.create_store(&platform, &b_id).await;
    let code = "5449000000996";
    let pa = app.post("/api/v1/products", &a, json!({"name": "Cola", "barcode": code, "price": 150})).await.expect(201);
    app.post("/api/v1/products", &b, json!({"name": "B Cola", "barcode": code, "price": 99})).await.expect(201);

    for id in [&a_id, &b_id] {
        let slot = cluster.keyslot(id).await;
        assert_eq!(
            cluster.keyslot(&format!("product:{{{id}}}:{code}")).await,
            slot,
            "a product key is in its store's slot"
        );
        assert_eq!(cluster.keyslot(&format!("productgen:{{{id}}}")).await, slot, "so is the store's generation");
    }

    // A scan fills the store's node; read there directly.
    assert_eq!(scan(&app, &a, code).await.1["product"]["name"], "Cola");
    assert_eq!(scan(&app, &b, code).await.1["product"]["name"], "B Cola");
    assert_eq!(scan(&app, &a, "0000000000000").await.0, 404);
    let (mut node_a, mut node_b) = (cluster.node(0).await, cluster.node(1).await);
    let a_key = format!("product:{{{a_id}}}:{code}");
    let b_key = format!("product:{{{b_id}}}:{code}");
    let value = redis_value(&mut node_a, &a_key, |_| true).await;
    assert!(value.starts_with("0|") && value.contains("\"name\":\"Cola\""), "{value}");
    let ttl: i64 = node_a.ttl(&a_key).await.unwrap();
    assert!((3500..=3600).contains(&ttl), "one hour: {ttl}");
    let negative_key = format!("product:{{{a_id}}}:0000000000000");
    assert_eq!(redis_value(&mut node_a, &negative_key, |_| true).await, "0|-");
    let negative: i64 = node_a.ttl(&negative_key).await.unwrap();
    assert!((1..=60).contains(&negative), "unknown barcodes briefly: {negative}");
    let value_b = redis_value(&mut node_b, &b_key, |_| true).await;
    assert!(value_b.contains("\"name\":\"B Cola\""), "{value_b}");

    // Whole-store invalidation: A's generation goes up on A's node; B's entry stays as it was.
    app.post("/api/v1/cache/products/invalidate", &a, json!({})).await.expect(204);
    let generation: i64 = node_a.get(format!("productgen:{{{a_id}}}")).await.unwrap();
    assert_eq!(generation, 1);
    assert_eq!(node_b.get::<_, String>(&b_key).await.unwrap(), value_b, "A's invalidation never touches B");
    // The next scan misses (old generation), reads the database and refills under generation 1.
    assert_eq!(scan(&app, &a, code).await.1["product"]["name"], "Cola");
    let value = redis_value(&mut node_a, &a_key, |v| v.starts_with("1|")).await;
    assert!(value.contains("\"name\":\"Cola\""), "refilled under the new generation: {value}");

    // A product write tombstones the barcode on A's node; the next scan answers the new truth and
    // refills (the compare-and-set runs on that node).
    let path = format!("/api/v1/products/{}", pa["id"].as_str().unwrap());
    app.patch(&path, &a, json!({"price": 175})).await.expect(200);
    let tombstone: String = node_a.get(&a_key).await.unwrap();
    assert!(tombstone.starts_with('~'), "{tombstone}");
    assert_eq!(scan(&app, &a, code).await.1["product"]["price"], 175);
    let value = redis_value(&mut node_a, &a_key, |v| !v.starts_with('~')).await;
    assert!(value.starts_with("1|") && value.contains("\"price\":175"), "{value}");

    // Equal barcodes in two stores, on two nodes, never cross.
    assert_eq!(scan(&app, &a, code).await.1["product"]["name"], "Cola");
    assert_eq!(scan(&app, &b, code).await.1["product"]["name"], "B Cola");
    assert_eq!(scan(&app, &b, code).await.1["product"]["price"], 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_cluster_see_every_write_within_a_second() {
    let cluster = OwnCluster::start();
    two_instances_see_every_write_within_a_second(Backend::Postgres, &cluster.url()).await;
}

/// The login throttle's keys (`login:{<store>}:<email>`, `login-addr:<ip>`) sit in different
/// slots; each is counted on its own node, for every instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling_is_shared_through_a_cluster() {
    let cluster = OwnCluster::start();
    login_failures_count_on_every_instance(&cluster.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_a_cluster() {
    let cluster = OwnCluster::start();
    three_instances_agree(&cluster.url()).await;
}

/// A master dies while terminals scan: every scan still answers 200 with the right product
/// (keys of the dead node's slots from the database, counted as Redis errors), stores on the
/// other nodes keep their Redis entries, and invalidations keep reaching the other instance
/// (its subscription moves to a live node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_answer_while_a_cluster_node_is_dead() {
    let mut cluster = OwnCluster::start();
    let url = cluster.url();
    // Instance one keeps products in memory briefly, so its scans reach Redis during the test;
    // instance two keeps them the usual 20 s, so only an invalidation message refreshes it.
    let one = TestApp::spawn_instances(
        Backend::Sqlite,
        1,
        CacheConfig { memory_ttl: Duration::from_millis(200), ..config(&url) },
    )
    .await
    .remove(0);
    let two = one.another(config(&url)).await;
    let platform = one.platform_token().await;
    // Store A lives on node 0, which dies; store B on node 1, which lives.
    let (a_id, b_id) = (cluster.store_on(0, "dead").await, cluster.store_on(1, "live").await);
    let a = one.create_store(&platform, &a_id).await;
    let b = one.create_store(&platform, &b_id).await;
    let codes: Vec<String> = (1..=5).map(|i| format!("77{i}")).collect();
    let mut b_ids = Vec::new();
    for c in &codes {
        one.post("/api/v1/products", &a, json!({"name": format!("A {c}"), "barcode": c, "price": 100}))
            .await
            .expect(201);
        let p = one
            .post("/api/v1/products", &b, json!({"name": format!("B {c}"), "barcode": c, "price": 200}))
            .await
            .expect(201);
        b_ids.push(p["id"].as_str().unwrap().to_owned());
    }
    for c in &codes {
        for app in [&one, &two] {
            assert_eq!(scan(app, &a, c).await.1["product"]["name"], format!("A {c}"));
            assert_eq!(scan(app, &b, c).await.1["product"]["name"], format!("B {c}"));
        }
    }
    let mut live = cluster.node(1).await;
    redis_value(&mut live, &format!("product:{{{b_id}}}:771"), |_| true).await; // B's entries are on node 1
    let errors_before = errors(&metrics_text(&one).await);

    cluster.kill(0);

    // Two seconds of scans on both instances: all answer, all right.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        for c in &codes {
            for app in [&one, &two] {
                let (status, body) = scan(app, &a, c).await;
                assert_eq!(
                    (status, body["product"]["name"].as_str()),
                    (200, Some(format!("A {c}").as_str())),
                    "{body}"
                );
                let (status, body) = scan(app, &b, c).await;
                assert_eq!(
                    (status, body["product"]["name"].as_str()),
                    (200, Some(format!("B {c}").as_str())),
                    "{body}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let errors_after = errors(&metrics_text(&one).await);
    assert!(
        errors_after > errors_before,
        "reads of the dead node are counted as Redis errors ({errors_before} → {errors_after})"
    );

    // B's node still answers: a product deleted behind the cache's back (no invalidation) is
    // still found by a fresh instance, which can only have read it from Redis.
    let b_store = tills_domain::StoreId::parse(&b_id).unwrap();
    one.store.delete_product(&b_store, b_ids[4].parse().unwrap()).await.unwrap();
    let fresh = one.another(config(&url)).await;
    eventually(Duration::from_secs(2), "B's entries served from its live node", || async {
        scan(&fresh, &b, "775").await.0 == 200
    })
    .await;

    // Writes on instance one still reach instance two within a second, for both stores: for B
    // through B's node and pub/sub on a live node; for A (its node is dead) through the message
    // alone, instance two's Redis reads of A going to the database.
    one.patch(&format!("/api/v1/products/{}", b_ids[0]), &b, json!({"price": 210})).await.expect(200);
    eventually(Duration::from_secs(1), "B's new price on instance two", || async {
        scan(&two, &b, "771").await.1["product"]["price"] == 210
    })
    .await;
    let a_id_of_772 =
        one.get("/api/v1/products?q=772", &a).await.expect(200)["items"][0]["id"].as_str().unwrap().to_owned();
    one.patch(&format!("/api/v1/products/{a_id_of_772}"), &a, json!({"price": 110})).await.expect(200);
    assert_eq!(scan(&one, &a, "772").await.1["product"]["price"], 110, "at once on the instance that wrote");
    eventually(Duration::from_secs(1), "A's new price on instance two", || async {
        scan(&two, &a, "772").await.1["product"]["price"] == 110
    })
    .await;
}
