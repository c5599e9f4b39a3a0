# shellcheck shell=bash
# Shared helpers for deploy/local/{kafka,ferretdb,testenv}.sh. Sourced, not run.
#
# The caller sets LB_TAG (log prefix) before using lb_log/lb_die.

# Repo root = two levels above this file (deploy/local/lib.sh).
LB_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LB_REPO_ROOT="$(cd "$LB_LIB_DIR/../.." && pwd)"

# Everything cached/run-time lives here unless LUMBUNG_CACHE says otherwise.
LUMBUNG_CACHE="${LUMBUNG_CACHE:-$LB_REPO_ROOT/.cache}"
mkdir -p "$LUMBUNG_CACHE"
LUMBUNG_CACHE="$(cd "$LUMBUNG_CACHE" && pwd)"
export LUMBUNG_CACHE

LB_TAG="${LB_TAG:-local}"

lb_log() { printf '[%s] %s\n' "$LB_TAG" "$*" >&2; }
lb_die() { lb_log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch.
lb_now_ms() { local ns; ns="$(date +%s%N)"; echo $((ns / 1000000)); }

# Seconds (one decimal) elapsed since a lb_now_ms value.
lb_elapsed() {
  local ms=$(($(lb_now_ms) - $1))
  printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100))
}

# Python used for small helpers (port picking, probes). Stdlib only.
lb_python() {
  if [[ -n "${LUMBUNG_PYTHON:-}" ]]; then
    echo "$LUMBUNG_PYTHON"
  elif [[ -x "$LB_REPO_ROOT/.venv/bin/python" ]]; then
    echo "$LB_REPO_ROOT/.venv/bin/python"
  else
    echo python3
  fi
}

# Print N distinct free TCP ports on 127.0.0.1, one a line.
lb_free_ports() {
  "$(lb_python)" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
EOF
}

# lb_read_kv FILE KEY: value of KEY=VALUE line in FILE (empty if absent).
lb_read_kv() {
  local file="$1" key="$2" k v
  [[ -f "$file" ]] || return 0
  while IFS='=' read -r k v; do
    if [[ "$k" == "$key" ]]; then
      echo "$v"
      return 0
    fi
  done <"$file"
}

# Is something accepting TCP connections on HOST PORT?
lb_tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Is a port free to bind on 127.0.0.1?
lb_port_free() { ! lb_tcp_open 127.0.0.1 "$1"; }

# lb_cmdline_has PID NEEDLE: does /proc/PID/cmdline contain NEEDLE?
lb_cmdline_has() {
  local cmd
  cmd="$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmd" == *"$2"* ]]
}

# lb_find_pid PIDFILE NEEDLE: print the pid of our server if it is running.
# Trusts the pid file only when that pid's command line contains NEEDLE
# (guards against pid reuse); otherwise scans /proc for such a process, so a
# lost pid file does not leave an unstoppable server behind.
lb_find_pid() {
  local pidfile="$1" needle="$2" pid d
  if [[ -f "$pidfile" ]]; then
    pid="$(<"$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && lb_cmdline_has "$pid" "$needle"; then
      echo "$pid"
      return 0
    fi
  fi
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if lb_cmdline_has "$pid" "$needle"; then
      # Skip zombies.
      [[ "$(awk '/^State:/ {print $2}' "$d/status" 2>/dev/null)" == Z ]] && continue
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# lb_wait_gone PID SECONDS: wait until PID has exited; 1 on timeout.
lb_wait_gone() {
  local pid="$1" deadline=$(($(lb_now_ms) + $2 * 1000))
  while kill -0 "$pid" 2>/dev/null; do
    # A zombie child of ours (only when started from this very shell) counts as gone.
    [[ "$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" == Z ]] && return 0
    (($(lb_now_ms) >= deadline)) && return 1
    sleep 0.1
  done
  return 0
}

# lb_stop NAME PIDFILE NEEDLE TIMEOUT_S: SIGTERM, wait, then SIGKILL.
lb_stop() {
  local name="$1" pidfile="$2" needle="$3" timeout="$4" pid t0
  if ! pid="$(lb_find_pid "$pidfile" "$needle")"; then
    rm -f "$pidfile"
    lb_log "$name is not running"
    return 0
  fi
  t0="$(lb_now_ms)"
  lb_log "stopping $name (pid $pid, SIGTERM, up to ${timeout}s)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! lb_wait_gone "$pid" "$timeout"; then
    lb_log "$name did not stop within ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    lb_wait_gone "$pid" 10 || lb_die "$name (pid $pid) survived SIGKILL"
  fi
  rm -f "$pidfile"
  lb_log "$name stopped in $(lb_elapsed "$t0")s"
}

# lb_hard_kill NAME PIDFILE NEEDLE: immediate SIGKILL (chaos tests).
lb_hard_kill() {
  local name="$1" pidfile="$2" needle="$3" pid
  if ! pid="$(lb_find_pid "$pidfile" "$needle")"; then
    rm -f "$pidfile"
    lb_log "$name is not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  lb_wait_gone "$pid" 10 || lb_die "$name (pid $pid) survived SIGKILL"
  rm -f "$pidfile"
  lb_log "$name killed (SIGKILL, pid $pid)"
}

# lb_lock FILE: hold an exclusive lock on FILE until this shell exits
# (serialises concurrent install/start of the same thing). No-op without flock.
# lb_spawn closes these fds so a server never inherits (and keeps) a lock.
LB_LOCK_FDS=()
lb_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$1")"
  local fd
  exec {fd}>"$1"
  LB_LOCK_FDS+=("$fd")
  flock -w 900 "$fd" || lb_die "could not lock $1"
}

# lb_spawn PIDFILE LOG CMD...: run CMD in the background, detached from our
# stdin/stdout/stderr (output appended to LOG), and record its pid.
# The pid is CMD's own (the subshell execs it). Non-interactive bash makes
# background jobs ignore SIGINT, so a Ctrl-C in the test runner does not
# take the server down with it; SIGHUP is ignored too.
lb_spawn() {
  local pidfile="$1" log="$2"
  shift 2
  (
    for fd in "${LB_LOCK_FDS[@]}"; do exec {fd}>&-; done
    trap '' HUP
    cd /
    exec "$@" </dev/null >>"$log" 2>&1
  ) &
  echo "$!" >"$pidfile"
}

# lb_write_file FILE CONTENT: write atomically.
lb_write_file() {
  printf '%s' "$2" >"$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

# lb_fail_with_log NAME LOG OFFSET [PID]: print what the server logged since
# byte OFFSET (at most the last 60 lines), SIGKILL PID if given (a server that
# missed its start deadline is not left half-started), then fail.
lb_fail_with_log() {
  local name="$1" log="$2" offset="$3" pid="${4:-}"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    lb_log "killing pid $pid (not ready in time)"
    kill -KILL "$pid" 2>/dev/null || true
    lb_wait_gone "$pid" 10 || true
  fi
  lb_log "---- last lines of $log ----"
  tail -c +"$((offset + 1))" "$log" 2>/dev/null | tail -n 60 >&2 || true
  lb_log "---- end of $log ----"
  lb_die "$name failed to become ready"
}
