#!/usr/bin/env bash
# Tills scaled out on this machine, all on loopback: a 3-master Redis Cluster (plus one plain
# redis-server, for comparison), the PostgreSQL database tills_cluster seeded with benchmark
# stores, three `tills serve` instances, and nginx in front of them (deploy/nginx/tills.conf).
#
#   scripts/cluster.sh up       # build, start everything, seed once, print the address
#   scripts/cluster.sh bench    # through nginx: hot scans, then the mixed POS day
#   scripts/cluster.sh matrix   # 1, 2, 3 instances × one Redis / Redis Cluster: a markdown table
#   scripts/cluster.sh run L …  # one measured run labelled L with `tills bench` arguments (--mix sale=1)
#   scripts/cluster.sh upstream N  # nginx sends to the first N instances only
#   scripts/cluster.sh memory   # Redis memory per key and per store, from the live keys
#   scripts/cluster.sh status
#   scripts/cluster.sh down     # stop exactly what `up` started and remove the state directory
#
# Settings (environment):
#   CLUSTER_STORES=1000 CLUSTER_PRODUCTS=2000 CLUSTER_CUSTOMERS=200   the seed (skipped when the
#                                   database already holds it; `tills seed` resumes a partial one)
#   CLUSTER_HOT_PRODUCTS=200        scans and sales draw from each store's first N products (its
#                                   fast movers); they are put in Redis once per Redis before timing
#   CLUSTER_SECONDS=20 CLUSTER_CONCURRENCY=64   each timed run
#   CLUSTER_INSTANCES=3 CLUSTER_DB_CONNECTIONS=16 (per instance)
#   CLUSTER_NGINX_PORT              nginx's port (default: a free one)
#   CLUSTER_DIR                     state: pids, ports, configs, logs (default ${TMPDIR:-/tmp}/tills-cluster)
#   CLUSTER_PG_ADMIN                default postgres://postgres@127.0.0.1:5432/postgres
#   CLUSTER_DROP_DB=1               `down` also drops tills_cluster (the seed is kept otherwise)
#   BENCH_LOCK=/path                every timed run holds `flock` on this file, so benchmarks of
#                                   others sharing the machine never overlap with these
set -euo pipefail
# The daemons started here must not inherit descriptors from whoever ran this script: under
# `flock <file> scripts/cluster.sh up`, redis, tills and nginx would otherwise hold that lock for
# as long as they run. (Bash reads this script through fd 255.)
for fd in /proc/$$/fd/*; do
  fd="${fd##*/}"
  if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
cd "$(dirname "$0")/.."
ROOT="$PWD"

STORES="${CLUSTER_STORES:-1000}"
PRODUCTS="${CLUSTER_PRODUCTS:-2000}"
CUSTOMERS="${CLUSTER_CUSTOMERS:-200}"
HOT="${CLUSTER_HOT_PRODUCTS:-200}"
[ "$HOT" -gt "$PRODUCTS" ] && HOT="$PRODUCTS"
SECONDS_EACH="${CLUSTER_SECONDS:-20}"
CONCURRENCY="${CLUSTER_CONCURRENCY:-64}"
INSTANCES="${CLUSTER_INSTANCES:-3}"
DB_CONNECTIONS="${CLUSTER_DB_CONNECTIONS:-16}"
DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/tills-cluster}"
PG_ADMIN="${CLUSTER_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME=tills_cluster
DATABASE_URL="${PG_ADMIN%/*}/$DB_NAME"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tills"
MASTERS=3

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need() {
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "$c is missing (Debian: apt-get install -y ${PKG[$c]:-$c})"; done
}
declare -A PKG=([redis-server]=redis-server [redis-cli]=redis-tools [psql]=postgresql-client [flock]=util-linux [python3]=python3 [curl]=curl)

# n distinct free loopback ports (all held until every one is chosen).
free_ports() {
  python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# The state file: `key value` lines (ports, URLs) and `pid <kind> <name> <pid>` lines.
state() { awk -v k="$1" '$1==k {print $2; exit}' "$DIR/state"; }
state_all() { awk -v k="$1" '$1==k {print $2}' "$DIR/state"; }
record() { echo "$*" >>"$DIR/state"; }
pids_of() { awk -v k="$1" '$1=="pid" && $2==k {print $4}' "$DIR/state"; }

# Whether pid $1 is alive and still the process we started (its command line holds $2).
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }

wait_for() { # what, command...
  local what="$1"; shift
  for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up (logs in $DIR/logs)"
}

