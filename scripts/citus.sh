#!/usr/bin/env bash
# A Citus cluster of this machine's PostgreSQL for the tests: a coordinator and two workers on
# free loopback ports, each its own data directory under a temporary directory, trust auth.
#
#   scripts/citus.sh install      # build and install Citus from ../shared/vendor when missing
#   scripts/citus.sh up DIR       # install, then start the three nodes under DIR; prints
#                                 #   COORDINATOR=port and WORKERS=port,port (also DIR/env)
#   scripts/citus.sh down DIR     # stop the nodes started under DIR and remove it
#
# Citus is not in Debian's archive: its source (v13.2.2) and a patch for PostgreSQL >= 15.20 are
# in ../shared/vendor next to this repository (CITUS_VENDOR overrides). A failed build stops
# here with its log: no Citus test is ever skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENDOR="${CITUS_VENDOR:-$ROOT/../shared/vendor}"
CITUS_VERSION=13.2.2

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

pg_bindir() { "${PG_CONFIG:-pg_config}" --bindir; }

installed() { [ -f "$("${PG_CONFIG:-pg_config}" --pkglibdir)/citus.so" ] && [ -f "$("${PG_CONFIG:-pg_config}" --sharedir)/extension/citus.control" ]; }

install_citus() {
  command -v "${PG_CONFIG:-pg_config}" >/dev/null 2>&1 || die "pg_config is missing (Debian: apt-get install -y postgresql-server-dev-15)"
  installed && return 0
  local tarball="$VENDOR/citus-$CITUS_VERSION.tar.gz" patch="$VENDOR/citus-$CITUS_VERSION-pg15.20.patch"
  [ -f "$tarball" ] || die "Citus is not installed and its source is missing: expected $tarball (see ../shared/vendor/README.md)"
  local deps=(postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev build-essential autoconf flex bison)
  local missing=()
  for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing Citus's build dependencies: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      die "Citus's build dependencies are missing: apt-get install -y ${missing[*]}"
    fi
  fi
  local build; build="$(mktemp -d "${TMPDIR:-/tmp}/tills-citus-build.XXXXXX")"
  say "building Citus $CITUS_VERSION from $tarball in $build (about 70 s)"
  tar -xzf "$tarball" -C "$build"
  local src="$build/citus-$CITUS_VERSION" log="$build/build.log"
  if ! (cd "$src" && { [ ! -f "$patch" ] || patch -p1 <"$patch"; } && ./configure --without-libcurl &&
        make -j"$(nproc)" && make install) >"$log" 2>&1; then
    tail -40 "$log" >&2
    die "building Citus failed (the whole log: $log)"
  fi
  installed || die "Citus was built but citus.so is not in $("${PG_CONFIG:-pg_config}" --pkglibdir)"
  rm -rf "$build"
  say "Citus $CITUS_VERSION installed"
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# A node must be started as a non-root user: PostgreSQL refuses root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

up() {
  local dir="$1"
  install_citus
  local bin; bin="$(pg_bindir)"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  local ports=()
  for node in coordinator worker1 worker2; do
    local port; port="$(free_port)"
    ports+=("$port")
    as_pg "$bin/initdb" -D "$dir/$node" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/$node.initdb.log" 2>&1 ||
      { cat "$dir/$node.initdb.log" >&2; die "initdb of $node failed"; }
    cat >>"$dir/$node/postgresql.conf" <<CONF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 64MB
citus.max_adaptive_executor_pool_size = 4
citus.enable_statistics_collection = off
CONF
    as_pg "$bin/pg_ctl" -D "$dir/$node" -l "$dir/$node.log" -w -t 60 start >/dev/null ||
      { tail -20 "$dir/$node.log" >&2; die "starting the Citus $node failed"; }
  done
  printf 'COORDINATOR=%s\nWORKERS=%s,%s\n' "${ports[0]}" "${ports[1]}" "${ports[2]}" | tee "$dir/env"
  say "Citus coordinator on 127.0.0.1:${ports[0]}, workers on ${ports[1]} and ${ports[2]} ($dir)"
}

down() {
  local dir="$1"
  local bin; bin="$(pg_bindir)"
  for node in coordinator worker1 worker2; do
    if [ -f "$dir/$node/postmaster.pid" ]; then as_pg "$bin/pg_ctl" -D "$dir/$node" -m immediate stop >/dev/null 2>&1 || true; fi
  done
  rm -rf "$dir"
}

case "${1:-}" in
  install) install_citus ;;
  up) [ -n "${2:-}" ] || die "usage: scripts/citus.sh up DIR"; up "$2" ;;
  down) [ -n "${2:-}" ] || die "usage: scripts/citus.sh down DIR"; down "$2" ;;
  *) die "usage: scripts/citus.sh install | up DIR | down DIR" ;;
esac
