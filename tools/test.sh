#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration, end to end with PostgreSQL 15).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
ctest --test-dir build --output-on-failure --timeout 1200 "$@"
