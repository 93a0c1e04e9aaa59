#!/usr/bin/env bash
# The API's contract, tested (scripts/test.sh calls it after cargo test): schemathesis, pinned in
# contract/requirements.txt and installed from PyPI into a virtualenv under the build directory,
# runs against `tills serve --demo` on a fresh PostgreSQL database (tills_t_contract_<pid> on
# TILLS_TEST_DATABASE_URL, dropped at the end) with every check on, once per role (cashier,
# manager, admin, platform admin), through the document's stateful links (create, then read,
# change, delete). Then the cross-store run: store A's admin asks for every id created in another
# store B, and every answer must be 404 (or, for a list, A's own data), never B's.
#
# Usage: scripts/api-contract.sh [path/to/tills]
# CONTRACT_MAX_EXAMPLES (default 10) bounds the examples per operation and phase; CONTRACT_SEED
# (default 1) seeds the generated data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BIN="${1:-${TILLS_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/tills}}"
PG_URL="${TILLS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-10}"
say() { printf '==> %s\n' "$*"; }
fail() { printf 'error: the API contract: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 ||
  fail "needs Python 3 with venv and pip (Debian: apt-get install -y python3 python3-venv python3-pip)"
python3 -c 'import venv, ensurepip' 2>/dev/null ||
  fail "needs Python's venv and pip (Debian: apt-get install -y python3-venv python3-pip)"
for tool in curl jq psql; do command -v "$tool" >/dev/null || fail "needs $tool (Debian: apt-get install -y ${tool/psql/postgresql-client})"; done
[ -x "$BIN" ] || fail "needs the tills binary at $BIN (cargo build --bin tills)"

# schemathesis, pinned, in a virtualenv kept next to the build (reinstalled when the pin changes).
VENV="${CARGO_TARGET_DIR:-$ROOT/target}/contract-venv"
if ! cmp -s contract/requirements.txt "$VENV/requirements.txt" 2>/dev/null; then
  say "installing schemathesis ($(cat contract/requirements.txt)) into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r contract/requirements.txt ||
    fail "pip could not install contract/requirements.txt from PyPI"
  cp contract/requirements.txt "$VENV/requirements.txt"
fi
ST="$VENV/bin/schemathesis"
# Each run's full report stays here after the script ends.
REPORTS="${CARGO_TARGET_DIR:-$ROOT/target}/contract-reports"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"

WORK=$(mktemp -d)
SERVER=""
DB="tills_t_contract_$$"
ADMIN_URL="${PG_URL%/*}/postgres"
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null || fail "cannot create database $DB on $PG_URL"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
# REDIS_URL is passed on when set (the product cache and login throttling in Redis).
TILLS_DATA_DIR="$WORK/data" DATABASE_URL="${PG_URL%/*}/$DB" REDIS_URL="${TILLS_CONTRACT_REDIS_URL:-}" RUST_LOG=warn \
  "$BIN" serve --demo --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 200); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/healthz" >/dev/null || fail "the demo server did not start: $(cat "$WORK/server.log")"

login() { # store (or "" for the platform admin), email -> token
  local body
  if [ -n "$1" ]; then body=$(jq -nc --arg s "$1" --arg e "$2" '{store: $s, email: $e, password: "tills-demo-1"}')
  else body=$(jq -nc --arg e "$2" '{email: $e, password: "tills-demo-1"}'); fi
  local token
  token=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' -d "$body" | jq -r .token)
  [ -n "$token" ] && [ "$token" != null ] || fail "cannot log in as $2"
  printf '%s' "$token"
}
CASHIER=$(login demo cashier@demo.tills)
MANAGER=$(login demo manager@demo.tills)
ADMIN=$(login demo owner@demo.tills)
PLATFORM=$(login "" platform@tills.local)

