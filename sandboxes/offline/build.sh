#!/usr/bin/env bash
# Offline sandbox image build (no registry): debootstrap a minimal Debian bookworm with the
# recipe's packages from the mirror in this host's apt sources, add the unprivileged user
# (uid 1000) and `docker import` it with codeevo's labels. Needs root, debootstrap, docker.
#   sandboxes/offline/build.sh cpu            # codeevo-cpu:   python3 + numpy      (~1.5 min)
#   sandboxes/offline/build.sh torch          # codeevo-torch: + python3-torch (CPU) (~3 min)
#   sandboxes/offline/build.sh cpu --if-stale # only when missing or its version is old
# The recipes (package lists, version labels) live in codeevo/sandbox/images.py.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$(command -v python3 || command -v python)" -m codeevo.sandbox.images "$@"
