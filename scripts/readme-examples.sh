#!/usr/bin/env bash
# Runs the README's examples as written, so they cannot rot (scripts/test.sh calls it):
#
# - "Try it with curl" against `tills serve --demo` (SQLite in a temporary directory, on a free
#   port in place of localhost:8080): every command must succeed and the answers must be the
#   ones the README describes;
# - "Production on PostgreSQL" against a fresh database on the test PostgreSQL
#   (TILLS_TEST_DATABASE_URL), the server on a free port in place of 0.0.0.0:8080.
#
# Usage: scripts/readme-examples.sh [path/to/tills]
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-${TILLS_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/tills}}"
PG_URL="${TILLS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
say() { printf '==> %s\n' "$*"; }
fail() { printf 'error: the README example %s\n' "$*" >&2; exit 1; }
for tool in curl jq openssl; do command -v "$tool" >/dev/null || fail "needs $tool (Debian: apt-get install -y $tool)"; done
[ -x "$BIN" ] || fail "needs the tills binary at $BIN (cargo build --bin tills)"

WORK=$(mktemp -d)
SERVER=""
DB="tills_t_readme_$$"
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  psql "${PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 1 100); do curl -sf "$1/healthz" >/dev/null && return; sleep 0.1; done
  fail "could not start a server at $1"
}

# The fenced ```sh block that follows the heading $1 (its first one), as written.
block() {
  awk -v heading="$1" '
    $0 == heading { inside = 1; next }
    inside && /^## / { exit }
    inside && /^```sh/ { code = 1; next }
    code && /^```/ { exit }
    code { print }' README.md
}

# ---- Try it with curl ----
say "README: Try it with curl (serve --demo)"
PORT=$(free_port)
TILLS_DATA_DIR="$WORK/demo" DATABASE_URL='' REDIS_URL='' RUST_LOG=warn "$BIN" serve --demo --listen "127.0.0.1:$PORT" >/dev/null &
SERVER=$!
wait_up "http://127.0.0.1:$PORT"
block '## Try it with curl' | sed "s#localhost:8080#127.0.0.1:$PORT#g" > "$WORK/curl.sh"
[ -s "$WORK/curl.sh" ] || fail "block 'Try it with curl' was not found"
out=$(bash -euo pipefail "$WORK/curl.sh") || fail "'Try it with curl' failed: $out"
expect() { grep -qF -- "$1" <<<"$out" || fail "'Try it with curl' did not print $1; it printed:
$out"; }
expect '"Cola 330ml"'
expect '"factor": 6'
expect '"quantity": 0.535'
expect '"invoiceNumber": "DEMO-000001"'
expect '"expected": '
expect '"zNumber": 1'
expect '"difference": -69'
if grep -q '"error"' <<<"$out"; then fail "'Try it with curl' got an error: $out"; fi
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

# ---- Production on PostgreSQL ----
say "README: Production on PostgreSQL"
psql "${PG_URL%/*}/postgres" -qc "CREATE DATABASE $DB" >/dev/null
PORT=$(free_port)
# The block after the paragraph "Production on PostgreSQL:".
awk '/^Production on PostgreSQL:/ { inside = 1; next } inside && /^```sh/ { code = 1; next } code && /^```/ { exit } code { print }' README.md > "$WORK/prod.sh"
[ -s "$WORK/prod.sh" ] || fail "block 'Production on PostgreSQL' was not found"
sed -i -e "s#postgres://tills_owner@db/tills#${PG_URL%/*}/$DB#" -e "s#0.0.0.0:8080#127.0.0.1:$PORT#" \
  -e "s#--password '…'#--password 'readme-example-1'#" -e 's#^tills serve\(.*\)$#exec tills serve\1#' "$WORK/prod.sh"
mkdir -p "$WORK/bin" && ln -s "$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" "$WORK/bin/tills"
# The script ends by exec'ing the server: its pid is the server's.
PATH="$WORK/bin:$PATH" RUST_LOG=warn bash -euo pipefail "$WORK/prod.sh" >"$WORK/prod.out" 2>&1 &
SERVER=$!
wait_up "http://127.0.0.1:$PORT"
token=$(curl -s "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"ops@example.com","password":"readme-example-1"}' | jq -r .token)
[ -n "$token" ] && [ "$token" != null ] || fail "'Production on PostgreSQL': the platform admin cannot log in: $(cat "$WORK/prod.out")"
say "README examples: ok"
