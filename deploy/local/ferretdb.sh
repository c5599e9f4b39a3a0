#!/usr/bin/env bash
# Local FerretDB (MongoDB wire protocol, SQLite handler) for integration tests.
# No Docker: built from source with the Go toolchain (Go module proxy only).
#
# Usage: ferretdb.sh install|start|stop|kill|restart|status|env
#
#   install  build ferretdb VERSION into $LUMBUNG_CACHE/bin/ferretdb
#   start    (install if needed,) launch, wait until a real `ping` succeeds;
#            idempotent
#   stop     SIGTERM, wait up to LUMBUNG_FERRETDB_STOP_TIMEOUT (30 s), then SIGKILL
#   kill     immediate SIGKILL (chaos / outage tests)
#   restart  stop + start
#   status   exit 0 if running
#   env      print $STATE/env
#
# Restarts (after stop or kill) reuse the same port and the same data dir.
#
# Environment:
#   LUMBUNG_CACHE                  cache root (default: <repo>/.cache)
#   LUMBUNG_FERRETDB_STATE         state dir (default: $LUMBUNG_CACHE/run/ferretdb)
#   LUMBUNG_FERRETDB_PORT          listen port (default: free port, persisted)
#   LUMBUNG_FERRETDB_START_TIMEOUT seconds to wait for readiness (default 30)
#   LUMBUNG_FERRETDB_STOP_TIMEOUT  seconds before SIGKILL on stop (default 30)
#   LUMBUNG_PYTHON                 python for the readiness probe (stdlib only;
#                                  default <repo>/.venv/bin/python, else python3)
#   GO                             go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Writes $STATE/env:  LUMBUNG_TEST_MONGO_URL=mongodb://127.0.0.1:PORT/
set -euo pipefail

LB_TAG=ferretdb
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

FERRETDB_VERSION=v1.24.2
# LUMBUNG_FERRETDB_ATOMIC=0 builds and runs the build without patch_atomic_writes, beside
# the default one (its own binary): the benchmark measures what that patch costs and shows
# the lost updates it prevents. Tests and `make run` always use the atomic build.
FERRETDB_ATOMIC="${LUMBUNG_FERRETDB_ATOMIC:-1}"
[[ "$FERRETDB_ATOMIC" == 0 || "$FERRETDB_ATOMIC" == 1 ]] || {
  echo "LUMBUNG_FERRETDB_ATOMIC must be 0 or 1" >&2
  exit 2
}
FERRETDB_MODULE=github.com/FerretDB/FerretDB
if [[ "$FERRETDB_ATOMIC" == 1 ]]; then
  # see patch_id_lookup, patch_id_in and patch_atomic_writes
  FERRETDB_PACKAGE=lumbung-local-idindex-idin-atomic
  BIN="$LUMBUNG_CACHE/bin/ferretdb"
else
  FERRETDB_PACKAGE=lumbung-local-idindex-idin
  BIN="$LUMBUNG_CACHE/bin/ferretdb-nonatomic"
fi

STATE="${LUMBUNG_FERRETDB_STATE:-$LUMBUNG_CACHE/run/ferretdb}"
STATE="$(realpath -m "$STATE")"
DATA="$STATE/data"
PIDFILE="$STATE/ferretdb.pid"
LOG="$STATE/ferretdb.log"
PORTS_FILE="$STATE/ports"
ENV_FILE="$STATE/env"
# Unique to this server's command line (pid-reuse guard, /proc scan).
NEEDLE="--state-dir=$STATE "