redis_url_of() { # cluster | single
  if [ "$1" = cluster ]; then
    local urls=() p
    for p in $(state_all cluster-port); do urls+=("redis://127.0.0.1:$p"); done
    (IFS=,; echo "${urls[*]}")
  else
    echo "redis://127.0.0.1:$(state single-port)"
  fi
}

start_instances() { # cluster | single
  local mode="$1" url i port pid
  url="$(redis_url_of "$mode")"
  i=0
  for port in $(state_all tills-port); do
    i=$((i + 1))
    DATABASE_URL="$DATABASE_URL" REDIS_URL="$url" TILLS_JWT_SECRET="$(cat "$DIR/secret")" RUST_LOG=warn \
      TILLS_DB_MAX_CONNECTIONS="$DB_CONNECTIONS" TILLS_TRUSTED_PROXIES=127.0.0.1 \
      setsid "$(state bin)" serve --listen "127.0.0.1:$port" >>"$DIR/logs/tills-$i.log" 2>&1 </dev/null &
    pid=$!
    record "pid tills tills-$i $pid"
  done
  for port in $(state_all tills-port); do wait_for "tills on $port" curl -fs "http://127.0.0.1:$port/readyz"; done
  sed -i '/^redis-mode /d' "$DIR/state"
  record "redis-mode $mode"
}

stop_kind() { # kind: TERM, wait, KILL what is left; forget the pids
  local kind="$1" pid
  for pid in $(pids_of "$kind"); do ours "$pid" "$(kind_marker "$kind")" && kill "$pid" 2>/dev/null || true; done
  for pid in $(pids_of "$kind"); do
    for _ in $(seq 1 100); do ours "$pid" "$(kind_marker "$kind")" || break; sleep 0.1; done
    ours "$pid" "$(kind_marker "$kind")" && kill -9 "$pid" 2>/dev/null || true
  done
  sed -i "/^pid $kind /d" "$DIR/state"
}
kind_marker() { case "$1" in tills) echo "$(state bin) serve";; nginx) echo "nginx";; *) echo "redis-server";; esac; }

# nginx's config: deploy/nginx/tills.conf with the first $1 instances as the upstream.
render_nginx() {
  local n="$1" servers="" port
  for port in $(state_all tills-port | head -n "$n"); do
    servers+="    server 127.0.0.1:$port max_fails=3 fail_timeout=5s;\n"
  done
  awk -v servers="$servers" -v port="$(state nginx-port)" '
    /# BEGIN servers/ { print; printf "%s", servers; skip=1; next }
    /# END servers/ { skip=0 }
    skip { next }
    /# LISTEN/ { print "    listen 127.0.0.1:" port "; # LISTEN"; next }
    { print }' "$ROOT/deploy/nginx/tills.conf" | sed 's/\\n/\n/g' >"$DIR/nginx/tills.conf"
  sed -i '/^upstream-size /d' "$DIR/state"
  record "upstream-size $n"
}

nginx_cmd() { nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e "$DIR/logs/nginx-error.log" "$@"; }

set_upstream() { # n: nginx sends to the first n instances
  render_nginx "$1"
  nginx_cmd -t -q
  nginx_cmd -s reload
  # The reload is done when the old workers are gone and the new ones answer.
  sleep 1
  wait_for "nginx" curl -fs "http://127.0.0.1:$(state nginx-port)/readyz"
}

seeded() {
  local have
  have=$(psql "$DATABASE_URL" -Atqc "SELECT COUNT(*) FROM products WHERE store_id LIKE 'bench-%'" 2>/dev/null || echo 0)
  [ "${have:-0}" -ge $((STORES * PRODUCTS)) ]
}

