#!/bin/sh
# The one entry point of the Lumbung image (and of deploy/run-distributed.sh on a bare machine).
#
#   entrypoint.sh [SERVICE]            run one service: `python -m services.SERVICE`
#   entrypoint.sh lumbung ARGS...      run the operator CLI (e.g. `lumbung replay`, `lumbung token`)
#   entrypoint.sh COMMAND ARGS...      run anything else (a shell for debugging)
#
# SERVICE comes from the first argument, else from LUMBUNG_SERVICE. It must be one of the
# services in services/catalog.py: registry, training, commerce, agriculture, livestock,
# aggregator. Everything else is configuration the service itself reads from the LUMBUNG_*
# environment (shared/settings.py): LUMBUNG_MODE, LUMBUNG_HOST, LUMBUNG_PORT,
# LUMBUNG_KAFKA_BOOTSTRAP, LUMBUNG_MONGO_URL, LUMBUNG_SECRET, LUMBUNG_PII_KEY, ...
#
# LUMBUNG_PYTHON names the interpreter (default: python on PATH, the image's venv).
set -eu

APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${LUMBUNG_PYTHON:-python}"

usage() {
  echo "usage: entrypoint.sh [SERVICE] | lumbung ARGS... | COMMAND ARGS..." >&2
  echo "  SERVICE (or LUMBUNG_SERVICE): one of: $(known_services)" >&2
}

# The service packages that have a __main__ module (python -m services.NAME).
known_services() {
  for main in "$APP_DIR"/services/*/__main__.py; do
    [ -f "$main" ] || continue
    name="$(basename "$(dirname "$main")")"
    printf '%s ' "$name"
  done
}

is_service() {
  case " $(known_services)" in
    *" $1 "*) return 0 ;;
    *) return 1 ;;
  esac
}

service="${LUMBUNG_SERVICE:-}"
if [ "$#" -gt 0 ]; then
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    lumbung)
      shift
      cd "$APP_DIR"
      exec "$PYTHON" -m shared.cli "$@"
      ;;
  esac
  if is_service "$1"; then
    service="$1"
    shift
  elif command -v "$1" >/dev/null 2>&1; then
    exec "$@"
  else
    echo "entrypoint.sh: '$1' is neither a service nor a command" >&2
    usage
    exit 2
  fi
fi

if [ -z "$service" ]; then
  echo "entrypoint.sh: no service given (set LUMBUNG_SERVICE or pass its name)" >&2
  usage
  exit 2
fi
if ! is_service "$service"; then
  echo "entrypoint.sh: unknown service '$service'" >&2
  usage
  exit 2
fi
if [ "$#" -gt 0 ]; then
  echo "entrypoint.sh: unexpected arguments after the service name: $*" >&2
  exit 2
fi

# The service name is also the store label: its database is ${LUMBUNG_MONGO_DB}_<service>.
export LUMBUNG_SERVICE="$service"
cd "$APP_DIR"
exec "$PYTHON" -m "services.$service"
