#!/usr/bin/env bash
# What the journal costs checkout on PostgreSQL (issue 26): the same server, database and data,
# checkout-only load in alternating rounds with the journal and without it, and the section
# "Journal" of docs/benchmarks.md written from the medians.
#
#   scripts/bench-journal.sh                          # 100 stores × 2000 products, 4 rounds of 20 s each way
#   BENCH_STORES=20 BENCH_ROUNDS=3 BENCH_SECONDS=15 scripts/bench-journal.sh
#
# "Without" replaces, in the script's own throwaway cluster only, `tills_sell_journaled` (what the
# server calls for a sale) by a function that calls `tills_sell` and appends nothing; "with" puts
# the migration's function back. Nothing else changes between rounds: the binary, the connections
# and the data stay. Like scripts/bench.sh it starts a PostgreSQL and a Redis of its own on free
# ports of 127.0.0.1 (needs their programs: Debian postgresql, redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

STORES="${BENCH_STORES:-100}"
PRODUCTS="${BENCH_PRODUCTS:-2000}"
ROUNDS="${BENCH_ROUNDS:-4}"
SECONDS_EACH="${BENCH_SECONDS:-20}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
export TILLS_JWT_SECRET="bench-secret-0123456789-0123456789-abcdef"
export TILLS_JOURNAL_KEY="0202020202020202020202020202020202020202020202020202020202020202"

# BENCH_BIN: a tills binary already built (otherwise the release build).
if [ -z "${BENCH_BIN:-}" ]; then cargo build --release --locked --bin tills; fi
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/tills}"
WORK="$(mktemp -d)"
SERVER_PID="" PG_DIR="" REDIS_PID=""
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  [ -n "$PG_DIR" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1
  [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$PG_BIN/initdb" ] || { echo "error: PostgreSQL is not installed (Debian: apt-get install -y postgresql)" >&2; exit 1; }
PG_PORT=$(free_port)
PG_DIR="$(mktemp -d /var/tmp/tills-bench-journal-pg.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=15min" \
  -w start >/dev/null
PG_ADMIN="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/tills_bench?sslmode=disable"
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

psql "$PG_ADMIN" -qc "CREATE DATABASE tills_bench"
DATABASE_URL="$PG_URL" "$BIN" migrate
DATABASE_URL="$PG_URL" "$BIN" seed --stores "$STORES" --products-per-store "$PRODUCTS" --customers-per-store 20 --parallel 2
psql "$PG_URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT"

# The migration's function, to put back after each round without the journal.
psql "$PG_URL" -Atc "SELECT pg_get_functiondef('tills_sell_journaled'::regproc)" >"$WORK/with.sql"
cat >"$WORK/without.sql" <<'SQL'
CREATE OR REPLACE FUNCTION tills_sell_journaled(
    p_store text, p_id uuid, p_client_ref text, p_request_hash text, p_customer_id uuid, p_cashier_id uuid,
    p_note text, p_subtotal bigint, p_discount_total bigint, p_tax_total bigint, p_total bigint, p_paid bigint,
    p_change bigint, p_offline boolean, p_sold_at timestamptz, p_now timestamptz,
    p_lines json, p_payments json, p_stock json, p_audit json, p_shift_id uuid, p_require_shift boolean,
    p_journal_kind text, p_journal text[]
)
RETURNS TABLE (outcome text, invoice_number text, kind text, request_hash text, resource_id uuid, shift_id uuid)
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
    SELECT * FROM tills_sell(p_store, p_id, p_client_ref, p_request_hash, p_customer_id, p_cashier_id,
        p_note, p_subtotal, p_discount_total, p_tax_total, p_total, p_paid, p_change, p_offline, p_sold_at, p_now,
        p_lines, p_payments, p_stock, p_audit, p_shift_id, p_require_shift)
$$;
SQL

PORT=$(free_port)
DATABASE_URL="$PG_URL" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" RUST_LOG=warn \
  "$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
bench() { # name
  echo "== $1 $(date -u '+%F %T')" >&2
  "$BIN" bench --url "http://127.0.0.1:$PORT" --stores "$STORES" --products-per-store "$PRODUCTS" \
    --concurrency "$CONCURRENCY" --mix sale=1 --duration "${SECONDS_EACH}s" --json >"$WORK/$1.json"
}
# Warm first: every barcode once (both cache tiers hold the catalog), then sales. Without it the
# first rounds ran on cold caches, each round faster than the one before, and the comparison
# measured the warming (seen: 300 sales/s in the first round, 1,900 in the last).
echo "== warming the caches $(date -u '+%F %T')" >&2
"$BIN" bench --url "http://127.0.0.1:$PORT" --stores "$STORES" --concurrency 48 --cold --duration 600s --json >/dev/null
bench warmup
# Each round is a pair, its order alternating (with first, then without first): a drift of the
# machine through the run then favours neither.
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="with without"; else order="without with"; fi
  for mode in $order; do
    psql "$PG_URL" -qf "$WORK/$mode.sql"
    bench "$mode-$round"
  done
done
psql "$PG_URL" -qf "$WORK/with.sql"
ENTRIES=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM journal_entries")
SALES=$(psql "$PG_URL" -Atc "SELECT COUNT(*) FROM sales")

python3 - "$WORK" "$OUT" "$STORES" "$PRODUCTS" "$ROUNDS" "$SECONDS_EACH" "$CONCURRENCY" "$ENTRIES" "$SALES" <<'PY'
import json, os, statistics, sys
work, out, stores, products, rounds, secs, conc, entries, sales = sys.argv[1:]
def sale(name):
    return json.load(open(os.path.join(work, name + ".json")))["operations"]["sale"]
rows, med = [], {}
for mode in ("with", "without"):
    runs = [sale(f"{mode}-{r}") for r in range(1, int(rounds) + 1)]
    med[mode] = {k: statistics.median(r[k] for r in runs) for k in ("throughput", "p50Ms", "p99Ms")}
    errors = sum(sum(r["errors"].values()) for r in runs)
    each = ", ".join(f"{r['throughput']:.0f}" for r in runs)
    rows.append(f"| {mode} the journal | {med[mode]['throughput']:.0f} ({each}) | {med[mode]['p50Ms']:.2f} | {med[mode]['p99Ms']:.2f} | {errors} |")
cost = (1 - med["with"]["throughput"] / med["without"]["throughput"]) * 100
# Each round against its neighbour (the load of a shared machine drifts between rounds).
pairs = [sale(f"with-{r}")["throughput"] / sale(f"without-{r}")["throughput"] for r in range(1, int(rounds) + 1)]
paired = (1 - statistics.median(pairs)) * 100
section = f"""
Produced by `scripts/bench-journal.sh` (it rewrites this section). Checkout only (5-line sales,
`tills bench --mix sale=1`), {conc} clients, on PostgreSQL + Redis of the script's own, {stores}
stores × {products} products, caches warm; {rounds} pairs of rounds of {secs} s with the journal
and without it, in alternating order, on one server and one database (without: `tills_sell_journaled` replaced by a plain
call of `tills_sell`). Medians of the rounds (each round's figure in brackets). Machine:
{os.cpu_count()} cores, shared with the load generator.

| checkout | sales/s | p50 ms | p99 ms | errors |
| --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

The journal costs {paired:.1f} % of checkout throughput, as the median of each round with the
journal against the round without it in the same pair (the pair's order alternates) ({", ".join(f"{(1 - x) * 100:.1f} %" for x in pairs)});
{cost:.1f} % as the ratio of the medians (the target: within 10 %; below 0: the rounds with the
journal were the faster, within the noise). {entries} entries for {sales} sales
(the sales of the rounds without the journal have none).
"""
begin, end = "<!-- bench-journal.sh: begin -->", "<!-- bench-journal.sh: end -->"
old = open(out).read() if os.path.exists(out) else "# Tills benchmarks\n"
if begin in old and end in old:
    new = old[: old.index(begin) + len(begin)] + section + old[old.index(end):]
else:
    new = old.rstrip("\n") + "\n\n## Journal\n\n" + begin + section + end + "\n"
open(out, "w").write(new)
print(section)
PY
