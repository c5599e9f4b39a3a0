#!/usr/bin/env bash
# Run the six Lumbung services as separate local processes, in distributed mode (Kafka +
# MongoDB), exactly as the containers do: each one is deploy/entrypoint.sh with
# LUMBUNG_SERVICE=<name> and the same LUMBUNG_* variables docker-compose.yml sets.
#
# Usage: deploy/run-distributed.sh start|stop|status|env|run [SERVICE...]
#
#   start   start the services (all six, or those named) in the background and wait until
#           each answers /healthz; idempotent
#   stop    SIGTERM, wait up to LUMBUNG_RUN_STOP_TIMEOUT (20 s), then SIGKILL
#   status  one line per service with its pid, port and /readyz status; exit 0 if all run
#   env     print `export LUMBUNG_URL_<SERVICE>=http://127.0.0.1:PORT` lines
#   run     start, then stay in the foreground until Ctrl-C, then stop
#
# Needs (from the environment, e.g. `source .cache/run/testenv.env` after `make servers-up`):
#   LUMBUNG_KAFKA_BOOTSTRAP   Kafka brokers (else LUMBUNG_TEST_KAFKA_BOOTSTRAP)
#   LUMBUNG_MONGO_URL         MongoDB URL (else LUMBUNG_TEST_MONGO_URL)
#   LUMBUNG_SECRET, LUMBUNG_PII_KEY   >= 32 characters each (distributed mode refuses less)
# Optional:
#   LUMBUNG_BASE_PORT         registry's port; the others follow in catalog order
#                             (default 8101: registry 8101 ... aggregator 8106); `auto` picks
#                             free ports (kept for restarts)
#   LUMBUNG_RUN_STATE         pid files, logs, ports (default $LUMBUNG_CACHE/run/distributed)
#   LUMBUNG_RUN_START_TIMEOUT seconds to wait for /healthz (default 60)
#   LUMBUNG_PYTHON            interpreter (default <repo>/.venv/bin/python, else python3)
#   any other LUMBUNG_* setting (LUMBUNG_MONGO_DB, LUMBUNG_KAFKA_PARTITIONS, ...) passes through.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ENTRYPOINT="$HERE/entrypoint.sh"
# The order of services/catalog.py's SERVICES.
ALL_SERVICES=(registry training commerce agriculture livestock aggregator)

CACHE="${LUMBUNG_CACHE:-$ROOT/.cache}"
STATE="$(realpath -m "${LUMBUNG_RUN_STATE:-$CACHE/run/distributed}")"
PORTS_FILE="$STATE/ports"

