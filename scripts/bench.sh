#!/usr/bin/env bash
# Benchmarks Tills on this machine and writes docs/benchmarks.md.
#
#   scripts/bench.sh                      # 1000 stores × 2000 products on PostgreSQL + Redis
#   BENCH_STORES=100 scripts/bench.sh
#   BENCH_PARTS=floor scripts/bench.sh    # only "Tills against the floor"
#
# Two parts (BENCH_PARTS, both by default):
#
# - floor: Tills against the floor, in alternating pairs (BENCH_PAIRS, 3 by default, of
#   BENCH_PAIR_SECONDS each) with the same generator: hot scans against `tills bench-floor`'s
#   in-memory floor (HTTP + the same JWT verified + a HashMap) and its Redis floor (+ one GET),
#   cold scans against its PostgreSQL floor (+ one indexed lookup), checkout (lines by barcode,
#   and by productId as the terminal sends them) against pgbench's TPC-B on the same PostgreSQL.
#   Each with the server's CPU per request (Tills or the floor, with PostgreSQL and Redis, from
#   their processes' CPU time). The section "Tills against the floor" of docs/benchmarks.md.
# - scenarios: hot scans (caches warm), cold scans (caches flushed, every barcode once in a
#   random order), a mixed POS day, checkout only (5-line sales) — then the same on the embedded
#   default (SQLite, no Redis) at a smaller size.
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
PARTS="${BENCH_PARTS:-floor,scenarios}"
PAIRS="${BENCH_PAIRS:-3}"
PAIR_SECONDS="${BENCH_PAIR_SECONDS:-15}"
export TILLS_JWT_SECRET="bench-secret-0123456789-0123456789-abcdef"

cargo build --release --locked --bin tills
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/tills"
WORK="$(mktemp -d)"
SERVER_PID="" PG_DIR="" REDIS_PID="" FLOOR_PID=""
cleanup() {
  set +e # everything, even when something is gone already
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$FLOOR_PID" ] && kill "$FLOOR_PID" 2>/dev/null
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
# Tills's keys in Redis's database 0, the floor's in database 1: flushing Tills's cache (cold
# scans) leaves the floor's answers.
REDIS_TILLS="${REDIS%/}/0" REDIS_FLOOR="${REDIS%/}/1"
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
  "$BIN" bench --url "http://127.0.0.1:$PORT" --stores "$stores" \
    --concurrency "${BENCH_CLIENTS:-$CONCURRENCY}" "$@" --json \
    | tee "$WORK/$name.json"
}

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS tills_bench WITH (FORCE)" -c "CREATE DATABASE tills_bench"
redis-cli -u "$REDIS_TILLS" FLUSHDB >/dev/null
redis-cli -u "$REDIS_FLOOR" FLUSHDB >/dev/null
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

# CPU seconds of processes and their children so far (PostgreSQL's backends are its postmaster's).
cpu_seconds() {
  python3 - "$@" <<'PY'
import os, sys
pids = {int(p) for p in sys.argv[1:] if p}
def stat(pid):
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    f = s[s.rfind(")") + 2:].split()
    # ppid, own (utime + stime), and that of children exited and waited for (cutime + cstime):
    # a backend's time moves to its postmaster's count when its connection closes.
    return int(f[1]), (int(f[11]) + int(f[12])) / 100, (int(f[13]) + int(f[14])) / 100
total = 0.0
for name in os.listdir("/proc"):
    if name.isdigit():
        st = stat(int(name))
        if st and int(name) in pids:
            total += st[1] + st[2]
        elif st and st[0] in pids:
            total += st[1]
print(total)
PY
}
PG_PID="" # the postmaster, when the cluster is the script's own
[ -n "$PG_DIR" ] && PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
# Which processes count as the server's (their CPU per request): Tills or the floor, and the
# PostgreSQL and Redis they use.
pids() { local p; for p in "$@" "$PG_PID" "$REDIS_PID"; do [ -n "$p" ] && printf -- '--server-pid %s ' "$p"; done; }
# A run of the generator against Tills or a floor: name url clients pid -- bench args…
run() {
  local name="$1" url="$2" clients="$3" pid="$4"; shift 5
  echo "== $name $(date -u '+%F %T')" >&2
  # shellcheck disable=SC2046 # pids() prints separate arguments
  "$BIN" bench --url "$url" --stores "$STORES" --concurrency "$clients" $(pids "$pid") "$@" --json >"$WORK/$name.json"
}
# Tills with its caches empty: a new process, Redis's database of Tills flushed.
restart_cold() {
  [ -n "$SERVER_PID" ] && stop
  redis-cli -u "$REDIS_TILLS" FLUSHDB >/dev/null
  start "$PG_URL" "$REDIS_TILLS"
}

