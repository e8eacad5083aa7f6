#!/usr/bin/env bash
# Installs what Pilothouse needs on a fresh Debian machine, and nothing twice:
#   system packages (only the ones missing) and the npm dependencies (only when the lock file changed).
# Usage: scripts/setup.sh [--for-tests | --for-bench]   (--for-tests adds Redis, Chromium, the sqlite3 CLI,
# promtool and openssh-server (the SFTP replica tests run a private sshd); --for-bench adds restic and
# rclone as well, the backup benchmark's baselines)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
if [ "${1:-}" = "--for-tests" ] || [ "${1:-}" = "--for-bench" ]; then
  want redis-server redis-server
  want chromium chromium
  want sqlite3 sqlite3
  want promtool prometheus
  # sshd lives in /usr/sbin, often not on a user's PATH.
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
fi
# The backup benchmark compares against restic (snapshots) and rclone (replica copies); nothing else needs them.
if [ "${1:-}" = "--for-bench" ]; then
  want restic restic
  want rclone rclone
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} from Debian" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Electron's binary cannot be downloaded here (and is not needed headless).
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
stamp=node_modules/.pilothouse-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  # Not `npm ci`: the lock names optional native builds for other platforms (msgpackr-extract, via
  # bullmq) that the registry reachable here does not serve, and `npm ci` refuses a lock it cannot
  # fully resolve. `npm install` follows the same lock and skips what this platform does not need.
  echo "setup: npm install" >&2
  npm install --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi
