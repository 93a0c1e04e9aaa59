#!/usr/bin/env bash
# Benchmarks Tills on this machine and writes docs/benchmarks.md.
#
#   scripts/bench.sh                 # 1000 stores × 2000 products on PostgreSQL + Redis
#   BENCH_STORES=100 scripts/bench.sh
#
# Scenarios, each reported separately: hot scans (caches warm), cold scans (caches flushed, every
# barcode once in a random order), a mixed POS day, checkout only (5-line sales) — then the same
# on the embedded default (SQLite, no Redis) at a smaller size.
#
# It starts a PostgreSQL cluster and a Redis of its own on free ports of 127.0.0.1 (PostgreSQL
# with the settings docs/scaling.md gives for the write load), so a run depends on nothing the
# machine's own servers were configured with, and changes nothing in them. It needs their
# programs (Debian: postgresql, redis-server; scripts/test.sh installs them). To measure a server
# of your own instead, set BENCH_DATABASE_URL (and BENCH_PG_ADMIN, a database to connect to for
# creating tills_bench) and BENCH_REDIS_URL. Traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

STORES="${BENCH_STORES:-1000}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
CUSTOMERS="${BENCH_CUSTOMERS:-200}"
SQLITE_STORES="${BENCH_SQLITE_STORES:-50}"
SECONDS_EACH="${BENCH_SECONDS:-30}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
# The settings docs/scaling.md recommends for the write load (the rest are PostgreSQL's defaults).
PG_SETTINGS=(shared_buffers=4GB max_wal_size=8GB checkpoint_timeout=15min wal_compression=lz4)
OUT="${BENCH_OUT:-docs/benchmarks.md}"
export TILLS_JWT_SECRET="bench-secret-0123456789-0123456789-abcdef"

