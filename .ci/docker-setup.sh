#!/usr/bin/env bash
# Bring up a Docker engine and the offline-built sandbox images (idempotent; run as root).
#   - installs Debian's docker.io and debootstrap when missing
#   - starts dockerd in the background when no engine answers, and waits for it
#   - builds codeevo-cpu (python3+numpy, ~1.5 min) and codeevo-torch (+ Debian's CPU PyTorch,
#     ~3 min) with the offline builder when missing or stale (version label != recipe version)
# CODEEVO_CI_IMAGES="cpu" skips the torch image (the merge problem then runs locally).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[docker-setup] $*"; }

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/var/log/codeevo-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not come up; its log:"
    tail -n 40 /var/log/codeevo-dockerd.log >&2 || true
    exit 1
  fi
fi
log "engine: $(docker version --format '{{.Server.Version}}')"

# The builder is stdlib-only, so this runs before the package's dependencies are installed.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=$(command -v python3 || command -v python)
for flavor in ${CODEEVO_CI_IMAGES:-cpu torch}; do
  t0=$(date +%s)
  "$PY" -m codeevo.sandbox.images "$flavor" --if-stale
  log "image $flavor ready ($(( $(date +%s) - t0 )) s)"
done