log() { printf '[run-distributed] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

if [[ -z "${LUMBUNG_PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then LUMBUNG_PYTHON="$ROOT/.venv/bin/python"; else LUMBUNG_PYTHON=python3; fi
fi
export LUMBUNG_PYTHON

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The pid of SERVICE if it runs, started by this script with this state dir. The pid file is
# trusted only if that process's environment carries our marker (pid reuse, other test runs).
pid_of() {
  local name="$1" pidfile="$STATE/$1.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ]] || return 1
  { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "LUMBUNG_RUN_MARK=$STATE/$name" ||
    return 1
  echo "$pid"
}

port_of() {
  awk -F= -v k="$1" '$1 == k {print $2}' "$PORTS_FILE" 2>/dev/null
}

free_ports() {
  "$LUMBUNG_PYTHON" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
EOF
}

# Decide every service's port once; later starts reuse ports/ (restarts keep their URLs).
resolve_ports() {
  mkdir -p "$STATE"
  local base="${LUMBUNG_BASE_PORT:-8101}" i name ports=()
  if [[ -f "$PORTS_FILE" ]]; then
    # Keep the ports while any service runs on them, and when none was asked for.
    for name in "${ALL_SERVICES[@]}"; do
      pid_of "$name" >/dev/null && return 0
    done
    [[ -z "${LUMBUNG_BASE_PORT:-}" || "$base" == auto ]] && return 0
  fi
  if [[ "$base" == auto ]]; then
    mapfile -t ports < <(free_ports "${#ALL_SERVICES[@]}")
  else
    if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1 || base + ${#ALL_SERVICES[@]} > 65535)); then
      die "LUMBUNG_BASE_PORT must be a port number or auto, not '$base'"
    fi
    for i in "${!ALL_SERVICES[@]}"; do ports+=($((base + i))); done
  fi
  : >"$PORTS_FILE.tmp"
  for i in "${!ALL_SERVICES[@]}"; do
    echo "${ALL_SERVICES[$i]}=${ports[$i]}" >>"$PORTS_FILE.tmp"
  done
  mv -f "$PORTS_FILE.tmp" "$PORTS_FILE"
}

check_env() {
  LUMBUNG_KAFKA_BOOTSTRAP="${LUMBUNG_KAFKA_BOOTSTRAP:-${LUMBUNG_TEST_KAFKA_BOOTSTRAP:-}}"
  LUMBUNG_MONGO_URL="${LUMBUNG_MONGO_URL:-${LUMBUNG_TEST_MONGO_URL:-}}"
  [[ -n "$LUMBUNG_KAFKA_BOOTSTRAP" ]] ||
    die "set LUMBUNG_KAFKA_BOOTSTRAP (or: make servers-up && source .cache/run/testenv.env)"
  [[ -n "$LUMBUNG_MONGO_URL" ]] ||
    die "set LUMBUNG_MONGO_URL (or: make servers-up && source .cache/run/testenv.env)"
  local v value
  for v in LUMBUNG_SECRET LUMBUNG_PII_KEY; do
    value="${!v:-}"
    [[ -n "$value" ]] || die "set $v (>= 32 characters, e.g. export $v=\$(openssl rand -hex 32))"
    ((${#value} >= 32)) || die "$v is shorter than 32 characters: distributed mode refuses it"
  done
  export LUMBUNG_KAFKA_BOOTSTRAP LUMBUNG_MONGO_URL
}

selected() {
  local name
  if (($# == 0)); then
    printf '%s\n' "${ALL_SERVICES[@]}"
    return 0
  fi
  for name in "$@"; do
    [[ " ${ALL_SERVICES[*]} " == *" $name "* ]] ||
      die "unknown service '$name' (one of: ${ALL_SERVICES[*]})"
    echo "$name"
  done
}

http_status() {
  "$LUMBUNG_PYTHON" - "$1" <<'EOF'
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        body = r.read()
        code = r.status
except urllib.error.HTTPError as e:
    body, code = e.read(), e.code
except OSError as e:
    print("unreachable", e.__class__.__name__)
    sys.exit(1)
try:
    print(code, json.loads(body).get("status", ""))
except ValueError:
    print(code)
EOF
}

start_one() {
  local name="$1" port pid log_file
  port="$(port_of "$name")"
  [[ -n "$port" ]] || die "no port for $name in $PORTS_FILE"
  if pid="$(pid_of "$name")"; then
    log "$name already running (pid $pid, port $port)"
    return 0
  fi
  log_file="$STATE/$name.log"
  printf '==== run-distributed.sh start %s ====\n' "$(date -Is)" >>"$log_file"
  (
    trap '' HUP
    cd "$ROOT"
    # The container's environment (docker-compose.yml), with a loopback host and own port.
    export LUMBUNG_MODE=distributed LUMBUNG_SERVICE="$name" LUMBUNG_HOST=127.0.0.1 \
      LUMBUNG_PORT="$port" LUMBUNG_DEMO="${LUMBUNG_DEMO:-off}" \
      LUMBUNG_RUN_MARK="$STATE/$name"
    exec "$ENTRYPOINT" </dev/null >>"$log_file" 2>&1
  ) &
  echo "$!" >"$STATE/$name.pid"
  log "started $name (pid $!, port $port, log $log_file)"
}

wait_healthy() {
  local name="$1" port deadline pid
  port="$(port_of "$name")"
  deadline=$(($(now_ms) + ${LUMBUNG_RUN_START_TIMEOUT:-60} * 1000))
  # Our own child, just started: its pid file is fresh (pid_of's environment check would race
  # with the exec that sets LUMBUNG_RUN_MARK).
  pid="$(<"$STATE/$name.pid")"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null ||
      [[ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" == Z ]]; then
      tail -n 40 "$STATE/$name.log" >&2 || true
      die "$name exited during start (log: $STATE/$name.log)"
    fi
    if [[ "$(http_status "http://127.0.0.1:$port/healthz" 2>/dev/null)" == "200 ok" ]]; then
      log "$name answers on http://127.0.0.1:$port ($(http_status "http://127.0.0.1:$port/readyz" || true))"
      return 0
    fi
    if (($(now_ms) >= deadline)); then
      tail -n 40 "$STATE/$name.log" >&2 || true
      kill -KILL "$pid" 2>/dev/null || true
      die "$name did not answer /healthz within ${LUMBUNG_RUN_START_TIMEOUT:-60}s"
    fi
    sleep 0.2
  done
}

stop_one() {
  local name="$1" pid deadline
  if ! pid="$(pid_of "$name")"; then
    rm -f "$STATE/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + ${LUMBUNG_RUN_STOP_TIMEOUT:-20} * 1000))
  while pid_of "$name" >/dev/null; do
    if (($(now_ms) >= deadline)); then
      log "$name did not stop in ${LUMBUNG_RUN_STOP_TIMEOUT:-20}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$STATE/$name.pid"
  log "stopped $name (pid $pid)"
}

cmd_start() {
  local names name
  mapfile -t names < <(selected "$@")
  check_env
  resolve_ports
  for name in "${names[@]}"; do start_one "$name"; done
  for name in "${names[@]}"; do wait_healthy "$name"; done
}

cmd_stop() {
  local names name pids=()
  mapfile -t names < <(selected "$@")
  for name in "${names[@]}"; do stop_one "$name" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
}

cmd_status() {
  local names name pid port all=0
  mapfile -t names < <(selected "$@")
  for name in "${names[@]}"; do
    port="$(port_of "$name")"
    if pid="$(pid_of "$name")"; then
      echo "$name running (pid $pid) on http://127.0.0.1:$port: readyz $(http_status "http://127.0.0.1:$port/readyz" || true)"
    else
      echo "$name not running"
      all=1
    fi
  done
  return "$all"
}

cmd_env() {
  local name upper
  [[ -f "$PORTS_FILE" ]] || die "not started yet (no $PORTS_FILE)"
  for name in "${ALL_SERVICES[@]}"; do
    upper="$(tr '[:lower:]' '[:upper:]' <<<"$name")"
    echo "export LUMBUNG_URL_$upper=http://127.0.0.1:$(port_of "$name")"
  done
}

case "${1:-}" in
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  status) shift && cmd_status "$@" ;;
  env) cmd_env ;;
  run)
    shift
    trap 'cmd_stop "$@"; exit 0' INT TERM
    cmd_start "$@"
    cmd_env
    log "running; Ctrl-C stops them"
    while cmd_status "$@" >/dev/null; do sleep 2; done
    log "a service exited; stopping the others"
    cmd_stop "$@"
    exit 1
    ;;
  *)
    echo "usage: $0 start|stop|status|env|run [SERVICE...]" >&2
    exit 2
    ;;
esac
