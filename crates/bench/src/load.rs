//! `tills bench`: an async load generator against any Tills deployment. It logs in as the
//! cashier of each seeded store, spreads requests over all stores, stops by itself at the end
//! of `--duration`, and reports per operation: requests, throughput, p50/p95/p99/max
//! (HdrHistogram), errors by status, the cache hit rate read from `/metrics`, and CPU time: the
//! generator's own, and the server's per request when given its processes (`--server-pid`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rand::Rng;
use serde::Serialize;
use serde_json::json;

use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;

use crate::wire::{Call, Client, Target};
use crate::{barcode, cashier_email, cpu, pack_barcode, product_id, shape, six_pack_unit, store_id};

/// How long one request may take before it counts as an error.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct BenchOptions {
    pub url: String,
    pub stores: usize,
    /// What the seeded stores must hold (`None`: whatever they hold, learned from the
    /// deployment).
    pub products_per_store: Option<usize>,
    pub duration: Duration,
    pub concurrency: usize,
    /// (operation, weight)
    pub mix: Vec<(Op, u32)>,
    pub password: String,
    /// Scan every barcode of every store (products and their 6-packs) exactly once, in a random
    /// order (cold caches: every lookup reaches the database), instead of the mix.
    pub cold: bool,
    /// The server's processes, for its CPU time per request (empty: not measured).
    pub server_pids: Vec<u32>,
}

/// What a request does. Sales and quotes come in both forms a cart takes: lines by barcode
/// (what a scanner-only client or an integration sends) and lines by `productId` (what the
/// terminal sends, `web/sale.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Scan,
    Search,
    Sale,
    SaleById,
    Quote,
    QuoteById,
}

impl Op {
    const ALL: [Op; 6] = [Op::Scan, Op::Search, Op::Sale, Op::SaleById, Op::Quote, Op::QuoteById];

    fn name(self) -> &'static str {
        match self {
            Op::Scan => "scan",
            Op::Search => "search",
            Op::Sale => "sale",
            Op::SaleById => "sale-by-id",
            Op::Quote => "quote",
            Op::QuoteById => "quote-by-id",
        }
    }
}

/// Parses `scan=85,search=5,sale=10`.
pub fn parse_mix(s: &str) -> anyhow::Result<Vec<(Op, u32)>> {
    let mut mix = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = part.split_once('=').context("the mix is like scan=85,search=5,sale=10")?;
        let op = Op::ALL.into_iter().find(|op| op.name() == name.trim()).with_context(|| {
            let names: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
            format!("unknown operation {} ({})", name.trim(), names.join(", "))
        })?;
        mix.push((op, weight.trim().parse().context("a weight is a whole number")?));
    }
    if mix.iter().map(|m| m.1).sum::<u32>() == 0 {
        bail!("the mix has no weight");
    }
    Ok(mix)
}

/// Parses `60s`, `2m`, `500ms`.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().context("a duration is like 60s, 2m or 500ms")?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("a duration is like 60s, 2m or 500ms"),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpReport {
    pub requests: u64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: BTreeMap<String, u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub duration_s: f64,
    pub concurrency: usize,
    pub stores: usize,
    /// Products per store, as the deployment holds them.
    pub products_per_store: usize,
    pub operations: BTreeMap<String, OpReport>,
    /// Every operation together: what a mixed day's throughput and p99 are judged by.
    pub all: Option<OpReport>,
    pub cache_hit_rate: Option<f64>,
    /// The generator's own CPU time during the run, and in cores (CPU seconds per second).
    pub generator_cpu_s: f64,
    pub generator_cores: f64,
    /// The server's processes' CPU time during the run, and per request (µs).
    pub server_cpu_s: Option<f64>,
    pub server_cpu_per_request_us: Option<f64>,
}

/// Above this the generator's figures start to measure the generator: on a machine it shares
/// with the server, every core it takes is one the server does not get.
pub const GENERATOR_BUSY_CORES: f64 = 0.5;

/// Latencies in microseconds, up to one minute, 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

struct Tally {
    latency: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<Op, BTreeMap<String, u64>>,
}

