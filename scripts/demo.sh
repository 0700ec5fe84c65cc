#!/usr/bin/env bash
# Install the registry, load the sample into an on-disk store, and serve it.
# Settings: REGISTRY_PORT (default 8080), REGISTRY_STORE (default data/demo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

STORE="${REGISTRY_STORE:-$ROOT/data/demo}"
PORT="${REGISTRY_PORT:-8080}"
rm -rf "$STORE"
.venv/bin/registry load samples --store "$STORE" --base-url "http://127.0.0.1:$PORT" --quiet
if [ -d "$SHARED_DATA/ctdl/graphs" ]; then
    # Real published documents too, when the shared data folder is beside the project.
    # They are copies of what the reference registry serves, so they are kept as
    # published (--no-validate), including the few that break the minimum data policy.
    .venv/bin/registry load "$SHARED_DATA/ctdl/graphs" "$SHARED_DATA/ctdl/resources" \
        "$SHARED_DATA/ctdl/envelopes" --store "$STORE" --quiet --no-validate || true
fi
if [ -d "$SHARED_DATA/occupations" ]; then
    # Occupations, skills and credit for prior learning, so the query API has real answers.
    OCC="$SHARED_DATA/occupations"
    .venv/bin/registry load --format soc "$OCC/osmt-BLS-Import-SOC2018.csv" --store "$STORE" --quiet
    .venv/bin/registry load --format onet "$OCC/osmt-oNet-Import-ONETSOC.csv" --store "$STORE" --quiet
    .venv/bin/registry load --format esco "$SHARED_DATA/esco/v1.1.1" \
        "$OCC/nesta-esco_onet_crosswalk_Nov2020.csv" --store "$STORE" --quiet || true
    .venv/bin/registry load --format osmt "$SHARED_DATA/osmt" --store "$STORE" --quiet || true
    .venv/bin/registry load --format case "$SHARED_DATA/case" --store "$STORE" --quiet || true
    # MAP's export has one row without a course number; the loader reports it and loads the rest.
    .venv/bin/registry load --format cpl "$SHARED_DATA/cpl" --store "$STORE" --quiet || true
fi
echo "Try http://127.0.0.1:$PORT/occupations/29-2042/credentials and /search?q=nursing"
echo "Open http://127.0.0.1:$PORT/ (try /graph/ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9)"
exec .venv/bin/registry serve --store "$STORE" --port "$PORT" --base-url "http://127.0.0.1:$PORT"
