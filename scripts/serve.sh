#!/usr/bin/env bash
# Installs what is missing, builds, and runs Pilothouse headless (console on http://127.0.0.1:7420).
# Any flags are passed on: scripts/serve.sh --port 7500 --data-dir /srv/pilothouse
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm run --silent serve -- "$@"
