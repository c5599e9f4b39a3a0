#!/usr/bin/env bash
# Bring the local integration-test servers (Kafka + FerretDB) up or down.
#
# Usage: testenv.sh up|down|status|clean|install
#
#   install  install both (in parallel) if needed
#   up       install if needed, start both (in parallel), write
#            $LUMBUNG_CACHE/run/testenv.env (for servers with their own state
#            directories: testenv.env in the Kafka state) and print its export lines on
#            stdout (everything else goes to stderr), so this works:
#              eval "$(deploy/local/testenv.sh up)"
#   down     stop both; always exits 0
#   status   exit 0 if both are running
#   clean    down, then delete all run state (data, logs, ports, env files)
#
# Same environment variables as kafka.sh and ferretdb.sh.
set -euo pipefail

LB_TAG=testenv
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

RUN_DIR="$LUMBUNG_CACHE/run"
KAFKA_STATE="${LUMBUNG_KAFKA_STATE:-$RUN_DIR/kafka}"
FERRETDB_STATE="${LUMBUNG_FERRETDB_STATE:-$RUN_DIR/ferretdb}"
# The env file describes the servers beside it: the default servers' is
# $LUMBUNG_CACHE/run/testenv.env; servers with their own state directories (the
# benchmark's, a second pair) get theirs inside their Kafka state, so starting
# them never overwrites the default servers' file.
if [[ "$KAFKA_STATE" == "$RUN_DIR/kafka" && "$FERRETDB_STATE" == "$RUN_DIR/ferretdb" ]]; then
  ENV_OUT="$RUN_DIR/testenv.env"
else
  ENV_OUT="$KAFKA_STATE/testenv.env"
fi

# Run "kafka.sh ARG" and "ferretdb.sh ARG" in parallel; their stdout goes to
# our stderr. Fails if either fails (after both have finished).
both() {
  local kpid fpid krc=0 frc=0
  "$HERE/kafka.sh" "$1" >&2 &
  kpid=$!
  "$HERE/ferretdb.sh" "$1" >&2 &
  fpid=$!
  wait "$kpid" || krc=$?
  wait "$fpid" || frc=$?
  ((krc == 0)) || lb_log "kafka.sh $1 failed (exit $krc)"
  ((frc == 0)) || lb_log "ferretdb.sh $1 failed (exit $frc)"
  ((krc == 0 && frc == 0))
}

cmd_up() {
  local t0 kafka_env mongo_env
  t0="$(lb_now_ms)"
  both install
  if ! both start; then
    lb_log "start failed; stopping whatever did start"
    both stop || true
    exit 1
  fi
  kafka_env="$(lb_read_kv "$KAFKA_STATE/env" LUMBUNG_TEST_KAFKA_BOOTSTRAP)"
  mongo_env="$(lb_read_kv "$FERRETDB_STATE/env" LUMBUNG_TEST_MONGO_URL)"
  mkdir -p "$(dirname "$ENV_OUT")"
  lb_write_file "$ENV_OUT" "export LUMBUNG_TEST_KAFKA_BOOTSTRAP=$kafka_env
export LUMBUNG_TEST_MONGO_URL=$mongo_env
export LUMBUNG_CACHE=$LUMBUNG_CACHE
export LUMBUNG_KAFKA_STATE=$KAFKA_STATE
export LUMBUNG_FERRETDB_STATE=$FERRETDB_STATE
export LUMBUNG_TEST_KAFKA_CTL=$HERE/kafka.sh
export LUMBUNG_TEST_FERRETDB_CTL=$HERE/ferretdb.sh
"
  lb_log "up in $(lb_elapsed "$t0")s; env written to $ENV_OUT"
  cat "$ENV_OUT"
}

case "${1:-}" in
  install) both install ;;
  up) cmd_up ;;
  down) both stop || true ;;
  status) both status ;;
  clean)
    both stop || true
    rm -rf "$KAFKA_STATE" "$FERRETDB_STATE" "$ENV_OUT"
    rmdir "$RUN_DIR" 2>/dev/null || true
    lb_log "removed run state"
    ;;
  *)
    echo "usage: $0 up|down|status|clean|install" >&2
    exit 2
    ;;
esac
