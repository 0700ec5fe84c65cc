#!/usr/bin/env bash
# Create .venv with the registry and its test tools, and fill the vocabulary
# cache from the shared data folder. Sourced by test.sh and demo.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED_DATA="${REGISTRY_SHARED_DATA:-$ROOT/../shared/data}"
export REGISTRY_SHARED_DATA="$SHARED_DATA"

cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'

if [ -d "$SHARED_DATA/ctdl/vocab" ]; then
    .venv/bin/registry vocab sync --from "$SHARED_DATA/ctdl/vocab" --from "$SHARED_DATA/contexts" >/dev/null
else
    # Without the shared copies, download the pinned files (needs network access).
    .venv/bin/registry vocab sync
fi