if [[ "$PARTS" == *floor* ]]; then
  FLOOR_PORT=$(free_port)
  DATABASE_URL="$PG_URL" REDIS_URL="$REDIS_FLOOR" RUST_LOG=warn \
    "$BIN" bench-floor --listen "127.0.0.1:$FLOOR_PORT" >"$WORK/floor.log" 2>&1 &
  FLOOR_PID=$!
  FLOOR="http://127.0.0.1:$FLOOR_PORT"
  # It reads every answer of every store first (into its map and Redis).
  for _ in $(seq 1 1200); do curl -fs "$FLOOR/healthz" >/dev/null && break; sleep 0.5; done
  curl -fs "$FLOOR/healthz" >/dev/null || { cat "$WORK/floor.log"; exit 1; }
  cat "$WORK/floor.log" >&2
  # pgbench's TPC-B in a database of its own on the same cluster; scale 16: as many branches as
  # clients (pgbench's advice), so its transactions do not all queue on one row.
  PGBENCH="$( [ -n "${PG_BIN:-}" ] && echo "$PG_BIN/pgbench" || command -v pgbench)"
  PGBENCH_URL="${PG_URL%/*}/tills_pgbench?sslmode=disable"
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS tills_pgbench WITH (FORCE)" -c "CREATE DATABASE tills_pgbench"
  "$PGBENCH" -i -q -s 16 "$PGBENCH_URL" >/dev/null 2>&1
  tpcb() { # name
    echo "== $1 $(date -u '+%F %T')" >&2
    local before after
    before=$(cpu_seconds "$PG_PID")
    (cd "$WORK" && "$PGBENCH" -c 16 -j 2 -T "$PAIR_SECONDS" -M prepared -l --log-prefix "$1" "$PGBENCH_URL" >"$1.out" 2>&1)
    after=$(cpu_seconds "$PG_PID")
    echo "$before $after" >"$WORK/$1.cpu"
  }

  # Cold scans: Tills with empty caches against one PostgreSQL lookup a scan.
  for i in $(seq 1 "$PAIRS"); do
    restart_cold
    run "floor-cold-tills-$i" "http://127.0.0.1:$PORT" 48 "$SERVER_PID" -- --cold --duration "${PAIR_SECONDS}s"
    run "floor-cold-floor-$i" "$FLOOR/postgres" 48 "$FLOOR_PID" -- --cold --duration "${PAIR_SECONDS}s"
  done
  # Every barcode once (the scenarios' cold scans): both tiers hold them all afterwards.
  restart_cold
  BENCH_CLIENTS=48 bench cold-scans "$STORES" --cold --duration 1800s
  bench hot-warmup "$STORES" --mix scan=1 --duration 10s >/dev/null
  for i in $(seq 1 "$PAIRS"); do
    run "floor-hot-tills-$i" "http://127.0.0.1:$PORT" 64 "$SERVER_PID" -- --mix scan=1 --duration "${PAIR_SECONDS}s"
    run "floor-hot-floor-$i" "$FLOOR/memory" 64 "$FLOOR_PID" -- --mix scan=1 --duration "${PAIR_SECONDS}s"
    run "floor-hot-redis-$i" "$FLOOR/redis" 64 "$FLOOR_PID" -- --mix scan=1 --duration "${PAIR_SECONDS}s"
  done
  # Checkout at 16 clients: the sale by barcode, the sale as the terminal sends it, TPC-B.
  # The order turns each pair, since checkout slows as its tables grow.
  sale() { run "floor-sale-tills-$1" "http://127.0.0.1:$PORT" 16 "$SERVER_PID" -- --mix sale=1 --duration "${PAIR_SECONDS}s"; }
  saleid() { run "floor-saleid-tills-$1" "http://127.0.0.1:$PORT" 16 "$SERVER_PID" -- --mix sale-by-id=1 --duration "${PAIR_SECONDS}s"; }
  for i in $(seq 1 "$PAIRS"); do
    case $((i % 3)) in
      1) sale "$i"; saleid "$i"; tpcb "floor-tpcb-$i" ;;
      2) tpcb "floor-tpcb-$i"; saleid "$i"; sale "$i" ;;
      0) saleid "$i"; tpcb "floor-tpcb-$i"; sale "$i" ;;
    esac
  done
  kill "$FLOOR_PID"; wait "$FLOOR_PID" 2>/dev/null || true; FLOOR_PID=""
  redis-cli -u "$REDIS_FLOOR" FLUSHDB >/dev/null
  # Every sale exactly once and journaled: invoice numbers gapless per store, one journal entry
  # of kind sale per sale.
  FLOOR_GAPS=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM (SELECT store_id FROM sales GROUP BY store_id HAVING COUNT(*) <> MAX(invoice_seq) OR MIN(invoice_seq) <> 1 OR COUNT(DISTINCT invoice_seq) <> COUNT(*)) g")
  FLOOR_UNJOURNALED=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM journal_entries j WHERE j.store_id = s.store_id AND j.ref_id = s.id)")
  FLOOR_SALES=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM sales")
  export FLOOR_GAPS FLOOR_UNJOURNALED FLOOR_SALES
  python3 - "$WORK" "$OUT" "$STORES" "$PRODUCTS" "$PAIRS" "$PAIR_SECONDS" <<'PY'
