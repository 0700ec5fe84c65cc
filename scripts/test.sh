#!/usr/bin/env bash
# Install everything the tests need and run them. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

.venv/bin/ruff check registry loaders bench server.py tests
.venv/bin/python -m pytest "$@"
