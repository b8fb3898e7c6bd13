#!/usr/bin/env bash
# Install the headless browser the HTML-export tests drive (idempotent; run as root):
# Debian's chromium and chromium-driver (WebDriver), both from the Debian archive.
set -euo pipefail

log() { echo "[browser-setup] $*"; }

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
log "$(chromium --version 2>/dev/null || echo 'chromium: missing')"
log "$(chromedriver --version 2>/dev/null | head -1 || echo 'chromedriver: missing')"
