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
echo "Open http://127.0.0.1:$PORT/ (try /graph/ce-deaf8c7f-4706-4bd5-be88-63e40e5296c9)"
exec .venv/bin/registry serve --store "$STORE" --port "$PORT" --base-url "http://127.0.0.1:$PORT"
