#!/usr/bin/env bash
# The legacy import at fleet scale (docs/benchmarks.md, "Legacy import at fleet scale"):
#
#   scripts/bench-import.sh                     # 1000 stores over 5 databases
#   BENCH_STORES=100 scripts/bench-import.sh    # a smaller fleet
#
# 1. Generates two dumps of the same fleet (tills_import::generate; per store 2,000 products,
#    200 customers, 1,000 sales of 3-5 lines, their payments; the formats mixed by database):
#    the bulk one, and the same stores some days later with 1 % of the documents changed.
# 2. Bulk import of the first into an empty database, killed with SIGKILL midway, then resumed:
#    the resumed run must end verified (--verify compares every store with the dump).
# 3. The cutover of single stores (--store) over the later dump, each timed.
# 4. The delta import of the whole fleet over the later dump, then the same run again (nothing
#    to write).
#
# It starts a PostgreSQL cluster of its own on a free port of 127.0.0.1 (as scripts/bench.sh
# does), unless BENCH_DATABASE_URL names a database to use (BENCH_PG_ADMIN: one to connect to for
# creating it). Prints each run's summary and a Markdown table of the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

STORES="${BENCH_STORES:-1000}"
PERCENT="${BENCH_CHANGED_PERCENT:-1}"
KILL_AFTER="${BENCH_KILL_AFTER_SECS:-60}"
PG_SETTINGS=(shared_buffers=1GB max_wal_size=8GB checkpoint_timeout=15min)

cargo build --release --locked --bin tills
cargo build --release --locked -p tills-import --features generate --example legacy_dump
TARGET="${CARGO_TARGET_DIR:-$PWD/target}/release"
BIN="$TARGET/tills"
WORK="${BENCH_WORK:-$(mktemp -d /var/tmp/tills-bench-import.XXXXXX)}"
PG_DIR=""
cleanup() {
  set +e
  [ -n "$PG_DIR" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
  [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
  [ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -x "$PG_BIN/initdb" ] || { echo "error: PostgreSQL is not installed (Debian: apt-get install -y postgresql)" >&2; exit 1; }
  PG_PORT=$(free_port)
  PG_DIR="$(mktemp -d /var/tmp/tills-bench-import-pg.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  opts="-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR"
  for setting in "${PG_SETTINGS[@]}"; do opts="$opts -c $setting"; done
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -o "$opts" -w start >/dev/null
  PG_ADMIN="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/tills_bench_import?sslmode=disable"
else
  PG_URL="$BENCH_DATABASE_URL"
  PG_ADMIN="${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
fi
DBNAME="${PG_URL##*/}"; DBNAME="${DBNAME%%\?*}"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" -c "CREATE DATABASE $DBNAME"
DATABASE_URL="$PG_URL" "$BIN" migrate
export DATABASE_URL="$PG_URL" RUST_LOG=warn
unset REDIS_URL

dump() { # dir extra-args...
  local dir="$1"; shift
  [ -f "$dir/stores.csv" ] && return
  "$TARGET/examples/legacy_dump" --out "$dir" --stores "$STORES" --products 2000 --customers 200 \
    --sales 1000 --lines 3-5 "$@"
}
echo "== generating the dumps $(date -u '+%F %T')" >&2
dump "$WORK/bulk"
dump "$WORK/later" --later --changed-percent "$PERCENT"
du -sh "$WORK/bulk/dump" >&2

import() { # name dump-dir extra-args...
  local name="$1" dir="$2"; shift 2
  echo "== $name $(date -u '+%F %T')" >&2
  "$BIN" import-legacy --source "$dir/dump" --store-map "$dir/stores.csv" --create-stores \
    --report "$WORK/$name.json" "$@" | tee "$WORK/$name.out" | grep -v '^[a-z0-9_-]\+ \+\(yes\|no\) ' || true
}
figure() { # report-name jq-expression
  python3 -c "import json,sys; r=json.load(open('$WORK/$1.json')); print(eval(sys.argv[1]))" "$2"
}

# The bulk import, killed with SIGKILL midway, then resumed to the end.
echo "== bulk, killed after ${KILL_AFTER}s $(date -u '+%F %T')" >&2
"$BIN" import-legacy --source "$WORK/bulk/dump" --store-map "$WORK/bulk/stores.csv" --create-stores \
  --report "$WORK/killed.json" >/dev/null 2>"$WORK/killed.err" &
KILLED=$!
sleep "$KILL_AFTER"
kill -9 "$KILLED"; wait "$KILLED" || true
tail -2 "$WORK/killed.err" | tr '\r' '\n' | tail -1 >&2
START=$(date +%s.%N)
import resumed "$WORK/bulk" --verify
RESUMED=$(python3 -c "print(round($(date +%s.%N) - $START, 1))")

# Single stores cut over, one at a time, over the later dump.
CUTOVER=()
for store in shop0500 shop0750 alpha; do
  [ "$STORES" -le 750 ] && [ "$store" != alpha ] && continue
  S=$(date +%s.%N)
  import "cutover-$store" "$WORK/later" --store "$store" --verify
  CUTOVER+=("$store $(python3 -c "print(round($(date +%s.%N) - $S, 1))")")
done

# The delta import of the fleet, then the same again.
import delta "$WORK/later" --verify
import again "$WORK/later" --verify

echo
echo "| run | documents | time | documents/s | rows inserted | updated | unchanged | kept |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for run in resumed delta again; do
  figure "$run" "f\"| $run | {r['documents']:,} | {r['seconds']:.1f} s | {r['documentsPerSecond']:,.0f} | {r['rowsInserted']:,} | {r['updated']:,} | {r['unchanged']:,} | {r['kept']:,} |\""
done
for c in "${CUTOVER[@]}"; do
  set -- $c
  figure "cutover-$1" "f\"| cutover of one store ($1, --store) | {r['documents']:,} | $2 s wall ({r['seconds']:.1f} s in the run) | {r['documentsPerSecond']:,.0f} | {r['rowsInserted']:,} | {r['updated']:,} | {r['unchanged']:,} | {r['kept']:,} |\""
done
echo
echo "resumed after kill -9: ${RESUMED} s wall; where the time went:"
for run in resumed delta again; do
  figure "$run" "f\"  {'$run':8} read {r['timings']['read']:.1f} s, convert {r['timings']['convert']:.1f} s, write {r['timings']['write']:.1f} s, verify {r['timings']['verify']:.1f} s\""
done
