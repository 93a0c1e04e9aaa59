#!/usr/bin/env bash
# Tills on a three-node Citus cluster beside plain PostgreSQL, in the same run, on this machine:
# the same seed, the same server, the same scenarios (a mixed POS day, cold scans, checkout),
# one after the other. Prints a markdown table (docs/benchmarks.md, "Citus").
#
#   scripts/bench-citus.sh
#   BENCH_STORES=20 BENCH_PRODUCTS=2000 BENCH_SECONDS=20 BENCH_CONCURRENCY=32 scripts/bench-citus.sh
#
# Both databases are clusters of their own on free loopback ports under a temporary directory
# (scripts/citus.sh for the coordinator and two workers, one more initdb for plain PostgreSQL),
# started with the same settings and removed at the end. Citus is built from ../shared/vendor
# when missing. No Redis: every scan that misses the in-process cache reaches the database.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

STORES="${BENCH_STORES:-20}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
CUSTOMERS="${BENCH_CUSTOMERS:-50}"
SECONDS_EACH="${BENCH_SECONDS:-20}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"
export TILLS_JWT_SECRET="bench-secret-0123456789-0123456789-abcdef"

say() { printf '==> %s\n' "$*" >&2; }

cargo build --release --locked --bin tills >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tills"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tills-bench-citus.XXXXXX")"
chmod 755 "$WORK" # the nodes run as postgres
SERVER_PID=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG_BIN="$(pg_config --bindir)"
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  scripts/citus.sh down "$WORK/citus" >/dev/null 2>&1
  [ -d "$WORK/plain" ] && as_pg "$PG_BIN/pg_ctl" -D "$WORK/plain" -m immediate stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Citus: a coordinator and two workers, the database on each, the workers added, migrated and
# distributed by `tills citus distribute`.
scripts/citus.sh up "$WORK/citus" >/dev/null
# shellcheck disable=SC1091
. "$WORK/citus/env"
for port in "$COORDINATOR" "${WORKERS%,*}" "${WORKERS#*,}"; do
  psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE tills_bench" >/dev/null
  psql -h 127.0.0.1 -p "$port" -U postgres -d tills_bench -qc "CREATE EXTENSION citus" >/dev/null
done
for port in "${WORKERS%,*}" "${WORKERS#*,}"; do
  psql -h 127.0.0.1 -p "$COORDINATOR" -U postgres -d tills_bench -qAtc "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
done
CITUS_URL="postgres://postgres@127.0.0.1:$COORDINATOR/tills_bench"

# Plain PostgreSQL with the same settings as the Citus nodes (scripts/citus.sh).
PLAIN_PORT=$(free_port)
mkdir -p "$WORK/plain-sock"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/plain-sock"
[ "$(id -u)" = 0 ] && mkdir -p "$WORK/plain" && chown postgres "$WORK/plain"
as_pg "$PG_BIN/initdb" -D "$WORK/plain" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$WORK/plain/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PLAIN_PORT
unix_socket_directories = '$WORK/plain-sock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
CONF
as_pg "$PG_BIN/pg_ctl" -D "$WORK/plain" -l "$WORK/plain-sock/postgres.log" -w start >/dev/null
psql -h 127.0.0.1 -p "$PLAIN_PORT" -U postgres -qc "CREATE DATABASE tills_bench" >/dev/null
PLAIN_URL="postgres://postgres@127.0.0.1:$PLAIN_PORT/tills_bench"

for url in "$PLAIN_URL" "$CITUS_URL"; do
  DATABASE_URL="$url" "$BIN" migrate >&2
done
DATABASE_URL="$CITUS_URL" "$BIN" citus distribute >&2
for url in "$PLAIN_URL" "$CITUS_URL"; do
  say "seeding $STORES stores × $PRODUCTS products ($url)"
  DATABASE_URL="$url" "$BIN" seed --stores "$STORES" --products-per-store "$PRODUCTS" \
    --customers-per-store "$CUSTOMERS" >&2
done

# One server at a time, each on a fresh process (cold in-process caches).
run() { # label url scenario args...
  local label="$1" url="$2" scenario="$3"
  shift 3
  local port; port=$(free_port)
  DATABASE_URL="$url" "$BIN" serve --listen "127.0.0.1:$port" --db-max-connections 32 \
    >"$WORK/serve-$label.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  say "$label: $scenario"
  "$BIN" bench --url "http://127.0.0.1:$port" --stores "$STORES" --products-per-store "$PRODUCTS" \
    --concurrency "$CONCURRENCY" --json "$@" >"$WORK/$label-$scenario.json"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}
for target in plain citus; do
  url="$PLAIN_URL"; [ "$target" = citus ] && url="$CITUS_URL"
  run "$target" "$url" cold --cold --duration 10m
  run "$target" "$url" day --duration "${SECONDS_EACH}s" --mix scan=85,search=5,sale=10
  run "$target" "$url" checkout --duration "${SECONDS_EACH}s" --mix sale=1
done

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
def load(target, scenario):
    return json.load(open(f"{work}/{target}-{scenario}.json"))
print("| scenario | measure | PostgreSQL | Citus (coordinator + 2 workers) | Citus / PostgreSQL |")
print("| --- | --- | --- | --- | --- |")
for scenario, op in [("cold", "scan"), ("day", None), ("checkout", "sale")]:
    p, c = load("plain", scenario), load("citus", scenario)
    pick = (lambda r: r["all"]) if op is None else (lambda r: r["operations"][op])
    pp, cc = pick(p), pick(c)
    errors = sum(pp["errors"].values()) + sum(cc["errors"].values())
    label = {"cold": "cold scans", "day": "mixed day (scan 85, search 5, sale 10)", "checkout": "checkout (5-line sales)"}[scenario]
    print(f"| {label} | requests/s | {pp['throughput']:.0f} | {cc['throughput']:.0f} | {cc['throughput'] / pp['throughput']:.2f} |")
    print(f"| | p50 / p99 ms | {pp['p50Ms']:.1f} / {pp['p99Ms']:.1f} | {cc['p50Ms']:.1f} / {cc['p99Ms']:.1f} | {cc['p99Ms'] / max(pp['p99Ms'], 0.001):.2f} (p99) |")
    if errors:
        print(f"| | errors | {sum(pp['errors'].values())} | {sum(cc['errors'].values())} | |")
PY
