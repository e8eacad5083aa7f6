#!/usr/bin/env bash
# Installs what is missing, builds, and runs Pilothouse headless (console on http://127.0.0.1:7420).
# Any flags are passed on: scripts/serve.sh --port 7500 --data-dir /srv/pilothouse
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Build unless out/ is newer than every source file (so a running console is never rebuilt under it).
if [ ! -f out/main/headless.js ] || [ -n "$(find main preload renderer contract package.json electron.vite.config.ts -newer out/main/headless.js -print -quit)" ]; then
  npm run --silent build >/dev/null
fi
# exec, so SIGINT/SIGTERM reach Pilothouse itself and it exits with its own status.
exec node out/main/headless.js "$@"
