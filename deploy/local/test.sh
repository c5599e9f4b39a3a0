#!/usr/bin/env bash
# `make test`: start the real Kafka and FerretDB, run pytest, stop both servers whatever
# happens (failure, Ctrl-C, kill), and exit with pytest's status.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTEST="${LUMBUNG_PYTEST:-$ROOT/.venv/bin/pytest}"

stop_servers() { bash "$HERE/testenv.sh" down >&2 || true; }
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$HERE/browser.sh"
echo "[test] starting real Kafka and FerretDB for the integration tests" >&2
env_lines="$(bash "$HERE/testenv.sh" up)"
eval "$env_lines"
export LUMBUNG_REQUIRE_SERVERS=1

echo "[test] kafka=$LUMBUNG_TEST_KAFKA_BOOTSTRAP mongo=$LUMBUNG_TEST_MONGO_URL" >&2
set +e
"$PYTEST" "$@"
status=$?
set -e
echo "[test] pytest exited with $status" >&2
exit "$status"