up() {
  need redis-server redis-cli psql python3 curl flock cargo
  if ! command -v nginx >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "installing nginx"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
    else
      die "nginx is missing (Debian: sudo apt-get install -y nginx)"
    fi
  fi
  if [ -f "$DIR/state" ]; then die "already up ($DIR): run scripts/cluster.sh down first"; fi

  say "building the release binary"
  cargo build --release --locked --bin tills
  mkdir -p "$DIR"/{redis,logs,nginx/tmp}
  chmod 1777 "$DIR/nginx/tmp"
  : >"$DIR/state"
  record "bin $BIN"
  python3 -c 'import secrets; print(secrets.token_hex(32))' >"$DIR/secret"
  chmod 600 "$DIR/secret"

  # Ports: cluster nodes, their cluster-bus ports, the single Redis, the instances, nginx.
  read -r -a ports <<<"$(free_ports $((2 * MASTERS + 1 + INSTANCES + 1)))"
  local i p
  for p in "${ports[@]:0:MASTERS}"; do record "cluster-port $p"; done
  for i in $(seq 0 $((MASTERS - 1))); do
    local bus="${ports[$((MASTERS + i))]}"
    p="${ports[$i]}"
    setsid redis-server --port "$p" --cluster-port "$bus" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$DIR/redis/nodes-$p.conf" --cluster-require-full-coverage no \
      --save "" --appendonly no --daemonize no --dir "$DIR/redis" --logfile "$DIR/logs/redis-$p.log" \
      </dev/null >/dev/null 2>&1 &
    record "pid redis-cluster redis-$p $!"
  done
  local single="${ports[$((2 * MASTERS))]}"
  setsid redis-server --port "$single" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$DIR/redis" --logfile "$DIR/logs/redis-$single.log" </dev/null >/dev/null 2>&1 &
  record "pid redis-single redis-$single $!"
  record "single-port $single"
  local tills_ports=("${ports[@]:$((2 * MASTERS + 1)):INSTANCES}")
  for p in "${tills_ports[@]}"; do record "tills-port $p"; done
  record "nginx-port ${CLUSTER_NGINX_PORT:-${ports[$((2 * MASTERS + 1 + INSTANCES))]}}"

  for p in $(state_all cluster-port) "$single"; do wait_for "redis-server on $p" redis-cli -p "$p" ping; done
  say "creating the Redis Cluster ($(state_all cluster-port | tr '\n' ' '))"
  # shellcheck disable=SC2046
  redis-cli --cluster create $(for p in $(state_all cluster-port); do echo "127.0.0.1:$p"; done) \
    --cluster-replicas 0 --cluster-yes >"$DIR/logs/cluster-create.log" 2>&1 ||
    { cat "$DIR/logs/cluster-create.log"; die "redis-cli --cluster create failed"; }
  for p in $(state_all cluster-port); do
    wait_for "cluster_state:ok on $p" sh -c "redis-cli -p $p cluster info | grep -q cluster_state:ok"
  done

  for p in $(state_all cluster-port) "$single"; do
    record "redis-empty $p $(redis-cli -p "$p" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')"
  done

  say "database $DB_NAME"
  if [ "$(psql "$PG_ADMIN" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    psql "$PG_ADMIN" -qc "CREATE DATABASE $DB_NAME"
  fi
  DATABASE_URL="$DATABASE_URL" "$BIN" migrate >/dev/null
  if seeded; then
    say "the seed is there ($STORES stores × $PRODUCTS products): not seeding"
  else
    say "seeding $STORES stores × $PRODUCTS products × $CUSTOMERS customers (resumes a partial seed)"
    local start=$SECONDS
    DATABASE_URL="$DATABASE_URL" "$BIN" seed --stores "$STORES" --products-per-store "$PRODUCTS" \
      --customers-per-store "$CUSTOMERS"
    record "seeded-in $((SECONDS - start))"
  fi

  say "starting $INSTANCES instances on the Redis Cluster"
  start_instances cluster

  say "starting nginx"
  cat >"$DIR/nginx/nginx.conf" <<EOF
# Written by scripts/cluster.sh; the Tills part is deploy/nginx/tills.conf (tills.conf here).
worker_processes auto;
pid $DIR/nginx/nginx.pid;
error_log $DIR/logs/nginx-error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user nobody nogroup;" )
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $DIR/nginx/tmp/body;
    proxy_temp_path $DIR/nginx/tmp/proxy;
    fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
    uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
    scgi_temp_path $DIR/nginx/tmp/scgi;
    include $DIR/nginx/tills.conf;
}
EOF
  render_nginx "$INSTANCES"
  nginx_cmd -t -q
  nginx_cmd
  wait_for "nginx's pid file" test -s "$DIR/nginx/nginx.pid"
  record "pid nginx nginx $(cat "$DIR/nginx/nginx.pid")"
  wait_for "nginx" curl -fs "http://127.0.0.1:$(state nginx-port)/readyz"

  cat <<EOF

Tills is up behind nginx: http://127.0.0.1:$(state nginx-port)
  instances:      $(for p in $(state_all tills-port); do printf 'http://127.0.0.1:%s ' "$p"; done)
  REDIS_URL:      $(redis_url_of cluster)
  single Redis:   $(redis_url_of single) (for comparison runs)
  DATABASE_URL:   $DATABASE_URL ($STORES stores bench-0001…, cashier@bench-0001.test / bench-password-1)
  state and logs: $DIR
Next: scripts/cluster.sh bench   (or matrix); scripts/cluster.sh down
EOF
}