cargo build --release --locked --bin tills
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tills"
WORK="$(mktemp -d)"
SERVER_PID="" PG_DIR="" REDIS_PID=""
cleanup() {
  set +e # everything, even when something is gone already
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  # When the checkpoints ran (PostgreSQL 15 logs them by default), beside the scenarios' start
  # times on stderr: a scenario slower than its neighbours can be matched to one.
  [ -n "$PG_DIR" ] && grep -h "checkpoint" "$PG_DIR/postgres.log" >&2
  [ -n "$PG_DIR" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
  [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# PostgreSQL refuses to run as root: as root, its programs run as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -x "$PG_BIN/initdb" ] || { echo "error: PostgreSQL is not installed (Debian: apt-get install -y postgresql)" >&2; exit 1; }
  PG_PORT=$(free_port)
  # Beside the machine's other temporary files, but not in a tmpfs: the bench writes gigabytes.
  PG_DIR="$(mktemp -d /var/tmp/tills-bench-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  opts="-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR"
  for setting in "${PG_SETTINGS[@]}"; do opts="$opts -c $setting"; done
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -o "$opts" -w start >/dev/null
  PG_ADMIN="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  # Loopback: TLS to the database would cost CPU and protect nothing.
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/tills_bench?sslmode=disable"
else
  PG_URL="$BENCH_DATABASE_URL"
  PG_ADMIN="${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
fi
if [ -z "${BENCH_REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "error: redis-server is not installed (Debian: apt-get install -y redis-server)" >&2; exit 1; }
  REDIS_PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  REDIS="redis://127.0.0.1:$REDIS_PORT"
else
  REDIS="$BENCH_REDIS_URL"
fi
start() { # start DATABASE_URL [REDIS_URL]
  PORT=$(free_port)
  # The in-process cache gets room for every seeded barcode (about 1.3 KiB each), and its
  # entries live an hour like Redis's: the hot scenarios scan all 2.2 million barcodes at random,
  # each about every two minutes, and with the default five minutes (counted from the load, not
  # the last hit) about a third of "hot" scans would be Redis round trips (measured: 14,203
  # req/s). Database connections stay at the default (16): more only adds PostgreSQL processes
  # competing for the same two cores. Product search's entries get room for every store (about
  # 370 KB a store of 2,000 products; the default 512 MiB holds about 1,400 such stores).
  DATABASE_URL="$1" REDIS_URL="${2:-}" RUST_LOG=warn TILLS_CACHE_MEMORY_MB="${BENCH_CACHE_MB:-4096}" \
    TILLS_SEARCH_MEMORY_MB="${BENCH_SEARCH_MB:-1024}" \
    TILLS_CACHE_MEMORY_TTL_SECS="${BENCH_CACHE_MEMORY_TTL:-3600}" \
    "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  cat "$WORK/serve.log"; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
bench() { # name stores args...
  local name="$1" stores="$2"; shift 2
  echo "== $name $(date -u '+%F %T')" >&2
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
# 48 clients: PostgreSQL is saturated from about 32 on, and each client more only waits longer.
BENCH_CLIENTS=48 bench cold-scans "$STORES" --cold --duration 1800s
# The cold pass left every barcode in both tiers.
bench hot-warmup "$STORES" --mix scan=1 --duration 10s >/dev/null
bench hot-scans "$STORES" --mix scan=1 --duration "${SECONDS_EACH}s"
# Half the clients: the same work with half the requests waiting in queues (see checkout-16).
BENCH_CLIENTS=32 bench hot-scans-32 "$STORES" --mix scan=1 --duration "${SECONDS_EACH}s"
# Each store's search entries are built by its first search, from a read of all its products:
# the first search of a store's day, not what its searches cost, and a run of 30 s would pay it
# for every one of the 1,000 stores.
bench search-warmup "$STORES" --mix search=1 --duration 20s >/dev/null
bench mixed-day "$STORES" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
BENCH_CLIENTS=32 bench mixed-day-32 "$STORES" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
# 16 clients: as many requests per second (the cores are as busy), a quarter of the queue.
BENCH_CLIENTS=16 bench mixed-day-16 "$STORES" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
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
export BENCH_PG_SETTINGS BENCH_PG_WHERE BENCH_REDIS_WHERE
BENCH_PG_WHERE=$([ -n "$PG_DIR" ] && echo "a cluster of the script's own (initdb, locale C.UTF-8)" || echo "the server at BENCH_DATABASE_URL")
BENCH_REDIS_WHERE=$([ -n "$REDIS_PID" ] && echo "a server of the script's own, nothing saved to disk" || echo "the server at BENCH_REDIS_URL")
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
for name, label in [("cold-scans", "cold scans (PostgreSQL, caches flushed)"), ("hot-scans", "hot scans (PostgreSQL + Redis, warm)"), ("hot-scans-32", "hot scans, 32 clients"),
                    ("mixed-day", "mixed POS day (85/5/10)"), ("mixed-day-32", "mixed POS day, 32 clients"), ("mixed-day-16", "mixed POS day, 16 clients"), ("checkout", "checkout only (5-line sales)"), ("checkout-16", "checkout only, 16 clients"),
                    ("sqlite-hot-scans", "SQLite: hot scans"), ("sqlite-mixed-day", "SQLite: mixed POS day"), ("sqlite-checkout", "SQLite: checkout only")]:
    r = load(name)
    ops = list(r["operations"].items())
    if len(ops) > 1 and r.get("all"):
        ops.append(("**all**", r["all"]))
    for op, o in ops:
        errs = sum(o["errors"].values())
        rows.append(f"| {label} | {r['concurrency']} | {op} | {o['requests']} | {o['throughput']:.0f} | {o['p50Ms']:.2f} | {o['p95Ms']:.2f} | {o['p99Ms']:.2f} | {o['maxMs']:.2f} | {errs} | {'' if r.get('cacheHitRate') is None else format(r['cacheHitRate']*100, '.1f') + ' %'} |")
doc = f"""
Produced by `scripts/bench.sh` (it rewrites this section; run it again to reproduce). The load
generator (`tills bench`) runs on the same machine as Tills, PostgreSQL and Redis.

- Machine: {os.cpu_count()} cores, {sh("free -g | awk '/Mem:/ {print $2}'")} GiB memory, {platform.platform()}
- Versions: {sh("rustc --version")}; {sh("psql --version")}; {sh("redis-server --version | cut -d' ' -f1-3")}
- Data: {stores} stores × {products} products on PostgreSQL (seeded in {seed_s} s), {sqlite_stores} stores × {products} on SQLite
- Tills: release build, default settings but `TILLS_CACHE_MEMORY_MB=4096` and `TILLS_CACHE_MEMORY_TTL_SECS=3600` (the script says why)
- PostgreSQL: {os.environ.get('BENCH_PG_WHERE', '?')}; settings: {os.environ.get('BENCH_PG_SETTINGS', '?')}
- Redis: {os.environ.get('BENCH_REDIS_WHERE', '?')}, as Debian ships it
- Clients (requests in flight): {conc} unless the table says otherwise; each timed scenario runs {os.environ.get('BENCH_SECONDS', '30')} s (cold scans: until every barcode was scanned once)
- Invoice sequences after the run: {sales} sales, {gaps} stores with a gap or repeat

| scenario | clients | op | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | cache hits |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
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