failed=()
# Before the runs: schemathesis' logins with made-up passwords get the client throttled.
# ---- Cross-store: store B's ids through store A's token ----
say "cross-store: store A's admin asks for store B's ids"
api() { # token method path [body] -> "status body"
  local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$2" "$BASE/api/v1$3" -H "authorization: Bearer $1")
  [ $# -ge 4 ] && args+=(-H 'content-type: application/json' -d "$4")
  local status
  status=$(curl "${args[@]}")
  printf '%s %s' "$status" "$(cat "$WORK/body")"
}
created() { # token path body -> id
  local out
  out=$(api "$1" POST "$2" "$3")
  [ "${out%% *}" = 201 ] || [ "${out%% *}" = 200 ] || fail "cross-store setup: POST $2 answered $out"
  jq -r .id <<<"${out#* }"
}
B=contract-b
out=$(api "$PLATFORM" POST /admin/stores "$(jq -nc --arg id "$B" '{id: $id, name: "Store B", currency: "EUR",
  owner: {email: "owner@b.example", name: "Owner B", password: "tills-demo-1"}}')")
[ "${out%% *}" = 201 ] || fail "cross-store setup: creating store B answered $out"
BT=$(login "$B" owner@b.example)
AT=$(login demo owner@demo.tills)
declare -A ids
ids[categories]=$(created "$BT" /categories '{"name":"B secret category"}')
ids[brands]=$(created "$BT" /brands '{"name":"B secret brand"}')
ids[units]=$(created "$BT" /units '{"name":"B secret unit"}')
ids[products]=$(created "$BT" /products '{"name":"B secret product","price":999,"barcode":"B-SECRET-1"}')
ids[customers]=$(created "$BT" /customers '{"name":"B secret customer","phone":"+4930999999"}')
ids[users]=$(created "$BT" /users '{"email":"b-cashier@b.example","name":"B cashier","role":"cashier","password":"tills-demo-1"}')
shift_id=$(created "$BT" /shifts '{"terminal":"B-1","openingFloat":1000}' 2>/dev/null || true)
sale=$(api "$BT" POST /sales "$(jq -nc --arg p "${ids[products]}" --arg c "$(cat /proc/sys/kernel/random/uuid)" \
  '{clientRef: $c, lines: [{productId: $p, quantity: 1}], payments: [{method: "cash", amount: 999}]}')")
[ "${sale%% *}" = 201 ] || fail "cross-store setup: store B's sale answered $sale"
ids[sales]=$(jq -r .id <<<"${sale#* }")
invoice=$(jq -r .invoiceNumber <<<"${sale#* }")
cart=$(api "$BT" POST /carts "$(jq -nc --arg p "${ids[products]}" '{terminal: "B-1", lines: [{productId: $p, quantity: 1}]}')")
cart_id=$(jq -r '.id // empty' <<<"${cart#* }")

leaks=()
expect_404() { # method path [body]
  local out
  out=$(api "$AT" "$@")
  if [ "${out%% *}" != 404 ]; then leaks+=("$1 $2 answered ${out:0:300}"); fi
}
for r in "${!ids[@]}"; do
  expect_404 GET "/$r/${ids[$r]}"
done
for r in categories brands units; do
  expect_404 PATCH "/$r/${ids[$r]}" '{"name":"taken over"}'
  expect_404 DELETE "/$r/${ids[$r]}"
done
expect_404 PATCH "/products/${ids[products]}" '{"price":1}'
expect_404 DELETE "/products/${ids[products]}"
expect_404 POST "/products/${ids[products]}/stock" '{"delta":1,"reason":"stocktake"}'
expect_404 GET "/products/${ids[products]}/stock-movements"
expect_404 GET /products/barcode/B-SECRET-1
expect_404 PATCH "/customers/${ids[customers]}" '{"name":"taken over"}'
expect_404 DELETE "/customers/${ids[customers]}"
expect_404 PATCH "/users/${ids[users]}" '{"active":false}'
expect_404 DELETE "/users/${ids[users]}"
expect_404 GET "/sales/invoice/$invoice"
expect_404 POST "/sales/${ids[sales]}/void"
expect_404 POST "/sales/${ids[sales]}/refunds" '{"lines":[{"lineId":"'"$(cat /proc/sys/kernel/random/uuid)"'","quantity":1}]}'
if [ -n "$shift_id" ]; then
  for p in "" /report; do expect_404 GET "/shifts/$shift_id$p"; done
  expect_404 POST "/shifts/$shift_id/cash-movements" '{"kind":"pay_in","amount":100,"reason":"x"}'
  expect_404 POST "/shifts/$shift_id/close" '{"countedCash":1000}'
fi
[ -n "$cart_id" ] && expect_404 POST "/carts/$cart_id/resume"
# Lists and searches with B's ids as filters: A's data or nothing, never B's.
for q in "/products?q=secret" "/customers?q=secret" "/sales?customerId=${ids[customers]}" \
  "/payments?saleId=${ids[sales]}" "/products?categoryId=${ids[categories]}" "/catalog/changes" \
  "/categories" "/brands" "/units" "/users" "/sales" "/audit" "/carts" "/shifts"; do
  out=$(api "$AT" GET "$q")
  grep -qiE 'secret|B cashier|b\.example|contract-b' <<<"${out#* }" && leaks+=("GET $q showed store B's data: ${out:0:300}")
done
# The ids themselves never appear in store A's answers.
for id in "${ids[@]}"; do grep -rqs "$id" "$WORK/body" && leaks+=("an answer held B's id $id"); done
if [ ${#leaks[@]} -gt 0 ]; then
  printf 'cross-store: %s\n' "${leaks[@]}" >&2
  failed+=(cross-store)
else
  say "cross-store: every one of store B's ids answered 404 to store A"
fi


# Cursors are opaque values the server issued (no generator can make one): walk each list by them.
say "cursors: every list's nextCursor gives its next page"
for list in /categories /units /products /customers /users /audit /sales /payments /shifts "/catalog/changes"; do
  param=cursor next=.nextCursor
  [ "$list" = /catalog/changes ] && param=since next=.next
  out=$(api "$ADMIN" GET "$list?limit=1")
  [ "${out%% *}" = 200 ] || failed+=("GET $list?limit=1 answered ${out:0:200}")
  cursor=$(jq -r "$next // empty" <<<"${out#* }")
  [ -n "$cursor" ] || continue
  out=$(api "$ADMIN" GET "$list?limit=1&$param=$cursor")
  [ "${out%% *}" = 200 ] || failed+=("GET $list with its own $param answered ${out:0:200}")
done

# One run per role, two at a time (one worker each: Python 3.11's parser is not thread-safe,
# and hypothesis parses its lambdas' sources while it generates). The platform admin runs in the
# second pair: it creates and suspends stores (its links name the stores it created).
run() { # role token
  PYTHONPATH="$ROOT/contract" SCHEMATHESIS_HOOKS=hooks "$ST" --config-file "$ROOT/contract/schemathesis.toml" \
    run "$BASE/api/v1/openapi.json" -H "Authorization: Bearer $2" \
    --checks all --max-examples "$MAX_EXAMPLES" --workers 1 --no-color --seed "${CONTRACT_SEED:-1}" >"$REPORTS/$1.txt" 2>&1
}
report() { # role status
  if [ "$2" != 0 ]; then
    failed+=("$1")
    sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,$p' "$REPORTS/$1.txt" | head -c 60000 >&2
  fi
  say "schemathesis as $1: $(tail -n 1 "$REPORTS/$1.txt" | tr -d '=' | sed 's/^ *//')"
}
pair() { # role token role token
  say "schemathesis as $1 and $3 (--checks all, --max-examples $MAX_EXAMPLES)"
  (cd "$WORK" && run "$1" "$2") & local a=$!
  (cd "$WORK" && run "$3" "$4") & local b=$!
  local sa=0 sb=0
  wait "$a" || sa=$?
  wait "$b" || sb=$?
  report "$1" "$sa"
  report "$3" "$sb"
}
pair cashier "$CASHIER" manager "$MANAGER"
pair admin "$ADMIN" platform-admin "$PLATFORM"

[ ${#failed[@]} -eq 0 ] || fail "failed: ${failed[*]} (the reports above; server log: $(tail -n 5 "$WORK/server.log"))"
say "API contract: ok"
