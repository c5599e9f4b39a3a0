#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (Playwright drives it; no browser
# download). Idempotent; needs root, as on the project's machines and CI.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "[browser] $(chromium --version 2>/dev/null | head -1) already installed" >&2
  exit 0
fi
echo "[browser] installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
echo "[browser] $(chromium --version 2>/dev/null | head -1) installed" >&2
