#!/usr/bin/env bash
# Runs the whole Tills test suite: unit tests, the storage story on SQLite and PostgreSQL, and the
# HTTP suites, against a real PostgreSQL and a real Redis, and the chosen suites again on a Citus
# cluster (built from ../shared/vendor when missing, see scripts/citus.sh). They are started when they are
# installed but not running, installed (Debian) when missing, and otherwise this script stops
# with a message that says what to do. It never skips a suite.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TILLS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export TILLS_TEST_DATABASE_URL="$PG_URL"
export TILLS_TEST_REDIS_URL="${TILLS_TEST_REDIS_URL:-redis://127.0.0.1:6379}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    die "$* is missing: install it (Debian: sudo apt-get install -y $*) and run this again"
  fi
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

ensure_postgres() {
  pg_up && return
  command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
  if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then apt_install postgresql; fi
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_up && return; sleep 1; done
  die "PostgreSQL is not answering on 127.0.0.1:5432. Start it: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
}

ensure_redis() {
  redis_up && return
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && return; sleep 1; done
  die "Redis is not answering on 127.0.0.1:6379. Start it: redis-server --daemonize yes --port 6379"
}

ensure_example_tools() {
  local missing=()
  for tool in curl jq openssl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_browser_tools() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || apt_install chromium
}

command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust (https://rustup.rs) and run this again"

# A disk that fills up during the build kills the linker with a bus error (SIGBUS) that names no
# cause: say it before building. The debug build and its test binaries take about 3.5 GB.
build_dir="${CARGO_TARGET_DIR:-$PWD}"
mkdir -p "$build_dir"
free_kb=$(df -Pk "$build_dir" | awk 'NR == 2 { print $4 }')
[ "${free_kb:-0}" -ge 5000000 ] ||
  die "only $((${free_kb:-0} / 1024)) MB free on the disk of $build_dir; the build needs about 5 GB: free some space (old target/ directories) and run this again"
ensure_postgres
ensure_redis
ensure_example_tools
ensure_browser_tools

# A Citus cluster for the suites that also run distributed (Backend::Citus in the test kit): a
# coordinator and two workers of this machine's PostgreSQL on free loopback ports, in a temporary
# directory, trust auth, stopped and removed when this script ends. scripts/citus.sh builds and
# installs Citus from ../shared/vendor when it is missing, and stops here if it cannot.
CITUS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tills-citus.XXXXXX")"
trap 'scripts/citus.sh down "$CITUS_DIR"' EXIT
say "Citus: a coordinator and two workers ($CITUS_DIR)"
scripts/citus.sh up "$CITUS_DIR" >/dev/null
# shellcheck disable=SC1091
. "$CITUS_DIR/env"
export TILLS_TEST_CITUS_URL="postgres://postgres@127.0.0.1:$COORDINATOR/postgres"
export TILLS_TEST_CITUS_WORKERS="127.0.0.1:${WORKERS%,*},127.0.0.1:${WORKERS#*,}"

# Databases left behind by an interrupted earlier run (each test drops its own when it ends).
psql "$PG_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'tills\_t\_%'" 2>/dev/null |
  while read -r db; do psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done

say "cargo test (SQLite, PostgreSQL $PG_URL, Citus $TILLS_TEST_CITUS_URL, Redis $TILLS_TEST_REDIS_URL)"
cargo test --workspace --locked

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export TILLS_BIN="$target_dir/debug/tills"
[ -x "$TILLS_BIN" ] || cargo build --locked --bin tills

# The API's contract: schemathesis (pinned, from PyPI) with every check, per role, with the
# document's links, on a demo server on PostgreSQL; and store A's token against store B's ids.
say "API contract (schemathesis, every check, every role; cross-store)"
scripts/api-contract.sh "$TILLS_BIN"

# The README's examples, run as written against the binary cargo just built.
say "README examples (curl on a demo server, production on PostgreSQL)"
scripts/readme-examples.sh "$TILLS_BIN"

# The terminal in a real browser: Debian's Chromium driven by playwright-core, against the
# `tills` binary cargo just built, on SQLite.
say "browser tests (Chromium, playwright-core)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