import glob, json, os, platform, statistics, subprocess, sys
work, out, stores, products, pairs, secs = sys.argv[1:]
pairs = int(pairs)
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
def bench(name):
    r = json.load(open(os.path.join(work, name + ".json")))
    o = r["all"]
    return {"rps": o["throughput"], "p99": o["p99Ms"], "cpu": r.get("serverCpuPerRequestUs"),
            "gen": r["generatorCores"], "errors": sum(o["errors"].values())}
def tpcb(name):
    lat = []
    for f in glob.glob(os.path.join(work, name + ".*")):
        if f.endswith((".out", ".cpu", ".json")):
            continue
        for line in open(f):
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]))
    lat.sort()
    text = open(os.path.join(work, name + ".out")).read()
    tps = next(float(l.split("=")[1].split()[0]) for l in text.splitlines() if l.startswith("tps ="))
    before, after = map(float, open(os.path.join(work, name + ".cpu")).read().split())
    return {"rps": tps, "p99": lat[int(len(lat) * 0.99)] / 1000 if lat else float("nan"),
            "cpu": (after - before) * 1e6 / max(len(lat), 1), "gen": 0.0, "errors": 0}
med = statistics.median
def spread(xs, fmt):
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"
rows, gens = [], []
def compare(label, tills, floor, load_floor, target):
    t = [bench(f"{tills}-{i}") for i in range(1, pairs + 1)]
    f = [load_floor(f"{floor}-{i}") for i in range(1, pairs + 1)]
    gens.extend(x["gen"] for x in t + f)
    ratio = [a["rps"] / b["rps"] for a, b in zip(t, f)]
    p99 = [a["p99"] / b["p99"] for a, b in zip(t, f)]
    cpu = [a["cpu"] / b["cpu"] for a, b in zip(t, f) if a["cpu"] and b["cpu"]]
    errors = sum(x["errors"] for x in t)
    rows.append(
        f"| {label} | {spread([x['rps'] for x in t], '{:.0f}')} | {spread([x['rps'] for x in f], '{:.0f}')} "
        f"| **{spread(ratio, '{:.2f}')}** | {spread([x['p99'] for x in t], '{:.2f}')} | {spread([x['p99'] for x in f], '{:.2f}')} "
        f"| {spread(p99, '{:.2f}')} | {spread([x['cpu'] for x in t if x['cpu']], '{:.1f}')} | {spread([x['cpu'] for x in f if x['cpu']], '{:.1f}')} "
        f"| {spread(cpu, '{:.2f}') if cpu else '–'} | {errors} | {target} |")
