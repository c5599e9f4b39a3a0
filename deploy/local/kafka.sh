#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for
# integration tests. No Docker: the broker jars come from Maven Central.
#
# Usage: kafka.sh install|start|stop|kill|restart|status|env
#
#   install  fetch kafka_2.13 + runtime deps into $LUMBUNG_CACHE/kafka-VERSION/libs
#   start    (install if needed,) format storage on first start, launch, wait
#            until a real metadata request succeeds; idempotent
#   stop     SIGTERM, wait up to LUMBUNG_KAFKA_STOP_TIMEOUT (30 s), then SIGKILL
#   kill     immediate SIGKILL (chaos / outage tests)
#   restart  stop + start
#   status   exit 0 if running
#   env      print $STATE/env
#
# Restarts (after stop or kill) reuse the same ports and the same log dir.
#
# Environment:
#   LUMBUNG_CACHE                  cache root (default: <repo>/.cache)
#   LUMBUNG_KAFKA_STATE            state dir (default: $LUMBUNG_CACHE/run/kafka)
#   LUMBUNG_KAFKA_PORT             PLAINTEXT port (default: free port, persisted)
#   LUMBUNG_KAFKA_CONTROLLER_PORT  CONTROLLER port (default: free port, persisted)
#   LUMBUNG_KAFKA_HEAP_OPTS        default "-Xmx1g -Xms256m"
#   LUMBUNG_KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
#   LUMBUNG_KAFKA_STOP_TIMEOUT     seconds before SIGKILL on stop (default 30)
#   JAVA_HOME                      java = $JAVA_HOME/bin/java, else java on PATH
#   MVN                            maven command (default mvn)
#
# Writes $STATE/env:  LUMBUNG_TEST_KAFKA_BOOTSTRAP=127.0.0.1:PORT
set -euo pipefail

LB_TAG=kafka
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KAFKA_VERSION=4.3.1
SRC_DIR="$LB_LIB_DIR/kafka"
HOME_DIR="$LUMBUNG_CACHE/kafka-$KAFKA_VERSION"
LIBS="$HOME_DIR/libs"
PROBE_DIR="$HOME_DIR/probe"
MARKER="$HOME_DIR/.installed"

STATE="${LUMBUNG_KAFKA_STATE:-$LUMBUNG_CACHE/run/kafka}"
STATE="$(realpath -m "$STATE")"
DATA="$STATE/data"
CONFIG="$STATE/server.properties"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/kafka.log"
PORTS_FILE="$STATE/ports"
ENV_FILE="$STATE/env"
# Unique to this broker's command line (pid-reuse guard, /proc scan).
NEEDLE="kafka.Kafka $CONFIG"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=java
fi
MVN="${MVN:-mvn}"

# Fingerprint of what install produces: re-install when the pom or probe change.
install_fingerprint() {
  cat "$SRC_DIR/pom.xml" "$SRC_DIR/KafkaProbe.java" | cksum | cut -d' ' -f1
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || lb_die "java not found (set JAVA_HOME or put java on PATH)"
  local v major
  v="$("$JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  major="${v%%.*}"
  [[ "$major" == 1 ]] && major="$(echo "$v" | cut -d. -f2)"
  [[ "$major" =~ ^[0-9]+$ ]] || lb_die "cannot parse java version from: $v"
  ((major >= 17)) || lb_die "Kafka $KAFKA_VERSION needs Java 17+, $JAVA is $v"
}