# One timed run through $1 (URL), label $2, then `tills bench` arguments. Prints a one-line
# summary and appends the full result (report, summed cache hit rate of all instances, CPU seconds
# per component) to $DIR/results.jsonl.
run_bench() {
  local url="$1" label="$2"; shift 2
  python3 - "$DIR" "$label" "$(state redis-mode)" "$(state upstream-size)" "${BENCH_LOCK:-}" -- "$(state bin)" bench \
    --url "$url" --stores "$STORES" --products-per-store "$HOT" --concurrency "$CONCURRENCY" --json "$@" <<'PY'
import json, os, subprocess, sys, time, urllib.request
state_dir, label, mode, upstream, lock = sys.argv[1:6]
body = sys.argv[sys.argv.index("--") + 1:]
lines = [l.split() for l in open(os.path.join(state_dir, "state"))]
pids = {}
for l in lines:
    if l[0] == "pid":
        pids.setdefault(l[1], []).append(int(l[3]))
ports = [l[1] for l in lines if l[0] == "tills-port"]
def children(pid):
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []
# PostgreSQL's processes that work for this benchmark: backends of tills_cluster (autovacuum
# workers included) and the shared writers; not other databases' backends.
PG_SHARED = ("checkpointer", "background writer", "walwriter", "wal writer")
def postgres():
    out = []
    for p in subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split():
        try:
            line = open(f"/proc/{p}/cmdline").read().replace("\0", " ")
        except OSError:
            continue
        if " tills_cluster" in line or any(w in line for w in PG_SHARED):
            out.append(int(p))
    return out
def groups():
    g = {"tills": pids.get("tills", []), "redis": pids.get("redis-" + mode, [])}
    g["nginx"] = [p for m in pids.get("nginx", []) for p in [m] + children(m)]
    g["postgres"] = postgres()
    return g
tick = os.sysconf("SC_CLK_TCK")
def cpu(ps):
    """CPU seconds so far of each process, by pid."""
    out = {}
    for p in ps:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            out[p] = (int(f[11]) + int(f[12])) / tick
        except (OSError, IndexError):
            pass
    return out
def machine_busy():
    """CPU seconds every core of the machine spent busy, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / tick
def spent(start, end):
    """CPU seconds between two snapshots: processes that appeared meanwhile count whole; the
    ones that ended meanwhile are lost (pooled connections live long, so few are)."""
    return sum(v - start.get(p, 0.0) for p, v in end.items())
def counters():
    mh = mm = rh = 0.0
    for port in ports:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("tills_product_cache_requests_total{"):
                v = float(line.rsplit(" ", 1)[1])
                if 'tier="memory"' in line and 'result="hit"' in line: mh += v
                if 'tier="memory"' in line and 'result="miss"' in line: mm += v
                if 'tier="redis"' in line and 'result="hit"' in line: rh += v
    return mh, mm, rh
def measure():
    # CPU per component is sampled through the run and taken over the timed window only (the
    # last durationS seconds): the bench's logins before it (argon2 on the instances) would
    # otherwise count as serving cost.
    import threading
    samples, done = [], threading.Event()
    c0 = counters()
    t0 = time.time()
    proc = subprocess.Popen(body, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def snapshot():
        g = {k: cpu(v) for k, v in groups().items()}
        g["machine"] = {0: machine_busy()}
        g["bench client"] = cpu([proc.pid])  # a zombie still reports its times until reaped
        return g
    def sample():
        while True:
            samples.append((time.time(), snapshot()))
            if done.wait(0.25):
                return
    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    wall = time.time() - t0
    c1 = counters()
    if proc.returncode != 0:
        sys.stderr.write(stdout + stderr)
        sys.exit(proc.returncode)
    report = json.loads(stdout.strip().splitlines()[-1])
    # The last sample in which the client was still counted, and the one a window earlier.
    live = [s for s in samples if s[1]["bench client"]] or samples
    end_t, end = live[-1]
    start_t, start = min(samples, key=lambda s: abs(s[0] - (end_t - report["durationS"])))
    cpu_s = {k: round(spent(start[k], end[k]), 2) for k in end}
    cpu_s["window s"] = round(end_t - start_t, 2)
    # What the machine spent beyond the parts measured: anything else running at the time.
    cpu_s["other"] = round(cpu_s.pop("machine") - sum(v for k, v in cpu_s.items() if k != "window s"), 2)
    lookups = (c1[0] - c0[0]) + (c1[1] - c0[1])
    hit = ((c1[0] - c0[0]) + (c1[2] - c0[2])) / lookups if lookups > 0 else None
    return report, cpu_s, hit, wall
if lock:
    # Taken before the first snapshot and held to the last: a run waiting for another's
    # benchmark must not count that one's CPU, and none may start during this one.
    import fcntl
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
report, cpu_s, hit, wall = measure()
result = {"label": label, "redis": mode, "instances": int(upstream), "report": report, "cpuSeconds": cpu_s,
          "cacheHitRate": hit, "wallSeconds": round(wall, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
with open(os.path.join(state_dir, "results.jsonl"), "a") as f:
    f.write(json.dumps(result) + "\n")
d = report["durationS"]
print(f"{label}: redis={mode} instances={upstream} {d:.1f} s, cache hits {'-' if hit is None else format(hit * 100, '.1f') + ' %'}")
print(f"  {'op':<7} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  errors")
for op, o in report["operations"].items():
    errs = " ".join(f"{k}:{v}" for k, v in o["errors"].items()) or "0"
    print(f"  {op:<7} {o['requests']:>9} {o['throughput']:>7.0f} {o['p50Ms']:>8.2f} {o['p95Ms']:>8.2f} {o['p99Ms']:>8.2f} {o['maxMs']:>8.2f}  {errs}")
print("  CPU s: " + ", ".join(f"{k} {v}" for k, v in cpu_s.items()))
PY
}

nginx_url() { echo "http://127.0.0.1:$(state nginx-port)"; }

# One measured run through nginx with any `tills bench` arguments: `run checkout --mix sale=1`.
run_one() {
  [ -f "$DIR/state" ] || die "not up: run scripts/cluster.sh up first"
  [ $# -ge 1 ] || die "usage: scripts/cluster.sh run <label> [tills bench arguments]"
  local label="$1"; shift
  warm
  run_bench "$(nginx_url)" "$label" --duration "${SECONDS_EACH}s" "$@"
}

# Puts each store's hot products in the Redis now in use (every one once), unless done already.
warm() {
  local mode
  mode="$(state redis-mode)"
  grep -q "^warm $mode\$" "$DIR/state" && return 0
  say "warming the $mode Redis: every store's first $HOT products once"
  run_bench "$(nginx_url)" "warm-up ($mode)" --cold --duration 600s >/dev/null
  record "warm $mode"
}

bench_here() { # label prefix
  warm
  run_bench "$(nginx_url)" "hot scans" --mix scan=1 --duration "${SECONDS_EACH}s"
  run_bench "$(nginx_url)" "mixed day" --mix scan=85,search=5,sale=10 --duration "${SECONDS_EACH}s"
}

bench() {
  [ -f "$DIR/state" ] || die "not up: run scripts/cluster.sh up first"
  bench_here
}

matrix() {
  [ -f "$DIR/state" ] || die "not up: run scripts/cluster.sh up first"
  : >"$DIR/results.jsonl"
  local mode n
  for mode in single cluster; do
    if [ "$(state redis-mode)" != "$mode" ]; then
      say "restarting the instances on the $mode Redis"
      stop_kind tills
      start_instances "$mode"
    fi
    for n in $(seq 1 "$INSTANCES"); do
      say "$n instance(s) behind nginx, $mode Redis"
      set_upstream "$n"
      bench_here
    done
  done
  # One instance without nginx, for nginx's own cost.
  say "1 instance directly (no nginx), cluster Redis"
  run_bench "http://127.0.0.1:$(state_all tills-port | head -1)" "hot scans, direct" --mix scan=1 --duration "${SECONDS_EACH}s"
  set_upstream "$INSTANCES"
  table
}

# The results as a markdown table (docs/benchmarks.md, "Scale-out").
table() {
  python3 - "$DIR/results.jsonl" "$STORES" "$PRODUCTS" "$HOT" "$CONCURRENCY" <<'PY'
import json, os, platform, subprocess, sys
path, stores, products, hot, conc = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if not r["label"].startswith("warm-up")]
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
versions = "; ".join(sh(c) for c in ["nginx -v 2>&1", "redis-server --version | cut -d' ' -f1-3", "psql --version"])
print(f"{os.cpu_count()} cores; {platform.platform()}; {versions}")
print(f"{stores} stores × {products} products on PostgreSQL; scans and sales draw from each store's first {hot} products; concurrency {conc}\n")
print("| run | Redis | instances | op | req/s | p50 ms | p95 ms | p99 ms | errors | cache hits | CPU s: tills / nginx / redis / postgres / client / other |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    c = r["cpuSeconds"]
    cpu = f"{c['tills']:.0f} / {c['nginx']:.0f} / {c['redis']:.0f} / {c['postgres']:.0f} / {c['bench client']:.0f} / {c.get('other', float('nan')):.0f}"
    hit = "-" if r["cacheHitRate"] is None else f"{r['cacheHitRate'] * 100:.1f} %"
    inst = f"{r['instances']}" if "direct" not in r["label"] else "1, no nginx"
    for op, o in r["report"]["operations"].items():
        errs = sum(o["errors"].values())
        print(f"| {r['label']} | {r['redis']} | {inst} | {op} | {o['throughput']:.0f} | {o['p50Ms']:.2f} | {o['p95Ms']:.2f} | {o['p99Ms']:.2f} | {errs} | {hit} | {cpu} |")
PY
}

memory() {
  [ -f "$DIR/state" ] || die "not up: run scripts/cluster.sh up first"
  python3 - "$DIR/state" "$(state single-port)" "$STORES" $(state_all cluster-port) <<'PY'
import random, subprocess, sys
state, single, stores, cluster = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
# used_memory of each node right after `up` (empty), to count only what the keys take.
baseline = {l.split()[1]: int(l.split()[2]) for l in open(state) if l.startswith("redis-empty ")}
def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True, text=True).stdout.strip()
def info(port):
    return dict(l.split(":", 1) for l in cli(port, "info", "memory").splitlines() if ":" in l)
def report(name, ports):
    used = sum(int(info(p)["used_memory"]) for p in ports)
    keys = sum(int(cli(p, "dbsize") or 0) for p in ports)
    products, sizes = 0, []
    for p in ports:
        sample = cli(p, "--scan", "--pattern", "product:*").splitlines()
        products += len(sample)
        for k in random.sample(sample, min(300, len(sample))):
            sizes.append(int(cli(p, "memory", "usage", k, "samples", "0") or 0))
    if not products:
        print(f"{name}: {keys} keys, no product entries (not benchmarked on this Redis yet)")
        return
    avg = sum(sizes) / len(sizes)
    empty = sum(baseline.get(p, 0) for p in ports)
    print(f"{name}: {keys} keys ({products} product entries), used_memory {used / 2**20:.1f} MiB "
          f"(≈ {(used - empty) / max(products, 1):.0f} B per entry all in), MEMORY USAGE of a product entry {avg:.0f} B on average; "
          f"per store: {products / stores:.0f} entries ≈ {(used - empty) / stores / 2**20:.2f} MiB")
report("single Redis", [single])
report("Redis Cluster", cluster)
PY
}

status() {
  [ -f "$DIR/state" ] || { echo "down"; return 0; }
  local kind pid
  for kind in redis-cluster redis-single tills nginx; do
    for pid in $(pids_of "$kind"); do
      if ours "$pid" "$(kind_marker "$kind")"; then echo "$kind $pid running"; else echo "$kind $pid gone"; fi
    done
  done
  echo "nginx: $(nginx_url) → $(state upstream-size) instance(s); Redis in use: $(state redis-mode)"
}

down() {
  [ -f "$DIR/state" ] || { say "nothing to stop ($DIR has no state)"; return 0; }
  local pid
  for pid in $(pids_of nginx); do ours "$pid" nginx && nginx_cmd -s quit 2>/dev/null || true; done
  stop_kind nginx
  stop_kind tills
  stop_kind redis-cluster
  stop_kind redis-single
  if [ "${CLUSTER_DROP_DB:-0}" = 1 ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
  fi
  rm -rf "$DIR"
  say "stopped; $DIR removed$([ "${CLUSTER_DROP_DB:-0}" = 1 ] || echo "; database $DB_NAME kept (CLUSTER_DROP_DB=1 drops it)")"
}

case "${1:-}" in
  up) up ;;
  bench) bench ;;
  matrix) matrix ;;
  run) shift; run_one "$@" ;;
  upstream) [ -f "$DIR/state" ] || die "not up"; set_upstream "${2:?how many instances}" ;;
  table) table ;;
  memory) memory ;;
  status) status ;;
  down) down ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
