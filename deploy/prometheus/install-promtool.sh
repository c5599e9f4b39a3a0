#!/usr/bin/env bash
# Install promtool (Prometheus's config and rule checker) into $LUMBUNG_CACHE/bin, once.
#
# Usage: deploy/prometheus/install-promtool.sh [--print-path]
#
# Method (LUMBUNG_PROMTOOL_METHOD):
#   go    (default when `go` is found) `go install` of the Prometheus module's cmd/promtool at
#         PROMTOOL_MODULE_VERSION, from the Go module proxy. The Go module v0.3XX.Y is
#         Prometheus v3.XX.Y: v0.316.0 is the promtool of prom/prometheus:v3.16.0, the image
#         docker-compose.yml runs. Cold: a few minutes on 2 cores; then cached.
#   apt   Debian's `prometheus` package, downloaded with `apt-get download` and unpacked (only
#         /usr/bin/promtool is kept; nothing is installed system-wide). Older (bookworm: 2.42).
#   auto  apt where apt-get exists (seconds), else go (minutes, cold).
#
# Idempotent: exits at once when $LUMBUNG_CACHE/bin/promtool is already the wanted build.
# Prints nothing on stdout unless --print-path (then the binary's path).
#
# Environment:
#   LUMBUNG_CACHE            cache root (default: <repo>/.cache)
#   LUMBUNG_PROMTOOL_METHOD  go | apt | auto (default auto)
#   GO                       go command (default: go on PATH, else /usr/local/go/bin/go)
set -euo pipefail

PROMTOOL_MODULE=github.com/prometheus/prometheus
PROMTOOL_MODULE_VERSION=v0.316.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${LUMBUNG_CACHE:-$ROOT/.cache}"
mkdir -p "$CACHE/bin"
CACHE="$(cd "$CACHE" && pwd)"
BIN="$CACHE/bin/promtool"
STAMP="$BIN.installed"

log() { printf '[promtool] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100))
}

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

method="${LUMBUNG_PROMTOOL_METHOD:-auto}"
if [[ "$method" == auto ]]; then
  # Debian's package takes seconds; compiling promtool with Go takes many minutes cold.
  if command -v apt-get >/dev/null 2>&1; then method=apt; else method=go; fi
fi
case "$method" in
  go) want="go $PROMTOOL_MODULE@$PROMTOOL_MODULE_VERSION" ;;
  apt) want="apt prometheus" ;;
  *) die "LUMBUNG_PROMTOOL_METHOD must be go, apt or auto, not '$method'" ;;
esac

installed() {
  [[ -x "$BIN" && -f "$STAMP" && "$(<"$STAMP")" == "$want" ]] && "$BIN" --version >/dev/null 2>&1
}

done_() {
  [[ "${1:-}" == --print-path ]] && echo "$BIN"
  exit 0
}

installed && done_ "${1:-}"

# Serialise concurrent installs (two test runs at once).
if command -v flock >/dev/null 2>&1; then
  exec {lock}>"$CACHE/.promtool-install.lock"
  flock -w 900 "$lock" || die "could not lock $CACHE/.promtool-install.lock"
  installed && done_ "${1:-}"
fi

t0="$(now_ms)"
work="$(mktemp -d "${TMPDIR:-/tmp}/promtool-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ "$method" == go ]]; then
  go="$(find_go)" || die "go not found (set GO, or LUMBUNG_PROMTOOL_METHOD=apt)"
  log "go install $PROMTOOL_MODULE/cmd/promtool@$PROMTOOL_MODULE_VERSION with $("$go" env GOVERSION) (a few minutes cold)"
  # GOTOOLCHAIN=local: never download a toolchain. GOFLAGS/GOWORK reset so a caller's settings
  # cannot interfere. CGO off: a static binary, no C compiler needed.
  GOTOOLCHAIN=local GOFLAGS='' GOWORK=off CGO_ENABLED=0 GOBIN="$work" \
    "$go" install -ldflags="-s -w" "$PROMTOOL_MODULE/cmd/promtool@$PROMTOOL_MODULE_VERSION" ||
    die "go install of promtool $PROMTOOL_MODULE_VERSION failed (or try LUMBUNG_PROMTOOL_METHOD=apt)"
  built="$work/promtool"
else
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found"
  log "apt-get download prometheus (Debian's package), keeping only usr/bin/promtool"
  (cd "$work" && apt-get download prometheus >&2) ||
    { apt-get update -qq >&2 && (cd "$work" && apt-get download prometheus >&2); } ||
    die "apt-get download prometheus failed"
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  built="$work/root/usr/bin/promtool"
fi

[[ -x "$built" ]] || die "no promtool binary was produced"
"$built" --version >/dev/null 2>&1 || die "the new promtool does not run"
mv -f "$built" "$BIN.new"
mv -f "$BIN.new" "$BIN"
printf '%s' "$want" >"$STAMP"
log "installed $("$BIN" --version 2>&1 | head -n 1) at $BIN in $(elapsed "$t0")s ($method)"
done_ "${1:-}"