is_installed() {
  [[ -f "$MARKER" && "$(<"$MARKER")" == "$(install_fingerprint)" ]] &&
    [[ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" && -f "$PROBE_DIR/KafkaProbe.class" ]]
}

cmd_install() {
  if is_installed; then
    lb_log "kafka $KAFKA_VERSION already installed in $HOME_DIR"
    return 0
  fi
  lb_lock "$LUMBUNG_CACHE/.kafka-install.lock"
  if is_installed; then
    lb_log "kafka $KAFKA_VERSION already installed in $HOME_DIR"
    return 0
  fi
  check_java
  command -v "$MVN" >/dev/null 2>&1 || lb_die "maven ($MVN) not found"
  local t0
  t0="$(lb_now_ms)"
  lb_log "installing kafka $KAFKA_VERSION into $HOME_DIR (maven)"
  mkdir -p "$HOME_DIR"
  rm -rf "$HOME_DIR/libs.new" "$HOME_DIR/probe.new" "$HOME_DIR/build"
  "$MVN" -B -q -Dstyle.color=never -f "$SRC_DIR/pom.xml" \
    -Dlumbung.kafka.build="$HOME_DIR/build" \
    -Dlumbung.kafka.libs="$HOME_DIR/libs.new" \
    dependency:copy-dependencies >"$HOME_DIR/mvn.log" 2>&1 || {
    sed 's/\x1b\[[0-9;]*m//g' "$HOME_DIR/mvn.log" | tail -n 40 >&2
    lb_die "maven failed to fetch kafka $KAFKA_VERSION (log: $HOME_DIR/mvn.log)"
  }
  [[ -f "$HOME_DIR/libs.new/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
    lb_die "maven ran but kafka_2.13-$KAFKA_VERSION.jar is missing"

  # Readiness probe (an AdminClient); compiled once, run with the same libs.
  mkdir -p "$HOME_DIR/probe.new"
  local javac=javac
  [[ -x "$(dirname "$JAVA")/javac" ]] && javac="$(dirname "$JAVA")/javac"
  if command -v "$javac" >/dev/null 2>&1; then
    "$javac" -nowarn -d "$HOME_DIR/probe.new" -cp "$HOME_DIR/libs.new/*" \
      "$SRC_DIR/KafkaProbe.java" >&2 || lb_die "javac failed on KafkaProbe.java"
  else
    lb_die "javac not found (a JDK, not just a JRE, is needed to build the probe)"
  fi

  rm -rf "$LIBS" "$PROBE_DIR" "$HOME_DIR/build"
  mv "$HOME_DIR/libs.new" "$LIBS"
  mv "$HOME_DIR/probe.new" "$PROBE_DIR"
  install_fingerprint >"$MARKER"
  lb_log "installed kafka $KAFKA_VERSION ($(find "$LIBS" -name '*.jar' | wc -l) jars) in $(lb_elapsed "$t0")s"
}

# Sets PORT and CONTROLLER_PORT: env, else persisted, else fresh free ports.
resolve_ports() {
  local saved_port saved_ctl fresh
  saved_port="$(lb_read_kv "$PORTS_FILE" PORT)"
  saved_ctl="$(lb_read_kv "$PORTS_FILE" CONTROLLER_PORT)"
  PORT="${LUMBUNG_KAFKA_PORT:-$saved_port}"
  CONTROLLER_PORT="${LUMBUNG_KAFKA_CONTROLLER_PORT:-$saved_ctl}"
  if is_formatted && [[ -n "$saved_ctl" && "$CONTROLLER_PORT" != "$saved_ctl" ]]; then
    lb_die "LUMBUNG_KAFKA_CONTROLLER_PORT=$CONTROLLER_PORT but $STATE was formatted with controller port $saved_ctl (it is part of the KRaft voter set); unset it or run: $0 stop && rm -rf $STATE"
  fi
  if [[ -z "$PORT" || -z "$CONTROLLER_PORT" ]]; then
    mapfile -t fresh < <(lb_free_ports 2)
    PORT="${PORT:-${fresh[0]}}"
    CONTROLLER_PORT="${CONTROLLER_PORT:-${fresh[1]}}"
  fi
  [[ "$PORT" =~ ^[0-9]+$ && "$CONTROLLER_PORT" =~ ^[0-9]+$ && "$PORT" != "$CONTROLLER_PORT" ]] ||
    lb_die "bad ports: PORT=$PORT CONTROLLER_PORT=$CONTROLLER_PORT"
  lb_write_file "$PORTS_FILE" "PORT=$PORT
CONTROLLER_PORT=$CONTROLLER_PORT
"
  lb_write_file "$ENV_FILE" "LUMBUNG_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$PORT
"
}

is_formatted() { [[ -f "$DATA/meta.properties" ]]; }

write_config() {
  lb_write_file "$CONFIG" "# Generated by deploy/local/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA

# Single node: every internal topic has one replica.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions = faster first group/transaction/share use.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.num.partitions=1

num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true

# Fast consumer groups for tests (classic and KIP-848 consumer protocol).
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
group.consumer.min.session.timeout.ms=1000
group.consumer.session.timeout.ms=10000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.heartbeat.interval.ms=1000

# Restart after a SIGKILL: the new incarnation is refused (DUPLICATE_BROKER_REGISTRATION)
# until the old one's session expires; the default 9 s made restarts take ~13 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000

# Small machine (2 cores).
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
"
}

format_storage() {
  local cluster_id t0
  t0="$(lb_now_ms)"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  cluster_id="$(lb_read_kv "$STATE/cluster" CLUSTER_ID)"
  if [[ -z "$cluster_id" ]]; then
    cluster_id="$("$JAVA" -cp "$LIBS/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      kafka.tools.StorageTool random-uuid 2>>"$LOG")"
    lb_write_file "$STATE/cluster" "CLUSTER_ID=$cluster_id
"
  fi
  lb_log "formatting $DATA (cluster id $cluster_id, standalone KRaft quorum)"
  "$JAVA" -cp "$LIBS/*" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$CONFIG" >>"$LOG" 2>&1 ||
    lb_fail_with_log "kafka storage format" "$LOG" 0
  is_formatted || lb_die "format did not write $DATA/meta.properties"
  lb_log "formatted in $(lb_elapsed "$t0")s"
}

# Wait until the broker answers a real metadata request, the process dying
# or the timeout ending the wait early.
wait_ready() {
  local pid="$1" t0="$2" log_offset="$3"
  local timeout="${LUMBUNG_KAFKA_START_TIMEOUT:-90}"
  local deadline=$((t0 + timeout * 1000)) probe remaining

  # 1. cheap: wait for the listener to accept TCP connections.
  until lb_tcp_open 127.0.0.1 "$PORT"; do
    kill -0 "$pid" 2>/dev/null || lb_fail_with_log "kafka (exited)" "$LOG" "$log_offset"
    (($(lb_now_ms) < deadline)) || lb_fail_with_log "kafka (timeout ${timeout}s)" "$LOG" "$log_offset" "$pid"
    sleep 0.2
  done

  # 2. real: one probe JVM retrying DescribeCluster + Metadata until ok.
  remaining=$((deadline - $(lb_now_ms)))
  ((remaining > 1000)) || remaining=1000
  "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=error \
    -cp "$LIBS/*:$PROBE_DIR" KafkaProbe "127.0.0.1:$PORT" "$remaining" \
    >/dev/null 2>>"$STATE/probe.log" &
  probe=$!
  while kill -0 "$probe" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kill "$probe" 2>/dev/null || true
      wait "$probe" 2>/dev/null || true
      lb_fail_with_log "kafka (exited)" "$LOG" "$log_offset"
    fi
    sleep 0.1
  done
  if ! wait "$probe"; then
    tail -n 3 "$STATE/probe.log" >&2 || true
    lb_fail_with_log "kafka (probe timeout ${timeout}s)" "$LOG" "$log_offset" "$pid"
  fi
}

cmd_start() {
  local pid t0 log_offset
  is_installed || cmd_install
  lb_lock "$STATE/.lock"
  if pid="$(lb_find_pid "$PIDFILE" "$NEEDLE")"; then
    echo "$pid" >"$PIDFILE"
    PORT="$(lb_read_kv "$PORTS_FILE" PORT)"
    lb_log "already running"
    echo "kafka $KAFKA_VERSION ready on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  check_java
  t0="$(lb_now_ms)"
  mkdir -p "$STATE"
  resolve_ports
  for p in "$PORT" "$CONTROLLER_PORT"; do
    lb_port_free "$p" || lb_die "port 127.0.0.1:$p is already in use by another process"
  done
  write_config
  is_formatted || format_storage

  touch "$LOG"
  log_offset="$(stat -c %s "$LOG")"
  printf '==== kafka.sh start %s ====\n' "$(date -Is)" >>"$LOG"

  local heap=()
  read -r -a heap <<<"${LUMBUNG_KAFKA_HEAP_OPTS:--Xmx1g -Xms256m}"
  lb_spawn "$PIDFILE" "$LOG" "$JAVA" "${heap[@]}" \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -Dorg.slf4j.simpleLogger.log.kafka.request.logger=warn \
    -Dorg.slf4j.simpleLogger.log.state.change.logger=warn \
    -cp "$LIBS/*" kafka.Kafka "$CONFIG"
  pid="$(<"$PIDFILE")"
  lb_log "launched (pid $pid), log: $LOG"
  wait_ready "$pid" "$t0" "$log_offset"
  echo "kafka $KAFKA_VERSION ready on 127.0.0.1:$PORT (pid $pid) in $(lb_elapsed "$t0")s"
}

cmd_status() {
  local pid
  if pid="$(lb_find_pid "$PIDFILE" "$NEEDLE")"; then
    echo "kafka $KAFKA_VERSION running on 127.0.0.1:$(lb_read_kv "$PORTS_FILE" PORT) (pid $pid)"
    return 0
  fi
  echo "kafka $KAFKA_VERSION not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) lb_stop kafka "$PIDFILE" "$NEEDLE" "${LUMBUNG_KAFKA_STOP_TIMEOUT:-30}" ;;
  kill) lb_hard_kill kafka "$PIDFILE" "$NEEDLE" ;;
  restart)
    lb_stop kafka "$PIDFILE" "$NEEDLE" "${LUMBUNG_KAFKA_STOP_TIMEOUT:-30}"
    cmd_start
    ;;
  status) cmd_status ;;
  env) cat "$ENV_FILE" ;;
  *)
    echo "usage: $0 install|start|stop|kill|restart|status|env" >&2
    exit 2
    ;;
esac
