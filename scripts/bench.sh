#!/usr/bin/env bash
# Benchmarks Tills on this machine and writes docs/benchmarks.md.
#
#   scripts/bench.sh                 # 1000 stores × 2000 products on PostgreSQL + Redis
#   BENCH_STORES=100 scripts/bench.sh
#
# Scenarios, each reported separately: hot scans (caches warm), cold scans (caches flushed, every
# barcode once in a random order), a mixed POS day, checkout only (5-line sales) — then the same
# on the embedded default (SQLite, no Redis) at a smaller size. Needs PostgreSQL and Redis on
# 127.0.0.1 (scripts/test.sh starts or installs them). Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

STORES="${BENCH_STORES:-1000}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
CUSTOMERS="${BENCH_CUSTOMERS:-200}"
SQLITE_STORES="${BENCH_SQLITE_STORES:-50}"
SECONDS_EACH="${BENCH_SECONDS:-30}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
PG_ADMIN="${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
# Loopback: TLS to the database would cost CPU and protect nothing.
PG_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tills_bench?sslmode=disable}"
REDIS="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/3}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
export TILLS_JWT_SECRET="bench-secret-0123456789-0123456789-abcdef"

cargo build --release --locked --bin tills
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tills"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # start DATABASE_URL [REDIS_URL]
  PORT=$(free_port)
  # The in-process cache gets room for every seeded barcode (about 1.3 KiB each): the hot
  # scenarios scan all of them at random. Database connections stay at the default (16): more
  # only adds PostgreSQL processes competing for the same two cores.
  DATABASE_URL="$1" REDIS_URL="${2:-}" RUST_LOG=warn TILLS_CACHE_MEMORY_MB="${BENCH_CACHE_MB:-4096}" \
    "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  cat "$WORK/serve.log"; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
bench() { # name stores args...
  local name="$1" stores="$2"; shift 2
  echo "== $name" >&2
  "$BIN" bench --url "http://127.0.0.1:$PORT" --stores "$stores" --products-per-store "$PRODUCTS" \
    --concurrency "${BENCH_CLIENTS:-$CONCURRENCY}" "$@" --json \
    | tee "$WORK/$name.json"
}

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS tills_bench WITH (FORCE)" -c "CREATE DATABASE tills_bench"
redis-cli -u "$REDIS" FLUSHDB >/dev/null
DATABASE_URL="$PG_URL" "$BIN" migrate
SEED_START=$(date +%s)
DATABASE_URL="$PG_URL" "$BIN" seed --stores "$STORES" --products-per-store "$PRODUCTS" --customers-per-store "$CUSTOMERS" --parallel 4
SEED_SECONDS=$(( $(date +%s) - SEED_START ))
# Only the tables the seed filled: statistics that say the sales tables are empty make PostgreSQL
# plan the foreign-key checks of every sale line on `sales` as sequential scans, and keep those
# plans in each connection until autovacuum analyzes the table again (seen: checkout falling from
# 1,000 to 200 sales/s as the table grew; `pg_stat_user_tables.seq_scan` on `sales` tells).
SEEDED=$(psql "$PG_URL" -Atc "SELECT string_agg(quote_ident(relname), ', ') FROM pg_stat_user_tables WHERE n_live_tup > 0")
psql "$PG_URL" -qc "VACUUM ANALYZE $SEEDED"
# Write the seed's pages out now, not during the timed scenarios.
psql "$PG_URL" -qc "CHECKPOINT"

start "$PG_URL" "$REDIS"
# Cold: nothing cached yet; every barcode of every store once, shuffled.
bench cold-scans "$STORES" --cold --duration 1800s
bench hot-warmup "$STORES" --mix scan=1 --duration 10s >/dev/null
bench hot-scans "$STORES" --mix scan=1 --duration "${SECONDS_EACH}s"
bench mixed-day "$STORES" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
bench checkout "$STORES" --mix sale=1 --duration "${SECONDS_EACH}s"
# The same with 16 clients: with a closed loop, latency is clients / throughput (Little's law),
# so 64 clients cannot see a p99 under 50 ms below about 2,000 sales/s.
BENCH_CLIENTS=16 bench checkout-16 "$STORES" --mix sale=1 --duration "${SECONDS_EACH}s"
stop
GAPS=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM (SELECT store_id FROM sales GROUP BY store_id HAVING COUNT(*) <> MAX(invoice_seq) OR MIN(invoice_seq) <> 1 OR COUNT(DISTINCT invoice_seq) <> COUNT(*)) g")
SALES=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM sales")