impl Tally {
    fn new() -> Self {
        let mut latency = BTreeMap::new();
        for op in Op::ALL {
            latency.insert(op, latency_histogram());
        }
        Tally { latency, errors: BTreeMap::new() }
    }
}

pub async fn run(opts: BenchOptions) -> anyhow::Result<Report> {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency.max(1))
        .timeout(TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let base = opts.url.trim_end_matches('/').to_owned();
    let tokens = login_all(&client, &base, &opts).await?;
    let target = Target::new(&base, client.clone(), TIMEOUT)?;
    // Each store's Authorization header, rendered once.
    let auth: Vec<(usize, HeaderValue)> = tokens
        .iter()
        .map(|(s, token)| Ok((*s, HeaderValue::from_str(&format!("Bearer {token}"))?)))
        .collect::<anyhow::Result<_>>()?;
    let products = {
        let mut probe = target.client();
        let (first, last) = (&auth[0], &auth[auth.len() - 1]);
        let in_first = shape::products_per_store(&mut probe, first.0, &first.1).await?;
        let in_last = shape::products_per_store(&mut probe, last.0, &last.1).await?;
        shape::agree(in_first, in_last, opts.stores, opts.products_per_store)?
    };
    // Logging in hashes a password per store on the server: say when the measured part begins.
    eprintln!("logged in as {} cashiers ({products} products each); measuring for {:?}", tokens.len(), opts.duration);
    let before = cache_counters(&client, &base).await;
    let (generator_before, server_before) = (cpu::own_seconds(), cpu::seconds(&opts.server_pids));
    let deadline = Instant::now() + opts.duration;
    let start = Instant::now();
    // For a cold run: every barcode of every store once (a product's, and its pack's for every
    // tenth product), shuffled, handed out by one counter.
    let permutation: Arc<Vec<(usize, usize, bool)>> = Arc::new(if opts.cold {
        use rand::seq::SliceRandom;
        let mut all: Vec<(usize, usize, bool)> = (0..tokens.len())
            .flat_map(|i| {
                let packs = (10..=products).step_by(10).map(move |p| (i, p, true));
                (1..=products).map(move |p| (i, p, false)).chain(packs)
            })
            .collect();
        all.shuffle(&mut rand::rng());
        all
    } else {
        Vec::new()
    });
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let shared = Arc::new((auth, opts.mix.clone(), products));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..opts.concurrency.max(1) {
        let (shared, permutation, next) = (shared.clone(), permutation.clone(), next.clone());
        let mut client = target.client();
        workers.spawn(async move {
            let (auth, mix, products) = &*shared;
            let mut tally = Tally::new();
            let total_weight: u32 = mix.iter().map(|m| m.1).sum();
            while Instant::now() < deadline {
                if !permutation.is_empty() {
                    let Some(&(i, p, pack)) = permutation.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    else {
                        break;
                    };
                    let (s, token) = &auth[i];
                    let code = if pack { pack_barcode(*s, p) } else { barcode(*s, p) };
                    record(&mut tally, Op::Scan, &mut client, scan(&code, token)).await;
                    continue;
                }
                let (op, i) = {
                    let mut rng = rand::rng();
                    let mut pick = rng.random_range(0..total_weight);
                    let op = mix
                        .iter()
                        .find(|(_, w)| {
                            if pick < *w {
                                true
                            } else {
                                pick -= w;
                                false
                            }
                        })
                        .map(|m| m.0)
                        .unwrap_or(Op::Scan);
                    (op, rng.random_range(0..auth.len()))
                };
                let (s, token) = &auth[i];
                let call = build(op, *s, token, *products);
                record(&mut tally, op, &mut client, call).await;
            }
            tally
        });
    }
    let mut total = Tally::new();
    while let Some(t) = workers.join_next().await {
        let t = t?;
        for (op, h) in t.latency {
            if let Some(all) = total.latency.get_mut(&op) {
                all.add(h).ok();
            }
        }
        for (op, errors) in t.errors {
            for (k, v) in errors {
                *total.errors.entry(op).or_default().entry(k).or_default() += v;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let generator_cpu_s = cpu::own_seconds() - generator_before;
    let server_cpu_s = server_before.zip(cpu::seconds(&opts.server_pids)).map(|(b, a)| a - b);
    let after = cache_counters(&client, &base).await;
    let cache_hit_rate = match (before, after) {
        (Some(b), Some(a)) => {
            let lookups = (a.0 - b.0) + (a.1 - b.1);
            (lookups > 0.0).then(|| ((a.0 - b.0) + (a.2 - b.2)) / lookups)
        }
        _ => None,
    };
    let report = |h: &Histogram<u64>, errors: BTreeMap<String, u64>| {
        let ms = |v: u64| v as f64 / 1000.0;
        OpReport {
            requests: h.len(),
            throughput: h.len() as f64 / elapsed,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            errors,
        }
    };
    let mut all = latency_histogram();
    let mut all_errors = BTreeMap::<String, u64>::new();
    let mut operations = BTreeMap::new();
    for (op, h) in total.latency.iter().filter(|(_, h)| !h.is_empty()) {
        let errors = total.errors.get(op).cloned().unwrap_or_default();
        all.add(h).ok();
        for (k, v) in &errors {
            *all_errors.entry(k.clone()).or_default() += v;
        }
        operations.insert(op.name().to_owned(), report(h, errors));
    }
    let requests = all.len();
    let all = (!all.is_empty()).then(|| report(&all, all_errors));
    let generator_cores = generator_cpu_s / elapsed;
    if generator_cores > GENERATOR_BUSY_CORES {
        eprintln!(
            "warning: the generator itself used {generator_cores:.2} cores: on a machine it shares with the \
             server, these figures partly measure the generator (fewer --concurrency, or another machine)"
        );
    }
    Ok(Report {
        duration_s: elapsed,
        concurrency: opts.concurrency,
        stores: opts.stores,
        products_per_store: products,
        operations,
        all,
        cache_hit_rate,
        generator_cpu_s,
        generator_cores,
        server_cpu_s,
        server_cpu_per_request_us: server_cpu_s.filter(|_| requests > 0).map(|s| s * 1e6 / requests as f64),
    })
}

/// Sends one request and records its latency and, unless 2xx, its status.
async fn record(tally: &mut Tally, op: Op, client: &mut Client, call: Call<'_>) {
    let t = Instant::now();
    let status = client.send(call).await;
    let micros = t.elapsed().as_micros().clamp(1, 60_000_000) as u64;
    if let Some(h) = tally.latency.get_mut(&op) {
        let _ = h.record(micros);
    }
    match status {
        Ok(200..=299) => {}
        Ok(status) => *tally.errors.entry(op).or_default().entry(status.to_string()).or_default() += 1,
        Err(e) => *tally.errors.entry(op).or_default().entry(e.to_owned()).or_default() += 1,
    }
}

/// A scan of `code`: the cold pass's and the mix's.
fn scan<'a>(code: &str, token: &'a HeaderValue) -> Call<'a> {
    Call { method: Method::GET, path: format!("/api/v1/products/barcode/{code}"), token, json: None }
}

/// The next request of `op` to store `s`: a random product's barcode, one of eight search
/// words, or a sale of five random lines (the last one a 6-pack) paid in cash.
fn build(op: Op, s: usize, token: &HeaderValue, products: usize) -> Call<'_> {
    let mut rng = rand::rng();
    let p = rng.random_range(1..=products.max(1));
    let (method, path, json) = match op {
        Op::Scan => return scan(&barcode(s, p), token),
        Op::Search => {
            let word = ["cola", "water", "tea", "milk", "bread", "rice", "soap", "cheese"][p % 8];
            (Method::GET, format!("/api/v1/products?q={word}&limit=20"), None)
        }
        Op::Sale | Op::SaleById | Op::Quote | Op::QuoteById => {
            let by_id = matches!(op, Op::SaleById | Op::QuoteById);
            let lines: Vec<String> = (0..5)
                .map(|i| {
                    let q = rng.random_range(1..=products.max(1));
                    let quantity = rng.random_range(1..=3);
                    match (i == 4 && products >= 10, by_id) {
                        (true, false) => format!(r#"{{"barcode":"{}"}}"#, pack_barcode(s, (q / 10).max(1) * 10)),
                        (true, true) => format!(
                            r#"{{"productId":"{}","unitId":"{}","quantity":1}}"#,
                            product_id(s, (q / 10).max(1) * 10),
                            six_pack_unit(s)
                        ),
                        (false, false) => format!(r#"{{"barcode":"{}","quantity":{quantity}}}"#, barcode(s, q)),
                        (false, true) => format!(r#"{{"productId":"{}","quantity":{quantity}}}"#, product_id(s, q)),
                    }
                })
                .collect();
            if matches!(op, Op::Quote | Op::QuoteById) {
                let body = format!(r#"{{"lines":[{}]}}"#, lines.join(","));
                (Method::POST, "/api/v1/sales/quote".to_owned(), Some(Bytes::from(body)))
            } else {
                let body = format!(
                    r#"{{"clientRef":"{}","lines":[{}],"payments":[{{"method":"cash","amount":100000000}}]}}"#,
                    tills_domain::new_id(),
                    lines.join(",")
                );
                (Method::POST, "/api/v1/sales".to_owned(), Some(Bytes::from(body)))
            }
        }
    };
    Call { method, path, token, json }
}

async fn login_all(client: &reqwest::Client, base: &str, opts: &BenchOptions) -> anyhow::Result<Vec<(usize, String)>> {
    let mut tokens = Vec::with_capacity(opts.stores);
    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(8));
    for s in 1..=opts.stores {
        let (client, base, password, semaphore) =
            (client.clone(), base.to_owned(), opts.password.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await?;
            let body = json!({"store": store_id(s), "email": cashier_email(s), "password": password});
            let resp = client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await?;
            if !resp.status().is_success() {
                bail!(
                    "cannot log in as {} ({}): seed the stores first with `tills seed`",
                    cashier_email(s),
                    resp.status()
                );
            }
            let v: serde_json::Value = resp.json().await?;
            let token = v["token"].as_str().context("no token in the login answer")?.to_owned();
            anyhow::Ok((s, token))
        });
    }
    while let Some(r) = tasks.join_next().await {
        tokens.push(r??);
    }
    tokens.sort();
    Ok(tokens)
}

/// (memory hits, memory misses, redis hits) from the server's `/metrics`.
async fn cache_counters(client: &reqwest::Client, base: &str) -> Option<(f64, f64, f64)> {
    let text = client.get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()?;
    let find = |tier: &str, result: &str| {
        text.lines()
            .filter(|l| l.starts_with("tills_product_cache_requests_total{"))
            .filter(|l| l.contains(&format!("tier=\"{tier}\"")) && l.contains(&format!("result=\"{result}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    Some((find("memory", "hit"), find("memory", "miss"), find("redis", "hit")))
}

/// The report as a table for the terminal.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "{} stores, concurrency {}, {:.1} s\n{:<8} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}  errors\n",
        r.stores, r.concurrency, r.duration_s, "op", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let several = r.operations.len() > 1;
    for (name, o) in
        r.operations.iter().map(|(n, o)| (n.as_str(), o)).chain(r.all.iter().filter(|_| several).map(|o| ("all", o)))
    {
        let errors = if o.errors.is_empty() {
            "0".to_owned()
        } else {
            o.errors.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(" ")
        };
        out.push_str(&format!(
            "{:<8} {:>10} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {errors}\n",
            name, o.requests, o.throughput, o.p50_ms, o.p95_ms, o.p99_ms, o.max_ms
        ));
    }
    if let Some(rate) = r.cache_hit_rate {
        out.push_str(&format!("cache hit rate {:.1} %\n", rate * 100.0));
    }
    if let (Some(cpu), Some(per)) = (r.server_cpu_s, r.server_cpu_per_request_us) {
        out.push_str(&format!("server CPU {cpu:.1} s, {per:.1} µs a request\n"));
    }
    out.push_str(&format!("generator CPU {:.1} s ({:.2} cores)", r.generator_cpu_s, r.generator_cores));
    out.push_str(if r.generator_cores > GENERATOR_BUSY_CORES {
        ": the figures partly measure the generator\n"
    } else {
        "\n"
    });
    out
}
