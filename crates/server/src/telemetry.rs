//! Logs (tracing) and metrics (Prometheus).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::fmt::format::FmtSpan;

/// Structured logs; `RUST_LOG` filters them (default `info`), `TILLS_LOG_FORMAT=json` for JSON.
///
/// At `debug` (`RUST_LOG=info,tills_storage=debug`, say) every span also logs a line when it
/// closes, with its time: each storage call (`tills_storage`, with its `store`) inside its
/// request (with the `request_id`), so a slow request shows where its time went. At `info` no
/// span logs: a scan must not pay for a log line.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let spans = match filter.max_level_hint() {
        Some(level) if level >= tracing_subscriber::filter::LevelFilter::DEBUG => FmtSpan::CLOSE,
        _ => FmtSpan::NONE,
    };
    let json = std::env::var("TILLS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_span_events(spans)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide Prometheus recorder (installed once, shared by every app in the process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            describe();
            let upkeep = handle.clone();
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_histogram!(
        "tills_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request duration by route, method and status"
    );
    metrics::describe_counter!(
        "tills_store_id_in_request_total",
        "Store-scoped requests that carried a storeId in the query or body (ignored)"
    );
    metrics::describe_counter!(
        "tills_tenant_violations_total",
        "Rows or cache entries of another store that reached the service layer, and writes row-level security refused: always 0"
    );
    metrics::describe_gauge!(
        "tills_db_connections",
        "Database connections by kind (transactions, statements, writer): busy, idle, and the most it may open"
    );
    // Present from the start, at 0, so dashboards and alerts see them.
    metrics::counter!("tills_store_id_in_request_total", "place" => "query").absolute(0);
    metrics::counter!("tills_store_id_in_request_total", "place" => "body").absolute(0);
    metrics::counter!("tills_tenant_violations_total", "kind" => "rls_write").absolute(0);
}