# The embedded default: SQLite, in-process cache only.
SQLITE_DIR="$WORK/sqlite"; mkdir -p "$SQLITE_DIR"
SQLITE_URL="sqlite://$SQLITE_DIR/tills.db"
DATABASE_URL="$SQLITE_URL" "$BIN" seed --stores "$SQLITE_STORES" --products-per-store "$PRODUCTS" --customers-per-store 20 --parallel 1
start "$SQLITE_URL"
bench sqlite-warmup "$SQLITE_STORES" --mix scan=1 --duration 5s >/dev/null
bench sqlite-hot-scans "$SQLITE_STORES" --mix scan=1 --duration "${SECONDS_EACH}s"
bench sqlite-mixed-day "$SQLITE_STORES" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
bench sqlite-checkout "$SQLITE_STORES" --mix sale=1 --duration "${SECONDS_EACH}s"
stop

# The PostgreSQL settings that matter for writes (docs/scaling.md says what to set in production).
export BENCH_PG_SETTINGS
BENCH_PG_SETTINGS=$(psql "$PG_ADMIN" -Atc "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_compression', 'synchronous_commit', 'max_connections')")
python3 - "$WORK" "$OUT" "$STORES" "$PRODUCTS" "$SQLITE_STORES" "$SEED_SECONDS" "$GAPS" "$SALES" "$CONCURRENCY" <<'PY'
import json, sys, subprocess, platform, os
work, out, stores, products, sqlite_stores, seed_s, gaps, sales, conc = sys.argv[1:]
def load(n):
    return json.load(open(os.path.join(work, n + ".json")))
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return "?"
rows = []
for name, label in [("cold-scans", "cold scans (PostgreSQL, caches flushed)"), ("hot-scans", "hot scans (PostgreSQL + Redis, warm)"),
                    ("mixed-day", "mixed POS day (85/5/10)"), ("checkout", "checkout only (5-line sales)"), ("checkout-16", "checkout only, 16 clients"),
                    ("sqlite-hot-scans", "SQLite: hot scans"), ("sqlite-mixed-day", "SQLite: mixed POS day"), ("sqlite-checkout", "SQLite: checkout only")]:
    r = load(name)
    for op, o in r["operations"].items():
        errs = sum(o["errors"].values())
        rows.append(f"| {label} | {op} | {o['requests']} | {o['throughput']:.0f} | {o['p50Ms']:.2f} | {o['p95Ms']:.2f} | {o['p99Ms']:.2f} | {o['maxMs']:.2f} | {errs} | {'' if r.get('cacheHitRate') is None else format(r['cacheHitRate']*100, '.1f') + ' %'} |")
doc = f"""
Produced by `scripts/bench.sh` (it rewrites this section; run it again to reproduce). The load
generator (`tills bench`) runs on the same machine as Tills, PostgreSQL and Redis.

- Machine: {os.cpu_count()} cores, {sh("free -g | awk '/Mem:/ {print $2}'")} GiB memory, {platform.platform()}
- Versions: {sh("rustc --version")}; {sh("psql --version")}; {sh("redis-server --version | cut -d' ' -f1-3")}
- Data: {stores} stores × {products} products on PostgreSQL (seeded in {seed_s} s), {sqlite_stores} stores × {products} on SQLite
- Tills: release build, default settings but `TILLS_CACHE_MEMORY_MB=4096`; Redis 7 as Debian ships it
- PostgreSQL settings: {os.environ.get('BENCH_PG_SETTINGS', '?')}
- Concurrency {conc} (16 where the scenario says so); each timed scenario runs {os.environ.get('BENCH_SECONDS', '30')} s (cold scans: until every barcode was scanned once)
- Invoice sequences after the run: {sales} sales, {gaps} stores with a gap or repeat

| scenario | op | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | cache hits |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + """

Commands: `scripts/bench.sh` (sizes through `BENCH_STORES`, `BENCH_PRODUCTS`, `BENCH_SECONDS`,
`BENCH_CONCURRENCY`), which runs `tills seed` and `tills bench --json` as shown in the script.
"""
# Only the section between the markers is this script's; the analysis around it is kept.
begin, end = "<!-- bench.sh: begin -->", "<!-- bench.sh: end -->"
old = open(out).read() if os.path.exists(out) else "# Tills benchmarks\n\n" + begin + "\n" + end + "\n"
if begin not in old or end not in old:
    old = "# Tills benchmarks\n\n" + begin + "\n" + end + "\n" + old
head, rest = old.split(begin, 1)
_, tail = rest.split(end, 1)
open(out, "w").write(head + begin + doc + end + tail)
print(doc)
PY
