#!/usr/bin/env bash
# Regenerate constraints.txt: install codeevo with every extra into a fresh virtualenv with the
# newest versions pyproject.toml allows, and pin what was installed. Run it when the ranges in
# pyproject.toml change, then run the suite (.ci/run) against the new pins before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d /tmp/codeevo-lock-XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0 -e ".[test,all]" 2>/dev/null \
  || "$venv/bin/pip" install -q --disable-pip-version-check torch==2.13.0 -e ".[test]"
{
  echo "# The tested set: the README's commands and .ci/run install with this file (pip -c)."
  echo "# Regenerate with .ci/lock.sh when pyproject.toml's ranges change."
  "$venv/bin/pip" freeze --exclude-editable --disable-pip-version-check \
    | grep -v '^-e ' | sed -E 's/^(torch==[0-9.]+)\+cpu$/\1/' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pins"
