#!/usr/bin/env bash
# `make bench`: start real Kafka + FerretDB with the bench's own state directories, run the
# benchmarks (arguments go to `python -m bench.run`, e.g. --quick), stop both servers
# whatever happens.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export LUMBUNG_BENCH_DIR="${LUMBUNG_BENCH_DIR:-/tmp/lumbung-bench}"
export LUMBUNG_KAFKA_STATE="$LUMBUNG_BENCH_DIR/kafka"
export LUMBUNG_FERRETDB_STATE="$LUMBUNG_BENCH_DIR/ferretdb"

stop_servers() { bash deploy/local/testenv.sh down >&2 || true; }
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A clean broker and database each run (the dataset cache in $LUMBUNG_BENCH_DIR/cache stays).
bash deploy/local/testenv.sh down >&2 || true
rm -rf "$LUMBUNG_KAFKA_STATE" "$LUMBUNG_FERRETDB_STATE"
eval "$(bash deploy/local/testenv.sh up)"
"$ROOT/.venv/bin/python" -m bench.run "$@"