compare("hot scans, 64 clients — floor: HTTP + JWT + HashMap", "floor-hot-tills", "floor-hot-floor", bench,
        "≥ 0.8×, p99 ≤ 1.5×, CPU ≤ 1.5×")
compare("hot scans, 64 clients — floor: + one Redis GET", "floor-hot-tills", "floor-hot-redis", bench, "")
compare("cold scans, 48 clients — floor: + one PostgreSQL lookup", "floor-cold-tills", "floor-cold-floor", bench, "≥ 0.7×")
compare("checkout, lines by barcode, 16 clients — floor: pgbench TPC-B", "floor-sale-tills", "floor-tpcb", tpcb,
        "≥ 0.6×, p99 ≤ 30 ms")
compare("checkout, lines by productId (the terminal), 16 clients — floor: TPC-B", "floor-saleid-tills", "floor-tpcb",
        tpcb, "≥ 0.6×, p99 ≤ 30 ms")
doc = f"""
Produced by `scripts/bench.sh` (its part `floor`; it rewrites this section). Commit
`{sh("git rev-parse --short HEAD")}`{" (with uncommitted changes)" if sh("git status --porcelain --untracked-files=no -- . ':!docs'") else ""}, {sh("date -u '+%F %H:%M'")} UTC.
Machine: {os.cpu_count()} cores, {sh("free -g | awk '/Mem:/ {print $2}'")} GiB, {platform.platform()}; the generator
(`tills bench`), Tills, the floors, PostgreSQL and Redis all on it. {stores} stores × {products} products.

Each row: {pairs} alternating pairs of {secs} s, Tills then its floor, the same generator and
data. Figures are medians of the pairs with their range in brackets; a ratio is Tills's figure
over the floor's, taken pair by pair (so the range shows what is noise). CPU is the server's CPU
time per request, from its processes' own counters: Tills or the floor server, with PostgreSQL's
and Redis's processes (pgbench's row: PostgreSQL's only).

| scenario | Tills req/s | floor req/s | throughput ratio | Tills p99 ms | floor p99 ms | p99 ratio | Tills CPU µs/req | floor CPU µs/req | CPU ratio | Tills errors | target |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

The generator used at most {max(gens):.2f} cores in a run (it warns above 0.5). After the runs:
{os.environ["FLOOR_SALES"]} sales, {os.environ["FLOOR_GAPS"]} stores with a gap or a repeated invoice
number, {os.environ["FLOOR_UNJOURNALED"]} sales without their journal entry.
"""
begin, end = "<!-- bench.sh floor: begin -->", "<!-- bench.sh floor: end -->"
old = open(out).read() if os.path.exists(out) else "# Tills benchmarks\n"
if begin in old and end in old:
    new = old[: old.index(begin) + len(begin)] + doc + old[old.index(end):]
else:
    new = old.rstrip("\n") + "\n\n## Tills against the floor\n\n" + begin + doc + end + "\n"
open(out, "w").write(new)
print(doc)
PY
fi

[[ "$PARTS" == *scenarios* ]] || exit 0
if [ -z "$SERVER_PID" ]; then
  start "$PG_URL" "$REDIS_TILLS"
  # Cold: nothing cached yet; every barcode of every store once, shuffled.
  # 48 clients: PostgreSQL is saturated from about 32 on, and each client more only waits longer.
  BENCH_CLIENTS=48 bench cold-scans "$STORES" --cold --duration 1800s
  # The cold pass left every barcode in both tiers.
  bench hot-warmup "$STORES" --mix scan=1 --duration 10s >/dev/null
fi
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
