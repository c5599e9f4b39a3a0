#!/usr/bin/env bash
# Build compose-check (docker compose's own loader, compose-go, as a small Go program) into
# $LUMBUNG_CACHE/bin/compose-check, once. Modules come from the Go module proxy, pinned by
# go.mod/go.sum here. Rebuilds when main.go, go.mod or go.sum change.
#
# Usage: deploy/compose-check/install.sh [--print-path]
# Environment: LUMBUNG_CACHE (default <repo>/.cache), GO (default go on PATH or /usr/local/go/bin/go)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${LUMBUNG_CACHE:-$ROOT/.cache}"
mkdir -p "$CACHE/bin"
CACHE="$(cd "$CACHE" && pwd)"
BIN="$CACHE/bin/compose-check"
STAMP="$BIN.installed"

log() { printf '[compose-check] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

want="$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" | cksum | cut -d' ' -f1)"
finish() {
  [[ "${1:-}" == --print-path ]] && echo "$BIN"
  exit 0
}
installed() { [[ -x "$BIN" && -f "$STAMP" && "$(<"$STAMP")" == "$want" ]]; }
installed && finish "${1:-}"

if command -v flock >/dev/null 2>&1; then
  exec {lock}>"$CACHE/.compose-check-install.lock"
  flock -w 900 "$lock" || die "could not lock"
  installed && finish "${1:-}"
fi

if [[ -n "${GO:-}" ]]; then
  go="$GO"
elif command -v go >/dev/null 2>&1; then
  go=go
elif [[ -x /usr/local/go/bin/go ]]; then
  go=/usr/local/go/bin/go
else
  die "go not found (set GO or put go on PATH)"
fi

start=$SECONDS
log "building with $("$go" env GOVERSION)"
(cd "$HERE" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off CGO_ENABLED=0 \
  "$go" build -ldflags="-s -w" -o "$BIN.new" .) || die "go build failed"
mv -f "$BIN.new" "$BIN"
printf '%s' "$want" >"$STAMP"
log "installed $BIN in $((SECONDS - start))s"
finish "${1:-}"