find_go() {
  if [[ -n "${GO:-}" ]]; then
    echo "$GO"
  elif command -v go >/dev/null 2>&1; then
    echo go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

is_installed() {
  local v
  [[ -x "$BIN" ]] && v="$("$BIN" --version 2>/dev/null)" &&
    [[ $'\n'"$v"$'\n' == *$'\n'"version: $FERRETDB_VERSION"$'\n'* ]] &&
    [[ $'\n'"$v"$'\n' == *$'\n'"package: $FERRETDB_PACKAGE"$'\n'* ]]
}

# FerretDB 1.24's SQLite backend creates the _id index on `_ferretdb_sjson->"_id"` but
# looks documents up by `_ferretdb_sjson->'$._id'`: SQLite matches index expressions
# literally, so every find/update/delete by _id scanned the whole collection (70 ms at 20k
# documents, O(collection) per write). One line makes the lookups use the existing index
# (the PostgreSQL backend already uses `->'_id'`); stored data and indexes are unchanged.
patch_id_lookup() {
  local file="$1/internal/backends/sqlite/metadata/metadata.go"
  grep -q "IDColumn = DefaultColumn + \"->'\$._id'\"" "$file" ||
    lb_die "ferretdb source changed: IDColumn not found in $file"
  sed -i "s/IDColumn = DefaultColumn + \"->'\$._id'\"/IDColumn = DefaultColumn + \"->'_id'\"/" "$file"
}

# FerretDB 1.24's SQLite backend pushes only a filter that is exactly {_id: <string|ObjectID>}
# down to SQL; {_id: {$in: [...]}} read the whole collection, so MongoStore.get_many read a
# few ids with one find_one (a round trip) each. This adds the case {_id: {$in: [v1, ...]}}
# (the filter's only key, 1..10,000 string/ObjectID values; SQLite's modernc build allows
# 32,766 bound parameters) as `WHERE <IDColumn> IN (?, ...)`, which uses the _id index, in
# both Query and Explain (so explain reports filterPushdown: true for it).
# A superset suffices: Query's contract (internal/backends/collection.go, "Filter may be
# ignored, or safely applied partially or entirely. Extra documents will be filtered out by
# the handler") is kept by every handler that passes a filter, each filtering again what
# Query returned: internal/handler/msg_find.go makeFindIter (common.FilterIterator, also for
# getMore), msg_count.go, msg_distinct.go, msg_findandmodify.go, msg_update.go
# (FilterIterator), msg_delete.go (common.FilterDocument), msg_aggregate.go (the $match stage
# stays in the pipeline). Checked in v1.24.2.
patch_id_in() {
  local dir="$1/internal/backends/sqlite" anchor n
  local file="$dir/collection.go"
  # the two existing equality push-downs (Query, Explain) we extend
  # shellcheck disable=SC2016 # Go source, not shell expansions
  n="$(grep -c 'whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)' "$file")" || true
  [[ "$n" == 2 ]] || lb_die "ferretdb source changed: expected 2 _id equality push-downs in $file, found $n"
  for anchor in $'\tq += whereClause' $'\torderByClause := prepareOrderByClause(params.Sort)'; do
    n="$(grep -cxF "$anchor" "$file")" || true
    [[ "$n" == 1 ]] || lb_die "ferretdb source changed: expected one line '${anchor#$'\t'}' in $file, found $n"
  done
  if [[ -e "$dir/lumbung_id_in.go" ]] || grep -q lumbungIDIn "$file"; then
    lb_die "patch_id_in: $dir is already patched"
  fi
  cat >"$dir/lumbung_id_in.go" <<'GO'
package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// lumbungIDInMax bounds the bound parameters of one push-down (SQLite allows 32766).
const lumbungIDInMax = 10000

// lumbungIDIn returns ` WHERE <IDColumn> IN (?, ...)` and its arguments if filter is exactly
// {_id: {$in: [v1, ...]}} with 1..lumbungIDInMax string or ObjectID values; ok is false
// otherwise. The handler filters the returned documents again.
func lumbungIDIn(filter *types.Document) (where string, args []any, ok bool) {
	if filter.Len() != 1 {
		return "", nil, false
	}

	id, _ := filter.Get("_id")
	op, _ := id.(*types.Document) // nil (Len 0) unless _id's value is a document
	if op.Len() != 1 {
		return "", nil, false
	}

	in, _ := op.Get("$in")
	values, _ := in.(*types.Array) // nil (Len 0) unless that is {$in: [...]}
	if values.Len() == 0 || values.Len() > lumbungIDInMax {
		return "", nil, false
	}

	placeholders := make([]string, values.Len())
	args = make([]any, values.Len())

	for i := range values.Len() {
		v := must.NotFail(values.Get(i))
		switch v.(type) {
		case string, types.ObjectID:
		default:
			return "", nil, false
		}

		placeholders[i] = "?"
		args[i] = string(must.NotFail(sjson.MarshalSingleValue(v)))
	}

	return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, strings.Join(placeholders, ", ")), args, true
}
GO
  # Query: before `q += whereClause`; Explain: before its ORDER BY clause
  awk '
    $0 == "\tq += whereClause" {
      print "\tif w, a, ok := lumbungIDIn(params.Filter); ok {"
      print "\t\twhereClause, args = w, a"
      print "\t}"
      print ""
    }
    $0 == "\torderByClause := prepareOrderByClause(params.Sort)" {
      print "\tif w, a, ok := lumbungIDIn(params.Filter); ok {"
      print "\t\tfilterPushdown, whereClause, args = true, w, a"
      print "\t}"
      print ""
    }
    { print }
  ' "$file" >"$file.new" && mv -f "$file.new" "$file"
  [[ "$(grep -c 'lumbungIDIn(params.Filter)' "$file")" == 2 ]] || lb_die "patch_id_in: insertion into $file failed"
}

