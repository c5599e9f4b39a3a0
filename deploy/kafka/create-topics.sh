#!/usr/bin/env bash
# Create (or bring up to date) Lumbung's Kafka topics: partitions and retention.
#
# Runs as the one-shot `kafka-init` container of docker-compose.yml and as the
# `lumbung-kafka-topics` Job of deploy/k8s, inside the apache/kafka image, with its own
# kafka-topics.sh and kafka-configs.sh. Idempotent: run it again after changing a setting.
#
#   - a missing topic is created with LUMBUNG_KAFKA_PARTITIONS partitions;
#   - an existing topic with fewer partitions is grown to that count (Kafka cannot shrink
#     a topic: a larger existing count is kept, with a warning);
#   - retention is (re)applied to every topic.
#
# The domain topics keep every event forever (retention.ms=-1): the log is what
# `lumbung replay` rebuilds the resilience read model from. Dead letters are kept for
# LUMBUNG_DEADLETTER_RETENTION_MS (default 90 days).
#
# Environment:
#   LUMBUNG_KAFKA_BOOTSTRAP          brokers (default kafka:9092)
#   LUMBUNG_KAFKA_PARTITIONS         partitions per topic (default 12)
#   LUMBUNG_KAFKA_REPLICATION        replication factor for new topics (default 1; 3 on a
#                                    three-broker cluster)
#   LUMBUNG_EVENT_RETENTION_MS       domain topics (default -1: forever)
#   LUMBUNG_DEADLETTER_RETENTION_MS  lumbung.deadletter.v1 (default 7776000000: 90 days)
#   LUMBUNG_KAFKA_WAIT_S             how long to wait for the brokers (default 120)
#   KAFKA_BIN                        directory of kafka-topics.sh (default /opt/kafka/bin)
set -euo pipefail

BOOTSTRAP="${LUMBUNG_KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${LUMBUNG_KAFKA_PARTITIONS:-12}"
REPLICATION="${LUMBUNG_KAFKA_REPLICATION:-1}"
EVENT_RETENTION_MS="${LUMBUNG_EVENT_RETENTION_MS:--1}"
DEADLETTER_RETENTION_MS="${LUMBUNG_DEADLETTER_RETENTION_MS:-7776000000}"
WAIT_S="${LUMBUNG_KAFKA_WAIT_S:-120}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

# One line per topic: NAME RETENTION_MS. The names are shared/events/envelope.py's
# topic_for(service) for each producing service, and DEADLETTER_TOPIC.
TOPICS="
lumbung.registry.v1 $EVENT_RETENTION_MS
lumbung.training.v1 $EVENT_RETENTION_MS
lumbung.commerce.v1 $EVENT_RETENTION_MS
lumbung.agriculture.v1 $EVENT_RETENTION_MS
lumbung.livestock.v1 $EVENT_RETENTION_MS
lumbung.deadletter.v1 $DEADLETTER_RETENTION_MS
"

log() { printf '[create-topics] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

for v in PARTITIONS REPLICATION WAIT_S; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for v in EVENT_RETENTION_MS DEADLETTER_RETENTION_MS; do
  [[ "${!v}" =~ ^(-1|[1-9][0-9]*)$ ]] || die "$v must be -1 or a positive integer, not '${!v}'"
done

topics() { "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }
configs() { "$KAFKA_BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" "$@"; }

# One JVM answers for every topic: its partition count and its config overrides.
# Summary lines look like: "Topic: NAME<TAB>TopicId: ...<TAB>PartitionCount: N<TAB>...Configs: a=b,c=d"
log "waiting up to ${WAIT_S}s for Kafka at $BOOTSTRAP"
deadline=$((SECONDS + WAIT_S))
until described="$(topics --describe --exclude-internal 2>/dev/null)"; do
  ((SECONDS < deadline)) || die "Kafka at $BOOTSTRAP did not answer within ${WAIT_S}s"
  sleep 2
done

summary_of() { awk -F'\t' -v t="Topic: $1" '$1 == t {print; exit}' <<<"$described"; }
field_of() { sed -n "s/.*$1:[[:space:]]*\([^[:space:]]*\).*/\1/p" <<<"$2" | head -n 1; }
config_of() { field_of Configs "$2" | tr ',' '\n' | sed -n "s/^$1=//p"; }

changed=0
while read -r topic retention; do
  [[ -n "$topic" ]] || continue
  summary="$(summary_of "$topic")"
  if [[ -z "$summary" ]]; then
    log "$topic: creating with $PARTITIONS partitions, replication $REPLICATION, retention.ms=$retention"
    topics --create --if-not-exists --topic "$topic" --partitions "$PARTITIONS" \
      --replication-factor "$REPLICATION" \
      --config "retention.ms=$retention" --config cleanup.policy=delete
    changed=1
    continue
  fi
  have="$(field_of PartitionCount "$summary")"
  [[ "$have" =~ ^[0-9]+$ ]] || die "cannot read the partition count of $topic from: $summary"
  if ((have < PARTITIONS)); then
    log "$topic: growing from $have to $PARTITIONS partitions"
    topics --alter --topic "$topic" --partitions "$PARTITIONS"
    changed=1
  elif ((have > PARTITIONS)); then
    log "WARNING: $topic has $have partitions, more than LUMBUNG_KAFKA_PARTITIONS=$PARTITIONS; Kafka cannot shrink a topic, keeping $have"
  fi
  if [[ "$(config_of retention.ms "$summary")" != "$retention" ||
    "$(config_of cleanup.policy "$summary")" != delete ]]; then
    log "$topic: setting retention.ms=$retention, cleanup.policy=delete"
    configs --alter --entity-type topics --entity-name "$topic" \
      --add-config "retention.ms=$retention,cleanup.policy=delete" >/dev/null
    changed=1
  fi
done <<<"$TOPICS"

if ((changed)); then
  described="$(topics --describe --exclude-internal)"
fi
log "topics ready:"
grep -E '^Topic: lumbung\.' <<<"$described" | cut -f1,3,4,5 >&2 || true
