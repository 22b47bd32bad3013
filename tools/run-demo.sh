#!/usr/bin/env bash
# Installs what is missing, builds, and walks through a full and an incremental backup, list, restore and verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/demo.sh build/scnfs "$@"