# FerretDB 1.24 runs every update, findAndModify and delete as a read (backend Query), a
# change made in Go, then a write (UpdateAll/DeleteAll by _id), with nothing around the
# three (FerretDB issue #3040: "a document updated can be modified between query and update
# is applied"). Two writers of one document then lose one of the writes: the relay's
# `$unset` of published outbox ids wrote back a copy read before a request's `$set`, and a
# conditional update ({_id, lease: x}) could match a document that another writer had just
# changed. The handler is shared by both backends, so FerretDB on PostgreSQL has the same gap.
# MongoDB makes each single-document write atomic, and Lumbung's outbox and compare-and-set
# rely on it. This patch makes every write command on a collection (insert, update,
# findAndModify, delete) hold that collection's lock from its read to its write, so each
# single-document write is atomic, as in MongoDB. The SQLite backend has one writer per
# database file anyway; the lock adds no order that SQLite did not already impose, and
# reads (find, getMore, count, aggregate) never take it. One FerretDB process owns its data
# directory, so a lock in the process covers every writer. Inserts take it too, so an
# upsert that found nothing cannot meet an insert of the same _id halfway (MongoDB retries
# such an upsert; FerretDB would answer a duplicate key).
patch_atomic_writes() {
  local dir="$1/internal/handler" file anchor n
  [[ ! -e "$dir/lumbung_atomic.go" ]] || lb_die "patch_atomic_writes: $dir is already patched"
  cat >"$dir/lumbung_atomic.go" <<'GO'
package handler

import "sync"

// lumbungLocks holds one mutex per "<database>\x00<collection>".
var lumbungLocks sync.Map

// lumbungLock locks the collection's writes and returns the unlock function: a write
// command holds it from the read of the documents it changes to the end of its write.
func lumbungLock(db, collection string) func() {
	m, _ := lumbungLocks.LoadOrStore(db+"\x00"+collection, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()

	return mu.Unlock
}
GO
  # file|anchor line (exactly once): the lock is taken just before it, held to the return
  for spec in \
    $'msg_update.go|\tmatched, modified, upserted, err := h.updateDocument(connCtx, params)' \
    $'msg_findandmodify.go|\tres, err := h.findAndModifyDocument(connCtx, params)' \
    $'msg_delete.go|\tfor i, p := range params.Deletes {' \
    $'msg_insert.go|\tdocsIter := params.Docs.Iterator()'; do
    file="$dir/${spec%%|*}"
    anchor="${spec#*|}"
    n="$(grep -cxF "$anchor" "$file")" || true
    [[ "$n" == 1 ]] || lb_die "ferretdb source changed: expected one line '${anchor#$'\t'}' in $file, found $n"
    awk -v anchor="$anchor" '
      $0 == anchor { print "\tdefer lumbungLock(params.DB, params.Collection)()"; print "" }
      { print }
    ' "$file" >"$file.new" && mv -f "$file.new" "$file"
    [[ "$(grep -c 'defer lumbungLock(params.DB, params.Collection)()' "$file")" == 1 ]] ||
      lb_die "patch_atomic_writes: insertion into $file failed"
  done
}

# A plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`
# builds, but the binary panics at startup: FerretDB embeds
# build/version/version.txt, which is generated from git and is not in the
# module zip. So: download the module (Go module proxy), copy it, add
# version.txt, and `go build` from that copy (module path unchanged).
cmd_install() {
  if is_installed; then
    lb_log "ferretdb $FERRETDB_VERSION already installed at $BIN"
    return 0
  fi
  lb_lock "$LUMBUNG_CACHE/.ferretdb-install.lock"
  if is_installed; then
    lb_log "ferretdb $FERRETDB_VERSION already installed at $BIN"
    return 0
  fi
  local go src t0 build
  go="$(find_go)" || lb_die "go not found (set GO or put go on PATH)"
  t0="$(lb_now_ms)"
  lb_log "building ferretdb $FERRETDB_VERSION with $("$go" env GOVERSION) (takes a minute or two cold)"
  # GOTOOLCHAIN=local: never download a toolchain. GOFLAGS/GOWORK reset so a
  # caller's -mod=vendor or a go.work cannot interfere. CGO off: the SQLite
  # driver is pure Go (modernc.org/sqlite), so no C compiler is needed.
  export GOTOOLCHAIN=local GOFLAGS='' GOWORK=off CGO_ENABLED=0
  src="$(cd / && "$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    "$(lb_python)" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')" ||
    lb_die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
  build="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
  mkdir -p "$(dirname "$BIN")"
  cp -R "$src/." "$build/"
  chmod -R u+w "$build"
  echo "$FERRETDB_VERSION" >"$build/build/version/version.txt"
  echo "$FERRETDB_PACKAGE" >"$build/build/version/package.txt"
  patch_id_lookup "$build"
  patch_id_in "$build"
  [[ "$FERRETDB_ATOMIC" == 0 ]] || patch_atomic_writes "$build"
  if ! (cd "$build" && "$go" build -trimpath -buildvcs=false -o "$BIN.new" ./cmd/ferretdb); then
    rm -rf "$build"
    lb_die "go build of ferretdb $FERRETDB_VERSION failed"
  fi
  rm -rf "$build"
  mv -f "$BIN.new" "$BIN"
  is_installed || lb_die "built $BIN but its --version is not $FERRETDB_VERSION ($FERRETDB_PACKAGE)"
  lb_log "installed ferretdb $FERRETDB_VERSION at $BIN in $(lb_elapsed "$t0")s"
}

resolve_port() {
  PORT="${LUMBUNG_FERRETDB_PORT:-$(lb_read_kv "$PORTS_FILE" PORT)}"
  [[ -n "$PORT" ]] || PORT="$(lb_free_ports 1)"
  [[ "$PORT" =~ ^[0-9]+$ ]] || lb_die "bad port: $PORT"
  lb_write_file "$PORTS_FILE" "PORT=$PORT
"
  lb_write_file "$ENV_FILE" "LUMBUNG_TEST_MONGO_URL=mongodb://127.0.0.1:$PORT/
"
}

# Real MongoDB `ping` (OP_MSG {ping: 1, $db: "admin"}) with the stdlib only,
# retried until {ok: 1} or the deadline. Exit 0 on success.
# shellcheck disable=SC2016 # Python source, $db is a literal.
PING_PY='
import socket, struct, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
def cstr(s): return s.encode() + b"\0"
body = b"\x10" + cstr("ping") + struct.pack("<i", 1) + b"\x02" + cstr("$db") + struct.pack("<i", 6) + cstr("admin") + b"\0"
doc = struct.pack("<i", 4 + len(body)) + body
payload = struct.pack("<I", 0) + b"\0" + doc
msg = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload
def recv(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError("closed")
        b += c
    return b
last = "no attempt"
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(msg)
            n, _, _, op = struct.unpack("<iiii", recv(s, 16))
            reply = recv(s, n - 16)
            i = reply.find(b"\x01ok\0")
            if op == 2013 and i >= 0 and struct.unpack("<d", reply[i+4:i+12])[0] == 1.0:
                sys.exit(0)
            last = "reply without ok: 1: %r" % reply[:200]
    except (OSError, EOFError) as e:
        last = repr(e)
    time.sleep(0.1)
print("not ready:", last, file=sys.stderr)
sys.exit(1)
'

wait_ready() {
  local pid="$1" t0="$2" log_offset="$3"
  local timeout="${LUMBUNG_FERRETDB_START_TIMEOUT:-30}"
  local deadline=$((t0 + timeout * 1000)) probe remaining
  until lb_tcp_open 127.0.0.1 "$PORT"; do
    kill -0 "$pid" 2>/dev/null || lb_fail_with_log "ferretdb (exited)" "$LOG" "$log_offset"
    (($(lb_now_ms) < deadline)) || lb_fail_with_log "ferretdb (timeout ${timeout}s)" "$LOG" "$log_offset" "$pid"
    sleep 0.05
  done
  remaining=$((deadline - $(lb_now_ms)))
  ((remaining > 1000)) || remaining=1000
  "$(lb_python)" -c "$PING_PY" "$PORT" "$((remaining / 1000))" 2>>"$STATE/probe.log" &
  probe=$!
  while kill -0 "$probe" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kill "$probe" 2>/dev/null || true
      wait "$probe" 2>/dev/null || true
      lb_fail_with_log "ferretdb (exited)" "$LOG" "$log_offset"
    fi
    sleep 0.05
  done
  if ! wait "$probe"; then
    tail -n 3 "$STATE/probe.log" >&2 || true
    lb_fail_with_log "ferretdb (ping timeout ${timeout}s)" "$LOG" "$log_offset" "$pid"
  fi
}

cmd_start() {
  local pid t0 log_offset
  is_installed || cmd_install
  lb_lock "$STATE/.lock"
  if pid="$(lb_find_pid "$PIDFILE" "$NEEDLE")"; then
    echo "$pid" >"$PIDFILE"
    lb_log "already running"
    echo "ferretdb $FERRETDB_VERSION ready on 127.0.0.1:$(lb_read_kv "$PORTS_FILE" PORT) (pid $pid)"
    return 0
  fi
  t0="$(lb_now_ms)"
  mkdir -p "$STATE"
  resolve_port
  lb_port_free "$PORT" || lb_die "port 127.0.0.1:$PORT is already in use by another process"
  mkdir -p "$DATA"

  touch "$LOG"
  log_offset="$(stat -c %s "$LOG")"
  printf '==== ferretdb.sh start %s ====\n' "$(date -Is)" >>"$LOG"
  # --state-dir must not be the last argument: NEEDLE is "--state-dir=$STATE "
  # (the trailing space keeps /x/ferretdb from matching /x/ferretdb2).
  # synchronous(normal): in WAL mode a commit no longer waits for an fsync. A killed FerretDB
  # loses nothing (the WAL is in the page cache); only a crash of the machine itself could
  # lose the last commits, which a local test server may. Each write took ~20 % less time.
  DO_NOT_TRACK=1 lb_spawn "$PIDFILE" "$LOG" "$BIN" \
    "--state-dir=$STATE" \
    --handler=sqlite \
    "--sqlite-url=file:$DATA/?_pragma=synchronous(normal)" \
    "--listen-addr=127.0.0.1:$PORT" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=INFO
  pid="$(<"$PIDFILE")"
  lb_log "launched (pid $pid), log: $LOG"
  wait_ready "$pid" "$t0" "$log_offset"
  echo "ferretdb $FERRETDB_VERSION ready on 127.0.0.1:$PORT (pid $pid) in $(lb_elapsed "$t0")s"
}

cmd_status() {
  local pid
  if pid="$(lb_find_pid "$PIDFILE" "$NEEDLE")"; then
    echo "ferretdb $FERRETDB_VERSION running on 127.0.0.1:$(lb_read_kv "$PORTS_FILE" PORT) (pid $pid)"
    return 0
  fi
  echo "ferretdb $FERRETDB_VERSION not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) lb_stop ferretdb "$PIDFILE" "$NEEDLE" "${LUMBUNG_FERRETDB_STOP_TIMEOUT:-30}" ;;
  kill) lb_hard_kill ferretdb "$PIDFILE" "$NEEDLE" ;;
  restart)
    lb_stop ferretdb "$PIDFILE" "$NEEDLE" "${LUMBUNG_FERRETDB_STOP_TIMEOUT:-30}"
    cmd_start
    ;;
  status) cmd_status ;;
  env) cat "$ENV_FILE" ;;
  *)
    echo "usage: $0 install|start|stop|kill|restart|status|env" >&2
    exit 2
    ;;
esac
